/* The HyperLogLog family: PFADD PFCOUNT PFMERGE PFSELFTEST PFDEBUG, with
 * Redis 7.0's replies, errors and stored bytes (hyperloglog.c is the
 * reference; the format lives in core/store/hll.c).
 *
 * An HLL is a string value. Every command checks it as Redis's
 * isHLLObjectOrReply does (a string, not INT-encoded, a header with the
 * magic, a known encoding, the dense length) and walks a sparse payload
 * only when it needs to: a corrupt payload gets -INVALIDOBJ then.
 *
 * Writes edit the RAW buffer in place (db_str_mutable, then
 * db_signal_modified). A sparse HLL that has to become dense is replaced
 * by a new value of exactly HLL_DENSE_SIZE bytes (db_set_str_raw, keeping
 * the TTL), so a kentry pointer is re-read after every register update.
 *
 * PFCOUNT of one key stores the estimate it computes in the header (a
 * change to the value: reported and counted, as Redis counts it in dirty),
 * so it is flagged MAY_REPLICATE like Redis's. */
#include <stdlib.h>
#include <string.h>

#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"
#include "core/store/hll.h"

/* ------------------------------------------------------------------------ */
/* Helpers */

/* hll-sparse-max-bytes (CONFIG). */
static size_t sparse_max_bytes(const cmd_ctx *x) { return (size_t)x->eng->cfg.hll_sparse_max_bytes; }

/* Redis's isHLLObjectOrReply after the type check: replies the error and
 * returns false unless e's value looks like an HLL. */
static bool check_hll(cmd_ctx *x, const kentry *e)
{
    char tmp[KSTR_TMP];
    const char *p;
    size_t len = kentry_str(e, &p, tmp);
    if (kentry_enc(e) == ENC_INT || !hll_is_valid(p, len)) {
        reply_error(x, HLL_ERR_NOT_HLL);
        return false;
    }
    return true;
}

/* The value's buffer, RAW (Redis's dbUnshareStringValue). */
static kstr *hll_buf(db *d, kentry **ep)
{
    return db_str_mutable(d, ep, 0);
}

/* Unshares the value (hll_buf) at the start of a command that may update
 * it; a sparse one gets room for an update and a zero after its end (the
 * sds terminator Redis's code may read; see hll_sparse_update). */
static kstr *hll_begin(db *d, kentry **ep)
{
    kstr *s = hll_buf(d, ep);
    if (hll_encoding(s->data) == HLL_SPARSE) {
        s = db_str_mutable(d, ep, s->len + HLL_SPARSE_SLACK);
        s->data[s->len] = 0;
    }
    return s;
}

/* Creates key as an empty sparse HLL. */
static kentry *hll_create(db *d, const resp_slice *key)
{
    uint8_t empty[HLL_SPARSE_EMPTY_SIZE];
    hll_init_sparse(empty);
    return db_set_str_raw(d, key->ptr, key->len, (const char *)empty, sizeof(empty), -1);
}

/* Replaces a sparse HLL by its dense form, keeping the TTL. False (and no
 * change) if the sparse payload is corrupt. */
static bool hll_promote(db *d, const resp_slice *key, kentry **ep)
{
    kstr *s = hll_buf(d, ep);
    uint8_t *dense = malloc(HLL_DENSE_SIZE);
    if (dense == NULL)
        abort();
    bool ok = hll_sparse_to_dense((const uint8_t *)s->data, s->len, dense);
    if (ok)
        *ep = db_set_str_raw(d, key->ptr, key->len, (const char *)dense, HLL_DENSE_SIZE,
                             kentry_deadline(*ep));
    free(dense);
    return ok;
}

/* Redis's hllSparseSet/hllDenseSet on a key: raises register index to
 * count, promoting a sparse HLL to dense when it must. Returns 1 if the
 * register changed, 0 if not, -1 if the sparse payload is corrupt. */
static int hll_set(db *d, const resp_slice *key, kentry **ep, long index, unsigned count,
                   size_t max_bytes)
{
    kstr *s = hll_buf(d, ep);
    if (hll_encoding(s->data) == HLL_SPARSE) {
        s = db_str_mutable(d, ep, s->len + HLL_SPARSE_SLACK);
        int r = hll_sparse_update((uint8_t *)s->data, &s->len, index, count, max_bytes);
        if (r != HLL_PROMOTE)
            return r;
        if (!hll_promote(d, key, ep))
            return HLL_INVALID;
        s = hll_buf(d, ep);
    }
    return hll_dense_update((uint8_t *)s->data + HLL_HDR_SIZE, index, count);
}

/* Redis compares subcommands with strcasecmp on C strings: a NUL inside
 * the argument ends it. */
