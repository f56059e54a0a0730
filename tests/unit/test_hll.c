/* HyperLogLog: the string format (core/store/hll.c) and PFADD PFCOUNT
 * PFMERGE PFDEBUG PFSELFTEST (core/cmd/hll.c), against bytes, estimates
 * and replies taken from Redis 7.0.15 for the same inputs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/store/hll.h"
#include "engine_harness.h"

/* ------------------------------------------------------------------------ */
/* Helpers */

/* A buffer big enough for any sparse HLL in these tests, with slack. */
typedef struct sbuf {
    uint8_t b[4096];
    size_t len;
} sbuf;

static void sb_empty(sbuf *s)
{
    memset(s->b, 0, sizeof(s->b));
    hll_init_sparse(s->b);
    s->len = HLL_SPARSE_EMPTY_SIZE;
}

/* A sparse HLL from a payload given as bytes (header from the empty one). */
static void sb_payload(sbuf *s, const uint8_t *p, size_t n)
{
    sb_empty(s);
    memcpy(s->b + HLL_HDR_SIZE, p, n);
    s->len = HLL_HDR_SIZE + n;
}

static char *decode(const sbuf *s)
{
    static char text[8192];
    kbuf k = KBUF_INIT;
    hll_sparse_decode(s->b, s->len, &k);
    cr_assert_lt(k.len, sizeof(text));
    if (k.len)
        memcpy(text, k.data, k.len);
    text[k.len] = '\0';
    kbuf_free(&k);
    return text;
}

static int set_reg(sbuf *s, long index, unsigned count)
{
    return hll_sparse_update(s->b, &s->len, index, count, HLL_SPARSE_MAX_BYTES_DEFAULT);
}

/* Runs a command given as separate arguments (binary safe); returns the
 * reply, whose exact length is h->out.len. */
static const char *runv(harness *h, int argc, const char *const *argv, const size_t *lens)
{
    resp_slice *a = calloc((size_t)argc, sizeof(*a));
    for (int i = 0; i < argc; i++) {
        a[i].ptr = argv[i];
        a[i].len = lens ? lens[i] : strlen(argv[i]);
    }
    const char *r = h_runv_as(h, h->c, argc, a);
    free(a);
    return r;
}

/* PFADD key prefix<from> ... prefix<to-1> */
static const char *pfadd_range(harness *h, const char *key, const char *prefix, int from, int to)
{
    int n = to - from;
    const char **argv = calloc((size_t)n + 2, sizeof(char *));
    char *store = calloc((size_t)n, 32);
    argv[0] = "PFADD";
    argv[1] = key;
    for (int i = 0; i < n; i++) {
        snprintf(store + 32 * i, 32, "%s%d", prefix, from + i);
        argv[i + 2] = store + 32 * i;
    }
    const char *r = runv(h, n + 2, argv, NULL);
    free(store);
    free(argv);
    return r;
}

/* SET key to the given bytes. */
static void set_bytes(harness *h, const char *key, const void *v, size_t len)
{
    const char *argv[] = {"SET", key, v};
    size_t lens[] = {3, strlen(key), len};
    cr_assert_str_eq(runv(h, 3, argv, lens), "+OK\r\n");
}

/* GET key must be exactly these bytes. */
static void expect_value(harness *h, const char *key, const void *v, size_t len)
{
    char head[32];
    int n = snprintf(head, sizeof(head), "$%zu\r\n", len);
    h_runf(h, "GET %s", key);
    cr_assert_eq(h->out.len, (size_t)n + len + 2, "GET %s: %zu bytes", key, h->out.len);
    cr_assert(memcmp(h->out.data, head, (size_t)n) == 0);
    cr_assert(memcmp(h->out.data + n, v, len) == 0, "GET %s: value differs", key);
}

/* A reply that may hold NUL bytes, compared in full. */
#define EXPECT_BYTES(h, line, lit)                                                              \
    do {                                                                                        \
        h_run((h), (line));                                                                     \
        cr_assert_eq((h)->out.len, sizeof(lit) - 1, "%s: %zu bytes", (line), (h)->out.len);     \
        cr_assert(memcmp((h)->out.data, (lit), sizeof(lit) - 1) == 0, "%s", (line));            \
    } while (0)

/* The dense HLL whose registers are regs[i]. */
static void dense_from(uint8_t *out, const uint8_t *regs)
{
    memset(out, 0, HLL_DENSE_SIZE);
    memcpy(out, "HYLL", 4);
    hll_cache_invalidate(out);
    for (long i = 0; i < HLL_REGISTERS; i++)
        hll_dense_set(out + HLL_HDR_SIZE, i, regs[i]);
}

/* What PFADD key a b c stores in Redis 7.0.15. */
static const uint8_t ABC[] = {'H', 'Y', 'L', 'L', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80,
                              0x60, 0xf3, 0x80, 0x50, 0xb1, 0x84, 0x4b, 0xfb, 0x80, 0x42, 0x5a};

/* ------------------------------------------------------------------------ */
/* The format */

Test(hll_format, empty_sparse_and_header_checks)
{
    sbuf s;
    sb_empty(&s);
    static const uint8_t empty[] = {'H', 'Y', 'L', 'L', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                    0x7f, 0xff};
    cr_assert_eq(s.len, sizeof(empty));
    cr_assert(memcmp(s.b, empty, sizeof(empty)) == 0);
    cr_assert_str_eq(decode(&s), "Z:16384");
    cr_assert(hll_is_valid(s.b, s.len));
    cr_assert(hll_cache_valid(s.b));
    cr_assert_eq(hll_count(s.b, s.len, NULL), 0);

    /* isHLLObjectOrReply: length, magic, encoding, dense length. */
    cr_assert_not(hll_is_valid(s.b, 15));
    cr_assert(hll_is_valid(s.b, 16)); /* a sparse header alone passes here */
    s.b[0] = 'h';
    cr_assert_not(hll_is_valid(s.b, s.len));
    s.b[0] = 'H';
    s.b[4] = 2;
    cr_assert_not(hll_is_valid(s.b, s.len));
    static uint8_t d[HLL_DENSE_SIZE + 1];
    memcpy(d, "HYLL", 4);
    cr_assert(hll_is_valid(d, HLL_DENSE_SIZE));
    cr_assert_not(hll_is_valid(d, HLL_DENSE_SIZE - 1));
    cr_assert_not(hll_is_valid(d, HLL_DENSE_SIZE + 1));
    cr_assert_not(hll_is_valid(d, 18));
}

