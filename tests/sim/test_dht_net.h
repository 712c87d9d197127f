/*
 * test_dht_net.h - shared by the DHT simulation tests: a simnet with one DHT
 * instance per node, a toy validator, and helpers that run batches of puts
 * and gets to completion on the simulator.
 *
 * Toy block format (the DHT never looks inside):
 *   zone_len(1) zone  name(4)  version(8)  expire_us(8)  plen(2) payload  mac(32)
 * mac = SHA-256(test key || everything before it); key = SHA-1(zone || name).
 * The validator checks the MAC and the key, and returns (zone, version,
 * expire_us) as the block's metadata. A "forged" block has a bad MAC.
 */
#ifndef DDNS_TESTS_SIM_TEST_DHT_NET_H
#define DDNS_TESTS_SIM_TEST_DHT_NET_H

#include <stdlib.h>
#include <string.h>

#include "cli/simnet.h"
#include "common/buf.h"
#include "common/hash.h"
#include "dht/dht.h"

static const uint8_t toy_mac_key[] = "ddns-dht-test-key";

struct toy_stats {
	unsigned long validations, bogus;
};

static inline void toy_key(const char *zone, uint32_t name, uint8_t key[DHT_KEY_LEN])
{
	uint8_t buf[DHT_MAX_ZONE + 4];
	size_t zl = strlen(zone);
	memcpy(buf, zone, zl);
	buf[zl] = (uint8_t)(name >> 24);
	buf[zl + 1] = (uint8_t)(name >> 16);
	buf[zl + 2] = (uint8_t)(name >> 8);
	buf[zl + 3] = (uint8_t)name;
	ddns_sha1(buf, zl + 4, key);
}

static inline void toy_mac(const uint8_t *p, size_t len, uint8_t out[32])
{
	uint8_t *buf = malloc(sizeof(toy_mac_key) + len);
	memcpy(buf, toy_mac_key, sizeof(toy_mac_key));
	memcpy(buf + sizeof(toy_mac_key), p, len);
	ddns_sha256(buf, sizeof(toy_mac_key) + len, out);
	free(buf);
}

/* Build a block into out (at least 320 + plen bytes); returns its length. */
static inline size_t toy_block(uint8_t *out, const char *zone, uint32_t name, uint64_t version,
			uint64_t expire_us, size_t plen, bool forged)
{
	struct ddns_wbuf w;
	ddns_wbuf_init_fixed(&w, out, 320 + plen);
	size_t zl = strlen(zone);
	ddns_wbuf_u8(&w, (uint8_t)zl);
	ddns_wbuf_put(&w, zone, zl);
	ddns_wbuf_u32(&w, name);
	ddns_wbuf_u64(&w, version);
	ddns_wbuf_u64(&w, expire_us);
	ddns_wbuf_u16(&w, (uint16_t)plen);
	for (size_t i = 0; i < plen; i++)
		ddns_wbuf_u8(&w, (uint8_t)(name * 31 + version * 7 + i));
	uint8_t mac[32];
	toy_mac(w.p, w.len, mac);
	if (forged)
		mac[0] ^= 1;
	ddns_wbuf_put(&w, mac, 32);
	return w.len;
}

