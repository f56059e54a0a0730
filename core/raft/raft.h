/* raft: consensus as one pure step function (decision 0009).
 *
 *     void rf_step(rf_core *r, const rf_event *ev);
 *
 * An event (a message from a peer, a timeout, a proposal, a read request,
 * the driver's word that a write is durable, ...) comes in with the time;
 * what to do comes out in r->out (rf_update), valid until the next step.
 * The core does no I/O, reads no clock and draws randomness only from the
 * PRNG its driver seeded. The shape is cowsql/raft's raft_step; the
 * durability contract is etcd-io/raft's:
 *
 *  - Hard state (term, vote) and entries come out in out.persist. The
 *    driver writes them in order (the hard state first, then the entries;
 *    entries at >= persist.first that are on disk are dropped first) and
 *    steps RF_EV_PERSISTED with the request's seq once they are synced.
 *    Requests are carried out in the order of their seq.
 *  - Every message in out.msgs may be sent at once: a message that depends
 *    on durable state (a vote, a follower's acknowledgement, anything sent
 *    in a term not yet durable) is held inside the core until the
 *    PERSISTED event that makes it true, and only then comes out.
 *  - out.apply_from..apply_to are committed and durable here: the driver
 *    applies them (rf_entry_at) before its next step, in order.
 *
 * Roles: follower, pre-candidate, candidate, leader; learners (non-voting
 * members) replicate and never campaign. Elections use randomized
 * timeouts, pre-vote and check-quorum. Replication is pipelined per
 * follower (probe / replicate / snapshot states, a bounded in-flight
 * window) with the conflict-term fast backtrack. Only entries of the
 * leader's term are committed by counting (Figure 8); a new leader appends
 * a no-op. Reads: ReadIndex (once an entry of the leader's term is
 * committed) and leases (only with check-quorum; the lease is the election
 * timeout less the configured clock drift). Snapshots: the driver hands in
 * what it took; followers that are too far behind get it in chunks.
 * Membership: one voter at a time, with learners that catch up first,
 * never before the leader has committed an entry of its term and never
 * while another change is uncommitted. Leadership transfer: TimeoutNow.
 * Peers are visited in id order. */
#ifndef KEEL_CORE_RAFT_RAFT_H
#define KEEL_CORE_RAFT_RAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util/prng.h"

#define RF_MAX_MEMBERS 16 /* voters + learners of one group */
#define RF_INFLIGHT_MAX 64 /* APPENDs out per follower, at most */

typedef uint64_t rf_id; /* a node; 0 = none */

typedef enum rf_role {
    RF_FOLLOWER = 1,
    RF_PRECANDIDATE,
    RF_CANDIDATE,
    RF_LEADER,
} rf_role;

const char *rf_role_name(rf_role role);

/* Entry types share the WAL's numbers (core/wal/wal.h). */
typedef enum rf_entry_type {
    RF_ENTRY_NORMAL = 1, /* the application's */
    RF_ENTRY_NOOP = 2,   /* a new leader's first entry */
    RF_ENTRY_CONFIG = 3, /* a membership: rf_config_encode */
} rf_entry_type;

typedef struct rf_entry {
    uint64_t index, term;
    uint8_t type;
    uint32_t len;
    unsigned char *data; /* owned by the core's log */
} rf_entry;

/* A membership: voters and learners, each list sorted by id. */
typedef struct rf_config {
    uint32_t nvoters, nlearners;
    rf_id voters[RF_MAX_MEMBERS];
    rf_id learners[RF_MAX_MEMBERS];
} rf_config;

bool rf_config_is_voter(const rf_config *c, rf_id id);
bool rf_config_is_learner(const rf_config *c, rf_id id);
/* 1 + 8 * members bytes at most; returns the length written. */
#define RF_CONFIG_ENCODED_MAX (8 + 8 * 2 * RF_MAX_MEMBERS)
size_t rf_config_encode(const rf_config *c, unsigned char *out);
bool rf_config_decode(rf_config *c, const void *buf, size_t len);

