/* Server commands: DBSIZE FLUSHDB FLUSHALL TIME LASTSAVE DEBUG, and the
 * table entries of CONFIG (config.c), COMMAND (command.c) and INFO
 * (info.c), with Redis 7.0's replies (db.c, server.c, debug.c).
 *
 * TIME answers from the command's time, the leader's once replicated.
 * DEBUG SLEEP cannot sleep in the core: it asks the driver to, through
 * engine.debug_sleep_us. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"
#include "core/cmd/config.h"
#include "core/cmd/info.h"
#include "core/store/codec.h"
#include "core/store/types.h"
#include "core/store/hash.h"
#include "core/store/set.h"

#include <xxhash.h>

/* ------------------------------------------------------------------------ */
/* DBSIZE FLUSHDB FLUSHALL TIME LASTSAVE */

static void dbsize_cmd(cmd_ctx *x) { reply_int(x, (long long)db_size(x->db)); }

/* FLUSHDB / FLUSHALL [ASYNC|SYNC]: keel frees synchronously either way. */
static void flush_cmd(cmd_ctx *x)
{
    if (x->argc > 2 || (x->argc == 2 && !arg_is(&x->argv[1], "sync") && !arg_is(&x->argv[1], "async"))) {
        reply_error(x, ERR_SYNTAX);
        return;
    }
    long long n = 0;
    if (arg_is(&x->argv[0], "flushall")) {
        for (int i = 0; i < x->eng->ndbs; i++) {
            n += (long long)db_size(engine_db(x->eng, i));
            db_flush(engine_db(x->eng, i));
        }
    } else {
        n = (long long)db_size(x->db);
        db_flush(x->db);
    }
    cmd_dirty(x, n);
    reply_ok(x);
}

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

static void time_cmd(cmd_ctx *x)
{
    int64_t s = floor_div(x->now_ms, 1000);
    reply_array(x, 2);
    reply_bulk_ll(x, (long long)s);
    reply_bulk_ll(x, (long long)(x->now_ms - s * 1000) * 1000);
}

/* SAVE and BGSAVE [SCHEDULE]: the driver writes the snapshot (the engine's
 * snapshot hook); its answer is an error, a status, or NULL (done). */
static void snapshot_generic(cmd_ctx *x, bool background)
{
    bool schedule = false;
    if (background && x->argc > 1) {
        if (x->argc > 2 || !arg_is(&x->argv[1], "schedule")) {
            reply_error(x, "syntax error");
            return;
        }
        schedule = true;
    }
    engine *e = x->eng;
    if (e->snapshot == NULL) {
        reply_error(x, "snapshots are not available without a runtime");
        return;
    }
    /* Redis schedules a BGSAVE only behind a child of another kind (an
     * AOF rewrite); keel's children are all snapshots, so SCHEDULE changes
     * nothing: behind one, BGSAVE is refused, as Redis refuses it. */
    (void)schedule;
    const char *r = e->snapshot(e->snapshot_ctx, e, background, false);
    if (r == NULL)
        reply_simple(x, background ? "Background saving started" : "OK");
    else if (r[0] == '+')
        reply_simple(x, r + 1);
    else
        reply_error(x, r);
}

static void save_cmd(cmd_ctx *x) { snapshot_generic(x, false); }

/* BGREWRITEAOF: keel's log is compacted by a snapshot (the log behind it
 * is deleted), which is what an AOF rewrite does for Redis; while one runs
 * it is scheduled, as Redis schedules a rewrite behind a BGSAVE. */
static void bgrewriteaof_cmd(cmd_ctx *x)
{
    engine *e = x->eng;
    if (e->snapshot == NULL) {
        reply_error(x, "snapshots are not available without a runtime");
        return;
    }
    const char *r = e->snapshot(e->snapshot_ctx, e, true, true);
    if (r == NULL)
        reply_simple(x, "Background append only file rewriting started");
    else if (r[0] == '+')
        reply_simple(x, "Background append only file rewriting scheduled");
    else
        reply_error(x, r);
}
static void bgsave_cmd(cmd_ctx *x) { snapshot_generic(x, true); }

