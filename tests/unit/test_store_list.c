/* klist (core/store/list.c): a property test against a plain array model
 * for every fill (node size), plus the edges: node limits, oversized
 * elements, iteration both ways, dup independence, binary elements, the
 * obj_ops and the snapshot codec round trip. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "core/store/codec.h"
#include "core/store/db.h"
#include "core/store/list.h"
#include "core/store/types.h"
#include "core/util/kbuf.h"
#include "core/util/prng.h"

/* ------------------------------------------------------------------------ */
/* The model: an array of strings. */

typedef struct melem {
    char *s;
    size_t n;
} melem;

typedef struct model {
    melem *e;
    size_t n, cap;
} model;

static void m_insert(model *m, size_t idx, const char *s, size_t n)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->e = realloc(m->e, m->cap * sizeof(*m->e));
        cr_assert_not_null(m->e);
    }
    memmove(m->e + idx + 1, m->e + idx, (m->n - idx) * sizeof(*m->e));
    m->e[idx].s = malloc(n ? n : 1);
    if (n)
        memcpy(m->e[idx].s, s, n);
    m->e[idx].n = n;
    m->n++;
}

static void m_del(model *m, size_t idx, size_t cnt)
{
    for (size_t i = idx; i < idx + cnt; i++)
        free(m->e[i].s);
    memmove(m->e + idx, m->e + idx + cnt, (m->n - idx - cnt) * sizeof(*m->e));
    m->n -= cnt;
}

static void m_free(model *m)
{
    m_del(m, 0, m->n);
    free(m->e);
}

static bool m_eq(const melem *e, const char *s, size_t n)
{
    return e->n == n && (n == 0 || memcmp(e->s, s, n) == 0);
}

/* Compares everything: length, indexes both ways, iteration both ways. */
static void assert_same(const klist *l, const model *m)
{
    cr_assert(klist_check(l));
    cr_assert_eq(klist_len(l), m->n);
    klist_iter it;
    const char *p;
    size_t n;
    klist_iter_init(&it, l, 0, KLIST_TAIL);
    for (size_t i = 0; i < m->n; i++) {
        cr_assert(klist_iter_next(&it, &p, &n));
        cr_assert(m_eq(&m->e[i], p, n), "forward %zu", i);
    }
    cr_assert_not(klist_iter_next(&it, &p, &n));
    klist_iter_init(&it, l, -1, KLIST_HEAD);
    for (size_t i = m->n; i-- > 0;) {
        cr_assert(klist_iter_next(&it, &p, &n));
        cr_assert(m_eq(&m->e[i], p, n), "backward %zu", i);
    }
    cr_assert_not(klist_iter_next(&it, &p, &n));
    for (size_t i = 0; i < m->n; i += 1 + m->n / 16) {
        cr_assert(klist_index(l, (long long)i, &p, &n));
        cr_assert(m_eq(&m->e[i], p, n));
        cr_assert(klist_index(l, (long long)i - (long long)m->n, &p, &n));
        cr_assert(m_eq(&m->e[i], p, n));
    }
    cr_assert_not(klist_index(l, (long long)m->n, &p, &n));
    cr_assert_not(klist_index(l, -(long long)m->n - 1, &p, &n));
}

/* A random element: mostly short, from a small alphabet (so LREM finds
 * matches), sometimes long (past a node's limit), sometimes empty. */
static size_t rand_elem(kprng *r, char *buf)
{
    uint64_t k = kprng_below(r, 100);
    size_t n;
    if (k < 5)
        n = 0;
    else if (k < 90)
        n = 1 + kprng_below(r, 3);
    else if (k < 97)
        n = 100 + kprng_below(r, 300);
    else
        n = 5000 + kprng_below(r, 70000);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)("ab\0\r"[kprng_below(r, 4)]);
    return n;
}

static const long long fills[] = {-2, -1, -5, 1, 2, 3, 16, 0, 100000, -100};

