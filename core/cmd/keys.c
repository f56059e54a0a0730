/* Generic key commands and expiry: DEL UNLINK EXISTS TYPE KEYS SCAN
 * RANDOMKEY RENAME RENAMENX COPY TOUCH EXPIRE PEXPIRE EXPIREAT PEXPIREAT
 * TTL PTTL EXPIRETIME PEXPIRETIME PERSIST and the OBJECT container, with
 * Redis 7.0's replies.
 *
 * Lookups follow Redis's flags: TYPE, EXISTS, TTL & co. and OBJECT look
 * keys up without touching the LRU clock but count keyspace hits and
 * misses (LOOKUP_NOTOUCH); TOUCH and COPY's source are plain reads; the
 * writes (EXPIRE, PERSIST, RENAME, COPY's destination) do not count
 * stats; DEL, KEYS, SCAN and RANDOMKEY only expire what they meet. */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"
#include "core/cmd/engine_internal.h"
#include "core/util/glob.h"

/* Redis's OBJ_SHARED_INTEGERS: small integers are shared objects. */
#define SHARED_INTEGERS 10000

/* lookupKeyReadWithFlags(LOOKUP_NOTOUCH): lazy expiry and keyspace
 * hit/miss stats, but the key's access time is left alone. */
static kentry *find_notouch(cmd_ctx *x, const resp_slice *k)
{
    kentry *e = db_find(x->db, k->ptr, k->len, x->now_ms);
    if (e)
        x->db->stats.hits++;
    else
        x->db->stats.misses++;
    return e;
}

static bool same_bytes(const resp_slice *a, const resp_slice *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->ptr, b->ptr, a->len) == 0);
}

/* Length of an argument as C's %s sees it (up to the first NUL): Redis
 * prints arguments into errors that way. */
static int cstr_len(const resp_slice *a)
{
    const char *nul = memchr(a->ptr, '\0', a->len);
    size_t n = nul ? (size_t)(nul - a->ptr) : a->len;
    return n > INT_MAX ? INT_MAX : (int)n;
}

/* ------------------------------------------------------------------------ */
/* DEL UNLINK EXISTS TOUCH TYPE */

static void del_cmd(cmd_ctx *x)
{
    long long n = 0;
    for (int i = 1; i < x->argc; i++)
        if (db_delete(x->db, x->argv[i].ptr, x->argv[i].len, x->now_ms))
            n++;
    cmd_dirty(x, n);
    reply_int(x, n);
}

static void exists_cmd(cmd_ctx *x)
{
    long long n = 0;
    for (int i = 1; i < x->argc; i++)
        if (find_notouch(x, &x->argv[i]))
            n++;
    reply_int(x, n);
}

static void touch_cmd(cmd_ctx *x)
{
    long long n = 0;
    for (int i = 1; i < x->argc; i++)
        if (db_find_read(x->db, x->argv[i].ptr, x->argv[i].len, x->now_ms))
            n++;
    reply_int(x, n);
}

static void type_cmd(cmd_ctx *x)
{
    kentry *e = find_notouch(x, &x->argv[1]);
    reply_simple(x, e ? obj_type_name(kentry_type(e)) : "none");
}

/* ------------------------------------------------------------------------ */
/* KEYS */

typedef struct keys_ctx {
    cmd_ctx *x;
    const char *pat;
    size_t plen;
    bool all;
    long long n;
} keys_ctx;

static void keys_cb(void *ctx, kentry *e)
{
    keys_ctx *k = ctx;
    const char *key = kentry_key(e);
    size_t klen = kentry_klen(e);
    /* Expired keys are skipped, not deleted (Redis's keyIsExpired). */
    if ((k->all || glob_match(k->pat, k->plen, key, klen, false)) &&
        !db_is_expired(e, k->x->now_ms)) {
        reply_bulk(k->x, key, klen);
        k->n++;
    }
}

static void keys_cmd(cmd_ctx *x)
{
    const resp_slice *p = &x->argv[1];
    /* "*" matches every key, "" included (stringmatchlen would not). */
    keys_ctx k = {x, p->ptr, p->len, p->len == 1 && p->ptr[0] == '*', 0};
    size_t mark = reply_array_deferred(x);
    db_for_each(x->db, keys_cb, &k);
    reply_set_array_deferred(x, mark, k.n);
}

/* ------------------------------------------------------------------------ */
/* SCAN */

