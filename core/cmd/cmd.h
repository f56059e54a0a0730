/* cmd: the command table's shape, the context a handler runs in, and the
 * reply helpers every handler uses.
 *
 * Each command family defines a NULL-name-terminated array of cmd_def
 * (core/cmd/<family>.c) and the engine builds its lookup from all of them
 * (cmd_families[] in table.c). A cmd_def is data: name, arity, flags, key
 * positions, documentation, handler. It feeds COMMAND, COMMAND INFO|DOCS|
 * GETKEYS|COUNT|LIST, the dispatcher's arity check, and later the router
 * that sends each key to its shard.
 *
 * A handler gets a cmd_ctx: the engine, the calling client, argv, the
 * time of the command (wall ms, the leader's time once replicated: never
 * read a clock), and the engine's PRNG. It writes exactly one reply (which
 * may be an array) with the reply helpers below. */
#ifndef KEEL_CORE_CMD_CMD_H
#define KEEL_CORE_CMD_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/resp/parser.h"
#include "core/resp/writer.h"
#include "core/store/db.h"
#include "core/util/kbuf.h"
#include "core/util/prng.h"

struct engine;
struct client;
struct cmd_ctx;

/* Flags, with Redis's names (COMMAND INFO prints them). */
#define CMD_WRITE (1ULL << 0)
#define CMD_READONLY (1ULL << 1)
#define CMD_DENYOOM (1ULL << 2)
#define CMD_MODULE (1ULL << 3)
#define CMD_ADMIN (1ULL << 4)
#define CMD_PUBSUB (1ULL << 5)
#define CMD_NOSCRIPT (1ULL << 6)
#define CMD_BLOCKING (1ULL << 8)
#define CMD_LOADING (1ULL << 9)
#define CMD_STALE (1ULL << 10)
#define CMD_SKIP_MONITOR (1ULL << 11)
#define CMD_SKIP_SLOWLOG (1ULL << 12)
#define CMD_ASKING (1ULL << 13)
#define CMD_FAST (1ULL << 14)
#define CMD_NO_AUTH (1ULL << 15)
#define CMD_MAY_REPLICATE (1ULL << 16)
#define CMD_SENTINEL (1ULL << 17)
#define CMD_ONLY_SENTINEL (1ULL << 18)
#define CMD_NO_MANDATORY_KEYS (1ULL << 19)
#define CMD_PROTECTED (1ULL << 20)
#define CMD_MODULE_GETKEYS (1ULL << 21)
#define CMD_MODULE_NO_CLUSTER (1ULL << 22)
#define CMD_NO_ASYNC_LOADING (1ULL << 23)
#define CMD_NO_MULTI (1ULL << 24)
#define CMD_MOVABLE_KEYS (1ULL << 25)
#define CMD_ALLOW_BUSY (1ULL << 26)

typedef void cmd_fn(struct cmd_ctx *x);

/* For commands whose keys are not (first, last, step): fills keys[] with
 * the argv indexes of the keys (at most argc), returns how many. */
typedef int cmd_getkeys_fn(int argc, const resp_slice *argv, int *keys);

typedef struct cmd_def {
    const char *name;  /* lower case; a subcommand's own name ("get") */
    int arity;         /* Redis's: N exact, -N at least N (name included) */
    uint64_t flags;
    int first_key, last_key, key_step; /* argv indexes; last -1 = last arg */
    cmd_fn *fn;        /* NULL for a container (CONFIG, CLIENT, ...) */
    const char *group;      /* "string", "hash", "generic", "server", ... */
    const char *since;      /* "1.0.0" */
    const char *summary;
    const char *complexity;
    const char *acl;        /* ACL categories, space separated: "@write @string @slow" */
    const char *args;       /* argument syntax for COMMAND DOCS and HELP:
                             * "key value [NX|XX] [GET] [EX seconds|PX milliseconds]" */
    const struct cmd_def *subcommands; /* containers: NULL-name-terminated */
    cmd_getkeys_fn *getkeys;           /* CMD_MOVABLE_KEYS commands */
    const char *tips;       /* COMMAND INFO tips, space separated, Redis's:
                             * "nondeterministic_output request_policy:all_shards" */
} cmd_def;

