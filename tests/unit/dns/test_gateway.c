/*
 * test_gateway.c - the DNS gateway (dns/gateway.c) over a simulated kad16
 * network storing real signed DDNS blocks, validated by the real DNSSEC
 * hook: answers and AD/RRSIGs, CNAME chains, NXDOMAIN/NODATA, TC and the
 * stream path, forged replicas, SERVFAIL with Extended DNS Errors, the
 * statistics, malformed input, caching and coalescing.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "tests/unit/dns/gw_world.h"

#define NODES 16

static uint64_t dht_gets(struct world *w, size_t node)
{
	struct dht_stats st;
	dht_get_stats(simnet_dht(w->net, node), &st);
	return st.gets;
}

static bool has_a(const struct dns_msg *m, const char *addr)
{
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	ck_assert_int_eq(dns_rdata_from_str(DNS_T_A, addr, NULL, &w), 0);
	bool found = false;
	for (size_t i = 0; i < m->sec[DNS_S_ANSWER].n; i++) {
		const struct dns_rr *r = &m->sec[DNS_S_ANSWER].rr[i];
		if (r->type == DNS_T_A && r->rdlen == 4 && memcmp(r->rdata, w.p, 4) == 0)
			found = true;
	}
	ddns_wbuf_free(&w);
	return found;
}

START_TEST(noerror_ad_rrsig)
{
	struct world *w = world_new(&kad16_ops, NODES, 101);
	struct gw *g = w_gateway(w, 0);
	struct dns_msg m;

	/* DO: addresses, AD, RRSIG. */
	w_ask(w, g, "www.example.", DNS_T_A, 1232, true, DNS_F_RD, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_A), 3);
	ck_assert(has_a(&m, "192.0.2.1") && has_a(&m, "192.0.2.2") && has_a(&m, "192.0.2.3"));
	ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_RRSIG), 1);
	ck_assert(m.flags & DNS_F_AD);
	ck_assert(m.flags & DNS_F_RA);
	ck_assert(m.flags & DNS_F_RD);
	ck_assert(m.edns.present);
	ck_assert(m.edns.flags & DNS_EDNS_DO);
	ck_assert_uint_le(m.sec[DNS_S_ANSWER].rr[0].ttl, 3600);
	dns_msg_clear(&m);

	/* No EDNS: no RRSIG, no AD, no OPT. */
	w_ask(w, g, "www.example.", DNS_T_AAAA, -1, false, 0, 512, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].n, 1);
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].rr[0].type, DNS_T_AAAA);
	ck_assert(!(m.flags & DNS_F_AD));
	ck_assert(!m.edns.present);
	dns_msg_clear(&m);

	/* AD requested without DO: AD, no RRSIG. */
	w_ask(w, g, "www.example.", DNS_T_AAAA, -1, false, DNS_F_AD, 512, &m);
	ck_assert(m.flags & DNS_F_AD);
	ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_RRSIG), 0);
	dns_msg_clear(&m);

	/* The apex DNSKEY is an RRset like any other. */
	w_ask(w, g, "EXAMPLE.", DNS_T_DNSKEY, 4096, true, 0, 4096, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_DNSKEY), 1);
	dns_msg_clear(&m);

	/* RR order is shuffled per answer: over 30 answers the first
	 * address is not always the same. */
	uint8_t first[30];
	bool differ = false;
	for (int i = 0; i < 30; i++) {
		w_ask(w, g, "www.example.", DNS_T_A, -1, false, 0, 512, &m);
		first[i] = m.sec[DNS_S_ANSWER].rr[0].rdata[3];
		if (i && first[i] != first[0])
			differ = true;
		dns_msg_clear(&m);
	}
	ck_assert(differ);
	gw_free(g);
	world_free(w);
}
END_TEST

START_TEST(cname_and_negative)
{
	struct world *w = world_new(&kad16_ops, NODES, 102);
	struct gw *g = w_gateway(w, 0);
	struct dns_msg m;

	/* alias2 -> alias -> www */
	w_ask(w, g, "alias2.example.", DNS_T_A, 1232, true, 0, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_CNAME), 2);
	ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_A), 3);
	ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_RRSIG), 3);
	ck_assert(m.flags & DNS_F_AD);
	ck_assert(has_a(&m, "192.0.2.2"));
	dns_msg_clear(&m);

	/* A CNAME query returns the CNAME itself. */
	w_ask(w, g, "alias.example.", DNS_T_CNAME, -1, false, 0, 512, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].n, 1);
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].rr[0].type, DNS_T_CNAME);
	dns_msg_clear(&m);

	/* A loop ends in SERVFAIL. */
	w_ask(w, g, "loop1.example.", DNS_T_A, 1232, false, 0, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_SERVFAIL);
	dns_msg_clear(&m);

	/* Missing name: NXDOMAIN; the zone's SOA in authority (found at the
	 * parent, example.) with TTL min(MINIMUM 300, SOA TTL), and its RRSIG
	 * with DO (RFC 2308 §3); then the proof from the zone's denial block
	 * (the NSEC covering the name, the one covering *.example.), so AD. */
	w_ask(w, g, "missing.example.", DNS_T_A, 1232, true, 0, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NXDOMAIN);
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].n, 0);
	ck_assert(m.flags & DNS_F_AD);
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_SOA), 1);
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_NSEC), 2);
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_RRSIG), 3);
	{
		const struct dns_rr *soa = &m.sec[DNS_S_AUTHORITY].rr[0];
		struct dns_name ex = w_name("example.");
		ck_assert_uint_eq(soa->type, DNS_T_SOA);
		ck_assert(dns_name_equal(&soa->owner, &ex));
		ck_assert_uint_eq(soa->ttl, 300);
	}
	dns_msg_clear(&m);
	/* Deeper under the zone: the walk goes up two names; without DO no
	 * RRSIG. */
	w_ask(w, g, "a.b.missing.example.", DNS_T_A, -1, false, 0, 512, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NXDOMAIN);
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_SOA), 1);
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_RRSIG), 0);
	dns_msg_clear(&m);

	/* A chain into nothing: NXDOMAIN with the CNAME (RFC 6604). */
	w_ask(w, g, "dangling.example.", DNS_T_A, -1, false, 0, 512, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NXDOMAIN);
	ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_CNAME), 1);
	dns_msg_clear(&m);

	/* The name exists with another type: NODATA, proven by its NSEC
	 * block (AD, and the NSEC in authority with DO). */
	w_ask(w, g, "onlya.example.", DNS_T_AAAA, 1232, true, 0, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].n, 0);
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_NSEC), 1);
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_SOA), 1); /* from the NSEC's signer */
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_RRSIG), 2);
	ck_assert_uint_eq(m.sec[DNS_S_AUTHORITY].rr[0].type, DNS_T_SOA); /* SOA first */
	ck_assert(m.flags & DNS_F_AD);
	dns_msg_clear(&m);

	/* ... and without the NSEC lookup, because the A RRset is cached. */
	uint64_t before = dht_gets(w, 0);
	w_ask(w, g, "www.example.", DNS_T_MX, -1, false, 0, 512, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].n, 0);
	/* the zone's SOA is cached: www's denial block first (it shows www
	 * exists), then MX and CNAME; no NSEC */
	ck_assert_uint_eq(dht_gets(w, 0) - before, 3);
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_SOA), 1);
	dns_msg_clear(&m);
	/* The same NODATA with DO: the proof is fetched although the cache
	 * knows the name exists (a validating resolver needs the NSEC). */
	w_ask(w, g, "www.example.", DNS_T_TXT, 1232, true, 0, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].n, 0);
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_NSEC), 1);
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_SOA), 1);
	ck_assert(m.flags & DNS_F_AD);
	dns_msg_clear(&m);
	/* NODATA at the apex: the SOA is looked up at the name itself. */
	w_ask(w, g, "example.", DNS_T_MX, -1, false, 0, 512, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].n, 0);
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_SOA), 1);
	dns_msg_clear(&m);
	struct gw_stats st;
	gw_get_stats(g, &st);
	ck_assert_uint_eq(st.neg_with_soa, 7);
	gw_free(g);
	world_free(w);
}
END_TEST

