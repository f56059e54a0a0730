/* db: the keyspace. See db.h. */
#include "core/store/db.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/resp/parser.h" /* resp_string2ll */
#include "core/resp/writer.h" /* resp_ll2str */
#include "core/store/types.h"

const obj_ops *const obj_ops_by_type[5] = {
    [OBJ_STRING] = NULL,
    [OBJ_LIST] = &list_obj_ops,
    [OBJ_SET] = &set_obj_ops,
    [OBJ_ZSET] = &zset_obj_ops,
    [OBJ_HASH] = &hash_obj_ops,
};

/* ------------------------------------------------------------------------ */
/* Names */

const char *obj_type_name(int type)
{
    switch (type) {
    case OBJ_STRING: return "string";
    case OBJ_LIST: return "list";
    case OBJ_SET: return "set";
    case OBJ_ZSET: return "zset";
    case OBJ_HASH: return "hash";
    default: return "unknown";
    }
}

const char *obj_enc_name(int enc)
{
    switch (enc) {
    case ENC_RAW: return "raw";
    case ENC_INT: return "int";
    case ENC_HASHTABLE: return "hashtable";
    case ENC_INTSET: return "intset";
    case ENC_SKIPLIST: return "skiplist";
    case ENC_EMBSTR: return "embstr";
    case ENC_QUICKLIST: return "quicklist";
    case ENC_LISTPACK: return "listpack";
    default: return "unknown";
    }
}

/* ------------------------------------------------------------------------ */
/* kstr */

kstr *kstr_new(const char *p, size_t len)
{
    kstr *s = malloc(sizeof(kstr) + len);
    if (s == NULL)
        abort();
    s->len = len;
    s->cap = len;
    if (len)
        memcpy(s->data, p, len);
    return s;
}

kstr *kstr_reserve(kstr *s, size_t len)
{
    if (len <= s->cap)
        return s;
    /* Grow geometrically below 1 MiB, then by 1 MiB, as sds does. */
    size_t cap = len < 1024 * 1024 ? len * 2 : len + 1024 * 1024;
    kstr *n = realloc(s, sizeof(kstr) + cap);
    if (n == NULL)
        abort();
    n->cap = cap;
    return n;
}

/* ------------------------------------------------------------------------ */
/* Entries
 *
 *   [0, 24)          header
 *   [24, 40)         ttl block (dict_node in the expires dict, deadline), if KE_TTL
 *   next 8 bytes     value word (long long, kstr *, or object *), unless EMBSTR
 *   klen bytes       the key
 *   emblen bytes     the value, if EMBSTR
 *
 * The ttl block sits at a fixed offset so the expires dict can find the
 * entry from its node. */

#define KE_TTL 0x01

struct kentry {
    dict_node node;
    uint32_t klen;
    uint32_t lru;
    uint8_t type;
    uint8_t enc;
    uint8_t flags;
    uint8_t unused;
    uint32_t emblen;
};
_Static_assert(sizeof(struct kentry) == 24, "kentry header is 24 bytes");

typedef struct kttl {
    dict_node node;
    int64_t deadline_ms;
} kttl;
_Static_assert(sizeof(kttl) == 16, "ttl block is 16 bytes");

#define TTL_OFF sizeof(struct kentry)

static inline kttl *ttl_of(const kentry *e)
{
    return (kttl *)((char *)e + TTL_OFF);
}

static inline size_t word_off(const kentry *e)
{
    return TTL_OFF + ((e->flags & KE_TTL) ? sizeof(kttl) : 0);
}

static inline size_t key_off(const kentry *e)
{
    return word_off(e) + (e->enc == ENC_EMBSTR ? 0 : sizeof(void *));
}

static inline void *word_of(const kentry *e)
{
    return (char *)e + word_off(e);
}

const char *kentry_key(const kentry *e) { return (const char *)e + key_off(e); }
size_t kentry_klen(const kentry *e) { return e->klen; }
int kentry_type(const kentry *e) { return e->type; }
int kentry_enc(const kentry *e) { return e->enc; }

int64_t kentry_deadline(const kentry *e)
{
    return (e->flags & KE_TTL) ? ttl_of(e)->deadline_ms : -1;
}

uint32_t kentry_idle(const db *d, const kentry *e)
{
    return d->lru_clock >= e->lru ? d->lru_clock - e->lru : 0;
}

