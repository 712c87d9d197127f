/* cmdopt.c - the shared options of the node client commands (cli/cmdopt.h). */
#include "cli/cmdopt.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/client.h"
#include "overlay/overlay.h"

int cmd_opt_timeout(const char *cmd, const char *arg, double *seconds)
{
	char *end;
	double v = strtod(arg, &end);
	if (end == arg || *end || !(v > 0) || v > 86400) {
		fprintf(stderr, "ddns %s: bad --timeout '%s' (seconds, at most 86400)\n", cmd, arg);
		return 2;
	}
	*seconds = v;
	return 0;
}

int cmd_opt_overlay(const char *cmd, const char *arg, uint8_t *wire)
{
	const struct ovl_ops *ops = ovl_ops_by_name(arg);
	if (!ops) {
		fprintf(stderr, "ddns %s: unknown overlay '%s' (chord or kad16)\n", cmd, arg);
		return 2;
	}
	*wire = ovl_ops_wire_id(ops);
	return 0;
}

int cmd_need_node(const char *cmd, const char *node)
{
	if (node)
		return 0;
	fprintf(stderr, "ddns %s: --node ADDR:PORT is required\n", cmd);
	return 2;
}

struct ddns_client *cmd_connect(const char *cmd, const char *addr, unsigned timeout_ms)
{
	char err[256];
	struct ddns_client *c = ddns_client_new(addr, timeout_ms, err, sizeof(err));
	if (!c)
		fprintf(stderr, "ddns %s: %s\n", cmd, err);
	return c;
}

#define CMD_OPTS_MAX 32

static int one_opt(const char *cmd, const struct cmd_opt *o, const char *arg)
{
	switch (o->kind) {
	case CMD_STR:
		*(const char **)o->dst = arg;
		return 0;
	case CMD_STRS: {
		struct cmd_strs *l = o->dst;
		if (l->n == l->max) {
			fprintf(stderr, "ddns %s: at most %zu --%s\n", cmd, l->max, o->name);
			return 2;
		}
		l->v[l->n++] = arg;
		return 0;
	}
	case CMD_BOOL:
		*(bool *)o->dst = o->val != 0;
		return 0;
	case CMD_INT:
		*(int *)o->dst = (int)o->val;
		return 0;
	case CMD_LONG:
	case CMD_UINT:
	case CMD_ULONG: {
		char *end;
		errno = 0;
		long v = strtol(arg, &end, 10);
		if (end == arg || *end || errno || v < o->min || v > o->max) {
			fprintf(stderr, "ddns %s: --%s must be %ld..%ld, not '%s'\n", cmd, o->name,
				o->min, o->max, arg);
			return 2;
		}
		if (o->kind == CMD_LONG)
			*(long *)o->dst = v;
		else if (o->kind == CMD_UINT)
			*(unsigned *)o->dst = (unsigned)v;
		else
			*(unsigned long *)o->dst = (unsigned long)v;
		return 0;
	}
	case CMD_U64: {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(arg, &end, 10);
		if (!*arg || *end || errno || arg[0] == '-') {
			fprintf(stderr, "ddns %s: --%s must be a number, not '%s'\n", cmd, o->name,
				arg);
			return 2;
		}
		*(uint64_t *)o->dst = v;
		return 0;
	}
	case CMD_SECONDS: {
		char *end;
		double v = strtod(arg, &end);
		if (end == arg || *end || !(v > 0) || v > (double)o->max) {
			fprintf(stderr, "ddns %s: --%s must be a positive number of seconds, at most %ld\n",
				cmd, o->name, o->max);
			return 2;
		}
		*(double *)o->dst = v;
		return 0;
	}
	case CMD_CALL:
		return o->fn(cmd, arg, o->dst);
	case CMD_TIMEOUT:
		return cmd_opt_timeout(cmd, arg, o->dst);
	case CMD_OVERLAY:
		return cmd_opt_overlay(cmd, arg, o->dst);
	}
	return 2;
}

int cmd_parse(const char *cmd, int argc, char **argv, const struct cmd_opt *opts, size_t n,
	      void (*usage)(FILE *))
{
	struct option lo[CMD_OPTS_MAX + 2];
	char shorts[3 * CMD_OPTS_MAX + 2];
	size_t ns = 0;
	if (n > CMD_OPTS_MAX)
		return 2;
	for (size_t i = 0; i < n; i++) {
		bool arg = opts[i].kind != CMD_BOOL && opts[i].kind != CMD_INT;
		lo[i] = (struct option){opts[i].name, arg ? required_argument : no_argument, NULL,
					256 + (int)i};
		if (opts[i].letter) {
			shorts[ns++] = opts[i].letter;
			if (arg)
				shorts[ns++] = ':';
		}
	}
	lo[n] = (struct option){"help", no_argument, NULL, 'h'};
	lo[n + 1] = (struct option){NULL, 0, NULL, 0};
	shorts[ns++] = 'h';
	shorts[ns] = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 1;
		}
		size_t i = n;
		if (c >= 256)
			i = (size_t)(c - 256);
		else
			for (size_t j = 0; j < n && i == n; j++)
				if (opts[j].letter == c)
					i = j;
		if (i >= n) {
			usage(stderr);
			return 2;
		}
		if (one_opt(cmd, &opts[i], optarg))
			return 2;
	}
	return 0;
}

double cmd_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
