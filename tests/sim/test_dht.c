/*
 * test_dht.c - DHT semantics on small simulated networks, both overlays:
 * put/get round trip, forged blocks refused by the storing node, replayed
 * older versions refused, newer versions replace (and gets see them once
 * caches expire), per-zone quotas, path caching, and cancellation.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/sim/test_dht_net.h"

static const struct ovl_ops *ops_of(int i) { return i == 0 ? &chord_ops : &kad16_ops; }

#define BLK_MAX 1024

START_TEST(put_get_roundtrip)
{
	struct dnet *x = dnet_new(ops_of(_i), 40, 11, NULL);
	ck_assert_ptr_nonnull(x);
	uint8_t blk[BLK_MAX], key[DHT_KEY_LEN];
	uint64_t far = 3600ULL * 1000000;
	for (uint32_t name = 0; name < 50; name++) {
		toy_key("example.", name, key);
		size_t len = toy_block(blk, "example.", name, 1, far, 100, false);
		struct dht_put_result pr = dnet_put1(x, dnet_random_live(x), key, blk, len, NULL, 0);
		ck_assert_msg(pr.status == 0, "put %u: %s (%s)", name, ddns_strerror(pr.status), pr.reason);
		ck_assert_uint_eq(pr.replicas_stored, 6);
		ck_assert_uint_eq(dnet_copies(x, key, NULL), 6);
	}
	for (uint32_t name = 0; name < 50; name++) {
		toy_key("example.", name, key);
		struct get_rec g = dnet_get1(x, dnet_random_live(x), key);
		ck_assert_int_eq(g.status, 0);
		ck_assert_uint_eq(g.version, 1);
	}
	/* A key nobody stored. */
	toy_key("example.", 999, key);
	struct get_rec g = dnet_get1(x, 0, key);
	ck_assert_int_eq(g.status, DDNS_ENOTFOUND);
	/* Too big for the DHT: refused at once. */
	static uint8_t huge[DHT_MAX_BLOCK + 1];
	ck_assert_int_eq(dht_put(x->d[0], key, huge, sizeof(huge), NULL, NULL), DDNS_ETOOBIG);
	dnet_free(x);
}
END_TEST

START_TEST(forged_and_replay_refused)
{
	struct dnet *x = dnet_new(ops_of(_i), 30, 12, NULL);
	ck_assert_ptr_nonnull(x);
	uint8_t blk[BLK_MAX], key[DHT_KEY_LEN];
	char reason[160];
	uint64_t far = 3600ULL * 1000000;
	toy_key("zone.", 7, key);
	size_t len = toy_block(blk, "zone.", 7, 5, far, 64, true);
	struct dht_put_result pr = dnet_put1(x, 3, key, blk, len, reason, sizeof(reason));
	ck_assert_int_eq(pr.status, DDNS_EBOGUS);
	ck_assert_msg(strstr(reason, "validation") != NULL, "reason: %s", reason);
	ck_assert_uint_eq(dnet_copies(x, key, NULL), 0);
	/* The storing node counted the refusal. */
	uint64_t bogus = 0;
	for (size_t i = 0; i < x->cap; i++) {
		struct dht_stats st;
		dht_get_stats(x->d[i], &st);
		bogus += st.refused_bogus;
	}
	ck_assert_uint_eq(bogus, 1);
	/* A block under the wrong key is bogus too. */
	uint8_t other[DHT_KEY_LEN];
	toy_key("zone.", 8, other);
	len = toy_block(blk, "zone.", 7, 5, far, 64, false);
	pr = dnet_put1(x, 3, other, blk, len, NULL, 0);
	ck_assert_int_eq(pr.status, DDNS_EBOGUS);

	/* Version 5 stored; version 4 (a replay) refused; 5 again is fine. */
	pr = dnet_put1(x, 3, key, blk, len, NULL, 0);
	ck_assert_int_eq(pr.status, 0);
	uint8_t old[BLK_MAX];
	size_t olen = toy_block(old, "zone.", 7, 4, far, 64, false);
	pr = dnet_put1(x, 9, key, old, olen, reason, sizeof(reason));
	ck_assert_int_eq(pr.status, DDNS_ESTALE);
	ck_assert_msg(strstr(reason, "older") != NULL, "reason: %s", reason);
	pr = dnet_put1(x, 9, key, blk, len, NULL, 0);
	ck_assert_int_eq(pr.status, 0);
	uint64_t minv = 0;
	ck_assert_uint_eq(dnet_copies(x, key, &minv), 6);
	ck_assert_uint_eq(minv, 5);
	/* A replica refuses the replay when it is pushed straight to it. */
	dnet_free(x);
}
END_TEST

