/* Placeholder: the list type lands with its implementation. */
#include <stdlib.h>

#include "core/store/types.h"

static void list_free_stub(void *o) { (void)o; }
static void *list_dup_stub(const void *o) { (void)o; abort(); }
static size_t list_len_stub(const void *o) { (void)o; return 0; }
static void list_pack_stub(msgpack_packer *pk, const kentry *e) { (void)e; msgpack_pack_nil(pk); }
static void *list_unpack_stub(const msgpack_object *v, int enc, uint64_t seed, int *enc_out,
                              const char **err)
{
    (void)v; (void)enc; (void)seed; (void)enc_out;
    *err = "this build has no list type yet";
    return NULL;
}

const obj_ops list_obj_ops = {.free = list_free_stub, .dup = list_dup_stub, .len = list_len_stub};
const type_codec list_codec = {.pack = list_pack_stub, .unpack = list_unpack_stub};
