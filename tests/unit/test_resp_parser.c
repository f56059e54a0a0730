/* Unit tests for the RESP2 request parser (core/resp/parser.h), against
 * Redis 7.0's semantics: processMultibulkBuffer, processInlineBuffer,
 * sdssplitargs and string2ll. Unless said otherwise every expectation is
 * checked for the stream fed whole, byte by byte, split at every point, and
 * in random chunkings, with the pending bytes moved to a new address before
 * every call (see tparse in helpers.h). */
#include <criterion/criterion.h>

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/resp/parser.h"
#include "core/resp/writer.h"
#include "core/util/kbuf.h"
#include "helpers.h"

#define E_MBULK_LEN "Protocol error: invalid multibulk length"
#define E_BULK_LEN "Protocol error: invalid bulk length"
#define E_MBULK_BIG "Protocol error: too big mbulk count string"
#define E_BULK_BIG "Protocol error: too big bulk count string"
#define E_INLINE_BIG "Protocol error: too big inline request"
#define E_UNBALANCED "Protocol error: unbalanced quotes in request"
#define E_UNAUTH_MBULK "Protocol error: unauthenticated multibulk length"
#define E_UNAUTH_BULK "Protocol error: unauthenticated bulk length"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A multibulk / inline command expectation. */
#define MB(len_, argc_, ...) {(argc_), {__VA_ARGS__}, (len_), false}
#define IL(len_, argc_, ...) {(argc_), {__VA_ARGS__}, (len_), true}

/* The stream as a literal: pointer and length (NUL bytes allowed). */
#define LIT(s) (s), (sizeof(s) - 1)

static void expect_more(const resp_limits *lim, bool auth, const char *in, size_t n,
                        const ecmd *cmds, size_t ncmds)
{
    eres e = {cmds, ncmds, RESP_MORE, RESP_ERR_NONE, NULL};
    expect_stream(lim, auth, in, n, &e);
}

static void expect_error(const resp_limits *lim, bool auth, const char *in, size_t n,
                         const ecmd *cmds, size_t ncmds, resp_error err, const char *msg)
{
    eres e = {cmds, ncmds, RESP_ERROR, err, msg};
    expect_stream(lim, auth, in, n, &e);
}

static resp_limits limits_with(size_t inline_max, long long bulk_max, size_t query_max)
{
    resp_limits l = resp_limits_default();
    if (inline_max)
        l.inline_max = inline_max;
    if (bulk_max)
        l.bulk_max = bulk_max;
    if (query_max)
        l.query_max = query_max;
    return l;
}

/* A malloc'd buffer: prefix, then n copies of c, then suffix. */
static char *build(const char *prefix, size_t plen, char c, size_t n, const char *suffix,
                   size_t slen, size_t *outlen)
{
    char *b = t_xmalloc(plen + n + slen);
    memcpy(b, prefix, plen);
    memset(b + plen, c, n);
    memcpy(b + plen + n, suffix, slen);
    *outlen = plen + n + slen;
    return b;
}

/* ===================================================================== */
/* resp_string2ll                                                         */
/* ===================================================================== */

Test(string2ll, valid)
{
    static const struct {
        const char *s;
        long long v;
    } ok[] = {
        {"0", 0},
        {"1", 1},
        {"-1", -1},
        {"10", 10},
        {"-10", -10},
        {"123456789", 123456789},
        {"2147483648", 2147483648LL},
        {"9223372036854775807", LLONG_MAX},
        {"-9223372036854775808", LLONG_MIN},
        {"-9223372036854775807", -LLONG_MAX},
    };
    for (size_t i = 0; i < NELEM(ok); i++) {
        long long v = 12345;
        cr_assert(resp_string2ll(ok[i].s, strlen(ok[i].s), &v), "'%s' rejected", ok[i].s);
        cr_assert_eq(v, ok[i].v, "'%s' gave %lld", ok[i].s, v);
    }
}

Test(string2ll, invalid)
{
    static const char *bad[] = {
        "",
        "-",
        "01",
        "00",
        "-0",
        "-01",
        "+1",
        "+0",
        " 1",
        "1 ",
        "1a",
        "a1",
        "0x10",
        "1.0",
        "1e3",
        "--1",
        "9223372036854775808",
        "-9223372036854775809",
        "18446744073709551616",
        "99999999999999999999",
        "100000000000000000000",
        "123456789012345678901",
    };
    for (size_t i = 0; i < NELEM(bad); i++) {
        long long v = 0;
        cr_assert_not(resp_string2ll(bad[i], strlen(bad[i]), &v), "'%s' accepted (%lld)",
                      bad[i], v);
    }
}

Test(string2ll, reads_only_len_bytes)
{
    long long v = 0;
    /* Not NUL-terminated where it stops: only len bytes count. */
    const char s[] = {'1', '2', '3', 'x', '9'};
    cr_assert(resp_string2ll(s, 3, &v));
    cr_assert_eq(v, 123);
    cr_assert(resp_string2ll(s, 1, &v));
    cr_assert_eq(v, 1);
    cr_assert_not(resp_string2ll(s, 4, &v));
    /* An embedded NUL is a non-digit. */
    cr_assert_not(resp_string2ll("1\0", 2, &v));
    cr_assert_not(resp_string2ll("\0", 1, &v));
}

/* ===================================================================== */
/* Limits and set-up                                                      */
/* ===================================================================== */

Test(limits, defaults_are_redis_7_0)
{
    resp_limits l = resp_limits_default();
    cr_assert_eq(l.inline_max, (size_t)65536);
    cr_assert_eq(l.bulk_max, 512LL * 1024 * 1024);
    cr_assert_eq(l.query_max, (size_t)1024 * 1024 * 1024);
    cr_assert_eq(l.inline_max, RESP_INLINE_MAX_DEFAULT);
    cr_assert_eq(l.bulk_max, RESP_BULK_MAX_DEFAULT);
    cr_assert_eq(l.query_max, RESP_QUERY_MAX_DEFAULT);
}

Test(limits, init_null_uses_defaults_and_custom_is_kept)
{
    resp_parser p;
    resp_parser_init(&p, NULL);
    cr_assert_eq(p.lim.inline_max, RESP_INLINE_MAX_DEFAULT);
    cr_assert_eq(p.lim.bulk_max, RESP_BULK_MAX_DEFAULT);
    cr_assert_eq(p.lim.query_max, RESP_QUERY_MAX_DEFAULT);
    cr_assert_not(p.auth_required);
    cr_assert_eq(p.err, RESP_ERR_NONE);
    cr_assert_null(resp_parser_error(&p));
    resp_parser_free(&p);

    resp_limits l = {100, 200, 300};
    resp_parser_init(&p, &l);
    cr_assert_eq(p.lim.inline_max, (size_t)100);
    cr_assert_eq(p.lim.bulk_max, 200);
    cr_assert_eq(p.lim.query_max, (size_t)300);
    resp_parser_free(&p);
}

Test(limits, empty_input_is_more)
{
    resp_parser p;
    resp_parser_init(&p, NULL);
    resp_command cmd;
    char b[1] = {'*'};
    cr_assert_eq(resp_parse(&p, b, 0, &cmd), RESP_MORE);
    cr_assert_eq(resp_parse(&p, b, 0, &cmd), RESP_MORE);
    cr_assert_null(resp_parser_error(&p));
    resp_parser_free(&p);
}

/* ===================================================================== */
/* Multibulk                                                              */
/* ===================================================================== */

Test(mbulk, simple_command)
{
    static const ecmd c[] = {MB(33, 3, A("SET"), A("key"), A("value"))};
    expect_more(NULL, false, LIT("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"), c, 1);
}

