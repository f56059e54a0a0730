/* sim/faults: the seed's profile and the fault injector. See faults.h. */
#include "sim/faults.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim/client.h"

#define PCT(ppm) ((double)(ppm) / 10000.0)

static bool coin(sim_world *w) { return kprng_below(&w->rng, 2) == 1; }

void sfault_draw(sim_world *w, char *desc, size_t cap)
{
    sim_profile *p = &w->p;
    unsigned f = w->o.faults;
    bool swarm = f & SIM_F_SWARM;
    memset(p, 0, sizeof(*p));
    /* The classes; every draw below happens whatever they are, so that a
     * class being on or off does not shift the rest of the seed's draws. */
    p->net = (f & SIM_F_NET) && (!swarm || coin(w));
    p->crash = (f & SIM_F_CRASH) && (!swarm || coin(w));
    p->disk = (f & SIM_F_DISK) && (!swarm || coin(w));
    p->clock = (f & SIM_F_CLOCK) && (!swarm || coin(w));
    p->member = (f & SIM_F_MEMBER) && (!swarm || coin(w)) && w->o.nodes > 1;
    if (p->disk)
        p->crash = true; /* a disk fault shows at a crash */

    /* The network: always some latency; faults only with the class. */
    int64_t base = sim_between(w, 100, 3000);
    int64_t jitter = sim_between(w, 0, 20000);
    uint32_t loss = (uint32_t)sim_between(w, 0, 100000);
    uint32_t dup = (uint32_t)sim_between(w, 0, 50000);
    bool reorder = coin(w);
    uint32_t part = (uint32_t)sim_between(w, 200000, 700000);
    uint32_t spike = (uint32_t)sim_between(w, 0, 20000);
    int64_t spike_us = sim_between(w, 100, 3000) * 1000;
    p->netw.delay_us = base;
    p->netw.jitter_us = p->net ? jitter : base / 4;
    p->netw.loss_ppm = p->net ? loss : 0;
    p->netw.dup_ppm = p->net ? dup : 0;
    p->netw.reorder = p->net && reorder;
    p->part_ppm = p->net ? part : 0;
    p->netw.spike_ppm = p->net ? spike : 0;
    p->netw.spike_us = spike_us;

    uint32_t crash = (uint32_t)sim_between(w, 50000, 300000);
    uint32_t pause = (uint32_t)sim_between(w, 0, 200000);
    p->crash_ppm = p->crash ? crash : 0;
    p->pause_ppm = p->crash && !(f & SIM_F_DISK && !(f & SIM_F_CRASH)) ? pause : 0;
    p->down_ms_max = sim_between(w, 200, 5000);
    p->pause_ms_max = sim_between(w, 50, 3000);

    uint32_t tear = (uint32_t)sim_between(w, 300000, 1000000);
    uint32_t flip = (uint32_t)sim_between(w, 100000, 500000);
    uint32_t eio = (uint32_t)sim_between(w, 10000, 100000);
    uint32_t hot = (uint32_t)sim_between(w, 0, 300000);
    p->hot_crash_ppm = p->crash ? hot : 0;
    p->tear_ppm = p->disk ? tear : 0;
    p->flip_ppm = p->disk ? flip : 0;
    p->eio_ppm = p->disk ? eio : 0;

    /* Clocks: drift stays within the lease's bound (max_drift_ms 100 of
     * an election_ms 1000: rates within 10% of each other, so each within
     * 3%), even with a lease bug planted: a stale read then is the bug's,
     * not the clocks'. With a lease bug, reads always use the lease. */
    bool lease_bug = w->o.bugs & ((1ull << RF_BUG_LEASE_NO_DRIFT) | (1ull << RF_BUG_LEASE_NO_CHECK_QUORUM));
    int64_t off = sim_between(w, 0, 60000);
    int64_t drift = sim_between(w, 0, 30000);
    p->offset_ms_max = p->clock ? off : 0;
    p->drift_ppm_max = p->clock ? drift : 0;

    /* Some seeds change things often, some leave a partition in place
     * long enough for elections to happen on both sides. */
    p->fault_ms_min = sim_between(w, 10, 1000);
    p->fault_ms_max = p->fault_ms_min + sim_between(w, 0, 3000);
    p->disk_write_us = sim_between(w, 10, 500);
    p->disk_sync_us = sim_between(w, 100, 5000);
    p->nclients = (int)sim_between(w, 3, 10);
    p->keys_per_type = (int)sim_between(w, 3, 5);
    p->multi_ppm = (uint32_t)sim_between(w, 0, 200000);
    p->think_us_max = sim_between(w, 1000, 200000);
    p->read_ppm = (uint32_t)sim_between(w, 200000, 900000);
    p->timeout_us = sim_between(w, 300, 3000) * 1000;
    bool lease = coin(w);
    p->lease_reads = lease || lease_bug;
    /* Followers forward to the leader on half of the seeds (picked from
     * the seed, not the PRNG, so the other draws stay as they were). */
    p->forward = ((w->o.seed * 0x9e3779b97f4a7c15ULL) >> 63) != 0;
    /* One node, half of the seeds (from the seed too): a save point that
     * fires when the log is idle (io/server.c's `save`), so that snapshots
     * also cover the whole log and remove every segment. */
    p->save_idle_ms = ((w->o.seed * 0xd6e8feb86659fd93ULL) >> 63) ? 100 + (int64_t)(w->o.seed % 5) * 100 : 0;
    /* Preallocated segments (zeros to SEG_MAX, as the server's fallocate)
     * on half of the seeds, from the seed too. */
    p->prealloc = ((w->o.seed * 0xa0761d6478bd642fULL) >> 63) != 0;
    /* Process kills (the page cache survives) for half the crashes, on
     * half of the seeds with crashes, from the seed too. */
    p->kill = p->crash && ((w->o.seed * 0xe7037ed1a0b428dbULL) >> 63) != 0;
    /* Queue keys on half of the seeds, and their mix: from the seed too,
     * and the workload of a seed without them draws what it always did. */
    uint64_t q = w->o.seed ^ 0x71756575652d6b65ULL; /* splitmix64's finaliser */
    q = (q ^ (q >> 30)) * 0xbf58476d1ce4e5b9ULL;
    q = (q ^ (q >> 27)) * 0x94d049bb133111ebULL;
    q ^= q >> 31;
    p->queues = (q & 1) ? 1 + (int)((q >> 1) % 3) : 0;
    p->queue_ppm = 150000 + (uint32_t)((q >> 8) % 250001);    /* 15..40% */
    p->push_ppm = 350000 + (uint32_t)((q >> 24) % 300001);    /* 35..65% */
    p->blpop_ppm = 200000 + (uint32_t)((q >> 40) % 600001);   /* 20..80% */
    p->blpop_ms_max = 100 + (int64_t)((q >> 58) % 10) * 100;  /* 100..1000 ms */
    if (p->blpop_ms_max > p->timeout_us / 2000)
        p->blpop_ms_max = p->timeout_us / 2000; /* well within the client's patience */

    /* Membership and the operator. */
    bool cluster = w->o.nodes > 1;
    p->oper_ms_min = sim_between(w, 50, 400);
    p->oper_ms_max = p->oper_ms_min + sim_between(w, 0, 1000);
    uint32_t churn = (uint32_t)sim_between(w, 100000, 500000);
    uint32_t rm_leader = (uint32_t)sim_between(w, 0, 400000);
    int64_t out_ms = sim_between(w, 300, 6000);
    uint32_t wipe = (uint32_t)sim_between(w, 0, 700000);
    bool transfers = coin(w);
    uint32_t transfer = (uint32_t)sim_between(w, 20000, 200000);
    bool eager = coin(w);
    bool conf_elect = coin(w);
    uint32_t conf_elect_p = (uint32_t)sim_between(w, 200000, 1000000);
    p->churn_ppm = p->member ? churn : 0;
    p->rm_leader_ppm = p->member ? rm_leader : 0;
    p->out_ms_max = out_ms;
    p->wipe_ppm = p->member ? wipe : 0;
    p->transfer_ppm = p->member && transfers ? transfer : 0;
    p->eager = p->member && eager;
    p->conf_elect_ppm = p->member && conf_elect ? conf_elect_p : 0;

    /* Nemeses: each on for about half of the seeds whose class is on (the
     * split after a change for three quarters). */
    bool n_iso = coin(w), n_lag = coin(w), n_react = coin(w), n_ro = coin(w);
    bool n_stall = coin(w), n_split = kprng_below(&w->rng, 4) != 0;
    uint32_t iso = (uint32_t)sim_between(w, 400000, 1000000);
    uint32_t lag = (uint32_t)sim_between(w, 400000, 1000000);
    uint32_t react = (uint32_t)sim_between(w, 300000, 1000000);
    uint32_t ro = (uint32_t)sim_between(w, 100000, 500000);
    p->nem_ms_min = sim_between(w, 200, 1500);
    p->nem_ms_max = p->nem_ms_min + sim_between(w, 0, 2000);
    uint32_t stall = (uint32_t)sim_between(w, 200000, 1000000);
    uint32_t split = (uint32_t)sim_between(w, 300000, 1000000);
    p->hold_ms_min = sim_between(w, 800, 2000);
    p->hold_ms_max = p->hold_ms_min + sim_between(w, 0, 3000);
    p->iso_ppm = cluster && p->net && n_iso ? iso : 0;
    p->lag_ppm = cluster && p->net && n_lag ? lag : 0;
    p->react_ppm = cluster && p->net && n_react ? react : 0;
    p->readonly_ppm = cluster && (p->net || p->crash) && n_ro ? ro : 0;
    p->stall_ppm = cluster && p->disk && n_stall ? stall : 0;
    p->split_ppm = p->member && p->net && n_split ? split : 0;

    size_t n = 0;
#define ADD(...)                                                                                  \
    do {                                                                                          \
        int m_ = snprintf(desc + n, n < cap ? cap - n : 0, __VA_ARGS__);                          \
        if (m_ > 0)                                                                               \
            n += (size_t)m_;                                                                      \
    } while (0)
    ADD("clients=%d keys=%dx3 reads=%.0f%% multi=%.1f%% think<=%" PRId64 "us timeout=%" PRId64
        "ms net=%s(delay=%" PRId64 "+%" PRId64 "us",
        p->nclients, p->keys_per_type, PCT(p->read_ppm), PCT(p->multi_ppm), p->think_us_max,
        p->timeout_us / 1000, p->net ? "on" : "off", p->netw.delay_us, p->netw.jitter_us);
    if (p->net)
        ADD(" loss=%.1f%% dup=%.1f%% reorder=%s spikes=%.2f%%<=%" PRId64 "ms partitions=%.0f%%",
            PCT(p->netw.loss_ppm), PCT(p->netw.dup_ppm), p->netw.reorder ? "yes" : "no",
            PCT(p->netw.spike_ppm), p->netw.spike_us / 1000, PCT(p->part_ppm));
    ADD(") crash=%s", p->crash ? "on" : "off");
    if (p->crash)
        ADD("(crash=%.0f%% down<=%" PRId64 "ms pause=%.0f%% pause<=%" PRId64 "ms",
            PCT(p->crash_ppm), p->down_ms_max, PCT(p->pause_ppm), p->pause_ms_max);
    if (p->crash && w->o.nodes > 1)
        ADD(" at-term-change=%.0f%%", PCT(p->hot_crash_ppm));
    if (p->crash)
        ADD(")");
    ADD(" disk=%s(write=%" PRId64 "us sync=%" PRId64 "us", p->disk ? "on" : "off",
        p->disk_write_us, p->disk_sync_us);
    if (p->disk)
        ADD(" tear=%.0f%% flip=%.0f%% eio=%.1f%%", PCT(p->tear_ppm), PCT(p->flip_ppm),
            PCT(p->eio_ppm));
    ADD(") clock=%s", p->clock ? "on" : "off");
    if (p->clock)
        ADD("(offset<=%" PRId64 "ms drift<=%.2f%%)", p->offset_ms_max, PCT(p->drift_ppm_max));
    ADD(" faults_every=%" PRId64 "..%" PRId64 "ms", p->fault_ms_min, p->fault_ms_max);
    if (p->prealloc)
        ADD(" prealloc");
    if (p->kill)
        ADD(" kills");
    if (w->o.nodes > 1)
        ADD(" reads=%s forward=%s", p->lease_reads ? "lease" : "read-index",
            p->forward ? "on" : "off");
    else if (p->save_idle_ms)
        ADD(" save-when-idle=%" PRId64 "ms", p->save_idle_ms);
    if (cluster)
        ADD(" member=%s", p->member ? "on" : "off");
    if (p->member) {
        ADD("(oper_every=%" PRId64 "..%" PRId64 "ms remove=%.0f%% leader=%.0f%% out<=%" PRId64
            "ms wipe=%.0f%% transfer=%.1f%%%s",
            p->oper_ms_min, p->oper_ms_max, PCT(p->churn_ppm), PCT(p->rm_leader_ppm),
            p->out_ms_max, PCT(p->wipe_ppm), PCT(p->transfer_ppm), p->eager ? " eager" : "");
        if (p->conf_elect_ppm)
            ADD(" change-at-election=%.0f%%", PCT(p->conf_elect_ppm));
        if (p->split_ppm)
            ADD(" split-after-change=%.0f%%", PCT(p->split_ppm));
        ADD(")");
    }
    if (p->iso_ppm || p->lag_ppm || p->react_ppm || p->readonly_ppm || p->stall_ppm) {
        ADD(" nemeses=(");
        const char *sep = "";
        if (p->iso_ppm) {
            ADD("%sisolate-leader=%.1f%%", sep, PCT(p->iso_ppm));
            sep = " ";
        }
        if (p->lag_ppm) {
            ADD("%slagging-follower=%.1f%%", sep, PCT(p->lag_ppm));
            sep = " ";
        }
        if (p->react_ppm) {
            ADD("%sdeafen-deposed=%.0f%%", sep, PCT(p->react_ppm));
            sep = " ";
        }
        if (p->readonly_ppm) {
            ADD("%sread-only=%.1f%%", sep, PCT(p->readonly_ppm));
            sep = " ";
        }
        if (p->stall_ppm)
            ADD("%sleader-disk-stall=%.0f%%", sep, PCT(p->stall_ppm));
        ADD(" every=%" PRId64 "..%" PRId64 "ms hold=%" PRId64 "..%" PRId64 "ms)", p->nem_ms_min,
            p->nem_ms_max, p->hold_ms_min, p->hold_ms_max);
    }
    if (p->queues)
        ADD(" queues=%d(ops=%.0f%% push=%.0f%% blpop=%.0f%% blpop_timeout<=%" PRId64 "ms)",
            p->queues, PCT(p->queue_ppm), PCT(p->push_ppm), PCT(p->blpop_ppm), p->blpop_ms_max);
#undef ADD
}