typedef struct scan_ctx {
    cmd_ctx *x;
    kbuf items;        /* the bulk replies of the keys kept */
    long long kept;
    long long visited; /* live keys met, filtered or not */
    const char *pat;
    size_t plen;
    bool use_pattern;
    const char *type;  /* TYPE filter, or NULL */
    size_t tlen;
} scan_ctx;

static void scan_cb(void *ctx, kentry *e)
{
    scan_ctx *s = ctx;
    const char *key = kentry_key(e);
    size_t klen = kentry_klen(e);
    s->visited++;
    if (s->use_pattern && !glob_match(s->pat, s->plen, key, klen, false))
        return;
    if (s->type) {
        /* Redis looks the key up (LOOKUP_NOTOUCH) to learn its type: a hit. */
        s->x->db->stats.hits++;
        const char *name = obj_type_name(kentry_type(e));
        if (strlen(name) != s->tlen || strncasecmp(name, s->type, s->tlen) != 0)
            return;
    }
    resp_add_bulk(&s->items, key, klen);
    s->kept++;
}

static void scan_cmd(cmd_ctx *x)
{
    uint64_t cursor;
    if (!arg_scan_cursor(x, &x->argv[1], &cursor))
        return;
    scan_ctx s = {.x = x, .items = KBUF_INIT};
    long long count = 10;
    for (int i = 2; i < x->argc; i += 2) {
        const resp_slice *a = &x->argv[i];
        bool has_value = x->argc - i >= 2;
        if (has_value && arg_is(a, "count")) {
            if (!arg_ll(x, &x->argv[i + 1], &count, NULL))
                return;
            if (count < 1) {
                reply_error(x, ERR_SYNTAX);
                return;
            }
        } else if (has_value && arg_is(a, "match")) {
            s.pat = x->argv[i + 1].ptr;
            s.plen = x->argv[i + 1].len;
            /* Exactly "*" matches everything: no filter at all. */
            s.use_pattern = !(s.plen == 1 && s.pat[0] == '*');
        } else if (has_value && arg_is(a, "type")) {
            s.type = x->argv[i + 1].ptr;
            s.tlen = (size_t)cstr_len(&x->argv[i + 1]);
        } else {
            reply_error(x, ERR_SYNTAX);
            return;
        }
    }
    /* COUNT is a hint: scan steps until about COUNT keys were met, at most
     * 10*COUNT steps so a sparse table cannot stall the server. */
    long long maxsteps = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
    do {
        cursor = db_scan(x->db, cursor, scan_cb, &s, x->now_ms);
    } while (cursor && maxsteps-- && s.visited < count);

    reply_array(x, 2);
    reply_bulk_ll(x, (long long)cursor);
    reply_array(x, s.kept);
    kbuf_append(x->out, s.items.data, s.items.len);
    kbuf_free(&s.items);
}

/* ------------------------------------------------------------------------ */
/* RANDOMKEY RENAME RENAMENX COPY */

static void randomkey_cmd(cmd_ctx *x)
{
    kentry *e = db_random(x->db, x->rng, x->now_ms);
    if (e == NULL)
        reply_null(x);
    else
        reply_bulk(x, kentry_key(e), kentry_klen(e));
}

static void rename_generic(cmd_ctx *x, bool nx)
{
    const resp_slice *src = &x->argv[1], *dst = &x->argv[2];
    if (db_find_write(x->db, src->ptr, src->len, x->now_ms) == NULL) {
        reply_error(x, ERR_NO_SUCH_KEY);
        return;
    }
    /* Same name: nothing to do, but a missing key is still an error. */
    if (same_bytes(src, dst)) {
        if (nx)
            reply_int(x, 0);
        else
            reply_ok(x);
        return;
    }
    if (db_find_write(x->db, dst->ptr, dst->len, x->now_ms) != NULL && nx) {
        reply_int(x, 0);
        return;
    }
    /* Looking dst up may have expired (deleted) it: find src again. */
    kentry *e = db_find(x->db, src->ptr, src->len, x->now_ms);
    db_rename(x->db, e, dst->ptr, dst->len);
    cmd_dirty(x, 1);
    if (nx)
        reply_int(x, 1);
    else
        reply_ok(x);
}

static void rename_cmd(cmd_ctx *x) { rename_generic(x, false); }
static void renamenx_cmd(cmd_ctx *x) { rename_generic(x, true); }

