/* khash (core/store/hash.c): a property test against a plain reference
 * model across the listpack -> hashtable conversion, plus the edges: the
 * exact thresholds, dup independence, scans, random picks, snapshot loads,
 * binary strings. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/store/db.h"
#include "core/store/hash.h"
#include "core/store/types.h"
#include "core/util/prng.h"

/* ------------------------------------------------------------------------ */
/* The reference model: an unordered array of pairs. */

typedef struct rpair {
    char *f, *v;
    size_t flen, vlen;
    int seen; /* for for_each checks */
} rpair;

typedef struct model {
    rpair *p;
    size_t n, cap;
} model;

static char *memdup(const char *s, size_t n)
{
    char *d = malloc(n ? n : 1);
    cr_assert_not_null(d);
    if (n)
        memcpy(d, s, n);
    return d;
}

static rpair *m_find(model *m, const char *f, size_t flen)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->p[i].flen == flen && memcmp(m->p[i].f, f, flen) == 0)
            return &m->p[i];
    return NULL;
}

static bool m_set(model *m, const char *f, size_t flen, const char *v, size_t vlen)
{
    rpair *p = m_find(m, f, flen);
    if (p) {
        free(p->v);
        p->v = memdup(v, vlen);
        p->vlen = vlen;
        return false;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->p = realloc(m->p, m->cap * sizeof(*m->p));
        cr_assert_not_null(m->p);
    }
    m->p[m->n++] = (rpair){.f = memdup(f, flen), .flen = flen, .v = memdup(v, vlen), .vlen = vlen};
    return true;
}

static bool m_del(model *m, const char *f, size_t flen)
{
    rpair *p = m_find(m, f, flen);
    if (!p)
        return false;
    free(p->f);
    free(p->v);
    *p = m->p[--m->n];
    return true;
}

static void m_copy(model *dst, const model *src)
{
    memset(dst, 0, sizeof(*dst));
    for (size_t i = 0; i < src->n; i++)
        m_set(dst, src->p[i].f, src->p[i].flen, src->p[i].v, src->p[i].vlen);
}

static void m_free(model *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->p[i].f);
        free(m->p[i].v);
    }
    free(m->p);
    memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------------ */
/* Agreement checks */

typedef struct each_check {
    model *m;
    size_t calls;
} each_check;

static void each_check_cb(void *ctx, const char *f, size_t flen, const char *v, size_t vlen)
{
    each_check *c = ctx;
    c->calls++;
    rpair *p = m_find(c->m, f, flen);
    cr_assert_not_null(p, "for_each gave a field the model lacks");
    cr_assert_eq(p->seen, 0, "for_each gave a field twice");
    p->seen = 1;
    cr_assert_eq(p->vlen, vlen);
    cr_assert(vlen == 0 || memcmp(p->v, v, vlen) == 0);
}

static void check_agree(khash *h, model *m)
{
    cr_assert(khash_check(h), "invariants");
    cr_assert_eq(khash_len(h), m->n);
    for (size_t i = 0; i < m->n; i++) {
        const char *v;
        size_t vlen;
        cr_assert(khash_get(h, m->p[i].f, m->p[i].flen, &v, &vlen), "field %zu missing", i);
        cr_assert_eq(vlen, m->p[i].vlen);
        cr_assert(vlen == 0 || memcmp(v, m->p[i].v, vlen) == 0);
        m->p[i].seen = 0;
    }
    each_check c = {m, 0};
    khash_for_each(h, each_check_cb, &c);
    cr_assert_eq(c.calls, m->n);
}

/* Random strings over a small alphabet with the awkward bytes in it. */
static size_t rand_str(kprng *r, char *buf, size_t maxlen)
{
    static const char alpha[] = "abcxyz019\0\r\n ";
    size_t len = (size_t)kprng_below(r, maxlen + 1);
    for (size_t i = 0; i < len; i++)
        buf[i] = alpha[kprng_below(r, sizeof(alpha) - 1)];
    return len;
}

