/* The hash commands: HSET HSETNX HGET HMSET HMGET HDEL HLEN HSTRLEN HEXISTS
 * HKEYS HVALS HGETALL HINCRBY HINCRBYFLOAT HSCAN HRANDFIELD, with Redis
 * 7.0's replies (RESP2) and error texts.
 *
 * The value is a khash (core/store/hash.h): a listpack until it has more
 * than hash-max-listpack-entries fields or a field or value longer than
 * hash-max-listpack-value bytes, then a hashtable. A write that moves or
 * converts the object stores the new pointer in the key's entry, and every
 * in-place change is reported with db_signal_modified (WATCH). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"
#include "core/store/hash.h"
#include "core/util/glob.h"

#define ERR_HASH_NOT_INT "hash value is not an integer"
#define ERR_HASH_NOT_FLOAT "hash value is not a float"

/* ------------------------------------------------------------------------ */
/* Helpers */

static khash_limits limits_of(const cmd_ctx *x)
{
    khash_limits lim = {
        .max_entries = x->eng->cfg.hash_max_listpack_entries,
        .max_value = x->eng->cfg.hash_max_listpack_value,
        .seed = x->db->keys.seed,
    };
    return lim;
}

/* Makes h the value of argv[1] after a write: a new key (e NULL) is added
 * (the db reports it); an existing entry gets the (maybe moved or
 * converted) object and the change is reported. */
static void store_hash(cmd_ctx *x, kentry *e, khash *h)
{
    const resp_slice *key = &x->argv[1];
    if (e == NULL) {
        db_set_obj(x->db, key->ptr, key->len, OBJ_HASH, khash_enc(h), h, -1);
        return;
    }
    if (kentry_obj(e) != (void *)h || kentry_enc(e) != khash_enc(h))
        kentry_set_obj(e, h, khash_enc(h));
    db_signal_modified(x->db, key->ptr, key->len);
}

/* Redis's string2ld: a long double from at most 5119 bytes, all of them
 * consumed by strtold, no leading space, no overflow, not NaN. */
#define LD_MAX_CHARS 5120
static bool str2ld(const char *s, size_t len, long double *out)
{
    char buf[LD_MAX_CHARS];
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || *end != '\0' || (size_t)(end - buf) != len ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        errno == EINVAL || isnan(v))
        return false;
    *out = v;
    return true;
}

/* A pair seen during an iteration. */
typedef struct pair {
    const char *f, *v;
    size_t flen, vlen;
} pair;

typedef struct pairs {
    pair *p;
    size_t n, cap;
} pairs;

static void pairs_push(void *ctx, const char *f, size_t flen, const char *v, size_t vlen)
{
    pairs *ps = ctx;
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 16;
        ps->p = realloc(ps->p, ps->cap * sizeof(*ps->p));
        if (ps->p == NULL)
            abort();
    }
    ps->p[ps->n++] = (pair){.f = f, .v = v, .flen = flen, .vlen = vlen};
}

/* Every pair of h, in its iteration order (views valid until a write). */
static pairs all_pairs(const khash *h)
{
    pairs ps = {0};
    ps.cap = khash_len(h);
    if (ps.cap) {
        ps.p = malloc(ps.cap * sizeof(*ps.p));
        if (ps.p == NULL)
            abort();
    }
    khash_for_each(h, pairs_push, &ps);
    return ps;
}

/* ------------------------------------------------------------------------ */
/* HSET HMSET HSETNX */

static void hset_generic(cmd_ctx *x, bool is_hmset)
{
    if (x->argc % 2 == 1) {
        reply_errorf(x, "wrong number of arguments for '%s' command", x->cmd->fullname);
        return;
    }
    bool wrong;
    kentry *e = lookup_write(x, &x->argv[1], OBJ_HASH, &wrong);
    if (wrong)
        return;
    khash *h = e ? kentry_obj(e) : khash_new();
    khash_limits lim = limits_of(x);
    long long created = 0;
    for (int i = 2; i < x->argc; i += 2) {
        bool c;
        h = khash_set(h, x->argv[i].ptr, x->argv[i].len, x->argv[i + 1].ptr,
                      x->argv[i + 1].len, &lim, &c);
        created += c;
    }
    store_hash(x, e, h);
    if (is_hmset)
        reply_ok(x);
    else
        reply_int(x, created);
    cmd_dirty(x, (x->argc - 2) / 2);
}

