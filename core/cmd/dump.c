/* DUMP and RESTORE, with Redis 7.0's replies, errors and order of checks
 * (cluster.c's dumpCommand and restoreCommand).
 *
 * The payload is keel's own and, as Redis documents its own, opaque:
 *
 *     body | 2 bytes: format version | 8 bytes: XXH3-64 of everything before
 *
 * both little endian: Redis's framing (value, RDB version, CRC64) with
 * keel's value and hash. The body is the snapshot codec's entry
 * (core/store/codec.h) for the value under the empty key, without a
 * deadline: [bin "", type, nil, encoding, value], the value exactly as
 * codec_encode_entry writes it. RESTORE checks the footer first (too short,
 * another version or a wrong checksum: "DUMP payload version or checksum
 * are wrong"; a payload from a real Redis carries an RDB version and is
 * refused so), then decodes the body with codec_decode_db, which walks
 * every count against the bytes before msgpack-c allocates anything and
 * refuses whatever is not a well-formed entry ("Bad data format"). The
 * value is decoded into a scratch db and moved into place.
 *
 * The encoding a restored value gets is the one a load gives it in Redis
 * (rdbLoadObject, by the current configuration): a string as SET would
 * store it (int, embstr up to 44 bytes, raw); a listpack hash past
 * hash-max-listpack-entries, an intset past set-max-intset-entries, a
 * listpack zset past zset-max-listpack-entries become tables; a hashtable
 * hash, an all-integer hashtable set and a skiplist zset that fit the
 * compact limits become compact. Lists keep their nodes. */
#include <limits.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"
#include "core/store/codec.h"
#include "core/store/hash.h"
#include "core/store/set.h"
#include "core/store/zset.h"

/* The 2-byte format version: 'K' (0x4b) over the format number 1, so it is
 * never a Redis RDB version (1..11). */
#define DUMP_VERSION 0x4b01
#define DUMP_FOOTER 10 /* version + checksum */

#define ERR_PAYLOAD "DUMP payload version or checksum are wrong"
#define ERR_BAD_DATA "Bad data format"

/* Size of the msgpack nil, integer or bin/str object at p (of n bytes):
 * header and body, or 0 if it is none of those or does not fit. */
static size_t scalar_size(const unsigned char *p, size_t n)
{
    if (n == 0)
        return 0;
    unsigned char t = p[0];
    size_t size;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0)
        size = 1;
    else if (t >= 0xa0 && t <= 0xbf)
        size = 1 + (size_t)(t & 0x1f);
    else if (t == 0xcc || t == 0xd0)
        size = 2;
    else if (t == 0xcd || t == 0xd1)
        size = 3;
    else if (t == 0xce || t == 0xd2)
        size = 5;
    else if (t == 0xcf || t == 0xd3)
        size = 9;
    else if ((t == 0xc4 || t == 0xd9) && n >= 2)
        size = 2 + (size_t)p[1];
    else if ((t == 0xc5 || t == 0xda) && n >= 3)
        size = 3 + (size_t)codec_be_get(p + 1, 2);
    else if ((t == 0xc6 || t == 0xdb) && n >= 5)
        size = 5 + (size_t)codec_be_get(p + 1, 4);
    else
        return 0;
    return size <= n ? size : 0;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int k = 0; k < n; k++)
        p[k] = (unsigned char)(v >> (8 * k));
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; k--)
        v = (v << 8) | p[k];
    return v;
}

/* ------------------------------------------------------------------------ */
/* DUMP */

/* Builds e's payload in b; returns where it starts in b->data, or -1 if the
 * codec's entry is not the shape codec.h describes (never expected). */
