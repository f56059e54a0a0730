/* node: clients, limits and the engine behind one step function. See node.h. */
#include "core/node/log_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void conn_key(const dict_node *n, const char **k, size_t *len)
{
    const node_conn *c = (const node_conn *)n;
    *k = (const char *)&c->id;
    *len = sizeof(c->id);
}

static const dict_type conn_type = {.key = conn_key};

node_limits node_limits_default(void)
{
    node_limits l = {
        .resp = resp_limits_default(),
        .maxclients = 10000,
        .idle_timeout_ms = 0,
        .output_hard_bytes = 0,
        .output_soft_bytes = 0,
        .output_soft_ms = 0,
        .protected_mode = true,
        .output_pause_bytes = 4u * 1024 * 1024,
    };
    return l;
}

void node_init(node *n, uint64_t seed, int64_t now_ms, const node_limits *lim)
{
    memset(n, 0, sizeof(*n));
    engine_init(&n->eng, seed, now_ms);
    n->lim = lim ? *lim : node_limits_default();
    dict_init(&n->conns, &conn_type, kprng_next(&n->eng.rng));
    n->now_ms = now_ms;
}

static void on_data(node *n, node_conn *c, size_t nread, int64_t now_ms);

static void conn_free(node *n, node_conn *c)
{
    if (c->fwd_used)
        node_cluster_fwd_closed(n, c);
    kbuf_free(&c->fwd_reply);
    kbuf_free(&c->fwd_req);
    free(c->fwd_ends);
    free(c->proxy_ends);
    dict_unlink(&n->conns, (const char *)&c->id, sizeof(c->id));
    n->nconns--;
    engine_client_free(&n->eng, c->cl);
    node_log_conn_gone(n, c->id);
    resp_parser_free(&c->parser);
    kbuf_free(&c->query);
    kbuf_free(&c->out);
    free(c);
}

static void free_conn_cb(void *ctx, dict_node *d)
{
    (void)ctx;
    node_conn *c = (node_conn *)d;
    resp_parser_free(&c->parser);
    kbuf_free(&c->fwd_reply);
    kbuf_free(&c->fwd_req);
    free(c->fwd_ends);
    free(c->proxy_ends);
    kbuf_free(&c->query);
    kbuf_free(&c->out);
    free(c);
}

void node_free(node *n)
{
    node_log_free(n); /* its detached client before the engine goes */
    dict_for_each(&n->conns, free_conn_cb, NULL);
    dict_free(&n->conns);
    engine_free(&n->eng); /* frees the clients */
    free(n->outbox);
    memset(n, 0, sizeof(*n));
}

node_conn *node_find_conn(node *n, conn_id id)
{
    return (node_conn *)dict_find(&n->conns, (const char *)&id, sizeof(id));
}

static void emit_action(node *n, node_action_type type, conn_id c, bool discard)
{
    if (n->noutbox == n->capoutbox) {
        n->capoutbox = n->capoutbox ? n->capoutbox * 2 : 16;
        n->outbox = realloc(n->outbox, n->capoutbox * sizeof(*n->outbox));
        if (n->outbox == NULL)
            abort();
    }
    n->outbox[n->noutbox++] = (node_action){.type = type, .conn = c, .discard = discard};
}

void node_emit_data(node *n, node_action_type type, rf_id peer, const void *data, size_t len,
                    uint64_t index, uint64_t term)
{
    emit_action(n, type, 0, false);
    node_action *a = &n->outbox[n->noutbox - 1];
    a->peer = peer;
    a->data = data;
    a->len = len;
    a->index = index;
    a->term = term;
}

void node_emit(node *n, node_action_type type, conn_id c) { emit_action(n, type, c, false); }

/* Closes c at once, without sending what is unsent (Redis frees such
 * clients rather than flushing them). */
static void emit_close_now(node *n, conn_id c) { emit_action(n, ACT_CLOSE, c, true); }

