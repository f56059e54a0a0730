/* raft_net.h: a deterministic network of pure Raft cores (core/raft/raft.h)
 * for the unit tests, header only.
 *
 * Nodes have ids 1..n and share a virtual clock (net.now). Each node has
 * - a "disk": the durable hard state, entries and snapshot (meta + bytes),
 *   written when the harness carries out the core's out.persist and
 *   out.install requests. Requests are queued per node and carried out
 *   either at once (the default), at the next tick (disk_lag) or when the
 *   test says so (net_hold + net_flush), so a test can hold a write back;
 * - a state machine: the list of applied entries (index, term, type, data
 *   copy). A snapshot's bytes are that list, serialized, so installing one
 *   restores exactly the history it covers;
 * - its messages in one global queue, delivered in order (or reordered,
 *   delayed, dropped with a seeded kprng), never across a cut.
 *
 * The harness checks the contract and the safety properties as it goes:
 * at most one leader per term, at most one granted vote per voter and term
 * (across restarts), a durable vote never changes within a term, terms
 * never go down, entries are applied in order, once, only when committed
 * and durable locally, every applied entry equals what any other node
 * applied at that index (the "chosen" log), a node never writes over an
 * entry it applied, and a new leader of the highest term holds every
 * chosen entry. net_check_safety() rechecks all at the end.
 *
 * Set RAFT_TRACE=1 in the environment to print every step and message,
 * RAFT_BUG=commit-old-term (a name of raft.h's RF_BUGS, or several with
 * commas) to plant a known bug in every core and see which tests fail. */
#ifndef KEEL_TESTS_UNIT_RAFT_NET_H
#define KEEL_TESTS_UNIT_RAFT_NET_H

#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/raft/raft.h"
#include "core/util/prng.h"

#define NET_MAXN 7
#define NET_T0 1000 /* the clock's start, ms */

typedef struct net_ent {
    uint64_t index, term;
    uint8_t type;
    uint32_t len;
    unsigned char *data;
} net_ent;

typedef struct net_disk {
    uint64_t term;
    rf_id vote;
    uint64_t snap_index, snap_term;
    rf_config snap_config;
    unsigned char *snap_data;
    size_t snap_len;
    uint64_t first; /* the index of ents[0] */
    net_ent *ents;
    size_t n, cap;
} net_disk;

enum { NET_OP_PERSIST = 1, NET_OP_INSTALL };

typedef struct net_op {
    int kind;
    /* persist */
    uint64_t seq;
    bool hs;
    uint64_t term;
    rf_id vote;
    uint64_t first;
    net_ent *ents;
    uint32_t n;
    /* install */
    uint64_t snap_index, snap_term;
    rf_config snap_config;
    unsigned char *snap_data;
    size_t snap_len;
} net_op;

typedef struct net_read {
    uint64_t ctx, index;
    uint64_t commit; /* the core's commit when the read came out */
    int64_t at;
} net_read;

typedef struct net_node {
    bool exists, alive, hold, isolated;
    rf_core r;
    rf_options o;
    rf_config boot;
    int64_t deadline;
    rf_role prev_role;
    uint64_t prev_term;
    uint64_t last_seq; /* the newest persist request seen (this life) */
    net_disk disk;
    net_op *ops;
    size_t nops, capops;
    net_ent *applied; /* applied[k].index == k + 1 */
    size_t napplied, capapplied;
    rf_config base_config; /* the membership before the first applied entry */
    net_read *reads;
    size_t nreads, capreads;
    uint64_t *fails;
    size_t nfails, capfails;
    int lives;
} net_node;

typedef struct net_qmsg {
    rf_msg m;
    int64_t at; /* not delivered before */
} net_qmsg;

typedef struct net_chosen {
    bool set;
    uint64_t term;
    uint8_t type;
    uint32_t len;
    unsigned char *data;
    int by; /* the first node that applied it */
} net_chosen;

typedef struct net net;
/* Called for each message about to be delivered; may edit the (copied)
 * message; false drops it. */
typedef bool (*net_filter_fn)(net *t, rf_msg *m, void *arg);

struct net {
    int n; /* the highest id in use */
    int64_t now;
    kprng rng;
    rf_options tmpl;
    net_node node[NET_MAXN + 1];
    bool cut[NET_MAXN + 1][NET_MAXN + 1];
    /* unreliability, in millionths */
    uint32_t drop_ppm, delay_ppm, disk_lag_ppm;
    int64_t max_delay;
    bool reorder;
    net_qmsg *q;
    size_t nq, capq;
    net_filter_fn filter;
    void *filter_arg;
    /* automatic snapshots: a node whose applied index is snap_every past
     * its snapshot takes one (keeping snap_trailing entries) */
    uint64_t snap_every, snap_trailing;
    /* statistics: messages sent by from, to, type; rejections by sender */
    uint64_t sent[NET_MAXN + 1][NET_MAXN + 1][RF_MSG_TYPE_MAX + 1];
    uint64_t rejects[NET_MAXN + 1][RF_MSG_TYPE_MAX + 1];
    uint64_t delivered, dropped, steps;
    /* safety bookkeeping */
    rf_id *leaders; /* by term */
    size_t nleaders;
    uint64_t max_leader_term;
    rf_id (*votes)[NET_MAXN + 1]; /* by term, voter: the candidate */
    size_t nvotes;
    net_chosen *chosen; /* by index */
    size_t nchosen;
    bool trace;
};

/* ------------------------------------------------------------------------ */
/* Small things */

#define NET_GROW(arr, len, cap)                                                   \
    do {                                                                          \
        if ((len) >= (cap)) {                                                     \
            (cap) = (cap) ? 2 * (cap) : 16;                                       \
            if ((cap) <= (len))                                                   \
                (cap) = (len) + 16;                                               \
            (arr) = realloc((arr), (cap) * sizeof *(arr));                        \
            cr_assert_not_null((arr), "out of memory");                           \
        }                                                                         \
    } while (0)

static inline unsigned char *net_memdup(const void *p, size_t n)
{
    unsigned char *d = malloc(n ? n : 1);
    cr_assert_not_null(d);
    if (n)
        memcpy(d, p, n);
    return d;
}

static inline bool net_chance(net *t, uint32_t ppm)
{
    return ppm && kprng_below(&t->rng, 1000000) < ppm;
}

