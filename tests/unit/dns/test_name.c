/* Unit tests for dns/name.c: presentation, wire, compression, ordering. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dns/name.h"

static struct dns_name N(const char *s)
{
	struct dns_name n;
	ck_assert_int_eq(dns_name_from_str(&n, s, NULL), 0);
	return n;
}

static const char *S(const struct dns_name *n)
{
	static char buf[DNS_NAME_STR_MAX];
	ck_assert_int_gt(dns_name_to_str(n, buf, sizeof(buf)), 0);
	return buf;
}

START_TEST(text_round_trip_and_escapes)
{
	struct dns_name n = N("www.Example.COM.");
	ck_assert_uint_eq(n.len, 17);
	ck_assert_mem_eq(n.data, "\3www\7Example\3COM\0", 17);
	ck_assert_str_eq(S(&n), "www.Example.COM.");

	n = N("a\\.b.c.");
	ck_assert_uint_eq(n.data[0], 3); /* "a.b" is one label */
	ck_assert_str_eq(S(&n), "a\\.b.c.");

	n = N("\\065\\000\\255.x.");
	ck_assert_mem_eq(n.data, "\3A\0\377\1x\0", 7);
	ck_assert_str_eq(S(&n), "A\\000\\255.x.");

	n = N(".");
	ck_assert_uint_eq(n.len, 1);
	ck_assert_str_eq(S(&n), ".");

	n = N("sp\\ ace\\;.");
	ck_assert_str_eq(S(&n), "sp\\ ace\\;.");
}
END_TEST

START_TEST(text_relative_and_origin)
{
	struct dns_name org = N("example.org.");
	struct dns_name n;
	ck_assert_int_eq(dns_name_from_str(&n, "www", &org), 0);
	ck_assert_str_eq(S(&n), "www.example.org.");
	ck_assert_int_eq(dns_name_from_str(&n, "@", &org), 0);
	ck_assert_str_eq(S(&n), "example.org.");
	ck_assert_int_eq(dns_name_from_str(&n, "abs.", &org), 0);
	ck_assert_str_eq(S(&n), "abs.");
	/* Relative without origin, empty labels, bad escapes. */
	ck_assert_int_eq(dns_name_from_str(&n, "www", NULL), DDNS_EMALFORMED);
	ck_assert_int_eq(dns_name_from_str(&n, "@", NULL), DDNS_EMALFORMED);
	ck_assert_int_eq(dns_name_from_str(&n, "a..b.", NULL), DDNS_EMALFORMED);
	ck_assert_int_eq(dns_name_from_str(&n, ".a.", NULL), DDNS_EMALFORMED);
	ck_assert_int_eq(dns_name_from_str(&n, "a\\25.", NULL), DDNS_EMALFORMED);
	ck_assert_int_eq(dns_name_from_str(&n, "a\\256.", NULL), DDNS_EMALFORMED);
	ck_assert_int_eq(dns_name_from_str(&n, "", NULL), DDNS_EMALFORMED);
	ck_assert_int_eq(dns_name_from_str(&n, "a\\", NULL), DDNS_EMALFORMED);
}
END_TEST

START_TEST(text_limits)
{
	char buf[600];
	struct dns_name n;
	/* A 63-octet label is fine, 64 is not. */
	memset(buf, 'a', 63);
	strcpy(buf + 63, ".");
	ck_assert_int_eq(dns_name_from_str(&n, buf, NULL), 0);
	memset(buf, 'a', 64);
	strcpy(buf + 64, ".");
	ck_assert_int_eq(dns_name_from_str(&n, buf, NULL), DDNS_EMALFORMED);
	/* 4 x 63-octet labels = 4*64+1 = 257 > 255; 3 x 63 + 61 = 255. */
	char *p = buf;
	for (int i = 0; i < 3; i++) {
		memset(p, 'b', 63);
		p[63] = '.';
		p += 64;
	}
	memset(p, 'c', 61);
	strcpy(p + 61, ".");
	ck_assert_int_eq(dns_name_from_str(&n, buf, NULL), 0);
	ck_assert_uint_eq(n.len, 255);
	memset(p, 'c', 62);
	strcpy(p + 62, ".");
	ck_assert_int_eq(dns_name_from_str(&n, buf, NULL), DDNS_EMALFORMED);
	/* Relative completion that overflows. */
	struct dns_name org;
	memset(p, 'c', 61);
	strcpy(p + 61, ".");
	ck_assert_int_eq(dns_name_from_str(&org, buf, NULL), 0);
	ck_assert_int_eq(dns_name_from_str(&n, "x", &org), DDNS_EMALFORMED);
	/* Output buffer too small. */
	char small[4];
	struct dns_name w = N("www.example.");
	ck_assert_int_eq(dns_name_to_str(&w, small, sizeof(small)), DDNS_ETOOBIG);
}
END_TEST

