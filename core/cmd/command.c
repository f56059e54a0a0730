/* COMMAND and its subcommands: COUNT INFO DOCS GETKEYS GETKEYSANDFLAGS LIST
 * HELP, in Redis 7.0's reply shapes, built from the cmd_def tables.
 *
 * - COMMAND INFO gives the 10-element array: name, arity, flags, first
 *   key, last key, step, ACL categories, tips, key specs, subcommands.
 *   Categories are the cmd_def's plus the ones Redis implies from the
 *   flags (setImplicitACLCategories), in Redis's category order. The key
 *   spec is the "range" form of (first, last, step), flagged RW/update for
 *   a write command, RO/access for a read-only one, RO otherwise.
 * - COMMAND DOCS builds each command's argument tree from cmd_def.args, a
 *   syntax string in the notation of Redis's documentation:
 *       key value [NX|XX] [GET] [EX seconds|PX milliseconds|KEEPTTL]
 *       key field value [field value ...]
 *       [TYPE <NORMAL|MASTER|REPLICA|PUBSUB>] [ID client-id [client-id ...]]
 *   A lower-case word is an argument (its type guessed from its name:
 *   "key" or "...key" is a key, "count" an integer, "pattern" a pattern,
 *   ...); an upper-case word is a token, a pure token alone, or the
 *   token in front of the argument(s) or the <...> group that follow it;
 *   [...] is optional; <...> groups without making optional; a|b are
 *   alternatives (oneof), binding loosest inside a group; "x [x ...]"
 *   makes x multiple. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"
#include "core/cmd/info.h"
#include "core/util/glob.h"

/* ------------------------------------------------------------------------ */
/* Flags, ACL categories, tips, key specs */

static const struct {
    uint64_t flag;
    const char *name;
} flag_names[] = {
    {CMD_WRITE, "write"},
    {CMD_READONLY, "readonly"},
    {CMD_DENYOOM, "denyoom"},
    {CMD_MODULE, "module"},
    {CMD_ADMIN, "admin"},
    {CMD_PUBSUB, "pubsub"},
    {CMD_NOSCRIPT, "noscript"},
    {CMD_BLOCKING, "blocking"},
    {CMD_LOADING, "loading"},
    {CMD_STALE, "stale"},
    {CMD_SKIP_MONITOR, "skip_monitor"},
    {CMD_SKIP_SLOWLOG, "skip_slowlog"},
    {CMD_ASKING, "asking"},
    {CMD_FAST, "fast"},
    {CMD_NO_AUTH, "no_auth"},
    {CMD_NO_MANDATORY_KEYS, "no_mandatory_keys"},
    {CMD_NO_ASYNC_LOADING, "no_async_loading"},
    {CMD_NO_MULTI, "no_multi"},
    {CMD_MOVABLE_KEYS, "movablekeys"},
    {CMD_ALLOW_BUSY, "allow_busy"},
};
#define NFLAGS ((int)(sizeof(flag_names) / sizeof(flag_names[0])))

/* Redis's ACL categories, in its order (ACLCommandCategories). */
static const char *const acl_names[] = {
    "keyspace", "read", "write", "set", "sortedset", "list", "hash",
    "string", "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin",
    "fast", "slow", "blocking", "dangerous", "connection", "transaction", "scripting",
};
#define NACL ((int)(sizeof(acl_names) / sizeof(acl_names[0])))
enum { ACL_READ = 1, ACL_WRITE = 2, ACL_PUBSUB = 12, ACL_ADMIN = 13, ACL_FAST = 14,
       ACL_SLOW = 15, ACL_BLOCKING = 16, ACL_DANGEROUS = 17, ACL_SCRIPTING = 20 };

static int acl_index(const char *name, size_t len)
{
    for (int i = 0; i < NACL; i++)
        if (strlen(acl_names[i]) == len && strncasecmp(acl_names[i], name, len) == 0)
            return i;
    return -1;
}

static uint64_t flags_of(const cmd_def *d)
{
    uint64_t f = d->flags;
    if (d->getkeys)
        f |= CMD_MOVABLE_KEYS;
    return f;
}

