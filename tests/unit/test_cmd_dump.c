/* DUMP and RESTORE against Redis 7.0's replies and errors, the payload's
 * framing, round trips of every type and encoding, and damaged payloads. */
#include <xxhash.h>

#include "engine_harness.h"

#define ERR_PAYLOAD "-ERR DUMP payload version or checksum are wrong\r\n"
#define ERR_BAD "-ERR Bad data format\r\n"

typedef struct blob {
    char *p;
    size_t n;
} blob;

/* DUMP key: the payload (the bulk reply's bytes). */
static blob dump(harness *h, const char *key)
{
    resp_slice argv[2] = {{"DUMP", 4}, {key, strlen(key)}};
    const char *r = h_runv_as(h, h->c, 2, argv);
    size_t total = h->out.len;
    cr_assert(r[0] == '$', "DUMP %s: %s", key, r);
    char *end;
    long n = strtol(r + 1, &end, 10);
    cr_assert(n >= 0 && end[0] == '\r' && end[1] == '\n');
    size_t head = (size_t)(end + 2 - r);
    cr_assert_eq(total, head + (size_t)n + 2);
    blob b = {malloc((size_t)n + 1), (size_t)n};
    memcpy(b.p, r + head, (size_t)n);
    return b;
}

/* RESTORE key ttl payload [opts...] (opts: NULL-terminated words). */
static const char *restore_opts(harness *h, const char *key, const char *ttl, const char *p,
                                size_t n, const char *const *opts)
{
    resp_slice argv[16] = {{"RESTORE", 7}, {key, strlen(key)}, {ttl, strlen(ttl)}, {p, n}};
    int argc = 4;
    for (int i = 0; opts && opts[i]; i++)
        argv[argc++] = (resp_slice){opts[i], strlen(opts[i])};
    return h_runv_as(h, h->c, argc, argv);
}

static const char *restore(harness *h, const char *key, const char *ttl, blob b)
{
    return restore_opts(h, key, ttl, b.p, b.n, NULL);
}

/* Rewrites the footer of p[0..n) (n >= 10) so its checksum is right. */
static void resign(unsigned char *p, size_t n)
{
    uint64_t sum = XXH3_64bits(p, n - 8);
    for (int k = 0; k < 8; k++)
        p[n - 8 + k] = (unsigned char)(sum >> (8 * k));
}

/* A body (without footer) framed with keel's version and checksum. */
static blob frame(const void *body, size_t n)
{
    blob b = {malloc(n + 10), n + 10};
    memcpy(b.p, body, n);
    b.p[n] = 0x01;
    b.p[n + 1] = 0x4b;
    resign((unsigned char *)b.p, b.n);
    return b;
}

static void expect_same_digest(harness *h, const char *a, const char *b)
{
    char da[128], dbv[128];
    snprintf(da, sizeof(da), "%s", h_runf(h, "DEBUG DIGEST-VALUE %s", a));
    snprintf(dbv, sizeof(dbv), "%s", h_runf(h, "DEBUG DIGEST-VALUE %s", b));
    cr_assert_str_eq(da, dbv, "%s vs %s", a, b);
    cr_assert_str_neq(da, "*1\r\n+0000000000000000000000000000000000000000\r\n");
}

static void expect_encoding(harness *h, const char *key, const char *enc)
{
    char want[64];
    snprintf(want, sizeof(want), "$%zu\r\n%s\r\n", strlen(enc), enc);
    cr_assert_str_eq(h_runf(h, "OBJECT ENCODING %s", key), want, "%s", key);
}

/* DUMP src, RESTORE it as dst, and check value and encoding. */
static void round_trip(harness *h, const char *src, const char *dst, const char *enc)
{
    blob b = dump(h, src);
    cr_assert_str_eq(restore(h, dst, "0", b), "+OK\r\n", "%s", src);
    expect_same_digest(h, src, dst);
    expect_encoding(h, src, enc);
    expect_encoding(h, dst, enc);
    cr_assert_str_eq(h_runf(h, "TTL %s", dst), ":-1\r\n");
    free(b.p);
}

/* ------------------------------------------------------------------------ */

Test(dump, simple_key_and_exact_payload)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET foo bar", "+OK\r\n");
    blob b = dump(&h, "foo");
    /* [bin "", type 0, nil, encoding 8 (embstr), bin "bar"], version 0x4b01,
     * XXH3-64 of the rest, little endian. */
    static const unsigned char body[] = {0x95, 0xc4, 0x00, 0x00, 0xc0, 0x08,
                                         0xc4, 0x03, 'b',  'a',  'r',  0x01, 0x4b};
    cr_assert_eq(b.n, sizeof(body) + 8);
    cr_assert(memcmp(b.p, body, sizeof(body)) == 0);
    uint64_t sum = XXH3_64bits(body, sizeof(body));
    for (int k = 0; k < 8; k++)
        cr_assert_eq((unsigned char)b.p[sizeof(body) + k], (unsigned char)(sum >> (8 * k)));
    EXPECT(&h, "DEL foo", ":1\r\n");
    EXPECT(&h, "EXISTS foo", ":0\r\n");
    cr_assert_str_eq(restore(&h, "foo", "0", b), "+OK\r\n");
    EXPECT(&h, "TTL foo", ":-1\r\n");
    EXPECT(&h, "GET foo", "$3\r\nbar\r\n");
    /* The payload does not depend on the key's name or TTL. */
    EXPECT(&h, "SET other bar EX 100", "+OK\r\n");
    blob o = dump(&h, "other");
    cr_assert(o.n == b.n && memcmp(o.p, b.p, b.n) == 0);
    free(o.p);
    free(b.p);
    h_free(&h);
}

