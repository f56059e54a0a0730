/* sim/client: clients, workload, history. See client.h. */
#include "sim/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/reply.h"

#define LINK_US_MIN 20            /* client <-> node, one way */
#define LINK_US_MAX 200

enum { KT_REG = 0, KT_COUNTER, KT_APPEND, KT_QUEUE };

/* A queue's final list. */
typedef struct qfinal {
    qc_tok *e;
    size_t n;
    bool read;
} qfinal;

struct sim_clients {
    sim_client *c;
    int n;
    int kpt; /* keys per type */
    int nq;  /* queue keys, after the 3 * kpt others */
    sim_history hist;
    /* The final reads of the queues, one at a time, by one client. */
    bool final_started;
    int final_next; /* the queue it reads now */
    qfinal *fin;
};

static sim_client *client_of(sim_world *w, uint32_t id)
{
    return id >= 1 && (int)id <= w->cl->n ? &w->cl->c[id - 1] : NULL;
}

int sclient_nkeys(const sim_world *w) { return 3 * w->cl->kpt + w->cl->nq; }

bool sclient_key_is_queue(const sim_world *w, int key) { return key >= 3 * w->cl->kpt; }

void sclient_key_name(const sim_world *w, int key, char *out, size_t cap)
{
    static const char prefix[3] = {'r', 'c', 'a'};
    if (sclient_key_is_queue(w, key))
        snprintf(out, cap, "q%d", key - 3 * w->cl->kpt);
    else
        snprintf(out, cap, "%c%d", prefix[key / w->cl->kpt], key % w->cl->kpt);
}

bool sclient_queue_final(const sim_world *w, int key, const qc_tok **elems, size_t *n)
{
    const struct sim_clients *cl = w->cl;
    int k = key - 3 * cl->kpt;
    if (k < 0 || k >= cl->nq || !cl->fin[k].read)
        return false;
    *elems = cl->fin[k].e;
    *n = cl->fin[k].n;
    return true;
}

const sim_history *sclient_history(const sim_world *w) { return &w->cl->hist; }

static char *dup_bytes(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s == NULL)
        abort();
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static size_t hop_new(sim_world *w, sim_client *c, int key, lc_kind kind, uint8_t q,
                      const char *arg, size_t arglen)
{
    sim_history *h = &w->cl->hist;
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 1024;
        h->h = realloc(h->h, h->cap * sizeof(*h->h));
        if (h->h == NULL)
            abort();
    }
    sim_hop *op = &h->h[h->n];
    memset(op, 0, sizeof(*op));
    op->id = h->n;
    op->client = c->id;
    op->key = (uint32_t)key;
    op->kind = kind;
    op->q = q;
    op->arg = arg ? dup_bytes(arg, arglen) : NULL;
    op->arglen = arglen;
    op->call = w->now;
    op->ret = LC_UNKNOWN;
    return h->n++;
}

static sim_hop *hop(sim_world *w, size_t i) { return &w->cl->hist.h[i]; }

static const char *hop_name(const sim_hop *h)
{
    switch (h->q) {
    case HQ_RPUSH: return "RPUSH";
    case HQ_LPOP: return "LPOP";
    case HQ_BLPOP: return "BLPOP";
    }
    return lc_kind_name(h->kind);
}

/* ------------------------------------------------------------------------ */
/* Connections */

static void schedule_wake(sim_world *w, sim_client *c, int64_t delay_us)
{
    c->wake_gen++;
    sim_event ev = {.at = w->now + delay_us, .kind = SE_CLIENT_WAKE, .client = c->id,
                    .gen = c->wake_gen, .node = -1, .peer = -1};
    sim_push(w, &ev);
}

/* Drops the connection; the node is told when it is alive. */
static void disconnect(sim_world *w, sim_client *c)
{
    if (c->node < 0)
        return;
    sim_node *sn = &w->nodes[c->node];
    if (sn->up && sn->inc == c->node_inc) {
        node_event ev = {.type = EV_CLIENT_CLOSED, .conn = c->conn};
        sim_node_step(w, sn, &ev);
    }
    c->node = -1;
    c->conn = 0;
    c->conn_gen++;
    kbuf_clear(&c->in);
}

