/* The string family (GET SET SETNX SETEX PSETEX MGET MSET MSETNX GETSET
 * GETDEL GETEX APPEND STRLEN INCR DECR INCRBY DECRBY INCRBYFLOAT GETRANGE
 * SUBSTR SETRANGE LCS) against Redis 7.0's exact replies. The cases follow
 * Redis's tests/unit/type/string.tcl and incr.tcl, plus every error path. */
#include <limits.h>

#include "core/store/codec.h"
#include "core/store/hash.h"
#include "engine_harness.h"

#define NOW 1700000000000LL

/* Compares the whole last reply, NUL bytes included. */
#define EXPECT_BIN(h, line, lit)                                                              \
    do {                                                                                      \
        h_run((h), (line));                                                                   \
        cr_assert_eq((h)->out.len, sizeof(lit) - 1, "%s: reply length %zu", (line),           \
                     (h)->out.len);                                                           \
        cr_assert(memcmp((h)->out.data, (lit), sizeof(lit) - 1) == 0, "%s: reply bytes", (line)); \
    } while (0)

/* Runs a command given as (pointer, length) pairs: binary and long args. */
static const char *runv(harness *h, int argc, const resp_slice *argv)
{
    return h_runv_as(h, h->c, argc, argv);
}

/* A key holding a hash, for WRONGTYPE paths (independent of HSET). */
static void make_hash(harness *h, const char *key)
{
    db_set_obj(&h->e.db, key, strlen(key), OBJ_HASH, ENC_LISTPACK, khash_new(), -1);
}

/* The key's absolute deadline (-1 without TTL), -2 when absent; no side
 * effects (no lazy expiry, no stats). */
static int64_t deadline_of(harness *h, const char *key)
{
    kentry *e = (kentry *)dict_find(&h->e.db.keys, key, strlen(key));
    return e ? kentry_deadline(e) : -2;
}

static int type_of(harness *h, const char *key)
{
    kentry *e = (kentry *)dict_find(&h->e.db.keys, key, strlen(key));
    return e ? kentry_type(e) : -1;
}

#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
#define SYNTAX "-ERR syntax error\r\n"
#define NOT_INT "-ERR value is not an integer or out of range\r\n"
#define NOT_FLOAT "-ERR value is not a valid float\r\n"

/* ------------------------------------------------------------------------ */
/* GET / SET */

Test(get_set, basics_empty_and_binary)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "GET x", "$-1\r\n");
    EXPECT(&h, "SET x foobar", "+OK\r\n");
    EXPECT(&h, "GET x", "$6\r\nfoobar\r\n");
    EXPECT(&h, "SET x \"\"", "+OK\r\n");
    EXPECT(&h, "GET x", "$0\r\n\r\n");
    EXPECT(&h, "SET x 12345", "+OK\r\n");
    EXPECT(&h, "GET x", "$5\r\n12345\r\n");
    EXPECT(&h, "set x -9223372036854775808", "+OK\r\n");
    EXPECT(&h, "get x", "$20\r\n-9223372036854775808\r\n");
    /* Binary-safe keys and values: NUL, CR, LF. */
    EXPECT(&h, "SET \"k\\x00ey\" \"a\\x00b\\r\\nc\"", "+OK\r\n");
    EXPECT_BIN(&h, "GET \"k\\x00ey\"", "$6\r\na\0b\r\nc\r\n");
    EXPECT(&h, "GET k", "$-1\r\n");
    h_free(&h);
}

Test(get_set, big_payload)
{
    harness h;
    h_init(&h);
    size_t n = 4000000;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = "abcd"[i % 4];
    resp_slice set[3] = {{"SET", 3}, {"foo", 3}, {big, n}};
    cr_assert_str_eq(runv(&h, 3, set), "+OK\r\n");
    resp_slice get[2] = {{"GET", 3}, {"foo", 3}};
    runv(&h, 2, get);
    const char *hdr = "$4000000\r\n";
    cr_assert_eq(h.out.len, strlen(hdr) + n + 2);
    cr_assert(memcmp(h.out.data, hdr, strlen(hdr)) == 0);
    cr_assert(memcmp(h.out.data + strlen(hdr), big, n) == 0);
    EXPECT(&h, "STRLEN foo", ":4000000\r\n");
    free(big);
    h_free(&h);
}

Test(get_set, wrongtype_and_arity)
{
    harness h;
    h_init(&h);
    make_hash(&h, "h");
    EXPECT(&h, "GET h", WRONGTYPE);
    EXPECT(&h, "GET", "-ERR wrong number of arguments for 'get' command\r\n");
    EXPECT(&h, "SET k", "-ERR wrong number of arguments for 'set' command\r\n");
    /* Plain SET replaces a key of any type. */
    EXPECT(&h, "SET h v", "+OK\r\n");
    cr_assert_eq(type_of(&h, "h"), OBJ_STRING);
    EXPECT(&h, "GET h", "$1\r\nv\r\n");
    h_free(&h);
}

Test(set, nx_xx)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET foo 1 NX", "+OK\r\n");
    EXPECT(&h, "SET foo 2 nx", "$-1\r\n");
    EXPECT(&h, "GET foo", "$1\r\n1\r\n");
    EXPECT(&h, "SET bar 1 XX", "$-1\r\n");
    EXPECT(&h, "GET bar", "$-1\r\n");
    EXPECT(&h, "SET foo 2 Xx", "+OK\r\n");
    EXPECT(&h, "GET foo", "$1\r\n2\r\n");
    /* NX after an expired key: the key is gone, so NX sets. */
    EXPECT(&h, "SET t v PX 100", "+OK\r\n");
    h.now_ms += 101;
    EXPECT(&h, "SET t w NX", "+OK\r\n");
    EXPECT(&h, "GET t", "$1\r\nw\r\n");
    h_free(&h);
}

Test(set, get_option)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET foo bar", "+OK\r\n");
    EXPECT(&h, "SET foo bar2 GET", "$3\r\nbar\r\n");
    EXPECT(&h, "GET foo", "$4\r\nbar2\r\n");
    EXPECT(&h, "SET new bar GET", "$-1\r\n");
    EXPECT(&h, "GET new", "$3\r\nbar\r\n");
    /* GET with XX: old value, set. */
    EXPECT(&h, "SET foo baz GET XX", "$4\r\nbar2\r\n");
    EXPECT(&h, "GET foo", "$3\r\nbaz\r\n");
    /* GET with XX and no key: nil, not set. */
    EXPECT(&h, "SET none bar GET XX", "$-1\r\n");
    EXPECT(&h, "GET none", "$-1\r\n");
    /* GET with NX and no key: nil, set. */
    EXPECT(&h, "SET nx1 bar GET NX", "$-1\r\n");
    EXPECT(&h, "GET nx1", "$3\r\nbar\r\n");
    /* GET with NX and a key: old value, not set. */
    EXPECT(&h, "SET nx1 baz NX GET", "$3\r\nbar\r\n");
    EXPECT(&h, "GET nx1", "$3\r\nbar\r\n");
    /* GET may be repeated. */
    EXPECT(&h, "SET foo q GET get", "$3\r\nbaz\r\n");
    /* An integer-encoded old value comes back as its text. */
    EXPECT(&h, "SET n 42", "+OK\r\n");
    EXPECT(&h, "SET n x GET", "$2\r\n42\r\n");
    h_free(&h);
}

