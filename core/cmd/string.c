/* The string family: GET SET SETNX SETEX PSETEX MGET MSET MSETNX GETSET
 * GETDEL GETEX APPEND STRLEN INCR DECR INCRBY DECRBY INCRBYFLOAT GETRANGE
 * SUBSTR SETRANGE LCS, with Redis 7.0's replies, errors and argument rules
 * (t_string.c is the reference).
 *
 * Values are stored as Redis would encode them: SET-like commands let
 * db_set_str pick INT, EMBSTR or RAW; counters are INT; INCRBYFLOAT stores
 * its text (EMBSTR or RAW); APPEND and SETRANGE edit a RAW buffer in place
 * and report the change with db_signal_modified. Commands that overwrite a
 * value (INCR, INCRBYFLOAT) keep the key's TTL; SET, GETSET and MSET drop
 * it unless SET is given KEEPTTL. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"

/* ------------------------------------------------------------------------ */
/* Helpers */

/* Redis matches option words with strcasecmp on NUL-terminated arguments,
 * so a NUL inside an argument ends the word there. */
static bool opt_is(const resp_slice *a, const char *word)
{
    const char *nul = memchr(a->ptr, '\0', a->len);
    resp_slice s = {a->ptr, nul ? (size_t)(nul - a->ptr) : a->len};
    return arg_is(&s, word);
}

/* Redis's checkStringLength: may a string of `size` bytes grow by `append`
 * more? Replies the error when not. */
static bool check_len(cmd_ctx *x, long long size, size_t append)
{
    long long max = x->eng->cfg.proto_max_bulk_len;
    if ((unsigned long long)append > (unsigned long long)LLONG_MAX - (unsigned long long)size ||
        size + (long long)append > max) {
        reply_error(x, ERR_STRING_TOO_LONG);
        return false;
    }
    return true;
}

/* The bytes of a string entry (INT values rendered into tmp). */
static size_t entry_bytes(const kentry *e, const char **p, char tmp[KSTR_TMP])
{
    return kentry_str(e, p, tmp);
}

/* Redis's string2ld rules for a long double: as arg_ld, and no longer than
 * MAX_LONG_DOUBLE_CHARS (5 KiB). Replies ERR_NOT_FLOAT on failure. */
#define MAX_LONG_DOUBLE_CHARS (5 * 1024)
static bool parse_ld(cmd_ctx *x, const char *p, size_t len, long double *out)
{
    resp_slice s = {p, len};
    if (len >= MAX_LONG_DOUBLE_CHARS) {
        reply_error(x, ERR_NOT_FLOAT);
        return false;
    }
    return arg_ld(x, &s, out, NULL);
}

/* ------------------------------------------------------------------------ */
/* SET and its options (shared with GETEX) */

#define F_NX (1 << 0)
#define F_XX (1 << 1)
#define F_EX (1 << 2)
#define F_PX (1 << 3)
#define F_KEEPTTL (1 << 4)
#define F_GET (1 << 5)
#define F_EXAT (1 << 6)
#define F_PXAT (1 << 7)
#define F_PERSIST (1 << 8)
#define F_ANY_EXPIRE (F_EX | F_PX | F_EXAT | F_PXAT)

/* Redis's parseExtendedStringArgumentsOrReply: the options of SET (from
 * argv[3]) or GETEX (from argv[2]), with its exact rules on which options
 * exclude which. Sets *flags and *expire (the time argument, or NULL). */
