/* hll: Redis's HyperLogLog string format and estimator. See hll.h. */
#include "core/store/hll.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Hashing */

uint64_t hll_murmur64a(const void *key, size_t len, uint64_t seed)
{
    const uint64_t mul = 0xc6a4a7935bd1e995ULL;
    const int shift = 47;
    const uint8_t *p = key;
    uint64_t h = seed ^ ((uint64_t)len * mul);

    size_t blocks = len / 8;
    for (size_t b = 0; b < blocks; b++, p += 8) {
        uint64_t k = 0;
        for (int i = 7; i >= 0; i--)
            k = (k << 8) | p[i]; /* little endian, whatever the host */
        k *= mul;
        k ^= k >> shift;
        k *= mul;
        h ^= k;
        h *= mul;
    }
    size_t rest = len & 7;
    if (rest) {
        uint64_t t = 0;
        for (size_t i = rest; i-- > 0;)
            t = (t << 8) | p[i];
        h ^= t;
        h *= mul;
    }
    h ^= h >> shift;
    h *= mul;
    h ^= h >> shift;
    return h;
}

int hll_pattern(const void *ele, size_t len, long *index)
{
    uint64_t hash = hll_murmur64a(ele, len, 0xadc83b19ULL);
    *index = (long)(hash & (HLL_REGISTERS - 1));
    /* The zero run is counted in the bits above the index; a guard bit at
     * position Q caps it at Q + 1. */
    uint64_t rest = (hash >> HLL_P) | (1ULL << HLL_Q);
    return __builtin_ctzll(rest) + 1;
}

/* ------------------------------------------------------------------------ */
/* Header */

bool hll_is_valid(const void *v, size_t len)
{
    const uint8_t *p = v;
    if (len < HLL_HDR_SIZE)
        return false;
    if (memcmp(p, "HYLL", 4) != 0)
        return false;
    if (p[4] > HLL_SPARSE)
        return false;
    if (p[4] == HLL_DENSE && len != HLL_DENSE_SIZE)
        return false;
    return true;
}

void hll_init_sparse(uint8_t *out)
{
    memset(out, 0, HLL_SPARSE_EMPTY_SIZE);
    memcpy(out, "HYLL", 4);
    out[4] = HLL_SPARSE;
    /* XZERO of 16384: 01 + the 14 bits of 16383. */
    out[HLL_HDR_SIZE] = 0x40 | ((HLL_REGISTERS - 1) >> 8);
    out[HLL_HDR_SIZE + 1] = (HLL_REGISTERS - 1) & 0xff;
}

bool hll_cache_valid(const void *p) { return (((const uint8_t *)p)[15] & 0x80) == 0; }

uint64_t hll_cache_get(const void *v)
{
    const uint8_t *p = v;
    uint64_t c = 0;
    for (int i = 15; i >= 8; i--)
        c = (c << 8) | p[i];
    return c;
}

void hll_cache_set(void *v, uint64_t card)
{
    uint8_t *p = v;
    for (int i = 8; i < 16; i++, card >>= 8)
        p[i] = (uint8_t)(card & 0xff);
}

void hll_cache_invalidate(void *p) { ((uint8_t *)p)[15] |= 0x80; }

/* ------------------------------------------------------------------------ */
/* Dense registers: six bits each, from the low bits of a byte up. A
 * register that starts at bit 0 or 2 of its byte fits in it; one that
 * starts at bit 4 or 6 spills into the next byte (the last register,
 * 16383, starts at bit 2, so nothing past the array is ever touched). */

unsigned hll_dense_get(const uint8_t *regs, long index)
{
    size_t bit = (size_t)index * HLL_BITS;
    size_t byte = bit / 8;
    unsigned fb = bit & 7;
    unsigned v = (unsigned)regs[byte] >> fb;
    if (fb > 8 - HLL_BITS)
        v |= (unsigned)regs[byte + 1] << (8 - fb);
    return v & HLL_REGISTER_MAX;
}