Test(set, get_option_wrongtype_sets_nothing)
{
    harness h;
    h_init(&h);
    make_hash(&h, "foo");
    uint64_t dirty = h.e.stats.dirty;
    EXPECT(&h, "SET foo bar GET", WRONGTYPE);
    cr_assert_eq(type_of(&h, "foo"), OBJ_HASH);
    cr_assert_eq(h.e.stats.dirty, dirty);
    /* A bad time is reported before the type. */
    EXPECT(&h, "SET foo bar GET EX 0", "-ERR invalid expire time in 'set' command\r\n");
    h_free(&h);
}

Test(set, syntax_errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET foo bar non-existing-option", SYNTAX);
    EXPECT(&h, "SET foo bar NX XX", SYNTAX);
    EXPECT(&h, "SET foo bar XX NX", SYNTAX);
    EXPECT(&h, "SET foo bar EX", SYNTAX);
    EXPECT(&h, "SET foo bar PX", SYNTAX);
    EXPECT(&h, "SET foo bar EXAT", SYNTAX);
    EXPECT(&h, "SET foo bar PXAT", SYNTAX);
    EXPECT(&h, "SET foo bar EX 10 PX 100", SYNTAX);
    EXPECT(&h, "SET foo bar PX 100 EX 10", SYNTAX);
    EXPECT(&h, "SET foo bar EX 10 EXAT 100", SYNTAX);
    EXPECT(&h, "SET foo bar PXAT 10 EX 100", SYNTAX);
    EXPECT(&h, "SET foo bar EX 10 KEEPTTL", SYNTAX);
    EXPECT(&h, "SET foo bar KEEPTTL PX 10", SYNTAX);
    EXPECT(&h, "SET foo bar PERSIST", SYNTAX);
    EXPECT(&h, "SET foo bar NXX", SYNTAX);
    /* Nothing was set by any of them. */
    EXPECT(&h, "GET foo", "$-1\r\n");
    /* Syntax is checked before the time: */
    EXPECT(&h, "SET foo bar EX abc NX XX", SYNTAX);
    /* ...and the time before anything else. */
    EXPECT(&h, "SET foo bar EX abc", NOT_INT);
    /* The word after EX is its time, whatever it is. */
    EXPECT(&h, "SET foo bar EX NX", NOT_INT);
    h_free(&h);
}

Test(set, expire_options)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET a v EX 10", "+OK\r\n");
    cr_assert_eq(deadline_of(&h, "a"), NOW + 10000);
    EXPECT(&h, "SET a v px 1500", "+OK\r\n");
    cr_assert_eq(deadline_of(&h, "a"), NOW + 1500);
    EXPECT(&h, "SET a v EXAT 1700000100", "+OK\r\n");
    cr_assert_eq(deadline_of(&h, "a"), 1700000100000LL);
    EXPECT(&h, "SET a v PXAT 1700000000123", "+OK\r\n");
    cr_assert_eq(deadline_of(&h, "a"), 1700000000123LL);
    /* EX may be repeated: the last one counts. */
    EXPECT(&h, "SET a v EX 10 EX 20", "+OK\r\n");
    cr_assert_eq(deadline_of(&h, "a"), NOW + 20000);
    /* KEEPTTL keeps it, plain SET drops it. */
    EXPECT(&h, "SET a w KEEPTTL", "+OK\r\n");
    cr_assert_eq(deadline_of(&h, "a"), NOW + 20000);
    EXPECT(&h, "GET a", "$1\r\nw\r\n");
    EXPECT(&h, "SET a x", "+OK\r\n");
    cr_assert_eq(deadline_of(&h, "a"), -1);
    /* KEEPTTL on a new key: no TTL. */
    EXPECT(&h, "SET b x KEEPTTL", "+OK\r\n");
    cr_assert_eq(deadline_of(&h, "b"), -1);
    /* Several options at once. */
    EXPECT(&h, "SET a bar xx px 10000", "+OK\r\n");
    cr_assert_eq(deadline_of(&h, "a"), NOW + 10000);
    /* The key lives through its deadline and is gone right after. */
    EXPECT(&h, "SET c v PX 100", "+OK\r\n");
    h.now_ms = NOW + 100;
    EXPECT(&h, "GET c", "$1\r\nv\r\n");
    h.now_ms = NOW + 101;
    EXPECT(&h, "GET c", "$-1\r\n");
    h_free(&h);
}

Test(set, invalid_expire_times)
{
    harness h;
    h_init(&h);
    const char *bad = "-ERR invalid expire time in 'set' command\r\n";
    EXPECT(&h, "SET foo bar EX 0", bad);
    EXPECT(&h, "SET foo bar EX -1", bad);
    EXPECT(&h, "SET foo bar PX 0", bad);
    EXPECT(&h, "SET foo bar PXAT 0", bad);
    EXPECT(&h, "SET foo bar EXAT -5", bad);
    EXPECT(&h, "SET foo bar EX 10000000000000000", bad);
    EXPECT(&h, "SET foo bar EX -9999999999999999", bad);
    /* Seconds that overflow once made milliseconds. */
    EXPECT(&h, "SET foo bar EX 9223372036854776", bad);
    EXPECT(&h, "SET foo bar EXAT 9223372036854776", bad);
    /* Relative times that overflow once now is added. */
    EXPECT(&h, "SET foo bar PX 9223372036854775807", bad);
    EXPECT(&h, "SET foo bar EX 9223372036854775", bad);
    EXPECT(&h, "SET foo bar PX 9223372036854775808", NOT_INT);
    EXPECT(&h, "GET foo", "$-1\r\n");
    /* The largest absolute times are fine. */
    EXPECT(&h, "SET foo bar PXAT 9223372036854775807", "+OK\r\n");
    cr_assert_eq(deadline_of(&h, "foo"), LLONG_MAX);
    EXPECT(&h, "SET foo bar EXAT 9223372036854775", "+OK\r\n");
    cr_assert_eq(deadline_of(&h, "foo"), 9223372036854775000LL);
    EXPECT(&h, "SET foo bar PX 9223372036854775807", bad);
    h_free(&h);
}

Test(set, time_in_the_past)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET k old", "+OK\r\n");
    EXPECT(&h, "SET k new EXAT 1", "+OK\r\n");
    EXPECT(&h, "GET k", "$-1\r\n");
    EXPECT(&h, "SET k old", "+OK\r\n");
    EXPECT(&h, "SET k new PXAT 1699999999999 GET", "$3\r\nold\r\n");
    EXPECT(&h, "GET k", "$-1\r\n");
    EXPECT(&h, "SET k x NX", "+OK\r\n");
    h_free(&h);
}

