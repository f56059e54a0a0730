/* The sorted set commands against Redis 7.0's replies, byte for byte:
 * every command, option and error (unit/type/zset.tcl as the checklist),
 * both encodings, WRONGTYPE, WATCH and the dirty counter. */
#include <stdlib.h>
#include <string.h>

#include "engine_harness.h"

static int key_enc(harness *h, const char *key)
{
    kentry *e = db_find(&h->e.db, key, strlen(key), h->now_ms);
    return e ? kentry_enc(e) : -1;
}

static bool key_exists(harness *h, const char *key)
{
    return db_find(&h->e.db, key, strlen(key), h->now_ms) != NULL;
}

#define ENCODINGS_SETUP(h, enc)                                                                  \
    do {                                                                                         \
        if ((enc) == 1)                                                                          \
            EXPECT(h, "CONFIG SET zset-max-listpack-entries 0", "+OK\r\n");                      \
    } while (0)

/* Runs body once per encoding: the listpack, then (entries 0) the skiplist. */
#define EACH_ENC(h, body)                                                                        \
    for (int enc_ = 0; enc_ < 2; enc_++) {                                                       \
        harness h;                                                                               \
        h_init(&h);                                                                              \
        ENCODINGS_SETUP(&h, enc_);                                                               \
        body;                                                                                    \
        h_free(&h);                                                                              \
    }

static void zadd_basics(harness *h, int enc)
{
    EXPECT(h, "ZADD z 10 x", ":1\r\n");
    EXPECT(h, "ZADD z 20 y 30 z", ":2\r\n");
    EXPECT(h, "ZADD z 15 x", ":0\r\n");
    cr_assert_eq(key_enc(h, "z"), enc ? ENC_SKIPLIST : ENC_LISTPACK);
    EXPECT(h, "ZSCORE z x", "$2\r\n15\r\n");
    EXPECT(h, "ZSCORE z nope", "$-1\r\n");
    EXPECT(h, "ZSCORE nokey x", "$-1\r\n");
    EXPECT(h, "ZCARD z", ":3\r\n");
    EXPECT(h, "ZCARD nokey", ":0\r\n");
    EXPECT(h, "ZRANGE z 0 -1", "*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n");
    EXPECT(h, "ZRANGE z 0 -1 WITHSCORES",
           "*6\r\n$1\r\nx\r\n$2\r\n15\r\n$1\r\ny\r\n$2\r\n20\r\n$1\r\nz\r\n$2\r\n30\r\n");
    EXPECT(h, "ZREVRANGE z 0 0 WITHSCORES", "*2\r\n$1\r\nz\r\n$2\r\n30\r\n");
    EXPECT(h, "ZRANK z x", ":0\r\n");
    EXPECT(h, "ZRANK z z", ":2\r\n");
    EXPECT(h, "ZREVRANK z x", ":2\r\n");
    EXPECT(h, "ZRANK z nope", "$-1\r\n");
    EXPECT(h, "ZRANK nokey x", "$-1\r\n");
    EXPECT(h, "ZMSCORE z x nope z", "*3\r\n$2\r\n15\r\n$-1\r\n$2\r\n30\r\n");
    EXPECT(h, "ZMSCORE nokey a", "*1\r\n$-1\r\n");
    EXPECT(h, "ZINCRBY z 2.5 x", "$4\r\n17.5\r\n");
    EXPECT(h, "ZINCRBY z 1 new", "$1\r\n1\r\n");
    EXPECT(h, "ZRANGE z 0 0", "*1\r\n$3\r\nnew\r\n");
    EXPECT(h, "ZREM z new x nope", ":2\r\n");
    EXPECT(h, "ZREM z y z", ":2\r\n");
    cr_assert(!key_exists(h, "z"));
    EXPECT(h, "ZREM z y", ":0\r\n");
}

Test(cmd_zset, basics_both_encodings) { EACH_ENC(h, zadd_basics(&h, enc_)); }

