/* sim/check: Raft's invariants at every step, linearizability at the end.
 * See check.h. */
#include "sim/check.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/raft/msg.h"
#include "sim/client.h"
#include "sim/appendcheck.h"
#include "sim/lincheck.h"
#include "sim/queuecheck.h"


typedef struct gent {
    uint64_t term;
    uint64_t hash;
    uint64_t bound; /* the lowest term a node applied it in: committed no later */
    int8_t node;    /* who applied it first (0-based) */
    bool set;
} gent;

struct sim_check {
    rf_id *leader_of; /* by term */
    size_t nterms;
    gent *g;          /* by index */
    size_t ng;
    uint64_t max_applied;
    uint64_t applied; /* distinct entries recorded */
    kbuf scratch;     /* rf_msg_decode's */
    /* Elections in the order they were seen: when, and the highest term
     * any leader had by then. */
    struct elected {
        int64_t at;
        uint64_t max_term;
    } *el;
    size_t nel, capel;
};

void scheck_init(sim_world *w)
{
    w->check = calloc(1, sizeof(*w->check));
    if (w->check == NULL)
        abort();
}

void scheck_free(sim_world *w)
{
    if (w->check == NULL)
        return;
    free(w->check->leader_of);
    free(w->check->g);
    free(w->check->el);
    kbuf_free(&w->check->scratch);
    free(w->check);
    w->check = NULL;
}

uint64_t scheck_applied(const sim_world *w) { return w->check ? w->check->applied : 0; }

static void *grow(void *p, size_t *n, size_t want, size_t size)
{
    if (want <= *n)
        return p;
    size_t m = *n ? *n : 1024;
    while (m < want)
        m *= 2;
    p = realloc(p, m * size);
    if (p == NULL)
        abort();
    memset((char *)p + *n * size, 0, (m - *n) * size);
    *n = m;
    return p;
}

static uint64_t entry_hash(const rf_entry *e)
{
    return XXH3_64bits_withSeed(e->data, e->len, e->type);
}

/* 1: one leader per term. */
static void check_leader(sim_world *w, sim_node *sn, const rf_core *r)
{
    struct sim_check *c = w->check;
    if (r->role != RF_LEADER)
        return;
    c->leader_of = grow(c->leader_of, &c->nterms, (size_t)r->term + 1, sizeof(rf_id));
    rf_id me = (rf_id)sn->idx + 1;
    rf_id *l = &c->leader_of[r->term];
    if (*l == 0) {
        *l = me;
        sim_trace(w, "n%d is leader of term %" PRIu64, sn->idx + 1, r->term);
        if (c->nel == c->capel) {
            c->capel = c->capel ? c->capel * 2 : 64;
            c->el = realloc(c->el, c->capel * sizeof(*c->el));
            if (c->el == NULL)
                abort();
        }
        uint64_t prev = c->nel ? c->el[c->nel - 1].max_term : 0;
        c->el[c->nel++] = (struct elected){w->now, r->term > prev ? r->term : prev};
    } else if (*l != me) {
        sim_fail(w, SIM_SAFETY,
                 "election safety: two leaders in term %" PRIu64 ": n%" PRIu64 " and n%" PRIu64,
                 r->term, *l, me);
    }
}

