/* fuzz_wal: property fuzzer for the WAL recovery scan and the snapshot file
 * decoder (core/wal/wal.h, core/wal/snapshot.h).
 *
 * Built as a libFuzzer target (fuzz-wal) and, with afl_driver.c, as an
 * AFL++ target (fuzz-wal-afl). See docs/fuzzing.md and docs/durability.md.
 *
 * Input layout: byte 0 selects the mode (byte 0 % 7); the rest is the
 * mode's. Seeds are written by fuzz/gen_wal_corpus.py.
 *
 *  0 raw segment: bytes 1.. are one segment file, scanned as the newest and
 *    as an older segment (wal_scan).
 *  1 raw log: byte 1 = n - 1 (bits 0-1: 1..4 segments) and bit 2 (names
 *    from the headers instead of none); then n - 1 little-endian u16
 *    lengths; the rest is the bytes of the segments, in order (the last
 *    takes what is left).
 *  2 raw snapshot: bytes 1.. are a snapshot file (snap_decode).
 *  3 built log: byte 1 picks the segment size (100 + 16 * b), byte 2 the
 *    salt seed, bytes 3..6 (LE) the byte to flip and 7 its bit, 8..11 the
 *    truncation point; bytes 12.. are operations (see build_log) that a
 *    wal_writer turns into a valid multi-segment log.
 *  4 built snapshot: bytes 1..4 the bit to flip, 5..8 the truncation point,
 *    9 the config length; then the config and the body.
 *  5 node snapshot body: bytes 1.. are the body of a well-framed snapshot
 *    file (every database's image, core/node/log.c) that node_snapshot_load
 *    reads into a fresh node.
 *  6 log entry payload: bytes 1.. are the payload of an ENTRY_NORMAL that
 *    node_log_replay applies to a fresh node.
 *
 * Properties (a violation prints a report and aborts):
 *  R1 Verdicts are one of OK/TORN_TAIL/CORRUPT; TORN_TAIL only in the newest
 *     segment, with a framing reason (or a bad header or a missing announced
 *     record, then valid_len 0), valid_len == offset, 0 or >= the header. A segment scanned as older never gets TORN_TAIL,
 *     and gets OK exactly when the newest scan does.
 *  R2 Every record handed to the callback lies inside its segment's bytes,
 *     the records of a segment tile it from the header on, and on OK they
 *     reach its end or only zeros follow them.
 *  R3 Cutting a torn tail at valid_len (removing the file when 0) gives OK
 *     with exactly the same records.
 *  R4 A built log recovers OK to exactly the records written (payloads
 *     included) and the writer's log state; after any one bit flip it is
 *     never OK: TORN_TAIL with the right valid length if the bit is in the
 *     newest segment's last record, else CORRUPT at that segment and at the
 *     start of the record (or header) holding the bit. A cut anywhere in the
 *     newest segment is OK at a record boundary and TORN_TAIL otherwise
 *     (valid length 0 before the end of the record a segment announces).
 *     For a snapshot index S (one no discarding mark reached: committed),
 *     the segments from wal_first_needed(S) on recover OK on their own to
 *     the same log from S on, and without the newest of them OK too.
 *  R5 Zeros appended to every segment of a built log (preallocated space)
 *     recover OK to the same records.
 *  S1 A snapshot that decodes re-encodes to the same bytes; a built one
 *     decodes to what was encoded; after any bit flip or truncation it is
 *     refused.
 *  N1 A snapshot body either loads or is refused with a reason that leaves
 *     the node empty; one that loads re-encodes to a file that loads into
 *     another node with the same DEBUG DIGEST.
 *  N2 An entry payload is applied or refused with a reason
 *     (node_log_start reports it); nothing else.
 * Plus ASan/UBSan: every buffer handed to the code under test is an exact
 * allocation, so a read past its end is caught. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/node/node.h"
#include "core/util/kbuf.h"
#include "core/wal/le.h"
#include "core/wal/snapshot.h"
#include "core/wal/wal.h"
#include "fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXSEG 256

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

/* ------------------------------------------------------------------------ */
/* What recovery handed out                                                 */

typedef struct seen {
    uint8_t type;
    uint64_t term, index;
    uint64_t phash;
    size_t plen;
    size_t segment;
    uint64_t offset, len;
    uint64_t drop_from;
    uint8_t reset;
} seen;

