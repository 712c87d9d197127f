/*
 * test_dht_dnssec.c - DDNS blocks in the DHT, validated by dns/dhtval.c, on
 * 64-node chord and kad16 networks under the simulator.
 *
 * A real chain is built in the test: keys (algorithm 13) for the root,
 * org. and example.org.; the root signs its DNSKEY RRset and the DS for
 * org.; org. signs its DNSKEY RRset and the DS for example.org. (and for
 * broken.org., a DS that matches no key of that zone); example.org. signs
 * A, AAAA, MX and TXT. Blocks are put with and without their carried
 * chain (without, storing nodes fetch DNSKEY/DS blocks from the DHT), and
 * the test checks that gets from random nodes return the right RRsets,
 * that forged blocks are refused by the storing node with their own
 * reasons, that a replayed older block is refused as stale, and that a
 * newer one replaces it and is what gets return once caches expire; and
 * that a parent's new DS makes a current check (ddns_blockval_check_current,
 * the gateway's) refuse blocks that still carry the old one.
 * Signature times are virtual: every node's clock is BASE + sim time.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/simnet.h"
#include "common/rng.h"
#include "dht/dht.h"
#include "dns/block.h"
#include "dns/dhtval.h"
#include "dns/dnssec.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "overlay/sim.h"

#define NODES 64
#define BASE 1700000000u /* Unix time at virtual time 0 */
#define INC1 (BASE - 3600)
#define INC2 (BASE - 1800)
#define EXP (BASE + 30 * 86400)

/* ---- records and keys ---- */

static struct dns_name nm(const char *s)
{
	struct dns_name n;
	ck_assert_int_eq(dns_name_from_str(&n, s, NULL), 0);
	return n;
}

static void add(struct dns_rrlist *l, const char *owner, uint32_t ttl, uint16_t type,
		const char *rdata)
{
	struct ddns_wbuf w;
	struct dns_name o = nm(owner);
	ddns_wbuf_init(&w, 65535);
	ck_assert_msg(dns_rdata_from_str(type, rdata, NULL, &w) == 0, "bad rdata %s", rdata);
	ck_assert_int_eq(dns_rrlist_add_parts(l, &o, type, DNS_C_IN, ttl, w.p, w.len), 0);
	ddns_wbuf_free(&w);
}

static void add_key(struct dns_rrlist *l, const struct dnssec_key *k)
{
	size_t len;
	const uint8_t *rd = dnssec_key_rdata(k, &len);
	ck_assert_int_eq(dns_rrlist_add_parts(l, dnssec_key_owner(k), DNS_T_DNSKEY, DNS_C_IN,
					      3600, rd, len),
			 0);
}

/* The DS (SHA-256) for key k, owned by k's owner, appended to l. */
static void add_ds(struct dns_rrlist *l, const struct dnssec_key *k)
{
	uint8_t ds[64];
	size_t dslen, len;
	const uint8_t *rd = dnssec_key_rdata(k, &len);
	ck_assert_int_eq(dnssec_ds_make(dnssec_key_owner(k), rd, len, DNSSEC_DS_SHA256, ds,
					sizeof(ds), &dslen),
			 0);
	ck_assert_int_eq(dns_rrlist_add_parts(l, dnssec_key_owner(k), DNS_T_DS, DNS_C_IN, 3600, ds,
					      dslen),
			 0);
}

static struct dnssec_key *gen(const char *owner)
{
	struct dns_name o = nm(owner);
	struct dnssec_key *k;
	ck_assert_int_eq(dnssec_key_generate(&o, 13, DNSSEC_FLAGS_KSK, 0, &k), 0);
	return k;
}

static void sign_zone(struct dns_rrlist *z, const char *apex, struct dnssec_key *k)
{
	struct dns_name a = nm(apex);
	size_t nsigs;
	ck_assert_int_eq(dnssec_zone_sign(z, &a, &k, 1, INC1, EXP, &nsigs), 0);
	ck_assert_uint_gt(nsigs, 0);
}

/* Copy the RRset <owner, type> of src with its RRSIGs into dst. */
static void copy_set(struct dns_rrlist *dst, const struct dns_rrlist *src, const char *owner,
		     uint16_t type)
{
	struct dns_block_set s;
	struct dns_name o = nm(owner);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(dns_block_set_from_list(&s, src, &o, type), 0);
	for (size_t i = 0; i < s.rrs.n; i++)
		ck_assert_int_eq(dns_rrlist_add(dst, &s.rrs.rr[i]), 0);
	for (size_t i = 0; i < s.sigs.n; i++)
		ck_assert_int_eq(dns_rrlist_add(dst, &s.sigs.rr[i]), 0);
	dns_block_set_clear(&s);
}

/* A block of one RRset (records rrs, signed by k at inc/exp), optionally
 * carrying chain; written into *out (malloc'd). */
