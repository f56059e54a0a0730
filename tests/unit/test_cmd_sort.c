/* SORT and SORT_RO against Redis 7.0.15's replies, byte for byte (each
 * generated sequence was checked against redis-server 7.0.15; the places
 * where keel differs on purpose say so). */
#include <stdlib.h>
#include <string.h>

#include "engine_harness.h"

/* As EXPECT, for replies holding NUL bytes (compares the whole buffer). */
#define EXPECT_BIN(h, line, reply)                                                       \
    do {                                                                                 \
        h_run((h), (line));                                                              \
        cr_assert((h)->out.len == sizeof(reply) - 1 &&                                   \
                      memcmp((h)->out.data, (reply), sizeof(reply) - 1) == 0,            \
                  "%s", (line));                                                         \
    } while (0)

Test(sort, numeric_list)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l 3 1 2 10 -5 1.5", ":6\r\n");
    EXPECT(&h, "SORT l",
           "*6\r\n$2\r\n-5\r\n$1\r\n1\r\n$3\r\n1.5\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n");
    EXPECT(&h, "SORT l DESC",
           "*6\r\n$2\r\n10\r\n$1\r\n3\r\n$1\r\n2\r\n$3\r\n1.5\r\n$1\r\n1\r\n$2\r\n-5\r\n");
    EXPECT(&h, "SORT l ASC",
           "*6\r\n$2\r\n-5\r\n$1\r\n1\r\n$3\r\n1.5\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n");
    EXPECT(&h, "SORT l desc asc",
           "*6\r\n$2\r\n-5\r\n$1\r\n1\r\n$3\r\n1.5\r\n$1\r\n2\r\n$1\r\n3\r\n$2\r\n10\r\n");
    EXPECT(&h, "RPUSH f 1.1 5.10 3.10 7.44 2.1 5.75 6.12 0.25 1.15", ":9\r\n");
    EXPECT(&h, "SORT f",
           "*9\r\n$4\r\n0.25\r\n$3\r\n1.1\r\n$4\r\n1.15\r\n$3\r\n2.1\r\n$4\r\n3.10\r\n$4\r\n"
           "5.10\r\n$4\r\n5.75\r\n$4\r\n6.12\r\n$4\r\n7.44\r\n");
    h_free(&h);
}

Test(sort, numeric_ties_sort_by_bytes)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l b 1 a 01 1.0 aa", ":6\r\n");
    EXPECT(&h, "SET s:a 100", "+OK\r\n");
    EXPECT(&h, "SET s:aa 100", "+OK\r\n");
    EXPECT(&h, "SET s:b 100", "+OK\r\n");
    EXPECT(&h, "SET s:1 100", "+OK\r\n");
    EXPECT(&h, "SET s:01 100", "+OK\r\n");
    EXPECT(&h, "SET s:1.0 100", "+OK\r\n");
    EXPECT(&h, "SORT l BY s:*",
           "*6\r\n$2\r\n01\r\n$1\r\n1\r\n$3\r\n1.0\r\n$1\r\na\r\n$2\r\naa\r\n$1\r\nb\r\n");
    EXPECT(&h, "SORT l BY s:* DESC",
           "*6\r\n$1\r\nb\r\n$2\r\naa\r\n$1\r\na\r\n$3\r\n1.0\r\n$1\r\n1\r\n$2\r\n01\r\n");
    EXPECT(&h, "RPUSH n 1 01 1.0 +1", ":4\r\n");
    EXPECT(&h, "SORT n", "*4\r\n$2\r\n+1\r\n$2\r\n01\r\n$1\r\n1\r\n$3\r\n1.0\r\n");
    EXPECT(&h, "SORT n DESC", "*4\r\n$3\r\n1.0\r\n$1\r\n1\r\n$2\r\n01\r\n$2\r\n+1\r\n");
    h_free(&h);
}

Test(sort, strtod_forms)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l \" 1\" \"\" 0x10 inf -inf 1e-5 \"2\\x00junk\"", ":7\r\n");
    EXPECT_BIN(&h, "SORT l",
           "*7\r\n$4\r\n-inf\r\n$0\r\n\r\n$4\r\n1e-5\r\n$2\r\n 1\r\n$6\r\n2\x00""junk\r\n"
           "$4\r\n0x10\r\n$3\r\ninf\r\n");
    EXPECT_BIN(&h, "SORT l DESC",
           "*7\r\n$3\r\ninf\r\n$4\r\n0x10\r\n$6\r\n2\x00""junk\r\n$2\r\n 1\r\n$4\r\n1e-5\r\n"
           "$0\r\n\r\n$4\r\n-inf\r\n");
    h_free(&h);
}

