/* io/config: see config.h. */
#define _GNU_SOURCE
#include "io/config.h"
#include "io/persist.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/cmd/config.h"
#include "core/resp/parser.h"
#include "io/log.h"

bool config_parse_memory(const char *s, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (*s == '\0' || *s == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return false;
    unsigned long long mul = 1;
    if (*end) {
        static const struct { const char *u; unsigned long long m; } units[] = {
            {"b", 1}, {"k", 1000}, {"kb", 1024}, {"m", 1000 * 1000}, {"mb", 1024 * 1024},
            {"g", 1000ULL * 1000 * 1000}, {"gb", 1024ULL * 1024 * 1024},
        };
        bool found = false;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            if (strcasecmp(end, units[i].u) == 0) {
                mul = units[i].m;
                found = true;
                break;
            }
        }
        if (!found)
            return false;
    }
    if (v > ULLONG_MAX / mul)
        return false;
    *out = v * mul;
    return true;
}

static bool parse_ll(const char *s, long long min, long long max, long long *out)
{
    long long v;
    if (!resp_string2ll(s, strlen(s), &v) || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static int parse_bool(const char *s)
{
    if (strcasecmp(s, "yes") == 0)
        return 1;
    if (strcasecmp(s, "no") == 0)
        return 0;
    return -1;
}

/* A yes/no directive into *out: NULL, or Redis's error. */
static const char *set_bool(const char *s, bool *out)
{
    int b = parse_bool(s);
    if (b < 0)
        return "argument must be 'yes' or 'no'";
    *out = b == 1;
    return NULL;
}

static const char *keep(keel_config *cfg, const char *s)
{
    if (cfg->nstrings == (int)(sizeof(cfg->strings) / sizeof(cfg->strings[0])))
        return NULL;
    char *d = strdup(s);
    cfg->strings[cfg->nstrings++] = d;
    return d;
}

/* Applies one directive; returns NULL or the reason it is refused. */
static const char *apply(keel_config *cfg, io_server_opts *o, int argc, char **argv)
{
    const char *name = argv[0];
    long long v;
    unsigned long long m;
#define WANT(n)                                                                                    \
    do {                                                                                           \
        if (argc != (n) + 1)                                                                       \
            return "wrong number of arguments";                                                   \
    } while (0)
    if (!strcasecmp(name, "http-port")) {
        WANT(1);
        if (!parse_ll(argv[1], -1, 65535, &v))
            return "argument must be between -1 and 65535 inclusive (-1: off)";
        o->http_port = (int)v;
    } else if (!strcasecmp(name, "port")) {
        WANT(1);
        if (!parse_ll(argv[1], 0, 65535, &v))
            return "argument must be between 0 and 65535 inclusive";
        o->port = (int)v;
    } else if (!strcasecmp(name, "bind")) {
        if (argc < 2 || argc - 1 > 16)
            return "wrong number of arguments";
        o->nbind = 0;
        for (int i = 1; i < argc; i++) {
            /* Redis's "-" prefix (optional address) and "*" forms. */
            const char *a = argv[i][0] == '-' ? argv[i] + 1 : argv[i];
            if (!strcmp(a, "*"))
                a = "0.0.0.0";
            o->bind[o->nbind++] = keep(cfg, a);
        }
    } else if (!strcasecmp(name, "tcp-backlog")) {
        WANT(1);
        if (!parse_ll(argv[1], 0, INT_MAX, &v))
            return "argument couldn't be parsed into an integer";
        o->tcp_backlog = (int)v;
    } else if (!strcasecmp(name, "tcp-keepalive")) {
        WANT(1);
        if (!parse_ll(argv[1], 0, INT_MAX, &v))
            return "argument couldn't be parsed into an integer";
        o->tcp_keepalive_s = (int)v;
    } else if (!strcasecmp(name, "busy-poll-us")) {
        WANT(1);
        if (!parse_ll(argv[1], 0, 100000, &v))
            return "argument must be between 0 and 100000 inclusive";
        o->busy_poll_us = (int)v;
    } else if (!strcasecmp(name, "hz")) {
        WANT(1);
        if (!parse_ll(argv[1], 1, 500, &v))
            return "argument must be between 1 and 500 inclusive";
        o->hz = (int)v;
    } else if (!strcasecmp(name, "maxclients")) {
        WANT(1);
        if (!parse_ll(argv[1], 1, LLONG_MAX, &v))
            return "argument must be between 1 and 9223372036854775807 inclusive";
        o->lim.maxclients = (uint64_t)v;
    } else if (!strcasecmp(name, "timeout")) {
        WANT(1);
        if (!parse_ll(argv[1], 0, INT_MAX, &v))
            return "argument couldn't be parsed into an integer";
        o->lim.idle_timeout_ms = v * 1000;
    } else if (!strcasecmp(name, "requirepass")) {
        WANT(1);
        o->requirepass = argv[1][0] ? keep(cfg, argv[1]) : NULL;
    } else if (!strcasecmp(name, "proto-max-bulk-len")) {
        WANT(1);
        if (!config_parse_memory(argv[1], &m) || m < 1024 * 1024 || m > LLONG_MAX)
            return "argument must be a memory value of at least 1mb";
        o->lim.resp.bulk_max = (long long)m;
    } else if (!strcasecmp(name, "client-query-buffer-limit")) {
        WANT(1);
        if (!config_parse_memory(argv[1], &m) || m < 1024 * 1024)
            return "argument must be a memory value of at least 1mb";
        o->lim.resp.query_max = (size_t)m;
    } else if (!strcasecmp(name, "client-output-buffer-limit")) {
        if (argc < 5 || (argc - 1) % 4 != 0)
            return "wrong number of arguments";
        for (int i = 1; i < argc; i += 4) {
            unsigned long long hard, soft;
            long long secs;
            if (!config_parse_memory(argv[i + 1], &hard) || !config_parse_memory(argv[i + 2], &soft) ||
                !parse_ll(argv[i + 3], 0, INT_MAX, &secs))
                return "Invalid client-output-buffer-limit: hard, soft and seconds must be numbers";
            if (!strcasecmp(argv[i], "normal")) {
                o->lim.output_hard_bytes = hard;
                o->lim.output_soft_bytes = soft;
                o->lim.output_soft_ms = secs * 1000;
            } else if (strcasecmp(argv[i], "replica") && strcasecmp(argv[i], "slave") &&
                       strcasecmp(argv[i], "pubsub")) {
                return "Invalid client class specified in buffer limit configuration.";
            }
        }
    } else if (!strcasecmp(name, "loglevel")) {
        WANT(1);
        int l = log_level_parse(argv[1]);
        if (l < 0)
            return "argument(s) must be one of the following: debug, verbose, notice, warning";
        log_set_level(l);
    } else if (!strcasecmp(name, "log-format")) {
        WANT(1);
        if (strcasecmp(argv[1], "text") && strcasecmp(argv[1], "json"))
            return "argument must be 'text' or 'json'";
        log_set_json(strcasecmp(argv[1], "json") == 0);
    } else if (!strcasecmp(name, "logfile")) {
        WANT(1);
        if (!log_open(argv[1]))
            return "Can't open the log file";
    } else if (!strcasecmp(name, "dir")) {
        WANT(1);
        if (chdir(argv[1]) != 0)
            return "No such file or directory";
    } else if (!strcasecmp(name, "daemonize")) {
        WANT(1);
        if (parse_bool(argv[1]) != 0)
            return "keel-server runs in the foreground: use your service manager (daemonize no)";
    } else if (!strcasecmp(name, "protected-mode")) {
        WANT(1);
        return set_bool(argv[1], &o->lim.protected_mode);
    } else if (!strcasecmp(name, "node-id")) {
        WANT(1);
        if (!parse_ll(argv[1], 1, INT64_MAX, &v))
            return "argument must be a positive integer";
        o->node_id = (uint64_t)v;
    } else if (!strcasecmp(name, "cluster-port")) {
        WANT(1);
        if (!parse_ll(argv[1], 0, 65535, &v))
            return "argument must be between 0 and 65535 inclusive";
        o->cluster_port = (int)v;
    } else if (!strcasecmp(name, "cluster-election-ms")) {
        WANT(1);
        if (!parse_ll(argv[1], 10, 600000, &v))
            return "argument must be between 10 and 600000 inclusive";
        o->election_ms = v;
    } else if (!strcasecmp(name, "cluster-snapshot-entries")) {
        WANT(1);
        if (!parse_ll(argv[1], 0, INT64_MAX, &v))
            return "argument must be a non-negative integer";
        o->cluster_snapshot_entries = (uint64_t)v;
    } else if (!strcasecmp(name, "cluster-id") || !strcasecmp(name, "cluster-secret")) {
        WANT(1);
        if (!strcasecmp(name, "cluster-id")) {
            if (strlen(argv[1]) == 0 || strlen(argv[1]) > 255)
                return "argument must be 1 to 255 bytes";
            o->cluster_id = keep(cfg, argv[1]);
        } else {
            o->cluster_secret = keep(cfg, argv[1]);
        }
    } else if (!strcasecmp(name, "join")) {
        /* host:port of any member's cluster bus */
        WANT(1);
        char *colon = strrchr(argv[1], ':');
        long long port;
        if (!colon || colon == argv[1] || !parse_ll(colon + 1, 1, 65535, &port))
            return "argument must be host:port (any member's cluster bus)";
        char host[256];
        if ((size_t)(colon - argv[1]) >= sizeof(host))
            return "argument must be host:port (any member's cluster bus)";
        memcpy(host, argv[1], (size_t)(colon - argv[1]));
        host[colon - argv[1]] = '\0';
        o->join_host = keep(cfg, host);
        o->join_port = (int)port;
    } else if (!strcasecmp(name, "cluster-announce-ip")) {
        WANT(1);
        if (strlen(argv[1]) == 0 || strlen(argv[1]) >= 64)
            return "argument must be an address of 1 to 63 bytes";
        o->announce_ip = keep(cfg, argv[1]);
    } else if (!strcasecmp(name, "cluster-peers")) {
        /* id@host:port,id@host:port,... (or separate arguments) */
        o->npeers = 0;
        for (int i = 1; i < argc; i++) {
            char *list = strdup(argv[i]), *save = NULL;
            for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char *at = strchr(t, '@'), *colon = strrchr(t, ':');
                long long id, port;
                if (!at || !colon || colon < at) {
                    free(list);
                    return "peers are id@host:port, separated by commas";
                }
                *at = '\0';
                *colon = '\0';
                if (!parse_ll(t, 1, INT64_MAX, &id) || !parse_ll(colon + 1, 1, 65535, &port) ||
                    at[1] == '\0') {
                    free(list);
                    return "peers are id@host:port, separated by commas";
                }
                if (o->npeers == 16) {
                    free(list);
                    return "at most 16 peers";
                }
                for (int k = 0; k < o->npeers; k++)
                    if (o->peers[k].id == (uint64_t)id) {
                        free(list);
                        return "a peer id appears twice";
                    }
                o->peers[o->npeers].id = (uint64_t)id;
                o->peers[o->npeers].host = keep(cfg, at + 1);
                o->peers[o->npeers].port = (int)port;
                o->npeers++;
            }
            free(list);
        }
    } else if (!strcasecmp(name, "appendonly")) {
        WANT(1);
        return set_bool(argv[1], &o->appendonly);
    } else if (!strcasecmp(name, "appendfsync")) {
        WANT(1);
        int mode = persist_fsync_parse(argv[1], strlen(argv[1]));
        if (mode < 0)
            return "argument(s) must be one of the following: always, everysec, no";
        o->appendfsync = mode;
    } else if (!strcasecmp(name, "aof-use-rdb-preamble")) {
        /* Redis's files have it; a keel log always starts from a snapshot. */
        WANT(1);
        bool ignored;
        return set_bool(argv[1], &ignored);
    } else if (!strcasecmp(name, "wal-preallocate")) {
        WANT(1);
        return set_bool(argv[1], &o->wal_preallocate);
    } else if (!strcasecmp(name, "wal-repair-corrupt")) {
        WANT(1);
        return set_bool(argv[1], &o->wal_repair_corrupt);
    } else if (!strcasecmp(name, "wal-segment-size") || !strcasecmp(name, "wal-snapshot-threshold")) {
        WANT(1);
        unsigned long long bytes;
        if (!config_parse_memory(argv[1], &bytes))
            return "argument must be a memory value";
        if (!strcasecmp(name, "wal-segment-size")) {
            if (bytes < 4096)
                return "argument must be at least 4096";
            o->wal_segment_size = bytes;
        } else {
            o->wal_snapshot_threshold = bytes;
        }
    } else if (!strcasecmp(name, "save")) {
        /* Redis's save points: "<seconds> <changes> ...", or "" for none.
         * A later `save` line replaces the earlier ones. */
        o->nsave = 0;
        if (argc == 2 && argv[1][0] == '\0')
            return NULL;
        /* As Redis 7: one argument holding them all ("3600 1 300 100") is
         * split at spaces. */
        char *one[34], buf[256];
        if (argc == 2 && strlen(argv[1]) < sizeof(buf)) {
            snprintf(buf, sizeof(buf), "%s", argv[1]);
            one[0] = argv[0];
            argc = 1;
            for (char *t = strtok(buf, " "); t && argc < 34; t = strtok(NULL, " "))
                one[argc++] = t;
            argv = one;
        }
        if (argc < 3 || (argc - 1) % 2 != 0 || (argc - 1) / 2 > 16)
            return "Invalid save parameters";
        for (int i = 1; i < argc; i += 2) {
            long long secs, changes;
            if (!parse_ll(argv[i], 1, INT_MAX, &secs) || !parse_ll(argv[i + 1], 0, INT_MAX, &changes))
                return "Invalid save parameters";
            o->save[o->nsave].secs = secs;
            o->save[o->nsave].changes = changes;
            o->nsave++;
        }
    } else if (!strcasecmp(name, "databases")) {
        WANT(1);
        if (!parse_ll(argv[1], 1, 1024, &v))
            return "argument must be between 1 and 1024 inclusive";
        o->databases = (int)v;
    } else if (!strcasecmp(name, "seed")) {
        WANT(1);
        if (!parse_ll(argv[1], 1, LLONG_MAX, &v))
            return "argument must be a positive integer";
        o->seed = (uint64_t)v;
    } else {
        /* Maybe one of the core's parameters: checked against its CONFIG
         * table once the engine exists (io_server_run). */
        if (argc != 2 || o->ncore_directives == (int)(sizeof(o->core_directives) /
                                                      sizeof(o->core_directives[0])))
            return "Bad directive or wrong number of arguments";
        const char *kn = keep(cfg, name), *kv = kn ? keep(cfg, argv[1]) : NULL;
        if (kv == NULL)
            return "too many directives";
        o->core_directives[o->ncore_directives].name = kn;
        o->core_directives[o->ncore_directives].value = kv;
        o->core_directives[o->ncore_directives].where = ""; /* the caller sets it */
        o->ncore_directives++;
    }
    return NULL;
#undef WANT
}

/* Splits a line with Redis's rules (the inline request parser's). */
static int split_line(const char *line, size_t len, char ***out)
{
    resp_limits lim = resp_limits_default();
    lim.inline_max = len + 1;
    resp_parser p;
    resp_parser_init(&p, &lim);
    char *buf = malloc(len + 1);
    memcpy(buf, line, len);
    buf[len] = '\n';
    resp_command cmd;
    int argc = -1;
    if (len > 0 && line[0] == '*') {
        /* Not a directive: let it be refused as one. */
        argc = 1;
        *out = calloc(1, sizeof(char *));
        (*out)[0] = strndup(line, len);
    } else if (resp_parse(&p, buf, len + 1, &cmd) == RESP_OK) {
        argc = cmd.argc;
        *out = calloc((size_t)argc + 1, sizeof(char *));
        for (int i = 0; i < argc; i++)
            (*out)[i] = strndup(cmd.argv[i].ptr, cmd.argv[i].len);
    }
    resp_parser_free(&p);
    free(buf);
    return argc;
}

static void free_args(char **a, int n)
{
    for (int i = 0; i < n; i++)
        free(a[i]);
    free(a);
}

static bool apply_line(keel_config *cfg, io_server_opts *o, const char *line, size_t len,
                       const char *where, int lineno, char *err, size_t errlen)
{
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == len || line[i] == '#')
        return true;
    char **argv;
    int argc = split_line(line + i, len - i, &argv);
    if (argc < 0) {
        snprintf(err, errlen, "Reading the configuration %s, at line %d\n>>> '%.*s'\n%s", where,
                 lineno, (int)(len - i), line + i, "Unbalanced quotes in configuration line");
        return false;
    }
    if (argc == 0) {
        free(argv);
        return true;
    }
    int before = o->ncore_directives;
    const char *why = apply(cfg, o, argc, argv);
    if (why) {
        snprintf(err, errlen, "Reading the configuration %s, at line %d\n>>> '%.*s'\n%s", where,
                 lineno, (int)(len - i), line + i, why);
    } else if (o->ncore_directives > before) {
        char w[700];
        snprintf(w, sizeof(w), "Reading the configuration %s, at line %d\n>>> '%.*s'", where,
                 lineno, (int)(len - i > 400 ? 400 : len - i), line + i);
        const char *kw = keep(cfg, w);
        o->core_directives[before].where = kw ? kw : "";
    }
    free_args(argv, argc);
    return why == NULL;
}

