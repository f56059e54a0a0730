/* The value types' operations, as the db calls them (free, dup, len).
 * Each type's implementation defines its obj_ops. */
#ifndef KEEL_CORE_STORE_TYPES_H
#define KEEL_CORE_STORE_TYPES_H

#include "core/store/db.h"

extern const obj_ops hash_obj_ops;
extern const obj_ops list_obj_ops; /* core/store/list.c */
extern const obj_ops set_obj_ops;  /* core/store/set.c */
extern const obj_ops zset_obj_ops; /* core/store/zset.c */

/* Snapshot encoding of a type's value (core/store/codec.c calls these for
 * the types other than strings and hashes). */
#include <msgpack.h>
typedef struct type_codec {
    /* Packs the value of e (one msgpack object). */
    void (*pack)(msgpack_packer *pk, const kentry *e);
    /* Builds a value from v (saved with encoding enc); returns the object
     * and sets *enc_out, or returns NULL with *err set. seed: for tables. */
    void *(*unpack)(const msgpack_object *v, int enc, uint64_t seed, int *enc_out,
                    const char **err);
} type_codec;
extern const type_codec list_codec, set_codec, zset_codec;

#endif
