/* io/bus: the cluster bus. See bus.h and docs/decisions/0010-cluster-bus.md. */
#include "io/bus.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <xxhash.h>

#include "core/util/kbuf.h"
#include "core/util/prng.h"

#define BUS_MAGIC "KEELBUS1"
#define BUS_VERSION 1
#define SVC_CONTROL 0
#define HELLO_FIXED 26           /* HELLO payload without the cluster id */
#define PROOF_LEN 16
#define HS_MAX_FRAME 512         /* largest length field before the handshake is done */
#define READ_CHUNK (64 * 1024)
#define HS_READ_CHUNK 1024
#define KEEP_BUFFER_BYTES (1024 * 1024) /* larger read buffers are freed once empty */
#define MAX_IOV 256              /* frames coalesced into one uv_write */
#define MAX_PENDING_IN 64        /* inbound connections still in their handshake */

typedef struct bus_conn bus_conn;
typedef struct bus_peer bus_peer;

typedef struct bus_msg {
    struct bus_msg *next;
    size_t len;     /* frame bytes */
    char frame[];   /* u32 length | u8 service | payload */
} bus_msg;

typedef struct msgq {
    bus_msg *head, *tail;
    uint64_t bytes;
    size_t n;
} msgq;

typedef struct bus_resolve {
    uv_getaddrinfo_t req;
    bus *b;
    bus_peer *p; /* NULL once abandoned */
} bus_resolve;

enum { ST_CONNECTING = 0, ST_HELLO, ST_PROOF, ST_UP };

struct bus_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;       /* handshake deadline, then keepalive ticks */
    uv_connect_t creq;
    uv_write_t wreq;
    bus *b;
    bus_peer *peer;         /* dialed peer, or the one an inbound HELLO named; NULL once detached */
    bus_conn *prev, *next;
    int state;
    int open_handles;
    bool outbound;
    bool pending_in;        /* counted in b->npending_in */
    bool writing;
    bool closing;
    bool fail_later;        /* a failure to report from the timer (not from inside a bus_* call) */
    bool adopt;             /* its peer is whoever proves to be one (bus_dial_any, or an
                             * unknown id accepted with accept_unknown): peer is NULL until then */
    char adopt_host[64];    /* bus_dial_any: the address dialed, for a peer it creates */
    int adopt_port;
    uint64_t my_nonce, their_nonce, their_id;
    kbuf in;                /* bytes read, from the start of a frame */
    size_t need;            /* bytes still missing from the partial frame at in's start (up only) */
    msgq ctl;               /* the bus's own frames not written yet */
    msgq inflight;          /* frames of the uv_write in progress */
    size_t inflight_data;   /* messages among them */
    uint64_t inflight_bytes; /* bytes of those messages */
    uint64_t last_recv, last_send, last_tick;
};

struct bus_peer {
    bus *b;
    uint64_t id;
    char *host;
    int port;
    bus_conn *conn;         /* the up connection, or NULL */
    bus_conn *dialing;      /* our connection to it before it is up */
    bus_resolve *resolving; /* a name lookup for a dial */
    uv_timer_t timer;       /* the next dial */
    msgq q;
    unsigned attempt;       /* dials failed since the last handshake */
    bool removed;
    uint64_t sent, recvd, dropped, connects, refused;
    bus_peer *next;
};

struct bus {
    uv_loop_t *loop;
    bus_opts o;
    char *cluster_id;
    size_t cluster_len;
    char *secret;
    size_t secret_len;
    bus_recv_fn *recv;
    bus_peer_fn *peer_cb;
    void *ctx;
    kprng rng;
    uv_tcp_t listener;
    int port;
    bool listening;
    bool closing;
    bus_peer *peers;        /* in id order */
    bus_conn *conns;
    int npending_in;
    uint64_t refused;
    size_t nopen;           /* things whose close is awaited: listener, peers, conns, lookups, rejects */
    void (*done)(void *ctx);
    void *done_ctx;
};

/* ======================================================================== */
/* Helpers */

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint32_t get_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