__attribute__((format(printf, 2, 3))) static inline void net_tr(net *t, const char *fmt, ...)
{
    if (!t->trace)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[t=%" PRId64 "] ", t->now);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static inline const char *net_role(rf_role role)
{
    switch (role) {
    case RF_FOLLOWER: return "follower";
    case RF_PRECANDIDATE: return "precandidate";
    case RF_CANDIDATE: return "candidate";
    case RF_LEADER: return "leader";
    }
    return "?";
}

static inline const char *net_mtype(int type)
{
    static const char *names[] = {"?",           "PREVOTE",   "PREVOTE_RESP", "VOTE",
                                  "VOTE_RESP",   "APPEND",    "APPEND_RESP",  "HEARTBEAT",
                                  "HEARTBEAT_RESP", "SNAPSHOT", "SNAPSHOT_RESP", "TIMEOUT_NOW"};
    return type >= 1 && type <= RF_MSG_TYPE_MAX ? names[type] : "?";
}

static inline void net_ent_free(net_ent *e)
{
    free(e->data);
    e->data = NULL;
}

static inline void net_ent_copy(net_ent *d, const rf_entry *e)
{
    d->index = e->index;
    d->term = e->term;
    d->type = e->type;
    d->len = e->len;
    d->data = net_memdup(e->data, e->len);
}

static inline rf_core *net_core(net *t, int id)
{
    cr_assert(id >= 1 && id <= NET_MAXN && t->node[id].exists, "no node %d", id);
    return &t->node[id].r;
}

/* The deterministic data of a hand-built entry: every node that holds
 * (index, term) holds the same bytes, as log matching requires. */
static inline size_t net_gen_data(uint64_t index, uint64_t term, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "e%" PRIu64 "t%" PRIu64, index, term);
    return (size_t)n;
}

/* ------------------------------------------------------------------------ */
/* Safety bookkeeping */

static inline void net_chosen_check(net *t, int id, uint64_t index, uint64_t term, uint8_t type,
                                    uint32_t len, const unsigned char *data, const char *what)
{
    if (index >= t->nchosen) {
        size_t old = t->nchosen;
        size_t cap = old ? old : 64;
        while (cap <= index)
            cap *= 2;
        t->chosen = realloc(t->chosen, cap * sizeof *t->chosen);
        cr_assert_not_null(t->chosen);
        memset(t->chosen + old, 0, (cap - old) * sizeof *t->chosen);
        t->nchosen = cap;
    }
    net_chosen *c = &t->chosen[index];
    if (!c->set) {
        c->set = true;
        c->term = term;
        c->type = type;
        c->len = len;
        c->data = net_memdup(data, len);
        c->by = id;
        return;
    }
    cr_assert(c->term == term && c->type == type && c->len == len &&
                  (len == 0 || memcmp(c->data, data, len) == 0),
              "SAFETY: node %d %s index %" PRIu64 " term %" PRIu64 " type %u len %u, but node %d "
              "applied term %" PRIu64 " type %u len %u there",
              id, what, index, term, type, len, c->by, c->term, c->type, c->len);
}

static inline const net_chosen *net_chosen_at(net *t, uint64_t index)
{
    return index < t->nchosen && t->chosen[index].set ? &t->chosen[index] : NULL;
}

static inline uint64_t net_chosen_last(net *t)
{
    uint64_t last = 0;
    for (uint64_t i = 1; i < t->nchosen; i++)
        if (t->chosen[i].set)
            last = i;
    return last;
}

static inline void net_note_vote(net *t, rf_id voter, rf_id cand, uint64_t term)
{
    if (term >= t->nvotes) {
        size_t old = t->nvotes, cap = old ? old : 64;
        while (cap <= term)
            cap *= 2;
        t->votes = realloc(t->votes, cap * sizeof *t->votes);
        cr_assert_not_null(t->votes);
        memset(t->votes + old, 0, (cap - old) * sizeof *t->votes);
        t->nvotes = cap;
    }
    rf_id *v = &t->votes[term][voter];
    cr_assert(*v == 0 || *v == cand,
              "SAFETY: node %" PRIu64 " granted its vote in term %" PRIu64 " to %" PRIu64
              " and to %" PRIu64,
              voter, term, *v, cand);
    *v = cand;
}

/* A leader of the highest term seen holds every chosen entry (Leader
 * Completeness); entries it has compacted are skipped. */
static inline void net_check_leader_complete(net *t, int id)
{
    rf_core *r = &t->node[id].r;
    for (uint64_t i = r->snap_index + 1; i < t->nchosen; i++) {
        if (!t->chosen[i].set)
            continue;
        const rf_entry *e = rf_entry_at(r, i);
        cr_assert(e != NULL && e->term == t->chosen[i].term,
                  "SAFETY: node %d became leader of term %" PRIu64 " without the committed entry %" PRIu64
                  " (term %" PRIu64 "; it has %s term %" PRIu64 ")",
                  id, r->term, i, t->chosen[i].term, e ? "an entry of" : "nothing, last",
                  e ? e->term : rf_last_index(r));
    }
}

static inline void net_track(net *t, int id)
{
    net_node *nd = &t->node[id];
    rf_core *r = &nd->r;
    cr_assert_geq(r->term, nd->prev_term, "node %d: term went down from %" PRIu64 " to %" PRIu64, id,
                  nd->prev_term, r->term);
    if (r->role == RF_LEADER) {
        if (r->term >= t->nleaders) {
            size_t old = t->nleaders, cap = old ? old : 64;
            while (cap <= r->term)
                cap *= 2;
            t->leaders = realloc(t->leaders, cap * sizeof *t->leaders);
            cr_assert_not_null(t->leaders);
            memset(t->leaders + old, 0, (cap - old) * sizeof *t->leaders);
            t->nleaders = cap;
        }
        rf_id *l = &t->leaders[r->term];
        cr_assert(*l == 0 || *l == (rf_id)id,
                  "SAFETY: two leaders in term %" PRIu64 ": %" PRIu64 " and %d", r->term, *l, id);
        *l = (rf_id)id;
        if (nd->prev_role != RF_LEADER || nd->prev_term != r->term) {
            net_tr(t, "n%d becomes LEADER of term %" PRIu64 " (last %" PRIu64 ")", id, r->term,
                   rf_last_index(r));
            if (r->term >= t->max_leader_term)
                net_check_leader_complete(t, id);
        }
        if (r->term > t->max_leader_term)
            t->max_leader_term = r->term;
    } else if (nd->prev_role != r->role || nd->prev_term != r->term) {
        net_tr(t, "n%d is %s in term %" PRIu64, id, net_role(r->role), r->term);
    }
    nd->prev_role = r->role;
    nd->prev_term = r->term;
}

/* ------------------------------------------------------------------------ */
/* The state machine and snapshots: a snapshot's bytes are the applied list */

static inline void net_put64(unsigned char **p, uint64_t v)
{
    memcpy(*p, &v, 8);
    *p += 8;
}

static inline uint64_t net_get64(const unsigned char **p)
{
    uint64_t v;
    memcpy(&v, *p, 8);
    *p += 8;
    return v;
}

