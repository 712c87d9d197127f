/*
 * test_churn.c - the churn and crash experiments of `ddns sim` at small
 * scale (cli/simchurn.h), on the overlay DHT_OVL (one program per overlay,
 * tests/sim/dht.inc):
 *  - churn with repair: 100 nodes, median session 30 min, one simulated
 *    hour: membership turns over at the rate the session law gives, >= 99%
 *    of lookups end at the right node, >= 99% of gets are answered, and no
 *    record is ever without a live stored copy;
 *  - the same without repair or republishing and with 5-minute sessions:
 *    the checks do see records lost (the measure can fail);
 *  - a seed replays a run exactly;
 *  - crash: a quarter of 200 nodes at once: >= 99.9% of records resolved
 *    before any repair, every record that kept a copy resolved and on r
 *    nodes after repair; then 20 crashes one at a time with repair: none
 *    lost.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/simchurn.h"

#ifndef DHT_OVL
#define DHT_OVL "kad16"
#endif

static void small(struct simchurn_params *p, size_t nodes, size_t records)
{
	simchurn_params_default(p);
	p->net.ops = ovl_ops_by_name(DHT_OVL);
	p->net.seed = 41;
	p->net.join_gap_us = 50000;
	p->net.settle_us = 30000000;
	p->nodes = nodes;
	p->records = records;
}

START_TEST(churn_with_repair_loses_nothing)
{
	struct simchurn_params p;
	struct simchurn_result r;
	small(&p, 100, 1000);
	p.session_median_s = 1800;
	p.duration_s = 3600;
	p.sample_s = 1200;
	ck_assert_int_eq(simchurn_run(&p, &r), 0);
	printf("%s churn: %zu joins, %zu departures; lookups %zu/%zu correct; gets %zu/%zu; "
	       "records lost %zu; at least %zu of %zu on r nodes; %.0f B/s per node\n",
	       DHT_OVL, r.joins, r.departures, r.lookups_ok, r.lookups, r.gets_ok, r.gets,
	       r.records_lost, r.full_min, r.puts_ok, r.bytes_per_node_s);
	ck_assert_uint_eq(r.puts_ok, 1000);
	/* exponential sessions of median 30 min: mean 43.3 min, so about 139
	 * departures an hour among 100 nodes, and as many joins */
	ck_assert_uint_ge(r.departures, 100);
	ck_assert_uint_le(r.departures, 180);
	ck_assert_uint_ge(r.joins, 100);
	ck_assert_uint_le(r.joins, 180);
	/* the Poisson arrivals of 10 lookups and 10 gets a second */
	ck_assert_uint_ge(r.lookups + r.lookups_cancelled, 34000);
	ck_assert_uint_le(r.lookups + r.lookups_cancelled, 38000);
	ck_assert_uint_ge(r.gets + r.gets_cancelled, 34000);
	ck_assert_uint_ge(r.lookups_ok * 100, r.lookups * 99);
	ck_assert_uint_ge(r.gets_ok * 100, r.gets * 99);
	ck_assert_uint_eq(r.lookups, r.lookups_ok + r.lookups_wrong + r.lookups_failed);
	ck_assert_uint_eq(r.gets, r.gets_ok + r.gets_failed);
	ck_assert_uint_ge(r.checks, 3600 / 30 - 1); /* every 30 s, and at the end */
	ck_assert_uint_eq(r.records_lost, 0);
	ck_assert_uint_eq(r.available_min, 1000);
	ck_assert_uint_ge(r.republished, 900);
	ck_assert_uint_eq(r.nsamples, 3);
	size_t joins = 0, lookups = 0;
	for (size_t i = 0; i < r.nsamples; i++) {
		joins += r.samples[i].joins;
		lookups += r.samples[i].lookups;
		ck_assert_double_gt(r.samples[i].bytes_per_node_s, 0);
	}
	ck_assert_uint_eq(joins, r.joins);
	ck_assert_uint_eq(lookups, r.lookups);
	simchurn_result_free(&r);
}
END_TEST

