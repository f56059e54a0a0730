/* The bitmap family (SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD
 * BITFIELD_RO) against Redis 7.0's exact replies. The cases follow Redis's
 * tests/unit/bitops.tcl and bitfield.tcl; the fuzz tests compare with
 * bit-by-bit models, with a fixed seed. */
#include <limits.h>

#include "core/store/hash.h"
#include "engine_harness.h"

#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
#define SYNTAX "-ERR syntax error\r\n"
#define NOT_INT "-ERR value is not an integer or out of range\r\n"
#define BAD_OFFSET "-ERR bit offset is not an integer or out of range\r\n"
#define BAD_BIT "-ERR bit is not an integer or out of range\r\n"
#define BAD_TYPE                                                                              \
    "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported " \
    "but i64 is.\r\n"

/* Compares the whole last reply, NUL bytes included. */
#define EXPECT_BIN(h, line, lit)                                                              \
    do {                                                                                      \
        h_run((h), (line));                                                                   \
        cr_assert_eq((h)->out.len, sizeof(lit) - 1, "%s: reply length %zu", (line),           \
                     (h)->out.len);                                                           \
        cr_assert(memcmp((h)->out.data, (lit), sizeof(lit) - 1) == 0, "%s: reply bytes", (line)); \
    } while (0)

static void make_hash(harness *h, const char *key)
{
    db_set_obj(&h->e.db, key, strlen(key), OBJ_HASH, ENC_LISTPACK, khash_new(), -1);
}

static int64_t deadline_of(harness *h, const char *key)
{
    kentry *e = (kentry *)dict_find(&h->e.db.keys, key, strlen(key));
    return e ? kentry_deadline(e) : -2;
}

/* SET key to the bytes p[0..n). */
static void set_bytes(harness *h, const char *key, const void *p, size_t n)
{
    resp_slice argv[3] = {{"SET", 3}, {key, strlen(key)}, {p, n}};
    cr_assert_str_eq(h_runv_as(h, h->c, 3, argv), "+OK\r\n");
}

/* Asserts that GET key returns exactly p[0..n). */
static void expect_value(harness *h, const char *key, const void *p, size_t n)
{
    h_runf(h, "GET %s", key);
    char hdr[32];
    int l = snprintf(hdr, sizeof(hdr), "$%zu\r\n", n);
    cr_assert_eq(h->out.len, (size_t)l + n + 2, "GET %s: length", key);
    cr_assert(memcmp(h->out.data, hdr, (size_t)l) == 0, "GET %s: header", key);
    cr_assert(memcmp(h->out.data + l, p, n) == 0, "GET %s: bytes", key);
}

/* The integer reply of the last command. */
static long long reply_int_of(harness *h)
{
    cr_assert(h->out.len > 3 && h->out.data[0] == ':', "not an integer reply: %s", h->last);
    return strtoll(h->out.data + 1, NULL, 10);
}

/* Deletes a key directly (DEL belongs to another family). */
static void del(harness *h, const char *key)
{
    db_delete(&h->e.db, key, strlen(key), h->now_ms);
}

static int bit_at(const unsigned char *s, long long i) { return (s[i >> 3] >> (7 - (i & 7))) & 1; }

/* ------------------------------------------------------------------------ */
/* SETBIT GETBIT */

Test(setbit, basics)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SETBIT mykey 1 1", ":0\r\n");
    EXPECT(&h, "GET mykey", "$1\r\n@\r\n"); /* 01000000 */
    /* "@" is 01000000. */
    EXPECT(&h, "SET mykey @", "+OK\r\n");
    EXPECT(&h, "SETBIT mykey 2 1", ":0\r\n");
    EXPECT(&h, "GET mykey", "$1\r\n`\r\n"); /* 01100000 */
    EXPECT(&h, "SETBIT mykey 1 0", ":1\r\n");
    EXPECT(&h, "GET mykey", "$1\r\n \r\n"); /* 00100000 */
    /* Integer-encoded "1" is 00110001. */
    EXPECT(&h, "SET mykey 1", "+OK\r\n");
    EXPECT(&h, "SETBIT mykey 6 1", ":0\r\n");
    EXPECT(&h, "GET mykey", "$1\r\n3\r\n"); /* 00110011 */
    EXPECT(&h, "SETBIT mykey 2 0", ":1\r\n");
    EXPECT_BIN(&h, "GET mykey", "$1\r\n\x13\r\n"); /* 00010011 */
    /* Growing pads with zero bytes. */
    EXPECT(&h, "SETBIT g 23 1", ":0\r\n");
    EXPECT_BIN(&h, "GET g", "$3\r\n\0\0\x01\r\n");
    EXPECT(&h, "SETBIT g 0 1", ":0\r\n");
    EXPECT_BIN(&h, "GET g", "$3\r\n\x80\0\x01\r\n");
    EXPECT(&h, "SETBIT g 0 1", ":1\r\n");
    EXPECT(&h, "SETBIT g 0 0", ":1\r\n");
    EXPECT(&h, "SETBIT g 0 0", ":0\r\n");
    EXPECT(&h, "STRLEN g", ":3\r\n");
    /* The TTL stays. */
    EXPECT(&h, "SET t a EX 100", "+OK\r\n");
    EXPECT(&h, "SETBIT t 7 0", ":1\r\n");
    EXPECT(&h, "GET t", "$1\r\n`\r\n");
    cr_assert_eq(deadline_of(&h, "t"), h.now_ms + 100000);
    h_free(&h);
}

Test(setbit, errors)
{
    harness h;
    h_init(&h);
    make_hash(&h, "h");
    EXPECT(&h, "SETBIT h 0 1", WRONGTYPE);
    EXPECT(&h, "SETBIT mykey 4294967296 1", BAD_OFFSET);
    EXPECT(&h, "SETBIT mykey -1 1", BAD_OFFSET);
    EXPECT(&h, "SETBIT mykey abc 1", BAD_OFFSET);
    EXPECT(&h, "SETBIT mykey \"\" 1", BAD_OFFSET);
    EXPECT(&h, "SETBIT mykey #1 1", BAD_OFFSET);
    EXPECT(&h, "SETBIT mykey 0 -1", BAD_BIT);
    EXPECT(&h, "SETBIT mykey 0 2", BAD_BIT);
    EXPECT(&h, "SETBIT mykey 0 10", BAD_BIT);
    EXPECT(&h, "SETBIT mykey 0 20", BAD_BIT);
    EXPECT(&h, "SETBIT mykey 0 a", BAD_BIT);
    EXPECT(&h, "SETBIT mykey 0 1.0", BAD_BIT);
    EXPECT(&h, "GET mykey", "$-1\r\n");
    /* Arguments are checked before the type, the offset before the bit. */
    EXPECT(&h, "SETBIT h -1 5", BAD_OFFSET);
    EXPECT(&h, "SETBIT h 0 5", BAD_BIT);
    EXPECT(&h, "SETBIT k 0", "-ERR wrong number of arguments for 'setbit' command\r\n");
    /* The limit follows proto-max-bulk-len: offset >> 3 must be below it. */
    h.e.cfg.proto_max_bulk_len = 4;
    EXPECT(&h, "SETBIT small 31 1", ":0\r\n");
    EXPECT(&h, "SETBIT small 32 1", BAD_OFFSET);
    EXPECT_BIN(&h, "GET small", "$4\r\n\0\0\0\x01\r\n");
    h_free(&h);
}

