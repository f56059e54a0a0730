/* wal: see wal.h and docs/decisions/0006-wal-format.md. */
#include "core/wal/wal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "core/wal/le.h"

/* ------------------------------------------------------------------------ */
/* Names and texts */

static const char *const reason_text[] = {
#define WAL_REASON_TEXT(name, text) text,
    WAL_REASONS(WAL_REASON_TEXT)
#undef WAL_REASON_TEXT
};

static const char *const reason_name[] = {
#define WAL_REASON_NAME(name, text) #name,
    WAL_REASONS(WAL_REASON_NAME)
#undef WAL_REASON_NAME
};

const char *wal_reason_text(wal_reason r)
{
    return (unsigned)r < WAL_R__COUNT ? reason_text[r] : "?";
}

const char *wal_reason_name(wal_reason r)
{
    return (unsigned)r < WAL_R__COUNT ? reason_name[r] : "?";
}

bool wal_reason_is_framing(wal_reason r)
{
    return r == WAL_R_REC_SHORT || r == WAL_R_REC_ZERO || r == WAL_R_REC_BAD_LENGTH ||
           r == WAL_R_REC_BAD_CHECKSUM;
}

const char *wal_type_name(unsigned type)
{
    switch (type) {
    case WAL_ENTRY_NORMAL: return "ENTRY_NORMAL";
    case WAL_ENTRY_NOOP: return "ENTRY_NOOP";
    case WAL_ENTRY_CONFIG: return "ENTRY_CONFIG";
    case WAL_HARD_STATE: return "HARD_STATE";
    case WAL_SNAPSHOT_MARK: return "SNAPSHOT_MARK";
    default: return "?";
    }
}

const char *wal_status_name(wal_status s)
{
    switch (s) {
    case WAL_OK: return "OK";
    case WAL_TORN_TAIL: return "TORN_TAIL";
    case WAL_CORRUPT: return "CORRUPT";
    }
    return "?";
}

/* ------------------------------------------------------------------------ */
/* Records */

uint64_t wal_record_size(size_t payload_len)
{
    if (payload_len > WAL_PAYLOAD_MAX)
        return 0;
    return (uint64_t)payload_len + WAL_REC_MIN;
}

size_t wal_record_encode(kbuf *out, uint64_t seed, const wal_record *r)
{
    assert(r->payload_len <= WAL_PAYLOAD_MAX);
    assert(r->payload_len == 0 || r->payload != NULL);
    size_t total = r->payload_len + WAL_REC_MIN;
    size_t at = out->len;
    unsigned char *p = (unsigned char *)kbuf_reserve(out, total);
    le_put32(p, (uint32_t)total);
    p[4] = r->type;
    p[5] = r->flags;
    le_put16(p + 6, 0);
    le_put32(p + 8, r->group);
    le_put64(p + 12, r->term);
    le_put64(p + 20, r->index);
    if (r->payload_len)
        memcpy(p + WAL_REC_HEADER, r->payload, r->payload_len);
    uint64_t sum = XXH3_64bits_withSeed(p, total - WAL_REC_TRAILER, seed);
    le_put64(p + total - WAL_REC_TRAILER, sum);
    out->len = at + total;
    return total;
}

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

wal_reason wal_record_decode(const void *buf, size_t len, uint64_t seed, wal_record *r,
                             size_t *rec_len)
{
    const unsigned char *p = buf;
    if (len < 4)
        return len > 0 && all_zero(p, len) ? WAL_R_REC_ZERO : WAL_R_REC_SHORT;
    uint32_t total = le_get32(p);
    if (total == 0)
        return WAL_R_REC_ZERO;
    if (total < WAL_REC_MIN || total > WAL_REC_MAX)
        return WAL_R_REC_BAD_LENGTH;
    if (total > len)
        return WAL_R_REC_SHORT;
    uint64_t sum = XXH3_64bits_withSeed(p, total - WAL_REC_TRAILER, seed);
    if (sum != le_get64(p + total - WAL_REC_TRAILER))
        return WAL_R_REC_BAD_CHECKSUM;
    memset(r, 0, sizeof *r);
    r->type = p[4];
    r->flags = p[5];
    r->group = le_get32(p + 8);
    r->term = le_get64(p + 12);
    r->index = le_get64(p + 20);
    r->payload = (const char *)p + WAL_REC_HEADER;
    r->payload_len = total - WAL_REC_MIN;
    *rec_len = total;
    if (r->type < WAL_TYPE_MIN || r->type > WAL_TYPE_MAX)
        return WAL_R_REC_BAD_TYPE;
    if (r->flags != 0)
        return WAL_R_REC_BAD_FLAGS;
    if (le_get16(p + 6) != 0)
        return WAL_R_REC_BAD_RESERVED;
    return WAL_R_OK;
}