Test(cmd_zset, zadd_options_and_errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "ZADD z", "-ERR wrong number of arguments for 'zadd' command\r\n");
    EXPECT(&h, "ZADD z 1", "-ERR wrong number of arguments for 'zadd' command\r\n");
    EXPECT(&h, "ZADD z 1 a 2", "-ERR syntax error\r\n");
    EXPECT(&h, "ZADD z NX 1", "-ERR syntax error\r\n");
    EXPECT(&h, "ZADD z NX XX 1 a", "-ERR XX and NX options at the same time are not compatible\r\n");
    EXPECT(&h, "ZADD z NX GT 1 a",
           "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n");
    EXPECT(&h, "ZADD z GT LT 1 a",
           "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n");
    EXPECT(&h, "ZADD z INCR 1 a 2 b", "-ERR INCR option supports a single increment-element pair\r\n");
    EXPECT(&h, "ZADD z abc a", "-ERR value is not a valid float\r\n");
    EXPECT(&h, "ZADD z 1 a nan b", "-ERR value is not a valid float\r\n");
    cr_assert(!key_exists(&h, "z"));
    EXPECT(&h, "ZADD z XX 1 a", ":0\r\n");
    EXPECT(&h, "ZADD z XX INCR 1 a", "$-1\r\n");
    cr_assert(!key_exists(&h, "z"));
    EXPECT(&h, "ZADD z NX 1 a 2 b", ":2\r\n");
    EXPECT(&h, "ZADD z NX 5 a 3 c", ":1\r\n");
    EXPECT(&h, "ZSCORE z a", "$1\r\n1\r\n");
    EXPECT(&h, "ZADD z XX 5 a 4 d", ":0\r\n");
    EXPECT(&h, "ZSCORE z a", "$1\r\n5\r\n");
    EXPECT(&h, "ZSCORE z d", "$-1\r\n");
    EXPECT(&h, "ZADD z CH 6 a 2 b 7 e", ":2\r\n");
    EXPECT(&h, "ZADD z GT CH 1 a 10 b", ":1\r\n");
    EXPECT(&h, "ZMSCORE z a b", "*2\r\n$1\r\n6\r\n$2\r\n10\r\n");
    EXPECT(&h, "ZADD z LT CH 100 a 1 b", ":1\r\n");
    EXPECT(&h, "ZMSCORE z a b", "*2\r\n$1\r\n6\r\n$1\r\n1\r\n");
    EXPECT(&h, "ZADD z GT 5 newgt", ":1\r\n");
    EXPECT(&h, "ZADD z INCR 2 a", "$1\r\n8\r\n");
    EXPECT(&h, "ZADD z NX INCR 2 a", "$-1\r\n");
    EXPECT(&h, "ZADD z GT INCR -1 a", "$-1\r\n");
    EXPECT(&h, "ZADD z incr 0.5 a", "$3\r\n8.5\r\n");
    EXPECT(&h, "ZADD z +inf a", ":0\r\n");
    EXPECT(&h, "ZSCORE z a", "$3\r\ninf\r\n");
    EXPECT(&h, "ZADD z INCR -inf a", "-ERR resulting score is not a number (NaN)\r\n");
    EXPECT(&h, "ZINCRBY z -inf a", "-ERR resulting score is not a number (NaN)\r\n");
    EXPECT(&h, "ZSCORE z a", "$3\r\ninf\r\n");
    EXPECT(&h, "ZINCRBY z abc a", "-ERR value is not a valid float\r\n");
    EXPECT(&h, "ZINCRBY z NX a", "-ERR syntax error\r\n");
    EXPECT(&h, "ZADD z -inf m", ":1\r\n");
    EXPECT(&h, "ZRANGE z 0 0 WITHSCORES", "*2\r\n$1\r\nm\r\n$4\r\n-inf\r\n");
    EXPECT(&h, "ZADD z 1.5e3 f", ":1\r\n");
    EXPECT(&h, "ZSCORE z f", "$4\r\n1500\r\n");
    EXPECT(&h, "ZADD z 0.1 g", ":1\r\n");
    EXPECT(&h, "ZSCORE z g", "$19\r\n0.10000000000000001\r\n");
    h_free(&h);
}

Test(cmd_zset, wrongtype)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET s x", "+OK\r\n");
    const char *wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    EXPECT(&h, "ZADD s 1 a", wt);
    EXPECT(&h, "ZINCRBY s 1 a", wt);
    EXPECT(&h, "ZSCORE s a", wt);
    EXPECT(&h, "ZCARD s", wt);
    EXPECT(&h, "ZRANGE s 0 -1", wt);
    EXPECT(&h, "ZRANGEBYSCORE s -inf +inf", wt);
    EXPECT(&h, "ZREM s a", wt);
    EXPECT(&h, "ZPOPMIN s", wt);
    EXPECT(&h, "ZUNION 2 nokey s", wt);
    EXPECT(&h, "ZRANDMEMBER s", wt);
    EXPECT(&h, "ZSCAN s 0", wt);
    EXPECT(&h, "ZCOUNT s 0 1", wt);
    EXPECT(&h, "ZADD z 1 a", ":1\r\n");
    EXPECT(&h, "GET z", wt);
    EXPECT(&h, "TYPE z", "+zset\r\n");
    EXPECT(&h, "OBJECT ENCODING z", "$8\r\nlistpack\r\n");
    h_free(&h);
}