static size_t cstr_len(const resp_slice *a)
{
    const char *nul = memchr(a->ptr, '\0', a->len);
    return nul ? (size_t)(nul - a->ptr) : a->len;
}

static bool sub_is(const resp_slice *a, const char *word)
{
    resp_slice s = {a->ptr, cstr_len(a)};
    return arg_is(&s, word);
}

/* ------------------------------------------------------------------------ */
/* Commands */

/* PFADD key [element ...]: :1 if the key was created or a register
 * changed, else :0. */
static void pfadd_cmd(cmd_ctx *x)
{
    const resp_slice *key = &x->argv[1];
    bool wrongtype;
    kentry *e = lookup_write(x, key, OBJ_STRING, &wrongtype);
    if (wrongtype)
        return;
    long long updated = 0;
    if (e == NULL) {
        e = hll_create(x->db, key);
        updated++;
    } else if (!check_hll(x, e)) {
        return;
    }
    hll_begin(x->db, &e);
    size_t max_bytes = sparse_max_bytes(x);
    for (int j = 2; j < x->argc; j++) {
        long index;
        int count = hll_pattern(x->argv[j].ptr, x->argv[j].len, &index);
        int r = hll_set(x->db, key, &e, index, (unsigned)count, max_bytes);
        if (r < 0) {
            /* Redis keeps the registers already raised and replies the
             * error; we also report the change (WATCH). */
            if (updated)
                db_signal_modified(x->db, key->ptr, key->len);
            reply_error(x, HLL_ERR_INVALID);
            return;
        }
        updated += r;
    }
    if (updated) {
        hll_cache_invalidate(hll_buf(x->db, &e)->data);
        db_signal_modified(x->db, key->ptr, key->len);
        cmd_dirty(x, updated);
    }
    reply_int(x, updated ? 1 : 0);
}

/* PFCOUNT key [key ...]: one key: the cached estimate, or a fresh one
 * stored in the header; several: the estimate of their union, computed in
 * a temporary and written nowhere. Missing keys count as empty. */
static void pfcount_cmd(cmd_ctx *x)
{
    bool wrongtype;
    if (x->argc > 2) {
        uint8_t *max = calloc(HLL_REGISTERS, 1);
        if (max == NULL)
            abort();
        for (int j = 1; j < x->argc; j++) {
            kentry *e = lookup_read(x, &x->argv[j], OBJ_STRING, &wrongtype);
            if (wrongtype)
                goto out;
            if (e == NULL)
                continue;
            if (!check_hll(x, e))
                goto out;
            char tmp[KSTR_TMP];
            const char *p;
            size_t len = kentry_str(e, &p, tmp);
            if (!hll_merge(max, (const uint8_t *)p, len)) {
                reply_error(x, HLL_ERR_INVALID);
                goto out;
            }
        }
        reply_int(x, (long long)hll_count_raw(max));
    out:
        free(max);
        return;
    }

    const resp_slice *key = &x->argv[1];
    kentry *e = lookup_read(x, key, OBJ_STRING, &wrongtype);
    if (wrongtype)
        return;
    if (e == NULL) {
        reply_int(x, 0);
        return;
    }
    if (!check_hll(x, e))
        return;
    kstr *s = hll_buf(x->db, &e);
    uint64_t card;
    if (hll_cache_valid(s->data)) {
        card = hll_cache_get(s->data);
    } else {
        bool invalid = false;
        card = hll_count((const uint8_t *)s->data, s->len, &invalid);
        if (invalid) {
            reply_error(x, HLL_ERR_INVALID);
            return;
        }
        hll_cache_set(s->data, card);
        db_signal_modified(x->db, key->ptr, key->len);
        cmd_dirty(x, 1);
    }
    reply_int(x, (long long)card);
}

/* PFMERGE destkey [sourcekey ...]: destkey (itself a source if it
 * exists) becomes the register-wise maximum; dense if any source was. */