/* The families, each defined in its own file. */
extern const cmd_def cmd_string[];
extern const cmd_def cmd_bits[];
extern const cmd_def cmd_hash[];
extern const cmd_def cmd_keys[];
extern const cmd_def cmd_server[];
extern const cmd_def cmd_conn[];
extern const cmd_def cmd_multi[];
extern const cmd_def cmd_scripting[];
extern const cmd_def cmd_list[]; /* core/cmd/list.c */
extern const cmd_def cmd_set[];  /* core/cmd/set.c */
extern const cmd_def cmd_zset[]; /* core/cmd/zset.c */
extern const cmd_def cmd_blocking[]; /* core/cmd/blocking.c */
extern const cmd_def cmd_hll[];  /* core/cmd/hll.c */
extern const cmd_def cmd_sort[]; /* core/cmd/sort.c */
extern const cmd_def cmd_dump[]; /* core/cmd/dump.c */
extern const cmd_def cmd_cluster[]; /* core/cmd/clustercmd.c */

/* Per-command statistics (INFO commandstats / errorstats). */
typedef struct cmd_stats {
    uint64_t calls;
    uint64_t failed_calls;   /* ran and replied with an error */
    uint64_t rejected_calls; /* refused before running (arity, auth, ...) */
    uint64_t usec;           /* measured with the driver's clock (engine.clock_us) */
    struct lathist *lat;     /* latency histogram; allocated on the first timed call */
} cmd_stats;

/* A command as the engine knows it: the definition plus its stats. */
typedef struct cmd_entry {
    const cmd_def *def;
    const struct cmd_entry *parent; /* container, for subcommands */
    char fullname[48];              /* "get", "config|get" */
    cmd_stats stats;
    struct cmd_entry *subs;         /* container's subcommands */
    int nsubs;
} cmd_entry;

typedef struct cmd_ctx {
    struct engine *eng;
    struct client *cl;
    db *db;
    kbuf *out;
    int argc;
    const resp_slice *argv;
    int64_t now_ms;
    kprng *rng;
    const cmd_entry *cmd;
    bool failed; /* an error reply was written */
} cmd_ctx;

/* ---- replies (all go to x->out) ---- */
void reply_ok(cmd_ctx *x);
void reply_simple(cmd_ctx *x, const char *s);
/* An error: text without "-ERR " gets it; "-CODE text" keeps its code.
 * Counted in errorstats and the command's failed_calls. */
