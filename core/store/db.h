/* db: the keyspace. Keys, typed values, expiry, lookups with lazy expiry,
 * the active expire cycle, SCAN, RANDOMKEY, FLUSH.
 *
 * One allocation per key (a kentry): a 24-byte header, the TTL block when
 * the key has one, the value word (unless the value is embedded), the key's
 * bytes, and a short string value's bytes (EMBSTR). So a 16-byte key with a
 * 16-byte value takes one 56-byte allocation plus its bucket slot.
 *
 * Entries move: changing a key's value or adding or removing its TTL may
 * reallocate the entry. Functions that can do so take `kentry **` and update
 * the caller's pointer; a kentry pointer is otherwise valid only until the
 * next write to the db.
 *
 * Time is never read here: every call that can expire a key takes the
 * current wall time in milliseconds. Randomness comes from a kprng passed
 * in. The same calls give the same db, bit for bit. */
#ifndef KEEL_CORE_STORE_DB_H
#define KEEL_CORE_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/store/dict.h"
#include "core/util/prng.h"

/* Types and encodings use Redis's numbers and names (OBJECT ENCODING). */
enum obj_type { OBJ_STRING = 0, OBJ_LIST = 1, OBJ_SET = 2, OBJ_ZSET = 3, OBJ_HASH = 4 };
enum obj_enc {
    ENC_RAW = 0,
    ENC_INT = 1,
    ENC_HASHTABLE = 2,
    ENC_INTSET = 6,
    ENC_SKIPLIST = 7,
    ENC_EMBSTR = 8,
    ENC_QUICKLIST = 9,
    ENC_LISTPACK = 11,
};
const char *obj_type_name(int type); /* "string", "hash", ... */
const char *obj_enc_name(int enc);   /* "raw", "embstr", "listpack", ... */

/* Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT. */
#define STR_EMBSTR_MAX 44
/* Longest string value (Redis's proto-max-bulk-len default; SETRANGE,
 * APPEND and SETBIT refuse to grow a string past it). */
#define STR_MAX_LEN (512LL * 1024 * 1024)

/* A heap string, the value of a RAW string key. */
typedef struct kstr {
    size_t len;
    size_t cap;
    char data[];
} kstr;

kstr *kstr_new(const char *p, size_t len);
/* Makes room for len bytes in total (keeps the data); may move. */
kstr *kstr_reserve(kstr *s, size_t len);

typedef struct kentry kentry;

/* What the db may need from a type's implementation. Each type registers
 * its functions in obj_ops[] (db.c). */
typedef struct obj_ops {
    void (*free)(void *obj);
    void *(*dup)(const void *obj);
    size_t (*len)(const void *obj); /* elements, for INFO/DEBUG and empty checks */
} obj_ops;

/* Called with every key that a write changes (WATCH). `how` says whether
 * the key's value changed or the key went away (deleted or expired); the
 * call comes before the entry is freed. */
enum { DB_MOD_CHANGED = 0, DB_MOD_DELETED = 1, DB_MOD_EXPIRED = 2 };
typedef void db_modified_fn(void *ctx, int dbid, const char *key, size_t len, int how);

typedef struct db_stats {
    uint64_t hits;
    uint64_t misses;
    uint64_t expired;      /* keys removed because their deadline passed */
    uint64_t expire_cycle_samples;
} db_stats;

typedef struct db {
    dict keys;
    dict expires; /* the keys that have a TTL */
    db_stats stats;
    uint32_t lru_clock; /* seconds; set by db_set_clock, stamped on access */
    db_modified_fn *on_modified;
    void *hook_ctx;
    /* Not NULL and true: an expired key reads as absent but is not deleted
     * (a log decides when deletions happen; see engine.log_expiry). */
    const bool *keep_expired;
    int id; /* the database number (SELECT), for the hook */
} db;

void db_init(db *d, uint64_t seed);
void db_free(db *d); /* frees every entry and value */

static inline uint64_t db_size(const db *d) { return dict_size(&d->keys); }
static inline uint64_t db_expires_count(const db *d) { return dict_size(&d->expires); }

/* The LRU clock (seconds) stamped on keys as they are accessed. */
void db_set_clock(db *d, int64_t now_ms);

/* ---- entries ---- */
const char *kentry_key(const kentry *e);
size_t kentry_klen(const kentry *e);
int kentry_type(const kentry *e);
int kentry_enc(const kentry *e);
/* Absolute deadline in ms, or -1 when the key has no TTL. */
int64_t kentry_deadline(const kentry *e);
/* Seconds since the key was last accessed, by the db's LRU clock. */
uint32_t kentry_idle(const db *d, const kentry *e);

/* A string value's bytes, whatever its encoding. INT values are rendered
 * into tmp (KSTR_TMP bytes). */
#define KSTR_TMP 24
size_t kentry_str(const kentry *e, const char **p, char tmp[KSTR_TMP]);
/* The long long held by an INT-encoded string value. */
long long kentry_int(const kentry *e);
/* The object of a non-string value (hash, list, set, zset). */
void *kentry_obj(const kentry *e);
/* Replaces the object of a non-string value (the old one is not freed). */
void kentry_set_obj(kentry *e, void *obj, int enc);

