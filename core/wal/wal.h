/* wal: the write-ahead log, which is Raft's log: record format, segment
 * files, the replay rules, the recovery scan and the writer's plan.
 *
 * Pure: bytes in, bytes and verdicts out. No files, clocks or threads; the
 * io runtime (or the simulator) reads and writes the files and calls this.
 * The format and the reasons for it are in docs/decisions/0006-wal-format.md;
 * what recovery does with the verdicts is in docs/durability.md.
 *
 * One log per Raft group. A log is a sequence of segment files
 *
 *     <seq:20 digits>-<first index:20 digits>.wal
 *
 * each a 56-byte header followed by whole records (a record never spans two
 * segments). All integers are little-endian.
 *
 * Segment header (WAL_SEG_HEADER bytes):
 *
 *     0   8  magic "keel-wal"
 *     8   2  version (WAL_VERSION)
 *     10  2  flags        WAL_SEG_MARK or 0
 *     12  4  group
 *     16  8  seq          1 for the first segment of a log, then +1 each
 *     24  8  first index  no entry in the segment has a lower index (see below)
 *     32  8  prev term    the term of entry (first index - 1), 0 if none
 *     40  8  salt         seeds the checksum of every record in the segment
 *     48  8  checksum     XXH3-64 (seed 0) of bytes 0..47
 *
 * Record (WAL_REC_MIN .. WAL_REC_MAX bytes):
 *
 *     0   4  length       of the whole record: 28 + payload + 8
 *     4   1  type         wal_type
 *     5   1  flags        0 (none defined in version 1)
 *     6   2  reserved     0
 *     8   4  group
 *     12  8  term
 *     20  8  index        HARD_STATE: the vote (node id, 0 = none)
 *     28  n  payload      msgpack bytes, opaque here
 *     28+n 8 checksum     XXH3-64 of bytes 0 .. 28+n-1 (the header is
 *                         covered too), seeded with the segment's salt XOR
 *                         the record's byte offset in the segment: a record
 *                         is bound to its segment and its place in it
 *
 * Every segment can be the first of a log: no entry in it has an index
 * below its first index and no SNAPSHOT_MARK one below first index - 1.
 * A segment usually continues the log (first index = last + 1, prev term =
 * the last entry's term). When a record would reach further back (a
 * follower replacing a conflicting tail that began in an earlier segment, or
 * a snapshot mark below it), the writer starts a new segment that announces
 * it: first index = the replaced index (its first entry record is that
 * entry), or, with the flag WAL_SEG_MARK, first index = the mark's index + 1
 * and prev term = its term (its first record after the hard state is that
 * mark). So compaction is only the deletion of the oldest files, and any
 * suffix of segments starting at or before the snapshot is a valid log.
 *
 * Replay rules (wal_log_apply): see the comment above wal_log_apply. */
#ifndef KEEL_CORE_WAL_WAL_H
#define KEEL_CORE_WAL_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util/kbuf.h"

#define WAL_SEG_MAGIC "keel-wal" /* 8 bytes, no NUL on disk */
#define WAL_VERSION 1u
/* Segment flag: the segment begins with a SNAPSHOT_MARK at first index - 1
 * of term prev term (after its hard state), which decides continuity. */
#define WAL_SEG_MARK 1u
#define WAL_SEG_HEADER 56u
#define WAL_REC_HEADER 28u
#define WAL_REC_TRAILER 8u
#define WAL_REC_MIN (WAL_REC_HEADER + WAL_REC_TRAILER)
/* Hard cap on a record's total length: a length field above it is damage,
 * so no reader ever allocates or reads from a length it has not bounded. */
#define WAL_REC_MAX (1u << 30)
#define WAL_PAYLOAD_MAX (WAL_REC_MAX - WAL_REC_MIN)

/* Indexes stay at or below 2^63 - 1, so last + 1 never overflows. */
#define WAL_INDEX_MAX ((uint64_t)INT64_MAX)

