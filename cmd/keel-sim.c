/* keel-sim: the deterministic simulator (sim/world.h, ARCHITECTURE.md §9).
 *
 *   keel-sim --seed N | --seeds A..B | --replay N   which seeds (default: 1)
 *            --nodes 1|3|5        nodes (default 3; 1: one node, no Raft)
 *            --faults MIX         none, net, crash, disk, clock, member, all (default)
 *            --ops N              client operations per seed (default 1000)
 *            --bug NAME           plant a known Raft bug, or the driver's
 *                                 no-startup-sync (repeatable)
 *            --first-failure      stop after the first seed that fails
 *            --trace              one line per event
 *   keel-sim --list-bugs
 *
 * One line per seed with its digest; a failure prints its class, why, the
 * options the seed drew and the command that replays it with a trace.
 * Exit: 0 every seed passed, 1 safety, 2 linearizability, 3 liveness,
 * 4 crash recovery (the first failing seed's class), 64 usage. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/raft/raft.h"
#include "sim/world.h"

#define EXIT_USAGE 64

static void usage(FILE *f)
{
    fprintf(f,
            "usage: keel-sim [--seed N | --seeds A..B | --replay N] [--nodes 1|3|5]\n"
            "                [--faults none|net|crash|disk|clock|member|all] [--ops N]\n"
            "                [--bug NAME]... [--first-failure] [--trace]\n"
            "       keel-sim --list-bugs\n");
}

static bool parse_u64(const char *s, uint64_t *v)
{
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    char *end;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end)
        return false;
    *v = x;
    return true;
}

static bool parse_range(const char *s, uint64_t *a, uint64_t *b)
{
    const char *dots = s ? strstr(s, "..") : NULL;
    if (dots == NULL || dots - s >= 32)
        return false;
    char first[32];
    memcpy(first, s, (size_t)(dots - s));
    first[dots - s] = '\0';
    return parse_u64(first, a) && parse_u64(dots + 2, b) && *a <= *b;
}

/* A crash inside the core (an assertion, abort(), a fault) ends the
 * process: the seed's line (with its events and digest so far, which a
 * replay reproduces) and its replay are said first. The message is made
 * before each seed, so the handler only formats two numbers and writes. */
static char crash_head[256], crash_tail[1024];
static size_t crash_head_len, crash_tail_len;

static size_t fmt_u64(char *out, uint64_t v, unsigned base, int width)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while ((int)n < width)
        tmp[n++] = '0';
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

static void on_crash(int sig)
{
    fflush(stdout); /* not async-signal-safe, but the process is done anyway */
    char mid[96];
    size_t n = 0;
    uint64_t digest = 0, events = 0;
    if (sim_running(&digest, &events)) {
        memcpy(mid + n, " events=", 8);
        n += 8;
        n += fmt_u64(mid + n, events, 10, 0);
        memcpy(mid + n, " digest=", 8);
        n += 8;
        n += fmt_u64(mid + n, digest, 16, 16);
    }
    if (write(STDOUT_FILENO, crash_head, crash_head_len) < 0 ||
        write(STDOUT_FILENO, mid, n) < 0 ||
        write(STDOUT_FILENO, crash_tail, crash_tail_len) < 0) {
        /* nothing left to tell */
    }
    signal(sig, SIG_DFL);
    _exit(SIM_SAFETY);
}

