/* Connection commands: PING ECHO QUIT HELLO AUTH SELECT RESET CLIENT, against
 * Redis 7.0's replies, byte for byte. */
#include "engine_harness.h"

static void set_addr(client *c, const char *addr, const char *laddr, int fd)
{
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    snprintf(c->laddr, sizeof(c->laddr), "%s", laddr);
    c->fd = fd;
}

/* A CLIENT LIST line as Redis 7.0 prints it, for the fields keel knows. */
static void list_line(char *buf, size_t cap, unsigned long long id, const char *addr, int fd,
                      const char *name, long age, long idle, const char *flags, int multi,
                      unsigned long long multi_mem, const char *cmd)
{
    snprintf(buf, cap,
             "id=%llu addr=%s laddr=127.0.0.1:6379 fd=%d name=%s age=%ld idle=%ld flags=%s db=0 "
             "sub=0 psub=0 ssub=0 multi=%d qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=%llu rbs=0 "
             "rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=%s user=default redir=-1 resp=2\n",
             id, addr, fd, name, age, idle, flags, multi, multi_mem, cmd);
}

static char *bulk_of(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n + 32);
    snprintf(out, n + 32, "$%zu\r\n%s\r\n", n, s);
    return out;
}

Test(conn, ping_echo)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "PING", "+PONG\r\n");
    EXPECT(&h, "ping hello", "$5\r\nhello\r\n");
    EXPECT(&h, "PING \"\"", "$0\r\n\r\n");
    EXPECT(&h, "PING a b", "-ERR wrong number of arguments for 'ping' command\r\n");
    EXPECT(&h, "ECHO", "-ERR wrong number of arguments for 'echo' command\r\n");
    EXPECT(&h, "ECHO a b", "-ERR wrong number of arguments for 'echo' command\r\n");
    /* Binary safe. */
    resp_slice argv[2] = {{"echo", 4}, {"a\0b\r\nc", 6}};
    const char *r = h_runv_as(&h, h.c, 2, argv);
    cr_assert_eq(memcmp(r, "$6\r\na\0b\r\nc\r\n", 12), 0);
    resp_slice pv[2] = {{"PING", 4}, {"\0\n", 2}};
    r = h_runv_as(&h, h.c, 2, pv);
    cr_assert_eq(memcmp(r, "$2\r\n\0\n\r\n", 8), 0);
    h_free(&h);
}

Test(conn, quit)
{
    harness h;
    h_init(&h);
    cr_assert_eq(h.c->flags & CLIENT_CLOSE_AFTER_REPLY, 0);
    EXPECT(&h, "QUIT", "+OK\r\n");
    cr_assert_neq(h.c->flags & CLIENT_CLOSE_AFTER_REPLY, 0);
    /* QUIT takes (and ignores) arguments, as Redis's arity -1. */
    client *o = engine_client_new(&h.e, h.now_ms);
    EXPECT_AS(&h, o, "quit now please", "+OK\r\n");
    cr_assert_neq(o->flags & CLIENT_CLOSE_AFTER_REPLY, 0);
    h_free(&h);
}

static const char hello_reply[] =
    "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:2\r\n"
    "$2\r\nid\r\n:%d\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$7\r\nmodules\r\n*0\r\n";

