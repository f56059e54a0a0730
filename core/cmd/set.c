/* The set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP
 * SRANDMEMBER SMOVE SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF
 * SDIFFSTORE SSCAN, with Redis 7.0's replies (RESP2) and error texts.
 *
 * The value is a kset (core/store/set.h): an intset while every member is
 * a canonical integer and there are at most set-max-intset-entries of
 * them, then a hashtable. A write that moves or converts the object stores
 * the new pointer in the key's entry, and every in-place change is
 * reported with db_signal_modified (WATCH). Random picks come from x->rng
 * only. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"
#include "core/store/set.h"
#include "core/util/glob.h"

/* Redis's SPOP_MOVE_STRATEGY_MUL and SRANDMEMBER_SUB_STRATEGY_MUL. */
#define SPOP_MOVE_MUL 5
#define SRANDMEMBER_SUB_MUL 3

/* ------------------------------------------------------------------------ */
/* Helpers */

static kset_limits limits_of(const cmd_ctx *x)
{
    kset_limits lim = {
        .max_intset_entries = x->eng->cfg.set_max_intset_entries,
        .seed = x->db->keys.seed,
    };
    return lim;
}

/* Makes s the value of key after a write: a new key (e NULL) is added (the
 * db reports it); an existing entry gets the (maybe moved or converted)
 * object and the change is reported. */
static void store_set(cmd_ctx *x, const resp_slice *key, kentry *e, kset *s)
{
    if (e == NULL) {
        db_set_obj(x->db, key->ptr, key->len, OBJ_SET, kset_enc(s), s, -1);
        return;
    }
    if (kentry_obj(e) != (void *)s || kentry_enc(e) != kset_enc(s))
        kentry_set_obj(e, s, kset_enc(s));
    db_signal_modified(x->db, key->ptr, key->len);
}

/* Redis's getRangeLongFromObjectOrReply: an integer in [min, max]; msg (if
 * not NULL) is the error for both a non-integer and a value out of range. */
static bool arg_range(cmd_ctx *x, const resp_slice *a, long long min, long long max,
                      long long *out, const char *msg)
{
    if (!arg_ll(x, a, out, msg))
        return false;
    if (*out < min || *out > max) {
        if (msg)
            reply_error(x, msg);
        else
            reply_errorf(x, "value is out of range, value must between %lld and %lld", min, max);
        return false;
    }
    return true;
}

/* Members copied out of a set (stable while the set changes). */
typedef struct mvec {
    char *buf;
    size_t blen, bcap;
    size_t *off, *len;
    size_t n, cap;
} mvec;

static void mvec_push(void *ctx, const char *m, size_t len)
{
    mvec *v = ctx;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->off = realloc(v->off, v->cap * sizeof(size_t));
        v->len = realloc(v->len, v->cap * sizeof(size_t));
        if (v->off == NULL || v->len == NULL)
            abort();
    }
    if (v->blen + len > v->bcap) {
        size_t nc = v->bcap ? v->bcap : 256;
        while (nc < v->blen + len)
            nc *= 2;
        v->buf = realloc(v->buf, nc);
        if (v->buf == NULL)
            abort();
        v->bcap = nc;
    }
    if (len)
        memcpy(v->buf + v->blen, m, len);
    v->off[v->n] = v->blen;
    v->len[v->n] = len;
    v->blen += len;
    v->n++;
}

static void mvec_free(mvec *v)
{
    free(v->buf);
    free(v->off);
    free(v->len);
}

static inline const char *mvec_at(const mvec *v, size_t i) { return v->buf + v->off[i]; }

static void reply_member_cb(void *ctx, const char *m, size_t len) { reply_bulk(ctx, m, len); }

/* The whole set as a set reply (an array in RESP2), in its iteration
 * order. */
static void reply_members(cmd_ctx *x, const kset *s)
{
    reply_set(x, (long long)kset_len(s));
    kset_for_each(s, reply_member_cb, x);
}

/* Looks up keys[0..n) for reading; sets[i] is NULL for a missing key.
 * Returns false (WRONGTYPE replied) if one holds another type. */