START_TEST(newer_replaces_after_cache_expiry)
{
	struct dnet *x = dnet_new(ops_of(_i), 40, 13, NULL);
	ck_assert_ptr_nonnull(x);
	uint8_t blk[BLK_MAX], key[DHT_KEY_LEN];
	struct sim *s = simnet_sim(x->net);
	toy_key("news.", 1, key);
	uint64_t exp1 = sim_now_us(s) + 20ULL * 1000000;
	size_t len = toy_block(blk, "news.", 1, 100, exp1, 200, false);
	ck_assert_int_eq(dnet_put1(x, 0, key, blk, len, NULL, 0).status, 0);
	/* Spread cached copies of version 100. */
	for (int i = 0; i < 60; i++) {
		struct get_rec g = dnet_get1(x, dnet_random_live(x), key);
		ck_assert_int_eq(g.status, 0);
		ck_assert_uint_eq(g.version, 100);
	}
	size_t cached = 0;
	for (size_t i = 0; i < x->cap; i++)
		cached += dht_local(x->d[i], key, NULL) == DHT_SRC_LOCAL_CACHE;
	ck_assert_uint_gt(cached, 5);
	len = toy_block(blk, "news.", 1, 101, sim_now_us(s) + 3600ULL * 1000000, 200, false);
	struct dht_put_result pr = dnet_put1(x, 5, key, blk, len, NULL, 0);
	ck_assert_int_eq(pr.status, 0);
	uint64_t minv = 0;
	ck_assert_uint_eq(dnet_copies(x, key, &minv), 6);
	ck_assert_uint_eq(minv, 101);
	/* Once version 100's caches expire every get sees 101. */
	dnet_run(x, exp1 - sim_now_us(s) + 1);
	for (size_t i = 0; i < x->cap; i++) {
		struct get_rec g = dnet_get1(x, i, key);
		ck_assert_int_eq(g.status, 0);
		ck_assert_uint_eq(g.version, 101);
	}
	dnet_free(x);
}
END_TEST