Test(conn, hello)
{
    harness h;
    h_init(&h);
    char want[512];
    snprintf(want, sizeof(want), hello_reply, 1);
    EXPECT(&h, "HELLO", want);
    EXPECT(&h, "HELLO 2", want);
    EXPECT(&h, "HELLO 4", "-NOPROTO unsupported protocol version\r\n");
    EXPECT(&h, "HELLO 1", "-NOPROTO unsupported protocol version\r\n");
    EXPECT(&h, "HELLO -2", "-NOPROTO unsupported protocol version\r\n");
    EXPECT(&h, "HELLO two", "-ERR Protocol version is not an integer or out of range\r\n");
    EXPECT(&h, "HELLO 99999999999999999999",
           "-ERR Protocol version is not an integer or out of range\r\n");
    EXPECT(&h, "HELLO 2 FOO", "-ERR Syntax error in HELLO option 'FOO'\r\n");
    EXPECT(&h, "HELLO 2 AUTH default", "-ERR Syntax error in HELLO option 'AUTH'\r\n");
    EXPECT(&h, "HELLO 2 SETNAME", "-ERR Syntax error in HELLO option 'SETNAME'\r\n");
    EXPECT(&h, "HELLO 2 SETNAME \"a b\"",
           "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
    EXPECT(&h, "CLIENT GETNAME", "$-1\r\n");
    EXPECT(&h, "HELLO 2 SETNAME myname", want);
    EXPECT(&h, "CLIENT GETNAME", "$6\r\nmyname\r\n");
    /* Without a password the default user takes any password. */
    EXPECT(&h, "HELLO 2 AUTH default whatever SETNAME other", want);
    EXPECT(&h, "CLIENT GETNAME", "$5\r\nother\r\n");
    EXPECT(&h, "HELLO 2 AUTH bob pw",
           "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    client *o = engine_client_new(&h.e, h.now_ms);
    snprintf(want, sizeof(want), hello_reply, 2);
    EXPECT_AS(&h, o, "hello", want);
    h_free(&h);
}

Test(conn, auth_without_password)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "AUTH foo",
           "-ERR AUTH <password> called without any password configured for the default user. "
           "Are you sure your configuration is correct?\r\n");
    EXPECT(&h, "AUTH default foo", "+OK\r\n");
    EXPECT(&h, "AUTH Default foo",
           "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    EXPECT(&h, "AUTH a b c", "-ERR syntax error\r\n");
    EXPECT(&h, "AUTH", "-ERR wrong number of arguments for 'auth' command\r\n");
    h_free(&h);
}

Test(conn, auth_with_requirepass)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "CONFIG SET requirepass s3cret", "+OK\r\n");
    /* The client that set it stays authenticated, as in Redis. */
    EXPECT(&h, "PING", "+PONG\r\n");
    client *o = engine_client_new(&h.e, h.now_ms);
    EXPECT_AS(&h, o, "PING", "-NOAUTH Authentication required.\r\n");
    EXPECT_AS(&h, o, "CLIENT ID", "-NOAUTH Authentication required.\r\n");
    EXPECT_AS(&h, o, "HELLO",
              "-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
              "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
              "the RESP protocol version at the same time\r\n");
    EXPECT_AS(&h, o, "AUTH wrong", "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    EXPECT_AS(&h, o, "AUTH default wrong",
              "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    EXPECT_AS(&h, o, "AUTH other s3cret",
              "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    EXPECT_AS(&h, o, "PING", "-NOAUTH Authentication required.\r\n");
    EXPECT_AS(&h, o, "AUTH s3cret", "+OK\r\n");
    EXPECT_AS(&h, o, "PING", "+PONG\r\n");
    /* RESET logs out again. */
    EXPECT_AS(&h, o, "RESET", "+RESET\r\n");
    EXPECT_AS(&h, o, "PING", "-NOAUTH Authentication required.\r\n");
    EXPECT_AS(&h, o, "AUTH default s3cret", "+OK\r\n");
    EXPECT_AS(&h, o, "PING", "+PONG\r\n");

    /* HELLO AUTH authenticates and answers in one go. */
    client *p = engine_client_new(&h.e, h.now_ms);
    EXPECT_AS(&h, p, "HELLO 2 AUTH default nope",
              "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    char want[512];
    snprintf(want, sizeof(want), hello_reply, 3);
    EXPECT_AS(&h, p, "HELLO 2 AUTH default s3cret", want);
    EXPECT_AS(&h, p, "PING", "+PONG\r\n");
    /* QUIT needs no authentication. */
    client *q = engine_client_new(&h.e, h.now_ms);
    EXPECT_AS(&h, q, "QUIT", "+OK\r\n");
    /* Clearing the password opens the door. */
    EXPECT(&h, "CONFIG SET requirepass \"\"", "+OK\r\n");
    client *r = engine_client_new(&h.e, h.now_ms);
    EXPECT_AS(&h, r, "PING", "+PONG\r\n");
    h_free(&h);
}

Test(conn, select)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SELECT 0", "+OK\r\n");
    /* Redis's 16 databases: each has its own keys. */
    EXPECT(&h, "SET k zero", "+OK\r\n");
    EXPECT(&h, "SELECT 15", "+OK\r\n");
    EXPECT(&h, "GET k", "$-1\r\n");
    EXPECT(&h, "SET k fifteen", "+OK\r\n");
    EXPECT(&h, "SELECT 0", "+OK\r\n");
    EXPECT(&h, "GET k", "$4\r\nzero\r\n");
    EXPECT(&h, "SELECT 16", "-ERR DB index is out of range\r\n");
    EXPECT(&h, "SELECT -1", "-ERR DB index is out of range\r\n");
    EXPECT(&h, "SELECT 2147483647", "-ERR DB index is out of range\r\n");
    EXPECT(&h, "SELECT x", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "SELECT 1.0", "-ERR value is not an integer or out of range\r\n");
    EXPECT(&h, "SELECT 2147483648",
           "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n");
    EXPECT(&h, "SELECT -2147483649",
           "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n");
    EXPECT(&h, "SELECT", "-ERR wrong number of arguments for 'select' command\r\n");
    h_free(&h);
}