static bool lookup_sets(cmd_ctx *x, const resp_slice *keys, int n, kset **sets)
{
    for (int i = 0; i < n; i++) {
        bool wrong;
        kentry *e = lookup_read(x, &keys[i], OBJ_SET, &wrong);
        if (wrong)
            return false;
        sets[i] = e ? kentry_obj(e) : NULL;
    }
    return true;
}

static kset **sets_alloc(int n)
{
    kset **sets = malloc((size_t)(n > 0 ? n : 1) * sizeof(*sets));
    if (sets == NULL)
        abort();
    return sets;
}

/* Stores a computed result at dst (a non-empty set replaces any value and
 * TTL; an empty one deletes dst) and replies with its size. */
static void store_result(cmd_ctx *x, const resp_slice *dst, kset *res)
{
    if (kset_len(res) > 0) {
        long long n = (long long)kset_len(res);
        db_set_obj(x->db, dst->ptr, dst->len, OBJ_SET, kset_enc(res), res, -1);
        reply_int(x, n);
        cmd_dirty(x, 1);
        return;
    }
    kset_free(res);
    reply_int(x, 0);
    if (db_delete(x->db, dst->ptr, dst->len, x->now_ms))
        cmd_dirty(x, 1);
}

/* ------------------------------------------------------------------------ */
/* SADD SREM */

static void sadd_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_write(x, &x->argv[1], OBJ_SET, &wrong);
    if (wrong)
        return;
    kset *s = e ? kentry_obj(e) : kset_new();
    kset_limits lim = limits_of(x);
    long long added = 0;
    for (int i = 2; i < x->argc; i++) {
        bool a;
        s = kset_add(s, x->argv[i].ptr, x->argv[i].len, &lim, &a);
        added += a;
    }
    if (e == NULL || added)
        store_set(x, &x->argv[1], e, s);
    else if (kentry_obj(e) != (void *)s)
        kentry_set_obj(e, s, kset_enc(s));
    cmd_dirty(x, added);
    reply_int(x, added);
}

static void srem_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_write(x, &x->argv[1], OBJ_SET, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        reply_int(x, 0);
        return;
    }
    kset *s = kentry_obj(e);
    long long deleted = 0;
    bool removed = false;
    for (int i = 2; i < x->argc; i++) {
        bool d;
        s = kset_del(s, x->argv[i].ptr, x->argv[i].len, &d);
        if (!d)
            continue;
        deleted++;
        if (kset_len(s) == 0) {
            kentry_set_obj(e, s, kset_enc(s));
            db_delete_entry(x->db, e); /* reports the deletion */
            removed = true;
            break;
        }
    }
    if (deleted && !removed)
        store_set(x, &x->argv[1], e, s);
    else if (!removed && kentry_obj(e) != (void *)s)
        kentry_set_obj(e, s, kset_enc(s));
    cmd_dirty(x, deleted);
    reply_int(x, deleted);
}

/* ------------------------------------------------------------------------ */
/* SISMEMBER SMISMEMBER SCARD */

static void sismember_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_SET, &wrong);
    if (wrong)
        return;
    reply_int(x, e && kset_has(kentry_obj(e), x->argv[2].ptr, x->argv[2].len));
}

static void smismember_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_SET, &wrong);
    if (wrong)
        return;
    reply_array(x, x->argc - 2);
    for (int i = 2; i < x->argc; i++)
        reply_int(x, e && kset_has(kentry_obj(e), x->argv[i].ptr, x->argv[i].len));
}

static void scard_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_SET, &wrong);
    if (wrong)
        return;
    reply_int(x, e ? (long long)kset_len(kentry_obj(e)) : 0);
}

/* ------------------------------------------------------------------------ */
/* SMOVE */

