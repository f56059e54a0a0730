/* The Raft core (core/raft/raft.h) through the classic Raft lab's
 * scenarios, driven in the deterministic harness of raft_net.h with fixed
 * seeds: elections (initial, re-election, many), agreement (basic, with a
 * follower gone, without a majority, concurrent proposals, a partitioned
 * leader that rejoins, fast backup over divergent logs), persistence
 * (crashes and restarts, the leader's too, with slow disks), Figure 8
 * (random leader crashes; and with loss, delays and reordering), and
 * snapshots (followers that come back after compaction catch up by
 * InstallSnapshot). Besides what each scenario checks, the harness checks
 * safety after every step (one leader per term, one vote per voter and
 * term, applied histories agree, nothing committed is lost) and
 * net_check_safety() again at the end. */
#include "raft_net.h"

#define E 100
#define H 10

/* The leader among the connected live nodes, after letting the cluster
 * settle; fails if none shows up within about 1.5 s. */
static int check_one_leader(net *t)
{
    for (int iter = 0; iter < 10; iter++) {
        net_run(t, 50 + (int64_t)kprng_below(&t->rng, 100));
        int best = 0;
        uint64_t bt = 0;
        for (int i = 1; i <= t->n; i++) {
            net_node *nd = &t->node[i];
            if (!nd->exists || !nd->alive || nd->isolated || nd->r.role != RF_LEADER)
                continue;
            if (nd->r.term > bt) {
                bt = nd->r.term;
                best = i;
            }
        }
        if (best)
            return best;
    }
    cr_assert_fail("expected one leader, got none");
    return 0;
}

static uint64_t check_terms(net *t)
{
    uint64_t term = 0;
    for (int i = 1; i <= t->n; i++) {
        net_node *nd = &t->node[i];
        if (!nd->exists || !nd->alive || nd->isolated)
            continue;
        if (term == 0)
            term = nd->r.term;
        else
            cr_assert_eq(nd->r.term, term, "servers disagree on the term");
    }
    return term;
}

static void check_no_leader(net *t)
{
    for (int i = 1; i <= t->n; i++) {
        net_node *nd = &t->node[i];
        if (nd->exists && nd->alive && !nd->isolated)
            cr_assert_neq(nd->r.role, RF_LEADER, "node %d is leader without a majority", i);
    }
}

/* Only the nodes in mask (bit i: node i) are connected, among themselves. */
static void only(net *t, unsigned mask)
{
    net_heal(t);
    for (int i = 1; i <= t->n; i++)
        if (!(mask & (1u << i)))
            net_isolate(t, i);
}

static int wrap(net *t, int id) /* 1-based modulo */
{
    return 1 + (id - 1) % t->n;
}

static uint64_t one_n(net *t, int k, int expected)
{
    char buf[32];
    snprintf(buf, sizeof buf, "cmd-%d-%" PRIu64, k, kprng_below(&t->rng, 1000000));
    return net_one(t, buf, expected, true);
}

static bool applied_value(net *t, int id, const char *data)
{
    net_node *nd = &t->node[id];
    for (size_t i = 0; i < nd->napplied; i++)
        if (net_ent_is(&nd->applied[i], data))
            return true;
    return false;
}

/* ======================================================================== */
/* Elections */

Test(raft_scenario, initial_election)
{
    net t;
    net_init(&t, 3, 101);
    check_one_leader(&t);
    uint64_t term1 = check_terms(&t);
    cr_assert_geq(term1, 1);
    net_run(&t, 20 * E);
    uint64_t term2 = check_terms(&t);
    cr_assert_eq(term1, term2, "the term changed with no failures");
    check_one_leader(&t);
    net_check_safety(&t);
    net_free(&t);
}

Test(raft_scenario, reelection)
{
    net t;
    net_init(&t, 3, 102);
    int l1 = check_one_leader(&t);
    /* the leader goes: a new one */
    net_isolate(&t, l1);
    int l2 = check_one_leader(&t);
    cr_assert_neq(l1, l2);
    /* the old leader comes back: one leader */
    net_connect(&t, l1);
    int l3 = check_one_leader(&t);
    /* no quorum: no leader */
    net_isolate(&t, l3);
    net_isolate(&t, wrap(&t, l3 + 1));
    net_run(&t, 4 * E);
    check_no_leader(&t);
    /* a quorum again */
    net_connect(&t, wrap(&t, l3 + 1));
    check_one_leader(&t);
    net_connect(&t, l3);
    check_one_leader(&t);
    net_check_safety(&t);
    net_free(&t);
}