void reply_error(cmd_ctx *x, const char *msg);
void reply_errorf(cmd_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_int(cmd_ctx *x, long long v);
void reply_bulk(cmd_ctx *x, const void *p, size_t len);
void reply_bulk_cstr(cmd_ctx *x, const char *s);
void reply_bulk_ll(cmd_ctx *x, long long v);
/* A double as Redis's addReplyDouble (ZSCORE...): integers in (-2^52,
 * 2^52) without a fraction, "%.17g" otherwise, "inf"/"-inf"; a bulk
 * string in RESP2, a double (",3.5") in RESP3. */
void reply_double(cmd_ctx *x, double v);
/* A long double as INCRBYFLOAT/HINCRBYFLOAT reply it: Redis's ld2string in
 * human mode ("%.17Lf" with trailing zeros and point dropped). */
void reply_long_double(cmd_ctx *x, long double v);
/* The text of those two replies, for storing the value: returns length;
 * buf holds at least FMT_LD_MAX bytes. 0 if it does not fit. */
#define FMT_LD_MAX 5120
size_t fmt_long_double(char *buf, size_t cap, long double v);
size_t fmt_double(char *buf, size_t cap, double v);
void reply_null(cmd_ctx *x);
void reply_array(cmd_ctx *x, long long n);
void reply_null_array(cmd_ctx *x);
size_t reply_array_deferred(cmd_ctx *x);
void reply_set_array_deferred(cmd_ctx *x, size_t mark, long long n);
/* The value of a string entry as a bulk reply. */
void reply_entry_str(cmd_ctx *x, const kentry *e);

/* ---- RESP3 ----
 * The calling client's protocol (2, or 3 after HELLO 3) decides how these
 * are written, each as Redis 7.0 writes it (RESP2 fallback in brackets).
 * reply_null and reply_null_array are "_" in RESP3; reply_double is
 * ",<repr>" (a bulk string in RESP2); reply_long_double stays a bulk
 * string in both, as Redis's INCRBYFLOAT/HINCRBYFLOAT replies. */
int reply_proto(const cmd_ctx *x); /* 2 or 3 */
/* n key/value pairs follow (a flat array of 2n). */
void reply_map(cmd_ctx *x, long long n);
/* n elements follow (an array). */
void reply_set(cmd_ctx *x, long long n);
void reply_bool(cmd_ctx *x, bool v); /* #t / #f (:1 / :0) */
/* Text with a three-letter format ("txt"): =len\r\ntxt:... (bulk). */
void reply_verbatim(cmd_ctx *x, const void *p, size_t len, const char *ext);
/* A big number's decimal digits: (digits (bulk). */
void reply_bignum(cmd_ctx *x, const char *num, size_t len);
/* RESP3 only: n attribute pairs describing the reply that follows them,
 * and push data. Check reply_proto(x) >= 3 first (Redis asserts). */
void reply_attribute(cmd_ctx *x, long long n);
void reply_push(cmd_ctx *x, long long n);
/* Map and set headers whose count is known later: reserve with
 * reply_array_deferred(), fill in with these (pairs for a map). */
void reply_set_map_deferred(cmd_ctx *x, size_t mark, long long n);
void reply_set_set_deferred(cmd_ctx *x, size_t mark, long long n);
/* A HELP reply as Redis's addReplyHelp: "<ARGV0> <subcommand> ..." header,
 * the NULL-terminated lines, then HELP's own two lines. */
void reply_help(cmd_ctx *x, const char *const *lines);

/* Shared error texts (Redis 7.0's, to the letter). */
#define ERR_WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_SYNTAX "syntax error"
#define ERR_NOT_INT "value is not an integer or out of range"
#define ERR_NOT_FLOAT "value is not a valid float"
#define ERR_OVERFLOW "increment or decrement would overflow"
#define ERR_NO_SUCH_KEY "no such key"
#define ERR_OUT_OF_RANGE "index out of range"
#define ERR_BIT_OFFSET "bit offset is not an integer or out of range"
#define ERR_STRING_TOO_LONG "string exceeds maximum allowed size (proto-max-bulk-len)"

/* ---- argument helpers ---- */
/* Case-insensitive comparison of an argument with a lower-case word. */
bool arg_is(const resp_slice *a, const char *word);
/* Redis's getLongLongFromObject: string2ll rules. On failure replies with
 * ERR_NOT_INT (or msg if not NULL) and returns false. */
bool arg_ll(cmd_ctx *x, const resp_slice *a, long long *out, const char *msg);
/* A SCAN-family cursor as Redis's parseScanCursorOrReply: strtoul over the
 * argument as a C string (it ends at a NUL; no leading space; "+5" is 5;
 * "-1" wraps; "" is 0; overflow refused). Replies "invalid cursor" and
 * returns false otherwise. */
bool arg_scan_cursor(cmd_ctx *x, const resp_slice *a, uint64_t *out);
/* HSCAN/SSCAN/ZSCAN's options from argv[first]: COUNT (>= 1, default 10)
 * and MATCH ("*" gives NULL: no filter). Replies the error and returns
 * false on a bad option. */
bool arg_scan_options(cmd_ctx *x, int first, long long *count, const resp_slice **pat);
/* HSCAN/SSCAN/ZSCAN's start, in Redis's order: the cursor, the key (of
 * type), then the options. The key's entry; NULL when the reply is already
 * written (an error, or a missing key's empty page "0" []). */
kentry *scan_key_begin(cmd_ctx *x, int type, uint64_t *cursor, long long *count,
                       const resp_slice **pat);
/* Redis's genericGetKeys for commands with a numkeys argument: numkeys at
 * argv[count_idx] read as atoi reads it, keys from argv[first_idx], plus
 * argv[store_idx] when store_idx is not 0. No keys when numkeys is out of
 * range (the command itself then replies with the error). */
int cmd_numkeys_getkeys(int argc, const resp_slice *argv, int count_idx, int first_idx,
                        int store_idx, int *keys);
/* a * b for non-negative a and b, saturating at LLONG_MAX. */
long long sat_mul(long long a, long long b);
/* A long double as Redis's getLongDoubleFromObject (strtold, no spaces,
 * no NaN). On failure replies ERR_NOT_FLOAT (or msg) and returns false. */
bool arg_ld(cmd_ctx *x, const resp_slice *a, long double *out, const char *msg);
/* A double as Redis's getDoubleFromObject. */
bool arg_double(cmd_ctx *x, const resp_slice *a, double *out, const char *msg);

/* Looks up a key for reading/writing (lazy expiry, stats) and checks its
 * type: returns the entry, NULL if absent; on a type mismatch replies
 * WRONGTYPE, sets *wrongtype and returns NULL. */
kentry *lookup_read(cmd_ctx *x, const resp_slice *key, int type, bool *wrongtype);
kentry *lookup_write(cmd_ctx *x, const resp_slice *key, int type, bool *wrongtype);

/* MEMORY USAGE's estimate of the bytes a key takes (the same on every
 * replica: computed, not asked of the allocator). Eviction uses it too. */
size_t key_memory_usage(const kentry *e);

/* Counts a change to the dataset (the `dirty` counter behind
 * rdb_changes_since_last_save and, later, replication). */
void cmd_dirty(cmd_ctx *x, long long n);

#endif
