/* klist: see list.h. */
#include "core/store/list.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "core/store/db.h"
#include "core/store/types.h"

/* Redis's SIZE_SAFETY_LIMIT for count-limited nodes, and its fill bounds. */
#define NODE_SAFETY_LIMIT 8192
#define FILL_MAX (1 << 15)
#define FILL_MIN (-5)

typedef struct lnode {
    struct lnode *prev, *next;
    unsigned char *buf;
    size_t bytes, cap;
    size_t count;
} lnode;

struct klist {
    lnode *head, *tail;
    size_t len;
    size_t nnodes;
    int fill;
};

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (p == NULL)
        abort();
    return p;
}

/* ------------------------------------------------------------------------ */
/* Entry framing */

static size_t vsz(size_t n)
{
    size_t s = 1;
    while (n >= 128) {
        n >>= 7;
        s++;
    }
    return s;
}

static size_t ent_size(size_t n) { return n + 2 * vsz(n); }

/* Writes the entry at b; returns its size. */
static size_t put_entry(unsigned char *b, const char *p, size_t n)
{
    size_t s = vsz(n);
    for (size_t i = 0; i < s; i++)
        b[i] = (unsigned char)(((n >> (7 * i)) & 127) | (i + 1 < s ? 128 : 0));
    if (n)
        memcpy(b + s, p, n);
    unsigned char *end = b + s + n + s;
    for (size_t i = 0; i < s; i++)
        end[-1 - (ptrdiff_t)i] = (unsigned char)(((n >> (7 * i)) & 127) | (i + 1 < s ? 128 : 0));
    return n + 2 * s;
}

/* Reads the entry starting at b: its data and total size. */
static size_t get_entry(const unsigned char *b, const char **p, size_t *n)
{
    size_t v = 0, i = 0;
    for (;;) {
        unsigned char c = b[i];
        v |= (size_t)(c & 127) << (7 * i);
        i++;
        if (!(c & 128))
            break;
    }
    *p = (const char *)b + i;
    *n = v;
    return v + 2 * i;
}

/* The size of the entry that ends at end. */
static size_t back_size(const unsigned char *end)
{
    size_t v = 0, i = 0;
    for (;;) {
        unsigned char c = end[-1 - (ptrdiff_t)i];
        v |= (size_t)(c & 127) << (7 * i);
        i++;
        if (!(c & 128))
            break;
    }
    return v + 2 * i;
}

/* ------------------------------------------------------------------------ */
/* Nodes */

static lnode *node_new(void)
{
    lnode *n = xmalloc(sizeof(*n));
    memset(n, 0, sizeof(*n));
    return n;
}

static void node_free(lnode *n)
{
    free(n->buf);
    free(n);
}

/* May a node that holds `bytes` bytes in `count` entries take sz more? */
static bool fits(const klist *l, size_t count, size_t bytes, size_t sz)
{
    if (count == 0)
        return true;
    if (l->fill >= 0) {
        if (count >= (size_t)l->fill)
            return false;
        return bytes + sz <= NODE_SAFETY_LIMIT;
    }
    return bytes + sz <= ((size_t)4096 << (-l->fill - 1));
}

static bool node_allows(const klist *l, const lnode *n, size_t sz)
{
    return fits(l, n->count, n->bytes, sz);
}

static void node_reserve(lnode *n, size_t extra)
{
    size_t need = n->bytes + extra;
    if (need <= n->cap)
        return;
    size_t cap = n->cap ? n->cap : 64;
    while (cap < need)
        cap = cap * 2 > cap ? cap * 2 : need;
    n->buf = xrealloc(n->buf, cap);
    n->cap = cap;
}

/* Gives the buffer back when it is mostly empty. */
static void node_shrink(lnode *n)
{
    if (n->cap > 256 && n->bytes < n->cap / 4) {
        size_t cap = n->bytes < 64 ? 64 : n->bytes;
        n->buf = xrealloc(n->buf, cap);
        n->cap = cap;
    }
}