/* getIntFromObjectOrReply: an integer that fits an int. */
static bool arg_int(cmd_ctx *x, const resp_slice *a, long long *out)
{
    if (!arg_ll(x, a, out, NULL))
        return false;
    if (*out < INT_MIN || *out > INT_MAX) {
        reply_errorf(x, "value is out of range, value must between %d and %d", INT_MIN, INT_MAX);
        return false;
    }
    return true;
}

static void copy_cmd(cmd_ctx *x)
{
    const resp_slice *src = &x->argv[1], *dst = &x->argv[2];
    bool replace = false;
    db *to = x->db;
    for (int j = 3; j < x->argc; j++) {
        if (arg_is(&x->argv[j], "replace")) {
            replace = true;
        } else if (arg_is(&x->argv[j], "db") && x->argc - j - 1 >= 1) {
            long long dbid;
            if (!arg_int(x, &x->argv[j + 1], &dbid))
                return;
            if (dbid < 0 || dbid >= x->eng->ndbs) {
                reply_error(x, "DB index is out of range");
                return;
            }
            to = engine_db(x->eng, (int)dbid);
            j++;
        } else {
            reply_error(x, ERR_SYNTAX);
            return;
        }
    }
    if (to == x->db && same_bytes(src, dst)) {
        reply_error(x, "source and destination objects are the same");
        return;
    }
    if (db_find_read(x->db, src->ptr, src->len, x->now_ms) == NULL) {
        reply_int(x, 0);
        return;
    }
    kentry *old = db_find_write(to, dst->ptr, dst->len, x->now_ms);
    if (old) {
        if (!replace) {
            reply_int(x, 0);
            return;
        }
        db_delete_entry(to, old);
    }
    /* The writes above may have moved entries: find src again. */
    kentry *e = db_find(x->db, src->ptr, src->len, x->now_ms);
    db_copy(to, e, dst->ptr, dst->len);
    cmd_dirty(x, 1);
    reply_int(x, 1);
}

/* MOVE key db: the value moves (no copy), with its TTL. */
static void move_cmd(cmd_ctx *x)
{
    const resp_slice *key = &x->argv[1];
    long long dbid;
    if (!arg_int(x, &x->argv[2], &dbid))
        return;
    if (dbid < 0 || dbid >= x->eng->ndbs) {
        reply_error(x, "DB index is out of range");
        return;
    }
    db *to = engine_db(x->eng, (int)dbid);
    if (to == x->db) {
        reply_error(x, "source and destination objects are the same");
        return;
    }
    if (db_find_write(x->db, key->ptr, key->len, x->now_ms) == NULL ||
        db_find_write(to, key->ptr, key->len, x->now_ms) != NULL) {
        reply_int(x, 0);
        return;
    }
    /* The lookup in `to` may have expired a key there: find src again. */
    kentry *e = db_find(x->db, key->ptr, key->len, x->now_ms);
    db_move(x->db, e, to, key->ptr, key->len);
    cmd_dirty(x, 1);
    reply_int(x, 1);
}

/* SWAPDB a b: every client of a sees b's keys and the other way round;
 * WATCHed keys are touched and blocked clients served as Redis does
 * (engine_swapdb). */
static void swapdb_cmd(cmd_ctx *x)
{
    long long a, b;
    if (!resp_string2ll(x->argv[1].ptr, x->argv[1].len, &a) || a < INT_MIN || a > INT_MAX) {
        reply_error(x, "invalid first DB index");
        return;
    }
    if (!resp_string2ll(x->argv[2].ptr, x->argv[2].len, &b) || b < INT_MIN || b > INT_MAX) {
        reply_error(x, "invalid second DB index");
        return;
    }
    if (a < 0 || a >= x->eng->ndbs || b < 0 || b >= x->eng->ndbs) {
        reply_error(x, "DB index is out of range");
        return;
    }
    if (a != b)
        engine_swapdb(x->eng, (int)a, (int)b, x->now_ms);
    cmd_dirty(x, 1);
    reply_ok(x);
}

/* ------------------------------------------------------------------------ */
/* EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST */

#define EXPIRE_NX 1
#define EXPIRE_XX 2
#define EXPIRE_GT 4
#define EXPIRE_LT 8

