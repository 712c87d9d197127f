/*
 * rdata.h - per-type RDATA codecs: presentation <-> wire, canonical form,
 * and type/class mnemonics.
 *
 * Known types: A, AAAA, NS, CNAME, SOA, MX, TXT, SRV, PTR, CAA, DNSKEY,
 * RRSIG, DS, NSEC. Every other type is handled as opaque data in the RFC 3597
 * form "\# <len> <hex>" (and the known ones accept that form as input too).
 * Stored RDATA (struct dns_rr.rdata) is always uncompressed wire form with the
 * names' original case; it is validated whenever it enters through these
 * functions, so a holder may walk it without further checks.
 *
 * Not here: owner/TTL/class parsing and $-directives (dns/zonefile.h),
 * messages (dns/msg.h). Depends on dns/name.h and common/.
 */
#ifndef DDNS_DNS_RDATA_H
#define DDNS_DNS_RDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "dns/name.h"
#include "dns/rr.h"

/* Longest type or class mnemonic ("TYPE65535", "CLASS65535") plus NUL. */
#define DNS_MNEMONIC_MAX 16

/*
 * Type mnemonic <-> number. Accepts every known mnemonic (case-insensitive)
 * and "TYPEnnn". Returns 0 or DDNS_EMALFORMED.
 */
int dns_type_from_text(const char *s, size_t len, uint16_t *type) DDNS_WUR;
/* Mnemonic for type, or "TYPEnnn" written into buf; returns buf or a static. */
const char *dns_type_to_str(uint16_t type, char buf[DNS_MNEMONIC_MAX]);

/* Class mnemonic <-> number: IN, CH, HS, NONE, ANY, "CLASSnnn". */
int dns_class_from_text(const char *s, size_t len, uint16_t *rclass) DDNS_WUR;
const char *dns_class_to_str(uint16_t rclass, char buf[DNS_MNEMONIC_MAX]);

/*
 * One token of presentation-form RDATA, as the zone-file lexer produces it:
 * the raw characters (escapes NOT yet resolved, so "\." stays two octets),
 * and whether it was a quoted string (quotes removed). Borrowed.
 */
struct dns_token {
	const char *s;
	size_t len;
	bool quoted;
};

/*
 * Parse the RDATA of `type` from its presentation tokens; appends the
 * uncompressed wire RDATA to out. origin completes relative names inside
 * the RDATA (may be NULL: then they are an error).
 * Returns 0; DDNS_EMALFORMED (wrong token count, bad number, bad base64/hex,
 * bad name, ...); DDNS_ETOOBIG (RDATA > 65535 octets); -ENOMEM.
 */
int dns_rdata_from_tokens(uint16_t type, const struct dns_token *tok,
			  size_t ntok, const struct dns_name *origin,
			  struct ddns_wbuf *out) DDNS_WUR;

/*
 * Convenience: split a one-line NUL-terminated string into tokens (quotes,
 * escapes; no parentheses or comments) and call dns_rdata_from_tokens().
 */
int dns_rdata_from_str(uint16_t type, const char *text,
		       const struct dns_name *origin,
		       struct ddns_wbuf *out) DDNS_WUR;

/*
 * Append the presentation form of stored RDATA to w (no newline, no NUL).
 * Names are written absolute. Known types use their own format; unknown
 * types "\# len hex". Returns 0; DDNS_EMALFORMED (rdata not valid for type);
 * -ENOMEM.
 */
int dns_rdata_to_text(uint16_t type, const uint8_t *rdata, size_t rdlen,
		      struct ddns_wbuf *w) DDNS_WUR;

/*
 * Read RDATA of `type` from a message: pkt/pktlen is the whole message, the
 * RDATA is pkt[off .. off+rdlen). Names are decompressed (pointers accepted
 * for NS, CNAME, SOA, PTR, MX, SRV per RFC 3597 §4; rejected in RRSIG and
 * NSEC, RFC 4034). Appends uncompressed RDATA to out.
 * Returns 0; DDNS_EMALFORMED (structure does not fit rdlen, bad name,
 * rdlen beyond pkt); DDNS_ELOOP; DDNS_ETOOBIG (decompressed RDATA > 65535).
 */
