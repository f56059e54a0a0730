/* SORT and SORT_RO, with Redis 7.0's options, replies (RESP2/RESP3) and
 * error texts (sort.c, db.c's sortGetKeys).
 *
 *     SORT key [BY pattern] [LIMIT offset count] [GET pattern ...]
 *          [ASC|DESC] [ALPHA] [STORE destination]
 *
 * The elements of a list, set or sorted set (a missing key is an empty
 * list) are copied into a vector, given a sort value, sorted, cut to the
 * LIMIT range and replied (or, with GET, each replaced by the values its
 * patterns name), or stored as a list in destination.
 *
 * Determinism: the sort is keel's own stable merge sort, so elements whose
 * sort values compare equal (only possible with ALPHA BY) keep their input
 * order, in both directions; ALPHA compares bytes (memcmp, the shorter
 * first on a common prefix) where Redis uses strcoll, so the order never
 * depends on a locale. A set's input order is its own iteration order
 * (ascending for an intset, table order for a hashtable: a function of the
 * operations and the seed); a sorted set's is its score order.
 *
 * Options are read first (a syntax or LIMIT error is replied before the key
 * is looked up), as Redis does. Pattern lookups are reads: they count
 * keyspace hits and misses and may delete expired keys, so no kentry or
 * view is kept across one; the elements are copied out of the value first. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"
#include "core/store/hash.h"
#include "core/store/list.h"
#include "core/store/set.h"
#include "core/store/zset.h"

#define ERR_SORT_DOUBLE "One or more scores can't be converted into double"

/* ------------------------------------------------------------------------ */
/* The vector */

/* One element to sort. Its bytes, and with ALPHA BY the value it sorts by,
 * live in the sorter's arena (as offsets: the arena grows while loading). */
typedef struct sort_item {
    size_t off, len;
    size_t cmp_off, cmp_len;
    bool has_cmp; /* ALPHA BY found a value (a missing one sorts first) */
    double score; /* numeric sort: the element's or BY value's double */
} sort_item;

typedef struct sorter {
    cmd_ctx *x;
    kbuf arena;     /* element bytes, then ALPHA BY values */
    sort_item *v;
    size_t n, cap;  /* cap: the element count, known before loading */
    kbuf key;       /* scratch: a key name built from a pattern */
    bool alpha, by, desc;
} sorter;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

static void add_item(sorter *s, const char *p, size_t len)
{
    if (s->n == s->cap)
        return; /* cannot happen: cap is the element count */
    sort_item *it = &s->v[s->n++];
    memset(it, 0, sizeof(*it));
    it->off = s->arena.len;
    it->len = len;
    kbuf_append(&s->arena, p, len);
}

static void add_set_member(void *ctx, const char *m, size_t len) { add_item(ctx, m, len); }

static bool add_zset_member(void *ctx, const char *m, size_t mlen, double score)
{
    (void)score;
    add_item(ctx, m, mlen);
    return true;
}

static const char *item_ptr(const sorter *s, const sort_item *it) { return s->arena.data + it->off; }

/* ------------------------------------------------------------------------ */
/* Patterns */

/* The length of a as a C string: Redis reads patterns with strchr/strstr,
 * which stop at the first NUL. */
static size_t cstr_len(const resp_slice *a)
{
    const char *nul = memchr(a->ptr, '\0', a->len);
    return nul ? (size_t)(nul - a->ptr) : a->len;
}

/* BY with a pattern without '*' means "do not sort". */
static bool has_star(const resp_slice *a) { return memchr(a->ptr, '*', cstr_len(a)) != NULL; }

enum { PAT_NONE, PAT_SELF, PAT_VALUE };

/* Redis's lookupKeyByPattern for element (el, ellen): "#" names the element
 * itself (PAT_SELF). Otherwise the first '*' is replaced by the element to
 * make a key name; a "->" after the '*' followed by at least one byte
 * makes the rest a hash field to read. The value is a string key's value or
 * the hash field's (PAT_VALUE, *v valid until the next db write); a pattern
 * without '*', a missing key or field, or a key of another type is
 * PAT_NONE. */