static double real_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t first = 1, last = 1, ops = 1000, bugs = 0, nodes = 3;
    const char *faults = "all";
    bool trace = false, first_failure = false;
    char bug_args[512] = "";
    size_t bug_len = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--list-bugs") == 0) {
            for (int b = 0; b < RF_BUG_COUNT; b++)
                printf("%s\n", rf_bug_name((rf_bug)b));
            printf("%s\n", SIM_BUG_NO_STARTUP_SYNC_NAME);
            return 0;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--trace") == 0) {
            trace = true;
        } else if (strcmp(a, "--first-failure") == 0) {
            first_failure = true;
        } else if ((strcmp(a, "--seed") == 0 || strcmp(a, "--replay") == 0) && parse_u64(v, &first)) {
            last = first;
            i++;
        } else if (strcmp(a, "--seeds") == 0 && parse_range(v, &first, &last)) {
            i++;
        } else if (strcmp(a, "--nodes") == 0 && parse_u64(v, &nodes) && nodes >= 1 &&
                   nodes <= SIM_MAX_NODES) {
            i++;
        } else if (strcmp(a, "--faults") == 0 && v && sim_faults_parse(v) >= 0) {
            faults = v;
            i++;
        } else if (strcmp(a, "--ops") == 0 && parse_u64(v, &ops) && ops >= 1) {
            i++;
        } else if (strcmp(a, "--bug") == 0 && v) {
            int b = rf_bug_parse(v);
            if (b >= 0) {
                bugs |= 1ull << b;
            } else if (strcmp(v, SIM_BUG_NO_STARTUP_SYNC_NAME) == 0) {
                bugs |= SIM_BUG_NO_STARTUP_SYNC;
            } else {
                fprintf(stderr, "keel-sim: unknown bug '%s' (see --list-bugs)\n", v);
                return EXIT_USAGE;
            }
            int m = snprintf(bug_args + bug_len, sizeof(bug_args) - bug_len, " --bug %s", v);
            if (m > 0 && (size_t)m < sizeof(bug_args) - bug_len)
                bug_len += (size_t)m;
            i++;
        } else {
            fprintf(stderr, "keel-sim: bad argument '%s'%s\n", a,
                    v && a[0] == '-' ? " (or its value)" : "");
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    signal(SIGABRT, on_crash);
    signal(SIGSEGV, on_crash);
    signal(SIGBUS, on_crash);
    signal(SIGFPE, on_crash);
    int code = 0;
    uint64_t passed = 0, failed = 0, events = 0;
    double t0 = real_seconds();
    for (uint64_t seed = first;; seed++) {
        sim_opts o = {
            .seed = seed,
            .nodes = (int)nodes,
            .faults = (unsigned)sim_faults_parse(faults),
            .faults_name = faults,
            .ops = ops,
            .bugs = bugs,
            .trace = trace,
            .out = stdout,
        };
        int m = snprintf(crash_head, sizeof(crash_head),
                         "\nseed=%" PRIu64 " nodes=%d faults=%s ops=%" PRIu64, seed, o.nodes,
                         faults, ops);
        crash_head_len = m > 0 && (size_t)m < sizeof(crash_head) ? (size_t)m : 0;
        m = snprintf(crash_tail, sizeof(crash_tail),
                     " FAIL safety\n  seed=%" PRIu64
                     " class=safety: the process crashed (an assertion or abort in the core)\n"
                     "  replay: keel-sim --replay %" PRIu64
                     " --trace --nodes %d --faults %s --ops %" PRIu64 "%s\n",
                     seed, seed, o.nodes, faults, ops, bug_args);
        crash_tail_len = m > 0 && (size_t)m < sizeof(crash_tail) ? (size_t)m : 0;
        sim_result r;
        sim_run(&o, &r);
        events += r.events;
        printf("seed=%" PRIu64 " nodes=%d faults=%s ops=%" PRIu64 " events=%" PRIu64
               " time=%.1fs(virtual) digest=%016" PRIx64,
               seed, o.nodes, faults, ops, r.events, (double)r.time_us / 1e6, r.digest);
        if (r.cls == SIM_OK) {
            passed++;
            printf(" ok%s\n", r.lc_gave_up ? " (lincheck gave up on some keys)" : "");
        } else {
            failed++;
            if (code == 0)
                code = (int)r.cls;
            printf(" FAIL %s\n", sim_class_name(r.cls));
            printf("  seed=%" PRIu64 " class=%s: %s\n", seed, sim_class_name(r.cls), r.why);
            printf("  options: %s\n", r.profile);
            printf("  replay: keel-sim --replay %" PRIu64 " --trace --nodes %d --faults %s --ops %" PRIu64
                   "%s\n",
                   seed, o.nodes, faults, ops, bug_args);
        }
        fflush(stdout);
        if (seed == last || (first_failure && r.cls != SIM_OK))
            break;
    }
    double dt = real_seconds() - t0;
    if (dt <= 0)
        dt = 1e-9;
    printf("seeds=%" PRIu64 " passed=%" PRIu64 " failed=%" PRIu64 " events/s=%.0f seeds/min=%.1f\n",
           passed + failed, passed, failed, (double)events / dt, (double)(passed + failed) * 60.0 / dt);
    return code;
}
