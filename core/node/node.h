/* node: the core's state machine per node, as its driver sees it.
 *
 * The driver (the libuv runtime, or the simulator) turns the world into
 * events and carries out the actions the node asks for. For clients:
 *
 *   open      node_client_open()          -> a connection id
 *   bytes     read into node_read_buffer(), then a CLIENT_DATA event
 *   replies   after each step, ACT_SEND for connections with output:
 *             send node_output(), then node_output_sent() for what went out
 *   close     ACT_CLOSE (QUIT, protocol error, limits, CLIENT KILL), or
 *             the driver's CLIENT_CLOSED when the peer went away
 *   time      TICK events, hz times a second, and a TIMER event at
 *             node_next_deadline() when there is one (blocked clients'
 *             timeouts)
 *
 * All parsing, limits and command execution happen here; the node never
 * reads a clock or touches a socket. Later issues add peers, the log and
 * disks to the same step. */
#ifndef KEEL_CORE_NODE_NODE_H
#define KEEL_CORE_NODE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cmd/engine.h"
#include "core/raft/raft.h"
#include "core/resp/parser.h"
#include "core/util/kbuf.h"
#include "core/wal/wal.h"

typedef uint64_t conn_id;

typedef enum node_event_type {
    EV_TICK = 1,
    EV_CLIENT_DATA,   /* nread bytes were written into node_read_buffer() */
    EV_CLIENT_CLOSED, /* the peer closed or the socket failed */
    EV_TIMER,         /* the time node_next_deadline() asked for came */
    EV_LOG_DONE,      /* the batch of the last ACT_LOG_WRITE is written (and
                       * synced, as the driver's appendfsync says); log_error
                       * is NULL, or why it failed */
    EV_PEER_DATA,     /* cluster: one whole message (data, len) from peer */
    EV_SNAPSHOT_SAVED,/* cluster: the last ACT_SNAPSHOT_SAVE is durable
                       * (log_error NULL), or why it failed */
} node_event_type;

typedef struct node_event {
    node_event_type type;
    int64_t now_ms; /* wall clock, ms */
    conn_id conn;
    size_t nread;
    const char *log_error; /* EV_LOG_DONE: "No space left on device", ... */
    rf_id peer;            /* EV_PEER_DATA */
    const void *data;
    size_t len;
} node_event;

typedef enum node_action_type {
    ACT_SEND = 1, /* conn has bytes in node_output() */
    ACT_CLOSE,    /* close conn after sending what node_output() holds */
    ACT_LOG_WRITE, /* write node_log_batch() (its wal_write ops, in order),
                    * then step EV_LOG_DONE; never more than one at a time */
    ACT_PEER_SEND, /* cluster: send data/len (one message) to peer; may be lost */
    ACT_SNAPSHOT_SAVE, /* cluster: write data/len (valid until EV_SNAPSHOT_SAVED,
                        * so it may be written from another thread)
                        * as the snapshot covering
                        * index/term (temp file, sync, rename over the older
                        * one), then step EV_SNAPSHOT_SAVED; one at a time */
} node_action_type;

typedef struct node_action {
    node_action_type type;
    conn_id conn;
    bool discard; /* ACT_CLOSE: close at once, dropping unsent output (limits,
                   * timeout, CLIENT KILL), as Redis frees such clients */
    rf_id peer;         /* ACT_PEER_SEND */
    const void *data;   /* ACT_PEER_SEND, ACT_SNAPSHOT_SAVE: valid until
                         * node_actions_clear() */
    size_t len;
    uint64_t index, term; /* ACT_SNAPSHOT_SAVE */
    uint8_t service;      /* ACT_PEER_SEND: NODE_SVC_* (the bus's service) */
} node_action;

/* The services of a cluster's peer messages (io/bus's numbers). */
#define NODE_SVC_KV 1      /* forwarded commands and their replies */
#define NODE_SVC_RAFT 2    /* Raft's messages */
#define NODE_SVC_CLUSTER 3 /* JOIN and HEALTH (the member directory) */

/* Limits the node enforces per connection (Redis's names). */
typedef struct node_limits {
    resp_limits resp;            /* proto-max-bulk-len, client-query-buffer-limit */
    uint64_t maxclients;         /* 10000 */
    int64_t idle_timeout_ms;     /* `timeout`: 0 = never */
    uint64_t output_hard_bytes;  /* client-output-buffer-limit normal hard (0 = none) */
    uint64_t output_soft_bytes;  /* ... soft (0 = none) */
    int64_t output_soft_ms;      /* ... soft seconds, in ms */
    bool protected_mode;         /* `protected-mode yes` (default): without a
                                  * password, only loopback clients */
    uint64_t output_pause_bytes; /* stop running a client's commands while this
                                  * much of its output is unsent (0 = never);
                                  * see node_output_pause_mark() */
} node_limits;

