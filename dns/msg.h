/*
 * msg.h - DNS messages (RFC 1035 §4, EDNS0 RFC 6891): parse and build.
 *
 * A parsed message is a plain struct: header fields, the question(s), and the
 * three RR sections as owned struct dns_rrlist (dns/rr.h), with the OPT
 * pseudo-RR taken out of the additional section into struct dns_edns. Every
 * hostile input (pointer loops, forward pointers, labels > 63, names > 255,
 * truncated RDATA, RDLENGTH lies, counts larger than the packet) is rejected
 * with an error code and never over-read.
 *
 * Building goes through struct dns_msgw: name compression, a size limit
 * (512, the EDNS UDP size, or 65535 for TCP), room reserved for the OPT
 * record, and truncation: an RR that does not fit is left out; in the answer
 * and authority sections that sets TC and closes those sections (RFC 2181
 * §9), in the additional section it is simply omitted.
 *
 * Not here: record semantics, the gateway's answer logic. Depends on
 * dns/rdata.h, dns/name.h, common/.
 */
#ifndef DDNS_DNS_MSG_H
#define DDNS_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "dns/name.h"
#include "dns/rr.h"

#define DNS_HEADER_LEN 12
#define DNS_MSG_MAX 65535
#define DNS_UDP_MIN 512 /* RFC 1035 limit, and the floor for EDNS sizes */

/* Header flag bits as they sit in the 16-bit flags word. */
#define DNS_F_QR 0x8000
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_F_AD 0x0020
#define DNS_F_CD 0x0010
#define DNS_OPCODE(flags) (((flags) >> 11) & 0xf)
#define DNS_RCODE(flags) ((flags) & 0xf)

enum dns_rcode {
	DNS_R_NOERROR = 0, DNS_R_FORMERR = 1, DNS_R_SERVFAIL = 2,
	DNS_R_NXDOMAIN = 3, DNS_R_NOTIMP = 4, DNS_R_REFUSED = 5,
	DNS_R_BADVERS = 16 /* needs EDNS: extended rcode */
};

enum dns_section { DNS_S_ANSWER = 0, DNS_S_AUTHORITY = 1, DNS_S_ADDITIONAL = 2 };

#define DNS_EDNS_DO 0x8000 /* DNSSEC OK, in the OPT TTL's flag half */

/* EDNS0 (RFC 6891 §6.1.3). */
struct dns_edns {
	bool present;
	uint16_t udp_size;   /* requestor's payload size (OPT CLASS) */
	uint8_t ext_rcode;   /* upper 8 bits of the 12-bit rcode */
	uint8_t version;
	uint16_t flags;      /* DO and the Z bits */
	uint16_t optlen;     /* raw options (code, len, data)*: owned, may be NULL */
	uint8_t *opts;
};

/* One EDNS option inside struct dns_edns.opts, borrowed from it. */
struct dns_edns_opt {
	uint16_t code;
	uint16_t len;
	const uint8_t *data;
};

struct dns_question {
	struct dns_name qname;
	uint16_t qtype;
	uint16_t qclass;
};

struct dns_msg {
	uint16_t id;
	uint16_t flags;             /* QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode */
	size_t qdcount;             /* usually 0 or 1 */
	struct dns_question *qd;    /* owned array of qdcount */
	struct dns_rrlist sec[3];   /* indexed by enum dns_section; OPT removed */
	struct dns_edns edns;
};

/* Empty message (no allocations). */
void dns_msg_init(struct dns_msg *m);
/* Free everything m owns and re-initialise it; NULL is a no-op. */
void dns_msg_clear(struct dns_msg *m);

/*
 * Parse pkt[0..len) into m (which must be initialised; previous contents are
 * freed). On error m is left empty.
 * Returns 0; DDNS_EMALFORMED (short header, any count larger than the data,
 * bad name, RDLENGTH beyond the packet or not matching the RDATA structure,
 * more than one OPT or OPT outside the additional section or with a non-root
 * owner, trailing garbage); DDNS_ELOOP (compression loop); -ENOMEM.
 */
int dns_msg_parse(struct dns_msg *m, const uint8_t *pkt, size_t len) DDNS_WUR;

/* The full 12-bit rcode (header rcode plus EDNS extended rcode). */
unsigned dns_msg_rcode(const struct dns_msg *m);

/*
 * Iterate the options of e: *pos starts at 0; fills o and returns true while
 * there is one. Options were validated by dns_msg_parse().
 */
bool dns_edns_opt_next(const struct dns_edns *e, size_t *pos,
		       struct dns_edns_opt *o);

/*
 * Incremental message writer. The message lives in w (heap-grown up to
 * limit). Use: dns_msgw_init, dns_msgw_question (0..n), dns_msgw_rr per
 * section in order answer, authority, additional, optionally dns_msgw_edns
 * (may come at any time: room for the OPT record is reserved from then on),
 * dns_msgw_finish. Then w.p / w.len is the message; free with
 * dns_msgw_free.
 */
struct dns_msgw {
	struct ddns_wbuf w;
	struct dns_ctable ct;
	size_t limit;           /* max message size */
	size_t reserve;         /* octets kept free for the OPT record */
	uint16_t count[4];      /* QD, AN, NS, AR */
	int section;            /* current RR section, -1 before the first RR */
	bool tc;                /* something required was left out */
	bool closed;            /* answer/authority truncated: no more RRs there */
	struct dns_edns edns;   /* borrowed opts until finish */
	bool has_edns;
};

/*
 * Start a message with header id/flags and a size limit (12..65535; values
 * above 65535 are clamped). Returns 0 or -EINVAL (limit too small).
 */
int dns_msgw_init(struct dns_msgw *mw, uint16_t id, uint16_t flags,
		  size_t limit) DDNS_WUR;
/* Free the buffer. */
void dns_msgw_free(struct dns_msgw *mw);
/* Add a question. Returns 0; DDNS_ETOOBIG; -EINVAL after an RR was added. */
int dns_msgw_question(struct dns_msgw *mw, const struct dns_question *q) DDNS_WUR;
/*
 * Add an RR (compressing its owner and, where allowed, its RDATA names).
 * Returns 0 (added); DDNS_ETOOBIG (did not fit: in answer/authority TC is
 * now set and later RRs there are refused too; in additional just omitted);
 * -EINVAL (section out of order); DDNS_EMALFORMED (rdata invalid).
 */
int dns_msgw_rr(struct dns_msgw *mw, enum dns_section s,
		const struct dns_rr *rr) DDNS_WUR;
/*
 * Add an OPT record at finish. e->opts is borrowed until dns_msgw_finish.
 * Returns 0 or DDNS_ETOOBIG (cannot be reserved).
 */
int dns_msgw_edns(struct dns_msgw *mw, const struct dns_edns *e) DDNS_WUR;
/*
 * Write the OPT record and the counts (and TC when set). Returns the message
 * length (> 0) or a negative error.
 */
int dns_msgw_finish(struct dns_msgw *mw) DDNS_WUR;

/*
 * Convenience: build all of m (questions, sections, EDNS if present) into
 * out (initialised by the caller, e.g. ddns_wbuf_init(out, 0)), truncating at
 * limit as described above. Returns the length or a negative error;
 * *truncated (may be NULL) tells whether TC was set.
 */
int dns_msg_write(const struct dns_msg *m, size_t limit, struct ddns_wbuf *out,
		  bool *truncated) DDNS_WUR;

#endif