static long build_payload(const kentry *e, kbuf *b)
{
    codec_encode_entry(e, kbuf_write, b);
    const unsigned char *p = (const unsigned char *)b->data;
    size_t n = b->len;
    /* [key, type, deadline, encoding, value]: keep the type, drop the key
     * and the deadline, keep the rest as it is. */
    if (n < 1 || p[0] != 0x95)
        return -1;
    size_t off = 1;
    size_t ks = scalar_size(p + off, n - off);
    if (ks == 0 || !(p[off] == 0xc4 || p[off] == 0xc5 || p[off] == 0xc6))
        return -1;
    off += ks;
    size_t ts = scalar_size(p + off, n - off);
    if (ts == 0 || ts > 9)
        return -1;
    unsigned char type[9];
    memcpy(type, p + off, ts);
    off += ts;
    size_t ds = scalar_size(p + off, n - off);
    if (ds == 0)
        return -1;
    off += ds;
    /* The new prefix (array, empty key, type, nil) is never longer than the
     * old one: write it just before the rest. */
    size_t pre = 1 + 2 + ts + 1;
    size_t start = off - pre;
    unsigned char *w = (unsigned char *)b->data + start;
    w[0] = 0x95;
    w[1] = 0xc4;
    w[2] = 0x00;
    memcpy(w + 3, type, ts);
    w[3 + ts] = 0xc0;
    unsigned char foot[DUMP_FOOTER];
    put_le(foot, DUMP_VERSION, 2);
    kbuf_append(b, foot, 2);
    uint64_t sum = XXH3_64bits(b->data + start, b->len - start);
    put_le(foot + 2, sum, 8);
    kbuf_append(b, foot + 2, 8);
    return (long)start;
}

