/* sim/disk: one simulated node's directory, in memory, with the
 * durability rules of a real disk.
 *
 * Each file has two images: `data`, what a read sees now (every write that
 * returned), and `durable`, what survives a crash. A write changes `data`
 * at once and is queued as pending; sdisk_sync(file) makes that file's
 * pending writes durable (fsync), in order. A file that was created but
 * never synced does not survive a crash (its name was never made durable
 * either). Removal, truncation and the snapshot's rename are durable at
 * once (the io runtime syncs the directory or the file right after them).
 *
 * sdisk_crash: every pending write is lost, except, when asked to tear, a
 * random prefix of the pending writes taken in the order they were made
 * (the last one kept may be cut anywhere inside: a torn write). Bit flips
 * are the simulator's: sdisk_flip toggles one bit of a durable byte of a
 * crashed node's file (both images, which are equal after a crash).
 *
 * Files are kept sorted by name, so listing them is in name order, as
 * io/persist.c's list_dir does. The snapshot is a separate slot: the
 * io runtime keeps one (the newest; compaction removes older ones) and
 * replaces it atomically (temp file, fsync, rename, directory fsync).
 *
 * Pure memory, no randomness of its own: the caller passes the world's
 * PRNG where one is needed. */
#ifndef KEEL_SIM_DISK_H
#define KEEL_SIM_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util/kbuf.h"
#include "core/util/prng.h"

#define SDISK_NAME_MAX 64

typedef struct sdisk_file {
    char name[SDISK_NAME_MAX];
    uint32_t id;         /* stable while the file exists (pending writes refer to it) */
    bool exists_durable; /* its name survives a crash */
    kbuf data;           /* what reads see */
    kbuf durable;        /* what survives a crash */
} sdisk_file;

typedef struct sdisk_pending {
    uint32_t file_id;
    uint64_t offset;
    size_t at, len; /* bytes in sdisk.pbytes */
} sdisk_pending;

typedef struct sdisk {
    sdisk_file *files; /* sorted by name */
    size_t nfiles, capfiles;
    uint32_t next_id;
    sdisk_pending *pend;
    size_t npend, cappend;
    kbuf pbytes;
    /* The snapshot slot. */
    bool has_snap;
    uint64_t snap_index, snap_term;
    kbuf snap;
    /* Counters, for the summary and the trace. */
    uint64_t bytes_written, syncs, torn_bytes;
} sdisk;

void sdisk_init(sdisk *d);
void sdisk_free(sdisk *d);

/* The file called name, or NULL. */
sdisk_file *sdisk_find(sdisk *d, const char *name);
/* The file called name, created (empty, not yet durable); NULL if it
 * exists (the io creates segments with O_CREAT | O_EXCL). */
sdisk_file *sdisk_create(sdisk *d, const char *name);

/* Writes len bytes at offset (a gap is zero-filled, as a sparse file). */
void sdisk_write(sdisk *d, sdisk_file *f, uint64_t offset, const void *buf, size_t len);
/* fsync: f's pending writes become durable, and so does its name. */
void sdisk_sync(sdisk *d, sdisk_file *f);
/* unlink + directory fsync. */
void sdisk_remove(sdisk *d, const char *name);
/* ftruncate + fsync (0 removes the file, as persist_cut_file does). */
void sdisk_truncate(sdisk *d, const char *name, uint64_t len);

/* The power goes: pending writes are lost; with tear, a random prefix of
 * them (in write order, cut anywhere) reaches the disk first. Returns the
 * bytes of pending writes that reached the disk that way. */
uint64_t sdisk_crash(sdisk *d, kprng *rng, bool tear);

/* Toggles bit `bit` (0..7) of byte `offset` of f (durable and data). */
void sdisk_flip(sdisk_file *f, uint64_t offset, unsigned bit);

/* Replaces the snapshot (durable at once). */
void sdisk_snapshot_put(sdisk *d, const void *buf, size_t len, uint64_t index, uint64_t term);

#endif
