/* config: the CONFIG parameters, as a table of typed definitions.
 *
 * Each parameter is a config_def: its name (and an optional alias, as
 * hash-max-ziplist-entries is hash-max-listpack-entries'), its type, how it
 * is checked, and where its value lives: `offset` bytes into a base struct.
 * The core's own parameters live in the engine's engine_config; the driver
 * registers its own tables (port, maxclients, save, appendonly, ...) with
 * config_register(), giving the struct their offsets point into.
 *
 * Types and what a value is stored as:
 *   CONFIG_BOOL     bool          "yes" / "no"
 *   CONFIG_INT      long long     Redis's string2ll, within [min, max]
 *   CONFIG_MEMORY   long long     "64", "1gb", "5mb", "10k" (Redis's memtoull)
 *   CONFIG_STRING   char *        malloc'd, NUL-terminated; "" stores NULL
 *   CONFIG_ENUM     int           the index of the name in enum_names
 *   CONFIG_SPECIAL  (its own)     parsed and printed by set/get
 *
 * CONFIG SET of several parameters is all or nothing, as in Redis 7.0:
 * every value is parsed and stored, then each changed parameter's apply
 * hook runs; any failure puts every old value back. Error texts are
 * Redis's. */
#ifndef KEEL_CORE_CMD_CONFIG_H
#define KEEL_CORE_CMD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/cmd/engine.h"
#include "core/util/kbuf.h"

typedef enum config_type {
    CONFIG_BOOL,
    CONFIG_INT,
    CONFIG_MEMORY,
    CONFIG_STRING,
    CONFIG_ENUM,
    CONFIG_SPECIAL,
} config_type;

#define CONFIG_IMMUTABLE (1u << 0) /* CONFIG SET refuses it */
#define CONFIG_HIDDEN (1u << 1)    /* CONFIG GET patterns skip it; its exact name finds it */
#define CONFIG_SENSITIVE (1u << 2) /* the driver keeps its value out of logs */

/* Room for an error text (set, apply). */
#define CONFIG_ERR_MAX 256

typedef struct config_def {
    const char *name;  /* lower case */
    const char *alias; /* NULL, or a second name (lower case) */
    config_type type;
    unsigned flags;
    long long min, max;            /* CONFIG_INT, CONFIG_MEMORY: inclusive bounds */
    const char *const *enum_names; /* CONFIG_ENUM: NULL-terminated */
    size_t offset;                 /* the value: base + offset */
    /* CONFIG_SPECIAL: parses v (len bytes) into the value, or writes an
     * error to err and returns false; prints the value. */
    bool (*set)(engine *e, void *base, const char *v, size_t len, char *err);
    void (*get)(engine *e, void *base, kbuf *out);
    /* Optional: runs after a CONFIG SET has stored every value, if this one
     * changed. Returning false (with err) undoes the whole CONFIG SET. */
    bool (*apply)(engine *e, void *base, char *err);
} config_def;

/* Registers a NULL-name-terminated table of the driver's parameters whose
 * values live in base. Returns 0, or -1 if a name is taken or the engine
 * holds ENGINE_MAX_CONFIG_REGS tables already. The table and base must
 * outlive the engine. Strings stored in base are the driver's to free. */
int config_register(engine *e, const config_def *defs, void *base);

/* Finds a parameter by name or alias (case-insensitive). *base gets the
 * struct its value lives in; *is_alias whether name was the alias. */
const config_def *config_lookup(engine *e, const char *name, size_t len, void **base,
                                bool *is_alias);

/* Sets one parameter from text (a config file, --name value): parses,
 * stores and applies it. On failure writes Redis's reason (as CONFIG SET
 * would print it after "- ") to err and returns false. Immutable
 * parameters can be set this way (at start-up). */
bool config_set_one(engine *e, const config_def *d, void *base, const char *v, size_t len,
                    char *err);

/* Redis's memtoull: digits then an optional unit (b k kb m mb g gb, any
 * case). False on anything else or overflow. */
bool config_parse_memory_value(const char *v, size_t len, unsigned long long *out);

/* Calls fn on every parameter (the core's, then each driver table's). */
typedef void config_each_fn(void *ctx, const config_def *d, void *base);
void config_for_each(engine *e, config_each_fn *fn, void *ctx);

/* Appends the value of a parameter as CONFIG GET prints it. */
void config_get_value(engine *e, const config_def *d, void *base, kbuf *out);

#endif
