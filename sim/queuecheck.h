/* queuecheck: the simulator's queue keys, checked without a search.
 *
 * A queue key only ever gets RPUSH of a unique token (one per push), LPOP
 * and BLPOP (pops at the head), and, once every fault has healed and every
 * client has finished, one LRANGE key 0 -1 through the leader: the final
 * list. A pop's reply names the element it took, so most of what can go
 * wrong shows as a fact about tokens, decided in O(n log n):
 *
 *  1. No token is popped twice: by two acknowledged pops, or by one and
 *     still in the final list, or twice in the final list (a duplicated
 *     push).
 *  2. Every token popped, or in the final list, was pushed: by an RPUSH
 *     acknowledged or of unknown outcome, never by one that failed (a
 *     failure, NOTLEADER or EXECABORT, means it had no effect), and not
 *     popped before its RPUSH was invoked.
 *  3. No acknowledged push is lost: every token of an acknowledged RPUSH
 *     was popped by an acknowledged pop, or is in the final list, or was
 *     taken by a pop of unknown outcome. The last is not named (a pop
 *     whose reply was lost may have taken anything), so it is a count:
 *     the acknowledged tokens accounted for by neither may not outnumber
 *     the pops of unknown outcome.
 *  4. FIFO where real time decides it: when RPUSH A returned before RPUSH
 *     B was invoked (both acknowledged), A is ahead of B in the queue, so
 *     B is not popped while A stays (A in the final list, or popped by a
 *     pop invoked after B's pop returned), and the final list has A before
 *     B.
 *  5. No empty read of a non-empty queue: a pop that answered nil (LPOP's
 *     null, BLPOP's timeout) was invoked after some acknowledged RPUSH A
 *     returned, and A was still there after the pop returned (in the final
 *     list, or popped by a pop invoked later): the queue was never empty
 *     while it ran.
 *
 * Operations of unknown outcome (a timeout, a crash, -UNKNOWN, -UNBLOCKED)
 * may have taken effect or not; they constrain nothing but the count in 3.
 * Failed ones had no effect. What is checked is necessary for a
 * linearizable FIFO queue, not sufficient: a history can pass and still
 * have no linearization (say, two pops that saw the queue empty and full
 * in an order no interleaving gives); what it catches are the losses,
 * duplications and reorderings a replicated queue is prone to.
 *
 * Pure: no I/O, no state outside the call, no randomness. */
#ifndef KEEL_SIM_QUEUECHECK_H
#define KEEL_SIM_QUEUECHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum qc_kind {
    QC_PUSH = 1, /* RPUSH key token */
    QC_POP,      /* LPOP key */
    QC_BPOP,     /* BLPOP key timeout: a pop too */
} qc_kind;

typedef enum qc_state {
    QC_OK = 1,  /* acknowledged: its result is known */
    QC_UNKNOWN, /* may or may not have taken effect */
    QC_FAILED,  /* certainly had no effect */
} qc_state;

typedef struct qc_op {
    uint64_t id;     /* the caller's id, reported back in the explanation */
    uint32_t client;
    qc_kind kind;
    qc_state state;
    int64_t call;    /* invoke time (µs) */
    int64_t ret;     /* completion time, when QC_OK */
    /* QC_PUSH: the token pushed. A pop, when QC_OK: the element it
     * returned, or NULL when it found the queue empty (nil). */
    const char *tok;
    size_t toklen;
} qc_op;

typedef struct qc_tok {
    const char *p;
    size_t len;
} qc_tok;

typedef struct qc_result {
    bool violation;
    /* Counts, for the trace. */
    size_t pushes;       /* RPUSHes acknowledged */
    size_t pops;         /* pops acknowledged that returned an element */
    size_t empty;        /* pops acknowledged that found the queue empty */
    size_t unknown_pops; /* pops of unknown outcome */
    size_t remaining;    /* elements in the final list */
    size_t unaccounted;  /* acknowledged tokens neither popped nor remaining
                            (taken by pops of unknown outcome) */
    /* Empty when no violation; else one line saying which tokens and
     * operations break which rule. */
    char why[512];
} qc_result;

/* Checks ops[0..n) of one queue key (in any order; not modified) against
 * the final list final[0..nfinal), head first. Without the final list
 * (final_known false) the checks that need it (the lost push, the order
 * of what remains, tokens left and popped) are skipped. */
void qc_check(const qc_op *ops, size_t n, const qc_tok *final, size_t nfinal, bool final_known,
              qc_result *out);

#endif
