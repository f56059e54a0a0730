/* The list commands (non-blocking): LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP
 * LLEN LRANGE LINDEX LSET LREM LTRIM LINSERT LPOS LMOVE RPOPLPUSH LMPOP,
 * with Redis 7.0's replies (RESP2) and error texts (t_list.c).
 *
 * The value is a klist (core/store/list.h), a quicklist-like chunked
 * deque whose node size follows list-max-listpack-size. A klist never
 * moves, so a handler may keep its pointer across writes to the db (the
 * kentry holding it may move: keys are re-looked-up, never kept). Every
 * in-place change is reported with db_signal_modified (WATCH), and a list
 * that loses its last element is deleted. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"
#include "core/store/list.h"

#define ERR_MUST_BE_POSITIVE "value is out of range, must be positive"

/* ------------------------------------------------------------------------ */
/* Helpers */

static klist *new_list(const cmd_ctx *x) { return klist_new(x->eng->cfg.list_max_listpack_size); }

/* Redis's getRangeLongFromObjectOrReply with a message: a non-integer or a
 * value outside [min, max] both answer msg. */
static bool arg_range(cmd_ctx *x, const resp_slice *a, long long min, long long max,
                      long long *out, const char *msg)
{
    if (!arg_ll(x, a, out, msg))
        return false;
    if (*out < min || *out > max) {
        reply_error(x, msg);
        return false;
    }
    return true;
}

/* LEFT / RIGHT (Redis's getListPositionFromObjectOrReply). */
static bool arg_where(cmd_ctx *x, const resp_slice *a, int *where)
{
    if (arg_is(a, "right"))
        *where = KLIST_TAIL;
    else if (arg_is(a, "left"))
        *where = KLIST_HEAD;
    else {
        reply_error(x, ERR_SYNTAX);
        return false;
    }
    return true;
}

/* After elements were removed from the list of key: deletes the key if
 * the list is now empty, else reports the change. */
static void after_removal(cmd_ctx *x, const resp_slice *key, klist *l)
{
    if (klist_len(l) == 0) {
        kentry *e = db_find(x->db, key->ptr, key->len, x->now_ms);
        if (e)
            db_delete_entry(x->db, e);
    } else {
        db_signal_modified(x->db, key->ptr, key->len);
    }
}

/* Redis's addListRangeReply: elements start..end (Redis indexes, clamped)
 * as an array, from end to start when reverse. */
static void reply_range(cmd_ctx *x, const klist *l, long long start, long long end, bool reverse)
{
    long long llen = (long long)klist_len(l);
    if (start < 0)
        start = llen + start;
    if (end < 0)
        end = llen + end;
    if (start < 0)
        start = 0;
    if (start > end || start >= llen) {
        reply_array(x, 0);
        return;
    }
    if (end >= llen)
        end = llen - 1;
    long long n = end - start + 1;
    reply_array(x, n);
    klist_iter it;
    klist_iter_init(&it, l, reverse ? end : start, reverse ? KLIST_HEAD : KLIST_TAIL);
    const char *p;
    size_t len;
    while (n-- > 0 && klist_iter_next(&it, &p, &len))
        reply_bulk(x, p, len);
}

/* Pops up to count elements from one end, replying with them as an array
 * (in pop order); deletes the key when the list empties. */
static void pop_range(cmd_ctx *x, const resp_slice *key, klist *l, int where, long long count)
{
    long long llen = (long long)klist_len(l);
    long long n = count > llen ? llen : count;
    if (where == KLIST_HEAD) {
        reply_range(x, l, 0, n - 1, false);
        klist_del_range(l, 0, (size_t)n);
    } else {
        reply_range(x, l, -n, -1, true);
        klist_del_range(l, (size_t)(llen - n), (size_t)n);
    }
    after_removal(x, key, l);
    cmd_dirty(x, n);
}

/* ------------------------------------------------------------------------ */
/* LPUSH RPUSH LPUSHX RPUSHX */