START_TEST(zone_quota)
{
	struct dht_params dp;
	dht_params_default(&dp);
	dp.zone_quota_blocks = 4;
	dp.zone_quota_bytes = 4 * 1024;
	struct dnet *x = dnet_new(ops_of(_i), 16, 14, &dp);
	ck_assert_ptr_nonnull(x);
	uint8_t blk[BLK_MAX], key[DHT_KEY_LEN];
	char reason[160];
	uint64_t far = 3600ULL * 1000000;
	/* 16 nodes, quota of 4 blocks per zone per node: a greedy zone soon
	 * fills its share on some node. */
	unsigned ok = 0, refused = 0;
	for (uint32_t name = 0; name < 80; name++) {
		toy_key("greedy.", name, key);
		size_t len = toy_block(blk, "greedy.", name, 1, far, 100, false);
		struct dht_put_result pr = dnet_put1(x, name % 16, key, blk, len, reason, sizeof(reason));
		if (pr.status == 0) {
			ok++;
		} else {
			ck_assert_int_eq(pr.status, DDNS_EQUOTA);
			ck_assert_msg(strstr(reason, "quota") != NULL, "reason: %s", reason);
			refused++;
		}
	}
	ck_assert_uint_gt(refused, 0);
	ck_assert_uint_gt(ok, 0);
	/* Quotas are per node and replicas enforce them too: no node stores
	 * more than 4 of the zone's blocks, primary or replica; some accepted
	 * puts therefore have fewer than 6 copies. */
	static uint8_t greedy[80][DHT_KEY_LEN];
	static unsigned copies[80];
	for (uint32_t name = 0; name < 80; name++)
		toy_key("greedy.", name, greedy[name]);
	qsort(greedy, 80, DHT_KEY_LEN, key_cmp);
	unsigned total = 0;
	for (size_t i = 0; i < x->cap; i++) {
		struct copy_count cc = {.keys = (const uint8_t(*)[DHT_KEY_LEN])greedy, .n = 80, .copies = copies};
		memset(copies, 0, sizeof(copies));
		dht_stored_each(x->d[i], copy_count_cb, &cc);
		unsigned here = 0;
		for (size_t k = 0; k < 80; k++)
			here += copies[k];
		ck_assert_msg(here <= 4, "node %zu stores %u blocks of the zone", i, here);
		total += here;
	}
	ck_assert_uint_le(total, 16 * 4);
	ck_assert_uint_ge(total, ok);
	/* Byte quota: one block larger than 4 KiB of a fresh zone. */
	toy_key("big.", 1, key);
	uint8_t *bigblk = malloc(8192);
	size_t len = toy_block(bigblk, "big.", 1, 1, far, 5000, false);
	struct dht_put_result pr = dnet_put1(x, 2, key, bigblk, len, reason, sizeof(reason));
	ck_assert_int_eq(pr.status, DDNS_EQUOTA);
	free(bigblk);
	/* Other zones are unaffected. */
	for (uint32_t name = 0; name < 3; name++) {
		toy_key("modest.", name, key);
		len = toy_block(blk, "modest.", name, 1, far, 100, false);
		pr = dnet_put1(x, 1, key, blk, len, reason, sizeof(reason));
		ck_assert_msg(pr.status == 0, "modest put: %s", reason);
		ck_assert_uint_eq(dnet_copies(x, key, NULL), 6);
	}
	dnet_free(x);
}
END_TEST

/*
 * max_store_bytes: a node whose store is full refuses further copies with
 * -ENOSPC "store full", whether it is a put's owner or a replica; no node
 * goes past the bound; every acknowledged put stays readable; a full node
 * still replaces a block by a newer version of no greater size.
 */
