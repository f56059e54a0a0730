/* Raft as one pure step function (raft.h has the contract; decision 0009).
 *
 * Reading guide: rf_step() resets the update, dispatches the event, then
 * finish() turns what changed into the update: the persist request, the
 * held messages that became safe, the range to apply, the next deadline.
 * Each rule of the paper that keeps the cluster safe is marked "Safety:"
 * where it is kept. */
#include "core/raft/raft.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static bool bug(const rf_core *r, rf_bug b) { return (r->o.bugs >> b) & 1; }

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        abort();
    return q;
}

/* ------------------------------------------------------------------------ */
/* Names */

const char *rf_role_name(rf_role role)
{
    switch (role) {
    case RF_FOLLOWER: return "follower";
    case RF_PRECANDIDATE: return "pre-candidate";
    case RF_CANDIDATE: return "candidate";
    case RF_LEADER: return "leader";
    }
    return "?";
}

const char *rf_msg_type_name(rf_msg_type t)
{
    static const char *const names[] = {
        "?", "PREVOTE", "PREVOTE_RESP", "VOTE", "VOTE_RESP", "APPEND", "APPEND_RESP",
        "HEARTBEAT", "HEARTBEAT_RESP", "SNAPSHOT", "SNAPSHOT_RESP", "TIMEOUT_NOW",
    };
    return (unsigned)t <= RF_MSG_TYPE_MAX ? names[t] : "?";
}

static const char *const bug_names[] = {
#define RF_BUG_NAME(name, str, text) str,
    RF_BUGS(RF_BUG_NAME)
#undef RF_BUG_NAME
};
static const char *const bug_texts[] = {
#define RF_BUG_TEXT(name, str, text) text,
    RF_BUGS(RF_BUG_TEXT)
#undef RF_BUG_TEXT
};

const char *rf_bug_name(rf_bug b) { return (unsigned)b < RF_BUG_COUNT ? bug_names[b] : "?"; }
const char *rf_bug_text(rf_bug b) { return (unsigned)b < RF_BUG_COUNT ? bug_texts[b] : "?"; }

int rf_bug_parse(const char *s)
{
    for (int i = 0; i < RF_BUG_COUNT; i++)
        if (strcmp(s, bug_names[i]) == 0)
            return i;
    return -1;
}

const char *rf_err_text(rf_err e)
{
    switch (e) {
    case RF_OK: return "ok";
    case RF_ERR_NOT_LEADER: return "not the leader";
    case RF_ERR_TRANSFERRING: return "leadership transfer in progress";
    case RF_ERR_NOT_READY: return "the leader has not committed an entry of its term yet";
    case RF_ERR_CONF_PENDING: return "another membership change is not committed yet";
    case RF_ERR_CONF_INVALID: return "invalid membership change";
    case RF_ERR_NOT_CAUGHT_UP: return "the learner has not caught up";
    case RF_ERR_TOO_BIG: return "entry too large";
    }
    return "?";
}

void rf_options_default(rf_options *o)
{
    memset(o, 0, sizeof(*o));
    o->election_ms = 1000;
    o->heartbeat_ms = 100;
    o->max_drift_ms = 100;
    o->pre_vote = true;
    o->check_quorum = true;
    o->max_inflight = 16;
    o->max_batch_entries = 64;
    o->max_batch_bytes = 1 << 20;
    o->snapshot_chunk = 256 << 10;
}

/* ------------------------------------------------------------------------ */
/* Configurations */

