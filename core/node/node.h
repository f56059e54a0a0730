/* node: the core's state machine per node, as its driver sees it.
 *
 * The driver (the libuv runtime, or the simulator) turns the world into
 * events and carries out the actions the node asks for. For clients:
 *
 *   open      node_client_open()          -> a connection id
 *   bytes     read into node_read_buffer(), then a CLIENT_DATA event
 *   replies   after each step, ACT_SEND for connections with output:
 *             send node_output(), then node_output_sent() for what went out
 *   close     ACT_CLOSE (QUIT, protocol error, limits, CLIENT KILL), or
 *             the driver's CLIENT_CLOSED when the peer went away
 *   time      TICK events, hz times a second, and a TIMER event at
 *             node_next_deadline() when there is one (blocked clients'
 *             timeouts)
 *
 * All parsing, limits and command execution happen here; the node never
 * reads a clock or touches a socket. Later issues add peers, the log and
 * disks to the same step. */
#ifndef KEEL_CORE_NODE_NODE_H
#define KEEL_CORE_NODE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cmd/engine.h"
#include "core/resp/parser.h"
#include "core/util/kbuf.h"

typedef uint64_t conn_id;

typedef enum node_event_type {
    EV_TICK = 1,
    EV_CLIENT_DATA,   /* nread bytes were written into node_read_buffer() */
    EV_CLIENT_CLOSED, /* the peer closed or the socket failed */
    EV_TIMER,         /* the time node_next_deadline() asked for came */
} node_event_type;

typedef struct node_event {
    node_event_type type;
    int64_t now_ms; /* wall clock, ms */
    conn_id conn;
    size_t nread;
} node_event;

typedef enum node_action_type {
    ACT_SEND = 1, /* conn has bytes in node_output() */
    ACT_CLOSE,    /* close conn after sending what node_output() holds */
} node_action_type;

typedef struct node_action {
    node_action_type type;
    conn_id conn;
    bool discard; /* ACT_CLOSE: close at once, dropping unsent output (limits,
                   * timeout, CLIENT KILL), as Redis frees such clients */
} node_action;

/* Limits the node enforces per connection (Redis's names). */
typedef struct node_limits {
    resp_limits resp;            /* proto-max-bulk-len, client-query-buffer-limit */
    uint64_t maxclients;         /* 10000 */
    int64_t idle_timeout_ms;     /* `timeout`: 0 = never */
    uint64_t output_hard_bytes;  /* client-output-buffer-limit normal hard (0 = none) */
    uint64_t output_soft_bytes;  /* ... soft (0 = none) */
    int64_t output_soft_ms;      /* ... soft seconds, in ms */
    bool protected_mode;         /* `protected-mode yes` (default): without a
                                  * password, only loopback clients */
    uint64_t output_pause_bytes; /* stop running a client's commands while this
                                  * much of its output is unsent (0 = never);
                                  * see node_output_pause_mark() */
} node_limits;

typedef struct node_conn node_conn;

typedef struct node_stats {
    uint64_t rejected_connections;
    uint64_t protocol_errors;
    uint64_t output_limit_disconnections;
    uint64_t timeouts;
    uint64_t net_input_bytes;
} node_stats;

typedef struct node {
    engine eng;
    node_limits lim;
    node_stats stats;
    dict conns; /* conn_id -> node_conn */
    uint64_t nconns;
    node_action *outbox;
    size_t noutbox, capoutbox;
    int64_t now_ms;
    bool stopping; /* SHUTDOWN asked for: the driver stops after this step */
} node;

node_limits node_limits_default(void);

void node_init(node *n, uint64_t seed, int64_t now_ms, const node_limits *lim);
void node_free(node *n);

/* A new client connection; 0 if maxclients is reached or protected mode
 * refuses a non-loopback client without a password set (the node has then
 * written Redis's error into *reject for the driver to send before it
 * closes the socket). addr/laddr are "ip:port" ("[ip6]:port") for CLIENT
 * LIST and the loopback check. */
conn_id node_client_open(node *n, int64_t now_ms, const char *addr, const char *laddr, int fd,
                         const char **reject);

/* Room to read at least `want` bytes into for conn (its query buffer). */
char *node_read_buffer(node *n, conn_id c, size_t want, size_t *avail);

/* Processes one event; actions are appended to the outbox. */
void node_step(node *n, const node_event *ev);

/* The actions of the last step(s); node_actions_clear() once carried out. */
static inline const node_action *node_actions(const node *n, size_t *count)
{
    *count = n->noutbox;
    return n->outbox;
}
static inline void node_actions_clear(node *n) { n->noutbox = 0; }

/* The bytes waiting to go to conn (NULL if the connection is gone). */
kbuf *node_output(node *n, conn_id c);
/* The driver sent the first `len` bytes of node_output(). */
void node_output_sent(node *n, conn_id c, size_t len);

/* Backpressure for clients that do not read their replies. Once a
 * client's node_output() is over this mark (0 = never) the node stops
 * running its commands and the driver stops reading from it. The mark is
 * output_pause_bytes, or the client-output-buffer-limit if that is higher,
 * so that the limit still sees the output it is about. */
uint64_t node_output_pause_mark(const node *n);

/* True when the node stopped running conn's commands at the pause mark with
 * input left: once the driver has taken the output (node_output() under
 * the mark again), it steps a CLIENT_DATA event with nread 0 to run the
 * rest. */
bool node_input_pending(node *n, conn_id c);

/* The earliest wall time (ms) at which the node wants an EV_TIMER, -1 for
 * none. Ask again after every step. */
int64_t node_next_deadline(const node *n);

/* True if addr ("ip:port", "[ip6]:port") is a loopback address: 127/8,
 * ::1, or ::ffff:127.x.y.z. */
bool node_addr_is_loopback(const char *addr);

/* The engine client behind a connection (for the driver's bookkeeping). */
client *node_client(node *n, conn_id c);

#endif
