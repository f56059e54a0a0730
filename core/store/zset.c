/* kzset: the sorted set type's value, listpack or skiplist. See zset.h. */
#include "core/store/zset.h"
#include "core/util/kbuf.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/store/db.h"
#include "core/store/dict.h"
#include "core/store/types.h"

/* Redis's LISTPACK_MAX_SAFETY_SIZE. */
#define LP_MAX_BYTES ((size_t)1 << 30)
/* Redis's ZSKIPLIST_MAXLEVEL and ZSKIPLIST_P. */
#define ZSL_MAXLEVEL 32

static inline int enc_of(const kzset *z) { return *(const unsigned char *)z; }

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

/* Order: score, then member bytes (shorter first on a common prefix). */
static int elem_cmp(double s1, const char *m1, size_t l1, double s2, const char *m2, size_t l2)
{
    if (s1 < s2)
        return -1;
    if (s1 > s2)
        return 1;
    return kbytes_cmp(m1, l1, m2, l2);
}

/* Is member below the min bound (outside it)? */
static bool lex_below_min(const char *m, size_t mlen, const kzset_lexbound *b)
{
    if (b->kind == ZLEX_MINUS_INF)
        return false;
    if (b->kind == ZLEX_PLUS_INF)
        return true;
    int c = kbytes_cmp(m, mlen, b->p, b->len);
    return b->ex ? c <= 0 : c < 0;
}

/* Is member within the max bound? */
static bool lex_within_max(const char *m, size_t mlen, const kzset_lexbound *b)
{
    if (b->kind == ZLEX_PLUS_INF)
        return true;
    if (b->kind == ZLEX_MINUS_INF)
        return false;
    int c = kbytes_cmp(m, mlen, b->p, b->len);
    return b->ex ? c < 0 : c <= 0;
}

/* ------------------------------------------------------------------------ */
/* Listpack: header, then [score 8 bytes][LEB128 mlen][member] in order */

typedef struct lp {
    uint8_t enc; /* ENC_LISTPACK */
    uint8_t unused[3];
    uint32_t count;
    uint32_t used;
    unsigned char data[];
} lp;
_Static_assert(sizeof(lp) == 12, "listpack header is 12 bytes");

static size_t vsize(size_t n)
{
    size_t s = 1;
    while (n >= 0x80) {
        n >>= 7;
        s++;
    }
    return s;
}

static size_t vput(unsigned char *p, size_t n)
{
    size_t i = 0;
    while (n >= 0x80) {
        p[i++] = (unsigned char)(n | 0x80);
        n >>= 7;
    }
    p[i++] = (unsigned char)n;
    return i;
}