typedef struct node_conn node_conn;

typedef struct node_stats {
    uint64_t rejected_connections;
    uint64_t protocol_errors;
    uint64_t output_limit_disconnections;
    uint64_t timeouts;
    uint64_t net_input_bytes;
} node_stats;

typedef struct node_log node_log; /* core/node/log.c */

typedef struct node {
    engine eng;
    node_log *log; /* NULL: no log (appendonly no), commands run at once */
    node_limits lim;
    node_stats stats;
    dict conns; /* conn_id -> node_conn */
    uint64_t nconns;
    node_action *outbox;
    size_t noutbox, capoutbox;
    int64_t now_ms;
    bool stopping; /* SHUTDOWN asked for: the driver stops after this step */
    /* The driver calls node_log_flush() once per burst of input (the
     * runtime: once per loop turn, as Redis writes its AOF in beforeSleep)
     * rather than the node after every step: the writes of every client
     * read in one turn then share a batch. */
    bool defer_log_flush;
} node;

node_limits node_limits_default(void);

void node_init(node *n, uint64_t seed, int64_t now_ms, const node_limits *lim);
void node_free(node *n);

/* A new client connection; 0 if maxclients is reached or protected mode
 * refuses a non-loopback client without a password set (the node has then
 * written Redis's error into *reject for the driver to send before it
 * closes the socket). addr/laddr are "ip:port" ("[ip6]:port") for CLIENT
 * LIST and the loopback check. */
conn_id node_client_open(node *n, int64_t now_ms, const char *addr, const char *laddr, int fd,
                         const char **reject);

/* Room to read at least `want` bytes into for conn (its query buffer). */
char *node_read_buffer(node *n, conn_id c, size_t want, size_t *avail);

/* Processes one event; actions are appended to the outbox. */
void node_step(node *n, const node_event *ev);

/* The actions of the last step(s); node_actions_clear() once carried out. */
static inline const node_action *node_actions(const node *n, size_t *count)
{
    *count = n->noutbox;
    return n->outbox;
}
static inline void node_actions_clear(node *n) { n->noutbox = 0; }

/* The bytes waiting to go to conn (NULL if the connection is gone). */
kbuf *node_output(node *n, conn_id c);
/* The driver sent the first `len` bytes of node_output(). */
void node_output_sent(node *n, conn_id c, size_t len);

/* Backpressure for clients that do not read their replies. Once a
 * client's node_output() is over this mark (0 = never) the node stops
 * running its commands and the driver stops reading from it. The mark is
 * output_pause_bytes, or the client-output-buffer-limit if that is higher,
 * so that the limit still sees the output it is about. */
uint64_t node_output_pause_mark(const node *n);

/* True when the node stopped running conn's commands at the pause mark with
 * input left: once the driver has taken the output (node_output() under
 * the mark again), it steps a CLIENT_DATA event with nread 0 to run the
 * rest. */
bool node_input_pending(node *n, conn_id c);

/* The earliest wall time (ms) at which the node wants an EV_TIMER, -1 for
 * none. Ask again after every step. */
int64_t node_next_deadline(const node *n);

/* True if addr ("ip:port", "[ip6]:port") is a loopback address: 127/8,
 * ::1, or ::ffff:127.x.y.z. */
bool node_addr_is_loopback(const char *addr);

/* The engine client behind a connection (for the driver's bookkeeping). */
client *node_client(node *n, conn_id c);

/* ------------------------------------------------------------------------ */
/* The log (decision 0007). Without one (appendonly no) a command runs when
 * it arrives. With one, a write command is proposed: its argv goes into the
 * entry being built; when no batch is being written, the entries built so
 * far are sealed into records (one ENTRY_NORMAL per batch, of every write
 * that arrived meanwhile: group commit) and ACT_LOG_WRITE hands them to the
 * driver. EV_LOG_DONE applies them in log order: each command runs with the
 * entry's time and a PRNG seeded from its index, and its reply goes to its
 * client. A client's later commands wait behind its unapplied writes, so
 * replies keep their order; other clients' reads run at once against the
 * applied state. Replay after a restart runs the same apply. */

typedef struct node_log_opts {
    uint32_t group;      /* 0 */
    uint64_t term;       /* the term entries are written in: 1 (one node) */
    uint64_t seg_max;    /* segment size to stay under: 64 MiB */
    uint64_t salt_seed;  /* from the OS (the simulator: from its seed) */
    uint64_t entry_max;  /* seal the entry being built past this many payload
                          * bytes even while a batch is in flight: 4 MiB */
} node_log_opts;