static inline unsigned char *net_serialize(const net_node *nd, uint64_t upto, size_t *len)
{
    size_t n = 4 + 8;
    for (uint64_t i = 0; i < upto; i++)
        n += 8 + 8 + 1 + 4 + nd->applied[i].len;
    unsigned char *buf = malloc(n), *p = buf;
    cr_assert_not_null(buf);
    memcpy(p, "KSNP", 4);
    p += 4;
    net_put64(&p, upto);
    for (uint64_t i = 0; i < upto; i++) {
        const net_ent *e = &nd->applied[i];
        net_put64(&p, e->index);
        net_put64(&p, e->term);
        *p++ = e->type;
        memcpy(p, &e->len, 4);
        p += 4;
        memcpy(p, e->data, e->len);
        p += e->len;
    }
    *len = n;
    return buf;
}

static inline void net_sm_reset(net_node *nd)
{
    for (size_t i = 0; i < nd->napplied; i++)
        net_ent_free(&nd->applied[i]);
    nd->napplied = 0;
}

/* Restores the state machine of node id from snapshot bytes; checks them. */
static inline void net_deserialize(net *t, int id, const unsigned char *buf, size_t len,
                                   uint64_t snap_index, uint64_t snap_term)
{
    net_node *nd = &t->node[id];
    net_sm_reset(nd);
    cr_assert(len >= 12 && memcmp(buf, "KSNP", 4) == 0,
              "node %d: snapshot bytes (len %zu) are not the harness's", id, len);
    const unsigned char *p = buf + 4, *end = buf + len;
    uint64_t n = net_get64(&p);
    cr_assert_eq(n, snap_index, "node %d: snapshot at %" PRIu64 " holds %" PRIu64 " entries", id,
                 snap_index, n);
    for (uint64_t i = 0; i < n; i++) {
        cr_assert(end - p >= 21, "node %d: snapshot truncated", id);
        net_ent e;
        e.index = net_get64(&p);
        e.term = net_get64(&p);
        e.type = *p++;
        memcpy(&e.len, p, 4);
        p += 4;
        cr_assert((size_t)(end - p) >= e.len, "node %d: snapshot truncated", id);
        cr_assert_eq(e.index, i + 1);
        e.data = net_memdup(p, e.len);
        p += e.len;
        net_chosen_check(t, id, e.index, e.term, e.type, e.len, e.data, "restored from a snapshot");
        NET_GROW(nd->applied, nd->napplied, nd->capapplied);
        nd->applied[nd->napplied++] = e;
    }
    cr_assert(p == end, "node %d: snapshot has trailing bytes", id);
    if (n)
        cr_assert_eq(nd->applied[n - 1].term, snap_term, "node %d: snapshot term", id);
}

/* The membership as of applied index `upto`. */
static inline rf_config net_config_at(const net_node *nd, uint64_t upto)
{
    rf_config c = nd->base_config;
    for (uint64_t i = 0; i < upto && i < nd->napplied; i++) {
        const net_ent *e = &nd->applied[i];
        if (e->type == RF_ENTRY_CONFIG) {
            rf_config d;
            cr_assert(rf_config_decode(&d, e->data, e->len), "undecodable config at %" PRIu64,
                      e->index);
            c = d;
        }
    }
    return c;
}

/* ------------------------------------------------------------------------ */
/* The disk */

static inline const net_ent *net_disk_at(const net_disk *d, uint64_t index)
{
    if (d->n == 0 || index < d->first || index >= d->first + d->n)
        return NULL;
    return &d->ents[index - d->first];
}

static inline uint64_t net_disk_last(const net_disk *d)
{
    return d->n ? d->first + d->n - 1 : d->snap_index;
}

static inline void net_disk_truncate(net_disk *d, uint64_t from) /* drop >= from */
{
    if (d->n == 0 || from >= d->first + d->n)
        return;
    size_t keep = from <= d->first ? 0 : (size_t)(from - d->first);
    for (size_t i = keep; i < d->n; i++)
        net_ent_free(&d->ents[i]);
    d->n = keep;
}

static inline void net_disk_compact(net_disk *d, uint64_t upto) /* drop <= upto */
{
    if (d->n == 0 || upto < d->first)
        return;
    size_t drop = upto >= d->first + d->n ? d->n : (size_t)(upto - d->first + 1);
    for (size_t i = 0; i < drop; i++)
        net_ent_free(&d->ents[i]);
    memmove(d->ents, d->ents + drop, (d->n - drop) * sizeof *d->ents);
    d->n -= drop;
    d->first = upto + 1;
}

static inline void net_disk_free(net_disk *d)
{
    net_disk_truncate(d, 0);
    free(d->ents);
    free(d->snap_data);
    memset(d, 0, sizeof *d);
}

static inline void net_disk_persist(net *t, int id, const net_op *op)
{
    net_disk *d = &t->node[id].disk;
    if (op->hs) {
        cr_assert_geq(op->term, d->term, "node %d: durable term goes down (%" PRIu64 " -> %" PRIu64 ")",
                      id, d->term, op->term);
        cr_assert(!(op->term == d->term && d->vote != 0 && op->vote != d->vote),
                  "SAFETY: node %d changes its durable vote in term %" PRIu64 " from %" PRIu64
                  " to %" PRIu64,
                  id, d->term, d->vote, op->vote);
        d->term = op->term;
        d->vote = op->vote;
    }
    if (op->first) {
        net_disk_truncate(d, op->first);
        if (d->n == 0)
            d->first = op->first;
        cr_assert_eq(op->first, d->first + d->n,
                     "node %d: persist.first %" PRIu64 " leaves a gap after the disk's last %" PRIu64,
                     id, op->first, net_disk_last(d));
        for (uint32_t k = 0; k < op->n; k++) {
            const net_ent *e = &op->ents[k];
            cr_assert_eq(e->index, op->first + k, "node %d: persist entries are not contiguous", id);
            /* (A stale leader, or its follower, may write over an entry
             * committed elsewhere; never over one it applied itself.) */
            const net_node *nd = &t->node[id];
            cr_assert(e->index > nd->napplied || nd->applied[e->index - 1].term == e->term,
                      "SAFETY: node %d writes term %" PRIu64 " over the entry %" PRIu64
                      " (term %" PRIu64 ") it applied",
                      id, e->term, e->index, e->index <= nd->napplied ? nd->applied[e->index - 1].term : 0);
            NET_GROW(d->ents, d->n, d->cap);
            net_ent *de = &d->ents[d->n++];
            *de = *e;
            de->data = net_memdup(e->data, e->len);
        }
    }
}

static inline void net_disk_install(net *t, int id, const net_op *op)
{
    net_node *nd = &t->node[id];
    net_disk *d = &nd->disk;
    cr_assert_geq(op->snap_index, nd->napplied,
                  "node %d: installs a snapshot at %" PRIu64 " behind its applied %zu", id,
                  op->snap_index, nd->napplied);
    /* Raft §7: keep the entries after it if the log holds its last entry. */
    const net_ent *e = net_disk_at(d, op->snap_index);
    if (e && e->term == op->snap_term) {
        net_disk_compact(d, op->snap_index);
    } else {
        net_disk_truncate(d, 0);
        d->first = op->snap_index + 1;
    }
    d->snap_index = op->snap_index;
    d->snap_term = op->snap_term;
    d->snap_config = op->snap_config;
    free(d->snap_data);
    d->snap_data = net_memdup(op->snap_data, op->snap_len);
    d->snap_len = op->snap_len;
    net_deserialize(t, id, op->snap_data, op->snap_len, op->snap_index, op->snap_term);
    nd->base_config = op->snap_config;
}