static bool id_in(const rf_id *ids, uint32_t n, rf_id id)
{
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

bool rf_config_is_voter(const rf_config *c, rf_id id) { return id_in(c->voters, c->nvoters, id); }
bool rf_config_is_learner(const rf_config *c, rf_id id)
{
    return id_in(c->learners, c->nlearners, id);
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* [u32 nvoters][u32 nlearners] then the ids, big-endian u64. */
size_t rf_config_encode(const rf_config *c, unsigned char *out)
{
    out[0] = (unsigned char)(c->nvoters >> 24), out[1] = (unsigned char)(c->nvoters >> 16);
    out[2] = (unsigned char)(c->nvoters >> 8), out[3] = (unsigned char)c->nvoters;
    out[4] = (unsigned char)(c->nlearners >> 24), out[5] = (unsigned char)(c->nlearners >> 16);
    out[6] = (unsigned char)(c->nlearners >> 8), out[7] = (unsigned char)c->nlearners;
    size_t n = 8;
    for (uint32_t i = 0; i < c->nvoters; i++, n += 8)
        put64(out + n, c->voters[i]);
    for (uint32_t i = 0; i < c->nlearners; i++, n += 8)
        put64(out + n, c->learners[i]);
    return n;
}

static bool ids_ok(const rf_id *ids, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (ids[i] == 0 || (i && ids[i] <= ids[i - 1]))
            return false;
    return true;
}

bool rf_config_decode(rf_config *c, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    memset(c, 0, sizeof(*c));
    if (len < 8)
        return false;
    uint32_t nv = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    uint32_t nl = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
    if (nv > RF_MAX_MEMBERS || nl > RF_MAX_MEMBERS || nv + nl > RF_MAX_MEMBERS ||
        len != 8 + 8 * (size_t)(nv + nl))
        return false;
    c->nvoters = nv, c->nlearners = nl;
    for (uint32_t i = 0; i < nv; i++)
        c->voters[i] = get64(p + 8 + 8 * i);
    for (uint32_t i = 0; i < nl; i++)
        c->learners[i] = get64(p + 8 + 8 * (nv + i));
    if (!ids_ok(c->voters, nv) || !ids_ok(c->learners, nl))
        return false;
    for (uint32_t i = 0; i < nl; i++)
        if (rf_config_is_voter(c, c->learners[i]))
            return false;
    return true;
}

static void ids_insert(rf_id *ids, uint32_t *n, rf_id id)
{
    uint32_t i = *n;
    while (i > 0 && ids[i - 1] > id) {
        ids[i] = ids[i - 1];
        i--;
    }
    ids[i] = id;
    (*n)++;
}

static void ids_remove(rf_id *ids, uint32_t *n, rf_id id)
{
    for (uint32_t i = 0; i < *n; i++)
        if (ids[i] == id) {
            memmove(ids + i, ids + i + 1, (*n - i - 1) * sizeof(*ids));
            (*n)--;
            return;
        }
}

/* ------------------------------------------------------------------------ */
/* The log */

uint64_t rf_last_index(const rf_core *r) { return r->log_start + r->log_len - 1; }

static rf_entry *entry_at(const rf_core *r, uint64_t index)
{
    if (index < r->log_start || index > rf_last_index(r))
        return NULL;
    return &r->log[index - r->log_start];
}

const rf_entry *rf_entry_at(const rf_core *r, uint64_t index) { return entry_at(r, index); }

uint64_t rf_term_at(const rf_core *r, uint64_t index, bool *ok)
{
    *ok = true;
    if (index == r->base_index)
        return r->base_term;
    const rf_entry *e = entry_at(r, index);
    if (e)
        return e->term;
    if (index == r->snap_index)
        return r->snap_term;
    if (index == 0)
        return 0;
    *ok = false;
    return 0;
}

static uint64_t term_at(const rf_core *r, uint64_t index)
{
    bool ok;
    return rf_term_at(r, index, &ok);
}

uint64_t rf_last_term(const rf_core *r) { return term_at(r, rf_last_index(r)); }

static void log_push(rf_core *r, uint64_t term, uint8_t type, const void *data, size_t len)
{
    if (r->log_len == r->log_cap) {
        r->log_cap = r->log_cap ? r->log_cap * 2 : 64;
        r->log = xrealloc(r->log, r->log_cap * sizeof(*r->log));
    }
    rf_entry *e = &r->log[r->log_len++];
    e->index = rf_last_index(r);
    e->term = term;
    e->type = type;
    e->len = (uint32_t)len;
    e->data = xrealloc(NULL, len);
    if (len)
        memcpy(e->data, data, len);
}

/* Drops entries >= index. */
static void log_truncate(rf_core *r, uint64_t index)
{
    while (r->log_len && rf_last_index(r) >= index)
        free(r->log[--r->log_len].data);
}

/* Drops entries <= index (they are in a snapshot). */
static void log_compact(rf_core *r, uint64_t index)
{
    if (index < r->log_start)
        return;
    uint64_t n = index - r->log_start + 1;
    if (n > r->log_len)
        n = r->log_len;
    uint64_t term = term_at(r, index);
    for (uint64_t i = 0; i < n; i++)
        free(r->log[i].data);
    memmove(r->log, r->log + n, (r->log_len - n) * sizeof(*r->log));
    r->log_len -= n;
    r->log_start = index + 1;
    r->base_index = index;
    r->base_term = term;
}

/* Everything goes; the log continues after index (a snapshot's). */
static void log_reset(rf_core *r, uint64_t index, uint64_t term)
{
    log_truncate(r, r->log_start);
    r->log_start = index + 1;
    r->base_index = index;
    r->base_term = term;
}

/* Marks the log changed from index on: the step's persist request writes
 * entries from there. */
static void dirty_from(rf_core *r, uint64_t index)
{
    if (!r->persist_first || index < r->persist_first)
        r->persist_first = index;
}

static void set_hard_state(rf_core *r, uint64_t term, rf_id vote)
{
    if (term == r->term && vote == r->vote)
        return;
    r->term = term;
    r->vote = vote;
    r->persist_hs = true;
}

/* ------------------------------------------------------------------------ */
/* Membership */

static void rebuild_members(rf_core *r)
{
    rf_id old[RF_MAX_MEMBERS];
    rf_progress oldp[RF_MAX_MEMBERS];
    uint32_t nold = r->nmembers;
    memcpy(old, r->members, sizeof(old));
    memcpy(oldp, r->prog, sizeof(oldp));
    r->nmembers = 0;
    for (uint32_t i = 0; i < r->config.nvoters; i++)
        r->members[r->nmembers++] = r->config.voters[i];
    for (uint32_t i = 0; i < r->config.nlearners; i++)
        r->members[r->nmembers++] = r->config.learners[i];
    for (uint32_t i = 0; i < r->nmembers; i++) {
        rf_progress *p = &r->prog[i];
        uint32_t j = 0;
        while (j < nold && old[j] != r->members[i])
            j++;
        if (j < nold) {
            *p = oldp[j];
        } else {
            memset(p, 0, sizeof(*p));
            p->next = rf_last_index(r) + 1;
            p->state = RF_PROBE;
            p->active = true;
        }
    }
}

int rf_member_slot(const rf_core *r, rf_id id)
{
    for (uint32_t i = 0; i < r->nmembers; i++)
        if (r->members[i] == id)
            return (int)i;
    return -1;
}

static void set_config(rf_core *r, const rf_config *c, uint64_t index)
{
    bool changed = memcmp(&r->config, c, sizeof(*c)) != 0;
    r->config = *c;
    r->config_index = index;
    if (changed) {
        rebuild_members(r);
        r->out.config_changed = true;
    }
}

/* The newest config in the log, else the snapshot's, else the bootstrap. */
static void recompute_config(rf_core *r)
{
    for (uint64_t i = rf_last_index(r); i >= r->log_start && i > 0; i--) {
        const rf_entry *e = entry_at(r, i);
        rf_config c;
        if (e->type == RF_ENTRY_CONFIG && rf_config_decode(&c, e->data, e->len)) {
            set_config(r, &c, i);
            return;
        }
    }
    if (r->snap_index)
        set_config(r, &r->snap_config, 0);
    else
        set_config(r, &r->bootstrap, 0);
}

/* The config in force at index (for a snapshot taken there). */
static rf_config config_at(const rf_core *r, uint64_t index)
{
    for (uint64_t i = index; i >= r->log_start && i > 0; i--) {
        const rf_entry *e = entry_at(r, i);
        rf_config c;
        if (e && e->type == RF_ENTRY_CONFIG && rf_config_decode(&c, e->data, e->len))
            return c;
    }
    return r->snap_index ? r->snap_config : r->bootstrap;
}

static bool is_voter(const rf_core *r, rf_id id) { return rf_config_is_voter(&r->config, id); }

static uint32_t quorum(const rf_core *r) { return r->config.nvoters / 2 + 1; }

/* ------------------------------------------------------------------------ */
/* Output */

static rf_msg *msg_new(rf_core *r, uint8_t type, rf_id to)
{
    if (r->out.nmsgs == r->capmsgs) {
        r->capmsgs = r->capmsgs ? r->capmsgs * 2 : 16;
        r->out.msgs = xrealloc(r->out.msgs, r->capmsgs * sizeof(rf_msg));
    }
    rf_msg *m = &r->out.msgs[r->out.nmsgs++];
    memset(m, 0, sizeof(*m));
    m->type = type;
    m->from = r->o.id;
    m->to = to;
    m->term = r->term;
    return m;
}

/* Safety: a message that depends on durable state goes out only once that
 * state is durable. Every message waits for the newest hard state (a vote,
 * or anything said in a term this node has not yet made durable); an
 * acknowledgement of entries also waits for them (index). */
static void send_gated(rf_core *r, const rf_msg *m, uint64_t index)
{
    bool hs_pending = r->persist_hs || r->hs_seq > r->persisted_seq;
    bool idx_pending = index > r->stable && !bug(r, RF_BUG_ACK_BEFORE_SYNC);
    if (!hs_pending && !idx_pending) {
        *msg_new(r, m->type, m->to) = *m;
        return;
    }
    assert(m->nentries == 0 && m->len == 0);
    if (r->nheld == r->capheld) {
        r->capheld = r->capheld ? r->capheld * 2 : 16;
        r->held = xrealloc(r->held, r->capheld * sizeof(rf_held));
    }
    rf_held *h = &r->held[r->nheld++];
    /* The hard state of this step gets seq r->seq + 1 in finish(). */
    h->seq = r->persist_hs ? r->seq + 1 : r->hs_seq;
    h->term = r->term; /* pre-votes carry term + 1: compare what we had */
    h->index = bug(r, RF_BUG_ACK_BEFORE_SYNC) ? 0 : index;
    h->m = *m;
}

static rf_msg reply_to(const rf_core *r, uint8_t type, rf_id to)
{
    rf_msg m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.from = r->o.id;
    m.to = to;
    m.term = r->term;
    return m;
}

static void release_held(rf_core *r)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->nheld; i++) {
        rf_held *h = &r->held[i];
        if (h->term != r->term) /* said in an earlier term: moot now */
            continue;
        if (h->seq <= r->persisted_seq && (h->index == 0 || h->index <= r->stable))
            *msg_new(r, h->m.type, h->m.to) = h->m;
        else
            r->held[k++] = *h;
    }
    r->nheld = k;
}

static void read_fail(rf_core *r, uint64_t ctx)
{
    if (r->out.nread_fails == r->capfails) {
        r->capfails = r->capfails ? r->capfails * 2 : 8;
        r->out.read_fails = xrealloc(r->out.read_fails, r->capfails * sizeof(uint64_t));
    }
    r->out.read_fails[r->out.nread_fails++] = ctx;
}

static void read_ready(rf_core *r, uint64_t ctx, uint64_t index)
{
    if (r->out.nreads == r->capreads) {
        r->capreads = r->capreads ? r->capreads * 2 : 8;
        r->out.reads = xrealloc(r->out.reads, r->capreads * sizeof(rf_read));
    }
    r->out.reads[r->out.nreads++] = (rf_read){ctx, index};
}

/* ------------------------------------------------------------------------ */
/* Roles */

