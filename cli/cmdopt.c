/* cmdopt.c - the shared options of the node client commands (cli/cmdopt.h). */
#include "cli/cmdopt.h"

#include <stdio.h>
#include <stdlib.h>

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
