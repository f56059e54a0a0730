/* The node's write path over Raft (node.h "Cluster"; decision 0009).
 *
 * log.c builds entries exactly as without a cluster (one entry of every
 * write that arrived in a loop turn); here the entry is proposed to Raft
 * instead of being written at once. What Raft's step asks for is carried
 * out in handle():
 *   persist   hard state and entries become WAL records of the filling
 *             batch (ACT_LOG_WRITE); its EV_LOG_DONE acknowledges them to
 *             Raft (RF_EV_PERSISTED with the batch's newest request)
 *   msgs      encoded (core/raft/msg.c) and handed out as ACT_PEER_SEND
 *   apply     committed entries run through log.c's apply; the proposer's
 *             clients get the replies the apply computed
 *   reads     a read command waits in its client's query buffer until a
 *             ReadIndex round confirmed the leadership and the state is
 *             applied through the read's index, then runs
 *   install   a leader's snapshot replaces the state (ACT_SNAPSHOT_SAVE)
 * Raft is never stepped from inside handle(): what the apply and the
 * resumed clients want (proposals, reads) is queued and stepped by
 * node_cluster_flush's loop, so Raft's update is never overwritten while
 * it is being read. */
#include <assert.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmd/cmd.h"
#include "core/node/log_internal.h"
#include "core/raft/msg.h"
#include "core/resp/writer.h"
#include "core/util/mpread.h"

#include <xxhash.h>

enum { READ_NONE = 0, READ_WAIT, READ_APPLY, READ_OK, READ_FAIL };

#define DIR_MAX (2 * RF_MAX_MEMBERS)

/* A session's last request: the replies of the commands of it applied so
 * far (a request may carry several pipelined commands, numbered 1..). */
typedef struct sess_rep {
    uint32_t k, off, len;
    bool kept; /* false: applied, reply not kept (too large, or a replica's
                * transaction, which runs only its writes) */
} sess_rep;

typedef struct sess_rec {
    uint64_t peer, origin;
    uint64_t req;   /* the last request (seq >> 16) */
    uint64_t index; /* the entry that last applied one of its commands */
    sess_rep *reps;
    uint32_t nreps, capreps;
    kbuf replies;   /* their bytes, SESS_REPLY_MAX at most in all */
} sess_rec;
/* A session whose last request is this many entries old is dropped: its
 * follower gave up on any retry long before (forward timeout). */
#define SESS_KEEP_ENTRIES 100000
#define SESS_GC_EVERY 1024
#define SESS_REPLY_MAX (64 * 1024)
/* A joining node's entry is kept this long after its last JOIN even though
 * it is not a member yet. */
#define DIR_JOIN_KEEP_MS 60000

typedef struct replayed {
    uint64_t index, term;
    uint8_t type;
    kbuf data;
} replayed;

typedef struct node_cluster {
    rf_core raft;
    node_cluster_opts o;
    bool started;
    bool stepping;     /* inside flush's loop */
    uint64_t batch_seq[2]; /* newest Raft persist request in each batch */
    bool was_leader;
    bool want_time;    /* an empty entry carries the time on (node_log_tick) */

    conn_id *readq;    /* clients whose read needs a ReadIndex round */
    size_t nreadq, capreadq;
    conn_id *resume;   /* clients to run again once handle() is done */
    size_t nresume, capresume;

    void **bufs;       /* ACT_PEER_SEND / ACT_SNAPSHOT_SAVE bytes */
    size_t nbufs, capbufs;

    bool saving, save_install;
    uint64_t save_index, save_term;
    kbuf save;
    /* A leader's snapshot installed while a local save was out: it is
     * saved once that one is done (one save at a time). */
    bool install_waits;
    uint64_t install_index, install_term;
    kbuf install_buf;

    replayed *rp;      /* entries replayed before node_cluster_start */
    size_t nrp, caprp;
    uint64_t rp_first; /* the replayed log's base after marks */

    kbuf scratch, prop;
    char refusal[64];
    uint64_t decode_errors;

    /* Forwarding: on a follower, the ids of its requests; on the leader,
     * the proxy connections that run followers' clients' commands. */
    uint64_t fwd_seq;
    conn_id *proxies;
    size_t nproxies, capproxies;
    kbuf fwd_buf;

    bool in_handle;    /* carrying out an update: no client runs, no step */
    char admin_id[24]; /* FAILOVER TO <this node>, forwarded */

    /* Sessions of forwarded requests (node_session): the last applied
     * request of each, with its reply; sorted by (peer, origin). Part of
     * the replicated state: snapshots carry it. */
    struct sess_rec *sess;
    size_t nsess, capsess;
    kbuf seen_view; /* points into a session's replies (never owns) */
    uint64_t sess_done; /* records made: every SESS_GC_EVERY, old ones go */
    uint64_t incarnation; /* this run of the node: its sessions' ids differ
                           * from those of its runs before (connection ids
                           * and request numbers start again at a restart) */

    /* The member directory (node.h): entries in id order. */
    node_addr dir[DIR_MAX];
    bool dir_link[DIR_MAX];   /* the driver's bus connection is up */
    int64_t dir_join[DIR_MAX]; /* when it last asked to join (0: never) */
    size_t ndir;
    uint64_t dir_ver;
    uint64_t pruned_config; /* the config_index dir_prune last ran for */
} node_cluster;

#define ERR_UNKNOWN "-UNKNOWN leadership changed; the command may or may not have been applied"

static void sess_rec_free(sess_rec *r)
{
    free(r->reps);
    kbuf_free(&r->replies);
}

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 16;
    p = realloc(p, *cap * size);
    if (p == NULL)
        abort();
    return p;
}

static node_cluster *cluster_get(node *n)
{
    node_log *l = n->log;
    if (l->cl == NULL) {
        l->cl = calloc(1, sizeof(node_cluster));
        if (l->cl == NULL)
            abort();
    }
    return l->cl;
}

static void rp_clear(node_cluster *k, size_t from)
{
    for (size_t i = from; i < k->nrp; i++)
        kbuf_free(&k->rp[i].data);
    if (from < k->nrp)
        k->nrp = from;
}

void node_cluster_free(node *n)
{
    node_cluster *k = n->log ? n->log->cl : NULL;
    if (k == NULL)
        return;
    if (k->started)
        rf_free(&k->raft);
    free(k->readq);
    free(k->resume);
    for (size_t i = 0; i < k->nbufs; i++)
        free(k->bufs[i]);
    free(k->bufs);
    kbuf_free(&k->save);
    kbuf_free(&k->install_buf);
    rp_clear(k, 0);
    free(k->rp);
    kbuf_free(&k->scratch);
    kbuf_free(&k->prop);
    free(k->proxies);
    kbuf_free(&k->fwd_buf);
    for (size_t i = 0; i < k->nsess; i++)
        sess_rec_free(&k->sess[i]);
    free(k->sess);
    free(k);
    n->log->cl = NULL;
}

const rf_core *node_raft(const node *n)
{
    return n->log && n->log->cl && n->log->cl->started ? &n->log->cl->raft : NULL;
}

static bool leader(const node_cluster *k) { return k->raft.role == RF_LEADER; }

const char *node_cluster_refusal(node *n)
{
    node_cluster *k = n->log->cl;
    if (!k->started || leader(k))
        return NULL;
    if (k->raft.leader)
        snprintf(k->refusal, sizeof(k->refusal), "-" NODE_ERR_NOT_LEADER " leader is %llu",
                 (unsigned long long)k->raft.leader);
    else
        snprintf(k->refusal, sizeof(k->refusal), "-" NODE_ERR_NOT_LEADER " leader unknown");
    return k->refusal;
}

/* Bytes an action points at, kept until the driver cleared the actions:
 * b's memory is taken over (b is empty again). */
static void *keep_kbuf(node_cluster *k, kbuf *b)
{
    k->bufs = grow(k->bufs, &k->capbufs, k->nbufs, sizeof(void *));
    if (b->data == NULL)
        kbuf_reserve(b, 1);
    void *p = b->data;
    k->bufs[k->nbufs++] = p;
    kbuf_init(b);
    return p;
}

void node_cluster_gc(node *n)
{
    node_cluster *k = n->log ? n->log->cl : NULL;
    if (k == NULL || n->noutbox)
        return;
    for (size_t i = 0; i < k->nbufs; i++)
        free(k->bufs[i]);
    k->nbufs = 0;
}

static void want_resume(node_cluster *k, conn_id c)
{
    k->resume = grow(k->resume, &k->capresume, k->nresume, sizeof(conn_id));
    k->resume[k->nresume++] = c;
}

/* Answers the ops of pends that will not be applied (or whose fate is
 * unknown) with err. */
static void fail_pends(node *n, const pend *p, uint32_t np, const char *err, bool unknown)
{
    node_cluster *k = n->log->cl;
    for (uint32_t i = 0; i < np; i++) {
        node_conn *c = p[i].conn ? node_find_conn(n, p[i].conn) : NULL;
        if (c == NULL)
            continue;
        if (p[i].kind == OP_SERVE) {
            /* A pop that may yet be applied must not be answered as a
             * timeout; one that never will be lets the client wait on. */
            if (unknown)
                engine_serve_abandon(&n->eng, c->cl, err, n->now_ms);
            else
                engine_serve_cancel(&n->eng, c->cl, n->now_ms);
            continue;
        }
        if (p[i].kind == OP_EXEC)
            engine_end_transaction(&n->eng, c->cl);
        resp_add_error(&c->out, err, strlen(err));
        engine_count_error(&n->eng, err, strlen(err));
        c->unapplied--;
        node_emit(n, ACT_SEND, c->id);
        want_resume(k, c->id);
    }
}

static void drop_sealed(sealed *s)
{
    kbuf_free(&s->payload);
    free(s->p);
}

/* Every proposal not applied yet: its fate is not known here any more. */
static void fail_proposals(node *n, const char *err)
{
    node_log *l = n->log;
    for (size_t i = l->qhead; i < l->qtail; i++) {
        fail_pends(n, l->q[i].p, l->q[i].np, err, true);
        drop_sealed(&l->q[i]);
    }
    l->qhead = l->qtail = 0;
}

/* ------------------------------------------------------------------------ */
/* Carrying out Raft's update */

static void persist(node *n)
{
    node_log *l = n->log;
    node_cluster *k = l->cl;
    const rf_persist *p = &k->raft.out.persist;
    if (!p->seq)
        return;
    wal_batch *b = &l->batch[l->out ^ 1];
    if (p->hard_state) {
        wal_record hs = {.type = WAL_HARD_STATE, .group = l->o.group, .term = p->term,
                         .vote = p->vote};
        wal_reason why = wal_writer_append(&l->w, b, &hs);
        /* A planted bug (a forgotten vote) may ask for what the log's own
         * rules refuse: the node then forgets to write it, as the bug
         * would; without bugs it cannot happen. */
        if (why != WAL_R_OK && !k->o.raft.bugs)
            abort();
    }
    for (uint32_t i = 0; i < p->nentries; i++) {
        const rf_entry *e = &p->entries[i];
        wal_record rec = {.type = e->type, .group = l->o.group, .term = e->term,
                          .index = e->index, .payload = (const char *)e->data,
                          .payload_len = e->len};
        wal_reason why = wal_writer_append(&l->w, b, &rec);
        if (why != WAL_R_OK && !k->o.raft.bugs)
            abort();
        if (e->type == RF_ENTRY_NORMAL)
            l->st.entries++;
    }
    k->batch_seq[l->out ^ 1] = p->seq;
}