Test(sort, alpha)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l 2 1 3 10 b B ab a", ":8\r\n");
    EXPECT(&h, "SORT l ALPHA",
           "*8\r\n$1\r\n1\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\nB\r\n$1\r\na\r\n$2\r\n"
           "ab\r\n$1\r\nb\r\n");
    EXPECT(&h, "SORT l ALPHA DESC",
           "*8\r\n$1\r\nb\r\n$2\r\nab\r\n$1\r\na\r\n$1\r\nB\r\n$1\r\n3\r\n$1\r\n2\r\n$2\r\n"
           "10\r\n$1\r\n1\r\n");
    EXPECT(&h, "SORT l alpha limit 1 3", "*3\r\n$2\r\n10\r\n$1\r\n2\r\n$1\r\n3\r\n");
    EXPECT(&h, "RPUSH bin \"a\\x00b\" \"a\" \"a\\x00a\" \"\\xff\" \"\"", ":5\r\n");
    /* Bytes order (Redis: strcoll, which stops at the NUL). */
    EXPECT_BIN(&h, "SORT bin ALPHA",
           "*5\r\n$0\r\n\r\n$1\r\na\r\n$3\r\na\x00""a\r\n$3\r\na\x00""b\r\n$1\r\n\xff""\r\n");
    h_free(&h);
}

Test(sort, errors_syntax)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l 1 2", ":2\r\n");
    EXPECT(&h, "SORT l foo", "-ERR syntax error\r\n");
    EXPECT(&h, "SORT l LIMIT 1", "-ERR syntax error\r\n");
    EXPECT(&h, "SORT l LIMIT", "-ERR syntax error\r\n");
    EXPECT(&h, "SORT l BY", "-ERR syntax error\r\n");
    EXPECT(&h, "SORT l GET", "-ERR syntax error\r\n");
    EXPECT(&h, "SORT l STORE", "-ERR syntax error\r\n");
    EXPECT(&h, "SORT l ASC foo", "-ERR syntax error\r\n");
    EXPECT(&h, "SORT_RO l STORE dst", "-ERR syntax error\r\n");
    EXPECT(&h, "SORT_RO l store", "-ERR syntax error\r\n");
    EXPECT(&h, "SORT", "-ERR wrong number of arguments for 'sort' command\r\n");
    EXPECT(&h, "SORT_RO", "-ERR wrong number of arguments for 'sort_ro' command\r\n");
    h_free(&h);
}

Test(sort, errors_limit)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l 1 2", ":2\r\n");
    EXPECT(&h, "SORT l LIMIT a 1", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "SORT l LIMIT 1 b", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "SORT l LIMIT 1.5 1", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "SORT l LIMIT 1 99999999999999999999",
           "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "SORT l LIMIT a b foo", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "SORT l foo LIMIT a b", "-ERR syntax error\r\n");
    EXPECT(&h, "SET s x", "+OK\r\n");
    EXPECT(&h, "SORT s LIMIT a 1", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "SORT s foo", "-ERR syntax error\r\n");
    h_free(&h);
}

Test(sort, errors_wrongtype)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET s x", "+OK\r\n");
    EXPECT(&h, "HSET h f v", ":1\r\n");
    EXPECT(&h, "SORT s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    EXPECT(&h, "SORT_RO s",
           "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    EXPECT(&h, "SORT h ALPHA",
           "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    EXPECT(&h, "SORT s STORE dst",
           "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    EXPECT(&h, "EXISTS dst", ":0\r\n");
    h_free(&h);
}

Test(sort, errors_bad_double)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD s 1 2 3 4 not-a-double", ":5\r\n");
    EXPECT(&h, "SORT s", "-ERR One or more scores can't be converted into double\r\n");
    EXPECT(&h, "SORT s ALPHA",
           "*5\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$12\r\nnot-a-double\r\n");
    /* Not sorted: no conversion, the set's own order (SMEMBERS's). */
    char *members = strdup(h_run(&h, "SMEMBERS s"));
    EXPECT(&h, "SORT s BY nosort", members);
    free(members);
    EXPECT(&h, "RPUSH l 1 2 3", ":3\r\n");
    EXPECT(&h, "MSET score:1 10 score:2 20 score:3 nan", "+OK\r\n");
    EXPECT(&h, "SORT l BY score:*", "-ERR One or more scores can't be converted into double\r\n");
    EXPECT(&h, "SORT l BY score:* STORE dst",
           "-ERR One or more scores can't be converted into double\r\n");
    EXPECT(&h, "EXISTS dst", ":0\r\n");
    EXPECT(&h, "SORT l BY score:* ALPHA", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    EXPECT(&h, "RPUSH l2 \"1 \"", ":1\r\n");
    EXPECT(&h, "SORT l2", "-ERR One or more scores can't be converted into double\r\n");
    h_free(&h);
}

Test(sort, missing_key)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SORT nokey", "*0\r\n");
    EXPECT(&h, "SORT_RO nokey", "*0\r\n");
    EXPECT(&h, "SORT nokey ALPHA DESC LIMIT 0 10 GET # BY w_*", "*0\r\n");
    EXPECT(&h, "SORT nokey STORE dst", ":0\r\n");
    EXPECT(&h, "EXISTS dst", ":0\r\n");
    h_free(&h);
}