Test(dump, missing_key_and_arity)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "DUMP nosuch", "$-1\r\n");
    h_run(&h, "HELLO 3");
    EXPECT(&h, "DUMP nosuch", "_\r\n");
    h_run(&h, "HELLO 2");
    EXPECT(&h, "DUMP", "-ERR wrong number of arguments for 'dump' command\r\n");
    EXPECT(&h, "DUMP a b", "-ERR wrong number of arguments for 'dump' command\r\n");
    EXPECT(&h, "RESTORE a 0", "-ERR wrong number of arguments for 'restore' command\r\n");
    EXPECT(&h, "RESTORE a", "-ERR wrong number of arguments for 'restore' command\r\n");
    h_free(&h);
}

Test(dump, dump_counts_a_hit_and_touches)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET k v", "+OK\r\n");
    h.now_ms += 10000;
    EXPECT(&h, "OBJECT IDLETIME k", ":10\r\n");
    uint64_t hits = h.e.db.stats.hits, misses = h.e.db.stats.misses;
    free(dump(&h, "k").p);
    EXPECT(&h, "DUMP nosuch", "$-1\r\n");
    cr_assert_eq(h.e.db.stats.hits, hits + 1);
    cr_assert_eq(h.e.db.stats.misses, misses + 1);
    EXPECT(&h, "OBJECT IDLETIME k", ":0\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* Round trips */

Test(dump, strings_every_encoding)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET i 12345", "+OK\r\n");
    round_trip(&h, "i", "i2", "int");
    EXPECT(&h, "SET neg -9223372036854775808", "+OK\r\n");
    round_trip(&h, "neg", "neg2", "int");
    EXPECT(&h, "GET neg2", "$20\r\n-9223372036854775808\r\n");
    EXPECT(&h, "SET e hello", "+OK\r\n");
    round_trip(&h, "e", "e2", "embstr");
    h_runf(&h, "SET r %0100d", 7);
    round_trip(&h, "r", "r2", "raw");
    EXPECT(&h, "SET empty \"\"", "+OK\r\n");
    round_trip(&h, "empty", "empty2", "embstr");
    EXPECT(&h, "GET empty2", "$0\r\n\r\n");
    EXPECT(&h, "SET bin \"a\\x00b\\r\\nc\"", "+OK\r\n");
    round_trip(&h, "bin", "bin2", "embstr");
    h_run(&h, "GET bin2");
    cr_assert(h.out.len == 12 && memcmp(h.out.data, "$6\r\na\0b\r\nc\r\n", 12) == 0);
    /* As a load in Redis: a short raw string comes back embstr, a string of
     * digits an int (SET's rules). */
    EXPECT(&h, "SET sr ab", "+OK\r\n");
    EXPECT(&h, "APPEND sr c", ":3\r\n");
    expect_encoding(&h, "sr", "raw");
    blob b = dump(&h, "sr");
    cr_assert_str_eq(restore(&h, "sr2", "0", b), "+OK\r\n");
    expect_encoding(&h, "sr2", "embstr");
    expect_same_digest(&h, "sr", "sr2");
    free(b.p);
    EXPECT(&h, "SET f 2.5", "+OK\r\n");
    EXPECT(&h, "INCRBYFLOAT f 0.5", "$1\r\n3\r\n");
    expect_encoding(&h, "f", "embstr");
    b = dump(&h, "f");
    cr_assert_str_eq(restore(&h, "f2", "0", b), "+OK\r\n");
    expect_encoding(&h, "f2", "int");
    EXPECT(&h, "GET f2", "$1\r\n3\r\n");
    free(b.p);
    h_free(&h);
}

Test(dump, hashes_listpack_and_hashtable)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "HSET h a 1 b 2 c \"\"", ":3\r\n");
    round_trip(&h, "h", "h2", "listpack");
    EXPECT(&h, "HGETALL h2", "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$0\r\n\r\n");
    /* Past hash-max-listpack-entries (512 built in, as Redis 7.0). */
    for (int i = 0; i < 600; i++)
        h_runf(&h, "HSET big f%d v%d", i, i);
    round_trip(&h, "big", "big2", "hashtable");
    EXPECT(&h, "HLEN big2", ":600\r\n");
    EXPECT(&h, "HGET big2 f599", "$4\r\nv599\r\n");
    h_runf(&h, "HSET long f %0100d", 1);
    round_trip(&h, "long", "long2", "hashtable");
    h_free(&h);
}