static size_t make_block(const struct dns_rrlist *rrs, struct dnssec_key *k, uint32_t inc,
			 uint32_t exp, const struct dns_rrlist *chain, uint8_t **out)
{
	struct dns_rrlist l;
	struct dns_blocklist bl;
	dns_rrlist_init(&l);
	for (size_t i = 0; i < rrs->n; i++)
		ck_assert_int_eq(dns_rrlist_add(&l, &rrs->rr[i]), 0);
	ck_assert_int_eq(dnssec_sign_rrset(k, rrs->rr, rrs->n, inc, exp, &l), 0);
	dns_blocklist_init(&bl);
	ck_assert_int_eq(dns_block_build_zone(&l, chain, chain != NULL, &bl), 0);
	ck_assert_uint_eq(bl.n, 1);
	*out = bl.v[0].data;
	bl.v[0].data = NULL;
	size_t len = bl.v[0].len;
	dns_blocklist_free(&bl);
	dns_rrlist_free(&l);
	return len;
}

/* ---- the world: zones, keys, blocks ---- */

struct world {
	struct dnssec_key *kroot, *korg, *kex, *kbroken, *kevil, *korphan;
	struct dns_rrlist root, org, ex, broken;
	struct dns_rrlist chain_ex;     /* DS ex, DNSKEY org, DS org, DNSKEY . */
	struct dns_rrlist chain_broken; /* DNSKEY broken, DS broken, DNSKEY org, DS org, DNSKEY . */
	struct dns_rr anchor;           /* the root DNSKEY */
};

static void world_init(struct world *w)
{
	memset(w, 0, sizeof(*w));
	w->kroot = gen(".");
	w->korg = gen("org.");
	w->kex = gen("example.org.");
	w->kbroken = gen("broken.org.");
	/* Same name, not in the chain; a different key tag, or its forgeries
	 * would be EBOGUS rather than ENOKEY (1 run in 65536). */
	do {
		dnssec_key_free(w->kevil);
		w->kevil = gen("example.org.");
	} while (dnssec_key_tag(w->kevil) == dnssec_key_tag(w->kex));
	w->korphan = gen("orphan.org.");
	struct dnssec_key *kother = gen("broken.org.");

	dns_rrlist_init(&w->root);
	add_key(&w->root, w->kroot);
	add(&w->root, "org.", 3600, DNS_T_NS, "a.nic.org.");
	add_ds(&w->root, w->korg);
	sign_zone(&w->root, ".", w->kroot);

	dns_rrlist_init(&w->org);
	add_key(&w->org, w->korg);
	add(&w->org, "example.org.", 3600, DNS_T_NS, "ns.example.org.");
	add_ds(&w->org, w->kex);
	add(&w->org, "broken.org.", 3600, DNS_T_NS, "ns.broken.org.");
	add_ds(&w->org, kother); /* broken.org.'s DS: a key that zone does not use */
	sign_zone(&w->org, "org.", w->korg);
	dnssec_key_free(kother);

	dns_rrlist_init(&w->ex);
	add_key(&w->ex, w->kex);
	add(&w->ex, "www.example.org.", 60, DNS_T_A, "192.0.2.1");
	add(&w->ex, "www.example.org.", 60, DNS_T_A, "192.0.2.2");
	add(&w->ex, "www.example.org.", 60, DNS_T_AAAA, "2001:db8::1");
	add(&w->ex, "example.org.", 300, DNS_T_MX, "10 mail.example.org.");
	add(&w->ex, "txt.example.org.", 300, DNS_T_TXT, "\"v=ddns\" \"hello\"");
	sign_zone(&w->ex, "example.org.", w->kex);

	dns_rrlist_init(&w->broken);
	add_key(&w->broken, w->kbroken);
	add(&w->broken, "www.broken.org.", 60, DNS_T_A, "192.0.2.66");
	sign_zone(&w->broken, "broken.org.", w->kbroken);

	dns_rrlist_init(&w->chain_ex);
	copy_set(&w->chain_ex, &w->org, "example.org.", DNS_T_DS);
	copy_set(&w->chain_ex, &w->org, "org.", DNS_T_DNSKEY);
	copy_set(&w->chain_ex, &w->root, "org.", DNS_T_DS);
	copy_set(&w->chain_ex, &w->root, ".", DNS_T_DNSKEY);
	dns_rrlist_init(&w->chain_broken);
	copy_set(&w->chain_broken, &w->org, "broken.org.", DNS_T_DS);
	copy_set(&w->chain_broken, &w->org, "org.", DNS_T_DNSKEY);
	copy_set(&w->chain_broken, &w->root, "org.", DNS_T_DS);
	copy_set(&w->chain_broken, &w->root, ".", DNS_T_DNSKEY);

	for (size_t i = 0; i < w->root.n; i++)
		if (w->root.rr[i].type == DNS_T_DNSKEY)
			w->anchor = w->root.rr[i]; /* borrowed from w->root */
}