/* ------------------------------------------------------------------------ */
/* Segment headers and names */

#define SEG_CHECKED (WAL_SEG_HEADER - 8u) /* bytes the header checksum covers */

void wal_segment_header_encode(kbuf *out, const wal_segment_header *h)
{
    unsigned char *p = (unsigned char *)kbuf_reserve(out, WAL_SEG_HEADER);
    memcpy(p, WAL_SEG_MAGIC, 8);
    le_put16(p + 8, WAL_VERSION);
    le_put16(p + 10, h->flags);
    le_put32(p + 12, h->group);
    le_put64(p + 16, h->seq);
    le_put64(p + 24, h->first_index);
    le_put64(p + 32, h->prev_term);
    le_put64(p + 40, h->salt);
    le_put64(p + 48, XXH3_64bits(p, SEG_CHECKED));
    out->len += WAL_SEG_HEADER;
}

wal_reason wal_segment_header_decode(const void *buf, size_t len, wal_segment_header *h)
{
    const unsigned char *p = buf;
    if (len < WAL_SEG_HEADER)
        return WAL_R_SEG_SHORT;
    if (all_zero(p, WAL_SEG_HEADER))
        return WAL_R_SEG_ZERO;
    if (memcmp(p, WAL_SEG_MAGIC, 8) != 0)
        return WAL_R_SEG_BAD_MAGIC;
    if (XXH3_64bits(p, SEG_CHECKED) != le_get64(p + 48))
        return WAL_R_SEG_BAD_CHECKSUM;
    if (le_get16(p + 8) != WAL_VERSION)
        return WAL_R_SEG_BAD_VERSION;
    h->flags = le_get16(p + 10);
    h->group = le_get32(p + 12);
    h->seq = le_get64(p + 16);
    h->first_index = le_get64(p + 24);
    h->prev_term = le_get64(p + 32);
    h->salt = le_get64(p + 40);
    if (h->seq == 0 || h->first_index == 0 || h->first_index > WAL_INDEX_MAX ||
        (h->first_index == 1 && h->prev_term != 0) || (h->flags & ~WAL_SEG_MARK) ||
        ((h->flags & WAL_SEG_MARK) && (h->first_index == 1 || h->prev_term == 0)))
        return WAL_R_SEG_BAD_FIELD;
    return WAL_R_OK;
}

void wal_segment_name(char out[WAL_NAME_SIZE], uint64_t seq, uint64_t first_index)
{
    snprintf(out, WAL_NAME_SIZE, "%020llu-%020llu.wal", (unsigned long long)seq,
             (unsigned long long)first_index);
}

bool wal_parse_digits20(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool wal_segment_name_parse(const char *name, uint64_t *seq, uint64_t *first_index)
{
    if (strlen(name) != WAL_NAME_LEN || name[20] != '-' || strcmp(name + 41, ".wal") != 0)
        return false;
    return wal_parse_digits20(name, seq) && wal_parse_digits20(name + 21, first_index);
}

uint64_t wal_segment_salt(uint64_t salt_seed, uint32_t group, uint64_t seq, uint64_t first_index)
{
    unsigned char b[20];
    le_put32(b, group);
    le_put64(b + 4, seq);
    le_put64(b + 12, first_index);
    return XXH3_64bits_withSeed(b, sizeof b, salt_seed);
}

/* ------------------------------------------------------------------------ */
/* The log */

typedef struct wal_term_run {
    uint64_t start; /* first index of the run */
    uint64_t term;
} wal_term_run;

static wal_term_run *runs_of(const wal_log *l, size_t *n)
{
    *n = l->runs.len / sizeof(wal_term_run);
    return (wal_term_run *)l->runs.data;
}

void wal_log_init(wal_log *l, uint32_t group, uint64_t first_index, uint64_t prev_term)
{
    assert(first_index >= 1 && first_index <= WAL_INDEX_MAX);
    memset(l, 0, sizeof *l);
    l->group = group;
    l->first = first_index;
    l->base_term = prev_term;
    l->last = first_index - 1;
    kbuf_init(&l->runs);
}

void wal_log_free(wal_log *l)
{
    kbuf_free(&l->runs);
}

bool wal_log_term_at(const wal_log *l, uint64_t index, uint64_t *term)
{
    if (index == l->first - 1) {
        *term = l->base_term;
        return true;
    }
    if (index < l->first || index > l->last)
        return false;
    size_t n;
    const wal_term_run *runs = runs_of(l, &n);
    assert(n > 0);
    /* The last run whose start is <= index. */
    size_t lo = 0, hi = n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (runs[mid].start <= index)
            lo = mid;
        else
            hi = mid;
    }
    *term = runs[lo].term;
    return true;
}

