/* blocking: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP,
 * and the engine's bookkeeping of clients blocked on keys.
 *
 * A blocking command first tries to serve itself at once, exactly as its
 * non-blocking twin (LPOP, LMOVE, LMPOP, ZPOPMIN, ZMPOP) would; only when
 * every key is empty does the client block. It then waits, in arrival
 * order, on each of its keys. Any write to a key someone waits on marks
 * the key ready; after the command that wrote it (a whole EXEC counts as
 * one), the engine serves the ready keys in the order they were marked,
 * each to its waiting clients first come first served while the key has
 * something for them, by running the non-blocking twin for that key on
 * the waiting client's behalf. A served client's reply goes to its own
 * output buffer (client.out, the driver's) and the client is queued for
 * the driver (engine_next_unblocked) to send the reply and go on with the
 * commands it had pipelined behind the blocking one.
 *
 * Everything is ordered by arrival and by the writes: no clock, no
 * address decides who is served. Timeouts are deadlines in wall ms, the
 * command's own time plus the timeout; the driver's timer events call
 * engine_block_timeouts(), and engine_next_block_deadline() tells it when.
 *
 * Replicated (a later issue), the serving pop is applied on every replica
 * in the same order because it happens inside the apply of the write that
 * made the key ready. */
#include "core/cmd/engine.h"
#include "core/cmd/engine_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/store/list.h"
#include "core/store/types.h"
#include "core/store/zset.h"

enum { BLOCK_LIST = 1, BLOCK_ZSET = 2 };

/* Serves client x->cl from key argv[idx]: writes its reply. */
typedef void serve_fn(cmd_ctx *x, const resp_slice *key);

/* A key clients wait on: (db, key) -> its waiters in arrival order. */
typedef struct bkey {
    dict_node node;
    client **clients;
    int n, cap;
    bool ready; /* queued in the ready list */
    int dbid;
    size_t klen; /* of k: 4 bytes of db id, then the key */
    char k[];
} bkey;

typedef struct block_state {
    int kind;
    int dbid;
    int64_t deadline_ms; /* -1: no timeout */
    uint64_t seq;        /* arrival order */
    serve_fn *serve;
    int argc;
    resp_slice *argv; /* the command, copied: one allocation */
    int nkeys;
    int *keys;        /* argv indexes of the keys waited on */
} block_state;

typedef struct ready_key {
    int dbid;
    size_t len;
    char *key;
} ready_key;

struct blocking {
    dict keys;          /* bkey */
    ready_key *ready;
    int nready, capready;
    client **blocked;   /* in arrival order */
    int nblocked, capblocked;
    client **unblocked; /* served or timed out, for the driver */
    int nunblocked, capunblocked, unblocked_head;
    uint64_t next_seq;
    bool serving;
};

#define GROW(arr, n, cap)                                                                      \
    do {                                                                                       \
        if ((n) == (cap)) {                                                                    \
            (cap) = (cap) ? (cap) * 2 : 8;                                                     \
            (arr) = realloc((arr), (size_t)(cap) * sizeof(*(arr)));                            \
            if ((arr) == NULL)                                                                 \
                abort();                                                                       \
        }                                                                                      \
    } while (0)

static void bkey_key(const dict_node *n, const char **k, size_t *len)
{
    const bkey *b = (const bkey *)n;
    *k = b->k;
    *len = b->klen;
}

static const dict_type bkey_type = {.key = bkey_key};

static struct blocking *blk(engine *e)
{
    if (e->blk == NULL) {
        e->blk = calloc(1, sizeof(*e->blk));
        if (e->blk == NULL)
            abort();
        /* Seeded from the node's seed without drawing from its PRNG, so
         * blocking does not shift anything else that is random. */
        dict_init(&e->blk->keys, &bkey_type, e->seed ^ 0x6a09e667f3bcc909ULL);
    }
    return e->blk;
}

/* (db, key) as the dict's key, in a caller's buffer or a malloc'd one. */
static char *compose(int dbid, const char *key, size_t len, char *buf, size_t cap, size_t *out)
{
    *out = 4 + len;
    char *p = *out <= cap ? buf : malloc(*out);
    if (p == NULL)
        abort();
    uint32_t id = (uint32_t)dbid;
    memcpy(p, &id, 4);
    if (len)
        memcpy(p + 4, key, len);
    return p;
}

