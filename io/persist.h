/* io/persist: the files of the write-ahead log and of snapshots — start-up
 * recovery, the writer thread, fork snapshots and compaction. The formats
 * and the rules are core/wal's (pure); this is the half that touches the
 * disk. See docs/durability.md.
 *
 * Layout: the data dir is the process's cwd; group g lives in the
 * directory "<g>" (gdir below), holding
 *
 *     <seq:20>-<first index:20>.wal          WAL segments (core/wal/wal.h)
 *     snapshot-<index:20>-<term:20>.snap     snapshot files (core/wal/snapshot.h)
 *     *.tmp                                  leftovers of an interrupted write,
 *                                            removed at start-up
 *     <segment>.torn[.N], <segment>.corrupt[.N]
 *                                            bytes recovery cut, kept for people
 *
 * Threads: everything here runs on the loop thread except the writer's own
 * thread, which only touches the segment files and its shared state.
 *
 * Fault injection (tests): the environment variable KEEL_WAL_FAULT, read by
 * persist_writer_new, makes that writer fail on purpose:
 *     enospc-after:<bytes>  writes fail with ENOSPC once <bytes> were written
 *                           in total; a write crossing the limit writes up
 *                           to it first (a torn tail, as a full disk leaves)
 *     eio-fsync:<n>         the n-th fsync/fdatasync call (files and the
 *                           directory, counted from 1) fails with EIO
 *     eio-write:<n>         the n-th pwrite call fails with EIO
 *     fallocate:<k>         every segment preallocation fails after setting
 *                           the file's size (k 0: ENOSPC, 1: EOPNOTSUPP)
 * Anything else is logged and ignored. */
#ifndef KEEL_IO_PERSIST_H
#define KEEL_IO_PERSIST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core/util/kbuf.h"
#include "core/wal/wal.h"

/* appendfsync: when the writer makes a batch durable. */
typedef enum persist_fsync {
    PERSIST_FSYNC_ALWAYS,   /* fdatasync before done() */
    PERSIST_FSYNC_EVERYSEC, /* done() after the writes; fdatasync about once a second */
    PERSIST_FSYNC_NO,       /* fsync only on segment change and at close */
} persist_fsync;

/* "always", "everysec", "no" (Redis's names), indexed by persist_fsync. */
extern const char *const persist_fsync_names[3];
/* The mode named v (len bytes, any case), or -1. */
int persist_fsync_parse(const char *v, size_t len);

/* ------------------------------------------------------------------------ */
/* Start-up recovery */

typedef enum persist_status {
    PERSIST_OK,    /* recovered (a torn tail may have been cut: see torn) */
    PERSIST_FAIL,  /* err says why; the node must not start */
    PERSIST_RETRY, /* corruption was cut (repair_corrupt): reset and recover again */
} persist_status;

typedef struct persist_recovered {
    bool snapshot; /* a snapshot was loaded */
    uint64_t snap_index, snap_term;
    char snap_file[PATH_MAX];
    size_t snap_rejected; /* newer snapshot files that did not load (each logged) */
    size_t segments;      /* segments scanned */
    uint64_t records;     /* records handed to on_record */
    /* What a torn tail cost: torn_bytes from torn_offset of torn_file were
     * cut (offset 0: the file was removed), saved to torn_saved. */
    bool torn;
    char torn_file[PATH_MAX];
    char torn_saved[PATH_MAX];
    uint64_t torn_offset, torn_bytes;
    wal_reason torn_reason;
    size_t skipped_segments; /* deleted as wholly before the snapshot */
} persist_recovered;

/* Called with a snapshot file's bytes (snap_decode already accepted them
 * and their group is the group's). Returns NULL when loaded, or why not;
 * refusing must leave the caller's state as it was, as recovery then tries
 * the next older file. */
typedef const char *persist_load_fn(void *ctx, const void *buf, size_t len);

