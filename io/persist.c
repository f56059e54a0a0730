/* io/persist: the WAL's and the snapshots' files. See persist.h and
 * docs/durability.md. */
#define _GNU_SOURCE
#include "io/persist.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/wal/snapshot.h"
#include "io/log.h"

static void say(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *err, size_t cap, const char *fmt, ...)
{
    if (err == NULL || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* ======================================================================== */
/* Files                                                                    */

/* dir/name into out[PATH_MAX]; false (errno ENAMETOOLONG) if it does not fit. */
static bool join(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    if (n < 0 || n >= PATH_MAX) {
        errno = ENAMETOOLONG;
        return false;
    }
    return true;
}

/* A new file's name or a removal is durable only once its directory is
 * synced. Returns 0 or an errno. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int e = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return e;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Where the file's data ends: before a hole that runs to its end (a
 * preallocated segment's unwritten space, which reads as zeros), else its
 * size. A hole with data after it is read like data: recovery judges it. */
static size_t data_end(int fd, size_t size)
{
    off_t hole = lseek(fd, 0, SEEK_HOLE);
    size_t end = size;
    if (hole >= 0 && (size_t)hole < size) {
        errno = 0;
        if (lseek(fd, hole, SEEK_DATA) < 0 && errno == ENXIO)
            end = (size_t)hole;
    }
    /* The reads start at the beginning (the seeks moved the offset; if
     * this failed, they fail too). */
    (void)lseek(fd, 0, SEEK_SET);
    return end;
}

static int read_file(const char *path, bool sync_first, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    if (sync_first && fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return e;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return e;
    }
    size_t size = data_end(fd, (size_t)st.st_size);
    char *buf = malloc(size ? size : 1);
    if (buf == NULL) {
        close(fd);
        return ENOMEM;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : EIO; /* shorter than fstat said: changed under us */
            free(buf);
            close(fd);
            return e;
        }
        got += (size_t)r;
    }
    close(fd);
    *data = buf;
    *len = size;
    return 0;
}

int persist_read_file(const char *path, char **data, size_t *len)
{
    return read_file(path, false, data, len);
}

/* A segment recovery replays: synced first. After a kill -9 its last
 * writes may be in the page cache only (written, never synced, so never
 * acknowledged); replayed, they would be served and, in a cluster,
 * reported to the leader as durable, and a power cut later would take
 * them back. Synced, what recovery reads is what the disk holds; it also
 * makes the trailing hole read_file looks for (SEEK_HOLE) the disk's,
 * not a page cache's a file system might misreport. */
static int read_segment(const char *path, char **data, size_t *len)
{
    return read_file(path, true, data, len);
}

/* Removes gdir/name; already gone is fine (a removal a crash interrupted). */
static int unlink_in(const char *gdir, const char *name)
{
    char path[PATH_MAX];
    if (!join(path, gdir, name))
        return errno;
    return unlink(path) == 0 || errno == ENOENT ? 0 : errno;
}

/* A directory entry's name. */
typedef struct dname {
    char s[NAME_MAX + 1];
} dname;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const dname *)a)->s, ((const dname *)b)->s);
}

/* Appends the names of dir's regular files that match to out (dname[]),
 * sorted. Returns 0 or an errno. */
static int list_dir(const char *dir, bool (*match)(const char *name), kbuf *out)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno;
    size_t from = out->len / sizeof(dname);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (!match(e->d_name) || fstatat(dirfd(d), e->d_name, &st, 0) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        dname n;
        memset(&n, 0, sizeof n);
        memcpy(n.s, e->d_name, strnlen(e->d_name, NAME_MAX));
        kbuf_append(out, &n, sizeof n);
    }
    closedir(d);
    size_t n = out->len / sizeof(dname) - from;
    if (n > 0)
        qsort((dname *)out->data + from, n, sizeof(dname), by_name);
    return 0;
}

