/* The list commands against Redis 7.0's replies, byte for byte: every
 * command, option and error (unit/type/list.tcl's non-blocking cases are
 * the checklist), WRONGTYPE, small and large node sizes, binary elements,
 * WATCH, the dirty counter, key deletion when a list empties. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "engine_harness.h"

#include "core/store/list.h"

/* ------------------------------------------------------------------------ */
/* Helpers */

static bool key_exists(harness *h, const char *key)
{
    return db_find(&h->e.db, key, strlen(key), h->now_ms) != NULL;
}

static klist *key_list(harness *h, const char *key)
{
    kentry *e = db_find(&h->e.db, key, strlen(key), h->now_ms);
    cr_assert_not_null(e, "%s", key);
    cr_assert_eq(kentry_type(e), OBJ_LIST);
    return kentry_obj(e);
}

/* Runs the test body with each node size: Redis's default (8 KiB nodes)
 * and tiny nodes (list-max-listpack-size 1 and 3) so that every command
 * crosses node boundaries. */
static const char *const fills[] = {"-2", "1", "3", "-1", "0"};
#define NFILLS (sizeof(fills) / sizeof(fills[0]))

static void list_init(harness *h, size_t fill_idx)
{
    h_init(h);
    char line[64];
    snprintf(line, sizeof(line), "CONFIG SET list-max-listpack-size %s", fills[fill_idx]);
    EXPECT(h, line, "+OK\r\n");
}

#define FOR_FILLS(h) for (size_t fi_ = 0; fi_ < NFILLS && (list_init(h, fi_), 1); fi_++, h_free(h))

/* A list key of n elements "0".."n-1" pushed at the tail. */
static void make_list(harness *h, const char *key, int n)
{
    for (int i = 0; i < n; i++)
        h_runf(h, "RPUSH %s %d", key, i);
}

/* ------------------------------------------------------------------------ */
/* LPUSH RPUSH LPUSHX RPUSHX LLEN LINDEX LRANGE */

Test(list, push_llen_lindex_lrange)
{
    harness h;
    FOR_FILLS(&h)
    {
        EXPECT(&h, "LPUSH k a", ":1\r\n");
        EXPECT(&h, "LPUSH k b c", ":3\r\n");
        EXPECT(&h, "RPUSH k d e", ":5\r\n");
        EXPECT(&h, "LLEN k", ":5\r\n");
        EXPECT(&h, "LRANGE k 0 -1", "*5\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nd\r\n$1\r\ne\r\n");
        EXPECT(&h, "LINDEX k 0", "$1\r\nc\r\n");
        EXPECT(&h, "LINDEX k 2", "$1\r\na\r\n");
        EXPECT(&h, "LINDEX k -1", "$1\r\ne\r\n");
        EXPECT(&h, "LINDEX k -5", "$1\r\nc\r\n");
        EXPECT(&h, "LINDEX k 5", "$-1\r\n");
        EXPECT(&h, "LINDEX k -6", "$-1\r\n");
        EXPECT(&h, "LINDEX k 9223372036854775807", "$-1\r\n");
        EXPECT(&h, "LINDEX k -9223372036854775808", "$-1\r\n");
        EXPECT(&h, "LINDEX k notanumber", "-ERR value is not an integer or out of range\r\n");
        EXPECT(&h, "LINDEX nokey notanumber", "$-1\r\n"); /* the key is looked up first */
        EXPECT(&h, "LINDEX nokey 0", "$-1\r\n");
        EXPECT(&h, "LLEN nokey", ":0\r\n");
        EXPECT(&h, "TYPE k", "+list\r\n");
        EXPECT(&h, "OBJECT ENCODING k", "$9\r\nquicklist\r\n");
        cr_assert(klist_check(key_list(&h, "k")));
    }
}

Test(list, pushx)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "LPUSHX k a", ":0\r\n");
    EXPECT(&h, "RPUSHX k a b", ":0\r\n");
    cr_assert_not(key_exists(&h, "k"));
    EXPECT(&h, "RPUSH k b", ":1\r\n");
    EXPECT(&h, "LPUSHX k a", ":2\r\n");
    EXPECT(&h, "RPUSHX k c d", ":4\r\n");
    EXPECT(&h, "LPUSHX k x y", ":6\r\n");
    EXPECT(&h, "LRANGE k 0 -1",
           "*6\r\n$1\r\ny\r\n$1\r\nx\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n");
    EXPECT(&h, "LPUSHX", "-ERR wrong number of arguments for 'lpushx' command\r\n");
    EXPECT(&h, "RPUSHX k", "-ERR wrong number of arguments for 'rpushx' command\r\n");
    EXPECT(&h, "LPUSH k", "-ERR wrong number of arguments for 'lpush' command\r\n");
    h_free(&h);
}

Test(list, lrange_edges)
{
    harness h;
    FOR_FILLS(&h)
    {
        make_list(&h, "k", 10);
        EXPECT(&h, "LRANGE k 1 -2",
               "*8\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n$1\r\n7\r\n$1\r\n8\r\n");
        EXPECT(&h, "LRANGE k -3 -1", "*3\r\n$1\r\n7\r\n$1\r\n8\r\n$1\r\n9\r\n");
        EXPECT(&h, "LRANGE k 8 100", "*2\r\n$1\r\n8\r\n$1\r\n9\r\n");
        EXPECT(&h, "LRANGE k -100 1", "*2\r\n$1\r\n0\r\n$1\r\n1\r\n");
        EXPECT(&h, "LRANGE k 5 4", "*0\r\n");
        EXPECT(&h, "LRANGE k 10 20", "*0\r\n");
        EXPECT(&h, "LRANGE k -100 -50", "*0\r\n");
        EXPECT(&h, "LRANGE k 0 0", "*1\r\n$1\r\n0\r\n");
        EXPECT(&h, "LRANGE k -9223372036854775808 9223372036854775807",
               "*10\r\n$1\r\n0\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n"
               "$1\r\n7\r\n$1\r\n8\r\n$1\r\n9\r\n");
        EXPECT(&h, "LRANGE nokey 0 -1", "*0\r\n");
        EXPECT(&h, "LRANGE k a 1", "-ERR value is not an integer or out of range\r\n");
        EXPECT(&h, "LRANGE k 0 1.5", "-ERR value is not an integer or out of range\r\n");
        EXPECT(&h, "LRANGE nokey x 1", "-ERR value is not an integer or out of range\r\n");
    }
}

