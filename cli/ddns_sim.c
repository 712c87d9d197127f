#include <stdio.h>

#include "cli/commands.h"

int ddns_cmd_sim(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ddns sim: not built yet\n");
	return 1;
}
