/* fuzz_raft_msg: property fuzzer for the Raft message decoder
 * (core/raft/msg.h), what a node runs on every byte a peer sends.
 *
 * Built as a libFuzzer target (fuzz-raft-msg) and, with afl_driver.c, as an
 * AFL++ target (fuzz-raft-msg-afl). See docs/fuzzing.md.
 *
 * Input: the bytes of one message, decoded as they are (no mode byte).
 * Seeds are written by fuzz/gen_raft_msg_corpus.py.
 *
 * Properties (a violation prints a report and aborts):
 *  M1 rf_msg_decode returns NULL or a non-empty reason; a refusal leaves
 *     the message zeroed and the scratch empty.
 *  M2 A decoded message is valid: type 1..RF_MSG_TYPE_MAX, from and to
 *     non-zero, entry types 1..3, the config's ids non-zero, ascending,
 *     disjoint and RF_MAX_MEMBERS at most; its data and every entry's data
 *     lie inside the input; the entries array is the scratch's and no
 *     bigger than the input could hold (6 bytes an entry).
 *  M3 Re-encoding a decoded message gives bytes that decode to the same
 *     message, field by field (payloads compared by content), and that
 *     re-encode to the same bytes (the encoding is canonical: shortest
 *     forms, so never longer than the input).
 *  M4 The re-encoding cut short by one byte, or cut where the input's hash
 *     says, is refused; with a byte appended it is refused.
 * Plus ASan/UBSan: the input and every re-encoding are decoded from exact
 * allocations, so a read past the end is caught. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/raft/msg.h"
#include "core/util/kbuf.h"
#include "fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const char *__ubsan_default_options(void);
const char *__ubsan_default_options(void)
{
    return "halt_on_error=1:print_stacktrace=1";
}

/* ------------------------------------------------------------------------ */

static bool inside(const void *p, size_t n, const unsigned char *buf, size_t len)
{
    const unsigned char *q = p;
    return q != NULL && q >= buf && q <= buf + len && n <= (size_t)(buf + len - q);
}

