/*
 * node.h - one DDNS node as ddnsd runs it: the wiring of every layer.
 *
 * A node is one UDP endpoint (overlay/udp.h) with one RPC layer on it; on
 * that endpoint, one overlay instance per (overlay, virtual node) - chord
 * and/or kad16, vnodes 0..n-1 - each with its own DHT (dht/dht.h) whose
 * blocks are checked by the DNSSEC validation hook (dns/dhtval.h) against
 * the configured trust anchor, and stored under DATA_DIR/<overlay>-<vnode>.
 * Optionally a DNS gateway (dns/gateway.h) looks up through vnode 0 of each
 * overlay, and a Prometheus endpoint (libevent evhttp) exposes statistics.
 * The node answers client requests (cli/client.h) on RPC_SVC_CLIENT: a put
 * goes into every overlay the node runs.
 *
 * This is cli/ code: it may read clocks and use sockets. The configuration
 * (struct node_config) comes from the command line and an optional file of
 * "name value" lines with the same names as the long options.
 */
#ifndef DDNS_CLI_NODE_H
#define DDNS_CLI_NODE_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/client.h"
#include "common/log.h"
#include "dns/gateway.h"
#include "overlay/udp.h"

#define NODE_MAX_VNODES 16
#define NODE_MAX_JOIN 8 /* --join bootstrap peers */

struct event_base;
struct node;

struct node_config {
	char *listen;                   /* ADDR:PORT (required) */
	char *overlays[CLI_MAX_OVL];    /* "kad16", "chord" (default: kad16) */
	size_t noverlays;
	char *join[NODE_MAX_JOIN];      /* bootstrap ADDR:PORTs, none: new network */
	size_t njoin;
	char *dns;                      /* gateway ADDR:PORT, NULL: no gateway */
	char *trust_anchor;             /* master file of DS/DNSKEY records */
	char *data_dir;                 /* NULL: memory only */
	unsigned replicas;              /* r (default 6) */
	unsigned vnodes;                /* per overlay (default 1) */
	enum gw_mode gw_mode;
	unsigned servfail_ttl;          /* gateway: seconds a SERVFAIL is held (default 30) */
	unsigned rate_limit;            /* gateway: UDP queries/s per source (0: none) */
	unsigned rpc_rate_limit;        /* node: new requests/s per source IP (0: none) */
	unsigned store_rate_limit;      /* node: copies/s accepted per peer (0: none) */
	uint64_t zone_quota;            /* bytes one zone may store on this node (0: none) */
	uint64_t zone_quota_net;        /* bytes of distinct blocks per zone in the DHT (0: none) */
	unsigned amp_factor;            /* gateway: UDP answer / query size bound (0: none) */
	unsigned commit_delay_ms;       /* group commit: wait this long for more writes (default 5) */
	uint64_t max_store;             /* block bytes stored per overlay instance (0: no
					   bound but the LMDB map, 1 GiB) */
	char *metrics;                  /* ADDR:PORT of the Prometheus endpoint */
	enum ddns_log_level log_level;  /* default info */
	char *log_file;
	char *pid_file;
	bool test_forge;                /* tests only: serve altered lookup values */
	/* Emulated one-way delays for the node's endpoint (ddnsd
	 * --latency-matrix; not a file option): NULL sends at once. */
	udp_delay_cb delay;
	void *delay_arg;                /* borrowed: outlives the node */
	bool overlays_from_args;        /* internal: argv overrides the file's list */
	bool joins_from_args;           /* internal: the same for --join */
};

void node_config_init(struct node_config *c);
void node_config_free(struct node_config *c);

/*
 * Apply one option (long name without "--", value NULL for flags) to c.
 * Used for the command line and for the configuration file alike.
 * Returns 0, or -EINVAL with a one-line message in err.
 */
int node_config_set(struct node_config *c, const char *name, const char *value, char *err,
		    size_t errlen) DDNS_WUR;

/* Read "name value" lines (# comments, blank lines) from path into c.
 * Returns 0 or -errno / -EINVAL with "path:line: message" in err. */
int node_config_load(struct node_config *c, const char *path, char *err, size_t errlen) DDNS_WUR;

/* Check a complete configuration (required options, ranges). 0 or -EINVAL. */
int node_config_check(const struct node_config *c, char *err, size_t errlen) DDNS_WUR;

/*
 * Build and start the node on base (borrowed): bind, create overlays and
 * DHTs, join, start the gateway and the metrics endpoint. NULL on error with
 * a one-line message in err. With several --join peers, the node asks each
 * for its status at once and joins every ring through the first that
 * answers and knows another node in every overlay, else through a founder
 * still alone, else through one that answered, and through the first
 * listed when none does (the overlays keep retrying it).
 */
struct node *node_new(struct event_base *base, const struct node_config *c, char *err,
		      size_t errlen);

/* Leave every ring politely (ovl_leave) and stop answering clients. */
void node_leave(struct node *n);

/* Stop everything, flush and close the stores. NULL is a no-op. Not from
 * inside a callback of the node's own endpoint. */
void node_free(struct node *n);

/* The status a CLI_STATUS request gets. */
void node_status(struct node *n, struct cli_status *out);

#endif
