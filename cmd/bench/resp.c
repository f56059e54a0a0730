/* keel-bench resp: how fast keel's RESP2 request parser takes commands out of
 * a pipelined stream, against hiredis's reader on the same bytes.
 *
 * Workload: N pipelined multibulk requests, alternating (request i, from 0)
 *     even i: SET key:<i as 12 digits> xxxxxxxxxxxxxxxx   59 bytes
 *     odd i:  GET key:<i as 12 digits>                     36 bytes
 * Keys are 16 bytes (`key:` and the request's own index, zero-padded), values
 * 16 bytes of 'x'; 47.5 bytes per request on average. The stream is built in
 * one buffer before the clock starts, then fed in chunks (16 KiB by default)
 * to each mode:
 *
 *   keel                what a keel connection does: each chunk appended to a
 *                       kbuf query buffer (a memcpy, as recv would write it),
 *                       then parser.h's driver loop (resp_parse until
 *                       RESP_MORE, argc == 0 skipped, kbuf_consume after the
 *                       loop); every command goes to a non-inlined sink that
 *                       folds argc and each argument's length, first and last
 *                       byte into a checksum, as the command engine would
 *                       get them.
 *   hiredis-objects     redisReaderCreate(): redisReaderFeed per chunk, then
 *                       redisReaderGetReply until it has no reply; each reply
 *                       (an owned argv: element[i]->str/len) goes to the same
 *                       fold, then freeReplyObject.
 *   hiredis-frame-only  redisReaderCreateWithFunctions() with create*
 *                       functions that allocate nothing and return a static
 *                       dummy: hiredis's framing alone; the sink counts.
 *
 * Time (CLOCK_MONOTONIC) covers feeding and parsing only; the best of P
 * passes counts, modes interleaved within each pass. Every pass of every
 * mode must see exactly N commands, and keel and hiredis-objects the
 * checksum computed while building the stream, or the run fails (exit 1). */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/bench/bench.h"
#include "core/resp/parser.h"
#include "core/util/kbuf.h"

#ifdef KEEL_HAVE_HIREDIS
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#endif

#define DEFAULT_REQUESTS 1000000
#define DEFAULT_PASSES 5
#define DEFAULT_CHUNK 16384
#define MAX_REQUESTS 999999999999ULL /* the 12 key digits */
#define MAX_PASSES 1000
#define MAX_CHUNK ((uint64_t)1 << 30)

#define KEY_PREFIX "key:"
#define KEY_DIGITS 12
#define KEY_LEN 16
#define VALUE_LEN 16
#define SET_REQ_LEN 59
#define GET_REQ_LEN 36

void bench_resp_usage(FILE *out)
{
    fprintf(out,
            "usage: keel-bench resp [--requests N] [--passes P] [--chunk BYTES]\n"
            "  RESP2 request parsing: N pipelined multibulk requests alternating\n"
            "  SET key:<12 digits> <16 bytes> and GET key:<12 digits> (47.5 bytes each\n"
            "  on average), fed in BYTES chunks to keel's parser (through a kbuf query\n"
            "  buffer, as a connection does) and to hiredis's reader (reply objects,\n"
            "  and framing alone). Best of P passes.\n"
            "  --requests N    requests in the stream (default %d)\n"
            "  --passes P      timed passes, best counts (default %d)\n"
            "  --chunk BYTES   bytes per feed, as one recv would bring (default %d)\n",
            DEFAULT_REQUESTS, DEFAULT_PASSES, DEFAULT_CHUNK);
}

/* ---- the sink: where the command engine would take over ---------------- */

/* Filled by the sinks; read and reset between runs only. */
static struct {
    uint64_t cmds;
    uint64_t sum;
    uint64_t bad; /* hiredis replies of the wrong shape */
} sink;

#define FOLD_PRIME 0x100000001b3ULL /* FNV-1a's 64-bit prime */

static inline uint64_t fold_argc(uint64_t h, int argc)
{
    return (h ^ (uint64_t)(unsigned)argc) * FOLD_PRIME;
}

static inline uint64_t fold_arg(uint64_t h, const char *p, size_t len)
{
    uint64_t v = len;
    if (len > 0)
        v |= (uint64_t)(unsigned char)p[0] << 40 | (uint64_t)(unsigned char)p[len - 1] << 48;
    return (h ^ v) * FOLD_PRIME;
}

__attribute__((noinline)) static void sink_keel(int argc, const resp_slice *argv)
{
    uint64_t h = fold_argc(sink.sum, argc);
    for (int i = 0; i < argc; i++)
        h = fold_arg(h, argv[i].ptr, argv[i].len);
    sink.sum = h;
    sink.cmds++;
}

