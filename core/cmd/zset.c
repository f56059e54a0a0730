/* Placeholder: the zset commands land with their implementation. */
#include "core/cmd/cmd.h"

const cmd_def cmd_zset[] = {
    {0},
};