typedef struct visit_ctx {
    kbuf seen;
    /* The segments' bytes, for R2. */
    const char *const *bufs;
    const size_t *lens;
    size_t nsegs;
    size_t cur_seg;
    uint64_t next_off; /* where the next record of cur_seg must start */
} visit_ctx;

static void on_record(void *ctx, const wal_record *r, const wal_visit *v)
{
    visit_ctx *c = ctx;
    CHECK(v->segment < c->nsegs);
    if (c->cur_seg == SIZE_MAX || v->segment != c->cur_seg) {
        CHECK(c->cur_seg == SIZE_MAX || v->segment > c->cur_seg);
        c->cur_seg = v->segment;
        c->next_off = WAL_SEG_HEADER;
    }
    const char *b = c->bufs[v->segment];
    size_t len = c->lens[v->segment];
    CHECK(v->offset == c->next_off);
    CHECK(v->len >= WAL_REC_MIN && v->len <= len && v->offset <= len - v->len);
    CHECK(r->payload_len == v->len - WAL_REC_MIN);
    CHECK(r->payload == b + v->offset + WAL_REC_HEADER);
    CHECK(r->type >= WAL_TYPE_MIN && r->type <= WAL_TYPE_MAX && r->flags == 0);
    c->next_off = v->offset + v->len;
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
    s.drop_from = v->effect.drop_from;
    s.reset = v->effect.reset;
    kbuf_append(&c->seen, &s, sizeof s);
}

static size_t seen_n(const visit_ctx *c)
{
    return c->seen.len / sizeof(seen);
}

static const seen *seen_at(const visit_ctx *c, size_t i)
{
    return (const seen *)c->seen.data + i;
}

/* Recovers segments[0..n) (exact copies); names may be NULL. */
static wal_status recover(char *const *bufs, const size_t *lens, const char *const *names,
                          size_t n, visit_ctx *c, wal_result *res, wal_log *log)
{
    kbuf_clear(&c->seen);
    c->bufs = (const char *const *)bufs;
    c->lens = lens;
    c->nsegs = n;
    c->cur_seg = SIZE_MAX;
    c->next_off = 0;
    wal_segment_bytes segs[MAXSEG];
    CHECK(n <= MAXSEG);
    for (size_t i = 0; i < n; i++) {
        segs[i].name = names ? names[i] : NULL;
        segs[i].data = bufs[i];
        segs[i].len = lens[i];
    }
    wal_status st = wal_recover(segs, n, WAL_GROUP_ANY, on_record, c, res, log);
    return st;
}

/* R1 for a verdict over n segments. */
static void check_verdict(wal_status st, const wal_result *res, size_t n, const size_t *lens)
{
    CHECK(st == WAL_OK || st == WAL_TORN_TAIL || st == WAL_CORRUPT);
    CHECK(res->status == st);
    if (st == WAL_OK) {
        CHECK(res->reason == WAL_R_OK);
        return;
    }
    CHECK(res->reason != WAL_R_OK);
    CHECK(res->segment < n);
    CHECK(res->offset <= lens[res->segment]);
    if (st == WAL_TORN_TAIL) {
        CHECK(res->segment == n - 1);
        CHECK(res->valid_len == res->offset);
        CHECK(res->valid_len == 0 || res->valid_len >= WAL_SEG_HEADER);
        /* valid_len 0: a torn header, or the record the segment announces
         * was torn (its framing reason) or never written. */
        CHECK(!res->has_record);
        if (res->valid_len > 0)
            CHECK(wal_reason_is_framing(res->reason));
    }
}

static bool zeros_from(const char *p, size_t from, size_t len)
{
    for (size_t i = from; i < len; i++)
        if (p[i])
            return false;
    return true;
}

/* R2 on OK: every segment's records reach its end, or only zeros follow
 * them (unwritten preallocated space). */
static void check_tiling(const visit_ctx *c, wal_status st, size_t n, const size_t *lens)
{
    if (st != WAL_OK)
        return;
    size_t k = 0;
    for (size_t seg = 0; seg < n; seg++) {
        uint64_t end = WAL_SEG_HEADER;
        for (; k < seen_n(c) && seen_at(c, k)->segment == seg; k++)
            end = seen_at(c, k)->offset + seen_at(c, k)->len;
        CHECK(end == lens[seg] || (end < lens[seg] && zeros_from(c->bufs[seg], end, lens[seg])));
    }
    CHECK(k == seen_n(c));
}

static bool same_seen(const visit_ctx *a, const visit_ctx *b)
{
    return a->seen.len == b->seen.len &&
           (a->seen.len == 0 || memcmp(a->seen.data, b->seen.data, a->seen.len) == 0);
}

