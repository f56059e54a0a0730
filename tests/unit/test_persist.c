/* io/persist: the writer thread's files recover to what was written, across
 * segment rollovers and in every fsync mode; ALWAYS syncs before done();
 * injected ENOSPC/EIO fail that batch and every later one; start-up cuts a
 * torn tail (saving the cut bytes), refuses corruption with file and offset
 * (or repairs it when asked), falls back from a bad snapshot, skips the
 * segments an interrupted compaction left; fork snapshots and compaction.
 * Each test works in its own mkdtemp directory and runs a uv loop until the
 * callback it waits for fires (no sleeps). */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "core/util/kbuf.h"
#include "core/wal/snapshot.h"
#include "core/wal/wal.h"
#include "io/persist.h"

#define GROUP 0u
#define ERRCAP 2048
#define MAXSEG 256

/* ------------------------------------------------------------------------ */
/* Directories and files                                                    */

typedef struct tdir {
    char root[64];
    char gdir[96];
} tdir;

static void tdir_make(tdir *t, bool with_gdir)
{
    snprintf(t->root, sizeof t->root, "/tmp/keel-persist-XXXXXX");
    cr_assert_not_null(mkdtemp(t->root));
    snprintf(t->gdir, sizeof t->gdir, "%s/0", t->root);
    if (with_gdir)
        cr_assert_eq(mkdir(t->gdir, 0755), 0);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void tdir_rm(tdir *t)
{
    nftw(t->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void path_of(char *out, const char *gdir, const char *name)
{
    snprintf(out, 512, "%s/%s", gdir, name);
}

static bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
    return (uint64_t)st.st_size;
}

static void read_file(const char *path, kbuf *out)
{
    kbuf_clear(out);
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
    char buf[4096];
    ssize_t r;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        kbuf_append(out, buf, (size_t)r);
    close(fd);
}

static void write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, p, n), (ssize_t)n);
    close(fd);
}

static void flip_byte(const char *path, uint64_t off)
{
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    unsigned char c;
    cr_assert_eq(pread(fd, &c, 1, (off_t)off), 1);
    c ^= 0x40;
    cr_assert_eq(pwrite(fd, &c, 1, (off_t)off), 1);
    close(fd);
}

static int names_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in gdir ending with suffix, sorted (freed with names_free). */
static size_t list_names(const char *gdir, const char *suffix, char **out, size_t max)
{
    DIR *d = opendir(gdir);
    cr_assert_not_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name), m = strlen(suffix);
        if (l < m || strcmp(e->d_name + l - m, suffix) != 0)
            continue;
        cr_assert_lt(n, max);
        out[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(out, n, sizeof *out, names_cmp);
    return n;
}

static void names_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
}

static size_t count_names(const char *gdir, const char *suffix)
{
    char *v[MAXSEG];
    size_t n = list_names(gdir, suffix, v, MAXSEG);
    names_free(v, n);
    return n;
}

/* The headers of the segments in gdir, in name order. */
static size_t read_headers(const char *gdir, wal_segment_header *hs, char **names)
{
    size_t n = list_names(gdir, ".wal", names, MAXSEG);
    kbuf b = KBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        char path[512];
        path_of(path, gdir, names[i]);
        read_file(path, &b);
        cr_assert_eq(wal_segment_header_decode(b.data, b.len, &hs[i]), WAL_R_OK, "%s", names[i]);
    }
    kbuf_free(&b);
    return n;
}

/* ------------------------------------------------------------------------ */
/* Records                                                                  */

/* An entry as written or recovered: its payload by length and hash. */
typedef struct entry {
    uint8_t type;
    uint64_t term, index;
    size_t len;
    uint64_t hash;
} entry;

