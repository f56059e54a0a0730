/* RESP3: the writer's RESP3 types in both protocols, HELLO 2/3, every
 * command whose reply type Redis 7.0 changes under HELLO 3, and DEBUG
 * PROTOCOL, against Redis 7.0.15's bytes (networking.c, t_*.c, debug.c).
 * RESP2 replies of the same commands are checked to stay as they were. */
#include <math.h>

#include "engine_harness.h"
#include "core/resp/writer.h"

/* ------------------------------------------------------------------------ */
/* The writer */

static const char *take(kbuf *b)
{
    static char s[512];
    cr_assert_lt(b->len, sizeof(s));
    memcpy(s, b->data, b->len);
    s[b->len] = '\0';
    kbuf_clear(b);
    return s;
}

Test(resp3_writer, null_map_set_attribute_push)
{
    kbuf b = KBUF_INIT;
    resp_add_null3(&b);
    cr_assert_str_eq(take(&b), "_\r\n");
    resp_add_map(&b, 3, 2);
    cr_assert_str_eq(take(&b), "%2\r\n");
    resp_add_map(&b, 2, 2);
    cr_assert_str_eq(take(&b), "*4\r\n");
    resp_add_map(&b, 3, 0);
    cr_assert_str_eq(take(&b), "%0\r\n");
    resp_add_map(&b, 2, 0);
    cr_assert_str_eq(take(&b), "*0\r\n");
    resp_add_set(&b, 3, 12);
    cr_assert_str_eq(take(&b), "~12\r\n");
    resp_add_set(&b, 2, 12);
    cr_assert_str_eq(take(&b), "*12\r\n");
    resp_add_attribute(&b, 1);
    cr_assert_str_eq(take(&b), "|1\r\n");
    resp_add_push(&b, 3);
    cr_assert_str_eq(take(&b), ">3\r\n");
    kbuf_free(&b);
}

Test(resp3_writer, bool_bignum_verbatim)
{
    kbuf b = KBUF_INIT;
    resp_add_bool(&b, 3, true);
    cr_assert_str_eq(take(&b), "#t\r\n");
    resp_add_bool(&b, 3, false);
    cr_assert_str_eq(take(&b), "#f\r\n");
    resp_add_bool(&b, 2, true);
    cr_assert_str_eq(take(&b), ":1\r\n");
    resp_add_bool(&b, 2, false);
    cr_assert_str_eq(take(&b), ":0\r\n");

    resp_add_bignum(&b, 3, "-123456789012345678901234567890", 31);
    cr_assert_str_eq(take(&b), "(-123456789012345678901234567890\r\n");
    resp_add_bignum(&b, 2, "123456789012345678901234567890", 30);
    cr_assert_str_eq(take(&b), "$30\r\n123456789012345678901234567890\r\n");

    resp_add_verbatim(&b, 3, "a\nb", 3, "txt");
    cr_assert_str_eq(take(&b), "=7\r\ntxt:a\nb\r\n");
    resp_add_verbatim(&b, 2, "a\nb", 3, "txt");
    cr_assert_str_eq(take(&b), "$3\r\na\nb\r\n");
    /* The format is three characters, padded with spaces, cut after three. */
    resp_add_verbatim(&b, 3, "x", 1, "md");
    cr_assert_str_eq(take(&b), "=5\r\nmd :x\r\n");
    resp_add_verbatim(&b, 3, "", 0, "markdown");
    cr_assert_str_eq(take(&b), "=4\r\nmar:\r\n");
    resp_add_verbatim(&b, 2, "", 0, "txt");
    cr_assert_str_eq(take(&b), "$0\r\n\r\n");
    kbuf_free(&b);
}

Test(resp3_writer, double)
{
    kbuf b = KBUF_INIT;
    resp_add_double(&b, 3, 3.141);
    cr_assert_str_eq(take(&b), ",3.141\r\n");
    resp_add_double(&b, 3, 1.5);
    cr_assert_str_eq(take(&b), ",1.5\r\n");
    resp_add_double(&b, 3, 3);
    cr_assert_str_eq(take(&b), ",3\r\n");
    resp_add_double(&b, 3, -0.0);
    cr_assert_str_eq(take(&b), ",-0\r\n");
    resp_add_double(&b, 3, 0.1);
    cr_assert_str_eq(take(&b), ",0.10000000000000001\r\n");
    resp_add_double(&b, 3, 1e300);
    cr_assert_str_eq(take(&b), ",1.0000000000000001e+300\r\n");
    resp_add_double(&b, 3, 1e17);
    cr_assert_str_eq(take(&b), ",1e+17\r\n");
    resp_add_double(&b, 3, INFINITY);
    cr_assert_str_eq(take(&b), ",inf\r\n");
    resp_add_double(&b, 3, -INFINITY);
    cr_assert_str_eq(take(&b), ",-inf\r\n");
    resp_add_double(&b, 3, NAN);
    cr_assert_str_eq(take(&b), ",nan\r\n");
    resp_add_double(&b, 2, 3.141);
    cr_assert_str_eq(take(&b), "$5\r\n3.141\r\n");
    resp_add_double(&b, 2, -INFINITY);
    cr_assert_str_eq(take(&b), "$4\r\n-inf\r\n");
    resp_add_double(&b, 2, 0.1);
    cr_assert_str_eq(take(&b), "$19\r\n0.10000000000000001\r\n");
    kbuf_free(&b);
}

