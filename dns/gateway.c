/*
 * gateway.c - the DNS gateway's query logic: parse, look up through the
 * DHT(s) with caching and coalescing, follow CNAMEs, build the answer.
 *
 * A query is a small state machine over lookup steps, each a <name, type>
 * pair (the DHT key of a block):
 *
 *   TYPE  <cur, qtype>  found -> answer; not found -> CNAME (or NEG when
 *                       qtype is CNAME)
 *   CNAME <cur, CNAME>  found -> append, cur = target, TYPE (or answer when
 *                       qtype is CNAME); not found -> NEG
 *   NEG                 NODATA when something else is known at cur (a cached
 *                       RRset of another type), else NSEC <cur, NSEC>
 *   NSEC  <cur, NSEC>   found -> NODATA (with the NSEC proof); else NXDOMAIN
 *   SOA   <at, SOA>     every negative answer first looks for its zone's SOA
 *                       (RFC 2308 §3), walking up from the name: `at` starts
 *                       at the NSEC's signer (the apex) when there is one,
 *                       else at cur for NODATA and at cur's parent for
 *                       NXDOMAIN; found -> answer with it in the authority
 *                       section; not found -> the next ancestor, at most
 *                       GW_SOA_STEPS of them; then (or on an error) the
 *                       answer goes without one.
 *
 * Any other DHT status ends the query with SERVFAIL and an Extended DNS
 * Error (gw_rcode_of), and is cached for servfail_ttl with its status (RFC
 * 9520), so a broken name is not asked of the ring at the clients' rate. A
 * step is served from the positive, negative or failure cache when possible, else it joins an outstanding fetch of the same key or
 * starts one (dht_get on the default overlay, or every overlay in compare
 * mode). Cache hits run synchronously in q_run; DHT results come back
 * through fetch_get_cb and resume the waiting queries.
 *
 * Invariants: a pending query is on g->queries and waits on at most one
 * fetch (q->waiting, and on that fetch's waiter list). A fetch is in
 * g->fetching until it delivers its result, and on g->all_fetches until its
 * last dht_get returned; after gw_free its g is NULL and it only waits for
 * the DHT to call back. RRsets (struct gw_rrset) are reference-counted:
 * the cache holds one reference, every query using it another.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <uthash.h>
#include <utlist.h>

#include "common/buf.h"
#include "common/log.h"
#include "dns/block.h"
#include "dns/dhtval.h"
#include "dns/gw_internal.h"
#include "dns/msg.h"
#include "dns/name.h"
#include "dns/rdata.h"

#define US 1000000ULL
#define EDE_OPT 15 /* RFC 8914 §2 */

/* One validated RRset and its RRSIGs, as a block delivered it. */
struct gw_rrset {
	unsigned refs;
	struct dns_rrlist rrs, sigs;
	uint64_t expire_us; /* cache time after which it must not be served */
};

struct gw_centry {
	UT_hash_handle hh;
	uint8_t key[DHT_KEY_LEN];
	uint64_t expire_us;
	struct gw_rrset *rs; /* positive cache only */
	int status;          /* failure cache only: the DHT status */
};

struct gw_fetch;

struct gw_fetch_get {
	struct gw_fetch *f;
	size_t ovl;
};

struct gw_fetch {
	UT_hash_handle hh;
	uint8_t key[DHT_KEY_LEN];
	struct dns_name name;
	uint16_t type;
	struct gw *g;                   /* NULL once the gateway is gone */
	struct gw_fetch *next, *prev;   /* g->all_fetches */
	struct gw_fetch_get gets[GW_MAX_OVERLAYS];
	unsigned outstanding;           /* dht_get calls not yet returned */
	bool delivered, in_hash;
	int status0;                    /* status of the default overlay's get */
	bool have_status0;
	struct gw_query *waiters;       /* linked by wnext */
};

enum gw_stage { ST_TYPE, ST_CNAME, ST_NSEC, ST_SOA, ST_DENIAL, ST_WILD };

/* Ancestors a negative answer may look up for its zone's SOA. */
#define GW_SOA_STEPS 4

struct gw_query {
	struct gw_query *next, *prev;   /* g->queries */
	struct gw_query *wnext;         /* waiter list of q->waiting */
	struct gw_fetch *waiting;
	struct gw *g;
	gw_answer_cb cb;
	void *arg;
	size_t max_udp;                 /* 0: stream */
	size_t qlen;                    /* the query's size, for amp_factor */
	uint16_t id, flags;
	bool has_q;
	struct dns_question q;
	bool edns, do_bit;
	uint16_t udp_size;
	struct dns_name cur;
	enum gw_stage stage;
	struct gw_rrset *chain[GW_MAX_CNAME + 1];
	size_t nchain;
	struct gw_rrset *nsec;
	struct gw_rrset *soa;           /* the zone's SOA for a negative answer */
	struct dns_name soa_at;         /* ST_SOA: where the SOA is looked for */
	unsigned soa_steps;             /* ST_SOA: names tried so far */
	unsigned neg_rcode;             /* ST_SOA: NOERROR (NODATA) or NXDOMAIN */
	bool positive;                  /* the last step found its RRset */
	struct gw_rrset *known;         /* an RRset of another type at cur (NODATA) */
	/* From the zone's denial block: the NSEC covering cur and the one
	 * matching or covering the wildcard at its closest encloser. */
	struct gw_rrset *proof[2];
	size_t nproof;
	bool proven;                    /* proof[] shows cur does not exist */
	bool ent;                       /* ... or is an empty non-terminal */
	bool prechecked;                /* the denial block was asked before the type */
	bool precheck;                  /* ST_DENIAL runs ahead of ST_TYPE */
	struct dns_name wild;           /* ST_WILD: "*.<closest encloser>" */
	bool touched_dht;
	unsigned rpcs[GW_MAX_OVERLAYS], hops[GW_MAX_OVERLAYS];
};

static void q_run(struct gw_query *q);

/* ---- parameters, rcode mapping ----------------------------------------- */

void gw_params_default(struct gw_params *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = GW_MODE_DEFAULT;
	p->cache_entries = 10000;
	p->neg_cache_entries = 10000;
	p->neg_ttl = 60;
	p->max_ttl = 86400;
	p->udp_max = 4096;
	p->tcp_max_conns = 64;
	p->tcp_idle_ms = 10000;
	p->tcp_max_pending = 32;
	p->max_pending = 10000;
	p->nsec_lookup = true;
	p->servfail_ttl = 30;
	p->rate_limit_entries = 10000;
}

int gw_rcode_of(int status, int *ede)
{
	int e = -1, rc = DNS_R_SERVFAIL;
	switch (status) {
	case 0:
		rc = DNS_R_NOERROR;
		break;
	case DDNS_ENOTFOUND:
		rc = DNS_R_NXDOMAIN;
		break;
	case DDNS_EBOGUS:
	case DDNS_EOUTOFZONE:
	case DDNS_EMALFORMED:
		e = 6; /* DNSSEC Bogus */
		break;
	case DDNS_EEXPIRED:
		e = 7; /* Signature Expired */
		break;
	case DDNS_ENOTYET:
		e = 8; /* Signature Not Yet Valid */
		break;
	case DDNS_ENOKEY:
	case DDNS_EBADDS:
		e = 9; /* DNSKEY Missing */
		break;
	case DDNS_ENOCHAIN:
		e = 10; /* RRSIGs Missing */
		break;
	case DDNS_EUNSUPPORTED:
		e = 1; /* Unsupported DNSKEY Algorithm */
		break;
	case DDNS_ETIMEDOUT:
		e = 22; /* No Reachable Authority */
		break;
	case DDNS_ECANCELLED:
		e = 23; /* Network Error */
		break;
	default:
		e = 0; /* Other */
		break;
	}
	if (ede)
		*ede = e;
	return rc;
}