/* The categories of a command: its own and those its flags imply. */
static uint32_t acl_mask(const cmd_def *d)
{
    uint32_t m = 0;
    const char *s = d->acl ? d->acl : "";
    while (*s) {
        while (*s == ' ')
            s++;
        const char *w = s;
        while (*s && *s != ' ')
            s++;
        if (s > w && w[0] == '@') {
            int i = acl_index(w + 1, (size_t)(s - w - 1));
            if (i >= 0)
                m |= 1u << i;
        }
    }
    uint64_t f = flags_of(d);
    if (f & CMD_WRITE)
        m |= 1u << ACL_WRITE;
    if ((f & CMD_READONLY) && !(m & (1u << ACL_SCRIPTING)))
        m |= 1u << ACL_READ;
    if (f & CMD_ADMIN)
        m |= (1u << ACL_ADMIN) | (1u << ACL_DANGEROUS);
    if (f & CMD_PUBSUB)
        m |= 1u << ACL_PUBSUB;
    if (f & CMD_FAST)
        m |= 1u << ACL_FAST;
    if (f & CMD_BLOCKING)
        m |= 1u << ACL_BLOCKING;
    if (!(m & (1u << ACL_FAST)))
        m |= 1u << ACL_SLOW;
    return m;
}

static int popcount32(uint32_t v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

static bool has_keyspec(const cmd_def *d) { return d->first_key > 0; }

/* The key-spec flags derived from the command's flags. */
enum { KF_RO = 1, KF_RW = 2, KF_ACCESS = 16, KF_UPDATE = 32 };
static const struct {
    int flag;
    const char *name;
} key_flag_names[] = {{KF_RO, "RO"}, {KF_RW, "RW"}, {KF_ACCESS, "access"}, {KF_UPDATE, "update"}};

static int key_flags(const cmd_def *d)
{
    if (d->flags & CMD_WRITE)
        return KF_RW | KF_UPDATE;
    if (d->flags & CMD_READONLY)
        return KF_RO | KF_ACCESS;
    return KF_RO;
}

static void reply_key_flags(cmd_ctx *x, int kf)
{
    int n = 0;
    for (size_t i = 0; i < sizeof(key_flag_names) / sizeof(key_flag_names[0]); i++)
        n += (kf & key_flag_names[i].flag) != 0;
    reply_set(x, n);
    for (size_t i = 0; i < sizeof(key_flag_names) / sizeof(key_flag_names[0]); i++)
        if (kf & key_flag_names[i].flag)
            reply_simple(x, key_flag_names[i].name);
}

static void reply_key_specs(cmd_ctx *x, const cmd_def *d)
{
    if (!has_keyspec(d)) {
        reply_set(x, 0);
        return;
    }
    reply_set(x, 1);
    reply_map(x, 3);
    reply_bulk_cstr(x, "flags");
    reply_key_flags(x, key_flags(d));
    reply_bulk_cstr(x, "begin_search");
    reply_map(x, 2);
    reply_bulk_cstr(x, "type");
    reply_bulk_cstr(x, "index");
    reply_bulk_cstr(x, "spec");
    reply_map(x, 1);
    reply_bulk_cstr(x, "index");
    reply_int(x, d->first_key);
    reply_bulk_cstr(x, "find_keys");
    reply_map(x, 2);
    reply_bulk_cstr(x, "type");
    reply_bulk_cstr(x, "range");
    reply_bulk_cstr(x, "spec");
    reply_map(x, 3);
    reply_bulk_cstr(x, "lastkey");
    reply_int(x, d->last_key < 0 ? d->last_key : d->last_key - d->first_key);
    reply_bulk_cstr(x, "keystep");
    reply_int(x, d->key_step);
    reply_bulk_cstr(x, "limit");
    reply_int(x, 0);
}

static void reply_words(cmd_ctx *x, const char *s)
{
    int n = 0;
    for (const char *p = s ? s : ""; *p;) {
        while (*p == ' ')
            p++;
        if (*p)
            n++;
        while (*p && *p != ' ')
            p++;
    }
    reply_set(x, n);
    for (const char *p = s ? s : ""; *p;) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        if (p > w)
            reply_bulk(x, w, (size_t)(p - w));
    }
}

