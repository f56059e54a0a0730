/* The node's write path over the log: propose, persist, apply, reply
 * (decision 0007; node.h has the contract).
 *
 * Entry payload (msgpack): [time_ms, data seed, [op, ...]], one entry per
 * batch (the data seed: engine_set_data_seed, the same in every entry of a
 * log; a replay takes it from the first one). An op
 * is [db, arg, arg, ...] (one command) or [db, [arg, ...], [arg, ...], ...]
 * (a transaction: its queued commands, run as MULTI, them, EXEC). What runs
 * an op depends only on the state and the entry (its time; the PRNG seeded
 * from its index and term), so applying it live and replaying it after a
 * restart give the same data. Who gets the reply is not in the log: the
 * node keeps, per unapplied entry, the connection of each op. */
#include <assert.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/node/log_internal.h"
#include "core/store/codec.h"
#include "core/util/mpread.h"
#include "core/wal/le.h"
#include "core/wal/snapshot.h"

/* ------------------------------------------------------------------------ */
/* msgpack: entries are written with msgpack-c's packer and read back with
 * core/util/mpread.h, which checks every bound and allocates nothing (an
 * entry is read on every apply). An array's count is never more than the
 * bytes left, so a count from damaged bytes never sizes an allocation
 * beyond what the payload could hold. */

static msgpack_packer packer(kbuf *b)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, kbuf_write);
    return pk;
}

/* A bin as an argument (an empty one after an error). */
static resp_slice mp_read_bin(mp_reader *r)
{
    uint32_t len;
    const unsigned char *p = mpr_bin(r, &len, "truncated");
    return p ? (resp_slice){(const char *)p, len} : (resp_slice){"", 0};
}

/* ------------------------------------------------------------------------ */

void node_log_opts_default(node_log_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->group = 0;
    o->term = 1;
    o->seg_max = 64u << 20;
    o->entry_max = 4u << 20;
}

node_log *node_log_get(node *n)
{
    if (n->log == NULL) {
        n->log = calloc(1, sizeof(*n->log));
        if (n->log == NULL)
            abort();
        node_log_opts_default(&n->log->o);
        n->log->detached = engine_client_new_detached(&n->eng);
        n->log->detached->flags |= CLIENT_FROM_LOG;
    }
    return n->log;
}

static bool log_on(const node *n) { return n->log && n->log->st.enabled; }

bool node_log_enabled(const node *n) { return log_on(n); }

void node_log_free(node *n)
{
    node_log *l = n->log;
    if (l == NULL)
        return;
    if (l->st.enabled)
        wal_writer_free(&l->w);
    node_cluster_free(n);
    for (int i = 0; i < 2; i++)
        wal_batch_free(&l->batch[i]);
    kbuf_free(&l->ops);
    kbuf_free(&l->sess);
    free(l->rsess);
    free(l->bp);
    for (size_t i = l->qhead; i < l->qtail; i++) {
        kbuf_free(&l->q[i].payload);
        free(l->q[i].p);
    }
    free(l->q);
    engine_client_free_detached(&n->eng, l->detached);
    kbuf_free(&l->scratch);
    free(l->argv);
    free(l);
    n->log = NULL;
}

static resp_slice *argv_room(node_log *l, size_t n)
{
    if (n > l->capargv) {
        l->capargv = n < 16 ? 16 : n;
        free(l->argv);
        l->argv = malloc(l->capargv * sizeof(*l->argv));
        if (l->argv == NULL)
            abort();
    }
    return l->argv;
}

/* ------------------------------------------------------------------------ */
/* Applying an entry */

/* Seeds the PRNG from the entry, so every node (and every replay) draws the
 * same numbers while applying it. */
static void seed_for(engine *e, uint64_t index, uint64_t term)
{
    kprng_seed(&e->rng, index * 0x9e3779b97f4a7c15ULL ^ term ^ 0x6b65656c6c6f67ULL);
}

static const resp_slice S_MULTI = {"MULTI", 5}, S_EXEC = {"EXEC", 4};

/* Reads past an op's arguments (bins, or a transaction's arrays of bins). */
static bool skip_op_body(mp_reader *r, uint32_t nargs)
{
    for (uint32_t i = 0; i < nargs && !r->err; i++) {
        if (mpr_is_array(r)) {
            uint32_t argc = mpr_array(r, 1, "truncated");
            for (uint32_t j = 0; j < argc && !r->err; j++)
                mp_read_bin(r);
        } else {
            mp_read_bin(r);
        }
    }
    return !r->err;
}