Test(store_list, property_against_model)
{
    char *buf = malloc(80000), *buf2 = malloc(80000);
    for (size_t f = 0; f < sizeof(fills) / sizeof(fills[0]); f++) {
        kprng r;
        kprng_seed(&r, 42 + f);
        klist *l = klist_new(fills[f]);
        model m = {0};
        for (int step = 0; step < 3000; step++) {
            uint64_t op = kprng_below(&r, 100);
            size_t n = rand_elem(&r, buf);
            if (op < 30) {
                int where = kprng_below(&r, 2) ? KLIST_HEAD : KLIST_TAIL;
                klist_push(l, where, buf, n);
                m_insert(&m, where == KLIST_HEAD ? 0 : m.n, buf, n);
            } else if (op < 45) {
                size_t idx = kprng_below(&r, m.n + 1);
                klist_insert(l, idx, buf, n);
                m_insert(&m, idx, buf, n);
            } else if (op < 55) {
                if (m.n == 0)
                    continue;
                size_t idx = kprng_below(&r, m.n);
                long long ridx = kprng_below(&r, 2) ? (long long)idx : (long long)idx - (long long)m.n;
                cr_assert(klist_set(l, ridx, buf, n));
                m_del(&m, idx, 1);
                m_insert(&m, idx, buf, n);
            } else if (op < 70) {
                if (m.n == 0)
                    continue;
                size_t start = kprng_below(&r, m.n);
                size_t cnt = kprng_below(&r, m.n - start + 1);
                if (kprng_below(&r, 4) == 0)
                    cnt = kprng_below(&r, 3);
                klist_del_range(l, start, cnt); /* clamps a count past the end */
                m_del(&m, start, cnt > m.n - start ? m.n - start : cnt);
            } else if (op < 78) {
                /* LREM with a short element */
                size_t en = 1 + kprng_below(&r, 2);
                for (size_t i = 0; i < en; i++)
                    buf2[i] = (char)("ab\0\r"[kprng_below(&r, 4)]);
                long long count = (long long)kprng_below(&r, 5) - 2;
                size_t want = 0;
                if (count >= 0) {
                    for (size_t i = 0; i < m.n;) {
                        if (m_eq(&m.e[i], buf2, en) && (count == 0 || want < (size_t)count)) {
                            m_del(&m, i, 1);
                            want++;
                        } else {
                            i++;
                        }
                    }
                } else {
                    for (size_t i = m.n; i-- > 0;) {
                        if (m_eq(&m.e[i], buf2, en) && want < (size_t)-count) {
                            m_del(&m, i, 1);
                            want++;
                        }
                    }
                }
                cr_assert_eq(klist_rem(l, buf2, en, count), want);
            } else if (op < 80) {
                /* Iterate from a random index in a random direction. */
                if (m.n == 0)
                    continue;
                size_t idx = kprng_below(&r, m.n);
                int dir = kprng_below(&r, 2) ? KLIST_HEAD : KLIST_TAIL;
                klist_iter it;
                klist_iter_init(&it, l, (long long)idx, dir);
                const char *p;
                size_t pn, seen = 0;
                while (klist_iter_next(&it, &p, &pn)) {
                    size_t at = dir == KLIST_TAIL ? idx + seen : idx - seen;
                    cr_assert(m_eq(&m.e[at], p, pn));
                    seen++;
                }
                cr_assert_eq(seen, dir == KLIST_TAIL ? m.n - idx : idx + 1);
            } else {
                /* pop */
                if (m.n == 0)
                    continue;
                if (kprng_below(&r, 2)) {
                    klist_del_range(l, 0, 1);
                    m_del(&m, 0, 1);
                } else {
                    klist_del_range(l, m.n - 1, 1);
                    m_del(&m, m.n - 1, 1);
                }
            }
            cr_assert(klist_check(l), "fill %lld step %d", fills[f], step);
            if (step % 100 == 0)
                assert_same(l, &m);
        }
        assert_same(l, &m);
        klist *d = klist_dup(l);
        assert_same(d, &m);
        klist_free(l);
        /* The copy lives on its own. */
        klist_push(d, KLIST_TAIL, "z", 1);
        m_insert(&m, m.n, "z", 1);
        assert_same(d, &m);
        klist_free(d);
        m_free(&m);
    }
    free(buf);
    free(buf2);
}

