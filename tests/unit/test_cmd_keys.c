/* The generic key commands and expiry (core/cmd/keys.c) against Redis
 * 7.0's replies, byte for byte, and the active expire cycle.
 *
 * Keys are created straight in the db (put*), so these tests do not depend
 * on the string family's SET. */
#include <limits.h>

#include "engine_harness.h"

#define T0 1700000000000LL

/* ---- setup helpers ---- */

static void put(harness *h, const char *k, const char *v)
{
    db_set_str(&h->e.db, k, strlen(k), v, strlen(v), -1);
}

/* A key that expires ms milliseconds from the harness's now. */
static void put_px(harness *h, const char *k, const char *v, int64_t ms)
{
    db_set_str(&h->e.db, k, strlen(k), v, strlen(v), h->now_ms + ms);
}

static kentry *peek(harness *h, const char *k)
{
    return (kentry *)dict_find(&h->e.db.keys, k, strlen(k));
}

/* Finishes any rehash in progress, so a SCAN returns no duplicates. */
static void settle(harness *h)
{
    while (dict_rehash(&h->e.db.keys, 1000))
        ;
    while (dict_rehash(&h->e.db.expires, 1000))
        ;
}

static bool has_cmd(harness *h, const char *name)
{
    return engine_lookup_name(&h->e, name, strlen(name)) != NULL;
}

/* ---- a reader for the replies of SCAN / KEYS ---- */

typedef struct keylist {
    long long cursor; /* SCAN only */
    int n;
    char **k;
    size_t *len;
} keylist;

static long long read_num(const char **p, char type)
{
    cr_assert_eq(**p, type, "expected '%c', got '%c' in reply", type, **p);
    (*p)++;
    char *end;
    long long v = strtoll(*p, &end, 10);
    cr_assert(end[0] == '\r' && end[1] == '\n');
    *p = end + 2;
    return v;
}

static void read_bulks(const char **p, keylist *l)
{
    long long n = read_num(p, '*');
    l->n = (int)n;
    l->k = calloc((size_t)n + 1, sizeof(char *));
    l->len = calloc((size_t)n + 1, sizeof(size_t));
    for (long long i = 0; i < n; i++) {
        long long len = read_num(p, '$');
        l->k[i] = malloc((size_t)len + 1);
        memcpy(l->k[i], *p, (size_t)len);
        l->k[i][len] = '\0';
        l->len[i] = (size_t)len;
        *p += len;
        cr_assert((*p)[0] == '\r' && (*p)[1] == '\n');
        *p += 2;
    }
}

static void keylist_free(keylist *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->k[i]);
    free(l->k);
    free(l->len);
    memset(l, 0, sizeof(*l));
}

/* Runs a SCAN line and reads its reply. */
static void scan_once(harness *h, const char *line, keylist *l)
{
    h_run(h, line);
    const char *p = h->out.data;
    cr_assert_eq(read_num(&p, '*'), 2, "%s: %s", line, h->last);
    long long clen = read_num(&p, '$');
    char tmp[32];
    cr_assert(clen > 0 && clen < 32);
    memcpy(tmp, p, (size_t)clen);
    tmp[clen] = '\0';
    l->cursor = strtoll(tmp, NULL, 10);
    p += clen + 2;
    read_bulks(&p, l);
    cr_assert_eq((size_t)(p - h->out.data), h->out.len, "trailing bytes after SCAN reply");
}

static void keys_of(harness *h, const char *line, keylist *l)
{
    h_run(h, line);
    const char *p = h->out.data;
    read_bulks(&p, l);
    cr_assert_eq((size_t)(p - h->out.data), h->out.len);
}

/* A full SCAN iteration with the given options: every key seen, in order,
 * joined with '\n' (duplicates kept). Returns the number of calls. */
static int scan_all(harness *h, const char *opts, kbuf *seen)
{
    long long cursor = 0;
    int calls = 0;
    do {
        keylist l;
        char line[256];
        snprintf(line, sizeof(line), "SCAN %lld %s", cursor, opts);
        scan_once(h, line, &l);
        for (int i = 0; i < l.n; i++) {
            kbuf_append(seen, l.k[i], l.len[i]);
            kbuf_putc(seen, '\n');
        }
        cursor = l.cursor;
        keylist_free(&l);
        calls++;
        cr_assert(calls < 100000, "SCAN does not terminate");
    } while (cursor != 0);
    return calls;
}

static int count_lines(const kbuf *b)
{
    int n = 0;
    for (size_t i = 0; i < b->len; i++)
        n += b->data[i] == '\n';
    return n;
}

