/* engine: command registry, dispatch, MULTI queueing, WATCH bookkeeping,
 * clients and stats. See engine.h. */
#include "core/cmd/engine.h"
#include "core/cmd/engine_internal.h"
#include "core/store/hll.h"
#include "core/util/lathist.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Registry */

static const cmd_def *const cmd_families[] = {
    cmd_string, cmd_bits, cmd_hash, cmd_keys, cmd_server, cmd_conn, cmd_multi, cmd_scripting,
    cmd_list, cmd_set, cmd_zset, cmd_blocking, cmd_hll, cmd_sort, cmd_dump, cmd_cluster,
};

static int count_defs(const cmd_def *defs)
{
    int n = 0;
    while (defs[n].name)
        n++;
    return n;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const cmd_entry *)a)->def->name, ((const cmd_entry *)b)->def->name);
}

static void fill_entry(cmd_entry *ce, const cmd_def *def, const cmd_entry *parent)
{
    memset(ce, 0, sizeof(*ce));
    ce->def = def;
    ce->parent = parent;
    if (parent)
        snprintf(ce->fullname, sizeof(ce->fullname), "%s|%s", parent->def->name, def->name);
    else
        snprintf(ce->fullname, sizeof(ce->fullname), "%s", def->name);
}

static void build_registry(engine *e)
{
    int n = 0;
    for (size_t f = 0; f < sizeof(cmd_families) / sizeof(cmd_families[0]); f++)
        n += count_defs(cmd_families[f]);
    e->cmds = calloc((size_t)n, sizeof(cmd_entry));
    if (e->cmds == NULL)
        abort();
    int i = 0;
    for (size_t f = 0; f < sizeof(cmd_families) / sizeof(cmd_families[0]); f++)
        for (const cmd_def *d = cmd_families[f]; d->name; d++)
            fill_entry(&e->cmds[i++], d, NULL);
    e->ncmds = n;
    qsort(e->cmds, (size_t)n, sizeof(cmd_entry), entry_cmp);
    for (i = 0; i < n; i++) {
        cmd_entry *ce = &e->cmds[i];
        /* Names are unique: a duplicate is a bug in a family table. */
        assert(i == 0 || strcmp(e->cmds[i - 1].def->name, ce->def->name) != 0);
        if (ce->def->subcommands) {
            ce->nsubs = count_defs(ce->def->subcommands);
            ce->subs = calloc((size_t)ce->nsubs, sizeof(cmd_entry));
            if (ce->subs == NULL)
                abort();
            for (int s = 0; s < ce->nsubs; s++)
                fill_entry(&ce->subs[s], &ce->def->subcommands[s], ce);
            qsort(ce->subs, (size_t)ce->nsubs, sizeof(cmd_entry), entry_cmp);
        }
    }
}