uint64_t gw_now_us(struct gw *g)
{
	return dht_now_us(g->ovl[0].dht);
}

/* ---- RRsets and caches -------------------------------------------------- */

static struct gw_rrset *rs_ref(struct gw_rrset *rs)
{
	rs->refs++;
	return rs;
}

static void rs_unref(struct gw_rrset *rs)
{
	if (!rs || --rs->refs > 0)
		return;
	dns_rrlist_free(&rs->rrs);
	dns_rrlist_free(&rs->sigs);
	free(rs);
}

static void centry_free(struct gw_centry *e)
{
	rs_unref(e->rs);
	free(e);
}

/* Find an unexpired entry; expired ones are removed on the way. A hit
 * moves to the end of the table (most recently used). */
static struct gw_centry *cache_find(struct gw *g, struct gw_centry **tab, size_t *n,
				    const uint8_t key[DHT_KEY_LEN])
{
	struct gw_centry *e;
	HASH_FIND(hh, *tab, key, DHT_KEY_LEN, e);
	if (!e)
		return NULL;
	HASH_DEL(*tab, e);
	if (e->expire_us <= gw_now_us(g)) {
		(*n)--;
		centry_free(e);
		return NULL;
	}
	HASH_ADD(hh, *tab, key, DHT_KEY_LEN, e);
	return e;
}

/* Insert or replace; evicts the least recently used entry beyond max. rs
 * (may be NULL) gains a reference. Returns the entry, or NULL when nothing
 * was cached. */
static struct gw_centry *cache_put(struct gw *g, struct gw_centry **tab, size_t *n, size_t max,
				   const uint8_t key[DHT_KEY_LEN], uint64_t expire_us,
				   struct gw_rrset *rs)
{
	struct gw_centry *e;
	if (max == 0 || expire_us <= gw_now_us(g))
		return NULL;
	HASH_FIND(hh, *tab, key, DHT_KEY_LEN, e);
	if (e) {
		HASH_DEL(*tab, e);
		(*n)--;
		centry_free(e);
	}
	while (*n >= max && *tab) {
		struct gw_centry *old = *tab; /* head: least recently used */
		HASH_DEL(*tab, old);
		(*n)--;
		centry_free(old);
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL; /* a cache is allowed to forget */
	memcpy(e->key, key, DHT_KEY_LEN);
	e->expire_us = expire_us;
	e->rs = rs ? rs_ref(rs) : NULL;
	HASH_ADD(hh, *tab, key, DHT_KEY_LEN, e);
	(*n)++;
	return e;
}

static void cache_clear(struct gw_centry **tab, size_t *n)
{
	struct gw_centry *e, *tmp;
	HASH_ITER(hh, *tab, e, tmp)
	{
		HASH_DEL(*tab, e);
		centry_free(e);
	}
	*n = 0;
}

/* Key of the existence cache: SHA-1 of the lowercased name alone. */
static void name_key(const struct dns_name *n, uint8_t key[DHT_KEY_LEN])
{
	struct dns_name l;
	dns_name_copy(&l, n);
	dns_name_to_lower(&l);
	ddns_sha1(l.data, l.len, key);
}

/* Seconds an RRset may still be served with, never above its TTL. */
static uint32_t rs_ttl_left(struct gw *g, const struct gw_rrset *rs)
{
	uint64_t now = gw_now_us(g);
	uint64_t left = rs->expire_us > now ? (rs->expire_us - now) / US : 0;
	uint32_t ttl = rs->rrs.n ? rs->rrs.rr[0].ttl : 0;
	for (size_t i = 1; i < rs->rrs.n; i++)
		if (rs->rrs.rr[i].ttl < ttl)
			ttl = rs->rrs.rr[i].ttl;
	if (ttl > g->p.max_ttl)
		ttl = g->p.max_ttl;
	return left < ttl ? (uint32_t)left : ttl;
}

/*
 * Turn a validated block into an RRset. The data set must be <name, type>
 * itself: a block the hook accepted under another key would be a bug or an
 * attack, and is treated as bogus.
 */
static int rs_from_block(struct gw *g, const struct gw_fetch *f, const struct dht_get_result *res,
			 struct gw_rrset **out)
{
	struct dns_block b;
	struct gw_rrset *rs = NULL;
	int rc;
	dns_block_init(&b);
	rc = dns_block_decode(&b, res->block, res->len);
	if (rc == -ENOMEM)
		goto out;
	if (rc) {
		rc = DDNS_EMALFORMED;
		goto out;
	}
	if (f->type == DNS_DENIAL_TYPE ? !b.denial || !dns_name_equal(&b.zone, &f->name)
				       : b.denial || dns_block_set_type(&b.data) != f->type ||
						 !dns_name_equal(dns_block_set_owner(&b.data), &f->name)) {
		rc = DDNS_EBOGUS;
		goto out;
	}
	rs = calloc(1, sizeof(*rs));
	if (!rs) {
		rc = -ENOMEM;
		goto out;
	}
	rs->refs = 1;
	rs->rrs = b.data.rrs;
	rs->sigs = b.data.sigs;
	dns_rrlist_init(&b.data.rrs);
	dns_rrlist_init(&b.data.sigs);
	/* A denial block: every NSEC of it in one list (owners differ), their
	 * RRSIGs in the other, for the proof to pick from. */
	for (size_t i = 0; i < b.nmore && rc == 0; i++) {
		for (size_t j = 0; j < b.more[i].rrs.n && rc == 0; j++)
			rc = dns_rrlist_add(&rs->rrs, &b.more[i].rrs.rr[j]);
		for (size_t j = 0; j < b.more[i].sigs.n && rc == 0; j++)
			rc = dns_rrlist_add(&rs->sigs, &b.more[i].sigs.rr[j]);
	}
	if (rc) {
		rs_unref(rs);
		rs = NULL;
		goto out;
	}
	uint32_t ttl = UINT32_MAX;
	for (size_t i = 0; i < rs->rrs.n; i++)
		if (rs->rrs.rr[i].ttl < ttl)
			ttl = rs->rrs.rr[i].ttl;
	if (ttl > g->p.max_ttl)
		ttl = g->p.max_ttl;
	rs->expire_us = gw_now_us(g) + (uint64_t)ttl * US;
	/* Never past the signatures' validity (the hook's expiry). */
	if (res->meta.expire_us && res->meta.expire_us < rs->expire_us)
		rs->expire_us = res->meta.expire_us;
	*out = rs;
out:
	dns_block_clear(&b);
	return rc;
}

/* ---- queries ------------------------------------------------------------ */

static void q_free(struct gw_query *q)
{
	for (size_t i = 0; i < q->nchain; i++)
		rs_unref(q->chain[i]);
	rs_unref(q->nsec);
	rs_unref(q->soa);
	rs_unref(q->known);
	for (size_t i = 0; i < q->nproof; i++)
		rs_unref(q->proof[i]);
	free(q);
}

/* Unlink from the gateway and the fetch it waits on. */
static void q_detach(struct gw_query *q)
{
	struct gw *g = q->g;
	if (q->waiting) {
		struct gw_query **pp = &q->waiting->waiters;
		while (*pp && *pp != q)
			pp = &(*pp)->wnext;
		if (*pp)
			*pp = q->wnext;
		q->waiting = NULL;
	}
	DL_DELETE(g->queries, q);
	g->npending--;
}

static void shuffle(struct gw *g, size_t *idx, size_t n)
{
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)ddns_rng_below(&g->rng, i);
		size_t t = idx[i - 1];
		idx[i - 1] = idx[j];
		idx[j] = t;
	}
}