static void reply_info(cmd_ctx *x, const cmd_entry *ce)
{
    if (ce == NULL) {
        reply_null(x); /* Redis's addReplyNull: $-1 in RESP2 */
        return;
    }
    const cmd_def *d = ce->def;
    uint64_t f = flags_of(d);
    reply_array(x, 10);
    reply_bulk_cstr(x, ce->fullname);
    reply_int(x, d->arity);
    int n = 0;
    for (int i = 0; i < NFLAGS; i++)
        n += (f & flag_names[i].flag) != 0;
    reply_set(x, n);
    for (int i = 0; i < NFLAGS; i++)
        if (f & flag_names[i].flag)
            reply_simple(x, flag_names[i].name);
    reply_int(x, d->first_key);
    reply_int(x, d->last_key);
    reply_int(x, d->key_step);
    uint32_t m = acl_mask(d);
    reply_set(x, popcount32(m));
    for (int i = 0; i < NACL; i++) {
        if (m & (1u << i)) {
            char cat[32];
            snprintf(cat, sizeof(cat), "@%s", acl_names[i]);
            reply_simple(x, cat);
        }
    }
    reply_words(x, d->tips);
    reply_key_specs(x, d);
    /* No subcommands: an empty set, as Redis (an array otherwise). */
    if (ce->nsubs == 0)
        reply_set(x, 0);
    else
        reply_array(x, ce->nsubs);
    for (int i = 0; i < ce->nsubs; i++)
        reply_info(x, &ce->subs[i]);
}

/* ------------------------------------------------------------------------ */
/* The argument syntax parser (COMMAND DOCS) */

enum { N_WORD, N_OPT, N_REQ, N_DOTS };

typedef struct anode anode;
typedef struct aseq {
    anode **items;
    int n;
} aseq;

struct anode {
    int kind;
    const char *w; /* N_WORD */
    size_t wlen;
    aseq *alts; /* N_OPT, N_REQ: the alternatives */
    int nalts;
};

/* Everything a parse allocates, freed at once. */
typedef struct arena {
    void **p;
    int n, cap;
} arena;

static void *arena_alloc(arena *a, size_t size)
{
    void *m = calloc(1, size ? size : 1);
    if (m == NULL)
        abort();
    if (a->n == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 32;
        a->p = realloc(a->p, (size_t)a->cap * sizeof(void *));
        if (a->p == NULL)
            abort();
    }
    a->p[a->n++] = m;
    return m;
}

static void arena_free(arena *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->p[i]);
    free(a->p);
}

typedef struct lexer {
    const char *s;
    size_t pos, len;
    arena *a;
    int depth;
} lexer;

static bool is_punct(char c) { return c == '[' || c == ']' || c == '<' || c == '>' || c == '|'; }

/* Peeks at the next token: one of "[]<>|", 'D' for "...", 'W' for a word,
 * 0 at the end. */
static char lex_peek(lexer *l, const char **w, size_t *wlen)
{
    while (l->pos < l->len && l->s[l->pos] == ' ')
        l->pos++;
    if (l->pos >= l->len)
        return 0;
    const char *p = l->s + l->pos;
    if (is_punct(*p))
        return *p;
    if (l->len - l->pos >= 3 && memcmp(p, "...", 3) == 0)
        return 'D';
    size_t n = 0;
    while (l->pos + n < l->len && p[n] != ' ' && !is_punct(p[n]) &&
           !(l->len - l->pos - n >= 3 && memcmp(p + n, "...", 3) == 0))
        n++;
    *w = p;
    *wlen = n;
    return 'W';
}

static void seq_push(lexer *l, aseq *s, anode *nd)
{
    anode **v = arena_alloc(l->a, (size_t)(s->n + 1) * sizeof(anode *));
    if (s->n)
        memcpy(v, s->items, (size_t)s->n * sizeof(anode *));
    v[s->n++] = nd;
    s->items = v;
}

static bool is_token_word(const char *w, size_t n)
{
    bool upper = false;
    for (size_t i = 0; i < n; i++) {
        if (islower((unsigned char)w[i]))
            return false;
        if (isupper((unsigned char)w[i]))
            upper = true;
    }
    return upper;
}

static bool node_is_token(const anode *nd) { return nd->kind == N_WORD && is_token_word(nd->w, nd->wlen); }

static void parse_alts(lexer *l, char close, anode *group);