/* Recovers the log of group in gdir (created, and its parent fsynced, when
 * missing):
 *  1. removes leftover *.tmp files;
 *  2. loads the newest snapshot file that decodes and that load accepts,
 *     falling back to older ones (each refusal is logged); fails, naming
 *     the files, when there are some and none loads;
 *  3. deletes the segments before wal_first_needed(snapshot index) (an
 *     interrupted compaction) and feeds the others, one in memory at a
 *     time, to wal_recovery_segment(rc, ..., on_record, ctx): r->payload
 *     points into a buffer freed after the segment, so copy what you keep;
 *  4. TORN_TAIL: saves the cut bytes to <segment>.torn (.torn.1, ...),
 *     cuts the segment to the valid length (removes it when that is 0),
 *     fsyncs, and returns PERSIST_OK with out->torn set (log it).
 *     CORRUPT: PERSIST_FAIL, err naming the file, offset, expected index
 *     and reason and pointing at keel-check-wal --fix
 *     --force-truncate-corrupt; with repair_corrupt, does what that does
 *     (everything from the damage on saved to <segment>.corrupt, later
 *     segments removed newest first, the damaged one cut, fsynced) and
 *     returns PERSIST_RETRY with err saying what was cut: everything
 *     on_record and load were given must be thrown away, rc freed and
 *     initialised again, and persist_recover called again.
 * rc: initialised by the caller (wal_recovery_init(rc, group)); after OK
 * it goes to wal_writer_resume (false there: no segment, use
 * wal_writer_init) and then wal_snapshot_fit with the snapshot. */
persist_status persist_recover(const char *gdir, uint32_t group, bool repair_corrupt,
                               persist_load_fn *load_snapshot, wal_record_fn *on_record, void *ctx,
                               wal_recovery *rc, persist_recovered *out, char *err, size_t cap);

/* The file steps recovery and keel-check-wal share. Each returns 0 or an
 * errno. */

/* Reads a whole file into *data (malloc'd), but for a hole at its end
 * (the unwritten, zero space of a preallocated segment). */
int persist_read_file(const char *path, char **data, size_t *len);

/* Copies bytes [from, end) of path to a new file path<suffix> (or
 * path<suffix>.1, ...) and syncs it and dir (path's directory): what a
 * repair cuts is kept for people. end: after the last non-zero byte,
 * rounded up to 4 KiB (not the zeros of a preallocated segment's unwritten
 * space). The new file's path goes to saved[PATH_MAX], the bytes copied to
 * *bytes. */
int persist_save_tail(const char *dir, const char *path, uint64_t from, const char *suffix,
                      char *saved, uint64_t *bytes);

/* Cuts path to len bytes and syncs it; len 0 removes it and syncs dir. */
int persist_cut_file(const char *dir, const char *path, uint64_t len);

/* ------------------------------------------------------------------------ */
/* The writer */

/* A dedicated thread (fsync can take long: not libuv's pool) that does the
 * wal_write ops of one batch at a time, in order: pwrite into
 * <gdir>/<seq>-<first index>.wal; before an op that creates a segment, the
 * previous one is fdatasynced (so only the newest can have a torn tail) and
 * closed, the new file created with O_EXCL, and after its bytes the file and
 * the directory are fsynced. Any write or fsync error fails that batch and
 * every later one with the same text, and the writer stops touching the
 * files: a failed fsync is never retried, its pages never trusted again. */
typedef struct persist_writer persist_writer;

/* done: on the loop thread, error NULL when the batch is written (and, in
 * ALWAYS, synced), else what failed ("pwrite 0/...wal: No space left on
 * device"). */
typedef void persist_done_fn(void *ctx, const char *error);

/* NULL when the thread cannot be started. */
persist_writer *persist_writer_new(uv_loop_t *loop, const char *gdir, persist_fsync mode,
                                   persist_done_fn *done, void *ctx);

/* Hands b to the thread; b stays unchanged until done() is called. One
 * batch at a time: submit again only after done(). */
void persist_writer_submit(persist_writer *w, const wal_batch *b);

/* Preallocate each segment the writer opens to bytes (fallocate; 0: do
 * not): appends then stay inside the file's size, so fdatasync has no
 * size to journal. Best effort (a file system without fallocate, or too
 * little space, is left as it was). Before the first submit. */
void persist_writer_set_prealloc(persist_writer *w, uint64_t bytes);