/* ---- lookups: a key past its deadline at now_ms is deleted and absent ---- */
kentry *db_find(db *d, const char *key, size_t len, int64_t now_ms);
/* As db_find, and counts keyspace hits/misses and stamps the LRU clock. */
kentry *db_find_read(db *d, const char *key, size_t len, int64_t now_ms);
/* As db_find, and stamps the LRU clock. */
kentry *db_find_write(db *d, const char *key, size_t len, int64_t now_ms);
/* True if the key exists and is past its deadline (no side effects). */
bool db_is_expired(const kentry *e, int64_t now_ms);

/* ---- writes: each reports the key to on_modified ---- */

/* Sets key to a string (creating or overwriting a key of any type), encoded
 * as Redis would: INT if it is a canonical long long of at most 20 chars,
 * EMBSTR up to 44 bytes, RAW above. deadline_ms -1 for no TTL. */
kentry *db_set_str(db *d, const char *key, size_t klen, const char *v, size_t vlen,
                   int64_t deadline_ms);
/* Same, forcing the RAW encoding (values built by APPEND, SETRANGE...). */
kentry *db_set_str_raw(db *d, const char *key, size_t klen, const char *v, size_t vlen,
                       int64_t deadline_ms);
/* Same, never INT: EMBSTR up to 44 bytes, RAW above (Redis's
 * createStringObject, as INCRBYFLOAT stores its result). */
kentry *db_set_str_noint(db *d, const char *key, size_t klen, const char *v, size_t vlen,
                         int64_t deadline_ms);
/* Sets key to an INT-encoded string. */
kentry *db_set_int(db *d, const char *key, size_t klen, long long v, int64_t deadline_ms);
/* Sets key to an object of another type (the db takes ownership). */
kentry *db_set_obj(db *d, const char *key, size_t klen, int type, int enc, void *obj,
                   int64_t deadline_ms);

/* Turns a string value into RAW (if it is not) and returns its buffer with
 * room for at least min_len bytes; the caller edits data and len. May move
 * *e. Does not report the change: call db_signal_modified after editing. */
kstr *db_str_mutable(db *d, kentry **e, size_t min_len);

/* Deletes the key; returns false if it was not there (expired counts as
 * not there). */
bool db_delete(db *d, const char *key, size_t len, int64_t now_ms);
/* Deletes an entry found by a lookup (also: a key whose value became
 * empty, as when HDEL removes the last field). */
void db_delete_entry(db *d, kentry *e);

/* Sets (deadline >= 0) or removes (-1) the key's TTL. May move *e. */
void db_set_deadline(db *d, kentry **e, int64_t deadline_ms);

/* Moves the value of *src to key dst (replacing any dst), keeping the TTL.
 * Frees src; returns the new entry. */
kentry *db_rename(db *d, kentry *src, const char *dst, size_t dlen);
/* As db_rename, into another database `to` (MOVE): the value is moved,
 * not copied. */
kentry *db_move(db *d, kentry *src, db *to, const char *dst, size_t dlen);
/* Copies the value of src (deeply) to key dst, which must not exist. Used
 * across databases too (COPY ... DB n): d is the destination. */
kentry *db_copy(db *d, const kentry *src, const char *dst, size_t dlen);

/* Reports a change made in place (a hash field set, a string edited). */
void db_signal_modified(db *d, const char *key, size_t len);

/* Deletes every key (each watched key is reported). */
void db_flush(db *d);

/* SWAPDB: exchanges the keys (and their TTLs) of two databases; ids, hooks
 * and stats stay where they are. Reports nothing (the caller does). */
void db_swap(db *a, db *b);

/* ---- iteration ---- */
/* A random live key, or NULL: like Redis's RANDOMKEY, expired keys met on
 * the way are deleted. */
kentry *db_random(db *d, kprng *r, int64_t now_ms);

/* A random entry, live or not (eviction's sampling): of every key, or of
 * the keys with a TTL when with_ttl. NULL when there is none. */
kentry *db_sample(db *d, kprng *r, bool with_ttl);

/* One SCAN step over the keys; fn sees live keys only (expired ones met
 * are deleted after the step). Returns the next cursor. */
typedef void db_scan_fn(void *ctx, kentry *e);
uint64_t db_scan(db *d, uint64_t cursor, db_scan_fn *fn, void *ctx, int64_t now_ms);

/* Every entry, in table order (snapshots, DEBUG, tests). fn must not
 * change the db. */
void db_for_each(db *d, db_scan_fn *fn, void *ctx);

/* The active expire cycle, as Redis's: sample up to 20 keys with a TTL at
 * random (with r), delete the expired ones, and go on while more than 10%
 * of a sample had expired, up to max_loops samples. Returns the number of
 * keys deleted. */
uint64_t db_active_expire(db *d, kprng *r, int64_t now_ms, int max_loops);

/* Moves a bounded number of buckets in any rehash in progress (the tick's
 * share of incremental rehashing). */
void db_rehash_step(db *d, int buckets);

/* Checks invariants (both dicts, TTL flags vs the expires dict). */
bool db_check(const db *d);

/* Registered by each type's implementation (NULL for types not built yet). */
extern const obj_ops *const obj_ops_by_type[5];

#endif