static int pattern_lookup(sorter *s, const resp_slice *pat, const char *el, size_t ellen,
                          const char **v, size_t *vlen, char tmp[KSTR_TMP])
{
    const char *sp = pat->ptr;
    if (pat->len >= 1 && sp[0] == '#' && (pat->len == 1 || sp[1] == '\0'))
        return PAT_SELF;
    size_t clen = cstr_len(pat);
    const char *star = memchr(sp, '*', clen);
    if (star == NULL)
        return PAT_NONE;
    size_t prefix = (size_t)(star - sp);
    const char *field = NULL;
    size_t fieldlen = 0;
    for (size_t i = prefix + 1; i + 1 < clen; i++) {
        if (sp[i] == '-' && sp[i + 1] == '>') {
            if (i + 2 < clen) { /* not at the end: a field follows */
                field = sp + i + 2;
                fieldlen = pat->len - (i + 2);
            }
            break;
        }
    }
    size_t postfix = pat->len - prefix - 1 - (field ? fieldlen + 2 : 0);
    kbuf_clear(&s->key);
    kbuf_append(&s->key, sp, prefix);
    kbuf_append(&s->key, el, ellen);
    kbuf_append(&s->key, star + 1, postfix);
    cmd_ctx *x = s->x;
    kentry *e = db_find_read(x->db, s->key.data ? s->key.data : "", s->key.len, x->now_ms);
    if (e == NULL)
        return PAT_NONE;
    if (field) {
        if (kentry_type(e) != OBJ_HASH)
            return PAT_NONE;
        return khash_get(kentry_obj(e), field, fieldlen, v, vlen) ? PAT_VALUE : PAT_NONE;
    }
    if (kentry_type(e) != OBJ_STRING)
        return PAT_NONE;
    *vlen = kentry_str(e, v, tmp);
    return PAT_VALUE;
}

/* Redis's numeric sort value: strtod over the bytes as a C string (so it
 * ends at a NUL; leading spaces, hex, "inf" accepted; "" is 0); anything
 * left over, a range error or NaN is refused. */
static bool parse_score(const char *p, size_t n, double *out)
{
    char buf[128];
    char *s = n < sizeof(buf) ? buf : xmalloc(n + 1);
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    bool ok = *end == '\0' && errno != ERANGE && !isnan(v);
    if (s != buf)
        free(s);
    *out = v;
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Sorting */

/* Redis's sortCompare, with bytes for strcoll. */
static int item_cmp(const sorter *s, const sort_item *a, const sort_item *b)
{
    int c;
    if (!s->alpha) {
        if (a->score > b->score)
            c = 1;
        else if (a->score < b->score)
            c = -1;
        else
            c = kbytes_cmp(item_ptr(s, a), a->len, item_ptr(s, b), b->len);
    } else if (s->by) {
        if (!a->has_cmp || !b->has_cmp)
            c = a->has_cmp == b->has_cmp ? 0 : a->has_cmp ? 1 : -1;
        else
            c = kbytes_cmp(s->arena.data + a->cmp_off, a->cmp_len, s->arena.data + b->cmp_off,
                          b->cmp_len);
    } else {
        c = kbytes_cmp(item_ptr(s, a), a->len, item_ptr(s, b), b->len);
    }
    return s->desc ? -c : c;
}

/* A stable bottom-up merge sort of s->v (ties keep their input order). */
static void sort_items(sorter *s)
{
    size_t n = s->n;
    if (n < 2)
        return;
    sort_item *a = s->v, *b = xmalloc(n * sizeof(*b));
    for (size_t w = 1; w < n; w = w > n / 2 ? n : w * 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n;
            size_t hi = mid + w < n ? mid + w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                b[k++] = item_cmp(s, &a[j], &a[i]) < 0 ? a[j++] : a[i++];
            while (i < mid)
                b[k++] = a[i++];
            while (j < hi)
                b[k++] = a[j++];
            if (hi == n)
                break;
        }
        sort_item *t = a;
        a = b;
        b = t;
    }
    if (a != s->v) {
        memcpy(s->v, a, n * sizeof(*a));
        free(a);
    } else {
        free(b);
    }
}

/* ------------------------------------------------------------------------ */
/* SORT SORT_RO */