static bool has_line(const kbuf *b, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < b->len;) {
        const char *nl = memchr(b->data + i, '\n', b->len - i);
        size_t end = nl ? (size_t)(nl - b->data) : b->len;
        if (end - i == n && memcmp(b->data + i, s, n) == 0)
            return true;
        i = end + 1;
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* DEL UNLINK EXISTS TOUCH TYPE */

Test(keys_del, counts_deleted_keys_and_dirty)
{
    harness h;
    h_init(&h);
    put(&h, "a", "1");
    put(&h, "b", "2");
    put(&h, "c", "3");
    uint64_t d0 = h.e.stats.dirty;
    EXPECT(&h, "DEL a", ":1\r\n");
    EXPECT(&h, "DEL a", ":0\r\n");
    EXPECT(&h, "DEL b c missing b", ":2\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 3);
    cr_assert_eq(db_size(&h.e.db), 0);
    EXPECT(&h, "DEL", "-ERR wrong number of arguments for 'del' command\r\n");
    put(&h, "x", "1");
    put(&h, "y", "2");
    EXPECT(&h, "UNLINK x y z", ":2\r\n");
    EXPECT(&h, "UNLINK x", ":0\r\n");
    EXPECT(&h, "UNLINK", "-ERR wrong number of arguments for 'unlink' command\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 5);
    h_free(&h);
}

Test(keys_del, expired_key_counts_as_missing)
{
    harness h;
    h_init(&h);
    put_px(&h, "k", "v", 1000);
    h.now_ms += 1100;
    uint64_t d0 = h.e.stats.dirty;
    EXPECT(&h, "DEL k", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty, d0);
    cr_assert_eq(h.e.db.stats.expired, 1);
    cr_assert_eq(db_size(&h.e.db), 0);
    cr_assert(db_check(&h.e.db));
    h_free(&h);
}

Test(keys_del, binary_keys)
{
    harness h;
    h_init(&h);
    db_set_str(&h.e.db, "a\0b", 3, "v", 1, -1);
    db_set_str(&h.e.db, "a\r\nb", 4, "v", 1, -1);
    db_set_str(&h.e.db, "", 0, "empty", 5, -1);
    EXPECT(&h, "EXISTS \"a\\x00b\" \"a\\r\\nb\" \"\" a", ":3\r\n");
    EXPECT(&h, "DEL \"a\\x00b\"", ":1\r\n");
    EXPECT(&h, "EXISTS \"a\\x00b\" a", ":0\r\n");
    EXPECT(&h, "TYPE \"\"", "+string\r\n");
    EXPECT(&h, "DEL \"\" \"a\\r\\nb\"", ":2\r\n");
    cr_assert_eq(db_size(&h.e.db), 0);
    h_free(&h);
}

Test(keys_exists, counts_repeats_and_keyspace_stats)
{
    harness h;
    h_init(&h);
    put(&h, "a", "1");
    EXPECT(&h, "EXISTS a", ":1\r\n");
    EXPECT(&h, "EXISTS a a a", ":3\r\n");
    EXPECT(&h, "EXISTS a b a", ":2\r\n");
    EXPECT(&h, "EXISTS nope", ":0\r\n");
    EXPECT(&h, "EXISTS", "-ERR wrong number of arguments for 'exists' command\r\n");
    /* Each key looked up counts as a hit or a miss, as lookupKeyRead. */
    cr_assert_eq(h.e.db.stats.hits, 6);
    cr_assert_eq(h.e.db.stats.misses, 2);
    h_free(&h);
}

Test(keys_exists, expired_keys_do_not_exist)
{
    harness h;
    h_init(&h);
    put_px(&h, "k", "v", 100);
    EXPECT(&h, "EXISTS k", ":1\r\n");
    h.now_ms += 101;
    EXPECT(&h, "EXISTS k", ":0\r\n");
    cr_assert_eq(h.e.db.stats.expired, 1);
    h_free(&h);
}

Test(keys_touch, counts_and_resets_idle_time)
{
    harness h;
    h_init(&h);
    put(&h, "a", "1");
    put(&h, "b", "2");
    h.now_ms += 10000;
    EXPECT(&h, "OBJECT IDLETIME a", ":10\r\n");
    EXPECT(&h, "TOUCH a a nope", ":2\r\n");
    EXPECT(&h, "OBJECT IDLETIME a", ":0\r\n");
    EXPECT(&h, "OBJECT IDLETIME b", ":10\r\n");
    EXPECT(&h, "TOUCH", "-ERR wrong number of arguments for 'touch' command\r\n");
    h_free(&h);
}

Test(keys_type, string_none_and_no_touch)
{
    harness h;
    h_init(&h);
    put(&h, "s", "hello");
    put(&h, "i", "12");
    put_px(&h, "gone", "x", 5);
    EXPECT(&h, "TYPE s", "+string\r\n");
    EXPECT(&h, "TYPE i", "+string\r\n");
    EXPECT(&h, "TYPE nope", "+none\r\n");
    h.now_ms += 5000;
    EXPECT(&h, "TYPE gone", "+none\r\n");
    EXPECT(&h, "TYPE s s", "-ERR wrong number of arguments for 'type' command\r\n");
    /* TYPE, EXISTS, TTL and OBJECT leave the access time alone. */
    EXPECT(&h, "EXISTS s", ":1\r\n");
    EXPECT(&h, "TTL s", ":-1\r\n");
    EXPECT(&h, "OBJECT ENCODING s", "$6\r\nembstr\r\n");
    EXPECT(&h, "OBJECT IDLETIME s", ":5\r\n");
    h_free(&h);
}

Test(keys_type, other_types)
{
    harness h;
    h_init(&h);
    if (!has_cmd(&h, "hset")) {
        h_free(&h);
        cr_skip_test("HSET is not built yet");
    }
    EXPECT(&h, "HSET h f v", ":1\r\n");
    EXPECT(&h, "TYPE h", "+hash\r\n");
    EXPECT(&h, "OBJECT ENCODING h", "$8\r\nlistpack\r\n");
    EXPECT(&h, "OBJECT REFCOUNT h", ":1\r\n");
    put(&h, "s", "v");
    keylist l;
    scan_once(&h, "SCAN 0 TYPE hash", &l);
    cr_assert_eq(l.n, 1);
    cr_assert_str_eq(l.k[0], "h");
    keylist_free(&l);
    EXPECT(&h, "COPY h h2", ":1\r\n");
    EXPECT(&h, "TYPE h2", "+hash\r\n");
    EXPECT(&h, "RENAME h2 h3", "+OK\r\n");
    EXPECT(&h, "TYPE h3", "+hash\r\n");
    cr_assert(db_check(&h.e.db));
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* KEYS */

Test(keys_keys, patterns)
{
    harness h;
    h_init(&h);
    const char *names[] = {"foo_a", "foo_b", "foo_c", "key_x", "key_y", "key_z", "hello"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        put(&h, names[i], "v");
    keylist l;
    keys_of(&h, "KEYS foo*", &l);
    cr_assert_eq(l.n, 3);
    for (int i = 0; i < l.n; i++)
        cr_assert(strncmp(l.k[i], "foo_", 4) == 0);
    keylist_free(&l);
    keys_of(&h, "KEYS *", &l);
    cr_assert_eq(l.n, 7);
    keylist_free(&l);
    keys_of(&h, "KEYS key_[xz]", &l);
    cr_assert_eq(l.n, 2);
    keylist_free(&l);
    keys_of(&h, "KEYS h?llo", &l);
    cr_assert_eq(l.n, 1);
    cr_assert_str_eq(l.k[0], "hello");
    keylist_free(&l);
    EXPECT(&h, "KEYS nomatch*", "*0\r\n");
    EXPECT(&h, "KEYS", "-ERR wrong number of arguments for 'keys' command\r\n");
    EXPECT(&h, "KEYS a b", "-ERR wrong number of arguments for 'keys' command\r\n");
    h_free(&h);
}

Test(keys_keys, star_matches_the_empty_key)
{
    harness h;
    h_init(&h);
    db_set_str(&h.e.db, "", 0, "v", 1, -1);
    EXPECT(&h, "KEYS *", "*1\r\n$0\r\n\r\n");
    /* Only the exact pattern "*" is special: "**" goes through the matcher,
     * which does not match an empty string. */
    EXPECT(&h, "KEYS **", "*0\r\n");
    EXPECT(&h, "KEYS \"\"", "*1\r\n$0\r\n\r\n");
    db_set_str(&h.e.db, "a\0b", 3, "v", 1, -1);
    h_run(&h, "KEYS a?b");
    cr_assert_eq(h.out.len, 13);
    cr_assert(memcmp(h.out.data, "*1\r\n$3\r\na\0b\r\n", 13) == 0);
    h_free(&h);
}

Test(keys_keys, skips_expired_keys_without_deleting)
{
    harness h;
    h_init(&h);
    put(&h, "live", "v");
    put_px(&h, "dead", "v", 10);
    h.now_ms += 1000;
    EXPECT(&h, "KEYS *", "*1\r\n$4\r\nlive\r\n");
    EXPECT(&h, "KEYS d*", "*0\r\n");
    cr_assert_eq(db_size(&h.e.db), 2);
    cr_assert_eq(h.e.db.stats.expired, 0);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* SCAN */

Test(keys_scan, full_iteration_returns_every_key)
{
    harness h;
    h_init(&h);
    char k[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        put(&h, k, "v");
    }
    settle(&h);
    kbuf seen = KBUF_INIT;
    int calls = scan_all(&h, "", &seen);
    cr_assert_gt(calls, 50); /* COUNT 10 by default */
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        cr_assert(has_line(&seen, k), "%s not returned", k);
    }
    cr_assert_eq(count_lines(&seen), 1000); /* no rehash: no duplicates */
    kbuf_free(&seen);
    h_free(&h);
}

Test(keys_scan, count_is_a_hint)
{
    harness h;
    h_init(&h);
    char k[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        put(&h, k, "v");
    }
    settle(&h);
    for (int count = 5; count <= 100; count += 5) {
        kbuf seen = KBUF_INIT;
        char opts[32];
        snprintf(opts, sizeof(opts), "COUNT %d", count);
        long long cursor = 0;
        do {
            keylist l;
            char line[64];
            snprintf(line, sizeof(line), "SCAN %lld %s", cursor, opts);
            scan_once(&h, line, &l);
            /* At least COUNT keys per call unless done; a bucket more at most. */
            if (l.cursor != 0)
                cr_assert_geq(l.n, count, "COUNT %d gave %d", count, l.n);
            cr_assert_lt(l.n, count + 16);
            for (int i = 0; i < l.n; i++) {
                kbuf_append(&seen, l.k[i], l.len[i]);
                kbuf_putc(&seen, '\n');
            }
            cursor = l.cursor;
            keylist_free(&l);
        } while (cursor);
        cr_assert_eq(count_lines(&seen), 1000);
        kbuf_free(&seen);
    }
    /* COUNT larger than the db: one call does it all. */
    keylist l;
    scan_once(&h, "SCAN 0 COUNT 5000", &l);
    cr_assert_eq(l.cursor, 0);
    cr_assert_eq(l.n, 1000);
    keylist_free(&l);
    scan_once(&h, "SCAN 0 COUNT 9223372036854775807", &l);
    cr_assert_eq(l.cursor, 0);
    cr_assert_eq(l.n, 1000);
    keylist_free(&l);
    h_free(&h);
}

Test(keys_scan, match_and_type)
{
    harness h;
    h_init(&h);
    char k[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "key:%d", i);
        put(&h, k, "v");
    }
    settle(&h);
    kbuf seen = KBUF_INIT;
    scan_all(&h, "MATCH key:1??", &seen);
    cr_assert_eq(count_lines(&seen), 100);
    kbuf_free(&seen);

    seen = (kbuf)KBUF_INIT;
    scan_all(&h, "match * count 100", &seen);
    cr_assert_eq(count_lines(&seen), 1000);
    kbuf_free(&seen);

    seen = (kbuf)KBUF_INIT;
    scan_all(&h, "TYPE string COUNT 100", &seen);
    cr_assert_eq(count_lines(&seen), 1000);
    kbuf_free(&seen);

    seen = (kbuf)KBUF_INIT;
    scan_all(&h, "TYPE STRING MATCH key:99?", &seen);
    cr_assert_eq(count_lines(&seen), 10);
    kbuf_free(&seen);

    /* An unknown type name is no error: nothing matches it. */
    seen = (kbuf)KBUF_INIT;
    scan_all(&h, "TYPE hash", &seen);
    cr_assert_eq(count_lines(&seen), 0);
    kbuf_free(&seen);
    seen = (kbuf)KBUF_INIT;
    scan_all(&h, "TYPE nosuchtype", &seen);
    cr_assert_eq(count_lines(&seen), 0);
    kbuf_free(&seen);
    h_free(&h);
}

Test(keys_scan, type_filter_counts_hits)
{
    harness h;
    h_init(&h);
    put(&h, "a1", "v");
    put(&h, "a2", "v");
    put(&h, "b1", "v");
    h_run(&h, "SCAN 0 COUNT 100");
    cr_assert(strncmp(h.last, "*2\r\n$1\r\n0\r\n*3\r\n", 15) == 0, "%s", h.last);
    cr_assert_eq(h.e.db.stats.hits, 0);
    h_run(&h, "SCAN 0 COUNT 100 MATCH a* TYPE string");
    /* Redis looks up each key that passed MATCH to learn its type. */
    cr_assert_eq(h.e.db.stats.hits, 2);
    h_free(&h);
}

Test(keys_scan, empty_db_and_single_key_replies)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SCAN 0", "*2\r\n$1\r\n0\r\n*0\r\n");
    EXPECT(&h, "SCAN 12345", "*2\r\n$1\r\n0\r\n*0\r\n");
    put(&h, "k", "v");
    EXPECT(&h, "SCAN 0", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n");
    EXPECT(&h, "SCAN 0 MATCH x*", "*2\r\n$1\r\n0\r\n*0\r\n");
    h_free(&h);
}

Test(keys_scan, cursor_parsing)
{
    harness h;
    h_init(&h);
    put(&h, "k", "v");
    const char *ok = "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n";
    /* strtoul's rules: sign allowed, "" is 0, text ends at a NUL. */
    EXPECT(&h, "SCAN +0", ok);
    EXPECT(&h, "SCAN -0", ok);
    EXPECT(&h, "SCAN \"\"", ok);
    EXPECT(&h, "SCAN \"0\\x00junk\"", ok);
    EXPECT(&h, "SCAN 00000000000000000000000000000000000000", ok);
    /* Any cursor is accepted (what a stray one visits depends on the hash). */
    h_run(&h, "SCAN 18446744073709551615");
    cr_assert(strncmp(h.last, "*2\r\n$1\r\n0\r\n", 11) == 0, "%s", h.last);
    h_run(&h, "SCAN -1");
    cr_assert(strncmp(h.last, "*2\r\n$1\r\n0\r\n", 11) == 0, "%s", h.last);
    const char *bad = "-ERR invalid cursor\r\n";
    EXPECT(&h, "SCAN 18446744073709551616", bad);
    EXPECT(&h, "SCAN -18446744073709551616", bad);
    EXPECT(&h, "SCAN abc", bad);
    EXPECT(&h, "SCAN \" 0\"", bad);
    EXPECT(&h, "SCAN \"0 \"", bad);
    EXPECT(&h, "SCAN 0x10", bad);
    EXPECT(&h, "SCAN +", bad);
    EXPECT(&h, "SCAN -", bad);
    EXPECT(&h, "SCAN 1.5", bad);
    /* The cursor is checked before the options. */
    EXPECT(&h, "SCAN x COUNT 0", bad);
    EXPECT(&h, "SCAN", "-ERR wrong number of arguments for 'scan' command\r\n");
    h_free(&h);
}

Test(keys_scan, option_errors)
{
    harness h;
    h_init(&h);
    put(&h, "k", "v");
    EXPECT(&h, "SCAN 0 COUNT 0", "-ERR syntax error\r\n");
    EXPECT(&h, "SCAN 0 COUNT -1", "-ERR syntax error\r\n");
    EXPECT(&h, "SCAN 0 COUNT abc", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "SCAN 0 COUNT 99999999999999999999", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "SCAN 0 COUNT", "-ERR syntax error\r\n");
    EXPECT(&h, "SCAN 0 MATCH", "-ERR syntax error\r\n");
    EXPECT(&h, "SCAN 0 TYPE", "-ERR syntax error\r\n");
    EXPECT(&h, "SCAN 0 FOO bar", "-ERR syntax error\r\n");
    EXPECT(&h, "SCAN 0 MATCH * junk", "-ERR syntax error\r\n");
    /* Options are read in order: the first bad one answers. */
    EXPECT(&h, "SCAN 0 COUNT x FOO", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "SCAN 0 FOO COUNT x", "-ERR syntax error\r\n");
    /* Repeated options: the last wins. */
    EXPECT(&h, "SCAN 0 MATCH x MATCH k COUNT 0", "-ERR syntax error\r\n");
    EXPECT(&h, "SCAN 0 MATCH x MATCH k", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n");
    h_free(&h);
}

Test(keys_scan, expired_keys_are_skipped_and_deleted)
{
    harness h;
    h_init(&h);
    char k[32];
    for (int i = 0; i < 200; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        if (i % 2)
            put_px(&h, k, "v", 50);
        else
            put(&h, k, "v");
    }
    h.now_ms += 100;
    settle(&h);
    kbuf seen = KBUF_INIT;
    scan_all(&h, "COUNT 20", &seen);
    cr_assert_eq(count_lines(&seen), 100);
    cr_assert(has_line(&seen, "k0"));
    cr_assert(!has_line(&seen, "k1"));
    kbuf_free(&seen);
    cr_assert_eq(db_size(&h.e.db), 100);
    cr_assert_eq(db_expires_count(&h.e.db), 0);
    cr_assert_eq(h.e.db.stats.expired, 100);
    cr_assert(db_check(&h.e.db));
    h_free(&h);
}

Test(keys_scan, keys_present_throughout_are_returned_across_growth)
{
    harness h;
    h_init(&h);
    char k[32];
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "old%d", i);
        put(&h, k, "v");
    }
    kbuf seen = KBUF_INIT;
    long long cursor = 0;
    int added = 0, calls = 0;
    do {
        keylist l;
        char line[64];
        snprintf(line, sizeof(line), "SCAN %lld COUNT 3", cursor);
        scan_once(&h, line, &l);
        for (int i = 0; i < l.n; i++) {
            kbuf_append(&seen, l.k[i], l.len[i]);
            kbuf_putc(&seen, '\n');
        }
        cursor = l.cursor;
        keylist_free(&l);
        /* The table grows (and rehashes) while the scan goes on. */
        for (int j = 0; j < 20 && added < 2000; j++, added++) {
            snprintf(k, sizeof(k), "new%d", added);
            put(&h, k, "v");
        }
        cr_assert_lt(++calls, 100000);
    } while (cursor);
    cr_assert_gt(added, 500, "the table should have grown during the scan");
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "old%d", i);
        cr_assert(has_line(&seen, k), "%s missed", k);
    }
    kbuf_free(&seen);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* RANDOMKEY */

Test(keys_randomkey, empty_single_and_all)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RANDOMKEY", "$-1\r\n");
    put(&h, "only", "v");
    EXPECT(&h, "RANDOMKEY", "$4\r\nonly\r\n");
    put(&h, "a", "v");
    put(&h, "b", "v");
    bool saw_only = false, saw_a = false, saw_b = false;
    for (int i = 0; i < 300; i++) {
        h_run(&h, "RANDOMKEY");
        if (!strcmp(h.last, "$4\r\nonly\r\n"))
            saw_only = true;
        else if (!strcmp(h.last, "$1\r\na\r\n"))
            saw_a = true;
        else if (!strcmp(h.last, "$1\r\nb\r\n"))
            saw_b = true;
        else
            cr_assert_fail("unexpected RANDOMKEY reply %s", h.last);
    }
    cr_assert(saw_only && saw_a && saw_b);
    EXPECT(&h, "RANDOMKEY x", "-ERR wrong number of arguments for 'randomkey' command\r\n");
    h_free(&h);
}

Test(keys_randomkey, skips_expired_keys)
{
    harness h;
    h_init(&h);
    char k[32];
    for (int i = 0; i < 500; i++) {
        snprintf(k, sizeof(k), "dead%d", i);
        put_px(&h, k, "v", 10);
    }
    put(&h, "live", "v");
    h.now_ms += 1000;
    for (int i = 0; i < 5; i++)
        EXPECT(&h, "RANDOMKEY", "$4\r\nlive\r\n");
    cr_assert_gt(h.e.db.stats.expired, 0);
    cr_assert(db_check(&h.e.db));
    /* Every key expired: nil. */
    db_delete(&h.e.db, "live", 4, h.now_ms);
    EXPECT(&h, "RANDOMKEY", "$-1\r\n");
    cr_assert(db_check(&h.e.db));
    h_free(&h);
}

Test(keys_randomkey, same_seed_same_sequence)
{
    harness a, b;
    h_init(&a);
    h_init(&b);
    char k[32];
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        put(&a, k, "v");
        put(&b, k, "v");
    }
    for (int i = 0; i < 50; i++) {
        h_run(&a, "RANDOMKEY");
        h_run(&b, "RANDOMKEY");
        cr_assert_str_eq(a.last, b.last);
    }
    h_free(&a);
    h_free(&b);
}

