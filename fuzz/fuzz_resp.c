/* fuzz_resp: property fuzzer for the RESP2 request parser (core/resp/parser.h)
 * and resp_add_command() (core/resp/writer.h).
 *
 * Built as a libFuzzer target (fuzz-resp) and, with afl_driver.c, as an
 * AFL++ target (fuzz-resp-afl). See docs/fuzzing.md.
 *
 * Input layout
 * ------------
 *   byte 0      settings selector (parser limits, auth), see below
 *   byte 1      chunking seed for the randomly chunked run
 *   bytes 2..   the byte stream a client sends
 * Inputs shorter than 2 bytes are ignored. Every seed under fuzz/corpus/resp/
 * starts with these two bytes; 0x00 0x00 means "Redis defaults, no AUTH".
 *
 * Settings byte (bit 0 is the least significant):
 *   bits 0-1  inline_max: 0 = default (64 KiB), 1 = 16, 2 = 64, 3 = default
 *   bits 2-3  bulk_max:   0 = default (512 MiB), 1 = 8, 2 = 100, 3 = default
 *   bits 4-5  query_max:  0 = default (1 GiB), 1 = 64, 2 = 300, 3 = default
 *   bit 6     auth_required (Redis's unauthenticated limits: 10 args, 16 KiB)
 *   bit 7     unused
 *
 * Chunking seed:
 *   bits 0-1  largest "read" in the random run: 1, 3, 16 or 256 bytes
 *   all bits  seed of the PRNG that picks the read sizes (some reads are
 *             empty), when the query buffer is moved to a new allocation and
 *             when a call gets an exact-sized copy of the buffer instead.
 *
 * Properties checked (any violation prints a report and aborts):
 *  P1 The stream is parsed three ways, each through the driver loop of
 *     parser.h: (a) whole, from one exactly sized buffer; (b) one byte per
 *     read, with a kbuf query buffer that is appended to and consumed as a
 *     server does; (c) in pseudo-random reads as above, where the buffer also
 *     moves between calls and some calls see an exact-sized copy (so ASan
 *     catches a parser that keeps pointers into an old buffer or reads past
 *     `len`). Run (c) reuses the parser of run (a) after resp_parser_reset().
 *     All three must give exactly the same commands (argc, every argument's
 *     bytes, is_inline, len), the same final status (RESP_MORE or
 *     RESP_ERROR), the same p->err and the same resp_parser_error() text.
 *  P2 Every command with argc > 0, written back with resp_add_command(),
 *     parses (default limits, whole) to the same arguments as a multibulk
 *     command that takes exactly the written length; then nothing is left.
 *  P3 Per call: the status is one of the three; on RESP_OK cmd.len is in
 *     1..len, argc >= 0, argv != NULL when argc > 0, a multibulk command
 *     starts with '*' and an inline one does not, and a multibulk argument
 *     lies inside buf[0..cmd.len); the bytes consumed never exceed the input.
 *  P4 Error state: after RESP_OK or RESP_MORE p->err is RESP_ERR_NONE and
 *     resp_parser_error() is NULL; after RESP_ERROR p->err is set and the
 *     error text is NULL exactly for RESP_ERR_QUERY_LIMIT. Errors are sticky:
 *     calling again gives RESP_ERROR with the same code and text. Calling
 *     again after RESP_MORE with the same bytes gives RESP_MORE again.
 *  P5 resp_parser_reset() keeps the limits and auth_required. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/resp/parser.h"
#include "core/resp/writer.h"
#include "core/util/kbuf.h"
#include "fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Make UBSan findings fatal even when the core was built with recoverable
 * checks (-fsanitize=undefined alone), so the fuzzer stops on them. */
const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

/* ------------------------------------------------------------------------ */
/* Settings and PRNG                                                        */

typedef struct settings {
    resp_limits lim;
    bool auth_required;
    uint8_t chunk_seed;
} settings;

static settings decode_settings(uint8_t s, uint8_t chunk_seed)
{
    static const size_t inline_small[4] = {0, 16, 64, 0};
    static const long long bulk_small[4] = {0, 8, 100, 0};
    static const size_t query_small[4] = {0, 64, 300, 0};
    settings st;
    st.lim = resp_limits_default();
    if (inline_small[s & 3])
        st.lim.inline_max = inline_small[s & 3];
    if (bulk_small[(s >> 2) & 3])
        st.lim.bulk_max = bulk_small[(s >> 2) & 3];
    if (query_small[(s >> 4) & 3])
        st.lim.query_max = query_small[(s >> 4) & 3];
    st.auth_required = (s >> 6) & 1;
    st.chunk_seed = chunk_seed;
    return st;
}

