/* wal: the record and segment formats round-trip; recovery finds every
 * truncation a torn tail (or nothing) and every bit flip damage, torn at the
 * end of the newest segment and corrupt anywhere else; Raft's replay rules
 * hold and are reported with file, offset and index; the writer's segments
 * roll over as planned and recover to what was written. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/util/kbuf.h"
#include "core/wal/le.h"
#include "core/wal/wal.h"
#include "helpers.h"

#define GROUP 7u
#define MAXSEG 64

/* ------------------------------------------------------------------------ */
/* A disk of segment files in memory, written by a wal_writer's batches.    */

typedef struct seg {
    char name[WAL_NAME_SIZE];
    kbuf b;
} seg;

typedef struct disk {
    seg s[MAXSEG];
    size_t n;
} disk;

static void disk_init(disk *d)
{
    memset(d, 0, sizeof *d);
}

static void disk_free(disk *d)
{
    for (size_t i = 0; i < d->n; i++)
        kbuf_free(&d->s[i].b);
    d->n = 0;
}

/* Does the batch's writes as the io would (append-only: each op must land
 * exactly at the end of its file). */
static void disk_apply(disk *d, const wal_batch *b)
{
    size_t n;
    const wal_write *ops = wal_batch_ops(b, &n);
    for (size_t i = 0; i < n; i++) {
        const wal_write *op = &ops[i];
        seg *s;
        if (op->create) {
            cr_assert_lt(d->n, MAXSEG);
            s = &d->s[d->n++];
            kbuf_init(&s->b);
            wal_segment_name(s->name, op->seq, op->first_index);
            cr_assert_eq(op->offset, 0);
        } else {
            cr_assert_gt(d->n, 0);
            s = &d->s[d->n - 1];
            char name[WAL_NAME_SIZE];
            wal_segment_name(name, op->seq, op->first_index);
            cr_assert_str_eq(name, s->name, "writes go to the newest segment");
        }
        cr_assert_eq(op->offset, s->b.len, "append-only");
        kbuf_append(&s->b, b->buf.data + op->buf_off, op->len);
    }
}

static void disk_segments(const disk *d, wal_segment_bytes *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[i].name = d->s[i].name;
        out[i].data = d->s[i].b.data;
        out[i].len = d->s[i].b.len;
    }
}

/* ------------------------------------------------------------------------ */
/* What recovery saw                                                        */

typedef struct seen {
    uint8_t type;
    uint64_t term, index;
    size_t plen;
    uint64_t phash;
    size_t segment;
    uint64_t offset, len;
    wal_effect eff;
} seen;

typedef struct seen_list {
    kbuf v;
} seen_list;

static void collect(void *ctx, const wal_record *r, const wal_visit *v)
{
    seen_list *l = ctx;
    seen s;
    memset(&s, 0, sizeof s);
    s.type = r->type;
    s.term = r->term;
    s.index = r->index;
    s.plen = r->payload_len;
    s.phash = XXH3_64bits(r->payload, r->payload_len);
    s.segment = v->segment;
    s.offset = v->offset;
    s.len = v->len;
    s.eff = v->effect;
    cr_assert_eq(r->group, GROUP);
    kbuf_append(&l->v, &s, sizeof s);
}

static size_t seen_n(const seen_list *l)
{
    return l->v.len / sizeof(seen);
}

static const seen *seen_at(const seen_list *l, size_t i)
{
    return (const seen *)l->v.data + i;
}

static wal_status recover(const disk *d, size_t n, seen_list *l, wal_result *res, wal_log *log)
{
    wal_segment_bytes segs[MAXSEG];
    disk_segments(d, segs, n);
    if (l)
        kbuf_clear(&l->v);
    return wal_recover(segs, n, GROUP, l ? collect : NULL, l, res, log);
}

/* The incremental scan (what the io does file by file) over every segment
 * of d, the newest last: rc's verdict. rc is the caller's to free. */