Test(resp3_writer, deferred_map_and_set)
{
    kbuf b = KBUF_INIT;
    size_t m = resp_add_array_deferred(&b);
    resp_add_int(&b, 1);
    resp_add_int(&b, 2);
    resp_set_map_deferred(&b, m, 3, 1);
    cr_assert_str_eq(take(&b), "%1\r\n:1\r\n:2\r\n");
    m = resp_add_array_deferred(&b);
    resp_add_int(&b, 1);
    resp_add_int(&b, 2);
    resp_set_map_deferred(&b, m, 2, 1);
    cr_assert_str_eq(take(&b), "*2\r\n:1\r\n:2\r\n");
    m = resp_add_array_deferred(&b);
    resp_add_int(&b, 7);
    resp_set_set_deferred(&b, m, 3, 1);
    cr_assert_str_eq(take(&b), "~1\r\n:7\r\n");
    m = resp_add_array_deferred(&b);
    resp_add_int(&b, 7);
    resp_set_set_deferred(&b, m, 2, 1);
    cr_assert_str_eq(take(&b), "*1\r\n:7\r\n");
    m = resp_add_array_deferred(&b);
    resp_set_set_deferred(&b, m, 3, 0);
    cr_assert_str_eq(take(&b), "~0\r\n");
    kbuf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* HELLO */

static const char hello2[] =
    "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:2\r\n"
    "$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$7\r\nmodules\r\n*0\r\n";
static const char hello3[] =
    "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n"
    "$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$7\r\nmodules\r\n*0\r\n";

Test(resp3_hello, switches_protocol)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "HELLO", hello2);
    EXPECT(&h, "GET nokey", "$-1\r\n");
    EXPECT(&h, "HELLO 3", hello3);
    EXPECT(&h, "GET nokey", "_\r\n");
    /* HELLO without a version keeps the current one. */
    EXPECT(&h, "HELLO", hello3);
    EXPECT(&h, "HELLO 4", "-NOPROTO unsupported protocol version\r\n");
    EXPECT(&h, "HELLO 1", "-NOPROTO unsupported protocol version\r\n");
    EXPECT(&h, "GET nokey", "_\r\n");
    EXPECT(&h, "HELLO 2", hello2);
    EXPECT(&h, "GET nokey", "$-1\r\n");
    EXPECT(&h, "HELLO 3", hello3);
    /* RESET goes back to RESP2. */
    EXPECT(&h, "RESET", "+RESET\r\n");
    EXPECT(&h, "GET nokey", "$-1\r\n");
    /* The protocol is per client. */
    client *other = engine_client_new(&h.e, h.now_ms);
    EXPECT(&h, "HELLO 3", hello3);
    EXPECT_AS(&h, other, "GET nokey", "$-1\r\n");
    EXPECT(&h, "GET nokey", "_\r\n");
    h_free(&h);
}