uint64_t wal_log_last_term(const wal_log *l)
{
    uint64_t t = 0;
    bool ok = wal_log_term_at(l, l->last, &t);
    assert(ok);
    (void)ok;
    return t;
}

/* Drops the terms of entries >= index (first <= index <= last + 1). */
static void runs_truncate(wal_log *l, uint64_t index)
{
    size_t n;
    const wal_term_run *runs = runs_of(l, &n);
    while (n > 0 && runs[n - 1].start >= index)
        n--;
    l->runs.len = n * sizeof(wal_term_run);
    l->last = index - 1;
}

static void runs_append(wal_log *l, uint64_t index, uint64_t term)
{
    assert(index == l->last + 1);
    size_t n;
    const wal_term_run *runs = runs_of(l, &n);
    if (n == 0 || runs[n - 1].term != term) {
        wal_term_run r = {index, term};
        kbuf_append(&l->runs, &r, sizeof r);
    }
    l->last = index;
}

/* Drops the terms of entries <= index (first - 1 <= index <= last). */
static void runs_compact(wal_log *l, uint64_t index, uint64_t term)
{
    size_t n;
    wal_term_run *runs = runs_of(l, &n);
    size_t keep_from = n; /* first run to keep */
    if (index < l->last) {
        /* The run holding index + 1 becomes the first, starting there. */
        keep_from = 0;
        while (keep_from + 1 < n && runs[keep_from + 1].start <= index + 1)
            keep_from++;
        runs[keep_from].start = index + 1;
    }
    size_t left = n - keep_from;
    if (left && keep_from)
        memmove(runs, runs + keep_from, left * sizeof *runs);
    l->runs.len = left * sizeof *runs;
    l->first = index + 1;
    l->base_term = term;
}

/* Checks r against the rules of wal.h; fills *eff. */
static wal_reason log_check(const wal_log *l, const wal_record *r, wal_effect *eff)
{
    memset(eff, 0, sizeof *eff);
    if (r->group != l->group)
        return WAL_R_REC_GROUP;
    if (r->type < WAL_TYPE_MIN || r->type > WAL_TYPE_MAX)
        return WAL_R_REC_BAD_TYPE;
    if (r->flags != 0)
        return WAL_R_REC_BAD_FLAGS;
    uint64_t base = l->first - 1;
    switch (r->type) {
    case WAL_ENTRY_NORMAL:
    case WAL_ENTRY_NOOP:
    case WAL_ENTRY_CONFIG: {
        if (r->index == 0)
            return WAL_R_IDX_ZERO;
        if (r->term == 0)
            return WAL_R_TERM_ZERO;
        if (r->index < l->first)
            return WAL_R_IDX_BEFORE_LOG;
        if (r->index - 1 > l->last)
            return WAL_R_IDX_GAP;
        uint64_t prev = 0;
        bool ok = wal_log_term_at(l, r->index - 1, &prev);
        assert(ok);
        (void)ok;
        if (r->term < prev)
            return WAL_R_TERM_REGRESSION;
        if (!l->has_hard_state || r->term > l->hs_term)
            return WAL_R_TERM_ABOVE_HARD_STATE;
        if (r->index <= l->last)
            eff->drop_from = r->index;
        return WAL_R_OK;
    }
    case WAL_HARD_STATE:
        if (l->has_hard_state) {
            if (r->term < l->hs_term)
                return WAL_R_HS_TERM_REGRESSION;
            if (r->term == l->hs_term && l->hs_vote != 0 && r->vote != l->hs_vote)
                return WAL_R_HS_VOTE_CHANGED;
        }
        return WAL_R_OK;
    case WAL_SNAPSHOT_MARK: {
        if (r->index == 0 || r->term == 0 || r->index >= WAL_INDEX_MAX)
            return WAL_R_MARK_RANGE;
        if (!l->has_hard_state || r->term > l->hs_term)
            return WAL_R_TERM_ABOVE_HARD_STATE;
        if (r->index < base)
            return WAL_R_MARK_BACKWARDS;
        if (r->index == base) {
            if (r->term != l->base_term)
                return WAL_R_MARK_TERM;
            eff->compacted = true;
            return WAL_R_OK;
        }
        if (r->term < l->base_term)
            return WAL_R_MARK_TERM;
        uint64_t t = 0;
        eff->compacted = true;
        if (!(wal_log_term_at(l, r->index, &t) && t == r->term)) {
            eff->reset = true;
            if (l->last >= l->first)
                eff->drop_from = l->first;
        }
        return WAL_R_OK;
    }
    }
    return WAL_R_REC_BAD_TYPE;
}