static inline void net_op_free(net_op *op)
{
    for (uint32_t k = 0; k < op->n; k++)
        net_ent_free(&op->ents[k]);
    free(op->ents);
    free(op->snap_data);
    memset(op, 0, sizeof *op);
}

/* ------------------------------------------------------------------------ */
/* Messages */

static inline void net_msg_free(rf_msg *m)
{
    if (m->entries) {
        rf_entry *es = (rf_entry *)m->entries;
        for (uint32_t k = 0; k < m->nentries; k++)
            free(es[k].data);
        free(es);
    }
    free((void *)m->data);
    m->entries = NULL;
    m->data = NULL;
}

static inline void net_msg_copy(rf_msg *d, const rf_msg *m)
{
    *d = *m;
    d->entries = NULL;
    d->data = NULL;
    if (m->nentries) {
        cr_assert_not_null(m->entries);
        rf_entry *es = malloc(m->nentries * sizeof *es);
        cr_assert_not_null(es);
        for (uint32_t k = 0; k < m->nentries; k++) {
            es[k] = m->entries[k];
            es[k].data = net_memdup(m->entries[k].data, m->entries[k].len);
        }
        d->entries = es;
    }
    if (m->len && m->data)
        d->data = net_memdup(m->data, m->len);
}

static inline void net_enqueue(net *t, int from, const rf_msg *m)
{
    cr_assert_eq(m->from, (rf_id)from, "node %d sends a message from %" PRIu64, from, m->from);
    cr_assert(m->to >= 1 && m->to <= NET_MAXN && m->to != (rf_id)from,
              "node %d sends %s to %" PRIu64, from, net_mtype(m->type), m->to);
    cr_assert(m->type >= 1 && m->type <= RF_MSG_TYPE_MAX, "node %d sends type %u", from, m->type);
    t->sent[from][m->to][m->type]++;
    if (m->reject)
        t->rejects[from][m->type]++;
    if (m->type == RF_MSG_VOTE_RESP && !m->reject)
        net_note_vote(t, (rf_id)from, m->to, m->term);
    net_tr(t,
           "  n%d -> n%" PRIu64 " %s term %" PRIu64 "%s%s idx %" PRIu64 " last %" PRIu64 "/%" PRIu64
           " prev %" PRIu64 "/%" PRIu64 " n %u commit %" PRIu64 " hint %" PRIu64 "/%" PRIu64
           " ctx %" PRIu64 " snap %" PRIu64 " off %" PRIu64 "/%" PRIu64 " len %u%s",
           from, m->to, net_mtype(m->type), m->term, m->reject ? " REJECT" : "",
           m->transfer ? " transfer" : "", m->index, m->last_index, m->last_term, m->prev_index,
           m->prev_term, m->nentries, m->commit, m->hint_index, m->hint_term, m->ctx, m->snap_index,
           m->offset, m->total, m->len, m->done ? " done" : "");
    NET_GROW(t->q, t->nq, t->capq);
    net_qmsg *qm = &t->q[t->nq++];
    net_msg_copy(&qm->m, m);
    qm->at = t->now;
    if (net_chance(t, t->delay_ppm) && t->max_delay > 0)
        qm->at += 1 + (int64_t)kprng_below(&t->rng, (uint64_t)t->max_delay);
}

/* Queued messages matching from/to/type (0: any). */
static inline size_t net_count(net *t, int from, int to, int type)
{
    size_t c = 0;
    for (size_t i = 0; i < t->nq; i++) {
        const rf_msg *m = &t->q[i].m;
        if ((!from || m->from == (rf_id)from) && (!to || m->to == (rf_id)to) &&
            (!type || m->type == type))
            c++;
    }
    return c;
}

static inline const rf_msg *net_find(net *t, int from, int to, int type)
{
    for (size_t i = 0; i < t->nq; i++) {
        const rf_msg *m = &t->q[i].m;
        if ((!from || m->from == (rf_id)from) && (!to || m->to == (rf_id)to) &&
            (!type || m->type == type))
            return m;
    }
    return NULL;
}

static inline void net_clear(net *t)
{
    for (size_t i = 0; i < t->nq; i++)
        net_msg_free(&t->q[i].m);
    t->nq = 0;
}

/* ------------------------------------------------------------------------ */
/* Stepping */

static inline void net_apply(net *t, int id, uint64_t idx)
{
    net_node *nd = &t->node[id];
    rf_core *r = &nd->r;
    const rf_entry *e = rf_entry_at(r, idx);
    cr_assert_not_null(e, "node %d: out.apply reaches %" PRIu64 " but rf_entry_at gives NULL", id,
                       idx);
    cr_assert_eq(e->index, idx);
    cr_assert_eq(idx, nd->napplied + 1,
                 "node %d: applies %" PRIu64 " after %zu (out of order, or twice)", id, idx,
                 nd->napplied);
    cr_assert_leq(idx, r->commit, "node %d: applies %" PRIu64 " beyond its commit %" PRIu64, id, idx,
                  r->commit);
    const net_ent *de = net_disk_at(&nd->disk, idx);
    cr_assert(de != NULL && de->term == e->term,
              "node %d: applies %" PRIu64 " (term %" PRIu64 ") that is not durable here (disk: %s)",
              id, idx, e->term, de ? "another term" : "absent");
    net_chosen_check(t, id, idx, e->term, e->type, e->len, e->data, "applies");
    NET_GROW(nd->applied, nd->napplied, nd->capapplied);
    net_ent_copy(&nd->applied[nd->napplied++], e);
    net_tr(t, "n%d applies %" PRIu64 " (term %" PRIu64 ", type %u, %u bytes)", id, idx, e->term,
           e->type, e->len);
}