static void sort_generic(cmd_ctx *x, bool readonly)
{
    bool desc = false, alpha = false, dontsort = false;
    long long limit_start = 0, limit_count = -1;
    const resp_slice *sortby = NULL, *storekey = NULL;
    int *gets = xmalloc((size_t)x->argc * sizeof(int));
    int ngets = 0;
    sorter s = {.x = x, .arena = KBUF_INIT, .key = KBUF_INIT};
    kbuf_reserve(&s.arena, 64); /* never NULL, even if every element is "" */

    for (int j = 2; j < x->argc; j++) {
        const resp_slice *a = &x->argv[j];
        int left = x->argc - j - 1;
        if (arg_is(a, "asc")) {
            desc = false;
        } else if (arg_is(a, "desc")) {
            desc = true;
        } else if (arg_is(a, "alpha")) {
            alpha = true;
        } else if (arg_is(a, "limit") && left >= 2) {
            if (!arg_ll(x, &x->argv[j + 1], &limit_start, NULL) ||
                !arg_ll(x, &x->argv[j + 2], &limit_count, NULL))
                goto out;
            j += 2;
        } else if (!readonly && arg_is(a, "store") && left >= 1) {
            storekey = &x->argv[++j];
        } else if (arg_is(a, "by") && left >= 1) {
            sortby = &x->argv[++j];
            /* A constant pattern: nothing to sort by. (BY and GET patterns
             * are refused in cluster mode by Redis; keel has none yet.) */
            if (!has_star(sortby))
                dontsort = true;
        } else if (arg_is(a, "get") && left >= 1) {
            gets[ngets++] = ++j;
        } else {
            reply_error(x, ERR_SYNTAX);
            goto out;
        }
    }

    kentry *e = lookup_read(x, &x->argv[1], -1, NULL);
    int type = e ? kentry_type(e) : OBJ_LIST;
    if (type != OBJ_LIST && type != OBJ_SET && type != OBJ_ZSET) {
        reply_error(x, ERR_WRONGTYPE);
        goto out;
    }
    /* A set's order is not its own: when storing (and, in Redis, inside a
     * script, which keel does not run yet) the output is sorted anyway. */
    if (dontsort && type == OBJ_SET && storekey) {
        dontsort = false;
        alpha = true;
        sortby = NULL;
    }
    void *obj = e ? kentry_obj(e) : NULL;
    long long len = obj == NULL          ? 0
                    : type == OBJ_LIST ? (long long)klist_len(obj)
                    : type == OBJ_SET  ? (long long)kset_len(obj)
                                       : (long long)kzset_len(obj);

    /* LIMIT, clamped to the size as Redis does (no overflow either). */
    long long start = limit_start < 0 ? 0 : limit_start;
    if (start > len)
        start = len;
    long long count = limit_count < -1 ? -1 : limit_count;
    if (count > len)
        count = len;
    long long end = count < 0 ? len - 1 : start + count - 1;
    if (start >= len) {
        start = len - 1;
        end = len - 2;
    }
    if (end >= len)
        end = len - 1;

    /* A list or sorted set left in its own order only loads the range. */
    long long vlen = len;
    bool direct = (type == OBJ_LIST || type == OBJ_ZSET) && dontsort;
    if (direct && (start != 0 || end != len - 1))
        vlen = end - start + 1 > 0 ? end - start + 1 : 0;
    s.cap = (size_t)vlen;
    s.v = xmalloc(s.cap * sizeof(sort_item));

    if (type == OBJ_LIST && dontsort) {
        if (end >= start) {
            klist_iter it;
            klist_iter_init(&it, obj, desc ? len - start - 1 : start,
                            desc ? KLIST_HEAD : KLIST_TAIL);
            const char *p;
            size_t n;
            while (s.n < s.cap && klist_iter_next(&it, &p, &n))
                add_item(&s, p, n);
            end -= start;
            start = 0;
        }
    } else if (type == OBJ_LIST) {
        if (obj) {
            klist_iter it;
            klist_iter_init(&it, obj, 0, KLIST_TAIL);
            const char *p;
            size_t n;
            while (s.n < s.cap && klist_iter_next(&it, &p, &n))
                add_item(&s, p, n);
        }
    } else if (type == OBJ_SET) {
        kset_for_each(obj, add_set_member, &s);
    } else if (dontsort) {
        if (vlen > 0)
            kzset_walk(obj, (size_t)(desc ? len - 1 - start : start), (size_t)vlen, desc,
                       add_zset_member, &s);
        end -= start;
        start = 0;
    } else {
        kzset_for_each(obj, add_zset_member, &s);
    }
    e = NULL;
    obj = NULL; /* the lookups below may write to the db */
    if (end >= (long long)s.n) /* never: the vector holds the range */
        end = (long long)s.n - 1;

    bool conv_error = false;
    if (!dontsort) {
        for (size_t i = 0; i < s.n; i++) {
            sort_item *it = &s.v[i];
            const char *bv = item_ptr(&s, it);
            size_t bl = it->len;
            char tmp[KSTR_TMP];
            int found = PAT_SELF;
            if (sortby) {
                found = pattern_lookup(&s, sortby, bv, bl, &bv, &bl, tmp);
                if (found == PAT_NONE)
                    continue;
            }
            if (alpha) {
                if (sortby) {
                    it->has_cmp = true;
                    if (found == PAT_SELF) {
                        it->cmp_off = it->off;
                        it->cmp_len = it->len;
                    } else {
                        it->cmp_off = s.arena.len;
                        it->cmp_len = bl;
                        kbuf_append(&s.arena, bv, bl);
                    }
                }
            } else if (!parse_score(bv, bl, &it->score)) {
                conv_error = true;
            }
        }
        if (!conv_error) {
            s.alpha = alpha;
            s.by = sortby != NULL;
            s.desc = desc;
            sort_items(&s);
        }
    }

    long long rows = end - start + 1 > 0 ? end - start + 1 : 0;
    long long outlen = ngets ? ngets * rows : rows;
    if (conv_error) {
        reply_error(x, ERR_SORT_DOUBLE);
    } else if (storekey == NULL) {
        reply_array(x, outlen);
        for (long long j = start; j <= end; j++) {
            const sort_item *it = &s.v[j];
            if (!ngets)
                reply_bulk(x, item_ptr(&s, it), it->len);
            for (int g = 0; g < ngets; g++) {
                const char *v;
                size_t vl;
                char tmp[KSTR_TMP];
                int r = pattern_lookup(&s, &x->argv[gets[g]], item_ptr(&s, it), it->len, &v,
                                       &vl, tmp);
                if (r == PAT_NONE)
                    reply_null(x);
                else if (r == PAT_SELF)
                    reply_bulk(x, item_ptr(&s, it), it->len);
                else
                    reply_bulk(x, v, vl);
            }
        }
    } else {
        klist *l = klist_new(x->eng->cfg.list_max_listpack_size);
        for (long long j = start; j <= end; j++) {
            const sort_item *it = &s.v[j];
            if (!ngets)
                klist_push(l, KLIST_TAIL, item_ptr(&s, it), it->len);
            for (int g = 0; g < ngets; g++) {
                const char *v;
                size_t vl;
                char tmp[KSTR_TMP];
                int r = pattern_lookup(&s, &x->argv[gets[g]], item_ptr(&s, it), it->len, &v,
                                       &vl, tmp);
                if (r == PAT_NONE)
                    klist_push(l, KLIST_TAIL, "", 0);
                else if (r == PAT_SELF)
                    klist_push(l, KLIST_TAIL, item_ptr(&s, it), it->len);
                else
                    klist_push(l, KLIST_TAIL, v, vl);
            }
        }
        if (outlen) {
            db_set_obj(x->db, storekey->ptr, storekey->len, OBJ_LIST, klist_enc(l), l, -1);
            cmd_dirty(x, outlen);
        } else {
            /* An empty result deletes the destination (and WATCH sees it). */
            klist_free(l);
            if (db_delete(x->db, storekey->ptr, storekey->len, x->now_ms))
                cmd_dirty(x, 1);
        }
        reply_int(x, outlen);
    }

out:
    free(gets);
    free(s.v);
    kbuf_free(&s.arena);
    kbuf_free(&s.key);
}

