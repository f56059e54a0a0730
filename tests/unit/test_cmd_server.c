/* Server and introspection commands: DBSIZE FLUSHDB FLUSHALL TIME LASTSAVE
 * CONFIG DEBUG COMMAND INFO, against Redis 7.0's replies. Long replies
 * (COMMAND, COMMAND DOCS, INFO) are checked by structure with a small
 * RESP walker. */
#include <ctype.h>
#include <stddef.h>

#include "core/cmd/config.h"
#include "core/cmd/info.h"
#include "engine_harness.h"

/* ---- a tiny RESP2 reader for structure checks ---- */

/* Skips one reply; returns the byte after it. */
static const char *r_skip(const char *p)
{
    char t = *p;
    const char *nl = strstr(p, "\r\n");
    cr_assert_not_null(nl, "truncated reply");
    long long n = atoll(p + 1);
    p = nl + 2;
    switch (t) {
    case '+':
    case '-':
    case ':':
        return p;
    case '$':
        return n < 0 ? p : p + n + 2;
    case '*':
        for (long long i = 0; i < n; i++)
            p = r_skip(p);
        return p;
    default:
        cr_assert_fail("bad reply type %c", t);
        return p;
    }
}

/* The element count of an array reply. */
static long long r_len(const char *p)
{
    cr_assert_eq(*p, '*', "not an array: %.40s", p);
    return atoll(p + 1);
}

/* The i-th element of an array reply. */
static const char *r_at(const char *p, long long i)
{
    cr_assert(i < r_len(p), "index %lld out of %lld", i, r_len(p));
    p = strstr(p, "\r\n") + 2;
    while (i-- > 0)
        p = r_skip(p);
    return p;
}

/* True if the reply is the bulk or simple string s. */
static bool r_is(const char *p, const char *s)
{
    size_t n = strlen(s);
    if (*p == '+')
        return strncmp(p + 1, s, n) == 0 && p[1 + n] == '\r';
    if (*p == '$')
        return atoll(p + 1) == (long long)n && strncmp(strstr(p, "\r\n") + 2, s, n) == 0;
    return false;
}

/* True if the reply at p is exactly the bytes s (p may be followed by more). */
static bool r_eq(const char *p, const char *s)
{
    size_t n = (size_t)(r_skip(p) - p);
    return strlen(s) == n && memcmp(p, s, n) == 0;
}

/* In a map reply (flat array), the value for key, or NULL. */
static const char *r_get(const char *map, const char *key)
{
    long long n = r_len(map);
    for (long long i = 0; i + 1 < n; i += 2)
        if (r_is(r_at(map, i), key))
            return r_at(map, i + 1);
    return NULL;
}

static char *bulk_of(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n + 32);
    snprintf(out, n + 32, "$%zu\r\n%s\r\n", n, s);
    return out;
}

static void put(harness *h, const char *k, const char *v, int64_t deadline)
{
    db_set_str(&h->e.db, k, strlen(k), v, strlen(v), deadline);
}

/* ------------------------------------------------------------------------ */

Test(server, dbsize_flush)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "DBSIZE", ":0\r\n");
    put(&h, "a", "1", -1);
    put(&h, "b", "2", h.now_ms + 100000);
    EXPECT(&h, "DBSIZE", ":2\r\n");
    EXPECT(&h, "DBSIZE x", "-ERR wrong number of arguments for 'dbsize' command\r\n");
    EXPECT(&h, "FLUSHDB", "+OK\r\n");
    EXPECT(&h, "DBSIZE", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty, 2);
    cr_assert_eq(db_expires_count(&h.e.db), 0);
    put(&h, "a", "1", -1);
    EXPECT(&h, "FLUSHALL ASYNC", "+OK\r\n");
    cr_assert_eq(h.e.stats.dirty, 3);
    EXPECT(&h, "FLUSHALL sync", "+OK\r\n");
    EXPECT(&h, "FLUSHDB Async", "+OK\r\n");
    cr_assert_eq(h.e.stats.dirty, 3);
    EXPECT(&h, "FLUSHDB foo", "-ERR syntax error\r\n");
    EXPECT(&h, "FLUSHALL SYNC ASYNC", "-ERR syntax error\r\n");
    EXPECT(&h, "FLUSHALL foo", "-ERR syntax error\r\n");
    h_free(&h);
}

Test(server, flush_touches_watch)
{
    harness h;
    h_init(&h);
    put(&h, "w", "1", -1);
    EXPECT(&h, "WATCH w", "+OK\r\n");
    EXPECT(&h, "FLUSHDB", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "DBSIZE", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*-1\r\n");
    h_free(&h);
}

Test(server, time_lastsave)
{
    harness h;
    h_init_at(&h, 7, 1700000000123LL);
    EXPECT(&h, "TIME", "*2\r\n$10\r\n1700000000\r\n$6\r\n123000\r\n");
    h.now_ms = 1700000005000LL;
    EXPECT(&h, "TIME", "*2\r\n$10\r\n1700000005\r\n$1\r\n0\r\n");
    EXPECT(&h, "LASTSAVE", ":1700000000\r\n");
    h.e.lastsave_ms = 1712345678999LL;
    EXPECT(&h, "LASTSAVE", ":1712345678\r\n");
    EXPECT(&h, "TIME x", "-ERR wrong number of arguments for 'time' command\r\n");
    EXPECT(&h, "LASTSAVE x", "-ERR wrong number of arguments for 'lastsave' command\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* CONFIG */

Test(config, get)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "CONFIG GET hz", "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n");
    /* An exact name is replied as typed. */
    EXPECT(&h, "CONFIG GET HZ", "*2\r\n$2\r\nHZ\r\n$2\r\n10\r\n");
    EXPECT(&h, "CONFIG GET nosuch", "*0\r\n");
    EXPECT(&h, "CONFIG GET nosuch*", "*0\r\n");
    EXPECT(&h, "CONFIG GET hz hz HZ h?", "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n");
    EXPECT(&h, "CONFIG GET databases", "*2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n");
    EXPECT(&h, "CONFIG GET requirepass", "*2\r\n$11\r\nrequirepass\r\n$0\r\n\r\n");
    EXPECT(&h, "CONFIG GET proto-max-bulk-len",
           "*2\r\n$18\r\nproto-max-bulk-len\r\n$9\r\n536870912\r\n");
    EXPECT(&h, "CONFIG GET active-expire-effort",
           "*2\r\n$20\r\nactive-expire-effort\r\n$1\r\n1\r\n");
    /* Patterns match names and aliases, case-insensitively, each once. */
    EXPECT(&h, "CONFIG GET HASH-MAX-*",
           "*8\r\n$25\r\nhash-max-listpack-entries\r\n$3\r\n512\r\n"
           "$24\r\nhash-max-ziplist-entries\r\n$3\r\n512\r\n"
           "$23\r\nhash-max-listpack-value\r\n$2\r\n64\r\n"
           "$22\r\nhash-max-ziplist-value\r\n$2\r\n64\r\n");
    EXPECT(&h, "CONFIG GET hash-max-ziplist-value hash-max-*-value",
           "*4\r\n$22\r\nhash-max-ziplist-value\r\n$2\r\n64\r\n"
           "$23\r\nhash-max-listpack-value\r\n$2\r\n64\r\n");
    const char *r = h_run(&h, "CONFIG GET *");
    /* 24 names (aliases included), each with its value. */
    cr_assert_eq(r_len(r), 48, "%s", r);
    cr_assert_not_null(r_get(r, "maxmemory-policy"));
    cr_assert_not_null(r_get(r, "latency-tracking"));
    cr_assert_not_null(r_get(r, "requirepass"));
    cr_assert_not_null(r_get(r, "zset-max-ziplist-entries"));
    cr_assert_not_null(r_get(r, "set-max-intset-entries"));
    cr_assert_not_null(r_get(r, "hash-max-ziplist-entries"));
    EXPECT(&h, "CONFIG GET", "-ERR wrong number of arguments for 'config|get' command\r\n");
    EXPECT(&h, "CONFIG", "-ERR wrong number of arguments for 'config' command\r\n");
    EXPECT(&h, "CONFIG FOO", "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n");
    h_free(&h);
}

Test(config, set_round_trips)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "CONFIG SET hz 20", "+OK\r\n");
    EXPECT(&h, "CONFIG GET hz", "*2\r\n$2\r\nhz\r\n$2\r\n20\r\n");
    cr_assert_eq(h.e.cfg.hz, 20);
    /* hz is clamped to [1, 500] as Redis's updateHZ does. */
    EXPECT(&h, "CONFIG SET hz 0", "+OK\r\n");
    EXPECT(&h, "CONFIG GET hz", "*2\r\n$2\r\nhz\r\n$1\r\n1\r\n");
    EXPECT(&h, "CONFIG SET hz 100000", "+OK\r\n");
    EXPECT(&h, "CONFIG GET hz", "*2\r\n$2\r\nhz\r\n$3\r\n500\r\n");
    EXPECT(&h, "config set HASH-MAX-ZIPLIST-ENTRIES 7", "+OK\r\n");
    cr_assert_eq(h.e.cfg.hash_max_listpack_entries, 7);
    EXPECT(&h, "CONFIG GET hash-max-listpack-entries",
           "*2\r\n$25\r\nhash-max-listpack-entries\r\n$1\r\n7\r\n");
    EXPECT(&h, "CONFIG SET hash-max-listpack-value 1kb", "+OK\r\n");
    cr_assert_eq(h.e.cfg.hash_max_listpack_value, 1024);
    EXPECT(&h, "CONFIG SET hash-max-listpack-value 2K", "+OK\r\n");
    cr_assert_eq(h.e.cfg.hash_max_listpack_value, 2000);
    EXPECT(&h, "CONFIG SET hash-max-listpack-value 0", "+OK\r\n");
    EXPECT(&h, "CONFIG SET proto-max-bulk-len 1gb", "+OK\r\n");
    EXPECT(&h, "CONFIG GET proto-max-bulk-len",
           "*2\r\n$18\r\nproto-max-bulk-len\r\n$10\r\n1073741824\r\n");
    EXPECT(&h, "CONFIG SET proto-max-bulk-len 2MB", "+OK\r\n");
    cr_assert_eq(h.e.cfg.proto_max_bulk_len, 2 * 1024 * 1024);
    EXPECT(&h, "CONFIG SET proto-max-bulk-len 3000000b", "+OK\r\n");
    cr_assert_eq(h.e.cfg.proto_max_bulk_len, 3000000);
    EXPECT(&h, "CONFIG SET active-expire-effort 10", "+OK\r\n");
    cr_assert_eq(h.e.cfg.active_expire_effort, 10);
    EXPECT(&h, "CONFIG SET requirepass \"p w\"", "+OK\r\n");
    cr_assert_str_eq(h.e.cfg.requirepass, "p w");
    EXPECT(&h, "CONFIG GET requirepass", "*2\r\n$11\r\nrequirepass\r\n$3\r\np w\r\n");
    EXPECT(&h, "CONFIG SET requirepass \"\"", "+OK\r\n");
    cr_assert_null(h.e.cfg.requirepass);
    /* Several at once. */
    EXPECT(&h, "CONFIG SET hz 33 active-expire-effort 4 hash-max-listpack-entries 99", "+OK\r\n");
    cr_assert_eq(h.e.cfg.hz, 33);
    cr_assert_eq(h.e.cfg.active_expire_effort, 4);
    cr_assert_eq(h.e.cfg.hash_max_listpack_entries, 99);
    /* Every parameter GET prints, SET takes back unchanged. */
    const char *r = h_run(&h, "CONFIG GET *");
    long long n = r_len(r);
    for (long long i = 0; i < n; i += 2) {
        char name[64], val[64];
        const char *k = r_at(r, i), *v = r_at(r, i + 1);
        snprintf(name, sizeof(name), "%.*s", atoi(k + 1), strstr(k, "\r\n") + 2);
        snprintf(val, sizeof(val), "%.*s", atoi(v + 1), strstr(v, "\r\n") + 2);
        if (!strcmp(name, "databases"))
            continue;
        char *before = strdup(r);
        const char *set = h_runf(&h, "CONFIG SET %s \"%s\"", name, val);
        cr_assert_str_eq(set, "+OK\r\n", "%s %s", name, val);
        cr_assert_str_eq(h_run(&h, "CONFIG GET *"), before, "%s", name);
        free(before);
        r = h_run(&h, "CONFIG GET *");
    }
    h_free(&h);
}

