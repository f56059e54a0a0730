/* sim/appendcheck: the append-only key checker. Hand-made histories for
 * each way an append history can be wrong, then thousands of random small
 * histories (linearizable by construction, and mutated) on which its
 * verdict must equal the general search's (sim/lincheck). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/util/prng.h"
#include "sim/appendcheck.h"

static lc_op A(uint64_t id, int64_t call, int64_t ret, const char *tok, int64_t len)
{
    return (lc_op){.id = id, .call = call, .ret = ret, .kind = LC_APPEND, .arg = tok,
                   .arglen = strlen(tok), .ival = len};
}

static lc_op G(uint64_t id, int64_t call, int64_t ret, const char *val)
{
    return (lc_op){.id = id, .call = call, .ret = ret, .kind = LC_GET, .nil = val == NULL,
                   .val = val, .vallen = val ? strlen(val) : 0};
}

static lc_verdict check(const lc_op *ops, size_t n, lc_result *r)
{
    lc_check_append(ops, n, r);
    return r->verdict;
}

Test(appendcheck, sequential_appends_and_reads_are_ok)
{
    lc_op h[] = {G(1, 0, 1, NULL), A(2, 2, 3, "a,", 2), A(3, 4, 5, "b,", 4), G(4, 6, 7, "a,b,")};
    lc_result r;
    cr_assert_eq(check(h, 4, &r), LC_OK, "%s", r.why);
}

Test(appendcheck, a_lost_write_is_caught)
{
    lc_op h[] = {A(1, 0, 1, "a,", 2), A(2, 2, 3, "b,", 4), G(3, 4, 5, "b,")};
    lc_result r;
    cr_assert_eq(check(h, 3, &r), LC_VIOLATION);
}

Test(appendcheck, a_duplicated_append_is_caught)
{
    lc_op h[] = {A(1, 0, 1, "a,", 2), G(2, 4, 5, "a,a,")};
    lc_result r;
    cr_assert_eq(check(h, 2, &r), LC_VIOLATION);
    cr_assert(strstr(r.why, "twice"), "%s", r.why);
}

Test(appendcheck, reordered_sequential_appends_are_caught_concurrent_ones_are_not)
{
    lc_op seq[] = {A(1, 0, 1, "a,", 2), A(2, 2, 3, "b,", 4), G(3, 4, 5, "b,a,")};
    lc_result r;
    cr_assert_eq(check(seq, 3, &r), LC_VIOLATION);
    lc_op conc[] = {A(1, 0, 3, "a,", 4), A(2, 1, 2, "b,", 2), G(3, 4, 5, "b,a,")};
    cr_assert_eq(check(conc, 3, &r), LC_OK, "%s", r.why);
}

Test(appendcheck, a_stale_read_is_caught)
{
    lc_op h[] = {A(1, 0, 1, "a,", 2), G(2, 2, 3, "a,"), A(3, 4, 5, "b,", 4), G(4, 6, 7, "a,")};
    lc_result r;
    cr_assert_eq(check(h, 4, &r), LC_VIOLATION);
    cr_assert(strstr(r.why, "op 4"), "%s", r.why);
}

Test(appendcheck, unknown_appends_count_where_seen_and_nowhere_else)
{
    lc_op h[] = {A(1, 0, LC_UNKNOWN, "a,", 0), A(2, 1, LC_UNKNOWN, "x,", 0),
                 A(3, 2, 3, "b,", 4), G(4, 5, 6, "a,b,")};
    lc_result r;
    cr_assert_eq(check(h, 4, &r), LC_OK, "%s", r.why);
    /* Seen before it was invoked: impossible. */
    lc_op early[] = {G(1, 0, 1, "a,"), A(2, 5, LC_UNKNOWN, "a,", 0)};
    cr_assert_eq(check(early, 2, &r), LC_VIOLATION);
}

Test(appendcheck, wrong_reply_lengths_and_foreign_tokens_are_caught)
{
    lc_op len[] = {A(1, 0, 1, "a,", 2), A(2, 2, 3, "b,", 2)};
    lc_result r;
    cr_assert_eq(check(len, 2, &r), LC_VIOLATION);
    lc_op foreign[] = {A(1, 0, 1, "a,", 2), G(2, 2, 3, "a,z,")};
    cr_assert_eq(check(foreign, 2, &r), LC_VIOLATION);
    lc_op torn[] = {A(1, 0, 1, "ab,", 3), G(2, 2, 3, "ab")};
    cr_assert_eq(check(torn, 2, &r), LC_VIOLATION);
}