static void push_generic(cmd_ctx *x, int where, bool xx)
{
    const resp_slice *key = &x->argv[1];
    bool wrong;
    kentry *e = lookup_write(x, key, OBJ_LIST, &wrong);
    if (wrong)
        return;
    if (e == NULL && xx) {
        reply_int(x, 0);
        return;
    }
    klist *l = e ? kentry_obj(e) : new_list(x);
    for (int i = 2; i < x->argc; i++)
        klist_push(l, where, x->argv[i].ptr, x->argv[i].len);
    reply_int(x, (long long)klist_len(l));
    if (e == NULL)
        db_set_obj(x->db, key->ptr, key->len, OBJ_LIST, klist_enc(l), l, -1);
    else
        db_signal_modified(x->db, key->ptr, key->len);
    cmd_dirty(x, x->argc - 2);
}

static void lpush_cmd(cmd_ctx *x) { push_generic(x, KLIST_HEAD, false); }
static void rpush_cmd(cmd_ctx *x) { push_generic(x, KLIST_TAIL, false); }
static void lpushx_cmd(cmd_ctx *x) { push_generic(x, KLIST_HEAD, true); }
static void rpushx_cmd(cmd_ctx *x) { push_generic(x, KLIST_TAIL, true); }

/* ------------------------------------------------------------------------ */
/* LPOP RPOP */

static void pop_generic(cmd_ctx *x, int where)
{
    if (x->argc > 3) {
        reply_errorf(x, "wrong number of arguments for '%s' command", x->cmd->fullname);
        return;
    }
    bool hascount = x->argc == 3;
    long long count = 0;
    if (hascount && !arg_range(x, &x->argv[2], 0, LLONG_MAX, &count, ERR_MUST_BE_POSITIVE))
        return;
    const resp_slice *key = &x->argv[1];
    bool wrong;
    kentry *e = lookup_write(x, key, OBJ_LIST, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        if (hascount)
            reply_null_array(x);
        else
            reply_null(x);
        return;
    }
    klist *l = kentry_obj(e);
    if (hascount && count == 0) {
        reply_array(x, 0);
        return;
    }
    if (!hascount) {
        const char *p;
        size_t n;
        klist_index(l, where == KLIST_HEAD ? 0 : -1, &p, &n);
        reply_bulk(x, p, n);
        klist_del_range(l, where == KLIST_HEAD ? 0 : klist_len(l) - 1, 1);
        after_removal(x, key, l);
        cmd_dirty(x, 1);
        return;
    }
    pop_range(x, key, l, where, count);
}

static void lpop_cmd(cmd_ctx *x) { pop_generic(x, KLIST_HEAD); }
static void rpop_cmd(cmd_ctx *x) { pop_generic(x, KLIST_TAIL); }

/* ------------------------------------------------------------------------ */
/* LLEN LINDEX LRANGE */

static void llen_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_LIST, &wrong);
    if (wrong)
        return;
    reply_int(x, e ? (long long)klist_len(kentry_obj(e)) : 0);
}

static void lindex_cmd(cmd_ctx *x)
{
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_LIST, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        reply_null(x);
        return;
    }
    long long idx;
    if (!arg_ll(x, &x->argv[2], &idx, NULL))
        return;
    const char *p;
    size_t n;
    if (klist_index(kentry_obj(e), idx, &p, &n))
        reply_bulk(x, p, n);
    else
        reply_null(x);
}

static void lrange_cmd(cmd_ctx *x)
{
    long long start, end;
    if (!arg_ll(x, &x->argv[2], &start, NULL) || !arg_ll(x, &x->argv[3], &end, NULL))
        return;
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_LIST, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        reply_array(x, 0);
        return;
    }
    reply_range(x, kentry_obj(e), start, end, false);
}

/* ------------------------------------------------------------------------ */
/* LSET LINSERT LREM LTRIM */

static void lset_cmd(cmd_ctx *x)
{
    const resp_slice *key = &x->argv[1];
    bool wrong;
    kentry *e = lookup_write(x, key, OBJ_LIST, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        reply_error(x, ERR_NO_SUCH_KEY);
        return;
    }
    long long idx;
    if (!arg_ll(x, &x->argv[2], &idx, NULL))
        return;
    if (!klist_set(kentry_obj(e), idx, x->argv[3].ptr, x->argv[3].len)) {
        reply_error(x, ERR_OUT_OF_RANGE);
        return;
    }
    reply_ok(x);
    db_signal_modified(x->db, key->ptr, key->len);
    cmd_dirty(x, 1);
}

