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

/* SWAPDB: touches the keys WATCHed in either database as Redis 7.0's
 * touchAllWatchedKeysInDb (an expired key replaced by nothing or by another
 * expired key is no change), swaps the keys, and marks the keys clients
 * wait on in either database ready. */
void engine_swapdb(engine *e, int a, int b, int64_t now_ms);
/* Marks every key clients wait on in database dbid ready. */
void engine_block_signal_db(engine *e, int dbid);

/* Blocking (core/cmd/blocking.c): a write to (db, key) may serve clients
 * waiting on it; the engine serves them after each command. */
void engine_block_signal(engine *e, int dbid, const char *key, size_t len);
void engine_serve_ready(engine *e, int64_t now_ms);
/* c is being freed: out of every wait and queue, no reply. */
void engine_unblock_client_freed(engine *e, client *c);
void engine_blocking_free(engine *e);

#endif
