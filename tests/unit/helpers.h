/* Shared helpers for the Criterion unit tests: a seeded PRNG and a driver
 * that feeds a byte stream to resp_parse in a given chunking, the way a
 * connection's read path does, and records what came out. */
#ifndef KEEL_TESTS_UNIT_HELPERS_H
#define KEEL_TESTS_UNIT_HELPERS_H

#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/resp/parser.h"
#include "core/util/kbuf.h"

/* ---- PRNG: xorshift64*, fixed seeds so failures reproduce ---- */

typedef struct trng {
    uint64_t s;
} trng;

static inline void trng_seed(trng *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9E3779B97F4A7C15ull;
}

static inline uint64_t trng_next(trng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform-ish in [lo, hi]. */
static inline size_t trng_range(trng *r, size_t lo, size_t hi)
{
    return lo + (size_t)(trng_next(r) % (uint64_t)(hi - lo + 1));
}

static inline void *t_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    cr_assert_not_null(p, "out of memory");
    return p;
}

/* ---- What a parse run produced ---- */

typedef struct targ {
    char *p;
    size_t n;
} targ;

typedef struct tcmd {
    int argc;
    targ *argv;
    size_t len;
    bool is_inline;
} tcmd;

typedef struct tres {
    tcmd *cmds;
    size_t ncmds, cap;
    int final;        /* RESP_MORE (stream ended mid-command or cleanly) or RESP_ERROR */
    resp_error err;   /* p->err at the end */
    bool has_msg;     /* resp_parser_error() != NULL */
    char msg[128];
    size_t leftover;  /* bytes not consumed by any returned command */
    size_t calls;     /* resp_parse calls made */
} tres;

static inline void tres_free(tres *r)
{
    for (size_t i = 0; i < r->ncmds; i++) {
        for (int j = 0; j < r->cmds[i].argc; j++)
            free(r->cmds[i].argv[j].p);
        free(r->cmds[i].argv);
    }
    free(r->cmds);
    memset(r, 0, sizeof *r);
}

static inline void tres_push(tres *r, const resp_command *cmd)
{
    if (r->ncmds == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->cmds = realloc(r->cmds, r->cap * sizeof *r->cmds);
        cr_assert_not_null(r->cmds);
    }
    tcmd *c = &r->cmds[r->ncmds++];
    c->argc = cmd->argc;
    c->len = cmd->len;
    c->is_inline = cmd->is_inline;
    c->argv = t_xmalloc((size_t)(cmd->argc > 0 ? cmd->argc : 1) * sizeof *c->argv);
    for (int j = 0; j < cmd->argc; j++) {
        c->argv[j].n = cmd->argv[j].len;
        c->argv[j].p = t_xmalloc(cmd->argv[j].len);
        if (cmd->argv[j].len)
            memcpy(c->argv[j].p, cmd->argv[j].ptr, cmd->argv[j].len);
    }
}

/* Feeds data[0..len) to a fresh parser, chunk by chunk: the chunks end at
 * cuts[0] < cuts[1] < ... (each in (0, len)), the last one at len. After
 * each chunk it parses commands until RESP_MORE, as the driver in parser.h
 * does. Every resp_parse call gets a freshly malloc'd copy of the pending
 * bytes (so the address changes every time) and the copy given to the
 * previous call is overwritten with garbage first: a parser that kept a
 * pointer into an old buffer reads garbage and the test sees it.
 * Also checks, on every call: RESP_OK gives 0 < len <= available bytes and
 * argc >= 0; multibulk argv point inside the buffer of that call (zero
 * copy); after RESP_ERROR the parser stays in error. */
