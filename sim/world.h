/* sim/world: the simulated world. One process, N nodes, one virtual clock
 * and one seeded PRNG from which everything random is drawn
 * (ARCHITECTURE.md §9).
 *
 * The world holds the nodes (each a real core `node`, started from its
 * simulated disk exactly as io/server.c starts one from its directory),
 * the network between them (sim/net), their disks (sim/disk), their clocks
 * (an offset and a drift per node), the clients (sim/client) and the
 * checker (sim/check). Everything that happens is an event in a priority
 * queue ordered by (time, sequence number); the run loop pops the earliest,
 * hashes it into the run's digest, prints it when tracing, and carries it
 * out. Carrying out a node's event is one node_step, after which the
 * world does what the node asked (node_actions): replies go to clients,
 * Raft messages to the network, log batches and snapshots to the disk.
 *
 * A run has a fault phase (sim/faults draws the seed's fault profile and
 * injects faults while clients run --ops operations), then a heal phase:
 * every fault stops, crashed nodes restart, the operator gives every
 * removed node its vote back, and within a bound a leader must serve every
 * client's last operation and lead the full membership (liveness). The checker runs
 * after every node step (Raft's invariants) and at the end
 * (linearizability per key).
 *
 * Time is in µs of true (simulated) time; a node sees its own clock, in
 * ms: offset + true time scaled by (1 + drift). */
#ifndef KEEL_SIM_WORLD_H
#define KEEL_SIM_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/node/node.h"
#include "core/util/kbuf.h"
#include "core/util/prng.h"
#include "sim/disk.h"
#include "sim/net.h"

#define SIM_MAX_NODES SNET_MAX
#define SIM_MAX_CLIENTS 16

/* Exit codes, one per class of failure. */
typedef enum sim_class {
    SIM_OK = 0,
    SIM_SAFETY = 1,
    SIM_LINEARIZABILITY = 2,
    SIM_LIVENESS = 3,
    SIM_RECOVERY = 4,
} sim_class;

const char *sim_class_name(sim_class c); /* "safety", "linearizability", ... */

/* Fault classes (--faults). */
enum {
    SIM_F_NET = 1,    /* delay, loss, duplication, reordering, partitions */
    SIM_F_CRASH = 2,  /* crash and restart, pauses */
    SIM_F_DISK = 4,   /* torn writes, bit flips, EIO/ENOSPC (with crashes) */
    SIM_F_CLOCK = 8,  /* per-node offset and drift */
    SIM_F_SWARM = 16, /* each class above on or off per seed */
    SIM_F_MEMBER = 32, /* membership churn (remove, re-add as a learner, maybe
                        * with a wiped disk, promote) and leadership transfers */
};

/* Parses a --faults mix ("none", "net", "crash", "disk", "clock", "member",
 * "all"); -1 if unknown. */
int sim_faults_parse(const char *s);

typedef struct sim_opts {
    uint64_t seed;
    int nodes;            /* 1: a single node with its own log, no Raft */
    unsigned faults;      /* SIM_F_* */
    const char *faults_name;
    uint64_t ops;         /* client operations to issue in the fault phase */
    uint64_t bugs;        /* rf_options.bugs on every node, and SIM_BUG_* */
    bool trace;           /* one line per event to out */
    FILE *out;
} sim_opts;

/* A planted bug of the driver the simulator stands for (io/persist.c), in
 * sim_opts.bugs above Raft's (RF_BUG_COUNT bits): keel-sim --bug NAME. */
#define SIM_BUG_NO_STARTUP_SYNC (1ull << 48) /* above RF_BUG_COUNT: world.c checks */
/* start-up replays a killed process's unsynced writes without syncing them */
#define SIM_BUG_NO_STARTUP_SYNC_NAME "no-startup-sync"