/* "00000000000000000001-00000000000000000001.wal" and its NUL. */
#define WAL_NAME_LEN 45u
#define WAL_NAME_SIZE (WAL_NAME_LEN + 1u)

/* wal_recovery_init's group when any group is accepted (the first segment's
 * header decides): keel-check-wal uses it. */
#define WAL_GROUP_ANY UINT64_MAX

typedef enum wal_type {
    WAL_ENTRY_NORMAL = 1,  /* a log entry: a batch of commands */
    WAL_ENTRY_NOOP = 2,    /* the entry a new leader appends for its term */
    WAL_ENTRY_CONFIG = 3,  /* a membership change entry */
    WAL_HARD_STATE = 4,    /* term and vote; no index */
    WAL_SNAPSHOT_MARK = 5, /* index and term of a snapshot the log now starts after */
} wal_type;

#define WAL_TYPE_MIN WAL_ENTRY_NORMAL
#define WAL_TYPE_MAX WAL_SNAPSHOT_MARK

static inline bool wal_type_is_entry(unsigned t)
{
    return t >= WAL_ENTRY_NORMAL && t <= WAL_ENTRY_CONFIG;
}

/* "ENTRY_NORMAL", ..., or "?" */
const char *wal_type_name(unsigned type);

/* A record. On decode, payload points into the scanned bytes. */
typedef struct wal_record {
    uint8_t type;
    uint8_t flags;
    uint32_t group;
    uint64_t term;
    union {
        uint64_t index; /* entries and SNAPSHOT_MARK */
        uint64_t vote;  /* HARD_STATE: the node voted for in `term`, 0 = none */
    };
    const char *payload;
    size_t payload_len;
} wal_record;

/* Why bytes were refused. The X-macro keeps names and texts together. */
#define WAL_REASONS(X)                                                                    \
    X(OK, "ok")                                                                           \
    /* segment files */                                                                   \
    X(SEG_SHORT, "file shorter than a segment header")                                    \
    X(SEG_ZERO, "zeroed segment header")                                                  \
    X(SEG_BAD_MAGIC, "not a keel WAL segment (bad magic)")                                \
    X(SEG_BAD_VERSION, "unsupported segment version")                                     \
    X(SEG_BAD_CHECKSUM, "segment header checksum mismatch")                               \
    X(SEG_BAD_FIELD, "segment header field out of range")                                 \
    X(SEG_GROUP, "segment belongs to another group")                                      \
    X(SEG_BAD_NAME, "file name is not <seq>-<first index>.wal")                           \
    X(SEG_NAME_MISMATCH, "file name does not match the segment header")                   \
    X(SEG_SEQ_GAP, "segment sequence number does not follow the previous segment's")      \
    X(SEG_DISCONTINUOUS, "segment's first index does not follow the previous segment")    \
    X(SEG_PREV_TERM, "segment's previous term does not match the log")                    \
    X(SEG_FIRST_RECORD, "segment does not begin with the record its header announces")    \
    /* record framing: a torn tail when nothing valid follows in the newest segment */    \
    X(REC_SHORT, "record cut short")                                                      \
    X(REC_ZERO, "zeroed record")                                                          \
    X(REC_BAD_LENGTH, "record length out of range")                                       \
    X(REC_BAD_CHECKSUM, "record checksum mismatch")                                       \
    X(REC_SEARCH_LIMIT, "damaged record; the search for valid records after it gave up") \
    /* record contents (checksum valid, so never torn) */                                 \
    X(REC_BAD_TYPE, "unknown record type")                                                \
    X(REC_BAD_FLAGS, "unknown record flags")                                              \
    X(REC_BAD_RESERVED, "reserved record field not zero")                                 \
    X(REC_GROUP, "record belongs to another group")                                       \
    /* Raft's rules */                                                                    \
    X(IDX_ZERO, "entry index 0")                                                          \
    X(IDX_GAP, "entry index skips ahead of the log")                                      \
    X(IDX_BEFORE_LOG, "entry index before the first index of the log")                    \
    X(IDX_BEFORE_SEGMENT, "record reaches back before its segment's first index")         \
    X(TERM_ZERO, "entry term 0")                                                          \
    X(TERM_REGRESSION, "entry term below the term of the entry before it")                \
    X(TERM_ABOVE_HARD_STATE, "term above the last hard state's term")                     \
    X(HS_TERM_REGRESSION, "hard state term decreased")                                    \
    X(HS_VOTE_CHANGED, "hard state changed its vote within a term")                       \
    X(MARK_RANGE, "snapshot mark index or term out of range")                            \
    X(MARK_BACKWARDS, "snapshot mark before the log's start")                             \
    X(MARK_TERM, "snapshot mark term disagrees with the log's start")