void node_log_opts_default(node_log_opts *o);

/* Start-up, in this order, before any client: node_snapshot_load (if there
 * is a snapshot), wal_recovery_segment with node_log_replay as the record
 * callback (ctx: the node) over the segments, then node_log_start. */

/* Loads a snapshot file's bytes (core/wal/snapshot.h; body: every database
 * as node_snapshot_encode writes it). Returns NULL, or why it was refused
 * (the node is then empty again). */
const char *node_snapshot_load(node *n, const void *buf, size_t len);

/* wal_record_fn: applies entries after the snapshot as they are replayed.
 * An error (a record that replaces an applied entry, an undecodable
 * payload) is kept and reported by node_log_start. */
void node_log_replay(void *node_ctx, const wal_record *r, const wal_visit *v);

/* Turns the log on: resumes the writer after rc (whose verdict must be OK,
 * or TORN_TAIL with the tail already cut), or starts a fresh log when rc
 * is NULL or scanned no segment. Writes the hard state (a fresh log) or a
 * SNAPSHOT_MARK (a log the snapshot supersedes) in the first batch. Returns
 * false with a reason in err (a replay error, a log with entries missing
 * after the snapshot). */
bool node_log_start(node *n, wal_recovery *rc, const node_log_opts *o, char *err, size_t cap);

/* Turns the log off (CONFIG SET appendonly no). node_log_close: from now
 * on writes run at once (each client's after its own logged ones); what is
 * in the log drains as usual. node_log_stop: once node_log_idle, frees the
 * writer state (false, nothing changed, before). node_log_start turns it
 * on again (a new log). */
void node_log_close(node *n);
bool node_log_closing(const node *n);
bool node_log_stop(node *n);

/* node_log_start succeeded: writes go through the log. */
bool node_log_enabled(const node *n);

/* Seals what was proposed into the next batch and emits ACT_LOG_WRITE,
 * unless a batch is out (it goes when that one is done). */
void node_log_flush(node *n);

/* The batch of the outstanding ACT_LOG_WRITE (valid until EV_LOG_DONE). */
const wal_batch *node_log_batch(const node *n);

/* Nothing is proposed and not yet applied, and no batch is outstanding:
 * what the driver waits for before it exits. */
bool node_log_idle(const node *n);

typedef struct node_log_info {
    bool enabled;
    bool failed;              /* a write or sync failed: writes are refused */
    bool applying;            /* an entry is being applied (a snapshot now
                               * would hold half of it) */
    const char *error;        /* why, when failed */
    uint64_t term;
    uint64_t first_index;     /* first entry the log holds */
    uint64_t last_index;      /* last entry written */
    uint64_t applied_index;   /* last entry applied */
    uint64_t applied_term;    /* its term: a snapshot now would cover these */
    uint64_t snapshot_index, snapshot_term; /* of the newest durable snapshot */
    uint64_t batches;         /* ACT_LOG_WRITEs */
    uint64_t entries;         /* ENTRY_NORMAL records written */
    uint64_t commands;        /* commands logged */
    uint64_t bytes;           /* bytes handed to the driver */
    uint64_t bytes_since_snapshot;
    uint64_t replayed;        /* commands replayed at start-up */
} node_log_info;

void node_log_get_info(const node *n, node_log_info *out);

/* The whole snapshot file of the applied state (header, every non-empty
 * database, checksum) appended to out; *index and *term: what it covers.
 * Pure and read-only: a forked child calls it. */
void node_snapshot_encode(node *n, kbuf *out, uint64_t *index, uint64_t *term);

/* A snapshot covering up to index is durable (the driver may then delete
 * the segments before wal_first_needed(index)). log_bytes: the log's
 * `bytes` when the snapshot's state was taken (at the fork): what was
 * written since still counts towards the next automatic snapshot. Returns
 * true when the snapshot covers the whole log and no write is pending: the
 * driver may then delete every segment (the next entry starts a new one). */
bool node_snapshot_done(node *n, uint64_t index, uint64_t term, uint64_t log_bytes,
                        int64_t now_ms);