size_t kentry_str(const kentry *e, const char **p, char tmp[KSTR_TMP])
{
    assert(e->type == OBJ_STRING);
    switch (e->enc) {
    case ENC_EMBSTR:
        *p = kentry_key(e) + e->klen;
        return e->emblen;
    case ENC_INT: {
        long long v;
        memcpy(&v, word_of(e), sizeof(v));
        *p = tmp;
        return resp_ll2str(tmp, v);
    }
    default: {
        kstr *s;
        memcpy(&s, word_of(e), sizeof(s));
        *p = s->data;
        return s->len;
    }
    }
}

long long kentry_int(const kentry *e)
{
    assert(e->type == OBJ_STRING && e->enc == ENC_INT);
    long long v;
    memcpy(&v, word_of(e), sizeof(v));
    return v;
}

void *kentry_obj(const kentry *e)
{
    assert(e->enc != ENC_EMBSTR && e->enc != ENC_INT);
    void *o;
    memcpy(&o, word_of(e), sizeof(o));
    return o;
}

void kentry_set_obj(kentry *e, void *obj, int enc)
{
    assert(e->enc != ENC_EMBSTR && e->enc != ENC_INT && enc != ENC_EMBSTR && enc != ENC_INT);
    memcpy(word_of(e), &obj, sizeof(obj));
    e->enc = (uint8_t)enc;
}

/* Allocates an entry; the value word (if any) is left for the caller. */
static kentry *entry_alloc(const char *key, size_t klen, int type, int enc, bool ttl,
                           const char *emb, size_t emblen, uint32_t lru)
{
    assert(klen <= UINT32_MAX);
    size_t size = TTL_OFF + (ttl ? sizeof(kttl) : 0) + (enc == ENC_EMBSTR ? 0 : sizeof(void *)) +
                  klen + (enc == ENC_EMBSTR ? emblen : 0);
    kentry *e = malloc(size);
    if (e == NULL)
        abort();
    e->node.next = NULL;
    e->klen = (uint32_t)klen;
    e->lru = lru;
    e->type = (uint8_t)type;
    e->enc = (uint8_t)enc;
    e->flags = ttl ? KE_TTL : 0;
    e->unused = 0;
    e->emblen = enc == ENC_EMBSTR ? (uint32_t)emblen : 0;
    if (ttl) {
        ttl_of(e)->node.next = NULL;
        ttl_of(e)->deadline_ms = -1;
    }
    if (klen)
        memcpy((char *)e + key_off(e), key, klen);
    if (enc == ENC_EMBSTR && emblen)
        memcpy((char *)e + key_off(e) + klen, emb, emblen);
    return e;
}

/* Frees the entry's value (not the entry). */
static void value_free(kentry *e)
{
    if (e->type == OBJ_STRING) {
        if (e->enc == ENC_RAW) {
            kstr *s;
            memcpy(&s, word_of(e), sizeof(s));
            free(s);
        }
        return;
    }
    const obj_ops *ops = obj_ops_by_type[e->type];
    assert(ops != NULL);
    ops->free(kentry_obj(e));
}

/* ------------------------------------------------------------------------ */
/* The db */

static void keys_key(const dict_node *n, const char **k, size_t *len)
{
    const kentry *e = (const kentry *)n;
    *k = kentry_key(e);
    *len = e->klen;
}

static void expires_key(const dict_node *n, const char **k, size_t *len)
{
    const kentry *e = (const kentry *)((const char *)n - TTL_OFF);
    *k = kentry_key(e);
    *len = e->klen;
}

static const dict_type keys_type = {.key = keys_key};
static const dict_type expires_type = {.key = expires_key};

void db_init(db *d, uint64_t seed)
{
    memset(d, 0, sizeof(*d));
    dict_init(&d->keys, &keys_type, seed);
    /* A different seed for the second table keeps its order independent. */
    dict_init(&d->expires, &expires_type, seed ^ 0x5bd1e9955bd1e995ULL);
}

static void free_entry_cb(void *ctx, dict_node *n)
{
    (void)ctx;
    kentry *e = (kentry *)n;
    value_free(e);
    free(e);
}

