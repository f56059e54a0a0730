/* io/bus: two or three buses on one uv loop in this thread, on 127.0.0.1
 * with ephemeral ports; raw sockets (watched by a uv_poll) play broken or
 * hand-written peers. Every wait runs the loop until a condition holds, with
 * a uv_timer as the safety net; no sleeps. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <xxhash.h>

#include "core/util/kbuf.h"
#include "core/util/prng.h"
#include "io/bus.h"

#define WAIT_MS 20000 /* safety net: generous, for ASan */
#define MAX_NODES 4

typedef struct env env;

typedef struct tnode {
    env *e;
    bus *b;
    uint64_t id;
    int port;
    bool open;              /* bus_close not called yet */
    bool done;              /* close's done ran */
    char ev[512];           /* peer_cb calls: "U2 D2 U2 " */
    uint64_t nrecv;
    uint64_t from_count[8]; /* messages from each id */
    bool check;             /* messages follow the stream pattern */
    bool bad;
    char why[160];
    /* Hooks run from the callbacks. */
    bool echo;              /* send every message back */
    uint64_t close_at;      /* bus_close from recv at this message (0: never) */
    bool remove_on_down;    /* bus_remove_peer from peer_cb(down) */
    kbuf last;              /* the last message's bytes */
    uint8_t last_svc;
} tnode;

struct env {
    uv_loop_t loop;
    uv_timer_t safety;
    bool expired;
    tnode n[MAX_NODES];
};

/* ======================================================================== */
/* Message stream: message i from node f has a size, a service and bytes
 * that the receiver can check. */

static size_t msg_size(uint64_t i)
{
    if (i % 500 == 7)
        return 1u << 20; /* 1 MiB */
    if (i % 100 == 3)
        return 65536 + (size_t)i;
    if (i % 10 == 0)
        return 0;
    return (size_t)((i * 37) % 300);
}

static uint8_t msg_svc(uint64_t i) { return (uint8_t)(1 + i % 3); }

static uint8_t msg_byte(uint64_t from, uint64_t i, size_t j)
{
    return (uint8_t)(from * 17 + i * 131 + j * 7 + (j >> 8));
}

static unsigned char scratch[(1u << 20) + 1024];

static size_t msg_fill(uint64_t from, uint64_t i)
{
    size_t n = msg_size(i);
    for (size_t j = 0; j < n; j++)
        scratch[j] = msg_byte(from, i, j);
    return n;
}

static void fail_node(tnode *t, const char *why, uint64_t from, uint64_t i)
{
    if (!t->bad)
        snprintf(t->why, sizeof(t->why), "node %llu: %s (from %llu, message %llu)",
                 (unsigned long long)t->id, why, (unsigned long long)from, (unsigned long long)i);
    t->bad = true;
}

static void on_recv(void *ctx, uint64_t from, uint8_t service, const void *data, size_t len)
{
    tnode *t = ctx;
    t->nrecv++;
    if (from >= 8) {
        fail_node(t, "bad sender", from, 0);
        return;
    }
    uint64_t i = t->from_count[from]++;
    kbuf_clear(&t->last);
    kbuf_append(&t->last, data, len);
    t->last_svc = service;
    if (t->check) {
        const unsigned char *d = data;
        if (service != msg_svc(i))
            fail_node(t, "service", from, i);
        else if (len != msg_size(i))
            fail_node(t, "size", from, i);
        else
            for (size_t j = 0; j < len; j++)
                if (d[j] != msg_byte(from, i, j)) {
                    fail_node(t, "bytes", from, i);
                    break;
                }
    }
    if (t->echo && !bus_send(t->b, from, service, data, len))
        fail_node(t, "echo refused", from, i);
    if (t->close_at && t->nrecv == t->close_at) {
        bus_close(t->b, NULL, NULL);
        t->open = false;
    }
}

static void on_done(void *ctx) { ((tnode *)ctx)->done = true; }

static void on_peer(void *ctx, uint64_t peer, bool up)
{
    tnode *t = ctx;
    size_t l = strlen(t->ev);
    snprintf(t->ev + l, sizeof(t->ev) - l, "%c%llu ", up ? 'U' : 'D', (unsigned long long)peer);
    if (!up && t->remove_on_down)
        bus_remove_peer(t->b, peer);
}

/* ======================================================================== */
/* Environment */

static void on_safety(uv_timer_t *h) { ((env *)h->data)->expired = true; }

