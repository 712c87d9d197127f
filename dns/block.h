/*
 * block.h - DDNS blocks: the value the DHT stores for one DNS RRset.
 *
 * A block is one signed RRset (the "data set": records of one owner, type
 * and class, with the RRSIGs covering it) and, optionally, "chain sets":
 * DNSKEY and DS RRsets, each with its own RRSIGs, that link the data set's
 * signer towards the root, so a validator need not look them up (the
 * paper's trick that saves n key lookups). The block is stored under
 *   key = SHA-1(lowercased owner name in wire form || type, 16-bit big-endian)
 * so anybody who knows a name and a type knows where to find it.
 *
 * Encoding (docs/PROTOCOL.md, "DDNS blocks"), all integers big-endian:
 *   magic 0xDB (1) | version 1 (1) | nchain (1)
 *   then 1 + nchain sets, the data set first:
 *     owner (uncompressed wire name) | type (2) | class (2) | ttl (4)
 *     nrr (2, >= 1) | nrr x { rdlen (2) | rdata }
 *     nsig (1)      | nsig x { rdlen (2) | RRSIG rdata }
 * RRSIGs carry no TTL of their own: RFC 4034 §3 requires it to equal the
 * covered RRset's. The decoder reads through common/buf.h and rejects every
 * malformed input with DDNS_EMALFORMED.
 *
 * Not here: validation of signatures (dns/validate.h) and the DHT hook that
 * does it for blocks (dns/dhtval.h). Depends on dns/ wire and DNSSEC
 * helpers and common/.
 */
#ifndef DDNS_DNS_BLOCK_H
#define DDNS_DNS_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/hash.h"
#include "dns/rr.h"

#define DNS_BLOCK_MAGIC 0xDB
#define DNS_BLOCK_VERSION 1
#define DNS_BLOCK_KEY_LEN DDNS_ID_LEN
/* Chain sets one block may carry (a DNSKEY and a DS per zone level). */
#define DNS_BLOCK_CHAIN_MAX 64
/* RRSIGs per set (one per signing key; a rollover uses two or three). */
#define DNS_BLOCK_SIG_MAX 16
/* Largest encoded block (the DHT's own limit, dht/dht.h DHT_MAX_BLOCK). */
#define DNS_BLOCK_MAX (64 * 1024)

/* One RRset and its signatures. Both lists own their records. */
struct dns_block_set {
	struct dns_rrlist rrs;  /* >= 1 record, one owner/type/class */
	struct dns_rrlist sigs; /* RRSIGs covering rrs' type at rrs' owner */
};

/* A decoded (or to-be-encoded) block. */
struct dns_block {
	struct dns_block_set data;
	struct dns_block_set *chain; /* DNSKEY and DS sets; owned array */
	size_t nchain;
	/* A denial block (version 2, below): data is its first NSEC set and
	 * more[0..nmore) the others, in canonical order of their owners. */
	bool denial;
	char denial_class;       /* '0'-'9', 'a'-'z' or '_' */
	struct dns_name zone;    /* the zone apex */
	struct dns_block_set *more;
	size_t nmore;
};

/*
 * Denial blocks (docs/PROTOCOL.md, "Denial blocks"): the NSEC chain of a
 * zone, cut into DNS_DENIAL_CLASSES blocks by the first octet of the label
 * just below the apex of the name asked for (a digit or a letter, case
 * folded, is its own class; any other octet is class '_'). The block of a
 * class holds every NSEC set whose owner falls in the class, the NSEC that
 * precedes each octet of the class in canonical order, and the NSEC that
 * matches or covers "*.apex", so it proves on its own that any name of the
 * class does not exist (RFC 4035 §5.4: the covering NSEC and the one
 * denying the wildcard at the closest encloser), and a gateway that has it
 * answers every other missing name of the class without a lookup
 * (RFC 8198). It is stored like an RRset of type 0 (reserved, never a real
 * type) at the locator "<class>.<apex>":
 *   key = dns_block_key("<class>.<apex>", 0)
 * Encoding: magic | version 2 | nchain (1) | class (1) | apex (wire name)
 *   | nmore (2) | 1 + nmore NSEC sets | nchain chain sets, sets as above.
 */