Test(store_list, node_limits)
{
    /* Count-limited nodes. */
    klist *l = klist_new(4);
    for (int i = 0; i < 10; i++)
        klist_push(l, KLIST_TAIL, "x", 1);
    cr_assert_eq(klist_node_count(l), 3);
    cr_assert_eq(klist_fill(l), 4);
    klist_free(l);
    /* 0: one element per node. */
    l = klist_new(0);
    for (int i = 0; i < 10; i++)
        klist_push(l, KLIST_HEAD, "x", 1);
    cr_assert_eq(klist_node_count(l), 10);
    klist_free(l);
    /* -2: 8 KiB nodes; 100-byte elements take 102 bytes each: 80 a node. */
    l = klist_new(-2);
    char v[100];
    memset(v, 'v', sizeof(v));
    for (int i = 0; i < 160; i++)
        klist_push(l, KLIST_TAIL, v, sizeof(v));
    cr_assert_eq(klist_node_count(l), 2);
    klist_free(l);
    /* -1: 4 KiB; -5: 64 KiB. */
    l = klist_new(-1);
    for (int i = 0; i < 160; i++)
        klist_push(l, KLIST_TAIL, v, sizeof(v));
    cr_assert_eq(klist_node_count(l), 4);
    klist_free(l);
    l = klist_new(-5);
    for (int i = 0; i < 640; i++)
        klist_push(l, KLIST_TAIL, v, sizeof(v));
    cr_assert_eq(klist_node_count(l), 1);
    cr_assert(klist_check(l));
    klist_free(l);
    /* Clamped: below -5 is -5, above 32768 is 32768. */
    l = klist_new(-1000);
    cr_assert_eq(klist_fill(l), -5);
    klist_free(l);
    l = klist_new(1LL << 40);
    cr_assert_eq(klist_fill(l), 32768);
    /* A count limit still stops at 8 KiB. */
    for (int i = 0; i < 160; i++)
        klist_push(l, KLIST_TAIL, v, sizeof(v));
    cr_assert_eq(klist_node_count(l), 2);
    klist_free(l);
}

Test(store_list, oversized_elements_and_splits)
{
    klist *l = klist_new(-2);
    char *big = malloc(20000);
    memset(big, 'B', 20000);
    for (int i = 0; i < 50; i++)
        klist_push(l, KLIST_TAIL, "s", 1);
    cr_assert_eq(klist_node_count(l), 1);
    /* In the middle of a full-enough node: split around it. */
    klist_insert(l, 25, big, 20000);
    cr_assert_eq(klist_node_count(l), 3);
    cr_assert(klist_check(l));
    const char *p;
    size_t n;
    cr_assert(klist_index(l, 25, &p, &n));
    cr_assert_eq(n, 20000);
    cr_assert(klist_index(l, 26, &p, &n));
    cr_assert_eq(n, 1);
    /* Replacing a small element by a big one, and back. */
    cr_assert(klist_set(l, 10, big, 20000));
    cr_assert(klist_check(l));
    cr_assert(klist_index(l, 10, &p, &n));
    cr_assert_eq(n, 20000);
    cr_assert(klist_set(l, 10, "t", 1));
    cr_assert(klist_set(l, 25, "u", 1));
    cr_assert(klist_check(l));
    cr_assert_eq(klist_len(l), 51);
    cr_assert(klist_index(l, 25, &p, &n));
    cr_assert(n == 1 && p[0] == 'u');
    cr_assert_not(klist_set(l, 51, "x", 1));
    cr_assert_not(klist_set(l, -52, "x", 1));
    klist_free(l);
    free(big);
}

Test(store_list, varint_lengths_at_boundaries)
{
    klist *l = klist_new(-5);
    size_t sizes[] = {0, 1, 127, 128, 129, 16383, 16384, 16385, 70000};
    size_t ns = sizeof(sizes) / sizeof(sizes[0]);
    char *buf = malloc(70000);
    for (size_t i = 0; i < ns; i++) {
        memset(buf, (int)('a' + i), sizes[i]);
        klist_push(l, KLIST_TAIL, buf, sizes[i]);
        klist_push(l, KLIST_HEAD, buf, sizes[i]);
    }
    cr_assert(klist_check(l));
    klist_iter it;
    klist_iter_init(&it, l, -1, KLIST_HEAD);
    const char *p;
    size_t n;
    for (size_t i = ns; i-- > 0;) {
        cr_assert(klist_iter_next(&it, &p, &n));
        cr_assert_eq(n, sizes[i]);
        if (n)
            cr_assert(p[0] == (char)('a' + i) && p[n - 1] == (char)('a' + i));
    }
    for (size_t i = 0; i < ns; i++) {
        cr_assert(klist_iter_next(&it, &p, &n));
        cr_assert_eq(n, sizes[i]);
    }
    cr_assert_not(klist_iter_next(&it, &p, &n));
    cr_assert_eq(klist_rem(l, buf, 16384, 0), 0);
    memset(buf, 'a' + 6, 16384);
    cr_assert_eq(klist_rem(l, buf, 16384, -1), 1);
    cr_assert_eq(klist_rem(l, buf, 16384, 0), 1);
    cr_assert_eq(klist_len(l), 2 * ns - 2);
    cr_assert(klist_check(l));
    free(buf);
    klist_free(l);
}