/* Binary search by a lower-cased name. */
static const cmd_entry *find_in(const cmd_entry *v, int n, const char *name, size_t len)
{
    char low[48];
    if (len == 0 || len >= sizeof(low))
        return NULL;
    for (size_t i = 0; i < len; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    low[len] = '\0';
    if (memchr(name, '\0', len))
        return NULL;
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        int c = strcmp(v[mid].def->name, low);
        if (c == 0)
            return &v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return NULL;
}

const cmd_entry *engine_lookup(const engine *e, int argc, const resp_slice *argv)
{
    const cmd_entry *base = find_in(e->cmds, e->ncmds, argv[0].ptr, argv[0].len);
    if (base == NULL || argc == 1 || base->subs == NULL)
        return base;
    return find_in(base->subs, base->nsubs, argv[1].ptr, argv[1].len);
}

const cmd_entry *engine_lookup_name(const engine *e, const char *name, size_t len)
{
    const char *bar = memchr(name, '|', len);
    if (bar == NULL)
        return find_in(e->cmds, e->ncmds, name, len);
    const cmd_entry *base = find_in(e->cmds, e->ncmds, name, (size_t)(bar - name));
    if (base == NULL || base->subs == NULL)
        return NULL;
    return find_in(base->subs, base->nsubs, bar + 1, len - (size_t)(bar - name) - 1);
}

/* ------------------------------------------------------------------------ */
/* WATCH bookkeeping: key -> the clients watching it. */

typedef struct watch_node {
    dict_node node;
    client **clients;
    int n, cap;
    size_t klen;
    char key[];
} watch_node;

static void watch_key_of(const dict_node *n, const char **k, size_t *len)
{
    const watch_node *w = (const watch_node *)n;
    *k = w->key;
    *len = w->klen;
}

static const dict_type watch_type = {.key = watch_key_of};

static watched_key *client_watched(client *c, int dbid, const char *key, size_t len)
{
    for (int i = 0; i < c->nwatched; i++)
        if (c->watched[i].db == dbid && c->watched[i].len == len &&
            memcmp(c->watched[i].key, key, len) == 0)
            return &c->watched[i];
    return NULL;
}

/* The db calls this for every key a write touches. */
static void on_modified(void *ctx, int dbid, const char *key, size_t len, int how)
{
    engine *e = ctx;
    engine_block_signal(e, dbid, key, len);
    if (dict_size(&e->watched[dbid]) == 0)
        return;
    watch_node *w = (watch_node *)dict_find(&e->watched[dbid], key, len);
    if (w == NULL)
        return;
    for (int i = 0; i < w->n; i++) {
        client *c = w->clients[i];
        watched_key *wk = client_watched(c, dbid, key, len);
        assert(wk != NULL);
        /* Deleting a key that had already expired when it was WATCHed is
         * no logical change (Redis 7.0's rule). */
        if (wk->expired_at_watch && how != DB_MOD_CHANGED) {
            wk->expired_at_watch = false;
            continue;
        }
        c->flags |= CLIENT_DIRTY_CAS;
    }
}

void engine_watch_key(engine *e, client *c, const char *key, size_t len, int64_t now_ms)
{
    if (client_watched(c, c->db, key, len))
        return;
    dict *watched = &e->watched[c->db];
    watch_node *w = (watch_node *)dict_find(watched, key, len);
    if (w == NULL) {
        w = malloc(sizeof(*w) + len);
        if (w == NULL)
            abort();
        w->clients = NULL;
        w->n = w->cap = 0;
        w->klen = len;
        memcpy(w->key, key, len);
        dict_add(watched, &w->node);
    }
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 4;
        w->clients = realloc(w->clients, (size_t)w->cap * sizeof(*w->clients));
        if (w->clients == NULL)
            abort();
    }
    w->clients[w->n++] = c;

    if (c->nwatched == c->capwatched) {
        c->capwatched = c->capwatched ? c->capwatched * 2 : 4;
        c->watched = realloc(c->watched, (size_t)c->capwatched * sizeof(*c->watched));
        if (c->watched == NULL)
            abort();
    }
    watched_key *wk = &c->watched[c->nwatched++];
    wk->key = malloc(len ? len : 1);
    if (wk->key == NULL)
        abort();
    memcpy(wk->key, key, len);
    wk->len = len;
    wk->db = c->db;
    kentry *k = (kentry *)dict_find(&engine_db(e, c->db)->keys, key, len);
    wk->expired_at_watch = k != NULL && db_is_expired(k, now_ms);
}

void engine_unwatch_all(engine *e, client *c)
{
    for (int i = 0; i < c->nwatched; i++) {
        watched_key *wk = &c->watched[i];
        dict *watched = &e->watched[wk->db];
        watch_node *w = (watch_node *)dict_find(watched, wk->key, wk->len);
        assert(w != NULL);
        for (int j = 0; j < w->n; j++) {
            if (w->clients[j] == c) {
                /* Keep the order of the others: it is the order they are
                 * flagged in, and order must not depend on addresses. */
                memmove(&w->clients[j], &w->clients[j + 1], (size_t)(w->n - j - 1) * sizeof(client *));
                w->n--;
                break;
            }
        }
        if (w->n == 0) {
            dict_unlink(watched, wk->key, wk->len);
            free(w->clients);
            free(w);
        }
        free(wk->key);
    }
    c->nwatched = 0;
}

