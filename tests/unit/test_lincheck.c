/* Unit tests for the linearizability checker (sim/lincheck.h): the model's
 * Redis semantics, histories that must and must not linearize, ops of
 * unknown outcome, the explanation, determinism, the budget, and a large
 * generated history that is linearizable by construction. */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/prng.h"
#include "sim/lincheck.h"

#define U LC_UNKNOWN
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- op builders: the client is the op's id unless a test says ---- */

static lc_op op_set(uint64_t id, int64_t call, int64_t ret, const char *v)
{
    return (lc_op){.id = id, .client = (uint32_t)id, .call = call, .ret = ret, .kind = LC_SET,
                   .arg = v, .arglen = strlen(v)};
}

/* v NULL: the GET saw nil. */
static lc_op op_get(uint64_t id, int64_t call, int64_t ret, const char *v)
{
    return (lc_op){.id = id, .client = (uint32_t)id, .call = call, .ret = ret, .kind = LC_GET,
                   .nil = v == NULL, .val = v, .vallen = v ? strlen(v) : 0};
}

static lc_op op_incr(uint64_t id, int64_t call, int64_t ret, int64_t v)
{
    return (lc_op){.id = id, .client = (uint32_t)id, .call = call, .ret = ret, .kind = LC_INCR,
                   .ival = v};
}

static lc_op op_incr_err(uint64_t id, int64_t call, int64_t ret)
{
    return (lc_op){.id = id, .client = (uint32_t)id, .call = call, .ret = ret, .kind = LC_INCR,
                   .err = true};
}

static lc_op op_append(uint64_t id, int64_t call, int64_t ret, const char *t, int64_t newlen)
{
    return (lc_op){.id = id, .client = (uint32_t)id, .call = call, .ret = ret, .kind = LC_APPEND,
                   .arg = t, .arglen = strlen(t), .ival = newlen};
}

static lc_op op_del(uint64_t id, int64_t call, int64_t ret, int64_t n)
{
    return (lc_op){.id = id, .client = (uint32_t)id, .call = call, .ret = ret, .kind = LC_DEL,
                   .ival = n};
}

static lc_result check_from(const lc_op *ops, size_t n, const char *initial)
{
    lc_opts o = {.initial = initial, .initial_len = initial ? strlen(initial) : 0};
    lc_result r;
    lc_check(ops, n, &o, &r);
    return r;
}

static lc_result check(const lc_op *ops, size_t n)
{
    lc_result r;
    lc_check(ops, n, NULL, &r);
    return r;
}

#define ASSERT_OK(r)                                                                          \
    cr_assert_eq((r).verdict, LC_OK, "expected OK, got %d: %s", (int)(r).verdict, (r).why)
#define ASSERT_VIOLATION(r)                                                                   \
    cr_assert_eq((r).verdict, LC_VIOLATION, "expected VIOLATION, got %d (%" PRIu64 " steps)", \
                 (int)(r).verdict, (r).steps)

/* ---- the model ---- */

Test(lincheck, parse_i64_follows_string2ll)
{
    static const struct {
        const char *s;
        bool ok;
        int64_t v;
    } cases[] = {
        {"0", true, 0},
        {"1", true, 1},
        {"-1", true, -1},
        {"123", true, 123},
        {"9223372036854775807", true, INT64_MAX},
        {"-9223372036854775808", true, INT64_MIN},
        {"9223372036854775808", false, 0},
        {"-9223372036854775809", false, 0},
        {"18446744073709551616", false, 0},
        {"", false, 0},
        {"-", false, 0},
        {"-0", false, 0},
        {"00", false, 0},
        {"01", false, 0},
        {"+1", false, 0},
        {" 1", false, 0},
        {"1 ", false, 0},
        {"1a", false, 0},
        {"abc", false, 0},
        {"123456789012345678901", false, 0},
    };
    for (size_t i = 0; i < N(cases); i++) {
        int64_t v = 42;
        bool ok = lc_parse_i64(cases[i].s, strlen(cases[i].s), &v);
        cr_assert_eq(ok, cases[i].ok, "'%s': ok %d", cases[i].s, ok);
        if (ok)
            cr_assert_eq(v, cases[i].v, "'%s': %" PRId64, cases[i].s, v);
    }
}

Test(lincheck, empty_history_is_ok)
{
    lc_result r = check(NULL, 0);
    ASSERT_OK(r);
    cr_assert_str_empty(r.why);
}

