/* ftm-lakehouse maintenance check (cmd_check.c). */
#ifndef LH_CLI_CMD_CHECK_H
#define LH_CLI_CMD_CHECK_H

#include "cli.h"

int lh_cmd_check(lh_cli *cli, int argc, char **argv);

#endif
