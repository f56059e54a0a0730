/* keel-bench collections: memory per element of one big collection.
 *
 * For N elements (default 1,000,000), one key each, built by commands of
 * BATCH elements (the last one shorter):
 *
 *   list          RPUSH list element:0 ... element:999, ...
 *   set           SADD set member:0 ... member:999, ...
 *   zset          ZADD zset 0 member:0 1 member:1 ..., ...
 *   set-integers  SADD set-integers 0 1 ... 999, ...  (an intset up to
 *                 set-max-intset-entries members, then a hashtable)
 *
 * keel: each collection in a fresh engine in process, through
 * engine_execute as a connection would run it; its heap growth (glibc
 * mallinfo2 uordblks, which counts allocator chunk headers too) over N.
 * The argument strings and argv slices are built before the first
 * measurement. redis-server: each collection in a freshly started server
 * (127.0.0.1, a free port, persistence off), the same commands one at a
 * time, its used_memory growth over N. Neither side is asked to finish a
 * rehash: both are measured as the commands leave them.
 *
 * Before the first measurement both sides run the collection's command
 * once on another key and DEL it, so one-time allocations (command
 * statistics) are not counted. After the last, the cardinality (LLEN,
 * SCARD, ZCARD) must be N on both. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/bench/bench.h"
#include "core/cmd/engine.h"
#include "core/resp/writer.h"

#define BATCH 1000

typedef struct coll_kind {
    const char *name;  /* in the output line */
    const char *verb;  /* the command that adds */
    const char *card;  /* the command that counts */
    const char *key;
    bool scored;       /* ZADD: score i before member i */
    bool integers;     /* members are "i", not "member:i" */
    const char *prefix;
} coll_kind;

static const coll_kind kinds[] = {
    {"list", "RPUSH", "LLEN", "list", false, false, "element:"},
    {"set", "SADD", "SCARD", "set", false, false, "member:"},
    {"zset", "ZADD", "ZCARD", "zset", true, false, "member:"},
    {"set-integers", "SADD", "SCARD", "set-integers", false, true, ""},
};

#define N_KINDS (sizeof kinds / sizeof kinds[0])

void bench_collections_usage(FILE *out)
{
    fputs("usage: keel-bench collections [--elements N] [--no-redis] [--redis-server PATH]\n"
          "  Bytes per element of one list (RPUSH), one set (SADD), one sorted set (ZADD)\n"
          "  and one set of integers (SADD 0..N-1) of N elements (default 1000000), added\n"
          "  1000 per command: keel's heap growth in process next to redis-server's\n"
          "  used_memory growth for the same commands (started on 127.0.0.1).\n",
          out);
}

/* N strings, prefix + decimal i, back to back; off[i] is where string i
 * starts (off[n] is the end). */
typedef struct strtab {
    char *data;
    size_t *off;
} strtab;

static bool strtab_build(strtab *t, uint64_t n, const char *prefix)
{
    size_t plen = strlen(prefix);
    t->off = malloc((n + 1) * sizeof(size_t));
    t->data = malloc(n * (plen + 20) + 1);
    if (t->off == NULL || t->data == NULL)
        return false;
    size_t at = 0;
    for (uint64_t i = 0; i < n; i++) {
        t->off[i] = at;
        memcpy(t->data + at, prefix, plen);
        at += plen;
        at += resp_ll2str(t->data + at, (long long)i);
    }
    t->off[n] = at;
    return true;
}

static void strtab_free(strtab *t)
{
    free(t->data);
    free(t->off);
}

static resp_slice strtab_get(const strtab *t, uint64_t i)
{
    return (resp_slice){t->data + t->off[i], t->off[i + 1] - t->off[i]};
}

/* Fills argv with the command adding elements [from, from + m): returns argc. */
static int fill_batch(resp_slice *argv, const coll_kind *k, const char *key,
                      const strtab *members, const strtab *numbers, uint64_t from, uint64_t m)
{
    int argc = 0;
    argv[argc++] = (resp_slice){k->verb, strlen(k->verb)};
    argv[argc++] = (resp_slice){key, strlen(key)};
    for (uint64_t j = 0; j < m; j++) {
        if (k->scored)
            argv[argc++] = strtab_get(numbers, from + j);
        argv[argc++] = strtab_get(k->integers ? numbers : members, from + j);
    }
    return argc;
}

/* The value of the integer reply ":N\r\n" in p[0..len), or -1. */
static long long int_reply(const char *p, size_t len)
{
    if (len < 4 || p[0] != ':' || p[len - 2] != '\r' || p[len - 1] != '\n')
        return -1;
    return atoll(p + 1);
}

/* ---- keel ---- */

static void keel_exec(bench_run *r, int argc, const resp_slice *argv, bool *ok)
{
    kbuf_clear(&r->out);
    engine_execute(&r->e, r->c, argc, argv, r->now_ms, &r->out);
    if (r->out.len == 0 || r->out.data[0] == '-')
        *ok = false;
}

static double keel_bytes_per_elem(const coll_kind *k, const strtab *members,
                                  const strtab *numbers, uint64_t n, resp_slice *argv, bool *ok)
{
    bench_run r;
    bench_run_init(&r);
    /* The command and DEL once on another key: one-time allocations. */
    int argc = fill_batch(argv, k, "warmup", members, numbers, 0, 1);
    keel_exec(&r, argc, argv, ok);
    resp_slice del[2] = {{"DEL", 3}, {"warmup", 6}};
    keel_exec(&r, 2, del, ok);

    struct mallinfo2 m0 = mallinfo2();
    for (uint64_t i = 0; i < n; i += BATCH) {
        uint64_t m = n - i < BATCH ? n - i : BATCH;
        argc = fill_batch(argv, k, k->key, members, numbers, i, m);
        keel_exec(&r, argc, argv, ok);
    }
    struct mallinfo2 m1 = mallinfo2();

    resp_slice card[2] = {{k->card, strlen(k->card)}, {k->key, strlen(k->key)}};
    keel_exec(&r, 2, card, ok);
    if (int_reply(r.out.data, r.out.len) != (long long)n)
        *ok = false;
    bench_run_free(&r);
    return ((double)m1.uordblks - (double)m0.uordblks) / (double)n;
}

