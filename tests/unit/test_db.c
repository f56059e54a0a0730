/* The keyspace (core/store/db.c) driven directly: encodings, the entry
 * layout, TTLs moving entries, lazy and active expiry, rename/copy, flush,
 * random keys, SCAN, and db_check after random operation sequences checked
 * against a simple model. */
#include <criterion/criterion.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "core/store/db.h"

#define NOW 1700000000000LL

static kentry *set_s(db *d, const char *k, const char *v, int64_t dl)
{
    return db_set_str(d, k, strlen(k), v, strlen(v), dl);
}

static kentry *peek(db *d, const char *k)
{
    return (kentry *)dict_find(&d->keys, k, strlen(k));
}

/* The value of a string entry, as a NUL-terminated copy in buf. */
static const char *val(const kentry *e, char *buf, size_t cap)
{
    char tmp[KSTR_TMP];
    const char *p;
    size_t n = kentry_str(e, &p, tmp);
    cr_assert_lt(n, cap);
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

static bool val_is(const kentry *e, const char *v, size_t vlen)
{
    char tmp[KSTR_TMP];
    const char *p;
    size_t n = kentry_str(e, &p, tmp);
    return n == vlen && (n == 0 || memcmp(p, v, n) == 0);
}

/* ---- the on_modified hook, recorded ---- */

typedef struct hook_log {
    int changed, deleted, expired;
    char last[64];
    int last_how;
} hook_log;

static void hook(void *ctx, int dbid, const char *key, size_t len, int how)
{
    (void)dbid;
    hook_log *h = ctx;
    if (how == DB_MOD_CHANGED)
        h->changed++;
    else if (how == DB_MOD_DELETED)
        h->deleted++;
    else
        h->expired++;
    size_t n = len < sizeof(h->last) - 1 ? len : sizeof(h->last) - 1;
    memcpy(h->last, key, n);
    h->last[n] = '\0';
    h->last_how = how;
}

/* ------------------------------------------------------------------------ */
/* Encodings */

Test(db_encoding, integers_are_canonical_only)
{
    db d;
    db_init(&d, 1);
    struct {
        const char *v;
        int enc;
    } cases[] = {
        {"0", ENC_INT},
        {"1", ENC_INT},
        {"-1", ENC_INT},
        {"123456", ENC_INT},
        {"9223372036854775807", ENC_INT},
        {"-9223372036854775808", ENC_INT},
        {"9223372036854775808", ENC_EMBSTR},  /* overflows */
        {"-9223372036854775809", ENC_EMBSTR},
        {"01", ENC_EMBSTR},
        {"+1", ENC_EMBSTR},
        {"-0", ENC_EMBSTR},
        {" 1", ENC_EMBSTR},
        {"1 ", ENC_EMBSTR},
        {"1.0", ENC_EMBSTR},
        {"0x10", ENC_EMBSTR},
        {"", ENC_EMBSTR},
        {"000000000000000000001", ENC_EMBSTR}, /* 21 chars */
        {"-", ENC_EMBSTR},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kentry *e = set_s(&d, "k", cases[i].v, -1);
        cr_assert_eq(kentry_enc(e), cases[i].enc, "'%s': encoding %d", cases[i].v,
                     kentry_enc(e));
        cr_assert_eq(kentry_type(e), OBJ_STRING);
        cr_assert(val_is(e, cases[i].v, strlen(cases[i].v)), "'%s' reads back", cases[i].v);
        if (cases[i].enc == ENC_INT)
            cr_assert_eq(kentry_int(e), strtoll(cases[i].v, NULL, 10));
    }
    cr_assert_eq(db_size(&d), 1);
    cr_assert(db_check(&d));
    db_free(&d);
}

Test(db_encoding, embstr_up_to_44_bytes_raw_above)
{
    db d;
    db_init(&d, 1);
    char v[200];
    memset(v, 'x', sizeof(v));
    for (size_t n = 0; n < sizeof(v); n++) {
        kentry *e = db_set_str(&d, "k", 1, v, n, -1);
        cr_assert_eq(kentry_enc(e), n <= STR_EMBSTR_MAX ? ENC_EMBSTR : ENC_RAW, "len %zu", n);
        cr_assert(val_is(e, v, n));
    }
    kentry *e = db_set_str_raw(&d, "r", 1, "short", 5, -1);
    cr_assert_eq(kentry_enc(e), ENC_RAW);
    cr_assert(val_is(e, "short", 5));
    e = db_set_str_raw(&d, "r2", 2, "12", 2, -1);
    cr_assert_eq(kentry_enc(e), ENC_RAW, "db_set_str_raw never makes an int");
    e = db_set_int(&d, "i", 1, LLONG_MIN, -1);
    cr_assert_eq(kentry_enc(e), ENC_INT);
    cr_assert(val_is(e, "-9223372036854775808", 20));
    cr_assert(db_check(&d));
    db_free(&d);
}

Test(db_encoding, binary_keys_and_values)
{
    db d;
    db_init(&d, 1);
    const char key[] = "a\0b\r\nc";
    const char v[] = "\0\0\r\n\xff";
    kentry *e = db_set_str(&d, key, sizeof(key) - 1, v, sizeof(v) - 1, -1);
    cr_assert_eq(kentry_klen(e), sizeof(key) - 1);
    cr_assert(memcmp(kentry_key(e), key, sizeof(key) - 1) == 0);
    cr_assert(val_is(e, v, sizeof(v) - 1));
    cr_assert_null(db_find(&d, "a", 1, NOW));
    cr_assert_eq(db_find(&d, key, sizeof(key) - 1, NOW), e);
    /* The empty key is a key. */
    e = db_set_str(&d, "", 0, "", 0, -1);
    cr_assert_eq(kentry_klen(e), 0);
    cr_assert_eq(db_find(&d, "", 0, NOW), e);
    cr_assert_eq(db_size(&d), 2);
    db_free(&d);
}

Test(db_layout, one_allocation_per_small_key)
{
    db d;
    db_init(&d, 1);
    const char *k = "0123456789abcdef", *v = "fedcba9876543210";
    kentry *e = set_s(&d, k, v, -1);
    /* A 16-byte key with a 16-byte value: the value lives in the entry. */
    cr_assert_eq(kentry_enc(e), ENC_EMBSTR);
    const char *p;
    char tmp[KSTR_TMP];
    kentry_str(e, &p, tmp);
    cr_assert_eq(p, kentry_key(e) + 16, "value right after the key");
    cr_assert_eq((const char *)kentry_key(e) - (const char *)e, 24, "key right after the header");
#ifdef __GLIBC__
    size_t sz = malloc_usable_size(e);
    cr_assert(sz >= 56 && sz <= 64, "entry block is %zu bytes", sz);
#endif
    /* A TTL adds its 16-byte block. */
    kentry *t = set_s(&d, "ttlkey0123456789", v, NOW + 1000);
    cr_assert_eq((const char *)kentry_key(t) - (const char *)t, 40);
#ifdef __GLIBC__
    sz = malloc_usable_size(t);
    cr_assert(sz >= 72 && sz <= 80, "entry with TTL is %zu bytes", sz);
#endif
    /* Editing in place makes it RAW (the value moves to its own buffer). */
    kstr *s = db_str_mutable(&d, &e, 16);
    cr_assert_eq(kentry_enc(e), ENC_RAW);
    cr_assert_eq(s->len, 16);
    cr_assert(memcmp(s->data, v, 16) == 0);
    cr_assert_eq(peek(&d, k), e);
    cr_assert(db_check(&d));
    db_free(&d);
}

/* ------------------------------------------------------------------------ */
/* TTL */

Test(db_ttl, add_and_remove_move_entries_and_keep_values)
{
    db d;
    db_init(&d, 1);
    const char *vals[] = {"12345", "short string", "a value longer than forty-four bytes, stored raw"};
    for (int i = 0; i < 3; i++) {
        char k[8];
        snprintf(k, sizeof(k), "k%d", i);
        kentry *e = set_s(&d, k, vals[i], -1);
        int enc = kentry_enc(e);
        cr_assert_eq(kentry_deadline(e), -1);
        db_set_deadline(&d, &e, NOW + 5000);
        cr_assert_eq(peek(&d, k), e, "the caller's pointer follows the entry");
        cr_assert_eq(kentry_deadline(e), NOW + 5000);
        cr_assert_eq(kentry_enc(e), enc);
        cr_assert(val_is(e, vals[i], strlen(vals[i])));
        cr_assert_eq(kentry_klen(e), 2);
        cr_assert(memcmp(kentry_key(e), k, 2) == 0);
        cr_assert_eq(db_expires_count(&d), 1);
        cr_assert(db_check(&d));
        /* Changing an existing TTL keeps the entry. */
        kentry *before = e;
        db_set_deadline(&d, &e, NOW + 9000);
        cr_assert_eq(e, before);
        cr_assert_eq(kentry_deadline(e), NOW + 9000);
        /* Removing it. */
        db_set_deadline(&d, &e, -1);
        cr_assert_eq(peek(&d, k), e);
        cr_assert_eq(kentry_deadline(e), -1);
        cr_assert_eq(kentry_enc(e), enc);
        cr_assert(val_is(e, vals[i], strlen(vals[i])));
        cr_assert_eq(db_expires_count(&d), 0);
        cr_assert(db_check(&d));
        /* Removing a TTL that is not there is harmless. */
        db_set_deadline(&d, &e, -1);
        cr_assert_eq(db_expires_count(&d), 0);
        cr_assert(db_check(&d));
    }
    db_free(&d);
}

Test(db_ttl, overwrite_drops_or_sets_ttl)
{
    db d;
    db_init(&d, 1);
    set_s(&d, "k", "v", NOW + 1000);
    cr_assert_eq(db_expires_count(&d), 1);
    set_s(&d, "k", "w", -1);
    cr_assert_eq(db_expires_count(&d), 0);
    cr_assert_eq(kentry_deadline(peek(&d, "k")), -1);
    set_s(&d, "k", "x", NOW + 10);
    cr_assert_eq(kentry_deadline(peek(&d, "k")), NOW + 10);
    cr_assert_eq(db_size(&d), 1);
    cr_assert(db_check(&d));
    db_free(&d);
}

Test(db_ttl, lazy_expiry_counts_stats)
{
    db d;
    db_init(&d, 1);
    hook_log log = {0};
    d.on_modified = hook;
    d.hook_ctx = &log;
    set_s(&d, "k", "v", NOW + 100);
    set_s(&d, "p", "v", -1);
    cr_assert_not_null(db_find(&d, "k", 1, NOW + 99));
    /* At the deadline itself the key still exists (Redis: now > when). */
    cr_assert_not_null(db_find(&d, "k", 1, NOW + 100));
    cr_assert(!db_is_expired(peek(&d, "k"), NOW + 100));
    cr_assert(db_is_expired(peek(&d, "k"), NOW + 101));
    cr_assert_eq(d.stats.expired, 0);
    cr_assert_null(db_find(&d, "k", 1, NOW + 101));
    cr_assert_eq(d.stats.expired, 1);
    cr_assert_eq(log.expired, 1);
    cr_assert_str_eq(log.last, "k");
    cr_assert_eq(db_size(&d), 1);
    cr_assert_eq(db_expires_count(&d), 0);
    /* Every lookup flavour expires. */
    set_s(&d, "a", "v", NOW);
    set_s(&d, "b", "v", NOW);
    set_s(&d, "c", "v", NOW);
    cr_assert_null(db_find_read(&d, "a", 1, NOW + 1));
    cr_assert_null(db_find_write(&d, "b", 1, NOW + 1));
    cr_assert(!db_delete(&d, "c", 1, NOW + 1));
    cr_assert_eq(d.stats.expired, 4);
    cr_assert_eq(log.expired, 4);
    cr_assert_eq(log.deleted, 0);
    cr_assert_eq(db_size(&d), 1);
    cr_assert(db_check(&d));
    db_free(&d);
}

Test(db_lookup, stats_and_lru)
{
    db d;
    db_init(&d, 1);
    db_set_clock(&d, NOW);
    set_s(&d, "k", "v", -1);
    db_set_clock(&d, NOW + 7000);
    cr_assert_eq(kentry_idle(&d, peek(&d, "k")), 7);
    cr_assert_not_null(db_find(&d, "k", 1, NOW));
    cr_assert_null(db_find(&d, "x", 1, NOW));
    cr_assert_eq(d.stats.hits + d.stats.misses, 0, "db_find counts nothing");
    cr_assert_eq(kentry_idle(&d, peek(&d, "k")), 7, "db_find does not touch");
    cr_assert_not_null(db_find_write(&d, "k", 1, NOW));
    cr_assert_eq(d.stats.hits + d.stats.misses, 0);
    cr_assert_eq(kentry_idle(&d, peek(&d, "k")), 0, "db_find_write touches");
    db_set_clock(&d, NOW + 9000);
    cr_assert_not_null(db_find_read(&d, "k", 1, NOW));
    cr_assert_null(db_find_read(&d, "x", 1, NOW));
    cr_assert_eq(d.stats.hits, 1);
    cr_assert_eq(d.stats.misses, 1);
    cr_assert_eq(kentry_idle(&d, peek(&d, "k")), 0);
    /* A clock behind the stamp reads as 0, not a huge number. */
    db_set_clock(&d, NOW - 5000);
    cr_assert_eq(kentry_idle(&d, peek(&d, "k")), 0);
    db_free(&d);
}

/* ------------------------------------------------------------------------ */
/* Writes */

Test(db_write, str_mutable_from_every_encoding)
{
    db d;
    db_init(&d, 1);
    hook_log log = {0};
    d.on_modified = hook;
    d.hook_ctx = &log;
    kentry *e = set_s(&d, "i", "-42", NOW + 1000);
    int changed = log.changed;
    kstr *s = db_str_mutable(&d, &e, 100);
    cr_assert_eq(log.changed, changed, "db_str_mutable reports nothing by itself");
    cr_assert_eq(kentry_enc(e), ENC_RAW);
    cr_assert_eq(s->len, 3);
    cr_assert(memcmp(s->data, "-42", 3) == 0);
    cr_assert_geq(s->cap, 100);
    cr_assert_eq(kentry_deadline(e), NOW + 1000, "TTL kept");
    cr_assert_eq(peek(&d, "i"), e);
    /* Edit and report. */
    memcpy(s->data + s->len, "xyz", 3);
    s->len += 3;
    db_signal_modified(&d, "i", 1);
    cr_assert_eq(log.changed, changed + 1);
    char buf[64];
    cr_assert_str_eq(val(e, buf, sizeof(buf)), "-42xyz");
    /* Already RAW: same buffer unless it must grow; the entry stays. */
    kentry *before = e;
    kstr *s2 = db_str_mutable(&d, &e, 6);
    cr_assert_eq(e, before);
    cr_assert_eq(s2, s);
    s2 = db_str_mutable(&d, &e, 100000);
    cr_assert_eq(e, before);
    cr_assert_geq(s2->cap, 100000);
    cr_assert_eq(s2->len, 6);
    cr_assert_str_eq(val(e, buf, sizeof(buf)), "-42xyz");
    /* EMBSTR without TTL. */
    e = set_s(&d, "e", "hello", -1);
    s = db_str_mutable(&d, &e, 0);
    cr_assert_eq(kentry_enc(e), ENC_RAW);
    cr_assert_eq(kentry_deadline(e), -1);
    cr_assert_eq(s->len, 5);
    cr_assert_str_eq(val(e, buf, sizeof(buf)), "hello");
    cr_assert_eq(db_expires_count(&d), 1);
    cr_assert(db_check(&d));
    db_free(&d);
}

Test(db_write, delete_and_hooks)
{
    db d;
    db_init(&d, 1);
    hook_log log = {0};
    d.on_modified = hook;
    d.hook_ctx = &log;
    set_s(&d, "a", "1", -1);
    cr_assert_eq(log.changed, 1);
    cr_assert_eq(log.last_how, DB_MOD_CHANGED);
    set_s(&d, "b", "2", NOW + 10);
    cr_assert(db_delete(&d, "a", 1, NOW));
    cr_assert_eq(log.deleted, 1);
    cr_assert_str_eq(log.last, "a");
    cr_assert(!db_delete(&d, "a", 1, NOW));
    cr_assert_eq(log.deleted, 1);
    kentry *b = db_find(&d, "b", 1, NOW);
    db_delete_entry(&d, b);
    cr_assert_eq(log.deleted, 2);
    cr_assert_eq(db_size(&d), 0);
    cr_assert_eq(db_expires_count(&d), 0);
    kentry *e = set_s(&d, "c", "3", -1);
    db_set_deadline(&d, &e, NOW + 5);
    cr_assert_eq(log.last_how, DB_MOD_CHANGED);
    cr_assert(db_check(&d));
    db_free(&d);
}

Test(db_write, rename_keeps_value_and_ttl)
{
    db d;
    db_init(&d, 1);
    hook_log log = {0};
    d.on_modified = hook;
    d.hook_ctx = &log;
    const char *rawv = "a value longer than forty-four bytes, stored raw";
    kentry *e = set_s(&d, "src", rawv, NOW + 777);
    kentry *n = db_rename(&d, e, "dst", 3);
    cr_assert_eq(peek(&d, "dst"), n);
    cr_assert_null(peek(&d, "src"));
    cr_assert_eq(kentry_deadline(n), NOW + 777);
    cr_assert_eq(kentry_enc(n), ENC_RAW);
    cr_assert(val_is(n, rawv, strlen(rawv)));
    cr_assert_eq(log.deleted, 1);
    cr_assert_eq(db_expires_count(&d), 1);
    /* Over an existing key with a TTL, from one without. */
    e = set_s(&d, "plain", "emb", -1);
    n = db_rename(&d, e, "dst", 3);
    cr_assert_eq(kentry_deadline(n), -1);
    cr_assert(val_is(n, "emb", 3));
    cr_assert_eq(kentry_enc(n), ENC_EMBSTR);
    cr_assert_eq(db_size(&d), 1);
    cr_assert_eq(db_expires_count(&d), 0);
    /* An int, to a longer key name. */
    e = set_s(&d, "i", "77", -1);
    n = db_rename(&d, e, "a much longer key name than before", 34);
    cr_assert_eq(kentry_enc(n), ENC_INT);
    cr_assert_eq(kentry_int(n), 77);
    cr_assert(db_check(&d));
    db_free(&d);
}

Test(db_write, copy_is_deep_and_keeps_ttl)
{
    db d;
    db_init(&d, 1);
    const char *rawv = "a value longer than forty-four bytes, stored raw";
    kentry *e = set_s(&d, "src", rawv, NOW + 500);
    kentry *c = db_copy(&d, e, "dst", 3);
    cr_assert_eq(kentry_deadline(c), NOW + 500);
    cr_assert_eq(kentry_enc(c), ENC_RAW);
    cr_assert(val_is(c, rawv, strlen(rawv)));
    kstr *s = db_str_mutable(&d, &c, 0);
    s->data[0] = 'Z';
    cr_assert(val_is(peek(&d, "src"), rawv, strlen(rawv)), "source untouched");
    e = set_s(&d, "i", "5", -1);
    c = db_copy(&d, e, "i2", 2);
    cr_assert_eq(kentry_enc(c), ENC_INT);
    cr_assert_eq(kentry_deadline(c), -1);
    e = set_s(&d, "e", "emb", -1);
    c = db_copy(&d, e, "e2", 2);
    cr_assert_eq(kentry_enc(c), ENC_EMBSTR);
    cr_assert(val_is(c, "emb", 3));
    cr_assert_eq(db_size(&d), 6);
    cr_assert_eq(db_expires_count(&d), 2);
    cr_assert(db_check(&d));
    db_free(&d);
}

Test(db_write, flush_reports_and_empties)
{
    db d;
    db_init(&d, 1);
    char k[16];
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        set_s(&d, k, "v", i % 2 ? NOW + 1000 : -1);
    }
    hook_log log = {0};
    d.on_modified = hook;
    d.hook_ctx = &log;
    db_flush(&d);
    cr_assert_eq(log.deleted, 100);
    cr_assert_eq(db_size(&d), 0);
    cr_assert_eq(db_expires_count(&d), 0);
    cr_assert(db_check(&d));
    /* Usable afterwards. */
    set_s(&d, "again", "v", NOW + 1);
    cr_assert_eq(db_size(&d), 1);
    cr_assert(db_check(&d));
    db_flush(&d);
    db_flush(&d);
    cr_assert_eq(db_size(&d), 0);
    db_free(&d);
}

