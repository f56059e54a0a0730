/* CONFIG GET/SET/RESETSTAT/REWRITE/HELP and the parameter table, with
 * Redis 7.0's parsing rules and error texts (config.c). See config.h. */
#include "core/cmd/config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"
#include "core/cmd/info.h"
#include "core/util/glob.h"

/* ------------------------------------------------------------------------ */
/* The core's parameters (their values live in engine_config) */

#define CFG_OFF(field) offsetof(engine_config, field)

/* Redis's updateHZ: hz is a hint, so out-of-range values are clamped. */
static bool apply_hz(engine *e, void *base, char *err)
{
    (void)e;
    (void)err;
    engine_config *c = base;
    if (c->hz < 1)
        c->hz = 1;
    if (c->hz > 500)
        c->hz = 500;
    return true;
}

static void get_databases(engine *e, void *base, kbuf *out)
{
    (void)base;
    char n[16];
    int l = snprintf(n, sizeof(n), "%d", e->ndbs);
    kbuf_append(out, n, (size_t)l);
}

static const char *const sanitize_dump_names[] = {"no", "yes", "clients", NULL};

/* In EVICT_* order (engine.h). */
static const char *const maxmemory_policies[] = {
    "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
    "allkeys-lru",  "allkeys-lfu",  "allkeys-random",  "noeviction", NULL,
};

static const config_def core_configs[] = {
    {.name = "active-expire-effort", .type = CONFIG_INT, .min = 1, .max = 10,
     .offset = CFG_OFF(active_expire_effort)},
    {.name = "databases", .type = CONFIG_SPECIAL, .flags = CONFIG_IMMUTABLE, .get = get_databases},
    {.name = "hash-max-listpack-entries", .alias = "hash-max-ziplist-entries", .type = CONFIG_INT,
     .min = 0, .max = LONG_MAX, .offset = CFG_OFF(hash_max_listpack_entries)},
    {.name = "hash-max-listpack-value", .alias = "hash-max-ziplist-value", .type = CONFIG_MEMORY,
     .min = 0, .max = LONG_MAX, .offset = CFG_OFF(hash_max_listpack_value)},
    {.name = "list-max-listpack-size", .alias = "list-max-ziplist-size", .type = CONFIG_INT,
     .min = INT_MIN, .max = INT_MAX, .offset = CFG_OFF(list_max_listpack_size)},
    {.name = "list-compress-depth", .type = CONFIG_INT, .min = 0, .max = INT_MAX,
     .offset = CFG_OFF(list_compress_depth)},
    {.name = "zset-max-listpack-entries", .alias = "zset-max-ziplist-entries", .type = CONFIG_INT,
     .min = 0, .max = LONG_MAX, .offset = CFG_OFF(zset_max_listpack_entries)},
    {.name = "zset-max-listpack-value", .alias = "zset-max-ziplist-value", .type = CONFIG_MEMORY,
     .min = 0, .max = LONG_MAX, .offset = CFG_OFF(zset_max_listpack_value)},
    {.name = "set-max-intset-entries", .type = CONFIG_INT, .min = 0, .max = LONG_MAX,
     .offset = CFG_OFF(set_max_intset_entries)},
    {.name = "hz", .type = CONFIG_INT, .min = 0, .max = INT_MAX, .offset = CFG_OFF(hz),
     .apply = apply_hz},
    {.name = "proto-max-bulk-len", .type = CONFIG_MEMORY, .min = 1024 * 1024, .max = LONG_MAX,
     .offset = CFG_OFF(proto_max_bulk_len)},
    {.name = "requirepass", .type = CONFIG_STRING, .flags = CONFIG_SENSITIVE,
     .offset = CFG_OFF(requirepass)},
    {.name = "hll-sparse-max-bytes", .type = CONFIG_MEMORY, .min = 0, .max = LONG_MAX,
     .offset = CFG_OFF(hll_sparse_max_bytes)},
    {.name = "sanitize-dump-payload", .type = CONFIG_ENUM, .enum_names = sanitize_dump_names,
     .offset = CFG_OFF(sanitize_dump_payload)},
    {.name = "latency-tracking", .type = CONFIG_BOOL, .offset = CFG_OFF(latency_tracking)},
    {.name = "maxmemory", .type = CONFIG_MEMORY, .min = 0, .max = LLONG_MAX,
     .offset = CFG_OFF(maxmemory)},
    {.name = "maxmemory-policy", .type = CONFIG_ENUM, .enum_names = maxmemory_policies,
     .offset = CFG_OFF(maxmemory_policy)},
    {.name = "maxmemory-samples", .type = CONFIG_INT, .min = 1, .max = 64,
     .offset = CFG_OFF(maxmemory_samples)},
    {.name = "maxmemory-eviction-tenacity", .type = CONFIG_INT, .min = 0, .max = 100,
     .offset = CFG_OFF(maxmemory_eviction_tenacity)},
    {0},
};