static void reset_election_timer(rf_core *r)
{
    r->election_deadline =
        r->now + r->o.election_ms + (int64_t)kprng_below(&r->rng, (uint64_t)r->o.election_ms);
}

static void fail_reads(rf_core *r)
{
    for (uint32_t i = 0; i < r->npreads; i++)
        read_fail(r, r->preads[i].ctx);
    r->npreads = 0;
}

static void set_role(rf_core *r, rf_role role, rf_id leader)
{
    if (r->role != role)
        r->out.role_changed = true;
    if (r->leader != leader)
        r->out.leader_changed = true;
    r->role = role;
    r->leader = leader;
}

static void become_follower(rf_core *r, uint64_t term, rf_id leader)
{
    if (term > r->term) {
        set_hard_state(r, term, 0);
        r->verified = 0;
    }
    if (r->role == RF_LEADER)
        fail_reads(r);
    set_role(r, RF_FOLLOWER, leader);
    r->transferee = 0;
    r->lease_until = 0;
    r->transfer_campaign = false;
    reset_election_timer(r);
}

static void send_append(rf_core *r, uint32_t slot);
static void broadcast_heartbeat(rf_core *r);
static void maybe_commit(rf_core *r);
static void append_entry(rf_core *r, uint8_t type, const void *data, size_t len);

static void become_leader(rf_core *r)
{
    set_role(r, RF_LEADER, r->o.id);
    r->transferee = 0;
    r->lease_until = 0;
    r->lease_revoked = false;
    r->npreads = 0;
    for (uint32_t i = 0; i < r->nmembers; i++) {
        rf_progress *p = &r->prog[i];
        memset(p, 0, sizeof(*p));
        p->next = rf_last_index(r) + 1;
        p->state = RF_PROBE;
        p->active = true;
    }
    r->heartbeat_deadline = r->now + r->o.heartbeat_ms;
    r->check_quorum_deadline = r->now + r->o.election_ms;
    /* A no-op of the new term: committing it commits everything before it
     * (Figure 8) and lets reads and membership changes go. */
    append_entry(r, RF_ENTRY_NOOP, NULL, 0);
    r->noop_index = rf_last_index(r);
    for (uint32_t i = 0; i < r->nmembers; i++)
        if (r->members[i] != r->o.id)
            send_append(r, i);
    maybe_commit(r);
}

static bool log_up_to_date(const rf_core *r, uint64_t last_index, uint64_t last_term)
{
    uint64_t lt = rf_last_term(r);
    return last_term > lt || (last_term == lt && last_index >= rf_last_index(r));
}

static void campaign(rf_core *r, bool pre, bool transfer)
{
    r->ngranted = r->nrejected = 0;
    r->transfer_campaign = transfer;
    uint64_t term = r->term + 1;
    if (pre) {
        set_role(r, RF_PRECANDIDATE, 0);
    } else {
        set_hard_state(r, term, r->o.id);
        r->verified = 0;
        set_role(r, RF_CANDIDATE, 0);
    }
    reset_election_timer(r);
    r->granted[r->ngranted++] = r->o.id;
    if (r->ngranted >= quorum(r)) {
        if (pre)
            campaign(r, false, false);
        else
            become_leader(r);
        return;
    }
    for (uint32_t i = 0; i < r->config.nvoters; i++) {
        rf_id to = r->config.voters[i];
        if (to == r->o.id)
            continue;
        rf_msg m = reply_to(r, pre ? RF_MSG_PREVOTE : RF_MSG_VOTE, to);
        m.term = term;
        m.last_index = rf_last_index(r);
        m.last_term = rf_last_term(r);
        m.transfer = transfer;
        send_gated(r, &m, 0);
    }
}

/* ------------------------------------------------------------------------ */
/* Leader: replication */

static void append_entry(rf_core *r, uint8_t type, const void *data, size_t len)
{
    log_push(r, r->term, type, data, len);
    dirty_from(r, rf_last_index(r));
}

/* Safety: a leader says nothing before its term and vote are durable.
 * With other voters that is already so (their votes answered requests
 * that waited for it); a sole voter wins in the step it campaigns, and
 * its learners must not get entries of a term it could lose in a crash
 * and win again with other entries. */
static bool hs_durable(const rf_core *r) { return !r->persist_hs && r->hs_seq <= r->persisted_seq; }

static void send_snapshot_chunk(rf_core *r, uint32_t slot)
{
    if (!hs_durable(r))
        return;
    rf_progress *p = &r->prog[slot];
    if (p->snap_index != r->snap_index) {
        p->snap_index = r->snap_index;
        p->snap_offset = 0;
    }
    rf_msg *m = msg_new(r, RF_MSG_SNAPSHOT, r->members[slot]);
    m->snap_index = r->snap_index;
    m->snap_term = r->snap_term;
    m->snap_config = r->snap_config;
    m->offset = p->snap_offset;
    m->total = r->snap_len;
    uint64_t left = r->snap_len - p->snap_offset;
    m->len = (uint32_t)(left < r->o.snapshot_chunk ? left : r->o.snapshot_chunk);
    m->data = r->snap_data + p->snap_offset;
    m->done = p->snap_offset + m->len == r->snap_len;
    m->commit = r->commit;
    p->snap_sent_ms = r->now;
}

static void send_append(rf_core *r, uint32_t slot)
{
    rf_progress *p = &r->prog[slot];
    if (p->state == RF_SNAPSHOTTING || !hs_durable(r))
        return;
    bool ok;
    uint64_t prev_term = rf_term_at(r, p->next - 1, &ok);
    if (!ok || p->next < r->log_start) {
        /* The entries it needs are compacted: send the snapshot. */
        if (!r->snap_data) {
            r->out.want_snapshot = true; /* none handed in yet: ask */
            return;
        }
        p->state = RF_SNAPSHOTTING;
        p->snap_index = 0;
        send_snapshot_chunk(r, slot);
        return;
    }
    rf_msg *m = msg_new(r, RF_MSG_APPEND, r->members[slot]);
    m->prev_index = p->next - 1;
    m->prev_term = prev_term;
    m->commit = r->commit;
    m->ctx = r->read_round;
    m->sent_ms = r->now;
    uint64_t last = rf_last_index(r), bytes = 0;
    uint32_t n = 0;
    while (p->next + n <= last && n < r->o.max_batch_entries) {
        const rf_entry *e = entry_at(r, p->next + n);
        if (n && bytes + e->len > r->o.max_batch_bytes)
            break;
        bytes += e->len;
        n++;
    }
    m->nentries = n;
    m->entries = n ? entry_at(r, p->next) : NULL;
    if (p->state == RF_REPLICATE) {
        if (n) {
            p->next += n;
            p->inflight_last[(p->inflight_head + p->inflight) % RF_INFLIGHT_MAX] = p->next - 1;
            p->inflight++;
        }
    } else {
        p->paused = true;
    }
}

/* Sends what the follower is owed, within its window. */
static void maybe_send(rf_core *r, uint32_t slot)
{
    rf_progress *p = &r->prog[slot];
    uint32_t window = r->o.max_inflight < RF_INFLIGHT_MAX ? r->o.max_inflight : RF_INFLIGHT_MAX;
    if (p->state == RF_PROBE) {
        if (!p->paused)
            send_append(r, slot);
        return;
    }
    while (p->state == RF_REPLICATE && p->inflight < window && p->next <= rf_last_index(r))
        send_append(r, slot);
}

static void broadcast_append(rf_core *r)
{
    for (uint32_t i = 0; i < r->nmembers; i++)
        if (r->members[i] != r->o.id)
            maybe_send(r, i);
}