static inline void toy_validate(void *arg, struct dht *d, const uint8_t key[DHT_KEY_LEN], const uint8_t *blk,
			 size_t len, dht_validate_done_cb done, void *done_arg)
{
	struct toy_stats *ts = arg;
	struct ddns_rbuf r;
	struct dht_block_meta m;
	memset(&m, 0, sizeof(m));
	if (ts)
		ts->validations++;
	ddns_rbuf_init(&r, blk, len);
	m.zone_len = ddns_rbuf_u8(&r);
	ddns_rbuf_copy(&r, m.zone, m.zone_len);
	uint32_t name = ddns_rbuf_u32(&r);
	m.version = ddns_rbuf_u64(&r);
	m.expire_us = ddns_rbuf_u64(&r);
	uint16_t plen = ddns_rbuf_u16(&r);
	ddns_rbuf_take(&r, plen);
	size_t body = r.off;
	const uint8_t *mac = ddns_rbuf_take(&r, 32);
	if (r.err || ddns_rbuf_left(&r) != 0) {
		if (ts)
			ts->bogus++;
		done(done_arg, DDNS_EMALFORMED, NULL);
		return;
	}
	uint8_t want[32], k[DHT_KEY_LEN], zbuf[DHT_MAX_ZONE + 4];
	toy_mac(blk, body, want);
	memcpy(zbuf, m.zone, m.zone_len);
	zbuf[m.zone_len] = (uint8_t)(name >> 24);
	zbuf[m.zone_len + 1] = (uint8_t)(name >> 16);
	zbuf[m.zone_len + 2] = (uint8_t)(name >> 8);
	zbuf[m.zone_len + 3] = (uint8_t)name;
	ddns_sha1(zbuf, m.zone_len + 4u, k);
	if (memcmp(want, mac, 32) != 0 || memcmp(k, key, DHT_KEY_LEN) != 0) {
		if (ts)
			ts->bogus++;
		done(done_arg, DDNS_EBOGUS, NULL);
		return;
	}
	done(done_arg, 0, &m);
}

/* Version of a toy block (for checks). */
static inline uint64_t toy_version(const uint8_t *blk, size_t len)
{
	struct ddns_rbuf r;
	ddns_rbuf_init(&r, blk, len);
	uint8_t zl = ddns_rbuf_u8(&r);
	ddns_rbuf_take(&r, zl);
	ddns_rbuf_u32(&r);
	return ddns_rbuf_u64(&r);
}

struct dnet {
	struct simnet *net;
	struct dht **d;
	size_t cap;
	struct dht_params dp;
	struct toy_stats ts;
};

static inline struct dnet *dnet_new(const struct ovl_ops *ops, size_t nodes, uint64_t seed,
			     const struct dht_params *dp)
{
	struct dnet *x = calloc(1, sizeof(*x));
	struct simnet_params sp;
	simnet_params_default(&sp);
	sp.ops = ops;
	sp.seed = seed;
	sp.join_gap_us = 50000;
	sp.settle_us = 30000000;
	x->net = simnet_new(&sp);
	if (dp)
		x->dp = *dp;
	else
		dht_params_default(&x->dp);
	if (simnet_grow(x->net, nodes) != 0)
		return NULL;
	x->cap = nodes;
	x->d = calloc(nodes, sizeof(*x->d));
	for (size_t i = 0; i < nodes; i++) {
		int err;
		x->d[i] = dht_new(simnet_ovl(x->net, i), &x->dp, toy_validate, &x->ts, &err);
		if (!x->d[i])
			return NULL;
	}
	return x;
}

static inline void dnet_free(struct dnet *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->cap; i++)
		dht_free(x->d[i]);
	simnet_free(x->net);
	free(x->d);
	free(x);
}

static inline void dnet_crash(struct dnet *x, size_t i)
{
	dht_free(x->d[i]);
	x->d[i] = NULL;
	simnet_crash(x->net, i);
}

static inline size_t dnet_random_live(struct dnet *x)
{
	for (;;) {
		size_t i = (size_t)ddns_rng_below(sim_rng(simnet_sim(x->net)), simnet_size(x->net));
		if (x->d[i])
			return i;
	}
}

static inline void dnet_run(struct dnet *x, uint64_t us) { simnet_run(x->net, us); }

static inline void dnet_maintain_all(struct dnet *x)
{
	for (size_t i = 0; i < x->cap; i++)
		if (x->d[i])
			dht_maintain(x->d[i]);
}

/* Live nodes storing key (not caching). */
static inline unsigned dnet_copies(struct dnet *x, const uint8_t key[DHT_KEY_LEN], uint64_t *minver)
{
	unsigned n = 0;
	for (size_t i = 0; i < x->cap; i++) {
		uint64_t v;
		if (x->d[i] && dht_local(x->d[i], key, &v) == DHT_SRC_LOCAL_STORE) {
			if (minver && (n == 0 || v < *minver))
				*minver = v;
			n++;
		}
	}
	return n;
}