Test(dump, lists)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH l a b 1 2 \"\"", ":5\r\n");
    round_trip(&h, "l", "l2", "quicklist");
    EXPECT(&h, "LRANGE l2 0 -1",
           "*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\n2\r\n$0\r\n\r\n");
    for (int i = 0; i < 3000; i++)
        h_runf(&h, "RPUSH big item-%d", i);
    round_trip(&h, "big", "big2", "quicklist");
    EXPECT(&h, "LLEN big2", ":3000\r\n");
    EXPECT(&h, "LINDEX big2 2999", "$9\r\nitem-2999\r\n");
    EXPECT(&h, "LINDEX big2 -3000", "$6\r\nitem-0\r\n");
    h_free(&h);
}

Test(dump, sets_intset_and_hashtable)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD s 3 1 2 -7", ":4\r\n");
    round_trip(&h, "s", "s2", "intset");
    EXPECT(&h, "SMEMBERS s2", "*4\r\n$2\r\n-7\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    EXPECT(&h, "SADD t a b c 1", ":4\r\n");
    round_trip(&h, "t", "t2", "hashtable");
    EXPECT(&h, "SCARD t2", ":4\r\n");
    for (int i = 0; i < 600; i++)
        h_runf(&h, "SADD bigint %d", i);
    round_trip(&h, "bigint", "bigint2", "hashtable");
    EXPECT(&h, "SISMEMBER bigint2 599", ":1\r\n");
    h_free(&h);
}

Test(dump, zsets_listpack_and_skiplist)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "ZADD z 1 a 2.5 b -inf c inf d", ":4\r\n");
    round_trip(&h, "z", "z2", "listpack");
    EXPECT(&h, "ZRANGE z2 0 -1 WITHSCORES",
           "*8\r\n$1\r\nc\r\n$4\r\n-inf\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n"
           "$1\r\nd\r\n$3\r\ninf\r\n");
    for (int i = 0; i < 200; i++)
        h_runf(&h, "ZADD big %d m%d", i, i);
    round_trip(&h, "big", "big2", "skiplist");
    EXPECT(&h, "ZCARD big2", ":200\r\n");
    EXPECT(&h, "ZRANK big2 m150", ":150\r\n");
    h_runf(&h, "ZADD long 1 %0100d", 5);
    round_trip(&h, "long", "long2", "skiplist");
    h_free(&h);
}

/* The encoding a restored value gets follows the configuration, as a
 * load in Redis (rdbLoadObject). */
Test(dump, encoding_follows_config)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "HSET h a 1 b 2 c 3", ":3\r\n");
    EXPECT(&h, "SADD s 1 2 3", ":3\r\n");
    EXPECT(&h, "ZADD z 1 a 2 b 3 c", ":3\r\n");
    blob bh = dump(&h, "h"), bs = dump(&h, "s"), bz = dump(&h, "z");
    EXPECT(&h, "CONFIG SET hash-max-listpack-entries 2", "+OK\r\n");
    EXPECT(&h, "CONFIG SET set-max-intset-entries 2", "+OK\r\n");
    EXPECT(&h, "CONFIG SET zset-max-listpack-entries 2", "+OK\r\n");
    cr_assert_str_eq(restore(&h, "h2", "0", bh), "+OK\r\n");
    cr_assert_str_eq(restore(&h, "s2", "0", bs), "+OK\r\n");
    cr_assert_str_eq(restore(&h, "z2", "0", bz), "+OK\r\n");
    expect_encoding(&h, "h2", "hashtable");
    expect_encoding(&h, "s2", "hashtable");
    expect_encoding(&h, "z2", "skiplist");
    expect_same_digest(&h, "h", "h2");
    expect_same_digest(&h, "s", "s2");
    expect_same_digest(&h, "z", "z2");
    /* Only the entry count moves a listpack hash (as Redis's
     * HASH_LISTPACK load): a long value stays. */
    EXPECT(&h, "CONFIG SET hash-max-listpack-entries 128", "+OK\r\n");
    EXPECT(&h, "CONFIG SET hash-max-listpack-value 1", "+OK\r\n");
    cr_assert_str_eq(restore(&h, "h3", "0", bh), "+OK\r\n");
    expect_encoding(&h, "h3", "listpack");
    EXPECT(&h, "CONFIG SET hash-max-listpack-value 64", "+OK\r\n");
    EXPECT(&h, "CONFIG SET set-max-intset-entries 512", "+OK\r\n");
    EXPECT(&h, "CONFIG SET zset-max-listpack-entries 128", "+OK\r\n");
    free(bh.p);
    free(bs.p);
    free(bz.p);

    /* Tables that fit the compact limits again come back compact. */
    EXPECT(&h, "HDEL h2 a", ":1\r\n");
    expect_encoding(&h, "h2", "hashtable");
    bh = dump(&h, "h2");
    cr_assert_str_eq(restore(&h, "h4", "0", bh), "+OK\r\n");
    expect_encoding(&h, "h4", "listpack");
    expect_same_digest(&h, "h2", "h4");
    EXPECT(&h, "SADD s2 x", ":1\r\n");
    EXPECT(&h, "SREM s2 x", ":1\r\n");
    expect_encoding(&h, "s2", "hashtable");
    bs = dump(&h, "s2");
    cr_assert_str_eq(restore(&h, "s4", "0", bs), "+OK\r\n");
    expect_encoding(&h, "s4", "intset");
    expect_same_digest(&h, "s2", "s4");
    EXPECT(&h, "SADD s2 x", ":1\r\n");
    free(bs.p);
    bs = dump(&h, "s2");
    cr_assert_str_eq(restore(&h, "s5", "0", bs), "+OK\r\n");
    expect_encoding(&h, "s5", "hashtable");
    expect_encoding(&h, "z2", "skiplist");
    bz = dump(&h, "z2");
    cr_assert_str_eq(restore(&h, "z4", "0", bz), "+OK\r\n");
    expect_encoding(&h, "z4", "listpack");
    expect_same_digest(&h, "z2", "z4");
    free(bh.p);
    free(bs.p);
    free(bz.p);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* TTL, ABSTTL, REPLACE, IDLETIME, FREQ */