Test(setbit, dirty_only_on_change)
{
    harness h;
    h_init(&h);
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "SETBIT foo 0 0", ":0\r\n"); /* created */
    cr_assert_eq(h.e.stats.dirty, d + 1);
    EXPECT(&h, "SETBIT foo 0 0", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 1);
    EXPECT(&h, "SETBIT foo 0 1", ":0\r\n");
    EXPECT(&h, "SETBIT foo 0 1", ":1\r\n");
    EXPECT(&h, "SETBIT foo 0 0", ":1\r\n");
    EXPECT(&h, "SETBIT foo 0 0", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 3);
    EXPECT(&h, "SETBIT foo 90 0", ":0\r\n"); /* grows */
    cr_assert_eq(h.e.stats.dirty, d + 4);
    h_free(&h);
}

Test(setbit, fuzzing_against_a_model)
{
    harness h;
    h_init(&h);
    kprng r;
    kprng_seed(&r, 42);
    unsigned char model[256] = {0};
    size_t len = 0;
    for (int i = 0; i < 2000; i++) {
        long long bit = (long long)kprng_below(&r, 256 * 8);
        int val = (int)kprng_below(&r, 2);
        int old = (size_t)(bit >> 3) < len ? bit_at(model, bit) : 0;
        h_runf(&h, "SETBIT mykey %lld %d", bit, val);
        cr_assert_eq(reply_int_of(&h), old);
        if ((size_t)(bit >> 3) >= len)
            len = (size_t)(bit >> 3) + 1;
        model[bit >> 3] = (unsigned char)((model[bit >> 3] & ~(1 << (7 - (bit & 7)))) |
                                          (val << (7 - (bit & 7))));
        if (i % 50 == 0)
            expect_value(&h, "mykey", model, len);
        h_runf(&h, "GETBIT mykey %lld", (long long)kprng_below(&r, 300 * 8));
    }
    expect_value(&h, "mykey", model, len);
    for (long long b = 0; b < 260 * 8; b++) {
        h_runf(&h, "GETBIT mykey %lld", b);
        cr_assert_eq(reply_int_of(&h), (size_t)(b >> 3) < len ? bit_at(model, b) : 0);
    }
    h_free(&h);
}

Test(getbit, basics_and_errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "GETBIT mykey 0", ":0\r\n");
    /* "`" is 01100000. */
    EXPECT(&h, "SET mykey `", "+OK\r\n");
    EXPECT(&h, "GETBIT mykey 0", ":0\r\n");
    EXPECT(&h, "GETBIT mykey 1", ":1\r\n");
    EXPECT(&h, "GETBIT mykey 2", ":1\r\n");
    EXPECT(&h, "GETBIT mykey 3", ":0\r\n");
    EXPECT(&h, "GETBIT mykey 8", ":0\r\n");
    EXPECT(&h, "GETBIT mykey 100", ":0\r\n");
    EXPECT(&h, "GETBIT mykey 10000", ":0\r\n");
    /* Integer-encoded "1" is 00110001. */
    EXPECT(&h, "SET mykey 1", "+OK\r\n");
    EXPECT(&h, "GETBIT mykey 0", ":0\r\n");
    EXPECT(&h, "GETBIT mykey 1", ":0\r\n");
    EXPECT(&h, "GETBIT mykey 2", ":1\r\n");
    EXPECT(&h, "GETBIT mykey 3", ":1\r\n");
    EXPECT(&h, "GETBIT mykey 7", ":1\r\n");
    EXPECT(&h, "GETBIT mykey 8", ":0\r\n");
    EXPECT(&h, "GETBIT mykey 4294967295", ":0\r\n");
    EXPECT(&h, "GETBIT mykey 4294967296", BAD_OFFSET);
    EXPECT(&h, "GETBIT mykey -1", BAD_OFFSET);
    EXPECT(&h, "GETBIT mykey x", BAD_OFFSET);
    make_hash(&h, "h");
    EXPECT(&h, "GETBIT h 0", WRONGTYPE);
    EXPECT(&h, "GETBIT h -1", BAD_OFFSET);
    /* Reads do not create the key. */
    EXPECT(&h, "GETBIT nokey 100", ":0\r\n");
    cr_assert_eq(deadline_of(&h, "nokey"), -2);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* BITCOUNT */

static long long count_bits(const unsigned char *s, long long from_bit, long long to_bit)
{
    long long n = 0;
    for (long long i = from_bit; i <= to_bit; i++)
        n += bit_at(s, i);
    return n;
}

