/* io/http: the pure request parser (chunking independence, limits at and
 * past their bounds, malformed input, keep-alive rules), the response
 * formatter, and the libuv server end to end: a loop in this thread, plain
 * sockets as clients, the loop driven with UV_RUN_NOWAIT between socket
 * steps (poll on the loop's backend fd and the client's fd, bounded
 * iterations, no sleeps). */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/util/kbuf.h"
#include "io/http.h"

/* ======================================================================== */
/* Parser driver */

typedef struct parsed {
    http_parse_result result; /* DONE or ERROR */
    int status;
    http_method method;
    int minor;
    bool keep_alive;
    bool has_query;
    char path[512];
    char query[512];
    size_t head_len;
} parsed;

typedef struct run {
    parsed p[8];
    size_t n;          /* results recorded */
    size_t leftover;   /* bytes left unparsed at the end (NEED_MORE) */
} run;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

static void record(parsed *o, const http_req *r, http_parse_result pr)
{
    memset(o, 0, sizeof(*o));
    o->result = pr;
    if (pr == HTTP_PARSE_ERROR) {
        o->status = r->status;
        cr_assert_not_null(r->error);
        return;
    }
    o->method = r->method;
    o->minor = r->version_minor;
    o->keep_alive = r->keep_alive;
    o->head_len = r->head_len;
    cr_assert_not_null(r->path);
    cr_assert_lt(r->path_len, sizeof(o->path));
    memcpy(o->path, r->path, r->path_len);
    o->has_query = r->query != NULL;
    if (r->query) {
        cr_assert_lt(r->query_len, sizeof(o->query));
        memcpy(o->query, r->query, r->query_len);
    }
}

/* Feeds s[0..len) as a connection would, the bytes arriving in pieces that
 * end at the given split points; every parse call sees an exactly-sized copy
 * of the buffer at a new address (ASan catches any read past len). */
static void feed_splits(run *out, const char *s, size_t len, const size_t *splits, size_t nsplits)
{
    memset(out, 0, sizeof(*out));
    kbuf in = KBUF_INIT;
    http_req r;
    http_req_init(&r);
    size_t prev = 0;
    bool stop = false;
    for (size_t k = 0; k <= nsplits && !stop; k++) {
        size_t upto = k < nsplits ? splits[k] : len;
        if (upto < prev)
            upto = prev;
        kbuf_append(&in, s + prev, upto - prev);
        prev = upto;
        for (;;) {
            char *copy = xmalloc(in.len ? in.len : 1);
            cr_assert_not_null(copy);
            if (in.len)
                memcpy(copy, in.data, in.len);
            http_parse_result pr = http_parse(&r, in.len ? copy : NULL, in.len);
            if (pr == HTTP_PARSE_NEED_MORE) {
                free(copy);
                break;
            }
            cr_assert_lt(out->n, sizeof(out->p) / sizeof(out->p[0]));
            record(&out->p[out->n++], &r, pr);
            free(copy);
            if (pr == HTTP_PARSE_ERROR) {
                stop = true;
                break;
            }
            cr_assert_leq(r.head_len, in.len);
            cr_assert_gt(r.head_len, 0);
            kbuf_consume(&in, r.head_len);
            http_req_init(&r);
        }
    }
    out->leftover = stop ? 0 : in.len; /* after an error, what was read is moot */
    kbuf_free(&in);
}

static void feed_whole(run *out, const char *s, size_t len) { feed_splits(out, s, len, NULL, 0); }

static void feed_bytewise(run *out, const char *s, size_t len)
{
    size_t *splits = xmalloc((len + 1) * sizeof(size_t));
    for (size_t i = 0; i <= len; i++)
        splits[i] = i;
    feed_splits(out, s, len, splits, len + 1);
    free(splits);
}

static void assert_same_run(const run *a, const run *b, const char *what, size_t i, size_t j)
{
    cr_assert_eq(a->n, b->n, "%s split %zu,%zu: %zu results, expected %zu", what, i, j, b->n, a->n);
    cr_assert_eq(a->leftover, b->leftover, "%s split %zu,%zu: leftover", what, i, j);
    for (size_t k = 0; k < a->n; k++) {
        const parsed *x = &a->p[k], *y = &b->p[k];
        cr_assert_eq(x->result, y->result, "%s split %zu,%zu #%zu result", what, i, j, k);
        cr_assert_eq(x->status, y->status, "%s split %zu,%zu #%zu status", what, i, j, k);
        cr_assert_eq(x->method, y->method, "%s split %zu,%zu #%zu method", what, i, j, k);
        cr_assert_eq(x->minor, y->minor, "%s split %zu,%zu #%zu minor", what, i, j, k);
        cr_assert_eq(x->keep_alive, y->keep_alive, "%s split %zu,%zu #%zu ka", what, i, j, k);
        cr_assert_eq(x->head_len, y->head_len, "%s split %zu,%zu #%zu head_len", what, i, j, k);
        cr_assert_str_eq(x->path, y->path, "%s split %zu,%zu #%zu path", what, i, j, k);
        cr_assert_str_eq(x->query, y->query, "%s split %zu,%zu #%zu query", what, i, j, k);
        cr_assert_eq(x->has_query, y->has_query, "%s split %zu,%zu #%zu has_query", what, i, j, k);
    }
}

/* Parses one request given whole; returns its single result. */
static parsed parse1(const char *s)
{
    run r;
    feed_whole(&r, s, strlen(s));
    cr_assert_eq(r.n, 1, "expected one result for \"%s\", got %zu", s, r.n);
    return r.p[0];
}

static void expect_ok(const char *s, http_method m, const char *path, bool ka)
{
    parsed p = parse1(s);
    cr_assert_eq(p.result, HTTP_PARSE_DONE, "\"%s\": error %d", s, p.status);
    cr_assert_eq(p.method, m, "\"%s\": method", s);
    cr_assert_str_eq(p.path, path, "\"%s\": path", s);
    cr_assert_eq(p.keep_alive, ka, "\"%s\": keep_alive", s);
    cr_assert_eq(p.head_len, strlen(s), "\"%s\": head_len", s);
}

static void expect_err_n(const char *s, size_t len, int status)
{
    run w;
    feed_whole(&w, s, len);
    cr_assert_eq(w.n, 1);
    cr_assert_eq(w.p[0].result, HTTP_PARSE_ERROR);
    cr_assert_eq(w.p[0].status, status, "status %d, expected %d", w.p[0].status, status);
    run b;
    feed_bytewise(&b, s, len);
    cr_assert_eq(b.n, 1);
    cr_assert_eq(b.p[0].status, status);
}

static void expect_err(const char *s, int status)
{
    parsed p = parse1(s);
    cr_assert_eq(p.result, HTTP_PARSE_ERROR, "\"%s\": parsed, expected %d", s, status);
    cr_assert_eq(p.status, status, "\"%s\": status %d, expected %d", s, p.status, status);
    /* The same whatever the chunking. */
    run b;
    feed_bytewise(&b, s, strlen(s));
    cr_assert_eq(b.n, 1);
    cr_assert_eq(b.p[0].status, status, "\"%s\" bytewise: status %d", s, b.p[0].status);
}