static uint64_t fnv(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static entry entry_of(const wal_record *r)
{
    entry e = {r->type, r->term, r->index, r->payload_len, fnv(r->payload, r->payload_len)};
    return e;
}

static size_t entries_n(const kbuf *l) { return l->len / sizeof(entry); }
static const entry *entry_at(const kbuf *l, size_t i) { return (const entry *)l->data + i; }

/* got must be the first n entries of want. */
static void assert_entries(const kbuf *got, const kbuf *want, size_t n)
{
    cr_assert_eq(entries_n(got), n, "recovered %zu entries, expected %zu", entries_n(got), n);
    cr_assert_leq(n, entries_n(want));
    for (size_t i = 0; i < n; i++) {
        const entry *a = entry_at(got, i), *b = entry_at(want, i);
        cr_assert(a->type == b->type && a->term == b->term && a->index == b->index &&
                      a->len == b->len && a->hash == b->hash,
                  "entry %zu differs (index %" PRIu64 " vs %" PRIu64 ")", i, a->index, b->index);
    }
}

static void payload_for(uint64_t i, char *out, size_t *len)
{
    *len = (size_t)((i * 7) % 50);
    for (size_t k = 0; k < *len; k++)
        out[k] = (char)(i * 31 + k);
}

/* ------------------------------------------------------------------------ */
/* The writer, driven from a loop                                           */

typedef struct wctx {
    persist_writer *w;
    int calls;
    bool failed;
    char err[512];
    persist_writer_stats at_done; /* the stats when done() ran */
} wctx;

static void on_done(void *ctx, const char *error)
{
    wctx *c = ctx;
    c->calls++;
    c->failed = error != NULL;
    snprintf(c->err, sizeof c->err, "%s", error ? error : "");
    persist_writer_get_stats(c->w, &c->at_done);
}

static void run_until(uv_loop_t *loop, const int *counter, int target)
{
    while (*counter < target) {
        int alive = uv_run(loop, UV_RUN_ONCE);
        cr_assert(alive || *counter >= target, "the loop ran out of handles");
    }
}

static void submit_wait(uv_loop_t *loop, wctx *c, const wal_batch *b)
{
    int before = c->calls;
    persist_writer_submit(c->w, b);
    run_until(loop, &c->calls, before + 1);
}

static persist_writer *writer_open(uv_loop_t *loop, const char *gdir, persist_fsync mode, wctx *c)
{
    memset(c, 0, sizeof *c);
    c->w = persist_writer_new(loop, gdir, mode, on_done, c);
    cr_assert_not_null(c->w);
    return c->w;
}

/* Closes the writer, lets the loop free it, closes the loop. */
static bool writer_close(uv_loop_t *loop, wctx *c, char *err)
{
    bool ok = persist_writer_close(c->w, err, ERRCAP);
    uv_run(loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(loop), 0);
    return ok;
}

static wal_record rec(uint8_t type, uint64_t term, uint64_t index, const char *p, size_t n)
{
    wal_record r;
    memset(&r, 0, sizeof r);
    r.type = type;
    r.group = GROUP;
    r.term = term;
    r.index = index;
    r.payload = p;
    r.payload_len = n;
    return r;
}

static void append(wal_writer *ww, wal_batch *b, wal_record r)
{
    wal_reason why = wal_writer_append(ww, b, &r);
    cr_assert_eq(why, WAL_R_OK, "%s", wal_reason_text(why));
}

/* The term of entry i in the logs build_log writes. */
static uint64_t term_of(uint64_t i, uint64_t entries) { return i > entries / 2 ? 2 : 1; }

/* Writes a log of `entries` entries through a persist_writer (a hard state,
 * entries of term 1, a hard state of term 2 halfway, entries of term 2),
 * per_batch entries a batch; appends the entries to want. Returns the
 * writer's stats at the end. */
static persist_writer_stats build_log(const char *gdir, uint64_t seg_max, uint64_t entries,
                                      uint64_t per_batch, persist_fsync mode, kbuf *want)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    wctx c;
    writer_open(&loop, gdir, mode, &c);
    wal_writer ww;
    wal_writer_init(&ww, GROUP, seg_max, 0x5eed, 1, 0);
    wal_batch b;
    wal_batch_init(&b);
    append(&ww, &b, rec(WAL_HARD_STATE, 1, 1, NULL, 0));
    for (uint64_t i = 1; i <= entries; i++) {
        if (i == entries / 2 + 1)
            append(&ww, &b, rec(WAL_HARD_STATE, 2, 2, NULL, 0));
        char p[64];
        size_t n;
        payload_for(i, p, &n);
        wal_record r = rec(WAL_ENTRY_NORMAL, term_of(i, entries), i, p, n);
        append(&ww, &b, r);
        entry e = entry_of(&r);
        kbuf_append(want, &e, sizeof e);
        if (i % per_batch == 0 || i == entries) {
            submit_wait(&loop, &c, &b);
            cr_assert(!c.failed, "%s", c.err);
            wal_batch_clear(&b);
        }
    }
    persist_writer_stats st;
    persist_writer_get_stats(c.w, &st);
    char err[ERRCAP];
    cr_assert(writer_close(&loop, &c, err), "%s", err);
    wal_batch_free(&b);
    wal_writer_free(&ww);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Recovery, with a loader that checks what it is given                     */

typedef struct rctx {
    kbuf got; /* entry[] */
    uint64_t records;
    int loads;                /* load_snapshot calls */
    uint64_t loaded_index;    /* of the last accepted */
    uint64_t refuse_index;    /* refuse this one (0: none) */
} rctx;

static void collect(void *ctx, const wal_record *r, const wal_visit *v)
{
    (void)v;
    rctx *c = ctx;
    c->records++;
    if (wal_type_is_entry(r->type)) {
        entry e = entry_of(r);
        kbuf_append(&c->got, &e, sizeof e);
    }
}

static const char *load(void *ctx, const void *buf, size_t len)
{
    rctx *c = ctx;
    snap_view v;
    cr_assert_eq(snap_decode(buf, len, &v), SNAP_R_OK, "load was given bytes that do not decode");
    c->loads++;
    if (v.h.index == c->refuse_index)
        return "refused by the test";
    c->loaded_index = v.h.index;
    return NULL;
}

static persist_status recover(const char *gdir, bool repair, rctx *c, wal_recovery *rc,
                              persist_recovered *out, char *err)
{
    kbuf_clear(&c->got);
    c->records = 0;
    wal_recovery_init(rc, GROUP);
    return persist_recover(gdir, GROUP, repair, load, collect, c, rc, out, err, ERRCAP);
}

static void make_snapshot(const char *gdir, uint32_t group, uint64_t index, uint64_t term)
{
    snap_meta m = {group, index, term, "\x90", 1};
    char body[64];
    int n = snprintf(body, sizeof body, "image at %" PRIu64, index);
    kbuf b = KBUF_INIT;
    snap_encode(&b, &m, body, (size_t)n);
    char err[ERRCAP];
    cr_assert(persist_snapshot_write(gdir, index, term, b.data, b.len, err, sizeof err), "%s", err);
    kbuf_free(&b);
}

static void snap_path(char *out, const char *gdir, uint64_t index, uint64_t term)
{
    snprintf(out, 512, "%s/snapshot-%020" PRIu64 "-%020" PRIu64 ".snap", gdir, index, term);
}

/* ======================================================================== */
/* The writer                                                               */

Test(persist, writer_batch_recovers_and_resumes)
{
    tdir t;
    tdir_make(&t, true);
    uv_loop_t loop;
    uv_loop_init(&loop);
    wctx c;
    writer_open(&loop, t.gdir, PERSIST_FSYNC_ALWAYS, &c);
    wal_writer ww;
    wal_writer_init(&ww, GROUP, 1 << 20, 42, 1, 0);
    wal_batch b;
    wal_batch_init(&b);
    kbuf want = KBUF_INIT;
    append(&ww, &b, rec(WAL_HARD_STATE, 3, 2, NULL, 0));
    for (uint64_t i = 1; i <= 30; i++) {
        char p[64];
        size_t n;
        payload_for(i, p, &n);
        wal_record r = rec(i % 4 ? WAL_ENTRY_NORMAL : WAL_ENTRY_CONFIG, 3, i, p, n);
        append(&ww, &b, r);
        entry e = entry_of(&r);
        kbuf_append(&want, &e, sizeof e);
    }
    submit_wait(&loop, &c, &b);
    cr_assert(!c.failed, "%s", c.err);
    cr_assert_eq(c.at_done.batches, 1);
    cr_assert_eq(c.at_done.bytes, b.buf.len);
    cr_assert_eq(c.at_done.segments_created, 1);
    cr_assert_geq(c.at_done.fsyncs, 2, "the new file and its directory are synced");
    cr_assert_gt(c.at_done.last_fsync_ms, 0);
    char err[ERRCAP];
    cr_assert(writer_close(&loop, &c, err), "%s", err);

    char *names[MAXSEG];
    cr_assert_eq(list_names(t.gdir, ".wal", names, MAXSEG), 1);
    char path[512];
    path_of(path, t.gdir, names[0]);
    cr_assert_eq(file_size(path), b.buf.len);

    rctx rx = {0};
    wal_recovery rc;
    persist_recovered out;
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    cr_assert(!out.torn && !out.snapshot);
    cr_assert_eq(out.segments, 1);
    cr_assert_eq(out.records, 31);
    assert_entries(&rx.got, &want, 30);
    cr_assert(rc.log.hs_term == 3 && rc.log.hs_vote == 2);

    /* The resumed writer continues the same file at its end. */
    wal_writer w2;
    cr_assert(wal_writer_resume(&w2, &rc, 1 << 20, 43));
    wal_batch_clear(&b);
    wal_record r = rec(WAL_ENTRY_NORMAL, 3, 31, "more", 4);
    append(&w2, &b, r);
    entry e = entry_of(&r);
    kbuf_append(&want, &e, sizeof e);
    size_t nops;
    const wal_write *ops = wal_batch_ops(&b, &nops);
    cr_assert(nops == 1 && !ops[0].create && ops[0].offset == file_size(path));
    uv_loop_init(&loop);
    writer_open(&loop, t.gdir, PERSIST_FSYNC_ALWAYS, &c);
    submit_wait(&loop, &c, &b);
    cr_assert(!c.failed, "%s", c.err);
    cr_assert_eq(c.at_done.segments_created, 0);
    cr_assert(writer_close(&loop, &c, err), "%s", err);
    wal_recovery_free(&rc);
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    assert_entries(&rx.got, &want, 31);
    cr_assert_eq(count_names(t.gdir, ".wal"), 1);

    names_free(names, 1);
    wal_recovery_free(&rc);
    wal_writer_free(&w2);
    wal_writer_free(&ww);
    wal_batch_free(&b);
    kbuf_free(&want);
    kbuf_free(&rx.got);
    tdir_rm(&t);
}

Test(persist, segment_rollover)
{
    tdir t;
    tdir_make(&t, true);
    kbuf want = KBUF_INIT;
    persist_writer_stats st = build_log(t.gdir, 300, 60, 3, PERSIST_FSYNC_EVERYSEC, &want);
    size_t nseg = count_names(t.gdir, ".wal");
    cr_assert_geq(nseg, 5);
    cr_assert_eq(st.segments_created, nseg);
    cr_assert_eq(st.batches, 20);
    uint64_t bytes, segs, first;
    persist_dir_usage(t.gdir, &bytes, &segs, &first);
    cr_assert_eq(segs, nseg);
    cr_assert_eq(first, 1, "the oldest segment starts the log");
    cr_assert_eq(bytes, st.bytes);
    /* Every new file and its directory were synced. */
    cr_assert_geq(st.fsyncs, 2 * nseg);

    rctx rx = {0};
    wal_recovery rc;
    persist_recovered out;
    char err[ERRCAP];
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    cr_assert_eq(out.segments, nseg);
    assert_entries(&rx.got, &want, 60);
    wal_recovery_free(&rc);
    kbuf_free(&want);
    kbuf_free(&rx.got);
    tdir_rm(&t);
}

/* A batch of one entry after the first (which created the segment). */
typedef struct two {
    uv_loop_t loop;
    wctx c;
    wal_writer ww;
    wal_batch b;
} two;

static void two_begin(two *s, const char *gdir, persist_fsync mode, uint64_t seg_max)
{
    uv_loop_init(&s->loop);
    writer_open(&s->loop, gdir, mode, &s->c);
    wal_writer_init(&s->ww, GROUP, seg_max, 1, 1, 0);
    wal_batch_init(&s->b);
    append(&s->ww, &s->b, rec(WAL_HARD_STATE, 1, 1, NULL, 0));
    append(&s->ww, &s->b, rec(WAL_ENTRY_NORMAL, 1, 1, "first", 5));
    submit_wait(&s->loop, &s->c, &s->b);
    cr_assert(!s->c.failed, "%s", s->c.err);
    wal_batch_clear(&s->b);
    append(&s->ww, &s->b, rec(WAL_ENTRY_NORMAL, 1, 2, "second", 6));
}

static void two_end(two *s)
{
    wal_batch_free(&s->b);
    wal_writer_free(&s->ww);
}

Test(persist, always_syncs_before_done)
{
    tdir t;
    tdir_make(&t, true);
    two s;
    two_begin(&s, t.gdir, PERSIST_FSYNC_ALWAYS, 1 << 20);
    uint64_t before = s.c.at_done.fsyncs;
    submit_wait(&s.loop, &s.c, &s.b);
    cr_assert(!s.c.failed);
    cr_assert_eq(s.c.at_done.fsyncs, before + 1, "done() came before the fdatasync");
    char err[ERRCAP];
    cr_assert(writer_close(&s.loop, &s.c, err), "%s", err);
    two_end(&s);
    tdir_rm(&t);
}

Test(persist, no_mode_does_not_sync_and_switching_to_always_does)
{
    tdir t;
    tdir_make(&t, true);
    two s;
    two_begin(&s, t.gdir, PERSIST_FSYNC_NO, 1 << 20);
    uint64_t before = s.c.at_done.fsyncs;
    submit_wait(&s.loop, &s.c, &s.b);
    cr_assert_eq(s.c.at_done.fsyncs, before);
    /* The unsynced bytes are synced as soon as the mode says always. */
    persist_writer_set_fsync(s.c.w, PERSIST_FSYNC_ALWAYS);
    persist_writer_stats st;
    uint64_t deadline = uv_hrtime() + 10000000000ull;
    do {
        uv_run(&s.loop, UV_RUN_NOWAIT);
        persist_writer_get_stats(s.c.w, &st);
        cr_assert_lt(uv_hrtime(), deadline, "no sync after switching to always");
    } while (st.fsyncs == before);
    cr_assert_eq(st.fsyncs, before + 1);
    char err[ERRCAP];
    cr_assert(writer_close(&s.loop, &s.c, err), "%s", err);
    two_end(&s);
    tdir_rm(&t);
}

Test(persist, the_previous_segment_is_synced_before_the_next_is_created)
{
    tdir t;
    tdir_make(&t, true);
    two s;
    two_begin(&s, t.gdir, PERSIST_FSYNC_NO, 200);
    cr_assert_eq(s.c.at_done.fsyncs, 2, "the new file and its directory");
    submit_wait(&s.loop, &s.c, &s.b);
    cr_assert_eq(s.c.at_done.fsyncs, 2, "no sync in NO mode");
    wal_batch_clear(&s.b);
    static const char big[150];
    append(&s.ww, &s.b, rec(WAL_ENTRY_NORMAL, 1, 3, big, sizeof big));
    size_t n;
    cr_assert(wal_batch_ops(&s.b, &n)[0].create);
    submit_wait(&s.loop, &s.c, &s.b);
    cr_assert(!s.c.failed, "%s", s.c.err);
    cr_assert_eq(s.c.at_done.fsyncs, 5, "the old segment, the new one and the directory");
    cr_assert_eq(s.c.at_done.segments_created, 2);
    char err[ERRCAP];
    cr_assert(writer_close(&s.loop, &s.c, err), "%s", err);
    cr_assert_eq(count_names(t.gdir, ".wal"), 2);
    two_end(&s);
    tdir_rm(&t);
}

typedef struct poll_ctx {
    persist_writer *w;
    uint64_t want_fsyncs;
    int hit;
} poll_ctx;

static void on_poll(uv_timer_t *h)
{
    poll_ctx *p = h->data;
    persist_writer_stats st;
    persist_writer_get_stats(p->w, &st);
    if (st.fsyncs >= p->want_fsyncs) {
        p->hit = 1;
        uv_timer_stop(h);
    }
}

Test(persist, everysec_syncs_a_second_after_the_write)
{
    tdir t;
    tdir_make(&t, true);
    two s;
    two_begin(&s, t.gdir, PERSIST_FSYNC_EVERYSEC, 1 << 20);
    uint64_t before = s.c.at_done.fsyncs;
    uint64_t t0 = uv_hrtime();
    submit_wait(&s.loop, &s.c, &s.b);
    cr_assert_eq(s.c.at_done.fsyncs, before, "everysec acknowledges before syncing");
    /* Watch the stats from the loop until the thread's own sync. */
    uv_timer_t timer;
    poll_ctx p = {s.c.w, before + 1, 0};
    uv_timer_init(&s.loop, &timer);
    timer.data = &p;
    uv_timer_start(&timer, on_poll, 5, 5);
    while (!p.hit) {
        uv_run(&s.loop, UV_RUN_ONCE);
        cr_assert_lt(uv_hrtime() - t0, 10000000000ull, "no sync within 10 s");
    }
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    cr_assert_geq(ms, 990, "synced after %" PRIu64 " ms, before the second was up", ms);
    uv_close((uv_handle_t *)&timer, NULL);
    char err[ERRCAP];
    cr_assert(writer_close(&s.loop, &s.c, err), "%s", err);
    two_end(&s);
    tdir_rm(&t);
}

Test(persist, close_syncs_what_is_unsynced)
{
    /* NO mode: the create costs fsyncs 1 (file) and 2 (directory); the
     * second batch none; so the 3rd, which fails, is the one at close. */
    setenv("KEEL_WAL_FAULT", "eio-fsync:3", 1);
    tdir t;
    tdir_make(&t, true);
    two s;
    two_begin(&s, t.gdir, PERSIST_FSYNC_NO, 1 << 20);
    submit_wait(&s.loop, &s.c, &s.b);
    cr_assert(!s.c.failed, "%s", s.c.err);
    char err[ERRCAP] = "";
    cr_assert(!writer_close(&s.loop, &s.c, err), "close did not sync");
    cr_assert(strstr(err, "fdatasync") && strstr(err, strerror(EIO)), "%s", err);
    two_end(&s);
    tdir_rm(&t);
}

/* ------------------------------------------------------------------------ */
/* Faults                                                                   */

/* Three batches where the first fails as the fault says; all must fail. */
static const char forty[] = "0123456789012345678901234567890123456789";

static void fail_every_batch(const char *fault, const char *what, int e, persist_writer_stats *st,
                             const char *gdir)
{
    setenv("KEEL_WAL_FAULT", fault, 1);
    uv_loop_t loop;
    uv_loop_init(&loop);
    wctx c;
    writer_open(&loop, gdir, PERSIST_FSYNC_ALWAYS, &c);
    wal_writer ww;
    wal_writer_init(&ww, GROUP, 1 << 20, 1, 1, 0);
    wal_batch b;
    wal_batch_init(&b);
    append(&ww, &b, rec(WAL_HARD_STATE, 1, 1, NULL, 0));
    for (uint64_t i = 1; i <= 12; i++)
        append(&ww, &b, rec(WAL_ENTRY_NORMAL, 1, i, forty, sizeof forty - 1));
    submit_wait(&loop, &c, &b);
    cr_assert(c.failed, "%s: the batch did not fail", fault);
    cr_assert(strstr(c.err, what) && strstr(c.err, strerror(e)), "%s: %s", fault, c.err);
    char first[sizeof c.err];
    memcpy(first, c.err, sizeof first);
    for (uint64_t i = 13; i <= 14; i++) {
        wal_batch_clear(&b);
        append(&ww, &b, rec(WAL_ENTRY_NORMAL, 1, i, "x", 1));
        submit_wait(&loop, &c, &b);
        cr_assert(c.failed, "%s: a batch after the failure succeeded", fault);
        cr_assert_str_eq(c.err, first);
    }
    persist_writer_get_stats(c.w, st);
    cr_assert(st->failed);
    cr_assert_eq(st->write_errors, 1);
    cr_assert_eq(st->batches, 0);
    char err[ERRCAP];
    cr_assert(!writer_close(&loop, &c, err));
    cr_assert_str_eq(err, first);
    unsetenv("KEEL_WAL_FAULT");
    wal_batch_free(&b);
    wal_writer_free(&ww);
}

Test(persist, enospc_fails_every_later_batch_and_leaves_a_torn_tail)
{
    tdir t;
    tdir_make(&t, true);
    persist_writer_stats st;
    fail_every_batch("enospc-after:200", "pwrite", ENOSPC, &st, t.gdir);
    char *names[MAXSEG];
    cr_assert_eq(list_names(t.gdir, ".wal", names, MAXSEG), 1);
    char path[512];
    path_of(path, t.gdir, names[0]);
    cr_assert_eq(file_size(path), 200, "the write stopped at the limit");
    /* A full disk leaves a torn tail; start-up cuts it. */
    rctx rx = {0};
    wal_recovery rc;
    persist_recovered out;
    char err[ERRCAP];
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    cr_assert(out.torn);
    cr_assert_eq(out.torn_offset + out.torn_bytes, 200);
    cr_assert_eq(file_size(path), out.torn_offset);
    names_free(names, 1);
    wal_recovery_free(&rc);
    kbuf_free(&rx.got);
    tdir_rm(&t);
}

Test(persist, eio_fsync_fails_every_later_batch)
{
    tdir t;
    tdir_make(&t, true);
    persist_writer_stats st;
    fail_every_batch("eio-fsync:1", "fsync", EIO, &st, t.gdir);
    cr_assert_eq(st.fsyncs, 0);
    tdir_rm(&t);
}

Test(persist, eio_write_fails_every_later_batch)
{
    tdir t;
    tdir_make(&t, true);
    persist_writer_stats st;
    fail_every_batch("eio-write:1", "pwrite", EIO, &st, t.gdir);
    tdir_rm(&t);
}

/* ------------------------------------------------------------------------ */
/* Start-up recovery                                                        */

/* persist_read_file stops at a hole that runs to the end (a preallocated
 * segment's unwritten space) and reads a hole with data after it. */
Test(persist, read_file_stops_at_a_trailing_hole)
{
    tdir t;
    tdir_make(&t, false);
    char path[160];
    snprintf(path, sizeof path, "%s/seg", t.root);
    int fd = open(path, O_CREAT | O_RDWR, 0644);
    cr_assert_geq(fd, 0);
    char a[100];
    memset(a, 'a', sizeof a);
    cr_assert_eq(pwrite(fd, a, sizeof a, 0), (ssize_t)sizeof a);
    size_t size = 1u << 20;
    bool prealloc = fallocate(fd, 0, 0, (off_t)size) == 0;
    cr_assert_eq(fsync(fd), 0);
    off_t hole = lseek(fd, 0, SEEK_HOLE);
    char *data = NULL;
    size_t len = 0;
    cr_assert_eq(persist_read_file(path, &data, &len), 0);
    cr_assert_geq(len, sizeof a);
    cr_assert(memcmp(data, a, sizeof a) == 0);
    for (size_t i = sizeof a; i < len; i++)
        cr_assert_eq(data[i], 0, "byte %zu", i);
    if (prealloc && hole > 0 && (size_t)hole < size)
        cr_assert_eq(len, (size_t)hole, "the unwritten end was read");
    else
        cr_assert_eq(len, prealloc ? size : sizeof a);
    free(data);
    /* Data after the hole: the whole file. */
    cr_assert_eq(pwrite(fd, "b", 1, (off_t)size - 1), 1);
    cr_assert_eq(fsync(fd), 0);
    close(fd);
    cr_assert_eq(persist_read_file(path, &data, &len), 0);
    cr_assert_eq(len, size);
    cr_assert(memcmp(data, a, sizeof a) == 0);
    cr_assert_eq(data[size - 1], 'b');
    free(data);
    tdir_rm(&t);
}

Test(persist, torn_tail_is_cut_and_saved)
{
    tdir t;
    tdir_make(&t, true);
    kbuf want = KBUF_INIT;
    build_log(t.gdir, 400, 40, 1, PERSIST_FSYNC_NO, &want);
    char *names[MAXSEG];
    size_t n = list_names(t.gdir, ".wal", names, MAXSEG);
    cr_assert_geq(n, 2);
    char path[512], saved[600];
    path_of(path, t.gdir, names[n - 1]);
    kbuf orig = KBUF_INIT, b = KBUF_INIT;
    read_file(path, &orig);
    cr_assert_eq(truncate(path, (off_t)orig.len - 5), 0);

    rctx rx = {0};
    wal_recovery rc;
    persist_recovered out;
    char err[ERRCAP];
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    cr_assert(out.torn);
    cr_assert_str_eq(out.torn_file, path);
    cr_assert_eq(out.torn_reason, WAL_R_REC_SHORT);
    uint64_t valid = out.torn_offset;
    cr_assert_lt(valid, orig.len - 5);
    cr_assert_eq(out.torn_bytes, orig.len - 5 - valid);
    cr_assert_eq(file_size(path), valid);
    snprintf(saved, sizeof saved, "%s.torn", path);
    cr_assert_str_eq(out.torn_saved, saved);
    read_file(saved, &b);
    cr_assert_eq(b.len, out.torn_bytes);
    cr_assert(memcmp(b.data, orig.data + valid, b.len) == 0, "the .torn file is not the cut bytes");
    assert_entries(&rx.got, &want, 39);
    /* wal_writer_resume takes it from here. */
    wal_writer ww;
    cr_assert(wal_writer_resume(&ww, &rc, 400, 1));
    cr_assert_eq(ww.log.last, 39);
    wal_writer_free(&ww);
    wal_recovery_free(&rc);

    /* Clean now. */
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    cr_assert(!out.torn);
    assert_entries(&rx.got, &want, 39);
    wal_recovery_free(&rc);

    /* Zeros after the last record (a preallocated segment's unused
     * space): clean, nothing cut. */
    int fd = open(path, O_WRONLY | O_APPEND);
    char tail[100] = {0};
    cr_assert_eq(write(fd, tail, sizeof tail), (ssize_t)sizeof tail);
    close(fd);
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    cr_assert(!out.torn);
    cr_assert_eq(file_size(path), valid + sizeof tail);
    assert_entries(&rx.got, &want, 39);
    wal_recovery_free(&rc);

    /* A torn tail in them next time goes to .torn.1. */
    memset(tail, 0x11, sizeof tail);
    fd = open(path, O_WRONLY);
    cr_assert_eq(pwrite(fd, tail, sizeof tail, (off_t)valid), (ssize_t)sizeof tail);
    close(fd);
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    cr_assert(out.torn);
    cr_assert_eq(out.torn_bytes, sizeof tail);
    snprintf(saved, sizeof saved, "%s.torn.1", path);
    cr_assert_str_eq(out.torn_saved, saved);
    cr_assert_eq(file_size(saved), sizeof tail);
    cr_assert_eq(file_size(path), valid);
    wal_recovery_free(&rc);

    names_free(names, n);
    kbuf_free(&orig);
    kbuf_free(&b);
    kbuf_free(&want);
    kbuf_free(&rx.got);
    tdir_rm(&t);
}

Test(persist, torn_segment_header_removes_the_file)
{
    tdir t;
    tdir_make(&t, true);
    kbuf want = KBUF_INIT;
    build_log(t.gdir, 400, 20, 1, PERSIST_FSYNC_NO, &want);
    char *names[MAXSEG];
    size_t n = list_names(t.gdir, ".wal", names, MAXSEG);
    uint64_t seq, first;
    cr_assert(wal_segment_name_parse(names[n - 1], &seq, &first));
    char name[WAL_NAME_SIZE], path[512];
    wal_segment_name(name, seq + 1, 21);
    path_of(path, t.gdir, name);
    write_file(path, "keel-w", 6); /* created, header half written */
    rctx rx = {0};
    wal_recovery rc;
    persist_recovered out;
    char err[ERRCAP];
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    cr_assert(out.torn && out.torn_offset == 0 && out.torn_bytes == 6);
    cr_assert(!exists(path));
    cr_assert_eq(count_names(t.gdir, ".wal"), n);
    assert_entries(&rx.got, &want, 20);
    names_free(names, n);
    wal_recovery_free(&rc);
    kbuf_free(&want);
    kbuf_free(&rx.got);
    tdir_rm(&t);
}

/* The offset of the second record of a segment file. */
static uint64_t second_record(const kbuf *seg)
{
    const unsigned char *p = (const unsigned char *)seg->data + WAL_SEG_HEADER;
    uint32_t len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                   (uint32_t)p[3] << 24;
    return WAL_SEG_HEADER + len;
}

Test(persist, corruption_fails_naming_file_and_offset_then_repairs)
{
    tdir t;
    tdir_make(&t, true);
    kbuf want = KBUF_INIT;
    build_log(t.gdir, 400, 40, 1, PERSIST_FSYNC_NO, &want);
    char *names[MAXSEG];
    size_t n = list_names(t.gdir, ".wal", names, MAXSEG);
    cr_assert_geq(n, 3);
    char path[512];
    path_of(path, t.gdir, names[1]);
    kbuf seg = KBUF_INIT, b = KBUF_INIT;
    read_file(path, &seg);
    uint64_t at = second_record(&seg);
    cr_assert_lt(at + WAL_REC_MIN, seg.len, "the damaged record is not the last");
    flip_byte(path, at + 20); /* its index field: the checksum fails */
    read_file(path, &seg);

    rctx rx = {0};
    wal_recovery rc;
    persist_recovered out;
    char err[ERRCAP], want_text[600];
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_FAIL);
    snprintf(want_text, sizeof want_text, "%s at offset %" PRIu64 ",", path, at);
    cr_assert(strstr(err, want_text), "%s", err);
    cr_assert(strstr(err, wal_reason_text(WAL_R_REC_BAD_CHECKSUM)), "%s", err);
    cr_assert(strstr(err, "keel-check-wal --fix --force-truncate-corrupt"), "%s", err);
    /* Nothing was touched. */
    cr_assert_eq(count_names(t.gdir, ".wal"), n);
    cr_assert_eq(count_names(t.gdir, ".corrupt"), 0);
    cr_assert_eq(file_size(path), seg.len);
    wal_recovery_free(&rc);

    /* Repair: everything from the damage on saved, later segments gone. */
    cr_assert_eq(recover(t.gdir, true, &rx, &rc, &out, err), PERSIST_RETRY, "%s", err);
    cr_assert(strstr(err, names[1]), "%s", err);
    wal_recovery_free(&rc);
    cr_assert_eq(count_names(t.gdir, ".wal"), 2);
    cr_assert_eq(file_size(path), at);
    char saved[600];
    snprintf(saved, sizeof saved, "%s.corrupt", path);
    read_file(saved, &b);
    cr_assert_eq(b.len, seg.len - at);
    cr_assert(memcmp(b.data, seg.data + at, b.len) == 0);
    cr_assert_eq(count_names(t.gdir, ".corrupt"), n - 1);
    for (size_t i = 2; i < n; i++) {
        path_of(saved, t.gdir, names[i]);
        cr_assert(!exists(saved), "%s was not removed", names[i]);
    }

    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    cr_assert_lt(entries_n(&rx.got), 40);
    cr_assert_gt(entries_n(&rx.got), 0);
    assert_entries(&rx.got, &want, entries_n(&rx.got));
    wal_recovery_free(&rc);

    names_free(names, n);
    kbuf_free(&seg);
    kbuf_free(&b);
    kbuf_free(&want);
    kbuf_free(&rx.got);
    tdir_rm(&t);
}

