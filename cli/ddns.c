/*
 * ddns - the DDNS command-line tool: one program, one subcommand per job.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

static const struct ddns_command commands[] = {
	{"sim", "run the protocol code under the network simulator", ddns_cmd_sim},
	{"keygen", "make a DNSSEC key pair (BIND key files)", ddns_cmd_keygen},
	{"sign", "sign a zone file (NSEC chain and RRSIGs)", ddns_cmd_sign},
	{"delegate", "make a child's DS RRset signed by the parent key", ddns_cmd_delegate},
	{"verify", "validate signed zone files from a trust anchor", ddns_cmd_verify},
	{"publish", "sign a zone and insert its RRsets through a node", ddns_cmd_publish},
	{"lookup", "look an RRset up through a node: answer, RPCs, hops", ddns_cmd_lookup},
	{"status", "a node's rings, neighbours and blocks (and wait for them)", ddns_cmd_status},
	{"testbed", "run a local network of ddnsd nodes, publish, query, compare", ddns_cmd_testbed},
};

static void usage(FILE *fp)
{
	fprintf(fp, "usage: ddns COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(fp, "\n'ddns COMMAND --help' describes each command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("ddns %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "ddns: unknown command '%s' (try 'ddns --help')\n", argv[1]);
	return 2;
}
