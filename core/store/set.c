/* kset: the set type's value, intset or hashtable. See set.h. */
#include "core/store/set.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/resp/parser.h"
#include "core/resp/writer.h"
#include "core/store/db.h"
#include "core/store/dict.h"
#include "core/store/types.h"

/* Sample size of the "fair" random pick (Redis's GETFAIR_NUMENTRIES). */
#define FAIR_SAMPLE 20

/* Both encodings start with their encoding byte (read as a byte, so the
 * two struct types never alias). */
static inline int enc_of(const kset *s) { return *(const unsigned char *)s; }

/* ------------------------------------------------------------------------ */
/* Intset: a sorted array of int64_t */

typedef struct iset {
    uint8_t enc; /* ENC_INTSET */
    uint8_t unused[3];
    uint32_t count;
    uint32_t cap;
    int64_t v[];
} iset;

static iset *iset_alloc(iset *is, uint32_t cap)
{
    iset *n = realloc(is, sizeof(iset) + (size_t)cap * sizeof(int64_t));
    if (n == NULL)
        abort();
    n->cap = cap;
    return n;
}

static iset *iset_new(void)
{
    iset *is = iset_alloc(NULL, 0);
    is->enc = ENC_INTSET;
    memset(is->unused, 0, sizeof(is->unused));
    is->count = 0;
    return is;
}

/* Index of v, or where it would go; *found tells which. */
static uint32_t iset_search(const iset *is, int64_t v, bool *found)
{
    uint32_t lo = 0, hi = is->count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (is->v[mid] < v)
            lo = mid + 1;
        else if (is->v[mid] > v)
            hi = mid;
        else {
            *found = true;
            return mid;
        }
    }
    *found = false;
    return lo;
}

static iset *iset_add(iset *is, int64_t v, bool *added)
{
    bool found;
    uint32_t i = iset_search(is, v, &found);
    if (found) {
        *added = false;
        return is;
    }
    if (is->count == is->cap)
        is = iset_alloc(is, is->cap < 4 ? 4 : is->cap * 2);
    memmove(&is->v[i + 1], &is->v[i], (size_t)(is->count - i) * sizeof(int64_t));
    is->v[i] = v;
    is->count++;
    *added = true;
    return is;
}

static iset *iset_del(iset *is, int64_t v, bool *deleted)
{
    bool found;
    uint32_t i = iset_search(is, v, &found);
    if (!found) {
        *deleted = false;
        return is;
    }
    memmove(&is->v[i], &is->v[i + 1], (size_t)(is->count - i - 1) * sizeof(int64_t));
    is->count--;
    *deleted = true;
    /* Give memory back when it is mostly unused. */
    if (is->cap > 8 && is->count < is->cap / 4)
        is = iset_alloc(is, is->cap / 2);
    return is;
}

/* ------------------------------------------------------------------------ */
/* Hashtable: a dict of intrusive members */

typedef struct ht {
    uint8_t enc; /* ENC_HASHTABLE */
    dict d;
} ht;

typedef struct smember {
    dict_node node;
    size_t len;
    char data[];
} smember;

static void smember_key(const dict_node *n, const char **k, size_t *len)
{
    const smember *e = (const smember *)n;
    *k = e->data;
    *len = e->len;
}

static const dict_type smember_type = {.key = smember_key};

static smember *smember_new(const char *m, size_t len)
{
    smember *e = malloc(sizeof(smember) + len);
    if (e == NULL)
        abort();
    e->node.next = NULL;
    e->len = len;
    if (len)
        memcpy(e->data, m, len);
    return e;
}

static ht *ht_new(uint64_t seed)
{
    ht *t = malloc(sizeof(ht));
    if (t == NULL)
        abort();
    memset(t, 0, sizeof(*t));
    t->enc = ENC_HASHTABLE;
    dict_init(&t->d, &smember_type, seed);
    return t;
}

static bool ht_add(ht *t, const char *m, size_t len)
{
    if (dict_find(&t->d, m, len) != NULL)
        return false;
    dict_add(&t->d, &smember_new(m, len)->node);
    return true;
}

static void free_member_cb(void *ctx, dict_node *n)
{
    (void)ctx;
    free(n);
}

static void ht_free(ht *t)
{
    dict_for_each(&t->d, free_member_cb, NULL);
    dict_free(&t->d);
    free(t);
}