static void *xcalloc(size_t n)
{
    void *p = calloc(1, n);
    if (p == NULL)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *d = xmalloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

static bus_msg *msg_new(uint8_t service, const void *payload, size_t len)
{
    bus_msg *m = xmalloc(sizeof(*m) + 5 + len);
    m->next = NULL;
    m->len = 5 + len;
    put_be32((unsigned char *)m->frame, (uint32_t)(1 + len));
    m->frame[4] = (char)service;
    if (len)
        memcpy(m->frame + 5, payload, len);
    return m;
}

static void q_push(msgq *q, bus_msg *m)
{
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->bytes += m->len;
    q->n++;
}

static bus_msg *q_pop(msgq *q)
{
    bus_msg *m = q->head;
    if (m == NULL)
        return NULL;
    q->head = m->next;
    if (q->head == NULL)
        q->tail = NULL;
    q->bytes -= m->len;
    q->n--;
    m->next = NULL;
    return m;
}

static void q_free(msgq *q)
{
    bus_msg *m;
    while ((m = q_pop(q)) != NULL)
        free(m);
}

static uint64_t nonce_new(bus *b)
{
    uint64_t n;
    if (getrandom(&n, sizeof(n), GRND_NONBLOCK) != (ssize_t)sizeof(n))
        n = kprng_next(&b->rng) ^ uv_hrtime();
    return n;
}

/* The PROOF of prover (nonce np, id ip) to verifier (nonce nv, id iv). */
static void proof_compute(const bus *b, uint64_t np, uint64_t nv, uint64_t ip, uint64_t iv,
                          unsigned char out[PROOF_LEN])
{
    size_t n = 4 + b->secret_len + 1 + b->cluster_len + 32;
    unsigned char *buf = xmalloc(n), *p = buf;
    put_be32(p, (uint32_t)b->secret_len);
    p += 4;
    if (b->secret_len)
        memcpy(p, b->secret, b->secret_len);
    p += b->secret_len;
    *p++ = (unsigned char)b->cluster_len;
    if (b->cluster_len)
        memcpy(p, b->cluster_id, b->cluster_len);
    p += b->cluster_len;
    put_be64(p, np);
    put_be64(p + 8, nv);
    put_be64(p + 16, ip);
    put_be64(p + 24, iv);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(buf, n));
    memcpy(out, c.digest, PROOF_LEN);
    free(buf);
}

static bool same_bytes(const unsigned char *a, const unsigned char *b, size_t n)
{
    unsigned char d = 0; /* no early exit */
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

static bus_peer *peer_find(const bus *b, uint64_t id)
{
    for (bus_peer *p = b->peers; p; p = p->next)
        if (p->id == id)
            return p;
    return NULL;
}

static bus_peer *peer_new(bus *b, uint64_t id, const char *host, int port);
static bool we_dial(const bus_peer *p) { return p->host && p->id > p->b->o.self_id; }

static void bus_unref(bus *b)
{
    if (--b->nopen > 0 || !b->closing)
        return;
    void (*done)(void *) = b->done;
    void *ctx = b->done_ctx;
    free(b->cluster_id);
    free(b->secret);
    free(b);
    if (done)
        done(ctx);
}

/* ======================================================================== */
/* Connections */

static void on_conn_handle_closed(uv_handle_t *h)
{
    bus_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    bus *b = c->b;
    if (c->prev)
        c->prev->next = c->next;
    else
        b->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->pending_in)
        b->npending_in--;
    kbuf_free(&c->in);
    q_free(&c->ctl);
    q_free(&c->inflight); /* empty: the write callback ran */
    free(c);
    bus_unref(b);
}

/* Unties c from its peer (the peer is then down or dials again as the
 * caller decides); what it was writing for the peer counts as dropped. */
static void conn_detach(bus_conn *c)
{
    bus_peer *p = c->peer;
    if (p == NULL)
        return;
    if (p->conn == c) {
        p->conn = NULL;
        p->dropped += c->inflight_data;
    }
    if (p->dialing == c)
        p->dialing = NULL;
    c->peer = NULL;
}