static void many_elections(int n, int gone, uint64_t seed)
{
    net t;
    net_init(&t, n, seed);
    check_one_leader(&t);
    for (int it = 0; it < 10; it++) {
        int out[NET_MAXN];
        for (int k = 0; k < gone; k++) {
            out[k] = 1 + (int)kprng_below(&t.rng, (uint64_t)n);
            net_isolate(&t, out[k]);
        }
        /* with at most `gone` out, a majority is left: a leader */
        check_one_leader(&t);
        for (int k = 0; k < gone; k++)
            net_connect(&t, out[k]);
    }
    check_one_leader(&t);
    net_check_safety(&t);
    net_free(&t);
}

Test(raft_scenario, many_elections_3)
{
    many_elections(3, 1, 103);
}

Test(raft_scenario, many_elections_5)
{
    many_elections(5, 2, 104);
}

/* ======================================================================== */
/* Agreement */

Test(raft_scenario, basic_agree)
{
    net t;
    net_init(&t, 3, 105);
    check_one_leader(&t);
    uint64_t prev = 0;
    char buf[16];
    for (int k = 1; k <= 10; k++) {
        uint64_t next = prev + 1;
        cr_assert_eq(net_napplied(&t, next + 1, NULL), 0, "some have committed before Start()");
        snprintf(buf, sizeof buf, "%d", k * 100);
        uint64_t idx = net_one(&t, buf, 3, false);
        cr_assert_gt(idx, prev);
        prev = idx;
    }
    for (int i = 1; i <= 3; i++)
        cr_assert_eq(t.node[i].napplied, prev);
    net_check_safety(&t);
    net_free(&t);
}

Test(raft_scenario, fail_agree)
{
    net t;
    net_init(&t, 3, 106);
    net_one(&t, "101", 3, false);
    int l = net_leader(&t);
    int f = wrap(&t, l + 1);
    net_isolate(&t, f);
    net_one(&t, "102", 2, false);
    net_one(&t, "103", 2, false);
    net_run(&t, E);
    net_one(&t, "104", 2, false);
    net_one(&t, "105", 2, false);
    net_connect(&t, f);
    net_one(&t, "106", 3, true);
    net_run(&t, E);
    net_one(&t, "107", 3, true);
    for (int i = 1; i <= 3; i++)
        cr_assert(applied_value(&t, i, "104"), "node %d missed 104", i);
    net_check_safety(&t);
    net_free(&t);
}

Test(raft_scenario, fail_no_agree)
{
    net t;
    net_init(&t, 5, 107);
    net_one(&t, "10", 5, false);
    int l = check_one_leader(&t);
    for (int k = 1; k <= 3; k++)
        net_isolate(&t, wrap(&t, l + k));
    uint64_t idx = net_propose(&t, l, "20");
    cr_assert_gt(idx, 0, "the leader refused a proposal");
    net_run(&t, 2 * E);
    cr_assert_eq(net_napplied(&t, idx, NULL), 0, "committed without a majority");
    cr_assert_lt(net_core(&t, l)->commit, idx);
    net_heal(&t);
    int l2 = check_one_leader(&t);
    uint64_t idx2 = net_propose(&t, l2, "30");
    cr_assert(idx2 >= idx && idx2 <= idx + 2, "unexpected index %" PRIu64, idx2);
    net_one(&t, "1000", 5, true);
    net_check_safety(&t);
    net_free(&t);
}

Test(raft_scenario, concurrent_starts)
{
    net t;
    net_init(&t, 3, 108);
    int l = check_one_leader(&t);
    char buf[8][16];
    for (int k = 0; k < 8; k++) {
        snprintf(buf[k], sizeof buf[k], "conc-%d", k);
        cr_assert_gt(net_propose(&t, l, buf[k]), 0);
    }
    net_run(&t, 5 * H);
    for (int i = 1; i <= 3; i++)
        for (int k = 0; k < 8; k++)
            cr_assert(applied_value(&t, i, buf[k]), "node %d did not apply %s", i, buf[k]);
    net_check_safety(&t);
    net_free(&t);
}

