/* keel-bench: what the subcommands share.
 *
 * keel-bench is one program with subcommands (keel-bench.c holds the table).
 * A subcommand is a usage printer and a main that gets the arguments after
 * the program name (argv[0] is the subcommand's own name). Exit codes are
 * the same for all: 0 done, 1 the run failed (a check did not hold, an
 * allocation failed), 2 bad usage. */
#ifndef KEEL_CMD_BENCH_BENCH_H
#define KEEL_CMD_BENCH_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/cmd/engine.h"

enum {
    BENCH_EXIT_OK = 0,
    BENCH_EXIT_FAIL = 1,
    BENCH_EXIT_USAGE = 2,
};

typedef struct bench_subcommand {
    const char *name;
    const char *summary;            /* one line, for `keel-bench help` */
    void (*usage)(FILE *out);       /* the subcommand's own usage text */
    int (*run)(int argc, char **argv);
} bench_subcommand;

/* CLOCK_MONOTONIC, in seconds. */
double bench_now(void);

/* Strict unsigned decimal in [min, max] (no sign, no spaces, no suffix). */
bool bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* An engine in process with one client and a 1 MiB reply buffer, at a
 * fixed time (engine.c and collections.c run commands through it). */
typedef struct bench_run {
    engine e;
    client *c;
    kbuf out;
    int64_t now_ms;
} bench_run;

void bench_run_init(bench_run *r);
void bench_run_free(bench_run *r);

/* redis-server as the peer. bench_redis_start starts `server` (a path, or
 * a name looked up in PATH) on 127.0.0.1 on a free port, persistence off,
 * and connects to it: returns the socket and sets *pid, or returns -1 with
 * nothing left running. bench_redis_stop closes s (when >= 0) and stops the
 * server (SIGTERM, then waits for it). */
int bench_redis_start(const char *server, pid_t *pid);
void bench_redis_stop(int s, pid_t pid);
bool bench_write_all(int s, const char *p, size_t n);
/* Reads `count` one-line replies; false on an error reply or EOF. */
bool bench_read_lines(int s, uint64_t count);
/* INFO memory's used_memory, or 0 on failure. */
unsigned long long bench_redis_used_memory(int s);

/* keel-bench resp: RESP2 request parsing (bench/resp.c). */
void bench_resp_usage(FILE *out);
int bench_resp_main(int argc, char **argv);

/* keel-bench engine: in-process command throughput and bytes per key
 * next to redis-server (bench/engine.c). */
void bench_engine_usage(FILE *out);
int bench_engine_main(int argc, char **argv);

/* keel-bench collections: bytes per element of a list, a set, a sorted set
 * and a set of integers next to redis-server (bench/collections.c). */
void bench_collections_usage(FILE *out);
int bench_collections_main(int argc, char **argv);

#endif