Test(mbulk, zero_copy_views_into_buf)
{
    resp_parser p;
    resp_parser_init(&p, NULL);
    char buf[] = "*2\r\n$3\r\nfoo\r\n$3\r\nbar\r\n";
    resp_command cmd;
    cr_assert_eq(resp_parse(&p, buf, sizeof buf - 1, &cmd), RESP_OK);
    cr_assert_eq(cmd.argc, 2);
    cr_assert_eq(cmd.len, sizeof buf - 1);
    cr_assert_not(cmd.is_inline);
    cr_assert_eq(cmd.argv[0].ptr, buf + 8);
    cr_assert_eq(cmd.argv[0].len, (size_t)3);
    cr_assert_eq(cmd.argv[1].ptr, buf + 17);
    cr_assert_eq(cmd.argv[1].len, (size_t)3);

    /* Incremental, then the rest at another address: the views are into
     * the buffer of the call that returned RESP_OK. */
    char *a = t_xmalloc(10);
    memcpy(a, buf, 10);
    cr_assert_eq(resp_parse(&p, a, 10, &cmd), RESP_MORE);
    char *b = t_xmalloc(sizeof buf);
    memcpy(b, buf, sizeof buf);
    memset(a, 'Z', 10);
    cr_assert_eq(resp_parse(&p, b, sizeof buf - 1, &cmd), RESP_OK);
    cr_assert_eq(cmd.argc, 2);
    cr_assert_eq(cmd.argv[0].ptr, b + 8);
    cr_assert_eq(cmd.argv[1].ptr, b + 17);
    cr_assert_eq(memcmp(cmd.argv[0].ptr, "foo", 3), 0);
    free(a);
    free(b);
    resp_parser_free(&p);
}

Test(mbulk, empty_commands)
{
    static const ecmd c[] = {
        MB(4, 0),
        MB(5, 0),
        MB(5, 0),
        MB(23, 0),
        MB(11, 1, A("x")),
        MB(4, 0),
    };
    expect_more(NULL, false,
                LIT("*0\r\n*-1\r\n*-5\r\n*-9223372036854775808\r\n*1\r\n$1\r\nx\r\n*0\r\n"), c,
                NELEM(c));
}

Test(mbulk, count_line_complete_only_with_byte_after_cr)
{
    expect_more(NULL, false, LIT("*"), NULL, 0);
    expect_more(NULL, false, LIT("*1"), NULL, 0);
    expect_more(NULL, false, LIT("*1\r"), NULL, 0);
    /* Not validated before the byte after '\r' is there. */
    expect_more(NULL, false, LIT("*x\r"), NULL, 0);
    expect_more(NULL, false, LIT("*-0\r"), NULL, 0);
    expect_error(NULL, false, LIT("*x\r\n"), NULL, 0, RESP_ERR_MBULK_LEN, E_MBULK_LEN);
    static const ecmd c[] = {MB(4, 0)};
    expect_more(NULL, false, LIT("*0\r\n"), c, 1);
    expect_more(NULL, false, LIT("*0\r\n*0\r"), c, 1);
}

Test(mbulk, byte_after_cr_is_not_checked)
{
    /* Redis skips two bytes after each '\r' of a count line and after each
     * bulk, without looking at them. */
    static const ecmd c[] = {MB(13, 1, A("foo")), MB(4, 0)};
    expect_more(NULL, false, LIT("*1\rX$3\rYfooAB*0\r\n"), c, 2);
    static const ecmd d[] = {MB(13, 1, A("foo"))};
    expect_more(NULL, false, LIT("*1\r\n$3\r\nfooAB"), d, 1);
    expect_more(NULL, false, LIT("*1\r\n$3\r\nfooA"), NULL, 0);
    expect_more(NULL, false, LIT("*1\r\n$3\r\nfoo"), NULL, 0);
}

Test(mbulk, invalid_count)
{
    static const char *bad[] = {
        "*\r\n",
        "*-\r\n",
        "*01\r\n",
        "*00\r\n",
        "*-0\r\n",
        "*+1\r\n",
        "* 1\r\n",
        "*1 \r\n",
        "*\t1\r\n",
        "*1a\r\n",
        "*0x1\r\n",
        "*1\n\r\n",
        "*2147483648\r\n",
        "*4294967297\r\n",
        "*9223372036854775807\r\n",
        "*9223372036854775808\r\n",
        "*-9223372036854775809\r\n",
        "*123456789012345678901\r\n",
    };
    static const ecmd ping[] = {IL(6, 1, A("PING"))};
    for (size_t i = 0; i < NELEM(bad); i++) {
        size_t n = strlen(bad[i]);
        expect_error(NULL, false, bad[i], n, NULL, 0, RESP_ERR_MBULK_LEN, E_MBULK_LEN);
        /* After a valid command in the same stream: that one comes first. */
        char buf[64];
        memcpy(buf, "PING\r\n", 6);
        memcpy(buf + 6, bad[i], n);
        expect_error(NULL, false, buf, n + 6, ping, 1, RESP_ERR_MBULK_LEN, E_MBULK_LEN);
    }
}

Test(mbulk, count_int_max_and_nothing_allocated_from_it)
{
    /* INT_MAX is a valid count: the parser waits for the arguments. */
    static const char in[] = "*2147483647\r\n$1\r\na\r\n$1\r\nb\r\n";
    expect_more(NULL, false, LIT(in), NULL, 0);

    resp_parser p;
    resp_parser_init(&p, NULL);
    resp_command cmd;
    cr_assert_eq(resp_parse(&p, in, sizeof in - 1, &cmd), RESP_MORE);
    /* "argument arrays grow as arguments actually arrive" */
    cr_assert_lt(p.cap, 1 << 20, "argument array of %d slots for 2 arguments", p.cap);
    resp_parser_free(&p);

    static const ecmd c[] = {MB(11, 1, A("a"))};
    expect_more(NULL, false, LIT("*1000000000\r\n"), NULL, 0);
    expect_more(NULL, false, LIT("*1\r\n$1\r\na\r\n*2147483647\r\n"), c, 1);
}

Test(mbulk, expected_dollar)
{
    expect_error(NULL, false, LIT("*1\r\nX\r\n"), NULL, 0, RESP_ERR_EXPECTED_DOLLAR,
                 "Protocol error: expected '$', got 'X'");
    expect_error(NULL, false, LIT("*1\r\n3\r\nfoo\r\n"), NULL, 0, RESP_ERR_EXPECTED_DOLLAR,
                 "Protocol error: expected '$', got '3'");
    expect_error(NULL, false, LIT("*2\r\n$3\r\nfoo\r\n:1\r\n"), NULL, 0,
                 RESP_ERR_EXPECTED_DOLLAR, "Protocol error: expected '$', got ':'");
    expect_error(NULL, false, LIT("*2\r\n$3\r\nfoo\r\nPING\r\n"), NULL, 0,
                 RESP_ERR_EXPECTED_DOLLAR, "Protocol error: expected '$', got 'P'");
    /* CR and LF are shown as a space (Redis maps them in error replies). */
    expect_error(NULL, false, LIT("*1\r\n\r\n"), NULL, 0, RESP_ERR_EXPECTED_DOLLAR,
                 "Protocol error: expected '$', got ' '");
    expect_error(NULL, false, LIT("*1\r\n\nfoo\r\n"), NULL, 0, RESP_ERR_EXPECTED_DOLLAR,
                 "Protocol error: expected '$', got ' '");
    /* Only once the '\r' and one byte after it are there. */
    expect_more(NULL, false, LIT("*1\r\nX"), NULL, 0);
    expect_more(NULL, false, LIT("*1\r\nXfoo"), NULL, 0);
    expect_more(NULL, false, LIT("*1\r\nXfoo\r"), NULL, 0);
    expect_more(NULL, false, LIT("*1\r\n\r"), NULL, 0);
    /* Commands before it come first. */
    static const ecmd c[] = {MB(4, 0), IL(4, 1, A("GET"))};
    expect_error(NULL, false, LIT("*0\r\nGET\n*1\r\nX\r\n"), c, 2, RESP_ERR_EXPECTED_DOLLAR,
                 "Protocol error: expected '$', got 'X'");
}

