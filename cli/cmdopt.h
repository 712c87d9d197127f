/*
 * cmdopt.h - what the node client commands (ddns publish, lookup, status)
 * parse alike, and how they reach the node: one place for the option rules
 * and the messages, so the commands agree.
 *
 * Every function prints its one-line error as "ddns CMD: ..." on standard
 * error and returns 2 (the usage exit status) on bad input.
 */
#ifndef DDNS_CLI_CMDOPT_H
#define DDNS_CLI_CMDOPT_H

#include <stdint.h>

struct ddns_client;

/* --timeout SECONDS: a number in (0, 86400]. 0 or 2. */
int cmd_opt_timeout(const char *cmd, const char *arg, double *seconds);

/* --overlay NAME: chord or kad16, as its wire id. 0 or 2. */
int cmd_opt_overlay(const char *cmd, const char *arg, uint8_t *wire);

/* --node is required: 0 when given, else 2. */
int cmd_need_node(const char *cmd, const char *node);

/* Connect to the node at addr (ADDR:PORT) with a per-request timeout. NULL
 * after printing why. */
struct ddns_client *cmd_connect(const char *cmd, const char *addr, unsigned timeout_ms);

#endif