/* Every table in lookup order: the core's, then the driver's. */
static int ntables(const engine *e) { return 1 + e->nconfig_regs; }

static const config_def *table_defs(engine *e, int i, void **base)
{
    if (i == 0) {
        *base = &e->cfg;
        return core_configs;
    }
    *base = e->config_regs[i - 1].base;
    return e->config_regs[i - 1].defs;
}

static bool name_eq(const char *name, const char *s, size_t len)
{
    return name && strlen(name) == len && strncasecmp(name, s, len) == 0 &&
           memchr(s, '\0', len) == NULL;
}

const config_def *config_lookup(engine *e, const char *name, size_t len, void **base,
                                bool *is_alias)
{
    for (int t = 0; t < ntables(e); t++) {
        void *b;
        for (const config_def *d = table_defs(e, t, &b); d->name; d++) {
            bool n = name_eq(d->name, name, len), a = name_eq(d->alias, name, len);
            if (n || a) {
                if (base)
                    *base = b;
                if (is_alias)
                    *is_alias = a && !n;
                return d;
            }
        }
    }
    return NULL;
}

int config_register(engine *e, const config_def *defs, void *base)
{
    if (e->nconfig_regs >= ENGINE_MAX_CONFIG_REGS)
        return -1;
    for (const config_def *d = defs; d->name; d++) {
        if (config_lookup(e, d->name, strlen(d->name), NULL, NULL))
            return -1;
        if (d->alias && config_lookup(e, d->alias, strlen(d->alias), NULL, NULL))
            return -1;
    }
    e->config_regs[e->nconfig_regs++] = (config_reg){defs, base};
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Values */

/* Redis parses most values as C strings: a NUL ends them. */
static size_t cstrlen(const char *v, size_t len)
{
    const char *nul = memchr(v, '\0', len);
    return nul ? (size_t)(nul - v) : len;
}

static bool word_is(const char *v, size_t len, const char *w)
{
    len = cstrlen(v, len);
    return strlen(w) == len && strncasecmp(v, w, len) == 0;
}

/* Redis's memtoull: digits then an optional unit (b k kb m mb g gb, any
 * case); no sign. Overflow saturates then wraps as strtoull and the
 * unsigned multiplication do. */
bool config_parse_memory_value(const char *v, size_t len, unsigned long long *out)
{
    len = cstrlen(v, len);
    if (len > 0 && v[0] == '-')
        return false;
    size_t digits = 0;
    while (digits < len && isdigit((unsigned char)v[digits]))
        digits++;
    const char *u = v + digits;
    size_t ulen = len - digits;
    unsigned long long mul;
    if (ulen == 0 || word_is(u, ulen, "b"))
        mul = 1;
    else if (word_is(u, ulen, "k"))
        mul = 1000;
    else if (word_is(u, ulen, "kb"))
        mul = 1024;
    else if (word_is(u, ulen, "m"))
        mul = 1000 * 1000;
    else if (word_is(u, ulen, "mb"))
        mul = 1024 * 1024;
    else if (word_is(u, ulen, "g"))
        mul = 1000ULL * 1000 * 1000;
    else if (word_is(u, ulen, "gb"))
        mul = 1024ULL * 1024 * 1024;
    else
        return false;
    if (digits >= 128)
        return false;
    unsigned long long val = 0;
    for (size_t i = 0; i < digits; i++) {
        unsigned d = (unsigned)(v[i] - '0');
        if (val > (ULLONG_MAX - d) / 10) {
            val = ULLONG_MAX;
            break;
        }
        val = val * 10 + d;
    }
    *out = val * mul;
    return true;
}

static bool set_numeric(const config_def *d, void *base, const char *v, size_t len, char *err)
{
    long long ll;
    if (d->type == CONFIG_MEMORY) {
        unsigned long long u;
        if (!config_parse_memory_value(v, len, &u)) {
            snprintf(err, CONFIG_ERR_MAX, "argument must be a memory value");
            return false;
        }
        ll = (long long)u;
    } else if (!resp_string2ll(v, len, &ll)) {
        snprintf(err, CONFIG_ERR_MAX, "argument couldn't be parsed into an integer");
        return false;
    }
    if (d->min >= 0) {
        /* Redis's unsigned parameters compare as unsigned: a negative
         * value is a huge one. */
        unsigned long long u = (unsigned long long)ll;
        if (u > (unsigned long long)d->max || u < (unsigned long long)d->min) {
            snprintf(err, CONFIG_ERR_MAX, "argument must be between %llu and %llu inclusive",
                     (unsigned long long)d->min, (unsigned long long)d->max);
            return false;
        }
    } else if (ll > d->max || ll < d->min) {
        snprintf(err, CONFIG_ERR_MAX, "argument must be between %lld and %lld inclusive", d->min,
                 d->max);
        return false;
    }
    *(long long *)((char *)base + d->offset) = ll;
    return true;
}

static bool set_enum(const config_def *d, void *base, const char *v, size_t len, char *err)
{
    for (int i = 0; d->enum_names[i]; i++) {
        if (word_is(v, len, d->enum_names[i])) {
            *(int *)((char *)base + d->offset) = i;
            return true;
        }
    }
    int n = snprintf(err, CONFIG_ERR_MAX, "argument(s) must be one of the following: ");
    for (int i = 0; d->enum_names[i] && n >= 0 && n < CONFIG_ERR_MAX; i++)
        n += snprintf(err + n, (size_t)(CONFIG_ERR_MAX - n), "%s%s", i ? ", " : "",
                      d->enum_names[i]);
    return false;
}

/* Parses and stores one value (no apply). */
static bool set_value(engine *e, const config_def *d, void *base, const char *v, size_t len,
                      char *err)
{
    char *p = (char *)base + d->offset;
    switch (d->type) {
    case CONFIG_BOOL:
        if (word_is(v, len, "yes"))
            *(bool *)p = true;
        else if (word_is(v, len, "no"))
            *(bool *)p = false;
        else {
            snprintf(err, CONFIG_ERR_MAX, "argument must be 'yes' or 'no'");
            return false;
        }
        return true;
    case CONFIG_INT:
    case CONFIG_MEMORY:
        return set_numeric(d, base, v, len, err);
    case CONFIG_STRING: {
        char **s = (char **)p;
        size_t n = cstrlen(v, len);
        char *copy = NULL;
        if (n > 0) {
            copy = malloc(n + 1);
            if (copy == NULL)
                abort();
            memcpy(copy, v, n);
            copy[n] = '\0';
        }
        free(*s);
        *s = copy;
        return true;
    }
    case CONFIG_ENUM:
        return set_enum(d, base, v, len, err);
    case CONFIG_SPECIAL:
        if (d->set == NULL) {
            snprintf(err, CONFIG_ERR_MAX, "can't set immutable config");
            return false;
        }
        return d->set(e, base, v, len, err);
    }
    snprintf(err, CONFIG_ERR_MAX, "unknown error");
    return false;
}

void config_get_value(engine *e, const config_def *d, void *base, kbuf *out)
{
    const char *p = (const char *)base + d->offset;
    char num[32];
    switch (d->type) {
    case CONFIG_BOOL:
        kbuf_append(out, *(const bool *)p ? "yes" : "no", *(const bool *)p ? 3 : 2);
        return;
    case CONFIG_INT:
        kbuf_append(out, num, (size_t)snprintf(num, sizeof(num), "%lld", *(const long long *)p));
        return;
    case CONFIG_MEMORY:
        kbuf_append(out, num,
                    (size_t)snprintf(num, sizeof(num), "%llu", (unsigned long long)*(const long long *)p));
        return;
    case CONFIG_STRING: {
        const char *s = *(char *const *)p;
        if (s)
            kbuf_append(out, s, strlen(s));
        return;
    }
    case CONFIG_ENUM: {
        int i = *(const int *)p, n = 0;
        while (d->enum_names[n])
            n++;
        const char *s = i >= 0 && i < n ? d->enum_names[i] : "unknown";
        kbuf_append(out, s, strlen(s));
        return;
    }
    case CONFIG_SPECIAL:
        d->get(e, base, out);
        return;
    }
}

bool config_set_one(engine *e, const config_def *d, void *base, const char *v, size_t len, char *err)
{
    kbuf old = KBUF_INIT, now = KBUF_INIT;
    config_get_value(e, d, base, &old);
    bool ok = set_value(e, d, base, v, len, err);
    if (ok && d->apply) {
        config_get_value(e, d, base, &now);
        bool changed = old.len != now.len || (old.len && memcmp(old.data, now.data, old.len) != 0);
        if (changed && !d->apply(e, base, err)) {
            char ignored[CONFIG_ERR_MAX];
            set_value(e, d, base, old.data ? old.data : "", old.len, ignored);
            ok = false;
        }
    }
    kbuf_free(&old);
    kbuf_free(&now);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* CONFIG GET */

typedef struct config_match {
    const char *name; /* as replied: the argument for an exact name, else the table's */
    size_t len;
    const config_def *def;
    void *base;
} config_match;

typedef struct match_set {
    config_match *v;
    int n, cap;
} match_set;

static bool match_has(const match_set *m, const char *name, size_t len)
{
    for (int i = 0; i < m->n; i++)
        if (m->v[i].len == len && strncasecmp(m->v[i].name, name, len) == 0)
            return true;
    return false;
}

static void match_add(match_set *m, const char *name, size_t len, const config_def *d, void *base)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = realloc(m->v, (size_t)m->cap * sizeof(*m->v));
        if (m->v == NULL)
            abort();
    }
    m->v[m->n++] = (config_match){name, len, d, base};
}

