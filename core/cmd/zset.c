/* The sorted set commands (non-blocking): ZADD ZINCRBY ZREM ZSCORE ZMSCORE
 * ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK ZRANGE ZRANGESTORE ZRANGEBYSCORE
 * ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZREVRANGE ZPOPMIN ZPOPMAX
 * ZMPOP ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZUNION ZINTER ZDIFF
 * ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZINTERCARD ZRANDMEMBER ZSCAN, with
 * Redis 7.0's replies (RESP2) and error texts.
 *
 * The value is a kzset (core/store/zset.h): a listpack until it has more
 * than zset-max-listpack-entries elements or a member longer than
 * zset-max-listpack-value bytes, then a skiplist. Every range command turns
 * its range into ranks [lo, hi) and walks them. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"
#include "core/store/set.h"
#include "core/store/zset.h"
#include "core/util/glob.h"

#define ERR_NAN_SCORE "resulting score is not a number (NaN)"
#define ERR_SCORE_RANGE "min or max is not a float"
#define ERR_LEX_RANGE "min or max not valid string range item"
#define ERR_POSITIVE "value is out of range, must be positive"

/* ------------------------------------------------------------------------ */
/* Helpers */

static kzset_limits limits_of(const cmd_ctx *x)
{
    kzset_limits lim = {
        .max_entries = x->eng->cfg.zset_max_listpack_entries,
        .max_value = x->eng->cfg.zset_max_listpack_value,
        .seed = x->db->keys.seed,
    };
    return lim;
}

/* Makes z the value of key after a write: a new key (e NULL) is added; an
 * existing entry gets the (maybe moved) object and the change is reported. */
static void store_zset(cmd_ctx *x, const resp_slice *key, kentry *e, kzset *z)
{
    if (e == NULL) {
        db_set_obj(x->db, key->ptr, key->len, OBJ_ZSET, kzset_enc(z), z, -1);
        return;
    }
    if (kentry_obj(e) != (void *)z || kentry_enc(e) != kzset_enc(z))
        kentry_set_obj(e, z, kzset_enc(z));
    db_signal_modified(x->db, key->ptr, key->len);
}

/* After removing elements from an existing key: deletes it if empty, else
 * stores the object and reports the change. */
static void store_or_delete(cmd_ctx *x, const resp_slice *key, kentry *e, kzset *z)
{
    if (kzset_len(z) == 0) {
        kentry_set_obj(e, z, kzset_enc(z));
        db_delete_entry(x->db, e);
        return;
    }
    store_zset(x, key, e, z);
}

/* A destination key's new value (ZRANGESTORE, ZUNIONSTORE...): an empty
 * result deletes the key. Replies with the count. */
static void store_result(cmd_ctx *x, const resp_slice *dst, kzset *z)
{
    size_t n = kzset_len(z);
    if (n) {
        db_set_obj(x->db, dst->ptr, dst->len, OBJ_ZSET, kzset_enc(z), z, -1);
        reply_int(x, (long long)n);
        cmd_dirty(x, 1);
        return;
    }
    kzset_free(z);
    reply_int(x, 0);
    if (db_delete(x->db, dst->ptr, dst->len, x->now_ms))
        cmd_dirty(x, 1);
}

/* The argument as a NUL-terminated string (small ones on the stack). */
static char *cstr_of(const resp_slice *a, char *small, size_t cap, char **heap)
{
    *heap = NULL;
    char *s = small;
    if (a->len >= cap) {
        *heap = malloc(a->len + 1);
        if (*heap == NULL)
            abort();
        s = *heap;
    }
    if (a->len)
        memcpy(s, a->ptr, a->len);
    s[a->len] = '\0';
    return s;
}

/* One bound of a score range, as Redis's zslParseRange: "(" for an
 * exclusive bound, then strtod up to the first NUL byte; NaN refused. */
static bool parse_score_bound(const resp_slice *a, double *v, bool *ex)
{
    char small[128], *heap;
    char *s = cstr_of(a, small, sizeof(small), &heap);
    char *p = s, *end;
    *ex = false;
    if (p[0] == '(') {
        *ex = true;
        p++;
    }
    *v = strtod(p, &end);
    bool ok = end[0] == '\0' && !isnan(*v);
    free(heap);
    return ok;
}

typedef struct score_range {
    double min, max;
    bool minex, maxex;
} score_range;

static bool parse_score_range(const resp_slice *min, const resp_slice *max, score_range *r)
{
    return parse_score_bound(min, &r->min, &r->minex) && parse_score_bound(max, &r->max, &r->maxex);
}

/* One bound of a lex range: "+", "-", "[member" or "(member". */
static bool parse_lex_bound(const resp_slice *a, kzset_lexbound *b)
{
    if (a->len == 0)
        return false;
    char c1 = a->len > 1 ? a->ptr[1] : '\0';
    switch (a->ptr[0]) {
    case '+':
        if (c1 != '\0')
            return false;
        *b = (kzset_lexbound){.kind = ZLEX_PLUS_INF};
        return true;
    case '-':
        if (c1 != '\0')
            return false;
        *b = (kzset_lexbound){.kind = ZLEX_MINUS_INF};
        return true;
    case '(':
    case '[':
        *b = (kzset_lexbound){.kind = ZLEX_VALUE, .ex = a->ptr[0] == '(', .p = a->ptr + 1,
                              .len = a->len - 1};
        return true;
    default:
        return false;
    }
}

/* Ranks [*lo, *hi) of a score or lex range. */
static void score_ranks(const kzset *z, const score_range *r, size_t *lo, size_t *hi)
{
    *lo = kzset_score_lo(z, r->min, r->minex);
    *hi = kzset_score_hi(z, r->max, r->maxex);
    if (*hi < *lo)
        *hi = *lo;
}

static void lex_ranks(const kzset *z, const kzset_lexbound *min, const kzset_lexbound *max,
                      size_t *lo, size_t *hi)
{
    *lo = kzset_lex_lo(z, min);
    *hi = kzset_lex_hi(z, max);
    if (*hi < *lo)
        *hi = *lo;
}

/* Redis's rank sanitizing (ZRANGE, ZREMRANGEBYRANK): false if empty. */
static bool rank_range(long long start, long long end, long long llen, size_t *s, size_t *e)
{
    if (start < 0)
        start = llen + start;
    if (end < 0)
        end = llen + end;
    if (start < 0)
        start = 0;
    if (start > end || start >= llen)
        return false;
    if (end >= llen)
        end = llen - 1;
    *s = (size_t)start;
    *e = (size_t)end;
    return true;
}

/* A copy of an element (popped elements outlive the object). */
typedef struct elem {
    char *m;
    size_t mlen;
    double score;
} elem;

typedef struct reply_ctx {
    cmd_ctx *x;
    bool withscores;
    bool nested; /* each element as a [member, score] array */
} reply_ctx;

static bool reply_cb(void *ctx, const char *m, size_t mlen, double score)
{
    reply_ctx *r = ctx;
    if (r->nested)
        reply_array(r->x, 2);
    reply_bulk(r->x, m, mlen);
    if (r->withscores)
        reply_double(r->x, score);
    return true;
}