static inline void tparse(const resp_limits *lim, bool auth, const char *data, size_t len,
                          const size_t *cuts, size_t ncuts, tres *out)
{
    resp_parser p;
    resp_parser_init(&p, lim);
    p.auth_required = auth;

    memset(out, 0, sizeof *out);
    out->final = RESP_MORE;

    kbuf q = KBUF_INIT;
    char *prev = NULL;
    size_t prevlen = 0;
    bool prev_owned = false;
    /* Above 64 KiB pending, two buffers used in turn instead of a fresh
     * malloc per call (mmap'd blocks make that slow); the address still
     * changes on every call and the previous one is still trashed. */
    char *pp[2] = {NULL, NULL};
    size_t ppcap[2] = {0, 0};
    size_t at = 0;
    bool stop = false;

    for (size_t c = 0; c <= ncuts && !stop; c++) {
        size_t end = c < ncuts ? cuts[c] : len;
        cr_assert(end >= at && end <= len, "bad chunking");
        kbuf_append(&q, data + at, end - at);
        at = end;
        size_t done = 0;
        for (;;) {
            size_t avail = q.len - done;
            char *cur;
            bool cur_owned;
            if (avail > 65536) {
                int k = pp[0] == prev ? 1 : 0;
                if (ppcap[k] < avail) {
                    free(pp[k]);
                    ppcap[k] = avail + avail / 2;
                    pp[k] = t_xmalloc(ppcap[k]);
                }
                cur = pp[k];
                cur_owned = false;
            } else {
                cur = t_xmalloc(avail);
                cur_owned = true;
            }
            if (avail)
                memcpy(cur, q.data + done, avail);
            if (prev)
                memset(prev, 0xA5, prevlen);
            resp_command cmd;
            memset(&cmd, 0, sizeof cmd);
            int r = resp_parse(&p, cur, avail, &cmd);
            out->calls++;
            if (prev_owned)
                free(prev);
            prev = cur;
            prevlen = avail;
            prev_owned = cur_owned;

            if (r == RESP_OK) {
                cr_assert(cmd.len > 0 && cmd.len <= avail,
                          "RESP_OK with len %zu, %zu bytes available", cmd.len, avail);
                cr_assert(cmd.argc >= 0, "negative argc %d", cmd.argc);
                if (cmd.argc > 0)
                    cr_assert_not_null(cmd.argv);
                if (!cmd.is_inline) {
                    for (int j = 0; j < cmd.argc; j++) {
                        const char *ap = cmd.argv[j].ptr;
                        cr_assert(ap >= cur && ap <= cur + avail &&
                                      cmd.argv[j].len <= (size_t)(cur + avail - ap),
                                  "multibulk argv[%d] is not a view into buf (zero copy)", j);
                    }
                }
                tres_push(out, &cmd);
                done += cmd.len;
                continue;
            }
            if (r == RESP_MORE)
                break;
            cr_assert_eq(r, RESP_ERROR, "resp_parse returned %d", r);
            out->final = RESP_ERROR;
            stop = true;
            break;
        }
        kbuf_consume(&q, done);
    }

    out->err = p.err;
    const char *m = resp_parser_error(&p);
    out->has_msg = m != NULL;
    if (m)
        snprintf(out->msg, sizeof out->msg, "%s", m);
    out->leftover = q.len;

    if (out->final == RESP_ERROR) {
        /* Sticky: the same bytes, and then a valid command, still fail. */
        resp_command cmd;
        int r = resp_parse(&p, prev, prevlen, &cmd);
        cr_assert_eq(r, RESP_ERROR, "error is not sticky (same bytes gave %d)", r);
        r = resp_parse(&p, "PING\r\n", 6, &cmd);
        cr_assert_eq(r, RESP_ERROR, "error is not sticky (PING gave %d)", r);
        r = resp_parse(&p, "*1\r\n$4\r\nPING\r\n", 14, &cmd);
        cr_assert_eq(r, RESP_ERROR, "error is not sticky (*1 PING gave %d)", r);
        cr_assert_eq(p.err, out->err, "error code changed after further calls");
    } else {
        cr_assert_eq(out->err, RESP_ERR_NONE, "err set (%d) without RESP_ERROR", (int)out->err);
        cr_assert(!out->has_msg, "resp_parser_error() not NULL without an error: %s", out->msg);
    }

    if (prev_owned)
        free(prev);
    free(pp[0]);
    free(pp[1]);
    kbuf_free(&q);
    resp_parser_free(&p);
}

static inline void tparse_whole(const resp_limits *lim, bool auth, const char *data, size_t len,
                                tres *out)
{
    tparse(lim, auth, data, len, NULL, 0, out);
}