static wal_status scan_disk(const disk *d, wal_recovery *rc)
{
    wal_recovery_init(rc, GROUP);
    for (size_t i = 0; i < d->n; i++)
        wal_recovery_segment(rc, d->s[i].name, d->s[i].b.data, d->s[i].b.len, i + 1 == d->n, NULL,
                             NULL);
    return rc->res.status;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */

static wal_record rec(uint8_t type, uint64_t term, uint64_t index, const void *p, size_t n)
{
    wal_record r;
    memset(&r, 0, sizeof r);
    r.type = type;
    r.group = GROUP;
    r.term = term;
    r.index = index;
    r.payload = p;
    r.payload_len = n;
    return r;
}

static void must_append(wal_writer *w, wal_batch *b, wal_record r)
{
    wal_reason why = wal_writer_append(w, b, &r);
    cr_assert_eq(why, WAL_R_OK, "append %s term %llu index %llu: %s", wal_type_name(r.type),
                 (unsigned long long)r.term, (unsigned long long)r.index,
                 wal_reason_text(why));
}

static char payload_bytes[4096];

static void init_payloads(void)
{
    trng r;
    trng_seed(&r, 42);
    for (size_t i = 0; i < sizeof payload_bytes; i++)
        payload_bytes[i] = (char)trng_next(&r);
}

/* The standard log: hard states, entries of every kind with payloads of 0
 * to 80 bytes, a suffix replacement, a few terms; seg_max small enough for
 * several segments. Each record is one batch (appended to d). Returns the
 * number of records the writer was given. */
static size_t build_log(disk *d, uint64_t seg_max)
{
    init_payloads();
    wal_writer w;
    wal_writer_init(&w, GROUP, seg_max, 0x5eed, 1, 0);
    wal_batch b;
    wal_batch_init(&b);
    trng r;
    trng_seed(&r, 7);
    size_t count = 0;
    uint64_t term = 1;
    uint64_t index = 0;
#define APPEND(x)                  \
    do {                           \
        wal_batch_clear(&b);       \
        must_append(&w, &b, (x));  \
        disk_apply(d, &b);         \
        count++;                   \
    } while (0)
    APPEND(rec(WAL_HARD_STATE, 1, 0, NULL, 0));
    APPEND(rec(WAL_HARD_STATE, 1, 2, NULL, 0)); /* voted for 2 */
    APPEND(rec(WAL_ENTRY_NOOP, 1, ++index, NULL, 0));
    for (int i = 0; i < 12; i++) {
        size_t n = trng_range(&r, 0, 80);
        APPEND(rec(i % 5 == 4 ? WAL_ENTRY_CONFIG : WAL_ENTRY_NORMAL, term, ++index,
                   payload_bytes + i, n));
    }
    term = 3;
    APPEND(rec(WAL_HARD_STATE, term, 0, NULL, 0));
    /* A new leader overwrites the tail from index 9. */
    index = 8;
    APPEND(rec(WAL_ENTRY_NORMAL, term, ++index, payload_bytes + 100, 17));
    for (int i = 0; i < 8; i++)
        APPEND(rec(WAL_ENTRY_NORMAL, term, ++index, payload_bytes + 200 + i,
                   trng_range(&r, 0, 60)));
    APPEND(rec(WAL_HARD_STATE, 4, 3, NULL, 0));
    APPEND(rec(WAL_ENTRY_NOOP, 4, ++index, NULL, 0));
    APPEND(rec(WAL_ENTRY_NORMAL, 4, ++index, payload_bytes + 300, 33));
#undef APPEND
    wal_batch_free(&b);
    wal_writer_free(&w);
    return count;
}

/* Where the record a segment announces ends (its first record after the
 * hard state, when the header announces a mark or a replacement), or 0. A
 * newest segment cut before that point is a torn creation. */
static uint64_t announced_end(const disk *d, const seen_list *clean, size_t s)
{
    wal_segment_header h;
    cr_assert_eq(wal_segment_header_decode(d->s[s].b.data, d->s[s].b.len, &h), WAL_R_OK);
    for (size_t i = 0; i < seen_n(clean); i++) {
        const seen *c = seen_at(clean, i);
        if (c->segment != s || c->type == WAL_HARD_STATE)
            continue;
        if ((h.flags & WAL_SEG_MARK) || (c->type != WAL_SNAPSHOT_MARK && c->eff.drop_from != 0))
            return c->offset + c->len;
        return 0;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Records and headers                                                      */

Test(wal, record_round_trip_every_type)
{
    init_payloads();
    const uint8_t types[] = {WAL_ENTRY_NORMAL, WAL_ENTRY_NOOP, WAL_ENTRY_CONFIG, WAL_HARD_STATE,
                             WAL_SNAPSHOT_MARK};
    const size_t sizes[] = {0, 1, 7, 100, 4000};
    for (size_t t = 0; t < sizeof types; t++) {
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            kbuf b = KBUF_INIT;
            wal_record in = rec(types[t], 0x1122334455667788ull + t, 0x99aabbccddeeff00ull + k,
                                payload_bytes, sizes[k]);
            size_t n = wal_record_encode(&b, 12345, &in);
            cr_assert_eq(n, b.len);
            cr_assert_eq(n, wal_record_size(sizes[k]));
            cr_assert_eq(le_get32((const unsigned char *)b.data), n);
            wal_record out;
            size_t rl = 0;
            cr_assert_eq(wal_record_decode(b.data, b.len, 12345, &out, &rl), WAL_R_OK);
            cr_assert_eq(rl, n);
            cr_assert_eq(out.type, in.type);
            cr_assert_eq(out.flags, 0);
            cr_assert_eq(out.group, GROUP);
            cr_assert_eq(out.term, in.term);
            cr_assert_eq(out.index, in.index);
            cr_assert_eq(out.payload_len, sizes[k]);
            cr_assert(sizes[k] == 0 || memcmp(out.payload, payload_bytes, sizes[k]) == 0);
            cr_assert_eq((const char *)out.payload, b.data + WAL_REC_HEADER);
            /* Another seed (another segment or offset): the checksum fails. */
            cr_assert_eq(wal_record_decode(b.data, b.len, 12346, &out, &rl),
                         WAL_R_REC_BAD_CHECKSUM);
            /* One byte short anywhere in the record: short. */
            cr_assert_eq(wal_record_decode(b.data, b.len - 1, 12345, &out, &rl), WAL_R_REC_SHORT);
            kbuf_free(&b);
        }
    }
    /* The vote lives in the index field. */
    wal_record hs = rec(WAL_HARD_STATE, 9, 0, NULL, 0);
    hs.vote = 3;
    cr_assert_eq(hs.index, 3);
}

Test(wal, record_decode_refusals)
{
    unsigned char z[64] = {0};
    wal_record r;
    size_t rl;
    cr_assert_eq(wal_record_decode(z, 0, 0, &r, &rl), WAL_R_REC_SHORT);
    cr_assert_eq(wal_record_decode(z, 3, 0, &r, &rl), WAL_R_REC_ZERO);
    cr_assert_eq(wal_record_decode(z, 64, 0, &r, &rl), WAL_R_REC_ZERO);
    le_put32(z, 35);
    cr_assert_eq(wal_record_decode(z, 64, 0, &r, &rl), WAL_R_REC_BAD_LENGTH);
    le_put32(z, WAL_REC_MAX + 1u);
    cr_assert_eq(wal_record_decode(z, 64, 0, &r, &rl), WAL_R_REC_BAD_LENGTH);
    le_put32(z, WAL_REC_MAX);
    cr_assert_eq(wal_record_decode(z, 64, 0, &r, &rl), WAL_R_REC_SHORT);
    le_put32(z, 0xffffffffu);
    cr_assert_eq(wal_record_decode(z, 64, 0, &r, &rl), WAL_R_REC_BAD_LENGTH);

    /* A valid checksum over a bad type, flags or reserved field. */
    struct {
        size_t at;
        unsigned char v;
        wal_reason why;
    } cases[] = {{4, 0, WAL_R_REC_BAD_TYPE},
                 {4, 6, WAL_R_REC_BAD_TYPE},
                 {5, 1, WAL_R_REC_BAD_FLAGS},
                 {6, 1, WAL_R_REC_BAD_RESERVED},
                 {7, 0x80, WAL_R_REC_BAD_RESERVED}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kbuf b = KBUF_INIT;
        wal_record in = rec(WAL_ENTRY_NORMAL, 1, 1, "x", 1);
        wal_record_encode(&b, 5, &in);
        unsigned char *p = (unsigned char *)b.data;
        p[cases[i].at] = cases[i].v;
        le_put64(p + b.len - 8, XXH3_64bits_withSeed(p, b.len - 8, 5));
        cr_assert_eq(wal_record_decode(b.data, b.len, 5, &r, &rl), cases[i].why, "case %zu", i);
        kbuf_free(&b);
    }
    cr_assert_eq(wal_record_size(WAL_PAYLOAD_MAX), WAL_REC_MAX);
    cr_assert_eq(wal_record_size((size_t)WAL_PAYLOAD_MAX + 1), 0);
}

Test(wal, segment_header_round_trip_and_refusals)
{
    wal_segment_header h = {0, GROUP, 3, 1000, 5, 0xabcdef};
    kbuf b = KBUF_INIT;
    wal_segment_header_encode(&b, &h);
    cr_assert_eq(b.len, WAL_SEG_HEADER);
    cr_assert(memcmp(b.data, "keel-wal", 8) == 0);
    wal_segment_header o;
    cr_assert_eq(wal_segment_header_decode(b.data, b.len, &o), WAL_R_OK);
    cr_assert(o.group == h.group && o.seq == 3 && o.first_index == 1000 && o.prev_term == 5 &&
              o.salt == 0xabcdef);
    cr_assert_eq(wal_segment_header_decode(b.data, b.len - 1, &o), WAL_R_SEG_SHORT);
    /* Every bit of the header matters. */
    for (size_t bit = 0; bit < WAL_SEG_HEADER * 8; bit++) {
        b.data[bit / 8] ^= (char)(1 << (bit % 8));
        wal_reason why = wal_segment_header_decode(b.data, b.len, &o);
        cr_assert(why == WAL_R_SEG_BAD_MAGIC || why == WAL_R_SEG_BAD_CHECKSUM, "bit %zu: %s",
                  bit, wal_reason_name(why));
        b.data[bit / 8] ^= (char)(1 << (bit % 8));
    }
    memset(b.data, 0, WAL_SEG_HEADER);
    cr_assert_eq(wal_segment_header_decode(b.data, b.len, &o), WAL_R_SEG_ZERO);
    /* Fields out of range, with a valid checksum. */
    wal_segment_header bad[] = {{0, GROUP, 0, 1, 0, 0},
                                {0, GROUP, 1, 0, 0, 0},
                                {0, GROUP, 1, 1, 4, 0},
                                {0, GROUP, 1, WAL_INDEX_MAX + 1, 0, 0},
                                {2, GROUP, 1, 5, 4, 0},
                                {WAL_SEG_MARK, GROUP, 1, 1, 0, 0},
                                {WAL_SEG_MARK, GROUP, 1, 5, 0, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kbuf_clear(&b);
        wal_segment_header_encode(&b, &bad[i]);
        cr_assert_eq(wal_segment_header_decode(b.data, b.len, &o), WAL_R_SEG_BAD_FIELD);
    }
    kbuf_free(&b);
}

Test(wal, segment_names)
{
    char n[WAL_NAME_SIZE];
    wal_segment_name(n, 1, 1);
    cr_assert_str_eq(n, "00000000000000000001-00000000000000000001.wal");
    wal_segment_name(n, 12, UINT64_MAX);
    cr_assert_str_eq(n, "00000000000000000012-18446744073709551615.wal");
    uint64_t s, f;
    cr_assert(wal_segment_name_parse(n, &s, &f));
    cr_assert(s == 12 && f == UINT64_MAX);
    /* Names sort as the numbers do. */
    char a[WAL_NAME_SIZE], b2[WAL_NAME_SIZE];
    wal_segment_name(a, 9, 500);
    wal_segment_name(b2, 10, 20);
    cr_assert_lt(strcmp(a, b2), 0);
    const char *bad[] = {"",
                         "1-1.wal",
                         "00000000000000000001-00000000000000000001.wa",
                         "00000000000000000001-00000000000000000001.walx",
                         "00000000000000000001_00000000000000000001.wal",
                         "0000000000000000000x-00000000000000000001.wal",
                         "00000000000000000001-18446744073709551616.wal",
                         "99999999999999999999-00000000000000000001.wal",
                         "00000000000000000001-00000000000000000001.WAL"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert(!wal_segment_name_parse(bad[i], &s, &f), "%s", bad[i]);
}

/* ------------------------------------------------------------------------ */
/* The standard log recovers to what was written                            */

Test(wal, writer_log_recovers)
{
    disk d;
    disk_init(&d);
    size_t given = build_log(&d, 400);
    cr_assert_geq(d.n, 3, "several segments (%zu)", d.n);
    seen_list l = {KBUF_INIT};
    wal_result res;
    wal_log log;
    cr_assert_eq(recover(&d, d.n, &l, &res, &log), WAL_OK, "%s", wal_reason_text(res.reason));
    /* Every record given, plus the hard state that opens each later segment. */
    cr_assert_eq(seen_n(&l), given + (d.n - 1));
    cr_assert_eq(log.last, 19);
    cr_assert_eq(wal_log_last_term(&log), 4);
    cr_assert(log.has_hard_state && log.hs_term == 4 && log.hs_vote == 3);
    cr_assert_eq(log.first, 1);
    /* The replacement of index 9 dropped 9..13. */
    bool replaced = false;
    for (size_t i = 0; i < seen_n(&l); i++) {
        const seen *s = seen_at(&l, i);
        if (s->eff.drop_from) {
            cr_assert_eq(s->eff.drop_from, 9);
            cr_assert_eq(s->index, 9);
            cr_assert_eq(s->term, 3);
            replaced = true;
        }
    }
    cr_assert(replaced);
    uint64_t t;
    cr_assert(wal_log_term_at(&log, 8, &t) && t == 1);
    cr_assert(wal_log_term_at(&log, 9, &t) && t == 3);
    cr_assert(wal_log_term_at(&log, 18, &t) && t == 4);
    cr_assert(wal_log_term_at(&log, 0, &t) && t == 0);
    cr_assert(!wal_log_term_at(&log, 20, &t));
    wal_log_free(&log);
    kbuf_free(&l.v);
    disk_free(&d);
}

Test(wal, segment_rollover_and_names)
{
    disk d;
    disk_init(&d);
    build_log(&d, 400);
    seen_list l = {KBUF_INIT};
    wal_result res;
    cr_assert_eq(recover(&d, d.n, &l, &res, NULL), WAL_OK);
    size_t k = 0;
    for (size_t i = 0; i < d.n; i++) {
        uint64_t s, f;
        cr_assert(wal_segment_name_parse(d.s[i].name, &s, &f));
        cr_assert_eq(s, i + 1);
        wal_segment_header h;
        cr_assert_eq(wal_segment_header_decode(d.s[i].b.data, d.s[i].b.len, &h), WAL_R_OK);
        cr_assert_eq(h.first_index, f);
        cr_assert_eq(h.seq, s);
        cr_assert_eq(h.group, GROUP);
        /* At most seg_max, unless one record alone is bigger. */
        cr_assert_leq(d.s[i].b.len, 400);
        if (i > 0) {
            cr_assert_lt(strcmp(d.s[i - 1].name, d.s[i].name), 0);
            /* A later segment opens with the hard state. */
            while (k < seen_n(&l) && seen_at(&l, k)->segment < i)
                k++;
            cr_assert_eq(seen_at(&l, k)->type, WAL_HARD_STATE);
            cr_assert_eq(seen_at(&l, k)->offset, WAL_SEG_HEADER);
        }
    }
    kbuf_free(&l.v);
    disk_free(&d);
}

Test(wal, planner)
{
    /* No segment: a new one. */
    cr_assert(wal_plan_new_segment(1000, false, 0, 0, 10, false));
    /* Only the preamble: the record goes in, however big. */
    cr_assert(!wal_plan_new_segment(1000, true, 56, 0, 5000, false));
    /* Fits exactly. */
    cr_assert(!wal_plan_new_segment(1000, true, 900, 3, 100, false));
    cr_assert(wal_plan_new_segment(1000, true, 900, 3, 101, false));
    /* Already past the max (after an oversized record). */
    cr_assert(wal_plan_new_segment(1000, true, 5056, 1, 36, false));
    /* A record reaching back before the segment: always a new one. */
    cr_assert(wal_plan_new_segment(1000, true, 100, 0, 36, true));
}

Test(wal, oversized_record_gets_its_own_segment)
{
    disk d;
    disk_init(&d);
    init_payloads();
    wal_writer w;
    wal_writer_init(&w, GROUP, 300, 1, 1, 0);
    wal_batch b;
    wal_batch_init(&b);
    must_append(&w, &b, rec(WAL_HARD_STATE, 1, 1, NULL, 0));
    must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 1, 1, payload_bytes, 10));
    must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 1, 2, payload_bytes, 1000));
    must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 1, 3, payload_bytes, 10));
    /* One batch, three files: one op per segment, the later two created. */
    size_t n;
    const wal_write *ops = wal_batch_ops(&b, &n);
    cr_assert_eq(n, 3);
    cr_assert(ops[0].create && !ops[0].offset && ops[0].first_index == 1 && ops[0].seq == 1);
    cr_assert(ops[1].create && ops[1].first_index == 2 && ops[1].seq == 2);
    cr_assert(ops[2].create && ops[2].first_index == 3 && ops[2].seq == 3);
    cr_assert_eq(ops[0].buf_off + ops[0].len, ops[1].buf_off);
    cr_assert_eq(ops[2].buf_off + ops[2].len, b.buf.len);
    disk_apply(&d, &b);
    cr_assert_eq(d.n, 3);
    cr_assert_gt(d.s[1].b.len, 1000);
    wal_result res;
    wal_log log;
    cr_assert_eq(recover(&d, d.n, NULL, &res, &log), WAL_OK);
    cr_assert_eq(log.last, 3);
    wal_log_free(&log);
    wal_batch_free(&b);
    wal_writer_free(&w);
    disk_free(&d);
}

