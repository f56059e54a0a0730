/* Unit tests for kbuf (core/util/kbuf.h): append, reserve, consume,
 * growth. */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util/kbuf.h"
#include "helpers.h"

static void assert_content(const kbuf *b, const char *want, size_t n)
{
    cr_assert_eq(b->len, n, "len %zu, expected %zu", b->len, n);
    cr_assert_geq(b->cap, b->len, "cap %zu < len %zu", b->cap, b->len);
    if (n)
        cr_assert_eq(memcmp(b->data, want, n), 0, "content '%.*s', expected '%.*s'", (int)b->len,
                     b->data, (int)n, want);
}

#define ASSERT_CONTENT(b, lit) assert_content((b), (lit), sizeof(lit) - 1)

Test(kbuf, init_and_free)
{
    kbuf a = KBUF_INIT;
    cr_assert_null(a.data);
    cr_assert_eq(a.len, (size_t)0);
    cr_assert_eq(a.cap, (size_t)0);

    kbuf b;
    memset(&b, 0x5a, sizeof b);
    kbuf_init(&b);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, (size_t)0);
    cr_assert_eq(b.cap, (size_t)0);

    kbuf_append(&b, "abc", 3);
    cr_assert_not_null(b.data);
    kbuf_free(&b);
    cr_assert_null(b.data);
    cr_assert_eq(b.len, (size_t)0);
    cr_assert_eq(b.cap, (size_t)0);
    /* Usable again after free; free of an empty one is fine. */
    kbuf_append(&b, "x", 1);
    ASSERT_CONTENT(&b, "x");
    kbuf_free(&b);
    kbuf_free(&b);
    kbuf_free(&a);
}

Test(kbuf, append_and_putc)
{
    kbuf b = KBUF_INIT;
    kbuf_append(&b, "hello", 5);
    ASSERT_CONTENT(&b, "hello");
    kbuf_putc(&b, ' ');
    kbuf_append(&b, "wor\0ld", 6);
    kbuf_putc(&b, '\0');
    ASSERT_CONTENT(&b, "hello wor\0ld\0");
    kbuf_free(&b);
}

Test(kbuf, append_zero_bytes)
{
    kbuf b = KBUF_INIT;
    kbuf_append(&b, "x", 0);
    cr_assert_eq(b.len, (size_t)0);
    kbuf_append(&b, NULL, 0);
    cr_assert_eq(b.len, (size_t)0);
    kbuf_append(&b, "ab", 2);
    char *d = b.data;
    size_t cap = b.cap;
    kbuf_append(&b, "zz", 0);
    ASSERT_CONTENT(&b, "ab");
    cr_assert_eq(b.data, d);
    cr_assert_eq(b.cap, cap);
    kbuf_free(&b);
}

Test(kbuf, reserve)
{
    kbuf b = KBUF_INIT;
    kbuf_append(&b, "abc", 3);
    char *p = kbuf_reserve(&b, 100);
    cr_assert_eq(p, b.data + b.len);
    cr_assert_geq(b.cap - b.len, (size_t)100);
    memcpy(p, "defg", 4);
    b.len += 4;
    ASSERT_CONTENT(&b, "abcdefg");

    /* Reserving what is already there changes nothing. */
    char *d = b.data;
    size_t cap = b.cap;
    p = kbuf_reserve(&b, b.cap - b.len);
    cr_assert_eq(b.data, d);
    cr_assert_eq(b.cap, cap);
    cr_assert_eq(p, b.data + b.len);
    p = kbuf_reserve(&b, 0);
    cr_assert_eq(p, b.data + b.len);
    cr_assert_eq(b.cap, cap);

    /* One more than there is: grows, keeps the content. */
    size_t room = b.cap - b.len;
    p = kbuf_reserve(&b, room + 1);
    cr_assert_geq(b.cap - b.len, room + 1);
    cr_assert_eq(p, b.data + b.len);
    ASSERT_CONTENT(&b, "abcdefg");
    kbuf_free(&b);
}

Test(kbuf, grow)
{
    kbuf b = KBUF_INIT;
    kbuf_grow(&b, 1000);
    cr_assert_not_null(b.data);
    cr_assert_geq(b.cap, (size_t)1000);
    cr_assert_eq(b.len, (size_t)0);
    kbuf_append(&b, "xy", 2);
    char *d = b.data;
    size_t cap = b.cap;
    kbuf_grow(&b, 10); /* fits: nothing happens */
    cr_assert_eq(b.data, d);
    cr_assert_eq(b.cap, cap);
    kbuf_grow(&b, cap); /* does not fit */
    cr_assert_geq(b.cap, (size_t)2 + cap);
    ASSERT_CONTENT(&b, "xy");
    kbuf_free(&b);
}