static void broadcast_heartbeat(rf_core *r)
{
    for (uint32_t i = 0; i < r->nmembers && hs_durable(r); i++) {
        if (r->members[i] == r->o.id)
            continue;
        rf_progress *p = &r->prog[i];
        rf_msg *m = msg_new(r, RF_MSG_HEARTBEAT, r->members[i]);
        /* Never past what the follower is known to have: it may hold
         * entries the leader does not (yet) know match. */
        m->commit = p->match < r->commit ? p->match : r->commit;
        m->ctx = r->read_round;
        m->sent_ms = r->now;
    }
    r->heartbeat_deadline = r->now + r->o.heartbeat_ms;
}

static int cmp_desc_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int cmp_desc_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The quorum-th highest of the voters' values: what a majority has. */
static uint64_t quorum_u64(const rf_core *r, uint64_t self, size_t field_off)
{
    uint64_t v[RF_MAX_MEMBERS];
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->config.nvoters; i++) {
        rf_id id = r->config.voters[i];
        if (id == r->o.id) {
            v[n++] = self;
            continue;
        }
        const rf_progress *p = &r->prog[rf_member_slot(r, id)];
        memcpy(&v[n++], (const char *)p + field_off, sizeof(uint64_t));
    }
    qsort(v, n, sizeof(v[0]), cmp_desc_u64);
    return n ? v[quorum(r) - 1] : 0;
}

static uint64_t self_match(const rf_core *r)
{
    /* Safety: the leader counts itself only for what it made durable. */
    return r->stable;
}

static void serve_reads(rf_core *r);

static void maybe_commit(rf_core *r)
{
    if (r->role != RF_LEADER)
        return;
    uint64_t q;
    if (bug(r, RF_BUG_COMMIT_NO_QUORUM))
        q = rf_last_index(r);
    else if (!is_voter(r, r->o.id)) {
        /* Being removed: it does not count itself. */
        uint64_t v[RF_MAX_MEMBERS];
        uint32_t n = 0;
        for (uint32_t i = 0; i < r->config.nvoters; i++)
            v[n++] = r->prog[rf_member_slot(r, r->config.voters[i])].match;
        qsort(v, n, sizeof(v[0]), cmp_desc_u64);
        q = n ? v[quorum(r) - 1] : 0;
    } else
        q = quorum_u64(r, self_match(r), offsetof(rf_progress, match));
    if (q <= r->commit)
        return;
    /* Safety (Figure 8): only an entry of the leader's own term is
     * committed by counting replicas; earlier ones go with it. */
    if (term_at(r, q) != r->term && !bug(r, RF_BUG_COMMIT_OLD_TERM))
        return;
    r->commit = q;
    serve_reads(r);
}

/* ------------------------------------------------------------------------ */
/* Leader: reads */

static bool term_committed(const rf_core *r)
{
    return r->commit >= r->noop_index || bug(r, RF_BUG_READ_INDEX_EARLY);
}

static uint64_t acked_round(const rf_core *r)
{
    return quorum_u64(r, r->read_round, offsetof(rf_progress, acked_ctx));
}

static void update_lease(rf_core *r)
{
    int64_t v[RF_MAX_MEMBERS];
    uint32_t n = 0;
    if (!is_voter(r, r->o.id))
        return;
    for (uint32_t i = 0; i < r->config.nvoters; i++) {
        rf_id id = r->config.voters[i];
        v[n++] = id == r->o.id ? r->now : r->prog[rf_member_slot(r, id)].acked_sent_ms;
    }
    qsort(v, n, sizeof(v[0]), cmp_desc_i64);
    int64_t start = v[quorum(r) - 1];
    /* Safety: no follower votes for another leader until its own clock
     * says election_ms passed since it heard from us; its clock may run
     * faster than ours by up to max_drift_ms in that time. */
    int64_t len = r->o.election_ms - (bug(r, RF_BUG_LEASE_NO_DRIFT) ? 0 : r->o.max_drift_ms);
    if (bug(r, RF_BUG_LEASE_NO_DRIFT))
        len += r->o.election_ms / 2; /* and a lease that believes timeouts are long */
    if (start > 0 && start + len > r->lease_until && !r->lease_revoked)
        r->lease_until = start + len;
}

static bool lease_valid(const rf_core *r)
{
    bool cq = r->o.check_quorum || bug(r, RF_BUG_LEASE_NO_CHECK_QUORUM);
    return cq && r->now < r->lease_until && term_committed(r);
}

/* Assigns reads waiting for the term's first commit, and serves those a
 * quorum confirmed. */
static void serve_reads(rf_core *r)
{
    if (r->role != RF_LEADER || !r->npreads)
        return;
    bool sent = false;
    if (term_committed(r)) {
        for (uint32_t i = 0; i < r->npreads; i++)
            if (!r->preads[i].round) {
                r->preads[i].index = r->commit;
                r->preads[i].round = r->read_round + 1;
                sent = true;
            }
        if (sent) {
            r->read_round++;
            broadcast_heartbeat(r);
        }
    }
    uint64_t acked = acked_round(r);
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->npreads; i++) {
        rf_pending_read *pr = &r->preads[i];
        if (pr->round && pr->round <= acked)
            read_ready(r, pr->ctx, pr->index);
        else
            r->preads[k++] = *pr;
    }
    r->npreads = k;
}

static void on_read(rf_core *r, const rf_event *ev)
{
    if (r->role != RF_LEADER || !is_voter(r, r->o.id)) {
        r->err = RF_ERR_NOT_LEADER;
        read_fail(r, ev->ctx);
        return;
    }
    if (r->transferee) {
        r->err = RF_ERR_TRANSFERRING;
        read_fail(r, ev->ctx);
        return;
    }
    if (ev->lease && lease_valid(r)) {
        read_ready(r, ev->ctx, r->commit);
    } else {
        if (r->npreads == r->cappreads) {
            r->cappreads = r->cappreads ? r->cappreads * 2 : 16;
            r->preads = xrealloc(r->preads, r->cappreads * sizeof(rf_pending_read));
        }
        r->preads[r->npreads++] = (rf_pending_read){ev->ctx, 0, 0};
    }
    if (!ev->more)
        serve_reads(r);
}

/* ------------------------------------------------------------------------ */
/* Leader: responses */

static void inflight_free_to(rf_progress *p, uint64_t index)
{
    while (p->inflight && p->inflight_last[p->inflight_head] <= index) {
        p->inflight_head = (p->inflight_head + 1) % RF_INFLIGHT_MAX;
        p->inflight--;
    }
}

static void to_probe(rf_progress *p)
{
    p->state = RF_PROBE;
    p->paused = false;
    p->inflight = 0;
    p->inflight_head = 0;
}

static void heard_from(rf_core *r, rf_progress *p, const rf_msg *m)
{
    p->active = true;
    if (m->ctx > p->acked_ctx)
        p->acked_ctx = m->ctx;
    if (m->sent_ms > p->acked_sent_ms)
        p->acked_sent_ms = m->sent_ms;
    update_lease(r);
}

/* Safety: once TimeoutNow is out, the transferee may win at once (its
 * campaign overrides the followers' leases), so this leader's lease ends
 * for the rest of its term. */
static void send_timeout_now(rf_core *r, rf_id to)
{
    msg_new(r, RF_MSG_TIMEOUT_NOW, to);
    r->lease_revoked = true;
    r->lease_until = 0;
}

static void maybe_timeout_now(rf_core *r, uint32_t slot)
{
    if (r->transferee && r->members[slot] == r->transferee &&
        r->prog[slot].match == rf_last_index(r))
        send_timeout_now(r, r->transferee);
}