static bool parse_expire_flags(cmd_ctx *x, int *flags)
{
    for (int j = 3; j < x->argc; j++) {
        const resp_slice *a = &x->argv[j];
        if (arg_is(a, "nx"))
            *flags |= EXPIRE_NX;
        else if (arg_is(a, "xx"))
            *flags |= EXPIRE_XX;
        else if (arg_is(a, "gt"))
            *flags |= EXPIRE_GT;
        else if (arg_is(a, "lt"))
            *flags |= EXPIRE_LT;
        else {
            reply_errorf(x, "Unsupported option %.*s", cstr_len(a), a->ptr);
            return false;
        }
    }
    if ((*flags & EXPIRE_NX) && (*flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT))) {
        reply_error(x, "NX and XX, GT or LT options at the same time are not compatible");
        return false;
    }
    if ((*flags & EXPIRE_GT) && (*flags & EXPIRE_LT)) {
        reply_error(x, "GT and LT options at the same time are not compatible");
        return false;
    }
    return true;
}

static void expire_time_error(cmd_ctx *x)
{
    reply_errorf(x, "invalid expire time in '%s' command", x->cmd->fullname);
}

static void expire_generic(cmd_ctx *x, long long basetime, bool seconds)
{
    const resp_slice *key = &x->argv[1];
    int flags = 0;
    if (!parse_expire_flags(x, &flags))
        return;
    long long when;
    if (!arg_ll(x, &x->argv[2], &when, NULL))
        return;
    /* Negative times are allowed; overflow is not. */
    if (seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) {
            expire_time_error(x);
            return;
        }
        when *= 1000;
    }
    if (when > LLONG_MAX - basetime) {
        expire_time_error(x);
        return;
    }
    when += basetime;

    kentry *e = db_find_write(x->db, key->ptr, key->len, x->now_ms);
    if (e == NULL) {
        reply_int(x, 0);
        return;
    }
    /* A key without a TTL counts as an infinite TTL for GT and LT. */
    int64_t cur = kentry_deadline(e);
    if (((flags & EXPIRE_NX) && cur != -1) || ((flags & EXPIRE_XX) && cur == -1) ||
        ((flags & EXPIRE_GT) && (cur == -1 || when <= cur)) ||
        ((flags & EXPIRE_LT) && cur != -1 && when >= cur)) {
        reply_int(x, 0);
        return;
    }
    if (when <= x->now_ms) {
        /* Already past: the key goes now. */
        db_delete_entry(x->db, e);
    } else {
        db_set_deadline(x->db, &e, when);
    }
    cmd_dirty(x, 1);
    reply_int(x, 1);
}

static void expire_cmd(cmd_ctx *x) { expire_generic(x, x->now_ms, true); }
static void pexpire_cmd(cmd_ctx *x) { expire_generic(x, x->now_ms, false); }
static void expireat_cmd(cmd_ctx *x) { expire_generic(x, 0, true); }
static void pexpireat_cmd(cmd_ctx *x) { expire_generic(x, 0, false); }

static void persist_cmd(cmd_ctx *x)
{
    const resp_slice *key = &x->argv[1];
    kentry *e = db_find_write(x->db, key->ptr, key->len, x->now_ms);
    if (e == NULL || kentry_deadline(e) == -1) {
        reply_int(x, 0);
        return;
    }
    db_set_deadline(x->db, &e, -1);
    cmd_dirty(x, 1);
    reply_int(x, 1);
}

/* ------------------------------------------------------------------------ */
/* TTL PTTL EXPIRETIME PEXPIRETIME */

static void ttl_generic(cmd_ctx *x, bool ms, bool absolute)
{
    kentry *e = find_notouch(x, &x->argv[1]);
    if (e == NULL) {
        reply_int(x, -2);
        return;
    }
    long long dl = kentry_deadline(e);
    if (dl == -1) {
        reply_int(x, -1);
        return;
    }
    long long ttl = absolute ? dl : dl - x->now_ms;
    if (ttl < 0)
        ttl = 0;
    if (ms) {
        reply_int(x, ttl);
        return;
    }
    /* Redis computes (ttl+500)/1000 in a long long; near LLONG_MAX that
     * wraps, so do the same without undefined behaviour. */
    long long r = (long long)((unsigned long long)ttl + 500ULL);
    reply_int(x, r / 1000);
}

static void ttl_cmd(cmd_ctx *x) { ttl_generic(x, false, false); }
static void pttl_cmd(cmd_ctx *x) { ttl_generic(x, true, false); }
static void expiretime_cmd(cmd_ctx *x) { ttl_generic(x, false, true); }
static void pexpiretime_cmd(cmd_ctx *x) { ttl_generic(x, true, true); }