static void pfmerge_cmd(cmd_ctx *x)
{
    uint8_t *max = calloc(HLL_REGISTERS, 1);
    if (max == NULL)
        abort();
    bool use_dense = false, wrongtype;
    for (int j = 1; j < x->argc; j++) {
        kentry *e = lookup_read(x, &x->argv[j], OBJ_STRING, &wrongtype);
        if (wrongtype)
            goto out;
        if (e == NULL)
            continue;
        if (!check_hll(x, e))
            goto out;
        char tmp[KSTR_TMP];
        const char *p;
        size_t len = kentry_str(e, &p, tmp);
        if (hll_encoding(p) == HLL_DENSE)
            use_dense = true;
        if (!hll_merge(max, (const uint8_t *)p, len)) {
            reply_error(x, HLL_ERR_INVALID);
            goto out;
        }
    }

    const resp_slice *key = &x->argv[1];
    kentry *e = lookup_write(x, key, -1, NULL);
    if (e == NULL)
        e = hll_create(x->db, key);
    kstr *s = hll_begin(x->db, &e);
    if (use_dense && hll_encoding(s->data) == HLL_SPARSE && !hll_promote(x->db, key, &e)) {
        reply_error(x, HLL_ERR_INVALID);
        goto out;
    }
    size_t max_bytes = sparse_max_bytes(x);
    for (long i = 0; i < HLL_REGISTERS; i++)
        if (max[i])
            hll_set(x->db, key, &e, i, max[i], max_bytes); /* as Redis: result unused */
    hll_cache_invalidate(hll_buf(x->db, &e)->data);
    db_signal_modified(x->db, key->ptr, key->len);
    cmd_dirty(x, 1);
    reply_ok(x);
out:
    free(max);
}

/* PFSELFTEST: Redis's self test, shortened (100 register cycles instead
 * of 1000, 10^6 elements instead of 10^7): dense register access against
 * a byte array, then the error of the estimate at 1, 10, ..., 10^6
 * elements, with a sparse HLL (updated through the same code as a key's)
 * and a dense one that must agree. Randomness comes from the engine's
 * PRNG. */
#define SELFTEST_CYCLES 100
#define SELFTEST_ELEMENTS 1000000
static void pfselftest_cmd(cmd_ctx *x)
{
    uint8_t *dense = calloc(HLL_DENSE_SIZE, 1);
    uint8_t *bytes = malloc(HLL_REGISTERS);
    if (dense == NULL || bytes == NULL)
        abort();
    uint8_t *regs = dense + HLL_HDR_SIZE;
    memcpy(dense, "HYLL", 4);
    db tmp;
    db_init(&tmp, x->eng->seed);

    for (int c = 0; c < SELFTEST_CYCLES; c++) {
        for (long i = 0; i < HLL_REGISTERS; i++) {
            unsigned r = (unsigned)(kprng_next(x->rng) & HLL_REGISTER_MAX);
            bytes[i] = (uint8_t)r;
            hll_dense_set(regs, i, r);
        }
        for (long i = 0; i < HLL_REGISTERS; i++) {
            unsigned v = hll_dense_get(regs, i);
            if (v != bytes[i]) {
                reply_errorf(x, "TESTFAILED Register %ld should be %d but is %u", i,
                             (int)bytes[i], v);
                goto out;
            }
        }
    }

    memset(regs, 0, HLL_DENSE_SIZE - HLL_HDR_SIZE);
    const resp_slice key = {"selftest", 8};
    kentry *e = hll_create(&tmp, &key);
    hll_begin(&tmp, &e);
    size_t max_bytes = sparse_max_bytes(x);
    const double relerr = 1.04 / 128; /* 1.04 / sqrt(16384) */
    uint64_t seed = kprng_next(x->rng), checkpoint = 1;
    for (uint64_t j = 1; j <= SELFTEST_ELEMENTS; j++) {
        uint64_t ele = j ^ seed;
        uint8_t le[8];
        for (int b = 0; b < 8; b++)
            le[b] = (uint8_t)(ele >> (8 * b));
        hll_dense_add(regs, le, sizeof(le));
        long index;
        int count = hll_pattern(le, sizeof(le), &index);
        hll_set(&tmp, &key, &e, index, (unsigned)count, max_bytes);
        if (j != checkpoint)
            continue;

        kstr *s = hll_buf(&tmp, &e);
        if (j < max_bytes / 2 && hll_encoding(s->data) != HLL_SPARSE) {
            reply_error(x, "TESTFAILED sparse encoding not used");
            goto out;
        }
        uint64_t card = hll_count(dense, HLL_DENSE_SIZE, NULL);
        if (card != hll_count((const uint8_t *)s->data, s->len, NULL)) {
            reply_error(x, "TESTFAILED dense/sparse disagree");
            goto out;
        }
        int64_t abserr = (int64_t)checkpoint - (int64_t)card;
        double bound = relerr * 6 * (double)checkpoint;
        uint64_t maxerr = (uint64_t)bound;
        if ((double)maxerr < bound)
            maxerr++; /* ceil */
        if (j == 10)
            maxerr = 1;
        if (abserr < 0)
            abserr = -abserr;
        if (abserr > (int64_t)maxerr) {
            reply_errorf(x, "TESTFAILED Too big error. card:%llu abserr:%llu",
                         (unsigned long long)checkpoint, (unsigned long long)abserr);
            goto out;
        }
        checkpoint *= 10;
    }
    reply_ok(x);
out:
    db_free(&tmp);
    free(bytes);
    free(dense);
}

