/* Placeholder: the set commands land with their implementation. */
#include "core/cmd/cmd.h"

const cmd_def cmd_set[] = {
    {0},
};