Test(config, set_errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "CONFIG SET hz", "-ERR wrong number of arguments for 'config|set' command\r\n");
    EXPECT(&h, "CONFIG SET hz 1 active-expire-effort", "-ERR syntax error\r\n");
    EXPECT(&h, "CONFIG SET foo 1",
           "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n");
    EXPECT(&h, "CONFIG SET hz 5 foo 1 bar 2",
           "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n");
    cr_assert_eq(h.e.cfg.hz, 10);
    EXPECT(&h, "CONFIG SET databases 2",
           "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config\r\n");
    EXPECT(&h, "CONFIG SET DataBases 1",
           "-ERR CONFIG SET failed (possibly related to argument 'DataBases') - can't set immutable config\r\n");
    EXPECT(&h, "CONFIG SET hz 1 HZ 2",
           "-ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter\r\n");
    EXPECT(&h, "CONFIG SET hash-max-listpack-entries 1 hash-max-ziplist-entries 2",
           "-ERR CONFIG SET failed (possibly related to argument 'hash-max-ziplist-entries') - duplicate parameter\r\n");
    EXPECT(&h, "CONFIG SET hz abc",
           "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer\r\n");
    EXPECT(&h, "CONFIG SET hz 1.5",
           "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer\r\n");
    EXPECT(&h, "CONFIG SET hz -1",
           "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive\r\n");
    EXPECT(&h, "CONFIG SET hz 2147483648",
           "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive\r\n");
    EXPECT(&h, "CONFIG SET active-expire-effort 11",
           "-ERR CONFIG SET failed (possibly related to argument 'active-expire-effort') - argument must be between 1 and 10 inclusive\r\n");
    EXPECT(&h, "CONFIG SET active-expire-effort 0",
           "-ERR CONFIG SET failed (possibly related to argument 'active-expire-effort') - argument must be between 1 and 10 inclusive\r\n");
    EXPECT(&h, "CONFIG SET hash-max-listpack-entries -1",
           "-ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - argument must be between 0 and 9223372036854775807 inclusive\r\n");
    /* The name in a parse error is the table's, alias included. */
    EXPECT(&h, "CONFIG SET HASH-MAX-ZIPLIST-ENTRIES x",
           "-ERR CONFIG SET failed (possibly related to argument 'hash-max-ziplist-entries') - argument couldn't be parsed into an integer\r\n");
    EXPECT(&h, "CONFIG SET proto-max-bulk-len abc",
           "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be a memory value\r\n");
    EXPECT(&h, "CONFIG SET proto-max-bulk-len -1",
           "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be a memory value\r\n");
    EXPECT(&h, "CONFIG SET proto-max-bulk-len 1tb",
           "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be a memory value\r\n");
    EXPECT(&h, "CONFIG SET proto-max-bulk-len 1k",
           "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive\r\n");
    /* Overflow saturates then wraps, as strtoull and Redis's multiply. */
    EXPECT(&h, "CONFIG SET proto-max-bulk-len 99999999999999999999999",
           "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive\r\n");
    EXPECT(&h, "CONFIG SET hash-max-listpack-value 9223372036854775808",
           "-ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-value') - argument must be between 0 and 9223372036854775807 inclusive\r\n");
    cr_assert_eq(h.e.cfg.proto_max_bulk_len, 512LL * 1024 * 1024);
    /* All or nothing: a bad value later undoes the earlier ones. */
    EXPECT(&h, "CONFIG SET hz 50 requirepass x active-expire-effort 99",
           "-ERR CONFIG SET failed (possibly related to argument 'active-expire-effort') - argument must be between 1 and 10 inclusive\r\n");
    cr_assert_eq(h.e.cfg.hz, 10);
    cr_assert_null(h.e.cfg.requirepass);
    /* The first unknown name wins over later errors, and over earlier
     * value errors found only when parsing. */
    EXPECT(&h, "CONFIG SET hz x nope 1",
           "-ERR Unknown option or number of arguments for CONFIG SET - 'nope'\r\n");
    /* An immutable one before an unknown one. */
    EXPECT(&h, "CONFIG SET databases 1 nope 1",
           "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config\r\n");
    /* Binary names print up to their NUL, as Redis's %s. */
    resp_slice argv[4] = {{"CONFIG", 6}, {"SET", 3}, {"a\0b", 3}, {"1", 1}};
    cr_assert_str_eq(h_runv_as(&h, h.c, 4, argv),
                     "-ERR Unknown option or number of arguments for CONFIG SET - 'a'\r\n");
    h_free(&h);
}

/* A driver's parameters, registered beside the core's. */
typedef struct rt_conf {
    bool appendonly;
    int loglevel;
    long long maxclients;
    char *dir;
    long long secret;
    int applied;
} rt_conf;

static const char *const loglevels[] = {"debug", "verbose", "notice", "warning", NULL};

