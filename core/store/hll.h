/* hll: Redis's HyperLogLog string format, byte for byte (Redis 7.0's
 * hyperloglog.c is the reference; this is our own implementation of the
 * documented format and algorithms).
 *
 * A HyperLogLog is an ordinary string value:
 *
 *   [0, 4)    "HYLL"
 *   4         encoding: HLL_DENSE (0) or HLL_SPARSE (1)
 *   [5, 8)    unused (zero when we write them; never checked)
 *   [8, 16)   cached cardinality, little endian; the top bit of byte 15
 *             set means "stale, recompute"
 *   [16, ...) the registers
 *
 * 16384 registers (P = 14) hold the longest run of zeros (plus one) seen
 * in the 50 hash bits left after the 14 index bits of a 64-bit
 * MurmurHash64A (seed 0xadc83b19), so a register is at most 51.
 *
 * Dense: 16384 six-bit registers packed from the least significant bit of
 * each byte up, 12288 bytes; the whole string is exactly HLL_DENSE_SIZE.
 *
 * Sparse: a run-length code that covers the 16384 registers in order:
 *   ZERO   00xxxxxx            1..64 registers at 0    (xxxxxx + 1)
 *   XZERO  01xxxxxx yyyyyyyy   1..16384 registers at 0 (14 bits + 1)
 *   VAL    1vvvvvxx            1..4 registers (xx + 1) at 1..32 (vvvvv + 1)
 * A new HLL is sparse (one XZERO of 16384). It becomes dense when a
 * register needs a value above 32 or an update would make the string
 * longer than hll-sparse-max-bytes.
 *
 * Corrupt input is never read out of bounds. Where Redis reads the byte
 * that follows an sds string's data (the second byte of an XZERO cut in
 * half by the end of the string), we read what Redis would find there: a
 * zero at the start of a command (the readers), and in the writers the
 * byte kept at buf[len], which an update leaves there exactly as Redis's
 * does (hll_sparse_update, hll_sparse_to_dense). A payload is
 * valid when its opcodes cover exactly 16384 registers; an opcode that
 * would run past the last register makes it corrupt at once, as in Redis
 * with the CVE-2025-32023 fix (7.2.10, 7.4.5, 8.0.3, and the 7.0.15 that
 * Debian ships); unpatched 7.0.15 ignored opcodes after a VAL overflow.
 *
 * Pure: no allocation except where a function says so. */
#ifndef KEEL_CORE_STORE_HLL_H
#define KEEL_CORE_STORE_HLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util/kbuf.h"

#define HLL_P 14
#define HLL_Q (64 - HLL_P) /* hash bits that feed the zero run */
#define HLL_REGISTERS (1 << HLL_P)
#define HLL_BITS 6
#define HLL_REGISTER_MAX ((1 << HLL_BITS) - 1)
#define HLL_HDR_SIZE 16
#define HLL_DENSE_SIZE (HLL_HDR_SIZE + (HLL_REGISTERS * HLL_BITS + 7) / 8)
#define HLL_DENSE 0
#define HLL_SPARSE 1
#define HLL_SPARSE_VAL_MAX 32
/* Redis's hll-sparse-max-bytes default. */
#define HLL_SPARSE_MAX_BYTES_DEFAULT 3000
/* The empty sparse HLL: the header and one XZERO of 16384. */
#define HLL_SPARSE_EMPTY_SIZE (HLL_HDR_SIZE + 2)
/* Room a sparse buffer needs after its length for hll_sparse_update: up to
 * three bytes of growth plus the zero byte that follows the payload. */
#define HLL_SPARSE_SLACK 4
/* The error replies (Redis's, to the letter). */
#define HLL_ERR_INVALID "-INVALIDOBJ Corrupted HLL object detected"
#define HLL_ERR_NOT_HLL "-WRONGTYPE Key is not a valid HyperLogLog string value."

