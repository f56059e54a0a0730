/* The Raft core (core/raft/raft.h) against the Raft paper, one test per
 * property, in the spirit of etcd's raft_paper_test.go: terms and roles
 * (§5.1), elections (§5.2) with the durability of votes, log replication
 * and commitment (§5.3) with durable acknowledgements, the election
 * restriction and Figure 8 (§5.4), membership changes (§6, one server at a
 * time with learners), snapshots (§7, sent in chunks), and from the
 * dissertation: pre-vote, check-quorum, leadership transfer, ReadIndex and
 * lease reads; plus the bounded in-flight window. Cores run in the
 * deterministic harness of raft_net.h, which also checks the safety
 * invariants after every step. */
#include "raft_net.h"

#define E 100 /* election_ms of the harness */
#define H 10  /* heartbeat_ms */

static void opts_default(rf_options *o)
{
    net_default_options(o);
}

/* A cluster of n with node `id` elected and its no-op committed everywhere. */
static void cluster(net *t, int n, int id)
{
    net_init(t, n, 42);
    cr_assert(net_elect(t, id), "node %d did not get elected", id);
    net_run(t, 3 * H);
    rf_core *r = net_core(t, id);
    cr_assert_eq(r->role, RF_LEADER);
    cr_assert_geq(r->commit, 1);
}

static const rf_msg *find_resp(net *t, int from, int to, int type, uint64_t term)
{
    for (size_t i = 0; i < t->nq; i++) {
        const rf_msg *m = &t->q[i].m;
        if (m->from == (rf_id)from && m->to == (rf_id)to && m->type == type && m->term == term)
            return m;
    }
    return NULL;
}

static bool granted(net *t, int from, int to, int type, uint64_t term)
{
    const rf_msg *m = find_resp(t, from, to, type, term);
    return m && !m->reject;
}

static void log_terms_eq(net *t, int a, int b)
{
    rf_core *ra = net_core(t, a), *rb = net_core(t, b);
    cr_assert_eq(rf_last_index(ra), rf_last_index(rb), "nodes %d and %d: last index %" PRIu64 " vs %" PRIu64,
                 a, b, rf_last_index(ra), rf_last_index(rb));
    for (uint64_t i = 1; i <= rf_last_index(ra); i++) {
        const rf_entry *x = rf_entry_at(ra, i), *y = rf_entry_at(rb, i);
        cr_assert(x && y, "index %" PRIu64 " missing", i);
        cr_assert_eq(x->term, y->term, "nodes %d and %d differ at %" PRIu64 ": term %" PRIu64 " vs %" PRIu64, a,
                     b, i, x->term, y->term);
    }
}

/* A spy: records what is delivered; optionally drops some types. */
typedef struct spy {
    bool drop_append;             /* APPEND (not HEARTBEAT) */
    uint64_t strip_from_term;     /* APPEND: cut the entries at the first of this term or later */
    uint64_t acks[NET_MAXN + 1];  /* highest successful APPEND_RESP index by sender */
    uint64_t nsnap, max_chunk;    /* SNAPSHOT chunks delivered, the largest */
    int timeout_now_to;           /* TIMEOUT_NOW: check the target is caught up */
    uint64_t timeout_now_seen;
    int drop_one_append_to;       /* drop the next APPEND with entries to this node */
} spy;

static bool spy_filter(net *t, rf_msg *m, void *arg)
{
    spy *s = arg;
    if (m->type == RF_MSG_APPEND && s->drop_append)
        return false;
    if (m->type == RF_MSG_APPEND && m->nentries && (int)m->to == s->drop_one_append_to) {
        s->drop_one_append_to = 0;
        return false;
    }
    if (m->type == RF_MSG_APPEND && s->strip_from_term) {
        for (uint32_t k = 0; k < m->nentries; k++) {
            if (m->entries[k].term >= s->strip_from_term) {
                rf_entry *es = (rf_entry *)m->entries;
                for (uint32_t j = k; j < m->nentries; j++)
                    free(es[j].data);
                m->nentries = k;
                break;
            }
        }
    }
    if (m->type == RF_MSG_APPEND_RESP && !m->reject && m->index > s->acks[m->from])
        s->acks[m->from] = m->index;
    if (m->type == RF_MSG_SNAPSHOT) {
        s->nsnap++;
        if (m->len > s->max_chunk)
            s->max_chunk = m->len;
    }
    if (m->type == RF_MSG_TIMEOUT_NOW && (int)m->to == s->timeout_now_to) {
        rf_core *leader = net_core(t, (int)m->from);
        net_node *to = &t->node[m->to];
        s->timeout_now_seen++;
        cr_assert_geq(net_disk_last(&to->disk), rf_last_index(leader),
                      "TIMEOUT_NOW to %d before it caught up (its disk ends at %" PRIu64 ", the leader's log at %" PRIu64 ")",
                      s->timeout_now_to, net_disk_last(&to->disk), rf_last_index(leader));
    }
    return true;
}

static void spy_on(net *t, spy *s)
{
    memset(s, 0, sizeof *s);
    t->filter = spy_filter;
    t->filter_arg = s;
}

/* ======================================================================== */
/* §5.1: terms */

/* A node that receives a message of a higher term takes the term and
 * becomes follower, from every role. */
static void higher_term_makes_follower(net *t, int id, rf_role from_role)
{
    rf_core *r = net_core(t, id);
    cr_assert_eq(r->role, from_role, "setup: node %d is %s, not %s", id, net_role(r->role),
                 net_role(from_role));
    uint64_t term = r->term + 1;
    int sender = id == 2 ? 3 : 2;
    net_clear(t);
    rf_msg m = {.type = RF_MSG_APPEND, .from = (rf_id)sender, .to = (rf_id)id, .term = term};
    net_recv(t, id, &m);
    cr_assert_eq(r->term, term, "%s: term %" PRIu64 ", want %" PRIu64, net_role(from_role), r->term, term);
    cr_assert_eq(r->role, RF_FOLLOWER, "%s: role %s after a higher term", net_role(from_role),
                 net_role(r->role));
    cr_assert_eq(r->leader, (rf_id)sender);
    cr_assert_eq(t->node[id].disk.term, term, "the new term is durable");
}

Test(raft_paper, higher_term_follower)
{
    net t;
    net_init(&t, 3, 1);
    higher_term_makes_follower(&t, 1, RF_FOLLOWER);
    net_check_safety(&t);
    net_free(&t);
}

Test(raft_paper, higher_term_precandidate)
{
    net t;
    net_init(&t, 3, 1);
    net_fire(&t, 1);
    higher_term_makes_follower(&t, 1, RF_PRECANDIDATE);
    net_free(&t);
}

Test(raft_paper, higher_term_candidate)
{
    net t;
    rf_options o;
    opts_default(&o);
    o.pre_vote = false;
    net_init_opts(&t, 3, 1, &o);
    net_fire(&t, 1);
    higher_term_makes_follower(&t, 1, RF_CANDIDATE);
    net_free(&t);
}

Test(raft_paper, higher_term_leader)
{
    net t;
    cluster(&t, 3, 1);
    higher_term_makes_follower(&t, 1, RF_LEADER);
    net_free(&t);
}

/* A message of a stale term is rejected: no entries taken, no vote, no
 * change of term or leader. */
Test(raft_paper, stale_term_rejected)
{
    net t;
    net_init(&t, 3, 1);
    net_load(&t, 1, 3, 0, NULL, 0);
    rf_core *r = net_core(&t, 1);
    net_clear(&t);
    rf_entry e = {.index = 1, .term = 2, .type = RF_ENTRY_NORMAL, .len = 1, .data = (unsigned char *)"x"};
    rf_msg m = {.type = RF_MSG_APPEND, .from = 2, .to = 1, .term = 2, .nentries = 1, .entries = &e, .commit = 1};
    net_recv(&t, 1, &m);
    cr_assert_eq(r->term, 3);
    cr_assert_eq(r->role, RF_FOLLOWER);
    cr_assert_neq(r->leader, 2);
    cr_assert_eq(rf_last_index(r), 0, "a stale leader's entry was taken");
    cr_assert_eq(r->commit, 0);
    for (size_t i = 0; i < t.nq; i++) {
        const rf_msg *q = &t.q[i].m;
        cr_assert(!(q->type == RF_MSG_APPEND_RESP && !q->reject && q->term <= 2),
                  "a stale APPEND was acknowledged");
        cr_assert_geq(q->term, 3, "the answer carries the newer term (so the stale leader steps down)");
    }
    net_clear(&t);
    rf_msg v = {.type = RF_MSG_VOTE, .from = 3, .to = 1, .term = 2, .last_index = 5, .last_term = 2};
    net_recv(&t, 1, &v);
    cr_assert(!granted(&t, 1, 3, RF_MSG_VOTE_RESP, 2), "a vote granted in a stale term");
    cr_assert_eq(r->vote, 0);
    cr_assert_eq(r->term, 3);
    net_free(&t);
}

/* ======================================================================== */
/* §5.2: elections */

/* A follower that hears nothing for its election timeout starts a
 * pre-election (pre-vote: the term does not change yet); without pre-vote
 * it becomes candidate of term + 1. A TIMEOUT before the deadline does
 * nothing. */