static void ranges(harness *h)
{
    EXPECT(h, "ZADD z 1 a 2 b 3 c 4 d 5 e", ":5\r\n");
    EXPECT(h, "ZRANGE z 1 2", "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
    EXPECT(h, "ZRANGE z -2 -1", "*2\r\n$1\r\nd\r\n$1\r\ne\r\n");
    EXPECT(h, "ZRANGE z -100 0", "*1\r\n$1\r\na\r\n");
    EXPECT(h, "ZRANGE z 3 100", "*2\r\n$1\r\nd\r\n$1\r\ne\r\n");
    EXPECT(h, "ZRANGE z 3 1", "*0\r\n");
    EXPECT(h, "ZRANGE z 5 10", "*0\r\n");
    EXPECT(h, "ZRANGE z 0 1 REV", "*2\r\n$1\r\ne\r\n$1\r\nd\r\n");
    EXPECT(h, "ZREVRANGE z 1 2", "*2\r\n$1\r\nd\r\n$1\r\nc\r\n");
    EXPECT(h, "ZRANGE z (1 3 BYSCORE", "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
    EXPECT(h, "ZRANGE z 1 (3 BYSCORE WITHSCORES",
           "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
    EXPECT(h, "ZRANGE z 4 2 BYSCORE REV", "*3\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n");
    EXPECT(h, "ZRANGEBYSCORE z -inf +inf LIMIT 1 2", "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
    EXPECT(h, "ZRANGEBYSCORE z -inf +inf LIMIT 3 -1", "*2\r\n$1\r\nd\r\n$1\r\ne\r\n");
    EXPECT(h, "ZRANGEBYSCORE z -inf +inf LIMIT -1 2", "*0\r\n");
    EXPECT(h, "ZRANGEBYSCORE z -inf +inf LIMIT 2 0", "*0\r\n");
    EXPECT(h, "ZRANGEBYSCORE z -inf +inf LIMIT 10 1", "*0\r\n");
    EXPECT(h, "ZREVRANGEBYSCORE z +inf -inf LIMIT 1 2", "*2\r\n$1\r\nd\r\n$1\r\nc\r\n");
    EXPECT(h, "ZREVRANGEBYSCORE z (4 (1 WITHSCORES",
           "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n");
    EXPECT(h, "ZRANGEBYSCORE z 3 1", "*0\r\n");
    EXPECT(h, "ZRANGEBYSCORE z (3 (3", "*0\r\n");
    EXPECT(h, "ZRANGEBYSCORE z 3 3", "*1\r\n$1\r\nc\r\n");
    EXPECT(h, "ZCOUNT z 2 4", ":3\r\n");
    EXPECT(h, "ZCOUNT z (2 (4", ":1\r\n");
    EXPECT(h, "ZCOUNT z -inf +inf", ":5\r\n");
    EXPECT(h, "ZCOUNT nokey -inf +inf", ":0\r\n");
    EXPECT(h, "ZCOUNT z a 1", "-ERR min or max is not a float\r\n");
    EXPECT(h, "ZCOUNT z 1 nan", "-ERR min or max is not a float\r\n");
    EXPECT(h, "ZRANGEBYSCORE z (a 1", "-ERR min or max is not a float\r\n");
    /* Lex, all scores equal. */
    EXPECT(h, "ZADD l 0 a 0 b 0 c 0 d 0 e", ":5\r\n");
    EXPECT(h, "ZRANGEBYLEX l - +", "*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n");
    EXPECT(h, "ZRANGEBYLEX l [b (d", "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
    EXPECT(h, "ZRANGEBYLEX l (b + LIMIT 1 2", "*2\r\n$1\r\nd\r\n$1\r\ne\r\n");
    EXPECT(h, "ZREVRANGEBYLEX l + - LIMIT 1 2", "*2\r\n$1\r\nd\r\n$1\r\nc\r\n");
    EXPECT(h, "ZREVRANGEBYLEX l [c -", "*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n");
    EXPECT(h, "ZRANGE l [d + BYLEX", "*2\r\n$1\r\nd\r\n$1\r\ne\r\n");
    EXPECT(h, "ZRANGE l (d - BYLEX REV", "*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n");
    EXPECT(h, "ZRANGEBYLEX l + -", "*0\r\n");
    EXPECT(h, "ZRANGEBYLEX l (c [c", "*0\r\n");
    EXPECT(h, "ZLEXCOUNT l [b [d", ":3\r\n");
    EXPECT(h, "ZLEXCOUNT l - +", ":5\r\n");
    EXPECT(h, "ZLEXCOUNT l (a (a", ":0\r\n");
    EXPECT(h, "ZLEXCOUNT nokey - +", ":0\r\n");
    EXPECT(h, "ZLEXCOUNT l a [b", "-ERR min or max not valid string range item\r\n");
    EXPECT(h, "ZRANGEBYLEX l [a +x", "-ERR min or max not valid string range item\r\n");
    EXPECT(h, "ZRANGEBYLEX l \"\" +", "-ERR min or max not valid string range item\r\n");
    EXPECT(h, "ZRANGE nokey 0 -1", "*0\r\n");
}

Test(cmd_zset, ranges_both_encodings) { EACH_ENC(h, ranges(&h)); }

Test(cmd_zset, range_syntax_errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "ZADD z 1 a 2 b", ":2\r\n");
    EXPECT(&h, "ZRANGE z 0 -1 LIMIT 0 1",
           "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or "
           "BYLEX\r\n");
    EXPECT(&h, "ZREVRANGE z 0 -1 LIMIT 0 1",
           "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or "
           "BYLEX\r\n");
    EXPECT(&h, "ZRANGE z - + BYLEX WITHSCORES",
           "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n");
    EXPECT(&h, "ZRANGEBYLEX z - + WITHSCORES",
           "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n");
    EXPECT(&h, "ZRANGE z 0 -1 BYSCORE BYLEX", "-ERR syntax error\r\n");
    EXPECT(&h, "ZRANGE z 0 -1 REV REV", "-ERR syntax error\r\n");
    EXPECT(&h, "ZRANGE z 0 -1 foo", "-ERR syntax error\r\n");
    EXPECT(&h, "ZRANGE z 0 -1 LIMIT 1", "-ERR syntax error\r\n");
    EXPECT(&h, "ZRANGEBYSCORE z 0 1 BYSCORE", "-ERR syntax error\r\n");
    EXPECT(&h, "ZRANGEBYSCORE z 0 1 REV", "-ERR syntax error\r\n");
    EXPECT(&h, "ZRANGE z a 1", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "ZRANGE z 0 1 BYSCORE LIMIT x 1", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "ZRANGESTORE d z 0 -1 WITHSCORES", "-ERR syntax error\r\n");
    EXPECT(&h, "ZRANGE z 0 -1 LIMIT 5 -1", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    h_free(&h);
}

Test(cmd_zset, zrangestore)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "ZADD z 1 a 2 b 3 c 4 d", ":4\r\n");
    EXPECT(&h, "ZRANGESTORE d z 1 2", ":2\r\n");
    EXPECT(&h, "ZRANGE d 0 -1 WITHSCORES", "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n");
    EXPECT(&h, "ZRANGESTORE d z 3 (2 BYSCORE REV", ":1\r\n");
    EXPECT(&h, "ZRANGESTORE d z (2 3 BYSCORE REV", ":0\r\n");
    cr_assert(!key_exists(&h, "d"));
    EXPECT(&h, "ZRANGESTORE d z +inf (1 BYSCORE REV LIMIT 0 2", ":2\r\n");
    EXPECT(&h, "ZRANGE d 0 -1", "*2\r\n$1\r\nc\r\n$1\r\nd\r\n");
    EXPECT(&h, "ZRANGESTORE d z [b [c BYLEX", ":2\r\n");
    EXPECT(&h, "SET s v", "+OK\r\n");
    EXPECT(&h, "EXPIRE s 100", ":1\r\n");
    EXPECT(&h, "ZRANGESTORE s z 0 0", ":1\r\n");
    EXPECT(&h, "TTL s", ":-1\r\n");
    EXPECT(&h, "TYPE s", "+zset\r\n");
    EXPECT(&h, "ZRANGESTORE s z 5 10", ":0\r\n");
    cr_assert(!key_exists(&h, "s"));
    EXPECT(&h, "ZRANGESTORE s nokey 0 -1", ":0\r\n");
    EXPECT(&h, "ZRANGESTORE z z 0 0", ":1\r\n");
    EXPECT(&h, "ZRANGE z 0 -1", "*1\r\n$1\r\na\r\n");
    h_free(&h);
}

Test(cmd_zset, remrange)
{
    EACH_ENC(h, {
        EXPECT(&h, "ZADD z 1 a 2 b 3 c 4 d 5 e", ":5\r\n");
        EXPECT(&h, "ZREMRANGEBYRANK z 1 2", ":2\r\n");
        EXPECT(&h, "ZRANGE z 0 -1", "*3\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\ne\r\n");
        EXPECT(&h, "ZREMRANGEBYRANK z 5 10", ":0\r\n");
        EXPECT(&h, "ZREMRANGEBYRANK z a 1", "-ERR value is not an integer or out of range\r\n");
        EXPECT(&h, "ZREMRANGEBYSCORE z (1 4", ":1\r\n");
        EXPECT(&h, "ZREMRANGEBYSCORE z x 4", "-ERR min or max is not a float\r\n");
        EXPECT(&h, "ZREMRANGEBYSCORE nokey 1 4", ":0\r\n");
        EXPECT(&h, "ZREMRANGEBYRANK z 0 -1", ":2\r\n");
        cr_assert(!key_exists(&h, "z"));
        EXPECT(&h, "ZADD l 0 a 0 b 0 c 0 d", ":4\r\n");
        EXPECT(&h, "ZREMRANGEBYLEX l (a [c", ":2\r\n");
        EXPECT(&h, "ZREMRANGEBYLEX l x [c", "-ERR min or max not valid string range item\r\n");
        EXPECT(&h, "ZREMRANGEBYLEX l - +", ":2\r\n");
        cr_assert(!key_exists(&h, "l"));
    });
}

Test(cmd_zset, pops)
{
    EACH_ENC(h, {
        EXPECT(&h, "ZADD z 1 a 2 b 3 c 4 d", ":4\r\n");
        EXPECT(&h, "ZPOPMIN z", "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
        EXPECT(&h, "ZPOPMAX z", "*2\r\n$1\r\nd\r\n$1\r\n4\r\n");
        EXPECT(&h, "ZPOPMIN z 0", "*0\r\n");
        EXPECT(&h, "ZPOPMIN z -1", "-ERR value is out of range, must be positive\r\n");
        EXPECT(&h, "ZPOPMIN z x", "-ERR value is out of range, must be positive\r\n");
        EXPECT(&h, "ZPOPMIN z 1 2", "-ERR syntax error\r\n");
        EXPECT(&h, "ZPOPMAX z 10", "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n");
        cr_assert(!key_exists(&h, "z"));
        EXPECT(&h, "ZPOPMIN z", "*0\r\n");
        EXPECT(&h, "ZPOPMIN z 3", "*0\r\n");
        EXPECT(&h, "ZADD z2 1 a 2 b 3 c", ":3\r\n");
        EXPECT(&h, "ZMPOP 2 z z2 MIN", "*2\r\n$2\r\nz2\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
        EXPECT(&h, "ZMPOP 2 z z2 max COUNT 5",
               "*2\r\n$2\r\nz2\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
        EXPECT(&h, "ZMPOP 2 z z2 MIN", "*-1\r\n");
        EXPECT(&h, "ZMPOP 0 z MIN", "-ERR numkeys should be greater than 0\r\n");
        EXPECT(&h, "ZMPOP x z MIN", "-ERR numkeys should be greater than 0\r\n");
        EXPECT(&h, "ZMPOP 3 z MIN", "-ERR syntax error\r\n");
        EXPECT(&h, "ZMPOP 1 z FOO", "-ERR syntax error\r\n");
        EXPECT(&h, "ZMPOP 1 z MIN COUNT 0", "-ERR count should be greater than 0\r\n");
        EXPECT(&h, "ZMPOP 1 z MIN COUNT 1 COUNT 1", "-ERR syntax error\r\n");
        EXPECT(&h, "ZMPOP 1 z MIN COUNT", "-ERR syntax error\r\n");
    });
}

Test(cmd_zset, set_operations)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "ZADD a 1 x 2 y 3 z", ":3\r\n");
    EXPECT(&h, "ZADD b 10 y 20 z 30 w", ":3\r\n");
    EXPECT(&h, "ZUNION 2 a b WITHSCORES",
           "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n");
    EXPECT(&h, "ZINTER 2 a b WITHSCORES", "*4\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n");
    EXPECT(&h, "ZINTER 2 a b AGGREGATE MIN WITHSCORES",
           "*4\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n");
    EXPECT(&h, "ZINTER 2 a b WEIGHTS 2 0.5 AGGREGATE max WITHSCORES",
           "*4\r\n$1\r\ny\r\n$1\r\n5\r\n$1\r\nz\r\n$2\r\n10\r\n");
    EXPECT(&h, "ZDIFF 2 a b WITHSCORES", "*2\r\n$1\r\nx\r\n$1\r\n1\r\n");
    EXPECT(&h, "ZDIFF 1 a", "*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n");
    EXPECT(&h, "ZUNION 2 a nokey", "*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n");
    EXPECT(&h, "ZINTER 2 a nokey", "*0\r\n");
    EXPECT(&h, "ZINTERCARD 2 a b", ":2\r\n");
    EXPECT(&h, "ZINTERCARD 2 a b LIMIT 1", ":1\r\n");
    EXPECT(&h, "ZINTERCARD 2 a b LIMIT 0", ":2\r\n");
    EXPECT(&h, "ZINTERCARD 2 a b LIMIT -1", "-ERR LIMIT can't be negative\r\n");
    EXPECT(&h, "ZINTERCARD 0 a", "-ERR at least 1 input key is needed for 'zintercard' command\r\n");
    EXPECT(&h, "ZINTERCARD 2 a b WITHSCORES", "-ERR syntax error\r\n");
    EXPECT(&h, "ZUNION 0 a", "-ERR at least 1 input key is needed for 'zunion' command\r\n");
    EXPECT(&h, "ZUNION 3 a b", "-ERR syntax error\r\n");
    EXPECT(&h, "ZUNION x a", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "ZUNION 2 a b WEIGHTS 1", "-ERR syntax error\r\n");
    EXPECT(&h, "ZUNION 2 a b WEIGHTS 1 x", "-ERR weight value is not a float\r\n");
    EXPECT(&h, "ZUNION 2 a b AGGREGATE foo", "-ERR syntax error\r\n");
    EXPECT(&h, "ZDIFF 2 a b WEIGHTS 1 2", "-ERR syntax error\r\n");
    EXPECT(&h, "ZUNIONSTORE d 2 a b WITHSCORES", "-ERR syntax error\r\n");
    EXPECT(&h, "ZUNIONSTORE d 2 a b", ":4\r\n");
    EXPECT(&h, "ZRANGE d 0 -1 WITHSCORES",
           "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n");
    cr_assert_eq(key_enc(&h, "d"), ENC_LISTPACK);
    EXPECT(&h, "ZINTERSTORE d 2 a b WEIGHTS 1 -1", ":2\r\n");
    EXPECT(&h, "ZRANGE d 0 -1 WITHSCORES", "*4\r\n$1\r\nz\r\n$3\r\n-17\r\n$1\r\ny\r\n$2\r\n-8\r\n");
    EXPECT(&h, "ZDIFFSTORE d 2 a b", ":1\r\n");
    EXPECT(&h, "ZINTERSTORE d 2 a nokey", ":0\r\n");
    cr_assert(!key_exists(&h, "d"));
    /* inf - inf is 0 in a sum; inf * 0 is 0. */
    EXPECT(&h, "ZADD p +inf m", ":1\r\n");
    EXPECT(&h, "ZADD n -inf m", ":1\r\n");
    EXPECT(&h, "ZUNION 2 p n WITHSCORES", "*2\r\n$1\r\nm\r\n$1\r\n0\r\n");
    EXPECT(&h, "ZUNION 1 p WEIGHTS 0 WITHSCORES", "*2\r\n$1\r\nm\r\n$1\r\n0\r\n");
    /* The same key twice. */
    EXPECT(&h, "ZINTER 2 a a WITHSCORES",
           "*6\r\n$1\r\nx\r\n$1\r\n2\r\n$1\r\ny\r\n$1\r\n4\r\n$1\r\nz\r\n$1\r\n6\r\n");
    EXPECT(&h, "COMMAND GETKEYS ZUNIONSTORE d 2 a b", "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nd\r\n");
    EXPECT(&h, "COMMAND GETKEYS ZINTER 2 a b WITHSCORES", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT(&h, "COMMAND GETKEYS ZMPOP 1 a MIN", "*1\r\n$1\r\na\r\n");
    EXPECT(&h, "COMMAND GETKEYS ZINTERCARD 5 a", "-ERR Invalid arguments specified for command\r\n");
    h_free(&h);
}

Test(cmd_zset, set_inputs_have_score_one)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD s y q", ":2\r\n");
    EXPECT(&h, "ZADD a 1 x 2 y", ":2\r\n");
    EXPECT(&h, "ZUNION 2 a s WITHSCORES",
           "*6\r\n$1\r\nq\r\n$1\r\n1\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n3\r\n");
    EXPECT(&h, "ZINTER 2 s a", "*1\r\n$1\r\ny\r\n");
    EXPECT(&h, "ZDIFF 2 s a WITHSCORES", "*2\r\n$1\r\nq\r\n$1\r\n1\r\n");
    h_free(&h);
}

Test(cmd_zset, encoding_conversions)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "CONFIG SET zset-max-listpack-entries 3", "+OK\r\n");
    EXPECT(&h, "CONFIG GET zset-max-ziplist-entries", "*2\r\n$24\r\nzset-max-ziplist-entries\r\n$1\r\n3\r\n");
    EXPECT(&h, "ZADD z 1 a 2 b 3 c", ":3\r\n");
    cr_assert_eq(key_enc(&h, "z"), ENC_LISTPACK);
    EXPECT(&h, "ZADD z 4 d", ":1\r\n");
    cr_assert_eq(key_enc(&h, "z"), ENC_SKIPLIST);
    EXPECT(&h, "OBJECT ENCODING z", "$8\r\nskiplist\r\n");
    EXPECT(&h, "ZREM z d", ":1\r\n");
    cr_assert_eq(key_enc(&h, "z"), ENC_SKIPLIST); /* never goes back by itself */
    EXPECT(&h, "ZUNIONSTORE d 1 z", ":3\r\n");
    cr_assert_eq(key_enc(&h, "d"), ENC_LISTPACK);
    EXPECT(&h, "CONFIG SET zset-max-listpack-value 4", "+OK\r\n");
    EXPECT(&h, "ZADD long 1 abcde", ":1\r\n");
    cr_assert_eq(key_enc(&h, "long"), ENC_SKIPLIST);
    EXPECT(&h, "ZADD short 1 abcd", ":1\r\n");
    cr_assert_eq(key_enc(&h, "short"), ENC_LISTPACK);
    EXPECT(&h, "ZADD short 2 abcdef", ":1\r\n");
    cr_assert_eq(key_enc(&h, "short"), ENC_SKIPLIST);
    EXPECT(&h, "ZRANGESTORE r short 0 0", ":1\r\n");
    cr_assert_eq(key_enc(&h, "r"), ENC_LISTPACK);
    h_free(&h);
}

Test(cmd_zset, randmember)
{
    EACH_ENC(h, {
        EXPECT(&h, "ZRANDMEMBER nokey", "$-1\r\n");
        EXPECT(&h, "ZRANDMEMBER nokey 5", "*0\r\n");
        EXPECT(&h, "ZADD z 1 a 2 b 3 c", ":3\r\n");
        EXPECT(&h, "ZRANDMEMBER z 0", "*0\r\n");
        EXPECT(&h, "ZRANDMEMBER z 10 WITHSCORES",
               "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n");
        const char *r = h_run(&h, "ZRANDMEMBER z");
        cr_assert(strcmp(r, "$1\r\na\r\n") == 0 || strcmp(r, "$1\r\nb\r\n") == 0 ||
                  strcmp(r, "$1\r\nc\r\n") == 0);
        r = h_run(&h, "ZRANDMEMBER z -5");
        cr_assert(strncmp(r, "*5\r\n", 4) == 0);
        r = h_run(&h, "ZRANDMEMBER z 2");
        cr_assert(strncmp(r, "*2\r\n", 4) == 0);
        cr_assert(strncmp(r + 4, r + 11, 7) != 0, "distinct members: %s", r);
        EXPECT(&h, "ZRANDMEMBER z 1 foo", "-ERR syntax error\r\n");
        EXPECT(&h, "ZRANDMEMBER z x", "-ERR value is not an integer or out of range\r\n");
        EXPECT(&h, "ZRANDMEMBER z -9223372036854775808",
               "-ERR value is out of range, value must between -9223372036854775807 and "
               "9223372036854775807\r\n");
        EXPECT(&h, "ZRANDMEMBER z 9223372036854775807 WITHSCORES",
               "-ERR value is out of range\r\n");
    });
}

Test(cmd_zset, zscan)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "ZSCAN nokey 0", "*2\r\n$1\r\n0\r\n*0\r\n");
    EXPECT(&h, "ZADD z 1 a 2.5 b 3 c", ":3\r\n");
    EXPECT(&h, "ZSCAN z 0", "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n$1\r\nc\r\n$1\r\n3\r\n");
    EXPECT(&h, "ZSCAN z 0 MATCH b*", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$3\r\n2.5\r\n");
    EXPECT(&h, "ZSCAN z x", "-ERR invalid cursor\r\n");
    EXPECT(&h, "ZSCAN z 0 COUNT 0", "-ERR syntax error\r\n");
    EXPECT(&h, "ZSCAN z 0 FOO bar", "-ERR syntax error\r\n");
    EXPECT(&h, "CONFIG SET zset-max-listpack-entries 0", "+OK\r\n");
    for (int i = 0; i < 100; i++)
        h_runf(&h, "ZADD big %d m%d", i, i);
    int seen = 0;
    char cursor[32] = "0";
    do {
        const char *r = h_runf(&h, "ZSCAN big %s COUNT 7", cursor);
        cr_assert_eq(r[0], '*');
        const char *p = strchr(r + 4, '\n') + 1; /* the cursor's bulk */
        size_t n = strcspn(p, "\r");
        memcpy(cursor, p, n);
        cursor[n] = '\0';
        p += n + 2;
        seen += atoi(p + 1) / 2;
    } while (strcmp(cursor, "0") != 0);
    cr_assert_eq(seen, 100);
    h_free(&h);
}

Test(cmd_zset, watch_and_dirty)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "ZADD z 1 a", ":1\r\n");
    EXPECT(&h, "WATCH z", "+OK\r\n");
    EXPECT(&h, "ZADD z 1 a", ":0\r\n"); /* no change: not a modification */
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*1\r\n+PONG\r\n");
    const char *cmds[] = {"ZADD z 2 a", "ZINCRBY z 1 a", "ZREM z a", "ZPOPMIN z",
                          "ZREMRANGEBYSCORE z -inf +inf", "ZUNIONSTORE z 1 y"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        h_run(&h, "ZADD z 1 a 2 b");
        EXPECT(&h, "ZCARD z", ":2\r\n");
        h_run(&h, "ZADD y 5 q");
        EXPECT(&h, "WATCH z", "+OK\r\n");
        h_run(&h, cmds[i]);
        EXPECT(&h, "MULTI", "+OK\r\n");
        EXPECT(&h, "PING", "+QUEUED\r\n");
        EXPECT(&h, "EXEC", "*-1\r\n");
    }
    uint64_t d0 = h.e.stats.dirty;
    EXPECT(&h, "ZADD w 1 a 2 b 3 c", ":3\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 3);
    EXPECT(&h, "ZADD w CH 1 a 5 b", ":1\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 4);
    EXPECT(&h, "ZPOPMAX w 2", "*4\r\n$1\r\nb\r\n$1\r\n5\r\n$1\r\nc\r\n$1\r\n3\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 6);
    h_free(&h);
}

Test(cmd_zset, binary_members)
{
    harness h;
    h_init(&h);
    resp_slice argv[4] = {{.ptr = "ZADD", .len = 4}, {.ptr = "z", .len = 1},
                          {.ptr = "1", .len = 1}, {.ptr = "a\0\r\nb", .len = 5}};
    cr_assert_str_eq(h_runv_as(&h, h.c, 4, argv), ":1\r\n");
    cr_assert(memcmp(h_run(&h, "ZRANGE z 0 -1"), "*1\r\n$5\r\na\0\r\nb\r\n", 15) == 0);
    resp_slice sc[3] = {{.ptr = "ZSCORE", .len = 6}, {.ptr = "z", .len = 1},
                        {.ptr = "a\0\r\nb", .len = 5}};
    cr_assert_str_eq(h_runv_as(&h, h.c, 3, sc), "$1\r\n1\r\n");
    h_free(&h);
}

Test(cmd_zset, many_elements_skiplist_ranks)
{
    harness h;
    h_init(&h);
    for (int i = 0; i < 300; i++)
        h_runf(&h, "ZADD z %d m%03d", i % 50, i);
    cr_assert_eq(key_enc(&h, "z"), ENC_SKIPLIST);
    EXPECT(&h, "ZCARD z", ":300\r\n");
    EXPECT(&h, "ZCOUNT z 10 (20", ":60\r\n");
    EXPECT(&h, "ZRANK z m000", ":0\r\n");
    EXPECT(&h, "ZRANK z m050", ":1\r\n");
    EXPECT(&h, "ZREVRANK z m299", ":0\r\n");
    EXPECT(&h, "ZREVRANK z m049", ":5\r\n");
    EXPECT(&h, "ZRANGE z 150 151", "*2\r\n$4\r\nm025\r\n$4\r\nm075\r\n");
    EXPECT(&h, "ZREMRANGEBYRANK z 0 99", ":100\r\n");
    EXPECT(&h, "ZCARD z", ":200\r\n");
    EXPECT(&h, "ZRANGE z 0 0 WITHSCORES", "*2\r\n$4\r\nm216\r\n$2\r\n16\r\n");
    h_free(&h);
}
