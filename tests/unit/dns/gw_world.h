/*
 * gw_world.h - shared by the gateway tests: a signed two-level DNS world
 * (root and example.) published as real DDNS blocks (dns/block.h) into a
 * simulated DHT network whose nodes validate through the real DNSSEC hook
 * (dns/dhtval.h), plus helpers to ask a gateway a question and wait for the
 * answer on the simulator.
 *
 * Some nodes can be turned "rogue": their hook accepts anything (with a
 * huge version, so a forged block replaces the genuine one), which is how a
 * forged copy gets onto a node despite the DHT's validation.
 */
#ifndef DDNS_TESTS_UNIT_DNS_GW_WORLD_H
#define DDNS_TESTS_UNIT_DNS_GW_WORLD_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/simnet.h"
#include "dht/dht.h"
#include "dns/block.h"
#include "dns/dhtval.h"
#include "dns/dnssec.h"
#include "dns/gateway.h"
#include "dns/msg.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/zonefile.h"

#define W_T0 1700000000ULL /* Unix time at virtual time 0 */
#define W_BIG_TXT 80       /* records in big.example. TXT (about 20 KB) */

struct world {
	struct simnet *net;
	struct ddns_blockval *bv;
	struct dnssec_key *rk;       /* the root's key */
	struct dns_rrlist root, ex;  /* signed zones */
	struct dns_blocklist blocks; /* example.'s blocks */
	struct dht *rogue[16];
	size_t nrogue;
	unsigned long rogue_accepts;
};

static struct sim *w_sim_for_clock;

static inline uint64_t w_unix_clock(void *arg)
{
	(void)arg;
	return W_T0 + sim_now_us(w_sim_for_clock) / 1000000;
}

static inline bool w_is_rogue(struct world *w, struct dht *d)
{
	for (size_t i = 0; i < w->nrogue; i++)
		if (w->rogue[i] == d)
			return true;
	return false;
}

static inline void w_validate(void *arg, struct dht *d, const uint8_t key[DHT_KEY_LEN], const uint8_t *blk,
		       size_t len, dht_validate_done_cb done, void *done_arg)
{
	struct world *w = arg;
	if (w_is_rogue(w, d)) {
		struct dht_block_meta m;
		memset(&m, 0, sizeof(m));
		m.zone_len = 1;
		m.version = UINT64_MAX / 2;
		m.expire_us = UINT64_MAX / 2;
		w->rogue_accepts++;
		done(done_arg, 0, &m);
		return;
	}
	ddns_blockval_validate(w->bv, d, key, blk, len, done, done_arg);
}

static inline struct dns_name w_name(const char *s)
{
	struct dns_name n;
	ck_assert_int_eq(dns_name_from_str(&n, s, NULL), 0);
	return n;
}

static inline void w_load(struct dns_rrlist *l, const char *text, const char *origin)
{
	char err[256] = "";
	struct dns_name o = w_name(origin);
	int rc = dns_zone_load_string(text, &o, 3600, l, err, sizeof(err));
	ck_assert_msg(rc == 0, "zone %s: %s", origin, err);
}

static inline void w_add_key(struct dns_rrlist *l, struct dnssec_key *k)
{
	size_t len;
	const uint8_t *rd = dnssec_key_rdata(k, &len);
	ck_assert_int_eq(dns_rrlist_add_parts(l, dnssec_key_owner(k), DNS_T_DNSKEY, DNS_C_IN, 3600,
					      rd, len),
			 0);
}

static inline void w_sign(struct dns_rrlist *z, const char *apex, struct dnssec_key *k)
{
	struct dns_name a = w_name(apex);
	size_t nsigs;
	ck_assert_int_eq(dnssec_nsec_chain(z, &a, 300), 0);
	ck_assert_int_eq(dnssec_zone_sign(z, &a, &k, 1, (uint32_t)(W_T0 - 3600),
					  (uint32_t)(W_T0 + 30 * 86400), &nsigs),
			 0);
	ck_assert_uint_gt(nsigs, 0);
}

struct w_batch {
	size_t outstanding, failed;
};

static inline bool w_batch_done(void *arg) { return ((struct w_batch *)arg)->outstanding == 0; }

static inline void w_put_cb(void *arg, const struct dht_put_result *res)
{
	struct w_batch *b = arg;
	if (res->status != 0)
		b->failed++;
	b->outstanding--;
}

static inline void w_put(struct world *w, size_t from, const uint8_t *key, const uint8_t *blk, size_t len,
		  bool expect_ok)
{
	struct w_batch b = {0, 0};
	ck_assert_int_eq(dht_put(simnet_dht(w->net, from), key, blk, len, w_put_cb, &b), 0);
	b.outstanding = 1;
	ck_assert(sim_run_cond(simnet_sim(w->net), w_batch_done, &b, 300ULL * 1000000));
	if (expect_ok)
		ck_assert_uint_eq(b.failed, 0);
}

