/*
 * test_chord_dht.c - chord with virtual nodes under concurrent joins, and
 * DHT puts and gets over it.
 *
 * The virtual nodes of one machine join at the same instant through one
 * bootstrap node, 50 ms after the previous machine, so several joins are
 * in flight at once. A joiner must not answer for a range before its join
 * went through: when it did, joiners answered each other's join lookups
 * and formed a second ring that stabilisation never merged (seed 11, 40
 * machines x 3 vnodes: 19 of 120 vnodes in a ring of their own), and DHT
 * gets went to owners that did not hold the block (344 of 500 answered).
 * Checked here three ways: the ring itself against the sorted ids, DHT
 * put/get with the toy validator of test_dht_net.h (every block on exactly
 * its r true replicas, every get answered), and the DNS storage experiment
 * (cli/simdns.h) with the parameters that showed the bug.
 *
 * Fixed seeds: every run replays the same. Figures go to stdout (see
 * test_chord_dht.log).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/simdns.h"
#include "overlay/id.h"
#include "test_dht_net.h"

#define NODES 40
#define JOIN_GAP_US 50000
#define SETTLE_US 30000000ULL

static void net_params(struct simnet_params *p, uint64_t seed, unsigned vnodes)
{
	simnet_params_default(p);
	p->ops = &chord_ops;
	p->seed = seed;
	p->join_gap_us = JOIN_GAP_US;
	p->settle_us = SETTLE_US;
	p->vnodes = vnodes;
}

static int id_cmp(const void *a, const void *b) { return memcmp(a, b, DDNS_ID_LEN); }

/* Every live virtual node's id, sorted (ring order); returns how many. */
static size_t ring_ids(struct simnet *n, uint8_t (*ids)[DDNS_ID_LEN])
{
	size_t m = 0;
	for (size_t i = 0; i < simnet_size(n); i++)
		for (unsigned v = 0; v < simnet_vnodes(n); v++) {
			struct ovl *o = simnet_ovl_vnode(n, i, v);
			if (o)
				memcpy(ids[m++], ovl_self(o)->id, DDNS_ID_LEN);
		}
	qsort(ids, m, DDNS_ID_LEN, id_cmp);
	return m;
}

/* Index in ids (m sorted ids) of successor(key). */
static size_t succ_index(uint8_t (*ids)[DDNS_ID_LEN], size_t m, const uint8_t *key)
{
	for (size_t k = 0; k < m; k++)
		if (memcmp(ids[k], key, DDNS_ID_LEN) >= 0)
			return k;
	return 0;
}

/* Virtual nodes whose successor is not the next id on the ring, or that
 * get their own range wrong. */
static size_t ring_errors(struct simnet *n)
{
	size_t total = simnet_size(n) * simnet_vnodes(n), bad = 0;
	uint8_t(*ids)[DDNS_ID_LEN] = calloc(total, DDNS_ID_LEN);
	ck_assert_ptr_nonnull(ids);
	size_t m = ring_ids(n, ids);
	for (size_t i = 0; i < simnet_size(n); i++)
		for (unsigned v = 0; v < simnet_vnodes(n); v++) {
			struct ovl *o = simnet_ovl_vnode(n, i, v);
			if (!o)
				continue;
			const uint8_t *self = ovl_self(o)->id;
			size_t k = succ_index(ids, m, self);
			struct ovl_node rs[2];
			size_t nr = ovl_replica_set(o, self, rs, 2);
			bool ok = nr == 2 && ovl_id_eq(rs[1].id, ids[(k + 1) % m]) &&
				  ovl_responsible(o, self) &&
				  !ovl_responsible(o, ids[(k + m - 1) % m]);
			bad += !ok;
		}
	free(ids);
	return bad;
}

/* ---- the ring ------------------------------------------------------------ */

static const struct {
	uint64_t seed;
	unsigned vnodes;
} ring_cases[] = {{11, 3}, {1, 5}, {2, 5}, {4, 5}};