Test(persist, startup_creates_the_directory_and_removes_temporary_files)
{
    tdir t;
    tdir_make(&t, false);
    rctx rx = {0};
    wal_recovery rc;
    persist_recovered out;
    char err[ERRCAP];
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    cr_assert_eq(out.segments, 0);
    struct stat st;
    cr_assert(stat(t.gdir, &st) == 0 && S_ISDIR(st.st_mode));
    wal_recovery_free(&rc);

    char a[512], b[512], keep[512];
    path_of(a, t.gdir, "snapshot-00000000000000000009-00000000000000000001.snap.123.tmp");
    path_of(b, t.gdir, "x.tmp");
    path_of(keep, t.gdir, "notes.txt");
    write_file(a, "half", 4);
    write_file(b, "half", 4);
    write_file(keep, "mine", 4);
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    cr_assert(!exists(a) && !exists(b) && exists(keep));
    cr_assert(!out.snapshot, "a temporary snapshot file is not a snapshot");
    wal_recovery_free(&rc);
    kbuf_free(&rx.got);
    tdir_rm(&t);
}

/* ------------------------------------------------------------------------ */
/* Snapshots, compaction                                                    */

/* encode's and done's context (one, as for the server's node). */
typedef struct sctx {
    const char *body;
    int calls;
    bool ok;
    uint64_t index, term;
    char err[512];
} sctx;