static void sort_cmd(cmd_ctx *x) { sort_generic(x, false); }
static void sort_ro_cmd(cmd_ctx *x) { sort_generic(x, true); }

/* Redis's sortGetKeys: the key, and the argument after the last STORE,
 * skipping the arguments of LIMIT (2), GET and BY (1) on the way. */
static int sort_getkeys(int argc, const resp_slice *argv, int *keys)
{
    if (argc < 2)
        return 0;
    int n = 0, store = 0;
    keys[n++] = 1;
    for (int i = 2; i < argc; i++) {
        if (arg_is(&argv[i], "limit"))
            i += 2;
        else if (arg_is(&argv[i], "get") || arg_is(&argv[i], "by"))
            i += 1;
        else if (arg_is(&argv[i], "store") && i + 1 < argc)
            store = i + 1;
    }
    if (store)
        keys[n++] = store;
    return n;
}

static int sort_ro_getkeys(int argc, const resp_slice *argv, int *keys)
{
    (void)argv;
    if (argc < 2)
        return 0;
    keys[0] = 1;
    return 1;
}

#define SORT_COMPLEXITY                                                                       \
    "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the " \
    "number of returned elements. When the elements are not sorted, complexity is O(N)."

const cmd_def cmd_sort[] = {
    {.name = "sort", .arity = -2, .flags = CMD_WRITE | CMD_DENYOOM | CMD_MOVABLE_KEYS,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = sort_cmd, .getkeys = sort_getkeys, .group = "generic", .since = "1.0.0",
     .summary = "Sort the elements in a list, set or sorted set",
     .complexity = SORT_COMPLEXITY,
     .acl = "@write @set @sortedset @list @slow @dangerous",
     .args = "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] "
             "[ASC|DESC] [ALPHA] [STORE destination]"},
    {.name = "sort_ro", .arity = -2, .flags = CMD_READONLY | CMD_MOVABLE_KEYS,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = sort_ro_cmd, .getkeys = sort_ro_getkeys, .group = "generic", .since = "7.0.0",
     .summary = "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
     .complexity = SORT_COMPLEXITY,
     .acl = "@read @set @sortedset @list @slow @dangerous",
     .args = "key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] "
             "[ASC|DESC] [ALPHA]"},
    {0},
};