START_TEST(store_full)
{
	struct dht_params dp;
	dht_params_default(&dp);
	dp.max_store_bytes = 3000;
	dp.maint_us = 0; /* the copies come from the puts alone */
	struct dnet *x = dnet_new(ops_of(_i), 16, 17, &dp);
	ck_assert_ptr_nonnull(x);
	uint8_t blk[BLK_MAX], key[DHT_KEY_LEN];
	char reason[160];
	uint64_t far = 3600ULL * 1000000;
	static bool acked[120];
	unsigned ok = 0, full = 0;
	size_t len = 0;
	for (uint32_t name = 0; name < 120; name++) {
		toy_key("fill.", name, key);
		len = toy_block(blk, "fill.", name, 1, far, 150, false);
		struct dht_put_result pr = dnet_put1(x, name % 16, key, blk, len, reason, sizeof(reason));
		acked[name] = pr.status == 0;
		if (pr.status == 0) {
			ok++;
		} else {
			ck_assert_msg(pr.status == -ENOSPC, "put: %s (%s)", ddns_strerror(pr.status),
				      reason);
			ck_assert_msg(strstr(reason, "store full") != NULL, "reason: %s", reason);
			full++;
		}
	}
	uint64_t refused = 0;
	for (size_t i = 0; i < x->cap; i++) {
		struct dht_stats st;
		dht_get_stats(x->d[i], &st);
		ck_assert_uint_le(st.bytes_stored, dp.max_store_bytes);
		refused += st.refused_full;
	}
	printf("%s: %u puts acknowledged, %u refused, %llu copies refused for a full store\n",
	       ovl_ops_name(ops_of(_i)), ok, full, (unsigned long long)refused);
	ck_assert_uint_gt(ok, 0);
	ck_assert_uint_gt(full, 0);
	ck_assert_uint_ge(refused, full);
	/* Every acknowledged block is on its responsible node. Replicas that
	 * were full hold no copy, so a get, which asks at most 3 replicas after
	 * the lookup, can miss one with few copies: most are found. */
	unsigned acked_n = 0, found = 0;
	for (uint32_t name = 0; name < 120; name++) {
		if (!acked[name])
			continue;
		acked_n++;
		toy_key("fill.", name, key);
		size_t owner = simnet_oracle(x->net, key);
		ck_assert_int_eq(dht_local(x->d[owner], key, NULL), DHT_SRC_LOCAL_STORE);
		struct get_rec g = dnet_get1(x, (name + 5) % 16, key);
		if (g.status == 0) {
			ck_assert_uint_eq(g.version, 1);
			found++;
		} else {
			ck_assert_int_eq(g.status, DDNS_ENOTFOUND);
		}
	}
	printf("%s: %u of %u acknowledged blocks found by a get\n", ovl_ops_name(ops_of(_i)),
	       found, acked_n);
	ck_assert_uint_ge(found * 10, acked_n * 9);
	/* A newer version of an acknowledged block fits in the old one's place. */
	uint32_t first = 0;
	while (!acked[first])
		first++;
	toy_key("fill.", first, key);
	len = toy_block(blk, "fill.", first, 2, far, 150, false);
	struct dht_put_result pr = dnet_put1(x, 3, key, blk, len, reason, sizeof(reason));
	ck_assert_msg(pr.status == 0, "newer version: %s (%s)", ddns_strerror(pr.status), reason);
	ck_assert_uint_eq(dnet_get1(x, 7, key).version, 2);
	dnet_free(x);
}
END_TEST

/* One copy stored per call: how many blocks a node holds. */
static void count_cb(void *arg, const uint8_t key[DHT_KEY_LEN], uint64_t version)
{
	(void)key;
	(void)version;
	(*(unsigned *)arg)++;
}

/*
 * store_peer_rate: a node accepts at most a burst of copies from one peer,
 * then store_peer_rate per second; the rest are refused (DDNS_EREFUSED) before
 * validation. One flooding peer cannot fill a node; others are unaffected.
 */