static void next_tick(sim_world *w)
{
    int64_t ms = sim_between(w, w->p.fault_ms_min, w->p.fault_ms_max);
    sim_event ev = {.at = w->now + ms * 1000, .kind = SE_FAULT, .node = -1, .peer = -1};
    sim_push(w, &ev);
}

enum { NEM_END_HOLD = 1, NEM_CONF = 2, NEM_TICK = 3, NEM_LAG_CUT = 4 };

static void next_nemesis(sim_world *w)
{
    int64_t ms = sim_between(w, w->p.nem_ms_min, w->p.nem_ms_max);
    sim_event ev = {.at = w->now + ms * 1000, .kind = SE_NEMESIS, .node = -1, .peer = -1,
                    .x = NEM_TICK};
    sim_push(w, &ev);
}

static void next_oper(sim_world *w)
{
    if (w->oper_running)
        return;
    int64_t ms = w->healed ? 100 : sim_between(w, w->p.oper_ms_min, w->p.oper_ms_max);
    sim_event ev = {.at = w->now + ms * 1000, .kind = SE_OPER, .node = -1, .peer = -1};
    sim_push(w, &ev);
    w->oper_running = true;
}

void sfault_start(sim_world *w)
{
    if (w->p.net || w->p.crash || w->p.disk)
        next_tick(w);
    if (w->p.iso_ppm || w->p.lag_ppm || w->p.readonly_ppm)
        next_nemesis(w);
    if (w->p.member)
        next_oper(w);
}

