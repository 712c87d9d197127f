/*
 * gw_stats.c - the gateway's statistics: RPC/hop histograms per overlay,
 * the snapshot (gw_get_stats), the chaos-class TXT answers (id.server,
 * version.bind, stats.ddns) and the Prometheus text rendering.
 *
 * RPC and hop counts are small integers, so a fixed histogram gives exact
 * medians and p90s in constant memory however long the gateway runs (a
 * sample vector would grow without bound in a daemon).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dns/dhtval.h"
#include "dns/gw_internal.h"
#include "dns/name.h"

void gw_hist_add(struct gw_hist *h, unsigned v)
{
	h->b[v < GW_HIST ? v : GW_HIST - 1]++;
	h->n++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

/* Nearest-rank percentile q (0..100], as common/stats.h computes it. */
static unsigned hist_pct(const struct gw_hist *h, double q)
{
	uint64_t rank = (uint64_t)((q / 100.0) * (double)h->n + 0.999999);
	uint64_t seen = 0;
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < GW_HIST; i++) {
		seen += h->b[i];
		if (seen >= rank)
			return i == GW_HIST - 1 ? (unsigned)h->max : i;
	}
	return (unsigned)h->max;
}

void gw_hist_dist(const struct gw_hist *h, struct gw_dist *out)
{
	memset(out, 0, sizeof(*out));
	if (h->n == 0)
		return;
	out->n = h->n;
	out->mean = (double)h->sum / (double)h->n;
	out->median = hist_pct(h, 50);
	out->p90 = hist_pct(h, 90);
	out->max = (unsigned)h->max;
}

void gw_get_stats(struct gw *g, struct gw_stats *out)
{
	*out = g->st;
	out->cache_entries = g->npos;
	out->neg_cache_entries = g->nneg;
	out->servfail_cache_entries = g->nfail;
	out->pending = g->npending;
	out->noverlays = g->novl;
	for (size_t i = 0; i < g->novl; i++) {
		struct gw_overlay_stats *s = &out->ovl[i];
		const struct gw_ovl *o = &g->ovl[i];
		memcpy(s->name, o->name, sizeof(s->name));
		s->lookups = o->lookups;
		s->found = o->found;
		s->notfound = o->notfound;
		s->failed = o->failed;
		s->first = o->first;
		gw_hist_dist(&o->rpcs, &s->rpcs);
		gw_hist_dist(&o->hops, &s->hops);
		dht_get_stats(o->dht, &s->dht);
	}
}

static double rate(uint64_t hit, uint64_t miss)
{
	return hit + miss ? (double)hit / (double)(hit + miss) : 0.0;
}

static bool name_is(const struct dns_name *n, const char *s)
{
	struct dns_name x;
	return dns_name_from_str(&x, s, NULL) == 0 && dns_name_equal(n, &x);
}