static void on_append_resp(rf_core *r, const rf_msg *m, uint32_t slot)
{
    rf_progress *p = &r->prog[slot];
    heard_from(r, p, m);
    if (m->reject) {
        if (p->state == RF_SNAPSHOTTING)
            return;
        /* Stale rejections: of something already matched, or (probing)
         * of another probe than the one out. */
        if (m->index <= p->match || (p->state == RF_PROBE && m->index + 1 != p->next))
            return;
        /* The conflict-term fast backtrack: skip the follower's whole
         * conflicting term, or to its end. */
        uint64_t next = m->hint_index;
        if (m->hint_term) {
            uint64_t i = m->index < rf_last_index(r) ? m->index : rf_last_index(r);
            while (i > r->base_index && term_at(r, i) > m->hint_term)
                i--;
            if (i > r->base_index && term_at(r, i) == m->hint_term)
                next = i + 1;
        }
        if (next > m->index)
            next = m->index;
        if (next <= p->match)
            next = p->match + 1;
        if (next < 1)
            next = 1;
        p->next = next;
        to_probe(p);
        send_append(r, slot);
        return;
    }
    if (m->index > p->match) {
        p->match = m->index;
        if (p->next < p->match + 1)
            p->next = p->match + 1;
        if (p->state == RF_PROBE) {
            to_probe(p);
            p->state = RF_REPLICATE;
        }
        maybe_commit(r);
        maybe_timeout_now(r, slot);
    } else if (p->state == RF_PROBE) {
        p->paused = false;
        /* A probe answered at what already matched (after a snapshot
         * with nothing past it): the follower is in step. */
        if (m->index == p->match && p->next == p->match + 1) {
            to_probe(p);
            p->state = RF_REPLICATE;
        }
    }
    inflight_free_to(p, m->index);
    maybe_send(r, slot);
    serve_reads(r);
}

static void on_heartbeat_resp(rf_core *r, const rf_msg *m, uint32_t slot)
{
    rf_progress *p = &r->prog[slot];
    heard_from(r, p, m);
    if (p->state == RF_PROBE)
        p->paused = false;
    /* A full window of APPENDs that get no answer (lost, or the follower
     * restarted): free a slot so that one goes out again (etcd's way). */
    uint32_t window = r->o.max_inflight < RF_INFLIGHT_MAX ? r->o.max_inflight : RF_INFLIGHT_MAX;
    if (p->state == RF_REPLICATE && p->inflight >= window) {
        p->inflight_head = (p->inflight_head + 1) % RF_INFLIGHT_MAX;
        p->inflight--;
    }
    if (p->state == RF_SNAPSHOTTING && r->now - p->snap_sent_ms >= r->o.election_ms / 2)
        send_snapshot_chunk(r, slot); /* a chunk or its answer was lost */
    else if (p->match < rf_last_index(r)) {
        /* Behind with nothing out (an APPEND or its answer was lost): an
         * empty APPEND at next - 1 finds out where it stands. */
        if (p->state == RF_REPLICATE && p->next > rf_last_index(r))
            send_append(r, slot);
        else
            maybe_send(r, slot);
    }
    serve_reads(r);
}

static void on_snapshot_resp(rf_core *r, const rf_msg *m, uint32_t slot)
{
    rf_progress *p = &r->prog[slot];
    heard_from(r, p, m);
    if (p->state != RF_SNAPSHOTTING)
        return;
    if (m->reject || m->snap_index != p->snap_index) {
        to_probe(p);
        p->next = p->match + 1;
        send_append(r, slot);
        return;
    }
    if (m->done) {
        /* Installed and durable there. */
        if (m->index > p->match)
            p->match = m->index;
        p->next = p->match + 1;
        to_probe(p);
        maybe_commit(r);
        send_append(r, slot);
        return;
    }
    /* The follower says how much it has: go on from there. */
    if (m->offset <= r->snap_len)
        p->snap_offset = m->offset;
    if (p->snap_offset < r->snap_len)
        send_snapshot_chunk(r, slot);
}

/* ------------------------------------------------------------------------ */
/* Follower */

static void heard_from_leader(rf_core *r, rf_id from)
{
    if (r->role != RF_FOLLOWER || r->leader != from)
        set_role(r, RF_FOLLOWER, from);
    r->transfer_campaign = false;
    r->last_leader_contact = r->now;
    reset_election_timer(r);
}

static void advance_commit(rf_core *r, uint64_t to)
{
    if (to > r->commit)
        r->commit = to;
}

/* Entries prev+1, prev+2, ... with terms that never go down and never
 * pass the leader's: anything else is not from a correct leader. */
static bool append_well_formed(const rf_msg *m)
{
    uint64_t t = m->prev_term;
    for (uint32_t k = 0; k < m->nentries; k++) {
        const rf_entry *e = &m->entries[k];
        if (e->index != m->prev_index + 1 + k || e->term < t || e->term > m->term || e->term == 0 ||
            e->type < RF_ENTRY_NORMAL || e->type > RF_ENTRY_CONFIG)
            return false;
        t = e->term;
    }
    return m->prev_term <= m->term;
}

static void on_append(rf_core *r, const rf_msg *m)
{
    if (!append_well_formed(m))
        return;
    heard_from_leader(r, m->from);
    rf_msg resp = reply_to(r, RF_MSG_APPEND_RESP, m->from);
    resp.ctx = m->ctx;
    resp.sent_ms = m->sent_ms;
    if (r->installing) {
        resp.reject = true; /* busy installing: the leader probes again */
        resp.index = m->prev_index;
        resp.hint_index = r->commit + 1 <= m->prev_index ? r->commit + 1 : m->prev_index;
        send_gated(r, &resp, 0);
        return;
    }
    if (m->prev_index < r->commit) {
        /* Everything up to our commit matches any leader's log. */
        resp.index = r->commit;
        send_gated(r, &resp, r->commit);
        return;
    }
    bool ok;
    uint64_t t = rf_term_at(r, m->prev_index, &ok);
    if (m->prev_index > rf_last_index(r) || !ok || t != m->prev_term) {
        resp.reject = true;
        resp.index = m->prev_index;
        if (m->prev_index > rf_last_index(r) || !ok) {
            resp.hint_index = rf_last_index(r) + 1;
            resp.hint_term = 0;
        } else {
            uint64_t i = m->prev_index;
            while (i - 1 > r->base_index && i - 1 > r->commit && term_at(r, i - 1) == t)
                i--;
            resp.hint_index = i;
            resp.hint_term = t;
        }
        send_gated(r, &resp, 0);
        return;
    }
    bool config_touched = false;
    for (uint32_t k = 0; k < m->nentries; k++) {
        const rf_entry *e = &m->entries[k];
        if (e->index <= rf_last_index(r)) {
            if (term_at(r, e->index) == e->term)
                continue;
            if (bug(r, RF_BUG_NO_TRUNCATE))
                continue; /* keeps the conflicting entry: logs diverge */
            /* Safety: a committed entry is never replaced. */
            assert(e->index > r->commit);
            log_truncate(r, e->index);
            if (r->stable >= e->index)
                r->stable = e->index - 1;
            /* Writes still in flight reach no further than what stays: an
             * acknowledgement of one must not vouch for entries a later
             * request rewrites (even with the same index and term). */
            for (uint32_t j = 0; j < r->npq; j++)
                if (r->pq[j].last >= e->index) {
                    r->pq[j].last = e->index - 1;
                    r->pq[j].last_term = term_at(r, e->index - 1);
                }
            config_touched = true;
        }
        log_push(r, e->term, e->type, e->data, e->len);
        dirty_from(r, e->index);
        if (e->type == RF_ENTRY_CONFIG)
            config_touched = true;
    }
    if (config_touched)
        recompute_config(r);
    uint64_t last_new = m->prev_index + m->nentries;
    if (last_new > r->verified)
        r->verified = last_new;
    advance_commit(r, m->commit < last_new ? m->commit : last_new);
    resp.index = last_new;
    send_gated(r, &resp, last_new);
}

static void on_heartbeat(rf_core *r, const rf_msg *m)
{
    heard_from_leader(r, m->from);
    if (!r->installing) {
        uint64_t to = m->commit < rf_last_index(r) ? m->commit : rf_last_index(r);
        advance_commit(r, to);
    }
    rf_msg resp = reply_to(r, RF_MSG_HEARTBEAT_RESP, m->from);
    resp.ctx = m->ctx;
    resp.sent_ms = m->sent_ms;
    send_gated(r, &resp, 0);
}

