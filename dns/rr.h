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


/* --- Added by the wire-format work (append-only). --- */

/* Remove all records (frees their RDATA), keep the array for reuse. */
void dns_rrlist_clear(struct dns_rrlist *l);

/*
 * Append a record built from parts (RDATA copied). 0, -ENOMEM, or
 * DDNS_ETOOBIG (rdlen > 65535).
 */
int dns_rrlist_add_parts(struct dns_rrlist *l, const struct dns_name *owner,
			 uint16_t type, uint16_t rclass, uint32_t ttl,
			 const uint8_t *rdata, size_t rdlen) DDNS_WUR;

/*
 * Lowercase rr's owner and the names in its RDATA (RFC 4034 §6.2
 * canonical form; the TTL is left alone). 0 or DDNS_EMALFORMED.
 */
int dns_rr_canonicalize(struct dns_rr *rr) DDNS_WUR;

/*
 * Canonical record order: owner by RFC 4034 §6.1, then class, then type,
 * then RDATA in canonical form (RFC 4034 §6.3). TTL is ignored.
 */
int dns_rr_canon_cmp(const struct dns_rr *a, const struct dns_rr *b);

/*
 * Sort l into canonical order so each RRset (same owner, class and type,
 * RFC 2181 §5) is contiguous with its RDATA in RFC 4034 §6.3 order, and
 * drop duplicate records (same owner/class/type/canonical RDATA, §6.3);
 * records keep their original case.
 */
void dns_rrlist_sort_canonical(struct dns_rrlist *l);

/*
 * RRset boundaries in a list sorted by dns_rrlist_sort_canonical: the index
 * one past the last record of the RRset that starts at `start` (start < n).
 * Loop: for (i = 0; i < l->n; i = j) { j = dns_rrset_end(l, i); ... }
 */
size_t dns_rrset_end(const struct dns_rrlist *l, size_t start);

/* True when a and b belong to the same RRset (owner case-insensitive). */
bool dns_rr_same_rrset(const struct dns_rr *a, const struct dns_rr *b);

#endif