Test(hll_format, cache_bytes)
{
    uint8_t h[16] = {0};
    hll_cache_set(h, 0x0102030405060708ULL);
    cr_assert_eq(h[8], 0x08);
    cr_assert_eq(h[15], 0x01);
    cr_assert(hll_cache_valid(h));
    cr_assert_eq(hll_cache_get(h), 0x0102030405060708ULL);
    hll_cache_invalidate(h);
    cr_assert_eq(h[15], 0x81);
    cr_assert_not(hll_cache_valid(h));
}

Test(hll_format, hash_and_pattern_match_redis)
{
    /* Registers Redis sets for "a", "b", "c" (PFDEBUG DECODE above):
     * 8436 <- 1, 12711 <- 2, 15780 <- 1, in some order. */
    long idx[3];
    int cnt[3];
    const char *ele[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++)
        cnt[i] = hll_pattern(ele[i], 1, &idx[i]);
    int seen = 0;
    for (int i = 0; i < 3; i++) {
        if (idx[i] == 8436 && cnt[i] == 1)
            seen |= 1;
        if (idx[i] == 12711 && cnt[i] == 2)
            seen |= 2;
        if (idx[i] == 15780 && cnt[i] == 1)
            seen |= 4;
    }
    cr_assert_eq(seen, 7);
    /* MurmurHash64A("", seed 0) and a 9-byte key exercise both tails. */
    cr_assert_eq(hll_murmur64a("", 0, 0), 0);
    cr_assert_neq(hll_murmur64a("123456789", 9, 0xadc83b19ULL),
                  hll_murmur64a("123456788", 9, 0xadc83b19ULL));
    long i1, i2;
    cr_assert_eq(hll_pattern("x", 1, &i1), hll_pattern("x", 1, &i2));
    cr_assert_eq(i1, i2);
    cr_assert(i1 >= 0 && i1 < HLL_REGISTERS);
}

Test(hll_format, dense_registers_round_trip)
{
    static uint8_t regs[HLL_DENSE_SIZE - HLL_HDR_SIZE];
    static uint8_t want[HLL_REGISTERS];
    kprng r;
    kprng_seed(&r, 7);
    for (int cycle = 0; cycle < 20; cycle++) {
        for (long i = 0; i < HLL_REGISTERS; i++) {
            want[i] = (uint8_t)(kprng_next(&r) & 63);
            hll_dense_set(regs, i, want[i]);
        }
        for (long i = 0; i < HLL_REGISTERS; i++)
            cr_assert_eq(hll_dense_get(regs, i), want[i], "register %ld", i);
    }
    /* Neighbours are untouched, and only a higher value is taken. */
    memset(regs, 0, sizeof(regs));
    hll_dense_set(regs, 1, 63);
    cr_assert_eq(regs[0], 0xc0);
    cr_assert_eq(regs[1], 0x0f);
    cr_assert_eq(hll_dense_get(regs, 0), 0);
    cr_assert_eq(hll_dense_get(regs, 2), 0);
    cr_assert_eq(hll_dense_update(regs, 1, 5), 0);
    cr_assert_eq(hll_dense_update(regs, 2, 5), 1);
    cr_assert_eq(hll_dense_get(regs, 2), 5);
    hll_dense_set(regs, HLL_REGISTERS - 1, 51);
    cr_assert_eq(hll_dense_get(regs, HLL_REGISTERS - 1), 51);
    cr_assert_eq(regs[sizeof(regs) - 1], 51 << 2);
}