/* Redis's MurmurHash64A (endian neutral), as its HLL uses it. */
uint64_t hll_murmur64a(const void *key, size_t len, uint64_t seed);

/* The register an element goes to (*index) and the value it offers
 * (1..51): the position of the first set bit in the hash above the index
 * bits. */
int hll_pattern(const void *ele, size_t len, long *index);

/* Redis's isHLLObjectOrReply checks on the bytes of a string: at least a
 * header, the magic, a known encoding, and the exact length if dense.
 * (A sparse payload is checked only when it is walked.) */
bool hll_is_valid(const void *p, size_t len);

static inline int hll_encoding(const void *p) { return ((const uint8_t *)p)[4]; }

/* Writes the empty sparse HLL (HLL_SPARSE_EMPTY_SIZE bytes). */
void hll_init_sparse(uint8_t *out);

/* ---- the cached cardinality ---- */
bool hll_cache_valid(const void *p);
uint64_t hll_cache_get(const void *p);
void hll_cache_set(void *p, uint64_t card);
void hll_cache_invalidate(void *p);

/* ---- dense registers (regs: the 12288 bytes after the header) ---- */
unsigned hll_dense_get(const uint8_t *regs, long index);
void hll_dense_set(uint8_t *regs, long index, unsigned val);
/* Raises register index to count if it is lower: 1 if it changed, else 0. */
int hll_dense_update(uint8_t *regs, long index, unsigned count);
/* Hashes ele and updates its register (hll_dense_update's result). */
int hll_dense_add(uint8_t *regs, const void *ele, size_t len);

/* ---- sparse ---- */
enum { HLL_INVALID = -1, HLL_UNCHANGED = 0, HLL_CHANGED = 1, HLL_PROMOTE = 2 };

/* Raises register index to count (1..51) in the sparse HLL buf (*len
 * bytes, with at least *len + HLL_SPARSE_SLACK bytes of room, and
 * buf[*len] the byte after the string: set it to 0 at the start of a
 * command, then leave it to the updates), splitting and re-merging
 * opcodes in place exactly as Redis does, and marks the cache stale. Returns HLL_CHANGED, HLL_UNCHANGED, HLL_INVALID if the
 * payload does not cover the register, or HLL_PROMOTE (buf untouched) if
 * the HLL must become dense first: count > 32, or the update would grow
 * the string past max_bytes. */
int hll_sparse_update(uint8_t *buf, size_t *len, long index, unsigned count, size_t max_bytes);

/* Writes the dense form of a sparse HLL (len bytes, and p[len] readable:
 * the byte after the string, as for hll_sparse_update) to out
 * (HLL_DENSE_SIZE bytes): the header as it was (cache included) with the
 * dense encoding. False if the payload does not describe exactly 16384
 * registers (out is then undefined). */
bool hll_sparse_to_dense(const uint8_t *p, size_t len, uint8_t *out);

/* Appends Redis's PFDEBUG DECODE text of a sparse payload ("Z:16384",
 * "z:3 v:2,1 ...", single spaces, no trailing one). */
void hll_sparse_decode(const uint8_t *p, size_t len, kbuf *out);

/* ---- counting and merging ---- */

/* max[i] = MAX(max[i], register i) over a valid-header HLL (p, len).
 * False if a sparse payload is corrupt (max may then be partly updated). */
bool hll_merge(uint8_t *max, const uint8_t *p, size_t len);

/* The estimate for an HLL (p, len; valid header). For a sparse payload
 * that does not cover exactly 16384 registers *invalid is set (if not
 * NULL) and the result is meaningless. */
uint64_t hll_count(const uint8_t *p, size_t len, bool *invalid);
/* The estimate for 16384 registers of one byte each (PFCOUNT's merge). */
uint64_t hll_count_raw(const uint8_t *regs);

/* The estimator from a register histogram (Ertl's, as Redis 7 uses it;
 * hist has 64 slots). */
uint64_t hll_estimate(const int *hist);

#endif