/* Add an RRset (shuffled) and, with DO, its RRSIGs. Returns the first
 * dns_msgw_rr error other than truncation (which mw records). */
static int put_rrset(struct gw *g, struct dns_msgw *mw, enum dns_section s,
		     const struct gw_rrset *rs, bool with_sigs)
{
	uint32_t ttl = rs_ttl_left(g, rs);
	size_t *idx = malloc((rs->rrs.n ? rs->rrs.n : 1) * sizeof(*idx));
	int rc = 0;
	if (!idx)
		return -ENOMEM;
	shuffle(g, idx, rs->rrs.n);
	for (size_t i = 0; i < rs->rrs.n && rc == 0; i++) {
		struct dns_rr r = rs->rrs.rr[idx[i]];
		r.ttl = ttl;
		rc = dns_msgw_rr(mw, s, &r);
	}
	for (size_t i = 0; with_sigs && i < rs->sigs.n && rc == 0; i++) {
		struct dns_rr r = rs->sigs.rr[i];
		r.ttl = ttl;
		rc = dns_msgw_rr(mw, s, &r);
	}
	free(idx);
	return rc == DDNS_ETOOBIG ? 0 : rc;
}

/* SOA MINIMUM: the last four octets of the RDATA (RFC 1035 §3.3.13). */
static uint32_t soa_minimum(const struct dns_rr *soa)
{
	return soa->rdlen >= 22 ? ddns_get_u32(soa->rdata + soa->rdlen - 4) : 0;
}

/* The zone's SOA in the authority section of a negative answer, with the TTL
 * a resolver may cache the denial for: min(SOA MINIMUM, the SOA's own TTL
 * left) (RFC 2308 §3, §5); its RRSIGs with DO. */
static int put_soa(struct gw *g, struct dns_msgw *mw, const struct gw_rrset *soa, bool with_sigs)
{
	if (soa->rrs.n == 0)
		return 0;
	uint32_t ttl = rs_ttl_left(g, soa), min = soa_minimum(&soa->rrs.rr[0]);
	if (min < ttl)
		ttl = min;
	struct dns_rr r = soa->rrs.rr[0];
	r.ttl = ttl;
	int rc = dns_msgw_rr(mw, DNS_S_AUTHORITY, &r);
	for (size_t i = 0; with_sigs && i < soa->sigs.n && rc == 0; i++) {
		r = soa->sigs.rr[i];
		r.ttl = ttl;
		rc = dns_msgw_rr(mw, DNS_S_AUTHORITY, &r);
	}
	return rc == DDNS_ETOOBIG ? 0 : rc;
}

/* The NSEC record proves that neither type nor a CNAME exists at its owner
 * (RFC 4035 §3.1.3.1). */
static bool nsec_denies(const struct gw_rrset *nsec, uint16_t type)
{
	const struct dns_rr *r = &nsec->rrs.rr[0];
	struct dns_name next;
	size_t off = 0;
	if (dns_name_from_wire(&next, r->rdata, r->rdlen, &off, false) != 0)
		return false;
	return !dns_typebitmap_has(r->rdata + off, r->rdlen - off, type) &&
	       !dns_typebitmap_has(r->rdata + off, r->rdlen - off, DNS_T_CNAME);
}

/* The EDE option (RFC 8914 §2): INFO-CODE and EXTRA-TEXT. */
static size_t ede_opt(uint8_t *buf, size_t size, int ede, const char *text)
{
	size_t tl = text ? strlen(text) : 0;
	if (tl > size - 6)
		tl = size - 6;
	ddns_put_u16(buf, EDE_OPT);
	ddns_put_u16(buf + 2, (uint16_t)(2 + tl));
	ddns_put_u16(buf + 4, (uint16_t)ede);
	if (tl)
		memcpy(buf + 6, text, tl);
	return 6 + tl;
}

/* Largest answer this query may get (RFC 6891 §6.2.5, RFC 7766). */
static size_t q_limit(const struct gw_query *q)
{
	if (q->max_udp == 0)
		return DNS_MSG_MAX;
	size_t lim = DNS_UDP_MIN;
	if (q->edns) {
		lim = q->udp_size < DNS_UDP_MIN ? DNS_UDP_MIN : q->udp_size;
		if (lim > q->g->p.udp_max)
			lim = q->g->p.udp_max;
	}
	if (lim > q->max_udp)
		lim = q->max_udp < DNS_UDP_MIN ? DNS_UDP_MIN : q->max_udp;
	if (q->g->p.amp_factor) {
		size_t amp = q->g->p.amp_factor * q->qlen;
		if (amp < q->qlen + GW_AMP_SLACK)
			amp = q->qlen + GW_AMP_SLACK;
		if (lim > amp)
			lim = amp;
	}
	return lim;
}

static const char *rcode_name(unsigned rc)
{
	static const char *const n[] = {"NOERROR", "FORMERR",  "SERVFAIL",
					 "NXDOMAIN", "NOTIMP", "REFUSED"};
	return rc < 6 ? n[rc] : rc == DNS_R_BADVERS ? "BADVERS" : "RCODE?";
}

/* AD (RFC 4035 §3.2.3, RFC 6840 §5.8): all answer data came from blocks the
 * DHT validated to the trust anchor; a denial only with its NSEC. */
static bool q_authentic(const struct gw_query *q, unsigned rcode)
{
	if (!((q->flags & DNS_F_AD) || q->do_bit) || !q->has_q || q->q.qclass != DNS_C_IN)
		return false;
	if (rcode == DNS_R_NXDOMAIN)
		return q->proven;
	if (rcode != DNS_R_NOERROR)
		return false;
	if (q->positive)
		return true;
	if (q->ent)
		return q->proven;
	if (q->proven) { /* NODATA at a wildcard: its NSEC lacks the type */
		for (size_t i = 0; i < q->nproof; i++)
			if (dns_name_equal(&q->proof[i]->rrs.rr[0].owner, &q->wild))
				return nsec_denies(q->proof[i], q->q.qtype);
		return false;
	}
	return q->nsec && nsec_denies(q->nsec, q->q.qtype);
}

/* Header, OPT (carrying the optlen bytes of options at opt, which must live
 * until dns_msgw_finish) and question. */
static int q_write_head(struct gw_query *q, struct dns_msgw *mw, unsigned rcode, bool ad,
			uint8_t *opt, size_t optlen)
{
	uint16_t flags = DNS_F_QR | (q->flags & (0x7800 | DNS_F_RD | DNS_F_CD)) | DNS_F_RA |
			 (ad ? DNS_F_AD : 0) | (rcode & 0xf);
	int rc = dns_msgw_init(mw, q->id, flags, q_limit(q));
	if (rc)
		return rc;
	if (q->edns) {
		struct dns_edns e;
		memset(&e, 0, sizeof(e));
		e.present = true;
		e.udp_size = q->g->p.udp_max;
		e.ext_rcode = (uint8_t)(rcode >> 4);
		e.flags = q->do_bit ? DNS_EDNS_DO : 0;
		e.optlen = (uint16_t)optlen;
		e.opts = optlen ? opt : NULL;
		if ((rc = dns_msgw_edns(mw, &e)))
			return rc;
	}
	return q->has_q ? dns_msgw_question(mw, &q->q) : 0;
}

