/* lincheck: Wing & Gong's linearizability search with Lowe's memoisation,
 * for one Redis string key. The contract and the outline are in
 * lincheck.h; the search and its prunings are described at search(). What
 * follows are the representation choices.
 *
 * Events. Each op kept has a call and a return event; events are sorted by
 * (time, calls before returns, op order) and linked in a doubly linked list
 * by index. Linearizing an op lifts both its events out of the list;
 * backtracking puts them back in reverse order (dancing links), so the
 * list is restored exactly.
 *
 * States. Every model state met is interned once and named by a uint32 id
 * (0 is nil): a state made by APPEND is stored as its parent state plus a
 * pointer to the op's token, a state made by SET points at the op's value,
 * so a long appended string costs a few words per state rather than a copy.
 * The current state is also kept materialised in `cur`, which the model
 * reads; XXH3 of the bytes finds a state's twin however it was built.
 *
 * Cache. A configuration is the set of linearized ops plus the state id.
 * Ops with a known return get bits in call order: the search cannot pass
 * the return of the first op not yet linearized, so their set is a run of
 * ones, a short window, then zeros, and is stored as the count of all-ones
 * words and the window. Ops of unknown outcome have their own bitset,
 * encoded the same way, and compared as a subset (cache_add()). Keys live
 * in one arena of words. */
#include "sim/lincheck.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/util/kbuf.h"

#define NONE UINT32_MAX
#define NIL_STATE 0u
#define EMPTY_SLOT UINT32_MAX

/* ---- allocation: running out of memory aborts, as in kbuf ---- */

static void *xrealloc(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        abort();
    size_t bytes = n * size;
    p = realloc(p, bytes ? bytes : 1);
    if (p == NULL)
        abort();
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p == NULL)
        abort();
    return p;
}

/* ---- the checker's working set ---- */

typedef struct xop {
    const lc_op *op;
    bool known;        /* ret != LC_UNKNOWN */
    bool ro;           /* known to have changed nothing: GET, INCR -> ERR, DEL -> 0 */
    bool blind;        /* sets the state whatever it was: SET, or DEL of unknown outcome */
    uint32_t twin;     /* unknown: the one called before it with the same kind and
                          arg, or NONE */
    uint32_t rd;       /* its index in ctx.rds, or NONE */
    uint32_t bit;      /* index in kbits (known) or ubits (unknown) */
    uint32_t ret_ev;   /* its return event in the sorted order */
    uint64_t arg_hash; /* XXH3 of arg: a SET's state, or an APPEND on nil */
} xop;

typedef struct ev {
    int64_t t;
    uint32_t op; /* index in ctx.x */
    bool call;
} ev;

typedef struct lstate {
    uint64_t hash; /* XXH3 of the bytes (nil: 0, never looked up) */
    size_t len;    /* length of the whole string */
    uint32_t parent; /* the state this one extends, or NONE */
    bool nil;
    bool owned;      /* tail lives in ctx.owned (INCR's digits) */
    const char *tail; /* the bytes after the parent's */
    size_t tail_off;  /* when owned */
    size_t tail_len;
} lstate;

/* A GET whose value only a few ops can produce (see find_producers). */
typedef struct reader {
    uint32_t op;
    uint32_t need;       /* producers not linearized */
    uint32_t prev, next; /* in ctx.orphans while need == 0 and not linearized */
    bool listed, lin;
    uint64_t hash;       /* of the value */
} reader;

/* A cache bucket: one set of known ops and one state. */
typedef struct centry {
    uint64_t h;
    uint32_t koff;  /* the known ops' segment in ctx.keys; EMPTY_SLOT when free */
    uint32_t state;
    uint32_t usets; /* the sets of unknown ops seen with it: a list in
                       ctx.usets, NONE-terminated */
} centry;

typedef struct uset {
    uint32_t off; /* the segment in ctx.keys */
    uint32_t next;
} uset;

typedef struct frame {
    uint32_t ev;    /* the call event lifted */
    uint32_t state; /* the state before it */
    uint32_t anchor; /* unknown op: the state before the run of unknown ops
                        it ends */
    bool forced;    /* the only choice tried from the configuration below */
} frame;

typedef struct ctx {
    xop *x;
    size_t n, nknown, nunknown;
    ev *evs; /* 2n sorted events; the list's sentinel is index 2n */
    uint32_t *prev, *next;

    uint64_t *kbits, *ubits;
    size_t kwords, uwords;

    lstate *st;
    size_t nst, stcap;
    uint32_t *stab; /* intern table: state id + 1, 0 free */
    size_t stab_mask;
    kbuf owned;

    kbuf cur; /* the current state's bytes */
    uint32_t cur_id;

    centry *cache;
    size_t cache_mask, cache_count;
    uint64_t *keys;
    size_t keys_len, keys_cap;
    uset *usets;
    size_t nusets, usets_cap;

    reader *rds;
    size_t nrds;
    uint32_t *prod_start; /* by op: prod[prod_start[i]..prod_start[i+1]) are */
    uint32_t *prod;       /* the readers whose value it may produce */
    uint32_t orphans;     /* list of readers no op left can satisfy */

    frame *stk;
    size_t depth;
    size_t known_done; /* ops with a known return on the stack */
    uint64_t steps, max_steps;
    uint32_t *best; /* op indices of the longest prefix found */
    size_t best_len, best_dirty;
    uint32_t best_state;
} ctx;

/* ---- integers, Redis's way ---- */

bool lc_parse_i64(const char *s, size_t len, int64_t *v)
{
    /* string2ll: 20 characters hold "-9223372036854775808". */
    if (len == 0 || len > 20)
        return false;
    if (len == 1 && s[0] == '0') {
        *v = 0;
        return true;
    }
    size_t i = 0;
    bool neg = false;
    if (s[0] == '-') {
        neg = true;
        if (++i == len)
            return false;
    }
    if (s[i] < '1' || s[i] > '9') /* no "+1", " 1", "01", "-0" */
        return false;
    uint64_t u = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (u > (UINT64_MAX - d) / 10)
            return false;
        u = u * 10 + d;
    }
    if (neg) {
        if (u > (uint64_t)INT64_MAX + 1)
            return false;
        *v = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
    } else {
        if (u > (uint64_t)INT64_MAX)
            return false;
        *v = (int64_t)u;
    }
    return true;
}

