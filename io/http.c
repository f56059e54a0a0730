/* io/http: minimal HTTP/1.1 server for the observability port. See http.h
 * and docs/decisions/0003-http-observability.md. */
#include "io/http.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================== */
/* Request parser */

enum { PH_START = 0, PH_HEADERS, PH_DONE, PH_ERROR };

void http_req_init(http_req *r) { memset(r, 0, sizeof(*r)); }

/* tchar (RFC 9110 5.6.2). */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

static bool is_ows(unsigned char c) { return c == ' ' || c == '\t'; }

static unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c; }

/* Case-insensitive: does b[s..e) equal the lowercase literal lit? */
static bool eq_ci(const unsigned char *b, size_t s, size_t e, const char *lit)
{
    size_t n = strlen(lit);
    if (e - s != n)
        return false;
    for (size_t k = 0; k < n; k++)
        if (lower(b[s + k]) != (unsigned char)lit[k])
            return false;
    return true;
}

static http_parse_result fail(http_req *r, int status, const char *why)
{
    r->phase_ = PH_ERROR;
    r->status = status;
    r->error = why;
    return HTTP_PARSE_ERROR;
}

/* method SP request-target SP HTTP-version, in b[s..e). Checks: syntax (400),
 * then version (505), then method (405), then the target's form (400). */
static http_parse_result parse_request_line(http_req *r, const unsigned char *b, size_t s, size_t e)
{
    size_t p = s;
    while (p < e && is_tchar(b[p]))
        p++;
    if (p == s || p >= e || b[p] != ' ')
        return fail(r, 400, "malformed request line");
    size_t m0 = s, m1 = p;
    size_t t0 = ++p;
    while (p < e && b[p] > 0x20 && b[p] < 0x7f)
        p++;
    if (p == t0 || p >= e || b[p] != ' ')
        return fail(r, 400, "malformed request line");
    size_t t1 = p++;
    if (e - p != 8 || memcmp(b + p, "HTTP/", 5) != 0 || b[p + 5] < '0' || b[p + 5] > '9' ||
        b[p + 6] != '.' || b[p + 7] < '0' || b[p + 7] > '9')
        return fail(r, 400, "malformed HTTP version");
    if (b[p + 5] != '1')
        return fail(r, 505, "only HTTP/1.x is supported");
    r->version_minor = b[p + 7] == '0' ? 0 : 1;

    if (m1 - m0 == 3 && memcmp(b + m0, "GET", 3) == 0)
        r->method = HTTP_METHOD_GET;
    else if (m1 - m0 == 4 && memcmp(b + m0, "HEAD", 4) == 0)
        r->method = HTTP_METHOD_HEAD;
    else
        return fail(r, 405, "only GET and HEAD are allowed");

    /* origin-form "/p?q", or absolute-form "http://host/p?q". */
    size_t q = t0;
    if (b[q] != '/') {
        size_t sl;
        if (t1 - q >= 7 && eq_ci(b, q, q + 7, "http://"))
            sl = 7;
        else if (t1 - q >= 8 && eq_ci(b, q, q + 8, "https://"))
            sl = 8;
        else
            return fail(r, 400, "malformed request target");
        q += sl;
        size_t a0 = q;
        while (q < t1 && b[q] != '/' && b[q] != '?' && b[q] != '#')
            q++;
        if (q == a0)
            return fail(r, 400, "malformed request target");
    }
    size_t pe = q;
    while (pe < t1 && b[pe] != '?' && b[pe] != '#')
        pe++;
    r->path_root_ = pe == q; /* only possible for absolute-form */
    r->path_off_ = q;
    r->path_len = pe - q;
    if (pe < t1 && b[pe] == '?') {
        size_t qe = pe + 1;
        while (qe < t1 && b[qe] != '#')
            qe++;
        r->has_query_ = true;
        r->query_off_ = pe + 1;
        r->query_len = qe - (pe + 1);
    }
    return HTTP_PARSE_NEED_MORE;
}