/* A field from a pool of about `pool` names, so sets update and deletes hit. */
static size_t rand_field(kprng *r, char *buf, int pool)
{
    return (size_t)snprintf(buf, 32, "f%d", (int)kprng_below(r, (uint64_t)pool));
}

static const khash_limits LIM = {.max_entries = 128, .max_value = 64, .seed = 42};

/* ------------------------------------------------------------------------ */

Test(store_hash, property_against_model)
{
    int converted = 0, late = 0;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        kprng r;
        kprng_seed(&r, seed);
        khash *h = khash_new();
        model m = {0};
        bool must_convert = false;
        /* Seeds differ in how soon they cross: some only by count, some by
         * a long value early on, some never (at most 120 short fields). */
        int long_every = seed % 4 == 0 ? 0 : seed % 3 == 0 ? 40 : 400;
        int pool = seed % 4 == 0 ? 120 : seed % 2 ? 220 : 160;
        khash *snap = NULL;
        model snap_m = {0};
        for (int op = 0; op < 2500; op++) {
            char f[32], v[128];
            size_t flen = rand_field(&r, f, pool), vlen;
            uint64_t what = kprng_below(&r, 100);
            if (what < 60) {
                bool long_one = long_every && kprng_below(&r, (uint64_t)long_every) == 0;
                vlen = long_one ? 65 + (size_t)kprng_below(&r, 60) : rand_str(&r, v, 20);
                if (long_one)
                    memset(v, 'L', vlen);
                bool created;
                h = khash_set(h, f, flen, v, vlen, &LIM, &created);
                cr_assert_eq(created, m_set(&m, f, flen, v, vlen), "seed %llu op %d",
                             (unsigned long long)seed, op);
                if (vlen > 64 || m.n > 128)
                    must_convert = true;
            } else if (what < 85) {
                bool deleted;
                h = khash_del(h, f, flen, &deleted);
                cr_assert_eq(deleted, m_del(&m, f, flen));
            } else {
                const char *gv;
                size_t gl;
                rpair *p = m_find(&m, f, flen);
                cr_assert_eq(khash_get(h, f, flen, &gv, &gl), p != NULL);
                if (p)
                    cr_assert(gl == p->vlen && (gl == 0 || memcmp(gv, p->v, gl) == 0));
            }
            /* Never converts back; converts exactly when it must. */
            cr_assert_eq(khash_enc(h), must_convert ? ENC_HASHTABLE : ENC_LISTPACK,
                         "seed %llu op %d", (unsigned long long)seed, op);
            cr_assert_eq(khash_len(h), m.n);
            if (op % 97 == 0)
                check_agree(h, &m);
            if (op == 700) { /* a copy taken mid-way must not follow the original */
                snap = khash_dup(h);
                m_copy(&snap_m, &m);
                cr_assert_eq(khash_enc(snap), khash_enc(h));
            }
        }
        check_agree(h, &m);
        check_agree(snap, &snap_m);
        converted += khash_enc(h) == ENC_HASHTABLE;
        late += khash_enc(snap) == ENC_LISTPACK && khash_enc(h) == ENC_HASHTABLE;
        khash_free(snap);
        m_free(&snap_m);
        khash_free(h);
        m_free(&m);
    }
    /* The seeds cover both ends: some hashes stay listpacks, some convert,
     * some after the mid-way copy. */
    cr_assert(converted > 0 && converted < 12, "converted %d", converted);
    cr_assert(late > 0);
}

