/* MULTI EXEC DISCARD WATCH UNWATCH, and the dispatcher's checks, against
 * Redis 7.0's replies. */
#include "engine_harness.h"

Test(dispatch, unknown_command_and_arity)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "FOO a b", "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n");
    EXPECT(&h, "foo", "-ERR unknown command 'foo', with args beginning with: \r\n");
    EXPECT(&h, "GET", "-ERR wrong number of arguments for 'get' command\r\n");
    EXPECT(&h, "get a b", "-ERR wrong number of arguments for 'get' command\r\n");
    EXPECT(&h, "WATCH", "-ERR wrong number of arguments for 'watch' command\r\n");
    h_free(&h);
}

Test(multi, queue_and_exec)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "SET a 1", "+QUEUED\r\n");
    EXPECT(&h, "INCR a", "+QUEUED\r\n");
    EXPECT(&h, "GET a", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*3\r\n+OK\r\n:2\r\n$1\r\n2\r\n");
    EXPECT(&h, "EXEC", "-ERR EXEC without MULTI\r\n");
    EXPECT(&h, "DISCARD", "-ERR DISCARD without MULTI\r\n");
    h_free(&h);
}

Test(multi, nested_and_discard)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "MULTI", "-ERR MULTI calls can not be nested\r\n");
    EXPECT(&h, "SET a 1", "+QUEUED\r\n");
    EXPECT(&h, "DISCARD", "+OK\r\n");
    EXPECT(&h, "GET a", "$-1\r\n");
    h_free(&h);
}

Test(multi, queue_errors_abort_exec)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "SET a 1", "+QUEUED\r\n");
    EXPECT(&h, "NOSUCH x", "-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n");
    EXPECT(&h, "GET", "-ERR wrong number of arguments for 'get' command\r\n");
    EXPECT(&h, "EXEC", "-EXECABORT Transaction discarded because of previous errors.\r\n");
    EXPECT(&h, "GET a", "$-1\r\n");
    h_free(&h);
}

Test(multi, runtime_errors_do_not_abort)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET s abc", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "INCR s", "+QUEUED\r\n");
    EXPECT(&h, "SET t 1", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*2\r\n-ERR value is not an integer or out of range\r\n+OK\r\n");
    EXPECT(&h, "GET t", "$1\r\n1\r\n");
    h_free(&h);
}

Test(watch, other_client_write_fails_exec)
{
    harness h;
    h_init(&h);
    client *other = engine_client_new(&h.e, h.now_ms);
    EXPECT(&h, "SET k 1", "+OK\r\n");
    EXPECT(&h, "WATCH k", "+OK\r\n");
    EXPECT_AS(&h, other, "SET k 2", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "SET k 3", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*-1\r\n");
    EXPECT(&h, "GET k", "$1\r\n2\r\n");
    /* The watch is gone after EXEC: the next transaction goes through. */
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "SET k 3", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*1\r\n+OK\r\n");
    h_free(&h);
}

Test(watch, untouched_key_exec_runs_and_unwatch_clears)
{
    harness h;
    h_init(&h);
    client *other = engine_client_new(&h.e, h.now_ms);
    EXPECT(&h, "WATCH k", "+OK\r\n");
    EXPECT_AS(&h, other, "SET other 1", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "SET k 1", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*1\r\n+OK\r\n");
    EXPECT(&h, "WATCH k", "+OK\r\n");
    EXPECT_AS(&h, other, "SET k 2", "+OK\r\n");
    EXPECT(&h, "UNWATCH", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "GET k", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*1\r\n$1\r\n2\r\n");
    h_free(&h);
}

Test(watch, inside_multi_is_refused)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "WATCH k", "-ERR WATCH inside MULTI is not allowed\r\n");
    EXPECT(&h, "EXEC", "*0\r\n");
    h_free(&h);
}

Test(watch, expiry_delete_and_flush)
{
    harness h;
    h_init(&h);
    /* A key that expires after WATCH fails the EXEC. */
    EXPECT(&h, "SET k v PX 100", "+OK\r\n");
    EXPECT(&h, "WATCH k", "+OK\r\n");
    h.now_ms += 200;
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*-1\r\n");
    /* A key already expired when WATCHed: deleting it is no change. */
    EXPECT(&h, "SET j v PX 100", "+OK\r\n");
    h.now_ms += 200;
    EXPECT(&h, "WATCH j", "+OK\r\n");
    EXPECT(&h, "DEL j", ":0\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*1\r\n+PONG\r\n");
    /* FLUSHALL touches every watched key that exists. */
    EXPECT(&h, "SET f 1", "+OK\r\n");
    EXPECT(&h, "WATCH f", "+OK\r\n");
    EXPECT(&h, "FLUSHALL", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*-1\r\n");
    h_free(&h);
}

Test(watch, freeing_a_watching_client_leaves_no_trace)
{
    harness h;
    h_init(&h);
    client *other = engine_client_new(&h.e, h.now_ms);
    EXPECT_AS(&h, other, "WATCH a b c", "+OK\r\n");
    EXPECT(&h, "WATCH b", "+OK\r\n");
    cr_assert_eq(dict_size(&h.e.watched[0]), 3);
    engine_client_free(&h.e, other);
    cr_assert_eq(dict_size(&h.e.watched[0]), 1);
    EXPECT(&h, "SET b 1", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "EXEC", "*-1\r\n");
    cr_assert_eq(dict_size(&h.e.watched[0]), 0);
    h_free(&h);
}