/* R3: cut the torn tail and recover again. */
static void check_cut(char *const *bufs, const size_t *lens, const char *const *names, size_t n,
                      const visit_ctx *first, const wal_result *res)
{
    size_t n2 = res->valid_len == 0 ? n - 1 : n;
    size_t lens2[MAXSEG];
    char *bufs2[MAXSEG];
    for (size_t i = 0; i < n; i++) {
        lens2[i] = lens[i];
        bufs2[i] = bufs[i];
    }
    char *cut = NULL;
    if (n2 == n) {
        cut = dup_exact(bufs[n - 1], res->valid_len);
        bufs2[n - 1] = cut;
        lens2[n - 1] = res->valid_len;
    }
    visit_ctx c2;
    memset(&c2, 0, sizeof c2);
    wal_result r2;
    wal_status st = recover(bufs2, lens2, names, n2, &c2, &r2, NULL);
    CHECK(st == WAL_OK);
    CHECK(same_seen(first, &c2));
    check_tiling(&c2, st, n2, lens2);
    free(cut);
    kbuf_free(&c2.seen);
}

/* ------------------------------------------------------------------------ */
/* Modes 0 and 1: raw bytes                                                 */

static void run_raw_segment(const uint8_t *p, size_t n)
{
    g_mode = "raw-segment";
    char *buf = dup_exact(p, n);
    visit_ctx c1, c2;
    memset(&c1, 0, sizeof c1);
    memset(&c2, 0, sizeof c2);
    c1.bufs = c2.bufs = (const char *const *)&buf;
    c1.lens = c2.lens = &n;
    c1.nsegs = c2.nsegs = 1;
    c1.cur_seg = c2.cur_seg = (size_t)-1;
    wal_result r1, r2;
    wal_status s1 = wal_scan(buf, n, true, on_record, &c1, &r1);
    wal_status s2 = wal_scan(buf, n, false, on_record, &c2, &r2);
    check_verdict(s1, &r1, 1, &n);
    CHECK(s2 != WAL_TORN_TAIL);
    CHECK((s1 == WAL_OK) == (s2 == WAL_OK));
    CHECK(same_seen(&c1, &c2));
    CHECK(s1 == WAL_OK || r1.offset == r2.offset);
    check_tiling(&c1, s1, 1, &n);
    if (s1 == WAL_TORN_TAIL)
        check_cut(&buf, &n, NULL, 1, &c1, &r1);
    kbuf_free(&c1.seen);
    kbuf_free(&c2.seen);
    free(buf);
}

static void run_raw_log(const uint8_t *p, size_t n)
{
    g_mode = "raw-log";
    if (n < 1)
        return;
    size_t nseg = 1 + (p[0] & 3);
    bool named = (p[0] >> 2) & 1;
    p++;
    n--;
    if (n < 2 * (nseg - 1))
        return;
    size_t lens[4];
    for (size_t i = 0; i + 1 < nseg; i++)
        lens[i] = le_get16(p + 2 * i);
    p += 2 * (nseg - 1);
    n -= 2 * (nseg - 1);
    char *bufs[4];
    char names_buf[4][WAL_NAME_SIZE];
    const char *names[4];
    for (size_t i = 0; i < nseg; i++) {
        size_t l = i + 1 == nseg ? n : (lens[i] < n ? lens[i] : n);
        lens[i] = l;
        bufs[i] = dup_exact(p, l);
        p += l;
        n -= l;
        wal_segment_header h;
        if (wal_segment_header_decode(bufs[i], l, &h) == WAL_R_OK)
            wal_segment_name(names_buf[i], h.seq, h.first_index);
        else
            snprintf(names_buf[i], sizeof names_buf[i], "bad-%zu.wal", i);
        names[i] = names_buf[i];
    }
    visit_ctx c;
    memset(&c, 0, sizeof c);
    wal_result res;
    wal_status st = recover(bufs, lens, named ? names : NULL, nseg, &c, &res, NULL);
    check_verdict(st, &res, nseg, lens);
    check_tiling(&c, st, nseg, lens);
    if (st == WAL_TORN_TAIL)
        check_cut(bufs, lens, named ? names : NULL, nseg, &c, &res);
    kbuf_free(&c.seen);
    for (size_t i = 0; i < nseg; i++)
        free(bufs[i]);
}

/* ------------------------------------------------------------------------ */
/* Mode 2 and 4: snapshots                                                  */

