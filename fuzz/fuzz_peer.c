/* fuzz_peer: property fuzzer of a live cluster node fed by a hostile peer.
 *
 * Built as a libFuzzer target (fuzz-peer) and, with afl_driver.c, as an
 * AFL++ target (fuzz-peer-afl). See docs/fuzzing.md. Seeds are written by
 * fuzz/gen_peer_corpus.py.
 *
 * Node 1 of the group {1, 2, 3} is booted in memory (no files: a fresh log,
 * node_cluster_start with no recovery; log writes and snapshot saves are
 * acknowledged without being written anywhere), its directory entry set
 * with node_dir_set. Then everything a peer can send reaches it as
 * EV_PEER_DATA, as node_cluster_step decodes it: forwarded commands
 * (101 request, 102 reply, 103 close), the cluster service (110 HEALTH,
 * 111 JOIN, 112 relayed JOIN) and Raft's messages (core/raft/msg.c),
 * interleaved with time, client commands and the driver's own calls.
 *
 * Input: byte 0 chooses the start, the rest is a list of operations.
 *
 *   byte 0  bits 0-1  0 a follower that knows no leader yet
 *                     1 the leader of term 1 (peer 2 granted the votes and
 *                       acknowledged the no-op: committed, reads served)
 *                     2 a follower of leader 2 (term 1, its no-op at index
 *                       1 committed)
 *                     3 a joining node (no membership: empty bootstrap)
 *           bit 2     forward (a follower forwards to the leader)
 *           bit 3     lease_reads
 *           bit 4     snapshot_entries = 3 (own snapshots, ACT_SNAPSHOT_SAVE)
 *           bit 5     the directory also holds peers 2 and 3 (the driver's
 *                     founding peers)
 *           bit 6     check_quorum off
 *           bit 7     pre_vote off
 *
 *   op 0x00-0x7f  a message from peer 2 (bit 0 clear) or 3 (bit 0 set),
 *                 then its length (u16, big-endian; cut to what is left),
 *                 then its bytes. Bit 1: acknowledge pending log writes
 *                 and snapshot saves after it.
 *      0x80-0x9f  time: (low 5 bits + 1) * 5 ms pass; EV_TIMER if the
 *                 node's deadline came, EV_TICK, acknowledgements
 *      0xa0-0xbf  a client command: the next byte picks it (CMDS, modulo),
 *                 the low 2 bits the connection (opened on first use; ids
 *                 1, 2, ... in that order, so a forwarded reply can name
 *                 its origin)
 *      0xc0-0xc3  the client connection (low 2 bits) closes
 *      0xc4-0xc7  node_dir_link(2 + bit 0, bit 1)
 *      0xc8-0xcf  the leader answers the last command the node forwarded
 *                 (framed as above: the reply's bytes): [102, req, origin,
 *                 reply, sid] from the peer it went to, with the request's
 *                 numbers (the session id is a hash the fuzzer would have
 *                 to learn); nothing if none was forwarded
 *      0xd0-0xdd  acknowledge the pending log write / snapshot save
 *      0xde       the pending snapshot save fails
 *      0xdf       the pending log write fails (the node stops taking part)
 *      0xe0-0xef  a message (framed as above) from a non-member, peer
 *                 4 + (low 2 bits)
 *      0xf0-0xff  the driver and the operator: node_cluster_change (add
 *                 learner 4, promote 4, remove 3, remove 4),
 *                 node_cluster_transfer (to 2, to 3), node_cluster_health,
 *                 node_cluster_join, node_dir_set of peer 2's own entry, a
 *                 61 s jump of time, or nothing
 *
 * What a peer sends is delivered as it is, with one exception: log entry
 * payloads and snapshot bytes are the leader's, which the node trusts (a
 * payload that does not decode, a snapshot that does not load abort() in
 * core/node/cluster.c by design; fuzz_wal.c fuzzes those decoders). So a
 * message that decodes as Raft's APPEND has each NORMAL entry's payload
 * replaced by a valid one (build_payloads(), chosen by the original's first
 * byte), and a SNAPSHOT with `done` carries a valid snapshot file (a small
 * state, at the message's index, term and membership) when it is the only
 * chunk (offset 0), and has `done` cleared otherwise. Everything else
 * (framing, fields, counts, terms, indexes, memberships, the other
 * services) is the fuzzer's.
 *
 * The driver (carry_out) does what io/server.c does: replies of its own
 * connections are taken (never a proxy's: the leader's connections for
 * followers' clients have no socket), peer sends are checked and dropped,
 * log writes and snapshot saves wait for an acknowledging operation.
 *
 * Properties (a violation prints a report and aborts), after every step:
 *  P1 The directory (node_dir_list) is sorted by id, ids non-zero, at most
 *     32 entries (DIR_MAX), every string NUL-terminated, ports in range,
 *     node_dir_get agrees with it; node 1's own entry is still exactly the
 *     one set before the input (peers never replace it).
 *  P2 Raft's state stays sane: the term and the commit index never go
 *     back, applied <= commit <= last index, a leader is its own leader,
 *     the membership is sorted, non-zero, disjoint, RF_MAX_MEMBERS at most,
 *     and the node has applied what Raft says it applied.
 *  P3 What the node asks its driver for is well-formed: at most one
 *     ACT_LOG_WRITE and one ACT_SNAPSHOT_SAVE outstanding; a snapshot to
 *     save is a valid file at the index and term the action names, and its
 *     bytes stay allocated and unchanged until EV_SNAPSHOT_SAVED; every
 *     ACT_PEER_SEND goes to another node, on a known service, and decodes:
 *     Raft's (rf_msg_decode) from node 1 to that peer in at most the
 *     node's term (a pre-vote: the next; its answer: the asker's), the
 *     others one whole msgpack array of a known kind.
 *  P4 At the end, a fresh client connection still gets +PONG for PING.
 * Plus ASan/UBSan/LeakSanitizer (every message is delivered from an exact
 * allocation) and, in the smoke test, -malloc_limit_mb / -rss_limit_mb:
 * nothing a peer says may make the node allocate without bound. */
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/node/node.h"
#include "core/raft/msg.h"
#include "core/util/kbuf.h"
#include "core/wal/snapshot.h"
#include "fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