static size_t fmt_i64(int64_t v, char *buf, size_t cap)
{
    int r = snprintf(buf, cap, "%" PRId64, v);
    return r > 0 ? (size_t)r : 0;
}

/* ---- states ---- */

static const char *tail_of(const ctx *c, const lstate *s)
{
    return s->owned ? c->owned.data + s->tail_off : s->tail;
}

static bool state_equals(const ctx *c, uint32_t id, const char *bytes, size_t len)
{
    if (c->st[id].nil || c->st[id].len != len)
        return false;
    size_t pos = len;
    for (uint32_t t = id; t != NONE; t = c->st[t].parent) {
        const lstate *s = &c->st[t];
        pos -= s->tail_len;
        if (s->tail_len && memcmp(bytes + pos, tail_of(c, s), s->tail_len) != 0)
            return false;
    }
    return true;
}

static void stab_grow(ctx *c)
{
    size_t cap = (c->stab_mask + 1) * 2;
    uint32_t *t = xcalloc(cap, sizeof *t);
    for (size_t i = 0; i <= c->stab_mask; i++) {
        if (c->stab[i] == 0)
            continue;
        size_t j = c->st[c->stab[i] - 1].hash & (cap - 1);
        while (t[j])
            j = (j + 1) & (cap - 1);
        t[j] = c->stab[i];
    }
    free(c->stab);
    c->stab = t;
    c->stab_mask = cap - 1;
}

/* The id of the state whose bytes are bytes[0..len) (hash h), made if new
 * as `parent` + tail (owned: copied into c->owned). bytes may be c->cur. */
static uint32_t intern(ctx *c, const char *bytes, size_t len, uint64_t h, uint32_t parent,
                       const char *tail, size_t tail_len, bool owned)
{
    size_t i = h & c->stab_mask;
    while (c->stab[i]) {
        uint32_t id = c->stab[i] - 1;
        if (c->st[id].hash == h && state_equals(c, id, bytes, len))
            return id;
        i = (i + 1) & c->stab_mask;
    }
    if (c->nst == c->stcap) {
        c->stcap *= 2;
        c->st = xrealloc(c->st, c->stcap, sizeof *c->st);
    }
    if (c->nst >= NONE - 1)
        abort(); /* four billion states: the budget is beyond reason */
    uint32_t id = (uint32_t)c->nst++;
    lstate *s = &c->st[id];
    *s = (lstate){.hash = h, .len = len, .parent = parent, .tail = tail, .tail_len = tail_len};
    if (owned) {
        s->owned = true;
        s->tail = NULL;
        s->tail_off = c->owned.len;
        kbuf_append(&c->owned, tail, tail_len);
    }
    c->stab[i] = id + 1;
    if (c->nst * 2 > c->stab_mask + 1)
        stab_grow(c);
    return id;
}

/* Writes state id's bytes into cur. */
static void materialize(ctx *c, uint32_t id)
{
    const lstate *s = &c->st[id];
    kbuf_clear(&c->cur);
    if (s->nil)
        return;
    char *dst = kbuf_reserve(&c->cur, s->len + 1);
    size_t pos = s->len;
    for (uint32_t t = id; t != NONE; t = c->st[t].parent) {
        const lstate *p = &c->st[t];
        pos -= p->tail_len;
        if (p->tail_len)
            memcpy(dst + pos, tail_of(c, p), p->tail_len);
    }
    c->cur.len = s->len;
}

/* ---- the model ---- */

/* Whether op can take effect in the current state with the result it
 * observed (any result, when unknown); the state after it in *to. cur is
 * left holding the current state (APPEND writes the candidate bytes past
 * cur.len, which commit() then keeps). */
static bool apply(ctx *c, const xop *x, uint32_t *to)
{
    const lc_op *op = x->op;
    bool nil = c->st[c->cur_id].nil;
    size_t len = c->cur.len;
    switch (op->kind) {
    case LC_SET:
        if (x->known && op->err)
            return false;
        *to = intern(c, op->arg, op->arglen, x->arg_hash, NONE, op->arg, op->arglen, false);
        return true;
    case LC_GET:
        if (x->known) {
            if (op->err || op->nil != nil)
                return false;
            if (!nil && (op->vallen != len || (len && memcmp(op->val, c->cur.data, len) != 0)))
                return false;
        }
        *to = c->cur_id;
        return true;
    case LC_INCR: {
        int64_t v = 0;
        bool ok = nil || lc_parse_i64(c->cur.data, len, &v);
        ok = ok && v != INT64_MAX; /* "increment or decrement would overflow" */
        if (x->known && (op->err == ok || (ok && op->ival != v + 1)))
            return false;
        if (!ok) {
            *to = c->cur_id; /* the error leaves the value alone */
            return true;
        }
        char d[24];
        size_t dl = fmt_i64(v + 1, d, sizeof d);
        *to = intern(c, d, dl, XXH3_64bits(d, dl), NONE, d, dl, true);
        return true;
    }
    case LC_APPEND: {
        if (x->known && (op->err || op->ival < 0 || (uint64_t)op->ival != len + op->arglen))
            return false;
        if (nil) {
            *to = intern(c, op->arg, op->arglen, x->arg_hash, NONE, op->arg, op->arglen, false);
            return true;
        }
        char *p = kbuf_reserve(&c->cur, op->arglen + 1);
        if (op->arglen)
            memcpy(p, op->arg, op->arglen);
        size_t nl = len + op->arglen;
        *to = intern(c, c->cur.data, nl, XXH3_64bits(c->cur.data, nl), c->cur_id, op->arg,
                     op->arglen, false);
        return true;
    }
    case LC_DEL:
        if (x->known && (op->err || op->ival != (nil ? 0 : 1)))
            return false;
        *to = NIL_STATE;
        return true;
    }
    return false;
}

