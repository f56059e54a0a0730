/* keel-bench: keel's benchmark tool.
 *
 *     keel-bench <subcommand> [options]
 *
 * Each benchmark is a subcommand in the table below; a new one (engine,
 * server, ...) is a file under cmd/bench/, its two functions declared in
 * cmd/bench/bench.h, and a row here. External scripts run `keel-bench resp`,
 * so names, once added, stay. */
#include <stdio.h>
#include <string.h>

#include "cmd/bench/bench.h"

static void help_usage(FILE *out);
static int help_main(int argc, char **argv);

static const bench_subcommand subcommands[] = {
    {"resp", "RESP2 request parsing: keel's parser against hiredis's reader",
     bench_resp_usage, bench_resp_main},
    {"engine", "the command engine in process, and bytes per key next to redis-server",
     bench_engine_usage, bench_engine_main},
    {"collections", "bytes per element of lists, sets and sorted sets next to redis-server",
     bench_collections_usage, bench_collections_main},
    {"help", "this text; `keel-bench help <subcommand>` for one subcommand",
     help_usage, help_main},
};

#define N_SUBCOMMANDS (sizeof subcommands / sizeof subcommands[0])

static const bench_subcommand *find_subcommand(const char *name)
{
    for (size_t i = 0; i < N_SUBCOMMANDS; i++)
        if (strcmp(subcommands[i].name, name) == 0)
            return &subcommands[i];
    return NULL;
}

static void usage(FILE *out)
{
    fputs("usage: keel-bench <subcommand> [options]\n"
          "\n"
          "subcommands:\n",
          out);
    for (size_t i = 0; i < N_SUBCOMMANDS; i++)
        fprintf(out, "  %-11s %s\n", subcommands[i].name, subcommands[i].summary);
    fputs("\n", out);
    for (size_t i = 0; i < N_SUBCOMMANDS; i++) {
        if (subcommands[i].usage == help_usage)
            continue;
        subcommands[i].usage(out);
    }
}

static void help_usage(FILE *out)
{
    fputs("usage: keel-bench help [subcommand]\n", out);
}

static int help_main(int argc, char **argv)
{
    if (argc <= 1) {
        usage(stdout);
        return BENCH_EXIT_OK;
    }
    const bench_subcommand *sc = find_subcommand(argv[1]);
    if (sc == NULL || argc > 2) {
        fprintf(stderr, "keel-bench help: unknown subcommand '%s'\n\n", argv[1]);
        usage(stderr);
        return BENCH_EXIT_USAGE;
    }
    sc->usage(stdout);
    return BENCH_EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return BENCH_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return BENCH_EXIT_OK;
    }
    const bench_subcommand *sc = find_subcommand(argv[1]);
    if (sc == NULL) {
        fprintf(stderr, "keel-bench: unknown subcommand '%s'\n\n", argv[1]);
        usage(stderr);
        return BENCH_EXIT_USAGE;
    }
    return sc->run(argc - 1, argv + 1);
}