typedef enum wal_reason {
#define WAL_REASON_ENUM(name, text) WAL_R_##name,
    WAL_REASONS(WAL_REASON_ENUM)
#undef WAL_REASON_ENUM
        WAL_R__COUNT
} wal_reason;

/* The text of a reason ("record checksum mismatch"); never NULL. */
const char *wal_reason_text(wal_reason r);
/* Its name ("REC_BAD_CHECKSUM"); never NULL. */
const char *wal_reason_name(wal_reason r);

/* Whether a reason is damage a torn write can leave (short, zeroed, bad
 * length or checksum): the only reasons a TORN_TAIL verdict carries. */
bool wal_reason_is_framing(wal_reason r);

/* ------------------------------------------------------------------------ */
/* Records */

/* Total on-disk length of a record with this payload, or 0 when the payload
 * is larger than WAL_PAYLOAD_MAX. */
uint64_t wal_record_size(size_t payload_len);

/* The checksum seed of the record at byte `offset` of a segment whose
 * header has `salt`. */
static inline uint64_t wal_record_seed(uint64_t salt, uint64_t offset)
{
    return salt ^ offset;
}

/* Appends the encoded record to out, its checksum seeded with seed
 * (wal_record_seed of where it will lie). The payload must be at most
 * WAL_PAYLOAD_MAX bytes (asserted). Returns the record's length. */
size_t wal_record_encode(kbuf *out, uint64_t seed, const wal_record *r);

/* Decodes the record at the start of buf[0..len): checks the length field
 * against WAL_REC_MIN/WAL_REC_MAX and len, the checksum (seeded with seed),
 * then type, flags and reserved. Reads nothing outside buf[0..len) and
 * allocates nothing. On WAL_R_OK fills *r (payload points into buf) and
 * *rec_len. The framing reasons come first, so a record whose checksum
 * fails is never judged by its contents. */
wal_reason wal_record_decode(const void *buf, size_t len, uint64_t seed, wal_record *r,
                             size_t *rec_len);

/* ------------------------------------------------------------------------ */
/* Segment headers and names */

typedef struct wal_segment_header {
    uint16_t flags; /* WAL_SEG_MARK or 0 */
    uint32_t group;
    uint64_t seq;
    uint64_t first_index;
    uint64_t prev_term;
    uint64_t salt;
} wal_segment_header;

/* Appends the WAL_SEG_HEADER bytes of h to out. */
void wal_segment_header_encode(kbuf *out, const wal_segment_header *h);

/* Decodes and checks a segment header at the start of buf[0..len):
 * SEG_SHORT, SEG_ZERO (all 56 bytes zero), SEG_BAD_MAGIC, SEG_BAD_VERSION,
 * SEG_BAD_CHECKSUM, SEG_BAD_FIELD (seq 0, first index 0 or above
 * WAL_INDEX_MAX, a prev term when first index is 1, unknown flags, or
 * WAL_SEG_MARK with first index 1 or prev term 0). */
wal_reason wal_segment_header_decode(const void *buf, size_t len, wal_segment_header *h);

/* Writes "<seq>-<first index>.wal" (WAL_NAME_LEN chars and a NUL) to out. */
void wal_segment_name(char out[WAL_NAME_SIZE], uint64_t seq, uint64_t first_index);

/* The 20 decimal digits at s (file names: segments, snapshots), when they
 * fit in 64 bits. */