static bkey *find_bkey(struct blocking *b, int dbid, const char *key, size_t len)
{
    char buf[256];
    size_t kl;
    char *k = compose(dbid, key, len, buf, sizeof(buf), &kl);
    bkey *bk = (bkey *)dict_find(&b->keys, k, kl);
    if (k != buf)
        free(k);
    return bk;
}

uint64_t engine_blocked_clients(const engine *e) { return e->blk ? (uint64_t)e->blk->nblocked : 0; }

bool engine_client_blocked(const client *c) { return c->block != NULL; }

/* ------------------------------------------------------------------------ */
/* Blocking and unblocking */

static void engine_block(cmd_ctx *x, int kind, const int *keys, int nkeys, int64_t deadline,
                         serve_fn *serve)
{
    engine *e = x->eng;
    struct blocking *b = blk(e);
    client *c = x->cl;
    block_state *bs = calloc(1, sizeof(*bs));
    if (bs == NULL)
        abort();
    bs->kind = kind;
    bs->dbid = c->db;
    bs->deadline_ms = deadline;
    bs->seq = b->next_seq++;
    bs->serve = serve;
    size_t bytes = 0;
    for (int i = 0; i < x->argc; i++)
        bytes += x->argv[i].len;
    bs->argv = malloc((size_t)x->argc * sizeof(resp_slice) + bytes);
    bs->keys = malloc((size_t)nkeys * sizeof(int));
    if (bs->argv == NULL || bs->keys == NULL)
        abort();
    char *p = (char *)(bs->argv + x->argc);
    for (int i = 0; i < x->argc; i++) {
        if (x->argv[i].len)
            memcpy(p, x->argv[i].ptr, x->argv[i].len);
        bs->argv[i].ptr = p;
        bs->argv[i].len = x->argv[i].len;
        p += x->argv[i].len;
    }
    bs->argc = x->argc;
    /* Each key once (BLPOP k k 0 waits on k once, as Redis). */
    for (int i = 0; i < nkeys; i++) {
        const resp_slice *k = &x->argv[keys[i]];
        bool dup = false;
        for (int j = 0; j < bs->nkeys && !dup; j++) {
            const resp_slice *o = &bs->argv[bs->keys[j]];
            dup = o->len == k->len && memcmp(o->ptr, k->ptr, k->len) == 0;
        }
        if (dup)
            continue;
        bs->keys[bs->nkeys++] = keys[i];
        bkey *bk = find_bkey(b, c->db, k->ptr, k->len);
        if (bk == NULL) {
            bk = calloc(1, sizeof(*bk) + 4 + k->len);
            if (bk == NULL)
                abort();
            compose(c->db, k->ptr, k->len, bk->k, 4 + k->len, &bk->klen);
            bk->dbid = c->db;
            dict_add(&b->keys, &bk->node);
        }
        GROW(bk->clients, bk->n, bk->cap);
        bk->clients[bk->n++] = c;
    }
    c->block = bs;
    GROW(b->blocked, b->nblocked, b->capblocked);
    b->blocked[b->nblocked++] = c;
}

static void remove_from_bkey(struct blocking *b, bkey *bk, client *c)
{
    for (int j = 0; j < bk->n; j++) {
        if (bk->clients[j] == c) {
            memmove(&bk->clients[j], &bk->clients[j + 1], (size_t)(bk->n - j - 1) * sizeof(client *));
            bk->n--;
            break;
        }
    }
    if (bk->n == 0) {
        dict_unlink(&b->keys, bk->k, bk->klen);
        free(bk->clients);
        free(bk);
    }
}

/* Takes c out of every wait list; no reply. */
static void unblock(engine *e, client *c)
{
    struct blocking *b = e->blk;
    block_state *bs = c->block;
    if (bs == NULL || b == NULL)
        return;
    for (int i = 0; i < bs->nkeys; i++) {
        const resp_slice *k = &bs->argv[bs->keys[i]];
        bkey *bk = find_bkey(b, bs->dbid, k->ptr, k->len);
        if (bk)
            remove_from_bkey(b, bk, c);
    }
    for (int i = 0; i < b->nblocked; i++) {
        if (b->blocked[i] == c) {
            memmove(&b->blocked[i], &b->blocked[i + 1],
                    (size_t)(b->nblocked - i - 1) * sizeof(client *));
            b->nblocked--;
            break;
        }
    }
    free(bs->argv);
    free(bs->keys);
    free(bs);
    c->block = NULL;
}

