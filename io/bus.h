/* io/bus: the cluster bus, one TCP connection per pair of nodes carrying
 * framed messages. See docs/decisions/0010-cluster-bus.md.
 *
 * Who dials: the node with the LOWER id dials the higher one, the higher one
 * accepts. A node accepts only known peers (bus_add_peer) with a lower id
 * (or without an address), and unknown ones with accept_unknown; a dialer
 * accepts only the id it dialed (any id for bus_dial_any). When a second connection from the
 * same peer authenticates (the peer restarted before this side noticed), the
 * newest replaces the older.
 *
 * Wire format (all integers big-endian):
 *
 *   frame  = u32 length (of what follows, >= 1) | u8 service | payload
 *   service 0 is the bus's own: the first two frames each side sends are
 *   HELLO and PROOF, later ones are keepalive pings (empty payload);
 *   1 = KeyValue, 2 = Raft, 3 = Cluster are delivered to bus_recv_fn.
 *
 *   HELLO  = "KEELBUS1" | u8 version (1) | u64 node id | u8 n | n bytes of
 *            cluster id | u64 nonce
 *   PROOF  = the 16 bytes of XXH3-128 (canonical, big-endian) of
 *            u32 len(secret) | secret | u8 len(cluster id) | cluster id |
 *            u64 prover's nonce | u64 verifier's nonce |
 *            u64 prover's id    | u64 verifier's id
 *            (the prover is the side sending the PROOF, so the two proofs of
 *            a handshake differ and one cannot be reflected back as the
 *            other).
 *
 * Both sides send HELLO at once; each sends its PROOF once the other's
 * HELLO checked out, and the connection is up once the other's PROOF
 * checked out. Refused (connection closed, `refused` counted, nothing
 * delivered): a bad magic or version, another cluster id, an id that is not
 * expected (unknown, not lower than ours when accepting, not the one dialed
 * when dialing), a wrong proof, a handshake not done within handshake_ms,
 * a frame whose length is 0 or over max_frame (over 512 before the
 * handshake), a frame of a service other than 0..3, and any other frame
 * out of order.
 *
 * SECURITY, honestly: XXH3 is a fast non-cryptographic hash, not a MAC. The
 * proof keeps a misconfigured node (another cluster, a stale or missing
 * secret) out of the cluster; it does NOT stop an attacker: anyone who sees
 * one handshake can brute-force a guessable secret offline at hash speed,
 * XXH3 was never designed to resist forgery, and nothing after the
 * handshake is authenticated or encrypted (a man in the middle can read,
 * inject, or take the connection over). Run the bus on a trusted network;
 * TLS or an HMAC handshake is future work.
 *
 * Delivery: messages to a peer keep their order; each is delivered at most
 * once. Messages queued while the peer is down wait (up to max_queue_bytes)
 * and go out once it is up again; those in a write when a connection fails
 * are dropped (counted), as the peer may or may not have them.
 *
 * Callbacks (recv, peer_cb, close's done) are only ever called from libuv
 * callbacks on the loop thread, never from inside a bus_* call. Inside
 * recv and peer_cb every bus_* function may be called, bus_close and
 * bus_remove_peer of the peer at hand included.
 *
 * The process must ignore SIGPIPE (libuv writes with write(2)). */
#ifndef KEEL_IO_BUS_H
#define KEEL_IO_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define BUS_SVC_KV 1      /* forwarded commands and their replies */
#define BUS_SVC_RAFT 2    /* core/raft/msg.c bytes */
#define BUS_SVC_CLUSTER 3 /* join / leave / health */

#define BUS_MAX_CLUSTER_ID 255 /* bytes */

typedef struct bus bus;

/* A whole message from peer `from` (already authenticated): service is
 * 1 = KeyValue, 2 = Raft, 3 = Cluster. data (len bytes, not aligned, not
 * NUL-terminated) is valid during the call only. */
typedef void bus_recv_fn(void *ctx, uint64_t from, uint8_t service, const void *data, size_t len);

/* A peer's connection came up (authenticated) or went down. When a newer
 * connection of the same peer replaces an up one, down then up are called
 * (messages in flight on the old one may be lost). Not called by
 * bus_remove_peer or bus_close. */
typedef void bus_peer_fn(void *ctx, uint64_t peer, bool up);