static bool apply_maxclients(engine *e, void *base, char *err)
{
    (void)e;
    rt_conf *c = base;
    c->applied++;
    if (c->maxclients == 13) {
        snprintf(err, CONFIG_ERR_MAX, "unlucky number");
        return false;
    }
    return true;
}

static bool set_dir(engine *e, void *base, const char *v, size_t len, char *err)
{
    (void)e;
    rt_conf *c = base;
    if (len == 0 || v[0] != '/') {
        snprintf(err, CONFIG_ERR_MAX, "No such file or directory");
        return false;
    }
    free(c->dir);
    c->dir = strndup(v, len);
    return true;
}

static void get_dir(engine *e, void *base, kbuf *out)
{
    (void)e;
    rt_conf *c = base;
    if (c->dir)
        kbuf_append(out, c->dir, strlen(c->dir));
}

static const config_def rt_defs[] = {
    {.name = "appendonly", .type = CONFIG_BOOL, .offset = offsetof(rt_conf, appendonly)},
    {.name = "loglevel", .type = CONFIG_ENUM, .enum_names = loglevels,
     .offset = offsetof(rt_conf, loglevel)},
    {.name = "maxclients", .type = CONFIG_INT, .min = 1, .max = 4294967295LL,
     .offset = offsetof(rt_conf, maxclients), .apply = apply_maxclients},
    {.name = "dir", .type = CONFIG_SPECIAL, .set = set_dir, .get = get_dir},
    {.name = "key-load-delay", .type = CONFIG_INT, .flags = CONFIG_HIDDEN, .min = -10, .max = 10,
     .offset = offsetof(rt_conf, secret)},
    {0},
};

Test(config, registered_parameters)
{
    harness h;
    h_init(&h);
    rt_conf rc = {.appendonly = false, .loglevel = 2, .maxclients = 10000, .dir = strdup("/data")};
    cr_assert_eq(config_register(&h.e, rt_defs, &rc), 0);
    /* Names are unique across tables. */
    static const config_def dup[] = {{.name = "HZ", .type = CONFIG_INT}, {0}};
    cr_assert_eq(config_register(&h.e, dup, &rc), -1);
    static const config_def dup2[] = {{.name = "x", .alias = "appendonly", .type = CONFIG_INT}, {0}};
    cr_assert_eq(config_register(&h.e, dup2, &rc), -1);

    EXPECT(&h, "CONFIG GET appendonly loglevel maxclients dir",
           "*8\r\n$10\r\nappendonly\r\n$2\r\nno\r\n$8\r\nloglevel\r\n$6\r\nnotice\r\n"
           "$10\r\nmaxclients\r\n$5\r\n10000\r\n$3\r\ndir\r\n$5\r\n/data\r\n");
    EXPECT(&h, "CONFIG SET appendonly YES loglevel Warning", "+OK\r\n");
    cr_assert(rc.appendonly);
    cr_assert_eq(rc.loglevel, 3);
    EXPECT(&h, "CONFIG GET loglevel", "*2\r\n$8\r\nloglevel\r\n$7\r\nwarning\r\n");
    EXPECT(&h, "CONFIG SET appendonly maybe",
           "-ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'\r\n");
    EXPECT(&h, "CONFIG SET loglevel loud",
           "-ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning\r\n");
    EXPECT(&h, "CONFIG SET dir relative",
           "-ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory\r\n");
    EXPECT(&h, "CONFIG SET dir /tmp", "+OK\r\n");
    cr_assert_str_eq(rc.dir, "/tmp");

    /* Apply hooks run for changed values only; a failing one undoes the
     * whole SET, its own value and the others'. */
    EXPECT(&h, "CONFIG SET maxclients 10000", "+OK\r\n");
    cr_assert_eq(rc.applied, 0);
    EXPECT(&h, "CONFIG SET maxclients 20", "+OK\r\n");
    cr_assert_eq(rc.applied, 1);
    EXPECT(&h, "CONFIG SET hz 77 maxclients 13 appendonly no",
           "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - unlucky number\r\n");
    cr_assert_eq(rc.maxclients, 20);
    cr_assert(rc.appendonly);
    cr_assert_eq(h.e.cfg.hz, 10);

    /* Hidden: only its exact name finds it. */
    const char *r = h_run(&h, "CONFIG GET *");
    cr_assert_null(r_get(r, "key-load-delay"));
    cr_assert_not_null(r_get(r, "maxclients"));
    EXPECT(&h, "CONFIG GET key-load-delay", "*2\r\n$14\r\nkey-load-delay\r\n$1\r\n0\r\n");

    /* The driver's own start-up path. */
    char err[CONFIG_ERR_MAX];
    void *base;
    const config_def *d = config_lookup(&h.e, "HZ", 2, &base, NULL);
    cr_assert_not_null(d);
    cr_assert(config_set_one(&h.e, d, base, "0", 1, err));
    cr_assert_eq(h.e.cfg.hz, 1);
    cr_assert_not(config_set_one(&h.e, d, base, "x", 1, err));
    cr_assert_str_eq(err, "argument couldn't be parsed into an integer");
    d = config_lookup(&h.e, "databases", 9, &base, NULL);
    kbuf out = KBUF_INIT;
    config_get_value(&h.e, d, base, &out);
    cr_assert_eq(out.len, 2);
    cr_assert(memcmp(out.data, "16", 2) == 0);
    kbuf_free(&out);
    h_free(&h);
    free(rc.dir);
}

Test(config, resetstat_rewrite_help)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "PING", "+PONG\r\n");
    EXPECT(&h, "ECHO", "-ERR wrong number of arguments for 'echo' command\r\n");
    EXPECT(&h, "CONFIG RESETSTAT", "+OK\r\n");
    /* Only RESETSTAT itself is left, counted after it ran. */
    const char *r = h_run(&h, "INFO commandstats");
    char *want = bulk_of("# Commandstats\r\n"
                         "cmdstat_config|resetstat:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\n");
    cr_assert_str_eq(r, want);
    free(want);
    r = h_run(&h, "INFO errorstats");
    want = bulk_of("# Errorstats\r\n");
    cr_assert_str_eq(r, want);
    free(want);
    EXPECT(&h, "CONFIG REWRITE", "-ERR The server is running without a config file\r\n");
    r = h_run(&h, "CONFIG HELP");
    cr_assert_str_eq(r, "*11\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
                        "+GET <pattern>\r\n"
                        "+    Return parameters matching the glob-like <pattern> and their values.\r\n"
                        "+SET <directive> <value>\r\n"
                        "+    Set the configuration <directive> to <value>.\r\n"
                        "+RESETSTAT\r\n"
                        "+    Reset statistics reported by the INFO command.\r\n"
                        "+REWRITE\r\n"
                        "+    Rewrite the configuration file.\r\n"
                        "+HELP\r\n"
                        "+    Prints this help.\r\n");
    r = h_run(&h, "config help");
    cr_assert(strncmp(r, "*11\r\n+CONFIG <subcommand>", 25) == 0, "%s", r);
    EXPECT(&h, "CONFIG HELP x", "-ERR wrong number of arguments for 'config|help' command\r\n");
    EXPECT(&h, "CONFIG RESETSTAT x", "-ERR wrong number of arguments for 'config|resetstat' command\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* DEBUG */

Test(debug, sleep_object_help)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "DEBUG SLEEP 0.5", "+OK\r\n");
    cr_assert_eq(h.e.debug_sleep_us, 500000);
    EXPECT(&h, "DEBUG SLEEP 1", "+OK\r\n");
    cr_assert_eq(h.e.debug_sleep_us, 1500000);
    h.e.debug_sleep_us = 0;
    EXPECT(&h, "DEBUG sleep abc", "+OK\r\n");
    EXPECT(&h, "DEBUG SLEEP -5", "+OK\r\n");
    EXPECT(&h, "DEBUG SLEEP nan", "+OK\r\n");
    cr_assert_eq(h.e.debug_sleep_us, 0);
    EXPECT(&h, "DEBUG SLEEP 1e300", "+OK\r\n");
    cr_assert_eq(h.e.debug_sleep_us, 86400LL * 365 * 1000000);
    h.e.debug_sleep_us = 0;

    EXPECT(&h, "DEBUG OBJECT nokey", "-ERR no such key\r\n");
    put(&h, "i", "123", -1);
    put(&h, "big", "123456", -1);
    put(&h, "s", "hello", -1);
    char raw[101];
    memset(raw, 'x', 100);
    raw[100] = '\0';
    db_set_str_raw(&h.e.db, "r", 1, raw, 100, -1);
    unsigned lru = (unsigned)((h.now_ms / 1000) & 0xFFFFFF);
    char want[512];
    snprintf(want, sizeof(want),
             "+Value at:0x7f0000000000 refcount:2147483647 encoding:int serializedlength:2 lru:%u "
             "lru_seconds_idle:0\r\n", lru);
    EXPECT(&h, "DEBUG OBJECT i", want);
    snprintf(want, sizeof(want),
             "+Value at:0x7f0000000000 refcount:1 encoding:int serializedlength:5 lru:%u "
             "lru_seconds_idle:0\r\n", lru);
    EXPECT(&h, "DEBUG OBJECT big", want);
    /* DEBUG OBJECT does not touch the key: idle time grows. */
    h.now_ms += 10000;
    snprintf(want, sizeof(want),
             "+Value at:0x7f0000000000 refcount:1 encoding:embstr serializedlength:6 lru:%u "
             "lru_seconds_idle:10\r\n", lru);
    EXPECT(&h, "DEBUG OBJECT s", want);
    EXPECT(&h, "DEBUG OBJECT s", want);
    snprintf(want, sizeof(want),
             "+Value at:0x7f0000000000 refcount:1 encoding:raw serializedlength:102 lru:%u "
             "lru_seconds_idle:10\r\n", lru);
    EXPECT(&h, "DEBUG OBJECT r", want);
    /* Nor expire it. */
    put(&h, "gone", "1", h.now_ms - 1);
    cr_assert(strncmp(h_run(&h, "DEBUG OBJECT gone"), "+Value at:", 10) == 0);

    /* A small hash: the listpack Redis would save (6 + 3 + 2 + 1 bytes). */
    const cmd_entry *hset = engine_lookup_name(&h.e, "hset", 4);
    if (hset && hset->def->fn) {
        EXPECT(&h, "HSET hh f 1", ":1\r\n");
        snprintf(want, sizeof(want),
                 "+Value at:0x7f0000000000 refcount:1 encoding:listpack serializedlength:13 lru:%u "
                 "lru_seconds_idle:0\r\n", (unsigned)((h.now_ms / 1000) & 0xFFFFFF));
        EXPECT(&h, "DEBUG OBJECT hh", want);
    }

    EXPECT(&h, "DEBUG FOO",
           "-ERR unknown subcommand or wrong number of arguments for 'FOO'. Try DEBUG HELP.\r\n");
    EXPECT(&h, "debug sleep",
           "-ERR unknown subcommand or wrong number of arguments for 'sleep'. Try DEBUG HELP.\r\n");
    EXPECT(&h, "DEBUG OBJECT a b",
           "-ERR unknown subcommand or wrong number of arguments for 'OBJECT'. Try DEBUG HELP.\r\n");
    EXPECT(&h, "DEBUG", "-ERR wrong number of arguments for 'debug' command\r\n");
    const char *help = h_run(&h, "DEBUG HELP");
    cr_assert(!strncmp(help, "*21\r\n+DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
                             "+OBJECT <key>\r\n+    Show low level info about `key` and associated value.\r\n"
                             "+SLEEP <seconds>\r\n+    Stop the server for <seconds>. Decimals allowed.\r\n",
                       strlen("*21\r\n+DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
                              "+OBJECT <key>\r\n+    Show low level info about `key` and associated value.\r\n"
                              "+SLEEP <seconds>\r\n+    Stop the server for <seconds>. Decimals allowed.\r\n")),
              "%s", help);
    cr_assert(strstr(help, "+SET-ACTIVE-EXPIRE <0|1>\r\n"));
    cr_assert(strstr(help, "+HELP\r\n+    Prints this help.\r\n"));
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* COMMAND */