static void on_snapshot(rf_core *r, const rf_msg *m)
{
    heard_from_leader(r, m->from);
    rf_msg resp = reply_to(r, RF_MSG_SNAPSHOT_RESP, m->from);
    resp.snap_index = m->snap_index;
    resp.sent_ms = m->sent_ms;
    if (r->installing) {
        if (m->snap_index == r->install_index) {
            resp.offset = m->total;
            return; /* its ack comes with SNAPSHOT_PERSISTED */
        }
        resp.reject = true;
        send_gated(r, &resp, 0);
        return;
    }
    if (m->snap_index <= r->commit) {
        /* Nothing to install: we already have all of it. */
        resp.done = true;
        resp.index = r->commit;
        send_gated(r, &resp, r->commit);
        return;
    }
    /* A snapshot's last entry is of a term no later than the leader's, and
     * not 0 (what the log would refuse to mark is refused here). */
    if (m->snap_term == 0 || m->snap_term > m->term || m->snap_index == 0) {
        resp.reject = true;
        send_gated(r, &resp, 0);
        return;
    }
    if (m->offset == 0) {
        r->rx_len = 0;
        r->rx_index = m->snap_index;
        r->rx_term = m->snap_term;
    }
    if (m->snap_index != r->rx_index || m->offset != r->rx_len || m->offset + m->len > m->total ||
        m->offset + m->len < m->offset) {
        resp.offset = r->rx_index == m->snap_index ? r->rx_len : 0;
        send_gated(r, &resp, 0);
        return;
    }
    if (r->rx_len + m->len > r->rx_cap) {
        /* Grown with what arrives (doubling), never to the total a message
         * claims: a peer's number alone allocates nothing. */
        uint64_t want = r->rx_len + m->len, cap = r->rx_cap ? r->rx_cap : 4096;
        while (cap < want)
            cap *= 2;
        if (cap > m->total)
            cap = m->total > want ? m->total : want;
        r->rx_cap = cap;
        r->rx_snap = xrealloc(r->rx_snap, r->rx_cap);
    }
    if (m->len)
        memcpy(r->rx_snap + r->rx_len, m->data, m->len);
    r->rx_len += m->len;
    resp.offset = r->rx_len;
    if (!m->done || r->rx_len != m->total) {
        send_gated(r, &resp, 0);
        return;
    }
    /* The whole snapshot. If the log holds its last entry, it is only a
     * commit: keep the entries after it (Raft's InstallSnapshot rule). */
    bool ok;
    uint64_t t = rf_term_at(r, m->snap_index, &ok);
    if (ok && t == m->snap_term && m->snap_index <= rf_last_index(r) &&
        m->snap_index <= r->verified) {
        advance_commit(r, m->snap_index);
        resp.done = true;
        resp.index = m->snap_index;
        send_gated(r, &resp, m->snap_index);
        return;
    }
    log_reset(r, m->snap_index, m->snap_term);
    r->snap_index = m->snap_index;
    r->snap_term = m->snap_term;
    r->snap_config = m->snap_config;
    r->commit = r->applied = m->snap_index;
    if (r->stable > m->snap_index)
        r->stable = m->snap_index;
    r->verified = m->snap_index;
    recompute_config(r);
    r->installing = true;
    r->install_index = m->snap_index;
    r->out.install = true;
    r->out.snap_index = m->snap_index;
    r->out.snap_term = m->snap_term;
    r->out.snap_config = m->snap_config;
    r->out.snap_data = r->rx_snap;
    r->out.snap_len = r->rx_len;
    /* Keep the bytes: this node may lead later and send them on. */
    free(r->snap_data);
    r->snap_data = xrealloc(NULL, r->rx_len);
    memcpy(r->snap_data, r->rx_snap, r->rx_len);
    r->snap_len = r->rx_len;
}

static void on_snapshot_persisted(rf_core *r)
{
    if (!r->installing)
        return;
    r->installing = false;
    if (r->stable < r->install_index)
        r->stable = r->install_index;
    if (r->leader && r->role == RF_FOLLOWER) {
        rf_msg resp = reply_to(r, RF_MSG_SNAPSHOT_RESP, r->leader);
        resp.snap_index = r->install_index;
        resp.done = true;
        resp.index = r->install_index;
        send_gated(r, &resp, r->install_index);
    }
}

/* ------------------------------------------------------------------------ */
/* Votes */

/* A follower that heard from a leader within the election timeout ignores
 * campaigns (check-quorum's lease): a node cut off and back cannot depose
 * a working leader. */
static bool in_lease(const rf_core *r)
{
    bool cq = r->o.check_quorum && !bug(r, RF_BUG_LEASE_NO_CHECK_QUORUM);
    if (r->role == RF_LEADER)
        return cq;
    /* A restarted node does not know when it last heard from a leader: it
     * waits an election timeout before it votes, or it could help depose a
     * leader whose lease it had just confirmed. */
    if (cq && r->now < r->vote_block_until)
        return true;
    return cq && r->leader != 0 && r->now - r->last_leader_contact < r->o.election_ms;
}

static void on_vote_request(rf_core *r, const rf_msg *m)
{
    bool pre = m->type == RF_MSG_PREVOTE;
    rf_msg resp = reply_to(r, pre ? RF_MSG_PREVOTE_RESP : RF_MSG_VOTE_RESP, m->from);
    bool up = log_up_to_date(r, m->last_index, m->last_term) || bug(r, RF_BUG_VOTE_ANY_LOG);
    /* A node that knows no membership yet (joining, perhaps with a wiped
     * disk under an id that is still a voter) grants nothing: it cannot
     * know what it granted before. */
    up = up && r->config.nvoters > 0;
    bool grant;
    if (pre) {
        /* A pre-vote changes nothing here. */
        grant = m->term > r->term && up && (m->transfer || !in_lease(r));
        resp.term = grant ? m->term : r->term;
    } else {
        grant = m->term == r->term && (r->vote == 0 || r->vote == m->from) && up;
        if (grant) {
            set_hard_state(r, r->term, m->from);
            reset_election_timer(r);
        }
    }
    resp.reject = !grant;
    send_gated(r, &resp, 0);
}

static void on_vote_resp(rf_core *r, const rf_msg *m)
{
    bool pre = m->type == RF_MSG_PREVOTE_RESP;
    if ((pre && r->role != RF_PRECANDIDATE) || (!pre && r->role != RF_CANDIDATE))
        return;
    if (!is_voter(r, m->from) || id_in(r->granted, r->ngranted, m->from) ||
        id_in(r->rejected, r->nrejected, m->from))
        return;
    if (!m->reject)
        r->granted[r->ngranted++] = m->from;
    else
        r->rejected[r->nrejected++] = m->from;
    if (r->ngranted >= quorum(r)) {
        if (pre)
            campaign(r, false, r->transfer_campaign);
        else
            become_leader(r);
    } else if (r->nrejected >= quorum(r)) {
        become_follower(r, r->term, 0);
    }
}

/* ------------------------------------------------------------------------ */
/* Receiving */