Test(appendcheck, other_commands_are_left_to_the_search)
{
    lc_op h[] = {A(1, 0, 1, "a,", 2), {.id = 2, .call = 2, .ret = 3, .kind = LC_DEL, .ival = 1}};
    lc_result r;
    cr_assert_eq(check(h, 2, &r), LC_GAVE_UP);
}

/* A random history of `clients` clients doing nops APPENDs and GETs on one
 * key, linearizable by construction: each op takes effect at a point in its
 * interval. Some outcomes are then hidden (unknown), and with `mutate`, one
 * GET's value is damaged. */
static size_t gen(kprng *g, lc_op *ops, char (*toks)[16], char (*vals)[512], size_t nops,
                  bool mutate)
{
    char state[512] = "";
    size_t slen = 0;
    int64_t t = 0;
    for (size_t i = 0; i < nops; i++) {
        t += 1 + (int64_t)kprng_below(g, 3);
        int64_t call = t - (int64_t)kprng_below(g, 6), ret = t + (int64_t)kprng_below(g, 6);
        if (kprng_below(g, 2)) {
            snprintf(toks[i], 16, "t%zu,", i);
            memcpy(state + slen, toks[i], strlen(toks[i]));
            slen += strlen(toks[i]);
            ops[i] = A(i + 1, call, kprng_below(g, 5) == 0 ? LC_UNKNOWN : ret, toks[i],
                       (int64_t)slen);
        } else {
            memcpy(vals[i], state, slen);
            vals[i][slen] = '\0';
            ops[i] = G(i + 1, call, ret, slen ? vals[i] : NULL);
        }
    }
    /* A read after everything, as the simulator makes once faults heal:
     * every acknowledged append must be in it. */
    memcpy(vals[nops], state, slen);
    vals[nops][slen] = '\0';
    ops[nops] = G(nops + 1, t + 10, t + 11, slen ? vals[nops] : NULL);
    nops++;
    if (mutate) {
        size_t i = kprng_below(g, nops);
        if (ops[i].kind == LC_GET && ops[i].vallen >= 3) {
            size_t k = kprng_below(g, 3);
            if (k == 0)
                ops[i].vallen -= 3; /* cut a token (maybe mid-token) */
            else if (k == 1)
                vals[i][0] = vals[i][0] == 't' ? 'u' : 't';
            else
                ops[i].call = ops[i].ret = 0; /* read long before */
        } else if (ops[i].kind == LC_APPEND && ops[i].ret != LC_UNKNOWN) {
            ops[i].ival += 3;
        }
    }
    return nops;
}

Test(appendcheck, agrees_with_the_general_search_on_random_histories)
{
    kprng g;
    kprng_seed(&g, 2026);
    lc_op ops[15];
    char toks[15][16], vals[15][512];
    int ok = 0, bad = 0;
    for (int it = 0; it < 20000; it++) {
        size_t n = gen(&g, ops, toks, vals, 4 + kprng_below(&g, 10), it % 2);
        lc_result a, b;
        lc_check_append(ops, n, &a);
        lc_check(ops, n, NULL, &b);
        cr_assert_neq(b.verdict, LC_GAVE_UP);
        cr_assert_eq(a.verdict, b.verdict, "iteration %d: append %d (%s), search %d (%s)", it,
                     a.verdict, a.why, b.verdict, b.why);
        if (a.verdict == LC_OK)
            ok++;
        else
            bad++;
    }
    cr_assert_gt(ok, 1000);
    cr_assert_gt(bad, 1000);
}

Test(appendcheck, replies_past_the_last_read_must_add_up)
{
    /* b's reply counts x (unknown outcome, 2 bytes) before it: fine. */
    lc_op ok[] = {A(1, 0, 1, "a,", 2), G(2, 2, 3, "a,"), A(3, 4, LC_UNKNOWN, "x,", 0),
                  A(4, 5, 6, "b,", 6)};
    lc_result r;
    cr_assert_eq(check(ok, 4, &r), LC_OK, "%s", r.why);
    /* Without x, nothing wrote those 2 bytes. */
    lc_op bad[] = {A(1, 0, 1, "a,", 2), G(2, 2, 3, "a,"), A(4, 5, 6, "b,", 6)};
    cr_assert_eq(check(bad, 3, &r), LC_VIOLATION);
}