static void match_pattern(match_set *m, const resp_slice *pat, const char *name,
                          const config_def *d, void *base)
{
    size_t len = strlen(name);
    if (!match_has(m, name, len) && glob_match(pat->ptr, pat->len, name, len, true))
        match_add(m, name, len, d, base);
}

static void config_get_cmd(cmd_ctx *x)
{
    engine *e = x->eng;
    match_set m = {0};
    for (int i = 2; i < x->argc; i++) {
        const resp_slice *a = &x->argv[i];
        size_t clen = cstrlen(a->ptr, a->len);
        bool glob = memchr(a->ptr, '*', clen) || memchr(a->ptr, '?', clen) ||
                    memchr(a->ptr, '[', clen);
        if (!glob) {
            if (match_has(&m, a->ptr, a->len))
                continue;
            void *base;
            const config_def *d = config_lookup(e, a->ptr, a->len, &base, NULL);
            if (d)
                match_add(&m, a->ptr, a->len, d, base);
            continue;
        }
        for (int t = 0; t < ntables(e); t++) {
            void *base;
            for (const config_def *d = table_defs(e, t, &base); d->name; d++) {
                if (d->flags & CONFIG_HIDDEN)
                    continue;
                match_pattern(&m, a, d->name, d, base);
                if (d->alias)
                    match_pattern(&m, a, d->alias, d, base);
            }
        }
    }
    reply_map(x, m.n);
    kbuf val = KBUF_INIT;
    for (int i = 0; i < m.n; i++) {
        reply_bulk(x, m.v[i].name, m.v[i].len);
        kbuf_clear(&val);
        config_get_value(e, m.v[i].def, m.v[i].base, &val);
        reply_bulk(x, val.data ? val.data : "", val.len);
    }
    kbuf_free(&val);
    free(m.v);
}

