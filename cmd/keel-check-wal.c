/* keel-check-wal: checks a keel write-ahead log, as redis-check-aof does an
 * AOF, and cuts a torn tail when asked.
 *
 *     keel-check-wal [--fix [--force-truncate-corrupt]] [--verbose] [--group N] PATH...
 *
 * PATH: a directory (its *.wal files) or segment files; all of them are one
 * log, taken in name order. The scan is core/wal's recovery scan, the same
 * the server runs at start-up, one segment in memory at a time.
 *
 * Exit status: 0 the log is clean (or was fixed), 1 a torn tail (where, and
 * how many bytes a fix would cut), 2 corruption (file, offset, index,
 * reason), 3 a usage or I/O error.
 *
 * --fix cuts a torn tail only, after saving the cut bytes to
 * <segment>.torn (or .torn.1, ...); a torn segment header removes the file
 * (saved the same way). Corruption is refused unless
 * --force-truncate-corrupt is given too: then the log is cut at the damage,
 * every later segment is removed, and everything cut is saved to
 * <segment>.corrupt first. After a fix the log is checked again and the exit
 * status is that of the second check. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/wal/wal.h"
#include "io/persist.h"

#define EXIT_USAGE 3

typedef struct options {
    bool fix;
    bool force;
    bool verbose;
    uint64_t group;
} options;

static void usage(FILE *out)
{
    fputs("usage: keel-check-wal [--fix [--force-truncate-corrupt]] [--verbose] [--group N] "
          "PATH...\n"
          "\n"
          "Checks a keel write-ahead log: PATH is a directory of segments (*.wal) or\n"
          "segment files, taken together in name order as one log.\n"
          "\n"
          "  --verbose                 print every segment and record\n"
          "  --group N                 the log must belong to Raft group N\n"
          "  --fix                     cut a torn tail (the cut bytes go to <segment>.torn)\n"
          "  --force-truncate-corrupt  with --fix: cut the log at corruption too, removing\n"
          "                            later segments (everything cut goes to <segment>.corrupt)\n"
          "\n"
          "exit status: 0 clean, 1 torn tail, 2 corrupt, 3 usage or I/O error\n",
          out);
}

/* ------------------------------------------------------------------------ */
/* Segment files                                                            */

typedef struct seg_path {
    char *path;
    const char *base; /* inside path */
} seg_path;

typedef struct seg_list {
    seg_path *v;
    size_t n, cap;
} seg_list;

static void add_path(seg_list *l, const char *path)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v) {
            perror("keel-check-wal");
            exit(EXIT_USAGE);
        }
    }
    char *p = strdup(path);
    if (!p) {
        perror("keel-check-wal");
        exit(EXIT_USAGE);
    }
    const char *slash = strrchr(p, '/');
    l->v[l->n].path = p;
    l->v[l->n].base = slash ? slash + 1 : p;
    l->n++;
}

static int by_base(const void *a, const void *b)
{
    const seg_path *x = a, *y = b;
    int c = strcmp(x->base, y->base);
    return c ? c : strcmp(x->path, y->path);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Adds PATH: a directory's *.wal regular files, or the file itself. */
static bool collect(seg_list *l, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "keel-check-wal: %s: %s\n", path, strerror(errno));
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        add_path(l, path);
        return true;
    }
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "keel-check-wal: %s: %s\n", path, strerror(errno));
        return false;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!ends_with(e->d_name, ".wal"))
            continue;
        size_t n = strlen(path) + 1 + strlen(e->d_name) + 1;
        char *full = malloc(n);
        if (!full) {
            perror("keel-check-wal");
            exit(EXIT_USAGE);
        }
        snprintf(full, n, "%s/%s", path, e->d_name);
        struct stat fst;
        if (stat(full, &fst) == 0 && S_ISREG(fst.st_mode))
            add_path(l, full);
        free(full);
    }
    closedir(d);
    return true;
}