static void world_free(struct world *w)
{
	dnssec_key_free(w->kroot);
	dnssec_key_free(w->korg);
	dnssec_key_free(w->kex);
	dnssec_key_free(w->kbroken);
	dnssec_key_free(w->kevil);
	dnssec_key_free(w->korphan);
	dns_rrlist_free(&w->root);
	dns_rrlist_free(&w->org);
	dns_rrlist_free(&w->ex);
	dns_rrlist_free(&w->broken);
	dns_rrlist_free(&w->chain_ex);
	dns_rrlist_free(&w->chain_broken);
}

/* ---- the network ---- */

struct net {
	struct simnet *sn;
	struct dht *d[NODES];
	struct ddns_blockval *bv[NODES];
};

static uint64_t virt_clock(void *arg)
{
	return BASE + sim_now_us(arg) / 1000000u;
}

static struct net *net_new_cache(const struct ovl_ops *ops, uint64_t seed,
				 const struct dns_rr *anchor, bool path_cache)
{
	struct net *x = calloc(1, sizeof(*x));
	struct simnet_params sp;
	simnet_params_default(&sp);
	sp.ops = ops;
	sp.seed = seed;
	sp.join_gap_us = 50000;
	sp.settle_us = 30000000;
	x->sn = simnet_new(&sp);
	ck_assert_ptr_nonnull(x->sn);
	ck_assert_int_eq(simnet_grow(x->sn, NODES), 0);
	for (size_t i = 0; i < NODES; i++) {
		int err = 0;
		x->bv[i] = ddns_blockval_new(anchor, 1, virt_clock, simnet_sim(x->sn), 0, &err);
		ck_assert_ptr_nonnull(x->bv[i]);
		/* No periodic maintenance: the fetch counts below must come
		 * from the puts themselves, not from a replication round that
		 * happens to run between them. */
		struct dht_params dp;
		dht_params_default(&dp);
		dp.maint_us = 0;
		if (!path_cache)
			dp.cache_bytes = 0;
		x->d[i] = dht_new(simnet_ovl(x->sn, i), &dp, ddns_blockval_validate, x->bv[i], &err);
		ck_assert_msg(x->d[i] != NULL, "dht_new: %s", ddns_strerror(err));
	}
	return x;
}

static struct net *net_new(const struct ovl_ops *ops, uint64_t seed, const struct dns_rr *anchor)
{
	return net_new_cache(ops, seed, anchor, true);
}

static void net_free(struct net *x)
{
	struct ddns_blockval_stats sum;
	memset(&sum, 0, sizeof(sum));
	for (size_t i = 0; i < NODES; i++) {
		struct ddns_blockval_stats st;
		ddns_blockval_get_stats(x->bv[i], &st);
		sum.validations += st.validations;
		sum.accepted += st.accepted;
		sum.refused += st.refused;
		sum.fetches += st.fetches;
		sum.fetch_failed += st.fetch_failed;
		sum.cache_hits += st.cache_hits;
	}
	printf("%s: %llu validations (%llu accepted, %llu refused), %llu fetches (%llu failed), "
	       "%llu key cache hits\n",
	       ovl_ops_name(ovl_ops_of(simnet_ovl(x->sn, 0))), (unsigned long long)sum.validations,
	       (unsigned long long)sum.accepted, (unsigned long long)sum.refused,
	       (unsigned long long)sum.fetches, (unsigned long long)sum.fetch_failed,
	       (unsigned long long)sum.cache_hits);
	for (size_t i = 0; i < NODES; i++)
		dht_free(x->d[i]);
	for (size_t i = 0; i < NODES; i++) {
		struct ddns_blockval_stats st;
		ddns_blockval_get_stats(x->bv[i], &st);
		ck_assert_uint_eq(st.pending, 0);
		ddns_blockval_free(x->bv[i]);
	}
	simnet_free(x->sn);
	free(x);
}

static size_t rnd_node(struct net *x)
{
	return (size_t)ddns_rng_below(sim_rng(simnet_sim(x->sn)), NODES);
}

static uint64_t total_fetches(struct net *x)
{
	uint64_t n = 0;
	for (size_t i = 0; i < NODES; i++) {
		struct ddns_blockval_stats st;
		ddns_blockval_get_stats(x->bv[i], &st);
		n += st.fetches;
	}
	return n;
}

struct op {
	bool done;
	struct dht_put_result put;
	char reason[200];
	int status;
	uint8_t *blk;
	size_t len;
	struct dht_block_meta meta;
	enum dht_source source;
};

static bool op_done(void *arg) { return ((struct op *)arg)->done; }

static void put_cb(void *arg, const struct dht_put_result *res)
{
	struct op *o = arg;
	o->put = *res;
	snprintf(o->reason, sizeof(o->reason), "%s", res->reason ? res->reason : "");
	o->put.reason = o->reason;
	o->status = res->status;
	o->done = true;
}

static void get_cb(void *arg, const struct dht_get_result *res)
{
	struct op *o = arg;
	o->status = res->status;
	if (res->status == 0) {
		o->blk = malloc(res->len);
		memcpy(o->blk, res->block, res->len);
		o->len = res->len;
		o->meta = res->meta;
	}
	o->source = res->source;
	o->done = true;
}

