/*
 * util.h - helpers shared by the DNSSEC unit tests: build records from
 * presentation text without the zone-file parser.
 */
#ifndef DDNS_TESTS_DNSSEC_UTIL_H
#define DDNS_TESTS_DNSSEC_UTIL_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/rr.h"

static inline struct dns_name tname(const char *s)
{
	struct dns_name n;
	ck_assert_int_eq(dns_name_from_str(&n, s, NULL), 0);
	return n;
}

/* Append "owner ttl IN type rdata" to l. */
static inline void tadd(struct dns_rrlist *l, const char *owner, uint32_t ttl,
			uint16_t type, const char *rdata)
{
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 65535);
	ck_assert_msg(dns_rdata_from_str(type, rdata, NULL, &w) == 0,
		      "bad rdata '%s'", rdata);
	struct dns_rr rr = {.owner = tname(owner),
			    .type = type,
			    .rclass = DNS_C_IN,
			    .ttl = ttl,
			    .rdlen = (uint16_t)w.len,
			    .rdata = w.p};
	ck_assert_int_eq(dns_rrlist_add(l, &rr), 0);
	ddns_wbuf_free(&w);
}

/* Index of the first record of <owner, type> in l, or -1. */
static inline int tfind(const struct dns_rrlist *l, const char *owner,
			uint16_t type)
{
	struct dns_name n = tname(owner);
	for (size_t i = 0; i < l->n; i++)
		if (l->rr[i].type == type && dns_name_equal(&l->rr[i].owner, &n))
			return (int)i;
	return -1;
}

/* The RRSIG in l covering <owner, type> (first one), or -1. */
static inline int tfind_sig(const struct dns_rrlist *l, const char *owner,
			    uint16_t type)
{
	struct dns_name n = tname(owner);
	for (size_t i = 0; i < l->n; i++)
		if (l->rr[i].type == DNS_T_RRSIG &&
		    dns_name_equal(&l->rr[i].owner, &n) &&
		    ((l->rr[i].rdata[0] << 8) | l->rr[i].rdata[1]) == type)
			return (int)i;
	return -1;
}

#endif