static void send_msgs(node *n)
{
    node_cluster *k = n->log->cl;
    for (uint32_t i = 0; i < k->raft.out.nmsgs; i++) {
        const rf_msg *m = &k->raft.out.msgs[i];
        kbuf enc = KBUF_INIT;
        rf_msg_encode(m, &enc);
        size_t len = enc.len;
        node_emit_data(n, ACT_PEER_SEND, m->to, keep_kbuf(k, &enc), len, 0, 0);
        n->outbox[n->noutbox - 1].service = NODE_SVC_RAFT;
    }
}

/* ACT_SNAPSHOT_SAVE of len bytes at data, the snapshot at save_index. The
 * bytes are k->save's, which nothing changes while a save is out (one at a
 * time; installs wait in install_buf): valid until EV_SNAPSHOT_SAVED. */
static void save_snapshot(node *n, bool install, const void *data, size_t len)
{
    node_cluster *k = n->log->cl;
    if (data != k->save.data) {
        kbuf_clear(&k->save);
        kbuf_append(&k->save, data, len);
    }
    k->saving = true;
    k->save_install = install;
    node_emit_data(n, ACT_SNAPSHOT_SAVE, 0, k->save.data, len, k->save_index, k->save_term);
}

static void install(node *n)
{
    node_log *l = n->log;
    node_cluster *k = l->cl;
    const rf_update *u = &k->raft.out;
    fail_proposals(n, ERR_UNKNOWN);
    for (int i = 0; i < n->eng.ndbs; i++)
        db_flush(engine_db(&n->eng, i));
    const char *why = node_snapshot_load(n, u->snap_data, u->snap_len);
    if (why)
        abort(); /* the leader's own snapshot, checksummed: a bug */
    l->applied = u->snap_index;
    l->applied_term = u->snap_term;
    if (k->saving) {
        /* The state is the leader's now; its save waits for the local one. */
        kbuf_clear(&k->install_buf);
        kbuf_append(&k->install_buf, u->snap_data, u->snap_len);
        k->install_waits = true;
        k->install_index = u->snap_index;
        k->install_term = u->snap_term;
        return;
    }
    k->save_index = u->snap_index;
    k->save_term = u->snap_term;
    save_snapshot(n, true, u->snap_data, u->snap_len);
}

/* The install that waited for a local save to finish. */
static void start_waiting_install(node *n)
{
    node_cluster *k = n->log->cl;
    if (!k->install_waits || k->saving)
        return;
    k->install_waits = false;
    k->save_index = k->install_index;
    k->save_term = k->install_term;
    save_snapshot(n, true, k->install_buf.data, k->install_buf.len);
}

static void apply(node *n)
{
    node_log *l = n->log;
    node_cluster *k = l->cl;
    const rf_update *u = &k->raft.out;
    l->applying = true;
    for (uint64_t i = u->apply_from; i <= u->apply_to; i++) {
        const rf_entry *e = rf_entry_at(&k->raft, i);
        assert(e);
        while (l->qhead < l->qtail && l->q[l->qhead].index < i) {
            sealed *s = &l->q[l->qhead++];
            fail_pends(n, s->p, s->np, ERR_UNKNOWN, false); /* another entry is there */
            drop_sealed(s);
        }
        sealed s = {0};
        bool mine = l->qhead < l->qtail && l->q[l->qhead].index == i;
        if (mine) {
            s = l->q[l->qhead++];
            if (s.term != e->term) {
                /* Another leader's entry took its place. */
                fail_pends(n, s.p, s.np, ERR_UNKNOWN, false);
                drop_sealed(&s);
                mine = false;
            }
        }
        if (e->type == RF_ENTRY_NORMAL) {
            if (!node_log_apply(n, (const char *)e->data, e->len, i, e->term, mine ? s.p : NULL,
                                mine ? s.np : 0))
                abort(); /* an entry that does not decode: a bug */
        } else {
            l->applied = i;
            l->applied_term = e->term;
        }
        if (mine) {
            for (uint32_t j = 0; j < s.np; j++)
                if (s.p[j].conn)
                    want_resume(k, s.p[j].conn);
            drop_sealed(&s);
        }
    }
    l->applying = false;
    if (l->qhead == l->qtail)
        l->qhead = l->qtail = 0;
}

static void reads(node *n)
{
    node_cluster *k = n->log->cl;
    const rf_update *u = &k->raft.out;
    for (uint32_t i = 0; i < u->nreads; i++) {
        node_conn *c = node_find_conn(n, (conn_id)u->reads[i].ctx);
        if (c == NULL || c->read_state != READ_WAIT)
            continue;
        c->read_state = READ_APPLY;
        c->read_index = u->reads[i].index;
    }
    for (uint32_t i = 0; i < u->nread_fails; i++) {
        node_conn *c = node_find_conn(n, (conn_id)u->read_fails[i]);
        if (c == NULL || c->read_state != READ_WAIT)
            continue;
        c->read_state = READ_FAIL;
        want_resume(k, c->id);
    }
}

typedef struct ready_ctx {
    node *n;
} ready_ctx;

static void ready_cb(void *ctx, dict_node *d)
{
    node *n = ((ready_ctx *)ctx)->n;
    node_conn *c = (node_conn *)d;
    if (c->read_state == READ_APPLY && c->read_index <= n->log->applied) {
        c->read_state = READ_OK;
        want_resume(n->log->cl, c->id);
    }
}

static void unblock_cb(void *ctx, dict_node *d)
{
    node *n = ((ready_ctx *)ctx)->n;
    node_conn *c = (node_conn *)d;
    if (engine_client_blocked(c->cl) &&
        engine_unblock_client_with(&n->eng, c->cl,
                                   "-UNBLOCKED force unblock from blocking operation, instance "
                                   "state changed (master -> replica?)",
                                   n->now_ms)) {
        node_emit(n, ACT_SEND, c->id);
        want_resume(n->log->cl, c->id);
    }
}

static void maybe_snapshot(node *n)
{
    node_log *l = n->log;
    node_cluster *k = l->cl;
    bool due = k->o.snapshot_entries && l->applied >= l->snap_index + k->o.snapshot_entries;
    if (k->saving || k->install_waits || k->raft.installing || !(due || k->raft.out.want_snapshot))
        return;
    kbuf_clear(&k->save);
    node_snapshot_encode(n, &k->save, &k->save_index, &k->save_term);
    save_snapshot(n, false, k->save.data, k->save.len);
}

static void fwd_check(node *n, bool leader_changed);
static int on_kv(node *n, rf_id from, const void *data, size_t len);
static void proxy_gc(node *n);

/* Carries out Raft's update of the step just taken. */
static void dir_prune(node *n);

static void handle(node *n)
{
    node_log *l = n->log;
    node_cluster *k = l->cl;
    const rf_update *u = &k->raft.out;
    k->in_handle = true;
    persist(n);
    send_msgs(n);
    if (u->install)
        install(n);
    if (u->apply_from <= u->apply_to)
        apply(n);
    reads(n);
    if (u->leader_changed)
        fwd_check(n, true);
    if (k->was_leader && !leader(k)) {
        /* Deposed: what it proposed may or may not commit under the next
         * leader; what it had not proposed yet never will. Clients blocked
         * here would wait for pushes that now go to another node: they are
         * released with Redis's error for a master turned replica. */
        fail_proposals(n, ERR_UNKNOWN);
        fail_pends(n, l->bp, l->nbp, node_cluster_refusal(n), false);
        l->nbp = l->nops = 0;
        kbuf_clear(&l->ops);
        kbuf_clear(&l->sess);
        l->nsess = 0;
        ready_ctx uc = {n};
        dict_for_each(&n->conns, unblock_cb, &uc);
    }
    k->was_leader = leader(k);
    ready_ctx rc = {n};
    if (u->apply_from <= u->apply_to || u->nreads)
        dict_for_each(&n->conns, ready_cb, &rc);
    maybe_snapshot(n);
    if (k->raft.config_index <= k->raft.commit && k->pruned_config != k->raft.config_index)
        dir_prune(n);
    k->in_handle = false;
}

static void step(node *n, rf_event *ev)
{
    node_cluster *k = n->log->cl;
    ev->now_ms = n->now_ms;
    rf_step(&k->raft, ev);
    handle(n);
}

/* ------------------------------------------------------------------------ */
/* The node's side */

static bool needs_read_index(node *n, node_conn *c, int argc, const resp_slice *argv)
{
    const cmd_entry *ce = engine_lookup(&n->eng, argc, argv);
    if (ce == NULL)
        return false;
    const cmd_def *d = ce->parent ? ce->parent->def : ce->def;
    if (c->cl->flags & CLIENT_MULTI)
        return ce->parent == NULL && strcmp(d->name, "exec") == 0;
    return (d->flags & CMD_READONLY) && d->first_key > 0;
}

int node_cluster_read(node *n, node_conn *c, int argc, const resp_slice *argv)
{
    node_cluster *k = n->log->cl;
    switch (c->read_state) {
    case READ_OK:
        /* The round that confirmed it also covers the reads pipelined
         * behind it: they arrived before it started. */
        c->read_state = READ_NONE;
        return 0;
    case READ_WAIT:
    case READ_APPLY: return -1;
    case READ_FAIL: {
        c->read_state = READ_NONE;
        const char *r = node_cluster_refusal(n);
        if (r == NULL)
            r = "-" NODE_ERR_NOT_LEADER " leader unknown";
        if (c->cl->flags & CLIENT_MULTI)
            engine_end_transaction(&n->eng, c->cl);
        resp_add_error(&c->out, r, strlen(r));
        return 1;
    }
    default: break;
    }
    if (!needs_read_index(n, c, argc, argv) || c->cl->consistency == CONSISTENCY_STALE)
        return 0;
    if (leader(k) && c->cur_end <= c->read_cover && c->read_index <= n->log->applied)
        return 0;
    const char *r = node_cluster_refusal(n);
    if (r) {
        if (c->cl->flags & CLIENT_MULTI)
            engine_end_transaction(&n->eng, c->cl);
        resp_add_error(&c->out, r, strlen(r));
        return 1;
    }
    c->read_state = READ_WAIT;
    c->read_cover = c->in_total;
    k->readq = grow(k->readq, &k->capreadq, k->nreadq, sizeof(conn_id));
    k->readq[k->nreadq++] = c->id;
    return -1;
}

void node_cluster_want_time(node *n) { n->log->cl->want_time = true; }

static void propose(node *n)
{
    node_log *l = n->log;
    node_cluster *k = l->cl;
    pend *p = l->bp;
    uint32_t np = l->nbp;
    l->bp = NULL;
    l->nbp = l->capbp = 0;
    kbuf_clear(&k->prop);
    node_log_build_payload(n, &k->prop);
    rf_event ev = {.type = RF_EV_PROPOSE, .data = k->prop.data, .len = k->prop.len};
    ev.now_ms = n->now_ms;
    rf_step(&k->raft, &ev);
    if (k->raft.err != RF_OK) {
        const char *r = node_cluster_refusal(n);
        fail_pends(n, p, np, r ? r : "-" NODE_ERR_NOT_LEADER " leader unknown", false);
        free(p);
        handle(n);
        return;
    }
    sealed *s = node_log_queue_push(l);
    s->index = rf_last_index(&k->raft);
    s->term = k->raft.term;
    s->p = p;
    s->np = np;
    handle(n);
}

