/* dict: chained hash table with incremental rehashing. See dict.h. */
#include "core/store/dict.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

/* Empty buckets visited at most per rehash step before giving up the step,
 * as Redis's dictRehash(d, n) bounds its work at n*10 empty visits. */
#define REHASH_EMPTY_VISITS 10

void dict_init(dict *d, const dict_type *type, uint64_t seed)
{
    memset(d, 0, sizeof(*d));
    d->type = type;
    d->seed = seed;
    d->rehash_idx = -1;
    d->resize_allowed = true;
}

void dict_free(dict *d)
{
    free(d->table[0]);
    free(d->table[1]);
    dict_init(d, d->type, d->seed);
}

uint64_t dict_hash(const dict *d, const char *key, size_t len)
{
    return XXH3_64bits_withSeed(key, len, d->seed);
}

static inline bool key_eq(const dict *d, const dict_node *n, const char *key, size_t len)
{
    const char *k;
    size_t kl;
    d->type->key(n, &k, &kl);
    return kl == len && memcmp(k, key, len) == 0;
}

static inline uint64_t node_hash(const dict *d, const dict_node *n)
{
    const char *k;
    size_t kl;
    d->type->key(n, &k, &kl);
    return dict_hash(d, k, kl);
}

static uint64_t next_pow2(uint64_t n)
{
    uint64_t s = DICT_INITIAL_SIZE;
    while (s < n)
        s <<= 1;
    return s;
}

/* Starts moving to a table of `size` buckets (or allocates the first one). */
static void resize_to(dict *d, uint64_t size)
{
    assert(!dict_is_rehashing(d));
    if (size == d->size[0])
        return;
    dict_node **t = calloc(size, sizeof(*t));
    if (t == NULL)
        abort();
    if (d->table[0] == NULL) {
        d->table[0] = t;
        d->size[0] = size;
        return;
    }
    d->table[1] = t;
    d->size[1] = size;
    d->used[1] = 0;
    d->rehash_idx = 0;
}

bool dict_rehash(dict *d, int n)
{
    if (!dict_is_rehashing(d))
        return false;
    int empty_visits = n * REHASH_EMPTY_VISITS;
    uint64_t mask1 = d->size[1] - 1;
    while (n-- > 0 && d->used[0] != 0) {
        assert((uint64_t)d->rehash_idx < d->size[0]);
        while (d->table[0][d->rehash_idx] == NULL) {
            d->rehash_idx++;
            if (--empty_visits == 0)
                return true;
        }
        dict_node *e = d->table[0][d->rehash_idx];
        while (e) {
            dict_node *next = e->next;
            uint64_t b = node_hash(d, e) & mask1;
            e->next = d->table[1][b];
            d->table[1][b] = e;
            d->used[0]--;
            d->used[1]++;
            e = next;
        }
        d->table[0][d->rehash_idx] = NULL;
        d->rehash_idx++;
    }
    if (d->used[0] == 0) {
        free(d->table[0]);
        d->table[0] = d->table[1];
        d->size[0] = d->size[1];
        d->used[0] = d->used[1];
        d->table[1] = NULL;
        d->size[1] = 0;
        d->used[1] = 0;
        d->rehash_idx = -1;
        return false;
    }
    return true;
}

/* One step of rehashing piggybacked on an operation, unless a scan
 * callback is running. */
static inline void rehash_step(dict *d)
{
    if (d->pause_rehash == 0 && dict_is_rehashing(d))
        dict_rehash(d, 1);
}

/* Grows when the load reaches 1 (or 5 when resizing is discouraged because
 * a forked child shares the pages, as Redis does). */
static void maybe_grow(dict *d)
{
    if (dict_is_rehashing(d))
        return;
    if (d->size[0] == 0) {
        resize_to(d, DICT_INITIAL_SIZE);
        return;
    }
    if (d->used[0] >= d->size[0] && (d->resize_allowed || d->used[0] / d->size[0] > 5))
        resize_to(d, next_pow2(d->used[0] + 1));
}

static void maybe_shrink(dict *d)
{
    if (dict_is_rehashing(d) || !d->resize_allowed)
        return;
    if (d->size[0] > DICT_INITIAL_SIZE && d->used[0] * 100 / d->size[0] < DICT_MIN_FILL_PERCENT)
        resize_to(d, next_pow2(d->used[0]));
}

/* Finds the link that points at the entry with this key: the bucket head
 * or the previous entry's next field; NULL if absent. *table (if not NULL)
 * is set to the table the entry is in. */
static dict_node **find_link(dict *d, const char *key, size_t len, uint64_t h, int *table)
{
    for (int t = 0; t <= 1; t++) {
        if (d->size[t] == 0)
            break;
        uint64_t b = h & (d->size[t] - 1);
        /* Buckets of table 0 before rehash_idx are already moved. */
        if (t == 0 && dict_is_rehashing(d) && b < (uint64_t)d->rehash_idx)
            continue;
        for (dict_node **link = &d->table[t][b]; *link; link = &(*link)->next) {
            if (key_eq(d, *link, key, len)) {
                if (table)
                    *table = t;
                return link;
            }
        }
        if (!dict_is_rehashing(d))
            break;
    }
    return NULL;
}