Test(mbulk, invalid_bulk_length)
{
    static const char *bad[] = {
        "",
        "-",
        "-1",
        "-0",
        "-5",
        "+1",
        "01",
        "00",
        " 1",
        "1 ",
        "1a",
        "0x10",
        "536870913",
        "9223372036854775807",
        "9223372036854775808",
        "99999999999999999999",
        "-9223372036854775808",
    };
    for (size_t i = 0; i < NELEM(bad); i++) {
        char buf[64];
        int n = snprintf(buf, sizeof buf, "*1\r\n$%s\r\n", bad[i]);
        expect_error(NULL, false, buf, (size_t)n, NULL, 0, RESP_ERR_BULK_LEN, E_BULK_LEN);
        /* In the second argument too. */
        n = snprintf(buf, sizeof buf, "*2\r\n$1\r\nx\r\n$%s\r\nabc\r\n", bad[i]);
        expect_error(NULL, false, buf, (size_t)n, NULL, 0, RESP_ERR_BULK_LEN, E_BULK_LEN);
    }
}

Test(mbulk, bulk_max_default_bound)
{
    /* 512 MiB exactly is accepted (the parser then waits for the bytes). */
    expect_more(NULL, false, LIT("*1\r\n$536870912\r\n"), NULL, 0);
    expect_more(NULL, false, LIT("*1\r\n$536870912\r\nabc"), NULL, 0);
    expect_error(NULL, false, LIT("*1\r\n$536870913\r\n"), NULL, 0, RESP_ERR_BULK_LEN,
                 E_BULK_LEN);
}

Test(mbulk, bulk_max_custom_bound)
{
    resp_limits l = limits_with(0, 10, 0);
    static const ecmd c[] = {MB(27, 2, A("0123456789"), A(""))};
    expect_more(&l, false, LIT("*2\r\n$10\r\n0123456789\r\n$0\r\n\r\n"), c, 1);
    expect_error(&l, false, LIT("*1\r\n$11\r\n"), NULL, 0, RESP_ERR_BULK_LEN, E_BULK_LEN);
    expect_error(&l, false, LIT("*1\r\n$11\r\n01234567890\r\n"), NULL, 0, RESP_ERR_BULK_LEN,
                 E_BULK_LEN);
    l.bulk_max = 0;
    static const ecmd d[] = {MB(10, 1, A(""))};
    expect_more(&l, false, LIT("*1\r\n$0\r\n\r\n"), d, 1);
    expect_error(&l, false, LIT("*1\r\n$1\r\n"), NULL, 0, RESP_ERR_BULK_LEN, E_BULK_LEN);
}

Test(mbulk, binary_args)
{
    static const ecmd c[] = {
        MB(23, 2, A("\r\n\0\n"), A("\0\0\0")),
        MB(10, 1, A("")),
        MB(12, 1, A("\r\n")),
        MB(14, 1, A("*1\r\n")),
    };
    expect_more(NULL, false,
                LIT("*2\r\n$4\r\n\r\n\0\n\r\n$3\r\n\0\0\0\r\n"
                    "*1\r\n$0\r\n\r\n"
                    "*1\r\n$2\r\n\r\n\r\n"
                    "*1\r\n$4\r\n*1\r\n\r\n"),
                c, NELEM(c));
}

Test(mbulk, many_args)
{
    kbuf b = KBUF_INIT;
    enum { N = 1000 };
    resp_slice argv[N];
    char store[N][8];
    for (int i = 0; i < N; i++) {
        int n = snprintf(store[i], sizeof store[i], "a%d", i);
        argv[i].ptr = store[i];
        argv[i].len = (size_t)n;
    }
    kbuf_append(&b, "*1000\r\n", 7);
    for (int i = 0; i < N; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "$%zu\r\n", argv[i].len);
        kbuf_append(&b, line, (size_t)n);
        kbuf_append(&b, argv[i].ptr, argv[i].len);
        kbuf_append(&b, "\r\n", 2);
    }
    trng rng;
    trng_seed(&rng, 7);
    for (int round = 0; round < 4; round++) {
        tres r;
        if (round == 0)
            tparse_whole(NULL, false, b.data, b.len, &r);
        else
            tparse_random(NULL, false, b.data, b.len, &rng, (size_t)round * 50, &r);
        cr_assert_eq(r.ncmds, (size_t)1);
        cr_assert_eq(r.cmds[0].argc, N);
        cr_assert_eq(r.cmds[0].len, b.len);
        for (int i = 0; i < N; i++)
            cr_assert(r.cmds[0].argv[i].n == argv[i].len &&
                          memcmp(r.cmds[0].argv[i].p, argv[i].ptr, argv[i].len) == 0,
                      "arg %d", i);
        cr_assert_eq(r.final, RESP_MORE);
        tres_free(&r);
    }
    kbuf_free(&b);
}

/* ---- count line length bounds (inline_max) ---- */

Test(mbulk, mbulk_count_too_big_default_64k)
{
    size_t n;
    /* 65536 bytes from the '*' on without '\r': still waiting. */
    char *b = build("*", 1, '1', 65535, "", 0, &n);
    cr_assert_eq(n, (size_t)65536);
    expect_more(NULL, false, b, n, NULL, 0);
    free(b);
    /* 65537: too big. */
    b = build("*", 1, '1', 65536, "", 0, &n);
    expect_error(NULL, false, b, n, NULL, 0, RESP_ERR_MBULK_TOO_BIG, E_MBULK_BIG);
    free(b);
    /* Counted from this command's '*', not from the buffer start. */
    static const ecmd ping[] = {IL(6, 1, A("PING"))};
    b = build("PING\r\n*", 7, '1', 65535, "", 0, &n);
    expect_more(NULL, false, b, n, ping, 1);
    free(b);
    b = build("PING\r\n*", 7, '1', 65536, "", 0, &n);
    expect_error(NULL, false, b, n, ping, 1, RESP_ERR_MBULK_TOO_BIG, E_MBULK_BIG);
    free(b);
}

Test(mbulk, mbulk_count_cr_at_inline_max)
{
    /* '\r' at offset 65536 from the '*': found before the limit is passed
     * in every chunking, so it is a count line (an invalid one). */
    size_t n;
    char *b = build("*", 1, '1', 65535, "\r", 1, &n);
    expect_more(NULL, false, b, n, NULL, 0);
    free(b);
    b = build("*", 1, '1', 65535, "\r\n", 2, &n);
    expect_error(NULL, false, b, n, NULL, 0, RESP_ERR_MBULK_LEN, E_MBULK_LEN);
    free(b);
}

Test(mbulk, bulk_count_too_big_default_64k)
{
    size_t n;
    /* Measured from the start of the '$' line, not of the command. */
    char *b = build("*1\r\n$", 5, '1', 65535, "", 0, &n);
    expect_more(NULL, false, b, n, NULL, 0);
    free(b);
    b = build("*1\r\n$", 5, '1', 65536, "", 0, &n);
    expect_error(NULL, false, b, n, NULL, 0, RESP_ERR_BULK_TOO_BIG, E_BULK_BIG);
    free(b);
    /* No '$' check before a '\r' is found: the size error wins. */
    b = build("*1\r\n", 4, 'x', 65537, "", 0, &n);
    expect_error(NULL, false, b, n, NULL, 0, RESP_ERR_BULK_TOO_BIG, E_BULK_BIG);
    free(b);
    b = build("*2\r\n$1\r\na\r\n", 11, 'x', 65536, "", 0, &n);
    expect_more(NULL, false, b, n, NULL, 0);
    free(b);
    b = build("*2\r\n$1\r\na\r\n", 11, 'x', 65537, "", 0, &n);
    expect_error(NULL, false, b, n, NULL, 0, RESP_ERR_BULK_TOO_BIG, E_BULK_BIG);
    free(b);
    /* '\r' at offset 65536 of the line: a bulk line (an invalid one). */
    b = build("*1\r\n$", 5, '1', 65535, "\r", 1, &n);
    expect_more(NULL, false, b, n, NULL, 0);
    free(b);
    b = build("*1\r\n$", 5, '1', 65535, "\r\n", 2, &n);
    expect_error(NULL, false, b, n, NULL, 0, RESP_ERR_BULK_LEN, E_BULK_LEN);
    free(b);
}