Test(kbuf, consume)
{
    kbuf b = KBUF_INIT;
    kbuf_append(&b, "hello world", 11);
    char *d = b.data;
    size_t cap = b.cap;
    kbuf_consume(&b, 0);
    ASSERT_CONTENT(&b, "hello world");
    kbuf_consume(&b, 6);
    ASSERT_CONTENT(&b, "world");
    /* Front removal moves the rest to the front of the same block. */
    cr_assert_eq(b.data, d);
    cr_assert_eq(b.cap, cap);
    kbuf_append(&b, "!", 1);
    ASSERT_CONTENT(&b, "world!");
    kbuf_consume(&b, 1);
    ASSERT_CONTENT(&b, "orld!");
    kbuf_consume(&b, 5);
    cr_assert_eq(b.len, (size_t)0);
    cr_assert_eq(b.cap, cap);
    kbuf_append(&b, "again", 5);
    ASSERT_CONTENT(&b, "again");
    kbuf_free(&b);

    /* consume on an empty, never-allocated buffer */
    kbuf_consume(&b, 0);
    cr_assert_eq(b.len, (size_t)0);
}

Test(kbuf, consume_large_overlapping)
{
    /* The rest overlaps the removed part: must be a memmove. */
    kbuf b = KBUF_INIT;
    for (int i = 0; i < 100000; i++)
        kbuf_putc(&b, (char)(i % 251));
    kbuf_consume(&b, 1000);
    cr_assert_eq(b.len, (size_t)99000);
    for (int i = 0; i < 99000; i++)
        cr_assert_eq(b.data[i], (char)((i + 1000) % 251), "byte %d", i);
    kbuf_consume(&b, 98999);
    cr_assert_eq(b.len, (size_t)1);
    cr_assert_eq(b.data[0], (char)(99999 % 251));
    kbuf_free(&b);
}

#ifndef NDEBUG /* assertions are on (b_ndebug=false, the default) */
Test(kbuf, consume_more_than_len_is_asserted, .signal = SIGABRT)
{
    kbuf b = KBUF_INIT;
    kbuf_append(&b, "abc", 3);
    kbuf_consume(&b, 4);
}
#endif

Test(kbuf, clear_keeps_memory)
{
    kbuf b = KBUF_INIT;
    kbuf_append(&b, "abcdef", 6);
    char *d = b.data;
    size_t cap = b.cap;
    kbuf_clear(&b);
    cr_assert_eq(b.len, (size_t)0);
    cr_assert_eq(b.data, d);
    cr_assert_eq(b.cap, cap);
    kbuf_append(&b, "xyz", 3);
    ASSERT_CONTENT(&b, "xyz");
    cr_assert_eq(b.data, d);
    kbuf_free(&b);
}

Test(kbuf, growth_is_geometric_and_keeps_content)
{
    kbuf b = KBUF_INIT;
    size_t changes = 0, lastcap = 0;
    enum { N = 1 << 20 };
    for (size_t i = 0; i < N; i++) {
        kbuf_putc(&b, (char)(i * 31 + 7));
        cr_assert_geq(b.cap, b.len);
        if (b.cap != lastcap) {
            changes++;
            cr_assert_geq(b.cap, lastcap + lastcap / 2,
                          "cap grew from %zu to %zu: not geometric", lastcap, b.cap);
            lastcap = b.cap;
        }
    }
    cr_assert_eq(b.len, (size_t)N);
    cr_assert_leq(changes, (size_t)40, "%zu reallocations for 1 MiB of 1-byte appends", changes);
    for (size_t i = 0; i < N; i++)
        cr_assert_eq(b.data[i], (char)(i * 31 + 7), "byte %zu", i);
    kbuf_free(&b);
}

Test(kbuf, big_append_and_mixed_sizes)
{
    kbuf b = KBUF_INIT, ref = KBUF_INIT;
    trng rng;
    trng_seed(&rng, 11);
    char *src = t_xmalloc(300000);
    for (size_t i = 0; i < 300000; i++)
        src[i] = (char)trng_next(&rng);
    /* A model of the content: appends of random sizes and consumes. */
    char *model = t_xmalloc(4000000);
    size_t mlen = 0;
    for (int step = 0; step < 2000; step++) {
        uint64_t op = trng_next(&rng) % 10;
        if (op < 7) {
            size_t n = trng_range(&rng, 0, op == 0 ? 30000 : 100);
            size_t off = trng_range(&rng, 0, 300000 - n);
            if (mlen + n > 4000000)
                continue;
            kbuf_append(&b, src + off, n);
            memcpy(model + mlen, src + off, n);
            mlen += n;
        } else if (op < 9) {
            size_t n = trng_range(&rng, 0, mlen);
            kbuf_consume(&b, n);
            memmove(model, model + n, mlen - n);
            mlen -= n;
        } else {
            size_t n = trng_range(&rng, 0, 50);
            char *p = kbuf_reserve(&b, n);
            cr_assert_geq(b.cap - b.len, n);
            memset(p, 'r', n);
            b.len += n;
            memset(model + mlen, 'r', n);
            mlen += n;
        }
        cr_assert_eq(b.len, mlen, "step %d", step);
        if (mlen)
            cr_assert_eq(memcmp(b.data, model, mlen), 0, "step %d: content differs", step);
    }
    free(model);
    free(src);
    kbuf_free(&b);
    kbuf_free(&ref);
}
