#include "cmd/bench/bench.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

double bench_now(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        perror("keel-bench: clock_gettime(CLOCK_MONOTONIC)");
        exit(BENCH_EXIT_FAIL);
    }
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}
