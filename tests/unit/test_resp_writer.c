/* Unit tests for the RESP2 reply writer (core/resp/writer.h): the exact
 * bytes of every reply type, Redis's addReplyError rules, deferred array
 * headers, and no reallocation once the buffer has its working size. */
#include <criterion/criterion.h>

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/resp/parser.h"
#include "core/resp/writer.h"
#include "core/util/kbuf.h"
#include "helpers.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void assert_bytes(const kbuf *b, const char *want, size_t n, const char *what)
{
    cr_assert_eq(b->len, n, "%s: %zu bytes '%.*s', expected %zu '%.*s'", what, b->len,
                 (int)b->len, b->data ? b->data : "", n, (int)n, want);
    if (n)
        cr_assert_eq(memcmp(b->data, want, n), 0, "%s: bytes '%.*s', expected '%.*s'", what,
                     (int)b->len, b->data, (int)n, want);
}

#define ASSERT_BYTES(b, lit) assert_bytes((b), (lit), sizeof(lit) - 1, #lit)

/* ---- simple strings ---- */

Test(writer, simple)
{
    kbuf b = KBUF_INIT;
    resp_add_simple(&b, "OK", 2);
    ASSERT_BYTES(&b, "+OK\r\n");
    kbuf_clear(&b);
    resp_add_simple(&b, "PONGXX", 4); /* only len bytes */
    ASSERT_BYTES(&b, "+PONG\r\n");
    kbuf_clear(&b);
    resp_add_simple_cstr(&b, "QUEUED");
    ASSERT_BYTES(&b, "+QUEUED\r\n");
    kbuf_clear(&b);
    resp_add_simple_cstr(&b, "");
    ASSERT_BYTES(&b, "+\r\n");
    kbuf_free(&b);
}

#ifndef NDEBUG /* assertions are on (b_ndebug=false, the default) */
Test(writer, simple_with_crlf_is_asserted, .signal = SIGABRT)
{
    kbuf b = KBUF_INIT;
    resp_add_simple(&b, "a\r\nb", 4);
}
#endif

Test(writer, appends_after_existing_bytes)
{
    kbuf b = KBUF_INIT;
    kbuf_append(&b, "xyz", 3);
    resp_add_int(&b, 1);
    resp_add_simple_cstr(&b, "OK");
    resp_add_null(&b);
    ASSERT_BYTES(&b, "xyz:1\r\n+OK\r\n$-1\r\n");
    kbuf_free(&b);
}

/* ---- errors ---- */