static void linsert_cmd(cmd_ctx *x)
{
    bool after;
    if (arg_is(&x->argv[2], "after"))
        after = true;
    else if (arg_is(&x->argv[2], "before"))
        after = false;
    else {
        reply_error(x, ERR_SYNTAX);
        return;
    }
    const resp_slice *key = &x->argv[1], *pivot = &x->argv[3];
    bool wrong;
    kentry *e = lookup_write(x, key, OBJ_LIST, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        reply_int(x, 0);
        return;
    }
    klist *l = kentry_obj(e);
    klist_iter it;
    klist_iter_init(&it, l, 0, KLIST_TAIL);
    const char *p;
    size_t n, idx = 0;
    bool found = false;
    while (klist_iter_next(&it, &p, &n)) {
        if (n == pivot->len && (n == 0 || memcmp(p, pivot->ptr, n) == 0)) {
            found = true;
            break;
        }
        idx++;
    }
    if (!found) {
        reply_int(x, -1);
        return;
    }
    klist_insert(l, after ? idx + 1 : idx, x->argv[4].ptr, x->argv[4].len);
    db_signal_modified(x->db, key->ptr, key->len);
    cmd_dirty(x, 1);
    reply_int(x, (long long)klist_len(l));
}

static void lrem_cmd(cmd_ctx *x)
{
    long long count;
    if (!arg_ll(x, &x->argv[2], &count, NULL))
        return;
    const resp_slice *key = &x->argv[1];
    bool wrong;
    kentry *e = lookup_write(x, key, OBJ_LIST, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        reply_int(x, 0);
        return;
    }
    klist *l = kentry_obj(e);
    size_t removed = klist_rem(l, x->argv[3].ptr, x->argv[3].len, count);
    if (removed) {
        after_removal(x, key, l);
        cmd_dirty(x, (long long)removed);
    }
    reply_int(x, (long long)removed);
}

static void ltrim_cmd(cmd_ctx *x)
{
    long long start, end;
    if (!arg_ll(x, &x->argv[2], &start, NULL) || !arg_ll(x, &x->argv[3], &end, NULL))
        return;
    const resp_slice *key = &x->argv[1];
    bool wrong;
    kentry *e = lookup_write(x, key, OBJ_LIST, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        reply_ok(x);
        return;
    }
    klist *l = kentry_obj(e);
    long long llen = (long long)klist_len(l), ltrim, rtrim;
    if (start < 0)
        start = llen + start;
    if (end < 0)
        end = llen + end;
    if (start < 0)
        start = 0;
    if (start > end || start >= llen) {
        ltrim = llen;
        rtrim = 0;
    } else {
        if (end >= llen)
            end = llen - 1;
        ltrim = start;
        rtrim = llen - end - 1;
    }
    klist_del_range(l, 0, (size_t)ltrim);
    if (rtrim)
        klist_del_range(l, klist_len(l) - (size_t)rtrim, (size_t)rtrim);
    /* Redis signals the key even when nothing was trimmed. */
    after_removal(x, key, l);
    cmd_dirty(x, ltrim + rtrim);
    reply_ok(x);
}

/* ------------------------------------------------------------------------ */
/* LPOS */

