/* A tiny driver for engine tests: runs commands written the way redis-cli
 * takes them (inline syntax, parsed by the real RESP parser) and returns
 * the reply bytes, so tests compare exact wire replies:
 *
 *     harness h; h_init(&h);
 *     cr_assert_str_eq(h_run(&h, "SET k v"), "+OK\r\n");
 *     EXPECT(&h, "GET k", "$1\r\nv\r\n");
 *
 * Time is the harness's own (h.now_ms, advanced by tests); the engine's
 * seed is fixed, so every run is the same. */
#ifndef KEEL_TESTS_ENGINE_HARNESS_H
#define KEEL_TESTS_ENGINE_HARNESS_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/cmd/engine.h"
#include "core/resp/parser.h"

typedef struct harness {
    engine e;
    client *c;      /* the default client */
    kbuf out;
    char *last;     /* last reply, NUL-terminated */
    int64_t now_ms;
} harness;

static inline void h_init_at(harness *h, uint64_t seed, int64_t now_ms)
{
    memset(h, 0, sizeof(*h));
    h->now_ms = now_ms;
    engine_init(&h->e, seed, now_ms);
    h->c = engine_client_new(&h->e, now_ms);
}

static inline void h_init(harness *h) { h_init_at(h, 1234, 1700000000000LL); }

static inline void h_free(harness *h)
{
    engine_free(&h->e);
    kbuf_free(&h->out);
    free(h->last);
}

/* Runs argv for client c; returns the reply (valid until the next run). */
static inline const char *h_runv_as(harness *h, client *c, int argc, const resp_slice *argv)
{
    kbuf_clear(&h->out);
    engine_execute(&h->e, c, argc, argv, h->now_ms, &h->out);
    free(h->last);
    h->last = malloc(h->out.len + 1);
    memcpy(h->last, h->out.data, h->out.len);
    h->last[h->out.len] = '\0';
    return h->last;
}

/* Runs one inline command line ("SET k \"a b\""). */
static inline const char *h_run_as(harness *h, client *c, const char *line)
{
    resp_parser p;
    resp_parser_init(&p, NULL);
    size_t n = strlen(line);
    char *buf = malloc(n + 2);
    memcpy(buf, line, n);
    buf[n] = '\n';
    resp_command cmd;
    int r = resp_parse(&p, buf, n + 1, &cmd);
    cr_assert_eq(r, RESP_OK, "harness could not parse: %s", line);
    const char *reply = h_runv_as(h, c, cmd.argc, cmd.argv);
    resp_parser_free(&p);
    free(buf);
    return reply;
}

static inline const char *h_run(harness *h, const char *line) { return h_run_as(h, h->c, line); }

static inline const char *h_runf(harness *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline const char *h_runf(harness *h, const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    return h_run(h, line);
}

#define EXPECT(h, line, reply) cr_assert_str_eq(h_run((h), (line)), (reply), "%s", (line))
#define EXPECT_AS(h, c, line, reply) cr_assert_str_eq(h_run_as((h), (c), (line)), (reply), "%s", (line))

#endif