/* Runs a transaction op for cl: MULTI and the queue (replies to scratch),
 * then EXEC (reply to out). The client's own transaction state is reset
 * first: whether it runs was decided when it was proposed. */
static bool run_exec_op(node *n, mp_reader *r, uint32_t nargs, client *cl, int64_t t, kbuf *out)
{
    node_log *l = n->log;
    engine *e = &n->eng;
    engine_end_transaction(e, cl);
    engine_execute(e, cl, 1, &S_MULTI, t, &l->scratch);
    for (uint32_t i = 0; i < nargs; i++) {
        uint32_t argc = mpr_array(r, 1, "truncated");
        if (r->err || argc == 0)
            return false;
        resp_slice *argv = argv_room(l, argc);
        for (uint32_t j = 0; j < argc; j++)
            argv[j] = mp_read_bin(r);
        if (r->err)
            return false;
        /* With nobody to answer, only the writes (and SELECT, which says
         * where they go) matter; what else the transaction held (CONFIG
         * SET, BGSAVE, CLIENT KILL...) happened when it was applied live
         * and must not happen again. */
        if (cl == l->detached) {
            const cmd_entry *ce = engine_lookup(e, (int)argc, argv);
            bool select = ce && ce->parent == NULL && !strcmp(ce->def->name, "select");
            if (ce == NULL || (!(ce->def->flags & CMD_WRITE) && !select))
                continue;
        }
        engine_execute(e, cl, (int)argc, argv, t, &l->scratch);
    }
    engine_execute(e, cl, 1, &S_EXEC, t, out);
    return true;
}

/* Applies one entry: live (p: each op's connection) or replayed (p NULL).
 * Returns false if the payload does not decode (a bug or damage the
 * checksum missed: the caller stops). */
bool node_log_apply(node *n, const char *payload, size_t len, uint64_t index, uint64_t term,
                    const pend *p, uint32_t np)
{
    node_log *l = n->log;
    engine *e = &n->eng;
    mp_reader r;
    mpr_init(&r, payload, len);
    uint32_t nfields = mpr_array(&r, 1, "truncated");
    if (nfields != 3 && nfields != 4)
        return false;
    int64_t t = (int64_t)mpr_uint(&r);
    uint64_t data_seed = mpr_uint(&r);
    uint32_t nsess = nfields == 4 ? mpr_array(&r, 5, "truncated") : 0;
    if (nsess > l->caprsess) {
        l->caprsess = nsess;
        l->rsess = realloc(l->rsess, nsess * sizeof(*l->rsess));
        if (l->rsess == NULL)
            abort();
    }
    for (uint32_t k = 0; k < nsess; k++) {
        node_session *ss = &l->rsess[k];
        if (mpr_array(&r, 1, "truncated") != 4)
            return false;
        ss->k = (uint32_t)mpr_uint(&r);
        ss->peer = mpr_uint(&r);
        ss->origin = mpr_uint(&r);
        ss->seq = mpr_uint(&r);
        if (k > 0 && ss->k <= l->rsess[k - 1].k)
            return false;
    }
    uint32_t nops = mpr_array(&r, 1, "truncated");
    uint32_t si = 0;
    if (r.err || (p && nops != np) || !engine_set_data_seed(e, data_seed))
        return false;
    seed_for(e, index, term);
    e->keep_expired = false; /* an entry's commands delete what expired by its time */
    for (uint32_t k = 0; k < nops; k++) {
        uint32_t nargs = mpr_array(&r, 1, "truncated");
        uint64_t dbid = mpr_uint(&r);
        if (r.err || nargs < 2 || dbid >= (uint64_t)e->ndbs)
            return false;
        nargs--;
        node_conn *c = p && p[k].conn ? node_find_conn(n, p[k].conn) : NULL;
        client *cl = c ? c->cl : l->detached;
        kbuf *out = c ? &c->out : &l->scratch;
        const node_session *ss = si < nsess && l->rsess[si].k == k ? &l->rsess[si++] : NULL;
        const kbuf *seen = ss ? node_cluster_session_seen(n, ss, index) : NULL;
        if (seen) {
            /* A request sent again: its first run's reply, not a second run. */
            if (!skip_op_body(&r, nargs))
                return false;
            if (c && p[k].kind == OP_EXEC)
                engine_end_transaction(e, c->cl);
            kbuf_append(out, seen->data, seen->len);
            kbuf_clear(&l->scratch);
            if (c) {
                c->unapplied--;
                node_emit(n, ACT_SEND, c->id);
            }
            continue;
        }
        size_t reply_from = out->len;
        cl->db = (int)dbid;
        uint32_t saved = cl->flags & CLIENT_FROM_LOG;
        cl->flags |= CLIENT_FROM_LOG;
        bool ok = true;
        bool exec = mpr_is_array(&r);
        if (exec) {
            ok = run_exec_op(n, &r, nargs, cl, t, out);
        } else {
            resp_slice *argv = argv_room(l, nargs);
            for (uint32_t j = 0; j < nargs; j++)
                argv[j] = mp_read_bin(&r);
            ok = !r.err;
            if (ok && p && p[k].kind == OP_SERVE) {
                /* A blocked client's serving pop: its reply if it still
                 * waits; otherwise the pop alone, as a replay makes it. */
                if (!(c && engine_serve_apply(e, c->cl, (int)dbid, (int)nargs, argv, t))) {
                    l->detached->db = (int)dbid;
                    engine_execute(e, l->detached, (int)nargs, argv, t, &l->scratch);
                }
            } else if (ok) {
                engine_execute(e, cl, (int)nargs, argv, t, out);
            }
        }
        cl->flags = (cl->flags & ~CLIENT_FROM_LOG) | saved;
        /* A transaction replayed without its client runs only its writes:
         * its reply here is not the one its client got, so none is kept. */
        if (ok && ss)
            node_cluster_session_done(n, ss, out->len > reply_from ? out->data + reply_from : "",
                                      out->len - reply_from,
                                      !(exec && c == NULL), index);
        kbuf_clear(&l->scratch);
        if (!ok)
            return false;
        if (c) {
            if (p[k].kind != OP_SERVE)
                c->unapplied--;
            if (c->out.len)
                node_emit(n, ACT_SEND, c->id);
        }
    }
    l->applied = index;
    l->applied_term = term;
    if ((uint64_t)t > l->last_time)
        l->last_time = (uint64_t)t;
    if (t > e->log_time)
        e->log_time = t;
    return true;
}