/* 2: every applied entry is the same everywhere. */
static void check_applied(sim_world *w, sim_node *sn, const rf_core *r)
{
    struct sim_check *c = w->check;
    if (r->applied < sn->seen_applied) {
        sim_fail(w, SIM_SAFETY, "n%d's applied index went back from %" PRIu64 " to %" PRIu64,
                 sn->idx + 1, sn->seen_applied, r->applied);
        sn->seen_applied = r->applied;
        return;
    }
    if (r->applied > r->commit && !(r->o.bugs & (1ull << RF_BUG_APPLY_UNCOMMITTED)))
        sim_fail(w, SIM_SAFETY, "n%d applied %" PRIu64 " past its commit index %" PRIu64,
                 sn->idx + 1, r->applied, r->commit);
    for (uint64_t i = sn->seen_applied + 1; i <= r->applied; i++) {
        const rf_entry *e = rf_entry_at(r, i);
        if (e == NULL)
            continue; /* in a snapshot the node installed */
        c->g = grow(c->g, &c->ng, (size_t)i + 1, sizeof(gent));
        gent *g = &c->g[i];
        uint64_t h = entry_hash(e);
        if (!g->set) {
            *g = (gent){e->term, h, r->term, (int8_t)sn->idx, true};
            c->applied++;
            if (i > c->max_applied)
                c->max_applied = i;
            continue;
        }
        if (g->term != e->term || g->hash != h) {
            sim_fail(w, SIM_SAFETY,
                     "state machine safety: n%d applied entry %" PRIu64 " of term %" PRIu64
                     " (hash %016" PRIx64 ") but n%d applied term %" PRIu64 " (hash %016" PRIx64
                     ") there",
                     sn->idx + 1, i, e->term, h, g->node + 1, g->term, g->hash);
            return;
        }
        if (r->term < g->bound)
            g->bound = r->term;
    }
    sn->seen_applied = r->applied;
}

/* 3: a new leader has every entry committed before its term. */
static void check_completeness(sim_world *w, sim_node *sn, const rf_core *r)
{
    struct sim_check *c = w->check;
    uint64_t last = rf_last_index(r);
    for (uint64_t i = r->snap_index + 1; i <= c->max_applied && i < c->ng; i++) {
        const gent *g = &c->g[i];
        if (!g->set || g->bound >= r->term)
            continue;
        const rf_entry *e = i <= last ? rf_entry_at(r, i) : NULL;
        if (e == NULL) {
            sim_fail(w, SIM_SAFETY,
                     "leader completeness: n%d became leader of term %" PRIu64
                     " without entry %" PRIu64 " (term %" PRIu64 "), committed by term %" PRIu64
                     " (its log ends at %" PRIu64 ", snapshot at %" PRIu64 ")",
                     sn->idx + 1, r->term, i, g->term, g->bound, last, r->snap_index);
            return;
        }
        if (e->term != g->term || entry_hash(e) != g->hash) {
            sim_fail(w, SIM_SAFETY,
                     "leader completeness: n%d became leader of term %" PRIu64
                     " with entry %" PRIu64 " of term %" PRIu64 " but the committed one is of term %" PRIu64,
                     sn->idx + 1, r->term, i, e->term, g->term);
            return;
        }
    }
}

/* 7: a leader's commit index moves only to entries of its term. */
static void check_commit(sim_world *w, sim_node *sn, const rf_core *r)
{
    bool was = sn->seen_role == RF_LEADER && sn->seen_term_led == r->term;
    if (r->role == RF_LEADER && was && r->commit > sn->seen_commit) {
        bool ok = false;
        uint64_t t = rf_term_at(r, r->commit, &ok);
        if (ok && t != r->term)
            sim_fail(w, SIM_SAFETY,
                     "n%d, leader of term %" PRIu64 ", committed up to entry %" PRIu64
                     " of term %" PRIu64 " (only its own term's entries commit by counting)",
                     sn->idx + 1, r->term, r->commit, t);
    }
    sn->seen_commit = r->commit;
    sn->seen_term_led = r->role == RF_LEADER ? r->term : 0;
}

