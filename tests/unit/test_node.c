/* core/node: clients as the driver sees them — bytes in, actions and
 * reply bytes out — with the limits a server enforces. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/node/node.h"

static int64_t now = 1700000000000LL;

/* Feeds bytes to conn c as the runtime would (into the node's buffer). */
static void feed(node *n, conn_id c, const char *bytes, size_t len)
{
    size_t avail;
    char *p = node_read_buffer(n, c, len, &avail);
    cr_assert_not_null(p);
    cr_assert_geq(avail, len);
    memcpy(p, bytes, len);
    node_event ev = {.type = EV_CLIENT_DATA, .now_ms = now, .conn = c, .nread = len};
    node_step(n, &ev);
}

static void feeds(node *n, conn_id c, const char *s) { feed(n, c, s, strlen(s)); }

/* Takes everything c has to send as a string (and marks it sent). */
static char *take(node *n, conn_id c)
{
    kbuf *o = node_output(n, c);
    cr_assert_not_null(o);
    char *s = malloc(o->len + 1);
    memcpy(s, o->data, o->len);
    s[o->len] = '\0';
    node_output_sent(n, c, o->len);
    return s;
}

static bool has_action(node *n, node_action_type t, conn_id c)
{
    size_t k;
    const node_action *a = node_actions(n, &k);
    for (size_t i = 0; i < k; i++)
        if (a[i].type == t && a[i].conn == c)
            return true;
    return false;
}

static conn_id open_conn(node *n)
{
    const char *reject;
    conn_id c = node_client_open(n, now, "127.0.0.1:5000", "127.0.0.1:6379", 7, &reject);
    cr_assert_neq(c, 0);
    cr_assert_null(reject);
    return c;
}

Test(node, pipelined_commands_in_pieces_reply_in_order)
{
    node n;
    node_init(&n, 1, now, NULL);
    conn_id c = open_conn(&n);
    const char *stream = "*1\r\n$5\r\nMULTI\r\n*1\r\n$4\r\nEXEC\r\nMULTI\r\nEXEC\r\n";
    size_t len = strlen(stream);
    /* Every split point gives the same bytes out. */
    for (size_t cut = 0; cut <= len; cut++) {
        feed(&n, c, stream, cut);
        feed(&n, c, stream + cut, len - cut);
        char *out = take(&n, c);
        cr_assert_str_eq(out, "+OK\r\n*0\r\n+OK\r\n*0\r\n", "cut at %zu", cut);
        free(out);
        node_actions_clear(&n);
    }
    node_free(&n);
}

Test(node, protocol_error_replies_then_closes_after_earlier_commands)
{
    node n;
    node_init(&n, 1, now, NULL);
    conn_id c = open_conn(&n);
    conn_id other = open_conn(&n);
    feeds(&n, c, "MULTI\r\n*1\r\n$x\r\n");
    char *out = take(&n, c);
    cr_assert_str_eq(out, "+OK\r\n-ERR Protocol error: invalid bulk length\r\n");
    free(out);
    cr_assert(has_action(&n, ACT_CLOSE, c));
    node_actions_clear(&n);
    cr_assert_eq(n.stats.protocol_errors, 1);
    /* More bytes after the error are ignored; other clients go on. */
    feeds(&n, c, "MULTI\r\n");
    cr_assert_eq(node_output(&n, c)->len, 0);
    feeds(&n, other, "MULTI\r\n");
    out = take(&n, other);
    cr_assert_str_eq(out, "+OK\r\n");
    free(out);
    node_event closed = {.type = EV_CLIENT_CLOSED, .now_ms = now, .conn = c};
    node_step(&n, &closed);
    cr_assert_null(node_output(&n, c));
    cr_assert_eq(n.nconns, 1);
    node_free(&n);
}

Test(node, maxclients_rejects_with_redis_error)
{
    node_limits lim = node_limits_default();
    lim.maxclients = 2;
    node n;
    node_init(&n, 1, now, &lim);
    open_conn(&n);
    conn_id b = open_conn(&n);
    const char *reject;
    cr_assert_eq(node_client_open(&n, now, "x", "y", -1, &reject), 0);
    cr_assert_str_eq(reject, "-ERR max number of clients reached\r\n");
    cr_assert_eq(n.stats.rejected_connections, 1);
    node_event closed = {.type = EV_CLIENT_CLOSED, .now_ms = now, .conn = b};
    node_step(&n, &closed);
    cr_assert_neq(node_client_open(&n, now, "127.0.0.1:1", "y", -1, &reject), 0);
    node_free(&n);
}