Test(list, big_list_random_access)
{
    harness h;
    FOR_FILLS(&h)
    {
        make_list(&h, "k", 300);
        for (int i = 0; i < 300; i += 7) {
            char want[32];
            snprintf(want, sizeof(want), "$%d\r\n%d\r\n", i < 10 ? 1 : i < 100 ? 2 : 3, i);
            cr_assert_str_eq(h_runf(&h, "LINDEX k %d", i), want);
            cr_assert_str_eq(h_runf(&h, "LINDEX k %d", i - 300), want);
        }
        EXPECT(&h, "LRANGE k 148 151", "*4\r\n$3\r\n148\r\n$3\r\n149\r\n$3\r\n150\r\n$3\r\n151\r\n");
        EXPECT(&h, "LLEN k", ":300\r\n");
        cr_assert(klist_check(key_list(&h, "k")));
    }
}

Test(list, large_values_get_their_own_nodes)
{
    harness h;
    h_init(&h);
    size_t n = 20000;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    char *line = malloc(n + 64);
    snprintf(line, n + 64, "RPUSH k a %s b", big);
    EXPECT(&h, line, ":3\r\n");
    snprintf(line, n + 64, "LPUSH k %s", big);
    EXPECT(&h, line, ":4\r\n");
    klist *l = key_list(&h, "k");
    cr_assert(klist_check(l));
    cr_assert_geq(klist_node_count(l), 3);
    EXPECT(&h, "LINDEX k 1", "$1\r\na\r\n");
    EXPECT(&h, "LINDEX k 3", "$1\r\nb\r\n");
    const char *r = h_run(&h, "LINDEX k 2");
    cr_assert_eq(strlen(r), n + 10);
    cr_assert(strncmp(r, "$20000\r\nxxx", 11) == 0);
    EXPECT(&h, "LSET k 1 c", "+OK\r\n");
    snprintf(line, n + 64, "LSET k 3 %s", big);
    EXPECT(&h, line, "+OK\r\n");
    EXPECT(&h, "LINSERT k BEFORE c z", ":5\r\n");
    EXPECT(&h, "LREM k 0 c", ":1\r\n");
    EXPECT(&h, "LINDEX k 1", "$1\r\nz\r\n");
    EXPECT(&h, "STRLEN k", ERR_WRONGTYPE "\r\n");
    cr_assert(klist_check(key_list(&h, "k")));
    snprintf(line, n + 64, "LPOS k %s COUNT 0", big);
    EXPECT(&h, line, "*3\r\n:0\r\n:2\r\n:3\r\n");
    free(line);
    free(big);
    h_free(&h);
}