/* WITHSCORES results as Redis replies them: a flat array of 2n in RESP2,
 * n [member, score] arrays in RESP3. */
static bool nested_scores(cmd_ctx *x, bool withscores) { return withscores && reply_proto(x) >= 3; }

static void reply_scored_header(cmd_ctx *x, unsigned long long n, bool withscores)
{
    bool flat = withscores && !nested_scores(x, withscores);
    reply_array(x, (long long)(flat ? n * 2 : n));
}

typedef struct build_ctx {
    kzset *z;
    kzset_limits lim;
} build_ctx;

static bool build_cb(void *ctx, const char *m, size_t mlen, double score)
{
    build_ctx *b = ctx;
    b->z = kzset_add(b->z, m, mlen, score, &b->lim, NULL);
    return true;
}

/* ------------------------------------------------------------------------ */
/* ZADD ZINCRBY */

static void zadd_generic(cmd_ctx *x, bool incr)
{
    bool nx = false, xx = false, gt = false, lt = false, ch = false;
    int idx = 2;
    for (; idx < x->argc; idx++) {
        const resp_slice *a = &x->argv[idx];
        if (arg_is(a, "nx"))
            nx = true;
        else if (arg_is(a, "xx"))
            xx = true;
        else if (arg_is(a, "ch"))
            ch = true;
        else if (arg_is(a, "incr"))
            incr = true;
        else if (arg_is(a, "gt"))
            gt = true;
        else if (arg_is(a, "lt"))
            lt = true;
        else
            break;
    }
    int elements = x->argc - idx;
    if (elements % 2 || elements == 0) {
        reply_error(x, ERR_SYNTAX);
        return;
    }
    elements /= 2;
    if (nx && xx) {
        reply_error(x, "XX and NX options at the same time are not compatible");
        return;
    }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        reply_error(x, "GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if (incr && elements > 1) {
        reply_error(x, "INCR option supports a single increment-element pair");
        return;
    }
    double *scores = malloc((size_t)elements * sizeof(double));
    if (scores == NULL)
        abort();
    for (int j = 0; j < elements; j++)
        if (!arg_double(x, &x->argv[idx + j * 2], &scores[j], NULL)) {
            free(scores);
            return;
        }

    const resp_slice *key = &x->argv[1];
    bool wrong;
    kentry *e = lookup_write(x, key, OBJ_ZSET, &wrong);
    if (wrong) {
        free(scores);
        return;
    }
    long long added = 0, updated = 0, processed = 0;
    double newscore = 0;
    kzset *z;
    if (e == NULL) {
        if (xx) {
            free(scores);
            if (incr)
                reply_null(x);
            else
                reply_int(x, 0);
            return;
        }
        const resp_slice *m0 = &x->argv[idx + 1];
        if (x->eng->cfg.zset_max_listpack_entries == 0 ||
            (unsigned long long)x->eng->cfg.zset_max_listpack_value < m0->len)
            z = kzset_new_skiplist(x->db->keys.seed);
        else
            z = kzset_new();
    } else {
        z = kentry_obj(e);
    }
    kzset_limits lim = limits_of(x);
    bool nan = false;
    for (int j = 0; j < elements; j++) {
        const resp_slice *m = &x->argv[idx + j * 2 + 1];
        double score = scores[j], cur;
        if (kzset_score(z, m->ptr, m->len, &cur)) {
            if (nx)
                continue;
            if (incr) {
                score += cur;
                if (isnan(score)) {
                    nan = true;
                    break;
                }
            }
            if ((lt && score >= cur) || (gt && score <= cur))
                continue;
            newscore = score;
            processed++;
            if (score != cur) {
                z = kzset_add(z, m->ptr, m->len, score, &lim, NULL);
                updated++;
            }
        } else if (!xx) {
            z = kzset_add(z, m->ptr, m->len, score, &lim, NULL);
            newscore = score;
            added++;
            processed++;
        }
    }
    free(scores);
    if (added || updated || e == NULL)
        store_zset(x, key, e, z);
    else if (e && kentry_obj(e) != (void *)z)
        kentry_set_obj(e, z, kzset_enc(z));
    if (nan) {
        reply_error(x, ERR_NAN_SCORE);
    } else if (incr) {
        if (processed)
            reply_double(x, newscore);
        else
            reply_null(x);
    } else {
        reply_int(x, ch ? added + updated : added);
    }
    cmd_dirty(x, added + updated);
}

static void zadd_cmd(cmd_ctx *x) { zadd_generic(x, false); }

static void zincrby_cmd(cmd_ctx *x)
{
    /* ZINCRBY key increment member: ZADD key INCR increment member, so
     * an option word where the increment goes leaves an odd count. */
    static const char *const opts[] = {"nx", "xx", "ch", "incr", "gt", "lt"};
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (arg_is(&x->argv[2], opts[i])) {
            reply_error(x, ERR_SYNTAX);
            return;
        }
    double incr;
    if (!arg_double(x, &x->argv[2], &incr, NULL))
        return;
    const resp_slice *key = &x->argv[1], *m = &x->argv[3];
    bool wrong;
    kentry *e = lookup_write(x, key, OBJ_ZSET, &wrong);
    if (wrong)
        return;
    kzset *z;
    if (e == NULL) {
        if (x->eng->cfg.zset_max_listpack_entries == 0 ||
            (unsigned long long)x->eng->cfg.zset_max_listpack_value < m->len)
            z = kzset_new_skiplist(x->db->keys.seed);
        else
            z = kzset_new();
    } else {
        z = kentry_obj(e);
    }
    double cur, score = incr;
    bool exists = kzset_score(z, m->ptr, m->len, &cur);
    if (exists) {
        score += cur;
        if (isnan(score)) {
            reply_error(x, ERR_NAN_SCORE);
            return;
        }
    }
    kzset_limits lim = limits_of(x);
    if (!exists || score != cur) {
        z = kzset_add(z, m->ptr, m->len, score, &lim, NULL);
        store_zset(x, key, e, z);
        cmd_dirty(x, 1);
    }
    reply_double(x, score);
}

/* ------------------------------------------------------------------------ */
/* ZREM ZSCORE ZMSCORE ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK */

static void zrem_cmd(cmd_ctx *x)
{
    const resp_slice *key = &x->argv[1];
    bool wrong;
    kentry *e = lookup_write(x, key, OBJ_ZSET, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        reply_int(x, 0);
        return;
    }
    kzset *z = kentry_obj(e);
    long long deleted = 0;
    for (int i = 2; i < x->argc; i++) {
        bool d;
        z = kzset_del(z, x->argv[i].ptr, x->argv[i].len, &d);
        deleted += d;
        if (kzset_len(z) == 0)
            break;
    }
    if (deleted)
        store_or_delete(x, key, e, z);
    cmd_dirty(x, deleted);
    reply_int(x, deleted);
}

static void zscore_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_ZSET, &wrong);
    if (wrong)
        return;
    double s;
    if (e && kzset_score(kentry_obj(e), x->argv[2].ptr, x->argv[2].len, &s))
        reply_double(x, s);
    else
        reply_null(x);
}