static const dname *names_of(const kbuf *l, size_t *n)
{
    *n = l->len / sizeof(dname);
    return (const dname *)l->data;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool is_wal(const char *name) { return ends_with(name, ".wal"); }
static bool is_tmp(const char *name) { return ends_with(name, ".tmp"); }

/* "snapshot-<index:20>-<term:20>.snap": names sort as (index, term). */
#define SNAP_NAME_LEN 55u

static bool snap_name_parse(const char *name, uint64_t *index, uint64_t *term)
{
    return strlen(name) == SNAP_NAME_LEN && memcmp(name, "snapshot-", 9) == 0 &&
           wal_parse_digits20(name + 9, index) && name[29] == '-' &&
           wal_parse_digits20(name + 30, term) && strcmp(name + 50, ".snap") == 0;
}

static bool is_snap(const char *name)
{
    uint64_t i, t;
    return snap_name_parse(name, &i, &t);
}

static void snap_name(char out[SNAP_NAME_LEN + 1], uint64_t index, uint64_t term)
{
    snprintf(out, SNAP_NAME_LEN + 1, "snapshot-%020" PRIu64 "-%020" PRIu64 ".snap", index, term);
}

/* Reads and decodes the header of the segment gdir/name. */
static bool read_seg_header(const char *gdir, const char *name, wal_segment_header *h)
{
    char path[PATH_MAX];
    if (!join(path, gdir, name))
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    unsigned char buf[WAL_SEG_HEADER];
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    close(fd);
    return n == (ssize_t)sizeof buf && wal_segment_header_decode(buf, sizeof buf, h) == WAL_R_OK;
}

/* How many of the sorted segments segs[0..n) a snapshot at snap_index
 * makes unneeded: wal_first_needed over their headers, as far as those
 * decode (a bad header is for recovery to judge, so nothing from it on
 * counts); 0 when none starts early enough (entries are missing, which
 * wal_snapshot_fit reports as a GAP). */
static size_t segments_before(const char *gdir, const dname *segs, size_t n, uint64_t snap_index)
{
    kbuf hs = KBUF_INIT;
    size_t k = 0;
    for (wal_segment_header h; k < n && read_seg_header(gdir, segs[k].s, &h); k++)
        kbuf_append(&hs, &h, sizeof h);
    size_t first = wal_first_needed((const wal_segment_header *)hs.data, k, snap_index);
    kbuf_free(&hs);
    return first == k ? 0 : first;
}

int persist_save_tail(const char *gdir, const char *path, uint64_t from, const char *suffix,
                     char *saved, uint64_t *bytes)
{
    char *data;
    size_t len;
    int e = persist_read_file(path, &data, &len);
    if (e)
        return e;
    if (from > len)
        from = len;
    /* Not the zeros of a preallocated segment's unwritten space: up to the
     * last non-zero byte, rounded up to a 4 KiB block. */
    size_t end = len;
    while (end > from && data[end - 1] == 0)
        end--;
    end = end == from ? from : (end + 4095) / 4096 * 4096;
    if (end > len)
        end = len;
    int fd = -1;
    e = EEXIST;
    for (int k = 0; k < 1000 && e == EEXIST; k++) {
        int n = k == 0 ? snprintf(saved, PATH_MAX, "%s%s", path, suffix)
                       : snprintf(saved, PATH_MAX, "%s%s.%d", path, suffix, k);
        if (n < 0 || n >= PATH_MAX) {
            e = ENAMETOOLONG;
            break;
        }
        fd = open(saved, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        e = fd < 0 ? errno : 0;
    }
    if (!e)
        e = write_all(fd, data + from, end - (size_t)from);
    if (!e && fsync(fd) != 0)
        e = errno;
    if (fd >= 0 && close(fd) != 0 && !e)
        e = errno;
    if (!e)
        e = sync_dir(gdir);
    *bytes = end - from;
    free(data);
    return e;
}

int persist_cut_file(const char *gdir, const char *path, uint64_t len)
{
    if (len == 0)
        return unlink(path) == 0 ? sync_dir(gdir) : errno;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int e = ftruncate(fd, (off_t)len) == 0 && fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return e;
}

/* ======================================================================== */
/* Recovery                                                                 */

/* gdir exists; a new one is made durable in its parent. */
static bool ensure_dir(const char *gdir, char *err, size_t cap)
{
    if (mkdir(gdir, 0755) == 0) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", gdir);
        int e = sync_dir(dirname(parent));
        if (e)
            say(err, cap, "fsync of the directory of %s: %s", gdir, strerror(e));
        return e == 0;
    }
    int e = errno;
    struct stat st;
    if (e == EEXIST && stat(gdir, &st) == 0 && S_ISDIR(st.st_mode))
        return true;
    say(err, cap, "%s: %s", gdir, e == EEXIST ? "not a directory" : strerror(e));
    return false;
}

/* Removes gdir's files that match and syncs gdir; *removed (if not NULL):
 * how many went. Returns 0 or an errno (a missing gdir holds nothing: 0). */
static int remove_matching(const char *gdir, bool (*match)(const char *name), size_t *removed)
{
    kbuf l = KBUF_INIT;
    int e = list_dir(gdir, match, &l);
    size_t n;
    const dname *v = names_of(&l, &n);
    for (size_t i = 0; i < n && !e; i++)
        e = unlink_in(gdir, v[i].s);
    if (!e && n > 0)
        e = sync_dir(gdir);
    kbuf_free(&l);
    if (removed)
        *removed = e ? 0 : n;
    return e == ENOENT && n == 0 ? 0 : e;
}

/* Temporary files are writes that never finished (their rename is the
 * commit): nothing refers to them. */
static bool remove_tmp(const char *gdir, char *err, size_t cap)
{
    int e = remove_matching(gdir, is_tmp, NULL);
    if (e)
        say(err, cap, "removing temporary files in %s: %s", gdir, strerror(e));
    return e == 0;
}

/* Loads gdir/name if it decodes, is the group's, matches its name and load
 * accepts it; else writes why not to why. */
static bool try_snapshot(const char *gdir, const char *name, uint32_t group, persist_load_fn *load,
                         void *ctx, persist_recovered *out, char *why, size_t cap)
{
    char path[PATH_MAX];
    char *data = NULL;
    size_t len = 0;
    int e = join(path, gdir, name) ? persist_read_file(path, &data, &len) : errno;
    if (e) {
        say(why, cap, "%s", strerror(e));
        return false;
    }
    uint64_t index = 0, term = 0;
    snap_name_parse(name, &index, &term);
    snap_view v;
    snap_reason r = snap_decode(data, len, &v);
    const char *refused = NULL;
    if (r != SNAP_R_OK)
        refused = snap_reason_text(r);
    else if (v.h.group != group)
        refused = "snapshot of another group";
    else if (v.h.index != index || v.h.term != term)
        refused = "file name does not match the snapshot header";
    else
        refused = load(ctx, data, len);
    if (refused)
        say(why, cap, "%s", refused);
    free(data);
    if (refused)
        return false;
    out->snapshot = true;
    out->snap_index = index;
    out->snap_term = term;
    snprintf(out->snap_file, sizeof out->snap_file, "%s/%s", gdir, name);
    return true;
}

/* Step 2: the newest snapshot that loads. A newer file that does not is
 * logged and passed over (an older snapshot and a longer log say the same);
 * when every file is refused the node must not start from the log alone,
 * which compaction may have cut. */
static bool load_newest(const char *gdir, uint32_t group, persist_load_fn *load, void *ctx,
                        persist_recovered *out, char *err, size_t cap)
{
    kbuf l = KBUF_INIT, refused = KBUF_INIT;
    int e = list_dir(gdir, is_snap, &l);
    if (e) {
        say(err, cap, "listing %s: %s", gdir, strerror(e));
        kbuf_free(&l);
        return false;
    }
    size_t n;
    const dname *v = names_of(&l, &n);
    for (size_t i = n; i-- > 0;) {
        char why[256];
        if (try_snapshot(gdir, v[i].s, group, load, ctx, out, why, sizeof why))
            break;
        log_msg(LOG_WARNING, "Snapshot file not loaded; trying an older one",
                "file=%s/%s reason=\"%s\"", gdir, v[i].s, why);
        out->snap_rejected++;
        char item[NAME_MAX + sizeof why + 8];
        int m = snprintf(item, sizeof item, "%s%s: %s", refused.len ? "; " : "", v[i].s, why);
        kbuf_append(&refused, item, (size_t)m < sizeof item ? (size_t)m : sizeof item - 1);
    }
    bool ok = n == 0 || out->snapshot;
    if (!ok) {
        kbuf_putc(&refused, '\0');
        say(err, cap,
            "no snapshot file in %s can be loaded (%s); the log alone may lack the entries "
            "they held: restore a snapshot file",
            gdir, refused.data);
    }
    kbuf_free(&l);
    kbuf_free(&refused);
    return ok;
}

/* Step 3: segments wholly before the loaded snapshot are left from a
 * compaction that did not finish. */
static bool skip_compacted(const char *gdir, const dname *segs, size_t n, persist_recovered *out,
                           char *err, size_t cap)
{
    size_t k = out->snapshot ? segments_before(gdir, segs, n, out->snap_index) : 0;
    int e = 0;
    for (size_t i = 0; i < k && !e; i++)
        e = unlink_in(gdir, segs[i].s);
    if (!e && k > 0)
        e = sync_dir(gdir);
    if (e) {
        say(err, cap, "removing segments before the snapshot in %s: %s", gdir, strerror(e));
        return false;
    }
    out->skipped_segments = k;
    return true;
}

static bool cut_torn(const char *gdir, const char *name, const wal_result *r,
                     persist_recovered *out, char *err, size_t cap)
{
    char path[PATH_MAX], saved[PATH_MAX];
    int e = join(path, gdir, name) ? 0 : errno;
    if (!e)
        e = persist_save_tail(gdir, path, r->valid_len, ".torn", saved, &out->torn_bytes);
    if (!e)
        e = persist_cut_file(gdir, path, r->valid_len);
    if (e) {
        say(err, cap, "cutting the torn tail of %s at offset %" PRIu64 ": %s", path, r->valid_len,
            strerror(e));
        return false;
    }
    out->torn = true;
    memcpy(out->torn_file, path, sizeof path);
    memcpy(out->torn_saved, saved, sizeof saved);
    out->torn_offset = r->valid_len;
    out->torn_reason = r->reason;
    return true;
}

/* The verdict as keel-check-wal prints it, and what to do about it. */
static void describe_corrupt(const char *gdir, const char *name, const wal_result *r, char *err,
                             size_t cap)
{
    char rec[160] = "", follows[64] = "";
    if (r->has_record && r->rec_type == WAL_HARD_STATE)
        snprintf(rec, sizeof rec, "; the record: %s term %" PRIu64 " vote %" PRIu64,
                 wal_type_name(r->rec_type), r->rec_term, r->rec_index);
    else if (r->has_record)
        snprintf(rec, sizeof rec, "; the record: %s index %" PRIu64 " term %" PRIu64,
                 wal_type_name(r->rec_type), r->rec_index, r->rec_term);
    if (r->found_offset)
        snprintf(follows, sizeof follows, "; a valid record follows at offset %" PRIu64,
                 r->found_offset);
    say(err, cap,
        "WAL corrupt in %s/%s at offset %" PRIu64 ", expected index %" PRIu64 ": %s (%s)%s%s. "
        "Nothing was changed; see the log with `keel-check-wal %s`. "
        "`keel-check-wal --fix --force-truncate-corrupt %s` cuts it at the damage, losing every "
        "record from there on (saved to <segment>.corrupt): only on a node whose data the rest "
        "of the cluster still has",
        gdir, name, r->offset, r->expected_index, wal_reason_text(r->reason),
        wal_reason_name(r->reason), rec, follows, gdir, gdir);
}

/* keel-check-wal --fix --force-truncate-corrupt: everything from the
 * damage on is saved first, then cut from the newest back, so a crash in
 * the middle leaves a prefix of the log. segs[0] is the damaged segment,
 * then every later one. On success err says what was done. */
static bool repair(const char *gdir, const dname *segs, size_t n, const wal_result *r, char *err,
                   size_t cap)
{
    char path[PATH_MAX], saved[PATH_MAX], first_saved[PATH_MAX] = "";
    uint64_t bytes, total = 0;
    for (size_t j = 0; j < n; j++) {
        int e = join(path, gdir, segs[j].s) ? 0 : errno;
        if (!e)
            e = persist_save_tail(gdir, path, j == 0 ? r->offset : 0, ".corrupt", saved, &bytes);
        if (e) {
            say(err, cap, "saving the corrupt part of %s: %s", path, strerror(e));
            return false;
        }
        if (j == 0)
            memcpy(first_saved, saved, sizeof saved);
        total += bytes;
    }
    for (size_t j = n; j-- > 0;) {
        int e = join(path, gdir, segs[j].s) ? 0 : errno;
        if (!e)
            e = persist_cut_file(gdir, path, j == 0 ? r->offset : 0);
        if (e) {
            say(err, cap, "cutting %s: %s", path, strerror(e));
            return false;
        }
    }
    say(err, cap,
        "WAL corrupt in %s/%s at offset %" PRIu64 " (%s): cut there and %zu later segment(s) "
        "removed; the %" PRIu64 " bytes cut were saved (%s%s)",
        gdir, segs[0].s, r->offset, wal_reason_text(r->reason), n - 1, total, first_saved,
        n > 1 ? " and <segment>.corrupt of the later ones" : "");
    return true;
}

/* Steps 3 and 4 over the sorted segments. */
static persist_status recover_log(const char *gdir, const dname *segs, size_t n,
                                  bool repair_corrupt, wal_record_fn *on_record, void *ctx,
                                  wal_recovery *rc, persist_recovered *out, char *err, size_t cap)
{
    if (!skip_compacted(gdir, segs, n, out, err, cap))
        return PERSIST_FAIL;
    size_t skip = out->skipped_segments, base = rc->nsegments;
    wal_status st = WAL_OK;
    for (size_t i = skip; i < n && st == WAL_OK; i++) {
        char path[PATH_MAX];
        char *data = NULL;
        size_t len = 0;
        int e = join(path, gdir, segs[i].s) ? read_segment(path, &data, &len) : errno;
        if (e) {
            say(err, cap, "reading %s: %s", path, strerror(e));
            return PERSIST_FAIL;
        }
        st = wal_recovery_segment(rc, segs[i].s, data, len, i + 1 == n, on_record, ctx);
        free(data);
        out->segments++;
    }
    /* Their names too (a kill -9 between a segment's creation and the
     * directory's sync leaves a name only the cache holds). */
    int e = out->segments ? sync_dir(gdir) : 0;
    if (e) {
        say(err, cap, "syncing %s: %s", gdir, strerror(e));
        return PERSIST_FAIL;
    }
    out->records = rc->records;
    if (st == WAL_OK)
        return PERSIST_OK;
    size_t bad = skip + (rc->res.segment - base);
    if (st == WAL_TORN_TAIL)
        return cut_torn(gdir, segs[bad].s, &rc->res, out, err, cap) ? PERSIST_OK : PERSIST_FAIL;
    if (!repair_corrupt) {
        describe_corrupt(gdir, segs[bad].s, &rc->res, err, cap);
        return PERSIST_FAIL;
    }
    return repair(gdir, segs + bad, n - bad, &rc->res, err, cap) ? PERSIST_RETRY : PERSIST_FAIL;
}

persist_status persist_recover(const char *gdir, uint32_t group, bool repair_corrupt,
                               persist_load_fn *load_snapshot, wal_record_fn *on_record, void *ctx,
                               wal_recovery *rc, persist_recovered *out, char *err, size_t cap)
{
    memset(out, 0, sizeof *out);
    say(err, cap, "%s", "");
    if (!ensure_dir(gdir, err, cap) || !remove_tmp(gdir, err, cap) ||
        !load_newest(gdir, group, load_snapshot, ctx, out, err, cap))
        return PERSIST_FAIL;
    kbuf l = KBUF_INIT;
    int e = list_dir(gdir, is_wal, &l);
    persist_status ps = PERSIST_FAIL;
    if (e) {
        say(err, cap, "listing %s: %s", gdir, strerror(e));
    } else {
        size_t n;
        const dname *segs = names_of(&l, &n);
        ps = recover_log(gdir, segs, n, repair_corrupt, on_record, ctx, rc, out, err, cap);
    }
    kbuf_free(&l);
    return ps;
}

/* ======================================================================== */
/* The writer                                                               */

typedef enum fault_kind {
    FAULT_NONE,
    FAULT_ENOSPC_AFTER,
    FAULT_EIO_FSYNC,
    FAULT_EIO_WRITE,
    FAULT_FALLOCATE,
} fault_kind;

/* KEEL_WAL_FAULT (persist.h), with the counts it is measured against. */
typedef struct fault {
    fault_kind kind;
    uint64_t arg;
    uint64_t written, writes, syncs;
} fault;

struct persist_writer {
    uv_loop_t *loop;
    uv_async_t async; /* the thread's "a batch is done" */
    pthread_t thread;
    char *gdir;
    persist_done_fn *done;
    void *ctx;
    uint64_t prealloc; /* preallocate segments to this size (0: no) */
    bool prealloc_warned; /* a failed preallocation was logged (once) */

    pthread_mutex_t mu;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    /* Under mu. From the loop thread: */
    const wal_batch *pending;
    persist_fsync mode;
    bool stop;
    /* From the writer thread: */
    bool finished;    /* a batch is done and done() was not called yet */
    bool finished_ok; /* how it went */
    persist_writer_stats stats;

    /* The writer thread's own (the loop thread reads them after the join). */
    int fd; /* the open segment, -1 when none */
    uint64_t seq;
    char path[PATH_MAX]; /* of the open segment */
    bool unsynced;
    uint64_t dirty_ns; /* when the first unsynced byte was written */
    bool failed;
    fault fault;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fault_parse(fault *f)
{
    static const struct {
        const char *prefix;
        fault_kind kind;
    } kinds[] = {
        {"enospc-after:", FAULT_ENOSPC_AFTER},
        {"eio-fsync:", FAULT_EIO_FSYNC},
        {"eio-write:", FAULT_EIO_WRITE},
        {"fallocate:", FAULT_FALLOCATE},
    };
    const char *s = getenv("KEEL_WAL_FAULT");
    if (s == NULL || *s == '\0')
        return;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        size_t n = strlen(kinds[i].prefix);
        if (strncmp(s, kinds[i].prefix, n) != 0 || !isdigit((unsigned char)s[n]))
            continue;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s + n, &end, 10);
        if (errno || *end)
            break;
        f->kind = kinds[i].kind;
        f->arg = v;
        log_msg(LOG_WARNING, "WAL fault injection is on", "KEEL_WAL_FAULT=%s", s);
        return;
    }
    log_msg(LOG_WARNING, "KEEL_WAL_FAULT not understood; ignored", "value=%s", s);
}