void db_free(db *d)
{
    dict_for_each(&d->keys, free_entry_cb, NULL);
    dict_free(&d->keys);
    dict_free(&d->expires);
}

void db_set_clock(db *d, int64_t now_ms)
{
    d->lru_clock = (uint32_t)((uint64_t)now_ms / 1000);
}

static inline void modified(db *d, const char *key, size_t len, int how)
{
    if (d->on_modified)
        d->on_modified(d->hook_ctx, d->id, key, len, how);
}

void db_signal_modified(db *d, const char *key, size_t len)
{
    modified(d, key, len, DB_MOD_CHANGED);
}

bool db_is_expired(const kentry *e, int64_t now_ms)
{
    /* Strictly past, as Redis's keyIsExpired (now > when): at the deadline
     * itself the key still exists, with a TTL of 0. */
    return (e->flags & KE_TTL) && ttl_of(e)->deadline_ms < now_ms;
}

/* Unlinks e from both dicts and frees it. */
static void remove_entry(db *d, kentry *e)
{
    const char *k = kentry_key(e);
    if (e->flags & KE_TTL) {
        dict_node *t = dict_unlink(&d->expires, k, e->klen);
        assert(t == &ttl_of(e)->node);
        (void)t;
    }
    dict_node *n = dict_unlink(&d->keys, k, e->klen);
    assert(n == &e->node);
    (void)n;
    value_free(e);
    free(e);
}

static void expire_entry(db *d, kentry *e)
{
    if (d->keep_expired && *d->keep_expired)
        return;
    d->stats.expired++;
    modified(d, kentry_key(e), e->klen, DB_MOD_EXPIRED);
    remove_entry(d, e);
}

kentry *db_find(db *d, const char *key, size_t len, int64_t now_ms)
{
    kentry *e = (kentry *)dict_find(&d->keys, key, len);
    if (e && db_is_expired(e, now_ms)) {
        expire_entry(d, e);
        return NULL;
    }
    return e;
}

kentry *db_find_read(db *d, const char *key, size_t len, int64_t now_ms)
{
    kentry *e = db_find(d, key, len, now_ms);
    if (e) {
        d->stats.hits++;
        e->lru = d->lru_clock;
    } else {
        d->stats.misses++;
    }
    return e;
}

kentry *db_find_write(db *d, const char *key, size_t len, int64_t now_ms)
{
    kentry *e = db_find(d, key, len, now_ms);
    if (e)
        e->lru = d->lru_clock;
    return e;
}

/* Puts a new entry in place of the key's old one (if any) and links its
 * TTL. The old entry and its value are freed. */
static kentry *install(db *d, kentry *e, int64_t deadline_ms)
{
    const char *k = kentry_key(e);
    kentry *old = (kentry *)dict_find(&d->keys, k, e->klen);
    if (old)
        remove_entry(d, old);
    dict_add(&d->keys, &e->node);
    if (e->flags & KE_TTL) {
        ttl_of(e)->deadline_ms = deadline_ms;
        dict_add(&d->expires, &ttl_of(e)->node);
    }
    modified(d, k, e->klen, DB_MOD_CHANGED);
    return e;
}

/* Would Redis store this string as an integer? string2ll accepts exactly
 * the canonical forms, and Redis also requires at most 20 characters. */
static bool str_is_int(const char *v, size_t vlen, long long *out)
{
    return vlen <= 20 && resp_string2ll(v, vlen, out);
}

kentry *db_set_str(db *d, const char *key, size_t klen, const char *v, size_t vlen,
                   int64_t deadline_ms)
{
    long long ll;
    if (str_is_int(v, vlen, &ll))
        return db_set_int(d, key, klen, ll, deadline_ms);
    if (vlen > STR_EMBSTR_MAX)
        return db_set_str_raw(d, key, klen, v, vlen, deadline_ms);
    kentry *e = entry_alloc(key, klen, OBJ_STRING, ENC_EMBSTR, deadline_ms >= 0, v, vlen,
                            d->lru_clock);
    return install(d, e, deadline_ms);
}

kentry *db_set_str_noint(db *d, const char *key, size_t klen, const char *v, size_t vlen,
                         int64_t deadline_ms)
{
    if (vlen > STR_EMBSTR_MAX)
        return db_set_str_raw(d, key, klen, v, vlen, deadline_ms);
    kentry *e = entry_alloc(key, klen, OBJ_STRING, ENC_EMBSTR, deadline_ms >= 0, v, vlen,
                            d->lru_clock);
    return install(d, e, deadline_ms);
}