Test(hll_format, sparse_updates_split_and_merge)
{
    sbuf s;
    sb_empty(&s);
    cr_assert_eq(set_reg(&s, 0, 3), HLL_CHANGED);
    cr_assert_str_eq(decode(&s), "v:3,1 Z:16383");
    cr_assert_eq(s.len, 19);
    cr_assert_eq(s.b[16], 0x88);
    cr_assert_not(hll_cache_valid(s.b));

    sb_empty(&s);
    cr_assert_eq(set_reg(&s, HLL_REGISTERS - 1, 1), HLL_CHANGED);
    cr_assert_str_eq(decode(&s), "Z:16383 v:1,1");

    sb_empty(&s);
    cr_assert_eq(set_reg(&s, 100, 2), HLL_CHANGED); /* XZERO -> XZERO VAL XZERO */
    cr_assert_str_eq(decode(&s), "Z:100 v:2,1 Z:16283");
    cr_assert_eq(s.len, HLL_HDR_SIZE + 5);
    cr_assert_eq(set_reg(&s, 101, 2), HLL_CHANGED); /* merged into one VAL */
    cr_assert_str_eq(decode(&s), "Z:100 v:2,2 Z:16282");
    cr_assert_eq(set_reg(&s, 100, 1), HLL_UNCHANGED);
    cr_assert_eq(set_reg(&s, 101, 2), HLL_UNCHANGED);
    cr_assert_eq(set_reg(&s, 50, 1), HLL_CHANGED); /* a short run is a ZERO */
    cr_assert_str_eq(decode(&s), "z:50 v:1,1 z:49 v:2,2 Z:16282");
    cr_assert_eq(set_reg(&s, 102, 2), HLL_CHANGED);
    cr_assert_eq(set_reg(&s, 103, 2), HLL_CHANGED);
    cr_assert_str_eq(decode(&s), "z:50 v:1,1 z:49 v:2,4 Z:16280");
    cr_assert_eq(set_reg(&s, 104, 2), HLL_CHANGED); /* a VAL runs 4 at most */
    cr_assert_str_eq(decode(&s), "z:50 v:1,1 z:49 v:2,4 v:2,1 Z:16279");
    cr_assert_eq(set_reg(&s, 101, 5), HLL_CHANGED); /* VAL split */
    cr_assert_str_eq(decode(&s), "z:50 v:1,1 z:49 v:2,1 v:5,1 v:2,3 Z:16279");
    cr_assert_eq(set_reg(&s, 51, 3), HLL_CHANGED); /* ZERO split at its start */
    cr_assert_str_eq(decode(&s), "z:50 v:1,1 v:3,1 z:48 v:2,1 v:5,1 v:2,3 Z:16279");
    cr_assert_eq(set_reg(&s, 50, 3), HLL_CHANGED); /* a one-register VAL, then a merge */
    cr_assert_str_eq(decode(&s), "z:50 v:3,2 z:48 v:2,1 v:5,1 v:2,3 Z:16279");
    bool invalid = false;
    uint64_t est = hll_count(s.b, s.len, &invalid);
    cr_assert_not(invalid);
    cr_assert_eq(est, 7); /* seven registers set */
    static uint8_t d[HLL_DENSE_SIZE];
    cr_assert(hll_sparse_to_dense(s.b, s.len, d));
    cr_assert_eq(hll_count(d, HLL_DENSE_SIZE, NULL), est);
    cr_assert_eq(hll_dense_get(d + HLL_HDR_SIZE, 101), 5);
    cr_assert_eq(hll_dense_get(d + HLL_HDR_SIZE, 104), 2);
    cr_assert_eq(hll_dense_get(d + HLL_HDR_SIZE, 105), 0);
}

Test(hll_format, promotion_conditions)
{
    sbuf s;
    sb_empty(&s);
    uint8_t before[HLL_SPARSE_EMPTY_SIZE];
    memcpy(before, s.b, sizeof(before));
    /* A value above 32 cannot be a VAL. */
    cr_assert_eq(set_reg(&s, 7, 33), HLL_PROMOTE);
    cr_assert_eq(s.len, HLL_SPARSE_EMPTY_SIZE);
    cr_assert(memcmp(s.b, before, sizeof(before)) == 0);
    cr_assert_eq(set_reg(&s, 7, 32), HLL_CHANGED);
    /* Growing past max_bytes promotes; reaching it exactly does not. */
    sb_empty(&s);
    cr_assert_eq(hll_sparse_update(s.b, &s.len, 100, 1, 20), HLL_PROMOTE);
    cr_assert_eq(s.len, HLL_SPARSE_EMPTY_SIZE);
    cr_assert_eq(hll_sparse_update(s.b, &s.len, 100, 1, 21), HLL_CHANGED);
    cr_assert_eq(s.len, 21);
    /* Shrinking or same-size updates never promote. */
    cr_assert_eq(hll_sparse_update(s.b, &s.len, 100, 2, 0), HLL_CHANGED);
    cr_assert_eq(s.len, 21);
}

Test(hll_format, sparse_dense_round_trip)
{
    /* The same elements into a sparse and a dense HLL give the same
     * registers and the same estimate, at every size up to promotion. */
    sbuf s;
    sb_empty(&s);
    static uint8_t dense[HLL_DENSE_SIZE], conv[HLL_DENSE_SIZE + 1];
    memset(dense, 0, sizeof(dense));
    memcpy(dense, "HYLL", 4);
    char ele[32];
    int promoted_at = 0;
    for (int i = 0; i < 3000 && !promoted_at; i++) {
        int n = snprintf(ele, sizeof(ele), "elem:%d", i);
        long idx;
        int cnt = hll_pattern(ele, (size_t)n, &idx);
        int dr = hll_dense_update(dense + HLL_HDR_SIZE, idx, (unsigned)cnt);
        int sr = set_reg(&s, idx, (unsigned)cnt);
        if (sr == HLL_PROMOTE) {
            promoted_at = i;
            break;
        }
        cr_assert_eq(sr, dr, "element %d", i);
        if (i % 97 == 0) {
            cr_assert(hll_sparse_to_dense(s.b, s.len, conv));
            cr_assert(memcmp(conv + HLL_HDR_SIZE, dense + HLL_HDR_SIZE,
                             HLL_DENSE_SIZE - HLL_HDR_SIZE) == 0);
            cr_assert_eq(conv[4], HLL_DENSE);
            cr_assert(memcmp(conv + 5, s.b + 5, 11) == 0); /* header kept */
            cr_assert_eq(hll_count(conv, HLL_DENSE_SIZE, NULL), hll_count(s.b, s.len, NULL));
        }
    }
    /* The default limit promotes after about 1500 elements. */
    cr_assert(promoted_at > 1000 && promoted_at < 2500, "promoted at %d", promoted_at);
    cr_assert_leq(s.len, HLL_SPARSE_MAX_BYTES_DEFAULT);
}

