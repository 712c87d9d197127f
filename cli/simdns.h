/*
 * simdns.h - the paper's storage experiment on the real protocol code:
 * N simulated nodes each running an overlay and a DHT; M DNS records (real
 * DDNS blocks: one RRset with its RRSIG) put from random nodes; then the
 * successful, unresolved and "slashdot" query workloads, each lookup from a
 * random node; and the conventional-DNS reference on the same query trace.
 *
 * Signature checks may be switched off (the default in the simulator, for
 * speed): blocks still carry an RRSIG, and the validation hook decodes them
 * and takes zone, version and expiry from it, but does no cryptography.
 * With verify on, a root key signs every RRset and every node validates
 * with the real DNSSEC code (dns/dhtval.h).
 */
#ifndef DDNS_CLI_SIMDNS_H
#define DDNS_CLI_SIMDNS_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/simnet.h"
#include "common/buf.h"
#include "cli/workload.h"


struct simdns_params {
	struct simnet_params net;   /* overlay, seed, loss, latency, DHT params */
	size_t nodes;
	size_t records;             /* DNS records (RRsets) to put */
	size_t queries;             /* successful-workload gets */
	size_t unresolved;          /* gets of names never inserted */
	size_t slashdot;            /* gets of one record */
	double zipf;                /* popularity exponent (0.91) */
	const struct wl_queries *trace; /* replay this trace instead of Zipf draws:
				       queries for stored records form the successful
				       workload, the others the unresolved one, in order;
				       queries and unresolved are then ignored */
	const struct wl_names *names; /* NULL: generated */
	bool verify;                /* real DNSSEC validation */
	double fail;                /* crash this share of nodes after the puts */
	size_t parallel;            /* operations in flight (default 64) */
	struct wl_rttdist *paper;   /* one-server RTTs for the paper's latency method */
	size_t conv_resolvers;      /* caching resolvers of the conventional reference
				       (default 1: one site resolver, as in the paper's
				       trace); queries from node i use resolver i mod this */
	FILE *progress;             /* status lines, or NULL */
};

void simdns_params_default(struct simdns_params *p);

/* One query workload's figures. */
struct simdns_workload {
	size_t queries, answered, local;
	size_t after_warmup, local_after_warmup; /* slashdot: gets past the first 5,000 */
	size_t by_source[5];        /* enum dht_source */
	struct ddns_samples rpcs, hops, latency_us, latency_paper_us;
	/* conventional reference on the same trace */
	struct ddns_samples conv_rpcs, conv_latency_us, conv_latency_paper_us;
	double *served_per_node;    /* RPCs each node served during the workload */
};

struct simdns_result {
	size_t nodes, live, records, puts_ok, puts_failed, crashed;
	size_t replicas;
	double *blocks_per_node;    /* stored blocks (primary + replica) per node */
	double *transfers_slashdot; /* slashdot block copies each node sent */
	struct simdns_workload successful, unresolved, slashdot;
	uint64_t rpcs_sent, rpcs_served; /* whole run, all nodes */
	double sim_seconds;
	bool verified;
};

/* Run the experiment. progress lines go to p->progress. Returns 0 or an
 * error; *r is filled (free with simdns_result_free) either way. */
int simdns_run(const struct simdns_params *p, struct simdns_result *r) DDNS_WUR;
void simdns_result_free(struct simdns_result *r);

/* The pieces other simulator experiments (cli/simchurn.h) share. A record's
 * block as the unverified storage run makes it: an RRset of `type` (A, AAAA
 * or MX) for name (no trailing dot), TTL 3600, with a well-formed RRSIG by
 * the name's registered domain dated around the simulator's epoch (valid 30
 * days) but an empty signature; its key in key. 0 or an error. */
int simdns_block(const char *name, uint16_t type, struct ddns_wbuf *out,
		 uint8_t key[DDNS_ID_LEN]) DDNS_WUR;
/* The DHT validation hook for such blocks with signature checks off:
 * decodes the block, checks its key and RRSIG window, and takes zone,
 * version and expiry from the RRSIG; everything but the cryptography. */
void simdns_validate_nocrypto(void *arg, struct dht *d, const uint8_t key[DHT_KEY_LEN],
			      const uint8_t *blk, size_t len, dht_validate_done_cb done,
			      void *done_arg);

#endif