/* ------------------------------------------------------------------------ */
/* CONFIG SET */

typedef struct set_item {
    const config_def *def;
    void *base;
    const char *name; /* the table's name for it (the alias if found by it) */
    kbuf old;
    bool changed;
} set_item;

/* Puts back the old values of items[0..n). */
static void restore(engine *e, set_item *items, int n)
{
    char ignored[CONFIG_ERR_MAX];
    for (int i = 0; i < n; i++)
        set_value(e, items[i].def, items[i].base, items[i].old.data ? items[i].old.data : "",
                  items[i].old.len, ignored);
}

static void config_set_cmd(cmd_ctx *x)
{
    engine *e = x->eng;
    if (x->argc & 1) {
        reply_error(x, ERR_SYNTAX);
        return;
    }
    int n = (x->argc - 2) / 2;
    set_item *items = calloc((size_t)n, sizeof(*items));
    if (items == NULL)
        abort();
    const resp_slice *unknown = NULL, *err_arg = NULL;
    const char *errstr = NULL;
    char err[CONFIG_ERR_MAX];
    bool invalid = false;

    for (int i = 0; i < n; i++) {
        const resp_slice *name = &x->argv[2 + 2 * i];
        bool is_alias;
        void *base;
        const config_def *d = config_lookup(e, name->ptr, name->len, &base, &is_alias);
        if (d == NULL) {
            if (!invalid) {
                unknown = name;
                invalid = true;
            }
            continue;
        }
        if (invalid)
            continue;
        if (d->flags & CONFIG_IMMUTABLE) {
            errstr = "can't set immutable config";
            err_arg = name;
            invalid = true;
            continue;
        }
        for (int j = 0; j < i; j++) {
            if (items[j].def == d) {
                errstr = "duplicate parameter";
                err_arg = name;
                invalid = true;
                break;
            }
        }
        items[i].def = d;
        items[i].base = base;
        items[i].name = is_alias ? d->alias : d->name;
    }

    const char *failed_name = NULL;
    int stored = 0;
    if (!invalid) {
        for (int i = 0; i < n; i++)
            config_get_value(e, items[i].def, items[i].base, &items[i].old);
        for (int i = 0; i < n; i++) {
            const resp_slice *v = &x->argv[3 + 2 * i];
            if (!set_value(e, items[i].def, items[i].base, v->ptr, v->len, err)) {
                restore(e, items, i + 1);
                failed_name = items[i].name;
                errstr = err;
                break;
            }
            stored = i + 1;
            kbuf now = KBUF_INIT;
            config_get_value(e, items[i].def, items[i].base, &now);
            items[i].changed = now.len != items[i].old.len ||
                               (now.len && memcmp(now.data, items[i].old.data, now.len) != 0);
            kbuf_free(&now);
        }
        /* Each apply hook once, after every value is in place. */
        for (int i = 0; failed_name == NULL && i < stored; i++) {
            if (!items[i].changed || items[i].def->apply == NULL)
                continue;
            bool seen = false;
            for (int j = 0; j < i; j++)
                if (items[j].changed && items[j].def->apply == items[i].def->apply &&
                    items[j].base == items[i].base)
                    seen = true;
            if (seen)
                continue;
            err[0] = '\0';
            if (!items[i].def->apply(e, items[i].base, err)) {
                restore(e, items, n);
                failed_name = items[i].name;
                errstr = err[0] ? err : NULL;
                break;
            }
        }
    }

    if (unknown) {
        reply_errorf(x, "Unknown option or number of arguments for CONFIG SET - '%.*s'",
                     (int)cstrlen(unknown->ptr, unknown->len), unknown->ptr);
    } else if (invalid) {
        reply_errorf(x, "CONFIG SET failed (possibly related to argument '%.*s') - %s",
                     (int)cstrlen(err_arg->ptr, err_arg->len), err_arg->ptr, errstr);
    } else if (failed_name) {
        if (errstr)
            reply_errorf(x, "CONFIG SET failed (possibly related to argument '%s') - %s",
                         failed_name, errstr);
        else
            reply_errorf(x, "CONFIG SET failed (possibly related to argument '%s')", failed_name);
    } else {
        reply_ok(x);
    }
    for (int i = 0; i < n; i++)
        kbuf_free(&items[i].old);
    free(items);
}

