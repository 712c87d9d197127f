/*
 * test_kad16_big.c - kad16 at 1,000 nodes: every node joins through a
 * random earlier node, then 10,000 lookups of random keys from random
 * nodes must all end at the XOR-closest live node (simnet_oracle), with
 * mean hops <= log16(N) + 1.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>

#include "cli/simnet.h"

START_TEST(thousand_nodes)
{
	struct simnet_params p;
	simnet_params_default(&p);
	p.ops = &kad16_ops;
	p.seed = 1601;
	struct simnet *n = simnet_new(&p);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(simnet_grow(n, 1000), 0);
	struct simnet_report r;
	simnet_report_init(&r);
	ck_assert_int_eq(simnet_lookups(n, 10000, 20, &r), 0);
	struct ddns_dist rpcs, hops;
	ddns_samples_dist(&r.rpcs, &rpcs);
	ddns_samples_dist(&r.hops, &hops);
	printf("kad16 N=1000: %zu lookups, %zu correct, %zu failed; rpcs mean %.2f p99 %.0f; "
	       "hops mean %.2f max %.0f\n",
	       r.lookups, r.correct, r.failed, rpcs.mean, rpcs.p99, hops.mean, hops.max);
	ck_assert_uint_eq(r.lookups, 10000);
	ck_assert_uint_eq(r.correct, 10000);
	ck_assert(hops.mean <= log(1000.0) / log(16.0) + 1.0);
	simnet_report_free(&r);
	simnet_free(n);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kad16_big");
	TCase *tc = tcase_create("scale");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, thousand_nodes);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
