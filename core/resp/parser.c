/* RESP2 request parser. See parser.h for the contract.
 *
 * The rules follow Redis 7.0's networking.c (processMultibulkBuffer,
 * processInlineBuffer) and sds.c (sdssplitargs) so that clients see the same
 * replies; where Redis's outcome depends on how many bytes one read()
 * brought, keel decides by the bytes alone (docs/decisions/0002). */
#include "core/resp/parser.h"

#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Set-up */

resp_limits resp_limits_default(void)
{
    resp_limits l = {
        .inline_max = RESP_INLINE_MAX_DEFAULT,
        .bulk_max = RESP_BULK_MAX_DEFAULT,
        .query_max = RESP_QUERY_MAX_DEFAULT,
    };
    return l;
}

void resp_parser_init(resp_parser *p, const resp_limits *lim)
{
    memset(p, 0, sizeof(*p));
    p->lim = lim ? *lim : resp_limits_default();
    resp_parser_reset(p);
}

void resp_parser_free(resp_parser *p)
{
    free(p->off);
    free(p->argv);
    free(p->scratch);
    p->off = NULL;
    p->argv = NULL;
    p->scratch = NULL;
    p->cap = 0;
    p->scratch_cap = 0;
}

static void start_command(resp_parser *p)
{
    p->in_mbulk = false;
    p->pos = 0;
    p->remaining = 0;
    p->bulklen = -1;
    p->argc = 0;
    p->scanned = 0;
}

void resp_parser_reset(resp_parser *p)
{
    start_command(p);
    p->err = RESP_ERR_NONE;
    p->errmsg[0] = '\0';
}

/* Room for one more argument. Grows with the arguments that actually
 * arrived, never from a count the client announced. */
static void reserve_arg(resp_parser *p)
{
    if (p->argc < p->cap)
        return;
    int cap = p->cap ? p->cap * 2 : 16;
    size_t *off = realloc(p->off, (size_t)cap * sizeof(*off));
    if (off == NULL)
        abort();
    p->off = off;
    resp_slice *argv = realloc(p->argv, (size_t)cap * sizeof(*argv));
    if (argv == NULL)
        abort();
    p->argv = argv;
    p->cap = cap;
}

/* ------------------------------------------------------------------------ */
/* Errors */

static const char *const error_text[] = {
    [RESP_ERR_NONE] = NULL,
    [RESP_ERR_MBULK_LEN] = "Protocol error: invalid multibulk length",
    [RESP_ERR_BULK_LEN] = "Protocol error: invalid bulk length",
    [RESP_ERR_EXPECTED_DOLLAR] = NULL, /* formatted into errmsg */
    [RESP_ERR_INLINE_TOO_BIG] = "Protocol error: too big inline request",
    [RESP_ERR_UNBALANCED] = "Protocol error: unbalanced quotes in request",
    [RESP_ERR_MBULK_TOO_BIG] = "Protocol error: too big mbulk count string",
    [RESP_ERR_BULK_TOO_BIG] = "Protocol error: too big bulk count string",
    [RESP_ERR_UNAUTH_MBULK] = "Protocol error: unauthenticated multibulk length",
    [RESP_ERR_UNAUTH_BULK] = "Protocol error: unauthenticated bulk length",
    [RESP_ERR_QUERY_LIMIT] = NULL, /* Redis closes without a reply */
};

static int fail(resp_parser *p, resp_error e)
{
    p->err = e;
    return RESP_ERROR;
}

/* Redis formats this one with "%c" through sds and then maps CR and LF to
 * spaces; a NUL ends the sds string there, so the quote is left open. */
static int fail_expected_dollar(resp_parser *p, char got)
{
    static const char prefix[] = "Protocol error: expected '$', got '";
    size_t n = sizeof(prefix) - 1;
    memcpy(p->errmsg, prefix, n);
    if (got != '\0') {
        p->errmsg[n++] = (got == '\r' || got == '\n') ? ' ' : got;
        p->errmsg[n++] = '\'';
    }
    p->errmsg[n] = '\0';
    return fail(p, RESP_ERR_EXPECTED_DOLLAR);
}

