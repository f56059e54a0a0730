/* Connection commands: PING ECHO QUIT HELLO AUTH SELECT RESET and CLIENT
 * (ID SETNAME GETNAME LIST INFO KILL UNBLOCK NO-EVICT HELP), with Redis 7.0's
 * replies (networking.c, acl.c, db.c).
 *
 * keel speaks RESP2 and RESP3 (HELLO 3, per client), has Redis's numbered
 * databases and one user ("default", whose password is requirepass when
 * set). The driver owns the sockets: QUIT and CLIENT KILL only flag clients
 * (CLIENT_CLOSE_AFTER_REPLY, CLIENT_KILLED) and the driver closes them. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"
#include "core/cmd/engine_internal.h"

#define REDIS_VERSION_STR "7.0.15"

/* Redis prints arguments in errors with %s: a NUL ends them. */
static int cstr_len(const resp_slice *a)
{
    const char *nul = memchr(a->ptr, '\0', a->len);
    size_t n = nul ? (size_t)(nul - a->ptr) : a->len;
    return n > INT_MAX ? INT_MAX : (int)n;
}

static bool slice_eq(const resp_slice *a, const char *s)
{
    size_t n = strlen(s);
    return a->len == n && memcmp(a->ptr, s, n) == 0;
}

/* ------------------------------------------------------------------------ */
/* Authentication: the default user, with requirepass as its password */

static bool check_credentials(cmd_ctx *x, const resp_slice *user, const resp_slice *pass)
{
    if (!slice_eq(user, "default"))
        return false;
    const char *rp = x->eng->cfg.requirepass;
    if (rp == NULL)
        return true; /* nopass: any password */
    size_t n = strlen(rp);
    return pass->len == n && memcmp(pass->ptr, rp, n) == 0;
}

static bool authenticate(cmd_ctx *x, const resp_slice *user, const resp_slice *pass)
{
    if (!check_credentials(x, user, pass))
        return false;
    x->cl->authenticated = true;
    return true;
}

#define ERR_WRONGPASS "-WRONGPASS invalid username-password pair or user is disabled."

static void auth_cmd(cmd_ctx *x)
{
    if (x->argc > 3) {
        reply_error(x, ERR_SYNTAX);
        return;
    }
    resp_slice user = {"default", 7};
    const resp_slice *pass;
    if (x->argc == 2) {
        if (x->eng->cfg.requirepass == NULL) {
            reply_error(x, "AUTH <password> called without any password configured for the "
                           "default user. Are you sure your configuration is correct?");
            return;
        }
        pass = &x->argv[1];
    } else {
        user = x->argv[1];
        pass = &x->argv[2];
    }
    if (authenticate(x, &user, pass))
        reply_ok(x);
    else
        reply_error(x, ERR_WRONGPASS);
}

/* ------------------------------------------------------------------------ */
/* PING ECHO QUIT SELECT RESET */

static void ping_cmd(cmd_ctx *x)
{
    if (x->argc > 2) {
        reply_errorf(x, "wrong number of arguments for '%s' command", x->cmd->fullname);
        return;
    }
    if (x->argc == 1)
        reply_simple(x, "PONG");
    else
        reply_bulk(x, x->argv[1].ptr, x->argv[1].len);
}

static void echo_cmd(cmd_ctx *x) { reply_bulk(x, x->argv[1].ptr, x->argv[1].len); }