/* ------------------------------------------------------------------------ */
/* Proposing */

static void pend_push(node_log *l, conn_id conn, uint8_t kind)
{
    if (l->nbp == l->capbp) {
        l->capbp = l->capbp ? l->capbp * 2 : 64;
        l->bp = realloc(l->bp, l->capbp * sizeof(*l->bp));
        if (l->bp == NULL)
            abort();
    }
    l->bp[l->nbp++] = (pend){conn, kind};
    l->nops++;
}

void node_log_build_payload(node *n, kbuf *out)
{
    node_log *l = n->log;
    /* Time never goes back along the log, whatever the clock does. */
    uint64_t t = n->now_ms > 0 ? (uint64_t)n->now_ms : 0;
    if (t < l->last_time)
        t = l->last_time;
    l->last_time = t;
    msgpack_packer pk = packer(out);
    /* [time, seed, [op...]], or with sessions [time, seed, [session...], [op...]] */
    msgpack_pack_array(&pk, l->nsess ? 4 : 3);
    msgpack_pack_uint64(&pk, t);
    msgpack_pack_uint64(&pk, n->eng.data_seed);
    if (l->nsess) {
        msgpack_pack_array(&pk, l->nsess);
        kbuf_append(out, l->sess.data, l->sess.len);
    }
    msgpack_pack_array(&pk, l->nops);
    kbuf_append(out, l->ops.data, l->ops.len);
    l->nops = 0;
    kbuf_clear(&l->ops);
    l->nsess = 0;
    kbuf_clear(&l->sess);
}

sealed *node_log_queue_push(node_log *l)
{
    /* Only grows here: node_log_done walks the queue while applying, and
     * what it applies may seal (a big entry); it compacts before. */
    if (l->qtail == l->qcap) {
        l->qcap = l->qcap ? l->qcap * 2 : 16;
        l->q = realloc(l->q, l->qcap * sizeof(*l->q));
        if (l->q == NULL)
            abort();
    }
    sealed *s = &l->q[l->qtail++];
    memset(s, 0, sizeof(*s));
    return s;
}

/* Seals the entry being built (even an empty one) into a record of the
 * filling batch. */