START_TEST(truncation_and_stream)
{
	struct world *w = world_new(&kad16_ops, NODES, 103);
	struct gw *g = w_gateway(w, 0);
	struct dns_msg m;

	/* 20 KB of TXT does not fit 4096 octets of UDP: TC. */
	w_ask(w, g, "big.example.", DNS_T_TXT, 4096, true, 0, 65507, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert(m.flags & DNS_F_TC);
	ck_assert_uint_lt(m.sec[DNS_S_ANSWER].n, W_BIG_TXT);
	dns_msg_clear(&m);
	/* Without EDNS the limit is 512. */
	w_ask(w, g, "big.example.", DNS_T_TXT, -1, false, 0, 65507, &m);
	ck_assert(m.flags & DNS_F_TC);
	dns_msg_clear(&m);
	/* The stream path carries all of it (and from the cache). */
	uint64_t before = dht_gets(w, 0);
	w_ask(w, g, "big.example.", DNS_T_TXT, 4096, true, 0, 0, &m);
	ck_assert(!(m.flags & DNS_F_TC));
	ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_TXT), W_BIG_TXT);
	ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_RRSIG), 1);
	ck_assert_uint_eq(dht_gets(w, 0), before);
	dns_msg_clear(&m);
	struct gw_stats st;
	gw_get_stats(g, &st);
	ck_assert_uint_eq(st.truncated, 2);
	gw_free(g);
	world_free(w);
}
END_TEST

/* One query through g; the answer's length in *len, parsed into m. */
static void amp_ask(struct world *w, struct gw *g, const char *name, uint16_t type, bool do_bit,
		    size_t max_udp, size_t *qlen, size_t *len, struct dns_msg *m)
{
	uint8_t pkt[512];
	*qlen = w_query(pkt, sizeof(pkt), 0x4242, name, type, DNS_C_IN, 4096, do_bit, 0);
	struct w_ans a = {0};
	ck_assert_int_eq(gw_handle_packet(g, pkt, *qlen, max_udp, w_ans_cb, &a), 0);
	if (!a.done)
		ck_assert(sim_run_cond(simnet_sim(w->net), w_ans_done, &a, 120ULL * 1000000));
	ck_assert(!a.dropped);
	dns_msg_init(m);
	ck_assert_int_eq(dns_msg_parse(m, a.pkt, a.len), 0);
	*len = a.len;
	free(a.pkt);
}

START_TEST(amplification_bound)
{
	struct world *w = world_new(&kad16_ops, NODES, 104);
	struct gw_params p;
	int err;
	gw_params_default(&p);
	p.overlays[0].name = "kad16";
	p.overlays[0].dht = simnet_dht(w->net, 0);
	p.noverlays = 1;
	p.amp_factor = 3;
	struct gw *g = gw_new(NULL, &p, &err);
	ck_assert_msg(g != NULL, "gw_new: %s", ddns_strerror(err));
	struct dns_msg m;
	size_t qlen, len;
	/* A signed A RRset with its RRSIG is more than 3 times the query: TC
	 * over UDP, at most 3 times the query (or the query + 64 octets). */
	amp_ask(w, g, "www.example.", DNS_T_A, true, 4096, &qlen, &len, &m);
	size_t bound = 3 * qlen > qlen + GW_AMP_SLACK ? 3 * qlen : qlen + GW_AMP_SLACK;
	ck_assert(m.flags & DNS_F_TC);
	ck_assert_uint_le(len, bound);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	dns_msg_clear(&m);
	/* The same without DO fits: answered whole. */
	amp_ask(w, g, "www.example.", DNS_T_A, false, 4096, &qlen, &len, &m);
	ck_assert(!(m.flags & DNS_F_TC));
	ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_A), 3);
	ck_assert_uint_le(len, bound);
	dns_msg_clear(&m);
	/* 20 KB of TXT: still within the bound. */
	amp_ask(w, g, "big.example.", DNS_T_TXT, true, 4096, &qlen, &len, &m);
	ck_assert(m.flags & DNS_F_TC);
	ck_assert_uint_le(len, 3 * qlen > qlen + GW_AMP_SLACK ? 3 * qlen : qlen + GW_AMP_SLACK);
	dns_msg_clear(&m);
	/* TCP is not bounded: the whole signed answer. */
	amp_ask(w, g, "www.example.", DNS_T_A, true, 0, &qlen, &len, &m);
	ck_assert(!(m.flags & DNS_F_TC));
	ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_RRSIG), 1);
	ck_assert_uint_gt(len, 3 * qlen);
	dns_msg_clear(&m);
	gw_free(g);
	/* Without the bound the signed answer goes whole over UDP. */
	struct gw *open_gw = w_gateway(w, 0);
	amp_ask(w, open_gw, "www.example.", DNS_T_A, true, 4096, &qlen, &len, &m);
	ck_assert(!(m.flags & DNS_F_TC));
	ck_assert_uint_gt(len, 3 * qlen);
	dns_msg_clear(&m);
	gw_free(open_gw);
	/* A factor of 1 could not carry a truncated answer: refused. */
	p.amp_factor = 1;
	ck_assert_ptr_null(gw_new(NULL, &p, &err));
	ck_assert_int_eq(err, -EINVAL);
	world_free(w);
}
END_TEST