static void lastsave_cmd(cmd_ctx *x) { reply_int(x, (long long)floor_div(x->eng->lastsave_ms, 1000)); }

/* ------------------------------------------------------------------------ */
/* DEBUG */

/* Redis's addReplySubcommandSyntaxError. */
static void subcommand_syntax_error(cmd_ctx *x)
{
    char up[64];
    size_t n = 0;
    for (; n < x->argv[0].len && n < sizeof(up) - 1 && x->argv[0].ptr[n]; n++)
        up[n] = (char)toupper((unsigned char)x->argv[0].ptr[n]);
    up[n] = '\0';
    const resp_slice *a = &x->argv[1];
    const char *nul = memchr(a->ptr, '\0', a->len);
    size_t alen = nul ? (size_t)(nul - a->ptr) : a->len;
    reply_errorf(x, "unknown subcommand or wrong number of arguments for '%.*s'. Try %s HELP.",
                 (int)(alen > 128 ? 128 : alen), a->ptr, up);
}

/* The sizes of Redis's RDB encodings (rdbSaveLen, rdbSaveRawString), for
 * DEBUG OBJECT's serializedlength. Compression is not modelled. */
static size_t rdb_len_size(uint64_t len)
{
    if (len < (1 << 6))
        return 1;
    if (len < (1 << 14))
        return 2;
    if (len <= UINT32_MAX)
        return 5;
    return 9;
}

/* The size of an integer encoding (rdbEncodeInteger), 0 if none fits. */
static size_t rdb_int_size(long long v)
{
    if (v >= -(1 << 7) && v <= (1 << 7) - 1)
        return 2;
    if (v >= -(1 << 15) && v <= (1 << 15) - 1)
        return 3;
    if (v >= -(1LL << 31) && v <= (1LL << 31) - 1)
        return 5;
    return 0;
}

static size_t rdb_string_size(const char *s, size_t len)
{
    if (len <= 11) {
        long long v;
        char buf[32];
        /* Only canonical integers are encoded as integers. */
        if (resp_string2ll(s, len, &v) && (size_t)snprintf(buf, sizeof(buf), "%lld", v) == len) {
            size_t n = rdb_int_size(v);
            if (n)
                return n;
        }
    }
    return rdb_len_size(len) + len;
}

/* A listpack string entry's size (lpEncodeBacklen etc.), integers as
 * listpack stores them. */
static size_t lp_entry_size(const char *s, size_t len)
{
    long long v;
    size_t enc;
    if (len <= 20 && resp_string2ll(s, len, &v)) {
        if (v >= 0 && v <= 127)
            enc = 1;
        else if (v >= -4096 && v <= 4095)
            enc = 2;
        else if (v >= -32768 && v <= 32767)
            enc = 3;
        else if (v >= -8388608 && v <= 8388607)
            enc = 4;
        else if (v >= -2147483648LL && v <= 2147483647LL)
            enc = 5;
        else
            enc = 9;
    } else if (len < 64) {
        enc = 1 + len;
    } else if (len < 4096) {
        enc = 2 + len;
    } else {
        enc = 5 + len;
    }
    size_t back = enc < 128 ? 1 : enc < 16384 ? 2 : enc < 2097152 ? 3 : enc < 268435456 ? 4 : 5;
    return enc + back;
}

typedef struct hash_size {
    size_t listpack; /* bytes of the listpack Redis would hold */
    size_t table;    /* bytes of the hashtable form */
} hash_size;

static void hash_size_cb(void *ctx, const char *f, size_t flen, const char *v, size_t vlen)
{
    hash_size *s = ctx;
    s->listpack += lp_entry_size(f, flen) + lp_entry_size(v, vlen);
    s->table += rdb_string_size(f, flen) + rdb_string_size(v, vlen);
}