kentry *db_set_str_raw(db *d, const char *key, size_t klen, const char *v, size_t vlen,
                       int64_t deadline_ms)
{
    kentry *e = entry_alloc(key, klen, OBJ_STRING, ENC_RAW, deadline_ms >= 0, NULL, 0,
                            d->lru_clock);
    kstr *s = kstr_new(v, vlen);
    memcpy(word_of(e), &s, sizeof(s));
    return install(d, e, deadline_ms);
}

kentry *db_set_int(db *d, const char *key, size_t klen, long long v, int64_t deadline_ms)
{
    kentry *e = entry_alloc(key, klen, OBJ_STRING, ENC_INT, deadline_ms >= 0, NULL, 0,
                            d->lru_clock);
    memcpy(word_of(e), &v, sizeof(v));
    return install(d, e, deadline_ms);
}

kentry *db_set_obj(db *d, const char *key, size_t klen, int type, int enc, void *obj,
                   int64_t deadline_ms)
{
    assert(type != OBJ_STRING && obj_ops_by_type[type] != NULL);
    kentry *e = entry_alloc(key, klen, type, enc, deadline_ms >= 0, NULL, 0, d->lru_clock);
    memcpy(word_of(e), &obj, sizeof(obj));
    return install(d, e, deadline_ms);
}

kstr *db_str_mutable(db *d, kentry **ep, size_t min_len)
{
    kentry *e = *ep;
    assert(e->type == OBJ_STRING);
    if (e->enc != ENC_RAW) {
        char tmp[KSTR_TMP];
        const char *p;
        size_t len = kentry_str(e, &p, tmp);
        kstr *s = kstr_new(p, len);
        kentry *n = entry_alloc(kentry_key(e), e->klen, OBJ_STRING, ENC_RAW,
                                (e->flags & KE_TTL) != 0, NULL, 0, e->lru);
        memcpy(word_of(n), &s, sizeof(s));
        /* Swap n in for e in both dicts, without reporting a change. */
        dict_replace_node(&d->keys, &e->node, &n->node);
        if (e->flags & KE_TTL) {
            ttl_of(n)->deadline_ms = ttl_of(e)->deadline_ms;
            dict_replace_node(&d->expires, &ttl_of(e)->node, &ttl_of(n)->node);
        }
        free(e);
        *ep = e = n;
    }
    kstr *s;
    memcpy(&s, word_of(e), sizeof(s));
    if (s->cap < min_len) {
        s = kstr_reserve(s, min_len);
        memcpy(word_of(e), &s, sizeof(s));
    }
    return s;
}

bool db_delete(db *d, const char *key, size_t len, int64_t now_ms)
{
    kentry *e = db_find(d, key, len, now_ms);
    if (e == NULL)
        return false;
    db_delete_entry(d, e);
    return true;
}

void db_delete_entry(db *d, kentry *e)
{
    modified(d, kentry_key(e), e->klen, DB_MOD_DELETED);
    remove_entry(d, e);
}

void db_set_deadline(db *d, kentry **ep, int64_t deadline_ms)
{
    kentry *e = *ep;
    bool want = deadline_ms >= 0;
    bool has = (e->flags & KE_TTL) != 0;
    if (want && has) {
        ttl_of(e)->deadline_ms = deadline_ms;
    } else if (want != has) {
        /* Rebuild the entry with or without the ttl block. */
        size_t head_old = word_off(e);
        size_t tail = key_off(e) - word_off(e) + e->klen + e->emblen; /* word, key, emb */
        size_t head_new = TTL_OFF + (want ? sizeof(kttl) : 0);
        kentry *n = malloc(head_new + tail);
        if (n == NULL)
            abort();
        memcpy(n, e, TTL_OFF);
        memcpy((char *)n + head_new, (char *)e + head_old, tail);
        n->flags = (uint8_t)(want ? (n->flags | KE_TTL) : (n->flags & ~KE_TTL));
        if (has)
            dict_unlink(&d->expires, kentry_key(e), e->klen);
        dict_replace_node(&d->keys, &e->node, &n->node);
        free(e);
        e = n;
        if (want) {
            ttl_of(e)->deadline_ms = deadline_ms;
            dict_add(&d->expires, &ttl_of(e)->node);
        }
        *ep = e;
    }
    modified(d, kentry_key(e), e->klen, DB_MOD_CHANGED);
}

