#include "core/util/kbuf.h"

#include <assert.h>
#include <stdlib.h>

void kbuf_init(kbuf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void kbuf_free(kbuf *b)
{
    free(b->data);
    kbuf_init(b);
}

void kbuf_grow(kbuf *b, size_t extra)
{
    size_t need = b->len + extra;
    if (need < b->len)
        abort(); /* size overflow: no caller can go on from here */
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        abort(); /* out of memory: fatal, as in Redis (the core does no I/O to say so) */
    b->data = p;
    b->cap = cap;
}

void kbuf_consume(kbuf *b, size_t n)
{
    assert(n <= b->len);
    if (n == 0)
        return;
    b->len -= n;
    if (b->len)
        memmove(b->data, b->data + n, b->len);
}

int kbuf_write(void *ctx, const char *buf, size_t len)
{
    kbuf_append(ctx, buf, len);
    return 0;
}
