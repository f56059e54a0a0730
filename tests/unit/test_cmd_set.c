/* The set commands against Redis 7.0's replies, byte for byte: every
 * command, option and error, WRONGTYPE, the intset -> hashtable
 * conversions, the SPOP/SRANDMEMBER code paths, binary members, WATCH and
 * the dirty counter. Redis's tests/unit/type/set.tcl is the checklist. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "engine_harness.h"

#include "core/store/set.h"

/* ------------------------------------------------------------------------ */
/* Helpers */

static int key_enc(harness *h, const char *key)
{
    kentry *e = db_find(&h->e.db, key, strlen(key), h->now_ms);
    return e ? kentry_enc(e) : -1;
}

static bool key_exists(harness *h, const char *key)
{
    return db_find(&h->e.db, key, strlen(key), h->now_ms) != NULL;
}

#define MAX_ELEMS 4096
typedef struct elems {
    int n;
    char *s[MAX_ELEMS];
    size_t len[MAX_ELEMS];
} elems;

static long long read_num(const char **p)
{
    char *end;
    long long v = strtoll(*p, &end, 10);
    cr_assert(end[0] == '\r' && end[1] == '\n', "bad number line");
    *p = end + 2;
    return v;
}

/* Parses a flat array of bulks starting at p; returns the end. */
static const char *parse_bulks_at(const char *p, const char *end, elems *out)
{
    out->n = 0;
    cr_assert(*p == '*', "not an array: %s", p);
    p++;
    long long n = read_num(&p);
    cr_assert(n <= MAX_ELEMS);
    for (long long i = 0; i < n; i++) {
        cr_assert(p < end && *p == '$', "element %lld is not a bulk", i);
        p++;
        long long l = read_num(&p);
        cr_assert(l >= 0 && p + l + 2 <= end);
        out->s[out->n] = malloc((size_t)l + 1);
        memcpy(out->s[out->n], p, (size_t)l);
        out->s[out->n][l] = '\0';
        out->len[out->n] = (size_t)l;
        out->n++;
        p += l + 2;
    }
    return p;
}

static void elems_free(elems *e)
{
    for (int i = 0; i < e->n; i++)
        free(e->s[i]);
    e->n = 0;
}

static int run_bulks(harness *h, const char *line, elems *out)
{
    h_run(h, line);
    const char *end = parse_bulks_at(h->out.data, h->out.data + h->out.len, out);
    cr_assert(end == h->out.data + h->out.len, "trailing bytes: %s", line);
    return out->n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The reply's elements sorted and joined by spaces ("" if none). */
static char sorted_buf[1 << 16];
static const char *sorted(harness *h, const char *line)
{
    elems e;
    run_bulks(h, line, &e);
    qsort(e.s, (size_t)e.n, sizeof(char *), cmp_str);
    size_t o = 0;
    sorted_buf[0] = '\0';
    for (int i = 0; i < e.n; i++) {
        size_t l = strlen(e.s[i]);
        cr_assert(o + l + 2 < sizeof(sorted_buf));
        if (i)
            sorted_buf[o++] = ' ';
        memcpy(sorted_buf + o, e.s[i], l);
        o += l;
        sorted_buf[o] = '\0';
    }
    elems_free(&e);
    return sorted_buf;
}

#define EXPECT_SORTED(h, line, want)                                                             \
    cr_assert_str_eq(sorted((h), (line)), (want), "%s", (line))

static bool has(const elems *e, const char *s)
{
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->s[i], s) == 0)
            return true;
    return false;
}

static bool all_distinct(const elems *e)
{
    for (int i = 0; i < e->n; i++)
        for (int j = i + 1; j < e->n; j++)
            if (strcmp(e->s[i], e->s[j]) == 0)
                return false;
    return true;
}

/* Adds members prefix0..prefix(n-1) (or 0..n-1 if prefix is ""). */
static void fill(harness *h, const char *key, const char *prefix, int from, int n)
{
    for (int i = from; i < from + n; i++)
        h_runf(h, "SADD %s %s%d", key, prefix, i);
}

/* ------------------------------------------------------------------------ */
/* SADD SREM SCARD SISMEMBER SMISMEMBER SMEMBERS */

Test(set, sadd_scard_sismember_intset)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD s 16", ":1\r\n");
    EXPECT(&h, "SADD s 16", ":0\r\n");
    EXPECT(&h, "SADD s 17 16 -5 17", ":2\r\n");
    cr_assert_eq(key_enc(&h, "s"), ENC_INTSET);
    EXPECT(&h, "OBJECT ENCODING s", "$6\r\nintset\r\n");
    EXPECT(&h, "TYPE s", "+set\r\n");
    EXPECT(&h, "SCARD s", ":3\r\n");
    EXPECT(&h, "SCARD nokey", ":0\r\n");
    EXPECT(&h, "SISMEMBER s 16", ":1\r\n");
    EXPECT(&h, "SISMEMBER s 15", ":0\r\n");
    EXPECT(&h, "SISMEMBER s abc", ":0\r\n");
    EXPECT(&h, "SISMEMBER s 016", ":0\r\n"); /* not canonical: not the integer */
    EXPECT(&h, "SISMEMBER nokey a", ":0\r\n");
    /* An intset replies in ascending order. */
    EXPECT(&h, "SMEMBERS s", "*3\r\n$2\r\n-5\r\n$2\r\n16\r\n$2\r\n17\r\n");
    EXPECT(&h, "SMEMBERS nokey", "*0\r\n");
    h_free(&h);
}

