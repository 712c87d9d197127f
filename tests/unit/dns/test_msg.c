/* Unit tests for dns/msg.c: parse, build, compression, EDNS, truncation,
 * 64 KiB messages and hostile input. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/msg.h"
#include "dns/rdata.h"

static struct dns_name N(const char *s)
{
	struct dns_name n;
	ck_assert_int_eq(dns_name_from_str(&n, s, NULL), 0);
	return n;
}

/* Add an RR from presentation RDATA to a list. */
static void add(struct dns_rrlist *l, const char *owner, uint16_t type,
		uint32_t ttl, const char *rdata)
{
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	ck_assert_msg(dns_rdata_from_str(type, rdata, NULL, &w) == 0, "%s", rdata);
	struct dns_name o = N(owner);
	ck_assert_int_eq(dns_rrlist_add_parts(l, &o, type, DNS_C_IN, ttl, w.p, w.len), 0);
	ddns_wbuf_free(&w);
}

static void build_response(struct dns_msg *m)
{
	dns_msg_init(m);
	m->id = 0xbeef;
	m->flags = DNS_F_QR | DNS_F_AA | DNS_F_RD;
	m->qd = calloc(1, sizeof(*m->qd));
	m->qdcount = 1;
	m->qd[0].qname = N("www.example.com.");
	m->qd[0].qtype = DNS_T_A;
	m->qd[0].qclass = DNS_C_IN;
	add(&m->sec[DNS_S_ANSWER], "www.example.com.", DNS_T_CNAME, 300, "web.example.com.");
	add(&m->sec[DNS_S_ANSWER], "web.example.com.", DNS_T_A, 300, "192.0.2.10");
	add(&m->sec[DNS_S_AUTHORITY], "example.com.", DNS_T_NS, 3600, "ns1.example.com.");
	add(&m->sec[DNS_S_AUTHORITY], "example.com.", DNS_T_NS, 3600, "ns2.example.com.");
	add(&m->sec[DNS_S_ADDITIONAL], "ns1.example.com.", DNS_T_AAAA, 3600, "2001:db8::53");
	add(&m->sec[DNS_S_ADDITIONAL], "ns1.example.com.", DNS_T_RRSIG, 3600,
	    "AAAA 13 3 3600 20240201000000 20240101000000 4242 example.com. AAECAw==");
}

static void assert_same_lists(const struct dns_rrlist *a, const struct dns_rrlist *b)
{
	ck_assert_uint_eq(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		ck_assert(dns_name_equal(&a->rr[i].owner, &b->rr[i].owner));
		ck_assert_uint_eq(a->rr[i].type, b->rr[i].type);
		ck_assert_uint_eq(a->rr[i].rclass, b->rr[i].rclass);
		ck_assert_uint_eq(a->rr[i].ttl, b->rr[i].ttl);
		ck_assert_uint_eq(a->rr[i].rdlen, b->rr[i].rdlen);
		ck_assert_mem_eq(a->rr[i].rdata, b->rr[i].rdata, a->rr[i].rdlen);
	}
}

START_TEST(build_and_parse_round_trip)
{
	struct dns_msg m, p;
	build_response(&m);
	m.edns.present = true;
	m.edns.udp_size = 1232;
	m.edns.flags = DNS_EDNS_DO;
	uint8_t opt[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 12, 0, 0}; /* cookie, padding */
	m.edns.opts = malloc(sizeof(opt));
	memcpy(m.edns.opts, opt, sizeof(opt));
	m.edns.optlen = sizeof(opt);

	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	bool tc = true;
	int len = dns_msg_write(&m, 4096, &w, &tc);
	ck_assert_int_gt(len, 0);
	ck_assert(!tc);
	/* Compression happened: "example.com" is written in full twice only,
	 * in the question and as the RRSIG signer (never compressed). */
	int full = 0;
	for (size_t i = 0; i + 12 <= w.len; i++)
		full += memcmp(w.p + i, "\7example\3com", 12) == 0;
	ck_assert_int_eq(full, 2);

	dns_msg_init(&p);
	ck_assert_int_eq(dns_msg_parse(&p, w.p, w.len), 0);
	ck_assert_uint_eq(p.id, 0xbeef);
	ck_assert_uint_eq(p.flags, DNS_F_QR | DNS_F_AA | DNS_F_RD);
	ck_assert_uint_eq(p.qdcount, 1);
	ck_assert(dns_name_equal(&p.qd[0].qname, &m.qd[0].qname));
	for (int s = 0; s < 3; s++)
		assert_same_lists(&m.sec[s], &p.sec[s]);
	ck_assert(p.edns.present);
	ck_assert_uint_eq(p.edns.udp_size, 1232);
	ck_assert_uint_eq(p.edns.flags & DNS_EDNS_DO, DNS_EDNS_DO);
	size_t pos = 0;
	struct dns_edns_opt o;
	ck_assert(dns_edns_opt_next(&p.edns, &pos, &o));
	ck_assert_uint_eq(o.code, 10);
	ck_assert_uint_eq(o.len, 8);
	ck_assert(dns_edns_opt_next(&p.edns, &pos, &o));
	ck_assert_uint_eq(o.code, 12);
	ck_assert_uint_eq(o.len, 0);
	ck_assert(!dns_edns_opt_next(&p.edns, &pos, &o));
	ck_assert_uint_eq(dns_msg_rcode(&p), 0);

	/* Re-encoding the parsed message gives the same octets. */
	struct ddns_wbuf w2;
	ddns_wbuf_init(&w2, 0);
	ck_assert_int_eq(dns_msg_write(&p, 4096, &w2, NULL), len);
	ck_assert_mem_eq(w2.p, w.p, (size_t)len);
	ddns_wbuf_free(&w2);
	ddns_wbuf_free(&w);
	dns_msg_clear(&p);
	dns_msg_clear(&m);
	dns_msg_clear(NULL);
}
END_TEST

