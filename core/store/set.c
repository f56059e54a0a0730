/* Placeholder: the set type lands with its implementation. */
#include <stdlib.h>

#include "core/store/types.h"

static void set_free_stub(void *o) { (void)o; }
static void *set_dup_stub(const void *o) { (void)o; abort(); }
static size_t set_len_stub(const void *o) { (void)o; return 0; }
static void set_pack_stub(msgpack_packer *pk, const kentry *e) { (void)e; msgpack_pack_nil(pk); }
static void *set_unpack_stub(const msgpack_object *v, int enc, uint64_t seed, int *enc_out,
                              const char **err)
{
    (void)v; (void)enc; (void)seed; (void)enc_out;
    *err = "this build has no set type yet";
    return NULL;
}

const obj_ops set_obj_ops = {.free = set_free_stub, .dup = set_dup_stub, .len = set_len_stub};
const type_codec set_codec = {.pack = set_pack_stub, .unpack = set_unpack_stub};
