/* codec: the keyspace to and from msgpack, for snapshots (and later for
 * moving keys between shards).
 *
 * An image is a sequence of msgpack objects:
 *
 *     ["keel-db", 1, N]                       header: magic, format version, key count
 *     [key, type, deadline, encoding, value]  N times
 *
 * key: bin; type: Redis's type number; deadline: absolute ms or nil;
 * encoding: Redis's encoding number (kept so a listpack hash stays one);
 * value: a string is bin; a hash is a map of bin -> bin.
 *
 * The durability work wraps an image with its own header (group, index,
 * term) and checksum; this layer only guarantees that decoding an encoded
 * db gives the same keys, values, TTLs and encodings, and that a damaged
 * image is refused with a reason, never a crash. */
#ifndef KEEL_CORE_STORE_CODEC_H
#define KEEL_CORE_STORE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/store/db.h"

#define CODEC_MAGIC "keel-db"
#define CODEC_VERSION 1

/* The n-byte big-endian unsigned integer at p (msgpack's lengths and
 * integers), for the readers that walk msgpack bytes themselves. */
static inline uint64_t codec_be_get(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int k = 0; k < n; k++)
        v = (v << 8) | p[k];
    return v;
}

/* Where encoded bytes go: returns 0, or non-zero to stop the encoding. */
typedef int codec_write_fn(void *ctx, const char *buf, size_t len);

/* Encodes every key of d, in table order. Returns 0, or the writer's
 * non-zero result. */
int codec_encode_db(db *d, codec_write_fn *w, void *ctx);

/* Encodes one key (the entry format above, without the header). */
int codec_encode_entry(const kentry *e, codec_write_fn *w, void *ctx);

/* Decodes an image into d, which must be empty. seed: for hashtables the
 * image asks for. Returns NULL on success, or why the image was refused
 * (d then holds the keys decoded before the damage: the caller frees it). */
const char *codec_decode_db(db *d, const char *buf, size_t len, uint64_t seed);

#endif