static void on_snap(void *ctx, bool ok, uint64_t index, uint64_t term, const char *err)
{
    sctx *s = ctx;
    s->calls++;
    s->ok = ok;
    s->index = index;
    s->term = term;
    snprintf(s->err, sizeof s->err, "%s", err ? err : "");
}

static void encode_image(void *ctx, kbuf *out)
{
    const char *body = ((sctx *)ctx)->body;
    snap_meta m = {GROUP, 10, 2, "\x90", 1};
    size_t start = snap_begin(out, &m);
    kbuf_append(out, body, strlen(body));
    snap_finish(out, start);
}

Test(persist, snapshot_fork_writes_a_file_that_decodes)
{
    tdir t;
    tdir_make(&t, true);
    uv_loop_t loop;
    uv_loop_init(&loop);
    const char *body = "the store image";
    sctx s = {.body = body};
    cr_assert_eq(persist_snapshot_fork(&loop, t.gdir, 10, 2, encode_image, &s, on_snap), 0);
    cr_assert(persist_snapshot_in_progress());
    cr_assert_gt(persist_snapshot_child_pid(), 0);
    cr_assert_eq(persist_snapshot_fork(&loop, t.gdir, 10, 2, encode_image, &s, on_snap), -EBUSY);
    run_until(&loop, &s.calls, 1);
    cr_assert(s.ok, "%s", s.err);
    cr_assert(s.index == 10 && s.term == 2);
    cr_assert(!persist_snapshot_in_progress());
    cr_assert_eq(persist_snapshot_child_pid(), 0);

    char path[512];
    snap_path(path, t.gdir, 10, 2);
    kbuf b = KBUF_INIT;
    read_file(path, &b);
    snap_view v;
    cr_assert_eq(snap_decode(b.data, b.len, &v), SNAP_R_OK);
    cr_assert(v.h.index == 10 && v.h.term == 2 && v.h.body_len == strlen(body));
    cr_assert(memcmp(v.body, body, strlen(body)) == 0);
    cr_assert_eq(count_names(t.gdir, ".tmp"), 0);

    /* A child that fails says why. */
    char missing[512];
    path_of(missing, t.root, "no-such-dir");
    cr_assert_eq(persist_snapshot_fork(&loop, missing, 11, 2, encode_image, &s, on_snap), 0);
    run_until(&loop, &s.calls, 2);
    cr_assert(!s.ok);
    cr_assert(strstr(s.err, strerror(ENOENT)), "%s", s.err);

    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(uv_loop_close(&loop), 0);
    kbuf_free(&b);
    tdir_rm(&t);
}