START_TEST(forged_replicas)
{
	struct world *w = world_new(&kad16_ops, NODES, 104);
	const char *names[] = {"forged1.example.", "forged2.example.", "forged3.example.",
			       "forged4.example.", "allforged.example."};
	const uint16_t types[] = {DNS_T_A, DNS_T_A, DNS_T_A, DNS_T_A, DNS_T_A};
	const char *addrs[] = {"192.0.2.77", "192.0.2.78", "192.0.2.79", "192.0.2.80"};
	/* One forged copy each (on the node responsible for the key, so a
	 * lookup meets it first); every copy of allforged. */
	for (int i = 0; i < 4; i++)
		w_forge(w, names[i], DNS_T_A, 1);
	w_forge(w, "allforged.example.", DNS_T_A, 6);
	size_t node = w_outsider(w, names, types, 5);
	struct gw *g = w_gateway(w, node);
	struct ddns_blockval_stats b0, b1;
	ddns_blockval_get_stats(w->bv, &b0);
	struct dns_msg m;
	for (int i = 0; i < 4; i++) {
		w_ask(w, g, names[i], DNS_T_A, 1232, true, 0, 1232, &m);
		ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
		ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_A), 1);
		ck_assert(has_a(&m, addrs[i]));
		ck_assert(m.flags & DNS_F_AD);
		dns_msg_clear(&m);
	}
	ddns_blockval_get_stats(w->bv, &b1);
	ck_assert_msg(b1.refused > b0.refused, "no forged copy was met");
	/* A forged signature is never remembered: each was computed. */
	ck_assert_uint_ge(b1.sig_computed - b0.sig_computed, b1.refused - b0.refused);

	w_ask(w, g, "allforged.example.", DNS_T_A, 1232, true, 0, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_SERVFAIL);
	ck_assert_int_eq(w_ede(&m), 6); /* DNSSEC Bogus */
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].n, 0);
	dns_msg_clear(&m);
	/* The failure is held for servfail_ttl (30 s) with its EDE: the ring
	 * sees no lookup for it meanwhile (RFC 9520). */
	uint64_t before = dht_gets(w, node);
	for (int i = 0; i < 5; i++) {
		w_ask(w, g, "allforged.example.", DNS_T_A, 1232, true, 0, 1232, &m);
		ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_SERVFAIL);
		ck_assert_int_eq(w_ede(&m), 6);
		dns_msg_clear(&m);
	}
	ck_assert_uint_eq(dht_gets(w, node), before);
	struct gw_stats st;
	gw_get_stats(g, &st);
	ck_assert_uint_eq(st.servfail_hits, 5);
	ck_assert_uint_eq(st.servfail_cache_entries, 1);
	/* ... and only for that long: then the ring is asked again. */
	simnet_run(w->net, 29ULL * 1000000);
	w_ask(w, g, "allforged.example.", DNS_T_A, -1, false, 0, 512, &m);
	ck_assert_uint_eq(dht_gets(w, node), before);
	dns_msg_clear(&m);
	simnet_run(w->net, 2ULL * 1000000);
	w_ask(w, g, "allforged.example.", DNS_T_A, -1, false, 0, 512, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_SERVFAIL);
	ck_assert_uint_eq(dht_gets(w, node), before + 1);
	dns_msg_clear(&m);
	gw_free(g);
	world_free(w);
}
END_TEST

/* "key=value" from the TXT strings of m. */
static long long txt_val(const struct dns_msg *m, const char *prefix, const char *key)
{
	for (size_t i = 0; i < m->sec[DNS_S_ANSWER].n; i++) {
		const struct dns_rr *r = &m->sec[DNS_S_ANSWER].rr[i];
		char s[256];
		memcpy(s, r->rdata + 1, r->rdata[0]);
		s[r->rdata[0]] = 0;
		if (prefix && strncmp(s, prefix, strlen(prefix)) != 0)
			continue;
		char pat[64];
		snprintf(pat, sizeof(pat), " %s=", key);
		const char *p = strstr(s, pat);
		if (!p && strncmp(s, pat + 1, strlen(pat + 1)) == 0)
			p = s - 1;
		if (p)
			return atoll(p + strlen(pat));
	}
	return -1;
}