/* ------------------------------------------------------------------------ */
/* Cluster (decision 0009): the log is Raft's. A write is proposed to Raft;
 * the leader replicates it and every node applies it once committed, the
 * proposer's client getting the reply computed by the apply. Reads run
 * after a ReadIndex round (linearizable). A node that is not the leader
 * forwards what needs the leader to it (node_cluster_opts.forward) or
 * answers NODE_ERR_NOT_LEADER; a proposal whose fate the node cannot know
 * (leadership lost before it committed) gets NODE_ERR_UNKNOWN.
 *
 * Start-up, in this order: node_snapshot_load (the newest snapshot, if
 * any), wal_recovery_segment with node_cluster_replay over the segments
 * (it restores Raft's log and hard state; nothing is applied until the
 * cluster says it is committed), then node_cluster_start. */

#define NODE_ERR_NOT_LEADER "NOTLEADER" /* "-NOTLEADER leader is 3" / "... unknown" */
#define NODE_ERR_UNKNOWN "UNKNOWN"      /* "-UNKNOWN leadership changed; the command may or may not have been applied" */

typedef struct node_cluster_opts {
    rf_options raft;      /* raft.id: this node */
    rf_config bootstrap;  /* the founding members (empty for a joiner) */
    uint64_t snapshot_entries; /* take a snapshot (ACT_SNAPSHOT_SAVE) after
                                * this many applied entries; 0 = never */
    bool lease_reads;     /* serve reads under the leader's lease when it
                           * holds (else a ReadIndex round each) */
    bool forward;         /* a follower forwards commands for the leader to
                           * it and relays the reply (else -NOTLEADER) */
    int64_t forward_timeout_ms; /* no reply (or no leader) within this: an
                                 * error; 0 = 3 election timeouts */
    uint64_t data_seed;   /* the group's hash seed (decision 0008): the same
                           * on every member, whoever leads, e.g. drawn once
                           * when the cluster is created */
} node_cluster_opts;

void node_cluster_replay(void *node_ctx, const wal_record *r, const wal_visit *v);
bool node_cluster_start(node *n, wal_recovery *rc, const node_log_opts *o,
                        const node_cluster_opts *c, char *err, size_t cap);

/* The node's Raft (NULL when it is not a cluster node): read-only, for the
 * simulator's invariant checks and INFO. */
const rf_core *node_raft(const node *n);

/* Operator requests, between steps (actions as after a step): a membership
 * change (add a learner, promote a caught-up learner, remove a member) or
 * a leadership transfer. Only the leader accepts; RF_OK or why not
 * (rf_err_text). A change is an entry like any other; a node added as a
 * learner starts with an empty bootstrap and learns the membership from
 * the leader. */
rf_err node_cluster_change(node *n, rf_conf_op op, rf_id id, int64_t now_ms);
rf_err node_cluster_transfer(node *n, rf_id to, int64_t now_ms);

/* The member directory: where each node listens (its bus for peers, its
 * port for clients), for CLUSTER NODES and for the driver to dial. It is
 * not part of the replicated state: every node tells its own addresses in
 * HEALTH and JOIN messages (the driver sends them, node_cluster_health /
 * node_cluster_join), passes on what it knows of the other members, and
 * forgets nodes that left the membership. The driver seeds it (its own
 * entry, the founding peers, what it saved) and persists it when
 * node_dir_version changes. A node that knows no membership (a new one, a
 * wiped one) sends JOIN to the peers it reaches; the leader adds it as a
 * learner and promotes it once it caught up. */
#define NODE_HOST_MAX 64
typedef struct node_addr {
    rf_id id;
    char bus_host[NODE_HOST_MAX];
    int bus_port;
    char host[NODE_HOST_MAX]; /* clients: "" if not known yet */
    int port;
    int http_port;            /* -1: none or not known */
} node_addr;

/* Sets id's entry (its own word: replaces what was known). true if it
 * changed anything. */
bool node_dir_set(node *n, const node_addr *a);
const node_addr *node_dir_get(const node *n, rf_id id);
/* Entries in id order; returns how many there are (fills up to cap). */
size_t node_dir_list(const node *n, node_addr *out, size_t cap);
/* Bumped by every change of the directory (for the driver to act on). */
uint64_t node_dir_version(const node *n);
/* The driver's view of its bus: peer id's connection is up or down. */
void node_dir_link(node *n, rf_id id, bool up);
/* Messages for the driver to send on NODE_SVC_CLUSTER: a HEALTH (this
 * node's state and directory; to every connected peer now and then, and
 * to a peer as soon as it connects) and, while it knows no membership,
 * a JOIN (with its own addresses; to every peer it reaches). false: none
 * to send (not started, or, for JOIN, it knows a membership). */
bool node_cluster_health(node *n, kbuf *out);
bool node_cluster_join(node *n, kbuf *out);
bool node_cluster_joining(const node *n); /* it would send a JOIN */

#endif
