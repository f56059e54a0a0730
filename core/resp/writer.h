/* RESP2 and RESP3 reply writer.
 *
 * Every RESP2 type is appended to a kbuf (the connection's output buffer).
 * Nothing is allocated per reply: the buffer grows geometrically and, reused
 * across replies, stops growing at its working size. Integers and lengths
 * are formatted without printf.
 *
 * Arrays are a header followed by their elements, written by further calls,
 * so nesting is just more calls. When the count is not known up front (a
 * SCAN that filters, say) reserve the header with resp_add_array_deferred()
 * and fill it in with resp_set_array_deferred() once it is. */
#ifndef KEEL_CORE_RESP_WRITER_H
#define KEEL_CORE_RESP_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/resp/parser.h"
#include "core/util/kbuf.h"

/* "+s\r\n". s must not contain CR or LF (asserted). */
void resp_add_simple(kbuf *b, const char *s, size_t len);
void resp_add_simple_cstr(kbuf *b, const char *s);

/* An error with Redis's addReplyError rules: "-ERR " is put in front unless
 * the text starts with '-' (then it carries its own code: "-WRONGTYPE ...").
 * CR and LF inside the text become spaces, trailing ones are dropped, so the
 * reply is always one line. */
void resp_add_error(kbuf *b, const char *s, size_t len);
void resp_add_error_cstr(kbuf *b, const char *s);
/* printf-style error (same rules). */
void resp_add_errorf(kbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ":v\r\n" */
void resp_add_int(kbuf *b, long long v);

/* "$len\r\n<bytes>\r\n"; binary-safe. */
void resp_add_bulk(kbuf *b, const void *p, size_t len);
void resp_add_bulk_cstr(kbuf *b, const char *s);
/* A bulk string holding the decimal form of v (as GET of a counter). */
void resp_add_bulk_ll(kbuf *b, long long v);

/* "$-1\r\n" */
void resp_add_null(kbuf *b);

/* "*n\r\n": the next n replies written are the array's elements. */
void resp_add_array(kbuf *b, long long n);

/* "*-1\r\n" */
void resp_add_null_array(kbuf *b);

/* Reserves an array header whose count is not known yet; returns a mark for
 * resp_set_array_deferred(). Elements are written after it as usual. */
size_t resp_add_array_deferred(kbuf *b);
void resp_set_array_deferred(kbuf *b, size_t mark, long long n);

/* A command as a client sends it: a multibulk array of bulk strings. */
void resp_add_command(kbuf *b, int argc, const resp_slice *argv);

/* Decimal form of v into dst (at least 21 bytes); returns its length. */
size_t resp_ll2str(char *dst, long long v);

/* ---- RESP3 ----
 *
 * The types RESP3 adds, and the replies whose form depends on the protocol
 * a client chose with HELLO. `proto` is 2 or 3; with 2 each is written as
 * Redis 7.0 writes it to a RESP2 client (networking.c: addReplyMapLen,
 * addReplySetLen, addReplyBool, addReplyDouble, addReplyBigNum,
 * addReplyVerbatim). Everything else (simple strings, errors, integers,
 * bulk strings, arrays) is the same in both. */

/* "_\r\n": RESP3's one null, for both the null bulk string ("$-1") and the
 * null array ("*-1") of RESP2. */
void resp_add_null3(kbuf *b);

/* A map of n key/value pairs (the 2n replies that follow): "%n\r\n"; in
 * RESP2 a flat array "*<2n>\r\n". */
void resp_add_map(kbuf *b, int proto, long long n);

/* A set of n elements: "~n\r\n"; in RESP2 an array "*n\r\n". */
void resp_add_set(kbuf *b, int proto, long long n);

/* RESP3 only: attributes "|n\r\n" (n key/value pairs describing the reply
 * that follows them) and out-of-band push data ">n\r\n". A RESP2 client has
 * neither: the caller leaves them out (Redis asserts). */
void resp_add_attribute(kbuf *b, long long n);
void resp_add_push(kbuf *b, long long n);

/* "#t\r\n" / "#f\r\n"; in RESP2 ":1\r\n" / ":0\r\n". */
void resp_add_bool(kbuf *b, int proto, bool v);

/* ",<repr>\r\n"; in RESP2 a bulk string of the same text. repr is Redis's:
 * "inf", "-inf", "nan", otherwise "%.17g" (3 -> "3", 1.5 -> "1.5"). */
void resp_add_double(kbuf *b, int proto, double v);

/* A big number given as its decimal digits: "(<digits>\r\n"; in RESP2 a
 * bulk string. */
void resp_add_bignum(kbuf *b, int proto, const char *num, size_t len);

/* A verbatim string: "=<len+4>\r\n<ext>:<text>\r\n", ext the first three
 * characters of `ext` padded with spaces ("txt", "mkd"); in RESP2 a bulk
 * string of the text alone. */
void resp_add_verbatim(kbuf *b, int proto, const void *p, size_t len, const char *ext);

/* Deferred map and set headers: reserve with resp_add_array_deferred(),
 * then fill in the count (pairs for a map) with these. */
void resp_set_map_deferred(kbuf *b, size_t mark, int proto, long long n);
void resp_set_set_deferred(kbuf *b, size_t mark, int proto, long long n);

#endif