/* ------------------------------------------------------------------------ */
/* CONFIG RESETSTAT, REWRITE, HELP */

static void config_resetstat_cmd(cmd_ctx *x)
{
    engine_reset_stats(x->eng);
    if (x->eng->info && x->eng->info->reset)
        x->eng->info->reset(x->eng->info->ctx, x->eng);
    reply_ok(x);
}

static void config_rewrite_cmd(cmd_ctx *x)
{
    /* The runtime has the file (and the disk): it does the work. */
    char err[CONFIG_ERR_MAX] = "The server is running without a config file";
    engine *e = x->eng;
    if (e->config_rewrite == NULL || !e->config_rewrite(e->config_rewrite_ctx, e, err)) {
        reply_errorf(x, "%s", err);
        return;
    }
    reply_ok(x);
}

void config_for_each(engine *e, config_each_fn *fn, void *ctx)
{
    for (int t = 0; t < ntables(e); t++) {
        void *base;
        const config_def *defs = table_defs(e, t, &base);
        for (int i = 0; defs[i].name; i++)
            fn(ctx, &defs[i], base);
    }
}

static void config_help_cmd(cmd_ctx *x)
{
    static const char *const help[] = {
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        NULL,
    };
    reply_help(x, help);
}

#define CONFIG_FLAGS (CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE)