/* c was served or timed out: the driver sends its reply and resumes it. */
static void queue_unblocked(engine *e, client *c)
{
    struct blocking *b = e->blk;
    if (b->unblocked_head > 0 && b->unblocked_head == b->nunblocked)
        b->unblocked_head = b->nunblocked = 0;
    GROW(b->unblocked, b->nunblocked, b->capunblocked);
    b->unblocked[b->nunblocked++] = c;
}

client *engine_next_unblocked(engine *e)
{
    struct blocking *b = e->blk;
    if (b == NULL || b->unblocked_head == b->nunblocked)
        return NULL;
    return b->unblocked[b->unblocked_head++];
}

void engine_unblock_client_freed(engine *e, client *c)
{
    unblock(e, c);
    struct blocking *b = e->blk;
    if (b == NULL)
        return;
    for (int i = b->unblocked_head; i < b->nunblocked; i++) {
        if (b->unblocked[i] == c) {
            memmove(&b->unblocked[i], &b->unblocked[i + 1],
                    (size_t)(b->nunblocked - i - 1) * sizeof(client *));
            b->nunblocked--;
            i--;
        }
    }
}

/* A context for writing to a blocked client's own output. */
static cmd_ctx client_ctx(engine *e, client *c, int64_t now_ms)
{
    block_state *bs = c->block;
    cmd_ctx x = {
        .eng = e, .cl = c, .db = engine_db(e, bs->dbid), .out = c->out,
        .argc = bs->argc, .argv = bs->argv, .now_ms = now_ms, .rng = &e->rng,
        .cmd = NULL, .failed = false,
    };
    return x;
}

bool engine_unblock_client(engine *e, client *c, bool error, int64_t now_ms)
{
    if (c->block == NULL)
        return false;
    cmd_ctx x = client_ctx(e, c, now_ms);
    if (error)
        reply_error(&x, "-UNBLOCKED client unblocked via CLIENT UNBLOCK");
    else
        reply_null_array(&x);
    unblock(e, c);
    queue_unblocked(e, c);
    return true;
}

void engine_block_timeouts(engine *e, int64_t now_ms)
{
    struct blocking *b = e->blk;
    if (b == NULL)
        return;
    /* In arrival order; a timed-out client leaves the array, so i stays. */
    for (int i = 0; i < b->nblocked;) {
        client *c = b->blocked[i];
        int64_t d = c->block->deadline_ms;
        if (d >= 0 && d <= now_ms) {
            cmd_ctx x = client_ctx(e, c, now_ms);
            reply_null_array(&x);
            unblock(e, c);
            queue_unblocked(e, c);
        } else {
            i++;
        }
    }
}

int64_t engine_next_block_deadline(const engine *e)
{
    const struct blocking *b = e->blk;
    int64_t best = -1;
    if (b == NULL)
        return -1;
    for (int i = 0; i < b->nblocked; i++) {
        int64_t d = b->blocked[i]->block->deadline_ms;
        if (d >= 0 && (best < 0 || d < best))
            best = d;
    }
    return best;
}

/* ------------------------------------------------------------------------ */
/* Ready keys and serving */

void engine_block_signal(engine *e, int dbid, const char *key, size_t len)
{
    struct blocking *b = e->blk;
    if (b == NULL || b->nblocked == 0)
        return;
    bkey *bk = find_bkey(b, dbid, key, len);
    if (bk == NULL || bk->ready)
        return;
    bk->ready = true;
    GROW(b->ready, b->nready, b->capready);
    ready_key *r = &b->ready[b->nready++];
    r->dbid = dbid;
    r->len = len;
    r->key = malloc(len ? len : 1);
    if (r->key == NULL)
        abort();
    memcpy(r->key, key, len);
}

static int kind_of_type(int type)
{
    return type == OBJ_LIST ? BLOCK_LIST : type == OBJ_ZSET ? BLOCK_ZSET : 0;
}

static size_t entry_len(kentry *k)
{
    if (kentry_type(k) == OBJ_LIST)
        return klist_len(kentry_obj(k));
    if (kentry_type(k) == OBJ_ZSET)
        return kzset_len(kentry_obj(k));
    return 0;
}