Test(raft_scenario, rejoin_of_partitioned_leader)
{
    net t;
    net_init(&t, 3, 109);
    net_one(&t, "101", 3, true);
    int l1 = net_leader(&t);
    net_isolate(&t, l1);
    /* the old leader takes entries it cannot commit */
    uint64_t i102 = net_propose(&t, l1, "102");
    net_propose(&t, l1, "103");
    net_propose(&t, l1, "104");
    cr_assert_gt(i102, 0);
    /* the new leader commits, at the same index too */
    net_one(&t, "103", 2, true);
    int l2 = check_one_leader(&t);
    cr_assert_neq(l2, l1);
    net_isolate(&t, l2);
    net_connect(&t, l1);
    net_one(&t, "104", 2, true);
    net_connect(&t, l2);
    net_one(&t, "105", 3, true);
    for (int i = 1; i <= 3; i++) {
        cr_assert(!applied_value(&t, i, "102"), "node %d applied the partitioned leader's 102", i);
        const rf_entry *e = rf_entry_at(net_core(&t, i), i102);
        cr_assert(e && e->term > 1 && t.node[i].napplied >= i102);
    }
    net_check_safety(&t);
    net_free(&t);
}

/* The leader backs up quickly over followers with many divergent entries. */
Test(raft_scenario, backup)
{
    net t;
    net_init(&t, 5, 110);
    one_n(&t, 0, 5);
    int l1 = check_one_leader(&t);
    int64_t t0 = t.now;
    char buf[32];
    /* the leader and one follower: 50 entries that never commit */
    only(&t, 1u << l1 | 1u << wrap(&t, l1 + 1));
    for (int k = 0; k < 50; k++) {
        snprintf(buf, sizeof buf, "lost-a-%d", k);
        net_propose(&t, l1, buf);
    }
    net_run(&t, E / 2);
    /* the other three: 50 committed */
    unsigned three = 1u << wrap(&t, l1 + 2) | 1u << wrap(&t, l1 + 3) | 1u << wrap(&t, l1 + 4);
    only(&t, three);
    for (int k = 0; k < 50; k++)
        one_n(&t, 100 + k, 3);
    /* their leader and one more: 50 that never commit */
    int l2 = check_one_leader(&t);
    int other = wrap(&t, l1 + 2);
    if (l2 == other)
        other = wrap(&t, l2 + 1);
    only(&t, three & ~(1u << other));
    for (int k = 0; k < 50; k++) {
        snprintf(buf, sizeof buf, "lost-b-%d", k);
        net_propose(&t, l2, buf);
    }
    net_run(&t, E / 2);
    /* the first pair and `other`: they must back up over the 50 lost */
    only(&t, 1u << l1 | 1u << wrap(&t, l1 + 1) | 1u << other);
    for (int k = 0; k < 50; k++)
        one_n(&t, 200 + k, 3);
    net_heal(&t);
    one_n(&t, 300, 5);
    uint64_t rejects = 0;
    for (int i = 1; i <= 5; i++)
        rejects += t.rejects[i][RF_MSG_APPEND_RESP];
    cr_assert_lt(rejects, 30, "%" PRIu64 " rejected APPENDs: the leader backs up one entry at a time", rejects);
    cr_assert_lt(t.now - t0, 60000, "backup took %" PRId64 " ms of virtual time", t.now - t0);
    net_check_safety(&t);
    net_free(&t);
}

/* ======================================================================== */
/* Persistence */

static void persist1(double disk_lag, uint64_t seed)
{
    net t;
    net_init(&t, 3, seed);
    t.disk_lag_ppm = (uint32_t)(disk_lag * 1e6);
    net_one(&t, "11", 3, true);
    for (int i = 1; i <= 3; i++)
        net_crash(&t, i);
    for (int i = 1; i <= 3; i++)
        net_restart(&t, i);
    net_one(&t, "12", 3, true);
    int l1 = check_one_leader(&t);
    net_crash(&t, l1);
    net_restart(&t, l1);
    net_one(&t, "13", 3, true);
    int l2 = check_one_leader(&t);
    net_crash(&t, l2);
    uint64_t i14 = net_one(&t, "14", 2, true);
    net_restart(&t, l2);
    for (int k = 0; k < 100 && net_napplied(&t, i14, NULL) < 3; k++)
        net_run(&t, 10);
    cr_assert_eq(net_napplied(&t, i14, NULL), 3, "the restarted leader did not catch up");
    int l3 = check_one_leader(&t);
    int i3 = wrap(&t, l3 + 1);
    net_crash(&t, i3);
    net_one(&t, "15", 2, true);
    net_restart(&t, i3);
    net_one(&t, "16", 3, true);
    net_check_safety(&t);
    net_free(&t);
}