/* Makes `to`, the state apply() gave for op, current. */
static void commit(ctx *c, const xop *x, uint32_t to)
{
    if (to == c->cur_id)
        return;
    if (x->op->kind == LC_APPEND && !c->st[c->cur_id].nil)
        c->cur.len += x->op->arglen; /* apply() left the bytes there */
    else
        materialize(c, to);
    c->cur_id = to;
}

/* ---- the cache ---- */

static size_t put_segment(uint64_t *dst, const uint64_t *w, size_t nw)
{
    size_t lead = 0, end = nw;
    while (lead < nw && w[lead] == UINT64_MAX)
        lead++;
    while (end > lead && w[end - 1] == 0)
        end--;
    dst[0] = (uint64_t)lead << 32 | (end - lead);
    if (end > lead)
        memcpy(dst + 1, w + lead, (end - lead) * sizeof *w);
    return 1 + end - lead;
}

static size_t seg_len(const uint64_t *seg) { return 1 + (seg[0] & UINT32_MAX); }

/* Word i of the bitset a segment encodes. */
static uint64_t seg_word(const uint64_t *seg, size_t i)
{
    size_t lead = seg[0] >> 32, m = seg[0] & UINT32_MAX;
    if (i < lead)
        return UINT64_MAX;
    return i < lead + m ? seg[1 + i - lead] : 0;
}

/* Whether the set a encodes is a subset of the set b encodes. */
static bool seg_subset(const uint64_t *a, const uint64_t *b)
{
    size_t end = (a[0] >> 32) + (a[0] & UINT32_MAX);
    for (size_t i = 0; i < end; i++)
        if (seg_word(a, i) & ~seg_word(b, i))
            return false;
    return true;
}

static void cache_grow(ctx *c)
{
    size_t cap = (c->cache_mask + 1) * 2;
    centry *t = xrealloc(NULL, cap, sizeof *t);
    for (size_t i = 0; i < cap; i++)
        t[i].koff = EMPTY_SLOT;
    for (size_t i = 0; i <= c->cache_mask; i++) {
        if (c->cache[i].koff == EMPTY_SLOT)
            continue;
        size_t j = c->cache[i].h & (cap - 1);
        while (t[j].koff != EMPTY_SLOT)
            j = (j + 1) & (cap - 1);
        t[j] = c->cache[i];
    }
    free(c->cache);
    c->cache = t;
    c->cache_mask = cap - 1;
}

static uint32_t keep_words(ctx *c, size_t n)
{
    if (c->keys_len > UINT32_MAX - 1 - n)
        abort(); /* 32 GiB of keys: the budget is beyond reason */
    uint32_t off = (uint32_t)c->keys_len;
    c->keys_len += n;
    return off;
}

static uint32_t new_uset(ctx *c, uint32_t off, uint32_t next)
{
    if (c->nusets == c->usets_cap) {
        c->usets_cap = c->usets_cap ? c->usets_cap * 2 : 256;
        c->usets = xrealloc(c->usets, c->usets_cap, sizeof *c->usets);
    }
    if (c->nusets >= NONE)
        abort();
    c->usets[c->nusets] = (uset){off, next};
    return (uint32_t)c->nusets++;
}

/* Records the configuration (linearized ops, state) the search is about
 * to enter; false when one seen before covers it: the same known ops
 * linearized, the same state, and a subset of the unknown ones. Anything
 * the new configuration could still do, the old one could (an op of
 * unknown outcome never has to be linearized, and never holds others
 * back), so if a linearization existed from here the search finds one from
 * there, or has found it already. With no unknown ops this is the plain
 * cache of Lowe's algorithm. A bucket holds one set of known ops and one
 * state, with the sets of unknown ops met with them; a set that a new one
 * covers leaves the list. */
static bool cache_add(ctx *c, uint32_t state)
{
    size_t need = c->kwords + c->uwords + 2;
    if (c->keys_cap - c->keys_len < need) {
        while (c->keys_cap - c->keys_len < need)
            c->keys_cap *= 2;
        c->keys = xrealloc(c->keys, c->keys_cap, sizeof *c->keys);
    }
    if ((c->cache_count + 1) * 2 > c->cache_mask + 1)
        cache_grow(c); /* now, so that the slot found below stays put */

    /* Segments are built where they would be kept, and kept by moving
     * keys_len. */
    uint64_t *k = c->keys + c->keys_len;
    size_t kl = put_segment(k, c->kbits, c->kwords);
    uint64_t h = XXH3_64bits_withSeed(k, kl * sizeof *k, state);
    size_t i = h & c->cache_mask;
    for (; c->cache[i].koff != EMPTY_SLOT; i = (i + 1) & c->cache_mask) {
        const centry *e = &c->cache[i];
        const uint64_t *o = c->keys + e->koff;
        if (e->h == h && e->state == state && seg_len(o) == kl && memcmp(o, k, kl * sizeof *k) == 0)
            break;
    }
    centry *b = &c->cache[i];
    bool fresh = b->koff == EMPTY_SLOT;
    if (fresh) {
        *b = (centry){.h = h, .koff = keep_words(c, kl), .state = state, .usets = NONE};
        c->cache_count++;
    }
    if (c->nunknown == 0)
        return fresh;

    uint64_t *u = c->keys + c->keys_len;
    size_t ul = put_segment(u, c->ubits, c->uwords);
    uint32_t *link = &b->usets;
    while (*link != NONE) {
        uset *o = &c->usets[*link];
        const uint64_t *os = c->keys + o->off;
        if (seg_subset(os, u))
            return false;
        if (seg_subset(u, os))
            *link = o->next; /* covered by the new one from now on */
        else
            link = &o->next;
    }
    uint32_t off = keep_words(c, ul);
    b->usets = new_uset(c, off, b->usets);
    return true;
}

/* ---- the event list ---- */

static void lift(ctx *c, uint32_t e)
{
    uint32_t r = c->x[c->evs[e].op].ret_ev;
    c->next[c->prev[e]] = c->next[e];
    c->prev[c->next[e]] = c->prev[e];
    c->next[c->prev[r]] = c->next[r];
    c->prev[c->next[r]] = c->prev[r];
}