START_TEST(stats_chaos)
{
	struct world *w = world_new(&kad16_ops, NODES, 105);
	struct gw *g = w_gateway(w, 0);
	struct dns_msg m;
	uint8_t pkt[512];
	size_t len;

	w_ask(w, g, "www.example.", DNS_T_A, -1, false, 0, 512, &m); /* 1 get */
	dns_msg_clear(&m);
	w_ask(w, g, "www.example.", DNS_T_A, -1, false, 0, 512, &m); /* cached */
	dns_msg_clear(&m);
	w_ask(w, g, "missing.example.", DNS_T_A, -1, false, 0, 512, &m); /* A, CNAME, NSEC, SOA, denial */
	dns_msg_clear(&m);
	/* the zone's SOA is known now: alias's denial block first (it exists),
	 * then A, CNAME; www cached */
	w_ask(w, g, "alias.example.", DNS_T_A, -1, false, 0, 512, &m);
	dns_msg_clear(&m);

	len = w_query(pkt, sizeof(pkt), 7, "stats.ddns.", DNS_T_TXT, DNS_C_CH, -1, false, 0);
	ck_assert(w_ask_raw(w, g, pkt, len, 0, &m));
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert_uint_ge(m.sec[DNS_S_ANSWER].n, 5);
	ck_assert_int_eq(txt_val(&m, "queries=", "queries"), 5);
	ck_assert_int_eq(txt_val(&m, "queries=", "in"), 4);
	ck_assert_int_eq(txt_val(&m, "noerror=", "nxdomain"), 1);
	ck_assert_int_eq(txt_val(&m, "noerror=", "noerror"), 3);
	ck_assert_int_eq(txt_val(&m, "overlay=kad16 lookups", "lookups"), 9);
	ck_assert_int_eq(txt_val(&m, "overlay=kad16 lookups", "found"), 5);
	ck_assert_int_eq(txt_val(&m, "overlay=kad16 lookups", "notfound"), 4);
	ck_assert_int_eq(txt_val(&m, "servfail_hits=", "neg_with_soa"), 1);
	ck_assert_int_eq(txt_val(&m, "servfail_hits=", "servfail_hits"), 0);
	ck_assert_int_eq(txt_val(&m, "cache_hits=", "answered_from_cache"), 1);
	ck_assert_int_eq(txt_val(&m, "cache_hits=", "cache_hits"), 2);
	ck_assert_int_eq(txt_val(&m, "denial_proofs=", "denial_proofs"), 1);
	ck_assert_int_eq((long long)dht_gets(w, 0), 9);
	long long bp = txt_val(&m, "overlay=kad16 blocks", "blocks_primary");
	struct dht_stats ds;
	dht_get_stats(simnet_dht(w->net, 0), &ds);
	ck_assert_int_eq(bp, (long long)ds.blocks_primary);
	/* The bounds of the tables an outsider can grow, as configured. */
	struct gw_params gp;
	gw_params_default(&gp);
	ck_assert_int_eq(txt_val(&m, "limits ", "cache_entries"), (long long)gp.cache_entries);
	ck_assert_int_eq(txt_val(&m, "limits ", "neg_entries"), (long long)gp.neg_cache_entries);
	ck_assert_int_eq(txt_val(&m, "limits ", "pending"), (long long)gp.max_pending);
	ck_assert_int_eq(txt_val(&m, "limits ", "tcp_conns"), gp.tcp_max_conns);
	ck_assert_int_eq(txt_val(&m, "limits ", "rate_limit_sources"), (long long)gp.rate_limit_entries);
	ck_assert_int_eq(txt_val(&m, "limits ", "amp_factor"), 0);
	struct dht_params dp;
	dht_get_params(simnet_dht(w->net, 0), &dp);
	ck_assert_int_eq(txt_val(&m, "overlay=kad16 limits", "cache_bytes"), (long long)dp.cache_bytes);
	ck_assert_int_eq(txt_val(&m, "overlay=kad16 limits", "replicas"), dp.replicas);
	ck_assert_int_eq(txt_val(&m, "overlay=kad16 limits", "max_block"), (long long)dp.max_block);
	{
		/* the overlay's own bounds: routing state 40 x 16 buckets of k
		 * contacts and k replacements plus the near set, the lookup
		 * shortlist, the references one answer may add; no RPC limit */
		struct ovl_stats os;
		ovl_get_stats(dht_ovl(simnet_dht(w->net, 0)), &os);
		ck_assert_uint_eq(os.routing_max, 40 * 16 * 2 * 8 + 64);
		ck_assert_int_eq(txt_val(&m, "overlay=kad16 peer_limits", "routing"),
				 (long long)os.routing_max);
		ck_assert_int_eq(txt_val(&m, "overlay=kad16 peer_limits", "lookup_candidates"),
				 os.lookup_candidates_max);
		ck_assert_int_gt(os.lookup_candidates_max, 0);
		ck_assert_int_eq(txt_val(&m, "overlay=kad16 peer_limits", "refs_per_answer"),
				 os.refs_per_answer_max);
		ck_assert_int_eq(txt_val(&m, "overlay=kad16 peer_limits", "rpc_rate_limit"), 0);
		ck_assert_int_eq(txt_val(&m, "overlay=kad16 peer_limits", "rpc_rate_sources"), 10000);
		ck_assert_int_eq(txt_val(&m, "overlay=kad16 limits", "store_peer_rate"), 0);
		ck_assert_int_eq(txt_val(&m, "overlay=kad16 limits", "zone_quota_net_bytes"), 0);
		ck_assert_int_eq(txt_val(&m, "overlay=kad16 limits", "zone_quota_here"), 0);
		ck_assert_int_eq(txt_val(&m, "overlay=kad16 limits", "store_peer_sources"), 10000);
	}
	long long rmax = txt_val(&m, "overlay=kad16 lookups", "rpcs_max");
	long long rmed = txt_val(&m, "overlay=kad16 lookups", "rpcs_median");
	ck_assert_int_ge(rmax, rmed);
	ck_assert_int_gt(rmax, 0);
	struct gw_stats st;
	gw_get_stats(g, &st);
	ck_assert_uint_eq(st.ovl[0].rpcs.max, (unsigned)rmax);
	ck_assert_uint_eq(st.ovl[0].rpcs.n, 9);
	dns_msg_clear(&m);

	/* id.server and version.bind; other CH names are refused; CH A is
	 * NODATA. */
	len = w_query(pkt, sizeof(pkt), 8, "ID.SERVER.", DNS_T_TXT, DNS_C_CH, -1, false, 0);
	ck_assert(w_ask_raw(w, g, pkt, len, 512, &m));
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].n, 1);
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].rr[0].rclass, DNS_C_CH);
	ck_assert_int_eq(memcmp(m.sec[DNS_S_ANSWER].rr[0].rdata + 1, "node-under-test", 15), 0);
	dns_msg_clear(&m);
	len = w_query(pkt, sizeof(pkt), 9, "version.bind.", DNS_T_TXT, DNS_C_CH, -1, false, 0);
	ck_assert(w_ask_raw(w, g, pkt, len, 512, &m));
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].n, 1);
	ck_assert_int_eq(memcmp(m.sec[DNS_S_ANSWER].rr[0].rdata + 1, "ddns", 4), 0);
	dns_msg_clear(&m);
	len = w_query(pkt, sizeof(pkt), 10, "secret.bind.", DNS_T_TXT, DNS_C_CH, -1, false, 0);
	ck_assert(w_ask_raw(w, g, pkt, len, 512, &m));
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_REFUSED);
	dns_msg_clear(&m);

	/* Prometheus text carries the same figures. */
	struct ddns_wbuf out;
	ddns_wbuf_init(&out, 0);
	ck_assert_int_eq(gw_metrics_text(g, &out), 0);
	ck_assert_int_eq(ddns_wbuf_u8(&out, 0), true);
	const char *txt = (const char *)out.p;
	ck_assert_ptr_nonnull(strstr(txt, "ddns_gateway_lookups_total{overlay=\"kad16\"} 9\n"));
	ck_assert_ptr_nonnull(strstr(txt, "ddns_gateway_answers_total{rcode=\"NXDOMAIN\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(txt, "# TYPE ddns_gateway_lookup_rpcs summary\n"));
	ck_assert_ptr_nonnull(strstr(txt, "ddns_gateway_denial_proofs_total 1\n"));
	ck_assert_ptr_nonnull(strstr(txt, "ddns_gateway_lookup_hops_count{overlay=\"kad16\"} 9\n"));
	ddns_wbuf_free(&out);
	gw_free(g);
	world_free(w);
}
END_TEST

START_TEST(malformed_queries)
{
	struct world *w = world_new(&kad16_ops, 8, 106);
	struct gw *g = w_gateway(w, 0);
	struct dns_msg m;
	uint8_t pkt[1024];
	size_t len;
	struct ddns_rng rng;
	ddns_rng_seed(&rng, 42);

	/* Random bytes: dropped or FORMERR-ish answers, never a crash. */
	for (int i = 0; i < 2000; i++) {
		len = (size_t)ddns_rng_below(&rng, 600);
		for (size_t j = 0; j < len; j++)
			pkt[j] = (uint8_t)ddns_rng_next(&rng);
		if (i % 2 && len >= 12) { /* keep some looking like queries */
			pkt[2] &= 0x07;
			pkt[4] = 0;
			pkt[5] = 1;
		}
		if (w_ask_raw(w, g, pkt, len, 512, &m)) {
			unsigned rc = dns_msg_rcode(&m);
			ck_assert_msg(rc == DNS_R_FORMERR || rc == DNS_R_REFUSED || rc == DNS_R_NOTIMP ||
					      rc == DNS_R_NXDOMAIN || rc == DNS_R_NOERROR ||
					      rc == DNS_R_BADVERS || rc == DNS_R_SERVFAIL,
				      "rcode %u", rc);
			dns_msg_clear(&m);
		}
	}
	/* Truncated headers are dropped. */
	len = w_query(pkt, sizeof(pkt), 1, "www.example.", DNS_T_A, DNS_C_IN, -1, false, 0);
	for (size_t l = 0; l < DNS_HEADER_LEN; l++)
		ck_assert(!w_ask_raw(w, g, pkt, l, 512, &m));
	/* A truncated question: FORMERR with the query's id. */
	ck_assert(w_ask_raw(w, g, pkt, len - 3, 512, &m));
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_FORMERR);
	ck_assert_uint_eq(m.id, 1);
	dns_msg_clear(&m);
	/* QDCOUNT 0 and 2. */
	uint8_t hdr[DNS_HEADER_LEN] = {0, 2, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	ck_assert(w_ask_raw(w, g, hdr, sizeof(hdr), 512, &m));
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_FORMERR);
	dns_msg_clear(&m);
	uint8_t two[600];
	memcpy(two, pkt, len);
	memcpy(two + len, pkt + DNS_HEADER_LEN, len - DNS_HEADER_LEN);
	two[5] = 2;
	ck_assert(w_ask_raw(w, g, two, 2 * len - DNS_HEADER_LEN, 512, &m));
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_FORMERR);
	dns_msg_clear(&m);
	/* A response is dropped. */
	pkt[2] |= 0x80;
	ck_assert(!w_ask_raw(w, g, pkt, len, 512, &m));
	pkt[2] &= 0x7f;

	/* Bogus EDNS: two OPT records; an OPT with a non-root owner; options
	 * that do not tile the RDATA. */
	len = w_query(pkt, sizeof(pkt), 3, "www.example.", DNS_T_A, DNS_C_IN, 1232, false, 0);
	static const uint8_t opt[] = {0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0};
	memcpy(two, pkt, len);
	memcpy(two + len, opt, sizeof(opt));
	two[11] = 2;
	ck_assert(w_ask_raw(w, g, two, len + sizeof(opt), 512, &m));
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_FORMERR);
	dns_msg_clear(&m);
	memcpy(two, pkt, len);
	two[len - 11] = 0xc0; /* owner "." -> pointer to the qname */
	memmove(two + len - 9, two + len - 10, 10);
	two[len - 10] = 12;
	ck_assert(w_ask_raw(w, g, two, len + 1, 512, &m));
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_FORMERR);
	dns_msg_clear(&m);
	memcpy(two, pkt, len);
	two[len - 1] = 3; /* RDLENGTH 3 ... */
	two[len] = 0;     /* ... holding half an option */
	two[len + 1] = 10;
	two[len + 2] = 0;
	ck_assert(w_ask_raw(w, g, two, len + 3, 512, &m));
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_FORMERR);
	dns_msg_clear(&m);
	/* EDNS version 1: BADVERS (RFC 6891 §6.1.3). */
	memcpy(two, pkt, len);
	two[len - 5] = 1;
	ck_assert(w_ask_raw(w, g, two, len, 512, &m));
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_BADVERS);
	ck_assert(m.edns.present);
	ck_assert_uint_eq(m.edns.version, 0);
	dns_msg_clear(&m);
	/* Opcode STATUS and class HS: REFUSED; ANY: NOTIMP. */
	len = w_query(pkt, sizeof(pkt), 4, "www.example.", DNS_T_A, DNS_C_IN, -1, false, 2 << 11);
	ck_assert(w_ask_raw(w, g, pkt, len, 512, &m));
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_REFUSED);
	dns_msg_clear(&m);
	len = w_query(pkt, sizeof(pkt), 5, "www.example.", DNS_T_A, 4, -1, false, 0);
	ck_assert(w_ask_raw(w, g, pkt, len, 512, &m));
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_REFUSED);
	dns_msg_clear(&m);
	len = w_query(pkt, sizeof(pkt), 6, "www.example.", DNS_T_ANY, DNS_C_IN, -1, false, 0);
	ck_assert(w_ask_raw(w, g, pkt, len, 512, &m));
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOTIMP);
	dns_msg_clear(&m);

	/* The gateway still answers. */
	w_ask(w, g, "www.example.", DNS_T_A, -1, false, 0, 512, &m);
	ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_A), 3);
	dns_msg_clear(&m);
	gw_free(g);
	world_free(w);
}
END_TEST

