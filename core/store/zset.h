/* kzset: the sorted set type's value (member -> score, ordered by score,
 * then by member bytes).
 *
 * Two encodings, with Redis's names (OBJECT ENCODING):
 *
 * - ENC_LISTPACK: one allocation, a 12-byte header followed by the
 *   elements in order, each as its score (8 bytes, the double's bits) then
 *   the member as a LEB128 length and its bytes. Lookups and rank walks are
 *   linear. Every write reallocates to the exact size.
 * - ENC_SKIPLIST: a skiplist with spans (O(log n) rank and range queries)
 *   plus a core/store/dict.h dict member -> node. Node levels come from a
 *   kprng kept in the set, seeded from the dict seed, so the same
 *   operations build the same structure.
 *
 * A new set is a listpack. It becomes a skiplist when an insert would give
 * it more than max_entries elements or a member longer than max_value bytes
 * (zset-max-listpack-entries / -value), or a listpack over 1 GiB.
 * kzset_shrink turns a small skiplist back into a listpack (the result of
 * ZUNIONSTORE and friends, as Redis's zsetConvertToListpackIfNeeded).
 *
 * Functions that write return the set, which may have moved: the owner
 * stores the returned pointer. Views (member pointers) returned by reads
 * are valid until the set's next write. Ranks are 0-based, in ascending
 * order. NaN scores are never stored (the caller refuses them). */
#ifndef KEEL_CORE_STORE_ZSET_H
#define KEEL_CORE_STORE_ZSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util/prng.h"

typedef struct kzset kzset;

typedef struct kzset_limits {
    long long max_entries; /* zset-max-listpack-entries */
    long long max_value;   /* zset-max-listpack-value */
    uint64_t seed;         /* of the skiplist's dict (the db's) */
} kzset_limits;

/* A lex range bound (ZRANGEBYLEX): "-", "+", "[m" or "(m". */
enum { ZLEX_MINUS_INF = 0, ZLEX_PLUS_INF = 1, ZLEX_VALUE = 2 };
typedef struct kzset_lexbound {
    int kind;
    bool ex; /* exclusive ("(") */
    const char *p;
    size_t len;
} kzset_lexbound;

kzset *kzset_new(void);                    /* an empty listpack */
kzset *kzset_new_skiplist(uint64_t seed);  /* an empty skiplist */
void kzset_free(kzset *z);
kzset *kzset_dup(const kzset *z);          /* deep, same encoding */

size_t kzset_len(const kzset *z);
int kzset_enc(const kzset *z); /* ENC_LISTPACK or ENC_SKIPLIST */

/* The member's score; false if absent. */
bool kzset_score(kzset *z, const char *m, size_t mlen, double *score);

/* Sets member's score (adding it if absent), converting first when lim
 * says so. *created (may be NULL): whether it was new. m must not point
 * into z. */
kzset *kzset_add(kzset *z, const char *m, size_t mlen, double score, const kzset_limits *lim,
                 bool *created);
/* As kzset_add without the thresholds (snapshot loading): a listpack only
 * converts past its 1 GiB limit. */
kzset *kzset_load_add(kzset *z, const char *m, size_t mlen, double score, uint64_t seed,
                      bool *created);

/* Removes member; *deleted (may be NULL) says whether it was there. */
kzset *kzset_del(kzset *z, const char *m, size_t mlen, bool *deleted);

/* Removes the elements of ranks [start, end] (0 <= start <= end < len);
 * returns the set, *removed the count. */
kzset *kzset_del_range(kzset *z, size_t start, size_t end, size_t *removed);

/* Converts a listpack to a skiplist (a skiplist is returned as is). */
kzset *kzset_convert(kzset *z, uint64_t seed);
/* Converts a skiplist to a listpack if it fits within lim (entries and
 * member lengths); a listpack is returned as is. */
kzset *kzset_shrink(kzset *z, const kzset_limits *lim);

/* The 0-based ascending rank of member; false if absent. */
bool kzset_rank(kzset *z, const char *m, size_t mlen, size_t *rank);

/* The element at rank r (< len). */
void kzset_at(const kzset *z, size_t r, const char **m, size_t *mlen, double *score);

/* Walks n elements from rank start (< len), ascending, or descending when
 * rev (start then start-1, ...), calling fn until it returns false. fn must
 * not change the set. */
typedef bool kzset_each_fn(void *ctx, const char *m, size_t mlen, double score);
void kzset_walk(const kzset *z, size_t start, size_t n, bool rev, kzset_each_fn *fn, void *ctx);

/* Every element in ascending order. */
void kzset_for_each(const kzset *z, kzset_each_fn *fn, void *ctx);

/* Range bounds as ranks: the number of leading elements below a min bound
 * (score < min, or <= min when ex), and the number of leading elements
 * within a max bound (score <= max, or < max when ex). The range is the
 * ranks [lo, hi) (empty when hi <= lo). */
size_t kzset_score_lo(const kzset *z, double min, bool ex);
size_t kzset_score_hi(const kzset *z, double max, bool ex);
size_t kzset_lex_lo(const kzset *z, const kzset_lexbound *min);
size_t kzset_lex_hi(const kzset *z, const kzset_lexbound *max);

/* One ZSCAN step: a skiplist visits one dict_scan cursor step of its
 * member dict and returns the next cursor (0 at the end); a listpack
 * visits every element and returns 0. */
uint64_t kzset_scan(kzset *z, uint64_t cursor, kzset_each_fn *fn, void *ctx);

/* A random element of a non-empty set, drawn with r. */
void kzset_random(kzset *z, kprng *r, const char **m, size_t *mlen, double *score);

/* Checks the invariants (order, spans, counts, dict). Tests and fuzzers. */
bool kzset_check(const kzset *z);

#endif
