#include "core/util/lathist.h"

#define SUB 16
#define SUB_BITS 4
#define MAX_EXP 36

int lathist_bucket(uint64_t v)
{
    if (v < SUB)
        return (int)v;
    int e = 63 - __builtin_clzll(v);
    if (e > MAX_EXP)
        return LATHIST_BUCKETS - 1;
    int sub = (int)((v >> (e - SUB_BITS)) & (SUB - 1));
    return SUB + (e - SUB_BITS) * SUB + sub;
}

uint64_t lathist_lo(int b)
{
    if (b < SUB)
        return (uint64_t)b;
    int e = (b - SUB) / SUB + SUB_BITS;
    uint64_t sub = (uint64_t)((b - SUB) % SUB);
    return (1ULL << e) + (sub << (e - SUB_BITS));
}

uint64_t lathist_hi(int b)
{
    if (b < SUB)
        return (uint64_t)b + 1;
    int e = (b - SUB) / SUB + SUB_BITS;
    return lathist_lo(b) + (1ULL << (e - SUB_BITS));
}

void lathist_add(lathist *h, uint64_t usec)
{
    h->count[lathist_bucket(usec)]++;
    h->total++;
}

double lathist_percentile(const lathist *h, double p)
{
    if (h->total == 0)
        return 0.0;
    /* The rank of the value, 1-based, rounded up as HdrHistogram does. */
    double want = p / 100.0 * (double)h->total;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (int b = 0; b < LATHIST_BUCKETS; b++) {
        seen += h->count[b];
        if (seen >= rank) {
            if (b < SUB)
                return (double)b;
            return ((double)lathist_lo(b) + (double)lathist_hi(b) - 1.0) / 2.0;
        }
    }
    return (double)lathist_lo(LATHIST_BUCKETS - 1);
}

uint64_t lathist_count_le(const lathist *h, uint64_t usec)
{
    uint64_t n = 0;
    for (int b = 0; b < LATHIST_BUCKETS && lathist_hi(b) - 1 <= usec; b++)
        n += h->count[b];
    return n;
}