Test(mbulk, count_lines_small_inline_max)
{
    resp_limits l = limits_with(8, 0, 0);
    expect_more(&l, false, LIT("*1234567"), NULL, 0);
    expect_error(&l, false, LIT("*12345678"), NULL, 0, RESP_ERR_MBULK_TOO_BIG, E_MBULK_BIG);
    expect_error(&l, false, LIT("*123456789012"), NULL, 0, RESP_ERR_MBULK_TOO_BIG, E_MBULK_BIG);
    expect_more(&l, false, LIT("*1234567\r"), NULL, 0);
    expect_more(&l, false, LIT("*1234567\r\n"), NULL, 0);
    expect_error(&l, false, LIT("*0123456\r\n"), NULL, 0, RESP_ERR_MBULK_LEN, E_MBULK_LEN);

    expect_more(&l, false, LIT("*1\r\n$1234567"), NULL, 0);
    expect_error(&l, false, LIT("*1\r\n$12345678"), NULL, 0, RESP_ERR_BULK_TOO_BIG, E_BULK_BIG);
    expect_more(&l, false, LIT("*1\r\n$1234567\r\n"), NULL, 0);
    static const ecmd c[] = {MB(4, 0), MB(11, 1, A("x"))};
    expect_more(&l, false, LIT("*0\r\n*1\r\n$1\r\nx\r\n*1234567"), c, 2);
    expect_error(&l, false, LIT("*0\r\n*1\r\n$1\r\nx\r\n*12345678"), c, 2,
                 RESP_ERR_MBULK_TOO_BIG, E_MBULK_BIG);
}

/* '\r' just past the inline_max + 1 bytes Redis would look at in one read:
 * whatever keel decides, parser.h promises the same result for every
 * chunking ("keel decides them by the bytes alone"). */
Test(mbulk, count_line_past_limit_is_chunking_independent)
{
    resp_limits l = limits_with(8, 0, 0);
    expect_chunking_independent(&l, false, LIT("*12345678\r\n"));
    expect_chunking_independent(&l, false, LIT("*123456789\r\n"));
}

Test(mbulk, bulk_line_past_limit_is_chunking_independent)
{
    resp_limits l = limits_with(8, 0, 0);
    expect_chunking_independent(&l, false, LIT("*1\r\nxxxxxxxx\r\n"));
    expect_chunking_independent(&l, false, LIT("*1\r\n$12345678\r\n"));
    expect_chunking_independent(&l, false, LIT("*1\r\n$123456789\r\n"));
}

Test(inline, line_past_limit_is_chunking_independent)
{
    resp_limits l = limits_with(8, 0, 0);
    expect_chunking_independent(&l, false, LIT("abcdefghi\r\n"));
    expect_chunking_independent(&l, false, LIT("abcdefghij\n"));
    expect_chunking_independent(&l, false, LIT("abcdefgh\r\n"));
}

/* The same with the default 64 KiB limit, in a few chunkings. */
static void check_64k_sampled(const char *prefix, size_t plen, const char *suffix, size_t slen)
{
    size_t n;
    char *b = build(prefix, plen, '1', 65536, suffix, slen, &n);
    tres whole, r;
    tparse_whole(NULL, false, b, n, &whole);
    size_t cuts[] = {1, plen + 1000, 65536, 65537, 65538, n - 1};
    char what[64];
    for (size_t i = 0; i < NELEM(cuts); i++) {
        tparse(NULL, false, b, n, &cuts[i], 1, &r);
        snprintf(what, sizeof what, "split at %zu vs whole", cuts[i]);
        tres_assert_same(&whole, &r, what);
        tres_free(&r);
    }
    tparse_step(NULL, false, b, n, 4096, &r);
    tres_assert_same(&whole, &r, "4096-byte chunks vs whole");
    tres_free(&r);
    tres_free(&whole);
    free(b);
}

Test(mbulk, count_line_past_default_limit_is_chunking_independent)
{
    /* "*" + 65536 digits + "\r\n": '\r' at offset 65537 */
    check_64k_sampled("*", 1, "\r\n", 2);
}

Test(mbulk, bulk_line_past_default_limit_is_chunking_independent)
{
    check_64k_sampled("*1\r\n$", 5, "\r\n", 2);
}

Test(inline, line_past_default_limit_is_chunking_independent)
{
    check_64k_sampled("", 0, "\r\n", 2);
}

/* ===================================================================== */
/* Unauthenticated limits                                                 */
/* ===================================================================== */

Test(auth, multibulk_count)
{
    kbuf b = KBUF_INIT;
    kbuf_append(&b, "*10\r\n", 5);
    for (int i = 0; i < 10; i++)
        kbuf_append(&b, "$1\r\nx\r\n", 7);
    ecmd c[] = {MB(75, 10, A("x"), A("x"), A("x"), A("x"), A("x"), A("x"), A("x"), A("x"),
                   A("x"), A("x"))};
    expect_more(NULL, true, b.data, b.len, c, 1);
    kbuf_free(&b);

    expect_more(NULL, true, LIT("*10\r\n"), NULL, 0);
    expect_error(NULL, true, LIT("*11\r\n"), NULL, 0, RESP_ERR_UNAUTH_MBULK, E_UNAUTH_MBULK);
    expect_error(NULL, true, LIT("*2147483647\r\n"), NULL, 0, RESP_ERR_UNAUTH_MBULK,
                 E_UNAUTH_MBULK);
    /* Without auth_required, 11 is fine. */
    expect_more(NULL, false, LIT("*11\r\n"), NULL, 0);
    /* Empty commands are still empty commands. */
    static const ecmd e[] = {MB(5, 0), MB(4, 0)};
    expect_more(NULL, true, LIT("*-1\r\n*0\r\n"), e, 2);
}

Test(auth, invalid_count_takes_precedence)
{
    expect_error(NULL, true, LIT("*2147483648\r\n"), NULL, 0, RESP_ERR_MBULK_LEN, E_MBULK_LEN);
    expect_error(NULL, true, LIT("*99999999999999999999\r\n"), NULL, 0, RESP_ERR_MBULK_LEN,
                 E_MBULK_LEN);
    expect_error(NULL, true, LIT("*011\r\n"), NULL, 0, RESP_ERR_MBULK_LEN, E_MBULK_LEN);
    expect_error(NULL, true, LIT("*abc\r\n"), NULL, 0, RESP_ERR_MBULK_LEN, E_MBULK_LEN);
}

Test(auth, bulk_length)
{
    size_t n;
    char *b = build("*1\r\n$16384\r\n", 12, 'v', 16384, "\r\n", 2, &n);
    ecmd c[] = {MB(n, 1, {b + 12, 16384})};
    expect_more(NULL, true, b, n, c, 1);
    free(b);

    expect_more(NULL, true, LIT("*1\r\n$16384\r\n"), NULL, 0);
    expect_error(NULL, true, LIT("*1\r\n$16385\r\n"), NULL, 0, RESP_ERR_UNAUTH_BULK,
                 E_UNAUTH_BULK);
    expect_error(NULL, true, LIT("*2\r\n$1\r\na\r\n$100000\r\n"), NULL, 0, RESP_ERR_UNAUTH_BULK,
                 E_UNAUTH_BULK);
    expect_more(NULL, false, LIT("*1\r\n$16385\r\n"), NULL, 0);
}

