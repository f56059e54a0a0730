/* sim/client: the simulated clients, their workload and their history.
 *
 * Each client connects to a node (a random live one, or the leader a
 * NOTLEADER reply named), writes one request, waits for its reply and
 * records the operation in the history: invoke time, then ok (with the
 * result), fail (the reply says it had no effect: NOTLEADER, EXECABORT) or
 * unknown (no reply within the seed's timeout, the node crashed or closed,
 * UNKNOWN, MISCONF: it may or may not have taken effect; MISCONF because a
 * batch that failed may still have reached the disk, and a replay would
 * apply it). Then it thinks a little and issues the
 * next one; every attempt is a new operation (an APPEND's token is never
 * sent twice).
 *
 * The workload runs over a few hot keys of three kinds: registers (SET of
 * a unique value, GET, DEL), counters (INCR, GET) and lists built by
 * APPEND of unique tokens ("c3.17,"; GET), a seed's share of them reads
 * (GET), plus MULTI/EXEC of two ops on
 * keys of different kinds (one write: MULTI, the ops, EXEC; the EXEC's
 * array gives each op's result, and the op is split into one history entry
 * per key with the transaction's times).
 *
 * On half of the seeds (sim_profile.queues) a few queue keys (q0, ...)
 * join them: RPUSH of a unique token ("c3.17"), LPOP and BLPOP with a
 * short timeout (LPOP inside a MULTI, where nothing blocks). Their pops
 * record the element they returned (or nil), and once every client has
 * completed its operation after the heal, one client reads each queue
 * whole (LRANGE q 0 -1, through the leader, retrying until it is
 * answered): the final list sim/queuecheck.h needs. Seeds without queue
 * keys draw exactly what they drew before queues existed.
 *
 * Requests and replies cross a reliable, ordered link with a small delay:
 * clients sit next to the node they talk to; the faults are between nodes.
 * After the heal every client must complete one operation (retrying until
 * one succeeds); the run ends when all have. */
#ifndef KEEL_SIM_CLIENT_H
#define KEEL_SIM_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/lincheck.h"
#include "sim/queuecheck.h"
#include "sim/world.h"

enum { HOP_PENDING = 0, HOP_OK, HOP_FAIL, HOP_UNKNOWN };

/* An operation on a queue key (sim_hop.q); 0 for the others. */
enum { HQ_NONE = 0, HQ_RPUSH, HQ_LPOP, HQ_BLPOP };

/* One operation on one key, as the checker sees it. */
typedef struct sim_hop {
    uint64_t id;
    uint32_t client;
    uint32_t key;
    lc_kind kind;  /* not a queue op */
    uint8_t q;     /* a queue op (HQ_*): arg is RPUSH's token; val, nil what
                      a pop returned */
    uint8_t state;
    bool err, nil;
    char *arg;
    size_t arglen;
    int64_t call, ret;
    int64_t ival;
    char *val;
    size_t vallen;
} sim_hop;

typedef struct sim_client {
    uint32_t id; /* 1-based */
    int node;    /* connected to, or -1 */
    conn_id conn;
    uint64_t node_inc; /* the node's incarnation when connected */
    uint64_t conn_gen; /* bumped at every connect: replies of an older one are dropped */
    int target;        /* the node to connect to next (a NOTLEADER hint), or -1 */
    kbuf in;           /* reply bytes not parsed yet */
    int64_t last_delivery; /* FIFO on the client's link */
    /* The operation in flight. */
    bool busy;
    int nparts;        /* 1, or 2 for a MULTI */
    size_t hop[2];     /* its history entries */
    int nexpect, ngot; /* replies */
    bool multi;
    uint64_t wake_gen;
    bool stopped;      /* done: the heal phase saw it complete an op */
    uint64_t seq;      /* operations issued, for unique tokens */
    bool final;        /* reading the queues whole, after every client is done */
} sim_client;

/* History of the whole run (the world's). */
typedef struct sim_history {
    sim_hop *h;
    size_t n, cap;
} sim_history;

void sclient_start(sim_world *w);
void sclient_free_all(sim_world *w);

/* Events. */
void sclient_wake(sim_world *w, const sim_event *ev);
void sclient_reply(sim_world *w, const sim_event *ev);
void sclient_closed(sim_world *w, const sim_event *ev);

/* From a node's actions: output for conn, or its close. */
/* conn is one of the simulated clients' connections (not a proxy). */
bool sclient_owns(sim_world *w, sim_node *sn, conn_id conn);
void sclient_output(sim_world *w, sim_node *sn, conn_id conn, const char *data, size_t len);
void sclient_server_close(sim_world *w, sim_node *sn, conn_id conn);
/* The GET in flight on conn, if that is what its client waits for (a
 * single GET, not in a MULTI): its call time. */
bool sclient_pending_get(const sim_world *w, const sim_node *sn, conn_id conn, int64_t *call);
/* The node crashed: its clients' operations become unknown. */
void sclient_node_crashed(sim_world *w, sim_node *sn);
/* The heal: every client must now complete one operation. */
void sclient_heal(sim_world *w);
/* Every client completed its operation after the heal. */
bool sclient_all_done(const sim_world *w);
/* Why not, for the liveness report. */
void sclient_describe_pending(const sim_world *w, char *out, size_t cap);

/* The history and the keys. */
const sim_history *sclient_history(const sim_world *w);
/* Every key: the string keys (registers, counters, appends) first, then
 * the queues. */
int sclient_nkeys(const sim_world *w);
bool sclient_key_is_queue(const sim_world *w, int key);
/* A queue's final list (LRANGE q 0 -1 after the heal), head first: the
 * elements at (*elems)[0..*n), owned by the clients. False when it was not
 * read (the run ended before). */
bool sclient_queue_final(const sim_world *w, int key, const qc_tok **elems, size_t *n);
void sclient_key_name(const sim_world *w, int key, char *out, size_t cap);
void sclient_counts(const sim_world *w, uint64_t *ok, uint64_t *fail, uint64_t *unknown);

#endif