static void hset_cmd(cmd_ctx *x) { hset_generic(x, false); }
static void hmset_cmd(cmd_ctx *x) { hset_generic(x, true); }

static void hsetnx_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_write(x, &x->argv[1], OBJ_HASH, &wrong);
    if (wrong)
        return;
    const resp_slice *f = &x->argv[2], *v = &x->argv[3];
    const char *old;
    size_t oldlen;
    if (e && khash_get(kentry_obj(e), f->ptr, f->len, &old, &oldlen)) {
        reply_int(x, 0);
        return;
    }
    khash_limits lim = limits_of(x);
    khash *h = khash_set(e ? kentry_obj(e) : khash_new(), f->ptr, f->len, v->ptr, v->len, &lim,
                         NULL);
    store_hash(x, e, h);
    reply_int(x, 1);
    cmd_dirty(x, 1);
}

/* ------------------------------------------------------------------------ */
/* HGET HMGET HSTRLEN HEXISTS HLEN */

/* The field's value as a bulk reply, or a null one. */
static void reply_field(cmd_ctx *x, kentry *e, const resp_slice *f)
{
    const char *v;
    size_t vlen;
    if (e && khash_get(kentry_obj(e), f->ptr, f->len, &v, &vlen))
        reply_bulk(x, v, vlen);
    else
        reply_null(x);
}

static void hget_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_HASH, &wrong);
    if (wrong)
        return;
    reply_field(x, e, &x->argv[2]);
}

static void hmget_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_HASH, &wrong);
    if (wrong)
        return;
    reply_array(x, x->argc - 2);
    for (int i = 2; i < x->argc; i++)
        reply_field(x, e, &x->argv[i]);
}

static void hstrlen_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_HASH, &wrong);
    if (wrong)
        return;
    const char *v;
    size_t vlen;
    if (e && khash_get(kentry_obj(e), x->argv[2].ptr, x->argv[2].len, &v, &vlen))
        reply_int(x, (long long)vlen);
    else
        reply_int(x, 0);
}

static void hexists_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_HASH, &wrong);
    if (wrong)
        return;
    const char *v;
    size_t vlen;
    reply_int(x, e && khash_get(kentry_obj(e), x->argv[2].ptr, x->argv[2].len, &v, &vlen));
}

static void hlen_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_HASH, &wrong);
    if (wrong)
        return;
    reply_int(x, e ? (long long)khash_len(kentry_obj(e)) : 0);
}

/* ------------------------------------------------------------------------ */
/* HDEL */

static void hdel_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_write(x, &x->argv[1], OBJ_HASH, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        reply_int(x, 0);
        return;
    }
    khash *h = kentry_obj(e);
    long long deleted = 0;
    bool removed = false;
    for (int i = 2; i < x->argc; i++) {
        bool d;
        h = khash_del(h, x->argv[i].ptr, x->argv[i].len, &d);
        if (!d)
            continue;
        deleted++;
        if (khash_len(h) == 0) {
            kentry_set_obj(e, h, khash_enc(h));
            db_delete_entry(x->db, e); /* reports the deletion */
            removed = true;
            break;
        }
    }
    if (deleted && !removed)
        store_hash(x, e, h);
    cmd_dirty(x, deleted);
    reply_int(x, deleted);
}

/* ------------------------------------------------------------------------ */
/* HKEYS HVALS HGETALL */

enum { WANT_FIELDS = 1, WANT_VALUES = 2 };

typedef struct getall_ctx {
    cmd_ctx *x;
    int want;
} getall_ctx;

static void getall_cb(void *ctx, const char *f, size_t flen, const char *v, size_t vlen)
{
    getall_ctx *g = ctx;
    if (g->want & WANT_FIELDS)
        reply_bulk(g->x, f, flen);
    if (g->want & WANT_VALUES)
        reply_bulk(g->x, v, vlen);
}

static void getall_generic(cmd_ctx *x, int want)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_HASH, &wrong);
    if (wrong)
        return;
    /* HGETALL is a map (RESP2: a flat array), HKEYS and HVALS arrays. */
    bool map = want == (WANT_FIELDS | WANT_VALUES);
    if (e == NULL) {
        if (map)
            reply_map(x, 0);
        else
            reply_array(x, 0);
        return;
    }
    khash *h = kentry_obj(e);
    long long n = (long long)khash_len(h);
    if (map)
        reply_map(x, n);
    else
        reply_array(x, n);
    getall_ctx g = {x, want};
    khash_for_each(h, getall_cb, &g);
}