Test(set, dirty_and_keyspace_stats)
{
    harness h;
    h_init(&h);
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "SET a 1", "+OK\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 1);
    EXPECT(&h, "SET a 2 NX", "$-1\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 1);
    EXPECT(&h, "SET a 3 EX 100", "+OK\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 2);
    uint64_t hits = h.e.db.stats.hits, misses = h.e.db.stats.misses;
    EXPECT(&h, "GET a", "$1\r\n3\r\n");
    EXPECT(&h, "GET nope", "$-1\r\n");
    cr_assert_eq(h.e.db.stats.hits, hits + 1);
    cr_assert_eq(h.e.db.stats.misses, misses + 1);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* SETNX SETEX PSETEX */

Test(setnx, basics)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SETNX novar foobared", ":1\r\n");
    EXPECT(&h, "GET novar", "$8\r\nfoobared\r\n");
    EXPECT(&h, "SETNX novar blabla", ":0\r\n");
    EXPECT(&h, "GET novar", "$8\r\nfoobared\r\n");
    /* Against a volatile key, live then expired. */
    EXPECT(&h, "SET x 10 PX 1000", "+OK\r\n");
    EXPECT(&h, "SETNX x 20", ":0\r\n");
    EXPECT(&h, "GET x", "$2\r\n10\r\n");
    h.now_ms += 1001;
    EXPECT(&h, "SETNX x 20", ":1\r\n");
    EXPECT(&h, "GET x", "$2\r\n20\r\n");
    cr_assert_eq(deadline_of(&h, "x"), -1);
    /* SETNX on a key of another type: it exists. */
    make_hash(&h, "h");
    EXPECT(&h, "SETNX h v", ":0\r\n");
    EXPECT(&h, "SETNX a", "-ERR wrong number of arguments for 'setnx' command\r\n");
    h_free(&h);
}

Test(setex, basics_and_errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SETEX k 10 v", "+OK\r\n");
    cr_assert_eq(deadline_of(&h, "k"), NOW + 10000);
    EXPECT(&h, "GET k", "$1\r\nv\r\n");
    EXPECT(&h, "PSETEX k 1500 w", "+OK\r\n");
    cr_assert_eq(deadline_of(&h, "k"), NOW + 1500);
    EXPECT(&h, "GET k", "$1\r\nw\r\n");
    h.now_ms += 1501;
    EXPECT(&h, "GET k", "$-1\r\n");

    EXPECT(&h, "SETEX k 0 v", "-ERR invalid expire time in 'setex' command\r\n");
    EXPECT(&h, "SETEX k -10 v", "-ERR invalid expire time in 'setex' command\r\n");
    EXPECT(&h, "SETEX k 9223372036854776 v", "-ERR invalid expire time in 'setex' command\r\n");
    EXPECT(&h, "setex k abc v", NOT_INT);
    EXPECT(&h, "PSETEX k 0 v", "-ERR invalid expire time in 'psetex' command\r\n");
    EXPECT(&h, "PSETEX k -1 v", "-ERR invalid expire time in 'psetex' command\r\n");
    EXPECT(&h, "PSETEX k 9223372036854775807 v",
           "-ERR invalid expire time in 'psetex' command\r\n");
    EXPECT(&h, "PSETEX k 1.5 v", NOT_INT);
    EXPECT(&h, "GET k", "$-1\r\n");
    EXPECT(&h, "SETEX k 10", "-ERR wrong number of arguments for 'setex' command\r\n");
    /* SETEX overwrites any type. */
    make_hash(&h, "h");
    EXPECT(&h, "SETEX h 5 v", "+OK\r\n");
    EXPECT(&h, "GET h", "$1\r\nv\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* MGET MSET MSETNX */

Test(mget, values_missing_and_other_types)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET foo BAR", "+OK\r\n");
    EXPECT(&h, "SET bar FOO", "+OK\r\n");
    EXPECT(&h, "SET n 7", "+OK\r\n");
    make_hash(&h, "myset");
    EXPECT(&h, "MGET foo baazz bar myset n",
           "*5\r\n$3\r\nBAR\r\n$-1\r\n$3\r\nFOO\r\n$-1\r\n$1\r\n7\r\n");
    EXPECT(&h, "MGET foo", "*1\r\n$3\r\nBAR\r\n");
    EXPECT(&h, "MGET", "-ERR wrong number of arguments for 'mget' command\r\n");
    h_free(&h);
}

Test(mset, basics_and_errors)
{
    harness h;
    h_init(&h);
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "MSET x 10 y \"foo bar\" z \"x x x x x x x\\n\\n\\r\\n\"", "+OK\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 3);
    EXPECT(&h, "MGET x y z",
           "*3\r\n$2\r\n10\r\n$7\r\nfoo bar\r\n$17\r\nx x x x x x x\n\n\r\n\r\n");
    EXPECT(&h, "MSET x 10 y \"foo bar\" z", "-ERR wrong number of arguments for 'mset' command\r\n");
    EXPECT(&h, "MSETNX x 20 y \"foo bar\" z",
           "-ERR wrong number of arguments for 'msetnx' command\r\n");
    EXPECT(&h, "MSET x", "-ERR wrong number of arguments for 'mset' command\r\n");
    /* MSET drops TTLs and overwrites other types; the last of a repeated key wins. */
    EXPECT(&h, "SET t v EX 100", "+OK\r\n");
    make_hash(&h, "h");
    EXPECT(&h, "MSET t w h s t u", "+OK\r\n");
    cr_assert_eq(deadline_of(&h, "t"), -1);
    EXPECT(&h, "MGET t h", "*2\r\n$1\r\nu\r\n$1\r\ns\r\n");
    h_free(&h);
}

Test(msetnx, all_or_nothing)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET x 10", "+OK\r\n");
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "MSETNX x1 xxx y2 yyy x 20", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty, d);
    EXPECT(&h, "MGET x1 y2 x", "*3\r\n$-1\r\n$-1\r\n$2\r\n10\r\n");
    EXPECT(&h, "MSETNX x1 xxx y2 yyy", ":1\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 2);
    EXPECT(&h, "MGET x1 y2", "*2\r\n$3\r\nxxx\r\n$3\r\nyyy\r\n");
    /* Same key twice, not existing: the last value wins. */
    EXPECT(&h, "MSETNX x3 xxx x3 yyy", ":1\r\n");
    EXPECT(&h, "GET x3", "$3\r\nyyy\r\n");
    /* Same key twice, existing: nothing. */
    EXPECT(&h, "MSETNX x3 aaa x3 zzz", ":0\r\n");
    EXPECT(&h, "GET x3", "$3\r\nyyy\r\n");
    /* A key of another type counts as existing; an expired one does not. */
    make_hash(&h, "h");
    EXPECT(&h, "MSETNX h 1 n 2", ":0\r\n");
    EXPECT(&h, "SET e v PX 10", "+OK\r\n");
    h.now_ms += 11;
    EXPECT(&h, "MSETNX e 1 n 2", ":1\r\n");
    EXPECT(&h, "MGET e n", "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* GETSET GETDEL GETEX */

Test(getset, basics)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "GETSET foo xyz", "$-1\r\n");
    EXPECT(&h, "GET foo", "$3\r\nxyz\r\n");
    EXPECT(&h, "SET foo bar EX 100", "+OK\r\n");
    EXPECT(&h, "GETSET foo xyz", "$3\r\nbar\r\n");
    EXPECT(&h, "GET foo", "$3\r\nxyz\r\n");
    cr_assert_eq(deadline_of(&h, "foo"), -1);
    make_hash(&h, "h");
    EXPECT(&h, "GETSET h v", WRONGTYPE);
    cr_assert_eq(type_of(&h, "h"), OBJ_HASH);
    h_free(&h);
}

Test(getdel, basics)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET foo bar", "+OK\r\n");
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "GETDEL foo", "$3\r\nbar\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 1);
    cr_assert_eq(deadline_of(&h, "foo"), -2);
    EXPECT(&h, "GETDEL foo", "$-1\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 1);
    EXPECT(&h, "SET n 12", "+OK\r\n");
    EXPECT(&h, "GETDEL n", "$2\r\n12\r\n");
    make_hash(&h, "h");
    EXPECT(&h, "GETDEL h", WRONGTYPE);
    cr_assert_eq(type_of(&h, "h"), OBJ_HASH);
    h_free(&h);
}

Test(getex, options)
{
    harness h;
    h_init(&h);
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "GETEX foo", "$-1\r\n");
    EXPECT(&h, "SET foo bar", "+OK\r\n");
    d = h.e.stats.dirty;
    EXPECT(&h, "GETEX foo", "$3\r\nbar\r\n");
    cr_assert_eq(deadline_of(&h, "foo"), -1);
    cr_assert_eq(h.e.stats.dirty, d);
    EXPECT(&h, "GETEX foo EX 10", "$3\r\nbar\r\n");
    cr_assert_eq(deadline_of(&h, "foo"), NOW + 10000);
    cr_assert_eq(h.e.stats.dirty, d + 1);
    EXPECT(&h, "GETEX foo px 10000", "$3\r\nbar\r\n");
    cr_assert_eq(deadline_of(&h, "foo"), NOW + 10000);
    EXPECT(&h, "GETEX foo EXAT 1700000010", "$3\r\nbar\r\n");
    cr_assert_eq(deadline_of(&h, "foo"), 1700000010000LL);
    EXPECT(&h, "GETEX foo PXAT 1700000010001", "$3\r\nbar\r\n");
    cr_assert_eq(deadline_of(&h, "foo"), 1700000010001LL);
    EXPECT(&h, "GETEX foo PERSIST", "$3\r\nbar\r\n");
    cr_assert_eq(deadline_of(&h, "foo"), -1);
    d = h.e.stats.dirty;
    /* PERSIST on a key without TTL changes nothing. */
    EXPECT(&h, "GETEX foo PERSIST persist", "$3\r\nbar\r\n");
    cr_assert_eq(h.e.stats.dirty, d);
    /* An absolute time already past deletes the key after replying. */
    EXPECT(&h, "GETEX foo PXAT 1700000000000", "$3\r\nbar\r\n");
    cr_assert_eq(deadline_of(&h, "foo"), -2);
    cr_assert_eq(h.e.stats.dirty, d + 1);
    EXPECT(&h, "SET foo bar", "+OK\r\n");
    EXPECT(&h, "GETEX foo EXAT 1", "$3\r\nbar\r\n");
    EXPECT(&h, "GET foo", "$-1\r\n");
    /* Integer values. */
    EXPECT(&h, "SET n 99", "+OK\r\n");
    EXPECT(&h, "GETEX n EX 5", "$2\r\n99\r\n");
    h.now_ms += 5001;
    EXPECT(&h, "GETEX n", "$-1\r\n");
    h_free(&h);
}

Test(getex, errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "GETEX", "-ERR wrong number of arguments for 'getex' command\r\n");
    EXPECT(&h, "GETEX foo non-existent-option", SYNTAX);
    EXPECT(&h, "SET foo bar", "+OK\r\n");
    EXPECT(&h, "GETEX foo NX", SYNTAX);
    EXPECT(&h, "GETEX foo XX", SYNTAX);
    EXPECT(&h, "GETEX foo GET", SYNTAX);
    EXPECT(&h, "GETEX foo KEEPTTL", SYNTAX);
    EXPECT(&h, "GETEX foo EX", SYNTAX);
    EXPECT(&h, "GETEX foo EX 10 PX 10", SYNTAX);
    EXPECT(&h, "GETEX foo PERSIST EX 10", SYNTAX);
    EXPECT(&h, "GETEX foo EX 10 PERSIST", SYNTAX);
    EXPECT(&h, "GETEX foo EX 10000000000000000", "-ERR invalid expire time in 'getex' command\r\n");
    EXPECT(&h, "GETEX foo EX -9999999999999999", "-ERR invalid expire time in 'getex' command\r\n");
    EXPECT(&h, "GETEX foo PX 0", "-ERR invalid expire time in 'getex' command\r\n");
    EXPECT(&h, "GETEX foo EX abc", NOT_INT);
    cr_assert_eq(deadline_of(&h, "foo"), -1);
    /* The time is only checked when the key exists. */
    EXPECT(&h, "GETEX nokey EX 0", "$-1\r\n");
    EXPECT(&h, "GETEX nokey EX abc", "$-1\r\n");
    make_hash(&h, "h");
    EXPECT(&h, "GETEX h", WRONGTYPE);
    EXPECT(&h, "GETEX h EX 0", WRONGTYPE);
    EXPECT(&h, "GETEX h FOO", SYNTAX);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* APPEND STRLEN */

Test(append, basics)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "APPEND foo bar", ":3\r\n");
    EXPECT(&h, "APPEND foo 100", ":6\r\n");
    EXPECT(&h, "GET foo", "$6\r\nbar100\r\n");
    /* Onto an integer value. */
    EXPECT(&h, "SET n 12", "+OK\r\n");
    EXPECT(&h, "APPEND n 34", ":4\r\n");
    EXPECT(&h, "GET n", "$4\r\n1234\r\n");
    EXPECT(&h, "INCR n", ":1235\r\n");
    /* Binary, and growing past the embedded size. */
    EXPECT(&h, "APPEND b \"\\x00\\r\\n\"", ":3\r\n");
    for (int i = 0; i < 20; i++)
        h_run(&h, "APPEND b 0123456789");
    EXPECT(&h, "STRLEN b", ":203\r\n");
    EXPECT_BIN(&h, "GETRANGE b 0 4", "$5\r\n\0\r\n01\r\n");
    /* An empty append still counts as a write. */
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "APPEND foo \"\"", ":6\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 1);
    /* The TTL stays. */
    EXPECT(&h, "SET t a EX 100", "+OK\r\n");
    EXPECT(&h, "APPEND t b", ":2\r\n");
    cr_assert_eq(deadline_of(&h, "t"), NOW + 100000);
    make_hash(&h, "h");
    EXPECT(&h, "APPEND h x", WRONGTYPE);
    h_free(&h);
}

