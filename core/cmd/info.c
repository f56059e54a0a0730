/* INFO: Redis 7.0's sections, order, headers and field names, for the data
 * the core has; the driver appends the rest through engine.info (info.h).
 * Nothing here reads a clock or the engine's PRNG: the text depends only
 * on the engine's state and the command's time. */
#include "core/cmd/info.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/cmd/engine.h"
#include "core/util/lathist.h"
#include "core/util/prng.h"

#define KEEL_REDIS_VERSION "7.0.15"
#define KEEL_VERSION "0.1.0"

static void addf(kbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(kbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(tmp)) {
        kbuf_append(b, tmp, (size_t)n);
        return;
    }
    char *p = kbuf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Redis's getSafeInfoString: names in INFO never carry '#', ':' or line
 * breaks. */
static void add_safe(kbuf *b, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        kbuf_putc(b, (c == '#' || c == ':' || c == '\n' || c == '\r') ? '_' : c);
    }
}

/* ------------------------------------------------------------------------ */
/* The core's sections */

/* 40 hex characters drawn from the node's seed (not from the engine's
 * PRNG, whose sequence INFO must not disturb). */
static void run_id(const engine *e, char out[41])
{
    kprng r;
    kprng_seed(&r, e->seed ^ 0x72756e5f69645f31ULL);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 40; i += 16) {
        uint64_t v = kprng_next(&r);
        for (int j = 0; j < 16 && i + j < 40; j++)
            out[i + j] = hex[(v >> (4 * j)) & 15];
    }
    out[40] = '\0';
}

static int64_t secs(int64_t ms) { return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); }