static void zmscore_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_ZSET, &wrong);
    if (wrong)
        return;
    reply_array(x, x->argc - 2);
    for (int i = 2; i < x->argc; i++) {
        double s;
        if (e && kzset_score(kentry_obj(e), x->argv[i].ptr, x->argv[i].len, &s))
            reply_double(x, s);
        else
            reply_null(x);
    }
}

static void zcard_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_ZSET, &wrong);
    if (wrong)
        return;
    reply_int(x, e ? (long long)kzset_len(kentry_obj(e)) : 0);
}

static void zcount_cmd(cmd_ctx *x)
{
    score_range r;
    if (!parse_score_range(&x->argv[2], &x->argv[3], &r)) {
        reply_error(x, ERR_SCORE_RANGE);
        return;
    }
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_ZSET, &wrong);
    if (wrong)
        return;
    size_t lo = 0, hi = 0;
    if (e)
        score_ranks(kentry_obj(e), &r, &lo, &hi);
    reply_int(x, (long long)(hi - lo));
}

static void zlexcount_cmd(cmd_ctx *x)
{
    kzset_lexbound min, max;
    if (!parse_lex_bound(&x->argv[2], &min) || !parse_lex_bound(&x->argv[3], &max)) {
        reply_error(x, ERR_LEX_RANGE);
        return;
    }
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_ZSET, &wrong);
    if (wrong)
        return;
    size_t lo = 0, hi = 0;
    if (e)
        lex_ranks(kentry_obj(e), &min, &max, &lo, &hi);
    reply_int(x, (long long)(hi - lo));
}

static void zrank_generic(cmd_ctx *x, bool rev)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_ZSET, &wrong);
    if (wrong)
        return;
    size_t r;
    if (e == NULL || !kzset_rank(kentry_obj(e), x->argv[2].ptr, x->argv[2].len, &r)) {
        reply_null(x);
        return;
    }
    size_t n = kzset_len(kentry_obj(e));
    reply_int(x, (long long)(rev ? n - 1 - r : r));
}

static void zrank_cmd(cmd_ctx *x) { zrank_generic(x, false); }
static void zrevrank_cmd(cmd_ctx *x) { zrank_generic(x, true); }

/* ------------------------------------------------------------------------ */
/* The ZRANGE family */

enum { RT_AUTO, RT_RANK, RT_SCORE, RT_LEX };
enum { DIR_AUTO, DIR_FWD, DIR_REV };