/* ------------------------------------------------------------------------ */
/* Iteration */

Test(db_random, empty_live_and_mostly_expired)
{
    db d;
    db_init(&d, 1);
    kprng r;
    kprng_seed(&r, 99);
    cr_assert_null(db_random(&d, &r, NOW));
    char k[16];
    for (int i = 0; i < 2000; i++) {
        snprintf(k, sizeof(k), "dead%d", i);
        set_s(&d, k, "v", NOW + 10);
    }
    set_s(&d, "live", "v", -1);
    for (int i = 0; i < 20; i++) {
        kentry *e = db_random(&d, &r, NOW + 100);
        cr_assert_not_null(e);
        cr_assert_eq(kentry_klen(e), 4);
        cr_assert(memcmp(kentry_key(e), "live", 4) == 0);
        cr_assert(db_check(&d));
    }
    cr_assert_gt(d.stats.expired, 0);
    cr_assert_eq(db_size(&d), 2001 - d.stats.expired);
    /* Nothing live: NULL, and the db stays sound. */
    db_delete(&d, "live", 4, NOW + 100);
    for (int i = 0; i < 30 && db_size(&d) > 0; i++)
        cr_assert_null(db_random(&d, &r, NOW + 100));
    cr_assert(db_check(&d));
    /* Before the deadline they are all live. */
    db_flush(&d);
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        set_s(&d, k, "v", NOW + 10);
    }
    bool seen[10] = {false};
    for (int i = 0; i < 500; i++) {
        kentry *e = db_random(&d, &r, NOW);
        cr_assert_not_null(e);
        char kb[16];
        memcpy(kb, kentry_key(e), kentry_klen(e));
        kb[kentry_klen(e)] = '\0';
        seen[atoi(kb + 1)] = true;
    }
    for (int i = 0; i < 10; i++)
        cr_assert(seen[i], "k%d never drawn", i);
    db_free(&d);
}

