/* Unit tests for overlay/transport.c: address parsing and formatting. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/transport.h"

START_TEST(parse_ipv4_with_port)
{
	struct tr_addr a;
	ck_assert_int_eq(tr_addr_parse("192.0.2.7:5300", 0, &a), 0);
	ck_assert_uint_eq(a.family, TR_AF_INET);
	ck_assert_uint_eq(a.ip[0], 192);
	ck_assert_uint_eq(a.ip[1], 0);
	ck_assert_uint_eq(a.ip[2], 2);
	ck_assert_uint_eq(a.ip[3], 7);
	for (int i = 4; i < 16; i++)
		ck_assert_uint_eq(a.ip[i], 0);
	ck_assert_uint_eq(a.port, 5300);
	struct tr_addr b = tr_addr_v4(0xC0000207u, 5300);
	ck_assert(tr_addr_eq(&a, &b));
}
END_TEST

START_TEST(parse_ipv6_bracketed)
{
	struct tr_addr a;
	ck_assert_int_eq(tr_addr_parse("[::1]:53", 0, &a), 0);
	ck_assert_uint_eq(a.family, TR_AF_INET6);
	for (int i = 0; i < 15; i++)
		ck_assert_uint_eq(a.ip[i], 0);
	ck_assert_uint_eq(a.ip[15], 1);
	ck_assert_uint_eq(a.port, 53);

	ck_assert_int_eq(tr_addr_parse("[2001:db8::42]:65535", 0, &a), 0);
	ck_assert_uint_eq(a.ip[0], 0x20);
	ck_assert_uint_eq(a.ip[1], 0x01);
	ck_assert_uint_eq(a.ip[15], 0x42);
	ck_assert_uint_eq(a.port, 65535);
}
END_TEST

START_TEST(parse_default_port)
{
	struct tr_addr a;
	ck_assert_int_eq(tr_addr_parse("10.0.0.1", 4000, &a), 0);
	ck_assert_uint_eq(a.port, 4000);
	ck_assert_int_eq(tr_addr_parse("[::1]", 4000, &a), 0);
	ck_assert_uint_eq(a.family, TR_AF_INET6);
	ck_assert_uint_eq(a.port, 4000);
	/* a bare IPv6 address has no port part */
	ck_assert_int_eq(tr_addr_parse("fe80::1", 4000, &a), 0);
	ck_assert_uint_eq(a.family, TR_AF_INET6);
	ck_assert_uint_eq(a.port, 4000);
	/* without a default, the port is required */
	ck_assert_int_eq(tr_addr_parse("10.0.0.1", 0, &a), DDNS_EMALFORMED);
	ck_assert_int_eq(tr_addr_parse("[::1]", 0, &a), DDNS_EMALFORMED);
}
END_TEST

START_TEST(parse_rejects_garbage)
{
	static const char *bad[] = {
		"",            "1.2.3.4:",      "1.2.3.4:65536", "1.2.3.4:99999999999999999999",
		"1.2.3.4:x",   "1.2.3.4:53x",   "1.2.3:53",      "256.1.1.1:53",
		"host:53",     "[::1",          "[::1]53",       "[::1]:",
		"[1.2.3.4]x",  "[zz::1]:53",    ":53",           "[]:53",
		"1.2.3.4:53:1"};
	struct tr_addr a;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(tr_addr_parse(bad[i], 0, &a) == DDNS_EMALFORMED, "accepted \"%s\"",
			      bad[i]);
	ck_assert_int_eq(tr_addr_parse(NULL, 53, &a), DDNS_EMALFORMED);
	/* an overlong host never overflows the parser's buffer */
	char longs[300];
	memset(longs, '1', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	ck_assert_int_eq(tr_addr_parse(longs, 53, &a), DDNS_EMALFORMED);
	longs[0] = '[';
	ck_assert_int_eq(tr_addr_parse(longs, 53, &a), DDNS_EMALFORMED);
}
END_TEST

START_TEST(format_round_trips)
{
	static const char *good[] = {"127.0.0.1:53", "0.0.0.0:0", "255.255.255.255:65535",
				     "[::1]:5353", "[2001:db8::1:2]:1", "[::]:0"};
	char out[TR_ADDRSTRLEN];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct tr_addr a, b;
		ck_assert_int_eq(tr_addr_parse(good[i], 0, &a), 0);
		ck_assert_str_eq(tr_addr_str(&a, out), good[i]);
		ck_assert_int_eq(tr_addr_parse(out, 0, &b), 0);
		ck_assert(tr_addr_eq(&a, &b));
	}
	/* the longest form fits TR_ADDRSTRLEN */
	struct tr_addr a;
	ck_assert_int_eq(
		tr_addr_parse("[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535", 0, &a), 0);
	ck_assert_str_eq(tr_addr_str(&a, out), "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	memset(&a, 0, sizeof(a));
	ck_assert_str_eq(tr_addr_str(&a, out), "(none)");
}
END_TEST

START_TEST(eq_compares_family_ip_and_port)
{
	struct tr_addr a = tr_addr_v4(0x7f000001u, 1000), b = a;
	ck_assert(tr_addr_eq(&a, &b));
	b.port = 1001;
	ck_assert(!tr_addr_eq(&a, &b));
	b = a;
	b.ip[3] = 2;
	ck_assert(!tr_addr_eq(&a, &b));
	struct tr_addr v6;
	ck_assert_int_eq(tr_addr_parse("[7f00:1::]:1000", 0, &v6), 0);
	ck_assert(!tr_addr_eq(&a, &v6));
}
END_TEST

/* A fake transport whose random source replays a script, to check that
 * tr_random_below maps values into range and rejects the biased top. */
struct fake_tr {
	struct tr tr;
	const uint64_t *script;
	size_t n, next;
};

static uint64_t fake_random(struct tr *t)
{
	struct fake_tr *f = (struct fake_tr *)t;
	ck_assert_uint_lt(f->next, f->n);
	return f->script[f->next++];
}

START_TEST(random_below_stays_in_range)
{
	static const struct tr_ops ops = {.name = "fake", .random = fake_random};
	/* n = 3: UINT64_MAX - UINT64_MAX % 3 = UINT64_MAX (2^64-1 divisible by
	 * 3), so no rejection; n = 10: values >= 2^64 - 6 are rejected. */
	const uint64_t script[] = {UINT64_MAX - 1, 7, UINT64_MAX, UINT64_MAX - 5, 12345};
	struct fake_tr f = {.tr = {.ops = &ops}, .script = script, .n = 5};
	ck_assert_uint_eq(tr_random_below(&f.tr, 3), (UINT64_MAX - 1) % 3);
	ck_assert_uint_eq(tr_random_below(&f.tr, 10), 7);
	ck_assert_uint_eq(tr_random_below(&f.tr, 10), 5); /* two rejected, then 12345 */
	ck_assert_uint_eq(f.next, 5);
}
END_TEST

static Suite *transport_suite(void)
{
	Suite *s = suite_create("transport");
	TCase *tc = tcase_create("addr");
	tcase_add_test(tc, parse_ipv4_with_port);
	tcase_add_test(tc, parse_ipv6_bracketed);
	tcase_add_test(tc, parse_default_port);
	tcase_add_test(tc, parse_rejects_garbage);
	tcase_add_test(tc, format_round_trips);
	tcase_add_test(tc, eq_compares_family_ip_and_port);
	tcase_add_test(tc, random_below_stays_in_range);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(transport_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
