/* Reply, argument and lookup helpers shared by every command family. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"

/* ------------------------------------------------------------------------ */
/* Replies */

void reply_ok(cmd_ctx *x) { kbuf_append(x->out, "+OK\r\n", 5); }

void reply_simple(cmd_ctx *x, const char *s) { resp_add_simple_cstr(x->out, s); }

void reply_error(cmd_ctx *x, const char *msg)
{
    size_t len = strlen(msg);
    resp_add_error(x->out, msg, len);
    engine_count_error(x->eng, msg, len);
    x->failed = true;
}

void reply_errorf(cmd_ctx *x, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n < sizeof(small)) {
        reply_error(x, small);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (big == NULL)
        abort();
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    reply_error(x, big);
    free(big);
}

void reply_int(cmd_ctx *x, long long v) { resp_add_int(x->out, v); }
void reply_bulk(cmd_ctx *x, const void *p, size_t len) { resp_add_bulk(x->out, p, len); }
void reply_bulk_cstr(cmd_ctx *x, const char *s) { resp_add_bulk_cstr(x->out, s); }
void reply_bulk_ll(cmd_ctx *x, long long v) { resp_add_bulk_ll(x->out, v); }
int reply_proto(const cmd_ctx *x) { return x->cl && x->cl->resp >= 3 ? 3 : 2; }

void reply_null(cmd_ctx *x)
{
    if (reply_proto(x) >= 3)
        resp_add_null3(x->out);
    else
        resp_add_null(x->out);
}

void reply_array(cmd_ctx *x, long long n) { resp_add_array(x->out, n); }

void reply_null_array(cmd_ctx *x)
{
    if (reply_proto(x) >= 3)
        resp_add_null3(x->out);
    else
        resp_add_null_array(x->out);
}

size_t reply_array_deferred(cmd_ctx *x) { return resp_add_array_deferred(x->out); }
void reply_set_array_deferred(cmd_ctx *x, size_t mark, long long n)
{
    resp_set_array_deferred(x->out, mark, n);
}

void reply_map(cmd_ctx *x, long long n) { resp_add_map(x->out, reply_proto(x), n); }
void reply_set(cmd_ctx *x, long long n) { resp_add_set(x->out, reply_proto(x), n); }
void reply_bool(cmd_ctx *x, bool v) { resp_add_bool(x->out, reply_proto(x), v); }

void reply_verbatim(cmd_ctx *x, const void *p, size_t len, const char *ext)
{
    resp_add_verbatim(x->out, reply_proto(x), p, len, ext);
}

void reply_bignum(cmd_ctx *x, const char *num, size_t len)
{
    resp_add_bignum(x->out, reply_proto(x), num, len);
}

void reply_attribute(cmd_ctx *x, long long n)
{
    assert(reply_proto(x) >= 3);
    resp_add_attribute(x->out, n);
}

void reply_push(cmd_ctx *x, long long n)
{
    assert(reply_proto(x) >= 3);
    resp_add_push(x->out, n);
}

void reply_set_map_deferred(cmd_ctx *x, size_t mark, long long n)
{
    resp_set_map_deferred(x->out, mark, reply_proto(x), n);
}

void reply_set_set_deferred(cmd_ctx *x, size_t mark, long long n)
{
    resp_set_set_deferred(x->out, mark, reply_proto(x), n);
}

void reply_entry_str(cmd_ctx *x, const kentry *e)
{
    char tmp[KSTR_TMP];
    const char *p;
    size_t n = kentry_str(e, &p, tmp);
    resp_add_bulk(x->out, p, n);
}

void reply_help(cmd_ctx *x, const char *const *lines)
{
    int n = 0;
    while (lines[n])
        n++;
    reply_array(x, n + 3);
    /* The command name as typed (it resolved to a command, so it is a
     * short word without CR or LF), upper-cased. */
    kbuf h = KBUF_INIT;
    for (size_t i = 0; i < x->argv[0].len && x->argv[0].ptr[i] != '\0'; i++)
        kbuf_putc(&h, (char)toupper((unsigned char)x->argv[0].ptr[i]));
    static const char tail[] = " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:";
    kbuf_append(&h, tail, sizeof(tail) - 1);
    resp_add_simple(x->out, h.data, h.len);
    kbuf_free(&h);
    for (int i = 0; i < n; i++)
        reply_simple(x, lines[i]);
    reply_simple(x, "HELP");
    reply_simple(x, "    Prints this help.");
}

