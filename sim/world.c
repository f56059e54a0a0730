/* sim/world: the event loop, the nodes' lives (start from disk, crash,
 * restart), their actions (log writes, snapshots, Raft messages, replies),
 * the digest and the trace. See world.h. */
#include "sim/world.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/raft/msg.h"
#include "core/wal/snapshot.h"
#include "sim/check.h"
#include "sim/client.h"
#include "sim/faults.h"

#define TICK_MS 100               /* hz 10 */
#define SEG_MAX (64u << 10)       /* small segments, so they roll */
#define SNAPSHOT_ENTRIES 200      /* cluster: a snapshot every so many entries */
#define SINGLE_SNAPSHOT_BYTES (24u << 10) /* one node: after so many log bytes */
#define LIVENESS_US ((int64_t)20 * 1000000)      /* after the heal, everything completes within */
#define EVENTS_MAX 200000000ULL           /* a runaway loop is a liveness failure */
#define EPOCH_MS ((int64_t)1700000000000) /* the nodes' clocks start near here */

const char *sim_class_name(sim_class c)
{
    switch (c) {
    case SIM_OK: return "ok";
    case SIM_SAFETY: return "safety";
    case SIM_LINEARIZABILITY: return "linearizability";
    case SIM_LIVENESS: return "liveness";
    case SIM_RECOVERY: return "crash-recovery";
    }
    return "?";
}

int sim_faults_parse(const char *s)
{
    static const struct {
        const char *name;
        int mask;
    } mixes[] = {
        {"none", 0},
        {"net", SIM_F_NET},
        {"crash", SIM_F_CRASH},
        {"disk", SIM_F_DISK},
        {"clock", SIM_F_CLOCK},
        {"member", SIM_F_MEMBER | SIM_F_CRASH},
        {"all", SIM_F_NET | SIM_F_CRASH | SIM_F_DISK | SIM_F_CLOCK | SIM_F_MEMBER | SIM_F_SWARM},
    };
    for (size_t i = 0; i < sizeof(mixes) / sizeof(mixes[0]); i++)
        if (strcmp(s, mixes[i].name) == 0)
            return mixes[i].mask;
    return -1;
}


/* ------------------------------------------------------------------------ */
/* Randomness, trace, failures */

int64_t sim_between(sim_world *w, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int64_t)kprng_below(&w->rng, (uint64_t)(hi - lo) + 1);
}

bool sim_chance(sim_world *w, uint32_t ppm) { return ppm && kprng_below(&w->rng, 1000000) < ppm; }

void sim_trace(sim_world *w, const char *fmt, ...)
{
    if (!w->o.trace)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(w->o.out, "[%4" PRId64 ".%06" PRId64 "] ", w->now / 1000000, w->now % 1000000);
    vfprintf(w->o.out, fmt, ap);
    fputc('\n', w->o.out);
    va_end(ap);
}

void sim_fail(sim_world *w, sim_class c, const char *fmt, ...)
{
    if (w->fail != SIM_OK)
        return;
    w->fail = c;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->why, sizeof(w->why), fmt, ap);
    va_end(ap);
    sim_trace(w, "FAIL (%s): %s", sim_class_name(c), w->why);
}

static void digest(sim_world *w, const void *p, size_t n)
{
    if (n)
        w->digest = XXH3_64bits_withSeed(p, n, w->digest);
}

/* ------------------------------------------------------------------------ */
/* The event queue: a binary heap on (at, seq). */

static bool before(const sim_event *a, const sim_event *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

void sim_push(sim_world *w, const sim_event *ev)
{
    if (w->nheap == w->capheap) {
        w->capheap = w->capheap ? w->capheap * 2 : 1024;
        w->heap = realloc(w->heap, w->capheap * sizeof(*w->heap));
        if (w->heap == NULL)
            abort();
    }
    sim_event e = *ev;
    if (e.at < w->now)
        e.at = w->now;
    e.seq = w->seq++;
    size_t i = w->nheap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&e, &w->heap[parent]))
            break;
        w->heap[i] = w->heap[parent];
        i = parent;
    }
    w->heap[i] = e;
}

static sim_event pop(sim_world *w)
{
    sim_event top = w->heap[0];
    sim_event last = w->heap[--w->nheap];
    size_t i = 0, n = w->nheap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const sim_event *best = &last;
        if (l < n && before(&w->heap[l], best)) {
            m = l;
            best = &w->heap[l];
        }
        if (r < n && before(&w->heap[r], best))
            m = r;
        if (m == i)
            break;
        w->heap[i] = w->heap[m];
        i = m;
    }
    if (n > 0)
        w->heap[i] = last;
    return top;
}

/* ------------------------------------------------------------------------ */
/* Clocks */

int64_t sim_local_ms(const sim_node *sn, int64_t t)
{
    int64_t adj = (int64_t)(((__int128)t * sn->drift_ppm) / 1000000);
    return sn->offset_ms + (t + adj) / 1000;
}

/* The earliest true time >= now at which sn's clock reads local_ms. */
static int64_t true_at(const sim_node *sn, int64_t local_ms, int64_t now)
{
    if (sim_local_ms(sn, now) >= local_ms)
        return now;
    int64_t x = (local_ms - sn->offset_ms) * 1000;
    int64_t t = (int64_t)(((__int128)x * 1000000) / (1000000 + sn->drift_ppm));
    if (t < now)
        t = now;
    while (sim_local_ms(sn, t) < local_ms)
        t++;
    while (t > now && sim_local_ms(sn, t - 1) >= local_ms)
        t--;
    return t;
}

/* ------------------------------------------------------------------------ */
/* Nodes: stepping and actions */

static void arm_deadline(sim_world *w, sim_node *sn)
{
    int64_t d = node_next_deadline(&sn->n);
    if (d == sn->armed_deadline)
        return;
    sn->armed_deadline = d;
    sn->timer_gen++;
    if (d < 0)
        return;
    sim_event ev = {.at = true_at(sn, d, w->now), .kind = SE_TIMER, .node = (int8_t)sn->idx,
                    .peer = -1, .gen = sn->timer_gen, .x = sn->inc};
    sim_push(w, &ev);
}

static void send_peer(sim_world *w, sim_node *sn, rf_id peer, const void *data, size_t len)
{
    if (peer < 1 || peer > (rf_id)w->nnodes || peer == (rf_id)sn->idx + 1)
        return;
    int to = (int)peer - 1;
    sim_node *dst = &w->nodes[to];
    scheck_peer_send(w, sn, data, len);
    int64_t at[2];
    int copies = snet_send(&w->net, &w->rng, sn->idx, to, w->now, at);
    if (!dst->up)
        copies = 0; /* nobody listens: the connection is refused */
    for (int i = 0; i < copies; i++) {
        void *copy = malloc(len ? len : 1);
        if (copy == NULL)
            abort();
        memcpy(copy, data, len);
        sim_event ev = {.at = at[i], .kind = SE_PEER, .node = (int8_t)to, .peer = (int8_t)sn->idx,
                        .gen = dst->inc, .data = copy, .len = len};
        sim_push(w, &ev);
    }
}