Test(auth, invalid_bulk_length_takes_precedence)
{
    expect_error(NULL, true, LIT("*1\r\n$-1\r\n"), NULL, 0, RESP_ERR_BULK_LEN, E_BULK_LEN);
    expect_error(NULL, true, LIT("*1\r\n$99999999999999999999\r\n"), NULL, 0, RESP_ERR_BULK_LEN,
                 E_BULK_LEN);
    expect_error(NULL, true, LIT("*1\r\n$536870913\r\n"), NULL, 0, RESP_ERR_BULK_LEN,
                 E_BULK_LEN);
    resp_limits l = limits_with(0, 10, 0);
    expect_error(&l, true, LIT("*1\r\n$16385\r\n"), NULL, 0, RESP_ERR_BULK_LEN, E_BULK_LEN);
    expect_error(&l, true, LIT("*1\r\n$11\r\n"), NULL, 0, RESP_ERR_BULK_LEN, E_BULK_LEN);
}

/* ===================================================================== */
/* client-query-buffer-limit                                              */
/* ===================================================================== */

Test(query, limit_at_and_past_bound)
{
    /* "*1\r\n$5\r\nhello\r\n" is 15 bytes. */
    resp_limits l = limits_with(0, 0, 15);
    static const ecmd c[] = {MB(15, 1, A("hello")), MB(15, 1, A("hello"))};
    /* The limit is per command: two of them in one buffer are fine. */
    expect_more(&l, false, LIT("*1\r\n$5\r\nhello\r\n*1\r\n$5\r\nhello\r\n"), c, 2);

    l.query_max = 14;
    expect_error(&l, false, LIT("*1\r\n$5\r\nhello\r\n"), NULL, 0, RESP_ERR_QUERY_LIMIT, NULL);
    /* Known as soon as the length is read, before the data arrives. */
    expect_error(&l, false, LIT("*1\r\n$5\r\n"), NULL, 0, RESP_ERR_QUERY_LIMIT, NULL);
    expect_more(&l, false, LIT("*1\r\n$5\r"), NULL, 0);
    static const ecmd d[] = {MB(11, 1, A("a"))};
    expect_error(&l, false, LIT("*1\r\n$1\r\na\r\n*1\r\n$5\r\n"), d, 1, RESP_ERR_QUERY_LIMIT,
                 NULL);
}

Test(query, inline_requests_count_too)
{
    /* "SET a 123456\r\n" is 14 bytes: the limit covers inline lines as
     * well, decided by the bytes alone. */
    resp_limits l = limits_with(0, 0, 14);
    expect_chunking_independent(&l, false, LIT("SET a 123456\r\n"));
    expect_error(&l, false, LIT("SET a 1234567\r\n"), NULL, 0, RESP_ERR_QUERY_LIMIT, NULL);
    expect_error(&l, false, LIT("SET a 123456789"), NULL, 0, RESP_ERR_QUERY_LIMIT, NULL);
    expect_more(&l, false, LIT("SET a 12345678"), NULL, 0);
    expect_more(&l, false, LIT("SET a 12345"), NULL, 0);
}

Test(query, offset_counts_from_command_start)
{
    /* 4 + 9 + 5 = 18 bytes before the data of the second argument. */
    resp_limits l = limits_with(0, 0, 100);
    size_t n;
    char *b = build("*2\r\n$3\r\nfoo\r\n$80\r\n", 18, 'z', 80, "\r\n", 2, &n);
    cr_assert_eq(n, (size_t)100);
    ecmd c[] = {MB(100, 2, A("foo"), {b + 18, 80})};
    expect_more(&l, false, b, n, c, 1);
    free(b);
    expect_error(&l, false, LIT("*2\r\n$3\r\nfoo\r\n$81\r\n"), NULL, 0, RESP_ERR_QUERY_LIMIT,
                 NULL);
    /* After a previous command in the buffer: still per command. */
    b = build("*0\r\n*2\r\n$3\r\nfoo\r\n$80\r\n", 22, 'z', 80, "\r\n", 2, &n);
    ecmd d[] = {MB(4, 0), MB(100, 2, A("foo"), {b + 22, 80})};
    expect_more(&l, false, b, n, d, 2);
    free(b);
}

Test(query, error_has_no_reply_text)
{
    resp_limits l = limits_with(0, 0, 10);
    resp_parser p;
    resp_parser_init(&p, &l);
    resp_command cmd;
    cr_assert_eq(resp_parse(&p, "*1\r\n$5\r\n", 8, &cmd), RESP_ERROR);
    cr_assert_eq(p.err, RESP_ERR_QUERY_LIMIT);
    cr_assert_null(resp_parser_error(&p));
    cr_assert_eq(resp_parse(&p, "PING\r\n", 6, &cmd), RESP_ERROR);
    resp_parser_free(&p);
}

/* ===================================================================== */
/* Inline commands                                                        */
/* ===================================================================== */

typedef struct inline_case {
    const char *in;
    size_t n;
    bool bad;
    int argc;
    earg argv[6];
} inline_case;

#define OKC(s, argc_, ...) {(s), sizeof(s) - 1, false, (argc_), {__VA_ARGS__}}
#define BAD(s) {(s), sizeof(s) - 1, true, 0, {{NULL, 0}}}

static const inline_case inline_cases[] = {
    OKC("PING\r\n", 1, A("PING")),
    OKC("PING\n", 1, A("PING")),
    OKC("  SET   k   v  \n", 3, A("SET"), A("k"), A("v")),
    OKC("\tSET\tk\tv\t\r\n", 3, A("SET"), A("k"), A("v")),
    OKC("set k \"hello world\"\n", 3, A("set"), A("k"), A("hello world")),
    /* double quotes: \xHH */
    OKC("\"\\x41\\x62\\x7a\\x7A\\xff\\x00\"\n", 1, A("Abzz\xff\0")),
    OKC("\"a\\x00b\"\n", 1, A("a\0b")),
    /* \n \r \t \b \a */
    OKC("\"\\n\\r\\t\\b\\a\"\n", 1, A("\n\r\t\b\a")),
    /* \<other> gives the char */
    OKC("\"\\q\\\\\\\"\\'\"\n", 1, A("q\\\"'")),
    OKC("\"\\\\\"\n", 1, A("\\")),
    OKC("\"a\\\"b\"\n", 1, A("a\"b")),
    /* \x without two hex digits is \x -> 'x' */
    OKC("\"\\x4g\\xZZ\\x\"\n", 1, A("x4gxZZx")),
    /* single quotes: only \' */
    OKC("'it\\'s'\n", 1, A("it's")),
    OKC("'a\\nb'\n", 1, A("a\\nb")),
    OKC("'a\"b' \"c'd\"\n", 2, A("a\"b"), A("c'd")),
    OKC("'\"'\n", 1, A("\"")),
    /* quote starting mid-word */
    OKC("abc\"def\"\n", 1, A("abcdef")),
    OKC("abc'd e' x\n", 2, A("abcd e"), A("x")),
    OKC("\"a\" b\"c\"\n", 2, A("a"), A("bc")),
    /* empty quoted arguments */
    OKC("\"\" ''\n", 2, A(""), A("")),
    OKC("SET k \"\"\n", 3, A("SET"), A("k"), A("")),
    /* closing quote followed by any isspace, or the end */
    OKC("\"a\"\tb\n", 2, A("a"), A("b")),
    OKC("\"a\"\vb\n", 2, A("a"), A("b")),
    OKC("\"a\"\rb\n", 2, A("a"), A("b")),
    OKC("\"a\"\r\n", 1, A("a")),
    /* \v and \f: blanks before a word, part of an unquoted word */
    OKC("a\vb c\n", 2, A("a\vb"), A("c")),
    OKC("\v\f a\n", 1, A("a")),
    OKC("a\f\n", 1, A("a\f")),
    OKC(" \t\v\f\r x\n", 1, A("x")),
    /* '\r' inside the line ends an unquoted word, is kept inside quotes */
    OKC("a\rb\n", 2, A("a"), A("b")),
    OKC("\"a\rb\"\n", 1, A("a\rb")),
    OKC("a\r\r\n", 1, A("a")),
    /* a backslash outside quotes is just a byte */
    OKC("a\\nb\n", 1, A("a\\nb")),
    /* NUL ends the word list */
    OKC("SET a b\0c\n", 3, A("SET"), A("a"), A("b")),
    OKC("\0PING\n", 0),
    OKC("  \0 abc\n", 0),
    /* empty and blank lines */
    OKC("\n", 0),
    OKC("\r\n", 0),
    OKC("   \t \r\n", 0),
    /* unbalanced */
    BAD("\"foo\"bar\n"),
    BAD("'foo'bar\n"),
    BAD("\"foo\"\"bar\"\n"),
    BAD("a\"b c\"d\n"),
    BAD("GET \"\"x\n"),
    BAD("\"foo\n"),
    BAD("'foo\n"),
    BAD("\"foo\\\"\n"),
    BAD("'a\\\\'\n"),
    BAD("\"\n"),
    BAD("SET k \"v\r\n"),
    BAD("\"ab\0cd\"\n"),
};