typedef struct swap_touch {
    engine *e;
    int emptied;
    db *de, *dr;
    int64_t now_ms;
} swap_touch;

static void swap_touch_cb(void *ctx, dict_node *n)
{
    swap_touch *t = ctx;
    watch_node *w = (watch_node *)n;
    kentry *ke = (kentry *)dict_find(&t->de->keys, w->key, w->klen);
    kentry *kr = (kentry *)dict_find(&t->dr->keys, w->key, w->klen);
    if (ke == NULL && kr == NULL)
        return;
    for (int i = 0; i < w->n; i++) {
        client *c = w->clients[i];
        watched_key *wk = client_watched(c, t->emptied, w->key, w->klen);
        assert(wk != NULL);
        if (wk->expired_at_watch) {
            if (kr == NULL) {
                wk->expired_at_watch = false; /* an expired key now deleted */
                continue;
            }
            if (db_is_expired(kr, t->now_ms))
                continue; /* expired before, expired after */
        } else if (ke == NULL && db_is_expired(kr, t->now_ms)) {
            wk->expired_at_watch = true; /* nothing replaced by an expired key */
            continue;
        }
        c->flags |= CLIENT_DIRTY_CAS;
    }
}

void engine_swapdb(engine *e, int a, int b, int64_t now_ms)
{
    db *da = engine_db(e, a), *dbb = engine_db(e, b);
    swap_touch t1 = {e, a, da, dbb, now_ms}, t2 = {e, b, dbb, da, now_ms};
    dict_for_each(&e->watched[a], swap_touch_cb, &t1);
    dict_for_each(&e->watched[b], swap_touch_cb, &t2);
    db_swap(da, dbb);
    engine_block_signal_db(e, a);
    engine_block_signal_db(e, b);
}