static void hkeys_cmd(cmd_ctx *x) { getall_generic(x, WANT_FIELDS); }
static void hvals_cmd(cmd_ctx *x) { getall_generic(x, WANT_VALUES); }
static void hgetall_cmd(cmd_ctx *x) { getall_generic(x, WANT_FIELDS | WANT_VALUES); }

/* ------------------------------------------------------------------------ */
/* HINCRBY HINCRBYFLOAT */

static void hincrby_cmd(cmd_ctx *x)
{
    long long incr, value = 0;
    if (!arg_ll(x, &x->argv[3], &incr, NULL))
        return;
    bool wrong;
    kentry *e = lookup_write(x, &x->argv[1], OBJ_HASH, &wrong);
    if (wrong)
        return;
    const resp_slice *f = &x->argv[2];
    const char *v;
    size_t vlen;
    if (e && khash_get(kentry_obj(e), f->ptr, f->len, &v, &vlen) &&
        !resp_string2ll(v, vlen, &value)) {
        reply_error(x, ERR_HASH_NOT_INT);
        return;
    }
    if ((incr < 0 && value < 0 && incr < LLONG_MIN - value) ||
        (incr > 0 && value > 0 && incr > LLONG_MAX - value)) {
        reply_error(x, ERR_OVERFLOW);
        return;
    }
    value += incr;
    char buf[24];
    size_t n = resp_ll2str(buf, value);
    khash_limits lim = limits_of(x);
    khash *h = khash_set(e ? kentry_obj(e) : khash_new(), f->ptr, f->len, buf, n, &lim, NULL);
    store_hash(x, e, h);
    reply_int(x, value);
    cmd_dirty(x, 1);
}

static void hincrbyfloat_cmd(cmd_ctx *x)
{
    long double incr, value = 0;
    const resp_slice *a = &x->argv[3];
    if (!str2ld(a->ptr, a->len, &incr)) {
        reply_error(x, ERR_NOT_FLOAT);
        return;
    }
    if (isnan(incr) || isinf(incr)) {
        reply_error(x, "value is NaN or Infinity");
        return;
    }
    bool wrong;
    kentry *e = lookup_write(x, &x->argv[1], OBJ_HASH, &wrong);
    if (wrong)
        return;
    const resp_slice *f = &x->argv[2];
    const char *v;
    size_t vlen;
    if (e && khash_get(kentry_obj(e), f->ptr, f->len, &v, &vlen) && !str2ld(v, vlen, &value)) {
        reply_error(x, ERR_HASH_NOT_FLOAT);
        return;
    }
    value += incr;
    if (isnan(value) || isinf(value)) {
        reply_error(x, "increment would produce NaN or Infinity");
        return;
    }
    char buf[FMT_LD_MAX];
    size_t n = fmt_long_double(buf, sizeof(buf), value);
    khash_limits lim = limits_of(x);
    khash *h = khash_set(e ? kentry_obj(e) : khash_new(), f->ptr, f->len, buf, n, &lim, NULL);
    store_hash(x, e, h);
    reply_bulk(x, buf, n);
    cmd_dirty(x, 1);
}

/* ------------------------------------------------------------------------ */
/* HSCAN */

static void hscan_cmd(cmd_ctx *x)
{
    uint64_t cursor;
    long long count;
    const resp_slice *pat;
    kentry *e = scan_key_begin(x, OBJ_HASH, &cursor, &count, &pat);
    if (e == NULL)
        return;

    khash *h = kentry_obj(e);
    pairs ps = {0};
    if (khash_enc(h) == ENC_HASHTABLE) {
        /* Fields and values both count, and at most ten dict steps per
         * element asked for, as Redis's scanGenericCommand. */
        count = sat_mul(count, 2);
        long long maxiter = sat_mul(count, 10);
        do {
            cursor = khash_scan(h, cursor, pairs_push, &ps);
        } while (cursor && maxiter-- && (long long)(ps.n * 2) < count);
    } else {
        cursor = khash_scan(h, cursor, pairs_push, &ps);
    }

    reply_array(x, 2);
    reply_bulk_ll(x, (long long)cursor);
    size_t mark = reply_array_deferred(x);
    long long n = 0;
    for (size_t i = 0; i < ps.n; i++) {
        const pair *p = &ps.p[i];
        if (pat && !glob_match(pat->ptr, pat->len, p->f, p->flen, false))
            continue;
        reply_bulk(x, p->f, p->flen);
        reply_bulk(x, p->v, p->vlen);
        n += 2;
    }
    reply_set_array_deferred(x, mark, n);
    free(ps.p);
}