static void wait_op(struct net *x, struct op *o)
{
	ck_assert(sim_run_cond(simnet_sim(x->sn), op_done, o, 300ull * 1000000));
}

/* Put blk under the key of its data set (or under key when non-NULL). */
static struct op put1(struct net *x, size_t from, const uint8_t *key, const uint8_t *blk,
		      size_t len)
{
	struct op o;
	memset(&o, 0, sizeof(o));
	uint8_t k[DHT_KEY_LEN];
	if (!key) {
		struct dns_block b;
		dns_block_init(&b);
		ck_assert_int_eq(dns_block_decode(&b, blk, len), 0);
		dns_block_key(dns_block_set_owner(&b.data), dns_block_set_type(&b.data), k);
		dns_block_clear(&b);
		key = k;
	}
	ck_assert_int_eq(dht_put(x->d[from], key, blk, len, put_cb, &o), 0);
	wait_op(x, &o);
	o.put.reason = o.reason;
	return o;
}

static struct op get1(struct net *x, size_t from, const char *owner, uint16_t type)
{
	struct op o;
	memset(&o, 0, sizeof(o));
	uint8_t k[DHT_KEY_LEN];
	struct dns_name n = nm(owner);
	dns_block_key(&n, type, k);
	ck_assert_int_eq(dht_get(x->d[from], k, get_cb, &o), 0);
	wait_op(x, &o);
	return o;
}

/* Nodes that store (not cache) <owner, type>, and the lowest version. */
static unsigned copies(struct net *x, const char *owner, uint16_t type, uint64_t *minver)
{
	uint8_t k[DHT_KEY_LEN];
	struct dns_name n = nm(owner);
	unsigned c = 0;
	dns_block_key(&n, type, k);
	for (size_t i = 0; i < NODES; i++) {
		uint64_t v;
		if (dht_local(x->d[i], k, &v) == DHT_SRC_LOCAL_STORE) {
			if (minver && (c == 0 || v < *minver))
				*minver = v;
			c++;
		}
	}
	return c;
}

/* The block's data set has exactly the records of <owner, type> in zone. */
static void assert_rrset(const uint8_t *blk, size_t len, const struct dns_rrlist *zone,
			 const char *owner, uint16_t type)
{
	struct dns_block b;
	struct dns_block_set want;
	struct dns_name o = nm(owner);
	dns_block_init(&b);
	memset(&want, 0, sizeof(want));
	ck_assert_int_eq(dns_block_decode(&b, blk, len), 0);
	ck_assert_int_eq(dns_block_set_from_list(&want, zone, &o, type), 0);
	ck_assert_uint_eq(dns_block_set_type(&b.data), type);
	ck_assert(dns_name_equal(dns_block_set_owner(&b.data), &o));
	ck_assert_uint_eq(b.data.rrs.n, want.rrs.n);
	for (size_t i = 0; i < want.rrs.n; i++) {
		bool found = false;
		for (size_t j = 0; j < b.data.rrs.n && !found; j++)
			found = b.data.rrs.rr[j].rdlen == want.rrs.rr[i].rdlen &&
				memcmp(b.data.rrs.rr[j].rdata, want.rrs.rr[i].rdata,
				       want.rrs.rr[i].rdlen) == 0;
		ck_assert_msg(found, "%s record %zu missing", owner, i);
	}
	dns_block_set_clear(&want);
	dns_block_clear(&b);
}

/* The blocks of a zone, carried chain or not. */
static void zone_blocks(const struct dns_rrlist *z, const struct dns_rrlist *chain,
			struct dns_blocklist *bl)
{
	dns_blocklist_init(bl);
	ck_assert_int_eq(dns_block_build_zone(z, chain, chain != NULL, bl), 0);
}

static const struct dns_block_out *blk_of(const struct dns_blocklist *bl, const char *owner,
					  uint16_t type)
{
	struct dns_name o = nm(owner);
	for (size_t i = 0; i < bl->n; i++)
		if (bl->v[i].type == type && dns_name_equal(&bl->v[i].owner, &o))
			return &bl->v[i];
	ck_abort_msg("no block %s/%u", owner, type);
	return NULL;
}

static void put_ok(struct net *x, const struct dns_block_out *b)
{
	struct op o = put1(x, rnd_node(x), b->key, b->data, b->len);
	char nb[DNS_NAME_STR_MAX];
	ck_assert_int_ge(dns_name_to_str(&b->owner, nb, sizeof(nb)), 1);
	ck_assert_msg(o.status == 0, "put %s/%u: %s (%s)", nb, b->type, ddns_strerror(o.status),
		      o.reason);
	ck_assert_uint_eq(o.put.replicas_stored, 6);
}

static void put_refused(struct net *x, const uint8_t *key, const uint8_t *blk, size_t len,
			int want, const char *what)
{
	struct op o = put1(x, rnd_node(x), key, blk, len);
	ck_assert_msg(o.status == want, "%s: got %s (%s), want %s", what, ddns_strerror(o.status),
		      o.reason, ddns_strerror(want));
	/* The storing node's hook said why ("validation failed: <reason>"). */
	if (want != DDNS_ESTALE)
		ck_assert_msg(strstr(o.reason, ddns_strerror(want)) != NULL, "%s: reason '%s'",
			      what, o.reason);
}