static void encode_forever(void *ctx, kbuf *out)
{
    (void)ctx;
    (void)out;
    for (;;)
        pause(); /* every signal is blocked: only SIGKILL ends it */
}

Test(persist, snapshot_abort_kills_the_child)
{
    tdir t;
    tdir_make(&t, true);
    uv_loop_t loop;
    uv_loop_init(&loop);
    sctx s = {0};
    cr_assert_eq(persist_snapshot_fork(&loop, t.gdir, 10, 2, encode_forever, &s, on_snap), 0);
    pid_t pid = (pid_t)persist_snapshot_child_pid();
    persist_snapshot_abort();
    cr_assert(!persist_snapshot_in_progress());
    cr_assert(kill(pid, 0) != 0 && errno == ESRCH, "the child is still there");
    uv_run(&loop, UV_RUN_DEFAULT);
    cr_assert_eq(s.calls, 0);
    cr_assert_eq(uv_loop_close(&loop), 0);
    tdir_rm(&t);
}

/* A log of many segments and snapshots at 5 and 25 (not 40: the newest). */
static size_t compaction_setup(tdir *t, kbuf *want, wal_segment_header *hs, char **names)
{
    tdir_make(t, true);
    build_log(t->gdir, 300, 40, 2, PERSIST_FSYNC_NO, want);
    make_snapshot(t->gdir, GROUP, 5, term_of(5, 40));
    make_snapshot(t->gdir, GROUP, 25, term_of(25, 40));
    size_t n = read_headers(t->gdir, hs, names);
    cr_assert_geq(n, 5);
    return n;
}

