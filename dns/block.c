/*
 * block.c - DDNS block codec, key and zone builder (see block.h for the
 * format and docs/PROTOCOL.md, "DDNS blocks").
 *
 * The encoder and the decoder enforce the same rules (check_set), so
 * whatever we encode decodes, and whatever decodes is a well-formed block
 * whose records a holder may walk without further checks. The decoder
 * never allocates from a count it has read: it grows lists record by
 * record as the bytes are actually there, so a hostile count costs
 * nothing.
 */
#include "dns/block.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "dns/dnssec.h"
#include "dns/name.h"
#include "dns/rdata.h"

void dns_block_init(struct dns_block *b)
{
	memset(b, 0, sizeof(*b));
}

void dns_block_set_clear(struct dns_block_set *s)
{
	dns_rrlist_free(&s->rrs);
	dns_rrlist_free(&s->sigs);
}

void dns_block_clear(struct dns_block *b)
{
	dns_block_set_clear(&b->data);
	for (size_t i = 0; i < b->nchain; i++)
		dns_block_set_clear(&b->chain[i]);
	free(b->chain);
	dns_block_init(b);
}

void dns_block_key(const struct dns_name *owner, uint16_t type, uint8_t key[DNS_BLOCK_KEY_LEN])
{
	struct dns_name lc;
	uint8_t t[2];
	ddns_put_u16(t, type);
	struct ddns_sha1 h;
	dns_name_copy(&lc, owner);
	dns_name_to_lower(&lc);
	ddns_sha1_init(&h);
	ddns_sha1_update(&h, lc.data, lc.len);
	ddns_sha1_update(&h, t, 2);
	ddns_sha1_final(&h, key);
}

static uint16_t sig_covered(const struct dns_rr *sig)
{
	return sig->rdlen >= 2 ? ddns_get_u16(sig->rdata) : 0;
}

/* Types a block may hold as its data set: anything but meta types (OPT,
 * RRSIG itself, and the query-only range 128-255, RFC 6895 §3.1). */
static bool data_type_ok(uint16_t t)
{
	return t != 0 && t != DNS_T_OPT && t != DNS_T_RRSIG && (t < 128 || t > 255);
}

static bool chain_type_ok(uint16_t t)
{
	return t == DNS_T_DNSKEY || t == DNS_T_DS;
}

/*
 * The rules every set of a block obeys (encoder and decoder alike); data
 * is true for the block's first set, rclass is the data set's class for
 * chain sets.
 */
static int check_set(const struct dns_block_set *s, bool data, uint16_t rclass)
{
	if (s->rrs.n == 0 || s->rrs.n > 0xffff || s->sigs.n > DNS_BLOCK_SIG_MAX)
		return DDNS_EMALFORMED;
	const struct dns_rr *f = &s->rrs.rr[0];
	if (data ? !data_type_ok(f->type) : !chain_type_ok(f->type))
		return DDNS_EMALFORMED;
	if (!data && f->rclass != rclass)
		return DDNS_EMALFORMED;
	for (size_t i = 0; i < s->rrs.n; i++) {
		const struct dns_rr *rr = &s->rrs.rr[i];
		if (rr->type != f->type || rr->rclass != f->rclass ||
		    !dns_name_equal(&rr->owner, &f->owner) ||
		    dns_rdata_check(rr->type, rr->rdata, rr->rdlen) != 0)
			return DDNS_EMALFORMED;
	}
	for (size_t i = 0; i < s->sigs.n; i++) {
		const struct dns_rr *rr = &s->sigs.rr[i];
		struct dnssec_rrsig rs;
		if (rr->type != DNS_T_RRSIG || rr->rclass != f->rclass ||
		    !dns_name_equal(&rr->owner, &f->owner) ||
		    dnssec_rrsig_parse(rr->rdata, rr->rdlen, &rs) != 0 ||
		    rs.type_covered != f->type)
			return DDNS_EMALFORMED;
	}
	return 0;
}

