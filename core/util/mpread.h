/* mpread: a bounded msgpack reader over bytes in memory. Every read checks
 * the bounds; the first reason the bytes were refused sticks in err (later
 * reads return zeros); nothing is allocated, and a bin's bytes point into
 * the buffer. Entries are read with it on every apply (core/node/log.c) and
 * Raft's messages on every receive (core/raft/msg.c); msgpack-c's packer
 * writes them. */
#ifndef KEEL_CORE_UTIL_MPREAD_H
#define KEEL_CORE_UTIL_MPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


typedef struct mp_reader {
    const unsigned char *p, *end;
    const char *err;
} mp_reader;

static inline void mpr_fail(mp_reader *r, const char *why)
{
    if (!r->err)
        r->err = why;
}

static inline size_t mpr_left(const mp_reader *r) { return (size_t)(r->end - r->p); }

/* n bytes (1..8), big-endian. */
static inline uint64_t mpr_take(mp_reader *r, size_t n)
{
    if (r->err)
        return 0;
    if (mpr_left(r) < n) {
        mpr_fail(r, "truncated");
        return 0;
    }
    uint64_t v = 0;
    for (size_t k = 0; k < n; k++)
        v = (v << 8) | r->p[k];
    r->p += n;
    return v;
}

static inline uint64_t mpr_uint(mp_reader *r)
{
    uint64_t t = mpr_take(r, 1);
    if (r->err)
        return 0;
    if (t < 0x80)
        return t;
    switch (t) {
    case 0xcc: return mpr_take(r, 1);
    case 0xcd: return mpr_take(r, 2);
    case 0xce: return mpr_take(r, 4);
    case 0xcf: return mpr_take(r, 8);
    }
    mpr_fail(r, "bad type");
    return 0;
}

/* The low `bits` (< 64) bits of v as a two's complement number. */
static inline int64_t mpr_sign_extend(uint64_t v, int bits)
{
    uint64_t m = 1ULL << (bits - 1);
    return (int64_t)(v ^ m) - (int64_t)m;
}

static inline int64_t mpr_int(mp_reader *r)
{
    uint64_t t = mpr_take(r, 1);
    if (r->err)
        return 0;
    if (t < 0x80)
        return (int64_t)t;
    if (t >= 0xe0)
        return (int64_t)t - 0x100;
    uint64_t u;
    switch (t) {
    case 0xcc: return (int64_t)mpr_take(r, 1);
    case 0xcd: return (int64_t)mpr_take(r, 2);
    case 0xce: return (int64_t)mpr_take(r, 4);
    case 0xcf:
        u = mpr_take(r, 8);
        if (!r->err && u > (uint64_t)INT64_MAX)
            mpr_fail(r, "integer out of range");
        return r->err ? 0 : (int64_t)u;
    case 0xd0: return mpr_sign_extend(mpr_take(r, 1), 8);
    case 0xd1: return mpr_sign_extend(mpr_take(r, 2), 16);
    case 0xd2: return mpr_sign_extend(mpr_take(r, 4), 32);
    case 0xd3:
        u = mpr_take(r, 8);
        /* Two's complement without an implementation-defined conversion. */
        return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)~u - 1;
    }
    mpr_fail(r, "bad type");
    return 0;
}

static inline bool mpr_bool(mp_reader *r)
{
    uint64_t t = mpr_take(r, 1);
    if (r->err)
        return false;
    if (t != 0xc2 && t != 0xc3)
        mpr_fail(r, "bad type");
    return t == 0xc3;
}

/* An array's count, no more than what the bytes left could hold at
 * min_bytes an element. */
static inline uint32_t mpr_array(mp_reader *r, size_t min_bytes, const char *too_many)
{
    uint64_t t = mpr_take(r, 1);
    uint64_t n = 0;
    if (r->err)
        return 0;
    if (t >= 0x90 && t <= 0x9f)
        n = t & 0x0f;
    else if (t == 0xdc)
        n = mpr_take(r, 2);
    else if (t == 0xdd)
        n = mpr_take(r, 4);
    else
        mpr_fail(r, "bad type");
    if (!r->err && n > mpr_left(r) / min_bytes)
        mpr_fail(r, too_many);
    return r->err ? 0 : (uint32_t)n;
}

