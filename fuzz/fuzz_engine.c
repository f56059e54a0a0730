/* Fuzz harness for the command engine: random command sequences.
 *
 * The input is a program: each step takes a few bytes to choose a command
 * from a vocabulary (strings, bits, hashes, keys, expiry, transactions,
 * server commands), its keys from a small key space (so commands collide on
 * keys and types), and its arguments (numbers near the edges, short binary
 * strings, options), and advances the clock now and then.
 *
 * Properties, checked after every command:
 *  - the store's invariants hold (db_check: both dicts, TTL bookkeeping,
 *    encodings; khash_check for every hash touched);
 *  - every reply is one well-formed RESP2 reply (the RESP parser's reply
 *    shape, checked by a small reader here);
 *  - determinism: a second engine with the same seed fed the same program
 *    gives byte-identical replies;
 *  - and at the end, the db survives a snapshot round trip with the same
 *    key count (codec). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmd/engine.h"
#include "core/store/codec.h"
#include "core/store/hash.h"

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint8_t next(reader *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

static const char *const verbs[] = {
    "SET", "GET", "DEL", "EXISTS", "INCR", "INCRBY", "DECRBY", "INCRBYFLOAT", "APPEND",
    "SETRANGE", "GETRANGE", "STRLEN", "MGET", "MSET", "MSETNX", "GETDEL", "GETEX", "GETSET",
    "SETNX", "SETEX", "PSETEX", "LCS", "SETBIT", "GETBIT", "BITCOUNT", "BITPOS", "BITOP",
    "BITFIELD", "HSET", "HGET", "HDEL", "HLEN", "HGETALL", "HINCRBY", "HINCRBYFLOAT", "HMGET",
    "HSETNX", "HKEYS", "HVALS", "HSTRLEN", "HEXISTS", "HRANDFIELD", "HSCAN", "EXPIRE",
    "PEXPIRE", "EXPIREAT", "PEXPIREAT", "TTL", "PTTL", "PERSIST", "EXPIRETIME", "TYPE",
    "RENAME", "RENAMENX", "COPY", "KEYS", "SCAN", "RANDOMKEY", "TOUCH", "UNLINK", "OBJECT",
    "MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH", "DBSIZE", "FLUSHALL", "PING", "ECHO",
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static const char *const words[] = {
    "0", "1", "-1", "2", "10", "100", "-100", "9223372036854775807", "-9223372036854775808",
    "9223372036854775808", "1.5", "-0.5", "inf", "nan", "abc", "", "NX", "XX", "GT", "LT",
    "EX", "PX", "EXAT", "PXAT", "KEEPTTL", "GET", "PERSIST", "REPLACE", "MATCH", "COUNT",
    "TYPE", "string", "hash", "*", "k*", "WITHVALUES", "AND", "OR", "XOR", "NOT", "BYTE",
    "BIT", "i8", "u4", "i64", "u63", "#1", "OVERFLOW", "SAT", "FAIL", "WRAP", "INCRBY", "LEN",
    "IDX", "ENCODING", "REFCOUNT", "IDLETIME", "1000000", "4294967296", "-4294967296",
    "65", "129", "7", "8",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

/* Reads one RESP2 reply starting at *pos; false if malformed. */
static bool one_reply(const char *b, size_t len, size_t *pos, int depth)
{
    if (depth > 8 || *pos >= len)
        return false;
    char t = b[*pos];
    const char *nl = memchr(b + *pos, '\n', len - *pos);
    if (nl == NULL || nl == b + *pos || nl[-1] != '\r')
        return false;
    size_t line_end = (size_t)(nl - b) + 1;
    long long n = 0;
    if (t == '$' || t == '*' || t == ':') {
        if (!resp_string2ll(b + *pos + 1, line_end - 2 - (*pos + 1), &n))
            return false;
    } else if (t != '+' && t != '-') {
        return false;
    }
    *pos = line_end;
    if (t == '$' && n >= 0) {
        if ((size_t)n + 2 > len - *pos || b[*pos + n] != '\r' || b[*pos + n + 1] != '\n')
            return false;
        *pos += (size_t)n + 2;
    } else if (t == '*') {
        for (long long i = 0; i < n; i++)
            if (!one_reply(b, len, pos, depth + 1))
                return false;
    }
    return true;
}

typedef struct world {
    engine e;
    client *c[2];
    kbuf out;
} world;