Test(command, count_and_all)
{
    harness h;
    h_init(&h);
    char want[32];
    snprintf(want, sizeof(want), ":%d\r\n", h.e.ncmds);
    EXPECT(&h, "COMMAND COUNT", want);
    const char *r = h_run(&h, "COMMAND");
    cr_assert_eq(r_len(r), h.e.ncmds);
    cr_assert_eq(*r_skip(r), '\0', "one reply");
    for (long long i = 0; i < r_len(r); i++) {
        const char *e = r_at(r, i);
        cr_assert_eq(r_len(e), 10);
        cr_assert(r_is(r_at(e, 0), h.e.cmds[i].fullname));
    }
    r = h_run(&h, "COMMAND INFO");
    cr_assert_eq(r_len(r), h.e.ncmds);
    EXPECT(&h, "COMMAND COUNT x", "-ERR wrong number of arguments for 'command|count' command\r\n");
    EXPECT(&h, "COMMAND FOO", "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n");
    h_free(&h);
}

Test(command, info)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "COMMAND INFO ping",
           "*1\r\n*10\r\n$4\r\nping\r\n:-1\r\n*1\r\n+fast\r\n:0\r\n:0\r\n:0\r\n"
           "*2\r\n+@fast\r\n+@connection\r\n"
           "*2\r\n$25\r\nrequest_policy:all_shards\r\n$29\r\nresponse_policy:all_succeeded\r\n"
           "*0\r\n*0\r\n");
    EXPECT(&h, "COMMAND INFO nosuch", "*1\r\n$-1\r\n");
    EXPECT(&h, "COMMAND INFO get|x ping|x", "*2\r\n$-1\r\n$-1\r\n");
    /* A key command: the range key spec. */
    EXPECT(&h, "COMMAND INFO WATCH",
           "*1\r\n*10\r\n$5\r\nwatch\r\n:-2\r\n"
           "*5\r\n+noscript\r\n+loading\r\n+stale\r\n+fast\r\n+allow_busy\r\n"
           ":1\r\n:-1\r\n:1\r\n*2\r\n+@fast\r\n+@transaction\r\n*0\r\n"
           "*1\r\n*6\r\n$5\r\nflags\r\n*1\r\n+RO\r\n"
           "$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n"
           "$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n"
           "*6\r\n$7\r\nlastkey\r\n:-1\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n"
           "*0\r\n");
    /* Subcommands, by full name, and inside their container. */
    EXPECT(&h, "COMMAND INFO config|get",
           "*1\r\n*10\r\n$10\r\nconfig|get\r\n:-3\r\n"
           "*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n"
           "*3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*0\r\n");
    const char *r = h_run(&h, "COMMAND INFO config");
    const char *c = r_at(r, 0);
    cr_assert(r_is(r_at(c, 0), "config"));
    cr_assert(r_eq(r_at(c, 1), ":-2\r\n"));
    /* A container's own categories: only @slow. */
    cr_assert(strncmp(r_at(c, 6), "*1\r\n+@slow\r\n", 12) == 0);
    const char *subs = r_at(c, 9);
    cr_assert_eq(r_len(subs), 5);
    cr_assert(r_is(r_at(r_at(subs, 0), 0), "config|get"));
    cr_assert(r_is(r_at(r_at(subs, 4), 0), "config|set"));
    /* Implied categories: write commands are @write, admin ones @admin
     * and @dangerous, and not @fast means @slow. */
    r = h_run(&h, "COMMAND INFO flushall lastsave");
    cr_assert(strncmp(r_at(r_at(r, 0), 6), "*4\r\n+@keyspace\r\n+@write\r\n+@slow\r\n+@dangerous\r\n", 44) == 0,
              "%s", r);
    cr_assert(strncmp(r_at(r_at(r, 1), 6), "*3\r\n+@admin\r\n+@fast\r\n+@dangerous\r\n", 33) == 0,
              "%s", r);
    h_free(&h);
}

Test(command, getkeys)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "COMMAND GETKEYS watch a b", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT(&h, "COMMAND GETKEYS WATCH a", "*1\r\n$1\r\na\r\n");
    EXPECT(&h, "COMMAND GETKEYSANDFLAGS watch a b",
           "*2\r\n*2\r\n$1\r\na\r\n*1\r\n+RO\r\n*2\r\n$1\r\nb\r\n*1\r\n+RO\r\n");
    EXPECT(&h, "COMMAND GETKEYS nosuch a b", "-ERR Invalid command specified\r\n");
    EXPECT(&h, "COMMAND GETKEYS config nosuch", "-ERR Invalid command specified\r\n");
    EXPECT(&h, "COMMAND GETKEYS ping a b", "-ERR The command has no key arguments\r\n");
    EXPECT(&h, "COMMAND GETKEYS config get x", "-ERR The command has no key arguments\r\n");
    EXPECT(&h, "COMMAND GETKEYS watch", "-ERR wrong number of arguments for 'command|getkeys' command\r\n");
    if (engine_lookup_name(&h.e, "get", 3) && engine_lookup_name(&h.e, "get", 3)->def->fn) {
        EXPECT(&h, "COMMAND GETKEYS get a b", "-ERR Invalid number of arguments specified for command\r\n");
        EXPECT(&h, "COMMAND GETKEYS get a", "*1\r\n$1\r\na\r\n");
    }
    h_free(&h);
}

