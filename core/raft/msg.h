/* Raft messages on the wire (core/raft/raft.h's rf_msg, msgpack).
 *
 * One message is one msgpack array, fields by position, every field of
 * rf_msg whatever the type (the unused ones are zero):
 *
 *   [version = 1, type, from, to, term, last_index, last_term, transfer,
 *    reject, prev_index, prev_term, commit, index, hint_index, hint_term,
 *    ctx, sent_ms, snap_index, snap_term, snap_config, offset, total, done,
 *    data, entries]
 *
 * Integers are msgpack uints (sent_ms: an int, may be negative), transfer,
 * reject and done are msgpack bools, data is a bin, snap_config is
 * [[voter ids], [learner ids]] and entries is an array of
 * [index, term, type, data (bin)]. The encoder writes the shortest forms
 * (msgpack-c's packer); the decoder accepts every width of an integer.
 *
 * The framing (how the receiver knows where a message ends) is the
 * transport's: rf_msg_decode takes exactly one message. */
#ifndef KEEL_CORE_RAFT_MSG_H
#define KEEL_CORE_RAFT_MSG_H

#include <stddef.h>

#include "core/raft/raft.h"
#include "core/util/kbuf.h"

#define RF_MSG_VERSION 1
#define RF_MSG_MAX_ENTRIES (1u << 20) /* per message; more is refused */

/* Appends one encoded message to out (a msgpack array; fields by position;
 * a version byte first). m->snap_config must hold at most RF_MAX_MEMBERS
 * voters and learners (the decoder refuses what is not a valid config:
 * ids non-zero, each list ascending, no id in both, RF_MAX_MEMBERS in
 * all). */
void rf_msg_encode(const rf_msg *m, kbuf *out);

/* The type of an encoded message without decoding it (traces, checks), or
 * -1 when the bytes do not start like one. */
int rf_msg_peek_type(const void *buf, size_t len);

/* Decodes one message from buf[0..len) (exactly: trailing bytes are an
 * error). Returns NULL on success, or a static string saying why the bytes
 * were refused ("truncated", "bad type", "too many entries", "entry length
 * beyond the message", ...); on refusal *m is zeroed.
 *
 * No copy: m->data and every entry's data point into buf, so buf must
 * outlive the message. rf_entry.data is not const (the core's log owns its
 * entries' bytes), but in a decoded message it is buf's memory with the
 * const cast away: the receiver must not modify it (the core copies what
 * it appends to its log). The entries array itself (m->entries) is carved
 * from `scratch`, a kbuf the caller owns and reuses: each call clears it,
 * so a message's entries are valid until the next decode into the same
 * scratch. Zero entries leave m->entries NULL.
 *
 * Never reads outside buf, never crashes on any input, and allocates (in
 * scratch) at most sizeof(rf_entry) per 6 bytes of input. */
const char *rf_msg_decode(rf_msg *m, const void *buf, size_t len, kbuf *scratch);

#endif