static void node_insert_at(lnode *n, size_t off, const char *p, size_t len)
{
    size_t sz = ent_size(len);
    node_reserve(n, sz);
    memmove(n->buf + off + sz, n->buf + off, n->bytes - off);
    put_entry(n->buf + off, p, len);
    n->bytes += sz;
    n->count++;
}

/* Removes `cnt` entries covering [off, off + sz). */
static void node_remove(lnode *n, size_t off, size_t sz, size_t cnt)
{
    memmove(n->buf + off, n->buf + off + sz, n->bytes - off - sz);
    n->bytes -= sz;
    n->count -= cnt;
    node_shrink(n);
}

/* The offset of entry i (0 <= i <= count: count gives the end), walking
 * from the nearer end of the node. */
static size_t node_offset(const lnode *n, size_t i)
{
    if (i <= n->count / 2) {
        size_t off = 0;
        const char *p;
        size_t len;
        while (i--)
            off += get_entry(n->buf + off, &p, &len);
        return off;
    }
    size_t off = n->bytes;
    for (size_t k = n->count; k > i; k--)
        off -= back_size(n->buf + off);
    return off;
}

static void link_after(klist *l, lnode *at, lnode *n)
{
    n->prev = at;
    n->next = at ? at->next : l->head;
    if (n->next)
        n->next->prev = n;
    else
        l->tail = n;
    if (at)
        at->next = n;
    else
        l->head = n;
    l->nnodes++;
}

static void unlink_node(klist *l, lnode *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        l->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        l->tail = n->prev;
    l->nnodes--;
    node_free(n);
}

/* The node holding element idx (0 <= idx < len) and its position there,
 * skipping whole nodes from the nearer end of the list. */
static lnode *find(const klist *l, size_t idx, size_t *pos)
{
    if (idx < l->len / 2) {
        lnode *n = l->head;
        while (idx >= n->count) {
            idx -= n->count;
            n = n->next;
        }
        *pos = idx;
        return n;
    }
    size_t back = l->len - 1 - idx; /* elements after idx */
    lnode *n = l->tail;
    while (back >= n->count) {
        back -= n->count;
        n = n->prev;
    }
    *pos = n->count - 1 - back;
    return n;
}

/* Normalizes a Redis index (negative from the tail); false if out of range. */
static bool norm_index(const klist *l, long long idx, size_t *out)
{
    if (idx < 0) {
        if ((unsigned long long)-(idx + 1) >= l->len)
            return false;
        *out = l->len - (size_t)(-(idx + 1)) - 1;
        return true;
    }
    if ((unsigned long long)idx >= l->len)
        return false;
    *out = (size_t)idx;
    return true;
}

/* ------------------------------------------------------------------------ */
/* The list */

klist *klist_new(long long fill)
{
    klist *l = xmalloc(sizeof(*l));
    memset(l, 0, sizeof(*l));
    if (fill > FILL_MAX)
        fill = FILL_MAX;
    if (fill < FILL_MIN)
        fill = FILL_MIN;
    l->fill = (int)fill;
    return l;
}

void klist_free(klist *l)
{
    if (l == NULL)
        return;
    lnode *n = l->head;
    while (n) {
        lnode *next = n->next;
        node_free(n);
        n = next;
    }
    free(l);
}

klist *klist_dup(const klist *l)
{
    klist *d = klist_new(l->fill);
    for (const lnode *n = l->head; n; n = n->next) {
        lnode *c = node_new();
        c->buf = xmalloc(n->bytes);
        memcpy(c->buf, n->buf, n->bytes);
        c->bytes = c->cap = n->bytes;
        c->count = n->count;
        link_after(d, d->tail, c);
    }
    d->len = l->len;
    return d;
}