/* ------------------------------------------------------------------------ */
/* Messages. Plain data; core/raft/msg.c encodes them (msgpack) for the
 * wire. Entry and snapshot bytes point into the sender's memory until the
 * next step (or into the receive buffer). */

typedef enum rf_msg_type {
    RF_MSG_PREVOTE = 1,     /* term = the term the sender would campaign in */
    RF_MSG_PREVOTE_RESP,    /* term = the request's term when granted */
    RF_MSG_VOTE,
    RF_MSG_VOTE_RESP,
    RF_MSG_APPEND,          /* prev_index/prev_term, entries, commit */
    RF_MSG_APPEND_RESP,     /* index: last matching index; reject + hint */
    RF_MSG_HEARTBEAT,       /* commit (never past what the follower has) */
    RF_MSG_HEARTBEAT_RESP,
    RF_MSG_SNAPSHOT,        /* a chunk of the snapshot at snap_index */
    RF_MSG_SNAPSHOT_RESP,   /* offset: bytes received so far; index: installed */
    RF_MSG_TIMEOUT_NOW,     /* leadership transfer: campaign now */
    RF_MSG_TYPE_MAX = RF_MSG_TIMEOUT_NOW,
} rf_msg_type;

const char *rf_msg_type_name(rf_msg_type t);

typedef struct rf_msg {
    uint8_t type;
    rf_id from, to;
    uint64_t term;
    /* VOTE / PREVOTE: the candidate's last entry; transfer: a campaign
     * started by TimeoutNow, which followers grant despite a live leader */
    uint64_t last_index, last_term;
    bool transfer;
    /* *_RESP */
    bool reject;
    /* APPEND */
    uint64_t prev_index, prev_term, commit;
    uint32_t nentries;
    const rf_entry *entries;
    /* APPEND_RESP: index = the last index that now matches (success), or
     * the rejected prev_index. hint_index/hint_term, the conflict: when
     * prev_index is past the follower's log, (its last + 1, 0); otherwise
     * its term at prev_index and the first index it holds of that term */
    uint64_t index, hint_index, hint_term;
    /* HEARTBEAT / APPEND and their responses: the leader's read round and
     * its clock when it sent the message, echoed back */
    uint64_t ctx;
    int64_t sent_ms;
    /* SNAPSHOT */
    uint64_t snap_index, snap_term;
    rf_config snap_config;
    uint64_t offset, total; /* this chunk's place, the whole size */
    uint32_t len;
    const unsigned char *data;
    bool done; /* the last chunk */
} rf_msg;

/* ------------------------------------------------------------------------ */
/* Known bugs that the simulator plants to prove its checker can fail
 * (keel-sim --bug NAME). Zero in production. */
#define RF_BUGS(X)                                                                          \
    X(COMMIT_NO_QUORUM, "commit-no-quorum", "the leader commits its entries without a quorum") \
    X(COMMIT_OLD_TERM, "commit-old-term",                                                   \
      "the leader commits an earlier term's entry by counting replicas (Figure 8)")          \
    X(FORGET_VOTE, "forget-vote", "a restarted node forgets whom it voted for")             \
    X(ACK_BEFORE_SYNC, "ack-before-sync", "a follower acknowledges entries before they are durable") \
    X(LEASE_NO_DRIFT, "lease-no-drift", "the lease is not shortened by the clock drift bound") \
    X(LEASE_NO_CHECK_QUORUM, "lease-no-check-quorum",                                       \
      "lease reads while check-quorum is off: a deposed leader keeps serving")              \
    X(READ_INDEX_EARLY, "read-index-early",                                                 \
      "ReadIndex served before the leader committed an entry of its term")                  \
    X(CONF_EARLY, "conf-early",                                                             \
      "membership changes before the leader committed an entry of its term")               \
    X(APPLY_UNCOMMITTED, "apply-uncommitted", "followers apply entries before they are committed") \
    X(VOTE_ANY_LOG, "vote-any-log", "votes are granted without the log up-to-date check")   \
    X(NO_TRUNCATE, "no-truncate", "a follower keeps conflicting entries instead of replacing them")