bool wal_parse_digits20(const char *s, uint64_t *out);

/* Parses a segment file name (a base name, no directory). Returns false
 * unless it is exactly 20 digits, '-', 20 digits, ".wal" and both numbers
 * fit in 64 bits. */
bool wal_segment_name_parse(const char *name, uint64_t *seq, uint64_t *first_index);

/* The salt of the segment (seq, first_index) of group, derived from the
 * writer's salt_seed (which the runtime draws from the OS and the simulator
 * from its seed): every segment's records are bound to it, so a record
 * copied from another segment, or left in a reused file, never checks. */
uint64_t wal_segment_salt(uint64_t salt_seed, uint32_t group, uint64_t seq, uint64_t first_index);

/* ------------------------------------------------------------------------ */
/* The log as replay sees it */

/* Raft's persistent state as the records so far describe it. Entries are
 * not kept, only their terms (as runs of equal terms), so replaying a log
 * of any length takes memory in the number of term changes. */
typedef struct wal_log {
    uint32_t group;
    uint64_t first;     /* first index the log holds (base + 1) */
    uint64_t base_term; /* term of entry first - 1 (0 if none) */
    uint64_t last;      /* last index (first - 1 when the log is empty) */
    bool has_hard_state;
    uint64_t hs_term, hs_vote;
    kbuf runs; /* wal_term_run[], starts ascending, covering [first, last] */
} wal_log;

/* Starts a log that expects first_index next, the entry before it having
 * prev_term (a fresh log: 1, 0). */
void wal_log_init(wal_log *l, uint32_t group, uint64_t first_index, uint64_t prev_term);
void wal_log_free(wal_log *l);

/* The term of entry `index`: entries first-1 .. last (first-1 gives the base
 * term). Returns false outside that range. */
bool wal_log_term_at(const wal_log *l, uint64_t index, uint64_t *term);
uint64_t wal_log_last_term(const wal_log *l);

/* What applying a record did to the log, for a caller that keeps entries. */
typedef struct wal_effect {
    /* Non-zero: entries >= drop_from were removed before this record took
     * its place (a follower overwriting a conflicting tail; or a
     * SNAPSHOT_MARK that discarded the log). */
    uint64_t drop_from;
    /* SNAPSHOT_MARK: entries <= its index are now in the snapshot. reset:
     * the log did not hold the marked entry, so it was discarded whole. */
    bool compacted;
    bool reset;
} wal_effect;

/* Checks a record against Raft's rules and applies it. The rules:
 *  - every record: group is the log's, flags and reserved are 0.
 *  - ENTRY_*: index >= 1, term >= 1; first <= index <= last + 1 (index
 *    <= last replaces the suffix from index: drop_from = index); term >=
 *    the term of entry index - 1 (terms never decrease along the log);
 *    term <= the last hard state's term (the term is persisted before
 *    entries of that term: a log with entries and no hard state is wrong).
 *  - HARD_STATE: term never decreases; within one term the vote only goes
 *    from 0 (none) to a node, never to another node or back to 0.
 *  - SNAPSHOT_MARK {index, term}: both >= 1, index < WAL_INDEX_MAX;
 *    term <= the hard state's
 *    term; index >= first - 1, and index == first - 1 only with term ==
 *    the base term; index > first - 1 only with term >= the base term.
 *    If the log holds entry `index` with `term`, entries after it stay
 *    (compacted); otherwise the whole log is discarded (reset) and it
 *    continues at index + 1 (Raft's InstallSnapshot rule).
 * A replacement entry may have a lower term than the entry it replaces
 * (Raft allows it; see decision 0006). Returns WAL_R_OK (and fills *eff,
 * which may be NULL) or the first rule broken, leaving l unchanged. */
wal_reason wal_log_apply(wal_log *l, const wal_record *r, wal_effect *eff);

/* The same checks without applying. */
wal_reason wal_log_check(const wal_log *l, const wal_record *r);

/* ------------------------------------------------------------------------ */
/* Recovery */