/* ------------------------------------------------------------------------ */
/* Truncation: every cut is OK (at a boundary) or a torn tail               */

Test(wal, every_truncation_is_ok_or_torn)
{
    disk d;
    disk_init(&d);
    build_log(&d, 400);
    seen_list clean = {KBUF_INIT}, l = {KBUF_INIT};
    wal_result res;
    cr_assert_eq(recover(&d, d.n, &clean, &res, NULL), WAL_OK);
    size_t cuts = 0;
    for (size_t s = 0; s < d.n; s++) {
        size_t full = d.s[s].b.len;
        uint64_t ae = announced_end(&d, &clean, s);
        /* Record boundaries of segment s, and records before it. */
        size_t before = 0;
        while (before < seen_n(&clean) && seen_at(&clean, before)->segment < s)
            before++;
        for (size_t cut = 0; cut <= full; cut++) {
            d.s[s].b.len = cut;
            wal_status st = recover(&d, s + 1, &l, &res, NULL);
            /* The last boundary at or before the cut, and the records before it. */
            size_t keep = cut < WAL_SEG_HEADER ? 0 : WAL_SEG_HEADER, nrec = before;
            for (size_t i = before; i < seen_n(&clean) && seen_at(&clean, i)->segment == s; i++) {
                const seen *c = seen_at(&clean, i);
                if (c->offset + c->len <= cut) {
                    keep = c->offset + c->len;
                    nrec = i + 1;
                }
            }
            if (cut < ae) {
                keep = 0;
                nrec = before;
            }
            if (cut == keep && cut >= WAL_SEG_HEADER) {
                cr_assert_eq(st, WAL_OK, "segment %zu cut %zu: %s %s", s, cut,
                             wal_status_name(st), wal_reason_text(res.reason));
            } else {
                cr_assert_eq(st, WAL_TORN_TAIL, "segment %zu cut %zu: %s %s", s, cut,
                             wal_status_name(st), wal_reason_text(res.reason));
                cr_assert_eq(res.segment, s);
                cr_assert_eq(res.valid_len, keep, "segment %zu cut %zu", s, cut);
                cr_assert(cut < WAL_SEG_HEADER ? res.reason == WAL_R_SEG_SHORT
                                               : wal_reason_is_framing(res.reason) ||
                                                     (cut < ae &&
                                                      res.reason == WAL_R_SEG_FIRST_RECORD));
            }
            cr_assert_eq(seen_n(&l), nrec, "segment %zu cut %zu", s, cut);
            for (size_t i = 0; i < nrec; i++)
                cr_assert(memcmp(seen_at(&l, i), seen_at(&clean, i), sizeof(seen)) == 0);
            cuts++;
        }
        d.s[s].b.len = full;
    }
    cr_assert_gt(cuts, 1000);
    kbuf_free(&clean.v);
    kbuf_free(&l.v);
    disk_free(&d);
}

/* ------------------------------------------------------------------------ */
/* Bit flips: never OK; torn in the last record of the newest segment       */

Test(wal, every_bit_flip_is_detected)
{
    disk d;
    disk_init(&d);
    build_log(&d, 400);
    seen_list clean = {KBUF_INIT};
    wal_result res;
    cr_assert_eq(recover(&d, d.n, &clean, &res, NULL), WAL_OK);
    size_t newest = d.n - 1;
    const seen *last = seen_at(&clean, seen_n(&clean) - 1);
    cr_assert_eq(last->segment, newest);
    size_t flips = 0, torn = 0;
    for (size_t s = 0; s < d.n; s++) {
        unsigned char *p = (unsigned char *)d.s[s].b.data;
        for (size_t byte = 0; byte < d.s[s].b.len; byte++) {
            /* The start of the record holding this byte (0: the header). */
            uint64_t start = 0;
            for (size_t i = 0; i < seen_n(&clean); i++) {
                const seen *c = seen_at(&clean, i);
                if (c->segment == s && c->offset <= byte)
                    start = c->offset;
            }
            for (int bit = 0; bit < 8; bit++) {
                p[byte] ^= (unsigned char)(1u << bit);
                wal_status st = recover(&d, d.n, NULL, &res, NULL);
                p[byte] ^= (unsigned char)(1u << bit);
                flips++;
                if (s == newest && start == last->offset) {
                    cr_assert_eq(st, WAL_TORN_TAIL, "segment %zu byte %zu bit %d: %s %s", s,
                                 byte, bit, wal_status_name(st), wal_reason_text(res.reason));
                    bool creation = announced_end(&d, &clean, s) == last->offset + last->len;
                    cr_assert_eq(res.valid_len, creation ? 0 : last->offset);
                    torn++;
                } else {
                    cr_assert_eq(st, WAL_CORRUPT, "segment %zu byte %zu bit %d: %s %s", s, byte,
                                 bit, wal_status_name(st), wal_reason_text(res.reason));
                    cr_assert_eq(res.segment, s);
                    cr_assert_eq(res.offset, start, "segment %zu byte %zu", s, byte);
                }
            }
        }
    }
    cr_assert_eq(torn, last->len * 8);
    cr_assert_gt(flips, 10000);
    kbuf_free(&clean.v);
    disk_free(&d);
}