Test(persist, compact_deletes_what_the_snapshot_covers)
{
    tdir t;
    kbuf want = KBUF_INIT;
    wal_segment_header hs[MAXSEG];
    char *names[MAXSEG];
    size_t n = compaction_setup(&t, &want, hs, names);
    size_t k = wal_first_needed(hs, n, 25);
    cr_assert(k > 0 && k < n);

    char err[ERRCAP], path[512];
    cr_assert_eq(persist_compact(t.gdir, 25, err, sizeof err), (int)k, "%s", err);
    for (size_t i = 0; i < n; i++) {
        path_of(path, t.gdir, names[i]);
        cr_assert_eq(exists(path), i >= k, "%s", names[i]);
    }
    snap_path(path, t.gdir, 5, 1);
    cr_assert(!exists(path), "the older snapshot was kept");
    snap_path(path, t.gdir, 25, 2);
    cr_assert(exists(path));
    cr_assert_eq(persist_compact(t.gdir, 25, err, sizeof err), 0);

    /* What is left recovers and continues the snapshot. */
    rctx rx = {0};
    wal_recovery rc;
    persist_recovered out;
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    cr_assert(out.snapshot && out.snap_index == 25 && out.snap_term == 2);
    cr_assert_eq(out.skipped_segments, 0);
    cr_assert_eq(entry_at(&rx.got, 0)->index, hs[k].first_index);
    cr_assert_eq(wal_snapshot_fit(&rc.log, 25, 2), WAL_FIT_CONTINUES);
    wal_recovery_free(&rc);

    /* Never the newest, nor the one before it (the newest may be a
     * creation that never finished), whatever the snapshot covers. */
    cr_assert_geq(n - k, 3);
    cr_assert_eq(persist_compact(t.gdir, 1000, err, sizeof err), (int)(n - k - 2));
    cr_assert_eq(count_names(t.gdir, ".wal"), 2);
    cr_assert(!exists(path), "a snapshot older than the one compacted to was kept");
    names_free(names, n);
    kbuf_free(&want);
    kbuf_free(&rx.got);
    tdir_rm(&t);
}

