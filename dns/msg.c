/*
 * msg.c - DNS message parsing and building (RFC 1035 §4.1, RFC 6891).
 *
 *                                 1  1  1  1  1  1
 *   0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |                      ID                       |
 * |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
 * |          QDCOUNT / ANCOUNT / NSCOUNT / ARCOUNT |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *
 * Parsing goes field by field through struct ddns_rbuf and the bounded name
 * reader, so every length in the packet is checked against what is really
 * there before anything is allocated for it.
 */
#include "dns/msg.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "dns/rdata.h"

void dns_msg_init(struct dns_msg *m)
{
	memset(m, 0, sizeof(*m));
	for (int s = 0; s < 3; s++)
		dns_rrlist_init(&m->sec[s]);
}

void dns_msg_clear(struct dns_msg *m)
{
	if (!m)
		return;
	free(m->qd);
	for (int s = 0; s < 3; s++)
		dns_rrlist_free(&m->sec[s]);
	free(m->edns.opts);
	dns_msg_init(m);
}

unsigned dns_msg_rcode(const struct dns_msg *m)
{
	return (unsigned)m->edns.ext_rcode << 4 | DNS_RCODE(m->flags);
}

bool dns_edns_opt_next(const struct dns_edns *e, size_t *pos,
		       struct dns_edns_opt *o)
{
	if (!e->opts || *pos + 4 > e->optlen)
		return false;
	const uint8_t *p = e->opts + *pos;
	uint16_t len = ddns_get_u16(p + 2);
	if (*pos + 4 + len > e->optlen)
		return false;
	o->code = ddns_get_u16(p);
	o->len = len;
	o->data = p + 4;
	*pos += 4 + (size_t)len;
	return true;
}

/* Options must tile the OPT RDATA exactly (RFC 6891 §6.1.2). */
static bool opts_valid(const uint8_t *p, size_t len)
{
	size_t i = 0;
	while (i < len) {
		if (len - i < 4)
			return false;
		size_t l = ddns_get_u16(p + i + 2);
		if (len - i - 4 < l)
			return false;
		i += 4 + l;
	}
	return true;
}

static int parse_opt(struct dns_msg *m, const struct dns_name *owner,
		     uint16_t rclass, uint32_t ttl, const uint8_t *rd,
		     uint16_t rdlen)
{
	if (m->edns.present || owner->len != 1 || !opts_valid(rd, rdlen))
		return DDNS_EMALFORMED;
	m->edns.present = true;
	m->edns.udp_size = rclass;
	m->edns.ext_rcode = (uint8_t)(ttl >> 24);
	m->edns.version = (uint8_t)(ttl >> 16);
	m->edns.flags = (uint16_t)ttl;
	m->edns.optlen = rdlen;
	if (rdlen) {
		m->edns.opts = malloc(rdlen);
		if (!m->edns.opts)
			return -ENOMEM;
		memcpy(m->edns.opts, rd, rdlen);
	}
	return 0;
}