static bool parse_ext_args(cmd_ctx *x, bool is_set, int *flags, const resp_slice **expire)
{
    for (int j = is_set ? 3 : 2; j < x->argc; j++) {
        const resp_slice *opt = &x->argv[j];
        const resp_slice *next = j == x->argc - 1 ? NULL : &x->argv[j + 1];
        int f = *flags;
        if (is_set && opt_is(opt, "nx") && !(f & F_XX)) {
            *flags |= F_NX;
        } else if (is_set && opt_is(opt, "xx") && !(f & F_NX)) {
            *flags |= F_XX;
        } else if (is_set && opt_is(opt, "get")) {
            *flags |= F_GET;
        } else if (is_set && opt_is(opt, "keepttl") && !(f & (F_PERSIST | F_ANY_EXPIRE))) {
            *flags |= F_KEEPTTL;
        } else if (!is_set && opt_is(opt, "persist") && !(f & (F_ANY_EXPIRE | F_KEEPTTL))) {
            *flags |= F_PERSIST;
        } else if (opt_is(opt, "ex") && next &&
                   !(f & (F_KEEPTTL | F_PERSIST | F_EXAT | F_PX | F_PXAT))) {
            *flags |= F_EX;
            *expire = next;
            j++;
        } else if (opt_is(opt, "px") && next &&
                   !(f & (F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PXAT))) {
            *flags |= F_PX;
            *expire = next;
            j++;
        } else if (opt_is(opt, "exat") && next &&
                   !(f & (F_KEEPTTL | F_PERSIST | F_EX | F_PX | F_PXAT))) {
            *flags |= F_EXAT;
            *expire = next;
            j++;
        } else if (opt_is(opt, "pxat") && next &&
                   !(f & (F_KEEPTTL | F_PERSIST | F_EX | F_EXAT | F_PX))) {
            *flags |= F_PXAT;
            *expire = next;
            j++;
        } else {
            reply_error(x, ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

/* Redis's getExpireMillisecondsOrReply: the absolute deadline (ms) that the
 * time argument a means. EX/EXAT count seconds, PX/PXAT milliseconds; EX/PX
 * are relative to now. Zero, negative and overflowing times are refused
 * with "invalid expire time in '<cmd>' command". */
static bool expire_ms(cmd_ctx *x, const resp_slice *a, int flags, long long *out)
{
    long long v;
    if (!arg_ll(x, a, &v, NULL))
        return false;
    bool seconds = (flags & (F_EX | F_EXAT)) != 0;
    if (v <= 0 || (seconds && v > LLONG_MAX / 1000))
        goto invalid;
    if (seconds)
        v *= 1000;
    if (flags & (F_EX | F_PX)) {
        /* Redis adds and then checks for a wrap to <= 0. */
        if (x->now_ms > 0 && v > LLONG_MAX - x->now_ms)
            goto invalid;
        v += x->now_ms;
        if (v <= 0)
            goto invalid;
    }
    *out = v;
    return true;
invalid:
    reply_errorf(x, "invalid expire time in '%s' command", x->cmd->fullname);
    return false;
}


/* Redis's setGenericCommand: SET, SETNX, SETEX, PSETEX. The reply is +OK
 * (:1 for SETNX) when the value is set and a null bulk (:0 for SETNX) when
 * NX/XX stops it; with GET it is the old value either way. The checks run
 * in Redis's order: the time, then GET's type check, then NX/XX. */
static void set_generic(cmd_ctx *x, int flags, const resp_slice *key, const resp_slice *val,
                        const resp_slice *expire, bool int_replies)
{
    long long deadline = -1;
    if (expire && !expire_ms(x, expire, flags, &deadline))
        return;

    if (flags & F_GET) {
        bool wrongtype;
        kentry *old = lookup_read(x, key, OBJ_STRING, &wrongtype);
        if (wrongtype)
            return;
        if (old)
            reply_entry_str(x, old);
        else
            reply_null(x);
    }

    kentry *e = lookup_write(x, key, -1, NULL);
    if (((flags & F_NX) && e) || ((flags & F_XX) && !e)) {
        if (!(flags & F_GET)) {
            if (int_replies)
                reply_int(x, 0);
            else
                reply_null(x);
        }
        return;
    }

    if (!expire)
        deadline = (flags & F_KEEPTTL) && e ? kentry_deadline(e) : -1;
    /* A deadline already past (EXAT/PXAT) is stored as given: the key is
     * logically gone at once and is reclaimed as expired, as in Redis 7.0. */
    db_set_str(x->db, key->ptr, key->len, val->ptr, val->len, deadline);
    cmd_dirty(x, 1);

    if (!(flags & F_GET)) {
        if (int_replies)
            reply_int(x, 1);
        else
            reply_ok(x);
    }
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL] */
static void set_cmd(cmd_ctx *x)
{
    int flags = 0;
    const resp_slice *expire = NULL;
    if (!parse_ext_args(x, true, &flags, &expire))
        return;
    set_generic(x, flags, &x->argv[1], &x->argv[2], expire, false);
}

/* SETNX key value */
static void setnx_cmd(cmd_ctx *x)
{
    set_generic(x, F_NX, &x->argv[1], &x->argv[2], NULL, true);
}

/* SETEX key seconds value */
static void setex_cmd(cmd_ctx *x)
{
    set_generic(x, F_EX, &x->argv[1], &x->argv[3], &x->argv[2], false);
}

/* PSETEX key milliseconds value */
static void psetex_cmd(cmd_ctx *x)
{
    set_generic(x, F_PX, &x->argv[1], &x->argv[3], &x->argv[2], false);
}

/* ------------------------------------------------------------------------ */
/* Reads */

/* Redis's getGenericCommand: replies with the value of argv[1] (null if
 * absent). Returns false after a WRONGTYPE reply; *out is the entry. */
static bool get_generic(cmd_ctx *x, kentry **out)
{
    bool wrongtype;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_STRING, &wrongtype);
    if (out)
        *out = e;
    if (wrongtype)
        return false;
    if (e)
        reply_entry_str(x, e);
    else
        reply_null(x);
    return true;
}

/* GET key */
static void get_cmd(cmd_ctx *x)
{
    get_generic(x, NULL);
}

/* GETDEL key */
static void getdel_cmd(cmd_ctx *x)
{
    kentry *e;
    if (!get_generic(x, &e) || e == NULL)
        return;
    db_delete_entry(x->db, e);
    cmd_dirty(x, 1);
}

/* GETSET key value: SET that replies with the old value; drops the TTL. */
static void getset_cmd(cmd_ctx *x)
{
    if (!get_generic(x, NULL))
        return;
    db_set_str(x->db, x->argv[1].ptr, x->argv[1].len, x->argv[2].ptr, x->argv[2].len, -1);
    cmd_dirty(x, 1);
}

/* GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST]: GET, then changes the
 * TTL. An EXAT/PXAT already past deletes the key (after the reply). The
 * time is validated only when the key exists, as in Redis. */
static void getex_cmd(cmd_ctx *x)
{
    int flags = 0;
    const resp_slice *expire = NULL;
    if (!parse_ext_args(x, false, &flags, &expire))
        return;
    bool wrongtype;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_STRING, &wrongtype);
    if (wrongtype)
        return;
    if (e == NULL) {
        reply_null(x);
        return;
    }
    long long deadline = 0;
    if (expire && !expire_ms(x, expire, flags, &deadline))
        return;
    reply_entry_str(x, e);

    if ((flags & (F_EXAT | F_PXAT)) && deadline <= x->now_ms) {
        db_delete_entry(x->db, e);
        cmd_dirty(x, 1);
    } else if (expire) {
        db_set_deadline(x->db, &e, deadline);
        cmd_dirty(x, 1);
    } else if ((flags & F_PERSIST) && kentry_deadline(e) >= 0) {
        db_set_deadline(x->db, &e, -1);
        cmd_dirty(x, 1);
    }
}

/* MGET key [key ...]: a null for absent keys and keys of other types. */
static void mget_cmd(cmd_ctx *x)
{
    reply_array(x, x->argc - 1);
    for (int j = 1; j < x->argc; j++) {
        kentry *e = lookup_read(x, &x->argv[j], -1, NULL);
        if (e == NULL || kentry_type(e) != OBJ_STRING)
            reply_null(x);
        else
            reply_entry_str(x, e);
    }
}

/* STRLEN key */
static void strlen_cmd(cmd_ctx *x)
{
    bool wrongtype;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_STRING, &wrongtype);
    if (wrongtype)
        return;
    if (e == NULL) {
        reply_int(x, 0);
        return;
    }
    char tmp[KSTR_TMP];
    const char *p;
    reply_int(x, (long long)entry_bytes(e, &p, tmp));
}

/* GETRANGE key start end (and SUBSTR): inclusive, negative indexes count
 * from the end, out-of-range parts are clipped. */
static void getrange_cmd(cmd_ctx *x)
{
    long long start, end;
    if (!arg_ll(x, &x->argv[2], &start, NULL) || !arg_ll(x, &x->argv[3], &end, NULL))
        return;
    bool wrongtype;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_STRING, &wrongtype);
    if (wrongtype)
        return;
    if (e == NULL) {
        reply_bulk(x, "", 0);
        return;
    }
    char tmp[KSTR_TMP];
    const char *p;
    long long len = (long long)entry_bytes(e, &p, tmp);

    if (start < 0 && end < 0 && start > end) {
        reply_bulk(x, "", 0);
        return;
    }
    if (start < 0)
        start += len;
    if (end < 0)
        end += len;
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if (end >= len)
        end = len - 1;
    if (start > end || len == 0)
        reply_bulk(x, "", 0);
    else
        reply_bulk(x, p + start, (size_t)(end - start + 1));
}