/* ------------------------------------------------------------------------ */
/* Held partitions (nemeses) */

static bool held(const sim_world *w) { return w->now < w->hold_until; }

/* The links stay as they are for ms; then every link comes up again. */
static void hold(sim_world *w, int64_t ms)
{
    w->hold_gen++;
    w->hold_until = w->now + ms * 1000;
    w->nemeses++;
    sim_event ev = {.at = w->hold_until, .kind = SE_NEMESIS, .node = -1, .peer = -1,
                    .gen = w->hold_gen, .x = NEM_END_HOLD};
    sim_push(w, &ev);
}

static int64_t hold_ms(sim_world *w) { return sim_between(w, w->p.hold_ms_min, w->p.hold_ms_max); }

/* Nobody's word reaches k any more (it still talks, and its clients
 * still reach it). */
static void deafen(sim_world *w, int k)
{
    for (int i = 0; i < w->nnodes; i++)
        if (i != k)
            w->net.down[i][k] = true;
}

/* A random node that is up (and not paused when unpaused), or -1. */
static int pick_up(sim_world *w, bool unpaused)
{
    int cand[SIM_MAX_NODES], n = 0;
    for (int i = 0; i < w->nnodes; i++)
        if (w->nodes[i].up && !(unpaused && w->nodes[i].paused))
            cand[n++] = i;
    return n ? cand[kprng_below(&w->rng, (uint64_t)n)] : -1;
}

