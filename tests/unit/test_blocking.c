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

/* ------------------------------------------------------------------------ */
/* Serving by proposal (engine_set_serve_hook): with a log, a ready key's
 * waiters are offered through the hook and served when the proposal
 * applies (engine_serve_apply). These drive the engine as the node would. */

#include "engine_harness.h"

typedef struct proposal {
    client *c;
    int dbid;
    int argc;
    resp_slice argv[8];
    char bytes[256];
} proposal;

/* What the hook was asked to propose, in order. */
typedef struct proposals {
    proposal p[32];
    int n, applied;
} proposals;

static void propose(void *ctx, client *c, int dbid, int argc, const resp_slice *argv)
{
    proposals *ps = ctx;
    cr_assert_lt(ps->n, 32);
    cr_assert_leq(argc, 8);
    proposal *p = &ps->p[ps->n++];
    p->c = c;
    p->dbid = dbid;
    p->argc = argc;
    size_t off = 0;
    for (int i = 0; i < argc; i++) {
        cr_assert_leq(off + argv[i].len, sizeof(p->bytes));
        memcpy(p->bytes + off, argv[i].ptr, argv[i].len);
        p->argv[i] = (resp_slice){p->bytes + off, argv[i].len};
        off += argv[i].len;
    }
}

/* A proposal's argv, space-separated (the tests' arguments have none). */
static char argv_buf[512];
static const char *argv_str(const proposal *p)
{
    argv_buf[0] = '\0';
    for (int i = 0; i < p->argc; i++) {
        if (i)
            strcat(argv_buf, " ");
        strncat(argv_buf, p->argv[i].ptr, p->argv[i].len);
    }
    return argv_buf;
}

/* A client that may block: it has an output of its own. */
static client *waiter(harness *h, kbuf *out)
{
    client *c = engine_client_new(&h->e, h->now_ms);
    c->out = out;
    return c;
}

/* What c has been sent since the last call (cleared). */
static char reply_buf[4096];
static const char *reply_of(client *c)
{
    cr_assert_lt(c->out->len, sizeof(reply_buf));
    memcpy(reply_buf, c->out->data, c->out->len);
    reply_buf[c->out->len] = '\0';
    kbuf_clear(c->out);
    return reply_buf;
}

/* The node's apply of proposal p for client c (NULL: gone): the engine
 * serves c, or the twin runs for a client with no connection (h->c). */
static bool apply_as(harness *h, const proposal *p, client *c)
{
    if (engine_serve_apply(&h->e, c, p->dbid, p->argc, p->argv, h->now_ms))
        return true;
    h->c->db = p->dbid;
    h_runv_as(h, h->c, p->argc, p->argv);
    return false;
}

static bool apply(harness *h, const proposal *p) { return apply_as(h, p, p->c); }

