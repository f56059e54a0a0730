/* The engine's functions that command families (MULTI/EXEC, CLIENT)
 * need; not for drivers. */
#ifndef KEEL_CORE_CMD_ENGINE_INTERNAL_H
#define KEEL_CORE_CMD_ENGINE_INTERNAL_H

#include "core/cmd/engine.h"

/* WATCH: remembers that c watches key (and whether it had already expired). */
void engine_watch_key(engine *e, client *c, const char *key, size_t len, int64_t now_ms);
/* UNWATCH, and what EXEC, DISCARD and RESET do. */
void engine_unwatch_all(engine *e, client *c);
/* True if a key c WATCHes was live at WATCH time and is expired now. */
bool engine_watched_expired(engine *e, client *c, int64_t now_ms);
/* Frees the queued commands of a transaction. */
void engine_discard_queue(client *c);
/* Runs a checked command with stats (Redis's call()). */
void engine_call(cmd_ctx *x, const cmd_entry *ce, int argc, const resp_slice *argv);
/* EXEC's body: replies with an array of the queued commands' replies. */
void engine_exec_queue(cmd_ctx *x);

#endif
