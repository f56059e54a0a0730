/* core/node with a log (decision 0007): writes are proposed, written in
 * batches, applied and answered only after their batch is done; replay of
 * the written log (and of a snapshot plus log) gives the same data. The
 * driver here is a fake one: its "disk" is memory. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/node/node.h"
#include "core/wal/snapshot.h"

static int64_t now = 1700000000000LL;

/* ------------------------------------------------------------------------ */
/* A disk of segments in memory */

#define MAXSEG 64
typedef struct disk {
    kbuf seg[MAXSEG];
    uint64_t seq[MAXSEG], first[MAXSEG];
    int n;
} disk;

static kbuf *disk_seg(disk *d, uint64_t seq, uint64_t first, bool create)
{
    for (int i = 0; i < d->n; i++)
        if (d->seq[i] == seq)
            return &d->seg[i];
    cr_assert(create, "write to segment %llu that was never created", (unsigned long long)seq);
    cr_assert_lt(d->n, MAXSEG);
    kbuf_init(&d->seg[d->n]);
    d->seq[d->n] = seq;
    d->first[d->n] = first;
    return &d->seg[d->n++];
}

static void disk_write(disk *d, const wal_batch *b)
{
    size_t nops;
    const wal_write *ops = wal_batch_ops(b, &nops);
    for (size_t i = 0; i < nops; i++) {
        kbuf *s = disk_seg(d, ops[i].seq, ops[i].first_index, ops[i].create);
        cr_assert_eq(ops[i].offset, s->len, "writes are appends");
        kbuf_append(s, b->buf.data + ops[i].buf_off, ops[i].len);
    }
}

static void disk_free(disk *d)
{
    for (int i = 0; i < d->n; i++)
        kbuf_free(&d->seg[i]);
    d->n = 0;
}

/* ------------------------------------------------------------------------ */
/* Driving the node */

typedef struct rig {
    node n;
    disk d;
    int writes; /* ACT_LOG_WRITEs seen */
    bool out;   /* one is outstanding */
} rig;

static void collect(rig *r)
{
    size_t k;
    const node_action *a = node_actions(&r->n, &k);
    for (size_t i = 0; i < k; i++) {
        if (a[i].type != ACT_LOG_WRITE)
            continue;
        cr_assert(!r->out, "a second ACT_LOG_WRITE before EV_LOG_DONE");
        r->out = true;
        r->writes++;
    }
    node_actions_clear(&r->n);
}

static void step(rig *r, node_event ev)
{
    ev.now_ms = now;
    node_step(&r->n, &ev);
    collect(r);
}

/* Finishes the outstanding batch: written to the disk, then done. */
static void done(rig *r, const char *error)
{
    cr_assert(r->out, "no batch is outstanding");
    const wal_batch *b = node_log_batch(&r->n);
    cr_assert_not_null(b);
    if (error == NULL)
        disk_write(&r->d, b);
    r->out = false;
    step(r, (node_event){.type = EV_LOG_DONE, .log_error = error});
}

static void settle(rig *r)
{
    for (int i = 0; i < 100 && r->out; i++)
        done(r, NULL);
    cr_assert(!r->out);
}

static void feed(rig *r, conn_id c, const char *s)
{
    size_t len = strlen(s), avail;
    char *p = node_read_buffer(&r->n, c, len, &avail);
    memcpy(p, s, len);
    step(r, (node_event){.type = EV_CLIENT_DATA, .conn = c, .nread = len});
}

static char *take(rig *r, conn_id c)
{
    kbuf *o = node_output(&r->n, c);
    cr_assert_not_null(o);
    char *s = malloc(o->len + 1);
    memcpy(s, o->data, o->len);
    s[o->len] = '\0';
    node_output_sent(&r->n, c, o->len);
    return s;
}

static void expect(rig *r, conn_id c, const char *want)
{
    char *got = take(r, c);
    cr_assert_str_eq(got, want);
    free(got);
}

static conn_id open_conn(rig *r)
{
    const char *reject;
    conn_id c = node_client_open(&r->n, now, "127.0.0.1:5000", "127.0.0.1:6379", 7, &reject);
    cr_assert_neq(c, 0);
    return c;
}

