/* kprng: the core's only source of randomness, xoshiro256** seeded by the
 * driver (the runtime from the OS, the simulator from its run seed).
 * The same seed gives the same sequence on every platform. */
#ifndef KEEL_CORE_UTIL_PRNG_H
#define KEEL_CORE_UTIL_PRNG_H

#include <stdint.h>

typedef struct kprng {
    uint64_t s[4];
} kprng;

/* Expands a 64-bit seed with splitmix64, as the xoshiro authors advise. */
static inline void kprng_seed(kprng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        r->s[i] = z ^ (z >> 31);
    }
}

static inline uint64_t kprng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t kprng_next(kprng *r)
{
    uint64_t *s = r->s;
    uint64_t result = kprng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = kprng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n) for n > 0 (Lemire's multiply-shift, with rejection). */
static inline uint64_t kprng_below(kprng *r, uint64_t n)
{
    uint64_t x = kprng_next(r);
    __uint128_t m = (__uint128_t)x * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) {
            x = kprng_next(r);
            m = (__uint128_t)x * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

#endif