/* ------------------------------------------------------------------------ */
/* Writes */

/* MSET / MSETNX key value [key value ...] */
static void mset_generic(cmd_ctx *x, bool nx)
{
    if (x->argc % 2 == 0) {
        reply_errorf(x, "wrong number of arguments for '%s' command", x->cmd->fullname);
        return;
    }
    if (nx) {
        for (int j = 1; j < x->argc; j += 2) {
            if (lookup_write(x, &x->argv[j], -1, NULL) != NULL) {
                reply_int(x, 0);
                return;
            }
        }
    }
    for (int j = 1; j < x->argc; j += 2)
        db_set_str(x->db, x->argv[j].ptr, x->argv[j].len, x->argv[j + 1].ptr,
                   x->argv[j + 1].len, -1);
    cmd_dirty(x, (x->argc - 1) / 2);
    if (nx)
        reply_int(x, 1);
    else
        reply_ok(x);
}

static void mset_cmd(cmd_ctx *x) { mset_generic(x, false); }
static void msetnx_cmd(cmd_ctx *x) { mset_generic(x, true); }

/* APPEND key value: creates the key (encoded as SET would) or appends in
 * place; replies with the new length. */
static void append_cmd(cmd_ctx *x)
{
    const resp_slice *key = &x->argv[1], *v = &x->argv[2];
    bool wrongtype;
    kentry *e = lookup_write(x, key, OBJ_STRING, &wrongtype);
    if (wrongtype)
        return;
    size_t total;
    if (e == NULL) {
        db_set_str(x->db, key->ptr, key->len, v->ptr, v->len, -1);
        total = v->len;
    } else {
        char tmp[KSTR_TMP];
        const char *p;
        size_t len = entry_bytes(e, &p, tmp);
        if (!check_len(x, (long long)len, v->len))
            return;
        kstr *s = db_str_mutable(x->db, &e, len + v->len);
        if (v->len)
            memcpy(s->data + s->len, v->ptr, v->len);
        s->len += v->len;
        total = s->len;
        db_signal_modified(x->db, key->ptr, key->len);
    }
    cmd_dirty(x, 1);
    reply_int(x, (long long)total);
}