/* Chunks of exactly `step` bytes. */
static inline void tparse_step(const resp_limits *lim, bool auth, const char *data, size_t len,
                               size_t step, tres *out)
{
    size_t n = len ? (len - 1) / step : 0;
    size_t *cuts = t_xmalloc((n ? n : 1) * sizeof *cuts);
    for (size_t i = 0; i < n; i++)
        cuts[i] = (i + 1) * step;
    tparse(lim, auth, data, len, cuts, n, out);
    free(cuts);
}

/* Random chunk sizes in [1, maxchunk]. */
static inline void tparse_random(const resp_limits *lim, bool auth, const char *data, size_t len,
                                 trng *rng, size_t maxchunk, tres *out)
{
    size_t cap = 64, n = 0;
    size_t *cuts = t_xmalloc(cap * sizeof *cuts);
    size_t at = 0;
    for (;;) {
        at += trng_range(rng, 1, maxchunk);
        if (at >= len)
            break;
        if (n == cap) {
            cap *= 2;
            cuts = realloc(cuts, cap * sizeof *cuts);
            cr_assert_not_null(cuts);
        }
        cuts[n++] = at;
    }
    tparse(lim, auth, data, len, cuts, n, out);
    free(cuts);
}

/* ---- Comparing runs ---- */

static inline void tres_assert_same(const tres *a, const tres *b, const char *what)
{
    cr_assert_eq(a->ncmds, b->ncmds, "%s: %zu commands, expected %zu", what, b->ncmds, a->ncmds);
    for (size_t i = 0; i < a->ncmds; i++) {
        const tcmd *x = &a->cmds[i], *y = &b->cmds[i];
        cr_assert_eq(x->argc, y->argc, "%s: command %zu argc %d, expected %d", what, i, y->argc,
                     x->argc);
        cr_assert_eq(x->len, y->len, "%s: command %zu len %zu, expected %zu", what, i, y->len,
                     x->len);
        cr_assert_eq(x->is_inline, y->is_inline, "%s: command %zu is_inline differs", what, i);
        for (int j = 0; j < x->argc; j++) {
            cr_assert(x->argv[j].n == y->argv[j].n &&
                          memcmp(x->argv[j].p, y->argv[j].p, x->argv[j].n) == 0,
                      "%s: command %zu argv[%d] differs (len %zu vs expected %zu)", what, i, j,
                      y->argv[j].n, x->argv[j].n);
        }
    }
    cr_assert_eq(a->final, b->final, "%s: final status %d, expected %d", what, b->final, a->final);
    cr_assert_eq(a->err, b->err, "%s: err %d, expected %d", what, (int)b->err, (int)a->err);
    cr_assert_eq(a->has_msg, b->has_msg, "%s: error message presence differs", what);
    cr_assert_str_eq(a->msg, b->msg, "%s: error message '%s', expected '%s'", what, b->msg,
                     a->msg);
    /* (After an error the driver stops feeding, so what is left depends on
     * the chunking: only compared when the stream ended waiting.) */
    if (a->final == RESP_MORE)
        cr_assert_eq(a->leftover, b->leftover, "%s: %zu bytes left over, expected %zu", what,
                     b->leftover, a->leftover);
}

/* ---- Expectations written by hand ---- */

typedef struct earg {
    const char *p;
    size_t n;
} earg;

#define EMAX_ARGS 12
typedef struct ecmd {
    int argc;
    earg argv[EMAX_ARGS];
    size_t len;
    bool is_inline;
} ecmd;

/* An argument from a string literal (may hold NUL bytes). */
#define A(lit) {(lit), sizeof(lit) - 1}

typedef struct eres {
    const ecmd *cmds;
    size_t ncmds;
    int final;
    resp_error err;
    const char *msg; /* NULL: resp_parser_error() must be NULL */
} eres;