Test(raft_paper, follower_starts_election_after_timeout)
{
    for (int pv = 0; pv <= 1; pv++) {
        net t;
        rf_options o;
        opts_default(&o);
        o.pre_vote = pv;
        net_init_opts(&t, 3, 1, &o);
        rf_core *r = net_core(&t, 1);
        int64_t d = t.node[1].deadline;
        cr_assert(d >= NET_T0 + E && d < NET_T0 + 2 * E, "election deadline %" PRId64 " not in [e, 2e)",
                  d - NET_T0);
        t.now = d - 1;
        net_timeout(&t, 1);
        cr_assert_eq(r->role, RF_FOLLOWER, "a TIMEOUT before the deadline started an election");
        cr_assert_eq(t.nq, 0);
        cr_assert_eq(t.node[1].deadline, d, "an early TIMEOUT moved the deadline");
        net_fire(&t, 1);
        if (pv) {
            cr_assert_eq(r->role, RF_PRECANDIDATE);
            cr_assert_eq(r->term, 0, "a pre-vote does not change the term");
            cr_assert_eq(net_count(&t, 1, 2, RF_MSG_PREVOTE), 1);
            cr_assert_eq(net_count(&t, 1, 3, RF_MSG_PREVOTE), 1);
            cr_assert_eq(net_find(&t, 1, 2, RF_MSG_PREVOTE)->term, 1, "PREVOTE carries term + 1");
        } else {
            cr_assert_eq(r->role, RF_CANDIDATE);
            cr_assert_eq(r->term, 1);
            cr_assert_eq(r->vote, 1, "the candidate votes for itself");
            cr_assert_eq(net_count(&t, 1, 2, RF_MSG_VOTE), 1);
            cr_assert_eq(net_count(&t, 1, 3, RF_MSG_VOTE), 1);
        }
        net_free(&t);
    }
}

/* The candidate's new term and self-vote are durable before a VOTE leaves:
 * the VOTEs come out only after the PERSISTED of the hard state. */
Test(raft_paper, candidate_persists_vote_before_requests)
{
    for (int pv = 0; pv <= 1; pv++) {
        net t;
        rf_options o;
        opts_default(&o);
        o.pre_vote = pv;
        net_init_opts(&t, 3, 1, &o);
        rf_core *r = net_core(&t, 1);
        net_hold(&t, 1, true);
        net_fire(&t, 1);
        if (pv) {
            cr_assert_eq(net_count(&t, 1, 0, RF_MSG_PREVOTE), 2, "PREVOTEs need no durable state");
            net_deliver_all(&t);
        }
        cr_assert_eq(r->role, RF_CANDIDATE);
        cr_assert_eq(r->term, 1);
        cr_assert_eq(net_count(&t, 1, 0, RF_MSG_VOTE), 0, "VOTE sent before term and vote are durable");
        cr_assert_eq(t.node[1].disk.term, 0);
        net_node *nd = &t.node[1];
        bool hs = false;
        for (size_t i = 0; i < nd->nops; i++)
            if (nd->ops[i].kind == NET_OP_PERSIST && nd->ops[i].hs && nd->ops[i].term == 1 &&
                nd->ops[i].vote == 1)
                hs = true;
        cr_assert(hs, "no persist request for term 1, vote 1");
        net_flush(&t, 1);
        cr_assert_eq(nd->disk.term, 1);
        cr_assert_eq(nd->disk.vote, 1);
        cr_assert_eq(net_count(&t, 1, 2, RF_MSG_VOTE), 1, "no VOTE after the hard state is durable");
        cr_assert_eq(net_count(&t, 1, 3, RF_MSG_VOTE), 1);
        net_hold(&t, 1, false);
        net_deliver_all(&t);
        cr_assert_eq(r->role, RF_LEADER);
        net_free(&t);
    }
}

/* A node votes at most once per term, the vote is durable before it is
 * answered, and it survives a restart. */
Test(raft_paper, vote_once_per_term_survives_restart)
{
    net t;
    net_init(&t, 3, 1);
    rf_core *r = net_core(&t, 3);
    rf_msg v1 = {.type = RF_MSG_VOTE, .from = 1, .to = 3, .term = 1};
    rf_msg v2 = {.type = RF_MSG_VOTE, .from = 2, .to = 3, .term = 1};
    net_recv(&t, 3, &v1);
    cr_assert(granted(&t, 3, 1, RF_MSG_VOTE_RESP, 1), "the first candidate of term 1 gets the vote");
    cr_assert_eq(t.node[3].disk.vote, 1);
    cr_assert_eq(t.node[3].disk.term, 1);
    net_clear(&t);
    net_recv(&t, 3, &v2);
    cr_assert(!granted(&t, 3, 2, RF_MSG_VOTE_RESP, 1), "a second vote in term 1");
    net_crash(&t, 3);
    net_restart(&t, 3);
    r = net_core(&t, 3);
    cr_assert_eq(r->term, 1);
    cr_assert_eq(r->vote, 1);
    t.now += E; /* a restarted node does not vote for an election timeout */
    net_clear(&t);
    net_recv(&t, 3, &v2);
    cr_assert(!granted(&t, 3, 2, RF_MSG_VOTE_RESP, 1), "the vote was forgotten by the restart");

    /* Held back: no answer before the vote is durable; a crash then loses
     * the vote, which nobody heard of. */
    net_clear(&t);
    net_hold(&t, 2, true);
    rf_msg v3 = {.type = RF_MSG_VOTE, .from = 1, .to = 2, .term = 1};
    net_recv(&t, 2, &v3);
    cr_assert_eq(net_count(&t, 2, 1, RF_MSG_VOTE_RESP), 0, "vote answered before it is durable");
    net_flush(&t, 2);
    cr_assert(granted(&t, 2, 1, RF_MSG_VOTE_RESP, 1));
    net_free(&t);
}

/* §5.4.1: the vote goes only to a candidate whose log is at least as up to
 * date (last term, then length); the same for pre-votes, which change no
 * term. */
Test(raft_paper, reject_less_up_to_date_candidate)
{
    static const uint64_t log[] = {1, 1, 2};
    static const struct {
        uint64_t term, last_index, last_term;
        bool grant;
    } cases[] = {
        {3, 5, 1, false}, /* longer, older last term */
        {4, 2, 2, false}, /* same last term, shorter */
        {5, 3, 2, true},  /* the same */
        {6, 1, 3, true},  /* newer last term, shorter */
        {7, 4, 2, true},  /* same last term, longer */
    };
    for (int pre = 0; pre <= 1; pre++) {
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            net t;
            net_init(&t, 3, 1);
            net_load(&t, 1, 2, 0, log, 3);
            t.now += E; /* a restarted node does not vote for an election timeout */
            rf_core *r = net_core(&t, 1);
            net_clear(&t);
            rf_msg m = {.type = pre ? RF_MSG_PREVOTE : RF_MSG_VOTE, .from = 2, .to = 1, .term = cases[c].term,
                        .last_index = cases[c].last_index, .last_term = cases[c].last_term};
            net_recv(&t, 1, &m);
            int rt = pre ? RF_MSG_PREVOTE_RESP : RF_MSG_VOTE_RESP;
            bool g = false;
            for (size_t i = 0; i < t.nq; i++)
                if (t.q[i].m.type == rt && t.q[i].m.to == 2 && !t.q[i].m.reject) {
                    g = true;
                    cr_assert_eq(t.q[i].m.term, cases[c].term, "a grant carries the request's term");
                }
            cr_assert_eq(g, cases[c].grant, "%s term %" PRIu64 " last %" PRIu64 "/%" PRIu64 ": granted %d, want %d",
                         pre ? "PREVOTE" : "VOTE", cases[c].term, cases[c].last_index, cases[c].last_term, g,
                         cases[c].grant);
            cr_assert_eq(net_count(&t, 1, 2, rt), 1, "one answer");
            if (pre)
                cr_assert_eq(r->term, 2, "a pre-vote request changed the term");
            else
                cr_assert_eq(r->term, cases[c].term);
            net_free(&t);
        }
    }
}

/* Election timeouts are random in [e, 2e): they differ between nodes and
 * from one election to the next. */
Test(raft_paper, randomized_election_timeouts)
{
    net t;
    net_init(&t, 5, 1);
    int64_t first = -1;
    bool differ = false;
    for (int i = 1; i <= 5; i++) {
        int64_t d = t.node[i].deadline - NET_T0;
        cr_assert(d >= E && d < 2 * E, "node %d: timeout %" PRId64, i, d);
        if (first < 0)
            first = d;
        else if (d != first)
            differ = true;
    }
    cr_assert(differ, "every node drew the same election timeout");
    /* node 1 alone: it keeps re-campaigning with fresh timeouts */
    net_isolate(&t, 1);
    int64_t seen[16];
    int ndiff = 0;
    for (int k = 0; k < 16; k++) {
        net_fire(&t, 1);
        net_deliver_all(&t);
        int64_t d = t.node[1].deadline - t.now;
        cr_assert(d >= E && d < 2 * E, "re-election timeout %" PRId64 " not in [e, 2e)", d);
        bool dup = false;
        for (int j = 0; j < k; j++)
            dup |= seen[j] == d;
        ndiff += !dup;
        seen[k] = d;
    }
    cr_assert_geq(ndiff, 4, "only %d distinct timeouts in 16 elections", ndiff);
    cr_assert_eq(net_core(&t, 1)->term, 0, "an isolated pre-candidate does not raise its term");
    net_free(&t);
}

/* A candidate wins with votes from a majority (itself included), and only
 * then; a single node elects itself at once. */
Test(raft_paper, candidate_wins_with_majority)
{
    static const struct {
        int n;
        int grant[4], reject[4];
        bool leader;
    } cases[] = {
        {1, {0}, {0}, true},
        {3, {2, 0}, {0}, true},
        {3, {0}, {0}, false},
        {3, {0}, {2, 3, 0}, false},
        {5, {2, 3, 0}, {0}, true},
        {5, {2, 0}, {3, 4, 0}, false},
        {5, {2, 0}, {0}, false},
        {5, {2, 3, 4, 0}, {5, 0}, true},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        net t;
        rf_options o;
        opts_default(&o);
        o.pre_vote = false;
        net_init_opts(&t, cases[c].n, 1, &o);
        rf_core *r = net_core(&t, 1);
        net_fire(&t, 1);
        net_clear(&t);
        for (int k = 0; cases[c].grant[k]; k++) {
            rf_msg m = {.type = RF_MSG_VOTE_RESP, .from = (rf_id)cases[c].grant[k], .to = 1, .term = r->term};
            net_recv(&t, 1, &m);
        }
        for (int k = 0; cases[c].reject[k]; k++) {
            rf_msg m = {.type = RF_MSG_VOTE_RESP, .from = (rf_id)cases[c].reject[k], .to = 1, .term = r->term,
                        .reject = true};
            net_recv(&t, 1, &m);
        }
        cr_assert_eq(r->role == RF_LEADER, cases[c].leader, "case %zu (n=%d): role %s", c, cases[c].n,
                     net_role(r->role));
        if (!cases[c].leader)
            cr_assert_eq(r->term, 1);
        net_free(&t);
    }
}