static void lpos_cmd(cmd_ctx *x)
{
    const resp_slice *ele = &x->argv[2];
    long long rank = 1, count = -1, maxlen = 0;
    for (int j = 3; j < x->argc; j++) {
        bool more = j + 1 < x->argc;
        if (arg_is(&x->argv[j], "rank") && more) {
            j++;
            if (!arg_ll(x, &x->argv[j], &rank, NULL))
                return;
            if (rank == 0) {
                reply_error(x, "RANK can't be zero: use 1 to start from the first match, 2 from "
                               "the second ... or use negative to start from the end of the list");
                return;
            }
        } else if (arg_is(&x->argv[j], "count") && more) {
            j++;
            if (!arg_range(x, &x->argv[j], 0, LLONG_MAX, &count, "COUNT can't be negative"))
                return;
        } else if (arg_is(&x->argv[j], "maxlen") && more) {
            j++;
            if (!arg_range(x, &x->argv[j], 0, LLONG_MAX, &maxlen, "MAXLEN can't be negative"))
                return;
        } else {
            reply_error(x, ERR_SYNTAX);
            return;
        }
    }
    int dir = KLIST_TAIL;
    /* Redis negates the rank in a long: LONG_MIN wraps to itself there, so
     * every match qualifies and the COUNT test (matches - rank + 1, which
     * wraps negative) never stops the scan. Same result, without the
     * overflow. */
    bool rank_wrapped = rank == LLONG_MIN;
    if (rank < 0) {
        rank = rank_wrapped ? 1 : -rank;
        dir = KLIST_HEAD;
    }
    bool wrong;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_LIST, &wrong);
    if (wrong)
        return;
    if (e == NULL) {
        if (count != -1)
            reply_array(x, 0);
        else
            reply_null(x);
        return;
    }
    const klist *l = kentry_obj(e);
    size_t mark = 0;
    if (count != -1)
        mark = reply_array_deferred(x);
    long long llen = (long long)klist_len(l);
    long long index = 0, matches = 0, matchindex = -1, arraylen = 0;
    klist_iter it;
    klist_iter_init(&it, l, dir == KLIST_HEAD ? -1 : 0, dir);
    const char *p;
    size_t n;
    while ((maxlen == 0 || index < maxlen) && klist_iter_next(&it, &p, &n)) {
        if (n == ele->len && (n == 0 || memcmp(p, ele->ptr, n) == 0)) {
            matches++;
            matchindex = dir == KLIST_TAIL ? index : llen - index - 1;
            if (matches >= rank) {
                if (count != -1) {
                    arraylen++;
                    reply_int(x, matchindex);
                    if (count && !rank_wrapped && matches - rank + 1 >= count)
                        break;
                } else {
                    break;
                }
            }
        }
        index++;
        matchindex = -1;
    }
    if (count != -1)
        reply_set_array_deferred(x, mark, arraylen);
    else if (matchindex != -1)
        reply_int(x, matchindex);
    else
        reply_null(x);
}

/* ------------------------------------------------------------------------ */
/* LMOVE RPOPLPUSH */

static void lmove_generic(cmd_ctx *x, int from, int to)
{
    const resp_slice *src = &x->argv[1], *dst = &x->argv[2];
    bool wrong;
    kentry *se = lookup_write(x, src, OBJ_LIST, &wrong);
    if (wrong)
        return;
    if (se == NULL) {
        reply_null(x);
        return;
    }
    klist *sl = kentry_obj(se);
    /* The lookup of dst may delete an expired key: se is stale after it,
     * sl (a klist never moves) is not. */
    kentry *de = lookup_write(x, dst, OBJ_LIST, &wrong);
    if (wrong)
        return;
    klist *dl = de ? kentry_obj(de) : NULL;
    const char *p;
    size_t n;
    klist_index(sl, from == KLIST_HEAD ? 0 : -1, &p, &n);
    char *val = malloc(n ? n : 1);
    if (val == NULL)
        abort();
    memcpy(val, p, n);
    klist_del_range(sl, from == KLIST_HEAD ? 0 : klist_len(sl) - 1, 1);
    if (dl == NULL) {
        dl = new_list(x);
        klist_push(dl, to, val, n);
        db_set_obj(x->db, dst->ptr, dst->len, OBJ_LIST, klist_enc(dl), dl, -1);
    } else {
        klist_push(dl, to, val, n);
        db_signal_modified(x->db, dst->ptr, dst->len);
    }
    reply_bulk(x, val, n);
    free(val);
    after_removal(x, src, sl);
    cmd_dirty(x, 1);
}

static void lmove_cmd(cmd_ctx *x)
{
    int from, to;
    if (!arg_where(x, &x->argv[3], &from) || !arg_where(x, &x->argv[4], &to))
        return;
    lmove_generic(x, from, to);
}

static void rpoplpush_cmd(cmd_ctx *x) { lmove_generic(x, KLIST_TAIL, KLIST_HEAD); }

/* ------------------------------------------------------------------------ */
/* LMPOP */