/* 8: one membership change at a time, none before the term's first commit. */
static void check_config(sim_world *w, sim_node *sn, const rf_core *r)
{
    if (r->role != RF_LEADER || r->config_index <= r->commit)
        return;
    /* Only its own changes: a new leader may not know yet that entries of
     * earlier terms (changes among them) are committed. */
    const rf_entry *e = rf_entry_at(r, r->config_index);
    if (e == NULL || e->term != r->term)
        return;
    bool ok = false;
    uint64_t ct = rf_term_at(r, r->commit, &ok);
    if (ok && ct != r->term) {
        sim_fail(w, SIM_SAFETY,
                 "n%d, leader of term %" PRIu64 ", appended a membership change (entry %" PRIu64
                 ") before committing an entry of its term (its commit index %" PRIu64
                 " is of term %" PRIu64 ")",
                 sn->idx + 1, r->term, r->config_index, r->commit, ct);
        return;
    }
    for (uint64_t i = r->commit + 1; i < r->config_index; i++) {
        const rf_entry *x = rf_entry_at(r, i);
        if (x && x->type == RF_ENTRY_CONFIG) {
            sim_fail(w, SIM_SAFETY,
                     "n%d, leader of term %" PRIu64 ", has two membership changes past its commit "
                     "index %" PRIu64 ": entries %" PRIu64 " (term %" PRIu64 ") and %" PRIu64
                     " (term %" PRIu64 ")",
                     sn->idx + 1, r->term, r->commit, i, x->term, r->config_index, e->term);
            return;
        }
    }
}

void scheck_after_step(sim_world *w, sim_node *sn)
{
    const rf_core *r = w->cluster ? node_raft(&sn->n) : NULL;
    if (r == NULL)
        return;
    check_leader(w, sn, r);
    check_commit(w, sn, r);
    check_config(w, sn, r);
    check_applied(w, sn, r);
    if (r->role == RF_LEADER && sn->seen_role != RF_LEADER)
        check_completeness(w, sn, r);
    if ((int)r->role != sn->seen_role && sn->seen_role != 0)
        sim_trace(w, "n%d %s -> %s term=%" PRIu64 " leader=%" PRIu64, sn->idx + 1,
                  rf_role_name((rf_role)sn->seen_role), rf_role_name(r->role), r->term, r->leader);
    sn->seen_role = (int)r->role;
}


void scheck_peer_send(sim_world *w, sim_node *sn, const void *data, size_t len)
{
    const rf_core *r = w->cluster ? node_raft(&sn->n) : NULL;
    int t = rf_msg_peek_type(data, len);
    if (r == NULL || (t != RF_MSG_APPEND_RESP && t != RF_MSG_VOTE_RESP))
        return;
    rf_msg m;
    const char *bad = rf_msg_decode(&m, data, len, &w->check->scratch);
    if (bad) {
        sim_fail(w, SIM_SAFETY, "n%d sent a message that does not decode: %s", sn->idx + 1, bad);
        return;
    }
    if (m.reject)
        return;
    if (t == RF_MSG_APPEND_RESP && m.index > r->stable)
        sim_fail(w, SIM_SAFETY,
                 "n%d acknowledged entries through %" PRIu64 " to n%" PRIu64 " in term %" PRIu64
                 " while only %" PRIu64 " were durable",
                 sn->idx + 1, m.index, m.to, m.term, r->stable);
    if (t == RF_MSG_VOTE_RESP && m.term == r->term &&
        (r->vote != m.to || r->hs_seq > r->persisted_seq))
        sim_fail(w, SIM_SAFETY,
                 "n%d granted its vote in term %" PRIu64 " to n%" PRIu64
                 " before that vote was durable",
                 sn->idx + 1, m.term, m.to);
}

void scheck_read_served(sim_world *w, sim_node *sn, int64_t call)
{
    const rf_core *r = w->cluster ? node_raft(&sn->n) : NULL;
    struct sim_check *c = w->check;
    if (r == NULL || r->role != RF_LEADER)
        return;
    bool ok = false;
    uint64_t ct = rf_term_at(r, r->commit, &ok);
    if (ok && ct != r->term) {
        sim_fail(w, SIM_SAFETY,
                 "n%d, leader of term %" PRIu64 ", answered a GET before committing an entry of "
                 "its term (its commit index %" PRIu64 " is of term %" PRIu64 ")",
                 sn->idx + 1, r->term, r->commit, ct);
        return;
    }
    if (c->nel == 0)
        return;
    /* The last election strictly before the call. */
    size_t lo = 0, hi = c->nel;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->el[mid].at < call)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || c->el[lo - 1].max_term <= r->term)
        return;
    sim_fail(w, SIM_SAFETY,
             "n%d, leader of term %" PRIu64 ", answered a GET sent at %.6fs, after a leader of "
             "term %" PRIu64 " had been elected: a read from a deposed leader",
             sn->idx + 1, r->term, (double)call / 1e6, c->el[lo - 1].max_term);
}

