/* The bitmap family: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD
 * BITFIELD_RO, with Redis 7.0's replies, errors and argument rules
 * (bitops.c is the reference).
 *
 * A bitmap is a string value; bit 0 is the most significant bit of the
 * first byte. Reads of INT-encoded values see their decimal text. Writes
 * grow the value with zero bytes and edit the RAW buffer in place
 * (db_str_mutable), then report the change with db_signal_modified. The
 * longest bitmap a command may build is proto-max-bulk-len bytes. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmd/cmd.h"
#include "core/cmd/engine.h"

/* ------------------------------------------------------------------------ */
/* Helpers */

/* Redis matches option words with strcasecmp on NUL-terminated arguments,
 * so a NUL inside an argument ends the word there. */
static bool opt_is(const resp_slice *a, const char *word)
{
    const char *nul = memchr(a->ptr, '\0', a->len);
    resp_slice s = {a->ptr, nul ? (size_t)(nul - a->ptr) : a->len};
    return arg_is(&s, word);
}

/* Redis's getBitOffsetFromArgument: a bit offset in [0, 8 *
 * proto-max-bulk-len). With hash (BITFIELD), "#N" means N * bits. */
static bool bit_offset(cmd_ctx *x, const resp_slice *a, bool hash, int bits, uint64_t *out)
{
    size_t skip = hash && bits > 0 && a->len > 0 && a->ptr[0] == '#' ? 1 : 0;
    long long off;
    if (!resp_string2ll(a->ptr + skip, a->len - skip, &off)) {
        reply_error(x, ERR_BIT_OFFSET);
        return false;
    }
    /* Redis multiplies in long long; an overflow wraps as it does there. */
    if (skip)
        off = (long long)((unsigned long long)off * (unsigned long long)bits);
    if (off < 0 || (off >> 3) >= x->eng->cfg.proto_max_bulk_len) {
        reply_error(x, ERR_BIT_OFFSET);
        return false;
    }
    *out = (uint64_t)off;
    return true;
}

/* Redis's getBitfieldTypeFromArgument: i1..i64 or u1..u63. The number is
 * read up to a NUL, as Redis reads it with strlen. */
static bool bitfield_type(cmd_ctx *x, const resp_slice *a, bool *is_signed, int *bits)
{
    long long n;
    const char *nul = a->len > 1 ? memchr(a->ptr + 1, '\0', a->len - 1) : NULL;
    size_t numlen = a->len > 1 ? (nul ? (size_t)(nul - a->ptr - 1) : a->len - 1) : 0;
    if (a->len == 0 || (a->ptr[0] != 'i' && a->ptr[0] != 'u') ||
        !resp_string2ll(a->ptr + 1, numlen, &n) || n < 1 ||
        (a->ptr[0] == 'i' && n > 64) || (a->ptr[0] == 'u' && n > 63)) {
        reply_error(x, "Invalid bitfield type. Use something like i16 u8. Note that u64 is not "
                       "supported but i64 is.");
        return false;
    }
    *is_signed = a->ptr[0] == 'i';
    *bits = (int)n;
    return true;
}

/* Redis's lookupStringForBitCommand: the string at argv[1] for writing,
 * created or grown with zero bytes so that bit maxbit exists. NULL after a
 * WRONGTYPE reply. *dirty: the key was created or grew. *sp: its buffer
 * (valid until the next write to the db). */
static kentry *bit_string_for_write(cmd_ctx *x, uint64_t maxbit, bool *dirty, kstr **sp)
{
    const resp_slice *key = &x->argv[1];
    size_t need = (size_t)(maxbit >> 3) + 1;
    bool wrongtype;
    kentry *e = lookup_write(x, key, OBJ_STRING, &wrongtype);
    if (wrongtype)
        return NULL;
    *dirty = false;
    if (e == NULL) {
        e = db_set_str_raw(x->db, key->ptr, key->len, "", 0, -1);
        *dirty = true;
    }
    kstr *s = db_str_mutable(x->db, &e, need);
    if (s->len < need) {
        memset(s->data + s->len, 0, need - s->len);
        s->len = need;
        *dirty = true;
    }
    *sp = s;
    return e;
}

/* Set bits in p[0..n). */
static long long popcount(const unsigned char *p, size_t n)
{
    long long bits = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        bits += __builtin_popcountll(w);
    }
    for (; i < n; i++)
        bits += __builtin_popcount(p[i]);
    return bits;
}