static inline void tres_assert_expected(const eres *e, const tres *r, const char *what)
{
    cr_assert_eq(r->ncmds, e->ncmds, "%s: %zu commands, expected %zu", what, r->ncmds, e->ncmds);
    for (size_t i = 0; i < e->ncmds; i++) {
        const ecmd *x = &e->cmds[i];
        const tcmd *y = &r->cmds[i];
        cr_assert_eq(y->argc, x->argc, "%s: command %zu argc %d, expected %d", what, i, y->argc,
                     x->argc);
        cr_assert_eq(y->len, x->len, "%s: command %zu len %zu, expected %zu", what, i, y->len,
                     x->len);
        cr_assert_eq(y->is_inline, x->is_inline, "%s: command %zu is_inline %d, expected %d", what,
                     i, (int)y->is_inline, (int)x->is_inline);
        for (int j = 0; j < x->argc; j++) {
            cr_assert(y->argv[j].n == x->argv[j].n &&
                          memcmp(y->argv[j].p, x->argv[j].p, x->argv[j].n) == 0,
                      "%s: command %zu argv[%d] = '%.*s' (len %zu), expected '%.*s' (len %zu)",
                      what, i, j, (int)y->argv[j].n, y->argv[j].p, y->argv[j].n,
                      (int)x->argv[j].n, x->argv[j].p, x->argv[j].n);
        }
    }
    cr_assert_eq(r->final, e->final, "%s: final status %d, expected %d (err %d, '%s')", what,
                 r->final, e->final, (int)r->err, r->msg);
    if (e->final == RESP_ERROR) {
        cr_assert_eq(r->err, e->err, "%s: err %d, expected %d", what, (int)r->err, (int)e->err);
        if (e->msg) {
            cr_assert(r->has_msg, "%s: resp_parser_error() is NULL, expected '%s'", what, e->msg);
            cr_assert_str_eq(r->msg, e->msg, "%s: error '%s', expected '%s'", what, r->msg,
                             e->msg);
        } else {
            cr_assert(!r->has_msg, "%s: resp_parser_error() = '%s', expected NULL", what, r->msg);
        }
    }
}

/* Checks the expectation for the stream fed whole, byte by byte, split once
 * at every point, split twice at every pair of points (when short), and in
 * random chunkings. Long inputs get a subset (the copying driver is O(n) a
 * call). */
static inline void expect_stream(const resp_limits *lim, bool auth, const char *data, size_t len,
                                 const eres *e)
{
    tres r;
    char what[96];

    tparse_whole(lim, auth, data, len, &r);
    tres_assert_expected(e, &r, "whole");
    tres_free(&r);

    if (len <= 4096) {
        tparse_step(lim, auth, data, len, 1, &r);
        tres_assert_expected(e, &r, "byte by byte");
        tres_free(&r);

        for (size_t i = 1; i < len; i++) {
            tparse(lim, auth, data, len, &i, 1, &r);
            snprintf(what, sizeof what, "split at %zu", i);
            tres_assert_expected(e, &r, what);
            tres_free(&r);
        }
    }
    if (len <= 96) {
        for (size_t i = 1; i < len; i++)
            for (size_t j = i + 1; j < len; j++) {
                size_t cuts[2] = {i, j};
                tparse(lim, auth, data, len, cuts, 2, &r);
                snprintf(what, sizeof what, "split at %zu and %zu", i, j);
                tres_assert_expected(e, &r, what);
                tres_free(&r);
            }
    }
    trng rng;
    trng_seed(&rng, 0x5eed0000u + len);
    int rounds = len <= 4096 ? 20 : 4;
    for (int k = 0; k < rounds; k++) {
        size_t maxchunk = len > 4096 ? len / 3 + 1 : 1 + (size_t)k * 3;
        tparse_random(lim, auth, data, len, &rng, maxchunk, &r);
        snprintf(what, sizeof what, "random chunking %d (max %zu)", k, maxchunk);
        tres_assert_expected(e, &r, what);
        tres_free(&r);
    }
}

/* Every chunking gives the same result as the whole stream (whatever it is). */
static inline void expect_chunking_independent(const resp_limits *lim, bool auth,
                                               const char *data, size_t len)
{
    tres whole, r;
    char what[96];
    tparse_whole(lim, auth, data, len, &whole);
    tparse_step(lim, auth, data, len, 1, &r);
    tres_assert_same(&whole, &r, "byte by byte vs whole");
    tres_free(&r);
    for (size_t i = 1; i < len; i++) {
        tparse(lim, auth, data, len, &i, 1, &r);
        snprintf(what, sizeof what, "split at %zu vs whole", i);
        tres_assert_same(&whole, &r, what);
        tres_free(&r);
    }
    tres_free(&whole);
}

#endif