Test(conn, reset)
{
    harness h;
    h_init(&h);
    client *o = engine_client_new(&h.e, h.now_ms);
    EXPECT(&h, "CLIENT SETNAME n1", "+OK\r\n");
    EXPECT(&h, "WATCH k", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    /* RESET runs at once inside MULTI. */
    EXPECT(&h, "RESET", "+RESET\r\n");
    cr_assert_eq(h.c->flags & (CLIENT_MULTI | CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC), 0);
    cr_assert_eq(h.c->nqueue, 0);
    cr_assert_eq(h.c->nwatched, 0);
    cr_assert_eq(dict_size(&h.e.watched[0]), 0);
    EXPECT(&h, "EXEC", "-ERR EXEC without MULTI\r\n");
    EXPECT(&h, "CLIENT GETNAME", "$-1\r\n");
    EXPECT(&h, "RESET x", "-ERR wrong number of arguments for 'reset' command\r\n");
    /* NO-EVICT survives (Redis 7.0 leaves it). */
    EXPECT(&h, "CLIENT NO-EVICT on", "+OK\r\n");
    EXPECT(&h, "RESET", "+RESET\r\n");
    cr_assert_neq(h.c->flags & CLIENT_NO_EVICT, 0);
    (void)o;
    h_free(&h);
}

Test(client, id_setname_getname)
{
    harness h;
    h_init(&h);
    client *o = engine_client_new(&h.e, h.now_ms);
    EXPECT(&h, "CLIENT ID", ":1\r\n");
    EXPECT_AS(&h, o, "client id", ":2\r\n");
    EXPECT(&h, "CLIENT ID x", "-ERR wrong number of arguments for 'client|id' command\r\n");
    EXPECT(&h, "CLIENT GETNAME", "$-1\r\n");
    EXPECT(&h, "CLIENT SETNAME alpha", "+OK\r\n");
    EXPECT(&h, "CLIENT GETNAME", "$5\r\nalpha\r\n");
    EXPECT_AS(&h, o, "CLIENT GETNAME", "$-1\r\n");
    static const char bad[] =
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n";
    EXPECT(&h, "CLIENT SETNAME \"a b\"", bad);
    EXPECT(&h, "CLIENT SETNAME \"a\\nb\"", bad);
    EXPECT(&h, "CLIENT SETNAME \"a\\x00b\"", bad);
    EXPECT(&h, "CLIENT SETNAME \"caf\\xc3\\xa9\"", bad);
    EXPECT(&h, "CLIENT SETNAME \"\\x7f\"", bad);
    EXPECT(&h, "CLIENT GETNAME", "$5\r\nalpha\r\n");
    EXPECT(&h, "CLIENT SETNAME !~{}", "+OK\r\n");
    EXPECT(&h, "CLIENT GETNAME", "$4\r\n!~{}\r\n");
    /* An empty name clears it. */
    EXPECT(&h, "CLIENT SETNAME \"\"", "+OK\r\n");
    EXPECT(&h, "CLIENT GETNAME", "$-1\r\n");
    EXPECT(&h, "CLIENT SETNAME", "-ERR wrong number of arguments for 'client|setname' command\r\n");
    EXPECT(&h, "CLIENT SETNAME a b", "-ERR wrong number of arguments for 'client|setname' command\r\n");
    EXPECT(&h, "CLIENT", "-ERR wrong number of arguments for 'client' command\r\n");
    EXPECT(&h, "CLIENT FOO", "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n");
    h_free(&h);
}

Test(client, list_and_info)
{
    harness h;
    h_init(&h);
    int64_t t0 = h.now_ms;
    set_addr(h.c, "127.0.0.1:50001", "127.0.0.1:6379", 8);
    client *o = engine_client_new(&h.e, h.now_ms);
    set_addr(o, "127.0.0.1:50002", "127.0.0.1:6379", 9);

    h.now_ms = t0 + 5500;
    EXPECT(&h, "CLIENT SETNAME alpha", "+OK\r\n");
    h.now_ms = t0 + 10000;
    char l1[1024], l2[1024], want[4096];
    list_line(l1, sizeof(l1), 1, "127.0.0.1:50001", 8, "alpha", 10, 5, "N", -1, 0, "client|setname");
    list_line(l2, sizeof(l2), 2, "127.0.0.1:50002", 9, "", 10, 0, "N", -1, 0, "client|list");
    snprintf(want, sizeof(want), "$%zu\r\n%s%s\r\n", strlen(l1) + strlen(l2), l1, l2);
    EXPECT_AS(&h, o, "CLIENT LIST", want);
    EXPECT_AS(&h, o, "CLIENT LIST TYPE normal", want);
    EXPECT_AS(&h, o, "CLIENT LIST type NORMAL", want);
    EXPECT_AS(&h, o, "CLIENT LIST TYPE master", "$0\r\n\r\n");
    EXPECT_AS(&h, o, "CLIENT LIST TYPE replica", "$0\r\n\r\n");
    EXPECT_AS(&h, o, "CLIENT LIST TYPE slave", "$0\r\n\r\n");
    EXPECT_AS(&h, o, "CLIENT LIST TYPE pubsub", "$0\r\n\r\n");
    EXPECT_AS(&h, o, "CLIENT LIST TYPE foo", "-ERR Unknown client type 'foo'\r\n");
    EXPECT_AS(&h, o, "CLIENT LIST TYPE", "-ERR syntax error\r\n");
    EXPECT_AS(&h, o, "CLIENT LIST ID", "-ERR syntax error\r\n");
    EXPECT_AS(&h, o, "CLIENT LIST foo bar", "-ERR syntax error\r\n");
    EXPECT_AS(&h, o, "CLIENT LIST TYPE normal ID 1", "-ERR syntax error\r\n");

    /* ID: in the order given, unknown ids skipped, repeats repeated. */
    list_line(l2, sizeof(l2), 2, "127.0.0.1:50002", 9, "", 10, 0, "N", -1, 0, "client|list");
    snprintf(want, sizeof(want), "$%zu\r\n%s%s%s\r\n", 2 * strlen(l2) + strlen(l1), l2, l1, l2);
    EXPECT_AS(&h, o, "CLIENT LIST ID 2 99 1 2", want);
    EXPECT_AS(&h, o, "CLIENT LIST ID 5", "$0\r\n\r\n");
    EXPECT_AS(&h, o, "CLIENT LIST ID 1 x", "-ERR Invalid client ID\r\n");

    /* INFO: the caller's own line. */
    list_line(l2, sizeof(l2), 2, "127.0.0.1:50002", 9, "", 10, 0, "N", -1, 0, "client|info");
    char *b = bulk_of(l2);
    EXPECT_AS(&h, o, "CLIENT INFO", b);
    free(b);
    EXPECT_AS(&h, o, "CLIENT INFO x", "-ERR wrong number of arguments for 'client|info' command\r\n");

    /* A client in MULTI: flags x, its queue in multi and multi-mem. */
    h.now_ms = t0 + 12000;
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "ECHO hello", "+QUEUED\r\n");
    list_line(l1, sizeof(l1), 1, "127.0.0.1:50001", 8, "alpha", 12, 0, "x", 2,
              4 + 8 + (4 + 5) + 16, "multi");
    /* The caller's own idle time is 0: it is talking now. */
    list_line(l2, sizeof(l2), 2, "127.0.0.1:50002", 9, "", 12, 0, "N", -1, 0, "client|list");
    snprintf(want, sizeof(want), "$%zu\r\n%s%s\r\n", strlen(l1) + strlen(l2), l1, l2);
    EXPECT_AS(&h, o, "CLIENT LIST", want);
    EXPECT(&h, "EXEC", "*2\r\n+PONG\r\n$5\r\nhello\r\n");
    EXPECT(&h, "CLIENT NO-EVICT on", "+OK\r\n");
    list_line(l1, sizeof(l1), 1, "127.0.0.1:50001", 8, "alpha", 12, 0, "e", -1, 0, "client|info");
    b = bulk_of(l1);
    EXPECT(&h, "CLIENT INFO", b);
    free(b);

    /* A killed client waits for the driver but is no longer listed. */
    EXPECT(&h, "CLIENT KILL ID 2", ":1\r\n");
    list_line(l1, sizeof(l1), 1, "127.0.0.1:50001", 8, "alpha", 12, 0, "e", -1, 0, "client|list");
    b = bulk_of(l1);
    EXPECT(&h, "CLIENT LIST", b);
    free(b);
    h_free(&h);
}

