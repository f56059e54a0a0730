/* afl_driver: a main() for LLVMFuzzerTestOneInput targets under AFL++.
 *
 *   fuzz-resp-afl                 one input from stdin; built by afl-clang-fast
 *                                 and run by afl-fuzz it is a persistent-mode,
 *                                 shared-memory target (__AFL_LOOP).
 *   fuzz-resp-afl PATH...         replay: every PATH that is a file, and every
 *                                 regular file directly inside a PATH that is a
 *                                 directory, is run once. Exits 1 if a path
 *                                 cannot be read or nothing was replayed.
 *
 * A property violation in the target aborts the process, which both afl-fuzz
 * and a test runner see as a crash. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef __AFL_HAVE_MANUAL_CONTROL
__AFL_FUZZ_INIT();
#endif

/* Reads all of f into a fresh, exactly sized buffer. */
static uint8_t *read_all(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return NULL;
    for (;;) {
        if (n == cap) {
            cap *= 2;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        return NULL;
    }
    /* Exact size, so a read past the end of the input is caught by ASan. */
    uint8_t *exact = malloc(n ? n : 1);
    if (exact && n)
        memcpy(exact, buf, n);
    free(buf);
    *len = n;
    return exact;
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    size_t len = 0;
    uint8_t *data = read_all(f, &len);
    fclose(f);
    if (!data) {
        fprintf(stderr, "%s: cannot read\n", path);
        return -1;
    }
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return 0;
}

static int replay(int argc, char **argv)
{
    long ran = 0;
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            bad = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) == 0)
                ran++;
            else
                bad = 1;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            perror(argv[i]);
            bad = 1;
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            size_t pl = strlen(argv[i]) + 1 + strlen(e->d_name) + 1;
            char *path = malloc(pl);
            if (!path) {
                bad = 1;
                break;
            }
            snprintf(path, pl, "%s/%s", argv[i], e->d_name);
            struct stat fst;
            if (stat(path, &fst) == 0 && S_ISREG(fst.st_mode)) {
                if (run_file(path) == 0)
                    ran++;
                else
                    bad = 1;
            }
            free(path);
        }
        closedir(d);
    }
    fprintf(stderr, "afl_driver: replayed %ld inputs\n", ran);
    if (ran == 0) {
        fprintf(stderr, "afl_driver: nothing to replay\n");
        return 1;
    }
    return bad;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        return replay(argc, argv);

#ifdef __AFL_HAVE_MANUAL_CONTROL
    __AFL_INIT();
    unsigned char *buf = __AFL_FUZZ_TESTCASE_BUF; /* after __AFL_INIT, before __AFL_LOOP */
    while (__AFL_LOOP(10000)) {
        int len = __AFL_FUZZ_TESTCASE_LEN; /* not used directly in a call, per AFL++ docs */
        if (len < 0)
            continue;
        /* The target copies what it parses, so the shared buffer can be
         * passed as it is. */
        LLVMFuzzerTestOneInput(buf, (size_t)len);
    }
    return 0;
#else
    size_t len = 0;
    uint8_t *data = read_all(stdin, &len);
    if (!data) {
        fprintf(stderr, "stdin: cannot read\n");
        return 1;
    }
    LLVMFuzzerTestOneInput(data, len);
    free(data);
    return 0;
#endif
}
