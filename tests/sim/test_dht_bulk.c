/*
 * test_dht_bulk.c - the DHT at scale on one overlay (DHT_OVL, set per
 * program by tests/sim/dht.inc): 1,000 nodes, 10,000 blocks put from random
 * nodes, every block on exactly r = 6 nodes, then 50,000 gets from random
 * nodes that all return the right block; then, on the same network, the
 * "slashdot" workload: one new block fetched 100,000 times from random
 * nodes, which path caching must absorb (>= 95% answered without leaving
 * the originating node after the first few thousand gets, and no node
 * serving more than 5 log2 N copies of it).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/sim/test_dht_net.h"

#ifndef DHT_OVL
#define DHT_OVL "kad16"
#endif

#define NODES 1000
#define BLOCKS 10000
#define GETS 50000
#define PARALLEL 250

struct bulk {
	struct dnet *x;
	uint8_t (*keys)[DHT_KEY_LEN];
	uint64_t *versions;
};

static struct dnet *net_build(uint64_t seed)
{
	struct dht_params dp;
	dht_params_default(&dp);
	dp.maint_us = 0; /* no periodic maintenance: replica counts come from the puts */
	struct dnet *x = dnet_new(ovl_ops_by_name(DHT_OVL), NODES, seed, &dp);
	ck_assert_ptr_nonnull(x);
	return x;
}

/* One network for both tests (built by the fixture; the slashdot block is
 * new to it and its load is counted from the test's start). */
static struct dnet *net;

static void net_setup(void) { net = net_build(101); }

static void net_teardown(void)
{
	dnet_free(net);
	net = NULL;
}

START_TEST(many_puts_and_gets)
{
	struct dnet *x = net;
	struct ddns_rng *rng = sim_rng(simnet_sim(x->net));
	uint64_t far = 36000ULL * 1000000;
	static uint8_t keys[BLOCKS][DHT_KEY_LEN];
	static struct put_rec puts[BLOCKS];
	uint8_t blk[512];
	struct op_batch b = {0};
	for (uint32_t i = 0; i < BLOCKS; i++) {
		char zone[32];
		snprintf(zone, sizeof(zone), "z%u.", i % 97);
		toy_key(zone, i, keys[i]);
		size_t len = toy_block(blk, zone, i, 1 + i % 5, far, 40 + i % 100, false);
		puts[i].b = &b;
		ck_assert_int_eq(dht_put(x->d[dnet_random_live(x)], keys[i], blk, len, put_rec_cb, &puts[i]), 0);
		b.outstanding++;
		if (b.outstanding >= PARALLEL)
			while (b.outstanding > PARALLEL / 2)
				sim_step(simnet_sim(x->net));
	}
	batch_wait(x, &b);
	struct ddns_samples prpcs;
	ddns_samples_init(&prpcs);
	for (uint32_t i = 0; i < BLOCKS; i++) {
		ck_assert_msg(puts[i].done && puts[i].res.status == 0, "put %u: %s", i,
			      ddns_strerror(puts[i].res.status));
		ck_assert_uint_eq(puts[i].res.replicas_stored, 6);
		ck_assert(ddns_samples_add(&prpcs, puts[i].res.rpcs) == 0);
	}
	/* Every block on exactly r nodes, each holding the version put (one
	 * walk over every node's store). */
	static uint8_t sorted[BLOCKS][DHT_KEY_LEN];
	static unsigned copies[BLOCKS];
	static uint64_t minver[BLOCKS];
	memcpy(sorted, keys, sizeof(sorted));
	qsort(sorted, BLOCKS, DHT_KEY_LEN, key_cmp);
	dnet_copies_all(x, (const uint8_t(*)[DHT_KEY_LEN])sorted, BLOCKS, copies, minver);
	for (uint32_t i = 0; i < BLOCKS; i++) {
		const uint8_t(*k)[DHT_KEY_LEN] = bsearch(keys[i], sorted, BLOCKS, DHT_KEY_LEN, key_cmp);
		ck_assert_ptr_nonnull(k);
		size_t j = (size_t)(k - sorted);
		ck_assert_msg(copies[j] == 6, "block %u on %u nodes", i, copies[j]);
		ck_assert_uint_eq(minver[j], 1 + i % 5);
	}

	static struct get_rec gets[PARALLEL];
	static uint32_t want[PARALLEL];
	size_t ok = 0, done = 0, local = 0;
	struct ddns_samples rpcs, hops;
	ddns_samples_init(&rpcs);
	ddns_samples_init(&hops);
	while (done < GETS) {
		struct op_batch gb = {0};
		size_t n = GETS - done < PARALLEL ? GETS - done : PARALLEL;
		for (size_t k = 0; k < n; k++) {
			want[k] = (uint32_t)ddns_rng_below(rng, BLOCKS);
			memset(&gets[k], 0, sizeof(gets[k]));
			gets[k].b = &gb;
			ck_assert_int_eq(dht_get(x->d[dnet_random_live(x)], keys[want[k]], get_rec_cb, &gets[k]), 0);
			gb.outstanding++;
		}
		batch_wait(x, &gb);
		for (size_t k = 0; k < n; k++) {
			ck_assert(gets[k].done);
			if (gets[k].status == 0 && gets[k].version == 1 + want[k] % 5)
				ok++;
			local += gets[k].rpcs == 0;
			ck_assert(ddns_samples_add(&rpcs, gets[k].rpcs) == 0);
			ck_assert(ddns_samples_add(&hops, gets[k].hops) == 0);
		}
		done += n;
	}
	ck_assert_uint_eq(ok, GETS);
	struct ddns_dist dr, dh, dpr;
	ddns_samples_dist(&rpcs, &dr);
	ddns_samples_dist(&hops, &dh);
	ddns_samples_dist(&prpcs, &dpr);
	printf("%s: %d nodes, %d blocks: put RPCs mean %.2f; %d gets all right; get RPCs mean "
	       "%.2f p99 %.0f, hops mean %.2f; %zu answered locally\n",
	       DHT_OVL, NODES, BLOCKS, dpr.mean, GETS, dr.mean, dr.p99, dh.mean, local);
	ddns_samples_free(&rpcs);
	ddns_samples_free(&hops);
	ddns_samples_free(&prpcs);
}
END_TEST