typedef enum wal_status {
    WAL_OK = 0,        /* every byte is valid */
    WAL_TORN_TAIL = 1, /* the newest segment ends in a torn write: cut it at valid_len */
    WAL_CORRUPT = 2,   /* damage that a crash cannot explain: stop */
} wal_status;

const char *wal_status_name(wal_status s); /* "OK", "TORN_TAIL", "CORRUPT" */

/* The verdict of a scan. */
typedef struct wal_result {
    wal_status status;
    wal_reason reason;       /* WAL_R_OK when status is WAL_OK */
    size_t segment;          /* which segment (0 = the first scanned) */
    uint64_t offset;         /* byte offset of the damage in that segment */
    uint64_t expected_index; /* the entry index the log expected there */
    /* TORN_TAIL: keep the first valid_len bytes of the segment; 0 means the
     * header itself is torn: remove the file. */
    uint64_t valid_len;
    /* CORRUPT by damaged framing: where the valid record that proves it is
     * not a torn tail starts (0 if none was looked for). */
    uint64_t found_offset;
    /* Rule violations: the offending record's fields. */
    bool has_record;
    uint8_t rec_type;
    uint64_t rec_term, rec_index;
} wal_result;

/* Where a replayed record was, and what it did to the log. */
typedef struct wal_visit {
    size_t segment;  /* position of its segment in the scan, 0 = oldest */
    uint64_t offset; /* of the record in its segment */
    uint64_t len;    /* of the record */
    wal_effect effect;
} wal_visit;

/* Called once per valid record, in log order. r->payload points into the
 * segment's bytes. A caller that keeps entries applies v->effect first:
 * drop entries >= drop_from, and on a SNAPSHOT_MARK drop entries <= its
 * index (all of them when reset). On a CORRUPT verdict everything replayed
 * must be thrown away. */
typedef void wal_record_fn(void *ctx, const wal_record *r, const wal_visit *v);

/* What recovery learned about one segment. */
typedef struct wal_segment_info {
    wal_segment_header h;
    uint64_t valid_len;  /* header and whole valid records */
    uint64_t zero_tail;  /* zero bytes after them to the end: preallocated
                          * space, never written (the segment is OK) */
    uint64_t records;    /* valid records, not counting the header */
    uint64_t entries;    /* of them ENTRY_* */
} wal_segment_info;

/* A multi-segment recovery, fed one segment at a time, oldest first, so a
 * caller holds one segment's bytes at a time. */
typedef struct wal_recovery {
    uint64_t group;   /* expected group, or WAL_GROUP_ANY until the first segment */
    wal_log log;      /* the log as replayed so far (valid once a segment was scanned) */
    bool started;     /* a segment header was accepted */
    uint64_t start;   /* the first index of the first segment fed */
    bool done;        /* a verdict other than OK was reached, or the newest was scanned */
    size_t nsegments; /* segments fed */
    uint64_t records;
    wal_result res;
    kbuf infos; /* wal_segment_info[] of the segments fed */
} wal_recovery;

void wal_recovery_init(wal_recovery *rc, uint64_t group);
void wal_recovery_free(wal_recovery *rc);