void node_cluster_flush(node *n)
{
    node_log *l = n->log;
    node_cluster *k = l->cl;
    if (!k->started || k->stepping)
        return;
    k->stepping = true;
    for (;;) {
        bool did = false;
        /* The reads of this turn share one ReadIndex round: every one but
         * the last is stepped with `more`. */
        size_t nr = 0;
        for (size_t i = 0; i < k->nreadq; i++) {
            node_conn *c = node_find_conn(n, k->readq[i]);
            if (c && c->read_state == READ_WAIT)
                k->readq[nr++] = k->readq[i];
        }
        k->nreadq = 0;
        for (size_t i = 0; i < nr; i++) {
            node_conn *c = node_find_conn(n, k->readq[i]);
            if (c == NULL || c->read_state != READ_WAIT)
                continue;
            rf_event ev = {.type = RF_EV_READ, .ctx = c->id, .more = i + 1 < nr,
                           .lease = k->o.lease_reads ||
                                    c->cl->consistency == CONSISTENCY_LEASE};
            step(n, &ev);
            did = true;
        }
        if (!l->failed && (l->nops > 0 || k->want_time)) {
            k->want_time = false;
            if (leader(k)) {
                propose(n);
            } else {
                fail_pends(n, l->bp, l->nbp, node_cluster_refusal(n), false);
                l->nbp = l->nops = 0;
                kbuf_clear(&l->ops);
                kbuf_clear(&l->sess);
                l->nsess = 0;
            }
            did = true;
        }
        if (!l->inflight && !l->failed && l->batch[l->out ^ 1].buf.len) {
            wal_batch *b = &l->batch[l->out ^ 1];
            l->out ^= 1;
            l->inflight = true;
            l->st.batches++;
            l->st.bytes += b->buf.len;
            node_emit(n, ACT_LOG_WRITE, 0);
        }
        while (k->nresume) {
            node_conn *c = node_find_conn(n, k->resume[--k->nresume]);
            if (c && !c->closing && c->unapplied == 0 && c->query.len)
                node_conn_resume(n, c);
            did = true;
        }
        if (!did)
            break;
    }
    k->stepping = false;
}

void node_cluster_log_done(node *n, const char *error)
{
    node_log *l = n->log;
    node_cluster *k = l->cl;
    l->inflight = false;
    wal_batch_clear(&l->batch[l->out]);
    if (error) {
        /* A node that cannot write its log can take no further part:
         * it stops answering Raft until it is restarted. */
        l->failed = true;
        snprintf(l->error, sizeof(l->error), "-MISCONF Errors writing to the AOF file: %s", error);
        fail_proposals(n, ERR_UNKNOWN);
        fail_pends(n, l->bp, l->nbp, l->error, false);
        l->nbp = l->nops = 0;
        kbuf_clear(&l->ops);
        kbuf_clear(&l->sess);
        l->nsess = 0;
        node_log_resume_all(n);
        return;
    }
    rf_event ev = {.type = RF_EV_PERSISTED, .seq = k->batch_seq[l->out]};
    step(n, &ev);
    node_cluster_flush(n);
}

static void on_snapshot_saved(node *n, const char *error)
{
    node_log *l = n->log;
    node_cluster *k = l->cl;
    if (!k->saving)
        return;
    k->saving = false;
    if (error) {
        if (k->save_install || k->install_waits) {
            l->failed = true;
            snprintf(l->error, sizeof(l->error), "-MISCONF Errors writing the snapshot: %s",
                     error);
        }
        return;
    }
    if (k->save_install) {
        /* The log from here on continues the snapshot. */
        wal_record mk = {.type = WAL_SNAPSHOT_MARK, .group = l->o.group, .term = k->save_term,
                         .index = k->save_index};
        if (wal_writer_append(&l->w, &l->batch[l->out ^ 1], &mk) != WAL_R_OK && !k->o.raft.bugs)
            abort();
        node_snapshot_done(n, k->save_index, k->save_term, l->st.bytes, n->now_ms);
        rf_event ev = {.type = RF_EV_SNAPSHOT_PERSISTED};
        step(n, &ev);
        return;
    }
    node_snapshot_done(n, k->save_index, k->save_term, l->st.bytes, n->now_ms);
    rf_event ev = {.type = RF_EV_SNAPSHOT, .index = k->save_index, .term = k->save_term,
                   .data = k->save.data, .len = k->save.len,
                   .trailing = k->o.snapshot_entries / 2};
    step(n, &ev);
    start_waiting_install(n);
}

static rf_err operator_step(node *n, rf_event *ev, int64_t now_ms)
{
    node_cluster *k = n->log && n->log->cl && n->log->cl->started ? n->log->cl : NULL;
    if (k == NULL)
        return RF_ERR_NOT_LEADER;
    if (now_ms > n->now_ms)
        n->now_ms = now_ms;
    if (n->log->failed || k->stepping)
        return RF_ERR_NOT_LEADER;
    node_cluster_gc(n);
    step(n, ev);
    rf_err e = k->raft.err;
    node_cluster_flush(n);
    return e;
}

rf_err node_cluster_change(node *n, rf_conf_op op, rf_id id, int64_t now_ms)
{
    rf_event ev = {.type = RF_EV_CONF_CHANGE, .conf_op = (uint8_t)op, .conf_id = id};
    return operator_step(n, &ev, now_ms);
}

rf_err node_cluster_transfer(node *n, rf_id to, int64_t now_ms)
{
    rf_event ev = {.type = RF_EV_TRANSFER, .to = to};
    return operator_step(n, &ev, now_ms);
}

static void promote_learners(node *n);

void node_cluster_step(node *n, const node_event *ev)
{
    node_log *l = n->log;
    node_cluster *k = l ? l->cl : NULL;
    if (!k || !k->started)
        return;
    switch (ev->type) {
    case EV_PEER_DATA: {
        if (l->failed)
            return;
        if (on_kv(n, ev->peer, ev->data, ev->len))
            return;
        rf_msg m;
        if (rf_msg_decode(&m, ev->data, ev->len, &k->scratch) != NULL) {
            k->decode_errors++;
            return;
        }
        rf_event e = {.type = RF_EV_RECV, .msg = &m};
        step(n, &e);
        return;
    }
    case EV_SNAPSHOT_SAVED: on_snapshot_saved(n, ev->log_error); return;
    case EV_TICK:
    case EV_TIMER:
        if (!l->failed && k->raft.out.deadline >= 0 && n->now_ms >= k->raft.out.deadline) {
            rf_event e = {.type = RF_EV_TIMEOUT};
            step(n, &e);
        }
        if (ev->type == EV_TICK) {
            fwd_check(n, false);
            proxy_gc(n);
            promote_learners(n);
        }
        return;
    default: return;
    }
}

int64_t node_cluster_deadline(const node *n)
{
    const node_cluster *k = n->log ? n->log->cl : NULL;
    if (!k || !k->started || n->log->failed)
        return -1;
    return k->raft.out.deadline;
}

void node_cluster_encode_config(const node *n, kbuf *out)
{
    const node_cluster *k = n->log->cl;
    unsigned char buf[RF_CONFIG_ENCODED_MAX];
    rf_config c;
    memset(&c, 0, sizeof(c));
    if (k->started) {
        /* The membership in force at the applied index. */
        c = k->raft.config;
        if (k->raft.config_index > n->log->applied) {
            for (uint64_t i = n->log->applied; i >= k->raft.log_start && i > 0; i--) {
                const rf_entry *e = rf_entry_at(&k->raft, i);
                if (e && e->type == RF_ENTRY_CONFIG && rf_config_decode(&c, e->data, e->len))
                    goto found;
            }
            c = k->raft.snap_index ? k->raft.snap_config : k->o.bootstrap;
        }
    }
found:;
    size_t len = rf_config_encode(&c, buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, kbuf_write);
    msgpack_pack_bin_with_body(&pk, buf, len);
}

/* ------------------------------------------------------------------------ */
/* Forwarding (issue #7): a follower hands what only the leader may run to
 * it over the peer channel and relays the reply. Messages are msgpack
 * arrays whose first element tells them from Raft's (which start with
 * version 1):
 *   [101, req, origin, db, 1, [arg...], mode, sid]       a command
 *   [101, req, origin, db, 2, [[arg...]...], mode, sid]  a transaction's queue (EXEC)
 *   (mode: the client's read consistency; sid: its session, see below)
 *   [102, req, origin, reply, sid]              the reply's RESP bytes
 *   [103, origin]                               the client is gone
 * The leader runs each follower client's commands on a proxy connection of
 * its own (per peer and origin), so they keep their order and take the
 * leader's ordinary path: proposals, ReadIndex reads, blocking. */

/* FWD_RETRY: sent to a leader that is gone; it goes again, the same
 * request, once a leader is known. */
enum { FWD_NONE = 0, FWD_NOLEADER, FWD_WAIT, FWD_DONE, FWD_RETRY };
#define FWD_BATCH_MAX 64             /* commands in one forwarded request */
#define FWD_BATCH_BYTES (256 * 1024) /* ... and about this many bytes of them */
enum {
    KV_REQ = 101, KV_REP = 102, KV_CLOSE = 103,
    CL_HEALTH = 110, CL_JOIN = 111, CL_RELAY = 112, CL_LEAVE = 113,
};

static int leader_admin(node *n, int argc, const resp_slice *argv, resp_slice *out);

/* A client's session id: its connection in this run of the node. */
static uint64_t session_origin(const node_cluster *k, conn_id c)
{
    uint64_t v[2] = {k->incarnation, c};
    return XXH3_64bits(v, sizeof(v));
}
static void on_cluster_msg(node *n, rf_id from, const msgpack_object *a);

#define ERR_NO_LEADER "-CLUSTERDOWN no leader is known: the cluster cannot reach a majority"
#define ERR_FWD_LOST \
    "-UNKNOWN the leader did not answer in time; the command may or may not have been applied"

static int64_t fwd_timeout(const node_cluster *k)
{
    return k->o.forward_timeout_ms > 0 ? k->o.forward_timeout_ms : 3 * k->raft.o.election_ms;
}

static void kv_send(node *n, rf_id to)
{
    node_cluster *k = n->log->cl;
    size_t len = k->fwd_buf.len;
    node_emit_data(n, ACT_PEER_SEND, to, keep_kbuf(k, &k->fwd_buf), len, 0, 0);
    n->outbox[n->noutbox - 1].service = NODE_SVC_KV;
}

static void pack_args(msgpack_packer *pk, int argc, const resp_slice *argv)
{
    msgpack_pack_array(pk, (size_t)argc);
    for (int i = 0; i < argc; i++)
        msgpack_pack_bin_with_body(pk, argv[i].ptr, argv[i].len);
}

/* Where a request's commands end (node_conn's fwd_ends, proxy_ends). */
static uint64_t *ends_new(void)
{
    uint64_t *e = malloc(FWD_BATCH_MAX * sizeof(*e));
    if (e == NULL)
        abort();
    return e;
}

/* A command pipelined behind the one being forwarded that can go in the
 * same request: one that also needs the leader, never blocks, and changes
 * nothing about the connection (MULTI, SELECT, ... run here, in order). */
static bool batchable(node *n, node_conn *c, int argc, const resp_slice *argv)
{
    const cmd_entry *ce = engine_lookup(&n->eng, argc, argv);
    if (ce == NULL || (ce->def->flags & CMD_BLOCKING) || leader_admin(n, argc, argv, NULL))
        return false;
    engine_route rt = engine_route_command(&n->eng, c->cl, argc, argv, n->now_ms);
    if (rt == ROUTE_PROPOSE)
        return true;
    return rt == ROUTE_RUN && needs_read_index(n, c, argc, argv) &&
           c->cl->consistency != CONSISTENCY_STALE;
}

/* Packs the commands complete in c's query buffer after the current one
 * that can join it (batchable), recording where each ends; returns how
 * many. */