/* Takes in what the last step of node id put in r->out. */
static inline void net_collect(net *t, int id)
{
    net_node *nd = &t->node[id];
    rf_core *r = &nd->r;
    const rf_update *u = &r->out;
    net_track(t, id);
    for (uint32_t i = 0; i < u->nmsgs; i++)
        net_enqueue(t, id, &u->msgs[i]);
    if (u->apply_to >= u->apply_from && u->apply_to > 0)
        for (uint64_t i = u->apply_from; i <= u->apply_to; i++)
            net_apply(t, id, i);
    for (uint32_t i = 0; i < u->nreads; i++) {
        NET_GROW(nd->reads, nd->nreads, nd->capreads);
        nd->reads[nd->nreads++] =
            (net_read){.ctx = u->reads[i].ctx, .index = u->reads[i].index, .commit = r->commit, .at = t->now};
        net_tr(t, "n%d read ctx %" PRIu64 " ready at index %" PRIu64, id, u->reads[i].ctx,
               u->reads[i].index);
    }
    for (uint32_t i = 0; i < u->nread_fails; i++) {
        NET_GROW(nd->fails, nd->nfails, nd->capfails);
        nd->fails[nd->nfails++] = u->read_fails[i];
        net_tr(t, "n%d read ctx %" PRIu64 " fails", id, u->read_fails[i]);
    }
    if (u->persist.seq) {
        const rf_persist *p = &u->persist;
        cr_assert_gt(p->seq, nd->last_seq, "node %d: persist seq %" PRIu64 " after %" PRIu64, id,
                     p->seq, nd->last_seq);
        nd->last_seq = p->seq;
        NET_GROW(nd->ops, nd->nops, nd->capops);
        net_op *op = &nd->ops[nd->nops++];
        memset(op, 0, sizeof *op);
        op->kind = NET_OP_PERSIST;
        op->seq = p->seq;
        op->hs = p->hard_state;
        op->term = p->term;
        op->vote = p->vote;
        op->first = p->first;
        op->n = p->first ? p->nentries : 0;
        if (op->n) {
            op->ents = malloc(op->n * sizeof *op->ents);
            cr_assert_not_null(op->ents);
            for (uint32_t k = 0; k < op->n; k++)
                net_ent_copy(&op->ents[k], &p->entries[k]);
        }
        net_tr(t, "n%d persist seq %" PRIu64 "%s term %" PRIu64 " vote %" PRIu64 " first %" PRIu64
                  " n %u",
               id, p->seq, p->hard_state ? " hs" : "", p->term, p->vote, p->first, op->n);
    }
    if (u->install) {
        NET_GROW(nd->ops, nd->nops, nd->capops);
        net_op *op = &nd->ops[nd->nops++];
        memset(op, 0, sizeof *op);
        op->kind = NET_OP_INSTALL;
        op->snap_index = u->snap_index;
        op->snap_term = u->snap_term;
        op->snap_config = u->snap_config;
        op->snap_data = net_memdup(u->snap_data, u->snap_len);
        op->snap_len = u->snap_len;
        net_tr(t, "n%d install snapshot %" PRIu64 "/%" PRIu64 " (%" PRIu64 " bytes)", id,
               u->snap_index, u->snap_term, u->snap_len);
    }
    nd->deadline = u->deadline;
}

static inline rf_err net_step_raw(net *t, int id, const rf_event *ev)
{
    net_node *nd = &t->node[id];
    cr_assert(nd->exists && nd->alive, "step of node %d that is down", id);
    rf_event e = *ev;
    e.now_ms = t->now;
    t->steps++;
    rf_step(&nd->r, &e);
    rf_err err = nd->r.err;
    net_collect(t, id);
    return err;
}

/* Carries out node id's queued disk requests, in order, and acknowledges. */
static inline void net_flush(net *t, int id)
{
    net_node *nd = &t->node[id];
    while (nd->alive && nd->nops > 0) {
        net_op op = nd->ops[0];
        memmove(nd->ops, nd->ops + 1, (nd->nops - 1) * sizeof *nd->ops);
        nd->nops--;
        if (op.kind == NET_OP_PERSIST) {
            net_disk_persist(t, id, &op);
            net_tr(t, "n%d PERSISTED seq %" PRIu64, id, op.seq);
            net_step_raw(t, id, &(rf_event){.type = RF_EV_PERSISTED, .seq = op.seq});
        } else {
            net_disk_install(t, id, &op);
            net_tr(t, "n%d SNAPSHOT_PERSISTED %" PRIu64, id, op.snap_index);
            net_step_raw(t, id, &(rf_event){.type = RF_EV_SNAPSHOT_PERSISTED});
        }
        net_op_free(&op);
    }
}

static inline void net_snapshot(net *t, int id, uint64_t index, uint64_t trailing);

/* After a step: carry out the disk requests (unless held or lagging) and
 * take an automatic snapshot if one is due. */
static inline void net_after(net *t, int id)
{
    net_node *nd = &t->node[id];
    if (!nd->alive)
        return;
    if (!nd->hold && !net_chance(t, t->disk_lag_ppm))
        net_flush(t, id);
    if (t->snap_every && nd->napplied >= nd->disk.snap_index + t->snap_every)
        net_snapshot(t, id, nd->napplied, t->snap_trailing);
}

/* Steps node id (at net.now) and takes in its output; its disk requests
 * are carried out at once unless the node is held (or the disk lags). The
 * result is r->err right after this step. */
static inline rf_err net_step(net *t, int id, const rf_event *ev)
{
    rf_err err = net_step_raw(t, id, ev);
    net_after(t, id);
    return err;
}

static inline rf_err net_recv(net *t, int id, const rf_msg *m)
{
    net_tr(t, "n%d <- n%" PRIu64 " %s term %" PRIu64, id, m->from, net_mtype(m->type), m->term);
    return net_step(t, id, &(rf_event){.type = RF_EV_RECV, .msg = m});
}

static inline void net_timeout(net *t, int id)
{
    net_tr(t, "n%d TIMEOUT", id);
    net_step(t, id, &(rf_event){.type = RF_EV_TIMEOUT});
}

/* Moves the clock to node id's deadline (if later) and fires it. */
static inline void net_fire(net *t, int id)
{
    net_node *nd = &t->node[id];
    cr_assert_geq(nd->deadline, 0, "node %d has no deadline", id);
    if (t->now < nd->deadline)
        t->now = nd->deadline;
    net_timeout(t, id);
}

static inline void net_hold(net *t, int id, bool hold)
{
    t->node[id].hold = hold;
}

/* ------------------------------------------------------------------------ */
/* Nodes */

static inline void net_node_start(net *t, int id)
{
    net_node *nd = &t->node[id];
    net_disk *d = &nd->disk;
    rf_core *r = &nd->r;
    memset(r, 0, sizeof *r);
    rf_init(r, &nd->o, &nd->boot, t->now);
    if (d->term || d->vote)
        rf_restore_hard_state(r, d->term, d->vote);
    if (d->snap_index)
        rf_restore_snapshot(r, d->snap_index, d->snap_term, &d->snap_config);
    for (size_t i = 0; i < d->n; i++)
        if (d->ents[i].index > d->snap_index)
            rf_restore_entry(r, d->ents[i].index, d->ents[i].term, d->ents[i].type, d->ents[i].data,
                             d->ents[i].len);
    net_sm_reset(nd);
    nd->base_config = nd->boot;
    if (d->snap_index) {
        net_deserialize(t, id, d->snap_data, d->snap_len, d->snap_index, d->snap_term);
        nd->base_config = d->snap_config;
    }
    nd->alive = true;
    nd->lives++;
    nd->prev_role = r->role;
    nd->prev_term = d->term;
    nd->last_seq = 0;
    rf_start(r, d->snap_index, t->now);
    net_collect(t, id);
    net_tr(t, "n%d starts (life %d): term %" PRIu64 " vote %" PRIu64 " snap %" PRIu64 " last %" PRIu64
              " deadline %" PRId64,
           id, nd->lives, r->term, r->vote, d->snap_index, rf_last_index(r), nd->deadline);
    if (d->snap_index && d->snap_data)
        net_step(t, id,
                 &(rf_event){.type = RF_EV_SNAPSHOT, .index = d->snap_index, .term = d->snap_term,
                             .data = d->snap_data, .len = d->snap_len, .trailing = 0});
    if (!nd->hold)
        net_flush(t, id);
}