Test(dump, ttl_and_absttl)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET foo bar", "+OK\r\n");
    blob b = dump(&h, "foo");
    EXPECT(&h, "DEL foo", ":1\r\n");
    cr_assert_str_eq(restore(&h, "foo", "5000", b), "+OK\r\n");
    EXPECT(&h, "PTTL foo", ":5000\r\n");
    h.now_ms += 1000;
    EXPECT(&h, "PTTL foo", ":4000\r\n");
    h.now_ms += 4001;
    EXPECT(&h, "GET foo", "$-1\r\n");
    /* Past 32 bits. */
    cr_assert_str_eq(restore(&h, "foo", "2569591501", b), "+OK\r\n");
    EXPECT(&h, "PTTL foo", ":2569591501\r\n");
    EXPECT(&h, "DEL foo", ":1\r\n");
    char at[32];
    snprintf(at, sizeof(at), "%lld", (long long)h.now_ms + 3000);
    cr_assert_str_eq(restore_opts(&h, "foo", at, b.p, b.n, (const char *const[]){"ABSTTL", NULL}),
                     "+OK\r\n");
    EXPECT(&h, "PTTL foo", ":3000\r\n");
    EXPECT(&h, "DEL foo", ":1\r\n");
    /* The deadline at or before now: OK, and no key. */
    snprintf(at, sizeof(at), "%lld", (long long)h.now_ms);
    uint64_t d0 = h.e.stats.dirty;
    cr_assert_str_eq(restore_opts(&h, "foo", at, b.p, b.n, (const char *const[]){"absttl", NULL}),
                     "+OK\r\n");
    EXPECT(&h, "EXISTS foo", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty, d0);
    /* ... and with REPLACE the old key is deleted (one change). */
    EXPECT(&h, "SET foo old", "+OK\r\n");
    d0 = h.e.stats.dirty;
    cr_assert_str_eq(
        restore_opts(&h, "foo", "1", b.p, b.n, (const char *const[]){"ABSTTL", "REPLACE", NULL}),
        "+OK\r\n");
    EXPECT(&h, "DEBUG OBJECT foo", "-ERR no such key\r\n");
    cr_assert_eq(h.e.stats.dirty, d0 + 1);
    /* A relative TTL that overflows wraps as Redis's ttl+mstime(): in the
     * past, so no key. */
    cr_assert_str_eq(restore(&h, "foo", "9223372036854775807", b), "+OK\r\n");
    EXPECT(&h, "EXISTS foo", ":0\r\n");
    /* The largest that does not wrap. */
    snprintf(at, sizeof(at), "%lld", 9223372036854775807LL - (long long)h.now_ms);
    cr_assert_str_eq(restore(&h, "foo", at, b), "+OK\r\n");
    EXPECT(&h, "PEXPIRETIME foo", ":9223372036854775807\r\n");
    free(b.p);
    h_free(&h);
}