/* A candidate that hears from a leader of its own term becomes its follower. */
Test(raft_paper, candidate_steps_down_on_append_of_same_term)
{
    net t;
    rf_options o;
    opts_default(&o);
    o.pre_vote = false;
    net_init_opts(&t, 3, 1, &o);
    rf_core *r = net_core(&t, 1);
    net_fire(&t, 1);
    cr_assert_eq(r->role, RF_CANDIDATE);
    net_clear(&t);
    rf_msg m = {.type = RF_MSG_APPEND, .from = 2, .to = 1, .term = r->term};
    net_recv(&t, 1, &m);
    cr_assert_eq(r->role, RF_FOLLOWER);
    cr_assert_eq(r->term, 1);
    cr_assert_eq(r->leader, 2);
    cr_assert_eq(r->vote, 1, "the vote of the term stays");
    net_free(&t);
}

/* A split vote: nobody wins term 1; after another timeout somebody wins
 * a later term. */
Test(raft_paper, split_vote_then_retry)
{
    net t;
    rf_options o;
    opts_default(&o);
    o.pre_vote = false;
    net_init_opts(&t, 4, 1, &o);
    net_cut(&t, 1, 4);
    net_cut(&t, 2, 3);
    int64_t d = t.node[1].deadline > t.node[2].deadline ? t.node[1].deadline : t.node[2].deadline;
    t.now = d;
    net_timeout(&t, 1);
    net_timeout(&t, 2);
    net_deliver_all(&t);
    cr_assert_eq(net_core(&t, 1)->role, RF_CANDIDATE);
    cr_assert_eq(net_core(&t, 2)->role, RF_CANDIDATE);
    cr_assert_eq(net_leader(&t), 0, "a leader with 2 votes of 4");
    net_heal(&t);
    for (int k = 0; k < 100 && !net_leader(&t); k++)
        net_run(&t, 10);
    int l = net_leader(&t);
    cr_assert_neq(l, 0, "no leader after the split vote");
    cr_assert_geq(net_core(&t, l)->term, 2);
    net_check_safety(&t);
    net_free(&t);
}

/* ======================================================================== */
/* §5.3: log replication */

/* A new leader appends a no-op of its term and sends heartbeats; the
 * followers keep following it. */
Test(raft_paper, leader_appends_noop_and_heartbeats)
{
    net t;
    net_init(&t, 3, 1);
    cr_assert(net_elect(&t, 1));
    rf_core *r = net_core(&t, 1);
    const rf_entry *e = rf_entry_at(r, 1);
    cr_assert_not_null(e);
    cr_assert_eq(e->type, RF_ENTRY_NOOP);
    cr_assert_eq(e->term, r->term);
    cr_assert_eq(rf_last_index(r), 1);
    net_run(&t, 3 * H);
    for (int i = 1; i <= 3; i++) {
        cr_assert_eq(t.node[i].napplied, 1, "node %d did not apply the no-op", i);
        cr_assert_eq(t.node[i].applied[0].type, RF_ENTRY_NOOP);
    }
    net_clear(&t);
    uint64_t hb = t.sent[1][2][RF_MSG_HEARTBEAT] + t.sent[1][2][RF_MSG_APPEND];
    net_fire(&t, 1);
    cr_assert_gt(t.sent[1][2][RF_MSG_HEARTBEAT] + t.sent[1][2][RF_MSG_APPEND], hb, "no heartbeat at the deadline");
    cr_assert_gt(net_count(&t, 1, 3, RF_MSG_HEARTBEAT) + net_count(&t, 1, 3, RF_MSG_APPEND), 0);
    uint64_t term = r->term;
    net_run(&t, 10 * E);
    cr_assert_eq(net_leader(&t), 1);
    cr_assert_eq(r->term, term, "elections despite a live leader");
    for (int i = 2; i <= 3; i++)
        cr_assert_eq(net_core(&t, i)->leader, 1);
    net_free(&t);
}

/* The leader commits an entry once a majority holds it durably (its own
 * copy counts only when durable), and the followers learn the commit
 * index. */
Test(raft_paper, leader_commits_once_majority_durable)
{
    net t;
    cluster(&t, 3, 1);
    rf_core *r = net_core(&t, 1);
    uint64_t c0 = r->commit;
    for (int i = 1; i <= 3; i++)
        net_hold(&t, i, true);
    uint64_t idx = net_propose(&t, 1, "x");
    cr_assert_eq(idx, c0 + 1);
    net_deliver_all(&t);
    cr_assert_eq(r->commit, c0, "committed with no durable copy");
    net_flush(&t, 2);
    net_deliver_all(&t);
    cr_assert_eq(r->commit, c0, "committed with one durable copy of three (the leader's is not durable)");
    net_flush(&t, 3);
    net_deliver_all(&t);
    cr_assert_eq(r->commit, idx, "not committed with two durable copies of three");
    cr_assert_lt(t.node[1].napplied, idx, "the leader applied an entry it has not made durable");
    net_flush(&t, 1);
    cr_assert_eq(t.node[1].napplied, idx);
    for (int i = 1; i <= 3; i++)
        net_hold(&t, i, false);
    net_run(&t, 3 * H);
    for (int i = 2; i <= 3; i++) {
        cr_assert_eq(net_core(&t, i)->commit, idx, "node %d did not learn the commit index", i);
        cr_assert_eq(t.node[i].napplied, idx);
    }
    net_check_safety(&t);
    net_free(&t);
}

/* A follower acknowledges entries only once they are durable. */
Test(raft_paper, follower_acks_only_after_persisted)
{
    net t;
    cluster(&t, 3, 1);
    spy s;
    spy_on(&t, &s);
    net_hold(&t, 2, true);
    uint64_t idx = net_propose(&t, 1, "y");
    net_deliver_all(&t);
    cr_assert_lt(s.acks[2], idx, "node 2 acknowledged %" PRIu64 " before it was durable", s.acks[2]);
    cr_assert_geq(s.acks[3], idx);
    cr_assert_eq(net_core(&t, 1)->commit, idx, "committed with nodes 1 and 3");
    net_run(&t, 3 * H);
    cr_assert_lt(s.acks[2], idx);
    cr_assert_lt(t.node[2].napplied, idx, "node 2 applied an entry that is not durable on it");
    net_flush(&t, 2);
    net_deliver_all(&t);
    cr_assert_geq(s.acks[2], idx, "no acknowledgement after PERSISTED");
    net_run(&t, 3 * H);
    cr_assert_eq(t.node[2].napplied, idx);
    net_free(&t);
}

/* §5.3: "If followers crash or run slowly, or if network packets are lost,
 * the leader retries AppendEntries RPCs indefinitely". One APPEND is lost,
 * nothing more is proposed: the follower still gets the entry. */
Test(raft_paper, leader_retransmits_lost_append)
{
    net t;
    cluster(&t, 3, 1);
    net_propose(&t, 1, "warm");
    net_run(&t, 3 * H); /* node 2 in the replicating state */
    spy s;
    spy_on(&t, &s);
    s.drop_one_append_to = 2;
    uint64_t idx = net_propose(&t, 1, "lost-once");
    net_run(&t, 3 * H);
    cr_assert_eq(s.drop_one_append_to, 0, "setup: nothing dropped");
    cr_assert_eq(net_core(&t, 1)->commit, idx, "committed with node 3");
    net_run(&t, 10 * E);
    cr_assert_geq(t.node[2].napplied, idx,
                  "node 2 never got index %" PRIu64 " after one lost APPEND (its disk ends at %" PRIu64 ")", idx,
                  net_disk_last(&t.node[2].disk));
    net_free(&t);
}

/* A follower rejects an APPEND whose prev entry it does not hold (with a
 * hint), keeps its log then, replaces a conflicting tail, and keeps its
 * entries when an APPEND brings nothing new. */
