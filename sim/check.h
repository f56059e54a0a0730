/* sim/check: the checker.
 *
 * After every step of a cluster node (node_raft() not NULL), incrementally:
 *
 *  1. Election safety: at most one leader per term, over the whole run
 *     (term -> leader is remembered forever, across crashes).
 *  2. State machine safety and log matching: every entry any node applies
 *     is recorded by index as (term, XXH3 of type and data); a node that
 *     applies another entry at an index already recorded is a violation.
 *     Each node's `applied` is watched as it grows (rf_entry_at reads the
 *     new entries; compacted ones are skipped) and must never go back
 *     while the node lives.
 *  3. Leader completeness: when a node becomes leader of term T, every
 *     recorded entry that was certainly committed before T (its recorded
 *     "committed by" bound, the lowest term a node applied it in, is below
 *     T) and lies after the leader's snapshot must be in its log, the same.
 *  4. Nothing durable lost: a node that restarts must still have what it
 *     had made durable before the crash: every entry through its `stable`
 *     index (same term), the term and vote of its durable hard state (a
 *     vote it gave must not be forgotten), and at every recorded index its
 *     log covers with the recorded term, the recorded entry.
 *
 *  5. Durability before acknowledgement, on the wire: a follower's
 *     successful APPEND_RESP never acknowledges past its `stable` index,
 *     and a granted vote goes out only once that vote is durable.
 *  6. No read from a deposed leader: a leader of term T that answers a GET
 *     whose client sent it after a leader of a higher term had been
 *     elected served a stale read. Neither a lease (followers vote for no
 *     one while it can hold) nor a ReadIndex round (the voters of the
 *     newer term refuse it) lets that happen. Nor does a leader answer a
 *     read before it has committed an entry of its own term (it may not
 *     know yet what its predecessors committed).
 *  7. A leader commits by counting only entries of its own term (Figure
 *     8): while it stays leader of a term, each commit index it moves to
 *     holds an entry of that term.
 *  8. Membership changes one at a time (the single-server rule): a
 *     leader appends a membership entry only once it has committed an
 *     entry of its term (before, a change of an earlier leader may still
 *     be uncommitted, and a leader elected under that membership could
 *     overwrite this one), and only while no other lies past its commit
 *     index.
 *
 * At the end, per key: linearizability of the clients' history
 * (sim/lincheck.h), leaving out the operations that failed without effect;
 * for a queue key, its pops, pushes and final list (sim/queuecheck.h).
 *
 * A violation is reported through sim_fail (SIM_SAFETY or
 * SIM_LINEARIZABILITY) with the indexes, terms and nodes involved. */
#ifndef KEEL_SIM_CHECK_H
#define KEEL_SIM_CHECK_H

#include <stdint.h>

#include "sim/world.h"

void scheck_init(sim_world *w);
void scheck_free(sim_world *w);

/* After every step of sn (cluster nodes only; a no-op otherwise). */
void scheck_after_step(sim_world *w, sim_node *sn);
/* sn sends a Raft message (encoded): check 5. */
void scheck_peer_send(sim_world *w, sim_node *sn, const void *data, size_t len);
/* sn answers a GET sent at call (true time): check 6. */
void scheck_read_served(sim_world *w, sim_node *sn, int64_t call);
/* Before sn crashes: what it has made durable. */
void scheck_node_crashing(sim_world *w, sim_node *sn);
/* After sn started from its disk. */
void scheck_node_started(sim_world *w, sim_node *sn);

/* Linearizability of the history, per key. Returns the keys the search
 * gave up on (over its budget), which are not failures. */
uint64_t scheck_history(sim_world *w);

/* Entries recorded as applied (for the summary). */
uint64_t scheck_applied(const sim_world *w);

#endif
