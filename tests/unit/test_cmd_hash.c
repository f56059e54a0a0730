/* The hash commands against Redis 7.0's replies, byte for byte: every
 * command, option and error, WRONGTYPE, the listpack -> hashtable
 * thresholds, binary fields, WATCH and the dirty counter. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "engine_harness.h"

#include "core/store/hash.h"

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

/* A string key, made without the string family. */
static void set_string(harness *h, const char *key, const char *val)
{
    db_set_str(&h->e.db, key, strlen(key), val, strlen(val), -1);
}

/* The elements of a flat RESP2 array of bulk strings (the last reply),
 * NUL-terminated copies; returns the count, or -1 if it is not one. */
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

static int parse_bulks(const char *p, size_t len, elems *out)
{
    const char *end = p + len;
    out->n = 0;
    if (*p != '*')
        return -1;
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
    cr_assert(p == end, "trailing bytes after the array");
    return out->n;
}

static void elems_free(elems *e)
{
    for (int i = 0; i < e->n; i++)
        free(e->s[i]);
    e->n = 0;
}

/* Runs line and parses its reply as a flat array of bulks. */
static int run_bulks(harness *h, const char *line, elems *out)
{
    h_run(h, line);
    return parse_bulks(h->out.data, h->out.len, out);
}

static bool has(const elems *e, const char *s)
{
    for (int i = 0; i < e->n; i++)
        if (strcmp(e->s[i], s) == 0)
            return true;
    return false;
}

/* A hash of n fields fN -> vN. */
static void make_hash(harness *h, const char *key, int n)
{
    for (int i = 0; i < n; i++)
        h_runf(h, "HSET %s f%d v%d", key, i, i);
}

/* ------------------------------------------------------------------------ */
/* HSET HMSET HSETNX HGET */

/* The tests pin hash-max-listpack-entries at redis.conf's 128 (the
 * built-in default is 512) so that conversions need fewer fields. */
static void hash_test_init(harness *h)
{
    h_init(h);
    h->e.cfg.hash_max_listpack_entries = 128;
}

Test(hash, hset_hget_basics)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HSET k f v", ":1\r\n");
    EXPECT(&h, "HSET k f v2", ":0\r\n");
    EXPECT(&h, "HSET k a 1 b 2 f v3", ":2\r\n");
    EXPECT(&h, "HSET k a 1 a 2", ":0\r\n");
    EXPECT(&h, "HGET k a", "$1\r\n2\r\n");
    EXPECT(&h, "HGET k f", "$2\r\nv3\r\n");
    EXPECT(&h, "HGET k nofield", "$-1\r\n");
    EXPECT(&h, "HGET nokey f", "$-1\r\n");
    EXPECT(&h, "HLEN k", ":3\r\n");
    EXPECT(&h, "hset k \"\" \"\"", ":1\r\n");
    EXPECT(&h, "HGET k \"\"", "$0\r\n\r\n");
    cr_assert_eq(key_enc(&h, "k"), ENC_LISTPACK);
    h_free(&h);
}

Test(hash, hset_hmset_wrong_number_of_args)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HSET k f", "-ERR wrong number of arguments for 'hset' command\r\n");
    EXPECT(&h, "HSET k a 1 b", "-ERR wrong number of arguments for 'hset' command\r\n");
    EXPECT(&h, "HMSET k a 1 b", "-ERR wrong number of arguments for 'hmset' command\r\n");
    EXPECT(&h, "hmset k a", "-ERR wrong number of arguments for 'hmset' command\r\n");
    cr_assert_not(key_exists(&h, "k"));
    /* The arity check comes before the type check. */
    set_string(&h, "s", "x");
    EXPECT(&h, "HSET s a 1 b", "-ERR wrong number of arguments for 'hset' command\r\n");
    h_free(&h);
}

Test(hash, hmset)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HMSET k a 1 b 2", "+OK\r\n");
    EXPECT(&h, "HMSET k a 3 c 4", "+OK\r\n");
    EXPECT(&h, "HMGET k a b c d", "*4\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n4\r\n$-1\r\n");
    h_free(&h);
}

Test(hash, hsetnx)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HSETNX k f foo", ":1\r\n");
    EXPECT(&h, "HSETNX k f bar", ":0\r\n");
    EXPECT(&h, "HGET k f", "$3\r\nfoo\r\n");
    EXPECT(&h, "HSETNX k g bar", ":1\r\n");
    EXPECT(&h, "HLEN k", ":2\r\n");
    h_free(&h);
}