static void seal_entry(node *n)
{
    node_log *l = n->log;
    sealed *s = node_log_queue_push(l);
    node_log_build_payload(n, &s->payload);
    s->index = l->w.log.last + 1;
    s->p = l->bp;
    s->np = l->nbp;
    l->bp = NULL;
    l->nbp = l->capbp = 0;
    wal_record rec = {.type = WAL_ENTRY_NORMAL, .group = l->o.group, .term = l->term,
                      .index = s->index, .payload = s->payload.data,
                      .payload_len = s->payload.len};
    wal_reason why = wal_writer_append(&l->w, &l->batch[l->out ^ 1], &rec);
    if (why != WAL_R_OK)
        abort(); /* the node built a record its own log refuses: a bug */
    l->st.entries++;
}

static bool log_busy(const node_log *l) { return l->nops || l->qtail > l->qhead || l->inflight; }

/* Seals the entry being built, if it holds anything. */
static void seal(node *n)
{
    if (n->log->nops > 0)
        seal_entry(n);
}

/* With keys that have a TTL and no write for a second, an entry with no
 * command carries the time forward, so that the expire cycle (which only
 * deletes what expired by the last applied entry's time) goes on. */
void node_log_tick(node *n)
{
    node_log *l = n->log;
    if (!log_on(n) || l->failed || log_busy(l) || n->now_ms - n->eng.log_time < 1000)
        return;
    if (l->cl && node_cluster_refusal(n))
        return; /* only the leader moves time on */
    for (int i = 0; i < n->eng.ndbs; i++)
        if (db_expires_count(engine_db(&n->eng, i))) {
            if (l->cl)
                node_cluster_want_time(n);
            else
                seal_entry(n);
            return;
        }
}

static void op_begin(node_log *l, int dbid, uint32_t nargs)
{
    msgpack_packer pk = packer(&l->ops);
    msgpack_pack_array(&pk, nargs + 1);
    msgpack_pack_uint64(&pk, (uint64_t)dbid);
}

static void op_args(node_log *l, int argc, const resp_slice *argv)
{
    msgpack_packer pk = packer(&l->ops);
    for (int i = 0; i < argc; i++)
        msgpack_pack_bin_with_body(&pk, argv[i].ptr, argv[i].len);
}

/* A big entry is sealed now, even while a batch is out: the next batch
 * then carries several records. */
static void maybe_seal(node *n)
{
    if (n->log->cl)
        return; /* Raft entries are sealed at the flush, outside its steps */
    if (n->log->ops.len >= n->log->o.entry_max)
        seal(n);
}

bool node_log_propose(node *n, node_conn *c, engine_route route, int argc, const resp_slice *argv)
{
    node_log *l = n->log;
    client *cl = c->cl;
    node_session ss;
    if (l->cl && node_cluster_session(n, c, &ss)) {
        msgpack_packer pk = packer(&l->sess);
        msgpack_pack_array(&pk, 4);
        msgpack_pack_uint64(&pk, l->nops); /* the op about to be added */
        msgpack_pack_uint64(&pk, ss.peer);
        msgpack_pack_uint64(&pk, ss.origin);
        msgpack_pack_uint64(&pk, ss.seq);
        l->nsess++;
    }
    if (route == ROUTE_PROPOSE_EXEC) {
        op_begin(l, cl->db, (uint32_t)cl->nqueue);
        for (int i = 0; i < cl->nqueue; i++) {
            msgpack_packer pk = packer(&l->ops);
            msgpack_pack_array(&pk, (size_t)cl->queue[i].argc);
            op_args(l, cl->queue[i].argc, cl->queue[i].argv);
        }
        pend_push(l, c->id, OP_EXEC);
        if (l->barrier == c->id)
            l->barrier = 0;
    } else {
        op_begin(l, cl->db, (uint32_t)argc);
        op_args(l, argc, argv);
        pend_push(l, c->id, OP_CMD);
        const cmd_entry *ce = engine_lookup(&n->eng, argc, argv);
        c->blocking_proposed = ce && (ce->def->flags & CMD_BLOCKING);
    }
    c->unapplied++;
    l->st.commands++;
    maybe_seal(n);
    return true;
}

static void propose_serve(void *ctx, client *cl, int dbid, int argc, const resp_slice *argv);

void node_log_hook_serve(node *n) { engine_set_serve_hook(&n->eng, propose_serve, n); }

/* The engine's serve hook: a blocked client's pop becomes an op. */
static void propose_serve(void *ctx, client *cl, int dbid, int argc, const resp_slice *argv)
{
    node *n = ctx;
    node_log *l = n->log;
    op_begin(l, dbid, (uint32_t)argc);
    op_args(l, argc, argv);
    pend_push(l, cl->id, OP_SERVE);
    l->st.commands++;
    maybe_seal(n);
}