Test(store_hash, exact_thresholds)
{
    khash_limits lim = {.max_entries = 4, .max_value = 8, .seed = 7};
    khash *h = khash_new();
    char f[8];
    for (int i = 0; i < 4; i++) {
        snprintf(f, sizeof(f), "f%d", i);
        h = khash_set(h, f, strlen(f), "12345678", 8, &lim, NULL);
        cr_assert_eq(khash_enc(h), ENC_LISTPACK);
    }
    /* Updating an existing field is no new entry. */
    h = khash_set(h, "f0", 2, "x", 1, &lim, NULL);
    cr_assert_eq(khash_enc(h), ENC_LISTPACK);
    h = khash_set(h, "f4", 2, "x", 1, &lim, NULL);
    cr_assert_eq(khash_enc(h), ENC_HASHTABLE);
    cr_assert_eq(khash_len(h), 5);
    /* Deleting back under the limit keeps the hashtable. */
    for (int i = 0; i < 4; i++) {
        snprintf(f, sizeof(f), "f%d", i);
        bool d;
        h = khash_del(h, f, strlen(f), &d);
        cr_assert(d);
    }
    cr_assert_eq(khash_enc(h), ENC_HASHTABLE);
    cr_assert_eq(khash_len(h), 1);
    khash_free(h);

    /* A 9-byte value converts, so does a 9-byte field, on update too. */
    h = khash_set(khash_new(), "a", 1, "123456789", 9, &lim, NULL);
    cr_assert_eq(khash_enc(h), ENC_HASHTABLE);
    khash_free(h);
    h = khash_set(khash_new(), "123456789", 9, "a", 1, &lim, NULL);
    cr_assert_eq(khash_enc(h), ENC_HASHTABLE);
    khash_free(h);
    h = khash_set(khash_new(), "a", 1, "1", 1, &lim, NULL);
    h = khash_set(h, "a", 1, "123456789", 9, &lim, NULL);
    cr_assert_eq(khash_enc(h), ENC_HASHTABLE);
    const char *v;
    size_t vlen;
    cr_assert(khash_get(h, "a", 1, &v, &vlen));
    cr_assert(vlen == 9 && memcmp(v, "123456789", 9) == 0);
    khash_free(h);

    /* Limit 0 entries: the first field converts (as Redis). */
    khash_limits zero = {.max_entries = 0, .max_value = 64, .seed = 1};
    h = khash_set(khash_new(), "a", 1, "b", 1, &zero, NULL);
    cr_assert_eq(khash_enc(h), ENC_HASHTABLE);
    khash_free(h);
}

Test(store_hash, value_updates_of_every_size)
{
    /* Growing and shrinking a value in the middle of a listpack and in a
     * hashtable entry keeps the neighbours intact, across the 1- to
     * 2-byte length prefix. */
    for (int enc = 0; enc < 2; enc++) {
        khash_limits lim = {.max_entries = 128, .max_value = enc ? 0 : 1000, .seed = 3};
        khash *h = khash_new();
        model m = {0};
        h = khash_set(h, "before", 6, "1", 1, &lim, NULL);
        m_set(&m, "before", 6, "1", 1);
        h = khash_set(h, "mid", 3, "", 0, &lim, NULL);
        m_set(&m, "mid", 3, "", 0);
        h = khash_set(h, "after", 5, "2", 1, &lim, NULL);
        m_set(&m, "after", 5, "2", 1);
        cr_assert_eq(khash_enc(h), enc ? ENC_HASHTABLE : ENC_LISTPACK);
        char big[300];
        memset(big, 'q', sizeof(big));
        size_t lens[] = {0, 1, 127, 128, 129, 300, 128, 127, 5, 5, 0, 200};
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            big[0] = (char)('a' + i);
            bool created;
            h = khash_set(h, "mid", 3, big, lens[i], &lim, &created);
            cr_assert_not(created);
            m_set(&m, "mid", 3, big, lens[i]);
            check_agree(h, &m);
        }
        khash_free(h);
        m_free(&m);
    }
}

