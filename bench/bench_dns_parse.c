/*
 * bench_dns_parse.c - how many DNS messages per second dns_msg_parse()
 * handles, and how fast the master-file parser reads a zone.
 *
 * Usage: bench_dns_parse [SECONDS] [ZONEFILE]
 * Three message shapes are measured separately: a query with EDNS, a
 * typical compressed referral/answer, and a DNSSEC answer with RRSIGs and
 * an NSEC. Each parse includes the full decode into owned records (names
 * decompressed, RDATA validated and copied) and freeing them. Not a test:
 * built by `make bench`, never run by `make check`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/msg.h"
#include "dns/rdata.h"
#include "dns/zonefile.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void add(struct dns_rrlist *l, const char *owner, uint16_t type,
		const char *rdata)
{
	struct ddns_wbuf w;
	struct dns_name o;
	ddns_wbuf_init(&w, 0);
	if (dns_name_from_str(&o, owner, NULL) || dns_rdata_from_str(type, rdata, NULL, &w) ||
	    dns_rrlist_add_parts(l, &o, type, DNS_C_IN, 3600, w.p, w.len)) {
		fprintf(stderr, "bad bench record %s\n", rdata);
		exit(1);
	}
	ddns_wbuf_free(&w);
}

static void build(struct dns_msg *m, int shape, struct ddns_wbuf *out)
{
	dns_msg_init(m);
	m->id = 0x1234;
	m->flags = shape ? DNS_F_QR | DNS_F_RD | DNS_F_RA : DNS_F_RD;
	m->qd = calloc(1, sizeof(*m->qd));
	m->qdcount = 1;
	if (dns_name_from_str(&m->qd[0].qname, "www.example.com.", NULL))
		exit(1);
	m->qd[0].qtype = DNS_T_A;
	m->qd[0].qclass = DNS_C_IN;
	m->edns.present = true;
	m->edns.udp_size = 1232;
	if (shape >= 1) {
		add(&m->sec[0], "www.example.com.", DNS_T_CNAME, "web.example.com.");
		add(&m->sec[0], "web.example.com.", DNS_T_A, "192.0.2.10");
		add(&m->sec[0], "web.example.com.", DNS_T_A, "192.0.2.11");
		for (int i = 1; i <= 4; i++) {
			char ns[64];
			snprintf(ns, sizeof(ns), "ns%d.example.com.", i);
			add(&m->sec[1], "example.com.", DNS_T_NS, ns);
			add(&m->sec[2], ns, DNS_T_A, "192.0.2.53");
			add(&m->sec[2], ns, DNS_T_AAAA, "2001:db8::53");
		}
	}
	if (shape == 2) {
		m->edns.flags = DNS_EDNS_DO;
		const char *sig = "A 13 3 3600 20240201000000 20240101000000 4242 example.com. "
				  "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==";
		add(&m->sec[0], "web.example.com.", DNS_T_RRSIG, sig);
		add(&m->sec[1], "example.com.", DNS_T_RRSIG, sig);
		add(&m->sec[1], "w.example.com.", DNS_T_NSEC, "x.example.com. A AAAA RRSIG NSEC");
		add(&m->sec[1], "w.example.com.", DNS_T_RRSIG, sig);
	}
	bool tc;
	if (dns_msg_write(m, 65535, out, &tc) <= 0)
		exit(1);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	const char *names[] = {"query+EDNS", "answer+referral (compressed)",
			       "DNSSEC answer (RRSIG, NSEC)"};
	printf("%-32s %8s %14s %10s\n", "message", "octets", "messages/s", "MB/s");
	for (int shape = 0; shape < 3; shape++) {
		struct dns_msg m, p;
		struct ddns_wbuf w;
		ddns_wbuf_init(&w, 0);
		build(&m, shape, &w);
		dns_msg_init(&p);
		long n = 0;
		double t0 = now(), t;
		do {
			for (int i = 0; i < 1000; i++) {
				if (dns_msg_parse(&p, w.p, w.len)) {
					fprintf(stderr, "parse failed\n");
					return 1;
				}
				dns_msg_clear(&p);
			}
			n += 1000;
			t = now() - t0;
		} while (t < secs);
		printf("%-32s %8zu %14.0f %10.1f\n", names[shape], w.len, (double)n / t,
		       (double)n * (double)w.len / t / 1e6);
		ddns_wbuf_free(&w);
		dns_msg_clear(&m);
	}
	if (argc > 2) {
		struct dns_rrlist l;
		char err[DNS_ZONE_ERR_MAX];
		dns_rrlist_init(&l);
		double t0 = now();
		if (dns_zone_load_file(argv[2], NULL, 3600, &l, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		double t = now() - t0;
		printf("zone %s: %zu records in %.3f s (%.0f records/s)\n", argv[2], l.n, t,
		       (double)l.n / t);
		dns_rrlist_free(&l);
	}
	return 0;
}
