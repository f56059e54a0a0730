/* engine: executes commands against the store, for any number of clients.
 *
 * The engine is the command half of a node: it owns the db, the command
 * registry, the clients' command-level state (MULTI queue, WATCHed keys,
 * name, auth) and the statistics the INFO command reports. It is pure: the
 * driver hands in every command with the time it runs at and collects the
 * reply bytes; randomness comes from the engine's PRNG, seeded by the
 * driver. Two engines given the same seed and the same calls end in the
 * same state, bit for bit. */
#ifndef KEEL_CORE_CMD_ENGINE_H
#define KEEL_CORE_CMD_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/cmd/cmd.h"
#include "core/store/db.h"
#include "core/util/kbuf.h"
#include "core/util/prng.h"

/* Settings the core's commands read. CONFIG GET/SET reach them through
 * the config table (core/cmd/config.c); the runtime adds its own. */
typedef struct engine_config {
    long long hash_max_listpack_entries; /* 128 */
    long long hash_max_listpack_value;   /* 64 */
    long long list_max_listpack_size;    /* -2: 8 KiB per quicklist node */
    long long list_compress_depth;       /* 0 (accepted, not used: nodes are never compressed) */
    long long zset_max_listpack_entries; /* 128 */
    long long zset_max_listpack_value;   /* 64 */
    long long set_max_intset_entries;    /* 512 */
    long long proto_max_bulk_len;        /* 512 MiB: longest string a command may build */
    char *requirepass;                   /* NULL: no password */
    long long active_expire_effort;      /* 1..10, Redis's; scales the expire cycle */
    long long hz;                        /* ticks per second the driver promises */
    bool latency_tracking;               /* yes: per-command latency histograms */
    long long hll_sparse_max_bytes;      /* 3000: sparse HLL promoted to dense past it */
    int sanitize_dump_payload;           /* no|yes|clients: accepted; RESTORE always
                                          * validates a payload fully */
    long long maxmemory;                 /* bytes; 0: no limit */
    int maxmemory_policy;                /* EVICT_*: noeviction */
    long long maxmemory_samples;         /* 5: keys sampled per eviction */
    long long maxmemory_eviction_tenacity; /* 10 (accepted; eviction is not time-sliced) */
} engine_config;

/* maxmemory-policy, in Redis's order of names (config.c). The LFU policies
 * evict by idle time as the LRU ones do: keel keeps no access counter. */
enum {
    EVICT_VOLATILE_LRU,
    EVICT_VOLATILE_LFU,
    EVICT_VOLATILE_RANDOM,
    EVICT_VOLATILE_TTL,
    EVICT_ALLKEYS_LRU,
    EVICT_ALLKEYS_LFU,
    EVICT_ALLKEYS_RANDOM,
    EVICT_NOEVICTION,
};

/* Client flags. */
#define CLIENT_MULTI (1u << 0)
#define CLIENT_DIRTY_CAS (1u << 1)  /* a WATCHed key changed: EXEC fails */
#define CLIENT_DIRTY_EXEC (1u << 2) /* an error while queueing: EXECABORT */
#define CLIENT_CLOSE_AFTER_REPLY (1u << 3)
#define CLIENT_NO_EVICT (1u << 4)
#define CLIENT_KILLED (1u << 5)     /* CLIENT KILL hit it: the driver closes it */
#define CLIENT_DENY_BLOCKING (1u << 6) /* running EXEC: blocking commands do not block */
#define CLIENT_FROM_LOG (1u << 7) /* applying a log entry: the checks made when it
                                   * was proposed (auth, maxmemory) are not made again */

typedef struct queued_cmd {
    const cmd_entry *cmd;
    int argc;
    resp_slice *argv; /* one allocation: the slices, then the bytes */
} queued_cmd;

typedef struct watched_key {
    char *key;
    size_t len;
    int db;
    bool expired_at_watch;
} watched_key;

/* What the engine knows of a connection. The driver fills the address
 * fields (for CLIENT LIST) and owns the socket. */
/* A cluster connection's reads (CLUSTER CONSISTENCY, READONLY, READWRITE). */
enum {
    CONSISTENCY_LINEARIZABLE = 0, /* a ReadIndex round through the leader (default) */
    CONSISTENCY_LEASE,            /* the leader's lease, else a ReadIndex round */
    CONSISTENCY_STALE,            /* this node's applied state, leader or not */
};

