/* maxmemory, eviction policies, command timing and latency histograms. */
#include <criterion/criterion.h>

#include "core/util/lathist.h"
#include "engine_harness.h"

#define OOM "-OOM command not allowed when used memory > 'maxmemory'.\r\n"

/* The test's "allocator": a fixed measure the driver would hand in. */
static void over(harness *h) { engine_set_used_memory(&h->e, 1000000); }

Test(evict, noeviction_refuses_denyoom_commands_only)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET a 1", "+OK\r\n");
    EXPECT(&h, "CONFIG SET maxmemory 1000", "+OK\r\n");
    over(&h);
    EXPECT(&h, "SET b 1", OOM);
    EXPECT(&h, "INCR a", OOM); /* denyoom, even though it would not grow */
    EXPECT(&h, "GET a", "$1\r\n1\r\n");
    EXPECT(&h, "DEL a", ":1\r\n"); /* DEL is not denyoom */
    EXPECT(&h, "PING", "+PONG\r\n");
    cr_assert(strstr(h_run(&h, "INFO errorstats"), "errorstat_OOM:count=2"));
    cr_assert(strstr(h_run(&h, "INFO commandstats"), "cmdstat_set:calls=1,usec=0,usec_per_call=0.00,rejected_calls=1"));
    /* Under the limit again: writes pass. */
    engine_set_used_memory(&h.e, 10);
    EXPECT(&h, "SET b 1", "+OK\r\n");
    /* maxmemory 0: no limit, whatever the measure. */
    over(&h);
    EXPECT(&h, "CONFIG SET maxmemory 0", "+OK\r\n");
    EXPECT(&h, "SET c 1", "+OK\r\n");
    h_free(&h);
}

Test(evict, transactions_as_redis)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET x value", "+OK\r\n");
    /* Commands queued before the limit: a read-only EXEC runs... */
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "GET x", "+QUEUED\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "CONFIG SET maxmemory 1", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*3\r\n$5\r\nvalue\r\n+PONG\r\n+OK\r\n");
    over(&h);
    /* ...an EXEC with a denyoom command is aborted. */
    EXPECT(&h, "CONFIG SET maxmemory 0", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "SET x 1", "+QUEUED\r\n");
    EXPECT(&h, "GET x", "+QUEUED\r\n");
    EXPECT(&h, "CONFIG SET maxmemory 1", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*3\r\n+OK\r\n$1\r\n1\r\n+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "SET x 2", OOM);
    EXPECT(&h, "GET x", OOM); /* anything queued while over the limit */
    EXPECT(&h, "EXEC", "-EXECABORT Transaction discarded because of previous errors.\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "DISCARD", "+OK\r\n"); /* DISCARD always passes */
    EXPECT(&h, "GET x", "$1\r\n1\r\n");
    h_free(&h);
}

Test(evict, exec_with_denyoom_queued_before_the_limit_aborts)
{
    harness h;
    h_init(&h);
    client *other = engine_client_new(&h.e, h.now_ms);
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "SET x 1", "+QUEUED\r\n");
    EXPECT(&h, "GET x", "+QUEUED\r\n");
    cr_assert_str_eq(h_run_as(&h, other, "CONFIG SET maxmemory 1"), "+OK\r\n");
    over(&h);
    EXPECT(&h, "EXEC", "-EXECABORT Transaction discarded because of: OOM command not allowed when "
                       "used memory > 'maxmemory'.\r\n");
    EXPECT(&h, "EXISTS x", ":0\r\n");
    h_free(&h);
}

static void fill(harness *h, int n)
{
    for (int i = 0; i < n; i++)
        h_runf(h, "SET k%d %d", i, i);
}

Test(evict, allkeys_random_evicts_until_under)
{
    harness h;
    h_init(&h);
    fill(&h, 50);
    EXPECT(&h, "CONFIG SET maxmemory-policy allkeys-random", "+OK\r\n");
    EXPECT(&h, "CONFIG SET maxmemory 100000", "+OK\r\n");
    /* 300 bytes over: each key's estimate is ~40 bytes, so a few go. */
    engine_set_used_memory(&h.e, 100300);
    EXPECT(&h, "SET new 1", "+OK\r\n");
    long long left = h.e.db.keys.used[0] + h.e.db.keys.used[1];
    cr_assert(left < 50 && left > 30, "keys left: %lld", left);
    cr_assert_eq(h.e.stats.evicted_keys, (uint64_t)(51 - left));
    cr_assert(h.e.used_memory <= 100000);
    cr_assert(strstr(h_run(&h, "INFO stats"), "evicted_keys:"));
    h_free(&h);
}

Test(evict, volatile_ttl_takes_the_nearest_deadline_and_spares_persistent_keys)
{
    harness h;
    h_init(&h);
    fill(&h, 20);
    EXPECT(&h, "SET soon v PX 5000", "+OK\r\n");
    EXPECT(&h, "SET later v PX 900000", "+OK\r\n");
    EXPECT(&h, "CONFIG SET maxmemory-policy volatile-ttl", "+OK\r\n");
    EXPECT(&h, "CONFIG SET maxmemory-samples 10", "+OK\r\n");
    EXPECT(&h, "CONFIG SET maxmemory 100000", "+OK\r\n");
    engine_set_used_memory(&h.e, 100001);
    EXPECT(&h, "SET new 1", "+OK\r\n");
    EXPECT(&h, "EXISTS soon", ":0\r\n");
    EXPECT(&h, "EXISTS later", ":1\r\n");
    /* Far over: both volatile keys go, then nothing is left to evict. */
    engine_set_used_memory(&h.e, 10000000);
    EXPECT(&h, "SET new 2", OOM);
    EXPECT(&h, "EXISTS later", ":0\r\n");
    EXPECT(&h, "DBSIZE", ":21\r\n");
    h_free(&h);
}