Test(raft_paper, follower_rejects_mismatched_prev)
{
    static const uint64_t log[] = {1, 1, 2, 2, 2};
    net t;
    net_init(&t, 3, 1);
    net_load(&t, 2, 3, 0, log, 5);
    rf_core *r = net_core(&t, 2);

    net_clear(&t);
    rf_msg m = {.type = RF_MSG_APPEND, .from = 1, .to = 2, .term = 3, .prev_index = 5, .prev_term = 3};
    net_recv(&t, 2, &m);
    const rf_msg *a = net_find(&t, 2, 1, RF_MSG_APPEND_RESP);
    cr_assert_not_null(a, "no answer to a mismatched APPEND");
    cr_assert(a->reject);
    cr_assert_eq(a->index, 5, "the rejection names the rejected prev_index");
    cr_assert_leq(a->hint_index, 5);
    cr_assert_leq(a->hint_term, 2, "hint_term %" PRIu64 ": the follower has no entry of term 3", a->hint_term);
    cr_assert_eq(rf_last_index(r), 5, "a rejected APPEND changed the log");

    net_clear(&t);
    m.prev_index = 9;
    net_recv(&t, 2, &m);
    a = net_find(&t, 2, 1, RF_MSG_APPEND_RESP);
    cr_assert(a && a->reject);
    cr_assert_leq(a->hint_index, 6, "the hint points past the follower's log (last + 1)");

    /* nothing new: entries 4 and 5 stay */
    net_clear(&t);
    char buf[16];
    size_t len = net_gen_data(3, 2, buf, sizeof buf);
    rf_entry e3 = {.index = 3, .term = 2, .type = RF_ENTRY_NORMAL, .len = (uint32_t)len, .data = (unsigned char *)buf};
    rf_msg same = {.type = RF_MSG_APPEND, .from = 1, .to = 2, .term = 3, .prev_index = 2, .prev_term = 1,
                   .nentries = 1, .entries = &e3};
    net_recv(&t, 2, &same);
    a = net_find(&t, 2, 1, RF_MSG_APPEND_RESP);
    cr_assert(a && !a->reject);
    cr_assert_eq(a->index, 3, "a success names the last index known to match (prev + entries)");
    cr_assert_eq(rf_last_index(r), 5, "an APPEND with nothing new truncated the log");

    /* a conflict at 3: the tail from 3 is replaced */
    net_clear(&t);
    char b3[16], b4[16];
    size_t l3 = net_gen_data(3, 3, b3, sizeof b3), l4 = net_gen_data(4, 3, b4, sizeof b4);
    rf_entry es[2] = {{.index = 3, .term = 3, .type = RF_ENTRY_NORMAL, .len = (uint32_t)l3, .data = (unsigned char *)b3},
                      {.index = 4, .term = 3, .type = RF_ENTRY_NORMAL, .len = (uint32_t)l4, .data = (unsigned char *)b4}};
    rf_msg conf = {.type = RF_MSG_APPEND, .from = 1, .to = 2, .term = 3, .prev_index = 2, .prev_term = 1,
                   .nentries = 2, .entries = es, .commit = 2};
    net_recv(&t, 2, &conf);
    a = net_find(&t, 2, 1, RF_MSG_APPEND_RESP);
    cr_assert(a && !a->reject);
    cr_assert_eq(a->index, 4);
    cr_assert_eq(rf_last_index(r), 4, "the conflicting tail (index 5) is still there");
    cr_assert_eq(rf_entry_at(r, 3)->term, 3);
    cr_assert_eq(rf_entry_at(r, 4)->term, 3);
    net_disk *d = &t.node[2].disk;
    cr_assert_eq(net_disk_last(d), 4, "the disk still holds the conflicting tail");
    cr_assert_eq(net_disk_at(d, 3)->term, 3);
    cr_assert_eq(r->commit, 2);
    net_free(&t);
}

/* Figure 7: a leader of term 8 brings each of the followers (a)-(f) to its
 * log, backing up with the conflict-term hint in few round trips; log
 * matching holds throughout. */
Test(raft_paper, leader_backs_up_figure7)
{
    static const uint64_t leader[] = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
    static const struct {
        uint64_t terms[12];
        size_t n;
    } followers[] = {
        {{1, 1, 1, 4, 4, 5, 5, 6, 6}, 9},
        {{1, 1, 1, 4}, 4},
        {{1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}, 11},
        {{1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}, 12},
        {{1, 1, 1, 4, 4, 4, 4}, 7},
        {{1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}, 11},
    };
    for (size_t c = 0; c < sizeof followers / sizeof followers[0]; c++) {
        net t;
        net_init(&t, 3, 1);
        net_load(&t, 1, 7, 0, leader, 10);
        net_load(&t, 2, 7, 0, followers[c].terms, followers[c].n);
        net_load(&t, 3, 7, 0, leader, 10);
        cr_assert(net_elect(&t, 1), "(%c) the leader was not elected", (char)('a' + c));
        cr_assert_eq(net_core(&t, 1)->term, 8);
        net_run(&t, 5 * H);
        log_terms_eq(&t, 1, 2);
        cr_assert_eq(net_core(&t, 2)->commit, 11, "(%c)", (char)('a' + c));
        cr_assert_leq(t.rejects[2][RF_MSG_APPEND_RESP], 3, "(%c) %" PRIu64 " rejections to back up", (char)('a' + c),
                      t.rejects[2][RF_MSG_APPEND_RESP]);
        net_check_log_matching(&t);
        net_check_safety(&t);
        net_free(&t);
    }
}

/* Log matching under random partitions and proposals. */
Test(raft_paper, log_matching_under_partitions)
{
    net t;
    net_init(&t, 5, 7);
    char buf[32];
    for (int round = 0; round < 40; round++) {
        net_heal(&t);
        int a = 1 + (int)kprng_below(&t.rng, 5), b = 1 + (int)kprng_below(&t.rng, 5);
        net_isolate(&t, a);
        if (round % 3 == 0)
            net_isolate(&t, b);
        for (int i = 1; i <= 5; i++) {
            if (t.node[i].r.role == RF_LEADER) {
                snprintf(buf, sizeof buf, "r%d-n%d", round, i);
                net_propose(&t, i, buf);
            }
        }
        net_run(&t, 10 + (int64_t)kprng_below(&t.rng, 150));
        net_check_log_matching(&t);
    }
    net_heal(&t);
    net_run(&t, 5 * E);
    net_check_safety(&t);
    net_free(&t);
}

/* ======================================================================== */
/* §5.4.2, Figure 8: a leader does not commit an entry of an earlier term by
 * counting replicas, only together with an entry of its own term. */

/* (c) of Figure 8: S1 leader of term 4 has replicated index 2 (term 2) to
 * S2 and S3, but not its no-op (index 3, term 4); S5 (log 1, 3) is down,
 * S4 cut off. */
static void figure8_setup(net *t, spy *s)
{
    static const uint64_t l12[] = {1, 2}, l1[] = {1}, l13[] = {1, 3};
    net_init(t, 5, 8);
    net_load(t, 1, 3, 0, l12, 2);
    net_load(t, 2, 3, 0, l12, 2);
    net_load(t, 3, 3, 0, l1, 1);
    net_load(t, 4, 3, 0, l1, 1);
    net_load(t, 5, 3, 0, l13, 2);
    net_crash(t, 5);
    net_isolate(t, 4);
    spy_on(t, s);
    s->strip_from_term = 4; /* the entries of term 4 do not get through */
    cr_assert(net_elect(t, 1));
    cr_assert_eq(net_core(t, 1)->term, 4);
    net_run(t, 10 * H);
    for (int i = 1; i <= 3; i++) {
        const rf_entry *e = rf_entry_at(net_core(t, i), 2);
        cr_assert(e && e->term == 2, "setup: node %d lacks index 2 of term 2", i);
        const net_ent *de = net_disk_at(&t->node[i].disk, 2);
        cr_assert(de && de->term == 2, "setup: index 2 not durable on node %d", i);
    }
    cr_assert_geq(s->acks[2], 2);
    cr_assert_geq(s->acks[3], 2);
}

Test(raft_paper, figure8_no_commit_by_counting)
{
    net t;
    spy s;
    figure8_setup(&t, &s);
    rf_core *r = net_core(&t, 1);
    /* indexes 1 (term 1) and 2 (term 2) are on a majority, neither of the
     * leader's term */
    cr_assert_eq(r->commit, 0,
                 "the leader of term 4 committed index %" PRIu64 " by counting replicas of earlier terms' entries",
                 r->commit);
    for (int i = 1; i <= 4; i++)
        cr_assert_eq(t.node[i].napplied, 0, "node %d applied an entry", i);
    /* (d): S1 crashes, S5 is elected and overwrites index 2 -- legal,
     * since it was never committed. */
    net_crash(&t, 1);
    t.filter = NULL;
    net_heal(&t);
    t.now += 2 * E; /* the followers' memory of S1 fades */
    net_restart(&t, 5);
    cr_assert(net_elect(&t, 5), "S5 not elected with S2, S3, S4");
    net_run(&t, 5 * H);
    for (int i = 2; i <= 5; i++) {
        const rf_entry *e = rf_entry_at(net_core(&t, i), 2);
        cr_assert(e && e->term == 3, "node %d: index 2 not replaced by S5's entry of term 3", i);
    }
    net_check_safety(&t);
    net_free(&t);
}

Test(raft_paper, figure8_commit_with_current_term_entry)
{
    net t;
    spy s;
    figure8_setup(&t, &s);
    rf_core *r = net_core(&t, 1);
    cr_assert_eq(r->commit, 0);
    t.filter = NULL; /* the no-op gets through */
    net_propose(&t, 1, "z"); /* and something to push it along */
    net_run(&t, 10 * H);
    cr_assert_geq(r->commit, 3, "index 2 and the no-op not committed once the no-op is on a majority");
    const net_chosen *c = net_chosen_at(&t, 2);
    cr_assert(c && c->term == 2);
    /* S1 crashes: S5 (last term 3) cannot win against S2, S3 (last term 4) */
    net_crash(&t, 1);
    net_heal(&t);
    net_restart(&t, 5);
    net_run(&t, 10 * E);
    for (size_t term = 0; term < t.nleaders; term++)
        cr_assert_neq(t.leaders[term], 5, "S5 became leader of term %zu without the committed entries", term);
    int l = net_leader(&t);
    cr_assert(l >= 2 && l <= 4, "no new leader");
    net_run(&t, 5 * H);
    cr_assert_eq(rf_entry_at(net_core(&t, 5), 2)->term, 2, "S5's entry at 2 was not replaced");
    net_check_safety(&t);
    net_free(&t);
}

/* Entries are applied in order, once each, and never beyond what is
 * durable on the node (the harness checks each apply; here the follower's
 * and then the leader's disk are held back). */
