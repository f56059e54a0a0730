/* io/http: a minimal HTTP/1.1 server for the observability port
 * (GET /health, /ready, /metrics). See docs/decisions/0003-http-observability.md.
 *
 * Two layers:
 *
 * 1. A pure request-head parser (no libuv, no allocation, no I/O), resumable
 *    and chunking-independent like the RESP parser: the caller passes the
 *    bytes of the request in progress from its first byte every time, the
 *    buffer may move between calls, and the same byte stream gives the same
 *    result however it is split.
 *
 *        http_req r;
 *        http_req_init(&r);
 *        for (;;) {
 *            http_parse_result pr = http_parse(&r, in.data, in.len);
 *            if (pr == HTTP_PARSE_NEED_MORE) break;         // read more
 *            if (pr == HTTP_PARSE_ERROR) { reply r.status; close; }
 *            ... answer r ...;                              // DONE
 *            kbuf_consume(&in, r.head_len);
 *            http_req_init(&r);                             // next one
 *        }
 *
 * 2. libuv glue: a listener with keep-alive, pipelining, an idle timeout, a
 *    connection cap and bounded memory per connection, calling one handler
 *    per request on the loop thread.
 *
 * Only GET and HEAD without a body are accepted; the server has no notion of
 * routes: the handler looks at req->path and fills the response. */
#ifndef KEEL_IO_HTTP_H
#define KEEL_IO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core/util/kbuf.h"

/* Limits (bytes are counted from the first byte of the request, empty lines
 * before the request line included, to the end of the empty line that ends
 * the head). */
#define HTTP_MAX_HEAD 8192        /* longer head: 431 */
#define HTTP_MAX_HEADERS 64       /* more header lines: 431 */
#define HTTP_IDLE_TIMEOUT_MS 30000
#define HTTP_MAX_CONNS 256        /* beyond: accepted and closed at once */

#define HTTP_CT_TEXT "text/plain; charset=utf-8"
#define HTTP_CT_JSON "application/json"
#define HTTP_CT_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

/* ------------------------------------------------------------------------ */
/* Request parser (pure) */

typedef enum http_method {
    HTTP_METHOD_NONE = 0,
    HTTP_METHOD_GET = 1,
    HTTP_METHOD_HEAD = 2,
} http_method;

typedef enum http_parse_result {
    HTTP_PARSE_NEED_MORE = 0, /* head incomplete: call again with more bytes */
    HTTP_PARSE_DONE = 1,      /* a whole request: fields below, head_len consumed */
    HTTP_PARSE_ERROR = 2,     /* status/error say why; answer and close */
} http_parse_result;

typedef struct http_req {
    /* Valid after HTTP_PARSE_DONE. */
    http_method method;
    int version_minor;  /* HTTP/1.<minor>: 0 or 1 (1.2 and up are read as 1.1) */
    bool keep_alive;    /* the connection may carry another request */
    /* The target's path, without query string or fragment, as sent (not
     * percent-decoded, not normalised); for an absolute-form target
     * ("http://host/p") the path part ("/p", or "/" if empty). NOT
     * NUL-terminated; points into the caller's buffer (or a static "/"), so
     * it is valid until the caller changes or consumes those bytes. */
    const char *path;
    size_t path_len;
    /* The query string after '?' (without it), or NULL/0 if there was no '?'.
     * Same lifetime as path. */
    const char *query;
    size_t query_len;
    size_t head_len;    /* bytes of this request: consume them */
    /* Valid after HTTP_PARSE_ERROR: 400, 405, 431 or 505, and a short static
     * text for logs and the error body. */
    int status;
    const char *error;

    /* Parser state: private. */
    int phase_;
    size_t line_;       /* offset of the current line's first byte */
    size_t scan_;       /* offset of the next byte to examine */
    size_t path_off_;
    size_t query_off_;
    int nheaders_;
    int nhost_;
    bool path_root_;    /* absolute-form with an empty path: path is "/" */
    bool has_query_;
    bool conn_close_;
    bool conn_keep_alive_;
} http_req;

void http_req_init(http_req *r);