/* A bin's bytes (pointing into the buffer; never NULL); beyond: the reason
 * when its length runs past the end. */
static inline const unsigned char *mpr_bin(mp_reader *r, uint32_t *len, const char *beyond)
{
    *len = 0;
    uint64_t t = mpr_take(r, 1);
    uint64_t n = 0;
    if (r->err)
        return NULL;
    if (t == 0xc4)
        n = mpr_take(r, 1);
    else if (t == 0xc5)
        n = mpr_take(r, 2);
    else if (t == 0xc6)
        n = mpr_take(r, 4);
    else
        mpr_fail(r, "bad type");
    if (r->err)
        return NULL;
    if (n > mpr_left(r)) {
        mpr_fail(r, beyond);
        return NULL;
    }
    const unsigned char *p = r->p;
    r->p += n;
    *len = (uint32_t)n;
    return p;
}

static inline void mpr_init(mp_reader *r, const void *buf, size_t len)
{
    r->p = (const unsigned char *)buf;
    r->end = r->p + len;
    r->err = NULL;
}

/* The next byte (the type of what follows), or -1 at the end or after an
 * error. */
static inline int mpr_peek(const mp_reader *r) { return r->err || r->p >= r->end ? -1 : *r->p; }

static inline bool mpr_is_array(const mp_reader *r)
{
    int t = mpr_peek(r);
    return (t >= 0x90 && t <= 0x9f) || t == 0xdc || t == 0xdd;
}

/* Skips one value of any type, checking that every count and length fits
 * in the bytes left (so a decoder that allocates per declared element,
 * such as msgpack-c's, allocates at most in proportion to the bytes) and
 * nesting no deeper than depth. */
static inline void mpr_skip(mp_reader *r, int depth)
{
    uint64_t t = mpr_take(r, 1);
    uint64_t n = 0, items = 0, bytes = 0;
    if (r->err)
        return;
    if (depth <= 0) {
        mpr_fail(r, "nested too deep");
        return;
    }
    if (t < 0x80 || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3)
        return;                                    /* fixint, nil, bool */
    if (t >= 0x80 && t <= 0x8f)
        items = 2 * (t & 0x0f);                    /* fixmap */
    else if (t >= 0x90 && t <= 0x9f)
        items = t & 0x0f;                          /* fixarray */
    else if (t >= 0xa0 && t <= 0xbf)
        bytes = t & 0x1f;                          /* fixstr */
    else
        switch (t) {
        case 0xc4: case 0xd9: bytes = mpr_take(r, 1); break;
        case 0xc5: case 0xda: bytes = mpr_take(r, 2); break;
        case 0xc6: case 0xdb: bytes = mpr_take(r, 4); break;
        case 0xc7: bytes = mpr_take(r, 1) + 1; break; /* ext 8: type + data */
        case 0xc8: bytes = mpr_take(r, 2) + 1; break;
        case 0xc9: bytes = mpr_take(r, 4) + 1; break;
        case 0xca: bytes = 4; break;
        case 0xcb: bytes = 8; break;
        case 0xcc: case 0xd0: bytes = 1; break;
        case 0xcd: case 0xd1: bytes = 2; break;
        case 0xce: case 0xd2: bytes = 4; break;
        case 0xcf: case 0xd3: bytes = 8; break;
        case 0xd4: bytes = 2; break;
        case 0xd5: bytes = 3; break;
        case 0xd6: bytes = 5; break;
        case 0xd7: bytes = 9; break;
        case 0xd8: bytes = 17; break;
        case 0xdc: items = mpr_take(r, 2); break;
        case 0xdd: items = mpr_take(r, 4); break;
        case 0xde: items = 2 * mpr_take(r, 2); break;
        case 0xdf: items = 2 * mpr_take(r, 4); break;
        default: mpr_fail(r, "bad type"); return;
        }
    if (r->err)
        return;
    if (bytes > mpr_left(r) || items > mpr_left(r)) {
        mpr_fail(r, "beyond the end");
        return;
    }
    r->p += bytes;
    for (n = 0; n < items && !r->err; n++)
        mpr_skip(r, depth - 1);
}

#endif