Test(wal, corrupt_reports_where_a_valid_record_follows)
{
    disk d;
    disk_init(&d);
    build_log(&d, 4000);
    cr_assert_eq(d.n, 1);
    seen_list clean = {KBUF_INIT};
    wal_result res;
    cr_assert_eq(recover(&d, 1, &clean, &res, NULL), WAL_OK);
    const seen *victim = seen_at(&clean, 5);
    d.s[0].b.data[victim->offset + WAL_REC_HEADER - 1] ^= 1; /* the index field */
    cr_assert_eq(recover(&d, 1, NULL, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_REC_BAD_CHECKSUM);
    cr_assert_eq(res.offset, victim->offset);
    cr_assert_eq(res.found_offset, victim->offset + victim->len);
    cr_assert_eq(res.expected_index, victim->index);
    kbuf_free(&clean.v);
    disk_free(&d);
}

/* ------------------------------------------------------------------------ */
/* Zeroed tails                                                             */

/* The zero_tail recovery saw in segment i (after scan_disk). */
static uint64_t zero_tail_of(const wal_recovery *rc, size_t i)
{
    size_t n;
    const wal_segment_info *in = wal_recovery_infos(rc, &n);
    cr_assert_lt(i, n);
    return in[i].zero_tail;
}

/* Appends z zero bytes to segment sg (a preallocated file's unwritten space). */
static void add_zeros(seg *sg, size_t z)
{
    memset(kbuf_reserve(&sg->b, z), 0, z);
    sg->b.len += z;
}

Test(wal, zeroed_tails)
{
    disk d;
    disk_init(&d);
    build_log(&d, 400);
    cr_assert_gt(d.n, 2);
    seen_list clean = {KBUF_INIT}, l = {KBUF_INIT};
    wal_result res;
    wal_recovery rc;
    cr_assert_eq(recover(&d, d.n, &clean, &res, NULL), WAL_OK);
    seg *nw = &d.s[d.n - 1];
    size_t full = nw->b.len;
    /* Zeros to the end of the newest segment (preallocated, never written):
     * the log ends cleanly before them, every record there. */
    for (size_t z = 1; z < 5000; z += 373) {
        add_zeros(nw, z);
        cr_assert_eq(recover(&d, d.n, &l, &res, NULL), WAL_OK, "%zu zeros", z);
        cr_assert_eq(seen_n(&l), seen_n(&clean));
        cr_assert_eq(scan_disk(&d, &rc), WAL_OK);
        cr_assert_eq(zero_tail_of(&rc, d.n - 1), z);
        wal_recovery_free(&rc);
        /* One bit set anywhere in them: not unwritten space, a torn tail. */
        for (size_t at = 0; at < z; at += 1 + z / 7) {
            nw->b.data[full + at] = 0x10;
            cr_assert_eq(recover(&d, d.n, NULL, &res, NULL), WAL_TORN_TAIL, "%zu of %zu", at, z);
            cr_assert_eq(res.valid_len, full);
            cr_assert_eq(res.offset, full);
            nw->b.data[full + at] = 0;
        }
        nw->b.len = full;
    }
    /* The last record zeroed to the end (its pages never reached the disk,
     * so it was never acknowledged): the log ends before it. */
    const seen *last = seen_at(&clean, seen_n(&clean) - 1);
    char save[512];
    memcpy(save, nw->b.data + last->offset, last->len);
    memset(nw->b.data + last->offset, 0, last->len);
    add_zeros(nw, 1000);
    cr_assert_eq(recover(&d, d.n, &l, &res, NULL), WAL_OK);
    cr_assert_eq(seen_n(&l), seen_n(&clean) - 1);
    cr_assert_eq(scan_disk(&d, &rc), WAL_OK);
    cr_assert_eq(zero_tail_of(&rc, d.n - 1), last->len + 1000);
    wal_recovery_free(&rc);
    nw->b.len = full;
    /* Only its second half zeroed: a checksum mismatch, still torn. */
    memcpy(nw->b.data + last->offset, save, last->len / 2);
    cr_assert_eq(recover(&d, d.n, NULL, &res, NULL), WAL_TORN_TAIL);
    cr_assert_eq(res.reason, WAL_R_REC_BAD_CHECKSUM);
    cr_assert_eq(res.valid_len, last->offset);
    memcpy(nw->b.data + last->offset, save, last->len);
    /* A zeroed record with a valid one after it: corrupt. */
    const seen *mid = seen_at(&clean, seen_n(&clean) - 2);
    cr_assert_eq(mid->segment, d.n - 1);
    memset(nw->b.data + mid->offset, 0, mid->len);
    cr_assert_eq(recover(&d, d.n, NULL, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_REC_ZERO);
    cr_assert_eq(res.offset, mid->offset);
    cr_assert_eq(res.found_offset, last->offset);
    /* Zeros at the end of every older segment (preallocated segments the
     * writer moved on from): the same log. */
    disk_free(&d);
    disk_init(&d);
    build_log(&d, 400);
    for (size_t s = 0; s + 1 < d.n; s++)
        add_zeros(&d.s[s], 64 + s);
    cr_assert_eq(recover(&d, d.n, &l, &res, NULL), WAL_OK);
    cr_assert_eq(seen_n(&l), seen_n(&clean));
    for (size_t i = 0; i < seen_n(&l); i++)
        cr_assert(memcmp(seen_at(&l, i), seen_at(&clean, i), sizeof(seen)) == 0);
    cr_assert_eq(scan_disk(&d, &rc), WAL_OK);
    for (size_t s = 0; s + 1 < d.n; s++)
        cr_assert_eq(zero_tail_of(&rc, s), 64 + s);
    wal_recovery_free(&rc);
    /* ... but there a non-zero byte in them is corrupt (not the newest). */
    d.s[0].b.data[d.s[0].b.len - 1] = 1;
    cr_assert_eq(recover(&d, d.n, NULL, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.segment, 0);
    d.s[0].b.data[d.s[0].b.len - 1] = 0;
    /* An older segment's last entry zeroed (lost): the next segment does
     * not continue the log, and says so. */
    size_t victim = seen_n(&clean);
    for (size_t i = 0; i + 1 < seen_n(&clean); i++) {
        const seen *c = seen_at(&clean, i);
        size_t j = i + 1; /* the next entry: the next segment's first, after its hard state */
        while (j < seen_n(&clean) && seen_at(&clean, j)->type == WAL_HARD_STATE)
            j++;
        if (j == seen_n(&clean) || seen_at(&clean, i + 1)->segment != c->segment + 1 ||
            c->segment + 1 >= d.n || c->type != WAL_ENTRY_NORMAL)
            continue;
        const seen *e = seen_at(&clean, j);
        if (e->segment == c->segment + 1 && e->index == c->index + 1 && e->eff.drop_from == 0)
            victim = i;
    }
    cr_assert_lt(victim, seen_n(&clean), "no older segment ends in an entry");
    const seen *v = seen_at(&clean, victim);
    memset(d.s[v->segment].b.data + v->offset, 0, v->len);
    cr_assert_eq(recover(&d, d.n, NULL, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.segment, v->segment + 1);
    /* A torn header in the newest segment: remove it. */
    disk_free(&d);
    disk_init(&d);
    build_log(&d, 400);
    nw = &d.s[d.n - 1];
    nw->b.len = WAL_SEG_HEADER;
    memset(nw->b.data + 20, 0, WAL_SEG_HEADER - 20);
    add_zeros(nw, 4096);
    cr_assert_eq(recover(&d, d.n, NULL, &res, NULL), WAL_TORN_TAIL);
    cr_assert_eq(res.reason, WAL_R_SEG_BAD_CHECKSUM);
    cr_assert_eq(res.valid_len, 0);
    cr_assert_eq(res.segment, d.n - 1);
    kbuf_free(&clean.v);
    kbuf_free(&l.v);
    disk_free(&d);
}

/* ------------------------------------------------------------------------ */
/* Hand-made segments for the rule violations                               */

typedef struct mk {
    kbuf b;
    uint64_t salt;
    size_t offs[32]; /* offset of each record put */
    size_t n;
} mk;

static void mk_begin(mk *m, uint64_t seq, uint64_t first, uint64_t prev_term)
{
    kbuf_init(&m->b);
    m->salt = 0x1234 + seq;
    m->n = 0;
    wal_segment_header h = {0, GROUP, seq, first, prev_term, m->salt};
    wal_segment_header_encode(&m->b, &h);
}

static void mk_put(mk *m, uint8_t type, uint64_t term, uint64_t index)
{
    wal_record r = rec(type, term, index, "pay", 3);
    m->offs[m->n++] = m->b.len;
    wal_record_encode(&m->b, wal_record_seed(m->salt, m->b.len), &r);
}

static wal_status scan_mk(mk *m, wal_result *res, seen_list *l)
{
    if (l)
        kbuf_clear(&l->v);
    return wal_scan(m->b.data, m->b.len, true, l ? collect : NULL, l, res);
}

Test(wal, index_gap_is_corrupt)
{
    mk m;
    mk_begin(&m, 1, 1, 0);
    mk_put(&m, WAL_HARD_STATE, 1, 0);
    mk_put(&m, WAL_ENTRY_NORMAL, 1, 1);
    mk_put(&m, WAL_ENTRY_NORMAL, 1, 2);
    mk_put(&m, WAL_ENTRY_NORMAL, 1, 4);
    mk_put(&m, WAL_ENTRY_NORMAL, 1, 5);
    wal_result res;
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_IDX_GAP);
    cr_assert_eq(res.offset, m.offs[3]);
    cr_assert_eq(res.expected_index, 3);
    cr_assert(res.has_record && res.rec_index == 4 && res.rec_type == WAL_ENTRY_NORMAL);
    /* Even as the last record: a valid checksum is never a torn write. */
    m.b.len = m.offs[4];
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_IDX_GAP);
    kbuf_free(&m.b);
}

Test(wal, term_regressions_are_corrupt)
{
    wal_result res;
    mk m;
    mk_begin(&m, 1, 1, 0);
    mk_put(&m, WAL_HARD_STATE, 2, 0);
    mk_put(&m, WAL_ENTRY_NORMAL, 2, 1);
    mk_put(&m, WAL_ENTRY_NORMAL, 1, 2);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_TERM_REGRESSION);
    cr_assert_eq(res.offset, m.offs[2]);
    cr_assert_eq(res.expected_index, 2);
    kbuf_free(&m.b);

    mk_begin(&m, 1, 1, 0);
    mk_put(&m, WAL_HARD_STATE, 5, 1);
    mk_put(&m, WAL_HARD_STATE, 4, 1);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_HS_TERM_REGRESSION);
    cr_assert_eq(res.offset, m.offs[1]);
    kbuf_free(&m.b);

    /* A second vote in one term. */
    mk_begin(&m, 1, 1, 0);
    mk_put(&m, WAL_HARD_STATE, 5, 0);
    mk_put(&m, WAL_HARD_STATE, 5, 2);
    mk_put(&m, WAL_HARD_STATE, 5, 2);
    mk_put(&m, WAL_HARD_STATE, 5, 3);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_HS_VOTE_CHANGED);
    cr_assert_eq(res.offset, m.offs[3]);
    kbuf_free(&m.b);

    /* An entry of a term never persisted. */
    mk_begin(&m, 1, 1, 0);
    mk_put(&m, WAL_ENTRY_NORMAL, 1, 1);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_TERM_ABOVE_HARD_STATE);
    kbuf_free(&m.b);
    mk_begin(&m, 1, 1, 0);
    mk_put(&m, WAL_HARD_STATE, 1, 0);
    mk_put(&m, WAL_ENTRY_NORMAL, 2, 1);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_TERM_ABOVE_HARD_STATE);
    kbuf_free(&m.b);

    /* Index 0, term 0, before the log. */
    mk_begin(&m, 1, 10, 3);
    mk_put(&m, WAL_HARD_STATE, 3, 0);
    mk_put(&m, WAL_ENTRY_NORMAL, 2, 10);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_TERM_REGRESSION, "below the segment's prev term");
    kbuf_free(&m.b);
    mk_begin(&m, 1, 10, 3);
    mk_put(&m, WAL_HARD_STATE, 3, 0);
    mk_put(&m, WAL_ENTRY_NORMAL, 3, 9);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_IDX_BEFORE_LOG);
    cr_assert_eq(res.expected_index, 10);
    kbuf_free(&m.b);
    mk_begin(&m, 1, 1, 0);
    mk_put(&m, WAL_HARD_STATE, 3, 0);
    mk_put(&m, WAL_ENTRY_NORMAL, 0, 1);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_TERM_ZERO);
    kbuf_free(&m.b);
    mk_begin(&m, 1, 1, 0);
    mk_put(&m, WAL_HARD_STATE, 3, 0);
    mk_put(&m, WAL_ENTRY_NORMAL, 3, 0);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_IDX_ZERO);
    kbuf_free(&m.b);
}