static void smove_cmd(cmd_ctx *x)
{
    const resp_slice *src = &x->argv[1], *dst = &x->argv[2], *m = &x->argv[3];
    bool wrong;
    kentry *se = lookup_write(x, src, OBJ_SET, &wrong);
    if (wrong)
        return;
    if (se == NULL) {
        /* Redis looks the destination up too (expiring it if due) and
         * replies 0 whatever its type. */
        db_find_write(x->db, dst->ptr, dst->len, x->now_ms);
        reply_int(x, 0);
        return;
    }
    kentry *de = lookup_write(x, dst, OBJ_SET, &wrong);
    if (wrong)
        return;
    /* Same key: nothing moves. */
    if (src->len == dst->len && memcmp(src->ptr, dst->ptr, src->len) == 0) {
        reply_int(x, kset_has(kentry_obj(se), m->ptr, m->len));
        return;
    }
    (void)de;
    /* lookups may have expired keys: take the source again. */
    se = db_find(x->db, src->ptr, src->len, x->now_ms);
    bool d;
    kset *s = kset_del(kentry_obj(se), m->ptr, m->len, &d);
    if (!d) {
        reply_int(x, 0);
        return;
    }
    if (kset_len(s) == 0) {
        kentry_set_obj(se, s, kset_enc(s));
        db_delete_entry(x->db, se);
    } else {
        store_set(x, src, se, s);
    }
    cmd_dirty(x, 1);
    /* The source's write may have moved entries: the destination anew. */
    de = db_find(x->db, dst->ptr, dst->len, x->now_ms);
    kset_limits lim = limits_of(x);
    bool a;
    kset *t = kset_add(de ? kentry_obj(de) : kset_new(), m->ptr, m->len, &lim, &a);
    if (a) {
        store_set(x, dst, de, t);
        cmd_dirty(x, 1);
    } else if (de && kentry_obj(de) != (void *)t) {
        kentry_set_obj(de, t, kset_enc(t));
    }
    reply_int(x, 1);
}

/* ------------------------------------------------------------------------ */
/* SPOP */

static void spop_count(cmd_ctx *x)
{
    long long count;
    if (!arg_range(x, &x->argv[2], 0, LONG_MAX, &count, "value is out of range, must be positive"))
        return;
    bool wrong;
    kentry *e = lookup_write(x, &x->argv[1], OBJ_SET, &wrong);
    if (wrong)
        return;
    if (e == NULL || count == 0) {
        reply_set(x, 0);
        return;
    }
    kset *s = kentry_obj(e);
    unsigned long long size = kset_len(s), n = (unsigned long long)count;
    const resp_slice *key = &x->argv[1];
    /* CASE 1: all of it. */
    if (n >= size) {
        cmd_dirty(x, (long long)size);
        reply_members(x, s);
        db_delete_entry(x->db, e);
        return;
    }
    cmd_dirty(x, count);
    reply_set(x, count);
    unsigned long long remaining = size - n;
    char tmp[KSET_TMP];
    if (remaining * SPOP_MOVE_MUL > n) {
        /* CASE 2: a few of many: pop them one by one. */
        while (n--) {
            const char *m;
            size_t len;
            kset_random_canonical(s, x->rng, &m, &len, tmp);
            reply_bulk(x, m, len);
            s = kset_del(s, m, len, NULL);
        }
        store_set(x, key, e, s);
        return;
    }
    /* CASE 3: most of it: move the few that stay to a new set, reply with
     * what is left of the old one. */
    kset_limits lim = limits_of(x);
    kset *keep = kset_new();
    while (remaining--) {
        const char *m;
        size_t len;
        kset_random_canonical(s, x->rng, &m, &len, tmp);
        keep = kset_add(keep, m, len, &lim, NULL);
        s = kset_del(s, m, len, NULL);
    }
    kset_for_each(s, reply_member_cb, x);
    kset_free(s);
    kentry_set_obj(e, keep, kset_enc(keep));
    db_signal_modified(x->db, key->ptr, key->len);
}

static void spop_cmd(cmd_ctx *x)
{
    if (x->argc == 3) {
        spop_count(x);
        return;
    }
    if (x->argc > 3) {
        reply_error(x, ERR_SYNTAX);
        return;
    }
    bool wrong;
    kentry *e = lookup_write(x, &x->argv[1], OBJ_SET, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        reply_null(x);
        return;
    }
    kset *s = kentry_obj(e);
    char tmp[KSET_TMP];
    const char *m;
    size_t len;
    kset_random_canonical(s, x->rng, &m, &len, tmp);
    reply_bulk(x, m, len);
    s = kset_del(s, m, len, NULL);
    if (kset_len(s) == 0) {
        kentry_set_obj(e, s, kset_enc(s));
        db_delete_entry(x->db, e);
    } else {
        store_set(x, &x->argv[1], e, s);
    }
    cmd_dirty(x, 1);
}