Test(command, list)
{
    harness h;
    h_init(&h);
    int total = 0;
    for (int i = 0; i < h.e.ncmds; i++)
        total += 1 + h.e.cmds[i].nsubs;
    const char *r = h_run(&h, "COMMAND LIST");
    cr_assert_eq(r_len(r), total);
    EXPECT(&h, "COMMAND LIST FILTERBY PATTERN config*",
           "*6\r\n$6\r\nconfig\r\n$10\r\nconfig|get\r\n$11\r\nconfig|help\r\n"
           "$16\r\nconfig|resetstat\r\n$14\r\nconfig|rewrite\r\n$10\r\nconfig|set\r\n");
    EXPECT(&h, "COMMAND LIST FILTERBY pattern CLIENT|K*", "*1\r\n$11\r\nclient|kill\r\n");
    EXPECT(&h, "COMMAND LIST FILTERBY ACLCAT transaction",
           "*5\r\n$7\r\ndiscard\r\n$4\r\nexec\r\n$5\r\nmulti\r\n$7\r\nunwatch\r\n$5\r\nwatch\r\n");
    EXPECT(&h, "COMMAND LIST FILTERBY ACLCAT nosuchcat", "*0\r\n");
    EXPECT(&h, "COMMAND LIST FILTERBY MODULE foo", "*0\r\n");
    r = h_run(&h, "COMMAND LIST FILTERBY ACLCAT DANGEROUS");
    cr_assert(strstr(r, "$8\r\nflushall\r\n") && strstr(r, "$11\r\nclient|kill\r\n") &&
              strstr(r, "$4\r\ninfo\r\n") && !strstr(r, "$4\r\nping\r\n"), "%s", r);
    EXPECT(&h, "COMMAND LIST FILTERBY foo bar", "-ERR syntax error\r\n");
    EXPECT(&h, "COMMAND LIST FILTERBY PATTERN", "-ERR syntax error\r\n");
    EXPECT(&h, "COMMAND LIST FILTERBY PATTERN a b", "-ERR syntax error\r\n");
    EXPECT(&h, "COMMAND LIST foo", "-ERR syntax error\r\n");
    h_free(&h);
}

/* The argument with this name in a DOCS arguments array. */
static const char *arg_named(const char *args, const char *name)
{
    for (long long i = 0; i < r_len(args); i++)
        if (r_is(r_get(r_at(args, i), "name"), name))
            return r_at(args, i);
    return NULL;
}

Test(command, docs)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "COMMAND DOCS ping",
           "*2\r\n$4\r\nping\r\n*10\r\n$7\r\nsummary\r\n$15\r\nPing the server\r\n"
           "$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$10\r\nconnection\r\n"
           "$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n"
           "*1\r\n*6\r\n$4\r\nname\r\n$7\r\nmessage\r\n$4\r\ntype\r\n$6\r\nstring\r\n"
           "$5\r\nflags\r\n*1\r\n+optional\r\n");
    /* No arguments: no "arguments" entry. */
    EXPECT(&h, "COMMAND DOCS time",
           "*2\r\n$4\r\ntime\r\n*8\r\n$7\r\nsummary\r\n$30\r\nReturn the current server time\r\n"
           "$5\r\nsince\r\n$5\r\n2.6.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n"
           "$10\r\ncomplexity\r\n$4\r\nO(1)\r\n");
    EXPECT(&h, "COMMAND DOCS nosuch", "*0\r\n");
    const char *r = h_run(&h, "COMMAND DOCS");
    cr_assert_eq(r_len(r), 2LL * h.e.ncmds);
    cr_assert_eq(*r_skip(r), '\0');

    /* key [key ...]: a multiple key with its key spec. */
    r = h_run(&h, "COMMAND DOCS watch");
    const char *a = r_at(r_get(r_at(r, 1), "arguments"), 0);
    cr_assert(r_eq(a, "*8\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n"
                        "$14\r\nkey_spec_index\r\n:0\r\n$5\r\nflags\r\n*1\r\n+multiple\r\n"));
    /* [username] password */
    r = h_run(&h, "COMMAND DOCS auth");
    const char *args = r_get(r_at(r, 1), "arguments");
    cr_assert_eq(r_len(args), 2);
    cr_assert_not_null(r_get(arg_named(args, "username"), "flags"));
    cr_assert_null(r_get(arg_named(args, "password"), "flags"));
    /* [ASYNC|SYNC]: an optional oneof of pure tokens. */
    r = h_run(&h, "COMMAND DOCS flushall");
    args = r_get(r_at(r, 1), "arguments");
    cr_assert_eq(r_len(args), 1);
    a = r_at(args, 0);
    cr_assert(r_is(r_get(a, "type"), "oneof"));
    cr_assert(r_eq(r_get(a, "flags"), "*1\r\n+optional\r\n"));
    const char *sub = r_get(a, "arguments");
    cr_assert_eq(r_len(sub), 2);
    cr_assert(r_eq(r_at(sub, 0), "*6\r\n$4\r\nname\r\n$5\r\nasync\r\n$4\r\ntype\r\n$10\r\npure-token\r\n"
                                   "$5\r\ntoken\r\n$5\r\nASYNC\r\n"));
    /* A container: its subcommands' docs as a map. */
    r = h_run(&h, "COMMAND DOCS client");
    const char *subs = r_get(r_at(r, 1), "subcommands");
    cr_assert_not_null(subs);
    const char *list = r_get(subs, "client|list");
    cr_assert_not_null(list);
    /* [TYPE <NORMAL|...>] [ID client-id [client-id ...]] */
    args = r_get(list, "arguments");
    cr_assert_eq(r_len(args), 2);
    a = r_at(args, 0);
    cr_assert(r_is(r_get(a, "type"), "oneof"));
    cr_assert(r_is(r_get(a, "token"), "TYPE"));
    cr_assert_eq(r_len(r_get(a, "arguments")), 4);
    a = arg_named(args, "client-id");
    cr_assert_not_null(a);
    cr_assert(r_is(r_get(a, "type"), "integer"));
    cr_assert(r_is(r_get(a, "token"), "ID"));
    cr_assert(r_eq(r_get(a, "flags"), "*2\r\n+optional\r\n+multiple\r\n"));
    /* HELLO: nested optional blocks with tokens. */
    r = h_run(&h, "COMMAND DOCS hello");
    args = r_get(r_at(r, 1), "arguments");
    cr_assert_eq(r_len(args), 1);
    a = r_at(args, 0);
    cr_assert(r_is(r_get(a, "type"), "block"));
    sub = r_get(a, "arguments");
    cr_assert_eq(r_len(sub), 3);
    cr_assert(r_is(r_get(r_at(sub, 0), "name"), "protover"));
    cr_assert(r_is(r_get(r_at(sub, 0), "type"), "integer"));
    const char *auth = r_at(sub, 1);
    cr_assert(r_is(r_get(auth, "token"), "AUTH"));
    cr_assert(r_is(r_get(auth, "type"), "block"));
    cr_assert(r_is(r_get(auth, "name"), "username_password"));
    cr_assert_eq(r_len(r_get(auth, "arguments")), 2);
    cr_assert(r_is(r_get(r_at(sub, 2), "token"), "SETNAME"));
    /* parameter value [parameter value ...]: a multiple block. */
    r = h_run(&h, "COMMAND DOCS config|set");
    cr_assert(r_is(r_at(r, 0), "config|set"));
    args = r_get(r_at(r, 1), "arguments");
    cr_assert_eq(r_len(args), 1);
    a = r_at(args, 0);
    cr_assert(r_is(r_get(a, "name"), "parameter_value"));
    cr_assert(r_is(r_get(a, "type"), "block"));
    cr_assert(r_eq(r_get(a, "flags"), "*1\r\n+multiple\r\n"));
    /* FILTERBY <MODULE m|ACLCAT c|PATTERN p>: a token on a oneof. */
    r = h_run(&h, "COMMAND DOCS command|list");
    a = r_at(r_get(r_at(r, 1), "arguments"), 0);
    cr_assert(r_is(r_get(a, "token"), "FILTERBY"));
    cr_assert(r_is(r_get(a, "type"), "oneof"));
    sub = r_get(a, "arguments");
    cr_assert_eq(r_len(sub), 3);
    cr_assert(r_is(r_get(r_at(sub, 2), "type"), "pattern"));
    cr_assert(r_is(r_get(r_at(sub, 2), "token"), "PATTERN"));
    /* The whole table parses, every command's docs well formed. */
    r = h_run(&h, "COMMAND DOCS");
    for (long long i = 1; i < r_len(r); i += 2)
        cr_assert_not_null(r_get(r_at(r, i), "group"));
    h_free(&h);
}

