/*
 * gw_internal.h - state shared by the gateway's source files (not a public
 * interface): dns/gateway.c (queries, caches, answers), dns/gw_net.c (UDP
 * and TCP listeners) and dns/gw_stats.c (statistics, CH TXT, Prometheus).
 */
#ifndef DDNS_DNS_GW_INTERNAL_H
#define DDNS_DNS_GW_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rng.h"
#include "dns/gateway.h"
#include "dns/rr.h"

/* Histogram buckets for RPC and hop counts; larger values land in the last. */
#define GW_HIST 64

struct gw_hist {
	uint64_t b[GW_HIST];
	uint64_t n, sum, max;
};

void gw_hist_add(struct gw_hist *h, unsigned v);
void gw_hist_dist(const struct gw_hist *h, struct gw_dist *out);

struct gw_ovl {
	char name[GW_OVERLAY_NAME_MAX];
	struct dht *dht;
	uint64_t lookups, found, notfound, failed, first;
	struct gw_hist rpcs, hops;
};

struct gw_centry;
struct gw_fetch;
struct gw_query;
struct gw_net;

struct gw {
	struct gw_params p;
	char *identity;
	char *listen;
	struct gw_ovl ovl[GW_MAX_OVERLAYS];
	size_t novl;
	struct ddns_rng rng;           /* RR shuffling, seeded from getrandom */

	struct gw_centry *pos, *neg, *exist, *fail; /* uthash tables, oldest first (LRU) */
	size_t npos, nneg, nexist, nfail;
	struct gw_fetch *fetching;     /* uthash by key: outstanding lookups */
	struct gw_fetch *all_fetches;  /* every live fetch (list), for gw_free */
	struct gw_query *queries;      /* every pending query (list) */
	size_t npending;

	struct gw_net *net;            /* sockets, NULL without */
	struct gw_stats st;            /* counters (the overlay part is in ovl[]) */
};

uint64_t gw_now_us(struct gw *g);

/*
 * The files call one way: gw_net.c (sockets, and the public gw_new/gw_free
 * that wrap the core in them) -> gateway.c (queries, caches, answers) ->
 * gw_stats.c (histograms, statistics, CH TXT, Prometheus). The sockets keep
 * their counters in g->st themselves.
 */
struct gw *gw_core_new(const struct gw_params *p, int *err);
void gw_core_free(struct gw *g);

/*
 * Chaos-class answers (dns/gw_stats.c): fill txt with the TXT strings for
 * a CH name (lowercase wire form). Returns the number of strings (0 when
 * the name is not one of ours); each string is NUL-terminated, < 256 bytes.
 */
#define GW_CH_MAX_STRINGS (16 + 4 * GW_MAX_OVERLAYS)
size_t gw_ch_strings(struct gw *g, const struct dns_name *qname,
		     char txt[GW_CH_MAX_STRINGS][256]);

#endif