void scheck_node_crashing(sim_world *w, sim_node *sn)
{
    const rf_core *r = w->cluster ? node_raft(&sn->n) : NULL;
    if (r == NULL)
        return;
    bool ok = false;
    sn->crashed_known = true;
    sn->crash_stable = r->stable;
    sn->crash_stable_term = rf_term_at(r, r->stable, &ok);
    if (!ok)
        sn->crashed_known = false;
    /* The hard state is durable once the request that wrote it is. */
    sn->crash_hs_known = r->hs_seq <= r->persisted_seq;
    sn->crash_term = r->term;
    sn->crash_vote = r->vote;
}

/* 4: what it had durably, it still has. */
static void check_durable(sim_world *w, sim_node *sn, const rf_core *r)
{
    if (sn->crash_hs_known) {
        if (r->term < sn->crash_term)
            sim_fail(w, SIM_SAFETY,
                     "n%d restarted in term %" PRIu64 " but had made term %" PRIu64 " durable",
                     sn->idx + 1, r->term, sn->crash_term);
        else if (r->term == sn->crash_term && r->vote != sn->crash_vote)
            sim_fail(w, SIM_SAFETY,
                     "n%d restarted in term %" PRIu64 " with vote n%" PRIu64
                     " but had durably voted for n%" PRIu64 " in it",
                     sn->idx + 1, r->term, r->vote, sn->crash_vote);
    }
    if (sn->crashed_known && sn->crash_stable > r->snap_index) {
        bool ok = false;
        uint64_t t = sn->crash_stable <= rf_last_index(r) ? rf_term_at(r, sn->crash_stable, &ok) : 0;
        if (!ok || t != sn->crash_stable_term)
            sim_fail(w, SIM_SAFETY,
                     "n%d lost durable entries in a crash: it had entries through %" PRIu64
                     " (term %" PRIu64 ") durable, and restarted with its log ending at %" PRIu64
                     " (snapshot at %" PRIu64 ")",
                     sn->idx + 1, sn->crash_stable, sn->crash_stable_term, rf_last_index(r),
                     r->snap_index);
    }
    sn->crashed_known = sn->crash_hs_known = false;
}