START_TEST(test_ring_concurrent_vnode_joins)
{
	struct simnet_params p;
	net_params(&p, ring_cases[_i].seed, ring_cases[_i].vnodes);
	struct simnet *n = simnet_new(&p);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(simnet_grow(n, NODES), 0);
	size_t bad = ring_errors(n);
	struct simnet_report r;
	simnet_report_init(&r);
	ck_assert_int_eq(simnet_lookups(n, 500, 16, &r), 0);
	printf("seed %llu, %d nodes x %u vnodes joined 50 ms apart: %zu vnodes with a wrong "
	       "successor or range; %zu/%zu lookups correct\n",
	       (unsigned long long)ring_cases[_i].seed, NODES, ring_cases[_i].vnodes, bad, r.correct,
	       r.lookups);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(r.lookups, 500);
	ck_assert_uint_eq(r.correct, 500);
	simnet_report_free(&r);
	simnet_free(n);
}
END_TEST

/* ---- DHT put/get over vnodes (toy blocks) -------------------------------- */

#define BLOCKS 300
#define REPLICAS 2
#define PARALLEL 16 /* operations in flight */

static bool has_room(void *arg) { return ((struct op_batch *)arg)->outstanding < PARALLEL; }

START_TEST(test_dht_put_get_vnodes)
{
	struct toy_stats ts = {0};
	struct simnet_params p;
	net_params(&p, 11, 3);
	p.validate = toy_validate;
	p.validate_arg = &ts;
	dht_params_default(&p.dht);
	p.dht.replicas = REPLICAS;
	struct simnet *n = simnet_new(&p);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(simnet_grow(n, NODES), 0);
	struct sim *s = simnet_sim(n);
	struct ddns_rng *rng = sim_rng(s);
	unsigned V = simnet_vnodes(n);

	static uint8_t keys[BLOCKS][DHT_KEY_LEN];
	static struct put_rec puts[BLOCKS];
	struct op_batch b = {0};
	uint8_t blk[400];
	for (size_t k = 0; k < BLOCKS; k++) {
		toy_key("vnodes.test", (uint32_t)k, keys[k]);
		size_t len = toy_block(blk, "vnodes.test", (uint32_t)k, 1, UINT64_MAX / 2, 40, false);
		struct dht *d = simnet_dht_vnode(n, simnet_random_live(n),
						 (unsigned)ddns_rng_below(rng, V));
		memset(&puts[k], 0, sizeof(puts[k]));
		puts[k].b = &b;
		ck_assert_int_eq(dht_put(d, keys[k], blk, len, put_rec_cb, &puts[k]), 0);
		b.outstanding++;
		if (b.outstanding >= PARALLEL)
			ck_assert(sim_run_cond(s, has_room, &b, 600ULL * 1000000));
	}
	while (b.outstanding)
		ck_assert(sim_run_cond(s, batch_done, &b, 600ULL * 1000000));
	size_t puts_ok = 0;
	for (size_t k = 0; k < BLOCKS; k++)
		puts_ok += puts[k].res.status == 0;

	/* each block on exactly its r true replicas: successor(key) and the
	 * next virtual node(s) on the ring */
	size_t total = simnet_size(n) * V;
	uint8_t(*ids)[DDNS_ID_LEN] = calloc(total, DDNS_ID_LEN);
	ck_assert_ptr_nonnull(ids);
	size_t m = ring_ids(n, ids);
	size_t misplaced = 0;
	for (size_t k = 0; k < BLOCKS; k++) {
		size_t first = succ_index(ids, m, keys[k]);
		unsigned holders = 0, right = 0;
		for (size_t i = 0; i < simnet_size(n); i++)
			for (unsigned v = 0; v < V; v++) {
				struct dht *d = simnet_dht_vnode(n, i, v);
				uint64_t ver;
				if (!d || dht_local(d, keys[k], &ver) != DHT_SRC_LOCAL_STORE)
					continue;
				holders++;
				const uint8_t *id = ovl_self(simnet_ovl_vnode(n, i, v))->id;
				for (size_t j = 0; j < REPLICAS; j++)
					right += ovl_id_eq(id, ids[(first + j) % m]);
			}
		misplaced += holders != REPLICAS || right != REPLICAS;
	}
	free(ids);

	/* every block found from a random virtual node */
	size_t answered = 0, wrong_version = 0;
	static struct get_rec gets[BLOCKS];
	struct op_batch gb = {0};
	for (size_t k = 0; k < BLOCKS; k++) {
		struct dht *d = simnet_dht_vnode(n, simnet_random_live(n),
						 (unsigned)ddns_rng_below(rng, V));
		memset(&gets[k], 0, sizeof(gets[k]));
		gets[k].b = &gb;
		ck_assert_int_eq(dht_get(d, keys[k], get_rec_cb, &gets[k]), 0);
		gb.outstanding++;
		if (gb.outstanding >= PARALLEL)
			ck_assert(sim_run_cond(s, has_room, &gb, 600ULL * 1000000));
	}
	while (gb.outstanding)
		ck_assert(sim_run_cond(s, batch_done, &gb, 600ULL * 1000000));
	for (size_t k = 0; k < BLOCKS; k++) {
		answered += gets[k].status == 0;
		wrong_version += gets[k].status == 0 && gets[k].version != 1;
	}
	printf("DHT over chord, %d nodes x %u vnodes, r = %d: %zu/%d puts ok, %zu blocks "
	       "not on exactly their %d true replicas, %zu/%d gets answered, %lu bogus\n",
	       NODES, V, REPLICAS, puts_ok, BLOCKS, misplaced, REPLICAS, answered, BLOCKS,
	       ts.bogus);
	ck_assert_uint_eq(puts_ok, BLOCKS);
	ck_assert_uint_eq(misplaced, 0);
	ck_assert_uint_eq(answered, BLOCKS);
	ck_assert_uint_eq(wrong_version, 0);
	ck_assert_uint_eq(ts.bogus, 0);
	simnet_free(n);
}
END_TEST