static void conn_close(bus_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

/* Closes c without any callback (from inside bus_* calls). */
static void conn_abort(bus_conn *c)
{
    conn_detach(c);
    conn_close(c);
}

static bus_conn *conn_new(bus *b)
{
    bus_conn *c = xcalloc(sizeof(*c));
    c->b = b;
    uv_tcp_init(b->loop, &c->tcp);
    uv_timer_init(b->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    c->next = b->conns;
    if (b->conns)
        b->conns->prev = c;
    b->conns = c;
    b->nopen++;
    c->my_nonce = nonce_new(b);
    c->last_recv = c->last_send = c->last_tick = uv_now(b->loop);
    return c;
}

static void peer_schedule_dial(bus_peer *p, int64_t delay_ms);
static int64_t backoff_next(bus_peer *p);
static void on_conn_timer(uv_timer_t *t);

/* c failed (from a libuv callback): closes it; if it was its peer's up
 * connection, peer_cb(down); a dialer dials again after a backoff. */
static void conn_fail(bus_conn *c, bool refused)
{
    if (c->closing)
        return;
    bus *b = c->b;
    bus_peer *p = c->peer;
    if (refused) {
        b->refused++;
        if (p)
            p->refused++;
    }
    bool was_up = p && p->conn == c;
    conn_detach(c);
    conn_close(c);
    if (p == NULL || p->removed || b->closing)
        return;
    /* Only our own dials count for the backoff: inbound connections that
     * merely claim to be p must not push our next dial away. */
    if (c->outbound && we_dial(p) && !p->conn && !p->dialing && !p->resolving)
        peer_schedule_dial(p, backoff_next(p));
    if (was_up && b->peer_cb)
        b->peer_cb(b->ctx, p->id, false);
}

static void on_write(uv_write_t *req, int status);

/* Starts a write of the connection's own frames, then (up) its peer's
 * queue, coalesced; one write at a time. */
static void conn_flush(bus_conn *c)
{
    if (c->closing || c->writing || c->fail_later)
        return;
    bus_peer *p = c->state == ST_UP && c->peer && c->peer->conn == c ? c->peer : NULL;
    uv_buf_t bufs[MAX_IOV];
    unsigned n = 0;
    bus_msg *m;
    while (n < MAX_IOV && (m = q_pop(&c->ctl)) != NULL) {
        bufs[n++] = uv_buf_init(m->frame, (unsigned)m->len);
        q_push(&c->inflight, m);
    }
    while (p && n < MAX_IOV && (m = q_pop(&p->q)) != NULL) {
        bufs[n++] = uv_buf_init(m->frame, (unsigned)m->len);
        q_push(&c->inflight, m);
        c->inflight_data++;
        c->inflight_bytes += m->len;
    }
    if (n == 0)
        return;
    c->wreq.data = c;
    c->writing = true;
    if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, bufs, n, on_write) != 0) {
        /* Rare (the stream is not writable). Report it from the timer, so
         * that no callback runs inside the bus_send that got here. */
        c->writing = false;
        if (p)
            p->dropped += c->inflight_data;
        q_free(&c->inflight);
        c->inflight_data = 0;
        c->inflight_bytes = 0;
        c->fail_later = true;
        uv_timer_stop(&c->timer);
        uv_timer_start(&c->timer, on_conn_timer, 0, 0);
    }
}

static void on_write(uv_write_t *req, int status)
{
    bus_conn *c = req->data;
    c->writing = false;
    if (c->closing || status < 0) {
        conn_fail(c, false); /* counts the frames in flight as dropped */
    } else {
        if (c->peer && c->peer->conn == c)
            c->peer->sent += c->inflight_data;
        c->last_send = uv_now(c->b->loop);
    }
    q_free(&c->inflight);
    c->inflight_data = 0;
    c->inflight_bytes = 0;
    conn_flush(c);
}

static void conn_send_ctl(bus_conn *c, const void *payload, size_t len)
{
    q_push(&c->ctl, msg_new(SVC_CONTROL, payload, len));
    conn_flush(c);
}

static void conn_send_hello(bus_conn *c)
{
    bus *b = c->b;
    unsigned char h[HELLO_FIXED + BUS_MAX_CLUSTER_ID], *p = h;
    memcpy(p, BUS_MAGIC, 8);
    p[8] = BUS_VERSION;
    put_be64(p + 9, b->o.self_id);
    p[17] = (unsigned char)b->cluster_len;
    if (b->cluster_len)
        memcpy(p + 18, b->cluster_id, b->cluster_len);
    put_be64(p + 18 + b->cluster_len, c->my_nonce);
    conn_send_ctl(c, h, HELLO_FIXED + b->cluster_len);
}