Test(evict, allkeys_lru_takes_the_longest_idle)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET old v", "+OK\r\n");
    h.now_ms += 100000;
    EXPECT(&h, "SET fresh v", "+OK\r\n");
    EXPECT(&h, "CONFIG SET maxmemory-policy allkeys-lru", "+OK\r\n");
    EXPECT(&h, "CONFIG SET maxmemory 100000", "+OK\r\n");
    engine_set_used_memory(&h.e, 100001);
    EXPECT(&h, "SET new 1", "+OK\r\n");
    EXPECT(&h, "EXISTS old", ":0\r\n");
    EXPECT(&h, "EXISTS fresh", ":1\r\n");
    h_free(&h);
}

Test(evict, eviction_touches_watched_keys)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET w v", "+OK\r\n");
    EXPECT(&h, "WATCH w", "+OK\r\n");
    EXPECT(&h, "CONFIG SET maxmemory-policy allkeys-random", "+OK\r\n");
    EXPECT(&h, "CONFIG SET maxmemory 100000", "+OK\r\n");
    engine_set_used_memory(&h.e, 100001);
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*-1\r\n");
    h_free(&h);
}

Test(evict, config_values)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "CONFIG GET maxmemory-policy", "*2\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n");
    EXPECT(&h, "CONFIG SET maxmemory-policy lru", "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction\r\n");
    EXPECT(&h, "CONFIG SET maxmemory bla", "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n");
    EXPECT(&h, "CONFIG SET maxmemory 1gb", "+OK\r\n");
    EXPECT(&h, "CONFIG GET maxmemory", "*2\r\n$9\r\nmaxmemory\r\n$10\r\n1073741824\r\n");
    EXPECT(&h, "CONFIG SET maxmemory-samples 0", "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 64 inclusive\r\n");
    h_free(&h);
}

/* ---- command timing ---- */

static uint64_t fake_clock(void *ctx)
{
    uint64_t *t = ctx;
    *t += 7; /* every reading 7 us later: each command takes 7 us */
    return *t;
}

Test(evict, commands_are_timed_with_the_drivers_clock)
{
    harness h;
    h_init(&h);
    uint64_t t = 0;
    h.e.clock_us = fake_clock;
    h.e.clock_ctx = &t;
    EXPECT(&h, "SET a 1", "+OK\r\n");
    EXPECT(&h, "SET a 2", "+OK\r\n");
    cr_assert(strstr(h_run(&h, "INFO commandstats"), "cmdstat_set:calls=2,usec=14,usec_per_call=7.00,"));
    cr_assert(strstr(h_run(&h, "INFO latencystats"),
                     "latency_percentiles_usec_set:p50=7.000,p99=7.000,p99.9=7.000\r\n"));
    /* latencystats is not in the default INFO, as in Redis. */
    cr_assert_null(strstr(h_run(&h, "INFO"), "latency_percentiles"));
    EXPECT(&h, "CONFIG RESETSTAT", "+OK\r\n");
    cr_assert_null(strstr(h_run(&h, "INFO latencystats"), "latency_percentiles_usec_set"));
    EXPECT(&h, "CONFIG SET latency-tracking no", "+OK\r\n");
    EXPECT(&h, "GET a", "$1\r\n2\r\n");
    cr_assert_null(strstr(h_run(&h, "INFO latencystats"), "latency_percentiles_usec_get"));
    h_free(&h);
}

Test(lathist, buckets_cover_every_value_once)
{
    for (uint64_t v = 0; v < 100000; v++) {
        int b = lathist_bucket(v);
        cr_assert(lathist_lo(b) <= v && v < lathist_hi(b), "v=%llu b=%d", (unsigned long long)v, b);
        /* Relative width at most 1/16 above 16. */
        if (v >= 16)
            cr_assert((lathist_hi(b) - lathist_lo(b)) * 16 <= lathist_lo(b));
    }
    for (int b = 1; b < LATHIST_BUCKETS; b++)
        cr_assert_eq(lathist_lo(b), lathist_hi(b - 1));
    cr_assert_eq(lathist_bucket(UINT64_MAX), LATHIST_BUCKETS - 1);
}

Test(lathist, percentiles)
{
    lathist *h = calloc(1, sizeof(*h));
    cr_assert_eq(lathist_percentile(h, 50), 0.0);
    for (int i = 1; i <= 1000; i++)
        lathist_add(h, (uint64_t)i);
    double p50 = lathist_percentile(h, 50), p99 = lathist_percentile(h, 99),
           p999 = lathist_percentile(h, 99.9);
    cr_assert(p50 > 500 * 0.93 && p50 < 500 * 1.07, "p50 %f", p50);
    cr_assert(p99 > 990 * 0.93 && p99 < 990 * 1.07, "p99 %f", p99);
    cr_assert(p999 >= p99 && p999 < 1000 * 1.07, "p99.9 %f", p999);
    cr_assert_eq(lathist_count_le(h, 15), 15);
    cr_assert_eq(lathist_count_le(h, 100000), 1000);
    free(h);
}