/* Redis's redisBitpos: the position of the first bit equal to bit in
 * p[0..n). None found: -1 when looking for a 1, n * 8 when looking for a 0
 * (as if the string went on with zero bytes). */
static long long first_bit(const unsigned char *p, size_t n, int bit)
{
    unsigned char skip = bit ? 0x00 : 0xff;
    uint64_t skipw = bit ? 0 : UINT64_MAX;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w != skipw)
            break;
    }
    for (; i < n && p[i] == skip; i++)
        ;
    if (i == n)
        return bit ? -1 : (long long)n * 8;
    for (int b = 0; b < 8; b++)
        if (((p[i] >> (7 - b)) & 1) == bit)
            return (long long)i * 8 + b;
    return -1; /* not reached: p[i] != skip has the bit */
}

/* ------------------------------------------------------------------------ */
/* SETBIT GETBIT */

/* SETBIT key offset value: replies with the bit's old value. A change (or
 * growth) is a write; setting a bit to what it was is not. */
static void setbit_cmd(cmd_ctx *x)
{
    static const char err[] = "bit is not an integer or out of range";
    uint64_t off;
    long long on;
    if (!bit_offset(x, &x->argv[2], false, 0, &off) || !arg_ll(x, &x->argv[3], &on, err))
        return;
    if (on & ~1LL) {
        reply_error(x, err);
        return;
    }
    bool dirty;
    kstr *s;
    if (bit_string_for_write(x, off, &dirty, &s) == NULL)
        return;
    size_t byte = (size_t)(off >> 3);
    int shift = 7 - (int)(off & 7);
    int old = (s->data[byte] >> shift) & 1;
    if (dirty || old != on) {
        unsigned char v = (unsigned char)s->data[byte];
        v = (unsigned char)((v & ~(1u << shift)) | ((unsigned)on << shift));
        s->data[byte] = (char)v;
        db_signal_modified(x->db, x->argv[1].ptr, x->argv[1].len);
        cmd_dirty(x, 1);
    }
    reply_int(x, old);
}

/* GETBIT key offset: 0 past the end and for a missing key. */
static void getbit_cmd(cmd_ctx *x)
{
    uint64_t off;
    if (!bit_offset(x, &x->argv[2], false, 0, &off))
        return;
    bool wrongtype;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_STRING, &wrongtype);
    if (wrongtype)
        return;
    int bit = 0;
    if (e) {
        char tmp[KSTR_TMP];
        const char *p;
        size_t len = kentry_str(e, &p, tmp);
        size_t byte = (size_t)(off >> 3);
        if (byte < len)
            bit = ((unsigned char)p[byte] >> (7 - (off & 7))) & 1;
    }
    reply_int(x, bit);
}

/* ------------------------------------------------------------------------ */
/* BITCOUNT BITPOS */

/* Resolves a [start, end] range as BITCOUNT and BITPOS do: negative
 * indexes from the end, clipped to the string (totlen bytes, or bits when
 * isbit). In bit mode with a non-empty range, start and end become byte
 * indexes and the masks mark the bits of the edge bytes outside the range. */
static void resolve_range(long long totlen, bool isbit, long long *start, long long *end,
                          unsigned char *first_mask, unsigned char *last_mask)
{
    if (isbit)
        totlen <<= 3;
    if (*start < 0)
        *start += totlen;
    if (*end < 0)
        *end += totlen;
    if (*start < 0)
        *start = 0;
    if (*end < 0)
        *end = 0;
    if (*end >= totlen)
        *end = totlen - 1;
    *first_mask = *last_mask = 0;
    if (isbit && *start <= *end) {
        *first_mask = (unsigned char)(~((1u << (8 - (*start & 7))) - 1) & 0xff);
        *last_mask = (unsigned char)((1u << (7 - (*end & 7))) - 1);
        *start >>= 3;
        *end >>= 3;
    }
}

/* BYTE or BIT; false after a syntax error reply. */
static bool parse_unit(cmd_ctx *x, const resp_slice *a, bool *isbit)
{
    if (opt_is(a, "bit")) {
        *isbit = true;
    } else if (opt_is(a, "byte")) {
        *isbit = false;
    } else {
        reply_error(x, ERR_SYNTAX);
        return false;
    }
    return true;
}