wal_reason wal_log_check(const wal_log *l, const wal_record *r)
{
    wal_effect eff;
    return log_check(l, r, &eff);
}

wal_reason wal_log_apply(wal_log *l, const wal_record *r, wal_effect *eff_out)
{
    wal_effect eff;
    wal_reason why = log_check(l, r, &eff);
    if (why != WAL_R_OK)
        return why;
    switch (r->type) {
    case WAL_HARD_STATE:
        l->has_hard_state = true;
        l->hs_term = r->term;
        l->hs_vote = r->vote;
        break;
    case WAL_SNAPSHOT_MARK:
        if (r->index == l->first - 1)
            break;
        if (eff.reset) {
            l->runs.len = 0;
            l->first = r->index + 1;
            l->last = r->index;
            l->base_term = r->term;
        } else {
            runs_compact(l, r->index, r->term);
        }
        break;
    default: /* entries */
        if (r->index <= l->last)
            runs_truncate(l, r->index);
        runs_append(l, r->index, r->term);
        break;
    }
    if (eff_out)
        *eff_out = eff;
    return WAL_R_OK;
}

/* ------------------------------------------------------------------------ */
/* Recovery */

void wal_recovery_init(wal_recovery *rc, uint64_t group)
{
    memset(rc, 0, sizeof *rc);
    rc->group = group;
    wal_log_init(&rc->log, group == WAL_GROUP_ANY ? 0 : (uint32_t)group, 1, 0);
    kbuf_init(&rc->infos);
}

void wal_recovery_free(wal_recovery *rc)
{
    wal_log_free(&rc->log);
    kbuf_free(&rc->infos);
}

const wal_segment_info *wal_recovery_infos(const wal_recovery *rc, size_t *n)
{
    *n = rc->infos.len / sizeof(wal_segment_info);
    return (const wal_segment_info *)rc->infos.data;
}

/* Looks for a structurally valid record of this segment starting anywhere
 * in buf[from..len): 1 (and *at) when one is found, 0 when there is none,
 * -1 when the hashing budget ran out first. Cheap fields first, so random
 * bytes and zeros cost a few loads per offset; only a candidate that passes
 * them is hashed. */
static int search_valid(const unsigned char *buf, size_t len, size_t from, uint64_t salt,
                        uint32_t group, size_t *at)
{
    uint64_t budget = 4 * (uint64_t)len + (1u << 20);
    for (size_t p = from; p < len && len - p >= WAL_REC_MIN; p++) {
        const unsigned char *q = buf + p;
        uint32_t total = le_get32(q);
        if (total < WAL_REC_MIN || total > WAL_REC_MAX || total > len - p)
            continue;
        if (q[4] < WAL_TYPE_MIN || q[4] > WAL_TYPE_MAX || q[5] != 0 || q[6] != 0 || q[7] != 0)
            continue;
        if (le_get32(q + 8) != group)
            continue;
        if (total > budget)
            return -1;
        budget -= total;
        if (XXH3_64bits_withSeed(q, total - WAL_REC_TRAILER, wal_record_seed(salt, p)) ==
            le_get64(q + total - WAL_REC_TRAILER)) {
            *at = p;
            return 1;
        }
    }
    return 0;
}

static wal_status verdict(wal_recovery *rc, wal_status st, wal_reason why, uint64_t offset)
{
    rc->res.status = st;
    rc->res.reason = why;
    rc->res.offset = offset;
    rc->done = true;
    return st;
}

static void note_record(wal_result *res, const wal_record *r)
{
    res->has_record = true;
    res->rec_type = r->type;
    res->rec_term = r->term;
    res->rec_index = r->index;
}

/* The first record a segment announces (WAL_SEG_MARK or a replacement). */
enum { EXPECT_NONE, EXPECT_ENTRY, EXPECT_MARK };

/* A record held back until the announced one arrives. */
typedef struct held {
    wal_record r;
    wal_visit v;
} held;

/* Whether r, applied to l, would reach before the first index of a
 * segment whose header is h: an entry below it, or a SNAPSHOT_MARK that
 * discards the log (its index is not an entry of l with its term) below
 * first index - 1. A mark the log holds only moves the log's start up and
 * needs no entry before the segment. */
