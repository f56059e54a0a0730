/* snapshot file framing: round trips (with a real store image), every
 * truncation and every bit flip refused with a precise reason, lengths that
 * would overflow refused before anything is read past the buffer. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/store/codec.h"
#include "core/util/kbuf.h"
#include "core/wal/le.h"
#include "core/wal/snapshot.h"

static const char config[] = "\x93\x01\x02\x03"; /* msgpack [1, 2, 3] */

static snap_meta meta(void)
{
    snap_meta m = {7, 1234, 5, config, sizeof config - 1};
    return m;
}

static void check_view(const snap_view *v, const snap_meta *m, const char *body, size_t body_len)
{
    cr_assert_eq(v->h.group, m->group);
    cr_assert_eq(v->h.index, m->index);
    cr_assert_eq(v->h.term, m->term);
    cr_assert_eq(v->h.config_len, m->config_len);
    cr_assert(m->config_len == 0 || memcmp(v->config, m->config, m->config_len) == 0);
    cr_assert_eq(v->h.body_len, body_len);
    cr_assert(body_len == 0 || memcmp(v->body, body, body_len) == 0);
    cr_assert_eq(v->h.file_len, SNAP_HEADER + m->config_len + body_len + SNAP_TRAILER);
}

Test(snapshot_file, round_trip)
{
    snap_meta m = meta();
    const char body[] = "an image";
    kbuf b = KBUF_INIT;
    snap_encode(&b, &m, body, sizeof body);
    cr_assert_eq(b.len, SNAP_HEADER + m.config_len + sizeof body + SNAP_TRAILER);
    cr_assert(memcmp(b.data, "keelsnap", 8) == 0);
    snap_view v;
    cr_assert_eq(snap_decode(b.data, b.len, &v), SNAP_R_OK);
    check_view(&v, &m, body, sizeof body);
    snap_header h;
    cr_assert_eq(snap_header_decode(b.data, SNAP_HEADER, &h), SNAP_R_OK);
    cr_assert_eq(h.file_len, b.len);
    kbuf_free(&b);

    /* Empty config, empty body. */
    snap_meta e = {0, 1, 1, NULL, 0};
    snap_encode(&b, &e, NULL, 0);
    cr_assert_eq(b.len, SNAP_HEADER + SNAP_TRAILER);
    cr_assert_eq(snap_decode(b.data, b.len, &v), SNAP_R_OK);
    check_view(&v, &e, NULL, 0);
    kbuf_free(&b);
}

static int to_kbuf(void *ctx, const char *buf, size_t len)
{
    kbuf_append(ctx, buf, len);
    return 0;
}

Test(snapshot_file, store_image_without_a_copy)
{
    db a;
    db_init(&a, 3);
    for (int i = 0; i < 200; i++) {
        char k[16], v[32];
        int kl = snprintf(k, sizeof k, "key:%d", i), vl = snprintf(v, sizeof v, "value-%d", i * 7);
        db_set_str(&a, k, (size_t)kl, v, (size_t)vl, i % 3 ? -1 : 1700000000000LL + i);
    }
    snap_meta m = meta();
    /* begin, the codec appends the body, finish ... */
    kbuf f = KBUF_INIT;
    kbuf_append(&f, "prefix", 6); /* the file need not start the buffer */
    size_t start = snap_begin(&f, &m);
    cr_assert_eq(start, 6);
    cr_assert_eq(codec_encode_db(&a, to_kbuf, &f), 0);
    snap_finish(&f, start);
    /* ... gives the same bytes as encoding a separate image. */
    kbuf img = KBUF_INIT, g = KBUF_INIT;
    cr_assert_eq(codec_encode_db(&a, to_kbuf, &img), 0);
    snap_encode(&g, &m, img.data, img.len);
    cr_assert_eq(f.len - start, g.len);
    cr_assert(memcmp(f.data + start, g.data, g.len) == 0);
    snap_view v;
    cr_assert_eq(snap_decode(f.data + start, f.len - start, &v), SNAP_R_OK);
    check_view(&v, &m, img.data, img.len);
    db b2;
    db_init(&b2, 3);
    const char *err = codec_decode_db(&b2, v.body, v.h.body_len, 3);
    cr_assert_null(err, "%s", err);
    cr_assert_eq(db_size(&b2), 200);
    db_free(&b2);
    db_free(&a);
    kbuf_free(&f);
    kbuf_free(&g);
    kbuf_free(&img);
}

static void make_file(kbuf *b)
{
    snap_meta m = meta();
    char body[300];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)(i * 31 + 7);
    snap_encode(b, &m, body, sizeof body);
}

