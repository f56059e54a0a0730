/* info: the INFO command, the hook through which the driver adds what only
 * it knows (memory, CPU, ports, buffers, persistence jobs), and the
 * introspection entry points that server.c's table references (COMMAND,
 * CONFIG).
 *
 * INFO prints Redis 7.0's sections in Redis's order with "# Header" lines
 * and \r\n endings: server, clients, memory, persistence, stats,
 * replication, cpu, modules, commandstats, errorstats, latencystats,
 * cluster, keyspace; then the driver's own sections. The core writes the
 * fields it owns; after them, for every section it prints, it calls the
 * provider's fields() so the driver can append its own "name:value\r\n"
 * lines (used_memory, used_cpu_user, tcp_port, maxclients, ...). */
#ifndef KEEL_CORE_CMD_INFO_H
#define KEEL_CORE_CMD_INFO_H

#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"
#include "core/util/kbuf.h"

typedef struct info_provider {
    void *ctx;
    /* Appends the driver's lines for section (lower case: "server",
     * "memory", ..., or one of its own sections). May be NULL. */
    void (*fields)(void *ctx, const engine *e, const char *section, kbuf *out);
    /* The driver's own sections (lower case, NULL-terminated; NULL for
     * none): printed after the core's by INFO all/everything or when
     * named, under "# Name" (the name with its first letter upper-cased). */
    const char *const *sections;
    /* CONFIG RESETSTAT: clear the driver's own counters. May be NULL. */
    void (*reset)(void *ctx, engine *e);
} info_provider;

/* The whole INFO text for the given section arguments (as INFO's argv
 * after the command name), as the INFO command replies it. */
void info_generate(engine *e, int argc, const resp_slice *argv, int64_t now_ms, kbuf *out);

/* The INFO command. */
void info_cmd(cmd_ctx *x);

/* COMMAND and its subcommands (command.c). */
void command_cmd(cmd_ctx *x);
extern const cmd_def command_subcommands[];

/* CONFIG's subcommands (config.c). */
extern const cmd_def config_subcommands[];

#endif
