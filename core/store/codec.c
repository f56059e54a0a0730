/* codec: see codec.h. */
#include "core/store/codec.h"

#include <msgpack.h>
#include <stdbool.h>
#include <string.h>

#include "core/store/hash.h"
#include "core/store/types.h"

/* ------------------------------------------------------------------------ */
/* Encoding */

typedef struct enc_ctx {
    codec_write_fn *w;
    void *ctx;
    int err; /* first writer error */
} enc_ctx;

static int pk_write(void *data, const char *buf, size_t len)
{
    enc_ctx *e = data;
    if (e->err == 0 && len)
        e->err = e->w(e->ctx, buf, len);
    return e->err;
}

static void pack_bin(msgpack_packer *pk, const char *p, size_t len)
{
    msgpack_pack_bin(pk, len);
    msgpack_pack_bin_body(pk, p, len);
}

static void pack_hash_pair(void *ctx, const char *f, size_t flen, const char *v, size_t vlen)
{
    msgpack_packer *pk = ctx;
    pack_bin(pk, f, flen);
    pack_bin(pk, v, vlen);
}

static void pack_entry(msgpack_packer *pk, const kentry *e)
{
    msgpack_pack_array(pk, 5);
    pack_bin(pk, kentry_key(e), kentry_klen(e));
    msgpack_pack_uint8(pk, (uint8_t)kentry_type(e));
    int64_t deadline = kentry_deadline(e);
    if (deadline < 0)
        msgpack_pack_nil(pk);
    else
        msgpack_pack_int64(pk, deadline);
    msgpack_pack_uint8(pk, (uint8_t)kentry_enc(e));
    switch (kentry_type(e)) {
    case OBJ_STRING: {
        if (kentry_enc(e) == ENC_INT) {
            msgpack_pack_int64(pk, kentry_int(e));
        } else {
            char tmp[KSTR_TMP];
            const char *p;
            size_t n = kentry_str(e, &p, tmp);
            pack_bin(pk, p, n);
        }
        break;
    }
    case OBJ_HASH: {
        const khash *h = kentry_obj(e);
        msgpack_pack_map(pk, khash_len(h));
        khash_for_each(h, pack_hash_pair, pk);
        break;
    }
    case OBJ_LIST:
        list_codec.pack(pk, e);
        break;
    case OBJ_SET:
        set_codec.pack(pk, e);
        break;
    case OBJ_ZSET:
        zset_codec.pack(pk, e);
        break;
    default:
        msgpack_pack_nil(pk);
        break;
    }
}

int codec_encode_entry(const kentry *e, codec_write_fn *w, void *ctx)
{
    enc_ctx ec = {w, ctx, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &ec, pk_write);
    pack_entry(&pk, e);
    return ec.err;
}

typedef struct db_enc {
    msgpack_packer pk;
    enc_ctx *ec;
} db_enc;

static void pack_entry_cb(void *ctx, kentry *e)
{
    db_enc *d = ctx;
    if (d->ec->err == 0)
        pack_entry(&d->pk, e);
}

int codec_encode_db(db *d, codec_write_fn *w, void *ctx)
{
    enc_ctx ec = {w, ctx, 0};
    db_enc de = {.ec = &ec};
    msgpack_packer_init(&de.pk, &ec, pk_write);
    msgpack_pack_array(&de.pk, 3);
    pack_bin(&de.pk, CODEC_MAGIC, strlen(CODEC_MAGIC));
    msgpack_pack_uint8(&de.pk, CODEC_VERSION);
    msgpack_pack_uint64(&de.pk, db_size(d));
    db_for_each(d, pack_entry_cb, &de);
    return ec.err;
}

/* ------------------------------------------------------------------------ */
/* Decoding */

static bool is_bin(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_BIN || o->type == MSGPACK_OBJECT_STR;
}

/* bin and str share their layout in msgpack-c's object union. */
static const char *bin_ptr(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_BIN ? o->via.bin.ptr : o->via.str.ptr;
}

static size_t bin_len(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_BIN ? o->via.bin.size : o->via.str.size;
}

static bool get_i64(const msgpack_object *o, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > INT64_MAX)
            return false;
        *out = (int64_t)o->via.u64;
        return true;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return true;
    }
    return false;
}

