/* snapshot: see snapshot.h and docs/decisions/0006-wal-format.md. */
#include "core/wal/snapshot.h"

#include <assert.h>
#include <string.h>
#include <xxhash.h>

#include "core/wal/le.h"

static const char *const reason_text[] = {
#define SNAP_REASON_TEXT(name, text) text,
    SNAP_REASONS(SNAP_REASON_TEXT)
#undef SNAP_REASON_TEXT
};

static const char *const reason_name[] = {
#define SNAP_REASON_NAME(name, text) #name,
    SNAP_REASONS(SNAP_REASON_NAME)
#undef SNAP_REASON_NAME
};

const char *snap_reason_text(snap_reason r)
{
    return (unsigned)r < SNAP_R__COUNT ? reason_text[r] : "?";
}

const char *snap_reason_name(snap_reason r)
{
    return (unsigned)r < SNAP_R__COUNT ? reason_name[r] : "?";
}

#define HDR_CHECKED (SNAP_HEADER - 8u)

size_t snap_begin(kbuf *out, const snap_meta *m)
{
    assert(m->config_len <= SNAP_CONFIG_MAX);
    assert(m->config_len == 0 || m->config != NULL);
    size_t start = out->len;
    unsigned char *p = (unsigned char *)kbuf_reserve(out, SNAP_HEADER);
    memcpy(p, SNAP_MAGIC, 8);
    le_put32(p + 8, SNAP_VERSION);
    le_put32(p + 12, m->group);
    le_put64(p + 16, m->index);
    le_put64(p + 24, m->term);
    le_put32(p + 32, (uint32_t)m->config_len);
    le_put32(p + 36, 0);
    le_put64(p + 40, 0);
    le_put64(p + 48, 0);
    out->len += SNAP_HEADER;
    kbuf_append(out, m->config, m->config_len);
    return start;
}

void snap_finish(kbuf *out, size_t start)
{
    assert(out->len >= start + SNAP_HEADER);
    unsigned char *p = (unsigned char *)out->data + start;
    uint32_t config_len = le_get32(p + 32);
    assert(out->len - start >= SNAP_HEADER + (size_t)config_len);
    uint64_t body_len = out->len - start - SNAP_HEADER - config_len;
    le_put64(p + 40, body_len);
    le_put64(p + 48, XXH3_64bits(p, HDR_CHECKED));
    uint64_t sum = XXH3_64bits(p, out->len - start);
    unsigned char t[SNAP_TRAILER];
    le_put64(t, sum);
    kbuf_append(out, t, sizeof t);
}

void snap_encode(kbuf *out, const snap_meta *m, const void *body, size_t body_len)
{
    size_t start = snap_begin(out, m);
    kbuf_append(out, body, body_len);
    snap_finish(out, start);
}

snap_reason snap_header_decode(const void *buf, size_t len, snap_header *h)
{
    const unsigned char *p = buf;
    if (len < SNAP_HEADER)
        return SNAP_R_SHORT;
    if (memcmp(p, SNAP_MAGIC, 8) != 0)
        return SNAP_R_BAD_MAGIC;
    if (XXH3_64bits(p, HDR_CHECKED) != le_get64(p + 48))
        return SNAP_R_BAD_HEADER_CHECKSUM;
    if (le_get32(p + 8) != SNAP_VERSION)
        return SNAP_R_BAD_VERSION;
    if (le_get32(p + 36) != 0)
        return SNAP_R_BAD_RESERVED;
    memset(h, 0, sizeof *h);
    h->group = le_get32(p + 12);
    h->index = le_get64(p + 16);
    h->term = le_get64(p + 24);
    h->config_len = le_get32(p + 32);
    h->body_len = le_get64(p + 40);
    if (h->config_len > SNAP_CONFIG_MAX)
        return SNAP_R_BAD_CONFIG_LEN;
    uint64_t fixed = (uint64_t)SNAP_HEADER + h->config_len + SNAP_TRAILER;
    if (h->body_len > UINT64_MAX - fixed)
        return SNAP_R_TRUNCATED;
    h->file_len = fixed + h->body_len;
    return SNAP_R_OK;
}

snap_reason snap_decode(const void *buf, size_t len, snap_view *out)
{
    const unsigned char *p = buf;
    snap_header h;
    snap_reason why = snap_header_decode(buf, len, &h);
    if (why != SNAP_R_OK)
        return why;
    if ((uint64_t)len < h.file_len)
        return SNAP_R_TRUNCATED;
    if ((uint64_t)len > h.file_len)
        return SNAP_R_TRAILING;
    if (XXH3_64bits(p, len - SNAP_TRAILER) != le_get64(p + len - SNAP_TRAILER))
        return SNAP_R_BAD_CHECKSUM;
    out->h = h;
    out->config = (const char *)p + SNAP_HEADER;
    out->body = (const char *)p + SNAP_HEADER + h.config_len;
    return SNAP_R_OK;
}