Test(command, help)
{
    harness h;
    h_init(&h);
    const char *r = h_run(&h, "COMMAND HELP");
    cr_assert_eq(r_len(r), 21);
    cr_assert(r_is(r_at(r, 0), "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    cr_assert(r_is(r_at(r, 1), "(no subcommand)"));
    cr_assert(r_is(r_at(r, 20), "    Prints this help."));
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* INFO */

/* The value of field in INFO text, or NULL. */
static char *info_field(const char *reply, const char *field)
{
    char key[128];
    snprintf(key, sizeof(key), "\r\n%s:", field);
    const char *p = strstr(reply, key);
    if (p == NULL) {
        snprintf(key, sizeof(key), "%s:", field);
        p = strstr(reply, key);
        if (p == NULL)
            return NULL;
        p += strlen(key);
    } else {
        p += strlen(key);
    }
    const char *e = strstr(p, "\r\n");
    return strndup(p, (size_t)(e - p));
}

static void expect_field(harness *h, const char *section, const char *field, const char *value)
{
    const char *r = h_runf(h, "INFO %s", section);
    char *v = info_field(r, field);
    cr_assert_not_null(v, "%s missing in %s", field, r);
    cr_assert_str_eq(v, value, "%s", field);
    free(v);
}

/* The "# Header" lines of an INFO reply, joined with ','. */
static void headers(const char *r, char *out, size_t cap)
{
    out[0] = '\0';
    for (const char *p = strstr(r, "# "); p; p = strstr(p + 1, "\r\n# ")) {
        if (p[0] == '\r')
            p += 2;
        const char *e = strstr(p, "\r\n");
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%.*s", n ? "," : "", (int)(e - p - 2), p + 2);
    }
}

Test(info, sections)
{
    harness h;
    h_init(&h);
    char hs[512];
    char *r = strdup(h_run(&h, "INFO"));
    cr_assert_eq(r[0], '$');
    headers(r, hs, sizeof(hs));
    cr_assert_str_eq(hs, "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Modules,"
                         "Errorstats,Cluster,Keyspace");
    /* Sections are separated by a blank line; the text ends with a field's
     * \r\n, then the bulk's. */
    cr_assert(strstr(r, "repl_backlog_histlen:0\r\n\r\n# CPU\r\n\r\n# Modules\r\n"));
    cr_assert(strstr(strstr(r, "\r\n") + 2, "# Server\r\nredis_version:7.0.15\r\n") == strstr(r, "\r\n") + 2);
    free(r);
    headers(h_run(&h, "INFO default"), hs, sizeof(hs));
    cr_assert_str_eq(hs, "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Modules,"
                         "Errorstats,Cluster,Keyspace");
    headers(h_run(&h, "INFO all"), hs, sizeof(hs));
    cr_assert_str_eq(hs, "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Modules,"
                         "Commandstats,Errorstats,Latencystats,Cluster,Keyspace");
    headers(h_run(&h, "INFO everything"), hs, sizeof(hs));
    cr_assert_str_eq(hs, "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Modules,"
                         "Commandstats,Errorstats,Latencystats,Cluster,Keyspace");
    /* Named sections in Redis's order, each once, case-insensitive. */
    headers(h_run(&h, "INFO keyspace CommandSTATS server keyspace modules"), hs, sizeof(hs));
    cr_assert_str_eq(hs, "Server,Modules,Commandstats,Keyspace");
    headers(h_run(&h, "INFO cpu default"), hs, sizeof(hs));
    cr_assert_str_eq(hs, "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Modules,"
                         "Errorstats,Cluster,Keyspace");
    headers(h_run(&h, "INFO all cpu"), hs, sizeof(hs));
    cr_assert(strstr(hs, "Commandstats") && strstr(hs, "CPU") && !strstr(hs, "CPU,CPU"));
    EXPECT(&h, "INFO nosuch", "$0\r\n\r\n");
    EXPECT(&h, "INFO keyspace", "$12\r\n# Keyspace\r\n\r\n");
    r = strdup(h_run(&h, "INFO replication"));
    cr_assert(strstr(r, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\n"
                        "master_failover_state:no-failover\r\nmaster_replid:"), "%s", r);
    cr_assert(strstr(r, "\r\nmaster_repl_offset:0\r\nsecond_repl_offset:-1\r\n"), "%s", r);
    cr_assert_null(strstr(r, "# CPU"));
    free(r);
    h_free(&h);
}

Test(info, server_section)
{
    harness h;
    h_init_at(&h, 42, 1700000000500LL);
    const char *r = h_run(&h, "INFO server");
    cr_assert(strncmp(strstr(r, "\r\n") + 2,
                      "# Server\r\nredis_version:7.0.15\r\nkeel_version:0.1.0\r\n"
                      "redis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_mode:standalone\r\n",
                      strlen("# Server\r\nredis_version:7.0.15\r\nkeel_version:0.1.0\r\n"
                             "redis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_mode:standalone\r\n")) == 0,
              "%s", r);
    char *id = info_field(r, "run_id");
    cr_assert_eq(strlen(id), 40);
    for (int i = 0; i < 40; i++)
        cr_assert(isxdigit((unsigned char)id[i]) && !isupper((unsigned char)id[i]));
    /* The same seed gives the same id; another seed another one; INFO does
     * not draw from the engine's PRNG. */
    kprng before = h.e.rng;
    harness h2;
    h_init_at(&h2, 42, 1);
    char *id2 = info_field(h_run(&h2, "INFO server"), "run_id");
    cr_assert_str_eq(id, id2);
    harness h3;
    h_init_at(&h3, 43, 1);
    char *id3 = info_field(h_run(&h3, "INFO server"), "run_id");
    cr_assert_str_neq(id, id3);
    cr_assert_eq(memcmp(&before, &h.e.rng, sizeof(before)), 0);
    free(id);
    free(id2);
    free(id3);
    h_free(&h2);
    h_free(&h3);

    expect_field(&h, "server", "uptime_in_seconds", "0");
    expect_field(&h, "server", "server_time_usec", "1700000000500000");
    expect_field(&h, "server", "hz", "10");
    expect_field(&h, "server", "configured_hz", "10");
    expect_field(&h, "server", "arch_bits", sizeof(void *) == 8 ? "64" : "32");
    char lru[32];
    snprintf(lru, sizeof(lru), "%lld", (1700000000LL) & 0xFFFFFF);
    expect_field(&h, "server", "lru_clock", lru);
    h.now_ms += 2LL * 86400 * 1000 + 3600 * 1000;
    expect_field(&h, "server", "uptime_in_seconds", "176400");
    expect_field(&h, "server", "uptime_in_days", "2");
    EXPECT(&h, "CONFIG SET hz 25", "+OK\r\n");
    expect_field(&h, "server", "hz", "25");
    h_free(&h);
}

Test(info, counters)
{
    harness h;
    h_init(&h);
    client *o = engine_client_new(&h.e, h.now_ms);
    client *k = engine_client_new(&h.e, h.now_ms);
    expect_field(&h, "clients", "connected_clients", "3");
    expect_field(&h, "clients", "blocked_clients", "0");
    EXPECT(&h, "CLIENT KILL ID 3", ":1\r\n");
    expect_field(&h, "clients", "connected_clients", "2");
    engine_client_free(&h.e, k);
    expect_field(&h, "clients", "connected_clients", "2");
    expect_field(&h, "stats", "total_connections_received", "3");

    /* Commands: calls, failures inside the command, rejections before it. */
    EXPECT(&h, "CONFIG RESETSTAT", "+OK\r\n");
    EXPECT(&h, "PING", "+PONG\r\n");
    EXPECT_AS(&h, o, "PING", "+PONG\r\n");
    EXPECT(&h, "PING a b", "-ERR wrong number of arguments for 'ping' command\r\n");
    EXPECT(&h, "ECHO", "-ERR wrong number of arguments for 'echo' command\r\n");
    EXPECT(&h, "CONFIG GET hz", "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n");
    EXPECT(&h, "NOSUCH", "-ERR unknown command 'NOSUCH', with args beginning with: \r\n");
    EXPECT(&h, "SELECT 16", "-ERR DB index is out of range\r\n");
    const char *r = h_run(&h, "INFO commandstats");
    char *want = bulk_of(
        "# Commandstats\r\n"
        "cmdstat_config|get:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\n"
        "cmdstat_config|resetstat:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=0\r\n"
        "cmdstat_echo:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n"
        "cmdstat_ping:calls=3,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1\r\n"
        "cmdstat_select:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1\r\n");
    cr_assert_str_eq(r, want);
    free(want);
    /* usec (the runtime's) and its per-call average in Redis's float. */
    ((cmd_entry *)engine_lookup_name(&h.e, "ping", 4))->stats.usec = 10;
    r = h_run(&h, "INFO commandstats");
    cr_assert(strstr(r, "cmdstat_ping:calls=3,usec=10,usec_per_call=3.33,"), "%s", r);
    expect_field(&h, "stats", "total_commands_processed", "8");
    expect_field(&h, "stats", "total_error_replies", "4");
    r = h_run(&h, "INFO errorstats");
    want = bulk_of("# Errorstats\r\nerrorstat_ERR:count=4\r\n");
    cr_assert_str_eq(r, want);
    free(want);

    /* Keyspace, hits and misses, expiry. */
    put(&h, "a", "1", -1);
    put(&h, "b", "1", h.now_ms + 1000);
    put(&h, "c", "1", h.now_ms + 1000);
    expect_field(&h, "keyspace", "db0", "keys=3,expires=2,avg_ttl=0");
    cr_assert_not_null(db_find_read(&h.e.db, "a", 1, h.now_ms));
    cr_assert_null(db_find_read(&h.e.db, "zz", 2, h.now_ms));
    h.now_ms += 2000;
    cr_assert_null(db_find_read(&h.e.db, "b", 1, h.now_ms));
    expect_field(&h, "stats", "keyspace_hits", "1");
    expect_field(&h, "stats", "keyspace_misses", "2");
    expect_field(&h, "stats", "expired_keys", "1");
    expect_field(&h, "stats", "expired_stale_perc", "0.00");
    engine_tick(&h.e, h.now_ms);
    expect_field(&h, "stats", "expired_keys", "2");
    expect_field(&h, "stats", "expired_stale_perc", "100.00");
    expect_field(&h, "keyspace", "db0", "keys=1,expires=0,avg_ttl=0");

    /* Persistence: changes since the last save. */
    expect_field(&h, "persistence", "rdb_changes_since_last_save", "0");
    put(&h, "d", "1", -1);
    EXPECT(&h, "FLUSHALL", "+OK\r\n");
    expect_field(&h, "persistence", "rdb_changes_since_last_save", "2");
    expect_field(&h, "persistence", "loading", "0");
    char t[32];
    snprintf(t, sizeof(t), "%lld", (long long)(h.e.lastsave_ms / 1000));
    expect_field(&h, "persistence", "rdb_last_save_time", t);
    /* RESETSTAT keeps the dirty count (it is not a statistic). */
    EXPECT(&h, "CONFIG RESETSTAT", "+OK\r\n");
    expect_field(&h, "persistence", "rdb_changes_since_last_save", "2");
    expect_field(&h, "stats", "keyspace_misses", "0");
    h_free(&h);
}

/* A driver's INFO provider. */
typedef struct rt_info {
    int resets;
} rt_info;

static void rt_fields(void *ctx, const engine *e, const char *section, kbuf *out)
{
    (void)ctx;
    (void)e;
    if (!strcmp(section, "memory"))
        kbuf_append(out, "used_memory:1234\r\n", 18);
    if (!strcmp(section, "raft"))
        kbuf_append(out, "raft_term:7\r\n", 13);
}

static void rt_reset(void *ctx, engine *e)
{
    (void)e;
    ((rt_info *)ctx)->resets++;
}

Test(info, provider)
{
    harness h;
    h_init(&h);
    static const char *const extra[] = {"raft", NULL};
    rt_info ri = {0};
    info_provider p = {.ctx = &ri, .fields = rt_fields, .sections = extra, .reset = rt_reset};
    h.e.info = &p;
    char *want = bulk_of("# Memory\r\nused_memory:1234\r\n");
    EXPECT(&h, "INFO memory", want);
    free(want);
    want = bulk_of("# Raft\r\nraft_term:7\r\n");
    EXPECT(&h, "INFO RAFT", want);
    free(want);
    char hs[512];
    headers(h_run(&h, "INFO"), hs, sizeof(hs));
    cr_assert_str_eq(hs, "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Modules,"
                         "Errorstats,Cluster,Keyspace");
    const char *r = h_run(&h, "INFO everything");
    headers(r, hs, sizeof(hs));
    cr_assert_str_eq(hs, "Server,Clients,Memory,Persistence,Stats,Replication,CPU,Modules,"
                         "Commandstats,Errorstats,Latencystats,Cluster,Keyspace,Raft");
    cr_assert(strstr(r, "# Memory\r\nused_memory:1234\r\n\r\n# Persistence"));
    EXPECT(&h, "CONFIG RESETSTAT", "+OK\r\n");
    cr_assert_eq(ri.resets, 1);
    h_free(&h);
}

Test(info, in_multi)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "INFO keyspace", "+QUEUED\r\n");
    EXPECT(&h, "CONFIG SET hz 11", "+QUEUED\r\n");
    EXPECT(&h, "DBSIZE", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*3\r\n$12\r\n# Keyspace\r\n\r\n+OK\r\n:0\r\n");
    cr_assert_eq(h.e.cfg.hz, 11);
    h_free(&h);
}

Test(function, flush_list_stats_without_scripting)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "FUNCTION FLUSH", "+OK\r\n");
    EXPECT(&h, "FUNCTION FLUSH async", "+OK\r\n");
    EXPECT(&h, "FUNCTION FLUSH x", "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n");
    EXPECT(&h, "FUNCTION LIST", "*0\r\n");
    EXPECT(&h, "FUNCTION LIST WITHCODE LIBRARYNAME x*", "*0\r\n");
    EXPECT(&h, "FUNCTION LIST LIBRARYNAME", "-ERR library name argument was not given\r\n");
    EXPECT(&h, "FUNCTION LIST foo", "-ERR Unknown argument foo\r\n");
    EXPECT(&h, "FUNCTION STATS",
           "*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n"
           "*4\r\n$15\r\nlibraries_count\r\n:0\r\n$15\r\nfunctions_count\r\n:0\r\n");
    EXPECT(&h, "FUNCTION LOAD x", "-ERR unknown subcommand 'LOAD'. Try FUNCTION HELP.\r\n");
    EXPECT(&h, "FUNCTION", "-ERR wrong number of arguments for 'function' command\r\n");
    h_free(&h);
}