static void on_conn_timer(uv_timer_t *t)
{
    bus_conn *c = t->data;
    if (c->closing)
        return;
    if (c->fail_later) {
        conn_fail(c, false);
        return;
    }
    if (c->state != ST_UP) {
        /* The handshake took too long: refused once TCP was up. */
        conn_fail(c, c->state != ST_CONNECTING);
        return;
    }
    bus *b = c->b;
    uint64_t now = uv_now(b->loop);
    /* A tick far later than due means this loop was stalled and has not
     * read yet: silence measured across the stall proves nothing. */
    if (now - c->last_tick > 2 * (uint64_t)b->o.keepalive_ms)
        c->last_recv = now;
    c->last_tick = now;
    if (now - c->last_recv >= (uint64_t)b->o.idle_timeout_ms) {
        conn_fail(c, false);
        return;
    }
    if (!c->writing && c->ctl.n == 0 && now - c->last_send >= (uint64_t)b->o.keepalive_ms)
        conn_send_ctl(c, NULL, 0); /* ping */
}

/* c's handshake is done: it becomes its peer's connection. */
static void conn_up(bus_conn *c)
{
    bus *b = c->b;
    bus_peer *p = c->peer;
    c->state = ST_UP;
    if (c->pending_in) {
        c->pending_in = false;
        b->npending_in--;
    }
    if (p->dialing == c)
        p->dialing = NULL;
    bus_conn *old = p->conn;
    if (old)
        conn_abort(old); /* the newest wins; its writes in flight count as dropped */
    p->conn = c;
    p->connects++;
    p->attempt = 0;
    uv_timer_stop(&p->timer);
    if (p->resolving) {
        p->resolving->p = NULL;
        uv_cancel((uv_req_t *)&p->resolving->req);
        p->resolving = NULL;
    }
    uint64_t now = uv_now(b->loop);
    c->last_recv = c->last_send = c->last_tick = now;
    uv_timer_start(&c->timer, on_conn_timer, (uint64_t)b->o.keepalive_ms, (uint64_t)b->o.keepalive_ms);
    conn_flush(c);
    if (b->peer_cb == NULL)
        return;
    uint64_t id = p->id;
    if (old) {
        b->peer_cb(b->ctx, id, false);
        if (c->closing || p->conn != c)
            return;
    }
    b->peer_cb(b->ctx, id, true);
}

/* A HELLO: checks it; on success sends the PROOF. False: refuse. */
static bool conn_on_hello(bus_conn *c, const unsigned char *h, size_t len)
{
    bus *b = c->b;
    if (len < HELLO_FIXED || memcmp(h, BUS_MAGIC, 8) != 0 || h[8] != BUS_VERSION)
        return false;
    uint64_t id = get_be64(h + 9);
    size_t clen = h[17];
    if (len != HELLO_FIXED + clen)
        return false;
    if (!c->outbound) {
        /* Attribute what follows to the peer it claims to be, if known. */
        bus_peer *p = peer_find(b, id);
        c->peer = p;
        if (p == NULL && b->o.accept_unknown && id != 0 && id != b->o.self_id)
            c->adopt = true; /* a joining node: its peer is made once it proved itself */
        else if (p == NULL || (id >= b->o.self_id && p->host))
            return false; /* unknown, or it should be dialed by us */
    } else if (c->adopt) {
        if (id == 0 || id == b->o.self_id)
            return false;
    } else if (c->peer == NULL || id != c->peer->id) {
        return false;
    }
    if (clen != b->cluster_len || (clen && memcmp(h + 18, b->cluster_id, clen) != 0))
        return false;
    c->their_id = id;
    c->their_nonce = get_be64(h + 18 + clen);
    unsigned char proof[PROOF_LEN];
    proof_compute(b, c->my_nonce, c->their_nonce, b->o.self_id, id, proof);
    conn_send_ctl(c, proof, PROOF_LEN);
    return true;
}