Test(wal, suffix_replacement)
{
    wal_result res;
    seen_list l = {KBUF_INIT};
    mk m;
    mk_begin(&m, 1, 1, 0);
    mk_put(&m, WAL_HARD_STATE, 1, 0);
    for (uint64_t i = 1; i <= 10; i++)
        mk_put(&m, WAL_ENTRY_NORMAL, 1, i);
    mk_put(&m, WAL_HARD_STATE, 3, 0);
    mk_put(&m, WAL_ENTRY_NORMAL, 3, 6); /* replaces 6..10 */
    mk_put(&m, WAL_ENTRY_NORMAL, 3, 7);
    /* Raft allows the replacing entry a lower term than the replaced one
     * (decision 0006): 6 (term 3) replaced by 6 (term 2). */
    mk_put(&m, WAL_ENTRY_NORMAL, 2, 6);
    /* Rewriting an entry with the same term is a replacement too. */
    mk_put(&m, WAL_ENTRY_NORMAL, 2, 6);
    mk_put(&m, WAL_ENTRY_NORMAL, 3, 7);
    wal_log log;
    wal_segment_bytes one = {NULL, m.b.data, m.b.len};
    cr_assert_eq(wal_recover(&one, 1, GROUP, collect, &l, &res, &log), WAL_OK, "%s",
                 wal_reason_text(res.reason));
    cr_assert_eq(log.last, 7);
    uint64_t t;
    cr_assert(wal_log_term_at(&log, 5, &t) && t == 1);
    cr_assert(wal_log_term_at(&log, 6, &t) && t == 2);
    cr_assert(wal_log_term_at(&log, 7, &t) && t == 3);
    cr_assert_eq(seen_at(&l, 12)->eff.drop_from, 6);
    cr_assert_eq(seen_at(&l, 13)->eff.drop_from, 0);
    cr_assert_eq(seen_at(&l, 14)->eff.drop_from, 6);
    cr_assert_eq(seen_at(&l, 15)->eff.drop_from, 6);
    cr_assert_eq(seen_at(&l, 16)->eff.drop_from, 0);
    wal_log_free(&log);
    /* But never below the term of the entry before it. */
    mk_put(&m, WAL_ENTRY_NORMAL, 1, 8);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_TERM_REGRESSION);
    cr_assert_eq(res.expected_index, 8);
    cr_assert_eq(res.rec_index, 8);
    kbuf_free(&m.b);
    kbuf_free(&l.v);
}

Test(wal, replacement_below_the_current_segment)
{
    /* A follower's conflicting tail spans segments: the replacing entry
     * goes into the newest segment; the next segment's first index is then
     * lower than the previous one's, and the names still sort by seq. */
    disk d;
    disk_init(&d);
    wal_writer w;
    wal_writer_init(&w, GROUP, 200, 9, 1, 0);
    wal_batch b;
    wal_batch_init(&b);
    must_append(&w, &b, rec(WAL_HARD_STATE, 1, 0, NULL, 0));
    for (uint64_t i = 1; i <= 20; i++)
        must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 1, i, "0123456789", 10));
    size_t nseg = w.seg.h.seq;
    cr_assert_geq(nseg, 3);
    must_append(&w, &b, rec(WAL_HARD_STATE, 2, 0, NULL, 0));
    must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 2, 3, "x", 1));
    for (uint64_t i = 4; i <= 12; i++)
        must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 2, i, "0123456789", 10));
    disk_apply(&d, &b);
    cr_assert_gt(d.n, nseg + 1);
    wal_segment_header h1, h2;
    wal_segment_header_decode(d.s[nseg].b.data, d.s[nseg].b.len, &h1);
    wal_segment_header_decode(d.s[nseg + 1].b.data, d.s[nseg + 1].b.len, &h2);
    cr_assert_eq(h1.first_index, 21);
    cr_assert_eq(h2.first_index, 3, "the segment announces the replacement of 3");
    cr_assert_eq(h2.prev_term, 1);
    cr_assert_lt(strcmp(d.s[nseg].name, d.s[nseg + 1].name), 0);
    wal_result res;
    wal_log log;
    cr_assert_eq(recover(&d, d.n, NULL, &res, &log), WAL_OK, "%s", wal_reason_text(res.reason));
    cr_assert_eq(log.last, 12);
    cr_assert_eq(wal_log_last_term(&log), 2);
    /* A snapshot at 2 (or anything up to 4): the log starts at the segment
     * that announced the replacement; everything before it goes. */
    wal_segment_header hs[MAXSEG];
    for (size_t i = 0; i < d.n; i++)
        cr_assert_eq(wal_segment_header_decode(d.s[i].b.data, d.s[i].b.len, &hs[i]), WAL_R_OK);
    cr_assert_eq(wal_first_needed(hs, d.n, 0), 0);
    cr_assert_eq(wal_first_needed(hs, d.n, 1), 0);
    cr_assert_eq(wal_first_needed(hs, d.n, 2), nseg + 1);
    cr_assert_eq(wal_first_needed(hs, d.n, 12), d.n - 2); /* never the newest alone */
    wal_segment_bytes segs[MAXSEG];
    disk_segments(&d, segs, d.n);
    for (uint64_t snap = 2; snap <= 12; snap++) {
        size_t k = wal_first_needed(hs, d.n, snap);
        wal_log l2;
        cr_assert_eq(wal_recover(segs + k, d.n - k, GROUP, NULL, NULL, &res, &l2), WAL_OK,
                     "snapshot %llu: %s", (unsigned long long)snap, wal_reason_text(res.reason));
        cr_assert(l2.last == 12 && l2.hs_term == 2);
        cr_assert_eq(wal_snapshot_fit(&l2, snap, snap <= 2 ? 1 : 2), WAL_FIT_CONTINUES);
        cr_assert_eq(wal_snapshot_fit(&l2, snap, 7), WAL_FIT_SUPERSEDED);
        /* A compaction cut short: any prefix of those segments deleted,
         * the start is the same. */
        for (size_t j = 0; j <= k; j++)
            cr_assert_eq(wal_first_needed(hs + j, d.n - j, snap), k - j);
        wal_log_free(&l2);
    }
    wal_log_free(&log);
    wal_batch_free(&b);
    wal_writer_free(&w);
    disk_free(&d);
}

Test(wal, snapshot_mark_below_the_current_segment)
{
    /* A follower with a long conflicting tail installs a snapshot whose
     * index is below its open segment: the mark gets a segment of its own,
     * flagged, that any recovery can start from. */
    disk d;
    disk_init(&d);
    wal_writer w;
    wal_writer_init(&w, GROUP, 200, 4, 1, 0);
    wal_batch b;
    wal_batch_init(&b);
    must_append(&w, &b, rec(WAL_HARD_STATE, 2, 0, NULL, 0));
    for (uint64_t i = 1; i <= 12; i++)
        must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 2, i, "0123456789", 10));
    must_append(&w, &b, rec(WAL_HARD_STATE, 3, 0, NULL, 0));
    must_append(&w, &b, rec(WAL_SNAPSHOT_MARK, 3, 4, NULL, 0)); /* conflicts: reset */
    must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 3, 5, "z", 1));
    disk_apply(&d, &b);
    size_t m = d.n - 1;
    wal_segment_header h;
    cr_assert_eq(wal_segment_header_decode(d.s[m].b.data, d.s[m].b.len, &h), WAL_R_OK);
    cr_assert_eq(h.flags, WAL_SEG_MARK);
    cr_assert(h.first_index == 5 && h.prev_term == 3);
    seen_list l = {KBUF_INIT};
    wal_result res;
    wal_log log;
    cr_assert_eq(recover(&d, d.n, &l, &res, &log), WAL_OK, "%s", wal_reason_text(res.reason));
    cr_assert(log.first == 5 && log.last == 5 && log.base_term == 3);
    const seen *mark = seen_at(&l, seen_n(&l) - 2);
    cr_assert(mark->type == WAL_SNAPSHOT_MARK && mark->eff.reset && mark->eff.drop_from == 1);
    wal_log_free(&log);
    /* Started from the mark's segment: the same log. */
    wal_segment_bytes segs[MAXSEG];
    disk_segments(&d, segs, d.n);
    cr_assert_eq(wal_recover(segs + m, 1, GROUP, NULL, NULL, &res, &log), WAL_OK);
    cr_assert(log.first == 5 && log.last == 5 && log.base_term == 3 && log.hs_term == 3);
    cr_assert_eq(wal_snapshot_fit(&log, 4, 3), WAL_FIT_CONTINUES);
    wal_log_free(&log);
    /* Its creation torn after the hard state: the file goes. */
    kbuf_free(&l.v);
    wal_segment_bytes cut = segs[m];
    cut.len = WAL_SEG_HEADER + WAL_REC_MIN;
    segs[m] = cut;
    cr_assert_eq(wal_recover(segs, m + 1, GROUP, NULL, NULL, &res, &log), WAL_TORN_TAIL);
    cr_assert_eq(res.valid_len, 0);
    cr_assert_eq(res.reason, WAL_R_SEG_FIRST_RECORD);
    cr_assert_eq(log.last, 12, "the log as before the segment");
    cr_assert_eq(log.hs_term, 3);
    wal_log_free(&log);
    /* The same in an older segment: corrupt. */
    segs[m + 1] = segs[0];
    cr_assert_eq(wal_recover(segs, m + 2, GROUP, NULL, NULL, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_SEG_FIRST_RECORD);
    cr_assert_eq(res.segment, m);
    wal_batch_free(&b);
    wal_writer_free(&w);
    disk_free(&d);
}

