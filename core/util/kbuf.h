/* kbuf: a growable byte buffer.
 *
 * `len` bytes of `data` are in use out of `cap`. Growth is geometric, so
 * appends are amortised O(1) and a buffer that is reused (a connection's
 * query or reply buffer) stops allocating once it has reached its working
 * size. Running out of memory aborts, as Redis's zmalloc does: no caller has
 * to handle a half-written reply. */
#ifndef KEEL_CORE_UTIL_KBUF_H
#define KEEL_CORE_UTIL_KBUF_H

#include <stddef.h>
#include <string.h>

typedef struct kbuf {
    char *data;
    size_t len;
    size_t cap;
} kbuf;

#define KBUF_INIT {NULL, 0, 0}

void kbuf_init(kbuf *b);
void kbuf_free(kbuf *b);

/* Makes room for at least `extra` more bytes (slow path of kbuf_reserve). */
void kbuf_grow(kbuf *b, size_t extra);

/* Returns a pointer to at least `extra` writable bytes after the data; the
 * caller writes there and then adds what it wrote to b->len. */
static inline char *kbuf_reserve(kbuf *b, size_t extra)
{
    if (b->cap - b->len < extra)
        kbuf_grow(b, extra);
    return b->data + b->len;
}

static inline void kbuf_append(kbuf *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    memcpy(kbuf_reserve(b, n), p, n);
    b->len += n;
}

static inline void kbuf_putc(kbuf *b, char c)
{
    *kbuf_reserve(b, 1) = c;
    b->len++;
}

/* Drops the first n bytes (n <= len) and moves the rest to the front. */
void kbuf_consume(kbuf *b, size_t n);

static inline void kbuf_clear(kbuf *b) { b->len = 0; }

/* A writer callback (msgpack-c's packer, codec_write_fn) that appends to
 * the kbuf ctx. Always 0. */
int kbuf_write(void *ctx, const char *buf, size_t len);

/* Byte order of two strings, a prefix before the longer one (memcmp
 * order; Redis's binary comparison of members and of SORT ALPHA values). */
static inline int kbytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

#endif