static bool connect_to(sim_world *w, sim_client *c)
{
    int k = c->target >= 0 ? c->target : (int)kprng_below(&w->rng, (uint64_t)w->nnodes);
    c->target = -1;
    sim_node *sn = &w->nodes[k];
    if (!sn->up) {
        sim_trace(w, "c%u connect n%d: refused (down)", c->id, k + 1);
        return false;
    }
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%u", 40000 + c->id);
    const char *reject = NULL;
    conn_id id = node_client_open(&sn->n, sim_local_ms(sn, w->now), addr, "127.0.0.1:6379", -1,
                                  &reject);
    if (id == 0) {
        sim_trace(w, "c%u connect n%d: rejected", c->id, k + 1);
        return false;
    }
    c->node = k;
    c->conn = id;
    c->node_inc = sn->inc;
    c->conn_gen++;
    kbuf_clear(&c->in);
    sim_trace(w, "c%u connect n%d conn=%llu", c->id, k + 1, (unsigned long long)id);
    return true;
}

/* ------------------------------------------------------------------------ */
/* The workload */

static void put_arg(kbuf *b, const char *s, size_t n)
{
    char hdr[32];
    int m = snprintf(hdr, sizeof(hdr), "$%zu\r\n", n);
    kbuf_append(b, hdr, (size_t)m);
    kbuf_append(b, s, n);
    kbuf_append(b, "\r\n", 2);
}

static void put_cmd(kbuf *b, int argc, const char **argv, const size_t *lens)
{
    char hdr[32];
    int m = snprintf(hdr, sizeof(hdr), "*%d\r\n", argc);
    kbuf_append(b, hdr, (size_t)m);
    for (int i = 0; i < argc; i++)
        put_arg(b, argv[i], lens[i]);
}

/* An op on a queue: RPUSH of a unique token, LPOP, or (not in a MULTI,
 * where nothing blocks) BLPOP with a short timeout. */
static size_t gen_queue_op(sim_world *w, sim_client *c, bool in_multi, kbuf *req)
{
    int key = 3 * w->cl->kpt + (int)kprng_below(&w->rng, (uint64_t)w->cl->nq);
    char kname[16], arg[48];
    sclient_key_name(w, key, kname, sizeof(kname));
    uint8_t q = sim_chance(w, w->p.push_ppm)                    ? HQ_RPUSH
                : !in_multi && sim_chance(w, w->p.blpop_ppm) ? HQ_BLPOP
                                                               : HQ_LPOP;
    size_t arglen = 0;
    if (q == HQ_RPUSH) {
        arglen = (size_t)snprintf(arg, sizeof(arg), "c%u.%llu", c->id, (unsigned long long)c->seq);
    } else if (q == HQ_BLPOP) {
        int64_t ms = sim_between(w, 100, w->p.blpop_ms_max);
        arglen = (size_t)snprintf(arg, sizeof(arg), "%lld.%03lld", (long long)(ms / 1000),
                                  (long long)(ms % 1000));
    }
    const char *argv[3] = {q == HQ_RPUSH ? "RPUSH" : q == HQ_BLPOP ? "BLPOP" : "LPOP", kname, arg};
    size_t lens[3] = {strlen(argv[0]), strlen(kname), arglen};
    put_cmd(req, arglen ? 3 : 2, argv, lens);
    /* A BLPOP keeps its timeout as its arg, for the trace. */
    return hop_new(w, c, key, (lc_kind)0, q, arglen ? arg : NULL, arglen);
}

/* Picks one op on a key of type t, appends its request and records it. */
static size_t gen_op(sim_world *w, sim_client *c, int t, kbuf *req)
{
    if (t == KT_QUEUE)
        return gen_queue_op(w, c, c->multi, req);
    int key = t * w->cl->kpt + (int)kprng_below(&w->rng, (uint64_t)w->cl->kpt);
    char kname[16], tok[48];
    sclient_key_name(w, key, kname, sizeof(kname));
    bool read = sim_chance(w, w->p.read_ppm);
    if (w->now < w->readonly_until)
        read = true; /* a window of reads only (a nemesis) */
    uint64_t r = kprng_below(&w->rng, 100);
    lc_kind kind = LC_GET;
    const char *arg = NULL;
    size_t arglen = 0;
    if (!read && t == KT_REG) {
        kind = r < 75 ? LC_SET : LC_DEL;
        if (kind == LC_SET) {
            arglen = (size_t)snprintf(tok, sizeof(tok), "v%u.%llu", c->id,
                                      (unsigned long long)c->seq);
            arg = tok;
        }
    } else if (!read && t == KT_COUNTER) {
        kind = LC_INCR;
    } else if (!read) {
        kind = LC_APPEND;
        arglen = (size_t)snprintf(tok, sizeof(tok), "c%u.%llu,", c->id, (unsigned long long)c->seq);
        arg = tok;
    }
    const char *argv[3] = {lc_kind_name(kind), kname, arg};
    size_t lens[3] = {strlen(argv[0]), strlen(kname), arglen};
    put_cmd(req, arg ? 3 : 2, argv, lens);
    return hop_new(w, c, key, kind, HQ_NONE, arg, arglen);
}