static bool bytes_eq(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

static bool is_zero(const rf_msg *m)
{
    static const rf_msg zero;
    return memcmp(m, &zero, sizeof zero) == 0;
}

static void check_ids(const rf_id *ids, uint32_t n)
{
    CHECK(n <= RF_MAX_MEMBERS);
    for (uint32_t i = 0; i < n; i++) {
        CHECK(ids[i] != 0);
        CHECK(i == 0 || ids[i] > ids[i - 1]);
    }
}

/* M1 and M2 for one decode of buf[0..len). */
static const char *decode_checked(rf_msg *m, const unsigned char *buf, size_t len, kbuf *scratch)
{
    const char *why = rf_msg_decode(m, buf, len, scratch);
    if (why != NULL) {
        CHECK(why[0] != '\0');
        CHECK(is_zero(m));
        CHECK(scratch->len == 0);
        return why;
    }
    CHECK(m->type >= 1 && m->type <= RF_MSG_TYPE_MAX);
    CHECK(m->from != 0 && m->to != 0);
    CHECK(inside(m->data, m->len, buf, len));
    const rf_config *c = &m->snap_config;
    check_ids(c->voters, c->nvoters);
    check_ids(c->learners, c->nlearners);
    CHECK(c->nvoters + c->nlearners <= RF_MAX_MEMBERS);
    for (uint32_t i = 0; i < c->nvoters; i++)
        for (uint32_t j = 0; j < c->nlearners; j++)
            CHECK(c->voters[i] != c->learners[j]);
    CHECK(m->nentries <= RF_MSG_MAX_ENTRIES);
    CHECK((m->entries == NULL) == (m->nentries == 0));
    CHECK((size_t)m->nentries * 6 <= len);
    if (m->nentries) {
        CHECK((const char *)m->entries == scratch->data);
        CHECK(scratch->len == (size_t)m->nentries * sizeof(rf_entry));
    }
    for (uint32_t i = 0; i < m->nentries; i++) {
        const rf_entry *e = &m->entries[i];
        CHECK(e->type >= RF_ENTRY_NORMAL && e->type <= RF_ENTRY_CONFIG);
        CHECK(inside(e->data, e->len, buf, len));
    }
    return NULL;
}

/* M3: the two decodes agree, field by field. */
static void check_equal(const rf_msg *a, const rf_msg *b)
{
    CHECK(a->type == b->type);
    CHECK(a->from == b->from && a->to == b->to);
    CHECK(a->term == b->term);
    CHECK(a->last_index == b->last_index && a->last_term == b->last_term);
    CHECK(a->transfer == b->transfer && a->reject == b->reject);
    CHECK(a->prev_index == b->prev_index && a->prev_term == b->prev_term);
    CHECK(a->commit == b->commit);
    CHECK(a->index == b->index);
    CHECK(a->hint_index == b->hint_index && a->hint_term == b->hint_term);
    CHECK(a->ctx == b->ctx);
    CHECK(a->sent_ms == b->sent_ms);
    CHECK(a->snap_index == b->snap_index && a->snap_term == b->snap_term);
    CHECK(a->snap_config.nvoters == b->snap_config.nvoters);
    CHECK(a->snap_config.nlearners == b->snap_config.nlearners);
    for (uint32_t i = 0; i < a->snap_config.nvoters; i++)
        CHECK(a->snap_config.voters[i] == b->snap_config.voters[i]);
    for (uint32_t i = 0; i < a->snap_config.nlearners; i++)
        CHECK(a->snap_config.learners[i] == b->snap_config.learners[i]);
    CHECK(a->offset == b->offset && a->total == b->total);
    CHECK(a->done == b->done);
    CHECK(a->len == b->len);
    CHECK(bytes_eq(a->data, b->data, a->len));
    CHECK(a->nentries == b->nentries);
    for (uint32_t i = 0; i < a->nentries; i++) {
        const rf_entry *x = &a->entries[i], *y = &b->entries[i];
        CHECK(x->index == y->index && x->term == y->term && x->type == y->type);
        CHECK(x->len == y->len);
        CHECK(bytes_eq(x->data, y->data, x->len));
    }
}

/* M4: a damaged copy of enc is refused. */
static void check_refused(const kbuf *enc, size_t len, bool extra, kbuf *scratch)
{
    unsigned char *b = malloc(len + 1);
    CHECK(b != NULL);
    memcpy(b, enc->data, len < enc->len ? len : enc->len);
    if (extra)
        b[len] = 0;
    rf_msg m;
    CHECK(decode_checked(&m, b, len + (extra ? 1 : 0), scratch) != NULL);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Reused across inputs, as a connection reuses its own. */
    static kbuf scratch1, scratch2, scratch3;
    static kbuf enc1, enc2;
    fuzz_input_begin(data, size);

    unsigned char *in = dup_exact(data, size);
    rf_msg m1;
    if (decode_checked(&m1, in, size, &scratch1) == NULL) {
        kbuf_clear(&enc1);
        rf_msg_encode(&m1, &enc1);
        CHECK(enc1.len <= size);
        unsigned char *again = dup_exact(enc1.data, enc1.len);
        rf_msg m2;
        CHECK(decode_checked(&m2, again, enc1.len, &scratch2) == NULL);
        check_equal(&m1, &m2);
        kbuf_clear(&enc2);
        rf_msg_encode(&m2, &enc2);
        CHECK(enc2.len == enc1.len && memcmp(enc2.data, enc1.data, enc1.len) == 0);

        uint64_t h = 1469598103934665603ULL;
        for (size_t i = 0; i < size; i++)
            h = (h ^ data[i]) * 1099511628211ULL;
        check_refused(&enc1, enc1.len - 1, false, &scratch3);
        check_refused(&enc1, (size_t)(h % enc1.len), false, &scratch3);
        check_refused(&enc1, enc1.len, true, &scratch3);
        free(again);
    }
    free(in);
    fuzz_input_end();
    return 0;
}