static uint32_t pack_pipelined(node *n, node_conn *c, msgpack_packer *pk, bool pack)
{
    size_t pos = c->query.len - (size_t)(c->in_total - c->cur_end);
    resp_parser p;
    resp_parser_init(&p, &n->lim.resp);
    uint32_t nb = 0;
    size_t bytes = 0;
    uint64_t end = c->cur_end;
    while (nb + 1 < FWD_BATCH_MAX && bytes < FWD_BATCH_BYTES && pos < c->query.len) {
        resp_command cmd;
        if (resp_parse(&p, c->query.data + pos, c->query.len - pos, &cmd) != RESP_OK)
            break;
        if (cmd.argc == 0 || !batchable(n, c, cmd.argc, cmd.argv))
            break;
        pos += cmd.len;
        end += cmd.len;
        bytes += cmd.len;
        if (pack)
            pack_args(pk, cmd.argc, cmd.argv);
        c->fwd_ends[1 + nb++] = end;
    }
    resp_parser_free(&p);
    return nb;
}

static void send_request(node *n, node_conn *c, int argc, const resp_slice *argv)
{
    node_cluster *k = n->log->cl;
    kbuf_clear(&k->fwd_buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &k->fwd_buf, kbuf_write);
    bool exec = (c->cl->flags & CLIENT_MULTI) != 0;
    msgpack_pack_array(&pk, 8);
    msgpack_pack_uint64(&pk, KV_REQ);
    c->fwd_id = ++k->fwd_seq;
    msgpack_pack_uint64(&pk, c->fwd_id);
    msgpack_pack_uint64(&pk, c->id);
    msgpack_pack_uint64(&pk, (uint64_t)c->cl->db);
    if (c->fwd_ends == NULL)
        c->fwd_ends = ends_new();
    c->fwd_ends[0] = c->cur_end;
    c->fwd_nends = 1;
    /* Commands pipelined behind this one go with it (kind 3): one round
     * trip to the leader for the lot. */
    uint32_t more = exec || c->fwd_blocking || c->fwd_failover ? 0
                                                              : pack_pipelined(n, c, NULL, false);
    msgpack_pack_uint64(&pk, exec ? 2 : more ? 3 : 1);
    if (exec) {
        msgpack_pack_array(&pk, (size_t)c->cl->nqueue);
        for (int i = 0; i < c->cl->nqueue; i++)
            pack_args(&pk, c->cl->queue[i].argc, c->cl->queue[i].argv);
    } else if (more) {
        msgpack_pack_array(&pk, 1 + more);
        pack_args(&pk, argc, argv);
        pack_pipelined(n, c, &pk, true);
        c->fwd_nends = 1 + more;
    } else {
        pack_args(&pk, argc, argv);
    }
    msgpack_pack_uint64(&pk, c->cl->consistency);
    msgpack_pack_uint64(&pk, session_origin(k, c->id));
    kbuf_clear(&c->fwd_req);
    kbuf_append(&c->fwd_req, k->fwd_buf.data, k->fwd_buf.len);
    c->fwd_to = k->raft.leader;
    c->fwd_open = 1;
    c->fwd_refused_by = 0;
    kv_send(n, k->raft.leader);
    c->fwd_state = FWD_WAIT;
}

int node_cluster_forward(node *n, node_conn *c, engine_route rt, int argc, const resp_slice *argv)
{
    node_cluster *k = n->log->cl;
    if (!k->started || !k->o.forward || c->proxy_peer)
        return 0;
    if (c->fwd_skip_to) {
        if (c->cur_end <= c->fwd_skip_to)
            return 1; /* a command of the request answered: its reply went out */
        c->fwd_skip_to = 0;
    }
    switch (c->fwd_state) {
    case FWD_DONE:
        /* The replies of every command of the request, in order. */
        kbuf_append(&c->out, c->fwd_reply.data, c->fwd_reply.len);
        kbuf_clear(&c->fwd_reply);
        c->fwd_state = FWD_NONE;
        if (c->fwd_nends > 1)
            c->fwd_skip_to = c->fwd_ends[c->fwd_nends - 1];
        if (c->cl->flags & CLIENT_MULTI)
            engine_end_transaction(&n->eng, c->cl); /* the leader ran it */
        return 1;
    case FWD_WAIT:
    case FWD_RETRY:
    case FWD_NOLEADER: return -1;
    default: break;
    }
    if (leader(k) || n->log->failed)
        return 0;
    c->fwd_local_seq = 0;
    c->fwd_nends = 0;
    resp_slice admin[4];
    int nadmin = leader_admin(n, argc, argv, admin);
    c->fwd_failover = false;
    if (nadmin) {
        /* A transfer to this node changes the leader before its reply
         * comes: that change must not fail it (fwd_check). */
        c->fwd_failover = nadmin == 4 && arg_is(&argv[1], "failover");
        argc = nadmin;
        argv = admin;
    } else if (rt == ROUTE_RUN && (!needs_read_index(n, c, argc, argv) ||
                                   c->cl->consistency == CONSISTENCY_STALE)) {
        return 0;
    }
    /* The next leader answers it: a read round this node started for it
     * while it led (failed since, or confirmed and waiting for the apply)
     * is no longer its, and must not be left for a later command to find
     * (a failure would answer it with an error; a success would let this
     * node, leader again, serve a read without a round of its own). */
    c->read_state = READ_NONE;
    c->read_cover = 0;
    c->fwd_used = true;
    c->fwd_since = n->now_ms;
    const cmd_entry *ce = engine_lookup(&n->eng, argc, argv);
    c->fwd_blocking = !(c->cl->flags & CLIENT_MULTI) && ce && (ce->def->flags & CMD_BLOCKING);
    if (k->raft.leader == 0) {
        c->fwd_state = FWD_NOLEADER; /* the tick sends it once one is known */
        return -1;
    }
    send_request(n, c, argc, argv);
    return -1;
}

static void fwd_finish(node *n, node_conn *c, const void *reply, size_t len)
{
    kbuf_clear(&c->fwd_reply);
    kbuf_append(&c->fwd_reply, reply, len);
    c->fwd_state = FWD_DONE;
    if (n->log->cl->in_handle)
        want_resume(n->log->cl, c->id); /* no command runs inside handle() */
    else
        node_conn_resume(n, c);
}

static void fwd_error(node *n, node_conn *c, const char *err)
{
    kbuf e = KBUF_INIT;
    for (uint32_t i = 0; i < (c->fwd_nends ? c->fwd_nends : 1); i++) {
        resp_add_error(&e, err, strlen(err));
        engine_count_error(&n->eng, err, strlen(err));
    }
    fwd_finish(n, c, e.data, e.len);
    kbuf_free(&e);
}

void node_cluster_fwd_closed(node *n, node_conn *c)
{
    node_cluster *k = n->log ? n->log->cl : NULL;
    if (!k || !k->started || !k->raft.leader || leader(k))
        return;
    kbuf_clear(&k->fwd_buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &k->fwd_buf, kbuf_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_uint64(&pk, KV_CLOSE);
    msgpack_pack_uint64(&pk, c->id);
    kv_send(n, k->raft.leader);
}

typedef struct fwd_scan {
    node *n;
    conn_id *ids;
    size_t nids, cap;
    bool leader_changed;
} fwd_scan;

static void fwd_scan_cb(void *ctx, dict_node *d)
{
    fwd_scan *f = ctx;
    node_conn *c = (node_conn *)d;
    if (c->fwd_state == FWD_WAIT || c->fwd_state == FWD_NOLEADER || c->fwd_state == FWD_RETRY) {
        f->ids = grow(f->ids, &f->cap, f->nids, sizeof(conn_id));
        f->ids[f->nids++] = c->id;
    }
}

/* Forwarded commands that waited too long, lost their leader, or may now
 * go to a new one. */
static void fwd_check(node *n, bool leader_changed)
{
    node_cluster *k = n->log->cl;
    if (!k->o.forward)
        return;
    fwd_scan f = {n, NULL, 0, 0, leader_changed};
    dict_for_each(&n->conns, fwd_scan_cb, &f);
    for (size_t i = 0; i < f.nids; i++) {
        node_conn *c = node_find_conn(n, f.ids[i]);
        if (c == NULL)
            continue;
        bool late = n->now_ms - c->fwd_since >= fwd_timeout(k);
        if (c->fwd_state == FWD_WAIT || c->fwd_state == FWD_RETRY) {
            /* A blocking command may wait at the leader as long as it
             * likes; a leader change ends it. Anything else goes again to
             * the next leader, the same request: the leader's sessions
             * answer it if it was applied already (never twice). */
            if (late && !c->fwd_blocking) {
                /* Unknown if any send may have been applied; a definite
                 * "no leader" if every one was refused. */
                fwd_error(n, c, c->fwd_open ? ERR_FWD_LOST : ERR_NO_LEADER);
            } else if ((leader_changed || c->fwd_state == FWD_RETRY) && !c->fwd_failover) {
                if (c->fwd_blocking) {
                    fwd_error(n, c, ERR_FWD_LOST);
                } else if (leader(k)) {
                    /* It leads now: the request runs here, same session. */
                    c->fwd_state = FWD_NONE;
                    c->fwd_local_seq = c->fwd_id;
                    if (k->in_handle)
                        want_resume(k, c->id);
                    else
                        node_conn_resume(n, c);
                } else if (k->raft.leader == 0 ||
                           (c->fwd_state == FWD_RETRY && k->raft.leader == c->fwd_refused_by)) {
                    c->fwd_state = FWD_RETRY; /* until a leader is known (another one) */
                } else if (k->raft.leader != c->fwd_to || c->fwd_state == FWD_RETRY) {
                    c->fwd_to = k->raft.leader;
                    c->fwd_open++;
                    c->fwd_state = FWD_WAIT;
                    kbuf_clear(&k->fwd_buf);
                    kbuf_append(&k->fwd_buf, c->fwd_req.data, c->fwd_req.len);
                    kv_send(n, c->fwd_to);
                } else {
                    c->fwd_state = FWD_WAIT; /* the same leader again: it has it */
                }
            }
        } else if (c->fwd_state == FWD_NOLEADER) {
            if (leader(k) || k->raft.leader) {
                c->fwd_state = FWD_NONE; /* route() sends it, or runs it here */
                node_conn_resume(n, c);
            } else if (late) {
                fwd_error(n, c, ERR_NO_LEADER);
            }
        }
    }
    free(f.ids);
}

/* A proxy still busy with a request: its reply is not sent yet. */
static bool proxy_busy(const node_conn *c)
{
    return c->proxy_req || c->query.len || c->unapplied || c->read_state ||
           engine_client_blocked(c->cl);
}

/* An idle proxy on the leader for peer's client origin (created when there
 * is none). A request never joins one still busy with an earlier request
 * (one the follower gave up on, or sends again): each proxy's output is
 * one reply, to one request. */
static node_conn *proxy_get(node *n, rf_id peer, uint64_t origin)
{
    node_cluster *k = n->log->cl;
    for (size_t i = 0; i < k->nproxies; i++) {
        node_conn *c = node_find_conn(n, k->proxies[i]);
        if (c && c->proxy_peer == peer && c->proxy_origin == origin && !proxy_busy(c))
            return c;
    }
    char addr[48];
    snprintf(addr, sizeof(addr), "peer-%llu", (unsigned long long)peer);
    const char *rej;
    uint64_t saved = n->lim.maxclients;
    n->lim.maxclients = UINT64_MAX; /* proxies are not the clients maxclients counts */
    conn_id id = node_client_open(n, n->now_ms, "", addr, -1, &rej);
    n->lim.maxclients = saved;
    node_conn *c = id ? node_find_conn(n, id) : NULL;
    if (c == NULL)
        return NULL;
    c->proxy_peer = peer;
    c->proxy_origin = origin;
    c->cl->authenticated = true; /* the follower checked its client */
    k->proxies = grow(k->proxies, &k->capproxies, k->nproxies, sizeof(conn_id));
    k->proxies[k->nproxies++] = id;
    return c;
}

static void proxy_drop(node *n, size_t i)
{
    node_cluster *k = n->log->cl;
    node_conn *c = node_find_conn(n, k->proxies[i]);
    k->proxies[i] = k->proxies[--k->nproxies];
    if (c)
        node_conn_free(n, c);
}

static void put_resp_cmd(kbuf *q, int argc, const resp_slice *argv)
{
    char hdr[32];
    int m = snprintf(hdr, sizeof(hdr), "*%d\r\n", argc);
    kbuf_append(q, hdr, (size_t)m);
    for (int i = 0; i < argc; i++) {
        m = snprintf(hdr, sizeof(hdr), "$%zu\r\n", argv[i].len);
        kbuf_append(q, hdr, (size_t)m);
        kbuf_append(q, argv[i].ptr, argv[i].len);
        kbuf_append(q, "\r\n", 2);
    }
}

static bool mp_u64(const msgpack_object *o, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return false;
    *v = o->via.u64;
    return true;
}

/* argv from a msgpack array of bins (pointing into the object). */
static int mp_argv(const msgpack_object *o, resp_slice *argv, int cap)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0 ||
        o->via.array.size > (uint32_t)cap)
        return -1;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *a = &o->via.array.ptr[i];
        if (a->type != MSGPACK_OBJECT_BIN)
            return -1;
        argv[i] = (resp_slice){a->via.bin.ptr, a->via.bin.size};
    }
    return (int)o->via.array.size;
}