START_TEST(truncation_sets_tc)
{
	struct dns_msg m, p;
	dns_msg_init(&m);
	m.id = 1;
	m.flags = DNS_F_QR;
	m.qd = calloc(1, sizeof(*m.qd));
	m.qdcount = 1;
	m.qd[0].qname = N("big.example.");
	m.qd[0].qtype = DNS_T_TXT;
	m.qd[0].qclass = DNS_C_IN;
	char txt[120];
	memset(txt, 0, sizeof(txt));
	txt[0] = '"';
	memset(txt + 1, 'x', 100);
	txt[101] = '"';
	for (int i = 0; i < 20; i++)
		add(&m.sec[DNS_S_ANSWER], "big.example.", DNS_T_TXT, 60, txt);
	add(&m.sec[DNS_S_ADDITIONAL], "x.example.", DNS_T_A, 60, "192.0.2.1");
	m.edns.present = true;
	m.edns.udp_size = 512;

	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	bool tc = false;
	int len = dns_msg_write(&m, 512, &w, &tc);
	ck_assert_int_gt(len, 0);
	ck_assert_int_le(len, 512);
	ck_assert(tc);
	dns_msg_init(&p);
	ck_assert_int_eq(dns_msg_parse(&p, w.p, w.len), 0);
	ck_assert(p.flags & DNS_F_TC);
	ck_assert_uint_gt(p.sec[DNS_S_ANSWER].n, 0);
	ck_assert_uint_lt(p.sec[DNS_S_ANSWER].n, 20);
	/* The OPT record's room was reserved: it is there. */
	ck_assert(p.edns.present);
	dns_msg_clear(&p);

	/* Additional-only overflow omits without TC (RFC 2181 §9). */
	struct dns_msgw mw;
	ck_assert_int_eq(dns_msgw_init(&mw, 2, DNS_F_QR, 100), 0);
	ck_assert_int_eq(dns_msgw_rr(&mw, DNS_S_ADDITIONAL, &m.sec[DNS_S_ANSWER].rr[0]),
			 DDNS_ETOOBIG);
	ck_assert_int_eq(dns_msgw_rr(&mw, DNS_S_ADDITIONAL, &m.sec[DNS_S_ADDITIONAL].rr[0]), 0);
	ck_assert_int_eq(dns_msgw_rr(&mw, DNS_S_ANSWER, &m.sec[DNS_S_ADDITIONAL].rr[0]), -EINVAL);
	len = dns_msgw_finish(&mw);
	ck_assert_int_gt(len, 0);
	ck_assert_uint_eq(mw.w.p[2] & (DNS_F_TC >> 8), 0);
	ck_assert_int_eq(dns_msg_parse(&p, mw.w.p, (size_t)len), 0);
	ck_assert_uint_eq(p.sec[DNS_S_ADDITIONAL].n, 1);
	dns_msgw_free(&mw);
	dns_msg_clear(&p);
	ddns_wbuf_free(&w);
	dns_msg_clear(&m);
}
END_TEST