static void zrange_generic(cmd_ctx *x, int argc_start, bool store, int rtype, int dir)
{
    const resp_slice *key = &x->argv[argc_start];
    int minidx = argc_start + 1, maxidx = argc_start + 2;
    bool withscores = false;
    long long offset = 0, limit = -1;

    for (int j = argc_start + 3; j < x->argc; j++) {
        int left = x->argc - j - 1;
        const resp_slice *a = &x->argv[j];
        if (!store && arg_is(a, "withscores")) {
            withscores = true;
        } else if (arg_is(a, "limit") && left >= 2) {
            if (!arg_ll(x, &x->argv[j + 1], &offset, NULL) ||
                !arg_ll(x, &x->argv[j + 2], &limit, NULL))
                return;
            j += 2;
        } else if (dir == DIR_AUTO && arg_is(a, "rev")) {
            dir = DIR_REV;
        } else if (rtype == RT_AUTO && arg_is(a, "bylex")) {
            rtype = RT_LEX;
        } else if (rtype == RT_AUTO && arg_is(a, "byscore")) {
            rtype = RT_SCORE;
        } else {
            reply_error(x, ERR_SYNTAX);
            return;
        }
    }
    if (dir == DIR_AUTO)
        dir = DIR_FWD;
    if (rtype == RT_AUTO)
        rtype = RT_RANK;
    if (limit != -1 && rtype == RT_RANK) {
        reply_error(x, "syntax error, LIMIT is only supported in combination with either BYSCORE "
                       "or BYLEX");
        return;
    }
    if (withscores && rtype == RT_LEX) {
        reply_error(x, "syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    bool rev = dir == DIR_REV;
    if (rev && rtype != RT_RANK) {
        int t = minidx;
        minidx = maxidx;
        maxidx = t;
    }
    long long start = 0, end = 0;
    score_range sr;
    kzset_lexbound lmin, lmax;
    switch (rtype) {
    case RT_RANK:
        if (!arg_ll(x, &x->argv[minidx], &start, NULL) ||
            !arg_ll(x, &x->argv[maxidx], &end, NULL))
            return;
        break;
    case RT_SCORE:
        if (!parse_score_range(&x->argv[minidx], &x->argv[maxidx], &sr)) {
            reply_error(x, ERR_SCORE_RANGE);
            return;
        }
        break;
    default:
        if (!parse_lex_bound(&x->argv[minidx], &lmin) ||
            !parse_lex_bound(&x->argv[maxidx], &lmax)) {
            reply_error(x, ERR_LEX_RANGE);
            return;
        }
        break;
    }

    bool wrong;
    kentry *e = lookup_read(x, key, OBJ_ZSET, &wrong);
    if (wrong)
        return;
    /* The walk: n elements from rank first, descending when rev. */
    size_t first = 0, n = 0;
    if (e) {
        const kzset *z = kentry_obj(e);
        size_t len = kzset_len(z);
        if (rtype == RT_RANK) {
            size_t s, t;
            if (rank_range(start, end, (long long)len, &s, &t)) {
                n = t - s + 1;
                first = rev ? len - 1 - s : s;
            }
        } else {
            size_t lo, hi;
            if (rtype == RT_SCORE)
                score_ranks(z, &sr, &lo, &hi);
            else
                lex_ranks(z, &lmin, &lmax, &lo, &hi);
            /* A negative offset skips everything, as in Redis; a negative
             * limit means no limit. */
            if (offset >= 0 && (unsigned long long)offset < hi - lo) {
                n = hi - lo - (size_t)offset;
                if (limit >= 0 && (unsigned long long)limit < n)
                    n = (size_t)limit;
                first = rev ? hi - 1 - (size_t)offset : lo + (size_t)offset;
            }
        }
    }
    if (store) {
        build_ctx b = {kzset_new(), limits_of(x)};
        if (n)
            kzset_walk(kentry_obj(e), first, n, rev, build_cb, &b);
        store_result(x, &x->argv[1], b.z);
        return;
    }
    reply_scored_header(x, n, withscores);
    reply_ctx r = {x, withscores, nested_scores(x, withscores)};
    if (n)
        kzset_walk(kentry_obj(e), first, n, rev, reply_cb, &r);
}

static void zrange_cmd(cmd_ctx *x) { zrange_generic(x, 1, false, RT_AUTO, DIR_AUTO); }
static void zrangestore_cmd(cmd_ctx *x) { zrange_generic(x, 2, true, RT_AUTO, DIR_AUTO); }
static void zrevrange_cmd(cmd_ctx *x) { zrange_generic(x, 1, false, RT_RANK, DIR_REV); }
static void zrangebyscore_cmd(cmd_ctx *x) { zrange_generic(x, 1, false, RT_SCORE, DIR_FWD); }
static void zrevrangebyscore_cmd(cmd_ctx *x) { zrange_generic(x, 1, false, RT_SCORE, DIR_REV); }
static void zrangebylex_cmd(cmd_ctx *x) { zrange_generic(x, 1, false, RT_LEX, DIR_FWD); }
static void zrevrangebylex_cmd(cmd_ctx *x) { zrange_generic(x, 1, false, RT_LEX, DIR_REV); }

/* ------------------------------------------------------------------------ */
/* ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX */

static void zremrange_generic(cmd_ctx *x, int rtype)
{
    long long start = 0, end = 0;
    score_range sr;
    kzset_lexbound lmin, lmax;
    if (rtype == RT_RANK) {
        if (!arg_ll(x, &x->argv[2], &start, NULL) || !arg_ll(x, &x->argv[3], &end, NULL))
            return;
    } else if (rtype == RT_SCORE) {
        if (!parse_score_range(&x->argv[2], &x->argv[3], &sr)) {
            reply_error(x, ERR_SCORE_RANGE);
            return;
        }
    } else if (!parse_lex_bound(&x->argv[2], &lmin) || !parse_lex_bound(&x->argv[3], &lmax)) {
        reply_error(x, ERR_LEX_RANGE);
        return;
    }
    const resp_slice *key = &x->argv[1];
    bool wrong;
    kentry *e = lookup_write(x, key, OBJ_ZSET, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        reply_int(x, 0);
        return;
    }
    kzset *z = kentry_obj(e);
    size_t lo = 0, hi = 0;
    if (rtype == RT_RANK) {
        size_t t;
        if (rank_range(start, end, (long long)kzset_len(z), &lo, &t))
            hi = t + 1;
    } else if (rtype == RT_SCORE) {
        score_ranks(z, &sr, &lo, &hi);
    } else {
        lex_ranks(z, &lmin, &lmax, &lo, &hi);
    }
    size_t removed = 0;
    if (hi > lo) {
        z = kzset_del_range(z, lo, hi - 1, &removed);
        store_or_delete(x, key, e, z);
        cmd_dirty(x, (long long)removed);
    }
    reply_int(x, (long long)removed);
}

static void zremrangebyrank_cmd(cmd_ctx *x) { zremrange_generic(x, RT_RANK); }
static void zremrangebyscore_cmd(cmd_ctx *x) { zremrange_generic(x, RT_SCORE); }
static void zremrangebylex_cmd(cmd_ctx *x) { zremrange_generic(x, RT_LEX); }

/* ------------------------------------------------------------------------ */
/* ZPOPMIN ZPOPMAX ZMPOP */

/* Pops up to count (>= 1, or 0 for an empty reply) from the first existing
 * key of keys[0..nkeys). zmpop: [key, [[m, s], ...]] or a null array.
 * nested (ZPOPMIN/ZPOPMAX with a count, in RESP3): [[m, s], ...]. */
static void zpop_generic(cmd_ctx *x, const resp_slice *keys, int nkeys, bool max,
                         long long count, bool zmpop, bool nested)
{
    kentry *e = NULL;
    const resp_slice *key = NULL;
    for (int i = 0; i < nkeys && e == NULL; i++) {
        bool wrong;
        key = &keys[i];
        e = lookup_write(x, key, OBJ_ZSET, &wrong);
        if (wrong)
            return;
    }
    if (e == NULL) {
        if (zmpop)
            reply_null_array(x);
        else
            reply_array(x, 0);
        return;
    }
    if (count == 0) {
        reply_array(x, 0);
        return;
    }
    kzset *z = kentry_obj(e);
    size_t len = kzset_len(z);
    size_t n = (unsigned long long)count > len ? len : (size_t)count;
    if (zmpop) {
        reply_array(x, 2);
        reply_bulk(x, key->ptr, key->len);
        reply_array(x, (long long)n);
    } else if (nested) {
        reply_array(x, (long long)n);
    } else {
        reply_array(x, (long long)n * 2);
    }
    reply_ctx r = {x, true, zmpop || nested};
    kzset_walk(z, max ? len - 1 : 0, n, max, reply_cb, &r);
    size_t removed;
    z = kzset_del_range(z, max ? len - n : 0, max ? len - 1 : n - 1, &removed);
    store_or_delete(x, key, e, z);
    cmd_dirty(x, (long long)n);
}

static void zpop_minmax(cmd_ctx *x, bool max)
{
    if (x->argc > 3) {
        reply_error(x, ERR_SYNTAX);
        return;
    }
    long long count = 1;
    if (x->argc == 3) {
        if (!arg_ll(x, &x->argv[2], &count, ERR_POSITIVE))
            return;
        if (count < 0) {
            reply_error(x, ERR_POSITIVE);
            return;
        }
    }
    /* RESP3 nests the pairs when a count is given, as Redis. */
    zpop_generic(x, &x->argv[1], 1, max, count, false, x->argc == 3 && reply_proto(x) >= 3);
}

static void zpopmin_cmd(cmd_ctx *x) { zpop_minmax(x, false); }
static void zpopmax_cmd(cmd_ctx *x) { zpop_minmax(x, true); }

static void zmpop_cmd(cmd_ctx *x)
{
    long long numkeys;
    const char *nkmsg = "numkeys should be greater than 0";
    if (!arg_ll(x, &x->argv[1], &numkeys, nkmsg))
        return;
    if (numkeys < 1) {
        reply_error(x, nkmsg);
        return;
    }
    if (numkeys > x->argc - 3) {
        reply_error(x, ERR_SYNTAX);
        return;
    }
    int where = 2 + (int)numkeys;
    bool max;
    if (arg_is(&x->argv[where], "min"))
        max = false;
    else if (arg_is(&x->argv[where], "max"))
        max = true;
    else {
        reply_error(x, ERR_SYNTAX);
        return;
    }
    long long count = -1;
    for (int j = where + 1; j < x->argc; j++) {
        int more = x->argc - 1 - j;
        if (count == -1 && arg_is(&x->argv[j], "count") && more) {
            j++;
            const char *cmsg = "count should be greater than 0";
            if (!arg_ll(x, &x->argv[j], &count, cmsg))
                return;
            if (count < 1) {
                reply_error(x, cmsg);
                return;
            }
        } else {
            reply_error(x, ERR_SYNTAX);
            return;
        }
    }
    if (count == -1)
        count = 1;
    zpop_generic(x, &x->argv[2], (int)numkeys, max, count, true, true);
}

/* ------------------------------------------------------------------------ */
/* ZUNION ZINTER ZDIFF (STORE) ZINTERCARD */

enum { OP_UNION, OP_INTER, OP_DIFF };
enum { AGG_SUM, AGG_MIN, AGG_MAX };

typedef struct zsrc {
    kzset *z; /* a sorted set, or */
    kset *s;  /* a set (every score 1), or neither (a missing key) */
    double weight;
} zsrc;

static size_t src_len(const zsrc *s)
{
    return s->z ? kzset_len(s->z) : s->s ? kset_len(s->s) : 0;
}

static bool src_find(zsrc *s, const char *m, size_t mlen, double *score)
{
    if (s->z)
        return kzset_score(s->z, m, mlen, score);
    if (s->s && kset_has(s->s, m, mlen)) {
        *score = 1.0;
        return true;
    }
    return false;
}

/* Walks a source's elements with a kzset_each_fn. */
typedef struct set_walk {
    kzset_each_fn *fn;
    void *ctx;
} set_walk;

static void set_walk_cb(void *ctx, const char *m, size_t len)
{
    set_walk *w = ctx;
    w->fn(w->ctx, m, len, 1.0);
}

static void src_walk(const zsrc *s, kzset_each_fn *fn, void *ctx)
{
    if (s->z) {
        kzset_for_each(s->z, fn, ctx);
    } else if (s->s) {
        set_walk w = {fn, ctx};
        kset_for_each(s->s, set_walk_cb, &w);
    }
}

static void aggregate(double *target, double v, int agg)
{
    if (agg == AGG_SUM) {
        *target += v;
        if (isnan(*target))
            *target = 0.0;
    } else if (agg == AGG_MIN) {
        *target = v < *target ? v : *target;
    } else {
        *target = v > *target ? v : *target;
    }
}

typedef struct setop_ctx {
    zsrc *src;
    int nsrc;
    int agg;
    kzset *dst; /* a skiplist: the result */
    uint64_t seed;
    bool card_only;
    long long limit;
    long long card;
    bool stop;
    int cur; /* UNION: the source being walked */
} setop_ctx;

static bool union_cb(void *ctx, const char *m, size_t mlen, double score)
{
    setop_ctx *c = ctx;
    double v = c->src[c->cur].weight * score, old;
    if (isnan(v))
        v = 0;
    if (kzset_score(c->dst, m, mlen, &old)) {
        aggregate(&old, v, c->agg);
        v = old;
    }
    c->dst = kzset_load_add(c->dst, m, mlen, v, c->seed, NULL);
    return true;
}

static bool inter_cb(void *ctx, const char *m, size_t mlen, double score)
{
    setop_ctx *c = ctx;
    if (c->stop)
        return false;
    double v = c->src[0].weight * score;
    if (isnan(v))
        v = 0;
    for (int j = 1; j < c->nsrc; j++) {
        double o;
        if (!src_find(&c->src[j], m, mlen, &o))
            return true;
        aggregate(&v, o * c->src[j].weight, c->agg);
    }
    if (c->card_only) {
        c->card++;
        if (c->limit && c->card >= c->limit)
            c->stop = true;
        return !c->stop;
    }
    c->dst = kzset_load_add(c->dst, m, mlen, v, c->seed, NULL);
    return true;
}

static bool diff_cb(void *ctx, const char *m, size_t mlen, double score)
{
    setop_ctx *c = ctx;
    for (int j = 1; j < c->nsrc; j++) {
        double o;
        if (src_find(&c->src[j], m, mlen, &o))
            return true;
    }
    c->dst = kzset_load_add(c->dst, m, mlen, score, c->seed, NULL);
    return true;
}

/* dst: the destination key's argv index (0: none). numkeys_idx: where
 * numkeys is. */
static void setop_generic(cmd_ctx *x, int dst, int numkeys_idx, int op, bool card_only)
{
    long long setnum;
    if (!arg_ll(x, &x->argv[numkeys_idx], &setnum, NULL))
        return;
    if (setnum < 1) {
        reply_errorf(x, "at least 1 input key is needed for '%s' command", x->cmd->fullname);
        return;
    }
    if (setnum > x->argc - (numkeys_idx + 1)) {
        reply_error(x, ERR_SYNTAX);
        return;
    }
    int n = (int)setnum;
    zsrc *src = calloc((size_t)n, sizeof(*src));
    if (src == NULL)
        abort();
    int j = numkeys_idx + 1;
    for (int i = 0; i < n; i++, j++) {
        kentry *e = lookup_read(x, &x->argv[j], -1, NULL);
        if (e) {
            int t = kentry_type(e);
            if (t == OBJ_ZSET)
                src[i].z = kentry_obj(e);
            else if (t == OBJ_SET)
                src[i].s = kentry_obj(e);
            else {
                free(src);
                reply_error(x, ERR_WRONGTYPE);
                return;
            }
        }
        src[i].weight = 1.0;
    }
    int agg = AGG_SUM;
    bool withscores = false;
    long long limit = 0;
    int remaining = x->argc - j;
    while (remaining) {
        const resp_slice *a = &x->argv[j];
        if (op != OP_DIFF && !card_only && remaining >= n + 1 && arg_is(a, "weights")) {
            j++, remaining--;
            for (int i = 0; i < n; i++, j++, remaining--)
                if (!arg_double(x, &x->argv[j], &src[i].weight, "weight value is not a float")) {
                    free(src);
                    return;
                }
        } else if (op != OP_DIFF && !card_only && remaining >= 2 && arg_is(a, "aggregate")) {
            j++, remaining--;
            if (arg_is(&x->argv[j], "sum"))
                agg = AGG_SUM;
            else if (arg_is(&x->argv[j], "min"))
                agg = AGG_MIN;
            else if (arg_is(&x->argv[j], "max"))
                agg = AGG_MAX;
            else {
                free(src);
                reply_error(x, ERR_SYNTAX);
                return;
            }
            j++, remaining--;
        } else if (remaining >= 1 && !dst && !card_only && arg_is(a, "withscores")) {
            j++, remaining--;
            withscores = true;
        } else if (card_only && remaining >= 2 && arg_is(a, "limit")) {
            j++, remaining--;
            if (!arg_ll(x, &x->argv[j], &limit, "LIMIT can't be negative")) {
                free(src);
                return;
            }
            if (limit < 0) {
                free(src);
                reply_error(x, "LIMIT can't be negative");
                return;
            }
            j++, remaining--;
        } else {
            free(src);
            reply_error(x, ERR_SYNTAX);
            return;
        }
    }
    /* Smallest first (a stable sort: the order of equal ones is the
     * arguments'). */
    if (op != OP_DIFF)
        for (int a = 1; a < n; a++) {
            zsrc t = src[a];
            int b = a;
            for (; b > 0 && src_len(&src[b - 1]) > src_len(&t); b--)
                src[b] = src[b - 1];
            src[b] = t;
        }

    setop_ctx c = {.src = src, .nsrc = n, .agg = agg, .seed = x->db->keys.seed,
                   .card_only = card_only, .limit = limit};
    c.dst = kzset_new_skiplist(c.seed);
    if (op == OP_INTER) {
        if (src_len(&src[0]) > 0)
            src_walk(&src[0], inter_cb, &c);
    } else if (op == OP_UNION) {
        for (c.cur = 0; c.cur < n; c.cur++)
            src_walk(&src[c.cur], union_cb, &c);
    } else if (src_len(&src[0]) > 0) {
        src_walk(&src[0], diff_cb, &c);
    }
    free(src);

    if (dst) {
        kzset_limits lim = limits_of(x);
        c.dst = kzset_shrink(c.dst, &lim);
        store_result(x, &x->argv[dst], c.dst);
    } else if (card_only) {
        reply_int(x, c.card);
        kzset_free(c.dst);
    } else {
        size_t len = kzset_len(c.dst);
        reply_scored_header(x, len, withscores);
        reply_ctx r = {x, withscores, nested_scores(x, withscores)};
        kzset_for_each(c.dst, reply_cb, &r);
        kzset_free(c.dst);
    }
}

static void zunionstore_cmd(cmd_ctx *x) { setop_generic(x, 1, 2, OP_UNION, false); }
static void zinterstore_cmd(cmd_ctx *x) { setop_generic(x, 1, 2, OP_INTER, false); }
static void zdiffstore_cmd(cmd_ctx *x) { setop_generic(x, 1, 2, OP_DIFF, false); }
static void zunion_cmd(cmd_ctx *x) { setop_generic(x, 0, 1, OP_UNION, false); }
static void zinter_cmd(cmd_ctx *x) { setop_generic(x, 0, 1, OP_INTER, false); }
static void zdiff_cmd(cmd_ctx *x) { setop_generic(x, 0, 1, OP_DIFF, false); }
static void zintercard_cmd(cmd_ctx *x) { setop_generic(x, 0, 1, OP_INTER, true); }

static int store_getkeys(int argc, const resp_slice *argv, int *keys)
{
    return cmd_numkeys_getkeys(argc, argv, 2, 3, 1, keys);
}

static int numkeys_getkeys(int argc, const resp_slice *argv, int *keys)
{
    return cmd_numkeys_getkeys(argc, argv, 1, 2, 0, keys);
}

/* ------------------------------------------------------------------------ */
/* ZRANDMEMBER */

typedef struct zel {
    const char *m;
    size_t mlen;
    double score;
} zel;

typedef struct zels {
    zel *p;
    size_t n;
} zels;

static bool zels_cb(void *ctx, const char *m, size_t mlen, double score)
{
    zels *a = ctx;
    a->p[a->n++] = (zel){m, mlen, score};
    return true;
}

static zels all_elems(const kzset *z)
{
    zels a = {malloc((kzset_len(z) ? kzset_len(z) : 1) * sizeof(zel)), 0};
    if (a.p == NULL)
        abort();
    kzset_for_each(z, zels_cb, &a);
    return a;
}

static void reply_zel(cmd_ctx *x, const char *m, size_t mlen, double score, bool withscores)
{
    if (nested_scores(x, withscores))
        reply_array(x, 2);
    reply_bulk(x, m, mlen);
    if (withscores)
        reply_double(x, score);
}

static void randmember_count(cmd_ctx *x, long long l, bool withscores)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_ZSET, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        reply_array(x, 0);
        return;
    }
    kzset *z = kentry_obj(e);
    unsigned long long size = kzset_len(z);
    bool uniq = l >= 0;
    unsigned long long count = uniq ? (unsigned long long)l : (unsigned long long)-l;
    if (count == 0) {
        reply_array(x, 0);
        return;
    }
    if (!uniq || count == 1) {
        size_t start = x->out->len;
        long long limit = x->eng->cfg.proto_max_bulk_len;
        reply_scored_header(x, count, withscores);
        zels a = {0};
        if (kzset_enc(z) == ENC_LISTPACK)
            a = all_elems(z);
        for (unsigned long long i = 0; i < count; i++) {
            const char *m;
            size_t mlen;
            double score;
            if (a.n) {
                const zel *p = &a.p[kprng_below(x->rng, a.n)];
                m = p->m, mlen = p->mlen, score = p->score;
            } else {
                kzset_random(z, x->rng, &m, &mlen, &score);
            }
            reply_zel(x, m, mlen, score, withscores);
            if ((long long)(x->out->len - start) > limit) {
                x->out->len = start;
                reply_error(x, "value is out of range");
                break;
            }
        }
        free(a.p);
        return;
    }
    unsigned long long n = count < size ? count : size;
    reply_scored_header(x, n, withscores);
    if (count >= size) {
        reply_ctx r = {x, withscores, nested_scores(x, withscores)};
        kzset_for_each(z, reply_cb, &r);
        return;
    }
    /* A partial Fisher-Yates shuffle of all the elements. */
    zels a = all_elems(z);
    for (size_t i = 0; i < count; i++) {
        size_t j = i + (size_t)kprng_below(x->rng, a.n - i);
        zel t = a.p[i];
        a.p[i] = a.p[j];
        a.p[j] = t;
        reply_zel(x, a.p[i].m, a.p[i].mlen, a.p[i].score, withscores);
    }
    free(a.p);
}