START_TEST(wire_pointers)
{
	/* 12 octets of header filler, then "example.com." at 12, then
	 * "www" + pointer to 12 at 25. */
	uint8_t pkt[64] = {0};
	size_t at = 12;
	memcpy(pkt + at, "\7example\3com\0", 13);
	memcpy(pkt + 25, "\3www\xc0\x0c", 6);
	struct dns_name n;
	size_t off = 25;
	ck_assert_int_eq(dns_name_from_wire(&n, pkt, 31, &off, true), 0);
	ck_assert_uint_eq(off, 31);
	ck_assert_str_eq(S(&n), "www.example.com.");
	off = 25;
	ck_assert_int_eq(dns_name_from_wire(&n, pkt, 31, &off, false), DDNS_EMALFORMED);
	/* Pointer to a pointer (chain) works. */
	pkt[31] = 0xc0;
	pkt[32] = 25;
	off = 31;
	ck_assert_int_eq(dns_name_from_wire(&n, pkt, 33, &off, true), 0);
	ck_assert_str_eq(S(&n), "www.example.com.");
	ck_assert_uint_eq(off, 33);
}
END_TEST

START_TEST(wire_hostile)
{
	struct dns_name n;
	size_t off;
	/* Self pointer. */
	uint8_t self[] = {0, 0, 0xc0, 0x02};
	off = 2;
	ck_assert_int_eq(dns_name_from_wire(&n, self, sizeof(self), &off, true), DDNS_ELOOP);
	/* Loop through a label: "\1a" then pointer back to it. */
	uint8_t loop[] = {1, 'a', 0xc0, 0x00};
	off = 0;
	ck_assert_int_eq(dns_name_from_wire(&n, loop, sizeof(loop), &off, true), DDNS_ELOOP);
	/* Forward pointer. */
	uint8_t fwd[] = {0xc0, 0x04, 0, 0, 1, 'a', 0};
	off = 0;
	ck_assert_int_eq(dns_name_from_wire(&n, fwd, sizeof(fwd), &off, true), DDNS_EMALFORMED);
	/* Pointer beyond the packet. */
	uint8_t oob[] = {0, 0, 0xff, 0xff};
	off = 2;
	ck_assert_int_eq(dns_name_from_wire(&n, oob, sizeof(oob), &off, true), DDNS_EMALFORMED);
	/* Truncated pointer and truncated label. */
	uint8_t tp[] = {0xc0};
	off = 0;
	ck_assert_int_eq(dns_name_from_wire(&n, tp, sizeof(tp), &off, true), DDNS_EMALFORMED);
	uint8_t tl[] = {5, 'a', 'b'};
	off = 0;
	ck_assert_int_eq(dns_name_from_wire(&n, tl, sizeof(tl), &off, true), DDNS_EMALFORMED);
	/* Missing root label. */
	uint8_t nr[] = {1, 'a'};
	off = 0;
	ck_assert_int_eq(dns_name_from_wire(&n, nr, sizeof(nr), &off, true), DDNS_EMALFORMED);
	/* Label type 0x40 / 0x80 and length 64 (0x40 also). */
	uint8_t lt[] = {0x41, 'a', 0};
	off = 0;
	ck_assert_int_eq(dns_name_from_wire(&n, lt, sizeof(lt), &off, true), DDNS_EMALFORMED);
	uint8_t lt2[] = {0x81, 'a', 0};
	off = 0;
	ck_assert_int_eq(dns_name_from_wire(&n, lt2, sizeof(lt2), &off, true), DDNS_EMALFORMED);
	/* Name > 255 octets assembled through pointers: 5 blocks of a 63-octet
	 * label, each pointing to the previous one. */
	uint8_t big[5 * 66];
	size_t p = 0;
	for (int i = 0; i < 5; i++) {
		big[p] = 63;
		memset(big + p + 1, 'x', 63);
		if (i == 0) {
			big[p + 64] = 0;
			p += 65;
		} else {
			size_t prev = (size_t)(i == 1 ? 0 : 65 + (size_t)(i - 2) * 66);
			big[p + 64] = (uint8_t)(0xc0 | (prev >> 8));
			big[p + 65] = (uint8_t)prev;
			p += 66;
		}
	}
	off = 65 + 66; /* 3rd block: 3 labels = 193 octets: fine */
	ck_assert_int_eq(dns_name_from_wire(&n, big, p, &off, true), 0);
	ck_assert_uint_eq(n.len, 3 * 64 + 1);
	off = 65 + 2 * 66; /* 4 labels: 257 octets */
	ck_assert_int_eq(dns_name_from_wire(&n, big, p, &off, true), DDNS_EMALFORMED);
	off = 65 + 3 * 66; /* 5 labels: 321 octets */
	ck_assert_int_eq(dns_name_from_wire(&n, big, p, &off, true), DDNS_EMALFORMED);
}
END_TEST