Test(bitcount, vectors_and_ranges)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "BITCOUNT no-key", ":0\r\n");
    EXPECT(&h, "BITCOUNT no-key 0 1000 bit", ":0\r\n");
    /* A missing key is 0 whatever the arguments. */
    EXPECT(&h, "BITCOUNT no-key a b c d", ":0\r\n");
    static const struct {
        const char *v;
        size_t n;
        int bits;
    } vec[] = {{"", 0, 0}, {"\xaa", 1, 4}, {"\x00\x00\xff", 3, 8}, {"foobar", 6, 26}, {"123", 3, 10}};
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        set_bytes(&h, "str", vec[i].v, vec[i].n);
        h_run(&h, "BITCOUNT str");
        cr_assert_eq(reply_int_of(&h), vec[i].bits);
        h_run(&h, "BITCOUNT str 0 -1 bit");
        cr_assert_eq(reply_int_of(&h), vec[i].bits);
    }
    EXPECT(&h, "SET str xxxx", "+OK\r\n");
    EXPECT(&h, "BITCOUNT str 4 10", ":0\r\n");
    EXPECT(&h, "BITCOUNT str 32 87 bit", ":0\r\n");
    EXPECT(&h, "BITCOUNT str -6 -7", ":0\r\n");
    EXPECT(&h, "BITCOUNT str -6 -15 bit", ":0\r\n");

    const unsigned char *s = (const unsigned char *)"foobar";
    EXPECT(&h, "SET s foobar", "+OK\r\n");
    EXPECT(&h, "BITCOUNT s", ":26\r\n");
    EXPECT(&h, "BITCOUNT s 0 -1", ":26\r\n");
    EXPECT(&h, "BITCOUNT s 1 -2", ":18\r\n"); /* "ooba" */
    EXPECT(&h, "BITCOUNT s -2 1", ":0\r\n");
    EXPECT(&h, "BITCOUNT s 0 1000", ":26\r\n");
    EXPECT(&h, "BITCOUNT s 1 1 BYTE", ":6\r\n");
    EXPECT(&h, "BITCOUNT s 5 30 bit", ":17\r\n");
    cr_assert_eq(count_bits(s, 5, 30), 17);
    h_run(&h, "BITCOUNT s 10 14 bit");
    cr_assert_eq(reply_int_of(&h), count_bits(s, 10, 14));
    h_run(&h, "BITCOUNT s 3 14 bit");
    cr_assert_eq(reply_int_of(&h), count_bits(s, 3, 14));
    h_run(&h, "BITCOUNT s 3 29 bit");
    cr_assert_eq(reply_int_of(&h), count_bits(s, 3, 29));
    h_run(&h, "BITCOUNT s 10 -34 bit");
    cr_assert_eq(reply_int_of(&h), count_bits(s, 10, 14));
    h_run(&h, "BITCOUNT s 3 -34 bit");
    cr_assert_eq(reply_int_of(&h), count_bits(s, 3, 14));
    h_run(&h, "BITCOUNT s 3 -19 bit");
    cr_assert_eq(reply_int_of(&h), count_bits(s, 3, 29));
    EXPECT(&h, "BITCOUNT s -2 1 bit", ":0\r\n");
    EXPECT(&h, "BITCOUNT s 0 1000 bit", ":26\r\n");
    EXPECT(&h, "BITCOUNT s 47 47 bit", ":0\r\n");
    EXPECT(&h, "BITCOUNT s 46 46 bit", ":1\r\n");
    EXPECT(&h, "BITCOUNT s -9223372036854775808 9223372036854775807", ":26\r\n");
    EXPECT(&h, "BITCOUNT s 0 4294967296", ":26\r\n");
    /* Misaligned prefix, full words, remainder. */
    EXPECT(&h, "SET str ab", "+OK\r\n");
    EXPECT(&h, "BITCOUNT str 1 -1", ":3\r\n");
    EXPECT(&h, "SET str __PPxxxxxxxxxxxxxxxxRR__", "+OK\r\n");
    EXPECT(&h, "BITCOUNT str 2 -3", ":74\r\n");
    /* Integer values count their text. */
    EXPECT(&h, "SET n 123", "+OK\r\n");
    EXPECT(&h, "BITCOUNT n", ":10\r\n");
    EXPECT(&h, "BITCOUNT n 1 1", ":3\r\n");
    h_free(&h);
}

Test(bitcount, errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET s foobar", "+OK\r\n");
    EXPECT(&h, "BITCOUNT s 0", SYNTAX);
    EXPECT(&h, "BITCOUNT s 0 1 hello", SYNTAX);
    EXPECT(&h, "BITCOUNT s 0 1 bit extra", SYNTAX);
    EXPECT(&h, "BITCOUNT s a 1", NOT_INT);
    EXPECT(&h, "BITCOUNT s 0 b", NOT_INT);
    EXPECT(&h, "BITCOUNT s 0 b hello", NOT_INT);
    /* An empty negative range answers before the unit is read. */
    EXPECT(&h, "BITCOUNT s -1 -5 hello", ":0\r\n");
    EXPECT(&h, "BITCOUNT", "-ERR wrong number of arguments for 'bitcount' command\r\n");
    make_hash(&h, "h");
    EXPECT(&h, "BITCOUNT h", WRONGTYPE);
    EXPECT(&h, "BITCOUNT h 0", WRONGTYPE);
    h_free(&h);
}

Test(bitcount, fuzzing_against_a_model)
{
    harness h;
    h_init(&h);
    kprng r;
    kprng_seed(&r, 7);
    unsigned char buf[300];
    for (int iter = 0; iter < 300; iter++) {
        size_t n = (size_t)kprng_below(&r, sizeof(buf) + 1);
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)kprng_next(&r);
        set_bytes(&h, "str", buf, n);
        h_run(&h, "BITCOUNT str");
        cr_assert_eq(reply_int_of(&h), n ? count_bits(buf, 0, (long long)n * 8 - 1) : 0);
        for (int k = 0; k < 10; k++) {
            bool isbit = kprng_below(&r, 2);
            long long tot = isbit ? (long long)n * 8 : (long long)n;
            long long span = tot + 10;
            long long start = (long long)kprng_below(&r, (uint64_t)span * 2) - span;
            long long end = (long long)kprng_below(&r, (uint64_t)span * 2) - span;
            h_runf(&h, "BITCOUNT str %lld %lld %s", start, end, isbit ? "BIT" : "BYTE");
            /* The model: Redis's normalisation, then a bit-by-bit count. */
            long long expect = 0;
            if (!(start < 0 && end < 0 && start > end)) {
                long long s = start < 0 ? start + tot : start;
                long long e = end < 0 ? end + tot : end;
                if (s < 0)
                    s = 0;
                if (e < 0)
                    e = 0;
                if (e >= tot)
                    e = tot - 1;
                if (s <= e)
                    expect = isbit ? count_bits(buf, s, e) : count_bits(buf, s * 8, e * 8 + 7);
            }
            cr_assert_eq(reply_int_of(&h), expect, "BITCOUNT %lld %lld %d on %zu bytes", start,
                         end, isbit, n);
        }
    }
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* BITPOS */