/* One sequence, up to '|', the closing bracket or the end. */
static aseq parse_seq(lexer *l, char close)
{
    aseq s = {0};
    for (;;) {
        const char *w = NULL;
        size_t wlen = 0;
        char t = lex_peek(l, &w, &wlen);
        if (t == 0 || t == '|' || t == close)
            return s;
        if (t == ']' || t == '>') { /* a stray closer: skip it */
            l->pos++;
            continue;
        }
        anode *nd = arena_alloc(l->a, sizeof(anode));
        if (t == 'W') {
            nd->kind = N_WORD;
            nd->w = w;
            nd->wlen = wlen;
            l->pos += wlen;
        } else if (t == 'D') {
            nd->kind = N_DOTS;
            l->pos += 3;
        } else { /* '[' or '<' */
            l->pos++;
            nd->kind = t == '[' ? N_OPT : N_REQ;
            if (l->depth < 16) {
                l->depth++;
                parse_alts(l, t == '[' ? ']' : '>', nd);
                l->depth--;
            }
            char c = lex_peek(l, &w, &wlen);
            if (c == (t == '[' ? ']' : '>'))
                l->pos++;
        }
        seq_push(l, &s, nd);
    }
}

/* "TYPE NORMAL|MASTER" means TYPE <NORMAL|MASTER>: a first alternative
 * ending in a token, the others single tokens. */
static void fix_token_alts(lexer *l, anode *g)
{
    if (g->nalts < 2 || g->alts[0].n < 2 || !node_is_token(g->alts[0].items[g->alts[0].n - 1]))
        return;
    for (int i = 1; i < g->nalts; i++)
        if (g->alts[i].n != 1 || !node_is_token(g->alts[i].items[0]))
            return;
    anode *inner = arena_alloc(l->a, sizeof(anode));
    inner->kind = N_REQ;
    inner->nalts = g->nalts;
    inner->alts = arena_alloc(l->a, (size_t)g->nalts * sizeof(aseq));
    anode **last = arena_alloc(l->a, sizeof(anode *));
    last[0] = g->alts[0].items[g->alts[0].n - 1];
    inner->alts[0].items = last;
    inner->alts[0].n = 1;
    for (int i = 1; i < g->nalts; i++)
        inner->alts[i] = g->alts[i];
    g->alts[0].items[g->alts[0].n - 1] = inner;
    g->nalts = 1;
}

static void parse_alts(lexer *l, char close, anode *group)
{
    for (;;) {
        aseq s = parse_seq(l, close);
        aseq *v = arena_alloc(l->a, (size_t)(group->nalts + 1) * sizeof(aseq));
        if (group->nalts)
            memcpy(v, group->alts, (size_t)group->nalts * sizeof(aseq));
        v[group->nalts++] = s;
        group->alts = v;
        const char *w;
        size_t wlen;
        if (lex_peek(l, &w, &wlen) != '|')
            break;
        l->pos++;
    }
    fix_token_alts(l, group);
}

/* An argument as COMMAND DOCS describes it. */
typedef struct carg {
    char *name;
    const char *type;
    char *token;
    bool optional, multiple, key;
    struct carg **subs;
    int nsubs;
} carg;

typedef struct conv {
    lexer *l;
    const cmd_def *d;
} conv;

static char *dup_lower(arena *a, const char *w, size_t n)
{
    char *s = arena_alloc(a, n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)tolower((unsigned char)w[i]);
    return s;
}

static char *dup_str(arena *a, const char *w, size_t n)
{
    char *s = arena_alloc(a, n + 1);
    memcpy(s, w, n);
    return s;
}

static bool word_in(const char *w, size_t n, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strlen(list[i]) == n && memcmp(list[i], w, n) == 0)
            return true;
    return false;
}

static const char *guess_type(const conv *c, const char *w, size_t n, bool *key)
{
    static const char *const keys[] = {"key", "destination", "source", NULL};
    static const char *const ints[] = {
        "count", "seconds", "milliseconds", "index", "offset", "start", "end", "stop",
        "numkeys", "db", "port", "cursor", "bit", "protover", "client-id", "id",
        "numreplicas", "len", "length", "limit", "delta", "timeout-ms", "integer", "ttl",
        "milliseconds-timeout", "rank", "maxlen", "numlocal", "numcommands", NULL};
    static const char *const doubles[] = {"score", "min", "max", "timeout", "longitude",
                                          "latitude", "radius", "float", NULL};
    *key = false;
    bool keyn = n > 3 && memcmp(w, "key", 3) == 0;
    for (size_t i = 3; keyn && i < n; i++)
        keyn = isdigit((unsigned char)w[i]) != 0;
    if (word_in(w, n, keys) || keyn || (n > 3 && memcmp(w + n - 3, "key", 3) == 0)) {
        *key = true;
        return "key";
    }
    if (n >= 9 && memcmp(w, "unix-time", 9) == 0)
        return "unix-time";
    if (strncmp("pattern", w, n) == 0 && n == 7)
        return "pattern";
    if (n == 9 && memcmp(w, "increment", 9) == 0)
        return strstr(c->d->name, "float") ? "double" : "integer";
    if (word_in(w, n, ints))
        return "integer";
    if (word_in(w, n, doubles))
        return "double";
    return "string";
}

