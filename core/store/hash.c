/* khash: the hash type's value, listpack or hashtable. See hash.h. */
#include "core/store/hash.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/store/db.h"
#include "core/store/dict.h"
#include "core/store/types.h"

/* Redis's LISTPACK_MAX_SAFETY_SIZE: a listpack never grows past 1 GiB (so
 * its counts fit in 32 bits); a set that would make it bigger converts. */
#define LP_MAX_BYTES ((size_t)1 << 30)

/* Sample size of the "fair" random pick (Redis's GETFAIR_NUMENTRIES). */
#define FAIR_SAMPLE 20

/* Both encodings start with their encoding byte (read as a byte, so the
 * two struct types never alias). */
static inline int enc_of(const khash *h) { return *(const unsigned char *)h; }

/* ------------------------------------------------------------------------ */
/* Listpack: header, then [len][field][len][value] pairs */

typedef struct lp {
    uint8_t enc; /* ENC_LISTPACK */
    uint8_t unused[3];
    uint32_t count; /* pairs */
    uint32_t used;  /* bytes of data */
    unsigned char data[];
} lp;
_Static_assert(sizeof(lp) == 12, "listpack header is 12 bytes");

/* LEB128 lengths: 7 bits a byte, low bits first, high bit = more. */
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

/* A pair inside the data: offsets of its parts and views of its strings. */
typedef struct lp_pair {
    size_t off;  /* start of the pair (the field's length) */
    size_t voff; /* start of the value's length */
    size_t end;  /* first byte after the pair */
    const char *f, *v;
    size_t flen, vlen;
} lp_pair;

static void lp_read(const lp *l, size_t off, lp_pair *p)
{
    const unsigned char *d = l->data;
    p->off = off;
    off += vget(d + off, &p->flen);
    p->f = (const char *)d + off;
    off += p->flen;
    p->voff = off;
    off += vget(d + off, &p->vlen);
    p->v = (const char *)d + off;
    p->end = off + p->vlen;
}

static bool lp_find(const lp *l, const char *f, size_t flen, lp_pair *p)
{
    for (size_t off = 0; off < l->used; off = p->end) {
        lp_read(l, off, p);
        if (p->flen == flen && memcmp(p->f, f, flen) == 0)
            return true;
    }
    return false;
}

static lp *lp_resize(lp *l, size_t used)
{
    lp *n = realloc(l, sizeof(lp) + used);
    if (n == NULL)
        abort();
    return n;
}

static lp *lp_new(void)
{
    lp *l = malloc(sizeof(lp));
    if (l == NULL)
        abort();
    memset(l, 0, sizeof(*l));
    l->enc = ENC_LISTPACK;
    return l;
}

/* Whether a new pair of these lengths keeps the listpack within bounds. */
static bool lp_fits(const lp *l, size_t flen, size_t vlen)
{
    if (flen > LP_MAX_BYTES || vlen > LP_MAX_BYTES)
        return false;
    return (size_t)l->used + vsize(flen) + flen + vsize(vlen) + vlen <= LP_MAX_BYTES;
}

/* Sets field to value (the caller checked lp_fits). */
static lp *lp_set(lp *l, const char *f, size_t flen, const char *v, size_t vlen, bool *created)
{
    lp_pair p;
    if (lp_find(l, f, flen, &p)) {
        *created = false;
        size_t oldsz = p.end - p.voff, newsz = vsize(vlen) + vlen;
        size_t tail = l->used - p.end;
        if (newsz > oldsz) {
            l = lp_resize(l, l->used + (newsz - oldsz));
            memmove(l->data + p.voff + newsz, l->data + p.end, tail);
        } else if (newsz < oldsz) {
            memmove(l->data + p.voff + newsz, l->data + p.end, tail);
        }
        size_t o = p.voff + vput(l->data + p.voff, vlen);
        if (vlen)
            memcpy(l->data + o, v, vlen);
        l->used = (uint32_t)(l->used - oldsz + newsz);
        if (newsz < oldsz)
            l = lp_resize(l, l->used);
        return l;
    }
    *created = true;
    size_t add = vsize(flen) + flen + vsize(vlen) + vlen;
    l = lp_resize(l, l->used + add);
    unsigned char *d = l->data + l->used;
    d += vput(d, flen);
    if (flen)
        memcpy(d, f, flen);
    d += flen;
    d += vput(d, vlen);
    if (vlen)
        memcpy(d, v, vlen);
    l->used = (uint32_t)(l->used + add);
    l->count++;
    return l;
}