Test(bitpos, redis_cases)
{
    harness h;
    h_init(&h);
    /* Missing key: an endless run of zeros. */
    EXPECT(&h, "BITPOS str 0", ":0\r\n");
    EXPECT(&h, "BITPOS str 0 0 -1 bit", ":0\r\n");
    EXPECT(&h, "BITPOS str 1", ":-1\r\n");
    EXPECT(&h, "BITPOS str 1 0 -1", ":-1\r\n");
    EXPECT(&h, "BITPOS str 1 junk", ":-1\r\n");

    set_bytes(&h, "str", "\xff\xf0\x00", 3);
    EXPECT(&h, "BITPOS str 0", ":12\r\n");
    EXPECT(&h, "BITPOS str 0 0 -1 bit", ":12\r\n");
    EXPECT(&h, "BITPOS str 0 1", ":12\r\n");
    EXPECT(&h, "BITPOS str 0 1 -1 bit", ":12\r\n");
    set_bytes(&h, "str", "\x00\x0f\x00", 3);
    EXPECT(&h, "BITPOS str 1", ":12\r\n");
    EXPECT(&h, "BITPOS str 1 0 -1 bit", ":12\r\n");
    set_bytes(&h, "str", "\x00\x0f\xff", 3);
    EXPECT(&h, "BITPOS str 1 1", ":12\r\n");
    EXPECT(&h, "BITPOS str 1 1 -1 bit", ":12\r\n");

    /* Unaligned prefix, full words, remainder. */
    unsigned char ones[28], zeros[28];
    memset(ones, 0xff, 27);
    ones[27] = 0x0f;
    memset(zeros, 0, 27);
    zeros[27] = 0xf0;
    set_bytes(&h, "ones", ones, 28);
    set_bytes(&h, "zeros", zeros, 28);
    for (int s = 0; s <= 8; s++) {
        h_runf(&h, "BITPOS ones 0 %d", s);
        cr_assert_eq(reply_int_of(&h), 216);
        h_runf(&h, "BITPOS zeros 1 %d", s);
        cr_assert_eq(reply_int_of(&h), 216);
        h_runf(&h, "BITPOS ones 0 %d -1 bit", s * 8 + 1);
        cr_assert_eq(reply_int_of(&h), 216);
        h_runf(&h, "BITPOS zeros 1 %d -1 bit", s * 8 + 1);
        cr_assert_eq(reply_int_of(&h), 216);
    }

    /* All zero bits: no 1. */
    EXPECT(&h, "SET z \"\"", "+OK\r\n");
    for (int j = 0; j < 20; j++) {
        EXPECT(&h, "BITPOS z 1", ":-1\r\n");
        EXPECT(&h, "BITPOS z 1 0 -1 bit", ":-1\r\n");
        h_run(&h, "APPEND z \"\\x00\"");
    }
    /* An empty string has no 0 bit either. */
    EXPECT(&h, "SET e \"\"", "+OK\r\n");
    EXPECT(&h, "BITPOS e 0", ":-1\r\n");

    set_bytes(&h, "str", "\x00\xff\x00", 3);
    EXPECT(&h, "BITPOS str 0 0 -1", ":0\r\n");
    EXPECT(&h, "BITPOS str 0 1 -1", ":16\r\n");
    EXPECT(&h, "BITPOS str 0 2 -1", ":16\r\n");
    EXPECT(&h, "BITPOS str 0 2 200", ":16\r\n");
    EXPECT(&h, "BITPOS str 0 1 1", ":-1\r\n");
    EXPECT(&h, "BITPOS str 0 0 -1 bit", ":0\r\n");
    EXPECT(&h, "BITPOS str 0 8 -1 bit", ":16\r\n");
    EXPECT(&h, "BITPOS str 0 16 -1 bit", ":16\r\n");
    EXPECT(&h, "BITPOS str 0 16 200 bit", ":16\r\n");
    EXPECT(&h, "BITPOS str 0 8 8 bit", ":-1\r\n");
    EXPECT(&h, "BITPOS str 1 0 -1", ":8\r\n");
    EXPECT(&h, "BITPOS str 1 1 -1", ":8\r\n");
    EXPECT(&h, "BITPOS str 1 2 -1", ":-1\r\n");
    EXPECT(&h, "BITPOS str 1 2 200", ":-1\r\n");
    EXPECT(&h, "BITPOS str 1 1 1", ":8\r\n");
    EXPECT(&h, "BITPOS str 1 0 -1 bit", ":8\r\n");
    EXPECT(&h, "BITPOS str 1 8 -1 bit", ":8\r\n");
    EXPECT(&h, "BITPOS str 1 16 -1 bit", ":-1\r\n");
    EXPECT(&h, "BITPOS str 1 16 200 bit", ":-1\r\n");
    EXPECT(&h, "BITPOS str 1 8 8 bit", ":8\r\n");
    EXPECT(&h, "BITPOS str 1 10 12 bit", ":10\r\n");
    EXPECT(&h, "BITPOS str 0 3 2", ":-1\r\n");

    /* Looking for 0 changes when an end is given. */
    set_bytes(&h, "str", "\xff\xff\xff", 3);
    EXPECT(&h, "BITPOS str 0", ":24\r\n");
    EXPECT(&h, "BITPOS str 0 0", ":24\r\n");
    EXPECT(&h, "BITPOS str 0 0 -1", ":-1\r\n");
    EXPECT(&h, "BITPOS str 0 0 -1 bit", ":-1\r\n");
    EXPECT(&h, "BITPOS str 0 5", ":-1\r\n"); /* start past the end */
    /* Integer values: "1" is 00110001. */
    EXPECT(&h, "SET n 1", "+OK\r\n");
    EXPECT(&h, "BITPOS n 1", ":2\r\n");
    EXPECT(&h, "BITPOS n 0 2 -1 bit", ":4\r\n");
    h_free(&h);
}

Test(bitpos, errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET s foobar", "+OK\r\n");
    EXPECT(&h, "BITPOS s 2", "-ERR The bit argument must be 1 or 0.\r\n");
    EXPECT(&h, "BITPOS s -1", "-ERR The bit argument must be 1 or 0.\r\n");
    EXPECT(&h, "BITPOS s x", NOT_INT);
    EXPECT(&h, "BITPOS nokey 2", "-ERR The bit argument must be 1 or 0.\r\n");
    EXPECT(&h, "BITPOS s 1 a", NOT_INT);
    EXPECT(&h, "BITPOS s 1 0 a", NOT_INT);
    EXPECT(&h, "BITPOS s 1 0 1 bits", SYNTAX);
    /* The unit is read before the end. */
    EXPECT(&h, "BITPOS s 1 0 a bits", SYNTAX);
    EXPECT(&h, "BITPOS s 1 0 1 bit x", SYNTAX);
    EXPECT(&h, "BITPOS s", "-ERR wrong number of arguments for 'bitpos' command\r\n");
    make_hash(&h, "h");
    EXPECT(&h, "BITPOS h 1", WRONGTYPE);
    EXPECT(&h, "BITPOS h 1 a", WRONGTYPE);
    EXPECT(&h, "BITPOS h 3", "-ERR The bit argument must be 1 or 0.\r\n");
    h_free(&h);
}

/* Redis's BITPOS, as a bit-by-bit model. */
static long long model_bitpos(const unsigned char *s, long long n, int bit, int argc,
                              long long start, long long end, bool isbit)
{
    bool end_given = argc >= 5;
    long long tot = isbit ? n * 8 : n;
    if (argc == 3) {
        start = 0;
        end = n - 1;
    } else {
        if (!end_given)
            end = n - 1;
        if (start < 0)
            start += tot;
        if (end < 0)
            end += tot;
        if (start < 0)
            start = 0;
        if (end < 0)
            end = 0;
        if (end >= tot)
            end = tot - 1;
    }
    if (start > end)
        return -1;
    long long lo = isbit ? start : start * 8, hi = isbit ? end : end * 8 + 7;
    for (long long i = lo; i <= hi; i++)
        if (bit_at(s, i) == bit)
            return i;
    if (bit == 1 || end_given)
        return -1;
    return hi + 1;
}