static void rig_start(rig *r, uint64_t seed)
{
    memset(r, 0, sizeof(*r));
    node_init(&r->n, seed, now, NULL);
    node_log_opts o;
    node_log_opts_default(&o);
    o.seg_max = 4096; /* several segments in a test */
    o.salt_seed = seed * 7 + 1;
    char err[256];
    cr_assert(node_log_start(&r->n, NULL, &o, err, sizeof(err)), "%s", err);
    /* The first step sends the hard state out; settle it. */
    step(r, (node_event){.type = EV_TICK});
    cr_assert(r->out);
    settle(r);
}

static void rig_free(rig *r)
{
    node_free(&r->n);
    disk_free(&r->d);
}

/* DEBUG DIGEST of a node, run by a throwaway client. */
static char *digest(rig *r)
{
    conn_id c = open_conn(r);
    feed(r, c, "DEBUG DIGEST\r\n");
    char *s = take(r, c);
    node_event ev = {.type = EV_CLIENT_CLOSED, .conn = c};
    step(r, ev);
    return s;
}

/* Two nodes hold the same data (DEBUG DIGEST). */
static void same_digest(rig *a, rig *b)
{
    char *want = digest(a), *got = digest(b);
    cr_assert_str_eq(got, want);
    free(want);
    free(got);
}

/* A node rebuilt from r's disk (and a snapshot, if given). */
static void replay(rig *r, rig *into, const kbuf *snap)
{
    memset(into, 0, sizeof(*into));
    node_init(&into->n, 99, now, NULL);
    if (snap)
        cr_assert_null(node_snapshot_load(&into->n, snap->data, snap->len));
    wal_recovery rc;
    wal_recovery_init(&rc, 0);
    for (int i = 0; i < r->d.n; i++) {
        char name[WAL_NAME_SIZE];
        wal_segment_name(name, r->d.seq[i], r->d.first[i]);
        wal_status st = wal_recovery_segment(&rc, name, r->d.seg[i].data, r->d.seg[i].len,
                                             i == r->d.n - 1, node_log_replay, &into->n);
        cr_assert_eq(st, WAL_OK, "segment %d: %s", i, wal_reason_text(rc.res.reason));
    }
    node_log_opts o;
    node_log_opts_default(&o);
    char err[256];
    cr_assert(node_log_start(&into->n, &rc, &o, err, sizeof(err)), "%s", err);
    wal_recovery_free(&rc);
}

/* ------------------------------------------------------------------------ */

Test(node_log, write_is_answered_only_after_its_batch_is_done)
{
    rig r;
    rig_start(&r, 1);
    conn_id a = open_conn(&r), b = open_conn(&r);
    /* The first batch carries the hard state: finish it. */
    settle(&r);
    feed(&r, a, "SET k v\r\n");
    cr_assert(r.out, "the write went to the log");
    expect(&r, a, "");
    /* Another client reads the applied state: nothing yet. */
    feed(&r, b, "GET k\r\n");
    expect(&r, b, "$-1\r\n");
    done(&r, NULL);
    expect(&r, a, "+OK\r\n");
    feed(&r, b, "GET k\r\n");
    expect(&r, b, "$1\r\nv\r\n");
    node_log_info li;
    node_log_get_info(&r.n, &li);
    cr_assert_eq(li.applied_index, 1);
    cr_assert_eq(li.last_index, 1);
    rig_free(&r);
}

Test(node_log, writes_arriving_during_a_batch_share_the_next_one)
{
    rig r;
    rig_start(&r, 2);
    conn_id c[10];
    for (int i = 0; i < 10; i++)
        c[i] = open_conn(&r);
    settle(&r);
    feed(&r, c[0], "INCR n\r\n"); /* batch 1 goes out */
    int before = r.writes;
    for (int i = 1; i < 10; i++)
        feed(&r, c[i], "INCR n\r\n");
    cr_assert_eq(r.writes, before, "no second write while one is out");
    done(&r, NULL);
    cr_assert_eq(r.writes, before + 1, "the nine waiting INCRs go out as one batch");
    expect(&r, c[0], ":1\r\n");
    done(&r, NULL);
    for (int i = 1; i < 10; i++) {
        char want[16];
        snprintf(want, sizeof(want), ":%d\r\n", i + 1);
        expect(&r, c[i], want);
    }
    node_log_info li;
    node_log_get_info(&r.n, &li);
    cr_assert_eq(li.entries, 2, "one entry per batch");
    cr_assert_eq(li.commands, 10);
    rig_free(&r);
}