typedef enum rf_bug {
#define RF_BUG_ENUM(name, str, text) RF_BUG_##name,
    RF_BUGS(RF_BUG_ENUM)
#undef RF_BUG_ENUM
    RF_BUG_COUNT
} rf_bug;

const char *rf_bug_name(rf_bug b);
const char *rf_bug_text(rf_bug b);
/* The bug named s, or -1. */
int rf_bug_parse(const char *s);

/* ------------------------------------------------------------------------ */

typedef struct rf_options {
    rf_id id;
    uint64_t seed;               /* the election-timeout PRNG's */
    int64_t election_ms;         /* 1000: a timeout is drawn in [e, 2e) */
    int64_t heartbeat_ms;        /* 100 */
    int64_t max_drift_ms;        /* 100: lease = election_ms - this */
    bool pre_vote;               /* true */
    bool check_quorum;           /* true */
    uint32_t max_inflight;       /* 16 APPENDs out per follower (<= RF_INFLIGHT_MAX) */
    uint32_t max_batch_entries;  /* 64 entries per APPEND */
    uint64_t max_batch_bytes;    /* 1 MiB per APPEND */
    uint32_t snapshot_chunk;     /* 256 KiB */
    uint64_t bugs;               /* 1 << RF_BUG_*: planted bugs (simulator) */
} rf_options;

void rf_options_default(rf_options *o);

/* What the driver does after a step. */
typedef struct rf_persist {
    uint64_t seq;       /* 0: nothing to persist */
    bool hard_state;    /* write term and vote */
    uint64_t term;
    rf_id vote;
    uint64_t first;     /* entries from here on are replaced (0: none) */
    const rf_entry *entries; /* first .. first + nentries - 1 */
    uint32_t nentries;
} rf_persist;

typedef struct rf_read {
    uint64_t ctx;   /* the caller's, from RF_EV_READ */
    uint64_t index; /* serve once applied through this */
} rf_read;

typedef struct rf_update {
    rf_persist persist;
    rf_msg *msgs;
    uint32_t nmsgs;
    uint64_t apply_from, apply_to; /* apply_from > apply_to: nothing */
    rf_read *reads;    /* ready reads */
    uint32_t nreads;
    uint64_t *read_fails; /* ctxs of reads that cannot be served here
                           * (not leader, lost leadership, transfer) */
    uint32_t nread_fails;
    /* A snapshot a leader sent, to install: restore the state from
     * snap_data, make it durable, then step RF_EV_SNAPSHOT_PERSISTED. */
    bool install;
    uint64_t snap_index, snap_term;
    rf_config snap_config;
    const unsigned char *snap_data;
    uint64_t snap_len;
    /* A follower needs the snapshot and the core has no bytes of it (a
     * restarted leader): hand one in (RF_EV_SNAPSHOT) at the applied index. */
    bool want_snapshot;
    /* State changes, for the driver's information. */
    bool role_changed, leader_changed, config_changed;
    /* An output, not a clock: the time (in the clock the events carry)
     * at which the driver steps RF_EV_TIMEOUT; -1 only before rf_start. */
    int64_t deadline;
} rf_update;

typedef enum rf_event_type {
    RF_EV_TIMEOUT = 1,   /* the deadline came */
    RF_EV_RECV,          /* msg */
    RF_EV_PROPOSE,       /* data, len: a NORMAL entry (leader only) */
    RF_EV_READ,          /* ctx, lease: a linearizable read */
    RF_EV_PERSISTED,     /* seq: that persist request (and every earlier) is durable */
    RF_EV_SNAPSHOT,      /* the driver took a snapshot of the applied state at
                          * index (data, len: its bytes, copied): compact the
                          * log behind it, keeping `trailing` entries */
    RF_EV_SNAPSHOT_PERSISTED, /* the snapshot of update.install is durable and
                               * restored */
    RF_EV_CONF_CHANGE,   /* conf_op on conf_id (leader only) */
    RF_EV_TRANSFER,      /* hand leadership to `to` (leader only) */
    RF_EV_UNREACHABLE,   /* the connection to `to` failed: probe it again */
} rf_event_type;

