/* Unit tests for dns/zonefile.c and the RRset helpers of dns/rr.c: master
 * file syntax, errors, printer identity, canonical order, the real root
 * zone against ldns-read-zone. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns/rdata.h"
#include "dns/zonefile.h"

static struct dns_name N(const char *s)
{
	struct dns_name n;
	ck_assert_int_eq(dns_name_from_str(&n, s, NULL), 0);
	return n;
}

/* Presentation of record i of l (static buffer). */
static const char *R(const struct dns_rrlist *l, size_t i)
{
	static char buf[4096];
	char *s = dns_rr_to_str(&l->rr[i]);
	ck_assert_ptr_nonnull(s);
	snprintf(buf, sizeof(buf), "%s", s);
	free(s);
	return buf;
}

static void load(const char *text, struct dns_rrlist *l, int want)
{
	char err[DNS_ZONE_ERR_MAX];
	dns_rrlist_init(l);
	int rc = dns_zone_load_string(text, NULL, 3600, l, err, sizeof(err));
	ck_assert_msg(rc == want, "rc %d (%s)", rc, err);
}

START_TEST(syntax_features)
{
	const char *z =
		"$ORIGIN example.com.\n"
		"$TTL 1h2m ; comment after a directive\n"
		"@   IN SOA ns hostmaster ( 2024010101 ; serial\n"
		"            2h    ; refresh\n"
		"            1H 1w 5M )\n"
		"    NS  ns\n"
		"    NS  ns.other.net.\n"
		"ns  300 A 192.0.2.53\n"
		"www IN 60 AAAA 2001:db8::1\n"
		"    TXT \"semi;colon\" \"quote\\\"d\" unquoted \"(paren)\"\n"
		"\n"
		"   ; an indented comment line does not change the owner\n"
		"    MX 10 mail\n"
		"sub.example.com. CH TXT \"x\"\n"
		"    TXT \"class repeats\"\n"
		"$ORIGIN sub.example.com.\n"
		"a   A 192.0.2.1\n"
		"*   TYPE65000 \\# 2 abcd\n"
		"esc\\.dot A 192.0.2.2\n";
	struct dns_rrlist l;
	load(z, &l, 0);
	ck_assert_uint_eq(l.n, 12);
	ck_assert_str_eq(R(&l, 0), "example.com.\t3720\tIN\tSOA\tns.example.com. "
				   "hostmaster.example.com. 2024010101 7200 3600 604800 300");
	ck_assert_str_eq(R(&l, 1), "example.com.\t3720\tIN\tNS\tns.example.com.");
	ck_assert_str_eq(R(&l, 2), "example.com.\t3720\tIN\tNS\tns.other.net.");
	ck_assert_str_eq(R(&l, 3), "ns.example.com.\t300\tIN\tA\t192.0.2.53");
	ck_assert_str_eq(R(&l, 4), "www.example.com.\t60\tIN\tAAAA\t2001:db8::1");
	ck_assert_str_eq(R(&l, 5), "www.example.com.\t3720\tIN\tTXT\t\"semi;colon\" "
				   "\"quote\\\"d\" \"unquoted\" \"(paren)\"");
	ck_assert_str_eq(R(&l, 6), "www.example.com.\t3720\tIN\tMX\t10 mail.example.com.");
	ck_assert_str_eq(R(&l, 7), "sub.example.com.\t3720\tCH\tTXT\t\"x\"");
	ck_assert_str_eq(R(&l, 8), "sub.example.com.\t3720\tCH\tTXT\t\"class repeats\"");
	ck_assert_str_eq(R(&l, 9), "a.sub.example.com.\t3720\tCH\tA\t192.0.2.1");
	ck_assert_str_eq(R(&l, 10), "*.sub.example.com.\t3720\tCH\tTYPE65000\t\\# 2 ABCD");
	ck_assert_str_eq(R(&l, 11), "esc\\.dot.sub.example.com.\t3720\tCH\tA\t192.0.2.2");
	dns_rrlist_free(&l);

	/* Without $TTL: the previous explicit TTL, else the default. */
	load("a.example. A 192.0.2.1\nb.example. 77 A 192.0.2.2\nc.example. A 192.0.2.3\n",
	     &l, 0);
	ck_assert_uint_eq(l.rr[0].ttl, 3600);
	ck_assert_uint_eq(l.rr[1].ttl, 77);
	ck_assert_uint_eq(l.rr[2].ttl, 77);
	dns_rrlist_free(&l);

	/* No trailing newline, CRLF line ends, DNSSEC types split by BIND. */
	load("k.example. IN DNSKEY 257 3 13 (\r\n"
	     "  mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+Gq\r\n"
	     "  JxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ== )\r\n"
	     "k.example. RRSIG DNSKEY 13 2 3600 20240201000000 1704067200 "
	     "2371 k.example. AAAA",
	     &l, 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_uint_eq(l.rr[0].rdlen, 4 + 64);
	ck_assert_str_eq(R(&l, 1), "k.example.\t3600\tIN\tRRSIG\tDNSKEY 13 2 3600 "
				   "20240201000000 20240101000000 2371 k.example. AAAA");
	dns_rrlist_free(&l);
}
END_TEST

static void expect_error(const char *text, int code, const char *msgpart)
{
	char err[DNS_ZONE_ERR_MAX];
	struct dns_rrlist l;
	dns_rrlist_init(&l);
	int rc = dns_zone_load_string(text, NULL, 3600, &l, err, sizeof(err));
	ck_assert_msg(rc == code, "%s: rc %d (%s)", text, rc, err);
	ck_assert_msg(strstr(err, msgpart) != NULL, "error '%s' lacks '%s'", err, msgpart);
	dns_rrlist_free(&l);
}

START_TEST(errors_name_file_line_and_expectation)
{
	expect_error("a.example. A 192.0.2.1\nb.example. A 300.0.0.1\n", DDNS_EMALFORMED,
		     "<string>:2: expected valid A RDATA");
	expect_error("rel A 192.0.2.1\n", DDNS_EMALFORMED,
		     "<string>:1: expected an owner name, got 'rel' (relative name and no $ORIGIN)");
	expect_error("a.example. 3600 IN FOO 1\n", DDNS_EMALFORMED,
		     "<string>:1: expected a TTL, class or type, got 'FOO'");
	expect_error("a.example. 1x A 192.0.2.1\n", DDNS_EMALFORMED, "expected a TTL, got '1x'");
	expect_error("\n\na.example. SOA a. b. ( 1 2 3 4 5\n", DDNS_EMALFORMED,
		     "<string>:3: expected ')' before end of file");
	expect_error("a.example. A 192.0.2.1 )\n", DDNS_EMALFORMED, "unexpected ')'");
	expect_error("a.example. TXT \"open\n", DDNS_EMALFORMED, "expected closing '\"'");
	expect_error("$TTL x\n", DDNS_EMALFORMED, "expected '$TTL ttl'");
	expect_error("$ORIGIN rel\n", DDNS_EMALFORMED, "expected '$ORIGIN name'");
	expect_error("$GENERATE 1-2 a A 1.2.3.4\n", DDNS_EMALFORMED,
		     "expected $ORIGIN, $TTL or $INCLUDE, got '$GENERATE'");
	expect_error("  A 192.0.2.1\n", DDNS_EMALFORMED, "no previous owner");
	expect_error("a.example.\n", DDNS_EMALFORMED, "expected a type");
	expect_error("a.example. OPT \\# 0\n", DDNS_EMALFORMED, "not allowed");
	expect_error("$INCLUDE /nonexistent/zone\n", -ENOENT, "cannot read $INCLUDE file");
}
END_TEST

static char tmpdir[64];

static void write_file(const char *rel, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(include_relative_scoped_and_bounded)
{
	strcpy(tmpdir, "/tmp/ddns-zf-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	char path[256];
	snprintf(path, sizeof(path), "%s/sub", tmpdir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	write_file("main.zone", "$ORIGIN example.\n"
				"a A 192.0.2.1\n"
				"$INCLUDE sub/inc.zone in.example.\n"
				"b A 192.0.2.2\n");
	/* Included file: its own origin; a nested include relative to it. */
	write_file("sub/inc.zone", "x A 192.0.2.3\n"
				   "$ORIGIN changed.example.\n"
				   "y A 192.0.2.4\n"
				   "$INCLUDE deeper.zone\n");
	write_file("sub/deeper.zone", "z A 192.0.2.5\n");
	snprintf(path, sizeof(path), "%s/main.zone", tmpdir);
	struct dns_rrlist l;
	char err[DNS_ZONE_ERR_MAX];
	dns_rrlist_init(&l);
	ck_assert_int_eq(dns_zone_load_file(path, NULL, 60, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.n, 5);
	const char *want[] = {"a.example.", "x.in.example.", "y.changed.example.",
			      "z.changed.example.", "b.example."};
	for (int i = 0; i < 5; i++) {
		struct dns_name n = N(want[i]);
		ck_assert_msg(dns_name_equal(&l.rr[i].owner, &n), "record %d", i);
	}
	dns_rrlist_free(&l);

	/* A file including itself stops at the depth bound. */
	write_file("loop.zone", "a.example. A 192.0.2.1\n$INCLUDE loop.zone\n");
	snprintf(path, sizeof(path), "%s/loop.zone", tmpdir);
	ck_assert_int_eq(dns_zone_load_file(path, NULL, 60, &l, err, sizeof(err)), DDNS_ETOOBIG);
	ck_assert_ptr_nonnull(strstr(err, "loop.zone:2: $INCLUDE nested deeper than"));
	ck_assert_uint_eq(l.n, DNS_ZONE_INCLUDE_MAX + 1);
	dns_rrlist_free(&l);

	/* Errors inside an included file name that file. */
	write_file("bad.zone", "$INCLUDE sub/broken.zone\n");
	write_file("sub/broken.zone", "\nq.example. A nope\n");
	snprintf(path, sizeof(path), "%s/bad.zone", tmpdir);
	ck_assert_int_eq(dns_zone_load_file(path, NULL, 60, &l, err, sizeof(err)),
			 DDNS_EMALFORMED);
	ck_assert_ptr_nonnull(strstr(err, "sub/broken.zone:2: expected valid A RDATA"));
	dns_rrlist_free(&l);

	/* Missing top file. */
	snprintf(path, sizeof(path), "%s/none.zone", tmpdir);
	ck_assert_int_eq(dns_zone_load_file(path, NULL, 60, &l, err, sizeof(err)), -ENOENT);

	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static const char *all_types_zone =
	"example.\t3600\tIN\tSOA\tns.example. admin.example. 1 7200 3600 1209600 300\n"
	"example.\t3600\tIN\tNS\tns.example.\n"
	"example.\t3600\tIN\tMX\t10 mail.example.\n"
	"example.\t3600\tIN\tTXT\t\"v=spf1 -all\" \"\\\\\\\"\\000\"\n"
	"example.\t3600\tIN\tCAA\t0 issue \"ca.example\"\n"
	"example.\t3600\tIN\tDNSKEY\t257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==\n"
	"example.\t3600\tIN\tRRSIG\tSOA 13 1 3600 20240201000000 20240101000000 31589 example. AAECAwQFBgc=\n"
	"example.\t3600\tIN\tNSEC\tns.example. NS SOA MX TXT RRSIG NSEC DNSKEY CAA\n"
	"ns.example.\t3600\tIN\tA\t192.0.2.53\n"
	"ns.example.\t3600\tIN\tAAAA\t2001:db8::53\n"
	"_sip._udp.example.\t60\tIN\tSRV\t0 5 5060 ns.example.\n"
	"53.2.0.192.in-addr.arpa.\t60\tIN\tPTR\tns.example.\n"
	"child.example.\t3600\tIN\tDS\t60485 13 2 D4B7D520E7BB5F0F67674A0CCEB1E3E0614B93C4F9E99B8383F6A1E4469DA50A\n"
	"alias.example.\t60\tCH\tCNAME\tns.example.\n"
	"odd.example.\t0\tCLASS42\tTYPE4242\t\\# 3 ABCDEF\n";

START_TEST(print_parse_identity)
{
	struct dns_rrlist a, b;
	load(all_types_zone, &a, 0);
	ck_assert_uint_eq(a.n, 15);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_int_eq(dns_zone_print(f, &a), 0);
	fclose(f);
	/* The printer writes exactly the canonical text it was given. */
	ck_assert_str_eq(buf, all_types_zone);
	load(buf, &b, 0);
	ck_assert_uint_eq(a.n, b.n);
	for (size_t i = 0; i < a.n; i++) {
		ck_assert_int_eq(dns_rr_canon_cmp(&a.rr[i], &b.rr[i]), 0);
		ck_assert_uint_eq(a.rr[i].ttl, b.rr[i].ttl);
	}
	free(buf);
	dns_rrlist_free(&a);
	dns_rrlist_free(&b);

	/* One-record helper. */
	dns_rrlist_init(&a);
	struct dns_name org = N("example.");
	ck_assert_int_eq(dns_rr_from_str("www 60 IN A 192.0.2.7", &org, 0, &a), 0);
	ck_assert_str_eq(R(&a, 0), "www.example.\t60\tIN\tA\t192.0.2.7");
	ck_assert_int_eq(dns_rr_from_str("a. A 192.0.2.7\nb. A 192.0.2.8", NULL, 0, &a),
			 DDNS_EMALFORMED);
	ck_assert_int_eq(dns_rr_from_str("$TTL 5", NULL, 0, &a), DDNS_EMALFORMED);
	ck_assert_uint_eq(a.n, 1);
	dns_rrlist_free(&a);
}
END_TEST

START_TEST(rrsets_and_canonical_order)
{
	struct dns_rrlist l;
	load("b.example. A 192.0.2.2\n"
	     "B.EXAMPLE. A 192.0.2.1\n"
	     "a.example. MX 20 z.example.\n"
	     "a.example. MX 10 Z.example.\n"
	     "a.example. MX 10 z.example.\n" /* duplicate in canonical form */
	     "b.example. A 192.0.2.1\n"      /* duplicate of the second */
	     "example. NS ns.example.\n"
	     "a.example. TXT \"x\"\n",
	     &l, 0);
	ck_assert_uint_eq(l.n, 8);
	dns_rrlist_sort_canonical(&l);
	ck_assert_uint_eq(l.n, 6);
	ck_assert_str_eq(R(&l, 0), "example.\t3600\tIN\tNS\tns.example.");
	ck_assert_str_eq(R(&l, 1), "a.example.\t3600\tIN\tMX\t10 Z.example.");
	ck_assert_str_eq(R(&l, 2), "a.example.\t3600\tIN\tMX\t20 z.example.");
	ck_assert_str_eq(R(&l, 3), "a.example.\t3600\tIN\tTXT\t\"x\"");
	ck_assert_str_eq(R(&l, 4), "B.EXAMPLE.\t3600\tIN\tA\t192.0.2.1");
	ck_assert_str_eq(R(&l, 5), "b.example.\t3600\tIN\tA\t192.0.2.2");
	/* RRsets: NS, MX x2, TXT, A x2. */
	size_t sizes[8], ns = 0;
	for (size_t i = 0, j; i < l.n; i = j) {
		j = dns_rrset_end(&l, i);
		sizes[ns++] = j - i;
	}
	ck_assert_uint_eq(ns, 4);
	ck_assert_uint_eq(sizes[0], 1);
	ck_assert_uint_eq(sizes[1], 2);
	ck_assert_uint_eq(sizes[2], 1);
	ck_assert_uint_eq(sizes[3], 2);
	ck_assert(dns_rr_same_rrset(&l.rr[4], &l.rr[5]));
	/* Canonical form of a record lowercases owner and RDATA names. */
	ck_assert_int_eq(dns_rr_canonicalize(&l.rr[1]), 0);
	ck_assert_str_eq(R(&l, 1), "a.example.\t3600\tIN\tMX\t10 z.example.");
	dns_rrlist_free(&l);
}
END_TEST

/* Root zone path: $top_srcdir/../shared/data/root.zone. */
static bool root_zone_path(char *out, size_t size)
{
	const char *top = getenv("top_srcdir");
	snprintf(out, size, "%s/../shared/data/root.zone", top ? top : ".");
	return access(out, R_OK) == 0;
}

START_TEST(real_root_zone)
{
	char path[1024];
	if (!root_zone_path(path, sizeof(path))) {
		printf("SKIP real_root_zone: %s not found (shared data absent)\n", path);
		return;
	}
	struct dns_rrlist l;
	char err[DNS_ZONE_ERR_MAX];
	dns_rrlist_init(&l);
	ck_assert_msg(dns_zone_load_file(path, NULL, 0, &l, err, sizeof(err)) == 0, "%s", err);
	/* Every record line of the file (the AXFR dump repeats the SOA last). */
	ck_assert_uint_eq(l.n, 19598);
	size_t raw = l.n;

	/* ldns-read-zone folds the closing SOA; its output, parsed by us,
	 * must be exactly our set once ours is deduplicated. */
	char cmd[1200], out[] = "/tmp/ddns-root-XXXXXX";
	int fd = mkstemp(out);
	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "ldns-read-zone '%s' > %s 2>/dev/null", path, out);
	if (system("command -v ldns-read-zone >/dev/null 2>&1") == 0) {
		ck_assert_int_eq(system(cmd), 0);
		struct dns_rrlist ld;
		dns_rrlist_init(&ld);
		ck_assert_msg(dns_zone_load_file(out, NULL, 0, &ld, err, sizeof(err)) == 0, "%s", err);
		printf("root zone: %zu records read, ldns-read-zone prints %zu\n", raw, ld.n);
		dns_rrlist_sort_canonical(&l);
		dns_rrlist_sort_canonical(&ld);
		ck_assert_uint_eq(l.n, ld.n);
		for (size_t i = 0; i < l.n; i++)
			ck_assert_msg(dns_rr_canon_cmp(&l.rr[i], &ld.rr[i]) == 0 &&
					      l.rr[i].ttl == ld.rr[i].ttl,
				      "record %zu differs: %s", i, R(&l, i));
		dns_rrlist_free(&ld);
	} else {
		printf("ldns-read-zone not installed: count compared to 19598 only\n");
	}

	/* Our own printer round-trips the whole zone. */
	FILE *f = fopen(out, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(dns_zone_print(f, &l), 0);
	fclose(f);
	struct dns_rrlist back;
	dns_rrlist_init(&back);
	ck_assert_int_eq(dns_zone_load_file(out, NULL, 0, &back, err, sizeof(err)), 0);
	ck_assert_uint_eq(back.n, l.n);
	for (size_t i = 0; i < l.n; i++)
		ck_assert(dns_rr_canon_cmp(&l.rr[i], &back.rr[i]) == 0);
	unlink(out);
	dns_rrlist_free(&back);
	dns_rrlist_free(&l);
}
END_TEST

static Suite *zonefile_suite(void)
{
	Suite *s = suite_create("dns_zonefile");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, syntax_features);
	tcase_add_test(tc, errors_name_file_line_and_expectation);
	tcase_add_test(tc, include_relative_scoped_and_bounded);
	tcase_add_test(tc, print_parse_identity);
	tcase_add_test(tc, rrsets_and_canonical_order);
	tcase_add_test(tc, real_root_zone);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(zonefile_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