/* pwrite, failing where KEEL_WAL_FAULT says. */
static ssize_t fault_pwrite(persist_writer *w, const char *p, size_t n, uint64_t off)
{
    fault *f = &w->fault;
    f->writes++;
    if (f->kind == FAULT_EIO_WRITE && f->writes == f->arg) {
        errno = EIO;
        return -1;
    }
    if (f->kind == FAULT_ENOSPC_AFTER) {
        if (f->written >= f->arg) {
            errno = ENOSPC;
            return -1;
        }
        if (n > f->arg - f->written)
            n = (size_t)(f->arg - f->written);
    }
    ssize_t r = pwrite(w->fd, p, n, (off_t)off);
    if (r > 0)
        f->written += (uint64_t)r;
    return r;
}

/* The first failure stops the writer for good: after a failed fsync the
 * kernel may have dropped the dirty pages and marked them clean, so a
 * retry could "succeed" over lost data (PostgreSQL's fsyncgate). */
static void writer_fail(persist_writer *w, const char *what, const char *path, int e)
{
    char buf[128];
    const char *text = strerror_r(e, buf, sizeof buf);
    w->failed = true;
    pthread_mutex_lock(&w->mu);
    w->stats.failed = true;
    w->stats.write_errors++;
    snprintf(w->stats.error, sizeof w->stats.error, "%s %s: %s", what, path, text);
    pthread_mutex_unlock(&w->mu);
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
}