/* What the seed drew (sim/faults.c). Probabilities in parts per million. */
typedef struct sim_profile {
    bool net, crash, disk, clock; /* fault classes on */
    snet_opts netw;
    uint32_t part_ppm;       /* per fault tick: change the partitions */
    uint32_t crash_ppm;      /* per fault tick: crash a node */
    uint32_t pause_ppm;      /* per fault tick: pause a node */
    int64_t down_ms_max;     /* a crashed node restarts within this */
    int64_t pause_ms_max;
    uint32_t tear_ppm;       /* a crash tears the pending writes */
    uint32_t flip_ppm;       /* a restart finds a bit flipped */
    uint32_t eio_ppm;        /* per fault tick: a node's next batch fails */
    int64_t offset_ms_max;   /* clock offsets in [-max, max] */
    int64_t drift_ppm_max;   /* drift in [-max, max] */
    int64_t fault_ms_min, fault_ms_max; /* between fault ticks */
    int64_t disk_write_us, disk_sync_us; /* base latencies (+ up to as much again) */
    int nclients;
    int keys_per_type;
    uint32_t multi_ppm;      /* a MULTI of two ops instead of one */
    int64_t think_us_max;    /* a client's pause between operations */
    uint32_t read_ppm;       /* an op is a GET */
    int64_t timeout_us;      /* a client gives up on a reply (unknown) */
    uint32_t hot_crash_ppm;  /* a node whose term changed crashes soon after */
    bool lease_reads;        /* cluster: reads under the leader's lease */
    bool forward;            /* cluster: followers forward to the leader */
    int64_t save_idle_ms;    /* one node: a snapshot once the log is idle, at most this often (0: off) */
    bool prealloc;           /* segments preallocated with zeros, as io/persist.c's fallocate */
    bool kill;               /* half the crashes are process kills (the page cache survives),
                              * and some kills are followed by a power cut soon after the restart */
    /* Queue keys (sim/client.c), on half of the seeds: RPUSH, LPOP, BLPOP. */
    int queues;              /* how many (q0, ...), 0: none */
    uint32_t queue_ppm;      /* an op is on a queue */
    uint32_t push_ppm;       /* a queue op is an RPUSH (else a pop) */
    uint32_t blpop_ppm;      /* a pop is a BLPOP (else an LPOP) */
    int64_t blpop_ms_max;    /* BLPOP's timeout: 100 ms up to this */
    /* Membership (the operator, sim/faults.c). */
    bool member;             /* churn on */
    int64_t oper_ms_min, oper_ms_max; /* between operator ticks */
    uint32_t churn_ppm;      /* per operator tick: remove a voter */
    uint32_t rm_leader_ppm;  /* the voter removed is the leader itself */
    int64_t out_ms_max;      /* a removed node is added back within this */
    uint32_t wipe_ppm;       /* it comes back with an empty disk */
    uint32_t transfer_ppm;   /* per operator tick: a leadership transfer */
    /* Nemeses: targeted patterns (sim/faults.c), each on or off per seed. */
    int64_t nem_ms_min, nem_ms_max; /* between nemesis ticks */
    uint32_t iso_ppm;        /* per nemesis tick: isolate the leader, held */
    uint32_t lag_ppm;        /* per nemesis tick: cut the leader's word to one
                              * follower in a read-only window, held */
    uint32_t react_ppm;      /* at an election: the deposed leader hears
                              * nothing more for a while */
    uint32_t readonly_ppm;   /* per nemesis tick: a window of reads only */
    uint32_t stall_ppm;      /* a new leader's disk stalls */
    uint32_t conf_elect_ppm; /* a new leader is asked for a change at once */
    uint32_t split_ppm;      /* right after a change: a partition */
    bool eager;              /* the operator asks for changes while one is
                              * pending (the core must refuse) */
    int64_t hold_ms_min, hold_ms_max; /* how long a held partition lasts */
} sim_profile;