/* ------------------------------------------------------------------------ */
/* OBJECT */

static void object_encoding_cmd(cmd_ctx *x)
{
    kentry *e = find_notouch(x, &x->argv[2]);
    if (e == NULL) {
        reply_null(x);
        return;
    }
    reply_bulk_cstr(x, obj_enc_name(kentry_enc(e)));
}

static void object_refcount_cmd(cmd_ctx *x)
{
    kentry *e = find_notouch(x, &x->argv[2]);
    if (e == NULL) {
        reply_null(x);
        return;
    }
    /* Redis stores 0..9999 as shared objects with refcount INT_MAX (no
     * maxmemory policy forbids sharing in keel); every other value has one
     * owner. */
    bool shared = kentry_type(e) == OBJ_STRING && kentry_enc(e) == ENC_INT &&
                  kentry_int(e) >= 0 && kentry_int(e) < SHARED_INTEGERS;
    reply_int(x, shared ? INT_MAX : 1);
}

static void object_idletime_cmd(cmd_ctx *x)
{
    kentry *e = find_notouch(x, &x->argv[2]);
    if (e == NULL) {
        reply_null(x);
        return;
    }
    reply_int(x, (long long)kentry_idle(x->db, e));
}

static void object_freq_cmd(cmd_ctx *x)
{
    kentry *e = find_notouch(x, &x->argv[2]);
    if (e == NULL) {
        reply_null(x);
        return;
    }
    /* keel has no maxmemory policy: never LFU. */
    reply_error(x, "An LFU maxmemory policy is not selected, access frequency not tracked. "
                   "Please note that when switching between policies at runtime LRU and LFU "
                   "data will take some time to adjust.");
}

static void object_help_cmd(cmd_ctx *x)
{
    static const char *const help[] = {
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        NULL,
    };
    reply_help(x, help);
}

static const cmd_def object_subcommands[] = {
    {.name = "encoding", .arity = 3, .flags = CMD_READONLY,
     .first_key = 2, .last_key = 2, .key_step = 1,
     .fn = object_encoding_cmd, .group = "generic", .since = "2.2.3",
     .summary = "Inspect the internal encoding of a Redis object", .complexity = "O(1)",
     .acl = "@keyspace @read @slow", .args = "key",
     .tips = "nondeterministic_output"},
    {.name = "freq", .arity = 3, .flags = CMD_READONLY,
     .first_key = 2, .last_key = 2, .key_step = 1,
     .fn = object_freq_cmd, .group = "generic", .since = "4.0.0",
     .summary = "Get the logarithmic access frequency counter of a Redis object",
     .complexity = "O(1)", .acl = "@keyspace @read @slow", .args = "key",
     .tips = "nondeterministic_output"},
    {.name = "help", .arity = 2, .flags = CMD_LOADING | CMD_STALE,
     .fn = object_help_cmd, .group = "generic", .since = "6.2.0",
     .summary = "Show helpful text about the different subcommands", .complexity = "O(1)",
     .acl = "@keyspace @slow", .args = ""},
    {.name = "idletime", .arity = 3, .flags = CMD_READONLY,
     .first_key = 2, .last_key = 2, .key_step = 1,
     .fn = object_idletime_cmd, .group = "generic", .since = "2.2.3",
     .summary = "Get the time since a Redis object was last accessed", .complexity = "O(1)",
     .acl = "@keyspace @read @slow", .args = "key",
     .tips = "nondeterministic_output"},
    {.name = "refcount", .arity = 3, .flags = CMD_READONLY,
     .first_key = 2, .last_key = 2, .key_step = 1,
     .fn = object_refcount_cmd, .group = "generic", .since = "2.2.3",
     .summary = "Get the number of references to the value of the key", .complexity = "O(1)",
     .acl = "@keyspace @read @slow", .args = "key",
     .tips = "nondeterministic_output"},
    {0},
};

/* ------------------------------------------------------------------------ */

#define EXPIRE_ARGS(unit) "key " unit " [NX|XX|GT|LT]"