Test(hll_format, corrupt_sparse_payloads)
{
    sbuf s;
    uint8_t dense[HLL_DENSE_SIZE];
    static uint8_t max[HLL_REGISTERS];
    bool invalid;

    /* Too short: 16383 registers. */
    static const uint8_t short_run[] = {0x7f, 0xfe};
    sb_payload(&s, short_run, sizeof(short_run));
    invalid = false;
    hll_count(s.b, s.len, &invalid);
    cr_assert(invalid);
    cr_assert_not(hll_sparse_to_dense(s.b, s.len, dense));
    cr_assert_not(hll_merge(max, s.b, s.len));
    /* The update still works where the payload covers the register... */
    cr_assert_eq(set_reg(&s, 5, 1), HLL_CHANGED);
    /* ...and fails where it does not. */
    cr_assert_eq(set_reg(&s, HLL_REGISTERS - 1, 1), HLL_INVALID);

    /* Extra opcodes after the 16384th register (APPEND): a VAL or a ZERO
     * that runs past the end makes it corrupt. */
    static const uint8_t tail_val[] = {0x7f, 0xff, 0x80};
    sb_payload(&s, tail_val, sizeof(tail_val));
    invalid = false;
    hll_count(s.b, s.len, &invalid);
    cr_assert(invalid);
    cr_assert_not(hll_sparse_to_dense(s.b, s.len, dense));
    cr_assert_not(hll_merge(max, s.b, s.len));
    static const uint8_t tail_zero[] = {0x7f, 0xff, 0x0b};
    sb_payload(&s, tail_zero, sizeof(tail_zero));
    invalid = false;
    hll_count(s.b, s.len, &invalid);
    cr_assert(invalid);

    /* A VAL that would run past register 16383. */
    static const uint8_t val_over[] = {0x7f, 0xfd, 0x8f};
    sb_payload(&s, val_over, sizeof(val_over));
    invalid = false;
    hll_count(s.b, s.len, &invalid);
    cr_assert(invalid);
    cr_assert_not(hll_sparse_to_dense(s.b, s.len, dense));

    /* Huge runs never overflow a counter. */
    static uint8_t many[2000];
    for (size_t i = 0; i < sizeof(many); i++)
        many[i] = i % 2 ? 0xff : 0x7f;
    sb_payload(&s, many, sizeof(many));
    invalid = false;
    hll_count(s.b, s.len, &invalid);
    cr_assert(invalid);
    cr_assert_not(hll_merge(max, s.b, s.len));

    /* An XZERO cut in half by the end reads a zero second byte: 0x7f
     * alone is a run of 0x3f00 + 1 = 16129 registers. */
    static const uint8_t cut[] = {0x80, 0x80, 0x80, 0x40, 0xfb, 0x7f};
    sb_payload(&s, cut, sizeof(cut));
    s.b[s.len] = 0;
    cr_assert_str_eq(decode(&s), "v:1,1 v:1,1 v:1,1 Z:252 Z:16129");
    invalid = false;
    cr_assert_eq(hll_count(s.b, s.len, &invalid), 3);
    cr_assert_not(invalid);
    cr_assert(hll_sparse_to_dense(s.b, s.len, dense));

    /* Splitting that XZERO: as in Redis, the length moves by the size
     * difference, so the new sequence's last byte falls past the end. */
    static const uint8_t cut1[] = {0x7f, 0xfe, 0x40};
    sb_payload(&s, cut1, sizeof(cut1));
    s.b[s.len] = 0;
    cr_assert_eq(set_reg(&s, HLL_REGISTERS - 1, 2), HLL_CHANGED);
    cr_assert_eq(s.len, HLL_HDR_SIZE + 2);
    cr_assert_eq(s.b[s.len], 0x84); /* the VAL, past the end */
    cr_assert_eq(set_reg(&s, HLL_REGISTERS - 1, 3), HLL_INVALID);
}

Test(hll_format, estimates_match_redis)
{
    /* Dense registers set directly, including value 51 (which feeds Ertl's
     * tau and its square roots) and the all-51 case, where Redis's
     * llroundl overflows: the estimates Redis 7.0.15 replies. */
    static uint8_t regs[HLL_REGISTERS], d[HLL_DENSE_SIZE];
    static const struct {
        int k;
        long long want;
    } cases[] = {{1, 38788}, {100, 39043}, {8192, 80464}, {16383, 1549082005},
                 {16384, -9223372036854775807LL - 1}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (int i = 0; i < HLL_REGISTERS; i++)
            regs[i] = (uint8_t)(i < cases[c].k ? 51 : i % 7);
        dense_from(d, regs);
        cr_assert_eq((long long)hll_count(d, HLL_DENSE_SIZE, NULL), cases[c].want, "k=%d",
                     cases[c].k);
        cr_assert_eq((long long)hll_count_raw(regs), cases[c].want);
    }
    memset(regs, 63, sizeof(regs));
    dense_from(d, regs);
    cr_assert_eq(hll_count(d, HLL_DENSE_SIZE, NULL), 1ULL << 63);
    memset(regs, 0, sizeof(regs));
    cr_assert_eq(hll_count_raw(regs), 0);
}

Test(hll_format, error_bounds_1_to_100000)
{
    static uint8_t d[HLL_DENSE_SIZE];
    memset(d, 0, sizeof(d));
    memcpy(d, "HYLL", 4);
    char ele[32];
    double worst = 0;
    for (int n = 1; n <= 100000; n++) {
        int len = snprintf(ele, sizeof(ele), "%d:x", n);
        hll_dense_add(d + HLL_HDR_SIZE, ele, (size_t)len);
        if (n <= 200 || n % 997 == 0 || n == 100000) {
            double est = (double)hll_count(d, HLL_DENSE_SIZE, NULL);
            double err = est > n ? est - n : n - est;
            if (n < 100)
                cr_assert_leq(err, 2, "n=%d est=%.0f", n, est);
            else
                cr_assert_lt(err / n, 0.05, "n=%d est=%.0f", n, est);
            if (n >= 1000 && err / n > worst)
                worst = err / n;
        }
    }
    /* The standard error is 0.81%: the worst checkpoint stays near it. */
    cr_assert_lt(worst, 0.03, "worst relative error %.4f", worst);
}

