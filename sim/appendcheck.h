/* appendcheck: linearizability of an append-only key in polynomial time.
 *
 * The simulator's append keys only ever get APPEND of a unique token that
 * ends in ',' and GET. For such a key the value a read returns names the
 * order of every append before it, so the question "is there a
 * linearization?" needs no search (the approach of Jepsen's Elle for list
 * appends): every read must be a prefix of the longest one, which gives the
 * order of the appends it holds; each token may appear once and only if it
 * was appended; an acknowledged APPEND's reply (the new length) fixes where
 * its token ends; and the earliest-first placement of every operation on
 * that order (appends at their index, reads between the append they saw
 * last and the next) must fit each operation's interval. Operations of
 * unknown outcome took effect where a read saw them, or not at all.
 *
 * The general search (lincheck.h) gives up on such keys when many appends
 * have unknown outcomes: each one doubles what it must rule out. */
#ifndef KEEL_SIM_APPENDCHECK_H
#define KEEL_SIM_APPENDCHECK_H

#include "sim/lincheck.h"

/* Same inputs and result as lc_check. LC_GAVE_UP when the history is not
 * of an append-only key (an op other than APPEND and GET, a token without
 * its ',' end); the caller then needs lc_check. */
void lc_check_append(const lc_op *ops, size_t n, lc_result *out);

#endif