Test(set, sadd_non_integer_converts_to_hashtable)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD s 1 2 3", ":3\r\n");
    cr_assert_eq(key_enc(&h, "s"), ENC_INTSET);
    EXPECT(&h, "SADD s a", ":1\r\n");
    cr_assert_eq(key_enc(&h, "s"), ENC_HASHTABLE);
    EXPECT(&h, "OBJECT ENCODING s", "$9\r\nhashtable\r\n");
    EXPECT_SORTED(&h, "SMEMBERS s", "1 2 3 a");
    EXPECT(&h, "SISMEMBER s 2", ":1\r\n");
    /* A first member that is not an integer: a hashtable from the start. */
    EXPECT(&h, "SADD t foo", ":1\r\n");
    cr_assert_eq(key_enc(&h, "t"), ENC_HASHTABLE);
    /* Non-canonical integers are strings. */
    EXPECT(&h, "SADD u 01", ":1\r\n");
    cr_assert_eq(key_enc(&h, "u"), ENC_HASHTABLE);
    EXPECT(&h, "SADD v \" 1\"", ":1\r\n");
    cr_assert_eq(key_enc(&h, "v"), ENC_HASHTABLE);
    EXPECT(&h, "SADD w 9223372036854775808", ":1\r\n"); /* past LLONG_MAX */
    cr_assert_eq(key_enc(&h, "w"), ENC_HASHTABLE);
    EXPECT(&h, "SADD x -9223372036854775808 9223372036854775807", ":2\r\n");
    cr_assert_eq(key_enc(&h, "x"), ENC_INTSET);
    EXPECT(&h, "SMEMBERS x",
           "*2\r\n$20\r\n-9223372036854775808\r\n$19\r\n9223372036854775807\r\n");
    h_free(&h);
}

Test(set, intset_converts_past_max_entries)
{
    harness h;
    h_init(&h);
    fill(&h, "s", "", 0, 512);
    cr_assert_eq(key_enc(&h, "s"), ENC_INTSET);
    EXPECT(&h, "SADD s 511", ":0\r\n");
    cr_assert_eq(key_enc(&h, "s"), ENC_INTSET);
    EXPECT(&h, "SADD s 512", ":1\r\n");
    cr_assert_eq(key_enc(&h, "s"), ENC_HASHTABLE);
    EXPECT(&h, "SCARD s", ":513\r\n");
    EXPECT(&h, "SISMEMBER s 300", ":1\r\n");
    /* The threshold is configurable, and 0 means no intset at all. */
    EXPECT(&h, "CONFIG SET set-max-intset-entries 3", "+OK\r\n");
    EXPECT(&h, "CONFIG GET set-max-intset-entries",
           "*2\r\n$22\r\nset-max-intset-entries\r\n$1\r\n3\r\n");
    EXPECT(&h, "SADD t 1 2 3", ":3\r\n");
    cr_assert_eq(key_enc(&h, "t"), ENC_INTSET);
    EXPECT(&h, "SADD t 4", ":1\r\n");
    cr_assert_eq(key_enc(&h, "t"), ENC_HASHTABLE);
    EXPECT(&h, "CONFIG SET set-max-intset-entries 0", "+OK\r\n");
    EXPECT(&h, "SADD u 1", ":1\r\n");
    cr_assert_eq(key_enc(&h, "u"), ENC_HASHTABLE);
    /* A hashtable never goes back on removals. */
    EXPECT(&h, "SREM t 4", ":1\r\n");
    cr_assert_eq(key_enc(&h, "t"), ENC_HASHTABLE);
    h_free(&h);
}

Test(set, config_default)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "CONFIG GET set-max-intset-entries",
           "*2\r\n$22\r\nset-max-intset-entries\r\n$3\r\n512\r\n");
    EXPECT(&h, "CONFIG SET set-max-intset-entries -1",
           "-ERR CONFIG SET failed (possibly related to argument 'set-max-intset-entries') - "
           "argument must be between 0 and 9223372036854775807 inclusive\r\n");
    h_free(&h);
}

Test(set, srem)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SREM nokey a", ":0\r\n");
    EXPECT(&h, "SADD s 3 4 5", ":3\r\n");
    EXPECT(&h, "SREM s 0", ":0\r\n");
    EXPECT(&h, "SREM s x", ":0\r\n");
    EXPECT(&h, "SREM s 4", ":1\r\n");
    EXPECT(&h, "SMEMBERS s", "*2\r\n$1\r\n3\r\n$1\r\n5\r\n");
    EXPECT(&h, "SADD t a b c", ":3\r\n");
    EXPECT(&h, "SREM t a c c x", ":2\r\n");
    EXPECT(&h, "SMEMBERS t", "*1\r\n$1\r\nb\r\n");
    /* Removing the last member deletes the key. */
    EXPECT(&h, "SREM t b a", ":1\r\n");
    cr_assert_not(key_exists(&h, "t"));
    EXPECT(&h, "EXISTS t", ":0\r\n");
    EXPECT(&h, "SREM s 3 5 7", ":2\r\n");
    cr_assert_not(key_exists(&h, "s"));
    h_free(&h);
}

Test(set, smismember)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD s a b 1", ":3\r\n");
    EXPECT(&h, "SMISMEMBER s a x 1 b", "*4\r\n:1\r\n:0\r\n:1\r\n:1\r\n");
    EXPECT(&h, "SMISMEMBER nokey a b", "*2\r\n:0\r\n:0\r\n");
    EXPECT(&h, "SADD i 1 2", ":2\r\n");
    EXPECT(&h, "SMISMEMBER i 1 3 x", "*3\r\n:1\r\n:0\r\n:0\r\n");
    EXPECT(&h, "SMISMEMBER s", "-ERR wrong number of arguments for 'smismember' command\r\n");
    h_free(&h);
}

