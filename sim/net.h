/* sim/net: the simulated network between nodes (the cluster bus).
 *
 * Per directed link (from -> to): up or down, so a partition can be
 * symmetric or one-way. Every message sent on an up link is, with the
 * seed's probabilities, lost, or delivered once or twice (duplication),
 * after base + a random jitter; with reordering off, a link delivers in the
 * order it was sent (as one TCP connection would), with it on, jitter
 * reorders freely. A few messages (spike_ppm) are held up far longer,
 * which on an ordered link holds up the ones behind them too. Messages to a node that crashed are lost at delivery
 * (the world checks the receiver's incarnation, not this module), and so
 * are messages on a link that went down while they were on their way
 * (the world checks the link again at delivery).
 *
 * Partitions: net_isolate (one node cut off both ways: the leader, when
 * the world asks), net_split (a random subset against the rest),
 * net_one_way (a few random directed links down), net_heal (every link up).
 *
 * Randomness only from the world's PRNG passed in. Times are in µs. */
#ifndef KEEL_SIM_NET_H
#define KEEL_SIM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util/prng.h"

#define SNET_MAX 9

typedef struct snet_opts {
    int64_t delay_us;       /* base one-way latency */
    int64_t jitter_us;      /* + uniform [0, jitter] */
    uint32_t loss_ppm;      /* per message, parts per million */
    uint32_t dup_ppm;
    bool reorder;           /* jitter may reorder a link's messages */
    uint32_t spike_ppm;     /* a message is held up much longer (a TCP
                             * retransmission, a stalled switch): */
    int64_t spike_us;       /* + uniform [0, spike_us] */
} snet_opts;

typedef struct snet {
    int n;
    snet_opts o;
    bool down[SNET_MAX][SNET_MAX]; /* down[from][to] */
    int64_t last[SNET_MAX][SNET_MAX]; /* FIFO: the latest delivery time scheduled */
    uint64_t sent, lost, duped, cut;
} snet;

void snet_init(snet *net, int n, const snet_opts *o);

/* Decides the fate of one message sent at now_us: returns how many copies
 * arrive (0, 1 or 2) and their delivery times in at[]. */
int snet_send(snet *net, kprng *rng, int from, int to, int64_t now_us, int64_t at[2]);

void snet_heal(snet *net);
void snet_isolate(snet *net, int node);
/* A random non-trivial split of the nodes into two sides. Writes a
 * description ("{1,3}|{2,4,5}") to desc. */
void snet_split(snet *net, kprng *rng, char *desc, size_t cap);
/* k random directed links down. */
void snet_one_way(snet *net, kprng *rng, int k, char *desc, size_t cap);
/* Whether any link is down. */
bool snet_partitioned(const snet *net);

#endif