static void check_hash_cb(void *ctx, kentry *k)
{
    bool *ok = ctx;
    if (kentry_type(k) == OBJ_HASH && !khash_check(kentry_obj(k)))
        *ok = false;
}

static int to_kbuf(void *ctx, const char *buf, size_t len)
{
    kbuf_append(ctx, buf, len);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t start = 1700000000000LL;
    world w[2];
    for (int i = 0; i < 2; i++) {
        engine_init(&w[i].e, 1234, start);
        /* Small thresholds so hashes convert after a few fields. */
        w[i].e.cfg.hash_max_listpack_entries = 4;
        w[i].e.cfg.hash_max_listpack_value = 8;
        w[i].c[0] = engine_client_new(&w[i].e, start);
        w[i].c[1] = engine_client_new(&w[i].e, start);
        kbuf_init(&w[i].out);
    }
    reader r = {data, size};
    int64_t now = start;
    char argbuf[16][24];
    resp_slice argv[16];
    for (int step = 0; step < 200 && r.n > 0; step++) {
        uint8_t op = next(&r);
        if (op == 0xff) { /* time passes */
            now += next(&r) * 37;
            for (int i = 0; i < 2; i++)
                engine_tick(&w[i].e, now);
            continue;
        }
        int who = op & 1;
        int argc = 1 + next(&r) % 6;
        argv[0].ptr = verbs[(op >> 1) % NVERBS];
        argv[0].len = strlen(argv[0].ptr);
        for (int a = 1; a < argc; a++) {
            uint8_t sel = next(&r);
            if (sel < 96) { /* a key: "k0".."k7" */
                argbuf[a][0] = 'k';
                argbuf[a][1] = (char)('0' + sel % 8);
                argv[a].ptr = argbuf[a];
                argv[a].len = 2;
            } else if (sel < 200) {
                argv[a].ptr = words[sel % NWORDS];
                argv[a].len = strlen(argv[a].ptr);
            } else { /* a short binary string */
                size_t l = next(&r) % 12;
                for (size_t i = 0; i < l; i++)
                    argbuf[a][i] = (char)next(&r);
                argv[a].ptr = argbuf[a];
                argv[a].len = l;
            }
        }
        /* HRANDFIELD key -N returns N fields (repeats allowed), as Redis
         * does: a count of a billion is a billion fields of work, not a
         * hang; the harness keeps counts small. */
        long long count;
        if (argc >= 3 && !strcmp(argv[0].ptr, "HRANDFIELD") &&
            resp_string2ll(argv[2].ptr, argv[2].len, &count) && (count > 10000 || count < -10000))
            continue;
        for (int i = 0; i < 2; i++) {
            kbuf_clear(&w[i].out);
            engine_execute(&w[i].e, w[i].c[who], argc, argv, now, &w[i].out);
            size_t pos = 0;
            if (!one_reply(w[i].out.data, w[i].out.len, &pos, 0) || pos != w[i].out.len) {
                fprintf(stderr, "malformed reply to %s: %.*s\n", argv[0].ptr,
                        (int)w[i].out.len, w[i].out.data);
                abort();
            }
            if (!db_check(&w[i].e.db)) {
                fprintf(stderr, "db invariants broken after %s\n", argv[0].ptr);
                abort();
            }
            bool ok = true;
            db_for_each(&w[i].e.db, check_hash_cb, &ok);
            if (!ok) {
                fprintf(stderr, "hash invariants broken after %s\n", argv[0].ptr);
                abort();
            }
        }
        if (w[0].out.len != w[1].out.len || memcmp(w[0].out.data, w[1].out.data, w[0].out.len)) {
            fprintf(stderr, "two engines with one seed answered %s differently\n", argv[0].ptr);
            abort();
        }
    }
    /* The final db survives a snapshot round trip. */
    kbuf img = KBUF_INIT;
    if (codec_encode_db(&w[0].e.db, to_kbuf, &img) != 0)
        abort();
    db back;
    db_init(&back, 9);
    const char *err = codec_decode_db(&back, img.data, img.len, 9);
    if (err || db_size(&back) != db_size(&w[0].e.db)) {
        fprintf(stderr, "snapshot round trip failed: %s\n", err ? err : "count differs");
        abort();
    }
    db_free(&back);
    kbuf_free(&img);
    for (int i = 0; i < 2; i++) {
        kbuf_free(&w[i].out);
        engine_free(&w[i].e);
    }
    return 0;
}