typedef struct collect {
    char **keys;
    int n, cap;
} collect;

static void collect_cb(void *ctx, kentry *e)
{
    collect *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->keys = realloc(c->keys, (size_t)c->cap * sizeof(char *));
    }
    char *s = malloc(kentry_klen(e) + 1);
    memcpy(s, kentry_key(e), kentry_klen(e));
    s[kentry_klen(e)] = '\0';
    c->keys[c->n++] = s;
}

static void collect_free(collect *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->keys[i]);
    free(c->keys);
    memset(c, 0, sizeof(*c));
}

static bool collected(const collect *c, const char *k)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->keys[i], k))
            return true;
    return false;
}

Test(db_scan, sees_live_keys_and_deletes_expired)
{
    db d;
    db_init(&d, 3);
    char k[16];
    for (int i = 0; i < 500; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        set_s(&d, k, "v", i % 5 == 0 ? NOW + 10 : -1);
    }
    collect c = {0};
    uint64_t cur = 0;
    int steps = 0;
    do {
        cur = db_scan(&d, cur, collect_cb, &c, NOW + 100);
        cr_assert(db_check(&d));
        steps++;
    } while (cur);
    cr_assert_gt(steps, 1);
    for (int i = 0; i < 500; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        cr_assert_eq(collected(&c, k), i % 5 != 0, "%s", k);
    }
    cr_assert_eq(d.stats.expired, 100);
    cr_assert_eq(db_size(&d), 400);
    collect_free(&c);
    db_free(&d);
}