Test(raft_paper, apply_in_order_only_durable)
{
    net t;
    cluster(&t, 3, 1);
    net_hold(&t, 2, true);
    uint64_t last = 0;
    char buf[16];
    for (int i = 0; i < 5; i++) {
        snprintf(buf, sizeof buf, "v%d", i);
        last = net_propose(&t, 1, buf);
    }
    net_run(&t, 5 * H);
    cr_assert_eq(net_core(&t, 1)->commit, last);
    cr_assert_eq(t.node[2].napplied, 1, "node 2 applied entries it does not hold durably");
    net_hold(&t, 2, false);
    net_flush(&t, 2);
    net_run(&t, 3 * H);
    cr_assert_eq(t.node[2].napplied, last);

    net_hold(&t, 1, true);
    uint64_t idx = net_propose(&t, 1, "w");
    net_run(&t, 3 * H);
    cr_assert_eq(net_core(&t, 1)->commit, idx, "committed by the two followers");
    cr_assert_eq(t.node[1].napplied, last, "the leader applied an entry not durable on it");
    net_hold(&t, 1, false);
    net_flush(&t, 1);
    cr_assert_eq(t.node[1].napplied, idx);
    net_run(&t, 3 * H);
    for (int i = 1; i <= 3; i++)
        cr_assert_eq(t.node[i].napplied, idx);
    net_check_safety(&t);
    net_free(&t);
}

/* ======================================================================== */
/* The dissertation: pre-vote, check-quorum */

/* A node cut off from the rest does not raise its term (pre-vote), so it
 * does not disrupt the leader when it comes back. */
Test(raft_paper, prevote_rejoin_does_not_disrupt)
{
    net t;
    cluster(&t, 3, 1);
    uint64_t term = net_core(&t, 1)->term;
    net_isolate(&t, 3);
    net_run(&t, 10 * E);
    cr_assert_eq(net_core(&t, 3)->term, term, "the isolated node raised its term");
    cr_assert_gt(t.sent[3][1][RF_MSG_PREVOTE] + t.sent[3][2][RF_MSG_PREVOTE], 0, "it never tried");
    net_connect(&t, 3);
    net_run(&t, 3 * E);
    cr_assert_eq(net_leader(&t), 1);
    cr_assert_eq(net_core(&t, 1)->term, term, "the rejoining node disrupted the leader");
    cr_assert_eq(net_core(&t, 3)->leader, 1);
    net_free(&t);
}

/* Check-quorum: a leader that hears from no majority steps down within
 * about an election timeout. */
Test(raft_paper, check_quorum_leader_steps_down)
{
    net t;
    cluster(&t, 3, 1);
    net_isolate(&t, 1);
    int64_t t0 = t.now;
    while (net_core(&t, 1)->role == RF_LEADER && t.now - t0 < 10 * E)
        net_run(&t, 1);
    int64_t took = t.now - t0;
    cr_assert_neq(net_core(&t, 1)->role, RF_LEADER, "the isolated leader never stepped down");
    cr_assert_leq(took, 2 * E + H, "stepped down after %" PRId64 " ms", took);
    net_free(&t);
}

Test(raft_paper, no_check_quorum_leader_stays)
{
    net t;
    rf_options o;
    opts_default(&o);
    o.check_quorum = false;
    net_init_opts(&t, 3, 1, &o);
    cr_assert(net_elect(&t, 1));
    net_isolate(&t, 1);
    net_run(&t, 5 * E);
    cr_assert_eq(net_core(&t, 1)->role, RF_LEADER, "without check-quorum the leader does not step down");
    net_free(&t);
}

/* A follower that heard from its leader less than an election timeout ago
 * neither grants (pre-)votes nor takes the term of a VOTE -- unless the
 * campaign is a leadership transfer. */
Test(raft_paper, follower_with_recent_leader_rejects_votes)
{
    net t;
    cluster(&t, 3, 1);
    rf_core *r2 = net_core(&t, 2);
    uint64_t term = r2->term;
    net_clear(&t);
    rf_msg v = {.type = RF_MSG_VOTE, .from = 3, .to = 2, .term = term + 1, .last_index = rf_last_index(r2),
                .last_term = rf_last_term(r2)};
    net_recv(&t, 2, &v);
    cr_assert(!granted(&t, 2, 3, RF_MSG_VOTE_RESP, term + 1), "vote granted despite a live leader");
    cr_assert_eq(r2->term, term, "a VOTE within the lease raised the term");
    cr_assert_eq(r2->leader, 1);
    rf_msg p = v;
    p.type = RF_MSG_PREVOTE;
    net_recv(&t, 2, &p);
    cr_assert(!granted(&t, 2, 3, RF_MSG_PREVOTE_RESP, term + 1), "pre-vote granted despite a live leader");
    cr_assert_eq(r2->term, term);
    /* a transfer's campaign is granted */
    net_clear(&t);
    rf_msg tv = v;
    tv.transfer = true;
    net_recv(&t, 2, &tv);
    cr_assert(granted(&t, 2, 3, RF_MSG_VOTE_RESP, term + 1), "a transfer's VOTE was refused");
    net_clear(&t);
    net_free(&t);

    /* once the leader is silent for an election timeout, votes are granted */
    cluster(&t, 3, 1);
    r2 = net_core(&t, 2);
    term = r2->term;
    net_isolate(&t, 1);
    net_cut(&t, 2, 3);
    net_run(&t, E + 1);
    net_clear(&t);
    v.term = r2->term + 1;
    v.last_index = rf_last_index(r2);
    v.last_term = rf_last_term(r2);
    net_recv(&t, 2, &v);
    cr_assert(granted(&t, 2, 3, RF_MSG_VOTE_RESP, v.term), "vote refused although the leader is long silent");
    net_free(&t);
}

/* ======================================================================== */
/* Leadership transfer */

Test(raft_paper, transfer_to_caught_up_follower)
{
    net t;
    cluster(&t, 3, 1);
    uint64_t term = net_core(&t, 1)->term;
    net_clear(&t);
    cr_assert_eq(net_transfer(&t, 1, 2), RF_OK);
    cr_assert_eq(net_count(&t, 1, 2, RF_MSG_TIMEOUT_NOW), 1, "no TIMEOUT_NOW to the caught-up follower");
    int64_t t0 = t.now;
    net_deliver_all(&t);
    cr_assert_eq(net_leader(&t), 2, "the transferee is not leader");
    cr_assert_eq(t.now, t0, "the transfer waited for a timer");
    cr_assert_eq(net_core(&t, 2)->term, term + 1);
    cr_assert_neq(net_core(&t, 1)->role, RF_LEADER);
    net_run(&t, 3 * H);
    uint64_t idx = net_propose(&t, 2, "after");
    cr_assert_gt(idx, 0);
    net_run(&t, 3 * H);
    for (int i = 1; i <= 3; i++)
        cr_assert_geq(t.node[i].napplied, idx);
    net_check_safety(&t);
    net_free(&t);
}

Test(raft_paper, transfer_refuses_proposals_meanwhile)
{
    net t;
    cluster(&t, 3, 1);
    net_cut(&t, 1, 2);
    cr_assert_eq(net_transfer(&t, 1, 2), RF_OK);
    rf_err err;
    cr_assert_eq(net_propose_err(&t, 1, "during", &err), 0, "a proposal accepted during the transfer");
    cr_assert_eq(err, RF_ERR_TRANSFERRING, "err %d (%s)", err, rf_err_text(err));
    /* the transfer gives up after an election timeout */
    net_run(&t, 2 * E + H);
    cr_assert_eq(net_leader(&t), 1);
    cr_assert_gt(net_propose_err(&t, 1, "after", &err), 0, "proposals still refused (%s)", rf_err_text(err));
    net_free(&t);
}

Test(raft_paper, transfer_to_lagging_follower_catches_up)
{
    net t;
    cluster(&t, 3, 1);
    net_isolate(&t, 3);
    uint64_t last = 0;
    char buf[16];
    for (int i = 0; i < 5; i++) {
        snprintf(buf, sizeof buf, "lag%d", i);
        last = net_propose(&t, 1, buf);
    }
    net_run(&t, 3 * H);
    cr_assert_eq(net_core(&t, 1)->commit, last);
    net_connect(&t, 3);
    spy s;
    spy_on(&t, &s);
    s.timeout_now_to = 3;
    net_clear(&t);
    cr_assert_eq(net_transfer(&t, 1, 3), RF_OK);
    cr_assert_eq(net_count(&t, 1, 3, RF_MSG_TIMEOUT_NOW), 0, "TIMEOUT_NOW to a lagging follower");
    for (int k = 0; k < E && net_leader(&t) != 3; k++)
        net_run(&t, 1);
    cr_assert_eq(net_leader(&t), 3, "the lagging transferee did not become leader within an election timeout");
    cr_assert_geq(s.timeout_now_seen, 1);
    cr_assert_geq(rf_last_index(net_core(&t, 3)), last);
    net_run(&t, 3 * H);
    cr_assert_gt(t.node[3].napplied, last);
    net_check_safety(&t);
    net_free(&t);
}

/* The transferee's disk is slow: no TIMEOUT_NOW until it acknowledged
 * the leader's last entry; proposals are refused meanwhile. */
Test(raft_paper, transfer_waits_for_slow_follower)
{
    net t;
    cluster(&t, 3, 1);
    spy s;
    spy_on(&t, &s);
    s.timeout_now_to = 3;
    net_hold(&t, 3, true);
    uint64_t last = 0;
    char buf[16];
    for (int i = 0; i < 5; i++) {
        snprintf(buf, sizeof buf, "slow%d", i);
        last = net_propose(&t, 1, buf);
    }
    net_run(&t, 3 * H);
    cr_assert_eq(net_core(&t, 1)->commit, last);
    cr_assert_eq(net_transfer(&t, 1, 3), RF_OK);
    net_run(&t, 3 * H);
    cr_assert_eq(s.timeout_now_seen, 0, "TIMEOUT_NOW before the transferee caught up");
    cr_assert_eq(net_leader(&t), 1);
    rf_err err;
    cr_assert_eq(net_propose_err(&t, 1, "x", &err), 0);
    cr_assert_eq(err, RF_ERR_TRANSFERRING);
    net_hold(&t, 3, false);
    net_flush(&t, 3);
    net_deliver_all(&t);
    cr_assert_eq(s.timeout_now_seen, 1, "no TIMEOUT_NOW once the transferee caught up");
    cr_assert_eq(net_leader(&t), 3);
    net_run(&t, 3 * H);
    net_check_safety(&t);
    net_free(&t);
}