void engine_serve_ready(engine *e, int64_t now_ms)
{
    struct blocking *b = e->blk;
    if (b == NULL || b->nready == 0 || b->serving)
        return;
    b->serving = true;
    /* Serving may mark more keys ready (BLMOVE's destination): they join
     * the end of the list and are served in this same loop. */
    for (int r = 0; r < b->nready; r++) {
        ready_key rk = b->ready[r];
        bkey *bk = find_bkey(b, rk.dbid, rk.key, rk.len);
        if (bk)
            bk->ready = false;
        db *d = engine_db(e, rk.dbid);
        while (bk && bk->n > 0) {
            kentry *k = db_find(d, rk.key, rk.len, now_ms);
            if (k == NULL || entry_len(k) == 0)
                break;
            int kind = kind_of_type(kentry_type(k));
            /* The first waiter for this key's type (a BLPOP waiter stays
             * while the key holds a sorted set). */
            client *c = NULL;
            for (int i = 0; i < bk->n && c == NULL; i++)
                if (bk->clients[i]->block->kind == kind)
                    c = bk->clients[i];
            if (c == NULL)
                break;
            cmd_ctx x = client_ctx(e, c, now_ms);
            resp_slice key = {rk.key, rk.len};
            c->block->serve(&x, &key);
            /* The key may be gone, and bk with it, once c leaves. */
            bool last = bk->n == 1;
            unblock(e, c);
            queue_unblocked(e, c);
            if (last)
                break;
        }
        free(rk.key);
    }
    b->nready = 0;
    b->serving = false;
}

void engine_blocking_free(engine *e)
{
    struct blocking *b = e->blk;
    if (b == NULL)
        return;
    while (b->nblocked)
        unblock(e, b->blocked[0]);
    for (int r = 0; r < b->nready; r++)
        free(b->ready[r].key);
    free(b->ready);
    free(b->blocked);
    free(b->unblocked);
    dict_free(&b->keys);
    free(b);
    e->blk = NULL;
}

/* ------------------------------------------------------------------------ */
/* Running the non-blocking twins */

/* Runs command `name` with argv on x's client, writing to out. */
static void run_twin(cmd_ctx *x, const char *name, int argc, const resp_slice *argv, kbuf *out)
{
    const cmd_entry *ce = engine_lookup_name(x->eng, name, strlen(name));
    cmd_ctx sub = *x;
    sub.argc = argc;
    sub.argv = argv;
    sub.cmd = ce;
    sub.out = out;
    sub.failed = false;
    ce->def->fn(&sub);
    if (sub.failed)
        x->failed = true;
}

#define S(lit) ((resp_slice){lit, sizeof(lit) - 1})

/* BLPOP / BRPOP: [key, element] */
static void serve_lpop(cmd_ctx *x, const resp_slice *key)
{
    resp_slice argv[2] = {S("lpop"), *key};
    reply_array(x, 2);
    reply_bulk(x, key->ptr, key->len);
    run_twin(x, "lpop", 2, argv, x->out);
}

static void serve_rpop(cmd_ctx *x, const resp_slice *key)
{
    resp_slice argv[2] = {S("rpop"), *key};
    reply_array(x, 2);
    reply_bulk(x, key->ptr, key->len);
    run_twin(x, "rpop", 2, argv, x->out);
}

/* BLMOVE src dst from to timeout / BRPOPLPUSH src dst timeout: LMOVE. */
static void serve_lmove(cmd_ctx *x, const resp_slice *key)
{
    (void)key;
    bool rpl = x->argc == 4;
    resp_slice argv[5] = {S("lmove"), x->argv[1], x->argv[2],
                          rpl ? S("right") : x->argv[3], rpl ? S("left") : x->argv[4]};
    run_twin(x, "lmove", 5, argv, x->out);
}

/* BLMPOP / BZMPOP timeout numkeys key... <where> [COUNT n]: the twin with
 * this one key: LMPOP 1 key <where> [COUNT n]. */
static void serve_mpop_as(cmd_ctx *x, const resp_slice *key, const char *twin)
{
    long long numkeys = 0; /* checked when it blocked (the copy is not NUL-terminated) */
    resp_string2ll(x->argv[2].ptr, x->argv[2].len, &numkeys);
    int rest = 3 + (int)numkeys;
    int argc = 3 + (x->argc - rest);
    resp_slice *argv = malloc((size_t)argc * sizeof(*argv));
    if (argv == NULL)
        abort();
    argv[0] = (resp_slice){twin, strlen(twin)};
    argv[1] = S("1");
    argv[2] = *key;
    for (int i = rest; i < x->argc; i++)
        argv[3 + i - rest] = x->argv[i];
    run_twin(x, twin, argc, argv, x->out);
    free(argv);
}