Test(debug, reload_keeps_data_and_digest)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "DEBUG DIGEST", "+0000000000000000000000000000000000000000\r\n");
    EXPECT(&h, "SET s hello", "+OK\r\n");
    EXPECT(&h, "SET n 42 PX 100000", "+OK\r\n");
    EXPECT(&h, "HSET h a 1 b 2", ":2\r\n");
    EXPECT(&h, "SELECT 4", "+OK\r\n");
    EXPECT(&h, "SET other x", "+OK\r\n");
    EXPECT(&h, "SELECT 0", "+OK\r\n");
    char before[64];
    snprintf(before, sizeof(before), "%s", h_run(&h, "DEBUG DIGEST"));
    cr_assert_eq(strlen(before), 43);
    EXPECT(&h, "DEBUG RELOAD", "+OK\r\n");
    EXPECT(&h, "DEBUG DIGEST", before);
    EXPECT(&h, "DEBUG LOADAOF", "+OK\r\n");
    EXPECT(&h, "DEBUG DIGEST", before);
    EXPECT(&h, "GET s", "$5\r\nhello\r\n");
    EXPECT(&h, "PTTL n", ":100000\r\n");
    EXPECT(&h, "HGET h b", "$1\r\n2\r\n");
    EXPECT(&h, "SELECT 4", "+OK\r\n");
    EXPECT(&h, "GET other", "$1\r\nx\r\n");
    /* Any change changes the digest; undoing it restores it. */
    EXPECT(&h, "SET other y", "+OK\r\n");
    cr_assert_str_neq(h_run(&h, "DEBUG DIGEST"), before);
    EXPECT(&h, "SET other x", "+OK\r\n");
    EXPECT(&h, "DEBUG DIGEST", before);
    h_free(&h);
}

Test(debug, digest_value_ignores_encoding)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET a 123", "+OK\r\n");
    EXPECT(&h, "SET b 12", "+OK\r\n");
    EXPECT(&h, "APPEND b 3", ":3\r\n"); /* raw "123" */
    char da[64], dbv[64];
    snprintf(da, sizeof(da), "%s", h_run(&h, "DEBUG DIGEST-VALUE a"));
    snprintf(dbv, sizeof(dbv), "%s", h_run(&h, "DEBUG DIGEST-VALUE b"));
    cr_assert_str_eq(da, dbv);
    EXPECT(&h, "DEBUG DIGEST-VALUE nosuch",
           "*1\r\n+0000000000000000000000000000000000000000\r\n");
    h_free(&h);
}

