/* Unit tests for dns/rdata.c: every type presentation <-> wire, canonical
 * form, RFC 3597 unknown types, mnemonics, malformed RDATA. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dns/rdata.h"

static const struct {
	uint16_t type;
	const char *text; /* canonical presentation: must print back identically */
} cases[] = {
	{DNS_T_A, "192.0.2.1"},
	{DNS_T_AAAA, "2001:db8::1"},
	{DNS_T_AAAA, "::ffff:192.0.2.1"},
	{DNS_T_NS, "ns1.Example.net."},
	{DNS_T_CNAME, "target.example.com."},
	{DNS_T_SOA, "ns.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"},
	{DNS_T_MX, "10 mail.example.com."},
	{DNS_T_TXT, "\"hello world\""},
	{DNS_T_TXT, "\"a\" \"b\\\"c\" \"\\\\\" \"\\000\\255\" \"\""},
	{DNS_T_SRV, "0 5 5060 sipserver.example.com."},
	{DNS_T_PTR, "host.example.com."},
	{DNS_T_CAA, "0 issue \"ca.example.net; account=230123\""},
	{DNS_T_CAA, "128 tbs \"\""},
	{DNS_T_DNSKEY, "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="},
	{DNS_T_RRSIG, "A 13 3 3600 20240201000000 20240101000000 12345 example.com. "
		      "ZW5vdWdoIGJ5dGVzIHRvIGxvb2sgbGlrZSBhIHNpZ25hdHVyZQ=="},
	{DNS_T_RRSIG, "TYPE65280 8 2 86400 21060207062815 19700101000000 1 Example. AQ=="},
	{DNS_T_DS, "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"},
	{DNS_T_NSEC, "host.example.com. A MX RRSIG NSEC TYPE1234"},
	{DNS_T_NSEC, "a.example. NS SOA TXT AAAA RRSIG NSEC DNSKEY CAA"},
	{63, "2018031900 1 1 ABCDEF0123"},
	{99, "\\# 3 616263"},     /* SPF has no RDATA format here: RFC 3597 */
	{65000, "\\# 0"},
	{65001, "\\# 4 DEADBEEF"},
};

START_TEST(round_trip_every_type)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t type = cases[i].type;
		struct ddns_wbuf rd, msg, dec, txt;
		ddns_wbuf_init(&rd, 0);
		ddns_wbuf_init(&msg, 0);
		ddns_wbuf_init(&dec, 0);
		ddns_wbuf_init(&txt, 0);
		/* presentation -> wire */
		ck_assert_msg(dns_rdata_from_str(type, cases[i].text, NULL, &rd) == 0,
			      "parse %s", cases[i].text);
		ck_assert_int_eq(dns_rdata_check(type, rd.p, rd.len), 0);
		/* -> message with compression (a name written before so that
		 * compression has something to point at) */
		struct dns_ctable ct;
		dns_ctable_init(&ct);
		ck_assert(ddns_wbuf_put(&msg, "HEADERHEADER", 12));
		struct dns_name pre;
		ck_assert_int_eq(dns_name_from_str(&pre, "www.example.com.", NULL), 0);
		ck_assert_int_eq(dns_name_to_wire(&pre, &msg, &ct), 0);
		size_t at = msg.len;
		ck_assert_int_eq(dns_rdata_to_wire(type, rd.p, rd.len, &msg, &ct), 0);
		size_t wlen = msg.len - at;
		/* -> decode (decompressing) */
		ck_assert_int_eq(dns_rdata_from_wire(type, msg.p, msg.len, at,
						     (uint16_t)wlen, &dec), 0);
		ck_assert_uint_eq(dec.len, rd.len);
		if (rd.len)
			ck_assert_mem_eq(dec.p, rd.p, rd.len);
		/* -> presentation, identical */
		ck_assert_int_eq(dns_rdata_to_text(type, dec.p, dec.len, &txt), 0);
		ck_assert(ddns_wbuf_u8(&txt, 0));
		ck_assert_str_eq((char *)txt.p, cases[i].text);
		ddns_wbuf_free(&rd);
		ddns_wbuf_free(&msg);
		ddns_wbuf_free(&dec);
		ddns_wbuf_free(&txt);
	}
}
END_TEST