/* ------------------------------------------------------------------------ */
/* RENAME RENAMENX */

Test(keys_rename, basics)
{
    harness h;
    h_init(&h);
    put(&h, "mykey", "hello");
    uint64_t d0 = h.e.stats.dirty;
    EXPECT(&h, "RENAME mykey mykey1", "+OK\r\n");
    EXPECT(&h, "EXISTS mykey mykey1", ":1\r\n");
    cr_assert_not_null(peek(&h, "mykey1"));
    cr_assert_eq(h.e.stats.dirty - d0, 1);
    /* Against an existing key: overwritten. */
    put(&h, "mykey2", "xxx");
    EXPECT(&h, "RENAME mykey1 mykey2", "+OK\r\n");
    EXPECT(&h, "EXISTS mykey1", ":0\r\n");
    char tmp[KSTR_TMP];
    const char *p;
    size_t n = kentry_str(peek(&h, "mykey2"), &p, tmp);
    cr_assert(n == 5 && memcmp(p, "hello", 5) == 0);
    EXPECT(&h, "RENAME nokey foo", "-ERR no such key\r\n");
    EXPECT(&h, "RENAMENX nokey foo", "-ERR no such key\r\n");
    EXPECT(&h, "RENAME", "-ERR wrong number of arguments for 'rename' command\r\n");
    EXPECT(&h, "RENAME a b c", "-ERR wrong number of arguments for 'rename' command\r\n");
    h_free(&h);
}