/* ------------------------------------------------------------------------ */
/* Commands */

Test(hll_cmd, pfadd_pfcount_basics)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "PFADD hll", ":1\r\n");
    EXPECT(&h, "EXISTS hll", ":1\r\n");
    EXPECT(&h, "PFADD hll", ":0\r\n");
    EXPECT(&h, "PFCOUNT hll", ":0\r\n");
    EXPECT(&h, "PFADD hll a b c", ":1\r\n");
    EXPECT(&h, "PFADD hll a b c", ":0\r\n");
    EXPECT(&h, "PFADD hll \"\"", ":1\r\n");
    EXPECT(&h, "DEL hll", ":1\r\n");
    EXPECT(&h, "PFADD hll 1 2 3 4 5", ":1\r\n");
    EXPECT(&h, "PFCOUNT hll", ":5\r\n");
    EXPECT(&h, "PFADD hll 6 7 8 8 9 10", ":1\r\n");
    EXPECT(&h, "PFCOUNT hll", ":10\r\n");
    EXPECT(&h, "PFCOUNT nokey", ":0\r\n");
    EXPECT(&h, "EXISTS nokey", ":0\r\n");
    EXPECT(&h, "OBJECT ENCODING hll", "$3\r\nraw\r\n");
    EXPECT(&h, "PFADD", "-ERR wrong number of arguments for 'pfadd' command\r\n");
    EXPECT(&h, "PFCOUNT", "-ERR wrong number of arguments for 'pfcount' command\r\n");
    EXPECT(&h, "PFMERGE", "-ERR wrong number of arguments for 'pfmerge' command\r\n");
    EXPECT(&h, "PFDEBUG getreg", "-ERR wrong number of arguments for 'pfdebug' command\r\n");
    EXPECT(&h, "PFSELFTEST x", "-ERR wrong number of arguments for 'pfselftest' command\r\n");
    h_free(&h);
}

Test(hll_cmd, stored_bytes_match_redis)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "PFADD hll a b c", ":1\r\n");
    expect_value(&h, "hll", ABC, sizeof(ABC));
    EXPECT(&h, "PFDEBUG DECODE hll", "$44\r\nZ:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603\r\n");
    EXPECT(&h, "PFCOUNT hll", ":3\r\n");
    uint8_t counted[sizeof(ABC)];
    memcpy(counted, ABC, sizeof(ABC));
    counted[8] = 3;
    counted[15] = 0;
    expect_value(&h, "hll", counted, sizeof(counted));

    EXPECT(&h, "PFADD h2 foo bar baz 1 2 3 \"\" \"hello world\"", ":1\r\n");
    EXPECT(&h, "PFDEBUG DECODE h2",
           "$105\r\nZ:5938 v:2,1 Z:619 v:4,1 Z:789 v:5,1 Z:178 v:1,1 Z:1871 v:4,1 Z:607 v:1,1 "
           "Z:965 v:1,1 Z:4397 v:4,1 Z:1012\r\n");
    EXPECT(&h, "PFCOUNT h2", ":8\r\n");

    /* Estimates for "e0".."e<n-1>", and the encoding, as Redis gives them. */
    static const struct {
        int n;
        const char *count, *enc;
    } want[] = {{10, ":10\r\n", "+sparse\r\n"},
                {100, ":100\r\n", "+sparse\r\n"},
                {1000, ":1008\r\n", "+sparse\r\n"},
                {10000, ":9973\r\n", "+dense\r\n"},
                {100000, ":100853\r\n", "+dense\r\n"}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        h_run(&h, "DEL x");
        for (int j = 0; j < want[i].n; j += 1000)
            pfadd_range(&h, "x", "e", j, j + 1000 < want[i].n ? j + 1000 : want[i].n);
        EXPECT(&h, "PFCOUNT x", want[i].count);
        EXPECT(&h, "PFDEBUG ENCODING x", want[i].enc);
    }
    EXPECT(&h, "STRLEN x", ":12304\r\n");
    h_free(&h);
}

Test(hll_cmd, cache_byte_behaviour)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "PFADD hll a b c", ":1\r\n");
    EXPECT(&h, "GETRANGE hll 15 15", "$1\r\n\x80\r\n");
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "PFCOUNT hll", ":3\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 1); /* the cache was written */
    h_run(&h, "GETRANGE hll 15 15");
    cr_assert_eq(h.out.len, 7);
    cr_assert_eq(h.out.data[4], '\0');
    EXPECT(&h, "PFCOUNT hll", ":3\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 1); /* served from the cache */
    EXPECT(&h, "PFADD hll a b c", ":0\r\n");
    h_run(&h, "GETRANGE hll 15 15");
    cr_assert_eq(h.out.data[4], '\0');
    EXPECT(&h, "PFADD hll 1 2 3", ":1\r\n");
    EXPECT(&h, "GETRANGE hll 15 15", "$1\r\n\x80\r\n");
    /* A cache that says so is believed, whatever the registers hold. */
    EXPECT(&h, "SETRANGE hll 8 \"\\x39\\x30\\x00\\x00\\x00\\x00\\x00\\x00\"", ":36\r\n");
    EXPECT(&h, "PFCOUNT hll", ":12345\r\n");
    h_free(&h);
}

Test(hll_cmd, pfadd_counts_dirty_per_register)
{
    harness h;
    h_init(&h);
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "PFADD hll a b c", ":1\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 4); /* the key, and three registers */
    EXPECT(&h, "PFADD hll a b c", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 4);
    h_free(&h);
}

