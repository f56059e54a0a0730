/* Blocking commands (BLPOP & co.) through the node, as a driver sees them:
 * a blocked client gets no reply until a write serves it or its deadline
 * passes (an EV_TIMER at node_next_deadline()), and its pipelined commands
 * wait behind the blocking one. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/node/node.h"

static int64_t now = 1700000000000LL;

static void feeds(node *n, conn_id c, const char *s)
{
    size_t len = strlen(s), avail;
    char *p = node_read_buffer(n, c, len, &avail);
    cr_assert_not_null(p);
    memcpy(p, s, len);
    node_event ev = {.type = EV_CLIENT_DATA, .now_ms = now, .conn = c, .nread = len};
    node_step(n, &ev);
}

/* Everything c has to send (marked sent); "" when nothing. */
static char out_buf[65536];
static const char *take(node *n, conn_id c)
{
    kbuf *o = node_output(n, c);
    cr_assert_not_null(o);
    cr_assert_lt(o->len, sizeof(out_buf));
    memcpy(out_buf, o->data, o->len);
    out_buf[o->len] = '\0';
    node_output_sent(n, c, o->len);
    node_actions_clear(n);
    return out_buf;
}

static bool has_send(node *n, conn_id c)
{
    size_t k;
    const node_action *a = node_actions(n, &k);
    for (size_t i = 0; i < k; i++)
        if (a[i].type == ACT_SEND && a[i].conn == c)
            return true;
    return false;
}

static conn_id open_conn(node *n)
{
    const char *reject;
    conn_id c = node_client_open(n, now, "127.0.0.1:5000", "127.0.0.1:6379", 7, &reject);
    cr_assert_neq(c, 0);
    return c;
}

static void timer(node *n)
{
    node_event ev = {.type = EV_TIMER, .now_ms = now};
    node_step(n, &ev);
}

#define RUN(n, c, cmd, want) \
    do {                                                          \
        feeds((n), (c), cmd "\r\n");                              \
        cr_assert_str_eq(take((n), (c)), (want), "%s", cmd);      \
    } while (0)

Test(blocking, served_in_arrival_order_and_pipeline_resumes)
{
    node n;
    node_init(&n, 1, now, NULL);
    conn_id a = open_conn(&n), b = open_conn(&n), w = open_conn(&n);
    /* a blocks, with a PING pipelined behind the BLPOP. */
    feeds(&n, a, "BLPOP q 0\r\nPING\r\n");
    cr_assert_str_eq(take(&n, a), "");
    RUN(&n, b, "BLPOP q 0", "");
    /* (INFO's reply is long: just check the count.) */
    feeds(&n, w, "INFO clients\r\n");
    cr_assert(strstr(take(&n, w), "blocked_clients:2\r\n"));
    feeds(&n, w, "RPUSH q x y z\r\n");
    cr_assert(has_send(&n, a));
    cr_assert(has_send(&n, b));
    /* RPUSH replies with the length after the push, as Redis. */
    cr_assert_str_eq(take(&n, w), ":3\r\n");
    cr_assert_str_eq(take(&n, a), "*2\r\n$1\r\nq\r\n$1\r\nx\r\n+PONG\r\n");
    cr_assert_str_eq(take(&n, b), "*2\r\n$1\r\nq\r\n$1\r\ny\r\n");
    RUN(&n, w, "LRANGE q 0 -1", "*1\r\n$1\r\nz\r\n");
    RUN(&n, w, "BRPOP q 0", "*2\r\n$1\r\nq\r\n$1\r\nz\r\n"); /* at once: not empty */
    RUN(&n, w, "EXISTS q", ":0\r\n");
    node_free(&n);
}

Test(blocking, timeout_at_the_deadline)
{
    node n;
    node_init(&n, 1, now, NULL);
    conn_id a = open_conn(&n), b = open_conn(&n);
    cr_assert_eq(node_next_deadline(&n), -1);
    RUN(&n, a, "BLPOP q 1.5", "");
    RUN(&n, b, "BZPOPMIN z 0.25", "");
    cr_assert_eq(node_next_deadline(&n), now + 250);
    now += 249;
    timer(&n);
    cr_assert_str_eq(take(&n, b), "");
    now += 1;
    timer(&n);
    cr_assert_str_eq(take(&n, b), "*-1\r\n");
    cr_assert_eq(node_next_deadline(&n), now - 250 + 1500);
    now += 1250;
    timer(&n);
    cr_assert_str_eq(take(&n, a), "*-1\r\n");
    cr_assert_eq(node_next_deadline(&n), -1);
    /* A timeout of 0 waits for ever. */
    RUN(&n, a, "BLPOP q 0", "");
    cr_assert_eq(node_next_deadline(&n), -1);
    node_free(&n);
}

