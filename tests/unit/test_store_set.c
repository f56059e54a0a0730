/* kset (core/store/set.c): a property test against a plain reference
 * model across the intset -> hashtable conversion, plus the edges: the
 * threshold, canonical integers, dup independence, scans, random picks,
 * the snapshot codec round trip, binary members. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/store/codec.h"
#include "core/store/db.h"
#include "core/store/set.h"
#include "core/store/types.h"
#include "core/util/kbuf.h"
#include "core/util/prng.h"

static const kset_limits LIM = {.max_intset_entries = 512, .seed = 42};

/* The reference model: an array of members with seen marks. */
typedef struct model {
    char m[2048][16];
    size_t len[2048];
    int seen[2048];
    size_t n;
} model;

static long m_find(const model *md, const char *m, size_t len)
{
    for (size_t i = 0; i < md->n; i++)
        if (md->len[i] == len && memcmp(md->m[i], m, len) == 0)
            return (long)i;
    return -1;
}

static void seen_cb(void *ctx, const char *m, size_t len)
{
    model *md = ctx;
    long i = m_find(md, m, len);
    cr_assert(i >= 0, "member %.*s not in the model", (int)len, m);
    md->seen[i]++;
}

static void check_same(kset *s, model *md)
{
    cr_assert(kset_check(s));
    cr_assert_eq(kset_len(s), md->n);
    memset(md->seen, 0, sizeof(md->seen));
    kset_for_each(s, seen_cb, md);
    for (size_t i = 0; i < md->n; i++)
        cr_assert_eq(md->seen[i], 1);
}

Test(store_set, property_against_model)
{
    kprng r;
    kprng_seed(&r, 7);
    for (int round = 0; round < 4; round++) {
        kset *s = kset_new();
        static model md;
        md.n = 0;
        bool ints_only = round < 2;
        for (int op = 0; op < 4000; op++) {
            char m[16];
            uint64_t v = kprng_below(&r, round == 1 ? 800 : 300);
            int len;
            if (ints_only || kprng_below(&r, 10) != 0)
                len = snprintf(m, sizeof(m), "%lld", (long long)v - 100);
            else
                len = snprintf(m, sizeof(m), "s%llu", (unsigned long long)v);
            long at = m_find(&md, m, (size_t)len);
            if (kprng_below(&r, 3) != 0) {
                bool added;
                s = kset_add(s, m, (size_t)len, &LIM, &added);
                cr_assert_eq(added, at < 0);
                if (at < 0) {
                    memcpy(md.m[md.n], m, (size_t)len);
                    md.len[md.n++] = (size_t)len;
                }
            } else {
                bool del;
                s = kset_del(s, m, (size_t)len, &del);
                cr_assert_eq(del, at >= 0);
                if (at >= 0) {
                    md.n--;
                    memcpy(md.m[at], md.m[md.n], sizeof(md.m[0]));
                    md.len[at] = md.len[md.n];
                }
            }
            cr_assert_eq(kset_has(s, m, (size_t)len), m_find(&md, m, (size_t)len) >= 0);
            if (op % 500 == 0)
                check_same(s, &md);
        }
        check_same(s, &md);
        if (round == 0)
            cr_assert_eq(kset_enc(s), ENC_INTSET); /* at most 300 integers */
        else
            cr_assert_eq(kset_enc(s), ENC_HASHTABLE);
        kset_free(s);
    }
}

Test(store_set, intset_threshold_and_order)
{
    kset *s = kset_new();
    kset_limits lim = {.max_intset_entries = 4, .seed = 1};
    const char *in[] = {"5", "-3", "100", "0"};
    for (int i = 0; i < 4; i++)
        s = kset_add(s, in[i], strlen(in[i]), &lim, NULL);
    cr_assert_eq(kset_enc(s), ENC_INTSET);
    size_t n;
    const int64_t *v = kset_ints(s, &n);
    cr_assert_eq(n, 4);
    cr_assert(v[0] == -3 && v[1] == 0 && v[2] == 5 && v[3] == 100);
    bool added;
    s = kset_add(s, "5", 1, &lim, &added);
    cr_assert_not(added);
    cr_assert_eq(kset_enc(s), ENC_INTSET);
    s = kset_add(s, "6", 1, &lim, &added);
    cr_assert(added);
    cr_assert_eq(kset_enc(s), ENC_HASHTABLE);
    cr_assert_null(kset_ints(s, &n));
    cr_assert(kset_has(s, "-3", 2) && kset_has(s, "6", 1) && !kset_has(s, "7", 1));
    cr_assert_eq(kset_len(s), 5);
    kset_free(s);
}

