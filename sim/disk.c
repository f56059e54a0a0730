/* sim/disk: files in memory with fsync semantics. See disk.h. */
#include "sim/disk.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sdisk_init(sdisk *d)
{
    memset(d, 0, sizeof(*d));
    d->next_id = 1;
}

void sdisk_free(sdisk *d)
{
    for (size_t i = 0; i < d->nfiles; i++) {
        kbuf_free(&d->files[i].data);
        kbuf_free(&d->files[i].durable);
    }
    free(d->files);
    free(d->pend);
    kbuf_free(&d->pbytes);
    kbuf_free(&d->snap);
    memset(d, 0, sizeof(*d));
}

/* Index of the first file whose name is >= name. */
static size_t lower_bound(const sdisk *d, const char *name)
{
    size_t lo = 0, hi = d->nfiles;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(d->files[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

sdisk_file *sdisk_find(sdisk *d, const char *name)
{
    size_t i = lower_bound(d, name);
    return i < d->nfiles && strcmp(d->files[i].name, name) == 0 ? &d->files[i] : NULL;
}

static sdisk_file *find_id(sdisk *d, uint32_t id)
{
    for (size_t i = 0; i < d->nfiles; i++)
        if (d->files[i].id == id)
            return &d->files[i];
    return NULL;
}

sdisk_file *sdisk_create(sdisk *d, const char *name)
{
    size_t i = lower_bound(d, name);
    if (i < d->nfiles && strcmp(d->files[i].name, name) == 0)
        return NULL; /* O_EXCL */
    assert(strlen(name) < SDISK_NAME_MAX);
    if (d->nfiles == d->capfiles) {
        d->capfiles = d->capfiles ? d->capfiles * 2 : 16;
        d->files = realloc(d->files, d->capfiles * sizeof(*d->files));
        if (d->files == NULL)
            abort();
    }
    memmove(&d->files[i + 1], &d->files[i], (d->nfiles - i) * sizeof(*d->files));
    d->nfiles++;
    sdisk_file *f = &d->files[i];
    memset(f, 0, sizeof(*f));
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->id = d->next_id++;
    return f;
}

/* Writes buf at offset of b, zero-filling a gap. */
static void put(kbuf *b, uint64_t offset, const void *buf, size_t len)
{
    if (offset > b->len) {
        size_t gap = (size_t)offset - b->len;
        memset(kbuf_reserve(b, gap), 0, gap);
        b->len += gap;
    }
    size_t end = (size_t)offset + len;
    if (end > b->len) {
        kbuf_reserve(b, end - b->len);
        b->len = end;
    }
    if (len)
        memcpy(b->data + offset, buf, len);
}

void sdisk_write(sdisk *d, sdisk_file *f, uint64_t offset, const void *buf, size_t len)
{
    put(&f->data, offset, buf, len);
    if (d->npend == d->cappend) {
        d->cappend = d->cappend ? d->cappend * 2 : 16;
        d->pend = realloc(d->pend, d->cappend * sizeof(*d->pend));
        if (d->pend == NULL)
            abort();
    }
    d->pend[d->npend++] = (sdisk_pending){f->id, offset, d->pbytes.len, len};
    kbuf_append(&d->pbytes, buf, len);
    d->bytes_written += len;
}

/* Drops the pending list's bytes once nothing refers to them. */
static void pend_compact(sdisk *d)
{
    if (d->npend == 0)
        kbuf_clear(&d->pbytes);
}

void sdisk_sync(sdisk *d, sdisk_file *f)
{
    size_t k = 0;
    for (size_t i = 0; i < d->npend; i++) {
        sdisk_pending *p = &d->pend[i];
        if (p->file_id == f->id)
            put(&f->durable, p->offset, d->pbytes.data + p->at, p->len);
        else
            d->pend[k++] = *p;
    }
    d->npend = k;
    pend_compact(d);
    /* A write past the durable size that was cut short by ftruncate is
     * not modelled: files here only grow between truncations. */
    f->exists_durable = true;
    d->syncs++;
}

static void drop_pending_of(sdisk *d, uint32_t id)
{
    size_t k = 0;
    for (size_t i = 0; i < d->npend; i++)
        if (d->pend[i].file_id != id)
            d->pend[k++] = d->pend[i];
    d->npend = k;
    pend_compact(d);
}

void sdisk_remove(sdisk *d, const char *name)
{
    size_t i = lower_bound(d, name);
    if (i >= d->nfiles || strcmp(d->files[i].name, name) != 0)
        return;
    drop_pending_of(d, d->files[i].id);
    kbuf_free(&d->files[i].data);
    kbuf_free(&d->files[i].durable);
    memmove(&d->files[i], &d->files[i + 1], (d->nfiles - i - 1) * sizeof(*d->files));
    d->nfiles--;
}

void sdisk_truncate(sdisk *d, const char *name, uint64_t len)
{
    if (len == 0) {
        sdisk_remove(d, name);
        return;
    }
    sdisk_file *f = sdisk_find(d, name);
    if (f == NULL)
        return;
    /* ftruncate then fsync: everything written so far is durable, cut at len. */
    sdisk_sync(d, f);
    if (f->data.len > len)
        f->data.len = (size_t)len;
    if (f->durable.len > len)
        f->durable.len = (size_t)len;
}

uint64_t sdisk_crash(sdisk *d, kprng *rng, bool tear)
{
    uint64_t total = 0, kept = 0;
    for (size_t i = 0; i < d->npend; i++)
        total += d->pend[i].len;
    if (tear && total > 0) {
        /* A prefix of the pending writes, in the order they were made. */
        uint64_t cut = kprng_below(rng, total + 1);
        for (size_t i = 0; i < d->npend && kept < cut; i++) {
            sdisk_pending *p = &d->pend[i];
            size_t n = p->len;
            if (kept + n > cut)
                n = (size_t)(cut - kept);
            sdisk_file *f = find_id(d, p->file_id);
            if (f) {
                put(&f->durable, p->offset, d->pbytes.data + p->at, n);
                f->exists_durable = true;
            }
            kept += n;
        }
    }
    d->npend = 0;
    kbuf_clear(&d->pbytes);
    /* Files whose name never became durable are gone; the rest read back
     * their durable image. */
    size_t k = 0;
    for (size_t i = 0; i < d->nfiles; i++) {
        sdisk_file *f = &d->files[i];
        if (!f->exists_durable) {
            kbuf_free(&f->data);
            kbuf_free(&f->durable);
            continue;
        }
        kbuf_clear(&f->data);
        kbuf_append(&f->data, f->durable.data, f->durable.len);
        d->files[k++] = *f;
    }
    d->nfiles = k;
    d->torn_bytes += kept;
    return kept;
}

void sdisk_flip(sdisk_file *f, uint64_t offset, unsigned bit)
{
    assert(offset < f->durable.len && bit < 8);
    f->durable.data[offset] ^= (char)(1u << bit);
    if (offset < f->data.len)
        f->data.data[offset] ^= (char)(1u << bit);
}

void sdisk_snapshot_put(sdisk *d, const void *buf, size_t len, uint64_t index, uint64_t term)
{
    kbuf_clear(&d->snap);
    kbuf_append(&d->snap, buf, len);
    d->has_snap = true;
    d->snap_index = index;
    d->snap_term = term;
}
