/*
 * dnssec.h - DNSSEC keys, signatures, key tags, DS digests and NSEC chains
 * (RFC 4033-4035), over records in the uncompressed wire form of dns/rr.h.
 *
 * Algorithms: 13 (ECDSA P-256/SHA-256, RFC 6605) to sign and verify, and 8
 * (RSA/SHA-256, RFC 5702, public key in RFC 3110 form) to sign and verify.
 * DS digests: 1 (SHA-1) and 2 (SHA-256). mbedTLS does the arithmetic.
 *
 * This module never reads the clock: validity checks take "now" as a uint32
 * count of seconds since the epoch, compared in serial-number arithmetic
 * (RFC 1982, RFC 4034 §3.1.5). It does read the system entropy source once
 * per private key (to seed that key's CTR-DRBG). It is not a validator of
 * whole chains (see dns/validate.h) and does not parse text (see
 * dns/keyfile.h for BIND key files). Depends on common/, dns/name.h and
 * dns/rdata.h (canonical form, type bit maps).
 */
#ifndef DDNS_DNS_DNSSEC_H
#define DDNS_DNS_DNSSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "dns/name.h"
#include "dns/rr.h"

enum dnssec_alg {
	DNSSEC_ALG_RSASHA1 = 5,
	DNSSEC_ALG_RSASHA256 = 8,
	DNSSEC_ALG_ECDSAP256SHA256 = 13
};

enum dnssec_digest { DNSSEC_DS_SHA1 = 1, DNSSEC_DS_SHA256 = 2 };

#define DNSSEC_FLAG_ZONE 0x0100 /* DNSKEY flags bit 7 (RFC 4034 §2.1.1) */
#define DNSSEC_FLAG_SEP 0x0001  /* bit 15: secure entry point (a KSK) */
#define DNSSEC_FLAGS_ZSK 256
#define DNSSEC_FLAGS_KSK 257

/* Largest signature we produce or accept (RSA 4096 = 512 bytes). */
#define DNSSEC_SIG_MAX 512

/* --- Key tags and DS ------------------------------------------------------ */

/* Key tag of DNSKEY RDATA (RFC 4034 Appendix B; the algorithm 1 special
 * case included). */
uint16_t dnssec_keytag(const uint8_t *dnskey, size_t len);

/*
 * Build DS RDATA for a DNSKEY (RFC 4034 §5.1.4): key tag, algorithm, digest
 * type and digest of canonical owner || DNSKEY RDATA. out must hold
 * 4 + 32 bytes; *outlen receives the length.
 * Returns 0, DDNS_EUNSUPPORTED (digest type), DDNS_EMALFORMED (short DNSKEY).
 */
int dnssec_ds_make(const struct dns_name *owner, const uint8_t *dnskey,
		   size_t dnskey_len, uint8_t digest_type, uint8_t *out,
		   size_t cap, size_t *outlen) DDNS_WUR;
/*
 * Does DS RDATA match this DNSKEY? 0 when tag, algorithm and digest match;
 * DDNS_EBADDS when they do not; DDNS_EUNSUPPORTED for an unknown digest type;
 * DDNS_EMALFORMED for short RDATA.
 */
int dnssec_ds_match(const struct dns_name *owner, const uint8_t *dnskey,
		    size_t dnskey_len, const uint8_t *ds, size_t ds_len) DDNS_WUR;

/* --- Keys ----------------------------------------------------------------- */

/* A DNSKEY: its owner, its RDATA, and when known its private half. */
struct dnssec_key;

/*
 * Key from DNSKEY RDATA (public only). Returns 0 with *out set (free with
 * dnssec_key_free), DDNS_EMALFORMED for a bad key, DDNS_EUNSUPPORTED for an
 * algorithm we cannot verify, -ENOMEM.
 */
int dnssec_key_from_dnskey(const struct dns_name *owner, const uint8_t *rdata,
			   size_t len, struct dnssec_key **out) DDNS_WUR;
/*
 * Fresh key pair. alg 13 or 8 (bits: RSA modulus size, 0 for 2048; ignored for
 * 13); flags 256 or 257. Returns 0, DDNS_EUNSUPPORTED, -ENOMEM, -EIO (no
 * entropy).
 */
int dnssec_key_generate(const struct dns_name *owner, uint8_t alg,
			uint16_t flags, unsigned bits,
			struct dnssec_key **out) DDNS_WUR;
/*
 * Attach a private key to a public one. For alg 13, priv is the 32-byte scalar
 * (fields[0]). For alg 8, fields are the raw big-endian integers in BIND's
 * order: modulus, public exponent, private exponent, prime1, prime2 (the CRT
 * values are recomputed). The private key must match the public one.
 * Returns 0, DDNS_EMALFORMED (mismatch or bad numbers), DDNS_EUNSUPPORTED.
 */