/* ------------------------------------------------------------------------ */
/* SRANDMEMBER */

/* Distinct draws, remembered in a temporary dict. */
typedef struct pick {
    dict_node node;
    size_t idx; /* into the mvec */
    const mvec *v;
} pick;

static void pick_key(const dict_node *n, const char **k, size_t *len)
{
    const pick *p = (const pick *)n;
    *k = mvec_at(p->v, p->idx);
    *len = p->v->len[p->idx];
}

static const dict_type pick_type = {.key = pick_key};

static void srandmember_count(cmd_ctx *x)
{
    long long l;
    if (!arg_range(x, &x->argv[2], -LONG_MAX, LONG_MAX, &l, NULL))
        return;
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_SET, &wrong);
    if (wrong)
        return;
    bool uniq = l >= 0;
    unsigned long long count = uniq ? (unsigned long long)l : (unsigned long long)-l;
    if (e == NULL || count == 0) {
        reply_array(x, 0);
        return;
    }
    kset *s = kentry_obj(e);
    unsigned long long size = kset_len(s);
    char tmp[KSET_TMP];

    /* CASE 1: repeats allowed (or a single one): independent draws. Redis
     * streams these until the client's output limit; here a reply bigger
     * than proto-max-bulk-len is taken back and refused. */
    if (!uniq || count == 1) {
        size_t start = x->out->len;
        long long limit = x->eng->cfg.proto_max_bulk_len;
        reply_array(x, (long long)count);
        const int64_t *ints;
        size_t nints;
        ints = kset_ints(s, &nints);
        for (unsigned long long i = 0; i < count; i++) {
            if (ints) {
                reply_bulk_ll(x, ints[kprng_below(x->rng, nints)]);
            } else {
                const char *m;
                size_t len;
                kset_random(s, x->rng, &m, &len, tmp);
                reply_bulk(x, m, len);
            }
            if ((long long)(x->out->len - start) > limit) {
                x->out->len = start;
                reply_error(x, "value is out of range");
                return;
            }
        }
        return;
    }
    /* CASE 2: as many as there are, or more: the whole set (an array,
     * in RESP3 too, as Redis). */
    if (count >= size) {
        reply_array(x, (long long)kset_len(s));
        kset_for_each(s, reply_member_cb, x);
        return;
    }
    reply_array(x, (long long)count);
    mvec v = {0};
    if (count * SRANDMEMBER_SUB_MUL > size || kset_enc(s) == ENC_INTSET) {
        /* CASE 3: most of the set (or a small intset): the first count of
         * a partial Fisher-Yates shuffle of all of it. */
        kset_for_each(s, mvec_push, &v);
        for (size_t i = 0; i < count; i++) {
            size_t j = i + (size_t)kprng_below(x->rng, v.n - i);
            size_t to = v.off[i], tl = v.len[i];
            v.off[i] = v.off[j], v.len[i] = v.len[j];
            v.off[j] = to, v.len[j] = tl;
            reply_bulk(x, mvec_at(&v, i), v.len[i]);
        }
        mvec_free(&v);
        return;
    }
    /* CASE 4: a few of a big hashtable: random draws until count distinct
     * ones (count * 3 <= size, so most draws are new). */
    pick *picks = malloc((size_t)count * sizeof(*picks));
    if (picks == NULL)
        abort();
    dict seen;
    dict_init(&seen, &pick_type, x->db->keys.seed);
    size_t got = 0;
    while (got < count) {
        const char *m;
        size_t len;
        kset_random(s, x->rng, &m, &len, tmp);
        if (dict_find(&seen, m, len))
            continue;
        /* m points into the set, which does not change: keep a view. */
        mvec_push(&v, m, len);
        picks[got] = (pick){.idx = v.n - 1, .v = &v};
        dict_add(&seen, &picks[got].node);
        got++;
    }
    for (size_t i = 0; i < got; i++)
        reply_bulk(x, mvec_at(&v, i), v.len[i]);
    dict_free(&seen);
    free(picks);
    mvec_free(&v);
}

