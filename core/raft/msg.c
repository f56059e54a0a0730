/* Raft messages on the wire: msg.h has the format and the contract.
 *
 * Written with msgpack-c's packer, read with the small reader below (the
 * idea of core/node/log.c's): every read checks the bounds, the first
 * error sticks and says why, nothing is allocated but the entries array,
 * whose size a count can only claim within the bytes that are there. */
#include "core/raft/msg.h"

#include <assert.h>
#include <msgpack.h>
#include <stdint.h>
#include <string.h>

#define MSG_FIELDS 25
/* The least an entry can take: [index, term, type, bin8 ""] is a fixarray
 * byte, three one-byte ints and two bytes of bin header. */
#define ENTRY_MIN_BYTES 6

/* ------------------------------------------------------------------------ */
/* Encoding */

static void pack_bool(msgpack_packer *pk, bool b)
{
    if (b)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

static void pack_bin(msgpack_packer *pk, const void *p, uint32_t len)
{
    msgpack_pack_bin(pk, len);
    if (len)
        msgpack_pack_bin_body(pk, p, len);
}

static void pack_ids(msgpack_packer *pk, const rf_id *ids, uint32_t n)
{
    assert(n <= RF_MAX_MEMBERS);
    msgpack_pack_array(pk, n);
    for (uint32_t i = 0; i < n; i++)
        msgpack_pack_uint64(pk, ids[i]);
}

void rf_msg_encode(const rf_msg *m, kbuf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, kbuf_write);
    msgpack_pack_array(&pk, MSG_FIELDS);
    msgpack_pack_uint8(&pk, RF_MSG_VERSION);
    msgpack_pack_uint8(&pk, m->type);
    msgpack_pack_uint64(&pk, m->from);
    msgpack_pack_uint64(&pk, m->to);
    msgpack_pack_uint64(&pk, m->term);
    msgpack_pack_uint64(&pk, m->last_index);
    msgpack_pack_uint64(&pk, m->last_term);
    pack_bool(&pk, m->transfer);
    pack_bool(&pk, m->reject);
    msgpack_pack_uint64(&pk, m->prev_index);
    msgpack_pack_uint64(&pk, m->prev_term);
    msgpack_pack_uint64(&pk, m->commit);
    msgpack_pack_uint64(&pk, m->index);
    msgpack_pack_uint64(&pk, m->hint_index);
    msgpack_pack_uint64(&pk, m->hint_term);
    msgpack_pack_uint64(&pk, m->ctx);
    msgpack_pack_int64(&pk, m->sent_ms);
    msgpack_pack_uint64(&pk, m->snap_index);
    msgpack_pack_uint64(&pk, m->snap_term);
    msgpack_pack_array(&pk, 2);
    pack_ids(&pk, m->snap_config.voters, m->snap_config.nvoters);
    pack_ids(&pk, m->snap_config.learners, m->snap_config.nlearners);
    msgpack_pack_uint64(&pk, m->offset);
    msgpack_pack_uint64(&pk, m->total);
    pack_bool(&pk, m->done);
    pack_bin(&pk, m->data, m->len);
    msgpack_pack_array(&pk, m->nentries);
    for (uint32_t i = 0; i < m->nentries; i++) {
        const rf_entry *e = &m->entries[i];
        msgpack_pack_array(&pk, 4);
        msgpack_pack_uint64(&pk, e->index);
        msgpack_pack_uint64(&pk, e->term);
        msgpack_pack_uint8(&pk, e->type);
        pack_bin(&pk, e->data, e->len);
    }
}

/* ------------------------------------------------------------------------ */
/* A bounded reader: err is the first reason the bytes were refused. */

typedef struct rd {
    const unsigned char *p, *end;
    const char *err;
} rd;

static void rd_fail(rd *r, const char *why)
{
    if (!r->err)
        r->err = why;
}

static size_t rd_left(const rd *r) { return (size_t)(r->end - r->p); }

/* n bytes (1..8), big-endian. */
static uint64_t rd_take(rd *r, size_t n)
{
    if (r->err)
        return 0;
    if (rd_left(r) < n) {
        rd_fail(r, "truncated");
        return 0;
    }
    uint64_t v = 0;
    for (size_t k = 0; k < n; k++)
        v = (v << 8) | r->p[k];
    r->p += n;
    return v;
}