#define FWD_MAX_ARGS 4096

static void on_kv_request(node *n, rf_id from, const msgpack_object *a)
{
    uint64_t req, origin, dbid, kind, mode = CONSISTENCY_LINEARIZABLE, sid = 0;
    uint32_t na = a->via.array.size;
    if (na < 6 || na > 8 ||
        (na >= 7 && (!mp_u64(&a->via.array.ptr[6], &mode) || mode > CONSISTENCY_STALE)) ||
        (na >= 8 && !mp_u64(&a->via.array.ptr[7], &sid)) ||
        !mp_u64(&a->via.array.ptr[1], &req) ||
        !mp_u64(&a->via.array.ptr[2], &origin) || !mp_u64(&a->via.array.ptr[3], &dbid) ||
        !mp_u64(&a->via.array.ptr[4], &kind) || dbid >= (uint64_t)n->eng.ndbs)
        return;
    node_conn *c = proxy_get(n, from, origin);
    if (c == NULL)
        return;
    c->proxy_req = req;
    c->proxy_last_ms = n->now_ms;
    c->cl->db = (int)dbid;
    c->cl->consistency = (uint8_t)mode;
    c->proxy_sid = na >= 8 ? sid : origin;
    resp_slice *argv = malloc(FWD_MAX_ARGS * sizeof(*argv));
    if (argv == NULL)
        abort();
    size_t before = c->query.len;
    const msgpack_object *body = &a->via.array.ptr[5];
    if (c->proxy_ends == NULL)
        c->proxy_ends = ends_new();
    c->proxy_nends = 0;
    if (kind == 1) {
        int argc = mp_argv(body, argv, FWD_MAX_ARGS);
        if (argc >= 0) {
            put_resp_cmd(&c->query, argc, argv);
            c->proxy_ends[c->proxy_nends++] = c->in_total + (c->query.len - before);
        }
    } else if (kind == 3 && body->type == MSGPACK_OBJECT_ARRAY &&
               body->via.array.size <= FWD_BATCH_MAX) {
        /* Pipelined commands: run in order, their replies go back together. */
        for (uint32_t i = 0; i < body->via.array.size; i++) {
            int argc = mp_argv(&body->via.array.ptr[i], argv, FWD_MAX_ARGS);
            if (argc < 0) {
                c->query.len = before;
                c->proxy_nends = 0;
                break;
            }
            put_resp_cmd(&c->query, argc, argv);
            c->proxy_ends[c->proxy_nends++] = c->in_total + (c->query.len - before);
        }
    } else if (kind == 2 && body->type == MSGPACK_OBJECT_ARRAY) {
        /* The queue is built here as the client built it there; only
         * EXEC's reply goes back. */
        kbuf scratch = KBUF_INIT;
        static const resp_slice multi = {"MULTI", 5}, exec = {"EXEC", 4};
        engine_end_transaction(&n->eng, c->cl);
        engine_execute(&n->eng, c->cl, 1, &multi, n->now_ms, &scratch);
        for (uint32_t i = 0; i < body->via.array.size; i++) {
            int argc = mp_argv(&body->via.array.ptr[i], argv, FWD_MAX_ARGS);
            if (argc < 0)
                break;
            engine_execute(&n->eng, c->cl, argc, argv, n->now_ms, &scratch);
        }
        kbuf_free(&scratch);
        put_resp_cmd(&c->query, 1, &exec);
        c->proxy_ends[c->proxy_nends++] = c->in_total + (c->query.len - before);
    }
    free(argv);
    /* What the proxy received counts as its client's input: a read round
     * covers only the reads that arrived before it started (in_total). */
    c->in_total += c->query.len - before;
    if (c->query.len)
        node_conn_resume(n, c);
    else
        c->proxy_req = 0; /* nothing decoded: the follower times out */
}

void node_cluster_proxy_flush(node *n)
{
    node_cluster *k = n->log ? n->log->cl : NULL;
    if (k == NULL || !k->nproxies)
        return;
    for (size_t i = 0; i < k->nproxies; i++) {
        node_conn *c = node_find_conn(n, k->proxies[i]);
        if (c == NULL || !c->proxy_req || !c->out.len || c->unapplied || c->query.len ||
            c->read_state || engine_client_blocked(c->cl))
            continue;
        kbuf_clear(&k->fwd_buf);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &k->fwd_buf, kbuf_write);
        msgpack_pack_array(&pk, 5);
        msgpack_pack_uint64(&pk, KV_REP);
        msgpack_pack_uint64(&pk, c->proxy_req);
        msgpack_pack_uint64(&pk, c->proxy_origin);
        msgpack_pack_bin_with_body(&pk, c->out.data, c->out.len);
        msgpack_pack_uint64(&pk, c->proxy_sid);
        kv_send(n, c->proxy_peer);
        kbuf_clear(&c->out);
        c->proxy_req = 0;
        c->proxy_last_ms = n->now_ms;
    }
}

/* Proxies idle for a minute go (their follower's client may be gone with
 * its node, without a KV_CLOSE). */
static void proxy_gc(node *n)
{
    node_cluster *k = n->log->cl;
    for (size_t i = 0; i < k->nproxies;) {
        node_conn *c = node_find_conn(n, k->proxies[i]);
        if (c == NULL || (!c->proxy_req && !c->unapplied && n->now_ms - c->proxy_last_ms > 60000))
            proxy_drop(n, i);
        else
            i++;
    }
}