Test(dump, busykey_and_replace)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET foo bar1", "+OK\r\n");
    blob b1 = dump(&h, "foo");
    EXPECT(&h, "SET foo bar2", "+OK\r\n");
    blob b2 = dump(&h, "foo");
    EXPECT(&h, "DEL foo", ":1\r\n");
    cr_assert_str_eq(restore(&h, "foo", "0", b1), "+OK\r\n");
    cr_assert_str_eq(restore(&h, "foo", "0", b2), "-BUSYKEY Target key name already exists.\r\n");
    EXPECT(&h, "GET foo", "$4\r\nbar1\r\n");
    /* BUSYKEY comes before the TTL and the payload are looked at. */
    EXPECT(&h, "RESTORE foo -1 x", "-BUSYKEY Target key name already exists.\r\n");
    EXPECT(&h, "RESTORE foo abc x", "-BUSYKEY Target key name already exists.\r\n");
    EXPECT(&h, "RESTORE foo 0 ...", "-BUSYKEY Target key name already exists.\r\n");
    uint64_t d0 = h.e.stats.dirty;
    cr_assert_str_eq(restore_opts(&h, "foo", "0", b2.p, b2.n, (const char *const[]){"replace", NULL}),
                     "+OK\r\n");
    cr_assert_eq(h.e.stats.dirty, d0 + 1);
    EXPECT(&h, "GET foo", "$4\r\nbar2\r\n");
    /* REPLACE over another type, and dropping its TTL. */
    EXPECT(&h, "DEL foo", ":1\r\n");
    EXPECT(&h, "RPUSH foo x", ":1\r\n");
    EXPECT(&h, "EXPIRE foo 100", ":1\r\n");
    cr_assert_str_eq(restore_opts(&h, "foo", "0", b1.p, b1.n, (const char *const[]){"REPLACE", NULL}),
                     "+OK\r\n");
    EXPECT(&h, "TYPE foo", "+string\r\n");
    EXPECT(&h, "TTL foo", ":-1\r\n");
    /* An expired key is not busy. */
    EXPECT(&h, "SET gone x PX 10", "+OK\r\n");
    h.now_ms += 11;
    cr_assert_str_eq(restore(&h, "gone", "0", b2), "+OK\r\n");
    EXPECT(&h, "GET gone", "$4\r\nbar2\r\n");
    free(b1.p);
    free(b2.p);
    h_free(&h);
}

Test(dump, idletime_and_freq)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET foo bar", "+OK\r\n");
    blob b = dump(&h, "foo");
    EXPECT(&h, "DEL foo", ":1\r\n");
    cr_assert_str_eq(restore_opts(&h, "foo", "0", b.p, b.n, (const char *const[]){"IDLETIME", "1000", NULL}),
                     "+OK\r\n");
    EXPECT(&h, "OBJECT IDLETIME foo", ":1000\r\n");
    h.now_ms += 5000;
    EXPECT(&h, "OBJECT IDLETIME foo", ":1005\r\n");
    EXPECT(&h, "GET foo", "$3\r\nbar\r\n");
    EXPECT(&h, "OBJECT IDLETIME foo", ":0\r\n");
    /* Without IDLETIME the key is fresh. */
    cr_assert_str_eq(restore(&h, "fresh", "0", b), "+OK\r\n");
    EXPECT(&h, "OBJECT IDLETIME fresh", ":0\r\n");
    /* More than the clock: idle since the clock's start. */
    cr_assert_str_eq(restore_opts(&h, "old", "0", b.p, b.n,
                                  (const char *const[]){"IDLETIME", "9223372036854775807", NULL}),
                     "+OK\r\n");
    EXPECT(&h, "OBJECT IDLETIME old", ":1700000005\r\n");
    /* FREQ is checked and accepted (no LFU counter). */
    cr_assert_str_eq(restore_opts(&h, "fq", "0", b.p, b.n, (const char *const[]){"FREQ", "100", NULL}),
                     "+OK\r\n");
    EXPECT(&h, "GET fq", "$3\r\nbar\r\n");
    free(b.p);
    h_free(&h);
}

Test(dump, option_errors_in_redis_order)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET foo bar", "+OK\r\n");
    /* Options first, even before BUSYKEY. */
    EXPECT(&h, "RESTORE foo 0 x invalid-option", "-ERR syntax error\r\n");
    EXPECT(&h, "RESTORE foo 0 x IDLETIME", "-ERR syntax error\r\n");
    EXPECT(&h, "RESTORE foo 0 x FREQ", "-ERR syntax error\r\n");
    EXPECT(&h, "RESTORE nk 0 x IDLETIME 1 FREQ 2", "-ERR syntax error\r\n");
    EXPECT(&h, "RESTORE nk 0 x FREQ 2 IDLETIME 1", "-ERR syntax error\r\n");
    EXPECT(&h, "RESTORE nk 0 x IDLETIME -5", "-ERR Invalid IDLETIME value, must be >= 0\r\n");
    EXPECT(&h, "RESTORE nk 0 x IDLETIME z", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "RESTORE nk 0 x FREQ 256", "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n");
    EXPECT(&h, "RESTORE nk 0 x FREQ -1", "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n");
    EXPECT(&h, "RESTORE nk 0 x FREQ 1.5", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "RESTORE nk 0 x IDLETIME 1 IDLETIME 2", ERR_PAYLOAD);
    EXPECT(&h, "RESTORE nk 0 x FREQ 255 freq 0 replace absttl REPLACE", ERR_PAYLOAD);
    /* Then the TTL. */
    EXPECT(&h, "RESTORE nk abc x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "RESTORE nk -1 x", "-ERR Invalid TTL value, must be >= 0\r\n");
    EXPECT(&h, "RESTORE nk 99999999999999999999 x", "-ERR value is not an integer or out of range\r\n");
    /* Then the payload. */
    EXPECT(&h, "RESTORE nk 0 x", ERR_PAYLOAD);
    EXPECT(&h, "RESTORE nk 0 \"\"", ERR_PAYLOAD);
    EXPECT(&h, "RESTORE nk 0 0123456789", ERR_PAYLOAD);
    EXPECT(&h, "RESTORE foo 0 x REPLACE", ERR_PAYLOAD);
    EXPECT(&h, "GET foo", "$3\r\nbar\r\n");
    EXPECT(&h, "EXISTS nk", ":0\r\n");
    h_free(&h);
}

