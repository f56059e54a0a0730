/* The value types' operations, as the db calls them (free, dup, len).
 * Each type's implementation defines its obj_ops. */
#ifndef KEEL_CORE_STORE_TYPES_H
#define KEEL_CORE_STORE_TYPES_H

#include "core/store/db.h"

extern const obj_ops hash_obj_ops;

#endif