/* A message on the peer channel that is not Raft's: 1 handled, 0 not KV. */
static int on_kv(node *n, rf_id from, const void *data, size_t len)
{
    const unsigned char *p = data;
    if (len < 2 || p[0] < 0x92 || p[0] > 0x9f || p[1] < KV_REQ || p[1] > CL_LEAVE ||
        (p[1] > KV_CLOSE && p[1] < CL_HEALTH))
        return 0;
    /* msgpack-c allocates what each array claims before reading it: the
     * bytes are checked first, so nothing a peer declares allocates more
     * than its message's size allows. */
    mp_reader chk;
    mpr_init(&chk, data, len);
    mpr_skip(&chk, 8);
    if (chk.err || chk.p != chk.end)
        return 1;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    if (msgpack_unpack_next(&u, data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_ARRAY || off != len) {
        msgpack_unpacked_destroy(&u);
        return 1;
    }
    const msgpack_object *a = &u.data;
    uint64_t kind = a->via.array.ptr[0].via.u64;
    if (kind == KV_REQ) {
        on_kv_request(n, from, a);
    } else if (kind == KV_REP && a->via.array.size == 5) {
        /* The session id tells this run's client from one of a run before
         * (connection ids and request numbers start again at a restart). */
        uint64_t req, origin, sid;
        const msgpack_object *r = &a->via.array.ptr[3];
        node_conn *c;
        if (mp_u64(&a->via.array.ptr[1], &req) && mp_u64(&a->via.array.ptr[2], &origin) &&
            mp_u64(&a->via.array.ptr[4], &sid) && r->type == MSGPACK_OBJECT_BIN &&
            (c = node_find_conn(n, (conn_id)origin)) && c->fwd_state == FWD_WAIT &&
            c->fwd_id == req && c->fwd_to == from && sid == session_origin(n->log->cl, c->id)) {
            static const char nl[] = "-" NODE_ERR_NOT_LEADER " ",
                              xa[] = "-EXECABORT Transaction discarded because of: " NODE_ERR_NOT_LEADER " ";
            size_t rl = r->via.bin.size;
            const char *rp = r->via.bin.ptr;
            if ((rl >= sizeof(nl) - 1 && memcmp(rp, nl, sizeof(nl) - 1) == 0) ||
                (rl >= sizeof(xa) - 1 && memcmp(rp, xa, sizeof(xa) - 1) == 0)) {
                /* It went to a node that no longer leads, which ran none of
                 * it: an earlier send may have been applied elsewhere, so
                 * this is no answer; it goes again to the next leader. */
                c->fwd_open--;
                c->fwd_refused_by = from;
                c->fwd_state = FWD_RETRY;
            } else {
                fwd_finish(n, c, r->via.bin.ptr, r->via.bin.size);
            }
        }
    } else if (kind >= CL_HEALTH && kind <= CL_LEAVE) {
        on_cluster_msg(n, from, a);
    } else if (kind == KV_CLOSE && a->via.array.size == 2) {
        uint64_t origin;
        node_cluster *k = n->log->cl;
        if (mp_u64(&a->via.array.ptr[1], &origin))
            for (size_t i = 0; i < k->nproxies;) {
                node_conn *c = node_find_conn(n, k->proxies[i]);
                if (c && c->proxy_peer == from && c->proxy_origin == origin)
                    proxy_drop(n, i);
                else
                    i++;
            }
    }
    msgpack_unpacked_destroy(&u);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Start-up */

void node_cluster_replay(void *ctx, const wal_record *r, const wal_visit *v)
{
    node *n = ctx;
    node_log *l = n->log;
    if (l == NULL)
        l = node_log_get(n);
    node_cluster *k = cluster_get(n);
    const wal_effect *ef = v ? &v->effect : NULL;
    if (ef && ef->drop_from) {
        size_t i = 0;
        while (i < k->nrp && k->rp[i].index < ef->drop_from)
            i++;
        rp_clear(k, i);
    }
    if (r->type == WAL_SNAPSHOT_MARK) {
        size_t i = 0;
        if (ef && ef->reset)
            i = k->nrp;
        else
            while (i < k->nrp && k->rp[i].index <= r->index)
                i++;
        for (size_t j = 0; j < i; j++)
            kbuf_free(&k->rp[j].data);
        if (i < k->nrp)
            memmove(k->rp, k->rp + i, (k->nrp - i) * sizeof(*k->rp));
        k->nrp -= i;
        return;
    }
    if (!wal_type_is_entry(r->type))
        return;
    k->rp = grow(k->rp, &k->caprp, k->nrp, sizeof(*k->rp));
    replayed *e = &k->rp[k->nrp++];
    memset(e, 0, sizeof(*e));
    e->index = r->index;
    e->term = r->term;
    e->type = r->type;
    kbuf_append(&e->data, r->payload, r->payload_len);
}

static void cluster_command(void *ctx, cmd_ctx *x);

bool node_cluster_start(node *n, wal_recovery *rc, const node_log_opts *o,
                        const node_cluster_opts *co, char *err, size_t cap)
{
    node_log *l = node_log_get(n);
    node_cluster *k = cluster_get(n);
    k->o = *co;
    l->o = *o;
    l->failed = false;
    l->error[0] = '\0';
    /* Every leader's entries carry the group's seed: a restarted node that
     * leads before it applied its log must not seal entries with another. */
    if (!engine_set_data_seed(&n->eng, co->data_seed)) {
        snprintf(err, cap, "the snapshot's data seed is not the group's");
        return false;
    }
    rf_init(&k->raft, &co->raft, &co->bootstrap, n->now_ms);
    k->started = true;
    int64_t t = n->now_ms;
    k->incarnation = XXH3_64bits_withSeed(&t, sizeof(t), co->raft.seed ^ 0x696e63ULL);
    if (l->snap_index) {
        rf_config c = co->bootstrap;
        if (l->snap_members_len && !rf_config_decode(&c, l->snap_members, l->snap_members_len)) {
            snprintf(err, cap, "the snapshot's membership does not decode");
            return false;
        }
        rf_restore_snapshot(&k->raft, l->snap_index, l->snap_term, &c);
    }
    bool resumed = false;
    if (rc && rc->started && rc->res.status != WAL_CORRUPT) {
        if (rc->log.has_hard_state)
            rf_restore_hard_state(&k->raft, rc->log.hs_term, rc->log.hs_vote);
        wal_fit fit;
        if (!node_log_resume_writer(n, rc, o, &fit, err, cap))
            return false;
        resumed = true;
        if (fit == WAL_FIT_SUPERSEDED) {
            rp_clear(k, 0); /* the snapshot supersedes what was replayed */
            if (!node_log_mark_snapshot(n, o, err, cap))
                return false;
        }
    }
    if (!resumed)
        wal_writer_init(&l->w, o->group, o->seg_max, o->salt_seed, l->snap_index + 1,
                        l->snap_term);
    for (size_t i = 0; i < k->nrp; i++)
        if (k->rp[i].index > l->snap_index)
            rf_restore_entry(&k->raft, k->rp[i].index, k->rp[i].term, k->rp[i].type,
                             k->rp[i].data.data, k->rp[i].data.len);
    rp_clear(k, 0);
    /* Raft has the snapshot's index, not its bytes: should a follower need
     * them, it asks (want_snapshot) and maybe_snapshot takes one. */
    rf_start(&k->raft, l->applied, n->now_ms);
    l->st.enabled = true;
    node_log_hook_serve(n);
    n->eng.log_expiry = true;
    if (n->eng.log_time < n->now_ms && l->applied == l->snap_index)
        n->eng.log_time = n->now_ms;
    k->was_leader = false;
    n->eng.cluster_cmd = cluster_command;
    n->eng.cluster_ctx = n;
    handle(n);
    dir_prune(n);
    node_cluster_flush(n);
    return true;
}

/* ------------------------------------------------------------------------ */
/* The member directory (node.h), JOIN and HEALTH. Messages on
 * NODE_SVC_CLUSTER, msgpack arrays like the forwarding's:
 *   [110, from, term, leader, role, commit, applied, [addr...]]   HEALTH
 *   [111, from, addr]                                             JOIN
 *   [112, from, addr]      a JOIN passed on to the leader by the member
 *                          the joining node reached
 *   [113, from]            LEAVE: from asks the leader to remove it
 *   addr = [id, bus host, bus port, host, port, http port]
 * A node's word on itself replaces what others said; what it passes on of
 * other nodes only fills gaps, and only for members (or, on a node that is
 * no member yet, for anyone: it learns the cluster from them). */

static rf_id self_id(const node_cluster *k) { return k->raft.o.id; }

static bool is_member(const node_cluster *k, rf_id id)
{
    return rf_config_is_voter(&k->raft.config, id) || rf_config_is_learner(&k->raft.config, id);
}

static int dir_find(const node_cluster *k, rf_id id)
{
    for (size_t i = 0; i < k->ndir; i++)
        if (k->dir[i].id == id)
            return (int)i;
    return -1;
}

static void dir_drop(node_cluster *k, size_t i)
{
    memmove(&k->dir[i], &k->dir[i + 1], (k->ndir - i - 1) * sizeof(k->dir[0]));
    memmove(&k->dir_link[i], &k->dir_link[i + 1], (k->ndir - i - 1) * sizeof(k->dir_link[0]));
    memmove(&k->dir_join[i], &k->dir_join[i + 1], (k->ndir - i - 1) * sizeof(k->dir_join[0]));
    k->ndir--;
    k->dir_ver++;
}

bool node_dir_set(node *n, const node_addr *a)
{
    node_cluster *k = cluster_get(n);
    if (a->id == 0)
        return false;
    int i = dir_find(k, a->id);
    if (i >= 0) {
        if (memcmp(&k->dir[i], a, sizeof(*a)) == 0)
            return false;
        k->dir[i] = *a;
        k->dir_ver++;
        return true;
    }
    if (k->ndir == DIR_MAX)
        return false;
    size_t at = 0;
    while (at < k->ndir && k->dir[at].id < a->id)
        at++;
    memmove(&k->dir[at + 1], &k->dir[at], (k->ndir - at) * sizeof(k->dir[0]));
    memmove(&k->dir_link[at + 1], &k->dir_link[at], (k->ndir - at) * sizeof(k->dir_link[0]));
    memmove(&k->dir_join[at + 1], &k->dir_join[at], (k->ndir - at) * sizeof(k->dir_join[0]));
    k->dir[at] = *a;
    k->dir_link[at] = false;
    k->dir_join[at] = 0;
    k->ndir++;
    k->dir_ver++;
    return true;
}

const node_addr *node_dir_get(const node *n, rf_id id)
{
    const node_cluster *k = n->log ? n->log->cl : NULL;
    int i = k ? dir_find(k, id) : -1;
    return i >= 0 ? &k->dir[i] : NULL;
}

size_t node_dir_list(const node *n, node_addr *out, size_t cap)
{
    const node_cluster *k = n->log ? n->log->cl : NULL;
    if (k == NULL)
        return 0;
    for (size_t i = 0; i < k->ndir && i < cap; i++)
        out[i] = k->dir[i];
    return k->ndir;
}

uint64_t node_dir_version(const node *n)
{
    const node_cluster *k = n->log ? n->log->cl : NULL;
    return k ? k->dir_ver : 0;
}

void node_dir_link(node *n, rf_id id, bool up)
{
    node_cluster *k = n->log ? n->log->cl : NULL;
    int i = k ? dir_find(k, id) : -1;
    if (i >= 0)
        k->dir_link[i] = up;
}

/* Forgets who left the membership once the change is committed (a
 * removed leader still has to commit its own removal, so it stays
 * reachable until then), and only on a member: the driver stops dialing
 * them. Joining nodes are kept a while. */
static void dir_prune(node *n)
{
    node_cluster *k = n->log->cl;
    if (!k->started || !is_member(k, self_id(k)) || k->raft.config_index > k->raft.commit)
        return;
    k->pruned_config = k->raft.config_index;
    for (size_t i = 0; i < k->ndir;) {
        rf_id id = k->dir[i].id;
        bool joining = k->dir_join[i] && n->now_ms - k->dir_join[i] < DIR_JOIN_KEEP_MS;
        if (id != self_id(k) && !is_member(k, id) && !joining)
            dir_drop(k, i);
        else
            i++;
    }
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t len = strlen(s);
    msgpack_pack_str_with_body(pk, s, len);
}

static void pack_addr(msgpack_packer *pk, const node_addr *a)
{
    msgpack_pack_array(pk, 6);
    msgpack_pack_uint64(pk, a->id);
    pack_str(pk, a->bus_host);
    msgpack_pack_int64(pk, a->bus_port);
    pack_str(pk, a->host);
    msgpack_pack_int64(pk, a->port);
    msgpack_pack_int64(pk, a->http_port);
}

static bool mp_str(const msgpack_object *o, char *out, size_t cap)
{
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size >= cap)
        return false;
    /* An empty string's ptr may be NULL: neither memchr nor memcpy takes it. */
    if (o->via.str.size > 0) {
        if (memchr(o->via.str.ptr, '\0', o->via.str.size))
            return false;
        memcpy(out, o->via.str.ptr, o->via.str.size);
    }
    out[o->via.str.size] = '\0';
    return true;
}

static bool mp_port(const msgpack_object *o, int *out, int min)
{
    int64_t v;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= 65535)
        v = (int64_t)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o->via.i64 >= min)
        v = o->via.i64;
    else
        return false;
    *out = (int)v;
    return true;
}

static bool unpack_addr(const msgpack_object *o, node_addr *a)
{
    memset(a, 0, sizeof(*a));
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 6)
        return false;
    const msgpack_object *f = o->via.array.ptr;
    return mp_u64(&f[0], &a->id) && a->id != 0 && mp_str(&f[1], a->bus_host, sizeof(a->bus_host)) &&
           mp_port(&f[2], &a->bus_port, 0) && mp_str(&f[3], a->host, sizeof(a->host)) &&
           mp_port(&f[4], &a->port, 0) && mp_port(&f[5], &a->http_port, -1);
}

bool node_cluster_health(node *n, kbuf *out)
{
    node_cluster *k = n->log ? n->log->cl : NULL;
    if (k == NULL || !k->started)
        return false;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, kbuf_write);
    msgpack_pack_array(&pk, 8);
    msgpack_pack_uint64(&pk, CL_HEALTH);
    msgpack_pack_uint64(&pk, self_id(k));
    msgpack_pack_uint64(&pk, k->raft.term);
    msgpack_pack_uint64(&pk, k->raft.leader);
    msgpack_pack_uint64(&pk, (uint64_t)k->raft.role);
    msgpack_pack_uint64(&pk, k->raft.commit);
    msgpack_pack_uint64(&pk, n->log->applied);
    msgpack_pack_array(&pk, k->ndir);
    for (size_t i = 0; i < k->ndir; i++)
        pack_addr(&pk, &k->dir[i]);
    return true;
}

bool node_cluster_joining(const node *n)
{
    const node_cluster *k = n->log ? n->log->cl : NULL;
    /* Only a node that knows no membership at all joins (a new one, or one
     * whose disk was wiped): one that was removed knows the membership it
     * is not in, and stays out. */
    return k && k->started && k->raft.config.nvoters == 0;
}

bool node_cluster_join(node *n, kbuf *out)
{
    node_cluster *k = n->log ? n->log->cl : NULL;
    if (!node_cluster_joining(n))
        return false;
    int i = dir_find(k, self_id(k));
    if (i < 0)
        return false;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, kbuf_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint64(&pk, CL_JOIN);
    msgpack_pack_uint64(&pk, self_id(k));
    pack_addr(&pk, &k->dir[i]);
    return true;
}

/* What a peer says of a node: its own word replaces, hearsay fills gaps. */
static void dir_learn(node *n, rf_id from, const node_addr *a)
{
    node_cluster *k = n->log->cl;
    if (a->id == self_id(k))
        return;
    if (a->id == from) {
        /* A node that left is not heard (it may not know it left). */
        if (is_member(k, a->id) || !is_member(k, self_id(k)))
            node_dir_set(n, a);
        return;
    }
    if (dir_find(k, a->id) < 0 && (is_member(k, a->id) || !is_member(k, self_id(k))))
        node_dir_set(n, a);
}