static size_t serialized_length(const kentry *e)
{
    if (kentry_type(e) == OBJ_STRING) {
        if (kentry_enc(e) == ENC_INT) {
            long long v = kentry_int(e);
            size_t n = rdb_int_size(v);
            if (n)
                return n;
        }
        char tmp[KSTR_TMP];
        const char *p;
        size_t len = kentry_str(e, &p, tmp);
        return rdb_string_size(p, len);
    }
    if (kentry_type(e) == OBJ_HASH) {
        const khash *h = kentry_obj(e);
        hash_size s = {6 + 1, rdb_len_size(khash_len(h))};
        khash_for_each(h, hash_size_cb, &s);
        return kentry_enc(e) == ENC_LISTPACK ? rdb_len_size(s.listpack) + s.listpack : s.table;
    }
    return 0;
}

static void debug_object(cmd_ctx *x)
{
    const resp_slice *k = &x->argv[2];
    /* As Redis: a plain lookup, no expiry, no LRU touch. */
    const kentry *e = (const kentry *)dict_find(&x->db->keys, k->ptr, k->len);
    if (e == NULL) {
        reply_error(x, ERR_NO_SUCH_KEY);
        return;
    }
    /* Small integers are Redis's shared objects. */
    int refcount = 1;
    if (kentry_type(e) == OBJ_STRING && kentry_enc(e) == ENC_INT) {
        long long v = kentry_int(e);
        if (v >= 0 && v < 10000)
            refcount = 2147483647;
    }
    uint32_t idle = kentry_idle(x->db, e);
    uint32_t lru = (x->db->lru_clock - idle) & ((1u << 24) - 1);
    char line[256];
    /* A fixed address: keel never shows a pointer. */
    snprintf(line, sizeof(line),
             "Value at:0x7f0000000000 refcount:%d encoding:%s serializedlength:%zu lru:%u "
             "lru_seconds_idle:%u",
             refcount, obj_enc_name(kentry_enc(e)), serialized_length(e), lru, idle);
    reply_simple(x, line);
}

static void debug_sleep(cmd_ctx *x)
{
    /* strtod on the argument, as Redis (garbage reads as 0). */
    const resp_slice *a = &x->argv[2];
    char buf[64];
    size_t n = a->len < sizeof(buf) - 1 ? a->len : sizeof(buf) - 1;
    memcpy(buf, a->ptr, n);
    buf[n] = '\0';
    double d = strtod(buf, NULL);
    /* Bounded: a driver must never be asked to wait for ages or a
     * negative time. */
    if (!(d > 0))
        d = 0;
    if (d > 86400.0 * 365)
        d = 86400.0 * 365;
    int64_t us = (int64_t)(d * 1000000.0);
    if (x->eng->debug_sleep_us <= INT64_MAX - us)
        x->eng->debug_sleep_us += us;
    reply_ok(x);
}

static void pack_value(const kentry *e, kbuf *out);

/* MEMORY USAGE key [SAMPLES count]: an estimate of the bytes a key takes
 * (entry, key, value; collections from their element bytes plus a per
 * element overhead). The core does not ask the allocator: the figure is
 * the same on every replica. */
static void mem_pair_cb(void *ctx, const char *f, size_t flen, const char *v, size_t vlen)
{
    (void)f;
    (void)v;
    *(size_t *)ctx += flen + vlen + 16;
}

static void memory_usage_cmd(cmd_ctx *x)
{
    for (int j = 3; j < x->argc; j++) {
        if (arg_is(&x->argv[j], "samples") && j + 1 < x->argc) {
            long long n;
            if (!arg_ll(x, &x->argv[j + 1], &n, NULL))
                return;
            if (n < 0) {
                reply_error(x, ERR_SYNTAX);
                return;
            }
            j++;
        } else {
            reply_error(x, ERR_SYNTAX);
            return;
        }
    }
    kentry *e = db_find(x->db, x->argv[2].ptr, x->argv[2].len, x->now_ms);
    if (e == NULL) {
        reply_null(x);
        return;
    }
    reply_int(x, (long long)key_memory_usage(e));
}

