/* node's internals shared by node.c (clients) and log.c (the write path). */
#ifndef KEEL_CORE_NODE_NODE_INTERNAL_H
#define KEEL_CORE_NODE_NODE_INTERNAL_H

#include "core/node/node.h"

struct node_conn {
    dict_node node;
    conn_id id;
    client *cl;
    resp_parser parser;
    kbuf query;
    kbuf out;
    bool closing;          /* ACT_CLOSE was emitted: ignore further input */
    bool paused;           /* stopped at the pause mark with input left */
    int64_t soft_since_ms; /* when output first went over the soft limit, -1 if not */
    uint32_t unapplied;    /* its proposals not applied yet: its other commands wait */
    bool blocking_proposed; /* a blocking command is among them: even its
                             * writes wait (it may block when applied) */
    uint8_t read_state;     /* cluster: where its read is (cluster.c) */
    uint64_t read_index;    /* cluster: serve once applied through this */
    uint64_t in_total;      /* bytes received on it, ever */
    uint64_t cur_end;       /* where the command being routed ends in them */
    uint64_t read_cover;    /* a confirmed read round covers reads that
                             * arrived before it started: up to here */
    /* cluster: a command forwarded to the leader (cluster.c) */
    uint8_t fwd_state;
    bool fwd_used;          /* it forwarded: the leader keeps a proxy for it */
    bool fwd_blocking;      /* the forwarded command may block: no timeout */
    bool fwd_failover;      /* it is CLUSTER FAILOVER: a leader change does not end it */
    rf_id fwd_to;           /* the leader it went to: only its reply counts */
    uint32_t fwd_open;      /* times it went out and was not refused: each
                             * may have been applied */
    rf_id fwd_refused_by;   /* the last node that said it does not lead */
    kbuf fwd_req;           /* the request's bytes, to send again to a new leader */
    uint64_t fwd_local_seq; /* its request number, when this node became the
                             * leader before the reply came: it runs here
                             * under the same session (cluster.c) */
    /* A forwarded request carries up to FWD_BATCH_MAX pipelined commands:
     * where each ends in the connection's stream (in_total offsets), and
     * up to where the relayed replies already answered. */
    uint64_t *fwd_ends;     /* FWD_BATCH_MAX of them, allocated on first use */
    uint32_t fwd_nends;
    uint64_t fwd_skip_to;
    uint64_t fwd_id;
    int64_t fwd_since;
    kbuf fwd_reply;
    /* cluster, on the leader: a proxy for a follower's client */
    rf_id proxy_peer;       /* 0: a real client */
    uint64_t proxy_origin, proxy_req;
    uint64_t proxy_sid;     /* the request's session origin (cluster.c) */
    uint64_t *proxy_ends;   /* where the request's commands end (in_total);
                             * FWD_BATCH_MAX of them, allocated on first use */
    uint32_t proxy_nends;
    int64_t proxy_last_ms;
};

node_conn *node_find_conn(node *n, conn_id id);
void node_emit(node *n, node_action_type type, conn_id c);
void node_emit_data(node *n, node_action_type type, rf_id peer, const void *data, size_t len,
                    uint64_t index, uint64_t term);
/* Runs what c has waiting in its query buffer (after its writes applied). */
void node_conn_resume(node *n, node_conn *c);
void node_conn_free(node *n, node_conn *c);

/* log.c, for node.c */
bool node_log_propose(node *n, node_conn *c, engine_route route, int argc, const resp_slice *argv);
bool node_log_barrier(const node *n, const node_conn *c);
void node_log_done(node *n, const char *error);
void node_log_free(node *n);
void node_log_conn_gone(node *n, conn_id id);
void node_log_tick(node *n);
/* Redis's error for writes after the log failed, or NULL. */
const char *node_log_refusal(node *n);

#endif