Test(node, idle_timeout_closes_on_tick)
{
    node_limits lim = node_limits_default();
    lim.idle_timeout_ms = 2000;
    node n;
    node_init(&n, 1, now, &lim);
    conn_id c = open_conn(&n);
    conn_id busy = open_conn(&n);
    int64_t t = now;
    for (int i = 0; i < 30; i++) {
        t += 100;
        node_event tick = {.type = EV_TICK, .now_ms = t};
        node_step(&n, &tick);
        if (i % 5 == 0) {
            node_event d = {.type = EV_CLIENT_DATA, .now_ms = t, .conn = busy, .nread = 0};
            size_t avail;
            char *p = node_read_buffer(&n, busy, 16, &avail);
            memcpy(p, "MULTI\r\nEXEC\r\n", 13);
            d.nread = 13;
            node_step(&n, &d);
        }
    }
    cr_assert(has_action(&n, ACT_CLOSE, c));
    cr_assert(!has_action(&n, ACT_CLOSE, busy));
    cr_assert_eq(n.stats.timeouts, 1);
    node_free(&n);
}

Test(node, output_hard_limit_drops_a_client_that_does_not_read)
{
    node_limits lim = node_limits_default();
    lim.output_hard_bytes = 1000;
    node n;
    node_init(&n, 1, now, &lim);
    conn_id c = open_conn(&n);
    /* Never take the output: each MULTI/EXEC pair adds 9 bytes. */
    bool closed = false;
    for (int i = 0; i < 200 && !closed; i++) {
        feeds(&n, c, "MULTI\r\nEXEC\r\n");
        closed = has_action(&n, ACT_CLOSE, c);
    }
    cr_assert(closed);
    cr_assert_eq(node_output(&n, c)->len, 0, "pending output is dropped");
    cr_assert_eq(n.stats.output_limit_disconnections, 1);
    node_free(&n);
}

Test(node, same_seed_same_bytes)
{
    node a, b;
    node_init(&a, 99, now, NULL);
    node_init(&b, 99, now, NULL);
    conn_id ca = open_conn(&a), cb = open_conn(&b);
    const char *script = "MULTI\r\nEXEC\r\nFOO bar\r\nWATCH x\r\nMULTI\r\nDISCARD\r\n";
    feeds(&a, ca, script);
    feeds(&b, cb, script);
    char *oa = take(&a, ca), *ob = take(&b, cb);
    cr_assert_str_eq(oa, ob);
    free(oa);
    free(ob);
    node_free(&a);
    node_free(&b);
}

Test(node, protected_mode_refuses_remote_clients_without_a_password)
{
    cr_assert(node_addr_is_loopback("127.0.0.1:5000"));
    cr_assert(node_addr_is_loopback("127.8.9.10:1"));
    cr_assert(node_addr_is_loopback("[::1]:5000"));
    cr_assert(node_addr_is_loopback("[::ffff:127.0.0.1]:5000"));
    cr_assert(node_addr_is_loopback(""));
    cr_assert_not(node_addr_is_loopback("10.0.0.1:5000"));
    cr_assert_not(node_addr_is_loopback("[fe80::1]:5000"));
    cr_assert_not(node_addr_is_loopback("1127.0.0.1:5"));
    cr_assert_not(node_addr_is_loopback("[::1"));

    node n;
    node_init(&n, 1, now, NULL);
    const char *reject;
    cr_assert_eq(node_client_open(&n, now, "10.1.2.3:4000", "10.1.2.4:6379", 9, &reject), 0);
    cr_assert_not_null(reject);
    cr_assert(strncmp(reject, "-DENIED Redis is running in protected mode because protected mode is "
                              "enabled and no password is set for the default user.", 121) == 0,
              "%s", reject);
    cr_assert_eq(n.stats.rejected_connections, 1);
    /* Loopback clients are welcome. */
    cr_assert_neq(node_client_open(&n, now, "127.0.0.1:4000", "127.0.0.1:6379", 9, &reject), 0);
    /* A password lifts it, as protected-mode no does. */
    n.eng.cfg.requirepass = strdup("secret");
    cr_assert_neq(node_client_open(&n, now, "10.1.2.3:4001", "10.1.2.4:6379", 9, &reject), 0);
    free(n.eng.cfg.requirepass);
    n.eng.cfg.requirepass = NULL;
    n.lim.protected_mode = false;
    cr_assert_neq(node_client_open(&n, now, "10.1.2.3:4002", "10.1.2.4:6379", 9, &reject), 0);
    node_free(&n);
}