Test(append, size_limit)
{
    harness h;
    h_init(&h);
    h.e.cfg.proto_max_bulk_len = 10;
    EXPECT(&h, "SET foo 12345", "+OK\r\n");
    EXPECT(&h, "APPEND foo 67890", ":10\r\n");
    EXPECT(&h, "APPEND foo x",
           "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
    EXPECT(&h, "GET foo", "$10\r\n1234567890\r\n");
    h_free(&h);
}

Test(strlen, all_encodings)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "STRLEN notakey", ":0\r\n");
    EXPECT(&h, "SET myinteger -555", "+OK\r\n");
    EXPECT(&h, "STRLEN myinteger", ":4\r\n");
    EXPECT(&h, "SET mystring \"foozzz0123456789 baz\"", "+OK\r\n");
    EXPECT(&h, "STRLEN mystring", ":20\r\n");
    EXPECT(&h, "SET e \"\"", "+OK\r\n");
    EXPECT(&h, "STRLEN e", ":0\r\n");
    make_hash(&h, "h");
    EXPECT(&h, "STRLEN h", WRONGTYPE);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* INCR DECR INCRBY DECRBY */

Test(incr, basics)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "INCR novar", ":1\r\n");
    EXPECT(&h, "GET novar", "$1\r\n1\r\n");
    EXPECT(&h, "INCR novar", ":2\r\n");
    EXPECT(&h, "SET novar 100", "+OK\r\n");
    EXPECT(&h, "INCR novar", ":101\r\n");
    EXPECT(&h, "SET novar 17179869184", "+OK\r\n");
    EXPECT(&h, "INCR novar", ":17179869185\r\n");
    EXPECT(&h, "SET novar 17179869184", "+OK\r\n");
    EXPECT(&h, "INCRBY novar 17179869184", ":34359738368\r\n");
    EXPECT(&h, "SET novar 17179869184", "+OK\r\n");
    EXPECT(&h, "DECRBY novar 17179869185", ":-1\r\n");
    EXPECT(&h, "DECR novar", ":-2\r\n");
    EXPECT(&h, "DECR fresh", ":-1\r\n");
    EXPECT(&h, "INCRBY fresh -10", ":-11\r\n");
    EXPECT(&h, "DECRBY fresh -11", ":0\r\n");
    EXPECT(&h, "GET fresh", "$1\r\n0\r\n");
    /* A counter stored as text (past the embedded size it is still a number). */
    EXPECT(&h, "APPEND c 4", ":1\r\n");
    EXPECT(&h, "APPEND c 2", ":2\r\n");
    EXPECT(&h, "INCR c", ":43\r\n");
    h_free(&h);
}