Test(bitpos, fuzzing_against_a_model)
{
    harness h;
    h_init(&h);
    kprng r;
    kprng_seed(&r, 99);
    unsigned char buf[80];
    for (int iter = 0; iter < 400; iter++) {
        size_t n = (size_t)kprng_below(&r, sizeof(buf) + 1);
        /* Long runs of 0x00 or 0xff with a few flipped bits. */
        unsigned char fill = kprng_below(&r, 2) ? 0xff : 0x00;
        memset(buf, fill, n);
        int flips = (int)kprng_below(&r, 4);
        for (int f = 0; f < flips && n; f++) {
            long long b = (long long)kprng_below(&r, n * 8);
            buf[b >> 3] ^= (unsigned char)(1 << (7 - (b & 7)));
        }
        set_bytes(&h, "str", buf, n);
        for (int k = 0; k < 12; k++) {
            int bit = (int)kprng_below(&r, 2);
            int argc = 3 + (int)kprng_below(&r, 4);
            bool isbit = argc == 6 && kprng_below(&r, 2);
            long long tot = isbit ? (long long)n * 8 : (long long)n;
            long long span = tot + 10;
            long long start = (long long)kprng_below(&r, (uint64_t)span * 2) - span;
            long long end = (long long)kprng_below(&r, (uint64_t)span * 2) - span;
            if (argc == 3)
                h_runf(&h, "BITPOS str %d", bit);
            else if (argc == 4)
                h_runf(&h, "BITPOS str %d %lld", bit, start);
            else if (argc == 5)
                h_runf(&h, "BITPOS str %d %lld %lld", bit, start, end);
            else
                h_runf(&h, "BITPOS str %d %lld %lld %s", bit, start, end, isbit ? "bit" : "byte");
            long long want = model_bitpos(buf, (long long)n, bit, argc, start, end, isbit);
            cr_assert_eq(reply_int_of(&h), want, "BITPOS %d argc %d %lld %lld %d on %zu bytes",
                         bit, argc, start, end, isbit, n);
        }
    }
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* BITOP */

Test(bitop, redis_cases)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET s \"\"", "+OK\r\n");
    EXPECT(&h, "BITOP NOT dest s", ":0\r\n");
    EXPECT(&h, "GET dest", "$-1\r\n");
    set_bytes(&h, "s", "\xaa\x00\xff\x55", 4);
    EXPECT(&h, "BITOP not dest s", ":4\r\n");
    expect_value(&h, "dest", "\x55\xff\x00\xaa", 4);
    /* Destination and source the same key. */
    EXPECT(&h, "BITOP NOT s s", ":4\r\n");
    expect_value(&h, "s", "\x55\xff\x00\xaa", 4);
    /* One source: AND, OR and XOR copy it. */
    set_bytes(&h, "a", "\x01\x02\xff", 3);
    EXPECT(&h, "BITOP AND res1 a", ":3\r\n");
    EXPECT(&h, "BITOP OR res2 a", ":3\r\n");
    EXPECT(&h, "BITOP XOR res3 a", ":3\r\n");
    expect_value(&h, "res1", "\x01\x02\xff", 3);
    expect_value(&h, "res2", "\x01\x02\xff", 3);
    expect_value(&h, "res3", "\x01\x02\xff", 3);
    /* Missing keys are streams of zeros. */
    EXPECT(&h, "BITOP AND res1 no-such-key a", ":3\r\n");
    EXPECT(&h, "BITOP OR res2 no-such-key a no-such-key", ":3\r\n");
    EXPECT(&h, "BITOP XOR res3 no-such-key a", ":3\r\n");
    expect_value(&h, "res1", "\x00\x00\x00", 3);
    expect_value(&h, "res2", "\x01\x02\xff", 3);
    expect_value(&h, "res3", "\x01\x02\xff", 3);
    /* Shorter keys are zero-padded. */
    set_bytes(&h, "a", "\x01\x02\xff\xff", 4);
    set_bytes(&h, "b", "\x01\x02\xff", 3);
    EXPECT(&h, "BITOP AND res1 a b", ":4\r\n");
    EXPECT(&h, "BITOP OR res2 a b", ":4\r\n");
    EXPECT(&h, "BITOP XOR res3 a b", ":4\r\n");
    expect_value(&h, "res1", "\x01\x02\xff\x00", 4);
    expect_value(&h, "res2", "\x01\x02\xff\xff", 4);
    expect_value(&h, "res3", "\x00\x00\x00\xff", 4);
    /* Integer-encoded sources are their text. */
    EXPECT(&h, "SET a 1", "+OK\r\n");
    EXPECT(&h, "SET b 2", "+OK\r\n");
    EXPECT(&h, "BITOP XOR dest a b a", ":1\r\n");
    EXPECT(&h, "GET dest", "$1\r\n2\r\n");
    /* An empty string after a non-empty one (issue #529). */
    unsigned char z32[32] = {0};
    set_bytes(&h, "a", z32, 32);
    EXPECT(&h, "BITOP OR x a nokey", ":32\r\n");
    expect_value(&h, "x", z32, 32);
    h_free(&h);
}

Test(bitop, destination_and_errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET a 1", "+OK\r\n");
    EXPECT(&h, "SET b 2", "+OK\r\n");
    make_hash(&h, "c");
    EXPECT(&h, "SET dest old", "+OK\r\n");
    EXPECT(&h, "BITOP XOR dest a b c d", WRONGTYPE);
    EXPECT(&h, "GET dest", "$3\r\nold\r\n");
    EXPECT(&h, "BITOP FOO dest a", SYNTAX);
    EXPECT(&h, "BITOP ANDX dest a", SYNTAX);
    EXPECT(&h, "BITOP NOT dest a b", "-ERR BITOP NOT must be called with a single source key.\r\n");
    EXPECT(&h, "BITOP NOT dest", "-ERR wrong number of arguments for 'bitop' command\r\n");
    /* The destination loses its TTL and may be of any type. */
    EXPECT(&h, "SET dest old EX 100", "+OK\r\n");
    EXPECT(&h, "BITOP OR dest a", ":1\r\n");
    cr_assert_eq(deadline_of(&h, "dest"), -1);
    EXPECT(&h, "BITOP OR c a", ":1\r\n");
    EXPECT(&h, "GET c", "$1\r\n1\r\n");
    /* An empty result deletes the destination. */
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "BITOP AND dest nokey1 nokey2", ":0\r\n");
    cr_assert_eq(deadline_of(&h, "dest"), -2);
    cr_assert_eq(h.e.stats.dirty, d + 1);
    EXPECT(&h, "BITOP AND dest nokey1 nokey2", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 1);
    h_free(&h);
}