Test(wal, announced_first_record_must_come_first)
{
    wal_result res;
    /* Segment 2 announces a replacement from 3 but starts with entry 4. */
    mk a, b2;
    mk_begin(&a, 1, 1, 0);
    mk_put(&a, WAL_HARD_STATE, 2, 0);
    for (uint64_t i = 1; i <= 5; i++)
        mk_put(&a, WAL_ENTRY_NORMAL, 1, i);
    mk_begin(&b2, 2, 3, 1);
    mk_put(&b2, WAL_HARD_STATE, 2, 0);
    mk_put(&b2, WAL_ENTRY_NORMAL, 2, 4);
    char n1[WAL_NAME_SIZE], n2[WAL_NAME_SIZE];
    wal_segment_name(n1, 1, 1);
    wal_segment_name(n2, 2, 3);
    wal_segment_bytes segs[2] = {{n1, a.b.data, a.b.len}, {n2, b2.b.data, b2.b.len}};
    cr_assert_eq(wal_recover(segs, 2, GROUP, NULL, NULL, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_SEG_FIRST_RECORD);
    cr_assert_eq(res.offset, b2.offs[1]);
    kbuf_free(&b2.b);
    /* Right: entry 3 first, then a record below the segment is refused. */
    mk_begin(&b2, 2, 3, 1);
    mk_put(&b2, WAL_HARD_STATE, 2, 0);
    mk_put(&b2, WAL_ENTRY_NORMAL, 2, 3);
    segs[1].data = b2.b.data;
    segs[1].len = b2.b.len;
    cr_assert_eq(wal_recover(segs, 2, GROUP, NULL, NULL, &res, NULL), WAL_OK);
    mk_put(&b2, WAL_ENTRY_NORMAL, 2, 2);
    segs[1].data = b2.b.data;
    segs[1].len = b2.b.len;
    cr_assert_eq(wal_recover(segs, 2, GROUP, NULL, NULL, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_IDX_BEFORE_SEGMENT);
    cr_assert_eq(res.offset, b2.offs[2]);
    kbuf_free(&b2.b);
    /* A replacement segment whose prev term is not the log's. */
    mk_begin(&b2, 2, 3, 2);
    mk_put(&b2, WAL_ENTRY_NORMAL, 2, 3);
    segs[1].data = b2.b.data;
    segs[1].len = b2.b.len;
    cr_assert_eq(wal_recover(segs, 2, GROUP, NULL, NULL, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_SEG_PREV_TERM);
    kbuf_free(&b2.b);
    kbuf_free(&a.b);
}

/* ------------------------------------------------------------------------ */
/* Segment-level damage                                                     */

Test(wal, wrong_names_gaps_and_groups)
{
    disk d;
    disk_init(&d);
    build_log(&d, 400);
    cr_assert_geq(d.n, 3);
    wal_result res;
    wal_log log;
    cr_assert_eq(recover(&d, 1, NULL, &res, &log), WAL_OK);
    uint64_t last1 = log.last;
    wal_log_free(&log);

    /* A renamed segment. */
    char save[WAL_NAME_SIZE];
    memcpy(save, d.s[1].name, sizeof save);
    uint64_t s, f;
    wal_segment_name_parse(d.s[1].name, &s, &f);
    wal_segment_name(d.s[1].name, s, f + 1);
    cr_assert_eq(recover(&d, d.n, NULL, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_SEG_NAME_MISMATCH);
    cr_assert_eq(res.segment, 1);
    cr_assert_eq(res.offset, 0);
    cr_assert_eq(res.expected_index, last1 + 1);
    wal_segment_name(d.s[1].name, s + 1, f);
    cr_assert_eq(recover(&d, d.n, NULL, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_SEG_NAME_MISMATCH);
    snprintf(d.s[1].name, sizeof d.s[1].name, "segment-2.wal");
    cr_assert_eq(recover(&d, d.n, NULL, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_SEG_BAD_NAME);
    memcpy(d.s[1].name, save, sizeof save);

    /* A missing middle segment. */
    wal_segment_bytes segs[MAXSEG];
    disk_segments(&d, segs, d.n);
    segs[1] = segs[2];
    cr_assert_eq(wal_recover(segs, 2, GROUP, NULL, NULL, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_SEG_SEQ_GAP);
    cr_assert_eq(res.segment, 1);
    /* Segments out of order. */
    disk_segments(&d, segs, d.n);
    segs[1] = segs[0];
    cr_assert_eq(wal_recover(segs, 2, GROUP, NULL, NULL, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_SEG_SEQ_GAP);
    /* Another group's log. */
    disk_segments(&d, segs, d.n);
    cr_assert_eq(wal_recover(segs, d.n, GROUP + 1, NULL, NULL, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_SEG_GROUP);
    cr_assert_eq(res.segment, 0);
    /* A segment whose header (valid, rightly named) does not continue the log. */
    mk m;
    mk_begin(&m, 2, last1 + 2, 1);
    char name[WAL_NAME_SIZE];
    wal_segment_name(name, 2, last1 + 2);
    segs[1].name = name;
    segs[1].data = m.b.data;
    segs[1].len = m.b.len;
    cr_assert_eq(wal_recover(segs, 2, GROUP, NULL, NULL, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_SEG_DISCONTINUOUS);
    cr_assert_eq(res.expected_index, last1 + 1);
    kbuf_free(&m.b);
    /* The right first index, the wrong previous term. */
    recover(&d, 1, NULL, &res, &log);
    uint64_t lt = wal_log_last_term(&log);
    wal_log_free(&log);
    mk_begin(&m, 2, last1 + 1, lt + 1);
    wal_segment_name(name, 2, last1 + 1);
    segs[1].data = m.b.data;
    segs[1].len = m.b.len;
    cr_assert_eq(wal_recover(segs, 2, GROUP, NULL, NULL, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_SEG_PREV_TERM);
    kbuf_free(&m.b);
    /* A record copied from another segment: its salt gives it away. */
    disk_free(&d);
    disk_init(&d);
    build_log(&d, 400);
    seen_list clean = {KBUF_INIT};
    recover(&d, d.n, &clean, &res, NULL);
    const seen *c = seen_at(&clean, 3);
    cr_assert_eq(c->segment, 0);
    kbuf_append(&d.s[d.n - 1].b, d.s[0].b.data + c->offset, c->len);
    cr_assert_eq(recover(&d, d.n, NULL, &res, NULL), WAL_TORN_TAIL);
    cr_assert_eq(res.reason, WAL_R_REC_BAD_CHECKSUM);
    /* ... and a record copied within its segment, by its offset. */
    d.s[d.n - 1].b.len -= c->len;
    recover(&d, d.n, &clean, &res, NULL);
    c = seen_at(&clean, seen_n(&clean) - 1);
    kbuf_append(&d.s[d.n - 1].b, d.s[d.n - 1].b.data + c->offset, c->len);
    cr_assert_eq(recover(&d, d.n, NULL, &res, NULL), WAL_TORN_TAIL);
    cr_assert_eq(res.reason, WAL_R_REC_BAD_CHECKSUM);
    kbuf_free(&clean.v);
    disk_free(&d);
}

Test(wal, empty_segments)
{
    wal_result res;
    /* No segments at all: a fresh log. */
    wal_log log;
    cr_assert_eq(wal_recover(NULL, 0, GROUP, NULL, NULL, &res, &log), WAL_OK);
    cr_assert(log.first == 1 && log.last == 0);
    wal_log_free(&log);
    /* A newest segment of 0 bytes: its creation was torn. */
    cr_assert_eq(wal_scan("", 0, true, NULL, NULL, &res), WAL_TORN_TAIL);
    cr_assert_eq(res.valid_len, 0);
    cr_assert_eq(wal_scan("", 0, false, NULL, NULL, &res), WAL_CORRUPT);
    /* A header and nothing else. */
    mk m;
    mk_begin(&m, 1, 1, 0);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_OK);
    /* Garbage that is not a segment, in the newest file. */
    memcpy(m.b.data, "keel-was", 8);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_TORN_TAIL, "a bad header and nothing after");
    kbuf_append(&m.b, "\1", 1);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_SEG_BAD_MAGIC);
    kbuf_free(&m.b);
}

/* ------------------------------------------------------------------------ */
/* Snapshot marks and compaction                                            */

Test(wal, snapshot_marks)
{
    wal_result res;
    seen_list l = {KBUF_INIT};
    wal_log log;
    mk m;
    /* A mark of an entry the log holds: compaction, later entries kept. */
    mk_begin(&m, 1, 1, 0);
    mk_put(&m, WAL_HARD_STATE, 2, 0);
    for (uint64_t i = 1; i <= 6; i++)
        mk_put(&m, WAL_ENTRY_NORMAL, i <= 3 ? 1 : 2, i);
    mk_put(&m, WAL_SNAPSHOT_MARK, 2, 4);
    mk_put(&m, WAL_ENTRY_NORMAL, 2, 7);
    wal_segment_bytes one = {NULL, m.b.data, m.b.len};
    cr_assert_eq(wal_recover(&one, 1, GROUP, collect, &l, &res, &log), WAL_OK, "%s",
                 wal_reason_text(res.reason));
    cr_assert(log.first == 5 && log.last == 7 && log.base_term == 2);
    const seen *mark = seen_at(&l, 7);
    cr_assert(mark->type == WAL_SNAPSHOT_MARK && mark->eff.compacted && !mark->eff.reset);
    cr_assert_eq(mark->eff.drop_from, 0);
    wal_log_free(&log);
    /* Repeating the mark is harmless; going back is not. */
    mk_put(&m, WAL_SNAPSHOT_MARK, 2, 4);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_OK);
    mk_put(&m, WAL_SNAPSHOT_MARK, 1, 3);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_MARK_BACKWARDS);
    kbuf_free(&m.b);

    /* A mark the log does not hold (a follower installing a snapshot past
     * its log, or one that conflicts with it): the log is discarded. */
    mk_begin(&m, 1, 1, 0);
    mk_put(&m, WAL_HARD_STATE, 5, 0);
    for (uint64_t i = 1; i <= 6; i++)
        mk_put(&m, WAL_ENTRY_NORMAL, 3, i);
    mk_put(&m, WAL_SNAPSHOT_MARK, 4, 5); /* entry 5 has term 3, not 4 */
    mk_put(&m, WAL_ENTRY_NORMAL, 4, 6);
    one.data = m.b.data;
    one.len = m.b.len;
    kbuf_clear(&l.v);
    cr_assert_eq(wal_recover(&one, 1, GROUP, collect, &l, &res, &log), WAL_OK, "%s",
                 wal_reason_text(res.reason));
    cr_assert(log.first == 6 && log.last == 6 && log.base_term == 4);
    mark = seen_at(&l, 7);
    cr_assert(mark->eff.compacted && mark->eff.reset && mark->eff.drop_from == 1);
    wal_log_free(&log);
    /* After it, entries from before it are before the log. */
    mk_put(&m, WAL_ENTRY_NORMAL, 4, 5);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_IDX_BEFORE_LOG);
    kbuf_free(&m.b);

    /* Far past the log, and rules on the term. */
    mk_begin(&m, 1, 1, 0);
    mk_put(&m, WAL_HARD_STATE, 5, 0);
    mk_put(&m, WAL_SNAPSHOT_MARK, 5, 1000);
    mk_put(&m, WAL_ENTRY_NORMAL, 5, 1001);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_OK);
    mk_put(&m, WAL_SNAPSHOT_MARK, 4, 1000);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_MARK_TERM);
    kbuf_free(&m.b);
    mk_begin(&m, 1, 1, 0);
    mk_put(&m, WAL_HARD_STATE, 5, 0);
    mk_put(&m, WAL_SNAPSHOT_MARK, 6, 10);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_TERM_ABOVE_HARD_STATE);
    kbuf_free(&m.b);
    mk_begin(&m, 1, 1, 0);
    mk_put(&m, WAL_HARD_STATE, 5, 0);
    mk_put(&m, WAL_SNAPSHOT_MARK, 5, 0);
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_MARK_RANGE);
    kbuf_free(&m.b);
    kbuf_free(&l.v);
}

Test(wal, compaction_keeps_a_recoverable_log)
{
    disk d;
    disk_init(&d);
    wal_writer w;
    wal_writer_init(&w, GROUP, 300, 3, 1, 0);
    wal_batch b;
    wal_batch_init(&b);
    must_append(&w, &b, rec(WAL_HARD_STATE, 4, 1, NULL, 0));
    for (uint64_t i = 1; i <= 40; i++)
        must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 1 + i / 11, i, "abcdefghij", 10));
    /* The writer refuses an entry of a term not persisted yet. */
    wal_record bad = rec(WAL_ENTRY_NORMAL, 5, 41, NULL, 0);
    cr_assert_eq(wal_writer_append(&w, &b, &bad), WAL_R_TERM_ABOVE_HARD_STATE);
    must_append(&w, &b, rec(WAL_HARD_STATE, 5, 2, NULL, 0));
    for (uint64_t i = 41; i <= 50; i++)
        must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 5, i, "abcdefghij", 10));
    disk_apply(&d, &b);
    wal_recovery rc;
    cr_assert_eq(scan_disk(&d, &rc), WAL_OK);
    size_t ni;
    const wal_segment_info *infos = wal_recovery_infos(&rc, &ni);
    cr_assert_eq(ni, d.n);
    cr_assert_geq(ni, 4);
    wal_segment_header hs[MAXSEG];
    for (size_t i = 0; i < ni; i++)
        hs[i] = infos[i].h;
    /* A snapshot at 25: drop the segments wholly before 26. */
    size_t k = wal_first_needed(hs, ni, 25);
    cr_assert_gt(k, 0);
    cr_assert_leq(infos[k].h.first_index, 26);
    cr_assert(k + 1 == ni || infos[k + 1].h.first_index > 26);
    cr_assert_eq(wal_first_needed(hs, ni, 0), 0);
    cr_assert_eq(wal_first_needed(hs, ni, 1000), ni - 2, "never the newest alone");
    /* What is left recovers on its own, hard state included. */
    wal_segment_bytes segs[MAXSEG];
    disk_segments(&d, segs, d.n);
    wal_result res;
    wal_log log;
    cr_assert_eq(wal_recover(segs + k, d.n - k, GROUP, NULL, NULL, &res, &log), WAL_OK, "%s",
                 wal_reason_text(res.reason));
    cr_assert_eq(log.first, infos[k].h.first_index);
    cr_assert_eq(log.last, 50);
    cr_assert(log.has_hard_state && log.hs_term == 5 && log.hs_vote == 2);
    cr_assert_eq(wal_snapshot_fit(&log, 25, 3), WAL_FIT_CONTINUES);
    cr_assert_eq(wal_snapshot_fit(&log, 25, 2), WAL_FIT_SUPERSEDED);
    cr_assert_eq(wal_snapshot_fit(&log, 60, 5), WAL_FIT_SUPERSEDED);
    cr_assert_eq(wal_snapshot_fit(&log, log.first - 2, 1), WAL_FIT_GAP);
    wal_log_free(&log);
    wal_recovery_free(&rc);
    wal_batch_free(&b);
    wal_writer_free(&w);
    disk_free(&d);
}