static void unlift(ctx *c, uint32_t e)
{
    uint32_t r = c->x[c->evs[e].op].ret_ev;
    c->prev[c->next[r]] = r;
    c->next[c->prev[r]] = r;
    c->prev[c->next[e]] = e;
    c->next[c->prev[e]] = e;
}

static void flip_bit(ctx *c, const xop *x)
{
    uint64_t *w = x->known ? c->kbits : c->ubits;
    w[x->bit / 64] ^= 1ULL << (x->bit % 64);
}

static int ev_cmp(const void *pa, const void *pb)
{
    const ev *a = pa, *b = pb;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    if (a->call != b->call)
        return a->call ? -1 : 1; /* equal times overlap: calls first */
    return a->op < b->op ? -1 : a->op > b->op ? 1 : 0;
}

/* ---- reads that can no longer be satisfied ----
 *
 * A GET that returned v must be linearized where the state is v. Once the
 * state is something else, it can only become v again through an op not
 * yet linearized that can write v: a SET of v, an APPEND of a suffix of v,
 * an INCR (v an integer), a DEL (v nil), called before the GET returned.
 * When none is left, the configuration is dead, however far its end. This
 * cuts the worlds where an op of unknown outcome stood in for another, or
 * where a write went in the wrong order, as soon as the write a read saw is
 * used up, rather than at the read's return. Each GET counts the producers
 * not yet linearized; those at zero are in a list that the search checks. */

static void orphan_add(ctx *c, uint32_t r)
{
    reader *d = &c->rds[r];
    d->listed = true;
    d->prev = NONE;
    d->next = c->orphans;
    if (c->orphans != NONE)
        c->rds[c->orphans].prev = r;
    c->orphans = r;
}

static void orphan_del(ctx *c, uint32_t r)
{
    reader *d = &c->rds[r];
    d->listed = false;
    if (d->prev != NONE)
        c->rds[d->prev].next = d->next;
    else
        c->orphans = d->next;
    if (d->next != NONE)
        c->rds[d->next].prev = d->prev;
}

/* Whether a GET left can no longer see its value. */
static bool stranded(const ctx *c)
{
    const lstate *s = &c->st[c->cur_id];
    for (uint32_t r = c->orphans; r != NONE; r = c->rds[r].next) {
        const lc_op *op = c->x[c->rds[r].op].op;
        if (op->nil ? !s->nil
                    : s->nil || s->len != op->vallen || s->hash != c->rds[r].hash ||
                          (s->len && memcmp(c->cur.data, op->val, s->len) != 0))
            return true;
    }
    return false;
}

typedef struct hkey {
    uint64_t h;
    uint32_t i;
} hkey;