/* Answer section (the chain, or CH TXT strings) and authority (the denial
 * proof, with DO). A TXT string that does not fit is left out. */
static int q_write_sections(struct gw_query *q, struct dns_msgw *mw, char (*txt)[256],
			    size_t ntxt)
{
	int rc = 0;
	for (size_t i = 0; i < q->nchain && rc == 0; i++)
		rc = put_rrset(q->g, mw, DNS_S_ANSWER, q->chain[i], q->do_bit);
	for (size_t i = 0; i < ntxt && rc == 0; i++) {
		uint8_t rd[256];
		size_t l = strlen(txt[i]);
		rd[0] = (uint8_t)l;
		memcpy(rd + 1, txt[i], l);
		struct dns_rr r = {.type = DNS_T_TXT, .rclass = DNS_C_CH, .ttl = 0,
				   .rdlen = (uint16_t)(l + 1), .rdata = rd};
		dns_name_copy(&r.owner, &q->q.qname);
		rc = dns_msgw_rr(mw, DNS_S_ANSWER, &r);
		rc = rc == DDNS_ETOOBIG ? 0 : rc;
	}
	if (q->soa && rc == 0)
		rc = put_soa(q->g, mw, q->soa, q->do_bit);
	if (q->nsec && q->do_bit && rc == 0)
		rc = put_rrset(q->g, mw, DNS_S_AUTHORITY, q->nsec, true);
	for (size_t i = 0; i < q->nproof && q->do_bit && rc == 0; i++)
		rc = put_rrset(q->g, mw, DNS_S_AUTHORITY, q->proof[i], true);
	return rc;
}

/* The statistics of one answer sent. */
static void q_count(struct gw_query *q, unsigned rcode, bool ad, bool tc)
{
	struct gw *g = q->g;
	if (tc)
		g->st.truncated++;
	if (ad)
		g->st.ad++;
	if (rcode < 6)
		g->st.rcodes[rcode]++;
	else if (rcode == DNS_R_BADVERS)
		g->st.badvers++;
	if (q->has_q && q->q.qclass == DNS_C_IN && !q->touched_dht && rcode != DNS_R_FORMERR &&
	    rcode != DNS_R_REFUSED && rcode != DNS_R_NOTIMP)
		g->st.answered_from_cache++;
}

/* One debug line per answer: name, type, rcode and each overlay's cost. */
static void q_log(const struct gw_query *q, unsigned rcode, bool tc)
{
	const struct gw *g = q->g;
	char name[DNS_NAME_STR_MAX], tb[DNS_MNEMONIC_MAX], cost[128];
	size_t off = 0;
	if (ddns_log_get_level() < DDNS_LOG_DEBUG || !q->has_q ||
	    dns_name_to_str(&q->q.qname, name, sizeof(name)) <= 0)
		return;
	cost[0] = 0;
	for (size_t i = 0; i < g->novl && off < sizeof(cost); i++)
		off += (size_t)snprintf(cost + off, sizeof(cost) - off, " %s rpcs=%u hops=%u",
					g->ovl[i].name, q->rpcs[i], q->hops[i]);
	log_debug("gw: %s %s -> %s an=%zu%s%s%s", name, dns_type_to_str(q->q.qtype, tb),
		  rcode_name(rcode), q->nchain, tc ? " tc" : "", q->touched_dht ? "" : " (cache)",
		  cost);
}

/*
 * Build the answer, hand it to the callback and free q. rcode may be an
 * extended one (BADVERS). ede < 0: no EDE option. txt: CH TXT strings
 * (n of them) for the answer section instead of the chain.
 */
static void q_answer(struct gw_query *q, unsigned rcode, int ede, const char *ede_text,
		     char (*txt)[256], size_t ntxt)
{
	struct gw *g = q->g;
	struct dns_msgw *mw = malloc(sizeof(*mw));
	bool ad = q_authentic(q, rcode);
	uint8_t opt[6 + 128];
	size_t optlen = ede >= 0 ? ede_opt(opt, sizeof(opt), ede, ede_text) : 0;
	int rc = -ENOMEM;

	q_detach(q);
	if (mw && (rc = q_write_head(q, mw, rcode, ad, opt, optlen)) == 0 &&
	    (rc = q_write_sections(q, mw, txt, ntxt)) == 0)
		rc = dns_msgw_finish(mw);
	if (rc < 0) {
		log_warn("gw: cannot build an answer: %s", ddns_strerror(rc));
		g->st.dropped++;
		q->cb(q->arg, NULL, 0);
	} else {
		q_count(q, rcode, ad, mw->tc);
		q_log(q, rcode, mw->tc);
		q->cb(q->arg, mw->w.p, mw->w.len);
	}
	if (mw)
		dns_msgw_free(mw);
	free(mw);
	q_free(q);
}

static void q_fail(struct gw_query *q, int status)
{
	int ede;
	unsigned rc = (unsigned)gw_rcode_of(status, &ede);
	q_answer(q, rc, ede, ddns_strerror(status), NULL, 0);
}

/* The RRset's owner is one of the chain's (a CNAME loop), or qname. */
static bool in_chain(const struct gw_query *q, const struct dns_name *n)
{
	if (dns_name_equal(n, &q->q.qname))
		return true;
	for (size_t i = 0; i < q->nchain; i++)
		if (dns_name_equal(n, &q->chain[i]->rrs.rr[0].owner))
			return true;
	return false;
}

/* The signer of the RRset's first RRSIG (RFC 4034 §3.1.7): its zone's apex. */
static bool rs_signer(const struct gw_rrset *rs, struct dns_name *out)
{
	size_t off = 18;
	return rs->sigs.n && rs->sigs.rr[0].rdlen > off &&
	       dns_name_from_wire(out, rs->sigs.rr[0].rdata, rs->sigs.rr[0].rdlen, &off, false) ==
		       0;
}

/* The denial is known (rcode NOERROR for NODATA, or NXDOMAIN): look for the
 * zone's SOA first (the SOA step), then answer. known: an RRset of another
 * type at the name (NULL: none). Returns true when the query was answered. */
static bool q_deny(struct gw_query *q, unsigned rcode, const struct gw_rrset *known)
{
	q->neg_rcode = rcode;
	q->soa_steps = 0;
	if ((q->nsec && rs_signer(q->nsec, &q->soa_at)) || (known && rs_signer(known, &q->soa_at))) {
		/* the apex, from the proof or from the signer of what is there */
	} else if (rcode == DNS_R_NXDOMAIN) {
		if (dns_name_parent(&q->cur, &q->soa_at) != 0) {
			q_answer(q, rcode, -1, NULL, NULL, 0); /* no name above the root */
			return true;
		}
	} else {
		dns_name_copy(&q->soa_at, &q->cur);
	}
	q->stage = ST_SOA;
	return false;
}

/* Neither the type nor a CNAME is at cur: NODATA or NXDOMAIN? Returns true
 * when the query was answered. */