/* fsync (data_only: fdatasync) timed into the stats; failing where
 * KEEL_WAL_FAULT says. Returns 0 or an errno. */
static int timed_sync(persist_writer *w, int fd, bool data_only)
{
    fault *f = &w->fault;
    f->syncs++;
    uint64_t t0 = mono_ns();
    int r;
    if (f->kind == FAULT_EIO_FSYNC && f->syncs == f->arg) {
        r = -1;
        errno = EIO;
    } else {
        r = data_only ? fdatasync(fd) : fsync(fd);
    }
    if (r != 0)
        return errno;
    uint64_t us = (mono_ns() - t0) / 1000;
    int64_t now = wall_ms();
    pthread_mutex_lock(&w->mu);
    w->stats.fsyncs++;
    w->stats.fsync_us_total += us;
    if (us > w->stats.fsync_us_max)
        w->stats.fsync_us_max = us;
    w->stats.last_fsync_ms = now;
    pthread_mutex_unlock(&w->mu);
    return 0;
}

/* Syncs the open segment if it has unsynced bytes. */
static bool sync_open(persist_writer *w, bool data_only)
{
    if (w->fd < 0 || !w->unsynced)
        return true;
    int e = timed_sync(w, w->fd, data_only);
    if (e) {
        writer_fail(w, data_only ? "fdatasync" : "fsync", w->path, e);
        return false;
    }
    w->unsynced = false;
    return true;
}