Test(store_set, canonical_integers_only)
{
    const char *notint[] = {"01", "+1", " 1", "1 ", "-0", "1.0", "9223372036854775808",
                            "-9223372036854775809", "", "0x1"};
    for (size_t i = 0; i < sizeof(notint) / sizeof(notint[0]); i++) {
        kset *s = kset_new();
        s = kset_add(s, notint[i], strlen(notint[i]), &LIM, NULL);
        cr_assert_eq(kset_enc(s), ENC_HASHTABLE, "%s", notint[i]);
        kset_free(s);
    }
    kset *s = kset_new();
    s = kset_add(s, "-9223372036854775808", 20, &LIM, NULL);
    s = kset_add(s, "9223372036854775807", 19, &LIM, NULL);
    s = kset_add(s, "0", 1, &LIM, NULL);
    cr_assert_eq(kset_enc(s), ENC_INTSET);
    /* Lookups of non-canonical spellings miss. */
    cr_assert_not(kset_has(s, "00", 2));
    cr_assert_not(kset_has(s, "abc", 3));
    bool d;
    s = kset_del(s, "abc", 3, &d);
    cr_assert_not(d);
    s = kset_del(s, "0", 1, &d);
    cr_assert(d);
    cr_assert_eq(kset_len(s), 2);
    kset_free(s);
}

Test(store_set, dup_is_independent)
{
    for (int enc = 0; enc < 2; enc++) {
        kset *s = kset_new();
        for (int i = 0; i < 50; i++) {
            char m[16];
            int l = snprintf(m, sizeof(m), enc ? "m%d" : "%d", i);
            s = kset_add(s, m, (size_t)l, &LIM, NULL);
        }
        kset *c = kset_dup(s);
        cr_assert_eq(kset_enc(c), kset_enc(s));
        cr_assert_eq(kset_len(c), 50);
        s = kset_del(s, enc ? "m3" : "3", enc ? 2 : 1, NULL);
        cr_assert_eq(kset_len(s), 49);
        cr_assert(kset_has(c, enc ? "m3" : "3", enc ? 2 : 1));
        cr_assert(kset_check(c));
        kset_free(s);
        kset_free(c);
    }
    kset *e = kset_new();
    kset *ec = kset_dup(e);
    cr_assert_eq(kset_len(ec), 0);
    kset_free(e);
    kset_free(ec);
}

static void count_cb(void *ctx, const char *m, size_t len)
{
    (void)m;
    (void)len;
    (*(int *)ctx)++;
}

Test(store_set, scan_and_random)
{
    kset *s = kset_new();
    for (int i = 0; i < 100; i++) {
        char m[16];
        int l = snprintf(m, sizeof(m), "%d", i);
        s = kset_add(s, m, (size_t)l, &LIM, NULL);
    }
    int n = 0;
    cr_assert_eq(kset_scan(s, 0, count_cb, &n), 0);
    cr_assert_eq(n, 100);
    kprng r;
    kprng_seed(&r, 3);
    char tmp[KSET_TMP];
    for (int i = 0; i < 200; i++) {
        const char *m;
        size_t len;
        kset_random(s, &r, &m, &len, tmp);
        cr_assert(kset_has(s, m, len));
    }
    s = kset_convert(s, 9);
    cr_assert_eq(kset_enc(s), ENC_HASHTABLE);
    n = 0;
    uint64_t cur = 0;
    int steps = 0;
    do {
        cur = kset_scan(s, cur, count_cb, &n);
        steps++;
    } while (cur != 0);
    cr_assert(n >= 100 && steps > 1);
    for (int i = 0; i < 200; i++) {
        const char *m;
        size_t len;
        kset_random(s, &r, &m, &len, tmp);
        cr_assert(kset_has(s, m, len));
    }
    kset_free(s);
}

Test(store_set, binary_members)
{
    kset *s = kset_new();
    s = kset_add(s, "a\0b", 3, &LIM, NULL);
    s = kset_add(s, "a", 1, &LIM, NULL);
    s = kset_add(s, "", 0, &LIM, NULL);
    cr_assert_eq(kset_len(s), 3);
    cr_assert(kset_has(s, "a\0b", 3));
    cr_assert_not(kset_has(s, "a\0c", 3));
    cr_assert(kset_has(s, "", 0));
    kset_free(s);
}

/* ------------------------------------------------------------------------ */
/* Snapshot codec */

static int kbuf_writer(void *ctx, const char *buf, size_t len)
{
    kbuf_append(ctx, buf, len);
    return 0;
}

static kset *build(const char *prefix, int n, long long max)
{
    kset_limits lim = {.max_intset_entries = max, .seed = 5};
    kset *s = kset_new();
    for (int i = 0; i < n; i++) {
        char m[32];
        int l = snprintf(m, sizeof(m), "%s%d", prefix, i - n / 2);
        s = kset_add(s, m, (size_t)l, &lim, NULL);
    }
    return s;
}

typedef struct cmp_ctx {
    kset *other;
    int n;
} cmp_ctx;