static void srandmember_cmd(cmd_ctx *x)
{
    if (x->argc == 3) {
        srandmember_count(x);
        return;
    }
    if (x->argc > 3) {
        reply_error(x, ERR_SYNTAX);
        return;
    }
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_SET, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        reply_null(x);
        return;
    }
    char tmp[KSET_TMP];
    const char *m;
    size_t len;
    kset_random(kentry_obj(e), x->rng, &m, &len, tmp);
    reply_bulk(x, m, len);
}

/* ------------------------------------------------------------------------ */
/* SINTER SMEMBERS SINTERCARD SINTERSTORE */

enum { INTER_REPLY, INTER_CARD, INTER_STORE };

typedef struct inter_ctx {
    cmd_ctx *x;
    kset **sets;
    int n;
    int mode;
    unsigned long long limit, card;
    kset *res;
    kset_limits lim;
} inter_ctx;

static void inter_cb(void *ctx, const char *m, size_t len)
{
    inter_ctx *c = ctx;
    if (c->mode == INTER_CARD && c->limit && c->card >= c->limit)
        return;
    for (int j = 1; j < c->n; j++) {
        if (c->sets[j] == c->sets[0])
            continue;
        if (!kset_has(c->sets[j], m, len))
            return;
    }
    c->card++;
    if (c->mode == INTER_REPLY)
        reply_bulk(c->x, m, len);
    else if (c->mode == INTER_STORE)
        c->res = kset_add(c->res, m, len, &c->lim, NULL);
}

/* Orders sets by ascending size (stable: equal sizes keep key order). */
static void sort_by_size(kset **sets, int n, bool ascending)
{
    for (int i = 1; i < n; i++) {
        kset *t = sets[i];
        size_t tl = t ? kset_len(t) : 0;
        int j = i - 1;
        while (j >= 0) {
            size_t jl = sets[j] ? kset_len(sets[j]) : 0;
            if (ascending ? jl <= tl : jl >= tl)
                break;
            sets[j + 1] = sets[j];
            j--;
        }
        sets[j + 1] = t;
    }
}

static void sinter_generic(cmd_ctx *x, const resp_slice *keys, int n, const resp_slice *dst,
                           int mode, unsigned long long limit)
{
    kset **sets = sets_alloc(n);
    if (!lookup_sets(x, keys, n, sets)) {
        free(sets);
        return;
    }
    bool empty = false;
    for (int i = 0; i < n; i++)
        if (sets[i] == NULL)
            empty = true;
    if (empty) {
        free(sets);
        if (mode == INTER_STORE) {
            if (db_delete(x->db, dst->ptr, dst->len, x->now_ms))
                cmd_dirty(x, 1);
            reply_int(x, 0);
        } else if (mode == INTER_CARD) {
            reply_int(x, 0);
        } else {
            reply_set(x, 0);
        }
        return;
    }
    sort_by_size(sets, n, true);
    inter_ctx c = {.x = x, .sets = sets, .n = n, .mode = mode, .limit = limit};
    size_t mark = 0;
    if (mode == INTER_STORE) {
        c.res = kset_new();
        c.lim = limits_of(x);
    } else if (mode == INTER_REPLY) {
        mark = reply_array_deferred(x);
    }
    kset_for_each(sets[0], inter_cb, &c);
    free(sets);
    if (mode == INTER_CARD)
        reply_int(x, (long long)c.card);
    else if (mode == INTER_STORE)
        store_result(x, dst, c.res);
    else
        reply_set_set_deferred(x, mark, (long long)c.card);
}

static void sinter_cmd(cmd_ctx *x) { sinter_generic(x, x->argv + 1, x->argc - 1, NULL, INTER_REPLY, 0); }

static void sinterstore_cmd(cmd_ctx *x)
{
    sinter_generic(x, x->argv + 2, x->argc - 2, &x->argv[1], INTER_STORE, 0);
}

