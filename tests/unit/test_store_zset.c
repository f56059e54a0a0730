/* kzset (core/store/zset.c): a property test against a sorted reference
 * model in both encodings and across conversions, plus ranks, range
 * bounds, deletions by rank, dup, shrink, determinism, scans, and the
 * snapshot codec round trip. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/store/codec.h"
#include "core/store/db.h"
#include "core/store/types.h"
#include "core/store/zset.h"
#include "core/util/kbuf.h"
#include "core/util/prng.h"

/* The model: an array of (member, score) kept sorted like the set. */
typedef struct rel {
    char m[16];
    size_t mlen;
    double score;
} rel;

typedef struct model {
    rel p[1024];
    size_t n;
} model;

static int rel_cmp(const void *a, const void *b)
{
    const rel *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    size_t n = x->mlen < y->mlen ? x->mlen : y->mlen;
    int c = memcmp(x->m, y->m, n);
    if (c)
        return c;
    return x->mlen < y->mlen ? -1 : x->mlen > y->mlen;
}

static rel *m_find(model *m, const char *s, size_t len)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->p[i].mlen == len && memcmp(m->p[i].m, s, len) == 0)
            return &m->p[i];
    return NULL;
}

typedef struct cmp_ctx {
    const model *m;
    size_t i;
} cmp_ctx;

static bool cmp_cb(void *ctx, const char *m, size_t mlen, double score)
{
    cmp_ctx *c = ctx;
    const rel *r = &c->m->p[c->i++];
    cr_assert_eq(mlen, r->mlen);
    cr_assert(memcmp(m, r->m, mlen) == 0);
    cr_assert(score == r->score);
    return true;
}

static void check_same(const kzset *z, const model *m)
{
    cr_assert(kzset_check(z));
    cr_assert_eq(kzset_len(z), m->n);
    cmp_ctx c = {m, 0};
    kzset_for_each(z, cmp_cb, &c);
    cr_assert_eq(c.i, m->n);
}

static void run_model(kzset_limits lim, uint64_t seed, int ops, int expect_enc)
{
    kprng r;
    kprng_seed(&r, seed);
    kzset *z = kzset_new();
    model m = {.n = 0};
    for (int op = 0; op < ops; op++) {
        char buf[16];
        int len = snprintf(buf, sizeof(buf), "m%u", (unsigned)kprng_below(&r, 300));
        double score = (double)kprng_below(&r, 50) - 25;
        if (kprng_below(&r, 3) != 0) {
            bool created;
            z = kzset_add(z, buf, (size_t)len, score, &lim, &created);
            rel *e = m_find(&m, buf, (size_t)len);
            cr_assert_eq(created, e == NULL);
            if (e)
                e->score = score;
            else {
                memcpy(m.p[m.n].m, buf, (size_t)len);
                m.p[m.n].mlen = (size_t)len;
                m.p[m.n].score = score;
                m.n++;
            }
        } else {
            bool deleted;
            z = kzset_del(z, buf, (size_t)len, &deleted);
            rel *e = m_find(&m, buf, (size_t)len);
            cr_assert_eq(deleted, e != NULL);
            if (e)
                *e = m.p[--m.n];
        }
        qsort(m.p, m.n, sizeof(rel), rel_cmp);
        if (op % 37 == 0)
            check_same(z, &m);
    }
    check_same(z, &m);
    cr_assert_eq(kzset_enc(z), expect_enc);
    /* Ranks, scores, positions. */
    for (size_t i = 0; i < m.n; i++) {
        size_t rank;
        double s;
        cr_assert(kzset_rank(z, m.p[i].m, m.p[i].mlen, &rank));
        cr_assert_eq(rank, i);
        cr_assert(kzset_score(z, m.p[i].m, m.p[i].mlen, &s));
        cr_assert(s == m.p[i].score);
        const char *mm;
        size_t ml;
        kzset_at(z, i, &mm, &ml, &s);
        cr_assert(ml == m.p[i].mlen && memcmp(mm, m.p[i].m, ml) == 0);
    }
    /* Score bounds against a count over the model. */
    for (double v = -27; v <= 27; v += 0.5) {
        size_t below = 0, atmost = 0;
        for (size_t i = 0; i < m.n; i++) {
            below += m.p[i].score < v;
            atmost += m.p[i].score <= v;
        }
        cr_assert_eq(kzset_score_lo(z, v, false), below);
        cr_assert_eq(kzset_score_lo(z, v, true), atmost);
        cr_assert_eq(kzset_score_hi(z, v, false), atmost);
        cr_assert_eq(kzset_score_hi(z, v, true), below);
    }
    /* Delete a rank range in the middle. */
    if (m.n > 10) {
        size_t removed;
        z = kzset_del_range(z, 3, 8, &removed);
        cr_assert_eq(removed, 6);
        memmove(&m.p[3], &m.p[9], (m.n - 9) * sizeof(rel));
        m.n -= 6;
        check_same(z, &m);
    }
    kzset *d = kzset_dup(z);
    cr_assert_eq(kzset_enc(d), kzset_enc(z));
    check_same(d, &m);
    kzset_free(d);
    kzset_free(z);
}