static bool q_negative(struct gw_query *q)
{
	struct gw *g = q->g;
	uint8_t k[DHT_KEY_LEN];
	name_key(&q->cur, k);
	struct gw_centry *e = cache_find(g, &g->exist, &g->nexist, k);
	/* With DO the NODATA needs its proof, the name's NSEC (RFC 4035
	 * §3.1.3.1), even when the cache already says the name exists. */
	if (e && !(q->do_bit && g->p.nsec_lookup && q->stage != ST_NSEC))
		return q_deny(q, DNS_R_NOERROR, e->rs);
	if (g->p.nsec_lookup && q->stage != ST_NSEC) {
		q->known = e && e->rs ? rs_ref(e->rs) : NULL;
		q->stage = ST_NSEC;
		return false;
	}
	return q_deny(q, DNS_R_NXDOMAIN, NULL);
}

/* After the NSEC step found no proof: NODATA when an RRset of another type
 * is known at the name, else NXDOMAIN. */
static bool q_known_deny(struct gw_query *q)
{
	return q->known ? q_deny(q, DNS_R_NOERROR, q->known)
			: q_deny(q, DNS_R_NXDOMAIN, NULL);
}

/* The SOA step's result. */
static bool q_soa_result(struct gw_query *q, int status, struct gw_rrset *rs)
{
	if (status == 0) {
		q->soa = rs_ref(rs);
		q->g->st.neg_with_soa++;
		/* a missing name: its zone's denial block has the proof, and
		 * perhaps a wildcard that answers instead */
		if (q->neg_rcode == DNS_R_NXDOMAIN && q->g->p.nsec_lookup &&
		    dns_denial_class(&q->soa_at, &q->cur)) {
			q->stage = ST_DENIAL;
			return false;
		}
	} else if (status == DDNS_ENOTFOUND && ++q->soa_steps < GW_SOA_STEPS &&
		   dns_name_parent(&q->soa_at, &q->soa_at) == 0) {
		return false; /* try the next name up */
	}
	q_answer(q, q->neg_rcode, -1, NULL, NULL, 0);
	return true;
}

/* The NSEC rr of a denial block's RRset, and its RRSIGs, as an RRset of
 * its own (the block's expiry). NULL on -ENOMEM. */
static struct gw_rrset *rs_pick_nsec(const struct gw_rrset *blk, const struct dns_rr *rr)
{
	struct gw_rrset *rs = calloc(1, sizeof(*rs));
	int rc = rs ? dns_rrlist_add(&rs->rrs, rr) : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < blk->sigs.n; i++)
		if (dns_name_equal(&blk->sigs.rr[i].owner, &rr->owner))
			rc = dns_rrlist_add(&rs->sigs, &blk->sigs.rr[i]);
	if (rs) {
		rs->refs = 1;
		rs->expire_us = blk->expire_us;
	}
	if (rc) {
		rs_unref(rs);
		return NULL;
	}
	return rs;
}

static bool q_add_proof(struct gw_query *q, const struct gw_rrset *blk, const struct dns_rr *rr)
{
	for (size_t i = 0; i < q->nproof; i++)
		if (dns_name_equal(&q->proof[i]->rrs.rr[0].owner, &rr->owner))
			return true;
	if (q->nproof == 2 || !(q->proof[q->nproof] = rs_pick_nsec(blk, rr)))
		return false;
	q->nproof++;
	return true;
}

/* Does the NSEC at a proper ancestor of name mark a delegation (NS, no
 * SOA), so that name lies in a child zone this chain says nothing about? */
static bool nsec_delegates(const struct dns_rr *nsec, const struct dns_name *name)
{
	struct dns_name next;
	size_t off = 0;
	if (dns_name_equal(&nsec->owner, name) || !dns_name_is_subdomain(name, &nsec->owner) ||
	    dns_name_from_wire(&next, nsec->rdata, nsec->rdlen, &off, false) != 0)
		return false;
	const uint8_t *bm = nsec->rdata + off;
	size_t bl = nsec->rdlen - off;
	return dns_typebitmap_has(bm, bl, DNS_T_NS) && !dns_typebitmap_has(bm, bl, DNS_T_SOA);
}

/* Does the denial block blk show that name does not exist in its zone (an
 * NSEC covers it, and no delegation it shows lies above it)? */
static bool denial_says_missing(const struct gw_rrset *blk, const struct dns_name *name)
{
	bool match;
	const struct dns_rr *c = dns_nsec_find(blk->rrs.rr, blk->rrs.n, name, &match);
	return c && !match && !nsec_delegates(c, name);
}

/*
 * The zone's denial block blk for the missing name cur (q->soa and
 * q->soa_at are its zone's): prove cur does not exist (RFC 4035 §5.4: the
 * NSEC covering it and the one covering the wildcard at its closest
 * encloser), or go on to the wildcard that exists there (ST_WILD), or, when
 * the block shows cur exists after all, answer NODATA with its NSEC.
 * Returns true when q was answered.
 */
static bool q_use_denial(struct gw_query *q, const struct gw_rrset *blk)
{
	bool match;
	const struct dns_rr *c = dns_nsec_find(blk->rrs.rr, blk->rrs.n, &q->cur, &match);
	struct dns_name ce;
	q->stage = ST_DENIAL;
	if (!c || nsec_delegates(c, &q->cur) || (!match && dns_nsec_closest_encloser(c, &q->cur, &ce))) {
		q_answer(q, q->neg_rcode, -1, NULL, NULL, 0); /* no proof here */
		return true;
	}
	if (match) { /* the name exists: NODATA, with its own NSEC */
		if (!q->nsec)
			q->nsec = rs_pick_nsec(blk, c);
		q_answer(q, DNS_R_NOERROR, -1, NULL, NULL, 0);
		return true;
	}
	if (dns_name_equal(&ce, &q->cur)) {
		/* an empty non-terminal: the NSEC's next name lies below it, so
		 * it exists with no RRset at all (RFC 4035 §3.1.3.2) */
		if (q_add_proof(q, blk, c)) {
			q->proven = q->ent = true;
			q->g->st.denial_proofs++;
		}
		q_answer(q, DNS_R_NOERROR, -1, NULL, NULL, 0);
		return true;
	}
	uint8_t star[2] = {1, '*'};
	bool wmatch = false;
	const struct dns_rr *w = NULL;
	if (dns_name_concat(&q->wild, star, 2, &ce) == 0)
		w = dns_nsec_find(blk->rrs.rr, blk->rrs.n, &q->wild, &wmatch);
	if (!q_add_proof(q, blk, c) || !w || !q_add_proof(q, blk, w)) {
		q_answer(q, q->neg_rcode, -1, NULL, NULL, 0);
		return true;
	}
	q->g->st.denial_proofs++;
	if (wmatch) { /* the wildcard exists: it answers (RFC 4592 §4) */
		q->stage = ST_WILD;
		return false;
	}
	q->proven = true;
	q_answer(q, DNS_R_NXDOMAIN, -1, NULL, NULL, 0);
	return true;
}

/* <*.ce, qtype> for a name that does not exist: the RRset, expanded to cur
 * (its RRSIGs keep their Labels field, which tells a validator it came
 * from a wildcard), or NODATA with the wildcard's NSEC. */