START_TEST(message_of_64k)
{
	/* Fill a TCP-sized message with AAAA records under distinct names. */
	struct dns_msg m, p;
	dns_msg_init(&m);
	m.flags = DNS_F_QR;
	char name[64], addr[64];
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "host%d.zone%d.example.", i, i % 37);
		snprintf(addr, sizeof(addr), "2001:db8::%x", i);
		add(&m.sec[DNS_S_ANSWER], name, DNS_T_AAAA, 60, addr);
	}
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	bool tc = false;
	int len = dns_msg_write(&m, 65535, &w, &tc);
	ck_assert_int_gt(len, 60000);
	ck_assert_int_le(len, 65535);
	ck_assert(tc);
	dns_msg_init(&p);
	ck_assert_int_eq(dns_msg_parse(&p, w.p, w.len), 0);
	size_t got = p.sec[DNS_S_ANSWER].n;
	ck_assert_uint_gt(got, 1500);
	printf("64 KiB message: %d octets, %zu of 3000 RRs, TC set\n", len, got);
	for (size_t i = 0; i < got; i++)
		ck_assert(dns_name_equal(&p.sec[DNS_S_ANSWER].rr[i].owner,
					 &m.sec[DNS_S_ANSWER].rr[i].owner));
	dns_msg_clear(&p);
	/* An over-long buffer is refused. */
	uint8_t *huge = calloc(1, 70000);
	ck_assert_int_eq(dns_msg_parse(&p, huge, 70000), DDNS_EMALFORMED);
	free(huge);
	ddns_wbuf_free(&w);
	dns_msg_clear(&m);
}
END_TEST

/* A header with the given counts. */
static size_t hdr(uint8_t *b, int qd, int an, int ns, int ar)
{
	memset(b, 0, 12);
	b[0] = 0x12;
	b[1] = 0x34;
	b[5] = (uint8_t)qd;
	b[7] = (uint8_t)an;
	b[9] = (uint8_t)ns;
	b[11] = (uint8_t)ar;
	return 12;
}

static int parse(const uint8_t *b, size_t n)
{
	struct dns_msg m;
	dns_msg_init(&m);
	int rc = dns_msg_parse(&m, b, n);
	/* On error nothing is left allocated. */
	if (rc) {
		ck_assert_uint_eq(m.sec[0].n + m.sec[1].n + m.sec[2].n, 0);
		ck_assert_ptr_null(m.qd);
	}
	dns_msg_clear(&m);
	return rc;
}