/* One whole frame. May close c (and run callbacks). */
static void conn_on_frame(bus_conn *c, uint8_t service, const unsigned char *data, size_t len)
{
    bus *b = c->b;
    switch (c->state) {
    case ST_HELLO:
        if (service != SVC_CONTROL || !conn_on_hello(c, data, len)) {
            conn_fail(c, true);
            return;
        }
        c->state = ST_PROOF;
        return;
    case ST_PROOF: {
        unsigned char want[PROOF_LEN];
        if (service != SVC_CONTROL || len != PROOF_LEN || (c->peer == NULL && !c->adopt)) {
            conn_fail(c, true);
            return;
        }
        proof_compute(b, c->their_nonce, c->my_nonce, c->their_id, b->o.self_id, want);
        if (!same_bytes(want, data, PROOF_LEN)) {
            conn_fail(c, true);
            return;
        }
        if (c->adopt) {
            c->adopt = false;
            c->peer = peer_find(b, c->their_id);
            if (c->peer == NULL)
                c->peer = peer_new(b, c->their_id, c->outbound ? c->adopt_host : NULL,
                                   c->adopt_port);
        }
        conn_up(c);
        return;
    }
    case ST_UP:
        if (service == SVC_CONTROL) {
            if (len != 0)
                conn_fail(c, true);
            return; /* a ping */
        }
        if (service > BUS_SVC_CLUSTER) {
            conn_fail(c, true);
            return;
        }
        c->peer->recvd++;
        if (b->recv)
            b->recv(b->ctx, c->peer->id, service, data, len);
        return;
    default:
        conn_fail(c, true);
        return;
    }
}

/* Delivers every whole frame in c->in, keeps a partial one. */
static void conn_process(bus_conn *c)
{
    bus *b = c->b;
    size_t off = 0;
    c->need = 0;
    while (!c->closing) {
        size_t avail = c->in.len - off;
        if (avail < 4)
            break;
        const unsigned char *f = (const unsigned char *)c->in.data + off;
        uint32_t n = get_be32(f);
        uint32_t limit = c->state == ST_UP ? b->o.max_frame : HS_MAX_FRAME;
        if (n == 0 || n > limit) {
            conn_fail(c, true);
            return;
        }
        if (avail - 4 < n) {
            if (c->state == ST_UP)
                c->need = 4 + (size_t)n - avail;
            break;
        }
        off += 4 + (size_t)n;
        conn_on_frame(c, f[4], f + 5, (size_t)n - 1);
    }
    if (c->closing)
        return; /* c->in stays valid until the close callback: frees it */
    if (off == c->in.len) {
        c->in.len = 0;
        if (c->in.cap > KEEP_BUFFER_BYTES)
            kbuf_free(&c->in);
    } else if (off > 0) {
        kbuf_consume(&c->in, off);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    bus_conn *c = h->data;
    size_t want = c->state == ST_UP ? READ_CHUNK : HS_READ_CHUNK;
    if (c->need > want)
        want = c->need; /* the rest of a frame that is coming anyway */
    char *p = kbuf_reserve(&c->in, want);
    size_t room = c->in.cap - c->in.len;
    if (room > UINT32_MAX)
        room = UINT32_MAX;
    *buf = uv_buf_init(p, (unsigned)room);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    bus_conn *c = s->data;
    if (c->closing || nread == 0)
        return;
    if (nread < 0) {
        conn_fail(c, false);
        return;
    }
    c->in.len += (size_t)nread;
    c->last_recv = uv_now(c->b->loop);
    conn_process(c);
}

/* TCP is up: say HELLO and read. */
static void conn_start(bus_conn *c)
{
    uv_tcp_nodelay(&c->tcp, 1);
    c->state = ST_HELLO;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        conn_fail(c, false);
        return;
    }
    conn_send_hello(c);
}

static void on_connect(uv_connect_t *req, int status)
{
    bus_conn *c = req->data;
    if (c->closing)
        return;
    if (status < 0) {
        conn_fail(c, false);
        return;
    }
    conn_start(c);
}

/* ======================================================================== */
/* Dialing */

static int64_t backoff_next(bus_peer *p)
{
    const bus_opts *o = &p->b->o;
    int64_t lo = o->reconnect_min_ms, hi = lo;
    for (unsigned i = 0; i < p->attempt && hi < o->reconnect_max_ms; i++)
        hi *= 2;
    if (hi > o->reconnect_max_ms)
        hi = o->reconnect_max_ms;
    if (p->attempt < 64)
        p->attempt++;
    return lo + (int64_t)kprng_below(&p->b->rng, (uint64_t)(hi - lo) + 1);
}