Test(store_hash, dup_is_deep_for_both_encodings)
{
    for (int enc = 0; enc < 2; enc++) {
        khash_limits lim = {.max_entries = enc ? 2 : 128, .max_value = 64, .seed = 9};
        khash *h = khash_new();
        h = khash_set(h, "a", 1, "1", 1, &lim, NULL);
        h = khash_set(h, "b", 1, "2", 1, &lim, NULL);
        h = khash_set(h, "c", 1, "3", 1, &lim, NULL);
        cr_assert_eq(khash_enc(h), enc ? ENC_HASHTABLE : ENC_LISTPACK);
        khash *d = khash_dup(h);
        cr_assert_eq(khash_enc(d), khash_enc(h));
        h = khash_set(h, "a", 1, "changed", 7, &lim, NULL);
        h = khash_del(h, "b", 1, NULL);
        h = khash_set(h, "new", 3, "x", 1, &lim, NULL);
        model m = {0};
        m_set(&m, "a", 1, "1", 1);
        m_set(&m, "b", 1, "2", 1);
        m_set(&m, "c", 1, "3", 1);
        check_agree(d, &m);
        /* And the other way round. */
        d = khash_set(d, "c", 1, "33", 2, &lim, NULL);
        const char *v;
        size_t vlen;
        cr_assert(khash_get(h, "c", 1, &v, &vlen) && vlen == 1 && v[0] == '3');
        khash_free(h);
        khash_free(d);
        m_free(&m);
    }
}

Test(store_hash, binary_fields_and_values)
{
    khash_limits lim = {.max_entries = 128, .max_value = 64, .seed = 5};
    for (int enc = 0; enc < 2; enc++) {
        khash *h = enc ? khash_new_hashtable(5) : khash_new();
        model m = {0};
        const char *fs[] = {"a\0b", "a\0c", "a", "", "\r\n"};
        size_t fl[] = {3, 3, 1, 0, 2};
        for (int i = 0; i < 5; i++) {
            bool c;
            h = khash_set(h, fs[i], fl[i], fs[(i + 1) % 5], fl[(i + 1) % 5], &lim, &c);
            cr_assert(c);
            m_set(&m, fs[i], fl[i], fs[(i + 1) % 5], fl[(i + 1) % 5]);
        }
        cr_assert_eq(khash_enc(h), enc ? ENC_HASHTABLE : ENC_LISTPACK);
        check_agree(h, &m);
        const char *v;
        size_t vlen;
        cr_assert_not(khash_get(h, "a\0", 2, &v, &vlen));
        bool d;
        h = khash_del(h, "", 0, &d);
        cr_assert(d);
        m_del(&m, "", 0);
        check_agree(h, &m);
        khash_free(h);
        m_free(&m);
    }
}

/* The insertion order of a listpack. */
typedef struct order_ctx {
    char buf[256];
    size_t len;
} order_ctx;

static void order_cb(void *ctx, const char *f, size_t flen, const char *v, size_t vlen)
{
    order_ctx *o = ctx;
    memcpy(o->buf + o->len, f, flen);
    o->len += flen;
    o->buf[o->len++] = '=';
    memcpy(o->buf + o->len, v, vlen);
    o->len += vlen;
    o->buf[o->len++] = ';';
}

Test(store_hash, listpack_keeps_insertion_order)
{
    khash *h = khash_new();
    h = khash_set(h, "z", 1, "1", 1, &LIM, NULL);
    h = khash_set(h, "a", 1, "2", 1, &LIM, NULL);
    h = khash_set(h, "m", 1, "3", 1, &LIM, NULL);
    h = khash_set(h, "a", 1, "22", 2, &LIM, NULL);
    h = khash_del(h, "z", 1, NULL);
    h = khash_set(h, "z", 1, "4", 1, &LIM, NULL);
    order_ctx o = {.len = 0};
    khash_for_each(h, order_cb, &o);
    cr_assert_eq(o.len, strlen("a=22;m=3;z=4;"));
    cr_assert(memcmp(o.buf, "a=22;m=3;z=4;", o.len) == 0);
    khash_free(h);
}

typedef struct scan_seen {
    int count[2000];
    size_t calls;
} scan_seen;