#define SELF 1
#define T0 1000000          /* the wall clock at boot, ms */
#define DATA_SEED 0x5eedULL /* the group's (node_cluster_opts.data_seed) */
#define DIR_LIMIT 32        /* cluster.c's DIR_MAX: 2 * RF_MAX_MEMBERS */
#define NSLOTS 4

static bool g_trace; /* KEEL_FUZZ_TRACE=1: print every operation */

/* ------------------------------------------------------------------------ */
/* Valid leader-side bytes: entry payloads and a snapshot body              */

static void mp_raw(kbuf *b, const void *p, size_t n) { kbuf_append(b, p, n); }

static void mp_arr(kbuf *b, uint32_t n)
{
    unsigned char h[5];
    if (n < 16) {
        h[0] = (unsigned char)(0x90 | n);
        mp_raw(b, h, 1);
    } else {
        h[0] = 0xdc, h[1] = (unsigned char)(n >> 8), h[2] = (unsigned char)n;
        mp_raw(b, h, 3);
    }
}

static void mp_uint(kbuf *b, uint64_t v)
{
    unsigned char h[9];
    if (v < 0x80) {
        h[0] = (unsigned char)v;
        mp_raw(b, h, 1);
        return;
    }
    h[0] = 0xcf;
    for (int i = 0; i < 8; i++)
        h[1 + i] = (unsigned char)(v >> (56 - 8 * i));
    mp_raw(b, h, 9);
}

static void mp_bin(kbuf *b, const void *p, size_t n)
{
    unsigned char h[2] = {0xc4, (unsigned char)n};
    mp_raw(b, h, 2);
    mp_raw(b, p, n);
}

static void mp_str(kbuf *b, const char *s) { mp_bin(b, s, strlen(s)); }

/* An op: [db, arg...] */
static void op(kbuf *b, int db, int argc, const char *const *argv)
{
    mp_arr(b, (uint32_t)argc + 1);
    mp_uint(b, (uint64_t)db);
    for (int i = 0; i < argc; i++)
        mp_str(b, argv[i]);
}

#define NPAYLOADS 12
static kbuf g_payload[NPAYLOADS];
static kbuf g_body;     /* the snapshot body of a small state */
static bool g_ready;

static void build_payloads(void)
{
    static const char *const set[] = {"SET", "k", "v"}, *const incr[] = {"INCR", "c"},
                             *const del[] = {"DEL", "k"}, *const lpush[] = {"LPUSH", "l", "x"},
                             *const setpx[] = {"SET", "k", "v", "PX", "50"},
                             *const setw[] = {"SET", "k", "w"}, *const flush[] = {"FLUSHALL"},
                             *const incrk[] = {"INCR", "k"}, *const expire[] = {"EXPIRE", "k", "1"};
    for (int i = 0; i < NPAYLOADS; i++) {
        kbuf *b = &g_payload[i];
        bool sess = i == 10;
        mp_arr(b, sess ? 4 : 3);
        mp_uint(b, i == 9 ? T0 + 100000 : T0);
        mp_uint(b, DATA_SEED);
        if (sess) { /* [[op index, peer, origin, seq]]: a forwarded request */
            mp_arr(b, 1);
            mp_arr(b, 4);
            mp_uint(b, 0);
            mp_uint(b, 2);
            mp_uint(b, 1);
            mp_uint(b, 1);
        }
        switch (i) {
        case 0: mp_arr(b, 0); break; /* an empty entry: the time goes on */
        case 1: mp_arr(b, 1), op(b, 0, 3, set); break;
        case 2: mp_arr(b, 1), op(b, 0, 2, incr); break;
        case 3: mp_arr(b, 1), op(b, 0, 2, del); break;
        case 4: mp_arr(b, 1), op(b, 0, 3, lpush); break;
        case 5: mp_arr(b, 1), op(b, 0, 5, setpx); break;
        case 6: mp_arr(b, 1), op(b, 1, 3, setw); break;
        case 7: mp_arr(b, 1), op(b, 0, 1, flush); break;
        case 8: mp_arr(b, 2), op(b, 0, 3, set), op(b, 0, 2, incrk); break;
        case 9: mp_arr(b, 1), op(b, 0, 3, expire); break;
        case 10: mp_arr(b, 1), op(b, 0, 2, incr); break;
        case 11: /* a transaction: [db, [SET k 1], [INCR k]] */
            mp_arr(b, 1);
            mp_arr(b, 3);
            mp_uint(b, 0);
            mp_arr(b, 3), mp_str(b, "SET"), mp_str(b, "k"), mp_str(b, "1");
            mp_arr(b, 2), mp_str(b, "INCR"), mp_str(b, "k");
            break;
        }
    }
}