static void sink_reset(void)
{
    memset(&sink, 0, sizeof sink);
}

/* ---- the workload -------------------------------------------------------- */

typedef struct workload {
    char *buf;
    size_t len;
    uint64_t cmds;     /* commands in it */
    uint64_t checksum; /* the sink's fold over them, computed as they are built */
} workload;

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static char *put_key(char *p, uint64_t i)
{
    p = put(p, KEY_PREFIX, sizeof KEY_PREFIX - 1);
    for (int d = KEY_DIGITS - 1; d >= 0; d--) {
        p[d] = (char)('0' + i % 10);
        i /= 10;
    }
    return p + KEY_DIGITS;
}

static bool workload_build(workload *w, uint64_t n)
{
    static const char set_head[] = "*3\r\n$3\r\nSET\r\n$16\r\n";
    static const char get_head[] = "*2\r\n$3\r\nGET\r\n$16\r\n";
    static const char value_head[] = "\r\n$16\r\n";
    static const char crlf[] = "\r\n";
    char value[VALUE_LEN];
    memset(value, 'x', sizeof value);

    uint64_t sets = (n + 1) / 2, gets = n / 2;
    w->len = (size_t)(sets * SET_REQ_LEN + gets * GET_REQ_LEN);
    w->buf = malloc(w->len);
    if (w->buf == NULL) {
        fprintf(stderr, "keel-bench resp: cannot allocate %zu bytes for the stream\n", w->len);
        return false;
    }
    w->cmds = n;

    uint64_t h = 0;
    char *p = w->buf;
    for (uint64_t i = 0; i < n; i++) {
        char *start = p;
        resp_slice argv[3];
        int argc;
        if (i % 2 == 0) {
            p = put(p, set_head, sizeof set_head - 1);
            argv[1].ptr = p;
            p = put_key(p, i);
            p = put(p, value_head, sizeof value_head - 1);
            argv[2].ptr = p;
            p = put(p, value, sizeof value);
            p = put(p, crlf, 2);
            argv[0] = (resp_slice){"SET", 3};
            argc = 3;
        } else {
            p = put(p, get_head, sizeof get_head - 1);
            argv[1].ptr = p;
            p = put_key(p, i);
            p = put(p, crlf, 2);
            argv[0] = (resp_slice){"GET", 3};
            argc = 2;
        }
        argv[1].len = KEY_LEN;
        argv[2].len = VALUE_LEN;
        if ((size_t)(p - start) != (i % 2 == 0 ? SET_REQ_LEN : GET_REQ_LEN))
            abort(); /* the layout above is wrong */
        h = fold_argc(h, argc);
        for (int a = 0; a < argc; a++)
            h = fold_arg(h, argv[a].ptr, argv[a].len);
    }
    if ((size_t)(p - w->buf) != w->len)
        abort();
    w->checksum = h;
    return true;
}

/* ---- the modes ----------------------------------------------------------- */

typedef struct mode {
    const char *name;
    /* Runs the whole stream once; returns the seconds taken, or < 0 after
     * saying what went wrong. Fills the sink. */
    double (*run)(const workload *w, size_t chunk);
    bool check_sum; /* must match the workload's checksum */
    double best;
} mode;

static double run_keel(const workload *w, size_t chunk)
{
    resp_parser p;
    resp_parser_init(&p, NULL);
    kbuf q = KBUF_INIT;
    const char *err = NULL;

    double t0 = bench_now();
    for (size_t off = 0; off < w->len;) {
        size_t n = w->len - off < chunk ? w->len - off : chunk;
        kbuf_append(&q, w->buf + off, n); /* as recv() would write it */
        off += n;

        size_t done = 0;
        for (;;) {
            resp_command cmd;
            int r = resp_parse(&p, q.data + done, q.len - done, &cmd);
            if (r == RESP_MORE)
                break;
            if (r == RESP_ERROR) {
                err = resp_parser_error(&p);
                if (err == NULL)
                    err = "protocol error without a reply text";
                break;
            }
            done += cmd.len;
            if (cmd.argc > 0)
                sink_keel(cmd.argc, cmd.argv);
        }
        kbuf_consume(&q, done);
        if (err != NULL)
            break;
    }
    double t1 = bench_now();

    size_t left = q.len;
    kbuf_free(&q);
    resp_parser_free(&p);
    if (err != NULL) {
        fprintf(stderr, "keel-bench resp: keel: %s\n", err);
        return -1;
    }
    if (left != 0) {
        fprintf(stderr, "keel-bench resp: keel: %zu bytes left unparsed at the end\n", left);
        return -1;
    }
    return t1 - t0;
}