Test(set, binary_members)
{
    harness h;
    h_init(&h);
    resp_slice argv[5] = {
        {"SADD", 4}, {"s", 1}, {"a\0b", 3}, {"\r\n", 2}, {"", 0},
    };
    h_runv_as(&h, h.c, 5, argv);
    cr_assert_str_eq(h.last, ":3\r\n");
    resp_slice ism[3] = {{"SISMEMBER", 9}, {"s", 1}, {"a\0b", 3}};
    h_runv_as(&h, h.c, 3, ism);
    cr_assert_str_eq(h.last, ":1\r\n");
    resp_slice ism2[3] = {{"SISMEMBER", 9}, {"s", 1}, {"a", 1}};
    h_runv_as(&h, h.c, 3, ism2);
    cr_assert_str_eq(h.last, ":0\r\n");
    EXPECT(&h, "SISMEMBER s \"\"", ":1\r\n");
    EXPECT(&h, "SCARD s", ":3\r\n");
    h_run(&h, "SMEMBERS s");
    cr_assert_eq(h.out.len, strlen("*3\r\n") + strlen("$3\r\n") + 3 + 2 + strlen("$2\r\n\r\n\r\n") +
                                strlen("$0\r\n\r\n"));
    cr_assert_not_null(memmem(h.out.data, h.out.len, "$3\r\na\0b\r\n", 9));
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* WRONGTYPE */

Test(set, wrongtype)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET str x", "+OK\r\n");
    EXPECT(&h, "SADD s a", ":1\r\n");
    const char *wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    EXPECT(&h, "SADD str a", wt);
    EXPECT(&h, "SREM str a", wt);
    EXPECT(&h, "SCARD str", wt);
    EXPECT(&h, "SISMEMBER str a", wt);
    EXPECT(&h, "SMISMEMBER str a", wt);
    EXPECT(&h, "SMEMBERS str", wt);
    EXPECT(&h, "SPOP str", wt);
    EXPECT(&h, "SPOP str 2", wt);
    EXPECT(&h, "SRANDMEMBER str", wt);
    EXPECT(&h, "SRANDMEMBER str 2", wt);
    EXPECT(&h, "SSCAN str 0", wt);
    EXPECT(&h, "SINTER s str", wt);
    EXPECT(&h, "SINTER nokey str", wt); /* every key is checked */
    EXPECT(&h, "SINTERCARD 2 s str", wt);
    EXPECT(&h, "SINTERSTORE d s str", wt);
    EXPECT(&h, "SUNION s str", wt);
    EXPECT(&h, "SUNIONSTORE d s str", wt);
    EXPECT(&h, "SDIFF s str", wt);
    EXPECT(&h, "SDIFF nokey str", wt);
    EXPECT(&h, "SDIFFSTORE d s str", wt);
    cr_assert_not(key_exists(&h, "d"));
    /* A set answers other types' commands with WRONGTYPE. */
    EXPECT(&h, "GET s", wt);
    EXPECT(&h, "HGET s a", wt);
    /* Storing commands overwrite whatever the destination holds. */
    EXPECT(&h, "SUNIONSTORE str s", ":1\r\n");
    EXPECT(&h, "TYPE str", "+set\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* SMOVE */

Test(set, smove_basics)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD src a b 1", ":3\r\n");
    EXPECT(&h, "SADD dst 2 3", ":2\r\n");
    EXPECT(&h, "SMOVE src dst a", ":1\r\n");
    EXPECT_SORTED(&h, "SMEMBERS src", "1 b");
    EXPECT_SORTED(&h, "SMEMBERS dst", "2 3 a");
    cr_assert_eq(key_enc(&h, "dst"), ENC_HASHTABLE); /* a string converted it */
    EXPECT(&h, "SMOVE src dst nope", ":0\r\n");
    EXPECT(&h, "SMOVE nokey dst a", ":0\r\n");
    /* Into a new key. */
    EXPECT(&h, "SMOVE src newkey 1", ":1\r\n");
    EXPECT(&h, "SMEMBERS newkey", "*1\r\n$1\r\n1\r\n");
    cr_assert_eq(key_enc(&h, "newkey"), ENC_INTSET);
    /* Already in the destination: removed from the source only. */
    EXPECT(&h, "SADD dst b", ":1\r\n");
    EXPECT(&h, "SMOVE src dst b", ":1\r\n");
    cr_assert_not(key_exists(&h, "src")); /* the last member left */
    EXPECT(&h, "SCARD dst", ":4\r\n");
    h_free(&h);
}

Test(set, smove_same_key_and_types)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD s a b", ":2\r\n");
    EXPECT(&h, "SMOVE s s a", ":1\r\n");
    EXPECT(&h, "SMOVE s s x", ":0\r\n");
    EXPECT(&h, "SCARD s", ":2\r\n");
    EXPECT(&h, "SET str x", "+OK\r\n");
    const char *wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    EXPECT(&h, "SMOVE str s a", wt);
    EXPECT(&h, "SMOVE s str a", wt);
    EXPECT(&h, "SMOVE nokey str a", ":0\r\n"); /* a missing source wins */
    EXPECT(&h, "SMOVE str str a", wt);
    EXPECT(&h, "SCARD s", ":2\r\n");
    h_free(&h);
}