START_TEST(store_rate_per_peer)
{
	struct dht_params dp;
	dht_params_default(&dp);
	dp.replicas = 1; /* only the owner's copy: every copy comes from the putting node */
	dp.store_peer_rate = 0.1;
	dp.store_peer_burst = 2;
	dp.cache_path_max = 0;
	struct dnet *x = dnet_new(ops_of(_i), 8, 17, &dp);
	ck_assert_ptr_nonnull(x);
	uint8_t blk[BLK_MAX], key[DHT_KEY_LEN];
	char reason[160];
	uint64_t far = 3600ULL * 1000000;
	unsigned ok = 0, busy = 0, ok2 = 0;
	for (uint32_t name = 0; name < 64; name++) {
		toy_key("flood.", name, key);
		size_t len = toy_block(blk, "flood.", name, 1, far, 100, false);
		struct dht_put_result pr = dnet_put1(x, 0, key, blk, len, reason, sizeof(reason));
		if (pr.status == 0) {
			ok++;
		} else {
			ck_assert_msg(pr.status == DDNS_EREFUSED, "put: %s (%s)", ddns_strerror(pr.status), reason);
			ck_assert_ptr_nonnull(strstr(reason, "store rate"));
			busy++;
		}
	}
	ck_assert_uint_gt(busy, 0);
	uint64_t refused = 0;
	for (size_t i = 0; i < x->cap; i++) {
		struct dht_stats st;
		dht_get_stats(x->d[i], &st);
		refused += st.refused_rate;
		unsigned held = 0;
		dht_stored_each(x->d[i], count_cb, &held);
		/* node 0 keeps what it owns itself; every other node took at most
		 * the burst (2) plus what 0.1/s refilled while the puts ran */
		if (i != 0)
			ck_assert_msg(held <= 3, "node %zu holds %u copies from one peer", i, held);
	}
	ck_assert_uint_eq(refused, busy);
	/* Another peer is not held back by the first one's bucket. */
	for (uint32_t name = 100; name < 104; name++) {
		toy_key("other.", name, key);
		size_t len = toy_block(blk, "other.", name, 1, far, 100, false);
		if (dnet_put1(x, 5, key, blk, len, NULL, 0).status == 0)
			ok2++;
	}
	ck_assert_uint_ge(ok2, 2);
	/* A minute later node 0 has tokens again everywhere. */
	dnet_run(x, 60ULL * 1000000);
	unsigned again = 0;
	for (uint32_t name = 0; name < 64 && again < 4; name++) {
		toy_key("flood.", name, key);
		size_t len = toy_block(blk, "flood.", name, 2, far, 100, false);
		if (dnet_put1(x, 0, key, blk, len, NULL, 0).status == 0)
			again++;
	}
	ck_assert_uint_eq(again, 4);
	dnet_free(x);
}
END_TEST

/*
 * zone_quota_net_bytes: a zone's blocks across the whole DHT. Every node
 * keeps its share (DHT_NET_QUOTA_SLACK x quota x replicas / its size
 * estimate), so a zone that spreads puts over every owner still ends up
 * with about the quota network-wide, not N per-node quotas; a modest zone
 * is not held back.
 */
START_TEST(zone_quota_across_the_network)
{
	struct dht_params dp;
	dht_params_default(&dp);
	dp.replicas = 3;
	dp.cache_path_max = 0;
	uint8_t blk[BLK_MAX], key[DHT_KEY_LEN];
	uint64_t far = 3600ULL * 1000000;
	size_t len = toy_block(blk, "greedy.", 0, 1, far, 100, false);
	dp.zone_quota_net_bytes = 40 * (uint64_t)len; /* 40 blocks' worth */
	struct dnet *x = dnet_new(ops_of(_i), 32, 18, &dp);
	ck_assert_ptr_nonnull(x);
	/* every node's estimate of the ring size is within a factor 3 */
	for (size_t i = 0; i < x->cap; i++) {
		uint64_t n = ovl_size_estimate(simnet_ovl(x->net, i));
		ck_assert_msg(n >= 32 / 3 && n <= 32 * 3, "node %zu estimates %llu nodes", i,
			      (unsigned long long)n);
	}
	unsigned ok = 0, refused = 0;
	for (uint32_t name = 0; name < 400; name++) {
		toy_key("greedy.", name, key);
		len = toy_block(blk, "greedy.", name, 1, far, 100, false);
		struct dht_put_result pr = dnet_put1(x, name % 32, key, blk, len, NULL, 0);
		if (pr.status == 0)
			ok++;
		else
			refused++;
	}
	/* per-node quotas alone would have let all 400 in; the network-wide
	 * one keeps the zone near its 40 blocks (slack 2, estimate error) */
	printf("%s: zone quota of 40 blocks network-wide: %u puts accepted, %u refused\n",
	       _i == 0 ? "chord" : "kad16", ok, refused);
	ck_assert_uint_ge(ok, 40);
	ck_assert_uint_le(ok, 40 * DHT_NET_QUOTA_SLACK * 3);
	ck_assert_uint_gt(refused, 0);
	/* a zone well under the quota: every put in, with all its copies */
	for (uint32_t name = 0; name < 10; name++) {
		toy_key("modest.", name, key);
		len = toy_block(blk, "modest.", name, 1, far, 100, false);
		struct dht_put_result pr = dnet_put1(x, name % 32, key, blk, len, NULL, 0);
		ck_assert_int_eq(pr.status, 0);
		ck_assert_uint_eq(dnet_copies(x, key, NULL), 3);
	}
	dnet_free(x);
}
END_TEST