Test(sort, limit_edges)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l 5 3 1 4 2", ":5\r\n");
    EXPECT(&h, "SORT l LIMIT 0 -1",
           "*5\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n");
    EXPECT(&h, "SORT l LIMIT 0 -5",
           "*5\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n");
    EXPECT(&h, "SORT l LIMIT -3 2", "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    EXPECT(&h, "SORT l LIMIT 0 0", "*0\r\n");
    EXPECT(&h, "SORT l LIMIT 2 0", "*0\r\n");
    EXPECT(&h, "SORT l LIMIT 4 1", "*1\r\n$1\r\n5\r\n");
    EXPECT(&h, "SORT l LIMIT 4 5", "*1\r\n$1\r\n5\r\n");
    EXPECT(&h, "SORT l LIMIT 5 1", "*0\r\n");
    EXPECT(&h, "SORT l LIMIT 100 -1", "*0\r\n");
    EXPECT(&h, "SORT l LIMIT 1 9223372036854775807",
           "*4\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n");
    EXPECT(&h, "SORT l LIMIT -9223372036854775808 2", "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    EXPECT(&h, "SORT l DESC LIMIT 1 2", "*2\r\n$1\r\n4\r\n$1\r\n3\r\n");
    EXPECT(&h, "SORT_RO l BY a LIMIT 2 9223372036854775807",
           "*3\r\n$1\r\n1\r\n$1\r\n4\r\n$1\r\n2\r\n");
    h_free(&h);
}

Test(sort, by_key)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l 1 2 3 4", ":4\r\n");
    EXPECT(&h, "MSET w_1 40 w_2 10 w_3 30", "+OK\r\n");
    EXPECT(&h, "SORT l BY w_*", "*4\r\n$1\r\n4\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n1\r\n");
    EXPECT(&h, "SORT l BY w_* DESC", "*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n4\r\n");
    EXPECT(&h, "SORT l BY w_* LIMIT 1 2", "*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
    EXPECT(&h, "SORT l BY w_* ALPHA", "*4\r\n$1\r\n4\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n1\r\n");
    EXPECT(&h, "SORT l BY w_* ALPHA DESC", "*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n4\r\n");
    EXPECT(&h, "SORT l BY x*y", "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    EXPECT(&h, "SET x3y -1", "+OK\r\n");
    EXPECT(&h, "SORT l BY x*y", "*4\r\n$1\r\n3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n4\r\n");
    EXPECT(&h, "SORT l BY w_* GET #", "*4\r\n$1\r\n4\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n1\r\n");
    h_free(&h);
}

Test(sort, by_key_alpha_missing_and_ties)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l d c b a e", ":5\r\n");
    EXPECT(&h, "MSET k_a x k_b x k_c y", "+OK\r\n");
    EXPECT(&h, "SORT l BY k_* ALPHA",
           "*5\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n");
    EXPECT(&h, "SORT l BY k_* ALPHA DESC",
           "*5\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\ne\r\n");
    EXPECT(&h, "SORT l BY k_* ALPHA LIMIT 1 3", "*3\r\n$1\r\ne\r\n$1\r\nb\r\n$1\r\na\r\n");
    h_free(&h);
}

Test(sort, by_hash_field)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l 1 2 3", ":3\r\n");
    EXPECT(&h, "HSET o_1 weight 30 name one", ":2\r\n");
    EXPECT(&h, "HSET o_2 weight 10 name two", ":2\r\n");
    EXPECT(&h, "HSET o_3 weight 20", ":1\r\n");
    EXPECT(&h, "SORT l BY o_*->weight", "*3\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n1\r\n");
    EXPECT(&h, "SORT l BY o_*->weight DESC GET o_*->name GET # GET o_*->weight",
           "*9\r\n$3\r\none\r\n$1\r\n1\r\n$2\r\n30\r\n$-1\r\n$1\r\n3\r\n$2\r\n20\r\n$3\r\n"
           "two\r\n$1\r\n2\r\n$2\r\n10\r\n");
    EXPECT(&h, "SORT l BY o_*->nofield", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    EXPECT(&h, "SET o_4 5", "+OK\r\n");
    EXPECT(&h, "RPUSH l 4", ":4\r\n");
    EXPECT(&h, "SORT l BY o_*->weight", "*4\r\n$1\r\n4\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n1\r\n");
    EXPECT(&h, "SORT l BY o_*->weight ALPHA DESC",
           "*4\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n4\r\n");
    h_free(&h);
}

Test(sort, by_nosort_list)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l 2 1 4 3 5", ":5\r\n");
    EXPECT(&h, "LPUSH l 0", ":6\r\n");
    EXPECT(&h, "SORT l BY nosort",
           "*6\r\n$1\r\n0\r\n$1\r\n2\r\n$1\r\n1\r\n$1\r\n4\r\n$1\r\n3\r\n$1\r\n5\r\n");
    EXPECT(&h, "SORT l BY nosort DESC",
           "*6\r\n$1\r\n5\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n0\r\n");
    EXPECT(&h, "SORT l BY nosort LIMIT 1 3", "*3\r\n$1\r\n2\r\n$1\r\n1\r\n$1\r\n4\r\n");
    EXPECT(&h, "SORT l BY nosort DESC LIMIT 1 3", "*3\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n1\r\n");
    EXPECT(&h, "SORT l BY nosort LIMIT 4 10", "*2\r\n$1\r\n3\r\n$1\r\n5\r\n");
    EXPECT(&h, "SORT l BY nosort DESC LIMIT 4 10", "*2\r\n$1\r\n2\r\n$1\r\n0\r\n");
    EXPECT(&h, "SORT l BY nosort LIMIT 6 1", "*0\r\n");
    EXPECT(&h, "SORT l BY nosort LIMIT 0 0", "*0\r\n");
    EXPECT(&h, "SORT l BY nosort ALPHA",
           "*6\r\n$1\r\n0\r\n$1\r\n2\r\n$1\r\n1\r\n$1\r\n4\r\n$1\r\n3\r\n$1\r\n5\r\n");
    EXPECT(&h, "SORT l BY nosort BY w_*",
           "*6\r\n$1\r\n0\r\n$1\r\n2\r\n$1\r\n1\r\n$1\r\n4\r\n$1\r\n3\r\n$1\r\n5\r\n");
    EXPECT(&h, "SORT l BY w_* BY nosort",
           "*6\r\n$1\r\n0\r\n$1\r\n2\r\n$1\r\n1\r\n$1\r\n4\r\n$1\r\n3\r\n$1\r\n5\r\n");
    h_free(&h);
}