static void parser_setup(resp_parser *p, const settings *st)
{
    resp_parser_init(p, &st->lim);
    p->auth_required = st->auth_required;
}

typedef struct prng {
    uint32_t s;
} prng;

static uint32_t prng_next(prng *r)
{
    /* xorshift32 */
    uint32_t x = r->s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    r->s = x;
    return x;
}

/* ------------------------------------------------------------------------ */
/* What a run saw                                                           */

typedef struct record {
    kbuf log;          /* commands: see record_cmd() for the layout */
    size_t ncmd;
    size_t consumed;   /* bytes taken by the RESP_OK commands */
    int status;        /* RESP_MORE or RESP_ERROR */
    resp_error err;
    bool has_text;     /* resp_parser_error() != NULL */
    char text[256];
} record;

static void record_init(record *rec)
{
    memset(rec, 0, sizeof *rec);
    kbuf_init(&rec->log);
}

static void put(kbuf *b, const void *p, size_t n)
{
    kbuf_append(b, p, n);
}

/* Layout: u8 is_inline, int argc, size_t len, then per argument size_t len
 * and the bytes. */
static void record_cmd(record *rec, const resp_command *cmd)
{
    uint8_t inl = cmd->is_inline ? 1 : 0;
    put(&rec->log, &inl, 1);
    put(&rec->log, &cmd->argc, sizeof cmd->argc);
    put(&rec->log, &cmd->len, sizeof cmd->len);
    for (int i = 0; i < cmd->argc; i++) {
        put(&rec->log, &cmd->argv[i].len, sizeof(size_t));
        put(&rec->log, cmd->argv[i].ptr, cmd->argv[i].len);
    }
    rec->ncmd++;
}

static void record_end(record *rec, const resp_parser *p, int status)
{
    rec->status = status;
    rec->err = p->err;
    const char *t = resp_parser_error(p);
    rec->has_text = t != NULL;
    if (t)
        snprintf(rec->text, sizeof rec->text, "%s", t);
}