#ifdef KEEL_HAVE_HIREDIS

/* The owned argv a hiredis client of this stream gets: fold it as keel's. */
__attribute__((noinline)) static void sink_hiredis(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY) {
        sink.bad++;
        return;
    }
    uint64_t h = fold_argc(sink.sum, (int)r->elements);
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_STRING)
            sink.bad++;
        h = fold_arg(h, e->str, e->len);
    }
    sink.sum = h;
    sink.cmds++;
}

__attribute__((noinline)) static void sink_count(void *reply)
{
    (void)reply;
    sink.cmds++;
}

/* Reply functions that build nothing: hiredis's framing alone. */
static char frame_dummy;

static void *frame_string(const redisReadTask *t, char *s, size_t len)
{
    (void)t, (void)s, (void)len;
    return &frame_dummy;
}

static void *frame_array(const redisReadTask *t, int elements)
{
    (void)t, (void)elements;
    return &frame_dummy;
}

static void *frame_integer(const redisReadTask *t, long long v)
{
    (void)t, (void)v;
    return &frame_dummy;
}

static void *frame_nil(const redisReadTask *t)
{
    (void)t;
    return &frame_dummy;
}

static void frame_free(void *obj)
{
    (void)obj;
}

static redisReplyObjectFunctions frame_functions = {
    .createString = frame_string,
    .createArray = frame_array,
    .createInteger = frame_integer,
    .createNil = frame_nil,
    .freeObject = frame_free,
};

static double hiredis_finish(redisReader *r, const char *name, bool failed)
{
    size_t left = r->len - r->pos;
    if (!failed && left != 0) {
        fprintf(stderr, "keel-bench resp: %s: %zu bytes left unparsed at the end\n", name, left);
        failed = true;
    }
    redisReaderFree(r);
    return failed ? -1 : 0;
}

static double run_hiredis_objects(const workload *w, size_t chunk)
{
    redisReader *r = redisReaderCreate(); /* maxbuf: hiredis's default */
    if (r == NULL) {
        fprintf(stderr, "keel-bench resp: hiredis-objects: redisReaderCreate failed\n");
        return -1;
    }
    bool failed = false;

    double t0 = bench_now();
    for (size_t off = 0; off < w->len && !failed;) {
        size_t n = w->len - off < chunk ? w->len - off : chunk;
        if (redisReaderFeed(r, w->buf + off, n) != REDIS_OK) {
            failed = true;
            break;
        }
        off += n;
        for (;;) {
            void *reply;
            if (redisReaderGetReply(r, &reply) != REDIS_OK) {
                failed = true;
                break;
            }
            if (reply == NULL)
                break;
            sink_hiredis(reply);
            freeReplyObject(reply);
        }
    }
    double t1 = bench_now();

    if (failed)
        fprintf(stderr, "keel-bench resp: hiredis-objects: %s\n", r->errstr);
    if (hiredis_finish(r, "hiredis-objects", failed) < 0)
        return -1;
    return t1 - t0;
}

static double run_hiredis_frame_only(const workload *w, size_t chunk)
{
    redisReader *r = redisReaderCreateWithFunctions(&frame_functions);
    if (r == NULL) {
        fprintf(stderr, "keel-bench resp: hiredis-frame-only: redisReaderCreateWithFunctions failed\n");
        return -1;
    }
    bool failed = false;

    double t0 = bench_now();
    for (size_t off = 0; off < w->len && !failed;) {
        size_t n = w->len - off < chunk ? w->len - off : chunk;
        if (redisReaderFeed(r, w->buf + off, n) != REDIS_OK) {
            failed = true;
            break;
        }
        off += n;
        for (;;) {
            void *reply;
            if (redisReaderGetReply(r, &reply) != REDIS_OK) {
                failed = true;
                break;
            }
            if (reply == NULL)
                break;
            sink_count(reply);
        }
    }
    double t1 = bench_now();

    if (failed)
        fprintf(stderr, "keel-bench resp: hiredis-frame-only: %s\n", r->errstr);
    if (hiredis_finish(r, "hiredis-frame-only", failed) < 0)
        return -1;
    return t1 - t0;
}

#endif /* KEEL_HAVE_HIREDIS */

static mode modes[] = {
    {"keel", run_keel, true, 0},
#ifdef KEEL_HAVE_HIREDIS
    {"hiredis-objects", run_hiredis_objects, true, 0},
    {"hiredis-frame-only", run_hiredis_frame_only, false, 0},
#endif
};