/* field-name ":" OWS field-value OWS, in b[s..e). */
static http_parse_result parse_header(http_req *r, const unsigned char *b, size_t s, size_t e)
{
    size_t p = s;
    while (p < e && is_tchar(b[p]))
        p++;
    if (p == s || p >= e || b[p] != ':')
        return fail(r, 400, "malformed header field");
    size_t n1 = p++;
    while (p < e && is_ows(b[p]))
        p++;
    size_t ve = e;
    while (ve > p && is_ows(b[ve - 1]))
        ve--;

    if (eq_ci(b, s, n1, "host")) {
        if (++r->nhost_ > 1)
            return fail(r, 400, "more than one Host header");
    } else if (eq_ci(b, s, n1, "connection")) {
        size_t q = p;
        while (q < ve) {
            while (q < ve && (is_ows(b[q]) || b[q] == ','))
                q++;
            size_t k0 = q;
            while (q < ve && b[q] != ',')
                q++;
            size_t k1 = q;
            while (k1 > k0 && is_ows(b[k1 - 1]))
                k1--;
            if (eq_ci(b, k0, k1, "close"))
                r->conn_close_ = true;
            else if (eq_ci(b, k0, k1, "keep-alive"))
                r->conn_keep_alive_ = true;
        }
    } else if (eq_ci(b, s, n1, "content-length")) {
        if (ve == p)
            return fail(r, 400, "malformed Content-Length");
        bool zero = true;
        for (size_t q = p; q < ve; q++) {
            if (b[q] < '0' || b[q] > '9')
                return fail(r, 400, "malformed Content-Length");
            if (b[q] != '0')
                zero = false;
        }
        if (!zero)
            return fail(r, 400, "request bodies are not accepted");
    } else if (eq_ci(b, s, n1, "transfer-encoding")) {
        return fail(r, 400, "request bodies are not accepted");
    }
    return HTTP_PARSE_NEED_MORE;
}

static http_parse_result finish(http_req *r, const char *buf, size_t head_len)
{
    if (r->version_minor == 1 && r->nhost_ == 0)
        return fail(r, 400, "HTTP/1.1 request without Host");
    if (r->version_minor == 1)
        r->keep_alive = !r->conn_close_;
    else
        r->keep_alive = r->conn_keep_alive_ && !r->conn_close_;
    if (r->path_root_) {
        r->path = "/";
        r->path_len = 1;
    } else {
        r->path = buf + r->path_off_;
    }
    if (r->has_query_)
        r->query = buf + r->query_off_;
    r->head_len = head_len;
    r->phase_ = PH_DONE;
    return HTTP_PARSE_DONE;
}

http_parse_result http_parse(http_req *r, const char *buf, size_t len)
{
    if (r->phase_ == PH_DONE)
        return HTTP_PARSE_DONE;
    if (r->phase_ == PH_ERROR)
        return HTTP_PARSE_ERROR;
    const unsigned char *b = (const unsigned char *)buf;
    size_t i = r->scan_;
    for (;;) {
        /* Find the end of the current line, judging every byte on the way:
         * the first byte that decides an error decides it, whatever the
         * chunking. A line's LF must be at an offset below HTTP_MAX_HEAD. */
        size_t end;
        for (;;) {
            if (i >= HTTP_MAX_HEAD)
                return fail(r, 431, "request head too large");
            if (i >= len) {
                r->scan_ = i;
                return HTTP_PARSE_NEED_MORE;
            }
            unsigned char c = b[i];
            if (c == '\n') {
                end = i++;
                break;
            }
            if (c == '\r') {
                if (i + 1 >= len) {
                    r->scan_ = i;
                    return HTTP_PARSE_NEED_MORE;
                }
                if (b[i + 1] != '\n')
                    return fail(r, 400, "CR not followed by LF");
                if (i + 1 >= HTTP_MAX_HEAD)
                    return fail(r, 431, "request head too large");
                end = i;
                i += 2;
                break;
            }
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return fail(r, 400, "control character in request head");
            i++;
        }
        size_t s = r->line_;
        r->line_ = i;
        r->scan_ = i;
        http_parse_result pr;
        if (r->phase_ == PH_START) {
            if (end == s)
                continue; /* empty line before the request line */
            pr = parse_request_line(r, b, s, end);
            if (pr != HTTP_PARSE_NEED_MORE)
                return pr;
            r->phase_ = PH_HEADERS;
            continue;
        }
        if (end == s)
            return finish(r, buf, i);
        if (is_ows(b[s]))
            return fail(r, 400, "obsolete line folding is not accepted");
        if (++r->nheaders_ > HTTP_MAX_HEADERS)
            return fail(r, 431, "too many header fields");
        pr = parse_header(r, b, s, end);
        if (pr != HTTP_PARSE_NEED_MORE)
            return pr;
    }
}

