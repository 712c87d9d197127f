/*
 * rr.h - the in-memory form of DNS names and resource records, shared by the
 * wire codec (dns/msg.h), the master-file parser (dns/zonefile.h) and DNSSEC
 * (dns/dnssec.h).
 *
 * Everything is held in uncompressed wire form: a name is its length-prefixed
 * labels ending with the root label; RDATA is the uncompressed wire RDATA
 * (names inside it expanded, original case kept). Canonical form (RFC 4034
 * §6.2) is derived on demand. Depends on common/ only.
 */
#ifndef DDNS_DNS_RR_H
#define DDNS_DNS_RR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define DNS_NAME_MAX 255   /* wire length, RFC 1035 §2.3.4 */
#define DNS_LABEL_MAX 63

/* A domain name in uncompressed wire form. len includes the root label. */
struct dns_name {
	uint8_t len;
	uint8_t data[DNS_NAME_MAX];
};

enum dns_type {
	DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6, DNS_T_PTR = 12,
	DNS_T_MX = 15, DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_SRV = 33, DNS_T_OPT = 41,
	DNS_T_DS = 43, DNS_T_RRSIG = 46, DNS_T_NSEC = 47, DNS_T_DNSKEY = 48,
	DNS_T_CAA = 257, DNS_T_ANY = 255
};

enum dns_class { DNS_C_IN = 1, DNS_C_CH = 3, DNS_C_NONE = 254, DNS_C_ANY = 255 };

/* One resource record. rdata is owned by whoever owns the record (see
 * struct dns_rrlist). */
struct dns_rr {
	struct dns_name owner;
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t *rdata;
};

/* A growable list of records that owns their RDATA. */
struct dns_rrlist {
	struct dns_rr *rr;
	size_t n;
	size_t cap;
};

void dns_rrlist_init(struct dns_rrlist *l);
/* Frees every RDATA and the array. */
void dns_rrlist_free(struct dns_rrlist *l);
/* Append a copy of rr (RDATA copied). 0 or -ENOMEM. */
int dns_rrlist_add(struct dns_rrlist *l, const struct dns_rr *rr) DDNS_WUR;

#endif