static int64_t disk_latency(sim_world *w, int64_t base)
{
    return base + sim_between(w, 0, base);
}

static void start_log_write(sim_world *w, sim_node *sn)
{
    const wal_batch *b = node_log_batch(&sn->n);
    if (b == NULL || sn->writing) {
        sim_fail(w, SIM_SAFETY, "n%d: ACT_LOG_WRITE %s", sn->idx + 1,
                 b == NULL ? "without a batch" : "while one is outstanding");
        return;
    }
    sn->writing = true;
    kbuf_clear(&sn->wbuf);
    kbuf_clear(&sn->wops);
    kbuf_append(&sn->wbuf, b->buf.data, b->buf.len);
    kbuf_append(&sn->wops, b->ops.data, b->ops.len);
    sim_event ev = {.at = w->now + disk_latency(w, w->p.disk_write_us), .kind = SE_LOG_WRITE,
                    .node = (int8_t)sn->idx, .peer = -1, .gen = sn->inc};
    sim_push(w, &ev);
}

static void start_snapshot(sim_world *w, sim_node *sn, const void *data, size_t len,
                           uint64_t index, uint64_t term)
{
    void *copy = malloc(len ? len : 1);
    if (copy == NULL)
        abort();
    memcpy(copy, data, len);
    sn->snap_writing = true;
    int64_t lat = disk_latency(w, w->p.disk_write_us) + 2 * disk_latency(w, w->p.disk_sync_us) +
                  (int64_t)(len / 1024); /* ~1 GB/s */
    sim_event ev = {.at = w->now + lat, .kind = SE_SNAP_SAVE, .node = (int8_t)sn->idx, .peer = -1,
                    .gen = sn->inc, .data = copy, .len = len, .x = index, .y = term};
    sim_push(w, &ev);
}

/* Carries out what the node asked for, until it asks nothing more. */
static void process_actions(sim_world *w, sim_node *sn)
{
    for (;;) {
        size_t n;
        const node_action *a = node_actions(&sn->n, &n);
        if (n == 0)
            return;
        kbuf_clear(&w->scratch);
        for (size_t i = 0; i < n; i++) {
            switch (a[i].type) {
            case ACT_SEND:
            case ACT_CLOSE: {
                kbuf *out = node_output(&sn->n, a[i].conn);
                /* Only its clients' output: a leader's proxies (forwarded
                 * requests) keep theirs until the node sends it back. */
                if (out && out->len && !(a[i].type == ACT_CLOSE && a[i].discard) &&
                    sclient_owns(w, sn, a[i].conn)) {
                    size_t len = out->len;
                    int64_t call;
                    /* A GET's answer ('$': a value or nil) is a read served. */
                    if (w->cluster && out->data[0] == '$' &&
                        sclient_pending_get(w, sn, a[i].conn, &call))
                        scheck_read_served(w, sn, call);
                    sclient_output(w, sn, a[i].conn, out->data, len);
                    node_output_sent(&sn->n, a[i].conn, len);
                }
                if (a[i].type == ACT_CLOSE) {
                    sclient_server_close(w, sn, a[i].conn);
                    kbuf_append(&w->scratch, &a[i].conn, sizeof(conn_id));
                }
                break;
            }
            case ACT_LOG_WRITE:
                start_log_write(w, sn);
                break;
            case ACT_PEER_SEND:
                send_peer(w, sn, a[i].peer, a[i].data, a[i].len);
                break;
            case ACT_SNAPSHOT_SAVE:
                start_snapshot(w, sn, a[i].data, a[i].len, a[i].index, a[i].term);
                break;
            }
        }
        node_actions_clear(&sn->n);
        /* The driver closes what the node asked it to. */
        size_t ncl = w->scratch.len / sizeof(conn_id);
        conn_id closes[64];
        for (size_t i = 0; i < ncl; i += 64) {
            size_t m = ncl - i < 64 ? ncl - i : 64;
            memcpy(closes, w->scratch.data + i * sizeof(conn_id), m * sizeof(conn_id));
            for (size_t j = 0; j < m; j++) {
                node_event ev = {.type = EV_CLIENT_CLOSED, .now_ms = sim_local_ms(sn, w->now),
                                 .conn = closes[j]};
                node_step(&sn->n, &ev);
            }
        }
    }
}

/* One node, after its last change: snapshots of its own when it has no
 * Raft (io/server.c's auto_snapshot). */
static void maybe_snapshot_single(sim_world *w, sim_node *sn)
{
    if (w->cluster || sn->snap_writing || !node_log_enabled(&sn->n))
        return;
    node_log_info li;
    node_log_get_info(&sn->n, &li);
    bool idle = w->p.save_idle_ms && li.bytes_since_snapshot > 0 && node_log_idle(&sn->n) &&
                w->now - sn->snap_started_us >= w->p.save_idle_ms * 1000;
    if (li.failed || li.applying || (li.bytes_since_snapshot < SINGLE_SNAPSHOT_BYTES && !idle))
        return;
    sn->snap_started_us = w->now;
    kbuf b = KBUF_INIT;
    uint64_t index, term;
    node_snapshot_encode(&sn->n, &b, &index, &term);
    sn->snap_log_bytes = li.bytes;
    sim_trace(w, "n%d snapshot of index %" PRIu64 " (%zu bytes) started", sn->idx + 1, index, b.len);
    start_snapshot(w, sn, b.data, b.len, index, term);
    kbuf_free(&b);
}

/* Crashes are most telling right after a node changed its term (it
 * voted, it campaigned, it learned of a new leader): with the seed's
 * probability, one follows soon, and a quick restart. */
static void maybe_hot_crash(sim_world *w, sim_node *sn)
{
    const rf_core *r = node_raft(&sn->n);
    if (r == NULL || r->term == sn->seen_term)
        return;
    sn->seen_term = r->term;
    if (w->healed || !sim_chance(w, w->p.hot_crash_ppm))
        return;
    sim_event ev = {.at = w->now + sim_between(w, 0, 30000), .kind = SE_CRASH,
                    .node = (int8_t)sn->idx, .peer = -1, .gen = sn->inc, .x = 1,
                    .y = (uint64_t)sim_between(w, 10, 300)};
    sim_push(w, &ev);
}

