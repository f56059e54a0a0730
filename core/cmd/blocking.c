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
 * When the node logs its writes (decision 0007) a serving pop must be in
 * the log too, or a replay after a restart, with nobody blocked, would not
 * make it and the popped element would come back. Then the engine does
 * not serve a ready key's waiters itself: it offers them, calling the
 * serve hook with each one's twin command, which the node proposes; the
 * waiter is served when that entry applies (engine_serve_apply), by the
 * very argv a replay runs. Until then its serve is "in flight": it is not
 * offered again, timed out or unblocked. */
#include "core/cmd/engine.h"
#include "core/cmd/engine_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/store/list.h"
#include "core/store/types.h"
#include "core/store/zset.h"

enum { BLOCK_LIST = 1, BLOCK_ZSET = 2 };

/* The twin command that serves a blocked command from one of its keys:
 * at most 6 arguments (LMPOP 1 key LEFT COUNT n), pointing at literals,
 * the key and the blocking command's own argv. */
typedef struct twin {
    int argc;
    resp_slice argv[6];
    long long take; /* the most elements it pops */
} twin;

/* How a blocking command is served from one of its keys: the kind of value
 * it waits for, its twin built from its own argv, and how the twin's reply
 * becomes its own. The live serve and the proposal both build the twin
 * here, so a replay of the proposal pops exactly what a serve pops. */
typedef struct serve_def {
    int kind;
    const char *name; /* the twin's */
    void (*build)(twin *t, const char *name, int argc, const resp_slice *argv,
                  const resp_slice *key);
    /* Writes the blocking command's reply by running the twin argv. */
    void (*reply)(cmd_ctx *x, int argc, const resp_slice *argv);
} serve_def;

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
    const serve_def *how;
    int dbid;
    int64_t deadline_ms; /* -1: no timeout */
    uint64_t seq;        /* arrival order */
    int argc;
    resp_slice *argv; /* the command, copied: one allocation */
    int nkeys;
    int *keys;        /* argv indexes of the keys waited on */
    /* A serve proposed and not yet applied (engine_serve_apply settles
     * it): from argv[flight_key], taking up to flight_take elements. */
    bool in_flight;
    int flight_key;
    long long flight_take;
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
    engine_serve_hook *hook; /* NULL: serve at once */
    void *hook_ctx;
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