static void serve_lmpop(cmd_ctx *x, const resp_slice *key) { serve_mpop_as(x, key, "lmpop"); }
static void serve_zmpop(cmd_ctx *x, const resp_slice *key) { serve_mpop_as(x, key, "zmpop"); }

/* BZPOPMIN / BZPOPMAX: [key, member, score] from ZPOPMIN's [member, score]. */
static void serve_zpop_as(cmd_ctx *x, const resp_slice *key, const char *twin)
{
    resp_slice argv[2] = {{twin, strlen(twin)}, *key};
    kbuf tmp = KBUF_INIT;
    run_twin(x, twin, 2, argv, &tmp);
    if (tmp.len > 4 && memcmp(tmp.data, "*2\r\n", 4) == 0) {
        reply_array(x, 3);
        reply_bulk(x, key->ptr, key->len);
        kbuf_append(x->out, tmp.data + 4, tmp.len - 4);
    } else {
        kbuf_append(x->out, tmp.data, tmp.len);
    }
    kbuf_free(&tmp);
}

static void serve_zpopmin(cmd_ctx *x, const resp_slice *key) { serve_zpop_as(x, key, "zpopmin"); }
static void serve_zpopmax(cmd_ctx *x, const resp_slice *key) { serve_zpop_as(x, key, "zpopmax"); }

/* ------------------------------------------------------------------------ */
/* The commands */

/* Redis's getTimeoutFromObjectOrReply in seconds: a deadline in ms, -1 for
 * none (0). */
static bool arg_timeout(cmd_ctx *x, const resp_slice *a, int64_t *deadline)
{
    long double t;
    if (!arg_ld(x, a, &t, "timeout is not a float or out of range"))
        return false;
    /* ceil(t * 1000) as Redis, without libm (the core does not link it):
     * -0.0001 s is 0 (no timeout), not negative. */
    long double ms = t * 1000.0L;
    if (ms <= -1.0L) {
        reply_error(x, "timeout is negative");
        return false;
    }
    if (ms != ms || ms > (long double)(INT64_MAX - x->now_ms - 1)) {
        reply_error(x, "timeout is out of range");
        return false;
    }
    int64_t v = (int64_t)ms; /* toward zero: the ceiling for -1 < ms <= 0 */
    if (ms > 0 && (long double)v < ms)
        v++;
    *deadline = v > 0 ? x->now_ms + v : -1;
    return true;
}

/* True when x may block: not inside EXEC (nor, later, a script), and the
 * driver gave the client an output of its own for the served reply. */
static bool may_block(const cmd_ctx *x)
{
    return !(x->cl->flags & CLIENT_DENY_BLOCKING) && x->cl->out != NULL;
}

/* BLPOP / BRPOP / BZPOPMIN / BZPOPMAX key [key ...] timeout */
static void bpop_generic(cmd_ctx *x, int type, serve_fn *serve)
{
    int64_t deadline;
    if (!arg_timeout(x, &x->argv[x->argc - 1], &deadline))
        return;
    int nkeys = x->argc - 2;
    for (int j = 1; j <= nkeys; j++) {
        bool wrong;
        kentry *e = lookup_write(x, &x->argv[j], type, &wrong);
        if (wrong)
            return;
        if (e && entry_len(e) > 0) {
            serve(x, &x->argv[j]);
            return;
        }
    }
    if (!may_block(x)) {
        reply_null_array(x);
        return;
    }
    int *keys = malloc((size_t)nkeys * sizeof(int));
    if (keys == NULL)
        abort();
    for (int j = 0; j < nkeys; j++)
        keys[j] = 1 + j;
    engine_block(x, kind_of_type(type), keys, nkeys, deadline, serve);
    free(keys);
}

static void blpop_cmd(cmd_ctx *x) { bpop_generic(x, OBJ_LIST, serve_lpop); }
static void brpop_cmd(cmd_ctx *x) { bpop_generic(x, OBJ_LIST, serve_rpop); }
static void bzpopmin_cmd(cmd_ctx *x) { bpop_generic(x, OBJ_ZSET, serve_zpopmin); }
static void bzpopmax_cmd(cmd_ctx *x) { bpop_generic(x, OBJ_ZSET, serve_zpopmax); }

/* BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout;
 * BRPOPLPUSH source destination timeout. */