static void on_recv(rf_core *r, const rf_msg *m)
{
    if (m->to != r->o.id || m->from == r->o.id || m->from == 0)
        return;
    if (m->term > r->term) {
        if (m->type == RF_MSG_PREVOTE) {
            /* No term change for a pre-vote. */
        } else if (m->type == RF_MSG_PREVOTE_RESP && !m->reject) {
            /* Our own future term, granted. */
        } else if (m->type == RF_MSG_VOTE && !m->transfer && in_lease(r)) {
            return; /* a live leader: ignore the campaign */
        } else {
            bool from_leader = m->type == RF_MSG_APPEND || m->type == RF_MSG_HEARTBEAT ||
                               m->type == RF_MSG_SNAPSHOT;
            become_follower(r, m->term, from_leader ? m->from : 0);
        }
    } else if (m->term < r->term) {
        if (m->type == RF_MSG_APPEND || m->type == RF_MSG_HEARTBEAT) {
            /* A deposed leader: tell it our term so it steps down (with
             * pre-vote and check-quorum it could otherwise never learn). */
            rf_msg resp = reply_to(r, RF_MSG_APPEND_RESP, m->from);
            resp.reject = true;
            send_gated(r, &resp, 0);
        } else if (m->type == RF_MSG_PREVOTE) {
            rf_msg resp = reply_to(r, RF_MSG_PREVOTE_RESP, m->from);
            resp.reject = true;
            send_gated(r, &resp, 0);
        }
        return;
    }

    switch (m->type) {
    case RF_MSG_PREVOTE:
    case RF_MSG_VOTE: on_vote_request(r, m); return;
    case RF_MSG_PREVOTE_RESP:
    case RF_MSG_VOTE_RESP: on_vote_resp(r, m); return;
    case RF_MSG_APPEND:
    case RF_MSG_HEARTBEAT:
    case RF_MSG_SNAPSHOT:
        if (r->role == RF_LEADER)
            return; /* two leaders in one term cannot be: ignore */
        if (m->type == RF_MSG_APPEND)
            on_append(r, m);
        else if (m->type == RF_MSG_HEARTBEAT)
            on_heartbeat(r, m);
        else
            on_snapshot(r, m);
        return;
    case RF_MSG_TIMEOUT_NOW:
        if (is_voter(r, r->o.id) && r->role != RF_LEADER)
            campaign(r, false, true);
        return;
    default: break;
    }
    /* Responses to a leader. */
    if (r->role != RF_LEADER)
        return;
    int slot = rf_member_slot(r, m->from);
    if (slot < 0)
        return;
    switch (m->type) {
    case RF_MSG_APPEND_RESP: on_append_resp(r, m, (uint32_t)slot); break;
    case RF_MSG_HEARTBEAT_RESP: on_heartbeat_resp(r, m, (uint32_t)slot); break;
    case RF_MSG_SNAPSHOT_RESP: on_snapshot_resp(r, m, (uint32_t)slot); break;
    default: break;
    }
}

/* ------------------------------------------------------------------------ */
/* Local events */

static void on_timeout(rf_core *r)
{
    if (r->role == RF_LEADER) {
        if (r->now >= r->heartbeat_deadline)
            broadcast_heartbeat(r);
        if (r->transferee && r->now >= r->transfer_deadline)
            r->transferee = 0;
        if (r->now >= r->check_quorum_deadline) {
            r->check_quorum_deadline = r->now + r->o.election_ms;
            if (r->o.check_quorum) {
                uint32_t active = 0;
                for (uint32_t i = 0; i < r->config.nvoters; i++) {
                    rf_id id = r->config.voters[i];
                    int s = rf_member_slot(r, id);
                    if (id == r->o.id || r->prog[s].active)
                        active++;
                }
                for (uint32_t i = 0; i < r->nmembers; i++)
                    r->prog[i].active = false;
                if (active < quorum(r)) {
                    become_follower(r, r->term, 0);
                    return;
                }
            }
        }
        return;
    }
    if (r->now < r->election_deadline)
        return;
    if (!is_voter(r, r->o.id) || r->installing) {
        reset_election_timer(r);
        return;
    }
    campaign(r, r->o.pre_vote, false);
}

/* A leader not handing over: what proposals and changes need. */
static bool leading(rf_core *r)
{
    if (r->role != RF_LEADER)
        r->err = RF_ERR_NOT_LEADER;
    else if (r->transferee)
        r->err = RF_ERR_TRANSFERRING;
    return r->err == RF_OK;
}

static void on_propose(rf_core *r, const rf_event *ev)
{
    if (!leading(r))
        return;
    if (ev->len > UINT32_MAX) {
        r->err = RF_ERR_TOO_BIG;
        return;
    }
    append_entry(r, RF_ENTRY_NORMAL, ev->data, ev->len);
    broadcast_append(r);
    maybe_commit(r);
}

static void on_conf_change(rf_core *r, const rf_event *ev)
{
    if (!leading(r))
        return;
    /* Safety: one change at a time, and only once this leader has
     * committed an entry of its term (the single-server change bug). */
    if (r->commit < r->noop_index && !bug(r, RF_BUG_CONF_EARLY)) {
        r->err = RF_ERR_NOT_READY;
        return;
    }
    if (r->config_index > r->commit && !bug(r, RF_BUG_CONF_EARLY)) {
        r->err = RF_ERR_CONF_PENDING;
        return;
    }
    rf_config c = r->config;
    rf_id id = ev->conf_id;
    bool voter = rf_config_is_voter(&c, id), learner = rf_config_is_learner(&c, id);
    switch (ev->conf_op) {
    case RF_CONF_ADD_LEARNER:
        if (id == 0 || voter || learner || c.nvoters + c.nlearners >= RF_MAX_MEMBERS) {
            r->err = RF_ERR_CONF_INVALID;
            return;
        }
        ids_insert(c.learners, &c.nlearners, id);
        break;
    case RF_CONF_PROMOTE: {
        if (!learner) {
            r->err = RF_ERR_CONF_INVALID;
            return;
        }
        const rf_progress *p = &r->prog[rf_member_slot(r, id)];
        if (p->match < r->commit) {
            r->err = RF_ERR_NOT_CAUGHT_UP;
            return;
        }
        ids_remove(c.learners, &c.nlearners, id);
        ids_insert(c.voters, &c.nvoters, id);
        break;
    }
    case RF_CONF_REMOVE:
        if (!voter && !learner) {
            r->err = RF_ERR_CONF_INVALID;
            return;
        }
        if (voter) {
            if (c.nvoters == 1) {
                r->err = RF_ERR_CONF_INVALID;
                return;
            }
            ids_remove(c.voters, &c.nvoters, id);
        } else
            ids_remove(c.learners, &c.nlearners, id);
        break;
    default: r->err = RF_ERR_CONF_INVALID; return;
    }
    unsigned char buf[RF_CONFIG_ENCODED_MAX];
    size_t n = rf_config_encode(&c, buf);
    append_entry(r, RF_ENTRY_CONFIG, buf, n);
    set_config(r, &c, rf_last_index(r));
    broadcast_append(r);
    maybe_commit(r);
}

static void on_transfer(rf_core *r, const rf_event *ev)
{
    if (r->role != RF_LEADER) {
        r->err = RF_ERR_NOT_LEADER;
        return;
    }
    if (ev->to == r->o.id)
        return;
    int slot = rf_member_slot(r, ev->to);
    if (slot < 0 || !is_voter(r, ev->to)) {
        r->err = RF_ERR_CONF_INVALID;
        return;
    }
    r->transferee = ev->to;
    r->transfer_deadline = r->now + r->o.election_ms;
    if (r->prog[slot].match == rf_last_index(r))
        send_timeout_now(r, ev->to);
    else
        maybe_send(r, (uint32_t)slot);
}

static void on_local_snapshot(rf_core *r, const rf_event *ev)
{
    /* The same snapshot is taken again after a restart (the core has its
     * index from rf_restore_snapshot, not its bytes). */
    if (ev->index < r->snap_index || (ev->index == r->snap_index && r->snap_data) ||
        ev->index > r->applied)
        return;
    r->snap_config = config_at(r, ev->index);
    r->snap_term = term_at(r, ev->index);
    r->snap_index = ev->index;
    free(r->snap_data);
    r->snap_data = xrealloc(NULL, ev->len);
    if (ev->len)
        memcpy(r->snap_data, ev->data, ev->len);
    r->snap_len = ev->len;
    uint64_t upto = ev->index > ev->trailing ? ev->index - ev->trailing : 0;
    if (upto > r->stable)
        upto = r->stable;
    if (upto >= r->log_start)
        log_compact(r, upto);
}