Test(node_log, a_clients_read_waits_behind_its_own_write)
{
    rig r;
    rig_start(&r, 3);
    conn_id a = open_conn(&r);
    settle(&r);
    feed(&r, a, "SET k 1\r\nGET k\r\nSET k 2\r\nPING\r\n");
    expect(&r, a, "");
    done(&r, NULL);
    /* SET applied, GET runs, the second SET goes to the log. */
    expect(&r, a, "+OK\r\n$1\r\n1\r\n");
    cr_assert(r.out);
    done(&r, NULL);
    expect(&r, a, "+OK\r\n+PONG\r\n");
    rig_free(&r);
}

Test(node_log, pipelined_writes_of_one_client_go_in_one_batch)
{
    rig r;
    rig_start(&r, 4);
    conn_id a = open_conn(&r);
    settle(&r);
    int before = r.writes;
    feed(&r, a, "RPUSH l a\r\nRPUSH l b\r\nRPUSH l c\r\n");
    cr_assert_eq(r.writes, before + 1);
    done(&r, NULL);
    expect(&r, a, ":1\r\n:2\r\n:3\r\n");
    rig_free(&r);
}

Test(node_log, transaction_is_one_op_and_replays)
{
    rig r;
    rig_start(&r, 5);
    conn_id a = open_conn(&r);
    settle(&r);
    feed(&r, a, "MULTI\r\nSET x 1\r\nINCR x\r\nGET x\r\n");
    expect(&r, a, "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n");
    cr_assert(!r.out, "nothing is logged before EXEC");
    feed(&r, a, "EXEC\r\n");
    cr_assert(r.out);
    expect(&r, a, "");
    done(&r, NULL);
    expect(&r, a, "*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n");
    /* A transaction of reads only is not logged. */
    feed(&r, a, "MULTI\r\nGET x\r\nEXEC\r\n");
    cr_assert(!r.out);
    expect(&r, a, "+OK\r\n+QUEUED\r\n*1\r\n$1\r\n2\r\n");
    rig rr;
    replay(&r, &rr, NULL);
    same_digest(&r, &rr);
    rig_free(&rr);
    rig_free(&r);
}

Test(node_log, watched_exec_sees_the_writes_logged_before_it)
{
    rig r;
    rig_start(&r, 6);
    conn_id a = open_conn(&r), b = open_conn(&r);
    settle(&r);
    feed(&r, a, "WATCH k\r\nMULTI\r\nSET k mine\r\n");
    expect(&r, a, "+OK\r\n+OK\r\n+QUEUED\r\n");
    feed(&r, b, "SET k theirs\r\n"); /* logged, not applied */
    feed(&r, a, "EXEC\r\n");
    expect(&r, a, "");
    done(&r, NULL);
    expect(&r, b, "+OK\r\n");
    /* b's write touched the watched key: EXEC fails, nothing logged. */
    expect(&r, a, "*-1\r\n");
    cr_assert(!r.out);
    feed(&r, b, "GET k\r\n");
    expect(&r, b, "$6\r\ntheirs\r\n");
    rig_free(&r);
}

Test(node_log, a_watched_exec_holds_back_later_writes)
{
    rig r;
    rig_start(&r, 7);
    conn_id a = open_conn(&r), b = open_conn(&r), c = open_conn(&r);
    settle(&r);
    feed(&r, a, "WATCH k\r\nMULTI\r\nINCR k\r\n");
    take(&r, a);
    feed(&r, b, "INCR other\r\n");
    feed(&r, a, "EXEC\r\n"); /* waits for b's entry */
    feed(&r, c, "INCR k\r\n"); /* after a's EXEC, so must not dirty it */
    done(&r, NULL);
    expect(&r, b, ":1\r\n");
    expect(&r, a, "");
    expect(&r, c, "");
    /* a's EXEC is logged first, c's INCR after it: EXEC is not dirtied. */
    done(&r, NULL);
    expect(&r, a, "*1\r\n:1\r\n");
    expect(&r, c, ":2\r\n");
    rig_free(&r);
}