const char *resp_parser_error(const resp_parser *p)
{
    if (p->err == RESP_ERR_EXPECTED_DOLLAR)
        return p->errmsg;
    return error_text[p->err];
}

/* ------------------------------------------------------------------------ */
/* Numbers */

bool resp_string2ll(const char *s, size_t len, long long *out)
{
    /* Redis's LONG_STR_SIZE is 21: at most 20 characters. */
    if (len == 0 || len >= 21)
        return false;
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return true;
    }
    size_t i = 0;
    bool negative = false;
    if (s[0] == '-') {
        negative = true;
        if (++i == len)
            return false;
    }
    if (s[i] < '1' || s[i] > '9')
        return false;
    unsigned long long v = (unsigned long long)(s[i++] - '0');
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (negative) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return false;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX)
            return false;
        *out = (long long)v;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* Count lines: "*N\r\n" and "$N\r\n" */

enum { LINE_OK, LINE_MORE, LINE_TOO_BIG, LINE_BAD_NUMBER, LINE_NOT_DOLLAR };

/* Reads the count line that starts at buf[pos] (its first byte is '*' or
 * '$'; for '$' lines the caller asks us to check it, with want_dollar).
 * Redis looks for the '\r' first, requires the byte after it to be present,
 * and only then checks the first byte and the number between, so a line
 * is judged only once it is complete. If no '\r' is within inline_max + 1
 * bytes and more than inline_max bytes are there, the line is too big;
 * bounding the search keeps that verdict independent of the chunking.
 *
 * p->scanned bytes of the line are already known to hold no '\r', so a
 * line that arrives a byte at a time is not scanned again from its start.
 *
 * On LINE_OK, *n is the number and *next the offset after the line. */
static int read_count(resp_parser *p, const char *buf, size_t pos,
                      size_t len, bool want_dollar, long long *n, size_t *next)
{
    /* Fast path: the expected first byte, 1..18 digits starting with 1-9
     * (so no leading zero and no overflow), then '\r' and one more byte. */
    const char *s = buf + pos;
    const char *end = buf + len;
    if ((!want_dollar || s[0] == '$') && s + 1 < end && s[1] >= '1' && s[1] <= '9') {
        const char *d = s + 1;
        const char *dmax = d + 18 < end ? d + 18 : end;
        unsigned long long v = 0;
        while (d < dmax && *d >= '0' && *d <= '9')
            v = v * 10 + (unsigned)(*d++ - '0');
        /* The '\r' must be where the slow path would look for it too. */
        if (d + 1 < end && *d == '\r' && (size_t)(d - s) <= p->lim.inline_max) {
            *n = (long long)v;
            *next = (size_t)(d + 2 - buf);
            p->scanned = 0;
            return LINE_OK;
        }
    }

    /* Slow path, Redis's exact order. */
    size_t avail = len - pos;
    size_t scan = avail < p->lim.inline_max + 1 ? avail : p->lim.inline_max + 1;
    const char *cr = p->scanned < scan ? memchr(s + p->scanned, '\r', scan - p->scanned) : NULL;
    if (cr == NULL) {
        if (avail > p->lim.inline_max)
            return LINE_TOO_BIG;
        p->scanned = scan;
        return LINE_MORE;
    }
    p->scanned = (size_t)(cr - s);
    if (cr + 1 >= end)
        return LINE_MORE; /* the byte after '\r' is not here yet */
    p->scanned = 0;
    if (want_dollar && s[0] != '$')
        return LINE_NOT_DOLLAR;
    if (!resp_string2ll(s + 1, (size_t)(cr - (s + 1)), n))
        return LINE_BAD_NUMBER;
    *next = (size_t)(cr + 2 - buf);
    return LINE_OK;
}

/* ------------------------------------------------------------------------ */
/* Inline commands */