size_t gw_ch_strings(struct gw *g, const struct dns_name *qname,
		     char txt[GW_CH_MAX_STRINGS][256])
{
	size_t n = 0;
	if (name_is(qname, "id.server.") || name_is(qname, "hostname.bind.")) {
		snprintf(txt[n++], 256, "%s", g->identity);
		return n;
	}
	if (name_is(qname, "version.bind.") || name_is(qname, "version.server.")) {
		snprintf(txt[n++], 256, "%s", PACKAGE_STRING);
		return n;
	}
	if (!name_is(qname, "stats.ddns."))
		return 0;
	struct gw_stats st;
	gw_get_stats(g, &st);
	snprintf(txt[n++], 256,
		 "queries=%llu udp=%llu tcp=%llu in=%llu ch=%llu dropped=%llu pending=%llu",
		 (unsigned long long)st.queries, (unsigned long long)st.queries_udp,
		 (unsigned long long)st.queries_tcp, (unsigned long long)st.queries_in,
		 (unsigned long long)st.queries_ch, (unsigned long long)st.dropped,
		 (unsigned long long)st.pending);
	snprintf(txt[n++], 256,
		 "noerror=%llu formerr=%llu servfail=%llu nxdomain=%llu notimp=%llu refused=%llu "
		 "badvers=%llu truncated=%llu ad=%llu",
		 (unsigned long long)st.rcodes[0], (unsigned long long)st.rcodes[1],
		 (unsigned long long)st.rcodes[2], (unsigned long long)st.rcodes[3],
		 (unsigned long long)st.rcodes[4], (unsigned long long)st.rcodes[5],
		 (unsigned long long)st.badvers, (unsigned long long)st.truncated,
		 (unsigned long long)st.ad);
	snprintf(txt[n++], 256,
		 "cache_hits=%llu cache_misses=%llu cache_hit_rate=%.3f neg_hits=%llu "
		 "answered_from_cache=%llu coalesced=%llu cache_entries=%llu neg_entries=%llu",
		 (unsigned long long)st.cache_hits, (unsigned long long)st.cache_misses,
		 rate(st.cache_hits + st.neg_hits, st.cache_misses),
		 (unsigned long long)st.neg_hits, (unsigned long long)st.answered_from_cache,
		 (unsigned long long)st.coalesced, (unsigned long long)st.cache_entries,
		 (unsigned long long)st.neg_cache_entries);
	snprintf(txt[n++], 256,
		 "servfail_hits=%llu servfail_entries=%llu neg_with_soa=%llu rate_limited=%llu "
		 "rate_limit_sources=%llu",
		 (unsigned long long)st.servfail_hits,
		 (unsigned long long)st.servfail_cache_entries,
		 (unsigned long long)st.neg_with_soa, (unsigned long long)st.rate_limited,
		 (unsigned long long)st.rate_limit_sources);
	snprintf(txt[n++], 256, "denial_proofs=%llu denial_from_cache=%llu wildcard_answers=%llu",
		 (unsigned long long)st.denial_proofs, (unsigned long long)st.denial_from_cache,
		 (unsigned long long)st.wildcard_answers);
	snprintf(txt[n++], 256, "current_checks=%llu current_failed=%llu current_rpcs=%llu",
		 (unsigned long long)st.current_checks, (unsigned long long)st.current_failed,
		 (unsigned long long)st.current_rpcs);
	if (g->p.current) {
		/* The node's validator (the DHT's hook and these checks): the
		 * signatures it verified, and what its caches saved. */
		struct ddns_blockval_stats bs;
		ddns_blockval_get_stats(g->p.current, &bs);
		snprintf(txt[n++], 256,
			 "validator validations=%llu sig_verified=%llu sig_cache_hits=%llu "
			 "keys_parsed=%llu key_cache_hits=%llu",
			 (unsigned long long)bs.validations, (unsigned long long)bs.sig_computed,
			 (unsigned long long)bs.sig_cache_hits, (unsigned long long)bs.keys_parsed,
			 (unsigned long long)bs.key_cache_hits);
	}
	snprintf(txt[n++], 256, "cname_followed=%llu cname_loops=%llu tcp_conns=%llu "
				"tcp_open=%llu tcp_refused=%llu overload=%llu",
		 (unsigned long long)st.cname_followed, (unsigned long long)st.cname_loops,
		 (unsigned long long)st.tcp_conns, (unsigned long long)st.tcp_conns_open,
		 (unsigned long long)st.tcp_conns_refused, (unsigned long long)st.overload);
	/* The configured bound of every table an outsider can grow. */
	snprintf(txt[n++], 256,
		 "limits cache_entries=%zu neg_entries=%zu pending=%zu tcp_conns=%u "
		 "tcp_pending=%u tcp_idle_ms=%u rate_limit=%u rate_limit_sources=%zu udp_max=%u "
		 "amp_factor=%u",
		 g->p.cache_entries, g->p.neg_cache_entries, g->p.max_pending, g->p.tcp_max_conns,
		 g->p.tcp_max_pending, g->p.tcp_idle_ms, g->p.rate_limit, g->p.rate_limit_entries,
		 g->p.udp_max, g->p.amp_factor);
	for (size_t i = 0; i < st.noverlays; i++) {
		const struct gw_overlay_stats *o = &st.ovl[i];
		struct dht_params dp;
		struct dht_peer_limits pl;
		dht_get_params(g->ovl[i].dht, &dp);
		dht_get_peer_limits(g->ovl[i].dht, &pl);
		snprintf(txt[n++], 256,
			 "overlay=%s limits cache_bytes=%zu store_bytes=%llu zone_quota_bytes=%llu "
			 "zone_quota_blocks=%llu zone_quota_net_bytes=%llu zone_quota_here=%llu "
			 "max_block=%zu replicas=%u store_peer_rate=%g store_peer_sources=%zu",
			 o->name, dp.cache_bytes, (unsigned long long)dp.max_store_bytes,
			 (unsigned long long)dp.zone_quota_bytes,
			 (unsigned long long)dp.zone_quota_blocks,
			 (unsigned long long)dp.zone_quota_net_bytes,
			 (unsigned long long)dht_zone_quota_here(g->ovl[i].dht), dp.max_block,
			 dp.replicas, dp.store_peer_rate, dp.store_peer_sources);
		snprintf(txt[n++], 256,
			 "overlay=%s peer_limits routing=%llu lookup_candidates=%u refs_per_answer=%u "
			 "rpc_rate_limit=%g rpc_rate_sources=%zu",
			 o->name, (unsigned long long)pl.routing_max, pl.lookup_candidates_max,
			 pl.refs_per_answer_max, pl.rpc_rate_limit, pl.rpc_rate_sources);
		snprintf(txt[n++], 256,
			 "overlay=%s lookups=%llu found=%llu notfound=%llu failed=%llu first=%llu "
			 "rpcs_median=%u rpcs_p90=%u rpcs_max=%u rpcs_mean=%.2f "
			 "hops_median=%u hops_p90=%u hops_max=%u hops_mean=%.2f",
			 o->name, (unsigned long long)o->lookups, (unsigned long long)o->found,
			 (unsigned long long)o->notfound, (unsigned long long)o->failed,
			 (unsigned long long)o->first, o->rpcs.median, o->rpcs.p90, o->rpcs.max,
			 o->rpcs.mean, o->hops.median, o->hops.p90, o->hops.max, o->hops.mean);
		snprintf(txt[n++], 256,
			 "overlay=%s blocks_primary=%llu blocks_replica=%llu blocks_cache=%llu "
			 "bytes_stored=%llu dht_gets=%llu dht_gets_local=%llu "
			 "store_syncs=%llu store_synced=%llu",
			 o->name, (unsigned long long)o->dht.blocks_primary,
			 (unsigned long long)o->dht.blocks_replica,
			 (unsigned long long)o->dht.blocks_cache,
			 (unsigned long long)o->dht.bytes_stored, (unsigned long long)o->dht.gets,
			 (unsigned long long)o->dht.gets_local,
			 (unsigned long long)o->dht.store_syncs,
			 (unsigned long long)o->dht.store_synced);
	}
	return n;
}