Test(node_log, failed_write_answers_misconf_and_refuses_writes)
{
    rig r;
    rig_start(&r, 8);
    conn_id a = open_conn(&r), b = open_conn(&r);
    settle(&r);
    feed(&r, a, "SET k 1\r\n");
    settle(&r);
    expect(&r, a, "+OK\r\n");
    feed(&r, a, "SET k 2\r\n");
    feed(&r, b, "SET j 3\r\n"); /* waits for the next batch */
    done(&r, "No space left on device");
    expect(&r, a, "-MISCONF Errors writing to the AOF file: No space left on device\r\n");
    expect(&r, b, "-MISCONF Errors writing to the AOF file: No space left on device\r\n");
    cr_assert(!r.out, "a failed log writes nothing more");
    feed(&r, a, "SET k 3\r\nGET k\r\nMULTI\r\nSET k 4\r\nEXEC\r\n");
    expect(&r, a,
           "-MISCONF Errors writing to the AOF file: No space left on device\r\n"
           "$1\r\n1\r\n+OK\r\n+QUEUED\r\n"
           "-EXECABORT Transaction discarded because of: MISCONF Errors writing to the AOF "
           "file: No space left on device\r\n");
    node_log_info li;
    node_log_get_info(&r.n, &li);
    cr_assert(li.failed);
    cr_assert(node_log_idle(&r.n));
    rig_free(&r);
}

Test(node_log, a_client_gone_before_apply_still_has_its_write_applied)
{
    rig r;
    rig_start(&r, 9);
    conn_id a = open_conn(&r), b = open_conn(&r);
    settle(&r);
    feed(&r, a, "SET k gone\r\n");
    step(&r, (node_event){.type = EV_CLIENT_CLOSED, .conn = a});
    done(&r, NULL);
    feed(&r, b, "GET k\r\n");
    expect(&r, b, "$4\r\ngone\r\n");
    rig_free(&r);
}

/* A mixed workload with randomness (SPOP), time (PX, EXPIRE), many
 * segments: replaying the log gives the same data; so does a snapshot
 * taken half way plus the log after it. */
Test(node_log, replay_and_snapshot_plus_log_give_the_same_data)
{
    rig r;
    rig_start(&r, 10);
    conn_id c[4];
    for (int i = 0; i < 4; i++)
        c[i] = open_conn(&r);
    settle(&r);
    kbuf snap = KBUF_INIT;
    uint64_t sidx = 0, sterm = 0;
    char cmd[256];
    for (int round = 0; round < 60; round++) {
        for (int i = 0; i < 4; i++) {
            int k = (round * 4 + i) % 9;
            snprintf(cmd, sizeof(cmd),
                     "INCR n%d\r\nAPPEND s%d %d,\r\nSADD set m%d m%d\r\nSPOP set\r\n"
                     "SET t%d v PX 100000\r\nHSET h f%d %d\r\nZADD z %d m%d\r\nSELECT 3\r\n"
                     "LPUSH l %d\r\nSELECT 0\r\n",
                     k, i, round, round, round + 1, k, k, round, round, k, round);
            feed(&r, c[i], cmd);
        }
        for (int j = 0; j < 20 && r.out; j++)
            done(&r, NULL);
        if (round == 30) {
            settle(&r);
            node_snapshot_encode(&r.n, &snap, &sidx, &sterm);
            cr_assert_gt(sidx, 0);
        }
        now += 7;
    }
    settle(&r);
    for (int i = 0; i < 4; i++)
        take(&r, c[i]);
    cr_assert_gt(r.d.n, 2, "the test wants several segments");
    rig full, half;
    replay(&r, &full, NULL);
    replay(&r, &half, &snap);
    char *d0 = digest(&r), *d1 = digest(&full), *d2 = digest(&half);
    cr_assert_str_eq(d0, d1, "log replay");
    cr_assert_str_eq(d0, d2, "snapshot + log");
    node_log_info li;
    node_log_get_info(&half.n, &li);
    cr_assert_eq(li.snapshot_index, sidx);
    cr_assert_gt(li.replayed, 0);
    free(d0);
    free(d1);
    free(d2);
    kbuf_free(&snap);
    rig_free(&full);
    rig_free(&half);
    rig_free(&r);
}