bool node_log_barrier(const node *n, const node_conn *c)
{
    node_log *l = n->log;
    if (l->barrier && l->barrier != c->id)
        return true;
    /* A watched EXEC runs on the state its WATCH saw only if no entry is
     * applied between its check and its own: it waits for the log to
     * drain, and writes from others wait for it. */
    if (c->cl->nwatched > 0 && (c->cl->flags & CLIENT_MULTI) && log_busy(l)) {
        l->barrier = c->id;
        return true;
    }
    return false;
}

const char *node_log_refusal(node *n)
{
    if (!log_on(n))
        return NULL;
    if (n->log->failed)
        return n->log->error;
    return n->log->cl ? node_cluster_refusal(n) : NULL;
}

/* Hands the filling batch to the driver when none is out. */
void node_log_flush(node *n)
{
    if (!log_on(n))
        return;
    node_log *l = n->log;
    if (l->cl) {
        node_cluster_flush(n);
        return;
    }
    if (l->inflight || l->failed)
        return;
    seal(n);
    wal_batch *b = &l->batch[l->out ^ 1];
    if (b->buf.len == 0)
        return;
    l->out ^= 1;
    l->inflight = true;
    l->out_last = l->w.log.last;
    l->st.batches++;
    l->st.bytes += b->buf.len;
    node_emit(n, ACT_LOG_WRITE, 0);
}

static void resume_all_cb(void *ctx, dict_node *d)
{
    node_conn *c = (node_conn *)d;
    if (c->query.len && c->unapplied == 0)
        node_conn_resume(ctx, c);
}

void node_log_resume_all(node *n) { dict_for_each(&n->conns, resume_all_cb, n); }

/* Fails every op not yet applied with the log's error. */
static void fail_pending(node *n)
{
    node_log *l = n->log;
    kbuf err = KBUF_INIT;
    resp_add_error(&err, l->error, strlen(l->error));
    for (size_t i = l->qhead; i <= l->qtail; i++) {
        pend *p = i < l->qtail ? l->q[i].p : l->bp;
        uint32_t np = i < l->qtail ? l->q[i].np : l->nbp;
        for (uint32_t k = 0; k < np; k++) {
            node_conn *c = p[k].conn ? node_find_conn(n, p[k].conn) : NULL;
            if (c == NULL)
                continue;
            if (p[k].kind == OP_SERVE) {
                engine_serve_cancel(&n->eng, c->cl, n->now_ms); /* it waits on */
                continue;
            }
            kbuf_append(&c->out, err.data, err.len);
            engine_count_error(&n->eng, err.data, err.len);
            c->unapplied--;
            node_emit(n, ACT_SEND, c->id);
        }
        if (i < l->qtail) {
            kbuf_free(&l->q[i].payload);
            free(l->q[i].p);
        }
    }
    l->qhead = l->qtail = 0;
    l->nbp = l->nops = 0;
    kbuf_clear(&l->ops);
    kbuf_free(&err);
}

void node_log_done(node *n, const char *error)
{
    node_log *l = n->log;
    assert(l && l->inflight);
    if (l->cl) {
        node_cluster_log_done(n, error);
        return;
    }
    l->inflight = false;
    wal_batch_clear(&l->batch[l->out]);
    if (error) {
        l->failed = true;
        /* Redis's text for a failed AOF write, to the letter. */
        snprintf(l->error, sizeof(l->error), "-MISCONF Errors writing to the AOF file: %s", error);
        fail_pending(n);
        dict_for_each(&n->conns, resume_all_cb, n);
        return;
    }
    if (l->qhead > 0) {
        memmove(l->q, l->q + l->qhead, (l->qtail - l->qhead) * sizeof(*l->q));
        l->qtail -= l->qhead;
        l->qhead = 0;
    }
    /* Apply what the batch made durable, in log order. */
    l->applying = true;
    while (l->qhead < l->qtail && l->q[l->qhead].index <= l->out_last) {
        sealed s = l->q[l->qhead++];
        if (!node_log_apply(n, s.payload.data, s.payload.len, s.index, l->term, s.p, s.np))
            abort(); /* the node's own entry: a bug */
        for (uint32_t k = 0; k < s.np; k++) {
            node_conn *c = s.p[k].conn ? node_find_conn(n, s.p[k].conn) : NULL;
            if (c && c->unapplied == 0 && c->query.len)
                node_conn_resume(n, c);
        }
        kbuf_free(&s.payload);
        free(s.p);
    }
    l->applying = false;
    /* What arrived while this batch was out has waited a whole sync: it
     * goes now, whether or not the driver defers flushes. */
    node_log_flush(n);
    if (l->barrier && !log_busy(l)) {
        node_conn *c = node_find_conn(n, l->barrier);
        if (c == NULL)
            l->barrier = 0;
        else
            node_conn_resume(n, c);
        if (l->barrier == 0)
            dict_for_each(&n->conns, resume_all_cb, n);
    }
}