typedef struct bus_opts {
    uint64_t self_id;          /* this node's id, non-zero */
    const char *cluster_id;    /* peers with another id are refused (at most 255 bytes) */
    const char *secret;        /* shared secret ("" or NULL = none); peers that cannot prove it are refused */
    uint64_t max_queue_bytes;  /* per peer (frames queued or being written); past it new
                                * messages are dropped (counted): 64 MiB. A message is
                                * accepted when it fits or the queue is empty. */
    uint32_t max_frame;        /* largest length field accepted (service byte + payload): 512 MiB */
    int64_t reconnect_min_ms, reconnect_max_ms; /* backoff with full jitter: 100, 5000 */
    uint64_t seed;             /* the jitter PRNG's (core/util/prng.h kprng) */
    /* Beyond the brief (0 = the default): */
    int64_t handshake_ms;      /* connect + handshake must be done within: 5000 */
    int64_t keepalive_ms;      /* an up connection with nothing written for this long sends a ping: 1000 */
    int64_t idle_timeout_ms;   /* an up connection with nothing read for this long is closed: 10000 */
    /* Accept a peer this bus does not know (a node joining the cluster),
     * as long as it proves the cluster id and secret: it becomes a known
     * peer without an address (never dialed; bus_add_peer gives it one). */
    bool accept_unknown;
} bus_opts;

void bus_opts_default(bus_opts *o);

/* NULL if self_id is 0 or the cluster id is longer than BUS_MAX_CLUSTER_ID.
 * The strings of o are copied; zero numbers take their defaults. */
bus *bus_new(uv_loop_t *loop, const bus_opts *o, bus_recv_fn *recv, bus_peer_fn *peer_cb,
             void *ctx);

/* Listens on host (an IPv4 or IPv6 literal; NULL: "127.0.0.1") and port
 * (0: an ephemeral one, bus_port() tells). 0 on success; on failure a
 * negative libuv error and a message in err (if not NULL). Call at most
 * once; after a failure, close the bus. */
int bus_listen(bus *b, const char *host, int port, char *err, size_t cap);
int bus_port(const bus *b); /* 0 if not listening */

/* A known peer's address (host: an IP literal or a name, resolved at each
 * dial). Idempotent; a new address is used from the next dial on (a dial in
 * progress to the old one is abandoned, an up connection is kept). Ids 0
 * and self_id are ignored. */
void bus_add_peer(bus *b, uint64_t id, const char *host, int port);

/* Closes the peer's connections and forgets it; its queued messages are
 * dropped. No peer_cb. Unknown ids are ignored. */
void bus_remove_peer(bus *b, uint64_t id);

/* Queues a copy of the message (service 1..3) for peer `to` and starts
 * writing if it is up. false (and nothing queued) if the peer is unknown,
 * or, counted in dropped_msgs, if the service is invalid, the frame would
 * be over max_frame, or the queue is full. */
bool bus_send(bus *b, uint64_t to, uint8_t service, const void *data, size_t len);

/* Dials host:port (an IP literal) without knowing who listens there: the
 * node that answers and proves the cluster id and secret becomes a known
 * peer (with this address if it was unknown) and peer_cb(up) is called.
 * For joining a cluster. One attempt: nothing is retried. 0, or a negative
 * libuv error if the address does not parse or the dial cannot start. */
int bus_dial_any(bus *b, const char *host, int port);

bool bus_connected(const bus *b, uint64_t peer);

typedef struct bus_peer_stats {
    uint64_t id;
    bool connected;
    uint64_t queued_bytes;  /* frames (5-byte headers included) queued or being written */
    uint64_t sent_msgs;     /* written to the socket */
    uint64_t recv_msgs;     /* delivered to recv */
    uint64_t dropped_msgs;  /* refused by bus_send, or lost with a connection */
    uint64_t connects;      /* handshakes completed */
    uint64_t refused;       /* connections from / to this peer refused here */
} bus_peer_stats;

/* Fills out[0..min(n, cap)) with the known peers in id order; returns n,
 * the number of known peers. */
size_t bus_stats(const bus *b, bus_peer_stats *out, size_t cap);

/* Every connection refused here, those not attributable to a known peer
 * (garbage, unknown ids, over the cap of pending handshakes) included. */
uint64_t bus_refused_total(const bus *b);

/* Closes every handle; done(ctx) (if not NULL) is called once all are
 * closed and everything is freed, from a close callback (the loop must
 * run). No other callback is called from then on. The bus must not be used
 * after this call. NULL is a no-op. */
void bus_close(bus *b, void (*done)(void *ctx), void *ctx);

#endif