static void after_step(sim_world *w, sim_node *sn)
{
    /* A node that just became leader: the nemeses that react to an
     * election act before its first messages leave. */
    const rf_core *nr = w->cluster ? node_raft(&sn->n) : NULL;
    if (nr && nr->role == RF_LEADER && sn->seen_role != RF_LEADER && sn->seen_role != 0)
        sfault_on_leader(w, sn);
    process_actions(w, sn);
    if (w->cluster) {
        scheck_after_step(w, sn);
        if (w->p.hot_crash_ppm)
            maybe_hot_crash(w, sn);
    }
    arm_deadline(w, sn);
    maybe_snapshot_single(w, sn);
}

void sim_node_after_op(sim_world *w, sim_node *sn) { after_step(w, sn); }

void sim_node_step(sim_world *w, sim_node *sn, node_event *ev)
{
    ev->now_ms = sim_local_ms(sn, w->now);
    node_step(&sn->n, ev);
    after_step(w, sn);
}

int sim_leader(const sim_world *w)
{
    if (!w->cluster)
        return w->nodes[0].up ? 0 : -1;
    int best = -1;
    uint64_t term = 0;
    for (int i = 0; i < w->nnodes; i++) {
        const sim_node *sn = &w->nodes[i];
        const rf_core *r = sn->up ? node_raft(&sn->n) : NULL;
        if (r && r->role == RF_LEADER && (best < 0 || r->term > term)) {
            best = i;
            term = r->term;
        }
    }
    return best;
}

/* ------------------------------------------------------------------------ */
/* The disk: the log writer (io/persist.c's run_batch, in memory) */

static void seg_name(char out[WAL_NAME_SIZE], const wal_write *op)
{
    wal_segment_name(out, op->seq, op->first_index);
}

/* Syncs the segment the writer has open, if any. */
static void sync_open(sim_node *sn)
{
    sdisk_file *f = sn->open_seg[0] ? sdisk_find(&sn->disk, sn->open_seg) : NULL;
    if (f)
        sdisk_sync(&sn->disk, f);
}

static void log_write(sim_world *w, sim_node *sn)
{
    size_t nops = sn->wops.len / sizeof(wal_write);
    const wal_write *ops = (const wal_write *)sn->wops.data;
    digest(w, sn->wbuf.data, sn->wbuf.len);
    sim_trace(w, "n%d log write: %zu ops, %zu bytes", sn->idx + 1, nops, sn->wbuf.len);
    const char *error = sn->disk_error;
    bool sync_fails = false;
    size_t fail_at = nops;
    if (error == NULL && sn->fault_next) {
        int kind = sn->fault_next;
        sn->fault_next = 0;
        if (kind == SIM_DISK_EIO && kprng_below(&w->rng, 2)) {
            sync_fails = true; /* every write goes in; the fsync fails */
        } else {
            fail_at = nops ? (size_t)kprng_below(&w->rng, nops) : 0;
        }
        error = kind == SIM_DISK_EIO ? "Input/output error" : "No space left on device";
        w->disk_errors++;
        sim_trace(w, "n%d disk fault: %s at %s", sn->idx + 1, error,
                  sync_fails ? "fsync" : "write");
    }
    /* Now and then the process is killed in this write (after a prefix of
     * it) or between it and its sync: what was written waits in the page
     * cache for the next start. */
    uint64_t h = sim_hash(w, 0x6b696c6cULL + w->log_writes);
    w->log_writes++;
    bool kill = w->p.kill && !w->healed && error == NULL && h % 128 == 0;
    size_t kill_at = kill && nops && (h & 128) ? (size_t)((h >> 8) % nops) : nops;
    for (size_t i = 0; i < nops && sn->disk_error == NULL; i++) {
        const wal_write *op = &ops[i];
        char name[WAL_NAME_SIZE];
        seg_name(name, op);
        bool opening = op->create || strcmp(name, sn->open_seg) != 0;
        if (opening) {
            /* The previous segment is synced before another is opened. */
            sync_open(sn);
            memcpy(sn->open_seg, name, sizeof(name));
        }
        sdisk_file *f = op->create ? sdisk_create(&sn->disk, name) : sdisk_find(&sn->disk, name);
        if (f == NULL) {
            sim_fail(w, SIM_SAFETY, "n%d: the log %s segment %s, which %s", sn->idx + 1,
                     op->create ? "creates" : "writes to", name,
                     op->create ? "exists already" : "does not exist");
            return;
        }
        const char *p = sn->wbuf.data + op->buf_off;
        if (i == fail_at) {
            /* Part of this write goes in, then the error. */
            size_t part = op->len ? (size_t)kprng_below(&w->rng, op->len) : 0;
            sdisk_write(&sn->disk, f, op->offset, p, part);
            break;
        }
        if (i == kill_at) {
            sdisk_write(&sn->disk, f, op->offset, p, op->len ? (size_t)((h >> 32) % op->len) : 0);
            break;
        }
        sdisk_write(&sn->disk, f, op->offset, p, op->len);
        if (opening && w->p.prealloc && f->data.len < SEG_MAX) {
            /* io/persist.c's preallocate(): zeros to the segment size,
             * durable with the creation's sync (or the next one). Queued
             * after the write, so that a tear can keep a prefix of that
             * write (its header alone, say) with or without the zeros. */
            static const char zeros[SEG_MAX];
            sdisk_write(&sn->disk, f, f->data.len, zeros, SEG_MAX - f->data.len);
        }
        if (op->create)
            sdisk_sync(&sn->disk, f); /* a new file and its directory entry */
    }
    if (kill) {
        sim_node_kill(w, sn, kill_at < nops ? "fault: in a log write" : "fault: before a sync");
        sim_event r = {.at = w->now + sim_between(w, 50, w->p.down_ms_max) * 1000,
                       .kind = SE_RESTART, .node = (int8_t)sn->idx, .peer = -1, .gen = sn->inc};
        sim_push(w, &r);
        return;
    }
    if (fail_at < nops || sync_fails)
        sn->disk_error = error;
    int64_t stall = 0;
    if (sn->stall_batches > 0) {
        sn->stall_batches--;
        stall = sn->stall_us;
        sim_trace(w, "n%d disk stall: this sync takes %" PRId64 "ms longer", sn->idx + 1,
                  stall / 1000);
    }
    int64_t lat = sn->disk_error ? 0 : disk_latency(w, w->p.disk_sync_us) + stall;
    sim_event ev = {.at = w->now + lat,
                    .kind = SE_LOG_SYNC, .node = (int8_t)sn->idx, .peer = -1, .gen = sn->inc,
                    .x = sn->disk_error != NULL};
    sim_push(w, &ev);
}

static void schedule_operator_restart(sim_world *w, sim_node *sn)
{
    if (sn->restart_queued || w->healed)
        return;
    sn->restart_queued = true;
    sim_event ev = {.at = w->now + sim_between(w, 200, 3000) * 1000, .kind = SE_CRASH,
                    .node = (int8_t)sn->idx, .peer = -1, .gen = sn->inc};
    sim_push(w, &ev);
}