Test(incr, errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET novar \"    11\"", "+OK\r\n");
    EXPECT(&h, "INCR novar", NOT_INT);
    EXPECT(&h, "SET novar \"11    \"", "+OK\r\n");
    EXPECT(&h, "INCR novar", NOT_INT);
    EXPECT(&h, "SET novar \"    11    \"", "+OK\r\n");
    EXPECT(&h, "DECR novar", NOT_INT);
    EXPECT(&h, "SET novar 011", "+OK\r\n");
    EXPECT(&h, "INCR novar", NOT_INT);
    EXPECT(&h, "SET novar 1.5", "+OK\r\n");
    EXPECT(&h, "INCRBY novar 1", NOT_INT);
    EXPECT(&h, "SET novar \"\"", "+OK\r\n");
    EXPECT(&h, "INCR novar", NOT_INT);
    EXPECT(&h, "SET novar 9223372036854775808", "+OK\r\n");
    EXPECT(&h, "INCR novar", NOT_INT);
    EXPECT(&h, "INCRBY x abc", NOT_INT);
    EXPECT(&h, "INCRBY x \"\"", NOT_INT);
    EXPECT(&h, "DECRBY x 1e3", NOT_INT);
    EXPECT(&h, "INCRBY x 9223372036854775808", NOT_INT);
    EXPECT(&h, "GET x", "$-1\r\n");
    make_hash(&h, "h");
    EXPECT(&h, "INCR h", WRONGTYPE);
    EXPECT(&h, "DECRBY h 5", WRONGTYPE);
    /* The increment is parsed before the key is looked at. */
    EXPECT(&h, "INCRBY h abc", NOT_INT);
    h_free(&h);
}

Test(incr, overflow_edges)
{
    harness h;
    h_init(&h);
    const char *ovf = "-ERR increment or decrement would overflow\r\n";
    EXPECT(&h, "SET x 9223372036854775806", "+OK\r\n");
    EXPECT(&h, "INCR x", ":9223372036854775807\r\n");
    EXPECT(&h, "INCR x", ovf);
    EXPECT(&h, "INCRBY x 0", ":9223372036854775807\r\n");
    EXPECT(&h, "INCRBY x -9223372036854775808", ":-1\r\n");
    EXPECT(&h, "SET x -9223372036854775807", "+OK\r\n");
    EXPECT(&h, "DECR x", ":-9223372036854775808\r\n");
    EXPECT(&h, "DECR x", ovf);
    EXPECT(&h, "INCRBY x -1", ovf);
    EXPECT(&h, "GET x", "$20\r\n-9223372036854775808\r\n");
    EXPECT(&h, "INCRBY x 9223372036854775807", ":-1\r\n");
    EXPECT(&h, "SET x 1", "+OK\r\n");
    EXPECT(&h, "INCRBY x 9223372036854775807", ovf);
    EXPECT(&h, "DECRBY x -9223372036854775807", ovf);
    EXPECT(&h, "SET x 0", "+OK\r\n");
    EXPECT(&h, "DECRBY x -9223372036854775808", "-ERR decrement would overflow\r\n");
    EXPECT(&h, "DECRBY x 9223372036854775807", ":-9223372036854775807\r\n");
    EXPECT(&h, "GET x", "$20\r\n-9223372036854775807\r\n");
    h_free(&h);
}

Test(incr, keeps_ttl_and_counts)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET x 5 EX 100", "+OK\r\n");
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "INCR x", ":6\r\n");
    EXPECT(&h, "DECRBY x 2", ":4\r\n");
    cr_assert_eq(deadline_of(&h, "x"), NOW + 100000);
    cr_assert_eq(h.e.stats.dirty, d + 2);
    /* Once expired, the counter starts again from 0 without a TTL. */
    h.now_ms += 100001;
    EXPECT(&h, "INCR x", ":1\r\n");
    cr_assert_eq(deadline_of(&h, "x"), -1);
    /* A failed INCR changes nothing. */
    d = h.e.stats.dirty;
    EXPECT(&h, "SET y abc", "+OK\r\n");
    EXPECT(&h, "INCR y", NOT_INT);
    cr_assert_eq(h.e.stats.dirty, d + 1);
    EXPECT(&h, "GET y", "$3\r\nabc\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* INCRBYFLOAT */

Test(incrbyfloat, basics)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "INCRBYFLOAT novar 1", "$1\r\n1\r\n");
    EXPECT(&h, "GET novar", "$1\r\n1\r\n");
    EXPECT(&h, "INCRBYFLOAT novar 0.25", "$4\r\n1.25\r\n");
    EXPECT(&h, "GET novar", "$4\r\n1.25\r\n");
    EXPECT(&h, "SET novar 1.5", "+OK\r\n");
    EXPECT(&h, "INCRBYFLOAT novar 1.5", "$1\r\n3\r\n");
    EXPECT(&h, "SET novar 17179869184", "+OK\r\n");
    EXPECT(&h, "INCRBYFLOAT novar 1.5", "$13\r\n17179869185.5\r\n");
    EXPECT(&h, "SET novar 17179869184", "+OK\r\n");
    EXPECT(&h, "INCRBYFLOAT novar 17179869184", "$11\r\n34359738368\r\n");
    EXPECT(&h, "SET mykey 10.50", "+OK\r\n");
    EXPECT(&h, "INCRBYFLOAT mykey 0.1", "$4\r\n10.6\r\n");
    EXPECT(&h, "INCRBYFLOAT mykey -5", "$3\r\n5.6\r\n");
    EXPECT(&h, "SET mykey 5.0e3", "+OK\r\n");
    EXPECT(&h, "INCRBYFLOAT mykey 2.0e2", "$4\r\n5200\r\n");
    EXPECT(&h, "GET mykey", "$4\r\n5200\r\n");
    EXPECT(&h, "SET foo 1", "+OK\r\n");
    EXPECT(&h, "INCRBYFLOAT foo -1.1", "$4\r\n-0.1\r\n");
    /* No negative zero. */
    EXPECT(&h, "INCRBYFLOAT z 0.024390243902439025", "$19\r\n0.02439024390243902\r\n");
    EXPECT(&h, "INCRBYFLOAT z -0.024390243902439025", "$1\r\n0\r\n");
    EXPECT(&h, "INCRBYFLOAT z -0", "$1\r\n0\r\n");
    /* Hex and exponents as strtold reads them. */
    EXPECT(&h, "INCRBYFLOAT hx 0x10", "$2\r\n16\r\n");
    EXPECT(&h, "INCRBYFLOAT hx 1e-3", "$6\r\n16.001\r\n");
    h_free(&h);
}