START_TEST(cache_and_coalescing)
{
	struct world *w = world_new(&kad16_ops, NODES, 107);
	struct gw *g = w_gateway(w, 0);
	struct dns_msg m;
	struct gw_stats st;

	/* Two identical queries at once: one DHT get. */
	uint8_t pkt[512];
	size_t len = w_query(pkt, sizeof(pkt), 1, "www.example.", DNS_T_A, DNS_C_IN, -1, false, 0);
	struct w_ans a1 = {0}, a2 = {0};
	uint64_t g0 = dht_gets(w, 0);
	ck_assert_int_eq(gw_handle_packet(g, pkt, len, 512, w_ans_cb, &a1), 0);
	ck_assert_int_eq(gw_handle_packet(g, pkt, len, 512, w_ans_cb, &a2), 0);
	ck_assert(sim_run_cond(simnet_sim(w->net), w_ans_done, &a1, 60ULL * 1000000));
	ck_assert(a2.done && !a2.dropped);
	ck_assert_uint_eq(dht_gets(w, 0) - g0, 1);
	gw_get_stats(g, &st);
	ck_assert_uint_eq(st.coalesced, 1);
	free(a1.pkt);
	free(a2.pkt);

	/* Cache hits do not touch the DHT, positive or negative; the answer
	 * comes before gw_handle_packet returns. */
	w_ask(w, g, "missing.example.", DNS_T_A, -1, false, 0, 512, &m);
	dns_msg_clear(&m);
	uint64_t g1 = dht_gets(w, 0);
	for (int i = 0; i < 5; i++) {
		struct w_ans a = {0};
		len = w_query(pkt, sizeof(pkt), 2, i % 2 ? "www.example." : "missing.example.",
			      DNS_T_A, DNS_C_IN, -1, false, 0);
		ck_assert_int_eq(gw_handle_packet(g, pkt, len, 512, w_ans_cb, &a), 0);
		ck_assert(a.done && !a.dropped);
		free(a.pkt);
	}
	ck_assert_uint_eq(dht_gets(w, 0), g1);
	gw_get_stats(g, &st);
	ck_assert_uint_eq(st.answered_from_cache, 5);

	/* TTLs count down, and an expired entry goes back to the DHT. */
	simnet_run(w->net, 3ULL * 1000000);
	w_ask(w, g, "short.example.", DNS_T_A, -1, false, 0, 512, &m);
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].rr[0].ttl, 5);
	dns_msg_clear(&m);
	simnet_run(w->net, 3ULL * 1000000);
	uint64_t g2 = dht_gets(w, 0);
	w_ask(w, g, "short.example.", DNS_T_A, -1, false, 0, 512, &m);
	ck_assert_uint_eq(dht_gets(w, 0), g2);
	ck_assert_uint_le(m.sec[DNS_S_ANSWER].rr[0].ttl, 2);
	dns_msg_clear(&m);
	simnet_run(w->net, 3ULL * 1000000);
	w_ask(w, g, "short.example.", DNS_T_A, -1, false, 0, 512, &m);
	ck_assert_uint_eq(dht_gets(w, 0), g2 + 1);
	dns_msg_clear(&m);
	/* The negative cache lasts neg_ttl (60 s); past it the cached denial
	 * block still answers (its NSEC TTL is 300 s, RFC 8198), and past
	 * that the name goes back to the DHT. */
	simnet_run(w->net, 61ULL * 1000000);
	g2 = dht_gets(w, 0);
	w_ask(w, g, "missing.example.", DNS_T_A, -1, false, 0, 512, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NXDOMAIN);
	ck_assert_uint_eq(dht_gets(w, 0), g2);
	dns_msg_clear(&m);
	gw_get_stats(g, &st);
	ck_assert_uint_eq(st.denial_from_cache, 1);
	simnet_run(w->net, 240ULL * 1000000);
	w_ask(w, g, "missing.example.", DNS_T_A, -1, false, 0, 512, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NXDOMAIN);
	ck_assert_uint_gt(dht_gets(w, 0), g2);
	dns_msg_clear(&m);

	/* Freeing the gateway with a query in flight: its callback runs with
	 * NULL, and the DHT's late answer is discarded safely. */
	struct w_ans a3 = {0};
	len = w_query(pkt, sizeof(pkt), 3, "onlya.example.", DNS_T_A, DNS_C_IN, -1, false, 0);
	ck_assert_int_eq(gw_handle_packet(g, pkt, len, 512, w_ans_cb, &a3), 0);
	ck_assert(!a3.done);
	gw_free(g);
	ck_assert(a3.done && a3.dropped);
	simnet_run(w->net, 10ULL * 1000000);
	world_free(w);
}
END_TEST

/* Compare mode: every lookup through both overlays (two networks here, one
 * per overlay, stepped together); the first validated answer is used and
 * both are counted. */
struct two_ans {
	struct w_ans a;
	struct gw *g;
};

static bool both_done(void *arg)
{
	struct two_ans *t = arg;
	struct gw_stats st;
	gw_get_stats(t->g, &st);
	return t->a.done && st.ovl[0].found + st.ovl[0].notfound + st.ovl[0].failed ==
				    st.ovl[0].lookups &&
	       st.ovl[1].found + st.ovl[1].notfound + st.ovl[1].failed == st.ovl[1].lookups;
}