/* SETRANGE key offset value: overwrites from offset, padding with zero
 * bytes; replies with the new length. An empty value changes nothing. */
static void setrange_cmd(cmd_ctx *x)
{
    const resp_slice *key = &x->argv[1], *v = &x->argv[3];
    long long offset;
    if (!arg_ll(x, &x->argv[2], &offset, NULL))
        return;
    if (offset < 0) {
        reply_error(x, "offset is out of range");
        return;
    }
    bool wrongtype;
    kentry *e = lookup_write(x, key, OBJ_STRING, &wrongtype);
    if (wrongtype)
        return;
    if (e == NULL) {
        if (v->len == 0) {
            reply_int(x, 0);
            return;
        }
        if (!check_len(x, offset, v->len))
            return;
        e = db_set_str_raw(x->db, key->ptr, key->len, "", 0, -1);
    } else {
        char tmp[KSTR_TMP];
        const char *p;
        size_t olen = entry_bytes(e, &p, tmp);
        if (v->len == 0) {
            reply_int(x, (long long)olen);
            return;
        }
        if (!check_len(x, offset, v->len))
            return;
    }
    size_t need = (size_t)offset + v->len;
    kstr *s = db_str_mutable(x->db, &e, need);
    if (s->len < need) {
        memset(s->data + s->len, 0, need - s->len);
        s->len = need;
    }
    memcpy(s->data + offset, v->ptr, v->len);
    db_signal_modified(x->db, key->ptr, key->len);
    cmd_dirty(x, 1);
    reply_int(x, (long long)s->len);
}