static const struct ovl_ops *ops_of(int i) { return i == 0 ? &chord_ops : &kad16_ops; }

START_TEST(chain_in_the_dht)
{
	struct world w;
	world_init(&w);
	struct net *x = net_new(ops_of(_i), 4242 + (uint64_t)_i, &w.anchor);
	struct dns_blocklist rootb, orgb, exb, exc, brokenc;
	zone_blocks(&w.root, NULL, &rootb);
	zone_blocks(&w.org, NULL, &orgb);
	zone_blocks(&w.ex, NULL, &exb);
	zone_blocks(&w.ex, &w.chain_ex, &exc);
	zone_blocks(&w.broken, &w.chain_broken, &brokenc);
	ck_assert_uint_eq(rootb.n, 2); /* DNSKEY ., DS org. (NS unsigned) */
	ck_assert_uint_eq(orgb.n, 3);  /* DNSKEY org., DS example.org., DS broken.org. */
	ck_assert_uint_eq(exb.n, 5);

	/* The links, without carried chains: each storing node fetches the
	 * links above (DS org. needs DNSKEY .; DNSKEY org. needs DS org.). */
	put_ok(x, blk_of(&rootb, ".", DNS_T_DNSKEY));
	put_ok(x, blk_of(&rootb, "org.", DNS_T_DS));
	uint64_t f0 = total_fetches(x);
	put_ok(x, blk_of(&orgb, "org.", DNS_T_DNSKEY));
	put_ok(x, blk_of(&orgb, "example.org.", DNS_T_DS));
	put_ok(x, blk_of(&orgb, "broken.org.", DNS_T_DS));
	put_ok(x, blk_of(&exb, "example.org.", DNS_T_DNSKEY));
	ck_assert_uint_gt(total_fetches(x), f0);

	/* Data without chain, every node's key cache cold: storing nodes must
	 * fetch DNSKEY/DS blocks from the DHT. */
	for (size_t i = 0; i < NODES; i++)
		ddns_blockval_flush(x->bv[i]);
	f0 = total_fetches(x);
	put_ok(x, blk_of(&exb, "www.example.org.", DNS_T_A));
	ck_assert_uint_ge(total_fetches(x) - f0, 4); /* DNSKEY ex, DS ex, DNSKEY org, DS org */
	put_ok(x, blk_of(&exb, "www.example.org.", DNS_T_AAAA));
	/* Data with its chain carried validates on a cold cache with no DHT
	 * at all (ddns_blockval_check cannot fetch), and the puts succeed.
	 * (Counting fetches across the network here would also count those
	 * of replication rounds for the chain-less blocks above.) */
	for (size_t i = 0; i < NODES; i++)
		ddns_blockval_flush(x->bv[i]);
	const struct dns_block_out *carried[] = {blk_of(&exc, "example.org.", DNS_T_MX),
						 blk_of(&exc, "txt.example.org.", DNS_T_TXT)};
	for (size_t i = 0; i < 2; i++) {
		struct dht_block_meta meta;
		char why[256] = "";
		int rc = ddns_blockval_check(x->bv[0], carried[i]->key, carried[i]->data,
					     carried[i]->len, sim_now_us(simnet_sim(x->sn)), &meta,
					     why, sizeof(why));
		ck_assert_msg(rc == 0, "carried chain: %s (%s)", ddns_strerror(rc), why);
		ddns_blockval_flush(x->bv[0]);
	}
	for (size_t i = 0; i < 2; i++)
		put_ok(x, carried[i]);
	ck_assert_uint_eq(copies(x, "txt.example.org.", DNS_T_TXT, NULL), 6);

	/* Gets from random nodes return the right RRsets. */
	static const struct {
		const char *owner;
		uint16_t type;
	} q[] = {{"www.example.org.", DNS_T_A},
		 {"www.example.org.", DNS_T_AAAA},
		 {"example.org.", DNS_T_MX},
		 {"txt.example.org.", DNS_T_TXT},
		 {"example.org.", DNS_T_DNSKEY}};
	for (int r = 0; r < 4; r++)
		for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
			struct op o = get1(x, rnd_node(x), q[i].owner, q[i].type);
			ck_assert_msg(o.status == 0, "get %s/%u: %s", q[i].owner, q[i].type,
				      ddns_strerror(o.status));
			assert_rrset(o.blk, o.len, &w.ex, q[i].owner, q[i].type);
			ck_assert_uint_eq(o.meta.version, INC1);
			/* The zone (signer) is reported unless the copy came from
			 * this node's cache, which keeps no zone (dht.c). */
			if (o.meta.zone_len || o.source != DHT_SRC_LOCAL_CACHE) {
				ck_assert_uint_eq(o.meta.zone_len, 13); /* "example.org." */
				ck_assert_mem_eq(o.meta.zone, "\007example\003org", 13);
			}
			free(o.blk);
		}
	struct op none = get1(x, rnd_node(x), "nope.example.org.", DNS_T_A);
	ck_assert_int_eq(none.status, DDNS_ENOTFOUND);

	/* ---- forgeries, each refused by the storing node with its reason ---- */
	uint8_t *blk;
	size_t len;
	struct dns_rrlist rs;
	dns_rrlist_init(&rs);
	add(&rs, "www.example.org.", 60, DNS_T_A, "203.0.113.66");
	/* Signed by a key of the right name that is not in the chain. */
	len = make_block(&rs, w.kevil, INC2, EXP, NULL, &blk);
	put_refused(x, NULL, blk, len, DDNS_ENOKEY, "foreign key");
	free(blk);
	len = make_block(&rs, w.kevil, INC2, EXP, &w.chain_ex, &blk);
	put_refused(x, NULL, blk, len, DDNS_ENOKEY, "foreign key, chain carried");
	free(blk);
	/* One flipped bit in the signed data. */
	len = make_block(&rs, w.kex, INC2, EXP, NULL, &blk);
	size_t at = 3 + 17 + 10 + 2 + 4 - 1; /* last octet of the address */
	ck_assert_uint_eq(blk[at], 66);
	blk[at] ^= 0x01;
	put_refused(x, NULL, blk, len, DDNS_EBOGUS, "flipped bit");
	free(blk);
	/* Expired signature. */
	dns_rrlist_clear(&rs);
	add(&rs, "old.example.org.", 60, DNS_T_A, "192.0.2.9");
	len = make_block(&rs, w.kex, BASE - 7200, BASE - 3600, NULL, &blk);
	put_refused(x, NULL, blk, len, DDNS_EEXPIRED, "expired");
	free(blk);
	/* Not yet valid. */
	len = make_block(&rs, w.kex, BASE + 86400, EXP, NULL, &blk);
	put_refused(x, NULL, blk, len, DDNS_ENOTYET, "not yet valid");
	free(blk);
	/* A name outside the signer's zone: signed as x.example.org., then
	 * renamed x.evil.net. (same label count). */
	dns_rrlist_clear(&rs);
	add(&rs, "x.example.org.", 60, DNS_T_A, "192.0.2.10");
	len = make_block(&rs, w.kex, INC2, EXP, NULL, &blk);
	ck_assert_mem_eq(blk + 3, "\001x\007example\003org", 15);
	memcpy(blk + 3, "\001x\007evilnet\003com", 15);
	put_refused(x, NULL, blk, len, DDNS_EOUTOFZONE, "out of zone");
	free(blk);
	/* The DS chain broken: broken.org.'s DS matches none of its keys. */
	put_refused(x, NULL, blk_of(&brokenc, "www.broken.org.", DNS_T_A)->data,
		    blk_of(&brokenc, "www.broken.org.", DNS_T_A)->len, DDNS_EBADDS, "DS mismatch");
	put_refused(x, NULL, blk_of(&brokenc, "broken.org.", DNS_T_DNSKEY)->data,
		    blk_of(&brokenc, "broken.org.", DNS_T_DNSKEY)->len, DDNS_EBADDS,
		    "DNSKEY, DS mismatch");
	/* No DS for orphan.org. anywhere: the link cannot be fetched. */
	dns_rrlist_clear(&rs);
	add(&rs, "www.orphan.org.", 60, DNS_T_A, "192.0.2.11");
	len = make_block(&rs, w.korphan, INC2, EXP, NULL, &blk);
	put_refused(x, NULL, blk, len, DDNS_ENOCHAIN, "missing link");
	free(blk);
	/* A valid block under another name's key. */
	uint8_t other[DHT_KEY_LEN];
	struct dns_name on = nm("mail.example.org.");
	dns_block_key(&on, DNS_T_A, other);
	put_refused(x, other, blk_of(&exb, "www.example.org.", DNS_T_A)->data,
		    blk_of(&exb, "www.example.org.", DNS_T_A)->len, DDNS_EBOGUS, "wrong key");
	/* Garbage. */
	static const uint8_t junk[] = {0xDB, 1, 0, 0};
	put_refused(x, other, junk, sizeof(junk), DDNS_EMALFORMED, "malformed");
	/* None of them got stored. */
	ck_assert_uint_eq(copies(x, "old.example.org.", DNS_T_A, NULL), 0);
	ck_assert_uint_eq(copies(x, "x.evilnet.com.", DNS_T_A, NULL), 0);
	ck_assert_uint_eq(copies(x, "www.broken.org.", DNS_T_A, NULL), 0);
	ck_assert_uint_eq(copies(x, "www.orphan.org.", DNS_T_A, NULL), 0);
	ck_assert_uint_eq(copies(x, "mail.example.org.", DNS_T_A, NULL), 0);
	uint64_t minver = 0;
	ck_assert_uint_eq(copies(x, "www.example.org.", DNS_T_A, &minver), 6);
	ck_assert_uint_eq(minver, INC1);

	/* ---- versions: newer replaces, older is a replay ---- */
	/* Warm some caches with the old version first. */
	size_t readers[8];
	for (size_t i = 0; i < 8; i++) {
		readers[i] = rnd_node(x);
		struct op o = get1(x, readers[i], "www.example.org.", DNS_T_A);
		ck_assert_int_eq(o.status, 0);
		free(o.blk);
	}
	dns_rrlist_clear(&rs);
	add(&rs, "www.example.org.", 60, DNS_T_A, "192.0.2.99");
	len = make_block(&rs, w.kex, INC2, EXP, NULL, &blk);
	struct op o = put1(x, rnd_node(x), NULL, blk, len);
	ck_assert_msg(o.status == 0, "newer: %s (%s)", ddns_strerror(o.status), o.reason);
	minver = 0;
	ck_assert_uint_eq(copies(x, "www.example.org.", DNS_T_A, &minver), 6);
	ck_assert_uint_eq(minver, INC2);
	/* The old block again: a replay. */
	put_refused(x, NULL, blk_of(&exb, "www.example.org.", DNS_T_A)->data,
		    blk_of(&exb, "www.example.org.", DNS_T_A)->len, DDNS_ESTALE, "replay");
	ck_assert_uint_eq(copies(x, "www.example.org.", DNS_T_A, &minver), 6);
	ck_assert_uint_eq(minver, INC2);
	/* Once the old copies' TTL (60 s) has passed, every reader sees the
	 * new RRset. */
	simnet_run(x->sn, 61ull * 1000000);
	for (size_t i = 0; i < 8; i++) {
		o = get1(x, readers[i], "www.example.org.", DNS_T_A);
		ck_assert_int_eq(o.status, 0);
		ck_assert_uint_eq(o.meta.version, INC2);
		assert_rrset(o.blk, o.len, &rs, "www.example.org.", DNS_T_A);
		free(o.blk);
	}
	free(blk);

	dns_rrlist_free(&rs);
	dns_blocklist_free(&rootb);
	dns_blocklist_free(&orgb);
	dns_blocklist_free(&exb);
	dns_blocklist_free(&exc);
	dns_blocklist_free(&brokenc);
	net_free(x);
	world_free(&w);
}
END_TEST