Test(bitop, fuzzing_against_a_model)
{
    harness h;
    h_init(&h);
    kprng r;
    kprng_seed(&r, 5);
    static const char *const ops[] = {"AND", "OR", "XOR", "NOT"};
    unsigned char vec[10][200], out[200];
    size_t len[10];
    for (int iter = 0; iter < 120; iter++) {
        int op = iter % 4;
        int nvec = op == 3 ? 1 : 1 + (int)kprng_below(&r, 10);
        size_t maxlen = 0;
        for (int j = 0; j < nvec; j++) {
            len[j] = (size_t)kprng_below(&r, 201);
            for (size_t i = 0; i < len[j]; i++)
                vec[j][i] = (unsigned char)kprng_next(&r);
            char key[16];
            snprintf(key, sizeof(key), "v%d", j);
            set_bytes(&h, key, vec[j], len[j]);
            if (len[j] > maxlen)
                maxlen = len[j];
        }
        for (size_t i = 0; i < maxlen; i++) {
            unsigned char o = i < len[0] ? vec[0][i] : 0;
            if (op == 3)
                o = (unsigned char)~o;
            for (int j = 1; j < nvec; j++) {
                unsigned char b = i < len[j] ? vec[j][i] : 0;
                o = op == 0 ? o & b : op == 1 ? o | b : (unsigned char)(o ^ b);
            }
            out[i] = o;
        }
        char line[256];
        int l = snprintf(line, sizeof(line), "BITOP %s target", ops[op]);
        for (int j = 0; j < nvec; j++)
            l += snprintf(line + l, sizeof(line) - (size_t)l, " v%d", j);
        h_run(&h, line);
        cr_assert_eq(reply_int_of(&h), (long long)maxlen);
        if (maxlen)
            expect_value(&h, "target", out, maxlen);
        else
            EXPECT(&h, "GET target", "$-1\r\n");
    }
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* BITFIELD */

Test(bitfield, redis_cases)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "BITFIELD bits set i8 0 -100", "*1\r\n:0\r\n");
    EXPECT(&h, "BITFIELD bits set i8 0 101", "*1\r\n:-100\r\n");
    EXPECT(&h, "BITFIELD bits get i8 0", "*1\r\n:101\r\n");
    del(&h, "bits");
    EXPECT(&h, "BITFIELD bits set u8 0 255", "*1\r\n:0\r\n");
    EXPECT(&h, "BITFIELD bits set u8 0 100", "*1\r\n:255\r\n");
    EXPECT(&h, "BITFIELD bits get u8 0", "*1\r\n:100\r\n");
    del(&h, "bits");
    EXPECT(&h, "BITFIELD bits set i8 0 255 set i8 0 100 get i8 0", "*3\r\n:0\r\n:-1\r\n:100\r\n");
    del(&h, "bits");
    EXPECT(&h, "BITFIELD bits set u8 0 255 incrby u8 0 100 get u8 0",
           "*3\r\n:0\r\n:99\r\n:99\r\n");
    del(&h, "bits");
    EXPECT(&h, "BITFIELD bits", "*0\r\n");
    cr_assert_eq(deadline_of(&h, "bits"), -2);
    /* #N offsets. */
    EXPECT(&h, "BITFIELD bits set u8 #0 65", "*1\r\n:0\r\n");
    EXPECT(&h, "BITFIELD bits set u8 #1 66", "*1\r\n:0\r\n");
    EXPECT(&h, "BITFIELD bits set u8 #2 67", "*1\r\n:0\r\n");
    EXPECT(&h, "GET bits", "$3\r\nABC\r\n");
    del(&h, "bits");
    EXPECT(&h, "BITFIELD bits set u8 #0 10", "*1\r\n:0\r\n");
    EXPECT(&h, "BITFIELD bits incrby u8 #0 100", "*1\r\n:110\r\n");
    EXPECT(&h, "BITFIELD bits incrby u8 #0 100", "*1\r\n:210\r\n");
    EXPECT(&h, "BITFIELD bits set u8 #0 10", "*1\r\n:210\r\n");
    EXPECT(&h, "BITFIELD bits incrby u8 #0 100 incrby u8 #0 100", "*2\r\n:110\r\n:210\r\n");
    /* Regression for #3221: a GET on an integer value. */
    EXPECT(&h, "SET bits 1", "+OK\r\n");
    EXPECT(&h, "BITFIELD bits get u1 0", "*1\r\n:0\r\n");
    /* Regression for #3564. */
    for (int j = 0; j < 3; j++) {
        del(&h, "mystring");
        EXPECT(&h, "BITFIELD mystring SET i8 0 10 SET i8 64 10 INCRBY i8 10 99900",
               "*3\r\n:0\r\n:0\r\n:60\r\n");
    }
    h_free(&h);
}

Test(bitfield, overflow_modes)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "BITFIELD bits set u8 #0 100", "*1\r\n:0\r\n");
    EXPECT(&h, "BITFIELD bits overflow wrap incrby u8 #0 257", "*1\r\n:101\r\n");
    EXPECT(&h, "BITFIELD bits get u8 #0", "*1\r\n:101\r\n");
    EXPECT(&h, "BITFIELD bits overflow wrap incrby u8 #0 255", "*1\r\n:100\r\n");
    EXPECT(&h, "BITFIELD bits get u8 #0", "*1\r\n:100\r\n");
    EXPECT(&h, "BITFIELD bits overflow sat incrby u8 #0 257", "*1\r\n:255\r\n");
    EXPECT(&h, "BITFIELD bits get u8 #0", "*1\r\n:255\r\n");
    EXPECT(&h, "BITFIELD bits overflow sat incrby u8 #0 -255", "*1\r\n:0\r\n");
    EXPECT(&h, "BITFIELD bits get u8 #0", "*1\r\n:0\r\n");
    EXPECT(&h, "BITFIELD bits set i8 #0 100", "*1\r\n:0\r\n");
    EXPECT(&h, "BITFIELD bits overflow wrap incrby i8 #0 257", "*1\r\n:101\r\n");
    EXPECT(&h, "BITFIELD bits overflow wrap incrby i8 #0 255", "*1\r\n:100\r\n");
    EXPECT(&h, "BITFIELD bits overflow sat incrby i8 #0 257", "*1\r\n:127\r\n");
    EXPECT(&h, "BITFIELD bits get i8 #0", "*1\r\n:127\r\n");
    EXPECT(&h, "BITFIELD bits overflow sat incrby i8 #0 -255", "*1\r\n:-128\r\n");
    EXPECT(&h, "BITFIELD bits get i8 #0", "*1\r\n:-128\r\n");
    /* FAIL: a null and no write; the mode applies to what follows it. */
    EXPECT(&h, "BITFIELD bits overflow fail incrby i8 #0 -1 incrby i8 #0 1 get i8 #0",
           "*3\r\n$-1\r\n:-127\r\n:-127\r\n");
    EXPECT(&h, "BITFIELD bits incrby u2 100 1 overflow sat incrby u2 102 1 overflow fail "
               "incrby u2 104 5 get u2 104",
           "*4\r\n:1\r\n:1\r\n$-1\r\n:0\r\n");
    EXPECT(&h, "BITFIELD bits overflow fail set u8 0 256 set i8 0 -129 set u8 0 255",
           "*3\r\n$-1\r\n$-1\r\n:129\r\n");
    EXPECT(&h, "BITFIELD bits overflow sat set u8 0 300 set i8 0 -300 set u3 0 -1",
           "*3\r\n:255\r\n:-1\r\n:4\r\n");
    EXPECT(&h, "BITFIELD bits get u8 0", "*1\r\n:224\r\n");
    EXPECT(&h, "BITFIELD bits set u8 0 -1 set i4 0 9 get u8 0", "*3\r\n:224\r\n:-1\r\n:159\r\n");
    h_free(&h);
}