/* Redis 7.0's text, to the letter. */
#define PROTECTED_MODE_ERR                                                                      \
    "-DENIED Redis is running in protected mode because protected "                             \
    "mode is enabled and no password is set for the default user. "                             \
    "In this mode connections are only accepted from the loopback interface. "                  \
    "If you want to connect from external computers to Redis you "                              \
    "may adopt one of the following solutions: "                                                \
    "1) Just disable protected mode sending the command "                                       \
    "'CONFIG SET protected-mode no' from the loopback interface "                               \
    "by connecting to Redis from the same host the server is "                                  \
    "running, however MAKE SURE Redis is not publicly accessible "                              \
    "from internet if you do so. Use CONFIG REWRITE to make this "                              \
    "change permanent. "                                                                        \
    "2) Alternatively you can just disable the protected mode by "                              \
    "editing the Redis configuration file, and setting the protected "                          \
    "mode option to 'no', and then restarting the server. "                                     \
    "3) If you started the server manually just for testing, restart "                          \
    "it with the '--protected-mode no' option. "                                                \
    "4) Setup a an authentication password for the default user. "                              \
    "NOTE: You only need to do one of the above things in order for "                           \
    "the server to start accepting connections from the outside.\r\n"

bool node_addr_is_loopback(const char *addr)
{
    if (addr == NULL || addr[0] == '\0')
        return true; /* no address: a unix socket or the simulator */
    const char *host = addr;
    size_t len = strlen(addr);
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (end == NULL)
            return false;
        host = addr + 1;
        len = (size_t)(end - host);
    } else {
        const char *colon = strrchr(addr, ':');
        if (colon)
            len = (size_t)(colon - addr);
    }
    if (len >= 4 && memcmp(host, "127.", 4) == 0)
        return true;
    if (len == 3 && memcmp(host, "::1", 3) == 0)
        return true;
    return len >= 11 && strncasecmp(host, "::ffff:127.", 11) == 0;
}

conn_id node_client_open(node *n, int64_t now_ms, const char *addr, const char *laddr, int fd,
                         const char **reject)
{
    *reject = NULL;
    if (now_ms > n->now_ms)
        n->now_ms = now_ms;
    if (n->nconns >= n->lim.maxclients) {
        n->stats.rejected_connections++;
        *reject = "-ERR max number of clients reached\r\n";
        return 0;
    }
    if (n->lim.protected_mode && n->eng.cfg.requirepass == NULL &&
        !node_addr_is_loopback(addr)) {
        n->stats.rejected_connections++;
        *reject = PROTECTED_MODE_ERR;
        return 0;
    }
    node_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->cl = engine_client_new(&n->eng, now_ms);
    c->cl->out = &c->out; /* blocking commands' late replies */
    c->id = c->cl->id;
    c->cl->fd = fd;
    if (addr)
        snprintf(c->cl->addr, sizeof(c->cl->addr), "%s", addr);
    if (laddr)
        snprintf(c->cl->laddr, sizeof(c->cl->laddr), "%s", laddr);
    resp_parser_init(&c->parser, &n->lim.resp);
    c->parser.auth_required = !c->cl->authenticated;
    c->soft_since_ms = -1;
    dict_add(&n->conns, &c->node);
    n->nconns++;
    return c->id;
}

char *node_read_buffer(node *n, conn_id id, size_t want, size_t *avail)
{
    node_conn *c = node_find_conn(n, id);
    if (c == NULL) {
        *avail = 0;
        return NULL;
    }
    char *p = kbuf_reserve(&c->query, want ? want : 1);
    *avail = c->query.cap - c->query.len;
    return p;
}

kbuf *node_output(node *n, conn_id id)
{
    node_conn *c = node_find_conn(n, id);
    return c ? &c->out : NULL;
}

void node_output_sent(node *n, conn_id id, size_t len)
{
    node_conn *c = node_find_conn(n, id);
    if (c == NULL)
        return;
    kbuf_consume(&c->out, len);
    if (n->lim.output_soft_bytes == 0 || c->out.len <= n->lim.output_soft_bytes)
        c->soft_since_ms = -1;
}

uint64_t node_output_pause_mark(const node *n)
{
    uint64_t mark = n->lim.output_pause_bytes;
    if (mark == 0)
        return 0;
    if (n->lim.output_hard_bytes > mark)
        mark = n->lim.output_hard_bytes;
    if (n->lim.output_soft_bytes > mark)
        mark = n->lim.output_soft_bytes;
    return mark;
}

bool node_input_pending(node *n, conn_id id)
{
    node_conn *c = node_find_conn(n, id);
    return c && c->paused && !c->closing;
}

client *node_client(node *n, conn_id id)
{
    node_conn *c = node_find_conn(n, id);
    return c ? c->cl : NULL;
}

/* Closes c, dropping its pending output (the limits' way out). */
static void drop(node *n, node_conn *c)
{
    kbuf_clear(&c->out);
    if (!c->closing) {
        c->closing = true;
        emit_close_now(n, c->id);
    }
}