static int hkey_cmp(const void *pa, const void *pb)
{
    const hkey *a = pa, *b = pb;
    if (a->h != b->h)
        return a->h < b->h ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* The first of the n keys with hash h, or n. */
static size_t hkey_find(const hkey *k, size_t n, uint64_t h)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k[mid].h < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

typedef struct pairs {
    uint32_t *v; /* producer, reader, producer, reader, ... */
    size_t n, cap;
} pairs;

static void pairs_add(pairs *p, uint32_t producer, uint32_t rd)
{
    if (p->n + 2 > p->cap) {
        p->cap = p->cap ? p->cap * 2 : 256;
        p->v = xrealloc(p->v, p->cap, sizeof *p->v);
    }
    p->v[p->n++] = producer;
    p->v[p->n++] = rd;
}

/* Finds the GETs to watch and, for each op, the GETs whose value it may
 * write. GETs of an integer are left out when the history has an INCR, and
 * GETs of nil when it has a DEL: nearly every such op could produce them. */
static void find_producers(ctx *c)
{
    bool any_incr = false, any_del = false;
    size_t nappend = 0;
    for (size_t i = 0; i < c->n; i++) {
        lc_kind k = c->x[i].op->kind;
        any_incr |= k == LC_INCR;
        any_del |= k == LC_DEL;
        nappend += k == LC_APPEND && c->x[i].op->arglen > 0;
    }
    c->rds = xcalloc(c->n, sizeof *c->rds);
    hkey *byval = xcalloc(c->n, sizeof *byval);
    for (uint32_t i = 0; i < c->n; i++) {
        const lc_op *op = c->x[i].op;
        int64_t v;
        if (!c->x[i].known || op->kind != LC_GET || op->err)
            continue;
        if (op->nil ? any_del : any_incr && lc_parse_i64(op->val, op->vallen, &v))
            continue;
        uint64_t h = op->nil ? 0 : XXH3_64bits(op->val, op->vallen);
        c->rds[c->nrds] = (reader){.op = i, .prev = NONE, .next = NONE, .hash = h};
        byval[c->nrds] = (hkey){h, (uint32_t)c->nrds};
        c->x[i].rd = (uint32_t)c->nrds++;
    }
    qsort(byval, c->nrds, sizeof *byval, hkey_cmp);

    pairs pp = {0};
    /* SET v, and APPEND "" (on nil), write exactly their arg. */
    for (uint32_t i = 0; i < c->n; i++) {
        const lc_op *p = c->x[i].op;
        if (p->kind != LC_SET && !(p->kind == LC_APPEND && p->arglen == 0))
            continue;
        for (size_t j = hkey_find(byval, c->nrds, c->x[i].arg_hash);
             j < c->nrds && byval[j].h == c->x[i].arg_hash; j++) {
            const lc_op *g = c->x[c->rds[byval[j].i].op].op;
            if (!g->nil && g->vallen == p->arglen && p->call <= g->ret &&
                (p->arglen == 0 || memcmp(g->val, p->arg, p->arglen) == 0))
                pairs_add(&pp, i, byval[j].i);
        }
    }
    /* APPEND t writes values that end with t: each GET looks up the
     * suffixes of its value as long as some token. */
    if (nappend > 0) {
        hkey *bytok = xcalloc(nappend, sizeof *bytok);
        size_t *lens = xcalloc(nappend, sizeof *lens);
        size_t nt = 0, nl = 0;
        for (uint32_t i = 0; i < c->n; i++) {
            const lc_op *p = c->x[i].op;
            if (p->kind != LC_APPEND || p->arglen == 0)
                continue;
            bytok[nt++] = (hkey){c->x[i].arg_hash, i};
            size_t l = 0;
            while (l < nl && lens[l] != p->arglen)
                l++;
            if (l == nl)
                lens[nl++] = p->arglen;
        }
        qsort(bytok, nt, sizeof *bytok, hkey_cmp);
        for (uint32_t r = 0; r < c->nrds; r++) {
            const lc_op *g = c->x[c->rds[r].op].op;
            if (g->nil)
                continue;
            for (size_t l = 0; l < nl; l++) {
                if (lens[l] > g->vallen)
                    continue;
                const char *suf = g->val + g->vallen - lens[l];
                uint64_t h = XXH3_64bits(suf, lens[l]);
                for (size_t j = hkey_find(bytok, nt, h); j < nt && bytok[j].h == h; j++) {
                    const lc_op *p = c->x[bytok[j].i].op;
                    if (p->arglen == lens[l] && p->call <= g->ret && memcmp(p->arg, suf, lens[l]) == 0)
                        pairs_add(&pp, bytok[j].i, r);
                }
            }
        }
        free(bytok);
        free(lens);
    }
    free(byval);

    c->prod_start = xcalloc(c->n + 1, sizeof *c->prod_start);
    c->prod = xcalloc(pp.n / 2, sizeof *c->prod);
    for (size_t i = 0; i < pp.n; i += 2)
        c->prod_start[pp.v[i] + 1]++;
    for (size_t i = 0; i < c->n; i++)
        c->prod_start[i + 1] += c->prod_start[i];
    uint32_t *fill = xcalloc(c->n, sizeof *fill);
    for (size_t i = 0; i < pp.n; i += 2) {
        uint32_t p = pp.v[i], r = pp.v[i + 1];
        c->prod[c->prod_start[p] + fill[p]++] = r;
        c->rds[r].need++;
    }
    free(fill);
    free(pp.v);
    c->orphans = NONE;
    for (uint32_t r = 0; r < c->nrds; r++)
        if (c->rds[r].need == 0)
            orphan_add(c, r);
}

/* ---- the search ---- */

/* Linearizes the op of call event e, taking the state to `to`, unless a
 * configuration seen before covers the one that leads to. */
static bool push(ctx *c, uint32_t e, uint32_t to, bool forced)
{
    const xop *x = &c->x[c->evs[e].op];
    flip_bit(c, x);
    if (!cache_add(c, to)) {
        flip_bit(c, x);
        return false;
    }
    uint32_t anchor = c->cur_id;
    if (c->depth > 0 && !c->x[c->evs[c->stk[c->depth - 1].ev].op].known)
        anchor = c->stk[c->depth - 1].anchor;
    c->stk[c->depth++] = (frame){e, c->cur_id, anchor, forced};
    lift(c, e);
    commit(c, x, to);
    c->known_done += x->known;
    uint32_t xi = c->evs[e].op;
    for (uint32_t i = c->prod_start[xi]; i < c->prod_start[xi + 1]; i++) {
        reader *r = &c->rds[c->prod[i]];
        if (--r->need == 0 && !r->lin)
            orphan_add(c, c->prod[i]);
    }
    if (x->rd != NONE) {
        c->rds[x->rd].lin = true;
        if (c->rds[x->rd].listed)
            orphan_del(c, x->rd);
    }
    if (c->depth > c->best_len) {
        /* best[0..best_dirty) already equals the stack. */
        for (size_t i = c->best_dirty; i < c->depth; i++)
            c->best[i] = c->evs[c->stk[i].ev].op;
        c->best_len = c->best_dirty = c->depth;
        c->best_state = c->cur_id;
    }
    return true;
}

static frame pop(ctx *c)
{
    frame f = c->stk[--c->depth];
    if (c->best_dirty > c->depth)
        c->best_dirty = c->depth;
    uint32_t xi = c->evs[f.ev].op;
    const xop *x = &c->x[xi];
    if (x->rd != NONE) {
        c->rds[x->rd].lin = false;
        if (c->rds[x->rd].need == 0)
            orphan_add(c, x->rd);
    }
    for (uint32_t i = c->prod_start[xi]; i < c->prod_start[xi + 1]; i++) {
        reader *r = &c->rds[c->prod[i]];
        if (r->need++ == 0 && r->listed)
            orphan_del(c, c->prod[i]);
    }
    unlift(c, f.ev);
    flip_bit(c, x);
    c->known_done -= x->known;
    if (f.state != c->cur_id) {
        c->cur_id = f.state;
        materialize(c, f.state);
    }
    return f;
}

static bool spend(ctx *c)
{
    if (c->steps >= c->max_steps)
        return false;
    c->steps++;
    return true;
}

static bool linearized(const ctx *c, const xop *x)
{
    const uint64_t *w = x->known ? c->kbits : c->ubits;
    return w[x->bit / 64] >> (x->bit % 64) & 1;
}

/* Whether a choice can be skipped because another one covers it (see
 * search()). */
static bool covered(const ctx *c, const xop *x)
{
    if (x->ro)
        return true;
    if (x->twin != NONE && !linearized(c, &c->x[x->twin]))
        return true;
    const frame *top = c->depth > 0 ? &c->stk[c->depth - 1] : NULL;
    if (top == NULL || c->x[c->evs[top->ev].op].known)
        return false;
    /* After a run of unknown ops: an op that would do the same from the
     * state before the run is covered by taking it there. */
    if (x->blind)
        return true;
    return x->op->kind == LC_DEL && x->known && x->op->ival == 1 && !c->st[top->anchor].nil;
}

/* The depth-first search, from the configuration with nothing linearized.
 * A configuration's candidates are the call events before the first return
 * event left in the list: the ops that nothing pending must precede. Beyond
 * the cache, the search skips choices that another covers: if a
 * linearization exists from a configuration, one exists through a choice
 * still tried, or from a configuration the search visits anyway.
 *
 * - Reads go eagerly. If a pending op that changes nothing (a GET, an INCR
 *   that failed, a DEL that found nothing) agrees with the state, it is the
 *   only choice tried: any linearization from here stays one with that op
 *   moved to the front, since it changes nothing and no pending op
 *   precedes it (its call is before all their returns). Reads that
 *   disagree cannot go now, so the scans for other choices skip them.
 *   Without this every interleaving of concurrent reads is a configuration
 *   of its own, and proving a violation visits them all.
 * - Of the pending unknown ops that do the same thing, only the one called
 *   first is tried: from here on they are interchangeable.
 * - Right after a run of unknown ops, an op that does the same from the
 *   state before the run (a SET, an unknown DEL, a DEL that also finds a
 *   value there) is skipped: the configuration before the run tries it.
 * - A configuration where a GET can no longer see its value is dead
 *   (stranded()).
 *
 * Unknown ops are tried before the known ones: an op whose outcome was lost
 * has more often than not taken effect, near its call, and histories that
 * linearize are found much sooner that way (80 times, on generated ones
 * with many lost APPENDs). */
static lc_verdict search(ctx *c)
{
    enum { FRESH, SCAN, BACK } mode = FRESH;
    bool unknown_pass = false; /* in SCAN: which ops the scan tries */
    uint32_t head = (uint32_t)(2 * c->n), e = head;
    for (;;) {
        if (mode == FRESH) {
            if (c->known_done == c->nknown)
                return LC_OK;
            if (stranded(c)) {
                mode = BACK;
                continue;
            }
            mode = SCAN;
            /* A known op is left, so a known return is in the list and every
             * scan stops there: unknown returns sort last. */
            for (e = c->next[head]; c->evs[e].call; e = c->next[e]) {
                const xop *x = &c->x[c->evs[e].op];
                uint32_t to;
                if (!x->ro)
                    continue;
                if (!spend(c))
                    return LC_GAVE_UP;
                if (apply(c, x, &to)) {
                    mode = push(c, e, to, true) ? FRESH : BACK;
                    break;
                }
            }
            if (mode != SCAN)
                continue;
            assert(e != head);
            e = c->next[head];
            unknown_pass = c->nunknown > 0;
        }
        if (mode == SCAN) {
            for (;;) {
                for (; c->evs[e].call; e = c->next[e]) {
                    const xop *x = &c->x[c->evs[e].op];
                    uint32_t to;
                    if (x->known == unknown_pass || covered(c, x))
                        continue;
                    if (!spend(c))
                        return LC_GAVE_UP;
                    if (apply(c, x, &to) && push(c, e, to, false)) {
                        mode = FRESH;
                        break;
                    }
                }
                if (mode == FRESH || !unknown_pass)
                    break;
                e = c->next[head];
                unknown_pass = false;
            }
            if (mode == FRESH)
                continue;
            assert(e != head);
            mode = BACK;
        }
        /* Nothing works from here (the op of return event e had to be
         * linearized by now, or a read is stranded): undo the last choice
         * and try the next one. A forced choice was the only one its
         * configuration had. */
        if (c->depth == 0)
            return LC_VIOLATION;
        if (!spend(c))
            return LC_GAVE_UP;
        frame f = pop(c);
        if (!f.forced) {
            e = c->next[f.ev];
            unknown_pass = !c->x[c->evs[f.ev].op].known;
            mode = SCAN;
        }
    }
}

/* ---- the explanation ---- */

typedef struct wr {
    char *buf;
    size_t cap, len;
    bool full;
} wr;

__attribute__((format(printf, 2, 3))) static void wr_printf(wr *w, const char *fmt, ...)
{
    if (w->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (r < 0 || (size_t)r >= w->cap - w->len) {
        w->full = true;
        memcpy(w->buf + w->cap - 4, "...", 4);
        w->len = w->cap - 1;
        return;
    }
    w->len += (size_t)r;
}

static void wr_escaped(wr *w, const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '"' || ch == '\\')
            wr_printf(w, "\\%c", ch);
        else if (ch >= 0x20 && ch < 0x7f)
            wr_printf(w, "%c", ch);
        else
            wr_printf(w, "\\x%02x", ch);
    }
}