static void zrandmember_cmd(cmd_ctx *x)
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
        bool withscores = false;
        if (x->argc > 4 || (x->argc == 4 && !arg_is(&x->argv[3], "withscores"))) {
            reply_error(x, ERR_SYNTAX);
            return;
        } else if (x->argc == 4) {
            withscores = true;
            if (l < -LONG_MAX / 2 || l > LONG_MAX / 2) {
                reply_error(x, "value is out of range");
                return;
            }
        }
        randmember_count(x, l, withscores);
        return;
    }
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_ZSET, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        reply_null(x);
        return;
    }
    const char *m;
    size_t mlen;
    double score;
    kzset_random(kentry_obj(e), x->rng, &m, &mlen, &score);
    reply_bulk(x, m, mlen);
}

/* ------------------------------------------------------------------------ */
/* ZSCAN */

typedef struct scan_acc {
    zel *p;
    size_t n, cap;
} scan_acc;

static bool scan_cb(void *ctx, const char *m, size_t mlen, double score)
{
    scan_acc *a = ctx;
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->p = realloc(a->p, a->cap * sizeof(*a->p));
        if (a->p == NULL)
            abort();
    }
    a->p[a->n++] = (zel){m, mlen, score};
    return true;
}

static void zscan_cmd(cmd_ctx *x)
{
    uint64_t cursor;
    long long count;
    const resp_slice *pat;
    kentry *e = scan_key_begin(x, OBJ_ZSET, &cursor, &count, &pat);
    if (e == NULL)
        return;
    kzset *z = kentry_obj(e);
    scan_acc acc = {0};
    if (kzset_enc(z) == ENC_SKIPLIST) {
        count = sat_mul(count, 2);
        long long maxiter = sat_mul(count, 10);
        do {
            cursor = kzset_scan(z, cursor, scan_cb, &acc);
        } while (cursor && maxiter-- && (long long)(acc.n * 2) < count);
    } else {
        cursor = kzset_scan(z, cursor, scan_cb, &acc);
    }
    reply_array(x, 2);
    reply_bulk_ll(x, (long long)cursor);
    size_t mark = reply_array_deferred(x);
    long long n = 0;
    for (size_t i = 0; i < acc.n; i++) {
        const zel *p = &acc.p[i];
        if (pat && !glob_match(pat->ptr, pat->len, p->m, p->mlen, false))
            continue;
        char buf[64];
        size_t blen = fmt_double(buf, sizeof(buf), p->score);
        reply_bulk(x, p->m, p->mlen);
        reply_bulk(x, buf, blen);
        n += 2;
    }
    reply_set_array_deferred(x, mark, n);
    free(acc.p);
}