static void lmpop_cmd(cmd_ctx *x)
{
    long long numkeys, count = -1;
    if (!arg_range(x, &x->argv[1], 1, LLONG_MAX, &numkeys, "numkeys should be greater than 0"))
        return;
    /* where is at 2 + numkeys (checked without overflowing). */
    if (numkeys > x->argc - 3) {
        reply_error(x, ERR_SYNTAX);
        return;
    }
    int where_idx = 2 + (int)numkeys, where;
    if (!arg_where(x, &x->argv[where_idx], &where))
        return;
    for (int j = where_idx + 1; j < x->argc; j++) {
        bool more = j + 1 < x->argc;
        if (count == -1 && arg_is(&x->argv[j], "count") && more) {
            j++;
            if (!arg_range(x, &x->argv[j], 1, LLONG_MAX, &count, "count should be greater than 0"))
                return;
        } else {
            reply_error(x, ERR_SYNTAX);
            return;
        }
    }
    if (count == -1)
        count = 1;
    for (int j = 2; j < where_idx; j++) {
        const resp_slice *key = &x->argv[j];
        bool wrong;
        kentry *e = lookup_write(x, key, OBJ_LIST, &wrong);
        if (wrong)
            return;
        if (e == NULL)
            continue;
        klist *l = kentry_obj(e);
        if (klist_len(l) == 0)
            continue;
        reply_array(x, 2);
        reply_bulk(x, key->ptr, key->len);
        pop_range(x, key, l, where, count);
        return;
    }
    reply_null_array(x);
}

static int lmpop_getkeys(int argc, const resp_slice *argv, int *keys)
{
    return cmd_numkeys_getkeys(argc, argv, 1, 2, 0, keys);
}

/* ------------------------------------------------------------------------ */
/* The table */

#define LKEY .first_key = 1, .last_key = 1, .key_step = 1, .group = "list"
#define PUSH_COMPLEXITY                                                                        \
    "O(1) for each element added, so O(N) to add N elements when the command is called with " \
    "multiple arguments."

