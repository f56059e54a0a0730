/* io/server: the libuv runtime that drives a core node.
 *
 * One loop thread. Socket reads land in the node's query buffers (zero
 * copy) and become CLIENT_DATA events; the node's actions become writes and
 * closes; a timer turns time into TICK events; SIGINT/SIGTERM drain and
 * stop. The core never sees libuv. */
#ifndef KEEL_IO_SERVER_H
#define KEEL_IO_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/node/node.h"

typedef struct io_server_opts {
    const char *bind[16]; /* addresses to listen on ("127.0.0.1" by default) */
    int nbind;
    int port;
    int http_port;        /* /health /ready /metrics; -1 = off, 0 = any free port */
    int tcp_backlog;
    int tcp_keepalive_s;  /* 0 = off */
    int hz;
    int busy_poll_us;     /* poll this long after client input before sleeping; 0 = off */
    uint64_t seed;        /* 0 = from the OS */
    node_limits lim;
    const char *requirepass;
    int databases;        /* `databases`: 16 */
    const char *config_file; /* absolute path, for CONFIG REWRITE; NULL: none */
    /* The core's own parameters (hash-max-listpack-entries, maxmemory,
     * ...) from the file or flags: applied through CONFIG's table once the
     * engine exists, before listening. where: "Reading the configuration
     * file F, at line N\n>>> 'line'" for the error. */
    struct {
        const char *name, *value, *where;
    } core_directives[64];
    int ncore_directives;
    /* Durability (docs/durability.md). */
    bool appendonly;                 /* the write-ahead log: no */
    int appendfsync;                 /* persist_fsync: always */
    uint64_t wal_segment_size;       /* 64 MiB */
    bool wal_preallocate;            /* fallocate each segment to wal_segment_size (yes) */
    uint64_t wal_snapshot_threshold; /* a snapshot once the log grew this much: 64 MiB, 0 = never */
    bool wal_repair_corrupt;         /* cut a corrupt log at the damage and start */
    struct {
        int64_t secs, changes;
    } save[16];                      /* `save` points: BGSAVE after secs with changes */
    int nsave;
    /* Cluster (docs/cluster.md): node_id != 0 makes this node one member
     * of a Raft group with the peers; the log is then always on. */
    uint64_t node_id;                /* --node-id */
    int cluster_port;                /* --cluster-port: the cluster bus */
    struct {
        uint64_t id;
        const char *host;
        int port;
    } peers[16];                     /* --cluster-peers id@host:port,... (itself included) */
    int npeers;
    const char *cluster_id;          /* --cluster-id: "keel" */
    const char *cluster_secret;      /* --cluster-secret: "" */
    int64_t election_ms;             /* --cluster-election-ms: 1000 */
    uint64_t cluster_snapshot_entries; /* a snapshot every this many entries: 10000 */
    const char *join_host;           /* --join host:port: a member's bus, to join through */
    int join_port;
    const char *announce_ip;         /* --cluster-announce-ip: the address peers and
                                      * CLUSTER NODES give for this node (default: bind's first) */
    /* Called once the listeners are up (tests and logs use it). */
    void (*on_ready)(void *ctx, int port);
    void *ctx;
} io_server_opts;

void io_server_opts_default(io_server_opts *o);

/* Runs until SHUTDOWN or a signal; returns the process exit code. */
int io_server_run(const io_server_opts *o);

/* Wall-clock time in ms (the runtime's only clock for the core). */
int64_t io_wall_ms(void);

#endif