/* Redis's incrDecrCommand: adds incr to the integer at argv[1] (0 when
 * absent), keeping the key's TTL. */
static void incr_generic(cmd_ctx *x, long long incr)
{
    const resp_slice *key = &x->argv[1];
    bool wrongtype;
    kentry *e = lookup_write(x, key, OBJ_STRING, &wrongtype);
    if (wrongtype)
        return;
    long long v = 0;
    if (e) {
        if (kentry_enc(e) == ENC_INT) {
            v = kentry_int(e);
        } else {
            char tmp[KSTR_TMP];
            const char *p;
            size_t n = entry_bytes(e, &p, tmp);
            if (!resp_string2ll(p, n, &v)) {
                reply_error(x, ERR_NOT_INT);
                return;
            }
        }
    }
    if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) ||
        (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
        reply_error(x, ERR_OVERFLOW);
        return;
    }
    v += incr;
    db_set_int(x->db, key->ptr, key->len, v, e ? kentry_deadline(e) : -1);
    cmd_dirty(x, 1);
    reply_int(x, v);
}

static void incr_cmd(cmd_ctx *x) { incr_generic(x, 1); }
static void decr_cmd(cmd_ctx *x) { incr_generic(x, -1); }

/* INCRBY key increment */
static void incrby_cmd(cmd_ctx *x)
{
    long long incr;
    if (arg_ll(x, &x->argv[2], &incr, NULL))
        incr_generic(x, incr);
}

/* DECRBY key decrement */
static void decrby_cmd(cmd_ctx *x)
{
    long long decr;
    if (!arg_ll(x, &x->argv[2], &decr, NULL))
        return;
    if (decr == LLONG_MIN) {
        reply_error(x, "decrement would overflow");
        return;
    }
    incr_generic(x, -decr);
}

/* INCRBYFLOAT key increment: long double arithmetic; the result is stored
 * and replied as text ("%.17Lf" without trailing zeros), keeping the TTL. */
static void incrbyfloat_cmd(cmd_ctx *x)
{
    const resp_slice *key = &x->argv[1];
    bool wrongtype;
    kentry *e = lookup_write(x, key, OBJ_STRING, &wrongtype);
    if (wrongtype)
        return;
    long double v = 0, incr;
    if (e) {
        if (kentry_enc(e) == ENC_INT) {
            v = (long double)kentry_int(e);
        } else {
            char tmp[KSTR_TMP];
            const char *p;
            size_t n = entry_bytes(e, &p, tmp);
            if (!parse_ld(x, p, n, &v))
                return;
        }
    }
    if (!parse_ld(x, x->argv[2].ptr, x->argv[2].len, &incr))
        return;
    v += incr;
    if (isnan(v) || isinf(v)) {
        reply_error(x, "increment would produce NaN or Infinity");
        return;
    }
    char buf[FMT_LD_MAX];
    size_t n = fmt_long_double(buf, sizeof(buf), v);
    db_set_str_noint(x->db, key->ptr, key->len, buf, n, e ? kentry_deadline(e) : -1);
    cmd_dirty(x, 1);
    reply_bulk(x, buf, n);
}

/* ------------------------------------------------------------------------ */
/* LCS */

/* LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]: the longest
 * common subsequence by the dynamic-programming table, as Redis computes
 * it (same tie-breaking, so the same string and the same match ranges).
 * Missing keys are empty strings. */