typedef struct sim_node {
    int idx;     /* 0-based; the Raft id is idx + 1 */
    node n;
    bool up;     /* started and not crashed */
    bool paused;
    int64_t pause_until;
    uint64_t inc; /* incarnation: bumped at every crash (stale events are dropped) */
    sdisk disk;
    /* The clock. */
    int64_t offset_ms;
    int64_t drift_ppm;
    int64_t tick_local_ms; /* the local time the next tick is due */
    int64_t armed_deadline; /* node_next_deadline() a timer is queued for */
    uint64_t timer_gen;
    /* The log write in flight (a copy of node_log_batch()). */
    bool writing;
    kbuf wbuf, wops;
    char open_seg[WAL_NAME_SIZE]; /* the segment the writer has open */
    int fault_next;   /* 0, or SIM_DISK_EIO / SIM_DISK_ENOSPC for the next batch */
    const char *disk_error; /* the writer failed: every later batch fails so */
    bool restart_queued;    /* an operator restart of a failed node is queued */
    /* Snapshots. */
    bool snap_writing;
    uint64_t snap_log_bytes; /* single node: the log's bytes at the snapshot's point */
    int64_t snap_started_us; /* single node: when the last snapshot started (sim time) */
    /* The checker's view. */
    uint64_t seen_applied;
    int seen_role;
    uint64_t seen_commit, seen_term_led; /* the term it led in at the last step, 0 if none */
    uint64_t seen_term; /* for the crashes at a term change */
    /* What the node had durably when it crashed (sim/check.c). */
    bool crashed_known;
    uint64_t crash_stable, crash_stable_term; /* entries through stable */
    bool crash_hs_known;
    uint64_t crash_term, crash_vote;          /* its durable hard state */
    /* Membership, as the operator plans it. */
    bool joiner;        /* its disk was wiped: it boots with no bootstrap */
    int64_t back_at;    /* removed: the operator adds it back from then on */
    bool wipe_planned;  /* ... after wiping its disk */
    int64_t stall_us;   /* its next log batches sync this much slower ... */
    int stall_batches;  /* ... this many of them */
    /* Counters. */
    uint64_t crashes, restarts;
    bool killed; /* down after a process kill: its unsynced writes are still in the page cache */
} sim_node;

enum { SIM_DISK_EIO = 1, SIM_DISK_ENOSPC = 2 };

/* Event kinds. */
typedef enum sim_ev_kind {
    SE_TICK = 1,     /* node: EV_TICK */
    SE_TIMER,        /* node: EV_TIMER (gen: timer_gen) */
    SE_PEER,         /* node: EV_PEER_DATA from peer */
    SE_CLIENT_DATA,  /* node: request bytes from client on conn */
    SE_LOG_WRITE,    /* node: carry out the batch's writes */
    SE_LOG_SYNC,     /* node: sync, then EV_LOG_DONE */
    SE_SNAP_SAVE,    /* node: the snapshot is durable, EV_SNAPSHOT_SAVED */
    SE_REPLY,        /* client: reply bytes (gen: the client's connection) */
    SE_CLOSED,       /* client: the node closed the connection */
    SE_CLIENT_WAKE,  /* client: its timer (gen: the client's timer) */
    SE_FAULT,        /* the fault injector's tick */
    SE_RESTART,      /* node: start it again */
    SE_UNPAUSE,      /* node */
    SE_CRASH,        /* node: crashes, a power cut (x: 1 at a term change, 2
                      * soon after a restart from a kill, 0 an operator after
                      * a disk failure); restarts y ms later (0: 100..1000) */
    SE_HEAL,         /* end of the fault phase */
    SE_OPER,         /* the operator's tick (membership, transfers) */
    SE_NEMESIS,      /* a nemesis' step (x: which; gen: its hold) */
    SE_KIND_MAX,
} sim_ev_kind;

typedef struct sim_event {
    int64_t at;
    uint64_t seq;
    uint8_t kind;
    int8_t node, peer;
    uint32_t client;
    uint64_t gen;  /* the node's incarnation, a client's connection or timer */
    uint64_t conn;
    uint64_t x, y; /* SE_SNAP_SAVE: index, term; SE_LOG_SYNC: 1 when the batch failed */
    void *data;    /* owned by the event */
    size_t len;
} sim_event;

struct sim_clients;
struct sim_check;