static void quit_cmd(cmd_ctx *x)
{
    reply_ok(x);
    x->cl->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

static void select_cmd(cmd_ctx *x)
{
    long long id;
    if (!arg_ll(x, &x->argv[1], &id, NULL))
        return;
    if (id < INT_MIN || id > INT_MAX) {
        reply_errorf(x, "value is out of range, value must between %d and %d", INT_MIN, INT_MAX);
        return;
    }
    if (id < 0 || id >= x->eng->ndbs) {
        reply_error(x, "DB index is out of range");
        return;
    }
    x->cl->db = (int)id;
    reply_ok(x);
}

static void reset_cmd(cmd_ctx *x)
{
    client *c = x->cl;
    c->db = 0;
    c->resp = 2;
    c->authenticated = x->eng->cfg.requirepass == NULL;
    engine_discard_queue(c);
    c->flags &= ~(CLIENT_MULTI | CLIENT_DIRTY_CAS | CLIENT_DIRTY_EXEC);
    engine_unwatch_all(x->eng, c);
    free(c->name);
    c->name = NULL;
    reply_simple(x, "RESET");
}

/* ------------------------------------------------------------------------ */
/* Names */

/* Redis's clientSetName: printable ASCII without spaces; "" clears. */
static bool set_name(cmd_ctx *x, const resp_slice *name)
{
    for (size_t i = 0; i < name->len; i++) {
        if (name->ptr[i] < '!' || name->ptr[i] > '~') {
            reply_error(x, "Client names cannot contain spaces, newlines or special characters.");
            return false;
        }
    }
    client *c = x->cl;
    free(c->name);
    c->name = NULL;
    if (name->len) {
        c->name = malloc(name->len + 1);
        if (c->name == NULL)
            abort();
        memcpy(c->name, name->ptr, name->len);
        c->name[name->len] = '\0';
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* HELLO [protover [AUTH username password] [SETNAME clientname]] */

static void hello_cmd(cmd_ctx *x)
{
    int j = 1;
    long long ver = 0;
    if (x->argc >= 2) {
        if (!arg_ll(x, &x->argv[j++], &ver, "Protocol version is not an integer or out of range"))
            return;
        if (ver < 2 || ver > 3) {
            reply_error(x, "-NOPROTO unsupported protocol version");
            return;
        }
    }
    for (; j < x->argc; j++) {
        int more = x->argc - 1 - j;
        const resp_slice *opt = &x->argv[j];
        if (arg_is(opt, "auth") && more >= 2) {
            if (!authenticate(x, &x->argv[j + 1], &x->argv[j + 2])) {
                reply_error(x, ERR_WRONGPASS);
                return;
            }
            j += 2;
        } else if (arg_is(opt, "setname") && more >= 1) {
            if (!set_name(x, &x->argv[j + 1]))
                return;
            j++;
        } else {
            reply_errorf(x, "Syntax error in HELLO option '%.*s'", cstr_len(opt), opt->ptr);
            return;
        }
    }
    if (!x->cl->authenticated && x->eng->cfg.requirepass) {
        reply_error(x, "-NOAUTH HELLO must be called with the client already authenticated, "
                       "otherwise the HELLO AUTH <user> <pass> option can be used to "
                       "authenticate the client and select the RESP protocol version at the "
                       "same time");
        return;
    }
    if (ver)
        x->cl->resp = (int)ver;
    /* In the protocol just chosen. */
    reply_map(x, 7);
    reply_bulk_cstr(x, "server");
    reply_bulk_cstr(x, "redis");
    reply_bulk_cstr(x, "version");
    reply_bulk_cstr(x, REDIS_VERSION_STR);
    reply_bulk_cstr(x, "proto");
    reply_int(x, x->cl->resp);
    reply_bulk_cstr(x, "id");
    reply_int(x, (long long)x->cl->id);
    reply_bulk_cstr(x, "mode");
    reply_bulk_cstr(x, "standalone");
    reply_bulk_cstr(x, "role");
    reply_bulk_cstr(x, "master");
    reply_bulk_cstr(x, "modules");
    reply_array(x, 0);
}

/* ------------------------------------------------------------------------ */
/* CLIENT */

static int64_t secs(int64_t ms) { return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000); }

static void addf(kbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(kbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    char *p = kbuf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* One CLIENT LIST line (without the newline), Redis 7.0's fields. */
static void client_line(cmd_ctx *x, const client *c, kbuf *b)
{
    char flags[16], *p = flags;
    if (c->flags & CLIENT_MULTI)
        *p++ = 'x';
    if (engine_client_blocked(c))
        *p++ = 'b';
    if (c->flags & CLIENT_DIRTY_CAS)
        *p++ = 'd';
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY)
        *p++ = 'c';
    if (c->flags & CLIENT_KILLED)
        *p++ = 'A';
    if (c->flags & CLIENT_NO_EVICT)
        *p++ = 'e';
    if (p == flags)
        *p++ = 'N';
    *p = '\0';

    unsigned long long multi_mem = 0;
    for (int i = 0; i < c->nqueue; i++) {
        for (int j = 0; j < c->queue[i].argc; j++)
            multi_mem += c->queue[i].argv[j].len;
        multi_mem += sizeof(void *) * (unsigned long long)c->queue[i].argc;
    }
    /* The caller is running this command now (Redis sets lastcmd first). */
    const char *cmd = c == x->cl ? x->cmd->fullname : c->last_cmd ? c->last_cmd : "NULL";
    addf(b, "id=%llu addr=%s laddr=%s fd=%d name=%s", (unsigned long long)c->id, c->addr, c->laddr,
         c->fd, c->name ? c->name : "");
    addf(b,
         " age=%lld idle=%lld flags=%s db=%d sub=0 psub=0 ssub=0 multi=%d qbuf=%llu "
         "qbuf-free=%llu argv-mem=%llu multi-mem=%llu rbs=%llu rbp=%llu obl=%llu "
         "oll=%llu omem=%llu tot-mem=%llu events=r cmd=%s user=default redir=-1 resp=%d",
         (long long)(secs(x->now_ms) - secs(c->ctime_ms)),
         (long long)(secs(x->now_ms) - secs(c->last_ms)), flags, c->db,
         (c->flags & CLIENT_MULTI) ? c->nqueue : -1, (unsigned long long)c->mem.qbuf,
         (unsigned long long)c->mem.qbuf_free, (unsigned long long)c->mem.argv_mem, multi_mem,
         (unsigned long long)c->mem.rbs, (unsigned long long)c->mem.rbp,
         (unsigned long long)c->mem.obl, (unsigned long long)c->mem.oll,
         (unsigned long long)c->mem.omem, (unsigned long long)c->mem.tot_mem, cmd, c->resp);
}

/* Client types, as getClientTypeByName: keel's clients are all "normal"
 * (no replicas, masters or pub/sub clients in the core yet). */
enum { TYPE_NORMAL, TYPE_REPLICA, TYPE_PUBSUB, TYPE_MASTER, TYPE_UNKNOWN };

static int client_type_by_name(const resp_slice *a)
{
    if (arg_is(a, "normal"))
        return TYPE_NORMAL;
    if (arg_is(a, "slave") || arg_is(a, "replica"))
        return TYPE_REPLICA;
    if (arg_is(a, "pubsub"))
        return TYPE_PUBSUB;
    if (arg_is(a, "master"))
        return TYPE_MASTER;
    return TYPE_UNKNOWN;
}

static int client_type(const client *c)
{
    (void)c;
    return TYPE_NORMAL;
}

static bool live(const client *c) { return !(c->flags & CLIENT_KILLED); }

static void client_id_cmd(cmd_ctx *x) { reply_int(x, (long long)x->cl->id); }

/* CLIENT UNBLOCK client-id [TIMEOUT|ERROR]: 1 if that client was blocked
 * (it gets its timeout's reply, or -UNBLOCKED), else 0. */
static void client_unblock_cmd(cmd_ctx *x)
{
    long long id;
    if (!arg_ll(x, &x->argv[2], &id, NULL))
        return;
    bool error = false;
    if (x->argc == 4) {
        if (arg_is(&x->argv[3], "error"))
            error = true;
        else if (!arg_is(&x->argv[3], "timeout")) {
            reply_error(x, "CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
    } else if (x->argc > 4) {
        reply_error(x, ERR_SYNTAX);
        return;
    }
    for (client *c = x->eng->clients; c; c = c->next) {
        if (c->id == (uint64_t)id) {
            reply_int(x, engine_unblock_client(x->eng, c, error, x->now_ms) ? 1 : 0);
            return;
        }
    }
    reply_int(x, 0);
}

static void client_setname_cmd(cmd_ctx *x)
{
    if (set_name(x, &x->argv[2]))
        reply_ok(x);
}

static void client_getname_cmd(cmd_ctx *x)
{
    if (x->cl->name)
        reply_bulk_cstr(x, x->cl->name);
    else
        reply_null(x);
}

static void client_info_cmd(cmd_ctx *x)
{
    kbuf b = KBUF_INIT;
    client_line(x, x->cl, &b);
    kbuf_putc(&b, '\n');
    reply_verbatim(x, b.data, b.len, "txt");
    kbuf_free(&b);
}

static int id_cmp(const void *a, const void *b)
{
    uint64_t x = (*(const client *const *)a)->id, y = (*(const client *const *)b)->id;
    return x < y ? -1 : x > y;
}

static void client_list_cmd(cmd_ctx *x)
{
    engine *e = x->eng;
    kbuf b = KBUF_INIT;
    if (x->argc == 4 && arg_is(&x->argv[2], "type")) {
        int type = client_type_by_name(&x->argv[3]);
        if (type == TYPE_UNKNOWN) {
            reply_errorf(x, "Unknown client type '%.*s'", cstr_len(&x->argv[3]), x->argv[3].ptr);
            return;
        }
        for (const client *c = e->clients; c; c = c->next) {
            if (!live(c) || client_type(c) != type)
                continue;
            client_line(x, c, &b);
            kbuf_putc(&b, '\n');
        }
    } else if (x->argc > 3 && arg_is(&x->argv[2], "id")) {
        /* Sorted by id (the list already is) for a binary search per id:
         * the ids given may be many. */
        const client **v = malloc((size_t)(e->nclients ? e->nclients : 1) * sizeof(*v));
        if (v == NULL)
            abort();
        size_t n = 0;
        for (const client *c = e->clients; c; c = c->next)
            if (live(c))
                v[n++] = c;
        qsort(v, n, sizeof(*v), id_cmp);
        for (int j = 3; j < x->argc; j++) {
            long long id;
            if (!arg_ll(x, &x->argv[j], &id, "Invalid client ID")) {
                free(v);
                kbuf_free(&b);
                return;
            }
            size_t lo = 0, hi = n;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (v[mid]->id < (uint64_t)id)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < n && v[lo]->id == (uint64_t)id) {
                client_line(x, v[lo], &b);
                kbuf_putc(&b, '\n');
            }
        }
        free(v);
    } else if (x->argc != 2) {
        reply_error(x, ERR_SYNTAX);
        return;
    } else {
        for (const client *c = e->clients; c; c = c->next) {
            if (!live(c))
                continue;
            client_line(x, c, &b);
            kbuf_putc(&b, '\n');
        }
    }
    reply_verbatim(x, b.data ? b.data : "", b.len, "txt");
    kbuf_free(&b);
}

static bool cstr_eq(const char *s, const resp_slice *a)
{
    /* Redis compares with strcmp: the argument ends at a NUL. */
    size_t n = (size_t)cstr_len(a);
    return strlen(s) == n && memcmp(s, a->ptr, n) == 0;
}

static void client_kill_cmd(cmd_ctx *x)
{
    const resp_slice *addr = NULL, *laddr = NULL;
    int type = -1;
    long long id = 0, max_age = 0;
    bool skipme = true;

    if (x->argc == 3) {
        addr = &x->argv[2];
        skipme = false; /* the old form can kill the caller */
    } else {
        for (int i = 2; i < x->argc; i += 2) {
            const resp_slice *opt = &x->argv[i];
            bool more = x->argc > i + 1;
            const resp_slice *val = more ? &x->argv[i + 1] : NULL;
            if (arg_is(opt, "id") && more) {
                long long v;
                if (!resp_string2ll(val->ptr, val->len, &v) || v < 1) {
                    reply_error(x, "client-id should be greater than 0");
                    return;
                }
                id = v;
            } else if (arg_is(opt, "type") && more) {
                type = client_type_by_name(val);
                if (type == TYPE_UNKNOWN) {
                    reply_errorf(x, "Unknown client type '%.*s'", cstr_len(val), val->ptr);
                    return;
                }
            } else if (arg_is(opt, "addr") && more) {
                addr = val;
            } else if (arg_is(opt, "laddr") && more) {
                laddr = val;
            } else if (arg_is(opt, "user") && more) {
                if (!slice_eq(val, "default")) {
                    reply_errorf(x, "No such user '%.*s'", cstr_len(val), val->ptr);
                    return;
                }
            } else if (arg_is(opt, "skipme") && more) {
                if (arg_is(val, "yes"))
                    skipme = true;
                else if (arg_is(val, "no"))
                    skipme = false;
                else {
                    reply_error(x, ERR_SYNTAX);
                    return;
                }
            } else if (arg_is(opt, "maxage") && more) {
                if (!arg_ll(x, val, &max_age, "maxage is not an integer or out of range"))
                    return;
                if (max_age <= 0) {
                    reply_error(x, "maxage should be greater than 0");
                    return;
                }
            } else {
                reply_error(x, ERR_SYNTAX);
                return;
            }
        }
    }

    long long killed = 0;
    bool close_self = false;
    for (client *c = x->eng->clients; c; c = c->next) {
        if (!live(c))
            continue;
        if (addr && !cstr_eq(c->addr, addr))
            continue;
        if (laddr && !cstr_eq(c->laddr, laddr))
            continue;
        if (type != -1 && client_type(c) != type)
            continue;
        if (id != 0 && c->id != (uint64_t)id)
            continue;
        if (c == x->cl && skipme)
            continue;
        if (max_age != 0 && secs(x->now_ms) - secs(c->ctime_ms) < max_age)
            continue;
        if (c == x->cl)
            close_self = true;
        else {
            c->flags |= CLIENT_KILLED;
            x->eng->kill_pending = true;
        }
        killed++;
    }
    if (x->argc == 3) {
        if (killed == 0)
            reply_error(x, "No such client");
        else
            reply_ok(x);
    } else {
        reply_int(x, killed);
    }
    if (close_self)
        x->cl->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

static void client_no_evict_cmd(cmd_ctx *x)
{
    if (arg_is(&x->argv[2], "on"))
        x->cl->flags |= CLIENT_NO_EVICT;
    else if (arg_is(&x->argv[2], "off"))
        x->cl->flags &= ~CLIENT_NO_EVICT;
    else {
        reply_error(x, ERR_SYNTAX);
        return;
    }
    reply_ok(x);
}

static void client_help_cmd(cmd_ctx *x)
{
    /* Redis's text, for the subcommands keel has. */
    static const char *const help[] = {
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "    * ID <client-id>",
        "      Kill connections by client id.",
        "    * MAXAGE <maxage>",
        "      Kill connections older than the specified age.",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        NULL,
    };
    reply_help(x, help);
}

#define CLIENT_FLAGS (CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_SENTINEL)

static const cmd_def client_subcommands[] = {
    {.name = "getname", .arity = 2, .flags = CLIENT_FLAGS, .fn = client_getname_cmd,
     .group = "connection", .since = "2.6.9", .summary = "Get the current connection name",
     .complexity = "O(1)", .acl = "@slow @connection", .args = ""},
    {.name = "help", .arity = 2, .flags = CMD_LOADING | CMD_STALE | CMD_SENTINEL,
     .fn = client_help_cmd, .group = "connection", .since = "5.0.0",
     .summary = "Show helpful text about the different subcommands", .complexity = "O(1)",
     .acl = "@slow @connection", .args = ""},
    {.name = "id", .arity = 2, .flags = CLIENT_FLAGS, .fn = client_id_cmd,
     .group = "connection", .since = "5.0.0",
     .summary = "Returns the client ID for the current connection", .complexity = "O(1)",
     .acl = "@slow @connection", .args = ""},
    {.name = "info", .arity = 2, .flags = CLIENT_FLAGS, .fn = client_info_cmd,
     .group = "connection", .since = "6.2.0",
     .summary = "Returns information about the current client connection.",
     .complexity = "O(1)", .acl = "@slow @connection", .args = "",
     .tips = "nondeterministic_output"},
    {.name = "kill", .arity = -3, .flags = CMD_ADMIN | CLIENT_FLAGS, .fn = client_kill_cmd,
     .group = "connection", .since = "2.4.0", .summary = "Kill the connection of a client",
     .complexity = "O(N) where N is the number of client connections",
     .acl = "@admin @slow @dangerous @connection",
     .args = "<ip:port|[ID client-id] [TYPE <NORMAL|MASTER|SLAVE|REPLICA|PUBSUB>] "
             "[USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME yes/no] [MAXAGE maxage]>"},
    {.name = "unblock", .arity = -3, .flags = CMD_ADMIN | CLIENT_FLAGS,
     .fn = client_unblock_cmd, .group = "connection", .since = "5.0.0",
     .summary = "Unblock a client blocked in a blocking command from a different connection",
     .complexity = "O(log N) where N is the number of client connections",
     .acl = "@admin @slow @dangerous @connection", .args = "client-id [TIMEOUT|ERROR]"},
    {.name = "list", .arity = -2, .flags = CMD_ADMIN | CLIENT_FLAGS, .fn = client_list_cmd,
     .group = "connection", .since = "2.4.0", .summary = "Get the list of client connections",
     .complexity = "O(N) where N is the number of client connections",
     .acl = "@admin @slow @dangerous @connection",
     .args = "[TYPE <NORMAL|MASTER|REPLICA|PUBSUB>] [ID client-id [client-id ...]]",
     .tips = "nondeterministic_output"},
    {.name = "no-evict", .arity = 3, .flags = CMD_ADMIN | CLIENT_FLAGS, .fn = client_no_evict_cmd,
     .group = "connection", .since = "7.0.0",
     .summary = "Set client eviction mode for the current connection", .complexity = "O(1)",
     .acl = "@admin @slow @dangerous @connection", .args = "<ON|OFF>"},
    {.name = "setname", .arity = 3, .flags = CLIENT_FLAGS, .fn = client_setname_cmd,
     .group = "connection", .since = "2.6.9", .summary = "Set the current connection name",
     .complexity = "O(1)", .acl = "@slow @connection", .args = "connection-name"},
    {0},
};

#define CONN_FLAGS (CMD_LOADING | CMD_STALE | CMD_FAST)

const cmd_def cmd_conn[] = {
    {.name = "auth", .arity = -2,
     .flags = CMD_NOSCRIPT | CONN_FLAGS | CMD_NO_AUTH | CMD_SENTINEL | CMD_ALLOW_BUSY,
     .fn = auth_cmd, .group = "connection", .since = "1.0.0",
     .summary = "Authenticate to the server",
     .complexity = "O(N) where N is the number of passwords defined for the user",
     .acl = "@fast @connection", .args = "[username] password"},
    {.name = "client", .arity = -2, .flags = CMD_SENTINEL, .fn = NULL, .group = "connection",
     .since = "2.4.0", .summary = "A container for client connection commands",
     .complexity = "Depends on subcommand.", .acl = "@slow",
     .subcommands = client_subcommands},
    {.name = "echo", .arity = 2, .flags = CONN_FLAGS, .fn = echo_cmd, .group = "connection",
     .since = "1.0.0", .summary = "Echo the given string", .complexity = "O(1)",
     .acl = "@fast @connection", .args = "message"},
    {.name = "hello", .arity = -1,
     .flags = CMD_NOSCRIPT | CONN_FLAGS | CMD_NO_AUTH | CMD_SENTINEL | CMD_ALLOW_BUSY,
     .fn = hello_cmd, .group = "connection", .since = "6.0.0", .summary = "Handshake with Redis",
     .complexity = "O(1)", .acl = "@fast @connection",
     .args = "[protover [AUTH username password] [SETNAME clientname]]"},
    {.name = "ping", .arity = -1, .flags = CMD_FAST | CMD_SENTINEL, .fn = ping_cmd,
     .group = "connection", .since = "1.0.0", .summary = "Ping the server",
     .complexity = "O(1)", .acl = "@fast @connection", .args = "[message]",
     .tips = "request_policy:all_shards response_policy:all_succeeded"},
    {.name = "quit", .arity = -1,
     .flags = CMD_ALLOW_BUSY | CMD_NOSCRIPT | CONN_FLAGS | CMD_NO_AUTH, .fn = quit_cmd,
     .group = "connection", .since = "1.0.0", .summary = "Close the connection",
     .complexity = "O(1)", .acl = "@fast @connection", .args = ""},
    {.name = "reset", .arity = 1,
     .flags = CMD_NOSCRIPT | CONN_FLAGS | CMD_NO_AUTH | CMD_ALLOW_BUSY, .fn = reset_cmd,
     .group = "connection", .since = "6.2.0", .summary = "Reset the connection",
     .complexity = "O(1)", .acl = "@fast @connection", .args = ""},
    {.name = "select", .arity = 2, .flags = CONN_FLAGS, .fn = select_cmd, .group = "connection",
     .since = "1.0.0", .summary = "Change the selected database for the current connection",
     .complexity = "O(1)", .acl = "@fast @connection", .args = "index"},
    {0},
};
