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
    if (w->o.nodes > 1)
        ADD(" reads=%s", p->lease_reads ? "lease" : "read-index");
#undef ADD
}

static void next_tick(sim_world *w)
{
    int64_t ms = sim_between(w, w->p.fault_ms_min, w->p.fault_ms_max);
    sim_event ev = {.at = w->now + ms * 1000, .kind = SE_FAULT, .node = -1, .peer = -1};
    sim_push(w, &ev);
}

void sfault_start(sim_world *w)
{
    if (w->p.net || w->p.crash || w->p.disk)
        next_tick(w);
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

void sfault_tick(sim_world *w)
{
    if (w->healed)
        return;
    sim_profile *p = &w->p;
    if (p->net && w->nnodes > 1 && sim_chance(w, p->part_ppm))
        partition(w);
    if (p->crash && sim_chance(w, p->crash_ppm)) {
        int k = pick_up(w, false);
        if (k >= 0) {
            sim_node *sn = &w->nodes[k];
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
    w->net.o.loss_ppm = 0;
    w->net.o.dup_ppm = 0;
    w->net.o.spike_ppm = 0;
    for (int i = 0; i < w->nnodes; i++) {
        sim_node *sn = &w->nodes[i];
        sn->fault_next = 0;
        sn->paused = false;
        if (sn->up && sn->disk_error)
            sim_node_crash(w, sn, "operator: the disk failed");
        if (!sn->up)
            sim_node_restart(w, sn);
    }
    sclient_heal(w);
}