bool keel_config_load(keel_config *cfg, int argc, char **argv, io_server_opts *o, char *err,
                      size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    int first = 1;
    if (argc > 1 && strncmp(argv[1], "--", 2) != 0) {
        /* Absolute, as Redis keeps it: `dir` may change the working
         * directory before CONFIG REWRITE needs the file again. */
        char *abs = realpath(argv[1], NULL);
        cfg->file = abs ? abs : strdup(argv[1]);
        first = 2;
        FILE *f = fopen(cfg->file, "r");
        if (f == NULL) {
            snprintf(err, errlen, "Fatal error, can't open config file '%s': %s", cfg->file,
                     strerror(errno));
            return false;
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        int lineno = 0;
        char where[600];
        snprintf(where, sizeof(where), "file %s", cfg->file);
        while ((n = getline(&line, &cap, f)) >= 0) {
            lineno++;
            if (n > 0 && line[n - 1] == '\n')
                n--;
            if (!apply_line(cfg, o, line, (size_t)n, where, lineno, err, errlen)) {
                free(line);
                fclose(f);
                return false;
            }
        }
        free(line);
        fclose(f);
    }
    /* Flags: "--name v1 v2 --other v" -> one line per directive. */
    for (int i = first; i < argc;) {
        if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
            snprintf(err, errlen, "Invalid argument '%s': directives are given as --name value",
                     argv[i]);
            return false;
        }
        char **dargv = calloc((size_t)argc, sizeof(char *));
        int dargc = 0;
        dargv[dargc++] = strdup(argv[i] + 2);
        int j = i + 1;
        for (; j < argc && strncmp(argv[j], "--", 2) != 0; j++)
            dargv[dargc++] = strdup(argv[j]);
        int before = o->ncore_directives;
        const char *why = apply(cfg, o, dargc, dargv);
        if (why)
            snprintf(err, errlen, "Reading the configuration from the command line, argument '%s'\n%s",
                     argv[i], why);
        else if (o->ncore_directives > before) {
            char w[300];
            snprintf(w, sizeof(w), "Reading the configuration from the command line, argument '%.200s'",
                     argv[i]);
            const char *kw = keep(cfg, w);
            o->core_directives[before].where = kw ? kw : "";
        }
        free_args(dargv, dargc);
        if (why)
            return false;
        i = j;
    }
    return true;
}