Test(serve_hook, blpop_is_offered_then_served_when_applied)
{
    harness h;
    h_init(&h);
    proposals ps = {0};
    engine_set_serve_hook(&h.e, propose, &ps);
    kbuf o = KBUF_INIT;
    client *a = waiter(&h, &o);
    EXPECT_AS(&h, a, "BLPOP q 0", "");
    EXPECT(&h, "RPUSH q x y", ":2\r\n");
    cr_assert_eq(ps.n, 1);
    cr_assert_eq(ps.p[0].c, a);
    cr_assert_eq(ps.p[0].dbid, 0);
    cr_assert_eq(ps.p[0].argc, 2);
    cr_assert_str_eq(argv_str(&ps.p[0]), "LPOP q");
    /* Offered, not served: nothing popped, nothing sent. */
    cr_assert(engine_client_blocked(a));
    cr_assert_null(engine_next_unblocked(&h.e));
    cr_assert_str_eq(reply_of(a), "");
    EXPECT(&h, "LRANGE q 0 -1", "*2\r\n$1\r\nx\r\n$1\r\ny\r\n");
    /* Not offered twice, not timed out, not unblocked meanwhile. */
    EXPECT(&h, "RPUSH q z", ":3\r\n");
    cr_assert_eq(ps.n, 1);
    cr_assert_str_eq(h_runf(&h, "CLIENT UNBLOCK %llu", (unsigned long long)a->id), ":0\r\n");
    cr_assert(apply(&h, &ps.p[0]));
    cr_assert_not(engine_client_blocked(a));
    cr_assert_eq(engine_next_unblocked(&h.e), a);
    cr_assert_str_eq(reply_of(a), "*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
    EXPECT(&h, "LRANGE q 0 -1", "*2\r\n$1\r\ny\r\n$1\r\nz\r\n");
    cr_assert_eq(ps.n, 1);
    h_free(&h);
    kbuf_free(&o);
}

Test(serve_hook, offers_as_many_waiters_as_elements)
{
    harness h;
    h_init(&h);
    proposals ps = {0};
    engine_set_serve_hook(&h.e, propose, &ps);
    kbuf o[3] = {KBUF_INIT, KBUF_INIT, KBUF_INIT};
    client *a = waiter(&h, &o[0]), *b = waiter(&h, &o[1]), *c = waiter(&h, &o[2]);
    EXPECT_AS(&h, a, "BLPOP q 0", "");
    EXPECT_AS(&h, b, "BRPOP q 0", "");
    EXPECT_AS(&h, c, "BLPOP q 0", "");
    EXPECT(&h, "RPUSH q 1", ":1\r\n");
    cr_assert_eq(ps.n, 1);
    cr_assert_eq(ps.p[0].c, a);
    /* One more element: the next waiter, a's serve counted as taking one. */
    EXPECT(&h, "RPUSH q 2", ":2\r\n");
    cr_assert_eq(ps.n, 2);
    cr_assert_eq(ps.p[1].c, b);
    cr_assert_str_eq(argv_str(&ps.p[1]), "RPOP q");
    cr_assert(apply(&h, &ps.p[0]));
    cr_assert(apply(&h, &ps.p[1]));
    cr_assert_str_eq(reply_of(a), "*2\r\n$1\r\nq\r\n$1\r\n1\r\n");
    cr_assert_str_eq(reply_of(b), "*2\r\n$1\r\nq\r\n$1\r\n2\r\n");
    cr_assert_eq(ps.n, 2);
    cr_assert(engine_client_blocked(c));
    EXPECT(&h, "EXISTS q", ":0\r\n");
    h_free(&h);
    for (int i = 0; i < 3; i++)
        kbuf_free(&o[i]);
}

Test(serve_hook, a_serve_that_finds_the_key_empty_leaves_the_client_blocked)
{
    harness h;
    h_init(&h);
    proposals ps = {0};
    engine_set_serve_hook(&h.e, propose, &ps);
    kbuf o = KBUF_INIT;
    client *a = waiter(&h, &o);
    EXPECT_AS(&h, a, "BLPOP q 0", "");
    EXPECT(&h, "LPUSH q x", ":1\r\n");
    cr_assert_eq(ps.n, 1);
    /* Someone else's LPOP applies first. */
    EXPECT(&h, "LPOP q", "$1\r\nx\r\n");
    cr_assert_not(apply(&h, &ps.p[0]));
    cr_assert_str_eq(h.last, "$-1\r\n"); /* the twin, run as a replay runs it */
    cr_assert(engine_client_blocked(a));
    cr_assert_str_eq(reply_of(a), "");
    cr_assert_null(engine_next_unblocked(&h.e));
    cr_assert_eq(ps.n, 1);
    /* A later push offers it again. */
    EXPECT(&h, "LPUSH q y", ":1\r\n");
    cr_assert_eq(ps.n, 2);
    cr_assert_eq(ps.p[1].c, a);
    cr_assert_str_eq(argv_str(&ps.p[1]), "LPOP q");
    cr_assert(apply(&h, &ps.p[1]));
    cr_assert_str_eq(reply_of(a), "*2\r\n$1\r\nq\r\n$1\r\ny\r\n");
    h_free(&h);
    kbuf_free(&o);
}

Test(serve_hook, a_failed_serve_is_offered_again_from_a_key_written_meanwhile)
{
    harness h;
    h_init(&h);
    proposals ps = {0};
    engine_set_serve_hook(&h.e, propose, &ps);
    kbuf o = KBUF_INIT;
    client *a = waiter(&h, &o);
    EXPECT_AS(&h, a, "BLPOP k1 k2 0", "");
    EXPECT(&h, "RPUSH k1 x", ":1\r\n");
    cr_assert_eq(ps.n, 1);
    EXPECT(&h, "LPOP k1", "$1\r\nx\r\n");
    /* k2 is written while a's serve from k1 is in flight: passed over. */
    EXPECT(&h, "RPUSH k2 y", ":1\r\n");
    cr_assert_eq(ps.n, 1);
    cr_assert_not(apply(&h, &ps.p[0]));
    cr_assert_eq(ps.n, 2);
    cr_assert_eq(ps.p[1].c, a);
    cr_assert_str_eq(argv_str(&ps.p[1]), "LPOP k2");
    cr_assert(apply(&h, &ps.p[1]));
    cr_assert_str_eq(reply_of(a), "*2\r\n$2\r\nk2\r\n$1\r\ny\r\n");
    h_free(&h);
    kbuf_free(&o);
}

Test(serve_hook, timeout_waits_for_the_serve_in_flight)
{
    harness h;
    h_init(&h);
    proposals ps = {0};
    engine_set_serve_hook(&h.e, propose, &ps);
    kbuf o[2] = {KBUF_INIT, KBUF_INIT};
    client *a = waiter(&h, &o[0]), *b = waiter(&h, &o[1]);
    EXPECT_AS(&h, a, "BLPOP q 1", "");
    EXPECT_AS(&h, b, "BLPOP r 2", "");
    int64_t t0 = h.now_ms;
    cr_assert_eq(engine_next_block_deadline(&h.e), t0 + 1000);
    EXPECT(&h, "RPUSH q x", ":1\r\n");
    EXPECT(&h, "RPUSH r y", ":1\r\n");
    cr_assert_eq(ps.n, 2);
    cr_assert_eq(engine_next_block_deadline(&h.e), -1);
    h.now_ms += 3000;
    engine_block_timeouts(&h.e, h.now_ms);
    cr_assert(engine_client_blocked(a));
    cr_assert(engine_client_blocked(b));
    cr_assert_null(engine_next_unblocked(&h.e));
    /* a's serve fails: its timeout fires now. */
    EXPECT(&h, "DEL q", ":1\r\n");
    cr_assert_not(apply(&h, &ps.p[0]));
    cr_assert_not(engine_client_blocked(a));
    cr_assert_eq(engine_next_unblocked(&h.e), a);
    cr_assert_str_eq(reply_of(a), "*-1\r\n");
    /* b's succeeds, however late: served. */
    cr_assert(apply(&h, &ps.p[1]));
    cr_assert_eq(engine_next_unblocked(&h.e), b);
    cr_assert_str_eq(reply_of(b), "*2\r\n$1\r\nr\r\n$1\r\ny\r\n");
    /* A failed serve before the deadline: the deadline is the next again. */
    EXPECT_AS(&h, a, "BLPOP q 5", "");
    EXPECT(&h, "RPUSH q z", ":1\r\n");
    cr_assert_eq(engine_next_block_deadline(&h.e), -1);
    EXPECT(&h, "DEL q", ":1\r\n");
    cr_assert_not(apply(&h, &ps.p[2]));
    cr_assert(engine_client_blocked(a));
    cr_assert_eq(engine_next_block_deadline(&h.e), h.now_ms + 5000);
    h_free(&h);
    kbuf_free(&o[0]);
    kbuf_free(&o[1]);
}

Test(serve_hook, blmove_and_brpoplpush_twins_and_the_destination_chain)
{
    harness h;
    h_init(&h);
    proposals ps = {0};
    engine_set_serve_hook(&h.e, propose, &ps);
    kbuf o[3] = {KBUF_INIT, KBUF_INIT, KBUF_INIT};
    client *a = waiter(&h, &o[0]), *b = waiter(&h, &o[1]), *c = waiter(&h, &o[2]);
    EXPECT_AS(&h, a, "BLMOVE src dst left RIGHT 0", "");
    EXPECT_AS(&h, b, "BRPOPLPUSH src2 dst 0", "");
    EXPECT_AS(&h, c, "BRPOP dst 0", "");
    EXPECT(&h, "RPUSH src 1 2", ":2\r\n");
    EXPECT(&h, "RPUSH src2 3 4", ":2\r\n");
    cr_assert_eq(ps.n, 2);
    cr_assert_str_eq(argv_str(&ps.p[0]), "LMOVE src dst left RIGHT");
    cr_assert_str_eq(argv_str(&ps.p[1]), "LMOVE src2 dst RIGHT LEFT");
    cr_assert(apply(&h, &ps.p[0]));
    cr_assert_str_eq(reply_of(a), "$1\r\n1\r\n");
    /* The push to dst offers it to c at once. */
    cr_assert_eq(ps.n, 3);
    cr_assert_eq(ps.p[2].c, c);
    cr_assert_str_eq(argv_str(&ps.p[2]), "RPOP dst");
    cr_assert(apply(&h, &ps.p[1]));
    cr_assert_str_eq(reply_of(b), "$1\r\n4\r\n");
    cr_assert(apply(&h, &ps.p[2]));
    cr_assert_str_eq(reply_of(c), "*2\r\n$3\r\ndst\r\n$1\r\n1\r\n");
    EXPECT(&h, "LRANGE dst 0 -1", "*1\r\n$1\r\n4\r\n");
    EXPECT(&h, "LRANGE src 0 -1", "*1\r\n$1\r\n2\r\n");
    h_free(&h);
    for (int i = 0; i < 3; i++)
        kbuf_free(&o[i]);
}

Test(serve_hook, blmpop_count_is_counted_against_the_elements)
{
    harness h;
    h_init(&h);
    proposals ps = {0};
    engine_set_serve_hook(&h.e, propose, &ps);
    kbuf o[3] = {KBUF_INIT, KBUF_INIT, KBUF_INIT};
    client *a = waiter(&h, &o[0]), *b = waiter(&h, &o[1]), *c = waiter(&h, &o[2]);
    EXPECT_AS(&h, a, "BLMPOP 0 2 l1 l2 RIGHT COUNT 2", "");
    EXPECT_AS(&h, b, "BLMPOP 0 1 l2 LEFT", "");
    EXPECT_AS(&h, c, "BLPOP l2 0", "");
    /* Three elements: a takes up to 2, b one, c none. */
    EXPECT(&h, "RPUSH l2 a b c", ":3\r\n");
    cr_assert_eq(ps.n, 2);
    cr_assert_str_eq(argv_str(&ps.p[0]), "LMPOP 1 l2 RIGHT COUNT 2");
    cr_assert_str_eq(argv_str(&ps.p[1]), "LMPOP 1 l2 LEFT");
    cr_assert(apply(&h, &ps.p[0]));
    cr_assert(apply(&h, &ps.p[1]));
    cr_assert_str_eq(reply_of(a), "*2\r\n$2\r\nl2\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
    cr_assert_str_eq(reply_of(b), "*2\r\n$2\r\nl2\r\n*1\r\n$1\r\na\r\n");
    cr_assert(engine_client_blocked(c));
    cr_assert_eq(ps.n, 2);
    h_free(&h);
    for (int i = 0; i < 3; i++)
        kbuf_free(&o[i]);
}

Test(serve_hook, bzpopmin_and_bzmpop_twins)
{
    harness h;
    h_init(&h);
    proposals ps = {0};
    engine_set_serve_hook(&h.e, propose, &ps);
    kbuf o[3] = {KBUF_INIT, KBUF_INIT, KBUF_INIT};
    client *a = waiter(&h, &o[0]), *b = waiter(&h, &o[1]), *c = waiter(&h, &o[2]);
    EXPECT_AS(&h, a, "BZPOPMIN z 0", "");
    EXPECT_AS(&h, b, "BZMPOP 0 2 y z MAX COUNT 5", "");
    EXPECT_AS(&h, c, "BLPOP z 0", ""); /* waits for a list: never offered a zset */
    EXPECT(&h, "ZADD z 1 a 2 b 3 c", ":3\r\n");
    cr_assert_eq(ps.n, 2);
    cr_assert_str_eq(argv_str(&ps.p[0]), "ZPOPMIN z");
    cr_assert_str_eq(argv_str(&ps.p[1]), "ZMPOP 1 z MAX COUNT 5");
    cr_assert(apply(&h, &ps.p[0]));
    cr_assert(apply(&h, &ps.p[1]));
    cr_assert_str_eq(reply_of(a), "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n");
    cr_assert_str_eq(reply_of(b), "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
                                  "*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    cr_assert(engine_client_blocked(c));
    cr_assert_eq(ps.n, 2);
    h_free(&h);
    for (int i = 0; i < 3; i++)
        kbuf_free(&o[i]);
}

Test(serve_hook, a_client_gone_while_its_serve_is_in_flight)
{
    harness h;
    h_init(&h);
    proposals ps = {0};
    engine_set_serve_hook(&h.e, propose, &ps);
    kbuf o[2] = {KBUF_INIT, KBUF_INIT};
    client *a = waiter(&h, &o[0]), *b = waiter(&h, &o[1]);
    EXPECT_AS(&h, a, "BLPOP q 0", "");
    EXPECT_AS(&h, b, "BLPOP q 0", "");
    EXPECT(&h, "RPUSH q x", ":1\r\n");
    cr_assert_eq(ps.n, 1);
    engine_client_free(&h.e, a);
    cr_assert_eq(engine_blocked_clients(&h.e), 1);
    /* Its proposal still applies, serving nobody: the pop is the log's. */
    cr_assert_not(apply_as(&h, &ps.p[0], NULL));
    cr_assert_str_eq(h.last, "$1\r\nx\r\n");
    EXPECT(&h, "EXISTS q", ":0\r\n");
    cr_assert(engine_client_blocked(b));
    EXPECT(&h, "RPUSH q y", ":1\r\n");
    cr_assert_eq(ps.n, 2);
    cr_assert_eq(ps.p[1].c, b);
    cr_assert(apply(&h, &ps.p[1]));
    cr_assert_str_eq(reply_of(b), "*2\r\n$1\r\nq\r\n$1\r\ny\r\n");
    h_free(&h);
    kbuf_free(&o[0]);
    kbuf_free(&o[1]);
}

/* Replay equivalence: the same script on an engine that serves at once, on
 * one that serves by proposal (applied after each write, with a stolen
 * element and a client gone in between), and replayed from that one's log
 * with nobody blocked, ends in the same data. */

#define SCRIPT_MAX 64

typedef struct script_log {
    char lines[SCRIPT_MAX][160];
    int n;
} script_log;

static void log_line(script_log *l, const char *line)
{
    cr_assert_lt(l->n, SCRIPT_MAX);
    snprintf(l->lines[l->n++], sizeof(l->lines[0]), "%s", line);
}

/* Runs a write for c and logs it (as the node would before applying it),
 * then applies the proposals it led to, logging each. */
static void run_logged(harness *h, client *c, proposals *ps, script_log *l, const char *line)
{
    log_line(l, line);
    h_run_as(h, c, line);
    while (ps->applied < ps->n) {
        const proposal *p = &ps->p[ps->applied++];
        log_line(l, argv_str(p));
        apply(h, p);
    }
}

static const char *const blockers[] = {
    "BLPOP l 0",
    "BLMOVE l2 dst LEFT RIGHT 0",
    "BLMPOP 0 2 none l3 LEFT COUNT 2",
    "BZPOPMAX zz 0",
    "BZMPOP 0 1 zz MIN COUNT 2",
    "BRPOP dst 0",
    "BRPOPLPUSH l4 dst 0",
};
#define NBLOCKERS (int)(sizeof(blockers) / sizeof(blockers[0]))

static const char *const writes[] = {
    "RPUSH l x y",  "RPUSH l2 p q",    "RPUSH l3 1 2 3", "ZADD zz 1 a 2 b 3 c 4 d",
    "RPUSH l4 r s", "RPUSH start 9 8",
};

static void digest_of(harness *h, char *out, size_t cap)
{
    snprintf(out, cap, "%s", h_run(h, "DEBUG DIGEST"));
}

Test(serve_hook, the_log_replays_to_the_same_data)
{
    char at_once[128], proposed_first[128], proposed[128], replayed[128];
    char replies[2][NBLOCKERS][256];
    script_log log = {0};
    for (int mode = 0; mode < 2; mode++) {
        harness h;
        h_init(&h);
        proposals ps = {0};
        if (mode == 1)
            engine_set_serve_hook(&h.e, propose, &ps);
        script_log *l = mode == 1 ? &log : &(script_log){0};
        kbuf o[NBLOCKERS];
        client *w[NBLOCKERS];
        for (int i = 0; i < NBLOCKERS; i++) {
            o[i] = (kbuf)KBUF_INIT;
            w[i] = waiter(&h, &o[i]);
            run_logged(&h, w[i], &ps, l, blockers[i]);
        }
        for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
            run_logged(&h, h.c, &ps, l, writes[i]);
        for (int i = 0; i < NBLOCKERS; i++)
            snprintf(replies[mode][i], sizeof(replies[0][0]), "%s", reply_of(w[i]));
        digest_of(&h, mode ? proposed_first : at_once, sizeof(at_once));
        if (mode == 1) {
            /* In flight: one serve loses its element to an LPOP, another's
             * client goes away; both proposals still apply. */
            kbuf o2[2] = {KBUF_INIT, KBUF_INIT};
            client *x = waiter(&h, &o2[0]), *y = waiter(&h, &o2[1]);
            run_logged(&h, x, &ps, l, "BLPOP m 0");
            run_logged(&h, y, &ps, l, "BZPOPMIN n 0");
            int first = ps.n;
            log_line(l, "RPUSH m 1");
            h_run(&h, "RPUSH m 1");
            log_line(l, "ZADD n 5 e");
            h_run(&h, "ZADD n 5 e");
            cr_assert_eq(ps.n, first + 2);
            log_line(l, "LPOP m");
            h_run(&h, "LPOP m");
            engine_client_free(&h.e, y);
            log_line(l, argv_str(&ps.p[first]));
            cr_assert_not(apply(&h, &ps.p[first]));
            log_line(l, argv_str(&ps.p[first + 1]));
            cr_assert_not(apply_as(&h, &ps.p[first + 1], NULL));
            ps.applied = ps.n;
            cr_assert(engine_client_blocked(x));
            EXPECT(&h, "EXISTS n", ":0\r\n");
            digest_of(&h, proposed, sizeof(proposed));
            kbuf_free(&o2[0]);
            kbuf_free(&o2[1]);
        }
        h_free(&h);
        for (int i = 0; i < NBLOCKERS; i++)
            kbuf_free(&o[i]);
    }
    /* Served by proposal, each client got what it gets served at once,
     * and the data is the same. */
    cr_assert_str_eq(proposed_first, at_once);
    for (int i = 0; i < NBLOCKERS; i++)
        cr_assert_str_eq(replies[1][i], replies[0][i], "%s", blockers[i]);
    cr_assert_str_neq(replies[1][0], "");
    /* The replay: the log run by a client with no connection. */
    harness r;
    h_init(&r);
    char mid[128] = "";
    for (int i = 0; i < log.n; i++) {
        h_run(&r, log.lines[i]);
        if (!strcmp(log.lines[i], "RPUSH start 9 8"))
            digest_of(&r, mid, sizeof(mid));
    }
    cr_assert_str_eq(mid, at_once);
    digest_of(&r, replayed, sizeof(replayed));
    cr_assert_str_eq(replayed, proposed);
    cr_assert_eq(engine_blocked_clients(&r.e), 0);
    h_free(&r);
}