static bool reaches_back(const wal_segment_header *h, const wal_log *l, const wal_record *r)
{
    if (wal_type_is_entry(r->type))
        return r->index < h->first_index;
    if (r->type == WAL_SNAPSHOT_MARK && r->index + 1 < h->first_index) {
        uint64_t t;
        return !(wal_log_term_at(l, r->index, &t) && t == r->term);
    }
    return false;
}

wal_status wal_recovery_segment(wal_recovery *rc, const char *name, const void *bufv, size_t len,
                                bool newest, wal_record_fn *cb, void *ctx)
{
    if (rc->done)
        return rc->res.status;
    const unsigned char *buf = bufv;
    size_t seg = rc->nsegments++;
    memset(&rc->res, 0, sizeof rc->res);
    rc->res.segment = seg;
    rc->res.expected_index = rc->started ? rc->log.last + 1 : 0;
    uint64_t name_seq = 0, name_first = 0;
    bool name_ok = name && wal_segment_name_parse(name, &name_seq, &name_first);
    if (!rc->started && name_ok)
        rc->res.expected_index = name_first;

    /* The header. */
    wal_segment_info info;
    memset(&info, 0, sizeof info);
    wal_reason why = wal_segment_header_decode(buf, len, &info.h);
    if (why != WAL_R_OK) {
        /* Torn only while being created: nothing but zeros after it. */
        bool torn = newest && (len < WAL_SEG_HEADER ||
                               all_zero(buf + WAL_SEG_HEADER, len - WAL_SEG_HEADER));
        return verdict(rc, torn ? WAL_TORN_TAIL : WAL_CORRUPT, why, 0);
    }
    const wal_segment_header *h = &info.h;
    if (rc->group != WAL_GROUP_ANY && h->group != rc->group)
        return verdict(rc, WAL_CORRUPT, WAL_R_SEG_GROUP, 0);
    if (name && !name_ok)
        return verdict(rc, WAL_CORRUPT, WAL_R_SEG_BAD_NAME, 0);
    if (name && (name_seq != h->seq || name_first != h->first_index))
        return verdict(rc, WAL_CORRUPT, WAL_R_SEG_NAME_MISMATCH, 0);
    int expect = (h->flags & WAL_SEG_MARK) ? EXPECT_MARK : EXPECT_NONE;
    if (rc->started) {
        size_t n;
        const wal_segment_info *infos = wal_recovery_infos(rc, &n);
        assert(n > 0);
        wal_log *l = &rc->log;
        uint64_t t = 0;
        if (h->seq != infos[n - 1].h.seq + 1)
            return verdict(rc, WAL_CORRUPT, WAL_R_SEG_SEQ_GAP, 0);
        if (expect == EXPECT_MARK) {
            /* The mark decides; it may not go back before the log. */
            if (h->first_index < l->first)
                return verdict(rc, WAL_CORRUPT, WAL_R_SEG_DISCONTINUOUS, 0);
        } else if (h->first_index == l->last + 1) {
            if (h->prev_term != wal_log_last_term(l))
                return verdict(rc, WAL_CORRUPT, WAL_R_SEG_PREV_TERM, 0);
        } else if (h->first_index >= l->first && h->first_index <= l->last) {
            /* A replacement of the entries from first index on. */
            bool ok = wal_log_term_at(l, h->first_index - 1, &t);
            assert(ok);
            (void)ok;
            if (h->prev_term != t)
                return verdict(rc, WAL_CORRUPT, WAL_R_SEG_PREV_TERM, 0);
            expect = EXPECT_ENTRY;
        } else {
            return verdict(rc, WAL_CORRUPT, WAL_R_SEG_DISCONTINUOUS, 0);
        }
    } else {
        rc->group = h->group;
        wal_log_free(&rc->log);
        wal_log_init(&rc->log, h->group, h->first_index, h->prev_term);
        rc->started = true;
        rc->start = h->first_index;
        rc->res.expected_index = h->first_index;
    }
    /* Hard state before the announced record: restored if it never comes. */
    bool hs_had = rc->log.has_hard_state;
    uint64_t hs_term = rc->log.hs_term, hs_vote = rc->log.hs_vote;
    kbuf hold = KBUF_INIT;

    /* The records. */
    size_t off = WAL_SEG_HEADER;
    wal_status st = WAL_OK;
    while (off < len) {
        rc->res.expected_index = expect == EXPECT_ENTRY ? h->first_index : rc->log.last + 1;
        wal_record r;
        size_t rlen = 0;
        why = wal_record_decode(buf + off, len - off, wal_record_seed(h->salt, off), &r, &rlen);
        if (why == WAL_R_REC_ZERO && all_zero(buf + off, len - off)) {
            /* Zeros to the end: space the writer preallocated and never
             * wrote (or whose write never reached the disk: it was not
             * synced, so not acknowledged). The segment ends here. */
            info.zero_tail = len - off;
            break;
        }
        if (wal_reason_is_framing(why)) {
            size_t at = 0;
            int found = search_valid(buf, len, off + 1, h->salt, h->group, &at);
            if (found > 0)
                rc->res.found_offset = at;
            if (found < 0)
                why = WAL_R_REC_SEARCH_LIMIT;
            st = verdict(rc, newest && found == 0 ? WAL_TORN_TAIL : WAL_CORRUPT, why, off);
            break;
        }
        /* A mark below where this log starts is covered by that start:
         * compaction deleted what it marked, and the writer never puts a
         * mark that discards the log before its segment. Nothing to check
         * or apply. */
        bool covered = why == WAL_R_OK && r.type == WAL_SNAPSHOT_MARK && r.group == h->group &&
                       r.index + 1 < rc->start;
        if (why == WAL_R_OK && r.group != h->group)
            why = WAL_R_REC_GROUP;
        if (why == WAL_R_OK && !covered)
            why = wal_log_check(&rc->log, &r);
        if (why == WAL_R_OK && !covered && reaches_back(h, &rc->log, &r))
            why = WAL_R_IDX_BEFORE_SEGMENT;
        if (why == WAL_R_OK && expect != EXPECT_NONE && r.type != WAL_HARD_STATE) {
            bool is = expect == EXPECT_ENTRY
                          ? wal_type_is_entry(r.type) && r.index == h->first_index
                          : r.type == WAL_SNAPSHOT_MARK && r.index == h->first_index - 1 &&
                                r.term == h->prev_term;
            if (!is)
                why = WAL_R_SEG_FIRST_RECORD;
        }
        wal_effect eff;
        memset(&eff, 0, sizeof eff);
        if (why == WAL_R_OK && covered) {
            eff.compacted = true;
        } else if (why == WAL_R_OK) {
            why = wal_log_apply(&rc->log, &r, &eff);
            assert(why == WAL_R_OK);
        }
        if (why != WAL_R_OK) {
            note_record(&rc->res, &r);
            st = verdict(rc, WAL_CORRUPT, why, off);
            break;
        }
        info.records++;
        rc->records++;
        if (wal_type_is_entry(r.type))
            info.entries++;
        wal_visit v = {seg, off, rlen, eff};
        if (expect != EXPECT_NONE && r.type == WAL_HARD_STATE) {
            held hr = {r, v};
            kbuf_append(&hold, &hr, sizeof hr);
        } else {
            expect = EXPECT_NONE;
            if (cb) {
                size_t nh = hold.len / sizeof(held);
                const held *hv = (const held *)hold.data;
                for (size_t i = 0; i < nh; i++)
                    cb(ctx, &hv[i].r, &hv[i].v);
                cb(ctx, &r, &v);
            }
            kbuf_clear(&hold);
        }
        off += rlen;
    }
    kbuf_free(&hold);
    if (expect != EXPECT_NONE && st != WAL_CORRUPT) {
        /* The announced record never came: a torn creation in the newest
         * segment (the whole file goes), damage in any other. */
        rc->log.has_hard_state = hs_had;
        rc->log.hs_term = hs_term;
        rc->log.hs_vote = hs_vote;
        rc->records -= info.records;
        if (newest) {
            st = verdict(rc, WAL_TORN_TAIL, st == WAL_TORN_TAIL ? rc->res.reason
                                                               : WAL_R_SEG_FIRST_RECORD, 0);
        } else {
            st = verdict(rc, WAL_CORRUPT, WAL_R_SEG_FIRST_RECORD, off);
        }
        return st;
    }
    info.valid_len = off;
    kbuf_append(&rc->infos, &info, sizeof info);
    if (st == WAL_TORN_TAIL)
        rc->res.valid_len = off;
    if (st == WAL_OK) {
        rc->res.expected_index = rc->log.last + 1;
        if (newest)
            rc->done = true;
    }
    return st;
}

