/*
 * ddns lookup - fetch one RRset through a node, the way the gateway does
 * (dht_get: validated against the node's trust anchor), and print it like
 * dig, followed by the figures of the lookup: overlay, RPCs, hops, source.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmdopt.h"
#include "cli/commands.h"
#include "overlay/overlay.h"
#include "dns/block.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/zonefile.h"

static void lookup_usage(FILE *f)
{
	fprintf(f,
		"usage: ddns lookup --node ADDR:PORT [--overlay kad16|chord] [--local]\n"
		"                   [--chain] [--timeout S] NAME [TYPE]\n"
		"\n"
		"Looks the RRset <NAME, TYPE> (default type A) up in the DHT through the\n"
		"node, which validates it, and prints it like dig, then the overlay, the\n"
		"RPCs and hops the lookup took and where the block came from.\n"
		"  --node ADDR:PORT  the node's --listen address\n"
		"  --overlay NAME    look up through this overlay (default: the node's\n"
		"                    first, kad16 when it runs)\n"
		"  --local           only ask whether the node itself stores or caches it\n"
		"  --chain           also print the DNSKEY/DS sets the block carries\n"
		"  --timeout S       give up after S seconds (default 30)\n"
		"Exit status: 0 found, 1 not found or failed, 2 usage.\n");
}

static void print_set(const struct dns_block_set *s)
{
	for (size_t i = 0; i < s->rrs.n; i++)
		if (dns_rr_print(stdout, &s->rrs.rr[i]) != 0)
			printf(";; (record not printable)\n");
	for (size_t i = 0; i < s->sigs.n; i++)
		if (dns_rr_print(stdout, &s->sigs.rr[i]) != 0)
			printf(";; (record not printable)\n");
}

int ddns_cmd_lookup(int argc, char **argv)
{
	const char *node = NULL;
	uint8_t overlay = 0, flags = 0;
	bool chain = false, local = false;
	double timeout = 30;
	const struct cmd_opt opts[] = {
		CMD_O("node", 0, CMD_STR, &node), CMD_O("overlay", 0, CMD_OVERLAY, &overlay),
		CMD_FLAG("local", 0, CMD_BOOL, &local, 1), CMD_FLAG("chain", 0, CMD_BOOL, &chain, 1),
		CMD_O("timeout", 0, CMD_TIMEOUT, &timeout),
	};
	int pr = cmd_parse("lookup", argc, argv, opts, sizeof(opts) / sizeof(*opts), lookup_usage);
	if (pr)
		return cmd_parse_exit(pr);
	if (local)
		flags |= CLI_GET_LOCAL;
	if (cmd_need_node("lookup", node))
		return 2;
	if (argc - optind < 1 || argc - optind > 2) {
		fprintf(stderr, "ddns lookup: want NAME [TYPE]\n");
		return 2;
	}
	struct dns_name name;
	const char *ns = argv[optind];
	struct dns_name root;
	dns_name_set_root(&root);
	if (dns_name_from_str(&name, ns, &root) != 0) {
		fprintf(stderr, "ddns lookup: bad name '%s'\n", ns);
		return 2;
	}
	uint16_t type = DNS_T_A;
	if (argc - optind == 2 &&
	    dns_type_from_text(argv[optind + 1], strlen(argv[optind + 1]), &type) != 0) {
		fprintf(stderr, "ddns lookup: unknown type '%s'\n", argv[optind + 1]);
		return 2;
	}
	struct ddns_client *cl = cmd_connect("lookup", node, (unsigned)(timeout * 1000));
	if (!cl)
		return 2;
	struct cli_get_result r;
	struct dns_block b;
	dns_block_init(&b);
	int ret = 1;
	int rc = ddns_client_get(cl, overlay, flags, name.data, name.len, type, &r);
	if (rc) {
		fprintf(stderr, "ddns lookup: node %s: %s\n", node, ddns_strerror(rc));
		goto out;
	}
	char tb[DNS_MNEMONIC_MAX], nb[DNS_NAME_MAX * 4 + 1], fb[TR_ADDRSTRLEN];
	if (dns_name_to_str(&name, nb, sizeof(nb)) < 0)
		snprintf(nb, sizeof(nb), "%s", ns);
	printf(";; QUESTION: %s IN %s\n", nb, dns_type_to_str(type, tb));
	if (r.status == 0 && r.block) {
		rc = dns_block_decode(&b, r.block, r.len);
		if (rc) {
			printf(";; the node returned a block that does not decode: %s\n",
			       ddns_strerror(rc));
			goto figures;
		}
		printf("\n;; ANSWER SECTION:\n");
		print_set(&b.data);
		if (chain && b.nchain) {
			printf("\n;; CHAIN SECTION (carried in the block):\n");
			for (size_t i = 0; i < b.nchain; i++)
				print_set(&b.chain[i]);
		}
		printf("\n;; status: NOERROR, validated by the node (version %llu)\n",
		       (unsigned long long)r.version);
		ret = 0;
	} else if (r.status == 0) {
		printf(";; status: held locally (version %llu)\n", (unsigned long long)r.version);
		ret = 0;
	} else if (r.status == DDNS_ENOTFOUND) {
		printf(";; status: NOTFOUND (no such RRset in the DHT)\n");
	} else {
		printf(";; status: FAILED: %s\n", ddns_strerror(r.status));
	}
figures:
	printf(";; overlay: %s, rpcs: %u, hops: %u, source: %s",
	       ovl_wire_name(r.overlay),
	       r.rpcs, r.hops, dht_source_name((enum dht_source)r.source));
	if (r.source != DHT_SRC_NONE)
		printf(" %s (vnode %u)", tr_addr_str(&r.from.addr, fb), r.from.vnode);
	printf("\n");
out:
	dns_block_clear(&b);
	free((void *)r.block);
	ddns_client_free(cl);
	return ret;
}
