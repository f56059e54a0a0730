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

/* keel-bench resp: RESP2 request parsing (bench/resp.c). */
void bench_resp_usage(FILE *out);
int bench_resp_main(int argc, char **argv);

/* keel-bench engine: in-process command throughput and bytes per key
 * next to redis-server (bench/engine.c). */
void bench_engine_usage(FILE *out);
int bench_engine_main(int argc, char **argv);

#endif