/* BITCOUNT key [start end [BYTE|BIT]]: 0 for a missing key, whatever the
 * arguments (the key is looked up first, as in Redis). */
static void bitcount_cmd(cmd_ctx *x)
{
    bool wrongtype;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_STRING, &wrongtype);
    if (wrongtype)
        return;
    if (e == NULL) {
        reply_int(x, 0);
        return;
    }
    char tmp[KSTR_TMP];
    const char *sp;
    long long len = (long long)kentry_str(e, &sp, tmp);
    const unsigned char *p = (const unsigned char *)sp;

    long long start, end;
    unsigned char first_mask = 0, last_mask = 0;
    if (x->argc == 4 || x->argc == 5) {
        bool isbit = false;
        if (!arg_ll(x, &x->argv[2], &start, NULL) || !arg_ll(x, &x->argv[3], &end, NULL))
            return;
        if (start < 0 && end < 0 && start > end) {
            reply_int(x, 0);
            return;
        }
        if (x->argc == 5 && !parse_unit(x, &x->argv[4], &isbit))
            return;
        resolve_range(len, isbit, &start, &end, &first_mask, &last_mask);
    } else if (x->argc == 2) {
        start = 0;
        end = len - 1;
    } else {
        reply_error(x, ERR_SYNTAX);
        return;
    }

    if (start > end) {
        reply_int(x, 0);
        return;
    }
    long long count = popcount(p + start, (size_t)(end - start + 1));
    /* Take out the bits of the edge bytes that are outside a bit range. */
    if (first_mask)
        count -= __builtin_popcount(p[start] & first_mask);
    if (last_mask)
        count -= __builtin_popcount(p[end] & last_mask);
    reply_int(x, count);
}

/* BITPOS key bit [start [end [BYTE|BIT]]]: the first bit set to `bit`. For
 * 0 without an explicit end, the string counts as followed by zeros; with
 * an end, -1 when the range has no such bit. */
static void bitpos_cmd(cmd_ctx *x)
{
    long long bit;
    if (!arg_ll(x, &x->argv[2], &bit, NULL))
        return;
    if (bit != 0 && bit != 1) {
        reply_error(x, "The bit argument must be 1 or 0.");
        return;
    }
    bool wrongtype;
    kentry *e = lookup_read(x, &x->argv[1], OBJ_STRING, &wrongtype);
    if (wrongtype)
        return;
    if (e == NULL) {
        reply_int(x, bit ? -1 : 0);
        return;
    }
    char tmp[KSTR_TMP];
    const char *sp;
    long long len = (long long)kentry_str(e, &sp, tmp);
    const unsigned char *p = (const unsigned char *)sp;

    long long start, end;
    bool end_given = false;
    unsigned char first_mask = 0, last_mask = 0;
    if (x->argc >= 4 && x->argc <= 6) {
        bool isbit = false;
        if (!arg_ll(x, &x->argv[3], &start, NULL))
            return;
        if (x->argc == 6 && !parse_unit(x, &x->argv[5], &isbit))
            return;
        if (x->argc >= 5) {
            if (!arg_ll(x, &x->argv[4], &end, NULL))
                return;
            end_given = true;
        } else {
            end = len - 1; /* argc 4: no unit, so bytes */
        }
        resolve_range(len, isbit, &start, &end, &first_mask, &last_mask);
    } else if (x->argc == 3) {
        start = 0;
        end = len - 1;
    } else {
        reply_error(x, ERR_SYNTAX);
        return;
    }

    if (start > end) {
        reply_int(x, -1);
        return;
    }
    /* pos is relative to byte `start`; bytes is what is left from there. */
    long long bytes = end - start + 1;
    long long pos;
    unsigned char c;
    if (first_mask) {
        /* The first byte alone, its bits before the range forced to !bit. */
        c = bit ? p[start] & ~first_mask : p[start] | first_mask;
        if (last_mask && bytes == 1)
            c = bit ? c & ~last_mask : c | last_mask;
        pos = first_bit(&c, 1, (int)bit);
        if (bytes == 1 || (pos != -1 && pos != 8))
            goto result;
        start++;
        bytes--;
    }
    long long whole = bytes - (last_mask ? 1 : 0);
    if (whole > 0) {
        pos = first_bit(p + start, (size_t)whole, (int)bit);
        if (bytes == whole || (pos != -1 && pos != whole * 8))
            goto result;
        start += whole;
        bytes -= whole;
    }
    /* The last byte, its bits after the range forced to !bit. */
    c = bit ? p[end] & ~last_mask : p[end] | last_mask;
    pos = first_bit(&c, 1, (int)bit);
result:
    if (end_given && bit == 0 && pos == bytes * 8) {
        reply_int(x, -1);
        return;
    }
    if (pos != -1)
        pos += start * 8;
    reply_int(x, pos);
}