Test(client, kill_old_form)
{
    harness h;
    h_init(&h);
    set_addr(h.c, "127.0.0.1:50001", "127.0.0.1:6379", 8);
    client *o = engine_client_new(&h.e, h.now_ms);
    set_addr(o, "127.0.0.1:50002", "127.0.0.1:6379", 9);
    EXPECT(&h, "CLIENT KILL 127.0.0.1:9", "-ERR No such client\r\n");
    EXPECT(&h, "CLIENT KILL 127.0.0.1:50002", "+OK\r\n");
    cr_assert_neq(o->flags & CLIENT_KILLED, 0);
    cr_assert_eq(h.c->flags & (CLIENT_KILLED | CLIENT_CLOSE_AFTER_REPLY), 0);
    /* Killed already: gone. */
    EXPECT(&h, "CLIENT KILL 127.0.0.1:50002", "-ERR No such client\r\n");
    /* The old form can kill the caller: it is closed after the reply. */
    EXPECT(&h, "CLIENT KILL 127.0.0.1:50001", "+OK\r\n");
    cr_assert_neq(h.c->flags & CLIENT_CLOSE_AFTER_REPLY, 0);
    cr_assert_eq(h.c->flags & CLIENT_KILLED, 0);
    h_free(&h);
}

Test(client, kill_new_form)
{
    harness h;
    h_init(&h);
    int64_t t0 = h.now_ms;
    set_addr(h.c, "10.0.0.1:1000", "10.0.0.9:6379", 8);
    client *a = engine_client_new(&h.e, h.now_ms);
    set_addr(a, "10.0.0.2:1000", "10.0.0.9:6379", 9);
    h.now_ms = t0 + 30000;
    client *b = engine_client_new(&h.e, h.now_ms);
    set_addr(b, "10.0.0.3:1000", "10.0.0.9:6380", 10);
    client *c = engine_client_new(&h.e, h.now_ms);
    set_addr(c, "10.0.0.4:1000", "10.0.0.9:6380", 11);

    /* Three arguments is the old form: "ID" is an address. */
    EXPECT(&h, "CLIENT KILL ID", "-ERR No such client\r\n");
    EXPECT(&h, "CLIENT KILL ID 0", "-ERR client-id should be greater than 0\r\n");
    EXPECT(&h, "CLIENT KILL ID -3", "-ERR client-id should be greater than 0\r\n");
    EXPECT(&h, "CLIENT KILL ID x", "-ERR client-id should be greater than 0\r\n");
    EXPECT(&h, "CLIENT KILL TYPE bogus", "-ERR Unknown client type 'bogus'\r\n");
    EXPECT(&h, "CLIENT KILL USER bob", "-ERR No such user 'bob'\r\n");
    EXPECT(&h, "CLIENT KILL SKIPME maybe", "-ERR syntax error\r\n");
    EXPECT(&h, "CLIENT KILL FOO bar", "-ERR syntax error\r\n");
    EXPECT(&h, "CLIENT KILL ID 2 TYPE", "-ERR syntax error\r\n");
    EXPECT(&h, "CLIENT KILL MAXAGE x", "-ERR maxage is not an integer or out of range\r\n");
    EXPECT(&h, "CLIENT KILL MAXAGE 0", "-ERR maxage should be greater than 0\r\n");
    cr_assert_eq((a->flags | b->flags | c->flags) & CLIENT_KILLED, 0);

    EXPECT(&h, "CLIENT KILL ID 99", ":0\r\n");
    EXPECT(&h, "CLIENT KILL TYPE master", ":0\r\n");
    /* The caller is skipped by default: id 1 is the caller. */
    EXPECT(&h, "CLIENT KILL ID 1", ":0\r\n");
    /* MAXAGE: only a and the caller are 30 s old. */
    EXPECT(&h, "CLIENT KILL MAXAGE 20 LADDR 10.0.0.9:6379", ":1\r\n");
    cr_assert_neq(a->flags & CLIENT_KILLED, 0);
    cr_assert_eq((b->flags | c->flags) & CLIENT_KILLED, 0);
    EXPECT(&h, "CLIENT KILL ADDR 10.0.0.3:1000 USER default", ":1\r\n");
    cr_assert_neq(b->flags & CLIENT_KILLED, 0);
    /* SKIPME no: the caller too, closed after its reply. */
    EXPECT(&h, "CLIENT KILL TYPE normal SKIPME no", ":2\r\n");
    cr_assert_neq(c->flags & CLIENT_KILLED, 0);
    cr_assert_neq(h.c->flags & CLIENT_CLOSE_AFTER_REPLY, 0);
    cr_assert_eq(h.c->flags & CLIENT_KILLED, 0);
    h_free(&h);
}