START_TEST(churn_without_repair_loses_records)
{
	struct simchurn_params p;
	struct simchurn_result r;
	small(&p, 100, 1000);
	p.net.dht.maint_us = 0;
	p.net.dht.change_delay_us = 365ULL * 86400 * 1000000;
	p.republish_s = 0;
	p.session_median_s = 300;
	p.duration_s = 3600;
	p.lookup_rate = p.get_rate = 2;
	ck_assert_int_eq(simchurn_run(&p, &r), 0);
	printf("%s churn without repair, 5-minute sessions: %zu departures, %zu of %zu records "
	       "lost, %zu at the end; gets %zu/%zu\n",
	       DHT_OVL, r.departures, r.records_lost, r.puts_ok, r.lost_at_end, r.gets_ok, r.gets);
	/* nearly every node is replaced several times over: most records go */
	ck_assert_uint_gt(r.departures, 500);
	ck_assert_uint_gt(r.records_lost, 500);
	ck_assert_uint_eq(r.lost_at_end, r.records_lost); /* nothing brings them back */
	ck_assert_uint_lt(r.gets_ok * 2, r.gets);
	simchurn_result_free(&r);
}
END_TEST

START_TEST(seed_replays_a_churn_run)
{
	struct simchurn_params p;
	struct simchurn_result a, b;
	small(&p, 40, 200);
	p.session_median_s = 600;
	p.duration_s = 900;
	p.sample_s = 300;
	p.weibull_k = 0.6;
	ck_assert_int_eq(simchurn_run(&p, &a), 0);
	ck_assert_int_eq(simchurn_run(&p, &b), 0);
	ck_assert_uint_gt(a.departures, 0);
	ck_assert_uint_eq(a.joins, b.joins);
	ck_assert_uint_eq(a.departures, b.departures);
	ck_assert_uint_eq(a.lookups_ok, b.lookups_ok);
	ck_assert_uint_eq(a.gets_ok, b.gets_ok);
	ck_assert_uint_eq(a.nsamples, b.nsamples);
	for (size_t i = 0; i < a.nsamples; i++)
		ck_assert_double_eq(a.samples[i].bytes_per_node_s, b.samples[i].bytes_per_node_s);
	ck_assert_double_eq(a.sim_seconds, b.sim_seconds);
	simchurn_result_free(&a);
	simchurn_result_free(&b);
}
END_TEST

START_TEST(quarter_crashes_at_once_then_one_at_a_time)
{
	struct simchurn_params p;
	struct simcrash_result r;
	small(&p, 200, 2000);
	p.crash_fraction = 0.25;
	p.crash_one = 20;
	ck_assert_int_eq(simchurn_crash_run(&p, &r), 0);
	printf("%s crash: %zu of %zu nodes at once; %zu of %zu records kept a copy, %zu resolved "
	       "before repair, %zu after %.0f s of repair; %zu more crashes one at a time: %zu lost, "
	       "%zu resolved\n",
	       DHT_OVL, r.crashed, r.nodes, r.kept, r.puts_ok, r.resolved_before, r.resolved_after,
	       r.repair_s, r.one_crashes, r.one_lost, r.one_resolved);
	ck_assert_uint_eq(r.puts_ok, 2000);
	ck_assert_uint_eq(r.crashed, 50);
	ck_assert_uint_ge(r.resolved_before * 1000, r.puts_ok * 999);
	ck_assert_uint_le(r.resolved_before, r.kept);
	ck_assert_uint_eq(r.full_after, r.kept);
	ck_assert_uint_eq(r.resolved_after, r.kept);
	ck_assert_uint_eq(r.one_crashes, 20);
	ck_assert_uint_eq(r.one_lost, 0);
	ck_assert_uint_eq(r.one_resolved, r.kept);
	simcrash_result_free(&r);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("churn-" DHT_OVL);
	TCase *tc = tcase_create("churn");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, churn_with_repair_loses_nothing);
	tcase_add_test(tc, churn_without_repair_loses_records);
	tcase_add_test(tc, seed_replays_a_churn_run);
	tcase_add_test(tc, quarter_crashes_at_once_then_one_at_a_time);
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
