/*
 * name.h - DNS domain names: presentation <-> wire, compression, comparison.
 *
 * A struct dns_name (dns/rr.h) always holds a valid, uncompressed, absolute
 * name in wire form (labels <= 63 octets, total <= 255 octets including the
 * root label). Every function that fills one validates it, so code that is
 * handed a struct dns_name may walk its labels without further checks.
 *
 * Presentation form follows RFC 1035 §5.1: "\." and "\DDD" escapes, a final
 * "." for absolute names, relative names completed with an origin, "@" for
 * the origin itself. Wire input follows compression pointers (RFC 1035 §4.1.4)
 * with bounds: only backward pointers, a bounded number of jumps, and the
 * 63/255 limits, so a hostile packet is rejected, never over-read.
 *
 * Not here: RDATA (dns/rdata.h), messages (dns/msg.h). Depends on common/.
 */
#ifndef DDNS_DNS_NAME_H
#define DDNS_DNS_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "dns/rr.h"

/* Longest presentation form of a name, "\DDD" for every octet, plus NUL. */
#define DNS_NAME_STR_MAX (4 * DNS_NAME_MAX + 2)

/* Set n to the root name ".". */
void dns_name_set_root(struct dns_name *n);

/* Copy src into dst (either may alias). */
void dns_name_copy(struct dns_name *dst, const struct dns_name *src);

/*
 * Parse a presentation-form name from s[0..len).
 * origin: completes relative names (and "@"); may be NULL, in which case a
 * relative name is an error.
 * Returns 0; DDNS_EMALFORMED (bad escape, empty label, label > 63, name > 255,
 * relative name without origin).
 */
int dns_name_from_text(struct dns_name *n, const char *s, size_t len,
		       const struct dns_name *origin) DDNS_WUR;

/* Same as dns_name_from_text() for a NUL-terminated string. */
int dns_name_from_str(struct dns_name *n, const char *s,
		      const struct dns_name *origin) DDNS_WUR;

/*
 * Write the absolute presentation form ("www.example.", "." for the root)
 * into buf (size bytes, NUL-terminated). Octets outside [A-Za-z0-9-_*] and
 * other printable characters are escaped: '.', '\\', '"', '(', ')', ';', '@',
 * '$' and space as "\c"; non-printables as "\DDD".
 * Returns the string length (>= 1), or DDNS_ETOOBIG if buf is too small
 * (DNS_NAME_STR_MAX always suffices).
 */
int dns_name_to_str(const struct dns_name *n, char *buf, size_t size) DDNS_WUR;

/* Append the presentation form (no NUL) to w. Returns 0 or -ENOMEM. */
int dns_name_to_text(const struct dns_name *n, struct ddns_wbuf *w) DDNS_WUR;

/*
 * Read a possibly compressed name from a packet.
 * pkt/pktlen: the whole message (pointers are offsets into it).
 * *off: where the name starts; on success advanced past the name as it
 * appears in place (past the first pointer, if any).
 * allow_ptr: false rejects compression pointers (names in RDATA that must
 * not be compressed, RFC 4034 §3.1.7, and stored uncompressed RDATA).
 * Returns 0; DDNS_EMALFORMED (truncated, label > 63, name > 255, reserved
 * label type 0x40/0x80, pointer not strictly backwards, pointer where not
 * allowed); DDNS_ELOOP (more jumps than could ever be legitimate).
 */
int dns_name_from_wire(struct dns_name *n, const uint8_t *pkt, size_t pktlen,
		       size_t *off, bool allow_ptr) DDNS_WUR;

/*
 * Compression table for writing one message: remembers where names (and
 * their suffixes) were written so later names can point at them.
 * Zero-initialise (or dns_ctable_init()) per message; it holds no heap
 * memory. When full, names are still written, just less compressed.
 */
#define DNS_CTABLE_MAX 1024
struct dns_ctable {
	size_t n;
	struct {
		uint32_t hash; /* hash of the lowercased suffix */
		uint16_t off;  /* message offset where that suffix starts */
	} e[DNS_CTABLE_MAX];
};

void dns_ctable_init(struct dns_ctable *ct);

/*
 * Append n to w (w holds the message from offset 0). With ct non-NULL the
 * longest suffix already in the message is replaced by a pointer and the new
 * suffixes are remembered; with ct NULL the name is written uncompressed.
 * Returns 0 or DDNS_ETOOBIG (w full or over its limit; w->err is then set).
 */
int dns_name_to_wire(const struct dns_name *n, struct ddns_wbuf *w,
		     struct dns_ctable *ct) DDNS_WUR;

/* Case-insensitive (ASCII) equality, RFC 4343. */
bool dns_name_equal(const struct dns_name *a, const struct dns_name *b);

/*
 * Canonical DNS name order, RFC 4034 §6.1: compare label by label from the
 * root, each label as lowercased octet strings. Returns <0, 0 or >0.
 */
int dns_name_canon_cmp(const struct dns_name *a, const struct dns_name *b);

/* Lowercase n in place (canonical form, RFC 4034 §6.2). */
void dns_name_to_lower(struct dns_name *n);

/* Number of labels, not counting the root ("www.example." is 2, "." is 0). */
unsigned dns_name_label_count(const struct dns_name *n);

/*
 * The RRSIG Labels field for owner n (RFC 4034 §3.1.3): the label count
 * without the root and without a leading "*" label.
 */
unsigned dns_name_rrsig_labels(const struct dns_name *n);

/* True when n's first label is "*". */
bool dns_name_is_wildcard(const struct dns_name *n);

/* True when n equals parent or lies below it (case-insensitive). */
bool dns_name_is_subdomain(const struct dns_name *n,
			   const struct dns_name *parent);

/*
 * The name with the first label removed ("www.example." -> "example.").
 * out may alias n. Returns 0 or DDNS_ENOTFOUND for the root.
 */
int dns_name_parent(const struct dns_name *n, struct dns_name *out) DDNS_WUR;

/*
 * The suffix of n made of its last `labels` labels (RRSIG wildcard
 * reconstruction, RFC 4035 §5.3.2). Returns 0 or -EINVAL if n has fewer.
 */
int dns_name_suffix(const struct dns_name *n, unsigned labels,
		    struct dns_name *out) DDNS_WUR;

/*
 * Concatenate a relative prefix (labels only, wire form without root,
 * plen octets) and an absolute name. Returns 0 or DDNS_ETOOBIG.
 */
int dns_name_concat(struct dns_name *out, const uint8_t *prefix, size_t plen,
		    const struct dns_name *suffix) DDNS_WUR;

#endif
