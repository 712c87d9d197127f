/*
 * ddns status - ask a running node how it is: per overlay instance, its
 * routing state, neighbours and blocks. With --wait-routing, poll until the
 * node's routing state is as large as asked (scripts wait for a stable ring
 * with this instead of sleeping).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/client.h"
#include "cli/cmdopt.h"
#include "cli/commands.h"
#include "overlay/overlay.h"

static void status_usage(FILE *f)
{
	fprintf(f,
		"usage: ddns status --node ADDR:PORT [--wait-routing N] [--wait-blocks N]\n"
		"                   [--timeout SECONDS] [--json] [--quiet]\n"
		"\n"
		"Prints the node's overlay instances: routing state size, replica-set\n"
		"size, blocks stored (primary, replica) and cached, lookup figures.\n"
		"  --node ADDR:PORT   the node's --listen address\n"
		"  --wait-routing N   wait until every overlay instance knows >= N nodes\n"
		"  --wait-blocks N    wait until the node stores >= N blocks per overlay\n"
		"                     (primary + replica, summed over its vnodes)\n"
		"  --timeout S        give up waiting after S seconds (default 30);\n"
		"                     exit status 1 then\n"
		"  --json             one JSON object instead of the table\n"
		"  --quiet            print nothing; the exit status tells\n");
}

static bool satisfied(const struct cli_status *st, long routing, long blocks)
{
	if (st->ninst == 0)
		return false;
	for (size_t i = 0; i < st->ninst; i++)
		if (routing >= 0 && st->inst[i].routing_size < (unsigned long)routing)
			return false;
	if (blocks >= 0) {
		unsigned long per[256] = {0};
		for (size_t i = 0; i < st->ninst; i++)
			per[st->inst[i].overlay] +=
				st->inst[i].blocks_primary + st->inst[i].blocks_replica;
		for (size_t i = 0; i < st->ninst; i++)
			if (per[st->inst[i].overlay] < (unsigned long)blocks)
				return false;
	}
	return true;
}

static void print_status(const char *node, const struct cli_status *st, bool json)
{
	if (json) {
		printf("{\"node\":\"%s\",\"uptime_s\":%u,\"dns_port\":%u,\"replicas\":%u,"
		       "\"instances\":[",
		       node, st->uptime_s, st->dns_port, st->replicas);
		for (size_t i = 0; i < st->ninst; i++) {
			const struct cli_inst *x = &st->inst[i];
			printf("%s{\"overlay\":\"%s\",\"vnode\":%u,\"routing_size\":%u,"
			       "\"neighbours\":%u,\"blocks_primary\":%u,\"blocks_replica\":%u,"
			       "\"blocks_cache\":%u,\"lookups\":%llu,\"lookup_rpcs\":%llu,"
			       "\"lookup_hops\":%llu,\"gets\":%llu,\"gets_ok\":%llu,\"puts\":%llu,"
			       "\"puts_ok\":%llu,\"forged_served\":%llu}",
			       i ? "," : "", ovl_wire_name(x->overlay), x->vnode, x->routing_size,
			       x->neighbours, x->blocks_primary, x->blocks_replica,
			       x->blocks_cache, (unsigned long long)x->lookups,
			       (unsigned long long)x->lookup_rpcs,
			       (unsigned long long)x->lookup_hops, (unsigned long long)x->gets,
			       (unsigned long long)x->gets_ok, (unsigned long long)x->puts,
			       (unsigned long long)x->puts_ok,
			       (unsigned long long)x->forged_served);
		}
		printf("]}\n");
		return;
	}
	printf("node %s: up %us, replicas %u, gateway %s", node, st->uptime_s, st->replicas,
	       st->dns_port ? "" : "off");
	if (st->dns_port)
		printf("port %u", st->dns_port);
	printf("\n%-7s %5s %7s %10s %8s %8s %8s %9s %10s %9s\n", "overlay", "vnode", "routing",
	       "neighbours", "primary", "replica", "cache", "lookups", "rpcs/look", "hops/look");
	for (size_t i = 0; i < st->ninst; i++) {
		const struct cli_inst *x = &st->inst[i];
		double l = x->lookups ? (double)x->lookups : 1.0;
		printf("%-7s %5u %7u %10u %8u %8u %8u %9llu %10.2f %9.2f\n", ovl_wire_name(x->overlay),
		       x->vnode, x->routing_size, x->neighbours, x->blocks_primary,
		       x->blocks_replica, x->blocks_cache, (unsigned long long)x->lookups,
		       (double)x->lookup_rpcs / l, (double)x->lookup_hops / l);
		if (x->forged_served)
			printf("        (test-forge: %llu altered values served)\n",
			       (unsigned long long)x->forged_served);
	}
}

int ddns_cmd_status(int argc, char **argv)
{
	const char *node = NULL;
	long routing = -1, blocks = -1;
	double timeout = 30;
	bool json = false, quiet = false;
	const struct cmd_opt opts[] = {
		CMD_O("node", 0, CMD_STR, &node),
		CMD_RANGE("wait-routing", 0, &routing, 0, 100000),
		CMD_RANGE("wait-blocks", 0, &blocks, 0, 100000),
		CMD_O("timeout", 0, CMD_TIMEOUT, &timeout), CMD_FLAG("json", 0, CMD_BOOL, &json, 1),
		CMD_FLAG("quiet", 0, CMD_BOOL, &quiet, 1),
	};
	int pr = cmd_parse("status", argc, argv, opts, sizeof(opts) / sizeof(*opts), status_usage);
	if (pr)
		return cmd_parse_exit(pr);
	if (cmd_need_node("status", node))
		return 2;
	if (optind != argc) {
		fprintf(stderr, "ddns status: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	bool waiting = routing >= 0 || blocks >= 0;
	/* While waiting, each request may take at most a second, so a node
	 * that is still starting is asked again soon. */
	unsigned per_req = waiting ? 1000 : (unsigned)(timeout * 1000);
	struct ddns_client *cl = cmd_connect("status", node, per_req);
	if (!cl)
		return 2;
	struct cli_status *st = calloc(1, sizeof(*st));
	int ret = 1;
	if (!st) {
		fprintf(stderr, "ddns status: out of memory\n");
		goto out;
	}
	double deadline = cmd_now_s() + timeout;
	int rc;
	for (;;) {
		rc = ddns_client_status(cl, st);
		if (rc == 0 && (!waiting || satisfied(st, routing, blocks)))
			break;
		if (cmd_now_s() >= deadline)
			break;
		if (waiting) {
			struct timespec pause = {0, 100 * 1000 * 1000};
			nanosleep(&pause, NULL); /* poll interval, not a wait for a condition */
		}
		if (!waiting)
			break;
	}
	if (rc != 0) {
		fprintf(stderr, "ddns status: node %s: %s\n", node, ddns_strerror(rc));
		goto out;
	}
	if (!quiet)
		print_status(node, st, json);
	if (waiting && !satisfied(st, routing, blocks)) {
		fprintf(stderr, "ddns status: node %s: condition not met within %.0f s\n", node,
			timeout);
		goto out;
	}
	ret = 0;
out:
	free(st);
	ddns_client_free(cl);
	return ret;
}