START_TEST(compare_mode)
{
	struct world *k = world_new(&kad16_ops, 10, 108);
	struct world *c = world_new(&chord_ops, 10, 109);
	struct gw_params p;
	int err;
	gw_params_default(&p);
	p.mode = GW_MODE_COMPARE;
	p.overlays[0].name = "kad16";
	p.overlays[0].dht = simnet_dht(k->net, 0);
	p.overlays[1].name = "chord";
	p.overlays[1].dht = simnet_dht(c->net, 0);
	p.noverlays = 2;
	struct gw *g = gw_new(NULL, &p, &err);
	ck_assert_ptr_nonnull(g);
	const char *names[] = {"www.example.", "alias.example.", "missing.example."};
	for (int i = 0; i < 3; i++) {
		uint8_t pkt[512];
		size_t len = w_query(pkt, sizeof(pkt), 1, names[i], DNS_T_A, DNS_C_IN, -1, false, 0);
		struct two_ans t = {.g = g};
		ck_assert_int_eq(gw_handle_packet(g, pkt, len, 512, w_ans_cb, &t.a), 0);
		for (int n = 0; n < 200000 && !both_done(&t); n++) {
			sim_step(simnet_sim(k->net));
			sim_step(simnet_sim(c->net));
		}
		ck_assert(both_done(&t));
		struct dns_msg m;
		dns_msg_init(&m);
		ck_assert_int_eq(dns_msg_parse(&m, t.a.pkt, t.a.len), 0);
		ck_assert_uint_eq(dns_msg_rcode(&m), i == 2 ? DNS_R_NXDOMAIN : DNS_R_NOERROR);
		if (i < 2)
			ck_assert(has_a(&m, "192.0.2.3"));
		dns_msg_clear(&m);
		free(t.a.pkt);
	}
	struct gw_stats st;
	gw_get_stats(g, &st);
	ck_assert_uint_eq(st.noverlays, 2);
	/* www: A; alias: A, CNAME (www cached); missing: A, CNAME, NSEC, SOA,
	 * its denial block. */
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(st.ovl[i].lookups, 8);
		ck_assert_uint_eq(st.ovl[i].found, 4);
		ck_assert_uint_eq(st.ovl[i].notfound, 4);
		ck_assert_uint_eq(st.ovl[i].rpcs.n, 8);
		ck_assert_uint_eq(st.ovl[i].hops.n, 8);
	}
	ck_assert_str_eq(st.ovl[1].name, "chord");
	ck_assert_uint_eq(st.ovl[0].first + st.ovl[1].first, 4);
	gw_free(g);
	world_free(c);
	world_free(k);
}
END_TEST

START_TEST(rcode_mapping)
{
	int ede;
	ck_assert_int_eq(gw_rcode_of(0, &ede), DNS_R_NOERROR);
	ck_assert_int_eq(ede, -1);
	ck_assert_int_eq(gw_rcode_of(DDNS_ENOTFOUND, &ede), DNS_R_NXDOMAIN);
	ck_assert_int_eq(ede, -1);
	static const struct {
		int err, ede;
	} v[] = {{DDNS_EBOGUS, 6},	{DDNS_EOUTOFZONE, 6}, {DDNS_EMALFORMED, 6},
		 {DDNS_EEXPIRED, 7},	{DDNS_ENOTYET, 8},    {DDNS_ENOKEY, 9},
		 {DDNS_EBADDS, 9},	{DDNS_ENOCHAIN, 10},  {DDNS_EUNSUPPORTED, 1},
		 {DDNS_ETIMEDOUT, 22},	{DDNS_ECANCELLED, 23}, {-ENOMEM, 0}};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		ck_assert_int_eq(gw_rcode_of(v[i].err, &ede), DNS_R_SERVFAIL);
		ck_assert_int_eq(ede, v[i].ede);
	}
}
END_TEST

/* Overload: with max_pending queries waiting for the DHT, a query that
 * needs a new lookup gets SERVFAIL "overloaded" at once, while an answer in
 * the cache is still served and a query for a name already being fetched
 * joins that fetch. */
START_TEST(overload_spares_cached_answers)
{
	struct world *w = world_new(&kad16_ops, NODES, 107);
	struct gw_params p;
	int err;
	gw_params_default(&p);
	p.overlays[0].name = "kad16";
	p.overlays[0].dht = simnet_dht(w->net, 0);
	p.noverlays = 1;
	p.max_pending = 2;
	struct gw *g = gw_new(NULL, &p, &err);
	ck_assert_ptr_nonnull(g);
	struct dns_msg m;
	w_ask(w, g, "www.example.", DNS_T_A, -1, false, 0, 512, &m); /* now cached */
	dns_msg_clear(&m);
	/* names no node has: each needs the network */
	static const char *const names[] = {"nx1.example.", "nx2.example.", "nx3.example.",
					    "nx4.example."};
	struct w_ans a[6];
	memset(a, 0, sizeof(a));
	uint8_t pkt[512];
	for (int i = 0; i < 4; i++) {
		size_t len = w_query(pkt, sizeof(pkt), (uint16_t)(100 + i), names[i], DNS_T_A,
				     DNS_C_IN, 1232, false, 0);
		ck_assert_int_eq(gw_handle_packet(g, pkt, len, 512, w_ans_cb, &a[i]), 0);
	}
	/* two wait; with them (and itself) pending, the third and fourth are refused */
	ck_assert(!a[0].done && !a[1].done);
	for (int i = 2; i < 4; i++) {
		ck_assert(a[i].done && !a[i].dropped);
		dns_msg_init(&m);
		ck_assert_int_eq(dns_msg_parse(&m, a[i].pkt, a[i].len), 0);
		ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_SERVFAIL);
		ck_assert_int_eq(w_ede(&m), 0);
		dns_msg_clear(&m);
	}
	/* the cached name is answered at once, and a name being fetched joins */
	size_t len = w_query(pkt, sizeof(pkt), 200, "www.example.", DNS_T_A, DNS_C_IN, -1, false, 0);
	ck_assert_int_eq(gw_handle_packet(g, pkt, len, 512, w_ans_cb, &a[4]), 0);
	ck_assert(a[4].done);
	dns_msg_init(&m);
	ck_assert_int_eq(dns_msg_parse(&m, a[4].pkt, a[4].len), 0);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert_uint_eq(w_count(&m, DNS_S_ANSWER, DNS_T_A), 3);
	dns_msg_clear(&m);
	len = w_query(pkt, sizeof(pkt), 201, names[0], DNS_T_A, DNS_C_IN, -1, false, 0);
	ck_assert_int_eq(gw_handle_packet(g, pkt, len, 512, w_ans_cb, &a[5]), 0);
	ck_assert(!a[5].done);
	ck_assert(sim_run_cond(simnet_sim(w->net), w_ans_done, &a[5], 120ULL * 1000000));
	dns_msg_init(&m);
	ck_assert_int_eq(dns_msg_parse(&m, a[5].pkt, a[5].len), 0);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NXDOMAIN);
	dns_msg_clear(&m);
	struct gw_stats st;
	gw_get_stats(g, &st);
	ck_assert_uint_eq(st.overload, 2);
	for (int i = 0; i < 2; i++)
		ck_assert(sim_run_cond(simnet_sim(w->net), w_ans_done, &a[i], 120ULL * 1000000));
	for (int i = 0; i < 6; i++)
		free(a[i].pkt);
	gw_free(g);
	world_free(w);
}
END_TEST

/*
 * The chain check before serving: with gw_params.current, a block is served
 * only when its DS links are the parent's DS blocks in the DHT. The root
 * then publishes a DS for another key of example. (a rollover gone wrong):
 * the blocks of example. still carry the old DS and the DHT accepts them,
 * but once the old DS's TTL has passed the gateway answers SERVFAIL, EDE 9
 * (DNSKEY Missing), and counts the checks and their RPCs.
 */
