/* sim/queuecheck: the queue checker. Hand-made histories for each rule
 * (a good one, then each way it can break), then thousands of random
 * histories of a FIFO queue, correct by construction (with outcomes
 * hidden: unknown), which must pass, and the same histories damaged in
 * ways that certainly break a rule, which must not. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/util/prng.h"
#include "sim/queuecheck.h"

#define U INT64_MAX /* ret of an op of unknown outcome (not looked at) */

static qc_op PUSH(uint64_t id, int64_t call, int64_t ret, const char *tok)
{
    return (qc_op){.id = id, .client = 1, .kind = QC_PUSH,
                   .state = ret == U ? QC_UNKNOWN : QC_OK, .call = call, .ret = ret,
                   .tok = tok, .toklen = strlen(tok)};
}

/* An LPOP that returned tok (NULL: the queue was empty). */
static qc_op POP(uint64_t id, int64_t call, int64_t ret, const char *tok)
{
    return (qc_op){.id = id, .client = 2, .kind = QC_POP,
                   .state = ret == U ? QC_UNKNOWN : QC_OK, .call = call, .ret = ret, .tok = tok,
                   .toklen = tok ? strlen(tok) : 0};
}

static qc_op BPOP(uint64_t id, int64_t call, int64_t ret, const char *tok)
{
    qc_op o = POP(id, call, ret, tok);
    o.kind = QC_BPOP;
    return o;
}

static qc_op FAILED(qc_op o)
{
    o.state = QC_FAILED;
    return o;
}

/* The final list from a NULL-terminated list of tokens. */
static size_t fin(qc_tok *out, const char *const *toks)
{
    size_t n = 0;
    for (; toks[n]; n++)
        out[n] = (qc_tok){toks[n], strlen(toks[n])};
    return n;
}

static bool check(const qc_op *ops, size_t n, const char *const *final, qc_result *r)
{
    qc_tok f[64];
    size_t nf = final ? fin(f, final) : 0;
    qc_check(ops, n, f, nf, final != NULL, r);
    return !r->violation;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})
#define EMPTY ((const char *const[]){NULL})

Test(queuecheck, a_fifo_history_is_ok)
{
    qc_op h[] = {PUSH(1, 0, 1, "c1.1"), PUSH(2, 2, 3, "c1.2"), POP(3, 4, 5, "c1.1"),
                 BPOP(4, 6, 7, "c1.2"), POP(5, 8, 9, NULL), PUSH(6, 10, 11, "c1.3"),
                 BPOP(7, 12, 13, "c1.3"), PUSH(8, 12, 15, "c1.4"),
                 BPOP(9, 14, 16, NULL) /* concurrent with c1.4's push: need not see it */};
    qc_result r;
    cr_assert(check(h, N(h), LIST("c1.4"), &r), "%s", r.why);
    cr_assert_eq(r.pushes, 4);
    cr_assert_eq(r.pops, 3);
    cr_assert_eq(r.empty, 2);
    cr_assert_eq(r.remaining, 1);
    cr_assert_eq(r.why[0], '\0');
    /* Had op 7 timed out, c1.3 would have been in the queue all through
     * it: a stale empty read. */
    h[6] = BPOP(7, 12, 13, NULL);
    cr_assert_not(check(h, N(h), LIST("c1.3", "c1.4"), &r));
    cr_assert(strstr(r.why, "op 7 (BLPOP"), "%s", r.why);
    cr_assert(strstr(r.why, "stale empty read"), "%s", r.why);
}

Test(queuecheck, a_token_popped_twice_is_caught)
{
    qc_op h[] = {PUSH(1, 0, 1, "c3.5"), POP(120, 2, 3, "c3.5"), BPOP(344, 4, 5, "c3.5")};
    qc_result r;
    cr_assert_not(check(h, N(h), EMPTY, &r));
    cr_assert(strstr(r.why, "token c3.5 popped twice (ops 120 and 344)"), "%s", r.why);
    /* Without the final list too: it needs none. */
    cr_assert_not(check(h, N(h), NULL, &r));
}