Test(persist, recovery_skips_segments_before_the_snapshot)
{
    tdir t;
    kbuf want = KBUF_INIT;
    wal_segment_header hs[MAXSEG];
    char *names[MAXSEG];
    size_t n = compaction_setup(&t, &want, hs, names);
    size_t k = wal_first_needed(hs, n, 25);
    cr_assert(k > 0 && k < n);

    rctx rx = {0};
    wal_recovery rc;
    persist_recovered out;
    char err[ERRCAP], path[512];
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    cr_assert(out.snapshot && out.snap_index == 25 && rx.loaded_index == 25 && rx.loads == 1);
    snap_path(path, t.gdir, 25, 2);
    cr_assert_str_eq(out.snap_file, path);
    cr_assert_eq(out.skipped_segments, k);
    cr_assert_eq(out.segments, n - k);
    for (size_t i = 0; i < n; i++) {
        path_of(path, t.gdir, names[i]);
        cr_assert_eq(exists(path), i >= k, "%s", names[i]);
    }
    /* The entries from segment k's first index on, which covers 26. */
    uint64_t from = hs[k].first_index;
    cr_assert_leq(from, 26);
    cr_assert_gt(entries_n(&rx.got), 0);
    cr_assert_eq(entry_at(&rx.got, 0)->index, from);
    cr_assert_eq(entries_n(&rx.got), 40 - from + 1);
    cr_assert_eq(wal_snapshot_fit(&rc.log, 25, 2), WAL_FIT_CONTINUES);
    wal_recovery_free(&rc);
    names_free(names, n);
    kbuf_free(&want);
    kbuf_free(&rx.got);
    tdir_rm(&t);
}