static void blmove_generic(cmd_ctx *x, int timeout_idx)
{
    if (timeout_idx == 5) {
        for (int i = 3; i <= 4; i++) {
            if (!arg_is(&x->argv[i], "left") && !arg_is(&x->argv[i], "right")) {
                reply_error(x, ERR_SYNTAX);
                return;
            }
        }
    }
    int64_t deadline;
    if (!arg_timeout(x, &x->argv[timeout_idx], &deadline))
        return;
    bool wrong;
    kentry *e = lookup_write(x, &x->argv[1], OBJ_LIST, &wrong);
    if (wrong)
        return;
    if (e && entry_len(e) > 0) {
        serve_lmove(x, &x->argv[1]);
        return;
    }
    if (!may_block(x)) {
        reply_null(x); /* as LMOVE on an empty source: a null bulk */
        return;
    }
    int key = 1;
    engine_block(x, BLOCK_LIST, &key, 1, deadline, serve_lmove);
}

static void blmove_cmd(cmd_ctx *x) { blmove_generic(x, 5); }
static void brpoplpush_cmd(cmd_ctx *x) { blmove_generic(x, 3); }

/* BLMPOP / BZMPOP timeout numkeys key [key ...] <where> [COUNT count]: the
 * twin (LMPOP/ZMPOP) checks the arguments and pops if it can; a null
 * array from it means every key was empty: block. */
static void bmpop_generic(cmd_ctx *x, const char *twin, int kind, serve_fn *serve)
{
    int64_t deadline;
    if (!arg_timeout(x, &x->argv[1], &deadline))
        return;
    int argc = x->argc - 1;
    resp_slice *argv = malloc((size_t)argc * sizeof(*argv));
    if (argv == NULL)
        abort();
    argv[0] = (resp_slice){twin, strlen(twin)};
    for (int i = 2; i < x->argc; i++)
        argv[i - 1] = x->argv[i];
    kbuf tmp = KBUF_INIT;
    run_twin(x, twin, argc, argv, &tmp);
    free(argv);
    bool none = !x->failed && ((tmp.len == 5 && memcmp(tmp.data, "*-1\r\n", 5) == 0) ||
                               (tmp.len == 3 && memcmp(tmp.data, "_\r\n", 3) == 0));
    if (!none || !may_block(x)) {
        kbuf_append(x->out, tmp.data, tmp.len);
        kbuf_free(&tmp);
        return;
    }
    kbuf_free(&tmp);
    /* The twin accepted numkeys: 1 <= numkeys <= argc - 4. */
    long long nk = 0;
    resp_string2ll(x->argv[2].ptr, x->argv[2].len, &nk);
    int nkeys = (int)nk;
    int *keys = malloc((size_t)nkeys * sizeof(int));
    if (keys == NULL)
        abort();
    for (int j = 0; j < nkeys; j++)
        keys[j] = 3 + j;
    engine_block(x, kind, keys, nkeys, deadline, serve);
    free(keys);
}

static void blmpop_cmd(cmd_ctx *x) { bmpop_generic(x, "lmpop", BLOCK_LIST, serve_lmpop); }
static void bzmpop_cmd(cmd_ctx *x) { bmpop_generic(x, "zmpop", BLOCK_ZSET, serve_zmpop); }

/* BLMPOP/BZMPOP: numkeys at argv[2], keys from 3. */
static int bmpop_getkeys(int argc, const resp_slice *argv, int *keys)
{
    return cmd_numkeys_getkeys(argc, argv, 2, 3, 0, keys);
}

#define BFLAGS (CMD_WRITE | CMD_BLOCKING)