static void lcs_cmd(cmd_ctx *x)
{
    kentry *ea = lookup_read(x, &x->argv[1], -1, NULL);
    kentry *eb = lookup_read(x, &x->argv[2], -1, NULL);
    if ((ea && kentry_type(ea) != OBJ_STRING) || (eb && kentry_type(eb) != OBJ_STRING)) {
        reply_error(x, "The specified keys must contain string values");
        return;
    }
    bool getlen = false, getidx = false, withmatchlen = false;
    long long minmatchlen = 0;
    for (int j = 3; j < x->argc; j++) {
        const resp_slice *opt = &x->argv[j];
        bool moreargs = j < x->argc - 1;
        if (opt_is(opt, "idx")) {
            getidx = true;
        } else if (opt_is(opt, "len")) {
            getlen = true;
        } else if (opt_is(opt, "withmatchlen")) {
            withmatchlen = true;
        } else if (opt_is(opt, "minmatchlen") && moreargs) {
            if (!arg_ll(x, &x->argv[j + 1], &minmatchlen, NULL))
                return;
            if (minmatchlen < 0)
                minmatchlen = 0;
            j++;
        } else {
            reply_error(x, ERR_SYNTAX);
            return;
        }
    }
    if (getlen && getidx) {
        reply_error(x, "If you want both the length and indexes, please just use IDX.");
        return;
    }

    /* The second lookup may have deleted an expired key: find both again
     * (nothing writes from here on, so the pointers stay valid). */
    ea = db_find(x->db, x->argv[1].ptr, x->argv[1].len, x->now_ms);
    eb = db_find(x->db, x->argv[2].ptr, x->argv[2].len, x->now_ms);
    char tmpa[KSTR_TMP], tmpb[KSTR_TMP];
    const char *a = "", *b = "";
    size_t alen_sz = ea ? entry_bytes(ea, &a, tmpa) : 0;
    size_t blen_sz = eb ? entry_bytes(eb, &b, tmpb) : 0;
    if (alen_sz >= UINT32_MAX - 1 || blen_sz >= UINT32_MAX - 1) {
        reply_error(x, "String too long for LCS");
        return;
    }
    uint32_t alen = (uint32_t)alen_sz, blen = (uint32_t)blen_sz;

    /* The table: lcs[i][j] is the LCS length of a[0..i) and b[0..j). */
    unsigned long long cells = (unsigned long long)(alen + 1ULL) * (blen + 1ULL);
    unsigned long long bytes = cells * sizeof(uint32_t);
    uint32_t *lcs = NULL;
    if (bytes < SIZE_MAX && bytes / cells == sizeof(uint32_t)) {
        if (bytes > (unsigned long long)x->eng->cfg.proto_max_bulk_len) {
            reply_error(x, "Insufficient memory, transient memory for LCS exceeds "
                           "proto-max-bulk-len");
            return;
        }
        lcs = malloc((size_t)bytes);
    }
    if (lcs == NULL) {
        reply_error(x, "Insufficient memory, failed allocating transient memory for LCS");
        return;
    }
#define LCS(i, j) lcs[(size_t)(j) + (size_t)(i) * ((size_t)blen + 1)]
    for (uint32_t i = 0; i <= alen; i++) {
        for (uint32_t j = 0; j <= blen; j++) {
            if (i == 0 || j == 0) {
                LCS(i, j) = 0;
            } else if (a[i - 1] == b[j - 1]) {
                LCS(i, j) = LCS(i - 1, j - 1) + 1;
            } else {
                uint32_t l1 = LCS(i - 1, j), l2 = LCS(i, j - 1);
                LCS(i, j) = l1 > l2 ? l1 : l2;
            }
        }
    }
    uint32_t total = LCS(alen, blen);

    /* Walk back from the end, building the string (filled from its end)
     * and, for IDX, emitting each maximal run of matches as it closes. */
    bool computelcs = getidx || !getlen;
    char *result = NULL;
    if (computelcs) {
        result = malloc(total ? total : 1);
        if (result == NULL)
            abort();
    }
    size_t mark = 0;
    long long nranges = 0;
    if (getidx) {
        reply_map(x, 2); /* matches, len */
        reply_bulk_cstr(x, "matches");
        mark = reply_array_deferred(x);
    }
    uint32_t idx = total;
    uint32_t astart = alen, aend = 0, bstart = 0, bend = 0; /* astart == alen: no run */
    uint32_t i = alen, j = blen;
    while (computelcs && i > 0 && j > 0) {
        bool emit = false;
        if (a[i - 1] == b[j - 1]) {
            result[idx - 1] = a[i - 1];
            if (astart == alen) {
                astart = aend = i - 1;
                bstart = bend = j - 1;
            } else if (astart == i && bstart == j) {
                astart--; /* the run extends backwards */
                bstart--;
            } else {
                emit = true;
            }
            if (astart == 0 || bstart == 0)
                emit = true;
            idx--;
            i--;
            j--;
        } else {
            if (LCS(i - 1, j) > LCS(i, j - 1))
                i--;
            else
                j--;
            if (astart != alen)
                emit = true;
        }
        if (emit) {
            uint32_t matchlen = aend - astart + 1;
            if (getidx && (minmatchlen == 0 || (long long)matchlen >= minmatchlen)) {
                reply_array(x, 2 + withmatchlen);
                reply_array(x, 2);
                reply_int(x, astart);
                reply_int(x, aend);
                reply_array(x, 2);
                reply_int(x, bstart);
                reply_int(x, bend);
                if (withmatchlen)
                    reply_int(x, matchlen);
                nranges++;
            }
            astart = alen;
        }
    }
#undef LCS

    if (getidx) {
        reply_set_array_deferred(x, mark, nranges);
        reply_bulk_cstr(x, "len");
        reply_int(x, total);
    } else if (getlen) {
        reply_int(x, total);
    } else {
        reply_bulk(x, result, total);
    }
    free(result);
    free(lcs);
}

