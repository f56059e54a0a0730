/* sim/reply: a small RESP2 reply parser for the simulator's clients.
 *
 * Simple string (+), error (-), integer (:), bulk string ($, $-1 is nil),
 * array (*, *-1 is a nil array) one level deep (the EXEC of a MULTI: its
 * elements are scalars). Strings point into the parsed bytes. */
#ifndef KEEL_SIM_REPLY_H
#define KEEL_SIM_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SREPLY_MAX_ELEMS 8

typedef enum sreply_type {
    SR_STATUS = 1, /* +OK */
    SR_ERROR,      /* -ERR ... (str without the '-') */
    SR_INT,
    SR_BULK,
    SR_NIL,        /* $-1 or *-1 */
    SR_ARRAY,
} sreply_type;

typedef struct sreply_elem {
    sreply_type type;
    const char *str;
    size_t len;
    int64_t ival;
} sreply_elem;

typedef struct sreply {
    sreply_elem v;   /* the reply itself (SR_ARRAY: no string) */
    uint32_t nelems; /* SR_ARRAY: its elements */
    sreply_elem elems[SREPLY_MAX_ELEMS];
} sreply;

/* Parses one reply at buf[0..len). Returns the bytes it took, 0 when the
 * reply is not complete yet, -1 when the bytes are not RESP2 this parser
 * takes (nested arrays, more than SREPLY_MAX_ELEMS elements, bad syntax). */
long sreply_parse(const char *buf, size_t len, sreply *out);

/* The same for a reply that may be a long array (LRANGE's): its elements
 * go to elems[0..cap) rather than out->elems; out->nelems is the array's
 * length even when it is more than cap (the elements past cap are parsed
 * and not kept). */
long sreply_parse_into(const char *buf, size_t len, sreply *out, sreply_elem *elems, size_t cap);

#endif