/* ---- a parent's new DS, and the check before serving ---- */

struct cur {
	bool done;
	int status;
	unsigned rpcs;
};

static bool cur_done(void *arg) { return ((struct cur *)arg)->done; }

static void cur_cb(void *arg, int status, unsigned rpcs, unsigned hops)
{
	(void)hops;
	struct cur *c = arg;
	c->status = status;
	c->rpcs = rpcs;
	c->done = true;
}

/* ddns_blockval_check_current of b at node i. */
static struct cur current1(struct net *x, size_t i, const struct dns_block_out *b)
{
	struct cur c = {0};
	ddns_blockval_check_current(x->bv[i], x->d[i], b->key, b->data, b->len, cur_cb, &c);
	ck_assert(sim_run_cond(simnet_sim(x->sn), cur_done, &c, 300ull * 1000000));
	return c;
}

/* A node whose verified key cache has the chain only as blocks carried it
 * (a replica of this zone's data, say): flushed, then the carried block
 * validated with no DHT. */
static void warm_from_carried(struct net *x, size_t i, const struct dns_block_out *b)
{
	struct dht_block_meta meta;
	ddns_blockval_flush(x->bv[i]);
	ck_assert_int_eq(ddns_blockval_check(x->bv[i], b->key, b->data, b->len,
					     sim_now_us(simnet_sim(x->sn)), &meta, NULL, 0),
			 0);
}