START_TEST(hostile_messages)
{
	uint8_t b[600] = {0};
	size_t n;

	/* Short header. */
	ck_assert_int_eq(parse(b, 11), DDNS_EMALFORMED);
	/* Empty message is fine. */
	n = hdr(b, 0, 0, 0, 0);
	ck_assert_int_eq(parse(b, n), 0);
	/* Counts larger than the packet. */
	n = hdr(b, 0, 255, 0, 0);
	ck_assert_int_eq(parse(b, n), DDNS_EMALFORMED);
	n = hdr(b, 1, 0, 0, 0);
	ck_assert_int_eq(parse(b, n), DDNS_EMALFORMED);
	b[3] = 0, b[2] = 0;
	n = hdr(b, 0, 0, 0, 0);
	b[4] = 0xff, b[5] = 0xff; /* QDCOUNT 65535 */
	ck_assert_int_eq(parse(b, n), DDNS_EMALFORMED);

	/* Question with a pointer loop (points at itself). */
	n = hdr(b, 1, 0, 0, 0);
	b[n++] = 0xc0, b[n++] = 12, b[n++] = 0, b[n++] = 1, b[n++] = 0, b[n++] = 1;
	ck_assert_int_eq(parse(b, n), DDNS_ELOOP);
	/* Two-step loop: label at 12 then pointer back to 12. */
	n = hdr(b, 1, 0, 0, 0);
	b[n++] = 1, b[n++] = 'a', b[n++] = 0xc0, b[n++] = 12;
	b[n++] = 0, b[n++] = 1, b[n++] = 0, b[n++] = 1;
	ck_assert_int_eq(parse(b, n), DDNS_ELOOP);
	/* Forward pointer. */
	n = hdr(b, 1, 0, 0, 0);
	b[n++] = 0xc0, b[n++] = 18, b[n++] = 0, b[n++] = 1, b[n++] = 0, b[n++] = 1;
	b[n++] = 0;
	ck_assert_int_eq(parse(b, n), DDNS_EMALFORMED);
	/* Pointer beyond the packet. */
	n = hdr(b, 1, 0, 0, 0);
	b[n++] = 0xc1, b[n++] = 0xff, b[n++] = 0, b[n++] = 1, b[n++] = 0, b[n++] = 1;
	ck_assert_int_eq(parse(b, n), DDNS_EMALFORMED);
	/* Label of 64 (0x40 is a reserved label type). */
	n = hdr(b, 1, 0, 0, 0);
	b[n++] = 64;
	memset(b + n, 'a', 64);
	n += 64;
	b[n++] = 0, b[n++] = 0, b[n++] = 1, b[n++] = 0, b[n++] = 1;
	ck_assert_int_eq(parse(b, n), DDNS_EMALFORMED);
	/* Name of 256+ octets: 5 labels of 63. */
	n = hdr(b, 1, 0, 0, 0);
	for (int i = 0; i < 5; i++) {
		b[n++] = 63;
		memset(b + n, 'a', 63);
		n += 63;
	}
	b[n++] = 0, b[n++] = 0, b[n++] = 1, b[n++] = 0, b[n++] = 1;
	ck_assert_int_eq(parse(b, n), DDNS_EMALFORMED);

	/* Answer RRs: root owner, type A, class IN, ttl, rdlen. */
	uint8_t rr_a[] = {0, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1};
	n = hdr(b, 0, 1, 0, 0);
	memcpy(b + n, rr_a, sizeof(rr_a));
	ck_assert_int_eq(parse(b, n + sizeof(rr_a)), 0);
	/* Truncated RDATA (packet ends inside it). */
	ck_assert_int_eq(parse(b, n + sizeof(rr_a) - 1), DDNS_EMALFORMED);
	/* RDLENGTH lies: longer than the packet. */
	b[n + 10] = 40;
	ck_assert_int_eq(parse(b, n + sizeof(rr_a)), DDNS_EMALFORMED);
	/* RDLENGTH lies: 3 for an A record (structure does not fit). */
	b[n + 10] = 3;
	ck_assert_int_eq(parse(b, n + sizeof(rr_a)), DDNS_EMALFORMED);
	/* RDLENGTH 5 for an A record (1 extra octet inside RDATA). */
	memcpy(b + n, rr_a, sizeof(rr_a));
	b[n + 10] = 5;
	b[n + sizeof(rr_a)] = 9;
	ck_assert_int_eq(parse(b, n + sizeof(rr_a) + 1), DDNS_EMALFORMED);
	/* Trailing garbage after the last RR. */
	b[n + 10] = 4;
	ck_assert_int_eq(parse(b, n + sizeof(rr_a) + 1), DDNS_EMALFORMED);
	/* MX whose name runs past RDLENGTH. */
	uint8_t rr_mx[] = {0, 0, 15, 0, 1, 0, 0, 0, 60, 0, 4, 0, 10, 3, 'a', 'b', 'c', 0};
	n = hdr(b, 0, 1, 0, 0);
	memcpy(b + n, rr_mx, sizeof(rr_mx));
	ck_assert_int_eq(parse(b, n + sizeof(rr_mx)), DDNS_EMALFORMED);
	b[n + 10] = 7;
	ck_assert_int_eq(parse(b, n + sizeof(rr_mx)), 0);

	/* OPT: two of them, one in the answer section, non-root owner. */
	uint8_t opt[] = {0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 0};
	n = hdr(b, 0, 0, 0, 2);
	memcpy(b + n, opt, sizeof(opt));
	memcpy(b + n + sizeof(opt), opt, sizeof(opt));
	ck_assert_int_eq(parse(b, n + 2 * sizeof(opt)), DDNS_EMALFORMED);
	n = hdr(b, 0, 0, 0, 1);
	memcpy(b + n, opt, sizeof(opt));
	ck_assert_int_eq(parse(b, n + sizeof(opt)), 0);
	n = hdr(b, 0, 1, 0, 0);
	memcpy(b + n, opt, sizeof(opt));
	ck_assert_int_eq(parse(b, n + sizeof(opt)), DDNS_EMALFORMED);
	uint8_t opt_owner[] = {1, 'a', 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0};
	n = hdr(b, 0, 0, 0, 1);
	memcpy(b + n, opt_owner, sizeof(opt_owner));
	ck_assert_int_eq(parse(b, n + sizeof(opt_owner)), DDNS_EMALFORMED);
	/* OPT option length running past the RDATA. */
	uint8_t opt_bad[] = {0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 6, 0, 10, 0, 9, 1, 2};
	n = hdr(b, 0, 0, 0, 1);
	memcpy(b + n, opt_bad, sizeof(opt_bad));
	ck_assert_int_eq(parse(b, n + sizeof(opt_bad)), DDNS_EMALFORMED);
	/* Extended rcode: BADVERS = 16 -> ext 1, header 0. */
	uint8_t opt_bv[] = {0, 0, 41, 0x10, 0, 1, 0, 0, 0, 0, 0};
	n = hdr(b, 0, 0, 0, 1);
	memcpy(b + n, opt_bv, sizeof(opt_bv));
	struct dns_msg m;
	dns_msg_init(&m);
	ck_assert_int_eq(dns_msg_parse(&m, b, n + sizeof(opt_bv)), 0);
	ck_assert_uint_eq(dns_msg_rcode(&m), DNS_R_BADVERS);
	dns_msg_clear(&m);
}
END_TEST

static Suite *msg_suite(void)
{
	Suite *s = suite_create("dns_msg");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, build_and_parse_round_trip);
	tcase_add_test(tc, truncation_sets_tc);
	tcase_add_test(tc, message_of_64k);
	tcase_add_test(tc, hostile_messages);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(msg_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