Test(set, smove_dirty_and_watch)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD src a b", ":2\r\n");
    EXPECT(&h, "SADD dst a", ":1\r\n");
    uint64_t d0 = h.e.stats.dirty;
    EXPECT(&h, "SMOVE src dst a", ":1\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 1);
    EXPECT(&h, "SMOVE src dst b", ":1\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 3);
    EXPECT(&h, "SMOVE dst dst b", ":1\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 3);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* SPOP */

Test(set, spop_single)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SPOP nokey", "$-1\r\n");
    EXPECT(&h, "SADD s 1 2 3", ":3\r\n");
    elems seen = {0};
    for (int i = 0; i < 3; i++) {
        h_run(&h, "SPOP s");
        cr_assert(h.last[0] == '$');
        seen.s[seen.n] = strdup(h.last);
        seen.n++;
    }
    cr_assert(all_distinct(&seen));
    elems_free(&seen);
    cr_assert_not(key_exists(&h, "s"));
    EXPECT(&h, "SPOP s", "$-1\r\n");
    EXPECT(&h, "SADD t a b c", ":3\r\n");
    h_run(&h, "SPOP t");
    EXPECT(&h, "SCARD t", ":2\r\n");
    EXPECT(&h, "SPOP t 1 2", "-ERR syntax error\r\n");
    h_free(&h);
}

Test(set, spop_count_errors_and_edges)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD s a b c", ":3\r\n");
    EXPECT(&h, "SPOP s -1", "-ERR value is out of range, must be positive\r\n");
    EXPECT(&h, "SPOP s x", "-ERR value is out of range, must be positive\r\n");
    EXPECT(&h, "SPOP s 1.5", "-ERR value is out of range, must be positive\r\n");
    EXPECT(&h, "SPOP nokey -1", "-ERR value is out of range, must be positive\r\n");
    EXPECT(&h, "SPOP nokey 3", "*0\r\n");
    EXPECT(&h, "SPOP s 0", "*0\r\n");
    EXPECT(&h, "SCARD s", ":3\r\n");
    EXPECT(&h, "SET str x", "+OK\r\n");
    EXPECT(&h, "SPOP str -1", "-ERR value is out of range, must be positive\r\n");
    /* All of it (and more): the key goes. */
    EXPECT_SORTED(&h, "SPOP s 10", "a b c");
    cr_assert_not(key_exists(&h, "s"));
    EXPECT(&h, "SADD i 3 1 2", ":3\r\n");
    EXPECT(&h, "SPOP i 3", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    cr_assert_not(key_exists(&h, "i"));
    h_free(&h);
}

/* Pops count of n members (both SPOP count paths) and checks the reply
 * and what is left partition the original set. */
static void check_spop_path(harness *h, const char *prefix, int n, int count, int enc)
{
    h_run(h, "DEL s");
    fill(h, "s", prefix, 0, n);
    cr_assert_eq(key_enc(h, "s"), enc);
    elems popped, left;
    char line[64];
    snprintf(line, sizeof(line), "SPOP s %d", count);
    run_bulks(h, line, &popped);
    cr_assert_eq(popped.n, count);
    cr_assert(all_distinct(&popped));
    run_bulks(h, "SMEMBERS s", &left);
    cr_assert_eq(left.n, n - count);
    for (int i = 0; i < n; i++) {
        char m[32];
        snprintf(m, sizeof(m), "%s%d", prefix, i);
        cr_assert(has(&popped, m) != has(&left, m), "%s in exactly one", m);
    }
    elems_free(&popped);
    elems_free(&left);
}

Test(set, spop_count_code_paths)
{
    harness h;
    h_init(&h);
    /* CASE 2 (remaining * 5 > count) and CASE 3, intset and hashtable. */
    check_spop_path(&h, "", 100, 10, ENC_INTSET);
    check_spop_path(&h, "", 100, 90, ENC_INTSET);
    check_spop_path(&h, "m", 100, 10, ENC_HASHTABLE);
    check_spop_path(&h, "m", 100, 90, ENC_HASHTABLE);
    check_spop_path(&h, "m", 600, 599, ENC_HASHTABLE);
    check_spop_path(&h, "", 600, 1, ENC_HASHTABLE);
    h_free(&h);
}

Test(set, spop_case3_rebuilds_and_keeps_ttl)
{
    harness h;
    h_init(&h);
    /* A hashtable (made by a string member, now gone) whose remaining
     * members are integers comes back as an intset, as in Redis. */
    fill(&h, "s", "", 0, 20);
    EXPECT(&h, "SADD s x", ":1\r\n");
    EXPECT(&h, "SREM s x", ":1\r\n");
    cr_assert_eq(key_enc(&h, "s"), ENC_HASHTABLE);
    EXPECT(&h, "EXPIRE s 100", ":1\r\n");
    h_run(&h, "SPOP s 18");
    EXPECT(&h, "SCARD s", ":2\r\n");
    cr_assert_eq(key_enc(&h, "s"), ENC_INTSET);
    EXPECT(&h, "TTL s", ":100\r\n");
    h_free(&h);
}

Test(set, spop_dirty)
{
    harness h;
    h_init(&h);
    fill(&h, "s", "", 0, 10);
    uint64_t d0 = h.e.stats.dirty;
    h_run(&h, "SPOP s");
    cr_assert_eq(h.e.stats.dirty - d0, 1);
    h_run(&h, "SPOP s 3");
    cr_assert_eq(h.e.stats.dirty - d0, 4);
    h_run(&h, "SPOP s 0");
    cr_assert_eq(h.e.stats.dirty - d0, 4);
    h_run(&h, "SPOP s 100");
    cr_assert_eq(h.e.stats.dirty - d0, 10);
    h_free(&h);
}

Test(set, spop_is_deterministic_per_seed)
{
    char *first = NULL;
    for (int round = 0; round < 2; round++) {
        harness h;
        h_init(&h);
        fill(&h, "s", "m", 0, 200);
        h_run(&h, "SPOP s 7");
        h_run(&h, "SPOP s");
        h_run(&h, "SRANDMEMBER s 5");
        if (round == 0)
            first = strdup(h.last);
        else
            cr_assert_str_eq(h.last, first);
        h_free(&h);
    }
    free(first);
}

/* ------------------------------------------------------------------------ */
/* SRANDMEMBER */

Test(set, srandmember_no_count)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SRANDMEMBER nokey", "$-1\r\n");
    EXPECT(&h, "SADD s a", ":1\r\n");
    EXPECT(&h, "SRANDMEMBER s", "$1\r\na\r\n");
    EXPECT(&h, "SADD i 7", ":1\r\n");
    EXPECT(&h, "SRANDMEMBER i", "$1\r\n7\r\n");
    EXPECT(&h, "SRANDMEMBER s 1 2", "-ERR syntax error\r\n");
    EXPECT(&h, "SCARD s", ":1\r\n");
    h_free(&h);
}

Test(set, srandmember_count_errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD s a", ":1\r\n");
    EXPECT(&h, "SRANDMEMBER s x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "SRANDMEMBER s -9223372036854775808",
           "-ERR value is out of range, value must between -9223372036854775807 and "
           "9223372036854775807\r\n");
    EXPECT(&h, "SRANDMEMBER nokey x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "SRANDMEMBER nokey 5", "*0\r\n");
    EXPECT(&h, "SRANDMEMBER nokey -5", "*0\r\n");
    EXPECT(&h, "SRANDMEMBER s 0", "*0\r\n");
    EXPECT(&h, "SRANDMEMBER nokey 0", "*0\r\n");
    h_free(&h);
}

/* Checks SRANDMEMBER count on a set of n members named prefixI. */
static void check_srandmember(harness *h, const char *prefix, int n, int enc)
{
    h_run(h, "DEL s");
    fill(h, "s", prefix, 0, n);
    cr_assert_eq(key_enc(h, "s"), enc);
    int counts[] = {1, 2, 3, n / 4, n / 3 + 1, n / 2, n - 1, n, n + 10};
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        int count = counts[c];
        if (count < 1)
            continue;
        elems e;
        char line[64];
        snprintf(line, sizeof(line), "SRANDMEMBER s %d", count);
        run_bulks(h, line, &e);
        cr_assert_eq(e.n, count < n ? count : n, "%s", line);
        cr_assert(all_distinct(&e), "%s", line);
        for (int i = 0; i < e.n; i++)
            cr_assert(strncmp(e.s[i], prefix, strlen(prefix)) == 0);
        elems_free(&e);
        /* Negative: exactly |count| draws, repeats allowed. */
        snprintf(line, sizeof(line), "SRANDMEMBER s -%d", count);
        run_bulks(h, line, &e);
        cr_assert_eq(e.n, count, "%s", line);
        elems_free(&e);
    }
    char want[32];
    snprintf(want, sizeof(want), ":%d\r\n", n); /* nothing was removed */
    EXPECT(h, "SCARD s", want);
}

Test(set, srandmember_count_paths_both_encodings)
{
    harness h;
    h_init(&h);
    check_srandmember(&h, "", 50, ENC_INTSET);
    check_srandmember(&h, "m", 50, ENC_HASHTABLE);
    check_srandmember(&h, "m", 1000, ENC_HASHTABLE); /* CASE 4: few of many */
    check_srandmember(&h, "", 1000, ENC_HASHTABLE);
    h_free(&h);
}

Test(set, srandmember_negative_count_repeats)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD s a b", ":2\r\n");
    elems e;
    run_bulks(&h, "SRANDMEMBER s -100", &e);
    cr_assert_eq(e.n, 100);
    cr_assert(has(&e, "a") && has(&e, "b"));
    elems_free(&e);
    EXPECT(&h, "SADD i 5", ":1\r\n");
    EXPECT(&h, "SRANDMEMBER i -3", "*3\r\n$1\r\n5\r\n$1\r\n5\r\n$1\r\n5\r\n");
    EXPECT(&h, "SRANDMEMBER i 3", "*1\r\n$1\r\n5\r\n");
    h_free(&h);
}