static inline void net_default_options(rf_options *o)
{
    rf_options_default(o);
    o->election_ms = 100;
    o->heartbeat_ms = 10;
}

/* n founding voters 1..n with options *tmpl (id and seed are set per node:
 * seed = id); seed drives the network's randomness. */
static inline void net_init_opts(net *t, int n, uint64_t seed, const rf_options *tmpl)
{
    cr_assert(n >= 1 && n <= NET_MAXN);
    memset(t, 0, sizeof *t);
    t->n = n;
    t->now = NET_T0;
    kprng_seed(&t->rng, seed);
    t->tmpl = *tmpl;
    /* RAFT_BUG=name[,name]: plant the core's known bugs (raft.h RF_BUGS),
     * to see which tests catch them */
    const char *bugs = getenv("RAFT_BUG");
    if (bugs && *bugs) {
        char list[256];
        snprintf(list, sizeof list, "%s", bugs);
        for (char *save = NULL, *b = strtok_r(list, ",", &save); b; b = strtok_r(NULL, ",", &save)) {
            int k = rf_bug_parse(b);
            cr_assert_geq(k, 0, "RAFT_BUG: unknown bug %s", b);
            t->tmpl.bugs |= 1ull << k;
        }
    }
    const char *tr = getenv("RAFT_TRACE");
    t->trace = tr && *tr && strcmp(tr, "0") != 0;
    rf_config boot;
    memset(&boot, 0, sizeof boot);
    for (int i = 1; i <= n; i++)
        boot.voters[boot.nvoters++] = (rf_id)i;
    for (int i = 1; i <= n; i++) {
        net_node *nd = &t->node[i];
        nd->exists = true;
        nd->o = t->tmpl;
        nd->o.id = (rf_id)i;
        nd->o.seed = (uint64_t)i;
        nd->boot = boot;
        nd->disk.first = 1;
        net_node_start(t, i);
    }
}

static inline void net_init(net *t, int n, uint64_t seed)
{
    rf_options o;
    net_default_options(&o);
    net_init_opts(t, n, seed, &o);
}

/* A new node that joins later: an empty bootstrap membership. */
static inline void net_add_node(net *t, int id)
{
    cr_assert(id >= 1 && id <= NET_MAXN && !t->node[id].exists);
    net_node *nd = &t->node[id];
    memset(nd, 0, sizeof *nd);
    nd->exists = true;
    nd->o = t->tmpl;
    nd->o.id = (rf_id)id;
    nd->o.seed = (uint64_t)id;
    nd->disk.first = 1;
    if (id > t->n)
        t->n = id;
    net_node_start(t, id);
}

/* The node stops; its writes not yet carried out are lost, and so are the
 * messages on their way to it. */
static inline void net_crash(net *t, int id)
{
    net_node *nd = &t->node[id];
    cr_assert(nd->exists && nd->alive);
    net_tr(t, "n%d CRASH (%zu disk requests lost)", id, nd->nops);
    for (size_t i = 0; i < nd->nops; i++)
        net_op_free(&nd->ops[i]);
    nd->nops = 0;
    rf_free(&nd->r);
    nd->alive = false;
    nd->hold = false;
    nd->deadline = -1;
    size_t k = 0;
    for (size_t i = 0; i < t->nq; i++) {
        if (t->q[i].m.to == (rf_id)id)
            net_msg_free(&t->q[i].m);
        else
            t->q[k++] = t->q[i];
    }
    t->nq = k;
}

static inline void net_restart(net *t, int id)
{
    net_node *nd = &t->node[id];
    cr_assert(nd->exists && !nd->alive);
    net_node_start(t, id);
}

/* Replaces node id's disk with a hand-built one (hard state, entries 1..n
 * of the given terms, NORMAL with net_gen_data bytes) and restarts it. */
static inline void net_load(net *t, int id, uint64_t term, rf_id vote, const uint64_t *terms, size_t n)
{
    net_node *nd = &t->node[id];
    if (nd->alive)
        net_crash(t, id);
    net_disk *d = &nd->disk;
    net_disk_free(d);
    d->term = term;
    d->vote = vote;
    d->first = 1;
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        size_t len = net_gen_data(i + 1, terms[i], buf, sizeof buf);
        NET_GROW(d->ents, d->n, d->cap);
        d->ents[d->n++] = (net_ent){.index = i + 1, .term = terms[i], .type = RF_ENTRY_NORMAL,
                                    .len = (uint32_t)len, .data = net_memdup(buf, len)};
    }
    net_restart(t, id);
}

/* ------------------------------------------------------------------------ */
/* The network */

static inline void net_cut(net *t, int a, int b)
{
    t->cut[a][b] = t->cut[b][a] = true;
}

static inline void net_uncut(net *t, int a, int b)
{
    t->cut[a][b] = t->cut[b][a] = false;
}

static inline void net_isolate(net *t, int id)
{
    for (int i = 1; i <= NET_MAXN; i++)
        if (i != id)
            net_cut(t, id, i);
    t->node[id].isolated = true;
}

/* Undoes net_isolate(id) (towards nodes not isolated themselves). */
static inline void net_connect(net *t, int id)
{
    t->node[id].isolated = false;
    for (int i = 1; i <= NET_MAXN; i++)
        if (i != id && !t->node[i].isolated)
            net_uncut(t, id, i);
}

static inline void net_heal(net *t)
{
    memset(t->cut, 0, sizeof t->cut);
    for (int i = 1; i <= NET_MAXN; i++)
        t->node[i].isolated = false;
}

static inline void net_drop_rate(net *t, double p)
{
    t->drop_ppm = (uint32_t)(p * 1e6);
}

/* Message loss, delays of up to max_delay ms for a share of the messages
 * (which reorders them), and a random pick among deliverable messages. */
static inline void net_unreliable(net *t, double drop, double delay, int64_t max_delay, bool reorder)
{
    net_drop_rate(t, drop);
    t->delay_ppm = (uint32_t)(delay * 1e6);
    t->max_delay = max_delay;
    t->reorder = reorder;
}

static inline void net_reliable(net *t)
{
    net_unreliable(t, 0, 0, 0, false);
}

static inline bool net_linked(net *t, int a, int b)
{
    return !t->cut[a][b];
}