typedef struct client {
    uint64_t id;
    uint32_t flags;
    bool authenticated;
    int resp;    /* protocol version: 2 */
    int db;      /* selected database: 0 */
    char *name;  /* CLIENT SETNAME, NULL when none */
    int64_t ctime_ms;
    int64_t last_ms;
    const char *last_cmd; /* fullname of the last command run */
    char addr[64];        /* "127.0.0.1:51234", set by the driver */
    char laddr[64];
    int fd;               /* for CLIENT LIST only; -1 in the simulator */
    uint8_t consistency;  /* cluster nodes: how its reads are served (CONSISTENCY_*) */
    /* CLIENT LIST's buffer figures, which only the driver knows; it
     * updates them as it likes (0 until then). */
    struct {
        uint64_t qbuf, qbuf_free, argv_mem, rbs, rbp, obl, oll, omem, tot_mem;
    } mem;

    queued_cmd *queue;
    int nqueue, capqueue;
    watched_key *watched;
    int nwatched, capwatched;

    /* Blocking commands: where a served client's reply goes (the driver's
     * output buffer for it; NULL: the client never blocks), and its wait
     * (core/cmd/blocking.c) while blocked. */
    kbuf *out;
    struct block_state *block;

    struct client *prev, *next; /* the engine's list, in id order */
    void *driver;               /* the driver's own handle for this client */
} client;

typedef struct engine_stats {
    uint64_t commands;       /* total_commands_processed */
    uint64_t dirty;          /* changes since the last save */
    uint64_t connections;    /* total_connections_received */
    uint64_t error_replies;  /* total_error_replies */
    uint64_t rejected_calls;
    uint64_t expired_by_cycle;
    uint64_t evicted_keys;
    /* instantaneous_ops_per_sec, as Redis's trackInstantaneousMetric: a
     * sample of the command rate every 100 ms (taken by the tick), the
     * mean of the last 16. */
    int64_t ops_sample_ms;
    uint64_t ops_sample_commands;
    uint64_t ops_samples[16];
    int ops_sample_idx;
} engine_stats;

/* The mean of the last 16 command-rate samples (INFO's
 * instantaneous_ops_per_sec). */
uint64_t engine_instantaneous_ops(const engine_stats *s);

/* Counts of error replies per error code ("ERR", "WRONGTYPE", ...). */
typedef struct error_stat {
    char code[32];
    uint64_t count;
} error_stat;

struct info_provider;  /* core/cmd/info.h */
struct config_def;     /* core/cmd/config.h */

/* A table of CONFIG parameters the driver registered (config_register). */
typedef struct config_reg {
    const struct config_def *defs;
    void *base;
} config_reg;
#define ENGINE_MAX_CONFIG_REGS 8

/* Redis's `databases` default; SELECT takes 0..databases-1. */
#define ENGINE_DEFAULT_DBS 16