Test(dump, redis_rdb_payload_is_refused)
{
    harness h;
    h_init(&h);
    /* redis-server 7.0.15: SET foo bar; DUMP foo. */
    static const char rdb[] = "\x00\x03" "bar" "\x0a\x00" "\xe6\xbe\x49\x60\xee\x66\xfd\x17";
    cr_assert_str_eq(restore_opts(&h, "foo", "0", rdb, sizeof(rdb) - 1, NULL), ERR_PAYLOAD);
    /* ... even with keel's version and a right checksum: not a keel body. */
    blob b = frame(rdb, 7);
    cr_assert_str_eq(restore(&h, "foo", "0", b), ERR_BAD);
    EXPECT(&h, "EXISTS foo", ":0\r\n");
    free(b.p);
    h_free(&h);
}

Test(dump, bad_data_format)
{
    harness h;
    h_init(&h);
    /* Right framing, bodies that are not a keel value. */
    static const struct {
        const char *body;
        size_t n;
    } bad[] = {
        {"", 0},
        {"\xc0", 1},
        {"\x95\xc4\x00\x00\xc0\x08", 6},                       /* no value */
        {"\x95\xc4\x01k\x00\xc0\x08\xc4\x01v", 10},            /* a key name */
        {"\x95\xc4\x00\x00\x05\x08\xc4\x01v", 9},              /* a deadline */
        {"\x95\xc4\x00\x09\xc0\x08\xc4\x01v", 9},              /* unknown type */
        {"\x95\xc4\x00\x00\xc0\x63\xc4\x01v", 9},              /* unknown encoding */
        {"\x95\xc4\x00\x00\xc0\x08\xc4\x01v\xc0", 10},         /* a byte after */
        {"\x95\xc4\x00\x04\xc0\x0b\x80", 7},                   /* an empty hash */
        {"\x95\xc4\x00\x04\xc0\x0b\xdf\xff\xff\xff\xff", 11},  /* a huge count */
        {"\x95\xc4\x00\x00\xc0\x08\xc6\xff\xff\xff\xff", 11},  /* a huge length */
        {"\x95\xc4\x00\x00\xc0\x08\xc4\x01v\x95\xc4\x00\x00\xc0\x08\xc4\x01w", 18}, /* two */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        blob b = frame(bad[i].body, bad[i].n);
        cr_assert_str_eq(restore(&h, "k", "0", b), ERR_BAD, "body %zu", i);
        free(b.p);
    }
    EXPECT(&h, "DBSIZE", ":0\r\n");
    /* A hand-made good body, for contrast. */
    blob g = frame("\x95\xc4\x00\x00\xc0\x08\xc4\x01v", 9);
    cr_assert_str_eq(restore(&h, "k", "0", g), "+OK\r\n");
    EXPECT(&h, "GET k", "$1\r\nv\r\n");
    free(g.p);
    h_free(&h);
}

Test(dump, watch_sees_restore)
{
    harness h;
    h_init(&h);
    client *other = engine_client_new(&h.e, h.now_ms);
    EXPECT(&h, "SET src v", "+OK\r\n");
    blob b = dump(&h, "src");
    EXPECT(&h, "WATCH k", "+OK\r\n");
    cr_assert_str_eq(h_runv_as(&h, other, 4,
                               (resp_slice[]){{"RESTORE", 7}, {"k", 1}, {"0", 1}, {b.p, b.n}}),
                     "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "GET k", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*-1\r\n");
    /* Failed RESTOREs change nothing. */
    EXPECT(&h, "WATCH k", "+OK\r\n");
    EXPECT_AS(&h, other, "RESTORE k 0 x", "-BUSYKEY Target key name already exists.\r\n");
    EXPECT_AS(&h, other, "RESTORE k 0 x REPLACE", ERR_PAYLOAD);
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "GET k", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*1\r\n$1\r\nv\r\n");
    free(b.p);
    h_free(&h);
}