static bool key_is(const resp_slice *a, const char *key, size_t len)
{
    return a->len == len && (len == 0 || memcmp(a->ptr, key, len) == 0);
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

static void engine_block(cmd_ctx *x, const serve_def *how, const int *keys, int nkeys,
                         int64_t deadline)
{
    engine *e = x->eng;
    struct blocking *b = blk(e);
    client *c = x->cl;
    block_state *bs = calloc(1, sizeof(*bs));
    if (bs == NULL)
        abort();
    bs->how = how;
    bs->dbid = c->db;
    bs->deadline_ms = deadline;
    bs->seq = b->next_seq++;
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
        for (int j = 0; j < bs->nkeys && !dup; j++)
            dup = key_is(&bs->argv[bs->keys[j]], k->ptr, k->len);
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
    return engine_unblock_client_with(
        e, c, error ? "-UNBLOCKED client unblocked via CLIENT UNBLOCK" : NULL, now_ms);
}

bool engine_unblock_client_with(engine *e, client *c, const char *error, int64_t now_ms)
{
    /* A serve in flight may still apply: the client waits for it. */
    if (c->block == NULL || c->block->in_flight)
        return false;
    cmd_ctx x = client_ctx(e, c, now_ms);
    if (error)
        reply_error(&x, error);
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
    /* In arrival order; a timed-out client leaves the array, so i stays.
     * One with a serve in flight waits for its apply (engine_serve_apply
     * times it out if the serve fails). */
    for (int i = 0; i < b->nblocked;) {
        client *c = b->blocked[i];
        int64_t d = c->block->deadline_ms;
        if (d >= 0 && d <= now_ms && !c->block->in_flight) {
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
        if (d >= 0 && (best < 0 || d < best) && !b->blocked[i]->block->in_flight)
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

static void serve(cmd_ctx *x, const serve_def *how, const resp_slice *key);

/* Serves bk's waiters from the key, first come first served while it has
 * something for them. */
static void serve_key(engine *e, bkey *bk, const ready_key *rk, int64_t now_ms)
{
    db *d = engine_db(e, rk->dbid);
    while (bk->n > 0) {
        kentry *k = db_find(d, rk->key, rk->len, now_ms);
        if (k == NULL || entry_len(k) == 0)
            break;
        int kind = kind_of_type(kentry_type(k));
        /* The first waiter for this key's type (a BLPOP waiter stays
         * while the key holds a sorted set), passing over any whose serve
         * is in flight (proposed while the hook was set). */
        client *c = NULL;
        for (int i = 0; i < bk->n && c == NULL; i++)
            if (bk->clients[i]->block->how->kind == kind && !bk->clients[i]->block->in_flight)
                c = bk->clients[i];
        if (c == NULL)
            break;
        cmd_ctx x = client_ctx(e, c, now_ms);
        resp_slice key = {rk->key, rk->len};
        serve(&x, c->block->how, &key);
        /* The key may be gone, and bk with it, once c leaves. */
        bool last = bk->n == 1;
        unblock(e, c);
        queue_unblocked(e, c);
        if (last)
            break;
    }
}

/* The kind of value (db, key) holds and its element count (0 and 0 when
 * it holds nothing a waiter takes), looked up without expiring it: an
 * offer changes no data. */
static int key_holds(engine *e, int dbid, const char *key, size_t len, int64_t now_ms,
                     long long *n)
{
    kentry *k = (kentry *)dict_find(&engine_db(e, dbid)->keys, key, len);
    *n = 0;
    if (k == NULL || db_is_expired(k, now_ms))
        return 0;
    *n = (long long)entry_len(k);
    return kind_of_type(kentry_type(k));
}

/* Serving by proposal: offers the key to bk's waiters in the order
 * serve_key would serve them, as many as its elements go round once the
 * serves already in flight from it have taken theirs. A proposal that
 * finds the key emptied by then leaves its client blocked, to be offered
 * again (engine_serve_apply). */
static void offer_key(engine *e, bkey *bk, const ready_key *rk, int64_t now_ms)
{
    struct blocking *b = e->blk;
    long long left;
    int kind = key_holds(e, rk->dbid, rk->key, rk->len, now_ms, &left);
    for (int i = 0; i < bk->n; i++) {
        const block_state *bs = bk->clients[i]->block;
        if (bs->in_flight && bs->how->kind == kind &&
            key_is(&bs->argv[bs->flight_key], rk->key, rk->len))
            left -= bs->flight_take;
    }
    for (int i = 0; i < bk->n && left > 0; i++) {
        client *c = bk->clients[i];
        block_state *bs = c->block;
        if (bs->in_flight || bs->how->kind != kind)
            continue;
        int j = 0;
        while (!key_is(&bs->argv[bs->keys[j]], rk->key, rk->len))
            j++;
        twin t;
        bs->how->build(&t, bs->how->name, bs->argc, bs->argv, &bs->argv[bs->keys[j]]);
        bs->in_flight = true;
        bs->flight_key = bs->keys[j];
        bs->flight_take = t.take;
        left -= t.take;
        b->hook(b->hook_ctx, c, rk->dbid, t.argc, t.argv);
    }
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
        if (bk) {
            bk->ready = false;
            if (b->hook)
                offer_key(e, bk, &rk, now_ms);
            else
                serve_key(e, bk, &rk, now_ms);
        }
        free(rk.key);
    }
    b->nready = 0;
    b->serving = false;
}

void engine_set_serve_hook(engine *e, engine_serve_hook *hook, void *ctx)
{
    struct blocking *b = blk(e);
    b->hook = hook;
    b->hook_ctx = ctx;
}

bool engine_serve_apply(engine *e, client *c, int dbid, int argc, const resp_slice *argv,
                        int64_t now_ms)
{
    block_state *bs = c ? c->block : NULL;
    if (bs == NULL || !bs->in_flight)
        return false;
    bs->in_flight = false;
    if (now_ms > e->now_ms)
        e->now_ms = now_ms;
    db *d = engine_db(e, dbid);
    db_set_clock(d, now_ms);
    const resp_slice *key = &bs->argv[bs->flight_key];
    long long n;
    bool served = key_holds(e, dbid, key->ptr, key->len, now_ms, &n) == bs->how->kind && n > 0;
    if (served) {
        cmd_ctx x = client_ctx(e, c, now_ms);
        x.db = d;
        bs->how->reply(&x, argc, argv);
        /* What c was counted to take and did not (BLMOVE to a wrong-type
         * destination pops nothing) is offered to the next waiter. */
        engine_block_signal(e, dbid, key->ptr, key->len);
        unblock(e, c);
        queue_unblocked(e, c);
    } else if (bs->deadline_ms >= 0 && bs->deadline_ms <= now_ms) {
        /* The timeout that passed while the serve was in flight. */
        cmd_ctx x = client_ctx(e, c, now_ms);
        reply_null_array(&x);
        unblock(e, c);
        queue_unblocked(e, c);
    } else {
        /* Still blocked: offered again from whichever of its keys holds
         * something (writes to them while the serve was in flight passed
         * it over). */
        for (int i = 0; i < bs->nkeys; i++) {
            const resp_slice *k = &bs->argv[bs->keys[i]];
            engine_block_signal(e, bs->dbid, k->ptr, k->len);
        }
    }
    /* BLMOVE's destination, the key's next waiters, c's keys. */
    engine_serve_ready(e, now_ms);
    return served;
}

void engine_serve_cancel(engine *e, client *c, int64_t now_ms)
{
    block_state *bs = c ? c->block : NULL;
    if (bs == NULL || !bs->in_flight)
        return;
    bs->in_flight = false;
    if (bs->deadline_ms >= 0 && bs->deadline_ms <= now_ms) {
        cmd_ctx x = client_ctx(e, c, now_ms);
        reply_null_array(&x);
        unblock(e, c);
        queue_unblocked(e, c);
    }
}

void engine_serve_abandon(engine *e, client *c, const char *error, int64_t now_ms)
{
    block_state *bs = c ? c->block : NULL;
    if (bs == NULL || !bs->in_flight)
        return;
    bs->in_flight = false;
    cmd_ctx x = client_ctx(e, c, now_ms);
    reply_error(&x, error);
    unblock(e, c);
    queue_unblocked(e, c);
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

/* Runs the command argv names on x's client, writing to out. */
static void run_twin(cmd_ctx *x, int argc, const resp_slice *argv, kbuf *out)
{
    const cmd_entry *ce = engine_lookup_name(x->eng, argv[0].ptr, argv[0].len);
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

/* LPOP / RPOP / ZPOPMIN / ZPOPMAX key */
static void twin_pop(twin *t, const char *name, int argc, const resp_slice *argv,
                     const resp_slice *key)
{
    (void)argc;
    (void)argv;
    t->argc = 2;
    t->argv[0] = (resp_slice){name, strlen(name)};
    t->argv[1] = *key;
    t->take = 1;
}

/* BLMOVE src dst from to timeout / BRPOPLPUSH src dst timeout: LMOVE src
 * dst from to. */
static void twin_lmove(twin *t, const char *name, int argc, const resp_slice *argv,
                       const resp_slice *key)
{
    bool rpl = argc == 4;
    t->argc = 5;
    t->argv[0] = (resp_slice){name, strlen(name)};
    t->argv[1] = *key;
    t->argv[2] = argv[2];
    t->argv[3] = rpl ? S("RIGHT") : argv[3];
    t->argv[4] = rpl ? S("LEFT") : argv[4];
    t->take = 1;
}

/* BLMPOP / BZMPOP timeout numkeys key... <where> [COUNT n]: the twin with
 * this one key, LMPOP 1 key <where> [COUNT n]. */
static void twin_mpop(twin *t, const char *name, int argc, const resp_slice *argv,
                      const resp_slice *key)
{
    /* Both checked when it blocked: numkeys, and what follows the keys is
     * <where> or <where> COUNT n (the copy is not NUL-terminated). */
    long long numkeys = 0;
    resp_string2ll(argv[2].ptr, argv[2].len, &numkeys);
    t->argc = 3;
    t->argv[0] = (resp_slice){name, strlen(name)};
    t->argv[1] = S("1");
    t->argv[2] = *key;
    for (int i = 3 + (int)numkeys; i < argc; i++)
        t->argv[t->argc++] = argv[i];
    t->take = 1;
    if (t->argc == 6)
        resp_string2ll(t->argv[5].ptr, t->argv[5].len, &t->take);
}

/* BLPOP / BRPOP: [key, element] */
static void reply_keyed(cmd_ctx *x, int argc, const resp_slice *argv)
{
    reply_array(x, 2);
    reply_bulk(x, argv[1].ptr, argv[1].len);
    run_twin(x, argc, argv, x->out);
}

/* BLMOVE, BRPOPLPUSH, BLMPOP, BZMPOP: the twin's own reply. */
static void reply_as_twin(cmd_ctx *x, int argc, const resp_slice *argv)
{
    run_twin(x, argc, argv, x->out);
}

/* BZPOPMIN / BZPOPMAX: [key, member, score] from ZPOPMIN's [member, score]. */
static void reply_zpop(cmd_ctx *x, int argc, const resp_slice *argv)
{
    kbuf tmp = KBUF_INIT;
    run_twin(x, argc, argv, &tmp);
    if (tmp.len > 4 && memcmp(tmp.data, "*2\r\n", 4) == 0) {
        reply_array(x, 3);
        reply_bulk(x, argv[1].ptr, argv[1].len);
        kbuf_append(x->out, tmp.data + 4, tmp.len - 4);
    } else {
        kbuf_append(x->out, tmp.data, tmp.len);
    }
    kbuf_free(&tmp);
}

static const serve_def serve_blpop = {BLOCK_LIST, "LPOP", twin_pop, reply_keyed};
static const serve_def serve_brpop = {BLOCK_LIST, "RPOP", twin_pop, reply_keyed};
static const serve_def serve_blmove = {BLOCK_LIST, "LMOVE", twin_lmove, reply_as_twin};
static const serve_def serve_blmpop = {BLOCK_LIST, "LMPOP", twin_mpop, reply_as_twin};
static const serve_def serve_bzpopmin = {BLOCK_ZSET, "ZPOPMIN", twin_pop, reply_zpop};
static const serve_def serve_bzpopmax = {BLOCK_ZSET, "ZPOPMAX", twin_pop, reply_zpop};
static const serve_def serve_bzmpop = {BLOCK_ZSET, "ZMPOP", twin_mpop, reply_as_twin};

/* Serves x's client from key now: its twin, and the reply made of the
 * twin's. */
static void serve(cmd_ctx *x, const serve_def *how, const resp_slice *key)
{
    twin t;
    how->build(&t, how->name, x->argc, x->argv, key);
    how->reply(x, t.argc, t.argv);
}

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
static void bpop_generic(cmd_ctx *x, int type, const serve_def *how)
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
            serve(x, how, &x->argv[j]);
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
    engine_block(x, how, keys, nkeys, deadline);
    free(keys);
}

static void blpop_cmd(cmd_ctx *x) { bpop_generic(x, OBJ_LIST, &serve_blpop); }
static void brpop_cmd(cmd_ctx *x) { bpop_generic(x, OBJ_LIST, &serve_brpop); }
static void bzpopmin_cmd(cmd_ctx *x) { bpop_generic(x, OBJ_ZSET, &serve_bzpopmin); }
static void bzpopmax_cmd(cmd_ctx *x) { bpop_generic(x, OBJ_ZSET, &serve_bzpopmax); }

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
        serve(x, &serve_blmove, &x->argv[1]);
        return;
    }
    if (!may_block(x)) {
        reply_null(x); /* as LMOVE on an empty source: a null bulk */
        return;
    }
    int key = 1;
    engine_block(x, &serve_blmove, &key, 1, deadline);
}

static void blmove_cmd(cmd_ctx *x) { blmove_generic(x, 5); }
static void brpoplpush_cmd(cmd_ctx *x) { blmove_generic(x, 3); }

/* BLMPOP / BZMPOP timeout numkeys key [key ...] <where> [COUNT count]: the
 * twin (LMPOP/ZMPOP) checks the arguments and pops if it can; a null
 * array from it means every key was empty: block. */
static void bmpop_generic(cmd_ctx *x, const serve_def *how)
{
    int64_t deadline;
    if (!arg_timeout(x, &x->argv[1], &deadline))
        return;
    int argc = x->argc - 1;
    resp_slice *argv = malloc((size_t)argc * sizeof(*argv));
    if (argv == NULL)
        abort();
    argv[0] = (resp_slice){how->name, strlen(how->name)};
    for (int i = 2; i < x->argc; i++)
        argv[i - 1] = x->argv[i];
    kbuf tmp = KBUF_INIT;
    run_twin(x, argc, argv, &tmp);
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
    engine_block(x, how, keys, nkeys, deadline);
    free(keys);
}

static void blmpop_cmd(cmd_ctx *x) { bmpop_generic(x, &serve_blmpop); }
static void bzmpop_cmd(cmd_ctx *x) { bmpop_generic(x, &serve_bzmpop); }

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