typedef struct engine {
    db db;            /* database 0 */
    db *more_dbs;     /* databases 1..ndbs-1 */
    int ndbs;
    kprng rng;
    engine_config cfg;
    engine_stats stats;
    error_stat *errors;
    int nerrors, caperrors;

    cmd_entry *cmds; /* sorted by name, for COMMAND and the lookup */
    int ncmds;

    dict *watched;   /* per database: key -> watchers */
    client *clients; /* head of the list, lowest id first */
    client *clients_tail;
    uint64_t nclients;
    uint64_t next_client_id;

    bool active_expire_enabled; /* DEBUG SET-ACTIVE-EXPIRE 0 turns the cycle off */
    bool shutdown_requested;    /* SHUTDOWN: the driver drains and exits */
    int shutdown_save;          /* SHUTDOWN SAVE: 1, NOSAVE: -1, neither: 0 */
    bool kill_pending;          /* CLIENT KILL flagged clients: the driver closes them
                                 * and clears this */
    int64_t start_ms;    /* first time seen, for uptime */
    int64_t lastsave_ms; /* LASTSAVE: set by the persistence layer */
    int64_t now_ms;      /* the latest time seen */
    uint64_t seed;
    uint64_t data_seed; /* seeds the databases' hash tables: part of the
                         * data (snapshots and log entries carry it) */
    /* With a log, deleting an expired key is a change of the data that
     * must happen at the same point of the log on every replay: so only
     * commands applied from the log delete them (by their entry's time),
     * and the expire cycle only deletes keys that expired by log_time (the
     * last applied entry's time: every later entry runs at or after it).
     * Other commands read an expired key as absent and leave it. */
    bool log_expiry;
    int64_t log_time;
    bool keep_expired; /* what the databases' keep_expired points at */

    /* Set by the driver: INFO's extra fields and sections (NULL: none). */
    const struct info_provider *info;
    /* DEBUG SLEEP: how long the driver should pause before the next
     * command, in microseconds (added up; the driver resets it). */
    int64_t debug_sleep_us;
    /* Bytes in use, as the driver measures them (engine_set_used_memory);
     * eviction lowers it by each evicted key's estimate until the driver
     * measures again. Only read when maxmemory is set. */
    uint64_t used_memory;
    /* Clients blocked on keys (core/cmd/blocking.c); NULL until one blocks. */
    struct blocking *blk;
    /* The driver's monotonic clock in microseconds, or NULL. It only times
     * commands for INFO commandstats/latencystats and /metrics; nothing the
     * dataset or a reply depends on reads it. */
    uint64_t (*clock_us)(void *ctx);
    void *clock_ctx;
    /* CONFIG REWRITE, done by the driver (it has the file): writes the
     * current parameters, or fails with a reason in err (CONFIG_ERR_MAX).
     * NULL: "The server is running without a config file". */
    bool (*config_rewrite)(void *ctx, struct engine *e, char *err);
    void *config_rewrite_ctx;
    /* SAVE and BGSAVE, done by the driver (it has the files): returns NULL
     * once the snapshot is durable (SAVE) or its child started (BGSAVE), a
     * status ("+Background saving scheduled": it starts later), or the
     * error to reply ("-ERR Background save already in progress").
     * schedule: start it once the running one ends rather than refuse
     * (BGREWRITEAOF). NULL hook: snapshots are not available. */
    const char *(*snapshot)(void *ctx, struct engine *e, bool background, bool schedule);
    void *snapshot_ctx;
    /* CLUSTER, READONLY, READWRITE on a cluster node (core/node/cluster.c
     * sets it); NULL: "This instance has cluster support disabled". */
    void (*cluster_cmd)(void *ctx, struct cmd_ctx *x);
    void *cluster_ctx;
    /* CONFIG parameters beyond the core's (config_register). */
    config_reg config_regs[ENGINE_MAX_CONFIG_REGS];
    int nconfig_regs;
} engine;

/* seed: the node's; it seeds the PRNG and the hash tables' keys. */
void engine_init(engine *e, uint64_t seed, int64_t now_ms);

/* Sets the data seed (and the databases' hash seeds from it): only while
 * every database is empty; false (nothing changed) otherwise, unless the
 * seed is already that one. */
bool engine_set_data_seed(engine *e, uint64_t seed);

/* Database `id` (0 <= id < ndbs). */
static inline db *engine_db(engine *e, int id) { return id == 0 ? &e->db : &e->more_dbs[id - 1]; }

/* Sets the number of databases (the `databases` directive): only before
 * any key is written. Returns false if n is out of range (1..1024) or the
 * engine already holds keys. */
bool engine_set_databases(engine *e, int n);
void engine_free(engine *e);

client *engine_client_new(engine *e, int64_t now_ms);
void engine_client_free(engine *e, client *c);

/* Executes one command (argv as parsed) for c at now_ms, appending the
 * reply to out. Empty commands (argc 0) do nothing. After the call, check
 * c->flags for CLIENT_CLOSE_AFTER_REPLY (QUIT). */
void engine_execute(engine *e, client *c, int argc, const resp_slice *argv, int64_t now_ms,
                    kbuf *out);

/* How a node with a log handles a command (decision 0007). */
typedef enum engine_route {
    ROUTE_RUN,         /* run it now: a read, an admin command, a command
                        * refused before it runs, or one queued in MULTI */
    ROUTE_PROPOSE,     /* a write: it runs when its log entry is applied */
    ROUTE_PROPOSE_EXEC /* EXEC of a transaction with a write: c's queue is
                        * the entry; it runs as MULTI, the queue, EXEC */
} engine_route;

/* Routes c's command as engine_execute would see it now. */
engine_route engine_route_command(engine *e, client *c, int argc, const resp_slice *argv,
                                  int64_t now_ms);

/* A client with no connection: it runs log entries whose client is gone or
 * that are replayed. Not in CLIENT LIST, authenticated, never blocks. */
client *engine_client_new_detached(engine *e);
void engine_client_free_detached(engine *e, client *c);

/* Ends c's transaction, if any: discards its queue, unwatches its keys. */
void engine_end_transaction(engine *e, client *c);

/* The driver's measure of the bytes in use, for maxmemory: set it before
 * commands run (only needed while maxmemory is not 0). */
void engine_set_used_memory(engine *e, uint64_t bytes);

