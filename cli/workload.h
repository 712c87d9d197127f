/*
 * workload.h - the query workloads of the paper's evaluation, and the
 * conventional-DNS reference they are compared with.
 *
 * Names come from a real list (../shared/data/top-100k.csv: "rank,domain")
 * or are generated. Popularity follows a Zipf law (the paper's MIT trace:
 * alpha 0.91), drawn by inverse-CDF search. The conventional reference is a
 * caching stub of the real hierarchy: per resolver, a cache of NS referrals
 * (root -> TLD -> registered domain) and answers with their TTLs, counting
 * the RPCs a query needs and its latency under the same latency model as
 * the DHT run. Driver code (cli/), not protocol code.
 */
#ifndef DDNS_CLI_WORKLOAD_H
#define DDNS_CLI_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rng.h"
#include "overlay/sim.h"

struct wl_names {
	char **name; /* lowercase, no trailing dot */
	size_t n;
};

/* Load up to max names (0: all) from a "rank,domain" CSV or a one-name-per-
 * line file. Returns 0, -errno, or DDNS_EMALFORMED (with *line set). */
int wl_names_load(const char *path, size_t max, struct wl_names *out, size_t *line);
/* n generated names shaped like real ones (label.sld.tld with a few TLDs). */
int wl_names_generate(size_t n, uint64_t seed, struct wl_names *out);
void wl_names_free(struct wl_names *w);

/* A query file: one "NAME [TYPE]" per line (TYPE by mnemonic or TYPEnn,
 * default A; lines starting with '#' are comments). Names are lowercased,
 * trailing dots dropped. */
struct wl_queries {
	struct wl_query {
		char *name;
		uint16_t type;
	} *q;
	size_t n;
};
/* Returns 0; -errno; DDNS_EMALFORMED (a bad line, *line set, or no query
 * at all); -ENOMEM. */
int wl_queries_load(const char *path, struct wl_queries *out, size_t *line);
void wl_queries_free(struct wl_queries *q);

/* Zipf popularity over ranks 0..n-1: P(k) ~ 1/(k+1)^alpha. */
struct wl_zipf {
	double *cdf;
	size_t n;
};
int wl_zipf_init(struct wl_zipf *z, size_t n, double alpha);
size_t wl_zipf_draw(const struct wl_zipf *z, struct ddns_rng *rng);
void wl_zipf_free(struct wl_zipf *z);

/* The zone a name belongs to: its registered domain ("www.bbc.co.uk" ->
 * "bbc.co.uk", "a.b.example.com" -> "example.com"), and its TLD. Writes into
 * the caller's buffers (size >= 256). */
void wl_zone_of(const char *name, char *zone, char *tld);

/*
 * Conventional DNS: `resolvers` caching resolvers (resolver i is simulated
 * node i: it shares the node's place in the latency model). Authoritative
 * servers sit at pseudo-node indices past the resolvers, one per zone, by a
 * hash of the zone name; the root has 13 server addresses.
 */
struct conv;
struct conv_params {
	size_t resolvers;
	struct sim_latency *latency; /* borrowed */
	uint64_t seed;
	uint32_t tld_ttl_s;      /* NS TTL of TLD delegations (default 172800) */
	uint32_t zone_ttl_s;     /* NS TTL of registered domains (default 86400) */
	uint32_t answer_ttl_s;   /* answer TTL (default 3600) */
	uint32_t negative_ttl_s; /* NXDOMAIN TTL (default 900) */
};
void conv_params_default(struct conv_params *p);
struct conv *conv_new(const struct conv_params *p);
void conv_free(struct conv *c);
/* Resolve name at resolver r at time now_s (seconds). exists says whether the
 * name has data. Returns the RPCs sent (0: answered from cache) and the
 * latency in microseconds (sum of the round trips, sequential). */
unsigned conv_query(struct conv *c, size_t r, const char *name, bool exists, double now_s,
		    uint64_t *latency_us);

/*
 * The paper's latency method: a lookup of h hops costs the sum of h draws
 * from a one-server round-trip distribution, keeping its middle 95%.
 */
struct wl_rttdist {
	double *v; /* sorted RTTs in microseconds, middle 95% */
	size_t n;
};
/* From a latency model: RTTs between random pairs of pseudo-nodes. */
int wl_rttdist_from_model(struct wl_rttdist *d, struct sim_latency *lat, size_t pairs,
			  uint64_t seed);
/* From a file of RTTs in ms, one per line. */
int wl_rttdist_load(struct wl_rttdist *d, const char *path);
double wl_rttdist_draw(const struct wl_rttdist *d, struct ddns_rng *rng);
void wl_rttdist_free(struct wl_rttdist *d);

#endif
