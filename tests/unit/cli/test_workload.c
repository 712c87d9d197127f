/* Unit tests for cli/workload.c: names, Zipf, zone cuts, the conventional
 * DNS reference and the paper's latency method. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/workload.h"

START_TEST(zone_cuts)
{
	char zone[256], tld[256];
	wl_zone_of("www.example.com", zone, tld);
	ck_assert_str_eq(zone, "example.com");
	ck_assert_str_eq(tld, "com");
	wl_zone_of("news.bbc.co.uk", zone, tld);
	ck_assert_str_eq(zone, "bbc.co.uk");
	ck_assert_str_eq(tld, "uk");
	wl_zone_of("example.org", zone, tld);
	ck_assert_str_eq(zone, "example.org");
	wl_zone_of("com", zone, tld);
	ck_assert_str_eq(zone, "com");
	/* "co" is only a public second level under two-letter TLDs. */
	wl_zone_of("a.co.com", zone, tld);
	ck_assert_str_eq(zone, "co.com");
}
END_TEST

START_TEST(zipf_follows_its_law)
{
	struct wl_zipf z;
	struct ddns_rng rng;
	ck_assert_int_eq(wl_zipf_init(&z, 1000, 1.0), 0);
	ddns_rng_seed(&rng, 7);
	size_t counts[1000] = {0};
	for (int i = 0; i < 200000; i++) {
		size_t k = wl_zipf_draw(&z, &rng);
		ck_assert_uint_lt(k, 1000);
		counts[k]++;
	}
	/* With alpha 1, rank 1 is drawn twice as often as rank 2 and ten
	 * times as often as rank 10 (within sampling noise). */
	double r2 = (double)counts[0] / (double)counts[1];
	double r10 = (double)counts[0] / (double)counts[9];
	ck_assert(r2 > 1.8 && r2 < 2.2);
	ck_assert(r10 > 8.5 && r10 < 11.5);
	wl_zipf_free(&z);
}
END_TEST

START_TEST(names_load_csv_and_reject_garbage)
{
	char path[] = "/tmp/ddns-names-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	FILE *fp = fdopen(fd, "w");
	fprintf(fp, "1,Google.com\n2,bad name\n3,facebook.com.\n\n4,x\n");
	fclose(fp);
	struct wl_names w;
	size_t line = 0;
	ck_assert_int_eq(wl_names_load(path, 0, &w, &line), 0);
	ck_assert_uint_eq(w.n, 2);
	ck_assert_str_eq(w.name[0], "google.com");
	ck_assert_str_eq(w.name[1], "facebook.com");
	wl_names_free(&w);
	fp = fopen(path, "w");
	fprintf(fp, "not a list\n\x01\x02\n");
	fclose(fp);
	ck_assert_int_eq(wl_names_load(path, 0, &w, &line), DDNS_EMALFORMED);
	ck_assert_int_lt(wl_names_load("/nonexistent/names", 0, &w, &line), 0);
	unlink(path);
	ck_assert_int_eq(wl_names_generate(100, 1, &w), 0);
	ck_assert_uint_eq(w.n, 100);
	ck_assert_ptr_nonnull(strchr(w.name[5], '.'));
	wl_names_free(&w);
}
END_TEST

START_TEST(conventional_counts_referrals_and_caches)
{
	struct sim_latency *lat = sim_latency_constant(10000); /* 10 ms one way */
	struct conv_params p;
	conv_params_default(&p);
	p.resolvers = 2;
	p.latency = lat;
	struct conv *c = conv_new(&p);
	uint64_t us;
	/* Cold cache: root, TLD, zone server. */
	ck_assert_uint_eq(conv_query(c, 0, "www.example.com", true, 0, &us), 3);
	ck_assert_uint_eq(us, 3 * 20000);
	/* Cached answer. */
	ck_assert_uint_eq(conv_query(c, 0, "www.example.com", true, 10, &us), 0);
	ck_assert_uint_eq(us, 0);
	/* Same zone, other name: only the zone's server. */
	ck_assert_uint_eq(conv_query(c, 0, "mail.example.com", true, 10, &us), 1);
	/* Same TLD, other zone: TLD and zone servers. */
	ck_assert_uint_eq(conv_query(c, 0, "www.other.com", true, 10, &us), 2);
	/* A name that does not exist: the TLD answers NXDOMAIN. */
	ck_assert_uint_eq(conv_query(c, 0, "nx.nowhere.com", false, 10, &us), 1);
	ck_assert_uint_eq(conv_query(c, 0, "nx.nowhere.com", false, 20, &us), 0);
	/* Another resolver has its own cache. */
	ck_assert_uint_eq(conv_query(c, 1, "www.example.com", true, 10, &us), 3);
	/* The answer expires after its TTL. */
	ck_assert_uint_eq(conv_query(c, 0, "www.example.com", true, 10 + 3601, &us), 1);
	conv_free(c);
	sim_latency_free(lat);
}
END_TEST

START_TEST(paper_latency_keeps_middle_95)
{
	char path[] = "/tmp/ddns-rtt-XXXXXX";
	int fd = mkstemp(path);
	FILE *fp = fdopen(fd, "w");
	for (int i = 1; i <= 1000; i++)
		fprintf(fp, "%d\n", i);
	fclose(fp);
	struct wl_rttdist d;
	ck_assert_int_eq(wl_rttdist_load(&d, path), 0);
	ck_assert_uint_eq(d.n, 950);
	ck_assert_double_eq(d.v[0], 26 * 1000.0);
	ck_assert_double_eq(d.v[d.n - 1], 975 * 1000.0);
	struct ddns_rng rng;
	ddns_rng_seed(&rng, 3);
	for (int i = 0; i < 1000; i++) {
		double x = wl_rttdist_draw(&d, &rng);
		ck_assert(x >= 26000 && x <= 975000);
	}
	wl_rttdist_free(&d);
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("workload");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, zone_cuts);
	tcase_add_test(tc, zipf_follows_its_law);
	tcase_add_test(tc, names_load_csv_and_reject_garbage);
	tcase_add_test(tc, conventional_counts_referrals_and_caches);
	tcase_add_test(tc, paper_latency_keeps_middle_95);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