/* Four segment headers with these first indexes. */
static void firsts(wal_segment_header s[4], uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    memset(s, 0, 4 * sizeof *s);
    s[0].first_index = a;
    s[1].first_index = b;
    s[2].first_index = c;
    s[3].first_index = d;
}

Test(wal, first_needed_rules)
{
    wal_segment_header s[4];
    firsts(s, 1, 101, 201, 301);
    cr_assert_eq(wal_first_needed(s, 4, 0), 0);
    cr_assert_eq(wal_first_needed(s, 4, 99), 0);
    cr_assert_eq(wal_first_needed(s, 4, 100), 1);
    cr_assert_eq(wal_first_needed(s, 4, 250), 2);
    /* Never the newest alone: the one before it keeps the hard state a
     * creation that never finished would lack. */
    cr_assert_eq(wal_first_needed(s, 4, 300), 2);
    cr_assert_eq(wal_first_needed(s, 4, 5000), 2);
    cr_assert_eq(wal_first_needed(s, 2, 5000), 0);
    cr_assert_eq(wal_first_needed(s, 1, 5000), 0);
    cr_assert_eq(wal_first_needed(s, 0, 5000), 0);
    /* A replacement announced by the newest segment from 150: without it,
     * the log must start where entry 150 is. */
    firsts(s, 1, 101, 201, 150);
    cr_assert_eq(wal_first_needed(s, 4, 160), 1);
    cr_assert_eq(wal_first_needed(s, 4, 148), 1);
    /* Nor one the newest reaches back before (it replaces from 20): the
     * log with the newest must still read from there. */
    firsts(s, 1, 30, 201, 20);
    cr_assert_eq(wal_first_needed(s, 4, 40), 0);
    /* ... and when no older segment could start it, the newest alone. */
    firsts(s, 170, 180, 190, 150);
    cr_assert_eq(wal_first_needed(s, 4, 160), 3);
    /* Nothing starts early enough: entries are missing. */
    firsts(s, 50, 101, 201, 150);
    cr_assert_eq(wal_first_needed(s, 4, 10), 4);
}

/* A creation that never finished: a write failed (ENOSPC) after the new
 * segment's header, then a crash kept the header alone; its hard state
 * record lived only in the segment before. A snapshot covering everything
 * before the new segment must not make that one go (the simulator's seed
 * 601538, three nodes, disk faults: the node came back in term 0 after
 * voting in term 2). */
Test(wal, the_segment_before_a_torn_creation_stays)
{
    disk d;
    disk_init(&d);
    wal_writer w;
    wal_writer_init(&w, GROUP, 300, 3, 1, 0);
    wal_batch b;
    wal_batch_init(&b);
    must_append(&w, &b, rec(WAL_HARD_STATE, 3, 2, NULL, 0));
    uint64_t i = 0;
    do { /* until a third segment holds one entry */
        must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 3, ++i, "abcdefghij", 10));
        disk_apply(&d, &b);
        wal_batch_clear(&b);
    } while (d.n < 3 || w.seg_body != 1);
    /* The newest segment: header, the hard state preamble, entry i. */
    seg *nw = &d.s[d.n - 1];
    wal_segment_header h;
    cr_assert_eq(wal_segment_header_decode(nw->b.data, nw->b.len, &h), WAL_R_OK);
    cr_assert_eq(h.first_index, i);
    nw->b.len = WAL_SEG_HEADER; /* the tear kept its header alone */
    wal_segment_header hs[MAXSEG];
    for (size_t k = 0; k < d.n; k++)
        cr_assert_eq(wal_segment_header_decode(d.s[k].b.data, d.s[k].b.len, &hs[k]), WAL_R_OK);
    /* A snapshot of everything before it. */
    size_t k = wal_first_needed(hs, d.n, i - 1);
    cr_assert_lt(k, d.n - 1);
    wal_segment_bytes segs[MAXSEG];
    disk_segments(&d, segs, d.n);
    wal_result res;
    wal_log log;
    cr_assert_eq(wal_recover(segs + k, d.n - k, GROUP, NULL, NULL, &res, &log), WAL_OK, "%s",
                 wal_reason_text(res.reason));
    cr_assert(log.has_hard_state);
    cr_assert_eq(log.hs_term, 3);
    cr_assert_eq(log.hs_vote, 2);
    cr_assert_eq(log.last, i - 1);
    wal_log_free(&log);
    wal_batch_free(&b);
    wal_writer_free(&w);
    disk_free(&d);
}

/* ------------------------------------------------------------------------ */
/* The writer after recovery                                                */

Test(wal, writer_resumes_after_a_torn_tail)
{
    disk d;
    disk_init(&d);
    build_log(&d, 400);
    seg *nw = &d.s[d.n - 1];
    size_t full = nw->b.len;
    nw->b.len = full - 5; /* the last write was torn */
    wal_recovery rc;
    cr_assert_eq(scan_disk(&d, &rc), WAL_TORN_TAIL);
    nw->b.len = rc.res.valid_len; /* the io cuts the tail */
    wal_writer w;
    cr_assert(wal_writer_resume(&w, &rc, 400, 77));
    uint64_t next = w.log.last + 1;
    wal_batch b;
    wal_batch_init(&b);
    for (uint64_t i = 0; i < 10; i++)
        must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 4, next + i, "resumed", 7));
    size_t nops;
    const wal_write *ops = wal_batch_ops(&b, &nops);
    cr_assert(!ops[0].create && ops[0].offset == rc.res.valid_len);
    disk_apply(&d, &b);
    wal_log log;
    wal_result res;
    cr_assert_eq(recover(&d, d.n, NULL, &res, &log), WAL_OK, "%s", wal_reason_text(res.reason));
    cr_assert_eq(log.last, next + 9);
    wal_log_free(&log);
    wal_batch_free(&b);
    wal_writer_free(&w);
    wal_recovery_free(&rc);

    /* A torn header: the file goes, the writer starts the next segment at its seq. */
    seg *extra = &d.s[d.n++];
    kbuf_init(&extra->b);
    uint64_t s, f;
    wal_segment_name_parse(d.s[d.n - 2].name, &s, &f);
    wal_segment_name(extra->name, s + 1, next + 10);
    kbuf_append(&extra->b, "keel-w", 6);
    cr_assert_eq(scan_disk(&d, &rc), WAL_TORN_TAIL);
    cr_assert_eq(rc.res.valid_len, 0);
    kbuf_free(&extra->b);
    d.n--;
    cr_assert(wal_writer_resume(&w, &rc, 400, 77));
    wal_batch_init(&b);
    must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 4, next + 10, "x", 1));
    ops = wal_batch_ops(&b, &nops);
    cr_assert(ops[0].create && ops[0].seq == s + 1 && ops[0].first_index == next + 10);
    disk_apply(&d, &b);
    cr_assert_eq(recover(&d, d.n, NULL, &res, NULL), WAL_OK, "%s", wal_reason_text(res.reason));
    wal_batch_free(&b);
    wal_writer_free(&w);
    wal_recovery_free(&rc);
    /* Nothing to resume after corruption. */
    d.s[0].b.data[WAL_SEG_HEADER + 3] ^= 1;
    cr_assert_eq(scan_disk(&d, &rc), WAL_CORRUPT);
    cr_assert(!wal_writer_resume(&w, &rc, 400, 77));
    wal_recovery_free(&rc);
    disk_free(&d);
}