Test(blocking, argument_errors)
{
    node n;
    node_init(&n, 1, now, NULL);
    conn_id a = open_conn(&n);
    RUN(&n, a, "BLPOP q -1", "-ERR timeout is negative\r\n");
    RUN(&n, a, "BLPOP q abc", "-ERR timeout is not a float or out of range\r\n");
    RUN(&n, a, "BLPOP q 1e300", "-ERR timeout is out of range\r\n");
    RUN(&n, a, "BLPOP q", "-ERR wrong number of arguments for 'blpop' command\r\n");
    RUN(&n, a, "BLMOVE a b up left 0", "-ERR syntax error\r\n");
    RUN(&n, a, "BLMPOP 0 0 q LEFT", "-ERR numkeys should be greater than 0\r\n");
    RUN(&n, a, "BLMPOP 0 1 q MIDDLE", "-ERR syntax error\r\n");
    RUN(&n, a, "BLMPOP 0 1 q LEFT COUNT 0", "-ERR count should be greater than 0\r\n");
    RUN(&n, a, "BZMPOP 0 1 z ANY", "-ERR syntax error\r\n");
    RUN(&n, a, "SET s v", "+OK\r\n");
    RUN(&n, a, "BLPOP nosuch s 0", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    RUN(&n, a, "BZPOPMAX s 0", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    RUN(&n, a, "BLMOVE s d LEFT LEFT 0", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    cr_assert_eq(engine_blocked_clients(&n.eng), 0);
    node_free(&n);
}

Test(blocking, inside_exec_answers_at_once)
{
    node n;
    node_init(&n, 1, now, NULL);
    conn_id a = open_conn(&n);
    feeds(&n, a, "MULTI\r\nBLPOP q 0\r\nBRPOPLPUSH q d 0\r\nBLMPOP 0 1 q LEFT\r\nBZPOPMIN z 0\r\nEXEC\r\n");
    cr_assert_str_eq(take(&n, a), "+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n"
                                  "*4\r\n*-1\r\n$-1\r\n*-1\r\n*-1\r\n");
    /* A transaction's pushes are seen by a blocked client only after EXEC,
     * all of them: it gets the last one pushed to the head. */
    conn_id b = open_conn(&n);
    RUN(&n, b, "BLPOP q 0", "");
    feeds(&n, a, "MULTI\r\nLPUSH q a\r\nLPUSH q b\r\nLPUSH q c\r\nEXEC\r\n");
    take(&n, a);
    cr_assert_str_eq(take(&n, b), "*2\r\n$1\r\nq\r\n$1\r\nc\r\n");
    node_free(&n);
}

Test(blocking, blmove_chains_and_zsets)
{
    node n;
    node_init(&n, 1, now, NULL);
    conn_id a = open_conn(&n), b = open_conn(&n), c = open_conn(&n), w = open_conn(&n);
    RUN(&n, a, "BLMOVE src dst RIGHT LEFT 0", "");
    RUN(&n, b, "BRPOP dst 0", "");
    RUN(&n, c, "BZPOPMAX z1 z2 0", "");
    RUN(&n, w, "RPUSH src 1 2", ":2\r\n");
    cr_assert_str_eq(take(&n, a), "$1\r\n2\r\n");
    cr_assert_str_eq(take(&n, b), "*2\r\n$3\r\ndst\r\n$1\r\n2\r\n");
    RUN(&n, w, "LRANGE src 0 -1", "*1\r\n$1\r\n1\r\n");
    RUN(&n, w, "EXISTS dst", ":0\r\n");
    RUN(&n, w, "ZADD z2 1 a 3 c 2 b", ":3\r\n");
    cr_assert_str_eq(take(&n, c), "*3\r\n$2\r\nz2\r\n$1\r\nc\r\n$1\r\n3\r\n");
    /* BZMPOP with COUNT, BLMPOP from the second key. */
    RUN(&n, a, "BZMPOP 0 2 z9 z2 MIN COUNT 5", "*2\r\n$2\r\nz2\r\n*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    RUN(&n, a, "BLMPOP 0 2 l1 l2 RIGHT COUNT 2", "");
    RUN(&n, w, "RPUSH l2 a b c", ":3\r\n");
    cr_assert_str_eq(take(&n, a), "*2\r\n$2\r\nl2\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
    node_free(&n);
}

Test(blocking, wrong_type_waiters_stay_and_disconnects_leave)
{
    node n;
    node_init(&n, 1, now, NULL);
    conn_id a = open_conn(&n), b = open_conn(&n), w = open_conn(&n);
    RUN(&n, a, "BLPOP k 0", "");
    RUN(&n, b, "BZPOPMIN k 0", "");
    /* A sorted set at k serves the BZPOPMIN waiter; the BLPOP one waits. */
    RUN(&n, w, "ZADD k 5 m", ":1\r\n");
    cr_assert_str_eq(take(&n, b), "*3\r\n$1\r\nk\r\n$1\r\nm\r\n$1\r\n5\r\n");
    cr_assert_str_eq(take(&n, a), "");
    cr_assert_eq(engine_blocked_clients(&n.eng), 1);
    /* The blocked client goes away: nothing is served to it. */
    node_event closed = {.type = EV_CLIENT_CLOSED, .now_ms = now, .conn = a};
    node_step(&n, &closed);
    cr_assert_eq(engine_blocked_clients(&n.eng), 0);
    RUN(&n, w, "RPUSH k2 v", ":1\r\n");
    RUN(&n, w, "LLEN k2", ":1\r\n");
    node_free(&n);
}

Test(blocking, blmove_to_a_wrong_type_destination_errors)
{
    node n;
    node_init(&n, 1, now, NULL);
    conn_id a = open_conn(&n), w = open_conn(&n);
    RUN(&n, w, "SET dst str", "+OK\r\n");
    RUN(&n, a, "BRPOPLPUSH src dst 0", "");
    RUN(&n, w, "RPUSH src x", ":1\r\n");
    cr_assert_str_eq(take(&n, a), "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
    RUN(&n, w, "LLEN src", ":1\r\n"); /* nothing was popped */
    node_free(&n);
}

Test(blocking, same_key_twice_and_idle_timeout_spares_blocked)
{
    node_limits lim = node_limits_default();
    lim.idle_timeout_ms = 1000;
    node n;
    node_init(&n, 1, now, &lim);
    conn_id a = open_conn(&n);
    RUN(&n, a, "BLPOP k k k 0", "");
    now += 5000;
    node_event tick = {.type = EV_TICK, .now_ms = now};
    node_step(&n, &tick);
    size_t k;
    const node_action *acts = node_actions(&n, &k);
    for (size_t i = 0; i < k; i++)
        cr_assert(acts[i].conn != a || acts[i].type != ACT_CLOSE);
    node_actions_clear(&n);
    conn_id w = open_conn(&n);
    RUN(&n, w, "RPUSH k 1 2", ":2\r\n");
    cr_assert_str_eq(take(&n, a), "*2\r\n$1\r\nk\r\n$1\r\n1\r\n");
    RUN(&n, w, "LLEN k", ":1\r\n");
    node_free(&n);
}

Test(blocking, same_seed_same_service)
{
    /* Two nodes fed the same events serve the same clients the same way. */
    char got[2][256];
    for (int r = 0; r < 2; r++) {
        node n;
        node_init(&n, 42, now, NULL);
        conn_id c[5];
        for (int i = 0; i < 5; i++)
            c[i] = open_conn(&n);
        for (int i = 0; i < 4; i++) {
            feeds(&n, c[i], i % 2 ? "BLPOP a b 0\r\n" : "BLPOP b a 0\r\n");
            cr_assert_str_eq(take(&n, c[i]), "");
        }
        RUN(&n, c[4], "MULTI", "+OK\r\n");
        RUN(&n, c[4], "RPUSH a 1 2", "+QUEUED\r\n");
        RUN(&n, c[4], "RPUSH b 3 4", "+QUEUED\r\n");
        RUN(&n, c[4], "EXEC", "*2\r\n:2\r\n:2\r\n");
        got[r][0] = '\0';
        for (int i = 0; i < 4; i++)
            strcat(got[r], take(&n, c[i]));
        node_free(&n);
    }
    cr_assert_str_eq(got[0], got[1]);
    /* Key a was written first: its first two waiters (everyone waits on
     * both keys) empty it, the next two get b's. */
    cr_assert_str_eq(got[0], "*2\r\n$1\r\na\r\n$1\r\n1\r\n"
                             "*2\r\n$1\r\na\r\n$1\r\n2\r\n"
                             "*2\r\n$1\r\nb\r\n$1\r\n3\r\n"
                             "*2\r\n$1\r\nb\r\n$1\r\n4\r\n");
}

Test(blocking, client_unblock_and_client_list_flag)
{
    node n;
    node_init(&n, 1, now, NULL);
    conn_id a = open_conn(&n), b = open_conn(&n), w = open_conn(&n);
    feeds(&n, a, "BLPOP q 0\r\nPING\r\n");
    RUN(&n, b, "BZPOPMIN z 0", "");
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "CLIENT LIST ID %llu\r\n", (unsigned long long)a);
    feeds(&n, w, cmd);
    cr_assert(strstr(take(&n, w), " flags=b "), "%s", out_buf);
    /* TIMEOUT (the default): the timeout's reply; the pipeline goes on. */
    snprintf(cmd, sizeof(cmd), "CLIENT UNBLOCK %llu\r\n", (unsigned long long)a);
    feeds(&n, w, cmd);
    cr_assert_str_eq(take(&n, w), ":1\r\n");
    cr_assert_str_eq(take(&n, a), "*-1\r\n+PONG\r\n");
    feeds(&n, w, cmd); /* not blocked any more */
    cr_assert_str_eq(take(&n, w), ":0\r\n");
    snprintf(cmd, sizeof(cmd), "CLIENT UNBLOCK %llu ERROR\r\n", (unsigned long long)b);
    feeds(&n, w, cmd);
    cr_assert_str_eq(take(&n, w), ":1\r\n");
    cr_assert_str_eq(take(&n, b), "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    RUN(&n, w, "CLIENT UNBLOCK 999999", ":0\r\n");
    RUN(&n, w, "CLIENT UNBLOCK abc", "-ERR value is not an integer or out of range\r\n");
    RUN(&n, w, "CLIENT UNBLOCK 1 FOO", "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n");
    cr_assert_eq(engine_blocked_clients(&n.eng), 0);
    node_free(&n);
}

Test(blocking, swapdb_serves_clients_waiting_in_either_database)
{
    node n;
    node_init(&n, 1, now, NULL);
    conn_id a = open_conn(&n), w = open_conn(&n);
    RUN(&n, a, "SELECT 9", "+OK\r\n");
    RUN(&n, a, "BRPOP k 0", "");
    RUN(&n, w, "SELECT 1", "+OK\r\n");
    RUN(&n, w, "RPUSH k hello", ":1\r\n");
    cr_assert_str_eq(take(&n, a), "");
    RUN(&n, w, "SWAPDB 1 9", "+OK\r\n");
    cr_assert_str_eq(take(&n, a), "*2\r\n$1\r\nk\r\n$5\r\nhello\r\n");
    /* An expired key swapped in serves nobody. */
    RUN(&n, a, "BRPOP k 0", "");
    RUN(&n, w, "DEBUG SET-ACTIVE-EXPIRE 0", "+OK\r\n");
    RUN(&n, w, "RPUSH k bye", ":1\r\n");
    RUN(&n, w, "PEXPIRE k 100", ":1\r\n");
    now += 101;
    RUN(&n, w, "SWAPDB 1 9", "+OK\r\n");
    cr_assert_str_eq(take(&n, a), "");
    cr_assert_eq(engine_blocked_clients(&n.eng), 1);
    node_free(&n);
}

Test(blocking, timeout_rounding_as_redis)
{
    node n;
    node_init(&n, 1, now, NULL);
    conn_id a = open_conn(&n), b = open_conn(&n);
    /* ceil(-0.5 * 1000) would be -500: negative; -0.0001 s rounds to 0 ms:
     * no timeout at all, as Redis's ceill(). 0.0001 s is 1 ms. */
    RUN(&n, a, "BLPOP q -0.5", "-ERR timeout is negative\r\n");
    RUN(&n, a, "BLPOP q -0.0001", "");
    cr_assert_eq(node_next_deadline(&n), -1);
    RUN(&n, b, "BLPOP q 0.0001", "");
    cr_assert_eq(node_next_deadline(&n), now + 1);
    node_free(&n);
}

Test(blocking, blocked_client_query_buffer_is_bounded)
{
    node_limits lim = node_limits_default();
    lim.resp.query_max = 4096;
    node n;
    node_init(&n, 1, now, &lim);
    conn_id a = open_conn(&n);
    RUN(&n, a, "BLPOP q 0", "");
    char big[1024];
    memset(big, 'x', sizeof(big) - 3);
    memcpy(big + sizeof(big) - 3, "\r\n", 3);
    for (int i = 0; i < 4; i++)
        feeds(&n, a, big); /* 4 KiB waits behind the blocked command */
    size_t k;
    const node_action *acts = node_actions(&n, &k);
    cr_assert_eq(k, 0);
    feeds(&n, a, big); /* past the limit: closed at once */
    acts = node_actions(&n, &k);
    cr_assert_eq(k, 1);
    cr_assert_eq(acts[0].type, ACT_CLOSE);
    cr_assert(acts[0].discard);
    node_free(&n);
}