/* client-output-buffer-limit for normal clients: hard at once, soft after
 * staying over it for soft seconds. Returns false if c was dropped. */
static bool check_output(node *n, node_conn *c)
{
    size_t used = c->out.len;
    if (n->lim.output_hard_bytes && used > n->lim.output_hard_bytes) {
        n->stats.output_limit_disconnections++;
        drop(n, c);
        return false;
    }
    if (n->lim.output_soft_bytes && used > n->lim.output_soft_bytes) {
        if (c->soft_since_ms < 0)
            c->soft_since_ms = n->now_ms;
        else if (n->now_ms - c->soft_since_ms >= n->lim.output_soft_ms) {
            n->stats.output_limit_disconnections++;
            drop(n, c);
            return false;
        }
    } else {
        c->soft_since_ms = -1;
    }
    return true;
}

/* CLIENT KILL marks its victims; the node closes them. */
static void close_killed_cb(void *ctx, dict_node *d)
{
    node *n = ctx;
    node_conn *c = (node_conn *)d;
    if ((c->cl->flags & CLIENT_KILLED) && !c->closing) {
        c->closing = true;
        emit_close_now(n, c->id);
    }
}

/* With a log: -1 when cmd must wait (c has unapplied writes and cmd is not
 * one, or a watched EXEC holds writes back), 1 when it was proposed (or
 * refused because the log failed), 0 when it runs now. */
static int route(node *n, node_conn *c, const resp_command *cmd, int64_t now_ms)
{
    if (node_log_closing(n))
        return c->unapplied > 0 ? -1 : 0;
    engine_route rt = engine_route_command(&n->eng, c->cl, cmd->argc, cmd->argv, now_ms);
    if (c->unapplied > 0 && (rt == ROUTE_RUN || c->blocking_proposed))
        return -1;
    c->blocking_proposed = false;
    if (n->log->cl) {
        /* A follower forwards what only the leader may run. */
        int f = node_cluster_forward(n, c, rt, cmd->argc, cmd->argv);
        if (f != 0)
            return f;
    }
    if (rt == ROUTE_RUN)
        return n->log->cl ? node_cluster_read(n, c, cmd->argc, cmd->argv) : 0;
    if (node_log_barrier(n, c))
        return -1;
    const char *refusal = node_log_refusal(n);
    if (refusal == NULL) {
        node_log_propose(n, c, rt, cmd->argc, cmd->argv);
        return 1;
    }
    /* As Redis's rejectCommand: an EXEC refused aborts its transaction. */
    kbuf msg = KBUF_INIT;
    if (rt == ROUTE_PROPOSE_EXEC) {
        engine_end_transaction(&n->eng, c->cl);
        kbuf_append(&msg, "-EXECABORT Transaction discarded because of: ", 45);
        kbuf_append(&msg, refusal + 1, strlen(refusal + 1));
    } else {
        kbuf_append(&msg, refusal, strlen(refusal));
    }
    resp_add_error(&c->out, msg.data, msg.len);
    engine_count_error(&n->eng, msg.data, msg.len);
    kbuf_free(&msg);
    return 1;
}

void node_conn_resume(node *n, node_conn *c) { on_data(n, c, 0, n->now_ms); }

void node_conn_free(node *n, node_conn *c) { conn_free(n, c); }