struct dnssec_bin {
	const uint8_t *p;
	size_t len;
};
int dnssec_key_set_private(struct dnssec_key *k, const struct dnssec_bin *f,
			   size_t nf) DDNS_WUR;
/*
 * Export the private fields (the inverse of set_private, plus for RSA
 * exponent1, exponent2 and coefficient: 8 fields). Each out[i].p is malloc'd;
 * free them with dnssec_bin_free. Returns the number of fields, or
 * DDNS_ENOKEY when the key has no private half, -ENOMEM.
 */
int dnssec_key_get_private(const struct dnssec_key *k, struct dnssec_bin *out,
			   size_t max) DDNS_WUR;
void dnssec_bin_free(struct dnssec_bin *b, size_t n);
void dnssec_key_free(struct dnssec_key *k);
/* Algorithm 13 keys verify and sign through OpenSSL's libcrypto when the
 * build has it (dns/p256.h). only=true makes k use mbedTLS alone: for the
 * tests that check both paths agree and the benchmark that compares them.
 * dnssec_key_uses_libcrypto: which path k takes now. */
void dnssec_key_use_mbedtls(struct dnssec_key *k, bool only);
/* Another owner of k (returned): each dnssec_key_free drops one owner, the
 * last one frees. */
struct dnssec_key *dnssec_key_ref(struct dnssec_key *k);

/*
 * A bounded cache of parsed public keys, DNSKEY RDATA (and owner) -> key,
 * least recently used out first. Parsing a key (curve point checks, the
 * libcrypto twin's setup) costs as much as verifying with it, and a node
 * verifies most signatures with a few zone keys. dnssec_keycache_get gives
 * a reference the caller frees with dnssec_key_free, as from
 * dnssec_key_from_dnskey (same errors; a malformed key is not cached). Keys
 * from the cache are shared: only verify with them. With kc NULL, both
 * functions below work uncached (dnssec_key_from_dnskey,
 * dnssec_verify_rrsig).
 */
struct dnssec_keycache;
struct dnssec_keycache *dnssec_keycache_new(size_t max);
void dnssec_keycache_free(struct dnssec_keycache *kc);
int dnssec_keycache_get(struct dnssec_keycache *kc, const struct dns_name *owner,
			const uint8_t *rdata, size_t len, struct dnssec_key **out);
void dnssec_keycache_stats(const struct dnssec_keycache *kc, uint64_t *hits, uint64_t *misses,
			   size_t *entries);
/*
 * dnssec_verify_rrsig that remembers, in kc, the signatures that verified
 * (four per key kc holds, least recently used out first): a block checked
 * twice, an NSEC carried by many denial blocks, costs one verification.
 * Every other check (names, key tag, algorithm, the validity window at now)
 * runs each time; a signature that failed is never remembered. The entry is
 * keyed by the digest of the signed data, the signature and the key.
 */
int dnssec_keycache_verify(struct dnssec_keycache *kc, const struct dnssec_key *key,
			   const struct dns_rr *rrs, size_t n, const struct dns_rr *sigrr,
			   uint32_t now);
/* Signatures answered from kc, verified by arithmetic through kc, kept. */
void dnssec_keycache_sig_stats(const struct dnssec_keycache *kc, uint64_t *hits,
			       uint64_t *computed, size_t *entries);
bool dnssec_key_uses_libcrypto(const struct dnssec_key *k);

uint16_t dnssec_key_tag(const struct dnssec_key *k);
uint8_t dnssec_key_alg(const struct dnssec_key *k);
uint16_t dnssec_key_flags(const struct dnssec_key *k);
bool dnssec_key_has_private(const struct dnssec_key *k);
/* Borrowed; valid as long as the key. */
const struct dns_name *dnssec_key_owner(const struct dnssec_key *k);
const uint8_t *dnssec_key_rdata(const struct dnssec_key *k, size_t *len);

/* --- RRSIG ---------------------------------------------------------------- */

/* The fields of RRSIG RDATA (RFC 4034 §3.1). sig points into the RDATA. */
struct dnssec_rrsig {
	uint16_t type_covered;
	uint8_t alg;
	uint8_t labels;
	uint32_t orig_ttl;
	uint32_t expiration;
	uint32_t inception;
	uint16_t key_tag;
	struct dns_name signer;
	const uint8_t *sig;
	size_t sig_len;
};

/* Parse RRSIG RDATA. 0 or DDNS_EMALFORMED. */
int dnssec_rrsig_parse(const uint8_t *rdata, size_t len,
		       struct dnssec_rrsig *out) DDNS_WUR;

/*
 * Serial-arithmetic validity (RFC 4034 §3.1.5): 0 when inception <= now <=
 * expiration, DDNS_EEXPIRED after, DDNS_ENOTYET before.
 */
int dnssec_check_window(uint32_t inception, uint32_t expiration,
			uint32_t now) DDNS_WUR;