Test(list, binary_elements)
{
    harness h;
    h_init(&h);
    resp_slice push[] = {{"RPUSH", 5}, {"k", 1}, {"a\0b", 3}, {"\r\n", 2}, {"", 0}};
    h_runv_as(&h, h.c, 5, push);
    cr_assert_eq(h.out.len, 4);
    cr_assert(memcmp(h.out.data, ":3\r\n", 4) == 0);
    h_run(&h, "LRANGE k 0 -1");
    const char want[] = "*3\r\n$3\r\na\0b\r\n$2\r\n\r\n\r\n$0\r\n\r\n";
    cr_assert_eq(h.out.len, sizeof(want) - 1);
    cr_assert(memcmp(h.out.data, want, sizeof(want) - 1) == 0);
    resp_slice pos[] = {{"LPOS", 4}, {"k", 1}, {"a\0b", 3}};
    h_runv_as(&h, h.c, 3, pos);
    cr_assert_str_eq(h.last, ":0\r\n");
    resp_slice pos2[] = {{"LPOS", 4}, {"k", 1}, {"a", 1}};
    h_runv_as(&h, h.c, 3, pos2);
    cr_assert_str_eq(h.last, "$-1\r\n");
    resp_slice rem[] = {{"LREM", 4}, {"k", 1}, {"0", 1}, {"", 0}};
    h_runv_as(&h, h.c, 4, rem);
    cr_assert_str_eq(h.last, ":1\r\n");
    resp_slice ins[] = {{"LINSERT", 7}, {"k", 1}, {"AFTER", 5}, {"\r\n", 2}, {"\0", 1}};
    h_runv_as(&h, h.c, 5, ins);
    cr_assert_str_eq(h.last, ":3\r\n");
    h_run(&h, "RPOP k");
    cr_assert_eq(h.out.len, 7);
    cr_assert(memcmp(h.out.data, "$1\r\n\0\r\n", 7) == 0);
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* LPOP RPOP */

Test(list, pop_single)
{
    harness h;
    FOR_FILLS(&h)
    {
        EXPECT(&h, "RPUSH k a b c", ":3\r\n");
        EXPECT(&h, "LPOP k", "$1\r\na\r\n");
        EXPECT(&h, "RPOP k", "$1\r\nc\r\n");
        EXPECT(&h, "LPOP k", "$1\r\nb\r\n");
        cr_assert_not(key_exists(&h, "k"));
        EXPECT(&h, "LPOP k", "$-1\r\n");
        EXPECT(&h, "RPOP k", "$-1\r\n");
        EXPECT(&h, "EXISTS k", ":0\r\n");
    }
}

Test(list, pop_with_count)
{
    harness h;
    FOR_FILLS(&h)
    {
        EXPECT(&h, "RPUSH k a b c d e", ":5\r\n");
        EXPECT(&h, "LPOP k 0", "*0\r\n");
        EXPECT(&h, "LPOP k 2", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
        EXPECT(&h, "RPOP k 2", "*2\r\n$1\r\ne\r\n$1\r\nd\r\n");
        EXPECT(&h, "RPOP k 1", "*1\r\n$1\r\nc\r\n");
        cr_assert_not(key_exists(&h, "k"));
        EXPECT(&h, "LPOP k 0", "*-1\r\n"); /* missing key: null array even for 0 */
        EXPECT(&h, "LPOP k 3", "*-1\r\n");
        EXPECT(&h, "RPOP k 3", "*-1\r\n");
        EXPECT(&h, "RPUSH k a b c", ":3\r\n");
        EXPECT(&h, "RPOP k 10", "*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n");
        cr_assert_not(key_exists(&h, "k"));
        EXPECT(&h, "RPUSH k a b c", ":3\r\n");
        EXPECT(&h, "LPOP k 9223372036854775807", "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
        cr_assert_not(key_exists(&h, "k"));
    }
}

Test(list, pop_errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH k a", ":1\r\n");
    EXPECT(&h, "LPOP k -1", "-ERR value is out of range, must be positive\r\n");
    EXPECT(&h, "LPOP nokey -123", "-ERR value is out of range, must be positive\r\n");
    EXPECT(&h, "RPOP k abc", "-ERR value is out of range, must be positive\r\n");
    EXPECT(&h, "RPOP k 1.0", "-ERR value is out of range, must be positive\r\n");
    EXPECT(&h, "LPOP k 1 1", "-ERR wrong number of arguments for 'lpop' command\r\n");
    EXPECT(&h, "RPOP k 2 2", "-ERR wrong number of arguments for 'rpop' command\r\n");
    EXPECT(&h, "LPOP", "-ERR wrong number of arguments for 'lpop' command\r\n");
    EXPECT(&h, "LLEN k", ":1\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* LSET */

Test(list, lset)
{
    harness h;
    FOR_FILLS(&h)
    {
        make_list(&h, "k", 20);
        EXPECT(&h, "LSET k 0 foo", "+OK\r\n");
        EXPECT(&h, "LSET k -1 bar", "+OK\r\n");
        EXPECT(&h, "LSET k 10 a-much-longer-value-than-before", "+OK\r\n");
        EXPECT(&h, "LSET k 11 \"\"", "+OK\r\n");
        EXPECT(&h, "LINDEX k 0", "$3\r\nfoo\r\n");
        EXPECT(&h, "LINDEX k 19", "$3\r\nbar\r\n");
        EXPECT(&h, "LINDEX k 10", "$31\r\na-much-longer-value-than-before\r\n");
        EXPECT(&h, "LINDEX k 11", "$0\r\n\r\n");
        EXPECT(&h, "LINDEX k 12", "$2\r\n12\r\n");
        EXPECT(&h, "LSET k 20 foo", "-ERR index out of range\r\n");
        EXPECT(&h, "LSET k -21 foo", "-ERR index out of range\r\n");
        EXPECT(&h, "LSET k x foo", "-ERR value is not an integer or out of range\r\n");
        EXPECT(&h, "LSET nosuchkey 10 foo", "-ERR no such key\r\n");
        EXPECT(&h, "LSET nosuchkey x foo", "-ERR no such key\r\n");
        EXPECT(&h, "LLEN k", ":20\r\n");
        cr_assert(klist_check(key_list(&h, "k")));
    }
}

/* ------------------------------------------------------------------------ */
/* LINSERT */

Test(list, linsert)
{
    harness h;
    FOR_FILLS(&h)
    {
        EXPECT(&h, "RPUSH xlist a b c d", ":4\r\n");
        EXPECT(&h, "LINSERT xlist BEFORE c zz", ":5\r\n");
        EXPECT(&h, "LRANGE xlist 0 10",
               "*5\r\n$1\r\na\r\n$1\r\nb\r\n$2\r\nzz\r\n$1\r\nc\r\n$1\r\nd\r\n");
        EXPECT(&h, "LINSERT xlist AFTER c yy", ":6\r\n");
        EXPECT(&h, "LINSERT xlist AFTER d dd", ":7\r\n");
        EXPECT(&h, "LINSERT xlist after bad ddd", ":-1\r\n");
        EXPECT(&h, "LINSERT xlist before a aa", ":8\r\n");
        EXPECT(&h, "LINSERT xlist BEFORE bad aaa", ":-1\r\n");
        EXPECT(&h, "LRANGE xlist 0 -1",
               "*8\r\n$2\r\naa\r\n$1\r\na\r\n$1\r\nb\r\n$2\r\nzz\r\n$1\r\nc\r\n$2\r\nyy\r\n$1\r\nd\r\n$2\r\ndd\r\n");
        /* The first match of the pivot. */
        EXPECT(&h, "LINSERT xlist BEFORE aa 42", ":9\r\n");
        EXPECT(&h, "LINSERT xlist AFTER c c", ":10\r\n");
        EXPECT(&h, "LINSERT xlist AFTER c x", ":11\r\n");
        EXPECT(&h, "LRANGE xlist 0 -1",
               "*11\r\n$2\r\n42\r\n$2\r\naa\r\n$1\r\na\r\n$1\r\nb\r\n$2\r\nzz\r\n$1\r\nc\r\n$1\r\nx\r\n"
               "$1\r\nc\r\n$2\r\nyy\r\n$1\r\nd\r\n$2\r\ndd\r\n");
        EXPECT(&h, "LINSERT xlist aft3r aa 42", "-ERR syntax error\r\n");
        EXPECT(&h, "LINSERT nokey aft3r aa 42", "-ERR syntax error\r\n");
        EXPECT(&h, "LINSERT nokey AFTER aa 42", ":0\r\n");
        cr_assert_not(key_exists(&h, "nokey"));
        cr_assert(klist_check(key_list(&h, "xlist")));
    }
}

Test(list, linsert_in_the_middle_of_big_lists)
{
    harness h;
    FOR_FILLS(&h)
    {
        make_list(&h, "k", 100);
        for (int i = 0; i < 100; i += 3)
            cr_assert_str_neq(h_runf(&h, "LINSERT k AFTER %d x%d", i, i), ":-1\r\n");
        for (int i = 1; i < 100; i += 5)
            h_runf(&h, "LINSERT k BEFORE %d y%d", i, i);
        EXPECT(&h, "LRANGE k 0 5",
               "*6\r\n$1\r\n0\r\n$2\r\nx0\r\n$2\r\ny1\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
        EXPECT(&h, "LLEN k", ":154\r\n");
        EXPECT(&h, "LINDEX k -1", "$3\r\nx99\r\n");
        EXPECT(&h, "LPOS k y96", ":147\r\n");
        cr_assert(klist_check(key_list(&h, "k")));
    }
}

/* ------------------------------------------------------------------------ */
/* LREM */

Test(list, lrem)
{
    harness h;
    FOR_FILLS(&h)
    {
        EXPECT(&h, "RPUSH k foo bar foobar foobared zap bar test foo", ":8\r\n");
        EXPECT(&h, "LREM k 0 bar", ":2\r\n");
        EXPECT(&h, "LRANGE k 0 -1",
               "*6\r\n$3\r\nfoo\r\n$6\r\nfoobar\r\n$8\r\nfoobared\r\n$3\r\nzap\r\n$4\r\ntest\r\n$3\r\nfoo\r\n");
        EXPECT(&h, "LREM k -1 foo", ":1\r\n");
        EXPECT(&h, "LRANGE k 0 -1",
               "*5\r\n$3\r\nfoo\r\n$6\r\nfoobar\r\n$8\r\nfoobared\r\n$3\r\nzap\r\n$4\r\ntest\r\n");
        EXPECT(&h, "LREM k 2 foo", ":1\r\n");
        EXPECT(&h, "LREM k 0 nothere", ":0\r\n");
        EXPECT(&h, "DEL k", ":1\r\n");
        EXPECT(&h, "RPUSH k foo bar foobar foobared zap bar test foo foo", ":9\r\n");
        EXPECT(&h, "LREM k -2 foo", ":2\r\n");
        EXPECT(&h, "LRANGE k 0 -1",
               "*7\r\n$3\r\nfoo\r\n$3\r\nbar\r\n$6\r\nfoobar\r\n$8\r\nfoobared\r\n$3\r\nzap\r\n$3\r\nbar\r\n"
               "$4\r\ntest\r\n");
        EXPECT(&h, "LREM k 1 bar", ":1\r\n");
        EXPECT(&h, "LINDEX k 1", "$6\r\nfoobar\r\n");
        EXPECT(&h, "LREM k x bar", "-ERR value is not an integer or out of range\r\n");
        EXPECT(&h, "LREM nokey x bar", "-ERR value is not an integer or out of range\r\n");
        EXPECT(&h, "LREM nokey 0 bar", ":0\r\n");
        /* Removing everything deletes the key. */
        EXPECT(&h, "DEL k", ":1\r\n");
        EXPECT(&h, "RPUSH k a a a a a a a", ":7\r\n");
        EXPECT(&h, "LREM k -9223372036854775808 a", ":7\r\n");
        cr_assert_not(key_exists(&h, "k"));
        EXPECT(&h, "RPUSH k a b a b a b", ":6\r\n");
        EXPECT(&h, "LREM k 9223372036854775807 a", ":3\r\n");
        EXPECT(&h, "LRANGE k 0 -1", "*3\r\n$1\r\nb\r\n$1\r\nb\r\n$1\r\nb\r\n");
        cr_assert(klist_check(key_list(&h, "k")));
    }
}

/* ------------------------------------------------------------------------ */
/* LTRIM */

Test(list, ltrim)
{
    harness h;
    FOR_FILLS(&h)
    {
        struct {
            const char *start, *stop, *want;
        } cases[] = {
            {"0", "0", "*1\r\n$1\r\n0\r\n"},
            {"0", "1", "*2\r\n$1\r\n0\r\n$1\r\n1\r\n"},
            {"0", "2", "*3\r\n$1\r\n0\r\n$1\r\n1\r\n$1\r\n2\r\n"},
            {"1", "2", "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"},
            {"1", "-1", "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n"},
            {"1", "-2", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"},
            {"-2", "-1", "*2\r\n$1\r\n3\r\n$1\r\n4\r\n"},
            {"-1", "-1", "*1\r\n$1\r\n4\r\n"},
            {"-5", "-1", "*5\r\n$1\r\n0\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n"},
            {"-10", "10", "*5\r\n$1\r\n0\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n"},
            {"0", "5", "*5\r\n$1\r\n0\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n"},
            {"0", "10", "*5\r\n$1\r\n0\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            h_run(&h, "DEL k");
            make_list(&h, "k", 5);
            cr_assert_str_eq(h_runf(&h, "LTRIM k %s %s", cases[i].start, cases[i].stop), "+OK\r\n");
            cr_assert_str_eq(h_run(&h, "LRANGE k 0 -1"), cases[i].want, "%s %s", cases[i].start,
                             cases[i].stop);
            cr_assert(klist_check(key_list(&h, "k")));
        }
        /* Out of range: the key goes away. */
        EXPECT(&h, "LTRIM k 3 1", "+OK\r\n");
        cr_assert_not(key_exists(&h, "k"));
        make_list(&h, "k", 5);
        EXPECT(&h, "LTRIM k 5 10", "+OK\r\n");
        cr_assert_not(key_exists(&h, "k"));
        make_list(&h, "k", 5);
        EXPECT(&h, "LTRIM k 0 -6", "+OK\r\n");
        cr_assert_not(key_exists(&h, "k"));
        EXPECT(&h, "LTRIM nokey 0 1", "+OK\r\n");
        EXPECT(&h, "LTRIM nokey a 1", "-ERR value is not an integer or out of range\r\n");
        EXPECT(&h, "LTRIM nokey 0 b", "-ERR value is not an integer or out of range\r\n");
        /* A big list trimmed in the middle. */
        make_list(&h, "big", 200);
        EXPECT(&h, "LTRIM big 50 -51", "+OK\r\n");
        EXPECT(&h, "LLEN big", ":100\r\n");
        EXPECT(&h, "LINDEX big 0", "$2\r\n50\r\n");
        EXPECT(&h, "LINDEX big -1", "$3\r\n149\r\n");
        cr_assert(klist_check(key_list(&h, "big")));
    }
}

/* ------------------------------------------------------------------------ */
/* LPOS */

Test(list, lpos)
{
    harness h;
    FOR_FILLS(&h)
    {
        EXPECT(&h, "RPUSH mylist a b c 1 2 3 c c", ":8\r\n");
        EXPECT(&h, "LPOS mylist a", ":0\r\n");
        EXPECT(&h, "LPOS mylist c", ":2\r\n");
        EXPECT(&h, "LPOS mylist c RANK 1", ":2\r\n");
        EXPECT(&h, "LPOS mylist c RANK 2", ":6\r\n");
        EXPECT(&h, "LPOS mylist c RANK 4", "$-1\r\n");
        EXPECT(&h, "LPOS mylist c RANK -1", ":7\r\n");
        EXPECT(&h, "LPOS mylist c RANK -2", ":6\r\n");
        EXPECT(&h, "LPOS mylist c RANK 0",
               "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
               "or use negative to start from the end of the list\r\n");
        EXPECT(&h, "LPOS mylist c COUNT 0", "*3\r\n:2\r\n:6\r\n:7\r\n");
        EXPECT(&h, "LPOS mylist c COUNT 1", "*1\r\n:2\r\n");
        EXPECT(&h, "LPOS mylist c COUNT 2", "*2\r\n:2\r\n:6\r\n");
        EXPECT(&h, "LPOS mylist c COUNT 100", "*3\r\n:2\r\n:6\r\n:7\r\n");
        EXPECT(&h, "LPOS mylist c COUNT 0 RANK 2", "*2\r\n:6\r\n:7\r\n");
        EXPECT(&h, "LPOS mylist c COUNT 2 RANK -1", "*2\r\n:7\r\n:6\r\n");
        EXPECT(&h, "LPOS mylistxxx c COUNT 0 RANK 2", "*0\r\n");
        EXPECT(&h, "LPOS mylistxxx c", "$-1\r\n");
        EXPECT(&h, "LPOS mylist x COUNT 2 RANK -1", "*0\r\n");
        EXPECT(&h, "LPOS mylist x RANK -1", "$-1\r\n");
        EXPECT(&h, "LPOS mylist a COUNT 0 MAXLEN 1", "*1\r\n:0\r\n");
        EXPECT(&h, "LPOS mylist c COUNT 0 MAXLEN 1", "*0\r\n");
        EXPECT(&h, "LPOS mylist c COUNT 0 MAXLEN 3", "*1\r\n:2\r\n");
        EXPECT(&h, "LPOS mylist c COUNT 0 MAXLEN 3 RANK -1", "*2\r\n:7\r\n:6\r\n");
        EXPECT(&h, "LPOS mylist c COUNT 0 MAXLEN 7 RANK 2", "*1\r\n:6\r\n");
        EXPECT(&h, "LPOS mylist c MAXLEN 2", "$-1\r\n");
        /* Redis negates the rank in a long: LONG_MIN wraps to itself, so
         * every match qualifies and COUNT never stops the scan. */
        EXPECT(&h, "LPOS mylist c RANK -9223372036854775808", ":7\r\n");
        EXPECT(&h, "LPOS mylist c RANK -9223372036854775808 COUNT 1", "*3\r\n:7\r\n:6\r\n:2\r\n");
        EXPECT(&h, "LPOS mylist c RANK 9223372036854775807", "$-1\r\n");
        /* Later options win; errors. */
        EXPECT(&h, "LPOS mylist c RANK 5 RANK 1", ":2\r\n");
        EXPECT(&h, "LPOS mylist c COUNT -1", "-ERR COUNT can't be negative\r\n");
        EXPECT(&h, "LPOS mylist c COUNT x", "-ERR COUNT can't be negative\r\n");
        EXPECT(&h, "LPOS mylist c MAXLEN -1", "-ERR MAXLEN can't be negative\r\n");
        EXPECT(&h, "LPOS mylist c MAXLEN 1.5", "-ERR MAXLEN can't be negative\r\n");
        EXPECT(&h, "LPOS mylist c RANK x", "-ERR value is not an integer or out of range\r\n");
        EXPECT(&h, "LPOS mylist c RANK", "-ERR syntax error\r\n");
        EXPECT(&h, "LPOS mylist c FOO 1", "-ERR syntax error\r\n");
        EXPECT(&h, "LPOS nokey c COUNT -1", "-ERR COUNT can't be negative\r\n");
        EXPECT(&h, "LPOS mylist", "-ERR wrong number of arguments for 'lpos' command\r\n");
        /* RANK past the matches. */
        EXPECT(&h, "DEL mylist", ":1\r\n");
        EXPECT(&h, "RPUSH mylist a b c 1 2 3 c c", ":8\r\n");
        EXPECT(&h, "LPOS mylist b COUNT 10 RANK 5", "*0\r\n");
    }
}

/* ------------------------------------------------------------------------ */
/* LMOVE RPOPLPUSH */

Test(list, lmove_all_directions)
{
    harness h;
    FOR_FILLS(&h)
    {
        EXPECT(&h, "RPUSH src a b c d", ":4\r\n");
        EXPECT(&h, "RPUSH dst x", ":1\r\n");
        EXPECT(&h, "LMOVE src dst LEFT LEFT", "$1\r\na\r\n");
        EXPECT(&h, "LMOVE src dst LEFT RIGHT", "$1\r\nb\r\n");
        EXPECT(&h, "LMOVE src dst right left", "$1\r\nd\r\n");
        EXPECT(&h, "LRANGE dst 0 -1", "*4\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nx\r\n$1\r\nb\r\n");
        EXPECT(&h, "LMOVE src dst RIGHT RIGHT", "$1\r\nc\r\n");
        cr_assert_not(key_exists(&h, "src"));
        EXPECT(&h, "LRANGE dst 0 -1",
               "*5\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nx\r\n$1\r\nb\r\n$1\r\nc\r\n");
        EXPECT(&h, "LMOVE src dst LEFT LEFT", "$-1\r\n");
        /* To a new key. */
        EXPECT(&h, "LMOVE dst newkey RIGHT LEFT", "$1\r\nc\r\n");
        EXPECT(&h, "LRANGE newkey 0 -1", "*1\r\n$1\r\nc\r\n");
        EXPECT(&h, "OBJECT ENCODING newkey", "$9\r\nquicklist\r\n");
        /* Errors. */
        EXPECT(&h, "LMOVE dst newkey UP LEFT", "-ERR syntax error\r\n");
        EXPECT(&h, "LMOVE dst newkey LEFT DOWN", "-ERR syntax error\r\n");
        EXPECT(&h, "LMOVE nokey newkey LEFT DOWN", "-ERR syntax error\r\n");
        EXPECT(&h, "LLEN dst", ":4\r\n");
        cr_assert(klist_check(key_list(&h, "dst")));
    }
}

Test(list, rpoplpush_same_list_rotates)
{
    harness h;
    FOR_FILLS(&h)
    {
        EXPECT(&h, "RPUSH k a b c", ":3\r\n");
        EXPECT(&h, "RPOPLPUSH k k", "$1\r\nc\r\n");
        EXPECT(&h, "LRANGE k 0 -1", "*3\r\n$1\r\nc\r\n$1\r\na\r\n$1\r\nb\r\n");
        EXPECT(&h, "LMOVE k k LEFT RIGHT", "$1\r\nc\r\n");
        EXPECT(&h, "LMOVE k k LEFT LEFT", "$1\r\na\r\n");
        EXPECT(&h, "LRANGE k 0 -1", "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
        /* A one-element list moved onto itself stays. */
        EXPECT(&h, "RPUSH one x", ":1\r\n");
        EXPECT(&h, "RPOPLPUSH one one", "$1\r\nx\r\n");
        EXPECT(&h, "LRANGE one 0 -1", "*1\r\n$1\r\nx\r\n");
        EXPECT(&h, "RPOPLPUSH nokey k", "$-1\r\n");
        EXPECT(&h, "LLEN k", ":3\r\n");
        cr_assert_not(key_exists(&h, "nokey"));
    }
}

Test(list, lmove_wrongtype)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH src a b", ":2\r\n");
    EXPECT(&h, "SET str x", "+OK\r\n");
    EXPECT(&h, "RPOPLPUSH src str", ERR_WRONGTYPE "\r\n");
    EXPECT(&h, "LRANGE src 0 -1", "*2\r\n$1\r\na\r\n$1\r\nb\r\n"); /* nothing popped */
    EXPECT(&h, "RPOPLPUSH str src", ERR_WRONGTYPE "\r\n");
    EXPECT(&h, "LMOVE str nokey LEFT LEFT", ERR_WRONGTYPE "\r\n");
    EXPECT(&h, "RPOPLPUSH nokey str", "$-1\r\n"); /* the source is checked first */
    h_free(&h);
}

Test(list, lmove_source_survives_expired_destination)
{
    harness h;
    h_init(&h);
    /* Many keys so that deleting the expired destination reshuffles. */
    for (int i = 0; i < 100; i++)
        h_runf(&h, "SET filler%d v", i);
    EXPECT(&h, "RPUSH src a b", ":2\r\n");
    EXPECT(&h, "RPUSH dst x", ":1\r\n");
    EXPECT(&h, "PEXPIRE dst 10", ":1\r\n");
    h.now_ms += 20;
    EXPECT(&h, "RPOPLPUSH src dst", "$1\r\nb\r\n");
    EXPECT(&h, "LRANGE dst 0 -1", "*1\r\n$1\r\nb\r\n");
    EXPECT(&h, "LRANGE src 0 -1", "*1\r\n$1\r\na\r\n");
    EXPECT(&h, "RPOPLPUSH src dst", "$1\r\na\r\n");
    cr_assert_not(key_exists(&h, "src"));
    EXPECT(&h, "LRANGE dst 0 -1", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* LMPOP */

Test(list, lmpop)
{
    harness h;
    FOR_FILLS(&h)
    {
        EXPECT(&h, "LMPOP 2 k1 k2 LEFT", "*-1\r\n");
        EXPECT(&h, "RPUSH k2 a b c d e", ":5\r\n");
        EXPECT(&h, "LMPOP 2 k1 k2 LEFT", "*2\r\n$2\r\nk2\r\n*1\r\n$1\r\na\r\n");
        EXPECT(&h, "LMPOP 2 k1 k2 RIGHT COUNT 2", "*2\r\n$2\r\nk2\r\n*2\r\n$1\r\ne\r\n$1\r\nd\r\n");
        EXPECT(&h, "RPUSH k1 x", ":1\r\n");
        EXPECT(&h, "LMPOP 2 k1 k2 left count 10", "*2\r\n$2\r\nk1\r\n*1\r\n$1\r\nx\r\n");
        cr_assert_not(key_exists(&h, "k1"));
        EXPECT(&h, "LMPOP 2 k1 k2 LEFT COUNT 10", "*2\r\n$2\r\nk2\r\n*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
        cr_assert_not(key_exists(&h, "k2"));
        EXPECT(&h, "LMPOP 1 k2 LEFT COUNT 9223372036854775807", "*-1\r\n");
    }
}

Test(list, lmpop_errors)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH mylist a b", ":2\r\n");
    EXPECT(&h, "LMPOP", "-ERR wrong number of arguments for 'lmpop' command\r\n");
    EXPECT(&h, "LMPOP 1", "-ERR wrong number of arguments for 'lmpop' command\r\n");
    EXPECT(&h, "LMPOP 1 mylist", "-ERR wrong number of arguments for 'lmpop' command\r\n");
    EXPECT(&h, "LMPOP 0 mylist LEFT", "-ERR numkeys should be greater than 0\r\n");
    EXPECT(&h, "LMPOP a mylist LEFT", "-ERR numkeys should be greater than 0\r\n");
    EXPECT(&h, "LMPOP -1 mylist RIGHT", "-ERR numkeys should be greater than 0\r\n");
    EXPECT(&h, "LMPOP 1 mylist bad_where", "-ERR syntax error\r\n");
    EXPECT(&h, "LMPOP 1 mylist LEFT bar_arg", "-ERR syntax error\r\n");
    EXPECT(&h, "LMPOP 1 mylist RIGHT LEFT", "-ERR syntax error\r\n");
    EXPECT(&h, "LMPOP 1 mylist COUNT", "-ERR syntax error\r\n");
    EXPECT(&h, "LMPOP 1 mylist LEFT COUNT 1 COUNT 2", "-ERR syntax error\r\n");
    EXPECT(&h, "LMPOP 2 mylist mylist2 bad_arg", "-ERR syntax error\r\n");
    EXPECT(&h, "LMPOP 1 mylist LEFT COUNT", "-ERR syntax error\r\n");
    EXPECT(&h, "LMPOP 3 mylist LEFT", "-ERR syntax error\r\n");
    EXPECT(&h, "LMPOP 2 mylist LEFT", "-ERR syntax error\r\n");
    EXPECT(&h, "LMPOP 9223372036854775807 mylist LEFT", "-ERR syntax error\r\n");
    EXPECT(&h, "LMPOP 1 mylist LEFT COUNT 0", "-ERR count should be greater than 0\r\n");
    EXPECT(&h, "LMPOP 1 mylist RIGHT COUNT a", "-ERR count should be greater than 0\r\n");
    EXPECT(&h, "LMPOP 1 mylist LEFT COUNT -1", "-ERR count should be greater than 0\r\n");
    EXPECT(&h, "LMPOP 2 mylist mylist2 RIGHT COUNT -1", "-ERR count should be greater than 0\r\n");
    EXPECT(&h, "SET str x", "+OK\r\n");
    EXPECT(&h, "LMPOP 2 str mylist LEFT", ERR_WRONGTYPE "\r\n");
    EXPECT(&h, "LMPOP 2 nokey str LEFT", ERR_WRONGTYPE "\r\n");
    /* A non-empty list before the wrong type: it pops. */
    EXPECT(&h, "LMPOP 2 mylist str LEFT", "*2\r\n$6\r\nmylist\r\n*1\r\n$1\r\na\r\n");
    EXPECT(&h, "LLEN mylist", ":1\r\n");
    h_free(&h);
}

Test(list, lmpop_getkeys)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "COMMAND GETKEYS LMPOP 2 a b LEFT", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT(&h, "COMMAND GETKEYS LMPOP 1 a LEFT COUNT 3", "*1\r\n$1\r\na\r\n");
    EXPECT(&h, "COMMAND GETKEYS LMPOP 3 a LEFT", "-ERR Invalid arguments specified for command\r\n");
    EXPECT(&h, "COMMAND GETKEYS LMPOP 0 a LEFT", "-ERR Invalid arguments specified for command\r\n");
    EXPECT(&h, "COMMAND GETKEYS LMPOP x a LEFT", "-ERR Invalid arguments specified for command\r\n");
    EXPECT(&h, "COMMAND GETKEYS LMOVE a b LEFT RIGHT", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT(&h, "COMMAND GETKEYS RPOPLPUSH a b", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    EXPECT(&h, "COMMAND GETKEYS LPUSH a b c", "*1\r\n$1\r\na\r\n");
    h_free(&h);
}

/* ------------------------------------------------------------------------ */
/* Types, WATCH, dirty, expiry */

Test(list, wrongtype)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "SET s x", "+OK\r\n");
    const char *cmds[] = {
        "LPUSH s a", "RPUSH s a", "LPUSHX s a", "RPUSHX s a", "LPOP s", "RPOP s", "LPOP s 2",
        "LLEN s", "LRANGE s 0 -1", "LINDEX s 0", "LINDEX s x", "LSET s 0 a", "LREM s 0 a",
        "LTRIM s 0 1", "LINSERT s BEFORE a b", "LPOS s a", "LPOS s a COUNT 0", "LMOVE s d LEFT LEFT",
        "RPOPLPUSH s d", "LMPOP 1 s LEFT",
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        EXPECT(&h, cmds[i], ERR_WRONGTYPE "\r\n");
    cr_assert_not(key_exists(&h, "d"));
    EXPECT(&h, "RPUSH l a", ":1\r\n");
    EXPECT(&h, "GET l", ERR_WRONGTYPE "\r\n");
    EXPECT(&h, "HGET l f", ERR_WRONGTYPE "\r\n");
    EXPECT(&h, "TYPE l", "+list\r\n");
    h_free(&h);
}

/* Runs `write` from another client between WATCH and EXEC; returns
 * whether EXEC ran (the write did not touch the key). */
static bool exec_survives(harness *h, const char *setup, const char *write)
{
    client *other = engine_client_new(&h->e, h->now_ms);
    if (setup)
        h_run(h, setup);
    EXPECT(h, "WATCH k", "+OK\r\n");
    h_run_as(h, other, write);
    EXPECT(h, "MULTI", "+OK\r\n");
    EXPECT(h, "PING", "+QUEUED\r\n");
    bool ran = strcmp(h_run(h, "EXEC"), "*1\r\n+PONG\r\n") == 0;
    engine_client_free(&h->e, other);
    return ran;
}

Test(list, watch_sees_list_writes)
{
    harness h;
    h_init(&h);
    cr_assert_not(exec_survives(&h, NULL, "RPUSH k a b c d e f"));
    cr_assert_not(exec_survives(&h, NULL, "LPUSH k x"));
    cr_assert_not(exec_survives(&h, NULL, "RPUSHX k y"));
    cr_assert_not(exec_survives(&h, NULL, "LPOP k"));
    cr_assert_not(exec_survives(&h, NULL, "RPOP k 1"));
    cr_assert(exec_survives(&h, NULL, "RPOP k 0"));
    cr_assert_not(exec_survives(&h, NULL, "LSET k 0 z"));
    cr_assert(exec_survives(&h, NULL, "LSET k 100 z"));
    cr_assert_not(exec_survives(&h, NULL, "LINSERT k BEFORE z w"));
    cr_assert(exec_survives(&h, NULL, "LINSERT k BEFORE nope w"));
    cr_assert_not(exec_survives(&h, NULL, "LREM k 0 w"));
    cr_assert(exec_survives(&h, NULL, "LREM k 0 nope"));
    cr_assert_not(exec_survives(&h, NULL, "LTRIM k 0 -1")); /* Redis signals even a no-op trim */
    cr_assert(exec_survives(&h, NULL, "LRANGE k 0 -1"));
    cr_assert(exec_survives(&h, NULL, "LPOS k a"));
    cr_assert(exec_survives(&h, NULL, "LINDEX k 0"));
    cr_assert_not(exec_survives(&h, NULL, "LMOVE k other LEFT LEFT"));
    cr_assert_not(exec_survives(&h, NULL, "LMOVE other k LEFT LEFT"));
    cr_assert_not(exec_survives(&h, NULL, "LMPOP 2 nokey k LEFT"));
    cr_assert(exec_survives(&h, NULL, "LMPOP 1 nokey LEFT"));
    cr_assert(exec_survives(&h, NULL, "LPUSHX nokey a"));
    cr_assert_not(exec_survives(&h, NULL, "LTRIM k 1 0"));
    cr_assert_not(key_exists(&h, "k"));
    h_free(&h);
}

Test(list, dirty_counts_changes)
{
    harness h;
    h_init(&h);
    uint64_t d0 = h.e.stats.dirty;
#define DIRTY(n) cr_assert_eq(h.e.stats.dirty - d0, (uint64_t)(n), "dirty %llu", \
                              (unsigned long long)(h.e.stats.dirty - d0))
    h_run(&h, "RPUSH k a b c d e f g");
    DIRTY(7);
    h_run(&h, "LPUSHX nokey a");
    DIRTY(7);
    h_run(&h, "LPOP k");
    DIRTY(8);
    h_run(&h, "RPOP k 2");
    DIRTY(10);
    h_run(&h, "LPOP k 0");
    DIRTY(10);
    h_run(&h, "LSET k 0 x");
    DIRTY(11);
    h_run(&h, "LINSERT k AFTER x y");
    DIRTY(12);
    h_run(&h, "LINSERT k AFTER nope y");
    DIRTY(12);
    h_run(&h, "RPUSH k y y");
    DIRTY(14);
    h_run(&h, "LREM k 0 y");
    DIRTY(17);
    h_run(&h, "LTRIM k 1 -1");
    DIRTY(18);
    h_run(&h, "LMOVE k k LEFT RIGHT");
    DIRTY(19);
    h_run(&h, "LMPOP 1 k LEFT COUNT 100");
    DIRTY(22);
    cr_assert_not(key_exists(&h, "k"));
    h_free(&h);
}

Test(list, expired_list_is_absent)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH k a b", ":2\r\n");
    EXPECT(&h, "PEXPIRE k 100", ":1\r\n");
    EXPECT(&h, "LPUSH k c", ":3\r\n");
    EXPECT(&h, "PTTL k", ":100\r\n"); /* writes keep the TTL */
    h.now_ms += 100;
    EXPECT(&h, "LLEN k", ":3\r\n"); /* expired only past the deadline */
    h.now_ms += 1;
    EXPECT(&h, "LLEN k", ":0\r\n");
    EXPECT(&h, "LPUSHX k a", ":0\r\n");
    EXPECT(&h, "RPUSH k z", ":1\r\n");
    EXPECT(&h, "PTTL k", ":-1\r\n");
    h_free(&h);
}

Test(list, config_list_max_listpack_size)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "CONFIG GET list-max-listpack-size",
           "*2\r\n$22\r\nlist-max-listpack-size\r\n$2\r\n-2\r\n");
    EXPECT(&h, "CONFIG SET list-max-ziplist-size 4", "+OK\r\n");
    EXPECT(&h, "CONFIG GET list-max-ziplist-size", "*2\r\n$21\r\nlist-max-ziplist-size\r\n$1\r\n4\r\n");
    cr_assert_eq(h.e.cfg.list_max_listpack_size, 4);
    make_list(&h, "k", 10);
    klist *l = key_list(&h, "k");
    cr_assert_eq(klist_node_count(l), 3);
    cr_assert_eq(klist_fill(l), 4);
    EXPECT(&h, "CONFIG SET list-max-listpack-size -2", "+OK\r\n");
    EXPECT(&h, "CONFIG GET list-compress-depth", "*2\r\n$19\r\nlist-compress-depth\r\n$1\r\n0\r\n");
    EXPECT(&h, "CONFIG SET list-compress-depth 2", "+OK\r\n");
    /* Still readable and writable whatever the settings. */
    make_list(&h, "k", 10);
    EXPECT(&h, "LLEN k", ":20\r\n");
    h_free(&h);
}

Test(list, copy_and_rename_are_deep)
{
    harness h;
    h_init(&h);
    EXPECT(&h, "RPUSH k a b c", ":3\r\n");
    EXPECT(&h, "COPY k k2", ":1\r\n");
    EXPECT(&h, "RPUSH k2 d", ":4\r\n");
    EXPECT(&h, "LLEN k", ":3\r\n");
    EXPECT(&h, "RENAME k2 k3", "+OK\r\n");
    EXPECT(&h, "LRANGE k3 0 -1", "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n");
    h_free(&h);
}

Test(list, command_table)
{
    harness h;
    h_init(&h);
    struct {
        const char *name;
        int arity;
        uint64_t flags;
        const char *acl;
        int first, last;
    } want[] = {
        {"lpush", -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, "@write @list @fast", 1, 1},
        {"rpush", -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, "@write @list @fast", 1, 1},
        {"lpushx", -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, "@write @list @fast", 1, 1},
        {"rpushx", -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, "@write @list @fast", 1, 1},
        {"lpop", -2, CMD_WRITE | CMD_FAST, "@write @list @fast", 1, 1},
        {"rpop", -2, CMD_WRITE | CMD_FAST, "@write @list @fast", 1, 1},
        {"llen", 2, CMD_READONLY | CMD_FAST, "@read @list @fast", 1, 1},
        {"lrange", 4, CMD_READONLY, "@read @list @slow", 1, 1},
        {"lindex", 3, CMD_READONLY, "@read @list @slow", 1, 1},
        {"lset", 4, CMD_WRITE | CMD_DENYOOM, "@write @list @slow", 1, 1},
        {"lrem", 4, CMD_WRITE, "@write @list @slow", 1, 1},
        {"ltrim", 4, CMD_WRITE, "@write @list @slow", 1, 1},
        {"linsert", 5, CMD_WRITE | CMD_DENYOOM, "@write @list @slow", 1, 1},
        {"lpos", -3, CMD_READONLY, "@read @list @slow", 1, 1},
        {"lmove", 5, CMD_WRITE | CMD_DENYOOM, "@write @list @slow", 1, 2},
        {"rpoplpush", 3, CMD_WRITE | CMD_DENYOOM, "@write @list @slow", 1, 2},
        {"lmpop", -4, CMD_WRITE | CMD_MOVABLE_KEYS, "@write @list @slow", 0, 0},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const cmd_entry *ce = engine_lookup_name(&h.e, want[i].name, strlen(want[i].name));
        cr_assert_not_null(ce, "%s", want[i].name);
        const cmd_def *d = ce->def;
        cr_assert_eq(d->arity, want[i].arity, "%s", want[i].name);
        cr_assert_eq(d->flags, want[i].flags, "%s", want[i].name);
        cr_assert_str_eq(d->acl, want[i].acl, "%s", want[i].name);
        cr_assert_eq(d->first_key, want[i].first, "%s", want[i].name);
        cr_assert_eq(d->last_key, want[i].last, "%s", want[i].name);
        cr_assert_str_eq(d->group, "list");
        cr_assert(d->since && d->summary && d->complexity && d->args);
        cr_assert_not_null(d->fn);
    }
    int n = 0;
    for (const cmd_def *d = cmd_list; d->name; d++)
        n++;
    cr_assert_eq(n, (int)(sizeof(want) / sizeof(want[0])));
    const cmd_entry *ce = engine_lookup_name(&h.e, "lmpop", 5);
    cr_assert_not_null(ce->def->getkeys);
    EXPECT(&h, "LLEN", "-ERR wrong number of arguments for 'llen' command\r\n");
    EXPECT(&h, "LINDEX k", "-ERR wrong number of arguments for 'lindex' command\r\n");
    EXPECT(&h, "LSET k 0", "-ERR wrong number of arguments for 'lset' command\r\n");
    EXPECT(&h, "LINSERT k BEFORE a", "-ERR wrong number of arguments for 'linsert' command\r\n");
    EXPECT(&h, "LMOVE a b LEFT", "-ERR wrong number of arguments for 'lmove' command\r\n");
    EXPECT(&h, "RPOPLPUSH a", "-ERR wrong number of arguments for 'rpoplpush' command\r\n");
    h_free(&h);
}