/* ======================================================================== */
/* Reads */

/* ReadIndex on a new leader waits for the commit of its term's first entry
 * and then for a heartbeat round answered by a quorum. */
Test(raft_paper, read_index_waits_for_term_commit_and_quorum)
{
    net t;
    net_init(&t, 3, 1);
    spy s;
    spy_on(&t, &s);
    s.drop_append = true; /* the no-op does not get out */
    cr_assert(net_elect(&t, 1));
    rf_core *r = net_core(&t, 1);
    uint64_t noop = rf_last_index(r);
    cr_assert_eq(net_read_req(&t, 1, 7, false), RF_OK);
    net_run(&t, 5 * H);
    cr_assert_lt(r->commit, noop);
    cr_assert_null(net_read_ready(&t, 1, 7), "ReadIndex served before the leader committed an entry of its term");
    s.drop_append = false;
    for (int k = 0; k < 5 * H && !net_read_ready(&t, 1, 7); k++)
        net_run(&t, 1);
    const net_read *rd = net_read_ready(&t, 1, 7);
    cr_assert_not_null(rd, "the read never came out");
    cr_assert_geq(rd->commit, noop, "the read came out before the no-op committed");
    cr_assert_geq(rd->index, noop);

    /* now a plain ReadIndex needs one heartbeat round */
    net_clear(&t);
    uint64_t c = r->commit;
    cr_assert_eq(net_read_req(&t, 1, 8, false), RF_OK);
    cr_assert_null(net_read_ready(&t, 1, 8), "ReadIndex served without a quorum round");
    net_deliver_all(&t);
    rd = net_read_ready(&t, 1, 8);
    cr_assert_not_null(rd, "the read did not come out after the round");
    cr_assert_eq(rd->index, c);
    net_free(&t);
}

Test(raft_paper, read_index_on_follower_fails)
{
    net t;
    cluster(&t, 3, 1);
    net_read_req(&t, 2, 9, false);
    cr_assert(net_read_failed(&t, 2, 9), "a read on a follower did not fail");
    net_run(&t, 3 * H);
    cr_assert_null(net_read_ready(&t, 2, 9));
    net_free(&t);
}

Test(raft_paper, read_index_on_isolated_leader_never_served)
{
    net t;
    cluster(&t, 3, 1);
    net_isolate(&t, 1);
    net_read_req(&t, 1, 10, false);
    net_run(&t, 5 * E);
    cr_assert_null(net_read_ready(&t, 1, 10), "a leader cut off from the majority served a ReadIndex");
    cr_assert_neq(net_core(&t, 1)->role, RF_LEADER);
    cr_assert(net_read_failed(&t, 1, 10), "the read did not fail when leadership was lost");
    net_free(&t);
}

/* Lease reads: at once while the lease holds (check-quorum on), not once
 * the leader has been cut off for the lease's length. */
Test(raft_paper, lease_read)
{
    net t;
    rf_options o;
    opts_default(&o);
    o.max_drift_ms = 10; /* lease: 90 ms */
    net_init_opts(&t, 3, 1, &o);
    cr_assert(net_elect(&t, 1));
    net_run(&t, 3 * H);
    net_clear(&t);
    net_read_req(&t, 1, 1, true);
    const net_read *rd = net_read_ready(&t, 1, 1);
    cr_assert_not_null(rd, "a lease read was not served at once");
    cr_assert_eq(rd->index, net_core(&t, 1)->commit);
    net_isolate(&t, 1);
    net_run(&t, E - o.max_drift_ms + 1);
    net_read_req(&t, 1, 2, true);
    cr_assert_null(net_read_ready(&t, 1, 2), "a lease read served after the lease ran out");
    net_run(&t, 3 * E);
    cr_assert_null(net_read_ready(&t, 1, 2), "an isolated leader served a read");
    net_free(&t);
}

Test(raft_paper, lease_read_needs_check_quorum)
{
    net t;
    rf_options o;
    opts_default(&o);
    o.max_drift_ms = 10;
    o.check_quorum = false;
    net_init_opts(&t, 3, 1, &o);
    cr_assert(net_elect(&t, 1));
    net_run(&t, 3 * H);
    net_clear(&t);
    net_read_req(&t, 1, 1, true);
    cr_assert_null(net_read_ready(&t, 1, 1), "a lease read without check-quorum");
    net_deliver_all(&t);
    cr_assert_not_null(net_read_ready(&t, 1, 1), "the read did not fall back to ReadIndex");
    net_free(&t);
}

/* ======================================================================== */
/* §6: membership, one server at a time, learners first */

static void add_learner(net *t, int leader, int id)
{
    net_add_node(t, id);
    cr_assert_eq(net_conf(t, leader, RF_CONF_ADD_LEARNER, id), RF_OK);
    net_run(t, 5 * H);
    cr_assert(rf_config_is_learner(&net_core(t, leader)->config, (rf_id)id));
}

Test(raft_paper, learner_replicates_but_never_votes)
{
    net t;
    cluster(&t, 3, 1);
    add_learner(&t, 1, 4);
    net_propose(&t, 1, "l1");
    net_run(&t, 5 * H);
    cr_assert_eq(t.node[4].napplied, t.node[1].napplied, "the learner did not get the log");
    cr_assert(rf_config_is_learner(&net_core(&t, 4)->config, 4));
    /* the learner does not count for commit, nor for check-quorum */
    net_cut(&t, 1, 2);
    net_cut(&t, 1, 3);
    uint64_t c = net_core(&t, 1)->commit;
    uint64_t idx = net_propose(&t, 1, "l2");
    net_run(&t, 3 * H);
    cr_assert_geq(net_disk_last(&t.node[4].disk), idx, "the learner did not get the entry");
    cr_assert_eq(net_core(&t, 1)->commit, c, "committed with the leader and a learner");
    uint64_t term = net_core(&t, 1)->term;
    net_run(&t, 10 * E);
    cr_assert_neq(net_core(&t, 1)->role == RF_LEADER && net_core(&t, 1)->term == term, true,
                  "a leader with only a learner kept its leadership");
    for (size_t k = term + 1; k < t.nleaders; k++)
        cr_assert_neq(t.leaders[k], 1, "node 1 elected in term %zu with a learner's vote", k);
    for (int i = 1; i <= 3; i++) {
        cr_assert_eq(t.sent[4][i][RF_MSG_PREVOTE], 0, "the learner campaigned");
        cr_assert_eq(t.sent[4][i][RF_MSG_VOTE], 0, "the learner campaigned");
    }
    for (size_t k = 0; k < t.nleaders; k++)
        cr_assert_neq(t.leaders[k], 4);
    net_heal(&t);
    net_run(&t, 5 * E);
    net_check_safety(&t);
    net_free(&t);
}

Test(raft_paper, promote_refused_while_learner_lags)
{
    net t;
    cluster(&t, 3, 1);
    net_add_node(&t, 4);
    net_isolate(&t, 4);
    cr_assert_eq(net_conf(&t, 1, RF_CONF_ADD_LEARNER, 4), RF_OK);
    net_propose(&t, 1, "p1");
    net_propose(&t, 1, "p2");
    net_run(&t, 5 * H);
    rf_err e = net_conf(&t, 1, RF_CONF_PROMOTE, 4);
    cr_assert_eq(e, RF_ERR_NOT_CAUGHT_UP, "promote of a lagging learner: %s", rf_err_text(e));
    net_connect(&t, 4);
    net_run(&t, 10 * H);
    e = net_conf(&t, 1, RF_CONF_PROMOTE, 4);
    cr_assert_eq(e, RF_OK, "promote of a caught-up learner: %s", rf_err_text(e));
    net_run(&t, 5 * H);
    for (int i = 1; i <= 4; i++)
        cr_assert(rf_config_is_voter(&net_core(&t, i)->config, 4), "node %d: 4 is not a voter", i);
    /* four voters: two are no majority */
    net_crash(&t, 3);
    net_crash(&t, 4);
    uint64_t c = net_core(&t, 1)->commit;
    net_propose(&t, 1, "p3");
    net_run(&t, 5 * H);
    cr_assert_eq(net_core(&t, 1)->commit, c, "committed with 2 of 4 voters");
    net_restart(&t, 4);
    net_propose(&t, 1, "p4"); /* (see leader_retransmits_lost_append) */
    net_run(&t, 5 * H);
    cr_assert_gt(net_core(&t, 1)->commit, c, "not committed once 3 of 4 voters are back");
    net_check_safety(&t);
    net_free(&t);
}