static void log_sync(sim_world *w, sim_node *sn, bool failed)
{
    if (!failed)
        sync_open(sn);
    sn->writing = false;
    node_event ev = {.type = EV_LOG_DONE, .log_error = failed ? sn->disk_error : NULL};
    sim_node_step(w, sn, &ev);
    if (failed)
        schedule_operator_restart(w, sn);
}

/* The headers of the segments, in name order, as far as they decode
 * (io/persist.c's segments_before): how many a snapshot at snap_index
 * makes unneeded. */
static size_t segments_before(sim_node *sn, uint64_t snap_index)
{
    sdisk *d = &sn->disk;
    wal_segment_header hs[256];
    size_t k = 0;
    while (k < d->nfiles && k < 256 &&
           wal_segment_header_decode(d->files[k].data.data, d->files[k].data.len, &hs[k]) ==
               WAL_R_OK)
        k++;
    size_t first = wal_first_needed(hs, k, snap_index);
    return first == k ? 0 : first;
}

static void remove_first(sim_node *sn, size_t k)
{
    for (size_t i = 0; i < k; i++)
        sdisk_remove(&sn->disk, sn->disk.files[0].name);
}

static void snap_save(sim_world *w, sim_node *sn, const sim_event *e)
{
    sn->snap_writing = false;
    const char *error = sn->disk_error;
    if (error == NULL) {
        sdisk_snapshot_put(&sn->disk, e->data, e->len, e->x, e->y);
        size_t k = segments_before(sn, e->x);
        remove_first(sn, k);
        sim_trace(w, "n%d snapshot of index %" PRIu64 " term %" PRIu64 " durable (%zu bytes); %zu segments compacted",
                  sn->idx + 1, e->x, e->y, e->len, k);
    }
    if (w->cluster) {
        node_event ev = {.type = EV_SNAPSHOT_SAVED, .log_error = error};
        sim_node_step(w, sn, &ev);
    } else if (error == NULL) {
        /* As io/server.c: a snapshot of the whole log, nothing pending,
         * leaves no segment worth keeping. */
        if (node_snapshot_done(&sn->n, e->x, e->y, sn->snap_log_bytes, sim_local_ms(sn, w->now))) {
            sim_trace(w, "n%d snapshot covers the whole log: %zu segments removed", sn->idx + 1,
                      sn->disk.nfiles);
            remove_first(sn, sn->disk.nfiles);
        }
        after_step(w, sn);
    }
}

/* ------------------------------------------------------------------------ */
/* Start-up from disk (io/persist.c's persist_recover, in memory) */

typedef enum boot_result { BOOT_OK, BOOT_CORRUPT, BOOT_FAIL } boot_result;

static boot_result boot(sim_world *w, sim_node *sn, char *err, size_t cap)
{
    int64_t now_ms = sim_local_ms(sn, w->now);
    node_init(&sn->n, kprng_next(&w->rng), now_ms, NULL);
    sn->n.eng.cfg.hz = 1000 / TICK_MS;
    sdisk *d = &sn->disk;
    bool have_snap = false;
    if (d->has_snap) {
        snap_view v;
        snap_reason r = snap_decode(d->snap.data, d->snap.len, &v);
        const char *why = NULL;
        if (r != SNAP_R_OK)
            why = snap_reason_text(r);
        else if (v.h.group != 0)
            why = "snapshot of another group";
        else if (v.h.index != d->snap_index || v.h.term != d->snap_term)
            why = "file name does not match the snapshot header";
        else
            why = node_snapshot_load(&sn->n, d->snap.data, d->snap.len);
        if (why) {
            snprintf(err, cap, "snapshot refused: %s", why);
            node_free(&sn->n);
            return BOOT_CORRUPT;
        }
        have_snap = true;
    }
    if (have_snap)
        remove_first(sn, segments_before(sn, d->snap_index));
    /* io/persist.c syncs each segment before it reads it: after a process
     * kill its last writes may be in the page cache only, and what
     * start-up replays (and reports durable) must survive a power cut. */
    if (!(w->o.bugs & SIM_BUG_NO_STARTUP_SYNC))
        for (size_t i = 0; i < d->nfiles; i++)
            sdisk_sync(d, &d->files[i]);
    wal_recovery rc;
    wal_recovery_init(&rc, 0);
    wal_record_fn *cb = w->cluster ? node_cluster_replay : node_log_replay;
    wal_status st = WAL_OK;
    size_t nseg = d->nfiles;
    for (size_t i = 0; i < nseg && st == WAL_OK; i++) {
        sdisk_file *f = &d->files[i];
        st = wal_recovery_segment(&rc, f->name, f->data.data, f->data.len, i + 1 == nseg, cb,
                                  &sn->n);
    }
    if (st == WAL_CORRUPT) {
        const wal_result *r = &rc.res;
        snprintf(err, cap, "WAL corrupt in %s at offset %" PRIu64 ": %s (%s)",
                 r->segment < nseg ? d->files[r->segment].name : "?", r->offset,
                 wal_reason_text(r->reason), wal_reason_name(r->reason));
        wal_recovery_free(&rc);
        node_free(&sn->n);
        return BOOT_CORRUPT;
    }
    if (st == WAL_TORN_TAIL) {
        const wal_result *r = &rc.res;
        char name[SDISK_NAME_MAX];
        snprintf(name, sizeof(name), "%s", d->files[r->segment].name);
        sim_trace(w, "n%d recovery: torn tail of %s cut at %" PRIu64 " (%s)", sn->idx + 1, name,
                  r->valid_len, wal_reason_text(r->reason));
        sdisk_truncate(d, name, r->valid_len);
        w->torn++;
    }
    node_log_opts lo;
    node_log_opts_default(&lo);
    lo.seg_max = SEG_MAX;
    lo.salt_seed = kprng_next(&w->rng);
    bool ok;
    if (w->cluster) {
        node_cluster_opts co;
        memset(&co, 0, sizeof(co));
        rf_options_default(&co.raft);
        co.raft.id = (rf_id)sn->idx + 1;
        co.raft.seed = kprng_next(&w->rng);
        co.raft.election_ms = 1000;
        co.raft.heartbeat_ms = 100;
        co.raft.max_drift_ms = 100;
        co.raft.bugs = w->o.bugs & ((1ull << RF_BUG_COUNT) - 1);
        /* The founders start with the founding membership (also after a
         * crash, from their own disk); a node whose disk was wiped starts
         * as a new one and learns the membership from the leader. */
        if (!sn->joiner) {
            co.bootstrap.nvoters = (uint32_t)w->nnodes;
            for (int i = 0; i < w->nnodes; i++)
                co.bootstrap.voters[i] = (rf_id)i + 1;
        }
        co.snapshot_entries = SNAPSHOT_ENTRIES;
        co.lease_reads = w->p.lease_reads;
        co.forward = w->p.forward;
        co.data_seed = w->o.seed * 0x9e3779b97f4a7c15ULL ^ 0x67726f7570ULL; /* the group's */
        ok = node_cluster_start(&sn->n, &rc, &lo, &co, err, cap);
    } else {
        ok = node_log_start(&sn->n, &rc, &lo, err, cap);
    }
    wal_recovery_free(&rc);
    if (!ok) {
        node_free(&sn->n);
        return BOOT_FAIL;
    }
    return BOOT_OK;
}