/* ------------------------------------------------------------------------ */
/* HRANDFIELD */

/* Bytes of reply a negative count may produce before HRANDFIELD gives up
 * with an error (Redis streams until the client's output limit). */
static long long randfield_reply_max(const cmd_ctx *x) { return x->eng->cfg.proto_max_bulk_len; }

/* The array header of n HRANDFIELD results: WITHVALUES gives a flat array
 * of 2n in RESP2 and n [field, value] arrays in RESP3 (reply_pair). */
static void reply_pairs_header(cmd_ctx *x, unsigned long long n, bool withvalues)
{
    bool flat = withvalues && reply_proto(x) < 3;
    reply_array(x, (long long)(flat ? n * 2 : n));
}

static void reply_pair(cmd_ctx *x, const char *f, size_t flen, const char *v, size_t vlen,
                       bool withvalues)
{
    if (withvalues && reply_proto(x) >= 3)
        reply_array(x, 2);
    reply_bulk(x, f, flen);
    if (withvalues)
        reply_bulk(x, v, vlen);
}

/* Count < 0 (repeats allowed) or 1: count independent draws. */
static void randfield_repeats(cmd_ctx *x, khash *h, unsigned long long count, bool withvalues)
{
    size_t start = x->out->len;
    long long limit = randfield_reply_max(x);
    reply_pairs_header(x, count, withvalues);
    pairs ps = {0};
    if (khash_enc(h) == ENC_LISTPACK)
        ps = all_pairs(h); /* O(1) draws instead of a walk each */
    for (unsigned long long i = 0; i < count; i++) {
        const char *f, *v;
        size_t flen, vlen;
        if (ps.n) {
            const pair *p = &ps.p[kprng_below(x->rng, ps.n)];
            f = p->f, flen = p->flen, v = p->v, vlen = p->vlen;
        } else {
            khash_random(h, x->rng, &f, &flen, &v, &vlen);
        }
        reply_pair(x, f, flen, v, vlen, withvalues);
        if ((long long)(x->out->len - start) > limit) {
            /* Too big to build: take the partial reply back. */
            x->out->len = start;
            reply_error(x, "value is out of range");
            break;
        }
    }
    free(ps.p);
}

/* A random subset of count < size distinct pairs: the first count of a
 * partial Fisher-Yates shuffle of all of them. */
static void randfield_shuffle(cmd_ctx *x, khash *h, unsigned long long count, bool withvalues)
{
    pairs ps = all_pairs(h);
    for (size_t i = 0; i < count; i++) {
        size_t j = i + (size_t)kprng_below(x->rng, ps.n - i);
        pair t = ps.p[i];
        ps.p[i] = ps.p[j];
        ps.p[j] = t;
        reply_pair(x, ps.p[i].f, ps.p[i].flen, ps.p[i].v, ps.p[i].vlen, withvalues);
    }
    free(ps.p);
}

/* Distinct draws, remembered by field in a temporary dict. */
typedef struct pick {
    dict_node node;
    pair p;
} pick;

static void pick_key(const dict_node *n, const char **k, size_t *len)
{
    const pick *p = (const pick *)n;
    *k = p->p.f;
    *len = p->p.flen;
}

static const dict_type pick_type = {.key = pick_key};

typedef struct fill_ctx {
    dict *seen;
    pick *picks;
    size_t n, want;
} fill_ctx;

static void fill_cb(void *ctx, const char *f, size_t flen, const char *v, size_t vlen)
{
    fill_ctx *c = ctx;
    if (c->n == c->want || dict_find(c->seen, f, flen))
        return;
    c->picks[c->n].p = (pair){.f = f, .v = v, .flen = flen, .vlen = vlen};
    dict_add(c->seen, &c->picks[c->n].node);
    c->n++;
}

/* count distinct pairs out of a big hashtable (count * 3 <= size): random
 * draws until enough distinct ones, as Redis's CASE 4. */