Test(raft_paper, second_change_refused_while_pending)
{
    net t;
    cluster(&t, 3, 1);
    net_add_node(&t, 4);
    net_add_node(&t, 5);
    net_hold(&t, 2, true);
    net_hold(&t, 3, true);
    cr_assert_eq(net_conf(&t, 1, RF_CONF_ADD_LEARNER, 4), RF_OK);
    net_run(&t, 3 * H);
    rf_err e = net_conf(&t, 1, RF_CONF_ADD_LEARNER, 5);
    cr_assert_eq(e, RF_ERR_CONF_PENDING, "a second change while one is uncommitted: %s", rf_err_text(e));
    net_hold(&t, 2, false);
    net_hold(&t, 3, false);
    net_flush(&t, 2);
    net_flush(&t, 3);
    net_run(&t, 3 * H);
    e = net_conf(&t, 1, RF_CONF_ADD_LEARNER, 5);
    cr_assert_eq(e, RF_OK, "after the first change committed: %s", rf_err_text(e));
    /* invalid changes */
    net_run(&t, 3 * H);
    e = net_conf(&t, 1, RF_CONF_ADD_LEARNER, 2);
    cr_assert_eq(e, RF_ERR_CONF_INVALID, "adding a voter as learner: %s", rf_err_text(e));
    e = net_conf(&t, 1, RF_CONF_PROMOTE, 2);
    cr_assert_eq(e, RF_ERR_CONF_INVALID, "promoting a voter: %s", rf_err_text(e));
    e = net_conf(&t, 1, RF_CONF_REMOVE, 6);
    cr_assert_eq(e, RF_ERR_CONF_INVALID, "removing a stranger: %s", rf_err_text(e));
    e = net_conf(&t, 2, RF_CONF_ADD_LEARNER, 6);
    cr_assert_eq(e, RF_ERR_NOT_LEADER, "a change at a follower: %s", rf_err_text(e));
    net_free(&t);
}

Test(raft_paper, change_refused_before_term_commit)
{
    net t;
    net_init(&t, 3, 1);
    spy s;
    spy_on(&t, &s);
    s.drop_append = true;
    cr_assert(net_elect(&t, 1));
    rf_err e = net_conf(&t, 1, RF_CONF_ADD_LEARNER, 4);
    cr_assert_eq(e, RF_ERR_NOT_READY, "a change before the leader committed an entry of its term: %s",
                 rf_err_text(e));
    s.drop_append = false;
    net_run(&t, 5 * H);
    net_add_node(&t, 4);
    cr_assert_eq(net_conf(&t, 1, RF_CONF_ADD_LEARNER, 4), RF_OK);
    net_free(&t);
}

Test(raft_paper, remove_follower)
{
    net t;
    cluster(&t, 3, 1);
    cr_assert_eq(net_conf(&t, 1, RF_CONF_REMOVE, 3), RF_OK);
    net_run(&t, 5 * H);
    for (int i = 1; i <= 2; i++) {
        rf_config *c = &net_core(&t, i)->config;
        cr_assert_eq(c->nvoters, 2, "node %d: %u voters", i, c->nvoters);
        cr_assert(!rf_config_is_voter(c, 3) && !rf_config_is_learner(c, 3));
    }
    net_crash(&t, 3);
    uint64_t idx = net_propose(&t, 1, "two");
    net_run(&t, 3 * H);
    cr_assert_geq(net_core(&t, 1)->commit, idx, "not committed by the two remaining voters");
    cr_assert_geq(t.node[2].napplied, idx);
    net_check_safety(&t);
    net_free(&t);
}

Test(raft_paper, remove_leader)
{
    net t;
    cluster(&t, 3, 1);
    uint64_t term = net_core(&t, 1)->term;
    cr_assert_eq(net_conf(&t, 1, RF_CONF_REMOVE, 1), RF_OK);
    int l = 0;
    for (int k = 0; k < 10 * E && !((l = net_leader(&t)) >= 2); k++)
        net_run(&t, 1);
    cr_assert(l == 2 || l == 3, "no new leader among the remaining voters");
    cr_assert_gt(net_core(&t, l)->term, term);
    cr_assert_neq(net_core(&t, 1)->role, RF_LEADER, "the removed leader did not step down");
    rf_config *c = &net_core(&t, l)->config;
    cr_assert(!rf_config_is_voter(c, 1));
    cr_assert_eq(c->nvoters, 2);
    uint64_t idx = net_propose(&t, l, "new");
    net_run(&t, 3 * H);
    cr_assert_geq(net_core(&t, l)->commit, idx);
    net_run(&t, 10 * E);
    for (size_t k = term + 1; k < t.nleaders; k++)
        cr_assert_neq(t.leaders[k], 1, "the removed node became leader again");
    net_check_safety(&t);
    net_free(&t);
}

/* ======================================================================== */
/* §7: snapshots */

Test(raft_paper, snapshot_compacts_log)
{
    net t;
    cluster(&t, 3, 1);
    char buf[16];
    for (int i = 0; i < 10; i++) {
        snprintf(buf, sizeof buf, "s%d", i);
        net_propose(&t, 1, buf);
    }
    net_run(&t, 3 * H);
    rf_core *r = net_core(&t, 1);
    uint64_t at = t.node[1].napplied;
    cr_assert_eq(at, 11);
    uint64_t term = rf_entry_at(r, at)->term;
    net_snapshot(&t, 1, at, 0);
    cr_assert_eq(r->snap_index, at);
    cr_assert_eq(r->snap_term, term);
    for (uint64_t i = 1; i <= at; i++)
        cr_assert_null(rf_entry_at(r, i), "entry %" PRIu64 " survived the compaction", i);
    bool ok = false;
    cr_assert_eq(rf_term_at(r, at, &ok), term);
    cr_assert(ok, "the snapshot's term is unknown");
    cr_assert_eq(rf_last_index(r), at);
    uint64_t idx = net_propose(&t, 1, "after");
    cr_assert_eq(idx, at + 1);
    net_run(&t, 3 * H);
    cr_assert_not_null(rf_entry_at(r, idx));
    for (int i = 1; i <= 3; i++)
        cr_assert_eq(t.node[i].napplied, idx);
    /* with trailing entries kept */
    rf_core *r2 = net_core(&t, 2);
    net_snapshot(&t, 2, at, 4);
    cr_assert_eq(r2->snap_index, at);
    cr_assert_null(rf_entry_at(r2, 1));
    cr_assert_not_null(rf_entry_at(r2, at), "no trailing entries kept");
    cr_assert_not_null(rf_entry_at(r2, at - 3), "fewer than 4 trailing entries kept");
    net_check_safety(&t);
    net_free(&t);
}

Test(raft_paper, snapshot_sent_in_chunks)
{
    net t;
    rf_options o;
    opts_default(&o);
    o.snapshot_chunk = 16;
    net_init_opts(&t, 3, 3, &o);
    cr_assert(net_elect(&t, 1));
    net_run(&t, 3 * H);
    net_crash(&t, 3);
    char buf[32];
    for (int i = 0; i < 10; i++) {
        snprintf(buf, sizeof buf, "snapshot-%02d", i);
        net_propose(&t, 1, buf);
    }
    net_run(&t, 3 * H);
    uint64_t at = t.node[1].napplied;
    cr_assert_eq(at, 11);
    net_snapshot(&t, 1, at, 0);
    net_snapshot(&t, 2, at, 0);
    size_t len = t.node[1].disk.snap_len;
    cr_assert(len > 200 && len < 1000, "snapshot of %zu bytes", len);
    spy s;
    spy_on(&t, &s);
    net_restart(&t, 3);
    net_propose(&t, 1, "kick"); /* (see leader_retransmits_lost_append) */
    net_run(&t, 10 * H);
    cr_assert_geq(s.nsnap, (len + 15) / 16, "%" PRIu64 " chunks for %zu bytes", s.nsnap, len);
    cr_assert_leq(s.max_chunk, 16, "a chunk of %" PRIu64 " bytes", s.max_chunk);
    net_node *n3 = &t.node[3];
    cr_assert_eq(n3->disk.snap_index, at, "the snapshot was not installed");
    cr_assert_eq(n3->disk.snap_len, len);
    cr_assert(memcmp(n3->disk.snap_data, t.node[1].disk.snap_data, len) == 0, "the installed bytes differ");
    cr_assert_eq(net_core(&t, 3)->snap_index, at);
    cr_assert_geq(n3->napplied, at + 1);
    uint64_t idx = 0;
    for (int i = 0; i < 3; i++) {
        snprintf(buf, sizeof buf, "post-%d", i);
        idx = net_propose(&t, 1, buf);
    }
    net_run(&t, 5 * H);
    cr_assert_eq(n3->napplied, idx, "the follower did not continue after the snapshot");
    /* and it restarts from its own snapshot */
    net_crash(&t, 3);
    net_restart(&t, 3);
    cr_assert_eq(net_core(&t, 3)->snap_index, at);
    net_run(&t, 5 * H);
    cr_assert_eq(n3->napplied, idx);
    net_check_safety(&t);
    net_free(&t);
}

/* raft.h: a restarted node gets its snapshot's metadata from
 * rf_restore_snapshot, and "the driver hands it in again with RF_EV_SNAPSHOT
 * if it wants to send it" (the harness does so at every restart). A leader
 * elected after a full restart then sends that snapshot to a follower whose
 * log it compacted away. */
Test(raft_paper, snapshot_handed_in_after_restart_is_sent)
{
    net t;
    cluster(&t, 3, 1);
    net_crash(&t, 3);
    char buf[16];
    for (int i = 0; i < 6; i++) {
        snprintf(buf, sizeof buf, "r%d", i);
        net_propose(&t, 1, buf);
    }
    net_run(&t, 3 * H);
    uint64_t at = t.node[1].napplied;
    net_snapshot(&t, 1, at, 0);
    net_snapshot(&t, 2, at, 0);
    net_crash(&t, 1);
    net_crash(&t, 2);
    net_restart(&t, 1);
    net_restart(&t, 2);
    cr_assert_eq(net_core(&t, 1)->snap_index, at);
    cr_assert(net_elect(&t, 1));
    net_restart(&t, 3);
    net_run(&t, 10 * H);
    cr_assert_gt(t.sent[1][3][RF_MSG_SNAPSHOT], 0,
                 "the restarted leader never sent the snapshot it was handed (node 3's log ends at %" PRIu64 ")",
                 net_disk_last(&t.node[3].disk));
    cr_assert_eq(t.node[3].disk.snap_index, at);
    cr_assert_eq(t.node[3].napplied, t.node[1].napplied);
    net_check_safety(&t);
    net_free(&t);
}