Test(queuecheck, a_token_popped_and_still_there_is_caught)
{
    qc_op h[] = {PUSH(1, 0, 1, "c3.5"), POP(2, 2, 3, "c3.5")};
    qc_result r;
    cr_assert_not(check(h, N(h), LIST("c3.5"), &r));
    cr_assert(strstr(r.why, "still in the final list"), "%s", r.why);
    qc_op p[] = {PUSH(1, 0, 1, "c3.5")};
    cr_assert_not(check(p, 1, LIST("c3.5", "c3.5"), &r));
    cr_assert(strstr(r.why, "twice in the final list"), "%s", r.why);
}

Test(queuecheck, a_lost_push_is_caught)
{
    qc_op h[] = {PUSH(17, 0, 1, "c3.17"), PUSH(18, 2, 3, "c3.18"), POP(19, 4, 5, "c3.17")};
    qc_result r;
    cr_assert_not(check(h, N(h), EMPTY, &r));
    cr_assert(strstr(r.why, "token c3.18 acknowledged pushed (op 18) but neither popped nor in "
                            "the final list: a lost push"),
              "%s", r.why);
    /* Nothing is lost while the final list is not known. */
    cr_assert(check(h, N(h), NULL, &r), "%s", r.why);
}

Test(queuecheck, a_pop_of_unknown_outcome_may_have_taken_one_token)
{
    qc_op h[] = {PUSH(1, 0, 1, "c1.1"), PUSH(2, 2, 3, "c1.2"), POP(3, 4, U, NULL)};
    qc_result r;
    cr_assert(check(h, N(h), LIST("c1.2"), &r), "%s", r.why);
    cr_assert_eq(r.unaccounted, 1);
    cr_assert_eq(r.unknown_pops, 1);
    /* ... not two. */
    cr_assert_not(check(h, N(h), EMPTY, &r));
    cr_assert(strstr(r.why, "2 such tokens, only 1 pops of unknown outcome"), "%s", r.why);
    /* A failed pop took nothing. */
    h[2] = FAILED(POP(3, 4, 5, NULL));
    cr_assert_not(check(h, N(h), LIST("c1.2"), &r));
}

Test(queuecheck, unknown_pushes_may_or_may_not_have_happened)
{
    qc_op h[] = {PUSH(1, 0, U, "c1.1"), PUSH(2, 1, U, "c1.2"), PUSH(3, 2, U, "c1.3"),
                 POP(4, 5, 6, "c1.2"), POP(5, 7, 8, NULL)};
    qc_result r;
    /* c1.1 never happened, c1.2 was popped, c1.3 came after the empty pop. */
    cr_assert(check(h, N(h), LIST("c1.3"), &r), "%s", r.why);
    cr_assert(check(h, N(h), EMPTY, &r), "%s", r.why);
    cr_assert_eq(r.pushes, 0);
}

Test(queuecheck, a_pop_of_a_token_never_pushed_or_failed_is_caught)
{
    qc_op h[] = {PUSH(1, 0, 1, "c1.1"), POP(2, 2, 3, "c9.9")};
    qc_result r;
    cr_assert_not(check(h, N(h), EMPTY, &r));
    cr_assert(strstr(r.why, "token c9.9, which nobody pushed"), "%s", r.why);
    qc_op f[] = {FAILED(PUSH(1, 0, 1, "c1.1")), BPOP(2, 2, 3, "c1.1")};
    cr_assert_not(check(f, N(f), EMPTY, &r));
    cr_assert(strstr(r.why, "failed and had no effect"), "%s", r.why);
    /* Nor may it be left in the list. */
    qc_op g[] = {FAILED(PUSH(1, 0, 1, "c1.1"))};
    cr_assert_not(check(g, 1, LIST("c1.1"), &r));
    cr_assert_not(check(g, 1, LIST("zz"), &r));
    /* Popped before it was pushed. */
    qc_op e[] = {POP(1, 0, 1, "c1.1"), PUSH(2, 2, U, "c1.1")};
    cr_assert_not(check(e, N(e), EMPTY, &r));
    cr_assert(strstr(r.why, "before its RPUSH"), "%s", r.why);
}

