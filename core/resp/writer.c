/* RESP2 and RESP3 reply writer. See writer.h. */
#include "core/resp/writer.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

size_t resp_ll2str(char *dst, long long v)
{
    char tmp[21];
    size_t n = 0;
    /* Work on the magnitude as unsigned so LLONG_MIN needs no special case. */
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0)
        dst[len++] = '-';
    while (n)
        dst[len++] = tmp[--n];
    return len;
}

/* "<type><v>\r\n", the header of integers, bulk strings and arrays. */
static inline void add_header(kbuf *b, char type, long long v)
{
    char *p = kbuf_reserve(b, 1 + 20 + 2);
    p[0] = type;
    size_t n = 1 + resp_ll2str(p + 1, v);
    p[n++] = '\r';
    p[n++] = '\n';
    b->len += n;
}

void resp_add_simple(kbuf *b, const char *s, size_t len)
{
    assert(memchr(s, '\r', len) == NULL && memchr(s, '\n', len) == NULL);
    char *p = kbuf_reserve(b, len + 3);
    p[0] = '+';
    memcpy(p + 1, s, len);
    p[len + 1] = '\r';
    p[len + 2] = '\n';
    b->len += len + 3;
}

void resp_add_simple_cstr(kbuf *b, const char *s)
{
    resp_add_simple(b, s, strlen(s));
}

void resp_add_error(kbuf *b, const char *s, size_t len)
{
    /* Trailing CR/LF are dropped, inner ones become spaces (Redis's
     * addReplyErrorFormat), so the reply stays one line. */
    while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == '\n'))
        len--;
    bool has_code = len > 0 && s[0] == '-';
    char *p = kbuf_reserve(b, len + 5 + 2);
    size_t n = 0;
    if (!has_code) {
        memcpy(p, "-ERR ", 5);
        n = 5;
    }
    for (size_t i = 0; i < len; i++)
        p[n++] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
    p[n++] = '\r';
    p[n++] = '\n';
    b->len += n;
}

void resp_add_error_cstr(kbuf *b, const char *s)
{
    resp_add_error(b, s, strlen(s));
}

void resp_add_errorf(kbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        resp_add_error(b, small, (size_t)n);
        return;
    }
    /* A long message: format it into a buffer of its own size. */
    kbuf tmp = KBUF_INIT;
    char *p = kbuf_reserve(&tmp, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    resp_add_error(b, p, (size_t)n);
    kbuf_free(&tmp);
}

void resp_add_int(kbuf *b, long long v)
{
    add_header(b, ':', v);
}

void resp_add_bulk(kbuf *b, const void *p, size_t len)
{
    add_header(b, '$', (long long)len);
    char *d = kbuf_reserve(b, len + 2);
    if (len)
        memcpy(d, p, len);
    d[len] = '\r';
    d[len + 1] = '\n';
    b->len += len + 2;
}

void resp_add_bulk_cstr(kbuf *b, const char *s)
{
    resp_add_bulk(b, s, strlen(s));
}

void resp_add_bulk_ll(kbuf *b, long long v)
{
    char num[21];
    size_t n = resp_ll2str(num, v);
    resp_add_bulk(b, num, n);
}

void resp_add_null(kbuf *b)
{
    kbuf_append(b, "$-1\r\n", 5);
}

void resp_add_array(kbuf *b, long long n)
{
    add_header(b, '*', n);
}

void resp_add_null_array(kbuf *b)
{
    kbuf_append(b, "*-1\r\n", 5);
}

/* The deferred header is written as a placeholder of the widest header and
 * shrunk in place when the count is known: one memmove of the elements,
 * as Redis's setDeferredReply does when the reply is in one buffer. */
#define DEFERRED_HEADER_MAX (1 + 20 + 2)

size_t resp_add_array_deferred(kbuf *b)
{
    size_t mark = b->len;
    kbuf_reserve(b, DEFERRED_HEADER_MAX);
    b->len += DEFERRED_HEADER_MAX;
    return mark;
}