/* ------------------------------------------------------------------------ */
/* BITOP */

enum { OP_AND, OP_OR, OP_XOR, OP_NOT };

/* BITOP AND|OR|XOR|NOT destkey key [key ...]: missing keys are empty
 * strings, shorter ones are zero-padded; the result (as long as the
 * longest input) replaces destkey, or deletes it when empty. */
static void bitop_cmd(cmd_ctx *x)
{
    const resp_slice *dst = &x->argv[2];
    int op;
    if (opt_is(&x->argv[1], "and"))
        op = OP_AND;
    else if (opt_is(&x->argv[1], "or"))
        op = OP_OR;
    else if (opt_is(&x->argv[1], "xor"))
        op = OP_XOR;
    else if (opt_is(&x->argv[1], "not"))
        op = OP_NOT;
    else {
        reply_error(x, ERR_SYNTAX);
        return;
    }
    if (op == OP_NOT && x->argc != 4) {
        reply_error(x, "BITOP NOT must be called with a single source key.");
        return;
    }

    /* Look every source up (stats, lazy expiry, type check) first, then
     * find them again: an expiry on the way is a write that may have moved
     * nothing we hold, but no pointer is kept across it. */
    int n = x->argc - 3;
    for (int j = 0; j < n; j++) {
        bool wrongtype;
        lookup_read(x, &x->argv[j + 3], OBJ_STRING, &wrongtype);
        if (wrongtype)
            return;
    }
    const unsigned char **src = malloc((size_t)n * sizeof(*src));
    size_t *len = malloc((size_t)n * sizeof(*len));
    char(*tmp)[KSTR_TMP] = malloc((size_t)n * sizeof(*tmp));
    if (src == NULL || len == NULL || tmp == NULL)
        abort();
    size_t maxlen = 0;
    for (int j = 0; j < n; j++) {
        kentry *e = db_find(x->db, x->argv[j + 3].ptr, x->argv[j + 3].len, x->now_ms);
        const char *p = NULL;
        len[j] = e ? kentry_str(e, &p, tmp[j]) : 0;
        src[j] = (const unsigned char *)p;
        if (len[j] > maxlen)
            maxlen = len[j];
    }

    unsigned char *res = NULL;
    if (maxlen) {
        res = malloc(maxlen);
        if (res == NULL)
            abort();
        for (size_t i = 0; i < maxlen; i++) {
            unsigned char out = i < len[0] ? src[0][i] : 0;
            if (op == OP_NOT)
                out = (unsigned char)~out;
            for (int j = 1; j < n; j++) {
                unsigned char b = i < len[j] ? src[j][i] : 0;
                if (op == OP_AND)
                    out &= b;
                else if (op == OP_OR)
                    out |= b;
                else
                    out ^= b;
            }
            res[i] = out;
        }
    }
    free(src);
    free(len);
    free(tmp);

    if (maxlen) {
        db_set_str_raw(x->db, dst->ptr, dst->len, (const char *)res, maxlen, -1);
        cmd_dirty(x, 1);
    } else {
        /* Redis's dbDelete: removes the key even if its TTL has passed and
         * it has not been reclaimed yet. */
        kentry *e = (kentry *)dict_find(&x->db->keys, dst->ptr, dst->len);
        if (e) {
            db_delete_entry(x->db, e);
            cmd_dirty(x, 1);
        }
    }
    free(res);
    reply_int(x, (long long)maxlen);
}

/* ------------------------------------------------------------------------ */
/* BITFIELD */

enum { BF_GET, BF_SET, BF_INCRBY };
enum { OW_WRAP, OW_SAT, OW_FAIL };

typedef struct bf_op {
    uint64_t offset;
    int64_t value; /* SET value or INCRBY increment */
    int opcode;
    int overflow;
    int bits;
    bool is_signed;
} bf_op;

