/*
 * The paper's experiment at small scale (cli/simdns.h): its figures add up
 * and a seed replays it.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/simdns.h"

static void small_params(struct simdns_params *p, const struct ovl_ops *ops, unsigned replicas)
{
	simdns_params_default(p);
	p->net.ops = ops;
	p->net.seed = 11;
	p->net.join_gap_us = 50000;
	p->net.settle_us = 30000000;
	p->net.dht.replicas = replicas;
	p->nodes = 48;
	p->records = 600;
	p->queries = 1500;
	p->unresolved = 400;
	p->slashdot = 1500;
	p->parallel = 16;
}

/* Quiet network: no periodic maintenance after the build, so that nothing
 * is in flight once the workloads end and every RPC sent is one served. */
static void quiet(struct simdns_params *p)
{
	p->net.ovl.refresh_us = 1000000000000ULL;
	p->net.ovl.stabilize_us = 1000000000000ULL;
	p->net.ovl.fix_fingers_us = 1000000000000ULL;
	p->net.dht.maint_us = 0;
}

static double sum(const double *v, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s;
}

START_TEST(records_per_node_sum_to_records_times_replicas)
{
	const struct ovl_ops *ops[] = {&kad16_ops, &chord_ops};
	unsigned reps[] = {1, 3};
	for (int o = 0; o < 2; o++) {
		for (int k = 0; k < 2; k++) {
			struct simdns_params p;
			struct simdns_result r;
			small_params(&p, ops[o], reps[k]);
			p.queries = p.unresolved = p.slashdot = 0;
			ck_assert_int_eq(simdns_run(&p, &r), 0);
			ck_assert_uint_eq(r.puts_failed, 0);
			ck_assert_uint_eq(r.puts_ok, r.records);
			ck_assert_double_eq(sum(r.blocks_per_node, r.nodes), (double)(r.records * reps[k]));
			simdns_result_free(&r);
		}
	}
}
END_TEST

START_TEST(rpcs_served_equal_rpcs_sent)
{
	struct simdns_params p;
	struct simdns_result r;
	small_params(&p, &kad16_ops, 1);
	quiet(&p);
	ck_assert_int_eq(simdns_run(&p, &r), 0);
	ck_assert_uint_gt(r.rpcs_sent, 0);
	ck_assert_uint_eq(r.rpcs_served, r.rpcs_sent);
	/* Every workload ran in full and the per-node load covers it. */
	ck_assert_uint_eq(r.successful.queries, p.queries);
	ck_assert_uint_eq(r.successful.answered, p.queries);
	ck_assert_uint_eq(r.unresolved.queries, p.unresolved);
	ck_assert_uint_eq(r.unresolved.answered, 0);
	ck_assert_uint_eq(r.slashdot.answered, p.slashdot);
	ck_assert_uint_eq(r.successful.rpcs.n, p.queries);
	ck_assert_uint_eq(r.successful.conv_rpcs.n, p.queries);
	/* Without maintenance, what nodes served during a workload is what
	 * its lookups sent, plus the path-cache copies they left behind. */
	double served = sum(r.successful.served_per_node, r.nodes);
	double sent = sum(r.successful.rpcs.v, r.successful.rpcs.n);
	ck_assert(served >= sent);
	simdns_result_free(&r);
}
END_TEST

START_TEST(same_seed_same_summary)
{
	struct simdns_result a, b;
	struct simdns_params p;
	small_params(&p, &chord_ops, 1);
	p.queries = 800;
	p.unresolved = 200;
	p.slashdot = 500;
	ck_assert_int_eq(simdns_run(&p, &a), 0);
	ck_assert_int_eq(simdns_run(&p, &b), 0);
	ck_assert_uint_eq(a.rpcs_sent, b.rpcs_sent);
	ck_assert_uint_eq(a.rpcs_served, b.rpcs_served);
	ck_assert_uint_eq(a.successful.answered, b.successful.answered);
	ck_assert_uint_eq(a.successful.local, b.successful.local);
	ck_assert_double_eq(sum(a.successful.rpcs.v, a.successful.rpcs.n),
			    sum(b.successful.rpcs.v, b.successful.rpcs.n));
	ck_assert_double_eq(sum(a.successful.latency_us.v, a.successful.latency_us.n),
			    sum(b.successful.latency_us.v, b.successful.latency_us.n));
	ck_assert_double_eq(sum(a.unresolved.hops.v, a.unresolved.hops.n),
			    sum(b.unresolved.hops.v, b.unresolved.hops.n));
	ck_assert_double_eq(sum(a.blocks_per_node, a.nodes), sum(b.blocks_per_node, b.nodes));
	ck_assert_double_eq(a.sim_seconds, b.sim_seconds);
	/* A different seed gives a different run. */
	p.net.seed = 12;
	struct simdns_result c;
	ck_assert_int_eq(simdns_run(&p, &c), 0);
	ck_assert(c.rpcs_sent != a.rpcs_sent ||
		  sum(c.successful.latency_us.v, c.successful.latency_us.n) !=
			  sum(a.successful.latency_us.v, a.successful.latency_us.n));
	simdns_result_free(&a);
	simdns_result_free(&b);
	simdns_result_free(&c);
}
END_TEST