Test(store_zset, model_listpack)
{
    kzset_limits lim = {.max_entries = 100000, .max_value = 64, .seed = 1};
    run_model(lim, 7, 3000, ENC_LISTPACK);
}

Test(store_zset, model_skiplist)
{
    kzset_limits lim = {.max_entries = 16, .max_value = 64, .seed = 1};
    run_model(lim, 9, 3000, ENC_SKIPLIST);
}

Test(store_zset, thresholds_and_shrink)
{
    kzset_limits lim = {.max_entries = 3, .max_value = 4, .seed = 5};
    kzset *z = kzset_new();
    z = kzset_add(z, "a", 1, 1, &lim, NULL);
    z = kzset_add(z, "b", 1, 2, &lim, NULL);
    z = kzset_add(z, "c", 1, 3, &lim, NULL);
    cr_assert_eq(kzset_enc(z), ENC_LISTPACK);
    z = kzset_add(z, "c", 1, 0, &lim, NULL); /* update: no conversion */
    cr_assert_eq(kzset_enc(z), ENC_LISTPACK);
    z = kzset_add(z, "d", 1, 4, &lim, NULL);
    cr_assert_eq(kzset_enc(z), ENC_SKIPLIST);
    z = kzset_shrink(z, &lim);
    cr_assert_eq(kzset_enc(z), ENC_SKIPLIST); /* 4 > 3 */
    z = kzset_del(z, "d", 1, NULL);
    z = kzset_shrink(z, &lim);
    cr_assert_eq(kzset_enc(z), ENC_LISTPACK);
    cr_assert(kzset_check(z));
    const char *m;
    size_t ml;
    double s;
    kzset_at(z, 0, &m, &ml, &s);
    cr_assert(ml == 1 && m[0] == 'c' && s == 0);
    z = kzset_add(z, "toolong", 7, 9, &lim, NULL);
    cr_assert_eq(kzset_enc(z), ENC_SKIPLIST);
    kzset_free(z);
}

Test(store_zset, lex_bounds_and_binary_members)
{
    kzset_limits lim = {.max_entries = 128, .max_value = 64, .seed = 5};
    for (int enc = 0; enc < 2; enc++) {
        kzset *z = enc ? kzset_new_skiplist(3) : kzset_new();
        const char *ms[] = {"a", "b", "b\0x", "c", "d"};
        size_t ls[] = {1, 1, 3, 1, 1};
        for (int i = 0; i < 5; i++)
            z = kzset_add(z, ms[i], ls[i], 0, &lim, NULL);
        kzset_lexbound minus = {.kind = ZLEX_MINUS_INF}, plus = {.kind = ZLEX_PLUS_INF};
        kzset_lexbound b_in = {.kind = ZLEX_VALUE, .p = "b", .len = 1};
        kzset_lexbound b_ex = {.kind = ZLEX_VALUE, .ex = true, .p = "b", .len = 1};
        cr_assert_eq(kzset_lex_lo(z, &minus), 0);
        cr_assert_eq(kzset_lex_hi(z, &plus), 5);
        cr_assert_eq(kzset_lex_lo(z, &b_in), 1);
        cr_assert_eq(kzset_lex_lo(z, &b_ex), 2);
        cr_assert_eq(kzset_lex_hi(z, &b_in), 2);
        cr_assert_eq(kzset_lex_hi(z, &b_ex), 1);
        cr_assert_eq(kzset_lex_lo(z, &plus), 5);
        cr_assert_eq(kzset_lex_hi(z, &minus), 0);
        size_t r;
        cr_assert(kzset_rank(z, "b\0x", 3, &r));
        cr_assert_eq(r, 2);
        cr_assert(kzset_check(z));
        kzset_free(z);
    }
}

Test(store_zset, same_operations_same_structure)
{
    kzset_limits lim = {.max_entries = 0, .max_value = 64, .seed = 42};
    kzset *a = kzset_new(), *b = kzset_new();
    for (int i = 0; i < 500; i++) {
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%d", (i * 7919) % 1000);
        a = kzset_add(a, buf, (size_t)n, i % 13, &lim, NULL);
        b = kzset_add(b, buf, (size_t)n, i % 13, &lim, NULL);
    }
    cr_assert_eq(kzset_enc(a), ENC_SKIPLIST);
    /* The same scan order, cursor by cursor, and the same random picks. */
    kprng ra, rb;
    kprng_seed(&ra, 1);
    kprng_seed(&rb, 1);
    for (int i = 0; i < 50; i++) {
        const char *ma, *mb;
        size_t la, lb;
        double sa, sb;
        kzset_random(a, &ra, &ma, &la, &sa);
        kzset_random(b, &rb, &mb, &lb, &sb);
        cr_assert(la == lb && memcmp(ma, mb, la) == 0 && sa == sb);
    }
    kzset_free(a);
    kzset_free(b);
}

static bool count_cb(void *ctx, const char *m, size_t mlen, double score)
{
    (void)m, (void)mlen, (void)score;
    (*(size_t *)ctx)++;
    return true;
}