static size_t enc(uint16_t type, const char *text, uint8_t *out)
{
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	ck_assert_msg(dns_rdata_from_str(type, text, NULL, &w) == 0, "%s", text);
	memcpy(out, w.p, w.len);
	size_t n = w.len;
	ddns_wbuf_free(&w);
	return n;
}

START_TEST(compression_only_where_allowed)
{
	uint8_t rd[512];
	/* MX compresses its exchange against an earlier name; SRV and RRSIG
	 * never compress (RFC 2782, RFC 4034 §3.1.7). */
	struct {
		uint16_t type;
		const char *text;
		bool compress;
	} t[] = {{DNS_T_MX, "10 www.example.com.", true},
		 {DNS_T_NS, "www.example.com.", true},
		 {DNS_T_SOA, "www.example.com. www.example.com. 1 2 3 4 5", true},
		 {DNS_T_SRV, "1 2 3 www.example.com.", false},
		 {DNS_T_RRSIG, "A 13 3 60 1 0 1 www.example.com. AA==", false},
		 {DNS_T_NSEC, "www.example.com. A", false}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t n = enc(t[i].type, t[i].text, rd);
		struct ddns_wbuf msg;
		struct dns_ctable ct;
		ddns_wbuf_init(&msg, 0);
		dns_ctable_init(&ct);
		ck_assert(ddns_wbuf_put(&msg, "HEADERHEADER", 12));
		struct dns_name pre;
		ck_assert_int_eq(dns_name_from_str(&pre, "www.example.com.", NULL), 0);
		ck_assert_int_eq(dns_name_to_wire(&pre, &msg, &ct), 0);
		size_t at = msg.len;
		ck_assert_int_eq(dns_rdata_to_wire(t[i].type, rd, n, &msg, &ct), 0);
		if (t[i].compress)
			ck_assert_uint_lt(msg.len - at, n);
		else
			ck_assert_uint_eq(msg.len - at, n);
		ddns_wbuf_free(&msg);
	}
}
END_TEST

START_TEST(pointers_rejected_in_rrsig_and_nsec)
{
	/* Message: name at 0 ("\1a\0"), then NSEC RDATA = pointer + bitmap. */
	uint8_t pkt[] = {1, 'a', 0, 0xc0, 0x00, 0x00, 0x01, 0x40};
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	ck_assert_int_eq(dns_rdata_from_wire(DNS_T_NSEC, pkt, sizeof(pkt), 3, 5, &w),
			 DDNS_EMALFORMED);
	/* The same pointer inside a CNAME is fine (RFC 3597 §4). */
	ck_assert_int_eq(dns_rdata_from_wire(DNS_T_CNAME, pkt, sizeof(pkt), 3, 2, &w), 0);
	ck_assert_uint_eq(w.len, 3);
	ddns_wbuf_free(&w);
}
END_TEST