static void scan_cb(void *ctx, const char *f, size_t flen, const char *v, size_t vlen)
{
    scan_seen *s = ctx;
    char tmp[16];
    cr_assert(flen < sizeof(tmp));
    memcpy(tmp, f, flen);
    tmp[flen] = '\0';
    int i = atoi(tmp + 1);
    cr_assert(i >= 0 && i < 2000);
    cr_assert(vlen == flen && memcmp(f, v, vlen) == 0);
    s->count[i]++;
    s->calls++;
}

Test(store_hash, scan_visits_every_field)
{
    /* Listpack: one step, cursor 0. */
    khash *h = khash_new();
    char f[16];
    for (int i = 0; i < 50; i++) {
        size_t n = (size_t)snprintf(f, sizeof(f), "f%d", i);
        h = khash_set(h, f, n, f, n, &LIM, NULL);
    }
    scan_seen *s = calloc(1, sizeof(*s));
    cr_assert_eq(khash_scan(h, 12345, scan_cb, s), 0);
    cr_assert_eq(s->calls, 50);
    khash_free(h);

    /* Hashtable: a full cursor walk sees every field at least once, while
     * the table grows between steps. */
    memset(s, 0, sizeof(*s));
    h = khash_new();
    for (int i = 0; i < 1000; i++) {
        size_t n = (size_t)snprintf(f, sizeof(f), "f%d", i);
        h = khash_set(h, f, n, f, n, &LIM, NULL);
    }
    cr_assert_eq(khash_enc(h), ENC_HASHTABLE);
    uint64_t cursor = 0;
    int steps = 0, next = 1000;
    do {
        cursor = khash_scan(h, cursor, scan_cb, s);
        if (++steps % 4 == 0 && next < 2000) { /* grow during the scan */
            size_t n = (size_t)snprintf(f, sizeof(f), "f%d", next++);
            h = khash_set(h, f, n, f, n, &LIM, NULL);
        }
        cr_assert(steps < 100000);
    } while (cursor != 0);
    for (int i = 0; i < 1000; i++)
        cr_assert(s->count[i] >= 1, "f%d missed", i);
    cr_assert(khash_check(h));
    khash_free(h);
    free(s);
}

Test(store_hash, random_picks_are_members_fair_and_deterministic)
{
    for (int enc = 0; enc < 2; enc++) {
        khash *a = enc ? khash_new_hashtable(11) : khash_new();
        khash *b = enc ? khash_new_hashtable(11) : khash_new();
        char f[16];
        for (int i = 0; i < 10; i++) {
            size_t n = (size_t)snprintf(f, sizeof(f), "f%d", i);
            a = khash_set(a, f, n, f, n, &LIM, NULL);
            b = khash_set(b, f, n, f, n, &LIM, NULL);
        }
        kprng ra, rb;
        kprng_seed(&ra, 99);
        kprng_seed(&rb, 99);
        int hist[10] = {0};
        for (int i = 0; i < 10000; i++) {
            const char *fa, *va, *fb, *vb;
            size_t fla, vla, flb, vlb;
            khash_random(a, &ra, &fa, &fla, &va, &vla);
            khash_random(b, &rb, &fb, &flb, &vb, &vlb);
            cr_assert(fla == flb && memcmp(fa, fb, fla) == 0, "same seed, same picks");
            cr_assert(vla == fla && memcmp(va, fa, fla) == 0, "value belongs to field");
            hist[fa[1] - '0']++;
        }
        /* Chi-square with 9 degrees of freedom: 40 is p < 0.00001 (the
         * Redis test's bound). */
        double chi = 0;
        for (int i = 0; i < 10; i++)
            chi += (hist[i] - 1000.0) * (hist[i] - 1000.0) / 1000.0;
        cr_assert_lt(chi, 40.0, "enc %d chi %f", enc, chi);
        khash_free(a);
        khash_free(b);
    }
}