static carg *new_arg(conv *c) { return arena_alloc(c->l->a, sizeof(carg)); }

static carg *word_arg(conv *c, const anode *nd)
{
    carg *a = new_arg(c);
    if (is_token_word(nd->w, nd->wlen)) {
        a->name = dup_lower(c->l->a, nd->w, nd->wlen);
        a->token = dup_str(c->l->a, nd->w, nd->wlen);
        a->type = "pure-token";
    } else {
        a->name = dup_str(c->l->a, nd->w, nd->wlen);
        a->type = guess_type(c, nd->w, nd->wlen, &a->key);
    }
    return a;
}

/* A name for a group: its members' names joined with '_' (Redis's style,
 * "username_password"), or "arguments" when that gets long. */
static char *join_names(conv *c, carg **v, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += strlen(v[i]->name) + 1;
    if (len > 40 || n == 0)
        return dup_str(c->l->a, "arguments", 9);
    char *s = arena_alloc(c->l->a, len);
    size_t p = 0;
    for (int i = 0; i < n; i++) {
        size_t k = strlen(v[i]->name);
        if (i)
            s[p++] = '_';
        memcpy(s + p, v[i]->name, k);
        p += k;
    }
    return s;
}

static carg *make_block(conv *c, carg **v, int n, const char *type)
{
    carg *b = new_arg(c);
    b->name = join_names(c, v, n);
    b->type = type;
    b->subs = arena_alloc(c->l->a, (size_t)(n ? n : 1) * sizeof(carg *));
    memcpy(b->subs, v, (size_t)n * sizeof(carg *));
    b->nsubs = n;
    return b;
}

typedef struct alist {
    carg **v;
    int n;
} alist;

static void alist_push(conv *c, alist *l, carg *a)
{
    carg **v = arena_alloc(c->l->a, (size_t)(l->n + 1) * sizeof(carg *));
    if (l->n)
        memcpy(v, l->v, (size_t)l->n * sizeof(carg *));
    v[l->n++] = a;
    l->v = v;
}

static alist seq_args(conv *c, const aseq *s);

static carg *group_arg(conv *c, const anode *g)
{
    if (g->nalts == 1) {
        alist u = seq_args(c, &g->alts[0]);
        if (u.n == 1)
            return u.v[0];
        return make_block(c, u.v, u.n, "block");
    }
    alist alts = {0};
    for (int i = 0; i < g->nalts; i++) {
        alist u = seq_args(c, &g->alts[i]);
        if (u.n == 1)
            alist_push(c, &alts, u.v[0]);
        else if (u.n > 1)
            alist_push(c, &alts, make_block(c, u.v, u.n, "block"));
    }
    if (alts.n == 1)
        return alts.v[0];
    return make_block(c, alts.v, alts.n, "oneof");
}

static bool same_names(carg **a, carg **b, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(a[i]->name, b[i]->name) != 0)
            return false;
    return true;
}

static alist seq_args(conv *c, const aseq *s)
{
    alist out = {0};
    for (int i = 0; i < s->n; i++) {
        const anode *nd = s->items[i];
        if (nd->kind == N_DOTS) {
            if (out.n)
                out.v[out.n - 1]->multiple = true;
            continue;
        }
        /* "[x ...]" after x: x is multiple. */
        if (nd->kind == N_OPT && nd->nalts == 1 && nd->alts[0].n >= 2 &&
            nd->alts[0].items[nd->alts[0].n - 1]->kind == N_DOTS) {
            aseq unit = {nd->alts[0].items, nd->alts[0].n - 1};
            alist u = seq_args(c, &unit);
            if (u.n >= 1 && out.n >= u.n && same_names(out.v + out.n - u.n, u.v, u.n)) {
                if (u.n == 1) {
                    out.v[out.n - 1]->multiple = true;
                } else {
                    carg *b = make_block(c, out.v + out.n - u.n, u.n, "block");
                    b->multiple = true;
                    out.n -= u.n;
                    alist_push(c, &out, b);
                }
            } else if (u.n >= 1) {
                carg *a = u.n == 1 ? u.v[0] : make_block(c, u.v, u.n, "block");
                a->optional = a->multiple = true;
                alist_push(c, &out, a);
            }
            continue;
        }
        if (nd->kind == N_WORD && node_is_token(nd)) {
            int j = i + 1;
            while (j < s->n && s->items[j]->kind == N_WORD && !node_is_token(s->items[j]))
                j++;
            carg *a;
            if (j - i - 1 == 1) {
                a = word_arg(c, s->items[i + 1]);
            } else if (j - i - 1 > 1) {
                alist u = {0};
                for (int k = i + 1; k < j; k++)
                    alist_push(c, &u, word_arg(c, s->items[k]));
                a = make_block(c, u.v, u.n, "block");
            } else if (j < s->n && s->items[j]->kind == N_REQ) {
                a = group_arg(c, s->items[j]);
                j++;
            } else {
                alist_push(c, &out, word_arg(c, nd));
                continue;
            }
            a->token = dup_str(c->l->a, nd->w, nd->wlen);
            alist_push(c, &out, a);
            i = j - 1;
            continue;
        }
        if (nd->kind == N_WORD) {
            alist_push(c, &out, word_arg(c, nd));
            continue;
        }
        carg *a = group_arg(c, nd);
        if (nd->kind == N_OPT)
            a->optional = true;
        alist_push(c, &out, a);
    }
    return out;
}

