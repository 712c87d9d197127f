/*
 * validate.h - chain-of-trust validation (RFC 4035 §5): from a trust anchor
 * (DS or DNSKEY records) down through DNSKEY and DS RRsets to a leaf RRset.
 *
 * A validator holds the trust anchors and a pool of records (DNSKEY, DS,
 * RRSIG and the data itself) from which chains are built; it never fetches
 * anything. Callers that fetch (the DHT put path, the gateway) add what
 * they found and ask again. Each failure has its own code, so the caller can
 * say why:
 *   DDNS_EBOGUS       a signature does not verify (altered data or signature)
 *   DDNS_EEXPIRED     the only applicable signatures have expired
 *   DDNS_ENOTYET      ... are not yet valid
 *   DDNS_ENOKEY       no validated DNSKEY has the RRSIG's tag and algorithm
 *   DDNS_EBADDS       no DNSKEY of a zone matches its DS RRset
 *   DDNS_ENOCHAIN     a link is missing (no RRSIG, no DNSKEY, no DS) or the
 *                     chain skips a zone that the pool shows exists
 *   DDNS_EOUTOFZONE   the RRSIG signer does not enclose the owner, or a zone
 *                     cut lies between them
 *   DDNS_EMALFORMED   an RRSIG or key cannot be parsed
 *   DDNS_EUNSUPPORTED only unsupported algorithms were used
 * Time is passed in (uint32 seconds, RFC 1982 arithmetic). Results per zone
 * are cached until records are added or "now" changes.
 * Depends on dns/dnssec.h, dns/name.h, common/.
 */
#ifndef DDNS_DNS_VALIDATE_H
#define DDNS_DNS_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "dns/rr.h"

struct dnssec_validator;
struct dnssec_keycache;

/* New empty validator (no anchors, no records), or NULL (out of memory). */
struct dnssec_validator *dnssec_validator_new(void);
void dnssec_validator_free(struct dnssec_validator *v);
/* Parse DNSKEYs through kc (dns/dnssec.h), which must outlive v. */
void dnssec_validator_use_keycache(struct dnssec_validator *v, struct dnssec_keycache *kc);

/*
 * Add a trust anchor: a DS or DNSKEY record (copied). A zone with anchors
 * is trusted through them alone, not through a parent's DS.
 * Returns 0; -EINVAL (another type); -ENOMEM.
 */
int dnssec_validator_add_anchor(struct dnssec_validator *v,
				const struct dns_rr *rr) DDNS_WUR;

/* Add records to the pool (copied). Returns 0 or -ENOMEM. */
int dnssec_validator_add_rrs(struct dnssec_validator *v,
			     const struct dns_rr *rr, size_t n) DDNS_WUR;

/*
 * Validate the RRset <owner, type> (class IN) held in the pool, with its
 * RRSIGs from the pool, at time now. why (whylen bytes, may be NULL)
 * receives a one-line reason on failure. Returns 0 or a code listed above;
 * DDNS_ENOTFOUND when the pool has no such RRset.
 * XXX: a pool holding both sides of a zone cut holds two NSEC RRsets at the
 * cut (the parent's and the child's apex one), which merge here and fail;
 * validate those with dnssec_validate() and the records of one side.
 */
int dnssec_validate_rrset(struct dnssec_validator *v,
			  const struct dns_name *owner, uint16_t type,
			  uint32_t now, char *why, size_t whylen) DDNS_WUR;

/*
 * Validate an RRset given explicitly (rrs[0..n-1], one owner/type/class)
 * with the given RRSIG records (only those covering its type are used);
 * DNSKEY and DS links come from the pool and the anchors.
 */
int dnssec_validate(struct dnssec_validator *v, const struct dns_rr *rrs,
		    size_t n, const struct dns_rr *sigs, size_t nsigs,
		    uint32_t now, char *why, size_t whylen) DDNS_WUR;

#endif