/* Redis's performEvictions: while used memory is over maxmemory, evicts
 * keys by maxmemory-policy. Returns false when it is still over (the
 * policy is noeviction, or nothing is left to evict): write commands that
 * may grow memory are then refused with -OOM. True when no limit is set. */
bool engine_evict(engine *e);

/* Blocking commands. A blocked client's reply is written later, into its
 * client.out, when a write serves it or its timeout passes; the driver
 * takes such clients with engine_next_unblocked() after each call into the
 * engine (execute, tick, timeouts), sends their output and runs the
 * commands they pipelined after the blocking one. */
bool engine_client_blocked(const client *c);
uint64_t engine_blocked_clients(const engine *e);
client *engine_next_unblocked(engine *e);
/* Times out the blocked clients whose deadline is <= now_ms. */
void engine_block_timeouts(engine *e, int64_t now_ms);
/* The earliest deadline of a blocked client, -1 if none. */
int64_t engine_next_block_deadline(const engine *e);
/* CLIENT UNBLOCK: ends c's wait with a timeout's reply or, if error, with
 * -UNBLOCKED. False if c was not blocked. */
bool engine_unblock_client(engine *e, client *c, bool error, int64_t now_ms);
/* The same with the error's text (NULL: the timeout's null reply). */
bool engine_unblock_client_with(engine *e, client *c, const char *error, int64_t now_ms);

/* Blocking commands served by proposal, when the node logs its writes
 * (decision 0007): a serving pop must be in the log, or a replay would not
 * make it. With a hook set, instead of serving a ready client itself the
 * engine calls hook(ctx, c, dbid, argc, argv) with the twin command that
 * serves it ({"LPOP", key}, {"LMOVE", src, dst, "LEFT", "RIGHT"},
 * {"LMPOP", "1", key, "LEFT", "COUNT", "n"}, {"ZPOPMIN", key},
 * {"ZMPOP", "1", key, "MIN"}, ...; argv is valid during the call only) and
 * marks c as having a serve in flight: such a client is not offered again,
 * not timed out and not unblocked by CLIENT UNBLOCK until
 * engine_serve_apply settles it. A ready key is offered to as many of its
 * waiters as its elements go round, counting what the serves in flight
 * will take. The hook only proposes: it must not call into the engine.
 * NULL hook (the default): ready clients are served at once. */
typedef void engine_serve_hook(void *ctx, client *c, int dbid, int argc, const resp_slice *argv);
void engine_set_serve_hook(engine *e, engine_serve_hook *hook, void *ctx);
/* Applies a serve proposal from the log for client c (NULL: the client is
 * gone, or this is a replay): if c is blocked with a serve in flight and
 * the key now holds something of the kind it waits for, serves it by
 * running argv exactly as without the hook (its blocking command's reply,
 * unblocked, queued for engine_next_unblocked) and returns true.
 * Otherwise clears the in-flight mark and returns false: c stays blocked
 * and is offered again from those of its keys that hold something, or, if
 * its deadline passed meanwhile, gets its timeout's reply and is queued.
 * On false the caller runs argv itself (engine_execute with a client that
 * has no connection), so the data changes exactly as the log says: the
 * same pop a replay makes. Keys the apply made ready (BLMOVE's
 * destination) are offered before it returns. */
bool engine_serve_apply(engine *e, client *c, int dbid, int argc, const resp_slice *argv,
                        int64_t now_ms);
/* A serve proposal that will never be applied (the log failed): c waits
 * on as a blocked client (or times out now if its deadline passed). */
void engine_serve_cancel(engine *e, client *c, int64_t now_ms);
/* A serve proposal whose fate is unknown (its leader lost office, the log
 * failed after it): it may yet be applied, so c gets error (its pop may or
 * may not have happened), never the timeout's nil, and is unblocked. */
void engine_serve_abandon(engine *e, client *c, const char *error, int64_t now_ms);

/* Periodic work, called hz times a second: the active expire cycle and a
 * bounded share of incremental rehashing. */
void engine_tick(engine *e, int64_t now_ms);

/* The registry: lookup by argv (resolving subcommands like Redis's
 * lookupCommand), by "name" or "container|sub". NULL if unknown. */
const cmd_entry *engine_lookup(const engine *e, int argc, const resp_slice *argv);
const cmd_entry *engine_lookup_name(const engine *e, const char *name, size_t len);

/* Records an error reply under its code (errorstats). */
void engine_count_error(engine *e, const char *msg, size_t len);

/* Clears stats (CONFIG RESETSTAT). */
void engine_reset_stats(engine *e);

#endif
