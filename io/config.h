/* io/config: keel-server's configuration, as Redis reads its own.
 *
 * A redis.conf-style file (`directive value ...` per line, `#` comments,
 * quoting as Redis's sdssplitargs) and `--directive value ...` flags that
 * override it, with Redis's directive names. A bad directive or value stops
 * start-up with the file (or flag), the line and the reason. */
#ifndef KEEL_IO_CONFIG_H
#define KEEL_IO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "io/server.h"

typedef struct keel_config {
    char *file;        /* the config file, NULL if none */
    char *strings[256]; /* owned strings the options point into */
    int nstrings;
} keel_config;

/* Fills opts from argv (argv[1] may be a file; then --directive value...).
 * On error returns false with a message in err. */
bool keel_config_load(keel_config *cfg, int argc, char **argv, io_server_opts *opts, char *err,
                      size_t errlen);
void keel_config_free(keel_config *cfg);

/* CONFIG REWRITE: rewrites file with e's current parameters. Lines of
 * parameters CONFIG knows get their current value (duplicates dropped);
 * other lines stay; parameters the file lacks are appended when they
 * differ from their value in `defaults` (an engine with the built-in
 * values). Written to a temporary file, synced, renamed, directory synced. */
bool keel_config_rewrite(const char *file, engine *e, engine *defaults, char *err, size_t errlen);

/* Redis's memtoull: "512mb", "1gb", "100k", plain bytes. */
bool config_parse_memory(const char *s, unsigned long long *out);

#endif
