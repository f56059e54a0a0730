/* lathist: a latency histogram with bounded relative error, for INFO
 * latencystats and the /metrics histograms.
 *
 * Values (microseconds) below 16 have a bucket each; above, every power of
 * two is split into 16 equal buckets, so a bucket is at most 1/16 (6.25%)
 * of its value wide. Values past 2^36 us (19 hours) go in the last bucket.
 * 544 counters; no allocation, no floating point when recording. */
#ifndef KEEL_CORE_UTIL_LATHIST_H
#define KEEL_CORE_UTIL_LATHIST_H

#include <stdint.h>

#define LATHIST_BUCKETS 544

typedef struct lathist {
    uint64_t total;
    uint32_t count[LATHIST_BUCKETS];
} lathist;

void lathist_add(lathist *h, uint64_t usec);
/* The bucket of a value, and a bucket's bounds [lo, hi). */
int lathist_bucket(uint64_t usec);
uint64_t lathist_lo(int bucket);
uint64_t lathist_hi(int bucket);
/* The value at percentile p (0 < p <= 100): the middle of the bucket that
 * holds it (0 when empty). */
double lathist_percentile(const lathist *h, double p);
/* How many recorded values are <= usec (exact at bucket bounds). */
uint64_t lathist_count_le(const lathist *h, uint64_t usec);

#endif