/* ---- Prometheus text exposition format ---------------------------------- */

static bool pf(struct ddns_wbuf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool pf(struct ddns_wbuf *w, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	int l = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (l < 0)
		return false;
	if ((size_t)l >= sizeof(line))
		l = (int)sizeof(line) - 1;
	return ddns_wbuf_put(w, line, (size_t)l);
}

static void counter(struct ddns_wbuf *w, const char *name, const char *help, uint64_t v)
{
	pf(w, "# HELP ddns_gateway_%s %s\n# TYPE ddns_gateway_%s counter\nddns_gateway_%s %llu\n",
	   name, help, name, name, (unsigned long long)v);
}

static void gauge(struct ddns_wbuf *w, const char *name, const char *help, uint64_t v)
{
	pf(w, "# HELP ddns_gateway_%s %s\n# TYPE ddns_gateway_%s gauge\nddns_gateway_%s %llu\n",
	   name, help, name, name, (unsigned long long)v);
}

int gw_metrics_text(struct gw *g, struct ddns_wbuf *w)
{
	static const char *const rc[] = {"NOERROR", "FORMERR",  "SERVFAIL",
					 "NXDOMAIN", "NOTIMP", "REFUSED"};
	struct gw_stats st;
	gw_get_stats(g, &st);
	counter(w, "queries_total", "Queries parsed.", st.queries);
	pf(w, "# HELP ddns_gateway_queries_by_transport_total Queries by transport.\n"
	      "# TYPE ddns_gateway_queries_by_transport_total counter\n"
	      "ddns_gateway_queries_by_transport_total{transport=\"udp\"} %llu\n"
	      "ddns_gateway_queries_by_transport_total{transport=\"tcp\"} %llu\n",
	   (unsigned long long)st.queries_udp, (unsigned long long)st.queries_tcp);
	pf(w, "# HELP ddns_gateway_answers_total Answers by rcode.\n"
	      "# TYPE ddns_gateway_answers_total counter\n");
	for (int i = 0; i < 6; i++)
		pf(w, "ddns_gateway_answers_total{rcode=\"%s\"} %llu\n", rc[i],
		   (unsigned long long)st.rcodes[i]);
	pf(w, "ddns_gateway_answers_total{rcode=\"BADVERS\"} %llu\n",
	   (unsigned long long)st.badvers);
	counter(w, "dropped_total", "Packets dropped without an answer.", st.dropped);
	counter(w, "overload_total", "SERVFAIL answers because too many queries were pending.",
		st.overload);
	counter(w, "truncated_total", "UDP answers with TC set.", st.truncated);
	counter(w, "ad_total", "Answers with the AD bit.", st.ad);
	counter(w, "cache_hits_total", "Lookup steps served by the positive cache.",
		st.cache_hits);
	counter(w, "cache_misses_total", "Lookup steps that needed the DHT.", st.cache_misses);
	counter(w, "negative_cache_hits_total", "Lookup steps served by the negative cache.",
		st.neg_hits);
	counter(w, "servfail_cache_hits_total",
		"Lookup steps answered SERVFAIL from the failure cache.", st.servfail_hits);
	counter(w, "negative_with_soa_total", "Negative answers that carried the zone's SOA.",
		st.neg_with_soa);
	counter(w, "denial_proofs_total", "Missing names proven from a zone's denial block.",
		st.denial_proofs);
	counter(w, "denial_from_cache_total",
		"Missing names proven from a cached denial block, without a lookup (RFC 8198).",
		st.denial_from_cache);
	counter(w, "wildcard_answers_total", "Answers synthesised from a wildcard.",
		st.wildcard_answers);
	counter(w, "rate_limited_total", "UDP queries dropped by the per-source rate limit.",
		st.rate_limited);
	counter(w, "current_checks_total", "Fetched blocks whose chain was checked current.",
		st.current_checks);
	counter(w, "current_failed_total",
		"Fetched blocks refused because a DS link was not the parent's current DS.",
		st.current_failed);
	counter(w, "current_rpcs_total", "RPCs of the DS fetches those checks made.",
		st.current_rpcs);
	gauge(w, "rate_limit_sources", "Sources the rate limit tracks.", st.rate_limit_sources);
	counter(w, "answered_from_cache_total", "IN queries answered without the DHT.",
		st.answered_from_cache);
	counter(w, "coalesced_total", "Lookup steps that joined an identical outstanding one.",
		st.coalesced);
	counter(w, "cname_followed_total", "CNAME links followed.", st.cname_followed);
	gauge(w, "cache_entries", "Positive cache entries.", st.cache_entries);
	gauge(w, "negative_cache_entries", "Negative cache entries.", st.neg_cache_entries);
	gauge(w, "servfail_cache_entries", "Failure cache entries.", st.servfail_cache_entries);
	gauge(w, "pending_queries", "Queries waiting for the DHT.", st.pending);
	counter(w, "tcp_connections_total", "TCP connections accepted.", st.tcp_conns);
	counter(w, "tcp_connections_refused_total", "TCP connections over the limit.",
		st.tcp_conns_refused);
	gauge(w, "tcp_connections_open", "TCP connections open.", st.tcp_conns_open);

	static const struct {
		const char *name, *help, *type;
	} fam[] = {
		{"lookups_total", "DHT gets issued.", "counter"},
		{"lookups_found_total", "DHT gets that found a validated block.", "counter"},
		{"lookups_notfound_total", "DHT gets that found nothing.", "counter"},
		{"lookups_failed_total", "DHT gets that failed (timeout, bogus...).", "counter"},
		{"lookups_first_total", "Lookups this overlay answered first.", "counter"},
		{"lookup_rpcs", "RPCs per DHT get.", "summary"},
		{"lookup_hops", "Sequential hops per DHT get.", "summary"},
		{"dht_blocks", "Blocks held by this node.", "gauge"},
	};
	for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		pf(w, "# HELP ddns_gateway_%s %s\n# TYPE ddns_gateway_%s %s\n", fam[f].name,
		   fam[f].help, fam[f].name, fam[f].type);
		for (size_t i = 0; i < st.noverlays; i++) {
			const struct gw_overlay_stats *o = &st.ovl[i];
			const char *nm = fam[f].name;
			uint64_t v[] = {o->lookups, o->found, o->notfound, o->failed, o->first};
			if (f < 5) {
				pf(w, "ddns_gateway_%s{overlay=\"%s\"} %llu\n", nm, o->name,
				   (unsigned long long)v[f]);
			} else if (f < 7) {
				const struct gw_dist *d = f == 5 ? &o->rpcs : &o->hops;
				pf(w, "ddns_gateway_%s{overlay=\"%s\",quantile=\"0.5\"} %u\n", nm,
				   o->name, d->median);
				pf(w, "ddns_gateway_%s{overlay=\"%s\",quantile=\"0.9\"} %u\n", nm,
				   o->name, d->p90);
				pf(w, "ddns_gateway_%s{overlay=\"%s\",quantile=\"1\"} %u\n", nm,
				   o->name, d->max);
				const struct gw_hist *h = f == 5 ? &g->ovl[i].rpcs : &g->ovl[i].hops;
				pf(w, "ddns_gateway_%s_sum{overlay=\"%s\"} %llu\n", nm, o->name,
				   (unsigned long long)h->sum);
				pf(w, "ddns_gateway_%s_count{overlay=\"%s\"} %llu\n", nm, o->name,
				   (unsigned long long)d->n);
			} else {
				pf(w, "ddns_gateway_%s{overlay=\"%s\",kind=\"primary\"} %llu\n", nm,
				   o->name, (unsigned long long)o->dht.blocks_primary);
				pf(w, "ddns_gateway_%s{overlay=\"%s\",kind=\"replica\"} %llu\n", nm,
				   o->name, (unsigned long long)o->dht.blocks_replica);
				pf(w, "ddns_gateway_%s{overlay=\"%s\",kind=\"cache\"} %llu\n", nm,
				   o->name, (unsigned long long)o->dht.blocks_cache);
			}
		}
	}
	return w->err ? -ENOMEM : 0;
}