static void sintercard_cmd(cmd_ctx *x)
{
    long long numkeys, limit = 0;
    if (!arg_range(x, &x->argv[1], 1, LONG_MAX, &numkeys, "numkeys should be greater than 0"))
        return;
    if (numkeys > x->argc - 2) {
        reply_error(x, "Number of keys can't be greater than number of args");
        return;
    }
    for (int j = 2 + (int)numkeys; j < x->argc; j++) {
        int more = x->argc - 1 - j;
        if (arg_is(&x->argv[j], "limit") && more) {
            j++;
            if (!arg_range(x, &x->argv[j], 0, LONG_MAX, &limit, "LIMIT can't be negative"))
                return;
        } else {
            reply_error(x, ERR_SYNTAX);
            return;
        }
    }
    sinter_generic(x, x->argv + 2, (int)numkeys, NULL, INTER_CARD, (unsigned long long)limit);
}

static int sintercard_getkeys(int argc, const resp_slice *argv, int *keys)
{
    return cmd_numkeys_getkeys(argc, argv, 1, 2, 0, keys);
}

/* ------------------------------------------------------------------------ */
/* SUNION SUNIONSTORE SDIFF SDIFFSTORE */

typedef struct build_ctx {
    kset *res;
    kset_limits lim;
    kset **sets;
    int n;
} build_ctx;

static void union_cb(void *ctx, const char *m, size_t len)
{
    build_ctx *b = ctx;
    b->res = kset_add(b->res, m, len, &b->lim, NULL);
}

static void remove_cb(void *ctx, const char *m, size_t len)
{
    build_ctx *b = ctx;
    if (kset_len(b->res))
        b->res = kset_del(b->res, m, len, NULL);
}

/* DIFF algorithm 1: each member of the first set not in any other. */
static void diff1_cb(void *ctx, const char *m, size_t len)
{
    build_ctx *b = ctx;
    for (int j = 1; j < b->n; j++) {
        if (b->sets[j] == NULL)
            continue;
        if (b->sets[j] == b->sets[0] || kset_has(b->sets[j], m, len))
            return;
    }
    b->res = kset_add(b->res, m, len, &b->lim, NULL);
}

static void sunion_diff_generic(cmd_ctx *x, const resp_slice *keys, int n, const resp_slice *dst,
                                bool diff)
{
    kset **sets = sets_alloc(n);
    if (!lookup_sets(x, keys, n, sets)) {
        free(sets);
        return;
    }
    bool sameset = false;
    for (int j = 1; j < n; j++)
        if (sets[j] && sets[j] == sets[0])
            sameset = true;
    build_ctx b = {.res = kset_new(), .lim = limits_of(x), .sets = sets, .n = n};
    if (!diff) {
        for (int j = 0; j < n; j++)
            if (sets[j])
                kset_for_each(sets[j], union_cb, &b);
    } else if (sets[0] && !sameset) {
        /* Redis's choice between its two algorithms (same result; the
         * cheaper walk). */
        long long one = 0, two = 0;
        for (int j = 0; j < n; j++) {
            if (sets[j] == NULL)
                continue;
            one += (long long)kset_len(sets[0]);
            two += (long long)kset_len(sets[j]);
        }
        one /= 2;
        if (one <= two) {
            if (n > 1)
                sort_by_size(sets + 1, n - 1, false);
            kset_for_each(sets[0], diff1_cb, &b);
        } else {
            kset_for_each(sets[0], union_cb, &b);
            for (int j = 1; j < n && kset_len(b.res); j++)
                if (sets[j])
                    kset_for_each(sets[j], remove_cb, &b);
        }
    }
    free(sets);
    if (dst == NULL) {
        reply_members(x, b.res);
        kset_free(b.res);
    } else {
        store_result(x, dst, b.res);
    }
}

static void sunion_cmd(cmd_ctx *x) { sunion_diff_generic(x, x->argv + 1, x->argc - 1, NULL, false); }
static void sdiff_cmd(cmd_ctx *x) { sunion_diff_generic(x, x->argv + 1, x->argc - 1, NULL, true); }

static void sunionstore_cmd(cmd_ctx *x)
{
    sunion_diff_generic(x, x->argv + 2, x->argc - 2, &x->argv[1], false);
}