Test(bitfield, widths_offsets_and_reads_past_the_end)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "BITFIELD k set i64 0 -1", "*1\r\n:0\r\n");
    EXPECT(&h, "BITFIELD k get u63 0 get i64 0 get u63 1 get i1 0 get u1 63",
           "*5\r\n:9223372036854775807\r\n:-1\r\n:9223372036854775807\r\n:-1\r\n:1\r\n");
    EXPECT(&h, "STRLEN k", ":8\r\n");
    EXPECT(&h, "BITFIELD k get u8 60 get i8 60 get u16 1000", "*3\r\n:240\r\n:-16\r\n:0\r\n");
    EXPECT(&h, "BITFIELD k set i64 3 9223372036854775807", "*1\r\n:-8\r\n");
    EXPECT(&h, "BITFIELD k get i64 3 get u3 0 get u5 67",
           "*3\r\n:9223372036854775807\r\n:7\r\n:0\r\n");
    EXPECT(&h, "STRLEN k", ":9\r\n");
    EXPECT(&h, "BITFIELD k overflow wrap incrby i64 3 1", "*1\r\n:-9223372036854775808\r\n");
    EXPECT(&h, "BITFIELD k overflow sat incrby i64 3 -1 incrby i64 3 9223372036854775807",
           "*2\r\n:-9223372036854775808\r\n:-1\r\n");
    EXPECT(&h, "BITFIELD k overflow fail incrby i64 3 -9223372036854775807 "
               "incrby i64 3 -1 incrby i64 3 9223372036854775807",
           "*3\r\n:-9223372036854775808\r\n$-1\r\n:-1\r\n");
    EXPECT(&h, "BITFIELD k overflow sat incrby u63 0 -9223372036854775808", "*1\r\n:0\r\n");
    /* Readonly BITFIELD on a missing key reads zeros and creates nothing. */
    EXPECT(&h, "BITFIELD nokey get i64 1000 get u1 0", "*2\r\n:0\r\n:0\r\n");
    cr_assert_eq(deadline_of(&h, "nokey"), -2);
    /* Writes grow the string just enough. */
    EXPECT(&h, "BITFIELD g set u1 100 1", "*1\r\n:0\r\n");
    EXPECT(&h, "STRLEN g", ":13\r\n");
    EXPECT(&h, "BITFIELD g set u3 #40 7", "*1\r\n:0\r\n");
    EXPECT(&h, "STRLEN g", ":16\r\n");
    EXPECT(&h, "BITPOS g 1", ":100\r\n");
    EXPECT(&h, "BITCOUNT g", ":4\r\n");
    /* The TTL stays. */
    EXPECT(&h, "SET t a PX 5000", "+OK\r\n");
    EXPECT(&h, "BITFIELD t set u8 0 66", "*1\r\n:97\r\n");
    EXPECT(&h, "GET t", "$1\r\nB\r\n");
    cr_assert_eq(deadline_of(&h, "t"), h.now_ms + 5000);
    h_free(&h);
}

Test(bitfield, errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "BITFIELD k foo", SYNTAX);
    EXPECT(&h, "BITFIELD k get i8", SYNTAX);
    EXPECT(&h, "BITFIELD k set i8 0", SYNTAX);
    EXPECT(&h, "BITFIELD k incrby i8 0", SYNTAX);
    EXPECT(&h, "BITFIELD k overflow", SYNTAX);
    EXPECT(&h, "BITFIELD k overflow foo get i8 0", "-ERR Invalid OVERFLOW type specified\r\n");
    EXPECT(&h, "BITFIELD k get i0 0", BAD_TYPE);
    EXPECT(&h, "BITFIELD k get i65 0", BAD_TYPE);
    EXPECT(&h, "BITFIELD k get u64 0", BAD_TYPE);
    EXPECT(&h, "BITFIELD k get u0 0", BAD_TYPE);
    EXPECT(&h, "BITFIELD k get x8 0", BAD_TYPE);
    EXPECT(&h, "BITFIELD k get I8 0", BAD_TYPE);
    EXPECT(&h, "BITFIELD k get i 0", BAD_TYPE);
    EXPECT(&h, "BITFIELD k get i08 0", BAD_TYPE);
    EXPECT(&h, "BITFIELD k get \"\" 0", BAD_TYPE);
    EXPECT(&h, "BITFIELD k get i8 -1", BAD_OFFSET);
    EXPECT(&h, "BITFIELD k get i8 x", BAD_OFFSET);
    EXPECT(&h, "BITFIELD k get i8 #-1", BAD_OFFSET);
    EXPECT(&h, "BITFIELD k get i8 #", BAD_OFFSET);
    EXPECT(&h, "BITFIELD k get i8 4294967296", BAD_OFFSET);
    EXPECT(&h, "BITFIELD k get i8 #536870912", BAD_OFFSET);
    EXPECT(&h, "BITFIELD k get i8 4294967295", "*1\r\n:0\r\n");
    EXPECT(&h, "BITFIELD k set i8 0 x", NOT_INT);
    EXPECT(&h, "BITFIELD k incrby i8 0 1.5", NOT_INT);
    /* A bad operation anywhere means nothing runs. */
    EXPECT(&h, "BITFIELD k set i8 0 1 get i8 x", BAD_OFFSET);
    cr_assert_eq(deadline_of(&h, "k"), -2);
    make_hash(&h, "h");
    EXPECT(&h, "BITFIELD h get i8 0", WRONGTYPE);
    EXPECT(&h, "BITFIELD h set i8 0 1", WRONGTYPE);
    EXPECT(&h, "BITFIELD h", WRONGTYPE);
    EXPECT(&h, "BITFIELD h get i8 x", BAD_OFFSET);
    /* A #N offset that overflows wraps as in Redis: (2^61 + 1) * 8 = 8. */
    EXPECT(&h, "BITFIELD k2 set u8 #2305843009213693953 255", "*1\r\n:0\r\n");
    EXPECT(&h, "BITFIELD k2 get u8 8", "*1\r\n:255\r\n");
    EXPECT(&h, "BITFIELD", "-ERR wrong number of arguments for 'bitfield' command\r\n");
    h_free(&h);
}

