/* appendcheck: an append-only key's history in polynomial time
 * (appendcheck.h has the argument). */
#include "sim/appendcheck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tok {
    const char *p;
    size_t len;
    size_t op; /* index into ops of its APPEND */
} tok;

static int cmp_tok(const void *a, const void *b)
{
    const tok *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, n);
    return c ? c : x->len < y->len ? -1 : x->len > y->len;
}

static void verdict(lc_result *out, lc_verdict v, const char *fmt, ...)
{
    out->verdict = v;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->why, sizeof(out->why), fmt, ap);
    va_end(ap);
}

/* An operation placed on the order: level = appends before it (reads),
 * or its own position (appends, 1-based). */
typedef struct placed {
    size_t op;
    size_t level;
    bool append;
} placed;

static int cmp_placed(const void *a, const void *b)
{
    const placed *x = a, *y = b;
    if (x->level != y->level)
        return x->level < y->level ? -1 : 1;
    /* At one level the append comes first, then the reads that saw it. */
    if (x->append != y->append)
        return x->append ? -1 : 1;
    return x->op < y->op ? -1 : x->op > y->op;
}

static const char *val_of(const lc_op *o, size_t *len)
{
    *len = o->nil ? 0 : o->vallen;
    return o->nil ? "" : o->val;
}