Test(incrbyfloat, errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET novar \"    11\"", "+OK\r\n");
    EXPECT(&h, "INCRBYFLOAT novar 1.0", NOT_FLOAT);
    EXPECT(&h, "SET novar \"11    \"", "+OK\r\n");
    EXPECT(&h, "INCRBYFLOAT novar 1.0", NOT_FLOAT);
    EXPECT(&h, "SET novar \" 11 \"", "+OK\r\n");
    EXPECT(&h, "INCRBYFLOAT novar 1.0", NOT_FLOAT);
    EXPECT(&h, "SET novar abc", "+OK\r\n");
    EXPECT(&h, "INCRBYFLOAT novar 1.0", NOT_FLOAT);
    EXPECT(&h, "SET novar \"\"", "+OK\r\n");
    EXPECT(&h, "INCRBYFLOAT novar 1.0", NOT_FLOAT);
    EXPECT(&h, "INCRBYFLOAT x abc", NOT_FLOAT);
    EXPECT(&h, "INCRBYFLOAT x \"\"", NOT_FLOAT);
    EXPECT(&h, "INCRBYFLOAT x \" 1\"", NOT_FLOAT);
    EXPECT(&h, "INCRBYFLOAT x nan", NOT_FLOAT);
    EXPECT(&h, "INCRBYFLOAT x 1e99999", NOT_FLOAT);
    EXPECT(&h, "GET x", "$-1\r\n");
    /* A NUL inside the stored text (string to double with null terminator). */
    EXPECT(&h, "SET foo 1", "+OK\r\n");
    EXPECT(&h, "SETRANGE foo 2 2", ":3\r\n");
    EXPECT(&h, "INCRBYFLOAT foo 1", NOT_FLOAT);
    /* Infinity is refused. */
    EXPECT(&h, "SET foo 0", "+OK\r\n");
    EXPECT(&h, "INCRBYFLOAT foo +inf", "-ERR increment would produce NaN or Infinity\r\n");
    EXPECT(&h, "GET foo", "$1\r\n0\r\n");
    EXPECT(&h, "SET foo 1.1e4932", "+OK\r\n");
    EXPECT(&h, "INCRBYFLOAT foo 1.1e4932", "-ERR increment would produce NaN or Infinity\r\n");
    EXPECT(&h, "GET foo", "$8\r\n1.1e4932\r\n");
    make_hash(&h, "h");
    EXPECT(&h, "INCRBYFLOAT h 1.0", WRONGTYPE);
    /* The key's type is checked before the increment is parsed. */
    EXPECT(&h, "INCRBYFLOAT h abc", WRONGTYPE);
    /* Redis's string2ld takes at most 5 KiB of text. */
    size_t n = 5120;
    char *digits = malloc(n);
    memset(digits, '0', n);
    digits[n - 1] = '1';
    resp_slice argv[3] = {{"INCRBYFLOAT", 11}, {"big", 3}, {digits, n}};
    cr_assert_str_eq(runv(&h, 3, argv), NOT_FLOAT);
    argv[2].len = n - 1;
    cr_assert_str_eq(runv(&h, 3, argv), "$1\r\n0\r\n");
    free(digits);
    h_free(&h);
}

Test(incrbyfloat, keeps_ttl)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET f 1.5 PX 5000", "+OK\r\n");
    EXPECT(&h, "INCRBYFLOAT f 1", "$3\r\n2.5\r\n");
    cr_assert_eq(deadline_of(&h, "f"), NOW + 5000);
    /* A long result: stored as text, read back the same. */
    EXPECT(&h, "INCRBYFLOAT f 123456789012345678", "$20\r\n123456789012345680.5\r\n");
    EXPECT(&h, "GET f", "$20\r\n123456789012345680.5\r\n");
    cr_assert_eq(deadline_of(&h, "f"), NOW + 5000);
    h_free(&h);
}

static int snap_write(void *ctx, const char *buf, size_t len)
{
    kbuf_append(ctx, buf, len);
    return 0;
}

/* A snapshot round trip (codec) keeps every string encoding as it was:
 * INCRBYFLOAT's "3" stays an EMBSTR, it does not come back as an INT. */
Test(incrbyfloat, result_survives_snapshot_as_embstr)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "INCRBYFLOAT f 1.5", "$3\r\n1.5\r\n");
    EXPECT(&h, "INCRBYFLOAT f 1.5", "$1\r\n3\r\n");
    EXPECT(&h, "SET i 3", "+OK\r\n");
    EXPECT(&h, "SETRANGE r 0 42", ":2\r\n");
    EXPECT(&h, "OBJECT ENCODING f", "$6\r\nembstr\r\n");
    db *d = engine_db(&h.e, 0);
    kbuf img = KBUF_INIT;
    cr_assert_eq(codec_encode_db(d, snap_write, &img), 0);
    db_flush(d);
    const char *err = codec_decode_db(d, img.data, img.len, 99);
    cr_assert_null(err, "%s", err);
    kbuf_free(&img);
    EXPECT(&h, "GET f", "$1\r\n3\r\n");
    EXPECT(&h, "OBJECT ENCODING f", "$6\r\nembstr\r\n");
    EXPECT(&h, "OBJECT ENCODING i", "$3\r\nint\r\n");
    EXPECT(&h, "OBJECT ENCODING r", "$3\r\nraw\r\n");
    EXPECT(&h, "INCRBYFLOAT f 1", "$1\r\n4\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* GETRANGE SUBSTR SETRANGE */

Test(getrange, ranges)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "GETRANGE mykey 0 -1", "$0\r\n\r\n");
    EXPECT(&h, "SET mykey \"Hello World\"", "+OK\r\n");
    EXPECT(&h, "GETRANGE mykey 0 3", "$4\r\nHell\r\n");
    EXPECT(&h, "GETRANGE mykey 0 -1", "$11\r\nHello World\r\n");
    EXPECT(&h, "GETRANGE mykey -4 -1", "$4\r\norld\r\n");
    EXPECT(&h, "GETRANGE mykey 5 3", "$0\r\n\r\n");
    EXPECT(&h, "GETRANGE mykey 5 5000", "$6\r\n World\r\n");
    EXPECT(&h, "GETRANGE mykey -5000 10000", "$11\r\nHello World\r\n");
    EXPECT(&h, "GETRANGE mykey -1 -5", "$0\r\n\r\n");
    EXPECT(&h, "GETRANGE mykey 11 20", "$0\r\n\r\n");
    EXPECT(&h, "GETRANGE mykey 10 10", "$1\r\nd\r\n");
    EXPECT(&h, "GETRANGE mykey 0 4294967297", "$11\r\nHello World\r\n");
    EXPECT(&h, "GETRANGE mykey -9223372036854775808 9223372036854775807",
           "$11\r\nHello World\r\n");
    EXPECT(&h, "SUBSTR mykey 0 3", "$4\r\nHell\r\n");
    EXPECT(&h, "SUBSTR mykey -3 -2", "$2\r\nrl\r\n");
    EXPECT(&h, "SET mykey 1234", "+OK\r\n");
    EXPECT(&h, "GETRANGE mykey 0 2", "$3\r\n123\r\n");
    EXPECT(&h, "GETRANGE mykey 0 -1", "$4\r\n1234\r\n");
    EXPECT(&h, "GETRANGE mykey -3 -1", "$3\r\n234\r\n");
    EXPECT(&h, "GETRANGE mykey 5 3", "$0\r\n\r\n");
    EXPECT(&h, "GETRANGE mykey 3 5000", "$1\r\n4\r\n");
    EXPECT(&h, "GETRANGE mykey -5000 10000", "$4\r\n1234\r\n");
    EXPECT(&h, "SET e \"\"", "+OK\r\n");
    EXPECT(&h, "GETRANGE e 0 -1", "$0\r\n\r\n");
    EXPECT(&h, "GETRANGE e -1 0", "$0\r\n\r\n");
    EXPECT(&h, "SET b \"a\\x00b\"", "+OK\r\n");
    EXPECT_BIN(&h, "GETRANGE b 1 1", "$1\r\n\0\r\n");
    h_free(&h);
}

