/* sim/reply: RESP2 replies, one level of array. See reply.h. */
#include "sim/reply.h"

#include <string.h>

/* The line at p[0..len) up to "\r\n": its length (without CRLF), or -1 if
 * there is no complete line. */
static long line_len(const char *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++)
        if (p[i] == '\r' && p[i + 1] == '\n')
            return (long)i;
    return -1;
}

static bool parse_int(const char *p, size_t len, int64_t *v)
{
    if (len == 0 || len > 20)
        return false;
    bool neg = p[0] == '-';
    size_t i = neg ? 1 : 0;
    if (i == len)
        return false;
    uint64_t x = 0;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(p[i] - '0');
    }
    *v = neg ? -(int64_t)x : (int64_t)x;
    return true;
}

/* One scalar (or an array header when arrays is set: *n) at buf. Returns
 * bytes taken, 0 for more, -1 for bad. */
static long parse_one(const char *buf, size_t len, sreply_elem *e, int64_t *array_n)
{
    if (len < 1)
        return 0;
    long l = line_len(buf + 1, len - 1);
    if (l < 0)
        return len > 64 * 1024 ? -1 : 0;
    const char *s = buf + 1;
    long head = 1 + l + 2;
    switch (buf[0]) {
    case '+':
    case '-':
        e->type = buf[0] == '+' ? SR_STATUS : SR_ERROR;
        e->str = s;
        e->len = (size_t)l;
        return head;
    case ':':
        e->type = SR_INT;
        return parse_int(s, (size_t)l, &e->ival) ? head : -1;
    case '$': {
        int64_t n;
        if (!parse_int(s, (size_t)l, &n) || n < -1)
            return -1;
        if (n == -1) {
            e->type = SR_NIL;
            return head;
        }
        if ((size_t)head + (size_t)n + 2 > len)
            return 0;
        if (buf[head + n] != '\r' || buf[head + n + 1] != '\n')
            return -1;
        e->type = SR_BULK;
        e->str = buf + head;
        e->len = (size_t)n;
        return head + (long)n + 2;
    }
    case '*': {
        int64_t n;
        if (array_n == NULL || !parse_int(s, (size_t)l, &n) || n < -1)
            return -1;
        if (n == -1) {
            e->type = SR_NIL;
            return head;
        }
        e->type = SR_ARRAY;
        *array_n = n;
        return head;
    }
    }
    return -1;
}

long sreply_parse_into(const char *buf, size_t len, sreply *out, sreply_elem *elems, size_t cap)
{
    memset(out, 0, sizeof(*out));
    int64_t n = -1;
    long took = parse_one(buf, len, &out->v, &n);
    if (took <= 0 || out->v.type != SR_ARRAY)
        return took;
    for (int64_t i = 0; i < n; i++) {
        sreply_elem spare;
        sreply_elem *e = (uint64_t)i < cap ? &elems[i] : &spare;
        long t = parse_one(buf + took, len - (size_t)took, e, NULL);
        if (t <= 0)
            return t;
        took += t;
    }
    out->nelems = (uint32_t)n;
    return took;
}

long sreply_parse(const char *buf, size_t len, sreply *out)
{
    int64_t n = -1;
    sreply_elem head;
    /* The array's length first: more elements than out->elems holds is
     * not a reply this parser takes. */
    long took = parse_one(buf, len, &head, &n);
    if (took > 0 && head.type == SR_ARRAY && n > SREPLY_MAX_ELEMS)
        return -1;
    /* (sreply_parse_into clears *out before it fills out->elems) */
    return sreply_parse_into(buf, len, out, out->elems, SREPLY_MAX_ELEMS);
}