static bool same_set(const struct dns_block_set *a, const struct dns_block_set *b)
{
	return dns_block_set_type(a) == dns_block_set_type(b) &&
	       dns_name_equal(dns_block_set_owner(a), dns_block_set_owner(b));
}

/* Check and write sets[0..n) (the data set first) after the header. */
static int encode_sets(const struct dns_block_set *const *sets, size_t n, struct ddns_wbuf *out)
{
	if (n == 0 || n > 1 + DNS_BLOCK_CHAIN_MAX)
		return DDNS_EMALFORMED;
	for (size_t i = 0; i < n; i++) {
		int rc = check_set(sets[i], i == 0, sets[0]->rrs.n ? sets[0]->rrs.rr[0].rclass : 0);
		if (rc)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (same_set(sets[i], sets[j]))
				return DDNS_EMALFORMED;
	}
	/* Size first, so "too big" and "out of memory" are told apart and
	 * nothing is written on either. */
	size_t need = 3;
	for (size_t i = 0; i < n; i++) {
		need += sets[i]->rrs.rr[0].owner.len + 10u + 1u;
		for (size_t j = 0; j < sets[i]->rrs.n; j++)
			need += 2u + sets[i]->rrs.rr[j].rdlen;
		for (size_t j = 0; j < sets[i]->sigs.n; j++)
			need += 2u + sets[i]->sigs.rr[j].rdlen;
	}
	if (need > DNS_BLOCK_MAX || (out->max && (out->len > out->max || need > out->max - out->len)))
		return DDNS_ETOOBIG;
	if (!ddns_wbuf_reserve(out, need))
		return -ENOMEM;
	ddns_wbuf_u8(out, DNS_BLOCK_MAGIC);
	ddns_wbuf_u8(out, DNS_BLOCK_VERSION);
	ddns_wbuf_u8(out, (uint8_t)(n - 1));
	for (size_t i = 0; i < n; i++) {
		const struct dns_block_set *s = sets[i];
		const struct dns_rr *f = &s->rrs.rr[0];
		ddns_wbuf_put(out, f->owner.data, f->owner.len);
		ddns_wbuf_u16(out, f->type);
		ddns_wbuf_u16(out, f->rclass);
		ddns_wbuf_u32(out, f->ttl);
		ddns_wbuf_u16(out, (uint16_t)s->rrs.n);
		for (size_t j = 0; j < s->rrs.n; j++) {
			ddns_wbuf_u16(out, s->rrs.rr[j].rdlen);
			ddns_wbuf_put(out, s->rrs.rr[j].rdata, s->rrs.rr[j].rdlen);
		}
		ddns_wbuf_u8(out, (uint8_t)s->sigs.n);
		for (size_t j = 0; j < s->sigs.n; j++) {
			ddns_wbuf_u16(out, s->sigs.rr[j].rdlen);
			ddns_wbuf_put(out, s->sigs.rr[j].rdata, s->sigs.rr[j].rdlen);
		}
		if (out->err)
			break;
	}
	return out->err ? -ENOMEM : 0;
}

int dns_block_encode(const struct dns_block *b, struct ddns_wbuf *out)
{
	const struct dns_block_set *sets[1 + DNS_BLOCK_CHAIN_MAX];
	if (b->nchain > DNS_BLOCK_CHAIN_MAX)
		return DDNS_EMALFORMED;
	sets[0] = &b->data;
	for (size_t i = 0; i < b->nchain; i++)
		sets[1 + i] = &b->chain[i];
	return encode_sets(sets, 1 + b->nchain, out);
}

