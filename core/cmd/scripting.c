/* Scripting: keel runs no scripts (no EVAL, no functions). FUNCTION exists
 * with the subcommands that make sense without any function loaded, so
 * clients and tools that reset or inspect functions (Redis's own test
 * suite sends FUNCTION FLUSH on every test) work: FLUSH, LIST, STATS, HELP.
 * LOAD, DELETE, DUMP, RESTORE and KILL are unknown subcommands. */
#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"

static void function_flush_cmd(cmd_ctx *x)
{
    if (x->argc > 3) {
        reply_errorf(x, "unknown subcommand or wrong number of arguments for '%.*s'. Try FUNCTION HELP.",
                     (int)x->argv[1].len, x->argv[1].ptr);
        return;
    }
    if (x->argc == 3 && !arg_is(&x->argv[2], "sync") && !arg_is(&x->argv[2], "async")) {
        reply_error(x, "FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    cmd_dirty(x, 1);
    reply_ok(x);
}

static void function_list_cmd(cmd_ctx *x)
{
    bool withcode = false, libname = false;
    for (int j = 2; j < x->argc; j++) {
        if (!withcode && arg_is(&x->argv[j], "withcode")) {
            withcode = true;
        } else if (!libname && arg_is(&x->argv[j], "libraryname")) {
            if (j + 1 >= x->argc) {
                reply_error(x, "library name argument was not given");
                return;
            }
            libname = true;
            j++;
        } else {
            reply_errorf(x, "Unknown argument %.*s", (int)x->argv[j].len, x->argv[j].ptr);
            return;
        }
    }
    reply_array(x, 0);
}

static void function_stats_cmd(cmd_ctx *x)
{
    /* Redis's shape: running_script nil, engines {LUA: counts}, maps. */
    reply_map(x, 2);
    reply_bulk_cstr(x, "running_script");
    reply_null(x);
    reply_bulk_cstr(x, "engines");
    reply_map(x, 1);
    reply_bulk_cstr(x, "LUA");
    reply_map(x, 2);
    reply_bulk_cstr(x, "libraries_count");
    reply_int(x, 0);
    reply_bulk_cstr(x, "functions_count");
    reply_int(x, 0);
}

static void function_help_cmd(cmd_ctx *x)
{
    static const char *const lines[] = {
        "FLUSH [ASYNC|SYNC]",
        "    keel runs no scripts: there are never functions to delete.",
        "LIST [WITHCODE] [LIBRARYNAME <pattern>]",
        "    Always an empty list.",
        "STATS",
        "    No script is ever running.",
        NULL,
    };
    reply_help(x, lines);
}

static const cmd_def function_subcommands[] = {
    {.name = "flush", .arity = -2, .flags = CMD_NOSCRIPT | CMD_WRITE, .fn = function_flush_cmd,
     .group = "scripting", .since = "7.0.0", .summary = "Deleting all functions",
     .complexity = "O(N) where N is the number of functions deleted",
     .acl = "@write @slow @scripting", .args = "[ASYNC|SYNC]",
     .tips = "request_policy:all_shards response_policy:all_succeeded"},
    {.name = "list", .arity = -2, .flags = CMD_NOSCRIPT, .fn = function_list_cmd,
     .group = "scripting", .since = "7.0.0", .summary = "List information about all the functions",
     .complexity = "O(N) where N is the number of functions",
     .acl = "@slow @scripting", .args = "[LIBRARYNAME library-name-pattern] [WITHCODE]",
     .tips = "nondeterministic_output_order"},
    {.name = "stats", .arity = 2, .flags = CMD_NOSCRIPT | CMD_ALLOW_BUSY, .fn = function_stats_cmd,
     .group = "scripting", .since = "7.0.0",
     .summary = "Return information about the function currently running (name, description, duration)",
     .complexity = "O(1)", .acl = "@slow @scripting", .args = "",
     .tips = "nondeterministic_output request_policy:all_shards response_policy:special"},
    {.name = "help", .arity = 2, .flags = CMD_LOADING | CMD_STALE, .fn = function_help_cmd,
     .group = "scripting", .since = "7.0.0", .summary = "Show helpful text about the different subcommands",
     .complexity = "O(1)", .acl = "@slow @scripting", .args = ""},
    {0},
};

const cmd_def cmd_scripting[] = {
    {.name = "function", .arity = -2, .group = "scripting", .since = "7.0.0",
     .summary = "A container for function commands", .complexity = "Depends on subcommand.",
     .acl = "@slow", .args = "", .subcommands = function_subcommands},
    {0},
};