static void partition(sim_world *w)
{
    char desc[128] = "";
    uint64_t r = kprng_below(&w->rng, 5);
    int leader = sim_leader(w);
    if (r == 4 && leader >= 0) {
        /* The leader's word stops reaching one follower, which will
         * campaign while the others still hear the leader. */
        int f = (int)kprng_below(&w->rng, (uint64_t)w->nnodes - 1);
        if (f >= leader)
            f++;
        bool both = coin(w);
        snet_heal(&w->net);
        w->net.down[leader][f] = true;
        if (both)
            w->net.down[f][leader] = true;
        snprintf(desc, sizeof(desc), "leader n%d %s n%d", leader + 1, both ? "<-/->" : "->",
                 f + 1);
    } else if (r == 0 && leader >= 0) {
        snet_heal(&w->net);
        snet_isolate(&w->net, leader);
        snprintf(desc, sizeof(desc), "isolate leader n%d", leader + 1);
    } else if (r <= 1) {
        char s[96];
        snet_split(&w->net, &w->rng, s, sizeof(s));
        snprintf(desc, sizeof(desc), "split %s", s);
    } else if (r == 2) {
        char s[96];
        snet_heal(&w->net);
        snet_one_way(&w->net, &w->rng, (int)sim_between(w, 1, w->nnodes), s, sizeof(s));
        snprintf(desc, sizeof(desc), "one-way %s", s);
    } else {
        snet_heal(&w->net);
        snprintf(desc, sizeof(desc), "heal");
    }
    w->partitions++;
    sim_trace(w, "fault: network %s", desc);
}

/* The leader isolated and held so: its followers elect a new leader
 * after their election timeouts while its clients (mostly only reading)
 * still read at it; its lease must have ended by then. The hold is about
 * as long as the election takes, then the old leader rejoins. */
static void nemesis_isolate(sim_world *w)
{
    int l = sim_leader(w);
    if (l < 0)
        return;
    bool reads = kprng_below(&w->rng, 4) != 0;
    int64_t ms = sim_between(w, 2000, 3500);
    snet_heal(&w->net);
    snet_isolate(&w->net, l);
    hold(w, ms);
    if (reads && w->now + ms * 1000 > w->readonly_until)
        w->readonly_until = w->now + ms * 1000;
    w->partitions++;
    sim_trace(w, "nemesis: leader n%d isolated for %" PRId64 "ms%s", l + 1, ms,
              reads ? ", clients only read" : "");
}