START_TEST(path_caching)
{
	struct dnet *x = dnet_new(ops_of(_i), 64, 15, NULL);
	ck_assert_ptr_nonnull(x);
	uint8_t blk[BLK_MAX], key[DHT_KEY_LEN];
	toy_key("hot.", 1, key);
	size_t len = toy_block(blk, "hot.", 1, 1, 3600ULL * 1000000, 50, false);
	ck_assert_int_eq(dnet_put1(x, 0, key, blk, len, NULL, 0).status, 0);
	size_t from = 0;
	while (dht_local(x->d[from], key, NULL) != DHT_SRC_NONE)
		from++;
	struct get_rec g = dnet_get1(x, from, key);
	ck_assert_int_eq(g.status, 0);
	ck_assert(g.source == DHT_SRC_REPLICA || g.source == DHT_SRC_PATH_CACHE);
	ck_assert_uint_gt(g.rpcs, 0);
	/* The originating node now answers from its cache, with no RPC. */
	g = dnet_get1(x, from, key);
	ck_assert_int_eq(g.status, 0);
	ck_assert_int_eq(g.source, DHT_SRC_LOCAL_CACHE);
	ck_assert_uint_eq(g.rpcs, 0);
	dnet_free(x);
}
END_TEST

static unsigned cancelled;
static void count_cancel_put(void *arg, const struct dht_put_result *r)
{
	ck_assert_int_eq(r->status, DDNS_ECANCELLED);
	cancelled++;
}
static void count_cancel_get(void *arg, const struct dht_get_result *r)
{
	ck_assert_int_eq(r->status, DDNS_ECANCELLED);
	cancelled++;
}

START_TEST(free_cancels_pending)
{
	struct dnet *x = dnet_new(ops_of(_i), 20, 16, NULL);
	ck_assert_ptr_nonnull(x);
	uint8_t blk[BLK_MAX], key[DHT_KEY_LEN];
	toy_key("c.", 1, key);
	size_t len = toy_block(blk, "c.", 1, 1, 3600ULL * 1000000, 50, false);
	cancelled = 0;
	ck_assert_int_eq(dht_put(x->d[3], key, blk, len, count_cancel_put, NULL), 0);
	ck_assert_int_eq(dht_get(x->d[3], key, count_cancel_get, NULL), 0);
	dht_free(x->d[3]);
	x->d[3] = NULL;
	ck_assert_uint_eq(cancelled, 2);
	dnet_run(x, 10ULL * 1000000); /* late overlay completions find nothing dangling */
	dnet_free(x);
}
END_TEST

/* ---- the group commit (a one-node network with an LMDB store) ---- */

struct commit_put {
	struct op_batch *b;
	struct sim *sim;
	int status;
	uint64_t acked_us;
};

static void commit_put_cb(void *arg, const struct dht_put_result *res)
{
	struct commit_put *c = arg;
	c->status = res->status;
	c->acked_us = sim_now_us(c->sim);
	c->b->outstanding--;
}

/* Ten puts 0.9 ms apart into a store with the given commit delay and cap,
 * or all at once (gap 0). Each put's acknowledgement time goes to acked[];
 * returns the number of commits. */