Test(sort, by_nosort_zset)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "ZADD z 1 a 5 b 2 c 10 d 3 e", ":5\r\n");
    EXPECT(&h, "SORT z BY nosort", "*5\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\ne\r\n$1\r\nb\r\n$1\r\nd\r\n");
    EXPECT(&h, "SORT z BY nosort DESC",
           "*5\r\n$1\r\nd\r\n$1\r\nb\r\n$1\r\ne\r\n$1\r\nc\r\n$1\r\na\r\n");
    EXPECT(&h, "SORT z BY nosort ASC LIMIT 0 1", "*1\r\n$1\r\na\r\n");
    EXPECT(&h, "SORT z BY nosort DESC LIMIT 0 1", "*1\r\n$1\r\nd\r\n");
    EXPECT(&h, "SORT z BY nosort ASC LIMIT 0 2", "*2\r\n$1\r\na\r\n$1\r\nc\r\n");
    EXPECT(&h, "SORT z BY nosort DESC LIMIT 0 2", "*2\r\n$1\r\nd\r\n$1\r\nb\r\n");
    EXPECT(&h, "SORT z BY nosort DESC LIMIT 3 5", "*2\r\n$1\r\nc\r\n$1\r\na\r\n");
    EXPECT(&h, "SORT z BY nosort LIMIT 5 10", "*0\r\n");
    EXPECT(&h, "SORT z BY nosort LIMIT -10 100",
           "*5\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\ne\r\n$1\r\nb\r\n$1\r\nd\r\n");
    EXPECT(&h, "SORT z BY nosort LIMIT 2 0", "*0\r\n");
    h_free(&h);
}

Test(sort, zset_by_members)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "ZADD z 1 a 5 b 2 c 10 d 3 e", ":5\r\n");
    EXPECT(&h, "SORT z ALPHA", "*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n");
    EXPECT(&h, "SORT z ALPHA DESC",
           "*5\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n");
    EXPECT(&h, "SORT z", "-ERR One or more scores can't be converted into double\r\n");
    EXPECT(&h, "ZADD n 1 10 2 3 3 7 4 -1", ":4\r\n");
    EXPECT(&h, "SORT n", "*4\r\n$2\r\n-1\r\n$1\r\n3\r\n$1\r\n7\r\n$2\r\n10\r\n");
    EXPECT(&h, "SORT n DESC", "*4\r\n$2\r\n10\r\n$1\r\n7\r\n$1\r\n3\r\n$2\r\n-1\r\n");
    EXPECT(&h, "SORT n BY nosort DESC", "*4\r\n$2\r\n-1\r\n$1\r\n7\r\n$1\r\n3\r\n$2\r\n10\r\n");
    h_free(&h);
}

Test(sort, intset_set)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD s 5 3 9 1 7 10", ":6\r\n");
    EXPECT(&h, "SORT s",
           "*6\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$1\r\n7\r\n$1\r\n9\r\n$2\r\n10\r\n");
    EXPECT(&h, "SORT s DESC",
           "*6\r\n$2\r\n10\r\n$1\r\n9\r\n$1\r\n7\r\n$1\r\n5\r\n$1\r\n3\r\n$1\r\n1\r\n");
    EXPECT(&h, "SORT s ALPHA",
           "*6\r\n$1\r\n1\r\n$2\r\n10\r\n$1\r\n3\r\n$1\r\n5\r\n$1\r\n7\r\n$1\r\n9\r\n");
    EXPECT(&h, "SORT s BY nosort",
           "*6\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$1\r\n7\r\n$1\r\n9\r\n$2\r\n10\r\n");
    EXPECT(&h, "SORT s BY nosort DESC",
           "*6\r\n$1\r\n1\r\n$1\r\n3\r\n$1\r\n5\r\n$1\r\n7\r\n$1\r\n9\r\n$2\r\n10\r\n");
    EXPECT(&h, "SORT s BY nosort LIMIT 1 2", "*2\r\n$1\r\n3\r\n$1\r\n5\r\n");
    EXPECT(&h, "SORT s BY nosort DESC LIMIT 1 2", "*2\r\n$1\r\n3\r\n$1\r\n5\r\n");
    h_free(&h);
}

