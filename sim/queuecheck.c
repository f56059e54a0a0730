/* queuecheck: a queue key's history, token by token (queuecheck.h has the
 * rules and why they hold). */
#include "sim/queuecheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE SIZE_MAX

/* A push, and where its token went. */
typedef struct qpush {
    size_t op;        /* index into ops */
    size_t popped_by; /* the acknowledged pop that returned it, or NONE */
    size_t final_pos; /* its place in the final list, or NONE */
} qpush;

typedef struct qc {
    const qc_op *ops;
    size_t nops;
    qpush *p;   /* every push, sorted by token */
    size_t np;
    qc_result *out;
} qc;

static void violation(qc_result *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void violation(qc_result *out, const char *fmt, ...)
{
    out->violation = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->why, sizeof(out->why), fmt, ap);
    va_end(ap);
}

static int cmp_bytes(const char *a, size_t al, const char *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c : al < bl ? -1 : al > bl;
}

static const qc_op *sort_ops; /* qsort has no context argument */

static int cmp_push_tok(const void *a, const void *b)
{
    const qc_op *x = &sort_ops[((const qpush *)a)->op], *y = &sort_ops[((const qpush *)b)->op];
    int c = cmp_bytes(x->tok, x->toklen, y->tok, y->toklen);
    return c ? c : x->id < y->id ? -1 : x->id > y->id;
}