size_t fmt_double(char *buf, size_t cap, double v)
{
    int n;
    if (isinf(v))
        n = snprintf(buf, cap, "%s", v > 0 ? "inf" : "-inf");
    else if (isnan(v))
        n = snprintf(buf, cap, "nan");
    else if (v == 0)
        n = snprintf(buf, cap, "%s", signbit(v) ? "-0" : "0");
    else if (v > -4503599627370495.0 && v < 4503599627370496.0 && v == (double)(long long)v)
        n = snprintf(buf, cap, "%lld", (long long)v);
    else
        n = snprintf(buf, cap, "%.17g", v);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t fmt_long_double(char *buf, size_t cap, long double v)
{
    int n;
    if (isinf(v)) {
        n = snprintf(buf, cap, "%s", v > 0 ? "inf" : "-inf");
        return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
    }
    n = snprintf(buf, cap, "%.17Lf", v);
    if (n < 0 || (size_t)n + 1 > cap)
        return 0;
    size_t l = (size_t)n;
    /* Drop trailing zeros of the fraction, and the point if nothing is left. */
    if (memchr(buf, '.', l)) {
        while (l > 0 && buf[l - 1] == '0')
            l--;
        if (l > 0 && buf[l - 1] == '.')
            l--;
    }
    if (l == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        l = 1;
    }
    buf[l] = '\0';
    return l;
}

void reply_double(cmd_ctx *x, double v)
{
    if (reply_proto(x) >= 3) {
        resp_add_double(x->out, 3, v);
        return;
    }
    char buf[128];
    size_t n = fmt_double(buf, sizeof(buf), v);
    resp_add_bulk(x->out, buf, n);
}

void reply_long_double(cmd_ctx *x, long double v)
{
    char buf[FMT_LD_MAX];
    size_t n = fmt_long_double(buf, sizeof(buf), v);
    resp_add_bulk(x->out, buf, n);
}

/* ------------------------------------------------------------------------ */
/* Arguments */

bool arg_is(const resp_slice *a, const char *word)
{
    size_t n = strlen(word);
    if (a->len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a->ptr[i]) != word[i])
            return false;
    return true;
}

bool arg_ll(cmd_ctx *x, const resp_slice *a, long long *out, const char *msg)
{
    if (resp_string2ll(a->ptr, a->len, out))
        return true;
    reply_error(x, msg ? msg : ERR_NOT_INT);
    return false;
}

bool arg_scan_cursor(cmd_ctx *x, const resp_slice *a, uint64_t *out)
{
    /* strtoul over the argument as a C string: it ends at a NUL. */
    const char *nul = memchr(a->ptr, '\0', a->len);
    size_t n = nul ? (size_t)(nul - a->ptr) : a->len;
    const char *s = a->ptr;
    if (n == 0) {
        *out = 0;
        return true;
    }
    static const char spaces[] = " \t\n\v\f\r";
    bool ok = memchr(spaces, s[0], sizeof(spaces) - 1) == NULL;
    size_t i = 0;
    bool neg = false;
    if (ok && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i++;
    }
    /* No digits: strtoul leaves the end at the start. */
    ok = ok && i < n && s[i] >= '0' && s[i] <= '9';
    uint64_t v = 0;
    bool range = false;
    for (; ok && i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            range = true;
        else
            v = v * 10 + d;
    }
    if (!ok || i != n || range) {
        reply_error(x, "invalid cursor");
        return false;
    }
    *out = neg ? (uint64_t)0 - v : v;
    return true;
}