const cmd_def config_subcommands[] = {
    {.name = "get", .arity = -3, .flags = CONFIG_FLAGS, .fn = config_get_cmd, .group = "server",
     .since = "2.0.0", .summary = "Get the values of configuration parameters",
     .complexity = "O(N) when N is the number of configuration parameters provided",
     .acl = "@admin @slow @dangerous", .args = "parameter [parameter ...]"},
    {.name = "set", .arity = -4, .flags = CONFIG_FLAGS, .fn = config_set_cmd, .group = "server",
     .since = "2.0.0", .summary = "Set configuration parameters to the given values",
     .complexity = "O(N) when N is the number of configuration parameters provided",
     .acl = "@admin @slow @dangerous", .args = "parameter value [parameter value ...]",
     .tips = "request_policy:all_nodes response_policy:all_succeeded"},
    {.name = "resetstat", .arity = 2, .flags = CONFIG_FLAGS, .fn = config_resetstat_cmd,
     .group = "server", .since = "2.0.0", .summary = "Reset the stats returned by INFO",
     .complexity = "O(1)", .acl = "@admin @slow @dangerous", .args = ""},
    {.name = "rewrite", .arity = 2, .flags = CONFIG_FLAGS, .fn = config_rewrite_cmd,
     .group = "server", .since = "2.8.0",
     .summary = "Rewrite the configuration file with the in memory configuration",
     .complexity = "O(1)", .acl = "@admin @slow @dangerous", .args = ""},
    {.name = "help", .arity = 2, .flags = CMD_LOADING | CMD_STALE, .fn = config_help_cmd,
     .group = "server", .since = "5.0.0",
     .summary = "Show helpful text about the different subcommands", .complexity = "O(1)",
     .acl = "@slow", .args = ""},
    {0},
};