static void print_bytes(const char *p, size_t n)
{
    fputc('"', stderr);
    for (size_t i = 0; i < n && i < 80; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\')
            fprintf(stderr, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fputc('"', stderr);
    if (n > 80)
        fprintf(stderr, "...(%zu bytes)", n);
}

static void print_record(const char *name, const record *rec)
{
    static const char *st[] = {"RESP_OK", "RESP_MORE", "RESP_ERROR"};
    fprintf(stderr, "--- run %s: %zu commands, consumed %zu, final %s, err %d, text ",
            name, rec->ncmd, rec->consumed,
            rec->status >= 0 && rec->status <= 2 ? st[rec->status] : "?",
            (int)rec->err);
    if (rec->has_text)
        print_bytes(rec->text, strlen(rec->text));
    else
        fprintf(stderr, "NULL");
    fprintf(stderr, "\n");
    if (rec->log.len == 0)
        return;
    const char *p = rec->log.data;
    const char *end = p + rec->log.len;
    size_t k = 0;
    while (p < end) {
        uint8_t inl;
        int argc;
        size_t len;
        memcpy(&inl, p, 1);
        p += 1;
        memcpy(&argc, p, sizeof argc);
        p += sizeof argc;
        memcpy(&len, p, sizeof len);
        p += sizeof len;
        fprintf(stderr, "  cmd %zu: %s len=%zu argc=%d", k++,
                inl ? "inline" : "multibulk", len, argc);
        for (int i = 0; i < argc; i++) {
            size_t al;
            memcpy(&al, p, sizeof al);
            p += sizeof al;
            fputc(' ', stderr);
            print_bytes(p, al);
            p += al;
        }
        fputc('\n', stderr);
    }
}

static bool record_equal(const record *a, const record *b)
{
    return a->ncmd == b->ncmd && a->consumed == b->consumed &&
           a->status == b->status && a->err == b->err &&
           a->has_text == b->has_text &&
           (!a->has_text || strcmp(a->text, b->text) == 0) &&
           a->log.len == b->log.len &&
           (a->log.len == 0 || memcmp(a->log.data, b->log.data, a->log.len) == 0);
}

/* ------------------------------------------------------------------------ */
/* Per-call checks (P3, P4)                                                 */

static void check_call(const resp_parser *p, int r, const resp_command *cmd,
                       const char *buf, size_t len)
{
    CHECK(r == RESP_OK || r == RESP_MORE || r == RESP_ERROR);
    if (r == RESP_ERROR) {
        CHECK(p->err != RESP_ERR_NONE);
        CHECK((resp_parser_error(p) == NULL) == (p->err == RESP_ERR_QUERY_LIMIT));
        return;
    }
    CHECK(p->err == RESP_ERR_NONE);
    CHECK(resp_parser_error(p) == NULL);
    if (r == RESP_MORE)
        return;
    CHECK(cmd->len > 0);
    CHECK(cmd->len <= len);
    CHECK(cmd->argc >= 0);
    CHECK(cmd->argc == 0 || cmd->argv != NULL);
    CHECK(cmd->is_inline == (buf[0] != '*'));
    uintptr_t lo = (uintptr_t)buf, hi = (uintptr_t)buf + cmd->len;
    for (int i = 0; i < cmd->argc; i++) {
        const resp_slice *a = &cmd->argv[i];
        CHECK(a->len == 0 || a->ptr != NULL);
        if (!cmd->is_inline) {
            uintptr_t ap = (uintptr_t)a->ptr;
            CHECK(ap >= lo && ap <= hi && a->len <= hi - ap);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* P2: round trip through resp_add_command()                                */

static void check_roundtrip(resp_parser *rp, const resp_command *cmd)
{
    kbuf out = KBUF_INIT;
    resp_add_command(&out, cmd->argc, cmd->argv);
    CHECK(out.len > 0);
    /* Exactly sized, so ASan sees any read past the end. */
    char *w = malloc(out.len);
    CHECK(w != NULL);
    memcpy(w, out.data, out.len);

    resp_command c2;
    memset(&c2, 0, sizeof c2);
    int r = resp_parse(rp, w, out.len, &c2);
    if (r != RESP_OK || c2.len != out.len || c2.argc != cmd->argc || c2.is_inline) {
        fprintf(stderr, "round trip: wrote ");
        print_bytes(out.data, out.len);
        fprintf(stderr, " (%zu bytes); parsed status %d len %zu argc %d inline %d err %d\n",
                out.len, r, c2.len, c2.argc, (int)c2.is_inline, (int)rp->err);
    }
    CHECK(r == RESP_OK);
    CHECK(c2.len == out.len);
    CHECK(c2.argc == cmd->argc);
    CHECK(!c2.is_inline);
    for (int i = 0; i < cmd->argc; i++) {
        CHECK(c2.argv[i].len == cmd->argv[i].len);
        CHECK(cmd->argv[i].len == 0 ||
              memcmp(c2.argv[i].ptr, cmd->argv[i].ptr, cmd->argv[i].len) == 0);
    }
    r = resp_parse(rp, w + out.len, 0, &c2);
    CHECK(r == RESP_MORE);
    free(w);
    kbuf_free(&out);
}

/* ------------------------------------------------------------------------ */
/* The runs                                                                 */

static const char empty[1] = {0};

/* (a) Whole stream in one exactly sized buffer. */
static void run_whole(resp_parser *p, const char *s, size_t n, record *rec)
{
    g_mode = "whole";
    kbuf q;
    q.data = malloc(n ? n : 1);
    CHECK(q.data != NULL);
    if (n)
        memcpy(q.data, s, n);
    q.len = n;
    q.cap = n ? n : 1;

    resp_parser rp; /* for P2, default limits, reused across commands */
    resp_parser_init(&rp, NULL);
    rp.auth_required = false;

    size_t done = 0;
    int r;
    resp_command cmd;
    for (;;) {
        const char *buf = q.data + done;
        size_t len = q.len - done;
        memset(&cmd, 0, sizeof cmd);
        r = resp_parse(p, buf, len, &cmd);
        check_call(p, r, &cmd, buf, len);
        if (r != RESP_OK)
            break;
        record_cmd(rec, &cmd);
        if (cmd.argc > 0)
            check_roundtrip(&rp, &cmd);
        done += cmd.len;
        CHECK(done <= n);
    }
    record_end(rec, p, r);
    rec->consumed = done;

    /* P4: calling again with the same bytes changes nothing. */
    int r2 = resp_parse(p, q.data + done, q.len - done, &cmd);
    CHECK(r2 == r);
    CHECK(p->err == rec->err);
    const char *t = resp_parser_error(p);
    CHECK((t != NULL) == rec->has_text);
    CHECK(t == NULL || strncmp(t, rec->text, sizeof rec->text - 1) == 0);

    kbuf_consume(&q, done);
    kbuf_free(&q);
    resp_parser_free(&rp);
}

/* (b) and (c): a query buffer fed by reads, consumed after each read as the
 * driver loop in parser.h does. max_chunk == 1 with no PRNG gives (b). */
static void run_chunked(resp_parser *p, const char *s, size_t n, record *rec,
                        size_t max_chunk, prng *rng)
{
    kbuf q = KBUF_INIT;
    size_t fed = 0, total = 0;
    int r = RESP_MORE;
    resp_command cmd;
    for (;;) {
        /* A read: 1..max_chunk bytes; in the random run sometimes none. */
        size_t c = 1;
        if (rng) {
            uint32_t x = prng_next(rng);
            c = (x & 15) == 0 ? 0 : 1 + (x >> 8) % max_chunk;
        }
        if (c > n - fed)
            c = n - fed;
        kbuf_append(&q, s + fed, c);
        fed += c;

        /* Sometimes the server moves its query buffer. */
        if (rng && q.len > 0 && (prng_next(rng) & 7) == 0) {
            kbuf nq = KBUF_INIT;
            kbuf_append(&nq, q.data, q.len);
            kbuf_free(&q);
            q = nq;
        }

        size_t done = 0;
        for (;;) {
            const char *base = q.data ? q.data : empty;
            const char *buf = base + done;
            size_t len = q.len - done;
            char *copy = NULL;
            if (rng && (prng_next(rng) & 3) == 0) {
                copy = malloc(len ? len : 1);
                CHECK(copy != NULL);
                if (len)
                    memcpy(copy, buf, len);
                buf = copy;
            }
            memset(&cmd, 0, sizeof cmd);
            r = resp_parse(p, buf, len, &cmd);
            check_call(p, r, &cmd, buf, len);
            if (r == RESP_OK) {
                record_cmd(rec, &cmd);
                done += cmd.len;
            }
            free(copy);
            if (r != RESP_OK)
                break;
        }
        kbuf_consume(&q, done);
        total += done;
        CHECK(total <= fed);
        if (r == RESP_ERROR || fed == n)
            break;
    }
    record_end(rec, p, r);
    rec->consumed = total;
    kbuf_free(&q);
}

static void compare(const settings *st, const record *whole, const record *other,
                    const char *name)
{
    if (record_equal(whole, other))
        return;
    fprintf(stderr, "\nfuzz_resp: runs differ (settings inline_max=%zu bulk_max=%lld "
            "query_max=%zu auth=%d chunk_seed=0x%02x)\n",
            st->lim.inline_max, st->lim.bulk_max, st->lim.query_max,
            (int)st->auth_required, st->chunk_seed);
    print_record("whole", whole);
    print_record(name, other);
    g_mode = name;
    fuzz_violated(FUZZ_FILE, __LINE__, "P1: chunked feed differs from whole feed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    fuzz_input_begin(data, size);
    settings st = decode_settings(data[0], data[1]);
    const char *s = (const char *)data + 2;
    size_t n = size - 2;

    record a, b, c;
    record_init(&a);
    record_init(&b);
    record_init(&c);

    resp_parser p;
    parser_setup(&p, &st);
    run_whole(&p, s, n, &a);

    resp_parser pb;
    parser_setup(&pb, &st);
    g_mode = "bytewise";
    run_chunked(&pb, s, n, &b, 1, NULL);
    resp_parser_free(&pb);
    compare(&st, &a, &b, "bytewise");

    /* (c) reuses the parser of (a), after a reset. */
    g_mode = "random";
    resp_parser_reset(&p);
    CHECK(p.err == RESP_ERR_NONE);
    CHECK(p.auth_required == st.auth_required);
    CHECK(p.lim.inline_max == st.lim.inline_max && p.lim.bulk_max == st.lim.bulk_max &&
          p.lim.query_max == st.lim.query_max);
    static const size_t max_chunks[4] = {1, 3, 16, 256};
    prng rng = {((uint32_t)st.chunk_seed + 1u) * 0x9E3779B9u};
    run_chunked(&p, s, n, &c, max_chunks[st.chunk_seed & 3], &rng);
    resp_parser_free(&p);
    compare(&st, &a, &c, "random");

    kbuf_free(&a.log);
    kbuf_free(&b.log);
    kbuf_free(&c.log);
    fuzz_input_end();
    return 0;
}