static void sdiffstore_cmd(cmd_ctx *x)
{
    sunion_diff_generic(x, x->argv + 2, x->argc - 2, &x->argv[1], true);
}

/* ------------------------------------------------------------------------ */
/* SSCAN */

static void sscan_cmd(cmd_ctx *x)
{
    uint64_t cursor;
    long long count;
    const resp_slice *pat;
    kentry *e = scan_key_begin(x, OBJ_SET, &cursor, &count, &pat);
    if (e == NULL)
        return;
    kset *s = kentry_obj(e);
    mvec v = {0};
    if (kset_enc(s) == ENC_HASHTABLE) {
        /* At most ten dict steps per element asked for, as Redis's
         * scanGenericCommand. */
        long long maxiter = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
        do {
            cursor = kset_scan(s, cursor, mvec_push, &v);
        } while (cursor && maxiter-- && (long long)v.n < count);
    } else {
        cursor = kset_scan(s, cursor, mvec_push, &v);
    }
    reply_array(x, 2);
    reply_bulk_ll(x, (long long)cursor);
    size_t mark = reply_array_deferred(x);
    long long n = 0;
    for (size_t i = 0; i < v.n; i++) {
        if (pat && !glob_match(pat->ptr, pat->len, mvec_at(&v, i), v.len[i], false))
            continue;
        reply_bulk(x, mvec_at(&v, i), v.len[i]);
        n++;
    }
    reply_set_array_deferred(x, mark, n);
    mvec_free(&v);
}

/* ------------------------------------------------------------------------ */
/* The table */

#define SKEY .first_key = 1, .last_key = 1, .key_step = 1, .group = "set"
#define SKEYS .first_key = 1, .last_key = -1, .key_step = 1, .group = "set"
#define SSTORE .first_key = 1, .last_key = -1, .key_step = 1, .group = "set"
#define INTER_COMPLEXITY                                                                           \
    "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of "   \
    "sets."