/* Reads `bits` bits (1..64) at bit `offset` of p, most significant first. */
static uint64_t bf_get_u(const unsigned char *p, uint64_t offset, int bits)
{
    uint64_t v = 0;
    for (int j = 0; j < bits; j++, offset++)
        v = (v << 1) | ((p[offset >> 3] >> (7 - (offset & 7))) & 1);
    return v;
}

static int64_t bf_get_i(const unsigned char *p, uint64_t offset, int bits)
{
    uint64_t u = bf_get_u(p, offset, bits);
    /* Sign-extend from bit bits-1. */
    if (bits < 64 && (u & (1ULL << (bits - 1))))
        u |= UINT64_MAX << bits;
    return (int64_t)u;
}

static void bf_set(unsigned char *p, uint64_t offset, int bits, uint64_t v)
{
    for (int j = 0; j < bits; j++, offset++) {
        unsigned bit = (unsigned)((v >> (bits - 1 - j)) & 1);
        unsigned shift = 7 - (unsigned)(offset & 7);
        p[offset >> 3] = (unsigned char)((p[offset >> 3] & ~(1u << shift)) | (bit << shift));
    }
}

/* Redis's checkUnsignedBitfieldOverflow: does value + incr leave
 * [0, 2^bits)? If so, *limit is the result under WRAP (low bits) or SAT
 * (the bound crossed); 1 above, -1 below, 0 when it fits. */
static int bf_overflow_u(uint64_t value, int64_t incr, int bits, int ow, uint64_t *limit)
{
    uint64_t max = bits == 64 ? UINT64_MAX : (1ULL << bits) - 1;
    int64_t maxincr = (int64_t)(max - value);
    int64_t minincr = (int64_t)(0 - value);
    int r;
    if (value > max || (incr > 0 && incr > maxincr))
        r = 1;
    else if (incr < 0 && incr < minincr)
        r = -1;
    else
        return 0;
    if (ow == OW_WRAP)
        *limit = (value + (uint64_t)incr) & ~(UINT64_MAX << bits); /* bits <= 63 */
    else if (ow == OW_SAT)
        *limit = r > 0 ? max : 0;
    return ow == OW_WRAP ? 1 : r;
}

/* Redis's checkSignedBitfieldOverflow, for [-2^(bits-1), 2^(bits-1)). */
static int bf_overflow_i(int64_t value, int64_t incr, int bits, int ow, int64_t *limit)
{
    int64_t max = bits == 64 ? INT64_MAX : (int64_t)((1ULL << (bits - 1)) - 1);
    int64_t min = -max - 1;
    /* As in Redis these may wrap; they are only used once value is known
     * to be in range. */
    int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);
    int64_t minincr = (int64_t)((uint64_t)min - (uint64_t)value);
    int r;
    if (value > max || (bits != 64 && incr > maxincr) ||
        (value >= 0 && incr > 0 && incr > maxincr))
        r = 1;
    else if (value < min || (bits != 64 && incr < minincr) ||
             (value < 0 && incr < 0 && incr < minincr))
        r = -1;
    else
        return 0;
    if (ow == OW_WRAP) {
        uint64_t c = (uint64_t)value + (uint64_t)incr;
        if (bits < 64) {
            uint64_t mask = UINT64_MAX << bits;
            if (c & (1ULL << (bits - 1)))
                c |= mask;
            else
                c &= ~mask;
        }
        *limit = (int64_t)c;
        return 1;
    }
    if (ow == OW_SAT)
        *limit = r > 0 ? max : min;
    return r;
}

/* Runs one SET or INCRBY on the bitmap p; replies with the old value (SET)
 * or the new one (INCRBY), or a null when OVERFLOW FAIL refuses it.
 * Returns true if the stored bits changed (or the key is new). */