static void expect_more(const char *s, size_t len)
{
    http_req r;
    http_req_init(&r);
    cr_assert_eq(http_parse(&r, s, len), HTTP_PARSE_NEED_MORE, "expected NEED_MORE");
}

/* ======================================================================== */
/* Parser tests */

Test(http_parse, simple_get)
{
    const char *s = "GET /health HTTP/1.1\r\nHost: localhost:9121\r\nUser-Agent: curl/7.88\r\n"
                    "Accept: */*\r\n\r\n";
    http_req r;
    http_req_init(&r);
    cr_assert_eq(http_parse(&r, s, strlen(s)), HTTP_PARSE_DONE);
    cr_assert_eq(r.method, HTTP_METHOD_GET);
    cr_assert_eq(r.version_minor, 1);
    cr_assert(r.keep_alive);
    cr_assert_eq(r.path_len, 7);
    cr_assert_eq(memcmp(r.path, "/health", 7), 0);
    cr_assert(http_req_path_is(&r, "/health"));
    cr_assert_not(http_req_path_is(&r, "/healt"));
    cr_assert_not(http_req_path_is(&r, "/healthz"));
    cr_assert_null(r.query);
    cr_assert_eq(r.head_len, strlen(s));
    /* Sticky until re-initialised, with the same results. */
    cr_assert_eq(http_parse(&r, s, strlen(s)), HTTP_PARSE_DONE);
    cr_assert_eq(r.head_len, strlen(s));
}

Test(http_parse, head_method)
{
    expect_ok("HEAD /metrics HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_METHOD_HEAD, "/metrics", true);
    expect_ok("HEAD / HTTP/1.0\r\n\r\n", HTTP_METHOD_HEAD, "/", false);
}

Test(http_parse, empty_input_and_prefixes_need_more)
{
    http_req r;
    http_req_init(&r);
    cr_assert_eq(http_parse(&r, NULL, 0), HTTP_PARSE_NEED_MORE);
    const char *s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    for (size_t n = 0; n < strlen(s); n++)
        expect_more(s, n);
}

Test(http_parse, pipelined_pair_every_split_point)
{
    const char *s = "GET /metrics?name[]=a&x=%20 HTTP/1.1\r\nhost: h\r\nAccept: text/plain\r\n\r\n"
                    "HEAD /ready HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                    "GET /he"; /* a third one, incomplete */
    size_t len = strlen(s);
    run whole;
    feed_whole(&whole, s, len);
    cr_assert_eq(whole.n, 2);
    cr_assert_eq(whole.p[0].result, HTTP_PARSE_DONE);
    cr_assert_eq(whole.p[0].method, HTTP_METHOD_GET);
    cr_assert_str_eq(whole.p[0].path, "/metrics");
    cr_assert(whole.p[0].has_query);
    cr_assert_str_eq(whole.p[0].query, "name[]=a&x=%20");
    cr_assert(whole.p[0].keep_alive);
    cr_assert_eq(whole.p[1].method, HTTP_METHOD_HEAD);
    cr_assert_str_eq(whole.p[1].path, "/ready");
    cr_assert_eq(whole.p[1].minor, 0);
    cr_assert(whole.p[1].keep_alive);
    cr_assert_not(whole.p[1].has_query);
    cr_assert_eq(whole.leftover, 7);

    /* Every pair of split points (one split point is i == j). */
    for (size_t i = 0; i <= len; i++) {
        for (size_t j = i; j <= len; j++) {
            size_t sp[2] = {i, j};
            run got;
            feed_splits(&got, s, len, sp, 2);
            assert_same_run(&whole, &got, "pair", i, j);
        }
    }
    run bw;
    feed_bytewise(&bw, s, len);
    assert_same_run(&whole, &bw, "bytewise", 0, 0);
}

Test(http_parse, errors_are_chunking_independent)
{
    static const char *streams[] = {
        "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /x HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\r\nPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\rX\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nBad Name: v\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        "GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n",
        "GET / HTTP/1.1\r\r\n",
    };
    for (size_t t = 0; t < sizeof(streams) / sizeof(streams[0]); t++) {
        const char *s = streams[t];
        size_t len = strlen(s);
        run whole;
        feed_whole(&whole, s, len);
        cr_assert_geq(whole.n, 1);
        cr_assert_eq(whole.p[whole.n - 1].result, HTTP_PARSE_ERROR, "stream %zu", t);
        for (size_t i = 0; i <= len; i++) {
            for (size_t j = i; j <= len; j += 3) {
                size_t sp[2] = {i, j};
                run got;
                feed_splits(&got, s, len, sp, 2);
                assert_same_run(&whole, &got, "error stream", i, j);
            }
        }
        run bw;
        feed_bytewise(&bw, s, len);
        assert_same_run(&whole, &bw, "error stream bytewise", t, 0);
    }
}

Test(http_parse, keep_alive_rules)
{
    /* HTTP/1.1: keep-alive unless "close". */
    expect_ok("GET / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_METHOD_GET, "/", true);
    expect_ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", HTTP_METHOD_GET, "/", false);
    expect_ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", HTTP_METHOD_GET, "/",
              true);
    expect_ok("GET / HTTP/1.1\r\nHost: a\r\nconnection:CLOSE\r\n\r\n", HTTP_METHOD_GET, "/", false);
    expect_ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, close\r\n\r\n", HTTP_METHOD_GET,
              "/", false);
    expect_ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nConnection: Close \r\n\r\n",
              HTTP_METHOD_GET, "/", false);
    expect_ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", HTTP_METHOD_GET, "/", true);
    /* HTTP/1.0: close unless "keep-alive" (and no "close"). */
    expect_ok("GET / HTTP/1.0\r\n\r\n", HTTP_METHOD_GET, "/", false);
    expect_ok("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", HTTP_METHOD_GET, "/", true);
    expect_ok("GET / HTTP/1.0\r\nCONNECTION: Keep-Alive\r\n\r\n", HTTP_METHOD_GET, "/", true);
    expect_ok("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", HTTP_METHOD_GET, "/",
              false);
    expect_ok("GET / HTTP/1.0\r\nConnection:\tfoo ,keep-alive\t\r\n\r\n", HTTP_METHOD_GET, "/",
              true);
}