Test(db_scan, survives_growth_and_shrinking)
{
    db d;
    db_init(&d, 4);
    char k[16];
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof(k), "keep%d", i);
        set_s(&d, k, "v", -1);
    }
    for (int i = 0; i < 3000; i++) {
        snprintf(k, sizeof(k), "tmp%d", i);
        set_s(&d, k, "v", -1);
    }
    collect c = {0};
    uint64_t cur = 0;
    int step = 0, added = 0;
    do {
        cur = db_scan(&d, cur, collect_cb, &c, NOW);
        /* Delete the temporary keys (the table shrinks) and later add more
         * (it grows again), all while the scan goes on. */
        for (int j = 0; j < 100; j++) {
            if (step < 30) {
                snprintf(k, sizeof(k), "tmp%d", step * 100 + j);
                db_delete(&d, k, strlen(k), NOW);
            } else if (step < 60) {
                snprintf(k, sizeof(k), "new%d", added++);
                set_s(&d, k, "v", -1);
            }
        }
        db_rehash_step(&d, 1);
        cr_assert(db_check(&d));
        step++;
        cr_assert_lt(step, 100000);
    } while (cur);
    for (int i = 0; i < 300; i++) {
        snprintf(k, sizeof(k), "keep%d", i);
        cr_assert(collected(&c, k), "%s missed", k);
    }
    collect_free(&c);
    db_free(&d);
}