Test(getrange, errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "GETRANGE k a 1", NOT_INT);
    EXPECT(&h, "GETRANGE k 0 b", NOT_INT);
    EXPECT(&h, "SUBSTR k 0 1.5", NOT_INT);
    make_hash(&h, "h");
    EXPECT(&h, "GETRANGE h 0 -1", WRONGTYPE);
    EXPECT(&h, "GETRANGE h x -1", NOT_INT);
    EXPECT(&h, "GETRANGE k 0", "-ERR wrong number of arguments for 'getrange' command\r\n");
    EXPECT(&h, "SUBSTR k 0", "-ERR wrong number of arguments for 'substr' command\r\n");
    h_free(&h);
}

Test(setrange, missing_key)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SETRANGE mykey 0 foo", ":3\r\n");
    EXPECT(&h, "GET mykey", "$3\r\nfoo\r\n");
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "SETRANGE empty 0 \"\"", ":0\r\n");
    EXPECT(&h, "SETRANGE empty 100 \"\"", ":0\r\n");
    cr_assert_eq(deadline_of(&h, "empty"), -2);
    cr_assert_eq(h.e.stats.dirty, d);
    EXPECT(&h, "SETRANGE k2 1 foo", ":4\r\n");
    EXPECT_BIN(&h, "GET k2", "$4\r\n\0foo\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 1);
    h_free(&h);
}

Test(setrange, existing_key)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET mykey foo", "+OK\r\n");
    EXPECT(&h, "SETRANGE mykey 0 b", ":3\r\n");
    EXPECT(&h, "GET mykey", "$3\r\nboo\r\n");
    EXPECT(&h, "SET mykey foo", "+OK\r\n");
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "SETRANGE mykey 0 \"\"", ":3\r\n");
    EXPECT(&h, "SETRANGE mykey 1000 \"\"", ":3\r\n");
    cr_assert_eq(h.e.stats.dirty, d);
    EXPECT(&h, "GET mykey", "$3\r\nfoo\r\n");
    EXPECT(&h, "SETRANGE mykey 1 b", ":3\r\n");
    EXPECT(&h, "GET mykey", "$3\r\nfbo\r\n");
    EXPECT(&h, "SET mykey foo", "+OK\r\n");
    EXPECT(&h, "SETRANGE mykey 4 bar", ":7\r\n");
    EXPECT_BIN(&h, "GET mykey", "$7\r\nfoo\0bar\r\n");
    /* Integer values. */
    EXPECT(&h, "SET mykey 1234", "+OK\r\n");
    EXPECT(&h, "SETRANGE mykey 0 2", ":4\r\n");
    EXPECT(&h, "GET mykey", "$4\r\n2234\r\n");
    EXPECT(&h, "SET mykey 1234", "+OK\r\n");
    EXPECT(&h, "SETRANGE mykey 0 \"\"", ":4\r\n");
    EXPECT(&h, "GET mykey", "$4\r\n1234\r\n");
    EXPECT(&h, "SETRANGE mykey 1 3", ":4\r\n");
    EXPECT(&h, "GET mykey", "$4\r\n1334\r\n");
    EXPECT(&h, "SET mykey 1234", "+OK\r\n");
    EXPECT(&h, "SETRANGE mykey 5 2", ":6\r\n");
    EXPECT_BIN(&h, "GET mykey", "$6\r\n1234\0002\r\n");
    /* The TTL stays. */
    EXPECT(&h, "SET t abc EX 100", "+OK\r\n");
    EXPECT(&h, "SETRANGE t 1 X", ":3\r\n");
    EXPECT(&h, "GET t", "$3\r\naXc\r\n");
    cr_assert_eq(deadline_of(&h, "t"), NOW + 100000);
    h_free(&h);
}

Test(setrange, errors_and_limits)
{
    harness h;
    h_init(&h);
    const char *too_big = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
    EXPECT(&h, "SETRANGE mykey 536870908 world", too_big);
    EXPECT(&h, "SET mykey hello", "+OK\r\n");
    EXPECT(&h, "SETRANGE mykey -1 world", "-ERR offset is out of range\r\n");
    EXPECT(&h, "SETRANGE mykey 536870908 world", too_big);
    EXPECT(&h, "SETRANGE K 9223372036854775807 A", too_big);
    EXPECT(&h, "SETRANGE K 2147483647 A", too_big);
    EXPECT(&h, "SETRANGE K 9223372036854775808 A", NOT_INT);
    EXPECT(&h, "SETRANGE K x A", NOT_INT);
    EXPECT(&h, "GET K", "$-1\r\n");
    /* The limit is the configured one, to the byte. */
    h.e.cfg.proto_max_bulk_len = 8;
    EXPECT(&h, "SETRANGE L 3 abcde", ":8\r\n");
    EXPECT(&h, "SETRANGE L 4 abcde", too_big);
    EXPECT(&h, "SETRANGE L 8 \"\"", ":8\r\n");
    make_hash(&h, "h");
    EXPECT(&h, "SETRANGE h 0 bar", WRONGTYPE);
    /* The offset is checked before the type. */
    EXPECT(&h, "SETRANGE h -1 bar", "-ERR offset is out of range\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* LCS */

#define RNA1                                                                                  \
    "CACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCAC" \
    "TCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTC" \
    "TGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTTCGTCCGGGTGTG"
#define RNA2                                                                                  \
    "ATTAAAGGTTTATACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTG" \
    "TGTGGCTGTCACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAAC" \
    "TCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT"
#define RNALCS                                                                                \
    "ACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACT" \
    "CGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTG" \
    "CAGGCTGCTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT"

/* One IDX range: [[a1, a2], [b1, b2]] (+ length). */
#define RANGE(a1, a2, b1, b2) "*2\r\n*2\r\n:" a1 "\r\n:" a2 "\r\n*2\r\n:" b1 "\r\n:" b2 "\r\n"
#define RANGEL(a1, a2, b1, b2, l)                                                             \
    "*3\r\n*2\r\n:" a1 "\r\n:" a2 "\r\n*2\r\n:" b1 "\r\n:" b2 "\r\n:" l "\r\n"

Test(lcs, rna)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET virus1 " RNA1, "+OK\r\n");
    EXPECT(&h, "SET virus2 " RNA2, "+OK\r\n");
    EXPECT(&h, "LCS virus1 virus2", "$227\r\n" RNALCS "\r\n");
    EXPECT(&h, "LCS virus1 virus2 LEN", ":227\r\n");
    EXPECT(&h, "LCS virus1 virus2 IDX",
           "*4\r\n$7\r\nmatches\r\n*5\r\n" RANGE("238", "238", "239", "239")
               RANGE("236", "236", "238", "238") RANGE("229", "230", "236", "237")
                   RANGE("224", "224", "235", "235") RANGE("1", "222", "13", "234")
                       "$3\r\nlen\r\n:227\r\n");
    EXPECT(&h, "LCS virus1 virus2 IDX WITHMATCHLEN",
           "*4\r\n$7\r\nmatches\r\n*5\r\n" RANGEL("238", "238", "239", "239", "1")
               RANGEL("236", "236", "238", "238", "1") RANGEL("229", "230", "236", "237", "2")
                   RANGEL("224", "224", "235", "235", "1") RANGEL("1", "222", "13", "234", "222")
                       "$3\r\nlen\r\n:227\r\n");
    EXPECT(&h, "LCS virus1 virus2 IDX WITHMATCHLEN MINMATCHLEN 5",
           "*4\r\n$7\r\nmatches\r\n*1\r\n" RANGEL("1", "222", "13", "234", "222")
           "$3\r\nlen\r\n:227\r\n");
    h_free(&h);
}

Test(lcs, small_examples_and_options)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "MSET key1 ohmytext key2 mynewtext", "+OK\r\n");
    EXPECT(&h, "LCS key1 key2", "$6\r\nmytext\r\n");
    EXPECT(&h, "LCS key1 key2 len", ":6\r\n");
    EXPECT(&h, "LCS key1 key2 IDX",
           "*4\r\n$7\r\nmatches\r\n*2\r\n" RANGE("4", "7", "5", "8") RANGE("2", "3", "0", "1")
           "$3\r\nlen\r\n:6\r\n");
    EXPECT(&h, "LCS key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN",
           "*4\r\n$7\r\nmatches\r\n*1\r\n" RANGEL("4", "7", "5", "8", "4")
           "$3\r\nlen\r\n:6\r\n");
    /* A negative MINMATCHLEN is 0; options may repeat. */
    EXPECT(&h, "LCS key1 key2 IDX MINMATCHLEN -3 IDX",
           "*4\r\n$7\r\nmatches\r\n*2\r\n" RANGE("4", "7", "5", "8") RANGE("2", "3", "0", "1")
           "$3\r\nlen\r\n:6\r\n");
    /* No match at all, missing keys, the same key twice, integers. */
    EXPECT(&h, "MSET a abc b xyz n 12345", "+OK\r\n");
    EXPECT(&h, "LCS a b", "$0\r\n\r\n");
    EXPECT(&h, "LCS a b IDX", "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n");
    EXPECT(&h, "LCS a nokey LEN", ":0\r\n");
    EXPECT(&h, "LCS nokey1 nokey2", "$0\r\n\r\n");
    EXPECT(&h, "LCS a a", "$3\r\nabc\r\n");
    EXPECT(&h, "LCS a a IDX", "*4\r\n$7\r\nmatches\r\n*1\r\n" RANGE("0", "2", "0", "2")
                              "$3\r\nlen\r\n:3\r\n");
    EXPECT(&h, "SET m 9234", "+OK\r\n");
    EXPECT(&h, "LCS n m", "$3\r\n234\r\n");
    h_free(&h);
}