static lp *lp_del(lp *l, const char *f, size_t flen, bool *deleted)
{
    lp_pair p;
    if (!lp_find(l, f, flen, &p)) {
        *deleted = false;
        return l;
    }
    *deleted = true;
    memmove(l->data + p.off, l->data + p.end, l->used - p.end);
    l->used = (uint32_t)(l->used - (p.end - p.off));
    l->count--;
    return lp_resize(l, l->used);
}

/* ------------------------------------------------------------------------ */
/* Hashtable: a dict of intrusive field entries */

typedef struct ht {
    uint8_t enc; /* ENC_HASHTABLE */
    dict d;
} ht;

typedef struct hfield {
    dict_node node;
    size_t flen;
    size_t vlen;
    char data[]; /* field, then value */
} hfield;

static void hfield_key(const dict_node *n, const char **k, size_t *len)
{
    const hfield *e = (const hfield *)n;
    *k = e->data;
    *len = e->flen;
}

static const dict_type hfield_type = {.key = hfield_key};

static hfield *hfield_new(const char *f, size_t flen, const char *v, size_t vlen)
{
    hfield *e = malloc(sizeof(hfield) + flen + vlen);
    if (e == NULL)
        abort();
    e->node.next = NULL;
    e->flen = flen;
    e->vlen = vlen;
    if (flen)
        memcpy(e->data, f, flen);
    if (vlen)
        memcpy(e->data + flen, v, vlen);
    return e;
}

static ht *ht_new(uint64_t seed)
{
    ht *t = malloc(sizeof(ht));
    if (t == NULL)
        abort();
    memset(t, 0, sizeof(*t));
    t->enc = ENC_HASHTABLE;
    dict_init(&t->d, &hfield_type, seed);
    return t;
}

static void ht_set(ht *t, const char *f, size_t flen, const char *v, size_t vlen, bool *created)
{
    hfield *old = (hfield *)dict_find(&t->d, f, flen);
    if (old == NULL) {
        dict_add(&t->d, &hfield_new(f, flen, v, vlen)->node);
        *created = true;
        return;
    }
    *created = false;
    if (old->vlen == vlen) {
        if (vlen)
            memcpy(old->data + old->flen, v, vlen);
        return;
    }
    hfield *n = hfield_new(f, flen, v, vlen);
    dict_replace_node(&t->d, &old->node, &n->node);
    free(old);
}

static void free_hfield_cb(void *ctx, dict_node *n)
{
    (void)ctx;
    free(n);
}

static void ht_free(ht *t)
{
    dict_for_each(&t->d, free_hfield_cb, NULL);
    dict_free(&t->d);
    free(t);
}

/* ------------------------------------------------------------------------ */
/* The API */

khash *khash_new(void) { return (khash *)lp_new(); }

khash *khash_new_hashtable(uint64_t seed) { return (khash *)ht_new(seed); }

void khash_free(khash *h)
{
    if (h == NULL)
        return;
    if (enc_of(h) == ENC_LISTPACK)
        free(h);
    else
        ht_free((ht *)h);
}

static void dup_cb(void *ctx, const char *f, size_t flen, const char *v, size_t vlen)
{
    ht *t = ctx;
    dict_add(&t->d, &hfield_new(f, flen, v, vlen)->node);
}

khash *khash_dup(const khash *h)
{
    if (enc_of(h) == ENC_LISTPACK) {
        const lp *l = (const lp *)h;
        lp *n = malloc(sizeof(lp) + l->used);
        if (n == NULL)
            abort();
        memcpy(n, l, sizeof(lp) + l->used);
        return (khash *)n;
    }
    const ht *t = (const ht *)h;
    ht *n = ht_new(t->d.seed);
    khash_for_each(h, dup_cb, n);
    return (khash *)n;
}

size_t khash_len(const khash *h)
{
    if (enc_of(h) == ENC_LISTPACK)
        return ((const lp *)h)->count;
    return (size_t)dict_size(&((const ht *)h)->d);
}

int khash_enc(const khash *h) { return enc_of(h); }