Test(sort, set_nosort_store_is_alpha)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD s a b c d e f g h i l m n o p q r s t u v z aa aaa azz", ":24\r\n");
    EXPECT(&h, "SORT s ALPHA BY _ STORE dst", ":24\r\n");
    EXPECT(&h, "LRANGE dst 0 -1",
           "*24\r\n$1\r\na\r\n$2\r\naa\r\n$3\r\naaa\r\n$3\r\nazz\r\n$1\r\nb\r\n$1\r\nc\r\n"
           "$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n$1\r\nh\r\n$1\r\ni\r\n$1\r\nl\r\n"
           "$1\r\nm\r\n$1\r\nn\r\n$1\r\no\r\n$1\r\np\r\n$1\r\nq\r\n$1\r\nr\r\n$1\r\ns\r\n"
           "$1\r\nt\r\n$1\r\nu\r\n$1\r\nv\r\n$1\r\nz\r\n");
    EXPECT(&h, "SORT s BY _ STORE dst", ":24\r\n");
    EXPECT(&h, "LRANGE dst 0 -1",
           "*24\r\n$1\r\na\r\n$2\r\naa\r\n$3\r\naaa\r\n$3\r\nazz\r\n$1\r\nb\r\n$1\r\nc\r\n"
           "$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n$1\r\ng\r\n$1\r\nh\r\n$1\r\ni\r\n$1\r\nl\r\n"
           "$1\r\nm\r\n$1\r\nn\r\n$1\r\no\r\n$1\r\np\r\n$1\r\nq\r\n$1\r\nr\r\n$1\r\ns\r\n"
           "$1\r\nt\r\n$1\r\nu\r\n$1\r\nv\r\n$1\r\nz\r\n");
    EXPECT(&h, "SORT s BY _ DESC LIMIT 0 3 STORE dst", ":3\r\n");
    EXPECT(&h, "LRANGE dst 0 -1", "*3\r\n$1\r\nz\r\n$1\r\nv\r\n$1\r\nu\r\n");
    EXPECT(&h, "SORT s BY _ GET # GET _:* LIMIT 0 2 STORE dst", ":4\r\n");
    EXPECT(&h, "LRANGE dst 0 -1", "*4\r\n$1\r\na\r\n$0\r\n\r\n$2\r\naa\r\n$0\r\n\r\n");
    h_free(&h);
}

Test(sort, get_patterns)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l 2 1 3", ":3\r\n");
    EXPECT(&h, "MSET v_1 one v_2 two", "+OK\r\n");
    EXPECT(&h, "HSET h_1 f F1", ":1\r\n");
    EXPECT(&h, "HSET h_3 f F3", ":1\r\n");
    EXPECT(&h, "SORT l GET #", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    EXPECT(&h, "SORT l GET v_*", "*3\r\n$3\r\none\r\n$3\r\ntwo\r\n$-1\r\n");
    EXPECT(&h, "SORT l GET const", "*3\r\n$-1\r\n$-1\r\n$-1\r\n");
    EXPECT(&h, "SORT l GET v_* GET # GET h_*->f",
           "*9\r\n$3\r\none\r\n$1\r\n1\r\n$2\r\nF1\r\n$3\r\ntwo\r\n$1\r\n2\r\n$-1\r\n$-1\r\n"
           "$1\r\n3\r\n$2\r\nF3\r\n");
    EXPECT(&h, "SORT l GET h_*->", "*3\r\n$-1\r\n$-1\r\n$-1\r\n");
    EXPECT(&h, "SET h_1-> arrow", "+OK\r\n");
    EXPECT(&h, "SORT l GET h_*->", "*3\r\n$5\r\narrow\r\n$-1\r\n$-1\r\n");
    EXPECT(&h, "SORT l GET v_*->f", "*3\r\n$-1\r\n$-1\r\n$-1\r\n");
    EXPECT(&h, "SORT l GET h_*->nofield", "*3\r\n$-1\r\n$-1\r\n$-1\r\n");
    EXPECT(&h, "SORT l GET #x", "*3\r\n$-1\r\n$-1\r\n$-1\r\n");
    EXPECT(&h, "SORT l GET *", "*3\r\n$-1\r\n$-1\r\n$-1\r\n");
    EXPECT(&h, "SORT l DESC LIMIT 0 2 GET # GET #",
           "*4\r\n$1\r\n3\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n2\r\n");
    h_free(&h);
}