/* ---- redis-server ---- */

/* Sends one command and reads its one-line reply into line (NUL-ended). */
static bool redis_call(int s, kbuf *b, int argc, const resp_slice *argv, char *line, size_t cap)
{
    kbuf_clear(b);
    resp_add_command(b, argc, argv);
    if (!bench_write_all(s, b->data, b->len))
        return false;
    size_t have = 0;
    while (have == 0 || line[have - 1] != '\n') {
        if (have + 1 >= cap)
            return false;
        ssize_t r = read(s, line + have, cap - 1 - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        have += (size_t)r;
    }
    line[have] = '\0';
    return line[0] != '-';
}

static double redis_bytes_per_elem(const char *server, const coll_kind *k, const strtab *members,
                                   const strtab *numbers, uint64_t n, resp_slice *argv,
                                   bool *ran, bool *ok)
{
    *ran = false;
    pid_t pid;
    int s = bench_redis_start(server, &pid);
    if (s < 0)
        return 0;
    kbuf b = KBUF_INIT;
    char line[256];
    int argc = fill_batch(argv, k, "warmup", members, numbers, 0, 1);
    resp_slice del[2] = {{"DEL", 3}, {"warmup", 6}};
    bool sent = redis_call(s, &b, argc, argv, line, sizeof(line)) &&
                redis_call(s, &b, 2, del, line, sizeof(line));
    unsigned long long before = sent ? bench_redis_used_memory(s) : 0;
    sent = before > 0;
    for (uint64_t i = 0; sent && i < n; i += BATCH) {
        uint64_t m = n - i < BATCH ? n - i : BATCH;
        argc = fill_batch(argv, k, k->key, members, numbers, i, m);
        sent = redis_call(s, &b, argc, argv, line, sizeof(line));
    }
    unsigned long long after = sent ? bench_redis_used_memory(s) : 0;
    double result = 0;
    if (sent && after > 0) {
        resp_slice card[2] = {{k->card, strlen(k->card)}, {k->key, strlen(k->key)}};
        if (!redis_call(s, &b, 2, card, line, sizeof(line)) ||
            int_reply(line, strlen(line)) != (long long)n)
            *ok = false;
        result = ((double)after - (double)before) / (double)n;
        *ran = true;
    }
    kbuf_free(&b);
    bench_redis_stop(s, pid);
    return result;
}

int bench_collections_main(int argc, char **argv)
{
    uint64_t n = 1000000;
    bool use_redis = true;
    const char *server = "redis-server";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--elements") && i + 1 < argc) {
            if (!bench_parse_u64(argv[++i], 1, 100000000, &n)) {
                bench_collections_usage(stderr);
                return BENCH_EXIT_USAGE;
            }
        } else if (!strcmp(argv[i], "--no-redis")) {
            use_redis = false;
        } else if (!strcmp(argv[i], "--redis-server") && i + 1 < argc) {
            server = argv[++i];
        } else {
            bench_collections_usage(stderr);
            return BENCH_EXIT_USAGE;
        }
    }
    strtab members, elements, numbers;
    resp_slice *cmd = malloc((2 + 2 * BATCH) * sizeof(resp_slice));
    if (cmd == NULL || !strtab_build(&members, n, "member:") ||
        !strtab_build(&elements, n, "element:") || !strtab_build(&numbers, n, "")) {
        fprintf(stderr, "keel-bench collections: out of memory\n");
        return BENCH_EXIT_FAIL;
    }

    bool ok = true;
    for (size_t i = 0; i < N_KINDS; i++) {
        const coll_kind *k = &kinds[i];
        const strtab *mem = strcmp(k->prefix, "element:") == 0 ? &elements : &members;
        bool kind_ok = true;
        double keel = keel_bytes_per_elem(k, mem, &numbers, n, cmd, &kind_ok);
        if (!kind_ok)
            fprintf(stderr, "keel-bench collections: keel %s: a command failed or the count "
                            "is not %llu\n", k->name, (unsigned long long)n);
        printf("collections %s: keel bytes/elem=%.1f", k->name, keel);
        if (use_redis) {
            bool ran, redis_ok = true;
            double redis = redis_bytes_per_elem(server, k, mem, &numbers, n, cmd, &ran, &redis_ok);
            if (ran)
                printf(" redis bytes/elem=%.1f ratio=%.2f", redis, keel / redis);
            else
                fprintf(stderr, "keel-bench collections: redis %s: not measured (could not "
                                "run %s, or a command failed)\n", k->name, server);
            if (!redis_ok)
                fprintf(stderr, "keel-bench collections: redis %s: the count is not %llu\n",
                        k->name, (unsigned long long)n);
            kind_ok = kind_ok && redis_ok;
        }
        printf(" elements=%llu\n", (unsigned long long)n);
        fflush(stdout);
        ok = ok && kind_ok;
    }
    free(cmd);
    strtab_free(&members);
    strtab_free(&elements);
    strtab_free(&numbers);
    if (!ok) {
        fprintf(stderr, "keel-bench collections: a command failed or a count did not match\n");
        return BENCH_EXIT_FAIL;
    }
    return BENCH_EXIT_OK;
}
