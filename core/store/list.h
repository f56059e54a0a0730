/* klist: the list type's value (a sequence of binary-safe strings), a
 * chunked deque in the spirit of Redis's quicklist.
 *
 * A doubly linked list of nodes; each node holds up to a bounded number of
 * elements in one compact buffer, each element written as
 *     [len, LEB128][bytes][len, LEB128 read backwards]
 * so a node can be walked from either end (as a listpack). The list keeps
 * its length and node count, each node its element count and byte size, so
 * LINDEX/LSET/LINSERT reach an index by skipping whole nodes from the
 * nearer end and then walking inside one node from its nearer end.
 *
 * How full a node may get is the list's `fill`, Redis's
 * list-max-listpack-size taken when the list was created (as Redis does):
 * a negative fill -1..-5 limits a node to 4, 8, 16, 32 or 64 KiB; a
 * positive one limits it to that many elements (and 8 KiB, Redis's safety
 * limit); 0 puts each element in its own node. An element larger than the
 * limit gets a node of its own. Values outside [-5, 32768] are clamped.
 *
 * The encoding is always ENC_QUICKLIST: Redis 7.0 has no listpack list
 * encoding (7.2 added it), and OBJECT ENCODING answers "quicklist" for every
 * list there.
 *
 * A klist never moves: writes change it in place, so a klist pointer stays
 * valid across writes to the db (the entry holding it may move). Views
 * (const char * + length) returned by reads point into the list and are
 * valid until its next write. Nothing depends on addresses. */
#ifndef KEEL_CORE_STORE_LIST_H
#define KEEL_CORE_STORE_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct klist klist;

/* Ends of a list (Redis's LIST_HEAD / LIST_TAIL). */
enum { KLIST_HEAD = 0, KLIST_TAIL = 1 };

/* An empty list whose nodes follow fill (list-max-listpack-size). */
klist *klist_new(long long fill);
void klist_free(klist *l);
/* A deep copy (same fill, same node layout). */
klist *klist_dup(const klist *l);

size_t klist_len(const klist *l);
int klist_enc(const klist *l); /* ENC_QUICKLIST */
int klist_fill(const klist *l);
size_t klist_node_count(const klist *l);

/* Adds an element at the head or the tail. p must not point into l. */
void klist_push(klist *l, int where, const char *p, size_t n);

/* The element at idx (negative: from the tail, -1 is the last); false if
 * out of range. */
bool klist_index(const klist *l, long long idx, const char **p, size_t *n);

/* Inserts an element so that it gets index idx (0 <= idx <= len). */
void klist_insert(klist *l, size_t idx, const char *p, size_t n);

/* Replaces the element at idx (negative from the tail); false if out of
 * range. p must not point into l. */
bool klist_set(klist *l, long long idx, const char *p, size_t n);

/* Removes count elements from index start on (0 <= start, start + count <=
 * len). The list may become empty: the owner deletes the key then. */
void klist_del_range(klist *l, size_t start, size_t count);

/* LREM: removes the elements equal to (p, n), at most |count| of them
 * (0: all), from the head (count >= 0) or from the tail (count < 0).
 * Returns how many were removed. p must not point into l. */
size_t klist_rem(klist *l, const char *p, size_t n, long long count);

/* An iterator over the elements from an index towards the tail
 * (KLIST_TAIL) or the head (KLIST_HEAD). The list must not change while
 * it is used. */
typedef struct klist_iter {
    const void *node;
    size_t off;
    int dir;
} klist_iter;

/* Starts at idx (negative from the tail); an index out of range gives an
 * iterator that yields nothing. */
void klist_iter_init(klist_iter *it, const klist *l, long long idx, int dir);
bool klist_iter_next(klist_iter *it, const char **p, size_t *n);

/* Calls fn on every element, head to tail. fn must not change the list. */
typedef void klist_each_fn(void *ctx, const char *p, size_t n);
void klist_for_each(const klist *l, klist_each_fn *fn, void *ctx);

/* Checks the invariants (links, counts, sizes, entry framing in both
 * directions, no empty node, node limits). For tests and fuzzers. */
bool klist_check(const klist *l);

#endif