/* A tear that cuts the newest segment back to its header takes the
 * preamble's hard state record with it. The resumed writer writes it again
 * first, so the segment still recovers on its own once compaction deletes
 * the older ones (without it: TERM_ABOVE_HARD_STATE). */
Test(wal, writer_rewrites_a_preamble_the_tear_took)
{
    disk d;
    disk_init(&d);
    wal_writer w;
    wal_writer_init(&w, GROUP, 300, 3, 1, 0);
    wal_batch b;
    wal_batch_init(&b);
    must_append(&w, &b, rec(WAL_HARD_STATE, 2, 1, NULL, 0));
    for (uint64_t i = 1; i <= 20; i++)
        must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 2, i, "abcdefghij", 10));
    wal_writer_roll(&w);
    must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 2, 21, "abcdefghij", 10));
    disk_apply(&d, &b);
    wal_writer_free(&w);
    cr_assert_geq(d.n, 2);
    seg *nw = &d.s[d.n - 1];
    cr_assert_gt(nw->b.len, WAL_SEG_HEADER + 1);
    nw->b.len = WAL_SEG_HEADER + 1; /* torn inside the preamble's record */
    wal_recovery rc;
    cr_assert_eq(scan_disk(&d, &rc), WAL_TORN_TAIL);
    cr_assert_eq(rc.res.valid_len, WAL_SEG_HEADER);
    nw->b.len = rc.res.valid_len; /* the io cuts the tail */
    cr_assert(wal_writer_resume(&w, &rc, 300, 77));
    wal_batch_clear(&b);
    must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 2, 21, "again", 5));
    size_t nops;
    const wal_write *ops = wal_batch_ops(&b, &nops);
    cr_assert(!ops[0].create && ops[0].offset == WAL_SEG_HEADER);
    disk_apply(&d, &b);
    /* The newest segment alone, as after compaction: hard state and entry. */
    wal_result res;
    wal_log log;
    cr_assert_eq(recover(&d, d.n, NULL, &res, NULL), WAL_OK, "%s", wal_reason_text(res.reason));
    wal_segment_bytes one;
    one.name = nw->name;
    one.data = nw->b.data;
    one.len = nw->b.len;
    cr_assert_eq(wal_recover(&one, 1, GROUP, NULL, NULL, &res, &log), WAL_OK, "%s",
                 wal_reason_text(res.reason));
    cr_assert(log.has_hard_state && log.hs_term == 2 && log.hs_vote == 1);
    cr_assert_eq(log.first, 21);
    cr_assert_eq(log.last, 21);
    wal_log_free(&log);
    wal_batch_free(&b);
    wal_writer_free(&w);
    wal_recovery_free(&rc);
    disk_free(&d);
}

Test(wal, writer_refusals_change_nothing)
{
    wal_writer w;
    wal_writer_init(&w, GROUP, 1000, 1, 1, 0);
    wal_batch b;
    wal_batch_init(&b);
    must_append(&w, &b, rec(WAL_HARD_STATE, 2, 0, NULL, 0));
    must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 2, 1, NULL, 0));
    size_t len = b.buf.len, nops;
    wal_batch_ops(&b, &nops);
    wal_record bad[] = {rec(WAL_ENTRY_NORMAL, 2, 3, NULL, 0), rec(WAL_ENTRY_NORMAL, 1, 2, NULL, 0),
                        rec(WAL_HARD_STATE, 1, 0, NULL, 0), rec(9, 2, 2, NULL, 0),
                        rec(WAL_ENTRY_NORMAL, 2, 2, NULL, 0)};
    bad[4].group = GROUP + 1;
    wal_reason want[] = {WAL_R_IDX_GAP, WAL_R_TERM_REGRESSION, WAL_R_HS_TERM_REGRESSION,
                         WAL_R_REC_BAD_TYPE, WAL_R_REC_GROUP};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(wal_writer_append(&w, &b, &bad[i]), want[i], "case %zu", i);
        size_t n2;
        wal_batch_ops(&b, &n2);
        cr_assert(b.buf.len == len && n2 == nops);
    }
    cr_assert_eq(w.log.last, 1);
    wal_batch_free(&b);
    wal_writer_free(&w);
}

/* ------------------------------------------------------------------------ */
/* Sizes                                                                    */

Test(wal, empty_payloads)
{
    wal_writer w;
    wal_writer_init(&w, GROUP, 1 << 20, 1, 1, 0);
    wal_batch b;
    wal_batch_init(&b);
    must_append(&w, &b, rec(WAL_HARD_STATE, 1, 0, NULL, 0));
    for (uint64_t i = 1; i <= 100; i++)
        must_append(&w, &b, rec((uint8_t)(1 + i % 3), 1, i, NULL, 0));
    cr_assert_eq(b.buf.len, WAL_SEG_HEADER + 101 * WAL_REC_MIN);
    seen_list l = {KBUF_INIT};
    wal_result res;
    cr_assert_eq(wal_scan(b.buf.data, b.buf.len, true, collect, &l, &res), WAL_OK);
    cr_assert_eq(seen_n(&l), 101);
    for (size_t i = 0; i < seen_n(&l); i++)
        cr_assert_eq(seen_at(&l, i)->plen, 0);
    kbuf_free(&l.v);
    wal_batch_free(&b);
    wal_writer_free(&w);
}

Test(wal, huge_record, .timeout = 60)
{
    const size_t big = 64u << 20;
    char *payload = malloc(big);
    cr_assert_not_null(payload);
    for (size_t i = 0; i < big; i += 4096)
        payload[i] = (char)(i >> 12);
    memset(payload, 'h', 4096);
    wal_writer w;
    wal_writer_init(&w, GROUP, 1 << 20, 1, 1, 0);
    wal_batch b;
    wal_batch_init(&b);
    must_append(&w, &b, rec(WAL_HARD_STATE, 1, 0, NULL, 0));
    must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 1, 1, "small", 5));
    must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 1, 2, payload, big));
    must_append(&w, &b, rec(WAL_ENTRY_NORMAL, 1, 3, "after", 5));
    free(payload);
    size_t nops;
    const wal_write *ops = wal_batch_ops(&b, &nops);
    cr_assert_eq(nops, 3, "the huge record has a segment of its own");
    const wal_write *op = &ops[1];
    const char *seg2 = b.buf.data + op->buf_off;
    seen_list l = {KBUF_INIT};
    wal_result res;
    cr_assert_eq(wal_scan(seg2, op->len, true, collect, &l, &res), WAL_OK);
    cr_assert_eq(seen_n(&l), 2); /* the hard state preamble and the entry */
    cr_assert_eq(seen_at(&l, 1)->plen, big);
    /* Cut anywhere inside it: torn, cut back to just before it. */
    size_t cuts[] = {op->len - 1, op->len - 8, op->len / 2, WAL_SEG_HEADER + WAL_REC_MIN + 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        cr_assert_eq(wal_scan(seg2, cuts[i], true, NULL, NULL, &res), WAL_TORN_TAIL);
        cr_assert_eq(res.valid_len, WAL_SEG_HEADER + WAL_REC_MIN);
    }
    kbuf_free(&l.v);
    wal_batch_free(&b);
    wal_writer_free(&w);
}

Test(wal, search_gives_up_on_adversarial_bytes, .timeout = 60)
{
    /* A damaged record followed by a lattice of headers that pass every
     * cheap check, each claiming the rest of the segment: hashing them all
     * would be quadratic. The search gives up (CORRUPT), never hangs, and
     * never calls it torn. */
    mk m;
    mk_begin(&m, 1, 1, 0);
    mk_put(&m, WAL_HARD_STATE, 1, 0);
    size_t bad = m.b.len;
    kbuf_append(&m.b, "\x30\0\0\0\1\0\0\0", 8); /* a record cut short */
    size_t total = 2u << 20;
    while (m.b.len < total) {
        unsigned char h[16] = {0};
        le_put32(h, (uint32_t)(total - m.b.len));
        h[4] = WAL_ENTRY_NORMAL;
        le_put32(h + 8, GROUP);
        kbuf_append(&m.b, h, sizeof h);
    }
    m.b.len = total;
    wal_result res;
    cr_assert_eq(scan_mk(&m, &res, NULL), WAL_CORRUPT);
    cr_assert_eq(res.reason, WAL_R_REC_SEARCH_LIMIT);
    cr_assert_eq(res.offset, bad);
    kbuf_free(&m.b);
}

Test(wal, reasons_have_names_and_texts)
{
    for (int r = 0; r < WAL_R__COUNT; r++) {
        cr_assert_neq(strcmp(wal_reason_text((wal_reason)r), "?"), 0);
        cr_assert_neq(strcmp(wal_reason_name((wal_reason)r), "?"), 0);
    }
    cr_assert_str_eq(wal_reason_name(WAL_R_REC_BAD_CHECKSUM), "REC_BAD_CHECKSUM");
    cr_assert_str_eq(wal_reason_text(WAL_R__COUNT), "?");
    cr_assert_str_eq(wal_status_name(WAL_TORN_TAIL), "TORN_TAIL");
    cr_assert_str_eq(wal_type_name(WAL_HARD_STATE), "HARD_STATE");
}
