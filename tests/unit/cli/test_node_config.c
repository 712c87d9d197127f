/* Unit tests for the node configuration (cli/node.c): the list options
 * --overlay and --join, where the command line replaces the file's values,
 * repeats are refused and the lists are bounded. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/node.h"

static int set(struct node_config *c, const char *name, const char *value, char *err)
{
	return node_config_set(c, name, value, err, 256);
}

START_TEST(joins_accumulate_up_to_the_bound_and_refuse_repeats)
{
	struct node_config c;
	char err[256] = "";
	node_config_init(&c);
	char a[32];
	for (int i = 0; i < NODE_MAX_JOIN; i++) {
		snprintf(a, sizeof(a), "127.0.0.%d:4000", i + 2);
		ck_assert_int_eq(set(&c, "join", a, err), 0);
	}
	ck_assert_uint_eq(c.njoin, NODE_MAX_JOIN);
	ck_assert_str_eq(c.join[0], "127.0.0.2:4000");
	ck_assert_int_ne(set(&c, "join", "127.0.0.99:4000", err), 0);
	ck_assert_ptr_nonnull(strstr(err, "at most"));
	ck_assert_ptr_nonnull(strstr(err, "bootstrap peers"));
	ck_assert_int_ne(set(&c, "join", "127.0.0.2:4000", err), 0);
	ck_assert_ptr_nonnull(strstr(err, "given twice"));
	ck_assert_int_ne(set(&c, "join", "127.0.0.2:0", err), 0); /* a peer needs a port */
	ck_assert_uint_eq(c.njoin, NODE_MAX_JOIN);
	node_config_free(&c);
}
END_TEST

START_TEST(abuse_limits_and_quotas_parse_and_refuse_bad_values)
{
	struct node_config c;
	char err[256] = "";
	node_config_init(&c);
	ck_assert_int_eq(set(&c, "rpc-rate-limit", "2000", err), 0);
	ck_assert_int_eq(set(&c, "store-rate-limit", "200", err), 0);
	ck_assert_int_eq(set(&c, "zone-quota", "64M", err), 0);
	ck_assert_int_eq(set(&c, "zone-quota-net", "1G", err), 0);
	ck_assert_uint_eq(c.rpc_rate_limit, 2000);
	ck_assert_uint_eq(c.store_rate_limit, 200);
	ck_assert_uint_eq(c.zone_quota, 64ULL << 20);
	ck_assert_uint_eq(c.zone_quota_net, 1ULL << 30);
	ck_assert_int_ne(set(&c, "rpc-rate-limit", "-1", err), 0);
	ck_assert_ptr_nonnull(strstr(err, "--rpc-rate-limit"));
	ck_assert_int_ne(set(&c, "store-rate-limit", "lots", err), 0);
	ck_assert_ptr_nonnull(strstr(err, "--store-rate-limit"));
	ck_assert_int_ne(set(&c, "zone-quota-net", "12Q", err), 0);
	ck_assert_ptr_nonnull(strstr(err, "--zone-quota-net"));
	ck_assert_int_ne(set(&c, "zone-quota", "", err), 0);
	ck_assert_ptr_nonnull(strstr(err, "--zone-quota"));
	node_config_free(&c);
}
END_TEST

START_TEST(command_line_replaces_the_files_lists)
{
	char dir[] = "/tmp/ddns-nodecfg.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/ddnsd.conf", dir);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("listen 127.0.0.2:4000\noverlay chord\noverlay kad16\n"
	      "join 127.0.0.3:4000\njoin 127.0.0.4:4000\n",
	      f);
	fclose(f);
	struct node_config c;
	char err[256] = "";
	node_config_init(&c);
	ck_assert_msg(node_config_load(&c, path, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(c.noverlays, 2);
	ck_assert_uint_eq(c.njoin, 2);
	/* what ddnsd does before applying its arguments */
	c.overlays_from_args = c.joins_from_args = true;
	ck_assert_int_eq(set(&c, "overlay", "kad16", err), 0);
	ck_assert_int_eq(set(&c, "join", "127.0.0.9:4000", err), 0);
	ck_assert_int_eq(set(&c, "join", "127.0.0.3:4000", err), 0);
	ck_assert_uint_eq(c.noverlays, 1);
	ck_assert_str_eq(c.overlays[0], "kad16");
	ck_assert_uint_eq(c.njoin, 2);
	ck_assert_str_eq(c.join[0], "127.0.0.9:4000");
	ck_assert_str_eq(c.join[1], "127.0.0.3:4000");
	ck_assert_int_ne(set(&c, "overlay", "kad16", err), 0);
	ck_assert_ptr_nonnull(strstr(err, "given twice"));
	ck_assert_int_ne(set(&c, "overlay", "pastry", err), 0);
	ck_assert_ptr_nonnull(strstr(err, "unknown overlay"));
	node_config_free(&c);
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(max_store_sizes)
{
	struct node_config c;
	char err[256] = "";
	node_config_init(&c);
	ck_assert_uint_eq(c.max_store, 0);
	ck_assert_int_eq(set(&c, "max-store", "512M", err), 0);
	ck_assert_uint_eq(c.max_store, 512ULL << 20);
	ck_assert_int_eq(set(&c, "max-store", "2g", err), 0);
	ck_assert_uint_eq(c.max_store, 2ULL << 30);
	ck_assert_int_eq(set(&c, "max-store", "65536", err), 0);
	ck_assert_uint_eq(c.max_store, 65536);
	static const char *const bad[] = {"1K", "-1G", "12X", "", "2048G", "1.5G", "M"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(set(&c, "max-store", bad[i], err) != 0, "accepted '%s'", bad[i]);
		ck_assert_uint_eq(c.max_store, 65536);
	}
	ck_assert_ptr_nonnull(strstr(err, "--max-store"));
	node_config_free(&c);
}
END_TEST

static Suite *cfg_suite(void)
{
	Suite *s = suite_create("node_config");
	TCase *tc = tcase_create("lists");
	tcase_add_test(tc, joins_accumulate_up_to_the_bound_and_refuse_repeats);
	tcase_add_test(tc, command_line_replaces_the_files_lists);
	tcase_add_test(tc, abuse_limits_and_quotas_parse_and_refuse_bad_values);
	tcase_add_test(tc, max_store_sizes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cfg_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