Test(store_list, iterator_out_of_range_and_empty)
{
    klist *l = klist_new(-2);
    klist_iter it;
    const char *p;
    size_t n;
    klist_iter_init(&it, l, 0, KLIST_TAIL);
    cr_assert_not(klist_iter_next(&it, &p, &n));
    klist_iter_init(&it, l, -1, KLIST_HEAD);
    cr_assert_not(klist_iter_next(&it, &p, &n));
    cr_assert_not(klist_index(l, 0, &p, &n));
    cr_assert_not(klist_index(l, -1, &p, &n));
    cr_assert_not(klist_set(l, 0, "a", 1));
    cr_assert_eq(klist_rem(l, "a", 1, 0), 0);
    klist_del_range(l, 0, 5);
    cr_assert(klist_check(l));
    klist_push(l, KLIST_TAIL, "a", 1);
    klist_iter_init(&it, l, 1, KLIST_TAIL);
    cr_assert_not(klist_iter_next(&it, &p, &n));
    klist_iter_init(&it, l, -2, KLIST_HEAD);
    cr_assert_not(klist_iter_next(&it, &p, &n));
    klist_iter_init(&it, l, LLONG_MIN, KLIST_HEAD);
    cr_assert_not(klist_iter_next(&it, &p, &n));
    klist_iter_init(&it, l, LLONG_MAX, KLIST_HEAD);
    cr_assert_not(klist_iter_next(&it, &p, &n));
    klist_del_range(l, 0, 1);
    cr_assert_eq(klist_len(l), 0);
    cr_assert_eq(klist_node_count(l), 0);
    cr_assert(klist_check(l));
    klist_free(l);
}

/* ------------------------------------------------------------------------ */
/* obj_ops and the codec */

Test(store_list, obj_ops_and_db_ownership)
{
    cr_assert_eq(obj_ops_by_type[OBJ_LIST], &list_obj_ops);
    klist *l = klist_new(-2);
    klist_push(l, KLIST_TAIL, "a", 1);
    klist_push(l, KLIST_TAIL, "b", 1);
    cr_assert_eq(list_obj_ops.len(l), 2);
    klist *d = list_obj_ops.dup(l);
    cr_assert_eq(list_obj_ops.len(d), 2);
    list_obj_ops.free(d);
    db x;
    db_init(&x, 1);
    db_set_obj(&x, "k", 1, OBJ_LIST, klist_enc(l), l, -1);
    kentry *e = db_find(&x, "k", 1, 0);
    cr_assert_not_null(e);
    cr_assert_eq(kentry_enc(e), ENC_QUICKLIST);
    cr_assert_str_eq(obj_enc_name(kentry_enc(e)), "quicklist");
    cr_assert_str_eq(obj_type_name(kentry_type(e)), "list");
    db_free(&x); /* frees l */
}

static int to_kbuf(void *ctx, const char *buf, size_t len)
{
    kbuf_append(ctx, buf, len);
    return 0;
}

static void push_cstr(klist *l, const char *s) { klist_push(l, KLIST_TAIL, s, strlen(s)); }