bool http_req_path_is(const http_req *r, const char *s)
{
    size_t n = strlen(s);
    return r->path != NULL && r->path_len == n && memcmp(r->path, s, n) == 0;
}

/* ======================================================================== */
/* Responses */

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

static void append_str(kbuf *out, const char *s) { kbuf_append(out, s, strlen(s)); }

static bool header_value_ok(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p >= 0x7f)
            return false;
    return true;
}

void http_format_response(kbuf *out, int status, const char *content_type, const char *body,
                          size_t body_len, bool head, bool keep_alive)
{
    if (status < 200 || status > 599) {
        status = 500;
        body_len = 0;
    }
    if (!header_value_ok(content_type))
        content_type = HTTP_CT_TEXT;
    char line[96];
    int n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", status, http_reason(status));
    kbuf_append(out, line, (size_t)n);
    if (status == 405)
        append_str(out, "Allow: GET, HEAD\r\n");
    bool no_body = status == 204 || status == 304;
    if (!no_body) {
        append_str(out, "Content-Type: ");
        append_str(out, content_type);
        n = snprintf(line, sizeof(line), "\r\nContent-Length: %zu\r\n", body_len);
        kbuf_append(out, line, (size_t)n);
    }
    append_str(out, keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
    if (!head && !no_body)
        kbuf_append(out, body, body_len);
}

void http_format_error(kbuf *out, int status, const char *detail)
{
    char body[160];
    int n = snprintf(body, sizeof(body), "%s: %s\n", http_reason(status), detail ? detail : "error");
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(body))
        n = (int)sizeof(body) - 1;
    http_format_response(out, status, HTTP_CT_TEXT, body, (size_t)n, false, false);
}

/* ======================================================================== */
/* Server */

#define READ_CHUNK 4096
/* Requests of a connection are not answered while this much of its output
 * is unsent (pipelining against a client that does not read). */
#define OUTPUT_PAUSE_BYTES (64 * 1024)
/* After the last response of a connection: how long, and how many bytes,
 * the server keeps reading and discarding so that closing does not reset
 * the connection under the response (lingering close). */
#define LINGER_MS 2000
#define LINGER_MAX_BYTES (64 * 1024)
/* Reused buffers larger than this are freed once emptied. */
#define KEEP_BUFFER_BYTES (64 * 1024)

typedef struct http_conn http_conn;

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    http_handler *handler;
    void *ctx;
    http_conn *conns;
    int nconns;
    uint64_t idle_ms;
    bool closing;
    bool listener_closed;
    kbuf body;                  /* the handler's body, reused */
    char discard[READ_CHUNK];   /* lingering reads land here */
};

struct http_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wreq;
    uv_shutdown_t sreq;
    http_server *srv;
    http_conn *prev;
    http_conn *next;
    kbuf in;        /* request bytes not consumed yet */
    kbuf out;       /* responses not handed to libuv yet */
    kbuf inflight;  /* bytes of the uv_write in progress */
    http_req req;
    size_t discarded;
    int open_handles;
    bool writing;
    bool reading;
    bool close_after;   /* no more requests: flush, shut down, close */
    bool shut_started;
    bool shut_done;
    bool eof;           /* the peer will send nothing more */
    bool closing;       /* uv_close called */
};

static void maybe_free_server(http_server *s)
{
    if (s->closing && s->listener_closed && s->nconns == 0) {
        kbuf_free(&s->body);
        free(s);
    }
}

static void on_conn_handle_closed(uv_handle_t *h)
{
    http_conn *c = h->data;
    if (--c->open_handles > 0)
        return;
    http_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    kbuf_free(&c->in);
    kbuf_free(&c->out);
    kbuf_free(&c->inflight);
    free(c);
    maybe_free_server(s);
}