/* The type of key the next op is on (other: the other op's in a MULTI,
 * or -1). Without queues, exactly the draws there were before them. */
static int pick_type(sim_world *w, int other)
{
    if (w->cl->nq == 0)
        return other < 0 ? (int)kprng_below(&w->rng, 3)
                         : (other + 1 + (int)kprng_below(&w->rng, 2)) % 3;
    /* Not in a window of reads only: every queue op writes. */
    bool q = other != KT_QUEUE && w->now >= w->readonly_until && sim_chance(w, w->p.queue_ppm);
    if (q)
        return KT_QUEUE;
    if (other < 0 || other == KT_QUEUE)
        return (int)kprng_below(&w->rng, 3);
    return (other + 1 + (int)kprng_below(&w->rng, 2)) % 3;
}

static void issue(sim_world *w, sim_client *c)
{
    kbuf req = KBUF_INIT;
    c->seq++;
    c->multi = sim_chance(w, w->p.multi_ppm);
    if (c->multi) {
        int t1 = pick_type(w, -1);
        int t2 = pick_type(w, t1);
        const char *m = "MULTI", *e = "EXEC";
        size_t ml = 5, el = 4;
        put_cmd(&req, 1, &m, &ml);
        c->hop[0] = gen_op(w, c, t1, &req);
        c->hop[1] = gen_op(w, c, t2, &req);
        put_cmd(&req, 1, &e, &el);
        c->nparts = 2;
        c->nexpect = 4;
    } else {
        c->hop[0] = gen_op(w, c, pick_type(w, -1), &req);
        c->nparts = 1;
        c->nexpect = 1;
    }
    c->ngot = 0;
    c->busy = true;
    w->ops_issued++;
    if (w->o.trace) {
        char kn[16];
        for (int i = 0; i < c->nparts; i++) {
            sim_hop *h = hop(w, c->hop[i]);
            sclient_key_name(w, (int)h->key, kn, sizeof(kn));
            sim_trace(w, "c%u -> n%d op=%llu %s%s %s%s%.*s", c->id, c->node + 1,
                      (unsigned long long)h->id, c->multi ? "MULTI " : "", hop_name(h),
                      kn, h->arg ? " " : "", (int)h->arglen, h->arg ? h->arg : "");
        }
    }
    int64_t at = w->now + sim_between(w, LINK_US_MIN, LINK_US_MAX);
    sim_event ev = {.at = at, .kind = SE_CLIENT_DATA, .node = (int8_t)c->node, .peer = -1,
                    .client = c->id, .gen = c->node_inc, .conn = c->conn, .data = req.data,
                    .len = req.len};
    sim_push(w, &ev); /* the event owns req's bytes now */
    schedule_wake(w, c, w->p.timeout_us);
}

/* ------------------------------------------------------------------------ */
/* Outcomes */

static void finish_hop(sim_world *w, sim_hop *h, uint8_t state)
{
    h->state = state;
    h->ret = state == HOP_UNKNOWN ? LC_UNKNOWN : w->now;
}

static void note(sim_world *w, sim_client *c, sim_hop *h, const char *what, const char *s,
                 size_t n)
{
    if (!w->o.trace)
        return;
    sim_trace(w, "c%u <- op=%llu %s %.*s", c->id, (unsigned long long)h->id, what, (int)n, s);
}

/* The leader a NOTLEADER reply names: "NOTLEADER leader is 3". */
static int leader_hint(const sreply_elem *e)
{
    const char *p = e->str, *end = e->str + e->len;
    static const char pat[] = "leader is ";
    size_t pl = sizeof(pat) - 1;
    for (; p + pl <= end; p++)
        if (memcmp(p, pat, pl) == 0) {
            p += pl;
            int v = 0;
            bool any = false;
            while (p < end && *p >= '0' && *p <= '9') {
                v = v * 10 + (*p - '0');
                any = true;
                p++;
            }
            return any ? v : -1;
        }
    return -1;
}

static bool starts(const sreply_elem *e, const char *s)
{
    size_t n = strlen(s);
    return e->len >= n && memcmp(e->str, s, n) == 0;
}