Test(db_expire_cycle, bounded_and_complete)
{
    db d;
    db_init(&d, 5);
    kprng r;
    kprng_seed(&r, 5);
    char k[16];
    for (int i = 0; i < 2000; i++) {
        snprintf(k, sizeof(k), "v%d", i);
        set_s(&d, k, "v", NOW + i % 50);
    }
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof(k), "p%d", i);
        set_s(&d, k, "v", -1);
    }
    /* Nothing due yet: one sample, nothing deleted. */
    cr_assert_eq(db_active_expire(&d, &r, NOW - 1, 16), 0);
    cr_assert_eq(d.stats.expire_cycle_samples, 20);
    uint64_t total = 0;
    int calls = 0;
    while (db_expires_count(&d) > 0) {
        uint64_t n = db_active_expire(&d, &r, NOW + 1000, 4);
        cr_assert_leq(n, 80);
        total += n;
        cr_assert(db_check(&d));
        cr_assert_lt(++calls, 1000);
    }
    cr_assert_eq(total, 2000);
    cr_assert_eq(d.stats.expired, 2000);
    cr_assert_eq(db_size(&d), 100);
    cr_assert_eq(db_active_expire(&d, &r, NOW + 1000, 4), 0);
    db_free(&d);
}

/* ------------------------------------------------------------------------ */
/* Random operation sequences against a model */