/* Parses the head of the request whose bytes start at buf[0]. len may only
 * grow between calls for the same request (the bytes already passed must
 * stay the same; their address may change). Never reads past buf[len-1],
 * never allocates; any input is safe. DONE and ERROR are sticky until
 * http_req_init. After DONE, buf[head_len..] is the next request's start
 * (pipelining). Errors are decided at the first byte that makes the request
 * invalid, so a stream gives the same result however it is chunked:
 *   400  syntax (request line, header line, bare CR, control bytes, obsolete
 *        line folding, a body announced: Content-Length other than 0 or any
 *        Transfer-Encoding, HTTP/1.1 without exactly one Host)
 *   405  a well-formed method other than GET and HEAD (methods are
 *        case-sensitive: "get" is 405)
 *   431  head longer than HTTP_MAX_HEAD or more than HTTP_MAX_HEADERS headers
 *   505  HTTP major version other than 1 (the HTTP/2 preface included)
 * Lines end with CRLF; a bare LF is accepted as well (RFC 9112 2.2), a CR not
 * followed by LF is an error. Empty lines before the request line are
 * skipped (they count towards HTTP_MAX_HEAD). */
http_parse_result http_parse(http_req *r, const char *buf, size_t len);

/* True if the parsed path equals the NUL-terminated s. */
bool http_req_path_is(const http_req *r, const char *s);

/* ------------------------------------------------------------------------ */
/* Responses */

typedef struct http_response {
    int status;               /* 200 unless the handler says otherwise */
    const char *content_type; /* HTTP_CT_TEXT unless the handler says otherwise;
                               * must outlive the handler call (a literal) */
    kbuf body;                /* empty on entry; append with kbuf_append */
} http_response;

/* Reason phrase for a status ("OK", "Not Found", ...; "Unknown" if none). */
const char *http_reason(int status);

/* Appends a whole response to out:
 *   HTTP/1.1 <code> <reason>\r\n
 *   [Allow: GET, HEAD\r\n                        (405 only)]
 *   Content-Type: <content_type>\r\n
 *   Content-Length: <body_len>\r\n
 *   Connection: keep-alive|close\r\n
 *   \r\n
 *   <body>                                       (not for HEAD)
 * A status outside 200..599 becomes 500 with an empty body; 204 and 304 have
 * neither Content-Type, Content-Length nor body. A NULL content type, or one
 * with bytes outside printable ASCII, becomes HTTP_CT_TEXT. */
void http_format_response(kbuf *out, int status, const char *content_type, const char *body,
                          size_t body_len, bool head, bool keep_alive);

/* The response for a parse error: status from the parser, a text/plain body
 * "<reason>: <detail>\n", Connection: close. */
void http_format_error(kbuf *out, int status, const char *detail);

/* ------------------------------------------------------------------------ */
/* Server (libuv) */

typedef struct http_server http_server;

/* Called on the loop thread once per request (GET or HEAD; for HEAD fill the
 * response as for GET: the server sends the headers only). req and its path
 * are valid during the call only. The handler may call http_close. */
typedef void http_handler(void *ctx, const http_req *req, http_response *resp);

/* Listens on bind_addr (IPv4 or IPv6 literal; NULL means "127.0.0.1") and
 * port (0: an ephemeral port). On success returns the server and stores the
 * port actually bound in *bound_port (if not NULL). On failure returns NULL
 * and writes a message to err (if not NULL); a handle may still be closing
 * then, so the loop must run (as it does before uv_loop_close anyway).
 * The process must ignore SIGPIPE (libuv writes with write(2)). */
http_server *http_listen(uv_loop_t *loop, const char *bind_addr, int port, http_handler *handler,
                         void *ctx, int *bound_port, char *err, size_t errlen);

/* Closes the listener and every connection at once (replies not yet sent are
 * dropped). No callback: the server frees itself from its handles' close
 * callbacks, so the caller only has to keep running the loop, as it must
 * before uv_loop_close. Call it once, before any uv_walk that closes every
 * handle (its handles are then already closing and such a walk skips them).
 * NULL is a no-op. The server must not be used afterwards. */
void http_close(http_server *s);

/* Connections currently open (closing ones included). */
int http_server_conn_count(const http_server *s);

/* Tests: idle timeout in ms (default HTTP_IDLE_TIMEOUT_MS), applies to
 * timers armed from now on. */
void http_server_set_idle_timeout(http_server *s, uint64_t ms);

#endif