/* Where a bit flip may go so that recovery must notice it: the snapshot,
 * or a byte of a segment recovery reads, but not the newest segment's last
 * valid record or what follows it (damage there is a torn tail by the
 * format's rules). */
typedef struct flip_target {
    int file; /* -1: the snapshot */
    uint64_t limit;
} flip_target;

/* Where the flip went: the snapshot, or a segment by name (start-up may
 * remove segments before it, which moves the others in the list). */
typedef struct flip_at {
    bool snap;
    char name[SDISK_NAME_MAX];
    uint64_t offset;
    unsigned bit;
} flip_at;

typedef struct last_rec {
    uint64_t offset;
    bool any;
} last_rec;

static void note_record(void *ctx, const wal_record *r, const wal_visit *v)
{
    (void)r;
    last_rec *l = ctx;
    l->offset = v->offset;
    l->any = true;
}

static bool flip_bit(sim_world *w, sim_node *sn, char *desc, size_t cap, flip_at *at)
{
    sdisk *d = &sn->disk;
    flip_target t[257];
    int nt = 0;
    if (d->has_snap && d->snap.len > 0)
        t[nt++] = (flip_target){-1, d->snap.len};
    size_t from = d->has_snap ? segments_before(sn, d->snap_index) : 0;
    for (size_t i = from; i < d->nfiles && nt < 257; i++) {
        uint64_t limit = d->files[i].durable.len;
        if (i + 1 == d->nfiles) {
            last_rec l = {0, false};
            wal_result res;
            wal_scan(d->files[i].durable.data, d->files[i].durable.len, true, note_record, &l, &res);
            limit = l.any ? l.offset : 0;
        }
        if (limit > 0)
            t[nt++] = (flip_target){(int)i, limit};
    }
    if (nt == 0)
        return false;
    flip_target *c = &t[kprng_below(&w->rng, (uint64_t)nt)];
    memset(at, 0, sizeof(*at));
    at->snap = c->file < 0;
    at->offset = kprng_below(&w->rng, c->limit);
    at->bit = (unsigned)kprng_below(&w->rng, 8);
    if (at->snap) {
        d->snap.data[at->offset] ^= (char)(1u << at->bit);
        snprintf(desc, cap, "snapshot byte %" PRIu64 " bit %u", at->offset, at->bit);
    } else {
        snprintf(at->name, sizeof(at->name), "%s", d->files[c->file].name);
        sdisk_flip(&d->files[c->file], at->offset, at->bit);
        snprintf(desc, cap, "%s byte %" PRIu64 " bit %u", at->name, at->offset, at->bit);
    }
    return true;
}

/* The operator restores the damaged file from a replica. */
static void unflip(sim_node *sn, const flip_at *at)
{
    if (at->snap) {
        sn->disk.snap.data[at->offset] ^= (char)(1u << at->bit);
        return;
    }
    sdisk_file *f = sdisk_find(&sn->disk, at->name);
    if (f && at->offset < f->durable.len)
        sdisk_flip(f, at->offset, at->bit);
}

static void schedule_tick(sim_world *w, sim_node *sn)
{
    sim_event ev = {.at = true_at(sn, sn->tick_local_ms, w->now), .kind = SE_TICK,
                    .node = (int8_t)sn->idx, .peer = -1, .gen = sn->inc};
    sim_push(w, &ev);
}

/* Starts sn from its disk; false (and a failure recorded) if it cannot. */
static bool start_node(sim_world *w, sim_node *sn)
{
    char err[1024] = "", desc[160] = "";
    flip_at at;
    /* Not after a kill: a flip is of durable bytes, and the unsynced
     * writes over them would make the two images disagree. */
    bool flipped = w->p.disk && !w->healed && sim_chance(w, w->p.flip_ppm) && !sn->killed &&
                   flip_bit(w, sn, desc, sizeof(desc), &at);
    if (flipped) {
        w->flips++;
        sim_trace(w, "n%d disk fault: bit flip in %s", sn->idx + 1, desc);
    }
    boot_result b = boot(w, sn, err, sizeof(err));
    if (flipped) {
        if (b == BOOT_OK) {
            sim_fail(w, SIM_RECOVERY, "n%d started although its disk had a bit flipped (%s)",
                     sn->idx + 1, desc);
            node_free(&sn->n);
            return false;
        }
        w->flips_caught++;
        sim_trace(w, "n%d refused to start: %s; the operator restores the file", sn->idx + 1, err);
        unflip(sn, &at);
        b = boot(w, sn, err, sizeof(err));
    }
    if (b != BOOT_OK) {
        sim_fail(w, SIM_RECOVERY, "n%d cannot start from a crash-consistent disk: %s", sn->idx + 1,
                 err);
        return false;
    }
    sn->up = true;
    if (sn->killed && w->p.kill && !w->healed && (sim_hash(w, 2 * w->restarts + 1) & 1)) {
        /* A power cut soon after a killed process came back (a host going
         * down in a crash loop): what start-up replayed, and the node
         * reported durable since, must have been made so. */
        int64_t ms = 1 + (int64_t)(sim_hash(w, 2 * w->restarts + 2) % 50);
        sim_event ev = {.at = w->now + ms * 1000, .kind = SE_CRASH, .node = (int8_t)sn->idx,
                        .peer = -1, .gen = sn->inc, .x = 2};
        sim_push(w, &ev);
        sim_trace(w, "n%d: a power cut is due in %" PRId64 "ms", sn->idx + 1, ms);
    }
    sn->killed = false;
    sn->paused = false;
    sn->writing = false;
    sn->snap_writing = false;
    sn->open_seg[0] = '\0';
    sn->disk_error = NULL;
    sn->restart_queued = false;
    sn->armed_deadline = -1;
    sn->tick_local_ms = sim_local_ms(sn, w->now) + sim_between(w, 1, TICK_MS);
    const rf_core *r = w->cluster ? node_raft(&sn->n) : NULL;
    sn->seen_term = r ? r->term : 0;
    schedule_tick(w, sn);
    scheck_node_started(w, sn);
    after_step(w, sn);
    return true;
}

