/* Raft messages on the wire: msg.h has the format and the contract.
 *
 * Written with msgpack-c's packer, read with the small reader below (the
 * idea of core/node/log.c's): every read checks the bounds, the first
 * error sticks and says why, nothing is allocated but the entries array,
 * whose size a count can only claim within the bytes that are there. */
#include "core/raft/msg.h"
#include "core/util/mpread.h"

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
/* Decoding */

/* A list of member ids: at most RF_MAX_MEMBERS, non-zero, ascending. */
static uint32_t rd_ids(mp_reader *r, rf_id *ids)
{
    uint32_t n = mpr_array(r, 1, "truncated");
    if (!r->err && n > RF_MAX_MEMBERS)
        mpr_fail(r, "too many members");
    for (uint32_t i = 0; i < n && !r->err; i++) {
        ids[i] = mpr_uint(r);
        if (r->err)
            break;
        if (ids[i] == 0)
            mpr_fail(r, "member id 0");
        else if (i > 0 && ids[i] <= ids[i - 1])
            mpr_fail(r, "member ids not ascending");
    }
    return r->err ? 0 : n;
}

static void rd_config(mp_reader *r, rf_config *c)
{
    if (mpr_array(r, 1, "truncated") != 2) {
        mpr_fail(r, "bad config");
        return;
    }
    c->nvoters = rd_ids(r, c->voters);
    c->nlearners = rd_ids(r, c->learners);
    if (r->err)
        return;
    if (c->nvoters + c->nlearners > RF_MAX_MEMBERS) {
        mpr_fail(r, "too many members");
        return;
    }
    for (uint32_t i = 0; i < c->nlearners; i++)
        for (uint32_t j = 0; j < c->nvoters; j++)
            if (c->learners[i] == c->voters[j]) {
                mpr_fail(r, "member both voter and learner");
                return;
            }
}

static void rd_entries(mp_reader *r, rf_msg *m, kbuf *scratch)
{
    uint32_t n = mpr_array(r, ENTRY_MIN_BYTES, "too many entries");
    if (!r->err && n > RF_MSG_MAX_ENTRIES)
        mpr_fail(r, "too many entries");
    if (r->err || n == 0)
        return;
    /* n <= bytes left / 6, so this is proportional to the input. */
    rf_entry *es = (rf_entry *)kbuf_reserve(scratch, (size_t)n * sizeof(rf_entry));
    for (uint32_t i = 0; i < n; i++) {
        rf_entry *e = &es[i];
        if (mpr_array(r, 1, "truncated") != 4) {
            mpr_fail(r, "bad entry");
            return;
        }
        e->index = mpr_uint(r);
        e->term = mpr_uint(r);
        uint64_t type = mpr_uint(r);
        if (!r->err && (type < RF_ENTRY_NORMAL || type > RF_ENTRY_CONFIG))
            mpr_fail(r, "bad entry type");
        e->type = (uint8_t)type;
        /* The const is cast away: see msg.h (the receiver must not write). */
        e->data = (unsigned char *)(uintptr_t)mpr_bin(r, &e->len,
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
    mp_reader r = {buf, (const unsigned char *)buf + len, NULL};

    uint32_t nfields = mpr_array(&r, 1, "truncated");
    if (!r.err && nfields != MSG_FIELDS)
        mpr_fail(&r, "bad field count");
    uint64_t version = mpr_uint(&r);
    if (!r.err && version != RF_MSG_VERSION)
        mpr_fail(&r, "bad version");
    uint64_t type = mpr_uint(&r);
    if (!r.err && (type < 1 || type > RF_MSG_TYPE_MAX))
        mpr_fail(&r, "bad message type");
    m->type = (uint8_t)type;
    m->from = mpr_uint(&r);
    m->to = mpr_uint(&r);
    if (!r.err && (m->from == 0 || m->to == 0))
        mpr_fail(&r, "node id 0");
    m->term = mpr_uint(&r);
    m->last_index = mpr_uint(&r);
    m->last_term = mpr_uint(&r);
    m->transfer = mpr_bool(&r);
    m->reject = mpr_bool(&r);
    m->prev_index = mpr_uint(&r);
    m->prev_term = mpr_uint(&r);
    m->commit = mpr_uint(&r);
    m->index = mpr_uint(&r);
    m->hint_index = mpr_uint(&r);
    m->hint_term = mpr_uint(&r);
    m->ctx = mpr_uint(&r);
    m->sent_ms = mpr_int(&r);
    m->snap_index = mpr_uint(&r);
    m->snap_term = mpr_uint(&r);
    rd_config(&r, &m->snap_config);
    m->offset = mpr_uint(&r);
    m->total = mpr_uint(&r);
    m->done = mpr_bool(&r);
    m->data = mpr_bin(&r, &m->len, "data length beyond the message");
    rd_entries(&r, m, scratch);
    if (!r.err && r.p != r.end)
        mpr_fail(&r, "trailing bytes");
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
    /* Version first: other messages on the same channel (forwarded
     * commands, the cluster service) start with other numbers. */
    if (p + 1 >= len || d[p] != RF_MSG_VERSION)
        return -1;
    return d[p + 1] < 0x80 ? d[p + 1] : -1;
}