/* An error reply to h: its class. Returns the state; *hint: a leader named. */
static uint8_t error_state(sim_world *w, sim_client *c, sim_hop *h, const sreply_elem *e, int *hint)
{
    if (starts(e, NODE_ERR_NOT_LEADER)) {
        int k = leader_hint(e);
        if (k >= 1 && k <= w->nnodes)
            *hint = k - 1;
        note(w, c, h, "FAIL", e->str, e->len);
        return HOP_FAIL;
    }
    if (starts(e, "EXECABORT")) {
        note(w, c, h, "FAIL", e->str, e->len);
        return HOP_FAIL;
    }
    /* UNKNOWN says so; MISCONF (the log failed) may come after the entry
     * reached the disk, so it may yet take effect at a replay; anything
     * else unexpected is taken as unknown too, which is always sound. */
    note(w, c, h, "UNKNOWN", e->str, e->len);
    return HOP_UNKNOWN;
}

static bool same(const sreply_elem *e, const char *s)
{
    return e->type == SR_BULK && e->len == strlen(s) && memcmp(e->str, s, e->len) == 0;
}

/* The reply to a queue op: RPUSH's length, LPOP's element or nil, BLPOP's
 * [key, element] or nil (its timeout). r: the whole reply when it is not
 * an element of EXEC's (only a BLPOP needs it, and none is in a MULTI). */
static uint8_t interpret_queue(sim_world *w, sim_client *c, sim_hop *h, const sreply_elem *e,
                               const sreply *r)
{
    bool ok = false;
    const sreply_elem *got = NULL;
    char kn[16];
    sclient_key_name(w, (int)h->key, kn, sizeof(kn));
    switch (h->q) {
    case HQ_RPUSH:
        if (e->type == SR_INT) {
            h->ival = e->ival;
            ok = true;
        }
        break;
    case HQ_LPOP:
        ok = e->type == SR_NIL || e->type == SR_BULK;
        got = e->type == SR_BULK ? e : NULL;
        break;
    case HQ_BLPOP:
        if (e->type == SR_NIL) {
            ok = true;
        } else if (r && e->type == SR_ARRAY && r->nelems == 2 && same(&r->elems[0], kn) &&
                   r->elems[1].type == SR_BULK) {
            ok = true;
            got = &r->elems[1];
        }
        break;
    }
    if (!ok) {
        sim_trace(w, "c%u <- op=%llu unexpected reply type %d", c->id, (unsigned long long)h->id,
                  (int)e->type);
        return HOP_UNKNOWN;
    }
    if (h->q != HQ_RPUSH) {
        h->nil = got == NULL;
        if (got) {
            h->val = dup_bytes(got->str, got->len);
            h->vallen = got->len;
        }
    }
    if (w->o.trace) {
        if (h->q == HQ_RPUSH)
            sim_trace(w, "c%u <- op=%llu OK :%lld", c->id, (unsigned long long)h->id,
                      (long long)h->ival);
        else
            sim_trace(w, "c%u <- op=%llu OK %s%.*s", c->id, (unsigned long long)h->id,
                      h->nil ? "(nil)" : "", (int)h->vallen, h->val ? h->val : "");
    }
    return HOP_OK;
}

/* The reply e to h (one op). Returns the state. */
static uint8_t interpret(sim_world *w, sim_client *c, sim_hop *h, const sreply_elem *e,
                         const sreply *r, int *hint)
{
    if (h->q != HQ_NONE && e->type != SR_ERROR)
        return interpret_queue(w, c, h, e, r);
    if (e->type == SR_ERROR) {
        if (h->kind == LC_INCR && starts(e, "ERR ")) {
            h->err = true;
            note(w, c, h, "OK(err)", e->str, e->len);
            return HOP_OK;
        }
        return error_state(w, c, h, e, hint);
    }
    bool ok = false;
    switch (h->kind) {
    case LC_SET:
        ok = e->type == SR_STATUS;
        break;
    case LC_GET:
        if (e->type == SR_NIL) {
            h->nil = true;
            ok = true;
        } else if (e->type == SR_BULK) {
            h->val = dup_bytes(e->str, e->len);
            h->vallen = e->len;
            ok = true;
        }
        break;
    case LC_INCR:
    case LC_APPEND:
    case LC_DEL:
        if (e->type == SR_INT) {
            h->ival = e->ival;
            ok = true;
        }
        break;
    }
    if (!ok) {
        sim_trace(w, "c%u <- op=%llu unexpected reply type %d", c->id, (unsigned long long)h->id,
                  (int)e->type);
        return HOP_UNKNOWN;
    }
    if (w->o.trace) {
        if (h->kind == LC_GET)
            sim_trace(w, "c%u <- op=%llu OK %s%.*s", c->id, (unsigned long long)h->id,
                      h->nil ? "(nil)" : "", (int)h->vallen, h->val ? h->val : "");
        else if (h->kind == LC_SET)
            sim_trace(w, "c%u <- op=%llu OK", c->id, (unsigned long long)h->id);
        else
            sim_trace(w, "c%u <- op=%llu OK :%lld", c->id, (unsigned long long)h->id,
                      (long long)h->ival);
    }
    return HOP_OK;
}