kentry *db_rename(db *d, kentry *src, const char *dst, size_t dlen)
{
    return db_move(d, src, d, dst, dlen);
}

kentry *db_move(db *d, kentry *src, db *to, const char *dst, size_t dlen)
{
    int64_t deadline = kentry_deadline(src);
    kentry *n = entry_alloc(dst, dlen, src->type, src->enc, deadline >= 0,
                            src->enc == ENC_EMBSTR ? kentry_key(src) + src->klen : NULL,
                            src->emblen, src->lru);
    if (src->enc != ENC_EMBSTR)
        memcpy(word_of(n), word_of(src), sizeof(void *));
    /* The value now belongs to n: unlink src without freeing the value. */
    modified(d, kentry_key(src), src->klen, DB_MOD_DELETED);
    if (src->flags & KE_TTL)
        dict_unlink(&d->expires, kentry_key(src), src->klen);
    dict_unlink(&d->keys, kentry_key(src), src->klen);
    free(src);
    return install(to, n, deadline);
}

kentry *db_copy(db *d, const kentry *src, const char *dst, size_t dlen)
{
    int64_t deadline = kentry_deadline(src);
    kentry *n = entry_alloc(dst, dlen, src->type, src->enc, deadline >= 0,
                            src->enc == ENC_EMBSTR ? kentry_key(src) + src->klen : NULL,
                            src->emblen, src->lru);
    if (src->type == OBJ_STRING) {
        if (src->enc == ENC_INT) {
            memcpy(word_of(n), word_of(src), sizeof(long long));
        } else if (src->enc == ENC_RAW) {
            kstr *s;
            memcpy(&s, word_of(src), sizeof(s));
            kstr *c = kstr_new(s->data, s->len);
            memcpy(word_of(n), &c, sizeof(c));
        }
    } else {
        void *o = obj_ops_by_type[src->type]->dup(kentry_obj(src));
        memcpy(word_of(n), &o, sizeof(o));
    }
    return install(d, n, deadline);
}

static void flush_cb(void *ctx, dict_node *n)
{
    db *d = ctx;
    kentry *e = (kentry *)n;
    modified(d, kentry_key(e), e->klen, DB_MOD_DELETED);
    value_free(e);
    free(e);
}

void db_flush(db *d)
{
    dict_for_each(&d->keys, flush_cb, d);
    uint64_t seed = d->keys.seed;
    dict_free(&d->keys);
    dict_free(&d->expires);
    dict_init(&d->keys, &keys_type, seed);
    dict_init(&d->expires, &expires_type, seed ^ 0x5bd1e9955bd1e995ULL);
}

void db_swap(db *a, db *b)
{
    dict k = a->keys, x = a->expires;
    a->keys = b->keys;
    a->expires = b->expires;
    b->keys = k;
    b->expires = x;
}

/* ------------------------------------------------------------------------ */
/* Iteration */

kentry *db_random(db *d, kprng *r, int64_t now_ms)
{
    /* As Redis's dbRandomKey: an expired key drawn is deleted and we draw
     * again. After a bounded number of expired draws, walk the table for a
     * live key instead, so the work stays bounded when most keys are due. */
    for (int tries = 0; tries < 100; tries++) {
        kentry *e = (kentry *)dict_random(&d->keys, r);
        if (e == NULL)
            return NULL;
        if (!db_is_expired(e, now_ms))
            return e;
        expire_entry(d, e);
    }
    /* Mostly expired keys: fall back to a scan for a live one. */
    kentry *found = NULL;
    for (int t = 0; t <= 1 && !found; t++)
        for (uint64_t b = 0; b < d->keys.size[t] && !found; b++)
            for (dict_node *n = d->keys.table[t][b]; n && !found; n = n->next)
                if (!db_is_expired((kentry *)n, now_ms))
                    found = (kentry *)n;
    return found;
}

typedef struct scan_ctx {
    db_scan_fn *fn;
    void *ctx;
    int64_t now_ms;
    kentry **expired;
    size_t nexpired, cap;
} scan_ctx;