void hll_dense_set(uint8_t *regs, long index, unsigned val)
{
    size_t bit = (size_t)index * HLL_BITS;
    size_t byte = bit / 8;
    unsigned fb = bit & 7;
    val &= HLL_REGISTER_MAX;
    regs[byte] = (uint8_t)((regs[byte] & ~(HLL_REGISTER_MAX << fb)) | (val << fb));
    if (fb > 8 - HLL_BITS) {
        unsigned hi = 8 - fb;
        regs[byte + 1] =
            (uint8_t)((regs[byte + 1] & ~(HLL_REGISTER_MAX >> hi)) | (val >> hi));
    }
}

int hll_dense_update(uint8_t *regs, long index, unsigned count)
{
    if (count <= hll_dense_get(regs, index))
        return 0;
    hll_dense_set(regs, index, count);
    return 1;
}

int hll_dense_add(uint8_t *regs, const void *ele, size_t len)
{
    long index;
    int count = hll_pattern(ele, len, &index);
    return hll_dense_update(regs, index, (unsigned)count);
}

/* ------------------------------------------------------------------------ */
/* Sparse opcodes */

#define OP_XZERO 0x40
#define OP_VAL 0x80
#define ZERO_MAX_LEN 64
#define VAL_MAX_LEN 4

static inline bool op_zero(uint8_t b) { return (b & 0xc0) == 0; }
static inline bool op_xzero(uint8_t b) { return (b & 0xc0) == OP_XZERO; }
static inline bool op_val(uint8_t b) { return (b & OP_VAL) != 0; }
static inline long zero_len(uint8_t b) { return (b & 0x3f) + 1; }
static inline long val_len(uint8_t b) { return (b & 0x3) + 1; }
static inline unsigned val_value(uint8_t b) { return ((b >> 2) & 0x1f) + 1; }

/* An XZERO's length. Where the end of the string cuts it in half, Redis
 * reads its sds terminator as the second byte: readers of a value as it
 * was at the start of a command read a zero there (xzero_len); the
 * writers, which keep that byte at buf[len] as Redis does, read it
 * (xzero_len_at). */
static inline long xzero_len(const uint8_t *p, const uint8_t *end)
{
    unsigned lo = p + 1 < end ? p[1] : 0;
    return ((long)(p[0] & 0x3f) << 8 | lo) + 1;
}

static inline long xzero_len_at(const uint8_t *p) { return ((long)(p[0] & 0x3f) << 8 | p[1]) + 1; }

static inline uint8_t mk_val(unsigned val, long len)
{
    return (uint8_t)(OP_VAL | ((val - 1) << 2) | (unsigned)(len - 1));
}

/* Writes a run of zeros as ZERO (up to 64) or XZERO; returns its size. */
static int put_zeros(uint8_t *q, long len)
{
    if (len > ZERO_MAX_LEN) {
        q[0] = (uint8_t)(OP_XZERO | ((len - 1) >> 8));
        q[1] = (uint8_t)((len - 1) & 0xff);
        return 2;
    }
    q[0] = (uint8_t)(len - 1);
    return 1;
}