void scheck_node_started(sim_world *w, sim_node *sn)
{
    sn->seen_role = 0;
    const rf_core *r = w->cluster ? node_raft(&sn->n) : NULL;
    if (r == NULL)
        return;
    struct sim_check *c = w->check;
    sn->seen_applied = r->applied;
    sn->seen_role = (int)r->role;
    sn->seen_commit = r->commit;
    sn->seen_term_led = 0;
    check_durable(w, sn, r);
    /* 4: what it has at a recorded index in the recorded term is the entry. */
    uint64_t last = rf_last_index(r);
    for (uint64_t i = r->snap_index + 1; i <= last && i <= c->max_applied && i < c->ng; i++) {
        const gent *g = &c->g[i];
        const rf_entry *e = rf_entry_at(r, i);
        if (!g->set || e == NULL || e->term != g->term)
            continue;
        if (entry_hash(e) != g->hash) {
            sim_fail(w, SIM_SAFETY,
                     "n%d restarted with entry %" PRIu64 " of term %" PRIu64
                     " whose data differs from the committed one",
                     sn->idx + 1, i, e->term);
            return;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Linearizability */

/* The search budget per key: a key it cannot decide within this (many
 * concurrent APPENDs of unknown outcome) is reported as given up, which
 * is not a failure; the budget keeps a seed's time bounded. */
#define LC_STEPS 2000000

/* A queue key: sim/queuecheck.h, against the list read at the end. */
static void check_queue(sim_world *w, int k)
{
    const sim_history *h = sclient_history(w);
    qc_op *ops = malloc((h->n ? h->n : 1) * sizeof(*ops));
    if (ops == NULL)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++) {
        const sim_hop *o = &h->h[i];
        if (o->key != (uint32_t)k || o->q == HQ_NONE)
            continue;
        bool ok = o->state == HOP_OK;
        qc_op *q = &ops[n++];
        *q = (qc_op){
            .id = o->id,
            .client = o->client,
            .kind = o->q == HQ_RPUSH ? QC_PUSH : o->q == HQ_BLPOP ? QC_BPOP : QC_POP,
            .state = ok ? QC_OK : o->state == HOP_FAIL ? QC_FAILED : QC_UNKNOWN,
            .call = o->call,
            .ret = o->ret,
        };
        if (o->q == HQ_RPUSH) {
            q->tok = o->arg;
            q->toklen = o->arglen;
        } else if (ok && !o->nil) {
            q->tok = o->val;
            q->toklen = o->vallen;
        }
    }
    const qc_tok *fin = NULL;
    size_t nfin = 0;
    bool known = sclient_queue_final(w, k, &fin, &nfin);
    qc_result res;
    qc_check(ops, n, fin, nfin, known, &res);
    char kn[16];
    sclient_key_name(w, k, kn, sizeof(kn));
    sim_trace(w,
              "queuecheck %s: %zu ops, %zu pushes acknowledged, %zu pops returned an element, %zu "
              "found it empty, %zu unknown, %zu left%s, %zu taken by pops of unknown outcome: %s",
              kn, n, res.pushes, res.pops, res.empty, res.unknown_pops, res.remaining,
              known ? "" : " (not read)", res.unaccounted, res.violation ? "VIOLATION" : "ok");
    if (res.violation)
        sim_fail(w, SIM_LINEARIZABILITY, "queue %s is not a queue (%zu ops): %s", kn, n, res.why);
    free(ops);
}

uint64_t scheck_history(sim_world *w)
{
    const sim_history *h = sclient_history(w);
    int nkeys = sclient_nkeys(w);
    lc_op *ops = malloc((h->n ? h->n : 1) * sizeof(*ops));
    if (ops == NULL)
        abort();
    uint64_t gave_up = 0;
    for (int k = 0; k < nkeys && w->fail == SIM_OK; k++) {
        if (sclient_key_is_queue(w, k)) {
            check_queue(w, k);
            continue;
        }
        size_t n = 0;
        for (size_t i = 0; i < h->n; i++) {
            const sim_hop *o = &h->h[i];
            bool known = o->state == HOP_OK;
            /* Failed ops had no effect; a read of unknown outcome has none
             * either and constrains nothing. */
            if (o->key != (uint32_t)k || o->state == HOP_FAIL || (!known && o->kind == LC_GET))
                continue;
            ops[n++] = (lc_op){
                .id = o->id,
                .client = o->client,
                .call = o->call,
                .ret = known ? o->ret : LC_UNKNOWN,
                .kind = o->kind,
                .arg = o->arg,
                .arglen = o->arglen,
                .err = o->err,
                .ival = o->ival,
                .nil = o->nil,
                .val = o->val,
                .vallen = o->vallen,
            };
        }
        lc_result res;
        lc_opts lo = {.max_steps = LC_STEPS};
        /* Append keys need no search (sim/appendcheck.h); the rest do. */
        lc_check_append(ops, n, &res);
        if (res.verdict == LC_GAVE_UP)
            lc_check(ops, n, &lo, &res);
        char kn[16];
        sclient_key_name(w, k, kn, sizeof(kn));
        sim_trace(w, "lincheck %s: %zu ops, %s, %" PRIu64 " steps", kn, n,
                  res.verdict == LC_OK ? "ok" : res.verdict == LC_VIOLATION ? "VIOLATION" : "gave up",
                  res.steps);
        if (res.verdict == LC_VIOLATION)
            sim_fail(w, SIM_LINEARIZABILITY, "key %s is not linearizable (%zu ops): %s", kn, n,
                     res.why);
        else if (res.verdict == LC_GAVE_UP)
            gave_up++;
    }
    free(ops);
    return gave_up;
}