Test(hll_cmd, pfcount_multiple_keys_is_the_union_and_writes_nothing)
{
    harness h;
    h_init(&h);
    pfadd_range(&h, "u1", "u", 0, 3000);
    pfadd_range(&h, "u2", "u", 2000, 5000);
    EXPECT(&h, "PFDEBUG ENCODING u1", "+dense\r\n");
    EXPECT(&h, "PFADD s1 a b c", ":1\r\n");
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "PFCOUNT u1 u2 nokey", ":4971\r\n");
    EXPECT(&h, "PFCOUNT s1 s1", ":3\r\n");
    cr_assert_eq(h.e.stats.dirty, d);
    EXPECT(&h, "GETRANGE s1 15 15", "$1\r\n\x80\r\n"); /* cache untouched */
    EXPECT(&h, "EXISTS nokey", ":0\r\n");
    EXPECT(&h, "PFCOUNT nokey nokey2", ":0\r\n");

    /* The Tcl suite's union test, for a while. */
    h_run(&h, "DEL hll1 hll2 hll3");
    for (int x = 1; x < 3000; x++) {
        h_runf(&h, "PFADD hll1 foo-%d", x);
        h_runf(&h, "PFADD hll2 bar-%d", x);
        h_runf(&h, "PFADD hll3 zap-%d", x);
        if (x % 50 == 0) {
            long long card = atoll(h_run(&h, "PFCOUNT hll1 hll2 hll3") + 1);
            long long err = card > 3 * x ? card - 3 * x : 3 * x - card;
            cr_assert_lt((double)err, (double)card / 100 * 5, "x=%d card=%lld", x, card);
        }
    }
    h_free(&h);
}

Test(hll_cmd, pfmerge)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "PFADD hll1 a b c", ":1\r\n");
    EXPECT(&h, "PFADD hll2 b c d", ":1\r\n");
    EXPECT(&h, "PFADD hll3 c d e", ":1\r\n");
    uint64_t d = h.e.stats.dirty;
    EXPECT(&h, "PFMERGE hll hll1 hll2 hll3", "+OK\r\n");
    cr_assert_eq(h.e.stats.dirty, d + 1);
    EXPECT(&h, "PFCOUNT hll", ":5\r\n");
    EXPECT(&h, "PFDEBUG ENCODING hll", "+sparse\r\n");

    /* Sparse + dense: the result is dense. */
    pfadd_range(&h, "u1", "u", 0, 3000);
    pfadd_range(&h, "s1", "s", 0, 50);
    EXPECT(&h, "PFDEBUG ENCODING s1", "+sparse\r\n");
    EXPECT(&h, "PFMERGE m s1 u1", "+OK\r\n");
    EXPECT(&h, "PFCOUNT m", ":3031\r\n");
    EXPECT(&h, "PFDEBUG ENCODING m", "+dense\r\n");
    /* Sparse only: stays sparse. */
    EXPECT(&h, "PFMERGE m2 s1", "+OK\r\n");
    EXPECT(&h, "PFCOUNT m2", ":50\r\n");
    EXPECT(&h, "PFDEBUG ENCODING m2", "+sparse\r\n");
    /* The destination is a source too, and keeps its TTL. */
    EXPECT(&h, "EXPIRE s1 100", ":1\r\n");
    EXPECT(&h, "PFMERGE s1 u1", "+OK\r\n");
    EXPECT(&h, "PFDEBUG ENCODING s1", "+dense\r\n");
    EXPECT(&h, "PFCOUNT s1", ":3031\r\n");
    EXPECT(&h, "TTL s1", ":100\r\n");
    /* No source: an empty HLL. */
    EXPECT(&h, "PFMERGE empty", "+OK\r\n");
    EXPECT(&h, "PFCOUNT empty", ":0\r\n");
    EXPECT(&h, "STRLEN empty", ":18\r\n");
    h_free(&h);
}

Test(hll_cmd, promotion_keeps_ttl_and_reports)
{
    harness h;
    h_init(&h);
    client *other = engine_client_new(&h.e, h.now_ms);
    EXPECT(&h, "PFADD big x", ":1\r\n");
    EXPECT(&h, "EXPIRE big 1000", ":1\r\n");
    EXPECT(&h, "WATCH big", "+OK\r\n");
    pfadd_range(&h, "big", "p", 0, 4000);
    EXPECT(&h, "PFDEBUG ENCODING big", "+dense\r\n");
    EXPECT(&h, "TTL big", ":1000\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*-1\r\n");
    /* PFCOUNT's cache refresh is a change too (Redis signals it). */
    EXPECT_AS(&h, other, "WATCH big", "+OK\r\n");
    h_run(&h, "PFCOUNT big");
    EXPECT_AS(&h, other, "MULTI", "+OK\r\n");
    EXPECT_AS(&h, other, "PING", "+QUEUED\r\n");
    EXPECT_AS(&h, other, "EXEC", "*-1\r\n");
    /* An add that changes nothing is not. */
    EXPECT_AS(&h, other, "WATCH big", "+OK\r\n");
    EXPECT(&h, "PFADD big p1", ":0\r\n");
    EXPECT_AS(&h, other, "MULTI", "+OK\r\n");
    EXPECT_AS(&h, other, "PING", "+QUEUED\r\n");
    EXPECT_AS(&h, other, "EXEC", "*1\r\n+PONG\r\n");
    h_free(&h);
}