Test(snapshot_file, every_truncation_is_refused)
{
    kbuf b = KBUF_INIT;
    make_file(&b);
    snap_view v;
    for (size_t cut = 0; cut < b.len; cut++) {
        snap_reason why = snap_decode(b.data, cut, &v);
        if (cut < SNAP_HEADER)
            cr_assert_eq(why, SNAP_R_SHORT, "cut %zu: %s", cut, snap_reason_name(why));
        else
            cr_assert_eq(why, SNAP_R_TRUNCATED, "cut %zu: %s", cut, snap_reason_name(why));
    }
    cr_assert_eq(snap_decode(b.data, b.len, &v), SNAP_R_OK);
    /* And a byte too many. */
    kbuf_putc(&b, 0);
    cr_assert_eq(snap_decode(b.data, b.len, &v), SNAP_R_TRAILING);
    kbuf_free(&b);
}

Test(snapshot_file, every_bit_flip_is_refused)
{
    kbuf b = KBUF_INIT;
    make_file(&b);
    snap_view v;
    unsigned char *p = (unsigned char *)b.data;
    size_t flips = 0;
    for (size_t byte = 0; byte < b.len; byte++) {
        for (int bit = 0; bit < 8; bit++) {
            p[byte] ^= (unsigned char)(1u << bit);
            snap_reason why = snap_decode(b.data, b.len, &v);
            p[byte] ^= (unsigned char)(1u << bit);
            flips++;
            if (byte < 8)
                cr_assert_eq(why, SNAP_R_BAD_MAGIC, "byte %zu bit %d", byte, bit);
            else if (byte < SNAP_HEADER)
                cr_assert_eq(why, SNAP_R_BAD_HEADER_CHECKSUM, "byte %zu bit %d: %s", byte, bit,
                             snap_reason_name(why));
            else
                cr_assert_eq(why, SNAP_R_BAD_CHECKSUM, "byte %zu bit %d: %s", byte, bit,
                             snap_reason_name(why));
        }
    }
    cr_assert_eq(flips, b.len * 8);
    kbuf_free(&b);
}

/* A header with a valid header checksum but the given fields. */
static void forge(unsigned char *p, uint32_t version, uint32_t reserved, uint32_t config_len,
                  uint64_t body_len)
{
    le_put32(p + 8, version);
    le_put32(p + 32, config_len);
    le_put32(p + 36, reserved);
    le_put64(p + 40, body_len);
    le_put64(p + 48, XXH3_64bits(p, SNAP_HEADER - 8));
}

Test(snapshot_file, forged_headers)
{
    kbuf b = KBUF_INIT;
    make_file(&b);
    unsigned char *p = (unsigned char *)b.data;
    snap_view v;
    snap_header h;
    forge(p, 2, 0, 4, 300);
    cr_assert_eq(snap_decode(b.data, b.len, &v), SNAP_R_BAD_VERSION);
    forge(p, 1, 1, 4, 300);
    cr_assert_eq(snap_decode(b.data, b.len, &v), SNAP_R_BAD_RESERVED);
    forge(p, 1, 0, SNAP_CONFIG_MAX + 1, 300);
    cr_assert_eq(snap_decode(b.data, b.len, &v), SNAP_R_BAD_CONFIG_LEN);
    /* Lengths that do not add up to the file: never read past it. */
    forge(p, 1, 0, 4, UINT64_MAX);
    cr_assert_eq(snap_header_decode(b.data, b.len, &h), SNAP_R_TRUNCATED);
    cr_assert_eq(snap_decode(b.data, b.len, &v), SNAP_R_TRUNCATED);
    forge(p, 1, 0, 4, UINT64_MAX - SNAP_HEADER - 4 - SNAP_TRAILER);
    cr_assert_eq(snap_header_decode(b.data, b.len, &h), SNAP_R_OK);
    cr_assert_eq(h.file_len, UINT64_MAX);
    cr_assert_eq(snap_decode(b.data, b.len, &v), SNAP_R_TRUNCATED);
    forge(p, 1, 0, 4, 299);
    cr_assert_eq(snap_decode(b.data, b.len, &v), SNAP_R_TRAILING);
    forge(p, 1, 0, 5, 300);
    cr_assert_eq(snap_decode(b.data, b.len, &v), SNAP_R_TRUNCATED);
    forge(p, 1, 0, 4, 300);
    cr_assert_eq(snap_decode(b.data, b.len, &v), SNAP_R_OK);
    kbuf_free(&b);
}

Test(snapshot_file, reasons_have_names_and_texts)
{
    for (int r = 0; r < SNAP_R__COUNT; r++) {
        cr_assert_neq(strcmp(snap_reason_text((snap_reason)r), "?"), 0);
        cr_assert_neq(strcmp(snap_reason_name((snap_reason)r), "?"), 0);
    }
    cr_assert_str_eq(snap_reason_name(SNAP_R_TRUNCATED), "TRUNCATED");
}