Test(persist, a_bad_newest_snapshot_falls_back_to_an_older_one)
{
    tdir t;
    kbuf want = KBUF_INIT;
    wal_segment_header hs[MAXSEG];
    char *names[MAXSEG];
    size_t n = compaction_setup(&t, &want, hs, names);
    char p25[512], p5[512], err[ERRCAP];
    snap_path(p25, t.gdir, 25, 2);
    snap_path(p5, t.gdir, 5, 1);
    flip_byte(p25, SNAP_HEADER + 3);

    rctx rx = {0};
    wal_recovery rc;
    persist_recovered out;
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    cr_assert(out.snapshot && out.snap_index == 5 && rx.loaded_index == 5);
    cr_assert_eq(rx.loads, 1, "load was given the file that does not decode");
    cr_assert_eq(out.snap_rejected, 1);
    cr_assert(exists(p25), "a rejected snapshot is evidence: kept");
    cr_assert_eq(out.skipped_segments, wal_first_needed(hs, n, 5));
    wal_recovery_free(&rc);

    /* The loader refusing counts the same. */
    make_snapshot(t.gdir, GROUP, 30, 2);
    rx.refuse_index = 30;
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    cr_assert(out.snapshot && out.snap_index == 5 && out.snap_rejected == 2);
    wal_recovery_free(&rc);

    /* A snapshot of another group is not this group's. */
    make_snapshot(t.gdir, 9, 35, 2);
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_OK, "%s", err);
    cr_assert(out.snap_index == 5 && out.snap_rejected == 3);
    wal_recovery_free(&rc);

    /* None loads: fail, naming them. */
    flip_byte(p5, SNAP_HEADER + 3);
    cr_assert_eq(recover(t.gdir, false, &rx, &rc, &out, err), PERSIST_FAIL);
    cr_assert(strstr(err, "snapshot-00000000000000000005-00000000000000000001.snap") &&
                  strstr(err, "snapshot-00000000000000000025-00000000000000000002.snap") &&
                  strstr(err, snap_reason_text(SNAP_R_BAD_CHECKSUM)),
              "%s", err);
    wal_recovery_free(&rc);
    names_free(names, n);
    kbuf_free(&want);
    kbuf_free(&rx.got);
    tdir_rm(&t);
}