static void on_data(node *n, node_conn *c, size_t nread, int64_t now_ms)
{
    assert(c->query.len + nread <= c->query.cap);
    c->query.len += nread;
    c->in_total += nread;
    n->stats.net_input_bytes += nread;
    if (c->closing)
        return;
    /* A blocked client's further commands wait in its query buffer, within
     * client-query-buffer-limit as any other's (past it: closed, as Redis). */
    if (engine_client_blocked(c->cl)) {
        if (n->lim.resp.query_max && c->query.len > n->lim.resp.query_max) {
            n->stats.protocol_errors++;
            drop(n, c);
        }
        return;
    }
    bool killed = false;
    size_t done = 0;
    uint64_t mark = node_output_pause_mark(n);
    c->paused = false;
    for (;;) {
        /* A client that does not read its replies stops here until the
         * driver has taken them (node_input_pending). */
        if (mark && c->out.len > mark) {
            c->paused = done < c->query.len;
            break;
        }
        resp_command cmd;
        c->parser.auth_required = !c->cl->authenticated;
        int r = resp_parse(&c->parser, c->query.data + done, c->query.len - done, &cmd);
        if (r == RESP_MORE)
            break;
        if (r == RESP_ERROR) {
            const char *msg = resp_parser_error(&c->parser);
            if (msg) {
                resp_add_error(&c->out, msg, strlen(msg));
                engine_count_error(&n->eng, msg, strlen(msg));
            }
            n->stats.protocol_errors++;
            c->closing = true;
            break;
        }
        if (cmd.argc > 0 && node_log_enabled(n)) {
            /* Where this command ends in the connection's whole stream. */
            c->cur_end = c->in_total - (c->query.len - done - cmd.len);
            int w = route(n, c, &cmd, now_ms);
            if (w < 0)
                break; /* waits in the query buffer (node_conn_resume) */
            if (w > 0) {
                done += cmd.len;
                continue;
            }
        }
        done += cmd.len;
        if (cmd.argc == 0)
            continue;
        engine_execute(&n->eng, c->cl, cmd.argc, cmd.argv, now_ms, &c->out);
        if (n->eng.shutdown_requested)
            n->stopping = true;
        if (n->eng.kill_pending) {
            n->eng.kill_pending = false;
            killed = true;
        }
        if (!check_output(n, c))
            return;
        if (c->cl->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_KILLED)) {
            c->closing = true;
            break;
        }
        if (engine_client_blocked(c->cl))
            break;
    }
    kbuf_consume(&c->query, done);
    if (c->out.len)
        node_emit(n, ACT_SEND, c->id);
    if (c->closing)
        node_emit(n, ACT_CLOSE, c->id);
    if (killed)
        dict_for_each(&n->conns, close_killed_cb, n);
}

typedef struct tick_ctx {
    node *n;
} tick_ctx;

static void tick_conn_cb(void *ctx, dict_node *d)
{
    node *n = ((tick_ctx *)ctx)->n;
    node_conn *c = (node_conn *)d;
    if (c->closing)
        return;
    /* As Redis: a client inside MULTI is timed out too, a blocked one not
     * (its own timeout rules it). */
    if (engine_client_blocked(c->cl))
        return;
    if (n->lim.idle_timeout_ms > 0 && n->now_ms - c->cl->last_ms > n->lim.idle_timeout_ms) {
        n->stats.timeouts++;
        c->closing = true;
        emit_close_now(n, c->id);
        return;
    }
    check_output(n, c);
}

/* Clients the engine served or timed out: send their reply, then run what
 * they had pipelined after the blocking command (which may serve or block
 * others in turn: they join the same queue). */
static void drain_unblocked(node *n)
{
    client *cl;
    while ((cl = engine_next_unblocked(&n->eng)) != NULL) {
        node_conn *c = node_find_conn(n, cl->id);
        if (c == NULL || c->closing)
            continue;
        if (!check_output(n, c))
            continue;
        on_data(n, c, 0, n->now_ms); /* emits the ACT_SEND */
    }
}

int64_t node_next_deadline(const node *n)
{
    int64_t a = engine_next_block_deadline(&n->eng), b = node_cluster_deadline(n);
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

void node_step(node *n, const node_event *ev)
{
    if (ev->now_ms > n->now_ms)
        n->now_ms = ev->now_ms;
    node_cluster_gc(n);
    switch (ev->type) {
    case EV_PEER_DATA:
    case EV_SNAPSHOT_SAVED:
        node_cluster_step(n, ev);
        break;
    case EV_TICK: {
        engine_tick(&n->eng, n->now_ms);
        node_log_tick(n);
        node_cluster_step(n, ev);
        tick_ctx t = {n};
        dict_for_each(&n->conns, tick_conn_cb, &t);
        break;
    }
    case EV_CLIENT_DATA: {
        node_conn *c = node_find_conn(n, ev->conn);
        if (c)
            on_data(n, c, ev->nread, n->now_ms);
        break;
    }
    case EV_CLIENT_CLOSED: {
        node_conn *c = node_find_conn(n, ev->conn);
        if (c)
            conn_free(n, c);
        break;
    }
    case EV_TIMER:
        engine_block_timeouts(&n->eng, n->now_ms);
        node_cluster_step(n, ev);
        break;
    case EV_LOG_DONE:
        node_log_done(n, ev->log_error);
        break;
    }
    drain_unblocked(n);
    if (!n->defer_log_flush)
        node_log_flush(n);
    node_cluster_proxy_flush(n);
}
