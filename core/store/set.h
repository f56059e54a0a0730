/* kset: the set type's value (a set of binary-safe strings).
 *
 * Two encodings, with Redis 7.0's names (OBJECT ENCODING):
 *
 * - ENC_INTSET: one allocation, a small header and a sorted array of
 *   int64_t, searched by bisection. Used while every member is a canonical
 *   integer (Redis's string2ll: no spaces, no '+', no leading zeros, fits
 *   a long long) and the set has at most set-max-intset-entries members
 *   (capped at 2^30, as Redis caps it). Iteration is in ascending order.
 * - ENC_HASHTABLE: a core/store/dict.h dict with one allocation per member
 *   (dict_node, length, bytes), seeded by the caller.
 *
 * A new set is an intset. It becomes a hashtable (and never goes back on
 * its own, as in Redis) when an add would make it hold a non-integer or
 * more than max_intset_entries members.
 *
 * Functions that write return the set, which may have moved (an intset is
 * reallocated, a conversion builds a new object): the owner stores the
 * returned pointer (for a key: kentry_set_obj(e, s, kset_enc(s))).
 *
 * Member views handed out by reads point into the set (hashtable) or into
 * a caller's buffer of KSET_TMP bytes where the integer is rendered
 * (intset); they are valid until the set's next write (or the buffer's
 * reuse). Nothing here depends on addresses: iteration, scans and random
 * picks depend only on the operations, the seed and the kprng. */
#ifndef KEEL_CORE_STORE_SET_H
#define KEEL_CORE_STORE_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util/prng.h"

typedef struct kset kset;

/* Room for a rendered int64 ("-9223372036854775808"). */
#define KSET_TMP 24

/* Largest intset, whatever the configuration says (Redis's 1<<30). */
#define KSET_INTSET_HARD_MAX (1LL << 30)

/* What an add may need: the conversion threshold and the seed of the
 * hashtable a conversion creates (the db's: x->db->keys.seed). */
typedef struct kset_limits {
    long long max_intset_entries; /* set-max-intset-entries */
    uint64_t seed;
} kset_limits;

/* An empty intset set. */
kset *kset_new(void);
/* An empty hashtable set (for a snapshot that says so). */
kset *kset_new_hashtable(uint64_t seed);
void kset_free(kset *s);
/* A deep copy, with the same encoding (and the same seed). */
kset *kset_dup(const kset *s);

size_t kset_len(const kset *s);
int kset_enc(const kset *s); /* ENC_INTSET or ENC_HASHTABLE */

/* Is m a member? (Not const: a hashtable lookup does a rehash step.) */
bool kset_has(kset *s, const char *m, size_t len);

/* Adds m, converting first when lim says so. *added (may be NULL) tells
 * whether it was new. Returns the (maybe moved) set. m must not point
 * into s. */
kset *kset_add(kset *s, const char *m, size_t len, const kset_limits *lim, bool *added);

/* As kset_add without the configured threshold (the snapshot decoder,
 * which rebuilds a set in the encoding it was saved with): an intset
 * converts only for a non-integer or past KSET_INTSET_HARD_MAX. */
kset *kset_load_add(kset *s, const char *m, size_t len, uint64_t seed, bool *added);

/* Removes m; *deleted (may be NULL) tells whether it was there. The set
 * may become empty: the owner deletes the key then. */
kset *kset_del(kset *s, const char *m, size_t len, bool *deleted);

/* Converts an intset to a hashtable (a hashtable is returned as is). */
kset *kset_convert(kset *s, uint64_t seed);

/* Calls fn on every member: ascending for an intset, table order for a
 * hashtable. fn must not change the set. */
typedef void kset_each_fn(void *ctx, const char *m, size_t len);
void kset_for_each(const kset *s, kset_each_fn *fn, void *ctx);

/* One SSCAN step: a hashtable visits one dict_scan cursor step and
 * returns the next cursor (0 at the end); an intset visits every member
 * and returns 0, as Redis does. fn must not change the set. */
uint64_t kset_scan(kset *s, uint64_t cursor, kset_each_fn *fn, void *ctx);

/* A random member of a non-empty set, drawn with r: uniform for an
 * intset (rendered into tmp); for a hashtable, Redis's "fair" pick. */
/* As kset_random, but the pick depends only on the members, the table's
 * seed and r (not on the table's layout): what a log replay must repeat. */
void kset_random_canonical(kset *s, kprng *r, const char **m, size_t *len, char tmp[KSET_TMP]);
void kset_random(kset *s, kprng *r, const char **m, size_t *len, char tmp[KSET_TMP]);

/* The intset's members (ascending) and count, or NULL for a hashtable. */
const int64_t *kset_ints(const kset *s, size_t *n);

/* Checks the structure's invariants (intset sorted and unique, within
 * its hard limit; the dict's own checks). For tests and fuzzers. */
bool kset_check(const kset *s);

#endif