Test(raft_scenario, persist_crash_restart)
{
    persist1(0, 111);
}

Test(raft_scenario, persist_crash_restart_slow_disk)
{
    persist1(0.4, 112);
}

Test(raft_scenario, persist_more)
{
    net t;
    net_init(&t, 5, 113);
    int index = 1;
    for (int iters = 0; iters < 5; iters++) {
        one_n(&t, 10 + index++, 5);
        int l1 = check_one_leader(&t);
        net_crash(&t, wrap(&t, l1 + 1));
        net_crash(&t, wrap(&t, l1 + 2));
        one_n(&t, 10 + index++, 3);
        net_crash(&t, l1);
        net_crash(&t, wrap(&t, l1 + 3));
        net_crash(&t, wrap(&t, l1 + 4));
        net_restart(&t, wrap(&t, l1 + 1));
        net_restart(&t, wrap(&t, l1 + 2));
        net_run(&t, E);
        net_restart(&t, wrap(&t, l1 + 3));
        one_n(&t, 10 + index++, 3);
        net_restart(&t, wrap(&t, l1 + 4));
        net_restart(&t, l1);
    }
    one_n(&t, 1000, 5);
    net_check_safety(&t);
    net_free(&t);
}

/* ======================================================================== */
/* Figure 8 */

Test(raft_scenario, figure8)
{
    net t;
    net_init(&t, 5, 114);
    t.disk_lag_ppm = 200000; /* a write is sometimes still in flight at a crash */
    one_n(&t, 0, 1);
    int nup = 5;
    char buf[32];
    for (int it = 0; it < 300; it++) {
        int leader = 0;
        for (int i = 1; i <= 5; i++) {
            if (!t.node[i].alive)
                continue;
            snprintf(buf, sizeof buf, "f8-%d-%d", it, i);
            if (net_propose(&t, i, buf))
                leader = i;
        }
        if (net_chance(&t, 100000))
            net_run(&t, (int64_t)kprng_below(&t.rng, E / 2));
        else
            net_run(&t, (int64_t)kprng_below(&t.rng, 13));
        if (leader && t.node[leader].alive) {
            net_crash(&t, leader);
            nup--;
        }
        if (nup < 3) {
            int s = 1 + (int)kprng_below(&t.rng, 5);
            if (!t.node[s].alive) {
                net_restart(&t, s);
                nup++;
            }
        }
    }
    for (int i = 1; i <= 5; i++)
        if (!t.node[i].alive)
            net_restart(&t, i);
    t.disk_lag_ppm = 0;
    one_n(&t, 9999, 5);
    net_check_safety(&t);
    net_free(&t);
}

Test(raft_scenario, figure8_unreliable)
{
    net t;
    net_init(&t, 5, 115);
    net_unreliable(&t, 0.1, 0.3, 20, true);
    one_n(&t, 0, 1);
    int nup = 5;
    char buf[32];
    for (int it = 0; it < 400; it++) {
        if (it == 200)
            net_unreliable(&t, 0.1, 0.5, 200, true); /* long reordering */
        int leader = 0;
        for (int i = 1; i <= 5; i++) {
            if (t.node[i].isolated)
                continue;
            snprintf(buf, sizeof buf, "u8-%d-%d", it, i);
            if (net_propose(&t, i, buf))
                leader = i;
        }
        if (net_chance(&t, 100000))
            net_run(&t, (int64_t)kprng_below(&t.rng, E / 2));
        else
            net_run(&t, (int64_t)kprng_below(&t.rng, 13));
        if (leader && net_chance(&t, 500000)) {
            net_isolate(&t, leader);
            nup--;
        }
        if (nup < 3) {
            int s = 1 + (int)kprng_below(&t.rng, 5);
            if (t.node[s].isolated) {
                net_connect(&t, s);
                nup++;
            }
        }
    }
    net_heal(&t);
    net_reliable(&t);
    one_n(&t, 9999, 5);
    net_check_safety(&t);
    net_free(&t);
}