static void final_retry(sim_world *w, sim_client *c, int hint);
static void maybe_start_final(sim_world *w, sim_client *c);

/* The op in flight ends: each part in its state. */
static void complete(sim_world *w, sim_client *c, const uint8_t *states, int hint)
{
    if (c->final) {
        final_retry(w, c, hint); /* the final read went unanswered */
        return;
    }
    bool all_ok = true, any_fail = false;
    for (int i = 0; i < c->nparts; i++) {
        finish_hop(w, hop(w, c->hop[i]), states[i]);
        all_ok &= states[i] == HOP_OK;
        any_fail |= states[i] != HOP_OK;
    }
    c->busy = false;
    if (w->healed && all_ok) {
        c->stopped = true;
        sim_trace(w, "c%u done", c->id);
        maybe_start_final(w, c);
        return;
    }
    if (any_fail) {
        /* Somewhere else: the leader named, or any node. */
        disconnect(w, c);
        c->target = hint;
        schedule_wake(w, c, hint >= 0 ? sim_between(w, 1000, 10000) : sim_between(w, 20000, 200000));
        return;
    }
    schedule_wake(w, c, sim_between(w, 0, w->p.think_us_max));
}

static void all_unknown(sim_world *w, sim_client *c, int hint)
{
    uint8_t st[2] = {HOP_UNKNOWN, HOP_UNKNOWN};
    complete(w, c, st, hint);
}

/* Every reply of the op arrived: r[0..nexpect). */
static void resolve(sim_world *w, sim_client *c, const sreply *r)
{
    uint8_t st[2] = {HOP_UNKNOWN, HOP_UNKNOWN};
    int hint = -1;
    if (!c->multi) {
        st[0] = interpret(w, c, hop(w, c->hop[0]), &r[0].v, &r[0], &hint);
        complete(w, c, st, hint);
        return;
    }
    const sreply *m = &r[0], *x = &r[3];
    if (m->v.type == SR_STATUS && x->v.type == SR_ARRAY && x->nelems == 2) {
        for (int i = 0; i < 2; i++)
            st[i] = interpret(w, c, hop(w, c->hop[i]), &x->elems[i], NULL, &hint);
    } else if (m->v.type == SR_STATUS && x->v.type == SR_ERROR) {
        /* EXEC refused: NOTLEADER and EXECABORT ran nothing. */
        for (int i = 0; i < 2; i++)
            st[i] = error_state(w, c, hop(w, c->hop[i]), &x->v, &hint);
    } else if (m->v.type == SR_ERROR) {
        /* MULTI itself refused: each op ran (or not) on its own. */
        for (int i = 0; i < 2; i++)
            st[i] = interpret(w, c, hop(w, c->hop[i]), &r[1 + i].v, &r[1 + i], &hint);
    } else {
        sim_trace(w, "c%u <- MULTI: unexpected replies", c->id);
    }
    complete(w, c, st, hint);
}

/* ------------------------------------------------------------------------ */
/* The final reads of the queues */

/* Once every client is done after the heal, the last one to finish reads
 * each queue whole, one after the other. */
static void maybe_start_final(sim_world *w, sim_client *c)
{
    struct sim_clients *cl = w->cl;
    if (cl->nq == 0 || cl->final_started || !sclient_all_done(w))
        return;
    cl->final_started = true;
    c->stopped = false;
    c->final = true;
    sim_trace(w, "c%u reads the queues whole", c->id);
    schedule_wake(w, c, sim_between(w, 0, 10000));
}

static void final_retry(sim_world *w, sim_client *c, int hint)
{
    c->busy = false;
    disconnect(w, c);
    c->target = hint;
    schedule_wake(w, c, hint >= 0 ? sim_between(w, 1000, 10000) : sim_between(w, 20000, 200000));
}