/* Delivers one message; false when none is deliverable now. */
static inline bool net_deliver_one(net *t)
{
    size_t pick = SIZE_MAX, eligible = 0;
    for (size_t i = 0; i < t->nq; i++) {
        if (t->q[i].at > t->now)
            continue;
        eligible++;
        if (pick == SIZE_MAX)
            pick = i;
        if (!t->reorder)
            break;
    }
    if (pick == SIZE_MAX)
        return false;
    if (t->reorder && eligible > 1) {
        uint64_t k = kprng_below(&t->rng, eligible);
        for (size_t i = 0; i < t->nq; i++) {
            if (t->q[i].at > t->now)
                continue;
            if (k-- == 0) {
                pick = i;
                break;
            }
        }
    }
    rf_msg m = t->q[pick].m;
    memmove(t->q + pick, t->q + pick + 1, (t->nq - pick - 1) * sizeof *t->q);
    t->nq--;
    int to = (int)m.to, from = (int)m.from;
    net_node *nd = &t->node[to];
    bool ok = nd->exists && nd->alive && net_linked(t, from, to) && !net_chance(t, t->drop_ppm);
    if (ok && t->filter)
        ok = t->filter(t, &m, t->filter_arg);
    if (ok) {
        t->delivered++;
        net_recv(t, to, &m);
    } else {
        t->dropped++;
        net_tr(t, "  drop n%d -> n%d %s", from, to, net_mtype(m.type));
    }
    net_msg_free(&m);
    return true;
}

/* Delivers until nothing is deliverable at this time. */
static inline void net_deliver_all(net *t)
{
    for (size_t guard = 0; net_deliver_one(t); guard++)
        cr_assert_lt(guard, 2000000, "the network never goes quiet");
}

/* Advances the clock by ms and fires TIMEOUT on every node whose deadline
 * passed, in id order (lagging disks catch up first). */
static inline void net_tick(net *t, int64_t ms)
{
    t->now += ms;
    for (int i = 1; i <= t->n; i++) {
        net_node *nd = &t->node[i];
        if (!nd->exists || !nd->alive)
            continue;
        if (!nd->hold && nd->nops)
            net_flush(t, i);
        if (t->snap_every && nd->napplied >= nd->disk.snap_index + t->snap_every)
            net_snapshot(t, i, nd->napplied, t->snap_trailing);
        if (nd->deadline >= 0 && t->now >= nd->deadline)
            net_timeout(t, i);
    }
}

/* Runs ms milliseconds: each one a tick and a delivery. */
static inline void net_run(net *t, int64_t ms)
{
    for (int64_t i = 0; i < ms; i++) {
        net_tick(t, 1);
        net_deliver_all(t);
    }
}

/* ------------------------------------------------------------------------ */
/* Driving the cores */

/* The leader of the highest term among the live nodes, or 0. */
static inline int net_leader(net *t)
{
    int best = 0;
    uint64_t bt = 0;
    for (int i = 1; i <= t->n; i++) {
        net_node *nd = &t->node[i];
        if (!nd->exists || !nd->alive || nd->r.role != RF_LEADER)
            continue;
        if (!best || nd->r.term > bt) {
            best = i;
            bt = nd->r.term;
        }
    }
    return best;
}

/* Makes node id campaign (at its deadlines) until it is leader; delivers
 * everything in between. False after 20 tries. */
static inline bool net_elect(net *t, int id)
{
    for (int k = 0; k < 20; k++) {
        if (t->node[id].r.role == RF_LEADER)
            return true;
        net_fire(t, id);
        net_deliver_all(t);
    }
    return t->node[id].r.role == RF_LEADER;
}

/* Proposes data at node id: the new entry's index, or 0 if refused (then
 * *err, if given, says why). */
static inline uint64_t net_propose_err(net *t, int id, const char *data, rf_err *err)
{
    size_t len = strlen(data);
    net_tr(t, "n%d PROPOSE \"%s\"", id, data);
    rf_err e = net_step_raw(t, id, &(rf_event){.type = RF_EV_PROPOSE, .data = data, .len = len});
    uint64_t idx = e == RF_OK ? rf_last_index(&t->node[id].r) : 0;
    net_after(t, id);
    if (err)
        *err = e;
    return idx;
}

static inline uint64_t net_propose(net *t, int id, const char *data)
{
    return net_propose_err(t, id, data, NULL);
}

static inline rf_err net_read_req(net *t, int id, uint64_t ctx, bool lease)
{
    net_tr(t, "n%d READ ctx %" PRIu64 "%s", id, ctx, lease ? " lease" : "");
    return net_step(t, id, &(rf_event){.type = RF_EV_READ, .ctx = ctx, .lease = lease});
}

static inline rf_err net_conf(net *t, int id, rf_conf_op op, int who)
{
    net_tr(t, "n%d CONF_CHANGE op %d on %d", id, op, who);
    return net_step(t, id, &(rf_event){.type = RF_EV_CONF_CHANGE, .conf_op = (uint8_t)op, .conf_id = (rf_id)who});
}

static inline rf_err net_transfer(net *t, int id, int to)
{
    net_tr(t, "n%d TRANSFER to %d", id, to);
    return net_step(t, id, &(rf_event){.type = RF_EV_TRANSFER, .to = (rf_id)to});
}

/* The driver tells node id that its connection to `to` failed. */
static inline void net_unreachable(net *t, int id, int to)
{
    net_tr(t, "n%d UNREACHABLE %d", id, to);
    net_step(t, id, &(rf_event){.type = RF_EV_UNREACHABLE, .to = (rf_id)to});
}

/* The driver takes a snapshot of node id's state machine at `index` (<=
 * applied): writes it to the disk, compacts the disk behind it, steps
 * RF_EV_SNAPSHOT. */
static inline void net_snapshot(net *t, int id, uint64_t index, uint64_t trailing)
{
    net_node *nd = &t->node[id];
    cr_assert(index >= 1 && index <= nd->napplied, "node %d: snapshot at %" PRIu64 " > applied %zu",
              id, index, nd->napplied);
    size_t len;
    unsigned char *data = net_serialize(nd, index, &len);
    net_disk *d = &nd->disk;
    d->snap_index = index;
    d->snap_term = nd->applied[index - 1].term;
    d->snap_config = net_config_at(nd, index);
    free(d->snap_data);
    d->snap_data = data;
    d->snap_len = len;
    net_disk_compact(d, index);
    if (d->n == 0)
        d->first = index + 1;
    net_tr(t, "n%d SNAPSHOT at %" PRIu64 " (%zu bytes, trailing %" PRIu64 ")", id, index, len, trailing);
    net_step(t, id,
             &(rf_event){.type = RF_EV_SNAPSHOT, .index = index, .term = d->snap_term, .data = data,
                         .len = len, .trailing = trailing});
}