Test(node_log, snapshot_of_every_database_loads)
{
    rig r;
    rig_start(&r, 11);
    conn_id a = open_conn(&r);
    settle(&r);
    feed(&r, a, "SET a 1\r\nSELECT 5\r\nSET b 2\r\nSELECT 15\r\nRPUSH l x y\r\n");
    settle(&r);
    settle(&r);
    settle(&r);
    take(&r, a);
    kbuf snap = KBUF_INIT;
    uint64_t idx, term;
    node_snapshot_encode(&r.n, &snap, &idx, &term);
    node m;
    node_init(&m, 5, now, NULL);
    cr_assert_null(node_snapshot_load(&m, snap.data, snap.len));
    cr_assert_eq(db_size(engine_db(&m.eng, 0)), 1);
    cr_assert_eq(db_size(engine_db(&m.eng, 5)), 1);
    cr_assert_eq(db_size(engine_db(&m.eng, 15)), 1);
    /* A damaged snapshot is refused and leaves the node empty. */
    snap.data[snap.len / 2] ^= 1;
    node m2;
    node_init(&m2, 5, now, NULL);
    cr_assert_not_null(node_snapshot_load(&m2, snap.data, snap.len));
    cr_assert_eq(db_size(engine_db(&m2.eng, 0)), 0);
    node_free(&m2);
    node_free(&m);
    kbuf_free(&snap);
    rig_free(&r);
}

/* A blocked client is served by a pop of its own in the log: the element
 * it got is gone after a replay too. */