static void conn_dial(bus_peer *p, const struct sockaddr *addr)
{
    bus *b = p->b;
    bus_conn *c = conn_new(b);
    c->outbound = true;
    c->peer = p;
    p->dialing = c;
    c->creq.data = c;
    uv_timer_start(&c->timer, on_conn_timer, (uint64_t)b->o.handshake_ms, 0);
    if (uv_tcp_connect(&c->creq, &c->tcp, addr, on_connect) != 0) {
        conn_abort(c);
        peer_schedule_dial(p, backoff_next(p));
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    bus_resolve *r = req->data;
    bus *b = r->b;
    bus_peer *p = r->p;
    if (p) {
        p->resolving = NULL;
        size_t n = 0;
        for (struct addrinfo *a = res; status == 0 && a; a = a->ai_next)
            n++;
        if (n > 0) {
            /* Successive dials go through the addresses in turn. */
            struct addrinfo *a = res;
            for (size_t k = p->attempt % n; k > 0; k--)
                a = a->ai_next;
            conn_dial(p, a->ai_addr);
        } else
            peer_schedule_dial(p, backoff_next(p));
    }
    uv_freeaddrinfo(res);
    free(r);
    bus_unref(b);
}

static void peer_dial(bus_peer *p)
{
    bus *b = p->b;
    if (b->closing || p->removed || p->conn || p->dialing || p->resolving || !p->host)
        return;
    struct sockaddr_storage addr;
    int r = strchr(p->host, ':') ? uv_ip6_addr(p->host, p->port, (struct sockaddr_in6 *)&addr)
                                 : uv_ip4_addr(p->host, p->port, (struct sockaddr_in *)&addr);
    if (r == 0) {
        conn_dial(p, (const struct sockaddr *)&addr);
        return;
    }
    bus_resolve *rs = xcalloc(sizeof(*rs));
    rs->b = b;
    rs->p = p;
    rs->req.data = rs;
    char port[16];
    snprintf(port, sizeof(port), "%d", p->port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (uv_getaddrinfo(b->loop, &rs->req, on_resolved, p->host, port, &hints) != 0) {
        free(rs);
        peer_schedule_dial(p, backoff_next(p));
        return;
    }
    b->nopen++;
    p->resolving = rs;
}

static void on_peer_timer(uv_timer_t *t) { peer_dial(t->data); }

static void peer_schedule_dial(bus_peer *p, int64_t delay_ms)
{
    uv_timer_start(&p->timer, on_peer_timer, (uint64_t)delay_ms, 0);
}

/* Abandons a dial in progress (connection or lookup), without callbacks. */
static void peer_abandon_dial(bus_peer *p)
{
    if (p->dialing)
        conn_abort(p->dialing);
    if (p->resolving) {
        p->resolving->p = NULL;
        uv_cancel((uv_req_t *)&p->resolving->req);
        p->resolving = NULL;
    }
    uv_timer_stop(&p->timer);
}

/* A peer in b's list (host NULL: one that dials us and is never dialed). */
static bus_peer *peer_new(bus *b, uint64_t id, const char *host, int port)
{
    bus_peer *p = xcalloc(sizeof(*p));
    p->b = b;
    p->id = id;
    p->host = host ? xstrdup(host) : NULL;
    p->port = port;
    uv_timer_init(b->loop, &p->timer);
    p->timer.data = p;
    b->nopen++;
    bus_peer **pp = &b->peers;
    while (*pp && (*pp)->id < id)
        pp = &(*pp)->next;
    p->next = *pp;
    *pp = p;
    return p;
}

int bus_dial_any(bus *b, const char *host, int port)
{
    if (b->closing || host == NULL || strlen(host) >= sizeof(((bus_conn *)0)->adopt_host))
        return UV_EINVAL;
    struct sockaddr_storage addr;
    int r = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)
                              : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (r != 0)
        return r;
    bus_conn *c = conn_new(b);
    c->outbound = true;
    c->adopt = true;
    snprintf(c->adopt_host, sizeof(c->adopt_host), "%s", host);
    c->adopt_port = port;
    c->creq.data = c;
    uv_timer_start(&c->timer, on_conn_timer, (uint64_t)b->o.handshake_ms, 0);
    r = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&addr, on_connect);
    if (r != 0)
        conn_abort(c);
    return r;
}

/* ======================================================================== */
/* Listening */

static void on_reject_closed(uv_handle_t *h)
{
    bus *b = h->data;
    free(h);
    bus_unref(b);
}