void keel_config_free(keel_config *cfg)
{
    free(cfg->file);
    for (int i = 0; i < cfg->nstrings; i++)
        free(cfg->strings[i]);
    memset(cfg, 0, sizeof(*cfg));
}

/* ------------------------------------------------------------------------ */
/* CONFIG REWRITE */

/* A value as a config file line needs it: strings quoted with Redis's
 * escapes when they hold anything but plain printable characters (or are
 * empty); other types as CONFIG GET prints them (save and bind are several
 * words, which the file reads back as several arguments). */
static void append_value(kbuf *out, const config_def *d, const char *v, size_t len)
{
    bool plain = len > 0;
    for (size_t i = 0; i < len && plain; i++) {
        unsigned char ch = (unsigned char)v[i];
        plain = ch > ' ' && ch < 127 && ch != '"' && ch != '\'' && ch != '\\' &&
                (d->type != CONFIG_STRING || ch != ' ');
    }
    if (plain || (d->type == CONFIG_SPECIAL && len > 0)) {
        kbuf_append(out, v, len);
        return;
    }
    kbuf_putc(out, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)v[i];
        char esc[8];
        switch (ch) {
        case '\\': kbuf_append(out, "\\\\", 2); break;
        case '"': kbuf_append(out, "\\\"", 2); break;
        case '\n': kbuf_append(out, "\\n", 2); break;
        case '\r': kbuf_append(out, "\\r", 2); break;
        case '\t': kbuf_append(out, "\\t", 2); break;
        default:
            if (ch < ' ' || ch >= 127) {
                snprintf(esc, sizeof(esc), "\\x%02x", ch);
                kbuf_append(out, esc, 4);
            } else {
                kbuf_putc(out, (char)ch);
            }
        }
    }
    kbuf_putc(out, '"');
}