Test(inline, splitargs_rules)
{
    for (size_t i = 0; i < NELEM(inline_cases); i++) {
        const inline_case *t = &inline_cases[i];
        if (t->bad) {
            expect_error(NULL, false, t->in, t->n, NULL, 0, RESP_ERR_UNBALANCED, E_UNBALANCED);
        } else {
            ecmd c = {t->argc, {{NULL, 0}}, t->n, true};
            for (int j = 0; j < t->argc; j++)
                c.argv[j] = t->argv[j];
            expect_more(NULL, false, t->in, t->n, &c, 1);
        }
    }
}

Test(inline, splitargs_rules_pipelined)
{
    /* Each case between two other commands: the line ends where it should
     * and the next command is read from the right place. */
    for (size_t i = 0; i < NELEM(inline_cases); i++) {
        const inline_case *t = &inline_cases[i];
        char buf[128];
        memcpy(buf, "*0\r\n", 4);
        memcpy(buf + 4, t->in, t->n);
        memcpy(buf + 4 + t->n, "ECHO x\n", 7);
        size_t n = 4 + t->n + 7;
        if (t->bad) {
            static const ecmd first[] = {MB(4, 0)};
            expect_error(NULL, false, buf, n, first, 1, RESP_ERR_UNBALANCED, E_UNBALANCED);
        } else {
            ecmd c[3] = {MB(4, 0), {t->argc, {{NULL, 0}}, t->n, true},
                         IL(7, 2, A("ECHO"), A("x"))};
            for (int j = 0; j < t->argc; j++)
                c[1].argv[j] = t->argv[j];
            expect_more(NULL, false, buf, n, c, 3);
        }
    }
}

Test(inline, waits_for_newline)
{
    expect_more(NULL, false, LIT("PING"), NULL, 0);
    expect_more(NULL, false, LIT("PING\r"), NULL, 0);
    expect_more(NULL, false, LIT("\"unterminated"), NULL, 0);
    expect_more(NULL, false, LIT(" "), NULL, 0);
    static const ecmd c[] = {IL(6, 1, A("PING"))};
    expect_more(NULL, false, LIT("PING\r\nPI"), c, 1);
}

Test(inline, many_args)
{
    kbuf b = KBUF_INIT;
    enum { N = 1000 };
    for (int i = 0; i < N; i++) {
        char w[16];
        int n = snprintf(w, sizeof w, "%sw%d", i ? " " : "", i);
        kbuf_append(&b, w, (size_t)n);
    }
    kbuf_append(&b, "\r\n", 2);
    tres r;
    tparse_whole(NULL, false, b.data, b.len, &r);
    cr_assert_eq(r.ncmds, (size_t)1);
    cr_assert_eq(r.cmds[0].argc, N);
    cr_assert(r.cmds[0].is_inline);
    cr_assert_eq(r.cmds[0].len, b.len);
    for (int i = 0; i < N; i++) {
        char w[16];
        int n = snprintf(w, sizeof w, "w%d", i);
        cr_assert(r.cmds[0].argv[i].n == (size_t)n && memcmp(r.cmds[0].argv[i].p, w, (size_t)n) == 0,
                  "arg %d", i);
    }
    tres_free(&r);
    kbuf_free(&b);
}

Test(inline, inline_max_default_64k)
{
    size_t n;
    /* exactly 65536 bytes + "\n": accepted */
    char *b = build("", 0, 'a', 65536, "\n", 1, &n);
    ecmd c[] = {IL(65537, 1, {b, 65536})};
    expect_more(NULL, false, b, n, c, 1);
    free(b);
    /* 65535 bytes + "\r\n": accepted */
    b = build("", 0, 'a', 65535, "\r\n", 2, &n);
    ecmd d[] = {IL(65537, 1, {b, 65535})};
    expect_more(NULL, false, b, n, d, 1);
    free(b);
    /* 65536 bytes without newline: waiting */
    b = build("", 0, 'a', 65536, "", 0, &n);
    expect_more(NULL, false, b, n, NULL, 0);
    free(b);
    /* 65537 bytes without newline: too big */
    b = build("", 0, 'a', 65537, "", 0, &n);
    expect_error(NULL, false, b, n, NULL, 0, RESP_ERR_INLINE_TOO_BIG, E_INLINE_BIG);
    free(b);
    /* 65537 bytes whose '\n' is there too: too big (by bytes, not reads) */
    b = build("", 0, 'a', 65537, "\n", 1, &n);
    expect_error(NULL, false, b, n, NULL, 0, RESP_ERR_INLINE_TOO_BIG, E_INLINE_BIG);
    free(b);
    /* 65536 bytes + "\r\n": the '\n' is byte 65538: too big */
    b = build("", 0, 'a', 65536, "\r\n", 2, &n);
    expect_error(NULL, false, b, n, NULL, 0, RESP_ERR_INLINE_TOO_BIG, E_INLINE_BIG);
    free(b);
    /* Counted from this command's start. */
    static const ecmd ping[] = {IL(6, 1, A("PING"))};
    b = build("PING\r\n", 6, 'a', 65536, "", 0, &n);
    expect_more(NULL, false, b, n, ping, 1);
    free(b);
    b = build("PING\r\n", 6, 'a', 65537, "", 0, &n);
    expect_error(NULL, false, b, n, ping, 1, RESP_ERR_INLINE_TOO_BIG, E_INLINE_BIG);
    free(b);
    /* A long line of several words. */
    b = build("SET k ", 6, 'v', 65530, "\n", 1, &n);
    ecmd e[] = {IL(65537, 3, A("SET"), A("k"), {b + 6, 65530})};
    expect_more(NULL, false, b, n, e, 1);
    free(b);
}

Test(inline, inline_max_small)
{
    resp_limits l = limits_with(8, 0, 0);
    static const ecmd c1[] = {IL(9, 1, A("abcdefgh"))};
    expect_more(&l, false, LIT("abcdefgh\n"), c1, 1);
    static const ecmd c2[] = {IL(9, 1, A("abcdefg"))};
    expect_more(&l, false, LIT("abcdefg\r\n"), c2, 1);
    expect_more(&l, false, LIT("abcdefgh"), NULL, 0);
    expect_error(&l, false, LIT("abcdefghi"), NULL, 0, RESP_ERR_INLINE_TOO_BIG, E_INLINE_BIG);
    expect_error(&l, false, LIT("abcdefghi\n"), NULL, 0, RESP_ERR_INLINE_TOO_BIG, E_INLINE_BIG);
    expect_error(&l, false, LIT("abcdefgh\r\n"), NULL, 0, RESP_ERR_INLINE_TOO_BIG, E_INLINE_BIG);
    expect_error(&l, false, LIT("a b c d e f\n"), NULL, 0, RESP_ERR_INLINE_TOO_BIG,
                 E_INLINE_BIG);
    static const ecmd c3[] = {IL(6, 1, A("PING")), IL(8, 4, A("a"), A("b"), A("c"), A("d"))};
    expect_more(&l, false, LIT("PING\r\na b c d\n"), c3, 2);
    static const ecmd c4[] = {IL(6, 1, A("PING"))};
    expect_error(&l, false, LIT("PING\r\na b c d e\n"), c4, 1, RESP_ERR_INLINE_TOO_BIG,
                 E_INLINE_BIG);
}