static void reply_arg(cmd_ctx *x, const carg *a, bool keyspec)
{
    bool ks = a->key && keyspec;
    bool has_flags = a->optional || a->multiple;
    bool nested = !strcmp(a->type, "oneof") || !strcmp(a->type, "block");
    reply_map(x, 2 + ks + (a->token != NULL) + has_flags + nested);
    reply_bulk_cstr(x, "name");
    reply_bulk_cstr(x, a->name);
    reply_bulk_cstr(x, "type");
    reply_bulk_cstr(x, a->type);
    if (ks) {
        reply_bulk_cstr(x, "key_spec_index");
        reply_int(x, 0);
    }
    if (a->token) {
        reply_bulk_cstr(x, "token");
        reply_bulk_cstr(x, a->token);
    }
    if (has_flags) {
        reply_bulk_cstr(x, "flags");
        reply_set(x, a->optional + a->multiple);
        if (a->optional)
            reply_simple(x, "optional");
        if (a->multiple)
            reply_simple(x, "multiple");
    }
    if (nested) {
        reply_bulk_cstr(x, "arguments");
        reply_array(x, a->nsubs);
        for (int i = 0; i < a->nsubs; i++)
            reply_arg(x, a->subs[i], keyspec);
    }
}

/* Parses d->args; returns its top-level arguments (in arena a). */
static alist parse_args(const cmd_def *d, arena *a)
{
    lexer l = {.s = d->args ? d->args : "", .pos = 0, .a = a, .depth = 0};
    l.len = strlen(l.s);
    anode top = {.kind = N_REQ};
    parse_alts(&l, 0, &top);
    conv c = {&l, d};
    if (top.nalts == 1)
        return seq_args(&c, &top.alts[0]);
    alist one = {0};
    alist_push(&c, &one, group_arg(&c, &top));
    return one;
}

