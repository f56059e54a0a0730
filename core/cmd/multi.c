/* Transactions: MULTI EXEC DISCARD WATCH UNWATCH, with Redis 7.0's rules.
 *
 * While a client is in MULTI the dispatcher queues its commands (checking
 * existence and arity first: an error there flags the transaction, and EXEC
 * then answers EXECABORT). EXEC runs the queue as one unit; once the node
 * replicates, the whole EXEC is one log entry. A WATCHed key changed by any
 * write, deleted, expired, or flushed after WATCH makes EXEC answer a null
 * array. */
#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"
#include "core/cmd/engine_internal.h"

static void end_transaction(cmd_ctx *x) { engine_end_transaction(x->eng, x->cl); }

static void multi_cmd(cmd_ctx *x)
{
    if (x->cl->flags & CLIENT_MULTI) {
        reply_error(x, "MULTI calls can not be nested");
        return;
    }
    x->cl->flags |= CLIENT_MULTI;
    reply_ok(x);
}

static void discard_cmd(cmd_ctx *x)
{
    if (!(x->cl->flags & CLIENT_MULTI)) {
        reply_error(x, "DISCARD without MULTI");
        return;
    }
    end_transaction(x);
    reply_ok(x);
}

static void exec_cmd(cmd_ctx *x)
{
    client *c = x->cl;
    if (!(c->flags & CLIENT_MULTI)) {
        reply_error(x, "EXEC without MULTI");
        return;
    }
    if (engine_watched_expired(x->eng, c, x->now_ms))
        c->flags |= CLIENT_DIRTY_CAS;
    if (c->flags & (CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC)) {
        if (c->flags & CLIENT_DIRTY_EXEC)
            reply_error(x, "-EXECABORT Transaction discarded because of previous errors.");
        else
            reply_null_array(x);
        end_transaction(x);
        return;
    }
    /* Unwatch first: the transaction's own writes must not flag it. */
    engine_unwatch_all(x->eng, c);
    c->flags &= ~CLIENT_MULTI;
    engine_exec_queue(x);
    end_transaction(x);
}

static void watch_cmd(cmd_ctx *x)
{
    client *c = x->cl;
    if (c->flags & CLIENT_MULTI) {
        reply_error(x, "WATCH inside MULTI is not allowed");
        return;
    }
    /* No point in watching if the client is already dirty. */
    if (!(c->flags & CLIENT_DIRTY_CAS))
        for (int i = 1; i < x->argc; i++)
            engine_watch_key(x->eng, c, x->argv[i].ptr, x->argv[i].len, x->now_ms);
    reply_ok(x);
}

static void unwatch_cmd(cmd_ctx *x)
{
    engine_unwatch_all(x->eng, x->cl);
    x->cl->flags &= ~CLIENT_DIRTY_CAS;
    reply_ok(x);
}

const cmd_def cmd_multi[] = {
    {.name = "multi", .arity = 1,
     .flags = CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY,
     .fn = multi_cmd, .group = "transactions", .since = "1.2.0",
     .summary = "Starts a transaction.", .complexity = "O(1)",
     .acl = "@fast @transaction", .args = ""},
    {.name = "exec", .arity = 1,
     .flags = CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_SKIP_SLOWLOG,
     .fn = exec_cmd, .group = "transactions", .since = "1.2.0",
     .summary = "Executes all commands in a transaction.",
     .complexity = "Depends on commands in the transaction",
     .acl = "@slow @transaction", .args = ""},
    {.name = "discard", .arity = 1,
     .flags = CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY,
     .fn = discard_cmd, .group = "transactions", .since = "2.0.0",
     .summary = "Discards a transaction.",
     .complexity = "O(N), when N is the number of queued commands",
     .acl = "@fast @transaction", .args = ""},
    {.name = "watch", .arity = -2,
     .flags = CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY,
     .first_key = 1, .last_key = -1, .key_step = 1,
     .fn = watch_cmd, .group = "transactions", .since = "2.2.0",
     .summary = "Monitors changes to keys to determine the execution of a transaction.",
     .complexity = "O(1) for every key.",
     .acl = "@fast @transaction", .args = "key [key ...]"},
    {.name = "unwatch", .arity = 1,
     .flags = CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST | CMD_ALLOW_BUSY,
     .fn = unwatch_cmd, .group = "transactions", .since = "2.2.0",
     .summary = "Forgets about watched keys of a transaction.", .complexity = "O(1)",
     .acl = "@fast @transaction", .args = ""},
    {0},
};