/* The process stops; a power cut (!kill) also loses the unsynced writes. */
static void node_down(sim_world *w, sim_node *sn, const char *why, bool kill)
{
    if (!sn->up)
        return;
    bool tear = !kill && w->p.disk && sim_chance(w, w->p.tear_ppm);
    uint64_t pending = 0;
    for (size_t i = 0; i < sn->disk.npend; i++)
        pending += sn->disk.pend[i].len;
    scheck_node_crashing(w, sn);
    node_free(&sn->n);
    sn->up = false;
    sn->paused = false;
    sn->inc++;
    sn->timer_gen++;
    sn->writing = false;
    sn->snap_writing = false;
    sn->fault_next = 0;
    sn->restart_queued = false;
    sn->stall_batches = 0;
    sn->crashes++;
    w->crashes++;
    sn->killed = kill;
    if (kill) {
        w->kills++;
        sim_trace(w, "n%d killed (%s): %" PRIu64 " unsynced bytes stay in the page cache",
                  sn->idx + 1, why, pending);
    } else {
        uint64_t kept = sdisk_crash(&sn->disk, &w->rng, tear);
        sim_trace(w,
                  "n%d crash (%s): %" PRIu64 " unsynced bytes lost%s, %" PRIu64
                  " reached the disk",
                  sn->idx + 1, why, pending - kept, tear ? " (torn)" : "", kept);
    }
    sclient_node_crashed(w, sn);
}

void sim_node_crash(sim_world *w, sim_node *sn, const char *why) { node_down(w, sn, why, false); }

_Static_assert(RF_BUG_COUNT < 48, "SIM_BUG_* would overlap Raft's bugs");

uint64_t sim_hash(const sim_world *w, uint64_t x)
{
    uint64_t q = w->o.seed ^ (x * 0x9e3779b97f4a7c15ULL) ^ 0x6b696c6c2d6b6565ULL;
    q = (q ^ (q >> 30)) * 0xbf58476d1ce4e5b9ULL;
    q = (q ^ (q >> 27)) * 0x94d049bb133111ebULL;
    return q ^ (q >> 31);
}

void sim_node_kill(sim_world *w, sim_node *sn, const char *why) { node_down(w, sn, why, true); }

void sim_node_wipe(sim_world *w, sim_node *sn)
{
    if (sn->up)
        return;
    sdisk_free(&sn->disk);
    sdisk_init(&sn->disk);
    sn->killed = false;
    sn->joiner = true;
    sn->open_seg[0] = '\0';
    /* Nothing it had is expected back (check 4). */
    sn->crashed_known = sn->crash_hs_known = false;
    w->wipes++;
    sim_trace(w, "n%d disk wiped: it comes back as a new node", sn->idx + 1);
}

void sim_node_restart(sim_world *w, sim_node *sn)
{
    if (sn->up)
        return;
    sim_trace(w, "n%d restart", sn->idx + 1);
    if (start_node(w, sn)) {
        sn->restarts++;
        w->restarts++;
    }
}

/* ------------------------------------------------------------------------ */
/* The loop */

static const char *const kind_names[SE_KIND_MAX] = {
    [SE_TICK] = "TICK",         [SE_TIMER] = "TIMER",       [SE_PEER] = "PEER",
    [SE_CLIENT_DATA] = "REQUEST", [SE_LOG_WRITE] = "LOG_WRITE", [SE_LOG_SYNC] = "LOG_SYNC",
    [SE_SNAP_SAVE] = "SNAP_SAVE", [SE_REPLY] = "REPLY",     [SE_CLOSED] = "CLOSED",
    [SE_CLIENT_WAKE] = "WAKE",  [SE_FAULT] = "FAULT",       [SE_RESTART] = "RESTART",
    [SE_UNPAUSE] = "UNPAUSE",   [SE_CRASH] = "CRASH",       [SE_HEAL] = "HEAL",
    [SE_OPER] = "OPERATOR",     [SE_NEMESIS] = "NEMESIS",
};

static bool node_bound(uint8_t k)
{
    return k == SE_TICK || k == SE_TIMER || k == SE_PEER || k == SE_CLIENT_DATA ||
           k == SE_LOG_WRITE || k == SE_LOG_SYNC || k == SE_SNAP_SAVE;
}


static void trace_event(sim_world *w, const sim_event *e)
{
    if (!w->o.trace)
        return;
    const char *name = e->kind < SE_KIND_MAX && kind_names[e->kind] ? kind_names[e->kind] : "?";
    switch (e->kind) {
    case SE_PEER: {
        int t = rf_msg_peek_type(e->data, e->len);
        rf_msg m;
        kbuf sc = KBUF_INIT;
        char info[160] = "";
        if (rf_msg_decode(&m, e->data, e->len, &sc) == NULL) {
            switch (m.type) {
            case RF_MSG_APPEND:
                snprintf(info, sizeof(info), " term=%" PRIu64 " prev=%" PRIu64 "/%" PRIu64
                         " entries=%u commit=%" PRIu64,
                         m.term, m.prev_index, m.prev_term, m.nentries, m.commit);
                break;
            case RF_MSG_APPEND_RESP:
                snprintf(info, sizeof(info), " term=%" PRIu64 " index=%" PRIu64 "%s hint=%" PRIu64
                         "/%" PRIu64, m.term, m.index, m.reject ? " reject" : "", m.hint_index,
                         m.hint_term);
                break;
            case RF_MSG_HEARTBEAT:
                snprintf(info, sizeof(info), " term=%" PRIu64 " commit=%" PRIu64, m.term, m.commit);
                break;
            case RF_MSG_SNAPSHOT:
                snprintf(info, sizeof(info), " term=%" PRIu64 " snap=%" PRIu64 "/%" PRIu64
                         " offset=%" PRIu64 "/%" PRIu64 "%s", m.term, m.snap_index, m.snap_term,
                         m.offset, m.total, m.done ? " done" : "");
                break;
            case RF_MSG_SNAPSHOT_RESP:
                snprintf(info, sizeof(info), " term=%" PRIu64 " snap=%" PRIu64 " offset=%" PRIu64
                         " index=%" PRIu64 "%s%s", m.term, m.snap_index, m.offset, m.index,
                         m.reject ? " reject" : "", m.done ? " done" : "");
                break;
            case RF_MSG_PREVOTE:
            case RF_MSG_VOTE:
                snprintf(info, sizeof(info), " term=%" PRIu64 " last=%" PRIu64 "/%" PRIu64 "%s",
                         m.term, m.last_index, m.last_term, m.transfer ? " transfer" : "");
                break;
            default:
                snprintf(info, sizeof(info), " term=%" PRIu64 "%s", m.term,
                         m.reject ? " reject" : "");
            }
        }
        kbuf_free(&sc);
        sim_trace(w, "n%d %s from n%d %s len=%zu%s", e->node + 1, name, e->peer + 1,
                  t > 0 && t <= RF_MSG_TYPE_MAX ? rf_msg_type_name((rf_msg_type)t) : "?", e->len,
                  info);
        break;
    }
    case SE_CLIENT_DATA:
    case SE_REPLY:
        sim_trace(w, "%s%d %s c%u len=%zu", e->kind == SE_REPLY ? "c" : "n",
                  e->kind == SE_REPLY ? (int)e->client : e->node + 1, name, e->client, e->len);
        break;
    case SE_CLIENT_WAKE:
    case SE_CLOSED:
        sim_trace(w, "c%u %s", e->client, name);
        break;
    default:
        if (e->node >= 0)
            sim_trace(w, "n%d %s", e->node + 1, name);
        else
            sim_trace(w, "%s", name);
    }
}

