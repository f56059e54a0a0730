/* Placeholder: the zset type lands with its implementation. */
#include <stdlib.h>

#include "core/store/types.h"

static void zset_free_stub(void *o) { (void)o; }
static void *zset_dup_stub(const void *o) { (void)o; abort(); }
static size_t zset_len_stub(const void *o) { (void)o; return 0; }
static void zset_pack_stub(msgpack_packer *pk, const kentry *e) { (void)e; msgpack_pack_nil(pk); }
static void *zset_unpack_stub(const msgpack_object *v, int enc, uint64_t seed, int *enc_out,
                              const char **err)
{
    (void)v; (void)enc; (void)seed; (void)enc_out;
    *err = "this build has no zset type yet";
    return NULL;
}

const obj_ops zset_obj_ops = {.free = zset_free_stub, .dup = zset_dup_stub, .len = zset_len_stub};
const type_codec zset_codec = {.pack = zset_pack_stub, .unpack = zset_unpack_stub};