/* Runs a command on a node without a log (it runs at once). */
static void plain_cmd(node *n, const char *req)
{
    const char *rej;
    conn_id c = node_client_open(n, T0, "127.0.0.1:5000", "127.0.0.1:6379", -1, &rej);
    if (c == 0)
        abort();
    size_t avail, len = strlen(req);
    char *p = node_read_buffer(n, c, len, &avail);
    memcpy(p, req, len);
    node_step(n, &(node_event){.type = EV_CLIENT_DATA, .now_ms = T0, .conn = c, .nread = len});
    node_step(n, &(node_event){.type = EV_CLIENT_CLOSED, .now_ms = T0, .conn = c});
    node_actions_clear(n);
}

/* Once: the payloads, checked against the node's own replay (a payload the
 * node refuses would make the harness abort for its own mistake), and a
 * snapshot body of a few keys of every type. */
static void init_once(void)
{
    if (g_ready)
        return;
    g_ready = true;
    g_trace = getenv("KEEL_FUZZ_TRACE") != NULL;
    build_payloads();
    for (int i = 0; i < NPAYLOADS; i++) {
        node a;
        node_init(&a, 1, T0, NULL);
        if (!engine_set_data_seed(&a.eng, DATA_SEED))
            abort();
        wal_record r = {.type = WAL_ENTRY_NORMAL, .term = 1, .index = 1,
                        .payload = g_payload[i].data, .payload_len = g_payload[i].len};
        node_log_replay(&a, &r, NULL);
        node_log_opts o;
        node_log_opts_default(&o);
        char err[256];
        if (!node_log_start(&a, NULL, &o, err, sizeof(err))) {
            fprintf(stderr, "fuzz_peer: the node refuses the harness's payload %d (%s): "
                            "update build_payloads() in fuzz_peer.c\n", i, err);
            abort();
        }
        node_free(&a);
    }
    node d;
    node_init(&d, 1, T0, NULL);
    if (!engine_set_data_seed(&d.eng, DATA_SEED))
        abort();
    plain_cmd(&d, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\nsnap\r\n");
    plain_cmd(&d, "*4\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\na\r\n$1\r\nb\r\n");
    plain_cmd(&d, "*4\r\n$4\r\nHSET\r\n$1\r\nh\r\n$1\r\nf\r\n$1\r\nv\r\n");
    plain_cmd(&d, "*3\r\n$4\r\nSADD\r\n$1\r\ns\r\n$1\r\nm\r\n");
    plain_cmd(&d, "*4\r\n$4\r\nZADD\r\n$1\r\nz\r\n$1\r\n1\r\n$1\r\nm\r\n");
    plain_cmd(&d, "*3\r\n$4\r\nINCR\r\n$1\r\nc\r\n");
    kbuf file = KBUF_INIT;
    uint64_t idx, term;
    node_snapshot_encode(&d, &file, &idx, &term);
    snap_view v;
    if (snap_decode(file.data, file.len, &v) != SNAP_R_OK)
        abort();
    kbuf_append(&g_body, v.body, v.h.body_len);
    kbuf_free(&file);
    node_free(&d);
}

/* A snapshot file at index/term with membership c: what an honest leader
 * would send. The config is [data seed, membership] (cluster.c reads it). */
static void leader_snapshot(kbuf *out, uint64_t index, uint64_t term, const rf_config *c)
{
    unsigned char mem[RF_CONFIG_ENCODED_MAX];
    size_t mlen = rf_config_encode(c, mem);
    kbuf cfg = KBUF_INIT;
    mp_arr(&cfg, 2);
    mp_uint(&cfg, DATA_SEED);
    unsigned char h[3] = {0xc5, (unsigned char)(mlen >> 8), (unsigned char)mlen};
    mp_raw(&cfg, h, 3);
    mp_raw(&cfg, mem, mlen);
    snap_meta m = {.group = 0, .index = index, .term = term, .config = cfg.data,
                   .config_len = cfg.len};
    snap_encode(out, &m, g_body.data, g_body.len);
    kbuf_free(&cfg);
}

/* ------------------------------------------------------------------------ */
/* The in-memory driver                                                     */

typedef struct harness {
    node n;
    int64_t now;
    bool log_pending, snap_pending;
    const void *snap_data; /* the pending ACT_SNAPSHOT_SAVE's bytes ... */
    kbuf snap_copy;        /* ... as they were when it was asked for */
    conn_id slot[NSLOTS];
    node_addr me;
    uint64_t last_term, last_commit;
    bool fwd_seen;  /* the last KV request the node sent: */
    rf_id fwd_peer;
    uint64_t fwd_req, fwd_origin, fwd_sid;
    bool booting;   /* Raft messages to peer 2 are kept for boot_answer */
    kbuf boot_q;    /* [u32 len][bytes]... */
    conn_id capture; /* its output is kept in captured */
    kbuf captured;
    kbuf scratch;   /* rf_msg_decode's */
    kbuf sent;      /* check_sent's copy */
} harness;

static harness H;

static void check_state(harness *h);

static void check_sent(harness *h, const node_action *a)
{
    CHECK(a->peer != 0 && a->peer != SELF);
    CHECK(a->data != NULL && a->len > 0);
    CHECK(a->service == NODE_SVC_KV || a->service == NODE_SVC_RAFT ||
          a->service == NODE_SVC_CLUSTER);
    kbuf_clear(&h->sent);
    kbuf_append(&h->sent, a->data, a->len);
    if (g_trace)
        fprintf(stderr, "  -> peer %llu: service %u, %zu bytes, %s %u\n",
                (unsigned long long)a->peer, a->service, a->len,
                a->service == NODE_SVC_RAFT ? "raft type" : "kind",
                a->service == NODE_SVC_RAFT ? (unsigned)rf_msg_peek_type(a->data, a->len)
                                            : (unsigned)((const uint8_t *)a->data)[1]);
    if (a->service == NODE_SVC_RAFT) {
        rf_msg m;
        CHECK(rf_msg_decode(&m, h->sent.data, h->sent.len, &h->scratch) == NULL);
        CHECK(m.from == SELF && m.to == a->peer);
        /* A pre-vote asks for the next term, its answer echoes the asker's. */
        if (m.type == RF_MSG_PREVOTE)
            CHECK(m.term <= node_raft(&h->n)->term + 1);
        else if (m.type != RF_MSG_PREVOTE_RESP)
            CHECK(m.term <= node_raft(&h->n)->term);
        if (h->booting && a->peer == 2) {
            uint32_t len = (uint32_t)a->len;
            kbuf_append(&h->boot_q, &len, sizeof(len));
            kbuf_append(&h->boot_q, a->data, a->len);
        }
        return;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    CHECK(msgpack_unpack_next(&u, h->sent.data, h->sent.len, &off) == MSGPACK_UNPACK_SUCCESS);
    CHECK(off == h->sent.len);
    CHECK(u.data.type == MSGPACK_OBJECT_ARRAY && u.data.via.array.size >= 2);
    const msgpack_object *k = &u.data.via.array.ptr[0];
    CHECK(k->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
    if (a->service == NODE_SVC_KV) {
        CHECK(k->via.u64 >= 101 && k->via.u64 <= 103);
        const msgpack_object *f = u.data.via.array.ptr;
        if (k->via.u64 == 101 && u.data.via.array.size == 8 &&
            f[1].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
            f[2].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
            f[7].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            h->fwd_seen = true;
            h->fwd_peer = a->peer;
            h->fwd_req = f[1].via.u64;
            h->fwd_origin = f[2].via.u64;
            h->fwd_sid = f[7].via.u64;
        }
    } else
        CHECK(k->via.u64 >= 110 && k->via.u64 <= 112);
    msgpack_unpacked_destroy(&u);
}

static void check_snapshot_save(const node_action *a)
{
    CHECK(a->data != NULL && a->len > 0);
    snap_view v;
    CHECK(snap_decode(a->data, a->len, &v) == SNAP_R_OK);
    CHECK(v.h.index == a->index && v.h.term == a->term);
}

static void step(harness *h, node_event *ev);

static bool is_mine(const harness *h, conn_id c)
{
    if (c != 0 && c == h->capture)
        return true;
    for (int s = 0; s < NSLOTS; s++)
        if (c != 0 && h->slot[s] == c)
            return true;
    return false;
}

/* Carries out the node's actions until it asks for nothing more: replies
 * are taken (the captured connection's kept), closes stepped, peer sends
 * checked and dropped, log writes and snapshot saves left pending. */
static void carry_out(harness *h)
{
    for (int round = 0;; round++) {
        CHECK(round < 1000);
        size_t na;
        const node_action *a = node_actions(&h->n, &na);
        if (na == 0)
            return;
        conn_id closes[64];
        size_t ncl = 0;
        for (size_t i = 0; i < na; i++) {
            switch (a[i].type) {
            case ACT_SEND:
            case ACT_CLOSE: {
                /* Only the driver's own connections: a proxy (the leader's
                 * connection for a follower's client) has no socket, and
                 * io/server.c skips ids it does not know. */
                if (!is_mine(h, a[i].conn))
                    break;
                kbuf *out = node_output(&h->n, a[i].conn);
                if (out && out->len && !(a[i].type == ACT_CLOSE && a[i].discard)) {
                    if (a[i].conn == h->capture)
                        kbuf_append(&h->captured, out->data, out->len);
                    if (g_trace)
                        fprintf(stderr, "  conn %llu <- %.*s\n", (unsigned long long)a[i].conn,
                                (int)(out->len < 200 ? out->len : 200), out->data);
                    node_output_sent(&h->n, a[i].conn, out->len);
                }
                if (a[i].type == ACT_CLOSE && ncl < 64)
                    closes[ncl++] = a[i].conn;
                break;
            }
            case ACT_LOG_WRITE:
                CHECK(!h->log_pending); /* never more than one at a time */
                CHECK(node_log_batch(&h->n) != NULL);
                h->log_pending = true;
                break;
            case ACT_PEER_SEND: check_sent(h, &a[i]); break;
            case ACT_SNAPSHOT_SAVE:
                CHECK(!h->snap_pending); /* one at a time */
                check_snapshot_save(&a[i]);
                h->snap_pending = true;
                h->snap_data = a[i].data;
                kbuf_clear(&h->snap_copy);
                kbuf_append(&h->snap_copy, a[i].data, a[i].len);
                break;
            default: CHECK(!"an unknown action");
            }
        }
        node_actions_clear(&h->n);
        for (size_t i = 0; i < ncl; i++) {
            for (int s = 0; s < NSLOTS; s++)
                if (h->slot[s] == closes[i])
                    h->slot[s] = 0;
            if (node_output(&h->n, closes[i]) != NULL) {
                node_event ev = {.type = EV_CLIENT_CLOSED, .conn = closes[i]};
                ev.now_ms = h->now;
                node_step(&h->n, &ev);
            }
        }
    }
}

static void step(harness *h, node_event *ev)
{
    ev->now_ms = h->now;
    node_step(&h->n, ev);
    carry_out(h);
    check_state(h);
}

/* The disk finishes what is pending (each completion may start more). */
static void acknowledge(harness *h, const char *log_error, const char *snap_error)
{
    for (int i = 0; i < 16 && (h->log_pending || h->snap_pending); i++) {
        if (h->log_pending) {
            h->log_pending = false;
            step(h, &(node_event){.type = EV_LOG_DONE, .log_error = log_error});
            log_error = NULL;
        }
        if (h->snap_pending) {
            h->snap_pending = false;
            step(h, &(node_event){.type = EV_SNAPSHOT_SAVED, .log_error = snap_error});
            snap_error = NULL;
        }
    }
}

static void advance(harness *h, int64_t ms)
{
    h->now += ms;
    int64_t d = node_next_deadline(&h->n);
    if (d >= 0 && d <= h->now)
        step(h, &(node_event){.type = EV_TIMER});
    step(h, &(node_event){.type = EV_TICK});
}

static void peer_data(harness *h, rf_id peer, const void *data, size_t len)
{
    unsigned char *copy = dup_exact(data, len); /* ASan sees a read past it */
    step(h, &(node_event){.type = EV_PEER_DATA, .peer = peer, .data = copy, .len = len});
    free(copy);
}

static void send_msg(harness *h, const rf_msg *m)
{
    kbuf b = KBUF_INIT;
    rf_msg_encode(m, &b);
    peer_data(h, m->from, b.data, b.len);
    kbuf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* Checks after every step                                                  */

static void check_ids(const rf_id *ids, uint32_t n)
{
    CHECK(n <= RF_MAX_MEMBERS);
    for (uint32_t i = 0; i < n; i++) {
        CHECK(ids[i] != 0);
        CHECK(i == 0 || ids[i] > ids[i - 1]);
    }
}

static bool port_ok(int p, int min) { return p >= min && p <= 65535; }

static void check_state(harness *h)
{
    node *n = &h->n;
    /* P3: a snapshot being saved (maybe from another thread) stays as it
     * was until EV_SNAPSHOT_SAVED (ASan: and allocated). */
    if (h->snap_pending)
        CHECK(memcmp(h->snap_data, h->snap_copy.data, h->snap_copy.len) == 0);

    /* P1: the directory. */
    node_addr list[DIR_LIMIT + 8];
    size_t nd = node_dir_list(n, list, sizeof(list) / sizeof(list[0]));
    CHECK(nd <= DIR_LIMIT);
    for (size_t i = 0; i < nd; i++) {
        const node_addr *a = &list[i];
        CHECK(a->id != 0);
        CHECK(i == 0 || a->id > list[i - 1].id);
        CHECK(memchr(a->bus_host, '\0', sizeof(a->bus_host)) != NULL);
        CHECK(memchr(a->host, '\0', sizeof(a->host)) != NULL);
        CHECK(port_ok(a->bus_port, 0) && port_ok(a->port, 0) && port_ok(a->http_port, -1));
        const node_addr *g = node_dir_get(n, a->id);
        CHECK(g != NULL && g->id == a->id && g->port == a->port && g->bus_port == a->bus_port);
    }
    const node_addr *me = node_dir_get(n, SELF);
    CHECK(me != NULL);
    CHECK(me->id == SELF && strcmp(me->bus_host, h->me.bus_host) == 0 &&
          me->bus_port == h->me.bus_port && strcmp(me->host, h->me.host) == 0 &&
          me->port == h->me.port && me->http_port == h->me.http_port);

    /* P2: Raft's state. */
    const rf_core *r = node_raft(n);
    CHECK(r != NULL);
    CHECK(r->term >= h->last_term);
    CHECK(r->commit >= h->last_commit);
    h->last_term = r->term;
    h->last_commit = r->commit;
    CHECK(r->applied <= r->commit);
    CHECK(r->commit <= rf_last_index(r));
    CHECK(r->role >= RF_FOLLOWER && r->role <= RF_LEADER);
    if (r->role == RF_LEADER)
        CHECK(r->leader == SELF);
    check_ids(r->config.voters, r->config.nvoters);
    check_ids(r->config.learners, r->config.nlearners);
    CHECK(r->config.nvoters + r->config.nlearners <= RF_MAX_MEMBERS);
    for (uint32_t i = 0; i < r->config.nvoters; i++)
        CHECK(!rf_config_is_learner(&r->config, r->config.voters[i]));
    node_log_info li;
    node_log_get_info(n, &li);
    CHECK(li.enabled);
    CHECK(li.applied_index == r->applied);
}

/* ------------------------------------------------------------------------ */
/* Boot                                                                     */

static void set_peer_entry(harness *h, rf_id id)
{
    node_addr a;
    memset(&a, 0, sizeof(a));
    a.id = id;
    snprintf(a.bus_host, sizeof(a.bus_host), "10.0.0.%llu", (unsigned long long)id);
    a.bus_port = 7100 + (int)id;
    snprintf(a.host, sizeof(a.host), "10.0.0.%llu", (unsigned long long)id);
    a.port = 7000 + (int)id;
    a.http_port = -1;
    node_dir_set(&h->n, &a);
}

/* Peer 2 answers what node 1 sent it during the boot: votes granted,
 * entries acknowledged. */
static void boot_answer(harness *h)
{
    for (int round = 0; round < 64 && h->boot_q.len; round++) {
        kbuf q = h->boot_q;
        kbuf_init(&h->boot_q);
        for (size_t at = 0; at + 4 <= q.len;) {
            uint32_t len;
            memcpy(&len, q.data + at, 4);
            at += 4;
            rf_msg m, r;
            kbuf sc = KBUF_INIT;
            if (rf_msg_decode(&m, q.data + at, len, &sc) != NULL)
                abort();
            at += len;
            memset(&r, 0, sizeof(r));
            r.from = 2;
            r.to = SELF;
            r.term = m.term;
            r.ctx = m.ctx;
            r.sent_ms = m.sent_ms;
            switch (m.type) {
            case RF_MSG_PREVOTE: r.type = RF_MSG_PREVOTE_RESP; break;
            case RF_MSG_VOTE: r.type = RF_MSG_VOTE_RESP; break;
            case RF_MSG_APPEND:
                r.type = RF_MSG_APPEND_RESP;
                r.index = m.prev_index + m.nentries;
                break;
            case RF_MSG_HEARTBEAT: r.type = RF_MSG_HEARTBEAT_RESP; break;
            default: r.type = 0; break;
            }
            kbuf_free(&sc);
            if (r.type)
                send_msg(h, &r);
            acknowledge(h, NULL, NULL);
        }
        kbuf_free(&q);
    }
}

static void boot(harness *h, uint8_t mode)
{
    h->now = T0;
    node_limits lim = node_limits_default();
    node_init(&h->n, 1, h->now, &lim);
    node_log_opts lo;
    node_log_opts_default(&lo);
    lo.seg_max = 16 << 10;
    lo.salt_seed = 1;
    node_cluster_opts co;
    memset(&co, 0, sizeof(co));
    rf_options_default(&co.raft);
    co.raft.id = SELF;
    co.raft.seed = 7;
    co.raft.election_ms = 100;
    co.raft.heartbeat_ms = 10;
    co.raft.max_drift_ms = 10;
    co.raft.snapshot_chunk = 512;
    co.raft.check_quorum = !(mode & 0x40);
    co.raft.pre_vote = !(mode & 0x80);
    int start = mode & 3;
    if (start != 3) {
        co.bootstrap.nvoters = 3;
        for (int k = 0; k < 3; k++)
            co.bootstrap.voters[k] = (rf_id)k + 1;
    }
    co.forward = (mode & 4) != 0;
    co.lease_reads = (mode & 8) != 0;
    co.snapshot_entries = (mode & 0x10) ? 3 : 0;
    co.data_seed = DATA_SEED;
    char err[256];
    if (!node_cluster_start(&h->n, NULL, &lo, &co, err, sizeof(err))) {
        fprintf(stderr, "fuzz_peer: node_cluster_start: %s\n", err);
        abort();
    }
    memset(&h->me, 0, sizeof(h->me));
    h->me.id = SELF;
    snprintf(h->me.bus_host, sizeof(h->me.bus_host), "10.0.0.1");
    h->me.bus_port = 7101;
    snprintf(h->me.host, sizeof(h->me.host), "10.0.0.1");
    h->me.port = 7001;
    h->me.http_port = -1;
    node_dir_set(&h->n, &h->me);
    if (mode & 0x20) {
        set_peer_entry(h, 2);
        set_peer_entry(h, 3);
    }
    carry_out(h);
    check_state(h);
    acknowledge(h, NULL, NULL);

    const rf_core *r = node_raft(&h->n);
    if (start == 1) {
        h->booting = true;
        for (int i = 0; i < 200 && !(r->role == RF_LEADER && r->commit >= r->noop_index &&
                                     r->noop_index > 0); i++) {
            advance(h, 5);
            acknowledge(h, NULL, NULL);
            boot_answer(h);
        }
        h->booting = false;
        kbuf_clear(&h->boot_q);
        if (r->role != RF_LEADER || r->commit < r->noop_index) {
            fprintf(stderr, "fuzz_peer: the node did not become a ready leader at boot\n");
            abort();
        }
    } else if (start == 2) {
        rf_entry noop = {.index = 1, .term = 1, .type = RF_ENTRY_NOOP};
        rf_msg m = {.type = RF_MSG_APPEND, .from = 2, .to = SELF, .term = 1, .commit = 1,
                    .nentries = 1, .entries = &noop};
        send_msg(h, &m);
        acknowledge(h, NULL, NULL);
        if (r->leader != 2 || r->commit != 1) {
            fprintf(stderr, "fuzz_peer: the node did not follow peer 2 at boot\n");
            abort();
        }
    }
    if (g_trace)
        fprintf(stderr, "boot mode %02x: role %s term %llu leader %llu commit %llu last %llu\n",
                mode, rf_role_name(r->role), (unsigned long long)r->term,
                (unsigned long long)r->leader, (unsigned long long)r->commit,
                (unsigned long long)rf_last_index(r));
}

/* ------------------------------------------------------------------------ */
/* Operations                                                               */

static const char *const CMDS[] = {
    "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
    "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
    "*2\r\n$7\r\nCLUSTER\r\n$5\r\nNODES\r\n",
    "*2\r\n$7\r\nCLUSTER\r\n$4\r\nINFO\r\n",
    "*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n",
    "*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n*1\r\n$4\r\nEXEC\r\n",
    "*1\r\n$8\r\nREADONLY\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
    "*1\r\n$9\r\nREADWRITE\r\n",
    "*3\r\n$5\r\nBLPOP\r\n$1\r\nl\r\n$3\r\n0.1\r\n",
    "*3\r\n$5\r\nLPUSH\r\n$1\r\nl\r\n$1\r\nx\r\n",
    "*2\r\n$7\r\nCLUSTER\r\n$8\r\nFAILOVER\r\n",
    "*4\r\n$7\r\nCLUSTER\r\n$8\r\nFAILOVER\r\n$2\r\nTO\r\n$1\r\n2\r\n",
    "*3\r\n$7\r\nCLUSTER\r\n$6\r\nFORGET\r\n$1\r\n3\r\n",
    "*3\r\n$7\r\nCLUSTER\r\n$11\r\nCONSISTENCY\r\n$5\r\nLEASE\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
    "*2\r\n$7\r\nCLUSTER\r\n$4\r\nMYID\r\n",
    "*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n",
    "*1\r\n$4\r\nPING\r\n",
    "*2\r\n$4\r\nINFO\r\n$7\r\nCLUSTER\r\n",
    "*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nw\r\n",
    "*3\r\n$7\r\nCLUSTER\r\n$6\r\nFORGET\r\n$1\r\n2\r\n",
    "*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nEXEC\r\n",
    "*3\r\n$6\r\nEXPIRE\r\n$1\r\nk\r\n$1\r\n1\r\n",
    "*3\r\n$7\r\nCLUSTER\r\n$6\r\nFORGET\r\n$1\r\n4\r\n",
    "*2\r\n$3\r\nGET\r\n$1\r\nc\r\n",
};
#define NCMDS (sizeof(CMDS) / sizeof(CMDS[0]))

/* Sends req on connection c (open, and one of the driver's). */
static void client_send(harness *h, conn_id c, const char *req)
{
    size_t avail, len = strlen(req);
    char *p = node_read_buffer(&h->n, c, len, &avail);
    CHECK(p != NULL && avail >= len);
    memcpy(p, req, len);
    step(h, &(node_event){.type = EV_CLIENT_DATA, .conn = c, .nread = len});
}

static conn_id client_open(harness *h, const char *addr)
{
    const char *rej;
    conn_id c = node_client_open(&h->n, h->now, addr, "127.0.0.1:6379", -1, &rej);
    CHECK(c != 0);
    return c;
}

/* A peer's message: Raft's APPEND and SNAPSHOT carry the leader's bytes,
 * which the node trusts: made valid here (see the header). */
static void deliver(harness *h, rf_id peer, const uint8_t *p, size_t len)
{
    bool kv = len >= 2 && p[0] >= 0x92 && p[0] <= 0x9f &&
              ((p[1] >= 101 && p[1] <= 103) || (p[1] >= 110 && p[1] <= 112));
    unsigned char *in = dup_exact(p, len);
    rf_msg m;
    if (kv || rf_msg_decode(&m, in, len, &h->scratch) != NULL ||
        (m.type != RF_MSG_APPEND && m.type != RF_MSG_SNAPSHOT) ||
        (m.type == RF_MSG_SNAPSHOT && !m.done)) {
        if (g_trace)
            fprintf(stderr, "peer %llu: %zu bytes, %s\n", (unsigned long long)peer, len,
                    kv ? "kv/cluster" : "delivered as is");
        step(h, &(node_event){.type = EV_PEER_DATA, .peer = peer, .data = in, .len = len});
        free(in);
        return;
    }
    rf_entry *ents = NULL;
    kbuf snap = KBUF_INIT;
    if (m.type == RF_MSG_APPEND) {
        ents = malloc((m.nentries ? m.nentries : 1) * sizeof(*ents));
        if (ents == NULL)
            abort();
        for (uint32_t i = 0; i < m.nentries; i++) {
            ents[i] = m.entries[i];
            if (ents[i].type == RF_ENTRY_NORMAL) {
                const kbuf *pl = &g_payload[(ents[i].len ? ents[i].data[0] : 0) % NPAYLOADS];
                ents[i].data = (unsigned char *)pl->data;
                ents[i].len = (uint32_t)pl->len;
            }
        }
        m.entries = m.nentries ? ents : NULL;
    } else if (m.offset == 0) {
        leader_snapshot(&snap, m.snap_index, m.snap_term, &m.snap_config);
        m.data = (const unsigned char *)snap.data;
        m.len = (uint32_t)snap.len;
        m.total = snap.len;
    } else {
        m.done = false; /* chunks of the fuzzer's bytes are never installed */
    }
    kbuf enc = KBUF_INIT;
    rf_msg_encode(&m, &enc);
    if (g_trace)
        fprintf(stderr, "peer %llu: %s term %llu (%zu bytes, %zu sanitized)\n",
                (unsigned long long)peer, rf_msg_type_name((rf_msg_type)m.type),
                (unsigned long long)m.term, len, enc.len);
    free(in);
    free(ents);
    kbuf_free(&snap);
    peer_data(h, peer, enc.data, enc.len);
    kbuf_free(&enc);
}

/* [102, req, origin, reply, sid] for the last forwarded request. */
static void answer_forwarded(harness *h, const uint8_t *reply, size_t len)
{
    kbuf b = KBUF_INIT;
    mp_arr(&b, 5);
    mp_uint(&b, 102);
    mp_uint(&b, h->fwd_req);
    mp_uint(&b, h->fwd_origin);
    unsigned char hd[5] = {0xc6, (unsigned char)(len >> 24), (unsigned char)(len >> 16),
                           (unsigned char)(len >> 8), (unsigned char)len};
    mp_raw(&b, hd, 5);
    mp_raw(&b, reply, len);
    mp_uint(&b, h->fwd_sid);
    if (g_trace)
        fprintf(stderr, "peer %llu answers request %llu of conn %llu (%zu bytes)\n",
                (unsigned long long)h->fwd_peer, (unsigned long long)h->fwd_req,
                (unsigned long long)h->fwd_origin, len);
    peer_data(h, h->fwd_peer, b.data, b.len);
    kbuf_free(&b);
}

static void admin(harness *h, int what)
{
    rf_err e = RF_OK;
    kbuf b = KBUF_INIT;
    switch (what) {
    case 0: e = node_cluster_change(&h->n, RF_CONF_ADD_LEARNER, 4, h->now); break;
    case 1: e = node_cluster_change(&h->n, RF_CONF_PROMOTE, 4, h->now); break;
    case 2: e = node_cluster_change(&h->n, RF_CONF_REMOVE, 3, h->now); break;
    case 3: e = node_cluster_change(&h->n, RF_CONF_REMOVE, 4, h->now); break;
    case 4: e = node_cluster_transfer(&h->n, 2, h->now); break;
    case 5: e = node_cluster_transfer(&h->n, 3, h->now); break;
    case 6:
    case 7: {
        bool any = what == 6 ? node_cluster_health(&h->n, &b) : node_cluster_join(&h->n, &b);
        if (any) { /* one whole msgpack array of its kind */
            msgpack_unpacked u;
            msgpack_unpacked_init(&u);
            size_t off = 0;
            CHECK(msgpack_unpack_next(&u, b.data, b.len, &off) == MSGPACK_UNPACK_SUCCESS);
            CHECK(off == b.len && u.data.type == MSGPACK_OBJECT_ARRAY);
            CHECK(u.data.via.array.size == (what == 6 ? 8u : 3u));
            CHECK(u.data.via.array.ptr[0].via.u64 == (what == 6 ? 110u : 111u));
            msgpack_unpacked_destroy(&u);
        }
        break;
    }
    case 8: set_peer_entry(h, 2); break;
    case 9: advance(h, 61000); break;
    default: break;
    }
    (void)e;
    kbuf_free(&b);
    carry_out(h);
    check_state(h);
}

/* A framed message at data[*at]: u16 length, bytes. */
static void framed(const uint8_t *data, size_t size, size_t *at, const uint8_t **p, size_t *len)
{
    size_t n = size - *at;
    if (n >= 2) {
        n = (size_t)data[*at] << 8 | data[*at + 1];
        *at += 2;
        if (n > size - *at)
            n = size - *at;
    } else {
        *at = size;
        n = 0;
    }
    *p = data + *at;
    *len = n;
    *at += n;
}

static void run(harness *h, const uint8_t *data, size_t size)
{
    boot(h, data[0]);
    for (size_t at = 1; at < size;) {
        g_at = at;
        uint8_t c = data[at++];
        if (c < 0x80 || (c >= 0xe0 && c < 0xf0)) {
            const uint8_t *p;
            size_t len;
            framed(data, size, &at, &p, &len);
            rf_id peer = c < 0x80 ? 2 + (c & 1) : 4 + (c & 3);
            deliver(h, peer, p, len);
            if (c < 0x80 && (c & 2))
                acknowledge(h, NULL, NULL);
        } else if (c < 0xa0) {
            advance(h, ((c & 0x1f) + 1) * 5);
            acknowledge(h, NULL, NULL);
        } else if (c < 0xc0) {
            size_t which = at < size ? data[at++] % NCMDS : 0;
            int s = c & 3;
            if (g_trace)
                fprintf(stderr, "client slot %d: %s\n", s, CMDS[which]);
            if (h->slot[s] == 0)
                h->slot[s] = client_open(h, "127.0.0.1:5000");
            client_send(h, h->slot[s], CMDS[which]);
        } else if (c < 0xc4) {
            conn_id id = h->slot[c & 3];
            h->slot[c & 3] = 0;
            if (id)
                step(h, &(node_event){.type = EV_CLIENT_CLOSED, .conn = id});
        } else if (c < 0xc8) {
            node_dir_link(&h->n, 2 + (c & 1), (c & 2) != 0);
        } else if (c < 0xd0) {
            const uint8_t *p;
            size_t len;
            framed(data, size, &at, &p, &len);
            if (h->fwd_seen)
                answer_forwarded(h, p, len);
        } else if (c < 0xde) {
            acknowledge(h, NULL, NULL);
        } else if (c == 0xde) {
            acknowledge(h, NULL, h->snap_pending ? "Input/output error" : NULL);
        } else if (c == 0xdf) {
            acknowledge(h, h->log_pending ? "No space left on device" : NULL, NULL);
        } else {
            admin(h, c & 0xf);
        }
    }
    g_at = size;

    /* P4: the node still answers a new client. */
    h->capture = client_open(h, "127.0.0.1:5001");
    client_send(h, h->capture, "*1\r\n$4\r\nPING\r\n");
    CHECK(h->captured.len == 7 && memcmp(h->captured.data, "+PONG\r\n", 7) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    init_once();
    fuzz_input_begin(data, size);
    g_at = 0;
    harness *h = &H;
    kbuf scratch = h->scratch, sent = h->sent, q = h->boot_q, cap = h->captured,
         snap = h->snap_copy;
    memset(h, 0, sizeof(*h));
    h->scratch = scratch, h->sent = sent, h->boot_q = q, h->captured = cap, h->snap_copy = snap;
    kbuf_clear(&h->boot_q);
    kbuf_clear(&h->captured);
    run(h, data, size);
    node_free(&h->n);
    fuzz_input_end();
    return 0;
}