static void hash_event(sim_world *w, const sim_event *e)
{
    uint64_t h[4] = {(uint64_t)e->at,
                     (uint64_t)e->kind | (uint64_t)(uint8_t)e->node << 8 |
                         (uint64_t)(uint8_t)e->peer << 16 | (uint64_t)e->client << 32,
                     (uint64_t)e->len, e->x};
    digest(w, h, sizeof(h));
    digest(w, e->data, e->len);
}

/* A node event for a node that is gone (crashed since) is dropped. */
static sim_node *live_node(sim_world *w, const sim_event *e, uint64_t inc)
{
    sim_node *sn = &w->nodes[e->node];
    return sn->up && sn->inc == inc ? sn : NULL;
}

static void dispatch(sim_world *w, sim_event *e)
{
    sim_node *sn = NULL;
    switch (e->kind) {
    case SE_TICK:
        if ((sn = live_node(w, e, e->gen)) != NULL) {
            node_event ev = {.type = EV_TICK};
            sim_node_step(w, sn, &ev);
            if (sn->up && sn->inc == e->gen) {
                sn->tick_local_ms += TICK_MS;
                schedule_tick(w, sn);
            }
        }
        break;
    case SE_TIMER:
        if ((sn = live_node(w, e, e->x)) != NULL && e->gen == sn->timer_gen) {
            int64_t fired = sn->armed_deadline;
            sn->armed_deadline = -1;
            node_event ev = {.type = EV_TIMER};
            sim_node_step(w, sn, &ev);
            /* A deadline the step did not move: ask again a little later
             * rather than spin at one instant. */
            if (sn->up && sn->armed_deadline == fired && fired >= 0) {
                sn->armed_deadline = -1;
                sn->timer_gen++;
                sim_event t = {.at = true_at(sn, sim_local_ms(sn, w->now) + 1, w->now),
                               .kind = SE_TIMER, .node = e->node, .peer = -1,
                               .gen = sn->timer_gen, .x = sn->inc};
                sn->armed_deadline = fired;
                sim_push(w, &t);
            }
        }
        break;
    case SE_PEER:
        /* A link cut while the message was on its way drops it. */
        if (w->net.down[e->peer][e->node]) {
            w->net.cut++;
            break;
        }
        if ((sn = live_node(w, e, e->gen)) != NULL) {
            node_event ev = {.type = EV_PEER_DATA, .peer = (rf_id)e->peer + 1, .data = e->data,
                             .len = e->len};
            sim_node_step(w, sn, &ev);
        }
        break;
    case SE_CLIENT_DATA:
        if ((sn = live_node(w, e, e->gen)) != NULL && node_client(&sn->n, e->conn) != NULL) {
            size_t avail;
            char *p = node_read_buffer(&sn->n, e->conn, e->len, &avail);
            if (p && avail >= e->len) {
                memcpy(p, e->data, e->len);
                node_event ev = {.type = EV_CLIENT_DATA, .conn = e->conn, .nread = e->len};
                sim_node_step(w, sn, &ev);
            }
        }
        break;
    case SE_LOG_WRITE:
        if ((sn = live_node(w, e, e->gen)) != NULL && sn->writing)
            log_write(w, sn);
        break;
    case SE_LOG_SYNC:
        if ((sn = live_node(w, e, e->gen)) != NULL && sn->writing)
            log_sync(w, sn, e->x != 0);
        break;
    case SE_SNAP_SAVE:
        if ((sn = live_node(w, e, e->gen)) != NULL)
            snap_save(w, sn, e);
        break;
    case SE_REPLY:
        sclient_reply(w, e);
        break;
    case SE_CLOSED:
        sclient_closed(w, e);
        break;
    case SE_CLIENT_WAKE:
        sclient_wake(w, e);
        break;
    case SE_FAULT:
        sfault_tick(w);
        break;
    case SE_RESTART:
        sn = &w->nodes[e->node];
        if (!sn->up && sn->inc == e->gen)
            sim_node_restart(w, sn);
        break;
    case SE_UNPAUSE:
        sn = &w->nodes[e->node];
        if (sn->inc == e->gen && sn->paused && sn->pause_until <= w->now) {
            sn->paused = false;
            sim_trace(w, "n%d resumes", e->node + 1);
        }
        break;
    case SE_CRASH:
        if ((sn = live_node(w, e, e->gen)) != NULL && !(e->x && w->healed)) {
            sim_node_crash(w, sn,
                           e->x == 2   ? "fault: a power cut after a restart from a kill"
                           : e->x == 1 ? "fault: at a term change"
                                       : "operator: the disk failed");
            int64_t ms = e->y ? (int64_t)e->y : sim_between(w, 100, 1000);
            sim_event r = {.at = w->now + ms * 1000, .kind = SE_RESTART, .node = e->node,
                           .peer = -1, .gen = sn->inc};
            sim_push(w, &r);
        }
        break;
    case SE_OPER:
        sfault_oper(w);
        break;
    case SE_NEMESIS:
        sfault_nemesis(w, e);
        break;
    case SE_HEAL:
        if (!w->healed) {
            sfault_heal(w);
            w->deadline_at = w->now + LIVENESS_US;
        }
        break;
    }
}

static void describe_nodes(sim_world *w, char *out, size_t cap)
{
    size_t len = 0;
    for (int i = 0; i < w->nnodes; i++) {
        sim_node *sn = &w->nodes[i];
        const rf_core *r = w->cluster && sn->up ? node_raft(&sn->n) : NULL;
        int m;
        if (r) {
            char mem[96] = "";
            size_t ml = 0;
            for (uint32_t v = 0; v < r->config.nvoters + r->config.nlearners; v++) {
                bool learner = v >= r->config.nvoters;
                rf_id id = learner ? r->config.learners[v - r->config.nvoters]
                                   : r->config.voters[v];
                int k = snprintf(mem + ml, ml < sizeof(mem) ? sizeof(mem) - ml : 0, "%s%s%" PRIu64,
                                 v ? "," : "", learner ? "L" : "", id);
                if (k > 0)
                    ml += (size_t)k;
            }
            m = snprintf(out + len, len < cap ? cap - len : 0,
                         "%sn%d=%s(term %" PRIu64 ", commit %" PRIu64 ", applied %" PRIu64
                         ", last %" PRIu64 ", members %s%s)",
                         i ? " " : "", i + 1, rf_role_name(r->role), r->term, r->commit,
                         r->applied, rf_last_index(r), mem,
                         r->config_index > r->commit ? " uncommitted" : "");
        } else
            m = snprintf(out + len, len < cap ? cap - len : 0, "%sn%d=%s", i ? " " : "", i + 1,
                         sn->up ? (sn->disk_error ? "up(disk failed)" : "up") : "down");
        if (m > 0)
            len += (size_t)m;
    }
}