/* Read one set at r into s (empty). */
static int decode_set(struct ddns_rbuf *r, struct dns_block_set *s)
{
	struct dns_name owner;
	if (r->err || dns_name_from_wire(&owner, r->p, r->len, &r->off, false) != 0)
		return DDNS_EMALFORMED;
	uint16_t type = ddns_rbuf_u16(r);
	uint16_t rclass = ddns_rbuf_u16(r);
	uint32_t ttl = ddns_rbuf_u32(r);
	uint16_t nrr = ddns_rbuf_u16(r);
	if (r->err)
		return DDNS_EMALFORMED;
	for (uint16_t i = 0; i < nrr; i++) {
		uint16_t rdlen = ddns_rbuf_u16(r);
		const uint8_t *rd = ddns_rbuf_take(r, rdlen);
		if (!rd)
			return DDNS_EMALFORMED;
		int rc = dns_rrlist_add_parts(&s->rrs, &owner, type, rclass, ttl, rd, rdlen);
		if (rc)
			return rc == -ENOMEM ? rc : DDNS_EMALFORMED;
	}
	uint8_t nsig = ddns_rbuf_u8(r);
	if (r->err || nsig > DNS_BLOCK_SIG_MAX)
		return DDNS_EMALFORMED;
	for (uint8_t i = 0; i < nsig; i++) {
		uint16_t rdlen = ddns_rbuf_u16(r);
		const uint8_t *rd = ddns_rbuf_take(r, rdlen);
		if (!rd)
			return DDNS_EMALFORMED;
		int rc = dns_rrlist_add_parts(&s->sigs, &owner, DNS_T_RRSIG, rclass, ttl, rd,
					      rdlen);
		if (rc)
			return rc == -ENOMEM ? rc : DDNS_EMALFORMED;
	}
	return 0;
}

