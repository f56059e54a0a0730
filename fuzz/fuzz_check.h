/* fuzz/fuzz_check.h: how a harness reports a broken property. CHECK(cond)
 * prints the file and line, what broke, what the harness was doing (g_mode,
 * g_at when set) and the input in hex, then aborts: libFuzzer and AFL++
 * keep the input. Included once per harness (each is its own program). */
#ifndef KEEL_FUZZ_CHECK_H
#define KEEL_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __FILE_NAME__
#define FUZZ_FILE __FILE_NAME__
#else
#define FUZZ_FILE __FILE__
#endif

static const uint8_t *g_input; /* the input being run */
static size_t g_input_len;
static const char *g_mode;     /* the part of the harness running, if it has parts */
static size_t g_at = SIZE_MAX; /* the input offset of the operation running, if known */

/* The input is the harness's until fuzz_input_end. */
__attribute__((unused)) static void fuzz_input_begin(const uint8_t *data, size_t size)
{
    g_input = data;
    g_input_len = size;
    g_mode = NULL;
    g_at = SIZE_MAX;
}

__attribute__((unused)) static void fuzz_input_end(void) { fuzz_input_begin(NULL, 0); }

__attribute__((noreturn, unused)) static void fuzz_violated(const char *file, int line,
                                                            const char *what)
{
    fprintf(stderr, "\nPROPERTY VIOLATED (%s:%d%s%s): %s\n", file, line, g_mode ? ", mode " : "",
            g_mode ? g_mode : "", what);
    if (g_at != SIZE_MAX)
        fprintf(stderr, "at input offset %zu; ", g_at);
    fprintf(stderr, "input (%zu bytes):", g_input_len);
    for (size_t i = 0; i < g_input_len && i < 512; i++)
        fprintf(stderr, " %02x", g_input[i]);
    fprintf(stderr, "%s\n", g_input_len > 512 ? " ..." : "");
    abort();
}

#define CHECK(cond)                                        \
    do {                                                   \
        if (!(cond))                                       \
            fuzz_violated(FUZZ_FILE, __LINE__, #cond);     \
    } while (0)

/* A copy of exactly n bytes on the heap: AddressSanitizer then sees a
 * read past its end (never NULL; n = 0 gives a 1-byte block). */
__attribute__((unused)) static void *dup_exact(const void *p, size_t n)
{
    void *q = malloc(n ? n : 1);
    CHECK(q != NULL);
    if (n)
        memcpy(q, p, n);
    return q;
}

#endif
