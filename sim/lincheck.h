/* lincheck: decides whether the history the simulator recorded for ONE
 * Redis string key is linearizable, against a model of SET, GET, INCR,
 * APPEND and DEL on that key.
 *
 * Contract. Each op has an invoke time `call` and a completion time `ret`;
 * op A precedes op B only when A.ret < B.call (strictly: equal times
 * overlap). The history is linearizable when there is a total order of the
 * ops that respects precedence and in which every op's observed result is
 * what the model gives in that order. An op whose outcome is unknown (a
 * timeout, a lost connection: ret == LC_UNKNOWN) may take effect at any time
 * after its call, or never; its result is not checked. The caller splits the
 * history per key (a MULTI becomes one op per key, each with the
 * transaction's times) and leaves out the ops that failed without effect.
 *
 * Algorithm. Wing & Gong's search with Lowe's memoisation (Lowe, "Testing
 * for linearizability", 2017; Porcupine; knossos's wgl): the call and return
 * events sorted by time form a linked list; a depth-first search linearizes
 * one of the pending ops whose call comes before the first return still in
 * the list, lifts it out of the list and goes on, and backtracks when a
 * return is reached that no pending op could precede. A cache of (set of
 * linearized ops, model state) seen before prunes every path that reaches a
 * configuration already explored. The search succeeds once every op with a
 * known return is linearized. On top of that, reads are linearized as soon
 * as they agree with the state, a configuration where a read can no longer
 * see its value is abandoned at once, and a configuration that has used
 * more of the unknown ops than one seen before, with the same known ops and
 * state, is covered by it (see lincheck.c).
 *
 * Cost. A linearizable history with ten or so concurrent clients takes
 * ten to twenty steps per op. Proving a violation means exhausting every
 * way to order the ops before it, and each op of unknown outcome multiplies
 * the ways (it may take effect at any point, or not): a violation late in a
 * history with dozens of them can run out of budget (LC_GAVE_UP) rather
 * than be proved.
 *
 * Pure: no I/O, no state outside the call, no randomness. The same input
 * gives the same verdict, explanation and step count. Memory grows with the
 * steps taken, at most a few tens of bytes each; max_steps bounds both. */
#ifndef KEEL_SIM_LINCHECK_H
#define KEEL_SIM_LINCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ret of an op whose outcome is unknown: it returns at +infinity, so it
 * never precedes anything. */
#define LC_UNKNOWN INT64_MAX

/* The default search budget, when lc_opts.max_steps is 0. */
#define LC_DEFAULT_MAX_STEPS 10000000ULL

typedef enum lc_kind { LC_SET = 1, LC_GET, LC_INCR, LC_APPEND, LC_DEL } lc_kind;

/* "SET", "GET", ... ("?" for anything else). */
const char *lc_kind_name(lc_kind k);

typedef struct lc_op {
    uint64_t id;     /* caller's id, reported back in the explanation */
    uint32_t client; /* which client issued it */
    int64_t call;    /* invoke time */
    int64_t ret;     /* completion time (>= call), or LC_UNKNOWN */
    lc_kind kind;
    const char *arg; /* SET value, APPEND token */
    size_t arglen;
    /* The observed result, when ret != LC_UNKNOWN: */
    bool err;        /* INCR replied an error (not an integer, or overflow):
                        the op had no effect. The model never fails the
                        other kinds, so err on them cannot be linearized. */
    int64_t ival;    /* INCR: the new value; APPEND: the new length; DEL: 0 or 1 */
    bool nil;        /* GET: nil reply */
    const char *val; /* GET: the value, when not nil */
    size_t vallen;
} lc_op;

typedef enum lc_verdict { LC_OK = 0, LC_VIOLATION, LC_GAVE_UP } lc_verdict;

typedef struct lc_opts {
    uint64_t max_steps;  /* search budget; 0 = LC_DEFAULT_MAX_STEPS */
    /* The key's value before the history: nil (no key) when initial is
     * NULL or initial_nil is set, else initial_len bytes at initial ("" is
     * a non-NULL pointer with length 0). A zeroed lc_opts means nil. */
    const char *initial;
    size_t initial_len;
    bool initial_nil;
} lc_opts;

typedef struct lc_result {
    lc_verdict verdict;
    uint64_t steps;     /* search steps taken: one per op tried or undone */
    size_t linearized;  /* ops in the longest linearizable prefix found
                           (when LC_OK, the linearization: every op with a
                           known return and the unknown ones it placed) */
    /* Empty when LC_OK. On a violation: the op that cannot be linearized
     * (the earliest-returning op that no order could place), the end of
     * the longest linearizable prefix, the model state after it and the
     * pending ops that could not follow it, each with its id, kind, result
     * and what the model would have answered. Truncated with "...". */
    char why[512];
} lc_result;

/* Checks ops[0..n) (in any order; the array is not modified and must stay
 * valid during the call). o may be NULL for the defaults. An op with
 * ret < call, or an unknown kind, is reported as a violation. */
void lc_check(const lc_op *ops, size_t n, const lc_opts *o, lc_result *out);

/* Redis's string2ll: whether s[0..len) is the canonical decimal form of a
 * signed 64-bit integer (no '+', no leading zeros, no "-0", no spaces, in
 * range); the value in *v. Exposed for the simulator's own model. */
bool lc_parse_i64(const char *s, size_t len, int64_t *v);

#endif