static uint64_t rd_uint(rd *r)
{
    uint64_t t = rd_take(r, 1);
    if (r->err)
        return 0;
    if (t < 0x80)
        return t;
    switch (t) {
    case 0xcc: return rd_take(r, 1);
    case 0xcd: return rd_take(r, 2);
    case 0xce: return rd_take(r, 4);
    case 0xcf: return rd_take(r, 8);
    }
    rd_fail(r, "bad type");
    return 0;
}

/* The low `bits` (< 64) bits of v as a two's complement number. */
static int64_t sign_extend(uint64_t v, int bits)
{
    uint64_t m = 1ULL << (bits - 1);
    return (int64_t)(v ^ m) - (int64_t)m;
}

static int64_t rd_int(rd *r)
{
    uint64_t t = rd_take(r, 1);
    if (r->err)
        return 0;
    if (t < 0x80)
        return (int64_t)t;
    if (t >= 0xe0)
        return (int64_t)t - 0x100;
    uint64_t u;
    switch (t) {
    case 0xcc: return (int64_t)rd_take(r, 1);
    case 0xcd: return (int64_t)rd_take(r, 2);
    case 0xce: return (int64_t)rd_take(r, 4);
    case 0xcf:
        u = rd_take(r, 8);
        if (!r->err && u > (uint64_t)INT64_MAX)
            rd_fail(r, "integer out of range");
        return r->err ? 0 : (int64_t)u;
    case 0xd0: return sign_extend(rd_take(r, 1), 8);
    case 0xd1: return sign_extend(rd_take(r, 2), 16);
    case 0xd2: return sign_extend(rd_take(r, 4), 32);
    case 0xd3:
        u = rd_take(r, 8);
        /* Two's complement without an implementation-defined conversion. */
        return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)~u - 1;
    }
    rd_fail(r, "bad type");
    return 0;
}

static bool rd_bool(rd *r)
{
    uint64_t t = rd_take(r, 1);
    if (r->err)
        return false;
    if (t != 0xc2 && t != 0xc3)
        rd_fail(r, "bad type");
    return t == 0xc3;
}

/* An array's count, no more than what the bytes left could hold at
 * min_bytes an element. */
static uint32_t rd_array(rd *r, size_t min_bytes, const char *too_many)
{
    uint64_t t = rd_take(r, 1);
    uint64_t n = 0;
    if (r->err)
        return 0;
    if (t >= 0x90 && t <= 0x9f)
        n = t & 0x0f;
    else if (t == 0xdc)
        n = rd_take(r, 2);
    else if (t == 0xdd)
        n = rd_take(r, 4);
    else
        rd_fail(r, "bad type");
    if (!r->err && n > rd_left(r) / min_bytes)
        rd_fail(r, too_many);
    return r->err ? 0 : (uint32_t)n;
}

/* A bin's bytes (pointing into the buffer; never NULL); beyond: the reason
 * when its length runs past the end. */
static const unsigned char *rd_bin(rd *r, uint32_t *len, const char *beyond)
{
    *len = 0;
    uint64_t t = rd_take(r, 1);
    uint64_t n = 0;
    if (r->err)
        return NULL;
    if (t == 0xc4)
        n = rd_take(r, 1);
    else if (t == 0xc5)
        n = rd_take(r, 2);
    else if (t == 0xc6)
        n = rd_take(r, 4);
    else
        rd_fail(r, "bad type");
    if (r->err)
        return NULL;
    if (n > rd_left(r)) {
        rd_fail(r, beyond);
        return NULL;
    }
    const unsigned char *p = r->p;
    r->p += n;
    *len = (uint32_t)n;
    return p;
}

/* ------------------------------------------------------------------------ */
/* Decoding */

/* A list of member ids: at most RF_MAX_MEMBERS, non-zero, ascending. */
static uint32_t rd_ids(rd *r, rf_id *ids)
{
    uint32_t n = rd_array(r, 1, "truncated");
    if (!r->err && n > RF_MAX_MEMBERS)
        rd_fail(r, "too many members");
    for (uint32_t i = 0; i < n && !r->err; i++) {
        ids[i] = rd_uint(r);
        if (r->err)
            break;
        if (ids[i] == 0)
            rd_fail(r, "member id 0");
        else if (i > 0 && ids[i] <= ids[i - 1])
            rd_fail(r, "member ids not ascending");
    }
    return r->err ? 0 : n;
}