Test(set, srandmember_distribution_is_fair)
{
    harness h;
    h_init(&h);
    fill(&h, "s", "m", 0, 10);
    int hits[10] = {0};
    elems e;
    run_bulks(&h, "SRANDMEMBER s -4000", &e);
    for (int i = 0; i < e.n; i++)
        hits[atoi(e.s[i] + 1)]++;
    elems_free(&e);
    for (int i = 0; i < 10; i++)
        cr_assert(hits[i] > 300 && hits[i] < 500, "member %d drawn %d times", i, hits[i]);
    h_free(&h);
}

Test(set, srandmember_huge_negative_count_is_bounded)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "CONFIG SET proto-max-bulk-len 1mb", "+OK\r\n");
    EXPECT(&h, "SADD s a", ":1\r\n");
    EXPECT(&h, "SRANDMEMBER s -9223372036854775807", "-ERR value is out of range\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* SINTER SINTERCARD SINTERSTORE */

static void make_abc(harness *h)
{
    h_run(h, "SADD set1 a b c d 1");
    h_run(h, "SADD set2 b c d e 1 2");
    h_run(h, "SADD set3 c d f 1");
    h_run(h, "SADD i1 1 2 3 4 5");
    h_run(h, "SADD i2 4 5 6 7");
}

Test(set, sinter)
{
    harness h;
    h_init(&h);
    make_abc(&h);
    EXPECT_SORTED(&h, "SINTER set1 set2", "1 b c d");
    EXPECT_SORTED(&h, "SINTER set1 set2 set3", "1 c d");
    EXPECT_SORTED(&h, "SINTER set1", "1 a b c d");
    EXPECT_SORTED(&h, "SINTER set1 set1", "1 a b c d");
    EXPECT(&h, "SINTER set1 nokey", "*0\r\n");
    EXPECT(&h, "SINTER nokey set1", "*0\r\n");
    EXPECT(&h, "SINTER i1 i2", "*2\r\n$1\r\n4\r\n$1\r\n5\r\n");
    EXPECT_SORTED(&h, "SINTER i1 set2", "1 2");
    EXPECT_SORTED(&h, "SINTER set2 i1", "1 2");
    EXPECT(&h, "SINTER set3 i2", "*0\r\n");
    h_free(&h);
}

Test(set, sinterstore)
{
    harness h;
    h_init(&h);
    make_abc(&h);
    EXPECT(&h, "SINTERSTORE d set1 set2", ":4\r\n");
    EXPECT_SORTED(&h, "SMEMBERS d", "1 b c d");
    cr_assert_eq(key_enc(&h, "d"), ENC_HASHTABLE);
    EXPECT(&h, "SINTERSTORE d i1 i2", ":2\r\n");
    cr_assert_eq(key_enc(&h, "d"), ENC_INTSET);
    /* An empty result deletes the destination. */
    EXPECT(&h, "SINTERSTORE d set3 i2", ":0\r\n");
    cr_assert_not(key_exists(&h, "d"));
    EXPECT(&h, "SET d x", "+OK\r\n");
    EXPECT(&h, "SINTERSTORE d set1 nokey", ":0\r\n");
    cr_assert_not(key_exists(&h, "d"));
    /* The destination may be a source. */
    EXPECT(&h, "SINTERSTORE set1 set1 set3", ":3\r\n");
    EXPECT_SORTED(&h, "SMEMBERS set1", "1 c d");
    /* The stored set has no TTL. */
    EXPECT(&h, "SET d x EX 100", "+OK\r\n");
    EXPECT(&h, "SINTERSTORE d set2 set3", ":3\r\n");
    EXPECT(&h, "TTL d", ":-1\r\n");
    h_free(&h);
}

Test(set, sintercard)
{
    harness h;
    h_init(&h);
    make_abc(&h);
    EXPECT(&h, "SINTERCARD 2 set1 set2", ":4\r\n");
    EXPECT(&h, "SINTERCARD 3 set1 set2 set3", ":3\r\n");
    EXPECT(&h, "SINTERCARD 1 set1", ":5\r\n");
    EXPECT(&h, "SINTERCARD 2 set1 set2 LIMIT 0", ":4\r\n");
    EXPECT(&h, "SINTERCARD 2 set1 set2 limit 2", ":2\r\n");
    EXPECT(&h, "SINTERCARD 2 set1 set2 LIMIT 10", ":4\r\n");
    EXPECT(&h, "SINTERCARD 2 set1 set2 LIMIT 1 LIMIT 3", ":3\r\n");
    EXPECT(&h, "SINTERCARD 2 set1 nokey", ":0\r\n");
    EXPECT(&h, "SINTERCARD 2 i1 i2", ":2\r\n");
    h_free(&h);
}

Test(set, sintercard_errors)
{
    harness h;
    h_init(&h);
    make_abc(&h);
    EXPECT(&h, "SINTERCARD 0 set1", "-ERR numkeys should be greater than 0\r\n");
    EXPECT(&h, "SINTERCARD -1 set1", "-ERR numkeys should be greater than 0\r\n");
    EXPECT(&h, "SINTERCARD x set1", "-ERR numkeys should be greater than 0\r\n");
    EXPECT(&h, "SINTERCARD 3 set1 set2",
           "-ERR Number of keys can't be greater than number of args\r\n");
    EXPECT(&h, "SINTERCARD 1 set1 set2", "-ERR syntax error\r\n");
    EXPECT(&h, "SINTERCARD 1 set1 LIMIT", "-ERR syntax error\r\n");
    EXPECT(&h, "SINTERCARD 1 set1 LIMIT -1", "-ERR LIMIT can't be negative\r\n");
    EXPECT(&h, "SINTERCARD 1 set1 LIMIT x", "-ERR LIMIT can't be negative\r\n");
    EXPECT(&h, "SINTERCARD 1", "-ERR wrong number of arguments for 'sintercard' command\r\n");
    h_free(&h);
}

Test(set, sintercard_getkeys)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "COMMAND GETKEYS SINTERCARD 2 a b LIMIT 1",
           "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT(&h, "COMMAND GETKEYS SINTERCARD 1 a b",
           "*1\r\n$1\r\na\r\n");
    EXPECT(&h, "COMMAND GETKEYS SINTERCARD 3 a b",
           "-ERR Invalid arguments specified for command\r\n");
    EXPECT(&h, "COMMAND GETKEYS SINTERCARD 0 a",
           "-ERR Invalid arguments specified for command\r\n");
    EXPECT(&h, "COMMAND GETKEYS SINTERSTORE d a b",
           "*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT(&h, "COMMAND GETKEYS SMOVE a b m", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* SUNION SUNIONSTORE SDIFF SDIFFSTORE */

Test(set, sunion)
{
    harness h;
    h_init(&h);
    make_abc(&h);
    EXPECT_SORTED(&h, "SUNION set1 set2", "1 2 a b c d e");
    EXPECT_SORTED(&h, "SUNION set1 nokey set3", "1 a b c d f");
    EXPECT(&h, "SUNION nokey", "*0\r\n");
    EXPECT(&h, "SUNION i1 i2",
           "*7\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n$1\r\n7\r\n");
    EXPECT(&h, "SUNIONSTORE d i1 i2", ":7\r\n");
    cr_assert_eq(key_enc(&h, "d"), ENC_INTSET);
    EXPECT(&h, "SUNIONSTORE d set1 i1", ":9\r\n");
    cr_assert_eq(key_enc(&h, "d"), ENC_HASHTABLE);
    EXPECT(&h, "SUNIONSTORE d nokey", ":0\r\n");
    cr_assert_not(key_exists(&h, "d"));
    EXPECT(&h, "SUNIONSTORE set1 set1 set3", ":6\r\n");
    EXPECT_SORTED(&h, "SMEMBERS set1", "1 a b c d f");
    h_free(&h);
}

Test(set, sunionstore_big_intset_converts)
{
    harness h;
    h_init(&h);
    fill(&h, "a", "", 0, 300);
    fill(&h, "b", "", 300, 300);
    cr_assert_eq(key_enc(&h, "a"), ENC_INTSET);
    EXPECT(&h, "SUNIONSTORE d a b", ":600\r\n");
    cr_assert_eq(key_enc(&h, "d"), ENC_HASHTABLE);
    EXPECT(&h, "SINTERSTORE e d a", ":300\r\n");
    cr_assert_eq(key_enc(&h, "e"), ENC_INTSET);
    h_free(&h);
}

Test(set, sdiff)
{
    harness h;
    h_init(&h);
    make_abc(&h);
    EXPECT_SORTED(&h, "SDIFF set1 set2", "a");
    EXPECT_SORTED(&h, "SDIFF set2 set1", "2 e");
    EXPECT_SORTED(&h, "SDIFF set2 set1 set3", "2 e");
    EXPECT_SORTED(&h, "SDIFF set2 nokey", "1 2 b c d e");
    EXPECT(&h, "SDIFF nokey set1", "*0\r\n");
    EXPECT(&h, "SDIFF set1 set1", "*0\r\n");
    EXPECT(&h, "SDIFF set1 set2 set1", "*0\r\n");
    EXPECT(&h, "SDIFF i1 i2", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    EXPECT_SORTED(&h, "SDIFF i1 set2", "3 4 5");
    EXPECT(&h, "SDIFFSTORE d i1 i2", ":3\r\n");
    cr_assert_eq(key_enc(&h, "d"), ENC_INTSET);
    EXPECT(&h, "SDIFFSTORE d set1 set2", ":1\r\n");
    EXPECT(&h, "SMEMBERS d", "*1\r\n$1\r\na\r\n");
    cr_assert_eq(key_enc(&h, "d"), ENC_HASHTABLE);
    EXPECT(&h, "SDIFFSTORE d set1 set1", ":0\r\n");
    cr_assert_not(key_exists(&h, "d"));
    h_free(&h);
}

Test(set, sdiff_both_algorithms)
{
    harness h;
    h_init(&h);
    /* Algorithm 2: a big first set and many small ones to subtract. */
    fill(&h, "big", "m", 0, 200);
    for (int i = 0; i < 5; i++)
        h_runf(&h, "SADD small%d m%d m%d x", i, i * 10, i * 10 + 1);
    EXPECT(&h, "SDIFFSTORE d big small0 small1 small2 small3 small4", ":190\r\n");
    EXPECT(&h, "SISMEMBER d m10", ":0\r\n");
    EXPECT(&h, "SISMEMBER d m12", ":1\r\n");
    /* Algorithm 1: a small first set. */
    EXPECT_SORTED(&h, "SDIFF small1 big", "x");
    EXPECT(&h, "SDIFF small1 big small2", "*0\r\n"); /* x is in small2 */
    EXPECT(&h, "SDIFF small1 small3 big", "*0\r\n");
    EXPECT(&h, "SDIFF small1 big small3 small4", "*0\r\n");
    EXPECT(&h, "SREM small2 x", ":1\r\n");
    EXPECT(&h, "SREM small3 x", ":1\r\n");
    EXPECT(&h, "SDIFF small1 small3 big small2", "*1\r\n$1\r\nx\r\n");
    EXPECT(&h, "SDIFF small1 small2 small1", "*0\r\n");
    h_free(&h);
}

Test(set, store_dirty_and_deleted_destination)
{
    harness h;
    h_init(&h);
    make_abc(&h);
    uint64_t d0 = h.e.stats.dirty;
    EXPECT(&h, "SUNIONSTORE d set1 set2", ":7\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 1);
    EXPECT(&h, "SINTERSTORE d set1 nokey", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 2);
    EXPECT(&h, "SINTERSTORE d set1 nokey", ":0\r\n"); /* nothing to delete */
    cr_assert_eq(h.e.stats.dirty - d0, 2);
    EXPECT(&h, "SDIFFSTORE d set1 set1", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 2);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* SSCAN */

Test(set, sscan_intset_returns_everything)
{
    harness h;
    h_init(&h);
    fill(&h, "s", "", 0, 100);
    elems e;
    h_run(&h, "SSCAN s 0 COUNT 1");
    cr_assert(strncmp(h.last, "*2\r\n$1\r\n0\r\n", 11) == 0);
    parse_bulks_at(h.last + 11, h.last + h.out.len, &e);
    cr_assert_eq(e.n, 100);
    elems_free(&e);
    EXPECT(&h, "SSCAN nokey 0", "*2\r\n$1\r\n0\r\n*0\r\n");
    EXPECT(&h, "SSCAN nokey 0 bad option", "*2\r\n$1\r\n0\r\n*0\r\n");
    h_run(&h, "DEL s");
    EXPECT(&h, "SADD s 1 12 21 3", ":4\r\n");
    EXPECT(&h, "SSCAN s 0 MATCH 1*", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\n1\r\n$2\r\n12\r\n");
    EXPECT(&h, "SSCAN s 0 MATCH *", "*2\r\n$1\r\n0\r\n*4\r\n$1\r\n1\r\n$1\r\n3\r\n$2\r\n12\r\n"
                                    "$2\r\n21\r\n");
    h_free(&h);
}

Test(set, sscan_errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD s a b", ":2\r\n");
    EXPECT(&h, "SSCAN s x", "-ERR invalid cursor\r\n");
    EXPECT(&h, "SSCAN s \" 1\"", "-ERR invalid cursor\r\n");
    EXPECT(&h, "SSCAN s 0 COUNT 0", "-ERR syntax error\r\n");
    EXPECT(&h, "SSCAN s 0 COUNT x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "SSCAN s 0 COUNT", "-ERR syntax error\r\n");
    EXPECT(&h, "SSCAN s 0 FOO bar", "-ERR syntax error\r\n");
    EXPECT(&h, "SSCAN s 0 MATCH", "-ERR syntax error\r\n");
    h_free(&h);
}

Test(set, sscan_hashtable_full_iteration)
{
    harness h;
    h_init(&h);
    fill(&h, "s", "m", 0, 1000);
    int seen[1000] = {0};
    char cursor[32] = "0";
    int rounds = 0;
    do {
        char line[96];
        snprintf(line, sizeof(line), "SSCAN s %s COUNT 20", cursor);
        h_run(&h, line);
        const char *p = h.last;
        cr_assert(strncmp(p, "*2\r\n$", 5) == 0);
        p += 5;
        long long cl = strtoll(p, (char **)&p, 10);
        p += 2;
        memcpy(cursor, p, (size_t)cl);
        cursor[cl] = '\0';
        p += cl + 2;
        elems e;
        parse_bulks_at(p, h.last + h.out.len, &e);
        for (int i = 0; i < e.n; i++)
            seen[atoi(e.s[i] + 1)]++;
        elems_free(&e);
        rounds++;
    } while (strcmp(cursor, "0") != 0 && rounds < 10000);
    cr_assert(rounds > 1);
    for (int i = 0; i < 1000; i++)
        cr_assert(seen[i] >= 1, "m%d never returned", i);
    /* MATCH filters after the step. */
    EXPECT(&h, "SSCAN s 0 MATCH nomatch* COUNT 2000", "*2\r\n$1\r\n0\r\n*0\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* WATCH, dirty, expiry */

static bool exec_survives(harness *h, const char *setup, const char *write)
{
    client *other = engine_client_new(&h->e, h->now_ms);
    if (setup)
        h_run(h, setup);
    EXPECT(h, "WATCH k", "+OK\r\n");
    h_run_as(h, other, write);
    EXPECT(h, "MULTI", "+OK\r\n");
    EXPECT(h, "PING", "+QUEUED\r\n");
    bool ran = strcmp(h_run(h, "EXEC"), "*1\r\n+PONG\r\n") == 0;
    engine_client_free(&h->e, other);
    return ran;
}

Test(set, watch_sees_set_writes)
{
    harness h;
    h_init(&h);
    cr_assert_not(exec_survives(&h, "SADD k 1", "SADD k 2"));
    cr_assert(exec_survives(&h, NULL, "SADD k 2"));
    cr_assert_not(exec_survives(&h, NULL, "SADD k a")); /* converts */
    cr_assert_not(exec_survives(&h, NULL, "SREM k 1"));
    cr_assert(exec_survives(&h, NULL, "SREM k nope"));
    cr_assert(exec_survives(&h, NULL, "SMEMBERS k"));
    cr_assert(exec_survives(&h, NULL, "SRANDMEMBER k -5"));
    cr_assert(exec_survives(&h, NULL, "SSCAN k 0"));
    cr_assert(exec_survives(&h, NULL, "SINTERCARD 1 k"));
    cr_assert(exec_survives(&h, NULL, "SPOP k 0"));
    h_run(&h, "SADD k x y z");
    cr_assert_not(exec_survives(&h, NULL, "SPOP k"));
    cr_assert_not(exec_survives(&h, NULL, "SPOP k 1"));
    h_run(&h, "SADD other q");
    cr_assert_not(exec_survives(&h, NULL, "SMOVE other k q"));
    cr_assert_not(exec_survives(&h, NULL, "SMOVE k other q"));
    cr_assert(exec_survives(&h, NULL, "SMOVE k other nope"));
    cr_assert_not(exec_survives(&h, NULL, "SUNIONSTORE k other"));
    cr_assert_not(exec_survives(&h, NULL, "SINTERSTORE k other nokey"));
    cr_assert(exec_survives(&h, NULL, "SINTERSTORE k other nokey")); /* nothing to delete */
    h_run(&h, "SADD k 1 2 3");
    cr_assert_not(exec_survives(&h, NULL, "SPOP k 5")); /* all of it */
    cr_assert_not(key_exists(&h, "k"));
    h_free(&h);
}

Test(set, dirty_counts_changes)
{
    harness h;
    h_init(&h);
    uint64_t d0 = h.e.stats.dirty;
    EXPECT(&h, "SADD k a b", ":2\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 2);
    EXPECT(&h, "SADD k a", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 2);
    EXPECT(&h, "SREM k a x", ":1\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 3);
    EXPECT(&h, "SREM k x", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 3);
    h_free(&h);
}

Test(set, expired_set_is_absent)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD k a b", ":2\r\n");
    EXPECT(&h, "PEXPIRE k 100", ":1\r\n");
    EXPECT(&h, "SCARD k", ":2\r\n");
    h.now_ms += 101;
    EXPECT(&h, "SCARD k", ":0\r\n");
    EXPECT(&h, "SMEMBERS k", "*0\r\n");
    EXPECT(&h, "SADD k c", ":1\r\n");
    EXPECT(&h, "SMEMBERS k", "*1\r\n$1\r\nc\r\n");
    EXPECT(&h, "TTL k", ":-1\r\n");
    h_free(&h);
}

Test(set, writes_keep_the_ttl)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD k 1", ":1\r\n");
    EXPECT(&h, "EXPIRE k 50", ":1\r\n");
    fill(&h, "k", "", 0, 600); /* grows, reallocates and converts */
    EXPECT(&h, "SREM k 3", ":1\r\n");
    h_run(&h, "SPOP k 3");
    h_run(&h, "SPOP k");
    EXPECT(&h, "TTL k", ":50\r\n");
    cr_assert(db_check(&h.e.db));
    h_free(&h);
}

Test(set, copy_and_rename_keep_sets)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SADD k 1 2 a", ":3\r\n");
    EXPECT(&h, "SADD i 1 2", ":2\r\n");
    EXPECT(&h, "COPY k k2", ":1\r\n");
    EXPECT(&h, "COPY i i2", ":1\r\n");
    EXPECT(&h, "SREM k 1", ":1\r\n");
    EXPECT_SORTED(&h, "SMEMBERS k2", "1 2 a");
    cr_assert_eq(key_enc(&h, "i2"), ENC_INTSET);
    EXPECT(&h, "SMEMBERS i2", "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    EXPECT(&h, "RENAME k2 k3", "+OK\r\n");
    EXPECT(&h, "SCARD k3", ":3\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* The table */

Test(set, command_table)
{
    harness h;
    h_init(&h);
    struct {
        const char *name;
        int arity;
        uint64_t flags;
        const char *acl;
        int first, last, step;
    } want[] = {
        {"sadd", -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, "@write @set @fast", 1, 1, 1},
        {"srem", -3, CMD_WRITE | CMD_FAST, "@write @set @fast", 1, 1, 1},
        {"smembers", 2, CMD_READONLY, "@read @set @slow", 1, 1, 1},
        {"sismember", 3, CMD_READONLY | CMD_FAST, "@read @set @fast", 1, 1, 1},
        {"smismember", -3, CMD_READONLY | CMD_FAST, "@read @set @fast", 1, 1, 1},
        {"scard", 2, CMD_READONLY | CMD_FAST, "@read @set @fast", 1, 1, 1},
        {"spop", -2, CMD_WRITE | CMD_FAST, "@write @set @fast", 1, 1, 1},
        {"srandmember", -2, CMD_READONLY, "@read @set @slow", 1, 1, 1},
        {"smove", 4, CMD_WRITE | CMD_FAST, "@write @set @fast", 1, 2, 1},
        {"sinter", -2, CMD_READONLY, "@read @set @slow", 1, -1, 1},
        {"sintercard", -3, CMD_READONLY | CMD_MOVABLE_KEYS, "@read @set @slow", 0, 0, 0},
        {"sinterstore", -3, CMD_WRITE | CMD_DENYOOM, "@write @set @slow", 1, -1, 1},
        {"sunion", -2, CMD_READONLY, "@read @set @slow", 1, -1, 1},
        {"sunionstore", -3, CMD_WRITE | CMD_DENYOOM, "@write @set @slow", 1, -1, 1},
        {"sdiff", -2, CMD_READONLY, "@read @set @slow", 1, -1, 1},
        {"sdiffstore", -3, CMD_WRITE | CMD_DENYOOM, "@write @set @slow", 1, -1, 1},
        {"sscan", -3, CMD_READONLY, "@read @set @slow", 1, 1, 1},
    };
    size_t n = sizeof(want) / sizeof(want[0]);
    for (size_t i = 0; i < n; i++) {
        const cmd_entry *ce = engine_lookup_name(&h.e, want[i].name, strlen(want[i].name));
        cr_assert_not_null(ce, "%s", want[i].name);
        const cmd_def *d = ce->def;
        cr_assert_eq(d->arity, want[i].arity, "%s", want[i].name);
        cr_assert_eq(d->flags, want[i].flags, "%s", want[i].name);
        cr_assert_str_eq(d->acl, want[i].acl, "%s", want[i].name);
        cr_assert_eq(d->first_key, want[i].first, "%s", want[i].name);
        cr_assert_eq(d->last_key, want[i].last, "%s", want[i].name);
        cr_assert_eq(d->key_step, want[i].step, "%s", want[i].name);
        cr_assert_str_eq(d->group, "set");
        cr_assert(d->since && d->summary && d->complexity && d->args);
        cr_assert_not_null(d->fn);
    }
    size_t count = 0;
    for (const cmd_def *d = cmd_set; d->name; d++)
        count++;
    cr_assert_eq(count, n);
    EXPECT(&h, "SADD k", "-ERR wrong number of arguments for 'sadd' command\r\n");
    EXPECT(&h, "SCARD", "-ERR wrong number of arguments for 'scard' command\r\n");
    EXPECT(&h, "SMOVE a b", "-ERR wrong number of arguments for 'smove' command\r\n");
    EXPECT(&h, "SSCAN k", "-ERR wrong number of arguments for 'sscan' command\r\n");
    EXPECT(&h, "SINTERSTORE d", "-ERR wrong number of arguments for 'sinterstore' command\r\n");
    h_free(&h);
}