/* ------------------------------------------------------------------------ */
/* The API */

kset *kset_new(void) { return (kset *)iset_new(); }

kset *kset_new_hashtable(uint64_t seed) { return (kset *)ht_new(seed); }

void kset_free(kset *s)
{
    if (s == NULL)
        return;
    if (enc_of(s) == ENC_INTSET)
        free(s);
    else
        ht_free((ht *)s);
}

static void dup_cb(void *ctx, const char *m, size_t len)
{
    ht *t = ctx;
    dict_add(&t->d, &smember_new(m, len)->node);
}

kset *kset_dup(const kset *s)
{
    if (enc_of(s) == ENC_INTSET) {
        const iset *is = (const iset *)s;
        iset *n = iset_alloc(NULL, is->count);
        n->enc = ENC_INTSET;
        memset(n->unused, 0, sizeof(n->unused));
        n->count = is->count;
        if (is->count)
            memcpy(n->v, is->v, (size_t)is->count * sizeof(int64_t));
        return (kset *)n;
    }
    const ht *t = (const ht *)s;
    ht *n = ht_new(t->d.seed);
    kset_for_each(s, dup_cb, n);
    return (kset *)n;
}

size_t kset_len(const kset *s)
{
    if (enc_of(s) == ENC_INTSET)
        return ((const iset *)s)->count;
    return (size_t)dict_size(&((const ht *)s)->d);
}

int kset_enc(const kset *s) { return enc_of(s); }

static bool as_int(const char *m, size_t len, int64_t *v)
{
    long long ll;
    if (!resp_string2ll(m, len, &ll))
        return false;
    *v = (int64_t)ll;
    return true;
}

bool kset_has(kset *s, const char *m, size_t len)
{
    if (enc_of(s) == ENC_INTSET) {
        int64_t v;
        bool found = false;
        if (as_int(m, len, &v))
            iset_search((const iset *)s, v, &found);
        return found;
    }
    return dict_find(&((ht *)s)->d, m, len) != NULL;
}

kset *kset_convert(kset *s, uint64_t seed)
{
    if (enc_of(s) != ENC_INTSET)
        return s;
    iset *is = (iset *)s;
    ht *t = ht_new(seed);
    char buf[KSET_TMP];
    for (uint32_t i = 0; i < is->count; i++) {
        size_t n = resp_ll2str(buf, is->v[i]);
        dict_add(&t->d, &smember_new(buf, n)->node);
    }
    free(is);
    return (kset *)t;
}

static long long intset_max(long long configured)
{
    if (configured < 0)
        return 0;
    return configured > KSET_INTSET_HARD_MAX ? KSET_INTSET_HARD_MAX : configured;
}

/* The shared body of kset_add and kset_load_add. */
static kset *add_generic(kset *s, const char *m, size_t len, long long max, uint64_t seed,
                         bool *added)
{
    bool a;
    if (enc_of(s) == ENC_INTSET) {
        int64_t v;
        if (as_int(m, len, &v)) {
            iset *is = iset_add((iset *)s, v, &a);
            s = (kset *)is;
            if (a && (long long)is->count > max)
                s = kset_convert(s, seed);
            if (added)
                *added = a;
            return s;
        }
        s = kset_convert(s, seed);
    }
    a = ht_add((ht *)s, m, len);
    if (added)
        *added = a;
    return s;
}

kset *kset_add(kset *s, const char *m, size_t len, const kset_limits *lim, bool *added)
{
    return add_generic(s, m, len, intset_max(lim->max_intset_entries), lim->seed, added);
}

kset *kset_load_add(kset *s, const char *m, size_t len, uint64_t seed, bool *added)
{
    return add_generic(s, m, len, KSET_INTSET_HARD_MAX, seed, added);
}

kset *kset_del(kset *s, const char *m, size_t len, bool *deleted)
{
    bool d = false;
    if (enc_of(s) == ENC_INTSET) {
        int64_t v;
        if (as_int(m, len, &v))
            s = (kset *)iset_del((iset *)s, v, &d);
    } else {
        dict_node *n = dict_unlink(&((ht *)s)->d, m, len);
        d = n != NULL;
        free(n);
    }
    if (deleted)
        *deleted = d;
    return s;
}