/* Scans the next segment (its base name, or NULL to skip the name check;
 * its bytes; newest: no segment comes after it). Checks the header, the
 * name against it, the group, the sequence number and, after the first
 * segment, that it continues the log: first index == last + 1 and prev
 * term == the last entry's term; or first index in the log, prev term ==
 * the term of the entry before it, and the segment's first entry is at
 * first index (a replacement); or WAL_SEG_MARK and the segment's first
 * record after its hard state is that mark. Then replays its records
 * through wal_log_apply (no record may reach before the segment's first
 * index), calling cb (which may be NULL) for each valid one. A segment
 * whose announced first record is missing at the end of the newest
 * segment is a torn creation (TORN_TAIL, valid_len 0); the records before
 * it (hard states) are only handed out once it is there. A SNAPSHOT_MARK
 * below the first segment's first index - 1 is covered by where the log
 * starts (compaction removed what it marked): handed out, not applied.
 *
 * A segment may end in zeros (the writer preallocates its files): when
 * every byte from a record boundary to the end is zero, the segment ends
 * there, cleanly (OK, valid_len that boundary, zero_tail the rest), in any
 * segment: nothing was ever written there, or what was written never
 * reached the disk and so was never acknowledged. (Entries lost that way
 * from an older segment leave a gap the next segment's first index shows.)
 *
 * Damage: a record whose framing is bad (short, zeroed, bad length or
 * checksum) is a torn tail only in the newest segment and only if no
 * structurally valid record of this segment (length, type, flags, reserved,
 * group and checksum) starts anywhere after it; the search looks at every
 * later offset, checking the cheap fields first, and hashes at most about
 * four times the segment's length before it gives up (CORRUPT,
 * REC_SEARCH_LIMIT). A bad header is torn only in the newest segment, only
 * when every byte after the first 56 is zero (or there are fewer than 56).
 * A record with a valid checksum that breaks a rule is always CORRUPT.
 *
 * Returns the verdict so far (also in rc->res); after a non-OK verdict, or
 * after the newest segment, further calls return it unchanged. Reads only
 * buf[0..len), allocates only in proportion to what it validated. */
wal_status wal_recovery_segment(wal_recovery *rc, const char *name, const void *buf, size_t len,
                                bool newest, wal_record_fn *cb, void *ctx);

/* Info of the segments fed so far, oldest first (n of them). */
const wal_segment_info *wal_recovery_infos(const wal_recovery *rc, size_t *n);

/* One segment in memory, for wal_recover. */
typedef struct wal_segment_bytes {
    const char *name; /* base name, or NULL */
    const void *data;
    size_t len;
} wal_segment_bytes;

/* Recovery over a list of segments sorted by name (oldest first); the last
 * one is the newest. Same verdicts as wal_recovery_segment. When log is not
 * NULL, the replayed log is moved there (the caller frees it); zero
 * segments give WAL_OK and a fresh log (first index 1). */
wal_status wal_recover(const wal_segment_bytes *segs, size_t n, uint64_t group,
                       wal_record_fn *cb, void *ctx, wal_result *res, wal_log *log);

/* wal_scan: one segment on its own (no name check; the log starts from its
 * header). newest: whether a torn tail is acceptable. */
wal_status wal_scan(const void *buf, size_t len, bool newest, wal_record_fn *cb, void *ctx,
                    wal_result *res);

/* ------------------------------------------------------------------------ */
/* Writing: the segment planner and the writer */

/* The segment planner: whether a record of rec_len bytes must start a new
 * segment. seg_open: a segment is open; seg_size: its bytes so far;
 * seg_records: records in it after its preamble (header and hard state);
 * reaches_back: the record reaches before the segment's first index (an
 * entry below it, a SNAPSHOT_MARK below first index - 1). A new segment
 * when none is open, when the record reaches back, or when it would take
 * the segment past seg_max and the segment already holds a record: so
 * records never span segments, and a record larger than seg_max gets a
 * segment of its own. */
bool wal_plan_new_segment(uint64_t seg_max, bool seg_open, uint64_t seg_size,
                          uint64_t seg_records, uint64_t rec_len, bool reaches_back);

/* One write the io must do: len bytes at buf_off of the batch buffer go to
 * offset of segment (seq, first_index). create: the file is new (the bytes
 * begin with its header at offset 0). */
typedef struct wal_write {
    uint64_t seq;
    uint64_t first_index;
    uint64_t offset;
    size_t buf_off;
    size_t len;
    bool create;
} wal_write;

/* The bytes of a group commit and where they go. */
typedef struct wal_batch {
    kbuf buf;
    kbuf ops; /* wal_write[] */
} wal_batch;

void wal_batch_init(wal_batch *b);
void wal_batch_clear(wal_batch *b); /* keeps the memory for the next batch */
void wal_batch_free(wal_batch *b);
const wal_write *wal_batch_ops(const wal_batch *b, size_t *n);

