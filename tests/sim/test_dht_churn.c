/*
 * test_dht_churn.c - replication maintenance under failures on one overlay
 * (DHT_OVL, set per program by tests/sim/dht.inc), r = 6:
 *  - crash 20% of 200 nodes at once: after maintenance every block that kept
 *    at least one live copy is back on exactly 6 live nodes and every get of
 *    it succeeds; blocks that lost all six are counted (and reported);
 *  - crash one node at a time, 50 times, with maintenance in between: no
 *    block is lost and every block is back on 6 live nodes before the next.
 * Maintenance rounds are driven by the test (dht_maintain on every node,
 * 2 s of simulated time apart) until the copies are right, so the repair
 * time printed is the simulated time the DHT needed.
 */
#include <check.h>
#include <stdio.h>

#include "tests/sim/test_dht_net.h"

#ifndef DHT_OVL
#define DHT_OVL "kad16"
#endif

#define NODES 200
#define BLOCKS 1000

static uint8_t keys[BLOCKS][DHT_KEY_LEN];

static struct dnet *build(uint64_t seed)
{
	struct dht_params dp;
	dht_params_default(&dp);
	dp.maint_us = 0;           /* the test drives maintenance rounds itself */
	dp.placement_rounds = 1;
	struct dnet *x = dnet_new(ovl_ops_by_name(DHT_OVL), NODES, seed, &dp);
	ck_assert_ptr_nonnull(x);
	uint8_t blk[512];
	static struct put_rec puts[BLOCKS];
	struct op_batch b = {0};
	for (uint32_t i = 0; i < BLOCKS; i++) {
		toy_key("churn.", i, keys[i]);
		size_t len = toy_block(blk, "churn.", i, 1, 36000ULL * 1000000, 100, false);
		memset(&puts[i], 0, sizeof(puts[i]));
		puts[i].b = &b;
		ck_assert_int_eq(dht_put(x->d[dnet_random_live(x)], keys[i], blk, len, put_rec_cb, &puts[i]), 0);
		b.outstanding++;
		if (b.outstanding >= 100)
			while (b.outstanding > 50)
				sim_step(simnet_sim(x->net));
	}
	batch_wait(x, &b);
	for (uint32_t i = 0; i < BLOCKS; i++) {
		ck_assert_int_eq(puts[i].res.status, 0);
		ck_assert_uint_eq(dnet_copies(x, keys[i], NULL), 6);
	}
	return x;
}

/* Blocks (not marked lost) on fewer or more than 6 live nodes. */
static size_t misplaced(struct dnet *x, const bool *lost)
{
	size_t bad = 0;
	for (uint32_t i = 0; i < BLOCKS; i++)
		if (!(lost && lost[i]) && dnet_copies(x, keys[i], NULL) != 6)
			bad++;
	return bad;
}

/* Maintenance rounds on every node, ROUND_GAP_US of simulated time apart,
 * until every block that kept a copy is on exactly 6 live nodes again (or
 * REPAIR_MAX_US passed). Returns the simulated time it took. */
#define ROUND_GAP_US (2ULL * 1000000)
#define REPAIR_MAX_US (90ULL * 1000000)
static uint64_t repair(struct dnet *x, const bool *lost)
{
	uint64_t t0 = sim_now_us(simnet_sim(x->net));
	do {
		dnet_maintain_all(x);
		dnet_run(x, ROUND_GAP_US);
	} while (misplaced(x, lost) && sim_now_us(simnet_sim(x->net)) - t0 < REPAIR_MAX_US);
	return sim_now_us(simnet_sim(x->net)) - t0;
}

static void check_gets(struct dnet *x, const bool *skip)
{
	static struct get_rec gets[BLOCKS];
	struct op_batch b = {0};
	for (uint32_t i = 0; i < BLOCKS; i++) {
		memset(&gets[i], 0, sizeof(gets[i]));
		if (skip && skip[i])
			continue;
		gets[i].b = &b;
		ck_assert_int_eq(dht_get(x->d[dnet_random_live(x)], keys[i], get_rec_cb, &gets[i]), 0);
		b.outstanding++;
	}
	batch_wait(x, &b);
	for (uint32_t i = 0; i < BLOCKS; i++)
		if (!skip || !skip[i])
			ck_assert_msg(gets[i].status == 0 && gets[i].version == 1, "get %u: %s", i,
				      ddns_strerror(gets[i].status));
}

START_TEST(crash_fifth_at_once)
{
	struct dnet *x = build(301);
	size_t ncrash = NODES / 5;
	for (size_t k = 0; k < ncrash; k++)
		dnet_crash(x, dnet_random_live(x));
	static bool lost[BLOCKS];
	size_t nlost = 0, degraded = 0;
	for (uint32_t i = 0; i < BLOCKS; i++) {
		unsigned c = dnet_copies(x, keys[i], NULL);
		lost[i] = c == 0;
		nlost += c == 0;
		degraded += c > 0 && c < 6;
	}
	uint64_t took = repair(x, lost);
	size_t restored = 0, extra = 0;
	for (uint32_t i = 0; i < BLOCKS; i++) {
		if (lost[i])
			continue;
		unsigned c = dnet_copies(x, keys[i], NULL);
		ck_assert_msg(c >= 6, "block %u on %u live nodes after repair", i, c);
		restored += c == 6;
		extra += c > 6;
	}
	printf("%s: crashed %zu of %d nodes: %zu of %d blocks lost all 6 copies, %zu degraded; "
	       "after %.0f s of maintenance %zu on exactly 6 nodes, %zu on more\n",
	       DHT_OVL, ncrash, NODES, nlost, BLOCKS, degraded, (double)took / 1e6, restored, extra);
	ck_assert_uint_eq(extra, 0);
	check_gets(x, lost);
	dnet_free(x);
}
END_TEST

START_TEST(crash_one_at_a_time)
{
	struct dnet *x = build(302);
	uint64_t worst = 0, total = 0;
	for (int k = 0; k < 50; k++) {
		dnet_crash(x, dnet_random_live(x));
		uint64_t took = repair(x, NULL);
		total += took;
		worst = took > worst ? took : worst;
		for (uint32_t i = 0; i < BLOCKS; i++) {
			unsigned c = dnet_copies(x, keys[i], NULL);
			ck_assert_msg(c >= 1, "block %u lost after crash %d", i, k);
			ck_assert_msg(c == 6, "block %u on %u nodes after crash %d", i, c, k);
		}
	}
	printf("%s: 50 crashes one at a time, no block lost, all back on 6 nodes after %.1f s of "
	       "maintenance on average (worst %.0f s)\n",
	       DHT_OVL, (double)total / 50e6, (double)worst / 1e6);
	check_gets(x, NULL);
	dnet_free(x);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("dht-churn-" DHT_OVL);
	TCase *tc = tcase_create("fifth");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, crash_fifth_at_once);
	suite_add_tcase(s, tc);
	tc = tcase_create("one");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, crash_one_at_a_time);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