/* CONFIG SET appendfsync: from the next batch on (switching to ALWAYS
 * also syncs what is unsynced now). */
void persist_writer_set_fsync(persist_writer *w, persist_fsync mode);

typedef struct persist_writer_stats {
    uint64_t batches, bytes;      /* written successfully */
    uint64_t fsyncs;              /* successful fsync/fdatasync calls, directories included */
    uint64_t fsync_us_total, fsync_us_max;
    int64_t last_fsync_ms;        /* wall clock of the last successful one, 0: none */
    uint64_t segments_created;
    uint64_t write_errors;        /* failed writes and fsyncs (the first stops the writer) */
    bool failed;
    char error[256];              /* the failure, when failed */
} persist_writer_stats;

/* Loop thread. */
void persist_writer_get_stats(persist_writer *w, persist_writer_stats *out);

/* Finishes the batch in flight (its done() is called before this returns
 * if the loop has not delivered it yet), syncs what is unsynced (every
 * mode; not after a failure), stops and joins the thread. Returns false,
 * with the reason in err, when the writer failed at any point. The writer
 * frees itself once its uv_async handle is closed, so the loop must run
 * afterwards (as it must before uv_loop_close anyway). */
bool persist_writer_close(persist_writer *w, char *err, size_t cap);

/* ------------------------------------------------------------------------ */
/* Snapshots and compaction */

/* Appends the whole snapshot file's bytes (snap_begin, the store image,
 * snap_finish) to out. */
typedef void persist_encode_fn(void *ctx, kbuf *out);
/* ok: the file snapshot-<index>-<term>.snap is durable; else err says why. */
typedef void persist_snapshot_done_fn(void *ctx, bool ok, uint64_t index, uint64_t term,
                                      const char *err);

/* BGSAVE: forks; the child calls encode and writes the bytes as
 * persist_snapshot_write does, then exits (its error, if any, comes back
 * through a pipe). done runs on the loop thread when the child has exited.
 * ctx goes to both (encode runs in the child, on its copy of the memory).
 * One child at a time. Returns 0, -EBUSY (a child is running) or -errno.
 * The child runs only encode and plain file calls, with every signal
 * blocked; it never touches the writer (its thread does not exist there). */
int persist_snapshot_fork(uv_loop_t *loop, const char *gdir, uint64_t index, uint64_t term,
                          persist_encode_fn *encode, void *ctx, persist_snapshot_done_fn *done);

bool persist_snapshot_in_progress(void);
int64_t persist_snapshot_child_pid(void); /* 0 when none */

/* Shutdown: kills the child (SIGKILL), reaps it and removes its temporary
 * file; done is not called. The loop must run afterwards to close the
 * handle. No-op without a child. */
void persist_snapshot_abort(void);

/* SAVE: writes buf as snapshot-<index>-<term>.snap through a temporary
 * file: write, fsync, rename, fsync gdir. */
bool persist_snapshot_write(const char *gdir, uint64_t index, uint64_t term, const void *buf,
                            size_t len, char *err, size_t cap);

/* After a snapshot at snap_index is durable: deletes the snapshot files
 * with a lower index and the segments before wal_first_needed(headers,
 * snap_index) (never the newest; headers read from the files, stopping at
 * the first that does not decode), then fsyncs gdir. Returns how many
 * segments were deleted, or -1 with err. Blocks for a few unlinks and an
 * fsync. */
int persist_compact(const char *gdir, uint64_t snap_index, char *err, size_t cap);

/* Removes every segment of gdir (a snapshot taken with the log off is
 * newer than any log there; one with the log on may hold all of it) and
 * syncs it. *removed (if not NULL): how many went. Returns 0 or an errno. */
int persist_remove_segments(const char *gdir, size_t *removed);

/* The newest snapshot file of gdir (by name: by index, then term) into
 * path[PATH_MAX]; false when there is none. */
bool persist_newest_snapshot(const char *gdir, char *path);

/* For INFO: the total size of the *.wal files, their number, and the first
 * index of the oldest (from its name; 0 when there is none). */
void persist_dir_usage(const char *gdir, uint64_t *wal_bytes, uint64_t *segments,
                       uint64_t *first_index);

#endif
