/*
 * cmdopt.h - what the ddns commands parse alike (options by table, the
 * timeout and overlay rules), and how the node client commands (publish,
 * lookup, status) reach the node: one place for the option rules and the
 * messages, so the commands agree.
 *
 * Every function prints its one-line error as "ddns CMD: ..." on standard
 * error and returns 2 (the usage exit status) on bad input.
 */
#ifndef DDNS_CLI_CMDOPT_H
#define DDNS_CLI_CMDOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ddns_client;

/*
 * A command's options as a table, parsed by cmd_parse: each entry names a
 * long option (and optionally a short letter) and where its value goes.
 * --help (-h) is always there.
 */
enum cmd_opt_kind {
	CMD_STR,     /* const char **: the argument */
	CMD_STRS,    /* struct cmd_strs *: repeatable, at most max */
	CMD_BOOL,    /* bool *: set to val (no argument) */
	CMD_INT,     /* int *: set to val (no argument) */
	CMD_LONG,    /* long *: an integer in [min, max] */
	CMD_UINT,    /* unsigned *: an integer in [min, max] */
	CMD_ULONG,   /* unsigned long *: an integer in [min, max] */
	CMD_U64,     /* uint64_t *: any unsigned number */
	CMD_SECONDS, /* double *: a number in (0, max] */
	CMD_TIMEOUT, /* double *: cmd_opt_timeout */
	CMD_OVERLAY, /* uint8_t *: cmd_opt_overlay */
	CMD_CALL,    /* fn(cmd, arg, dst): 0, or 2 after its own message */
};

struct cmd_strs {
	const char **v; /* room for max */
	size_t n, max;
};

struct cmd_opt {
	const char *name;
	char letter; /* short option, or 0 */
	enum cmd_opt_kind kind;
	void *dst;
	long val, min, max; /* CMD_BOOL/CMD_INT: val; the ranges: min, max */
	int (*fn)(const char *cmd, const char *arg, void *dst);
};

/* Table entries: an option with a destination; a flag storing v; an
 * integer option in [lo, hi]. */
#define CMD_O(name, letter, kind, dst) {(name), (letter), (kind), (dst), 0, 0, 0, NULL}
#define CMD_FLAG(name, letter, kind, dst, v) {(name), (letter), (kind), (dst), (v), 0, 0, NULL}
#define CMD_RANGE(name, letter, dst, lo, hi) {(name), (letter), CMD_LONG, (dst), 0, (lo), (hi), NULL}
#define CMD_RANGE_K(name, kind, dst, lo, hi) {(name), 0, (kind), (dst), 0, (lo), (hi), NULL}
#define CMD_CALL_O(name, fn, dst) {(name), 0, CMD_CALL, (dst), 0, 0, 0, (fn)}

/*
 * Parse argv against opts[0..n) for "ddns cmd". A range error reads "ddns
 * cmd: --name must be MIN..MAX". Returns 0 with optind at the first operand; 1 after printing usage(stdout) for --help; 2 after a
 * one-line error (and usage(stderr) for an unknown option). At most 32
 * options.
 */
int cmd_parse(const char *cmd, int argc, char **argv, const struct cmd_opt *opts, size_t n,
	      void (*usage)(FILE *));

/* The exit status for cmd_parse's result r (nonzero): 0 after --help. */
static inline int cmd_parse_exit(int r) { return r == 1 ? 0 : 2; }

/* --timeout SECONDS: a number in (0, 86400]. 0 or 2. */
int cmd_opt_timeout(const char *cmd, const char *arg, double *seconds);

/* --overlay NAME: chord or kad16, as its wire id. 0 or 2. */
int cmd_opt_overlay(const char *cmd, const char *arg, uint8_t *wire);

/* --node is required: 0 when given, else 2. */
int cmd_need_node(const char *cmd, const char *node);

/* Connect to the node at addr (ADDR:PORT) with a per-request timeout. NULL
 * after printing why. */
struct ddns_client *cmd_connect(const char *cmd, const char *addr, unsigned timeout_ms);

/* Seconds on the monotonic clock, for commands that time what they do. */
double cmd_now_s(void);

#endif