Test(lincheck, sequential_history_of_every_command)
{
    lc_op ops[] = {
        op_get(1, 0, 1, NULL),
        op_set(2, 2, 3, "a"),
        op_get(3, 4, 5, "a"),
        op_append(4, 6, 7, "bc", 3),
        op_get(5, 8, 9, "abc"),
        op_incr_err(6, 10, 11),
        op_get(7, 12, 13, "abc"),
        op_del(8, 14, 15, 1),
        op_del(9, 16, 17, 0),
        op_get(10, 18, 19, NULL),
        op_incr(11, 20, 21, 1),
        op_incr(12, 22, 23, 2),
        op_append(13, 24, 25, "0", 2),
        op_incr(14, 26, 27, 21),
        op_get(15, 28, 29, "21"),
        op_del(16, 30, 31, 1),
        op_append(17, 32, 33, "x", 1),
        op_get(18, 34, 35, "x"),
    };
    lc_result r = check(ops, N(ops));
    ASSERT_OK(r);
    cr_assert_eq(r.linearized, N(ops));

    /* The same with the last GET wrong fails, so the model is not vacuous. */
    ops[N(ops) - 1] = op_get(18, 34, 35, "y");
    ASSERT_VIOLATION(check(ops, N(ops)));
}

Test(lincheck, initial_state_from_opts)
{
    lc_op get_empty[] = {op_get(1, 0, 1, "")};
    ASSERT_OK(check_from(get_empty, 1, ""));
    ASSERT_VIOLATION(check(get_empty, 1)); /* the default is nil, not "" */

    lc_op get_nil[] = {op_get(1, 0, 1, NULL)};
    ASSERT_OK(check(get_nil, 1));
    lc_opts o = {.initial = "v", .initial_len = 1, .initial_nil = true};
    lc_result r;
    lc_check(get_nil, 1, &o, &r);
    cr_assert_eq(r.verdict, LC_OK, "initial_nil wins over initial");
    ASSERT_VIOLATION(check_from(get_nil, 1, "v"));
}

/* ---- reads and writes ---- */

Test(lincheck, stale_read_is_a_violation)
{
    lc_op ops[] = {
        op_set(1, 0, 1, "old"),
        op_set(2, 2, 3, "new"),
        op_get(4242, 4, 5, "old"), /* SET new completed before this GET began */
    };
    lc_result r = check(ops, N(ops));
    ASSERT_VIOLATION(r);
    cr_assert_not_null(strstr(r.why, "op 4242"), "why names the stale GET: %s", r.why);
    cr_assert_not_null(strstr(r.why, "\"new\""), "why gives the state: %s", r.why);
    cr_assert_eq(r.linearized, 2, "the prefix is the two SETs, got %zu", r.linearized);
}

Test(lincheck, concurrent_set_and_get_either_order)
{
    lc_op saw_old[] = {op_set(1, 0, 10, "x"), op_get(2, 5, 15, NULL)};
    lc_op saw_new[] = {op_set(1, 0, 10, "x"), op_get(2, 5, 15, "x")};
    ASSERT_OK(check(saw_old, N(saw_old)));
    ASSERT_OK(check(saw_new, N(saw_new)));

    /* Equal times overlap: a return at 5 does not precede a call at 5. */
    lc_op touching[] = {op_set(1, 0, 5, "x"), op_get(2, 5, 6, NULL)};
    ASSERT_OK(check(touching, N(touching)));
    lc_op apart[] = {op_set(1, 0, 4, "x"), op_get(2, 5, 6, NULL)};
    ASSERT_VIOLATION(check(apart, N(apart)));

    /* Two readers may not see the writes in opposite orders once one of
     * them has finished before the other started. */
    lc_op flip[] = {
        op_set(1, 0, 100, "a"),      op_set(2, 0, 100, "b"),
        op_get(3, 10, 20, "a"),      op_get(4, 30, 40, "b"),
        op_get(5, 50, 60, "a"),
    };
    ASSERT_VIOLATION(check(flip, N(flip)));
}

Test(lincheck, lost_append_is_a_violation)
{
    lc_op ops[] = {
        op_append(1, 0, 1, "a", 1),
        op_append(2, 2, 3, "b", 2),
        op_get(3, 4, 5, "b"),
    };
    lc_result r = check(ops, N(ops));
    ASSERT_VIOLATION(r);
    cr_assert_not_null(strstr(r.why, "op 3 GET"), "%s", r.why);
}