static void on_connection(uv_stream_t *listener, int status)
{
    bus *b = listener->data;
    if (status < 0 || b->closing)
        return;
    if (b->npending_in >= MAX_PENDING_IN) {
        /* Accept (libuv stops accepting while one is pending) and close. */
        uv_tcp_t *t = xmalloc(sizeof(*t));
        uv_tcp_init(b->loop, t);
        t->data = b;
        b->nopen++;
        uv_accept(listener, (uv_stream_t *)t);
        uv_close((uv_handle_t *)t, on_reject_closed);
        b->refused++;
        return;
    }
    bus_conn *c = conn_new(b);
    c->pending_in = true;
    b->npending_in++;
    uv_timer_start(&c->timer, on_conn_timer, (uint64_t)b->o.handshake_ms, 0);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    conn_start(c);
}

static void on_listener_closed(uv_handle_t *h) { bus_unref(h->data); }

/* ======================================================================== */
/* API */

void bus_opts_default(bus_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->cluster_id = "";
    o->secret = "";
    o->max_queue_bytes = 64ULL << 20;
    o->max_frame = 512U << 20;
    o->reconnect_min_ms = 100;
    o->reconnect_max_ms = 5000;
    o->handshake_ms = 5000;
    o->keepalive_ms = 1000;
    o->idle_timeout_ms = 10000;
}

bus *bus_new(uv_loop_t *loop, const bus_opts *o, bus_recv_fn *recv, bus_peer_fn *peer_cb, void *ctx)
{
    bus_opts d;
    bus_opts_default(&d);
    const char *cid = o->cluster_id ? o->cluster_id : "";
    const char *sec = o->secret ? o->secret : "";
    if (o->self_id == 0 || strlen(cid) > BUS_MAX_CLUSTER_ID)
        return NULL;
    bus *b = xcalloc(sizeof(*b));
    b->loop = loop;
    b->o = *o;
    if (b->o.max_queue_bytes == 0)
        b->o.max_queue_bytes = d.max_queue_bytes;
    if (b->o.max_frame == 0)
        b->o.max_frame = d.max_frame;
    if (b->o.max_frame > UINT32_MAX - 16)
        b->o.max_frame = UINT32_MAX - 16; /* a frame's bytes fit a uv_buf_t */
    if (b->o.reconnect_min_ms <= 0)
        b->o.reconnect_min_ms = d.reconnect_min_ms;
    if (b->o.reconnect_max_ms <= 0)
        b->o.reconnect_max_ms = d.reconnect_max_ms;
    if (b->o.reconnect_max_ms < b->o.reconnect_min_ms)
        b->o.reconnect_max_ms = b->o.reconnect_min_ms;
    if (b->o.handshake_ms <= 0)
        b->o.handshake_ms = d.handshake_ms;
    if (b->o.keepalive_ms <= 0)
        b->o.keepalive_ms = d.keepalive_ms;
    if (b->o.idle_timeout_ms <= 0)
        b->o.idle_timeout_ms = d.idle_timeout_ms;
    b->cluster_id = xstrdup(cid);
    b->cluster_len = strlen(cid);
    b->secret = xstrdup(sec);
    b->secret_len = strlen(sec);
    b->o.cluster_id = b->cluster_id;
    b->o.secret = b->secret;
    b->recv = recv;
    b->peer_cb = peer_cb;
    b->ctx = ctx;
    kprng_seed(&b->rng, o->seed);
    uv_tcp_init(loop, &b->listener);
    b->listener.data = b;
    b->nopen = 1;
    return b;
}

static void set_err(char *err, size_t cap, const char *what, const char *host, int port, int r)
{
    if (err && cap)
        snprintf(err, cap, "%s %s port %d: %s", what, host, port, uv_strerror(r));
}

int bus_listen(bus *b, const char *host, int port, char *err, size_t cap)
{
    if (host == NULL)
        host = "127.0.0.1";
    if (b->closing || b->listening) {
        set_err(err, cap, "cluster bus already listening, cannot listen on", host, port, UV_EINVAL);
        return UV_EINVAL;
    }
    if (port < 0 || port > 65535) {
        set_err(err, cap, "invalid cluster bus port for", host, port, UV_EINVAL);
        return UV_EINVAL;
    }
    struct sockaddr_storage addr;
    int r = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)
                              : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (r != 0) {
        set_err(err, cap, "invalid cluster bus address", host, port, r);
        return r;
    }
    r = uv_tcp_bind(&b->listener, (const struct sockaddr *)&addr, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&b->listener, 128, on_connection);
    if (r != 0) {
        set_err(err, cap, "cluster bus cannot listen on", host, port, r);
        return r;
    }
    b->listening = true;
    b->port = port;
    struct sockaddr_storage got;
    int len = sizeof(got);
    if (uv_tcp_getsockname(&b->listener, (struct sockaddr *)&got, &len) == 0)
        b->port = got.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&got)->sin6_port)
                                            : ntohs(((struct sockaddr_in *)&got)->sin_port);
    return 0;
}