void lc_check_append(const lc_op *ops, size_t n, lc_result *out)
{
    memset(out, 0, sizeof(*out));
    tok *toks = calloc(n ? n : 1, sizeof(*toks));
    size_t ntok = 0, longest = SIZE_MAX;
    placed *pl = NULL;
    size_t *pos = NULL;
    if (toks == NULL)
        abort();
    for (size_t i = 0; i < n; i++) {
        const lc_op *o = &ops[i];
        if (o->kind == LC_APPEND) {
            if (o->arglen == 0 || o->arg[o->arglen - 1] != ',' ||
                memchr(o->arg, ',', o->arglen - 1)) {
                verdict(out, LC_GAVE_UP, "op %llu: not a ','-terminated token",
                        (unsigned long long)o->id);
                goto done;
            }
            toks[ntok++] = (tok){o->arg, o->arglen, i};
        } else if (o->kind == LC_GET) {
            size_t len, best = 0;
            val_of(o, &len);
            if (longest != SIZE_MAX)
                val_of(&ops[longest], &best);
            if (longest == SIZE_MAX || len > best)
                longest = i;
        } else {
            verdict(out, LC_GAVE_UP, "op %llu: not an append-only key", (unsigned long long)o->id);
            goto done;
        }
        if (o->ret != LC_UNKNOWN && (o->err || o->ret < o->call)) {
            verdict(out, LC_VIOLATION, "op %llu: %s", (unsigned long long)o->id,
                    o->err ? "an error reply (appends and reads cannot fail)" : "returned before it was called");
            goto done;
        }
    }
    qsort(toks, ntok, sizeof(*toks), cmp_tok);
    for (size_t i = 1; i < ntok; i++)
        if (!cmp_tok(&toks[i - 1], &toks[i])) {
            verdict(out, LC_GAVE_UP, "token %.*s appended twice", (int)toks[i].len, toks[i].p);
            goto done;
        }

    /* The order: the longest read, then acknowledged appends no read saw,
     * by the length they returned. */
    size_t vlen = 0;
    const char *v = longest == SIZE_MAX ? "" : val_of(&ops[longest], &vlen);
    pos = calloc(n ? n : 1, sizeof(*pos)); /* op -> position, 0: not placed */
    size_t *endoff = calloc(n + 1, sizeof(*endoff)); /* position -> byte end */
    size_t *order = calloc(n + 1, sizeof(*order));   /* position -> op */
    if (!pos || !endoff || !order)
        abort();
    size_t m = 0;
    for (size_t at = 0; at < vlen;) {
        const char *c = memchr(v + at, ',', vlen - at);
        if (c == NULL) {
            verdict(out, LC_VIOLATION, "op %llu read a value that ends inside a token: %.*s",
                    (unsigned long long)ops[longest].id, (int)(vlen - at), v + at);
            goto free_order;
        }
        tok key = {v + at, (size_t)(c - (v + at)) + 1, 0};
        tok *t = bsearch(&key, toks, ntok, sizeof(*toks), cmp_tok);
        if (t == NULL) {
            verdict(out, LC_VIOLATION, "op %llu read %.*s, which nobody appended",
                    (unsigned long long)ops[longest].id, (int)key.len, key.p);
            goto free_order;
        }
        if (pos[t->op]) {
            verdict(out, LC_VIOLATION, "op %llu read %.*s twice: a duplicated append",
                    (unsigned long long)ops[longest].id, (int)key.len, key.p);
            goto free_order;
        }
        pos[t->op] = ++m;
        order[m] = t->op;
        at += key.len;
        endoff[m] = at;
    }
    size_t mread = m;
    /* Acknowledged appends: where their reply says they ended. */
    size_t next = 0;
    size_t *ext = calloc(n ? n : 1, sizeof(*ext));
    if (!ext)
        abort();
    for (size_t i = 0; i < n; i++) {
        const lc_op *o = &ops[i];
        if (o->kind != LC_APPEND || o->ret == LC_UNKNOWN)
            continue;
        uint64_t l = (uint64_t)o->ival;
        if (pos[i]) {
            if (endoff[pos[i]] != l) {
                verdict(out, LC_VIOLATION,
                        "op %llu: APPEND %.*s replied length %lld but a read has it end at %zu",
                        (unsigned long long)o->id, (int)o->arglen, o->arg, (long long)o->ival,
                        endoff[pos[i]]);
                goto free_ext;
            }
        } else if (l <= vlen) {
            verdict(out, LC_VIOLATION,
                    "op %llu: APPEND %.*s was acknowledged (length %lld) but op %llu read %zu "
                    "bytes without it: a lost write",
                    (unsigned long long)o->id, (int)o->arglen, o->arg, (long long)o->ival,
                    (unsigned long long)ops[longest].id, vlen);
            goto free_ext;
        } else {
            ext[next++] = i;
        }
    }
    /* By their lengths, which must all differ. */
    for (size_t i = 1; i < next; i++)
        for (size_t j = i; j > 0 && ops[ext[j - 1]].ival > ops[ext[j]].ival; j--) {
            size_t x = ext[j];
            ext[j] = ext[j - 1];
            ext[j - 1] = x;
        }
    /* Between the longest read and an acknowledged append no read saw,
     * the bytes its reply counts must be tokens of appends of unknown
     * outcome that nothing placed (a subset of their lengths sums to the
     * gap). Their exact order is not searched: past the last read, what
     * the replies say is all there is to check. */
    size_t prev_end = vlen;
    for (size_t i = 0; i < next; i++) {
        const lc_op *o = &ops[ext[i]];
        uint64_t end = (uint64_t)o->ival;
        if (end < prev_end + o->arglen) {
            verdict(out, LC_VIOLATION, "op %llu: APPEND %.*s replied length %lld, too short for "
                    "what came before it", (unsigned long long)o->id, (int)o->arglen, o->arg,
                    (long long)o->ival);
            goto free_ext;
        }
        size_t gap = (size_t)(end - o->arglen - prev_end);
        if (gap) {
            bool *can = calloc(gap + 1, sizeof(bool));
            if (!can)
                abort();
            can[0] = true;
            for (size_t j = 0; j < n && !can[gap]; j++) {
                const lc_op *u = &ops[j];
                if (u->kind != LC_APPEND || u->ret != LC_UNKNOWN || pos[j] || u->call > o->ret)
                    continue;
                for (size_t s2 = gap; s2 >= u->arglen && s2 > 0; s2--)
                    if (can[s2 - u->arglen])
                        can[s2] = true;
            }
            bool fits = can[gap];
            free(can);
            if (!fits) {
                verdict(out, LC_VIOLATION, "op %llu: APPEND %.*s replied length %lld: %zu bytes "
                        "before it that no append could have written",
                        (unsigned long long)o->id, (int)o->arglen, o->arg, (long long)o->ival,
                        gap);
                goto free_ext;
            }
        }
        prev_end = (size_t)end;
    }
    for (size_t i = 0; i < next; i++) {
        if (i && ops[ext[i]].ival == ops[ext[i - 1]].ival) {
            verdict(out, LC_VIOLATION, "ops %llu and %llu: two APPENDs replied length %lld",
                    (unsigned long long)ops[ext[i - 1]].id, (unsigned long long)ops[ext[i]].id,
                    (long long)ops[ext[i]].ival);
            goto free_ext;
        }
        pos[ext[i]] = ++m;
        order[m] = ext[i];
    }

    /* Every read must be a prefix of the order, on a token boundary. */
    pl = calloc(n ? n : 1, sizeof(*pl));
    if (!pl)
        abort();
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        const lc_op *o = &ops[i];
        if (o->kind == LC_APPEND) {
            if (pos[i])
                pl[np++] = (placed){i, pos[i], true};
            continue;
        }
        size_t len;
        const char *r = val_of(o, &len);
        if (!o->nil && len == 0) {
            verdict(out, LC_VIOLATION, "op %llu read an empty string: appends never make one",
                    (unsigned long long)o->id);
            goto free_ext;
        }
        if (len > vlen || memcmp(r, v, len) != 0) {
            verdict(out, LC_VIOLATION,
                    "ops %llu and %llu read values that are not prefixes of one another: the "
                    "appends were reordered or diverged",
                    (unsigned long long)o->id, (unsigned long long)ops[longest].id);
            goto free_ext;
        }
        size_t level = 0;
        while (level < mread && endoff[level + 1] <= len)
            level++;
        if (level ? endoff[level] != len : len != 0) {
            verdict(out, LC_VIOLATION, "op %llu read a value that ends inside a token",
                    (unsigned long long)o->id);
            goto free_ext;
        }
        pl[np++] = (placed){i, level, false};
    }
    qsort(pl, np, sizeof(*pl), cmp_placed);

    /* Earliest-first placement along the order: each operation at the
     * latest of its call and the point before it; a read also no earlier
     * than the append it saw last; an append after every read of the
     * level before it. */
    int64_t t = INT64_MIN, reads_max = INT64_MIN;
    size_t reader = SIZE_MAX; /* the read that set reads_max */
    for (size_t i = 0; i < np; i++) {
        const lc_op *o = &ops[pl[i].op];
        int64_t p;
        if (pl[i].append) {
            p = t > reads_max ? t : reads_max;
            if (o->call > p)
                p = o->call;
            if (p > o->ret && reads_max > t && reads_max > o->call && reader != SIZE_MAX) {
                const lc_op *g = &ops[reader];
                verdict(out, LC_VIOLATION,
                        "op %llu (GET, invoked at %lld) did not see APPEND %.*s (op %llu), which "
                        "returned at %lld: a stale read",
                        (unsigned long long)g->id, (long long)g->call, (int)o->arglen, o->arg,
                        (unsigned long long)o->id, (long long)o->ret);
                goto free_ext;
            }
            t = p;
            reads_max = INT64_MIN;
            reader = SIZE_MAX;
        } else {
            p = t > o->call ? t : o->call;
            if (p > reads_max) {
                reads_max = p;
                reader = pl[i].op;
            }
        }
        if (p > o->ret) {
            const lc_op *prev = pl[i].level ? &ops[order[pl[i].level]] : NULL;
            verdict(out, LC_VIOLATION,
                    "op %llu (%s, returned at %lld) cannot be placed: it must follow %s%llu, "
                    "which could not have happened before %lld (a stale read or an order "
                    "against real time)",
                    (unsigned long long)o->id, pl[i].append ? "APPEND" : "GET",
                    (long long)o->ret, prev ? "APPEND op " : "the start, op ",
                    (unsigned long long)(prev ? prev->id : 0), (long long)p);
            goto free_ext;
        }
        out->linearized++;
    }
    out->verdict = LC_OK;
free_ext:
    free(ext);
free_order:
    free(endoff);
    free(order);
done:
    free(pos);
    free(pl);
    free(toks);
}