Test(store_zset, scan_visits_every_member)
{
    kzset_limits lim = {.max_entries = 10, .max_value = 64, .seed = 42};
    kzset *z = kzset_new();
    for (int i = 0; i < 300; i++) {
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "x%d", i);
        z = kzset_add(z, buf, (size_t)n, i, &lim, NULL);
    }
    size_t seen = 0;
    uint64_t cur = 0;
    do {
        cur = kzset_scan(z, cur, count_cb, &seen);
    } while (cur);
    cr_assert_eq(seen, 300);
    kzset_free(z);
}

Test(store_zset, walk_reverse_and_partial)
{
    kzset_limits lim = {.max_entries = 128, .max_value = 64, .seed = 1};
    for (int enc = 0; enc < 2; enc++) {
        kzset *z = enc ? kzset_new_skiplist(1) : kzset_new();
        for (int i = 0; i < 20; i++) {
            char buf[8];
            int n = snprintf(buf, sizeof(buf), "%c", 'a' + i);
            z = kzset_add(z, buf, (size_t)n, i, &lim, NULL);
        }
        size_t cnt = 0;
        kzset_walk(z, 10, 5, true, count_cb, &cnt);
        cr_assert_eq(cnt, 5);
        cnt = 0;
        kzset_walk(z, 3, 100, true, count_cb, &cnt);
        cr_assert_eq(cnt, 4);
        cnt = 0;
        kzset_walk(z, 15, 100, false, count_cb, &cnt);
        cr_assert_eq(cnt, 5);
        kzset_free(z);
    }
}

static int to_kbuf(void *ctx, const char *buf, size_t len)
{
    kbuf_append(ctx, buf, len);
    return 0;
}

typedef struct dump_ctx {
    char out[65536];
    size_t len;
} dump_ctx;

static bool dump_cb(void *ctx, const char *m, size_t mlen, double score)
{
    dump_ctx *d = ctx;
    d->len += (size_t)snprintf(d->out + d->len, sizeof(d->out) - d->len, "%.*s=%.17g,", (int)mlen,
                               m, score);
    return true;
}

Test(store_zset, codec_round_trip)
{
    db a, b;
    db_init(&a, 11);
    db_init(&b, 11);
    kzset_limits lim = {.max_entries = 128, .max_value = 64, .seed = 11};
    kzset *small = kzset_new(), *big = kzset_new();
    small = kzset_add(small, "one", 3, 1, &lim, NULL);
    small = kzset_add(small, "inf", 3, INFINITY, &lim, NULL);
    small = kzset_add(small, "ninf", 4, -INFINITY, &lim, NULL);
    small = kzset_add(small, "frac", 4, 0.1, &lim, NULL);
    for (int i = 0; i < 200; i++) {
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "e%d", i);
        big = kzset_add(big, buf, (size_t)n, i * 1.5, &lim, NULL);
    }
    db_set_obj(&a, "s", 1, OBJ_ZSET, kzset_enc(small), small, -1);
    db_set_obj(&a, "b", 1, OBJ_ZSET, kzset_enc(big), big, 1234567);
    kbuf img = {0};
    cr_assert_eq(codec_encode_db(&a, to_kbuf, &img), 0);
    const char *err = codec_decode_db(&b, img.data, img.len, 11);
    cr_assert_null(err, "%s", err);
    const char *keys[] = {"s", "b"};
    for (int i = 0; i < 2; i++) {
        kentry *ea = db_find(&a, keys[i], 1, 0), *eb = db_find(&b, keys[i], 1, 0);
        cr_assert_not_null(eb);
        cr_assert_eq(kentry_type(eb), OBJ_ZSET);
        cr_assert_eq(kentry_enc(eb), kentry_enc(ea));
        cr_assert_eq(kentry_deadline(eb), kentry_deadline(ea));
        static dump_ctx da, dbb;
        da.len = dbb.len = 0;
        kzset_for_each(kentry_obj(ea), dump_cb, &da);
        kzset_for_each(kentry_obj(eb), dump_cb, &dbb);
        cr_assert_eq(da.len, dbb.len);
        cr_assert(memcmp(da.out, dbb.out, da.len) == 0);
        cr_assert(kzset_check(kentry_obj(eb)));
    }
    cr_assert_eq(kentry_enc(db_find(&b, "s", 1, 0)), ENC_LISTPACK);
    cr_assert_eq(kentry_enc(db_find(&b, "b", 1, 0)), ENC_SKIPLIST);
    kbuf_free(&img);
    db_free(&a);
    db_free(&b);
}

Test(store_zset, obj_ops)
{
    kzset_limits lim = {.max_entries = 128, .max_value = 64, .seed = 1};
    kzset *z = kzset_add(kzset_new(), "a", 1, 1, &lim, NULL);
    cr_assert_eq(zset_obj_ops.len(z), 1);
    kzset *d = zset_obj_ops.dup(z);
    d = kzset_add(d, "b", 1, 2, &lim, NULL);
    cr_assert_eq(kzset_len(z), 1);
    cr_assert_eq(kzset_len(d), 2);
    zset_obj_ops.free(z);
    zset_obj_ops.free(d);
}