Test(hll_cmd, type_errors)
{
    harness h;
    h_init(&h);
    const char *wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    const char *nothll = "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n";
    EXPECT(&h, "RPUSH list a", ":1\r\n");
    EXPECT(&h, "PFADD list 1", wt);
    EXPECT(&h, "PFCOUNT list", wt);
    EXPECT(&h, "PFCOUNT nokey list", wt);
    EXPECT(&h, "PFMERGE list nokey", wt);
    EXPECT(&h, "PFMERGE nokey list", wt);
    EXPECT(&h, "PFDEBUG GETREG list", wt);
    EXPECT(&h, "EXISTS nokey", ":0\r\n");

    EXPECT(&h, "SET foo bar", "+OK\r\n");
    EXPECT(&h, "PFADD foo 1", nothll);
    EXPECT(&h, "PFCOUNT foo", nothll);
    EXPECT(&h, "PFCOUNT foo foo", nothll);
    EXPECT(&h, "PFMERGE bar foo", nothll);
    EXPECT(&h, "PFMERGE foo bar", nothll);
    EXPECT(&h, "EXISTS bar", ":0\r\n");
    EXPECT(&h, "PFDEBUG ENCODING foo", nothll);
    EXPECT(&h, "SET num 1234567890123456789", "+OK\r\n"); /* INT-encoded */
    EXPECT(&h, "PFCOUNT num", nothll);

    /* Broken magic, unknown encoding, dense of the wrong length. */
    EXPECT(&h, "PFADD hll a b c", ":1\r\n");
    EXPECT(&h, "SETRANGE hll 0 0123", ":27\r\n");
    EXPECT(&h, "PFCOUNT hll", nothll);
    h_run(&h, "DEL hll");
    EXPECT(&h, "PFADD hll a b c", ":1\r\n");
    EXPECT(&h, "SETRANGE hll 4 x", ":27\r\n");
    EXPECT(&h, "PFCOUNT hll", nothll);
    h_run(&h, "DEL hll");
    EXPECT(&h, "PFADD hll a b c", ":1\r\n");
    EXPECT(&h, "SETRANGE hll 4 \"\\x00\"", ":27\r\n");
    EXPECT(&h, "PFCOUNT hll", nothll);
    EXPECT(&h, "PFADD hll d", nothll);
    h_free(&h);
}

Test(hll_cmd, corrupt_payloads_are_detected)
{
    harness h;
    h_init(&h);
    const char *inv = "-INVALIDOBJ Corrupted HLL object detected\r\n";
    EXPECT(&h, "PFADD hll a b c", ":1\r\n");
    EXPECT(&h, "APPEND hll hello", ":32\r\n");
    EXPECT(&h, "PFCOUNT hll", inv);
    EXPECT(&h, "PFCOUNT hll nokey", inv);
    EXPECT(&h, "PFMERGE dst hll", inv);
    EXPECT(&h, "EXISTS dst", ":0\r\n");
    EXPECT(&h, "PFDEBUG GETREG hll", inv);
    EXPECT(&h, "PFDEBUG TODENSE hll", inv);
    /* A register the payload covers can still be raised; promotion fails. */
    EXPECT(&h, "PFADD hll a", ":0\r\n");
    pfadd_range(&h, "ok", "q", 0, 1); /* unrelated key still fine */
    h_run(&h, "DEL big");
    pfadd_range(&h, "big", "p", 0, 1400);
    EXPECT(&h, "PFDEBUG ENCODING big", "+sparse\r\n");
    h_run(&h, "APPEND big \"\\x80\""); /* a VAL after the last register */
    h_run(&h, "STRLEN big");
    long long blen = atoll(h.last + 1);
    cr_assert_gt(blen, 2000);
    /* Enough new elements force a promotion, which finds the corruption. */
    const char *r = pfadd_range(&h, "big", "r", 0, 2000);
    cr_assert_str_eq(r, inv);
    EXPECT(&h, "PFDEBUG ENCODING big", "+sparse\r\n");

    /* Truncated: the header alone, then a payload that stops short. */
    set_bytes(&h, "t", ABC, 16);
    EXPECT(&h, "PFCOUNT t", inv);
    EXPECT(&h, "PFADD t a", inv);
    EXPECT(&h, "PFDEBUG DECODE t", "$0\r\n\r\n");
    set_bytes(&h, "t", ABC, 20);
    EXPECT(&h, "PFCOUNT t", inv);
    EXPECT(&h, "PFCOUNT t t", inv);
    /* Random damage never crashes and always gets one of the replies. */
    kprng rng;
    kprng_seed(&rng, 99);
    for (int j = 0; j < 300; j++) {
        h_run(&h, "DEL f");
        pfadd_range(&h, "f", "f", 0, (int)kprng_below(&rng, 3000));
        h_run(&h, "STRLEN f");
        long long len = atoll(h.last + 1);
        for (int i = 0; i < 5; i++) {
            char byte = (char)kprng_below(&rng, 256);
            char pos[24];
            snprintf(pos, sizeof(pos), "%llu", (unsigned long long)kprng_below(&rng, (uint64_t)len));
            const char *argv[] = {"SETRANGE", "f", pos, &byte};
            size_t lens[] = {8, 1, strlen(pos), 1};
            runv(&h, 4, argv, lens);
            if (kprng_below(&rng, 2))
                break;
        }
        r = h_run(&h, "PFCOUNT f");
        cr_assert(r[0] == ':' || strcmp(r, inv) == 0 ||
                      strcmp(r, "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n") == 0,
                  "%s", r);
        r = h_run(&h, "PFADD f x y z");
        cr_assert(r[0] == ':' || r[0] == '-', "%s", r);
    }
    h_free(&h);
}

