/* sim/faults: the seed's fault profile and the fault injector.
 *
 * Swarm testing (--faults all): each fault class (net, crash, disk, clock,
 * member) is on or off per seed, and each probability, rate and latency is
 * drawn per seed, so that one seed stresses one corner hard and another a
 * different one. A named mix turns on that class only (disk and member
 * also turn on crashes, which a disk fault needs to show and which churn
 * should meet); `none` leaves only the workload and a plain network.
 *
 * In the fault phase a fault tick comes every fault_ms_min..fault_ms_max
 * and may: change the partitions (isolate the leader, cut the leader's
 * link to one follower, one way or both, a random split, a few one-way
 * links, or heal), crash a node (it restarts within
 * down_ms_max), pause one (for up to pause_ms_max), or arm an EIO / ENOSPC
 * for a node's next log batch. Other faults come with events rather than
 * ticks: tears at crashes and bit flips at restarts (sim_node_crash /
 * sim_node_restart draw them), delay spikes per message (sim/net), and,
 * with hot_crash_ppm, a crash soon after a node's term changed (it voted,
 * campaigned or followed a new leader: the moments a lost vote or an
 * early acknowledgement would matter) with a quick restart.
 * The heal (sfault_heal) ends all of it.
 *
 * Membership (the `member` class) is the operator's: every operator tick
 * it asks the current leader, through node_cluster_change, to remove a
 * voter (sometimes the leader itself; never below a majority of the
 * founders: 2 of 3, 3 of 5), to add a removed node back as a learner once
 * its time out is over (sometimes after wiping its disk: it then boots as
 * a new node, with no bootstrap membership; only while every other node is
 * a voter, since two empty disks would vote for a leader under a stale
 * membership that still counts them), or to promote a learner once
 * it no longer answers RF_ERR_NOT_CAUGHT_UP; and, now and then, to hand
 * leadership to another voter (node_cluster_transfer). One change at a
 * time, as the core demands, unless the seed's operator is eager (it asks
 * for the next while one is pending, which the core must refuse). After
 * the heal the operator brings every node back as a voter; the run ends
 * only once it has.
 *
 * Nemeses are targeted patterns, each on or off per seed: the leader
 * isolated and held so (the followers elect while clients still read at
 * the old leader), the leader's word to one follower cut in a window of
 * reads only (the follower campaigns with a log as good as anyone's), the
 * deposed leader made deaf the moment a new one is elected (so it learns
 * nothing of the new term while its lease runs), a new leader's disk
 * stalling (its followers acknowledge its first entry before it has it
 * durably itself), a membership change asked of a new leader at once, and
 * a partition right after a change. None breaks the fault model: each is
 * a partition, a slow disk or an operator request. */
#ifndef KEEL_SIM_FAULTS_H
#define KEEL_SIM_FAULTS_H

#include <stddef.h>

#include "sim/world.h"

/* Draws w->p from the seed for o's mix; writes a one-line description. */
void sfault_draw(sim_world *w, char *desc, size_t cap);
/* Queues the first fault tick (if any class is on). */
void sfault_start(sim_world *w);
/* A fault tick. */
void sfault_tick(sim_world *w);
/* Ends every fault: links up, no loss, crashed and failed nodes
 * restarted, pauses over, no more disk faults. */
void sfault_heal(sim_world *w);

/* The operator's tick (SE_OPER) and a nemesis' step (SE_NEMESIS). */
void sfault_oper(sim_world *w);
void sfault_nemesis(sim_world *w, const sim_event *e);
/* sn just became leader (called before its first messages go out). */
void sfault_on_leader(sim_world *w, sim_node *sn);
/* Every node is a voter again in the leader's committed membership (true
 * when the seed has no churn); else false and why in desc (if not NULL). */
bool sfault_members_full(sim_world *w, char *desc, size_t cap);

#endif