static void randfield_draws(cmd_ctx *x, khash *h, unsigned long long count, bool withvalues)
{
    pick *picks = malloc((size_t)count * sizeof(*picks));
    if (picks == NULL)
        abort();
    dict seen;
    dict_init(&seen, &pick_type, x->db->keys.seed);
    fill_ctx c = {&seen, picks, 0, (size_t)count};
    /* Three quarters of the draws at least are new ones; the bound only
     * guards against a pathological table, which is then filled in order. */
    unsigned long long tries = count * 16 + 1024;
    while (c.n < c.want && tries--) {
        const char *f, *v;
        size_t flen, vlen;
        khash_random(h, x->rng, &f, &flen, &v, &vlen);
        fill_cb(&c, f, flen, v, vlen);
    }
    if (c.n < c.want)
        khash_for_each(h, fill_cb, &c);
    for (size_t i = 0; i < c.n; i++)
        reply_pair(x, picks[i].p.f, picks[i].p.flen, picks[i].p.v, picks[i].p.vlen, withvalues);
    dict_free(&seen);
    free(picks);
}

static void randfield_getall_cb(void *ctx, const char *f, size_t flen, const char *v,
                                size_t vlen)
{
    getall_ctx *g = ctx;
    reply_pair(g->x, f, flen, v, vlen, g->want & WANT_VALUES);
}

static void randfield_count(cmd_ctx *x, long long l, bool withvalues)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_HASH, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        reply_array(x, 0);
        return;
    }
    khash *h = kentry_obj(e);
    unsigned long long size = khash_len(h);
    bool uniq = l >= 0;
    unsigned long long count = uniq ? (unsigned long long)l : (unsigned long long)-l;
    if (count == 0) {
        reply_array(x, 0);
        return;
    }
    /* CASE 1: repeats allowed (and count 1): independent draws. */
    if (!uniq || count == 1) {
        randfield_repeats(x, h, count, withvalues);
        return;
    }
    unsigned long long n = count < size ? count : size;
    reply_pairs_header(x, n, withvalues);
    /* CASE 2: as many as there are or more: the whole hash. */
    if (count >= size) {
        getall_ctx g = {x, withvalues ? WANT_VALUES : 0};
        khash_for_each(h, randfield_getall_cb, &g);
        return;
    }
    /* CASE 3: most of the hash (or a small listpack): shuffle. CASE 4: a
     * few of a big hashtable: distinct random draws. */
    if (count * 3 > size || khash_enc(h) == ENC_LISTPACK)
        randfield_shuffle(x, h, count, withvalues);
    else
        randfield_draws(x, h, count, withvalues);
}

static void hrandfield_cmd(cmd_ctx *x)
{
    if (x->argc >= 3) {
        long long l;
        if (!arg_ll(x, &x->argv[2], &l, NULL))
            return;
        if (l < -LONG_MAX) {
            reply_errorf(x, "value is out of range, value must between %ld and %ld", -LONG_MAX,
                         LONG_MAX);
            return;
        }
        bool withvalues = false;
        if (x->argc > 4 || (x->argc == 4 && !arg_is(&x->argv[3], "withvalues"))) {
            reply_error(x, ERR_SYNTAX);
            return;
        } else if (x->argc == 4) {
            withvalues = true;
            if (l < -LONG_MAX / 2 || l > LONG_MAX / 2) {
                reply_error(x, "value is out of range");
                return;
            }
        }
        randfield_count(x, l, withvalues);
        return;
    }
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_HASH, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        reply_null(x);
        return;
    }
    const char *f, *v;
    size_t flen, vlen;
    khash_random(kentry_obj(e), x->rng, &f, &flen, &v, &vlen);
    reply_bulk(x, f, flen);
}

/* ------------------------------------------------------------------------ */
/* The table */

#define HKEY .first_key = 1, .last_key = 1, .key_step = 1, .group = "hash"