int dns_block_decode(struct dns_block *b, const uint8_t *p, size_t len)
{
	struct ddns_rbuf r;
	int rc = DDNS_EMALFORMED;
	dns_block_clear(b);
	if (len > DNS_BLOCK_MAX)
		goto out;
	ddns_rbuf_init(&r, p, len);
	uint8_t magic = ddns_rbuf_u8(&r);
	uint8_t version = ddns_rbuf_u8(&r);
	uint8_t nchain = ddns_rbuf_u8(&r);
	if (r.err || magic != DNS_BLOCK_MAGIC || version != DNS_BLOCK_VERSION ||
	    nchain > DNS_BLOCK_CHAIN_MAX)
		goto out;
	if (nchain) {
		b->chain = calloc(nchain, sizeof(*b->chain));
		if (!b->chain) {
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = decode_set(&r, &b->data);
	if (rc)
		goto out;
	rc = check_set(&b->data, true, 0);
	if (rc)
		goto out;
	uint16_t rclass = b->data.rrs.rr[0].rclass;
	for (size_t i = 0; i < nchain; i++) {
		b->nchain = i + 1; /* so clear() frees what was read */
		rc = decode_set(&r, &b->chain[i]);
		if (rc)
			goto out;
		rc = check_set(&b->chain[i], false, rclass);
		if (rc)
			goto out;
		if (same_set(&b->chain[i], &b->data)) {
			rc = DDNS_EMALFORMED;
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (same_set(&b->chain[i], &b->chain[j])) {
				rc = DDNS_EMALFORMED;
				goto out;
			}
	}
	if (r.err || ddns_rbuf_left(&r) != 0) {
		rc = DDNS_EMALFORMED;
		goto out;
	}
	rc = 0;
out:
	if (rc)
		dns_block_clear(b);
	return rc;
}

int dns_block_set_from_list(struct dns_block_set *s, const struct dns_rrlist *src,
			    const struct dns_name *owner, uint16_t type)
{
	bool found = false;
	uint16_t rclass = 0;
	for (size_t i = 0; i < src->n; i++) {
		const struct dns_rr *rr = &src->rr[i];
		if (rr->type != type || !dns_name_equal(&rr->owner, owner))
			continue;
		if (!found) {
			found = true;
			rclass = rr->rclass;
		}
		if (rr->rclass != rclass)
			continue;
		int rc = dns_rrlist_add(&s->rrs, rr);
		if (rc)
			return rc;
	}
	if (!found)
		return DDNS_ENOTFOUND;
	for (size_t i = 0; i < src->n; i++) {
		const struct dns_rr *rr = &src->rr[i];
		if (rr->type == DNS_T_RRSIG && rr->rclass == rclass && sig_covered(rr) == type &&
		    dns_name_equal(&rr->owner, owner)) {
			int rc = dns_rrlist_add(&s->sigs, rr);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int dns_block_set_data(struct dns_block *b, const struct dns_rrlist *src,
		       const struct dns_name *owner, uint16_t type)
{
	if (type == DNS_T_RRSIG || b->data.rrs.n || b->data.sigs.n)
		return -EINVAL;
	int rc = dns_block_set_from_list(&b->data, src, owner, type);
	if (rc)
		dns_block_set_clear(&b->data);
	return rc;
}

int dns_block_add_chain(struct dns_block *b, const struct dns_rrlist *src,
			const struct dns_name *owner, uint16_t type)
{
	if (!chain_type_ok(type))
		return -EINVAL;
	if (b->data.rrs.n && b->data.rrs.rr[0].type == type &&
	    dns_name_equal(&b->data.rrs.rr[0].owner, owner))
		return -EEXIST;
	for (size_t i = 0; i < b->nchain; i++)
		if (dns_block_set_type(&b->chain[i]) == type &&
		    dns_name_equal(dns_block_set_owner(&b->chain[i]), owner))
			return -EEXIST;
	if (b->nchain >= DNS_BLOCK_CHAIN_MAX)
		return DDNS_ETOOBIG;
	struct dns_block_set *c = realloc(b->chain, (b->nchain + 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	b->chain = c;
	struct dns_block_set *s = &c[b->nchain];
	memset(s, 0, sizeof(*s));
	int rc = dns_block_set_from_list(s, src, owner, type);
	if (rc) {
		dns_block_set_clear(s);
		return rc;
	}
	b->nchain++;
	return 0;
}

void dns_blocklist_init(struct dns_blocklist *l)
{
	memset(l, 0, sizeof(*l));
}

void dns_blocklist_free(struct dns_blocklist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].data);
	free(l->v);
	dns_blocklist_init(l);
}

static int blocklist_add(struct dns_blocklist *l, const struct dns_block_set *data,
			 struct ddns_wbuf *w)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct dns_block_out *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	struct dns_block_out *o = &l->v[l->n++];
	dns_name_copy(&o->owner, dns_block_set_owner(data));
	o->type = dns_block_set_type(data);
	dns_block_key(&o->owner, o->type, o->key);
	o->data = w->p; /* the buffer changes hands */
	o->len = w->len;
	w->p = NULL;
	w->len = w->cap = 0;
	return 0;
}

/*
 * Group the DNSKEY and DS RRsets of a list (any order) into sets with their
 * RRSIGs. *out is a malloc'd array of *n sets.
 */
static int group_chain(const struct dns_rrlist *l, struct dns_block_set **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!l)
		return 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct dns_rr *rr = &l->rr[i];
		if (!chain_type_ok(rr->type))
			continue;
		bool seen = false;
		for (size_t j = 0; j < *n && !seen; j++)
			seen = dns_block_set_type(&(*out)[j]) == rr->type &&
			       dns_name_equal(dns_block_set_owner(&(*out)[j]), &rr->owner);
		if (seen)
			continue;
		if (*n >= DNS_BLOCK_CHAIN_MAX)
			return DDNS_ETOOBIG;
		struct dns_block_set *s = realloc(*out, (*n + 1) * sizeof(*s));
		if (!s)
			return -ENOMEM;
		*out = s;
		memset(&s[*n], 0, sizeof(s[*n]));
		(*n)++;
		int rc = dns_block_set_from_list(&s[*n - 1], l, &rr->owner, rr->type);
		if (rc)
			return rc;
	}
	return 0;
}

static void free_sets(struct dns_block_set *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dns_block_set_clear(&s[i]);
	free(s);
}

int dns_block_build_zone(const struct dns_rrlist *zone, const struct dns_rrlist *chain,
			 bool carry_chain, struct dns_blocklist *out)
{
	struct dns_rrlist z;
	struct dns_block_set *cs = NULL, data, skey;
	size_t ncs = 0;
	struct dns_name kowner; /* owner of skey when skey_ok */
	bool skey_ok = false, skey_tried = false;
	struct ddns_wbuf w;
	int rc = 0;

	dns_rrlist_init(&z);
	memset(&data, 0, sizeof(data));
	memset(&skey, 0, sizeof(skey));
	ddns_wbuf_init(&w, DNS_BLOCK_MAX);
	dns_name_set_root(&kowner);
	if (carry_chain) {
		rc = group_chain(chain, &cs, &ncs);
		if (rc)
			goto out;
	}
	for (size_t i = 0; i < zone->n; i++) {
		rc = dns_rrlist_add(&z, &zone->rr[i]);
		if (rc)
			goto out;
	}
	/* Canonical order keeps each owner's records (its RRSIGs included)
	 * together, so the RRSIGs of a set are found within its owner group. */
	dns_rrlist_sort_canonical(&z);
	for (size_t g = 0, ge; g < z.n; g = ge) {
		for (ge = g + 1; ge < z.n && dns_name_equal(&z.rr[ge].owner, &z.rr[g].owner); ge++)
			;
		for (size_t i = g, j; i < ge; i = j) {
			j = dns_rrset_end(&z, i);
			if (z.rr[i].type == DNS_T_RRSIG)
				continue;
			dns_block_set_clear(&data);
			for (size_t k = i; k < j; k++)
				if ((rc = dns_rrlist_add(&data.rrs, &z.rr[k])) != 0)
					goto out;
			for (size_t k = g; k < ge; k++)
				if (z.rr[k].type == DNS_T_RRSIG && z.rr[k].rclass == z.rr[i].rclass &&
				    sig_covered(&z.rr[k]) == z.rr[i].type &&
				    (rc = dns_rrlist_add(&data.sigs, &z.rr[k])) != 0)
					goto out;
			if (data.sigs.n == 0)
				continue; /* unsigned: glue, delegation NS */
			const struct dns_block_set *sets[2 + DNS_BLOCK_CHAIN_MAX];
			size_t n = 0;
			sets[n++] = &data;
			if (carry_chain) {
				struct dnssec_rrsig rs;
				if (dnssec_rrsig_parse(data.sigs.rr[0].rdata, data.sigs.rr[0].rdlen,
						       &rs) == 0 &&
				    (!skey_tried || !dns_name_equal(&rs.signer, &kowner))) {
					dns_block_set_clear(&skey);
					dns_name_copy(&kowner, &rs.signer);
					skey_tried = true;
					rc = dns_block_set_from_list(&skey, &z, &kowner, DNS_T_DNSKEY);
					skey_ok = rc == 0;
					if (rc && rc != DDNS_ENOTFOUND)
						goto out;
					rc = 0;
				}
				if (skey_ok && !same_set(&skey, &data))
					sets[n++] = &skey;
				for (size_t c = 0; c < ncs; c++) {
					bool dup = false;
					for (size_t k = 0; k < n && !dup; k++)
						dup = same_set(&cs[c], sets[k]);
					if (!dup && n < 1 + DNS_BLOCK_CHAIN_MAX)
						sets[n++] = &cs[c];
				}
			}
			w.len = 0;
			rc = encode_sets(sets, n, &w);
			if (rc)
				goto out;
			rc = blocklist_add(out, &data, &w);
			if (rc)
				goto out;
		}
	}
out:
	ddns_wbuf_free(&w);
	dns_block_set_clear(&data);
	dns_block_set_clear(&skey);
	free_sets(cs, ncs);
	dns_rrlist_free(&z);
	return rc;
}
