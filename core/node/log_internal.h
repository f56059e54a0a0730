/* The log's state, shared by log.c (the write path) and cluster.c (the
 * same write path over Raft). */
#ifndef KEEL_CORE_NODE_LOG_INTERNAL_H
#define KEEL_CORE_NODE_LOG_INTERNAL_H

#include "core/node/node_internal.h"
#include "core/raft/raft.h"

enum { OP_CMD = 1, OP_EXEC, OP_SERVE };

typedef struct pend {
    conn_id conn; /* 0: nobody waits for the reply */
    uint8_t kind;
} pend;

/* A forwarded command's session (cluster.c): who sent it (the follower
 * node and its client there) and the request's number. The leader records
 * the last one applied per session with its reply, so that a request a
 * follower sent again (its leader changed) is answered, not run twice. */
typedef struct node_session {
    uint32_t k; /* the op's place in its entry */
    uint64_t peer, origin, seq;
} node_session;

typedef struct sealed {
    uint64_t index;
    uint64_t term; /* cluster: the term it was proposed in */
    kbuf payload;
    pend *p;
    uint32_t np;
} sealed;

struct node_log {
    node_log_opts o;
    uint64_t term;
    wal_writer w;
    wal_batch batch[2]; /* [out]: handed to the driver; the other fills */
    int out;
    bool inflight;
    uint64_t out_last; /* last entry index in the outstanding batch */

    kbuf ops; /* the entry being built: its ops, encoded */
    uint32_t nops;
    kbuf sess; /* ... and its ops' sessions, encoded: [k, peer, origin, seq] each */
    uint32_t nsess;
    node_session *rsess; /* an applied entry's sessions */
    uint32_t caprsess;
    pend *bp; /* their connections */
    uint32_t nbp, capbp;

    sealed *q; /* sealed, not applied: q[qhead .. qtail) */
    size_t qhead, qtail, qcap;

    uint64_t applied, applied_term, last_time;
    uint64_t snap_index, snap_term;
    conn_id barrier; /* a watched EXEC waiting for the log to drain */
    bool applying;   /* inside node_log_done's apply loop */
    uint64_t snap_bytes; /* st.bytes when the newest snapshot's state was taken */
    bool closing;    /* node_log_close: no new proposals; stop when drained */
    bool failed;
    char error[160];
    char replay_error[256];

    client *detached; /* runs ops whose client is gone, and replays */
    kbuf scratch;
    resp_slice *argv;
    size_t capargv;
    node_log_info st;

    /* Cluster mode (cluster.c): the log is Raft's. */
    struct node_cluster *cl;
    /* The membership the loaded snapshot holds (rf_config_encode bytes). */
    unsigned char snap_members[RF_CONFIG_ENCODED_MAX];
    size_t snap_members_len;
};


/* log.c, for cluster.c */
node_log *node_log_get(node *n); /* created on first use */
void node_log_hook_serve(node *n);
bool node_log_apply(node *n, const char *payload, size_t len, uint64_t index, uint64_t term,
                    const pend *p, uint32_t np);
/* The entry being built, as a payload (then empty again). */
void node_log_build_payload(node *n, kbuf *out);
void node_log_resume_all(node *n);
/* Start-up, shared with cluster.c: continues the recovered log rc as the
 * writer (*fit: how it meets the loaded snapshot; false with err when it
 * cannot: entries missing, a log that cannot go on), and appends the
 * snapshot's SNAPSHOT_MARK to the filling batch (a log it supersedes). */
bool node_log_resume_writer(node *n, wal_recovery *rc, const node_log_opts *o, wal_fit *fit,
                            char *err, size_t cap);
bool node_log_mark_snapshot(node *n, const node_log_opts *o, char *err, size_t cap);
/* A new entry at the end of the queue of sealed, unapplied entries. */
sealed *node_log_queue_push(node_log *l);

/* cluster.c, for log.c and node.c */
/* The session of c's command about to be proposed (a proxy's, or a
 * command a follower forwarded before it became the leader); false: none. */
bool node_cluster_session(node *n, node_conn *c, node_session *s);
/* At apply: the reply already given to this request (the op is then not
 * run), or NULL (run it, then node_cluster_session_done with its reply). */
const kbuf *node_cluster_session_seen(node *n, const node_session *s, uint64_t index);
void node_cluster_session_done(node *n, const node_session *s, const void *reply, size_t len,
                               bool keep, uint64_t index);
/* The sessions in a snapshot's configuration (encode; load replaces). */
void node_cluster_encode_sessions(const node *n, kbuf *out);
/* Tests: the session of peer's recorded most recently. */
bool node_cluster_session_last(const node *n, uint64_t peer, node_session *out);
struct mp_reader;
bool node_cluster_load_sessions(node *n, struct mp_reader *r);
void node_cluster_free(node *n);
void node_cluster_flush(node *n);
void node_cluster_log_done(node *n, const char *error);
void node_cluster_step(node *n, const node_event *ev);
int64_t node_cluster_deadline(const node *n);
/* The refusal for a write here (not the leader), or NULL. */
const char *node_cluster_refusal(node *n);
/* route() for a command that runs now: 0 run it, -1 wait, 1 answered. */
int node_cluster_read(node *n, node_conn *c, int argc, const resp_slice *argv);
void node_cluster_encode_config(const node *n, kbuf *out);
void node_cluster_want_time(node *n);
void node_cluster_gc(node *n); /* frees action bytes once the outbox is empty */
/* route() on a follower: 1 answered (or refused), -1 waits (forwarded), 0
 * not a forwarding matter. */
int node_cluster_forward(node *n, node_conn *c, engine_route rt, int argc, const resp_slice *argv);
void node_cluster_fwd_closed(node *n, node_conn *c);
/* Sends the leader's proxies' complete replies back to their followers. */
void node_cluster_proxy_flush(node *n);

#endif