Test(keys_rename, same_key)
{
    harness h;
    h_init(&h);
    put(&h, "k", "v");
    uint64_t d0 = h.e.stats.dirty;
    EXPECT(&h, "RENAME k k", "+OK\r\n");
    EXPECT(&h, "RENAMENX k k", ":0\r\n");
    EXPECT(&h, "RENAME nope nope", "-ERR no such key\r\n");
    EXPECT(&h, "RENAMENX nope nope", "-ERR no such key\r\n");
    EXPECT(&h, "EXISTS k", ":1\r\n");
    cr_assert_eq(h.e.stats.dirty, d0);
    h_free(&h);
}

Test(keys_rename, renamenx)
{
    harness h;
    h_init(&h);
    put(&h, "a", "1");
    put(&h, "b", "2");
    EXPECT(&h, "RENAMENX a b", ":0\r\n");
    EXPECT(&h, "EXISTS a b", ":2\r\n");
    EXPECT(&h, "RENAMENX a c", ":1\r\n");
    EXPECT(&h, "EXISTS a c", ":1\r\n");
    /* An expired destination does not exist. */
    put_px(&h, "d", "old", 10);
    h.now_ms += 20;
    EXPECT(&h, "RENAMENX c d", ":1\r\n");
    EXPECT(&h, "TTL d", ":-1\r\n");
    cr_assert_eq(kentry_int(peek(&h, "d")), 1);
    cr_assert(db_check(&h.e.db));
    h_free(&h);
}

Test(keys_rename, moves_the_ttl_and_does_not_inherit_it)
{
    harness h;
    h_init(&h);
    put_px(&h, "vol", "v", 100000);
    EXPECT(&h, "RENAME vol vol2", "+OK\r\n");
    EXPECT(&h, "TTL vol2", ":100\r\n");
    EXPECT(&h, "TTL vol", ":-2\r\n");
    put(&h, "plain", "p");
    put_px(&h, "target", "t", 50000);
    EXPECT(&h, "RENAME plain target", "+OK\r\n");
    EXPECT(&h, "TTL target", ":-1\r\n");
    cr_assert_eq(db_expires_count(&h.e.db), 1);
    cr_assert(db_check(&h.e.db));
    h_free(&h);
}