/* Crashes, slow disks, loss and reordering at once, with snapshots. */
Test(raft_scenario, figure8_crash_unreliable_snapshots)
{
    net t;
    net_init(&t, 5, 116);
    net_unreliable(&t, 0.05, 0.3, 30, true);
    t.disk_lag_ppm = 200000;
    t.snap_every = 7;
    t.snap_trailing = 2;
    one_n(&t, 0, 1);
    int nup = 5;
    char buf[32];
    for (int it = 0; it < 300; it++) {
        int leader = 0;
        for (int i = 1; i <= 5; i++) {
            if (!t.node[i].alive)
                continue;
            snprintf(buf, sizeof buf, "c8-%d-%d", it, i);
            if (net_propose(&t, i, buf))
                leader = i;
        }
        net_run(&t, (int64_t)kprng_below(&t.rng, net_chance(&t, 100000) ? E : 20));
        if (leader && t.node[leader].alive && net_chance(&t, 300000)) {
            net_crash(&t, leader);
            nup--;
        }
        if (nup < 3 || net_chance(&t, 50000)) {
            int s = 1 + (int)kprng_below(&t.rng, 5);
            if (!t.node[s].alive) {
                net_restart(&t, s);
                nup++;
            }
        }
    }
    for (int i = 1; i <= 5; i++)
        if (!t.node[i].alive)
            net_restart(&t, i);
    net_reliable(&t);
    t.disk_lag_ppm = 0;
    one_n(&t, 9999, 5);
    net_check_safety(&t);
    net_free(&t);
}

/* ======================================================================== */
/* Snapshots (the lab's 2D): every node compacts every 10 applied entries; a
 * follower that was away while the rest compacted catches up by snapshot. */

static void snap_common(bool disconnect, bool reliable, bool crash, uint64_t seed)
{
    net t;
    net_init(&t, 3, seed);
    t.snap_every = 10;
    if (!reliable)
        net_unreliable(&t, 0.1, 0.3, 20, true);
    one_n(&t, 0, 3);
    int leader = check_one_leader(&t);
    int k = 1;
    char buf[32];
    for (int it = 0; it < 20; it++) {
        int victim = wrap(&t, leader + 1), sender = leader;
        if (it % 3 == 1) {
            sender = victim;
            victim = leader;
        }
        if (disconnect) {
            net_isolate(&t, victim);
            one_n(&t, k++, 2);
        }
        if (crash) {
            net_crash(&t, victim);
            one_n(&t, k++, 2);
        }
        /* enough entries for a snapshot, at whoever leads now */
        for (int j = 0; j < 11; j++) {
            snprintf(buf, sizeof buf, "snap-%d-%d", it, j);
            if (t.node[sender].alive)
                net_propose(&t, sender, buf);
        }
        one_n(&t, k++, 2);
        if (disconnect) {
            net_connect(&t, victim);
            one_n(&t, k++, 3);
            leader = check_one_leader(&t);
        }
        if (crash) {
            net_restart(&t, victim);
            one_n(&t, k++, 3);
            leader = check_one_leader(&t);
        }
    }
    uint64_t snaps = 0;
    for (int a = 1; a <= 3; a++)
        for (int b = 1; b <= 3; b++)
            snaps += t.sent[a][b][RF_MSG_SNAPSHOT];
    cr_assert_gt(snaps, 0, "no follower ever needed a snapshot");
    for (int i = 1; i <= 3; i++)
        cr_assert_gt(t.node[i].disk.snap_index, 0, "node %d never compacted", i);
    net_check_safety(&t);
    net_free(&t);
}

Test(raft_scenario, snapshot_install)
{
    snap_common(true, true, false, 117);
}

Test(raft_scenario, snapshot_install_unreliable)
{
    snap_common(true, false, false, 118);
}

Test(raft_scenario, snapshot_install_crash)
{
    snap_common(false, true, true, 119);
}

Test(raft_scenario, snapshot_install_unreliable_crash)
{
    snap_common(false, false, true, 120);
}

/* A follower restarted after the others compacted past its log. */
Test(raft_scenario, snapshot_follower_restarted_after_compaction)
{
    net t;
    net_init(&t, 3, 121);
    int l = check_one_leader(&t);
    int f = wrap(&t, l + 1);
    net_crash(&t, f);
    for (int k = 0; k < 30; k++)
        one_n(&t, k, 2);
    for (int i = 1; i <= 3; i++)
        if (t.node[i].alive)
            net_snapshot(&t, i, t.node[i].napplied, 0);
    net_restart(&t, f);
    uint64_t idx = one_n(&t, 100, 3);
    cr_assert_gt(t.sent[l][f][RF_MSG_SNAPSHOT], 0, "no snapshot sent to the restarted follower");
    cr_assert_gt(t.node[f].disk.snap_index, 0);
    cr_assert_geq(t.node[f].napplied, idx);
    net_check_safety(&t);
    net_free(&t);
}