const cmd_def cmd_list[] = {
    {.name = "lpush", .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, LKEY,
     .fn = lpush_cmd, .since = "1.0.0", .summary = "Prepend one or multiple elements to a list",
     .complexity = PUSH_COMPLEXITY, .acl = "@write @list @fast", .args = "key element [element ...]"},
    {.name = "rpush", .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, LKEY,
     .fn = rpush_cmd, .since = "1.0.0", .summary = "Append one or multiple elements to a list",
     .complexity = PUSH_COMPLEXITY, .acl = "@write @list @fast", .args = "key element [element ...]"},
    {.name = "lpushx", .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, LKEY,
     .fn = lpushx_cmd, .since = "2.2.0",
     .summary = "Prepend an element to a list, only if the list exists",
     .complexity = PUSH_COMPLEXITY, .acl = "@write @list @fast", .args = "key element [element ...]"},
    {.name = "rpushx", .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST, LKEY,
     .fn = rpushx_cmd, .since = "2.2.0",
     .summary = "Append an element to a list, only if the list exists",
     .complexity = PUSH_COMPLEXITY, .acl = "@write @list @fast", .args = "key element [element ...]"},
    {.name = "lpop", .arity = -2, .flags = CMD_WRITE | CMD_FAST, LKEY, .fn = lpop_cmd,
     .since = "1.0.0", .summary = "Remove and get the first elements in a list",
     .complexity = "O(N) where N is the number of elements returned",
     .acl = "@write @list @fast", .args = "key [count]"},
    {.name = "rpop", .arity = -2, .flags = CMD_WRITE | CMD_FAST, LKEY, .fn = rpop_cmd,
     .since = "1.0.0", .summary = "Remove and get the last elements in a list",
     .complexity = "O(N) where N is the number of elements returned",
     .acl = "@write @list @fast", .args = "key [count]"},
    {.name = "llen", .arity = 2, .flags = CMD_READONLY | CMD_FAST, LKEY, .fn = llen_cmd,
     .since = "1.0.0", .summary = "Get the length of a list", .complexity = "O(1)",
     .acl = "@read @list @fast", .args = "key"},
    {.name = "lrange", .arity = 4, .flags = CMD_READONLY, LKEY, .fn = lrange_cmd,
     .since = "1.0.0", .summary = "Get a range of elements from a list",
     .complexity = "O(S+N) where S is the distance of start offset from HEAD for small lists, "
                   "from nearest end (HEAD or TAIL) for large lists; and N is the number of "
                   "elements in the specified range.",
     .acl = "@read @list @slow", .args = "key start stop"},
    {.name = "lindex", .arity = 3, .flags = CMD_READONLY, LKEY, .fn = lindex_cmd,
     .since = "1.0.0", .summary = "Get an element from a list by its index",
     .complexity = "O(N) where N is the number of elements to traverse to get to the element "
                   "at index. This makes asking for the first or the last element of the list "
                   "O(1).",
     .acl = "@read @list @slow", .args = "key index"},
    {.name = "lset", .arity = 4, .flags = CMD_WRITE | CMD_DENYOOM, LKEY, .fn = lset_cmd,
     .since = "1.0.0", .summary = "Set the value of an element in a list by its index",
     .complexity = "O(N) where N is the length of the list. Setting either the first or the "
                   "last element of the list is O(1).",
     .acl = "@write @list @slow", .args = "key index element"},
    {.name = "lrem", .arity = 4, .flags = CMD_WRITE, LKEY, .fn = lrem_cmd, .since = "1.0.0",
     .summary = "Remove elements from a list",
     .complexity = "O(N+M) where N is the length of the list and M is the number of elements "
                   "removed.",
     .acl = "@write @list @slow", .args = "key count element"},
    {.name = "ltrim", .arity = 4, .flags = CMD_WRITE, LKEY, .fn = ltrim_cmd, .since = "1.0.0",
     .summary = "Trim a list to the specified range",
     .complexity = "O(N) where N is the number of elements to be removed by the operation.",
     .acl = "@write @list @slow", .args = "key start stop"},
    {.name = "linsert", .arity = 5, .flags = CMD_WRITE | CMD_DENYOOM, LKEY, .fn = linsert_cmd,
     .since = "2.2.0", .summary = "Insert an element before or after another element in a list",
     .complexity = "O(N) where N is the number of elements to traverse before seeing the value "
                   "pivot. This means that inserting somewhere on the left end on the list "
                   "(head) can be considered O(1) and inserting somewhere on the right end "
                   "(tail) is O(N).",
     .acl = "@write @list @slow", .args = "key BEFORE|AFTER pivot element"},
    {.name = "lpos", .arity = -3, .flags = CMD_READONLY, LKEY, .fn = lpos_cmd, .since = "6.0.6",
     .summary = "Return the index of matching elements on a list",
     .complexity = "O(N) where N is the number of elements in the list, for the average case. "
                   "When searching for elements near the head or the tail of the list, or when "
                   "the MAXLEN option is provided, the command may run in constant time.",
     .acl = "@read @list @slow",
     .args = "key element [RANK rank] [COUNT num-matches] [MAXLEN len]"},
    {.name = "lmove", .arity = 5, .flags = CMD_WRITE | CMD_DENYOOM, .first_key = 1,
     .last_key = 2, .key_step = 1, .group = "list", .fn = lmove_cmd, .since = "6.2.0",
     .summary = "Pop an element from a list, push it to another list and return it",
     .complexity = "O(1)", .acl = "@write @list @slow",
     .args = "source destination LEFT|RIGHT LEFT|RIGHT"},
    {.name = "rpoplpush", .arity = 3, .flags = CMD_WRITE | CMD_DENYOOM, .first_key = 1,
     .last_key = 2, .key_step = 1, .group = "list", .fn = rpoplpush_cmd, .since = "1.2.0",
     .summary = "Remove the last element in a list, prepend it to another list and return it",
     .complexity = "O(1)", .acl = "@write @list @slow", .args = "source destination"},
    {.name = "lmpop", .arity = -4, .flags = CMD_WRITE | CMD_MOVABLE_KEYS, .group = "list",
     .fn = lmpop_cmd, .getkeys = lmpop_getkeys, .since = "7.0.0",
     .summary = "Pop elements from a list",
     .complexity = "O(N+M) where N is the number of provided keys and M is the number of "
                   "elements returned.",
     .acl = "@write @list @slow", .args = "numkeys key [key ...] LEFT|RIGHT [COUNT count]"},
    {0},
};