static void issue_final(sim_world *w, sim_client *c)
{
    kbuf req = KBUF_INIT;
    char kn[16];
    sclient_key_name(w, 3 * w->cl->kpt + w->cl->final_next, kn, sizeof(kn));
    const char *argv[4] = {"LRANGE", kn, "0", "-1"};
    size_t lens[4] = {6, strlen(kn), 1, 2};
    put_cmd(&req, 4, argv, lens);
    c->multi = false;
    c->nparts = 0;
    c->nexpect = 1;
    c->ngot = 0;
    c->busy = true;
    sim_trace(w, "c%u -> n%d final LRANGE %s 0 -1", c->id, c->node + 1, kn);
    int64_t at = w->now + sim_between(w, LINK_US_MIN, LINK_US_MAX);
    sim_event ev = {.at = at, .kind = SE_CLIENT_DATA, .node = (int8_t)c->node, .peer = -1,
                    .client = c->id, .gen = c->node_inc, .conn = c->conn, .data = req.data,
                    .len = req.len};
    sim_push(w, &ev);
    schedule_wake(w, c, w->p.timeout_us);
}

/* The RPUSHes ever sent to queue k (the final list holds no more). */
static size_t pushes_to(const sim_world *w, int k)
{
    const sim_history *h = &w->cl->hist;
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++)
        n += h->h[i].q == HQ_RPUSH && h->h[i].key == (uint32_t)(3 * w->cl->kpt + k);
    return n;
}

/* The final read's reply r, its elements at elems[0..min(nelems, cap)). */
static void final_reply(sim_world *w, sim_client *c, const sreply *r, const sreply_elem *elems,
                        size_t cap)
{
    struct sim_clients *cl = w->cl;
    char kn[16];
    sclient_key_name(w, 3 * cl->kpt + cl->final_next, kn, sizeof(kn));
    if (r->v.type == SR_ERROR) {
        int hint = -1;
        if (starts(&r->v, NODE_ERR_NOT_LEADER)) {
            int k = leader_hint(&r->v);
            if (k >= 1 && k <= w->nnodes)
                hint = k - 1;
        }
        sim_trace(w, "c%u <- final LRANGE %s: %.*s: again", c->id, kn, (int)r->v.len, r->v.str);
        final_retry(w, c, hint);
        return;
    }
    bool ok = r->v.type == SR_ARRAY;
    if (ok && r->nelems > cap) {
        c->busy = false;
        sim_fail(w, SIM_LINEARIZABILITY,
                 "queue %s: the final LRANGE returned %u elements, more than the %zu RPUSHes "
                 "ever sent to it: duplicated pushes",
                 kn, r->nelems, cap);
        return;
    }
    for (uint32_t i = 0; ok && i < r->nelems; i++)
        ok = elems[i].type == SR_BULK;
    if (!ok) {
        sim_trace(w, "c%u <- final LRANGE %s: unexpected reply: again", c->id, kn);
        final_retry(w, c, -1);
        return;
    }
    qfinal *f = &cl->fin[cl->final_next];
    f->n = r->nelems;
    f->e = calloc(f->n ? f->n : 1, sizeof(*f->e));
    if (f->e == NULL)
        abort();
    for (size_t i = 0; i < f->n; i++)
        f->e[i] = (qc_tok){dup_bytes(elems[i].str, elems[i].len), elems[i].len};
    f->read = true;
    sim_trace(w, "c%u <- final LRANGE %s: %zu elements", c->id, kn, f->n);
    c->busy = false;
    if (++cl->final_next < cl->nq) {
        schedule_wake(w, c, sim_between(w, 0, 1000));
        return;
    }
    c->final = false;
    c->stopped = true;
    sim_trace(w, "c%u done: every queue read", c->id);
}

/* ------------------------------------------------------------------------ */
/* Events */

void sclient_wake(sim_world *w, const sim_event *ev)
{
    sim_client *c = client_of(w, ev->client);
    if (c == NULL || ev->gen != c->wake_gen || c->stopped)
        return;
    if (c->busy) {
        sim_trace(w, "c%u timeout: unknown", c->id);
        disconnect(w, c);
        all_unknown(w, c, -1);
        return;
    }
    if (!w->healed && w->ops_issued >= w->o.ops) {
        /* The budget is spent: the fault phase ends. */
        if (w->heal_at < 0 || w->heal_at > w->now) {
            w->heal_at = w->now;
            sim_event h = {.at = w->now, .kind = SE_HEAL, .node = -1, .peer = -1};
            sim_push(w, &h);
        }
        return;
    }
    if (c->node >= 0 && !(w->nodes[c->node].up && w->nodes[c->node].inc == c->node_inc))
        disconnect(w, c);
    if (c->final) {
        /* Through the leader. */
        int l = sim_leader(w);
        if (c->node >= 0 && l >= 0 && c->node != l)
            disconnect(w, c);
        if (c->node < 0 && c->target < 0)
            c->target = l;
    }
    if (c->node < 0 && !connect_to(w, c)) {
        schedule_wake(w, c, sim_between(w, 20000, 100000));
        return;
    }
    if (c->final)
        issue_final(w, c);
    else
        issue(w, c);
}