/* The push of token t, or NULL. */
static qpush *find(qc *q, const char *t, size_t len)
{
    size_t lo = 0, hi = q->np;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const qc_op *o = &q->ops[q->p[mid].op];
        int c = cmp_bytes(o->tok, o->toklen, t, len);
        if (c == 0)
            return &q->p[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static double secs(int64_t t) { return (double)t / 1e6; }

static const char *pop_name(const qc_op *o) { return o->kind == QC_BPOP ? "BLPOP" : "LPOP"; }

#define ID(o) ((unsigned long long)(o)->id)
#define TOK(o) (int)(o)->toklen, (o)->tok

/* 1 and 2 for a token an acknowledged pop (op index i) returned. */
static bool pop_seen(qc *q, size_t i)
{
    const qc_op *o = &q->ops[i];
    qpush *p = find(q, o->tok, o->toklen);
    if (p == NULL) {
        violation(q->out, "op %llu (%s) returned token %.*s, which nobody pushed", ID(o),
                  pop_name(o), TOK(o));
        return false;
    }
    const qc_op *push = &q->ops[p->op];
    if (push->state == QC_FAILED) {
        violation(q->out,
                  "op %llu (%s) returned token %.*s, but its RPUSH (op %llu) failed and had no "
                  "effect",
                  ID(o), pop_name(o), TOK(o), ID(push));
        return false;
    }
    if (p->popped_by != NONE) {
        violation(q->out, "token %.*s popped twice (ops %llu and %llu)", TOK(o),
                  ID(&q->ops[p->popped_by]), ID(o));
        return false;
    }
    if (o->ret < push->call) {
        violation(q->out,
                  "op %llu (%s) returned token %.*s at %.6fs, before its RPUSH (op %llu) was "
                  "invoked at %.6fs",
                  ID(o), pop_name(o), TOK(o), secs(o->ret), ID(push), secs(push->call));
        return false;
    }
    p->popped_by = i;
    return true;
}

/* 1 and 2 for the final list's element at pos. */
static bool final_seen(qc *q, const qc_tok *t, size_t pos)
{
    qpush *p = find(q, t->p, t->len);
    if (p == NULL) {
        violation(q->out, "token %.*s is in the final list (at %zu), but nobody pushed it",
                  (int)t->len, t->p, pos);
        return false;
    }
    const qc_op *push = &q->ops[p->op];
    if (push->state == QC_FAILED) {
        violation(q->out,
                  "token %.*s is in the final list (at %zu), but its RPUSH (op %llu) failed and "
                  "had no effect",
                  (int)t->len, t->p, pos, ID(push));
        return false;
    }
    if (p->final_pos != NONE) {
        violation(q->out, "token %.*s is twice in the final list (at %zu and %zu): a duplicated push",
                  (int)t->len, t->p, p->final_pos, pos);
        return false;
    }
    if (p->popped_by != NONE) {
        violation(q->out,
                  "token %.*s was popped (op %llu) and is still in the final list (at %zu): popped "
                  "twice, or pushed twice",
                  (int)t->len, t->p, ID(&q->ops[p->popped_by]), pos);
        return false;
    }
    p->final_pos = pos;
    return true;
}

/* The acknowledged pushes by return time, with running maxima over each
 * prefix: the answers to "among the pushes that returned before time t". */
typedef struct prefix {
    const qpush *p; /* the push */
    int64_t ret;
    /* Over this entry and every one before it: */
    int64_t gone_max;  /* the latest time its token can have left the queue:
                          INT64_MAX if it remains, its pop's call if an
                          acknowledged pop took it, else INT64_MIN */
    size_t gone_arg;   /* which entry gave gone_max */
    int64_t pop_call_max; /* the latest call of an acknowledged pop of one */
    size_t pop_arg;
    size_t final_max;  /* the latest place in the final list of one (NONE: none) */
    size_t final_arg;
} prefix;

static int cmp_prefix(const void *a, const void *b)
{
    const prefix *x = a, *y = b;
    if (x->ret != y->ret)
        return x->ret < y->ret ? -1 : 1;
    return x->p->op < y->p->op ? -1 : x->p->op > y->p->op;
}

/* How many entries returned strictly before t. */
static size_t before(const prefix *pf, size_t n, int64_t t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pf[mid].ret < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* 4 and 5. */
static void order(qc *q, bool final_known)
{
    const qc_op *ops = q->ops;
    prefix *pf = calloc(q->np ? q->np : 1, sizeof(*pf));
    if (pf == NULL)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < q->np; i++)
        if (ops[q->p[i].op].state == QC_OK)
            pf[n++] = (prefix){.p = &q->p[i], .ret = ops[q->p[i].op].ret};
    qsort(pf, n, sizeof(*pf), cmp_prefix);
    for (size_t i = 0; i < n; i++) {
        const qpush *p = pf[i].p;
        int64_t gone = p->final_pos != NONE      ? INT64_MAX
                       : p->popped_by != NONE    ? ops[p->popped_by].call
                                                 : INT64_MIN;
        int64_t pc = p->popped_by != NONE ? ops[p->popped_by].call : INT64_MIN;
        pf[i].gone_max = gone;
        pf[i].gone_arg = i;
        pf[i].pop_call_max = pc;
        pf[i].pop_arg = i;
        pf[i].final_max = p->final_pos;
        pf[i].final_arg = i;
        if (i == 0)
            continue;
        const prefix *b = &pf[i - 1];
        if (b->gone_max >= gone) {
            pf[i].gone_max = b->gone_max;
            pf[i].gone_arg = b->gone_arg;
        }
        if (b->pop_call_max >= pc) {
            pf[i].pop_call_max = b->pop_call_max;
            pf[i].pop_arg = b->pop_arg;
        }
        if (b->final_max != NONE && (p->final_pos == NONE || b->final_max > p->final_pos)) {
            pf[i].final_max = b->final_max;
            pf[i].final_arg = b->final_arg;
        }
    }
    /* 4: for each acknowledged push B, the pushes that returned before it
     * was invoked are ahead of it. */
    for (size_t i = 0; i < n && !q->out->violation; i++) {
        const qpush *pb = pf[i].p;
        const qc_op *b = &ops[pb->op];
        size_t k = before(pf, n, b->call);
        if (k == 0)
            continue;
        const prefix *e = &pf[k - 1];
        if (pb->popped_by != NONE) {
            const qc_op *qb = &ops[pb->popped_by];
            const qpush *pa = pf[e->gone_arg].p;
            if (final_known && e->gone_max == INT64_MAX) {
                violation(q->out,
                          "token %.*s (op %llu) was popped (op %llu) while token %.*s, pushed "
                          "before it (op %llu returned before op %llu was invoked), stayed: it is "
                          "still in the final list (FIFO broken)",
                          TOK(b), ID(b), ID(qb), TOK(&ops[pa->op]), ID(&ops[pa->op]), ID(b));
                break;
            }
            if (e->pop_call_max > qb->ret) {
                pa = pf[e->pop_arg].p;
                const qc_op *qa = &ops[pa->popped_by];
                violation(q->out,
                          "token %.*s (op %llu) was popped (op %llu, returned at %.6fs) before "
                          "token %.*s, pushed before it (op %llu), was popped (op %llu, invoked "
                          "at %.6fs): FIFO broken",
                          TOK(b), ID(b), ID(qb), secs(qb->ret), TOK(&ops[pa->op]),
                          ID(&ops[pa->op]), ID(qa), secs(qa->call));
                break;
            }
        }
        if (final_known && pb->final_pos != NONE && e->final_max != NONE &&
            e->final_max > pb->final_pos) {
            const qpush *pa = pf[e->final_arg].p;
            violation(q->out,
                      "the final list has token %.*s (at %zu) after token %.*s (at %zu), though "
                      "its RPUSH (op %llu) returned before the other's (op %llu) was invoked "
                      "(FIFO broken)",
                      TOK(&ops[pa->op]), pa->final_pos, TOK(b), pb->final_pos, ID(&ops[pa->op]),
                      ID(b));
            break;
        }
    }
    /* 5: a pop that found the queue empty while an acknowledged token was
     * in it from before its call until after its return. */
    for (size_t i = 0; i < q->nops && !q->out->violation; i++) {
        const qc_op *o = &ops[i];
        if (o->kind == QC_PUSH || o->state != QC_OK || o->tok != NULL)
            continue;
        size_t k = before(pf, n, o->call);
        if (k == 0 || pf[k - 1].gone_max <= o->ret)
            continue;
        const qpush *pa = pf[pf[k - 1].gone_arg].p;
        const qc_op *a = &ops[pa->op];
        if (pa->final_pos != NONE)
            violation(q->out,
                      "op %llu (%s, %.6fs..%.6fs) found the queue empty, but token %.*s, "
                      "acknowledged pushed (op %llu) at %.6fs, is still in the final list: a stale "
                      "empty read",
                      ID(o), pop_name(o), secs(o->call), secs(o->ret), TOK(a), ID(a),
                      secs(a->ret));
        else
            violation(q->out,
                      "op %llu (%s, %.6fs..%.6fs) found the queue empty, but token %.*s, "
                      "acknowledged pushed (op %llu) at %.6fs, was in it until op %llu popped it, "
                      "invoked at %.6fs: a stale empty read",
                      ID(o), pop_name(o), secs(o->call), secs(o->ret), TOK(a), ID(a),
                      secs(a->ret), ID(&ops[pa->popped_by]), secs(ops[pa->popped_by].call));
    }
    free(pf);
}

void qc_check(const qc_op *ops, size_t n, const qc_tok *final, size_t nfinal, bool final_known,
              qc_result *out)
{
    memset(out, 0, sizeof(*out));
    qc q = {.ops = ops, .nops = n, .out = out};
    q.p = calloc(n ? n : 1, sizeof(*q.p));
    if (q.p == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        const qc_op *o = &ops[i];
        if (o->kind == QC_PUSH) {
            q.p[q.np++] = (qpush){.op = i, .popped_by = NONE, .final_pos = NONE};
            out->pushes += o->state == QC_OK;
        } else if (o->state == QC_UNKNOWN) {
            out->unknown_pops++;
        }
    }
    sort_ops = ops;
    qsort(q.p, q.np, sizeof(*q.p), cmp_push_tok);
    sort_ops = NULL;
    for (size_t i = 1; i < q.np; i++) {
        const qc_op *a = &ops[q.p[i - 1].op], *b = &ops[q.p[i].op];
        if (!cmp_bytes(a->tok, a->toklen, b->tok, b->toklen)) {
            violation(out, "token %.*s pushed twice (ops %llu and %llu): tokens must be unique",
                      TOK(b), ID(a), ID(b));
            goto done;
        }
    }
    /* 1, 2: what the pops returned, then the final list. */
    for (size_t i = 0; i < n; i++) {
        const qc_op *o = &ops[i];
        if (o->kind == QC_PUSH || o->state != QC_OK)
            continue;
        if (o->tok == NULL) {
            out->empty++;
            continue;
        }
        out->pops++;
        if (!pop_seen(&q, i))
            goto done;
    }
    if (final_known) {
        out->remaining = nfinal;
        for (size_t i = 0; i < nfinal; i++)
            if (!final_seen(&q, &final[i], i))
                goto done;
        /* 3: acknowledged tokens that are nowhere. */
        const qc_op *first = NULL;
        for (size_t i = 0; i < q.np; i++) {
            const qpush *p = &q.p[i];
            const qc_op *o = &ops[p->op];
            if (o->state != QC_OK || p->popped_by != NONE || p->final_pos != NONE)
                continue;
            out->unaccounted++;
            if (first == NULL || o->id < first->id)
                first = o;
        }
        if (out->unaccounted > out->unknown_pops) {
            if (out->unknown_pops == 0)
                violation(out,
                          "token %.*s acknowledged pushed (op %llu) but neither popped nor in the "
                          "final list: a lost push (%zu such tokens, no pop of unknown outcome)",
                          TOK(first), ID(first), out->unaccounted);
            else
                violation(out,
                          "token %.*s acknowledged pushed (op %llu) but neither popped nor in the "
                          "final list: a lost push (%zu such tokens, only %zu pops of unknown "
                          "outcome to have taken them)",
                          TOK(first), ID(first), out->unaccounted, out->unknown_pops);
            goto done;
        }
    }
    order(&q, final_known);
done:
    free(q.p);
}