static void rd_config(rd *r, rf_config *c)
{
    if (rd_array(r, 1, "truncated") != 2) {
        rd_fail(r, "bad config");
        return;
    }
    c->nvoters = rd_ids(r, c->voters);
    c->nlearners = rd_ids(r, c->learners);
    if (r->err)
        return;
    if (c->nvoters + c->nlearners > RF_MAX_MEMBERS) {
        rd_fail(r, "too many members");
        return;
    }
    for (uint32_t i = 0; i < c->nlearners; i++)
        for (uint32_t j = 0; j < c->nvoters; j++)
            if (c->learners[i] == c->voters[j]) {
                rd_fail(r, "member both voter and learner");
                return;
            }
}

static void rd_entries(rd *r, rf_msg *m, kbuf *scratch)
{
    uint32_t n = rd_array(r, ENTRY_MIN_BYTES, "too many entries");
    if (!r->err && n > RF_MSG_MAX_ENTRIES)
        rd_fail(r, "too many entries");
    if (r->err || n == 0)
        return;
    /* n <= bytes left / 6, so this is proportional to the input. */
    rf_entry *es = (rf_entry *)kbuf_reserve(scratch, (size_t)n * sizeof(rf_entry));
    for (uint32_t i = 0; i < n; i++) {
        rf_entry *e = &es[i];
        if (rd_array(r, 1, "truncated") != 4) {
            rd_fail(r, "bad entry");
            return;
        }
        e->index = rd_uint(r);
        e->term = rd_uint(r);
        uint64_t type = rd_uint(r);
        if (!r->err && (type < RF_ENTRY_NORMAL || type > RF_ENTRY_CONFIG))
            rd_fail(r, "bad entry type");
        e->type = (uint8_t)type;
        /* The const is cast away: see msg.h (the receiver must not write). */
        e->data = (unsigned char *)(uintptr_t)rd_bin(r, &e->len,
                                                     "entry length beyond the message");
        if (r->err)
            return;
    }
    scratch->len = (size_t)n * sizeof(rf_entry);
    m->entries = es;
    m->nentries = n;
}

const char *rf_msg_decode(rf_msg *m, const void *buf, size_t len, kbuf *scratch)
{
    memset(m, 0, sizeof *m);
    kbuf_clear(scratch);
    if (len == 0)
        return "truncated";
    rd r = {buf, (const unsigned char *)buf + len, NULL};

    uint32_t nfields = rd_array(&r, 1, "truncated");
    if (!r.err && nfields != MSG_FIELDS)
        rd_fail(&r, "bad field count");
    uint64_t version = rd_uint(&r);
    if (!r.err && version != RF_MSG_VERSION)
        rd_fail(&r, "bad version");
    uint64_t type = rd_uint(&r);
    if (!r.err && (type < 1 || type > RF_MSG_TYPE_MAX))
        rd_fail(&r, "bad message type");
    m->type = (uint8_t)type;
    m->from = rd_uint(&r);
    m->to = rd_uint(&r);
    if (!r.err && (m->from == 0 || m->to == 0))
        rd_fail(&r, "node id 0");
    m->term = rd_uint(&r);
    m->last_index = rd_uint(&r);
    m->last_term = rd_uint(&r);
    m->transfer = rd_bool(&r);
    m->reject = rd_bool(&r);
    m->prev_index = rd_uint(&r);
    m->prev_term = rd_uint(&r);
    m->commit = rd_uint(&r);
    m->index = rd_uint(&r);
    m->hint_index = rd_uint(&r);
    m->hint_term = rd_uint(&r);
    m->ctx = rd_uint(&r);
    m->sent_ms = rd_int(&r);
    m->snap_index = rd_uint(&r);
    m->snap_term = rd_uint(&r);
    rd_config(&r, &m->snap_config);
    m->offset = rd_uint(&r);
    m->total = rd_uint(&r);
    m->done = rd_bool(&r);
    m->data = rd_bin(&r, &m->len, "data length beyond the message");
    rd_entries(&r, m, scratch);
    if (!r.err && r.p != r.end)
        rd_fail(&r, "trailing bytes");
    if (r.err) {
        memset(m, 0, sizeof *m);
        kbuf_clear(scratch);
        return r.err;
    }
    return NULL;
}

int rf_msg_peek_type(const void *buf, size_t len)
{
    const unsigned char *d = buf;
    size_t p;
    if (len < 3)
        return -1;
    if (d[0] >= 0x90 && d[0] <= 0x9f)
        p = 1;
    else if (d[0] == 0xdc)
        p = 3;
    else if (d[0] == 0xdd)
        p = 5;
    else
        return -1;
    return p + 1 < len && d[p + 1] < 0x80 ? d[p + 1] : -1;
}
