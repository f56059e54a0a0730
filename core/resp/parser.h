/* RESP2 request parser: incremental, zero-copy, with Redis 7.0's limits and
 * error texts.
 *
 * Both request forms Redis accepts are parsed: multibulk (`*N\r\n$L\r\n...`)
 * and inline commands (a line of space-separated words, with quotes and
 * escapes as Redis's sdssplitargs reads them).
 *
 * How a driver uses it (a connection's read path, the simulator, a fuzzer):
 *
 *     kbuf q;                        // the connection's query buffer
 *     ... append the bytes that arrived to q ...
 *     size_t done = 0;
 *     for (;;) {
 *         resp_command cmd;
 *         int r = resp_parse(&p, q.data + done, q.len - done, &cmd);
 *         if (r == RESP_MORE) break;
 *         if (r == RESP_ERROR) { reply resp_parser_error(&p), close; break; }
 *         done += cmd.len;
 *         if (cmd.argc > 0) execute(cmd.argc, cmd.argv);
 *     }
 *     kbuf_consume(&q, done);
 *
 * Contract:
 * - `buf` always starts at the first byte of the command being parsed. After
 *   RESP_MORE the next call must pass the same bytes again (at any address:
 *   the buffer may have moved or grown) followed by whatever arrived since.
 *   The parser remembers how far it got and does not scan those bytes again.
 * - The result does not depend on how the bytes were split across calls:
 *   the same stream gives the same commands and the same error for every
 *   chunking. (Redis itself decides some limits by how much one read()
 *   brought; keel decides them by the bytes alone. See docs/decisions.)
 * - A multibulk command's arguments are views into `buf` (zero copy). An
 *   inline command's arguments are unescaped into a scratch buffer owned by
 *   the parser. Either way they stay valid until the next resp_parse call.
 * - A command with no arguments (`*0`, `*-1`, an empty or blank line) comes
 *   back as RESP_OK with argc == 0: skip it, as Redis does.
 * - An error is sticky: the parser returns RESP_ERROR from then on. The
 *   caller sends resp_parser_error() as an error reply (when it is not NULL)
 *   and closes the connection after it, as Redis does.
 * - Nothing is allocated from a count the client sent: argument arrays grow
 *   as arguments actually arrive. */
#ifndef KEEL_CORE_RESP_PARSER_H
#define KEEL_CORE_RESP_PARSER_H

#include <stdbool.h>
#include <stddef.h>

/* Redis's PROTO_INLINE_MAX_SIZE: the longest inline line and the longest
 * count line (`*N` / `$N`) accepted. */
#define RESP_INLINE_MAX_DEFAULT ((size_t)64 * 1024)
/* proto-max-bulk-len's default. */
#define RESP_BULK_MAX_DEFAULT (512LL * 1024 * 1024)
/* client-query-buffer-limit's default. */
#define RESP_QUERY_MAX_DEFAULT ((size_t)1024 * 1024 * 1024)
/* Before AUTH, when a password is required, Redis accepts at most this many
 * arguments and this long a bulk string. */
#define RESP_UNAUTH_ARGC_MAX 10
#define RESP_UNAUTH_BULK_MAX 16384

typedef struct resp_slice {
    const char *ptr;
    size_t len;
} resp_slice;

typedef struct resp_limits {
    size_t inline_max;  /* longest inline request / count line */
    long long bulk_max; /* proto-max-bulk-len */
    size_t query_max;   /* client-query-buffer-limit: largest command, in bytes */
} resp_limits;

enum {
    RESP_OK = 0, /* a command is in *out */
    RESP_MORE,   /* the bytes so far are a valid prefix: feed more */
    RESP_ERROR,  /* protocol error (sticky): see resp_parser_error() */
};

/* Which protocol error stopped the parser. */
typedef enum resp_error {
    RESP_ERR_NONE = 0,
    RESP_ERR_MBULK_LEN,      /* invalid multibulk length */
    RESP_ERR_BULK_LEN,       /* invalid bulk length */
    RESP_ERR_EXPECTED_DOLLAR,/* expected '$', got 'X' */
    RESP_ERR_INLINE_TOO_BIG, /* too big inline request */
    RESP_ERR_UNBALANCED,     /* unbalanced quotes in request */
    RESP_ERR_MBULK_TOO_BIG,  /* too big mbulk count string */
    RESP_ERR_BULK_TOO_BIG,   /* too big bulk count string */
    RESP_ERR_UNAUTH_MBULK,   /* unauthenticated multibulk length */
    RESP_ERR_UNAUTH_BULK,    /* unauthenticated bulk length */
    RESP_ERR_QUERY_LIMIT,    /* command larger than client-query-buffer-limit */
} resp_error;

typedef struct resp_command {
    int argc;
    const resp_slice *argv; /* argc arguments, valid until the next resp_parse */
    size_t len;             /* bytes of buf this command took, from its start */
    bool is_inline;         /* parsed from the inline form */
} resp_command;

typedef struct resp_parser {
    resp_limits lim;
    bool auth_required; /* apply Redis's tighter limits before AUTH */

    /* The command in progress. */
    bool in_mbulk;       /* a multibulk header was read */
    size_t pos;          /* bytes of the command already parsed */
    long long remaining; /* multibulk arguments still to read */
    long long bulklen;   /* length of the argument being read, -1 before its $ line */
    int argc;            /* arguments read so far */
    size_t scanned;      /* bytes of the current line known to hold no terminator */

    /* Argument storage, grown as arguments arrive and then reused. */
    size_t *off;       /* offset of each argument from the command start */
    resp_slice *argv;  /* what resp_command.argv points at */
    int cap;
    char *scratch;     /* unescaped inline arguments */
    size_t scratch_cap;

    resp_error err;
    char errmsg[64];
} resp_parser;

/* Defaults are Redis 7.0's. */
resp_limits resp_limits_default(void);

/* lim may be NULL for the defaults. */
void resp_parser_init(resp_parser *p, const resp_limits *lim);
void resp_parser_free(resp_parser *p);

/* Forgets the command in progress and any error (keeps the buffers). */
void resp_parser_reset(resp_parser *p);

/* Parses the next command from buf[0..len): RESP_OK (and *out filled),
 * RESP_MORE or RESP_ERROR. See the contract above. */
int resp_parse(resp_parser *p, const char *buf, size_t len, resp_command *out);

/* The error that stopped the parser, as the text of the error reply Redis
 * sends before closing ("Protocol error: invalid bulk length"), for
 * resp_add_error(). NULL when there is no error, or when Redis closes the
 * connection without a reply (RESP_ERR_QUERY_LIMIT). */
const char *resp_parser_error(const resp_parser *p);

/* Redis's string2ll: a strict base-10 long long (no spaces, no '+', no
 * leading zeros, no "-0"). Returns true and sets *out when s[0..len) is one. */
bool resp_string2ll(const char *s, size_t len, long long *out);

#endif