typedef struct sim_world {
    sim_opts o;
    sim_profile p;
    kprng rng;
    int64_t now; /* µs */
    uint64_t seq;
    sim_event *heap;
    size_t nheap, capheap;
    uint64_t events;
    uint64_t digest;
    int nnodes;
    bool cluster; /* nodes are Raft nodes */
    sim_node nodes[SIM_MAX_NODES];
    snet net;
    /* Phases. */
    bool healed;
    int64_t heal_at, deadline_at; /* liveness: done by deadline_at */
    bool finished;
    /* Clients and history. */
    struct sim_clients *cl; /* sim/client.c */
    uint64_t ops_issued;
    /* The checker. */
    struct sim_check *check;
    /* The first failure. */
    sim_class fail;
    char why[4096];
    char profile_desc[1024];
    /* Nemeses and the operator. */
    int64_t hold_until;      /* a held partition: the fault ticks leave the links alone */
    uint64_t hold_gen;
    int64_t readonly_until;  /* clients only read until then */
    int64_t react_until;     /* an election until then makes the deposed leader deaf */
    bool oper_running;
    /* Counters for the summary. */
    uint64_t crashes, restarts, pauses, partitions, flips, flips_caught, torn, disk_errors;
    uint64_t kills; /* of the crashes, process kills */
    uint64_t log_writes; /* SE_LOG_WRITEs carried out, every node */
    uint64_t removes, adds, promotes, transfers, wipes, nemeses;
    kbuf scratch;
} sim_world;

typedef struct sim_result {
    sim_class cls;
    char why[4096];
    char profile[1024];
    uint64_t events;
    int64_t time_us;
    uint64_t digest;
    uint64_t ops_ok, ops_fail, ops_unknown;
    uint64_t lc_gave_up;
} sim_result;

/* Runs one seed. */
void sim_run(const sim_opts *o, sim_result *r);
/* The seed running now (for a crash handler): its digest and events so
 * far; false when none runs. Reads two words, nothing else. */
bool sim_running(uint64_t *digest, uint64_t *events);

/* ------------------------------------------------------------------------ */
/* For the modules of sim/ */

/* Queues an event at time at (>= now). */
void sim_push(sim_world *w, const sim_event *ev);
/* Prints a trace line (when tracing): "[time] " then the text. */
void sim_trace(sim_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records the first failure of a class; later ones are ignored. */
void sim_fail(sim_world *w, sim_class c, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A uniform draw in [lo, hi]. */
int64_t sim_between(sim_world *w, int64_t lo, int64_t hi);
/* True with probability ppm / 10^6. */
bool sim_chance(sim_world *w, uint32_t ppm);
/* A value from the seed and x alone (splitmix64's finaliser), not from the
 * PRNG: a choice made with it leaves every other draw of the seed as it
 * was. */
uint64_t sim_hash(const sim_world *w, uint64_t x);

/* A node's clock, ms, at true time t (µs). */
int64_t sim_local_ms(const sim_node *sn, int64_t t);

/* Steps a node with ev (now_ms is filled in) and carries out its actions. */
void sim_node_step(sim_world *w, sim_node *sn, node_event *ev);
/* Crashes a node: its process is gone, its disk loses what was not synced. */
void sim_node_crash(sim_world *w, sim_node *sn, const char *why);
/* Kills a node's process (kill -9): its writes stay in the page cache,
 * unsynced, and a later crash can still take them. */
void sim_node_kill(sim_world *w, sim_node *sn, const char *why);
/* Starts a crashed node from its disk (may inject a bit flip first). */
void sim_node_restart(sim_world *w, sim_node *sn);
/* The leader as the nodes see it: the up node in the highest term that is
 * leader, or -1. */
int sim_leader(const sim_world *w);
/* After an operator request to sn (node_cluster_change / _transfer):
 * carries out its actions and checks, as after a step. */
void sim_node_after_op(sim_world *w, sim_node *sn);
/* The operator wipes a crashed node's disk: it will start as a new node
 * (an empty bootstrap: it learns the membership from the leader). */
void sim_node_wipe(sim_world *w, sim_node *sn);

#endif
