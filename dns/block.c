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
	for (size_t i = 0; i < b->nmore; i++)
		dns_block_set_clear(&b->more[i]);
	free(b->more);
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

int dns_block_locate(const struct dns_block *b, struct dns_name *owner, uint16_t *type,
		     uint8_t key[DNS_BLOCK_KEY_LEN])
{
	if (b->denial) {
		if (dns_denial_locator(&b->zone, b->denial_class, owner) != 0)
			return DDNS_EMALFORMED;
		*type = DNS_DENIAL_TYPE;
	} else {
		dns_name_copy(owner, dns_block_set_owner(&b->data));
		*type = dns_block_set_type(&b->data);
	}
	dns_block_key(owner, *type, key);
	return 0;
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

/* Encoded size of one set. */
static size_t set_size(const struct dns_block_set *s)
{
	size_t need = s->rrs.rr[0].owner.len + 10u + 1u;
	for (size_t j = 0; j < s->rrs.n; j++)
		need += 2u + s->rrs.rr[j].rdlen;
	for (size_t j = 0; j < s->sigs.n; j++)
		need += 2u + s->sigs.rr[j].rdlen;
	return need;
}

/* Room for need more octets in out (reserved), or why not: "too big" and
 * "out of memory" are told apart and nothing is written on either. */
static int reserve(struct ddns_wbuf *out, size_t need)
{
	if (need > DNS_BLOCK_MAX || (out->max && (out->len > out->max || need > out->max - out->len)))
		return DDNS_ETOOBIG;
	return ddns_wbuf_reserve(out, need) ? 0 : -ENOMEM;
}

static void write_set(struct ddns_wbuf *out, const struct dns_block_set *s)
{
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
	size_t need = 3;
	for (size_t i = 0; i < n; i++)
		need += set_size(sets[i]);
	int rc = reserve(out, need);
	if (rc)
		return rc;
	ddns_wbuf_u8(out, DNS_BLOCK_MAGIC);
	ddns_wbuf_u8(out, DNS_BLOCK_VERSION);
	ddns_wbuf_u8(out, (uint8_t)(n - 1));
	for (size_t i = 0; i < n && !out->err; i++)
		write_set(out, sets[i]);
	return out->err ? -ENOMEM : 0;
}

/* ---- denial blocks ---- */

static char octet_class(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		c = (uint8_t)(c - 'A' + 'a');
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ? (char)c : '_';
}

static bool class_ok(char c)
{
	return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
}

/* The label of name just below apex (name strictly below apex): offset of
 * its length octet in name->data. */
static size_t label_below(const struct dns_name *apex, const struct dns_name *name)
{
	unsigned skip = dns_name_label_count(name) - dns_name_label_count(apex) - 1;
	size_t off = 0;
	while (skip--)
		off += 1u + name->data[off];
	return off;
}

char dns_denial_class(const struct dns_name *apex, const struct dns_name *name)
{
	if (dns_name_label_count(name) <= dns_name_label_count(apex) ||
	    !dns_name_is_subdomain(name, apex))
		return 0;
	size_t off = label_below(apex, name);
	return octet_class(name->data[off + 1]); /* labels below the root are never empty */
}

int dns_denial_locator(const struct dns_name *apex, char cls, struct dns_name *out)
{
	uint8_t lab[2] = {1, (uint8_t)cls};
	return dns_name_concat(out, lab, 2, apex);
}

/* The NSEC rules of a denial block's first 1 + nmore sets. */
static int check_denial_sets(const struct dns_block *b)
{
	for (size_t i = 0; i <= b->nmore; i++) {
		const struct dns_block_set *s = i ? &b->more[i - 1] : &b->data;
		int rc = check_set(s, true, 0);
		if (rc)
			return rc;
		if (dns_block_set_type(s) != DNS_T_NSEC || s->rrs.n != 1 ||
		    s->rrs.rr[0].rclass != b->data.rrs.rr[0].rclass ||
		    !dns_name_is_subdomain(dns_block_set_owner(s), &b->zone))
			return DDNS_EMALFORMED;
		/* one set per owner: they come in strictly increasing order */
		if (i && dns_name_canon_cmp(dns_block_set_owner(i > 1 ? &b->more[i - 2] : &b->data),
					    dns_block_set_owner(s)) >= 0)
			return DDNS_EMALFORMED;
	}
	return 0;
}

static int encode_denial(const struct dns_block *b, struct ddns_wbuf *out)
{
	if (!class_ok(b->denial_class) || b->nmore >= DNS_DENIAL_SETS_MAX ||
	    b->nchain > DNS_BLOCK_CHAIN_MAX || b->data.rrs.n == 0)
		return DDNS_EMALFORMED;
	int rc = check_denial_sets(b);
	if (rc)
		return rc;
	uint16_t rclass = b->data.rrs.rr[0].rclass;
	size_t need = 3 + 1 + b->zone.len + 2 + set_size(&b->data);
	for (size_t i = 0; i < b->nmore; i++)
		need += set_size(&b->more[i]);
	for (size_t i = 0; i < b->nchain; i++) {
		if ((rc = check_set(&b->chain[i], false, rclass)) != 0)
			return rc;
		for (size_t j = 0; j < i; j++)
			if (same_set(&b->chain[i], &b->chain[j]))
				return DDNS_EMALFORMED;
		need += set_size(&b->chain[i]);
	}
	if ((rc = reserve(out, need)) != 0)
		return rc;
	ddns_wbuf_u8(out, DNS_BLOCK_MAGIC);
	ddns_wbuf_u8(out, DNS_BLOCK_DENIAL_VERSION);
	ddns_wbuf_u8(out, (uint8_t)b->nchain);
	ddns_wbuf_u8(out, (uint8_t)b->denial_class);
	ddns_wbuf_put(out, b->zone.data, b->zone.len);
	ddns_wbuf_u16(out, (uint16_t)b->nmore);
	write_set(out, &b->data);
	for (size_t i = 0; i < b->nmore && !out->err; i++)
		write_set(out, &b->more[i]);
	for (size_t i = 0; i < b->nchain && !out->err; i++)
		write_set(out, &b->chain[i]);
	return out->err ? -ENOMEM : 0;
}

int dns_block_encode(const struct dns_block *b, struct ddns_wbuf *out)
{
	const struct dns_block_set *sets[1 + DNS_BLOCK_CHAIN_MAX];
	if (b->denial)
		return encode_denial(b, out);
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
	if (r.err || magic != DNS_BLOCK_MAGIC ||
	    (version != DNS_BLOCK_VERSION && version != DNS_BLOCK_DENIAL_VERSION) ||
	    nchain > DNS_BLOCK_CHAIN_MAX)
		goto out;
	if (version == DNS_BLOCK_DENIAL_VERSION) {
		b->denial = true;
		b->denial_class = (char)ddns_rbuf_u8(&r);
		if (r.err || !class_ok(b->denial_class) ||
		    dns_name_from_wire(&b->zone, r.p, r.len, &r.off, false) != 0)
			goto out;
		uint16_t nmore = ddns_rbuf_u16(&r);
		if (r.err || nmore >= DNS_DENIAL_SETS_MAX)
			goto out;
		rc = decode_set(&r, &b->data);
		for (uint16_t i = 0; rc == 0 && i < nmore; i++) {
			/* grown one by one: a count costs only the sets that are there */
			struct dns_block_set *m = realloc(b->more, (b->nmore + 1) * sizeof(*m));
			if (!m) {
				rc = -ENOMEM;
				break;
			}
			b->more = m;
			memset(&m[b->nmore], 0, sizeof(*m));
			rc = decode_set(&r, &m[b->nmore++]);
		}
		if (rc)
			goto out;
		rc = DDNS_EMALFORMED;
		if (b->data.rrs.n == 0 || check_denial_sets(b) != 0)
			goto out;
	}
	if (nchain) {
		b->chain = calloc(nchain, sizeof(*b->chain));
		if (!b->chain) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if (!b->denial) {
		rc = decode_set(&r, &b->data);
		if (rc)
			goto out;
		rc = check_set(&b->data, true, 0);
		if (rc)
			goto out;
	}
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
		bool has_ns = false, has_soa = false;
		for (ge = g; ge < z.n && dns_name_equal(&z.rr[ge].owner, &z.rr[g].owner); ge++) {
			has_ns |= z.rr[ge].type == DNS_T_NS;
			has_soa |= z.rr[ge].type == DNS_T_SOA;
		}
		for (size_t i = g, j; i < ge; i = j) {
			j = dns_rrset_end(&z, i);
			if (z.rr[i].type == DNS_T_RRSIG)
				continue;
			/* At a delegation point <name, NSEC> is the child's apex
			 * NSEC (a query for it is answered by the child zone). The
			 * parent's NSEC there travels in the parent's denial blocks
			 * only, or the two zones would overwrite each other's block
			 * (the parent publishing the cut without its DS, as the
			 * testbed and 'ddns delegate' do, even claims there is
			 * none). A child that is not signed has no records here. */
			if (z.rr[i].type == DNS_T_NSEC && has_ns && !has_soa)
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

/* The NSEC's next name. */
static bool nsec_next(const struct dns_block_set *s, struct dns_name *next)
{
	size_t off = 0;
	const struct dns_rr *r = &s->rrs.rr[0];
	return dns_name_from_wire(next, r->rdata, r->rdlen, &off, false) == 0;
}

/* First octet (case-folded) of name's label below apex, or -1 for the apex
 * itself (name at or below apex). */
static int first_octet(const struct dns_name *apex, const struct dns_name *name)
{
	if (dns_name_label_count(name) <= dns_name_label_count(apex))
		return -1;
	uint8_t c = name->data[label_below(apex, name) + 1];
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

bool dns_denial_complete(const struct dns_block *b)
{
	size_t n = 1 + b->nmore;
	struct dns_name wild;
	uint8_t star[2] = {1, '*'};
	if (!b->denial || dns_name_concat(&wild, star, 2, &b->zone) != 0)
		return false;
	bool wild_ok = false;
	for (size_t i = 0; i < n; i++) {
		const struct dns_block_set *s = i ? &b->more[i - 1] : &b->data;
		struct dns_name next;
		if (!nsec_next(s, &next))
			return false;
		bool wraps = dns_name_equal(&next, &b->zone);
		/* the chain goes on inside the class: its next set is here too */
		if (!wraps && dns_denial_class(&b->zone, &next) == b->denial_class) {
			bool found = false;
			for (size_t j = 0; j < n && !found; j++)
				found = dns_name_equal(dns_block_set_owner(j ? &b->more[j - 1] : &b->data),
						       &next);
			if (!found)
				return false;
		}
		if (dns_name_canon_cmp(dns_block_set_owner(s), &wild) <= 0 &&
		    (wraps || dns_name_canon_cmp(&wild, &next) < 0))
			wild_ok = true;
	}
	if (!wild_ok)
		return false;
	/* where the names of each octet of the class begin, an NSEC spans it */
	for (unsigned v = 0; v < 256; v++) {
		if ((v >= 'A' && v <= 'Z') || octet_class((uint8_t)v) != b->denial_class)
			continue;
		bool spanned = false;
		for (size_t i = 0; i < n && !spanned; i++) {
			const struct dns_block_set *s = i ? &b->more[i - 1] : &b->data;
			struct dns_name next;
			if (!nsec_next(s, &next))
				return false;
			int fo = first_octet(&b->zone, dns_block_set_owner(s));
			int fn = dns_name_equal(&next, &b->zone) ? 256 : first_octet(&b->zone, &next);
			spanned = fo < (int)v && fn >= (int)v;
		}
		if (!spanned)
			return false;
	}
	return true;
}

/* ---- denial blocks of a zone ---- */

/* The zone's NSEC sets, one per owner, in canonical order. */
struct nsec_sets {
	struct dns_block_set *v;
	size_t n;
	uint8_t *first; /* first octet of each owner's label below the apex,
			   lowercased; the apex's is unused */
};

static void nsec_sets_free(struct nsec_sets *ns)
{
	free_sets(ns->v, ns->n);
	free(ns->first);
}

static int collect_nsec(const struct dns_rrlist *z, const struct dns_name *apex,
			struct nsec_sets *ns)
{
	size_t cap = 0;
	for (size_t g = 0, ge; g < z->n; g = ge) {
		/* sorted: an owner's records (its RRSIGs too) are together, so its
		 * NSEC set is looked for within its group, not the whole zone */
		for (ge = g + 1; ge < z->n && dns_name_equal(&z->rr[ge].owner, &z->rr[g].owner); ge++)
			;
		size_t i = g;
		while (i < ge && z->rr[i].type != DNS_T_NSEC)
			i++;
		const struct dns_rr *rr = &z->rr[i < ge ? i : g];
		if (i == ge || !dns_name_is_subdomain(&rr->owner, apex))
			continue;
		if (ns->n == cap) {
			size_t nc = cap ? 2 * cap : 256;
			struct dns_block_set *v = realloc(ns->v, nc * sizeof(*v));
			if (!v)
				return -ENOMEM;
			ns->v = v;
			cap = nc;
		}
		struct dns_block_set *v = ns->v;
		memset(&v[ns->n], 0, sizeof(*v));
		const struct dns_rrlist group = {z->rr + g, ge - g, ge - g};
		int rc = dns_block_set_from_list(&v[ns->n++], &group, &rr->owner, DNS_T_NSEC);
		if (rc)
			return rc;
		if (v[ns->n - 1].rrs.n != 1 || v[ns->n - 1].sigs.n == 0) {
			/* two NSEC records at one owner, or unsigned: not a chain */
			dns_block_set_clear(&v[--ns->n]);
		}
	}
	ns->first = calloc(ns->n ? ns->n : 1, 1);
	if (!ns->first)
		return -ENOMEM;
	for (size_t i = 0; i < ns->n; i++) {
		int f = first_octet(apex, dns_block_set_owner(&ns->v[i]));
		ns->first[i] = f < 0 ? 0 : (uint8_t)f;
	}
	return 0;
}

/* Index of the last set whose owner sorts before every name whose label
 * below the apex starts with octet v (the apex, index 0, at the least). */
static size_t pred_of_octet(const struct nsec_sets *ns, unsigned v)
{
	size_t last = 0;
	for (size_t i = 1; i < ns->n && ns->first[i] < v; i++)
		last = i;
	return last;
}

/* Index of the set matching or covering name (name below the apex). */
static size_t cover_of(const struct nsec_sets *ns, const struct dns_name *name)
{
	size_t last = 0;
	for (size_t i = 1; i < ns->n && dns_name_canon_cmp(dns_block_set_owner(&ns->v[i]), name) <= 0;
	     i++)
		last = i;
	return last;
}

int dns_block_build_denial(const struct dns_rrlist *zone, const struct dns_rrlist *chain,
			   bool carry_chain, struct dns_blocklist *out)
{
	static const char classes[DNS_DENIAL_CLASSES + 1] = "0123456789abcdefghijklmnopqrstuvwxyz_";
	struct dns_rrlist z;
	struct nsec_sets ns = {0};
	struct dns_block_set *cs = NULL, skey;
	size_t ncs = 0, n0 = out->n;
	struct dns_name apex, wild;
	bool *pick = NULL;
	struct ddns_wbuf w;
	int rc;

	dns_rrlist_init(&z);
	memset(&skey, 0, sizeof(skey));
	ddns_wbuf_init(&w, DNS_BLOCK_MAX);
	size_t nsoa = 0;
	for (size_t i = 0; i < zone->n; i++)
		if (zone->rr[i].type == DNS_T_SOA && nsoa++ == 0)
			dns_name_copy(&apex, &zone->rr[i].owner);
	rc = DDNS_EMALFORMED;
	if (nsoa != 1)
		goto out;
	for (size_t i = 0; i < zone->n; i++)
		if ((rc = dns_rrlist_add(&z, &zone->rr[i])) != 0)
			goto out;
	dns_rrlist_sort_canonical(&z);
	if ((rc = collect_nsec(&z, &apex, &ns)) != 0)
		goto out;
	if (ns.n == 0 || !dns_name_equal(dns_block_set_owner(&ns.v[0]), &apex))
		goto out; /* no chain, or none that starts at the apex: nothing to add */
	if (carry_chain && (rc = group_chain(chain, &cs, &ncs)) != 0)
		goto out;
	rc = dns_block_set_from_list(&skey, &z, &apex, DNS_T_DNSKEY);
	if (rc && rc != DDNS_ENOTFOUND)
		goto out;
	bool have_key = rc == 0;
	uint8_t star[2] = {1, '*'};
	if ((rc = dns_name_concat(&wild, star, 2, &apex)) != 0)
		goto out;
	size_t wcover = cover_of(&ns, &wild);
	rc = -ENOMEM;
	if (!(pick = calloc(ns.n, sizeof(*pick))))
		goto out;
	for (const char *c = classes; *c; c++) {
		memset(pick, 0, ns.n * sizeof(*pick));
		pick[wcover] = true;
		for (unsigned v = 0; v < 256; v++)
			if (v < 'A' || v > 'Z') /* owners are compared case-folded */
				if (octet_class((uint8_t)v) == *c)
					pick[pred_of_octet(&ns, v)] = true;
		for (size_t i = 1; i < ns.n; i++)
			if (octet_class(ns.first[i]) == *c)
				pick[i] = true;
		struct dns_block b;
		dns_block_init(&b);
		b.denial = true;
		b.denial_class = *c;
		dns_name_copy(&b.zone, &apex);
		size_t nsel = 0;
		for (size_t i = 0; i < ns.n; i++)
			nsel += pick[i];
		rc = DDNS_ETOOBIG;
		if (nsel > DNS_DENIAL_SETS_MAX)
			goto out;
		rc = -ENOMEM;
		/* The sets are borrowed from ns: b is not cleared, only its arrays freed. */
		struct dns_block_set *sel = malloc(nsel * sizeof(*sel));
		struct dns_block_set *chn = malloc((1 + ncs) * sizeof(*chn));
		if (!sel || !chn) {
			free(sel);
			free(chn);
			goto out;
		}
		size_t k = 0;
		for (size_t i = 0; i < ns.n; i++)
			if (pick[i])
				sel[k++] = ns.v[i];
		b.data = sel[0];
		b.more = sel + 1;
		b.nmore = nsel - 1;
		b.chain = chn;
		if (carry_chain && have_key)
			chn[b.nchain++] = skey;
		for (size_t i = 0; carry_chain && i < ncs && b.nchain < DNS_BLOCK_CHAIN_MAX; i++) {
			bool dup = false;
			for (size_t j = 0; j < b.nchain && !dup; j++)
				dup = same_set(&cs[i], &chn[j]);
			if (!dup)
				chn[b.nchain++] = cs[i];
		}
		w.len = 0;
		rc = dns_block_encode(&b, &w);
		free(sel);
		free(chn);
		if (rc == 0) {
			struct dns_block_set loc;
			struct dns_rr lr = {.type = DNS_DENIAL_TYPE, .rclass = DNS_C_IN};
			memset(&loc, 0, sizeof(loc));
			if ((rc = dns_denial_locator(&apex, *c, &lr.owner)) == 0 &&
			    (rc = dns_rrlist_add(&loc.rrs, &lr)) == 0)
				rc = blocklist_add(out, &loc, &w);
			dns_block_set_clear(&loc);
		}
		if (rc)
			goto out;
	}
	rc = 0;
out:
	if (rc) {
		while (out->n > n0)
			free(out->v[--out->n].data);
	}
	free(pick);
	ddns_wbuf_free(&w);
	dns_block_set_clear(&skey);
	free_sets(cs, ncs);
	nsec_sets_free(&ns);
	dns_rrlist_free(&z);
	return rc;
}

const struct dns_rr *dns_nsec_find(const struct dns_rr *nsec, size_t n,
				   const struct dns_name *name, bool *match)
{
	for (size_t i = 0; i < n; i++) {
		const struct dns_rr *r = &nsec[i];
		struct dns_name next;
		size_t off = 0;
		if (r->type != DNS_T_NSEC ||
		    dns_name_from_wire(&next, r->rdata, r->rdlen, &off, false) != 0)
			continue;
		int c = dns_name_canon_cmp(&r->owner, name);
		if (c == 0) {
			*match = true;
			return r;
		}
		/* owner < name < next; the last NSEC's next is the apex, which
		 * sorts before every name of the zone (the wrap) */
		if (c < 0 && (dns_name_canon_cmp(name, &next) < 0 ||
			      dns_name_canon_cmp(&next, &r->owner) <= 0)) {
			*match = false;
			return r;
		}
	}
	return NULL;
}

/* The longest common ancestor of a and b. */
static void common_ancestor(const struct dns_name *a, const struct dns_name *b,
			    struct dns_name *out)
{
	struct dns_name x;
	dns_name_copy(&x, a);
	while (!dns_name_is_subdomain(b, &x))
		if (dns_name_parent(&x, &x) != 0)
			break;
	dns_name_copy(out, &x);
}

int dns_nsec_closest_encloser(const struct dns_rr *cover, const struct dns_name *name,
			      struct dns_name *ce)
{
	struct dns_name next, a, b;
	size_t off = 0;
	if (dns_name_from_wire(&next, cover->rdata, cover->rdlen, &off, false) != 0)
		return DDNS_EMALFORMED;
	common_ancestor(name, &cover->owner, &a);
	common_ancestor(name, &next, &b);
	dns_name_copy(ce, dns_name_label_count(&a) >= dns_name_label_count(&b) ? &a : &b);
	return 0;
}