#define SLASH_GETS 100000
#define SLASH_WARMUP 3000
#define SLASH_PARALLEL 500

START_TEST(slashdot)
{
	struct dnet *x = net;
	uint8_t blk[512], key[DHT_KEY_LEN];
	static uint64_t served0[NODES];
	for (size_t i = 0; i < x->cap; i++) {
		struct dht_stats st;
		dht_get_stats(x->d[i], &st);
		served0[i] = st.transfers_served;
	}
	toy_key("slashdot.org.", 1, key);
	size_t len = toy_block(blk, "slashdot.org.", 1, 1, 36000ULL * 1000000, 300, false);
	ck_assert_int_eq(dnet_put1(x, 0, key, blk, len, NULL, 0).status, 0);
	static struct get_rec gets[SLASH_PARALLEL];
	size_t done = 0, ok = 0, after = 0, after_local = 0;
	while (done < SLASH_GETS) {
		struct op_batch gb = {0};
		size_t n = SLASH_GETS - done < SLASH_PARALLEL ? SLASH_GETS - done : SLASH_PARALLEL;
		/* Small batches at first, so early gets can seed the caches. */
		if (done < SLASH_WARMUP)
			n = 50;
		for (size_t k = 0; k < n; k++) {
			memset(&gets[k], 0, sizeof(gets[k]));
			gets[k].b = &gb;
			ck_assert_int_eq(dht_get(x->d[dnet_random_live(x)], key, get_rec_cb, &gets[k]), 0);
			gb.outstanding++;
		}
		batch_wait(x, &gb);
		for (size_t k = 0; k < n; k++) {
			ok += gets[k].status == 0 && gets[k].version == 1;
			if (done + k >= SLASH_WARMUP) {
				after++;
				after_local += gets[k].rpcs == 0;
			}
		}
		done += n;
	}
	ck_assert_uint_eq(ok, SLASH_GETS);
	double frac = (double)after_local / (double)after;
	uint64_t maxserved = 0, total = 0;
	for (size_t i = 0; i < x->cap; i++) {
		struct dht_stats st;
		dht_get_stats(x->d[i], &st);
		uint64_t served = st.transfers_served - served0[i];
		total += served;
		if (served > 4 * log2((double)NODES))
			printf("  node %zu served %llu, holds %s\n", i, (unsigned long long)served,
			       dht_source_name(dht_local(x->d[i], key, NULL)));
		if (served > maxserved)
			maxserved = served;
	}
	double lg = log2((double)NODES);
	printf("%s slashdot: %.2f%% of gets after the first %d answered locally; transfers "
	       "served: total %llu, max per node %llu (%.1f x log2 N)\n",
	       DHT_OVL, 100.0 * frac, SLASH_WARMUP, (unsigned long long)total,
	       (unsigned long long)maxserved, (double)maxserved / lg);
	ck_assert_msg(frac >= 0.95, "only %.3f answered locally", frac);
	/* chord: lookups converge through the key's predecessors, where path
	 * caches absorb them, and the rest are spread over the r replicas by
	 * random-order fetches. kad16: gets send one value request at a time
	 * to a random candidate that makes a routing step (dht/policy.c), and
	 * copies are cached on the path nodes that did not have one, so about
	 * one transfer per originator spreads over the key's subtree. Either
	 * way no node serves more than 5 log2 N copies. */
	double bound = 5 * lg;
	ck_assert_msg((double)maxserved <= bound, "a node served %llu transfers",
		      (unsigned long long)maxserved);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("dht-bulk-" DHT_OVL);
	TCase *tc = tcase_create("bulk");
	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, net_setup, net_teardown);
	tcase_add_test(tc, many_puts_and_gets);
	tcase_add_test(tc, slashdot);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	SRunner *sr = srunner_create(suite());
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