static void dump_cmd(cmd_ctx *x)
{
    kentry *e = lookup_read(x, &x->argv[1], -1, NULL);
    if (e == NULL) {
        reply_null(x);
        return;
    }
    kbuf b = KBUF_INIT;
    long start = build_payload(e, &b);
    if (start < 0)
        reply_error(x, "DUMP could not serialize the value");
    else
        reply_bulk(x, b.data + start, b.len - (size_t)start);
    kbuf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* RESTORE */

/* Redis's verifyDumpPayload: room for the footer, keel's version, the
 * checksum. */
static bool payload_ok(const resp_slice *a)
{
    if (a->len < DUMP_FOOTER)
        return false;
    const unsigned char *foot = (const unsigned char *)a->ptr + a->len - DUMP_FOOTER;
    if (get_le(foot, 2) != DUMP_VERSION)
        return false;
    return XXH3_64bits(a->ptr, a->len - 8) == get_le(foot + 2, 8);
}

static void grab_cb(void *ctx, kentry *e)
{
    *(kentry **)ctx = e;
}

typedef struct fit_ctx {
    long long max;
    bool fits;
} fit_ctx;

static void hash_fit_cb(void *ctx, const char *f, size_t flen, const char *v, size_t vlen)
{
    (void)f;
    (void)v;
    fit_ctx *c = ctx;
    if ((long long)flen > c->max || (long long)vlen > c->max)
        c->fits = false;
}

typedef struct rebuild_ctx {
    khash *h;
    kset *s;
    const khash_limits *hl;
    const kset_limits *sl;
} rebuild_ctx;

static void hash_add_cb(void *ctx, const char *f, size_t flen, const char *v, size_t vlen)
{
    rebuild_ctx *c = ctx;
    c->h = khash_set(c->h, f, flen, v, vlen, c->hl, NULL);
}

static void set_int_cb(void *ctx, const char *m, size_t len)
{
    fit_ctx *c = ctx;
    long long ll;
    if (c->fits && !resp_string2ll(m, len, &ll))
        c->fits = false;
}

static void set_add_cb(void *ctx, const char *m, size_t len)
{
    rebuild_ctx *c = ctx;
    c->s = kset_add(c->s, m, len, c->sl, NULL);
}

static bool len_over(size_t len, long long max)
{
    return max < 0 || (unsigned long long)len > (unsigned long long)max;
}

/* Gives the value of *ep (in the scratch db d) the encoding a load gives
 * it in Redis under the current configuration. May move *ep. */
static void load_encoding(cmd_ctx *x, db *d, kentry **ep)
{
    const engine_config *cfg = &x->eng->cfg;
    uint64_t seed = x->db->keys.seed;
    kentry *e = *ep;
    switch (kentry_type(e)) {
    case OBJ_STRING: {
        /* tryObjectEncoding: as SET stores it. Only a short value changes
         * encoding (int or embstr); copy it off the entry first. */
        if (kentry_enc(e) == ENC_INT)
            break;
        char tmp[KSTR_TMP];
        const char *p;
        size_t n = kentry_str(e, &p, tmp);
        long long ll;
        int want = n <= 20 && resp_string2ll(p, n, &ll) ? ENC_INT
                   : n <= STR_EMBSTR_MAX                ? ENC_EMBSTR
                                                        : ENC_RAW;
        if (want != kentry_enc(e) && n <= STR_EMBSTR_MAX) {
            char v[STR_EMBSTR_MAX];
            memcpy(v, p, n);
            *ep = db_set_str(d, "", 0, v, n, -1);
        }
        break;
    }
    case OBJ_HASH: {
        khash *h = kentry_obj(e);
        size_t len = khash_len(h);
        if (khash_enc(h) == ENC_LISTPACK) {
            if (len_over(len, cfg->hash_max_listpack_entries)) {
                h = khash_convert(h, seed);
                kentry_set_obj(e, h, khash_enc(h));
            }
        } else if (!len_over(len, cfg->hash_max_listpack_entries)) {
            fit_ctx fit = {cfg->hash_max_listpack_value, true};
            khash_for_each(h, hash_fit_cb, &fit);
            if (fit.fits) {
                khash_limits lim = {cfg->hash_max_listpack_entries, cfg->hash_max_listpack_value,
                                    seed};
                rebuild_ctx c = {.h = khash_new(), .hl = &lim};
                khash_for_each(h, hash_add_cb, &c);
                if (khash_enc(c.h) == ENC_LISTPACK) {
                    kentry_set_obj(e, c.h, ENC_LISTPACK);
                    khash_free(h);
                } else {
                    khash_free(c.h);
                }
            }
        }
        break;
    }
    case OBJ_SET: {
        kset *s = kentry_obj(e);
        size_t len = kset_len(s);
        long long max = cfg->set_max_intset_entries;
        if (kset_enc(s) == ENC_INTSET) {
            if (len_over(len, max)) {
                s = kset_convert(s, seed);
                kentry_set_obj(e, s, kset_enc(s));
            }
        } else {
            if (max > KSET_INTSET_HARD_MAX)
                max = KSET_INTSET_HARD_MAX;
            if (len_over(len, max))
                break;
            fit_ctx fit = {0, true};
            kset_for_each(s, set_int_cb, &fit);
            if (fit.fits) {
                kset_limits lim = {cfg->set_max_intset_entries, seed};
                rebuild_ctx c = {.s = kset_new(), .sl = &lim};
                kset_for_each(s, set_add_cb, &c);
                if (kset_enc(c.s) == ENC_INTSET) {
                    kentry_set_obj(e, c.s, ENC_INTSET);
                    kset_free(s);
                } else {
                    kset_free(c.s);
                }
            }
        }
        break;
    }
    case OBJ_ZSET: {
        kzset *z = kentry_obj(e);
        if (kzset_enc(z) == ENC_LISTPACK) {
            if (len_over(kzset_len(z), cfg->zset_max_listpack_entries))
                z = kzset_convert(z, seed);
        } else {
            kzset_limits lim = {cfg->zset_max_listpack_entries, cfg->zset_max_listpack_value, seed};
            z = kzset_shrink(z, &lim);
        }
        kentry_set_obj(e, z, kzset_enc(z));
        break;
    }
    default:
        break;
    }
}

/* Decodes the payload's body into the scratch db d (whose LRU clock the
 * entry takes) and returns the value's entry there, or NULL if the body is
 * not a keel value. */
static kentry *decode_body(cmd_ctx *x, db *d, const resp_slice *payload)
{
    size_t blen = payload->len - DUMP_FOOTER;
    kbuf img = KBUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &img, kbuf_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_bin(&pk, strlen(CODEC_MAGIC));
    msgpack_pack_bin_body(&pk, CODEC_MAGIC, strlen(CODEC_MAGIC));
    msgpack_pack_uint8(&pk, CODEC_VERSION);
    msgpack_pack_uint64(&pk, 1);
    kbuf_append(&img, payload->ptr, blen);
    const char *err = codec_decode_db(d, img.data, img.len, x->db->keys.seed);
    kbuf_free(&img);
    if (err || db_size(d) != 1)
        return NULL;
    kentry *e = NULL;
    db_for_each(d, grab_cb, &e);
    if (e == NULL || kentry_klen(e) != 0 || kentry_deadline(e) >= 0)
        return NULL;
    load_encoding(x, d, &e);
    return e;
}

/* RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds]
 * [FREQ frequency] */
static void restore_cmd(cmd_ctx *x)
{
    const resp_slice *key = &x->argv[1];
    long long ttl, freq = -1, idle = -1;
    bool replace = false, absttl = false;
    for (int j = 4; j < x->argc; j++) {
        int additional = x->argc - j - 1;
        const resp_slice *a = &x->argv[j];
        if (arg_is(a, "replace")) {
            replace = true;
        } else if (arg_is(a, "absttl")) {
            absttl = true;
        } else if (arg_is(a, "idletime") && additional >= 1 && freq == -1) {
            if (!arg_ll(x, &x->argv[j + 1], &idle, NULL))
                return;
            if (idle < 0) {
                reply_error(x, "Invalid IDLETIME value, must be >= 0");
                return;
            }
            j++;
        } else if (arg_is(a, "freq") && additional >= 1 && idle == -1) {
            if (!arg_ll(x, &x->argv[j + 1], &freq, NULL))
                return;
            if (freq < 0 || freq > 255) {
                reply_error(x, "Invalid FREQ value, must be >= 0 and <= 255");
                return;
            }
            j++;
        } else {
            reply_error(x, ERR_SYNTAX);
            return;
        }
    }
    if (!replace && db_find_write(x->db, key->ptr, key->len, x->now_ms) != NULL) {
        reply_error(x, "-BUSYKEY Target key name already exists.");
        return;
    }
    if (!arg_ll(x, &x->argv[2], &ttl, NULL))
        return;
    if (ttl < 0) {
        reply_error(x, "Invalid TTL value, must be >= 0");
        return;
    }
    if (!payload_ok(&x->argv[3])) {
        reply_error(x, ERR_PAYLOAD);
        return;
    }

    /* The scratch db's LRU clock is the one the value is stamped with:
     * now, or IDLETIME seconds ago. keel keeps no LFU counter: FREQ is
     * checked and accepted, and changes nothing. */
    db scratch;
    db_init(&scratch, x->db->keys.seed);
    uint32_t clock = x->db->lru_clock;
    if (idle >= 0)
        clock = (unsigned long long)idle >= clock ? 0 : clock - (uint32_t)idle;
    scratch.lru_clock = clock;
    kentry *e = decode_body(x, &scratch, &x->argv[3]);
    if (e == NULL) {
        db_free(&scratch);
        reply_error(x, ERR_BAD_DATA);
        return;
    }

    bool deleted = replace && db_delete(x->db, key->ptr, key->len, x->now_ms);
    int64_t deadline = -1;
    if (ttl != 0) {
        /* Relative: from now, wrapping as Redis's ttl+mstime() does. */
        deadline = absttl ? ttl : (int64_t)((uint64_t)ttl + (uint64_t)x->now_ms);
        if (deadline <= x->now_ms) {
            /* Already expired: nothing is created; a replaced key is gone. */
            db_free(&scratch);
            if (deleted)
                cmd_dirty(x, 1);
            reply_ok(x);
            return;
        }
        db_set_deadline(&scratch, &e, deadline);
    }
    db_move(&scratch, e, x->db, key->ptr, key->len);
    db_free(&scratch);
    cmd_dirty(x, 1);
    reply_ok(x);
}

/* ------------------------------------------------------------------------ */

const cmd_def cmd_dump[] = {
    {.name = "dump", .arity = 2, .flags = CMD_READONLY,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = dump_cmd, .group = "generic", .since = "2.6.0",
     .summary = "Return a serialized version of the value stored at the specified key.",
     .complexity = "O(1) to access the key and additional O(N*M) to serialize it, where N is "
                   "the number of Redis objects composing the value and M their average size. "
                   "For small string values the time complexity is thus O(1)+O(1*M) where M is "
                   "small, so simply O(1).",
     .acl = "@keyspace @read @slow", .args = "key", .tips = "nondeterministic_output"},
    {.name = "restore", .arity = -4, .flags = CMD_WRITE | CMD_DENYOOM,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = restore_cmd, .group = "generic", .since = "2.6.0",
     .summary = "Create a key using the provided serialized value, previously obtained using "
                "DUMP.",
     .complexity = "O(1) to create the new key and additional O(N*M) to reconstruct the "
                   "serialized value, where N is the number of Redis objects composing the "
                   "value and M their average size. For small string values the time "
                   "complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However "
                   "for sorted set values the complexity is O(N*M*log(N)) because inserting "
                   "values into sorted sets is O(log(N)).",
     .acl = "@keyspace @write @slow @dangerous",
     .args = "key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]"},
    {0},
};