static bool q_wild_result(struct gw_query *q, int status, struct gw_rrset *rs)
{
	q->proven = true;
	if (status == DDNS_ENOTFOUND) {
		q_answer(q, DNS_R_NOERROR, -1, NULL, NULL, 0);
		return true;
	}
	if (status != 0) {
		q_fail(q, status);
		return true;
	}
	struct gw_rrset *x = calloc(1, sizeof(*x));
	int rc = x ? 0 : -ENOMEM;
	for (size_t i = 0; rc == 0 && i < rs->rrs.n; i++) {
		struct dns_rr r = rs->rrs.rr[i];
		r.owner = q->cur;
		rc = dns_rrlist_add(&x->rrs, &r);
	}
	for (size_t i = 0; rc == 0 && i < rs->sigs.n; i++) {
		struct dns_rr r = rs->sigs.rr[i];
		r.owner = q->cur;
		rc = dns_rrlist_add(&x->sigs, &r);
	}
	if (x) {
		x->refs = 1;
		x->expire_us = rs->expire_us;
	}
	if (rc) {
		rs_unref(x);
		q_fail(q, rc);
		return true;
	}
	/* the wildcard's own NSEC proves nothing here: only the cover stays */
	while (q->nproof > 1)
		rs_unref(q->proof[--q->nproof]);
	q->chain[q->nchain++] = x;
	q->positive = true;
	q->g->st.wildcard_answers++;
	q_answer(q, DNS_R_NOERROR, -1, NULL, NULL, 0);
	return true;
}

/*
 * Before any lookup for cur, when the cache holds the SOA of a zone above
 * it (at most GW_SOA_STEPS names up): that zone's denial block for cur's
 * class, cached, answers a missing name with no get at all (RFC 8198); not
 * cached, it is fetched first (ST_DENIAL with precheck), so a missing name
 * of a known zone costs one get. Returns true when q was answered, false to
 * go on with q->stage (ST_TYPE unchanged, ST_DENIAL or ST_WILD).
 */
static bool q_aggressive(struct gw_query *q)
{
	struct gw *g = q->g;
	struct dns_name z;
	if (!g->p.nsec_lookup || dns_name_parent(&q->cur, &z) != 0)
		return false;
	for (unsigned step = 0; step < GW_SOA_STEPS; step++) {
		uint8_t k[DHT_KEY_LEN];
		struct gw_centry *soa, *blk;
		struct dns_name loc;
		dns_block_key(&z, DNS_T_SOA, k);
		if ((soa = cache_find(g, &g->pos, &g->npos, k))) {
			char cls = dns_denial_class(&z, &q->cur);
			if (!cls || dns_denial_locator(&z, cls, &loc) != 0)
				return false;
			dns_block_key(&loc, DNS_DENIAL_TYPE, k);
			blk = cache_find(g, &g->pos, &g->npos, k);
			if (blk ? !denial_says_missing(blk->rs, &q->cur) : q->prechecked)
				return false; /* the name exists, or is not this zone's */
			rs_unref(q->soa);
			q->soa = rs_ref(soa->rs);
			dns_name_copy(&q->soa_at, &z);
			q->neg_rcode = DNS_R_NXDOMAIN;
			if (!blk) { /* fetch the block first */
				q->prechecked = q->precheck = true;
				q->stage = ST_DENIAL;
				return false;
			}
			g->st.denial_from_cache++;
			g->st.neg_with_soa++;
			struct gw_rrset *b = rs_ref(blk->rs);
			bool done = q_use_denial(q, b);
			rs_unref(b);
			return done;
		}
		if (dns_name_parent(&z, &z) != 0)
			break;
	}
	return false;
}

/*
 * Apply the result of the current step (status, and rs when found).
 * Returns true when the query was answered (q is freed), false when q_run
 * must take the next step.
 */
static bool q_result(struct gw_query *q, int status, struct gw_rrset *rs)
{
	struct gw *g = q->g;
	if (q->stage == ST_SOA)
		return q_soa_result(q, status, rs);
	if (q->stage == ST_DENIAL && q->precheck) {
		q->precheck = false;
		if (status == 0 && denial_says_missing(rs, &q->cur)) {
			q->g->st.neg_with_soa++;
			return q_use_denial(q, rs);
		}
		/* the name exists (or the block is not there): look it up */
		rs_unref(q->soa);
		q->soa = NULL;
		q->stage = ST_TYPE;
		return false;
	}
	if (q->stage == ST_DENIAL) {
		if (status == 0)
			return q_use_denial(q, rs);
		q_answer(q, q->neg_rcode, -1, NULL, NULL, 0); /* the denial, unproven */
		return true;
	}
	if (q->stage == ST_WILD)
		return q_wild_result(q, status, rs);
	if (status != 0 && status != DDNS_ENOTFOUND) {
		if (q->stage == ST_NSEC) /* the denial itself stands */
			return q_known_deny(q);
		q_fail(q, status);
		return true;
	}
	switch (q->stage) {
	case ST_TYPE:
		if (status == 0) {
			q->chain[q->nchain++] = rs_ref(rs);
			q->positive = true;
			q_answer(q, DNS_R_NOERROR, -1, NULL, NULL, 0);
			return true;
		}
		if (q->q.qtype == DNS_T_CNAME)
			return q_negative(q);
		q->stage = ST_CNAME;
		return false;
	case ST_CNAME: {
		if (status != 0)
			return q_negative(q);
		q->chain[q->nchain++] = rs_ref(rs);
		if (q->q.qtype == DNS_T_CNAME) {
			q->positive = true;
			q_answer(q, DNS_R_NOERROR, -1, NULL, NULL, 0);
			return true;
		}
		struct dns_name target;
		size_t off = 0;
		const struct dns_rr *c = &rs->rrs.rr[0];
		if (dns_name_from_wire(&target, c->rdata, c->rdlen, &off, false) != 0) {
			q_fail(q, DDNS_EMALFORMED);
			return true;
		}
		if (in_chain(q, &target) || q->nchain > GW_MAX_CNAME) {
			g->st.cname_loops++;
			q_answer(q, DNS_R_SERVFAIL, 0, "CNAME loop or chain too long", NULL, 0);
			return true;
		}
		g->st.cname_followed++;
		dns_name_copy(&q->cur, &target);
		q->stage = ST_TYPE;
		return false;
	}
	case ST_NSEC:
		if (status == 0) {
			q->nsec = rs_ref(rs);
			return q_deny(q, DNS_R_NOERROR, NULL);
		}
		/* no NSEC block: the name exists when something else is known */
		return q_known_deny(q);
	case ST_SOA:
	case ST_DENIAL:
	case ST_WILD:
		break; /* handled above */
	}
	return true;
}

/* ---- fetches ------------------------------------------------------------ */

static void fetch_free(struct gw_fetch *f)
{
	if (f->g) {
		if (f->in_hash)
			HASH_DEL(f->g->fetching, f);
		DL_DELETE(f->g->all_fetches, f);
	}
	free(f);
}

/* The fetch's result is known: cache it, resume every waiter. */
static void fetch_deliver(struct gw_fetch *f, int status, struct gw_rrset *rs)
{
	struct gw *g = f->g;
	f->delivered = true;
	if (f->in_hash) {
		HASH_DEL(g->fetching, f);
		f->in_hash = false;
	}
	if (status == 0) {
		uint8_t nk[DHT_KEY_LEN];
		cache_put(g, &g->pos, &g->npos, g->p.cache_entries, f->key, rs->expire_us, rs);
		name_key(&f->name, nk);
		/* the RRset too: its signer names the zone of a later NODATA */
		if (f->type != DNS_DENIAL_TYPE)
			cache_put(g, &g->exist, &g->nexist, g->p.cache_entries, nk,
				  rs->expire_us, rs);
	} else if (status == DDNS_ENOTFOUND) {
		cache_put(g, &g->neg, &g->nneg, g->p.neg_cache_entries, f->key,
			  gw_now_us(g) + (uint64_t)g->p.neg_ttl * US, NULL);
	} else if (g->p.servfail_ttl && status != -ENOMEM && status != DDNS_ECANCELLED) {
		/* RFC 9520 §3.2: hold the failure, with its status for the EDE */
		struct gw_centry *e = cache_put(g, &g->fail, &g->nfail, g->p.neg_cache_entries,
						f->key,
						gw_now_us(g) + (uint64_t)g->p.servfail_ttl * US, NULL);
		if (e)
			e->status = status;
	}
	struct gw_query *w = f->waiters;
	f->waiters = NULL;
	while (w) {
		struct gw_query *next = w->wnext;
		w->waiting = NULL;
		w->wnext = NULL;
		if (!q_result(w, status, rs))
			q_run(w);
		w = next;
	}
}