int dns_msg_parse(struct dns_msg *m, const uint8_t *pkt, size_t len)
{
	struct ddns_rbuf r;
	int rc = 0;
	uint16_t cnt[4];
	struct ddns_wbuf rd;

	dns_msg_clear(m);
	ddns_wbuf_init(&rd, 65535);
	if (len > DNS_MSG_MAX) {
		rc = DDNS_EMALFORMED;
		goto out;
	}
	ddns_rbuf_init(&r, pkt, len);
	m->id = ddns_rbuf_u16(&r);
	m->flags = ddns_rbuf_u16(&r);
	for (int i = 0; i < 4; i++)
		cnt[i] = ddns_rbuf_u16(&r);
	if (r.err) {
		rc = DDNS_EMALFORMED;
		goto out;
	}
	/* A question takes >= 5 octets and an RR >= 11: counts that cannot
	 * fit are rejected before allocating anything for them. */
	size_t left = len - DNS_HEADER_LEN;
	if ((size_t)cnt[0] * 5 > left ||
	    ((size_t)cnt[1] + cnt[2] + cnt[3]) * 11 > left) {
		rc = DDNS_EMALFORMED;
		goto out;
	}
	if (cnt[0]) {
		m->qd = calloc(cnt[0], sizeof(*m->qd));
		if (!m->qd) {
			rc = -ENOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < cnt[0]; i++) {
		struct dns_question *q = &m->qd[i];
		size_t off = r.off;
		if ((rc = dns_name_from_wire(&q->qname, pkt, len, &off, true)))
			goto out;
		r.off = off;
		q->qtype = ddns_rbuf_u16(&r);
		q->qclass = ddns_rbuf_u16(&r);
		if (r.err) {
			rc = DDNS_EMALFORMED;
			goto out;
		}
		m->qdcount++;
	}
	for (int s = 0; s < 3; s++) {
		/* Reserve the arrays: the count was bounded by the length. */
		if (cnt[s + 1]) {
			m->sec[s].rr = malloc(cnt[s + 1] * sizeof(struct dns_rr));
			if (!m->sec[s].rr) {
				rc = -ENOMEM;
				goto out;
			}
			m->sec[s].cap = cnt[s + 1];
		}
		for (size_t i = 0; i < cnt[s + 1]; i++) {
			struct dns_name owner;
			size_t off = r.off;
			if ((rc = dns_name_from_wire(&owner, pkt, len, &off, true)))
				goto out;
			r.off = off;
			uint16_t type = ddns_rbuf_u16(&r);
			uint16_t rclass = ddns_rbuf_u16(&r);
			uint32_t ttl = ddns_rbuf_u32(&r);
			uint16_t rdlen = ddns_rbuf_u16(&r);
			size_t rdoff = r.off;
			if (!ddns_rbuf_take(&r, rdlen)) {
				rc = DDNS_EMALFORMED; /* RDLENGTH beyond packet */
				goto out;
			}
			if (type == DNS_T_OPT) {
				if (s != DNS_S_ADDITIONAL) {
					rc = DDNS_EMALFORMED;
					goto out;
				}
				if ((rc = parse_opt(m, &owner, rclass, ttl, pkt + rdoff, rdlen)))
					goto out;
				continue;
			}
			rd.len = 0;
			if ((rc = dns_rdata_from_wire(type, pkt, len, rdoff, rdlen, &rd)))
				goto out;
			if ((rc = dns_rrlist_add_parts(&m->sec[s], &owner, type, rclass,
						       ttl, rd.p, rd.len)))
				goto out;
		}
	}
	if (r.off != len)
		rc = DDNS_EMALFORMED; /* trailing garbage */
out:
	ddns_wbuf_free(&rd);
	if (rc)
		dns_msg_clear(m);
	return rc;
}

/* ---- building ---------------------------------------------------------- */

/* OPT RR: root (1) type class ttl rdlen (10) + options. */
static size_t opt_size(const struct dns_edns *e)
{
	return 11 + (size_t)e->optlen;
}

int dns_msgw_init(struct dns_msgw *mw, uint16_t id, uint16_t flags,
		  size_t limit)
{
	memset(mw, 0, sizeof(*mw));
	if (limit > DNS_MSG_MAX)
		limit = DNS_MSG_MAX;
	if (limit < DNS_HEADER_LEN)
		return -EINVAL;
	mw->limit = limit;
	mw->section = -1;
	ddns_wbuf_init(&mw->w, limit);
	dns_ctable_init(&mw->ct);
	ddns_wbuf_u16(&mw->w, id);
	ddns_wbuf_u16(&mw->w, flags);
	for (int i = 0; i < 4; i++)
		ddns_wbuf_u16(&mw->w, 0);
	return mw->w.err ? -ENOMEM : 0;
}

void dns_msgw_free(struct dns_msgw *mw)
{
	ddns_wbuf_free(&mw->w);
}

/*
 * Run a write step against the limit minus the OPT reserve; on failure roll
 * the buffer (and compression table) back to where the step began.
 */
struct mark {
	size_t len;
	size_t ctn;
};

static void mark_set(struct dns_msgw *mw, struct mark *mk)
{
	mk->len = mw->w.len;
	mk->ctn = mw->ct.n;
	mw->w.max = mw->limit - mw->reserve;
}

static void mark_rollback(struct dns_msgw *mw, const struct mark *mk)
{
	mw->w.len = mk->len;
	mw->w.err = false;
	mw->ct.n = mk->ctn; /* entries past the mark point into dropped data */
}

int dns_msgw_question(struct dns_msgw *mw, const struct dns_question *q)
{
	struct mark mk;
	if (mw->section >= 0 || mw->count[0] == 0xffff)
		return -EINVAL;
	mark_set(mw, &mk);
	if (dns_name_to_wire(&q->qname, &mw->w, &mw->ct) ||
	    !ddns_wbuf_u16(&mw->w, q->qtype) || !ddns_wbuf_u16(&mw->w, q->qclass)) {
		mark_rollback(mw, &mk);
		mw->tc = true;
		return DDNS_ETOOBIG;
	}
	mw->count[0]++;
	return 0;
}

int dns_msgw_rr(struct dns_msgw *mw, enum dns_section s,
		const struct dns_rr *rr)
{
	struct mark mk;
	if ((int)s < mw->section || s > DNS_S_ADDITIONAL || rr->type == DNS_T_OPT)
		return -EINVAL;
	mw->section = (int)s;
	if (s != DNS_S_ADDITIONAL && mw->closed)
		return DDNS_ETOOBIG;
	if (mw->count[s + 1] == 0xffff)
		return DDNS_ETOOBIG;
	mark_set(mw, &mk);
	int rc = 0;
	if (dns_name_to_wire(&rr->owner, &mw->w, &mw->ct) ||
	    !ddns_wbuf_u16(&mw->w, rr->type) || !ddns_wbuf_u16(&mw->w, rr->rclass) ||
	    !ddns_wbuf_u32(&mw->w, rr->ttl) || !ddns_wbuf_u16(&mw->w, 0)) {
		rc = DDNS_ETOOBIG;
	} else {
		size_t rdstart = mw->w.len;
		rc = dns_rdata_to_wire(rr->type, rr->rdata, rr->rdlen, &mw->w, &mw->ct);
		if (rc == 0) {
			size_t rdlen = mw->w.len - rdstart;
			if (rdlen > 65535)
				rc = DDNS_ETOOBIG;
			else
				ddns_wbuf_patch_u16(&mw->w, rdstart - 2, (uint16_t)rdlen);
		}
	}
	if (rc) {
		mark_rollback(mw, &mk);
		if (rc == DDNS_ETOOBIG && s != DNS_S_ADDITIONAL) {
			/* RFC 2181 §9: required data missing -> TC. */
			mw->tc = true;
			mw->closed = true;
		}
		return rc;
	}
	mw->count[s + 1]++;
	return 0;
}

int dns_msgw_edns(struct dns_msgw *mw, const struct dns_edns *e)
{
	if (mw->w.len + opt_size(e) > mw->limit)
		return DDNS_ETOOBIG;
	mw->edns = *e;
	mw->has_edns = true;
	mw->reserve = opt_size(e);
	return 0;
}

int dns_msgw_finish(struct dns_msgw *mw)
{
	mw->w.max = mw->limit;
	if (mw->has_edns) {
		const struct dns_edns *e = &mw->edns;
		uint32_t ttl = (uint32_t)e->ext_rcode << 24 |
			       (uint32_t)e->version << 16 | e->flags;
		if (!ddns_wbuf_u8(&mw->w, 0) || !ddns_wbuf_u16(&mw->w, DNS_T_OPT) ||
		    !ddns_wbuf_u16(&mw->w, e->udp_size) || !ddns_wbuf_u32(&mw->w, ttl) ||
		    !ddns_wbuf_u16(&mw->w, e->optlen) ||
		    !ddns_wbuf_put(&mw->w, e->opts, e->optlen))
			return DDNS_ETOOBIG;
		mw->count[3]++;
		mw->has_edns = false;
		mw->reserve = 0;
	}
	if (mw->w.err)
		return DDNS_ETOOBIG;
	for (int i = 0; i < 4; i++)
		ddns_wbuf_patch_u16(&mw->w, 4 + 2 * (size_t)i, mw->count[i]);
	if (mw->tc) {
		uint16_t fl = ddns_get_u16(mw->w.p + 2) | DNS_F_TC;
		ddns_wbuf_patch_u16(&mw->w, 2, fl);
	}
	return (int)mw->w.len;
}

int dns_msg_write(const struct dns_msg *m, size_t limit, struct ddns_wbuf *out,
		  bool *truncated)
{
	struct dns_msgw *mw = malloc(sizeof(*mw));
	int rc;
	if (!mw)
		return -ENOMEM;
	if ((rc = dns_msgw_init(mw, m->id, m->flags, limit)))
		goto out;
	if (m->edns.present && (rc = dns_msgw_edns(mw, &m->edns)))
		goto out;
	for (size_t i = 0; i < m->qdcount; i++)
		if ((rc = dns_msgw_question(mw, &m->qd[i])))
			goto out;
	for (int s = 0; s < 3; s++)
		for (size_t i = 0; i < m->sec[s].n; i++) {
			rc = dns_msgw_rr(mw, (enum dns_section)s, &m->sec[s].rr[i]);
			if (rc == DDNS_ETOOBIG)
				continue; /* truncation, recorded in mw->tc */
			if (rc)
				goto out;
		}
	rc = dns_msgw_finish(mw);
	if (rc < 0)
		goto out;
	if (truncated)
		*truncated = mw->tc;
	if (!ddns_wbuf_put(out, mw->w.p, mw->w.len))
		rc = -ENOMEM;
out:
	dns_msgw_free(mw);
	free(mw);
	return rc;
}