/* In a window of reads only, the leader's word stops reaching one
 * follower (which still reaches the others, and sometimes the leader):
 * it campaigns with a log as good as the others', and none of them may
 * vote for it while the leader's lease holds; if one is elected anyway,
 * the deposed leader is deafened at once (sfault_on_leader). */
static void nemesis_lag(sim_world *w)
{
    int l = sim_leader(w);
    if (l < 0)
        return;
    int f = (int)kprng_below(&w->rng, (uint64_t)w->nnodes - 1);
    if (f >= l)
        f++;
    /* The reads-only window starts first, so that every write has
     * reached every node when the link goes; the cut then lasts long
     * enough for the follower's election timer to fire. */
    int64_t pre = sim_between(w, 100, 600), ms = pre + 1000 + hold_ms(w);
    bool both = coin(w);
    snet_heal(&w->net);
    hold(w, ms);
    w->readonly_until = w->now + ms * 1000;
    w->react_until = w->now + ms * 1000;
    sim_event ev = {.at = w->now + pre * 1000, .kind = SE_NEMESIS, .node = (int8_t)l,
                    .peer = (int8_t)f, .gen = w->hold_gen, .x = NEM_LAG_CUT, .y = both};
    sim_push(w, &ev);
    sim_trace(w,
              "nemesis: clients only read for %" PRId64 "ms; in %" PRId64
              "ms, leader n%d %s n%d cut",
              ms, pre, l + 1, both ? "<-/->" : "->", f + 1);
}

void sfault_tick(sim_world *w)
{
    if (w->healed)
        return;
    sim_profile *p = &w->p;
    if (p->net && w->nnodes > 1 && !held(w) && sim_chance(w, p->part_ppm))
        partition(w);
    if (p->crash && sim_chance(w, p->crash_ppm)) {
        int k = pick_up(w, false);
        if (k >= 0) {
            sim_node *sn = &w->nodes[k];
            if (p->kill && (sim_hash(w, 2 * w->crashes) & 1))
                sim_node_kill(w, sn, "fault");
            else
                sim_node_crash(w, sn, "fault");
            sim_event ev = {.at = w->now + sim_between(w, 50, p->down_ms_max) * 1000,
                            .kind = SE_RESTART, .node = (int8_t)k, .peer = -1, .gen = sn->inc};
            sim_push(w, &ev);
        }
    }
    if (p->pause_ppm && sim_chance(w, p->pause_ppm)) {
        int k = pick_up(w, true);
        if (k >= 0) {
            sim_node *sn = &w->nodes[k];
            sn->paused = true;
            sn->pause_until = w->now + sim_between(w, 10, p->pause_ms_max) * 1000;
            w->pauses++;
            sim_trace(w, "fault: n%d paused for %" PRId64 "ms", k + 1,
                      (sn->pause_until - w->now) / 1000);
            sim_event ev = {.at = sn->pause_until, .kind = SE_UNPAUSE, .node = (int8_t)k,
                            .peer = -1, .gen = sn->inc};
            sim_push(w, &ev);
        }
    }
    if (p->disk && sim_chance(w, p->eio_ppm)) {
        int k = pick_up(w, false);
        if (k >= 0 && w->nodes[k].fault_next == 0) {
            w->nodes[k].fault_next = coin(w) ? SIM_DISK_EIO : SIM_DISK_ENOSPC;
            sim_trace(w, "fault: n%d's next log batch fails (%s)", k + 1,
                      w->nodes[k].fault_next == SIM_DISK_EIO ? "EIO" : "ENOSPC");
        }
    }
    next_tick(w);
}

void sfault_heal(sim_world *w)
{
    if (w->healed)
        return;
    w->healed = true;
    sim_trace(w, "heal: every fault ends; liveness from now on");
    snet_heal(&w->net);
    w->hold_gen++;
    w->hold_until = 0;
    w->readonly_until = 0;
    w->react_until = 0;
    w->net.o.loss_ppm = 0;
    w->net.o.dup_ppm = 0;
    w->net.o.spike_ppm = 0;
    for (int i = 0; i < w->nnodes; i++) {
        sim_node *sn = &w->nodes[i];
        sn->fault_next = 0;
        sn->paused = false;
        sn->stall_batches = 0;
        if (sn->up && sn->disk_error)
            sim_node_crash(w, sn, "operator: the disk failed");
        if (!sn->up)
            sim_node_restart(w, sn);
    }
    sclient_heal(w);
    if (w->p.member)
        next_oper(w);
}

/* ------------------------------------------------------------------------ */
/* Membership: the operator */

/* The fewest voters the operator leaves: a majority of the founders. */
static uint32_t min_voters(const sim_world *w) { return (uint32_t)w->nnodes / 2 + 1; }

static const char *op_name(rf_conf_op op)
{
    switch (op) {
    case RF_CONF_ADD_LEARNER: return "add learner";
    case RF_CONF_PROMOTE: return "promote";
    case RF_CONF_REMOVE: return "remove";
    }
    return "?";
}