typedef struct each_ctx {
    kset_each_fn *fn;
    void *ctx;
} each_ctx;

static void each_cb(void *c, dict_node *n)
{
    each_ctx *x = c;
    const smember *e = (const smember *)n;
    x->fn(x->ctx, e->data, e->len);
}

void kset_for_each(const kset *s, kset_each_fn *fn, void *ctx)
{
    if (enc_of(s) == ENC_INTSET) {
        const iset *is = (const iset *)s;
        char buf[KSET_TMP];
        for (uint32_t i = 0; i < is->count; i++) {
            size_t n = resp_ll2str(buf, is->v[i]);
            fn(ctx, buf, n);
        }
        return;
    }
    each_ctx x = {fn, ctx};
    dict_for_each((dict *)&((const ht *)s)->d, each_cb, &x);
}

uint64_t kset_scan(kset *s, uint64_t cursor, kset_each_fn *fn, void *ctx)
{
    if (enc_of(s) == ENC_INTSET) {
        kset_for_each(s, fn, ctx);
        return 0;
    }
    each_ctx x = {fn, ctx};
    return dict_scan(&((ht *)s)->d, cursor, each_cb, &x);
}

/* As Redis's dictGetFairRandomKey: up to FAIR_SAMPLE entries from
 * consecutive buckets after a random one, then one of them uniformly;
 * dict_random if the walk met none. */
static smember *ht_fair_random(ht *t, kprng *r)
{
    dict *d = &t->d;
    smember *sample[FAIR_SAMPLE];
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
            if (tb == 0 && rehashing && i < (uint64_t)d->rehash_idx)
                continue;
            if (i >= d->size[tb])
                continue;
            for (dict_node *e = d->table[tb][i]; e && n < FAIR_SAMPLE; e = e->next)
                sample[n++] = (smember *)e;
        }
        i = (i + 1) & mask;
    }
    if (n == 0)
        return (smember *)dict_random(d, r);
    return sample[kprng_below(r, (uint64_t)n)];
}

void kset_random(kset *s, kprng *r, const char **m, size_t *len, char tmp[KSET_TMP])
{
    assert(kset_len(s) > 0);
    if (enc_of(s) == ENC_INTSET) {
        const iset *is = (const iset *)s;
        int64_t v = is->v[kprng_below(r, is->count)];
        *len = resp_ll2str(tmp, v);
        *m = tmp;
        return;
    }
    smember *e = ht_fair_random((ht *)s, r);
    *m = e->data;
    *len = e->len;
}

/* Candidates of one canonical bucket, in (hash, member) order. */
typedef struct canon {
    uint64_t h;
    smember *e;
} canon;

static int canon_cmp(const void *a, const void *b)
{
    const canon *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    size_t n = x->e->len < y->e->len ? x->e->len : y->e->len;
    int c = memcmp(x->e->data, y->e->data, n);
    return c ? c : (x->e->len < y->e->len ? -1 : x->e->len > y->e->len);
}

#define CANON_MAX 64

static int canon_scan(dict *d, dict_node *chain, uint64_t mask, uint64_t want, canon *out, int n)
{
    for (dict_node *p = chain; p && n < CANON_MAX; p = p->next) {
        smember *e = (smember *)p;
        uint64_t h = dict_hash(d, e->data, e->len);
        if ((h & mask) == want)
            out[n++] = (canon){h, e};
    }
    return n;
}

/* A random member that depends only on the members, the table's seed and
 * r, never on the table's size, its chains' order or how far a rehash got
 * (which reads and the history of writes shape): the canonical table has
 * next_pow2(size) buckets, one is drawn, and one of the members that hash
 * there in (hash, bytes) order. SPOP uses it, so that a node replaying a
 * log, or one that loaded a snapshot, pops what the writer popped. */
static smember *ht_canonical_random(ht *t, kprng *r)
{
    dict *d = &t->d;
    uint64_t c = 1;
    while (c < dict_size(d))
        c <<= 1;
    canon cand[CANON_MAX];
    for (;;) {
        uint64_t want = kprng_below(r, c);
        int n = 0;
        for (int tb = 0; tb <= (dict_is_rehashing(d) ? 1 : 0); tb++) {
            uint64_t size = d->size[tb];
            if (size == 0)
                continue;
            if (size >= c)
                for (uint64_t j = want; j < size; j += c)
                    n = canon_scan(d, d->table[tb][j], c - 1, want, cand, n);
            else
                n = canon_scan(d, d->table[tb][want & (size - 1)], c - 1, want, cand, n);
        }
        if (n > 0) {
            qsort(cand, (size_t)n, sizeof(*cand), canon_cmp);
            return cand[kprng_below(r, (uint64_t)n)].e;
        }
    }
}