/* Build the world: keys, zones, blocks, a network of `nodes` nodes of ops,
 * every block put. */
static inline struct world *world_new(const struct ovl_ops *ops, size_t nodes, uint64_t seed)
{
	struct world *w = calloc(1, sizeof(*w));
	struct dnssec_key *rk, *ek;
	struct dns_name rn = w_name("."), en = w_name("example.");
	ck_assert_ptr_nonnull(w);
	dns_rrlist_init(&w->root);
	dns_rrlist_init(&w->ex);
	dns_blocklist_init(&w->blocks);
	ck_assert_int_eq(dnssec_key_generate(&rn, 13, 257, 0, &rk), 0);
	ck_assert_int_eq(dnssec_key_generate(&en, 13, 257, 0, &ek), 0);

	/* example. */
	char *text = malloc(64 * 1024);
	size_t off = (size_t)snprintf(text, 64 * 1024,
		"@ SOA ns.example. host.example. 1 7200 3600 1209600 300\n"
		"@ NS ns.example.\n"
		"ns A 192.0.2.53\n"
		"www A 192.0.2.1\nwww A 192.0.2.2\nwww A 192.0.2.3\n"
		"www AAAA 2001:db8::1\n"
		"alias CNAME www\n"
		"alias2 CNAME alias\n"
		"dangling CNAME nowhere\n"
		"loop1 CNAME loop2\nloop2 CNAME loop1\n"
		"onlya A 192.0.2.9\n"
		"forged1 A 192.0.2.77\nforged2 A 192.0.2.78\nforged3 A 192.0.2.79\n"
		"forged4 A 192.0.2.80\nallforged A 192.0.2.99\n"
		"short 5 A 192.0.2.5\n"
		"*.wild A 192.0.2.42\n");
	for (int i = 0; i < W_BIG_TXT; i++) {
		off += (size_t)snprintf(text + off, 64 * 1024 - off, "big TXT \"%03d", i);
		for (int j = 0; j < 240; j++)
			text[off++] = (char)('a' + (i + j) % 26);
		off += (size_t)snprintf(text + off, 64 * 1024 - off, "\"\n");
	}
	w_load(&w->ex, text, "example.");
	free(text);
	w_add_key(&w->ex, ek);
	w_sign(&w->ex, "example.", ek);

	/* The root: delegates example. with a DS for ek. */
	w_load(&w->root,
	       "@ SOA a.root. host.root. 1 7200 3600 1209600 300\n"
	       "@ NS a.root.\n"
	       "example. NS ns.example.\n",
	       ".");
	{
		size_t klen;
		const uint8_t *krd = dnssec_key_rdata(ek, &klen);
		uint8_t ds[64];
		size_t dslen;
		ck_assert_int_eq(dnssec_ds_make(&en, krd, klen, 2, ds, sizeof(ds), &dslen), 0);
		ck_assert_int_eq(dns_rrlist_add_parts(&w->root, &en, DNS_T_DS, DNS_C_IN, 3600, ds,
						      dslen),
				 0);
	}
	w_add_key(&w->root, rk);
	w_sign(&w->root, ".", rk);
	ck_assert_int_eq(dns_block_build_zone(&w->ex, &w->root, true, &w->blocks), 0);
	/* The denial blocks of both zones (the root's proves missing TLDs). */
	ck_assert_int_eq(dns_block_build_denial(&w->ex, &w->root, true, &w->blocks), 0);
	ck_assert_int_eq(dns_block_build_denial(&w->root, NULL, false, &w->blocks), 0);

	/* The trust anchor: the root's DNSKEY. */
	struct dns_rr anchor;
	memset(&anchor, 0, sizeof(anchor));
	anchor.owner = rn;
	anchor.type = DNS_T_DNSKEY;
	anchor.rclass = DNS_C_IN;
	anchor.ttl = 3600;
	size_t alen;
	anchor.rdata = (uint8_t *)dnssec_key_rdata(rk, &alen);
	anchor.rdlen = (uint16_t)alen;
	int err;
	w->bv = ddns_blockval_new(&anchor, 1, w_unix_clock, NULL, 0, &err);
	ck_assert_ptr_nonnull(w->bv);
	w->rk = rk;
	dnssec_key_free(ek);

	struct simnet_params sp;
	simnet_params_default(&sp);
	sp.ops = ops;
	sp.seed = seed;
	sp.join_gap_us = 50000;
	sp.settle_us = 20000000;
	sp.validate = w_validate;
	sp.validate_arg = w;
	w->net = simnet_new(&sp);
	ck_assert_ptr_nonnull(w->net);
	w_sim_for_clock = simnet_sim(w->net);
	ck_assert_int_eq(simnet_grow(w->net, nodes), 0);
	for (size_t i = 0; i < w->blocks.n; i++) {
		const struct dns_block_out *b = &w->blocks.v[i];
		w_put(w, simnet_random_live(w->net), b->key, b->data, b->len, true);
	}
	/* The root's DNSKEY and its DS for example., as the root publishes
	 * them: the blocks a gateway's current check fetches; and its SOA,
	 * which names the zone of a missing TLD. */
	struct dns_blocklist rb;
	dns_blocklist_init(&rb);
	ck_assert_int_eq(dns_block_build_zone(&w->root, NULL, false, &rb), 0);
	for (size_t i = 0; i < rb.n; i++)
		if (rb.v[i].type == DNS_T_DS || rb.v[i].type == DNS_T_DNSKEY ||
		    rb.v[i].type == DNS_T_SOA)
			w_put(w, simnet_random_live(w->net), rb.v[i].key, rb.v[i].data, rb.v[i].len,
			      true);
	dns_blocklist_free(&rb);
	return w;
}