static void sec_server(engine *e, int64_t now_ms, kbuf *b)
{
    char id[41];
    run_id(e, id);
    int64_t uptime = secs(now_ms) - secs(e->start_ms);
    addf(b, "redis_version:%s\r\n", KEEL_REDIS_VERSION);
    addf(b, "keel_version:%s\r\n", KEEL_VERSION);
    addf(b, "redis_git_sha1:00000000\r\n");
    addf(b, "redis_git_dirty:0\r\n");
    addf(b, "redis_mode:standalone\r\n");
    addf(b, "arch_bits:%d\r\n", (int)(sizeof(void *) * 8));
#ifdef __GNUC__
    addf(b, "gcc_version:%d.%d.%d\r\n", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
    addf(b, "gcc_version:0.0.0\r\n");
#endif
    addf(b, "run_id:%s\r\n", id);
    addf(b, "server_time_usec:%lld\r\n", (long long)now_ms * 1000);
    addf(b, "uptime_in_seconds:%lld\r\n", (long long)uptime);
    addf(b, "uptime_in_days:%lld\r\n", (long long)(uptime / (3600 * 24)));
    addf(b, "hz:%lld\r\n", e->cfg.hz);
    addf(b, "configured_hz:%lld\r\n", e->cfg.hz);
    addf(b, "lru_clock:%u\r\n", (unsigned)((uint64_t)secs(now_ms) & ((1u << 24) - 1)));
}

static void sec_clients(engine *e, int64_t now_ms, kbuf *b)
{
    (void)now_ms;
    /* A killed client is gone for Redis; here it waits for the driver. */
    uint64_t n = 0;
    for (const client *c = e->clients; c; c = c->next)
        if (!(c->flags & CLIENT_KILLED))
            n++;
    addf(b, "connected_clients:%llu\r\n", (unsigned long long)n);
    addf(b, "blocked_clients:%llu\r\n", (unsigned long long)engine_blocked_clients(e));
    addf(b, "tracking_clients:0\r\n");
    addf(b, "clients_in_timeout_table:0\r\n");
}

static void sec_persistence(engine *e, int64_t now_ms, kbuf *b)
{
    (void)now_ms;
    addf(b, "loading:0\r\n");
    addf(b, "async_loading:0\r\n");
    addf(b, "rdb_changes_since_last_save:%llu\r\n", (unsigned long long)e->stats.dirty);
    addf(b, "rdb_last_save_time:%lld\r\n", (long long)secs(e->lastsave_ms));
}

static void sec_stats(engine *e, int64_t now_ms, kbuf *b)
{
    (void)now_ms;
    /* The databases' counters, summed. */
    db_stats sum = {0};
    for (int i = 0; i < e->ndbs; i++) {
        const db_stats *d = &engine_db(e, i)->stats;
        sum.hits += d->hits;
        sum.misses += d->misses;
        sum.expired += d->expired;
        sum.expire_cycle_samples += d->expire_cycle_samples;
    }
    const db_stats *s = &sum;
    /* The share of sampled keys the expire cycle found expired (Redis keeps
     * a moving average of the same ratio). */
    double stale = s->expire_cycle_samples
                       ? (double)e->stats.expired_by_cycle * 100.0 / (double)s->expire_cycle_samples
                       : 0.0;
    addf(b, "total_connections_received:%llu\r\n", (unsigned long long)e->stats.connections);
    addf(b, "total_commands_processed:%llu\r\n", (unsigned long long)e->stats.commands);
    addf(b, "instantaneous_ops_per_sec:%llu\r\n",
         (unsigned long long)engine_instantaneous_ops(&e->stats));
    addf(b, "expired_keys:%llu\r\n", (unsigned long long)s->expired);
    addf(b, "expired_stale_perc:%.2f\r\n", stale);
    addf(b, "expired_time_cap_reached_count:0\r\n");
    addf(b, "evicted_keys:%llu\r\n", (unsigned long long)e->stats.evicted_keys);
    addf(b, "keyspace_hits:%llu\r\n", (unsigned long long)s->hits);
    addf(b, "keyspace_misses:%llu\r\n", (unsigned long long)s->misses);
    addf(b, "total_error_replies:%llu\r\n", (unsigned long long)e->stats.error_replies);
}

static void sec_replication(engine *e, int64_t now_ms, kbuf *b)
{
    (void)e;
    (void)now_ms;
    /* A lone node, as a Redis master without replicas: the offsets are
     * Redis's replication stream's, which keel does not speak (its
     * replication is Raft, with its own section from the cluster on). */
    char replid[41];
    run_id(e, replid);
    addf(b, "role:master\r\n");
    addf(b, "connected_slaves:0\r\n");
    addf(b, "master_failover_state:no-failover\r\n");
    addf(b, "master_replid:%s\r\n", replid);
    addf(b, "master_replid2:0000000000000000000000000000000000000000\r\n");
    addf(b, "master_repl_offset:0\r\n");
    addf(b, "second_repl_offset:-1\r\n");
    addf(b, "repl_backlog_active:0\r\n");
    addf(b, "repl_backlog_size:1048576\r\n");
    addf(b, "repl_backlog_first_byte_offset:0\r\n");
    addf(b, "repl_backlog_histlen:0\r\n");
}

static void latency_line(const cmd_entry *ce, kbuf *b)
{
    const lathist *h = ce->stats.lat;
    if (h && h->total) {
        kbuf_append(b, "latency_percentiles_usec_", 25);
        add_safe(b, ce->fullname, strlen(ce->fullname));
        addf(b, ":p50=%.3f,p99=%.3f,p99.9=%.3f\r\n", lathist_percentile(h, 50.0),
             lathist_percentile(h, 99.0), lathist_percentile(h, 99.9));
    }
    for (int i = 0; i < ce->nsubs; i++)
        latency_line(&ce->subs[i], b);
}

static void sec_latencystats(engine *e, int64_t now_ms, kbuf *b)
{
    (void)now_ms;
    for (int i = 0; i < e->ncmds; i++)
        latency_line(&e->cmds[i], b);
}

static void cmdstat_line(const cmd_entry *ce, kbuf *b)
{
    const cmd_stats *s = &ce->stats;
    if (s->calls || s->failed_calls || s->rejected_calls) {
        kbuf_append(b, "cmdstat_", 8);
        add_safe(b, ce->fullname, strlen(ce->fullname));
        /* usec_per_call in float, as Redis computes it. */
        addf(b, ":calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,failed_calls=%llu\r\n",
             (unsigned long long)s->calls, (unsigned long long)s->usec,
             s->calls == 0 ? 0.0 : (double)((float)s->usec / (float)s->calls),
             (unsigned long long)s->rejected_calls, (unsigned long long)s->failed_calls);
    }
    for (int i = 0; i < ce->nsubs; i++)
        cmdstat_line(&ce->subs[i], b);
}

static void sec_commandstats(engine *e, int64_t now_ms, kbuf *b)
{
    (void)now_ms;
    for (int i = 0; i < e->ncmds; i++)
        cmdstat_line(&e->cmds[i], b);
}

static int error_cmp(const void *a, const void *b)
{
    return strcmp((*(const error_stat *const *)a)->code, (*(const error_stat *const *)b)->code);
}

static void sec_errorstats(engine *e, int64_t now_ms, kbuf *b)
{
    (void)now_ms;
    if (e->nerrors == 0)
        return;
    /* In code order, as Redis's radix tree gives them. */
    const error_stat **v = malloc((size_t)e->nerrors * sizeof(*v));
    if (v == NULL)
        abort();
    for (int i = 0; i < e->nerrors; i++)
        v[i] = &e->errors[i];
    qsort(v, (size_t)e->nerrors, sizeof(*v), error_cmp);
    for (int i = 0; i < e->nerrors; i++) {
        kbuf_append(b, "errorstat_", 10);
        add_safe(b, v[i]->code, strlen(v[i]->code));
        addf(b, ":count=%llu\r\n", (unsigned long long)v[i]->count);
    }
    free(v);
}

static void sec_keyspace(engine *e, int64_t now_ms, kbuf *b)
{
    (void)now_ms;
    for (int i = 0; i < e->ndbs; i++) {
        db *d = engine_db(e, i);
        uint64_t keys = db_size(d), vkeys = db_expires_count(d);
        if (keys || vkeys)
            addf(b, "db%d:keys=%llu,expires=%llu,avg_ttl=0\r\n", i, (unsigned long long)keys,
                 (unsigned long long)vkeys);
    }
}

typedef void section_fn(engine *e, int64_t now_ms, kbuf *b);

typedef struct section {
    const char *name;   /* as INFO takes it */
    const char *alias;  /* a second name ("modules") */
    const char *header; /* "# Server" */
    bool dflt;          /* in the default set */
    section_fn *fn;     /* the core's fields, NULL for none */
} section;

static const section sections[] = {
    {"server", NULL, "# Server", true, sec_server},
    {"clients", NULL, "# Clients", true, sec_clients},
    {"memory", NULL, "# Memory", true, NULL},
    {"persistence", NULL, "# Persistence", true, sec_persistence},
    {"stats", NULL, "# Stats", true, sec_stats},
    {"replication", NULL, "# Replication", true, sec_replication},
    {"cpu", NULL, "# CPU", true, NULL},
    {"module_list", "modules", "# Modules", true, NULL},
    {"commandstats", NULL, "# Commandstats", false, sec_commandstats},
    {"errorstats", NULL, "# Errorstats", true, sec_errorstats},
    {"latencystats", NULL, "# Latencystats", false, sec_latencystats},
    {"cluster", NULL, "# Cluster", true, NULL},
    {"keyspace", NULL, "# Keyspace", true, sec_keyspace},
};
#define NSECTIONS ((int)(sizeof(sections) / sizeof(sections[0])))
/* The driver's own sections beyond this many are ignored. */
#define MAX_EXTRA 32

static bool arg_eq(const resp_slice *a, const char *w)
{
    size_t n = strlen(w);
    return a->len == n && strncasecmp(a->ptr, w, n) == 0;
}

void info_generate(engine *e, int argc, const resp_slice *argv, int64_t now_ms, kbuf *out)
{
    const info_provider *p = e->info;
    const char *const *extra = p ? p->sections : NULL;
    int nextra = 0;
    while (extra && extra[nextra] && nextra < MAX_EXTRA)
        nextra++;

    bool want[NSECTIONS] = {false}, want_extra[MAX_EXTRA] = {false};
    bool all = false;
    if (argc == 0) {
        for (int s = 0; s < NSECTIONS; s++)
            want[s] = sections[s].dflt;
    }
    for (int i = 0; i < argc; i++) {
        const resp_slice *a = &argv[i];
        if (arg_eq(a, "default")) {
            for (int s = 0; s < NSECTIONS; s++)
                want[s] |= sections[s].dflt;
        } else if (arg_eq(a, "all") || arg_eq(a, "everything")) {
            all = true;
        } else {
            for (int s = 0; s < NSECTIONS; s++)
                if (arg_eq(a, sections[s].name) || (sections[s].alias && arg_eq(a, sections[s].alias)))
                    want[s] = true;
            for (int s = 0; s < nextra; s++)
                if (arg_eq(a, extra[s]))
                    want_extra[s] = true;
        }
    }

    int printed = 0;
    for (int s = 0; s < NSECTIONS; s++) {
        if (!all && !want[s])
            continue;
        if (printed++)
            kbuf_append(out, "\r\n", 2);
        addf(out, "%s\r\n", sections[s].header);
        if (sections[s].fn)
            sections[s].fn(e, now_ms, out);
        if (p && p->fields)
            p->fields(p->ctx, e, sections[s].name, out);
    }
    for (int s = 0; s < nextra; s++) {
        if (!all && !want_extra[s])
            continue;
        if (printed++)
            kbuf_append(out, "\r\n", 2);
        kbuf_append(out, "# ", 2);
        const char *n = extra[s];
        if (n[0])
            kbuf_putc(out, (char)toupper((unsigned char)n[0]));
        if (n[0])
            kbuf_append(out, n + 1, strlen(n + 1));
        kbuf_append(out, "\r\n", 2);
        if (p->fields)
            p->fields(p->ctx, e, n, out);
    }
}

void info_cmd(cmd_ctx *x)
{
    kbuf b = KBUF_INIT;
    info_generate(x->eng, x->argc - 1, x->argv + 1, x->now_ms, &b);
    reply_verbatim(x, b.data ? b.data : "", b.len, "txt");
    kbuf_free(&b);
}