START_TEST(current_chain)
{
	struct world *w = world_new(&kad16_ops, NODES, 111);
	/* On a node with no copy of the DS, its key cache cold (the world's
	 * nodes share one validator): the check fetches the DS. */
	uint8_t dk[DHT_KEY_LEN];
	struct dns_name en = w_name("example.");
	dns_block_key(&en, DNS_T_DS, dk);
	size_t at = 0;
	while (dht_local(simnet_dht(w->net, at), dk, NULL) != DHT_SRC_NONE)
		at++;
	ddns_blockval_flush(w->bv);
	struct gw *g = w_gateway_current(w, at, true);
	struct dns_msg m;
	struct gw_stats st;
	w_ask(w, g, "www.example.", DNS_T_A, 1232, true, DNS_F_RD, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert(m.flags & DNS_F_AD);
	dns_msg_clear(&m);
	gw_get_stats(g, &st);
	ck_assert_uint_eq(st.current_checks, 1);
	ck_assert_uint_eq(st.current_failed, 0);
	ck_assert_uint_ge(st.current_rpcs, 1);
	/* The DS is confirmed now: the next block needs no fetch. */
	uint64_t rpcs = st.current_rpcs;
	w_ask(w, g, "onlya.example.", DNS_T_A, 1232, true, DNS_F_RD, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	dns_msg_clear(&m);
	gw_get_stats(g, &st);
	ck_assert_uint_eq(st.current_checks, 2);
	ck_assert_uint_eq(st.current_rpcs, rpcs);
	{
		/* stats.ddns reports the validator's work: its signature
		 * checks, and the ones it had verified before (the check
		 * re-verifies the signature the DHT verified when the block
		 * was stored or fetched: a cache hit, no arithmetic). */
		uint8_t pkt[512];
		size_t len = w_query(pkt, sizeof(pkt), 9, "stats.ddns.", DNS_T_TXT, DNS_C_CH, -1,
				     false, 0);
		ck_assert(w_ask_raw(w, g, pkt, len, 0, &m));
		struct ddns_blockval_stats bs;
		ddns_blockval_get_stats(w->bv, &bs);
		ck_assert_int_eq(txt_val(&m, "validator ", "sig_verified"), (long long)bs.sig_computed);
		ck_assert_int_eq(txt_val(&m, "validator ", "sig_cache_hits"),
				 (long long)bs.sig_cache_hits);
		ck_assert_int_eq(txt_val(&m, "validator ", "key_cache_hits"),
				 (long long)bs.key_cache_hits);
		ck_assert_uint_gt(bs.sig_computed, 0);
		ck_assert_uint_gt(bs.sig_cache_hits, 0);
		ck_assert_uint_ge(bs.keys_parsed, bs.key_cache_hits);
		dns_msg_clear(&m);
	}

	/* The root's new DS for example., signed later than the first. */
	struct dnssec_key *other;
	ck_assert_int_eq(dnssec_key_generate(&en, 13, 257, 0, &other), 0);
	size_t klen, dslen;
	const uint8_t *krd = dnssec_key_rdata(other, &klen);
	uint8_t ds[64];
	ck_assert_int_eq(dnssec_ds_make(&en, krd, klen, 2, ds, sizeof(ds), &dslen), 0);
	struct dns_rrlist l;
	dns_rrlist_init(&l);
	ck_assert_int_eq(dns_rrlist_add_parts(&l, &en, DNS_T_DS, DNS_C_IN, 3600, ds, dslen), 0);
	ck_assert_int_eq(dnssec_sign_rrset(w->rk, l.rr, 1, (uint32_t)(W_T0 - 1800),
					   (uint32_t)(W_T0 + 30 * 86400), &l),
			 0);
	struct dns_blocklist bl;
	dns_blocklist_init(&bl);
	ck_assert_int_eq(dns_block_build_zone(&l, NULL, false, &bl), 0);
	ck_assert_uint_eq(bl.n, 1);
	w_put(w, 3, bl.v[0].key, bl.v[0].data, bl.v[0].len, true);

	/* Past the old DS's TTL and every cached answer's. */
	simnet_run(w->net, 3601ULL * 1000000);
	w_ask(w, g, "www.example.", DNS_T_AAAA, 1232, true, DNS_F_RD, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_SERVFAIL);
	ck_assert_int_eq(w_ede(&m), 9);
	dns_msg_clear(&m);
	w_ask(w, g, "www.example.", DNS_T_A, 1232, true, DNS_F_RD, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_SERVFAIL);
	dns_msg_clear(&m);
	gw_get_stats(g, &st);
	ck_assert_uint_ge(st.current_failed, 2);

	/* The same world through a gateway without the check still answers
	 * from the carried chain: that is what the check is for. */
	struct gw *g2 = w_gateway_current(w, (at + 1) % NODES, false);
	w_ask(w, g2, "www.example.", DNS_T_AAAA, 1232, true, DNS_F_RD, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	dns_msg_clear(&m);
	gw_free(g2);
	dns_blocklist_free(&bl);
	dns_rrlist_free(&l);
	dnssec_key_free(other);
	gw_free(g);
	world_free(w);
}
END_TEST

/* The owner and the RRSIG Labels field of the first record of type in s. */
static const struct dns_rr *first_of(const struct dns_msg *m, enum dns_section s, uint16_t type)
{
	for (size_t i = 0; i < m->sec[s].n; i++)
		if (m->sec[s].rr[i].type == type)
			return &m->sec[s].rr[i];
	return NULL;
}

START_TEST(denial_blocks_and_wildcards)
{
	struct world *w = world_new(&kad16_ops, NODES, 111);
	struct gw *g = w_gateway(w, 0);
	struct dns_msg m;
	struct gw_stats st;

	/* A missing name: NXDOMAIN proven by the denial block of its class,
	 * AD; the covering NSEC is loop2's (loop2 < missing < ns). */
	w_ask(w, g, "missing.example.", DNS_T_A, 1232, true, 0, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NXDOMAIN);
	ck_assert(m.flags & DNS_F_AD);
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_NSEC), 2);
	{
		struct dns_name l2 = w_name("loop2.example."), ex = w_name("example.");
		bool cover = false, wild = false;
		for (size_t i = 0; i < m.sec[DNS_S_AUTHORITY].n; i++) {
			const struct dns_rr *r = &m.sec[DNS_S_AUTHORITY].rr[i];
			if (r->type != DNS_T_NSEC)
				continue;
			cover |= dns_name_equal(&r->owner, &l2);
			wild |= dns_name_equal(&r->owner, &ex); /* covers *.example. */
		}
		ck_assert(cover && wild);
	}
	dns_msg_clear(&m);

	/* Another missing name of the same class: from the cached block, no
	 * get at all (RFC 8198). */
	uint64_t before = dht_gets(w, 0);
	w_ask(w, g, "mzzz.example.", DNS_T_AAAA, 1232, true, 0, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NXDOMAIN);
	ck_assert(m.flags & DNS_F_AD);
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_NSEC), 2);
	ck_assert_uint_eq(dht_gets(w, 0), before);
	dns_msg_clear(&m);
	gw_get_stats(g, &st);
	ck_assert_uint_eq(st.denial_from_cache, 1);
	ck_assert_uint_eq(st.denial_proofs, 2);
	/* A missing name of another class of the known zone: its class's
	 * block alone, one get. */
	before = dht_gets(w, 0);
	w_ask(w, g, "qqq.example.", DNS_T_A, 1232, true, 0, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NXDOMAIN);
	ck_assert(m.flags & DNS_F_AD);
	ck_assert_uint_eq(dht_gets(w, 0) - before, 1);
	dns_msg_clear(&m);

	/* Below a wildcard: the answer is synthesised from *.wild.example.
	 * (owner rewritten, RRSIG Labels 2 < 3 labels), with the NSEC that
	 * proves foo.wild.example. itself does not exist; AD. */
	w_ask(w, g, "foo.wild.example.", DNS_T_A, 1232, true, 0, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert(has_a(&m, "192.0.2.42"));
	ck_assert(m.flags & DNS_F_AD);
	{
		struct dns_name foo = w_name("foo.wild.example.");
		const struct dns_rr *a = first_of(&m, DNS_S_ANSWER, DNS_T_A);
		const struct dns_rr *sig = first_of(&m, DNS_S_ANSWER, DNS_T_RRSIG);
		ck_assert_ptr_nonnull(a);
		ck_assert_ptr_nonnull(sig);
		ck_assert(dns_name_equal(&a->owner, &foo));
		ck_assert(dns_name_equal(&sig->owner, &foo));
		ck_assert_uint_eq(sig->rdata[3], 2); /* Labels */
	}
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_NSEC), 1);
	dns_msg_clear(&m);
	/* ... the wildcard has no AAAA: NODATA, proven by its NSEC; AD. */
	w_ask(w, g, "bar.wild.example.", DNS_T_AAAA, 1232, true, 0, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].n, 0);
	ck_assert(m.flags & DNS_F_AD);
	ck_assert_uint_ge(w_count(&m, DNS_S_AUTHORITY, DNS_T_NSEC), 1);
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_SOA), 1);
	dns_msg_clear(&m);
	/* The empty non-terminal wild.example. exists: not NXDOMAIN. */
	w_ask(w, g, "wild.example.", DNS_T_A, -1, false, 0, 512, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NOERROR);
	ck_assert_uint_eq(m.sec[DNS_S_ANSWER].n, 0);
	dns_msg_clear(&m);

	/* A TLD that does not exist: proven by the root's denial block. */
	w_ask(w, g, "nosuchtld.", DNS_T_A, 1232, true, 0, 1232, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NXDOMAIN);
	ck_assert(m.flags & DNS_F_AD);
	{
		const struct dns_rr *soa = first_of(&m, DNS_S_AUTHORITY, DNS_T_SOA);
		struct dns_name root = w_name(".");
		ck_assert_ptr_nonnull(soa);
		ck_assert(dns_name_equal(&soa->owner, &root));
	}
	ck_assert_uint_ge(w_count(&m, DNS_S_AUTHORITY, DNS_T_NSEC), 1);
	dns_msg_clear(&m);
	/* Without DO: the same rcode, no proof records. */
	w_ask(w, g, "nothere.example.", DNS_T_A, -1, false, 0, 512, &m);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_NXDOMAIN);
	ck_assert_uint_eq(w_count(&m, DNS_S_AUTHORITY, DNS_T_NSEC), 0);
	ck_assert(!(m.flags & DNS_F_AD));
	dns_msg_clear(&m);
	gw_get_stats(g, &st);
	ck_assert_uint_eq(st.wildcard_answers, 1);
	gw_free(g);
	world_free(w);
}
END_TEST