/* A fetched block waiting for its chain currency check. */
struct gw_recheck {
	struct gw_fetch *f;
	size_t ovl;
	struct dht_get_result res; /* res.block points at blk */
	uint8_t blk[];
};

static void fetch_result(struct gw_fetch *f, size_t i, const struct dht_get_result *res);

static void recheck_done(void *arg, int status, unsigned rpcs, unsigned hops)
{
	struct gw_recheck *r = arg;
	struct gw_fetch *f = r->f;
	struct gw *g = f->g;
	if (g) {
		g->st.current_rpcs += rpcs;
		if (status && status != DDNS_ECANCELLED)
			g->st.current_failed++;
		for (struct gw_query *w = f->waiters; w; w = w->wnext) {
			w->rpcs[r->ovl] += rpcs;
			w->hops[r->ovl] += hops;
		}
	}
	r->res.status = status;
	fetch_result(f, r->ovl, &r->res);
	free(r);
}

static void fetch_get_cb(void *arg, const struct dht_get_result *res)
{
	struct gw_fetch_get *fg = arg;
	struct gw_fetch *f = fg->f;
	struct gw *g = f->g;
	size_t i = fg->ovl;
	if (g) {
		struct gw_ovl *o = &g->ovl[i];
		if (res->status == 0)
			o->found++;
		else if (res->status == DDNS_ENOTFOUND)
			o->notfound++;
		else
			o->failed++;
		if (res->status != DDNS_ECANCELLED) {
			gw_hist_add(&o->rpcs, res->rpcs);
			gw_hist_add(&o->hops, res->hops);
		}
		for (struct gw_query *w = f->waiters; w; w = w->wnext) {
			w->rpcs[i] += res->rpcs;
			w->hops[i] += res->hops;
		}
	}
	if (g && !f->delivered && res->status == 0 && g->p.current) {
		/* The get stays outstanding until the check answers. */
		struct gw_recheck *r = malloc(sizeof(*r) + (res->len ? res->len : 1));
		if (r) {
			r->f = f;
			r->ovl = i;
			r->res = *res;
			memcpy(r->blk, res->block, res->len);
			r->res.block = r->blk;
			g->st.current_checks++;
			ddns_blockval_check_current(g->p.current, g->ovl[i].dht, f->key, r->blk,
						    res->len, recheck_done, r);
			return;
		}
		struct dht_get_result nomem = *res;
		nomem.status = -ENOMEM;
		fetch_result(f, i, &nomem);
		return;
	}
	fetch_result(f, i, res);
}

/* A get's verdict (after the currency check, if any): deliver it or wait
 * for the other overlays; free the fetch after its last get. */
static void fetch_result(struct gw_fetch *f, size_t i, const struct dht_get_result *res)
{
	struct gw *g = f->g;
	f->outstanding--;
	if (g && !f->delivered) {
		int st = res->status;
		struct gw_rrset *rs = NULL;
		if (st == 0)
			st = rs_from_block(g, f, res, &rs);
		if (st == 0) {
			g->ovl[i].first++;
			fetch_deliver(f, 0, rs);
			rs_unref(rs);
		} else {
			if (i == 0 || !f->have_status0) {
				f->status0 = st;
				f->have_status0 = true;
			}
			if (f->outstanding == 0)
				fetch_deliver(f, f->status0, NULL);
		}
	}
	if (f->outstanding == 0)
		fetch_free(f);
}

/* Make q wait for <name, type>: join an outstanding fetch or start one.
 * Returns 0 or an error (q not waiting). */
static int fetch_join(struct gw_query *q, const struct dns_name *name,
		      const uint8_t key[DHT_KEY_LEN], uint16_t type)
{
	struct gw *g = q->g;
	struct gw_fetch *f;
	HASH_FIND(hh, g->fetching, key, DHT_KEY_LEN, f);
	if (f) {
		g->st.coalesced++;
	} else if (!q->touched_dht && g->npending > g->p.max_pending) {
		/* overloaded: no new query starts a lookup; cached answers, and
		 * the later steps of queries already under way, go on */
		return -EBUSY;
	} else {
		f = calloc(1, sizeof(*f));
		if (!f)
			return -ENOMEM;
		memcpy(f->key, key, DHT_KEY_LEN);
		dns_name_copy(&f->name, name);
		f->type = type;
		f->g = g;
		DL_APPEND(g->all_fetches, f);
		size_t n = g->p.mode == GW_MODE_COMPARE ? g->novl : 1;
		int rc = 0;
		for (size_t i = 0; i < n; i++) {
			f->gets[i].f = f;
			f->gets[i].ovl = i;
			rc = dht_get(g->ovl[i].dht, key, fetch_get_cb, &f->gets[i]);
			if (rc == 0) {
				f->outstanding++;
				g->ovl[i].lookups++;
			}
		}
		if (f->outstanding == 0) {
			fetch_free(f);
			return rc ? rc : -ENOMEM;
		}
		HASH_ADD(hh, g->fetching, key, DHT_KEY_LEN, f);
		f->in_hash = true;
	}
	q->waiting = f;
	q->wnext = f->waiters;
	f->waiters = q;
	q->touched_dht = true;
	return 0;
}

/* Take steps until one needs the DHT (q then waits) or q is answered. */
static void q_run(struct gw_query *q)
{
	struct gw *g = q->g;
	for (;;) {
		static const uint16_t step_type[] = {[ST_CNAME] = DNS_T_CNAME,
						     [ST_NSEC] = DNS_T_NSEC,
						     [ST_SOA] = DNS_T_SOA,
						     [ST_DENIAL] = DNS_DENIAL_TYPE};
		uint16_t t = q->stage == ST_TYPE || q->stage == ST_WILD ? q->q.qtype
									: step_type[q->stage];
		const struct dns_name *at = q->stage == ST_SOA || q->stage == ST_DENIAL ? &q->soa_at
					    : q->stage == ST_WILD		       ? &q->wild
										       : &q->cur;
		uint8_t key[DHT_KEY_LEN];
		struct gw_centry *e;
		if (q->stage == ST_DENIAL) {
			struct dns_name loc;
			if (dns_denial_locator(at, dns_denial_class(at, &q->cur), &loc) != 0) {
				q_answer(q, q->neg_rcode, -1, NULL, NULL, 0);
				return;
			}
			dns_block_key(&loc, t, key);
		} else {
			dns_block_key(at, t, key);
		}
		if ((e = cache_find(g, &g->pos, &g->npos, key))) {
			g->st.cache_hits++;
			struct gw_rrset *rs = rs_ref(e->rs);
			bool done = q_result(q, 0, rs);
			rs_unref(rs);
			if (done)
				return;
			continue;
		}
		if (cache_find(g, &g->neg, &g->nneg, key)) {
			g->st.neg_hits++;
			if (q_result(q, DDNS_ENOTFOUND, NULL))
				return;
			continue;
		}
		if ((e = cache_find(g, &g->fail, &g->nfail, key))) {
			g->st.servfail_hits++;
			if (q_result(q, e->status, NULL))
				return;
			continue;
		}
		/* RFC 8198: a cached denial block may answer without the DHT */
		if (q->stage == ST_TYPE) {
			if (q_aggressive(q))
				return;
			if (q->stage != ST_TYPE)
				continue;
		}
		g->st.cache_misses++;
		int rc = fetch_join(q, at, key, t);
		if (rc == -EBUSY) {
			g->st.overload++;
			q_answer(q, DNS_R_SERVFAIL, 0, "overloaded", NULL, 0);
		} else if (rc) {
			q_fail(q, rc);
		}
		return;
	}
}

