/* Redis's numbered databases: SELECT, MOVE, SWAPDB, COPY ... DB, FLUSHDB
 * against FLUSHALL, WATCH per database, INFO keyspace. */
#include "engine_harness.h"

Test(dbs, move_keeps_value_and_ttl)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET k v PX 5000", "+OK\r\n");
    EXPECT(&h, "HSET hh f v", ":1\r\n");
    EXPECT(&h, "MOVE k 3", ":1\r\n");
    EXPECT(&h, "MOVE hh 3", ":1\r\n");
    EXPECT(&h, "EXISTS k hh", ":0\r\n");
    EXPECT(&h, "MOVE k 3", ":0\r\n");
    EXPECT(&h, "SELECT 3", "+OK\r\n");
    EXPECT(&h, "GET k", "$1\r\nv\r\n");
    EXPECT(&h, "PTTL k", ":5000\r\n");
    EXPECT(&h, "HGET hh f", "$1\r\nv\r\n");
    /* The target already has the key: nothing moves. */
    EXPECT(&h, "SET k other", "+OK\r\n");
    EXPECT(&h, "SELECT 0", "+OK\r\n");
    EXPECT(&h, "SET k mine", "+OK\r\n");
    EXPECT(&h, "MOVE k 3", ":0\r\n");
    EXPECT(&h, "GET k", "$4\r\nmine\r\n");
    EXPECT(&h, "MOVE k 0", "-ERR source and destination objects are the same\r\n");
    EXPECT(&h, "MOVE k 16", "-ERR DB index is out of range\r\n");
    EXPECT(&h, "MOVE k x", "-ERR value is not an integer or out of range\r\n");
    h_free(&h);
}

Test(dbs, swapdb_swaps_and_touches_watchers)
{
    harness h;
    h_init(&h);
    client *other = engine_client_new(&h.e, h.now_ms);
    EXPECT(&h, "SET a 0", "+OK\r\n");
    EXPECT_AS(&h, other, "SELECT 1", "+OK\r\n");
    EXPECT_AS(&h, other, "SET b 1", "+OK\r\n");
    EXPECT(&h, "WATCH a", "+OK\r\n");
    EXPECT_AS(&h, other, "SWAPDB 0 1", "+OK\r\n");
    EXPECT(&h, "GET b", "$1\r\n1\r\n");
    EXPECT(&h, "GET a", "$-1\r\n");
    EXPECT_AS(&h, other, "GET a", "$1\r\n0\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*-1\r\n");
    EXPECT(&h, "SWAPDB 0 16", "-ERR DB index is out of range\r\n");
    EXPECT(&h, "SWAPDB x 1", "-ERR invalid first DB index\r\n");
    EXPECT(&h, "SWAPDB 1 y", "-ERR invalid second DB index\r\n");
    EXPECT(&h, "SWAPDB 2 2", "+OK\r\n");
    h_free(&h);
}

Test(dbs, copy_to_another_db)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET a 1", "+OK\r\n");
    EXPECT(&h, "COPY a a DB 2", ":1\r\n");
    EXPECT(&h, "COPY a a DB 2", ":0\r\n");
    EXPECT(&h, "SET a 2", "+OK\r\n");
    EXPECT(&h, "COPY a a DB 2 REPLACE", ":1\r\n");
    EXPECT(&h, "SELECT 2", "+OK\r\n");
    EXPECT(&h, "GET a", "$1\r\n2\r\n");
    h_free(&h);
}

Test(dbs, flushdb_and_flushall)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET a 1", "+OK\r\n");
    EXPECT(&h, "SELECT 9", "+OK\r\n");
    EXPECT(&h, "SET b 1", "+OK\r\n");
    EXPECT(&h, "SET c 1 EX 100", "+OK\r\n");
    const char *info = h_run(&h, "INFO keyspace");
    cr_assert(strstr(info, "db0:keys=1,expires=0,avg_ttl=0\r\n"), "%s", info);
    cr_assert(strstr(info, "db9:keys=2,expires=1,avg_ttl=0\r\n"), "%s", info);
    EXPECT(&h, "FLUSHDB", "+OK\r\n");
    EXPECT(&h, "DBSIZE", ":0\r\n");
    EXPECT(&h, "SELECT 0", "+OK\r\n");
    EXPECT(&h, "DBSIZE", ":1\r\n");
    EXPECT(&h, "SELECT 9", "+OK\r\n");
    EXPECT(&h, "SET b 1", "+OK\r\n");
    EXPECT(&h, "FLUSHALL", "+OK\r\n");
    EXPECT(&h, "DBSIZE", ":0\r\n");
    EXPECT(&h, "SELECT 0", "+OK\r\n");
    EXPECT(&h, "DBSIZE", ":0\r\n");
    h_free(&h);
}