int hll_sparse_update(uint8_t *buf, size_t *lenp, long index, unsigned count, size_t max_bytes)
{
    if (count > HLL_SPARSE_VAL_MAX)
        return HLL_PROMOTE;

    size_t len = *lenp;
    uint8_t *start = buf + HLL_HDR_SIZE;
    uint8_t *end = buf + len;

    /* 1. Find the opcode that covers the register. */
    uint8_t *p = start, *prev = NULL;
    long first = 0, span = 0;
    while (p < end) {
        int oplen = 1;
        if (op_zero(*p)) {
            span = zero_len(*p);
        } else if (op_val(*p)) {
            span = val_len(*p);
        } else {
            span = xzero_len_at(p);
            oplen = 2;
        }
        if (index <= first + span - 1)
            break;
        prev = p;
        p += oplen;
        first += span;
    }
    if (span == 0 || p >= end)
        return HLL_INVALID;

    bool is_zero = op_zero(*p), is_xzero = op_xzero(*p);
    uint8_t *next = p + (is_xzero ? 2 : 1);
    if (next >= end)
        next = NULL;
    long runlen = is_zero ? zero_len(*p) : is_xzero ? xzero_len_at(p) : val_len(*p);

    /* 2. The cases that need no split: a VAL already high enough, a VAL of
     * one register, a ZERO of one register. */
    if (!is_zero && !is_xzero) {
        unsigned cur = val_value(*p);
        if (cur >= count)
            return HLL_UNCHANGED;
        if (runlen == 1) {
            *p = mk_val(count, 1);
            goto merge;
        }
    }
    if (is_zero && runlen == 1) {
        *p = mk_val(count, 1);
        goto merge;
    }

    /* 3. Split the opcode into (before, our VAL, after): at most five bytes
     * (XZERO VAL XZERO), put in place of the old opcode. */
    uint8_t seq[5];
    int n = 0;
    long last = first + span - 1;
    if (is_zero || is_xzero) {
        if (index != first)
            n += put_zeros(seq + n, index - first);
        seq[n++] = mk_val(count, 1);
        if (index != last)
            n += put_zeros(seq + n, last - index);
    } else {
        unsigned cur = val_value(*p);
        if (index != first)
            seq[n++] = mk_val(cur, index - first);
        seq[n++] = mk_val(count, 1);
        if (index != last)
            seq[n++] = mk_val(cur, last - index);
    }
    int oldlen = is_xzero ? 2 : 1;
    int delta = n - oldlen;
    if (delta > 0 && len + (size_t)delta > max_bytes)
        return HLL_PROMOTE;
    if (delta && next)
        memmove(next + delta, next, (size_t)(end - next));
    /* As in Redis, the length moves by delta and the byte after it is
     * zeroed before the sequence is copied: when the opcode was an XZERO
     * cut in half by the end of the string, the sequence's last byte lands
     * after the new end (where a later update in this command reads it). */
    len = (size_t)((ptrdiff_t)len + delta);
    buf[len] = 0;
    memcpy(p, seq, (size_t)n);
    end = buf + len;

merge:
    /* 4. Merge adjacent VALs of the same value (up to a run of 4), looking
     * at no more than five opcodes from the one before ours. */
    p = prev ? prev : start;
    int scan = 5;
    while (p < end && scan--) {
        if (op_xzero(*p)) {
            p += 2;
            continue;
        }
        if (op_zero(*p)) {
            p++;
            continue;
        }
        if (p + 1 < end && op_val(p[1])) {
            unsigned v1 = val_value(p[0]), v2 = val_value(p[1]);
            long l = val_len(p[0]) + val_len(p[1]);
            if (v1 == v2 && l <= VAL_MAX_LEN) {
                p[1] = mk_val(v1, l);
                memmove(p, p + 1, (size_t)(end - p - 1));
                len--;
                end--;
                buf[len] = 0;
                continue; /* the merged VAL may merge with the next one */
            }
        }
        p++;
    }
    *lenp = len;
    hll_cache_invalidate(buf);
    return HLL_CHANGED;
}

bool hll_sparse_to_dense(const uint8_t *p, size_t len, uint8_t *out)
{
    memcpy(out, p, HLL_HDR_SIZE);
    out[4] = HLL_DENSE;
    uint8_t *regs = out + HLL_HDR_SIZE;
    memset(regs, 0, HLL_DENSE_SIZE - HLL_HDR_SIZE);
    const uint8_t *q = p + HLL_HDR_SIZE, *end = p + len;
    long idx = 0;
    while (q < end) {
        long run;
        int oplen = 1;
        if (op_zero(*q)) {
            run = zero_len(*q);
        } else if (op_xzero(*q)) {
            run = xzero_len_at(q);
            oplen = 2;
        } else {
            run = val_len(*q);
        }
        if (idx + run > HLL_REGISTERS)
            return false;
        if (op_val(*q))
            for (long i = 0; i < run; i++)
                hll_dense_set(regs, idx + i, val_value(*q));
        idx += run;
        q += oplen;
    }
    return idx == HLL_REGISTERS;
}