Test(writer, error_prefix_rules)
{
    static const struct {
        const char *in;
        const char *out;
    } t[] = {
        {"x", "-ERR x\r\n"},
        {"ERR", "-ERR ERR\r\n"},
        {"unknown command 'foo'", "-ERR unknown command 'foo'\r\n"},
        {"-WRONGTYPE Operation against a key holding the wrong kind of value",
         "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
        {"-NOAUTH Authentication required.", "-NOAUTH Authentication required.\r\n"},
        {"-ERR already prefixed", "-ERR already prefixed\r\n"},
        {"Protocol error: invalid bulk length", "-ERR Protocol error: invalid bulk length\r\n"},
        /* embedded CR/LF become spaces */
        {"a\r\nb", "-ERR a  b\r\n"},
        {"a\nb\rc", "-ERR a b c\r\n"},
        {"-ERR a\nb", "-ERR a b\r\n"},
        /* trailing ones are dropped */
        {"x\r\n", "-ERR x\r\n"},
        {"x\n", "-ERR x\r\n"},
        {"x\r", "-ERR x\r\n"},
        {"x\n\r\n\n", "-ERR x\r\n"},
        {"a\r\nb\r\n", "-ERR a  b\r\n"},
        {"-BUSY x\r\n", "-BUSY x\r\n"},
    };
    kbuf b = KBUF_INIT;
    for (size_t i = 0; i < NELEM(t); i++) {
        kbuf_clear(&b);
        resp_add_error_cstr(&b, t[i].in);
        assert_bytes(&b, t[i].out, strlen(t[i].out), t[i].in);
        /* The length form, from a buffer that is not NUL-terminated there. */
        size_t n = strlen(t[i].in);
        char *copy = t_xmalloc(n + 5);
        memcpy(copy, t[i].in, n);
        memcpy(copy + n, "JUNK", 4);
        kbuf_clear(&b);
        resp_add_error(&b, copy, n);
        assert_bytes(&b, t[i].out, strlen(t[i].out), t[i].in);
        free(copy);
    }
    kbuf_clear(&b);
    resp_add_error(&b, "xyz", 2);
    ASSERT_BYTES(&b, "-ERR xy\r\n");
    kbuf_free(&b);
}

Test(writer, errorf)
{
    kbuf b = KBUF_INIT;
    resp_add_errorf(&b, "unknown command '%s', with args beginning with: %s", "foo", "");
    ASSERT_BYTES(&b, "-ERR unknown command 'foo', with args beginning with: \r\n");
    kbuf_clear(&b);
    resp_add_errorf(&b, "-NOAUTH %s", "Authentication required.");
    ASSERT_BYTES(&b, "-NOAUTH Authentication required.\r\n");
    kbuf_clear(&b);
    resp_add_errorf(&b, "wrong number of arguments for '%s' command (%d)", "get", -3);
    ASSERT_BYTES(&b, "-ERR wrong number of arguments for 'get' command (-3)\r\n");
    kbuf_clear(&b);
    resp_add_errorf(&b, "%lld\n", LLONG_MAX);
    ASSERT_BYTES(&b, "-ERR 9223372036854775807\r\n");
    kbuf_clear(&b);
    /* A formatted text starting with '-' carries its own code, as in Redis. */
    resp_add_errorf(&b, "%lld", -5LL);
    ASSERT_BYTES(&b, "-5\r\n");
    kbuf_clear(&b);
    resp_add_errorf(&b, "a%sb", "\r\n");
    ASSERT_BYTES(&b, "-ERR a  b\r\n");
    kbuf_clear(&b);
    resp_add_errorf(&b, "%s", "-WRONGTYPE x");
    ASSERT_BYTES(&b, "-WRONGTYPE x\r\n");
    kbuf_clear(&b);
    resp_add_errorf(&b, "100%%");
    ASSERT_BYTES(&b, "-ERR 100%\r\n");
    kbuf_free(&b);
}

Test(writer, errorf_long_text_not_truncated)
{
    char arg[3001];
    for (int i = 0; i < 3000; i++)
        arg[i] = (char)('a' + i % 26);
    arg[3000] = '\0';
    kbuf b = KBUF_INIT;
    resp_add_errorf(&b, "unknown command '%s'", arg);
    char *want = t_xmalloc(3100);
    int n = snprintf(want, 3100, "-ERR unknown command '%s'\r\n", arg);
    assert_bytes(&b, want, (size_t)n, "long errorf");
    free(want);
    kbuf_free(&b);
}

/* ---- integers ---- */

Test(writer, ints)
{
    static const struct {
        long long v;
        const char *out;
    } t[] = {
        {0, ":0\r\n"},
        {1, ":1\r\n"},
        {-1, ":-1\r\n"},
        {9, ":9\r\n"},
        {10, ":10\r\n"},
        {-10, ":-10\r\n"},
        {99, ":99\r\n"},
        {100, ":100\r\n"},
        {123456789, ":123456789\r\n"},
        {-2147483648LL, ":-2147483648\r\n"},
        {4294967296LL, ":4294967296\r\n"},
        {LLONG_MAX, ":9223372036854775807\r\n"},
        {LLONG_MIN, ":-9223372036854775808\r\n"},
        {LLONG_MIN + 1, ":-9223372036854775807\r\n"},
    };
    kbuf b = KBUF_INIT;
    for (size_t i = 0; i < NELEM(t); i++) {
        kbuf_clear(&b);
        resp_add_int(&b, t[i].v);
        assert_bytes(&b, t[i].out, strlen(t[i].out), t[i].out);
    }
    kbuf_free(&b);
}

Test(writer, ll2str)
{
    static const struct {
        long long v;
        const char *s;
    } t[] = {
        {0, "0"},
        {7, "7"},
        {-7, "-7"},
        {10, "10"},
        {-100, "-100"},
        {1000000, "1000000"},
        {999999999999LL, "999999999999"},
        {LLONG_MAX, "9223372036854775807"},
        {LLONG_MIN, "-9223372036854775808"},
    };
    for (size_t i = 0; i < NELEM(t); i++) {
        char dst[32];
        memset(dst, 'Q', sizeof dst);
        size_t n = resp_ll2str(dst, t[i].v);
        cr_assert_eq(n, strlen(t[i].s), "%lld: length %zu", t[i].v, n);
        cr_assert_eq(memcmp(dst, t[i].s, n), 0, "%lld: '%.*s'", t[i].v, (int)n, dst);
        /* Stays within the documented 21 bytes. */
        for (size_t k = 21; k < sizeof dst; k++)
            cr_assert_eq(dst[k], 'Q', "%lld: wrote byte %zu", t[i].v, k);
    }
    /* Agrees with printf over a spread of values. */
    trng rng;
    trng_seed(&rng, 2024);
    for (int i = 0; i < 10000; i++) {
        long long v = (long long)trng_next(&rng);
        if (i % 3 == 1)
            v >>= (trng_next(&rng) % 63);
        char dst[32], want[32];
        size_t n = resp_ll2str(dst, v);
        int m = snprintf(want, sizeof want, "%lld", v);
        cr_assert(n == (size_t)m && memcmp(dst, want, n) == 0, "%lld: '%.*s'", v, (int)n, dst);
    }
}

/* ---- bulk strings ---- */

Test(writer, bulk)
{
    kbuf b = KBUF_INIT;
    resp_add_bulk(&b, "", 0);
    ASSERT_BYTES(&b, "$0\r\n\r\n");
    kbuf_clear(&b);
    resp_add_bulk(&b, "a\0\r\nb", 5);
    ASSERT_BYTES(&b, "$5\r\na\0\r\nb\r\n");
    kbuf_clear(&b);
    resp_add_bulk_cstr(&b, "hello");
    ASSERT_BYTES(&b, "$5\r\nhello\r\n");
    kbuf_clear(&b);
    resp_add_bulk_cstr(&b, "");
    ASSERT_BYTES(&b, "$0\r\n\r\n");
    kbuf_clear(&b);

    /* A larger binary one, every byte value. */
    char v[1000];
    for (int i = 0; i < 1000; i++)
        v[i] = (char)(i * 7);
    resp_add_bulk(&b, v, sizeof v);
    cr_assert_eq(b.len, 7 + 1000 + 2);
    cr_assert_eq(memcmp(b.data, "$1000\r\n", 7), 0);
    cr_assert_eq(memcmp(b.data + 7, v, 1000), 0);
    cr_assert_eq(memcmp(b.data + 1007, "\r\n", 2), 0);
    kbuf_free(&b);
}

Test(writer, bulk_ll)
{
    kbuf b = KBUF_INIT;
    resp_add_bulk_ll(&b, 0);
    ASSERT_BYTES(&b, "$1\r\n0\r\n");
    kbuf_clear(&b);
    resp_add_bulk_ll(&b, -42);
    ASSERT_BYTES(&b, "$3\r\n-42\r\n");
    kbuf_clear(&b);
    resp_add_bulk_ll(&b, 1234567890);
    ASSERT_BYTES(&b, "$10\r\n1234567890\r\n");
    kbuf_clear(&b);
    resp_add_bulk_ll(&b, LLONG_MAX);
    ASSERT_BYTES(&b, "$19\r\n9223372036854775807\r\n");
    kbuf_clear(&b);
    resp_add_bulk_ll(&b, LLONG_MIN);
    ASSERT_BYTES(&b, "$20\r\n-9223372036854775808\r\n");
    kbuf_free(&b);
}

Test(writer, nulls_and_array_headers)
{
    kbuf b = KBUF_INIT;
    resp_add_null(&b);
    ASSERT_BYTES(&b, "$-1\r\n");
    kbuf_clear(&b);
    resp_add_null_array(&b);
    ASSERT_BYTES(&b, "*-1\r\n");
    kbuf_clear(&b);
    resp_add_array(&b, 3);
    ASSERT_BYTES(&b, "*3\r\n");
    kbuf_clear(&b);
    resp_add_array(&b, 0);
    ASSERT_BYTES(&b, "*0\r\n");
    kbuf_clear(&b);
    resp_add_array(&b, 1234567);
    ASSERT_BYTES(&b, "*1234567\r\n");
    kbuf_free(&b);
}

Test(writer, nested_arrays)
{
    kbuf b = KBUF_INIT;
    /* [[1, "a"], nil, [], [[-2]], (nil array)] */
    resp_add_array(&b, 5);
    resp_add_array(&b, 2);
    resp_add_int(&b, 1);
    resp_add_bulk_cstr(&b, "a");
    resp_add_null(&b);
    resp_add_array(&b, 0);
    resp_add_array(&b, 1);
    resp_add_array(&b, 1);
    resp_add_int(&b, -2);
    resp_add_null_array(&b);
    ASSERT_BYTES(&b, "*5\r\n*2\r\n:1\r\n$1\r\na\r\n$-1\r\n*0\r\n*1\r\n*1\r\n:-2\r\n*-1\r\n");
    kbuf_free(&b);
}

/* ---- deferred array headers ---- */

static void check_deferred(long long count)
{
    kbuf b = KBUF_INIT, want = KBUF_INIT;
    size_t mark = resp_add_array_deferred(&b);
    char hdr[32];
    int n = snprintf(hdr, sizeof hdr, "*%lld\r\n", count);
    kbuf_append(&want, hdr, (size_t)n);
    for (long long i = 0; i < count; i++) {
        if (i % 2) {
            resp_add_int(&b, i);
            resp_add_int(&want, i);
        } else {
            resp_add_bulk_ll(&b, i);
            resp_add_bulk_ll(&want, i);
        }
    }
    resp_set_array_deferred(&b, mark, count);
    char what[64];
    snprintf(what, sizeof what, "deferred %lld", count);
    assert_bytes(&b, want.data, want.len, what);
    kbuf_free(&b);
    kbuf_free(&want);
}

Test(writer, deferred_array_counts)
{
    check_deferred(0);
    check_deferred(1);
    check_deferred(5);
    check_deferred(9);
    check_deferred(10);
    check_deferred(100);
    check_deferred(12345);
}

Test(writer, deferred_after_other_replies_and_before_more)
{
    kbuf b = KBUF_INIT;
    resp_add_simple_cstr(&b, "OK");
    size_t mark = resp_add_array_deferred(&b);
    resp_add_bulk_cstr(&b, "x");
    resp_add_bulk_cstr(&b, "y");
    resp_set_array_deferred(&b, mark, 2);
    resp_add_int(&b, 7);
    ASSERT_BYTES(&b, "+OK\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n:7\r\n");
    kbuf_free(&b);
}

Test(writer, deferred_nested)
{
    kbuf b = KBUF_INIT;
    /* outer deferred: [1, inner deferred: ["a", "b", "c"], 2] */
    size_t outer = resp_add_array_deferred(&b);
    resp_add_int(&b, 1);
    size_t inner = resp_add_array_deferred(&b);
    resp_add_bulk_cstr(&b, "a");
    resp_add_bulk_cstr(&b, "b");
    resp_add_bulk_cstr(&b, "c");
    resp_set_array_deferred(&b, inner, 3);
    resp_add_int(&b, 2);
    resp_set_array_deferred(&b, outer, 3);
    ASSERT_BYTES(&b, "*3\r\n:1\r\n*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n:2\r\n");
    kbuf_free(&b);

    /* Deferred inside a plain array, with an empty deferred in it. */
    resp_add_array(&b, 2);
    size_t m1 = resp_add_array_deferred(&b);
    resp_set_array_deferred(&b, m1, 0);
    size_t m2 = resp_add_array_deferred(&b);
    for (int i = 0; i < 11; i++)
        resp_add_null(&b);
    resp_set_array_deferred(&b, m2, 11);
    ASSERT_BYTES(&b, "*2\r\n*0\r\n*11\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n"
                     "$-1\r\n$-1\r\n$-1\r\n");
    kbuf_free(&b);
}

Test(writer, deferred_parses_back)
{
    /* The bytes of a deferred array are a valid RESP array for a parser
     * of replies too: check the header by hand on a big one. */
    kbuf b = KBUF_INIT;
    size_t mark = resp_add_array_deferred(&b);
    for (int i = 0; i < 1000; i++)
        resp_add_bulk(&b, "v", 1);
    resp_set_array_deferred(&b, mark, 1000);
    cr_assert_eq(b.len, 7 + 1000 * 7);
    cr_assert_eq(memcmp(b.data, "*1000\r\n$1\r\nv\r\n", 14), 0);
    kbuf_free(&b);
}

/* ---- commands ---- */

Test(writer, command)
{
    kbuf b = KBUF_INIT;
    resp_slice set[] = {{"SET", 3}, {"k", 1}, {"v", 1}};
    resp_add_command(&b, 3, set);
    ASSERT_BYTES(&b, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
    kbuf_clear(&b);
    resp_slice bin[] = {{"ECHO", 4}, {"", 0}, {"\r\n\0", 3}};
    resp_add_command(&b, 3, bin);
    ASSERT_BYTES(&b, "*3\r\n$4\r\nECHO\r\n$0\r\n\r\n$3\r\n\r\n\0\r\n");
    kbuf_clear(&b);
    resp_add_command(&b, 0, NULL);
    ASSERT_BYTES(&b, "*0\r\n");
    kbuf_free(&b);
}

/* ---- allocation behaviour ---- */

static void write_mix(kbuf *b, int i)
{
    switch (i % 12) {
    case 0: resp_add_simple_cstr(b, "OK"); break;
    case 1: resp_add_int(b, (long long)i * 1000003); break;
    case 2: resp_add_bulk(b, "hello world", 11); break;
    case 3: resp_add_null(b); break;
    case 4: resp_add_array(b, 2); break;
    case 5: resp_add_error_cstr(b, "-WRONGTYPE Operation against a key"); break;
    case 6: resp_add_errorf(b, "unknown command '%s'", "xyz"); break;
    case 7: resp_add_bulk_ll(b, -i); break;
    case 8: resp_add_null_array(b); break;
    case 9: {
        size_t m = resp_add_array_deferred(b);
        resp_add_int(b, 1);
        resp_add_int(b, 2);
        resp_set_array_deferred(b, m, 2);
        break;
    }
    case 10: resp_add_error_cstr(b, "x\r\ny"); break;
    default: {
        resp_slice a[] = {{"GET", 3}, {"key", 3}};
        resp_add_command(b, 2, a);
        break;
    }
    }
}

Test(writer, no_realloc_with_capacity)
{
    kbuf b = KBUF_INIT;
    kbuf_grow(&b, 1 << 20);
    char *data = b.data;
    size_t cap = b.cap;
    cr_assert_geq(cap, (size_t)1 << 20);
    for (int i = 0; i < 10000; i++)
        write_mix(&b, i);
    cr_assert_lt(b.len, cap / 2, "test wrote more than intended");
    cr_assert_eq(b.data, data, "the buffer was reallocated");
    cr_assert_eq(b.cap, cap, "the capacity changed");
    kbuf_free(&b);
}

Test(writer, reused_buffer_stops_growing)
{
    kbuf b = KBUF_INIT;
    for (int i = 0; i < 1000; i++)
        write_mix(&b, i);
    size_t first = b.len;
    kbuf_clear(&b);
    for (int i = 0; i < 1000; i++)
        write_mix(&b, i);
    cr_assert_eq(b.len, first);
    char *data = b.data;
    size_t cap = b.cap;
    for (int round = 0; round < 20; round++) {
        kbuf_clear(&b);
        for (int i = 0; i < 1000; i++)
            write_mix(&b, i);
        cr_assert_eq(b.len, first);
        cr_assert_eq(b.data, data, "round %d reallocated", round);
        cr_assert_eq(b.cap, cap, "round %d changed the capacity", round);
    }
    kbuf_free(&b);
}

Test(writer, output_is_parseable_commands)
{
    /* resp_add_command output parsed back (the parser side has the full
     * random round trip; this is the writer's own check). */
    kbuf b = KBUF_INIT;
    trng rng;
    trng_seed(&rng, 31337);
    char store[8][64];
    resp_slice argv[8];
    int argcs[50];
    char saved[50][8][64];
    size_t savedlen[50][8];
    for (int c = 0; c < 50; c++) {
        int argc = (int)trng_range(&rng, 1, 8);
        argcs[c] = argc;
        for (int j = 0; j < argc; j++) {
            size_t len = trng_range(&rng, 0, 64);
            for (size_t k = 0; k < len; k++)
                store[j][k] = (char)trng_next(&rng);
            argv[j].ptr = store[j];
            argv[j].len = len;
            memcpy(saved[c][j], store[j], len);
            savedlen[c][j] = len;
        }
        resp_add_command(&b, argc, argv);
    }
    tres r;
    tparse_whole(NULL, false, b.data, b.len, &r);
    cr_assert_eq(r.ncmds, (size_t)50);
    for (int c = 0; c < 50; c++) {
        cr_assert_eq(r.cmds[c].argc, argcs[c]);
        for (int j = 0; j < argcs[c]; j++)
            cr_assert(r.cmds[c].argv[j].n == savedlen[c][j] &&
                          memcmp(r.cmds[c].argv[j].p, saved[c][j], savedlen[c][j]) == 0,
                      "command %d arg %d", c, j);
    }
    cr_assert_eq(r.final, RESP_MORE);
    tres_free(&r);
    kbuf_free(&b);
}