/*
 * Parse a signature time as tools take it: "YYYYMMDDHHMMSS" (UTC), seconds
 * since the epoch, or relative to now: "now", "now+N", "+N", "now-N", "-N"
 * (N seconds). Returns 0 or DDNS_EMALFORMED.
 */
int dnssec_time_parse(const char *s, uint32_t now, uint32_t *out) DDNS_WUR;

/*
 * The data an RRSIG covers (RFC 4034 §3.1.8.1): RRSIG RDATA without the
 * signature (signer lowercased) followed by the RRset in canonical form and
 * order, duplicates removed, owner replaced by the wildcard when the RRSIG
 * labels field says so (RFC 4035 §5.3.2), TTL set to the original TTL.
 * rrs[0..n-1] must share owner, type and class. rrsig_hdr is the 18-byte
 * fixed part plus the signer name. Appends to w. 0, DDNS_EMALFORMED, -ENOMEM.
 */
int dnssec_signed_data(const uint8_t *rrsig_hdr, size_t hdr_len,
		       const struct dns_rr *rrs, size_t n,
		       struct ddns_wbuf *w) DDNS_WUR;

/*
 * Sign an RRset (rrs[0..n-1], one owner, type and class) with a private key:
 * appends one RRSIG record to out (owner, class and TTL of the RRset, signer =
 * key owner, labels from the owner, '*' not counted). The key owner must be
 * the owner or an ancestor of it.
 * Returns 0, DDNS_ENOKEY (no private half), DDNS_EOUTOFZONE, DDNS_EMALFORMED,
 * -ENOMEM.
 */
int dnssec_sign_rrset(struct dnssec_key *key, const struct dns_rr *rrs,
		      size_t n, uint32_t inception, uint32_t expiration,
		      struct dns_rrlist *out) DDNS_WUR;

/*
 * Verify one RRSIG (full record, type RRSIG) over rrs[0..n-1] with key at time
 * now. Checks, in order: RRSIG shape and that it covers this RRset's type,
 * owner and class (DDNS_EMALFORMED), signer owns the key and the owner is in
 * the signer's zone (DDNS_EOUTOFZONE), key tag/algorithm match and the key is
 * a zone key (DDNS_ENOKEY), validity window (DDNS_EEXPIRED, DDNS_ENOTYET),
 * signature (DDNS_EBOGUS). Returns 0 when all pass; DDNS_EUNSUPPORTED for
 * unknown algorithms.
 */
int dnssec_verify_rrsig(const struct dnssec_key *key, const struct dns_rr *rrs,
			size_t n, const struct dns_rr *rrsig,
			uint32_t now) DDNS_WUR;

/* --- Zones: order, NSEC chain, signing (dns/nsec.c) ---------------------------------------------------- */

/*
 * Prepare a zone for signing in place: sort the records in canonical order
 * (owner, then type), drop exact duplicates, and, for every authoritative
 * name (the apex, names below it that are not below a zone cut; delegation
 * points themselves included), append one NSEC record whose next name is the
 * next authoritative name in canonical order (wrapping to the apex) and whose
 * bit map lists the types at that name plus RRSIG and NSEC. Records outside
 * the apex are refused. ttl is the NSEC TTL (RFC 4034 §4: the SOA minimum).
 * Returns 0, DDNS_EOUTOFZONE, -ENOMEM.
 */
int dnssec_nsec_chain(struct dns_rrlist *zone, const struct dns_name *apex,
		      uint32_t ttl) DDNS_WUR;

/* Sort records: owner in canonical order (RFC 4034 §6.1), then type, class
 * and canonical RDATA (§6.3). */
void dnssec_rr_sort(struct dns_rr *rr, size_t n);

/*
 * Is this name authoritative data of the zone at apex, given the zone's
 * records sorted by dnssec_rr_sort? Sets *delegation when the name carries NS
 * and is not the apex (only DS and NSEC are signed there). False for glue and
 * anything below a zone cut or outside the apex.
 */
bool dnssec_name_authoritative(const struct dns_rr *sorted, size_t n,
			       const struct dns_name *apex,
			       const struct dns_name *name, bool *delegation);

/*
 * Sign a zone: records in zone (any order; NSEC chain already added) are
 * sorted, and every authoritative RRset is signed by each key that applies:
 * the DNSKEY RRset by every key, other RRsets by the ZSKs (flags without SEP),
 * or by every key when there is no ZSK. Existing RRSIGs are dropped first.
 * RRSIGs are appended to zone. Returns 0 or the first error from
 * dnssec_sign_rrset; *nsigs receives the count made.
 */
int dnssec_zone_sign(struct dns_rrlist *zone, const struct dns_name *apex,
		     struct dnssec_key *const *keys, size_t nkeys,
		     uint32_t inception, uint32_t expiration,
		     size_t *nsigs) DDNS_WUR;

#endif