static void on_persisted(rf_core *r, uint64_t seq)
{
    if (seq <= r->persisted_seq || seq > r->seq)
        return;
    r->persisted_seq = seq;
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->npq; i++) {
        rf_inflight_persist *q = &r->pq[i];
        if (q->seq > seq) {
            r->pq[k++] = *q;
            continue;
        }
        /* Durable through q->last, if the log still holds what it wrote
         * (a later request may have replaced it: its own ack covers that). */
        if (q->last && q->last > r->stable && q->last <= rf_last_index(r) &&
            term_at(r, q->last) == q->last_term)
            r->stable = q->last;
    }
    r->npq = k;
    maybe_commit(r);
    /* What a leader held back until its term was durable goes now. */
    if (r->role == RF_LEADER)
        broadcast_append(r);
}

/* ------------------------------------------------------------------------ */
/* The step */

static int64_t min_deadline(int64_t a, int64_t b) { return a < 0 ? b : b < 0 ? a : a < b ? a : b; }

static void finish(rf_core *r)
{
    rf_update *o = &r->out;
    if (r->persist_hs || r->persist_first) {
        r->seq++;
        rf_persist *p = &o->persist;
        p->seq = r->seq;
        if (r->persist_hs) {
            p->hard_state = true;
            p->term = r->term;
            p->vote = r->vote;
            r->hs_seq = r->seq;
        }
        uint64_t last = rf_last_index(r);
        if (r->persist_first && r->persist_first <= last) {
            if (r->persist_first < r->log_start)
                r->persist_first = r->log_start;
            p->first = r->persist_first;
            p->nentries = (uint32_t)(last - r->persist_first + 1);
            p->entries = entry_at(r, r->persist_first);
        } else if (r->persist_first) {
            /* A truncation with nothing after it. */
            p->first = r->persist_first;
        }
        if (r->npq == r->cappq) {
            r->cappq = r->cappq ? r->cappq * 2 : 16;
            r->pq = xrealloc(r->pq, r->cappq * sizeof(*r->pq));
        }
        r->pq[r->npq++] = (rf_inflight_persist){
            r->seq, p->nentries ? last : 0, p->nentries ? rf_last_term(r) : 0};
        r->persist_hs = false;
        r->persist_first = 0;
    }
    release_held(r);

    /* A leader removed from the membership steps down once the change is
     * committed; the rest elect a new one. */
    if (r->role == RF_LEADER && !is_voter(r, r->o.id) && r->commit >= r->config_index) {
        fail_reads(r);
        set_role(r, RF_FOLLOWER, 0);
        reset_election_timer(r);
    }

    /* Apply: committed and durable here. */
    uint64_t upto = r->commit < r->stable ? r->commit : r->stable;
    if (bug(r, RF_BUG_APPLY_UNCOMMITTED) && r->role == RF_FOLLOWER)
        upto = r->stable;
    if (upto > rf_last_index(r))
        upto = rf_last_index(r);
    if (upto > r->applied) {
        o->apply_from = r->applied + 1;
        o->apply_to = upto;
        r->applied = upto;
    }

    int64_t d;
    if (r->role == RF_LEADER) {
        d = min_deadline(r->heartbeat_deadline, r->check_quorum_deadline);
        if (r->transferee)
            d = min_deadline(d, r->transfer_deadline);
    } else {
        d = r->election_deadline;
    }
    o->deadline = d;
}

void rf_step(rf_core *r, const rf_event *ev)
{
    rf_update *o = &r->out;
    rf_msg *msgs = o->msgs;
    rf_read *reads = o->reads;
    uint64_t *fails = o->read_fails;
    memset(o, 0, sizeof(*o));
    o->msgs = msgs, o->reads = reads, o->read_fails = fails;
    o->apply_from = 1;
    o->apply_to = 0;
    r->err = RF_OK;
    if (ev->now_ms > r->now)
        r->now = ev->now_ms;

    switch (ev->type) {
    case RF_EV_TIMEOUT: on_timeout(r); break;
    case RF_EV_RECV: on_recv(r, ev->msg); break;
    case RF_EV_PROPOSE: on_propose(r, ev); break;
    case RF_EV_READ: on_read(r, ev); break;
    case RF_EV_PERSISTED: on_persisted(r, ev->seq); break;
    case RF_EV_SNAPSHOT: on_local_snapshot(r, ev); break;
    case RF_EV_SNAPSHOT_PERSISTED: on_snapshot_persisted(r); break;
    case RF_EV_CONF_CHANGE: on_conf_change(r, ev); break;
    case RF_EV_TRANSFER: on_transfer(r, ev); break;
    case RF_EV_UNREACHABLE: {
        int s = r->role == RF_LEADER ? rf_member_slot(r, ev->to) : -1;
        if (s >= 0 && r->prog[s].state == RF_REPLICATE) {
            r->prog[s].next = r->prog[s].match + 1;
            to_probe(&r->prog[s]);
        }
        break;
    }
    default: break;
    }
    finish(r);
}

/* ------------------------------------------------------------------------ */
/* Life cycle */

void rf_init(rf_core *r, const rf_options *o, const rf_config *bootstrap, int64_t now_ms)
{
    memset(r, 0, sizeof(*r));
    r->o = *o;
    if (r->o.max_inflight == 0 || r->o.max_inflight > RF_INFLIGHT_MAX)
        r->o.max_inflight = RF_INFLIGHT_MAX;
    if (r->o.max_batch_entries == 0)
        r->o.max_batch_entries = 1;
    if (r->o.snapshot_chunk == 0)
        r->o.snapshot_chunk = 256 << 10;
    kprng_seed(&r->rng, o->seed ^ (o->id * 0x9e3779b97f4a7c15ULL));
    r->role = RF_FOLLOWER;
    r->now = now_ms;
    r->log_start = 1;
    if (bootstrap)
        r->bootstrap = *bootstrap;
    r->out.apply_from = 1;
    r->out.deadline = -1;
}

void rf_free(rf_core *r)
{
    log_truncate(r, r->log_start);
    free(r->log);
    free(r->snap_data);
    free(r->rx_snap);
    free(r->held);
    free(r->preads);
    free(r->pq);
    free(r->out.msgs);
    free(r->out.reads);
    free(r->out.read_fails);
    memset(r, 0, sizeof(*r));
}

void rf_restore_hard_state(rf_core *r, uint64_t term, rf_id vote)
{
    r->term = term;
    r->vote = bug(r, RF_BUG_FORGET_VOTE) ? 0 : vote;
}

void rf_restore_snapshot(rf_core *r, uint64_t index, uint64_t term, const rf_config *c)
{
    log_reset(r, index, term);
    r->snap_index = index;
    r->snap_term = term;
    r->snap_config = *c;
    r->commit = r->applied = r->stable = index;
}

void rf_restore_entry(rf_core *r, uint64_t index, uint64_t term, uint8_t type, const void *data,
                      size_t len)
{
    if (index <= r->base_index)
        return; /* covered by the snapshot */
    if (index <= rf_last_index(r))
        log_truncate(r, index);
    if (index != rf_last_index(r) + 1)
        return; /* a gap: the caller checked the log; ignore what cannot fit */
    log_push(r, term, type, data, len);
    r->stable = index;
}

void rf_start(rf_core *r, uint64_t applied, int64_t now_ms)
{
    r->now = now_ms;
    if (applied > r->applied)
        r->applied = applied;
    if (r->commit < r->applied)
        r->commit = r->applied;
    r->stable = rf_last_index(r);
    r->role = RF_FOLLOWER;
    r->leader = 0;
    recompute_config(r);
    rebuild_members(r);
    reset_election_timer(r);
    if (r->term > 0)
        r->vote_block_until = now_ms + r->o.election_ms;
    r->out.deadline = r->election_deadline;
}