/* A value, quoted; a long one by its head and tail (APPENDs differ at the
 * end). */
static void wr_bytes(wr *w, const char *p, size_t len)
{
    wr_printf(w, "\"");
    if (len <= 32) {
        wr_escaped(w, p, len);
        wr_printf(w, "\"");
        return;
    }
    wr_escaped(w, p, 8);
    wr_printf(w, "...");
    wr_escaped(w, p + len - 16, 16);
    wr_printf(w, "\"(%zu bytes)", len);
}

const char *lc_kind_name(lc_kind k)
{
    switch (k) {
    case LC_SET: return "SET";
    case LC_GET: return "GET";
    case LC_INCR: return "INCR";
    case LC_APPEND: return "APPEND";
    case LC_DEL: return "DEL";
    }
    return "?";
}

/* "op 7 APPEND "x" -> 3" */
static void wr_op(wr *w, const lc_op *op)
{
    wr_printf(w, "op %" PRIu64 " %s", op->id, lc_kind_name(op->kind));
    if (op->kind == LC_SET || op->kind == LC_APPEND) {
        wr_printf(w, " ");
        wr_bytes(w, op->arg, op->arglen);
    }
    if (op->ret == LC_UNKNOWN)
        wr_printf(w, " -> ?");
    else if (op->err)
        wr_printf(w, " -> ERR");
    else if (op->kind == LC_GET && op->nil)
        wr_printf(w, " -> nil");
    else if (op->kind == LC_GET) {
        wr_printf(w, " -> ");
        wr_bytes(w, op->val, op->vallen);
    } else if (op->kind != LC_SET)
        wr_printf(w, " -> %" PRId64, op->ival);
}

/* What the model answers op in the current state (cur). */
static void wr_model(wr *w, const ctx *c, const lc_op *op)
{
    bool nil = c->st[c->cur_id].nil;
    int64_t v = 0;
    switch (op->kind) {
    case LC_SET:
        wr_printf(w, "OK");
        break;
    case LC_GET:
        if (nil)
            wr_printf(w, "nil");
        else
            wr_bytes(w, c->cur.data, c->cur.len);
        break;
    case LC_INCR:
        if ((nil || lc_parse_i64(c->cur.data, c->cur.len, &v)) && v != INT64_MAX)
            wr_printf(w, "%" PRId64, v + 1);
        else
            wr_printf(w, "ERR");
        break;
    case LC_APPEND:
        wr_printf(w, "%zu", c->cur.len + op->arglen);
        break;
    case LC_DEL:
        wr_printf(w, "%d", nil ? 0 : 1);
        break;
    }
}