Test(sort, get_binary_patterns)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l a", ":1\r\n");
    EXPECT(&h, "SET \"x\\x00a\" nul", "+OK\r\n");
    EXPECT(&h, "SET xa plain", "+OK\r\n");
    EXPECT(&h, "SORT l BY nosort GET \"x*\\x00\"", "*1\r\n$-1\r\n");
    EXPECT(&h, "SORT l BY nosort GET \"x\\x00*\"", "*1\r\n$-1\r\n");
    EXPECT(&h, "SORT l BY nosort GET \"#\\x00tail\"", "*1\r\n$1\r\na\r\n");
    EXPECT(&h, "HSET ha \"f\\x00g\" binfield", ":1\r\n");
    EXPECT(&h, "SORT l BY nosort GET \"h*->f\\x00g\"", "*1\r\n$8\r\nbinfield\r\n");
    EXPECT(&h, "SORT l BY nosort GET \"h*->\\x00g\"", "*1\r\n$-1\r\n");
    EXPECT(&h, "SORT l BY \"w\\x00*\"", "*1\r\n$1\r\na\r\n");
    h_free(&h);
}

Test(sort, store_basics)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l 3 1 2", ":3\r\n");
    EXPECT(&h, "SORT l STORE dst", ":3\r\n");
    EXPECT(&h, "TYPE dst", "+list\r\n");
    EXPECT(&h, "LRANGE dst 0 -1", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    EXPECT(&h, "OBJECT ENCODING dst", "$9\r\nquicklist\r\n");
    EXPECT(&h, "SET dst x EX 100", "+OK\r\n");
    EXPECT(&h, "SORT l DESC STORE dst", ":3\r\n");
    EXPECT(&h, "TTL dst", ":-1\r\n");
    EXPECT(&h, "LRANGE dst 0 -1", "*3\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n1\r\n");
    EXPECT(&h, "SORT l GET # GET nokey_* STORE dst", ":6\r\n");
    EXPECT(&h, "LRANGE dst 0 -1",
           "*6\r\n$1\r\n1\r\n$0\r\n\r\n$1\r\n2\r\n$0\r\n\r\n$1\r\n3\r\n$0\r\n\r\n");
    EXPECT(&h, "SORT l LIMIT 0 1 STORE l", ":1\r\n");
    EXPECT(&h, "LRANGE l 0 -1", "*1\r\n$1\r\n1\r\n");
    EXPECT(&h, "SORT l STORE a STORE b", ":1\r\n");
    EXPECT(&h, "EXISTS a b", ":1\r\n");
    h_free(&h);
}

Test(sort, store_empty_deletes)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH foo bar", ":1\r\n");
    EXPECT(&h, "SORT emptylist STORE foo", ":0\r\n");
    EXPECT(&h, "EXISTS foo", ":0\r\n");
    EXPECT(&h, "RPUSH foo bar", ":1\r\n");
    EXPECT(&h, "SORT foo ALPHA LIMIT 10 10 STORE zap", ":0\r\n");
    EXPECT(&h, "EXISTS zap", ":0\r\n");
    EXPECT(&h, "SORT foo ALPHA LIMIT 10 10 STORE foo", ":0\r\n");
    EXPECT(&h, "EXISTS foo", ":0\r\n");
    h_free(&h);
}

Test(sort, store_by_nosort_list)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH testa 2 1 4 3 5", ":5\r\n");
    EXPECT(&h, "SORT testa BY nosort STORE testb", ":5\r\n");
    EXPECT(&h, "LRANGE testb 0 -1",
           "*5\r\n$1\r\n2\r\n$1\r\n1\r\n$1\r\n4\r\n$1\r\n3\r\n$1\r\n5\r\n");
    EXPECT(&h, "SORT testa BY nosort LIMIT 0 3 STORE testb", ":3\r\n");
    EXPECT(&h, "LRANGE testb 0 -1", "*3\r\n$1\r\n2\r\n$1\r\n1\r\n$1\r\n4\r\n");
    EXPECT(&h, "SORT testa BY nosort DESC LIMIT 1 2 STORE testb", ":2\r\n");
    EXPECT(&h, "LRANGE testb 0 -1", "*2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    h_free(&h);
}

Test(sort, sort_ro)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH mylist a", ":1\r\n");
    EXPECT(&h, "SET x:a 100", "+OK\r\n");
    EXPECT(&h, "SORT_RO mylist BY nosort GET x:*", "*1\r\n$3\r\n100\r\n");
    EXPECT(&h, "SORT_RO mylist ALPHA DESC LIMIT 0 1", "*1\r\n$1\r\na\r\n");
    EXPECT(&h, "SORT_RO foolist STORE bar", "-ERR syntax error\r\n");
    h_free(&h);
}