static uint64_t commit_run(uint64_t delay_us, unsigned max, uint64_t gap_us, uint64_t t0[10],
			   uint64_t acked[10])
{
	char dir[] = "/tmp/ddns-test-commit.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	struct dht_params dp;
	dht_params_default(&dp);
	dp.data_dir = dir;
	dp.commit_delay_us = delay_us;
	dp.commit_max = max;
	struct dnet *x = dnet_new(&kad16_ops, 1, 21, &dp);
	ck_assert_ptr_nonnull(x);
	struct sim *sim = simnet_sim(x->net);
	struct op_batch b = {0};
	struct commit_put c[10];
	uint8_t blk[BLK_MAX], key[DHT_KEY_LEN];
	for (uint32_t i = 0; i < 10; i++) {
		if (gap_us && i)
			sim_run_until(sim, sim_now_us(sim) + gap_us);
		c[i] = (struct commit_put){.b = &b, .sim = sim, .status = 1};
		toy_key("commit.", i, key);
		size_t len = toy_block(blk, "commit.", i, 1, 3600ULL * 1000000, 64, false);
		t0[i] = sim_now_us(sim);
		ck_assert_int_eq(dht_put(x->d[0], key, blk, len, commit_put_cb, &c[i]), 0);
		b.outstanding++;
	}
	batch_wait(x, &b);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(c[i].status, 0);
		acked[i] = c[i].acked_us;
	}
	struct dht_stats st;
	dht_get_stats(x->d[0], &st);
	ck_assert_uint_eq(st.store_synced, 10);
	dnet_free(x);
	/* What was acknowledged is in the store: reopen it on its own. */
	dp.commit_delay_us = 0;
	struct dnet *y = dnet_new(&kad16_ops, 1, 21, &dp);
	ck_assert_ptr_nonnull(y);
	for (uint32_t i = 0; i < 10; i++) {
		toy_key("commit.", i, key);
		uint64_t v = 0;
		ck_assert_int_eq(dht_local(y->d[0], key, &v), DHT_SRC_LOCAL_STORE);
	}
	dnet_free(y);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	return st.store_syncs;
}

START_TEST(group_commit_waits_for_more_writes)
{
	uint64_t t0[10], acked[10];
	/* 5 ms: the puts of 0-4.5 ms share the first commit, 5.4-8.1 ms the
	 * second; none is acknowledged before its commit. */
	ck_assert_uint_eq(commit_run(5000, 256, 900, t0, acked), 2);
	for (int i = 0; i < 10; i++) {
		uint64_t commit_at = t0[i < 6 ? 0 : 6] + 5000;
		ck_assert_msg(acked[i] >= commit_at && acked[i] < commit_at + 1000,
			      "put %d (at %llu us) acknowledged at %llu, its commit at %llu", i,
			      (unsigned long long)t0[i], (unsigned long long)acked[i],
			      (unsigned long long)commit_at);
	}
	/* No delay: each put its own commit, acknowledged at once. */
	ck_assert_uint_eq(commit_run(0, 256, 900, t0, acked), 10);
	for (int i = 0; i < 10; i++)
		ck_assert_uint_lt(acked[i] - t0[i], 900);
	/* The cap: ten at once with at most four per commit. The fourth
	 * commits the first four at once, the eighth the next four, and the
	 * last two wait for the delay. */
	ck_assert_uint_eq(commit_run(5000, 4, 0, t0, acked), 3);
	for (int i = 0; i < 8; i++)
		ck_assert_uint_lt(acked[i] - t0[0], 1000);
	for (int i = 8; i < 10; i++)
		ck_assert_uint_ge(acked[i] - t0[0], 5000);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("dht");
	TCase *tc = tcase_create("semantics");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, put_get_roundtrip, 0, 2);
	tcase_add_loop_test(tc, forged_and_replay_refused, 0, 2);
	tcase_add_loop_test(tc, newer_replaces_after_cache_expiry, 0, 2);
	tcase_add_loop_test(tc, zone_quota, 0, 2);
	tcase_add_loop_test(tc, store_full, 0, 2);
	tcase_add_loop_test(tc, store_rate_per_peer, 0, 2);
	tcase_add_loop_test(tc, zone_quota_across_the_network, 0, 2);
	tcase_add_loop_test(tc, path_caching, 0, 2);
	tcase_add_loop_test(tc, free_cancels_pending, 0, 2);
	tcase_add_test(tc, group_commit_waits_for_more_writes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