const cmd_def cmd_keys[] = {
    {.name = "del", .arity = -2, .flags = CMD_WRITE,
     .first_key = 1, .last_key = -1, .key_step = 1,
     .fn = del_cmd, .group = "generic", .since = "1.0.0",
     .summary = "Delete a key",
     .complexity = "O(N) where N is the number of keys that will be removed. When a key to "
                   "remove holds a value other than a string, the individual complexity for "
                   "this key is O(M) where M is the number of elements in the list, set, "
                   "sorted set or hash. Removing a single key that holds a string value is O(1).",
     .acl = "@keyspace @write @slow", .args = "key [key ...]",
     .tips = "request_policy:multi_shard response_policy:agg_sum"},
    {.name = "unlink", .arity = -2, .flags = CMD_WRITE | CMD_FAST,
     .first_key = 1, .last_key = -1, .key_step = 1,
     .fn = del_cmd, .group = "generic", .since = "4.0.0",
     .summary = "Delete a key asynchronously in another thread. Otherwise it is just as DEL, "
                "but non blocking.",
     .complexity = "O(1) for each key removed regardless of its size. Then the command does "
                   "O(N) work in a different thread in order to reclaim memory, where N is the "
                   "number of allocations the deleted objects where composed of.",
     .acl = "@keyspace @write @fast", .args = "key [key ...]",
     .tips = "request_policy:multi_shard response_policy:agg_sum"},
    {.name = "exists", .arity = -2, .flags = CMD_READONLY | CMD_FAST,
     .first_key = 1, .last_key = -1, .key_step = 1,
     .fn = exists_cmd, .group = "generic", .since = "1.0.0",
     .summary = "Determine if a key exists",
     .complexity = "O(N) where N is the number of keys to check.",
     .acl = "@keyspace @read @fast", .args = "key [key ...]",
     .tips = "request_policy:multi_shard response_policy:agg_sum"},
    {.name = "type", .arity = 2, .flags = CMD_READONLY | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = type_cmd, .group = "generic", .since = "1.0.0",
     .summary = "Determine the type stored at key", .complexity = "O(1)",
     .acl = "@keyspace @read @fast", .args = "key"},
    {.name = "keys", .arity = 2, .flags = CMD_READONLY,
     .fn = keys_cmd, .group = "generic", .since = "1.0.0",
     .summary = "Find all keys matching the given pattern",
     .complexity = "O(N) with N being the number of keys in the database, under the "
                   "assumption that the key names in the database and the given pattern have "
                   "limited length.",
     .acl = "@keyspace @read @slow @dangerous", .args = "pattern",
     .tips = "request_policy:all_shards nondeterministic_output_order"},
    {.name = "scan", .arity = -2, .flags = CMD_READONLY,
     .fn = scan_cmd, .group = "generic", .since = "2.8.0",
     .summary = "Incrementally iterate the keys space",
     .complexity = "O(1) for every call. O(N) for a complete iteration, including enough "
                   "command calls for the cursor to return back to 0. N is the number of "
                   "elements inside the collection.",
     .acl = "@keyspace @read @slow",
     .args = "cursor [MATCH pattern] [COUNT count] [TYPE type]",
     .tips = "nondeterministic_output request_policy:special"},
    {.name = "randomkey", .arity = 1, .flags = CMD_READONLY,
     .fn = randomkey_cmd, .group = "generic", .since = "1.0.0",
     .summary = "Return a random key from the keyspace", .complexity = "O(1)",
     .acl = "@keyspace @read @slow", .args = "",
     .tips = "request_policy:all_shards nondeterministic_output"},
    {.name = "rename", .arity = 3, .flags = CMD_WRITE,
     .first_key = 1, .last_key = 2, .key_step = 1,
     .fn = rename_cmd, .group = "generic", .since = "1.0.0",
     .summary = "Rename a key", .complexity = "O(1)",
     .acl = "@keyspace @write @slow", .args = "key newkey"},
    {.name = "renamenx", .arity = 3, .flags = CMD_WRITE | CMD_FAST,
     .first_key = 1, .last_key = 2, .key_step = 1,
     .fn = renamenx_cmd, .group = "generic", .since = "1.0.0",
     .summary = "Rename a key, only if the new key does not exist", .complexity = "O(1)",
     .acl = "@keyspace @write @fast", .args = "key newkey"},
    {.name = "move", .arity = 3, .flags = CMD_WRITE | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = move_cmd, .group = "generic", .since = "1.0.0",
     .summary = "Move a key to another database", .complexity = "O(1)",
     .acl = "@keyspace @write @fast", .args = "key db"},
    {.name = "swapdb", .arity = 3, .flags = CMD_WRITE | CMD_FAST,
     .fn = swapdb_cmd, .group = "server", .since = "4.0.0",
     .summary = "Swaps two Redis databases",
     .complexity = "O(N) where N is the count of clients watching or blocking on keys from both databases.",
     .acl = "@keyspace @write @fast @dangerous", .args = "index1 index2"},
    {.name = "copy", .arity = -3, .flags = CMD_WRITE | CMD_DENYOOM,
     .first_key = 1, .last_key = 2, .key_step = 1,
     .fn = copy_cmd, .group = "generic", .since = "6.2.0",
     .summary = "Copy a key",
     .complexity = "O(N) worst case for collections, where N is the number of nested items. "
                   "O(1) for string values.",
     .acl = "@keyspace @write @slow", .args = "source destination [DB destination-db] [REPLACE]"},
    {.name = "touch", .arity = -2, .flags = CMD_READONLY | CMD_FAST,
     .first_key = 1, .last_key = -1, .key_step = 1,
     .fn = touch_cmd, .group = "generic", .since = "3.2.1",
     .summary = "Alters the last access time of a key(s). Returns the number of existing keys "
                "specified.",
     .complexity = "O(N) where N is the number of keys that will be touched.",
     .acl = "@keyspace @read @fast", .args = "key [key ...]",
     .tips = "request_policy:multi_shard response_policy:agg_sum"},
    {.name = "expire", .arity = -3, .flags = CMD_WRITE | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = expire_cmd, .group = "generic", .since = "1.0.0",
     .summary = "Set a key's time to live in seconds", .complexity = "O(1)",
     .acl = "@keyspace @write @fast", .args = EXPIRE_ARGS("seconds")},
    {.name = "pexpire", .arity = -3, .flags = CMD_WRITE | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = pexpire_cmd, .group = "generic", .since = "2.6.0",
     .summary = "Set a key's time to live in milliseconds", .complexity = "O(1)",
     .acl = "@keyspace @write @fast", .args = EXPIRE_ARGS("milliseconds")},
    {.name = "expireat", .arity = -3, .flags = CMD_WRITE | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = expireat_cmd, .group = "generic", .since = "1.2.0",
     .summary = "Set the expiration for a key as a UNIX timestamp", .complexity = "O(1)",
     .acl = "@keyspace @write @fast", .args = EXPIRE_ARGS("unix-time-seconds")},
    {.name = "pexpireat", .arity = -3, .flags = CMD_WRITE | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = pexpireat_cmd, .group = "generic", .since = "2.6.0",
     .summary = "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
     .complexity = "O(1)",
     .acl = "@keyspace @write @fast", .args = EXPIRE_ARGS("unix-time-milliseconds")},
    {.name = "ttl", .arity = 2, .flags = CMD_READONLY | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = ttl_cmd, .group = "generic", .since = "1.0.0",
     .summary = "Get the time to live for a key in seconds", .complexity = "O(1)",
     .acl = "@keyspace @read @fast", .args = "key",
     .tips = "nondeterministic_output"},
    {.name = "pttl", .arity = 2, .flags = CMD_READONLY | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = pttl_cmd, .group = "generic", .since = "2.6.0",
     .summary = "Get the time to live for a key in milliseconds", .complexity = "O(1)",
     .acl = "@keyspace @read @fast", .args = "key",
     .tips = "nondeterministic_output"},
    {.name = "expiretime", .arity = 2, .flags = CMD_READONLY | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = expiretime_cmd, .group = "generic", .since = "7.0.0",
     .summary = "Get the expiration Unix timestamp for a key", .complexity = "O(1)",
     .acl = "@keyspace @read @fast", .args = "key"},
    {.name = "pexpiretime", .arity = 2, .flags = CMD_READONLY | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = pexpiretime_cmd, .group = "generic", .since = "7.0.0",
     .summary = "Get the expiration Unix timestamp for a key in milliseconds",
     .complexity = "O(1)",
     .acl = "@keyspace @read @fast", .args = "key"},
    {.name = "persist", .arity = 2, .flags = CMD_WRITE | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = persist_cmd, .group = "generic", .since = "2.2.0",
     .summary = "Remove the expiration from a key", .complexity = "O(1)",
     .acl = "@keyspace @write @fast", .args = "key"},
    {.name = "object", .arity = -2, .flags = 0,
     .fn = NULL, .group = "generic", .since = "2.2.3",
     .summary = "A container for object introspection commands",
     .complexity = "Depends on subcommand.", .acl = "@slow", .args = "",
     .subcommands = object_subcommands},
    {0},
};
