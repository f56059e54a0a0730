/* snapshot: the framing of a snapshot file (pure; the io layer writes it
 * to a temporary name, fsyncs it, renames it and fsyncs the directory).
 *
 * All integers little-endian:
 *
 *     0   8  magic "keelsnap"
 *     8   4  version (SNAP_VERSION)
 *     12  4  group
 *     16  8  index        last log index the snapshot covers
 *     24  8  term         term of that entry
 *     32  4  config_len   bytes of the membership configuration (msgpack)
 *     36  4  reserved     0
 *     40  8  body_len     bytes of the store image
 *     48  8  header checksum  XXH3-64 of bytes 0..47
 *     56  config_len bytes of configuration
 *     ..  body_len bytes of body: the store image (core/store/codec.h)
 *     ..  8  checksum     XXH3-64 of every byte before it
 *
 * The header has its own checksum so a loader can read the first 56 bytes,
 * trust the lengths and know the file's size before reading the rest. */
#ifndef KEEL_CORE_WAL_SNAPSHOT_H
#define KEEL_CORE_WAL_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util/kbuf.h"

#define SNAP_MAGIC "keelsnap" /* 8 bytes, no NUL on disk */
#define SNAP_VERSION 1u
#define SNAP_HEADER 56u
#define SNAP_TRAILER 8u
#define SNAP_CONFIG_MAX (16u << 20) /* a membership configuration is small */

#define SNAP_REASONS(X)                                                    \
    X(OK, "ok")                                                            \
    X(SHORT, "file shorter than a snapshot header")                        \
    X(BAD_MAGIC, "not a keel snapshot (bad magic)")                        \
    X(BAD_HEADER_CHECKSUM, "snapshot header checksum mismatch")            \
    X(BAD_VERSION, "unsupported snapshot version")                         \
    X(BAD_RESERVED, "reserved snapshot header field not zero")             \
    X(BAD_CONFIG_LEN, "configuration length above the limit")              \
    X(TRUNCATED, "file shorter than its header says")                      \
    X(TRAILING, "bytes after the checksum")                                \
    X(BAD_CHECKSUM, "snapshot checksum mismatch")

typedef enum snap_reason {
#define SNAP_REASON_ENUM(name, text) SNAP_R_##name,
    SNAP_REASONS(SNAP_REASON_ENUM)
#undef SNAP_REASON_ENUM
        SNAP_R__COUNT
} snap_reason;

const char *snap_reason_text(snap_reason r); /* never NULL */
const char *snap_reason_name(snap_reason r); /* "BAD_CHECKSUM"; never NULL */

/* What a snapshot is of. */
typedef struct snap_meta {
    uint32_t group;
    uint64_t index;
    uint64_t term;
    const char *config; /* msgpack, opaque here */
    size_t config_len;  /* <= SNAP_CONFIG_MAX */
} snap_meta;

/* A decoded header. */
typedef struct snap_header {
    uint32_t group;
    uint64_t index;
    uint64_t term;
    uint32_t config_len;
    uint64_t body_len;
    uint64_t file_len; /* SNAP_HEADER + config_len + body_len + SNAP_TRAILER */
} snap_header;

/* A decoded snapshot: config and body point into the decoded bytes. */
typedef struct snap_view {
    snap_header h;
    const char *config;
    const char *body;
} snap_view;

/* Encodes a whole snapshot file (header, config, body, checksum) at the
 * end of out. */
void snap_encode(kbuf *out, const snap_meta *m, const void *body, size_t body_len);

/* The same without a copy of the body: snap_begin appends the header (its
 * body length still 0) and the config and returns where the file starts in
 * out; the caller appends the body to out (codec_encode_db with a writer
 * that appends to it); snap_finish fills in the body length and both
 * checksums and appends the trailer. */
size_t snap_begin(kbuf *out, const snap_meta *m);
void snap_finish(kbuf *out, size_t start);

/* Decodes and checks the fixed header (the first SNAP_HEADER bytes of
 * buf[0..len)): magic, header checksum, version, reserved, config length.
 * Fills *h, including the file length the header implies (no overflow: a
 * body length that would overflow it is refused as TRUNCATED). */
snap_reason snap_header_decode(const void *buf, size_t len, snap_header *h);

/* Decodes and checks a whole file: the header, that len is exactly the
 * length it implies (TRUNCATED / TRAILING), and the checksum. Reads only
 * buf[0..len) and allocates nothing. */
snap_reason snap_decode(const void *buf, size_t len, snap_view *out);

#endif