/* Reads a whole file. Returns false (and says why) on error. */
static bool read_file(const char *path, char **data, size_t *len)
{
    int e = persist_read_file(path, data, len);
    if (e)
        fprintf(stderr, "keel-check-wal: %s: %s\n", path, strerror(e));
    return e == 0;
}

/* ------------------------------------------------------------------------ */
/* The check                                                                */

typedef struct tally {
    bool verbose;
    uint64_t records, entries, hard_states, marks, replacements;
    uint64_t min_term, max_term;
} tally;

static void on_record(void *ctx, const wal_record *r, const wal_visit *v)
{
    tally *t = ctx;
    t->records++;
    if (wal_type_is_entry(r->type)) {
        t->entries++;
        if (t->min_term == 0 || r->term < t->min_term)
            t->min_term = r->term;
        if (r->term > t->max_term)
            t->max_term = r->term;
        if (v->effect.drop_from)
            t->replacements++;
    } else if (r->type == WAL_HARD_STATE) {
        t->hard_states++;
    } else {
        t->marks++;
    }
    if (!t->verbose)
        return;
    if (r->type == WAL_HARD_STATE)
        printf("  @%-10" PRIu64 " %-13s term %" PRIu64 " vote %" PRIu64 " group %" PRIu32
               " payload %zu\n",
               v->offset, wal_type_name(r->type), r->term, r->vote, r->group, r->payload_len);
    else
        printf("  @%-10" PRIu64 " %-13s index %" PRIu64 " term %" PRIu64 " group %" PRIu32
               " payload %zu%s%s\n",
               v->offset, wal_type_name(r->type), r->index, r->term, r->group, r->payload_len,
               v->effect.drop_from && !v->effect.reset ? " (replaces the entries from here)" : "",
               v->effect.reset ? " (discards the log before it)" : "");
}

typedef struct outcome {
    wal_status status;
    wal_result res;
    uint64_t seg_size; /* of the segment the verdict is about */
    bool io_error;
} outcome;