Test(dump, in_multi)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET src v", "+OK\r\n");
    blob b = dump(&h, "src");
    EXPECT(&h, "MULTI", "+OK\r\n");
    cr_assert_str_eq(restore(&h, "k", "0", b), "+QUEUED\r\n");
    EXPECT(&h, "DUMP nosuch", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*2\r\n+OK\r\n$-1\r\n");
    EXPECT(&h, "GET k", "$1\r\nv\r\n");
    free(b.p);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* Damage: every bit flip, every truncation, random bytes. */

static void make_samples(harness *h)
{
    h_run(h, "CONFIG SET hash-max-listpack-entries 128");
    h_run(h, "SET s1 12345");
    h_run(h, "SET s2 hello");
    h_runf(h, "SET s3 %060d", 3);
    h_run(h, "HSET h1 a 1 b 2");
    h_run(h, "RPUSH l1 a b 3");
    h_run(h, "SADD t1 1 2 3");
    h_run(h, "SADD t2 a b c");
    h_run(h, "ZADD z1 1 a 2 b");
    for (int i = 0; i < 140; i++) {
        h_runf(h, "HSET h2 f%d %d", i, i);
        h_runf(h, "ZADD z2 %d m%d", i, i);
    }
    expect_encoding(h, "s1", "int");
    expect_encoding(h, "s2", "embstr");
    expect_encoding(h, "s3", "raw");
    expect_encoding(h, "h1", "listpack");
    expect_encoding(h, "h2", "hashtable");
    expect_encoding(h, "t1", "intset");
    expect_encoding(h, "t2", "hashtable");
    expect_encoding(h, "z1", "listpack");
    expect_encoding(h, "z2", "skiplist");
}

static const char *const samples[] = {"s1", "s2", "s3", "h1", "h2", "l1", "t1", "t2", "z1", "z2"};
#define NSAMPLES (sizeof(samples) / sizeof(samples[0]))

Test(dump, every_bit_flip_and_truncation_is_refused)
{
    harness h;
    h_init(&h);
    make_samples(&h);
    for (size_t s = 0; s < NSAMPLES; s++) {
        blob b = dump(&h, samples[s]);
        for (size_t i = 0; i < b.n; i++) {
            for (int bit = 0; bit < 8; bit++) {
                b.p[i] ^= (char)(1 << bit);
                const char *r = restore(&h, "x", "0", b);
                cr_assert_str_eq(r, ERR_PAYLOAD, "%s: byte %zu bit %d", samples[s], i, bit);
                b.p[i] ^= (char)(1 << bit);
            }
        }
        for (size_t n = 0; n < b.n; n++) {
            const char *r = restore_opts(&h, "x", "0", b.p, n, NULL);
            cr_assert_str_eq(r, ERR_PAYLOAD, "%s: %zu bytes", samples[s], n);
        }
        /* One byte more is as bad. */
        char *longer = malloc(b.n + 1);
        memcpy(longer, b.p, b.n);
        longer[b.n] = 0;
        cr_assert_str_eq(restore_opts(&h, "x", "0", longer, b.n + 1, NULL), ERR_PAYLOAD);
        free(longer);
        cr_assert_str_eq(restore(&h, "x", "0", b), "+OK\r\n");
        expect_same_digest(&h, samples[s], "x");
        EXPECT(&h, "DEL x", ":1\r\n");
        free(b.p);
    }
    h_free(&h);
}

/* The body damaged and signed again: the checksum passes, the decoder has
 * to cope. Either a value comes out (and is sound) or "Bad data format". */
static long signed_ok, signed_bad;

static void restore_signed(harness *h, const unsigned char *p, size_t n, const char *what,
                           size_t at)
{
    const char *r = restore_opts(h, "x", "0", (const char *)p, n, (const char *const[]){"REPLACE", NULL});
    if (strcmp(r, "+OK\r\n") == 0) {
        cr_assert(db_check(&h->e.db), "%s %zu", what, at);
        /* The value is usable. */
        cr_assert_eq(h_run(h, "DEBUG DIGEST-VALUE x")[0], '*');
        cr_assert_eq(h_run(h, "TYPE x")[0], '+');
        cr_assert_eq(h_run(h, "DUMP x")[0], '$');
        EXPECT(h, "DEL x", ":1\r\n");
        signed_ok++;
    } else {
        cr_assert_str_eq(r, ERR_BAD, "%s %zu", what, at);
        signed_bad++;
    }
}

Test(dump, signed_damage_never_crashes)
{
    harness h;
    h_init(&h);
    make_samples(&h);
    for (size_t s = 0; s < NSAMPLES; s++) {
        blob b = dump(&h, samples[s]);
        size_t body = b.n - 10;
        unsigned char *p = malloc(b.n);
        /* Every bit of the body. */
        for (size_t i = 0; i < body; i++) {
            for (int bit = 0; bit < 8; bit++) {
                memcpy(p, b.p, b.n);
                p[i] ^= (unsigned char)(1 << bit);
                resign(p, b.n);
                restore_signed(&h, p, b.n, samples[s], i * 8 + (size_t)bit);
            }
        }
        /* Every byte of the body set to a few telling values. */
        static const unsigned char vals[] = {0x00, 0x7f, 0x80, 0x90, 0xc0, 0xc1, 0xcf,
                                             0xdc, 0xdd, 0xde, 0xdf, 0xc6, 0xdb, 0xff};
        for (size_t i = 0; i < body; i++) {
            for (size_t v = 0; v < sizeof(vals); v++) {
                memcpy(p, b.p, b.n);
                p[i] = vals[v];
                resign(p, b.n);
                restore_signed(&h, p, b.n, samples[s], i);
            }
        }
        /* Every truncation of the body, framed again: incomplete. */
        for (size_t n = 0; n < body; n++) {
            blob f = frame(b.p, n);
            cr_assert_str_eq(restore(&h, "x", "0", f), ERR_BAD, "%s: body of %zu", samples[s], n);
            free(f.p);
        }
        free(p);
        free(b.p);
    }
    EXPECT(&h, "EXISTS x", ":0\r\n");
    /* Both outcomes were met (damage in a member's bytes still decodes). */
    cr_assert_gt(signed_ok, 1000);
    cr_assert_gt(signed_bad, 1000);
    h_free(&h);
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

Test(dump, random_bytes)
{
    harness h;
    h_init(&h);
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    unsigned char buf[300];
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(xorshift(&seed) % sizeof(buf));
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)xorshift(&seed);
        if (round % 2 == 0) {
            /* Unsigned: refused by the footer. */
            cr_assert_str_eq(restore_opts(&h, "x", "0", (const char *)buf, n, NULL), ERR_PAYLOAD,
                             "round %d", round);
            continue;
        }
        /* Signed, and often shaped like an entry, so the decoder gets far. */
        if (n < 16)
            n = 16;
        if (round % 4 == 1) {
            static const unsigned char head[] = {0x95, 0xc4, 0x00};
            memcpy(buf, head, sizeof(head));
            buf[3] = (unsigned char)(xorshift(&seed) % 5);
            buf[4] = 0xc0;
            static const unsigned char encs[] = {0, 1, 2, 6, 7, 8, 9, 11};
            buf[5] = encs[xorshift(&seed) % sizeof(encs)];
        }
        buf[n - 10] = 0x01;
        buf[n - 9] = 0x4b;
        resign(buf, n);
        restore_signed(&h, buf, n, "round", (size_t)round);
    }
    h_free(&h);
}

