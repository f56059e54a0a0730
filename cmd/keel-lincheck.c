/* keel-lincheck: checks a recorded history of Redis string commands for
 * linearizability, key by key, with the simulator's checkers
 * (sim/appendcheck.h for append-only keys, sim/lincheck.h for the rest).
 * The real-process cluster tests (tests/cluster/) record their clients'
 * operations in this format and run it on them.
 *
 *     keel-lincheck [--max-steps N] [--search-only] [FILE | -]
 *
 * Input: one operation per line (stdin when FILE is '-' or absent). Blank
 * lines and lines starting with '#' are skipped, and so is the rest of a
 * line from a field that starts with '#' (a note: "# node 2"). Seven fields
 * separated by spaces or tabs:
 *
 *     client call ret KIND key arg result
 *
 *   client  the client that issued it: an unsigned integer
 *   call    when it was sent, in nanoseconds of one monotonic clock
 *           (a signed 64-bit integer)
 *   ret     when its reply arrived, same clock, >= call; or '?' when its
 *           outcome is unknown (-UNKNOWN, a timeout, a dropped
 *           connection): it may have taken effect at any time after its
 *           call, or never
 *   KIND    SET, GET, INCR, APPEND or DEL (any case)
 *   key     the key, a string field without the '=' (see below)
 *   arg     SET: the value, APPEND: the token, each as a string field;
 *           '-' for GET, INCR and DEL
 *   result  ignored when ret is '?' (write '?'). Otherwise:
 *             SET     OK
 *             GET     nil, or the value as a string field
 *             INCR    the new value (an integer), or ERR (an error reply:
 *                     the op had no effect)
 *             APPEND  the new length
 *             DEL     0 or 1
 *
 * A string field is '=' followed by the bytes, each byte that is not a
 * printable ASCII character other than space and '%' written as %XX (two
 * hex digits): "=hello", "=a%20b", "=" (the empty string). The key is
 * written the same way without the leading '=', and may not be empty.
 *
 * Operations that failed without effect (-CLUSTERDOWN, -NOTLEADER, ...)
 * must be left out by the recorder. Every key starts missing (nil).
 *
 * An operation is named in explanations by its line number ("op 17" is
 * line 17). A key whose history holds only APPENDs of tokens that end in
 * ',' (and no other ',') and GETs is checked without a search
 * (sim/appendcheck.h); the others, or all with --search-only, by Wing &
 * Gong's search with a budget of --max-steps steps per key (default
 * 10000000).
 *
 * Output: one line per key, in key order,
 *
 *     key=<key> ops=<n> unknown=<u> checker=append|search steps=<s> ok
 *     key=<key> ... VIOLATION: <why>
 *     key=<key> ... GAVE-UP: <why>
 *
 * then a summary: "keys=K ops=N ok=A violations=B gave_up=C".
 *
 * Exit status: 0 every key is linearizable, 1 a violation was proved on
 * some key, 2 no violation but the search gave up on some key, or the
 * input or the command line is bad (the reason on stderr). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim/appendcheck.h"
#include "sim/lincheck.h"

#define EXIT_VIOLATION 1
#define EXIT_UNDECIDED 2

typedef struct rec {
    lc_op op;
    const char *key;
    size_t keylen;
    size_t line;
} rec;

static void usage(FILE *out)
{
    fputs("usage: keel-lincheck [--max-steps N] [--search-only] [FILE | -]\n"
          "\n"
          "Checks a history (one op a line: client call ret|? KIND key arg result;\n"
          "see the header of cmd/keel-lincheck.c) for linearizability, key by key.\n"
          "\n"
          "  --max-steps N   search budget per key (default 10000000)\n"
          "  --search-only   use the general search on append-only keys too\n"
          "\n"
          "exit status: 0 linearizable, 1 a violation, 2 gave up or bad input\n",
          out);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (p == NULL) {
        fputs("keel-lincheck: out of memory\n", stderr);
        exit(EXIT_UNDECIDED);
    }
    return p;
}

static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = xrealloc(NULL, cap);
    for (;;) {
        if (cap - n < 4096) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the %XX escapes of s[0..*len) in place; false on a bad escape. */