size_t key_memory_usage(const kentry *e)
{
    size_t bytes = 24 + kentry_klen(e) + (kentry_deadline(e) >= 0 ? 16 : 0) + 8 /* bucket */;
    if (kentry_type(e) == OBJ_STRING) {
        char tmp[KSTR_TMP];
        const char *p;
        size_t n = kentry_str(e, &p, tmp);
        bytes += kentry_enc(e) == ENC_INT ? 8 : kentry_enc(e) == ENC_EMBSTR ? n : n + 24;
    } else if (kentry_type(e) == OBJ_HASH) {
        khash_for_each(kentry_obj(e), mem_pair_cb, &bytes);
    } else {
        kbuf b = KBUF_INIT;
        pack_value(e, &b);
        bytes += b.len + 16 * obj_ops_by_type[kentry_type(e)]->len(kentry_obj(e));
        kbuf_free(&b);
    }
    return bytes;
}

static void memory_help_cmd(cmd_ctx *x)
{
    static const char *const lines[] = {
        "USAGE <key> [SAMPLES <count>]",
        "    Return an estimate of the bytes used by <key> and its value.",
        NULL,
    };
    reply_help(x, lines);
}

static const cmd_def memory_subcommands[] = {
    {.name = "usage", .arity = -3, .flags = CMD_READONLY, .first_key = 2, .last_key = 2,
     .key_step = 1, .fn = memory_usage_cmd, .group = "server", .since = "4.0.0",
     .summary = "Estimate the memory usage of a key",
     .complexity = "O(N) where N is the number of samples.", .acl = "@read @slow",
     .args = "key [SAMPLES count]"},
    {.name = "help", .arity = 2, .flags = CMD_LOADING | CMD_STALE, .fn = memory_help_cmd,
     .group = "server", .since = "4.0.0", .summary = "Show helpful text about the different subcommands",
     .complexity = "O(1)", .acl = "@slow", .args = ""},
    {0},
};

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: the driver stops
 * accepting, answers what is in the log, flushes replies and exits 0; SAVE
 * takes a snapshot first, NOSAVE skips the one save points would take (as
 * Redis's final RDB). No reply on success: the connection closes, as with
 * Redis. */
static void shutdown_cmd(cmd_ctx *x)
{
    bool abort_ = false, save = false, nosave = false;
    for (int j = 1; j < x->argc; j++) {
        if (arg_is(&x->argv[j], "nosave"))
            nosave = true;
        else if (arg_is(&x->argv[j], "save"))
            save = true;
        else if (arg_is(&x->argv[j], "now") || arg_is(&x->argv[j], "force"))
            ;
        else if (arg_is(&x->argv[j], "abort"))
            abort_ = true;
        else {
            reply_error(x, ERR_SYNTAX);
            return;
        }
    }
    if ((abort_ && x->argc != 2) || (save && nosave)) {
        reply_error(x, ERR_SYNTAX);
        return;
    }
    if (abort_) {
        reply_error(x, "No shutdown in progress.");
        return;
    }
    x->eng->shutdown_requested = true;
    x->eng->shutdown_save = save ? 1 : nosave ? -1 : 0;
    x->cl->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

/* DEBUG RELOAD: every database through a snapshot image and back (the
 * codec's round trip, live). */
static void debug_reload(cmd_ctx *x)
{
    engine *e = x->eng;
    for (int i = 0; i < e->ndbs; i++) {
        db *d = engine_db(e, i);
        kbuf img = KBUF_INIT;
        codec_encode_db(d, kbuf_write, &img);
        /* Rebuild the db empty, keeping its identity and hooks. */
        db_stats stats = d->stats;
        db_modified_fn *hook = d->on_modified;
        void *hook_ctx = d->hook_ctx;
        int id = d->id;
        uint32_t clock = d->lru_clock;
        db_flush(d);
        /* The tables' seed stays the data's (engine_set_data_seed). */
        const char *err = codec_decode_db(d, img.data, img.len, d->keys.seed);
        d->stats = stats;
        d->on_modified = hook;
        d->hook_ctx = hook_ctx;
        d->id = id;
        d->lru_clock = clock;
        kbuf_free(&img);
        if (err) {
            reply_errorf(x, "Error trying to load the snapshot image: %s", err);
            return;
        }
    }
    reply_ok(x);
}

/* DEBUG DIGEST / DIGEST-VALUE: order-independent signatures of the data,
 * 40 hex characters like Redis's (all zeros for nothing). Values are
 * hashed by content, not encoding: strings by their bytes, hashes by the
 * xor of their field/value pairs, sets by the xor of their members (a
 * copy's members may iterate in another order); lists and sorted sets,
 * whose order is part of the value, by their snapshot form. */
typedef struct digest {
    uint64_t a, b, c;
} digest;

static void mix(digest *dg, const void *p, size_t len, uint64_t salt)
{
    XXH128_hash_t h = XXH3_128bits_withSeed(p, len, salt);
    dg->a ^= h.low64;
    dg->b ^= h.high64;
    dg->c ^= XXH3_64bits_withSeed(p, len, salt ^ 0x9e3779b97f4a7c15ULL);
}

static void pair_cb(void *ctx, const char *f, size_t flen, const char *v, size_t vlen)
{
    digest *dg = ctx;
    kbuf b = KBUF_INIT;
    char n[24];
    size_t nl = resp_ll2str(n, (long long)flen);
    kbuf_append(&b, n, nl);
    kbuf_putc(&b, ':');
    kbuf_append(&b, f, flen);
    kbuf_append(&b, v, vlen);
    mix(dg, b.data, b.len, 2);
    kbuf_free(&b);
}

static void member_cb(void *ctx, const char *m, size_t len) { mix(ctx, m, len, 5); }

/* The value alone as msgpack, for the types hashed by their snapshot form
 * (no key, no deadline: a COPY digests the same). */
static void pack_value(const kentry *e, kbuf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, kbuf_write);
    switch (kentry_type(e)) {
    case OBJ_LIST: list_codec.pack(&pk, e); break;
    case OBJ_SET: set_codec.pack(&pk, e); break;
    case OBJ_ZSET: zset_codec.pack(&pk, e); break;
    default: break;
    }
}

static digest value_digest(const kentry *e)
{
    digest dg = {0, 0, 0};
    if (kentry_type(e) == OBJ_STRING) {
        char tmp[KSTR_TMP];
        const char *p;
        size_t n = kentry_str(e, &p, tmp);
        mix(&dg, p, n, 1);
    } else if (kentry_type(e) == OBJ_HASH) {
        khash_for_each(kentry_obj(e), pair_cb, &dg);
    } else if (kentry_type(e) == OBJ_SET) {
        kset_for_each(kentry_obj(e), member_cb, &dg);
    } else {
        kbuf b = KBUF_INIT;
        pack_value(e, &b);
        mix(&dg, b.data, b.len, 3);
        kbuf_free(&b);
    }
    /* The type is part of the value's identity. */
    uint8_t t = (uint8_t)kentry_type(e);
    mix(&dg, &t, 1, 4);
    return dg;
}

static void reply_digest(cmd_ctx *x, digest dg)
{
    char hex[41];
    if (dg.a == 0 && dg.b == 0 && dg.c == 0) {
        memset(hex, '0', 40);
    } else {
        snprintf(hex, sizeof(hex), "%016llx%016llx%08llx", (unsigned long long)dg.a,
                 (unsigned long long)dg.b, (unsigned long long)(dg.c & 0xffffffffULL));
    }
    resp_add_simple(x->out, hex, 40);
}

typedef struct db_digest_ctx {
    digest all;
} db_digest_ctx;

static void db_digest_cb(void *ctx, kentry *e)
{
    db_digest_ctx *c = ctx;
    digest v = value_digest(e);
    /* Key, value and deadline together, then xor into the whole. */
    digest k = {0, 0, 0};
    mix(&k, kentry_key(e), kentry_klen(e), 5);
    int64_t dl = kentry_deadline(e);
    uint64_t parts[5] = {v.a, v.b, v.c, (uint64_t)dl, k.a ^ k.b};
    digest one = {0, 0, 0};
    mix(&one, parts, sizeof(parts), 6);
    c->all.a ^= one.a;
    c->all.b ^= one.b;
    c->all.c ^= one.c;
}

static void debug_digest(cmd_ctx *x)
{
    db_digest_ctx c = {{0, 0, 0}};
    for (int i = 0; i < x->eng->ndbs; i++) {
        db *d = engine_db(x->eng, i);
        if (db_size(d) == 0)
            continue;
        db_digest_ctx one = {{0, 0, 0}};
        db_for_each(d, db_digest_cb, &one);
        uint64_t parts[4] = {one.all.a, one.all.b, one.all.c, (uint64_t)i};
        digest dd = {0, 0, 0};
        mix(&dd, parts, sizeof(parts), 7);
        c.all.a ^= dd.a;
        c.all.b ^= dd.b;
        c.all.c ^= dd.c;
    }
    reply_digest(x, c.all);
}

static void debug_digest_value(cmd_ctx *x)
{
    reply_array(x, x->argc - 2);
    for (int j = 2; j < x->argc; j++) {
        kentry *e = db_find(x->db, x->argv[j].ptr, x->argv[j].len, x->now_ms);
        digest dg = {0, 0, 0};
        if (e)
            dg = value_digest(e);
        reply_digest(x, dg);
    }
}

/* DEBUG PROTOCOL <type>: a test value of each reply type, as Redis's
 * debug.c (tests/unit/protocol.tcl reads them in both protocols). */
static void debug_protocol(cmd_ctx *x)
{
    const resp_slice *t = &x->argv[2];
    if (arg_is(t, "string")) {
        reply_bulk_cstr(x, "Hello World");
    } else if (arg_is(t, "integer")) {
        reply_int(x, 12345);
    } else if (arg_is(t, "double")) {
        reply_double(x, 3.141);
    } else if (arg_is(t, "bignum")) {
        static const char big[] = "1234567999999999999999999999999999999";
        reply_bignum(x, big, sizeof(big) - 1);
    } else if (arg_is(t, "null")) {
        reply_null(x);
    } else if (arg_is(t, "array")) {
        reply_array(x, 3);
        for (int j = 0; j < 3; j++)
            reply_int(x, j);
    } else if (arg_is(t, "set")) {
        reply_set(x, 3);
        for (int j = 0; j < 3; j++)
            reply_int(x, j);
    } else if (arg_is(t, "map")) {
        reply_map(x, 3);
        for (int j = 0; j < 3; j++) {
            reply_int(x, j);
            reply_bool(x, j == 1);
        }
    } else if (arg_is(t, "attrib")) {
        /* RESP2 has no attributes: only the reply they would describe. */
        if (reply_proto(x) >= 3) {
            reply_attribute(x, 1);
            reply_bulk_cstr(x, "key-popularity");
            reply_array(x, 2);
            reply_bulk_cstr(x, "key:123");
            reply_int(x, 90);
        }
        reply_bulk_cstr(x, "Some real reply following the attribute");
    } else if (arg_is(t, "push")) {
        if (reply_proto(x) < 3) {
            reply_error(x, "RESP2 is not supported by this command");
            return;
        }
        /* Out of band, then a real reply for clients that skip pushes. */
        reply_push(x, 2);
        reply_bulk_cstr(x, "server-cpu-usage");
        reply_int(x, 42);
        reply_bulk_cstr(x, "Some real reply following the push reply");
    } else if (arg_is(t, "true")) {
        reply_bool(x, true);
    } else if (arg_is(t, "false")) {
        reply_bool(x, false);
    } else if (arg_is(t, "verbatim")) {
        static const char text[] = "This is a verbatim\nstring";
        reply_verbatim(x, text, sizeof(text) - 1, "txt");
    } else {
        reply_error(x, "Wrong protocol type name. Please use one of the following: "
                       "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|"
                       "true|false");
    }
}

static void debug_cmd(cmd_ctx *x)
{
    const resp_slice *sub = &x->argv[1];
    if (x->argc == 2 && arg_is(sub, "help")) {
        static const char *const help[] = {
            "OBJECT <key>",
            "    Show low level info about `key` and associated value.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "RELOAD",
            "    Save every database to a snapshot image in memory and load it back.",
            "LOADAOF",
            "    The same as RELOAD: the log holds exactly what memory holds (what is",
            "    applied is logged), so a reload through a snapshot image is what a",
            "    restart from the log gives.",
            "DIGEST",
            "    Output a hex signature representing the current DB content.",
            "DIGEST-VALUE <key-1> ... <key-N>",
            "    Output a hex signature of the values of all the specified keys.",
            NULL,
        };
        reply_help(x, help);
    } else if (arg_is(sub, "object") && x->argc == 3) {
        debug_object(x);
    } else if (arg_is(sub, "sleep") && x->argc == 3) {
        debug_sleep(x);
    } else if (arg_is(sub, "set-active-expire") && x->argc == 3) {
        long long v;
        if (!arg_ll(x, &x->argv[2], &v, NULL))
            return;
        x->eng->active_expire_enabled = v != 0;
        reply_ok(x);
    } else if ((arg_is(sub, "reload") || arg_is(sub, "loadaof")) && x->argc == 2) {
        debug_reload(x);
    } else if (arg_is(sub, "digest") && x->argc == 2) {
        debug_digest(x);
    } else if (arg_is(sub, "digest-value") && x->argc >= 2) {
        debug_digest_value(x);
    } else if (arg_is(sub, "protocol") && x->argc == 3) {
        debug_protocol(x);
    } else if (arg_is(sub, "quicklist-packed-threshold") && x->argc == 3) {
        /* Redis stores elements above this size in nodes of their own
         * ("plain" nodes). keel's list nodes hold an element of any size
         * next to others, so there is nothing to tune: the value is checked
         * as Redis checks it and otherwise has no effect. */
        unsigned long long sz;
        if (!config_parse_memory_value(x->argv[2].ptr, x->argv[2].len, &sz) ||
            sz > (1ULL << 32) - (1ULL << 20)) {
            reply_error(x, "argument must be a memory value bigger than 1 and smaller than 4gb");
            return;
        }
        reply_ok(x);
    } else {
        subcommand_syntax_error(x);
    }
}

/* ------------------------------------------------------------------------ */

const cmd_def cmd_server[] = {
    {.name = "command", .arity = -1, .flags = CMD_LOADING | CMD_STALE | CMD_SENTINEL,
     .fn = command_cmd, .group = "server", .since = "2.8.13",
     .summary = "Get array of Redis command details",
     .complexity = "O(N) where N is the total number of Redis commands",
     .acl = "@slow @connection", .args = "", .subcommands = command_subcommands,
     .tips = "nondeterministic_output_order"},
    {.name = "config", .arity = -2, .flags = 0, .fn = NULL, .group = "server", .since = "2.0.0",
     .summary = "A container for server configuration commands",
     .complexity = "Depends on subcommand.", .acl = "@slow", .args = "",
     .subcommands = config_subcommands},
    {.name = "dbsize", .arity = 1, .flags = CMD_READONLY | CMD_FAST, .fn = dbsize_cmd,
     .group = "server", .since = "1.0.0",
     .summary = "Return the number of keys in the selected database", .complexity = "O(1)",
     .acl = "@keyspace @read @fast", .args = "",
     .tips = "request_policy:all_shards response_policy:agg_sum"},
    {.name = "debug", .arity = -2,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_PROTECTED,
     .fn = debug_cmd, .group = "server", .since = "1.0.0",
     .summary = "A container for debugging commands", .complexity = "Depends on subcommand.",
     .acl = "@admin @slow @dangerous", .args = ""},
    {.name = "memory", .arity = -2, .group = "server", .since = "4.0.0",
     .summary = "A container for memory diagnostics commands", .complexity = "Depends on subcommand.",
     .acl = "@slow", .args = "", .subcommands = memory_subcommands},
    {.name = "shutdown", .arity = -1,
     .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NO_MULTI | CMD_SENTINEL |
              CMD_ALLOW_BUSY,
     .fn = shutdown_cmd, .group = "server", .since = "1.0.0",
     .summary = "Synchronously save the dataset to disk and then shut down the server",
     .complexity = "O(N) when saving, where N is the total number of keys in all databases "
                   "when saving data, otherwise O(1)",
     .acl = "@admin @slow @dangerous", .args = "[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]"},
    {.name = "flushall", .arity = -1, .flags = CMD_WRITE, .fn = flush_cmd, .group = "server",
     .since = "1.0.0", .summary = "Remove all keys from all databases",
     .complexity = "O(N) where N is the total number of keys in all databases",
     .acl = "@keyspace @write @slow @dangerous", .args = "[ASYNC|SYNC]",
     .tips = "request_policy:all_shards response_policy:all_succeeded"},
    {.name = "flushdb", .arity = -1, .flags = CMD_WRITE, .fn = flush_cmd, .group = "server",
     .since = "1.0.0", .summary = "Remove all keys from the current database",
     .complexity = "O(N) where N is the number of keys in the selected database",
     .acl = "@keyspace @write @slow @dangerous", .args = "[ASYNC|SYNC]",
     .tips = "request_policy:all_shards response_policy:all_succeeded"},
    {.name = "info", .arity = -1, .flags = CMD_LOADING | CMD_STALE | CMD_SENTINEL, .fn = info_cmd,
     .group = "server", .since = "1.0.0",
     .summary = "Get information and statistics about the server", .complexity = "O(1)",
     .acl = "@slow @dangerous", .args = "[section [section ...]]",
     .tips = "nondeterministic_output request_policy:all_shards response_policy:special"},
    {.name = "bgrewriteaof", .arity = 1, .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING,
     .fn = bgrewriteaof_cmd, .group = "server", .since = "1.0.0",
     .summary = "Asynchronously rewrite the append-only file", .complexity = "O(1)",
     .acl = "@admin @slow @dangerous", .args = ""},
    {.name = "save", .arity = 1, .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING | CMD_NO_MULTI,
     .fn = save_cmd, .group = "server", .since = "1.0.0",
     .summary = "Synchronously save the dataset to disk",
     .complexity = "O(N) where N is the total number of keys in all databases",
     .acl = "@admin @slow @dangerous", .args = ""},
    {.name = "bgsave", .arity = -1, .flags = CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_ASYNC_LOADING,
     .fn = bgsave_cmd, .group = "server", .since = "1.0.0",
     .summary = "Asynchronously save the dataset to disk",
     .complexity = "O(1)", .acl = "@admin @slow @dangerous", .args = "[SCHEDULE]"},
    {.name = "lastsave", .arity = 1, .flags = CMD_LOADING | CMD_STALE | CMD_FAST,
     .fn = lastsave_cmd, .group = "server", .since = "1.0.0",
     .summary = "Get the UNIX time stamp of the last successful save to disk",
     .complexity = "O(1)", .acl = "@admin @fast @dangerous", .args = "",
     .tips = "nondeterministic_output"},
    {.name = "time", .arity = 1, .flags = CMD_LOADING | CMD_STALE | CMD_FAST, .fn = time_cmd,
     .group = "server", .since = "2.6.0", .summary = "Return the current server time",
     .complexity = "O(1)", .acl = "@fast", .args = "", .tips = "nondeterministic_output"},
    {0},
};