static outcome check(const seg_list *l, const options *o)
{
    outcome out;
    memset(&out, 0, sizeof out);
    tally t;
    memset(&t, 0, sizeof t);
    t.verbose = o->verbose;
    wal_recovery rc;
    wal_recovery_init(&rc, o->group);
    wal_status st = WAL_OK;
    size_t scanned = 0;
    for (size_t i = 0; i < l->n && st == WAL_OK; i++) {
        char *data;
        size_t len;
        if (!read_file(l->v[i].path, &data, &len)) {
            out.io_error = true;
            break;
        }
        size_t before = rc.infos.len / sizeof(wal_segment_info);
        if (o->verbose)
            printf("%s (%zu bytes)\n", l->v[i].path, len);
        st = wal_recovery_segment(&rc, l->v[i].base, data, len, i + 1 == l->n, on_record, &t);
        scanned++;
        size_t ni;
        const wal_segment_info *infos = wal_recovery_infos(&rc, &ni);
        if (o->verbose && ni > before) {
            const wal_segment_info *s = &infos[ni - 1];
            struct stat fst;
            uint64_t size = stat(l->v[i].path, &fst) == 0 ? (uint64_t)fst.st_size : len;
            bool zeros = st == WAL_OK && s->valid_len < size;
            printf("  seq %" PRIu64 ", first index %" PRIu64 ", prev term %" PRIu64
                   ", group %" PRIu32 "%s: %" PRIu64 " records, %" PRIu64 " of %" PRIu64
                   " bytes valid%s\n",
                   s->h.seq, s->h.first_index, s->h.prev_term, s->h.group,
                   (s->h.flags & WAL_SEG_MARK) ? ", begins with a snapshot mark" : "", s->records,
                   s->valid_len, size, zeros ? ", the rest zeros (preallocated, not written)" : "");
        }
        if (st != WAL_OK)
            out.seg_size = len;
        free(data);
    }
    out.status = st;
    out.res = rc.res;
    if (out.io_error) {
        wal_recovery_free(&rc);
        return out;
    }

    const wal_log *log = &rc.log;
    printf("segments: %zu", l->n);
    if (l->n)
        printf(" (%s .. %s)", l->v[0].base, l->v[l->n - 1].base);
    printf("\n");
    if (rc.started)
        printf("group: %" PRIu32 "\n", log->group);
    printf("records: %" PRIu64 " (%" PRIu64 " entries, %" PRIu64 " hard states, %" PRIu64
           " snapshot marks; %" PRIu64 " entries replaced a conflicting tail)\n",
           t.records, t.entries, t.hard_states, t.marks, t.replacements);
    if (rc.started && log->last >= log->first)
        printf("log: indexes %" PRIu64 "..%" PRIu64 ", last term %" PRIu64
               "; entries seen with terms %" PRIu64 "..%" PRIu64 "\n",
               log->first, log->last, wal_log_last_term(log), t.min_term, t.max_term);
    else if (rc.started)
        printf("log: empty, next index %" PRIu64 " (the entry before it has term %" PRIu64 ")\n",
               log->first, log->base_term);
    else
        printf("log: none\n");
    if (rc.started && log->has_hard_state)
        printf("hard state: term %" PRIu64 ", vote %" PRIu64 "\n", log->hs_term, log->hs_vote);
    else
        printf("hard state: none\n");

    const wal_result *r = &rc.res;
    const char *file = l->n ? l->v[r->segment].path : "-";
    switch (st) {
    case WAL_OK:
        printf("status: OK\n");
        break;
    case WAL_TORN_TAIL:
        printf("status: TORN_TAIL in %s at offset %" PRIu64 " (expected index %" PRIu64
               "): %s; %" PRIu64 " bytes would be cut%s\n",
               file, r->offset, r->expected_index, wal_reason_text(r->reason),
               out.seg_size - r->valid_len,
               r->valid_len == 0 ? " (the whole file: its header is torn)" : "");
        break;
    case WAL_CORRUPT:
        printf("status: CORRUPT in %s at offset %" PRIu64 ", expected index %" PRIu64 ": %s "
               "(%s)",
               file, r->offset, r->expected_index, wal_reason_text(r->reason),
               wal_reason_name(r->reason));
        if (r->has_record) {
            if (r->rec_type == WAL_HARD_STATE)
                printf("; the record: %s term %" PRIu64 " vote %" PRIu64,
                       wal_type_name(r->rec_type), r->rec_term, r->rec_index);
            else
                printf("; the record: %s index %" PRIu64 " term %" PRIu64,
                       wal_type_name(r->rec_type), r->rec_index, r->rec_term);
        }
        if (r->found_offset)
            printf("; a valid record follows at offset %" PRIu64, r->found_offset);
        if (scanned < l->n)
            printf("; %zu later segment(s) not checked", l->n - scanned);
        printf("\n");
        break;
    }
    wal_recovery_free(&rc);
    return out;
}

/* ------------------------------------------------------------------------ */
/* Fixing                                                                   */

/* The directory path is in (for the syncs that make a new name or a
 * removal durable). */
static void dir_of(const char *path, char out[PATH_MAX])
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof(copy), "%s", path);
    snprintf(out, PATH_MAX, "%s", dirname(copy));
}

/* Saves bytes [from, end) of path to a new file path<suffix>[.N] and syncs
 * it. Prints where; returns false on any error. */
static bool save_tail(const char *path, uint64_t from, const char *suffix)
{
    char dir[PATH_MAX], saved[PATH_MAX] = "";
    uint64_t bytes = 0;
    dir_of(path, dir);
    int e = persist_save_tail(dir, path, from, suffix, saved, &bytes);
    if (e)
        fprintf(stderr, "keel-check-wal: saving %s%s: %s\n", path, suffix, strerror(e));
    else
        printf("saved %" PRIu64 " bytes of %s to %s\n", bytes, path, saved);
    return e == 0;
}