int bus_port(const bus *b) { return b->listening ? b->port : 0; }

void bus_add_peer(bus *b, uint64_t id, const char *host, int port)
{
    if (b->closing || id == 0 || id == b->o.self_id || host == NULL)
        return;
    bus_peer *p = peer_find(b, id);
    if (p) {
        if (p->host && strcmp(p->host, host) == 0 && p->port == port)
            return;
        free(p->host);
        p->host = xstrdup(host);
        p->port = port;
        if (we_dial(p) && !p->conn) {
            peer_abandon_dial(p);
            p->attempt = 0;
            peer_schedule_dial(p, 0);
        }
        return;
    }
    p = peer_new(b, id, host, port);
    if (we_dial(p))
        peer_schedule_dial(p, 0);
}

static void on_peer_closed(uv_handle_t *h)
{
    bus_peer *p = h->data;
    bus *b = p->b;
    free(p->host);
    free(p);
    bus_unref(b);
}

/* Unlinks p, closes its connections, drops its queue; freed once its timer
 * is closed. No callbacks. */
static void peer_drop(bus_peer *p)
{
    bus *b = p->b;
    for (bus_peer **pp = &b->peers; *pp; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    p->removed = true;
    peer_abandon_dial(p);
    for (bus_conn *c = b->conns; c; c = c->next)
        if (c->peer == p)
            conn_abort(c);
    q_free(&p->q);
    uv_close((uv_handle_t *)&p->timer, on_peer_closed);
}

void bus_remove_peer(bus *b, uint64_t id)
{
    if (b->closing)
        return;
    bus_peer *p = peer_find(b, id);
    if (p)
        peer_drop(p);
}

bool bus_send(bus *b, uint64_t to, uint8_t service, const void *data, size_t len)
{
    if (b->closing)
        return false;
    bus_peer *p = peer_find(b, to);
    if (p == NULL)
        return false;
    if (service < BUS_SVC_KV || service > BUS_SVC_CLUSTER || len >= b->o.max_frame ||
        (len && data == NULL)) {
        p->dropped++;
        return false;
    }
    uint64_t frame = 5 + (uint64_t)len;
    uint64_t queued = p->q.bytes + (p->conn ? p->conn->inflight_bytes : 0);
    if (queued != 0 && queued + frame > b->o.max_queue_bytes) {
        p->dropped++;
        return false;
    }
    q_push(&p->q, msg_new(service, data, len));
    if (p->conn)
        conn_flush(p->conn);
    return true;
}

bool bus_connected(const bus *b, uint64_t peer)
{
    const bus_peer *p = peer_find(b, peer);
    return p && p->conn;
}

size_t bus_stats(const bus *b, bus_peer_stats *out, size_t cap)
{
    size_t n = 0;
    for (const bus_peer *p = b->peers; p; p = p->next, n++) {
        if (n >= cap)
            continue;
        bus_peer_stats *s = &out[n];
        s->id = p->id;
        s->connected = p->conn != NULL;
        s->queued_bytes = p->q.bytes + (p->conn ? p->conn->inflight_bytes : 0);
        s->sent_msgs = p->sent;
        s->recv_msgs = p->recvd;
        s->dropped_msgs = p->dropped;
        s->connects = p->connects;
        s->refused = p->refused;
    }
    return n;
}

uint64_t bus_refused_total(const bus *b) { return b->refused; }

void bus_close(bus *b, void (*done)(void *ctx), void *ctx)
{
    if (b == NULL || b->closing)
        return;
    b->closing = true;
    b->done = done;
    b->done_ctx = ctx;
    while (b->peers)
        peer_drop(b->peers);
    for (bus_conn *c = b->conns; c; c = c->next)
        conn_abort(c);
    uv_close((uv_handle_t *)&b->listener, on_listener_closed);
}