static inline void world_free(struct world *w)
{
	if (!w)
		return;
	simnet_free(w->net);
	ddns_blockval_free(w->bv);
	dnssec_key_free(w->rk);
	dns_rrlist_free(&w->root);
	dns_rrlist_free(&w->ex);
	dns_blocklist_free(&w->blocks);
	free(w);
}

static inline const struct dns_block_out *w_block(struct world *w, const char *name, uint16_t type)
{
	struct dns_name n = w_name(name);
	for (size_t i = 0; i < w->blocks.n; i++)
		if (w->blocks.v[i].type == type && dns_name_equal(&w->blocks.v[i].owner, &n))
			return &w->blocks.v[i];
	ck_abort_msg("no block %s", name);
	return NULL;
}

/* Node index of each of key's replicas (the oracle's node first). */
static inline size_t w_replicas(struct world *w, const uint8_t *key, size_t *idx, size_t max)
{
	struct ovl_node rs[OVL_MAX_REPLICAS];
	size_t owner = simnet_oracle(w->net, key);
	size_t n = ovl_replica_set(simnet_ovl(w->net, owner), key, rs, max);
	size_t k = 0;
	for (size_t j = 0; j < n; j++)
		for (size_t i = 0; i < simnet_size(w->net); i++)
			if (simnet_alive(w->net, i) &&
			    memcmp(ovl_self(simnet_ovl(w->net, i))->id, rs[j].id, DDNS_ID_LEN) == 0)
				idx[k++] = i;
	return k;
}

/* Replace the copies of <name, type> on the first `count` replicas by a
 * forged block (one RDATA octet flipped, signatures unchanged). */
static inline void w_forge(struct world *w, const char *name, uint16_t type, size_t count)
{
	const struct dns_block_out *b = w_block(w, name, type);
	size_t idx[OVL_MAX_REPLICAS];
	size_t n = w_replicas(w, b->key, idx, 6);
	ck_assert_uint_ge(n, count);
	for (size_t i = 0; i < count; i++)
		w->rogue[w->nrogue++] = simnet_dht(w->net, idx[i]);
	struct dns_block blk;
	struct ddns_wbuf out;
	dns_block_init(&blk);
	ck_assert_int_eq(dns_block_decode(&blk, b->data, b->len), 0);
	blk.data.rrs.rr[0].rdata[3] ^= 0x40;
	ddns_wbuf_init(&out, 0);
	ck_assert_int_eq(dns_block_encode(&blk, &out), 0);
	/* Put from the owner itself: it stores and copies to its replicas
	 * (only rogue ones accept). */
	w_put(w, idx[0], b->key, out.p, out.len, false);
	ddns_wbuf_free(&out);
	dns_block_clear(&blk);
	for (size_t i = 0; i < count; i++) {
		uint64_t v = 0;
		ck_assert_int_eq(dht_local(simnet_dht(w->net, idx[i]), b->key, &v), DHT_SRC_LOCAL_STORE);
		ck_assert_uint_eq(v, UINT64_MAX / 2);
	}
	w->nrogue -= count; /* from now on they serve the forgery but validate honestly */
}

/* A node that holds no stored copy of any of the given blocks. */
static inline size_t w_outsider(struct world *w, const char *const *names, const uint16_t *types, size_t n)
{
	for (size_t i = 0; i < simnet_size(w->net); i++) {
		bool ok = true;
		for (size_t j = 0; j < n && ok; j++) {
			const struct dns_block_out *b = w_block(w, names[j], types[j]);
			if (dht_local(simnet_dht(w->net, i), b->key, NULL) != DHT_SRC_NONE)
				ok = false;
		}
		if (ok)
			return i;
	}
	ck_abort_msg("no outsider node");
	return 0;
}