/* EXEC fails if a WATCHed key that was live at WATCH time has expired. */
bool engine_watched_expired(engine *e, client *c, int64_t now_ms)
{
    for (int i = 0; i < c->nwatched; i++) {
        watched_key *wk = &c->watched[i];
        if (wk->expired_at_watch)
            continue;
        kentry *k = (kentry *)dict_find(&engine_db(e, wk->db)->keys, wk->key, wk->len);
        if (k && db_is_expired(k, now_ms))
            return true;
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* Life cycle */

void engine_init(engine *e, uint64_t seed, int64_t now_ms)
{
    memset(e, 0, sizeof(*e));
    e->seed = seed;
    kprng_seed(&e->rng, seed);
    e->now_ms = now_ms;
    e->ndbs = 0;
    engine_set_databases(e, ENGINE_DEFAULT_DBS);
    e->cfg.hash_max_listpack_entries = 512; /* Redis 7.0's built-in default */
    e->cfg.hash_max_listpack_value = 64;
    e->cfg.list_max_listpack_size = -2;
    e->cfg.list_compress_depth = 0;
    e->cfg.zset_max_listpack_entries = 128;
    e->cfg.zset_max_listpack_value = 64;
    e->cfg.set_max_intset_entries = 512;
    e->cfg.proto_max_bulk_len = 512LL * 1024 * 1024;
    e->cfg.requirepass = NULL;
    e->cfg.active_expire_effort = 1;
    e->cfg.hz = 10;
    e->cfg.latency_tracking = true;
    e->cfg.hll_sparse_max_bytes = HLL_SPARSE_MAX_BYTES_DEFAULT;
    e->cfg.maxmemory = 0;
    e->cfg.maxmemory_policy = EVICT_NOEVICTION;
    e->cfg.maxmemory_samples = 5;
    e->cfg.maxmemory_eviction_tenacity = 10;
    e->next_client_id = 1;
    e->active_expire_enabled = true;
    e->start_ms = now_ms;
    e->lastsave_ms = now_ms;
    build_registry(e);
}

/* The databases' hash seed (one for all: a set keeps its table's seed when
 * MOVE takes it to another database, and a snapshot loads it with its new
 * database's): a function of the data seed alone, so that a node that
 * replays a log or loads a snapshot with the data seed they carry hashes
 * as the node that wrote them. */
static uint64_t db_seed(uint64_t data_seed)
{
    uint64_t z = data_seed + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

bool engine_set_data_seed(engine *e, uint64_t seed)
{
    for (int i = 0; i < e->ndbs; i++)
        if (db_size(engine_db(e, i)) != 0)
            return seed == e->data_seed;
    e->data_seed = seed;
    for (int i = 0; i < e->ndbs; i++) {
        db *d = engine_db(e, i);
        uint64_t s = db_seed(seed);
        d->keys.seed = s;
        d->expires.seed = s ^ 0x5bd1e9955bd1e995ULL;
    }
    return true;
}

bool engine_set_databases(engine *e, int n)
{
    if (n < 1 || n > 1024)
        return false;
    for (int i = 0; i < e->ndbs; i++)
        if (db_size(engine_db(e, i)) != 0)
            return false;
    /* Drop what there was (empty), then build n databases. Seeds come from
     * the PRNG in order, so the layout depends only on the node's seed. */
    for (int i = 0; i < e->ndbs; i++) {
        db_free(engine_db(e, i));
        dict_free(&e->watched[i]);
    }
    free(e->more_dbs);
    free(e->watched);
    e->ndbs = n;
    e->more_dbs = n > 1 ? calloc((size_t)n - 1, sizeof(db)) : NULL;
    e->watched = calloc((size_t)n, sizeof(dict));
    if ((n > 1 && e->more_dbs == NULL) || e->watched == NULL)
        abort();
    if (e->data_seed == 0)
        e->data_seed = kprng_next(&e->rng) | 1;
    for (int i = 0; i < n; i++) {
        db *d = engine_db(e, i);
        db_init(d, db_seed(e->data_seed));
        d->keep_expired = &e->keep_expired;
        d->id = i;
        d->on_modified = on_modified;
        d->hook_ctx = e;
        db_set_clock(d, e->now_ms);
        dict_init(&e->watched[i], &watch_type, kprng_next(&e->rng));
    }
    return true;
}

static void reset_entry_stats(cmd_entry *ce, bool release);

void engine_free(engine *e)
{
    while (e->clients)
        engine_client_free(e, e->clients);
    engine_blocking_free(e);
    for (int i = 0; i < e->ndbs; i++) {
        db_free(engine_db(e, i));
        dict_free(&e->watched[i]);
    }
    free(e->more_dbs);
    free(e->watched);
    for (int i = 0; i < e->ncmds; i++) {
        reset_entry_stats(&e->cmds[i], true);
        free(e->cmds[i].subs);
    }
    free(e->cmds);
    free(e->errors);
    free(e->cfg.requirepass);
    memset(e, 0, sizeof(*e));
}

client *engine_client_new(engine *e, int64_t now_ms)
{
    client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->id = e->next_client_id++;
    c->resp = 2;
    c->fd = -1;
    c->ctime_ms = now_ms;
    c->last_ms = now_ms;
    c->authenticated = e->cfg.requirepass == NULL;
    c->prev = e->clients_tail;
    if (e->clients_tail)
        e->clients_tail->next = c;
    else
        e->clients = c;
    e->clients_tail = c;
    e->nclients++;
    e->stats.connections++;
    return c;
}

client *engine_client_new_detached(engine *e)
{
    (void)e;
    client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->resp = 2;
    c->fd = -1;
    c->authenticated = true;
    return c;
}

void engine_client_free_detached(engine *e, client *c)
{
    if (c == NULL)
        return;
    engine_end_transaction(e, c);
    free(c->queue);
    free(c->watched);
    free(c->name);
    free(c);
}

void engine_end_transaction(engine *e, client *c)
{
    engine_discard_queue(c);
    c->flags &= ~(CLIENT_MULTI | CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC);
    engine_unwatch_all(e, c);
}

void engine_discard_queue(client *c)
{
    for (int i = 0; i < c->nqueue; i++)
        free(c->queue[i].argv);
    c->nqueue = 0;
}

void engine_client_free(engine *e, client *c)
{
    engine_unblock_client_freed(e, c);
    engine_unwatch_all(e, c);
    engine_discard_queue(c);
    free(c->queue);
    free(c->watched);
    free(c->name);
    if (c->prev)
        c->prev->next = c->next;
    else
        e->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        e->clients_tail = c->prev;
    e->nclients--;
    free(c);
}

/* ------------------------------------------------------------------------ */
/* Errors and stats */

void engine_count_error(engine *e, const char *msg, size_t len)
{
    e->stats.error_replies++;
    const char *code = "ERR";
    size_t clen = 3;
    if (len > 0 && msg[0] == '-') {
        /* The code runs to the first space within 32 bytes; else "ERR". */
        const char *sp = memchr(msg, ' ', len < 32 ? len : 32);
        if (sp) {
            code = msg + 1;
            clen = (size_t)(sp - msg) - 1;
        }
    }
    for (int i = 0; i < e->nerrors; i++) {
        if (strlen(e->errors[i].code) == clen && memcmp(e->errors[i].code, code, clen) == 0) {
            e->errors[i].count++;
            return;
        }
    }
    /* Redis stops tracking new codes past 128 of them. */
    if (e->nerrors >= 128 || clen >= sizeof(e->errors[0].code))
        return;
    if (e->nerrors == e->caperrors) {
        e->caperrors = e->caperrors ? e->caperrors * 2 : 8;
        e->errors = realloc(e->errors, (size_t)e->caperrors * sizeof(*e->errors));
        if (e->errors == NULL)
            abort();
    }
    error_stat *s = &e->errors[e->nerrors++];
    memcpy(s->code, code, clen);
    s->code[clen] = '\0';
    s->count = 1;
}

static void reset_entry_stats(cmd_entry *ce, bool release)
{
    lathist *lat = ce->stats.lat;
    memset(&ce->stats, 0, sizeof(ce->stats));
    if (release)
        free(lat);
    else if (lat)
        memset(lat, 0, sizeof(*lat));
    ce->stats.lat = release ? NULL : lat;
    for (int i = 0; i < ce->nsubs; i++)
        reset_entry_stats(&ce->subs[i], release);
}

void engine_reset_stats(engine *e)
{
    for (int i = 0; i < e->ncmds; i++)
        reset_entry_stats(&e->cmds[i], false);
    uint64_t dirty = e->stats.dirty;
    memset(&e->stats, 0, sizeof(e->stats));
    e->stats.dirty = dirty;
    e->nerrors = 0;
    for (int i = 0; i < e->ndbs; i++)
        engine_db(e, i)->stats = (db_stats){0};
}

/* ------------------------------------------------------------------------ */
/* Dispatch */

static bool is_multi_control(const cmd_entry *ce)
{
    const char *n = ce->def->name;
    return ce->parent == NULL &&
           (!strcmp(n, "exec") || !strcmp(n, "discard") || !strcmp(n, "multi") ||
            !strcmp(n, "watch") || !strcmp(n, "quit") || !strcmp(n, "reset"));
}

/* Refuses a command before it runs, as Redis's rejectCommand: the error is
 * counted, a transaction being queued is flagged, and an EXEC refused
 * aborts its transaction with EXECABORT. */
static void reject(cmd_ctx *x, const cmd_entry *ce, const char *msg)
{
    client *c = x->cl;
    if (c->flags & CLIENT_MULTI)
        c->flags |= CLIENT_DIRTY_EXEC;
    if (ce) {
        ((cmd_entry *)ce)->stats.rejected_calls++;
        x->eng->stats.rejected_calls++;
    }
    if (ce && ce->parent == NULL && !strcmp(ce->def->name, "exec")) {
        engine_end_transaction(x->eng, c);
        reply_errorf(x, "-EXECABORT Transaction discarded because of: %s", msg[0] == '-' ? msg + 1 : msg);
        return;
    }
    reply_error(x, msg);
}

/* Redis prints arguments in errors with %s: a NUL ends them. */
static int cstr_len(const resp_slice *a, int max)
{
    const char *nul = memchr(a->ptr, '\0', a->len);
    size_t n = nul ? (size_t)(nul - a->ptr) : a->len;
    return (int)(n < (size_t)max ? n : (size_t)max);
}

static void reject_unknown(cmd_ctx *x, int argc, const resp_slice *argv)
{
    const cmd_entry *base = find_in(x->eng->cmds, x->eng->ncmds, argv[0].ptr, argv[0].len);
    kbuf msg = KBUF_INIT;
    char tmp[256];
    if (base && base->subs) {
        char up[48];
        int n = cstr_len(&argv[0], 47);
        for (int i = 0; i < n; i++)
            up[i] = (char)toupper((unsigned char)argv[0].ptr[i]);
        up[n] = '\0';
        int l = snprintf(tmp, sizeof(tmp), "unknown subcommand '%.*s'. Try %s HELP.",
                         cstr_len(&argv[1], 128), argv[1].ptr, up);
        kbuf_append(&msg, tmp, (size_t)l);
    } else {
        kbuf args = KBUF_INIT;
        for (int i = 1; i < argc && args.len < 128; i++) {
            int l = snprintf(tmp, sizeof(tmp), "'%.*s' ", cstr_len(&argv[i], 128 - (int)args.len),
                             argv[i].ptr);
            kbuf_append(&args, tmp, (size_t)l);
        }
        int l = snprintf(tmp, sizeof(tmp), "unknown command '%.*s', with args beginning with: ",
                         cstr_len(&argv[0], 128), argv[0].ptr);
        kbuf_append(&msg, tmp, (size_t)l);
        kbuf_append(&msg, args.data, args.len);
        kbuf_free(&args);
    }
    kbuf_putc(&msg, '\0');
    reject(x, NULL, msg.data);
    kbuf_free(&msg);
}

static void queue_command(client *c, const cmd_entry *ce, int argc, const resp_slice *argv)
{
    size_t bytes = 0;
    for (int i = 0; i < argc; i++)
        bytes += argv[i].len;
    resp_slice *copy = malloc((size_t)argc * sizeof(resp_slice) + bytes);
    if (copy == NULL)
        abort();
    char *p = (char *)(copy + argc);
    for (int i = 0; i < argc; i++) {
        if (argv[i].len)
            memcpy(p, argv[i].ptr, argv[i].len);
        copy[i].ptr = p;
        copy[i].len = argv[i].len;
        p += argv[i].len;
    }
    if (c->nqueue == c->capqueue) {
        c->capqueue = c->capqueue ? c->capqueue * 2 : 8;
        c->queue = realloc(c->queue, (size_t)c->capqueue * sizeof(*c->queue));
        if (c->queue == NULL)
            abort();
    }
    c->queue[c->nqueue++] = (queued_cmd){ce, argc, copy};
}

/* Runs a command that passed the checks (Redis's call()). */
void engine_call(cmd_ctx *x, const cmd_entry *ce, int argc, const resp_slice *argv)
{
    cmd_ctx sub = *x;
    sub.argc = argc;
    sub.argv = argv;
    sub.cmd = ce;
    sub.failed = false;
    engine *e = x->eng;
    uint64_t t0 = e->clock_us ? e->clock_us(e->clock_ctx) : 0;
    ce->def->fn(&sub);
    cmd_entry *m = (cmd_entry *)ce;
    if (e->clock_us) {
        uint64_t t1 = e->clock_us(e->clock_ctx);
        uint64_t dt = t1 > t0 ? t1 - t0 : 0;
        m->stats.usec += dt;
        if (e->cfg.latency_tracking) {
            if (m->stats.lat == NULL && (m->stats.lat = calloc(1, sizeof(lathist))) == NULL)
                abort();
            lathist_add(m->stats.lat, dt);
        }
    }
    m->stats.calls++;
    if (sub.failed)
        m->stats.failed_calls++;
    x->eng->stats.commands++;
    x->cl->last_cmd = ce->fullname;
}

/* Drains a transaction's queue (EXEC). */
void engine_exec_queue(cmd_ctx *x)
{
    client *c = x->cl;
    /* The queue is detached first: a command in it cannot touch it. */
    queued_cmd *q = c->queue;
    int n = c->nqueue;
    c->queue = NULL;
    c->nqueue = c->capqueue = 0;
    reply_array(x, n);
    /* Blocking commands in a transaction answer at once (a timeout's
     * reply when there is nothing to pop), as in Redis. */
    c->flags |= CLIENT_DENY_BLOCKING;
    for (int i = 0; i < n; i++) {
        engine_call(x, q[i].cmd, q[i].argc, q[i].argv);
        free(q[i].argv);
    }
    c->flags &= ~CLIENT_DENY_BLOCKING;
    free(q);
}

/* Over maxmemory, Redis's processCommand refuses commands that may grow
 * memory (DENYOOM, or an EXEC with one queued), and anything but EXEC,
 * DISCARD, QUIT and RESET while a transaction is queued. */
static bool oom_refuses(const client *c, const cmd_entry *ce)
{
    if (ce->def->flags & CMD_DENYOOM)
        return true;
    bool top = ce->parent == NULL;
    const char *n = ce->def->name;
    if (top && !strcmp(n, "exec")) {
        for (int i = 0; i < c->nqueue; i++)
            if (c->queue[i].cmd->def->flags & CMD_DENYOOM)
                return true;
        return false;
    }
    if (c->flags & CLIENT_MULTI)
        return !(top && (!strcmp(n, "discard") || !strcmp(n, "quit") || !strcmp(n, "reset")));
    return false;
}

/* Redis's processCommand checks before maxmemory, in its order (a
 * command applied from the log passed auth when it was proposed). *ce:
 * the command, NULL when unknown. */
typedef enum { ADMIT_OK, ADMIT_UNKNOWN, ADMIT_ARITY, ADMIT_NOAUTH, ADMIT_NO_MULTI } admit_result;

static admit_result admit(engine *e, const client *c, int argc, const resp_slice *argv,
                          const cmd_entry **ce)
{
    *ce = engine_lookup(e, argc, argv);
    if (*ce == NULL)
        return ADMIT_UNKNOWN;
    const cmd_def *def = (*ce)->def;
    if ((def->arity > 0 && def->arity != argc) || argc < -def->arity)
        return ADMIT_ARITY;
    uint64_t flags = def->flags | ((*ce)->parent ? (*ce)->parent->def->flags & CMD_NO_AUTH : 0);
    if (!(c->flags & CLIENT_FROM_LOG) && !c->authenticated && e->cfg.requirepass &&
        !(flags & CMD_NO_AUTH))
        return ADMIT_NOAUTH;
    if ((c->flags & CLIENT_MULTI) && (def->flags & CMD_NO_MULTI))
        return ADMIT_NO_MULTI;
    return ADMIT_OK;
}

void engine_execute(engine *e, client *c, int argc, const resp_slice *argv, int64_t now_ms,
                    kbuf *out)
{
    if (argc <= 0)
        return;
    if (now_ms > e->now_ms)
        e->now_ms = now_ms;
    e->keep_expired = e->log_expiry && !(c->flags & CLIENT_FROM_LOG);
    db *d = engine_db(e, c->db);
    db_set_clock(d, now_ms);
    c->last_ms = now_ms;

    cmd_ctx x = {
        .eng = e, .cl = c, .db = d, .out = out, .argc = argc, .argv = argv,
        .now_ms = now_ms, .rng = &e->rng, .cmd = NULL, .failed = false,
    };

    const cmd_entry *ce;
    switch (admit(e, c, argc, argv, &ce)) {
    case ADMIT_OK:
        break;
    case ADMIT_UNKNOWN:
        reject_unknown(&x, argc, argv);
        return;
    case ADMIT_ARITY: {
        char msg[96];
        snprintf(msg, sizeof(msg), "wrong number of arguments for '%s' command", ce->fullname);
        reject(&x, ce, msg);
        return;
    }
    case ADMIT_NOAUTH:
        reject(&x, ce, "-NOAUTH Authentication required.");
        return;
    case ADMIT_NO_MULTI:
        reject(&x, ce, "Command not allowed inside a transaction");
        return;
    }
    bool from_log = c->flags & CLIENT_FROM_LOG;
    if (!from_log && e->cfg.maxmemory && !engine_evict(e) && oom_refuses(c, ce)) {
        reject(&x, ce, "-OOM command not allowed when used memory > 'maxmemory'.");
        return;
    }
    if ((c->flags & CLIENT_MULTI) && !is_multi_control(ce)) {
        queue_command(c, ce, argc, argv);
        kbuf_append(out, "+QUEUED\r\n", 9);
        return;
    }
    engine_call(&x, ce, argc, argv);
    /* Clients waiting on keys this command wrote are served now, before
     * anything else runs. */
    engine_serve_ready(e, now_ms);
}

engine_route engine_route_command(engine *e, client *c, int argc, const resp_slice *argv,
                                  int64_t now_ms)
{
    const cmd_entry *ce;
    if (argc <= 0 || admit(e, c, argc, argv, &ce) != ADMIT_OK)
        return ROUTE_RUN; /* refused now */
    if (c->flags & CLIENT_MULTI) {
        if (ce->parent || strcmp(ce->def->name, "exec"))
            return ROUTE_RUN; /* queued, refused, or a transaction control */
        /* An EXEC that will abort does so at once; one with no write has
         * nothing to log. */
        if (engine_watched_expired(e, c, now_ms))
            c->flags |= CLIENT_DIRTY_CAS;
        if (c->flags & (CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC))
            return ROUTE_RUN;
        if (e->cfg.maxmemory && !engine_evict(e) && oom_refuses(c, ce))
            return ROUTE_RUN;
        for (int i = 0; i < c->nqueue; i++)
            if (c->queue[i].cmd->def->flags & CMD_WRITE)
                return ROUTE_PROPOSE_EXEC;
        return ROUTE_RUN;
    }
    if (!(ce->def->flags & CMD_WRITE))
        return ROUTE_RUN;
    if (e->cfg.maxmemory && !engine_evict(e) && oom_refuses(c, ce))
        return ROUTE_RUN; /* refused with -OOM now, not logged */
    return ROUTE_PROPOSE;
}

uint64_t engine_instantaneous_ops(const engine_stats *s)
{
    uint64_t sum = 0;
    for (int i = 0; i < 16; i++)
        sum += s->ops_samples[i];
    return sum / 16;
}

static void track_ops(engine *e, int64_t now_ms)
{
    engine_stats *s = &e->stats;
    if (s->ops_sample_ms == 0) {
        s->ops_sample_ms = now_ms;
        s->ops_sample_commands = s->commands;
        return;
    }
    int64_t dt = now_ms - s->ops_sample_ms;
    if (dt < 100)
        return;
    s->ops_samples[s->ops_sample_idx] = (s->commands - s->ops_sample_commands) * 1000 / (uint64_t)dt;
    s->ops_sample_idx = (s->ops_sample_idx + 1) % 16;
    s->ops_sample_ms = now_ms;
    s->ops_sample_commands = s->commands;
}

void engine_tick(engine *e, int64_t now_ms)
{
    if (now_ms > e->now_ms)
        e->now_ms = now_ms;
    track_ops(e, now_ms);
    int loops = 4 + 4 * (int)e->cfg.active_expire_effort;
    e->keep_expired = false;
    int64_t expire_at = e->log_expiry && e->log_time < now_ms ? e->log_time : now_ms;
    /* Databases without keys with a TTL cost nothing here. */
    for (int i = 0; i < e->ndbs; i++) {
        db *d = engine_db(e, i);
        db_set_clock(d, now_ms);
        if (e->active_expire_enabled && db_expires_count(d))
            e->stats.expired_by_cycle += db_active_expire(d, &e->rng, expire_at, loops);
        db_rehash_step(d, 100);
    }
    engine_block_timeouts(e, now_ms);
}