static void conn_close(http_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    c->reading = false;
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

static void on_timer(uv_timer_t *t)
{
    conn_close(t->data);
}

static void conn_arm_timer(http_conn *c, uint64_t ms)
{
    if (!c->closing)
        uv_timer_start(&c->timer, on_timer, ms, 0);
}

static void conn_process(http_conn *c);
static void conn_update_reading(http_conn *c);

static void on_shutdown(uv_shutdown_t *req, int status)
{
    http_conn *c = req->data;
    if (c->closing)
        return;
    c->shut_done = true;
    if (status < 0 || c->eof) {
        conn_close(c);
        return;
    }
    /* Lingering close: read and drop until the peer closes, for a while. */
    conn_arm_timer(c, LINGER_MS < c->srv->idle_ms ? LINGER_MS : c->srv->idle_ms);
    conn_update_reading(c);
}

static void conn_flush(http_conn *c);

static void on_write(uv_write_t *req, int status)
{
    http_conn *c = req->data;
    c->writing = false;
    if (c->closing)
        return;
    kbuf_clear(&c->inflight);
    if (c->inflight.cap > KEEP_BUFFER_BYTES)
        kbuf_free(&c->inflight);
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (!c->shut_started)
        conn_arm_timer(c, c->srv->idle_ms); /* progress */
    conn_process(c); /* answers requests held back by the output bound; flushes */
}

static void conn_flush(http_conn *c)
{
    if (c->closing || c->writing)
        return;
    if (c->out.len > 0) {
        kbuf tmp = c->inflight; /* empty */
        c->inflight = c->out;
        c->out = tmp;
        uv_buf_t b = uv_buf_init(c->inflight.data, (unsigned)c->inflight.len);
        c->wreq.data = c;
        c->writing = true;
        if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
            c->writing = false;
            conn_close(c);
        }
        return;
    }
    if (c->close_after && !c->shut_started) {
        c->shut_started = true;
        c->sreq.data = c;
        if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
            conn_close(c);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    http_conn *c = h->data;
    if (c->close_after) {
        *buf = uv_buf_init(c->srv->discard, sizeof(c->srv->discard));
        return;
    }
    char *p = kbuf_reserve(&c->in, READ_CHUNK);
    *buf = uv_buf_init(p, READ_CHUNK);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    http_conn *c = st->data;
    if (nread == 0 || c->closing)
        return;
    if (nread < 0) {
        if (nread != UV_EOF || c->shut_done) {
            conn_close(c);
            return;
        }
        c->eof = true;
        conn_update_reading(c);
        if (!c->close_after)
            conn_process(c);
        return;
    }
    if (buf->base == c->srv->discard) {
        c->discarded += (size_t)nread;
        if (c->discarded > LINGER_MAX_BYTES)
            conn_close(c);
        return;
    }
    c->in.len += (size_t)nread;
    conn_process(c);
}

static size_t conn_pending(const http_conn *c) { return c->out.len + c->inflight.len; }

static void conn_update_reading(http_conn *c)
{
    bool want = !c->closing && !c->eof &&
                (c->close_after ? c->shut_done : conn_pending(c) < OUTPUT_PAUSE_BYTES);
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
            conn_close(c);
            return;
        }
        c->reading = true;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

/* Answers the complete requests in c->in, in order, while the output bound
 * allows; then sends and adjusts reading. */
static void conn_process(http_conn *c)
{
    http_server *s = c->srv;
    while (!c->closing && !c->close_after && conn_pending(c) < OUTPUT_PAUSE_BYTES) {
        http_parse_result pr = http_parse(&c->req, c->in.data, c->in.len);
        if (pr == HTTP_PARSE_NEED_MORE) {
            if (c->eof)
                c->close_after = true; /* the peer sent all it will */
            break;
        }
        if (pr == HTTP_PARSE_ERROR) {
            http_format_error(&c->out, c->req.status, c->req.error);
            c->close_after = true;
            break;
        }
        http_response resp = {.status = 200, .content_type = HTTP_CT_TEXT, .body = s->body};
        kbuf_clear(&resp.body);
        if (s->handler)
            s->handler(s->ctx, &c->req, &resp);
        else
            resp.status = 404;
        s->body = resp.body;
        if (c->closing) /* the handler called http_close */
            return;
        bool ka = c->req.keep_alive;
        http_format_response(&c->out, resp.status, resp.content_type, s->body.data, s->body.len,
                             c->req.method == HTTP_METHOD_HEAD, ka);
        kbuf_clear(&s->body);
        if (s->body.cap > KEEP_BUFFER_BYTES)
            kbuf_free(&s->body);
        kbuf_consume(&c->in, c->req.head_len);
        http_req_init(&c->req);
        if (!ka)
            c->close_after = true;
        else
            conn_arm_timer(c, s->idle_ms);
    }
    if (c->closing)
        return;
    if (c->close_after) {
        kbuf_free(&c->in); /* nothing more will be parsed */
        http_req_init(&c->req);
    } else if (c->in.len == 0 && c->in.cap > KEEP_BUFFER_BYTES) {
        kbuf_free(&c->in);
    }
    conn_flush(c);
    conn_update_reading(c);
}

static void on_reject_closed(uv_handle_t *h) { free(h); }

static void on_connection(uv_stream_t *listener, int status)
{
    http_server *s = listener->data;
    if (status < 0 || s->closing)
        return;
    if (s->nconns >= HTTP_MAX_CONNS) {
        /* Accept (libuv stops accepting while one is pending) and close. */
        uv_tcp_t *t = malloc(sizeof(*t));
        if (t == NULL)
            abort();
        uv_tcp_init(s->loop, t);
        uv_accept(listener, (uv_stream_t *)t);
        uv_close((uv_handle_t *)t, on_reject_closed);
        return;
    }
    http_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        abort();
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    http_req_init(&c->req);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    conn_arm_timer(c, s->idle_ms);
    conn_update_reading(c);
}

static void on_listener_closed(uv_handle_t *h)
{
    http_server *s = h->data;
    s->listener_closed = true;
    maybe_free_server(s);
}

static void set_err(char *err, size_t errlen, const char *what, const char *addr, int port, int r)
{
    if (err && errlen)
        snprintf(err, errlen, "%s %s port %d: %s", what, addr, port, uv_strerror(r));
}

http_server *http_listen(uv_loop_t *loop, const char *bind_addr, int port, http_handler *handler,
                         void *ctx, int *bound_port, char *err, size_t errlen)
{
    if (bind_addr == NULL)
        bind_addr = "127.0.0.1";
    if (port < 0 || port > 65535) {
        set_err(err, errlen, "invalid port for", bind_addr, port, UV_EINVAL);
        return NULL;
    }
    struct sockaddr_storage addr;
    int r = strchr(bind_addr, ':') ? uv_ip6_addr(bind_addr, port, (struct sockaddr_in6 *)&addr)
                                   : uv_ip4_addr(bind_addr, port, (struct sockaddr_in *)&addr);
    if (r != 0) {
        set_err(err, errlen, "invalid address", bind_addr, port, r);
        return NULL;
    }
    http_server *s = calloc(1, sizeof(*s));
    if (s == NULL)
        abort();
    s->loop = loop;
    s->handler = handler;
    s->ctx = ctx;
    s->idle_ms = HTTP_IDLE_TIMEOUT_MS;
    r = uv_tcp_init(loop, &s->listener);
    if (r != 0) {
        set_err(err, errlen, "cannot create socket for", bind_addr, port, r);
        free(s);
        return NULL;
    }
    s->listener.data = s;
    r = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
    if (r != 0) {
        set_err(err, errlen, "cannot listen on", bind_addr, port, r);
        s->closing = true;
        uv_close((uv_handle_t *)&s->listener, on_listener_closed);
        return NULL;
    }
    if (bound_port) {
        struct sockaddr_storage got;
        int len = sizeof(got);
        *bound_port = port;
        if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&got, &len) == 0) {
            if (got.ss_family == AF_INET6)
                *bound_port = ntohs(((struct sockaddr_in6 *)&got)->sin6_port);
            else
                *bound_port = ntohs(((struct sockaddr_in *)&got)->sin_port);
        }
    }
    return s;
}

void http_close(http_server *s)
{
    if (s == NULL || s->closing)
        return;
    s->closing = true;
    for (http_conn *c = s->conns; c; c = c->next)
        conn_close(c);
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}

int http_server_conn_count(const http_server *s) { return s->nconns; }

void http_server_set_idle_timeout(http_server *s, uint64_t ms) { s->idle_ms = ms ? ms : 1; }