Test(resp3_hello, auth_and_setname)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "CONFIG SET requirepass secret", "+OK\r\n");
    client *c = engine_client_new(&h.e, h.now_ms);
    EXPECT_AS(&h, c, "HELLO 3",
              "-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
              "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
              "the RESP protocol version at the same time\r\n");
    EXPECT_AS(&h, c, "HELLO 3 AUTH default wrong",
              "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    /* Still RESP2 after the failures. */
    EXPECT_AS(&h, c, "PING", "-NOAUTH Authentication required.\r\n");
    const char *r = h_run_as(&h, c, "HELLO 3 AUTH default secret SETNAME cli");
    cr_assert(!strncmp(r, "%7\r\n$6\r\nserver\r\n", 16), "%s", r);
    cr_assert(strstr(r, "$5\r\nproto\r\n:3\r\n"), "%s", r);
    EXPECT_AS(&h, c, "CLIENT GETNAME", "$3\r\ncli\r\n");
    EXPECT_AS(&h, c, "GET nokey", "_\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* Nulls */

Test(resp3_null, bulk_and_array_nulls)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "HELLO 3", hello3);
    EXPECT(&h, "GET k", "_\r\n");
    EXPECT(&h, "SET k v", "+OK\r\n");
    EXPECT(&h, "MGET k nokey", "*2\r\n$1\r\nv\r\n_\r\n");
    EXPECT(&h, "HGET h f", "_\r\n");
    EXPECT(&h, "LPOP nolist", "_\r\n");
    EXPECT(&h, "LPOP nolist 2", "_\r\n");
    EXPECT(&h, "LMPOP 1 nolist LEFT", "_\r\n");
    EXPECT(&h, "SPOP noset", "_\r\n");
    EXPECT(&h, "SRANDMEMBER noset", "_\r\n");
    EXPECT(&h, "ZSCORE noz m", "_\r\n");
    EXPECT(&h, "ZRANDMEMBER noz", "_\r\n");
    EXPECT(&h, "HRANDFIELD noh", "_\r\n");
    EXPECT(&h, "RANDOMKEY", "$1\r\nk\r\n");
    EXPECT(&h, "DEL k", ":1\r\n");
    EXPECT(&h, "RANDOMKEY", "_\r\n");
    EXPECT(&h, "COMMAND INFO nosuch", "*1\r\n_\r\n");
    /* A WATCHed key changed: EXEC's null array. */
    client *other = engine_client_new(&h.e, h.now_ms);
    EXPECT(&h, "WATCH w", "+OK\r\n");
    EXPECT_AS(&h, other, "SET w 1", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "GET w", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "_\r\n");
    /* Replies inside EXEC follow the client's protocol too. */
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "GET nokey", "+QUEUED\r\n");
    EXPECT(&h, "ZSCORE noz m", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*2\r\n_\r\n_\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* Hashes */

Test(resp3_hash, hgetall_map_hkeys_hvals_arrays)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "HSET h a 1 b 2", ":2\r\n");
    EXPECT(&h, "HGETALL h", "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
    EXPECT(&h, "HGETALL nokey", "*0\r\n");
    EXPECT(&h, "HELLO 3", hello3);
    EXPECT(&h, "HGETALL h", "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
    EXPECT(&h, "HGETALL nokey", "%0\r\n");
    EXPECT(&h, "HKEYS h", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT(&h, "HVALS h", "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    EXPECT(&h, "HMGET h a x", "*2\r\n$1\r\n1\r\n_\r\n");
    /* HINCRBYFLOAT stays a bulk string, as Redis. */
    EXPECT(&h, "HINCRBYFLOAT h a 0.5", "$3\r\n1.5\r\n");
    h_free(&h);
}

Test(resp3_hash, hrandfield_withvalues_pairs)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "HSET h a 1", ":1\r\n");
    EXPECT(&h, "HRANDFIELD h 2 WITHVALUES", "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT(&h, "HRANDFIELD h -2 WITHVALUES", "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT(&h, "HELLO 3", hello3);
    EXPECT(&h, "HRANDFIELD h 2 WITHVALUES", "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT(&h, "HRANDFIELD h 1 WITHVALUES", "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT(&h, "HRANDFIELD h -2 WITHVALUES",
           "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT(&h, "HRANDFIELD h -2", "*2\r\n$1\r\na\r\n$1\r\na\r\n");
    EXPECT(&h, "HRANDFIELD h 0 WITHVALUES", "*0\r\n");
    EXPECT(&h, "HRANDFIELD nokey 2 WITHVALUES", "*0\r\n");
    EXPECT(&h, "HRANDFIELD h", "$1\r\na\r\n");

    /* Every path (shuffle, draws, whole hash, listpack and hashtable):
     * n pairs of [field, value] with value = field's. */
    for (int i = 0; i < 300; i++)
        h_runf(&h, "HSET big f%d f%d", i, i);
    for (int i = 0; i < 10; i++)
        h_runf(&h, "HSET small f%d f%d", i, i);
    const char *cases[] = {"big 5", "big 250", "big 400", "big -7", "small 3", "small 8",
                           "small 20", "small -4"};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const char *r = h_runf(&h, "HRANDFIELD %s WITHVALUES", cases[c]);
        long n = strtol(r + 1, NULL, 10);
        cr_assert_gt(n, 0, "%s", cases[c]);
        const char *p = strstr(r, "\r\n") + 2;
        for (long i = 0; i < n; i++) {
            cr_assert(!strncmp(p, "*2\r\n$", 5), "%s: %s", cases[c], p);
            p += 4;
            char f[32], v[32];
            int fl, vl, used;
            cr_assert_eq(sscanf(p, "$%d\r\n%31[^\r]\r\n$%d\r\n%31[^\r]\r\n%n", &fl, f, &vl, v, &used), 4);
            cr_assert_str_eq(f, v);
            p += used;
        }
        cr_assert_eq(*p, '\0', "%s", cases[c]);
    }
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* Sets */

Test(resp3_set, set_replies)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD s 1 2 3", ":3\r\n");
    EXPECT(&h, "SADD t 2 3 4", ":3\r\n");
    EXPECT(&h, "SMEMBERS s", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    EXPECT(&h, "SINTER s t", "*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
    EXPECT(&h, "HELLO 3", hello3);
    EXPECT(&h, "SMEMBERS s", "~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    EXPECT(&h, "SMEMBERS nokey", "~0\r\n");
    EXPECT(&h, "SINTER s t", "~2\r\n$1\r\n2\r\n$1\r\n3\r\n");
    EXPECT(&h, "SINTER s nokey", "~0\r\n");
    EXPECT(&h, "SUNION s t", "~4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    EXPECT(&h, "SUNION nokey", "~0\r\n");
    EXPECT(&h, "SDIFF s t", "~1\r\n$1\r\n1\r\n");
    EXPECT(&h, "SDIFF nokey t", "~0\r\n");
    /* The store and card variants are integers, SMISMEMBER an array. */
    EXPECT(&h, "SINTERSTORE d s t", ":2\r\n");
    EXPECT(&h, "SINTERCARD 2 s t", ":2\r\n");
    EXPECT(&h, "SMISMEMBER s 1 9", "*2\r\n:1\r\n:0\r\n");
    /* SRANDMEMBER with a count is an array, as Redis. */
    EXPECT(&h, "SRANDMEMBER s 5", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    EXPECT(&h, "SRANDMEMBER s 0", "*0\r\n");
    EXPECT(&h, "SRANDMEMBER nokey 3", "*0\r\n");
    const char *r = h_run(&h, "SRANDMEMBER s 2");
    cr_assert(!strncmp(r, "*2\r\n", 4), "%s", r);
    r = h_run(&h, "SRANDMEMBER s -4");
    cr_assert(!strncmp(r, "*4\r\n", 4), "%s", r);
    /* SPOP with a count is a set (all of it, a few, most of it). */
    EXPECT(&h, "SPOP nokey 3", "~0\r\n");
    EXPECT(&h, "SPOP s 0", "~0\r\n");
    r = h_run(&h, "SPOP s 1");
    cr_assert(!strncmp(r, "~1\r\n", 4), "%s", r);
    r = h_run(&h, "SPOP s 5");
    cr_assert(!strncmp(r, "~2\r\n", 4), "%s", r);
    EXPECT(&h, "EXISTS s", ":0\r\n");
    h_free(&h);
}

Test(resp3_set, spop_cases)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "HELLO 3", hello3);
    for (int i = 0; i < 100; i++)
        h_runf(&h, "SADD s m%d", i);
    const char *r = h_run(&h, "SPOP s 3"); /* a few of many */
    cr_assert(!strncmp(r, "~3\r\n", 4), "%s", r);
    r = h_run(&h, "SPOP s 90"); /* most of it */
    cr_assert(!strncmp(r, "~90\r\n", 5), "%s", r);
    r = h_run(&h, "SPOP s 90"); /* all that is left */
    cr_assert(!strncmp(r, "~7\r\n", 4), "%s", r);
    EXPECT(&h, "EXISTS s", ":0\r\n");
    EXPECT(&h, "SADD s a", ":1\r\n");
    EXPECT(&h, "SPOP s", "$1\r\na\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* Sorted sets */

Test(resp3_zset, scores_are_doubles)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "HELLO 3", hello3);
    EXPECT(&h, "ZADD z 1 a 2.5 b", ":2\r\n");
    EXPECT(&h, "ZSCORE z a", ",1\r\n");
    EXPECT(&h, "ZSCORE z b", ",2.5\r\n");
    EXPECT(&h, "ZMSCORE z a x b", "*3\r\n,1\r\n_\r\n,2.5\r\n");
    EXPECT(&h, "ZINCRBY z 0.5 a", ",1.5\r\n");
    EXPECT(&h, "ZADD z INCR 1 a", ",2.5\r\n");
    EXPECT(&h, "ZADD z NX INCR 1 a", "_\r\n");
    EXPECT(&h, "ZADD z INCR -inf c", ",-inf\r\n");
    EXPECT(&h, "ZADD z INCR 0.1 d", ",0.10000000000000001\r\n");
    EXPECT(&h, "ZRANK z a", ":2\r\n");
    /* INCRBYFLOAT stays a bulk string, as Redis. */
    EXPECT(&h, "INCRBYFLOAT f 1.5", "$3\r\n1.5\r\n");
    h_free(&h);
}

static void zfill(harness *h)
{
    EXPECT(h, "ZADD z 1 a 2 b 3 c", ":3\r\n");
    EXPECT(h, "ZADD y 10 b 20 x", ":2\r\n");
}

Test(resp3_zset, ranges_withscores_nested)
{
    harness h;
    h_init(&h);
    zfill(&h);
    /* RESP2: flat. */
    EXPECT(&h, "ZRANGE z 0 1 WITHSCORES", "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
    EXPECT(&h, "HELLO 3", hello3);
    EXPECT(&h, "ZRANGE z 0 1 WITHSCORES", "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n");
    EXPECT(&h, "ZRANGE z 0 1", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT(&h, "ZRANGE z 5 9 WITHSCORES", "*0\r\n");
    EXPECT(&h, "ZRANGE z (1 3 BYSCORE WITHSCORES", "*2\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n");
    EXPECT(&h, "ZREVRANGE z 0 0 WITHSCORES", "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n");
    EXPECT(&h, "ZRANGEBYSCORE z 2 +inf WITHSCORES",
           "*2\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n");
    EXPECT(&h, "ZREVRANGEBYSCORE z +inf 3 WITHSCORES", "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n");
    EXPECT(&h, "ZRANGEBYLEX z [a [b", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT(&h, "ZRANGESTORE d z 0 -1", ":3\r\n");
    EXPECT(&h, "ZUNION 2 z y WITHSCORES",
           "*4\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nb\r\n,12\r\n"
           "*2\r\n$1\r\nx\r\n,20\r\n");
    EXPECT(&h, "ZUNION 2 z y", "*4\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\nx\r\n");
    EXPECT(&h, "ZINTER 2 z y WITHSCORES", "*1\r\n*2\r\n$1\r\nb\r\n,12\r\n");
    EXPECT(&h, "ZDIFF 2 z y WITHSCORES", "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nc\r\n,3\r\n");
    EXPECT(&h, "ZDIFF 2 nokey y WITHSCORES", "*0\r\n");
    EXPECT(&h, "ZINTERCARD 2 z y", ":1\r\n");
    h_free(&h);
}

Test(resp3_zset, pops)
{
    harness h;
    h_init(&h);
    zfill(&h);
    EXPECT(&h, "ZPOPMIN z", "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT(&h, "ZADD z 1 a", ":1\r\n");
    EXPECT(&h, "HELLO 3", hello3);
    /* Without a count: flat [member, score]; with one: nested. */
    EXPECT(&h, "ZPOPMIN z", "*2\r\n$1\r\na\r\n,1\r\n");
    EXPECT(&h, "ZPOPMAX z 1", "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n");
    EXPECT(&h, "ZADD z 1 a 3 c", ":2\r\n");
    EXPECT(&h, "ZPOPMIN z 2", "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n");
    EXPECT(&h, "ZPOPMIN z 0", "*0\r\n");
    EXPECT(&h, "ZPOPMIN nokey", "*0\r\n");
    EXPECT(&h, "ZPOPMAX nokey 3", "*0\r\n");
    EXPECT(&h, "ZMPOP 2 nokey y MIN COUNT 5",
           "*2\r\n$1\r\ny\r\n*2\r\n*2\r\n$1\r\nb\r\n,10\r\n*2\r\n$1\r\nx\r\n,20\r\n");
    EXPECT(&h, "ZMPOP 1 nokey MAX", "_\r\n");
    EXPECT(&h, "ZMPOP 1 z MAX", "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nc\r\n,3\r\n");
    h_free(&h);
}

Test(resp3_zset, zrandmember_withscores_pairs)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "ZADD z 1.5 a", ":1\r\n");
    EXPECT(&h, "ZRANDMEMBER z 3 WITHSCORES", "*2\r\n$1\r\na\r\n$3\r\n1.5\r\n");
    EXPECT(&h, "HELLO 3", hello3);
    EXPECT(&h, "ZRANDMEMBER z 3 WITHSCORES", "*1\r\n*2\r\n$1\r\na\r\n,1.5\r\n");
    EXPECT(&h, "ZRANDMEMBER z 1 WITHSCORES", "*1\r\n*2\r\n$1\r\na\r\n,1.5\r\n");
    EXPECT(&h, "ZRANDMEMBER z -2 WITHSCORES", "*2\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\na\r\n,1.5\r\n");
    EXPECT(&h, "ZRANDMEMBER z -2", "*2\r\n$1\r\na\r\n$1\r\na\r\n");
    EXPECT(&h, "ZRANDMEMBER z 0 WITHSCORES", "*0\r\n");
    EXPECT(&h, "ZRANDMEMBER nokey 2 WITHSCORES", "*0\r\n");
    EXPECT(&h, "ZRANDMEMBER z", "$1\r\na\r\n");
    /* The shuffle path: count < size. */
    EXPECT(&h, "ZADD z 2 b 3 c 4 d", ":3\r\n");
    const char *r = h_run(&h, "ZRANDMEMBER z 2 WITHSCORES");
    cr_assert(!strncmp(r, "*2\r\n*2\r\n$1\r\n", 12), "%s", r);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* Server, connection, strings */

Test(resp3_server, config_get_map)
{
    harness h;
    h_init(&h);
    const char *r2 = h_run(&h, "CONFIG GET hz");
    cr_assert(!strncmp(r2, "*2\r\n$2\r\nhz\r\n", 12), "%s", r2);
    char *want = strdup(r2 + 4);
    EXPECT(&h, "HELLO 3", hello3);
    const char *r3 = h_run(&h, "CONFIG GET hz");
    cr_assert(!strncmp(r3, "%1\r\n", 4), "%s", r3);
    cr_assert_str_eq(r3 + 4, want);
    EXPECT(&h, "CONFIG GET nosuch", "%0\r\n");
    r3 = h_run(&h, "CONFIG GET zset-max-*");
    cr_assert(!strncmp(r3, "%4\r\n", 4), "%s", r3); /* the aliases match too */
    free(want);
    h_free(&h);
}

Test(resp3_server, info_and_client_verbatim)
{
    harness h;
    h_init(&h);
    const char *r = h_run(&h, "INFO keyspace");
    cr_assert(!strncmp(r, "$", 1), "%s", r);
    char *body2 = strdup(strstr(r, "\r\n") + 2);
    EXPECT(&h, "HELLO 3", hello3);
    r = h_run(&h, "INFO keyspace");
    /* =<len+4>\r\ntxt:<the same text> */
    long n = strtol(r + 1, NULL, 10);
    const char *body3 = strstr(r, "\r\n") + 2;
    cr_assert_eq(r[0], '=');
    cr_assert(!strncmp(body3, "txt:", 4), "%s", r);
    cr_assert_str_eq(body3 + 4, body2);
    cr_assert_eq((size_t)n, strlen(body3) - 2);
    free(body2);

    r = h_run(&h, "CLIENT INFO");
    cr_assert(!strncmp(r, "=", 1), "%s", r);
    body3 = strstr(r, "\r\n") + 2;
    cr_assert(!strncmp(body3, "txt:id=1 addr=", 14), "%s", r);
    cr_assert(strstr(body3, " resp=3\n\r\n"), "%s", r);
    cr_assert_eq((size_t)strtol(r + 1, NULL, 10), strlen(body3) - 2);
    r = h_run(&h, "CLIENT LIST");
    cr_assert(!strncmp(r, "=", 1), "%s", r);
    cr_assert(strstr(r, "\r\ntxt:id=1 "), "%s", r);
    r = h_run(&h, "CLIENT LIST ID 99");
    cr_assert_str_eq(r, "=4\r\ntxt:\r\n");
    EXPECT(&h, "CLIENT GETNAME", "_\r\n");
    h_free(&h);
}

Test(resp3_server, function_stats_and_list)
{
    harness h;
    h_init(&h);
#define COUNTS "$15\r\nlibraries_count\r\n:0\r\n$15\r\nfunctions_count\r\n:0\r\n"
    EXPECT(&h, "FUNCTION STATS",
           "*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n" COUNTS);
    EXPECT(&h, "HELLO 3", hello3);
    EXPECT(&h, "FUNCTION STATS",
           "%2\r\n$14\r\nrunning_script\r\n_\r\n$7\r\nengines\r\n%1\r\n$3\r\nLUA\r\n%2\r\n" COUNTS);
#undef COUNTS
    EXPECT(&h, "FUNCTION LIST", "*0\r\n");
    h_free(&h);
}

Test(resp3_server, lcs_idx_map)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "MSET a ohmytext b mynewtext", "+OK\r\n");
    static const char body[] = "$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
                               "*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n";
    char want[256];
    snprintf(want, sizeof(want), "*4\r\n%s", body);
    EXPECT(&h, "LCS a b IDX", want);
    EXPECT(&h, "HELLO 3", hello3);
    snprintf(want, sizeof(want), "%%2\r\n%s", body);
    EXPECT(&h, "LCS a b IDX", want);
    EXPECT(&h, "LCS a b", "$6\r\nmytext\r\n");
    EXPECT(&h, "LCS a b LEN", ":6\r\n");
    h_free(&h);
}

/* A RESP3 reply as RESP2 would have it, for replies without nulls,
 * doubles, booleans or verbatim strings: maps become flat arrays of twice
 * their count, sets arrays. Walks the reply, so bulk payloads are copied
 * as they are. */
static char *as_resp2(const char *r)
{
    kbuf b = KBUF_INIT;
    const char *p = r;
    while (*p) {
        char t = *p;
        const char *eol = strstr(p, "\r\n");
        cr_assert_not_null(eol, "%s", p);
        long long n = strtoll(p + 1, NULL, 10);
        if (t == '%' || t == '~') {
            char hdr[32];
            int l = snprintf(hdr, sizeof(hdr), "*%lld\r\n", t == '%' ? 2 * n : n);
            kbuf_append(&b, hdr, (size_t)l);
            p = eol + 2;
        } else if (t == '$') {
            size_t l = (size_t)(eol + 2 - p) + (size_t)n + 2;
            kbuf_append(&b, p, l);
            p += l;
        } else {
            cr_assert(t == '*' || t == ':' || t == '+', "type %c in %s", t, r);
            kbuf_append(&b, p, (size_t)(eol + 2 - p));
            p = eol + 2;
        }
    }
    kbuf_putc(&b, '\0');
    return b.data;
}

static void same_but_types(const char *cmd)
{
    harness h;
    h_init(&h);
    char *r2 = strdup(h_run(&h, cmd));
    EXPECT(&h, "HELLO 3", hello3);
    const char *r3 = h_run(&h, cmd);
    cr_assert(strcmp(r2, r3) != 0, "%s: the same in both protocols", cmd);
    char *conv = as_resp2(r3);
    cr_assert_str_eq(conv, r2, "%s", cmd);
    free(conv);
    free(r2);
    h_free(&h);
}

Test(resp3_server, command_docs_and_info)
{
    /* Only the aggregate types differ from RESP2. */
    same_but_types("COMMAND DOCS");
    same_but_types("COMMAND DOCS get config set zadd nosuch");
    same_but_types("COMMAND INFO");
    same_but_types("COMMAND");
    same_but_types("COMMAND INFO get config|get");
    same_but_types("COMMAND GETKEYSANDFLAGS set k v");

    harness h;
    h_init(&h);
    EXPECT(&h, "HELLO 3", hello3);
    EXPECT(&h, "COMMAND DOCS nosuch", "%0\r\n");
    EXPECT(&h, "COMMAND DOCS get",
           "%1\r\n$3\r\nget\r\n%5\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n"
           "$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n"
           "$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n"
           "$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n");
    /* Flags, categories, tips and key specs are sets; a command without
     * subcommands has an empty set of them. */
    EXPECT(&h, "COMMAND INFO get",
           "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
           "~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n"
           "~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n"
           "$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n"
           "$5\r\nindex\r\n:1\r\n"
           "$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n"
           "$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n");
    const char *r = h_run(&h, "COMMAND INFO config");
    cr_assert(!strncmp(r, "*1\r\n*10\r\n$6\r\nconfig\r\n:-2\r\n~0\r\n", 30), "%s", r);
    EXPECT(&h, "COMMAND GETKEYSANDFLAGS set k v", "*1\r\n*2\r\n$1\r\nk\r\n~2\r\n+RW\r\n+update\r\n");
    EXPECT(&h, "COMMAND GETKEYS set k v", "*1\r\n$1\r\nk\r\n");
    r = h_run(&h, "COMMAND LIST");
    cr_assert_eq(r[0], '*');
    h_free(&h);
}

/* RESP2 is untouched by all this: the same commands in a RESP2 client
 * (fresh, or back from HELLO 3) reply as before. */
Test(resp3_server, resp2_unchanged)
{
    static const char *const cmds[] = {
        "HGETALL h", "HRANDFIELD h 5 WITHVALUES", "SMEMBERS s", "SINTER s s", "SUNION s",
        "SDIFF s", "ZRANGE z 0 -1 WITHSCORES", "ZSCORE z a", "ZMSCORE z a b x",
        "ZUNION 1 z WITHSCORES", "ZRANDMEMBER z 5 WITHSCORES", "CONFIG GET hz",
        "LCS k1 k2 IDX", "COMMAND DOCS get", "COMMAND INFO get", "FUNCTION STATS",
        "GET nokey", "MGET nokey", "LPOP nolist 2", "DEBUG PROTOCOL map", NULL,
    };
    harness h;
    h_init(&h);
    h_run(&h, "HSET h a 1 b 2");
    h_run(&h, "SADD s x y");
    h_run(&h, "ZADD z 1 a 2.5 b");
    h_run(&h, "MSET k1 abc k2 abd");
    char *before[32];
    for (int i = 0; cmds[i]; i++)
        before[i] = strdup(h_run(&h, cmds[i]));
    EXPECT(&h, "HGETALL h", "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
    EXPECT(&h, "ZSCORE z b", "$3\r\n2.5\r\n");
    EXPECT(&h, "ZMSCORE z a b x", "*3\r\n$1\r\n1\r\n$3\r\n2.5\r\n$-1\r\n");
    EXPECT(&h, "LPOP nolist 2", "*-1\r\n");
    EXPECT(&h, "HELLO 3", hello3);
    for (int i = 0; cmds[i]; i++)
        cr_assert(strcmp(h_run(&h, cmds[i]), before[i]) != 0, "%s", cmds[i]);
    EXPECT(&h, "HELLO 2", hello2);
    for (int i = 0; cmds[i]; i++) {
        cr_assert_str_eq(h_run(&h, cmds[i]), before[i], "%s", cmds[i]);
        free(before[i]);
    }
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* DEBUG PROTOCOL */

Test(resp3_debug, protocol_types_resp2)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "DEBUG PROTOCOL string", "$11\r\nHello World\r\n");
    EXPECT(&h, "DEBUG PROTOCOL integer", ":12345\r\n");
    EXPECT(&h, "DEBUG PROTOCOL double", "$5\r\n3.141\r\n");
    EXPECT(&h, "DEBUG PROTOCOL bignum", "$37\r\n1234567999999999999999999999999999999\r\n");
    EXPECT(&h, "DEBUG PROTOCOL null", "$-1\r\n");
    EXPECT(&h, "DEBUG PROTOCOL array", "*3\r\n:0\r\n:1\r\n:2\r\n");
    EXPECT(&h, "DEBUG PROTOCOL set", "*3\r\n:0\r\n:1\r\n:2\r\n");
    EXPECT(&h, "DEBUG PROTOCOL map", "*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n");
    EXPECT(&h, "DEBUG PROTOCOL attrib", "$39\r\nSome real reply following the attribute\r\n");
    EXPECT(&h, "DEBUG PROTOCOL push", "-ERR RESP2 is not supported by this command\r\n");
    EXPECT(&h, "DEBUG PROTOCOL verbatim", "$25\r\nThis is a verbatim\nstring\r\n");
    EXPECT(&h, "DEBUG PROTOCOL true", ":1\r\n");
    EXPECT(&h, "DEBUG PROTOCOL false", ":0\r\n");
    EXPECT(&h, "DEBUG PROTOCOL TRUE", ":1\r\n");
    EXPECT(&h, "DEBUG PROTOCOL nosuch",
           "-ERR Wrong protocol type name. Please use one of the following: "
           "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false\r\n");
    EXPECT(&h, "DEBUG PROTOCOL",
           "-ERR unknown subcommand or wrong number of arguments for 'PROTOCOL'. Try DEBUG HELP.\r\n");
    h_free(&h);
}

Test(resp3_debug, protocol_types_resp3)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "HELLO 3", hello3);
    EXPECT(&h, "DEBUG PROTOCOL string", "$11\r\nHello World\r\n");
    EXPECT(&h, "DEBUG PROTOCOL integer", ":12345\r\n");
    EXPECT(&h, "DEBUG PROTOCOL double", ",3.141\r\n");
    EXPECT(&h, "DEBUG PROTOCOL bignum", "(1234567999999999999999999999999999999\r\n");
    EXPECT(&h, "DEBUG PROTOCOL null", "_\r\n");
    EXPECT(&h, "DEBUG PROTOCOL array", "*3\r\n:0\r\n:1\r\n:2\r\n");
    EXPECT(&h, "DEBUG PROTOCOL set", "~3\r\n:0\r\n:1\r\n:2\r\n");
    EXPECT(&h, "DEBUG PROTOCOL map", "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n");
    EXPECT(&h, "DEBUG PROTOCOL attrib",
           "|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n"
           "$39\r\nSome real reply following the attribute\r\n");
    EXPECT(&h, "DEBUG PROTOCOL push",
           ">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n"
           "$40\r\nSome real reply following the push reply\r\n");
    EXPECT(&h, "DEBUG PROTOCOL verbatim", "=29\r\ntxt:This is a verbatim\nstring\r\n");
    EXPECT(&h, "DEBUG PROTOCOL true", "#t\r\n");
    EXPECT(&h, "DEBUG PROTOCOL false", "#f\r\n");
    h_free(&h);
}