static bool unescape(char *s, size_t *len)
{
    size_t o = 0;
    for (size_t i = 0; i < *len; i++) {
        if (s[i] != '%') {
            s[o++] = s[i];
            continue;
        }
        if (i + 2 >= *len)
            return false;
        int hi = hexval(s[i + 1]);
        int lo = hexval(s[i + 2]);
        if (hi < 0 || lo < 0)
            return false;
        s[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    *len = o;
    return true;
}

static bool parse_i64(const char *s, int64_t *v)
{
    if (*s == '\0')
        return false;
    errno = 0;
    char *end;
    long long x = strtoll(s, &end, 10);
    if (errno || *end != '\0')
        return false;
    *v = (int64_t)x;
    return true;
}

/* A string field: "=bytes" with %XX escapes. */
static bool parse_str(char *f, const char **p, size_t *len)
{
    if (f[0] != '=')
        return false;
    size_t n = strlen(f + 1);
    if (!unescape(f + 1, &n))
        return false;
    *p = f + 1;
    *len = n;
    return true;
}

static int bad(size_t line, const char *why, const char *field)
{
    fprintf(stderr, "keel-lincheck: line %zu: %s", line, why);
    if (field)
        fprintf(stderr, ": '%s'", field);
    fputc('\n', stderr);
    return EXIT_UNDECIDED;
}

/* Parses one line (NUL-terminated, modified in place) into r. Returns 0, or
 * EXIT_UNDECIDED after saying why. */
static int parse_line(char *s, size_t line, rec *r)
{
    char *f[8];
    int nf = 0;
    char *save = NULL;
    for (char *t = strtok_r(s, " \t\r", &save); t && t[0] != '#'; t = strtok_r(NULL, " \t\r", &save)) {
        if (nf == 7)
            return bad(line, "more than 7 fields", t);
        f[nf++] = t;
    }
    if (nf != 7)
        return bad(line, "expected 7 fields: client call ret KIND key arg result", NULL);
    memset(r, 0, sizeof(*r));
    r->line = line;
    r->op.id = line;
    int64_t v;
    if (!parse_i64(f[0], &v) || v < 0 || v > UINT32_MAX)
        return bad(line, "client is not an unsigned 32-bit integer", f[0]);
    r->op.client = (uint32_t)v;
    if (!parse_i64(f[1], &r->op.call) || r->op.call == LC_UNKNOWN)
        return bad(line, "call is not a 64-bit integer", f[1]);
    bool known = strcmp(f[2], "?") != 0;
    if (!known) {
        r->op.ret = LC_UNKNOWN;
    } else {
        if (!parse_i64(f[2], &r->op.ret) || r->op.ret == LC_UNKNOWN)
            return bad(line, "ret is neither a 64-bit integer nor '?'", f[2]);
        if (r->op.ret < r->op.call)
            return bad(line, "ret is before call", f[2]);
    }
    static const struct {
        const char *name;
        lc_kind kind;
    } kinds[] = {{"SET", LC_SET}, {"GET", LC_GET}, {"INCR", LC_INCR}, {"APPEND", LC_APPEND}, {"DEL", LC_DEL}};
    r->op.kind = 0;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcasecmp(f[3], kinds[i].name) == 0)
            r->op.kind = kinds[i].kind;
    if (r->op.kind == 0)
        return bad(line, "KIND is not SET, GET, INCR, APPEND or DEL", f[3]);
    size_t klen = strlen(f[4]);
    if (klen == 0 || !unescape(f[4], &klen) || klen == 0)
        return bad(line, "bad key", f[4]);
    r->key = f[4];
    r->keylen = klen;

    bool has_arg = r->op.kind == LC_SET || r->op.kind == LC_APPEND;
    if (has_arg) {
        if (!parse_str(f[5], &r->op.arg, &r->op.arglen))
            return bad(line, "arg is not a string field (=bytes)", f[5]);
    } else if (strcmp(f[5], "-") != 0) {
        return bad(line, "arg must be '-' for GET, INCR and DEL", f[5]);
    }
    if (!known)
        return 0;
    const char *res = f[6];
    if (strcmp(res, "ERR") == 0) {
        r->op.err = true;
        return 0;
    }
    switch (r->op.kind) {
    case LC_SET:
        if (strcmp(res, "OK") != 0)
            return bad(line, "a SET's result is OK or ERR", res);
        break;
    case LC_GET:
        if (strcmp(res, "nil") == 0)
            r->op.nil = true;
        else if (!parse_str(f[6], &r->op.val, &r->op.vallen))
            return bad(line, "a GET's result is nil or a string field (=bytes)", res);
        break;
    case LC_INCR:
    case LC_APPEND:
    case LC_DEL:
        if (!parse_i64(res, &r->op.ival))
            return bad(line, "the result is not an integer", res);
        if (r->op.kind == LC_DEL && r->op.ival != 0 && r->op.ival != 1)
            return bad(line, "a DEL of one key replies 0 or 1", res);
        break;
    }
    return 0;
}

static int cmp_rec(const void *pa, const void *pb)
{
    const rec *a = pa, *b = pb;
    size_t n = a->keylen < b->keylen ? a->keylen : b->keylen;
    int d = memcmp(a->key, b->key, n);
    if (d)
        return d;
    if (a->keylen != b->keylen)
        return a->keylen < b->keylen ? -1 : 1;
    return a->line < b->line ? -1 : a->line > b->line;
}

static void put_escaped(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c > ' ' && c < 0x7f && c != '%')
            putchar(c);
        else
            printf("%%%02X", c);
    }
}