typedef struct rewrite_ctx {
    engine *e, *defaults;
    kbuf *out;
    const config_def **done; /* parameters already written */
    int ndone, capdone;
    bool header;
} rewrite_ctx;

static bool rewrite_done(const rewrite_ctx *r, const config_def *d)
{
    for (int i = 0; i < r->ndone; i++)
        if (r->done[i] == d)
            return true;
    return false;
}

static void rewrite_mark(rewrite_ctx *r, const config_def *d)
{
    if (r->ndone == r->capdone) {
        r->capdone = r->capdone ? r->capdone * 2 : 64;
        r->done = realloc(r->done, (size_t)r->capdone * sizeof(*r->done));
        if (r->done == NULL)
            abort();
    }
    r->done[r->ndone++] = d;
}

static void rewrite_line(rewrite_ctx *r, const config_def *d, void *base)
{
    kbuf v = KBUF_INIT;
    config_get_value(r->e, d, base, &v);
    kbuf_append(r->out, d->name, strlen(d->name));
    kbuf_putc(r->out, ' ');
    append_value(r->out, d, v.data ? v.data : "", v.len);
    kbuf_putc(r->out, '\n');
    kbuf_free(&v);
}

/* Parameters the file does not mention: written when not at their default. */
static void rewrite_missing_cb(void *ctx, const config_def *d, void *base)
{
    rewrite_ctx *r = ctx;
    if (rewrite_done(r, d) || (d->flags & CONFIG_HIDDEN))
        return;
    kbuf now = KBUF_INIT, def = KBUF_INIT;
    config_get_value(r->e, d, base, &now);
    void *dbase;
    bool alias;
    const config_def *dd = config_lookup(r->defaults, d->name, strlen(d->name), &dbase, &alias);
    bool same = false;
    if (dd) {
        config_get_value(r->defaults, dd, dbase, &def);
        same = now.len == def.len && (now.len == 0 || memcmp(now.data, def.data, now.len) == 0);
    }
    if (!same) {
        if (!r->header) {
            static const char h[] = "# Generated by CONFIG REWRITE\n";
            kbuf_append(r->out, h, sizeof(h) - 1);
            r->header = true;
        }
        rewrite_line(r, d, base);
    }
    kbuf_free(&now);
    kbuf_free(&def);
}