void hll_sparse_decode(const uint8_t *p, size_t len, kbuf *out)
{
    const uint8_t *q = p + HLL_HDR_SIZE, *end = p + len;
    bool any = false;
    char tmp[32];
    while (q < end) {
        int n;
        if (op_zero(*q)) {
            n = snprintf(tmp, sizeof(tmp), "z:%ld ", zero_len(*q));
            q++;
        } else if (op_xzero(*q)) {
            n = snprintf(tmp, sizeof(tmp), "Z:%ld ", xzero_len(q, end));
            q += 2;
        } else {
            n = snprintf(tmp, sizeof(tmp), "v:%u,%ld ", val_value(*q), val_len(*q));
            q++;
        }
        kbuf_append(out, tmp, (size_t)n);
        any = true;
    }
    if (any)
        out->len--; /* the trailing space */
}

/* ------------------------------------------------------------------------ */
/* Merging and counting */

bool hll_merge(uint8_t *max, const uint8_t *p, size_t len)
{
    if (hll_encoding(p) == HLL_DENSE) {
        const uint8_t *regs = p + HLL_HDR_SIZE;
        for (long i = 0; i < HLL_REGISTERS; i++) {
            unsigned v = hll_dense_get(regs, i);
            if (v > max[i])
                max[i] = (uint8_t)v;
        }
        return true;
    }
    const uint8_t *q = p + HLL_HDR_SIZE, *end = p + len;
    long idx = 0;
    while (q < end) {
        long run;
        int oplen = 1;
        if (op_zero(*q)) {
            run = zero_len(*q);
        } else if (op_xzero(*q)) {
            run = xzero_len(q, end);
            oplen = 2;
        } else {
            run = val_len(*q);
        }
        if (idx + run > HLL_REGISTERS)
            return false;
        if (op_val(*q)) {
            unsigned v = val_value(*q);
            for (long i = idx; i < idx + run; i++)
                if (v > max[i])
                    max[i] = (uint8_t)v;
        }
        idx += run;
        q += oplen;
    }
    return idx == HLL_REGISTERS;
}

/* A correctly rounded square root of a positive finite double, in integer
 * arithmetic (the core links no libm). The result is unique, so it is the
 * same bits as the hardware's. */