/* The driver reports the restarted follower unreachable: the leader probes
 * it, finds its log compacted, sends the snapshot; with nothing after the
 * snapshot the follower is then simply caught up (and the two go quiet). */
Test(raft_paper, snapshot_after_unreachable_nothing_after_it)
{
    net t;
    cluster(&t, 3, 1);
    net_crash(&t, 3);
    char buf[16];
    for (int i = 0; i < 6; i++) {
        snprintf(buf, sizeof buf, "u%d", i);
        net_propose(&t, 1, buf);
    }
    net_run(&t, 3 * H);
    uint64_t at = t.node[1].napplied;
    net_snapshot(&t, 1, at, 0);
    net_restart(&t, 3);
    net_unreachable(&t, 1, 3);
    uint64_t before = t.sent[1][3][RF_MSG_APPEND];
    net_run(&t, 5 * H);
    cr_assert_eq(t.node[3].disk.snap_index, at, "the snapshot was not installed");
    cr_assert_eq(t.node[3].napplied, at);
    uint64_t appends = t.sent[1][3][RF_MSG_APPEND] - before;
    cr_assert_leq(appends, 10, "%" PRIu64 " APPENDs in 50 ms to a caught-up follower", appends);
    uint64_t idx = net_propose(&t, 1, "next");
    net_run(&t, 3 * H);
    cr_assert_eq(t.node[3].napplied, idx);
    net_check_safety(&t);
    net_free(&t);
}

/* ======================================================================== */
/* Flow control */

Test(raft_paper, bounded_inflight_window)
{
    net t;
    rf_options o;
    opts_default(&o);
    o.max_inflight = 4;
    o.max_batch_entries = 1;
    net_init_opts(&t, 3, 1, &o);
    cr_assert(net_elect(&t, 1));
    net_run(&t, 5 * H);
    for (int i = 0; i < 3; i++)
        net_propose(&t, 1, "warm");
    net_run(&t, 5 * H); /* both followers in the replicating state */
    net_cut(&t, 1, 2);
    uint64_t before = t.sent[1][2][RF_MSG_APPEND];
    uint64_t last = 0;
    char buf[16];
    for (int i = 0; i < 12; i++) {
        snprintf(buf, sizeof buf, "f%d", i);
        last = net_propose(&t, 1, buf);
        net_deliver_all(&t);
    }
    uint64_t sent = t.sent[1][2][RF_MSG_APPEND] - before;
    cr_assert_leq(sent, 4, "%" PRIu64 " APPENDs to a silent follower with max_inflight 4", sent);
    cr_assert_geq(sent, 1);
    cr_assert_eq(net_core(&t, 1)->commit, last, "node 3 (answering) did not keep up");
    net_heal(&t);
    net_run(&t, 10 * H);
    cr_assert_eq(t.node[2].napplied, last, "node 2 did not catch up after the heal");
    net_check_safety(&t);
    net_free(&t);
}

/* ------------------------------------------------------------------------ */
/* Regressions from a review of raft.c: a sole voter's traffic before its
 * term is durable, stability across an A-B-A rewrite, and pre-vote answers
 * held behind a hard state. */


/* 1. A sole voter with a learner: after a restart it becomes leader in one
 * step and sends APPENDs of a term that is not durable yet. */
Test(review, sole_voter_sends_appends_before_term_durable)
{
    net t;
    net_init(&t, 1, 1);
    net_run(&t, 50 * H);
    cr_assert_eq(net_leader(&t), 1);
    net_add_node(&t, 2);
    cr_assert_eq(net_conf(&t, 1, RF_CONF_ADD_LEARNER, 2), RF_OK);
    net_run(&t, 50 * H);
    uint64_t before = net_core(&t, 1)->term;
    /* crash, restart with its disk held back */
    net_crash(&t, 1);
    net_hold(&t, 1, true);
    net_restart(&t, 1);
    net_fire(&t, 1);
    cr_assert_eq(net_core(&t, 1)->role, RF_LEADER);
    cr_assert_eq(net_core(&t, 1)->term, before + 1);
    cr_assert_eq(t.node[1].disk.term, before, "term not durable yet");
    cr_assert_eq(net_count(&t, 1, 2, RF_MSG_APPEND), 0, "an APPEND left before the term was durable");
    net_propose(&t, 1, "x");
    net_deliver_all(&t); /* learner 2 takes noop + x in term before+1 */
    net_crash(&t, 1);    /* the held hard state and entries are lost */
    net_restart(&t, 1);
    net_fire(&t, 1);
    cr_assert_eq(net_core(&t, 1)->role, RF_LEADER);
    cr_assert_eq(net_core(&t, 1)->term, before + 1, "same term again");
    net_propose(&t, 1, "y");
    net_run(&t, 50 * H);
    net_check_safety(&t);
    net_free(&t);
}

/* raw core helpers */
static rf_core *raw_new(rf_id id, int nvoters)
{
    rf_core *r = calloc(1, sizeof *r);
    rf_options o;
    rf_options_default(&o);
    o.id = id;
    o.seed = id;
    o.election_ms = 100;
    o.heartbeat_ms = 10;
    rf_config c;
    memset(&c, 0, sizeof c);
    for (int i = 1; i <= nvoters; i++)
        c.voters[c.nvoters++] = (rf_id)i;
    rf_init(r, &o, &c, 1000);
    rf_start(r, 0, 1000);
    return r;
}

static void raw_step(rf_core *r, rf_event ev) { ev.now_ms = r->now; rf_step(r, &ev); }

static rf_entry ents_buf[8];
static void raw_append(rf_core *r, rf_id from, uint64_t term, uint64_t pi, uint64_t pt,
                       const uint64_t *terms, uint32_t n, uint64_t commit)
{
    rf_msg m;
    memset(&m, 0, sizeof m);
    m.type = RF_MSG_APPEND;
    m.from = from;
    m.to = r->o.id;
    m.term = term;
    m.prev_index = pi;
    m.prev_term = pt;
    m.commit = commit;
    for (uint32_t k = 0; k < n; k++) {
        ents_buf[k] = (rf_entry){.index = pi + 1 + k, .term = terms[k], .type = RF_ENTRY_NORMAL,
                                 .len = 1, .data = (unsigned char *)"z"};
    }
    m.entries = ents_buf;
    m.nentries = n;
    raw_step(r, (rf_event){.type = RF_EV_RECV, .msg = &m});
}

static const rf_msg *find_out(rf_core *r, uint8_t type)
{
    for (uint32_t i = 0; i < r->out.nmsgs; i++)
        if (r->out.msgs[i].type == type)
            return &r->out.msgs[i];
    return NULL;
}

/* 2. ABA: entries written by request 1 are replaced (request 2) and then
 * re-written identically (request 3). PERSISTED(1) alone makes the core
 * treat index 3 as durable and release the ack, though request 2 -- a
 * truncation of 2.. -- has not run yet: a crash after it loses what was
 * acknowledged. */
Test(review, stable_aba)
{
    rf_core *r = raw_new(3, 3);
    uint64_t t2[] = {2, 2, 2};
    raw_append(r, 1, 2, 0, 0, t2, 3, 0);
    uint64_t s1 = r->out.persist.seq;
    cr_assert_eq(s1, 1);
    uint64_t t3[] = {3};
    raw_append(r, 2, 3, 1, 2, t3, 1, 0); /* term 3 leader overwrites 2 */
    cr_assert_eq(r->out.persist.seq, 2);
    cr_assert_eq(r->out.persist.first, 2);
    uint64_t t22[] = {2, 2};
    raw_append(r, 1, 4, 1, 2, t22, 2, 3); /* term 4 leader restores (2,2),(3,2) */
    cr_assert_eq(r->out.persist.seq, 3);
    cr_assert_null(find_out(r, RF_MSG_APPEND_RESP), "ack held");
    raw_step(r, (rf_event){.type = RF_EV_PERSISTED, .seq = 1});
    const rf_msg *a = find_out(r, RF_MSG_APPEND_RESP);
    cr_assert_null(a, "an acknowledgement left before request 2 was durable");
    cr_assert_lt(r->out.apply_to, 2, "applied %lu", (unsigned long)r->out.apply_to);
    cr_assert_lt(r->stable, 2, "stable advanced to %lu while request 2 (truncating 2..) is not durable", r->stable);
    rf_free(r);
    free(r);
}

/* 3. A granted PREVOTE_RESP (term = candidate's term) held behind a pending
 * hard state is dropped by release_held as "said in an earlier term". */
Test(review, prevote_grant_dropped_when_held)
{
    rf_core *r = raw_new(3, 3);
    r->now = 5000;
    rf_msg v;
    memset(&v, 0, sizeof v);
    v.type = RF_MSG_VOTE; v.from = 2; v.to = 3; v.term = 6;
    raw_step(r, (rf_event){.type = RF_EV_RECV, .msg = &v}); /* grants: hs pending */
    cr_assert_eq(r->vote, 2);
    uint64_t s = r->out.persist.seq;
    rf_msg p;
    memset(&p, 0, sizeof p);
    p.type = RF_MSG_PREVOTE; p.from = 1; p.to = 3; p.term = 7;
    raw_step(r, (rf_event){.type = RF_EV_RECV, .msg = &p});
    cr_assert_null(find_out(r, RF_MSG_PREVOTE_RESP), "held");
    raw_step(r, (rf_event){.type = RF_EV_PERSISTED, .seq = s});
    cr_assert_not_null(find_out(r, RF_MSG_VOTE_RESP));
    cr_assert_not_null(find_out(r, RF_MSG_PREVOTE_RESP), "granted PREVOTE_RESP dropped (nheld now %u)", r->nheld);
    rf_free(r);
    free(r);
}