/* ---- entry points ------------------------------------------------------- */

static bool meta_type(uint16_t t)
{
	/* RFC 6895 §3.1: OPT, and the question-only types 128-255. RRSIG is
	 * never a block of its own. */
	return t == DNS_T_OPT || t == DNS_T_RRSIG || (t >= 128 && t <= 255) || t == 0;
}

int gw_handle_packet(struct gw *g, const uint8_t *pkt, size_t len, size_t max_udp,
		     gw_answer_cb cb, void *arg)
{
	struct dns_msg m;
	struct gw_query *q;
	int rc;

	if (len < DNS_HEADER_LEN || pkt[2] & 0x80) {
		/* No header to answer to, or a response: never answer those
		 * (RFC 1035 §7.3, and no reflection loops). */
		g->st.dropped++;
		cb(arg, NULL, 0);
		return 0;
	}
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->g = g;
	q->cb = cb;
	q->arg = arg;
	q->max_udp = max_udp;
	q->qlen = len;
	q->id = ddns_get_u16(pkt);
	q->flags = ddns_get_u16(pkt + 2);
	DL_APPEND(g->queries, q);
	g->npending++;
	g->st.queries++;
	if (max_udp)
		g->st.queries_udp++;
	else
		g->st.queries_tcp++;

	dns_msg_init(&m);
	rc = dns_msg_parse(&m, pkt, len);
	if (rc == -ENOMEM) {
		q_detach(q);
		q_free(q);
		return -ENOMEM;
	}
	if (rc) {
		q_answer(q, DNS_R_FORMERR, -1, NULL, NULL, 0);
		return 0;
	}
	if (m.qdcount == 1) {
		q->has_q = true;
		q->q = m.qd[0];
	}
	if (m.edns.present) {
		q->edns = true;
		q->udp_size = m.edns.udp_size;
		q->do_bit = (m.edns.flags & DNS_EDNS_DO) != 0;
	}
	if (DNS_OPCODE(q->flags) != 0) {
		q_answer(q, DNS_R_REFUSED, -1, NULL, NULL, 0);
	} else if (m.qdcount != 1) {
		q_answer(q, DNS_R_FORMERR, -1, NULL, NULL, 0);
	} else if (m.edns.present && m.edns.version != 0) {
		q_answer(q, DNS_R_BADVERS, -1, NULL, NULL, 0); /* RFC 6891 §6.1.3 */
	} else if (q->q.qclass == DNS_C_CH) {
		char txt[GW_CH_MAX_STRINGS][256];
		size_t n;
		g->st.queries_ch++;
		struct dns_name low;
		dns_name_copy(&low, &q->q.qname);
		dns_name_to_lower(&low);
		n = gw_ch_strings(g, &low, txt);
		if (n == 0)
			q_answer(q, DNS_R_REFUSED, -1, NULL, NULL, 0);
		else if (q->q.qtype != DNS_T_TXT && q->q.qtype != DNS_T_ANY)
			q_answer(q, DNS_R_NOERROR, -1, NULL, NULL, 0);
		else
			q_answer(q, DNS_R_NOERROR, -1, NULL, txt, n);
	} else if (q->q.qclass != DNS_C_IN) {
		q_answer(q, DNS_R_REFUSED, -1, NULL, NULL, 0);
	} else if (meta_type(q->q.qtype)) {
		g->st.queries_in++;
		q_answer(q, DNS_R_NOTIMP, -1, NULL, NULL, 0);
	} else {
		g->st.queries_in++;
		dns_name_copy(&q->cur, &q->q.qname);
		q->stage = ST_TYPE;
		q_run(q);
	}
	dns_msg_clear(&m);
	return 0;
}

/* The gateway without sockets (gw_new in gw_net.c adds them). */
struct gw *gw_core_new(const struct gw_params *p, int *err)
{
	struct gw *g = NULL;
	int rc = -EINVAL;
	uint64_t seed;

	if (!p || p->noverlays == 0 || p->noverlays > GW_MAX_OVERLAYS || p->udp_max < DNS_UDP_MIN ||
	    p->amp_factor == 1)
		goto out;
	for (size_t i = 0; i < p->noverlays; i++)
		if (!p->overlays[i].dht)
			goto out;
	rc = -ENOMEM;
	g = calloc(1, sizeof(*g));
	if (!g)
		goto out;
	g->p = *p;
	for (size_t i = 0; i < GW_MAX_OVERLAYS; i++)
		g->p.overlays[i].name = NULL;
	g->p.listen = NULL;
	g->p.identity = NULL;
	g->novl = p->noverlays;
	for (size_t i = 0; i < g->novl; i++) {
		g->ovl[i].dht = p->overlays[i].dht;
		snprintf(g->ovl[i].name, sizeof(g->ovl[i].name), "%s",
			 p->overlays[i].name ? p->overlays[i].name
					     : dht_overlay_name(p->overlays[i].dht));
	}
	if (p->identity) {
		g->identity = strdup(p->identity);
	} else {
		char host[256];
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "ddns");
		host[sizeof(host) - 1] = 0;
		g->identity = strdup(host);
	}
	if (!g->identity)
		goto out;
	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (uint64_t)(uintptr_t)g ^ gw_now_us(g); /* not security relevant */
	ddns_rng_seed(&g->rng, seed);
	rc = 0;
out:
	if (rc) {
		gw_core_free(g);
		g = NULL;
	}
	if (err)
		*err = rc;
	return g;
}

/* Abandon pending queries and free the core (the sockets are gone). */
void gw_core_free(struct gw *g)
{
	if (!g)
		return;
	/* Fetches stay until the DHT calls back, but forget the gateway. */
	struct gw_fetch *f, *ftmp;
	DL_FOREACH_SAFE(g->all_fetches, f, ftmp)
	{
		if (f->in_hash)
			HASH_DEL(g->fetching, f);
		f->in_hash = false;
		f->waiters = NULL;
		DL_DELETE(g->all_fetches, f);
		f->g = NULL;
	}
	while (g->queries) {
		struct gw_query *q = g->queries;
		q->waiting = NULL;
		q_detach(q);
		q->cb(q->arg, NULL, 0);
		q_free(q);
	}
	cache_clear(&g->pos, &g->npos);
	cache_clear(&g->neg, &g->nneg);
	cache_clear(&g->fail, &g->nfail);
	cache_clear(&g->exist, &g->nexist);
	free(g->identity);
	free(g->listen);
	free(g);
}