bool khash_get(khash *h, const char *f, size_t flen, const char **v, size_t *vlen)
{
    if (enc_of(h) == ENC_LISTPACK) {
        lp_pair p;
        if (!lp_find((const lp *)h, f, flen, &p))
            return false;
        *v = p.v;
        *vlen = p.vlen;
        return true;
    }
    hfield *e = (hfield *)dict_find(&((ht *)h)->d, f, flen);
    if (e == NULL)
        return false;
    *v = e->data + e->flen;
    *vlen = e->vlen;
    return true;
}

khash *khash_convert(khash *h, uint64_t seed)
{
    if (enc_of(h) != ENC_LISTPACK)
        return h;
    lp *l = (lp *)h;
    ht *t = ht_new(seed);
    lp_pair p;
    for (size_t off = 0; off < l->used; off = p.end) {
        lp_read(l, off, &p);
        dict_add(&t->d, &hfield_new(p.f, p.flen, p.v, p.vlen)->node);
    }
    free(l);
    return (khash *)t;
}

/* Is len over a hash-max-listpack-* threshold? */
static bool over(size_t len, long long max)
{
    return max < 0 || (unsigned long long)len > (unsigned long long)max;
}

khash *khash_set(khash *h, const char *f, size_t flen, const char *v, size_t vlen,
                 const khash_limits *lim, bool *created)
{
    bool c;
    if (enc_of(h) == ENC_LISTPACK) {
        lp *l = (lp *)h;
        if (over(flen, lim->max_value) || over(vlen, lim->max_value) || !lp_fits(l, flen, vlen)) {
            h = khash_convert(h, lim->seed);
        } else {
            l = lp_set(l, f, flen, v, vlen, &c);
            if (created)
                *created = c;
            h = (khash *)l;
            if (over(l->count, lim->max_entries))
                h = khash_convert(h, lim->seed);
            return h;
        }
    }
    ht_set((ht *)h, f, flen, v, vlen, &c);
    if (created)
        *created = c;
    return h;
}

khash *khash_load_set(khash *h, const char *f, size_t flen, const char *v, size_t vlen,
                      uint64_t seed, bool *created)
{
    bool c;
    if (enc_of(h) == ENC_LISTPACK) {
        if (lp_fits((const lp *)h, flen, vlen)) {
            h = (khash *)lp_set((lp *)h, f, flen, v, vlen, &c);
            if (created)
                *created = c;
            return h;
        }
        h = khash_convert(h, seed);
    }
    ht_set((ht *)h, f, flen, v, vlen, &c);
    if (created)
        *created = c;
    return h;
}

khash *khash_del(khash *h, const char *f, size_t flen, bool *deleted)
{
    bool d;
    if (enc_of(h) == ENC_LISTPACK) {
        h = (khash *)lp_del((lp *)h, f, flen, &d);
    } else {
        dict_node *n = dict_unlink(&((ht *)h)->d, f, flen);
        d = n != NULL;
        free(n);
    }
    if (deleted)
        *deleted = d;
    return h;
}

typedef struct each_ctx {
    khash_each_fn *fn;
    void *ctx;
} each_ctx;

static void each_cb(void *c, dict_node *n)
{
    each_ctx *x = c;
    const hfield *e = (const hfield *)n;
    x->fn(x->ctx, e->data, e->flen, e->data + e->flen, e->vlen);
}

void khash_for_each(const khash *h, khash_each_fn *fn, void *ctx)
{
    if (enc_of(h) == ENC_LISTPACK) {
        const lp *l = (const lp *)h;
        lp_pair p;
        for (size_t off = 0; off < l->used; off = p.end) {
            lp_read(l, off, &p);
            fn(ctx, p.f, p.flen, p.v, p.vlen);
        }
        return;
    }
    /* dict_for_each only pauses rehashing while it runs: the table is left
     * as it was. */
    each_ctx x = {fn, ctx};
    dict_for_each((dict *)&((const ht *)h)->d, each_cb, &x);
}

uint64_t khash_scan(khash *h, uint64_t cursor, khash_each_fn *fn, void *ctx)
{
    if (enc_of(h) == ENC_LISTPACK) {
        khash_for_each(h, fn, ctx);
        return 0;
    }
    each_ctx x = {fn, ctx};
    return dict_scan(&((ht *)h)->d, cursor, each_cb, &x);
}