/* ------------------------------------------------------------------------ */
/* The table */

const cmd_def cmd_string[] = {
    {.name = "get", .arity = 2, .flags = CMD_READONLY | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = get_cmd, .group = "string", .since = "1.0.0",
     .summary = "Get the value of a key", .complexity = "O(1)",
     .acl = "@read @string @fast", .args = "key"},
    {.name = "set", .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = set_cmd, .group = "string", .since = "1.0.0",
     .summary = "Set the string value of a key", .complexity = "O(1)",
     .acl = "@write @string @slow",
     .args = "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|"
             "PXAT unix-time-milliseconds|KEEPTTL]"},
    {.name = "setnx", .arity = 3, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = setnx_cmd, .group = "string", .since = "1.0.0",
     .summary = "Set the value of a key, only if the key does not exist", .complexity = "O(1)",
     .acl = "@write @string @fast", .args = "key value"},
    {.name = "setex", .arity = 4, .flags = CMD_WRITE | CMD_DENYOOM,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = setex_cmd, .group = "string", .since = "2.0.0",
     .summary = "Set the value and expiration of a key", .complexity = "O(1)",
     .acl = "@write @string @slow", .args = "key seconds value"},
    {.name = "psetex", .arity = 4, .flags = CMD_WRITE | CMD_DENYOOM,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = psetex_cmd, .group = "string", .since = "2.6.0",
     .summary = "Set the value and expiration in milliseconds of a key", .complexity = "O(1)",
     .acl = "@write @string @slow", .args = "key milliseconds value"},
    {.name = "mget", .arity = -2, .flags = CMD_READONLY | CMD_FAST,
     .first_key = 1, .last_key = -1, .key_step = 1,
     .fn = mget_cmd, .group = "string", .since = "1.0.0",
     .summary = "Get the values of all the given keys",
     .complexity = "O(N) where N is the number of keys to retrieve.",
     .acl = "@read @string @fast", .args = "key [key ...]"},
    {.name = "mset", .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM,
     .first_key = 1, .last_key = -1, .key_step = 2,
     .fn = mset_cmd, .group = "string", .since = "1.0.1",
     .summary = "Set multiple keys to multiple values",
     .complexity = "O(N) where N is the number of keys to set.",
     .acl = "@write @string @slow", .args = "key value [key value ...]"},
    {.name = "msetnx", .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM,
     .first_key = 1, .last_key = -1, .key_step = 2,
     .fn = msetnx_cmd, .group = "string", .since = "1.0.1",
     .summary = "Set multiple keys to multiple values, only if none of the keys exist",
     .complexity = "O(N) where N is the number of keys to set.",
     .acl = "@write @string @slow", .args = "key value [key value ...]"},
    {.name = "getset", .arity = 3, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = getset_cmd, .group = "string", .since = "1.0.0",
     .summary = "Set the string value of a key and return its old value", .complexity = "O(1)",
     .acl = "@write @string @fast", .args = "key value"},
    {.name = "getdel", .arity = 2, .flags = CMD_WRITE | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = getdel_cmd, .group = "string", .since = "6.2.0",
     .summary = "Get the value of a key and delete the key", .complexity = "O(1)",
     .acl = "@write @string @fast", .args = "key"},
    {.name = "getex", .arity = -2, .flags = CMD_WRITE | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = getex_cmd, .group = "string", .since = "6.2.0",
     .summary = "Get the value of a key and optionally set its expiration", .complexity = "O(1)",
     .acl = "@write @string @fast",
     .args = "key [EX seconds|PX milliseconds|EXAT unix-time-seconds|"
             "PXAT unix-time-milliseconds|PERSIST]"},
    {.name = "append", .arity = 3, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = append_cmd, .group = "string", .since = "2.0.0",
     .summary = "Append a value to a key",
     .complexity = "O(1). The amortized time complexity is O(1) assuming the appended value is "
                   "small and the already present value is of any size, since the dynamic "
                   "string library used by Redis will double the free space available on "
                   "every reallocation.",
     .acl = "@write @string @fast", .args = "key value"},
    {.name = "strlen", .arity = 2, .flags = CMD_READONLY | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = strlen_cmd, .group = "string", .since = "2.2.0",
     .summary = "Get the length of the value stored in a key", .complexity = "O(1)",
     .acl = "@read @string @fast", .args = "key"},
    {.name = "incr", .arity = 2, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = incr_cmd, .group = "string", .since = "1.0.0",
     .summary = "Increment the integer value of a key by one", .complexity = "O(1)",
     .acl = "@write @string @fast", .args = "key"},
    {.name = "decr", .arity = 2, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = decr_cmd, .group = "string", .since = "1.0.0",
     .summary = "Decrement the integer value of a key by one", .complexity = "O(1)",
     .acl = "@write @string @fast", .args = "key"},
    {.name = "incrby", .arity = 3, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = incrby_cmd, .group = "string", .since = "1.0.0",
     .summary = "Increment the integer value of a key by the given amount",
     .complexity = "O(1)", .acl = "@write @string @fast", .args = "key increment"},
    {.name = "decrby", .arity = 3, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = decrby_cmd, .group = "string", .since = "1.0.0",
     .summary = "Decrement the integer value of a key by the given number",
     .complexity = "O(1)", .acl = "@write @string @fast", .args = "key decrement"},
    {.name = "incrbyfloat", .arity = 3, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = incrbyfloat_cmd, .group = "string", .since = "2.6.0",
     .summary = "Increment the float value of a key by the given amount", .complexity = "O(1)",
     .acl = "@write @string @fast", .args = "key increment"},
    {.name = "getrange", .arity = 4, .flags = CMD_READONLY,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = getrange_cmd, .group = "string", .since = "2.4.0",
     .summary = "Get a substring of the string stored at a key",
     .complexity = "O(N) where N is the length of the returned string. The complexity is "
                   "ultimately determined by the returned length, but because creating a "
                   "substring from an existing string is very cheap, it can be considered "
                   "O(1) for small strings.",
     .acl = "@read @string @slow", .args = "key start end"},
    {.name = "substr", .arity = 4, .flags = CMD_READONLY,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = getrange_cmd, .group = "string", .since = "1.0.0",
     .summary = "Get a substring of the string stored at a key",
     .complexity = "O(N) where N is the length of the returned string. The complexity is "
                   "ultimately determined by the returned length, but because creating a "
                   "substring from an existing string is very cheap, it can be considered "
                   "O(1) for small strings.",
     .acl = "@read @string @slow", .args = "key start end"},
    {.name = "setrange", .arity = 4, .flags = CMD_WRITE | CMD_DENYOOM,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = setrange_cmd, .group = "string", .since = "2.2.0",
     .summary = "Overwrite part of a string at key starting at the specified offset",
     .complexity = "O(1), not counting the time taken to copy the new string in place. "
                   "Usually, this string is very small so the amortized complexity is O(1). "
                   "Otherwise, complexity is O(M) with M being the length of the value "
                   "argument.",
     .acl = "@write @string @slow", .args = "key offset value"},
    {.name = "lcs", .arity = -3, .flags = CMD_READONLY,
     .first_key = 1, .last_key = 2, .key_step = 1,
     .fn = lcs_cmd, .group = "string", .since = "7.0.0",
     .summary = "Find longest common substring",
     .complexity = "O(N*M) where N and M are the lengths of s1 and s2, respectively",
     .acl = "@read @string @slow",
     .args = "key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]"},
    {0},
};