/* Copies of many keys at once: walks every live node's store once instead
 * of asking every node about every key. keys[] must be sorted (memcmp
 * order, no duplicates); copies[i] and minver[i] (may be NULL) are set for
 * keys[i]. */
struct copy_count {
	const uint8_t (*keys)[DHT_KEY_LEN];
	size_t n;
	unsigned *copies;
	uint64_t *minver;
};

static inline int key_cmp(const void *a, const void *b) { return memcmp(a, b, DHT_KEY_LEN); }

static inline void copy_count_cb(void *arg, const uint8_t key[DHT_KEY_LEN], uint64_t version)
{
	struct copy_count *cc = arg;
	const uint8_t(*k)[DHT_KEY_LEN] = bsearch(key, cc->keys, cc->n, DHT_KEY_LEN, key_cmp);
	if (!k)
		return;
	size_t i = (size_t)(k - cc->keys);
	if (cc->minver && (cc->copies[i] == 0 || version < cc->minver[i]))
		cc->minver[i] = version;
	cc->copies[i]++;
}

static inline void dnet_copies_all(struct dnet *x, const uint8_t (*sorted)[DHT_KEY_LEN], size_t n,
				   unsigned *copies, uint64_t *minver)
{
	struct copy_count cc = {.keys = sorted, .n = n, .copies = copies, .minver = minver};
	memset(copies, 0, n * sizeof(*copies));
	for (size_t i = 0; i < x->cap; i++)
		if (x->d[i])
			dht_stored_each(x->d[i], copy_count_cb, &cc);
}

/* ---- batches of operations run to completion ---- */

struct op_batch {
	size_t outstanding;
};

static inline bool batch_done(void *arg) { return ((struct op_batch *)arg)->outstanding == 0; }

static inline void batch_wait(struct dnet *x, struct op_batch *b)
{
	while (b->outstanding)
		if (!sim_run_cond(simnet_sim(x->net), batch_done, b, 600ULL * 1000000))
			break;
}

struct put_rec {
	struct op_batch *b;
	struct dht_put_result res;
	char reason[160];
	bool done;
};

static inline void put_rec_cb(void *arg, const struct dht_put_result *res)
{
	struct put_rec *p = arg;
	p->res = *res;
	snprintf(p->reason, sizeof(p->reason), "%s", res->reason ? res->reason : "");
	p->res.reason = p->reason;
	p->done = true;
	p->b->outstanding--;
}

/* One put from node `from`, run to completion. */
static inline struct dht_put_result dnet_put1(struct dnet *x, size_t from, const uint8_t *key,
				       const uint8_t *blk, size_t len, char *reason, size_t rl)
{
	struct op_batch b = {0};
	struct put_rec p = {.b = &b};
	if (dht_put(x->d[from], key, blk, len, put_rec_cb, &p) == 0)
		b.outstanding++;
	batch_wait(x, &b);
	if (reason)
		snprintf(reason, rl, "%s", p.reason);
	return p.res;
}

struct get_rec {
	struct op_batch *b;
	int status;
	uint64_t version;
	enum dht_source source;
	unsigned rpcs, hops;
	struct ovl_node from;
	bool done;
};

static inline void get_rec_cb(void *arg, const struct dht_get_result *res)
{
	struct get_rec *g = arg;
	g->status = res->status;
	g->version = res->status == 0 ? toy_version(res->block, res->len) : 0;
	g->source = res->source;
	g->rpcs = res->rpcs;
	g->hops = res->hops;
	g->from = res->from;
	g->done = true;
	g->b->outstanding--;
}

static inline struct get_rec dnet_get1(struct dnet *x, size_t from, const uint8_t *key)
{
	struct op_batch b = {0};
	struct get_rec g = {.b = &b};
	if (dht_get(x->d[from], key, get_rec_cb, &g) == 0)
		b.outstanding++;
	batch_wait(x, &b);
	g.b = NULL;
	return g;
}

#endif