void node_log_conn_gone(node *n, conn_id id)
{
    node_log *l = n->log;
    if (l && l->barrier == id) {
        l->barrier = 0;
        dict_for_each(&n->conns, resume_all_cb, n);
    }
}

/* ------------------------------------------------------------------------ */
/* Start-up */

void node_log_replay(void *ctx, const wal_record *r, const wal_visit *v)
{
    node *n = ctx;
    node_log *l = node_log_get(n);
    if (l->replay_error[0])
        return;
    if (v && v->effect.drop_from && v->effect.drop_from <= l->applied) {
        snprintf(l->replay_error, sizeof(l->replay_error),
                 "the log replaces entry %llu, which was already applied",
                 (unsigned long long)v->effect.drop_from);
        return;
    }
    if (!wal_type_is_entry(r->type) || r->index <= l->applied)
        return; /* hard states, marks; entries the snapshot has */
    if (r->index != l->applied + 1) {
        snprintf(l->replay_error, sizeof(l->replay_error),
                 "the log resumes at entry %llu but the state ends at %llu",
                 (unsigned long long)r->index, (unsigned long long)l->applied);
        return;
    }
    if (r->type != WAL_ENTRY_NORMAL) {
        l->applied = r->index;
        l->applied_term = r->term;
        return;
    }
    uint64_t before = n->eng.stats.commands;
    if (!node_log_apply(n, r->payload, r->payload_len, r->index, r->term, NULL, 0)) {
        snprintf(l->replay_error, sizeof(l->replay_error),
                 "entry %llu (term %llu) does not decode", (unsigned long long)r->index,
                 (unsigned long long)r->term);
        return;
    }
    l->st.replayed += n->eng.stats.commands - before;
}

bool node_log_resume_writer(node *n, wal_recovery *rc, const node_log_opts *o, wal_fit *fit,
                            char *err, size_t cap)
{
    node_log *l = n->log;
    *fit = wal_snapshot_fit(&rc->log, l->snap_index, l->snap_term);
    if (*fit == WAL_FIT_GAP) {
        snprintf(err, cap,
                 "the log starts at entry %llu but the snapshot ends at %llu: entries are missing",
                 (unsigned long long)rc->log.first, (unsigned long long)l->snap_index);
        return false;
    }
    if (!wal_writer_resume(&l->w, rc, o->seg_max, o->salt_seed)) {
        snprintf(err, cap, "the log cannot be continued");
        return false;
    }
    return true;
}

bool node_log_mark_snapshot(node *n, const node_log_opts *o, char *err, size_t cap)
{
    node_log *l = n->log;
    wal_record mk = {.type = WAL_SNAPSHOT_MARK, .group = o->group, .term = l->snap_term,
                     .index = l->snap_index};
    if (wal_writer_append(&l->w, &l->batch[l->out ^ 1], &mk) == WAL_R_OK)
        return true;
    snprintf(err, cap, "the log does not take the snapshot's mark at %llu",
             (unsigned long long)l->snap_index);
    return false;
}