Test(keys_rename, expired_source_is_no_such_key)
{
    harness h;
    h_init(&h);
    put_px(&h, "s", "v", 10);
    h.now_ms += 11;
    EXPECT(&h, "RENAME s t", "-ERR no such key\r\n");
    cr_assert_eq(db_size(&h.e.db), 0);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* COPY */

Test(keys_copy, basics_and_independence)
{
    harness h;
    h_init(&h);
    const char *big = "this value is longer than forty-four bytes, so raw";
    put(&h, "s", big);
    uint64_t d0 = h.e.stats.dirty;
    EXPECT(&h, "COPY s d", ":1\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 1);
    kentry *e = peek(&h, "d");
    cr_assert_eq(kentry_enc(e), ENC_RAW);
    /* Editing the copy leaves the source alone. */
    kstr *s = db_str_mutable(&h.e.db, &e, 1);
    s->data[0] = 'X';
    char tmp[KSTR_TMP];
    const char *p;
    size_t n = kentry_str(peek(&h, "s"), &p, tmp);
    cr_assert(n == strlen(big) && memcmp(p, big, n) == 0);
    EXPECT(&h, "DEL s", ":1\r\n");
    n = kentry_str(peek(&h, "d"), &p, tmp);
    cr_assert(n == strlen(big) && p[0] == 'X');
    /* Encodings are kept. */
    put(&h, "i", "123");
    put(&h, "e", "short");
    EXPECT(&h, "COPY i i2", ":1\r\n");
    EXPECT(&h, "COPY e e2", ":1\r\n");
    EXPECT(&h, "OBJECT ENCODING i2", "$3\r\nint\r\n");
    EXPECT(&h, "OBJECT ENCODING e2", "$6\r\nembstr\r\n");
    cr_assert(db_check(&h.e.db));
    h_free(&h);
}

Test(keys_copy, replace_and_missing)
{
    harness h;
    h_init(&h);
    put(&h, "a", "1");
    put(&h, "b", "2");
    EXPECT(&h, "COPY a b", ":0\r\n");
    cr_assert_eq(kentry_int(peek(&h, "b")), 2);
    EXPECT(&h, "COPY a b REPLACE", ":1\r\n");
    cr_assert_eq(kentry_int(peek(&h, "b")), 1);
    EXPECT(&h, "COPY nope b REPLACE", ":0\r\n");
    EXPECT(&h, "COPY nope c", ":0\r\n");
    EXPECT(&h, "EXISTS c", ":0\r\n");
    EXPECT(&h, "COPY a a", "-ERR source and destination objects are the same\r\n");
    EXPECT(&h, "COPY nope nope", "-ERR source and destination objects are the same\r\n");
    /* An expired destination does not exist. */
    put_px(&h, "x", "old", 10);
    h.now_ms += 20;
    EXPECT(&h, "COPY a x", ":1\r\n");
    EXPECT(&h, "TTL x", ":-1\r\n");
    cr_assert(db_check(&h.e.db));
    h_free(&h);
}

Test(keys_copy, ttl_is_copied_and_not_created)
{
    harness h;
    h_init(&h);
    put_px(&h, "v", "x", 100000);
    EXPECT(&h, "COPY v v2", ":1\r\n");
    EXPECT(&h, "PTTL v2", ":100000\r\n");
    put(&h, "p", "x");
    EXPECT(&h, "COPY p p2", ":1\r\n");
    EXPECT(&h, "TTL p2", ":-1\r\n");
    /* REPLACE over a volatile key: the destination's TTL goes. */
    EXPECT(&h, "COPY p v2 REPLACE", ":1\r\n");
    EXPECT(&h, "TTL v2", ":-1\r\n");
    cr_assert_eq(db_expires_count(&h.e.db), 1);
    cr_assert(db_check(&h.e.db));
    h_free(&h);
}

Test(keys_copy, db_option_and_syntax)
{
    harness h;
    h_init(&h);
    put(&h, "a", "1");
    EXPECT(&h, "COPY a b DB 0", ":1\r\n");
    EXPECT(&h, "COPY a b db 0 replace", ":1\r\n");
    EXPECT(&h, "COPY a b REPLACE DB 0 REPLACE", ":1\r\n");
    EXPECT(&h, "COPY a c DB 16", "-ERR DB index is out of range\r\n");
    EXPECT(&h, "COPY a c DB -1", "-ERR DB index is out of range\r\n");
    EXPECT(&h, "COPY a c DB notanumber", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "COPY a c DB 4294967296",
           "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n");
    EXPECT(&h, "COPY a c DB", "-ERR syntax error\r\n");
    EXPECT(&h, "COPY a c FOO", "-ERR syntax error\r\n");
    /* Options come before the same-key check. */
    EXPECT(&h, "COPY a a DB 16", "-ERR DB index is out of range\r\n");
    EXPECT(&h, "COPY a a DB 0", "-ERR source and destination objects are the same\r\n");
    EXPECT(&h, "COPY a", "-ERR wrong number of arguments for 'copy' command\r\n");
    EXPECT(&h, "EXISTS c", ":0\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* EXPIRE & co */

Test(keys_expire, set_and_read_ttls)
{
    harness h;
    h_init_at(&h, 1234, T0);
    put(&h, "k", "v");
    EXPECT(&h, "EXPIRE k 100", ":1\r\n");
    EXPECT(&h, "TTL k", ":100\r\n");
    EXPECT(&h, "PTTL k", ":100000\r\n");
    EXPECT(&h, "EXPIRETIME k", ":1700000100\r\n");
    EXPECT(&h, "PEXPIRETIME k", ":1700000100000\r\n");
    EXPECT(&h, "PEXPIRE k 1500", ":1\r\n");
    EXPECT(&h, "PTTL k", ":1500\r\n");
    EXPECT(&h, "EXPIREAT k 1700000200", ":1\r\n");
    EXPECT(&h, "PEXPIRETIME k", ":1700000200000\r\n");
    EXPECT(&h, "PEXPIREAT k 1700000300123", ":1\r\n");
    EXPECT(&h, "PEXPIRETIME k", ":1700000300123\r\n");
    EXPECT(&h, "EXPIRETIME k", ":1700000300\r\n");
    cr_assert_eq(kentry_deadline(peek(&h, "k")), 1700000300123LL);
    h_free(&h);
}

Test(keys_expire, missing_and_persistent_keys)
{
    harness h;
    h_init(&h);
    put(&h, "p", "v");
    EXPECT(&h, "TTL p", ":-1\r\n");
    EXPECT(&h, "PTTL p", ":-1\r\n");
    EXPECT(&h, "EXPIRETIME p", ":-1\r\n");
    EXPECT(&h, "PEXPIRETIME p", ":-1\r\n");
    EXPECT(&h, "TTL none", ":-2\r\n");
    EXPECT(&h, "PTTL none", ":-2\r\n");
    EXPECT(&h, "EXPIRETIME none", ":-2\r\n");
    EXPECT(&h, "PEXPIRETIME none", ":-2\r\n");
    uint64_t d0 = h.e.stats.dirty;
    EXPECT(&h, "EXPIRE none 100", ":0\r\n");
    EXPECT(&h, "EXPIRE none 100 NX", ":0\r\n");
    EXPECT(&h, "EXPIRE none 100 XX", ":0\r\n");
    EXPECT(&h, "EXPIRE none 100 GT", ":0\r\n");
    EXPECT(&h, "EXPIRE none 100 LT", ":0\r\n");
    EXPECT(&h, "PEXPIREAT none 1", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty, d0);
    EXPECT(&h, "TTL", "-ERR wrong number of arguments for 'ttl' command\r\n");
    EXPECT(&h, "EXPIRE k", "-ERR wrong number of arguments for 'expire' command\r\n");
    EXPECT(&h, "PEXPIREAT k", "-ERR wrong number of arguments for 'pexpireat' command\r\n");
    h_free(&h);
}

Test(keys_expire, ttl_rounding)
{
    harness h;
    h_init(&h);
    put(&h, "k", "v");
    EXPECT(&h, "PEXPIRE k 1499", ":1\r\n");
    EXPECT(&h, "TTL k", ":1\r\n");
    EXPECT(&h, "PEXPIRE k 1500", ":1\r\n");
    EXPECT(&h, "TTL k", ":2\r\n");
    EXPECT(&h, "PEXPIRE k 499", ":1\r\n");
    EXPECT(&h, "TTL k", ":0\r\n");
    EXPECT(&h, "PEXPIRE k 500", ":1\r\n");
    EXPECT(&h, "TTL k", ":1\r\n");
    h_free(&h);
}

Test(keys_expire, deadline_boundary_is_strict)
{
    harness h;
    h_init(&h);
    put(&h, "k", "v");
    EXPECT(&h, "PEXPIRE k 100", ":1\r\n");
    h.now_ms += 99;
    EXPECT(&h, "PTTL k", ":1\r\n");
    h.now_ms += 1;
    /* At the deadline itself the key still exists (Redis: now > when). */
    EXPECT(&h, "PTTL k", ":0\r\n");
    EXPECT(&h, "TTL k", ":0\r\n");
    EXPECT(&h, "EXISTS k", ":1\r\n");
    h.now_ms += 1;
    EXPECT(&h, "PTTL k", ":-2\r\n");
    EXPECT(&h, "EXISTS k", ":0\r\n");
    cr_assert_eq(h.e.db.stats.expired, 1);
    h_free(&h);
}

Test(keys_expire, past_deadline_deletes_and_replies_one)
{
    harness h;
    h_init(&h);
    uint64_t d0 = h.e.stats.dirty;
    put(&h, "a", "v");
    EXPECT(&h, "EXPIRE a -10", ":1\r\n");
    EXPECT(&h, "EXISTS a", ":0\r\n");
    put(&h, "b", "v");
    EXPECT(&h, "PEXPIRE b 0", ":1\r\n");
    EXPECT(&h, "EXISTS b", ":0\r\n");
    put(&h, "c", "v");
    EXPECT(&h, "EXPIREAT c 1", ":1\r\n");
    EXPECT(&h, "TTL c", ":-2\r\n");
    put(&h, "d", "v");
    EXPECT(&h, "PEXPIREAT d -9223372036854770000", ":1\r\n");
    EXPECT(&h, "TTL d", ":-2\r\n");
    put(&h, "e", "v");
    h_runf(&h, "PEXPIREAT e %lld", (long long)h.now_ms);
    cr_assert_str_eq(h.last, ":1\r\n");
    EXPECT(&h, "EXISTS e", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 5);
    /* Deleted, not expired. */
    cr_assert_eq(h.e.db.stats.expired, 0);
    cr_assert_eq(db_size(&h.e.db), 0);
    cr_assert_eq(db_expires_count(&h.e.db), 0);
    h_free(&h);
}

Test(keys_expire, nx_xx_gt_lt)
{
    harness h;
    h_init(&h);
    put_px(&h, "foo", "bar", 100000);
    EXPECT(&h, "EXPIRE foo 200 NX", ":0\r\n");
    EXPECT(&h, "TTL foo", ":100\r\n");
    put(&h, "foo", "bar");
    EXPECT(&h, "EXPIRE foo 200 NX", ":1\r\n");
    EXPECT(&h, "TTL foo", ":200\r\n");

    put_px(&h, "foo", "bar", 100000);
    EXPECT(&h, "EXPIRE foo 200 XX", ":1\r\n");
    EXPECT(&h, "TTL foo", ":200\r\n");
    put(&h, "foo", "bar");
    EXPECT(&h, "EXPIRE foo 200 XX", ":0\r\n");
    EXPECT(&h, "TTL foo", ":-1\r\n");

    put_px(&h, "foo", "bar", 100000);
    EXPECT(&h, "EXPIRE foo 200 GT", ":1\r\n");
    EXPECT(&h, "TTL foo", ":200\r\n");
    EXPECT(&h, "EXPIRE foo 200 GT", ":0\r\n"); /* equal is not greater */
    EXPECT(&h, "EXPIRE foo 100 GT", ":0\r\n");
    EXPECT(&h, "TTL foo", ":200\r\n");
    put(&h, "foo", "bar");
    /* No TTL is an infinite TTL: nothing is greater. */
    EXPECT(&h, "EXPIRE foo 200 GT", ":0\r\n");
    EXPECT(&h, "TTL foo", ":-1\r\n");

    put_px(&h, "foo", "bar", 100000);
    EXPECT(&h, "EXPIRE foo 200 LT", ":0\r\n");
    EXPECT(&h, "EXPIRE foo 100 LT", ":0\r\n"); /* equal is not less */
    EXPECT(&h, "TTL foo", ":100\r\n");
    EXPECT(&h, "EXPIRE foo 50 LT", ":1\r\n");
    EXPECT(&h, "TTL foo", ":50\r\n");
    put(&h, "foo", "bar");
    /* Anything is less than infinite. */
    EXPECT(&h, "EXPIRE foo 100 LT", ":1\r\n");
    EXPECT(&h, "TTL foo", ":100\r\n");

    put_px(&h, "foo", "bar", 200000);
    EXPECT(&h, "EXPIRE foo 100 LT XX", ":1\r\n");
    EXPECT(&h, "TTL foo", ":100\r\n");
    put(&h, "foo", "bar");
    EXPECT(&h, "EXPIRE foo 200 LT XX", ":0\r\n");
    EXPECT(&h, "TTL foo", ":-1\r\n");
    put_px(&h, "foo", "bar", 100000);
    EXPECT(&h, "EXPIRE foo 200 gt xx", ":1\r\n");
    EXPECT(&h, "TTL foo", ":200\r\n");

    /* Negative times pass LT and delete. */
    put_px(&h, "foo", "bar", 100000);
    EXPECT(&h, "EXPIRE foo -10 LT", ":1\r\n");
    EXPECT(&h, "TTL foo", ":-2\r\n");
    put(&h, "foo", "bar");
    EXPECT(&h, "EXPIRE foo -10 LT", ":1\r\n");
    EXPECT(&h, "TTL foo", ":-2\r\n");
    /* ... and fail GT against a key without TTL. */
    put(&h, "foo", "bar");
    EXPECT(&h, "EXPIRE foo -10 GT", ":0\r\n");
    EXPECT(&h, "TTL foo", ":-1\r\n");
    h_free(&h);
}

Test(keys_expire, option_errors)
{
    harness h;
    h_init(&h);
    put(&h, "foo", "bar");
    const char *nxerr = "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
    EXPECT(&h, "EXPIRE foo 200 LT GT", "-ERR GT and LT options at the same time are not compatible\r\n");
    EXPECT(&h, "EXPIRE foo 200 NX GT", nxerr);
    EXPECT(&h, "EXPIRE foo 200 NX LT", nxerr);
    EXPECT(&h, "EXPIRE foo 200 NX XX", nxerr);
    EXPECT(&h, "EXPIRE foo 200 NX XX GT LT", nxerr);
    EXPECT(&h, "EXPIRE foo 200 AB", "-ERR Unsupported option AB\r\n");
    EXPECT(&h, "EXPIRE foo 200 XX AB", "-ERR Unsupported option AB\r\n");
    EXPECT(&h, "PEXPIRE foo 200 NX XX ab", "-ERR Unsupported option ab\r\n");
    EXPECT(&h, "EXPIRE foo 200 \"A\\x00B\"", "-ERR Unsupported option A\r\n");
    EXPECT(&h, "EXPIRE foo 200 \"a\\r\\nb\"", "-ERR Unsupported option a  b\r\n");
    /* Options are checked before the time, the time before the key. */
    EXPECT(&h, "EXPIRE foo abc AB", "-ERR Unsupported option AB\r\n");
    EXPECT(&h, "EXPIRE foo abc", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "EXPIRE foo \"\"", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "EXPIRE foo 1.5", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "EXPIRE missing abc", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "EXPIRE missing 10 GT LT", "-ERR GT and LT options at the same time are not compatible\r\n");
    /* Repeating an option is fine. */
    EXPECT(&h, "EXPIRE foo 200 nx NX", ":1\r\n");
    EXPECT(&h, "TTL foo", ":200\r\n");
    h_free(&h);
}

Test(keys_expire, overflow)
{
    harness h;
    h_init_at(&h, 1234, T0);
    put(&h, "foo", "bar");
    /* when*1000 + now past LLONG_MAX */
    EXPECT(&h, "EXPIRE foo 9223370399119966", "-ERR invalid expire time in 'expire' command\r\n");
    /* when > LLONG_MAX / 1000 */
    EXPECT(&h, "EXPIRE foo 9223372036854776", "-ERR invalid expire time in 'expire' command\r\n");
    EXPECT(&h, "EXPIRE foo 10000000000000000", "-ERR invalid expire time in 'expire' command\r\n");
    EXPECT(&h, "EXPIRE foo 18446744073709561", "-ERR invalid expire time in 'expire' command\r\n");
    EXPECT(&h, "EXPIRE foo -9223372036854776", "-ERR invalid expire time in 'expire' command\r\n");
    EXPECT(&h, "EXPIRE foo -9999999999999999", "-ERR invalid expire time in 'expire' command\r\n");
    EXPECT(&h, "EXPIREAT foo 9223372036854776", "-ERR invalid expire time in 'expireat' command\r\n");
    EXPECT(&h, "PEXPIRE foo 9223372036854770000", "-ERR invalid expire time in 'pexpire' command\r\n");
    EXPECT(&h, "EXPIRE foo 99999999999999999999", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "TTL foo", ":-1\r\n");
    /* The largest seconds that fit (EXPIREAT has no base time). */
    EXPECT(&h, "EXPIREAT foo 9223372036854775", ":1\r\n");
    EXPECT(&h, "PEXPIRETIME foo", ":9223372036854775000\r\n");
    EXPECT(&h, "PEXPIREAT foo 9223372036854770000", ":1\r\n");
    EXPECT(&h, "PEXPIRETIME foo", ":9223372036854770000\r\n");
    EXPECT(&h, "EXPIRETIME foo", ":9223372036854770\r\n");
    /* PTTL = when - now */
    EXPECT(&h, "PTTL foo", ":9223370336854770000\r\n");
    EXPECT(&h, "TTL foo", ":9223370336854770\r\n");
    /* At LLONG_MAX Redis's (ttl+500)/1000 wraps around. */
    EXPECT(&h, "PEXPIREAT foo 9223372036854775807", ":1\r\n");
    EXPECT(&h, "PEXPIRETIME foo", ":9223372036854775807\r\n");
    EXPECT(&h, "EXPIRETIME foo", ":-9223372036854775\r\n");
    EXPECT(&h, "PEXPIRE foo 9223370336854775807", ":1\r\n");
    EXPECT(&h, "PEXPIRETIME foo", ":9223372036854775807\r\n");
    EXPECT(&h, "PEXPIRE foo 9223370336854775808", "-ERR invalid expire time in 'pexpire' command\r\n");
    h_free(&h);
}

Test(keys_expire, dirty_counts_changes)
{
    harness h;
    h_init(&h);
    put(&h, "k", "v");
    uint64_t d0 = h.e.stats.dirty;
    EXPECT(&h, "EXPIRE k 100", ":1\r\n");
    EXPECT(&h, "EXPIRE k 100", ":1\r\n"); /* same deadline: still a write */
    EXPECT(&h, "EXPIRE k 50 GT", ":0\r\n");
    EXPECT(&h, "TTL k", ":100\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 2);
    EXPECT(&h, "PERSIST k", ":1\r\n");
    EXPECT(&h, "PERSIST k", ":0\r\n");
    cr_assert_eq(h.e.stats.dirty - d0, 3);
    h_free(&h);
}

Test(keys_persist, removes_the_ttl)
{
    harness h;
    h_init(&h);
    put(&h, "x", "foo");
    EXPECT(&h, "EXPIRE x 100", ":1\r\n");
    cr_assert_eq(db_expires_count(&h.e.db), 1);
    EXPECT(&h, "PERSIST x", ":1\r\n");
    EXPECT(&h, "TTL x", ":-1\r\n");
    cr_assert_eq(db_expires_count(&h.e.db), 0);
    EXPECT(&h, "PERSIST x", ":0\r\n");
    EXPECT(&h, "PERSIST nokey", ":0\r\n");
    put_px(&h, "gone", "v", 10);
    h.now_ms += 11;
    EXPECT(&h, "PERSIST gone", ":0\r\n");
    EXPECT(&h, "PERSIST", "-ERR wrong number of arguments for 'persist' command\r\n");
    cr_assert(db_check(&h.e.db));
    h_free(&h);
}

Test(keys_expire, ttl_lookups_count_stats_but_keep_lru)
{
    harness h;
    h_init(&h);
    put_px(&h, "k", "v", 100000);
    h.now_ms += 3000;
    EXPECT(&h, "TTL k", ":97\r\n");
    EXPECT(&h, "PTTL nope", ":-2\r\n");
    cr_assert_eq(h.e.db.stats.hits, 1);
    cr_assert_eq(h.e.db.stats.misses, 1);
    EXPECT(&h, "OBJECT IDLETIME k", ":3\r\n");
    /* EXPIRE is a write lookup: it touches the key, no stats. */
    EXPECT(&h, "EXPIRE k 100", ":1\r\n");
    EXPECT(&h, "OBJECT IDLETIME k", ":0\r\n");
    cr_assert_eq(h.e.db.stats.hits, 3);
    cr_assert_eq(h.e.db.stats.misses, 1);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* OBJECT */

Test(keys_object, encoding)
{
    harness h;
    h_init(&h);
    put(&h, "int", "12345");
    put(&h, "neg", "-7");
    put(&h, "lead0", "012");
    put(&h, "plus", "+1");
    put(&h, "e44", "12345678901234567890123456789012345678901234");
    put(&h, "r45", "123456789012345678901234567890123456789012345");
    put(&h, "big", "99999999999999999999");
    EXPECT(&h, "OBJECT ENCODING int", "$3\r\nint\r\n");
    EXPECT(&h, "OBJECT ENCODING neg", "$3\r\nint\r\n");
    EXPECT(&h, "OBJECT ENCODING lead0", "$6\r\nembstr\r\n");
    EXPECT(&h, "OBJECT ENCODING plus", "$6\r\nembstr\r\n");
    EXPECT(&h, "OBJECT ENCODING e44", "$6\r\nembstr\r\n");
    EXPECT(&h, "OBJECT ENCODING r45", "$3\r\nraw\r\n");
    EXPECT(&h, "OBJECT ENCODING big", "$6\r\nembstr\r\n");
    EXPECT(&h, "object encoding nope", "$-1\r\n");
    kentry *e = peek(&h, "lead0");
    db_str_mutable(&h.e.db, &e, 10);
    EXPECT(&h, "OBJECT ENCODING lead0", "$3\r\nraw\r\n");
    h_free(&h);
}

Test(keys_object, refcount)
{
    harness h;
    h_init(&h);
    put(&h, "zero", "0");
    put(&h, "top", "9999");
    put(&h, "over", "10000");
    put(&h, "neg", "-1");
    put(&h, "str", "abc");
    put(&h, "raw", "123456789012345678901234567890123456789012345");
    EXPECT(&h, "OBJECT REFCOUNT zero", ":2147483647\r\n");
    EXPECT(&h, "OBJECT REFCOUNT top", ":2147483647\r\n");
    EXPECT(&h, "OBJECT REFCOUNT over", ":1\r\n");
    EXPECT(&h, "OBJECT REFCOUNT neg", ":1\r\n");
    EXPECT(&h, "OBJECT REFCOUNT str", ":1\r\n");
    EXPECT(&h, "OBJECT REFCOUNT raw", ":1\r\n");
    EXPECT(&h, "OBJECT REFCOUNT nope", "$-1\r\n");
    h_free(&h);
}

Test(keys_object, idletime_and_freq)
{
    harness h;
    h_init(&h);
    put(&h, "k", "v");
    EXPECT(&h, "OBJECT IDLETIME k", ":0\r\n");
    h.now_ms += 2500;
    EXPECT(&h, "OBJECT IDLETIME k", ":2\r\n");
    h.now_ms += 1000;
    EXPECT(&h, "OBJECT IDLETIME k", ":3\r\n");
    EXPECT(&h, "OBJECT IDLETIME nope", "$-1\r\n");
    EXPECT(&h, "OBJECT FREQ nope", "$-1\r\n");
    EXPECT(&h, "OBJECT FREQ k",
           "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
           "Please note that when switching between policies at runtime LRU and LFU data "
           "will take some time to adjust.\r\n");
    /* OBJECT lookups count keyspace stats. */
    cr_assert_eq(h.e.db.stats.hits, 4);
    cr_assert_eq(h.e.db.stats.misses, 2);
    h_free(&h);
}

Test(keys_object, help_and_errors)
{
    harness h;
    h_init(&h);
    h_run(&h, "object help");
    const char *head = "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. "
                       "Subcommands are:\r\n+ENCODING <key>\r\n";
    cr_assert(strncmp(h.last, head, strlen(head)) == 0, "%s", h.last);
    const char *tail = "+HELP\r\n+    Prints this help.\r\n";
    cr_assert_str_eq(h.last + strlen(h.last) - strlen(tail), tail);
    int lines = 0;
    for (const char *p = h.last; *p; p++)
        lines += *p == '\n';
    cr_assert_eq(lines, 16);
    EXPECT(&h, "OBJECT", "-ERR wrong number of arguments for 'object' command\r\n");
    EXPECT(&h, "OBJECT ENCODING", "-ERR wrong number of arguments for 'object|encoding' command\r\n");
    EXPECT(&h, "OBJECT REFCOUNT a b", "-ERR wrong number of arguments for 'object|refcount' command\r\n");
    EXPECT(&h, "OBJECT HELP x", "-ERR wrong number of arguments for 'object|help' command\r\n");
    EXPECT(&h, "OBJECT foo k", "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n");
    EXPECT(&h, "object Foo", "-ERR unknown subcommand 'Foo'. Try OBJECT HELP.\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* WATCH sees these writes */

static const char *watch_then(harness *h, client *other, const char *key, const char *cmd)
{
    EXPECT(h, "UNWATCH", "+OK\r\n");
    h_runf(h, "WATCH %s", key);
    cr_assert_str_eq(h->last, "+OK\r\n");
    h_run_as(h, other, cmd);
    EXPECT(h, "MULTI", "+OK\r\n");
    return h_run(h, "EXEC");
}

Test(keys_watch, writes_flag_watchers)
{
    harness h;
    h_init(&h);
    client *o = engine_client_new(&h.e, h.now_ms);
    const char *dirty = "*-1\r\n", *clean = "*0\r\n";
    put(&h, "k", "v");
    cr_assert_str_eq(watch_then(&h, o, "k", "EXPIRE k 100"), dirty);
    cr_assert_str_eq(watch_then(&h, o, "k", "EXPIRE k 50 GT"), clean);
    cr_assert_str_eq(watch_then(&h, o, "k", "TTL k"), clean);
    cr_assert_str_eq(watch_then(&h, o, "k", "PERSIST k"), dirty);
    cr_assert_str_eq(watch_then(&h, o, "k", "PERSIST k"), clean);
    cr_assert_str_eq(watch_then(&h, o, "k", "TOUCH k"), clean);
    cr_assert_str_eq(watch_then(&h, o, "k", "EXISTS k"), clean);
    cr_assert_str_eq(watch_then(&h, o, "k", "COPY k k2"), clean);
    cr_assert_str_eq(watch_then(&h, o, "k2", "COPY k k2 REPLACE"), dirty);
    cr_assert_str_eq(watch_then(&h, o, "k", "RENAME k r"), dirty);
    cr_assert_str_eq(watch_then(&h, o, "k", "RENAME r k"), dirty);
    cr_assert_str_eq(watch_then(&h, o, "k", "RENAMENX k k2"), clean);
    cr_assert_str_eq(watch_then(&h, o, "k", "DEL nope"), clean);
    cr_assert_str_eq(watch_then(&h, o, "k", "EXPIRE k -1"), dirty);
    cr_assert_str_eq(watch_then(&h, o, "k", "UNLINK k2"), clean);
    cr_assert_str_eq(watch_then(&h, o, "k2", "DEL k2"), clean); /* already gone */
    put(&h, "k", "v");
    cr_assert_str_eq(watch_then(&h, o, "k", "DEL k"), dirty);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* The active expire cycle */

static void fill_volatile(harness *h, int nvol, int nplain)
{
    char k[32];
    for (int i = 0; i < nvol; i++) {
        snprintf(k, sizeof(k), "vol:%d", i);
        put_px(h, k, "v", 1 + i % 100);
    }
    for (int i = 0; i < nplain; i++) {
        snprintf(k, sizeof(k), "plain:%d", i);
        put(h, k, "v");
    }
}

Test(keys_active_expire, expires_keys_over_ticks_with_bounded_work)
{
    harness h;
    h_init(&h);
    fill_volatile(&h, 5000, 500);
    cr_assert_eq(db_size(&h.e.db), 5500);
    h.now_ms += 1000;
    int loops = 4 + 4 * (int)h.e.cfg.active_expire_effort;
    uint64_t prev = 0;
    int ticks = 0;
    while (db_expires_count(&h.e.db) > 0) {
        h.now_ms += 100;
        engine_tick(&h.e, h.now_ms);
        uint64_t done = h.e.stats.expired_by_cycle - prev;
        prev = h.e.stats.expired_by_cycle;
        cr_assert_leq(done, (uint64_t)loops * 20, "tick %d deleted %llu", ticks,
                      (unsigned long long)done);
        cr_assert(db_check(&h.e.db));
        cr_assert_eq(db_size(&h.e.db), 500 + db_expires_count(&h.e.db));
        cr_assert_lt(++ticks, 2000, "active expiry does not converge");
    }
    cr_assert_gt(ticks, 5000 / (loops * 20) - 1);
    cr_assert_eq(h.e.stats.expired_by_cycle, 5000);
    cr_assert_eq(h.e.db.stats.expired, 5000);
    cr_assert_eq(db_size(&h.e.db), 500);
    /* None was looked up: no keyspace stats. */
    cr_assert_eq(h.e.db.stats.hits + h.e.db.stats.misses, 0);
    h_free(&h);
}

Test(keys_active_expire, leaves_live_keys_alone)
{
    harness h;
    h_init(&h);
    char k[32];
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        put_px(&h, k, "v", 100000);
    }
    for (int t = 0; t < 50; t++) {
        h.now_ms += 100;
        engine_tick(&h.e, h.now_ms);
    }
    cr_assert_eq(db_size(&h.e.db), 300);
    cr_assert_eq(h.e.stats.expired_by_cycle, 0);
    /* The cycle stops when few sampled keys are stale. */
    uint64_t s0 = h.e.db.stats.expire_cycle_samples;
    engine_tick(&h.e, h.now_ms);
    cr_assert_eq(h.e.db.stats.expire_cycle_samples - s0, 20);
    h_free(&h);
}

Test(keys_active_expire, direct_calls_are_bounded)
{
    harness h;
    h_init(&h);
    fill_volatile(&h, 3000, 0);
    h.now_ms += 1000;
    kprng r;
    kprng_seed(&r, 7);
    for (int max_loops = 1; max_loops <= 16; max_loops *= 2) {
        uint64_t n = db_active_expire(&h.e.db, &r, h.now_ms, max_loops);
        cr_assert_leq(n, (uint64_t)max_loops * 20);
        cr_assert_gt(n, 0);
        cr_assert(db_check(&h.e.db));
    }
    cr_assert_eq(db_active_expire(&h.e.db, &r, h.now_ms, 0), 0);
    h_free(&h);
}

typedef struct order_ctx {
    kbuf *b;
} order_ctx;

static void order_cb(void *ctx, kentry *e)
{
    order_ctx *o = ctx;
    kbuf_append(o->b, kentry_key(e), kentry_klen(e));
    kbuf_putc(o->b, '\n');
}

Test(keys_active_expire, same_seed_same_state)
{
    harness a, b;
    h_init(&a);
    h_init(&b);
    fill_volatile(&a, 3000, 300);
    fill_volatile(&b, 3000, 300);
    for (int t = 0; t < 10; t++) {
        a.now_ms += 37;
        b.now_ms += 37;
        engine_tick(&a.e, a.now_ms);
        engine_tick(&b.e, b.now_ms);
        cr_assert_eq(a.e.stats.expired_by_cycle, b.e.stats.expired_by_cycle);
        if (t % 3 == 0) {
            h_run(&a, "RANDOMKEY");
            h_run(&b, "RANDOMKEY");
            cr_assert_str_eq(a.last, b.last);
        }
    }
    cr_assert_gt(a.e.stats.expired_by_cycle, 0);
    cr_assert_gt(db_expires_count(&a.e.db), 0, "test should stop midway");
    kbuf sa = KBUF_INIT, sb = KBUF_INIT;
    scan_all(&a, "COUNT 7", &sa);
    scan_all(&b, "COUNT 7", &sb);
    cr_assert_eq(sa.len, sb.len);
    cr_assert(memcmp(sa.data, sb.data, sa.len) == 0, "SCAN order differs");
    kbuf_free(&sa);
    kbuf_free(&sb);
    kbuf ka = KBUF_INIT, kb = KBUF_INIT;
    order_ctx oa = {&ka}, ob = {&kb};
    db_for_each(&a.e.db, order_cb, &oa);
    db_for_each(&b.e.db, order_cb, &ob);
    cr_assert_eq(ka.len, kb.len);
    cr_assert(memcmp(ka.data, kb.data, ka.len) == 0, "table order differs");
    kbuf_free(&ka);
    kbuf_free(&kb);
    cr_assert_eq(a.e.db.stats.expired, b.e.db.stats.expired);
    h_free(&a);
    h_free(&b);
}

/* ------------------------------------------------------------------------ */
/* The table */

Test(keys_table, definitions_are_complete)
{
    harness h;
    h_init(&h);
    int n = 0;
    for (const cmd_def *d = cmd_keys; d->name; d++, n++) {
        cr_assert(d->group && d->since && d->summary && d->complexity && d->acl && d->args,
                  "%s: missing documentation", d->name);
        cr_assert_not_null(engine_lookup_name(&h.e, d->name, strlen(d->name)), "%s", d->name);
        cr_assert((d->fn == NULL) == (d->subcommands != NULL), "%s", d->name);
        if (d->first_key)
            cr_assert(d->key_step == 1 && (d->last_key == -1 || d->last_key >= d->first_key));
        for (const cmd_def *s = d->subcommands; s && s->name; s++)
            cr_assert(s->fn && s->summary && s->acl && s->args, "%s|%s", d->name, s->name);
    }
    cr_assert_eq(n, 23);
    const cmd_entry *ce = engine_lookup_name(&h.e, "object|encoding", 15);
    cr_assert_not_null(ce);
    cr_assert_eq(ce->def->arity, 3);
    cr_assert_eq(ce->def->first_key, 2);
    cr_assert_str_eq(ce->fullname, "object|encoding");
    h_free(&h);
}
