/* sim/faults: the seed's fault profile and the fault injector.
 *
 * Swarm testing (--faults all): each fault class (net, crash, disk, clock)
 * is on or off per seed, and each probability, rate and latency is drawn
 * per seed, so that one seed stresses one corner hard and another a
 * different one. A named mix turns on that class only (disk also turns on
 * crashes, which a disk fault needs to show); `none` leaves only the
 * workload and a plain network.
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
 * The heal (sfault_heal) ends all of it. */
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

#endif