int dns_rdata_from_wire(uint16_t type, const uint8_t *pkt, size_t pktlen,
			size_t off, uint16_t rdlen,
			struct ddns_wbuf *out) DDNS_WUR;

/*
 * Check stored (uncompressed) RDATA for `type`. Returns 0 or DDNS_EMALFORMED.
 */
int dns_rdata_check(uint16_t type, const uint8_t *rdata, size_t rdlen) DDNS_WUR;

/*
 * Write stored RDATA into a message being built (w holds the message from
 * offset 0; the caller writes RDLENGTH). With ct non-NULL, names in NS,
 * CNAME, SOA, MX and PTR RDATA are compressed (RFC 3597 §4); every other
 * name is written uncompressed. Returns 0 or DDNS_ETOOBIG.
 */
int dns_rdata_to_wire(uint16_t type, const uint8_t *rdata, size_t rdlen,
		      struct ddns_wbuf *w, struct dns_ctable *ct) DDNS_WUR;

/*
 * True for the types whose RDATA names are lowercased in canonical form
 * (RFC 4034 §6.2 as amended by RFC 6840 §5.1: NSEC's next name is not).
 */
bool dns_type_has_canon_names(uint16_t type);

/*
 * Lowercase the embedded names of stored RDATA in place (RFC 4034 §6.2).
 * Returns 0 or DDNS_EMALFORMED.
 */
int dns_rdata_canonicalize(uint16_t type, uint8_t *rdata, size_t rdlen) DDNS_WUR;

/*
 * Compare two RDATA of one type in canonical form as left-justified unsigned
 * octet sequences (RFC 4034 §6.3). Returns <0, 0, >0. Does not modify input.
 */
int dns_rdata_canon_cmp(uint16_t type, const uint8_t *a, size_t alen,
			const uint8_t *b, size_t blen);

/*
 * Type bitmap helpers for NSEC (RFC 4034 §4.1.2). Encode a list of types
 * (any order, duplicates ignored) into windowed bitmap form, appended to
 * out. Returns 0 or -ENOMEM.
 */
int dns_typebitmap_encode(const uint16_t *types, size_t n,
			  struct ddns_wbuf *out) DDNS_WUR;
/* True when the bitmap (already validated) has type set. */
bool dns_typebitmap_has(const uint8_t *bm, size_t len, uint16_t type);

/* Base64 (RFC 4648) and hex codecs used by the presentation forms. */
/* Appends decoded octets of s[0..len) (whitespace ignored) to out. */
int dns_base64_decode(const char *s, size_t len, struct ddns_wbuf *out) DDNS_WUR;
int dns_base64_encode(const uint8_t *p, size_t len, struct ddns_wbuf *out) DDNS_WUR;
int dns_hex_decode(const char *s, size_t len, struct ddns_wbuf *out) DDNS_WUR;

/*
 * RRSIG time fields: "YYYYMMDDHHMMSS" (UTC) or a decimal integer of seconds
 * since the epoch (RFC 4034 §3.2). Returns 0 or DDNS_EMALFORMED.
 */
int dns_time_from_text(const char *s, size_t len, uint32_t *t) DDNS_WUR;
/* Write "YYYYMMDDHHMMSS" for t into buf (15 bytes incl. NUL); returns buf. */
char *dns_time_to_str(uint32_t t, char buf[15]);

/*
 * A TTL or SOA timer: a decimal number of seconds, or number+unit groups
 * (w, d, h, m, s; case-insensitive) such as "1h30m". Returns 0 or
 * DDNS_EMALFORMED (also when the value exceeds 2^32-1).
 */
int dns_ttl_from_text(const char *s, size_t len, uint32_t *ttl) DDNS_WUR;

#endif