/* ===================================================================== */
/* Errors: sticky, ordering, reset                                        */
/* ===================================================================== */

Test(errors, commands_before_error_come_first)
{
    static const ecmd c[] = {
        IL(6, 1, A("PING")),
        MB(13, 1, A("foo")),
        MB(4, 0),
    };
    expect_error(NULL, false, LIT("PING\r\n*1\r\n$3\r\nfoo\r\n*0\r\n*x\r\nPING\r\n"), c, 3,
                 RESP_ERR_MBULK_LEN, E_MBULK_LEN);
    expect_error(NULL, false, LIT("PING\r\n*1\r\n$3\r\nfoo\r\n*0\r\n\"x\r\nPING\r\n"), c, 3,
                 RESP_ERR_UNBALANCED, E_UNBALANCED);
}

Test(errors, sticky_and_reset)
{
    resp_parser p;
    resp_parser_init(&p, NULL);
    resp_command cmd;
    cr_assert_null(resp_parser_error(&p));
    cr_assert_eq(resp_parse(&p, "*1\r\n$x\r\n", 8, &cmd), RESP_ERROR);
    cr_assert_eq(p.err, RESP_ERR_BULK_LEN);
    cr_assert_str_eq(resp_parser_error(&p), E_BULK_LEN);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(resp_parse(&p, "PING\r\n", 6, &cmd), RESP_ERROR);
        cr_assert_eq(resp_parse(&p, "*0\r\n", 4, &cmd), RESP_ERROR);
        cr_assert_eq(resp_parse(&p, "", 0, &cmd), RESP_ERROR);
    }
    cr_assert_str_eq(resp_parser_error(&p), E_BULK_LEN);

    resp_parser_reset(&p);
    cr_assert_eq(p.err, RESP_ERR_NONE);
    cr_assert_null(resp_parser_error(&p));
    cr_assert_eq(resp_parse(&p, "PING\r\n", 6, &cmd), RESP_OK);
    cr_assert_eq(cmd.argc, 1);
    cr_assert_eq(cmd.len, (size_t)6);
    cr_assert_eq(memcmp(cmd.argv[0].ptr, "PING", 4), 0);
    resp_parser_free(&p);
}

Test(errors, reset_forgets_command_in_progress)
{
    resp_parser p;
    resp_parser_init(&p, NULL);
    resp_command cmd;
    static const char part[] = "*3\r\n$3\r\nSET\r\n$1\r\nk";
    cr_assert_eq(resp_parse(&p, part, sizeof part - 1, &cmd), RESP_MORE);
    resp_parser_reset(&p);
    static const char next[] = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
    cr_assert_eq(resp_parse(&p, next, sizeof next - 1, &cmd), RESP_OK);
    cr_assert_eq(cmd.argc, 2);
    cr_assert_eq(cmd.len, sizeof next - 1);
    cr_assert_eq(cmd.argv[0].len, (size_t)3);
    cr_assert_eq(memcmp(cmd.argv[0].ptr, "GET", 3), 0);
    cr_assert_eq(cmd.argv[1].len, (size_t)1);
    cr_assert_eq(memcmp(cmd.argv[1].ptr, "k", 1), 0);

    /* Mid inline line too. */
    cr_assert_eq(resp_parse(&p, "SET a", 5, &cmd), RESP_MORE);
    resp_parser_reset(&p);
    cr_assert_eq(resp_parse(&p, "*1\r\n$4\r\nPING\r\n", 14, &cmd), RESP_OK);
    cr_assert_eq(cmd.argc, 1);
    cr_assert_not(cmd.is_inline);
    resp_parser_free(&p);
}

Test(errors, parser_reusable_after_free_and_init)
{
    resp_parser p;
    for (int i = 0; i < 3; i++) {
        resp_parser_init(&p, NULL);
        resp_command cmd;
        cr_assert_eq(resp_parse(&p, "GET k\r\n", 7, &cmd), RESP_OK);
        cr_assert_eq(cmd.argc, 2);
        cr_assert(cmd.is_inline);
        resp_parser_free(&p);
    }
}

/* ===================================================================== */
/* Incremental parsing                                                    */
/* ===================================================================== */

typedef struct piece {
    const char *s;
    size_t n;
    ecmd c;
} piece;

#define PC(s, c_) {(s), sizeof(s) - 1, c_}

/* A pipelined stream of both forms, with empty commands and binary data. */
static const piece mixed[] = {
    PC("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$7\r\nva\r\nl\0e\r\n",
       MB(0, 3, A("SET"), A("key"), A("va\r\nl\0e"))),
    PC("PING\r\n", IL(0, 1, A("PING"))),
    PC("*0\r\n", MB(0, 0)),
    PC("\r\n", IL(0, 0)),
    PC("*-1\r\n", MB(0, 0)),
    PC("set k \"a b\"\n", IL(0, 3, A("set"), A("k"), A("a b"))),
    PC("*1\r\n$0\r\n\r\n", MB(0, 1, A(""))),
    PC("  \n", IL(0, 0)),
    PC("*2\r\n$4\r\necho\r\n$3\r\na\0b\r\n", MB(0, 2, A("echo"), A("a\0b"))),
    PC("\n", IL(0, 0)),
    PC("ECHO 'x\\'y' \"\\x41\\n\"\r\n", IL(0, 3, A("ECHO"), A("x'y"), A("A\n"))),
    PC("*1\r\n$2\r\n\r\n\r\n", MB(0, 1, A("\r\n"))),
    PC("*-5\r\n", MB(0, 0)),
    PC("GET k\n", IL(0, 2, A("GET"), A("k"))),
};

static char *mixed_stream(size_t *len, ecmd *cmds)
{
    size_t n = 0;
    for (size_t i = 0; i < NELEM(mixed); i++)
        n += mixed[i].n;
    char *b = t_xmalloc(n);
    size_t at = 0;
    for (size_t i = 0; i < NELEM(mixed); i++) {
        memcpy(b + at, mixed[i].s, mixed[i].n);
        at += mixed[i].n;
        cmds[i] = mixed[i].c;
        cmds[i].len = mixed[i].n;
    }
    *len = n;
    return b;
}

Test(incremental, mixed_stream_every_split)
{
    ecmd cmds[NELEM(mixed)];
    size_t n;
    char *b = mixed_stream(&n, cmds);
    eres e = {cmds, NELEM(mixed), RESP_MORE, RESP_ERR_NONE, NULL};
    expect_stream(NULL, false, b, n, &e);

    /* Every pair of split points (three chunks). */
    tres r;
    char what[64];
    for (size_t i = 1; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            size_t cuts[2] = {i, j};
            tparse(NULL, false, b, n, cuts, 2, &r);
            snprintf(what, sizeof what, "split at %zu and %zu", i, j);
            tres_assert_expected(&e, &r, what);
            tres_free(&r);
        }
    free(b);
}

Test(incremental, mixed_stream_then_error_every_split)
{
    ecmd cmds[NELEM(mixed)];
    size_t n;
    char *b0 = mixed_stream(&n, cmds);
    static const char tail[] = "*2\r\n$3\r\nfoo\r\n$-2\r\n";
    char *b = t_xmalloc(n + sizeof tail);
    memcpy(b, b0, n);
    memcpy(b + n, tail, sizeof tail - 1);
    eres e = {cmds, NELEM(mixed), RESP_ERROR, RESP_ERR_BULK_LEN, E_BULK_LEN};
    expect_stream(NULL, false, b, n + sizeof tail - 1, &e);
    free(b);
    free(b0);
}