/* Cuts path to len bytes (0: removes it). */
static bool cut(const char *path, uint64_t len)
{
    char dir[PATH_MAX];
    dir_of(path, dir);
    int e = persist_cut_file(dir, path, len);
    if (e)
        fprintf(stderr, "keel-check-wal: %s %s: %s\n", len ? "cutting" : "removing", path,
                strerror(e));
    else if (len == 0)
        printf("removed %s\n", path);
    else
        printf("cut %s to %" PRIu64 " bytes\n", path, len);
    return e == 0;
}

static bool fix_torn(const seg_list *l, const outcome *o)
{
    const char *path = l->v[o->res.segment].path;
    return save_tail(path, o->res.valid_len, ".torn") && cut(path, o->res.valid_len);
}

static bool fix_corrupt(const seg_list *l, const outcome *o)
{
    size_t k = o->res.segment;
    /* Save everything first, then cut from the newest back, so a crash in
     * the middle leaves a prefix of the log. */
    for (size_t j = k; j < l->n; j++)
        if (!save_tail(l->v[j].path, j == k ? o->res.offset : 0, ".corrupt"))
            return false;
    for (size_t j = l->n; j-- > k + 1;)
        if (!cut(l->v[j].path, 0))
            return false;
    /* Damage in the header (offset 0) takes the whole file. */
    return cut(l->v[k].path, o->res.offset);
}

/* ------------------------------------------------------------------------ */

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    options o = {false, false, false, WAL_GROUP_ANY};
    seg_list l = {NULL, 0, 0};
    int npaths = 0;
    bool ok = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--fix") == 0) {
            o.fix = true;
        } else if (strcmp(a, "--force-truncate-corrupt") == 0) {
            o.force = true;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            o.verbose = true;
        } else if (strcmp(a, "--group") == 0) {
            uint64_t g;
            if (i + 1 >= argc || !parse_u64(argv[i + 1], &g) || g > UINT32_MAX) {
                fprintf(stderr, "keel-check-wal: --group needs a number up to %" PRIu32 "\n",
                        UINT32_MAX);
                return EXIT_USAGE;
            }
            o.group = g;
            i++;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "keel-check-wal: unknown option %s\n", a);
            usage(stderr);
            return EXIT_USAGE;
        } else {
            npaths++;
            ok = collect(&l, a) && ok;
        }
    }
    if (npaths == 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (o.force && !o.fix) {
        fprintf(stderr, "keel-check-wal: --force-truncate-corrupt goes with --fix\n");
        return EXIT_USAGE;
    }
    if (!ok)
        return EXIT_USAGE;
    qsort(l.v, l.n, sizeof *l.v, by_base);

    outcome out = check(&l, &o);
    int code = out.io_error ? EXIT_USAGE : (int)out.status;
    if (!out.io_error && o.fix && out.status != WAL_OK) {
        bool fixed = false;
        if (out.status == WAL_TORN_TAIL) {
            fixed = fix_torn(&l, &out);
        } else if (!o.force) {
            printf("not fixed: corruption is not cut without --force-truncate-corrupt (which "
                   "saves what it cuts to <segment>.corrupt and loses every record from the "
                   "damage on)\n");
        } else {
            fixed = fix_corrupt(&l, &out);
        }
        if (fixed) {
            /* Check again what is left. */
            seg_list l2 = {NULL, 0, 0};
            for (size_t i = 0; i < l.n; i++)
                if (access(l.v[i].path, F_OK) == 0)
                    add_path(&l2, l.v[i].path);
            printf("after the fix:\n");
            outcome again = check(&l2, &o);
            code = again.io_error ? EXIT_USAGE : (int)again.status;
            for (size_t i = 0; i < l2.n; i++)
                free(l2.v[i].path);
            free(l2.v);
        } else if (out.status == WAL_TORN_TAIL || o.force) {
            code = EXIT_USAGE;
        }
    } else if (!out.io_error && out.status == WAL_TORN_TAIL) {
        printf("run with --fix to cut the torn tail (the cut bytes are saved to <segment>.torn)\n");
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].path);
    free(l.v);
    return code;
}