static const char *decode_entry(db *d, const msgpack_object *o, uint64_t seed)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 5)
        return "an entry is not a 5-element array";
    const msgpack_object *f = o->via.array.ptr;
    int64_t type, enc, deadline = -1;
    if (!is_bin(&f[0]))
        return "an entry's key is not binary";
    if (!get_i64(&f[1], &type) || !get_i64(&f[3], &enc))
        return "an entry's type or encoding is not an integer";
    if (f[2].type != MSGPACK_OBJECT_NIL && (!get_i64(&f[2], &deadline) || deadline < 0))
        return "an entry's deadline is not a time";
    const char *key = bin_ptr(&f[0]);
    size_t klen = bin_len(&f[0]);
    if (dict_find(&d->keys, key, klen) != NULL)
        return "a key appears twice";
    const msgpack_object *v = &f[4];
    switch (type) {
    case OBJ_STRING:
        if (enc == ENC_INT) {
            int64_t n;
            if (!get_i64(v, &n))
                return "an int-encoded string is not an integer";
            db_set_int(d, key, klen, n, deadline);
        } else if (is_bin(v)) {
            /* Each encoding as it was: an EMBSTR may hold digits
             * (INCRBYFLOAT's "3"), which db_set_str would make an INT. */
            if (enc == ENC_RAW)
                db_set_str_raw(d, key, klen, bin_ptr(v), bin_len(v), deadline);
            else if (enc == ENC_EMBSTR)
                db_set_str_noint(d, key, klen, bin_ptr(v), bin_len(v), deadline);
            else
                return "a string has an unknown encoding";
        } else {
            return "a string value is not binary";
        }
        return NULL;
    case OBJ_HASH: {
        if (v->type != MSGPACK_OBJECT_MAP || v->via.map.size == 0)
            return "a hash value is not a non-empty map";
        if (enc != ENC_LISTPACK && enc != ENC_HASHTABLE)
            return "a hash has an unknown encoding";
        khash *h = enc == ENC_HASHTABLE ? khash_new_hashtable(seed) : khash_new();
        for (uint32_t i = 0; i < v->via.map.size; i++) {
            const msgpack_object_kv *kv = &v->via.map.ptr[i];
            bool created;
            if (!is_bin(&kv->key) || !is_bin(&kv->val)) {
                khash_free(h);
                return "a hash field or value is not binary";
            }
            h = khash_load_set(h, bin_ptr(&kv->key), bin_len(&kv->key), bin_ptr(&kv->val),
                               bin_len(&kv->val), seed, &created);
            if (!created) {
                khash_free(h);
                return "a hash has a field twice";
            }
        }
        db_set_obj(d, key, klen, OBJ_HASH, khash_enc(h), h, deadline);
        return NULL;
    }
    case OBJ_LIST:
    case OBJ_SET:
    case OBJ_ZSET: {
        const type_codec *tc = type == OBJ_LIST ? &list_codec : type == OBJ_SET ? &set_codec : &zset_codec;
        const char *why = NULL;
        int enc_out = 0;
        void *obj = tc->unpack(v, (int)enc, seed, &enc_out, &why);
        if (obj == NULL)
            return why ? why : "a value could not be decoded";
        db_set_obj(d, key, klen, (int)type, enc_out, obj, deadline);
        return NULL;
    }
    default:
        return "an entry has a type this build does not know";
    }
}

/* Walks the msgpack objects in buf[0..len) without building them and
 * checks every array and map count against the bytes that are left (each
 * element takes at least one byte). msgpack-c allocates an array's storage
 * from its count before reading the elements, so a damaged count would
 * otherwise allocate gigabytes. Returns false if the bytes cannot be what
 * they claim. */