/* PFDEBUG GETREG|DECODE|ENCODING|TODENSE key. The key is looked up and
 * checked before the subcommand is. */
static void pfdebug_cmd(cmd_ctx *x)
{
    const resp_slice *sub = &x->argv[1], *key = &x->argv[2];
    bool wrongtype;
    kentry *e = lookup_write(x, key, OBJ_STRING, &wrongtype);
    if (wrongtype)
        return;
    if (e == NULL) {
        reply_error(x, "The specified key does not exist");
        return;
    }
    if (!check_hll(x, e))
        return;
    kstr *s = hll_begin(x->db, &e);
    bool sparse = hll_encoding(s->data) == HLL_SPARSE;

    if (sub_is(sub, "getreg")) {
        if (sparse) {
            if (!hll_promote(x->db, key, &e)) {
                reply_error(x, HLL_ERR_INVALID);
                return;
            }
            cmd_dirty(x, 1);
            s = hll_buf(x->db, &e);
        }
        const uint8_t *regs = (const uint8_t *)s->data + HLL_HDR_SIZE;
        reply_array(x, HLL_REGISTERS);
        for (long i = 0; i < HLL_REGISTERS; i++)
            reply_int(x, hll_dense_get(regs, i));
    } else if (sub_is(sub, "decode")) {
        if (!sparse) {
            reply_error(x, "HLL encoding is not sparse");
            return;
        }
        kbuf out = KBUF_INIT;
        hll_sparse_decode((const uint8_t *)s->data, s->len, &out);
        reply_bulk(x, out.data ? out.data : "", out.len);
        kbuf_free(&out);
    } else if (sub_is(sub, "encoding")) {
        reply_simple(x, sparse ? "sparse" : "dense");
    } else if (sub_is(sub, "todense")) {
        if (sparse) {
            if (!hll_promote(x->db, key, &e)) {
                reply_error(x, HLL_ERR_INVALID);
                return;
            }
            cmd_dirty(x, 1);
        }
        reply_int(x, sparse ? 1 : 0);
    } else {
        reply_errorf(x, "Unknown PFDEBUG subcommand '%.*s'", (int)cstr_len(sub), sub->ptr);
    }
}

/* ------------------------------------------------------------------------ */
/* The table */

const cmd_def cmd_hll[] = {
    {.name = "pfadd", .arity = -2, .flags = CMD_WRITE | CMD_DENYOOM | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = pfadd_cmd, .group = "hyperloglog", .since = "2.8.9",
     .summary = "Adds the specified elements to the specified HyperLogLog.",
     .complexity = "O(1) to add every element.",
     .acl = "@write @hyperloglog @fast", .args = "key [element [element ...]]"},
    {.name = "pfcount", .arity = -2, .flags = CMD_READONLY | CMD_MAY_REPLICATE,
     .first_key = 1, .last_key = -1, .key_step = 1,
     .fn = pfcount_cmd, .group = "hyperloglog", .since = "2.8.9",
     .summary = "Return the approximated cardinality of the set(s) observed by the "
                "HyperLogLog at key(s).",
     .complexity = "O(1) with a very small average constant time when called with a single "
                   "key. O(N) with N being the number of keys, and much bigger constant "
                   "times, when called with multiple keys.",
     .acl = "@read @hyperloglog @slow", .args = "key [key ...]"},
    {.name = "pfmerge", .arity = -2, .flags = CMD_WRITE | CMD_DENYOOM,
     .first_key = 1, .last_key = -1, .key_step = 1,
     .fn = pfmerge_cmd, .group = "hyperloglog", .since = "2.8.9",
     .summary = "Merge N different HyperLogLogs into a single one.",
     .complexity = "O(N) to merge N HyperLogLogs, but with high constant times.",
     .acl = "@write @hyperloglog @slow", .args = "destkey sourcekey [sourcekey ...]"},
    {.name = "pfselftest", .arity = 1, .flags = CMD_ADMIN,
     .first_key = 0, .last_key = 0, .key_step = 0,
     .fn = pfselftest_cmd, .group = "hyperloglog", .since = "2.8.9",
     .summary = "An internal command for testing HyperLogLog values", .complexity = "N/A",
     .acl = "@hyperloglog @admin @slow @dangerous", .args = ""},
    {.name = "pfdebug", .arity = 3, .flags = CMD_WRITE | CMD_DENYOOM | CMD_ADMIN,
     .first_key = 2, .last_key = 2, .key_step = 1,
     .fn = pfdebug_cmd, .group = "hyperloglog", .since = "2.8.9",
     .summary = "Internal commands for debugging HyperLogLog values", .complexity = "N/A",
     .acl = "@write @hyperloglog @admin @slow @dangerous", .args = "subcommand key"},
    {0},
};
