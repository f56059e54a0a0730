/* Placeholder: the list commands land with their implementation. */
#include "core/cmd/cmd.h"

const cmd_def cmd_list[] = {
    {0},
};