dict_node *dict_find(dict *d, const char *key, size_t len)
{
    if (dict_size(d) == 0)
        return NULL;
    rehash_step(d);
    dict_node **link = find_link(d, key, len, dict_hash(d, key, len), NULL);
    return link ? *link : NULL;
}

void dict_add(dict *d, dict_node *n)
{
    rehash_step(d);
    maybe_grow(d);
    const char *k;
    size_t kl;
    d->type->key(n, &k, &kl);
    /* While rehashing, new entries go to the new table only. */
    int t = dict_is_rehashing(d) ? 1 : 0;
    uint64_t b = dict_hash(d, k, kl) & (d->size[t] - 1);
    n->next = d->table[t][b];
    d->table[t][b] = n;
    d->used[t]++;
}

dict_node *dict_unlink(dict *d, const char *key, size_t len)
{
    if (dict_size(d) == 0)
        return NULL;
    rehash_step(d);
    int t;
    dict_node **link = find_link(d, key, len, dict_hash(d, key, len), &t);
    if (link == NULL)
        return NULL;
    dict_node *n = *link;
    *link = n->next;
    n->next = NULL;
    d->used[t]--;
    maybe_shrink(d);
    return n;
}

void dict_replace_node(dict *d, dict_node *old, dict_node *n)
{
    const char *k;
    size_t kl;
    d->type->key(old, &k, &kl);
    dict_node **link = find_link(d, k, kl, dict_hash(d, k, kl), NULL);
    assert(link != NULL && *link == old);
    n->next = old->next;
    *link = n;
}

/* Reverses the bits of v (for the scan cursor). */
static uint64_t rev(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    v = ((v >> 8) & 0x00FF00FF00FF00FFULL) | ((v & 0x00FF00FF00FF00FFULL) << 8);
    v = ((v >> 16) & 0x0000FFFF0000FFFFULL) | ((v & 0x0000FFFF0000FFFFULL) << 16);
    return (v >> 32) | (v << 32);
}

static void emit_bucket(dict_node *e, dict_scan_fn *fn, void *ctx)
{
    while (e) {
        dict_node *next = e->next;
        fn(ctx, e);
        e = next;
    }
}

uint64_t dict_scan(dict *d, uint64_t v, dict_scan_fn *fn, void *ctx)
{
    if (dict_size(d) == 0)
        return 0;
    d->pause_rehash++;
    if (!dict_is_rehashing(d)) {
        uint64_t m0 = d->size[0] - 1;
        emit_bucket(d->table[0][v & m0], fn, ctx);
        /* Increment the reversed cursor over the masked bits only. */
        v |= ~m0;
        v = rev(rev(v) + 1);
    } else {
        int t0 = 0, t1 = 1;
        if (d->size[0] > d->size[1]) {
            t0 = 1;
            t1 = 0;
        }
        uint64_t m0 = d->size[t0] - 1, m1 = d->size[t1] - 1;
        /* Buckets of table 0 below rehash_idx are empty, so emitting them
         * is harmless: the order of visits is the same as Redis's. */
        emit_bucket(d->table[t0][v & m0], fn, ctx);
        /* Then every bucket of the larger table that expands the index. */
        do {
            emit_bucket(d->table[t1][v & m1], fn, ctx);
            v |= ~m1;
            v = rev(rev(v) + 1);
        } while (v & (m0 ^ m1));
    }
    d->pause_rehash--;
    return v;
}

dict_node *dict_random(dict *d, kprng *r)
{
    if (dict_size(d) == 0)
        return NULL;
    rehash_step(d);
    dict_node *head = NULL;
    if (dict_is_rehashing(d)) {
        /* Buckets below rehash_idx in table 0 are empty: skip them. */
        uint64_t lo = (uint64_t)d->rehash_idx;
        uint64_t span = d->size[0] + d->size[1] - lo;
        do {
            uint64_t i = lo + kprng_below(r, span);
            head = i >= d->size[0] ? d->table[1][i - d->size[0]] : d->table[0][i];
        } while (head == NULL);
    } else {
        do {
            head = d->table[0][kprng_below(r, d->size[0])];
        } while (head == NULL);
    }
    uint64_t len = 0;
    for (dict_node *e = head; e; e = e->next)
        len++;
    uint64_t pick = kprng_below(r, len);
    while (pick--)
        head = head->next;
    return head;
}

void dict_for_each(dict *d, dict_scan_fn *fn, void *ctx)
{
    d->pause_rehash++;
    for (int t = 0; t <= 1; t++)
        for (uint64_t b = 0; b < d->size[t]; b++)
            emit_bucket(d->table[t][b], fn, ctx);
    d->pause_rehash--;
}

bool dict_check(const dict *d)
{
    for (int t = 0; t <= 1; t++) {
        if ((d->size[t] & (d->size[t] - 1)) != 0)
            return false;
        if ((d->size[t] == 0) != (d->table[t] == NULL))
            return false;
        uint64_t count = 0;
        for (uint64_t b = 0; b < d->size[t]; b++) {
            for (dict_node *e = d->table[t][b]; e; e = e->next) {
                if ((node_hash(d, e) & (d->size[t] - 1)) != b)
                    return false;
                if (t == 0 && dict_is_rehashing(d) && b < (uint64_t)d->rehash_idx)
                    return false;
                count++;
            }
        }
        if (count != d->used[t])
            return false;
    }
    if (dict_is_rehashing(d) != (d->table[1] != NULL))
        return false;
    return true;
}