Test(lincheck, explanation_shows_a_long_value_by_head_and_tail)
{
    static const char *const toks[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
    lc_op ops[41];
    for (int i = 0; i < 40; i++)
        ops[i] = op_append((uint64_t)i + 1, 2 * i, 2 * i + 1, toks[i % 10], i + 1);
    ops[40] = op_get(77, 100, 101, "0123456789");
    lc_result r = check(ops, N(ops));
    ASSERT_VIOLATION(r);
    cr_assert_not_null(strstr(r.why, "op 77 GET -> \"0123456789\""), "%s", r.why);
    cr_assert_not_null(strstr(r.why, "\"01234567...4567890123456789\"(40 bytes)"), "%s", r.why);
}

Test(lincheck, duplicated_append_is_a_violation)
{
    lc_op ops[] = {op_append(1, 0, 1, "a", 1), op_get(2, 2, 3, "aa")};
    ASSERT_VIOLATION(check(ops, N(ops)));
    lc_op once[] = {op_append(1, 0, 1, "a", 1), op_get(2, 2, 3, "a")};
    ASSERT_OK(check(once, N(once)));
}

Test(lincheck, reordered_appends)
{
    /* Sequential appends read back in the other order. */
    lc_op seq[] = {
        op_append(1, 0, 1, "a", 1),
        op_append(2, 2, 3, "b", 2),
        op_get(3, 4, 5, "ba"),
    };
    ASSERT_VIOLATION(check(seq, N(seq)));

    /* Concurrent ones may land either way, as long as the lengths agree. */
    lc_op conc[] = {
        op_append(1, 0, 10, "a", 2),
        op_append(2, 0, 10, "b", 1),
        op_get(3, 11, 12, "ba"),
    };
    ASSERT_OK(check(conc, N(conc)));
    conc[0].ival = 1;
    conc[1].ival = 2;
    ASSERT_VIOLATION(check(conc, N(conc)));
}

/* ---- INCR ---- */

Test(lincheck, duplicated_incr_is_a_violation)
{
    lc_op ops[] = {op_incr(1, 0, 1, 1), op_incr(2, 2, 3, 1)};
    lc_result r = check(ops, N(ops));
    ASSERT_VIOLATION(r);
    cr_assert_not_null(strstr(r.why, "op 2 INCR -> 1"), "%s", r.why);

    /* Concurrent, they still cannot both return 1. */
    lc_op conc[] = {op_incr(1, 0, 10, 1), op_incr(2, 0, 10, 1)};
    ASSERT_VIOLATION(check(conc, N(conc)));
    conc[0].ival = 2;
    ASSERT_OK(check(conc, N(conc)));
}

Test(lincheck, incr_on_a_non_integer_errors)
{
    lc_op err[] = {op_incr_err(1, 0, 1), op_get(2, 2, 3, "abc")};
    ASSERT_OK(check_from(err, N(err), "abc"));

    lc_op ok[] = {op_incr(1, 0, 1, 1)};
    ASSERT_VIOLATION(check_from(ok, 1, "abc")); /* it would have errored */
    lc_op err_on_nil[] = {op_incr_err(1, 0, 1)};
    ASSERT_VIOLATION(check(err_on_nil, 1)); /* nil counts as 0 */

    static const char *const not_int[] = {"+1", "01", " 1", "1 ", "-0", "", "1.5",
                                          "9223372036854775808"};
    for (size_t i = 0; i < N(not_int); i++) {
        lc_op one[] = {op_incr_err(1, 0, 1)};
        lc_result r = check_from(one, 1, not_int[i]);
        cr_assert_eq(r.verdict, LC_OK, "INCR on '%s' errors: %s", not_int[i], r.why);
    }
    lc_op neg[] = {op_incr(1, 0, 1, -4)};
    ASSERT_OK(check_from(neg, 1, "-5"));
    lc_op min[] = {op_incr(1, 0, 1, INT64_MIN + 1)};
    ASSERT_OK(check_from(min, 1, "-9223372036854775808"));
}

Test(lincheck, incr_overflow_errors)
{
    lc_op err[] = {op_incr_err(1, 0, 1), op_get(2, 2, 3, "9223372036854775807")};
    ASSERT_OK(check_from(err, N(err), "9223372036854775807"));

    lc_op wrapped[] = {op_incr(1, 0, 1, INT64_MIN)};
    ASSERT_VIOLATION(check_from(wrapped, 1, "9223372036854775807"));

    lc_op to_max[] = {op_incr(1, 0, 1, INT64_MAX), op_incr_err(2, 2, 3)};
    ASSERT_OK(check_from(to_max, N(to_max), "9223372036854775806"));
}

/* ---- DEL ---- */

Test(lincheck, del_results)
{
    lc_op on_nil[] = {op_del(1, 0, 1, 0)};
    ASSERT_OK(check(on_nil, 1));
    on_nil[0].ival = 1;
    ASSERT_VIOLATION(check(on_nil, 1));

    lc_op seq[] = {op_set(1, 0, 1, "v"), op_del(2, 2, 3, 1), op_del(3, 4, 5, 0),
                   op_get(4, 6, 7, NULL)};
    ASSERT_OK(check(seq, N(seq)));

    /* Two concurrent DELs of one key: exactly one removes it. */
    lc_op both[] = {op_set(1, 0, 1, "v"), op_del(2, 2, 10, 1), op_del(3, 2, 10, 1)};
    ASSERT_VIOLATION(check(both, N(both)));
    both[1].ival = 0;
    ASSERT_OK(check(both, N(both)));
}

/* ---- ops of unknown outcome ---- */

Test(lincheck, unknown_op_may_or_may_not_take_effect)
{
    lc_op took[] = {op_set(1, 0, U, "x"), op_get(2, 5, 6, "x")};
    ASSERT_OK(check(took, N(took)));
    lc_op never[] = {op_set(1, 0, U, "x"), op_get(2, 5, 6, NULL)};
    ASSERT_OK(check(never, N(never)));

    /* Late effect: seen nil first, then its value. */
    lc_op late[] = {op_set(1, 0, U, "x"), op_get(2, 5, 6, NULL), op_get(3, 100, 101, "x")};
    ASSERT_OK(check(late, N(late)));
    /* But an effect cannot be undone: its value, then nil, is wrong. */
    lc_op undone[] = {op_set(1, 0, U, "x"), op_get(2, 5, 6, "x"), op_get(3, 7, 8, NULL)};
    ASSERT_VIOLATION(check(undone, N(undone)));

    /* An unknown INCR takes effect once at most. */
    lc_op incr[] = {op_incr(1, 0, U, 0), op_get(2, 5, 6, "1"), op_incr(3, 7, 8, 2)};
    ASSERT_OK(check(incr, N(incr)));
    lc_op twice[] = {op_incr(1, 0, U, 0), op_incr(3, 7, 8, 3)};
    ASSERT_VIOLATION(check(twice, N(twice)));

    /* Lost ops that do the same thing are interchangeable, and both may
     * have taken effect. */
    lc_op two_appends[] = {op_append(1, 0, U, "a", 0), op_append(2, 1, U, "a", 0),
                           op_get(3, 5, 6, "aa")};
    ASSERT_OK(check(two_appends, N(two_appends)));
    two_appends[2] = op_get(3, 5, 6, "aaa");
    ASSERT_VIOLATION(check(two_appends, N(two_appends)));
    lc_op three_appends[] = {op_append(1, 0, U, "a", 0), op_append(2, 1, U, "a", 0),
                             op_append(3, 2, U, "a", 0), op_get(4, 5, 6, "aaa")};
    ASSERT_OK(check(three_appends, N(three_appends)));
    lc_op two_incrs[] = {op_incr(1, 0, U, 0), op_incr(2, 0, U, 0), op_get(3, 5, 6, "1"),
                         op_get(4, 7, 8, "2")};
    ASSERT_OK(check(two_incrs, N(two_incrs)));
    two_incrs[3] = op_get(4, 7, 8, "3");
    ASSERT_VIOLATION(check(two_incrs, N(two_incrs)));

    /* A lost SET seen, then overwritten, then a lost DEL. */
    lc_op mixed[] = {op_set(1, 0, U, "x"), op_get(2, 1, 2, "x"), op_set(3, 3, 4, "y"),
                     op_del(4, 5, U, 0), op_get(5, 6, 7, "y"), op_get(6, 8, 9, NULL),
                     op_append(7, 10, 11, "z", 1)};
    ASSERT_OK(check(mixed, N(mixed)));
    mixed[4] = op_get(5, 6, 7, "x");
    ASSERT_VIOLATION(check(mixed, N(mixed)));
}

Test(lincheck, unknown_op_seen_before_its_call_is_a_violation)
{
    lc_op ops[] = {op_get(7, 0, 5, "x"), op_set(8, 10, U, "x")};
    lc_result r = check(ops, N(ops));
    ASSERT_VIOLATION(r);
    cr_assert_not_null(strstr(r.why, "op 7 GET -> \"x\""), "%s", r.why);
    cr_assert_not_null(strstr(r.why, "nil"), "the state was nil: %s", r.why);
}

Test(lincheck, malformed_ops_are_reported)
{
    lc_op back[] = {op_set(5, 10, 9, "x")};
    lc_result r = check(back, 1);
    ASSERT_VIOLATION(r);
    cr_assert_not_null(strstr(r.why, "op 5"), "%s", r.why);

    lc_op bad = op_set(6, 0, 1, "x");
    bad.kind = (lc_kind)99;
    r = check(&bad, 1);
    ASSERT_VIOLATION(r);
    cr_assert_not_null(strstr(r.why, "op 6"), "%s", r.why);
}

/* ---- a large history, linearizable by construction ---- */

typedef struct hist {
    lc_op *ops;
    size_t n;
    char **strs; /* every string the ops point at, to free */
    size_t nstrs;
} hist;

static char *hist_str(hist *h, const char *p, size_t len)
{
    char *s = malloc(len + 1);
    cr_assert_not_null(s);
    if (len)
        memcpy(s, p, len);
    s[len] = '\0';
    h->strs = realloc(h->strs, (h->nstrs + 1) * sizeof *h->strs);
    cr_assert_not_null(h->strs);
    h->strs[h->nstrs++] = s;
    return s;
}

static void hist_free(hist *h)
{
    for (size_t i = 0; i < h->nstrs; i++)
        free(h->strs[i]);
    free(h->strs);
    free(h->ops);
}

typedef struct linpt {
    int64_t t;
    size_t op;
} linpt;

static int linpt_cmp(const void *pa, const void *pb)
{
    const linpt *a = pa, *b = pb;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    return a->op < b->op ? -1 : a->op > b->op;
}

/* `clients` clients issue `per` ops each, one at a time, on one key; each op
 * takes effect at a seeded point inside its interval, and its result is what
 * the model gives in the order of those points. One op in `lost` loses its
 * outcome (ret unknown); half of those took effect. */
static hist gen_history(uint64_t seed, uint32_t clients, size_t per, uint64_t lost)
{
    kprng r;
    kprng_seed(&r, seed);
    hist h = {0};
    h.ops = calloc(clients * per, sizeof *h.ops);
    cr_assert_not_null(h.ops);
    linpt *pts = calloc(clients * per, sizeof *pts);
    cr_assert_not_null(pts);
    size_t npts = 0;
    char buf[64];

    for (uint32_t c = 0; c < clients; c++) {
        int64_t t = (int64_t)kprng_below(&r, 10);
        for (size_t j = 0; j < per; j++) {
            lc_op *op = &h.ops[h.n];
            int64_t dur = 1 + (int64_t)kprng_below(&r, 40);
            op->id = 1000 + h.n;
            op->client = c;
            op->call = t;
            op->ret = t + dur;
            uint64_t k = kprng_below(&r, 100);
            if (k < 20) {
                op->kind = LC_SET;
                int len = kprng_below(&r, 3) == 0
                              ? snprintf(buf, sizeof buf, "%" PRIu64, kprng_below(&r, 50))
                              : snprintf(buf, sizeof buf, "v%zu", h.n);
                op->arg = hist_str(&h, buf, (size_t)len);
                op->arglen = (size_t)len;
            } else if (k < 55) {
                op->kind = LC_GET;
            } else if (k < 70) {
                op->kind = LC_INCR;
            } else if (k < 90) {
                op->kind = LC_APPEND;
                int len = snprintf(buf, sizeof buf, "%c%" PRIu64, 'a' + (int)(c % 26),
                                   kprng_below(&r, 10));
                op->arg = hist_str(&h, buf, (size_t)len);
                op->arglen = (size_t)len;
            } else {
                op->kind = LC_DEL;
            }
            bool applied = true;
            if (kprng_below(&r, lost) == 0) {
                op->ret = LC_UNKNOWN;
                applied = kprng_below(&r, 2) == 0;
            }
            if (applied)
                pts[npts++] = (linpt){t + (int64_t)kprng_below(&r, (uint64_t)dur + 1), h.n};
            h.n++;
            t += dur + 1 + (int64_t)kprng_below(&r, 10);
        }
    }

    /* Run the ops in linearization order through a plain model. */
    qsort(pts, npts, sizeof *pts, linpt_cmp);
    char *val = NULL;
    size_t len = 0;
    bool nil = true;
    for (size_t i = 0; i < npts; i++) {
        lc_op *op = &h.ops[pts[i].op];
        switch (op->kind) {
        case LC_SET:
            val = realloc(val, op->arglen + 1);
            memcpy(val, op->arg, op->arglen);
            len = op->arglen;
            nil = false;
            break;
        case LC_GET:
            op->nil = nil;
            if (!nil) {
                op->val = hist_str(&h, val, len);
                op->vallen = len;
            }
            break;
        case LC_INCR: {
            int64_t v = 0;
            if ((nil || lc_parse_i64(val, len, &v)) && v != INT64_MAX) {
                op->ival = v + 1;
                val = realloc(val, 24);
                len = (size_t)snprintf(val, 24, "%" PRId64, v + 1);
                nil = false;
            } else {
                op->err = true;
            }
            break;
        }
        case LC_APPEND:
            if (nil)
                len = 0;
            val = realloc(val, len + op->arglen + 1);
            memcpy(val + len, op->arg, op->arglen);
            len += op->arglen;
            nil = false;
            op->ival = (int64_t)len;
            break;
        case LC_DEL:
            op->ival = nil ? 0 : 1;
            nil = true;
            len = 0;
            break;
        }
    }
    free(val);
    free(pts);
    return h;
}

/* The first GET with a value called in the second half of the history. */
static size_t middle_read(const hist *h)
{
    int64_t end = 0;
    for (size_t i = 0; i < h->n; i++)
        end = h->ops[i].call > end ? h->ops[i].call : end;
    size_t v = SIZE_MAX;
    for (size_t i = 0; i < h->n; i++) {
        const lc_op *op = &h->ops[i];
        if (op->kind == LC_GET && op->ret != LC_UNKNOWN && !op->nil && op->call >= end / 2 &&
            (v == SIZE_MAX || op->call < h->ops[v].call))
            v = i;
    }
    cr_assert_neq(v, SIZE_MAX);
    return v;
}

/* Makes read v return the value of the last SET that completed at least 50
 * ticks before v began: a stale read. */
static void make_stale(hist *h, size_t v)
{
    size_t old = SIZE_MAX;
    for (size_t i = 0; i < h->n; i++) {
        const lc_op *op = &h->ops[i];
        if (op->kind == LC_SET && op->ret != LC_UNKNOWN && op->arg[0] == 'v' &&
            op->ret < h->ops[v].call - 50 && (old == SIZE_MAX || op->call > h->ops[old].call))
            old = i;
    }
    cr_assert_neq(old, SIZE_MAX);
    h->ops[v].val = h->ops[old].arg;
    h->ops[v].vallen = h->ops[old].arglen;
}

Test(lincheck, generated_history_is_ok_and_a_corrupt_read_is_not, .timeout = 60)
{
    hist h = gen_history(0x5eed, 8, 260, 200);
    cr_assert_geq(h.n, 2000);
    size_t unknown = 0, errs = 0;
    for (size_t i = 0; i < h.n; i++) {
        unknown += h.ops[i].ret == LC_UNKNOWN;
        errs += h.ops[i].err;
    }
    cr_assert_gt(unknown, 0, "the history has ops of unknown outcome");
    cr_assert_gt(errs, 0, "the history has INCR errors");

    lc_result r = check(h.ops, h.n);
    ASSERT_OK(r);
    cr_assert_geq(r.linearized, h.n - unknown);

    /* A read in the middle sees a value nobody wrote. */
    size_t victim = middle_read(&h);
    lc_op saved = h.ops[victim];
    char want[32];
    snprintf(want, sizeof want, "op %" PRIu64 " GET", saved.id);
    h.ops[victim].val = "never-written";
    h.ops[victim].vallen = strlen("never-written");
    r = check(h.ops, h.n);
    ASSERT_VIOLATION(r);
    cr_assert_not_null(strstr(r.why, want), "why names %s: %s", want, r.why);

    /* It sees a value written before, but overwritten well before it began:
     * only the search can tell. */
    make_stale(&h, victim);
    r = check(h.ops, h.n);
    ASSERT_VIOLATION(r);
    cr_assert_gt(r.steps, 1000, "a search, not a lookup: %" PRIu64 " steps", r.steps);
    cr_assert_not_null(strstr(r.why, want), "why names %s: %s", want, r.why);

    h.ops[victim] = saved;
    ASSERT_OK(check(h.ops, h.n));
    hist_free(&h);
}

Test(lincheck, same_input_same_steps)
{
    hist h = gen_history(77, 6, 100, 60);
    lc_result a = check(h.ops, h.n), b = check(h.ops, h.n);
    ASSERT_OK(a);
    cr_assert_gt(a.steps, 0);
    cr_assert_eq(a.steps, b.steps, "%" PRIu64 " vs %" PRIu64, a.steps, b.steps);

    make_stale(&h, middle_read(&h));
    a = check(h.ops, h.n);
    b = check(h.ops, h.n);
    ASSERT_VIOLATION(a);
    cr_assert_gt(a.steps, 100);
    cr_assert_eq(a.steps, b.steps, "%" PRIu64 " vs %" PRIu64, a.steps, b.steps);
    cr_assert_str_eq(a.why, b.why);
    hist_free(&h);
}

/* ---- against brute force, on small random histories ---- */

typedef struct bstate {
    bool nil;
    size_t len;
    char buf[64];
} bstate;

/* Applies op to st; false when its observed result (if known) disagrees. */
static bool bf_apply(bstate *st, const lc_op *op)
{
    bool known = op->ret != LC_UNKNOWN;
    int64_t v = 0;
    switch (op->kind) {
    case LC_SET:
        if (known && op->err)
            return false;
        st->nil = false;
        st->len = op->arglen;
        memcpy(st->buf, op->arg, op->arglen);
        return true;
    case LC_GET:
        if (!known)
            return true;
        if (op->err || op->nil != st->nil)
            return false;
        return st->nil || (op->vallen == st->len && memcmp(op->val, st->buf, st->len) == 0);
    case LC_INCR: {
        bool ok = (st->nil || lc_parse_i64(st->buf, st->len, &v)) && v != INT64_MAX;
        if (known && (op->err != !ok || (ok && op->ival != v + 1)))
            return false;
        if (ok) {
            st->nil = false;
            st->len = (size_t)snprintf(st->buf, sizeof st->buf, "%" PRId64, v + 1);
        }
        return true;
    }
    case LC_APPEND: {
        size_t len = st->nil ? 0 : st->len;
        if (known && (op->err || op->ival != (int64_t)(len + op->arglen)))
            return false;
        cr_assert_leq(len + op->arglen, sizeof st->buf);
        memcpy(st->buf + len, op->arg, op->arglen);
        st->len = len + op->arglen;
        st->nil = false;
        return true;
    }
    case LC_DEL:
        if (known && (op->err || op->ival != (st->nil ? 0 : 1)))
            return false;
        st->nil = true;
        st->len = 0;
        return true;
    }
    return false;
}

/* Every order of every set of ops that holds the known ones, respecting
 * real time: an op may go next when no op left returned before its call. */
static bool bf_search(const lc_op *ops, size_t n, bool *used, const bstate *st)
{
    bool all = true;
    for (size_t i = 0; i < n; i++)
        all &= used[i] || ops[i].ret == LC_UNKNOWN;
    if (all)
        return true;
    for (size_t i = 0; i < n; i++) {
        if (used[i])
            continue;
        bool blocked = false;
        for (size_t j = 0; j < n && !blocked; j++)
            blocked = !used[j] && ops[j].ret < ops[i].call;
        if (blocked)
            continue;
        bstate next = *st;
        if (!bf_apply(&next, &ops[i]))
            continue;
        used[i] = true;
        bool ok = bf_search(ops, n, used, &next);
        used[i] = false;
        if (ok)
            return true;
    }
    return false;
}

Test(lincheck, agrees_with_brute_force_on_small_histories)
{
    static const char *const vals[] = {"a", "b", "1", "ab", "ba", "2", "aa", "b1"};
    static const char *const toks[] = {"a", "b", "1"};
    kprng r;
    kprng_seed(&r, 2024);
    size_t seen[3] = {0};
    for (int round = 0; round < 4000; round++) {
        size_t n = 1 + kprng_below(&r, 7);
        lc_op ops[8];
        bstate st = {.nil = true};
        /* Half the rounds fill the results from a real execution in call
         * order, then maybe disturb one; the others are random. */
        bool real = kprng_below(&r, 2) == 0;
        int64_t t = 0;
        for (size_t i = 0; i < n; i++) {
            lc_op *op = &ops[i];
            t += (int64_t)kprng_below(&r, 3);
            *op = (lc_op){.id = i + 1, .client = (uint32_t)i, .call = t,
                          .ret = t + (int64_t)kprng_below(&r, 6)};
            if (kprng_below(&r, 6) == 0)
                op->ret = LC_UNKNOWN;
            op->kind = (lc_kind)(1 + kprng_below(&r, 5));
            if (op->kind == LC_SET) {
                op->arg = vals[kprng_below(&r, 6)];
                op->arglen = strlen(op->arg);
            } else if (op->kind == LC_APPEND) {
                op->arg = toks[kprng_below(&r, 3)];
                op->arglen = strlen(op->arg);
            }
            if (real) {
                bstate before = st;
                bf_apply(&st, op); /* unknown: applied, results filled anyway */
                switch (op->kind) {
                case LC_GET:
                    op->nil = before.nil;
                    for (size_t v = 0; !before.nil && v < N(vals); v++)
                        if (strlen(vals[v]) == before.len && memcmp(vals[v], before.buf, before.len) == 0)
                            op->val = vals[v];
                    if (!before.nil && op->val == NULL) {
                        op->kind = LC_DEL; /* a value the table cannot name: read nothing */
                        op->ival = 1;
                        st.nil = true;
                        st.len = 0;
                    }
                    op->vallen = op->val ? strlen(op->val) : 0;
                    break;
                case LC_INCR: {
                    int64_t v = 0;
                    op->err = !((before.nil || lc_parse_i64(before.buf, before.len, &v)) && v != INT64_MAX);
                    op->ival = op->err ? 0 : v + 1;
                    break;
                }
                case LC_APPEND:
                    op->ival = (int64_t)st.len;
                    break;
                case LC_DEL:
                    op->ival = before.nil ? 0 : 1;
                    break;
                default:
                    break;
                }
                if (kprng_below(&r, 4) == 0) { /* disturb a result */
                    op->ival += 1;
                    if (op->kind == LC_GET) {
                        op->nil = false;
                        op->val = vals[kprng_below(&r, N(vals))];
                        op->vallen = strlen(op->val);
                    }
                }
            } else {
                op->err = op->kind == LC_INCR && kprng_below(&r, 3) == 0;
                op->ival = (int64_t)kprng_below(&r, 4);
                op->nil = kprng_below(&r, 3) == 0;
                op->val = op->nil ? NULL : vals[kprng_below(&r, N(vals))];
                op->vallen = op->val ? strlen(op->val) : 0;
            }
        }
        bool used[8] = {false};
        bstate init = {.nil = true};
        bool want = bf_search(ops, n, used, &init);
        lc_result res = check(ops, n);
        cr_assert_neq(res.verdict, LC_GAVE_UP);
        seen[res.verdict]++;
        if ((res.verdict == LC_OK) != want) {
            char dump[2048];
            size_t dl = 0;
            for (size_t i = 0; i < n && dl < sizeof dump - 200; i++)
                dl += (size_t)snprintf(dump + dl, sizeof dump - dl,
                                       "\n  id %" PRIu64 " kind %d [%" PRId64 ", %" PRId64 "] arg '%s' err %d ival %" PRId64 " nil %d val '%s'",
                                       ops[i].id, (int)ops[i].kind, ops[i].call, ops[i].ret,
                                       ops[i].arg ? ops[i].arg : "", ops[i].err, ops[i].ival, ops[i].nil,
                                       ops[i].val ? ops[i].val : "");
            cr_assert_fail("round %d: brute force says %s, lc_check %d (%s)%s", round,
                           want ? "OK" : "VIOLATION", (int)res.verdict, res.why, dump);
        }
    }
    cr_assert_gt(seen[LC_OK], 500, "OK rounds: %zu", seen[LC_OK]);
    cr_assert_gt(seen[LC_VIOLATION], 500, "VIOLATION rounds: %zu", seen[LC_VIOLATION]);
}

/* ---- the budget ---- */

Test(lincheck, exploding_search_gives_up)
{
    /* Sixteen appends of unknown outcome may have landed in any subset and
     * any order; no state matches the read, so the search would try them
     * all. */
    static const char *const toks[] = {"a", "b", "c", "d", "e", "f", "g", "h",
                                        "i", "j", "k", "l", "m", "n", "o", "p"};
    lc_op ops[N(toks) + 1];
    for (size_t i = 0; i < N(toks); i++)
        ops[i] = op_append(i + 1, 0, U, toks[i], 0);
    /* Ends in a token, so a producer exists, but nothing writes the "q". */
    ops[N(toks)] = op_get(99, 100, 101, "qa");
    lc_opts o = {.max_steps = 1000};
    lc_result r;
    lc_check(ops, N(ops), &o, &r);
    cr_assert_eq(r.verdict, LC_GAVE_UP, "verdict %d: %s", (int)r.verdict, r.why);
    cr_assert_eq(r.steps, 1000);
    cr_assert_not_null(strstr(r.why, "gave up"), "%s", r.why);

    /* With four appends the whole space is small and the answer is known. */
    lc_op few[] = {op_append(1, 0, U, "a", 0), op_append(2, 0, U, "b", 0),
                   op_append(3, 0, U, "c", 0), op_append(4, 0, U, "d", 0),
                   op_get(99, 100, 101, "qa")};
    lc_check(few, N(few), &o, &r);
    ASSERT_VIOLATION(r);
    few[4] = op_get(99, 100, 101, "dba");
    lc_check(few, N(few), &o, &r);
    ASSERT_OK(r);
}