static void run(sim_world *w, int64_t fault_phase_us)
{
    while (w->fail == SIM_OK && w->nheap > 0) {
        sim_event e = pop(w);
        if (e.at > w->now)
            w->now = e.at;
        if (node_bound(e.kind) && w->nodes[e.node].paused) {
            /* A paused process: its events wait until it resumes. */
            e.at = w->nodes[e.node].pause_until;
            sim_push(w, &e);
            continue;
        }
        w->events++;
        hash_event(w, &e);
        trace_event(w, &e);
        dispatch(w, &e);
        free(e.data);
        if (w->fail != SIM_OK)
            break;
        if (!w->healed && w->now >= fault_phase_us) {
            sim_trace(w, "the fault phase's time is up");
            sim_event h = {.at = w->now, .kind = SE_HEAL, .node = -1, .peer = -1};
            w->heal_at = w->now;
            sim_push(w, &h);
            fault_phase_us = INT64_MAX;
        }
        if (w->healed && sclient_all_done(w) && sfault_members_full(w, NULL, 0)) {
            sim_trace(w, "every client completed its operation after the heal%s",
                      w->p.member ? ", and every node is a voter again" : "");
            break;
        }
        if ((w->healed && w->now > w->deadline_at) || w->events > EVENTS_MAX) {
            char clients[1024], nodes[1024], members[1024];
            sclient_describe_pending(w, clients, sizeof(clients));
            describe_nodes(w, nodes, sizeof(nodes));
            bool full = sfault_members_full(w, members, sizeof(members));
            sim_fail(w, SIM_LIVENESS,
                     "%s after the heal, %s: %s; nodes: %s%s%s",
                     w->events > EVENTS_MAX ? "too many events" : "20 s",
                     sclient_all_done(w) ? "the membership is not whole again"
                                         : "not every client completed an operation",
                     clients[0] ? clients : "(clients done)", nodes, full ? "" : "; membership: ",
                     full ? "" : members);
        }
    }
    while (w->nheap > 0) {
        sim_event e = pop(w);
        free(e.data);
    }
}

static sim_world *volatile running;

bool sim_running(uint64_t *digest, uint64_t *events)
{
    sim_world *w = running;
    if (w == NULL)
        return false;
    *digest = w->digest;
    *events = w->events;
    return true;
}

void sim_run(const sim_opts *o, sim_result *res)
{
    sim_world *w = calloc(1, sizeof(*w));
    if (w == NULL)
        abort();
    running = w;
    w->o = *o;
    if (w->o.out == NULL)
        w->o.out = stdout;
    kprng_seed(&w->rng, o->seed ^ 0x6b65656c2d73696dULL);
    w->nnodes = o->nodes;
    w->cluster = o->nodes > 1;
    w->heal_at = -1;
    w->digest = o->seed;
    sfault_draw(w, w->profile_desc, sizeof(w->profile_desc));
    if (o->trace) {
        fprintf(w->o.out, "seed=%" PRIu64 " nodes=%d faults=%s ops=%" PRIu64 " profile: %s\n",
                o->seed, o->nodes, o->faults_name ? o->faults_name : "?", o->ops, w->profile_desc);
    }
    snet_init(&w->net, w->nnodes, &w->p.netw);
    scheck_init(w);
    for (int i = 0; i < w->nnodes; i++) {
        sim_node *sn = &w->nodes[i];
        sn->idx = i;
        sdisk_init(&sn->disk);
        sn->offset_ms = EPOCH_MS + sim_between(w, -w->p.offset_ms_max, w->p.offset_ms_max);
        sn->drift_ppm = sim_between(w, -w->p.drift_ppm_max, w->p.drift_ppm_max);
        sim_trace(w, "n%d clock: offset %+" PRId64 "ms drift %+" PRId64 "ppm", i + 1,
                  sn->offset_ms - EPOCH_MS, sn->drift_ppm);
    }
    for (int i = 0; i < w->nnodes && w->fail == SIM_OK; i++)
        start_node(w, &w->nodes[i]);
    sclient_start(w);
    sfault_start(w);
    int64_t fault_phase_us = 30 * 1000000LL + (int64_t)o->ops * 20000;
    if (w->fail == SIM_OK)
        run(w, fault_phase_us);
    uint64_t gave_up = 0;
    if (w->fail == SIM_OK)
        gave_up = scheck_history(w);

    memset(res, 0, sizeof(*res));
    res->cls = w->fail;
    snprintf(res->why, sizeof(res->why), "%s", w->why);
    snprintf(res->profile, sizeof(res->profile), "%s", w->profile_desc);
    res->events = w->events;
    res->time_us = w->now;
    res->digest = w->digest;
    res->lc_gave_up = gave_up;
    sclient_counts(w, &res->ops_ok, &res->ops_fail, &res->ops_unknown);
    if (o->trace)
        fprintf(w->o.out,
                "stats: crashes=%" PRIu64 " kills=%" PRIu64 " restarts=%" PRIu64 " pauses=%" PRIu64
                " partitions=%" PRIu64 " torn=%" PRIu64 " flips=%" PRIu64 "/%" PRIu64
                " disk_errors=%" PRIu64 " applied=%" PRIu64 " msgs=%" PRIu64 " lost=%" PRIu64
                " dup=%" PRIu64 " cut=%" PRIu64 " removes=%" PRIu64 " adds=%" PRIu64
                " promotes=%" PRIu64 " wipes=%" PRIu64 " transfers=%" PRIu64
                " nemeses=%" PRIu64 "\n",
                w->crashes, w->kills, w->restarts, w->pauses, w->partitions, w->torn,
                w->flips_caught, w->flips, w->disk_errors, scheck_applied(w), w->net.sent,
                w->net.lost, w->net.duped, w->net.cut, w->removes, w->adds, w->promotes, w->wipes,
                w->transfers, w->nemeses);

    for (int i = 0; i < w->nnodes; i++) {
        sim_node *sn = &w->nodes[i];
        if (sn->up)
            node_free(&sn->n);
        sdisk_free(&sn->disk);
        kbuf_free(&sn->wbuf);
        kbuf_free(&sn->wops);
    }
    sclient_free_all(w);
    scheck_free(w);
    free(w->heap);
    kbuf_free(&w->scratch);
    running = NULL;
    free(w);
}
