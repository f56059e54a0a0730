/* raft/msg: every message type round-trips with all its fields; damaged
 * bytes (cut, flipped, lying counts, trailing garbage, out-of-range values)
 * are refused with a reason, never a crash or a read outside the buffer. */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/raft/msg.h"
#include "core/util/kbuf.h"
#include "core/util/prng.h"

/* ------------------------------------------------------------------------ */
/* Helpers */

static const unsigned char payload_a[] = {0x00, 0xff, 0xc4, 0x93, '\r', '\n', 0x00, 0x7f};
static unsigned char payload_big[300];
static unsigned char snap_chunk[70000];

static rf_entry g_entries[5];

/* A message of type t with every field set (values chosen so each one
 * needs a different width). */
static rf_msg full_msg(uint8_t t)
{
    for (size_t i = 0; i < sizeof payload_big; i++)
        payload_big[i] = (unsigned char)(i * 7 + 3);
    for (size_t i = 0; i < sizeof snap_chunk; i++)
        snap_chunk[i] = (unsigned char)(i ^ (i >> 8));
    g_entries[0] = (rf_entry){100, 7, RF_ENTRY_NOOP, 0, NULL};
    g_entries[1] = (rf_entry){101, 7, RF_ENTRY_NORMAL, sizeof payload_a, (unsigned char *)payload_a};
    g_entries[2] = (rf_entry){102, 8, RF_ENTRY_NORMAL, 0, (unsigned char *)payload_a};
    g_entries[3] = (rf_entry){103, 8, RF_ENTRY_CONFIG, sizeof payload_big, payload_big};
    g_entries[4] = (rf_entry){UINT64_MAX, UINT64_MAX, RF_ENTRY_NORMAL, 1, payload_big};

    rf_msg m;
    memset(&m, 0, sizeof m);
    m.type = t;
    m.from = 3;
    m.to = UINT64_MAX;
    m.term = 0x1234;
    m.last_index = 0xfffffffffULL;
    m.last_term = 200;
    m.transfer = true;
    m.reject = true;
    m.prev_index = 99;
    m.prev_term = 6;
    m.commit = 70000;
    m.nentries = 5;
    m.entries = g_entries;
    m.index = 1;
    m.hint_index = 0x100000000ULL;
    m.hint_term = 255;
    m.ctx = 42;
    m.sent_ms = -1700000000123LL;
    m.snap_index = 98;
    m.snap_term = 5;
    m.snap_config.nvoters = 3;
    m.snap_config.voters[0] = 1;
    m.snap_config.voters[1] = 3;
    m.snap_config.voters[2] = UINT64_MAX;
    m.snap_config.nlearners = 2;
    m.snap_config.learners[0] = 2;
    m.snap_config.learners[1] = 1000;
    m.offset = 65536;
    m.total = 1 << 20;
    m.len = sizeof snap_chunk;
    m.data = snap_chunk;
    m.done = true;
    return m;
}

/* The least message: type 1 from 1 to 2, everything else zero. */
static rf_msg small_msg(void)
{
    rf_msg m;
    memset(&m, 0, sizeof m);
    m.type = RF_MSG_PREVOTE;
    m.from = 1;
    m.to = 2;
    return m;
}

