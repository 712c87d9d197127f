/*
 * test_kad16_churn.c - kad16 under churn, on the simulator.
 *  - crash 20% of a 500-node network at once: after one maintenance period
 *    (refresh_us) >= 99.5% of lookups end at the XOR-closest live node, and
 *    100% after a second period;
 *  - 100 nodes join a stable 1,000-node network one by one with lookups
 *    running throughout: >= 99% correct during the joins, 100% after.
 */
#include <check.h>
#include <stdio.h>

#include "cli/simnet.h"

static struct simnet *build(size_t nodes, uint64_t seed)
{
	struct simnet_params p;
	simnet_params_default(&p);
	p.ops = &kad16_ops;
	p.seed = seed;
	struct simnet *n = simnet_new(&p);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(simnet_grow(n, nodes), 0);
	return n;
}

static double run_lookups(struct simnet *n, size_t count, const char *what)
{
	struct simnet_report r;
	simnet_report_init(&r);
	ck_assert_int_eq(simnet_lookups(n, count, 10, &r), 0);
	struct ddns_dist rpcs;
	ddns_samples_dist(&r.rpcs, &rpcs);
	printf("kad16 %s: %zu lookups, %zu correct, %zu failed, rpcs mean %.2f\n", what, r.lookups,
	       r.correct, r.failed, rpcs.mean);
	ck_assert_uint_eq(r.lookups, count);
	double frac = (double)r.correct / (double)r.lookups;
	simnet_report_free(&r);
	return frac;
}

START_TEST(crash_twenty_percent)
{
	struct simnet *n = build(500, 2020);
	ck_assert(run_lookups(n, 1000, "500 nodes, before the crash") == 1.0);
	ck_assert_uint_eq(simnet_crash_fraction(n, 0.2), 100);
	ck_assert_uint_eq(simnet_live(n), 400);
	uint64_t period = 60000000; /* ovl_params_default refresh_us */
	simnet_run(n, period);
	ck_assert(run_lookups(n, 2000, "after one maintenance period") >= 0.995);
	simnet_run(n, period);
	ck_assert(run_lookups(n, 2000, "after a second period") == 1.0);
	simnet_free(n);
}
END_TEST

START_TEST(join_during_lookups)
{
	struct simnet *n = build(1000, 3030);
	struct simnet_report during;
	simnet_report_init(&during);
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(simnet_add(n), 0);
		/* lookups start while the newcomer's join is in flight */
		ck_assert_int_eq(simnet_lookups(n, 20, 10, &during), 0);
		simnet_run(n, 200000);
	}
	printf("kad16 100 joins into 1000: during %zu lookups, %zu correct, %zu failed\n",
	       during.lookups, during.correct, during.failed);
	ck_assert_uint_eq(during.lookups, 2000);
	ck_assert_uint_ge(during.correct * 100, during.lookups * 99);
	simnet_report_free(&during);
	simnet_run(n, 5000000);
	ck_assert(run_lookups(n, 3000, "1100 nodes after the joins") == 1.0);
	simnet_free(n);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kad16_churn");
	TCase *tc = tcase_create("churn");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, crash_twenty_percent);
	tcase_add_test(tc, join_during_lookups);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