static double soft_sqrt(double x)
{
    if (!(x > 0) || x > 1.7976931348623157e308)
        return x > 0 ? x : 0.0;
    uint64_t bits;
    memcpy(&bits, &x, sizeof(bits));
    int e = (int)((bits >> 52) & 0x7ff);
    uint64_t m = bits & ((1ULL << 52) - 1);
    if (e == 0) { /* subnormal: normalise */
        e = 1;
        while (!(m & (1ULL << 52))) {
            m <<= 1;
            e--;
        }
    } else {
        m |= 1ULL << 52;
    }
    int ex = e - 1023 - 52; /* x = m * 2^ex */
    if (ex & 1) {
        m <<= 1;
        ex--;
    }
    /* sqrt(x) = sqrt(m * 2^64) * 2^((ex - 64) / 2), m * 2^64 in [2^116, 2^118). */
    unsigned __int128 num = (unsigned __int128)m << 64, root = 0;
    unsigned __int128 bit = (unsigned __int128)1 << 126;
    while (bit > num)
        bit >>= 2;
    while (bit) {
        if (num >= root + bit) {
            num -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    /* root in [2^58, 2^59): keep 53 bits, round to nearest even. */
    uint64_t r = (uint64_t)root;
    uint64_t q = r >> 6, low = r & 63;
    if (low > 32 || (low == 32 && (num != 0 || (q & 1))))
        q++;
    int k = (ex - 64) / 2 + 6;
    if (q == 1ULL << 53) {
        q >>= 1;
        k++;
    }
    uint64_t out = ((uint64_t)(k + 52 + 1023) << 52) | (q & ((1ULL << 52) - 1));
    double y;
    memcpy(&y, &out, sizeof(y));
    return y;
}

/* sigma and tau from Ertl, "New cardinality estimation algorithms for
 * HyperLogLog sketches" (arXiv:1702.01284), computed with the same
 * operations in the same order as Redis so the estimate is bit-identical. */
static double ertl_sigma(double x)
{
    if (x == 1.0)
        return INFINITY;
    double y = 1.0, z = x, before;
    do {
        x *= x;
        before = z;
        z += x * y;
        y += y;
    } while (before != z);
    return z;
}

static double ertl_tau(double x)
{
    if (x == 0.0 || x == 1.0)
        return 0.0;
    double y = 1.0, z = 1 - x, before;
    do {
        x = soft_sqrt(x);
        before = z;
        y *= 0.5;
        double d = 1 - x;
        z -= d * d * y; /* Redis's pow(1 - x, 2), which the compiler makes d * d */
    } while (before != z);
    return z / 3;
}

/* 0.5 / ln(2) */
#define HLL_ALPHA_INF 0.721347520444481703680

uint64_t hll_estimate(const int *hist)
{
    double m = HLL_REGISTERS;
    double z = m * ertl_tau((m - hist[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; j--) {
        z += hist[j];
        z *= 0.5;
    }
    z += m * ertl_sigma(hist[0] / m);
    double v = HLL_ALPHA_INF * m * m / z;
    /* Redis: E = llroundl(v) (a double), returned as uint64_t. Out of
     * range (only corrupt registers get there) llroundl gives LLONG_MIN on
     * x86-64, which becomes 2^63: we give that everywhere. */
    long long r;
    if (!(v < 9223372036854775808.0)) {
        r = LLONG_MIN;
    } else {
        r = (long long)v;
        if (v - (double)r >= 0.5)
            r++;
    }
    double e = (double)r;
    if (e < 0)
        return 1ULL << 63;
    return (uint64_t)e;
}

uint64_t hll_count(const uint8_t *p, size_t len, bool *invalid)
{
    int hist[64] = {0};
    if (hll_encoding(p) == HLL_DENSE) {
        const uint8_t *regs = p + HLL_HDR_SIZE;
        for (long i = 0; i < HLL_REGISTERS; i++)
            hist[hll_dense_get(regs, i)]++;
        return hll_estimate(hist);
    }
    const uint8_t *q = p + HLL_HDR_SIZE, *end = p + len;
    long idx = 0;
    while (q < end) {
        long run;
        int oplen = 1, v = 0;
        if (op_zero(*q)) {
            run = zero_len(*q);
        } else if (op_xzero(*q)) {
            run = xzero_len(q, end);
            oplen = 2;
        } else {
            run = val_len(*q);
            v = (int)val_value(*q);
        }
        if (idx + run > HLL_REGISTERS) {
            idx = -1; /* runs past the last register: corrupt */
            break;
        }
        idx += run;
        hist[v] += (int)run;
        q += oplen;
    }
    if (idx != HLL_REGISTERS) {
        if (invalid)
            *invalid = true;
        return 0;
    }
    return hll_estimate(hist);
}

uint64_t hll_count_raw(const uint8_t *regs)
{
    int hist[64] = {0};
    for (long i = 0; i < HLL_REGISTERS; i++)
        hist[regs[i] & 63]++;
    return hll_estimate(hist);
}