Test(store_hash, load_set_ignores_limits)
{
    /* A listpack loaded from a snapshot stays one, whatever its size. */
    khash *h = khash_new();
    char f[16], big[200];
    memset(big, 'v', sizeof(big));
    for (int i = 0; i < 300; i++) {
        size_t n = (size_t)snprintf(f, sizeof(f), "f%d", i);
        bool c;
        h = khash_load_set(h, f, n, big, sizeof(big), 1, &c);
        cr_assert(c);
    }
    cr_assert_eq(khash_enc(h), ENC_LISTPACK);
    cr_assert_eq(khash_len(h), 300);
    cr_assert(khash_check(h));
    /* A duplicate updates. */
    bool c;
    h = khash_load_set(h, "f7", 2, "x", 1, 1, &c);
    cr_assert_not(c);
    cr_assert_eq(khash_len(h), 300);
    /* A later ordinary set applies the limits. */
    h = khash_set(h, "f7", 2, "y", 1, &LIM, NULL);
    cr_assert_eq(khash_enc(h), ENC_HASHTABLE);
    cr_assert_eq(khash_len(h), 300);
    khash_free(h);

    h = khash_new_hashtable(77);
    h = khash_load_set(h, "a", 1, "b", 1, 77, &c);
    cr_assert(c);
    cr_assert_eq(khash_enc(h), ENC_HASHTABLE);
    cr_assert_eq(khash_len(h), 1);
    /* Explicit conversion, and converting a hashtable is a no-op. */
    cr_assert_eq(khash_convert(h, 1), h);
    khash_free(h);
    h = khash_convert(khash_set(khash_new(), "a", 1, "b", 1, &LIM, NULL), 5);
    cr_assert_eq(khash_enc(h), ENC_HASHTABLE);
    const char *v;
    size_t vlen;
    cr_assert(khash_get(h, "a", 1, &v, &vlen) && vlen == 1 && v[0] == 'b');
    khash_free(h);
}

Test(store_hash, obj_ops_and_db_ownership)
{
    cr_assert_eq(obj_ops_by_type[OBJ_HASH], &hash_obj_ops);
    khash *h = khash_set(khash_new(), "a", 1, "b", 1, &LIM, NULL);
    cr_assert_eq(hash_obj_ops.len(h), 1);
    void *d = hash_obj_ops.dup(h);
    cr_assert_eq(hash_obj_ops.len(d), 1);
    hash_obj_ops.free(d);

    /* The db frees it with the key, copies it deeply with COPY. */
    db dbx;
    db_init(&dbx, 1);
    db_set_obj(&dbx, "k", 1, OBJ_HASH, khash_enc(h), h, -1);
    kentry *e = db_find(&dbx, "k", 1, 0);
    kentry *c = db_copy(&dbx, e, "k2", 2);
    khash *hc = kentry_obj(c);
    cr_assert_neq((void *)hc, (void *)h);
    hc = khash_set(hc, "x", 1, "y", 1, &LIM, NULL);
    kentry_set_obj(c, hc, khash_enc(hc));
    cr_assert_eq(khash_len(kentry_obj(db_find(&dbx, "k", 1, 0))), 1);
    cr_assert_eq(khash_len(kentry_obj(db_find(&dbx, "k2", 2, 0))), 2);
    db_free(&dbx);
}

Test(store_hash, many_fields_stay_consistent_through_rehash)
{
    khash *h = khash_new();
    char f[16];
    for (int i = 0; i < 5000; i++) {
        size_t n = (size_t)snprintf(f, sizeof(f), "k%d", i);
        h = khash_set(h, f, n, f, n, &LIM, NULL);
    }
    cr_assert(khash_check(h));
    for (int i = 0; i < 5000; i += 2) {
        size_t n = (size_t)snprintf(f, sizeof(f), "k%d", i);
        bool d;
        h = khash_del(h, f, n, &d);
        cr_assert(d);
    }
    cr_assert(khash_check(h));
    cr_assert_eq(khash_len(h), 2500);
    for (int i = 0; i < 5000; i++) {
        size_t n = (size_t)snprintf(f, sizeof(f), "k%d", i);
        const char *v;
        size_t vlen;
        cr_assert_eq(khash_get(h, f, n, &v, &vlen), i % 2 == 1);
    }
    khash_free(h);
}