const cmd_def cmd_hash[] = {
    {.name = "hset", .arity = -4, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, HKEY,
     .fn = hset_cmd, .since = "2.0.0", .summary = "Set the string value of a hash field",
     .complexity = "O(1) for each field/value pair added, so O(N) to add N field/value pairs "
                   "when the command is called with multiple field/value pairs.",
     .acl = "@write @hash @fast", .args = "key field value [field value ...]"},
    {.name = "hsetnx", .arity = 4, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, HKEY,
     .fn = hsetnx_cmd, .since = "2.0.0",
     .summary = "Set the value of a hash field, only if the field does not exist",
     .complexity = "O(1)", .acl = "@write @hash @fast", .args = "key field value"},
    {.name = "hget", .arity = 3, .flags = CMD_READONLY | CMD_FAST, HKEY, .fn = hget_cmd,
     .since = "2.0.0", .summary = "Get the value of a hash field", .complexity = "O(1)",
     .acl = "@read @hash @fast", .args = "key field"},
    {.name = "hmset", .arity = -4, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, HKEY,
     .fn = hmset_cmd, .since = "2.0.0", .summary = "Set multiple hash fields to multiple values",
     .complexity = "O(N) where N is the number of fields being set.",
     .acl = "@write @hash @fast", .args = "key field value [field value ...]"},
    {.name = "hmget", .arity = -3, .flags = CMD_READONLY | CMD_FAST, HKEY, .fn = hmget_cmd,
     .since = "2.0.0", .summary = "Get the values of all the given hash fields",
     .complexity = "O(N) where N is the number of fields being requested.",
     .acl = "@read @hash @fast", .args = "key field [field ...]"},
    {.name = "hdel", .arity = -3, .flags = CMD_WRITE | CMD_FAST, HKEY, .fn = hdel_cmd,
     .since = "2.0.0", .summary = "Delete one or more hash fields",
     .complexity = "O(N) where N is the number of fields to be removed.",
     .acl = "@write @hash @fast", .args = "key field [field ...]"},
    {.name = "hlen", .arity = 2, .flags = CMD_READONLY | CMD_FAST, HKEY, .fn = hlen_cmd,
     .since = "2.0.0", .summary = "Get the number of fields in a hash", .complexity = "O(1)",
     .acl = "@read @hash @fast", .args = "key"},
    {.name = "hstrlen", .arity = 3, .flags = CMD_READONLY | CMD_FAST, HKEY, .fn = hstrlen_cmd,
     .since = "3.2.0", .summary = "Get the length of the value of a hash field",
     .complexity = "O(1)", .acl = "@read @hash @fast", .args = "key field"},
    {.name = "hexists", .arity = 3, .flags = CMD_READONLY | CMD_FAST, HKEY, .fn = hexists_cmd,
     .since = "2.0.0", .summary = "Determine if a hash field exists", .complexity = "O(1)",
     .acl = "@read @hash @fast", .args = "key field"},
    {.name = "hkeys", .arity = 2, .flags = CMD_READONLY, HKEY, .fn = hkeys_cmd,
     .since = "2.0.0", .summary = "Get all the fields in a hash",
     .complexity = "O(N) where N is the size of the hash.", .acl = "@read @hash @slow",
     .args = "key"},
    {.name = "hvals", .arity = 2, .flags = CMD_READONLY, HKEY, .fn = hvals_cmd,
     .since = "2.0.0", .summary = "Get all the values in a hash",
     .complexity = "O(N) where N is the size of the hash.", .acl = "@read @hash @slow",
     .args = "key"},
    {.name = "hgetall", .arity = 2, .flags = CMD_READONLY, HKEY, .fn = hgetall_cmd,
     .since = "2.0.0", .summary = "Get all the fields and values in a hash",
     .complexity = "O(N) where N is the size of the hash.", .acl = "@read @hash @slow",
     .args = "key"},
    {.name = "hincrby", .arity = 4, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, HKEY,
     .fn = hincrby_cmd, .since = "2.0.0",
     .summary = "Increment the integer value of a hash field by the given number",
     .complexity = "O(1)", .acl = "@write @hash @fast", .args = "key field increment"},
    {.name = "hincrbyfloat", .arity = 4, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, HKEY,
     .fn = hincrbyfloat_cmd, .since = "2.6.0",
     .summary = "Increment the float value of a hash field by the given amount",
     .complexity = "O(1)", .acl = "@write @hash @fast", .args = "key field increment"},
    {.name = "hscan", .arity = -3, .flags = CMD_READONLY, HKEY, .fn = hscan_cmd,
     .since = "2.8.0", .summary = "Incrementally iterate hash fields and associated values",
     .complexity = "O(1) for every call. O(N) for a complete iteration, including enough "
                   "command calls for the cursor to return back to 0. N is the number of "
                   "elements inside the collection..",
     .acl = "@read @hash @slow", .args = "key cursor [MATCH pattern] [COUNT count]"},
    {.name = "hrandfield", .arity = -2, .flags = CMD_READONLY, HKEY, .fn = hrandfield_cmd,
     .since = "6.2.0", .summary = "Get one or multiple random fields from a hash",
     .complexity = "O(N) where N is the number of fields returned",
     .acl = "@read @hash @slow", .args = "key [count [WITHVALUES]]"},
    {0},
};
