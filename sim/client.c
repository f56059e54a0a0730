/* sim/client: clients, workload, history. See client.h. */
#include "sim/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/reply.h"

#define LINK_US_MIN 20            /* client <-> node, one way */
#define LINK_US_MAX 200

enum { KT_REG = 0, KT_COUNTER, KT_APPEND };

struct sim_clients {
    sim_client *c;
    int n;
    int kpt; /* keys per type */
    sim_history hist;
};

static sim_client *client_of(sim_world *w, uint32_t id)
{
    return id >= 1 && (int)id <= w->cl->n ? &w->cl->c[id - 1] : NULL;
}

int sclient_nkeys(const sim_world *w) { return 3 * w->cl->kpt; }

void sclient_key_name(const sim_world *w, int key, char *out, size_t cap)
{
    static const char prefix[3] = {'r', 'c', 'a'};
    snprintf(out, cap, "%c%d", prefix[key / w->cl->kpt], key % w->cl->kpt);
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

static size_t hop_new(sim_world *w, sim_client *c, int key, lc_kind kind, const char *arg,
                      size_t arglen)
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
    op->arg = arg ? dup_bytes(arg, arglen) : NULL;
    op->arglen = arglen;
    op->call = w->now;
    op->ret = LC_UNKNOWN;
    return h->n++;
}

static sim_hop *hop(sim_world *w, size_t i) { return &w->cl->hist.h[i]; }

static const char *kind_name(lc_kind k)
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

/* Picks one op on a key of type t, appends its request and records it. */
static size_t gen_op(sim_world *w, sim_client *c, int t, kbuf *req)
{
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
    const char *argv[3] = {kind_name(kind), kname, arg};
    size_t lens[3] = {strlen(argv[0]), strlen(kname), arglen};
    put_cmd(req, arg ? 3 : 2, argv, lens);
    return hop_new(w, c, key, kind, arg, arglen);
}

static void issue(sim_world *w, sim_client *c)
{
    kbuf req = KBUF_INIT;
    c->seq++;
    c->multi = sim_chance(w, w->p.multi_ppm);
    if (c->multi) {
        int t1 = (int)kprng_below(&w->rng, 3);
        int t2 = (t1 + 1 + (int)kprng_below(&w->rng, 2)) % 3;
        const char *m = "MULTI", *e = "EXEC";
        size_t ml = 5, el = 4;
        put_cmd(&req, 1, &m, &ml);
        c->hop[0] = gen_op(w, c, t1, &req);
        c->hop[1] = gen_op(w, c, t2, &req);
        put_cmd(&req, 1, &e, &el);
        c->nparts = 2;
        c->nexpect = 4;
    } else {
        c->hop[0] = gen_op(w, c, (int)kprng_below(&w->rng, 3), &req);
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
                      (unsigned long long)h->id, c->multi ? "MULTI " : "", kind_name(h->kind),
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

/* The reply e to h (one op). Returns the state. */
static uint8_t interpret(sim_world *w, sim_client *c, sim_hop *h, const sreply_elem *e, int *hint)
{
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

/* The op in flight ends: each part in its state. */
static void complete(sim_world *w, sim_client *c, const uint8_t *states, int hint)
{
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
        st[0] = interpret(w, c, hop(w, c->hop[0]), &r[0].v, &hint);
        complete(w, c, st, hint);
        return;
    }
    const sreply *m = &r[0], *x = &r[3];
    if (m->v.type == SR_STATUS && x->v.type == SR_ARRAY && x->nelems == 2) {
        for (int i = 0; i < 2; i++)
            st[i] = interpret(w, c, hop(w, c->hop[i]), &x->elems[i], &hint);
    } else if (m->v.type == SR_STATUS && x->v.type == SR_ERROR) {
        /* EXEC refused: NOTLEADER and EXECABORT ran nothing. */
        for (int i = 0; i < 2; i++)
            st[i] = error_state(w, c, hop(w, c->hop[i]), &x->v, &hint);
    } else if (m->v.type == SR_ERROR) {
        /* MULTI itself refused: each op ran (or not) on its own. */
        for (int i = 0; i < 2; i++)
            st[i] = interpret(w, c, hop(w, c->hop[i]), &r[1 + i].v, &hint);
    } else {
        sim_trace(w, "c%u <- MULTI: unexpected replies", c->id);
    }
    complete(w, c, st, hint);
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
    if (c->node < 0 && !connect_to(w, c)) {
        schedule_wake(w, c, sim_between(w, 20000, 100000));
        return;
    }
    issue(w, c);
}

void sclient_reply(sim_world *w, const sim_event *ev)
{
    sim_client *c = client_of(w, ev->client);
    if (c == NULL || ev->gen != c->conn_gen || !c->busy)
        return;
    kbuf_append(&c->in, ev->data, ev->len);
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
    if (c == NULL || !c->busy || c->multi || c->nparts != 1)
        return false;
    const sim_hop *h = &w->cl->hist.h[c->hop[0]];
    if (h->kind != LC_GET)
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
        int m = snprintf(out + len, len < cap ? cap - len : 0, "%sc%u(%s, on n%d)",
                         len ? " " : "", c->id, c->busy ? "waiting for a reply" : "retrying",
                         c->node + 1);
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
    free(cl);
    w->cl = NULL;
}