static void reply_docs(cmd_ctx *x, const cmd_entry *ce)
{
    const cmd_def *d = ce->def;
    arena a = {0};
    alist args = parse_args(d, &a);
    const char *group = d->group ? d->group : ce->parent && ce->parent->def->group ? ce->parent->def->group : "generic";
    int n = 1 + (d->summary != NULL) + (d->since != NULL) + (d->complexity != NULL) + (args.n > 0) +
            (ce->nsubs > 0);
    reply_map(x, n);
    if (d->summary) {
        reply_bulk_cstr(x, "summary");
        reply_bulk_cstr(x, d->summary);
    }
    if (d->since) {
        reply_bulk_cstr(x, "since");
        reply_bulk_cstr(x, d->since);
    }
    reply_bulk_cstr(x, "group");
    reply_bulk_cstr(x, group);
    if (d->complexity) {
        reply_bulk_cstr(x, "complexity");
        reply_bulk_cstr(x, d->complexity);
    }
    if (args.n > 0) {
        reply_bulk_cstr(x, "arguments");
        reply_array(x, args.n);
        for (int i = 0; i < args.n; i++)
            reply_arg(x, args.v[i], has_keyspec(d));
    }
    arena_free(&a);
    if (ce->nsubs > 0) {
        reply_bulk_cstr(x, "subcommands");
        reply_map(x, ce->nsubs);
        for (int i = 0; i < ce->nsubs; i++) {
            reply_bulk_cstr(x, ce->subs[i].fullname);
            reply_docs(x, &ce->subs[i]);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* The commands */

void command_cmd(cmd_ctx *x)
{
    reply_array(x, x->eng->ncmds);
    for (int i = 0; i < x->eng->ncmds; i++)
        reply_info(x, &x->eng->cmds[i]);
}

static void command_count_cmd(cmd_ctx *x) { reply_int(x, x->eng->ncmds); }

static const cmd_entry *lookup_arg(cmd_ctx *x, const resp_slice *a)
{
    return engine_lookup_name(x->eng, a->ptr, a->len);
}

static void command_info_cmd(cmd_ctx *x)
{
    if (x->argc == 2) {
        command_cmd(x);
        return;
    }
    reply_array(x, x->argc - 2);
    for (int i = 2; i < x->argc; i++)
        reply_info(x, lookup_arg(x, &x->argv[i]));
}

static void command_docs_cmd(cmd_ctx *x)
{
    if (x->argc == 2) {
        reply_map(x, x->eng->ncmds);
        for (int i = 0; i < x->eng->ncmds; i++) {
            reply_bulk_cstr(x, x->eng->cmds[i].fullname);
            reply_docs(x, &x->eng->cmds[i]);
        }
        return;
    }
    size_t mark = reply_array_deferred(x);
    long long n = 0;
    for (int i = 2; i < x->argc; i++) {
        const cmd_entry *ce = lookup_arg(x, &x->argv[i]);
        if (ce == NULL)
            continue;
        reply_bulk_cstr(x, ce->fullname);
        reply_docs(x, ce);
        n++;
    }
    reply_set_map_deferred(x, mark, n);
}

/* COMMAND GETKEYS / GETKEYSANDFLAGS */
static void getkeys(cmd_ctx *x, bool with_flags)
{
    int argc = x->argc - 2;
    const resp_slice *argv = x->argv + 2;
    const cmd_entry *ce = engine_lookup(x->eng, argc, argv);
    if (ce == NULL) {
        reply_error(x, "Invalid command specified");
        return;
    }
    const cmd_def *d = ce->def;
    if (d->getkeys == NULL && !has_keyspec(d)) {
        reply_error(x, "The command has no key arguments");
        return;
    }
    if ((d->arity > 0 && d->arity != argc) || argc < -d->arity) {
        reply_error(x, "Invalid number of arguments specified for command");
        return;
    }
    int *keys = malloc((size_t)argc * sizeof(int));
    if (keys == NULL)
        abort();
    int n = 0;
    if (d->getkeys) {
        n = d->getkeys(argc, argv, keys);
        if (n < 0)
            n = 0;
    } else {
        int first = d->first_key;
        int last = d->last_key >= 0 ? d->last_key : argc + d->last_key;
        int step = d->key_step > 0 ? d->key_step : 1;
        if (!(last >= argc || last < first || first >= argc))
            for (int i = first; i <= last; i += step)
                keys[n++] = i;
    }
    if (n == 0) {
        if (d->flags & CMD_NO_MANDATORY_KEYS)
            reply_array(x, 0);
        else
            reply_error(x, "Invalid arguments specified for command");
        free(keys);
        return;
    }
    reply_array(x, n);
    for (int i = 0; i < n; i++) {
        const resp_slice *k = &argv[keys[i]];
        if (with_flags) {
            reply_array(x, 2);
            reply_bulk(x, k->ptr, k->len);
            reply_key_flags(x, key_flags(d));
        } else {
            reply_bulk(x, k->ptr, k->len);
        }
    }
    free(keys);
}

static void command_getkeys_cmd(cmd_ctx *x) { getkeys(x, false); }
static void command_getkeysandflags_cmd(cmd_ctx *x) { getkeys(x, true); }

enum { F_NONE, F_MODULE, F_ACLCAT, F_PATTERN };

static bool list_keep(const cmd_entry *ce, int type, const resp_slice *arg)
{
    switch (type) {
    case F_MODULE:
        return false; /* no modules */
    case F_ACLCAT: {
        const char *nul = memchr(arg->ptr, '\0', arg->len);
        int i = acl_index(arg->ptr, nul ? (size_t)(nul - arg->ptr) : arg->len);
        return i >= 0 && (acl_mask(ce->def) & (1u << i));
    }
    case F_PATTERN:
        return glob_match(arg->ptr, arg->len, ce->fullname, strlen(ce->fullname), true);
    default:
        return true;
    }
}

static void list_entries(cmd_ctx *x, const cmd_entry *v, int n, int type, const resp_slice *arg,
                         long long *count)
{
    for (int i = 0; i < n; i++) {
        if (list_keep(&v[i], type, arg)) {
            reply_bulk_cstr(x, v[i].fullname);
            (*count)++;
        }
        if (v[i].nsubs)
            list_entries(x, v[i].subs, v[i].nsubs, type, arg, count);
    }
}

static void command_list_cmd(cmd_ctx *x)
{
    int type = F_NONE;
    const resp_slice *arg = NULL;
    for (int i = 2; i < x->argc; i++) {
        int more = x->argc - 1 - i;
        if (arg_is(&x->argv[i], "filterby") && more == 2) {
            const resp_slice *t = &x->argv[i + 1];
            if (arg_is(t, "module"))
                type = F_MODULE;
            else if (arg_is(t, "aclcat"))
                type = F_ACLCAT;
            else if (arg_is(t, "pattern"))
                type = F_PATTERN;
            else {
                reply_error(x, ERR_SYNTAX);
                return;
            }
            arg = &x->argv[i + 2];
            i += 2;
        } else {
            reply_error(x, ERR_SYNTAX);
            return;
        }
    }
    size_t mark = reply_array_deferred(x);
    long long n = 0;
    list_entries(x, x->eng->cmds, x->eng->ncmds, type, arg, &n);
    reply_set_array_deferred(x, mark, n);
}

static void command_help_cmd(cmd_ctx *x)
{
    static const char *const help[] = {
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
        NULL,
    };
    reply_help(x, help);
}

#define COMMAND_FLAGS (CMD_LOADING | CMD_STALE | CMD_SENTINEL)

const cmd_def command_subcommands[] = {
    {.name = "count", .arity = 2, .flags = COMMAND_FLAGS, .fn = command_count_cmd,
     .group = "server", .since = "2.8.13", .summary = "Get total number of Redis commands",
     .complexity = "O(1)", .acl = "@slow @connection", .args = ""},
    {.name = "docs", .arity = -2, .flags = COMMAND_FLAGS, .fn = command_docs_cmd,
     .group = "server", .since = "7.0.0",
     .summary = "Get array of specific Redis command documentation",
     .complexity = "O(N) where N is the number of commands to look up",
     .acl = "@slow @connection", .args = "[command-name [command-name ...]]",
     .tips = "nondeterministic_output_order"},
    {.name = "getkeys", .arity = -4, .flags = COMMAND_FLAGS, .fn = command_getkeys_cmd,
     .group = "server", .since = "2.8.13", .summary = "Extract keys given a full Redis command",
     .complexity = "O(N) where N is the number of arguments to the command",
     .acl = "@slow @connection", .args = ""},
    {.name = "getkeysandflags", .arity = -4, .flags = COMMAND_FLAGS,
     .fn = command_getkeysandflags_cmd, .group = "server", .since = "7.0.0",
     .summary = "Extract keys and access flags given a full Redis command",
     .complexity = "O(N) where N is the number of arguments to the command",
     .acl = "@slow @connection", .args = ""},
    {.name = "help", .arity = 2, .flags = COMMAND_FLAGS, .fn = command_help_cmd,
     .group = "server", .since = "5.0.0",
     .summary = "Show helpful text about the different subcommands", .complexity = "O(1)",
     .acl = "@slow @connection", .args = ""},
    {.name = "info", .arity = -2, .flags = COMMAND_FLAGS, .fn = command_info_cmd,
     .group = "server", .since = "2.8.13",
     .summary = "Get array of specific Redis command details, or all when no argument is given.",
     .complexity = "O(N) where N is the number of commands to look up",
     .acl = "@slow @connection", .args = "[command-name [command-name ...]]",
     .tips = "nondeterministic_output_order"},
    {.name = "list", .arity = -2, .flags = COMMAND_FLAGS, .fn = command_list_cmd,
     .group = "server", .since = "7.0.0", .summary = "Get an array of Redis command names",
     .complexity = "O(N) where N is the total number of Redis commands",
     .acl = "@slow @connection",
     .args = "[FILTERBY <MODULE module-name|ACLCAT category|PATTERN pattern>]",
     .tips = "nondeterministic_output_order"},
    {0},
};