static void in_other_cb(void *ctx, const char *m, size_t len)
{
    cmp_ctx *c = ctx;
    cr_assert(kset_has(c->other, m, len));
    c->n++;
}

Test(store_set, codec_round_trip)
{
    db d;
    db_init(&d, 11);
    db_set_obj(&d, "ints", 4, OBJ_SET, ENC_INTSET, build("", 100, 512), -1);
    db_set_obj(&d, "strs", 4, OBJ_SET, ENC_HASHTABLE, build("m", 300, 512), 123456789);
    /* A hashtable of integers (the threshold was lowered): stays one. */
    kset *hi = build("", 20, 5);
    cr_assert_eq(kset_enc(hi), ENC_HASHTABLE);
    db_set_obj(&d, "htints", 6, OBJ_SET, ENC_HASHTABLE, hi, -1);
    kset *bin = kset_new();
    bin = kset_add(bin, "a\0\r\n", 4, &LIM, NULL);
    bin = kset_add(bin, "", 0, &LIM, NULL);
    db_set_obj(&d, "bin", 3, OBJ_SET, kset_enc(bin), bin, -1);

    kbuf out = {0};
    cr_assert_eq(codec_encode_db(&d, kbuf_writer, &out), 0);
    db d2;
    db_init(&d2, 11);
    const char *err = codec_decode_db(&d2, out.data, out.len, 11);
    cr_assert_null(err, "%s", err);
    cr_assert_eq(db_size(&d2), 4);
    const char *keys[] = {"ints", "strs", "htints", "bin"};
    for (int i = 0; i < 4; i++) {
        kentry *a = db_find(&d, keys[i], strlen(keys[i]), 0);
        kentry *b = db_find(&d2, keys[i], strlen(keys[i]), 0);
        cr_assert_not_null(b, "%s", keys[i]);
        cr_assert_eq(kentry_type(b), OBJ_SET);
        cr_assert_eq(kentry_enc(b), kentry_enc(a), "%s", keys[i]);
        cr_assert_eq(kentry_deadline(b), kentry_deadline(a));
        kset *sa = kentry_obj(a), *sb = kentry_obj(b);
        cr_assert_eq(kset_enc(sb), kentry_enc(b));
        cr_assert(kset_check(sb));
        cr_assert_eq(kset_len(sa), kset_len(sb));
        cmp_ctx c = {sb, 0};
        kset_for_each(sa, in_other_cb, &c);
        cr_assert_eq(c.n, (int)kset_len(sa));
    }
    /* Encoding again gives the same bytes (deterministic). */
    kbuf out2 = {0};
    cr_assert_eq(codec_encode_db(&d2, kbuf_writer, &out2), 0);
    cr_assert_eq(out2.len, out.len);
    kbuf_free(&out);
    kbuf_free(&out2);
    db_free(&d);
    db_free(&d2);
}

Test(store_set, codec_refuses_damage)
{
    /* An image whose set repeats a member, and one with a bad member. */
    msgpack_sbuffer sb;
    const char *errs[3];
    for (int variant = 0; variant < 3; variant++) {
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 3);
        msgpack_pack_bin(&pk, 7);
        msgpack_pack_bin_body(&pk, "keel-db", 7);
        msgpack_pack_uint8(&pk, CODEC_VERSION);
        msgpack_pack_uint64(&pk, 1);
        msgpack_pack_array(&pk, 5);
        msgpack_pack_bin(&pk, 1);
        msgpack_pack_bin_body(&pk, "k", 1);
        msgpack_pack_uint8(&pk, OBJ_SET);
        msgpack_pack_nil(&pk);
        msgpack_pack_uint8(&pk, variant == 2 ? ENC_LISTPACK : ENC_INTSET);
        msgpack_pack_array(&pk, 2);
        msgpack_pack_int64(&pk, 1);
        if (variant == 0)
            msgpack_pack_int64(&pk, 1);
        else
            msgpack_pack_double(&pk, 1.5);
        db d;
        db_init(&d, 1);
        errs[variant] = codec_decode_db(&d, sb.data, sb.size, 1);
        cr_assert_not_null(errs[variant], "variant %d", variant);
        db_free(&d);
        msgpack_sbuffer_destroy(&sb);
    }
    cr_assert_str_eq(errs[0], "a set has a member twice");
    cr_assert_str_eq(errs[1], "a set member is neither binary nor an integer");
    cr_assert_str_eq(errs[2], "a set has an unknown encoding");
}

Test(store_set, obj_ops)
{
    kset *s = build("", 10, 512);
    cr_assert_eq(set_obj_ops.len(s), 10);
    kset *c = set_obj_ops.dup(s);
    cr_assert_eq(kset_len(c), 10);
    set_obj_ops.free(s);
    set_obj_ops.free(c);
}