typedef enum rf_conf_op {
    RF_CONF_ADD_LEARNER = 1,
    RF_CONF_PROMOTE,     /* a caught-up learner becomes a voter */
    RF_CONF_REMOVE,      /* a voter (the leader too) or a learner */
} rf_conf_op;

typedef struct rf_event {
    uint8_t type;
    int64_t now_ms;
    const rf_msg *msg;
    const void *data;
    size_t len;
    uint64_t ctx;
    bool lease;         /* RF_EV_READ: a lease read is acceptable */
    bool more;          /* RF_EV_READ: more reads follow at once; the last
                         * one (more false) starts one round for them all */
    uint64_t seq;
    uint64_t index, term; /* RF_EV_SNAPSHOT */
    uint64_t trailing;
    uint8_t conf_op;
    rf_id conf_id;
    rf_id to;
} rf_event;

/* Why a proposal, read, membership change or transfer was refused
 * (rf_core.err after the step; RF_OK when accepted). */
typedef enum rf_err {
    RF_OK = 0,
    RF_ERR_NOT_LEADER,
    RF_ERR_TRANSFERRING,   /* a leadership transfer is under way */
    RF_ERR_NOT_READY,      /* no entry of this term committed yet */
    RF_ERR_CONF_PENDING,   /* another membership change is uncommitted */
    RF_ERR_CONF_INVALID,   /* not a member, already one, too many, ... */
    RF_ERR_NOT_CAUGHT_UP,  /* the learner is behind */
    RF_ERR_TOO_BIG,
} rf_err;

const char *rf_err_text(rf_err e);

typedef struct rf_progress {
    uint64_t match, next;
    uint8_t state;        /* RF_PROBE, RF_REPLICATE, RF_SNAPSHOTTING */
    bool paused;          /* probe: one message out, wait */
    uint32_t inflight;    /* APPENDs out in replicate state ... */
    uint64_t inflight_last[RF_INFLIGHT_MAX]; /* ... their last indexes, a ring */
    uint32_t inflight_head;
    bool active;          /* heard from since the last check-quorum */
    uint64_t acked_ctx;   /* highest read round echoed */
    int64_t acked_sent_ms;/* the highest send time echoed */
    uint64_t snap_index;  /* SNAPSHOTTING: the snapshot being sent ... */
    uint64_t snap_offset; /* ... bytes acknowledged */
    int64_t snap_sent_ms; /* when the last chunk went */
} rf_progress;

enum { RF_PROBE = 1, RF_REPLICATE, RF_SNAPSHOTTING };

/* A message held until the state it depends on is durable. */
typedef struct rf_held {
    uint64_t term;  /* the term it was said in */
    uint64_t seq;   /* this persist request (the hard state) ... */
    uint64_t index; /* ... and entries through this index (0: none) */
    rf_msg m;
} rf_held;

typedef struct rf_pending_read {
    uint64_t ctx, index, round; /* round 0: waits for the term's first commit */
} rf_pending_read;

typedef struct rf_inflight_persist {
    uint64_t seq, last, last_term; /* last 0: no entries */
} rf_inflight_persist;