static void on_join(node *n, const node_addr *a)
{
    node_cluster *k = n->log->cl;
    if (a->id == self_id(k))
        return;
    node_dir_set(n, a); /* its own word, first or second hand */
    int i = dir_find(k, a->id);
    if (i >= 0)
        k->dir_join[i] = n->now_ms;
    if (!leader(k)) {
        /* Passed on to the leader, which may not know the node yet. */
        if (k->raft.leader && k->raft.leader != self_id(k)) {
            kbuf_clear(&k->fwd_buf);
            msgpack_packer pk;
            msgpack_packer_init(&pk, &k->fwd_buf, kbuf_write);
            msgpack_pack_array(&pk, 3);
            msgpack_pack_uint64(&pk, CL_RELAY);
            msgpack_pack_uint64(&pk, self_id(k));
            pack_addr(&pk, a);
            size_t len = k->fwd_buf.len;
            node_emit_data(n, ACT_PEER_SEND, k->raft.leader, keep_kbuf(k, &k->fwd_buf), len, 0, 0);
            n->outbox[n->noutbox - 1].service = NODE_SVC_CLUSTER;
        }
        return;
    }
    if (k->stepping || k->in_handle || n->log->failed)
        return;
    /* A voter that asks to join lost its state (a wiped disk): it is taken
     * out first, and comes back as a learner on its next JOIN. */
    rf_conf_op op = rf_config_is_voter(&k->raft.config, a->id)     ? RF_CONF_REMOVE
                    : rf_config_is_learner(&k->raft.config, a->id) ? 0
                                                                    : RF_CONF_ADD_LEARNER;
    if (op == 0 || a->id == self_id(k))
        return;
    rf_event ev = {.type = RF_EV_CONF_CHANGE, .conf_op = (uint8_t)op, .conf_id = a->id};
    step(n, &ev);
}

static void on_cluster_msg(node *n, rf_id from, const msgpack_object *a)
{
    node_addr ad;
    uint64_t sender;
    if (a->via.array.size < 2 || !mp_u64(&a->via.array.ptr[1], &sender) || sender != from)
        return;
    if (a->via.array.ptr[0].via.u64 == CL_LEAVE) {
        node_cluster *k = n->log->cl;
        if (a->via.array.size == 2 && leader(k) && is_member(k, from) && !k->in_handle &&
            !n->log->failed) {
            rf_event ev = {.type = RF_EV_CONF_CHANGE, .conf_op = RF_CONF_REMOVE, .conf_id = from};
            step(n, &ev);
        }
        return;
    }
    if (a->via.array.size < 3)
        return;
    uint64_t kind = a->via.array.ptr[0].via.u64;
    if (kind == CL_JOIN || kind == CL_RELAY) {
        /* A JOIN speaks for its sender; a relay comes from a member. */
        if (a->via.array.size == 3 && unpack_addr(&a->via.array.ptr[2], &ad) &&
            (kind == CL_JOIN ? ad.id == from : is_member(n->log->cl, from)))
            on_join(n, &ad);
        return;
    }
    if (a->via.array.size != 8 || a->via.array.ptr[7].type != MSGPACK_OBJECT_ARRAY)
        return;
    const msgpack_object *list = &a->via.array.ptr[7];
    for (uint32_t i = 0; i < list->via.array.size && i < DIR_MAX; i++)
        if (unpack_addr(&list->via.array.ptr[i], &ad))
            dir_learn(n, from, &ad);
}

/* The leader makes caught-up learners voters, one change at a time. */
static void promote_learners(node *n)
{
    node_cluster *k = n->log->cl;
    const rf_core *r = &k->raft;
    if (!leader(k) || n->log->failed || r->commit < r->noop_index || r->config_index > r->commit)
        return;
    for (uint32_t i = 0; i < r->config.nlearners; i++) {
        rf_id id = r->config.learners[i];
        int slot = rf_member_slot(r, id);
        if (slot < 0 || r->prog[slot].match < r->commit)
            continue;
        rf_event ev = {.type = RF_EV_CONF_CHANGE, .conf_op = RF_CONF_PROMOTE, .conf_id = id};
        step(n, &ev);
        return;
    }
}

/* ------------------------------------------------------------------------ */
/* CLUSTER, READONLY, READWRITE (core/cmd/clustercmd.c) */

/* A CLUSTER subcommand that only the leader can carry out, as it must go
 * to the leader: FORGET, FAILOVER TO, and FAILOVER from a voter (which
 * becomes FAILOVER TO <this node>). 0 if argv is none of those. */
static int leader_admin(node *n, int argc, const resp_slice *argv, resp_slice *out)
{
    node_cluster *k = n->log->cl;
    if (argc < 2 || !arg_is(&argv[0], "cluster"))
        return 0;
    if (arg_is(&argv[1], "forget") && argc == 3) {
        if (out)
            memcpy(out, argv, 3 * sizeof(*argv));
        return 3;
    }
    if (!arg_is(&argv[1], "failover"))
        return 0;
    if (argc == 4 && arg_is(&argv[2], "to")) {
        if (out)
            memcpy(out, argv, 4 * sizeof(*argv));
        return 4;
    }
    if (argc > 3 || (argc == 3 && !arg_is(&argv[2], "force") && !arg_is(&argv[2], "takeover")))
        return 0; /* a syntax error, answered here */
    if (!rf_config_is_voter(&k->raft.config, self_id(k)))
        return 0; /* a learner cannot lead: answered here */
    if (out == NULL)
        return 4;
    int len = snprintf(k->admin_id, sizeof(k->admin_id), "%llu", (unsigned long long)self_id(k));
    out[0] = argv[0];
    out[1] = argv[1];
    out[2] = (resp_slice){"TO", 2};
    out[3] = (resp_slice){k->admin_id, (size_t)len};
    return 4;
}

static const char *const consistency_names[] = {"linearizable", "lease", "stale"};

static void reply_rf_err(cmd_ctx *x, rf_err e, rf_id id)
{
    switch (e) {
    case RF_OK: reply_ok(x); return;
    case RF_ERR_NOT_LEADER: reply_error(x, "-TRYAGAIN this node stopped leading; retry"); return;
    case RF_ERR_TRANSFERRING:
    case RF_ERR_NOT_READY:
    case RF_ERR_CONF_PENDING:
    case RF_ERR_NOT_CAUGHT_UP: reply_errorf(x, "-TRYAGAIN %s", rf_err_text(e)); return;
    case RF_ERR_CONF_INVALID:
        reply_errorf(x, "Unknown node %llu", (unsigned long long)id);
        return;
    default: reply_errorf(x, "%s", rf_err_text(e)); return;
    }
}

static bool parse_id(cmd_ctx *x, const resp_slice *a, rf_id *id)
{
    long long v;
    if (!arg_ll(x, a, &v, NULL))
        return false;
    if (v <= 0) {
        reply_errorf(x, "Unknown node %lld", v);
        return false;
    }
    *id = (rf_id)v;
    return true;
}

static void cluster_info(node *n, cmd_ctx *x)
{
    node_cluster *k = n->log->cl;
    const rf_core *r = &k->raft;
    char buf[1024];
    int len = snprintf(
        buf, sizeof(buf),
        "cluster_state:%s\r\ncluster_known_nodes:%u\r\ncluster_size:%u\r\n"
        "cluster_current_epoch:%llu\r\ncluster_my_epoch:%llu\r\n"
        "cluster_my_id:%llu\r\ncluster_role:%s\r\ncluster_leader_id:%llu\r\n"
        "cluster_voters:%u\r\ncluster_learners:%u\r\n"
        "cluster_commit_index:%llu\r\ncluster_applied_index:%llu\r\n",
        r->leader && !n->log->failed ? "ok" : "fail", r->config.nvoters + r->config.nlearners,
        r->config.nvoters, (unsigned long long)r->term, (unsigned long long)r->term,
        (unsigned long long)self_id(k),
        rf_config_is_learner(&r->config, self_id(k)) && r->role != RF_LEADER
            ? "learner"
            : rf_role_name(r->role),
        (unsigned long long)r->leader, r->config.nvoters, r->config.nlearners,
        (unsigned long long)r->commit, (unsigned long long)n->log->applied);
    reply_bulk(x, buf, (size_t)len);
}

static void nodes_line(node *n, kbuf *b, rf_id id)
{
    node_cluster *k = n->log->cl;
    const rf_core *r = &k->raft;
    int i = dir_find(k, id);
    const node_addr *a = i >= 0 ? &k->dir[i] : NULL;
    bool me = id == self_id(k);
    char flags[64], master[24];
    snprintf(flags, sizeof(flags), "%s%s%s%s", me ? "myself," : "",
             id == r->leader ? "master" : "slave",
             rf_config_is_learner(&r->config, id) ? ",nofailover" : "",
             a == NULL || a->host[0] == '\0' ? ",noaddr" : "");
    if (id == r->leader || r->leader == 0)
        snprintf(master, sizeof(master), "-");
    else
        snprintf(master, sizeof(master), "%llu", (unsigned long long)r->leader);
    char line[512];
    int len = snprintf(line, sizeof(line), "%llu %s:%d@%d %s %s 0 0 %llu %s\n",
                       (unsigned long long)id, a ? a->host : "", a ? a->port : 0,
                       a ? a->bus_port : 0, flags, master, (unsigned long long)r->term,
                       me || (i >= 0 && k->dir_link[i]) ? "connected" : "disconnected");
    kbuf_append(b, line, (size_t)len);
}

static void cluster_nodes(node *n, cmd_ctx *x)
{
    node_cluster *k = n->log->cl;
    const rf_config *c = &k->raft.config;
    kbuf b = KBUF_INIT;
    rf_id ids[2 * RF_MAX_MEMBERS];
    uint32_t nids = 0;
    for (uint32_t i = 0; i < c->nvoters; i++)
        ids[nids++] = c->voters[i];
    for (uint32_t i = 0; i < c->nlearners; i++)
        ids[nids++] = c->learners[i];
    if (!is_member(k, self_id(k)))
        ids[nids++] = self_id(k); /* joining: it still shows itself */
    for (uint32_t i = 1; i < nids; i++)
        for (uint32_t j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
            rf_id t = ids[j];
            ids[j] = ids[j - 1];
            ids[j - 1] = t;
        }
    for (uint32_t i = 0; i < nids; i++)
        nodes_line(n, &b, ids[i]);
    reply_bulk(x, b.data ? b.data : "", b.len);
    kbuf_free(&b);
}

/* An operator's change, stepped at once (never inside handle()). */
static rf_err admin_step(node *n, rf_event *ev)
{
    node_cluster *k = n->log->cl;
    if (k->in_handle || n->log->failed)
        return RF_ERR_NOT_LEADER;
    step(n, ev);
    return k->raft.err;
}