/* The final reader's bytes: one reply, an array as long as the queue. */
static void final_input(sim_world *w, sim_client *c)
{
    size_t cap = pushes_to(w, w->cl->final_next);
    sreply_elem *elems = calloc(cap ? cap : 1, sizeof(*elems));
    if (elems == NULL)
        abort();
    sreply r;
    long t = sreply_parse_into(c->in.data, c->in.len, &r, elems, cap);
    if (t < 0) {
        sim_trace(w, "c%u <- unparsable reply", c->id);
        final_retry(w, c, -1);
    } else if (t > 0) {
        final_reply(w, c, &r, elems, cap); /* elems point into c->in */
        if (c->node >= 0) {
            kbuf_consume(&c->in, (size_t)t);
            if (c->in.len > 0) {
                sim_trace(w, "c%u <- %zu bytes past the replies: reconnecting", c->id, c->in.len);
                disconnect(w, c);
            }
        }
    }
    free(elems);
}

void sclient_reply(sim_world *w, const sim_event *ev)
{
    sim_client *c = client_of(w, ev->client);
    if (c == NULL || ev->gen != c->conn_gen || !c->busy)
        return;
    kbuf_append(&c->in, ev->data, ev->len);
    if (c->final) {
        final_input(w, c);
        return;
    }
    sreply r[4];
    size_t off = 0;
    int got = 0;
    /* Parse every complete reply; the op needs nexpect of them. */
    while (got < c->nexpect) {
        long t = sreply_parse(c->in.data + off, c->in.len - off, &r[got]);
        if (t < 0) {
            sim_trace(w, "c%u <- unparsable reply", c->id);
            disconnect(w, c);
            all_unknown(w, c, -1);
            return;
        }
        if (t == 0)
            return; /* more to come; keep the bytes */
        off += (size_t)t;
        got++;
    }
    /* r[] points into c->in: resolve before consuming. */
    resolve(w, c, r);
    if (c->node < 0)
        return; /* resolve disconnected: the buffer is cleared */
    kbuf_consume(&c->in, off);
    if (c->in.len > 0) {
        /* One request at a time: bytes past its replies answer nothing. */
        sim_trace(w, "c%u <- %zu bytes past the replies: reconnecting", c->id, c->in.len);
        disconnect(w, c);
    }
}

void sclient_closed(sim_world *w, const sim_event *ev)
{
    sim_client *c = client_of(w, ev->client);
    if (c == NULL || ev->gen != c->conn_gen)
        return;
    sim_trace(w, "c%u connection closed by n%d", c->id, c->node + 1);
    c->node = -1; /* the node already freed it */
    c->conn = 0;
    c->conn_gen++;
    kbuf_clear(&c->in);
    if (c->busy)
        all_unknown(w, c, -1);
    else if (!c->stopped)
        schedule_wake(w, c, sim_between(w, 1000, 20000));
}

static sim_client *client_on(const sim_world *w, const sim_node *sn, conn_id conn)
{
    for (int i = 0; i < w->cl->n; i++) {
        sim_client *c = &w->cl->c[i];
        if (c->node == sn->idx && c->conn == conn && c->node_inc == sn->inc)
            return c;
    }
    return NULL;
}

bool sclient_pending_get(const sim_world *w, const sim_node *sn, conn_id conn, int64_t *call)
{
    const sim_client *c = client_on(w, sn, conn);
    if (c == NULL || !c->busy || c->multi || c->nparts != 1 || c->final)
        return false;
    const sim_hop *h = &w->cl->hist.h[c->hop[0]];
    if (h->q != HQ_NONE || h->kind != LC_GET)
        return false;
    *call = h->call;
    return true;
}

static int64_t link_at(sim_world *w, sim_client *c)
{
    int64_t at = w->now + sim_between(w, LINK_US_MIN, LINK_US_MAX);
    if (at <= c->last_delivery)
        at = c->last_delivery + 1;
    c->last_delivery = at;
    return at;
}

bool sclient_owns(sim_world *w, sim_node *sn, conn_id conn)
{
    return client_on(w, sn, conn) != NULL;
}