wal_status wal_recover(const wal_segment_bytes *segs, size_t n, uint64_t group,
                       wal_record_fn *cb, void *ctx, wal_result *res, wal_log *log)
{
    wal_recovery rc;
    wal_recovery_init(&rc, group);
    wal_status st = WAL_OK;
    for (size_t i = 0; i < n && st == WAL_OK; i++)
        st = wal_recovery_segment(&rc, segs[i].name, segs[i].data, segs[i].len, i + 1 == n, cb,
                                  ctx);
    if (res)
        *res = rc.res;
    if (log) {
        *log = rc.log;
        wal_log_init(&rc.log, 0, 1, 0);
    }
    wal_recovery_free(&rc);
    return st;
}

wal_status wal_scan(const void *buf, size_t len, bool newest, wal_record_fn *cb, void *ctx,
                    wal_result *res)
{
    wal_recovery rc;
    wal_recovery_init(&rc, WAL_GROUP_ANY);
    wal_status st = wal_recovery_segment(&rc, NULL, buf, len, newest, cb, ctx);
    if (res)
        *res = rc.res;
    wal_recovery_free(&rc);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Writing */

bool wal_plan_new_segment(uint64_t seg_max, bool seg_open, uint64_t seg_size,
                          uint64_t seg_records, uint64_t rec_len, bool reaches_back_)
{
    if (!seg_open || reaches_back_)
        return true;
    if (seg_records == 0)
        return false; /* only the preamble: the record goes here, however big */
    return seg_size > seg_max || rec_len > seg_max - seg_size;
}

void wal_batch_init(wal_batch *b)
{
    kbuf_init(&b->buf);
    kbuf_init(&b->ops);
}

void wal_batch_clear(wal_batch *b)
{
    kbuf_clear(&b->buf);
    kbuf_clear(&b->ops);
}

void wal_batch_free(wal_batch *b)
{
    kbuf_free(&b->buf);
    kbuf_free(&b->ops);
}

const wal_write *wal_batch_ops(const wal_batch *b, size_t *n)
{
    *n = b->ops.len / sizeof(wal_write);
    return (const wal_write *)b->ops.data;
}

void wal_writer_init(wal_writer *w, uint32_t group, uint64_t seg_max, uint64_t salt_seed,
                     uint64_t first_index, uint64_t prev_term)
{
    memset(w, 0, sizeof *w);
    w->group = group;
    w->seg_max = seg_max;
    w->salt_seed = salt_seed;
    wal_log_init(&w->log, group, first_index, prev_term);
    w->next_seq = 1;
}

bool wal_writer_resume(wal_writer *w, wal_recovery *rc, uint64_t seg_max, uint64_t salt_seed)
{
    size_t n;
    const wal_segment_info *infos = wal_recovery_infos(rc, &n);
    if (rc->res.status == WAL_CORRUPT || !rc->started || n == 0)
        return false;
    memset(w, 0, sizeof *w);
    w->group = rc->log.group;
    w->seg_max = seg_max;
    w->salt_seed = salt_seed;
    w->log = rc->log;
    wal_log_init(&rc->log, w->group, 1, 0);
    const wal_segment_info *last = &infos[n - 1];
    w->next_seq = last->h.seq + 1;
    /* A torn creation: that file is removed; its seq is free again. */
    bool removed = rc->res.status == WAL_TORN_TAIL && rc->res.valid_len == 0;
    if (!removed) {
        w->open = true;
        w->seg = *last;
        w->seg_body = last->records;
        /* A tear that took the preamble's hard state record with it: the
         * next append writes it again, where it was (the segment would
         * otherwise need the older ones, which compaction deletes). */
        w->preamble_due = last->records == 0 && w->log.has_hard_state &&
                          last->valid_len == WAL_SEG_HEADER;
    }
    return true;
}

void wal_writer_free(wal_writer *w)
{
    wal_log_free(&w->log);
}

/* The write op the next bytes of the open segment extend. */
static wal_write *batch_op_for(wal_batch *b, const wal_writer *w)
{
    size_t n;
    wal_write *ops = (wal_write *)wal_batch_ops(b, &n);
    if (n > 0) {
        wal_write *op = &ops[n - 1];
        if (op->seq == w->seg.h.seq && op->offset + op->len == w->seg.valid_len &&
            op->buf_off + op->len == b->buf.len)
            return op;
    }
    wal_write op = {w->seg.h.seq, w->seg.h.first_index, w->seg.valid_len, b->buf.len, 0, false};
    kbuf_append(&b->ops, &op, sizeof op);
    return (wal_write *)(b->ops.data + b->ops.len - sizeof op);
}

/* The segment's preamble after its header: the hard state, so that every
 * segment can start a whole log (decision 0006). */
static size_t preamble_hard_state(const wal_writer *w, wal_batch *b)
{
    wal_record hs;
    memset(&hs, 0, sizeof hs);
    hs.type = WAL_HARD_STATE;
    hs.group = w->group;
    hs.term = w->log.hs_term;
    hs.vote = w->log.hs_vote;
    return wal_record_encode(&b->buf, wal_record_seed(w->seg.h.salt, WAL_SEG_HEADER), &hs);
}

/* Opens a segment for r: one that continues the log, or, when r would
 * reach back before that (a replacement, a mark below the last entry), one
 * that announces r. */
static void writer_open_segment(wal_writer *w, wal_batch *b, const wal_record *r)
{
    memset(&w->seg, 0, sizeof w->seg);
    wal_segment_header *h = &w->seg.h;
    h->group = w->group;
    h->seq = w->next_seq++;
    h->first_index = w->log.last + 1;
    h->prev_term = wal_log_last_term(&w->log);
    bool back = reaches_back(h, &w->log, r);
    if (back && r->type == WAL_SNAPSHOT_MARK) {
        h->flags = WAL_SEG_MARK;
        h->first_index = r->index + 1;
        h->prev_term = r->term;
    } else if (back) {
        h->first_index = r->index;
        bool ok = wal_log_term_at(&w->log, r->index - 1, &h->prev_term);
        assert(ok);
        (void)ok;
    }
    h->salt = wal_segment_salt(w->salt_seed, w->group, h->seq, h->first_index);
    w->open = true;
    w->seg_body = 0;
    wal_write op = {h->seq, h->first_index, 0, b->buf.len, 0, true};
    kbuf_append(&b->ops, &op, sizeof op);
    wal_write *opp = (wal_write *)(b->ops.data + b->ops.len - sizeof op);
    size_t before = b->buf.len;
    wal_segment_header_encode(&b->buf, h);
    w->preamble_due = false;
    if (w->log.has_hard_state) {
        preamble_hard_state(w, b);
        w->seg.records = 1;
    }
    w->seg.valid_len = b->buf.len - before;
    opp->len = b->buf.len - before;
}

wal_reason wal_writer_append(wal_writer *w, wal_batch *b, const wal_record *r)
{
    if (r->group != w->group)
        return WAL_R_REC_GROUP;
    uint64_t rec_len = wal_record_size(r->payload_len);
    if (rec_len == 0)
        return WAL_R_REC_BAD_LENGTH;
    wal_reason why = wal_log_check(&w->log, r);
    if (why != WAL_R_OK)
        return why;
    bool back = w->open && reaches_back(&w->seg.h, &w->log, r);
    if (wal_plan_new_segment(w->seg_max, w->open, w->seg.valid_len, w->seg_body, rec_len, back))
        writer_open_segment(w, b, r);
    if (w->preamble_due) {
        /* A resumed segment cut back to its header: its preamble first. */
        wal_write *pre = batch_op_for(b, w);
        size_t n = preamble_hard_state(w, b);
        pre->len += n;
        w->seg.valid_len += n;
        w->seg.records = 1;
        w->preamble_due = false;
    }
    wal_write *op = batch_op_for(b, w);
    size_t n = wal_record_encode(&b->buf, wal_record_seed(w->seg.h.salt, w->seg.valid_len), r);
    op->len += n;
    why = wal_log_apply(&w->log, r, NULL);
    assert(why == WAL_R_OK);
    w->seg.valid_len += n;
    w->seg.records++;
    w->seg_body++;
    if (wal_type_is_entry(r->type))
        w->seg.entries++;
    return WAL_R_OK;
}

void wal_writer_roll(wal_writer *w)
{
    if (w->open && w->seg.entries > 0)
        w->open = false;
}

/* ------------------------------------------------------------------------ */
/* Compaction */

static size_t first_covering(const wal_segment_header *hs, size_t n, uint64_t snap_index)
{
    for (size_t k = n; k-- > 0;)
        if (hs[k].first_index - 1 <= snap_index)
            return k;
    return n;
}

size_t wal_first_needed(const wal_segment_header *hs, size_t n, uint64_t snap_index)
{
    size_t k = first_covering(hs, n, snap_index);
    if (n >= 2 && k == n - 1) {
        /* Not the newest alone: it may be a creation that never finished
         * (cut back to its header, its hard state record gone). The log
         * must also read without it, so start at an older segment that
         * covers the snapshot and that the newest does not reach back
         * before (a replacement or a mark may start below the segments
         * before it). */
        uint64_t newest = hs[n - 1].first_index - 1;
        size_t p = first_covering(hs, n - 1, snap_index < newest ? snap_index : newest);
        if (p < n - 1)
            k = p;
    }
    return k;
}

wal_fit wal_snapshot_fit(const wal_log *l, uint64_t snap_index, uint64_t snap_term)
{
    if (l->first - 1 > snap_index)
        return WAL_FIT_GAP;
    uint64_t t;
    if (wal_log_term_at(l, snap_index, &t) && t == snap_term)
        return WAL_FIT_CONTINUES;
    return WAL_FIT_SUPERSEDED;
}