#define N_MODES (sizeof modes / sizeof modes[0])

/* ---- the subcommand ------------------------------------------------------ */

int bench_resp_main(int argc, char **argv)
{
    static char prog[] = "keel-bench resp";
    static const struct option longopts[] = {
        {"requests", required_argument, NULL, 'n'},
        {"passes", required_argument, NULL, 'p'},
        {"chunk", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    uint64_t requests = DEFAULT_REQUESTS, passes = DEFAULT_PASSES, chunk = DEFAULT_CHUNK;

    argv[0] = prog; /* getopt's messages name it */
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (!bench_parse_u64(optarg, 1, MAX_REQUESTS, &requests)) {
                fprintf(stderr, "%s: --requests wants an integer from 1 to %llu, not '%s'\n",
                        prog, MAX_REQUESTS, optarg);
                return BENCH_EXIT_USAGE;
            }
            break;
        case 'p':
            if (!bench_parse_u64(optarg, 1, MAX_PASSES, &passes)) {
                fprintf(stderr, "%s: --passes wants an integer from 1 to %d, not '%s'\n",
                        prog, MAX_PASSES, optarg);
                return BENCH_EXIT_USAGE;
            }
            break;
        case 'c':
            if (!bench_parse_u64(optarg, 1, MAX_CHUNK, &chunk)) {
                fprintf(stderr, "%s: --chunk wants an integer from 1 to %" PRIu64 ", not '%s'\n",
                        prog, MAX_CHUNK, optarg);
                return BENCH_EXIT_USAGE;
            }
            break;
        case 'h':
            bench_resp_usage(stdout);
            return BENCH_EXIT_OK;
        default:
            bench_resp_usage(stderr);
            return BENCH_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        bench_resp_usage(stderr);
        return BENCH_EXIT_USAGE;
    }

    workload w;
    if (!workload_build(&w, requests))
        return BENCH_EXIT_FAIL;

    for (size_t m = 0; m < N_MODES; m++)
        modes[m].best = -1;
    for (uint64_t pass = 0; pass < passes; pass++) {
        for (size_t m = 0; m < N_MODES; m++) {
            mode *md = &modes[m];
            sink_reset();
            double t = md->run(&w, (size_t)chunk);
            if (t < 0) {
                free(w.buf);
                return BENCH_EXIT_FAIL;
            }
            bool ok = sink.cmds == w.cmds && sink.bad == 0 &&
                      (!md->check_sum || sink.sum == w.checksum);
            if (!ok) {
                fprintf(stderr,
                        "keel-bench resp: %s (pass %" PRIu64 "): saw %" PRIu64
                        " commands (want %" PRIu64 "), checksum %016" PRIx64
                        " (want %016" PRIx64 "), %" PRIu64 " malformed\n",
                        md->name, pass + 1, sink.cmds, w.cmds, sink.sum,
                        w.checksum, sink.bad);
                free(w.buf);
                return BENCH_EXIT_FAIL;
            }
            if (md->best < 0 || t < md->best)
                md->best = t;
        }
    }

    double secs[N_MODES];
    for (size_t m = 0; m < N_MODES; m++) {
        const mode *md = &modes[m];
        secs[m] = md->best > 0 ? md->best : 1e-9; /* a clock too coarse for a tiny run */
        printf("resp %s: MB/s=%.1f cmds/s=%.0f ns/cmd=%.1f\n", md->name,
               (double)w.len / 1e6 / secs[m], (double)w.cmds / secs[m],
               secs[m] * 1e9 / (double)w.cmds);
    }
#ifdef KEEL_HAVE_HIREDIS
    /* Throughput ratios: how many times faster keel is. */
    printf("resp ratio keel/hiredis-objects=%.2f keel/hiredis-frame-only=%.2f\n",
           secs[1] / secs[0], secs[2] / secs[0]);
#endif
    fprintf(stderr,
            "keel-bench resp: %" PRIu64 " requests, %zu bytes (%.1f per request), "
            "chunk %" PRIu64 ", best of %" PRIu64 " passes, checksum %016" PRIx64 " verified%s\n",
            w.cmds, w.len, (double)w.len / (double)w.cmds, chunk, passes, w.checksum,
#ifdef KEEL_HAVE_HIREDIS
            ""
#else
            "; built without hiredis: no peer modes"
#endif
    );
    fflush(stdout);
    free(w.buf);
    return BENCH_EXIT_OK;
}