#define DNS_BLOCK_DENIAL_VERSION 2
#define DNS_DENIAL_CLASSES 37
#define DNS_DENIAL_TYPE 0
/* NSEC sets one denial block may hold. */
#define DNS_DENIAL_SETS_MAX 4096

/* The class of name in the zone at apex, or 0 when name is not strictly
 * below apex. */
char dns_denial_class(const struct dns_name *apex, const struct dns_name *name);

/*
 * Does the denial block b prove every name of its class (what the builder
 * puts in)? For each octet of the class an NSEC spans the point where names
 * starting with it begin, the chain never leaves the block while it stays
 * in the class, and an NSEC matches or covers "*.apex". A trimmed block, the
 * proof a hostile node might serve instead, fails.
 */
bool dns_denial_complete(const struct dns_block *b);

/* The locator "<cls>.<apex>" of a class. Returns 0 or DDNS_ETOOBIG. */
int dns_denial_locator(const struct dns_name *apex, char cls, struct dns_name *out) DDNS_WUR;

/*
 * In nsec[0..n) (NSEC records of one zone, one per owner, any order): the
 * record whose owner is name (*match true) or that covers it, owner < name
 * < next in canonical order, the last one wrapping to the apex (*match
 * false). NULL when none does.
 */
const struct dns_rr *dns_nsec_find(const struct dns_rr *nsec, size_t n,
				   const struct dns_name *name, bool *match);

/*
 * The closest encloser (RFC 4592 §3.3.1) of name, which the NSEC cover
 * covers: the longer of the names name shares with cover's owner and with
 * its next name. Returns 0 or DDNS_EMALFORMED (cover's RDATA).
 */
int dns_nsec_closest_encloser(const struct dns_rr *cover, const struct dns_name *name,
			      struct dns_name *ce) DDNS_WUR;

/* Empty block (no allocations). */
void dns_block_init(struct dns_block *b);
/* Free everything b owns and re-initialise it. */
void dns_block_clear(struct dns_block *b);

/* Owner and type of a set (its first record); the set must be non-empty. */
static inline const struct dns_name *dns_block_set_owner(const struct dns_block_set *s)
{
	return &s->rrs.rr[0].owner;
}
static inline uint16_t dns_block_set_type(const struct dns_block_set *s)
{
	return s->rrs.rr[0].type;
}

/* The DHT key of <owner, type>: SHA-1(lowercased owner wire || type). */
void dns_block_key(const struct dns_name *owner, uint16_t type,
		   uint8_t key[DNS_BLOCK_KEY_LEN]);

/*
 * Where a decoded block is stored: <owner, type> of its data set, or for a
 * denial block its locator and DNS_DENIAL_TYPE; key = dns_block_key of
 * those. Returns 0 or DDNS_EMALFORMED (a locator longer than a name).
 */
int dns_block_locate(const struct dns_block *b, struct dns_name *owner, uint16_t *type,
		     uint8_t key[DNS_BLOCK_KEY_LEN]) DDNS_WUR;

/*
 * Copy the RRset <owner, type> of src (class of its first match; owner
 * compared case-insensitively) and the RRSIGs in src covering it into s
 * (which must be empty or initialised with zeroes).
 * Returns 0; DDNS_ENOTFOUND (no such RRset in src); -ENOMEM.
 */
int dns_block_set_from_list(struct dns_block_set *s, const struct dns_rrlist *src,
			    const struct dns_name *owner, uint16_t type) DDNS_WUR;

/* Free the records of s and leave it empty. */
void dns_block_set_clear(struct dns_block_set *s);

/*
 * Set b's data set to <owner, type> from src (see dns_block_set_from_list).
 * The type must not be RRSIG. Returns 0; DDNS_ENOTFOUND; -EINVAL (RRSIG,
 * or b already has a data set); -ENOMEM.
 */
int dns_block_set_data(struct dns_block *b, const struct dns_rrlist *src,
		       const struct dns_name *owner, uint16_t type) DDNS_WUR;