static void run_raw_snapshot(const uint8_t *p, size_t n)
{
    g_mode = "raw-snapshot";
    char *buf = dup_exact(p, n);
    snap_view v;
    snap_header h;
    snap_reason hw = snap_header_decode(buf, n, &h);
    snap_reason why = snap_decode(buf, n, &v);
    CHECK((unsigned)why < SNAP_R__COUNT);
    if (why == SNAP_R_OK) {
        CHECK(hw == SNAP_R_OK);
        CHECK(v.h.file_len == n);
        CHECK(v.config == buf + SNAP_HEADER);
        CHECK(v.body == v.config + v.h.config_len);
        snap_meta m = {v.h.group, v.h.index, v.h.term, v.config, v.h.config_len};
        kbuf b = KBUF_INIT;
        snap_encode(&b, &m, v.body, v.h.body_len);
        CHECK(b.len == n && memcmp(b.data, buf, n) == 0);
        kbuf_free(&b);
    }
    free(buf);
}

static void run_built_snapshot(const uint8_t *p, size_t n)
{
    g_mode = "built-snapshot";
    if (n < 9)
        return;
    uint32_t flip = le_get32(p), cutp = le_get32(p + 4);
    size_t clen = p[8];
    p += 9;
    n -= 9;
    if (clen > n)
        clen = n;
    snap_meta m = {flip * 7u, ((uint64_t)cutp << 3) | 1, (uint64_t)clen + 1, (const char *)p,
                   clen};
    kbuf b = KBUF_INIT;
    snap_encode(&b, &m, p + clen, n - clen);
    char *f = dup_exact(b.data, b.len);
    snap_view v;
    CHECK(snap_decode(f, b.len, &v) == SNAP_R_OK);
    CHECK(v.h.group == m.group && v.h.index == m.index && v.h.term == m.term);
    CHECK(v.h.config_len == clen && v.h.body_len == n - clen);
    CHECK(clen == 0 || memcmp(v.config, p, clen) == 0);
    CHECK(n - clen == 0 || memcmp(v.body, p + clen, n - clen) == 0);
    /* A bit flip. */
    size_t bit = flip % (b.len * 8);
    f[bit / 8] ^= (char)(1u << (bit % 8));
    CHECK(snap_decode(f, b.len, &v) != SNAP_R_OK);
    f[bit / 8] ^= (char)(1u << (bit % 8));
    free(f);
    /* A truncation. */
    size_t cut = cutp % b.len;
    char *t = dup_exact(b.data, cut);
    snap_reason why = snap_decode(t, cut, &v);
    CHECK(why == SNAP_R_SHORT || why == SNAP_R_TRUNCATED);
    free(t);
    kbuf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Mode 3: a log built by the writer                                        */

typedef struct disk {
    kbuf s[MAXSEG];
    char names[MAXSEG][WAL_NAME_SIZE];
    size_t n;
} disk;

static bool disk_apply(disk *d, const wal_batch *b)
{
    size_t n;
    const wal_write *ops = wal_batch_ops(b, &n);
    for (size_t i = 0; i < n; i++) {
        const wal_write *op = &ops[i];
        if (op->create) {
            if (d->n == MAXSEG)
                return false;
            kbuf_init(&d->s[d->n]);
            wal_segment_name(d->names[d->n], op->seq, op->first_index);
            d->n++;
        }
        CHECK(d->n > 0);
        kbuf *s = &d->s[d->n - 1];
        CHECK(op->offset == s->len);
        kbuf_append(s, b->buf.data + op->buf_off, op->len);
    }
    return true;
}

/* The writer's records, without hard states (recovery also sees the hard
 * state that opens each segment). */
typedef struct expect {
    kbuf v; /* seen[] with segment/offset/len 0 */
} expect;

static void expect_add(expect *e, const wal_record *r)
{
    seen s;
    memset(&s, 0, sizeof s);
    s.type = r->type;
    s.term = r->term;
    s.index = r->index;
    s.plen = r->payload_len;
    s.phash = XXH3_64bits(r->payload, r->payload_len);
    kbuf_append(&e->v, &s, sizeof s);
}

static uint8_t take(const uint8_t **p, size_t *n)
{
    if (*n == 0)
        return 0;
    uint8_t b = **p;
    (*p)++;
    (*n)--;
    return b;
}

static char payload_pool[4096];

/* Tries one record: the writer must agree with wal_log_check. */
static void try_append(wal_writer *w, wal_batch *b, expect *e, const wal_record *r)
{
    wal_reason want = wal_log_check(&w->log, r);
    wal_reason got = wal_writer_append(w, b, r);
    CHECK(got == want);
    if (got == WAL_R_OK && r->type != WAL_HARD_STATE)
        expect_add(e, r);
}

/* Operations, one byte each plus arguments:
 *  op % 8 = 0,1,2  entry (normal/noop/config) at last + 1, payload of
 *                  (next byte % 64) bytes
 *  3               hard state: next byte: bit 0 same term (vote only from
 *                  0), else term + 1; vote = (byte >> 1) % 4
 *  4               replacement: an entry at first + (byte % length)
 *  5               snapshot mark: index base + 1 + (byte % (length + 3));
 *                  next byte bit 0: the term of the entry there if it has one
 *  6               end of a batch: its writes go to the disk
 *  7               a big entry: (next byte * 16) bytes of payload
 * Invalid records are allowed (the writer must refuse them exactly as
 * wal_log_check does); valid ones need a hard state first. */
static bool build_log(disk *d, wal_writer *w, expect *e, const uint8_t *p, size_t n)
{
    wal_batch b;
    wal_batch_init(&b);
    bool ok = true;
    int ops = 0;
    while (n > 0 && ops++ < 300 && ok) {
        uint8_t op = take(&p, &n);
        wal_record r;
        memset(&r, 0, sizeof r);
        r.group = w->group;
        wal_log *l = &w->log;
        uint64_t hs = l->has_hard_state ? l->hs_term : 1;
        switch (op % 8) {
        case 0:
        case 1:
        case 2: {
            uint8_t a = take(&p, &n);
            r.type = (uint8_t)(WAL_ENTRY_NORMAL + op % 8);
            r.term = hs;
            r.index = l->last + 1;
            r.payload = payload_pool + a;
            r.payload_len = a % 64;
            try_append(w, &b, e, &r);
            break;
        }
        case 3: {
            uint8_t a = take(&p, &n);
            r.type = WAL_HARD_STATE;
            r.term = (a & 1) ? hs : hs + 1;
            r.vote = (uint64_t)((a >> 1) % 4);
            try_append(w, &b, e, &r);
            break;
        }
        case 4: {
            uint8_t a = take(&p, &n);
            uint64_t len = l->last >= l->first ? l->last - l->first + 1 : 1;
            r.type = WAL_ENTRY_NORMAL;
            r.term = hs;
            r.index = l->first + a % len;
            r.payload = payload_pool + 7;
            r.payload_len = a % 13;
            try_append(w, &b, e, &r);
            break;
        }
        case 5: {
            uint8_t a = take(&p, &n), c = take(&p, &n);
            uint64_t len = l->last >= l->first ? l->last - l->first + 1 : 0;
            r.type = WAL_SNAPSHOT_MARK;
            r.index = l->first + a % (len + 3);
            uint64_t t;
            r.term = (c & 1) && wal_log_term_at(l, r.index, &t) ? t : hs;
            try_append(w, &b, e, &r);
            break;
        }
        case 6:
            ok = disk_apply(d, &b);
            wal_batch_clear(&b);
            break;
        case 7: {
            uint8_t a = take(&p, &n);
            r.type = WAL_ENTRY_NORMAL;
            r.term = hs;
            r.index = l->last + 1;
            r.payload = payload_pool;
            r.payload_len = (size_t)a * 16;
            try_append(w, &b, e, &r);
            break;
        }
        }
    }
    if (ok)
        ok = disk_apply(d, &b);
    wal_batch_free(&b);
    return ok;
}

static void check_same_log(const wal_log *a, const wal_log *b)
{
    CHECK(a->first == b->first && a->last == b->last && a->base_term == b->base_term);
    CHECK(a->has_hard_state == b->has_hard_state);
    CHECK(!a->has_hard_state || (a->hs_term == b->hs_term && a->hs_vote == b->hs_vote));
    for (uint64_t i = a->first - 1; i <= a->last; i++) {
        uint64_t t1 = 0, t2 = 0;
        CHECK(wal_log_term_at(a, i, &t1) && wal_log_term_at(b, i, &t2) && t1 == t2);
    }
}

static void run_built_log(const uint8_t *p, size_t n)
{
    g_mode = "built-log";
    if (n < 11)
        return;
    uint64_t seg_max = 100 + 16 * (uint64_t)p[0];
    uint64_t salt_seed = p[1];
    uint32_t flip = le_get32(p + 2);
    uint8_t flip_bit = p[6] % 8;
    uint32_t cutp = le_get32(p + 7);
    p += 11;
    n -= 11;
    for (size_t i = 0; i < sizeof payload_pool; i++)
        payload_pool[i] = (char)(i * 131 + 17);

    disk *d = calloc(1, sizeof *d);
    CHECK(d != NULL);
    wal_writer w;
    wal_writer_init(&w, 5, seg_max, salt_seed, 1, 0);
    expect e = {KBUF_INIT};
    bool ok = build_log(d, &w, &e, p, n);
    if (!ok || d->n == 0)
        goto out;

    char *bufs[MAXSEG];
    size_t lens[MAXSEG];
    const char *names[MAXSEG];
    size_t total = 0;
    for (size_t i = 0; i < d->n; i++) {
        bufs[i] = dup_exact(d->s[i].data, d->s[i].len);
        lens[i] = d->s[i].len;
        names[i] = d->names[i];
        total += lens[i];
    }

    /* R4: the whole log is OK and gives back what was written. */
    visit_ctx clean;
    memset(&clean, 0, sizeof clean);
    wal_result res;
    wal_log log;
    wal_status st = recover(bufs, lens, names, d->n, &clean, &res, &log);
    if (st != WAL_OK)
        fprintf(stderr, "built log: %s %s segment %zu offset %llu expected %llu\n",
                wal_status_name(st), wal_reason_name(res.reason), res.segment,
                (unsigned long long)res.offset, (unsigned long long)res.expected_index);
    CHECK(st == WAL_OK);
    check_tiling(&clean, st, d->n, lens);
    check_same_log(&w.log, &log);
    wal_log_free(&log);

    /* R5: zeros after the last record of every segment (preallocated,
     * never written) change nothing. */
    {
        char *zb[MAXSEG];
        size_t zl[MAXSEG];
        for (size_t i = 0; i < d->n; i++) {
            size_t z = 1 + (flip + i * 97) % 300;
            zl[i] = lens[i] + z;
            zb[i] = calloc(1, zl[i]);
            CHECK(zb[i] != NULL);
            memcpy(zb[i], bufs[i], lens[i]);
        }
        visit_ctx zc;
        memset(&zc, 0, sizeof zc);
        wal_result zr;
        CHECK(recover(zb, zl, names, d->n, &zc, &zr, NULL) == WAL_OK);
        CHECK(same_seen(&clean, &zc));
        check_tiling(&zc, WAL_OK, d->n, zl);
        kbuf_free(&zc.seen);
        for (size_t i = 0; i < d->n; i++)
            free(zb[i]);
    }
    size_t k = 0;
    for (size_t i = 0; i < seen_n(&clean); i++) {
        const seen *s = seen_at(&clean, i);
        if (s->type == WAL_HARD_STATE)
            continue;
        CHECK(k < e.v.len / sizeof(seen));
        const seen *x = (const seen *)e.v.data + k++;
        CHECK(s->type == x->type && s->term == x->term && s->index == x->index &&
              s->plen == x->plen && s->phash == x->phash);
    }
    CHECK(k == e.v.len / sizeof(seen));

    /* R4: one bit flipped. */
    size_t pos = flip % total, seg = 0;
    while (pos >= lens[seg]) {
        pos -= lens[seg];
        seg++;
    }
    size_t newest = d->n - 1;
    wal_segment_header hs[MAXSEG];
    for (size_t i = 0; i < d->n; i++)
        CHECK(wal_segment_header_decode(bufs[i], lens[i], &hs[i]) == WAL_R_OK);
    /* Where the record the newest segment announces ends (0: none). */
    uint64_t ae = 0;
    for (size_t i = 0; i < seen_n(&clean); i++) {
        const seen *s = seen_at(&clean, i);
        if (s->segment != newest || s->type == WAL_HARD_STATE)
            continue;
        if ((hs[newest].flags & WAL_SEG_MARK) ||
            (s->type != WAL_SNAPSHOT_MARK && s->drop_from != 0))
            ae = s->offset + s->len;
        break;
    }
    uint64_t start = 0, last_start = 0, last_end = 0;
    bool newest_has_records = false;
    for (size_t i = 0; i < seen_n(&clean); i++) {
        const seen *s = seen_at(&clean, i);
        if (s->segment == seg && s->offset <= pos)
            start = s->offset;
        if (s->segment == newest) {
            last_start = s->offset;
            last_end = s->offset + s->len;
            newest_has_records = true;
        }
    }
    bufs[seg][pos] ^= (char)(1u << flip_bit);
    visit_ctx c;
    memset(&c, 0, sizeof c);
    st = recover(bufs, lens, names, d->n, &c, &res, NULL);
    bufs[seg][pos] ^= (char)(1u << flip_bit);
    check_verdict(st, &res, d->n, lens);
    CHECK(st != WAL_OK);
    if (seg == newest && start == last_start) {
        CHECK(st == WAL_TORN_TAIL);
        CHECK(res.valid_len == (newest_has_records && ae != last_end ? last_start : 0));
    } else {
        CHECK(st == WAL_CORRUPT);
        CHECK(res.segment == seg);
        CHECK(res.offset == start);
    }

    /* R4: a cut in the newest segment. */
    size_t cut = cutp % (lens[newest] + 1);
    size_t keep = cut < WAL_SEG_HEADER ? 0 : WAL_SEG_HEADER, nrec = 0;
    for (size_t i = 0; i < seen_n(&clean); i++) {
        const seen *s = seen_at(&clean, i);
        if (s->segment < newest || s->offset + s->len <= cut) {
            nrec = i + 1;
            if (s->segment == newest)
                keep = s->offset + s->len;
        }
    }
    if (cut < ae) {
        keep = 0;
        nrec = 0;
        while (nrec < seen_n(&clean) && seen_at(&clean, nrec)->segment < newest)
            nrec++;
    }
    char *whole = bufs[newest];
    size_t whole_len = lens[newest];
    bufs[newest] = dup_exact(whole, cut);
    lens[newest] = cut;
    st = recover(bufs, lens, names, d->n, &c, &res, NULL);
    check_verdict(st, &res, d->n, lens);
    if (cut == keep && cut >= WAL_SEG_HEADER) {
        CHECK(st == WAL_OK);
    } else {
        CHECK(st == WAL_TORN_TAIL);
        if (res.valid_len != keep)
            fprintf(stderr, "cut %zu of %zu: %s valid %llu, want %zu (announced end %llu)\n",
                    cut, whole_len, wal_reason_name(res.reason),
                    (unsigned long long)res.valid_len, keep, (unsigned long long)ae);
        CHECK(res.valid_len == keep);
    }
    CHECK(seen_n(&c) == nrec);
    CHECK(nrec == 0 || memcmp(c.seen.data, clean.seen.data, nrec * sizeof(seen)) == 0);
    free(bufs[newest]);
    bufs[newest] = whole;
    lens[newest] = whole_len;

    /* R4: start from the segment a snapshot at S needs. */
    uint64_t snap = (cutp >> 8) % (w.log.last + 1), snap_term = 0;
    /* A snapshot index is committed, and nothing in a real log discards a
     * committed entry; the built logs know no commits, so S is taken only
     * when no mark at or below it discarded the log. */
    bool committed_like = true;
    for (size_t i = 0; i < seen_n(&clean); i++) {
        const seen *s = seen_at(&clean, i);
        if (s->type == WAL_SNAPSHOT_MARK && s->reset && s->index <= snap)
            committed_like = false;
    }
    if (committed_like && wal_log_term_at(&w.log, snap, &snap_term)) {
        size_t ks = wal_first_needed(hs, d->n, snap);
        CHECK(ks < d->n);
        wal_log sl;
        st = recover(bufs + ks, lens + ks, names + ks, d->n - ks, &c, &res, &sl);
        if (st != WAL_OK)
            fprintf(stderr, "from segment %zu of %zu (snapshot %llu): %s %s segment %zu offset "
                    "%llu expected %llu\n", ks, d->n, (unsigned long long)snap,
                    wal_status_name(st), wal_reason_name(res.reason), res.segment,
                    (unsigned long long)res.offset, (unsigned long long)res.expected_index);
        CHECK(st == WAL_OK);
        CHECK(sl.last == w.log.last);
        CHECK(wal_snapshot_fit(&sl, snap, snap_term) == WAL_FIT_CONTINUES);
        if (ks + 1 < d->n) {
            /* ... and without the newest (a creation that never finished). */
            visit_ctx c2;
            memset(&c2, 0, sizeof c2);
            wal_result r2;
            CHECK(recover(bufs + ks, lens + ks, names + ks, d->n - 1 - ks, &c2, &r2, NULL) ==
                  WAL_OK);
            kbuf_free(&c2.seen);
        }
        CHECK(sl.has_hard_state == w.log.has_hard_state && sl.hs_term == w.log.hs_term &&
              sl.hs_vote == w.log.hs_vote);
        for (uint64_t i = snap; i <= sl.last; i++) {
            uint64_t t1 = 0, t2 = 0;
            CHECK(wal_log_term_at(&sl, i, &t1) && wal_log_term_at(&w.log, i, &t2) && t1 == t2);
        }
        wal_log_free(&sl);
    }

    kbuf_free(&c.seen);
    kbuf_free(&clean.seen);
    for (size_t i = 0; i < d->n; i++)
        free(bufs[i]);
out:
    for (size_t i = 0; i < d->n; i++)
        kbuf_free(&d->s[i]);
    free(d);
    kbuf_free(&e.v);
    wal_writer_free(&w);
}

/* ------------------------------------------------------------------------ */
/* The node's own decoders: snapshot bodies and entry payloads */

static uint64_t node_keys(node *n)
{
    uint64_t k = 0;
    for (int i = 0; i < n->eng.ndbs; i++)
        k += db_size(engine_db(&n->eng, i));
    return k;
}

/* DEBUG DIGEST through a throwaway connection. */
static void node_digest(node *n, char out[64])
{
    const char *reject;
    conn_id c = node_client_open(n, 1, NULL, NULL, -1, &reject);
    CHECK(c != 0);
    static const char q[] = "DEBUG DIGEST\r\n";
    size_t avail;
    char *b = node_read_buffer(n, c, sizeof(q) - 1, &avail);
    memcpy(b, q, sizeof(q) - 1);
    node_event ev = {.type = EV_CLIENT_DATA, .now_ms = 1, .conn = c, .nread = sizeof(q) - 1};
    node_step(n, &ev);
    kbuf *o = node_output(n, c);
    CHECK(o && o->len > 0 && o->len < 64);
    memcpy(out, o->data, o->len);
    out[o->len] = '\0';
    node_event cl = {.type = EV_CLIENT_CLOSED, .now_ms = 1, .conn = c};
    node_step(n, &cl);
}

static void run_node_snapshot(const uint8_t *p, size_t n)
{
    g_mode = "node snapshot";
    static const char config[] = {(char)0x91, 0x07}; /* [data seed 7] */
    snap_meta m = {.group = 0, .index = 3, .term = 1, .config = config, .config_len = 2};
    kbuf file = KBUF_INIT;
    snap_encode(&file, &m, p, n);
    char *exact = dup_exact(file.data, file.len);
    node a;
    node_init(&a, 1, 1, NULL);
    const char *why = node_snapshot_load(&a, exact, file.len);
    if (why != NULL) {
        CHECK(node_keys(&a) == 0);
    } else {
        kbuf again = KBUF_INIT;
        uint64_t idx, term;
        node_snapshot_encode(&a, &again, &idx, &term);
        CHECK(idx == 3 && term == 1);
        node b;
        node_init(&b, 2, 1, NULL);
        CHECK(node_snapshot_load(&b, again.data, again.len) == NULL);
        char da[64], db[64];
        node_digest(&a, da);
        node_digest(&b, db);
        CHECK(strcmp(da, db) == 0);
        node_free(&b);
        kbuf_free(&again);
    }
    node_free(&a);
    free(exact);
    kbuf_free(&file);
}

static void run_node_entry(const uint8_t *p, size_t n)
{
    g_mode = "node entry";
    char *exact = dup_exact(p, n);
    node a;
    node_init(&a, 1, 1, NULL);
    wal_record r = {.type = WAL_ENTRY_NORMAL, .term = 1, .index = 1, .payload = exact,
                    .payload_len = n};
    node_log_replay(&a, &r, NULL);
    node_log_opts o;
    node_log_opts_default(&o);
    char err[256];
    (void)node_log_start(&a, NULL, &o, err, sizeof(err));
    node_free(&a);
    free(exact);
}

/* ------------------------------------------------------------------------ */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fuzz_input_begin(data, size);
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 7) {
    case 0: run_raw_segment(p, n); break;
    case 1: run_raw_log(p, n); break;
    case 2: run_raw_snapshot(p, n); break;
    case 3: run_built_log(p, n); break;
    case 4: run_built_snapshot(p, n); break;
    case 5: run_node_snapshot(p, n); break;
    case 6: run_node_entry(p, n); break;
    }
    fuzz_input_end();
    return 0;
}
