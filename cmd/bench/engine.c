/* keel-bench engine: the command engine in process, and memory per key.
 *
 * 1. Throughput: SET, GET, INCR and HSET over N keys (`key:` + 12 digits,
 *    16-byte values), each command through engine_execute as a connection
 *    would run it (argv views, reply appended to an output buffer), in
 *    commands per second. Argument strings are built before the clock starts.
 * 2. Memory: bytes per key for N string keys (16-byte key, 16-byte value),
 *    keel's heap growth (glibc mallinfo2 uordblks, which counts allocator
 *    chunk headers too) against redis-server's used_memory growth for the
 *    same N SETs, measured in the same run. redis-server is started on
 *    127.0.0.1 on a free port, with persistence off, and stopped after. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/bench/bench.h"
#include "core/cmd/engine.h"
#include "core/resp/writer.h"

#define KEY_LEN 16
#define VAL_LEN 16

void bench_engine_usage(FILE *out)
{
    fputs("usage: keel-bench engine [--keys N] [--no-redis] [--redis-server PATH]\n"
          "  In-process SET/GET/INCR/HSET throughput over N keys (default 1000000),\n"
          "  then bytes per key for N 16-byte string keys with 16-byte values, next to\n"
          "  redis-server's used_memory for the same keys (started on 127.0.0.1).\n",
          out);
}

static char *make_keys(uint64_t n, const char *prefix)
{
    char *keys = malloc(n * KEY_LEN + 1);
    if (keys == NULL)
        return NULL;
    for (uint64_t i = 0; i < n; i++) {
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "%s%012llu", prefix, (unsigned long long)i);
        memcpy(keys + i * KEY_LEN, tmp, KEY_LEN);
    }
    return keys;
}

/* Runs one command per key: argv is {verb, key, extra...}; returns cmds/s.
 * Checks that no reply was an error. */
static double timed(bench_run *r, const char *verb, const char *keys, uint64_t n, int nextra,
                    const resp_slice *extra, bool *ok)
{
    resp_slice argv[4];
    argv[0] = (resp_slice){verb, strlen(verb)};
    for (int i = 0; i < nextra; i++)
        argv[2 + i] = extra[i];
    double t0 = bench_now();
    for (uint64_t i = 0; i < n; i++) {
        argv[1] = (resp_slice){keys + i * KEY_LEN, KEY_LEN};
        engine_execute(&r->e, r->c, 2 + nextra, argv, r->now_ms, &r->out);
        if ((i & 1023) == 1023 || i == n - 1) {
            /* No reply of these commands contains '-' unless it is an error. */
            if (memchr(r->out.data, '-', r->out.len))
                *ok = false;
            kbuf_clear(&r->out);
        }
    }
    double t = bench_now() - t0;
    return (double)n / t;
}

static double redis_bytes_per_key(const char *server, const char *keys, uint64_t n, bool *ran)
{
    *ran = false;
    pid_t pid;
    double result = 0;
    int s = bench_redis_start(server, &pid);
    if (s >= 0) {
        unsigned long long before = bench_redis_used_memory(s);
        kbuf b = KBUF_INIT;
        char val[VAL_LEN];
        memset(val, 'x', VAL_LEN);
        bool ok = before > 0;
        for (uint64_t i = 0; ok && i < n; i += 10000) {
            uint64_t m = n - i < 10000 ? n - i : 10000;
            kbuf_clear(&b);
            for (uint64_t j = 0; j < m; j++) {
                resp_slice argv[3] = {{"SET", 3}, {keys + (i + j) * KEY_LEN, KEY_LEN}, {val, VAL_LEN}};
                resp_add_command(&b, 3, argv);
            }
            ok = bench_write_all(s, b.data, b.len) && bench_read_lines(s, m);
        }
        kbuf_free(&b);
        unsigned long long after = ok ? bench_redis_used_memory(s) : 0;
        if (ok && after > before) {
            result = (double)(after - before) / (double)n;
            *ran = true;
        }
        bench_redis_stop(s, pid);
    }
    return result;
}