/* ---- queries ---------------------------------------------------------- */

/* A query packet: edns < 0 for none, else the advertised UDP size. */
static inline size_t w_query(uint8_t *out, size_t cap, uint16_t id, const char *name, uint16_t type,
		      uint16_t qclass, int edns, bool do_bit, uint16_t flags)
{
	struct dns_msgw *mw = malloc(sizeof(*mw));
	struct dns_question q;
	q.qname = w_name(name);
	q.qtype = type;
	q.qclass = qclass;
	ck_assert_int_eq(dns_msgw_init(mw, id, flags, cap), 0);
	if (edns >= 0) {
		struct dns_edns e;
		memset(&e, 0, sizeof(e));
		e.present = true;
		e.udp_size = (uint16_t)edns;
		e.flags = do_bit ? DNS_EDNS_DO : 0;
		ck_assert_int_eq(dns_msgw_edns(mw, &e), 0);
	}
	ck_assert_int_eq(dns_msgw_question(mw, &q), 0);
	int len = dns_msgw_finish(mw);
	ck_assert_int_gt(len, 0);
	memcpy(out, mw->w.p, (size_t)len);
	dns_msgw_free(mw);
	free(mw);
	return (size_t)len;
}

struct w_ans {
	bool done, dropped;
	uint8_t *pkt;
	size_t len;
};

static inline void w_ans_cb(void *arg, const uint8_t *pkt, size_t len)
{
	struct w_ans *a = arg;
	ck_assert(!a->done);
	a->done = true;
	if (!pkt) {
		a->dropped = true;
		return;
	}
	a->pkt = malloc(len);
	memcpy(a->pkt, pkt, len);
	a->len = len;
}

static inline bool w_ans_done(void *arg) { return ((struct w_ans *)arg)->done; }

/* Send a raw packet and run the simulator until the answer; parse it into
 * m (when not dropped). Returns true when answered (not dropped). */
static inline bool w_ask_raw(struct world *w, struct gw *g, const uint8_t *pkt, size_t len,
		      size_t max_udp, struct dns_msg *m)
{
	struct w_ans a = {0};
	ck_assert_int_eq(gw_handle_packet(g, pkt, len, max_udp, w_ans_cb, &a), 0);
	if (!a.done)
		ck_assert(sim_run_cond(simnet_sim(w->net), w_ans_done, &a, 120ULL * 1000000));
	if (a.dropped)
		return false;
	dns_msg_init(m);
	ck_assert_int_eq(dns_msg_parse(m, a.pkt, a.len), 0);
	if (max_udp)
		ck_assert_uint_le(a.len, max_udp);
	free(a.pkt);
	return true;
}

static inline void w_ask(struct world *w, struct gw *g, const char *name, uint16_t type, int edns,
		  bool do_bit, uint16_t flags, size_t max_udp, struct dns_msg *m)
{
	uint8_t pkt[512];
	size_t len = w_query(pkt, sizeof(pkt), 0x1234, name, type, DNS_C_IN, edns, do_bit, flags);
	ck_assert(w_ask_raw(w, g, pkt, len, max_udp, m));
	ck_assert_uint_eq(m->id, 0x1234);
	ck_assert(m->flags & DNS_F_QR);
}

/* Records of type in section s. */
static inline size_t w_count(const struct dns_msg *m, enum dns_section s, uint16_t type)
{
	size_t n = 0;
	for (size_t i = 0; i < m->sec[s].n; i++)
		if (m->sec[s].rr[i].type == type)
			n++;
	return n;
}

/* The EDE info code in m, or -1. */
static inline int w_ede(const struct dns_msg *m)
{
	size_t pos = 0;
	struct dns_edns_opt o;
	while (dns_edns_opt_next(&m->edns, &pos, &o))
		if (o.code == 15 && o.len >= 2)
			return o.data[0] << 8 | o.data[1];
	return -1;
}

/* A gateway on node; current: it checks chains (gw_params.current). */
static inline struct gw *w_gateway_current(struct world *w, size_t node, bool current)
{
	struct gw_params p;
	int err;
	gw_params_default(&p);
	p.current = current ? w->bv : NULL;
	p.overlays[0].name = "kad16";
	p.overlays[0].dht = simnet_dht(w->net, node);
	p.noverlays = 1;
	p.identity = "node-under-test";
	struct gw *g = gw_new(NULL, &p, &err);
	ck_assert_msg(g != NULL, "gw_new: %s", ddns_strerror(err));
	return g;
}

static inline struct gw *w_gateway(struct world *w, size_t node)
{
	return w_gateway_current(w, node, false);
}

#endif