size_t klist_len(const klist *l) { return l->len; }
int klist_enc(const klist *l)
{
    (void)l;
    return ENC_QUICKLIST;
}
int klist_fill(const klist *l) { return l->fill; }
size_t klist_node_count(const klist *l) { return l->nnodes; }

void klist_push(klist *l, int where, const char *p, size_t n)
{
    size_t sz = ent_size(n);
    lnode *node = where == KLIST_HEAD ? l->head : l->tail;
    if (node == NULL || !node_allows(l, node, sz)) {
        lnode *fresh = node_new();
        link_after(l, where == KLIST_HEAD ? NULL : l->tail, fresh);
        node = fresh;
    }
    node_insert_at(node, where == KLIST_HEAD ? 0 : node->bytes, p, n);
    l->len++;
}

bool klist_index(const klist *l, long long idx, const char **p, size_t *n)
{
    size_t i, pos;
    if (!norm_index(l, idx, &i))
        return false;
    lnode *node = find(l, i, &pos);
    get_entry(node->buf + node_offset(node, pos), p, n);
    return true;
}

void klist_insert(klist *l, size_t idx, const char *p, size_t n)
{
    if (idx == 0) {
        klist_push(l, KLIST_HEAD, p, n);
        return;
    }
    if (idx >= l->len) {
        klist_push(l, KLIST_TAIL, p, n);
        return;
    }
    size_t sz = ent_size(n), pos;
    lnode *node = find(l, idx, &pos);
    l->len++;
    if (node_allows(l, node, sz)) {
        node_insert_at(node, node_offset(node, pos), p, n);
        return;
    }
    if (pos == 0) {
        /* At a node's start: the end of the previous node, or a new node
         * between the two. */
        lnode *prev = node->prev;
        if (prev && node_allows(l, prev, sz)) {
            node_insert_at(prev, prev->bytes, p, n);
        } else {
            lnode *fresh = node_new();
            link_after(l, prev, fresh);
            node_insert_at(fresh, 0, p, n);
        }
        return;
    }
    /* Split the node before pos: [0, pos) stays, [pos, count) moves. */
    size_t off = node_offset(node, pos);
    lnode *right = node_new();
    right->bytes = right->cap = node->bytes - off;
    right->buf = xmalloc(right->bytes);
    memcpy(right->buf, node->buf + off, right->bytes);
    right->count = node->count - pos;
    node->bytes = off;
    node->count = pos;
    node_shrink(node);
    link_after(l, node, right);
    if (node_allows(l, node, sz)) {
        node_insert_at(node, node->bytes, p, n);
    } else if (node_allows(l, right, sz)) {
        node_insert_at(right, 0, p, n);
    } else {
        lnode *fresh = node_new();
        link_after(l, node, fresh);
        node_insert_at(fresh, 0, p, n);
    }
}

bool klist_set(klist *l, long long idx, const char *p, size_t n)
{
    size_t i, pos;
    if (!norm_index(l, idx, &i))
        return false;
    lnode *node = find(l, i, &pos);
    size_t off = node_offset(node, pos);
    const char *old;
    size_t oldn;
    size_t oldsz = get_entry(node->buf + off, &old, &oldn);
    size_t sz = ent_size(n);
    if (fits(l, node->count - 1, node->bytes - oldsz, sz)) {
        if (sz > oldsz)
            node_reserve(node, sz - oldsz);
        memmove(node->buf + off + sz, node->buf + off + oldsz, node->bytes - off - oldsz);
        put_entry(node->buf + off, p, n);
        node->bytes = node->bytes - oldsz + sz;
        if (sz < oldsz)
            node_shrink(node);
        return true;
    }
    /* It no longer fits here (the node keeps other elements). */
    klist_del_range(l, i, 1);
    klist_insert(l, i, p, n);
    return true;
}

