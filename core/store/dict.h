/* dict: the keyspace's hash table (and any other keyed set the store needs).
 *
 * - Chained, intrusive: the owner's entry starts with a dict_node, and the
 *   dict reads keys through dict_type.key. One allocation per entry, owned by
 *   the caller; the dict allocates only its bucket arrays.
 * - Keys are hashed with XXH3-64 under a per-dict seed (the node's), so a
 *   client cannot choose keys that collide. Nothing depends on addresses:
 *   bucket order, and so iteration and SCAN order, depend only on the
 *   operations, the keys and the seed.
 * - Incremental rehashing, as Redis's dict: growing or shrinking allocates
 *   the new table and then moves one bucket per operation (and a bounded
 *   batch per dict_rehash() call from the tick), so no single call pauses
 *   for the whole table. Load factor 1 triggers growth, 10% fill shrinking.
 * - dict_scan() is Redis's reverse-binary cursor: every entry present for
 *   the whole scan is returned at least once, even across rehashes.
 */
#ifndef KEEL_CORE_STORE_DICT_H
#define KEEL_CORE_STORE_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util/prng.h"

typedef struct dict_node {
    struct dict_node *next;
} dict_node;

typedef struct dict_type {
    /* The key of an entry. */
    void (*key)(const dict_node *n, const char **key, size_t *len);
} dict_type;

typedef struct dict {
    const dict_type *type;
    uint64_t seed;
    dict_node **table[2];
    uint64_t size[2];   /* buckets: 0 or a power of two */
    uint64_t used[2];
    int64_t rehash_idx; /* next bucket of table[0] to move, -1 when not rehashing */
    int pause_rehash;   /* > 0 while a scan callback runs */
    bool resize_allowed;/* false while a forked snapshot shares the pages */
} dict;

#define DICT_INITIAL_SIZE 4
#define DICT_MIN_FILL_PERCENT 10

void dict_init(dict *d, const dict_type *type, uint64_t seed);
/* Frees the buckets; the entries are the caller's (iterate them first). */
void dict_free(dict *d);

static inline uint64_t dict_size(const dict *d) { return d->used[0] + d->used[1]; }
static inline bool dict_is_rehashing(const dict *d) { return d->rehash_idx != -1; }

uint64_t dict_hash(const dict *d, const char *key, size_t len);

dict_node *dict_find(dict *d, const char *key, size_t len);
/* Adds n, whose key must not be in the dict (asserted in debug checks). */
void dict_add(dict *d, dict_node *n);
/* Removes and returns the entry with this key, or NULL. */
dict_node *dict_unlink(dict *d, const char *key, size_t len);
/* Replaces the entry old (in the dict) with n (same key). */
void dict_replace_node(dict *d, dict_node *old, dict_node *n);

/* Moves up to n buckets to the new table; returns true if more remain. */
bool dict_rehash(dict *d, int n);

/* Calls fn on the entries of one cursor step; returns the next cursor, 0
 * when the scan is complete. fn must not add or remove entries. */
typedef void dict_scan_fn(void *ctx, dict_node *n);
uint64_t dict_scan(dict *d, uint64_t cursor, dict_scan_fn *fn, void *ctx);

/* A random entry (NULL if empty), chosen with r: a random non-empty bucket,
 * then a random entry of its chain, as Redis's dictGetRandomKey. */
dict_node *dict_random(dict *d, kprng *r);

/* Plain iteration over every entry, for snapshots and tests; fn must not
 * change the dict. */
void dict_for_each(dict *d, dict_scan_fn *fn, void *ctx);

/* Checks the dict's invariants (counts, every entry in its right bucket);
 * returns false and stops at the first violation. For tests and fuzzers. */
bool dict_check(const dict *d);

#endif