/* A GET that no op outside `in` can satisfy in the current state (see
 * find_producers), the earliest called; NONE if there is none. */
static uint32_t stranded_read(ctx *c, const bool *in)
{
    uint32_t *left = xcalloc(c->nrds, sizeof *left);
    for (uint32_t i = 0; i < c->n; i++)
        for (uint32_t j = c->prod_start[i]; !in[i] && j < c->prod_start[i + 1]; j++)
            left[c->prod[j]]++;
    uint32_t best = NONE;
    const lstate *s = &c->st[c->cur_id];
    for (uint32_t r = 0; r < c->nrds; r++) {
        uint32_t i = c->rds[r].op;
        const lc_op *op = c->x[i].op;
        if (in[i] || left[r] > 0)
            continue;
        bool sees = op->nil ? s->nil
                            : !s->nil && s->len == op->vallen &&
                                  (s->len == 0 || memcmp(c->cur.data, op->val, s->len) == 0);
        if (!sees && (best == NONE || op->call < c->x[best].op->call))
            best = i;
    }
    free(left);
    return best;
}

/* Why the history does not linearize, said about the longest linearizable
 * prefix found: the op that cannot follow it and why, and the other ops
 * that could have come next. The culprit is a GET no op left can satisfy,
 * if there is one, else the op of the first return event left: it had to
 * be linearized by then. The list is whole again (the search has unwound),
 * so the ops of the prefix are skipped by a mark. */
static void explain(ctx *c, wr *w)
{
    bool *in = xcalloc(c->n, sizeof *in);
    for (size_t i = 0; i < c->best_len; i++)
        in[c->best[i]] = true;
    c->cur_id = c->best_state;
    materialize(c, c->best_state);

    uint32_t blocker = NONE; /* the first return event left */
    for (uint32_t e = 0; e < 2 * c->n && blocker == NONE; e++)
        if (!c->evs[e].call && !in[c->evs[e].op])
            blocker = e;
    uint32_t culprit = stranded_read(c, in);
    bool starved = culprit != NONE;
    if (!starved && blocker != NONE)
        culprit = c->evs[blocker].op;
    if (culprit == NONE) { /* cannot happen: the search would have succeeded */
        wr_printf(w, "no linearization found");
        free(in);
        return;
    }
    const lc_op *cop = c->x[culprit].op;
    wr_op(w, cop);
    wr_printf(w, " (client %" PRIu32 ", t %" PRId64 "..%" PRId64 ") cannot be linearized", cop->client,
              cop->call, cop->ret);
    if (c->best_len == 0) {
        wr_printf(w, " from the initial state");
    } else {
        wr_printf(w, " after the longest linearizable prefix (%zu of %zu ops, ending", c->best_len, c->n);
        size_t from = c->best_len > 3 ? c->best_len - 3 : 0;
        for (size_t i = from; i < c->best_len; i++) {
            wr_printf(w, i > from ? ", " : " ");
            wr_op(w, c->x[c->best[i]].op);
        }
        wr_printf(w, ")");
    }
    wr_printf(w, "; the state is ");
    if (c->st[c->cur_id].nil)
        wr_printf(w, "nil");
    else
        wr_bytes(w, c->cur.data, c->cur.len);
    if (starved) {
        wr_printf(w, " and no op left can write the value it read");
        free(in);
        return;
    }
    wr_printf(w, " and the model gives ");
    wr_model(w, c, cop);

    /* The other ops that could have come next: calls before the blocker. */
    bool any = false;
    for (uint32_t e = 0; e < blocker; e++) {
        if (!c->evs[e].call || in[c->evs[e].op] || c->evs[e].op == culprit)
            continue;
        const xop *x = &c->x[c->evs[e].op];
        wr_printf(w, any ? "; " : "; no other pending op can follow: ");
        any = true;
        wr_op(w, x->op);
        uint32_t to;
        bool fits = apply(c, x, &to); /* may intern a state: harmless now */
        if (!x->known)
            wr_printf(w, " (may apply, leads nowhere)");
        else if (fits)
            wr_printf(w, " (fits, leads nowhere)");
        else {
            wr_printf(w, " (model: ");
            wr_model(w, c, x->op);
            wr_printf(w, ")");
        }
    }
    free(in);
}

/* ---- setting up ---- */

static bool has_arg(const lc_op *op) { return op->kind == LC_SET || op->kind == LC_APPEND; }

typedef struct twin_key {
    const xop *x;
    uint32_t i;
} twin_key;

static int twin_cmp(const void *pa, const void *pb)
{
    const twin_key *a = pa, *b = pb;
    const lc_op *p = a->x->op, *q = b->x->op;
    if (p->kind != q->kind)
        return p->kind < q->kind ? -1 : 1;
    if (has_arg(p)) {
        int d = kbytes_cmp(p->arg, p->arglen, q->arg, q->arglen);
        if (d)
            return d;
    }
    return a->x->bit < b->x->bit ? -1 : a->x->bit > b->x->bit; /* call order */
}

/* Links each op of unknown outcome to the one called before it that does
 * the same thing (the same kind and arg). */
static void find_twins(ctx *c)
{
    twin_key *k = xcalloc(c->nunknown, sizeof *k);
    size_t nk = 0;
    for (uint32_t i = 0; i < c->n; i++)
        if (!c->x[i].known)
            k[nk++] = (twin_key){&c->x[i], i};
    qsort(k, nk, sizeof *k, twin_cmp);
    for (size_t j = 1; j < nk; j++) {
        const lc_op *p = k[j - 1].x->op, *q = k[j].x->op;
        if (p->kind == q->kind &&
            (!has_arg(p) || kbytes_cmp(p->arg, p->arglen, q->arg, q->arglen) == 0))
            c->x[k[j].i].twin = k[j - 1].i;
    }
    free(k);
}