bool node_log_start(node *n, wal_recovery *rc, const node_log_opts *o, char *err, size_t cap)
{
    node_log *l = node_log_get(n);
    if (l->replay_error[0]) {
        snprintf(err, cap, "%s", l->replay_error);
        return false;
    }
    l->o = *o;
    l->term = o->term;
    l->failed = false; /* a new log, a new writer */
    l->error[0] = '\0';
    bool resumed = false;
    if (rc && rc->started && rc->res.status != WAL_CORRUPT) {
        if (rc->log.has_hard_state && rc->log.hs_term > l->term)
            l->term = rc->log.hs_term;
        wal_fit fit;
        if (!node_log_resume_writer(n, rc, o, &fit, err, cap))
            return false;
        resumed = true;
        wal_batch *b = &l->batch[l->out ^ 1];
        if (!l->w.log.has_hard_state || l->w.log.hs_term < l->term) {
            wal_record hs = {.type = WAL_HARD_STATE, .group = o->group, .term = l->term, .vote = 1};
            if (wal_writer_append(&l->w, b, &hs) != WAL_R_OK)
                abort();
        }
        if (fit == WAL_FIT_SUPERSEDED && !node_log_mark_snapshot(n, o, err, cap))
            return false;
    }
    if (!resumed) {
        /* No segment (or none that continues): the snapshot's term is the
         * log's floor, entries must not go below it. */
        if (l->term < l->snap_term)
            l->term = l->snap_term;
        wal_writer_init(&l->w, o->group, o->seg_max, o->salt_seed, l->snap_index + 1, l->snap_term);
        wal_record hs = {.type = WAL_HARD_STATE, .group = o->group, .term = l->term, .vote = 1};
        if (wal_writer_append(&l->w, &l->batch[l->out ^ 1], &hs) != WAL_R_OK)
            abort();
    }
    if (l->applied < l->w.log.last && l->w.log.last > l->snap_index) {
        snprintf(err, cap, "entries up to %llu are logged but only %llu were applied",
                 (unsigned long long)l->w.log.last, (unsigned long long)l->applied);
        return false;
    }
    l->st.enabled = true;
    node_log_hook_serve(n);
    n->eng.log_expiry = true;
    if (n->eng.log_time < n->now_ms && l->applied == l->snap_index)
        n->eng.log_time = n->now_ms; /* nothing replayed: the log starts now */
    return true;
}

void node_log_close(node *n)
{
    if (log_on(n)) {
        n->log->closing = true;
        /* Writes run at once now: so are blocked clients served. */
        engine_set_serve_hook(&n->eng, NULL, NULL);
    }
}

bool node_log_closing(const node *n) { return log_on(n) && n->log->closing; }

bool node_log_stop(node *n)
{
    node_log *l = n->log;
    if (!log_on(n))
        return true;
    if (log_busy(l) || l->applying)
        return false;
    wal_writer_free(&l->w);
    for (int i = 0; i < 2; i++)
        wal_batch_clear(&l->batch[i]);
    l->st.enabled = false;
    l->closing = false;
    engine_set_serve_hook(&n->eng, NULL, NULL);
    n->eng.log_expiry = false;
    return true;
}

const wal_batch *node_log_batch(const node *n)
{
    return log_on(n) && n->log->inflight ? &n->log->batch[n->log->out] : NULL;
}

bool node_log_idle(const node *n) { return !log_on(n) || !log_busy(n->log) || n->log->failed; }

void node_log_get_info(const node *n, node_log_info *out)
{
    memset(out, 0, sizeof(*out));
    node_log *l = n->log;
    if (l == NULL)
        return;
    *out = l->st;
    out->failed = l->failed;
    out->error = l->failed ? l->error : NULL;
    out->term = l->term;
    out->first_index = l->st.enabled ? l->w.log.first : 0;
    out->last_index = l->st.enabled ? l->w.log.last : 0;
    out->applied_index = l->applied;
    out->bytes_since_snapshot = l->st.bytes - l->snap_bytes;
    out->applying = l->applying;
    out->applied_term = l->applied == l->snap_index && l->applied ? l->snap_term : l->applied_term;
    out->snapshot_index = l->snap_index;
    out->snapshot_term = l->snap_term;
}

/* ------------------------------------------------------------------------ */
/* Snapshots. Body: for each database with keys, u32 id, u64 image length
 * (little-endian), the image (core/store/codec.h). */

void node_snapshot_encode(node *n, kbuf *out, uint64_t *index, uint64_t *term)
{
    node_log *l = n->log;
    uint64_t idx = l ? l->applied : 0, t = l ? l->applied_term : 0;
    if (l && idx == l->snap_index && idx > 0)
        t = l->snap_term;
    /* The configuration: [data seed] (membership joins it with Raft). */
    kbuf cfg = KBUF_INIT;
    msgpack_packer pk = packer(&cfg);
    msgpack_pack_array(&pk, l && l->cl ? 3 : 1);
    msgpack_pack_uint64(&pk, n->eng.data_seed);
    if (l && l->cl) {
        node_cluster_encode_config(n, &cfg); /* [data seed, membership, sessions] */
        node_cluster_encode_sessions(n, &cfg);
    }
    snap_meta m = {.group = l ? l->o.group : 0, .index = idx, .term = t, .config = cfg.data,
                   .config_len = cfg.len};
    size_t start = snap_begin(out, &m);
    for (int i = 0; i < n->eng.ndbs; i++) {
        db *d = engine_db(&n->eng, i);
        if (db_size(d) == 0)
            continue;
        unsigned char hdr[12];
        le_put32(hdr, (uint32_t)i);
        kbuf_append(out, hdr, sizeof(hdr));
        size_t at = out->len;
        codec_encode_db(d, kbuf_write, out);
        le_put64((unsigned char *)out->data + at - 8, (uint64_t)(out->len - at));
    }
    snap_finish(out, start);
    kbuf_free(&cfg);
    *index = idx;
    *term = t;
}