typedef struct rf_core {
    rf_options o;
    kprng rng;
    rf_role role;
    rf_id leader;
    uint64_t term;
    rf_id vote;
    rf_err err;

    /* The log: entries log_start .. log_start + log_len - 1 in memory; the
     * entry before them (base_index) has base_term. */
    rf_entry *log;
    uint64_t log_cap, log_len, log_start;
    uint64_t base_index, base_term;
    /* The newest snapshot: covers everything through snap_index. */
    uint64_t snap_index, snap_term;
    rf_config snap_config;
    unsigned char *snap_data; /* its bytes, to send (NULL: not handed in) */
    uint64_t snap_len;
    rf_config bootstrap;

    uint64_t commit, applied;
    uint64_t stable;      /* entries through this are durable here */
    uint64_t seq, persisted_seq;
    uint64_t hs_seq;      /* the request that writes the newest hard state */
    rf_inflight_persist *pq; /* persist requests not yet acknowledged */
    uint32_t npq, cappq;

    /* Membership: the newest config in the log (it takes effect when
     * appended) and the entry it came from (0: snapshot or bootstrap). */
    rf_config config;
    uint64_t config_index;
    rf_id members[RF_MAX_MEMBERS]; /* voters, then learners */
    uint32_t nmembers;

    /* Time. */
    int64_t now;
    int64_t election_deadline, heartbeat_deadline, check_quorum_deadline;
    int64_t last_leader_contact; /* followers: when a leader was last heard */
    int64_t lease_until;          /* leader: lease reads valid before this */
    bool lease_revoked;           /* TimeoutNow went out: no lease this term */
    int64_t vote_block_until;     /* restarted: no votes before this */

    /* Election. */
    rf_id granted[RF_MAX_MEMBERS], rejected[RF_MAX_MEMBERS];
    uint32_t ngranted, nrejected;
    bool transfer_campaign; /* the campaign came from TimeoutNow */

    /* Leader. */
    rf_progress prog[RF_MAX_MEMBERS]; /* by slot of members[] */
    uint64_t read_round;
    rf_pending_read *preads;
    uint32_t npreads, cappreads;
    rf_id transferee;
    int64_t transfer_deadline;
    uint64_t noop_index;    /* the leader's first entry of its term */

    /* Follower. */
    uint64_t verified; /* entries through this match this term's leader */
    unsigned char *rx_snap; /* a snapshot being received */
    uint64_t rx_len, rx_cap, rx_index, rx_term;
    bool installing; /* out.install went out; SNAPSHOT_PERSISTED to come */
    uint64_t install_index;

    rf_held *held;
    uint32_t nheld, capheld;

    rf_update out;
    uint32_t capmsgs, capreads, capfails;
    uint64_t persist_first; /* this step: entries from here changed (0: none) */
    bool persist_hs;        /* this step: the hard state changed */
} rf_core;

/* A fresh core. Restores durable state with rf_restore before the first
 * step: the hard state, the newest snapshot's metadata, and the entries
 * after it. `bootstrap`: the membership when neither the log nor a
 * snapshot has one (every founding member starts with the same; a node
 * joining later passes an empty one and learns it from the leader). */
void rf_init(rf_core *r, const rf_options *o, const rf_config *bootstrap, int64_t now_ms);
void rf_free(rf_core *r);

void rf_restore_hard_state(rf_core *r, uint64_t term, rf_id vote);
/* The snapshot the state was restored from (its data is not needed: the
 * driver hands it in again with RF_EV_SNAPSHOT if it wants to send it). */
void rf_restore_snapshot(rf_core *r, uint64_t index, uint64_t term, const rf_config *c);
/* Entries after the snapshot, in order (a later index replaces). All durable. */
void rf_restore_entry(rf_core *r, uint64_t index, uint64_t term, uint8_t type, const void *data,
                      size_t len);
/* After the restores: the applied index the state machine already holds
 * (the snapshot's), and arms the election timer. A restarted node (term >
 * 0) with check-quorum grants no vote for election_ms: it cannot know
 * whose lease it confirmed just before it went down. */
void rf_start(rf_core *r, uint64_t applied, int64_t now_ms);

void rf_step(rf_core *r, const rf_event *ev);

/* Entry at index, or NULL if compacted or beyond the log. */
const rf_entry *rf_entry_at(const rf_core *r, uint64_t index);
uint64_t rf_last_index(const rf_core *r);
uint64_t rf_last_term(const rf_core *r);
uint64_t rf_term_at(const rf_core *r, uint64_t index, bool *ok);
/* The member slot of id in r->members / r->prog, or -1. */
int rf_member_slot(const rf_core *r, rf_id id);

#endif