Test(node_log, serving_a_blocked_client_is_logged_and_replays)
{
    rig r;
    rig_start(&r, 12);
    conn_id a = open_conn(&r), b = open_conn(&r);
    feed(&r, a, "BLPOP q 0\r\n");
    settle(&r); /* BLPOP applied: nothing there, a blocks */
    expect(&r, a, "");
    feed(&r, b, "RPUSH q x y\r\n");
    done(&r, NULL); /* RPUSH applied: a's serve is proposed */
    expect(&r, b, ":2\r\n");
    expect(&r, a, "");
    cr_assert(r.out, "the serving pop went to the log");
    done(&r, NULL);
    expect(&r, a, "*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    rig rr;
    replay(&r, &rr, NULL);
    conn_id c = open_conn(&rr);
    feed(&rr, c, "LRANGE q 0 -1\r\n");
    expect(&rr, c, "*1\r\n$1\r\ny\r\n");
    same_digest(&r, &rr);
    rig_free(&rr);
    rig_free(&r);
}

/* The log fails while a serve is in flight: the client waits on, and its
 * timeout still ends the wait. */
Test(node_log, a_serve_lost_with_the_log_leaves_the_client_blocked)
{
    rig r;
    rig_start(&r, 13);
    conn_id a = open_conn(&r), b = open_conn(&r);
    feed(&r, a, "BLPOP q 1\r\n");
    settle(&r);
    feed(&r, b, "RPUSH q x\r\n");
    done(&r, NULL); /* the serve is proposed */
    expect(&r, b, ":1\r\n");
    done(&r, "Input/output error");
    expect(&r, a, "");
    cr_assert_gt(node_next_deadline(&r.n), 0, "the timeout is armed again");
    now += 1500;
    step(&r, (node_event){.type = EV_TIMER});
    expect(&r, a, "*-1\r\n");
    rig_free(&r);
}

/* A read after a key's deadline must not delete it while an entry from
 * before the deadline (which still sees the key) waits to be applied: the
 * replay would otherwise disagree with what was answered. */
Test(node_log, expiry_follows_the_log_not_the_readers_clock)
{
    rig r;
    rig_start(&r, 14);
    conn_id a = open_conn(&r), b = open_conn(&r);
    feed(&r, a, "SET k v PX 100\r\n");
    settle(&r);
    expect(&r, a, "+OK\r\n");
    now += 50;
    feed(&r, a, "APPEND k x\r\n"); /* its entry's time: before the deadline */
    now += 100;
    feed(&r, b, "GET k\r\n");
    expect(&r, b, "$-1\r\n"); /* expired for a reader... */
    done(&r, NULL);
    expect(&r, a, ":2\r\n"); /* ...but still there for the entry before */
    rig rr;
    replay(&r, &rr, NULL);
    same_digest(&r, &rr);
    rig_free(&rr);
    rig_free(&r);
}

/* With keys that have a TTL and no writes, an empty entry moves the log's
 * time on a second later, and the expire cycle then deletes what expired. */
Test(node_log, idle_log_time_moves_on_for_the_expire_cycle)
{
    rig r;
    rig_start(&r, 15);
    conn_id a = open_conn(&r);
    feed(&r, a, "SET k v PX 10\r\nSET keep v\r\n");
    settle(&r);
    take(&r, a);
    now += 500;
    step(&r, (node_event){.type = EV_TICK});
    cr_assert(!r.out, "no time entry within a second of the last write");
    cr_assert_eq(db_size(engine_db(&r.n.eng, 0)), 2, "k expired but the log's time is before that");
    now += 1000;
    step(&r, (node_event){.type = EV_TICK});
    cr_assert(r.out, "a time entry");
    done(&r, NULL);
    step(&r, (node_event){.type = EV_TICK});
    cr_assert_eq(db_size(engine_db(&r.n.eng, 0)), 1, "the expire cycle deleted k");
    rig_free(&r);
}

/* Writes pipelined after a blocking command wait for it: if it blocks
 * when applied, they run (and answer) only once it is served. */
Test(node_log, writes_after_a_blocking_command_wait_for_it)
{
    rig r;
    rig_start(&r, 16);
    conn_id a = open_conn(&r), b = open_conn(&r);
    feed(&r, a, "BLPOP q 0\r\nSET after 1\r\n");
    settle(&r);
    expect(&r, a, ""); /* blocked; SET not run */
    feed(&r, b, "GET after\r\n");
    expect(&r, b, "$-1\r\n");
    feed(&r, b, "RPUSH q x\r\n");
    settle(&r);
    expect(&r, b, ":1\r\n");
    expect(&r, a, "*2\r\n$1\r\nq\r\n$1\r\nx\r\n+OK\r\n");
    rig_free(&r);
}

/* CONFIG SET appendonly no with writes in the log: they drain as usual;
 * new writes run at once, a client's only after its own logged ones. */
Test(node_log, closing_the_log_drains_it_and_runs_new_writes_at_once)
{
    rig r;
    rig_start(&r, 17);
    conn_id a = open_conn(&r), b = open_conn(&r);
    feed(&r, a, "SET x 1\r\n");
    cr_assert(r.out);
    node_log_close(&r.n);
    cr_assert(!node_log_stop(&r.n), "not while a batch is out");
    feed(&r, b, "SET y 2\r\n"); /* b has nothing logged: runs now */
    expect(&r, b, "+OK\r\n");
    feed(&r, a, "SET x 3\r\n"); /* waits behind a's logged SET */
    expect(&r, a, "");
    done(&r, NULL);
    expect(&r, a, "+OK\r\n+OK\r\n");
    cr_assert(!r.out, "nothing new was logged");
    cr_assert(node_log_idle(&r.n));
    cr_assert(node_log_stop(&r.n));
    cr_assert(!node_log_enabled(&r.n));
    feed(&r, b, "MGET x y\r\n");
    expect(&r, b, "*2\r\n$1\r\n3\r\n$1\r\n2\r\n");
    rig_free(&r);
}

/* What is written while a snapshot is being taken counts towards the next
 * automatic one: bytes since the snapshot's point, not since it was done. */
Test(node_log, bytes_since_snapshot_count_from_the_snapshot_point)
{
    rig r;
    rig_start(&r, 18);
    conn_id a = open_conn(&r);
    feed(&r, a, "SET k 1\r\n");
    settle(&r);
    node_log_info at;
    node_log_get_info(&r.n, &at); /* the fork */
    feed(&r, a, "SET k 2\r\n");
    settle(&r);
    node_log_info mid;
    node_log_get_info(&r.n, &mid);
    node_snapshot_done(&r.n, at.applied_index, at.applied_term, at.bytes, now);
    node_log_info after;
    node_log_get_info(&r.n, &after);
    cr_assert_eq(after.snapshot_index, at.applied_index);
    cr_assert_eq(after.bytes_since_snapshot, mid.bytes - at.bytes);
    cr_assert_gt(after.bytes_since_snapshot, 0);
    rig_free(&r);
}

/* A snapshot that covers every entry, with no write on its way, leaves the
 * segments nothing to hold: node_snapshot_done says so, and the next entry
 * opens a new segment right after the snapshot, from which (with the
 * snapshot) the state comes back. While a batch is out, or with entries
 * after the snapshot's point, it says no. */
Test(node_log, a_snapshot_of_the_whole_log_lets_every_segment_go)
{
    rig r;
    rig_start(&r, 19);
    conn_id a = open_conn(&r);
    feed(&r, a, "SET k 1\r\n");
    settle(&r);
    node_log_info at;
    node_log_get_info(&r.n, &at); /* a fork here */
    feed(&r, a, "SET k 2\r\n");
    cr_assert(r.out);
    cr_assert(!node_snapshot_done(&r.n, at.applied_index, at.applied_term, at.bytes, now),
              "a batch is out, and an entry after the snapshot");
    settle(&r);
    expect(&r, a, "+OK\r\n+OK\r\n");
    cr_assert(!node_snapshot_done(&r.n, at.applied_index, at.applied_term, at.bytes, now),
              "an entry after the snapshot");
    kbuf snap = KBUF_INIT;
    uint64_t index, term;
    node_snapshot_encode(&r.n, &snap, &index, &term);
    node_log_info all;
    node_log_get_info(&r.n, &all);
    cr_assert_eq(index, all.last_index);
    cr_assert(node_snapshot_done(&r.n, index, term, all.bytes, now));
    disk_free(&r.d); /* the driver removes every segment */
    feed(&r, a, "SET j 3\r\n");
    cr_assert(r.out);
    settle(&r);
    expect(&r, a, "+OK\r\n");
    cr_assert_eq(r.d.n, 1);
    cr_assert_eq(r.d.first[0], index + 1, "the new segment starts after the snapshot");
    rig back;
    replay(&r, &back, &snap);
    same_digest(&r, &back);
    kbuf_free(&snap);
    rig_free(&back);
    rig_free(&r);
}

/* A log started on a snapshot alone (no segment) writes in the snapshot's
 * term at least: entries never go below the entry before them. */
Test(node_log, a_log_started_on_a_snapshot_alone_takes_its_term)
{
    rig r;
    rig_start(&r, 20);
    conn_id a = open_conn(&r);
    feed(&r, a, "SET k 1\r\n");
    settle(&r);
    expect(&r, a, "+OK\r\n");
    kbuf img = KBUF_INIT, snap = KBUF_INIT;
    uint64_t index, term;
    node_snapshot_encode(&r.n, &img, &index, &term);
    snap_view v;
    cr_assert_eq(snap_decode(img.data, img.len, &v), SNAP_R_OK);
    snap_meta m = {.group = v.h.group, .index = index, .term = 3, .config = v.config,
                   .config_len = v.h.config_len};
    snap_encode(&snap, &m, v.body, v.h.body_len);

    rig b;
    memset(&b, 0, sizeof(b));
    node_init(&b.n, 21, now, NULL);
    cr_assert_null(node_snapshot_load(&b.n, snap.data, snap.len));
    node_log_opts o;
    node_log_opts_default(&o);
    char err[256];
    cr_assert(node_log_start(&b.n, NULL, &o, err, sizeof(err)), "%s", err);
    step(&b, (node_event){.type = EV_TICK});
    settle(&b);
    conn_id c = open_conn(&b);
    feed(&b, c, "INCR k\r\n");
    settle(&b);
    expect(&b, c, ":2\r\n");
    node_log_info li;
    node_log_get_info(&b.n, &li);
    cr_assert_geq(li.term, 3);
    kbuf_free(&img);
    kbuf_free(&snap);
    rig_free(&b);
    rig_free(&r);
}