Test(dbs, watch_is_per_database)
{
    harness h;
    h_init(&h);
    client *other = engine_client_new(&h.e, h.now_ms);
    EXPECT(&h, "WATCH k", "+OK\r\n");
    EXPECT_AS(&h, other, "SELECT 5", "+OK\r\n");
    EXPECT_AS(&h, other, "SET k 1", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*1\r\n+PONG\r\n");
    /* Watching in db 5 sees db 5's writes. */
    EXPECT(&h, "SELECT 5", "+OK\r\n");
    EXPECT(&h, "WATCH k", "+OK\r\n");
    EXPECT_AS(&h, other, "SET k 2", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*-1\r\n");
    h_free(&h);
}

Test(dbs, set_databases_only_when_empty)
{
    harness h;
    h_init(&h);
    cr_assert_eq(h.e.ndbs, 16);
    cr_assert(engine_set_databases(&h.e, 4));
    EXPECT(&h, "SELECT 3", "+OK\r\n");
    EXPECT(&h, "SELECT 4", "-ERR DB index is out of range\r\n");
    EXPECT(&h, "SET a 1", "+OK\r\n");
    cr_assert_not(engine_set_databases(&h.e, 8));
    cr_assert_not(engine_set_databases(&h.e, 0));
    cr_assert_eq(h.e.ndbs, 4);
    h_free(&h);
}

/* Redis 7.0's touchAllWatchedKeysInDb: an expired key swapped for nothing,
 * nothing for an expired key, or an expired key for another is no change. */
Test(dbs, swapdb_and_stale_watched_keys)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "DEBUG SET-ACTIVE-EXPIRE 0", "+OK\r\n");
    /* expired key replaced with no key */
    EXPECT(&h, "SELECT 1", "+OK\r\n");
    EXPECT(&h, "SET x foo PX 1", "+OK\r\n");
    h.now_ms += 2;
    EXPECT(&h, "WATCH x", "+OK\r\n");
    EXPECT(&h, "SWAPDB 0 1", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*1\r\n+PONG\r\n");
    /* no key replaced with an expired key */
    EXPECT(&h, "FLUSHALL", "+OK\r\n");
    EXPECT(&h, "SELECT 0", "+OK\r\n");
    EXPECT(&h, "SET x foo PX 1", "+OK\r\n");
    h.now_ms += 2;
    EXPECT(&h, "SELECT 1", "+OK\r\n");
    EXPECT(&h, "WATCH x", "+OK\r\n");
    EXPECT(&h, "SWAPDB 0 1", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*1\r\n+PONG\r\n");
    /* expired key replaced with another expired key */
    EXPECT(&h, "FLUSHALL", "+OK\r\n");
    EXPECT(&h, "SELECT 1", "+OK\r\n");
    EXPECT(&h, "SET x foo PX 1", "+OK\r\n");
    EXPECT(&h, "SELECT 0", "+OK\r\n");
    EXPECT(&h, "SET x bar PX 1", "+OK\r\n");
    h.now_ms += 2;
    EXPECT(&h, "SELECT 1", "+OK\r\n");
    EXPECT(&h, "WATCH x", "+OK\r\n");
    EXPECT(&h, "SWAPDB 0 1", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*1\r\n+PONG\r\n");
    /* a live key replaced with an expired one is a change */
    EXPECT(&h, "FLUSHALL", "+OK\r\n");
    EXPECT(&h, "SELECT 0", "+OK\r\n");
    EXPECT(&h, "SET x bar PX 1", "+OK\r\n");
    h.now_ms += 2;
    EXPECT(&h, "SELECT 1", "+OK\r\n");
    EXPECT(&h, "SET x live", "+OK\r\n");
    EXPECT(&h, "WATCH x", "+OK\r\n");
    EXPECT(&h, "SWAPDB 0 1", "+OK\r\n");
    EXPECT(&h, "MULTI", "+OK\r\n");
    EXPECT(&h, "PING", "+QUEUED\r\n");
    EXPECT(&h, "EXEC", "*-1\r\n");
    h_free(&h);
}