Test(queuecheck, fifo_order_where_real_time_decides_it)
{
    qc_op h[] = {PUSH(1, 0, 1, "a"), PUSH(2, 2, 3, "b"), POP(3, 4, 5, "b")};
    qc_result r;
    /* b popped while a, ahead of it, stays. */
    cr_assert_not(check(h, N(h), LIST("a"), &r));
    cr_assert(strstr(r.why, "FIFO"), "%s", r.why);
    /* b popped before a was. */
    qc_op h2[] = {PUSH(1, 0, 1, "a"), PUSH(2, 2, 3, "b"), POP(3, 4, 5, "b"), POP(4, 6, 7, "a")};
    cr_assert_not(check(h2, N(h2), EMPTY, &r));
    cr_assert(strstr(r.why, "FIFO"), "%s", r.why);
    /* Overlapping pops may take them in either order. */
    h2[3] = POP(4, 4, 7, "a");
    cr_assert(check(h2, N(h2), EMPTY, &r), "%s", r.why);
    /* The final list in the wrong order. */
    qc_op h3[] = {PUSH(1, 0, 1, "a"), PUSH(2, 2, 3, "b")};
    cr_assert_not(check(h3, N(h3), LIST("b", "a"), &r));
    cr_assert(strstr(r.why, "FIFO"), "%s", r.why);
    /* Concurrent pushes: either order. */
    h3[1] = PUSH(2, 0, 3, "b");
    cr_assert(check(h3, N(h3), LIST("b", "a"), &r), "%s", r.why);
    cr_assert(check(h3, N(h3), LIST("a", "b"), &r), "%s", r.why);
}

Test(queuecheck, an_empty_pop_of_a_queue_that_held_a_token_is_caught)
{
    qc_op h[] = {PUSH(1, 0, 1, "a"), POP(2, 2, 3, NULL), POP(3, 4, 5, "a")};
    qc_result r;
    cr_assert_not(check(h, N(h), EMPTY, &r));
    cr_assert(strstr(r.why, "op 2 (LPOP"), "%s", r.why);
    cr_assert(strstr(r.why, "stale empty read"), "%s", r.why);
    /* If a's pop may have come first, fine. */
    h[2] = POP(3, 1, 5, "a");
    cr_assert(check(h, N(h), EMPTY, &r), "%s", r.why);
    /* Or if a pop of unknown outcome may have taken it. */
    qc_op u[] = {PUSH(1, 0, 1, "a"), POP(2, 1, U, NULL), BPOP(3, 2, 3, NULL)};
    cr_assert(check(u, N(u), EMPTY, &r), "%s", r.why);
}

Test(queuecheck, duplicate_tokens_are_refused)
{
    qc_op h[] = {PUSH(1, 0, 1, "a"), PUSH(2, 2, U, "a")};
    qc_result r;
    cr_assert_not(check(h, N(h), LIST("a"), &r));
    cr_assert(strstr(r.why, "unique"), "%s", r.why);
}

/* A random history of a FIFO queue, correct by construction: each op takes
 * effect at one instant t inside [call, ret]; one instant per op. Some
 * outcomes are then hidden: the op may have happened or not (unknown), or
 * a push that did not happen is recorded as failed. Returns the op count;
 * the final list in fl. */