void kset_random_canonical(kset *s, kprng *r, const char **m, size_t *len, char tmp[KSET_TMP])
{
    if (enc_of(s) == ENC_INTSET) {
        kset_random(s, r, m, len, tmp); /* sorted: already canonical */
        return;
    }
    smember *e = ht_canonical_random((ht *)s, r);
    *m = e->data;
    *len = e->len;
}

const int64_t *kset_ints(const kset *s, size_t *n)
{
    if (enc_of(s) != ENC_INTSET)
        return NULL;
    const iset *is = (const iset *)s;
    *n = is->count;
    return is->v;
}

bool kset_check(const kset *s)
{
    if (enc_of(s) == ENC_HASHTABLE)
        return dict_check(&((const ht *)s)->d);
    if (enc_of(s) != ENC_INTSET)
        return false;
    const iset *is = (const iset *)s;
    if (is->count > is->cap || (long long)is->count > KSET_INTSET_HARD_MAX)
        return false;
    for (uint32_t i = 1; i < is->count; i++)
        if (is->v[i - 1] >= is->v[i])
            return false;
    return true;
}

/* ------------------------------------------------------------------------ */
/* obj_ops, as the db calls them */

static void set_ops_free(void *o) { kset_free(o); }
static void *set_ops_dup(const void *o) { return kset_dup(o); }
static size_t set_ops_len(const void *o) { return kset_len(o); }

const obj_ops set_obj_ops = {.free = set_ops_free, .dup = set_ops_dup, .len = set_ops_len};

/* ------------------------------------------------------------------------ */
/* Snapshot codec: an array of the members, int64s for an intset (in
 * ascending order), bins for a hashtable (in table order). */

static void pack_member_cb(void *ctx, const char *m, size_t len)
{
    msgpack_packer *pk = ctx;
    msgpack_pack_bin(pk, len);
    msgpack_pack_bin_body(pk, m, len);
}

static void set_pack(msgpack_packer *pk, const kentry *e)
{
    const kset *s = kentry_obj(e);
    msgpack_pack_array(pk, kset_len(s));
    size_t n;
    const int64_t *v = kset_ints(s, &n);
    if (v != NULL) {
        for (size_t i = 0; i < n; i++)
            msgpack_pack_int64(pk, v[i]);
        return;
    }
    kset_for_each(s, pack_member_cb, pk);
}

static void *set_unpack(const msgpack_object *v, int enc, uint64_t seed, int *enc_out,
                        const char **err)
{
    if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size == 0) {
        *err = "a set value is not a non-empty array";
        return NULL;
    }
    if (enc != ENC_INTSET && enc != ENC_HASHTABLE) {
        *err = "a set has an unknown encoding";
        return NULL;
    }
    kset *s = enc == ENC_HASHTABLE ? kset_new_hashtable(seed) : kset_new();
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        const msgpack_object *o = &v->via.array.ptr[i];
        char buf[KSET_TMP];
        const char *m;
        size_t len;
        if (o->type == MSGPACK_OBJECT_BIN) {
            m = o->via.bin.ptr;
            len = o->via.bin.size;
        } else if (o->type == MSGPACK_OBJECT_STR) {
            m = o->via.str.ptr;
            len = o->via.str.size;
        } else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT64_MAX) {
            len = resp_ll2str(buf, (long long)o->via.u64);
            m = buf;
        } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            len = resp_ll2str(buf, (long long)o->via.i64);
            m = buf;
        } else {
            kset_free(s);
            *err = "a set member is neither binary nor an integer";
            return NULL;
        }
        bool added;
        s = kset_load_add(s, m, len, seed, &added);
        if (!added) {
            kset_free(s);
            *err = "a set has a member twice";
            return NULL;
        }
    }
    *enc_out = kset_enc(s);
    return s;
}

const type_codec set_codec = {.pack = set_pack, .unpack = set_unpack};