Test(hll_cmd, pfdebug)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "PFDEBUG GETREG nokey", "-ERR The specified key does not exist\r\n");
    EXPECT(&h, "PFDEBUG FOO nokey", "-ERR The specified key does not exist\r\n");
    EXPECT(&h, "PFADD hll a b c", ":1\r\n");
    EXPECT(&h, "PFDEBUG FOO hll", "-ERR Unknown PFDEBUG subcommand 'FOO'\r\n");
    EXPECT(&h, "PFDEBUG \"getreg\\x00x\" nokey", "-ERR The specified key does not exist\r\n");
    /* Redis compares the subcommand as a C string: a NUL ends it. */
    EXPECT(&h, "PFDEBUG \"encoding\\x00x\" hll", "+sparse\r\n");
    EXPECT(&h, "PFDEBUG \"nope\\x00x\" hll", "-ERR Unknown PFDEBUG subcommand 'nope'\r\n");
    EXPECT(&h, "PFDEBUG encoding hll", "+sparse\r\n");
    EXPECT(&h, "PFDEBUG Decode hll", "$44\r\nZ:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603\r\n");

    uint64_t d = h.e.stats.dirty;
    h_run(&h, "PFDEBUG GETREG hll");
    cr_assert_eq(h.e.stats.dirty, d + 1); /* converted to dense */
    cr_assert(strncmp(h.last, "*16384\r\n:0\r\n", 12) == 0);
    int ones = 0, twos = 0, nonzero = 0;
    for (const char *p = h.last + 8; *p; p = strchr(p, '\n') + 1) {
        cr_assert_eq(p[0], ':');
        if (p[1] != '0')
            nonzero++;
        ones += p[1] == '1';
        twos += p[1] == '2';
    }
    cr_assert_eq(nonzero, 3);
    cr_assert_eq(ones, 2);
    cr_assert_eq(twos, 1);
    EXPECT(&h, "PFDEBUG ENCODING hll", "+dense\r\n");
    EXPECT(&h, "STRLEN hll", ":12304\r\n");
    EXPECT(&h, "PFDEBUG DECODE hll", "-ERR HLL encoding is not sparse\r\n");
    EXPECT(&h, "PFDEBUG TODENSE hll", ":0\r\n");
    EXPECT(&h, "PFCOUNT hll", ":3\r\n");

    EXPECT(&h, "PFADD h2 a", ":1\r\n");
    EXPECT(&h, "PFDEBUG todense h2", ":1\r\n");
    EXPECT(&h, "PFDEBUG ENCODING h2", "+dense\r\n");
    EXPECT(&h, "PFDEBUG TODENSE h2", ":0\r\n");
    /* The cached cardinality travels with the conversion. */
    EXPECT(&h, "PFADD h3 a b c", ":1\r\n");
    EXPECT(&h, "PFCOUNT h3", ":3\r\n");
    EXPECT(&h, "PFDEBUG TODENSE h3", ":1\r\n");
    EXPECT_BYTES(&h, "GETRANGE h3 0 15",
                 "$16\r\nHYLL\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\r\n");
    h_free(&h);
}

Test(hll_cmd, embstr_value_is_accepted_and_unshared)
{
    harness h;
    h_init(&h);
    static const uint8_t empty[] = {'H', 'Y', 'L', 'L', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                    0x7f, 0xff};
    set_bytes(&h, "e", empty, sizeof(empty));
    EXPECT(&h, "OBJECT ENCODING e", "$6\r\nembstr\r\n");
    EXPECT(&h, "PFCOUNT e e", ":0\r\n");
    EXPECT(&h, "OBJECT ENCODING e", "$6\r\nembstr\r\n");
    EXPECT(&h, "PFCOUNT e", ":0\r\n");
    EXPECT(&h, "OBJECT ENCODING e", "$3\r\nraw\r\n");
    EXPECT(&h, "PFADD e a b c", ":1\r\n");
    EXPECT(&h, "PFCOUNT e", ":3\r\n");
    h_free(&h);
}

Test(hll_cmd, pfselftest)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "PFSELFTEST", "+OK\r\n");
    EXPECT(&h, "DBSIZE", ":0\r\n");
    h_free(&h);
}

Test(hll_cmd, sparse_stress_matches_dense)
{
    /* The Tcl suite's stress test: a sparse and a forced-dense HLL with
     * the same elements give the same estimate. */
    harness h;
    h_init(&h);
    kprng rng;
    kprng_seed(&rng, 5);
    for (int x = 0; x < 200; x++) {
        h_run(&h, "DEL hll1 hll2");
        EXPECT(&h, "PFADD hll2", ":1\r\n");
        EXPECT(&h, "PFDEBUG TODENSE hll2", ":1\r\n");
        int n = (int)kprng_below(&rng, 100);
        int from = (int)kprng_below(&rng, 1000000);
        pfadd_range(&h, "hll1", "r", from, from + n);
        pfadd_range(&h, "hll2", "r", from, from + n);
        EXPECT(&h, "PFDEBUG ENCODING hll1", "+sparse\r\n");
        EXPECT(&h, "PFDEBUG ENCODING hll2", "+dense\r\n");
        char c1[32];
        snprintf(c1, sizeof(c1), "%s", h_run(&h, "PFCOUNT hll1"));
        EXPECT(&h, "PFCOUNT hll2", c1);
    }
    h_free(&h);
}

Test(hll, sparse_max_bytes_is_a_config_parameter)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "CONFIG GET hll-sparse-max-bytes", "*2\r\n$20\r\nhll-sparse-max-bytes\r\n$4\r\n3000\r\n");
    EXPECT(&h, "PFADD a x1 x2 x3 x4 x5 x6 x7 x8", ":1\r\n");
    EXPECT(&h, "PFDEBUG ENCODING a", "+sparse\r\n");
    /* A small limit: the next PFADD that grows the sparse form promotes. */
    EXPECT(&h, "CONFIG SET hll-sparse-max-bytes 30", "+OK\r\n");
    EXPECT(&h, "PFADD a y1 y2 y3 y4 y5 y6 y7 y8 y9", ":1\r\n");
    EXPECT(&h, "PFDEBUG ENCODING a", "+dense\r\n");
    EXPECT(&h, "CONFIG SET hll-sparse-max-bytes -1",
           "-ERR CONFIG SET failed (possibly related to argument 'hll-sparse-max-bytes') - argument must be a memory value\r\n");
    h_free(&h);
}