static size_t gen(kprng *g, qc_op *ops, char (*toks)[16], size_t nops, qc_tok *fl, size_t *nfl)
{
    size_t q[256], qh = 0, qt = 0; /* queue of op indexes (pushes) */
    int64_t t = 0;
    for (size_t i = 0; i < nops; i++) {
        t += 2 + (int64_t)kprng_below(g, 3);
        int64_t call = t - (int64_t)kprng_below(g, 8), ret = t + (int64_t)kprng_below(g, 8);
        uint64_t r = kprng_below(g, 10);
        if (r < 5) {
            snprintf(toks[i], 16, "c%zu.%zu", i % 4, i);
            bool happened = kprng_below(g, 8) != 0;
            ops[i] = PUSH(i + 1, call, ret, toks[i]);
            if (happened) {
                q[qt++] = i;
                if (kprng_below(g, 5) == 0)
                    ops[i].state = QC_UNKNOWN;
            } else {
                ops[i].state = kprng_below(g, 2) ? QC_FAILED : QC_UNKNOWN;
            }
        } else {
            const char *got = qh < qt ? ops[q[qh]].tok : NULL;
            bool happened = kprng_below(g, 8) != 0;
            if (happened && got)
                qh++;
            ops[i] = kprng_below(g, 2) ? POP(i + 1, call, ret, got) : BPOP(i + 1, call, ret, got);
            if (!happened) {
                /* Never happened: unknown, or failed. */
                ops[i].state = kprng_below(g, 2) ? QC_FAILED : QC_UNKNOWN;
                ops[i].tok = NULL;
            } else if (kprng_below(g, 5) == 0) {
                ops[i].state = QC_UNKNOWN;
                ops[i].tok = NULL;
            }
        }
    }
    *nfl = 0;
    for (size_t i = qh; i < qt; i++)
        fl[(*nfl)++] = (qc_tok){ops[q[i]].tok, ops[q[i]].toklen};
    return nops;
}

Test(queuecheck, random_fifo_histories_pass_and_damaged_ones_do_not)
{
    kprng g;
    kprng_seed(&g, 2026);
    qc_op ops[40];
    char toks[40][16];
    qc_tok fl[40];
    int damaged = 0;
    for (int it = 0; it < 20000; it++) {
        size_t nfl, n = gen(&g, ops, toks, 5 + kprng_below(&g, 35), fl, &nfl);
        qc_result r;
        qc_check(ops, n, fl, nfl, true, &r);
        cr_assert_not(r.violation, "iteration %d: %s", it, r.why);
        qc_check(ops, n, fl, nfl, false, &r);
        cr_assert_not(r.violation, "iteration %d (no final list): %s", it, r.why);

        /* Damage it so that it certainly breaks a rule. */
        size_t pushed = SIZE_MAX, popped = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            if (ops[i].kind == QC_PUSH && ops[i].state == QC_OK && pushed == SIZE_MAX)
                pushed = i;
            if (ops[i].kind != QC_PUSH && ops[i].state == QC_OK && ops[i].tok && popped == SIZE_MAX)
                popped = i;
        }
        int how = (int)kprng_below(&g, 4);
        if (how == 0 && nfl > 0) {
            /* The last element comes back twice. */
            fl[nfl] = fl[nfl - 1];
            qc_check(ops, n, fl, nfl + 1, true, &r);
        } else if (how == 1 && popped != SIZE_MAX) {
            /* A popped element also stays. */
            fl[nfl] = (qc_tok){ops[popped].tok, ops[popped].toklen};
            qc_check(ops, n, fl, nfl + 1, true, &r);
        } else if (how == 2 && popped != SIZE_MAX) {
            /* A pop returns a token nobody pushed. */
            ops[popped].tok = "zz";
            ops[popped].toklen = 2;
            qc_check(ops, n, fl, nfl, true, &r);
        } else if (how == 3 && pushed != SIZE_MAX) {
            /* An acknowledged push is lost: its token is taken out of
             * every pop and the final list, and every pop of unknown
             * outcome becomes a failure. */
            const char *lost = ops[pushed].tok;
            for (size_t i = 0; i < n; i++)
                if (ops[i].kind != QC_PUSH && ops[i].tok == lost) {
                    ops[i].tok = NULL;
                    ops[i].state = QC_FAILED;
                } else if (ops[i].kind != QC_PUSH && ops[i].state == QC_UNKNOWN) {
                    ops[i].state = QC_FAILED;
                }
            size_t m = 0;
            for (size_t i = 0; i < nfl; i++)
                if (fl[i].p != lost)
                    fl[m++] = fl[i];
            qc_check(ops, n, fl, m, true, &r);
        } else {
            continue;
        }
        cr_assert(r.violation, "iteration %d, damage %d: not caught", it, how);
        damaged++;
    }
    cr_assert_gt(damaged, 10000);
}