void klist_del_range(klist *l, size_t start, size_t count)
{
    if (count == 0 || start >= l->len)
        return;
    if (count > l->len - start)
        count = l->len - start;
    size_t pos;
    lnode *node = find(l, start, &pos);
    l->len -= count;
    while (count) {
        lnode *next = node->next;
        size_t k = node->count - pos;
        if (k > count)
            k = count;
        if (pos == 0 && k == node->count) {
            unlink_node(l, node);
        } else {
            size_t off = node_offset(node, pos);
            size_t end = off;
            const char *p;
            size_t n;
            for (size_t j = 0; j < k; j++)
                end += get_entry(node->buf + end, &p, &n);
            node_remove(node, off, end - off, k);
        }
        count -= k;
        node = next;
        pos = 0;
    }
}

static bool ent_eq(const unsigned char *b, const char *p, size_t n, size_t *sz)
{
    const char *q;
    size_t m;
    *sz = get_entry(b, &q, &m);
    return m == n && (n == 0 || memcmp(q, p, n) == 0);
}

size_t klist_rem(klist *l, const char *p, size_t n, long long count)
{
    size_t removed = 0;
    unsigned long long limit = count < 0 ? 0ULL - (unsigned long long)count : (unsigned long long)count;
    if (count >= 0) {
        lnode *node = l->head;
        while (node) {
            lnode *next = node->next;
            size_t off = 0;
            while (off < node->bytes) {
                size_t sz;
                if (ent_eq(node->buf + off, p, n, &sz)) {
                    memmove(node->buf + off, node->buf + off + sz, node->bytes - off - sz);
                    node->bytes -= sz;
                    node->count--;
                    l->len--;
                    removed++;
                    if (limit && removed == limit)
                        break;
                } else {
                    off += sz;
                }
            }
            if (node->count == 0)
                unlink_node(l, node);
            else
                node_shrink(node);
            if (limit && removed == limit)
                break;
            node = next;
        }
        return removed;
    }
    lnode *node = l->tail;
    while (node) {
        lnode *prev = node->prev;
        size_t end = node->bytes;
        while (end > 0) {
            size_t start = end - back_size(node->buf + end), sz;
            if (ent_eq(node->buf + start, p, n, &sz)) {
                memmove(node->buf + start, node->buf + end, node->bytes - end);
                node->bytes -= sz;
                node->count--;
                l->len--;
                removed++;
                if (removed == limit)
                    break;
            }
            end = start;
        }
        if (node->count == 0)
            unlink_node(l, node);
        else
            node_shrink(node);
        if (removed == limit)
            break;
        node = prev;
    }
    return removed;
}

/* ------------------------------------------------------------------------ */
/* Iteration */

void klist_iter_init(klist_iter *it, const klist *l, long long idx, int dir)
{
    size_t i, pos;
    it->dir = dir;
    it->node = NULL;
    it->off = 0;
    if (!norm_index(l, idx, &i))
        return;
    lnode *node = find(l, i, &pos);
    it->node = node;
    /* Forward: the entry's start; backward: its end. */
    it->off = node_offset(node, dir == KLIST_TAIL ? pos : pos + 1);
}

bool klist_iter_next(klist_iter *it, const char **p, size_t *n)
{
    const lnode *node = it->node;
    if (node == NULL)
        return false;
    if (it->dir == KLIST_TAIL) {
        it->off += get_entry(node->buf + it->off, p, n);
        if (it->off >= node->bytes) {
            it->node = node->next;
            it->off = 0;
        }
        return true;
    }
    size_t start = it->off - back_size(node->buf + it->off);
    get_entry(node->buf + start, p, n);
    it->off = start;
    if (start == 0) {
        it->node = node->prev;
        it->off = node->prev ? node->prev->bytes : 0;
    }
    return true;
}

void klist_for_each(const klist *l, klist_each_fn *fn, void *ctx)
{
    for (const lnode *node = l->head; node; node = node->next) {
        size_t off = 0;
        while (off < node->bytes) {
            const char *p;
            size_t n;
            off += get_entry(node->buf + off, &p, &n);
            fn(ctx, p, n);
        }
    }
}

