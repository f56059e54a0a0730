/* keel-server: one keel node on libuv.
 *
 *     keel-server [config-file] [--directive value ...]
 *
 * Directives use Redis's names; a flag overrides the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/config.h"
#include "io/log.h"
#include "io/server.h"

int main(int argc, char **argv)
{
    io_server_opts opts;
    io_server_opts_default(&opts);
    keel_config cfg;
    char err[512];
    if (!keel_config_load(&cfg, argc, argv, &opts, err, sizeof(err))) {
        fprintf(stderr, "\n*** FATAL CONFIG ERROR (keel) ***\n%s\n", err);
        return 1;
    }
    opts.config_file = cfg.file;
    int code = io_server_run(&opts);
    keel_config_free(&cfg);
    return code;
}