Test(bitfield_ro, gets_only)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "BITFIELD bits set u8 0 255", "*1\r\n:0\r\n");
    EXPECT(&h, "BITFIELD bits set u8 0 100", "*1\r\n:255\r\n");
    EXPECT(&h, "BITFIELD_RO bits get u8 0", "*1\r\n:100\r\n");
    EXPECT(&h, "bitfield_ro bits GET u4 0 Get i4 4 overflow sat get u8 #1",
           "*3\r\n:6\r\n:4\r\n:0\r\n");
    EXPECT(&h, "BITFIELD_RO bits", "*0\r\n");
    EXPECT(&h, "BITFIELD_RO nokey get u8 0", "*1\r\n:0\r\n");
    EXPECT(&h, "BITFIELD_RO bits set u8 0 100 get u8 0",
           "-ERR BITFIELD_RO only supports the GET subcommand\r\n");
    EXPECT(&h, "BITFIELD_RO bits incrby u8 0 1",
           "-ERR BITFIELD_RO only supports the GET subcommand\r\n");
    /* Parse errors come first. */
    EXPECT(&h, "BITFIELD_RO bits set u8 0 x", NOT_INT);
    EXPECT(&h, "BITFIELD_RO bits set u64 0 1", BAD_TYPE);
    EXPECT(&h, "BITFIELD_RO bits get", SYNTAX);
    EXPECT(&h, "BITFIELD_RO bits get u8 0", "*1\r\n:100\r\n");
    make_hash(&h, "h");
    EXPECT(&h, "BITFIELD_RO h get u8 0", WRONGTYPE);
    EXPECT(&h, "BITFIELD_RO h set u8 0 1", "-ERR BITFIELD_RO only supports the GET subcommand\r\n");
    h_free(&h);
}

Test(bitfield, dirty_only_on_change)
{
    harness h;
    h_init(&h);
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "BITFIELD foo2 set i5 0 0", "*1\r\n:0\r\n"); /* created */
    cr_assert_eq(h.e.stats.dirty, d + 1);
    EXPECT(&h, "BITFIELD foo2 set i5 0 0", "*1\r\n:0\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 1);
    EXPECT(&h, "BITFIELD foo2 set i5 0 1", "*1\r\n:0\r\n");
    EXPECT(&h, "BITFIELD foo2 set i5 0 1", "*1\r\n:1\r\n");
    EXPECT(&h, "BITFIELD foo2 set i5 0 0", "*1\r\n:1\r\n");
    EXPECT(&h, "BITFIELD foo2 set i5 0 0", "*1\r\n:0\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 3);
    /* An INCRBY that changes the value counts. */
    EXPECT(&h, "BITFIELD foo3 incrby i5 0 1", "*1\r\n:1\r\n");
    EXPECT(&h, "BITFIELD foo3 incrby i5 0 1", "*1\r\n:2\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 5);
    /* Growth alone counts (once per operation on a grown string). */
    EXPECT(&h, "BITFIELD foo2 set i5 90 0", "*1\r\n:0\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 6);
    EXPECT(&h, "BITFIELD foo2 set i5 200 0 set i5 205 0", "*2\r\n:0\r\n:0\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 8);
    /* GETs and refused writes do not count. */
    EXPECT(&h, "BITFIELD foo2 get i5 0 overflow fail incrby u2 0 9", "*2\r\n:0\r\n$-1\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 8);
    h_free(&h);
}

/* The overflow rules as exact arithmetic. */
Test(bitfield, overflow_fuzzing)
{
    harness h;
    h_init(&h);
    kprng r;
    kprng_seed(&r, 3221);
    for (int j = 0; j < 1000; j++) {
        int bits = 1 + (int)kprng_below(&r, 64);
        bool sign = bits == 64 || kprng_below(&r, 2);
        __int128 range = (__int128)1 << bits;
        __int128 min = sign ? -(range / 2) : 0;
        __int128 max = min + range - 1;
        __int128 value = min * 2 + (__int128)(kprng_next(&r) % (unsigned __int128)(range * 2));
        __int128 incr = min * 2 + (__int128)(kprng_next(&r) % (unsigned __int128)(range * 2));
        if (value > LLONG_MAX)
            value = LLONG_MAX;
        if (value < LLONG_MIN)
            value = LLONG_MIN;
        if (incr > LLONG_MAX)
            incr = LLONG_MAX;
        if (incr < LLONG_MIN)
            incr = LLONG_MIN;
        char type[8];
        snprintf(type, sizeof(type), "%c%d", sign ? 'i' : 'u', bits);

        /* FAIL detects exactly the overflows. */
        bool set_ovf = value > max || value < min;
        del(&h, "bits");
        h_runf(&h, "BITFIELD bits overflow fail set %s 0 %lld", type, (long long)value);
        bool got_null = strstr(h.last, "$-1") != NULL;
        cr_assert_eq(got_null, set_ovf, "SET %s %lld", type, (long long)value);
        if (!set_ovf) {
            bool inc_ovf = value + incr > max || value + incr < min;
            h_runf(&h, "BITFIELD bits overflow fail incrby %s 0 %lld", type, (long long)incr);
            got_null = strstr(h.last, "$-1") != NULL;
            cr_assert_eq(got_null, inc_ovf, "%s %lld + %lld", type, (long long)value,
                         (long long)incr);
        }

        /* WRAP is arithmetic modulo 2^bits. */
        del(&h, "bits");
        h_runf(&h, "BITFIELD bits overflow wrap set %s 0 %lld", type, (long long)value);
        h_runf(&h, "BITFIELD bits overflow wrap incrby %s 0 %lld", type, (long long)incr);
        h_runf(&h, "BITFIELD bits get %s 0", type);
        __int128 expect = (value + incr - min) % range;
        if (expect < 0)
            expect += range;
        expect += min;
        char want[64];
        snprintf(want, sizeof(want), "*1\r\n:%lld\r\n", (long long)expect);
        cr_assert_str_eq(h.last, want, "WRAP %s %lld + %lld", type, (long long)value,
                         (long long)incr);
    }
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* WATCH */

Test(bits_watch, writes_touch_and_no_ops_do_not)
{
    static const struct {
        const char *cmd;
        bool touches;
    } cases[] = {
        {"SETBIT k 0 1", true},          {"SETBIT k 1 1", false},
        {"SETBIT k 100 0", true},        {"BITFIELD k set u8 0 1", true},
        {"BITFIELD k set u8 0 64", false}, {"BITFIELD k incrby u8 0 0", false},
        {"BITOP NOT k k", true},         {"BITOP AND k nokey", true},
        {"BITFIELD k get u8 0", false},  {"BITFIELD_RO k get u8 0", false},
        {"GETBIT k 0", false},           {"BITCOUNT k", false},
        {"BITPOS k 1", false},           {"BITOP OR other k", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        harness h;
        h_init(&h);
        client *other = engine_client_new(&h.e, h.now_ms);
        EXPECT(&h, "SET k @", "+OK\r\n"); /* 01000000 */
        EXPECT(&h, "WATCH k", "+OK\r\n");
        h_run_as(&h, other, cases[i].cmd);
        cr_assert(h.last[0] != '-', "%s: %s", cases[i].cmd, h.last);
        EXPECT(&h, "MULTI", "+OK\r\n");
        EXPECT(&h, "STRLEN k", "+QUEUED\r\n");
        h_run(&h, "EXEC");
        cr_assert_eq(strcmp(h.last, "*-1\r\n") == 0, cases[i].touches, "%s", cases[i].cmd);
        h_free(&h);
    }
}