Test(lcs, errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "MSET a abc b abd", "+OK\r\n");
    EXPECT(&h, "LCS a b LEN IDX",
           "-ERR If you want both the length and indexes, please just use IDX.\r\n");
    EXPECT(&h, "LCS a b FOO", SYNTAX);
    EXPECT(&h, "LCS a b MINMATCHLEN", SYNTAX);
    EXPECT(&h, "LCS a b MINMATCHLEN x", NOT_INT);
    EXPECT(&h, "LCS a", "-ERR wrong number of arguments for 'lcs' command\r\n");
    make_hash(&h, "h");
    EXPECT(&h, "LCS a h", "-ERR The specified keys must contain string values\r\n");
    EXPECT(&h, "LCS h nokey FOO", "-ERR The specified keys must contain string values\r\n");
    /* The table must fit in proto-max-bulk-len: (3+1)*(3+1)*4 = 64 bytes. */
    h.e.cfg.proto_max_bulk_len = 63;
    EXPECT(&h, "LCS a b",
           "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n");
    h.e.cfg.proto_max_bulk_len = 64;
    EXPECT(&h, "LCS a b", "$2\r\nab\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* WATCH and MULTI */

Test(string_watch, writes_touch_watched_keys)
{
    static const char *const writes[] = {
        "SET k x",          "SETNX k2 x",        "SETEX k 10 x",     "APPEND k x",
        "SETRANGE k 0 x",   "INCR n",            "DECRBY n 2",       "INCRBYFLOAT n 1.5",
        "GETSET k y",       "GETDEL k",          "GETEX k EX 100",   "GETEX t PERSIST",
        "MSET a 1 k 2",     "MSETNX k2 1 z 2",
    };
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        harness h;
        h_init(&h);
        client *other = engine_client_new(&h.e, h.now_ms);
        EXPECT(&h, "SET k v", "+OK\r\n");
        EXPECT(&h, "SET n 1", "+OK\r\n");
        EXPECT(&h, "SET t v EX 100", "+OK\r\n");
        EXPECT(&h, "WATCH k k2 n t", "+OK\r\n");
        h_run_as(&h, other, writes[i]);
        EXPECT(&h, "MULTI", "+OK\r\n");
        EXPECT(&h, "GET k", "+QUEUED\r\n");
        cr_assert_str_eq(h_run(&h, "EXEC"), "*-1\r\n", "%s did not touch the key", writes[i]);
        h_free(&h);
    }
}

Test(string_watch, reads_and_no_ops_do_not_touch)
{
    static const char *const reads[] = {
        "GET k",      "MGET k n",        "STRLEN k",        "GETRANGE k 0 -1",
        "GETEX k",    "GETEX k PERSIST", "SET k x NX",      "SET nokey x XX",
        "SETNX k y",  "MSETNX k 1 z 2",  "SETRANGE k 0 \"\"", "LCS k n",
        "INCR k",     "SET k v GET XX EX 0",
    };
    for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
        harness h;
        h_init(&h);
        client *other = engine_client_new(&h.e, h.now_ms);
        EXPECT(&h, "SET k v", "+OK\r\n");
        EXPECT(&h, "SET n 1", "+OK\r\n");
        EXPECT(&h, "WATCH k n nokey z", "+OK\r\n");
        h_run_as(&h, other, reads[i]);
        EXPECT(&h, "MULTI", "+OK\r\n");
        EXPECT(&h, "GET k", "+QUEUED\r\n");
        cr_assert_str_eq(h_run(&h, "EXEC"), "*1\r\n$1\r\nv\r\n", "%s touched a key", reads[i]);
        h_free(&h);
    }
}

Test(string_multi, in_a_transaction)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "SET a 1", "+QUEUED\r\n");
    EXPECT(&h, "INCRBY a 10", "+QUEUED\r\n");
    EXPECT(&h, "SET b x EX 0", "+QUEUED\r\n");
    EXPECT(&h, "MSET a", "-ERR wrong number of arguments for 'mset' command\r\n");
    EXPECT(&h, "DISCARD", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "SET a 1", "+QUEUED\r\n");
    EXPECT(&h, "INCRBY a 10", "+QUEUED\r\n");
    EXPECT(&h, "SETEX b 0 x", "+QUEUED\r\n");
    EXPECT(&h, "MGET a b", "+QUEUED\r\n");
    EXPECT(&h, "EXEC",
           "*4\r\n+OK\r\n:11\r\n-ERR invalid expire time in 'setex' command\r\n"
           "*2\r\n$2\r\n11\r\n$-1\r\n");
    h_free(&h);
}