/* As Redis's dictGetFairRandomKey: up to FAIR_SAMPLE entries from
 * consecutive buckets after a random one (dictGetSomeKeys), then one of
 * them uniformly; dict_random if the walk met none. Fairer than a random
 * bucket and a random chain entry, which favours short chains. */
static hfield *ht_fair_random(ht *t, kprng *r)
{
    dict *d = &t->d;
    hfield *sample[FAIR_SAMPLE];
    int n = 0;
    bool rehashing = dict_is_rehashing(d);
    uint64_t size = d->size[0];
    if (rehashing && d->size[1] > size)
        size = d->size[1];
    uint64_t mask = size - 1;
    uint64_t i = kprng_next(r) & mask;
    uint64_t steps = size < FAIR_SAMPLE * 10 ? size : FAIR_SAMPLE * 10;
    for (; steps > 0 && n < FAIR_SAMPLE; steps--) {
        for (int tb = 0; tb <= (rehashing ? 1 : 0); tb++) {
            /* Buckets of table 0 below rehash_idx are empty. */
            if (tb == 0 && rehashing && i < (uint64_t)d->rehash_idx)
                continue;
            if (i >= d->size[tb])
                continue;
            for (dict_node *e = d->table[tb][i]; e && n < FAIR_SAMPLE; e = e->next)
                sample[n++] = (hfield *)e;
        }
        i = (i + 1) & mask;
    }
    if (n == 0)
        return (hfield *)dict_random(d, r);
    return sample[kprng_below(r, (uint64_t)n)];
}

void khash_random(khash *h, kprng *r, const char **f, size_t *flen, const char **v,
                  size_t *vlen)
{
    assert(khash_len(h) > 0);
    if (enc_of(h) == ENC_LISTPACK) {
        const lp *l = (const lp *)h;
        uint64_t idx = kprng_below(r, l->count);
        lp_pair p;
        size_t off = 0;
        for (;;) {
            lp_read(l, off, &p);
            if (idx-- == 0)
                break;
            off = p.end;
        }
        *f = p.f;
        *flen = p.flen;
        *v = p.v;
        *vlen = p.vlen;
        return;
    }
    hfield *e = ht_fair_random((ht *)h, r);
    *f = e->data;
    *flen = e->flen;
    *v = e->data + e->flen;
    *vlen = e->vlen;
}

/* Reads a LEB128 length within [off, used); false if it runs past the end
 * or is longer than a size_t. */
static bool vget_checked(const lp *l, size_t *off, size_t *n)
{
    size_t v = 0;
    unsigned shift = 0;
    for (;;) {
        if (*off >= l->used || shift > 63)
            return false;
        unsigned char b = l->data[(*off)++];
        v |= (size_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
        shift += 7;
    }
    *n = v;
    return true;
}

bool khash_check(const khash *h)
{
    if (enc_of(h) == ENC_HASHTABLE) {
        const ht *t = (const ht *)h;
        return dict_check(&t->d);
    }
    if (enc_of(h) != ENC_LISTPACK)
        return false;
    const lp *l = (const lp *)h;
    if (l->used > LP_MAX_BYTES)
        return false;
    size_t off = 0, pairs = 0;
    while (off < l->used) {
        size_t start = off, flen, vlen;
        if (!vget_checked(l, &off, &flen) || flen > l->used - off)
            return false;
        const char *f = (const char *)l->data + off;
        off += flen;
        if (!vget_checked(l, &off, &vlen) || vlen > l->used - off)
            return false;
        off += vlen;
        /* No earlier pair has this field. */
        lp_pair p;
        for (size_t o = 0; o < start; o = p.end) {
            lp_read(l, o, &p);
            if (p.flen == flen && memcmp(p.f, f, flen) == 0)
                return false;
        }
        pairs++;
    }
    return off == l->used && pairs == l->count;
}

/* ------------------------------------------------------------------------ */
/* obj_ops, as the db calls them */

static void hash_ops_free(void *o) { khash_free(o); }
static void *hash_ops_dup(const void *o) { return khash_dup(o); }
static size_t hash_ops_len(const void *o) { return khash_len(o); }

const obj_ops hash_obj_ops = {.free = hash_ops_free, .dup = hash_ops_dup, .len = hash_ops_len};