static void scan_cb(void *c, dict_node *n)
{
    scan_ctx *s = c;
    kentry *e = (kentry *)n;
    if (db_is_expired(e, s->now_ms)) {
        if (s->nexpired == s->cap) {
            s->cap = s->cap ? s->cap * 2 : 8;
            s->expired = realloc(s->expired, s->cap * sizeof(*s->expired));
            if (s->expired == NULL)
                abort();
        }
        s->expired[s->nexpired++] = e;
        return;
    }
    s->fn(s->ctx, e);
}

uint64_t db_scan(db *d, uint64_t cursor, db_scan_fn *fn, void *ctx, int64_t now_ms)
{
    scan_ctx s = {.fn = fn, .ctx = ctx, .now_ms = now_ms};
    cursor = dict_scan(&d->keys, cursor, scan_cb, &s);
    for (size_t i = 0; i < s.nexpired; i++)
        expire_entry(d, s.expired[i]);
    free(s.expired);
    return cursor;
}

typedef struct each_ctx {
    db_scan_fn *fn;
    void *ctx;
} each_ctx;

static void each_cb(void *c, dict_node *n)
{
    each_ctx *x = c;
    x->fn(x->ctx, (kentry *)n);
}

void db_for_each(db *d, db_scan_fn *fn, void *ctx)
{
    each_ctx x = {fn, ctx};
    dict_for_each(&d->keys, each_cb, &x);
}

kentry *db_sample(db *d, kprng *r, bool with_ttl)
{
    if (!with_ttl)
        return (kentry *)dict_random(&d->keys, r);
    dict_node *t = dict_random(&d->expires, r);
    return t ? (kentry *)((char *)t - TTL_OFF) : NULL;
}

#define EXPIRE_SAMPLE 20
#define EXPIRE_STALE_PERCENT 10

uint64_t db_active_expire(db *d, kprng *r, int64_t now_ms, int max_loops)
{
    uint64_t deleted = 0;
    for (int loop = 0; loop < max_loops; loop++) {
        uint64_t n = dict_size(&d->expires);
        if (n == 0)
            break;
        int sample = n < EXPIRE_SAMPLE ? (int)n : EXPIRE_SAMPLE;
        int expired = 0;
        for (int i = 0; i < sample; i++) {
            dict_node *t = dict_random(&d->expires, r);
            d->stats.expire_cycle_samples++;
            kentry *e = (kentry *)((char *)t - TTL_OFF);
            if (db_is_expired(e, now_ms)) {
                expire_entry(d, e);
                expired++;
                deleted++;
            }
        }
        if (expired * 100 <= sample * EXPIRE_STALE_PERCENT)
            break;
    }
    return deleted;
}

void db_rehash_step(db *d, int buckets)
{
    dict_rehash(&d->keys, buckets);
    dict_rehash(&d->expires, buckets);
}

typedef struct check_ctx {
    uint64_t with_ttl;
    bool ok;
} check_ctx;

static void check_key_cb(void *c, dict_node *n)
{
    check_ctx *x = c;
    const kentry *e = (const kentry *)n;
    if (e->flags & KE_TTL)
        x->with_ttl++;
    if (e->type > OBJ_HASH)
        x->ok = false;
    if (e->type == OBJ_STRING && e->enc != ENC_RAW && e->enc != ENC_INT && e->enc != ENC_EMBSTR)
        x->ok = false;
    if (e->type != OBJ_STRING && (e->enc == ENC_INT || e->enc == ENC_EMBSTR))
        x->ok = false;
}

static void check_ttl_cb(void *c, dict_node *n)
{
    check_ctx *x = c;
    const kentry *e = (const kentry *)((const char *)n - TTL_OFF);
    if (!(e->flags & KE_TTL))
        x->ok = false;
}

bool db_check(const db *d)
{
    if (!dict_check(&d->keys) || !dict_check(&d->expires))
        return false;
    check_ctx x = {0, true};
    /* dict_for_each only pauses rehashing for its duration: the tables are
     * left as they were. */
    dict_for_each((dict *)&d->keys, check_key_cb, &x);
    dict_for_each((dict *)&d->expires, check_ttl_cb, &x);
    return x.ok && x.with_ttl == dict_size(&d->expires);
}