/*
 * org. replaces example.org.'s DS with one for a key example.org. does not
 * use. Blocks of example.org. still carry the old DS (signed by org.), so
 * they keep validating as the hook sees them; a current check (what the
 * gateway runs before serving) takes the DS from the DHT instead: it is
 * refused once the old DS's TTL has passed where that DS was confirmed,
 * and at once where the DS had only been carried.
 */
START_TEST(parent_ds_change)
{
	struct world w;
	world_init(&w);
	/* Runs 0, 1: chord, kad16 with path caches; 2, 3: without. */
	bool path_cache = _i < 2;
	struct net *x = net_new_cache(ops_of(_i % 2), 777 + (uint64_t)_i, &w.anchor, path_cache);
	struct dns_blocklist rootb, orgb, exc;
	zone_blocks(&w.root, NULL, &rootb);
	zone_blocks(&w.org, NULL, &orgb);
	zone_blocks(&w.ex, &w.chain_ex, &exc);
	put_ok(x, blk_of(&rootb, ".", DNS_T_DNSKEY));
	put_ok(x, blk_of(&rootb, "org.", DNS_T_DS));
	put_ok(x, blk_of(&orgb, "org.", DNS_T_DNSKEY));
	put_ok(x, blk_of(&orgb, "example.org.", DNS_T_DS));
	const struct dns_block_out *a = blk_of(&exc, "www.example.org.", DNS_T_A);
	const struct dns_block_out *mx = blk_of(&exc, "example.org.", DNS_T_MX);
	put_ok(x, a);
	put_ok(x, mx);

	/* Two readers with no copy of example.org.'s DS (stored or cached),
	 * so what they learn of it comes from a fetch. */
	uint8_t dk[DHT_KEY_LEN];
	struct dns_name exn = nm("example.org.");
	dns_block_key(&exn, DNS_T_DS, dk);
	size_t rd[2], nr = 0;
	for (size_t i = 0; i < NODES && nr < 2; i++)
		if (dht_local(x->d[i], dk, NULL) == DHT_SRC_NONE)
			rd[nr++] = i;
	ck_assert_uint_eq(nr, 2);
	size_t r = rd[0], cold = rd[1];
	/* A reader that knew the chain only as carried fetches the DS once;
	 * then the DS is confirmed and the next block costs no fetch. */
	warm_from_carried(x, r, a);
	struct cur c = current1(x, r, a);
	ck_assert_msg(c.status == 0, "current: %s", ddns_strerror(c.status));
	ck_assert_uint_ge(c.rpcs, 1);
	c = current1(x, r, mx);
	ck_assert_int_eq(c.status, 0);
	ck_assert_uint_eq(c.rpcs, 0);

	/* org. publishes the new DS (newer signature): accepted, it replaces
	 * the old at every replica. */
	struct dns_rrlist ds;
	dns_rrlist_init(&ds);
	add_ds(&ds, w.kevil);
	uint8_t *blk;
	size_t len = make_block(&ds, w.korg, INC2, EXP, NULL, &blk);
	struct op o = put1(x, rnd_node(x), NULL, blk, len);
	ck_assert_msg(o.status == 0, "new DS: %s (%s)", ddns_strerror(o.status), o.reason);
	uint64_t minver = 0;
	ck_assert_uint_eq(copies(x, "example.org.", DNS_T_DS, &minver), 6);
	ck_assert_uint_eq(minver, INC2);

	/* The reader that confirmed the old DS trusts it for its TTL (3600 s),
	 * as a resolver's cache would. */
	c = current1(x, r, a);
	ck_assert_int_eq(c.status, 0);
	ck_assert_uint_eq(c.rpcs, 0);
	/* The hook still accepts the old chain a block carries, but a cold
	 * reader's check does not: the DHT's DS names another key. (Unless a
	 * path cache still holds the old DS: DHT caches keep a block until
	 * its TTL, so that is the bound.) */
	unsigned cached = 0;
	for (size_t i = 0; i < NODES; i++)
		cached += dht_local(x->d[i], dk, NULL) == DHT_SRC_LOCAL_CACHE;
	warm_from_carried(x, cold, a);
	c = current1(x, cold, a);
	printf("new DS: cold reader %s with %u cached copies of the old DS about\n",
	       ddns_strerror(c.status), cached);
	if (!path_cache)
		ck_assert_uint_eq(cached, 0);
	if (cached == 0) {
		ck_assert_msg(c.status == DDNS_EBADDS, "cold reader: %s", ddns_strerror(c.status));
		ck_assert_uint_ge(c.rpcs, 1);
	}
	/* Past the old DS's TTL, every reader refuses. */
	simnet_run(x->sn, 3601ull * 1000000);
	c = current1(x, r, a);
	ck_assert_msg(c.status == DDNS_EBADDS, "after the TTL: %s", ddns_strerror(c.status));
	warm_from_carried(x, cold, a);
	c = current1(x, cold, a);
	ck_assert_msg(c.status == DDNS_EBADDS, "cold, after the TTL: %s", ddns_strerror(c.status));
	ck_assert_uint_ge(c.rpcs, 1);
	/* An old block carrying the old DS does not undo the confirmed new
	 * one: the hook accepts it, the check refuses it with no fetch. */
	struct dht_block_meta meta;
	ck_assert_int_eq(ddns_blockval_check(x->bv[cold], mx->key, mx->data, mx->len,
					     sim_now_us(simnet_sim(x->sn)), &meta, NULL, 0),
			 0);
	c = current1(x, cold, mx);
	ck_assert_int_eq(c.status, DDNS_EBADDS);
	ck_assert_uint_eq(c.rpcs, 0);

	struct ddns_blockval_stats st;
	ddns_blockval_get_stats(x->bv[cold], &st);
	ck_assert_uint_eq(st.current_checks, 3);
	ck_assert_uint_ge(st.current_failed, 2);
	free(blk);
	dns_rrlist_free(&ds);
	dns_blocklist_free(&rootb);
	dns_blocklist_free(&orgb);
	dns_blocklist_free(&exc);
	net_free(x);
	world_free(&w);
}
END_TEST

static Suite *dht_dnssec_suite(void)
{
	Suite *s = suite_create("dht_dnssec");
	TCase *tc = tcase_create("chain");
	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, chain_in_the_dht, 0, 2);
	tcase_add_loop_test(tc, parent_ds_change, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dht_dnssec_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