bool keel_config_rewrite(const char *file, engine *e, engine *defaults, char *err, size_t errlen)
{
    kbuf in = KBUF_INIT, out = KBUF_INIT;
    FILE *f = fopen(file, "r");
    if (f) {
        char buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
            kbuf_append(&in, buf, n);
        fclose(f);
    } else if (errno != ENOENT) {
        snprintf(err, errlen, "Rewriting config file: %s", strerror(errno));
        return false;
    }
    rewrite_ctx r = {.e = e, .defaults = defaults, .out = &out};
    /* The file's own lines, in place: a parameter's first line gets its
     * current value, later lines of the same parameter go; comments, blank
     * lines and the directives CONFIG does not know stay as they are. */
    size_t pos = 0;
    while (pos < in.len) {
        const char *line = in.data + pos;
        const char *nl = memchr(line, '\n', in.len - pos);
        size_t len = nl ? (size_t)(nl - line) : in.len - pos;
        pos += len + (nl ? 1 : 0);
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        char **argv = NULL;
        int argc = (i < len && line[i] != '#') ? split_line(line + i, len - i, &argv) : 0;
        const config_def *d = NULL;
        void *base = NULL;
        if (argc > 0) {
            bool alias;
            d = config_lookup(e, argv[0], strlen(argv[0]), &base, &alias);
        }
        if (argc > 0)
            free_args(argv, argc);
        else if (argv)
            free(argv);
        if (d == NULL) {
            kbuf_append(&out, line, len);
            kbuf_putc(&out, '\n');
        } else if (!rewrite_done(&r, d)) {
            rewrite_line(&r, d, base);
            rewrite_mark(&r, d);
        }
    }
    config_for_each(e, rewrite_missing_cb, &r);
    free(r.done);
    kbuf_free(&in);

    /* Written beside the file, synced, then renamed over it. */
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.rewrite-%d", file, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    bool ok = fd >= 0;
    size_t off = 0;
    while (ok && off < out.len) {
        ssize_t w = write(fd, out.data + off, out.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        ok = w > 0;
        if (ok)
            off += (size_t)w;
    }
    ok = ok && fsync(fd) == 0;
    if (fd >= 0)
        ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, file) == 0;
    if (!ok) {
        snprintf(err, errlen, "Rewriting config file: %s", strerror(errno));
        unlink(tmp);
    } else {
        /* The rename itself is durable once the directory is synced. */
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", file);
        char *slash = strrchr(dir, '/');
        if (slash)
            *(slash == dir ? slash + 1 : slash) = '\0';
        int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    kbuf_free(&out);
    return ok;
}