Test(debug, set_active_expire_stops_the_cycle)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "DEBUG SET-ACTIVE-EXPIRE 0", "+OK\r\n");
    for (int i = 0; i < 50; i++)
        h_runf(&h, "SET k%d v PX 10", i);
    h.now_ms += 1000;
    for (int i = 0; i < 10; i++)
        engine_tick(&h.e, h.now_ms);
    cr_assert_eq(db_size(&h.e.db), 50);
    EXPECT(&h, "DEBUG SET-ACTIVE-EXPIRE 1", "+OK\r\n");
    for (int i = 0; i < 10; i++)
        engine_tick(&h.e, h.now_ms);
    cr_assert_eq(db_size(&h.e.db), 0);
    h_free(&h);
}

Test(shutdown, asks_the_driver_to_stop)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SHUTDOWN ABORT", "-ERR No shutdown in progress.\r\n");
    EXPECT(&h, "SHUTDOWN SAVE NOSAVE", "-ERR syntax error\r\n");
    EXPECT(&h, "SHUTDOWN BOGUS", "-ERR syntax error\r\n");
    cr_assert_not(h.e.shutdown_requested);
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "SHUTDOWN", "-ERR Command not allowed inside a transaction\r\n");
    EXPECT(&h, "DISCARD", "+OK\r\n");
    EXPECT(&h, "SHUTDOWN NOSAVE NOW", "");
    cr_assert(h.e.shutdown_requested);
    cr_assert(h.c->flags & CLIENT_CLOSE_AFTER_REPLY);
    h_free(&h);
}

Test(memory, usage_and_copy_digests)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "MEMORY USAGE nosuch", "$-1\r\n");
    EXPECT(&h, "SET s hello", "+OK\r\n");
    const char *r = h_run(&h, "MEMORY USAGE s");
    cr_assert_eq(r[0], ':', "%s", r);
    cr_assert_gt(atoll(r + 1), 5);
    EXPECT(&h, "MEMORY USAGE s SAMPLES x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "MEMORY USAGE s FOO", "-ERR syntax error\r\n");
    /* A copy of a list, set or sorted set digests like its source. */
    EXPECT(&h, "RPUSH l a b c", ":3\r\n");
    EXPECT(&h, "SADD st x y", ":2\r\n");
    EXPECT(&h, "ZADD z 1 a 2 b", ":2\r\n");
    const char *pairs[][2] = {{"l", "l2"}, {"st", "st2"}, {"z", "z2"}};
    for (int i = 0; i < 3; i++) {
        char cmd[64], a[64];
        snprintf(cmd, sizeof(cmd), "COPY %s %s", pairs[i][0], pairs[i][1]);
        EXPECT(&h, cmd, ":1\r\n");
        snprintf(cmd, sizeof(cmd), "DEBUG DIGEST-VALUE %s", pairs[i][0]);
        snprintf(a, sizeof(a), "%s", h_run(&h, cmd));
        snprintf(cmd, sizeof(cmd), "DEBUG DIGEST-VALUE %s", pairs[i][1]);
        cr_assert_str_eq(h_run(&h, cmd), a, "%s", pairs[i][0]);
        cr_assert_str_neq(a, "*1\r\n+0000000000000000000000000000000000000000\r\n");
    }
    h_free(&h);
}

Test(debug, set_digest_ignores_member_order)
{
    harness h;
    h_init(&h);
    /* Hashtable sets (a non-integer member) filled in opposite orders, and
     * a COPY whose table may iterate differently: one digest. */
    EXPECT(&h, "SADD h1 1 2 3 a", ":4\r\n");
    EXPECT(&h, "SADD h2 a 3 2 1", ":4\r\n");
    for (int i = 0; i < 200; i++)
        h_runf(&h, "SADD big m%d", i);
    for (int i = 199; i >= 0; i--)
        h_runf(&h, "SADD big2 m%d", i);
    EXPECT(&h, "COPY h1 h3", ":1\r\n");
    char a[128];
    snprintf(a, sizeof(a), "%s", h_run(&h, "DEBUG DIGEST-VALUE h1"));
    cr_assert_str_eq(h_run(&h, "DEBUG DIGEST-VALUE h2"), a);
    cr_assert_str_eq(h_run(&h, "DEBUG DIGEST-VALUE h3"), a);
    snprintf(a, sizeof(a), "%s", h_run(&h, "DEBUG DIGEST-VALUE big"));
    cr_assert_str_eq(h_run(&h, "DEBUG DIGEST-VALUE big2"), a);
    /* A different member changes it. */
    EXPECT(&h, "SREM big2 m7", ":1\r\n");
    cr_assert_str_neq(h_run(&h, "DEBUG DIGEST-VALUE big2"), a);
    h_free(&h);
}

Test(debug, quicklist_packed_threshold_is_checked_as_redis)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "DEBUG QUICKLIST-PACKED-THRESHOLD 1b", "+OK\r\n");
    EXPECT(&h, "DEBUG QUICKLIST-PACKED-THRESHOLD 0", "+OK\r\n");
    EXPECT(&h, "DEBUG QUICKLIST-PACKED-THRESHOLD 100mb", "+OK\r\n");
    EXPECT(&h, "DEBUG QUICKLIST-PACKED-THRESHOLD abc",
           "-ERR argument must be a memory value bigger than 1 and smaller than 4gb\r\n");
    EXPECT(&h, "DEBUG QUICKLIST-PACKED-THRESHOLD 5gb",
           "-ERR argument must be a memory value bigger than 1 and smaller than 4gb\r\n");
    /* Big elements behave as any other. */
    EXPECT(&h, "DEBUG QUICKLIST-PACKED-THRESHOLD 1b", "+OK\r\n");
    char big[600];
    memset(big, 'a', 500);
    big[500] = '\0';
    cr_assert_str_eq(h_runf(&h, "RPUSH l %s x %s", big, big), ":3\r\n");
    EXPECT(&h, "LINDEX l 1", "$1\r\nx\r\n");
    h_free(&h);
}

Test(info, instantaneous_ops_per_sec_samples_every_100ms)
{
    harness h;
    h_init(&h);
    engine_tick(&h.e, h.now_ms); /* the first sample's start */
    for (int i = 0; i < 50; i++)
        h_runf(&h, "SET k%d v", i);
    h.now_ms += 100;
    engine_tick(&h.e, h.now_ms); /* 50 commands in 100 ms: 500/s */
    /* The mean of 16 samples, 15 of them still 0. */
    cr_assert(strstr(h_run(&h, "INFO stats"), "\r\ninstantaneous_ops_per_sec:31\r\n"), "%s", h.last);
    for (int i = 0; i < 15; i++) {
        for (int j = 0; j < 50; j++)
            h_run(&h, "PING");
        h.now_ms += 100;
        engine_tick(&h.e, h.now_ms);
    }
    /* Each window also counts the INFO (or nothing): 500 or 510 per s. */
    const char *r = strstr(h_run(&h, "INFO stats"), "instantaneous_ops_per_sec:");
    cr_assert_not_null(r);
    long v = atol(r + strlen("instantaneous_ops_per_sec:"));
    cr_assert(v >= 500 && v <= 510, "%ld", v);
    h_free(&h);
}

/* SAVE, BGSAVE, BGREWRITEAOF hand the work to the driver's hook and turn
 * its answer into Redis's replies. */
static int snap_calls;
static bool snap_busy;
static const char *fake_snapshot(void *ctx, engine *e, bool background, bool schedule)
{
    (void)ctx;
    (void)e;
    snap_calls++;
    if (!snap_busy)
        return NULL;
    if (background && schedule)
        return "+Background saving scheduled";
    return "-ERR Background save already in progress";
}

Test(server, save_and_bgsave_replies)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SAVE", "-ERR snapshots are not available without a runtime\r\n");
    h.e.snapshot = fake_snapshot;
    EXPECT(&h, "SAVE", "+OK\r\n");
    EXPECT(&h, "BGSAVE", "+Background saving started\r\n");
    EXPECT(&h, "BGREWRITEAOF", "+Background append only file rewriting started\r\n");
    snap_busy = true;
    EXPECT(&h, "SAVE", "-ERR Background save already in progress\r\n");
    EXPECT(&h, "BGSAVE", "-ERR Background save already in progress\r\n");
    /* SCHEDULE waits only behind another kind of child (Redis): keel's
     * are all snapshots. */
    EXPECT(&h, "BGSAVE SCHEDULE", "-ERR Background save already in progress\r\n");
    EXPECT(&h, "BGREWRITEAOF", "+Background append only file rewriting scheduled\r\n");
    int calls = snap_calls;
    EXPECT(&h, "BGSAVE NOW", "-ERR syntax error\r\n");
    cr_assert_eq(snap_calls, calls, "a syntax error never reaches the driver");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "SAVE", "-ERR Command not allowed inside a transaction\r\n");
    EXPECT(&h, "DISCARD", "+OK\r\n");
}