static bool bytes_eq(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

static void expect_msg_eq(const rf_msg *a, const rf_msg *b)
{
    cr_assert_eq(a->type, b->type);
    cr_assert_eq(a->from, b->from);
    cr_assert_eq(a->to, b->to);
    cr_assert_eq(a->term, b->term);
    cr_assert_eq(a->last_index, b->last_index);
    cr_assert_eq(a->last_term, b->last_term);
    cr_assert_eq(a->transfer, b->transfer);
    cr_assert_eq(a->reject, b->reject);
    cr_assert_eq(a->prev_index, b->prev_index);
    cr_assert_eq(a->prev_term, b->prev_term);
    cr_assert_eq(a->commit, b->commit);
    cr_assert_eq(a->index, b->index);
    cr_assert_eq(a->hint_index, b->hint_index);
    cr_assert_eq(a->hint_term, b->hint_term);
    cr_assert_eq(a->ctx, b->ctx);
    cr_assert_eq(a->sent_ms, b->sent_ms);
    cr_assert_eq(a->snap_index, b->snap_index);
    cr_assert_eq(a->snap_term, b->snap_term);
    cr_assert_eq(a->snap_config.nvoters, b->snap_config.nvoters);
    cr_assert_eq(a->snap_config.nlearners, b->snap_config.nlearners);
    for (uint32_t i = 0; i < a->snap_config.nvoters; i++)
        cr_assert_eq(a->snap_config.voters[i], b->snap_config.voters[i]);
    for (uint32_t i = 0; i < a->snap_config.nlearners; i++)
        cr_assert_eq(a->snap_config.learners[i], b->snap_config.learners[i]);
    cr_assert_eq(a->offset, b->offset);
    cr_assert_eq(a->total, b->total);
    cr_assert_eq(a->done, b->done);
    cr_assert_eq(a->len, b->len);
    cr_assert(bytes_eq(a->data, b->data, a->len));
    cr_assert_eq(a->nentries, b->nentries);
    for (uint32_t i = 0; i < a->nentries; i++) {
        const rf_entry *x = &a->entries[i], *y = &b->entries[i];
        cr_assert_eq(x->index, y->index, "entry %u", i);
        cr_assert_eq(x->term, y->term, "entry %u", i);
        cr_assert_eq(x->type, y->type, "entry %u", i);
        cr_assert_eq(x->len, y->len, "entry %u", i);
        cr_assert(bytes_eq(x->data, y->data, x->len), "entry %u", i);
    }
}

static bool inside(const void *p, size_t n, const void *buf, size_t len)
{
    const unsigned char *q = p, *b = buf;
    return q != NULL && q >= b && q <= b + len && n <= (size_t)(b + len - q);
}

/* What a successful decode must be: pointers into buf, values in range. */
static void expect_sane(const rf_msg *m, const void *buf, size_t len)
{
    cr_assert(m->type >= 1 && m->type <= RF_MSG_TYPE_MAX);
    cr_assert(m->from != 0 && m->to != 0);
    cr_assert(inside(m->data, m->len, buf, len));
    cr_assert(m->nentries <= RF_MSG_MAX_ENTRIES);
    cr_assert_eq(m->entries == NULL, m->nentries == 0);
    for (uint32_t i = 0; i < m->nentries; i++) {
        cr_assert(m->entries[i].type >= RF_ENTRY_NORMAL && m->entries[i].type <= RF_ENTRY_CONFIG);
        cr_assert(inside(m->entries[i].data, m->entries[i].len, buf, len));
    }
    const rf_config *c = &m->snap_config;
    cr_assert(c->nvoters + c->nlearners <= RF_MAX_MEMBERS);
}

static bool is_zero(const rf_msg *m)
{
    static const rf_msg zero;
    return memcmp(m, &zero, sizeof zero) == 0;
}

/* Decodes an exact heap copy of buf[0..len), so ASan sees any read past
 * its end. Returns the reason; on success *m points into *copy. */
static const char *decode_copy(rf_msg *m, const void *buf, size_t len, kbuf *scratch,
                               unsigned char **copy)
{
    *copy = malloc(len ? len : 1);
    cr_assert(*copy != NULL);
    if (len)
        memcpy(*copy, buf, len);
    const char *why = rf_msg_decode(m, *copy, len, scratch);
    if (why == NULL)
        expect_sane(m, *copy, len);
    else
        cr_assert(is_zero(m), "a refused decode leaves the message zeroed");
    return why;
}

/* Decodes buf and expects the reason `want` (NULL: success). */
static void expect_decode(const void *buf, size_t len, const char *want)
{
    kbuf scratch = KBUF_INIT;
    rf_msg m;
    unsigned char *copy;
    const char *why = decode_copy(&m, buf, len, &scratch, &copy);
    if (want == NULL)
        cr_assert_null(why, "refused: %s", why);
    else {
        cr_assert_not_null(why, "accepted; wanted \"%s\"", want);
        cr_assert_str_eq(why, want);
    }
    free(copy);
    kbuf_free(&scratch);
}

/* The encoding of small_msg(): an array16 of 25 one-byte fields but the
 * config (3 bytes) and the data (2). Field k < 20 is at SMALL_AT(k). */
static const unsigned char small_bytes[] = {
    0xdc, 0x00, 0x19,                   /* array of 25 */
    0x01, 0x01, 0x01, 0x02,             /* version, type, from, to */
    0x00, 0x00, 0x00, 0xc2, 0xc2,       /* term, last_index, last_term, transfer, reject */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* prev_index .. hint_term */
    0x00, 0x00, 0x00, 0x00,             /* ctx, sent_ms, snap_index, snap_term */
    0x92, 0x90, 0x90,                   /* snap_config [[], []] */
    0x00, 0x00, 0xc2,                   /* offset, total, done */
    0xc4, 0x00,                         /* data */
    0x90,                               /* entries */
};
#define SMALL_AT(k) (3 + (k))
enum {
    F_VERSION, F_TYPE, F_FROM, F_TO, F_TERM, F_LAST_INDEX, F_LAST_TERM, F_TRANSFER, F_REJECT,
    F_PREV_INDEX, F_PREV_TERM, F_COMMIT, F_INDEX, F_HINT_INDEX, F_HINT_TERM, F_CTX, F_SENT_MS,
    F_SNAP_INDEX, F_SNAP_TERM, F_SNAP_CONFIG
};
#define SMALL_CONFIG_AT SMALL_AT(F_SNAP_CONFIG)
#define SMALL_DATA_AT 28
#define SMALL_ENTRIES_AT 30

/* small_bytes with bytes [at, at + oldlen) replaced by rep[0..replen). */
static void splice(kbuf *out, size_t at, size_t oldlen, const void *rep, size_t replen)
{
    kbuf_clear(out);
    kbuf_append(out, small_bytes, at);
    kbuf_append(out, rep, replen);
    kbuf_append(out, small_bytes + at + oldlen, sizeof small_bytes - at - oldlen);
}

static void expect_splice(size_t at, size_t oldlen, const void *rep, size_t replen,
                          const char *want)
{
    kbuf b = KBUF_INIT;
    splice(&b, at, oldlen, rep, replen);
    expect_decode(b.data, b.len, want);
    kbuf_free(&b);
}

/* ------------------------------------------------------------------------ */

Test(raft_msg, round_trip_every_type)
{
    kbuf enc = KBUF_INIT, enc2 = KBUF_INIT, scratch = KBUF_INIT;
    for (uint8_t t = 1; t <= RF_MSG_TYPE_MAX; t++) {
        rf_msg m = full_msg(t);
        kbuf_clear(&enc);
        rf_msg_encode(&m, &enc);
        rf_msg d;
        unsigned char *copy;
        const char *why = decode_copy(&d, enc.data, enc.len, &scratch, &copy);
        cr_assert_null(why, "type %u: %s", t, why);
        expect_msg_eq(&m, &d);
        /* Payloads point into the buffer, not copies. */
        cr_assert(d.data > copy && d.data + d.len <= copy + enc.len);
        for (uint32_t i = 0; i < d.nentries; i++)
            cr_assert(d.entries[i].data > copy && d.entries[i].data < copy + enc.len);
        /* The encoding is canonical: encoding the decode gives the same bytes. */
        kbuf_clear(&enc2);
        rf_msg_encode(&d, &enc2);
        cr_assert_eq(enc.len, enc2.len);
        cr_assert(memcmp(enc.data, enc2.data, enc.len) == 0);
        free(copy);
    }
    kbuf_free(&enc);
    kbuf_free(&enc2);
    kbuf_free(&scratch);
}

Test(raft_msg, small_message_golden_bytes)
{
    /* Pins the wire format: a change here breaks mixed-version clusters. */
    rf_msg m = small_msg();
    kbuf enc = KBUF_INIT;
    rf_msg_encode(&m, &enc);
    cr_assert_eq(enc.len, sizeof small_bytes);
    cr_assert(memcmp(enc.data, small_bytes, sizeof small_bytes) == 0);
    kbuf scratch = KBUF_INIT;
    rf_msg d;
    unsigned char *copy;
    cr_assert_null(decode_copy(&d, enc.data, enc.len, &scratch, &copy));
    expect_msg_eq(&m, &d);
    cr_assert_null(d.entries);
    cr_assert_eq(d.len, 0);
    free(copy);
    kbuf_free(&scratch);
    kbuf_free(&enc);
}

static void round_trip(const rf_msg *m)
{
    kbuf enc = KBUF_INIT, enc2 = KBUF_INIT, scratch = KBUF_INIT;
    rf_msg_encode(m, &enc);
    rf_msg d;
    unsigned char *copy;
    const char *why = decode_copy(&d, enc.data, enc.len, &scratch, &copy);
    cr_assert_null(why, "%s", why);
    expect_msg_eq(m, &d);
    rf_msg_encode(&d, &enc2);
    cr_assert(enc.len == enc2.len && memcmp(enc.data, enc2.data, enc.len) == 0);
    free(copy);
    kbuf_free(&enc);
    kbuf_free(&enc2);
    kbuf_free(&scratch);
}

Test(raft_msg, extreme_values)
{
    rf_msg m = full_msg(RF_MSG_APPEND);
    m.from = m.to = m.term = m.last_index = m.last_term = UINT64_MAX;
    m.prev_index = m.prev_term = m.commit = m.index = UINT64_MAX;
    m.hint_index = m.hint_term = m.ctx = m.snap_index = m.snap_term = UINT64_MAX;
    m.offset = m.total = UINT64_MAX;
    m.transfer = m.reject = m.done = false;
    int64_t sents[] = {INT64_MIN, INT64_MIN + 1, -4294967297LL, -4294967296LL, -2147483649LL,
                       -2147483648LL, -32769, -32768, -129, -128, -33, -32, -1, 0, 1, 127, 128,
                       255, 256, 65535, 65536, 4294967295LL, 4294967296LL, INT64_MAX};
    for (size_t i = 0; i < sizeof sents / sizeof sents[0]; i++) {
        m.sent_ms = sents[i];
        round_trip(&m);
    }
    /* Zero entries, zero data, an empty config. */
    m = small_msg();
    m.type = RF_MSG_SNAPSHOT;
    round_trip(&m);
}

Test(raft_msg, configs)
{
    rf_msg m = small_msg();
    m.type = RF_MSG_SNAPSHOT;
    /* A full house of voters, then voters and learners sharing the room. */
    m.snap_config.nvoters = RF_MAX_MEMBERS;
    for (uint32_t i = 0; i < RF_MAX_MEMBERS; i++)
        m.snap_config.voters[i] = 1 + i * 1000;
    round_trip(&m);
    m.snap_config.nvoters = RF_MAX_MEMBERS / 2;
    m.snap_config.nlearners = RF_MAX_MEMBERS / 2;
    for (uint32_t i = 0; i < RF_MAX_MEMBERS / 2; i++)
        m.snap_config.learners[i] = 500 + i;
    round_trip(&m);
    m.snap_config.nvoters = 0;
    round_trip(&m);

    /* Refusals, spliced in place of the empty config. */
    struct {
        const char *bytes;
        size_t len;
        const char *why;
    } bad[] = {
        {"\x92\x91\x00\x90", 4, "member id 0"},
        {"\x92\x90\x91\x00", 4, "member id 0"},
        {"\x92\x92\x02\x01\x90", 5, "member ids not ascending"},
        {"\x92\x92\x02\x02\x90", 5, "member ids not ascending"},
        {"\x92\x90\x92\x05\x05", 5, "member ids not ascending"},
        {"\x92\x91\x02\x91\x02", 5, "member both voter and learner"},
        {"\x91\x90", 2, "bad config"},
        {"\x93\x90\x90\x90", 4, "bad config"},
        {"\x90", 1, "bad config"},
        {"\xc0", 1, "bad type"},
        {"\x92\xc0\x90", 3, "bad type"},
        {"\x92\x91\xff\x90", 4, "bad type"},
        {"\x92\x90\x91\xc3", 4, "bad type"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_splice(SMALL_CONFIG_AT, 3, bad[i].bytes, bad[i].len, bad[i].why);

    /* 17 voters; 9 voters and 8 learners. */
    kbuf c = KBUF_INIT;
    kbuf_putc(&c, (char)0x92);
    kbuf_append(&c, "\xdc\x00\x11", 3);
    for (int i = 1; i <= 17; i++)
        kbuf_putc(&c, (char)i);
    kbuf_putc(&c, (char)0x90);
    expect_splice(SMALL_CONFIG_AT, 3, c.data, c.len, "too many members");
    kbuf_clear(&c);
    kbuf_putc(&c, (char)0x92);
    kbuf_putc(&c, (char)0x99);
    for (int i = 1; i <= 9; i++)
        kbuf_putc(&c, (char)i);
    kbuf_putc(&c, (char)0x98);
    for (int i = 20; i < 28; i++)
        kbuf_putc(&c, (char)i);
    expect_splice(SMALL_CONFIG_AT, 3, c.data, c.len, "too many members");
    /* 8 + 8 is fine. */
    kbuf_clear(&c);
    kbuf_putc(&c, (char)0x92);
    kbuf_putc(&c, (char)0x98);
    for (int i = 1; i <= 8; i++)
        kbuf_putc(&c, (char)i);
    kbuf_putc(&c, (char)0x98);
    for (int i = 20; i < 28; i++)
        kbuf_putc(&c, (char)i);
    expect_splice(SMALL_CONFIG_AT, 3, c.data, c.len, NULL);
    kbuf_free(&c);
}

/* A few valid encodings to damage: every type (with a smaller snapshot
 * chunk, so that a test cuts and flips every byte cheaply) and the least. */
static size_t test_encodings(kbuf *encs, size_t max)
{
    size_t n = 0;
    for (uint8_t t = 1; t <= RF_MSG_TYPE_MAX && n < max; t++) {
        rf_msg m = full_msg(t);
        m.data = payload_big;
        m.len = 77;
        kbuf_init(&encs[n]);
        rf_msg_encode(&m, &encs[n++]);
    }
    rf_msg m = small_msg();
    kbuf_init(&encs[n]);
    rf_msg_encode(&m, &encs[n++]);
    return n;
}

Test(raft_msg, every_truncation_refused)
{
    kbuf encs[RF_MSG_TYPE_MAX + 1];
    size_t n = test_encodings(encs, RF_MSG_TYPE_MAX + 1);
    kbuf scratch = KBUF_INIT;
    size_t cuts = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t len = 0; len < encs[i].len; len++) {
            rf_msg d;
            unsigned char *copy;
            const char *why = decode_copy(&d, encs[i].data, len, &scratch, &copy);
            cr_assert_not_null(why, "encoding %zu cut at %zu of %zu decoded", i, len, encs[i].len);
            free(copy);
            cuts++;
        }
        kbuf_free(&encs[i]);
    }
    cr_assert_gt(cuts, 1000);
    kbuf_free(&scratch);
}

Test(raft_msg, random_damage_never_crashes)
{
    kbuf encs[RF_MSG_TYPE_MAX + 1];
    size_t n = test_encodings(encs, RF_MSG_TYPE_MAX + 1);
    kprng rng;
    kprng_seed(&rng, 0x7261667421ULL);
    kbuf buf = KBUF_INIT, scratch = KBUF_INIT, scratch2 = KBUF_INIT, re = KBUF_INIT;
    int decoded = 0, refused = 0;
    for (int it = 0; it < 5000; it++) {
        const kbuf *src = &encs[kprng_below(&rng, n)];
        kbuf_clear(&buf);
        kbuf_append(&buf, src->data, src->len);
        int flips = 1 + (int)kprng_below(&rng, 4);
        for (int f = 0; f < flips; f++) {
            size_t at = (size_t)kprng_below(&rng, buf.len);
            /* Half the time near the front, where the structure is. */
            if (kprng_below(&rng, 2))
                at = (size_t)kprng_below(&rng, buf.len < 48 ? buf.len : 48);
            buf.data[at] ^= (char)(1 + kprng_below(&rng, 255));
        }
        if (kprng_below(&rng, 8) == 0)
            buf.len = (size_t)kprng_below(&rng, buf.len + 1);
        rf_msg d;
        unsigned char *copy;
        const char *why = decode_copy(&d, buf.data, buf.len, &scratch, &copy);
        if (why != NULL) {
            refused++;
        } else {
            decoded++;
            /* What decodes re-encodes to something that decodes the same. */
            kbuf_clear(&re);
            rf_msg_encode(&d, &re);
            rf_msg d2;
            unsigned char *copy2;
            cr_assert_null(decode_copy(&d2, re.data, re.len, &scratch2, &copy2));
            expect_msg_eq(&d, &d2);
            free(copy2);
        }
        free(copy);
    }
    /* Both outcomes happen (a flipped integer's value still decodes). */
    cr_assert_gt(decoded, 50);
    cr_assert_gt(refused, 1000);
    for (size_t i = 0; i < n; i++)
        kbuf_free(&encs[i]);
    kbuf_free(&buf);
    kbuf_free(&scratch);
    kbuf_free(&scratch2);
    kbuf_free(&re);
}

Test(raft_msg, random_bytes_never_crash)
{
    kprng rng;
    kprng_seed(&rng, 99);
    kbuf buf = KBUF_INIT, scratch = KBUF_INIT;
    for (int it = 0; it < 3000; it++) {
        kbuf_clear(&buf);
        size_t len = (size_t)kprng_below(&rng, 64);
        /* Start like a message so the reader gets past the header. */
        if (kprng_below(&rng, 2))
            kbuf_append(&buf, small_bytes, (size_t)kprng_below(&rng, sizeof small_bytes));
        for (size_t i = 0; i < len; i++)
            kbuf_putc(&buf, (char)kprng_below(&rng, 256));
        rf_msg d;
        unsigned char *copy;
        (void)decode_copy(&d, buf.data, buf.len, &scratch, &copy);
        free(copy);
    }
    kbuf_free(&buf);
    kbuf_free(&scratch);
}

Test(raft_msg, entry_counts_that_lie)
{
    /* Counts claiming more entries than the bytes could hold. */
    expect_splice(SMALL_ENTRIES_AT, 1, "\x91", 1, "too many entries");
    expect_splice(SMALL_ENTRIES_AT, 1, "\x9f", 1, "too many entries");
    expect_splice(SMALL_ENTRIES_AT, 1, "\xdc\xff\xff", 3, "too many entries");
    expect_splice(SMALL_ENTRIES_AT, 1, "\xdd\xff\xff\xff\xff", 5, "too many entries");
    /* Two entries there, three claimed (plus padding that is not one). */
    expect_splice(SMALL_ENTRIES_AT, 1,
                  "\x93\x94\x01\x01\x01\xc4\x00\x94\x02\x01\x01\xc4\x00\x00\x00\x00\x00\x00",
                  19, "bad type");
    /* Two claimed, one there. */
    expect_splice(SMALL_ENTRIES_AT, 1, "\x92\x94\x01\x01\x01\xc4\x00", 7, "too many entries");
    /* One claimed, its payload longer than what is left. */
    expect_splice(SMALL_ENTRIES_AT, 1, "\x91\x94\x01\x01\x01\xc4\x05\x61\x62", 9,
                  "entry length beyond the message");
    expect_splice(SMALL_ENTRIES_AT, 1, "\x91\x94\x01\x01\x01\xc6\xff\xff\xff\xff\x61\x62", 12,
                  "entry length beyond the message");
    /* The data's length likewise. */
    expect_splice(SMALL_DATA_AT, 2, "\xc5\xff\xff", 3, "data length beyond the message");
    expect_splice(SMALL_DATA_AT, 2, "\xc4\x02", 2, "data length beyond the message");

    /* More than RF_MSG_MAX_ENTRIES, every one there: refused before any
     * allocation; exactly the limit decodes. */
    kbuf b = KBUF_INIT, scratch = KBUF_INIT;
    for (uint32_t n = RF_MSG_MAX_ENTRIES; n <= RF_MSG_MAX_ENTRIES + 1; n++) {
        kbuf_clear(&b);
        kbuf_append(&b, small_bytes, SMALL_ENTRIES_AT);
        unsigned char h[5] = {0xdd, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
                              (unsigned char)(n >> 8), (unsigned char)n};
        kbuf_append(&b, h, 5);
        for (uint32_t i = 0; i < n; i++)
            kbuf_append(&b, "\x94\x01\x01\x01\xc4\x00", 6);
        rf_msg d;
        const char *why = rf_msg_decode(&d, b.data, b.len, &scratch);
        if (n == RF_MSG_MAX_ENTRIES) {
            cr_assert_null(why, "%s", why);
            cr_assert_eq(d.nentries, n);
        } else {
            cr_assert_str_eq(why, "too many entries");
            cr_assert_eq(scratch.len, 0);
        }
    }
    kbuf_free(&b);
    kbuf_free(&scratch);
}

Test(raft_msg, trailing_garbage_refused)
{
    kbuf b = KBUF_INIT;
    kbuf_append(&b, small_bytes, sizeof small_bytes);
    kbuf_putc(&b, 0);
    expect_decode(b.data, b.len, "trailing bytes");
    kbuf_clear(&b);
    rf_msg m = full_msg(RF_MSG_APPEND);
    rf_msg_encode(&m, &b);
    kbuf_append(&b, "\x90", 1);
    expect_decode(b.data, b.len, "trailing bytes");
    /* Two messages back to back are not one. */
    kbuf_clear(&b);
    kbuf_append(&b, small_bytes, sizeof small_bytes);
    kbuf_append(&b, small_bytes, sizeof small_bytes);
    expect_decode(b.data, b.len, "trailing bytes");
    kbuf_free(&b);
}

Test(raft_msg, message_types)
{
    expect_splice(SMALL_AT(F_TYPE), 1, "\x00", 1, "bad message type");
    expect_splice(SMALL_AT(F_TYPE), 1, "\x63", 1, "bad message type"); /* 99 */
    expect_splice(SMALL_AT(F_TYPE), 1, "\x0c", 1, "bad message type"); /* TYPE_MAX + 1 */
    expect_splice(SMALL_AT(F_TYPE), 1, "\xcd\x01\x01", 3, "bad message type");
    expect_splice(SMALL_AT(F_TYPE), 1, "\xff", 1, "bad type");
    expect_splice(SMALL_AT(F_TYPE), 1, "\x0b", 1, NULL);
    expect_splice(SMALL_AT(F_TYPE), 1, "\xcc\x05", 2, NULL); /* a wide form is still 5 */
    cr_assert_eq(RF_MSG_TYPE_MAX, 11);
}

Test(raft_msg, header_and_ids)
{
    expect_decode("", 0, "truncated");
    expect_decode("\x90", 1, "bad field count");
    expect_decode("\x9f", 1, "truncated"); /* 15 fields claimed, no bytes */
    expect_decode("\xc0", 1, "bad type");
    expect_splice(0, 3, "\xdc\x00\x18", 3, "bad field count");
    expect_splice(0, 3, "\xdc\x00\x1a", 3, "bad field count");
    expect_splice(0, 3, "\xdd\x00\x00\x00\x19", 5, NULL);
    expect_splice(SMALL_AT(F_VERSION), 1, "\x02", 1, "bad version");
    expect_splice(SMALL_AT(F_VERSION), 1, "\x00", 1, "bad version");
    expect_splice(SMALL_AT(F_FROM), 1, "\x00", 1, "node id 0");
    expect_splice(SMALL_AT(F_TO), 1, "\x00", 1, "node id 0");
    expect_splice(SMALL_AT(F_TO), 1, "\xcf\x00\x00\x00\x00\x00\x00\x00\x00", 9, "node id 0");
}

Test(raft_msg, field_types)
{
    /* Booleans are msgpack bools, not integers. */
    expect_splice(SMALL_AT(F_TRANSFER), 1, "\x01", 1, "bad type");
    expect_splice(SMALL_AT(F_REJECT), 1, "\x00", 1, "bad type");
    expect_splice(SMALL_AT(F_REJECT), 1, "\xc0", 1, "bad type");
    expect_splice(SMALL_DATA_AT - 1, 1, "\x01", 1, "bad type"); /* done */
    expect_splice(SMALL_AT(F_TRANSFER), 1, "\xc3", 1, NULL);
    /* Integers: every uint width; nothing else. */
    const char *widths[] = {"\x05", "\xcc\x05", "\xcd\x00\x05", "\xce\x00\x00\x00\x05",
                            "\xcf\x00\x00\x00\x00\x00\x00\x00\x05"};
    size_t wlen[] = {1, 2, 3, 5, 9};
    for (size_t i = 0; i < 5; i++) {
        kbuf b = KBUF_INIT, scratch = KBUF_INIT;
        splice(&b, SMALL_AT(F_TERM), 1, widths[i], wlen[i]);
        rf_msg d;
        cr_assert_null(rf_msg_decode(&d, b.data, b.len, &scratch));
        cr_assert_eq(d.term, 5);
        kbuf_free(&b);
        kbuf_free(&scratch);
    }
    expect_splice(SMALL_AT(F_TERM), 1, "\xff", 1, "bad type");         /* -1 */
    expect_splice(SMALL_AT(F_TERM), 1, "\xd0\x05", 2, "bad type");     /* int8 */
    expect_splice(SMALL_AT(F_TERM), 1, "\xa1\x35", 2, "bad type");     /* "5" */
    expect_splice(SMALL_AT(F_TERM), 1, "\xca\x00\x00\x00\x00", 5, "bad type");
    {
        /* Cut inside a wide integer. */
        kbuf b = KBUF_INIT;
        kbuf_append(&b, small_bytes, SMALL_AT(F_CTX));
        kbuf_append(&b, "\xcf\x00\x00", 3);
        expect_decode(b.data, b.len, "truncated");
        kbuf_free(&b);
    }
    /* sent_ms: any int form. */
    struct {
        const char *bytes;
        size_t len;
        int64_t v;
    } ints[] = {
        {"\xff", 1, -1},
        {"\xe0", 1, -32},
        {"\xd0\x80", 2, -128},
        {"\xd0\x7f", 2, 127},
        {"\xd1\x80\x00", 3, -32768},
        {"\xd2\x80\x00\x00\x00", 5, INT32_MIN},
        {"\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9, INT64_MIN},
        {"\xd3\xff\xff\xff\xff\xff\xff\xff\xfe", 9, -2},
        {"\xd3\x7f\xff\xff\xff\xff\xff\xff\xff", 9, INT64_MAX},
        {"\xcf\x7f\xff\xff\xff\xff\xff\xff\xff", 9, INT64_MAX},
        {"\xce\xff\xff\xff\xff", 5, 4294967295LL},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        kbuf b = KBUF_INIT, scratch = KBUF_INIT;
        splice(&b, SMALL_AT(F_SENT_MS), 1, ints[i].bytes, ints[i].len);
        rf_msg d;
        const char *why = rf_msg_decode(&d, b.data, b.len, &scratch);
        cr_assert_null(why, "int %zu: %s", i, why);
        cr_assert_eq(d.sent_ms, ints[i].v, "int %zu", i);
        kbuf_free(&b);
        kbuf_free(&scratch);
    }
    expect_splice(SMALL_AT(F_SENT_MS), 1, "\xcf\x80\x00\x00\x00\x00\x00\x00\x00", 9,
                  "integer out of range");
    expect_splice(SMALL_AT(F_SENT_MS), 1, "\xc0", 1, "bad type");
    /* data is a bin, not a str. */
    expect_splice(SMALL_DATA_AT, 2, "\xa0", 1, "bad type");
    expect_splice(SMALL_DATA_AT, 2, "\xc5\x00\x00", 3, NULL);
}

Test(raft_msg, entries)
{
    /* Entry types 1..3 only; entries are 4-arrays of uint, uint, uint, bin. */
    expect_splice(SMALL_ENTRIES_AT, 1, "\x91\x94\x01\x01\x00\xc4\x00", 7, "bad entry type");
    expect_splice(SMALL_ENTRIES_AT, 1, "\x91\x94\x01\x01\x04\xc4\x00", 7, "bad entry type");
    expect_splice(SMALL_ENTRIES_AT, 1, "\x91\x94\x01\x01\xcc\xff\xc4\x00", 8, "bad entry type");
    expect_splice(SMALL_ENTRIES_AT, 1, "\x91\x94\x01\x01\x03\xc4\x00", 7, NULL);
    expect_splice(SMALL_ENTRIES_AT, 1, "\x91\x93\x01\x01\x01\xc4\x00", 7, "bad entry");
    expect_splice(SMALL_ENTRIES_AT, 1, "\x91\x95\x01\x01\x01\xc4\x00\x00", 8, "bad entry");
    expect_splice(SMALL_ENTRIES_AT, 1, "\x91\xc0\x01\x01\x01\xc4\x00", 7, "bad type");
    expect_splice(SMALL_ENTRIES_AT, 1, "\x91\x94\x01\x01\x01\xa0\x00", 7, "bad type");
    expect_splice(SMALL_ENTRIES_AT, 1, "\x91\x94\xc2\x01\x01\xc4\x00", 7, "bad type");
    expect_splice(SMALL_ENTRIES_AT, 1, "\xc0", 1, "bad type");
}

Test(raft_msg, scratch_reuse_and_size)
{
    kbuf enc_a = KBUF_INIT, enc_b = KBUF_INIT, scratch = KBUF_INIT;
    rf_msg a = full_msg(RF_MSG_APPEND), b = small_msg();
    rf_msg_encode(&a, &enc_a);
    rf_msg_encode(&b, &enc_b);
    rf_msg d;
    cr_assert_null(rf_msg_decode(&d, enc_a.data, enc_a.len, &scratch));
    cr_assert_eq(d.nentries, 5);
    cr_assert_eq(scratch.len, 5 * sizeof(rf_entry));
    cr_assert_eq((const char *)d.entries, scratch.data);
    cr_assert_null(rf_msg_decode(&d, enc_b.data, enc_b.len, &scratch));
    cr_assert_eq(d.nentries, 0);
    cr_assert_null(d.entries);
    cr_assert_eq(scratch.len, 0);
    cr_assert_null(rf_msg_decode(&d, enc_a.data, enc_a.len, &scratch));
    expect_msg_eq(&a, &d);
    /* A refusal clears the scratch too. */
    cr_assert_not_null(rf_msg_decode(&d, enc_a.data, enc_a.len - 1, &scratch));
    cr_assert_eq(scratch.len, 0);

    /* 1000 empty entries: the scratch holds exactly their array. */
    rf_entry *many = calloc(1000, sizeof *many);
    for (uint32_t i = 0; i < 1000; i++)
        many[i] = (rf_entry){i + 1, 1, RF_ENTRY_NORMAL, 0, NULL};
    a = small_msg();
    a.type = RF_MSG_APPEND;
    a.entries = many;
    a.nentries = 1000;
    kbuf_clear(&enc_a);
    rf_msg_encode(&a, &enc_a);
    cr_assert_null(rf_msg_decode(&d, enc_a.data, enc_a.len, &scratch));
    cr_assert_eq(scratch.len, 1000 * sizeof(rf_entry));
    expect_msg_eq(&a, &d);
    free(many);
    kbuf_free(&enc_a);
    kbuf_free(&enc_b);
    kbuf_free(&scratch);
}