int main(int argc, char **argv)
{
    uint64_t max_steps = 0;
    bool search_only = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--max-steps") == 0 && i + 1 < argc) {
            int64_t v;
            if (!parse_i64(argv[++i], &v) || v <= 0) {
                fprintf(stderr, "keel-lincheck: --max-steps wants a positive integer\n");
                return EXIT_UNDECIDED;
            }
            max_steps = (uint64_t)v;
        } else if (strcmp(argv[i], "--search-only") == 0) {
            search_only = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            usage(stderr);
            return EXIT_UNDECIDED;
        } else if (path == NULL) {
            path = argv[i];
        } else {
            usage(stderr);
            return EXIT_UNDECIDED;
        }
    }

    FILE *in = stdin;
    if (path && strcmp(path, "-") != 0) {
        in = fopen(path, "rb");
        if (in == NULL) {
            fprintf(stderr, "keel-lincheck: %s: %s\n", path, strerror(errno));
            return EXIT_UNDECIDED;
        }
    }
    size_t len;
    char *text = read_all(in, &len);
    if (in != stdin)
        fclose(in);
    if (text == NULL) {
        fprintf(stderr, "keel-lincheck: cannot read %s\n", path ? path : "stdin");
        return EXIT_UNDECIDED;
    }
    if (memchr(text, '\0', len)) {
        fprintf(stderr, "keel-lincheck: the input holds a NUL byte\n");
        free(text);
        return EXIT_UNDECIDED;
    }

    rec *recs = NULL;
    size_t n = 0, cap = 0, line = 0;
    for (char *s = text; s < text + len;) {
        char *nl = strchr(s, '\n');
        if (nl)
            *nl = '\0';
        line++;
        char *t = s + strspn(s, " \t\r");
        if (*t != '\0' && *t != '#') {
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                recs = xrealloc(recs, cap * sizeof(*recs));
            }
            int rc = parse_line(t, line, &recs[n]);
            if (rc) {
                free(recs);
                free(text);
                return rc;
            }
            n++;
        }
        if (!nl)
            break;
        s = nl + 1;
    }
    if (n)
        qsort(recs, n, sizeof(*recs), cmp_rec);

    lc_op *ops = xrealloc(NULL, (n ? n : 1) * sizeof(*ops));
    size_t keys = 0, nok = 0, nviol = 0, ngave = 0;
    lc_opts lo = {.max_steps = max_steps};
    for (size_t i = 0; i < n;) {
        size_t j = i;
        size_t m = 0, unknown = 0;
        for (; j < n && recs[j].keylen == recs[i].keylen &&
               memcmp(recs[j].key, recs[i].key, recs[i].keylen) == 0;
             j++) {
            /* A read of unknown outcome changed nothing and constrains
             * nothing: the checkers take it out (appendcheck needs it out). */
            if (recs[j].op.ret == LC_UNKNOWN && recs[j].op.kind == LC_GET)
                continue;
            if (recs[j].op.ret == LC_UNKNOWN)
                unknown++;
            ops[m++] = recs[j].op;
        }
        lc_result res;
        const char *checker = "append";
        lc_check_append(ops, m, &res);
        if (search_only || res.verdict == LC_GAVE_UP) {
            checker = "search";
            lc_check(ops, m, &lo, &res);
        }
        keys++;
        printf("key=");
        put_escaped(recs[i].key, recs[i].keylen);
        printf(" ops=%zu unknown=%zu checker=%s steps=%" PRIu64, m, unknown, checker, res.steps);
        switch (res.verdict) {
        case LC_OK:
            nok++;
            printf(" ok\n");
            break;
        case LC_VIOLATION:
            nviol++;
            printf(" VIOLATION: %s\n", res.why);
            break;
        case LC_GAVE_UP:
            ngave++;
            printf(" GAVE-UP: %s\n", res.why);
            break;
        }
        i = j;
    }
    printf("keys=%zu ops=%zu ok=%zu violations=%zu gave_up=%zu\n", keys, n, nok, nviol, ngave);
    free(ops);
    free(recs);
    free(text);
    if (nviol)
        return EXIT_VIOLATION;
    return ngave ? EXIT_UNDECIDED : 0;
}