Test(sort, getkeys)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "COMMAND GETKEYS SORT abc STORE def", "*2\r\n$3\r\nabc\r\n$3\r\ndef\r\n");
    EXPECT(&h, "COMMAND GETKEYS SORT abc STORE invalid STORE stillbad STORE def",
           "*2\r\n$3\r\nabc\r\n$3\r\ndef\r\n");
    EXPECT(&h, "COMMAND GETKEYS SORT abc LIMIT 0 1 BY store GET store STORE x",
           "*2\r\n$3\r\nabc\r\n$1\r\nx\r\n");
    EXPECT(&h, "COMMAND GETKEYS SORT abc GET store def", "*1\r\n$3\r\nabc\r\n");
    EXPECT(&h, "COMMAND GETKEYS SORT abc store", "*1\r\n$3\r\nabc\r\n");
    EXPECT(&h, "COMMAND GETKEYS SORT abc STORE get x", "*2\r\n$3\r\nabc\r\n$3\r\nget\r\n");
    EXPECT(&h, "COMMAND GETKEYS SORT_RO abc STORE def", "*1\r\n$3\r\nabc\r\n");
    EXPECT(&h, "COMMAND GETKEYS SORT_RO abc", "*1\r\n$3\r\nabc\r\n");
    h_free(&h);
}

Test(sort, errors_range)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l 1e400 2", ":2\r\n");
    EXPECT(&h, "SORT l", "-ERR One or more scores can't be converted into double\r\n");
    EXPECT(&h, "RPUSH sub 1e-310 2", ":2\r\n");
    EXPECT(&h, "SORT sub", "-ERR One or more scores can't be converted into double\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* Written by hand: WATCH, the dirty counter, encodings, determinism. */

Test(sort, store_empty_result_touches_watch)
{
    /* multi.tcl: "EXEC fail on WATCHed key modified by SORT with STORE even
     * if the result is empty". */
    harness h;
    h_init(&h);
    EXPECT(&h, "LPUSH foo bar", ":1\r\n");
    EXPECT(&h, "WATCH foo", "+OK\r\n");
    EXPECT(&h, "SORT emptylist STORE foo", ":0\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*-1\r\n");
    /* No destination to delete: nothing changes, EXEC runs. */
    EXPECT(&h, "WATCH foo", "+OK\r\n");
    EXPECT(&h, "SORT emptylist STORE foo", ":0\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*1\r\n+PONG\r\n");
    h_free(&h);
}

Test(sort, store_touches_watch_and_plain_sort_does_not)
{
    harness h;
    h_init(&h);
    client *other = engine_client_new(&h.e, h.now_ms);
    EXPECT(&h, "RPUSH l 2 1", ":2\r\n");
    EXPECT(&h, "WATCH l dst", "+OK\r\n");
    EXPECT_AS(&h, other, "SORT l", "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    EXPECT_AS(&h, other, "SORT_RO l DESC", "*2\r\n$1\r\n2\r\n$1\r\n1\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*1\r\n+PONG\r\n");
    EXPECT(&h, "WATCH dst", "+OK\r\n");
    EXPECT_AS(&h, other, "SORT l STORE dst", ":2\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*-1\r\n");
    h_free(&h);
}

Test(sort, dirty_counter)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l 3 1 2", ":3\r\n");
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "SORT l", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    cr_assert_eq(h.e.stats.dirty, d);
    EXPECT(&h, "SORT l STORE dst", ":3\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 3);
    EXPECT(&h, "SORT l GET # GET x_* STORE dst", ":6\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 9);
    EXPECT(&h, "SORT nokey STORE dst", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 10);
    EXPECT(&h, "SORT nokey STORE dst", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 10);
    h_free(&h);
}

Test(sort, by_key_expired_counts_as_missing)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l a b c", ":3\r\n");
    EXPECT(&h, "SET w_a 3", "+OK\r\n");
    EXPECT(&h, "SET w_b 2 PX 100", "+OK\r\n");
    EXPECT(&h, "SET w_c 1", "+OK\r\n");
    EXPECT(&h, "SORT l BY w_*", "*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n");
    h.now_ms += 200;
    EXPECT(&h, "SORT l BY w_* GET w_*", "*3\r\n$-1\r\n$1\r\n1\r\n$1\r\n3\r\n");
    EXPECT(&h, "EXISTS w_b", ":0\r\n");
    h_free(&h);
}

Test(sort, binary_elements_in_patterns)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l \"a\\x00b\" c", ":2\r\n");
    EXPECT(&h, "SET \"w_a\\x00b\" 2", "+OK\r\n");
    EXPECT(&h, "SET w_c 1", "+OK\r\n");
    EXPECT_BIN(&h, "SORT l BY w_* GET # GET w_*",
               "*4\r\n$1\r\nc\r\n$1\r\n1\r\n$3\r\na\x00""b\r\n$1\r\n2\r\n");
    EXPECT(&h, "SORT l BY w_* STORE dst", ":2\r\n");
    EXPECT_BIN(&h, "LRANGE dst 0 -1", "*2\r\n$1\r\nc\r\n$3\r\na\x00""b\r\n");
    h_free(&h);
}

