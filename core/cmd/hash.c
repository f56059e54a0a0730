/* The hash command family: placeholder table, filled by its issue work. */
#include "core/cmd/cmd.h"

const cmd_def cmd_hash[] = {
    {0},
};