static bool bf_write(cmd_ctx *x, unsigned char *p, const bf_op *o, bool dirty)
{
    bool overflow;
    uint64_t oldbits, newbits;
    long long reply;
    if (o->is_signed) {
        int64_t oldval = bf_get_i(p, o->offset, o->bits), newval, wrapped = 0;
        if (o->opcode == BF_INCRBY) {
            overflow = bf_overflow_i(oldval, o->value, o->bits, o->overflow, &wrapped) != 0;
            newval = overflow ? wrapped : (int64_t)((uint64_t)oldval + (uint64_t)o->value);
            reply = newval;
        } else {
            newval = o->value;
            overflow = bf_overflow_i(newval, 0, o->bits, o->overflow, &wrapped) != 0;
            if (overflow)
                newval = wrapped;
            reply = oldval;
        }
        oldbits = (uint64_t)oldval;
        newbits = (uint64_t)newval;
    } else {
        uint64_t oldval = bf_get_u(p, o->offset, o->bits), newval, wrapped = 0;
        if (o->opcode == BF_INCRBY) {
            newval = oldval + (uint64_t)o->value;
            overflow = bf_overflow_u(oldval, o->value, o->bits, o->overflow, &wrapped) != 0;
            if (overflow)
                newval = wrapped;
            reply = (long long)newval;
        } else {
            newval = (uint64_t)o->value;
            overflow = bf_overflow_u(newval, 0, o->bits, o->overflow, &wrapped) != 0;
            if (overflow)
                newval = wrapped;
            reply = (long long)oldval;
        }
        oldbits = oldval;
        newbits = newval;
    }
    if (overflow && o->overflow == OW_FAIL) {
        reply_null(x);
        return false;
    }
    reply_int(x, reply);
    bf_set(p, o->offset, o->bits, newbits);
    return dirty || oldbits != newbits;
}

/* BITFIELD key [GET type offset] [SET type offset value] [INCRBY type
 * offset increment] [OVERFLOW WRAP|SAT|FAIL] ..., and BITFIELD_RO (GETs
 * only). Every operation is parsed before any runs; the reply has one
 * entry per GET/SET/INCRBY. */
static void bitfield_generic(cmd_ctx *x, bool ro_cmd)
{
    bf_op *ops = malloc((size_t)x->argc * sizeof(*ops)); /* at most one per argument */
    if (ops == NULL)
        abort();
    int nops = 0, overflow = OW_WRAP;
    bool readonly = true;
    uint64_t highest = 0; /* the last bit any write reaches */

    for (int j = 2; j < x->argc; j++) {
        int remargs = x->argc - j - 1;
        const resp_slice *sub = &x->argv[j];
        int opcode;
        if (opt_is(sub, "get") && remargs >= 2) {
            opcode = BF_GET;
        } else if (opt_is(sub, "set") && remargs >= 3) {
            opcode = BF_SET;
        } else if (opt_is(sub, "incrby") && remargs >= 3) {
            opcode = BF_INCRBY;
        } else if (opt_is(sub, "overflow") && remargs >= 1) {
            const resp_slice *t = &x->argv[++j];
            if (opt_is(t, "wrap"))
                overflow = OW_WRAP;
            else if (opt_is(t, "sat"))
                overflow = OW_SAT;
            else if (opt_is(t, "fail"))
                overflow = OW_FAIL;
            else {
                reply_error(x, "Invalid OVERFLOW type specified");
                goto done;
            }
            continue;
        } else {
            reply_error(x, ERR_SYNTAX);
            goto done;
        }

        bf_op *o = &ops[nops];
        o->opcode = opcode;
        o->overflow = overflow;
        o->value = 0;
        if (!bitfield_type(x, &x->argv[j + 1], &o->is_signed, &o->bits) ||
            !bit_offset(x, &x->argv[j + 2], true, o->bits, &o->offset))
            goto done;
        if (opcode != BF_GET) {
            readonly = false;
            if (highest < o->offset + (uint64_t)o->bits - 1)
                highest = o->offset + (uint64_t)o->bits - 1;
            long long v;
            if (!arg_ll(x, &x->argv[j + 3], &v, NULL))
                goto done;
            o->value = v;
        }
        nops++;
        j += opcode == BF_GET ? 2 : 3;
    }

    const unsigned char *src = NULL; /* the value the GETs read */
    size_t srclen = 0;
    char tmp[KSTR_TMP];
    unsigned char *wbuf = NULL;      /* the buffer writes edit */
    bool dirty = false;
    if (readonly) {
        bool wrongtype;
        kentry *e = lookup_read(x, &x->argv[1], OBJ_STRING, &wrongtype);
        if (wrongtype)
            goto done;
        if (e) {
            const char *p;
            srclen = kentry_str(e, &p, tmp);
            src = (const unsigned char *)p;
        }
    } else {
        if (ro_cmd) {
            reply_error(x, "BITFIELD_RO only supports the GET subcommand");
            goto done;
        }
        kstr *s;
        if (bit_string_for_write(x, highest, &dirty, &s) == NULL)
            goto done;
        wbuf = (unsigned char *)s->data;
        src = wbuf;
        srclen = s->len;
    }

    long long changes = 0;
    reply_array(x, nops);
    for (int j = 0; j < nops; j++) {
        const bf_op *o = &ops[j];
        if (o->opcode != BF_GET) {
            if (bf_write(x, wbuf, o, dirty))
                changes++;
            continue;
        }
        /* GET reads through a zero-padded copy of the 9 bytes it spans,
         * so it can reach past the end of the string. */
        unsigned char buf[9] = {0};
        uint64_t byte = o->offset >> 3;
        for (int i = 0; i < 9 && byte + (uint64_t)i < srclen; i++)
            buf[i] = src[byte + (uint64_t)i];
        uint64_t bitoff = o->offset - byte * 8;
        if (o->is_signed)
            reply_int(x, bf_get_i(buf, bitoff, o->bits));
        else
            reply_int(x, (long long)bf_get_u(buf, bitoff, o->bits));
    }
    if (changes) {
        db_signal_modified(x->db, x->argv[1].ptr, x->argv[1].len);
        cmd_dirty(x, changes);
    }
done:
    free(ops);
}