/*
 * Append the chain set <owner, type> (DNSKEY or DS) from src to b.
 * Returns 0; DDNS_ENOTFOUND (not in src); -EEXIST (b already has that set,
 * as data or chain); -EINVAL (another type); DDNS_ETOOBIG (more than
 * DNS_BLOCK_CHAIN_MAX chain sets); -ENOMEM.
 */
int dns_block_add_chain(struct dns_block *b, const struct dns_rrlist *src,
			const struct dns_name *owner, uint16_t type) DDNS_WUR;

/*
 * Encode b, appending to out. Returns 0; DDNS_EMALFORMED (b breaks a rule
 * the decoder enforces: empty data set, records of several owners, types or
 * classes in one set, chain set not DNSKEY/DS or of another class, RRSIG not
 * covering its set, duplicate set, too many RRSIGs or chain sets, invalid
 * RDATA); DDNS_ETOOBIG (over DNS_BLOCK_MAX); -ENOMEM.
 */
int dns_block_encode(const struct dns_block *b, struct ddns_wbuf *out) DDNS_WUR;

/*
 * Decode p[0..len) into b (initialised; previous contents are freed). On
 * error b is left empty. Every record is checked (names, RDATA per type,
 * RRSIGs parse and cover their set), and every count against the data that
 * is actually there. RRSIGs get their set's TTL.
 * Returns 0; DDNS_EMALFORMED (wrong magic or version, truncation, count or
 * length beyond the data, bad name or RDATA, chain set of a type other than
 * DNSKEY/DS or another class, an RRSIG or OPT data set, duplicate set,
 * trailing bytes); -ENOMEM. A denial block (version 2) also: a class
 * other than those of dns_denial_class, a set other than NSEC among its
 * first 1 + nmore, an NSEC set outside the apex's zone, two with one owner.
 */
int dns_block_decode(struct dns_block *b, const uint8_t *p, size_t len) DDNS_WUR;

/* One encoded block ready to put. */
struct dns_block_out {
	uint8_t key[DNS_BLOCK_KEY_LEN];
	struct dns_name owner;
	uint16_t type;
	uint8_t *data; /* owned */
	size_t len;
};

struct dns_blocklist {
	struct dns_block_out *v;
	size_t n, cap;
};

void dns_blocklist_init(struct dns_blocklist *l);
void dns_blocklist_free(struct dns_blocklist *l);

/*
 * The blocks of a signed zone: one per signed RRset of zone (RRSIG sets
 * excluded; RRsets without any RRSIG, such as delegation NS and glue, are
 * skipped), appended to out in canonical order.
 * With carry_chain, each block also carries the DNSKEY RRset (and its
 * RRSIGs) of its signer when zone holds it, and every DNSKEY and DS RRset
 * (with RRSIGs) of `chain` (may be NULL): typically the parent's DS RRset
 * for this zone, and further up the parent's DNSKEY and DS links. A set is
 * never carried by its own block.
 * Returns 0; the errors of dns_block_encode; -ENOMEM. On error out may hold
 * the blocks made so far.
 */
int dns_block_build_zone(const struct dns_rrlist *zone, const struct dns_rrlist *chain,
			 bool carry_chain, struct dns_blocklist *out) DDNS_WUR;

/*
 * The denial blocks of a signed zone (its NSEC sets and their RRSIGs; the
 * apex is the owner of its SOA), one per class, appended to out with the
 * locator as owner and DNS_DENIAL_TYPE as type; chain sets as in
 * dns_block_build_zone. A zone without NSEC records adds nothing.
 * Returns 0; DDNS_ETOOBIG (a class's block is over DNS_BLOCK_MAX or holds
 * more than DNS_DENIAL_SETS_MAX sets: out is left as it was);
 * DDNS_EMALFORMED (no single SOA); -ENOMEM.
 */
int dns_block_build_denial(const struct dns_rrlist *zone, const struct dns_rrlist *chain,
			   bool carry_chain, struct dns_blocklist *out) DDNS_WUR;

#endif