/* The node can take an operator's request now. */
static bool reachable(const sim_node *sn)
{
    return sn->up && !sn->paused && sn->disk_error == NULL && node_raft(&sn->n) != NULL;
}

static rf_err change(sim_world *w, sim_node *ln, rf_conf_op op, int k, const char *why)
{
    rf_err e = node_cluster_change(&ln->n, op, (rf_id)k + 1, sim_local_ms(ln, w->now));
    sim_trace(w, "operator%s: n%d, %s n%d: %s", why, ln->idx + 1, op_name(op), k + 1,
              e == RF_OK ? "accepted" : rf_err_text(e));
    sim_node_after_op(w, ln);
    if (e == RF_OK) {
        if (op == RF_CONF_REMOVE)
            w->removes++;
        else if (op == RF_CONF_ADD_LEARNER)
            w->adds++;
        else
            w->promotes++;
    }
    return e;
}

/* A partition right after a change (surely, when two are pending): the
 * leader, with fewer than half of the nodes (from 5 on, mostly with one
 * voter of its newest membership), against the rest, who may still be
 * under the membership before the change; held. */
static void maybe_split(sim_world *w, int l, bool sure)
{
    if (!w->p.split_ppm || held(w) || !(sure || sim_chance(w, w->p.split_ppm)))
        return;
    bool side[SIM_MAX_NODES] = {false};
    side[l] = true;
    const rf_config *c = &node_raft(&w->nodes[l].n)->config;
    if (w->nnodes >= 5 && (sure || kprng_below(&w->rng, 4) != 0)) {
        int cand[SIM_MAX_NODES], n = 0;
        for (uint32_t i = 0; i < c->nvoters; i++)
            if ((int)c->voters[i] - 1 != l && (int)c->voters[i] <= w->nnodes &&
                w->nodes[c->voters[i] - 1].up)
                cand[n++] = (int)c->voters[i] - 1;
        if (n)
            side[cand[kprng_below(&w->rng, (uint64_t)n)]] = true;
    }
    snet_heal(&w->net);
    char desc[64];
    size_t n = 0;
    for (int i = 0; i < w->nnodes; i++) {
        for (int j = 0; j < w->nnodes; j++)
            if (side[i] != side[j])
                w->net.down[i][j] = true;
        if (side[i]) {
            int m = snprintf(desc + n, n < sizeof(desc) ? sizeof(desc) - n : 0, "%sn%d",
                             n ? "," : "", i + 1);
            if (m > 0)
                n += (size_t)m;
        }
    }
    int64_t ms = sim_between(w, 2500, 4000); /* the other side may elect and commit */
    hold(w, ms);
    w->partitions++;
    sim_trace(w, "nemesis: right after the change, {%s} cut from the rest for %" PRId64 "ms",
              desc, ms);
}

/* Plans a removed node's return. */
static void plan_return(sim_world *w, int k, const rf_config *c)
{
    sim_node *sn = &w->nodes[k];
    sn->back_at = w->now + sim_between(w, 100, w->p.out_ms_max) * 1000;
    /* A wipe only while no other node is out: a node with an empty disk
     * votes for anyone, so two of them could elect a leader with a stale
     * membership that still counts them. */
    sn->wipe_planned = sim_chance(w, w->p.wipe_ppm) && c->nvoters + 1 == (uint32_t)w->nnodes &&
                       c->nlearners == 0;
}

/* A voter to remove (the leader with rm_leader_ppm, unless not is set), or
 * -1. */
static int pick_victim(sim_world *w, int l, const rf_config *c, int not)
{
    if (c->nvoters <= min_voters(w))
        return -1;
    if (not < 0 && rf_config_is_voter(c, (rf_id)l + 1) && sim_chance(w, w->p.rm_leader_ppm))
        return l;
    int cand[SIM_MAX_NODES], n = 0;
    for (uint32_t i = 0; i < c->nvoters; i++) {
        int k = (int)c->voters[i] - 1;
        if (k != l && k != not && k >= 0 && k < w->nnodes)
            cand[n++] = k;
    }
    return n ? cand[kprng_below(&w->rng, (uint64_t)n)] : -1;
}