/* ---- the DNS storage experiment that showed the bug ---------------------- */

START_TEST(test_simdns_vnodes)
{
	struct simdns_params p;
	struct simdns_result r;
	simdns_params_default(&p);
	p.net.ops = &chord_ops;
	p.net.seed = 11;
	p.net.join_gap_us = JOIN_GAP_US;
	p.net.settle_us = SETTLE_US;
	p.net.dht.replicas = 2;
	p.nodes = NODES;
	p.records = 600;
	p.queries = 500;
	p.unresolved = 0;
	p.slashdot = 0;
	p.parallel = 16;
	p.net.vnodes = 3;
	ck_assert_int_eq(simdns_run(&p, &r), 0);
	printf("simdns, %d nodes x 3 vnodes: %zu/%zu puts ok, %zu/%zu queries answered "
	       "(%zu found nowhere)\n",
	       NODES, r.puts_ok, r.records, r.successful.answered, r.successful.queries,
	       r.successful.by_source[DHT_SRC_NONE]);
	ck_assert_uint_eq(r.puts_ok, 600);
	ck_assert_uint_eq(r.successful.queries, 500);
	ck_assert_uint_eq(r.successful.answered, 500);
	ck_assert_uint_eq(r.successful.by_source[DHT_SRC_NONE], 0);
	simdns_result_free(&r);
}
END_TEST

static Suite *chord_dht_suite(void)
{
	Suite *s = suite_create("chord_dht");
	TCase *tc = tcase_create("vnodes");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_ring_concurrent_vnode_joins, 0,
			    (int)(sizeof(ring_cases) / sizeof(ring_cases[0])));
	tcase_add_test(tc, test_dht_put_get_vnodes);
	tcase_add_test(tc, test_simdns_vnodes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(chord_dht_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