static void check_big_value(size_t vlen, size_t step)
{
    static const char head[] = "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n";
    char line[32];
    int ll = snprintf(line, sizeof line, "$%zu\r\n", vlen);
    kbuf b = KBUF_INIT;
    kbuf_append(&b, head, sizeof head - 1);
    kbuf_append(&b, line, (size_t)ll);
    size_t voff = b.len;
    trng rng;
    trng_seed(&rng, vlen);
    for (size_t i = 0; i < vlen; i++) {
        /* binary, with plenty of \r, \n and \0 */
        uint64_t x = trng_next(&rng);
        char ch = (x & 3) == 0 ? "\r\n\0*$"[(x >> 8) % 5] : (char)(x >> 16);
        kbuf_putc(&b, ch);
    }
    kbuf_append(&b, "\r\nPING\r\n", 8);
    size_t cmdlen = voff + vlen + 2;

    ecmd c[2] = {MB(cmdlen, 3, A("SET"), A("big"), {b.data + voff, vlen}), IL(6, 1, A("PING"))};
    eres e = {c, 2, RESP_MORE, RESP_ERR_NONE, NULL};
    tres r;
    tparse_step(NULL, false, b.data, b.len, step, &r);
    tres_assert_expected(&e, &r, "fixed-size chunks");
    cr_assert_geq(r.calls, b.len / step, "too few calls: %zu", r.calls);
    tres_free(&r);
    tparse_whole(NULL, false, b.data, b.len, &r);
    tres_assert_expected(&e, &r, "whole");
    tres_free(&r);
    kbuf_free(&b);
}

Test(incremental, one_megabyte_value_in_1000_byte_chunks)
{
    check_big_value(1024 * 1024, 1000);
}

Test(incremental, value_byte_by_byte)
{
    check_big_value(20000, 1);
}

Test(incremental, same_parser_across_moved_buffers_keeps_progress)
{
    /* The driver protocol by hand: each call gets the command from its
     * start at a new address, with a few more bytes. */
    static const char in[] = "*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n";
    size_t n = sizeof in - 1;
    resp_parser p;
    resp_parser_init(&p, NULL);
    resp_command cmd;
    char *old = NULL;
    for (size_t k = 1; k <= n; k++) {
        char *cur = t_xmalloc(k);
        memcpy(cur, in, k);
        if (old) {
            memset(old, '#', k - 1);
            free(old);
        }
        old = cur;
        int r = resp_parse(&p, cur, k, &cmd);
        if (k < n) {
            cr_assert_eq(r, RESP_MORE, "prefix of %zu bytes gave %d", k, r);
        } else {
            cr_assert_eq(r, RESP_OK);
            cr_assert_eq(cmd.argc, 2);
            cr_assert_eq(cmd.len, n);
            cr_assert_eq(cmd.argv[0].ptr, cur + 8);
            cr_assert_eq(cmd.argv[1].ptr, cur + 19);
            cr_assert_eq(memcmp(cmd.argv[0].ptr, "hello", 5), 0);
            cr_assert_eq(memcmp(cmd.argv[1].ptr, "world", 5), 0);
        }
    }
    free(old);
    resp_parser_free(&p);
}

/* ===================================================================== */
/* Round trip through the writer                                          */
/* ===================================================================== */

typedef struct gen {
    int n;
    int *argc;
    resp_slice (*argv)[8];
    char *store;
} gen;

static void gen_commands(gen *g, int n, uint64_t seed, kbuf *out)
{
    trng rng;
    trng_seed(&rng, seed);
    g->n = n;
    g->argc = t_xmalloc((size_t)n * sizeof *g->argc);
    g->argv = t_xmalloc((size_t)n * sizeof *g->argv);
    g->store = t_xmalloc((size_t)n * 8 * 300);
    for (int i = 0; i < n; i++) {
        g->argc[i] = (int)trng_range(&rng, 1, 8);
        for (int j = 0; j < g->argc[i]; j++) {
            char *s = g->store + ((size_t)i * 8 + (size_t)j) * 300;
            size_t len = trng_range(&rng, 0, 300);
            if ((trng_next(&rng) & 15) == 0)
                len = 0; /* empty arguments, often */
            for (size_t k = 0; k < len; k++) {
                uint64_t x = trng_next(&rng);
                s[k] = (x & 7) == 0 ? "\r\n\0*$ \"'"[(x >> 8) % 8] : (char)(x >> 24);
            }
            g->argv[i][j].ptr = s;
            g->argv[i][j].len = len;
        }
        resp_add_command(out, g->argc[i], g->argv[i]);
    }
}

static void gen_free(gen *g)
{
    free(g->argc);
    free(g->argv);
    free(g->store);
}

static void check_gen(const gen *g, const tres *r, size_t total, const char *what)
{
    cr_assert_eq(r->ncmds, (size_t)g->n, "%s: %zu commands, expected %d", what, r->ncmds, g->n);
    size_t sum = 0;
    for (int i = 0; i < g->n; i++) {
        const tcmd *c = &r->cmds[i];
        cr_assert_eq(c->argc, g->argc[i], "%s: command %d argc", what, i);
        cr_assert_not(c->is_inline, "%s: command %d is_inline", what, i);
        for (int j = 0; j < c->argc; j++)
            cr_assert(c->argv[j].n == g->argv[i][j].len &&
                          memcmp(c->argv[j].p, g->argv[i][j].ptr, c->argv[j].n) == 0,
                      "%s: command %d arg %d differs", what, i, j);
        sum += c->len;
    }
    cr_assert_eq(sum, total, "%s: commands cover %zu of %zu bytes", what, sum, total);
    cr_assert_eq(r->final, RESP_MORE, "%s: final %d (%s)", what, r->final, r->msg);
    cr_assert_eq(r->leftover, (size_t)0, "%s: leftover", what);
}

Test(roundtrip, random_commands_whole_and_chunked)
{
    kbuf b = KBUF_INIT;
    gen g;
    gen_commands(&g, 400, 0xC0FFEE, &b);
    tres r;
    tparse_whole(NULL, false, b.data, b.len, &r);
    check_gen(&g, &r, b.len, "whole");
    tres_free(&r);

    trng rng;
    trng_seed(&rng, 42);
    static const size_t maxchunks[] = {2, 7, 16, 64, 333, 1500, 5000, 100000};
    for (size_t k = 0; k < NELEM(maxchunks); k++) {
        char what[64];
        snprintf(what, sizeof what, "random chunks up to %zu", maxchunks[k]);
        tparse_random(NULL, false, b.data, b.len, &rng, maxchunks[k], &r);
        check_gen(&g, &r, b.len, what);
        tres_free(&r);
    }
    gen_free(&g);
    kbuf_free(&b);
}

Test(roundtrip, random_commands_byte_by_byte)
{
    kbuf b = KBUF_INIT;
    gen g;
    gen_commands(&g, 40, 0xBADC0DE, &b);
    tres r;
    tparse_step(NULL, false, b.data, b.len, 1, &r);
    check_gen(&g, &r, b.len, "byte by byte");
    tres_free(&r);
    gen_free(&g);
    kbuf_free(&b);
}

Test(roundtrip, random_commands_many_seeds)
{
    trng rng;
    trng_seed(&rng, 99);
    for (uint64_t seed = 1; seed <= 20; seed++) {
        kbuf b = KBUF_INIT;
        gen g;
        gen_commands(&g, 30, seed, &b);
        tres r;
        tparse_whole(NULL, false, b.data, b.len, &r);
        check_gen(&g, &r, b.len, "whole");
        tres_free(&r);
        tparse_random(NULL, false, b.data, b.len, &rng, 1 + seed * 37, &r);
        check_gen(&g, &r, b.len, "random chunks");
        tres_free(&r);
        gen_free(&g);
        kbuf_free(&b);
    }
}