Test(store_list, codec_round_trip)
{
    db a, b;
    db_init(&a, 9);
    klist *l1 = klist_new(-2);
    push_cstr(l1, "one");
    push_cstr(l1, "two");
    klist_push(l1, KLIST_TAIL, "bin\0\r\n", 6);
    klist_push(l1, KLIST_TAIL, "", 0);
    db_set_obj(&a, "small", 5, OBJ_LIST, klist_enc(l1), l1, -1);
    klist *l2 = klist_new(3);
    char v[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(v, sizeof(v), "e%d", i);
        push_cstr(l2, v);
    }
    db_set_obj(&a, "big", 3, OBJ_LIST, klist_enc(l2), l2, 1800000000000LL);
    db_set_str(&a, "str", 3, "x", 1, -1);
    kbuf img = {0};
    cr_assert_eq(codec_encode_db(&a, to_kbuf, &img), 0);
    db_init(&b, 9);
    const char *err = codec_decode_db(&b, img.data, img.len, 9);
    cr_assert_null(err, "%s", err);
    cr_assert_eq(db_size(&b), 3);
    kentry *e = db_find(&b, "small", 5, 0);
    cr_assert_not_null(e);
    cr_assert_eq(kentry_type(e), OBJ_LIST);
    cr_assert_eq(kentry_enc(e), ENC_QUICKLIST);
    klist *s = kentry_obj(e);
    cr_assert_eq(klist_len(s), 4);
    const char *p;
    size_t n;
    cr_assert(klist_index(s, 2, &p, &n));
    cr_assert(n == 6 && memcmp(p, "bin\0\r\n", 6) == 0);
    cr_assert(klist_index(s, 3, &p, &n));
    cr_assert_eq(n, 0);
    e = db_find(&b, "big", 3, 0);
    cr_assert_not_null(e);
    cr_assert_eq(kentry_deadline(e), 1800000000000LL);
    klist *g = kentry_obj(e);
    cr_assert_eq(klist_len(g), 1000);
    cr_assert_eq(klist_fill(g), 3);
    cr_assert_eq(klist_node_count(g), klist_node_count(l2));
    cr_assert(klist_check(g));
    klist_iter it1, it2;
    klist_iter_init(&it1, l2, 0, KLIST_TAIL);
    klist_iter_init(&it2, g, 0, KLIST_TAIL);
    const char *q;
    size_t m;
    while (klist_iter_next(&it1, &p, &n)) {
        cr_assert(klist_iter_next(&it2, &q, &m));
        cr_assert(n == m && memcmp(p, q, n) == 0);
    }
    cr_assert_not(klist_iter_next(&it2, &q, &m));
    /* Re-encoding the decoded db gives an image of the same size. */
    kbuf img2 = {0};
    cr_assert_eq(codec_encode_db(&b, to_kbuf, &img2), 0);
    cr_assert_eq(img.len, img2.len);
    kbuf_free(&img);
    kbuf_free(&img2);
    db_free(&a);
    db_free(&b);
}

/* A one-entry image with a hand-made list value. */
static const char *decode_list_value(void (*pack_value)(msgpack_packer *), int enc)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_bin(&pk, strlen(CODEC_MAGIC));
    msgpack_pack_bin_body(&pk, CODEC_MAGIC, strlen(CODEC_MAGIC));
    msgpack_pack_uint8(&pk, CODEC_VERSION);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_bin(&pk, 1);
    msgpack_pack_bin_body(&pk, "k", 1);
    msgpack_pack_uint8(&pk, OBJ_LIST);
    msgpack_pack_nil(&pk);
    msgpack_pack_uint8(&pk, (uint8_t)enc);
    pack_value(&pk);
    db d;
    db_init(&d, 1);
    const char *err = codec_decode_db(&d, sb.data, sb.size, 1);
    if (err == NULL)
        cr_assert_eq(db_size(&d), 1);
    else
        cr_assert_eq(db_size(&d), 0);
    db_free(&d);
    msgpack_sbuffer_destroy(&sb);
    return err;
}

static void pv_ok(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_int(pk, -2);
    msgpack_pack_array(pk, 1);
    msgpack_pack_bin(pk, 1);
    msgpack_pack_bin_body(pk, "a", 1);
}
static void pv_nil(msgpack_packer *pk) { msgpack_pack_nil(pk); }
static void pv_empty(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_int(pk, -2);
    msgpack_pack_array(pk, 0);
}
static void pv_bad_fill(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_int(pk, -6);
    msgpack_pack_array(pk, 1);
    msgpack_pack_bin(pk, 1);
    msgpack_pack_bin_body(pk, "a", 1);
}
static void pv_bad_elem(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_int(pk, 4);
    msgpack_pack_array(pk, 2);
    msgpack_pack_bin(pk, 1);
    msgpack_pack_bin_body(pk, "a", 1);
    msgpack_pack_int(pk, 7);
}

Test(store_list, codec_rejects_bad_values)
{
    cr_assert_null(decode_list_value(pv_ok, ENC_QUICKLIST));
    cr_assert_null(decode_list_value(pv_ok, ENC_LISTPACK));
    cr_assert_not_null(decode_list_value(pv_ok, ENC_HASHTABLE));
    cr_assert_not_null(decode_list_value(pv_nil, ENC_QUICKLIST));
    cr_assert_not_null(decode_list_value(pv_empty, ENC_QUICKLIST));
    cr_assert_not_null(decode_list_value(pv_bad_fill, ENC_QUICKLIST));
    cr_assert_not_null(decode_list_value(pv_bad_elem, ENC_QUICKLIST));
}