/* The writer: the log state as written plus the open segment. It checks
 * every record with wal_log_apply before encoding it, so a record that
 * recovery would call corrupt is refused at the door. */
typedef struct wal_writer {
    uint32_t group;
    uint64_t seg_max;
    uint64_t salt_seed;
    wal_log log;
    bool open;            /* a segment is open */
    wal_segment_info seg; /* the open segment (valid_len = its size) */
    uint64_t seg_body;    /* records in it after its preamble (the planner's seg_records) */
    uint64_t next_seq;    /* seq of the next segment */
    bool preamble_due;    /* the open segment lost its hard state record (a cut): rewrite it */
} wal_writer;

/* A writer for an empty log of group that starts at first_index with the
 * entry before it of prev_term (a new node: 1, 0). seg_max: the segment
 * size to stay under. No segment exists until the first append. */
void wal_writer_init(wal_writer *w, uint32_t group, uint64_t seg_max, uint64_t salt_seed,
                     uint64_t first_index, uint64_t prev_term);

/* A writer that continues a recovered log: takes rc's log (rc keeps an
 * empty one) and appends to the newest segment at its valid length. After
 * a TORN_TAIL verdict the io must first cut the newest segment to
 * res.valid_len (or remove it when that is 0). Returns false (w untouched)
 * when rc's verdict is CORRUPT or no segment was scanned (then use
 * wal_writer_init). */
bool wal_writer_resume(wal_writer *w, wal_recovery *rc, uint64_t seg_max, uint64_t salt_seed);

void wal_writer_free(wal_writer *w);

/* Checks r (group must be the writer's) against the log, plans its segment
 * and appends its bytes and writes to b. A new segment begins with its
 * header and, when the log has one, the current hard state, so every
 * segment can stand first after compaction; a record that reaches back
 * before the open segment gets a new segment that announces it (see the
 * top of this file). Returns WAL_R_OK or why r was refused
 * (REC_BAD_LENGTH for a payload over WAL_PAYLOAD_MAX); a refused record
 * changes nothing. */
wal_reason wal_writer_append(wal_writer *w, wal_batch *b, const wal_record *r);

/* Closes the open segment: the next record starts a new one. After a
 * snapshot, so that compaction can delete every segment it covers. No-op
 * when the open segment holds no entry. */
void wal_writer_roll(wal_writer *w);

/* ------------------------------------------------------------------------ */
/* Compaction */

/* The segment a log must start from once a snapshot covers every entry up
 * to snap_index: the newest segment whose first index <= snap_index + 1
 * (hs: the headers of the segments, oldest first), but never the newest
 * segment alone when an older one qualifies among the others (one whose
 * first index is also <= the newest's): the newest may be a creation that
 * never finished (a crash, or a failed write, left its header and not its
 * hard state record, which then lived only in the segment before it), so
 * the log must also read without it. The segments before the result are
 * not needed: compaction deletes them (in any order, and a crash in the
 * middle leaves a log this function still starts at the same place), and
 * recovery skips any left over. Returns n when no segment qualifies (every
 * one starts after snap_index + 1: entries are missing). Never more than
 * n - 1 when n > 0. */
size_t wal_first_needed(const wal_segment_header *hs, size_t n, uint64_t snap_index);

/* How a recovered log meets the snapshot loaded with it (Raft's
 * InstallSnapshot rule). */
typedef enum wal_fit {
    /* The log holds entry snap_index with snap_term (or its base is that
     * entry): apply the entries after snap_index. */
    WAL_FIT_CONTINUES,
    /* The log ends before snap_index or disagrees there: it is superseded;
     * the writer's first record must be SNAPSHOT_MARK{snap_index, snap_term}. */
    WAL_FIT_SUPERSEDED,
    /* The log starts after snap_index + 1: entries are missing. */
    WAL_FIT_GAP,
} wal_fit;

wal_fit wal_snapshot_fit(const wal_log *l, uint64_t snap_index, uint64_t snap_term);

#endif