START_TEST(malformed_rdata)
{
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	const struct {
		uint16_t type;
		const char *text;
	} bad[] = {
		{DNS_T_A, "192.0.2"}, {DNS_T_A, "192.0.2.1 x"}, {DNS_T_A, ""},
		{DNS_T_AAAA, "2001:db8::g"}, {DNS_T_MX, "65536 a."}, {DNS_T_MX, "10"},
		{DNS_T_SOA, "a. b. 1 2 3 4"}, {DNS_T_TXT, ""},
		{DNS_T_DS, "1 2 3 ABC"}, {DNS_T_DNSKEY, "257 3 13 AB$="},
		{DNS_T_DNSKEY, "257 3 13 A"}, {DNS_T_RRSIG, "A 13 3 3600 2024x 1 1 a. AA=="},
		{DNS_T_RRSIG, "A 13 3 3600 20241301000000 1 1 a. AA=="},
		{DNS_T_NSEC, "a. BOGUS"}, {DNS_T_CAA, "0 \"\" \"x\""},
		{DNS_T_CAA, "0 is-sue \"x\""}, {DNS_T_TXT, "\"\\300\""},
		{65000, "\\# 2 AB"}, {65000, "\\# 1 ABCD"}, {65000, "abc"},
		{DNS_T_A, "\\# 3 010203"}, {DNS_T_NS, "relative"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w.len = 0;
		ck_assert_msg(dns_rdata_from_str(bad[i].type, bad[i].text, NULL, &w) ==
				      DDNS_EMALFORMED, "accepted %s", bad[i].text);
	}
	/* Known types in RFC 3597 form are accepted when valid. */
	w.len = 0;
	ck_assert_int_eq(dns_rdata_from_str(DNS_T_A, "\\# 4 C0000201", NULL, &w), 0);
	ck_assert_mem_eq(w.p, "\xc0\x00\x02\x01", 4);
	/* A TXT string longer than 255 octets. */
	char longs[300];
	memset(longs, 'x', 256);
	longs[256] = 0;
	w.len = 0;
	ck_assert_int_ne(dns_rdata_from_str(DNS_T_TXT, longs, NULL, &w), 0);
	ddns_wbuf_free(&w);

	/* Wire: RDLENGTH lies in either direction, truncated fields. */
	uint8_t a5[] = {1, 2, 3, 4, 5};
	ck_assert_int_eq(dns_rdata_check(DNS_T_A, a5, 5), DDNS_EMALFORMED);
	ck_assert_int_eq(dns_rdata_check(DNS_T_A, a5, 3), DDNS_EMALFORMED);
	uint8_t mx[] = {0, 10, 3, 'f', 'o'};
	ck_assert_int_eq(dns_rdata_check(DNS_T_MX, mx, sizeof(mx)), DDNS_EMALFORMED);
	uint8_t txt[] = {5, 'a', 'b'};
	ck_assert_int_eq(dns_rdata_check(DNS_T_TXT, txt, sizeof(txt)), DDNS_EMALFORMED);
	/* NSEC bitmaps: descending windows, zero length, trailing zero. */
	uint8_t nsec1[] = {0, 1, 0x40, 0, 1, 0x40};
	ck_assert_int_eq(dns_rdata_check(DNS_T_NSEC, nsec1, sizeof(nsec1)), DDNS_EMALFORMED);
	uint8_t nsec2[] = {0, 0, 0};
	ck_assert_int_eq(dns_rdata_check(DNS_T_NSEC, nsec2, sizeof(nsec2)), DDNS_EMALFORMED);
	uint8_t nsec3[] = {0, 0, 2, 0x40, 0x00};
	ck_assert_int_eq(dns_rdata_check(DNS_T_NSEC, nsec3, sizeof(nsec3)), DDNS_EMALFORMED);
	uint8_t nsec4[] = {0, 0, 33, 0x40};
	ck_assert_int_eq(dns_rdata_check(DNS_T_NSEC, nsec4, sizeof(nsec4)), DDNS_EMALFORMED);
	/* rdlen claims more than the packet holds. */
	struct ddns_wbuf o;
	ddns_wbuf_init(&o, 0);
	ck_assert_int_eq(dns_rdata_from_wire(DNS_T_A, a5, 5, 3, 4, &o), DDNS_EMALFORMED);
	ck_assert_int_eq(dns_rdata_from_wire(65000, a5, 5, 3, 4, &o), DDNS_EMALFORMED);
	ddns_wbuf_free(&o);
}
END_TEST

START_TEST(canonical_form)
{
	uint8_t a[256], b[256];
	size_t na = enc(DNS_T_MX, "10 Mail.EXAMPLE.com.", a);
	size_t nb = enc(DNS_T_MX, "10 mail.example.com.", b);
	ck_assert_int_eq(dns_rdata_canon_cmp(DNS_T_MX, a, na, b, nb), 0);
	ck_assert_int_eq(dns_rdata_canonicalize(DNS_T_MX, a, na), 0);
	ck_assert_mem_eq(a, b, nb);
	/* RRSIG signer lowercased; NSEC next name not (RFC 6840 §5.1). */
	na = enc(DNS_T_RRSIG, "A 13 2 60 1 0 1 EXAMPLE.com. AA==", a);
	ck_assert_int_eq(dns_rdata_canonicalize(DNS_T_RRSIG, a, na), 0);
	ck_assert(memmem(a, na, "\7example", 8) != NULL);
	na = enc(DNS_T_NSEC, "Host.EXAMPLE. A", a);
	nb = enc(DNS_T_NSEC, "host.example. A", b);
	ck_assert_int_eq(dns_rdata_canonicalize(DNS_T_NSEC, a, na), 0);
	ck_assert(memmem(a, na, "\4Host", 5) != NULL);
	ck_assert_int_ne(dns_rdata_canon_cmp(DNS_T_NSEC, a, na, b, nb), 0);
	/* TXT is compared as octets (case matters). */
	na = enc(DNS_T_TXT, "\"A\"", a);
	nb = enc(DNS_T_TXT, "\"a\"", b);
	ck_assert_int_lt(dns_rdata_canon_cmp(DNS_T_TXT, a, na, b, nb), 0);
	/* Shorter prefix sorts first (RFC 4034 §6.3). */
	na = enc(65000, "\\# 1 01", a);
	nb = enc(65000, "\\# 2 0100", b);
	ck_assert_int_lt(dns_rdata_canon_cmp(65000, a, na, b, nb), 0);
	ck_assert(dns_type_has_canon_names(DNS_T_SOA));
	ck_assert(!dns_type_has_canon_names(DNS_T_NSEC));
}
END_TEST

START_TEST(mnemonics)
{
	uint16_t t;
	char buf[DNS_MNEMONIC_MAX];
	ck_assert_int_eq(dns_type_from_text("aaaa", 4, &t), 0);
	ck_assert_uint_eq(t, DNS_T_AAAA);
	ck_assert_int_eq(dns_type_from_text("TYPE65535", 9, &t), 0);
	ck_assert_uint_eq(t, 65535);
	ck_assert_int_eq(dns_type_from_text("TYPE65536", 9, &t), DDNS_EMALFORMED);
	ck_assert_int_eq(dns_type_from_text("TYPE", 4, &t), DDNS_EMALFORMED);
	ck_assert_int_eq(dns_type_from_text("NOPE", 4, &t), DDNS_EMALFORMED);
	ck_assert_str_eq(dns_type_to_str(DNS_T_RRSIG, buf), "RRSIG");
	ck_assert_str_eq(dns_type_to_str(4242, buf), "TYPE4242");
	uint16_t c;
	ck_assert_int_eq(dns_class_from_text("ch", 2, &c), 0);
	ck_assert_uint_eq(c, DNS_C_CH);
	ck_assert_int_eq(dns_class_from_text("CLASS7", 6, &c), 0);
	ck_assert_uint_eq(c, 7);
	ck_assert_str_eq(dns_class_to_str(7, buf), "CLASS7");
	ck_assert_str_eq(dns_class_to_str(1, buf), "IN");
	uint32_t ttl;
	ck_assert_int_eq(dns_ttl_from_text("1h2m", 4, &ttl), 0);
	ck_assert_uint_eq(ttl, 3720);
	ck_assert_int_eq(dns_ttl_from_text("1W1d3s", 6, &ttl), 0);
	ck_assert_uint_eq(ttl, 604800 + 86400 + 3);
	ck_assert_int_eq(dns_ttl_from_text("4294967296", 10, &ttl), DDNS_EMALFORMED);
	ck_assert_int_eq(dns_ttl_from_text("h", 1, &ttl), DDNS_EMALFORMED);
	ck_assert_int_eq(dns_ttl_from_text("1x", 2, &ttl), DDNS_EMALFORMED);
}
END_TEST

START_TEST(times_and_codecs)
{
	uint32_t t;
	char buf[15];
	ck_assert_int_eq(dns_time_from_text("20240101000000", 14, &t), 0);
	ck_assert_uint_eq(t, 1704067200u);
	ck_assert_str_eq(dns_time_to_str(t, buf), "20240101000000");
	ck_assert_int_eq(dns_time_from_text("1704067200", 10, &t), 0);
	ck_assert_uint_eq(t, 1704067200u);
	ck_assert_str_eq(dns_time_to_str(0xffffffffu, buf), "21060207062815");
	ck_assert_str_eq(dns_time_to_str(951782400u, buf), "20000229000000");
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	ck_assert_int_eq(dns_base64_decode("aGVs bG8=", 9, &w), 0);
	ck_assert_uint_eq(w.len, 5);
	ck_assert_mem_eq(w.p, "hello", 5);
	w.len = 0;
	ck_assert_int_eq(dns_base64_encode((const uint8_t *)"hello", 5, &w), 0);
	ck_assert_mem_eq(w.p, "aGVsbG8=", 8);
	w.len = 0;
	ck_assert_int_eq(dns_base64_decode("aGVsbG9=", 8, &w), DDNS_EMALFORMED);
	w.len = 0;
	ck_assert_int_eq(dns_hex_decode("0aFf", 4, &w), 0);
	ck_assert_mem_eq(w.p, "\x0a\xff", 2);
	uint16_t types[] = {DNS_T_NSEC, DNS_T_A, 1234, DNS_T_A};
	w.len = 0;
	ck_assert_int_eq(dns_typebitmap_encode(types, 4, &w), 0);
	ck_assert(dns_typebitmap_has(w.p, w.len, DNS_T_A));
	ck_assert(dns_typebitmap_has(w.p, w.len, 1234));
	ck_assert(!dns_typebitmap_has(w.p, w.len, DNS_T_NS));
	ck_assert(!dns_typebitmap_has(w.p, w.len, 65535));

	/* An NSEC with 1,500 types survives text and back. */
	uint16_t many[1500];
	for (int i = 0; i < 1500; i++)
		many[i] = (uint16_t)(i + 1);
	w.len = 0;
	ck_assert(ddns_wbuf_put(&w, "\1a\0", 3));
	ck_assert_int_eq(dns_typebitmap_encode(many, 1500, &w), 0);
	struct ddns_wbuf txt, back;
	ddns_wbuf_init(&txt, 0);
	ddns_wbuf_init(&back, 0);
	ck_assert_int_eq(dns_rdata_to_text(DNS_T_NSEC, w.p, w.len, &txt), 0);
	ck_assert(ddns_wbuf_u8(&txt, 0));
	ck_assert_int_eq(dns_rdata_from_str(DNS_T_NSEC, (char *)txt.p, NULL, &back), 0);
	ck_assert_uint_eq(back.len, w.len);
	ck_assert_mem_eq(back.p, w.p, w.len);
	ddns_wbuf_free(&txt);
	ddns_wbuf_free(&back);
	ddns_wbuf_free(&w);
}
END_TEST

static Suite *rdata_suite(void)
{
	Suite *s = suite_create("dns_rdata");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, round_trip_every_type);
	tcase_add_test(tc, compression_only_where_allowed);
	tcase_add_test(tc, pointers_rejected_in_rrsig_and_nsec);
	tcase_add_test(tc, malformed_rdata);
	tcase_add_test(tc, canonical_form);
	tcase_add_test(tc, mnemonics);
	tcase_add_test(tc, times_and_codecs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rdata_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