static void bitfield_cmd(cmd_ctx *x) { bitfield_generic(x, false); }
static void bitfield_ro_cmd(cmd_ctx *x) { bitfield_generic(x, true); }

/* ------------------------------------------------------------------------ */
/* The table */

const cmd_def cmd_bits[] = {
    {.name = "setbit", .arity = 4, .flags = CMD_WRITE | CMD_DENYOOM,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = setbit_cmd, .group = "bitmap", .since = "2.2.0",
     .summary = "Sets or clears the bit at offset in the string value stored at key",
     .complexity = "O(1)", .acl = "@write @bitmap @slow", .args = "key offset value"},
    {.name = "getbit", .arity = 3, .flags = CMD_READONLY | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = getbit_cmd, .group = "bitmap", .since = "2.2.0",
     .summary = "Returns the bit value at offset in the string value stored at key",
     .complexity = "O(1)", .acl = "@read @bitmap @fast", .args = "key offset"},
    {.name = "bitcount", .arity = -2, .flags = CMD_READONLY,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = bitcount_cmd, .group = "bitmap", .since = "2.6.0",
     .summary = "Count set bits in a string", .complexity = "O(N)",
     .acl = "@read @bitmap @slow", .args = "key [start end [BYTE|BIT]]"},
    {.name = "bitpos", .arity = -3, .flags = CMD_READONLY,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = bitpos_cmd, .group = "bitmap", .since = "2.8.7",
     .summary = "Find first bit set or clear in a string", .complexity = "O(N)",
     .acl = "@read @bitmap @slow", .args = "key bit [start [end [BYTE|BIT]]]"},
    {.name = "bitop", .arity = -4, .flags = CMD_WRITE | CMD_DENYOOM,
     .first_key = 2, .last_key = -1, .key_step = 1,
     .fn = bitop_cmd, .group = "bitmap", .since = "2.6.0",
     .summary = "Perform bitwise operations between strings", .complexity = "O(N)",
     .acl = "@write @bitmap @slow", .args = "operation destkey key [key ...]"},
    {.name = "bitfield", .arity = -2, .flags = CMD_WRITE | CMD_DENYOOM,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = bitfield_cmd, .group = "bitmap", .since = "3.2.0",
     .summary = "Perform arbitrary bitfield integer operations on strings",
     .complexity = "O(1) for each subcommand specified", .acl = "@write @bitmap @slow",
     .args = "key [GET encoding offset|[OVERFLOW WRAP|SAT|FAIL] SET encoding offset value|"
             "[OVERFLOW WRAP|SAT|FAIL] INCRBY encoding offset increment ...]"},
    {.name = "bitfield_ro", .arity = -2, .flags = CMD_READONLY | CMD_FAST,
     .first_key = 1, .last_key = 1, .key_step = 1,
     .fn = bitfield_ro_cmd, .group = "bitmap", .since = "6.0.0",
     .summary = "Perform arbitrary bitfield integer operations on strings. Read-only variant "
                "of BITFIELD",
     .complexity = "O(1) for each subcommand specified", .acl = "@read @bitmap @fast",
     .args = "key [GET encoding offset [GET encoding offset ...]]"},
    {0},
};