#define RUN_UNTIL_MS(e, cond, ms)                                                                 \
    do {                                                                                          \
        (e)->expired = false;                                                                     \
        uv_timer_start(&(e)->safety, on_safety, (ms), 0);                                         \
        while (!(cond) && !(e)->expired)                                                          \
            uv_run(&(e)->loop, UV_RUN_ONCE);                                                      \
        uv_timer_stop(&(e)->safety);                                                              \
        cr_assert((cond), "timed out waiting for: %s", #cond);                                   \
    } while (0)

#define RUN_UNTIL(e, cond) RUN_UNTIL_MS(e, cond, WAIT_MS)

/* Runs the loop for ms (things that must NOT happen get the chance to). */
static void run_for(env *e, uint64_t ms)
{
    e->expired = false;
    uv_timer_start(&e->safety, on_safety, ms, 0);
    while (!e->expired)
        uv_run(&e->loop, UV_RUN_ONCE);
}

static void env_init(env *e)
{
    memset(e, 0, sizeof(*e));
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(uv_loop_init(&e->loop), 0);
    uv_timer_init(&e->loop, &e->safety);
    e->safety.data = e;
}

static void test_opts(bus_opts *o, uint64_t id)
{
    bus_opts_default(o);
    o->self_id = id;
    o->cluster_id = "test-cluster";
    o->secret = "s3cret";
    o->reconnect_min_ms = 10;
    o->reconnect_max_ms = 50;
    o->seed = id * 7919;
}

/* Starts node k with options o (listening on an ephemeral port, or port). */
static tnode *node_start_opts(env *e, int k, const bus_opts *o, int port)
{
    tnode *t = &e->n[k];
    kbuf_free(&t->last);
    memset(t, 0, sizeof(*t));
    t->e = e;
    t->id = o->self_id;
    t->check = true;
    t->b = bus_new(&e->loop, o, on_recv, on_peer, t);
    cr_assert_not_null(t->b);
    char err[160] = "";
    cr_assert_eq(bus_listen(t->b, "127.0.0.1", port, err, sizeof(err)), 0, "listen: %s", err);
    t->port = bus_port(t->b);
    cr_assert_gt(t->port, 0);
    t->open = true;
    return t;
}

static tnode *node_start(env *e, int k, uint64_t id)
{
    bus_opts o;
    test_opts(&o, id);
    return node_start_opts(e, k, &o, 0);
}

static void node_close(env *e, tnode *t)
{
    if (t->open) {
        t->open = false;
        bus_close(t->b, on_done, t);
    }
    RUN_UNTIL(e, t->done || t->b == NULL);
}

static void link_nodes(tnode *a, tnode *b)
{
    bus_add_peer(a->b, b->id, "127.0.0.1", b->port);
    bus_add_peer(b->b, a->id, "127.0.0.1", a->port);
}

/* Closes what is open, runs the loop until no handle is left, and checks
 * the loop closes (ASan then checks that nothing leaked). */
static void env_fini(env *e)
{
    for (int k = 0; k < MAX_NODES; k++)
        if (e->n[k].open) {
            e->n[k].open = false;
            bus_close(e->n[k].b, on_done, &e->n[k]);
        }
    uv_close((uv_handle_t *)&e->safety, NULL);
    int alive = 1;
    for (int i = 0; i < 100000 && alive; i++)
        alive = uv_run(&e->loop, UV_RUN_ONCE);
    cr_assert_eq(alive, 0, "loop still has handles after bus_close");
    cr_assert_eq(uv_loop_close(&e->loop), 0);
    for (int k = 0; k < MAX_NODES; k++) {
        kbuf_free(&e->n[k].last);
        cr_assert_not(e->n[k].bad, "%s", e->n[k].why);
    }
}

static bus_peer_stats stats_of(const tnode *t, uint64_t peer)
{
    bus_peer_stats s[8];
    size_t n = bus_stats(t->b, s, 8);
    for (size_t i = 0; i < n && i < 8; i++)
        if (s[i].id == peer)
            return s[i];
    cr_assert_fail("node %llu has no peer %llu", (unsigned long long)t->id, (unsigned long long)peer);
    bus_peer_stats z;
    memset(&z, 0, sizeof(z));
    return z;
}

/* Sends messages [from, to) of t's stream to peer. */
static void send_stream(tnode *t, uint64_t peer, uint64_t from, uint64_t to)
{
    for (uint64_t i = from; i < to; i++) {
        size_t n = msg_fill(t->id, i);
        cr_assert(bus_send(t->b, peer, msg_svc(i), scratch, n), "bus_send %llu", (unsigned long long)i);
    }
}

/* ======================================================================== */
/* Raw sockets */

typedef struct raw {
    int fd;
    uv_poll_t poll;
    kbuf got;
    bool eof;
    bool closed;
} raw;

static void raw_on_poll(uv_poll_t *h, int status, int events)
{
    (void)events;
    raw *r = h->data;
    if (status < 0) {
        r->eof = true;
        uv_poll_stop(h);
        return;
    }
    char buf[65536];
    for (;;) {
        ssize_t n = recv(r->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            kbuf_append(&r->got, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        r->eof = true; /* 0, ECONNRESET, ... */
        uv_poll_stop(h);
        return;
    }
}

static raw *raw_connect(env *e, int port)
{
    raw *r = calloc(1, sizeof(*r));
    cr_assert_not_null(r);
    r->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(r->fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Completes in the kernel (listen backlog); the loop accepts later. */
    cr_assert_eq(connect(r->fd, (struct sockaddr *)&a, sizeof(a)), 0, "connect: %s", strerror(errno));
    cr_assert_eq(uv_poll_init_socket(&e->loop, &r->poll, r->fd), 0);
    r->poll.data = r;
    uv_poll_start(&r->poll, UV_READABLE | UV_DISCONNECT, raw_on_poll);
    return r;
}

static void raw_send(raw *r, const void *p, size_t len)
{
    /* Small sends to a socket just connected: the kernel takes them. The
     * bus may have closed it already: errors are fine. */
    (void)send(r->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void on_raw_closed(uv_handle_t *h)
{
    raw *r = h->data;
    close(r->fd);
    r->closed = true;
}

static void raw_free(env *e, raw *r)
{
    uv_close((uv_handle_t *)&r->poll, on_raw_closed);
    RUN_UNTIL(e, r->closed);
    kbuf_free(&r->got);
    free(r);
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* A frame as the header documents it. */
static void raw_frame(raw *r, uint8_t svc, const void *payload, size_t len)
{
    unsigned char *f = malloc(5 + len);
    cr_assert_not_null(f);
    put32(f, (uint32_t)(1 + len));
    f[4] = svc;
    if (len)
        memcpy(f + 5, payload, len);
    raw_send(r, f, 5 + len);
    free(f);
}

static size_t hello_payload(unsigned char *h, uint64_t id, const char *cluster, uint64_t nonce)
{
    size_t cl = strlen(cluster);
    memcpy(h, "KEELBUS1", 8);
    h[8] = 1;
    put64(h + 9, id);
    h[17] = (unsigned char)cl;
    memcpy(h + 18, cluster, cl);
    put64(h + 18 + cl, nonce);
    return 26 + cl;
}

/* The documented proof: XXH3-128 of u32 len(secret) | secret | u8 len(cid) |
 * cid | prover's nonce | verifier's nonce | prover's id | verifier's id. */
static void proof_of(unsigned char out[16], const char *secret, const char *cluster, uint64_t np,
                     uint64_t nv, uint64_t ip, uint64_t iv)
{
    unsigned char buf[1024], *p = buf;
    size_t sl = strlen(secret), cl = strlen(cluster);
    put32(p, (uint32_t)sl);
    memcpy(p + 4, secret, sl);
    p += 4 + sl;
    *p++ = (unsigned char)cl;
    memcpy(p, cluster, cl);
    p += cl;
    put64(p, np);
    put64(p + 8, nv);
    put64(p + 16, ip);
    put64(p + 24, iv);
    p += 32;
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(buf, (size_t)(p - buf)));
    memcpy(out, c.digest, 16);
}

/* Plays node `id` by hand against t (which must know id as a lower peer):
 * HELLO, checks t's HELLO and PROOF byte for byte, sends its PROOF. Leaves
 * r->got holding what t sent after its PROOF. */
static void raw_handshake(env *e, raw *r, tnode *t, uint64_t id, const char *cluster, const char *secret)
{
    unsigned char h[300];
    uint64_t my_nonce = 0x0123456789abcdefULL;
    raw_frame(r, 0, h, hello_payload(h, id, cluster, my_nonce));
    size_t cl = strlen(cluster);
    size_t hello_len = 4 + 1 + 26 + cl, want = hello_len + 4 + 1 + 16;
    RUN_UNTIL(e, r->got.len >= want || r->eof);
    cr_assert_geq(r->got.len, want, "got %zu bytes", r->got.len);
    const unsigned char *g = (const unsigned char *)r->got.data;
    unsigned char fh[5];
    put32(fh, (uint32_t)(1 + 26 + cl));
    fh[4] = 0;
    cr_assert_eq(memcmp(g, fh, 5), 0, "HELLO frame header");
    cr_assert_eq(memcmp(g + 5, "KEELBUS1", 8), 0);
    cr_assert_eq(g[13], 1, "version");
    cr_assert_eq(get64(g + 14), t->id, "node id");
    cr_assert_eq(g[22], cl);
    cr_assert_eq(memcmp(g + 23, cluster, cl), 0);
    uint64_t their_nonce = get64(g + 23 + cl);
    const unsigned char *pf = g + hello_len;
    cr_assert_eq(pf[0], 0);
    cr_assert_eq(pf[3], 17);
    cr_assert_eq(pf[4], 0);
    unsigned char want_proof[16];
    proof_of(want_proof, secret, cluster, their_nonce, my_nonce, t->id, id);
    cr_assert_eq(memcmp(pf + 5, want_proof, 16), 0, "the bus's PROOF is as documented");
    unsigned char mine[16];
    proof_of(mine, secret, cluster, my_nonce, their_nonce, id, t->id);
    raw_frame(r, 0, mine, 16);
    kbuf_consume(&r->got, want);
}

/* ======================================================================== */
/* Tests */

Test(bus, handshake_and_messages_both_ways_in_order)
{
    env e;
    env_init(&e);
    tnode *a = node_start(&e, 0, 1), *b = node_start(&e, 1, 2);
    link_nodes(a, b);
    const uint64_t N = 3000;
    /* Half queued before the connection exists, half once it is up. */
    send_stream(a, 2, 0, N / 2);
    send_stream(b, 1, 0, N / 2);
    cr_assert_not(bus_connected(a->b, 2));
    RUN_UNTIL(&e, bus_connected(a->b, 2) && bus_connected(b->b, 1));
    send_stream(a, 2, N / 2, N);
    send_stream(b, 1, N / 2, N);
    RUN_UNTIL(&e, (a->nrecv == N && b->nrecv == N) || a->bad || b->bad);
    cr_assert_not(a->bad, "%s", a->why);
    cr_assert_not(b->bad, "%s", b->why);
    cr_assert_str_eq(a->ev, "U2 ");
    cr_assert_str_eq(b->ev, "U1 ");
    RUN_UNTIL(&e, stats_of(a, 2).sent_msgs == N && stats_of(b, 1).sent_msgs == N);
    bus_peer_stats s = stats_of(a, 2);
    cr_assert(s.connected);
    cr_assert_eq(s.recv_msgs, N);
    cr_assert_eq(s.dropped_msgs, 0);
    cr_assert_eq(s.connects, 1);
    cr_assert_eq(s.refused, 0);
    cr_assert_eq(s.queued_bytes, 0);
    s = stats_of(b, 1);
    cr_assert_eq(s.recv_msgs, N);
    cr_assert_eq(s.connects, 1);
    cr_assert_eq(bus_refused_total(a->b), 0);
    cr_assert_eq(bus_refused_total(b->b), 0);
    env_fini(&e);
}

Test(bus, three_nodes_full_mesh)
{
    env e;
    env_init(&e);
    tnode *t[3];
    for (int k = 0; k < 3; k++)
        t[k] = node_start(&e, k, (uint64_t)k + 1);
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            link_nodes(t[i], t[j]);
    const uint64_t N = 400;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (i != j)
                send_stream(t[i], t[j]->id, 0, N);
    RUN_UNTIL(&e, t[0]->nrecv == 2 * N && t[1]->nrecv == 2 * N && t[2]->nrecv == 2 * N);
    for (int k = 0; k < 3; k++) {
        cr_assert_not(t[k]->bad, "%s", t[k]->why);
        cr_assert_eq(strlen(t[k]->ev), 6, "events: %s", t[k]->ev); /* two ups */
        bus_peer_stats s[4];
        cr_assert_eq(bus_stats(t[k]->b, s, 4), 2);
        cr_assert_lt(s[0].id, s[1].id, "stats in id order");
        cr_assert_eq(bus_stats(t[k]->b, s, 1), 2, "count beyond cap");
    }
    env_fini(&e);
}

Test(bus, echo_from_inside_recv)
{
    env e;
    env_init(&e);
    tnode *a = node_start(&e, 0, 1), *b = node_start(&e, 1, 2);
    b->echo = true;
    link_nodes(a, b);
    const uint64_t N = 1000;
    send_stream(a, 2, 0, N);
    /* a gets its own stream back: check it as from a stream of node 1. */
    a->check = false;
    RUN_UNTIL(&e, a->nrecv == N || b->bad);
    cr_assert_not(b->bad, "%s", b->why);
    cr_assert_eq(a->last.len, msg_size(N - 1));
    cr_assert_eq(a->last_svc, msg_svc(N - 1));
    RUN_UNTIL(&e, stats_of(b, 1).sent_msgs == N);
    env_fini(&e);
}

Test(bus, wrong_secret_refused)
{
    env e;
    env_init(&e);
    bus_opts o;
    tnode *a = node_start(&e, 0, 1);
    test_opts(&o, 2);
    o.secret = "another secret";
    tnode *b = node_start_opts(&e, 1, &o, 0);
    link_nodes(a, b);
    cr_assert(bus_send(a->b, 2, 1, "x", 1));
    cr_assert(bus_send(b->b, 1, 1, "y", 1));
    RUN_UNTIL(&e, stats_of(a, 2).refused >= 2 && stats_of(b, 1).refused >= 2);
    cr_assert_eq(a->nrecv + b->nrecv, 0, "nothing delivered");
    cr_assert_str_eq(a->ev, "");
    cr_assert_str_eq(b->ev, "");
    cr_assert_not(bus_connected(a->b, 2));
    cr_assert_eq(stats_of(a, 2).connects, 0);
    cr_assert_eq(stats_of(a, 2).queued_bytes, 6, "the message waits");
    cr_assert_geq(bus_refused_total(b->b), 2);
    env_fini(&e);
}

Test(bus, empty_secret_on_one_side_refused)
{
    env e;
    env_init(&e);
    bus_opts o;
    tnode *a = node_start(&e, 0, 1);
    test_opts(&o, 2);
    o.secret = "";
    tnode *b = node_start_opts(&e, 1, &o, 0);
    link_nodes(a, b);
    RUN_UNTIL(&e, stats_of(b, 1).refused >= 1 && stats_of(a, 2).refused >= 1);
    cr_assert_eq(stats_of(b, 1).connects, 0);
    env_fini(&e);
}

Test(bus, other_cluster_id_refused)
{
    env e;
    env_init(&e);
    bus_opts o;
    tnode *a = node_start(&e, 0, 1);
    test_opts(&o, 2);
    o.cluster_id = "test-clusteR";
    tnode *b = node_start_opts(&e, 1, &o, 0);
    link_nodes(a, b);
    cr_assert(bus_send(a->b, 2, 2, "x", 1));
    RUN_UNTIL(&e, stats_of(a, 2).refused >= 2 && stats_of(b, 1).refused >= 2);
    cr_assert_eq(a->nrecv + b->nrecv, 0);
    cr_assert_str_eq(a->ev, "");
    cr_assert_str_eq(b->ev, "");
    env_fini(&e);
}

Test(bus, unknown_node_refused_until_added)
{
    env e;
    env_init(&e);
    tnode *a = node_start(&e, 0, 1), *b = node_start(&e, 1, 2);
    bus_add_peer(a->b, 2, "127.0.0.1", b->port); /* b does not know 1 */
    cr_assert(bus_send(a->b, 2, 3, "join", 4));
    RUN_UNTIL(&e, bus_refused_total(b->b) >= 3); /* a keeps dialing */
    cr_assert_eq(b->nrecv, 0);
    cr_assert_eq(bus_stats(b->b, NULL, 0), 0);
    cr_assert_not(bus_connected(a->b, 2));
    cr_assert_str_eq(a->ev, "");
    /* Known now: the next dial gets in and the queued message flows. */
    bus_add_peer(b->b, 1, "127.0.0.1", a->port);
    b->check = false;
    RUN_UNTIL(&e, b->nrecv == 1);
    cr_assert_eq(b->last_svc, 3);
    cr_assert_eq(b->last.len, 4);
    cr_assert_eq(memcmp(b->last.data, "join", 4), 0);
    cr_assert_str_eq(a->ev, "U2 ");
    cr_assert_str_eq(b->ev, "U1 ");
    env_fini(&e);
}

Test(bus, higher_id_may_not_dial)
{
    /* b (2) knows 3, but 3 > 2: b dials 3, 3 accepts. A hand-made node 3
     * dialing b is refused although known. */
    env e;
    env_init(&e);
    tnode *b = node_start(&e, 1, 2);
    bus_add_peer(b->b, 3, "127.0.0.1", 1); /* b dials 3 at a dead port */
    raw *r = raw_connect(&e, b->port);
    unsigned char h[300];
    raw_frame(r, 0, h, hello_payload(h, 3, "test-cluster", 42));
    RUN_UNTIL(&e, r->eof);
    cr_assert_eq(stats_of(b, 3).refused, 1);
    cr_assert_str_eq(b->ev, "");
    raw_free(&e, r);
    env_fini(&e);
}

Test(bus, peer_restart_reconnects_and_messages_flow_again)
{
    env e;
    env_init(&e);
    tnode *a = node_start(&e, 0, 1), *b = node_start(&e, 1, 2);
    link_nodes(a, b);
    send_stream(a, 2, 0, 100);
    RUN_UNTIL(&e, b->nrecv == 100);
    int port = b->port;
    /* The acceptor goes away: the dialer sees it down, queues, redials. */
    node_close(&e, b);
    RUN_UNTIL(&e, strcmp(a->ev, "U2 D2 ") == 0);
    cr_assert_not(bus_connected(a->b, 2));
    send_stream(a, 2, 100, 300);
    cr_assert_gt(stats_of(a, 2).queued_bytes, 0);
    bus_opts o;
    test_opts(&o, 2);
    b = node_start_opts(&e, 1, &o, port); /* back on the same port */
    bus_add_peer(b->b, 1, "127.0.0.1", a->port);
    /* The new b counts from 0: messages 100.. are its 0.. of a's stream. */
    b->check = false;
    RUN_UNTIL(&e, b->nrecv == 200);
    cr_assert_eq(b->from_count[1], 200);
    cr_assert_eq(b->last.len, msg_size(299));
    cr_assert_str_eq(a->ev, "U2 D2 U2 ");
    cr_assert_str_eq(b->ev, "U1 ");
    cr_assert_eq(stats_of(a, 2).connects, 2);
    cr_assert_eq(stats_of(a, 2).queued_bytes, 0);

    /* The dialer goes away: the acceptor sees it down, queues, and the new
     * dialer gets what was queued. */
    port = a->port;
    node_close(&e, a);
    RUN_UNTIL(&e, strcmp(b->ev, "U1 D1 ") == 0);
    b->check = true;
    send_stream(b, 1, 0, 50);
    a = node_start_opts(&e, 0, (test_opts(&o, 1), &o), port);
    bus_add_peer(a->b, 2, "127.0.0.1", b->port);
    RUN_UNTIL(&e, a->nrecv == 50 || a->bad);
    cr_assert_not(a->bad, "%s", a->why);
    cr_assert_str_eq(b->ev, "U1 D1 U1 ");
    env_fini(&e);
}

Test(bus, newest_connection_replaces_older)
{
    env e;
    env_init(&e);
    bus_opts o;
    test_opts(&o, 1);
    o.reconnect_min_ms = o.reconnect_max_ms = 60000; /* the old one stays away */
    tnode *a = node_start_opts(&e, 0, &o, 0), *b = node_start(&e, 1, 2);
    link_nodes(a, b);
    RUN_UNTIL(&e, bus_connected(b->b, 1) && bus_connected(a->b, 2));
    /* Node 1 "restarts" before b noticed: a second bus with id 1 dials. */
    tnode *a2 = node_start(&e, 2, 1);
    bus_add_peer(a2->b, 2, "127.0.0.1", b->port);
    RUN_UNTIL(&e, strcmp(b->ev, "U1 D1 U1 ") == 0 && strcmp(a2->ev, "U2 ") == 0);
    RUN_UNTIL(&e, strcmp(a->ev, "U2 D2 ") == 0); /* the old one was closed */
    cr_assert_eq(stats_of(b, 1).connects, 2);
    send_stream(b, 1, 0, 20);
    RUN_UNTIL(&e, a2->nrecv == 20);
    cr_assert_eq(a->nrecv, 0);
    env_fini(&e);
}

Test(bus, queue_bound_drops_and_counts)
{
    env e;
    env_init(&e);
    bus_opts o;
    test_opts(&o, 1);
    o.max_queue_bytes = 10000;
    tnode *a = node_start_opts(&e, 0, &o, 0);
    /* A port with nothing behind it: take one, close it. */
    tnode *b = node_start(&e, 1, 2);
    int port = b->port;
    node_close(&e, b);
    bus_add_peer(a->b, 2, "127.0.0.1", port);
    unsigned char m[100];
    int ok = 0;
    for (int i = 0; i < 200; i++) {
        memset(m, i, sizeof(m));
        if (bus_send(a->b, 2, 1, m, sizeof(m)))
            ok++;
    }
    cr_assert_eq(ok, 10000 / 105, "frames of 105 bytes in 10000");
    bus_peer_stats s = stats_of(a, 2);
    cr_assert_eq(s.queued_bytes, (uint64_t)ok * 105);
    cr_assert_eq(s.dropped_msgs, (uint64_t)(200 - ok));
    /* Not counted: an unknown peer. Counted: bad service, too large. */
    cr_assert_not(bus_send(a->b, 9, 1, m, 1));
    cr_assert_not(bus_send(a->b, 2, 0, m, 1));
    cr_assert_not(bus_send(a->b, 2, 4, m, 1));
    cr_assert_eq(stats_of(a, 2).dropped_msgs, (uint64_t)(200 - ok) + 2);
    run_for(&e, 100); /* several failed dials: nothing changes */
    cr_assert_eq(stats_of(a, 2).queued_bytes, (uint64_t)ok * 105);
    /* The peer comes: exactly the accepted ones arrive, in order. */
    test_opts(&o, 2);
    b = node_start_opts(&e, 1, &o, port);
    bus_add_peer(b->b, 1, "127.0.0.1", a->port);
    b->check = false;
    RUN_UNTIL(&e, b->nrecv == (uint64_t)ok);
    cr_assert_eq(b->last.len, 100);
    cr_assert_eq((unsigned char)b->last.data[0], ok - 1);
    RUN_UNTIL(&e, stats_of(a, 2).queued_bytes == 0);
    cr_assert_eq(stats_of(a, 2).sent_msgs, (uint64_t)ok);
    run_for(&e, 50);
    cr_assert_eq(b->nrecv, (uint64_t)ok);
    env_fini(&e);
}

Test(bus, message_larger_than_the_bound_goes_alone)
{
    env e;
    env_init(&e);
    bus_opts o;
    test_opts(&o, 1);
    o.max_queue_bytes = 1000;
    tnode *a = node_start_opts(&e, 0, &o, 0);
    bus_add_peer(a->b, 2, "127.0.0.1", 1);
    cr_assert(bus_send(a->b, 2, 1, scratch, 5000), "an empty queue takes one large message");
    cr_assert_not(bus_send(a->b, 2, 1, scratch, 1));
    cr_assert_eq(stats_of(a, 2).dropped_msgs, 1);
    env_fini(&e);
}

Test(bus, frame_over_max_frame_refused)
{
    env e;
    env_init(&e);
    bus_opts o;
    tnode *a = node_start(&e, 0, 1);
    test_opts(&o, 2);
    o.max_frame = 1000;
    tnode *b = node_start_opts(&e, 1, &o, 0);
    link_nodes(a, b);
    RUN_UNTIL(&e, bus_connected(a->b, 2) && bus_connected(b->b, 1));
    b->check = false;
    cr_assert(bus_send(a->b, 2, 1, scratch, 999), "length field 1000: the limit");
    RUN_UNTIL(&e, b->nrecv == 1);
    cr_assert(bus_send(a->b, 2, 1, scratch, 1000), "a's own max_frame is larger");
    RUN_UNTIL(&e, stats_of(b, 1).refused == 1);
    cr_assert_eq(b->nrecv, 1);
    RUN_UNTIL(&e, strcmp(a->ev, "U2 D2 U2 ") == 0 && strcmp(b->ev, "U1 D1 U1 ") == 0);
    cr_assert(bus_send(a->b, 2, 1, "ok", 2));
    RUN_UNTIL(&e, b->nrecv == 2);
    cr_assert_not(bus_send(b->b, 1, 1, scratch, 1000), "over b's own max_frame");
    env_fini(&e);
}

/* Byte strings that must get a connection refused. */
static void garbage_case(env *e, tnode *t, const void *bytes, size_t len)
{
    uint64_t before = bus_refused_total(t->b);
    raw *r = raw_connect(e, t->port);
    raw_send(r, bytes, len);
    RUN_UNTIL(e, bus_refused_total(t->b) == before + 1 && r->eof);
    raw_free(e, r);
}

Test(bus, garbage_from_raw_clients_refused)
{
    env e;
    env_init(&e);
    bus_opts o;
    test_opts(&o, 2);
    o.handshake_ms = 100;
    tnode *a = node_start(&e, 0, 1), *b = node_start_opts(&e, 1, &o, 0);
    link_nodes(a, b);
    RUN_UNTIL(&e, bus_connected(a->b, 2));

    garbage_case(&e, b, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);  /* length 0x47455420 */
    garbage_case(&e, b, "\xff\xff\xff\xff\x00", 5);                 /* huge length */
    garbage_case(&e, b, "\x00\x00\x00\x00", 4);                     /* length 0 */
    garbage_case(&e, b, "\x00\x00\x02\x01\x00", 5);                 /* 513: over the handshake limit */
    unsigned char h[300];
    size_t n = hello_payload(h, 1, "test-cluster", 7);
    unsigned char f[400];
    put32(f, (uint32_t)(1 + n));
    f[4] = 0;
    memcpy(f + 5, h, n);
    f[5] = 'X'; /* bad magic */
    garbage_case(&e, b, f, 5 + n);
    f[5] = 'K';
    f[13] = 2; /* version 2 */
    garbage_case(&e, b, f, 5 + n);
    f[13] = 1;
    f[4] = 1; /* HELLO as a KeyValue frame */
    garbage_case(&e, b, f, 5 + n);
    f[4] = 0;
    put32(f, (uint32_t)n); /* HELLO one byte short */
    garbage_case(&e, b, f, 4 + n);
    put32(f, (uint32_t)(2 + n)); /* one byte long */
    f[5 + n] = 0;
    garbage_case(&e, b, f, 6 + n);
    /* A good HELLO, then a data frame instead of the PROOF. */
    put32(f, (uint32_t)(1 + n));
    memcpy(f + 5 + n, "\x00\x00\x00\x03\x01hi", 7);
    garbage_case(&e, b, f, 5 + n + 7);
    /* A good HELLO, then a wrong PROOF. */
    memcpy(f + 5 + n, "\x00\x00\x00\x11\x00" "0123456789abcdef", 21);
    garbage_case(&e, b, f, 5 + n + 21);
    /* Nothing at all: the handshake deadline. */
    garbage_case(&e, b, "", 0);
    /* Half a header, then silence. */
    garbage_case(&e, b, "\x00\x00", 2);

    /* A client that connects and leaves is not refused, just gone. */
    uint64_t before = bus_refused_total(b->b);
    raw *r = raw_connect(&e, b->port);
    raw_send(r, "\x00\x00\x00", 3);
    RUN_UNTIL(&e, r->got.len > 0); /* b's HELLO: accepted and read */
    raw_free(&e, r);

    /* Random bytes, many connections: refused, nothing crashes. */
    kprng rng;
    kprng_seed(&rng, 99);
    unsigned char junk[700];
    for (int i = 0; i < 60; i++) {
        size_t len = 1 + kprng_below(&rng, sizeof(junk));
        for (size_t j = 0; j < len; j++)
            junk[j] = (unsigned char)kprng_next(&rng);
        if (i % 3 == 0 && len >= 5) { /* a whole control frame of junk */
            put32(junk, (uint32_t)(len - 4));
            junk[4] = 0;
        }
        raw *g = raw_connect(&e, b->port);
        raw_send(g, junk, len);
        RUN_UNTIL(&e, g->eof);
        raw_free(&e, g);
    }
    cr_assert_eq(bus_refused_total(b->b), before + 60);
    cr_assert_eq(b->nrecv, 0);

    /* The real peer never noticed. */
    cr_assert_str_eq(a->ev, "U2 ");
    send_stream(a, 2, 0, 30);
    RUN_UNTIL(&e, b->nrecv == 30 || b->bad);
    env_fini(&e);
}

Test(bus, handshake_by_hand_pings_and_idle_timeout)
{
    env e;
    env_init(&e);
    bus_opts o;
    test_opts(&o, 2);
    o.keepalive_ms = 30;
    o.idle_timeout_ms = 400;
    tnode *b = node_start_opts(&e, 1, &o, 0);
    bus_add_peer(b->b, 1, "127.0.0.1", 1); /* b does not dial 1 (lower) */
    cr_assert(bus_send(b->b, 1, 2, "queued", 6));
    raw *r = raw_connect(&e, b->port);
    raw_handshake(&e, r, b, 1, "test-cluster", "s3cret");
    RUN_UNTIL(&e, strcmp(b->ev, "U1 ") == 0);
    /* What was queued comes first. */
    RUN_UNTIL(&e, r->got.len >= 11);
    cr_assert_eq(memcmp(r->got.data, "\x00\x00\x00\x07\x02queued", 11), 0);
    kbuf_consume(&r->got, 11);
    b->check = false;
    raw_frame(r, 2, "hello", 5);
    raw_frame(r, 0, NULL, 0); /* a ping of ours: not delivered */
    raw_frame(r, 3, "", 0);
    RUN_UNTIL(&e, b->nrecv == 2);
    cr_assert_eq(b->last_svc, 3);
    cr_assert_eq(b->last.len, 0);
    /* Silence from us: b pings, then gives up on us. */
    RUN_UNTIL(&e, strcmp(b->ev, "U1 D1 ") == 0);
    cr_assert_geq(r->got.len, 2 * 5, "pings: %zu bytes", r->got.len);
    for (size_t i = 0; i + 5 <= r->got.len; i += 5)
        cr_assert_eq(memcmp(r->got.data + i, "\x00\x00\x00\x01\x00", 5), 0, "a ping");
    RUN_UNTIL(&e, r->eof);
    raw_free(&e, r);

    /* After the handshake: unknown service and a non-empty ping refused. */
    static const char *bad[] = {"\x00\x00\x00\x01\x04", "\x00\x00\x00\x02\x00z"};
    for (int i = 0; i < 2; i++) {
        r = raw_connect(&e, b->port);
        raw_handshake(&e, r, b, 1, "test-cluster", "s3cret");
        uint64_t before = stats_of(b, 1).refused;
        raw_send(r, bad[i], 5 + (size_t)i);
        RUN_UNTIL(&e, stats_of(b, 1).refused == before + 1 && r->eof);
        raw_free(&e, r);
    }
    cr_assert_eq(b->nrecv, 2);
    env_fini(&e);
}

Test(bus, remove_peer_and_add_again)
{
    env e;
    env_init(&e);
    tnode *a = node_start(&e, 0, 1), *b = node_start(&e, 1, 2);
    link_nodes(a, b);
    RUN_UNTIL(&e, bus_connected(a->b, 2) && bus_connected(b->b, 1));
    bus_remove_peer(a->b, 2);
    bus_remove_peer(a->b, 2); /* twice: no-op */
    bus_remove_peer(a->b, 77);
    cr_assert_not(bus_connected(a->b, 2));
    cr_assert_not(bus_send(a->b, 2, 1, "x", 1));
    cr_assert_eq(bus_stats(a->b, NULL, 0), 0);
    RUN_UNTIL(&e, strcmp(b->ev, "U1 D1 ") == 0);
    cr_assert_str_eq(a->ev, "U2 ", "no callback from bus_remove_peer");
    /* b queues for 1 meanwhile; a adds 2 again: it reconnects. */
    send_stream(b, 1, 0, 10);
    bus_add_peer(a->b, 2, "127.0.0.1", b->port);
    bus_add_peer(a->b, 2, "127.0.0.1", b->port); /* idempotent */
    RUN_UNTIL(&e, a->nrecv == 10);
    cr_assert_str_eq(a->ev, "U2 U2 ");
    cr_assert_eq(stats_of(a, 2).connects, 1, "a new peer's stats");
    env_fini(&e);
}

Test(bus, address_update_abandons_a_dead_dial)
{
    env e;
    env_init(&e);
    bus_opts o;
    test_opts(&o, 1);
    o.reconnect_min_ms = o.reconnect_max_ms = 60000;
    tnode *a = node_start_opts(&e, 0, &o, 0), *b = node_start(&e, 1, 2);
    bus_add_peer(b->b, 1, "127.0.0.1", a->port);
    bus_add_peer(a->b, 2, "127.0.0.1", 1); /* wrong port: refused, next try in a minute */
    run_for(&e, 50);
    cr_assert_not(bus_connected(a->b, 2));
    bus_add_peer(a->b, 2, "127.0.0.1", b->port);
    RUN_UNTIL_MS(&e, bus_connected(a->b, 2), 5000);
    env_fini(&e);
}

Test(bus, host_name_resolved)
{
    env e;
    env_init(&e);
    tnode *a = node_start(&e, 0, 1), *b = node_start(&e, 1, 2);
    bus_add_peer(b->b, 1, "127.0.0.1", a->port);
    bus_add_peer(a->b, 2, "localhost", b->port); /* ::1 first on some systems: tried in turn */
    RUN_UNTIL(&e, bus_connected(a->b, 2));
    /* A name that does not resolve: retried, and closed cleanly. */
    bus_add_peer(a->b, 3, "no-such-host.invalid", 1);
    run_for(&e, 50);
    env_fini(&e);
}

Test(bus, backoff_between_bounds)
{
    /* b refuses a (unknown id); a dials with backoff in [20, 80] ms: within
     * 1 s at least 1000/80 - slack attempts and at most 1000/20 + 1. */
    env e;
    env_init(&e);
    bus_opts o;
    test_opts(&o, 1);
    o.reconnect_min_ms = 20;
    o.reconnect_max_ms = 80;
    tnode *a = node_start_opts(&e, 0, &o, 0), *b = node_start(&e, 1, 2);
    bus_add_peer(a->b, 2, "127.0.0.1", b->port);
    RUN_UNTIL(&e, bus_refused_total(b->b) == 1);
    uint64_t t0 = uv_now(&e.loop);
    run_for(&e, 1000);
    uint64_t dt = uv_now(&e.loop) - t0;
    uint64_t n = bus_refused_total(b->b) - 1;
    cr_assert_leq(n, dt / 20 + 1, "%llu dials in %llu ms", (unsigned long long)n, (unsigned long long)dt);
    cr_assert_geq(n, 3, "%llu dials in %llu ms", (unsigned long long)n, (unsigned long long)dt);
    env_fini(&e);
}

Test(bus, close_from_inside_recv)
{
    env e;
    env_init(&e);
    tnode *a = node_start(&e, 0, 1), *b = node_start(&e, 1, 2);
    link_nodes(a, b);
    b->close_at = 5;
    b->check = false;
    for (int i = 0; i < 50; i++)
        cr_assert(bus_send(a->b, 2, 1, "m", 1));
    RUN_UNTIL(&e, b->nrecv == 5 && !b->open);
    RUN_UNTIL(&e, strcmp(a->ev, "U2 D2 ") == 0);
    run_for(&e, 30);
    cr_assert_eq(b->nrecv, 5, "nothing after bus_close");
    env_fini(&e);
}

Test(bus, remove_from_inside_peer_down)
{
    env e;
    env_init(&e);
    tnode *a = node_start(&e, 0, 1), *b = node_start(&e, 1, 2);
    link_nodes(a, b);
    RUN_UNTIL(&e, bus_connected(a->b, 2) && bus_connected(b->b, 1));
    a->remove_on_down = true;
    node_close(&e, b);
    RUN_UNTIL(&e, strcmp(a->ev, "U2 D2 ") == 0);
    cr_assert_eq(bus_stats(a->b, NULL, 0), 0);
    run_for(&e, 100); /* no redial of a removed peer */
    env_fini(&e);
}

Test(bus, close_with_everything_in_flight)
{
    env e;
    env_init(&e);
    tnode *t[3];
    for (int k = 0; k < 3; k++) {
        t[k] = node_start(&e, k, (uint64_t)k + 1);
        t[k]->check = false;
    }
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            link_nodes(t[i], t[j]);
    bus_add_peer(t[0]->b, 9, "no-such-host.invalid", 5); /* a lookup in progress */
    bus_add_peer(t[0]->b, 8, "127.0.0.1", 1);             /* a dial failing */
    raw *r = raw_connect(&e, t[2]->port);                  /* a handshake pending */
    RUN_UNTIL(&e, bus_connected(t[0]->b, 2) && bus_connected(t[0]->b, 3));
    for (int i = 0; i < 10; i++) /* 1 MiB messages: writes in progress at close */
        cr_assert(bus_send(t[0]->b, 2, 1, scratch, 1u << 20));
    for (int i = 0; i < 100; i++)
        cr_assert(bus_send(t[1]->b, 3, 2, scratch, 1000));
    uv_run(&e.loop, UV_RUN_NOWAIT);
    bus_close(t[0]->b, on_done, t[0]);
    t[0]->open = false;
    bus_close(t[1]->b, NULL, NULL);
    t[1]->open = false;
    bus_close(NULL, NULL, NULL);
    RUN_UNTIL(&e, t[0]->done);
    raw_free(&e, r);
    env_fini(&e); /* closes t[2]; ASan: nothing leaked */
}

Test(bus, new_and_listen_errors)
{
    env e;
    env_init(&e);
    bus_opts o;
    test_opts(&o, 0);
    cr_assert_null(bus_new(&e.loop, &o, on_recv, on_peer, NULL), "id 0");
    char longid[300];
    memset(longid, 'c', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    test_opts(&o, 1);
    o.cluster_id = longid;
    cr_assert_null(bus_new(&e.loop, &o, on_recv, on_peer, NULL), "cluster id too long");
    tnode *a = node_start(&e, 0, 1);
    char err[160] = "";
    cr_assert_lt(bus_listen(a->b, "127.0.0.1", 0, err, sizeof(err)), 0, "twice");
    cr_assert_neq(err[0], '\0');
    test_opts(&o, 2);
    o.cluster_id = NULL; /* "" */
    o.secret = NULL;
    bus *b = bus_new(&e.loop, &o, on_recv, on_peer, NULL);
    cr_assert_not_null(b);
    err[0] = '\0';
    cr_assert_lt(bus_listen(b, "127.0.0.1", a->port, err, sizeof(err)), 0, "port in use");
    cr_assert_neq(err[0], '\0');
    cr_assert_eq(bus_port(b), 0);
    bus *c = bus_new(&e.loop, &o, on_recv, on_peer, NULL);
    cr_assert_lt(bus_listen(c, "not an address", 0, err, sizeof(err)), 0);
    bus_add_peer(c, 0, "127.0.0.1", 1);  /* ignored */
    bus_add_peer(c, 2, "127.0.0.1", 1);  /* self: ignored */
    cr_assert_eq(bus_stats(c, NULL, 0), 0);
    bus_close(b, NULL, NULL);
    bus_close(c, NULL, NULL);
    env_fini(&e);
}

/* Joining: a node dials an address without knowing who listens there
 * (bus_dial_any); the member accepts it though unknown (accept_unknown).
 * Both then know each other; a wrong secret still keeps it out. */
Test(bus, a_joining_node_dials_an_unknown_member_and_is_accepted)
{
    env e;
    env_init(&e);
    bus_opts o;
    test_opts(&o, 5);
    o.accept_unknown = true;
    tnode *m = node_start_opts(&e, 0, &o, 0); /* a member, id 5 */
    tnode *j = node_start(&e, 1, 7);          /* the joiner, id 7 (higher) */
    cr_assert_eq(bus_dial_any(j->b, "127.0.0.1", m->port), 0);
    RUN_UNTIL(&e, bus_connected(j->b, 5) && bus_connected(m->b, 7));
    cr_assert_str_eq(j->ev, "U5 ");
    cr_assert_str_eq(m->ev, "U7 ");
    j->check = m->check = false;
    cr_assert(bus_send(j->b, 5, 3, "join", 4));
    RUN_UNTIL(&e, m->nrecv == 1);
    cr_assert(bus_send(m->b, 7, 3, "hi", 2));
    RUN_UNTIL(&e, j->nrecv == 1);
    /* The member may learn the joiner's address later; the connection
     * that is up stays. */
    bus_add_peer(m->b, 7, "127.0.0.1", j->port);
    run_for(&e, 50);
    cr_assert(bus_connected(m->b, 7));
    cr_assert_str_eq(m->ev, "U7 ");
    /* Bad addresses are refused at once. */
    cr_assert_neq(bus_dial_any(j->b, "not-an-ip", 1), 0);
    env_fini(&e);
}

Test(bus, unknown_ids_need_accept_unknown_and_the_secret)
{
    env e;
    env_init(&e);
    bus_opts o;
    test_opts(&o, 5);
    o.accept_unknown = true;
    tnode *m = node_start_opts(&e, 0, &o, 0);
    bus_opts bad;
    test_opts(&bad, 7);
    bad.secret = "wrong";
    tnode *j = node_start_opts(&e, 1, &bad, 0);
    cr_assert_eq(bus_dial_any(j->b, "127.0.0.1", m->port), 0);
    RUN_UNTIL(&e, bus_refused_total(m->b) >= 1);
    cr_assert_not(bus_connected(m->b, 7));
    cr_assert_eq(bus_stats(m->b, NULL, 0), 0, "a refused stranger left a peer behind");
    /* Without accept_unknown a stranger is refused even with the secret. */
    tnode *k = node_start(&e, 2, 3);
    tnode *j2 = node_start(&e, 3, 6);
    cr_assert_eq(bus_dial_any(j2->b, "127.0.0.1", k->port), 0);
    RUN_UNTIL(&e, bus_refused_total(k->b) >= 1);
    cr_assert_not(bus_connected(k->b, 6));
    cr_assert_str_eq(j2->ev, "");
    env_fini(&e);
}