/* How many nodes (live or not) applied `index`; *data gets its bytes. */
static inline int net_napplied(net *t, uint64_t index, const net_ent **ent)
{
    int c = 0;
    if (ent)
        *ent = NULL;
    for (int i = 1; i <= t->n; i++) {
        net_node *nd = &t->node[i];
        if (nd->exists && nd->napplied >= index) {
            c++;
            if (ent)
                *ent = &nd->applied[index - 1];
        }
    }
    return c;
}

static inline bool net_ent_is(const net_ent *e, const char *data)
{
    size_t len = strlen(data);
    return e && e->type == RF_ENTRY_NORMAL && e->len == len && memcmp(e->data, data, len) == 0;
}

/* The classic lab's one(): proposes data at a leader until `expected`
 * nodes applied it (retrying at another leader when one fails if retry);
 * the index, or a test failure after 10 s of virtual time. */
static inline uint64_t net_one(net *t, const char *data, int expected, bool retry)
{
    int64_t start = t->now;
    int first = 1;
    while (t->now - start < 10000) {
        uint64_t idx = 0;
        for (int k = 0; k < t->n && !idx; k++) {
            int i = 1 + (first - 1 + k) % t->n;
            net_node *nd = &t->node[i];
            if (nd->exists && nd->alive && !nd->isolated && nd->r.role == RF_LEADER)
                idx = net_propose(t, i, data);
            if (idx)
                first = i;
        }
        if (idx) {
            int64_t t1 = t->now;
            while (t->now - t1 < 2000) {
                net_run(t, 10);
                const net_ent *e;
                int c = net_napplied(t, idx, &e);
                if (c >= expected && net_ent_is(e, data))
                    return idx;
                if (c > 0 && !net_ent_is(e, data))
                    break; /* another entry won the index */
            }
            cr_assert(retry, "one(%s) failed to reach agreement at %" PRIu64 " (%d nodes applied)",
                      data, idx, net_napplied(t, idx, NULL));
        } else {
            net_run(t, 50);
        }
    }
    cr_assert_fail("one(%s) failed to reach agreement in 10 s", data);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Invariants */

/* Log Matching over the live nodes' in-memory logs. */
static inline void net_check_log_matching(net *t)
{
    for (int a = 1; a <= t->n; a++) {
        for (int b = a + 1; b <= t->n; b++) {
            net_node *na = &t->node[a], *nb = &t->node[b];
            if (!na->exists || !na->alive || !nb->exists || !nb->alive)
                continue;
            rf_core *ra = &na->r, *rb = &nb->r;
            uint64_t lo = (ra->snap_index > rb->snap_index ? ra->snap_index : rb->snap_index) + 1;
            uint64_t hi = rf_last_index(ra) < rf_last_index(rb) ? rf_last_index(ra) : rf_last_index(rb);
            /* the highest index where both have the same term */
            uint64_t top = 0;
            for (uint64_t i = hi; i >= lo && i > 0; i--) {
                const rf_entry *x = rf_entry_at(ra, i), *y = rf_entry_at(rb, i);
                if (x && y && x->term == y->term) {
                    top = i;
                    break;
                }
            }
            for (uint64_t i = lo; i <= top; i++) {
                const rf_entry *x = rf_entry_at(ra, i), *y = rf_entry_at(rb, i);
                cr_assert(x && y, "log matching: nodes %d, %d: index %" PRIu64 " missing", a, b, i);
                cr_assert(x->term == y->term && x->type == y->type && x->len == y->len &&
                              (x->len == 0 || memcmp(x->data, y->data, x->len) == 0),
                          "SAFETY (log matching): nodes %d and %d agree at %" PRIu64
                          " but differ at %" PRIu64 " (terms %" PRIu64 ", %" PRIu64 ")",
                          a, b, top, i, x->term, y->term);
            }
        }
    }
}

/* The safety invariants, at the end of a run. */
static inline void net_check_safety(net *t)
{
    /* applied sequences are prefixes of the chosen log */
    for (int i = 1; i <= t->n; i++) {
        net_node *nd = &t->node[i];
        if (!nd->exists)
            continue;
        for (size_t k = 0; k < nd->napplied; k++) {
            const net_ent *e = &nd->applied[k];
            net_chosen_check(t, i, e->index, e->term, e->type, e->len, e->data, "has applied");
        }
    }
    uint64_t last = net_chosen_last(t);
    for (uint64_t k = 1; k <= last; k++)
        cr_assert(t->chosen[k].set, "applied histories have a hole at %" PRIu64, k);
    /* committed entries never disappear from a live node's log */
    for (int i = 1; i <= t->n; i++) {
        net_node *nd = &t->node[i];
        if (!nd->exists || !nd->alive)
            continue;
        rf_core *r = &nd->r;
        cr_assert_geq(r->commit, r->snap_index);
        for (uint64_t k = r->snap_index + 1; k <= r->commit && k <= last; k++) {
            const rf_entry *e = rf_entry_at(r, k);
            cr_assert(e && e->term == t->chosen[k].term,
                      "SAFETY: node %d lost the committed entry %" PRIu64 " (commit %" PRIu64 ")", i, k,
                      r->commit);
        }
        /* the durable log holds the same terms as the core's (stable part) */
        for (uint64_t k = r->snap_index + 1; k <= r->stable && k <= rf_last_index(r); k++) {
            const net_ent *de = net_disk_at(&nd->disk, k);
            const rf_entry *e = rf_entry_at(r, k);
            cr_assert(de && e && de->term == e->term,
                      "node %d: index %" PRIu64 " is stable in the core but %s on the disk", i, k,
                      de ? "of another term" : "absent");
        }
    }
    int l = net_leader(t);
    if (l && t->node[l].r.term >= t->max_leader_term)
        net_check_leader_complete(t, l);
    net_check_log_matching(t);
}

static inline void net_free(net *t)
{
    for (int i = 1; i <= NET_MAXN; i++) {
        net_node *nd = &t->node[i];
        if (!nd->exists)
            continue;
        if (nd->alive)
            net_crash(t, i);
        net_disk_free(&nd->disk);
        net_sm_reset(nd);
        free(nd->applied);
        free(nd->ops);
        free(nd->reads);
        free(nd->fails);
    }
    net_clear(t);
    free(t->q);
    for (size_t i = 0; i < t->nchosen; i++)
        free(t->chosen[i].data);
    free(t->chosen);
    free(t->leaders);
    free(t->votes);
    memset(t, 0, sizeof *t);
}

/* Did node id get read ctx back ready / failed? */
static inline const net_read *net_read_ready(net *t, int id, uint64_t ctx)
{
    net_node *nd = &t->node[id];
    for (size_t i = 0; i < nd->nreads; i++)
        if (nd->reads[i].ctx == ctx)
            return &nd->reads[i];
    return NULL;
}

static inline bool net_read_failed(net *t, int id, uint64_t ctx)
{
    net_node *nd = &t->node[id];
    for (size_t i = 0; i < nd->nfails; i++)
        if (nd->fails[i] == ctx)
            return true;
    return false;
}

#endif