bool klist_check(const klist *l)
{
    size_t len = 0, nodes = 0;
    const lnode *prev = NULL;
    for (const lnode *node = l->head; node; node = node->next) {
        if (node->prev != prev || node->count == 0 || node->bytes > node->cap)
            return false;
        size_t off = 0, cnt = 0, bytes_before_last = 0;
        while (off < node->bytes) {
            const char *p;
            size_t n;
            size_t sz = get_entry(node->buf + off, &p, &n);
            if (off + sz > node->bytes || back_size(node->buf + off + sz) != sz)
                return false;
            bytes_before_last = off;
            off += sz;
            cnt++;
        }
        if (off != node->bytes || cnt != node->count)
            return false;
        /* A node past its limit holds only what it may: one oversized
         * element, or elements that fitted when added. */
        if (cnt > 1 && !fits(l, cnt - 1, bytes_before_last, node->bytes - bytes_before_last))
            return false;
        len += cnt;
        nodes++;
        prev = node;
    }
    return prev == l->tail && len == l->len && nodes == l->nnodes &&
           (l->head == NULL) == (l->len == 0);
}

/* ------------------------------------------------------------------------ */
/* obj_ops and the snapshot codec */

static void list_free_op(void *o) { klist_free(o); }
static void *list_dup_op(const void *o) { return klist_dup(o); }
static size_t list_len_op(const void *o) { return klist_len(o); }

const obj_ops list_obj_ops = {.free = list_free_op, .dup = list_dup_op, .len = list_len_op};

static void pack_elem(void *ctx, const char *p, size_t n)
{
    msgpack_packer *pk = ctx;
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, p, n);
}

/* [fill, [element, ...]] */
static void list_pack(msgpack_packer *pk, const kentry *e)
{
    const klist *l = kentry_obj(e);
    msgpack_pack_array(pk, 2);
    msgpack_pack_int64(pk, klist_fill(l));
    msgpack_pack_array(pk, klist_len(l));
    klist_for_each(l, pack_elem, pk);
}

static void *list_unpack(const msgpack_object *v, int enc, uint64_t seed, int *enc_out,
                         const char **err)
{
    (void)seed;
    if (enc != ENC_QUICKLIST && enc != ENC_LISTPACK) {
        *err = "a list has an unknown encoding";
        return NULL;
    }
    if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size != 2) {
        *err = "a list value is not a 2-element array";
        return NULL;
    }
    const msgpack_object *f = &v->via.array.ptr[0], *els = &v->via.array.ptr[1];
    long long fill;
    if (f->type == MSGPACK_OBJECT_POSITIVE_INTEGER && f->via.u64 <= FILL_MAX)
        fill = (long long)f->via.u64;
    else if (f->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && f->via.i64 >= FILL_MIN)
        fill = f->via.i64;
    else {
        *err = "a list's fill is not a valid integer";
        return NULL;
    }
    if (els->type != MSGPACK_OBJECT_ARRAY || els->via.array.size == 0) {
        *err = "a list value is not a non-empty array";
        return NULL;
    }
    klist *l = klist_new(fill);
    for (uint32_t i = 0; i < els->via.array.size; i++) {
        const msgpack_object *o = &els->via.array.ptr[i];
        if (o->type == MSGPACK_OBJECT_BIN) {
            klist_push(l, KLIST_TAIL, o->via.bin.ptr, o->via.bin.size);
        } else if (o->type == MSGPACK_OBJECT_STR) {
            klist_push(l, KLIST_TAIL, o->via.str.ptr, o->via.str.size);
        } else {
            klist_free(l);
            *err = "a list element is not binary";
            return NULL;
        }
    }
    *enc_out = ENC_QUICKLIST;
    return l;
}

const type_codec list_codec = {.pack = list_pack, .unpack = list_unpack};