static bool msgpack_counts_sane(const unsigned char *p, size_t len)
{
    /* Elements still to read at each open level; the bytes bound the
     * total, so the stack is bounded by the nesting the data has. */
    uint64_t stack[64];
    int depth = 0;
    size_t i = 0;
#define NEED(n)                                                                                    \
    do {                                                                                           \
        if (len - i < (size_t)(n))                                                                 \
            return false;                                                                          \
    } while (0)
    while (i < len) {
        unsigned char t = p[i];
        uint64_t count = 0; /* children of this object */
        size_t head = 1, body = 0;
        if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
            /* fixint, nil, bool */
        } else if (t >= 0xa0 && t <= 0xbf) {
            body = t & 0x1f;
        } else if (t >= 0x90 && t <= 0x9f) {
            count = t & 0x0f;
        } else if (t >= 0x80 && t <= 0x8f) {
            count = 2u * (t & 0x0f);
        } else {
            switch (t) {
            case 0xc4: case 0xd9: head = 2; NEED(2); body = p[i + 1]; break;
            case 0xc5: case 0xda: head = 3; NEED(3); body = (size_t)codec_be_get(p + i + 1, 2); break;
            case 0xc6: case 0xdb: head = 5; NEED(5); body = (size_t)codec_be_get(p + i + 1, 4); break;
            case 0xcc: case 0xd0: body = 1; break;
            case 0xcd: case 0xd1: body = 2; break;
            case 0xca: case 0xce: case 0xd2: body = 4; break;
            case 0xcb: case 0xcf: case 0xd3: body = 8; break;
            case 0xd4: body = 2; break;
            case 0xd5: body = 3; break;
            case 0xd6: body = 5; break;
            case 0xd7: body = 9; break;
            case 0xd8: body = 17; break;
            case 0xc7: head = 2; NEED(2); body = (size_t)p[i + 1] + 1; break;
            case 0xc8: head = 3; NEED(3); body = (size_t)codec_be_get(p + i + 1, 2) + 1; break;
            case 0xc9: head = 5; NEED(5); body = (size_t)codec_be_get(p + i + 1, 4) + 1; break;
            case 0xdc: head = 3; NEED(3); count = codec_be_get(p + i + 1, 2); break;
            case 0xdd: head = 5; NEED(5); count = codec_be_get(p + i + 1, 4); break;
            case 0xde: head = 3; NEED(3); count = 2 * codec_be_get(p + i + 1, 2); break;
            case 0xdf: head = 5; NEED(5); count = 2 * codec_be_get(p + i + 1, 4); break;
            default: return false; /* 0xc1: never used */
            }
        }
        NEED(head + body);
        i += head + body;
        if (count > len - i)
            return false;
        /* This object fills one slot of its parent... */
        if (depth > 0)
            stack[depth - 1]--;
        /* ...and opens a level for its children. */
        if (count > 0) {
            if (depth == (int)(sizeof(stack) / sizeof(stack[0])))
                return false;
            stack[depth++] = count;
        }
        while (depth > 0 && stack[depth - 1] == 0)
            depth--;
    }
    /* Open levels at the end: a truncated image, which the decoder reports
     * with its own words. */
    return true;
#undef NEED
}

const char *codec_decode_db(db *d, const char *buf, size_t len, uint64_t seed)
{
    if (!msgpack_counts_sane((const unsigned char *)buf, len))
        return "image is corrupt (a count exceeds the data)";
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    const char *err = NULL;
    uint64_t count = 0;
    if (msgpack_unpack_next(&u, buf, len, &off) != MSGPACK_UNPACK_SUCCESS) {
        err = "no header";
        goto done;
    }
    const msgpack_object *h = &u.data;
    if (h->type != MSGPACK_OBJECT_ARRAY || h->via.array.size != 3 || !is_bin(&h->via.array.ptr[0]) ||
        bin_len(&h->via.array.ptr[0]) != strlen(CODEC_MAGIC) ||
        memcmp(bin_ptr(&h->via.array.ptr[0]), CODEC_MAGIC, strlen(CODEC_MAGIC)) != 0) {
        err = "not a keel image (bad magic)";
        goto done;
    }
    int64_t version;
    if (!get_i64(&h->via.array.ptr[1], &version) || version != CODEC_VERSION) {
        err = "unknown image format version";
        goto done;
    }
    if (h->via.array.ptr[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        err = "bad key count";
        goto done;
    }
    count = h->via.array.ptr[2].via.u64;
    for (uint64_t i = 0; i < count; i++) {
        int r = msgpack_unpack_next(&u, buf, len, &off);
        if (r != MSGPACK_UNPACK_SUCCESS) {
            err = r == MSGPACK_UNPACK_CONTINUE ? "image ends early" : "image is corrupt";
            goto done;
        }
        err = decode_entry(d, &u.data, seed);
        if (err)
            goto done;
    }
    if (off != len)
        err = "bytes after the last key";
done:
    msgpack_unpacked_destroy(&u);
    return err;
}
