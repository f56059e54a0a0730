/* khash: the hash type's value (field -> value, both binary-safe strings).
 *
 * Two encodings, with Redis's names (OBJECT ENCODING):
 *
 * - ENC_LISTPACK: one allocation, a 12-byte header followed by the pairs in
 *   insertion order, each string as a LEB128 length and its bytes:
 *       [flen][field][vlen][value] [flen][field][vlen][value] ...
 *   Lookups are a linear walk. Small: a 3-field hash of short strings is
 *   one ~40-byte allocation. Every write reallocates to the exact size.
 * - ENC_HASHTABLE: a core/store/dict.h dict with one allocation per field
 *   (dict_node, lengths, field bytes, value bytes), seeded by the caller.
 *
 * A new hash is a listpack. It becomes a hashtable (and never goes back,
 * as in Redis) when a set would give it more than max_entries fields, or a
 * field or value longer than max_value bytes (hash-max-listpack-entries and
 * hash-max-listpack-value), or a listpack over 1 GiB (Redis's
 * lpSafeToAdd limit).
 *
 * Functions that write return the hash, which may have moved (a listpack
 * is reallocated, a conversion builds a new object): the owner stores the
 * returned pointer (for a key: kentry_set_obj(e, h, khash_enc(h))).
 *
 * Views (const char * + length) returned by reads point into the hash and
 * are valid until its next write. Nothing here depends on addresses: the
 * order of iteration, scans and random picks depends only on the
 * operations, the seed and the kprng. */
#ifndef KEEL_CORE_STORE_HASH_H
#define KEEL_CORE_STORE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util/prng.h"

typedef struct khash khash;

/* What a set may need: the conversion thresholds and the seed of the
 * hashtable a conversion creates (the db's: x->db->keys.seed). */
typedef struct khash_limits {
    long long max_entries; /* hash-max-listpack-entries */
    long long max_value;   /* hash-max-listpack-value */
    uint64_t seed;
} khash_limits;

/* An empty listpack hash. */
khash *khash_new(void);
/* An empty hashtable hash (for a snapshot that says so). */
khash *khash_new_hashtable(uint64_t seed);
void khash_free(khash *h);
/* A deep copy, with the same encoding (and the same seed). */
khash *khash_dup(const khash *h);

size_t khash_len(const khash *h);
int khash_enc(const khash *h); /* ENC_LISTPACK or ENC_HASHTABLE */

/* Finds field; returns false if absent, else sets *v and *vlen to a view of
 * its value. (Not const: a hashtable lookup does a rehash step.) */
bool khash_get(khash *h, const char *f, size_t flen, const char **v, size_t *vlen);

/* Sets field to value, converting first when lim says so. *created (may be
 * NULL) tells whether the field was new. Returns the (maybe moved) hash.
 * f and v must not point into h. */
khash *khash_set(khash *h, const char *f, size_t flen, const char *v, size_t vlen,
                 const khash_limits *lim, bool *created);

/* As khash_set without the configured thresholds: for the snapshot
 * decoder, which rebuilds a hash in the encoding it was saved with (a
 * listpack still converts past its 1 GiB representation limit, with seed). */
khash *khash_load_set(khash *h, const char *f, size_t flen, const char *v, size_t vlen,
                      uint64_t seed, bool *created);

/* Removes field; *deleted (may be NULL) tells whether it was there. The
 * hash may become empty: the owner deletes the key then. */
khash *khash_del(khash *h, const char *f, size_t flen, bool *deleted);

/* Converts a listpack to a hashtable (a hashtable is returned as is). */
khash *khash_convert(khash *h, uint64_t seed);

/* Calls fn on every pair: insertion order for a listpack, table order for
 * a hashtable. fn must not change the hash. */
typedef void khash_each_fn(void *ctx, const char *f, size_t flen, const char *v, size_t vlen);
void khash_for_each(const khash *h, khash_each_fn *fn, void *ctx);

/* One HSCAN step: a hashtable visits one dict_scan cursor step and returns
 * the next cursor (0 at the end); a listpack visits every pair and returns
 * 0, as Redis does for small encodings. fn must not change the hash. */
uint64_t khash_scan(khash *h, uint64_t cursor, khash_each_fn *fn, void *ctx);

/* A random pair of a non-empty hash, drawn with r: uniform for a listpack;
 * for a hashtable, Redis's "fair" pick (a sample of up to 20 entries from
 * consecutive buckets, then one of them uniformly). */
void khash_random(khash *h, kprng *r, const char **f, size_t *flen, const char **v,
                  size_t *vlen);

/* Checks the structure's invariants (lengths, counts, no duplicate field in
 * a listpack, the dict's own checks). For tests and fuzzers. */
bool khash_check(const khash *h);

#endif