/* ------------------------------------------------------------------------ */
/* The table */

#define ZKEY .first_key = 1, .last_key = 1, .key_step = 1, .group = "sorted-set"
#define ZNOKEY .group = "sorted-set"

const cmd_def cmd_zset[] = {
    {.name = "zadd", .arity = -4, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, ZKEY,
     .fn = zadd_cmd, .since = "1.2.0",
     .summary = "Add one or more members to a sorted set, or update its score if it already "
                "exists",
     .complexity = "O(log(N)) for each item added, where N is the number of elements in the "
                   "sorted set.",
     .acl = "@write @sortedset @fast",
     .args = "key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]"},
    {.name = "zincrby", .arity = 4, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, ZKEY,
     .fn = zincrby_cmd, .since = "1.2.0",
     .summary = "Increment the score of a member in a sorted set",
     .complexity = "O(log(N)) where N is the number of elements in the sorted set.",
     .acl = "@write @sortedset @fast", .args = "key increment member"},
    {.name = "zrem", .arity = -3, .flags = CMD_WRITE | CMD_FAST, ZKEY, .fn = zrem_cmd,
     .since = "1.2.0", .summary = "Remove one or more members from a sorted set",
     .complexity = "O(M*log(N)) with N being the number of elements in the sorted set and M "
                   "the number of elements to be removed.",
     .acl = "@write @sortedset @fast", .args = "key member [member ...]"},
    {.name = "zscore", .arity = 3, .flags = CMD_READONLY | CMD_FAST, ZKEY, .fn = zscore_cmd,
     .since = "1.2.0", .summary = "Get the score associated with the given member in a sorted set",
     .complexity = "O(1)", .acl = "@read @sortedset @fast", .args = "key member"},
    {.name = "zmscore", .arity = -3, .flags = CMD_READONLY | CMD_FAST, ZKEY, .fn = zmscore_cmd,
     .since = "6.2.0",
     .summary = "Get the score associated with the given members in a sorted set",
     .complexity = "O(N) where N is the number of members being requested.",
     .acl = "@read @sortedset @fast", .args = "key member [member ...]"},
    {.name = "zcard", .arity = 2, .flags = CMD_READONLY | CMD_FAST, ZKEY, .fn = zcard_cmd,
     .since = "1.2.0", .summary = "Get the number of members in a sorted set",
     .complexity = "O(1)", .acl = "@read @sortedset @fast", .args = "key"},
    {.name = "zcount", .arity = 4, .flags = CMD_READONLY | CMD_FAST, ZKEY, .fn = zcount_cmd,
     .since = "2.0.0", .summary = "Count the members in a sorted set with scores within the given values",
     .complexity = "O(log(N)) with N being the number of elements in the sorted set.",
     .acl = "@read @sortedset @fast", .args = "key min max"},
    {.name = "zlexcount", .arity = 4, .flags = CMD_READONLY | CMD_FAST, ZKEY,
     .fn = zlexcount_cmd, .since = "2.8.9",
     .summary = "Count the number of members in a sorted set between a given lexicographical "
                "range",
     .complexity = "O(log(N)) with N being the number of elements in the sorted set.",
     .acl = "@read @sortedset @fast", .args = "key min max"},
    {.name = "zrank", .arity = 3, .flags = CMD_READONLY | CMD_FAST, ZKEY, .fn = zrank_cmd,
     .since = "2.0.0", .summary = "Determine the index of a member in a sorted set",
     .complexity = "O(log(N))", .acl = "@read @sortedset @fast", .args = "key member"},
    {.name = "zrevrank", .arity = 3, .flags = CMD_READONLY | CMD_FAST, ZKEY,
     .fn = zrevrank_cmd, .since = "2.0.0",
     .summary = "Determine the index of a member in a sorted set, with scores ordered from high "
                "to low",
     .complexity = "O(log(N))", .acl = "@read @sortedset @fast", .args = "key member"},
    {.name = "zrange", .arity = -4, .flags = CMD_READONLY, ZKEY, .fn = zrange_cmd,
     .since = "1.2.0", .summary = "Return a range of members in a sorted set",
     .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the "
                   "number of elements returned.",
     .acl = "@read @sortedset @slow",
     .args = "key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]"},
    {.name = "zrangestore", .arity = -5, .flags = CMD_WRITE | CMD_DENYOOM, .first_key = 1,
     .last_key = 2, .key_step = 1, ZNOKEY, .fn = zrangestore_cmd, .since = "6.2.0",
     .summary = "Store a range of members from sorted set into another key",
     .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the "
                   "number of elements stored into the destination key.",
     .acl = "@write @sortedset @slow",
     .args = "dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]"},
    {.name = "zrangebyscore", .arity = -4, .flags = CMD_READONLY, ZKEY,
     .fn = zrangebyscore_cmd, .since = "1.0.5",
     .summary = "Return a range of members in a sorted set, by score",
     .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the "
                   "number of elements being returned. If M is constant (e.g. always asking for "
                   "the first 10 elements with LIMIT), you can consider it O(log(N)).",
     .acl = "@read @sortedset @slow", .args = "key min max [WITHSCORES] [LIMIT offset count]"},
    {.name = "zrevrangebyscore", .arity = -4, .flags = CMD_READONLY, ZKEY,
     .fn = zrevrangebyscore_cmd, .since = "2.2.0",
     .summary = "Return a range of members in a sorted set, by score, with scores ordered from "
                "high to low",
     .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the "
                   "number of elements being returned. If M is constant (e.g. always asking for "
                   "the first 10 elements with LIMIT), you can consider it O(log(N)).",
     .acl = "@read @sortedset @slow", .args = "key max min [WITHSCORES] [LIMIT offset count]"},
    {.name = "zrangebylex", .arity = -4, .flags = CMD_READONLY, ZKEY, .fn = zrangebylex_cmd,
     .since = "2.8.9",
     .summary = "Return a range of members in a sorted set, by lexicographical range",
     .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the "
                   "number of elements being returned. If M is constant (e.g. always asking for "
                   "the first 10 elements with LIMIT), you can consider it O(log(N)).",
     .acl = "@read @sortedset @slow", .args = "key min max [LIMIT offset count]"},
    {.name = "zrevrangebylex", .arity = -4, .flags = CMD_READONLY, ZKEY,
     .fn = zrevrangebylex_cmd, .since = "2.8.9",
     .summary = "Return a range of members in a sorted set, by lexicographical range, ordered "
                "from higher to lower strings.",
     .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the "
                   "number of elements being returned. If M is constant (e.g. always asking for "
                   "the first 10 elements with LIMIT), you can consider it O(log(N)).",
     .acl = "@read @sortedset @slow", .args = "key max min [LIMIT offset count]"},
    {.name = "zrevrange", .arity = -4, .flags = CMD_READONLY, ZKEY, .fn = zrevrange_cmd,
     .since = "1.2.0",
     .summary = "Return a range of members in a sorted set, by index, with scores ordered from "
                "high to low",
     .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the "
                   "number of elements returned.",
     .acl = "@read @sortedset @slow", .args = "key start stop [WITHSCORES]"},
    {.name = "zpopmin", .arity = -2, .flags = CMD_WRITE | CMD_FAST, ZKEY, .fn = zpopmin_cmd,
     .since = "5.0.0",
     .summary = "Remove and return members with the lowest scores in a sorted set",
     .complexity = "O(log(N)*M) with N being the number of elements in the sorted set, and M "
                   "being the number of elements popped.",
     .acl = "@write @sortedset @fast", .args = "key [count]"},
    {.name = "zpopmax", .arity = -2, .flags = CMD_WRITE | CMD_FAST, ZKEY, .fn = zpopmax_cmd,
     .since = "5.0.0",
     .summary = "Remove and return members with the highest scores in a sorted set",
     .complexity = "O(log(N)*M) with N being the number of elements in the sorted set, and M "
                   "being the number of elements popped.",
     .acl = "@write @sortedset @fast", .args = "key [count]"},
    {.name = "zmpop", .arity = -4, .flags = CMD_WRITE | CMD_MOVABLE_KEYS, ZNOKEY,
     .fn = zmpop_cmd, .getkeys = numkeys_getkeys, .since = "7.0.0",
     .summary = "Remove and return members with scores in a sorted set",
     .complexity = "O(K) + O(M*log(N)) where K is the number of provided keys, N being the "
                   "number of elements in the sorted set, and M being the number of elements "
                   "popped.",
     .acl = "@write @sortedset @slow", .args = "numkeys key [key ...] MIN|MAX [COUNT count]"},
    {.name = "zremrangebyrank", .arity = 4, .flags = CMD_WRITE, ZKEY,
     .fn = zremrangebyrank_cmd, .since = "2.0.0",
     .summary = "Remove all members in a sorted set within the given indexes",
     .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the "
                   "number of elements removed by the operation.",
     .acl = "@write @sortedset @slow", .args = "key start stop"},
    {.name = "zremrangebyscore", .arity = 4, .flags = CMD_WRITE, ZKEY,
     .fn = zremrangebyscore_cmd, .since = "1.2.0",
     .summary = "Remove all members in a sorted set within the given scores",
     .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the "
                   "number of elements removed by the operation.",
     .acl = "@write @sortedset @slow", .args = "key min max"},
    {.name = "zremrangebylex", .arity = 4, .flags = CMD_WRITE, ZKEY, .fn = zremrangebylex_cmd,
     .since = "2.8.9",
     .summary = "Remove all members in a sorted set between the given lexicographical range",
     .complexity = "O(log(N)+M) with N being the number of elements in the sorted set and M the "
                   "number of elements removed by the operation.",
     .acl = "@write @sortedset @slow", .args = "key min max"},
    {.name = "zunion", .arity = -3, .flags = CMD_READONLY | CMD_MOVABLE_KEYS, ZNOKEY,
     .fn = zunion_cmd, .getkeys = numkeys_getkeys, .since = "6.2.0",
     .summary = "Add multiple sorted sets",
     .complexity = "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, "
                   "and M being the number of elements in the resulting sorted set.",
     .acl = "@read @sortedset @slow",
     .args = "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] "
             "[WITHSCORES]"},
    {.name = "zinter", .arity = -3, .flags = CMD_READONLY | CMD_MOVABLE_KEYS, ZNOKEY,
     .fn = zinter_cmd, .getkeys = numkeys_getkeys, .since = "6.2.0",
     .summary = "Intersect multiple sorted sets",
     .complexity = "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K "
                   "being the number of input sorted sets and M being the number of elements in "
                   "the resulting sorted set.",
     .acl = "@read @sortedset @slow",
     .args = "numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] "
             "[WITHSCORES]"},
    {.name = "zdiff", .arity = -3, .flags = CMD_READONLY | CMD_MOVABLE_KEYS, ZNOKEY,
     .fn = zdiff_cmd, .getkeys = numkeys_getkeys, .since = "6.2.0",
     .summary = "Subtract multiple sorted sets",
     .complexity = "O(L + (N-K)log(N)) worst case where L is the total number of elements in "
                   "all the sets, N is the size of the first set, and K is the size of the "
                   "result set.",
     .acl = "@read @sortedset @slow", .args = "numkeys key [key ...] [WITHSCORES]"},
    {.name = "zunionstore", .arity = -4, .flags = CMD_WRITE | CMD_DENYOOM | CMD_MOVABLE_KEYS,
     ZKEY, .fn = zunionstore_cmd, .getkeys = store_getkeys, .since = "2.0.0",
     .summary = "Add multiple sorted sets and store the resulting sorted set in a new key",
     .complexity = "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, "
                   "and M being the number of elements in the resulting sorted set.",
     .acl = "@write @sortedset @slow",
     .args = "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] "
             "[AGGREGATE SUM|MIN|MAX]"},
    {.name = "zinterstore", .arity = -4, .flags = CMD_WRITE | CMD_DENYOOM | CMD_MOVABLE_KEYS,
     ZKEY, .fn = zinterstore_cmd, .getkeys = store_getkeys, .since = "2.0.0",
     .summary = "Intersect multiple sorted sets and store the resulting sorted set in a new key",
     .complexity = "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K "
                   "being the number of input sorted sets and M being the number of elements in "
                   "the resulting sorted set.",
     .acl = "@write @sortedset @slow",
     .args = "destination numkeys key [key ...] [WEIGHTS weight [weight ...]] "
             "[AGGREGATE SUM|MIN|MAX]"},
    {.name = "zdiffstore", .arity = -4, .flags = CMD_WRITE | CMD_DENYOOM | CMD_MOVABLE_KEYS,
     ZKEY, .fn = zdiffstore_cmd, .getkeys = store_getkeys, .since = "6.2.0",
     .summary = "Subtract multiple sorted sets and store the resulting sorted set in a new key",
     .complexity = "O(L + (N-K)log(N)) worst case where L is the total number of elements in "
                   "all the sets, N is the size of the first set, and K is the size of the "
                   "result set.",
     .acl = "@write @sortedset @slow", .args = "destination numkeys key [key ...]"},
    {.name = "zintercard", .arity = -3, .flags = CMD_READONLY | CMD_MOVABLE_KEYS, ZNOKEY,
     .fn = zintercard_cmd, .getkeys = numkeys_getkeys, .since = "7.0.0",
     .summary = "Intersect multiple sorted sets and return the cardinality of the result",
     .complexity = "O(N*K) worst case with N being the smallest input sorted set, K being the "
                   "number of input sorted sets.",
     .acl = "@read @sortedset @slow", .args = "numkeys key [key ...] [LIMIT limit]"},
    {.name = "zrandmember", .arity = -2, .flags = CMD_READONLY, ZKEY, .fn = zrandmember_cmd,
     .since = "6.2.0", .summary = "Get one or multiple random elements from a sorted set",
     .complexity = "O(N) where N is the number of elements returned",
     .acl = "@read @sortedset @slow", .args = "key [count [WITHSCORES]]",
     .tips = "nondeterministic_output"},
    {.name = "zscan", .arity = -3, .flags = CMD_READONLY, ZKEY, .fn = zscan_cmd,
     .since = "2.8.0", .summary = "Incrementally iterate sorted sets elements and associated scores",
     .complexity = "O(1) for every call. O(N) for a complete iteration, including enough "
                   "command calls for the cursor to return back to 0. N is the number of "
                   "elements inside the collection..",
     .acl = "@read @sortedset @slow", .args = "key cursor [MATCH pattern] [COUNT count]",
     .tips = "nondeterministic_output"},
    {0},
};