/* One request of the operator to leader l. */
static void oper_step(sim_world *w, int l)
{
    sim_node *ln = &w->nodes[l];
    const rf_core *r = node_raft(&ln->n);
    rf_config c = r->config;
    bool pending = r->config_index > r->commit;
    bool may = !pending || (w->p.eager && !w->healed);
    /* A learner: promote it once it has caught up. */
    for (uint32_t i = 0; i < c.nlearners; i++) {
        int k = (int)c.learners[i] - 1;
        if (k >= 0 && k < w->nnodes && may) {
            change(w, ln, RF_CONF_PROMOTE, k, "");
            return;
        }
    }
    /* A removed node whose time out is over: back as a learner. */
    for (int k = 0; k < w->nnodes; k++) {
        rf_id id = (rf_id)k + 1;
        sim_node *sn = &w->nodes[k];
        if (rf_config_is_voter(&c, id) || rf_config_is_learner(&c, id))
            continue;
        if (!(w->healed || w->now >= sn->back_at) || !may)
            continue;
        if (sn->wipe_planned) {
            sn->wipe_planned = false;
            if (k != l && !pending && !w->healed && c.nvoters + 1 == (uint32_t)w->nnodes &&
                c.nlearners == 0) {
                sim_node_crash(w, sn, "operator: the node is rebuilt from scratch");
                sim_node_wipe(w, sn);
                sim_node_restart(w, sn);
                if (!reachable(ln))
                    return;
            }
        }
        change(w, ln, RF_CONF_ADD_LEARNER, k, "");
        return;
    }
    if (w->healed)
        return;
    if ((may || w->p.eager) && c.nlearners == 0 && sim_chance(w, w->p.churn_ppm)) {
        /* An eager operator half the time keeps the leader, so that it
         * still counts itself after the second change. */
        int v = pick_victim(w, l, &c, w->p.eager && coin(w) ? l : -1);
        if (v >= 0 && change(w, ln, RF_CONF_REMOVE, v, "") == RF_OK) {
            plan_return(w, v, &c);
            bool two = false;
            if (reachable(ln) && w->p.eager) {
                /* At once another, while the first is pending. */
                rf_config c2 = node_raft(&ln->n)->config;
                int v2 = pick_victim(w, l, &c2, v);
                if (v2 >= 0 && change(w, ln, RF_CONF_REMOVE, v2, " (eager)") == RF_OK) {
                    plan_return(w, v2, &c2);
                    two = true;
                }
            }
            maybe_split(w, l, two);
        }
        return;
    }
    if (w->p.transfer_ppm && sim_chance(w, w->p.transfer_ppm)) {
        int cand[SIM_MAX_NODES], n = 0;
        for (uint32_t i = 0; i < c.nvoters; i++) {
            int k = (int)c.voters[i] - 1;
            if (k != l && k >= 0 && k < w->nnodes)
                cand[n++] = k;
        }
        if (n) {
            int to = cand[kprng_below(&w->rng, (uint64_t)n)];
            rf_err e = node_cluster_transfer(&ln->n, (rf_id)to + 1, sim_local_ms(ln, w->now));
            sim_trace(w, "operator: n%d, transfer leadership to n%d: %s", l + 1, to + 1,
                      e == RF_OK ? "accepted" : rf_err_text(e));
            sim_node_after_op(w, ln);
            if (e == RF_OK)
                w->transfers++;
        }
    }
}

void sfault_oper(sim_world *w)
{
    w->oper_running = false;
    if (!w->p.member || (w->healed && sfault_members_full(w, NULL, 0)))
        return;
    int l = sim_leader(w);
    if (l >= 0 && reachable(&w->nodes[l]))
        oper_step(w, l);
    next_oper(w);
}

bool sfault_members_full(sim_world *w, char *desc, size_t cap)
{
    if (desc && cap)
        desc[0] = '\0';
    if (!w->p.member)
        return true;
    int l = sim_leader(w);
    if (l < 0) {
        if (desc)
            snprintf(desc, cap, "no leader");
        return false;
    }
    const rf_core *r = node_raft(&w->nodes[l].n);
    const rf_config *c = &r->config;
    bool full = c->nvoters == (uint32_t)w->nnodes && c->nlearners == 0 &&
                r->config_index <= r->commit;
    if (!full && desc) {
        size_t n = 0;
        int m = snprintf(desc, cap, "leader n%d: voters", l + 1);
        n = m > 0 ? (size_t)m : 0;
        for (uint32_t i = 0; i < c->nvoters; i++) {
            m = snprintf(desc + n, n < cap ? cap - n : 0, " n%llu",
                         (unsigned long long)c->voters[i]);
            n += m > 0 ? (size_t)m : 0;
        }
        m = snprintf(desc + n, n < cap ? cap - n : 0, ", learners");
        n += m > 0 ? (size_t)m : 0;
        for (uint32_t i = 0; i < c->nlearners; i++) {
            m = snprintf(desc + n, n < cap ? cap - n : 0, " n%llu",
                         (unsigned long long)c->learners[i]);
            n += m > 0 ? (size_t)m : 0;
        }
        m = snprintf(desc + n, n < cap ? cap - n : 0, "%s",
                     r->config_index > r->commit ? " (uncommitted)" : "");
        n += m > 0 ? (size_t)m : 0;
        /* A member behind the leader's log, which only a snapshot can
         * bring up, while the leader holds no snapshot's bytes to send. */
        for (uint32_t i = 0; i < r->nmembers; i++) {
            if (r->members[i] == r->o.id || r->prog[i].next >= r->log_start || r->snap_data)
                continue;
            m = snprintf(desc + n, n < cap ? cap - n : 0,
                         "; n%llu needs entry %llu, before the leader's log (from %llu), and the "
                         "leader holds no snapshot bytes to send",
                         (unsigned long long)r->members[i], (unsigned long long)r->prog[i].next,
                         (unsigned long long)r->log_start);
            n += m > 0 ? (size_t)m : 0;
        }
    }
    return full;
}

