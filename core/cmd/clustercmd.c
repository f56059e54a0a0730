/* CLUSTER, READONLY and READWRITE: the commands of a replicated node.
 *
 * The engine knows nothing of Raft: on a cluster node the node layer
 * (core/node/cluster.c) sets engine.cluster_cmd and runs each of these
 * there. Without it, they answer as Redis does with cluster support
 * disabled. See docs/commands/cluster.md. */
#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"

#define ERR_NO_CLUSTER "This instance has cluster support disabled"

static void cluster_generic(cmd_ctx *x)
{
    if (x->eng->cluster_cmd == NULL) {
        reply_error(x, ERR_NO_CLUSTER);
        return;
    }
    x->eng->cluster_cmd(x->eng->cluster_ctx, x);
}

static void cluster_help_cmd(cmd_ctx *x)
{
    static const char *const help[] = {
        "CONSISTENCY [LINEARIZABLE|LEASE|STALE]",
        "    Show or set how this connection's reads are served (keel).",
        "FAILOVER [FORCE|TAKEOVER]",
        "    On a follower: make this node the leader (a Raft leadership transfer).",
        "FAILOVER TO <node-id>",
        "    Hand the leadership to <node-id> (keel).",
        "FORGET <node-id>",
        "    Remove a node from the cluster (a Raft membership change).",
        "INFO",
        "    Return information about the cluster.",
        "LEAVE",
        "    Ask the leader to remove this node from the cluster (keel).",
        "MYID",
        "    Return the node id.",
        "NODES",
        "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port@bus-port> <flags> <leader> 0 0 <term> <link>",
        NULL,
    };
    reply_help(x, help);
}

#define CL_FLAGS (CMD_LOADING | CMD_STALE)

static const cmd_def cluster_subcommands[] = {
    {.name = "consistency", .arity = -2, .flags = CL_FLAGS | CMD_FAST, .fn = cluster_generic,
     .group = "cluster", .since = "7.0.0",
     .summary = "Show or set the read consistency of the connection (keel)",
     .complexity = "O(1)", .acl = "@fast @connection", .args = "[LINEARIZABLE|LEASE|STALE]"},
    {.name = "failover", .arity = -2, .flags = CMD_ADMIN | CL_FLAGS, .fn = cluster_generic,
     .group = "cluster", .since = "3.0.0",
     .summary = "Forces a replica to perform a manual failover of its master.",
     .complexity = "O(1)", .acl = "@admin @slow @dangerous",
     .args = "[FORCE|TAKEOVER|TO node-id]"},
    {.name = "forget", .arity = 3, .flags = CMD_ADMIN | CL_FLAGS, .fn = cluster_generic,
     .group = "cluster", .since = "3.0.0", .summary = "Remove a node from the nodes table.",
     .complexity = "O(1)", .acl = "@admin @slow @dangerous", .args = "node-id"},
    {.name = "help", .arity = 2, .flags = CL_FLAGS, .fn = cluster_help_cmd, .group = "cluster",
     .since = "5.0.0", .summary = "Show helpful text about the different subcommands",
     .complexity = "O(1)", .acl = "@slow", .args = ""},
    {.name = "info", .arity = 2, .flags = CL_FLAGS, .fn = cluster_generic, .group = "cluster",
     .since = "3.0.0", .summary = "Provides info about Redis Cluster node state",
     .complexity = "O(1)", .acl = "@slow", .args = "", .tips = "nondeterministic_output"},
    {.name = "leave", .arity = 2, .flags = CMD_ADMIN | CL_FLAGS, .fn = cluster_generic,
     .group = "cluster", .since = "7.0.0",
     .summary = "Ask the leader to remove this node from the cluster (keel)",
     .complexity = "O(1)", .acl = "@admin @slow @dangerous", .args = ""},
    {.name = "myid", .arity = 2, .flags = CL_FLAGS, .fn = cluster_generic, .group = "cluster",
     .since = "3.0.0", .summary = "Return the node id", .complexity = "O(1)", .acl = "@slow",
     .args = ""},
    {.name = "nodes", .arity = 2, .flags = CL_FLAGS, .fn = cluster_generic, .group = "cluster",
     .since = "3.0.0", .summary = "Get Cluster config for the node", .complexity = "O(N) where N is the total number of Cluster nodes",
     .acl = "@slow", .args = "", .tips = "nondeterministic_output"},
    {0},
};

const cmd_def cmd_cluster[] = {
    {.name = "cluster", .arity = -2, .flags = 0, .fn = NULL, .group = "cluster", .since = "3.0.0",
     .summary = "A container for cluster commands", .complexity = "Depends on subcommand.",
     .acl = "@slow", .subcommands = cluster_subcommands},
    {.name = "readonly", .arity = 1, .flags = CMD_FAST | CL_FLAGS, .fn = cluster_generic,
     .group = "cluster", .since = "3.0.0",
     .summary = "Enables read queries for a connection to a cluster replica node",
     .complexity = "O(1)", .acl = "@fast @connection", .args = ""},
    {.name = "readwrite", .arity = 1, .flags = CMD_FAST | CL_FLAGS, .fn = cluster_generic,
     .group = "cluster", .since = "3.0.0",
     .summary = "Disables read queries for a connection to a cluster replica node",
     .complexity = "O(1)", .acl = "@fast @connection", .args = ""},
    {0},
};