Test(client, no_evict_and_help)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "CLIENT NO-EVICT ON", "+OK\r\n");
    cr_assert_neq(h.c->flags & CLIENT_NO_EVICT, 0);
    EXPECT(&h, "CLIENT NO-EVICT off", "+OK\r\n");
    cr_assert_eq(h.c->flags & CLIENT_NO_EVICT, 0);
    EXPECT(&h, "CLIENT NO-EVICT maybe", "-ERR syntax error\r\n");
    EXPECT(&h, "CLIENT NO-EVICT", "-ERR wrong number of arguments for 'client|no-evict' command\r\n");

    const char *r = h_run(&h, "client help");
    cr_assert(strncmp(r, "*37\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
                         "+GETNAME\r\n+    Return the name of the current connection.\r\n",
                      strlen("*37\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
                             "+GETNAME\r\n+    Return the name of the current connection.\r\n")) == 0,
              "%s", r);
    const char *tail = "+HELP\r\n+    Prints this help.\r\n";
    cr_assert_str_eq(r + strlen(r) - strlen(tail), tail);
    EXPECT(&h, "CLIENT HELP x", "-ERR wrong number of arguments for 'client|help' command\r\n");
    h_free(&h);
}

Test(conn, errors_are_counted)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "AUTH k",
           "-ERR AUTH <password> called without any password configured for the default user. "
           "Are you sure your configuration is correct?\r\n");
    EXPECT(&h, "HELLO 4", "-NOPROTO unsupported protocol version\r\n");
    EXPECT(&h, "AUTH a b", "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    const char *r = h_run(&h, "INFO errorstats");
    char *want = bulk_of("# Errorstats\r\nerrorstat_ERR:count=1\r\nerrorstat_NOPROTO:count=1\r\n"
                         "errorstat_WRONGPASS:count=1\r\n");
    cr_assert_str_eq(r, want);
    free(want);
    r = h_run(&h, "INFO commandstats");
    cr_assert(strstr(r, "cmdstat_auth:calls=2,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=2\r\n"),
              "%s", r);
    cr_assert(strstr(r, "cmdstat_hello:calls=1,usec=0,usec_per_call=0.00,rejected_calls=0,failed_calls=1\r\n"),
              "%s", r);
    h_free(&h);
}

Test(conn, in_multi)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "ECHO x", "+QUEUED\r\n");
    EXPECT(&h, "CLIENT SETNAME tx", "+QUEUED\r\n");
    EXPECT(&h, "SELECT 16", "+QUEUED\r\n");
    EXPECT(&h, "CLIENT ID", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*5\r\n+PONG\r\n$1\r\nx\r\n+OK\r\n-ERR DB index is out of range\r\n:1\r\n");
    EXPECT(&h, "CLIENT GETNAME", "$2\r\ntx\r\n");
    h_free(&h);
}