const cmd_def cmd_set[] = {
    {.name = "sadd", .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, SKEY,
     .fn = sadd_cmd, .since = "1.0.0", .summary = "Add one or more members to a set",
     .complexity = "O(1) for each element added, so O(N) to add N elements when the command is "
                   "called with multiple arguments.",
     .acl = "@write @set @fast", .args = "key member [member ...]"},
    {.name = "srem", .arity = -3, .flags = CMD_WRITE | CMD_FAST, SKEY, .fn = srem_cmd,
     .since = "1.0.0", .summary = "Remove one or more members from a set",
     .complexity = "O(N) where N is the number of members to be removed.",
     .acl = "@write @set @fast", .args = "key member [member ...]"},
    {.name = "smembers", .arity = 2, .flags = CMD_READONLY, SKEY, .fn = sinter_cmd,
     .since = "1.0.0", .summary = "Get all the members in a set",
     .complexity = "O(N) where N is the set cardinality.", .acl = "@read @set @slow",
     .args = "key", .tips = "nondeterministic_output_order"},
    {.name = "sismember", .arity = 3, .flags = CMD_READONLY | CMD_FAST, SKEY,
     .fn = sismember_cmd, .since = "1.0.0",
     .summary = "Determine if a given value is a member of a set", .complexity = "O(1)",
     .acl = "@read @set @fast", .args = "key member"},
    {.name = "smismember", .arity = -3, .flags = CMD_READONLY | CMD_FAST, SKEY,
     .fn = smismember_cmd, .since = "6.2.0",
     .summary = "Returns the membership associated with the given elements for a set",
     .complexity = "O(N) where N is the number of elements being checked for membership",
     .acl = "@read @set @fast", .args = "key member [member ...]"},
    {.name = "scard", .arity = 2, .flags = CMD_READONLY | CMD_FAST, SKEY, .fn = scard_cmd,
     .since = "1.0.0", .summary = "Get the number of members in a set", .complexity = "O(1)",
     .acl = "@read @set @fast", .args = "key"},
    {.name = "spop", .arity = -2, .flags = CMD_WRITE | CMD_FAST, SKEY, .fn = spop_cmd,
     .since = "1.0.0", .summary = "Remove and return one or multiple random members from a set",
     .complexity = "Without the count argument O(1), otherwise O(N) where N is the value of the "
                   "passed count.",
     .acl = "@write @set @fast", .args = "key [count]", .tips = "nondeterministic_output"},
    {.name = "srandmember", .arity = -2, .flags = CMD_READONLY, SKEY, .fn = srandmember_cmd,
     .since = "1.0.0", .summary = "Get one or multiple random members from a set",
     .complexity = "Without the count argument O(1), otherwise O(N) where N is the absolute "
                   "value of the passed count.",
     .acl = "@read @set @slow", .args = "key [count]", .tips = "nondeterministic_output"},
    {.name = "smove", .arity = 4, .flags = CMD_WRITE | CMD_FAST, .first_key = 1, .last_key = 2,
     .key_step = 1, .group = "set", .fn = smove_cmd, .since = "1.0.0",
     .summary = "Move a member from one set to another", .complexity = "O(1)",
     .acl = "@write @set @fast", .args = "source destination member"},
    {.name = "sinter", .arity = -2, .flags = CMD_READONLY, SKEYS, .fn = sinter_cmd,
     .since = "1.0.0", .summary = "Intersect multiple sets", .complexity = INTER_COMPLEXITY,
     .acl = "@read @set @slow", .args = "key [key ...]",
     .tips = "nondeterministic_output_order"},
    {.name = "sintercard", .arity = -3, .flags = CMD_READONLY | CMD_MOVABLE_KEYS,
     .first_key = 0, .last_key = 0, .key_step = 0, .group = "set", .fn = sintercard_cmd,
     .since = "7.0.0",
     .summary = "Intersect multiple sets and return the cardinality of the result",
     .complexity = INTER_COMPLEXITY, .acl = "@read @set @slow",
     .args = "numkeys key [key ...] [LIMIT limit]", .getkeys = sintercard_getkeys},
    {.name = "sinterstore", .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM, SSTORE,
     .fn = sinterstore_cmd, .since = "1.0.0",
     .summary = "Intersect multiple sets and store the resulting set in a key",
     .complexity = INTER_COMPLEXITY, .acl = "@write @set @slow",
     .args = "destination key [key ...]"},
    {.name = "sunion", .arity = -2, .flags = CMD_READONLY, SKEYS, .fn = sunion_cmd,
     .since = "1.0.0", .summary = "Add multiple sets",
     .complexity = "O(N) where N is the total number of elements in all given sets.",
     .acl = "@read @set @slow", .args = "key [key ...]",
     .tips = "nondeterministic_output_order"},
    {.name = "sunionstore", .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM, SSTORE,
     .fn = sunionstore_cmd, .since = "1.0.0",
     .summary = "Add multiple sets and store the resulting set in a key",
     .complexity = "O(N) where N is the total number of elements in all given sets.",
     .acl = "@write @set @slow", .args = "destination key [key ...]"},
    {.name = "sdiff", .arity = -2, .flags = CMD_READONLY, SKEYS, .fn = sdiff_cmd,
     .since = "1.0.0", .summary = "Subtract multiple sets",
     .complexity = "O(N) where N is the total number of elements in all given sets.",
     .acl = "@read @set @slow", .args = "key [key ...]",
     .tips = "nondeterministic_output_order"},
    {.name = "sdiffstore", .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM, SSTORE,
     .fn = sdiffstore_cmd, .since = "1.0.0",
     .summary = "Subtract multiple sets and store the resulting set in a key",
     .complexity = "O(N) where N is the total number of elements in all given sets.",
     .acl = "@write @set @slow", .args = "destination key [key ...]"},
    {.name = "sscan", .arity = -3, .flags = CMD_READONLY, SKEY, .fn = sscan_cmd,
     .since = "2.8.0", .summary = "Incrementally iterate Set elements",
     .complexity = "O(1) for every call. O(N) for a complete iteration, including enough "
                   "command calls for the cursor to return back to 0. N is the number of "
                   "elements inside the collection..",
     .acl = "@read @set @slow", .args = "key cursor [MATCH pattern] [COUNT count]",
     .tips = "nondeterministic_output"},
    {0},
};