Test(http_parse, header_name_case_and_whitespace)
{
    expect_ok("GET / HTTP/1.1\r\nhost: a\r\n\r\n", HTTP_METHOD_GET, "/", true);
    expect_ok("GET / HTTP/1.1\r\nHOST: a\r\n\r\n", HTTP_METHOD_GET, "/", true);
    expect_ok("GET / HTTP/1.1\r\nhOsT:a\r\n\r\n", HTTP_METHOD_GET, "/", true);
    expect_ok("GET / HTTP/1.1\r\nHost: \t a \t\r\n\r\n", HTTP_METHOD_GET, "/", true);
    expect_ok("GET / HTTP/1.1\r\nHost:\r\n\r\n", HTTP_METHOD_GET, "/", true); /* empty is valid */
    expect_ok("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Obs: caf\xc3\xa9\r\n\r\n",
              HTTP_METHOD_GET, "/", true);
    expect_ok("GET / HTTP/1.1\r\nHost: a\r\nX-Tok!#$%&'*+-.^_`|~09: v\r\n\r\n", HTTP_METHOD_GET, "/",
              true);
}

Test(http_parse, query_and_fragment_stripped)
{
    parsed p = parse1("GET /metrics?x=1&y=2 HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert_str_eq(p.path, "/metrics");
    cr_assert(p.has_query);
    cr_assert_str_eq(p.query, "x=1&y=2");
    p = parse1("GET /health? HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert_str_eq(p.path, "/health");
    cr_assert(p.has_query);
    cr_assert_str_eq(p.query, "");
    p = parse1("GET /ready#frag HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert_str_eq(p.path, "/ready");
    cr_assert_not(p.has_query);
    p = parse1("GET /a?b=c#d?e HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert_str_eq(p.path, "/a");
    cr_assert_str_eq(p.query, "b=c");
    p = parse1("GET /?q HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert_str_eq(p.path, "/");
    p = parse1("GET //x/../y%2F HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert_str_eq(p.path, "//x/../y%2F"); /* raw, not normalised */
}

Test(http_parse, absolute_form_target)
{
    parsed p = parse1("GET http://node1:9121/metrics?a=b HTTP/1.1\r\nHost: node1:9121\r\n\r\n");
    cr_assert_eq(p.result, HTTP_PARSE_DONE);
    cr_assert_str_eq(p.path, "/metrics");
    cr_assert_str_eq(p.query, "a=b");
    p = parse1("GET HTTPS://node1 HTTP/1.1\r\nHost: node1\r\n\r\n");
    cr_assert_str_eq(p.path, "/");
    cr_assert_not(p.has_query);
    p = parse1("GET http://node1?x HTTP/1.1\r\nHost: node1\r\n\r\n");
    cr_assert_str_eq(p.path, "/");
    cr_assert_str_eq(p.query, "x");
    expect_err("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_err("GET ftp://a/x HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_err("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_err("GET health HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

Test(http_parse, line_endings_and_leading_empty_lines)
{
    expect_ok("GET /a HTTP/1.1\nHost: a\n\n", HTTP_METHOD_GET, "/a", true);
    expect_ok("GET /a HTTP/1.1\r\nHost: a\n\r\n", HTTP_METHOD_GET, "/a", true);
    expect_ok("\r\n\r\nGET /a HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_METHOD_GET, "/a", true);
    expect_ok("\nGET /a HTTP/1.0\r\n\r\n", HTTP_METHOD_GET, "/a", false);
    expect_err("GET /a HTTP/1.1\rHost: a\r\n\r\n", 400);
    expect_err("GET /a HTTP/1.1\r\nHost: a\r\n\r\r\n", 400);
    expect_err("\r\r\n", 400);
}

Test(http_parse, head_size_limit_at_and_past_bound)
{
    /* A head of exactly HTTP_MAX_HEAD bytes is accepted, one more is 431. */
    const char *pre = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
    const char *post = "\r\n\r\n";
    for (int extra = -1; extra <= 1; extra++) {
        size_t total = HTTP_MAX_HEAD + (size_t)(long)extra;
        char *s = xmalloc(total + 1);
        size_t pad = total - strlen(pre) - strlen(post);
        strcpy(s, pre);
        memset(s + strlen(pre), 'p', pad);
        strcpy(s + strlen(pre) + pad, post);
        cr_assert_eq(strlen(s), total);
        run whole, bw;
        feed_whole(&whole, s, total);
        feed_bytewise(&bw, s, total);
        assert_same_run(&whole, &bw, "limit", total, 0);
        cr_assert_eq(whole.n, 1);
        if (extra <= 0) {
            cr_assert_eq(whole.p[0].result, HTTP_PARSE_DONE, "head of %zu bytes", total);
            cr_assert_eq(whole.p[0].head_len, total);
        } else {
            cr_assert_eq(whole.p[0].result, HTTP_PARSE_ERROR);
            cr_assert_eq(whole.p[0].status, 431);
        }
        free(s);
    }
    /* The same with bare LF endings and with leading empty lines counted. */
    {
        char *s = xmalloc(HTTP_MAX_HEAD + 2);
        memset(s, '\n', 10);
        const char *rl = "GET / HTTP/1.0\nX: ";
        memcpy(s + 10, rl, strlen(rl));
        size_t used = 10 + strlen(rl);
        memset(s + used, 'v', HTTP_MAX_HEAD - used - 2);
        s[HTTP_MAX_HEAD - 2] = '\n';
        s[HTTP_MAX_HEAD - 1] = '\n';
        http_req r;
        http_req_init(&r);
        cr_assert_eq(http_parse(&r, s, HTTP_MAX_HEAD), HTTP_PARSE_DONE);
        cr_assert_eq(r.head_len, HTTP_MAX_HEAD);
        /* One more padding byte pushes the final LF past the limit. */
        memset(s + used, 'v', HTTP_MAX_HEAD - used - 1);
        s[HTTP_MAX_HEAD - 1] = '\n';
        s[HTTP_MAX_HEAD] = '\n';
        http_req_init(&r);
        cr_assert_eq(http_parse(&r, s, HTTP_MAX_HEAD + 1), HTTP_PARSE_ERROR);
        cr_assert_eq(r.status, 431);
        free(s);
    }
    /* A request line with no end: NEED_MORE up to the limit, 431 at it. */
    {
        char *s = xmalloc(HTTP_MAX_HEAD + 1);
        memcpy(s, "GET /", 5);
        memset(s + 5, 'a', HTTP_MAX_HEAD + 1 - 5);
        expect_more(s, HTTP_MAX_HEAD - 1);
        http_req r;
        http_req_init(&r);
        cr_assert_eq(http_parse(&r, s, HTTP_MAX_HEAD - 1), HTTP_PARSE_NEED_MORE);
        cr_assert_eq(http_parse(&r, s, HTTP_MAX_HEAD), HTTP_PARSE_ERROR);
        cr_assert_eq(r.status, 431);
        /* CR as the last byte allowed: the next byte decides, and either way
         * it is an error (LF past the limit: 431; anything else: 400). */
        s[HTTP_MAX_HEAD - 1] = '\r';
        s[HTTP_MAX_HEAD] = '\n';
        http_req_init(&r);
        cr_assert_eq(http_parse(&r, s, HTTP_MAX_HEAD), HTTP_PARSE_NEED_MORE);
        cr_assert_eq(http_parse(&r, s, HTTP_MAX_HEAD + 1), HTTP_PARSE_ERROR);
        cr_assert_eq(r.status, 431);
        s[HTTP_MAX_HEAD] = 'x';
        http_req_init(&r);
        cr_assert_eq(http_parse(&r, s, HTTP_MAX_HEAD + 1), HTTP_PARSE_ERROR);
        cr_assert_eq(r.status, 400);
        free(s);
    }
}

static char *request_with_headers(int n)
{
    kbuf b = KBUF_INIT;
    const char *rl = "GET /metrics HTTP/1.1\r\nHost: a\r\n";
    kbuf_append(&b, rl, strlen(rl));
    for (int i = 1; i < n; i++) { /* Host is the first */
        char h[32];
        int k = snprintf(h, sizeof(h), "X-H%d: %d\r\n", i, i);
        kbuf_append(&b, h, (size_t)k);
    }
    kbuf_append(&b, "\r\n", 3); /* with the NUL */
    return b.data;
}

Test(http_parse, header_count_limit_at_and_past_bound)
{
    char *s = request_with_headers(HTTP_MAX_HEADERS);
    expect_ok(s, HTTP_METHOD_GET, "/metrics", true);
    free(s);
    s = request_with_headers(HTTP_MAX_HEADERS + 1);
    expect_err(s, 431);
    free(s);
    s = request_with_headers(1);
    expect_ok(s, HTTP_METHOD_GET, "/metrics", true);
    free(s);
}

Test(http_parse, malformed_request_lines)
{
    expect_err("GET\r\n\r\n", 400);
    expect_err("GET /\r\n\r\n", 400);             /* HTTP/0.9 */
    expect_err("GET / \r\n\r\n", 400);
    expect_err("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_err("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
    expect_err(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_err("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_err("GET / http/1.1\r\nHost: a\r\n\r\n", 400);
    expect_err("GET / HTTP/1\r\nHost: a\r\n\r\n", 400);
    expect_err("GET / HTTP/11\r\nHost: a\r\n\r\n", 400);
    expect_err("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400);
    expect_err("GET / HTTP/a.1\r\nHost: a\r\n\r\n", 400);
    expect_err("GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400);
    expect_err("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_err("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_err("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_err("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400);
    expect_err("garbage\r\n\r\n", 400);
    expect_err_n("\x00GET / HTTP/1.1\r\n", 17, 400); /* a NUL: judged at once */
    expect_err_n("\x16\x03\x01", 3, 400);          /* TLS ClientHello: judged at once */
}

Test(http_parse, malformed_header_lines)
{
    expect_err("GET / HTTP/1.1\r\nHost a\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\x62\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nX: \x7f\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: v\r\n\r\n", 400);
}

Test(http_parse, header_folding_refused)
{
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n\ttwo\r\n\r\n", 400);
    /* Whitespace before the first header line. */
    expect_err("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400);
    parsed p = parse1("GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n");
    cr_assert_eq(p.status, 400);
}

Test(http_parse, host_rules)
{
    expect_err("GET / HTTP/1.1\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400);
    expect_ok("GET / HTTP/1.0\r\n\r\n", HTTP_METHOD_GET, "/", false);
    expect_ok("GET / HTTP/1.0\r\nHost: a\r\n\r\n", HTTP_METHOD_GET, "/", false);
}

Test(http_parse, body_refused)
{
    expect_ok("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", HTTP_METHOD_GET, "/", true);
    expect_ok("HEAD / HTTP/1.1\r\nHost: a\r\ncontent-length:000\r\n\r\n", HTTP_METHOD_HEAD, "/",
              true);
    expect_ok("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
              HTTP_METHOD_GET, "/", true);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 400);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 01\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -0\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0 0\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0, 0\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400);
    expect_err("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
}

Test(http_parse, methods_other_than_get_head_are_405)
{
    static const char *methods[] = {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE",
                                    "CONNECT", "get", "Get", "head", "GETS", "X"};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        char s[128];
        snprintf(s, sizeof(s), "%s /health HTTP/1.1\r\nHost: a\r\n\r\n", methods[i]);
        expect_err(s, 405);
        /* Judged as soon as the request line is complete. */
        snprintf(s, sizeof(s), "%s /health HTTP/1.1\r\n", methods[i]);
        expect_err(s, 405);
    }
    expect_err("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 405);
    expect_err("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 405);
}

Test(http_parse, versions)
{
    expect_err("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505); /* the HTTP/2 preface */
    expect_err("PRI * HTTP/2.0\r\n", 505);               /* judged on its first line */
    expect_err("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
    expect_err("GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505);
    expect_err("GET / HTTP/0.9\r\n\r\n", 505);
    expect_err("POST / HTTP/2.0\r\n\r\n", 505); /* version before method */
    parsed p = parse1("GET / HTTP/1.0\r\n\r\n");
    cr_assert_eq(p.minor, 0);
    p = parse1("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert_eq(p.minor, 1);
    /* Higher minor versions of 1 are read as 1.1 (RFC 9110 2.5). */
    p = parse1("GET / HTTP/1.9\r\nHost: a\r\n\r\n");
    cr_assert_eq(p.result, HTTP_PARSE_DONE);
    cr_assert_eq(p.minor, 1);
    cr_assert(p.keep_alive);
    expect_err("GET / HTTP/1.9\r\n\r\n", 400); /* and need a Host */
}

Test(http_parse, error_is_sticky)
{
    const char *s = "BREW /pot HTTP/1.1\r\n";
    http_req r;
    http_req_init(&r);
    cr_assert_eq(http_parse(&r, s, strlen(s)), HTTP_PARSE_ERROR);
    cr_assert_eq(r.status, 405);
    cr_assert_eq(http_parse(&r, s, strlen(s)), HTTP_PARSE_ERROR);
    cr_assert_eq(http_parse(&r, NULL, 0), HTTP_PARSE_ERROR);
    cr_assert_eq(r.status, 405);
}

/* Random streams built from pieces of requests and random bytes: never a
 * crash (ASan build), and the same results for the whole stream, a random
 * chunking and byte by byte. */
Test(http_parse, random_streams_whole_vs_chunked)
{
    static const char *pieces[] = {
        "GET ", "HEAD ", "POST ", "/health", "/metrics?x=1", " HTTP/1.1", " HTTP/1.0", " HTTP/2.0",
        "\r\n", "\n", "\r", "Host: a", "Connection: close", "Connection: keep-alive",
        "Content-Length: 0", "Content-Length: 7", " ", "\t", ":", "X-A: b", "\r\n\r\n", "http://h",
        "#", "?", "\x00", "\xff", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    };
    const size_t npieces = sizeof(pieces) / sizeof(pieces[0]);
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    for (int iter = 0; iter < 3000; iter++) {
        char s[600];
        size_t len = 0;
        if (iter % 2) { /* start with a good request half of the time */
            static const char good[] = "GET /m?x HTTP/1.1\r\nHost: a\r\n\r\n";
            memcpy(s, good, sizeof(good) - 1);
            len = sizeof(good) - 1;
        }
        int parts = 1 + (int)((rng = rng * 6364136223846793005ull + 1442695040888963407ull) >> 60);
        for (int k = 0; k < parts * 2; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            const char *p = pieces[(rng >> 33) % npieces];
            size_t pl = (*p == '\0') ? 1 : strlen(p); /* the NUL piece is one byte */
            if ((rng >> 20) % 7 == 0) {
                p = NULL;
                pl = 1 + (rng >> 40) % 4;
            }
            if (len + pl > sizeof(s))
                break;
            for (size_t q = 0; q < pl; q++)
                s[len + q] = p ? p[q] : (char)(rng >> (8 * q));
            len += pl;
        }
        size_t sp[3];
        for (int k = 0; k < 3; k++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            sp[k] = len ? (rng >> 33) % (len + 1) : 0;
        }
        if (sp[0] > sp[1]) { size_t t = sp[0]; sp[0] = sp[1]; sp[1] = t; }
        if (sp[1] > sp[2]) { size_t t = sp[1]; sp[1] = sp[2]; sp[2] = t; }
        if (sp[0] > sp[1]) { size_t t = sp[0]; sp[0] = sp[1]; sp[1] = t; }
        run whole, chunked, bw;
        feed_whole(&whole, s, len);
        feed_splits(&chunked, s, len, sp, 3);
        feed_bytewise(&bw, s, len);
        assert_same_run(&whole, &chunked, "random", (size_t)iter, sp[0]);
        assert_same_run(&whole, &bw, "random bytewise", (size_t)iter, 0);
    }
}

/* ======================================================================== */
/* Response formatting */

static void expect_format(int status, const char *ct, const char *body, bool head, bool ka,
                          const char *want)
{
    kbuf out = KBUF_INIT;
    http_format_response(&out, status, ct, body, body ? strlen(body) : 0, head, ka);
    cr_assert_eq(out.len, strlen(want), "length %zu, expected %zu: '%.*s'", out.len, strlen(want),
                 (int)out.len, out.data);
    cr_assert_eq(memcmp(out.data, want, out.len), 0, "got '%.*s'", (int)out.len, out.data);
    kbuf_free(&out);
}

Test(http_format, responses)
{
    expect_format(200, HTTP_CT_TEXT, "ok\n", false, true,
                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  "Content-Length: 3\r\nConnection: keep-alive\r\n\r\nok\n");
    expect_format(200, HTTP_CT_TEXT, "ok\n", true, false,
                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  "Content-Length: 3\r\nConnection: close\r\n\r\n");
    expect_format(503, HTTP_CT_TEXT, "", false, true,
                  "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n");
    expect_format(200, HTTP_CT_PROMETHEUS, "up 1\n", false, true,
                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                  "Content-Length: 5\r\nConnection: keep-alive\r\n\r\nup 1\n");
    expect_format(405, NULL, "no\n", false, false,
                  "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"
                  "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"
                  "Connection: close\r\n\r\nno\n");
    expect_format(204, HTTP_CT_TEXT, "ignored", false, true,
                  "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n");
    /* Out of range status: 500 without the body. */
    expect_format(99, HTTP_CT_TEXT, "x", false, true,
                  "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n");
    expect_format(600, HTTP_CT_TEXT, "x", false, true,
                  "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n");
    /* A content type that would inject a header is replaced. */
    expect_format(200, "text/html\r\nSet-Cookie: a=b", "", false, true,
                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n");
    expect_format(200, "", "", false, true,
                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n");
    expect_format(418, "application/json", "{}", false, true,
                  "HTTP/1.1 418 Unknown\r\nContent-Type: application/json\r\n"
                  "Content-Length: 2\r\nConnection: keep-alive\r\n\r\n{}");
}

Test(http_format, errors)
{
    kbuf out = KBUF_INIT;
    http_format_error(&out, 431, "request head too large");
    const char *want = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 56\r\n"
                       "Connection: close\r\n\r\n"
                       "Request Header Fields Too Large: request head too large\n";
    cr_assert_eq(out.len, strlen(want));
    cr_assert_eq(memcmp(out.data, want, out.len), 0, "got '%.*s'", (int)out.len, out.data);
    kbuf_clear(&out);
    http_format_error(&out, 405, "only GET and HEAD are allowed");
    want = "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"
           "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 50\r\n"
           "Connection: close\r\n\r\nMethod Not Allowed: only GET and HEAD are allowed\n";
    cr_assert_eq(out.len, strlen(want), "got '%.*s'", (int)out.len, out.data);
    cr_assert_eq(memcmp(out.data, want, out.len), 0, "got '%.*s'", (int)out.len, out.data);
    kbuf_free(&out);
    cr_assert_str_eq(http_reason(505), "HTTP Version Not Supported");
    cr_assert_str_eq(http_reason(404), "Not Found");
    cr_assert_str_eq(http_reason(-1), "Unknown");
}

/* ======================================================================== */
/* Server end to end */

typedef struct srvctx {
    http_server *srv;
    bool ready;
    int requests;
    size_t big; /* body size of /big */
} srvctx;

static void handler(void *ctx, const http_req *req, http_response *resp)
{
    srvctx *x = ctx;
    x->requests++;
    if (http_req_path_is(req, "/health")) {
        kbuf_append(&resp->body, "ok\n", 3);
    } else if (http_req_path_is(req, "/ready")) {
        if (x->ready) {
            kbuf_append(&resp->body, "ready\n", 6);
        } else {
            resp->status = 503;
            kbuf_append(&resp->body, "not ready\n", 10);
        }
    } else if (http_req_path_is(req, "/metrics")) {
        static const char m[] = "# HELP keel_up Whether the node serves.\n"
                                "# TYPE keel_up gauge\nkeel_up 1\n";
        resp->content_type = HTTP_CT_PROMETHEUS;
        kbuf_append(&resp->body, m, sizeof(m) - 1);
    } else if (http_req_path_is(req, "/big")) {
        memset(kbuf_reserve(&resp->body, x->big), 'b', x->big);
        resp->body.len += x->big;
    } else if (http_req_path_is(req, "/shutdown-from-handler")) {
        http_close(x->srv);
        x->srv = NULL;
    } else {
        resp->status = 404;
        kbuf_append(&resp->body, "not found\n", 10);
    }
}

typedef struct env {
    uv_loop_t loop;
    srvctx ctx;
    int port;
} env;

static void env_start(env *e)
{
    memset(e, 0, sizeof(*e));
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(uv_loop_init(&e->loop), 0);
    char err[128] = "";
    e->ctx.srv = http_listen(&e->loop, "127.0.0.1", 0, handler, &e->ctx, &e->port, err, sizeof(err));
    cr_assert_not_null(e->ctx.srv, "http_listen: %s", err);
    cr_assert_gt(e->port, 0);
    cr_assert_lt(e->port, 65536);
}

/* Closes the server (if still open) and runs the loop until every handle is
 * gone; the loop must then close cleanly. */
static void env_stop(env *e)
{
    http_close(e->ctx.srv);
    e->ctx.srv = NULL;
    int alive = 1;
    for (int i = 0; i < 10000 && alive; i++)
        alive = uv_run(&e->loop, UV_RUN_NOWAIT);
    cr_assert_eq(alive, 0, "loop still has handles after http_close");
    cr_assert_eq(uv_loop_close(&e->loop), 0);
}

typedef struct client {
    int fd;
    kbuf got;
    bool eof;
    bool reset;
} client;

/* One step of the loop: wait (bounded) until the loop or the client has
 * something to do, then run the loop once without blocking. */
static void step(env *e, const client *c)
{
    struct pollfd p[2] = {{.fd = uv_backend_fd(&e->loop), .events = POLLIN},
                          {.fd = c ? c->fd : -1, .events = POLLIN}};
    int t = uv_backend_timeout(&e->loop);
    if (t < 0 || t > 20)
        t = 20;
    if (c && c->eof)
        p[1].fd = -1;
    poll(p, 2, t);
    uv_run(&e->loop, UV_RUN_NOWAIT);
}

static void client_poll(client *c)
{
    if (c->eof)
        return;
    char buf[16384];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            kbuf_append(&c->got, buf, (size_t)n);
            continue;
        }
        if (n == 0) {
            c->eof = true;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == ECONNRESET) {
            c->eof = true;
            c->reset = true;
        }
        return;
    }
}

#define MAX_STEPS 3000

/* Runs the loop (and reads the client, if any) until cond holds. */
#define WAIT_FOR(e, c, cond)                                                                      \
    do {                                                                                          \
        int steps_ = 0;                                                                           \
        while (!(cond) && steps_++ < MAX_STEPS) {                                                 \
            step((e), (c));                                                                       \
            if (c)                                                                                \
                client_poll(c);                                                                   \
        }                                                                                         \
        cr_assert((cond), "gave up waiting for: %s", #cond);                                     \
    } while (0)

static client *client_connect(env *e)
{
    client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(c->fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)e->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Completes in the kernel (listen backlog); the loop accepts later. */
    cr_assert_eq(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %s",
                 strerror(errno));
    return c;
}

static void client_free(client *c)
{
    close(c->fd);
    kbuf_free(&c->got);
    free(c);
}

/* Sends everything, running the loop and reading whenever the socket is full,
 * so a large pipeline cannot deadlock against the single-threaded server. */
static void client_send(env *e, client *c, const char *s, size_t len)
{
    size_t off = 0;
    int steps = 0;
    while (off < len) {
        ssize_t n = send(c->fd, s + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        cr_assert(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR),
                  "send: %s", strerror(errno));
        cr_assert_lt(steps++, MAX_STEPS * 10, "send never completes");
        step(e, c);
        client_poll(c);
    }
}

static void client_sends(env *e, client *c, const char *s) { client_send(e, c, s, strlen(s)); }

/* Waits until the client has received want (exactly, so far) */
static void client_expect(env *e, client *c, const char *want, size_t len)
{
    WAIT_FOR(e, c, c->got.len >= len || c->eof);
    cr_assert_eq(c->got.len, len, "received %zu bytes, expected %zu: '%.*s'", c->got.len, len,
                 (int)(c->got.len > 2000 ? 2000 : c->got.len), c->got.data);
    cr_assert_eq(memcmp(c->got.data, want, len), 0, "received '%.*s', expected '%s'",
                 (int)c->got.len, c->got.data, want);
    kbuf_clear(&c->got);
}

static void client_expects(env *e, client *c, const char *want) { client_expect(e, c, want, strlen(want)); }

static void client_expect_eof(env *e, client *c)
{
    WAIT_FOR(e, c, c->eof);
    cr_assert_eq(c->got.len, 0, "unexpected bytes before EOF: '%.*s'", (int)c->got.len, c->got.data);
    cr_assert_not(c->reset, "connection reset instead of closed");
}

#define OK_HEALTH_KA                                                                              \
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"       \
    "Connection: keep-alive\r\n\r\nok\n"
#define OK_HEALTH_CLOSE                                                                           \
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"       \
    "Connection: close\r\n\r\nok\n"
#define GET_HEALTH "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

Test(http_server, endpoints_keep_alive_exact_bytes)
{
    env e;
    env_start(&e);
    client *c = client_connect(&e);

    client_sends(&e, c, GET_HEALTH);
    client_expects(&e, c, OK_HEALTH_KA);

    client_sends(&e, c, "GET /ready HTTP/1.1\r\nHost: x\r\n\r\n");
    client_expects(&e, c,
                   "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: 10\r\nConnection: keep-alive\r\n\r\nnot ready\n");
    e.ctx.ready = true;
    client_sends(&e, c, "GET /ready?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    client_expects(&e, c,
                   "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: 6\r\nConnection: keep-alive\r\n\r\nready\n");

    client_sends(&e, c, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: text/plain\r\n\r\n");
    client_expects(&e, c,
                   "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                   "Content-Length: 71\r\nConnection: keep-alive\r\n\r\n"
                   "# HELP keel_up Whether the node serves.\n# TYPE keel_up gauge\nkeel_up 1\n");

    client_sends(&e, c, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    client_expects(&e, c,
                   "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                   "Content-Length: 71\r\nConnection: keep-alive\r\n\r\n");

    client_sends(&e, c, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    client_expects(&e, c,
                   "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: 10\r\nConnection: keep-alive\r\n\r\nnot found\n");

    client_sends(&e, c, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    client_expects(&e, c, OK_HEALTH_CLOSE);
    client_expect_eof(&e, c);
    cr_assert_eq(e.ctx.requests, 7);
    client_free(c); /* ends the server's lingering close */
    WAIT_FOR(&e, (client *)NULL, http_server_conn_count(e.ctx.srv) == 0);
    env_stop(&e);
}

Test(http_server, pipelined_requests_answered_in_order)
{
    env e;
    env_start(&e);
    client *c = client_connect(&e);
    client_sends(&e, c,
                 GET_HEALTH "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n"
                            "GET /nope?x HTTP/1.1\r\nHost: x\r\n\r\n"
                            "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                            "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"); /* after close: ignored */
    client_expects(&e, c,
                   OK_HEALTH_KA
                   "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: 3\r\nConnection: keep-alive\r\n\r\n"
                   "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: 10\r\nConnection: keep-alive\r\n\r\nnot found\n" OK_HEALTH_CLOSE);
    client_expect_eof(&e, c);
    cr_assert_eq(e.ctx.requests, 4);
    client_free(c);
    env_stop(&e);
}

Test(http_server, request_arriving_byte_by_byte)
{
    env e;
    env_start(&e);
    client *c = client_connect(&e);
    const char *req = GET_HEALTH GET_HEALTH;
    for (size_t i = 0; i < strlen(req); i++) {
        client_send(&e, c, req + i, 1);
        for (int k = 0; k < 3; k++)
            uv_run(&e.loop, UV_RUN_NOWAIT);
    }
    client_expects(&e, c, OK_HEALTH_KA OK_HEALTH_KA);
    client_free(c);
    env_stop(&e);
}

Test(http_server, many_pipelined_requests_with_output_bound)
{
    env e;
    env_start(&e);
    client *c = client_connect(&e);
    enum { N = 3000 };
    kbuf reqs = KBUF_INIT, want = KBUF_INIT;
    for (int i = 0; i < N; i++) {
        bool last = i == N - 1;
        const char *r = (i % 3 == 1) ? "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n"
                        : last       ? "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                                     : GET_HEALTH;
        kbuf_append(&reqs, r, strlen(r));
        http_format_response(&want, 200, HTTP_CT_TEXT, "ok\n", 3, i % 3 == 1, !last);
    }
    client_send(&e, c, reqs.data, reqs.len);
    WAIT_FOR(&e, c, c->eof);
    cr_assert_not(c->reset);
    cr_assert_eq(c->got.len, want.len);
    cr_assert_eq(memcmp(c->got.data, want.data, want.len), 0);
    cr_assert_eq(e.ctx.requests, N);
    kbuf_free(&reqs);
    kbuf_free(&want);
    client_free(c);
    env_stop(&e);
}

Test(http_server, large_response_to_slow_reader)
{
    env e;
    env_start(&e);
    e.ctx.big = 4u << 20;
    client *c = client_connect(&e);
    client_sends(&e, c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n" GET_HEALTH);
    /* Let the server fill the socket before reading anything. */
    for (int i = 0; i < 50; i++)
        uv_run(&e.loop, UV_RUN_NOWAIT);
    const char *hdr = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                      "Content-Length: 4194304\r\nConnection: keep-alive\r\n\r\n";
    size_t hl = strlen(hdr);
    WAIT_FOR(&e, c, c->got.len >= hl + e.ctx.big + strlen(OK_HEALTH_KA) || c->eof);
    cr_assert_geq(c->got.len, hl + e.ctx.big);
    cr_assert_eq(memcmp(c->got.data, hdr, hl), 0);
    for (size_t i = 0; i < e.ctx.big; i++)
        if (c->got.data[hl + i] != 'b')
            cr_assert_fail("body byte %zu", i);
    cr_assert_eq(c->got.len, hl + e.ctx.big + strlen(OK_HEALTH_KA));
    cr_assert_eq(memcmp(c->got.data + hl + e.ctx.big, OK_HEALTH_KA, strlen(OK_HEALTH_KA)), 0);
    client_free(c);
    env_stop(&e);
}

Test(http_server, http10_close_and_keep_alive)
{
    env e;
    env_start(&e);
    client *c = client_connect(&e);
    client_sends(&e, c, "GET /health HTTP/1.0\r\n\r\n");
    client_expects(&e, c, OK_HEALTH_CLOSE);
    client_expect_eof(&e, c);
    client_free(c);

    c = client_connect(&e);
    client_sends(&e, c, "GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    client_expects(&e, c, OK_HEALTH_KA);
    client_sends(&e, c, "HEAD /health HTTP/1.0\r\n\r\n");
    client_expects(&e, c,
                   "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
                   "Content-Length: 3\r\nConnection: close\r\n\r\n");
    client_expect_eof(&e, c);
    client_free(c);
    env_stop(&e);
}

static void expect_error_reply(env *e, const char *req, size_t len, const char *want)
{
    client *c = client_connect(e);
    client_send(e, c, req, len);
    client_expects(e, c, want);
    client_expect_eof(e, c);
    client_free(c);
}

Test(http_server, errors_reply_and_close)
{
    env e;
    env_start(&e);
    const char *r = "garbage\r\n";
    expect_error_reply(&e, r, strlen(r),
                       "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       "Content-Length: 36\r\nConnection: close\r\n\r\n"
                       "Bad Request: malformed request line\n");
    r = "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
    expect_error_reply(&e, r, strlen(r),
                       "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 50\r\n"
                       "Connection: close\r\n\r\nMethod Not Allowed: only GET and HEAD are allowed\n");
    r = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    expect_error_reply(&e, r, strlen(r),
                       "HTTP/1.1 505 HTTP Version Not Supported\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 55\r\n"
                       "Connection: close\r\n\r\nHTTP Version Not Supported: only HTTP/1.x is supported\n");
    /* A good request, then a bad one: the first is answered. */
    r = GET_HEALTH "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n";
    expect_error_reply(&e, r, strlen(r),
                       OK_HEALTH_KA
                       "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       "Content-Length: 51\r\nConnection: close\r\n\r\n"
                       "Bad Request: obsolete line folding is not accepted\n");
    /* A head over the limit: 431, and the rest of the bytes are drained
     * (lingering close), so the reply is not lost to a reset. */
    size_t big = 3 * HTTP_MAX_HEAD;
    char *s = xmalloc(big);
    memcpy(s, "GET /", 5);
    memset(s + 5, 'a', big - 5);
    expect_error_reply(&e, s, big,
                       "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 56\r\n"
                       "Connection: close\r\n\r\n"
                       "Request Header Fields Too Large: request head too large\n");
    free(s);
    /* TLS on the HTTP port. */
    static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
    expect_error_reply(&e, tls, sizeof(tls) - 1,
                       "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                       "Content-Length: 47\r\nConnection: close\r\n\r\n"
                       "Bad Request: control character in request head\n");
    cr_assert_eq(e.ctx.requests, 1);
    env_stop(&e);
}

Test(http_server, connection_close_with_unread_input_is_not_reset)
{
    env e;
    env_start(&e);
    client *c = client_connect(&e);
    kbuf b = KBUF_INIT;
    const char *r = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    kbuf_append(&b, r, strlen(r));
    for (int i = 0; i < 2000; i++)
        kbuf_append(&b, "junk junk ", 10);
    client_send(&e, c, b.data, b.len);
    client_expects(&e, c, OK_HEALTH_CLOSE);
    /* The peer keeps sending after the response; the server drains it. */
    client_send(&e, c, b.data, 1000);
    client_expect_eof(&e, c);
    kbuf_free(&b);
    client_free(c);
    WAIT_FOR(&e, (client *)NULL, http_server_conn_count(e.ctx.srv) == 0);
    env_stop(&e);
}

Test(http_server, client_half_close_after_request_gets_answer)
{
    env e;
    env_start(&e);
    client *c = client_connect(&e);
    client_sends(&e, c, GET_HEALTH GET_HEALTH "GET /hea");
    shutdown(c->fd, SHUT_WR);
    client_expects(&e, c, OK_HEALTH_KA OK_HEALTH_KA);
    client_expect_eof(&e, c);
    WAIT_FOR(&e, (client *)NULL, http_server_conn_count(e.ctx.srv) == 0);
    client_free(c);
    env_stop(&e);
}

Test(http_server, idle_connections_time_out)
{
    env e;
    env_start(&e);
    http_server_set_idle_timeout(e.ctx.srv, 100);
    client *quiet = client_connect(&e);
    client *partial = client_connect(&e);
    client *used = client_connect(&e);
    client_sends(&e, partial, "GET /health HT");
    client_sends(&e, used, GET_HEALTH);
    client_expects(&e, used, OK_HEALTH_KA);
    WAIT_FOR(&e, quiet, quiet->eof);
    WAIT_FOR(&e, partial, partial->eof);
    WAIT_FOR(&e, used, used->eof);
    cr_assert_eq(quiet->got.len, 0);
    cr_assert_eq(partial->got.len, 0);
    cr_assert_eq(used->got.len, 0);
    WAIT_FOR(&e, (client *)NULL, http_server_conn_count(e.ctx.srv) == 0);
    client_free(quiet);
    client_free(partial);
    client_free(used);
    env_stop(&e);
}

Test(http_server, connection_cap)
{
    env e;
    env_start(&e);
    client *cs[HTTP_MAX_CONNS];
    for (int i = 0; i < HTTP_MAX_CONNS; i++) {
        cs[i] = client_connect(&e);
        WAIT_FOR(&e, (client *)NULL, http_server_conn_count(e.ctx.srv) == i + 1);
    }
    /* One more: accepted and closed at once, nothing sent. */
    client *extra = client_connect(&e);
    WAIT_FOR(&e, extra, extra->eof);
    cr_assert_eq(extra->got.len, 0);
    client_free(extra);
    cr_assert_eq(http_server_conn_count(e.ctx.srv), HTTP_MAX_CONNS);
    /* The ones inside still work. */
    client_sends(&e, cs[0], GET_HEALTH);
    client_expects(&e, cs[0], OK_HEALTH_KA);
    client_sends(&e, cs[HTTP_MAX_CONNS - 1], GET_HEALTH);
    client_expects(&e, cs[HTTP_MAX_CONNS - 1], OK_HEALTH_KA);
    /* Room again once one leaves. */
    client_free(cs[7]);
    cs[7] = NULL;
    WAIT_FOR(&e, (client *)NULL, http_server_conn_count(e.ctx.srv) == HTTP_MAX_CONNS - 1);
    client *late = client_connect(&e);
    client_sends(&e, late, GET_HEALTH);
    client_expects(&e, late, OK_HEALTH_KA);
    client_free(late);
    /* http_close with all of them open. */
    http_close(e.ctx.srv);
    e.ctx.srv = NULL;
    for (int i = 0; i < HTTP_MAX_CONNS; i++) {
        if (cs[i] == NULL)
            continue;
        WAIT_FOR(&e, cs[i], cs[i]->eof);
        client_free(cs[i]);
    }
    env_stop(&e);
}

Test(http_server, close_with_connections_in_every_state)
{
    env e;
    env_start(&e);
    e.ctx.big = 8u << 20;
    client *idle = client_connect(&e);
    client *partial = client_connect(&e);
    client *writing = client_connect(&e);
    client *closing = client_connect(&e);
    client_sends(&e, idle, GET_HEALTH);
    client_expects(&e, idle, OK_HEALTH_KA);
    client_sends(&e, partial, "GET /hea");
    client_sends(&e, writing, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    client_sends(&e, closing, "GET /health HTTP/1.0\r\n\r\n");
    for (int i = 0; i < 20; i++)
        uv_run(&e.loop, UV_RUN_NOWAIT);
    cr_assert_eq(http_server_conn_count(e.ctx.srv), 4);
    env_stop(&e); /* closes everything; the loop must end with no handles */
    client_free(idle);
    client_free(partial);
    client_free(writing);
    client_free(closing);
}

Test(http_server, peer_vanishes_during_large_write)
{
    env e;
    env_start(&e);
    e.ctx.big = 16u << 20;
    client *c = client_connect(&e);
    client_sends(&e, c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    WAIT_FOR(&e, (client *)NULL, e.ctx.requests == 1);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)); /* close with a reset */
    client_free(c);
    WAIT_FOR(&e, (client *)NULL, http_server_conn_count(e.ctx.srv) == 0);
    env_stop(&e);
}

Test(http_server, handler_may_close_the_server)
{
    env e;
    env_start(&e);
    client *c = client_connect(&e);
    client *other = client_connect(&e);
    client_sends(&e, other, GET_HEALTH);
    client_expects(&e, other, OK_HEALTH_KA);
    client_sends(&e, c, "GET /shutdown-from-handler HTTP/1.1\r\nHost: x\r\n\r\n" GET_HEALTH);
    WAIT_FOR(&e, c, c->eof);
    cr_assert_eq(c->got.len, 0); /* closed without a reply */
    WAIT_FOR(&e, other, other->eof);
    cr_assert_null(e.ctx.srv);
    client_free(c);
    client_free(other);
    env_stop(&e);
}

Test(http_server, listen_errors)
{
    env e;
    env_start(&e);
    char err[160] = "";
    int port = -1;
    http_server *s = http_listen(&e.loop, "not-an-address", 0, handler, &e.ctx, &port, err,
                                 sizeof(err));
    cr_assert_null(s);
    cr_assert_neq(err[0], '\0');
    cr_assert_eq(port, -1);
    err[0] = '\0';
    s = http_listen(&e.loop, "127.0.0.1", e.port, handler, &e.ctx, &port, err, sizeof(err));
    cr_assert_null(s, "second listener on the same port");
    cr_assert(strstr(err, "address already in use") != NULL, "err: %s", err);
    s = http_listen(&e.loop, "127.0.0.1", 70000, handler, &e.ctx, &port, err, sizeof(err));
    cr_assert_null(s);
    s = http_listen(&e.loop, "127.0.0.1", 0, handler, &e.ctx, NULL, NULL, 0);
    cr_assert_not_null(s);
    http_close(s);
    http_close(NULL);
    env_stop(&e);
}

Test(http_server, ipv6_loopback)
{
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    srvctx x = {0};
    char err[160] = "";
    int port = 0;
    http_server *s = http_listen(&loop, "::1", 0, handler, &x, &port, err, sizeof(err));
    if (s != NULL) {
        cr_assert_gt(port, 0);
        http_close(s);
    } else {
        cr_log_warn("no IPv6 loopback here: %s", err);
    }
    int alive = 1;
    for (int i = 0; i < 1000 && alive; i++)
        alive = uv_run(&loop, UV_RUN_NOWAIT);
    cr_assert_eq(uv_loop_close(&loop), 0);
}