Test(hash, hmget)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HMGET doesntexist a b", "*2\r\n$-1\r\n$-1\r\n");
    EXPECT(&h, "HSET k a 1 b 22", ":2\r\n");
    EXPECT(&h, "HMGET k x a b a", "*4\r\n$-1\r\n$1\r\n1\r\n$2\r\n22\r\n$1\r\n1\r\n");
    EXPECT(&h, "HMGET k", "-ERR wrong number of arguments for 'hmget' command\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* HDEL HLEN HSTRLEN HEXISTS */

Test(hash, hdel)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HDEL nokey a", ":0\r\n");
    EXPECT(&h, "HMSET k a 1 b 2 c 3", "+OK\r\n");
    EXPECT(&h, "HDEL k x y", ":0\r\n");
    EXPECT(&h, "HDEL k a c f a", ":2\r\n");
    EXPECT(&h, "HGETALL k", "*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    EXPECT(&h, "HDEL k b", ":1\r\n");
    cr_assert_not(key_exists(&h, "k"), "deleting the last field deletes the key");
    EXPECT(&h, "HLEN k", ":0\r\n");
    /* The hash becomes empty before all the fields were looked at. */
    EXPECT(&h, "HMSET k a 1 b 2 c 3", "+OK\r\n");
    EXPECT(&h, "HDEL k a b c d e", ":3\r\n");
    cr_assert_not(key_exists(&h, "k"));
    /* Same on a hashtable. */
    make_hash(&h, "big", 200);
    cr_assert_eq(key_enc(&h, "big"), ENC_HASHTABLE);
    EXPECT(&h, "HDEL big f0 f1 nope", ":2\r\n");
    EXPECT(&h, "HLEN big", ":198\r\n");
    for (int i = 2; i < 200; i++)
        h_runf(&h, "HDEL big f%d", i);
    cr_assert_not(key_exists(&h, "big"));
    h_free(&h);
}

Test(hash, hlen_hstrlen_hexists)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HLEN nokey", ":0\r\n");
    EXPECT(&h, "HSTRLEN nokey f", ":0\r\n");
    EXPECT(&h, "HEXISTS nokey f", ":0\r\n");
    EXPECT(&h, "HSET k f hello e \"\"", ":2\r\n");
    EXPECT(&h, "HSTRLEN k f", ":5\r\n");
    EXPECT(&h, "HSTRLEN k e", ":0\r\n");
    EXPECT(&h, "HSTRLEN k nofield", ":0\r\n");
    EXPECT(&h, "HEXISTS k f", ":1\r\n");
    EXPECT(&h, "HEXISTS k e", ":1\r\n");
    EXPECT(&h, "HEXISTS k nofield", ":0\r\n");
    /* Redis's corner values, in both encodings. */
    make_hash(&h, "big", 200);
    const char *vals[] = {"-9223372036854775808", "9223372036854775807", "9223372036854775808",
                          "0", "-1", "x"};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char want[32];
        snprintf(want, sizeof(want), ":%zu\r\n", strlen(vals[i]));
        h_runf(&h, "HMSET k field %s", vals[i]);
        h_runf(&h, "HMSET big field %s", vals[i]);
        cr_assert_str_eq(h_run(&h, "HSTRLEN k field"), want);
        cr_assert_str_eq(h_run(&h, "HSTRLEN big field"), want);
    }
    EXPECT(&h, "HLEN big", ":201\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* HKEYS HVALS HGETALL */

Test(hash, hkeys_hvals_hgetall)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HKEYS nokey", "*0\r\n");
    EXPECT(&h, "HVALS nokey", "*0\r\n");
    EXPECT(&h, "HGETALL nokey", "*0\r\n");
    /* A listpack answers in insertion order. */
    EXPECT(&h, "HSET k z 1 a 22 m 333", ":3\r\n");
    EXPECT(&h, "HKEYS k", "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nm\r\n");
    EXPECT(&h, "HVALS k", "*3\r\n$1\r\n1\r\n$2\r\n22\r\n$3\r\n333\r\n");
    EXPECT(&h, "HGETALL k",
           "*6\r\n$1\r\nz\r\n$1\r\n1\r\n$1\r\na\r\n$2\r\n22\r\n$1\r\nm\r\n$3\r\n333\r\n");
    /* A hashtable gives every pair once. */
    make_hash(&h, "big", 300);
    elems e;
    cr_assert_eq(run_bulks(&h, "HGETALL big", &e), 600);
    for (int i = 0; i < 600; i += 2)
        cr_assert_eq(strcmp(e.s[i] + 1, e.s[i + 1] + 1), 0, "field and value pair up");
    elems_free(&e);
    cr_assert_eq(run_bulks(&h, "HKEYS big", &e), 300);
    int seen[300] = {0};
    for (int i = 0; i < 300; i++)
        seen[atoi(e.s[i] + 1)]++;
    for (int i = 0; i < 300; i++)
        cr_assert_eq(seen[i], 1);
    elems_free(&e);
    cr_assert_eq(run_bulks(&h, "HVALS big", &e), 300);
    cr_assert(has(&e, "v0") && has(&e, "v299"));
    elems_free(&e);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* HINCRBY */

Test(hash, hincrby)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HINCRBY htest foo 2", ":2\r\n");
    EXPECT(&h, "HINCRBY htest foo 3", ":5\r\n");
    EXPECT(&h, "HGET htest foo", "$1\r\n5\r\n");
    EXPECT(&h, "HINCRBY htest foo -10", ":-5\r\n");
    EXPECT(&h, "HSET htest tmp 17179869184", ":1\r\n");
    EXPECT(&h, "HINCRBY htest tmp 1", ":17179869185\r\n");
    EXPECT(&h, "HINCRBY htest tmp 17179869184", ":34359738369\r\n");
    EXPECT(&h, "HINCRBY htest new 0", ":0\r\n");
    EXPECT(&h, "HGET htest new", "$1\r\n0\r\n");
    /* Stored values that are not canonical integers. */
    EXPECT(&h, "HSET htest str \" 11\" r \"11 \" p +1 z 01 e \"\" x abc", ":6\r\n");
    EXPECT(&h, "HINCRBY htest str 1", "-ERR hash value is not an integer\r\n");
    EXPECT(&h, "HINCRBY htest r 1", "-ERR hash value is not an integer\r\n");
    EXPECT(&h, "HINCRBY htest p 1", "-ERR hash value is not an integer\r\n");
    EXPECT(&h, "HINCRBY htest z 1", "-ERR hash value is not an integer\r\n");
    EXPECT(&h, "HINCRBY htest e 1", "-ERR hash value is not an integer\r\n");
    EXPECT(&h, "HINCRBY htest x 1", "-ERR hash value is not an integer\r\n");
    EXPECT(&h, "HGET htest x", "$3\r\nabc\r\n");
    /* The increment. */
    EXPECT(&h, "HINCRBY htest foo abc", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "HINCRBY htest foo 1.5", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "HINCRBY htest foo 9223372036854775808",
           "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "HINCRBY nokey foo x", "-ERR value is not an integer or out of range\r\n");
    cr_assert_not(key_exists(&h, "nokey"));
    h_free(&h);
}

Test(hash, hincrby_overflow)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HSET hash n -9223372036854775484", ":1\r\n");
    EXPECT(&h, "HINCRBY hash n -1", ":-9223372036854775485\r\n");
    EXPECT(&h, "HINCRBY hash n -10000", "-ERR increment or decrement would overflow\r\n");
    EXPECT(&h, "HGET hash n", "$20\r\n-9223372036854775485\r\n");
    EXPECT(&h, "HINCRBY hash n -323", ":-9223372036854775808\r\n");
    EXPECT(&h, "HINCRBY hash n -1", "-ERR increment or decrement would overflow\r\n");
    EXPECT(&h, "HINCRBY hash n 9223372036854775807", ":-1\r\n");
    EXPECT(&h, "HSET hash p 9223372036854775807", ":1\r\n");
    EXPECT(&h, "HINCRBY hash p 1", "-ERR increment or decrement would overflow\r\n");
    EXPECT(&h, "HINCRBY hash p -9223372036854775808", ":-1\r\n");
    EXPECT(&h, "HINCRBY hash q -9223372036854775808", ":-9223372036854775808\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* HINCRBYFLOAT */

Test(hash, hincrbyfloat)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HINCRBYFLOAT htest foo 2.5", "$3\r\n2.5\r\n");
    EXPECT(&h, "HINCRBYFLOAT htest foo 3.5", "$1\r\n6\r\n");
    EXPECT(&h, "HGET htest foo", "$1\r\n6\r\n");
    EXPECT(&h, "HSET htest tmp 17179869184", ":1\r\n");
    EXPECT(&h, "HINCRBYFLOAT htest tmp 1", "$11\r\n17179869185\r\n");
    EXPECT(&h, "HINCRBYFLOAT htest tmp 17179869184", "$11\r\n34359738369\r\n");
    /* Issue #2846: human-friendly formatting. */
    EXPECT(&h, "HINCRBYFLOAT myhash float 1.23", "$4\r\n1.23\r\n");
    EXPECT(&h, "HINCRBYFLOAT myhash float 0.77", "$1\r\n2\r\n");
    EXPECT(&h, "HINCRBYFLOAT myhash float -0.1", "$3\r\n1.9\r\n");
    EXPECT(&h, "HGET myhash float", "$3\r\n1.9\r\n");
    EXPECT(&h, "HINCRBYFLOAT myhash e 1e2", "$3\r\n100\r\n");
    EXPECT(&h, "HINCRBYFLOAT myhash e -100", "$1\r\n0\r\n");
    EXPECT(&h, "HINCRBYFLOAT myhash hex 0x10", "$2\r\n16\r\n");
    EXPECT(&h, "HINCRBYFLOAT myhash neg -0.0", "$1\r\n0\r\n");
    /* Stored values that are not floats. */
    EXPECT(&h, "HSET htest sl \" 11\" sr \"11 \" nul \"1\\x002\" e \"\" x abc", ":5\r\n");
    EXPECT(&h, "HINCRBYFLOAT htest sl 1", "-ERR hash value is not a float\r\n");
    EXPECT(&h, "HINCRBYFLOAT htest sr 1", "-ERR hash value is not a float\r\n");
    EXPECT(&h, "HINCRBYFLOAT htest nul 1", "-ERR hash value is not a float\r\n");
    EXPECT(&h, "HINCRBYFLOAT htest e 1", "-ERR hash value is not a float\r\n");
    EXPECT(&h, "HINCRBYFLOAT htest x 1", "-ERR hash value is not a float\r\n");
    /* The increment. */
    EXPECT(&h, "HINCRBYFLOAT htest foo abc", "-ERR value is not a valid float\r\n");
    EXPECT(&h, "HINCRBYFLOAT htest foo \"\"", "-ERR value is not a valid float\r\n");
    EXPECT(&h, "HINCRBYFLOAT htest foo \" 1\"", "-ERR value is not a valid float\r\n");
    EXPECT(&h, "HINCRBYFLOAT htest foo nan", "-ERR value is not a valid float\r\n");
    EXPECT(&h, "HINCRBYFLOAT hfoo field +inf", "-ERR value is NaN or Infinity\r\n");
    EXPECT(&h, "HINCRBYFLOAT hfoo field -inf", "-ERR value is NaN or Infinity\r\n");
    EXPECT(&h, "HINCRBYFLOAT hfoo field 1e99999", "-ERR value is not a valid float\r\n");
    cr_assert_not(key_exists(&h, "hfoo"));
    /* A sum that overflows. */
    EXPECT(&h, "HSET big f 1e4932", ":1\r\n");
    EXPECT(&h, "HINCRBYFLOAT big f 1e4932", "-ERR increment would produce NaN or Infinity\r\n");
    EXPECT(&h, "HGET big f", "$6\r\n1e4932\r\n");
    h_free(&h);
}

Test(hash, hincrbyfloat_huge_value_round_trips)
{
    harness h;
    hash_test_init(&h);
    /* 1e4000 is printed with all its 4000-odd digits ("%.17Lf"), stored,
     * and read back as the same number. */
    h_run(&h, "HINCRBYFLOAT k f 1e4000");
    cr_assert(strncmp(h.last, "$400", 4) == 0, "%.20s", h.last);
    cr_assert_null(strchr(h.last, '.'), "no fraction left");
    char *first = strdup(h.last);
    cr_assert_str_eq(h_run(&h, "HINCRBYFLOAT k f 0"), first);
    cr_assert_str_eq(h_run(&h, "HGET k f"), first);
    cr_assert_eq(key_enc(&h, "k"), ENC_HASHTABLE);
    free(first);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* HSCAN */

Test(hash, hscan_listpack)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HSCAN nokey 0", "*2\r\n$1\r\n0\r\n*0\r\n");
    /* Options are not even parsed for a missing key (as Redis). */
    EXPECT(&h, "HSCAN nokey 0 COUNT 0 BOGUS", "*2\r\n$1\r\n0\r\n*0\r\n");
    EXPECT(&h, "HSET k a 1 b 2 ab 3", ":3\r\n");
    EXPECT(&h, "HSCAN k 0",
           "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$2\r\nab\r\n"
           "$1\r\n3\r\n");
    /* A listpack ignores the cursor and COUNT: everything, cursor 0. */
    EXPECT(&h, "HSCAN k 77 COUNT 1",
           "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$2\r\nab\r\n"
           "$1\r\n3\r\n");
    EXPECT(&h, "HSCAN k 0 MATCH a*",
           "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$1\r\n3\r\n");
    EXPECT(&h, "hscan k 0 match b count 5 match nomatch", "*2\r\n$1\r\n0\r\n*0\r\n");
    EXPECT(&h, "HSCAN k 0 MATCH 1", "*2\r\n$1\r\n0\r\n*0\r\n"); /* values are not matched */
    EXPECT(&h, "HSCAN k 0 MATCH *", "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n"
                                    "$1\r\n2\r\n$2\r\nab\r\n$1\r\n3\r\n");
    h_free(&h);
}

Test(hash, hscan_errors)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HSET k a 1", ":1\r\n");
    EXPECT(&h, "HSCAN k abc", "-ERR invalid cursor\r\n");
    EXPECT(&h, "HSCAN k \" 1\"", "-ERR invalid cursor\r\n");
    EXPECT(&h, "HSCAN k 1a", "-ERR invalid cursor\r\n");
    EXPECT(&h, "HSCAN k 1.0", "-ERR invalid cursor\r\n");
    EXPECT(&h, "HSCAN k 18446744073709551616", "-ERR invalid cursor\r\n");
    EXPECT(&h, "HSCAN nokey abc", "-ERR invalid cursor\r\n"); /* cursor first */
    /* strtoul's forms are accepted, as in Redis. */
    EXPECT(&h, "HSCAN k 18446744073709551615", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT(&h, "HSCAN k -1", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT(&h, "HSCAN k +0", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT(&h, "HSCAN k \"\"", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT(&h, "HSCAN k \"0\\x00junk\"", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    /* Options. */
    EXPECT(&h, "HSCAN k 0 COUNT 0", "-ERR syntax error\r\n");
    EXPECT(&h, "HSCAN k 0 COUNT -1", "-ERR syntax error\r\n");
    EXPECT(&h, "HSCAN k 0 COUNT x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "HSCAN k 0 COUNT", "-ERR syntax error\r\n");
    EXPECT(&h, "HSCAN k 0 MATCH", "-ERR syntax error\r\n");
    EXPECT(&h, "HSCAN k 0 TYPE string", "-ERR syntax error\r\n");
    EXPECT(&h, "HSCAN k 0 NOVALUES", "-ERR syntax error\r\n");
    EXPECT(&h, "HSCAN k 0 COUNT 9223372036854775807",
           "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    set_string(&h, "s", "x");
    EXPECT(&h, "HSCAN s 0", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    EXPECT(&h, "HSCAN s x", "-ERR invalid cursor\r\n");
    h_free(&h);
}

Test(hash, hscan_hashtable_full_iteration)
{
    harness h;
    hash_test_init(&h);
    make_hash(&h, "big", 1000);
    cr_assert_eq(key_enc(&h, "big"), ENC_HASHTABLE);
    for (int variant = 0; variant < 3; variant++) {
        int seen[1000] = {0};
        char cursor[32] = "0";
        int calls = 0;
        do {
            elems e;
            if (variant == 0)
                h_runf(&h, "HSCAN big %s", cursor);
            else if (variant == 1)
                h_runf(&h, "HSCAN big %s COUNT 100", cursor);
            else
                h_runf(&h, "HSCAN big %s MATCH f1* COUNT 50", cursor);
            /* *2 $n cursor *m ... */
            const char *p = h.out.data;
            cr_assert(strncmp(p, "*2\r\n$", 5) == 0);
            p += 5;
            long long cl = read_num(&p);
            memcpy(cursor, p, (size_t)cl);
            cursor[cl] = '\0';
            p += cl + 2;
            parse_bulks(p, h.out.len - (size_t)(p - h.out.data), &e);
            cr_assert_eq(e.n % 2, 0);
            if (variant == 0)
                cr_assert(e.n <= 2 * 10 * 4, "about COUNT elements a call (%d)", e.n);
            for (int i = 0; i < e.n; i += 2) {
                cr_assert_eq(e.s[i][0], 'f');
                cr_assert_str_eq(e.s[i] + 1, e.s[i + 1] + 1);
                if (variant == 2)
                    cr_assert(e.s[i][1] == '1', "MATCH filters: %s", e.s[i]);
                seen[atoi(e.s[i] + 1)]++;
            }
            elems_free(&e);
            calls++;
            cr_assert(calls < 10000);
        } while (strcmp(cursor, "0") != 0);
        for (int i = 0; i < 1000; i++) {
            bool want = variant < 2 || (i == 1 || (i >= 10 && i < 20) || (i >= 100 && i < 200));
            cr_assert_eq(seen[i] > 0, want, "variant %d field f%d", variant, i);
        }
        if (variant == 0)
            cr_assert(calls > 10, "COUNT 10 takes many calls (%d)", calls);
    }
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* HRANDFIELD */

Test(hash, hrandfield_no_count)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HRANDFIELD nokey", "$-1\r\n");
    EXPECT(&h, "HSET k only 1", ":1\r\n");
    EXPECT(&h, "HRANDFIELD k", "$4\r\nonly\r\n");
    for (int enc = 0; enc < 2; enc++) {
        const char *key = enc ? "big" : "small";
        make_hash(&h, key, enc ? 200 : 10);
        cr_assert_eq(key_enc(&h, key), enc ? ENC_HASHTABLE : ENC_LISTPACK);
        int seen[200] = {0};
        for (int i = 0; i < 4000; i++) {
            h_runf(&h, "HRANDFIELD %s", key);
            cr_assert(strncmp(h.last, "$", 1) == 0 && strstr(h.last, "\r\nf"), "%s", h.last);
            seen[atoi(strstr(h.last, "\r\nf") + 3)]++;
        }
        for (int i = 0; i < (enc ? 200 : 10); i++)
            cr_assert(seen[i] > 0, "field f%d never drawn", i);
    }
    h_free(&h);
}

Test(hash, hrandfield_count_errors)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HMSET myhash a 1", "+OK\r\n");
    EXPECT(&h, "HRANDFIELD myhash -9223372036854770000 withvalues",
           "-ERR value is out of range\r\n");
    EXPECT(&h, "HRANDFIELD myhash -9223372036854775808 withvalues",
           "-ERR value is out of range, value must between -9223372036854775807 and "
           "9223372036854775807\r\n");
    EXPECT(&h, "HRANDFIELD myhash -9223372036854775808",
           "-ERR value is out of range, value must between -9223372036854775807 and "
           "9223372036854775807\r\n");
    EXPECT(&h, "HRANDFIELD myhash 4611686018427387904 withvalues",
           "-ERR value is out of range\r\n");
    EXPECT(&h, "HRANDFIELD myhash x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "HRANDFIELD myhash 1 withscores", "-ERR syntax error\r\n");
    EXPECT(&h, "HRANDFIELD myhash 1 withvalues x", "-ERR syntax error\r\n");
    EXPECT(&h, "HRANDFIELD myhash x withvalues", "-ERR value is not an integer or out of range\r\n");
    /* Argument errors come before the key lookup. */
    EXPECT(&h, "HRANDFIELD nokey x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "HRANDFIELD nokey 1 bad", "-ERR syntax error\r\n");
    set_string(&h, "s", "x");
    EXPECT(&h, "HRANDFIELD s 1 bad", "-ERR syntax error\r\n");
    EXPECT(&h, "HRANDFIELD s 1", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    EXPECT(&h, "HRANDFIELD s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    h_free(&h);
}

Test(hash, hrandfield_count_shapes)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HRANDFIELD nokey 100", "*0\r\n");
    EXPECT(&h, "HRANDFIELD nokey -100 WITHVALUES", "*0\r\n");
    EXPECT(&h, "HSET k a 1", ":1\r\n");
    EXPECT(&h, "HRANDFIELD k 0", "*0\r\n");
    EXPECT(&h, "HRANDFIELD k 0 withvalues", "*0\r\n");
    EXPECT(&h, "HRANDFIELD k 1", "*1\r\n$1\r\na\r\n");
    EXPECT(&h, "HRANDFIELD k 1 WithValues", "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT(&h, "HRANDFIELD k -1", "*1\r\n$1\r\na\r\n");
    EXPECT(&h, "HRANDFIELD k -3", "*3\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n");
    EXPECT(&h, "HRANDFIELD k -2 withvalues", "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n1\r\n");
    EXPECT(&h, "HRANDFIELD k 5 withvalues", "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    h_free(&h);
}

/* Checks an HRANDFIELD reply of 10-field hash fN -> vN. */
static void check_randfield(harness *h, const char *key, long long count, bool withvalues,
                            int *hist)
{
    elems e;
    h_runf(h, "HRANDFIELD %s %lld%s", key, count, withvalues ? " WITHVALUES" : "");
    int n = parse_bulks(h->out.data, h->out.len, &e);
    long long abs = count < 0 ? -count : count;
    long long want = count < 0 ? abs : (abs < 10 ? abs : 10);
    cr_assert_eq(n, withvalues ? want * 2 : want, "HRANDFIELD %s %lld", key, count);
    int step = withvalues ? 2 : 1;
    int seen[10] = {0};
    for (int i = 0; i < n; i += step) {
        cr_assert_eq(e.s[i][0], 'f', "%s", e.s[i]);
        int idx = atoi(e.s[i] + 1);
        cr_assert(idx >= 0 && idx < 10);
        if (withvalues)
            cr_assert_str_eq(e.s[i] + 1, e.s[i + 1] + 1, "value goes with its field");
        if (count > 0)
            cr_assert_eq(seen[idx]++, 0, "a positive count gives distinct fields");
        if (hist)
            hist[idx]++;
    }
    elems_free(&e);
}

Test(hash, hrandfield_count_paths_both_encodings)
{
    harness h;
    hash_test_init(&h);
    h.e.cfg.hash_max_listpack_value = 10;
    make_hash(&h, "lp", 10);
    make_hash(&h, "ht", 10);
    /* A long field makes it a hashtable; take it out again. */
    EXPECT(&h, "HSET ht aaaaaaaaaaaaaaaaaaaa 1", ":1\r\n");
    EXPECT(&h, "HDEL ht aaaaaaaaaaaaaaaaaaaa", ":1\r\n");
    cr_assert_eq(key_enc(&h, "lp"), ENC_LISTPACK);
    cr_assert_eq(key_enc(&h, "ht"), ENC_HASHTABLE);
    const char *keys[] = {"lp", "ht"};
    for (int k = 0; k < 2; k++) {
        /* Negative: repeats, exact count, uniform. */
        check_randfield(&h, keys[k], -20, false, NULL);
        check_randfield(&h, keys[k], -1001, false, NULL);
        check_randfield(&h, keys[k], -20, true, NULL);
        check_randfield(&h, keys[k], -1001, true, NULL);
        int hist[10] = {0};
        check_randfield(&h, keys[k], -1000, false, hist);
        double chi = 0;
        for (int i = 0; i < 10; i++)
            chi += (hist[i] - 100.0) * (hist[i] - 100.0) / 100.0;
        cr_assert_lt(chi, 40.0, "%s chi-square %f", keys[k], chi);
        /* Positive, at least the size: the whole hash. */
        check_randfield(&h, keys[k], 10, false, NULL);
        check_randfield(&h, keys[k], 20, true, NULL);
        /* Positive, smaller: distinct, and every field eventually. */
        for (int size = 8; size >= 2; size -= 6) {
            int all[10] = {0};
            for (int it = 0; it < 200; it++)
                check_randfield(&h, keys[k], size, it % 2, all);
            for (int i = 0; i < 10; i++)
                cr_assert(all[i] > 0, "%s size %d: f%d never", keys[k], size, i);
        }
    }
    h_free(&h);
}

Test(hash, hrandfield_few_of_a_big_hashtable)
{
    harness h;
    hash_test_init(&h);
    make_hash(&h, "big", 600);
    cr_assert_eq(key_enc(&h, "big"), ENC_HASHTABLE);
    int all[600] = {0};
    for (int it = 0; it < 300; it++) {
        elems e;
        /* 10 * 3 <= 600: random draws; 250 * 3 > 600: shuffle. */
        int count = it % 3 ? 10 : 250;
        h_runf(&h, "HRANDFIELD big %d%s", count, it % 2 ? " withvalues" : "");
        int n = parse_bulks(h.out.data, h.out.len, &e);
        int step = it % 2 ? 2 : 1;
        cr_assert_eq(n, count * step);
        char *seen = calloc(600, 1);
        for (int i = 0; i < n; i += step) {
            int idx = atoi(e.s[i] + 1);
            cr_assert_eq(seen[idx]++, 0, "distinct");
            if (step == 2)
                cr_assert_str_eq(e.s[i] + 1, e.s[i + 1] + 1);
            all[idx]++;
        }
        free(seen);
        elems_free(&e);
    }
    for (int i = 0; i < 600; i++)
        cr_assert(all[i] > 0, "f%d never", i);
    h_free(&h);
}

Test(hash, hrandfield_is_deterministic_per_seed)
{
    harness a, b;
    h_init_at(&a, 77, 1700000000000LL);
    h_init_at(&b, 77, 1700000000000LL);
    make_hash(&a, "k", 300);
    make_hash(&b, "k", 300);
    const char *cmds[] = {"HRANDFIELD k", "HRANDFIELD k -50 WITHVALUES", "HRANDFIELD k 20",
                          "HRANDFIELD k 200"};
    for (int i = 0; i < 4; i++) {
        char *ra = strdup(h_run(&a, cmds[i]));
        cr_assert_str_eq(ra, h_run(&b, cmds[i]), "%s", cmds[i]);
        free(ra);
    }
    h_free(&a);
    h_free(&b);
}

Test(hash, hrandfield_huge_negative_count_is_bounded)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HSET k a 1", ":1\r\n");
    h.e.cfg.proto_max_bulk_len = 100000;
    EXPECT(&h, "HRANDFIELD k -9223372036854775807", "-ERR value is out of range\r\n");
    EXPECT(&h, "HRANDFIELD k -4611686018427387903 withvalues", "-ERR value is out of range\r\n");
    /* Inside a transaction, only this command's reply is taken back. */
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "HGET k a", "+QUEUED\r\n");
    EXPECT(&h, "HRANDFIELD k -100000000", "+QUEUED\r\n");
    EXPECT(&h, "HRANDFIELD k -2", "+QUEUED\r\n");
    EXPECT(&h, "EXEC",
           "*3\r\n$1\r\n1\r\n-ERR value is out of range\r\n*2\r\n$1\r\na\r\n$1\r\na\r\n");
    /* Within the bound, all of it. */
    elems e;
    cr_assert_eq(run_bulks(&h, "HRANDFIELD k -1000", &e), 1000);
    elems_free(&e);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* WRONGTYPE */

Test(hash, wrongtype_against_a_string)
{
    harness h;
    hash_test_init(&h);
    set_string(&h, "s", "somevalue");
    const char *cmds[] = {
        "HSET s f v", "HSETNX s f v", "HGET s f", "HMSET s f v", "HMGET s f g", "HDEL s f",
        "HLEN s", "HSTRLEN s f", "HEXISTS s f", "HKEYS s", "HVALS s", "HGETALL s",
        "HINCRBY s f 1", "HINCRBYFLOAT s f 1", "HSCAN s 0", "HRANDFIELD s", "HRANDFIELD s 2",
        "HRANDFIELD s -2 WITHVALUES",
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        cr_assert_str_eq(h_run(&h, cmds[i]),
                         "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
                         "%s", cmds[i]);
    /* The string is untouched. */
    kentry *e = db_find(&h.e.db, "s", 1, h.now_ms);
    cr_assert_eq(kentry_type(e), OBJ_STRING);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* Encodings */

Test(hash, conversion_by_number_of_entries)
{
    harness h;
    hash_test_init(&h);
    make_hash(&h, "k", 128);
    cr_assert_eq(key_enc(&h, "k"), ENC_LISTPACK);
    EXPECT(&h, "HSET k f0 updated", ":0\r\n");
    cr_assert_eq(key_enc(&h, "k"), ENC_LISTPACK);
    EXPECT(&h, "HSET k f128 x", ":1\r\n");
    cr_assert_eq(key_enc(&h, "k"), ENC_HASHTABLE);
    /* Never back. */
    for (int i = 0; i < 120; i++)
        h_runf(&h, "HDEL k f%d", i);
    EXPECT(&h, "HLEN k", ":9\r\n");
    cr_assert_eq(key_enc(&h, "k"), ENC_HASHTABLE);
    EXPECT(&h, "HGET k f128", "$1\r\nx\r\n");
    EXPECT(&h, "HGET k f127", "$4\r\nv127\r\n");
    /* One HSET with many pairs converts too. */
    char line[8192];
    size_t n = (size_t)snprintf(line, sizeof(line), "HSET m");
    for (int i = 0; i < 129; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, " f%d %d", i, i);
    EXPECT(&h, line, ":129\r\n");
    cr_assert_eq(key_enc(&h, "m"), ENC_HASHTABLE);
    EXPECT(&h, "HGET m f77", "$2\r\n77\r\n");
    h_free(&h);
}

Test(hash, conversion_by_length)
{
    harness h;
    hash_test_init(&h);
    char v64[65], v65[66];
    memset(v64, 'v', 64);
    v64[64] = '\0';
    memset(v65, 'v', 65);
    v65[65] = '\0';
    h_runf(&h, "HSET a f %s", v64);
    cr_assert_eq(key_enc(&h, "a"), ENC_LISTPACK);
    h_runf(&h, "HSET a %s x", v64);
    cr_assert_eq(key_enc(&h, "a"), ENC_LISTPACK);
    h_runf(&h, "HSET a f %s", v65);
    cr_assert_eq(key_enc(&h, "a"), ENC_HASHTABLE);
    h_runf(&h, "HSET b %s x", v65);
    cr_assert_eq(key_enc(&h, "b"), ENC_HASHTABLE);
    h_runf(&h, "HSETNX c %s x", v65);
    cr_assert_eq(key_enc(&h, "c"), ENC_HASHTABLE);
    h_runf(&h, "HMSET d a 1 b %s", v65);
    cr_assert_eq(key_enc(&h, "d"), ENC_HASHTABLE);
    EXPECT(&h, "HGET d a", "$1\r\n1\r\n");
    /* HSETNX on an existing field changes nothing, so no conversion. */
    EXPECT(&h, "HSET e f 1", ":1\r\n");
    cr_assert_str_eq(h_runf(&h, "HSETNX e f %s", v65), ":0\r\n");
    cr_assert_eq(key_enc(&h, "e"), ENC_LISTPACK);
    /* HINCRBY with a long field. */
    h_runf(&h, "HINCRBY g %s 1", v65);
    cr_assert_eq(key_enc(&h, "g"), ENC_HASHTABLE);
    h_free(&h);
}

Test(hash, hincrbyfloat_over_listpack_value_limit)
{
    harness h;
    hash_test_init(&h);
    h.e.cfg.hash_max_listpack_value = 8;
    EXPECT(&h, "HSET smallhash tmp 0", ":1\r\n");
    EXPECT(&h, "HSET bighash tmp 0", ":1\r\n");
    EXPECT(&h, "HINCRBYFLOAT smallhash tmp 0.000005", "$8\r\n0.000005\r\n");
    EXPECT(&h, "HINCRBYFLOAT bighash tmp 0.0000005", "$9\r\n0.0000005\r\n");
    cr_assert_eq(key_enc(&h, "smallhash"), ENC_LISTPACK);
    cr_assert_eq(key_enc(&h, "bighash"), ENC_HASHTABLE);
    EXPECT(&h, "HINCRBYFLOAT smallhash2 abcdefgh 1", "$1\r\n1\r\n");
    EXPECT(&h, "HINCRBYFLOAT bighash2 abcdefghi 1", "$1\r\n1\r\n");
    cr_assert_eq(key_enc(&h, "smallhash2"), ENC_LISTPACK);
    cr_assert_eq(key_enc(&h, "bighash2"), ENC_HASHTABLE);
    /* HINCRBY's result is checked too. */
    h.e.cfg.hash_max_listpack_value = 3;
    EXPECT(&h, "HINCRBY inc f 999", ":999\r\n");
    cr_assert_eq(key_enc(&h, "inc"), ENC_LISTPACK);
    EXPECT(&h, "HINCRBY inc f 1", ":1000\r\n");
    cr_assert_eq(key_enc(&h, "inc"), ENC_HASHTABLE);
    h_free(&h);
}

Test(hash, lowered_entries_limit_converts_on_next_set)
{
    harness h;
    hash_test_init(&h);
    make_hash(&h, "k", 10);
    h.e.cfg.hash_max_listpack_entries = 4;
    /* Reads do not convert; any set does, even an update (Redis checks the
     * length after every hashTypeSet). */
    EXPECT(&h, "HGET k f0", "$2\r\nv0\r\n");
    EXPECT(&h, "HDEL k f9", ":1\r\n");
    cr_assert_eq(key_enc(&h, "k"), ENC_LISTPACK);
    EXPECT(&h, "HSETNX k f0 x", ":0\r\n");
    cr_assert_eq(key_enc(&h, "k"), ENC_LISTPACK);
    EXPECT(&h, "HSET k f0 x", ":0\r\n");
    cr_assert_eq(key_enc(&h, "k"), ENC_HASHTABLE);
    EXPECT(&h, "HGET k f0", "$1\r\nx\r\n");
    h.e.cfg.hash_max_listpack_entries = 0;
    EXPECT(&h, "HSET z a b", ":1\r\n");
    cr_assert_eq(key_enc(&h, "z"), ENC_HASHTABLE);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* Binary safety */

Test(hash, binary_fields_and_values)
{
    harness h;
    hash_test_init(&h);
    for (int enc = 0; enc < 2; enc++) {
        const char *key = enc ? "big" : "k";
        if (enc)
            make_hash(&h, key, 200);
        EXPECT(&h, enc ? "HSET big \"a\\x00b\" \"\\r\\n\\x00\"" : "HSET k \"a\\x00b\" \"\\r\\n\\x00\"",
               ":1\r\n");
        h_runf(&h, "HSET %s \"a\\x00c\" x", key);
        h_runf(&h, "HSET %s a y", key);
        h_runf(&h, "HGET %s \"a\\x00b\"", key);
        cr_assert_eq(h.out.len, 9);
        cr_assert(memcmp(h.out.data, "$3\r\n\r\n\0\r\n", 9) == 0);
        cr_assert_str_eq(h_runf(&h, "HGET %s \"a\\x00c\"", key), "$1\r\nx\r\n");
        cr_assert_str_eq(h_runf(&h, "HGET %s a", key), "$1\r\ny\r\n");
        cr_assert_str_eq(h_runf(&h, "HGET %s \"a\\x00\"", key), "$-1\r\n");
        cr_assert_str_eq(h_runf(&h, "HSTRLEN %s \"a\\x00b\"", key), ":3\r\n");
        cr_assert_str_eq(h_runf(&h, "HEXISTS %s \"a\\x00b\"", key), ":1\r\n");
        cr_assert_str_eq(h_runf(&h, "HDEL %s \"a\\x00b\"", key), ":1\r\n");
        cr_assert_str_eq(h_runf(&h, "HEXISTS %s \"a\\x00b\"", key), ":0\r\n");
        cr_assert_str_eq(h_runf(&h, "HEXISTS %s \"a\\x00c\"", key), ":1\r\n");
    }
    /* HGETALL of a binary listpack, byte for byte. */
    EXPECT(&h, "HSET bin \"\\x00\" \"\\x01\\x02\"", ":1\r\n");
    h_run(&h, "HGETALL bin");
    static const char want[] = "*2\r\n$1\r\n\0\r\n$2\r\n\x01\x02\r\n";
    cr_assert_eq(h.out.len, sizeof(want) - 1);
    cr_assert(memcmp(h.out.data, want, sizeof(want) - 1) == 0);
    /* MATCH against binary fields. */
    h_run(&h, "HSCAN bin 0 MATCH \"\\x00\"");
    static const char want2[] = "*2\r\n$1\r\n0\r\n*2\r\n$1\r\n\0\r\n$2\r\n\x01\x02\r\n";
    cr_assert_eq(h.out.len, sizeof(want2) - 1);
    cr_assert(memcmp(h.out.data, want2, sizeof(want2) - 1) == 0);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* WATCH, dirty, expiry, stats */

/* Runs `write` from another client between WATCH and EXEC; returns
 * whether EXEC ran (the write did not touch the key). */
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

Test(hash, watch_sees_hash_writes)
{
    harness h;
    hash_test_init(&h);
    cr_assert_not(exec_survives(&h, "HSET k a 1", "HSET k a 2"));
    cr_assert_not(exec_survives(&h, NULL, "HSET k b 1")); /* k exists now: in-place change */
    cr_assert_not(exec_survives(&h, NULL, "HSET k b 1")); /* same value: still a write */
    cr_assert_not(exec_survives(&h, NULL, "HMSET k c 1"));
    cr_assert_not(exec_survives(&h, NULL, "HSETNX k new 1"));
    cr_assert(exec_survives(&h, NULL, "HSETNX k new 2"));
    cr_assert_not(exec_survives(&h, NULL, "HINCRBY k n 1"));
    cr_assert_not(exec_survives(&h, NULL, "HINCRBYFLOAT k n 1.5"));
    cr_assert(exec_survives(&h, NULL, "HINCRBY k a notanumber"));
    cr_assert(exec_survives(&h, NULL, "HINCRBY k new2 x"));
    cr_assert(exec_survives(&h, NULL, "HDEL k nosuchfield"));
    cr_assert_not(exec_survives(&h, NULL, "HDEL k a"));
    cr_assert(exec_survives(&h, NULL, "HGETALL k"));
    cr_assert(exec_survives(&h, NULL, "HRANDFIELD k -5"));
    cr_assert(exec_survives(&h, NULL, "HSCAN k 0"));
    /* Deleting the last field deletes the key: also a change. */
    cr_assert_not(exec_survives(&h, NULL, "HDEL k b c n new"));
    cr_assert_not(key_exists(&h, "k"));
    /* Creating the watched key. */
    cr_assert_not(exec_survives(&h, NULL, "HSET k a 1"));
    /* In a hashtable too, and across the conversion. */
    make_hash(&h, "k", 127);
    cr_assert_not(exec_survives(&h, NULL, "HSET k x y z w"));
    cr_assert_eq(key_enc(&h, "k"), ENC_HASHTABLE);
    cr_assert_not(exec_survives(&h, NULL, "HSET k x 2"));
    h_free(&h);
}

Test(hash, dirty_counts_changes)
{
    harness h;
    hash_test_init(&h);
    uint64_t d0 = h.e.stats.dirty;
    EXPECT(&h, "HSET k a 1 b 2", ":2\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 2);
    EXPECT(&h, "HSET k a 1", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 3);
    EXPECT(&h, "HMSET k a 1 c 3", "+OK\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 5);
    EXPECT(&h, "HSETNX k a 1", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 5);
    EXPECT(&h, "HSETNX k d 1", ":1\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 6);
    EXPECT(&h, "HINCRBY k a 1", ":2\r\n");
    EXPECT(&h, "HINCRBYFLOAT k a 1", "$1\r\n3\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 8);
    EXPECT(&h, "HINCRBY k a x", "-ERR value is not an integer or out of range\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 8);
    EXPECT(&h, "HDEL k a b nope", ":2\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 10);
    EXPECT(&h, "HDEL k nope", ":0\r\n");
    EXPECT(&h, "HGET k c", "$1\r\n3\r\n");
    EXPECT(&h, "HGETALL k", "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n1\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 10);
    h_free(&h);
}

Test(hash, expired_hash_is_absent)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HSET k a 1 b 2", ":2\r\n");
    kentry *e = db_find(&h.e.db, "k", 1, h.now_ms);
    db_set_deadline(&h.e.db, &e, h.now_ms + 100);
    EXPECT(&h, "HGET k a", "$1\r\n1\r\n");
    h.now_ms += 101; /* strictly past the deadline */
    EXPECT(&h, "HGET k a", "$-1\r\n");
    EXPECT(&h, "HLEN k", ":0\r\n");
    EXPECT(&h, "HSET k c 3", ":1\r\n"); /* a new hash, without the old fields */
    EXPECT(&h, "HGETALL k", "*2\r\n$1\r\nc\r\n$1\r\n3\r\n");
    cr_assert_eq(kentry_deadline(db_find(&h.e.db, "k", 1, h.now_ms)), -1);
    h_free(&h);
}

Test(hash, writes_keep_the_ttl)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HSET k a 1", ":1\r\n");
    kentry *e = db_find(&h.e.db, "k", 1, h.now_ms);
    db_set_deadline(&h.e.db, &e, h.now_ms + 5000);
    make_hash(&h, "k", 200); /* grows and converts */
    EXPECT(&h, "HDEL k a", ":1\r\n");
    cr_assert_eq(kentry_deadline(db_find(&h.e.db, "k", 1, h.now_ms)), h.now_ms + 5000);
    cr_assert(db_check(&h.e.db));
    h_free(&h);
}

Test(hash, keyspace_hits_and_misses)
{
    harness h;
    hash_test_init(&h);
    EXPECT(&h, "HSET k a 1", ":1\r\n");
    uint64_t hits = h.e.db.stats.hits, misses = h.e.db.stats.misses;
    EXPECT(&h, "HGET k a", "$1\r\n1\r\n");
    EXPECT(&h, "HGET nokey a", "$-1\r\n");
    EXPECT(&h, "HGET k nofield", "$-1\r\n"); /* the key was found: a hit */
    cr_assert_eq(h.e.db.stats.hits - hits, 2);
    cr_assert_eq(h.e.db.stats.misses - misses, 1);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* The table */

Test(hash, command_table)
{
    harness h;
    hash_test_init(&h);
    struct {
        const char *name;
        int arity;
        uint64_t flags;
        const char *acl;
    } want[] = {
        {"hset", -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, "@write @hash @fast"},
        {"hsetnx", 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, "@write @hash @fast"},
        {"hget", 3, CMD_READONLY | CMD_FAST, "@read @hash @fast"},
        {"hmset", -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, "@write @hash @fast"},
        {"hmget", -3, CMD_READONLY | CMD_FAST, "@read @hash @fast"},
        {"hdel", -3, CMD_WRITE | CMD_FAST, "@write @hash @fast"},
        {"hlen", 2, CMD_READONLY | CMD_FAST, "@read @hash @fast"},
        {"hstrlen", 3, CMD_READONLY | CMD_FAST, "@read @hash @fast"},
        {"hexists", 3, CMD_READONLY | CMD_FAST, "@read @hash @fast"},
        {"hkeys", 2, CMD_READONLY, "@read @hash @slow"},
        {"hvals", 2, CMD_READONLY, "@read @hash @slow"},
        {"hgetall", 2, CMD_READONLY, "@read @hash @slow"},
        {"hincrby", 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, "@write @hash @fast"},
        {"hincrbyfloat", 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, "@write @hash @fast"},
        {"hscan", -3, CMD_READONLY, "@read @hash @slow"},
        {"hrandfield", -2, CMD_READONLY, "@read @hash @slow"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const cmd_entry *ce = engine_lookup_name(&h.e, want[i].name, strlen(want[i].name));
        cr_assert_not_null(ce, "%s", want[i].name);
        const cmd_def *d = ce->def;
        cr_assert_eq(d->arity, want[i].arity, "%s", want[i].name);
        cr_assert_eq(d->flags, want[i].flags, "%s", want[i].name);
        cr_assert_str_eq(d->acl, want[i].acl, "%s", want[i].name);
        cr_assert_eq(d->first_key, 1);
        cr_assert_eq(d->last_key, 1);
        cr_assert_eq(d->key_step, 1);
        cr_assert_str_eq(d->group, "hash");
        cr_assert(d->since && d->summary && d->complexity && d->args);
        cr_assert_not_null(d->fn);
    }
    for (const cmd_def *d = cmd_hash; d->name; d++)
        cr_assert(d->fn != NULL);
    /* Arity errors come from the dispatcher. */
    EXPECT(&h, "HGET k", "-ERR wrong number of arguments for 'hget' command\r\n");
    EXPECT(&h, "HLEN", "-ERR wrong number of arguments for 'hlen' command\r\n");
    EXPECT(&h, "HSCAN k", "-ERR wrong number of arguments for 'hscan' command\r\n");
    EXPECT(&h, "HRANDFIELD", "-ERR wrong number of arguments for 'hrandfield' command\r\n");
    EXPECT(&h, "HINCRBY k f", "-ERR wrong number of arguments for 'hincrby' command\r\n");
    h_free(&h);
}