int bench_engine_main(int argc, char **argv)
{
    uint64_t n = 1000000;
    bool use_redis = true;
    const char *server = "redis-server";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--keys") && i + 1 < argc) {
            if (!bench_parse_u64(argv[++i], 1, 100000000, &n)) {
                bench_engine_usage(stderr);
                return BENCH_EXIT_USAGE;
            }
        } else if (!strcmp(argv[i], "--no-redis")) {
            use_redis = false;
        } else if (!strcmp(argv[i], "--redis-server") && i + 1 < argc) {
            server = argv[++i];
        } else {
            bench_engine_usage(stderr);
            return BENCH_EXIT_USAGE;
        }
    }
    char *keys = make_keys(n, "key:");
    char *hkeys = make_keys(n, "hsh:");
    if (keys == NULL || hkeys == NULL)
        return BENCH_EXIT_FAIL;
    char val[VAL_LEN];
    memset(val, 'x', VAL_LEN);

    bool ok = true;
    bench_run r;
    bench_run_init(&r);
    resp_slice v1[1] = {{val, VAL_LEN}};
    resp_slice fv[2] = {{"field", 5}, {val, VAL_LEN}};
    double set = timed(&r, "SET", keys, n, 1, v1, &ok);
    double get = timed(&r, "GET", keys, n, 0, NULL, &ok);
    /* INCR needs integer values: run it on fresh keys (the hash ones, first). */
    double incr = timed(&r, "INCR", hkeys, n, 0, NULL, &ok);
    bench_run_free(&r);
    bench_run_init(&r);
    double hset = timed(&r, "HSET", hkeys, n, 2, fv, &ok);
    bench_run_free(&r);
    printf("engine SET: cmds/s=%.0f\n", set);
    printf("engine GET: cmds/s=%.0f\n", get);
    printf("engine INCR: cmds/s=%.0f\n", incr);
    printf("engine HSET: cmds/s=%.0f\n", hset);

    /* Memory: a fresh engine, N SETs, rehashing finished. */
    bench_run_init(&r);
    struct mallinfo2 m0 = mallinfo2();
    resp_slice argv3[3] = {{"SET", 3}, {NULL, KEY_LEN}, {val, VAL_LEN}};
    for (uint64_t i = 0; i < n; i++) {
        argv3[1].ptr = keys + i * KEY_LEN;
        engine_execute(&r.e, r.c, 3, argv3, r.now_ms, &r.out);
        if ((i & 1023) == 1023)
            kbuf_clear(&r.out);
    }
    kbuf_clear(&r.out);
    while (dict_is_rehashing(&r.e.db.keys))
        db_rehash_step(&r.e.db, 1000);
    struct mallinfo2 m1 = mallinfo2();
    if (db_size(&r.e.db) != n)
        ok = false;
    double keel_bpk = (double)(m1.uordblks - m0.uordblks) / (double)n;
    bench_run_free(&r);
    printf("memory keel: bytes/key=%.1f keys=%llu\n", keel_bpk, (unsigned long long)n);
    if (use_redis) {
        bool ran;
        double redis_bpk = redis_bytes_per_key(server, keys, n, &ran);
        if (ran) {
            printf("memory redis: bytes/key=%.1f keys=%llu\n", redis_bpk, (unsigned long long)n);
            printf("memory ratio keel/redis=%.2f\n", keel_bpk / redis_bpk);
        } else {
            printf("memory redis: not measured (could not run %s)\n", server);
        }
    }
    free(keys);
    free(hkeys);
    if (!ok) {
        fprintf(stderr, "keel-bench engine: a command failed or a count did not match\n");
        return BENCH_EXIT_FAIL;
    }
    return BENCH_EXIT_OK;
}