static bool sync_gdir(persist_writer *w)
{
    int fd = open(w->gdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int e = fd < 0 ? errno : timed_sync(w, fd, false);
    if (fd >= 0)
        close(fd);
    if (e)
        writer_fail(w, "fsync of the directory", w->gdir, e);
    return e == 0;
}

/* Extends the open segment to w->prealloc bytes of allocated zeros
 * (recovery takes zeros after the last record for unwritten space,
 * wal.h). Records then go into allocated blocks inside the file's size:
 * their fdatasync has no new size to make durable (about a third less time
 * and CPU per sync on ext4, decision 0013). Best effort: without fallocate
 * support or the space, the segment grows as it is written. */
static void preallocate(persist_writer *w)
{
    struct stat st;
    if (w->prealloc == 0 || fstat(w->fd, &st) != 0 || (uint64_t)st.st_size >= w->prealloc)
        return;
    int r;
    if (w->fault.kind == FAULT_FALLOCATE) {
        /* As a file system may leave it: the size taken (blocks only
         * partly allocated, say), then the error. */
        if (ftruncate(w->fd, (off_t)w->prealloc) != 0)
            log_msg(LOG_WARNING, "KEEL_WAL_FAULT: ftruncate failed", "file=%s", w->path);
        errno = w->fault.arg == 1 ? EOPNOTSUPP : ENOSPC;
        r = -1;
    } else {
        r = fallocate(w->fd, 0, 0, (off_t)w->prealloc);
    }
    if (r == 0)
        return;
    int e = errno;
    bool restored = ftruncate(w->fd, st.st_size) == 0;
    if (!w->prealloc_warned || !restored) {
        w->prealloc_warned = true;
        char buf[128];
        log_msg(LOG_WARNING,
                restored ? "segment preallocation failed: this segment grows as it is written"
                         : "segment preallocation failed and the size could not be put back: "
                           "preallocation is off until restart",
                "file=%s error=\"%s\"", w->path, strerror_r(e, buf, sizeof buf));
    }
    if (!restored)
        w->prealloc = 0; /* a file we cannot even put back: leave preallocation alone */
}

/* Makes op's segment the open one. The previous one is synced first, so a
 * torn tail can only be in the newest segment, and closed: it is done. */
static bool open_segment(persist_writer *w, const wal_write *op)
{
    /* A segment compaction removed (a snapshot covered all of it) needs
     * no sync: nothing will read it again. */
    struct stat st;
    if (w->fd >= 0 && w->unsynced && fstat(w->fd, &st) == 0 && st.st_nlink == 0)
        w->unsynced = false;
    if (!sync_open(w, true))
        return false;
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    char name[WAL_NAME_SIZE];
    wal_segment_name(name, op->seq, op->first_index);
    join(w->path, w->gdir, name); /* fits: checked in persist_writer_new */
    int flags = O_WRONLY | O_CLOEXEC | (op->create ? O_CREAT | O_EXCL : 0);
    w->fd = open(w->path, flags, 0644);
    if (w->fd < 0) {
        writer_fail(w, op->create ? "creating" : "opening", w->path, errno);
        return false;
    }
    w->seq = op->seq;
    preallocate(w);
    if (op->create) {
        pthread_mutex_lock(&w->mu);
        w->stats.segments_created++;
        pthread_mutex_unlock(&w->mu);
    }
    return true;
}

static bool do_op(persist_writer *w, const wal_batch *b, const wal_write *op)
{
    if ((op->create || w->fd < 0 || op->seq != w->seq) && !open_segment(w, op))
        return false;
    const char *p = b->buf.data + op->buf_off;
    size_t n = op->len;
    uint64_t off = op->offset;
    while (n > 0) {
        ssize_t r = fault_pwrite(w, p, n, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            writer_fail(w, "pwrite", w->path, r < 0 ? errno : EIO);
            return false;
        }
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    if (!w->unsynced)
        w->dirty_ns = mono_ns();
    w->unsynced = true;
    /* A new file exists for sure only once it and its directory are synced. */
    return !op->create || (sync_open(w, false) && sync_gdir(w));
}

static void run_batch(persist_writer *w, const wal_batch *b, persist_fsync mode)
{
    size_t n;
    const wal_write *ops = wal_batch_ops(b, &n);
    uint64_t bytes = 0;
    for (size_t i = 0; i < n && !w->failed; i++)
        if (do_op(w, b, &ops[i]))
            bytes += ops[i].len;
    if (!w->failed && mode == PERSIST_FSYNC_ALWAYS)
        sync_open(w, true);
    pthread_mutex_lock(&w->mu);
    if (!w->failed) {
        w->stats.batches++;
        w->stats.bytes += bytes;
    }
    w->finished = true;
    w->finished_ok = !w->failed;
    pthread_mutex_unlock(&w->mu);
    uv_async_send(&w->async);
}

static struct timespec mono_ts(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    return ts;
}

static void *writer_main(void *arg)
{
    persist_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (w->pending) {
            const wal_batch *b = w->pending;
            persist_fsync mode = w->mode;
            w->pending = NULL;
            pthread_mutex_unlock(&w->mu);
            run_batch(w, b, mode);
            pthread_mutex_lock(&w->mu);
            continue;
        }
        if (w->stop)
            break;
        if (w->unsynced && !w->failed && w->mode != PERSIST_FSYNC_NO) {
            /* EVERYSEC: a second after the first unsynced byte. ALWAYS
             * only gets here after a switch from another mode. */
            uint64_t due = w->mode == PERSIST_FSYNC_ALWAYS ? 0 : w->dirty_ns + 1000000000u;
            if (mono_ns() >= due) {
                pthread_mutex_unlock(&w->mu);
                sync_open(w, true);
                pthread_mutex_lock(&w->mu);
            } else {
                struct timespec ts = mono_ts(due);
                pthread_cond_timedwait(&w->cond, &w->mu, &ts);
            }
            continue;
        }
        pthread_cond_wait(&w->cond, &w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    if (!w->failed)
        sync_open(w, true);
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    return NULL;
}

/* Calls done() for a finished batch, if there is one. */
static void deliver(persist_writer *w)
{
    char error[sizeof w->stats.error];
    pthread_mutex_lock(&w->mu);
    bool finished = w->finished, ok = w->finished_ok;
    memcpy(error, w->stats.error, sizeof error);
    w->finished = false;
    pthread_mutex_unlock(&w->mu);
    if (finished)
        w->done(w->ctx, ok ? NULL : error);
}

static void on_async(uv_async_t *h)
{
    deliver(h->data);
}

static void on_closed(uv_handle_t *h)
{
    persist_writer *w = h->data;
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->mu);
    free(w->gdir);
    free(w);
}

/* With every signal blocked: they are the loop thread's business, and the
 * writer's syscalls should not see EINTR. */
static bool start_thread(persist_writer *w)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    bool ok = pthread_create(&w->thread, NULL, writer_main, w) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return ok;
}

persist_writer *persist_writer_new(uv_loop_t *loop, const char *gdir, persist_fsync mode,
                                   persist_done_fn *done, void *ctx)
{
    if (strlen(gdir) + 1 + WAL_NAME_SIZE > PATH_MAX)
        return NULL;
    persist_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->gdir = strdup(gdir);
    if (w->gdir == NULL || uv_async_init(loop, &w->async, on_async) != 0) {
        free(w->gdir);
        free(w);
        return NULL;
    }
    w->loop = loop;
    w->async.data = w;
    w->mode = mode;
    w->done = done;
    w->ctx = ctx;
    w->fd = -1;
    fault_parse(&w->fault);
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (!start_thread(w)) {
        uv_close((uv_handle_t *)&w->async, on_closed);
        return NULL;
    }
    return w;
}

void persist_writer_submit(persist_writer *w, const wal_batch *b)
{
    pthread_mutex_lock(&w->mu);
    w->pending = b;
    pthread_mutex_unlock(&w->mu);
    /* After the unlock: a writer woken while the lock is held would only
     * block on it again (two more context switches per batch). */
    pthread_cond_signal(&w->cond);
}

void persist_writer_set_prealloc(persist_writer *w, uint64_t bytes) { w->prealloc = bytes; }

void persist_writer_set_fsync(persist_writer *w, persist_fsync mode)
{
    pthread_mutex_lock(&w->mu);
    w->mode = mode;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

void persist_writer_get_stats(persist_writer *w, persist_writer_stats *out)
{
    pthread_mutex_lock(&w->mu);
    *out = w->stats;
    pthread_mutex_unlock(&w->mu);
}

bool persist_writer_close(persist_writer *w, char *err, size_t cap)
{
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    deliver(w);
    bool ok = !w->failed;
    if (!ok)
        say(err, cap, "%s", w->stats.error);
    uv_close((uv_handle_t *)&w->async, on_closed);
    return ok;
}

/* ======================================================================== */
/* Snapshots                                                                */

/* Writes buf to path (gdir/snapshot-...snap) through path.<pid>.tmp: the
 * rename is the commit, so a crash leaves the old file or the new one,
 * never half of one (the .tmp is removed at start-up). */
static bool write_snapshot(const char *gdir, uint64_t index, uint64_t term, const void *buf,
                           size_t len, long pid, char *err, size_t cap)
{
    char name[SNAP_NAME_LEN + 1], path[PATH_MAX], tmp[PATH_MAX];
    snap_name(name, index, term);
    int n = join(path, gdir, name) ? snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, pid) : -1;
    if (n < 0 || n >= (int)sizeof tmp) {
        say(err, cap, "%s/%s: %s", gdir, name, strerror(ENAMETOOLONG));
        return false;
    }
    const char *what = "creating";
    int e = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        e = errno;
    if (!e && (e = write_all(fd, buf, len)) != 0)
        what = "writing";
    if (!e && fsync(fd) != 0) {
        e = errno;
        what = "fsync of";
    }
    if (fd >= 0 && close(fd) != 0 && !e) {
        e = errno;
        what = "closing";
    }
    if (!e && rename(tmp, path) != 0) {
        e = errno;
        what = "renaming";
    }
    if (!e && (e = sync_dir(gdir)) != 0)
        what = "fsync of the directory of";
    if (e) {
        say(err, cap, "%s %s: %s", what, tmp, strerror(e));
        unlink(tmp);
    }
    return e == 0;
}

bool persist_snapshot_write(const char *gdir, uint64_t index, uint64_t term, const void *buf,
                            size_t len, char *err, size_t cap)
{
    return write_snapshot(gdir, index, term, buf, len, (long)getpid(), err, cap);
}

/* The child in progress. */
typedef struct snap_job {
    uv_signal_t sig; /* SIGCHLD */
    pid_t pid;
    int rd; /* the read end of the child's error pipe */
    char *gdir;
    uint64_t index, term;
    persist_snapshot_done_fn *done;
    void *ctx;
} snap_job;

static snap_job *snap_current;

static void snap_job_closed(uv_handle_t *h)
{
    snap_job *j = h->data;
    free(j->gdir);
    free(j);
}

static void snap_job_end(snap_job *j)
{
    if (j->rd >= 0)
        close(j->rd);
    uv_signal_stop(&j->sig);
    uv_close((uv_handle_t *)&j->sig, snap_job_closed);
    snap_current = NULL;
}

/* The child's side: encode, write, exit. It runs with every signal
 * blocked (from before the fork), so a ^C to the process group does not
 * reach it and the loop's inherited handlers, which write to the parent's
 * signal pipe, never run in it: the parent decides its fate. */
static void snapshot_child(int wr, const char *gdir, uint64_t index, uint64_t term,
                           persist_encode_fn *encode, void *ctx)
{
    kbuf out = KBUF_INIT;
    encode(ctx, &out);
    char err[256];
    if (write_snapshot(gdir, index, term, out.data, out.len, (long)getpid(), err, sizeof err))
        _exit(0);
    write_all(wr, err, strlen(err));
    _exit(1);
}

/* The child's message, or how it ended. */
static void child_failure(snap_job *j, int status, char *err, size_t cap)
{
    size_t got = 0;
    while (got + 1 < cap) {
        ssize_t r = read(j->rd, err + got, cap - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    err[got] = '\0';
    if (got > 0)
        return;
    if (WIFSIGNALED(status))
        say(err, cap, "snapshot child killed by signal %d", WTERMSIG(status));
    else
        say(err, cap, "snapshot child exited with status %d", WEXITSTATUS(status));
}

static void on_sigchld(uv_signal_t *h, int signum)
{
    (void)signum;
    snap_job *j = h->data;
    int status = 0;
    pid_t r;
    while ((r = waitpid(j->pid, &status, WNOHANG)) < 0 && errno == EINTR)
        ;
    if (r == 0)
        return; /* another child's SIGCHLD */
    char err[256] = "";
    bool ok = r == j->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (r < 0)
        say(err, sizeof err, "waiting for the snapshot child: %s", strerror(errno));
    else if (!ok)
        child_failure(j, status, err, sizeof err);
    persist_snapshot_done_fn *done = j->done;
    void *ctx = j->ctx;
    uint64_t index = j->index, term = j->term;
    snap_job_end(j);
    done(ctx, ok, index, term, ok ? NULL : err);
}

int persist_snapshot_fork(uv_loop_t *loop, const char *gdir, uint64_t index, uint64_t term,
                          persist_encode_fn *encode, void *ctx, persist_snapshot_done_fn *done)
{
    if (snap_current)
        return -EBUSY;
    snap_job *j = calloc(1, sizeof *j);
    if (j == NULL || (j->gdir = strdup(gdir)) == NULL) {
        free(j);
        return -ENOMEM;
    }
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        int e = errno;
        free(j->gdir);
        free(j);
        return -e;
    }
    j->rd = p[0];
    j->index = index;
    j->term = term;
    j->done = done;
    j->ctx = ctx;
    int e = uv_signal_init(loop, &j->sig);
    if (e) {
        close(p[0]);
        close(p[1]);
        free(j->gdir);
        free(j);
        return e;
    }
    j->sig.data = j;
    /* Watching before the fork: the child may be done before fork returns. */
    e = uv_signal_start(&j->sig, on_sigchld, SIGCHLD);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = e ? -1 : fork();
    if (pid == 0) {
        close(p[0]);
        snapshot_child(p[1], gdir, index, term, encode, ctx);
    }
    if (pid < 0 && !e)
        e = -errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(p[1]);
    if (pid < 0) {
        snap_job_end(j);
        return e;
    }
    j->pid = pid;
    snap_current = j;
    return 0;
}

bool persist_snapshot_in_progress(void) { return snap_current != NULL; }

int64_t persist_snapshot_child_pid(void) { return snap_current ? snap_current->pid : 0; }

void persist_snapshot_abort(void)
{
    snap_job *j = snap_current;
    if (j == NULL)
        return;
    kill(j->pid, SIGKILL);
    while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    char name[SNAP_NAME_LEN + 1], tmp[NAME_MAX + 1];
    snap_name(name, j->index, j->term);
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", name, (long)j->pid);
    unlink_in(j->gdir, tmp);
    snap_job_end(j);
}

/* ======================================================================== */
/* Compaction and usage                                                     */

int persist_compact(const char *gdir, uint64_t snap_index, char *err, size_t cap)
{
    kbuf snaps = KBUF_INIT, segs = KBUF_INIT;
    int e = list_dir(gdir, is_snap, &snaps);
    if (!e)
        e = list_dir(gdir, is_wal, &segs);
    size_t ns, nw, k = 0;
    const dname *sv = names_of(&snaps, &ns), *wv = names_of(&segs, &nw);
    for (size_t i = 0; i < ns && !e; i++) {
        uint64_t index, term;
        snap_name_parse(sv[i].s, &index, &term);
        if (index < snap_index)
            e = unlink_in(gdir, sv[i].s);
    }
    if (!e)
        k = segments_before(gdir, wv, nw, snap_index);
    for (size_t i = 0; i < k && !e; i++)
        e = unlink_in(gdir, wv[i].s);
    if (!e)
        e = sync_dir(gdir);
    if (e)
        say(err, cap, "compacting %s: %s", gdir, strerror(e));
    kbuf_free(&snaps);
    kbuf_free(&segs);
    return e ? -1 : (int)k;
}

void persist_dir_usage(const char *gdir, uint64_t *wal_bytes, uint64_t *segments,
                       uint64_t *first_index)
{
    kbuf l = KBUF_INIT;
    *wal_bytes = 0;
    *segments = 0;
    *first_index = 0;
    if (list_dir(gdir, is_wal, &l) == 0) {
        size_t n;
        const dname *v = names_of(&l, &n);
        for (size_t i = 0; i < n; i++) {
            char path[PATH_MAX];
            struct stat st;
            if (join(path, gdir, v[i].s) && stat(path, &st) == 0) {
                *wal_bytes += (uint64_t)st.st_size;
                (*segments)++;
            }
        }
        uint64_t seq;
        if (n > 0 && !wal_segment_name_parse(v[0].s, &seq, first_index))
            *first_index = 0;
    }
    kbuf_free(&l);
}

int persist_remove_segments(const char *gdir, size_t *removed)
{
    return remove_matching(gdir, is_wal, removed);
}

bool persist_newest_snapshot(const char *gdir, char *path)
{
    kbuf l = KBUF_INIT;
    size_t n = 0;
    const dname *v = NULL;
    if (list_dir(gdir, is_snap, &l) == 0)
        v = names_of(&l, &n);
    bool found = n > 0 && join(path, gdir, v[n - 1].s);
    kbuf_free(&l);
    return found;
}

const char *const persist_fsync_names[3] = {"always", "everysec", "no"};

int persist_fsync_parse(const char *v, size_t len)
{
    for (int i = 0; i < 3; i++)
        if (len == strlen(persist_fsync_names[i]) &&
            strncasecmp(v, persist_fsync_names[i], len) == 0)
            return i;
    return -1;
}