static size_t vget(const unsigned char *p, size_t *n)
{
    size_t v = 0, i = 0;
    unsigned shift = 0;
    for (;;) {
        unsigned char b = p[i++];
        v |= (size_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
        shift += 7;
    }
    *n = v;
    return i;
}

typedef struct lp_el {
    size_t off, end;
    double score;
    const char *m;
    size_t mlen;
} lp_el;

static void lp_read(const lp *l, size_t off, lp_el *e)
{
    const unsigned char *d = l->data;
    e->off = off;
    memcpy(&e->score, d + off, sizeof(double));
    off += sizeof(double);
    off += vget(d + off, &e->mlen);
    e->m = (const char *)d + off;
    e->end = off + e->mlen;
}

static lp *lp_resize(lp *l, size_t used)
{
    lp *n = realloc(l, sizeof(lp) + (used ? used : 1));
    if (n == NULL)
        abort();
    return n;
}

static lp *lp_new(void)
{
    lp *l = xmalloc(sizeof(lp));
    memset(l, 0, sizeof(*l));
    l->enc = ENC_LISTPACK;
    return l;
}

static size_t lp_elsize(size_t mlen) { return sizeof(double) + vsize(mlen) + mlen; }

static bool lp_fits(const lp *l, size_t mlen)
{
    if (mlen > LP_MAX_BYTES)
        return false;
    return (size_t)l->used + lp_elsize(mlen) <= LP_MAX_BYTES;
}

static bool lp_find(const lp *l, const char *m, size_t mlen, lp_el *e)
{
    for (size_t off = 0; off < l->used; off = e->end) {
        lp_read(l, off, e);
        if (e->mlen == mlen && memcmp(e->m, m, mlen) == 0)
            return true;
    }
    return false;
}

static lp *lp_remove_at(lp *l, size_t off, size_t end)
{
    memmove(l->data + off, l->data + end, l->used - end);
    l->used = (uint32_t)(l->used - (end - off));
    l->count--;
    return lp_resize(l, l->used);
}

/* Inserts a member known to be absent, in order. */
static lp *lp_insert(lp *l, const char *m, size_t mlen, double score)
{
    lp_el e;
    size_t off = 0;
    for (; off < l->used; off = e.end) {
        lp_read(l, off, &e);
        if (elem_cmp(e.score, e.m, e.mlen, score, m, mlen) > 0)
            break;
    }
    size_t add = lp_elsize(mlen);
    l = lp_resize(l, l->used + add);
    memmove(l->data + off + add, l->data + off, l->used - off);
    unsigned char *d = l->data + off;
    memcpy(d, &score, sizeof(double));
    d += sizeof(double);
    d += vput(d, mlen);
    if (mlen)
        memcpy(d, m, mlen);
    l->used = (uint32_t)(l->used + add);
    l->count++;
    return l;
}

/* Offset of the element of rank r. */
static size_t lp_off_of_rank(const lp *l, size_t r)
{
    lp_el e;
    size_t off = 0;
    while (r--) {
        lp_read(l, off, &e);
        off = e.end;
    }
    return off;
}

/* ------------------------------------------------------------------------ */
/* Skiplist */

typedef struct znode znode;
typedef struct zlevel {
    znode *fwd;
    size_t span;
} zlevel;

struct znode {
    dict_node dn;
    double score;
    znode *backward;
    char *m;
    size_t mlen;
    int nlevel;
    zlevel lvl[]; /* then the member bytes */
};

typedef struct zsl {
    uint8_t enc; /* ENC_SKIPLIST */
    int level;
    size_t length;
    znode *header, *tail;
    kprng rng;
    dict d;
} zsl;

static void znode_key(const dict_node *n, const char **k, size_t *len)
{
    const znode *z = (const znode *)n;
    *k = z->m;
    *len = z->mlen;
}

static const dict_type znode_type = {.key = znode_key};

static znode *znode_new(int level, double score, const char *m, size_t mlen)
{
    size_t sz = sizeof(znode) + (size_t)level * sizeof(zlevel);
    znode *n = xmalloc(sz + mlen);
    memset(n, 0, sz);
    n->nlevel = level;
    n->score = score;
    n->m = (char *)n + sz;
    n->mlen = mlen;
    if (mlen)
        memcpy(n->m, m, mlen);
    return n;
}

static zsl *zsl_new(uint64_t seed)
{
    zsl *t = xmalloc(sizeof(zsl));
    memset(t, 0, sizeof(*t));
    t->enc = ENC_SKIPLIST;
    t->level = 1;
    t->header = znode_new(ZSL_MAXLEVEL, 0, NULL, 0);
    kprng_seed(&t->rng, seed ^ 0x7a736b6970ULL);
    dict_init(&t->d, &znode_type, seed);
    return t;
}

static int zsl_random_level(zsl *t)
{
    int level = 1;
    /* P = 1/4, as Redis's ZSKIPLIST_P */
    while ((kprng_next(&t->rng) & 0xFFFF) < (0xFFFF / 4) && level < ZSL_MAXLEVEL)
        level++;
    return level;
}

static znode *zsl_insert(zsl *t, double score, const char *m, size_t mlen)
{
    znode *update[ZSL_MAXLEVEL];
    size_t rank[ZSL_MAXLEVEL];
    znode *x = t->header;
    for (int i = t->level - 1; i >= 0; i--) {
        rank[i] = i == t->level - 1 ? 0 : rank[i + 1];
        while (x->lvl[i].fwd &&
               elem_cmp(x->lvl[i].fwd->score, x->lvl[i].fwd->m, x->lvl[i].fwd->mlen, score, m,
                        mlen) < 0) {
            rank[i] += x->lvl[i].span;
            x = x->lvl[i].fwd;
        }
        update[i] = x;
    }
    int level = zsl_random_level(t);
    if (level > t->level) {
        for (int i = t->level; i < level; i++) {
            rank[i] = 0;
            update[i] = t->header;
            update[i]->lvl[i].span = t->length;
        }
        t->level = level;
    }
    x = znode_new(level, score, m, mlen);
    for (int i = 0; i < level; i++) {
        x->lvl[i].fwd = update[i]->lvl[i].fwd;
        update[i]->lvl[i].fwd = x;
        x->lvl[i].span = update[i]->lvl[i].span - (rank[0] - rank[i]);
        update[i]->lvl[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = level; i < t->level; i++)
        update[i]->lvl[i].span++;
    x->backward = update[0] == t->header ? NULL : update[0];
    if (x->lvl[0].fwd)
        x->lvl[0].fwd->backward = x;
    else
        t->tail = x;
    t->length++;
    dict_add(&t->d, &x->dn);
    return x;
}

/* Unlinks node x (found with update[]) from the list (not the dict). */
static void zsl_unlink(zsl *t, znode *x, znode **update)
{
    for (int i = 0; i < t->level; i++) {
        if (update[i]->lvl[i].fwd == x) {
            update[i]->lvl[i].span += x->lvl[i].span - 1;
            update[i]->lvl[i].fwd = x->lvl[i].fwd;
        } else {
            update[i]->lvl[i].span -= 1;
        }
    }
    if (x->lvl[0].fwd)
        x->lvl[0].fwd->backward = x->backward;
    else
        t->tail = x->backward;
    while (t->level > 1 && t->header->lvl[t->level - 1].fwd == NULL)
        t->level--;
    t->length--;
}

/* Removes node n (in the list and the dict) and frees it. */
static void zsl_delete_node(zsl *t, znode *n)
{
    znode *update[ZSL_MAXLEVEL];
    znode *x = t->header;
    for (int i = t->level - 1; i >= 0; i--) {
        while (x->lvl[i].fwd && x->lvl[i].fwd != n &&
               elem_cmp(x->lvl[i].fwd->score, x->lvl[i].fwd->m, x->lvl[i].fwd->mlen, n->score,
                        n->m, n->mlen) < 0)
            x = x->lvl[i].fwd;
        update[i] = x;
    }
    assert(x->lvl[0].fwd == n);
    zsl_unlink(t, n, update);
    dict_unlink(&t->d, n->m, n->mlen);
    free(n);
}

/* 1-based rank of node n. */
static size_t zsl_rank_of(const zsl *t, const znode *n)
{
    size_t rank = 0;
    const znode *x = t->header;
    for (int i = t->level - 1; i >= 0; i--) {
        while (x->lvl[i].fwd &&
               elem_cmp(x->lvl[i].fwd->score, x->lvl[i].fwd->m, x->lvl[i].fwd->mlen, n->score,
                        n->m, n->mlen) <= 0) {
            rank += x->lvl[i].span;
            x = x->lvl[i].fwd;
        }
        if (x == n)
            return rank;
    }
    return rank;
}

/* The node of 1-based rank r. */
static znode *zsl_by_rank(const zsl *t, size_t r)
{
    size_t traversed = 0;
    znode *x = t->header;
    for (int i = t->level - 1; i >= 0; i--) {
        while (x->lvl[i].fwd && traversed + x->lvl[i].span <= r) {
            traversed += x->lvl[i].span;
            x = x->lvl[i].fwd;
        }
        if (traversed == r)
            return x;
    }
    return NULL;
}

static void zsl_free(zsl *t)
{
    znode *x = t->header->lvl[0].fwd;
    while (x) {
        znode *next = x->lvl[0].fwd;
        free(x);
        x = next;
    }
    free(t->header);
    dict_free(&t->d);
    free(t);
}

/* ------------------------------------------------------------------------ */
/* The API */

kzset *kzset_new(void) { return (kzset *)lp_new(); }
kzset *kzset_new_skiplist(uint64_t seed) { return (kzset *)zsl_new(seed); }

void kzset_free(kzset *z)
{
    if (z == NULL)
        return;
    if (enc_of(z) == ENC_LISTPACK)
        free(z);
    else
        zsl_free((zsl *)z);
}

kzset *kzset_dup(const kzset *z)
{
    if (enc_of(z) == ENC_LISTPACK) {
        const lp *l = (const lp *)z;
        lp *n = xmalloc(sizeof(lp) + l->used);
        memcpy(n, l, sizeof(lp) + l->used);
        return (kzset *)n;
    }
    const zsl *t = (const zsl *)z;
    zsl *n = zsl_new(t->d.seed);
    n->rng = t->rng;
    for (const znode *x = t->header->lvl[0].fwd; x; x = x->lvl[0].fwd)
        zsl_insert(n, x->score, x->m, x->mlen);
    return (kzset *)n;
}

size_t kzset_len(const kzset *z)
{
    if (enc_of(z) == ENC_LISTPACK)
        return ((const lp *)z)->count;
    return ((const zsl *)z)->length;
}

int kzset_enc(const kzset *z) { return enc_of(z); }

bool kzset_score(kzset *z, const char *m, size_t mlen, double *score)
{
    if (enc_of(z) == ENC_LISTPACK) {
        lp_el e;
        if (!lp_find((const lp *)z, m, mlen, &e))
            return false;
        *score = e.score;
        return true;
    }
    znode *n = (znode *)dict_find(&((zsl *)z)->d, m, mlen);
    if (n == NULL)
        return false;
    *score = n->score;
    return true;
}

kzset *kzset_convert(kzset *z, uint64_t seed)
{
    if (enc_of(z) != ENC_LISTPACK)
        return z;
    lp *l = (lp *)z;
    zsl *t = zsl_new(seed);
    lp_el e;
    for (size_t off = 0; off < l->used; off = e.end) {
        lp_read(l, off, &e);
        zsl_insert(t, e.score, e.m, e.mlen);
    }
    free(l);
    return (kzset *)t;
}

kzset *kzset_shrink(kzset *z, const kzset_limits *lim)
{
    if (enc_of(z) == ENC_LISTPACK)
        return z;
    zsl *t = (zsl *)z;
    if (lim->max_entries < 0 || t->length > (unsigned long long)lim->max_entries)
        return z;
    size_t total = 0;
    for (const znode *x = t->header->lvl[0].fwd; x; x = x->lvl[0].fwd) {
        if (lim->max_value < 0 || x->mlen > (unsigned long long)lim->max_value)
            return z;
        total += lp_elsize(x->mlen);
        if (total > LP_MAX_BYTES)
            return z;
    }
    lp *l = lp_resize(lp_new(), total);
    unsigned char *d = l->data;
    for (const znode *x = t->header->lvl[0].fwd; x; x = x->lvl[0].fwd) {
        memcpy(d, &x->score, sizeof(double));
        d += sizeof(double);
        d += vput(d, x->mlen);
        if (x->mlen)
            memcpy(d, x->m, x->mlen);
        d += x->mlen;
    }
    l->used = (uint32_t)total;
    l->count = (uint32_t)t->length;
    zsl_free(t);
    return (kzset *)l;
}

static bool over(size_t len, long long max)
{
    return max < 0 || (unsigned long long)len > (unsigned long long)max;
}

/* Sets the score of a member in a skiplist. */
static void zsl_set(zsl *t, const char *m, size_t mlen, double score, bool *created)
{
    znode *n = (znode *)dict_find(&t->d, m, mlen);
    if (n == NULL) {
        zsl_insert(t, score, m, mlen);
        *created = true;
        return;
    }
    *created = false;
    if (n->score == score)
        return;
    /* Stays in place if still between its neighbours. */
    if ((n->backward == NULL ||
         elem_cmp(n->backward->score, n->backward->m, n->backward->mlen, score, m, mlen) < 0) &&
        (n->lvl[0].fwd == NULL ||
         elem_cmp(n->lvl[0].fwd->score, n->lvl[0].fwd->m, n->lvl[0].fwd->mlen, score, m, mlen) >
             0)) {
        n->score = score;
        return;
    }
    char small[64];
    char *copy = mlen <= sizeof(small) ? small : xmalloc(mlen);
    if (mlen)
        memcpy(copy, m, mlen);
    zsl_delete_node(t, n);
    zsl_insert(t, score, copy, mlen);
    if (copy != small)
        free(copy);
}

static kzset *add_generic(kzset *z, const char *m, size_t mlen, double score,
                          const kzset_limits *lim, uint64_t seed, bool *created)
{
    bool c;
    if (enc_of(z) == ENC_LISTPACK) {
        lp *l = (lp *)z;
        lp_el e;
        if (lp_find(l, m, mlen, &e)) {
            c = false;
            if (e.score != score) {
                l = lp_remove_at(l, e.off, e.end);
                l = lp_insert(l, m, mlen, score);
            }
            if (created)
                *created = c;
            return (kzset *)l;
        }
        bool conv = !lp_fits(l, mlen);
        if (lim)
            conv = conv || over(mlen, lim->max_value) || over((size_t)l->count + 1, lim->max_entries);
        if (!conv) {
            if (created)
                *created = true;
            return (kzset *)lp_insert(l, m, mlen, score);
        }
        z = kzset_convert(z, seed);
    }
    zsl_set((zsl *)z, m, mlen, score, &c);
    if (created)
        *created = c;
    return z;
}

kzset *kzset_add(kzset *z, const char *m, size_t mlen, double score, const kzset_limits *lim,
                 bool *created)
{
    return add_generic(z, m, mlen, score, lim, lim->seed, created);
}

kzset *kzset_load_add(kzset *z, const char *m, size_t mlen, double score, uint64_t seed,
                      bool *created)
{
    return add_generic(z, m, mlen, score, NULL, seed, created);
}

kzset *kzset_del(kzset *z, const char *m, size_t mlen, bool *deleted)
{
    bool d = false;
    if (enc_of(z) == ENC_LISTPACK) {
        lp_el e;
        if (lp_find((const lp *)z, m, mlen, &e)) {
            z = (kzset *)lp_remove_at((lp *)z, e.off, e.end);
            d = true;
        }
    } else {
        zsl *t = (zsl *)z;
        znode *n = (znode *)dict_find(&t->d, m, mlen);
        if (n) {
            zsl_delete_node(t, n);
            d = true;
        }
    }
    if (deleted)
        *deleted = d;
    return z;
}

kzset *kzset_del_range(kzset *z, size_t start, size_t end, size_t *removed)
{
    size_t n = end - start + 1;
    *removed = n;
    if (enc_of(z) == ENC_LISTPACK) {
        lp *l = (lp *)z;
        size_t off = lp_off_of_rank(l, start), stop = off;
        lp_el e;
        for (size_t i = 0; i < n; i++) {
            lp_read(l, stop, &e);
            stop = e.end;
        }
        memmove(l->data + off, l->data + stop, l->used - stop);
        l->used = (uint32_t)(l->used - (stop - off));
        l->count = (uint32_t)(l->count - n);
        return (kzset *)lp_resize(l, l->used);
    }
    zsl *t = (zsl *)z;
    znode *update[ZSL_MAXLEVEL];
    size_t traversed = 0;
    znode *x = t->header;
    for (int i = t->level - 1; i >= 0; i--) {
        while (x->lvl[i].fwd && traversed + x->lvl[i].span <= start) {
            traversed += x->lvl[i].span;
            x = x->lvl[i].fwd;
        }
        update[i] = x;
    }
    x = x->lvl[0].fwd;
    for (size_t i = 0; i < n && x; i++) {
        znode *next = x->lvl[0].fwd;
        zsl_unlink(t, x, update);
        dict_unlink(&t->d, x->m, x->mlen);
        free(x);
        x = next;
    }
    return z;
}

bool kzset_rank(kzset *z, const char *m, size_t mlen, size_t *rank)
{
    if (enc_of(z) == ENC_LISTPACK) {
        const lp *l = (const lp *)z;
        lp_el e;
        size_t r = 0;
        for (size_t off = 0; off < l->used; off = e.end, r++) {
            lp_read(l, off, &e);
            if (e.mlen == mlen && memcmp(e.m, m, mlen) == 0) {
                *rank = r;
                return true;
            }
        }
        return false;
    }
    zsl *t = (zsl *)z;
    znode *n = (znode *)dict_find(&t->d, m, mlen);
    if (n == NULL)
        return false;
    *rank = zsl_rank_of(t, n) - 1;
    return true;
}

void kzset_at(const kzset *z, size_t r, const char **m, size_t *mlen, double *score)
{
    if (enc_of(z) == ENC_LISTPACK) {
        const lp *l = (const lp *)z;
        lp_el e;
        lp_read(l, lp_off_of_rank(l, r), &e);
        *m = e.m;
        *mlen = e.mlen;
        *score = e.score;
        return;
    }
    const znode *n = zsl_by_rank((const zsl *)z, r + 1);
    assert(n != NULL);
    *m = n->m;
    *mlen = n->mlen;
    *score = n->score;
}

void kzset_walk(const kzset *z, size_t start, size_t n, bool rev, kzset_each_fn *fn, void *ctx)
{
    if (n == 0)
        return;
    if (enc_of(z) == ENC_LISTPACK) {
        const lp *l = (const lp *)z;
        lp_el e;
        if (!rev) {
            size_t off = lp_off_of_rank(l, start);
            for (size_t i = 0; i < n && off < l->used; i++, off = e.end) {
                lp_read(l, off, &e);
                if (!fn(ctx, e.m, e.mlen, e.score))
                    return;
            }
            return;
        }
        /* Backwards: collect the offsets of ranks [start-n+1, start]. */
        size_t first = start + 1 >= n ? start + 1 - n : 0;
        size_t cnt = start - first + 1;
        size_t *offs = xmalloc(cnt * sizeof(size_t));
        size_t off = lp_off_of_rank(l, first);
        for (size_t i = 0; i < cnt; i++) {
            offs[i] = off;
            lp_read(l, off, &e);
            off = e.end;
        }
        for (size_t i = cnt; i-- > 0;) {
            lp_read(l, offs[i], &e);
            if (!fn(ctx, e.m, e.mlen, e.score))
                break;
        }
        free(offs);
        return;
    }
    const znode *x = zsl_by_rank((const zsl *)z, start + 1);
    for (size_t i = 0; i < n && x; i++) {
        if (!fn(ctx, x->m, x->mlen, x->score))
            return;
        x = rev ? x->backward : x->lvl[0].fwd;
    }
}

void kzset_for_each(const kzset *z, kzset_each_fn *fn, void *ctx)
{
    size_t n = kzset_len(z);
    if (n)
        kzset_walk(z, 0, n, false, fn, ctx);
}

/* Predicates for the rank bounds: "x is before the boundary". */
enum { PB_SCORE_LO, PB_SCORE_HI, PB_LEX_LO, PB_LEX_HI };
typedef struct bound {
    int kind;
    double v;
    bool ex;
    const kzset_lexbound *lex;
} bound;

static bool before(const bound *b, double score, const char *m, size_t mlen)
{
    switch (b->kind) {
    case PB_SCORE_LO:
        return b->ex ? score <= b->v : score < b->v;
    case PB_SCORE_HI:
        return b->ex ? score < b->v : score <= b->v;
    case PB_LEX_LO:
        return lex_below_min(m, mlen, b->lex);
    default:
        return lex_within_max(m, mlen, b->lex);
    }
}

/* The number of leading elements for which `before` holds (it holds for a
 * prefix of the order). */
static size_t count_before(const kzset *z, const bound *b)
{
    if (enc_of(z) == ENC_LISTPACK) {
        const lp *l = (const lp *)z;
        lp_el e;
        size_t r = 0;
        for (size_t off = 0; off < l->used; off = e.end, r++) {
            lp_read(l, off, &e);
            if (!before(b, e.score, e.m, e.mlen))
                break;
        }
        return r;
    }
    const zsl *t = (const zsl *)z;
    const znode *x = t->header;
    size_t rank = 0;
    for (int i = t->level - 1; i >= 0; i--) {
        while (x->lvl[i].fwd && before(b, x->lvl[i].fwd->score, x->lvl[i].fwd->m,
                                       x->lvl[i].fwd->mlen)) {
            rank += x->lvl[i].span;
            x = x->lvl[i].fwd;
        }
    }
    return rank;
}

size_t kzset_score_lo(const kzset *z, double min, bool ex)
{
    bound b = {.kind = PB_SCORE_LO, .v = min, .ex = ex};
    return count_before(z, &b);
}

size_t kzset_score_hi(const kzset *z, double max, bool ex)
{
    bound b = {.kind = PB_SCORE_HI, .v = max, .ex = ex};
    return count_before(z, &b);
}

size_t kzset_lex_lo(const kzset *z, const kzset_lexbound *min)
{
    bound b = {.kind = PB_LEX_LO, .lex = min};
    return count_before(z, &b);
}

size_t kzset_lex_hi(const kzset *z, const kzset_lexbound *max)
{
    bound b = {.kind = PB_LEX_HI, .lex = max};
    return count_before(z, &b);
}

typedef struct scan_ctx {
    kzset_each_fn *fn;
    void *ctx;
} scan_ctx;

static void scan_cb(void *c, dict_node *n)
{
    scan_ctx *s = c;
    const znode *z = (const znode *)n;
    s->fn(s->ctx, z->m, z->mlen, z->score);
}

uint64_t kzset_scan(kzset *z, uint64_t cursor, kzset_each_fn *fn, void *ctx)
{
    if (enc_of(z) == ENC_LISTPACK) {
        kzset_for_each(z, fn, ctx);
        return 0;
    }
    scan_ctx s = {fn, ctx};
    return dict_scan(&((zsl *)z)->d, cursor, scan_cb, &s);
}

void kzset_random(kzset *z, kprng *r, const char **m, size_t *mlen, double *score)
{
    size_t n = kzset_len(z);
    assert(n > 0);
    kzset_at(z, (size_t)kprng_below(r, n), m, mlen, score);
}

bool kzset_check(const kzset *z)
{
    if (enc_of(z) == ENC_LISTPACK) {
        const lp *l = (const lp *)z;
        if (l->used > LP_MAX_BYTES)
            return false;
        size_t off = 0, n = 0;
        lp_el prev = {0}, e;
        while (off < l->used) {
            if (l->used - off < sizeof(double) + 1)
                return false;
            lp_read(l, off, &e);
            if (e.end > l->used || isnan(e.score))
                return false;
            if (n && elem_cmp(prev.score, prev.m, prev.mlen, e.score, e.m, e.mlen) >= 0)
                return false;
            /* No duplicate member. */
            lp_el f;
            for (size_t o = 0; o < off; o = f.end) {
                lp_read(l, o, &f);
                if (f.mlen == e.mlen && memcmp(f.m, e.m, e.mlen) == 0)
                    return false;
            }
            prev = e;
            off = e.end;
            n++;
        }
        return off == l->used && n == l->count;
    }
    if (enc_of(z) != ENC_SKIPLIST)
        return false;
    const zsl *t = (const zsl *)z;
    if (!dict_check(&t->d) || dict_size(&t->d) != t->length)
        return false;
    /* Level 0: order, backward links, tail, dict membership. */
    size_t n = 0;
    const znode *prev = NULL;
    for (const znode *x = t->header->lvl[0].fwd; x; x = x->lvl[0].fwd) {
        if (x->backward != prev || isnan(x->score))
            return false;
        if (prev && elem_cmp(prev->score, prev->m, prev->mlen, x->score, x->m, x->mlen) >= 0)
            return false;
        if (dict_find((dict *)&t->d, x->m, x->mlen) != &x->dn)
            return false;
        prev = x;
        n++;
    }
    if (n != t->length || t->tail != prev)
        return false;
    /* Spans: at every level, the sum of spans to each node is its rank. */
    for (int i = 0; i < t->level; i++) {
        size_t rank = 0;
        const znode *x = t->header;
        while (x->lvl[i].fwd) {
            rank += x->lvl[i].span;
            x = x->lvl[i].fwd;
            if (zsl_rank_of(t, x) != rank)
                return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* obj_ops and the snapshot codec */

static void zset_ops_free(void *o) { kzset_free(o); }
static void *zset_ops_dup(const void *o) { return kzset_dup(o); }
static size_t zset_ops_len(const void *o) { return kzset_len(o); }

const obj_ops zset_obj_ops = {.free = zset_ops_free, .dup = zset_ops_dup, .len = zset_ops_len};

/* The value: an array of 2n objects, member (bin) then score (float64), in
 * ascending order. */
static bool pack_cb(void *ctx, const char *m, size_t mlen, double score)
{
    msgpack_packer *pk = ctx;
    msgpack_pack_bin(pk, mlen);
    msgpack_pack_bin_body(pk, m, mlen);
    msgpack_pack_double(pk, score);
    return true;
}

static void zset_pack(msgpack_packer *pk, const kentry *e)
{
    const kzset *z = kentry_obj(e);
    msgpack_pack_array(pk, kzset_len(z) * 2);
    kzset_for_each(z, pack_cb, pk);
}

static void *zset_unpack(const msgpack_object *v, int enc, uint64_t seed, int *enc_out,
                         const char **err)
{
    if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size == 0 || v->via.array.size % 2) {
        *err = "a zset value is not a non-empty array of pairs";
        return NULL;
    }
    if (enc != ENC_LISTPACK && enc != ENC_SKIPLIST) {
        *err = "a zset has an unknown encoding";
        return NULL;
    }
    kzset *z = enc == ENC_SKIPLIST ? kzset_new_skiplist(seed) : kzset_new();
    for (uint32_t i = 0; i < v->via.array.size; i += 2) {
        const msgpack_object *m = &v->via.array.ptr[i], *s = &v->via.array.ptr[i + 1];
        double score;
        if (m->type != MSGPACK_OBJECT_BIN) {
            *err = "a zset member is not binary";
            goto fail;
        }
        if (s->type == MSGPACK_OBJECT_FLOAT64 || s->type == MSGPACK_OBJECT_FLOAT32)
            score = s->via.f64;
        else if (s->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            score = (double)s->via.u64;
        else if (s->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            score = (double)s->via.i64;
        else {
            *err = "a zset score is not a number";
            goto fail;
        }
        if (isnan(score)) {
            *err = "a zset score is NaN";
            goto fail;
        }
        bool created;
        z = kzset_load_add(z, m->via.bin.ptr, m->via.bin.size, score, seed, &created);
        if (!created) {
            *err = "a zset has a member twice";
            goto fail;
        }
    }
    *enc_out = kzset_enc(z);
    return z;
fail:
    kzset_free(z);
    return NULL;
}

const type_codec zset_codec = {.pack = zset_pack, .unpack = zset_unpack};