/* ------------------------------------------------------------------------ */
/* Nemeses that react to an election */

void sfault_on_leader(sim_world *w, sim_node *sn)
{
    if (w->healed)
        return;
    const rf_core *r = node_raft(&sn->n);
    /* The deposed leader (still leading a lower term, as far as it knows)
     * hears nothing more for a while: nothing tells it of the new term,
     * so only its lease's own bound stops it serving reads. */
    if (w->now < w->react_until ||
        (w->p.react_ppm && !held(w) && sim_chance(w, w->p.react_ppm))) {
        for (int i = 0; i < w->nnodes; i++) {
            sim_node *o = &w->nodes[i];
            const rf_core *or = o != sn && o->up ? node_raft(&o->n) : NULL;
            if (or && or->role == RF_LEADER && or->term < r->term) {
                int64_t ms = sim_between(w, 300, 1500);
                if (!held(w))
                    snet_heal(&w->net);
                deafen(w, i);
                hold(w, ms);
                w->partitions++;
                sim_trace(w, "nemesis: n%d leads term %" PRIu64 "; the deposed n%d (term %" PRIu64
                          ") hears nobody for %" PRId64 "ms",
                          sn->idx + 1, r->term, i + 1, or->term, ms);
                break;
            }
        }
    }
    /* Its first entry's sync is slow: its followers may have it durably
     * before it does. */
    if (w->p.stall_ppm && sim_chance(w, w->p.stall_ppm)) {
        sn->stall_us = sim_between(w, 5, 150) * 1000;
        sn->stall_batches = (int)sim_between(w, 1, 3);
    }
    /* A membership change asked of it at once, before it committed
     * anything of its term (the core must refuse). */
    if (w->p.conf_elect_ppm && sim_chance(w, w->p.conf_elect_ppm)) {
        sim_event ev = {.at = w->now, .kind = SE_NEMESIS, .node = (int8_t)sn->idx, .peer = -1,
                        .gen = sn->inc, .x = NEM_CONF, .y = r->term};
        sim_push(w, &ev);
    }
}

static void nemesis_tick(sim_world *w)
{
    sim_profile *p = &w->p;
    if (w->healed)
        return;
    if (p->iso_ppm && !held(w) && sim_chance(w, p->iso_ppm))
        nemesis_isolate(w);
    if (p->lag_ppm && !held(w) && sim_chance(w, p->lag_ppm))
        nemesis_lag(w);
    if (p->readonly_ppm && sim_chance(w, p->readonly_ppm)) {
        int64_t until = w->now + sim_between(w, 500, 4000) * 1000;
        if (until > w->readonly_until) {
            w->readonly_until = until;
            sim_trace(w, "nemesis: clients only read for %" PRId64 "ms",
                      (until - w->now) / 1000);
        }
    }
    next_nemesis(w);
}

void sfault_nemesis(sim_world *w, const sim_event *e)
{
    if (e->x == NEM_TICK) {
        nemesis_tick(w);
        return;
    }
    if (e->x == NEM_LAG_CUT) {
        if (e->gen == w->hold_gen && !w->healed) {
            w->net.down[e->node][e->peer] = true;
            if (e->y)
                w->net.down[e->peer][e->node] = true;
            w->partitions++;
            sim_trace(w, "nemesis: n%d %s n%d cut", e->node + 1, e->y ? "<-/->" : "->",
                      e->peer + 1);
        }
        return;
    }
    if (e->x == NEM_END_HOLD) {
        if (e->gen == w->hold_gen && !w->healed) {
            snet_heal(&w->net);
            w->hold_until = 0;
            sim_trace(w, "nemesis: the held partition ends");
        }
        return;
    }
    if (e->x == NEM_CONF && !w->healed) {
        sim_node *sn = &w->nodes[e->node];
        const rf_core *r = sn->up && sn->inc == e->gen ? node_raft(&sn->n) : NULL;
        if (r == NULL || r->role != RF_LEADER || r->term != e->y || !reachable(sn))
            return;
        rf_config c = r->config;
        int l = sn->idx;
        w->nemeses++;
        /* What the churn would do next: promote a learner, bring back a
         * removed node, or remove a voter. */
        for (uint32_t i = 0; i < c.nlearners; i++) {
            int k = (int)c.learners[i] - 1;
            if (k >= 0 && k < w->nnodes) {
                change(w, sn, RF_CONF_PROMOTE, k, " (at election)");
                return;
            }
        }
        for (int k = 0; k < w->nnodes; k++) {
            rf_id id = (rf_id)k + 1;
            if (!rf_config_is_voter(&c, id) && !rf_config_is_learner(&c, id)) {
                change(w, sn, RF_CONF_ADD_LEARNER, k, " (at election)");
                return;
            }
        }
        int v = pick_victim(w, l, &c, -1);
        if (v >= 0 && change(w, sn, RF_CONF_REMOVE, v, " (at election)") == RF_OK) {
            plan_return(w, v, &c);
            maybe_split(w, l, false);
        }
    }
}