START_TEST(denial_block_forged)
{
	struct world *w = world_new(&kad16_ops, 4, 112);
	struct dns_name ex = w_name("example."), loc;
	ck_assert_int_eq(dns_denial_locator(&ex, 'm', &loc), 0);
	const struct dns_block_out *b = NULL;
	for (size_t i = 0; i < w->blocks.n; i++)
		if (w->blocks.v[i].type == DNS_DENIAL_TYPE && dns_name_equal(&w->blocks.v[i].owner, &loc))
			b = &w->blocks.v[i];
	ck_assert_ptr_nonnull(b);
	struct dht_block_meta meta;
	char why[128];
	ck_assert_int_eq(ddns_blockval_check(w->bv, b->key, b->data, b->len, 0, &meta, why,
					     sizeof(why)),
			 0);
	/* Under another class's key: refused. */
	struct dns_name loc2;
	uint8_t k2[DHT_KEY_LEN];
	ck_assert_int_eq(dns_denial_locator(&ex, 'n', &loc2), 0);
	dns_block_key(&loc2, DNS_DENIAL_TYPE, k2);
	ck_assert_int_eq(ddns_blockval_check(w->bv, k2, b->data, b->len, 0, &meta, why,
					     sizeof(why)),
			 DDNS_EBOGUS);
	/* Each NSEC set's signature altered: refused; and a block trimmed of
	 * any one NSEC set no longer proves its class whole: refused, so a
	 * node can neither forge a proof nor serve a partial one. */
	struct dns_block blk;
	dns_block_init(&blk);
	ck_assert_int_eq(dns_block_decode(&blk, b->data, b->len), 0);
	ck_assert(blk.denial);
	ck_assert_uint_ge(blk.nmore, 1); /* loop2's NSEC, and the apex's for *.example. */
	for (size_t i = 0; i <= blk.nmore; i++) {
		struct dns_block_set *set = i ? &blk.more[i - 1] : &blk.data;
		struct dns_rr *sig = &set->sigs.rr[0];
		sig->rdata[sig->rdlen - 1] ^= 0x40;
		struct ddns_wbuf wb;
		ddns_wbuf_init(&wb, DNS_BLOCK_MAX);
		ck_assert_int_eq(dns_block_encode(&blk, &wb), 0);
		ck_assert_int_eq(ddns_blockval_check(w->bv, b->key, wb.p, wb.len, 0, &meta, why,
						     sizeof(why)),
				 DDNS_EBOGUS);
		ddns_wbuf_free(&wb);
		sig->rdata[sig->rdlen - 1] ^= 0x40;
	}
	for (size_t drop = 0; drop < blk.nmore; drop++) {
		struct dns_block t = blk;
		struct dns_block_set *keep = malloc(blk.nmore * sizeof(*keep));
		size_t k = 0;
		ck_assert_ptr_nonnull(keep);
		for (size_t i = 0; i < blk.nmore; i++)
			if (i != drop)
				keep[k++] = blk.more[i];
		t.more = keep;
		t.nmore = k;
		struct ddns_wbuf wb;
		ddns_wbuf_init(&wb, DNS_BLOCK_MAX);
		ck_assert_int_eq(dns_block_encode(&t, &wb), 0);
		ck_assert_int_eq(ddns_blockval_check(w->bv, b->key, wb.p, wb.len, 0, &meta, why,
						     sizeof(why)),
				 DDNS_EBOGUS);
		ddns_wbuf_free(&wb);
		free(keep);
	}
	dns_block_clear(&blk);
	world_free(w);
}
END_TEST

static Suite *gateway_suite(void)
{
	Suite *s = suite_create("gateway");
	TCase *tc = tcase_create("sim");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, noerror_ad_rrsig);
	tcase_add_test(tc, cname_and_negative);
	tcase_add_test(tc, denial_blocks_and_wildcards);
	tcase_add_test(tc, denial_block_forged);
	tcase_add_test(tc, truncation_and_stream);
	tcase_add_test(tc, amplification_bound);
	tcase_add_test(tc, forged_replicas);
	tcase_add_test(tc, stats_chaos);
	tcase_add_test(tc, malformed_queries);
	tcase_add_test(tc, cache_and_coalescing);
	tcase_add_test(tc, compare_mode);
	tcase_add_test(tc, rcode_mapping);
	tcase_add_test(tc, overload_spares_cached_answers);
	tcase_add_test(tc, current_chain);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(gateway_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
