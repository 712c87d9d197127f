/*
 * commands.h - the subcommands of the ddns tool. Each takes argc/argv with
 * argv[0] the subcommand name and returns the process exit status.
 */
#ifndef DDNS_CLI_COMMANDS_H
#define DDNS_CLI_COMMANDS_H

#include "config.h"

struct ddns_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

int ddns_cmd_sim(int argc, char **argv);
int ddns_cmd_keygen(int argc, char **argv);
int ddns_cmd_sign(int argc, char **argv);
int ddns_cmd_delegate(int argc, char **argv);
int ddns_cmd_verify(int argc, char **argv);
/* Clients of a running node (cli/client.h). */
int ddns_cmd_publish(int argc, char **argv);
int ddns_cmd_lookup(int argc, char **argv);
int ddns_cmd_status(int argc, char **argv);
/* A local network of ddnsd processes (cli/ddns_testbed.c). */
int ddns_cmd_testbed(int argc, char **argv);

#endif