const cmd_def cmd_blocking[] = {
    {.name = "blpop", .arity = -3, .flags = BFLAGS | CMD_NOSCRIPT, .first_key = 1, .last_key = -2, .key_step = 1,
     .fn = blpop_cmd, .group = "list", .since = "2.0.0",
     .summary = "Remove and get the first element in a list, or block until one is available",
     .complexity = "O(N) where N is the number of provided keys.",
     .acl = "@write @list @slow @blocking", .args = "key [key ...] timeout"},
    {.name = "brpop", .arity = -3, .flags = BFLAGS | CMD_NOSCRIPT, .first_key = 1, .last_key = -2, .key_step = 1,
     .fn = brpop_cmd, .group = "list", .since = "2.0.0",
     .summary = "Remove and get the last element in a list, or block until one is available",
     .complexity = "O(N) where N is the number of provided keys.",
     .acl = "@write @list @slow @blocking", .args = "key [key ...] timeout"},
    {.name = "brpoplpush", .arity = 4, .flags = BFLAGS | CMD_DENYOOM | CMD_NOSCRIPT, .first_key = 1,
     .last_key = 2, .key_step = 1, .fn = brpoplpush_cmd, .group = "list", .since = "2.2.0",
     .summary = "Pop an element from a list, push it to another list and return it; or block "
                "until one is available",
     .complexity = "O(1)", .acl = "@write @list @slow @blocking",
     .args = "source destination timeout"},
    {.name = "blmove", .arity = 6, .flags = BFLAGS | CMD_DENYOOM | CMD_NOSCRIPT, .first_key = 1, .last_key = 2,
     .key_step = 1, .fn = blmove_cmd, .group = "list", .since = "6.2.0",
     .summary = "Pop an element from a list, push it to another list and return it; or block "
                "until one is available",
     .complexity = "O(1)", .acl = "@write @list @slow @blocking",
     .args = "source destination LEFT|RIGHT LEFT|RIGHT timeout"},
    {.name = "blmpop", .arity = -5, .flags = BFLAGS | CMD_MOVABLE_KEYS, .fn = blmpop_cmd,
     .getkeys = bmpop_getkeys, .group = "list", .since = "7.0.0",
     .summary = "Pop elements from a list, or block until one is available",
     .complexity = "O(N+M) where N is the number of provided keys and M is the number of "
                   "elements returned.",
     .acl = "@write @list @slow @blocking",
     .args = "timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]"},
    {.name = "bzpopmin", .arity = -3, .flags = BFLAGS | CMD_NOSCRIPT | CMD_FAST, .first_key = 1, .last_key = -2,
     .key_step = 1, .fn = bzpopmin_cmd, .group = "sorted_set", .since = "5.0.0",
     .summary = "Remove and return the member with the lowest score from one or more sorted "
                "sets, or block until one is available",
     .complexity = "O(log(N)) with N being the number of elements in the sorted set.",
     .acl = "@write @sortedset @fast @blocking", .args = "key [key ...] timeout"},
    {.name = "bzpopmax", .arity = -3, .flags = BFLAGS | CMD_NOSCRIPT | CMD_FAST, .first_key = 1, .last_key = -2,
     .key_step = 1, .fn = bzpopmax_cmd, .group = "sorted_set", .since = "5.0.0",
     .summary = "Remove and return the member with the highest score from one or more sorted "
                "sets, or block until one is available",
     .complexity = "O(log(N)) with N being the number of elements in the sorted set.",
     .acl = "@write @sortedset @fast @blocking", .args = "key [key ...] timeout"},
    {.name = "bzmpop", .arity = -5, .flags = BFLAGS | CMD_MOVABLE_KEYS, .fn = bzmpop_cmd,
     .getkeys = bmpop_getkeys, .group = "sorted_set", .since = "7.0.0",
     .summary = "Remove and return members with scores in a sorted set or block until one is "
                "available",
     .complexity = "O(K) + O(N*log(M)) where K is the number of provided keys, N being the "
                   "number of elements in the sorted set, and M being the number of elements "
                   "popped.",
     .acl = "@write @sortedset @slow @blocking",
     .args = "timeout numkeys key [key ...] MIN|MAX [COUNT count]"},
    {0},
};

typedef struct signal_db_ctx {
    engine *e;
    int dbid;
    ready_key *keys;
    int n, cap;
} signal_db_ctx;

static void collect_db_cb(void *ctx, dict_node *n)
{
    signal_db_ctx *s = ctx;
    bkey *bk = (bkey *)n;
    if (bk->dbid != s->dbid)
        return;
    GROW(s->keys, s->n, s->cap);
    s->keys[s->n++] = (ready_key){bk->dbid, bk->klen - 4, bk->k + 4};
}

void engine_block_signal_db(engine *e, int dbid)
{
    struct blocking *b = e->blk;
    if (b == NULL || b->nblocked == 0)
        return;
    /* Collected first: signalling does not change the dict, but stay safe.
     * Dict order depends only on the keys and the seed. */
    signal_db_ctx s = {e, dbid, NULL, 0, 0};
    dict_for_each(&b->keys, collect_db_cb, &s);
    for (int i = 0; i < s.n; i++)
        engine_block_signal(e, s.keys[i].dbid, s.keys[i].key, s.keys[i].len);
    free(s.keys);
}