Test(sort, big_collections)
{
    harness h;
    h_init(&h);
    /* A hashtable set of 1000 numbers, a skiplist zset, a many-node list. */
    for (int i = 0; i < 1000; i++) {
        h_runf(&h, "SADD s %d", (i * 7919) % 1000);
        h_runf(&h, "RPUSH l %d", (i * 7919) % 1000);
        if (i < 200)
            h_runf(&h, "ZADD z %d m%d", i, i);
    }
    EXPECT(&h, "OBJECT ENCODING s", "$9\r\nhashtable\r\n");
    EXPECT(&h, "OBJECT ENCODING z", "$8\r\nskiplist\r\n");
    EXPECT(&h, "SORT s LIMIT 0 3", "*3\r\n$1\r\n0\r\n$1\r\n1\r\n$1\r\n2\r\n");
    EXPECT(&h, "SORT s DESC LIMIT 0 2", "*2\r\n$3\r\n999\r\n$3\r\n998\r\n");
    EXPECT(&h, "SORT s LIMIT 500 1", "*1\r\n$3\r\n500\r\n");
    EXPECT(&h, "SORT s ALPHA LIMIT 0 3", "*3\r\n$1\r\n0\r\n$1\r\n1\r\n$2\r\n10\r\n");
    EXPECT(&h, "SORT l LIMIT 998 5", "*2\r\n$3\r\n998\r\n$3\r\n999\r\n");
    EXPECT(&h, "SORT l BY nosort LIMIT 1 2", "*2\r\n$3\r\n919\r\n$3\r\n838\r\n");
    EXPECT(&h, "SORT l BY nosort DESC LIMIT 0 2", "*2\r\n$2\r\n81\r\n$3\r\n162\r\n");
    EXPECT(&h, "SORT z BY nosort LIMIT 150 3", "*3\r\n$4\r\nm150\r\n$4\r\nm151\r\n$4\r\nm152\r\n");
    EXPECT(&h, "SORT z BY nosort DESC LIMIT 0 2", "*2\r\n$4\r\nm199\r\n$4\r\nm198\r\n");
    EXPECT(&h, "SORT z BY nosort DESC LIMIT 150 2", "*2\r\n$3\r\nm49\r\n$3\r\nm48\r\n");
    EXPECT(&h, "SORT z ALPHA LIMIT 0 3", "*3\r\n$2\r\nm0\r\n$2\r\nm1\r\n$3\r\nm10\r\n");
    EXPECT(&h, "SORT s STORE dst", ":1000\r\n");
    EXPECT(&h, "LINDEX dst 999", "$3\r\n999\r\n");
    /* A hashtable set left unsorted: its own order, the same for the same
     * seed and operations. */
    char *members = strdup(h_run(&h, "SMEMBERS s"));
    EXPECT(&h, "SORT s BY nosort", members);
    harness h2;
    h_init(&h2);
    for (int i = 0; i < 1000; i++)
        h_runf(&h2, "SADD s %d", (i * 7919) % 1000);
    EXPECT(&h2, "SORT s BY nosort", members);
    free(members);
    h_free(&h2);
    h_free(&h);
}

Test(sort, empty_strings)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH e \"\" \"\"", ":2\r\n");
    EXPECT(&h, "SORT e", "*2\r\n$0\r\n\r\n$0\r\n\r\n");
    EXPECT(&h, "SORT e ALPHA BY *", "*2\r\n$0\r\n\r\n$0\r\n\r\n");
    EXPECT(&h, "SORT e BY nosort GET # GET * STORE d", ":4\r\n");
    EXPECT(&h, "LRANGE d 0 -1", "*4\r\n$0\r\n\r\n$0\r\n\r\n$0\r\n\r\n$0\r\n\r\n");
    h_free(&h);
}

Test(sort, sort_does_not_convert_a_listpack_zset)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "ZADD z 1 a 2 b", ":2\r\n");
    EXPECT(&h, "SORT z ALPHA", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT(&h, "OBJECT ENCODING z", "$8\r\nlistpack\r\n");
    h_free(&h);
}

Test(sort, command_info)
{
    harness h;
    h_init(&h);
    const char *r = h_run(&h, "COMMAND INFO sort");
    cr_assert(strstr(r, "*10\r\n$4\r\nsort\r\n:-2\r\n*3\r\n+write\r\n+denyoom\r\n+movablekeys\r\n"
                        ":1\r\n:1\r\n:1\r\n*6\r\n+@write\r\n+@set\r\n+@sortedset\r\n+@list\r\n"
                        "+@slow\r\n+@dangerous\r\n") != NULL, "%s", r);
    r = h_run(&h, "COMMAND INFO sort_ro");
    cr_assert(strstr(r, "*10\r\n$7\r\nsort_ro\r\n:-2\r\n*2\r\n+readonly\r\n+movablekeys\r\n"
                        ":1\r\n:1\r\n:1\r\n*6\r\n+@read\r\n+@set\r\n+@sortedset\r\n+@list\r\n"
                        "+@slow\r\n+@dangerous\r\n") != NULL, "%s", r);
    EXPECT(&h, "SORT", "-ERR wrong number of arguments for 'sort' command\r\n");
    EXPECT(&h, "SORT_RO", "-ERR wrong number of arguments for 'sort_ro' command\r\n");
    h_free(&h);
}
