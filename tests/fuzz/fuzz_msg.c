/*
 * fuzz_msg.c - libFuzzer target for dns_msg_parse().
 *
 * Besides "no crash, no over-read" it checks two properties on every
 * message that parses: re-encoding and re-parsing gives the same records,
 * and every RR's presentation form parses back to the same RDATA.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/msg.h"
#include "dns/rdata.h"
#include "dns/zonefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text_round_trip(const struct dns_rr *rr)
{
	struct ddns_wbuf txt, back;
	ddns_wbuf_init(&txt, 0);
	ddns_wbuf_init(&back, 0);
	if (dns_rdata_to_text(rr->type, rr->rdata, rr->rdlen, &txt) != 0)
		abort(); /* parsed RDATA is valid RDATA */
	if (!ddns_wbuf_u8(&txt, 0))
		abort();
	if (dns_rdata_from_str(rr->type, (const char *)txt.p, NULL, &back) != 0 ||
	    back.len != rr->rdlen || (rr->rdlen && memcmp(back.p, rr->rdata, rr->rdlen)))
		abort();
	ddns_wbuf_free(&txt);
	ddns_wbuf_free(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_msg m, m2;
	struct ddns_wbuf w;
	dns_msg_init(&m);
	dns_msg_init(&m2);
	ddns_wbuf_init(&w, 0);
	if (dns_msg_parse(&m, data, size) != 0)
		goto out;
	for (int s = 0; s < 3; s++)
		for (size_t i = 0; i < m.sec[s].n; i++)
			check_text_round_trip(&m.sec[s].rr[i]);
	bool tc = false;
	int len = dns_msg_write(&m, DNS_MSG_MAX, &w, &tc);
	if (len < 0)
		goto out; /* e.g. decompressed names made it > 64 KiB */
	if (dns_msg_parse(&m2, w.p, w.len) != 0)
		abort();
	if (!tc) {
		for (int s = 0; s < 3; s++) {
			if (m2.sec[s].n != m.sec[s].n)
				abort();
			for (size_t i = 0; i < m.sec[s].n; i++)
				if (dns_rr_canon_cmp(&m.sec[s].rr[i], &m2.sec[s].rr[i]))
					abort();
		}
		if (m2.qdcount != m.qdcount || m2.edns.present != m.edns.present)
			abort();
	}
out:
	ddns_wbuf_free(&w);
	dns_msg_clear(&m);
	dns_msg_clear(&m2);
	return 0;
}