#define MK 48 /* keys in play */

typedef struct mkey {
    bool present;
    char v[64];
    size_t vlen;
    int64_t dl;
} mkey;

typedef struct model {
    mkey k[MK];
} model;

static void mkname(int i, char *buf) { snprintf(buf, 16, "key:%d", i); }

/* The model's lazy expiry. */
static bool m_live(model *m, int i, int64_t now)
{
    if (m->k[i].present && m->k[i].dl >= 0 && m->k[i].dl < now)
        m->k[i].present = false;
    return m->k[i].present;
}

static void check_key(db *d, model *m, int i, int64_t now)
{
    char name[16];
    mkname(i, name);
    bool live = m_live(m, i, now);
    kentry *e = db_find(d, name, strlen(name), now);
    cr_assert_eq(e != NULL, live, "%s: present %d, model %d", name, e != NULL, live);
    if (!e)
        return;
    cr_assert(val_is(e, m->k[i].v, m->k[i].vlen), "%s: value differs", name);
    cr_assert_eq(kentry_deadline(e), m->k[i].dl, "%s: deadline differs", name);
}

static uint64_t xs(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

typedef struct run_out {
    uint64_t size, expires, expired;
    char order[8192];
    size_t olen;
} run_out;

static void order_cb(void *ctx, kentry *e)
{
    run_out *o = ctx;
    size_t n = kentry_klen(e);
    if (o->olen + n + 1 < sizeof(o->order)) {
        memcpy(o->order + o->olen, kentry_key(e), n);
        o->olen += n;
        o->order[o->olen++] = ',';
    }
}

static void random_run(uint64_t seed, int ops, run_out *out)
{
    db d;
    db_init(&d, seed);
    kprng r;
    kprng_seed(&r, seed);
    model m;
    memset(&m, 0, sizeof(m));
    uint64_t s = seed * 2654435761u + 1;
    int64_t now = NOW;
    char name[16], name2[16];
    for (int op = 0; op < ops; op++) {
        int i = (int)(xs(&s) % MK);
        int j = (int)(xs(&s) % MK);
        mkname(i, name);
        mkname(j, name2);
        int64_t dl = xs(&s) % 3 == 0 ? now + (int64_t)(xs(&s) % 200) : -1;
        switch (xs(&s) % 12) {
        case 0: case 1: { /* set a string: int, embstr or raw */
            char v[64];
            size_t vlen;
            switch (xs(&s) % 3) {
            case 0: vlen = (size_t)snprintf(v, sizeof(v), "%lld", (long long)(xs(&s) % 100000) - 500); break;
            case 1: vlen = (size_t)snprintf(v, sizeof(v), "s%llu", (unsigned long long)(xs(&s) % 1000)); break;
            default: vlen = 45 + xs(&s) % 18; memset(v, 'a' + (int)(xs(&s) % 26), vlen); break;
            }
            db_set_str(&d, name, strlen(name), v, vlen, dl);
            m.k[i].present = true;
            memcpy(m.k[i].v, v, vlen);
            m.k[i].vlen = vlen;
            m.k[i].dl = dl;
            break;
        }
        case 2: { /* delete */
            bool had = m_live(&m, i, now);
            cr_assert_eq(db_delete(&d, name, strlen(name), now), had);
            m.k[i].present = false;
            break;
        }
        case 3: case 4: { /* set or remove a TTL */
            bool live = m_live(&m, i, now);
            kentry *e = db_find_write(&d, name, strlen(name), now);
            cr_assert_eq(e != NULL, live);
            if (e) {
                db_set_deadline(&d, &e, dl);
                cr_assert_eq(kentry_deadline(e), dl);
                m.k[i].dl = dl;
            }
            break;
        }
        case 5: { /* append in place */
            bool live = m_live(&m, i, now);
            kentry *e = db_find_write(&d, name, strlen(name), now);
            cr_assert_eq(e != NULL, live);
            if (e && m.k[i].vlen < 60) {
                kstr *ks = db_str_mutable(&d, &e, m.k[i].vlen + 2);
                memcpy(ks->data + ks->len, "++", 2);
                ks->len += 2;
                db_signal_modified(&d, name, strlen(name));
                memcpy(m.k[i].v + m.k[i].vlen, "++", 2);
                m.k[i].vlen += 2;
            }
            break;
        }
        case 6: { /* rename */
            bool live = m_live(&m, i, now);
            m_live(&m, j, now);
            kentry *e = db_find_write(&d, name, strlen(name), now);
            cr_assert_eq(e != NULL, live);
            if (e && i != j) {
                db_find_write(&d, name2, strlen(name2), now); /* expire dst if due */
                e = db_find(&d, name, strlen(name), now);
                db_rename(&d, e, name2, strlen(name2));
                m.k[j] = m.k[i];
                m.k[i].present = false;
            }
            break;
        }
        case 7: { /* copy */
            bool live = m_live(&m, i, now);
            kentry *e = db_find(&d, name, strlen(name), now);
            cr_assert_eq(e != NULL, live);
            if (e && i != j && !m_live(&m, j, now)) {
                cr_assert_null(db_find(&d, name2, strlen(name2), now));
                e = db_find(&d, name, strlen(name), now);
                db_copy(&d, e, name2, strlen(name2));
                m.k[j] = m.k[i];
            }
            break;
        }
        case 8: /* time passes */
            now += (int64_t)(xs(&s) % 50);
            break;
        case 9: { /* active expiry */
            uint64_t n = db_active_expire(&d, &r, now, 3);
            cr_assert_leq(n, 60);
            break;
        }
        case 10: { /* a scan step, a random key */
            collect c = {0};
            db_scan(&d, xs(&s) % 64, collect_cb, &c, now);
            for (int t = 0; t < c.n; t++)
                cr_assert(m_live(&m, atoi(c.keys[t] + 4), now), "scan saw dead %s", c.keys[t]);
            collect_free(&c);
            kentry *e = db_random(&d, &r, now);
            if (e) {
                char kb[16];
                memcpy(kb, kentry_key(e), kentry_klen(e));
                kb[kentry_klen(e)] = '\0';
                cr_assert(m_live(&m, atoi(kb + 4), now), "random gave dead %s", kb);
            }
            break;
        }
        default:
            db_rehash_step(&d, 1);
            break;
        }
        cr_assert(db_check(&d), "db_check failed after op %d", op);
        /* Keys the db expired by itself are gone in the model too, once due. */
        if (op % 50 == 0)
            for (int t = 0; t < MK; t++)
                check_key(&d, &m, t, now);
    }
    for (int t = 0; t < MK; t++)
        check_key(&d, &m, t, now);
    cr_assert(db_check(&d));
    memset(out, 0, sizeof(*out));
    out->size = db_size(&d);
    out->expires = db_expires_count(&d);
    out->expired = d.stats.expired;
    db_for_each(&d, order_cb, out);
    db_free(&d);
}

Test(db_random_ops, model_and_invariants)
{
    for (uint64_t seed = 1; seed <= 12; seed++) {
        run_out a;
        random_run(seed, 3000, &a);
    }
}

Test(db_random_ops, same_seed_same_db)
{
    run_out *a = malloc(sizeof(run_out)), *b = malloc(sizeof(run_out));
    random_run(77, 4000, a);
    random_run(77, 4000, b);
    cr_assert_eq(a->size, b->size);
    cr_assert_eq(a->expires, b->expires);
    cr_assert_eq(a->expired, b->expired);
    cr_assert_eq(a->olen, b->olen);
    cr_assert(memcmp(a->order, b->order, a->olen) == 0, "iteration order differs");
    free(a);
    free(b);
}