static void cluster_command(void *ctx, cmd_ctx *x)
{
    node *n = ctx;
    node_cluster *k = n->log->cl;
    const resp_slice *argv = x->argv;
    if (arg_is(&argv[0], "readonly") || arg_is(&argv[0], "readwrite")) {
        x->cl->consistency =
            arg_is(&argv[0], "readonly") ? CONSISTENCY_STALE : CONSISTENCY_LINEARIZABLE;
        reply_ok(x);
        return;
    }
    const resp_slice *sub = &argv[1];
    if (arg_is(sub, "myid")) {
        reply_bulk_ll(x, (long long)self_id(k));
    } else if (arg_is(sub, "info")) {
        cluster_info(n, x);
    } else if (arg_is(sub, "nodes")) {
        cluster_nodes(n, x);
    } else if (arg_is(sub, "consistency")) {
        if (x->argc == 2) {
            reply_bulk_cstr(x, consistency_names[x->cl->consistency]);
            return;
        }
        for (int i = 0; i < 3 && x->argc == 3; i++)
            if (arg_is(&argv[2], consistency_names[i])) {
                x->cl->consistency = (uint8_t)i;
                reply_ok(x);
                return;
            }
        reply_error(x, ERR_SYNTAX);
    } else if (arg_is(sub, "leave")) {
        /* This node asks to be removed: the leader does it (LEAVE on the
         * cluster service), or it is the leader and does it itself. */
        if (leader(k)) {
            rf_event ev = {.type = RF_EV_CONF_CHANGE, .conf_op = RF_CONF_REMOVE,
                           .conf_id = self_id(k)};
            reply_rf_err(x, admin_step(n, &ev), self_id(k));
            return;
        }
        if (!is_member(k, self_id(k))) {
            reply_error(x, "this node is not a member of the cluster");
            return;
        }
        if (k->raft.leader == 0 || n->log->failed) {
            reply_error(x, ERR_NO_LEADER);
            return;
        }
        kbuf_clear(&k->fwd_buf);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &k->fwd_buf, kbuf_write);
        msgpack_pack_array(&pk, 2);
        msgpack_pack_uint64(&pk, CL_LEAVE);
        msgpack_pack_uint64(&pk, self_id(k));
        size_t len = k->fwd_buf.len;
        node_emit_data(n, ACT_PEER_SEND, k->raft.leader, keep_kbuf(k, &k->fwd_buf), len, 0, 0);
        n->outbox[n->noutbox - 1].service = NODE_SVC_CLUSTER;
        reply_simple(x, "OK");
    } else if (arg_is(sub, "forget")) {
        rf_id id;
        if (!parse_id(x, &argv[2], &id))
            return;
        if (!leader(k)) {
            reply_error(x, node_cluster_refusal(n));
            return;
        }
        rf_event ev = {.type = RF_EV_CONF_CHANGE, .conf_op = RF_CONF_REMOVE, .conf_id = id};
        reply_rf_err(x, admin_step(n, &ev), id);
    } else if (arg_is(sub, "failover")) {
        if (x->argc == 4 && arg_is(&argv[2], "to")) {
            rf_id id;
            if (!parse_id(x, &argv[3], &id))
                return;
            if (!leader(k)) {
                reply_error(x, node_cluster_refusal(n));
                return;
            }
            rf_event ev = {.type = RF_EV_TRANSFER, .to = id};
            reply_rf_err(x, admin_step(n, &ev), id);
            return;
        }
        if (x->argc > 3 ||
            (x->argc == 3 && !arg_is(&argv[2], "force") && !arg_is(&argv[2], "takeover"))) {
            reply_error(x, ERR_SYNTAX);
            return;
        }
        if (leader(k))
            reply_error(x, "You should send CLUSTER FAILOVER to a replica");
        else if (!rf_config_is_voter(&k->raft.config, self_id(k)))
            reply_error(x, "a learner cannot become the leader (it is promoted once caught up)");
        else
            reply_error(x, node_cluster_refusal(n)); /* not forwarded: no leader known */
    } else {
        reply_errorf(x, "unknown subcommand '%.*s'. Try CLUSTER HELP.", (int)sub->len, sub->ptr);
    }
}

/* ------------------------------------------------------------------------ */
/* Sessions: de-duplicating requests a follower sent again */

static int sess_cmp(const sess_rec *r, uint64_t peer, uint64_t origin)
{
    if (r->peer != peer)
        return r->peer < peer ? -1 : 1;
    if (r->origin != origin)
        return r->origin < origin ? -1 : 1;
    return 0;
}

/* Where (peer, origin) is or would go. */
static size_t sess_find(const node_cluster *k, uint64_t peer, uint64_t origin, bool *found)
{
    size_t lo = 0, hi = k->nsess;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = sess_cmp(&k->sess[mid], peer, origin);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static sess_rec *sess_put(node_cluster *k, uint64_t peer, uint64_t origin)
{
    bool found;
    size_t at = sess_find(k, peer, origin, &found);
    if (found)
        return &k->sess[at];
    k->sess = grow(k->sess, &k->capsess, k->nsess, sizeof(*k->sess));
    memmove(&k->sess[at + 1], &k->sess[at], (k->nsess - at) * sizeof(*k->sess));
    k->nsess++;
    sess_rec *r = &k->sess[at];
    memset(r, 0, sizeof(*r));
    r->peer = peer;
    r->origin = origin;
    return r;
}

static void sess_clear(node_cluster *k)
{
    for (size_t i = 0; i < k->nsess; i++)
        sess_rec_free(&k->sess[i]);
    k->nsess = 0;
}

/* Starts r's record of request req, or adds command kk's reply to it. */
static void sess_note(sess_rec *r, uint64_t req, uint32_t kk, const void *reply, size_t len,
                      bool keep)
{
    if (req != r->req) {
        r->req = req;
        r->nreps = 0;
        kbuf_clear(&r->replies);
    }
    if (r->nreps == r->capreps) {
        r->capreps = r->capreps ? r->capreps * 2 : 1;
        r->reps = realloc(r->reps, r->capreps * sizeof(*r->reps));
        if (r->reps == NULL)
            abort();
    }
    bool kept = keep && r->replies.len + len <= SESS_REPLY_MAX;
    r->reps[r->nreps++] = (sess_rep){.k = kk, .off = (uint32_t)r->replies.len,
                                     .len = kept ? (uint32_t)len : 0, .kept = kept};
    if (kept)
        kbuf_append(&r->replies, reply, len);
}

bool node_cluster_session(node *n, node_conn *c, node_session *s)
{
    node_cluster *k = n->log->cl;
    /* A request's commands are numbered by their place in it (found by
     * where they end), the same at the leader and here. */
    if (c->proxy_peer && c->proxy_req) {
        for (uint32_t i = 0; i < c->proxy_nends; i++)
            if (c->proxy_ends[i] == c->cur_end) {
                *s = (node_session){.peer = c->proxy_peer, .origin = c->proxy_sid,
                                    .seq = (c->proxy_req << 16) | (i + 1)};
                return true;
            }
        return false;
    }
    if (c->fwd_local_seq) {
        /* Forwarded before this node led: the same session as at the
         * leader it went to (peer: this node, origin: this client). */
        for (uint32_t i = 0; i < c->fwd_nends; i++)
            if (c->fwd_ends[i] == c->cur_end) {
                *s = (node_session){.peer = self_id(k), .origin = session_origin(k, c->id),
                                    .seq = (c->fwd_local_seq << 16) | (i + 1)};
                return true;
            }
    }
    return false;
}

static const kbuf seen_unknown = {
    .data = (char *)"-UNKNOWN a newer request of this client was applied first\r\n",
    .len = 59, .cap = 0};
static const kbuf seen_big = {
    .data = (char *)"-UNKNOWN the command was applied; its reply was not kept\r\n",
    .len = 58, .cap = 0};

const kbuf *node_cluster_session_seen(node *n, const node_session *s, uint64_t index)
{
    node_cluster *k = cluster_get(n);
    bool found;
    size_t at = sess_find(k, s->peer, s->origin, &found);
    /* An expired session counts as gone whether or not this node has
     * dropped it yet: the answer depends on the log alone. */
    uint64_t req = s->seq >> 16;
    uint32_t kk = (uint32_t)(s->seq & 0xffff);
    if (!found || req > k->sess[at].req || k->sess[at].index + SESS_KEEP_ENTRIES < index)
        return NULL;
    const sess_rec *r = &k->sess[at];
    if (req < r->req)
        return &seen_unknown;
    for (uint32_t i = 0; i < r->nreps; i++)
        if (r->reps[i].k == kk) {
            if (!r->reps[i].kept)
                return &seen_big;
            k->seen_view = (kbuf){.data = r->reps[i].len ? r->replies.data + r->reps[i].off
                                                         : (char *)"",
                                  .len = r->reps[i].len, .cap = 0};
            return &k->seen_view;
        }
    return NULL; /* this command of the request was not applied yet */
}

void node_cluster_session_done(node *n, const node_session *s, const void *reply, size_t len,
                               bool keep, uint64_t index)
{
    node_cluster *k = cluster_get(n);
    sess_rec *r = sess_put(k, s->peer, s->origin);
    sess_note(r, s->seq >> 16, (uint32_t)(s->seq & 0xffff), reply, len, keep);
    r->index = index;
    if (++k->sess_done % SESS_GC_EVERY)
        return;
    /* Only what has expired goes (session_seen ignores it already), so
     * when a node drops it does not change any answer. */
    size_t w = 0;
    for (size_t i = 0; i < k->nsess; i++) {
        if (k->sess[i].index + SESS_KEEP_ENTRIES < index) {
            sess_rec_free(&k->sess[i]);
            continue;
        }
        k->sess[w++] = k->sess[i];
    }
    k->nsess = w;
}

/* Snapshots: [[peer, origin, req, index, [[k, reply or nil]...]]...] */
void node_cluster_encode_sessions(const node *n, kbuf *out)
{
    const node_cluster *k = n->log->cl;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, kbuf_write);
    msgpack_pack_array(&pk, k->nsess);
    for (size_t i = 0; i < k->nsess; i++) {
        const sess_rec *r = &k->sess[i];
        msgpack_pack_array(&pk, 5);
        msgpack_pack_uint64(&pk, r->peer);
        msgpack_pack_uint64(&pk, r->origin);
        msgpack_pack_uint64(&pk, r->req);
        msgpack_pack_uint64(&pk, r->index);
        msgpack_pack_array(&pk, r->nreps);
        for (uint32_t j = 0; j < r->nreps; j++) {
            msgpack_pack_array(&pk, 2);
            msgpack_pack_uint64(&pk, r->reps[j].k);
            if (r->reps[j].kept)
                msgpack_pack_bin_with_body(&pk, r->reps[j].len ? r->replies.data + r->reps[j].off : "",
                                           r->reps[j].len);
            else
                msgpack_pack_nil(&pk);
        }
    }
}

bool node_cluster_load_sessions(node *n, mp_reader *r)
{
    node_cluster *k = cluster_get(n);
    sess_clear(k);
    if (r == NULL)
        return true;
    uint32_t ns = mpr_array(r, 6, "too many sessions");
    for (uint32_t i = 0; i < ns && !r->err; i++) {
        if (mpr_array(r, 1, "truncated") != 5)
            return false;
        uint64_t peer = mpr_uint(r), origin = mpr_uint(r), req = mpr_uint(r), index = mpr_uint(r);
        if (r->err || (k->nsess && sess_cmp(&k->sess[k->nsess - 1], peer, origin) >= 0))
            return false;
        sess_rec *s = sess_put(k, peer, origin);
        s->req = req;
        s->index = index;
        uint32_t nr = mpr_array(r, 3, "too many replies");
        for (uint32_t j = 0; j < nr && !r->err; j++) {
            if (mpr_array(r, 1, "truncated") != 2)
                return false;
            uint64_t kk = mpr_uint(r);
            bool kept = mpr_peek(r) != 0xc0;
            uint32_t len = 0;
            const unsigned char *p = NULL;
            if (kept)
                p = mpr_bin(r, &len, "truncated");
            else
                r->p++;
            if (r->err || kk > 0xffff)
                return false;
            sess_note(s, req, (uint32_t)kk, p, len, kept);
        }
    }
    return !r->err;
}

bool node_cluster_session_last(const node *n, uint64_t peer, node_session *out)
{
    const node_cluster *k = n->log ? n->log->cl : NULL;
    const sess_rec *best = NULL;
    for (size_t i = 0; k && i < k->nsess; i++)
        if (k->sess[i].peer == peer && (best == NULL || k->sess[i].index > best->index))
            best = &k->sess[i];
    if (best)
        *out = (node_session){.peer = best->peer, .origin = best->origin,
                              .seq = (best->req << 16) |
                                     (best->nreps ? best->reps[best->nreps - 1].k : 0)};
    return best != NULL;
}
