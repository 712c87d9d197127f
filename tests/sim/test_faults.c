/*
 * test_faults.c - the overlays and the DHT under the simulator's injected
 * faults (struct sim_faults: duplicated datagrams, reordering, delay
 * spikes), on top of loss, for chord and kad16.
 *
 * A 200-node network is built and used with the faults on from the start:
 *  - lookups: at least 99% end at the oracle's node, and the faults were
 *    really drawn (each counter near its probability times the datagrams);
 *  - the DHT: 300 blocks put, then every one got back byte for byte,
 *    although STOREs, FETCHes and their replies arrive twice, late and out
 *    of order;
 *  - the same seed gives the same run (trace hash and figures).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/simnet.h"
#include "common/hash.h"
#include "dht/dht.h"
#include "overlay/sim.h"

#define NODES 200

static const struct ovl_ops *ops_of(int i) { return i == 0 ? &chord_ops : &kad16_ops; }

static void accept_all(void *arg, struct dht *d, const uint8_t key[DHT_KEY_LEN],
		       const uint8_t *blk, size_t len, dht_validate_done_cb done, void *done_arg)
{
	(void)arg;
	(void)d;
	(void)key;
	struct dht_block_meta m;
	memset(&m, 0, sizeof(m));
	m.zone[0] = blk[0];
	m.zone_len = 1;
	m.version = 1;
	m.expire_us = UINT64_MAX / 4;
	done(done_arg, 0, &m);
}

static struct simnet *faulty_net(int ovl, uint64_t seed, bool dht)
{
	struct simnet_params p;
	simnet_params_default(&p);
	p.ops = ops_of(ovl);
	p.seed = seed;
	p.loss = 0.01;
	p.faults.dup = 0.05;
	p.faults.reorder = 0.2;
	p.faults.reorder_us = 100000;
	p.faults.spike = 0.02;
	p.faults.spike_us = 400000;
	p.join_gap_us = 50000;
	if (dht) {
		p.validate = accept_all;
		p.dht.maint_us = 0;
	}
	struct simnet *n = simnet_new(&p);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(simnet_grow(n, NODES), 0);
	return n;
}

struct run {
	size_t correct, lookups;
	uint64_t trace, sent, dup, reordered, spiked;
};

static struct run lookups(int ovl, uint64_t seed)
{
	struct simnet *n = faulty_net(ovl, seed, false);
	struct simnet_report r;
	simnet_report_init(&r);
	ck_assert_int_eq(simnet_lookups(n, 2000, 32, &r), 0);
	struct sim_stats st;
	sim_get_stats(simnet_sim(n), &st);
	struct run out = {r.correct, r.lookups, sim_trace_hash(simnet_sim(n)), st.datagrams_sent,
			  st.datagrams_duplicated, st.datagrams_reordered, st.datagrams_spiked};
	simnet_report_free(&r);
	simnet_free(n);
	return out;
}

START_TEST(lookups_under_faults)
{
	struct run a = lookups(_i, 31);
	printf("%s: %zu of %zu lookups correct; of %llu datagrams %llu duplicated, %llu "
	       "reordered, %llu spiked\n",
	       ovl_ops_name(ops_of(_i)), a.correct, a.lookups, (unsigned long long)a.sent,
	       (unsigned long long)a.dup, (unsigned long long)a.reordered,
	       (unsigned long long)a.spiked);
	ck_assert_uint_eq(a.lookups, 2000);
	ck_assert_uint_ge(a.correct, 1980);
	/* Each fault near its probability (the draws are per datagram). */
	ck_assert_uint_gt(a.dup, a.sent * 4 / 100);
	ck_assert_uint_lt(a.dup, a.sent * 6 / 100);
	ck_assert_uint_gt(a.reordered, a.sent * 18 / 100);
	ck_assert_uint_lt(a.reordered, a.sent * 22 / 100);
	ck_assert_uint_gt(a.spiked, a.sent * 1 / 100);
	ck_assert_uint_lt(a.spiked, a.sent * 3 / 100);
	/* Deterministic from the seed. */
	struct run b = lookups(_i, 31);
	ck_assert_uint_eq(a.trace, b.trace);
	ck_assert_uint_eq(a.correct, b.correct);
}
END_TEST

struct op {
	bool done;
	int status;
	uint8_t blk[64];
	size_t len;
};

static bool op_done(void *arg) { return ((struct op *)arg)->done; }

static void put_cb(void *arg, const struct dht_put_result *r)
{
	struct op *o = arg;
	o->status = r->status;
	o->done = true;
}

static void get_cb(void *arg, const struct dht_get_result *r)
{
	struct op *o = arg;
	o->status = r->status;
	if (r->status == 0 && r->len <= sizeof(o->blk)) {
		memcpy(o->blk, r->block, r->len);
		o->len = r->len;
	}
	o->done = true;
}

#define BLOCKS 300

START_TEST(dht_under_faults)
{
	struct simnet *n = faulty_net(_i, 77, true);
	static struct op ops[BLOCKS];
	uint8_t keys[BLOCKS][DHT_KEY_LEN], data[BLOCKS][40];
	for (size_t i = 0; i < BLOCKS; i++) {
		snprintf((char *)data[i], sizeof(data[i]), "block %zu under faults", i);
		ddns_sha1(data[i], sizeof(data[i]), keys[i]);
		memset(&ops[i], 0, sizeof(ops[i]));
		ck_assert_int_eq(dht_put(simnet_dht(n, simnet_random_live(n)), keys[i], data[i],
					 sizeof(data[i]), put_cb, &ops[i]),
				 0);
	}
	for (size_t i = 0; i < BLOCKS; i++)
		ck_assert(sim_run_cond(simnet_sim(n), op_done, &ops[i], 600ULL * 1000000));
	size_t put_ok = 0;
	for (size_t i = 0; i < BLOCKS; i++)
		put_ok += ops[i].status == 0;
	size_t got = 0;
	for (size_t i = 0; i < BLOCKS; i++) {
		memset(&ops[i], 0, sizeof(ops[i]));
		ck_assert_int_eq(
			dht_get(simnet_dht(n, simnet_random_live(n)), keys[i], get_cb, &ops[i]), 0);
	}
	for (size_t i = 0; i < BLOCKS; i++) {
		ck_assert(sim_run_cond(simnet_sim(n), op_done, &ops[i], 600ULL * 1000000));
		if (ops[i].status == 0) {
			ck_assert_uint_eq(ops[i].len, sizeof(data[i]));
			ck_assert_mem_eq(ops[i].blk, data[i], sizeof(data[i]));
			got++;
		}
	}
	printf("%s: %zu of %d puts acknowledged, %zu of %d gets returned the block\n",
	       ovl_ops_name(ops_of(_i)), put_ok, BLOCKS, got, BLOCKS);
	ck_assert_uint_eq(put_ok, BLOCKS);
	ck_assert_uint_eq(got, BLOCKS);
	simnet_free(n);
}
END_TEST

static Suite *faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("faults");
	tcase_set_timeout(tc, 600);
	tcase_add_loop_test(tc, lookups_under_faults, 0, 2);
	tcase_add_loop_test(tc, dht_under_faults, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(faults_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