static void set_deferred(kbuf *b, size_t mark, char type, long long n)
{
    assert(mark + DEFERRED_HEADER_MAX <= b->len);
    char hdr[DEFERRED_HEADER_MAX];
    size_t h = 0;
    hdr[h++] = type;
    h += resp_ll2str(hdr + h, n);
    hdr[h++] = '\r';
    hdr[h++] = '\n';
    size_t body = mark + DEFERRED_HEADER_MAX;
    memmove(b->data + mark + h, b->data + body, b->len - body);
    memcpy(b->data + mark, hdr, h);
    b->len -= DEFERRED_HEADER_MAX - h;
}

void resp_set_array_deferred(kbuf *b, size_t mark, long long n)
{
    set_deferred(b, mark, '*', n);
}

void resp_add_command(kbuf *b, int argc, const resp_slice *argv)
{
    resp_add_array(b, argc);
    for (int i = 0; i < argc; i++)
        resp_add_bulk(b, argv[i].ptr, argv[i].len);
}

/* ------------------------------------------------------------------------ */
/* RESP3 */

void resp_add_null3(kbuf *b)
{
    kbuf_append(b, "_\r\n", 3);
}

void resp_add_map(kbuf *b, int proto, long long n)
{
    if (proto >= 3)
        add_header(b, '%', n);
    else
        add_header(b, '*', 2 * n);
}

void resp_add_set(kbuf *b, int proto, long long n)
{
    add_header(b, proto >= 3 ? '~' : '*', n);
}

void resp_add_attribute(kbuf *b, long long n)
{
    add_header(b, '|', n);
}

void resp_add_push(kbuf *b, long long n)
{
    add_header(b, '>', n);
}

void resp_add_bool(kbuf *b, int proto, bool v)
{
    if (proto >= 3)
        kbuf_append(b, v ? "#t\r\n" : "#f\r\n", 4);
    else
        kbuf_append(b, v ? ":1\r\n" : ":0\r\n", 4);
}

void resp_add_double(kbuf *b, int proto, double v)
{
    char buf[64];
    int n;
    /* Spelled out rather than left to printf, which may spell them
     * otherwise (Redis does the same for the infinities). */
    if (isinf(v))
        n = snprintf(buf, sizeof(buf), "%s", v > 0 ? "inf" : "-inf");
    else if (isnan(v))
        n = snprintf(buf, sizeof(buf), "nan");
    else
        n = snprintf(buf, sizeof(buf), "%.17g", v);
    if (n < 0)
        n = 0;
    if (proto < 3) {
        resp_add_bulk(b, buf, (size_t)n);
        return;
    }
    char *p = kbuf_reserve(b, (size_t)n + 3);
    p[0] = ',';
    memcpy(p + 1, buf, (size_t)n);
    p[n + 1] = '\r';
    p[n + 2] = '\n';
    b->len += (size_t)n + 3;
}

void resp_add_bignum(kbuf *b, int proto, const char *num, size_t len)
{
    if (proto < 3) {
        resp_add_bulk(b, num, len);
        return;
    }
    char *p = kbuf_reserve(b, len + 3);
    p[0] = '(';
    if (len)
        memcpy(p + 1, num, len);
    p[len + 1] = '\r';
    p[len + 2] = '\n';
    b->len += len + 3;
}

void resp_add_verbatim(kbuf *b, int proto, const void *p, size_t len, const char *ext)
{
    if (proto < 3) {
        resp_add_bulk(b, p, len);
        return;
    }
    add_header(b, '=', (long long)(len + 4));
    char *d = kbuf_reserve(b, 4 + len + 2);
    for (int i = 0; i < 3; i++)
        d[i] = *ext ? *ext++ : ' ';
    d[3] = ':';
    if (len)
        memcpy(d + 4, p, len);
    d[4 + len] = '\r';
    d[4 + len + 1] = '\n';
    b->len += 4 + len + 2;
}

void resp_set_map_deferred(kbuf *b, size_t mark, int proto, long long n)
{
    if (proto >= 3)
        set_deferred(b, mark, '%', n);
    else
        set_deferred(b, mark, '*', 2 * n);
}

void resp_set_set_deferred(kbuf *b, size_t mark, int proto, long long n)
{
    set_deferred(b, mark, proto >= 3 ? '~' : '*', n);
}