/* DEBUG RELOAD keeps what RESTORE built. */
Test(dump, restored_values_survive_reload)
{
    harness h;
    h_init(&h);
    make_samples(&h);
    char dst[16];
    for (size_t s = 0; s < NSAMPLES; s++) {
        blob b = dump(&h, samples[s]);
        snprintf(dst, sizeof(dst), "r%s", samples[s]);
        cr_assert_str_eq(restore(&h, dst, "100000", b), "+OK\r\n");
        free(b.p);
    }
    EXPECT(&h, "DEBUG RELOAD", "+OK\r\n");
    for (size_t s = 0; s < NSAMPLES; s++) {
        snprintf(dst, sizeof(dst), "r%s", samples[s]);
        expect_same_digest(&h, samples[s], dst);
        cr_assert_str_eq(h_runf(&h, "PTTL %s", dst), ":100000\r\n");
    }
    h_free(&h);
}

/* A RESTOREd list serves a client blocked on its key. */
Test(dump, restore_wakes_blocked_client)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH src a b", ":2\r\n");
    blob b = dump(&h, "src");
    client *w = engine_client_new(&h.e, h.now_ms);
    kbuf wout = KBUF_INIT;
    w->out = &wout;
    EXPECT_AS(&h, w, "BLPOP q 0", "");
    cr_assert(engine_client_blocked(w));
    cr_assert_str_eq(restore(&h, "q", "0", b), "+OK\r\n");
    cr_assert_not(engine_client_blocked(w));
    cr_assert_eq(wout.len, strlen("*2\r\n$1\r\nq\r\n$1\r\na\r\n"));
    cr_assert(memcmp(wout.data, "*2\r\n$1\r\nq\r\n$1\r\na\r\n", wout.len) == 0);
    EXPECT(&h, "LRANGE q 0 -1", "*1\r\n$1\r\nb\r\n");
    while (engine_next_unblocked(&h.e))
        ;
    kbuf_free(&wout);
    free(b.p);
    h_free(&h);
}

Test(dump, sanitize_dump_payload_is_accepted)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "CONFIG GET sanitize-dump-payload", "*2\r\n$21\r\nsanitize-dump-payload\r\n$2\r\nno\r\n");
    EXPECT(&h, "CONFIG SET sanitize-dump-payload yes", "+OK\r\n");
    EXPECT(&h, "CONFIG SET sanitize-dump-payload clients", "+OK\r\n");
    EXPECT(&h, "CONFIG SET sanitize-dump-payload maybe",
           "-ERR CONFIG SET failed (possibly related to argument 'sanitize-dump-payload') - argument(s) must be one of the following: no, yes, clients\r\n");
    h_free(&h);
}