START_TEST(compression_writes_pointers)
{
	struct ddns_wbuf w;
	struct dns_ctable ct;
	ddns_wbuf_init(&w, 0);
	dns_ctable_init(&ct);
	ck_assert(ddns_wbuf_put(&w, "123456789012", 12)); /* header filler */
	struct dns_name a = N("www.example.com."), b = N("mail.EXAMPLE.com."),
			c = N("www.example.com."), d = N("com.");
	ck_assert_int_eq(dns_name_to_wire(&a, &w, &ct), 0);
	ck_assert_uint_eq(w.len, 12 + 17);
	ck_assert_int_eq(dns_name_to_wire(&b, &w, &ct), 0);
	/* "mail" literal + pointer to "example.com" at 16. */
	ck_assert_uint_eq(w.len, 29 + 5 + 2);
	ck_assert_mem_eq(w.p + 29, "\4mail\xc0\x10", 7);
	ck_assert_int_eq(dns_name_to_wire(&c, &w, &ct), 0);
	ck_assert_mem_eq(w.p + 36, "\xc0\x0c", 2);
	ck_assert_int_eq(dns_name_to_wire(&d, &w, &ct), 0);
	ck_assert_mem_eq(w.p + 38, "\xc0\x18", 2);
	/* Everything decodes back. */
	const struct dns_name *want[] = {&a, &b, &c, &d};
	size_t off = 12;
	for (int i = 0; i < 4; i++) {
		struct dns_name got;
		ck_assert_int_eq(dns_name_from_wire(&got, w.p, w.len, &off, true), 0);
		ck_assert(dns_name_equal(&got, want[i]));
	}
	ck_assert_uint_eq(off, w.len);
	/* Without a table: uncompressed. */
	size_t before = w.len;
	ck_assert_int_eq(dns_name_to_wire(&a, &w, NULL), 0);
	ck_assert_uint_eq(w.len - before, 17);
	ddns_wbuf_free(&w);
}
END_TEST

START_TEST(compare_and_order)
{
	struct dns_name a = N("Example.COM."), b = N("example.com.");
	ck_assert(dns_name_equal(&a, &b));
	ck_assert_int_eq(dns_name_canon_cmp(&a, &b), 0);
	/* RFC 4034 §6.1 example order. */
	const char *order[] = {"example.", "a.example.", "yljkjljk.a.example.",
			       "Z.a.example.", "zABC.a.EXAMPLE.", "z.example.",
			       "\\001.z.example.", "*.z.example.", "\\200.z.example."};
	for (size_t i = 0; i + 1 < sizeof(order) / sizeof(order[0]); i++) {
		struct dns_name x = N(order[i]), y = N(order[i + 1]);
		ck_assert_msg(dns_name_canon_cmp(&x, &y) < 0, "%s < %s", order[i], order[i + 1]);
		ck_assert_msg(dns_name_canon_cmp(&y, &x) > 0, "%s > %s", order[i + 1], order[i]);
	}
	struct dns_name root = N(".");
	ck_assert_int_lt(dns_name_canon_cmp(&root, &a), 0);
	dns_name_to_lower(&a);
	ck_assert_mem_eq(a.data, b.data, b.len);
}
END_TEST

START_TEST(labels_subdomain_parent)
{
	struct dns_name n = N("www.example.com."), w = N("*.example.com.");
	struct dns_name root = N("."), ex = N("EXAMPLE.com."), other = N("xample.com.");
	ck_assert_uint_eq(dns_name_label_count(&n), 3);
	ck_assert_uint_eq(dns_name_label_count(&root), 0);
	ck_assert_uint_eq(dns_name_rrsig_labels(&w), 2);
	ck_assert_uint_eq(dns_name_rrsig_labels(&n), 3);
	ck_assert(dns_name_is_wildcard(&w));
	ck_assert(!dns_name_is_wildcard(&n));
	ck_assert(dns_name_is_subdomain(&n, &ex));
	ck_assert(dns_name_is_subdomain(&ex, &ex));
	ck_assert(dns_name_is_subdomain(&n, &root));
	ck_assert(!dns_name_is_subdomain(&ex, &n));
	ck_assert(!dns_name_is_subdomain(&ex, &other));
	struct dns_name p;
	ck_assert_int_eq(dns_name_parent(&n, &p), 0);
	ck_assert(dns_name_equal(&p, &ex));
	ck_assert_int_eq(dns_name_parent(&root, &p), DDNS_ENOTFOUND);
	ck_assert_int_eq(dns_name_suffix(&n, 2, &p), 0);
	ck_assert(dns_name_equal(&p, &ex));
	ck_assert_int_eq(dns_name_suffix(&n, 4, &p), -EINVAL);
	ck_assert_int_eq(dns_name_suffix(&n, 0, &p), 0);
	ck_assert_uint_eq(p.len, 1);
}
END_TEST

static Suite *name_suite(void)
{
	Suite *s = suite_create("dns_name");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, text_round_trip_and_escapes);
	tcase_add_test(tc, text_relative_and_origin);
	tcase_add_test(tc, text_limits);
	tcase_add_test(tc, wire_pointers);
	tcase_add_test(tc, wire_hostile);
	tcase_add_test(tc, compression_writes_pointers);
	tcase_add_test(tc, compare_and_order);
	tcase_add_test(tc, labels_subdomain_parent);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(name_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