START_TEST(signatures_checked_when_asked)
{
	struct simdns_params p;
	struct simdns_result r;
	small_params(&p, &kad16_ops, 1);
	p.nodes = 24;
	p.records = 60;
	p.queries = 120;
	p.unresolved = 20;
	p.slashdot = 50;
	p.verify = true;
	ck_assert_int_eq(simdns_run(&p, &r), 0);
	ck_assert(r.verified);
	ck_assert_uint_eq(r.puts_ok, r.records);
	ck_assert_uint_eq(r.successful.answered, p.queries);
	simdns_result_free(&r);
}
END_TEST

START_TEST(virtual_nodes_route_and_store_correctly)
{
	const struct ovl_ops *ops[] = {&kad16_ops, &chord_ops};
	for (int o = 0; o < 2; o++) {
		struct simnet_params np;
		simnet_params_default(&np);
		np.ops = ops[o];
		np.seed = 5;
		np.vnodes = 3;
		np.join_gap_us = 50000;
		np.settle_us = 30000000;
		struct simnet *n = simnet_new(&np);
		ck_assert_int_eq(simnet_grow(n, 60), 0);
		struct simnet_report rep;
		simnet_report_init(&rep);
		ck_assert_int_eq(simnet_lookups(n, 2000, 16, &rep), 0);
		ck_assert_uint_eq(rep.correct, 2000);
		simnet_report_free(&rep);
		simnet_free(n);

		struct simdns_params p;
		struct simdns_result r;
		small_params(&p, ops[o], 2);
		p.net.vnodes = 3;
		p.nodes = 40;
		p.queries = 500;
		p.unresolved = p.slashdot = 0;
		ck_assert_int_eq(simdns_run(&p, &r), 0);
		ck_assert_uint_eq(r.puts_ok, r.records);
		ck_assert_double_eq(sum(r.blocks_per_node, r.nodes), (double)(r.records * 2));
		ck_assert_uint_eq(r.successful.answered, p.queries);
		simdns_result_free(&r);
	}
}
END_TEST

START_TEST(trace_replay_splits_stored_and_missing_names)
{
	char path[] = "/tmp/ddns-trace-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	FILE *fp = fdopen(fd, "w");
	fprintf(fp, "# a trace\nA.com\nb.net A\nc.org\na.com.\nb.net AAAA\n");
	fclose(fp);
	struct wl_queries t;
	size_t line = 0;
	ck_assert_int_eq(wl_queries_load(path, &t, &line), 0);
	ck_assert_uint_eq(t.n, 5);
	ck_assert_str_eq(t.q[0].name, "a.com");
	ck_assert_str_eq(t.q[3].name, "a.com");
	char *nm[] = {"a.com", "b.net"};
	struct wl_names names = {.name = nm, .n = 2};
	struct simdns_params p;
	struct simdns_result r;
	small_params(&p, &kad16_ops, 1);
	p.names = &names;
	p.records = 2; /* the A RRsets of a.com and b.net (no AAAA or MX) */
	p.trace = &t;
	p.slashdot = 0;
	ck_assert_int_eq(simdns_run(&p, &r), 0);
	ck_assert_uint_eq(r.successful.queries, 3);
	ck_assert_uint_eq(r.successful.answered, 3);
	ck_assert_uint_eq(r.unresolved.queries, 2);
	ck_assert_uint_eq(r.unresolved.answered, 0);
	simdns_result_free(&r);
	wl_queries_free(&t);
	fp = fopen(path, "w");
	fprintf(fp, "a.com NOTATYPE\n");
	fclose(fp);
	ck_assert_int_eq(wl_queries_load(path, &t, &line), DDNS_EMALFORMED);
	ck_assert_uint_eq(line, 1);
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("simdns");
	TCase *tc = tcase_create("paper");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, records_per_node_sum_to_records_times_replicas);
	tcase_add_test(tc, rpcs_served_equal_rpcs_sent);
	tcase_add_test(tc, same_seed_same_summary);
	tcase_add_test(tc, signatures_checked_when_asked);
	tcase_add_test(tc, virtual_nodes_route_and_store_correctly);
	tcase_add_test(tc, trace_replay_splits_stored_and_missing_names);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