bool arg_scan_options(cmd_ctx *x, int first, long long *count, const resp_slice **pat)
{
    *count = 10;
    *pat = NULL;
    for (int i = first; i < x->argc; i += 2) {
        int left = x->argc - i;
        if (arg_is(&x->argv[i], "count") && left >= 2) {
            if (!arg_ll(x, &x->argv[i + 1], count, NULL))
                return false;
            if (*count < 1) {
                reply_error(x, ERR_SYNTAX);
                return false;
            }
        } else if (arg_is(&x->argv[i], "match") && left >= 2) {
            *pat = &x->argv[i + 1];
            /* "*" matches everything: no filter. */
            if ((*pat)->len == 1 && (*pat)->ptr[0] == '*')
                *pat = NULL;
        } else {
            reply_error(x, ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

kentry *scan_key_begin(cmd_ctx *x, int type, uint64_t *cursor, long long *count,
                       const resp_slice **pat)
{
    if (!arg_scan_cursor(x, &x->argv[2], cursor))
        return NULL;
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], type, &wrong);
    if (wrong)
        return NULL;
    if (e == NULL) {
        reply_array(x, 2);
        reply_bulk(x, "0", 1);
        reply_array(x, 0);
        return NULL;
    }
    return arg_scan_options(x, 3, count, pat) ? e : NULL;
}

long long sat_mul(long long a, long long b)
{
    return (b != 0 && a > LLONG_MAX / b) ? LLONG_MAX : a * b;
}

/* A NUL-terminated copy of an argument for strtod/strtold; *heap is set
 * when it did not fit in the caller's buffer. */
static const char *cstr(const resp_slice *a, char *buf, size_t cap, char **heap)
{
    *heap = NULL;
    if (a->len < cap) {
        memcpy(buf, a->ptr, a->len);
        buf[a->len] = '\0';
        return buf;
    }
    *heap = malloc(a->len + 1);
    if (*heap == NULL)
        abort();
    memcpy(*heap, a->ptr, a->len);
    (*heap)[a->len] = '\0';
    return *heap;
}

bool arg_ld(cmd_ctx *x, const resp_slice *a, long double *out, const char *msg)
{
    /* Redis's string2ld refuses strings of MAX_LONG_DOUBLE_CHARS or more. */
    if (a->len >= FMT_LD_MAX) {
        reply_error(x, msg ? msg : ERR_NOT_FLOAT);
        return false;
    }
    char buf[128], *heap, *end;
    const char *s = cstr(a, buf, sizeof(buf), &heap);
    errno = 0;
    long double v = a->len ? strtold(s, &end) : 0;
    bool ok = a->len > 0 && !isspace((unsigned char)s[0]) && (size_t)(end - s) == a->len &&
              !(errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) &&
              !isnan(v);
    free(heap);
    if (!ok) {
        reply_error(x, msg ? msg : ERR_NOT_FLOAT);
        return false;
    }
    *out = v;
    return true;
}

bool arg_double(cmd_ctx *x, const resp_slice *a, double *out, const char *msg)
{
    char buf[128], *heap, *end;
    const char *s = cstr(a, buf, sizeof(buf), &heap);
    errno = 0;
    double v = a->len ? strtod(s, &end) : 0;
    bool ok = a->len > 0 && !isspace((unsigned char)s[0]) && (size_t)(end - s) == a->len &&
              !(errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) &&
              !isnan(v);
    free(heap);
    if (!ok) {
        reply_error(x, msg ? msg : ERR_NOT_FLOAT);
        return false;
    }
    *out = v;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Lookups */

static kentry *check_type(cmd_ctx *x, kentry *e, int type, bool *wrongtype)
{
    if (wrongtype)
        *wrongtype = false;
    if (e && type >= 0 && kentry_type(e) != type) {
        if (wrongtype)
            *wrongtype = true;
        reply_error(x, ERR_WRONGTYPE);
        return NULL;
    }
    return e;
}

kentry *lookup_read(cmd_ctx *x, const resp_slice *key, int type, bool *wrongtype)
{
    kentry *e = db_find_read(x->db, key->ptr, key->len, x->now_ms);
    return check_type(x, e, type, wrongtype);
}

kentry *lookup_write(cmd_ctx *x, const resp_slice *key, int type, bool *wrongtype)
{
    kentry *e = db_find_write(x->db, key->ptr, key->len, x->now_ms);
    return check_type(x, e, type, wrongtype);
}

void cmd_dirty(cmd_ctx *x, long long n)
{
    if (n > 0)
        x->eng->stats.dirty += (uint64_t)n;
}

/* atoi over a slice: leading spaces, a sign, digits; saturated. */
static int atoi_slice(const resp_slice *a)
{
    size_t i = 0;
    while (i < a->len && isspace((unsigned char)a->ptr[i]))
        i++;
    bool neg = false;
    if (i < a->len && (a->ptr[i] == '-' || a->ptr[i] == '+'))
        neg = a->ptr[i++] == '-';
    long long v = 0;
    for (; i < a->len && a->ptr[i] >= '0' && a->ptr[i] <= '9'; i++) {
        v = v * 10 + (a->ptr[i] - '0');
        if (v > INT_MAX)
            return neg ? INT_MIN : INT_MAX;
    }
    return (int)(neg ? -v : v);
}

int cmd_numkeys_getkeys(int argc, const resp_slice *argv, int count_idx, int first_idx,
                        int store_idx, int *keys)
{
    if (count_idx >= argc)
        return 0;
    int num = atoi_slice(&argv[count_idx]);
    if (num < 1 || num > argc - first_idx)
        return 0;
    int n = 0;
    for (int i = 0; i < num; i++)
        keys[n++] = first_idx + i;
    if (store_idx)
        keys[n++] = store_idx;
    return n;
}