static bool is_blank(unsigned char c)
{
    /* isspace() in the C locale, which is what Redis runs with for ctype. */
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hex_val(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

/* Splits line[0..len) into arguments exactly as Redis's sdssplitargs does,
 * unescaping into p->scratch. Returns false on unbalanced quotes. The line
 * is a C string to sdssplitargs, so a NUL byte ends it. */
static bool split_inline(resp_parser *p, const char *line, size_t len)
{
    const char *nul = memchr(line, '\0', len);
    if (nul != NULL)
        len = (size_t)(nul - line);

    if (p->scratch_cap < len) {
        char *s = realloc(p->scratch, len);
        if (s == NULL)
            abort();
        p->scratch = s;
        p->scratch_cap = len;
    }

    const unsigned char *c = (const unsigned char *)line;
    const unsigned char *end = c + len;
    char *out = p->scratch;
    /* at(i): the byte i past c, or 0 past the end (the C string's NUL). */
#define at(i) (c + (i) < end ? c[i] : 0)
    for (;;) {
        while (c < end && is_blank(*c))
            c++;
        if (c == end)
            return true;

        char *word = out;
        bool inq = false, insq = false, done = false;
        while (!done) {
            unsigned char ch = at(0);
            if (inq) {
                if (ch == '\\' && at(1) == 'x' && is_hex(at(2)) && is_hex(at(3))) {
                    *out++ = (char)(hex_val(at(2)) * 16 + hex_val(at(3)));
                    c += 3;
                } else if (ch == '\\' && at(1)) {
                    c++;
                    switch (*c) {
                    case 'n': *out++ = '\n'; break;
                    case 'r': *out++ = '\r'; break;
                    case 't': *out++ = '\t'; break;
                    case 'b': *out++ = '\b'; break;
                    case 'a': *out++ = '\a'; break;
                    default: *out++ = (char)*c; break;
                    }
                } else if (ch == '"') {
                    /* A closing quote must be followed by a blank or the end. */
                    if (at(1) && !is_blank(at(1)))
                        return false;
                    done = true;
                } else if (ch == 0) {
                    return false; /* unterminated quotes */
                } else {
                    *out++ = (char)ch;
                }
            } else if (insq) {
                if (ch == '\\' && at(1) == '\'') {
                    c++;
                    *out++ = '\'';
                } else if (ch == '\'') {
                    if (at(1) && !is_blank(at(1)))
                        return false;
                    done = true;
                } else if (ch == 0) {
                    return false;
                } else {
                    *out++ = (char)ch;
                }
            } else {
                switch (ch) {
                case ' ': case '\n': case '\r': case '\t': case 0:
                    done = true;
                    break;
                case '"':
                    inq = true;
                    break;
                case '\'':
                    insq = true;
                    break;
                default:
                    *out++ = (char)ch;
                    break;
                }
            }
            if (c < end)
                c++;
        }
        reserve_arg(p);
        p->argv[p->argc].ptr = word;
        p->argv[p->argc].len = (size_t)(out - word);
        p->argc++;
    }
#undef at
}

static int parse_inline(resp_parser *p, const char *buf, size_t len, resp_command *out)
{
    /* The line may be no longer than inline_max, and the request no longer
     * than query_max: search for '\n' only that far, so the verdict does not
     * depend on how the bytes arrived. Resume where the last call stopped. */
    size_t cap = p->lim.inline_max < p->lim.query_max ? p->lim.inline_max : p->lim.query_max;
    size_t from = p->scanned;
    size_t limit = cap + 1 < len ? cap + 1 : len;
    const char *nl = from < limit ? memchr(buf + from, '\n', limit - from) : NULL;
    if (nl == NULL) {
        if (len > p->lim.inline_max)
            return fail(p, RESP_ERR_INLINE_TOO_BIG);
        if (len > p->lim.query_max)
            return fail(p, RESP_ERR_QUERY_LIMIT);
        p->scanned = limit;
        return RESP_MORE;
    }
    size_t linelen = (size_t)(nl - buf);
    size_t consumed = linelen + 1;
    if (consumed > p->lim.query_max)
        return fail(p, RESP_ERR_QUERY_LIMIT);
    if (linelen > 0 && buf[linelen - 1] == '\r')
        linelen--;

    p->argc = 0;
    if (!split_inline(p, buf, linelen))
        return fail(p, RESP_ERR_UNBALANCED);
    out->argc = p->argc;
    out->argv = p->argv;
    out->len = consumed;
    out->is_inline = true;
    start_command(p);
    return RESP_OK;
}

/* ------------------------------------------------------------------------ */
/* Multibulk commands */

int resp_parse(resp_parser *p, const char *buf, size_t len, resp_command *out)
{
    if (p->err != RESP_ERR_NONE)
        return RESP_ERROR;

    long long n;
    size_t next;

    if (!p->in_mbulk) {
        if (len == 0)
            return RESP_MORE;
        if (buf[0] != '*')
            return parse_inline(p, buf, len, out);

        switch (read_count(p, buf, 0, len, false, &n, &next)) {
        case LINE_MORE:
            return RESP_MORE;
        case LINE_TOO_BIG:
            return fail(p, RESP_ERR_MBULK_TOO_BIG);
        case LINE_BAD_NUMBER:
            return fail(p, RESP_ERR_MBULK_LEN);
        default:
            break;
        }
        if (n > INT_MAX)
            return fail(p, RESP_ERR_MBULK_LEN);
        if (n > RESP_UNAUTH_ARGC_MAX && p->auth_required)
            return fail(p, RESP_ERR_UNAUTH_MBULK);
        if (n <= 0) {
            out->argc = 0;
            out->argv = p->argv;
            out->len = next;
            out->is_inline = false;
            return RESP_OK;
        }
        p->in_mbulk = true;
        p->remaining = n;
        p->pos = next;
        p->bulklen = -1;
        p->argc = 0;
    }

    size_t pos = p->pos;
    long long bulklen = p->bulklen;
    long long remaining = p->remaining;
    while (remaining > 0) {
        if (bulklen < 0) {
            if (pos >= len)
                goto more;
            switch (read_count(p, buf, pos, len, true, &n, &next)) {
            case LINE_MORE:
                goto more;
            case LINE_TOO_BIG:
                return fail(p, RESP_ERR_BULK_TOO_BIG);
            case LINE_NOT_DOLLAR:
                return fail_expected_dollar(p, buf[pos]);
            case LINE_BAD_NUMBER:
                return fail(p, RESP_ERR_BULK_LEN);
            default:
                break;
            }
            if (n < 0 || n > p->lim.bulk_max)
                return fail(p, RESP_ERR_BULK_LEN);
            if (n > RESP_UNAUTH_BULK_MAX && p->auth_required)
                return fail(p, RESP_ERR_UNAUTH_BULK);
            /* The command's size is known from here: refuse it now rather
             * than after buffering up to the limit. */
            if ((unsigned long long)n + 2 > p->lim.query_max - (next < p->lim.query_max ? next : p->lim.query_max))
                return fail(p, RESP_ERR_QUERY_LIMIT);
            bulklen = n;
            pos = next;
        }
        if (len - pos < (size_t)bulklen + 2)
            goto more;
        reserve_arg(p);
        p->off[p->argc] = pos;
        p->argv[p->argc].len = (size_t)bulklen;
        p->argc++;
        pos += (size_t)bulklen + 2;
        bulklen = -1;
        remaining--;
    }

    for (int i = 0; i < p->argc; i++)
        p->argv[i].ptr = buf + p->off[i];
    out->argc = p->argc;
    out->argv = p->argv;
    out->len = pos;
    out->is_inline = false;
    start_command(p);
    return RESP_OK;

more:
    p->pos = pos;
    p->bulklen = bulklen;
    p->remaining = remaining;
    return RESP_MORE;
}