const char *node_snapshot_load(node *n, const void *buf, size_t len)
{
    node_log *l = node_log_get(n);
    char *why = l->replay_error;
    snap_view v;
    snap_reason r = snap_decode(buf, len, &v);
    if (r != SNAP_R_OK)
        return snap_reason_text(r);
    mp_reader cr;
    mpr_init(&cr, v.config, v.h.config_len);
    uint32_t ncfg = mpr_array(&cr, 1, "truncated");
    uint64_t data_seed = ncfg >= 1 ? mpr_uint(&cr) : 0;
    resp_slice members = {NULL, 0};
    if (ncfg >= 2)
        members = mp_read_bin(&cr);
    if (!cr.err && (ncfg >= 3 || l->cl))
        if (!node_cluster_load_sessions(n, ncfg >= 3 ? &cr : NULL) && !cr.err)
            mpr_fail(&cr, "bad sessions");
    if (cr.err)
        return "snapshot configuration does not decode";
    l->snap_members_len = 0;
    if (members.len > sizeof(l->snap_members))
        return "snapshot membership does not decode";
    if (members.len) {
        memcpy(l->snap_members, members.ptr, members.len);
        l->snap_members_len = members.len;
    }
    if (!engine_set_data_seed(&n->eng, data_seed))
        return "a snapshot can only be loaded into an empty node";
    const char *p = v.body, *end = v.body + v.h.body_len;
    const char *fail = NULL;
    while (p < end && fail == NULL) {
        if (end - p < 12) {
            fail = "snapshot body cut short";
            break;
        }
        uint32_t id = le_get32((const unsigned char *)p);
        uint64_t ilen = le_get64((const unsigned char *)p + 4);
        p += 12;
        if (ilen > (uint64_t)(end - p)) {
            fail = "snapshot database image cut short";
            break;
        }
        if ((int64_t)id >= n->eng.ndbs) {
            snprintf(why, sizeof(l->replay_error),
                     "the snapshot has database %u but the server has %d (databases)", id,
                     n->eng.ndbs);
            fail = why;
        } else if (db_size(engine_db(&n->eng, (int)id)) != 0)
            fail = "the snapshot has a database twice";
        else
            fail = codec_decode_db(engine_db(&n->eng, (int)id), p, (size_t)ilen,
                                   engine_db(&n->eng, (int)id)->keys.seed);
        p += ilen;
    }
    if (fail) {
        for (int i = 0; i < n->eng.ndbs; i++)
            db_flush(engine_db(&n->eng, i));
        if (fail != why)
            snprintf(why, sizeof(l->replay_error), "%s", fail);
        return why;
    }
    why[0] = '\0';
    l->snap_index = l->applied = v.h.index;
    l->snap_term = l->applied_term = v.h.term;
    return NULL;
}

bool node_snapshot_done(node *n, uint64_t index, uint64_t term, uint64_t log_bytes,
                        int64_t now_ms)
{
    node_log *l = node_log_get(n);
    if (index >= l->snap_index) {
        l->snap_index = index;
        l->snap_term = term;
    }
    if (log_bytes > l->snap_bytes)
        l->snap_bytes = log_bytes;
    n->eng.lastsave_ms = now_ms;
    if (!l->st.enabled)
        return false;
    wal_writer_roll(&l->w);
    /* Every entry is in the snapshot and nothing is on its way to a segment
     * (no batch out, none filling, the open segment closed): the next entry
     * opens a new segment at index + 1, so the ones on disk hold nothing
     * recovery needs. Single node only: a cluster's segments also keep its
     * vote. */
    return l->cl == NULL && !l->failed && !log_busy(l) && !l->w.open &&
           l->batch[l->out ^ 1].buf.len == 0 && l->w.log.last <= l->snap_index;
}