static void reject(lc_result *out, const lc_op *op, const char *what)
{
    out->verdict = LC_VIOLATION;
    wr w = {out->why, sizeof out->why, 0, false};
    wr_printf(&w, "malformed history: op %" PRIu64 " %s", op->id, what);
}

void lc_check(const lc_op *ops, size_t n, const lc_opts *o, lc_result *out)
{
    static const lc_opts defaults = {0};
    if (o == NULL)
        o = &defaults;
    uint64_t max_steps = o->max_steps ? o->max_steps : LC_DEFAULT_MAX_STEPS;
    memset(out, 0, sizeof *out);

    /* Nothing reads the key after the last return of an op that observes
     * it (all but SET), so an op of unknown outcome called later may as well
     * never have happened; nor does an unknown GET change anything. */
    int64_t last_obs = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        const lc_op *op = &ops[i];
        if (op->kind < LC_SET || op->kind > LC_DEL) {
            reject(out, op, "has an unknown kind");
            return;
        }
        if (op->ret != LC_UNKNOWN && op->ret < op->call) {
            reject(out, op, "returns before its call");
            return;
        }
        if (op->ret != LC_UNKNOWN && op->kind != LC_SET && op->ret > last_obs)
            last_obs = op->ret;
    }
    if (n >= NONE / 2)
        abort(); /* event indices are uint32 */

    ctx c = {0};
    c.x = xcalloc(n, sizeof *c.x);
    for (size_t i = 0; i < n; i++) {
        const lc_op *op = &ops[i];
        bool known = op->ret != LC_UNKNOWN;
        if (!known && (op->kind == LC_GET || op->call > last_obs))
            continue;
        xop *x = &c.x[c.n++];
        x->op = op;
        x->known = known;
        x->ro = known && (op->kind == LC_GET || (op->kind == LC_INCR && op->err) ||
                          (op->kind == LC_DEL && op->ival == 0 && !op->err));
        x->blind = op->kind == LC_SET || (!known && op->kind == LC_DEL);
        x->twin = NONE;
        x->rd = NONE;
        if (op->kind == LC_SET || op->kind == LC_APPEND)
            x->arg_hash = XXH3_64bits(op->arg, op->arglen);
        if (known)
            c.nknown++;
        else
            c.nunknown++;
    }

    size_t m = 2 * c.n;
    c.evs = xcalloc(m + 1, sizeof *c.evs); /* evs[m]: the sentinel, not a call */
    for (size_t i = 0; i < c.n; i++) {
        c.evs[2 * i] = (ev){c.x[i].op->call, (uint32_t)i, true};
        c.evs[2 * i + 1] = (ev){c.x[i].op->ret, (uint32_t)i, false};
    }
    qsort(c.evs, m, sizeof *c.evs, ev_cmp);
    c.prev = xcalloc(m + 1, sizeof *c.prev);
    c.next = xcalloc(m + 1, sizeof *c.next);
    uint32_t kb = 0, ub = 0;
    for (size_t e = 0; e <= m; e++) {
        c.prev[e] = (uint32_t)(e == 0 ? m : e - 1);
        c.next[e] = (uint32_t)(e == m ? 0 : e + 1);
        if (e == m)
            break;
        xop *x = &c.x[c.evs[e].op];
        if (c.evs[e].call) {
            x->bit = x->known ? kb++ : ub++; /* bits in call order */
        } else {
            x->ret_ev = (uint32_t)e;
        }
    }

    find_twins(&c);
    find_producers(&c);

    c.kwords = (c.nknown + 63) / 64;
    c.uwords = (c.nunknown + 63) / 64;
    c.kbits = xcalloc(c.kwords, sizeof *c.kbits);
    c.ubits = xcalloc(c.uwords, sizeof *c.ubits);

    c.stcap = 64;
    c.st = xrealloc(NULL, c.stcap, sizeof *c.st);
    c.st[0] = (lstate){.parent = NONE, .nil = true};
    c.nst = 1;
    c.stab_mask = 63;
    c.stab = xcalloc(c.stab_mask + 1, sizeof *c.stab);
    kbuf_init(&c.owned);
    kbuf_init(&c.cur);
    c.cur_id = NIL_STATE;
    if (o->initial != NULL && !o->initial_nil) {
        c.cur_id = intern(&c, o->initial, o->initial_len, XXH3_64bits(o->initial, o->initial_len),
                          NONE, o->initial, o->initial_len, false);
        materialize(&c, c.cur_id);
    }

    c.cache_mask = 1023;
    c.cache = xrealloc(NULL, c.cache_mask + 1, sizeof *c.cache);
    for (size_t i = 0; i <= c.cache_mask; i++)
        c.cache[i].koff = EMPTY_SLOT;
    c.keys_cap = 1024;
    c.keys = xrealloc(NULL, c.keys_cap, sizeof *c.keys);

    c.stk = xcalloc(c.n, sizeof *c.stk);
    c.best = xcalloc(c.n, sizeof *c.best);
    c.best_state = c.cur_id;

    c.max_steps = max_steps;
    cache_add(&c, c.cur_id); /* the root covers what returns to it */
    lc_verdict verdict = search(&c);
    uint64_t steps = c.steps;

    out->verdict = verdict;
    out->steps = steps;
    out->linearized = verdict == LC_OK ? c.depth : c.best_len;
    wr w = {out->why, sizeof out->why, 0, false};
    if (verdict == LC_VIOLATION) {
        explain(&c, &w);
    } else if (verdict == LC_GAVE_UP) {
        wr_printf(&w,
                  "gave up after %" PRIu64 " steps; the longest linearizable prefix found has %zu of %zu ops",
                  steps, c.best_len, c.n);
    }

    free(c.x);
    free(c.evs);
    free(c.prev);
    free(c.next);
    free(c.kbits);
    free(c.ubits);
    free(c.st);
    free(c.stab);
    kbuf_free(&c.owned);
    kbuf_free(&c.cur);
    free(c.cache);
    free(c.keys);
    free(c.usets);
    free(c.rds);
    free(c.prod_start);
    free(c.prod);
    free(c.stk);
    free(c.best);
}