void sclient_output(sim_world *w, sim_node *sn, conn_id conn, const char *data, size_t len)
{
    sim_client *c = client_on(w, sn, conn);
    if (c == NULL || len == 0)
        return;
    char *copy = malloc(len);
    if (copy == NULL)
        abort();
    memcpy(copy, data, len);
    sim_event ev = {.at = link_at(w, c), .kind = SE_REPLY, .node = (int8_t)sn->idx, .peer = -1,
                    .client = c->id, .gen = c->conn_gen, .data = copy, .len = len};
    sim_push(w, &ev);
}

void sclient_server_close(sim_world *w, sim_node *sn, conn_id conn)
{
    sim_client *c = client_on(w, sn, conn);
    if (c == NULL)
        return;
    sim_event ev = {.at = link_at(w, c), .kind = SE_CLOSED, .node = (int8_t)sn->idx, .peer = -1,
                    .client = c->id, .gen = c->conn_gen};
    sim_push(w, &ev);
}

void sclient_node_crashed(sim_world *w, sim_node *sn)
{
    for (int i = 0; i < w->cl->n; i++) {
        sim_client *c = &w->cl->c[i];
        if (c->node != sn->idx)
            continue;
        c->node = -1;
        c->conn = 0;
        c->conn_gen++;
        kbuf_clear(&c->in);
        if (c->busy) {
            sim_trace(w, "c%u: n%d crashed: unknown", c->id, sn->idx + 1);
            all_unknown(w, c, -1);
        }
    }
}

void sclient_heal(sim_world *w)
{
    for (int i = 0; i < w->cl->n; i++) {
        sim_client *c = &w->cl->c[i];
        c->stopped = false;
        if (!c->busy)
            schedule_wake(w, c, sim_between(w, 0, 10000));
    }
}

bool sclient_all_done(const sim_world *w)
{
    for (int i = 0; i < w->cl->n; i++)
        if (!w->cl->c[i].stopped)
            return false;
    return true;
}

void sclient_describe_pending(const sim_world *w, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < w->cl->n; i++) {
        const sim_client *c = &w->cl->c[i];
        if (c->stopped)
            continue;
        int m = snprintf(out + len, len < cap ? cap - len : 0, "%sc%u(%s%s, on n%d)",
                         len ? " " : "", c->id, c->final ? "reading the queues whole, " : "",
                         c->busy ? "waiting for a reply" : "retrying", c->node + 1);
        if (m > 0)
            len += (size_t)m;
    }
}

void sclient_counts(const sim_world *w, uint64_t *ok, uint64_t *fail, uint64_t *unknown)
{
    *ok = *fail = *unknown = 0;
    const sim_history *h = &w->cl->hist;
    for (size_t i = 0; i < h->n; i++) {
        uint8_t s = h->h[i].state;
        *ok += s == HOP_OK;
        *fail += s == HOP_FAIL;
        *unknown += s == HOP_UNKNOWN || s == HOP_PENDING;
    }
}

/* ------------------------------------------------------------------------ */

void sclient_start(sim_world *w)
{
    struct sim_clients *cl = calloc(1, sizeof(*cl));
    if (cl == NULL)
        abort();
    w->cl = cl;
    cl->n = w->p.nclients;
    cl->kpt = w->p.keys_per_type;
    cl->nq = w->p.queues;
    cl->fin = calloc(cl->nq ? (size_t)cl->nq : 1, sizeof(*cl->fin));
    if (cl->fin == NULL)
        abort();
    cl->c = calloc((size_t)cl->n, sizeof(*cl->c));
    if (cl->c == NULL)
        abort();
    for (int i = 0; i < cl->n; i++) {
        sim_client *c = &cl->c[i];
        c->id = (uint32_t)i + 1;
        c->node = -1;
        c->target = -1;
        schedule_wake(w, c, sim_between(w, 0, 50000));
    }
}

void sclient_free_all(sim_world *w)
{
    struct sim_clients *cl = w->cl;
    if (cl == NULL)
        return;
    for (int i = 0; i < cl->n; i++)
        kbuf_free(&cl->c[i].in);
    free(cl->c);
    for (size_t i = 0; i < cl->hist.n; i++) {
        free(cl->hist.h[i].arg);
        free(cl->hist.h[i].val);
    }
    free(cl->hist.h);
    for (int k = 0; k < cl->nq; k++) {
        for (size_t i = 0; i < cl->fin[k].n; i++)
            free((char *)cl->fin[k].e[i].p);
        free(cl->fin[k].e);
    }
    free(cl->fin);
    free(cl);
    w->cl = NULL;
}
