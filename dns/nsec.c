/*
 * nsec.c - whole-zone operations for signing: canonical record order, zone
 * cuts, the NSEC chain (RFC 4034 §4, RFC 4035 §2.3) and signing every
 * authoritative RRset (RFC 4035 §2.2).
 *
 * Authority: a name is authoritative data of the zone when it is the apex or
 * lies below it with no NS RRset at any name strictly between it and the
 * apex. A name with NS below the apex is a delegation point: the parent is
 * authoritative there only for DS (and its own NSEC), so only those are signed
 * and only NS/DS appear in its NSEC bit map. Names below a cut are glue (or
 * occluded data): neither signed nor part of the chain.
 */
#include "dns/dnssec.h"

#include <stdlib.h>
#include <string.h>

#include "dns/name.h"
#include "dns/rdata.h"

static int rr_cmp(const void *a, const void *b)
{
	const struct dns_rr *x = a, *y = b;
	int c = dns_name_canon_cmp(&x->owner, &y->owner);
	if (c)
		return c;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->rclass != y->rclass)
		return x->rclass < y->rclass ? -1 : 1;
	return dns_rdata_canon_cmp(x->type, x->rdata, x->rdlen, y->rdata,
				   y->rdlen);
}

void dnssec_rr_sort(struct dns_rr *rr, size_t n)
{
	if (n > 1)
		qsort(rr, n, sizeof(*rr), rr_cmp);
}

/* Index of the first record owned by name in sorted[0..n), or n. */
static size_t find_name(const struct dns_rr *sorted, size_t n,
			const struct dns_name *name)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (dns_name_canon_cmp(&sorted[mid].owner, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && dns_name_canon_cmp(&sorted[lo].owner, name) == 0)
		return lo;
	return n;
}

static bool name_has_type(const struct dns_rr *sorted, size_t n,
			  const struct dns_name *name, uint16_t type)
{
	for (size_t i = find_name(sorted, n, name);
	     i < n && dns_name_canon_cmp(&sorted[i].owner, name) == 0; i++)
		if (sorted[i].type == type)
			return true;
	return false;
}

bool dnssec_name_authoritative(const struct dns_rr *sorted, size_t n,
			       const struct dns_name *apex,
			       const struct dns_name *name, bool *delegation)
{
	*delegation = false;
	if (!dns_name_is_subdomain(name, apex))
		return false;
	if (dns_name_equal(name, apex))
		return true;
	struct dns_name p;
	if (dns_name_parent(name, &p))
		return false;
	while (!dns_name_equal(&p, apex)) {
		if (name_has_type(sorted, n, &p, DNS_T_NS))
			return false;
		if (dns_name_parent(&p, &p))
			return false;
	}
	*delegation = name_has_type(sorted, n, name, DNS_T_NS);
	return true;
}

/* Remove (and free) every record of the given type, keeping order. */
static void drop_type(struct dns_rrlist *z, uint16_t type)
{
	size_t j = 0;
	for (size_t i = 0; i < z->n; i++) {
		if (z->rr[i].type == type) {
			free(z->rr[i].rdata);
			continue;
		}
		z->rr[j++] = z->rr[i];
	}
	z->n = j;
}

/* Move every record of src to the end of dst (src left empty). */
static int move_all(struct dns_rrlist *dst, struct dns_rrlist *src)
{
	if (dst->n + src->n > dst->cap) {
		size_t cap = dst->n + src->n;
		struct dns_rr *p = realloc(dst->rr, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		dst->rr = p;
		dst->cap = cap;
	}
	if (src->n)
		memcpy(dst->rr + dst->n, src->rr, src->n * sizeof(*src->rr));
	dst->n += src->n;
	src->n = 0;
	return 0;
}

int dnssec_nsec_chain(struct dns_rrlist *zone, const struct dns_name *apex,
		      uint32_t ttl)
{
	drop_type(zone, DNS_T_NSEC);
	dnssec_rr_sort(zone->rr, zone->n);
	/* Drop exact duplicates (same owner, type, class, canonical RDATA). */
	size_t j = 0;
	for (size_t i = 0; i < zone->n; i++) {
		if (j > 0 && rr_cmp(&zone->rr[j - 1], &zone->rr[i]) == 0) {
			free(zone->rr[i].rdata);
			continue;
		}
		zone->rr[j++] = zone->rr[i];
	}
	zone->n = j;
	for (size_t i = 0; i < zone->n; i++)
		if (!dns_name_is_subdomain(&zone->rr[i].owner, apex))
			return DDNS_EOUTOFZONE;

	const struct dns_rr *rr = zone->rr;
	size_t n = zone->n;
	/* First record index of every authoritative name, in canonical order. */
	size_t *names = malloc((n ? n : 1) * sizeof(*names));
	bool *deleg = malloc((n ? n : 1) * sizeof(*deleg));
	uint16_t *types = malloc((n + 2) * sizeof(*types));
	struct dns_rrlist add;
	struct ddns_wbuf w;
	dns_rrlist_init(&add);
	ddns_wbuf_init(&w, 65535);
	int rc = 0;
	size_t k = 0;
	if (!names || !deleg || !types) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n;) {
		size_t e = i + 1;
		while (e < n && dns_name_canon_cmp(&rr[e].owner, &rr[i].owner) == 0)
			e++;
		bool d;
		if (dnssec_name_authoritative(rr, n, apex, &rr[i].owner, &d)) {
			names[k] = i;
			deleg[k++] = d;
		}
		i = e;
	}
	for (size_t a = 0; a < k; a++) {
		size_t i = names[a], nt = 0;
		for (size_t e = i;
		     e < n && dns_name_canon_cmp(&rr[e].owner, &rr[i].owner) == 0;
		     e++) {
			if (deleg[a] && rr[e].type != DNS_T_NS &&
			    rr[e].type != DNS_T_DS)
				continue;
			types[nt++] = rr[e].type;
		}
		types[nt++] = DNS_T_RRSIG;
		types[nt++] = DNS_T_NSEC;
		const struct dns_name *next = &rr[names[(a + 1) % k]].owner;
		w.len = 0;
		ddns_wbuf_put(&w, next->data, next->len);
		rc = dns_typebitmap_encode(types, nt, &w);
		if (rc)
			goto out;
		if (w.err) {
			rc = -ENOMEM;
			goto out;
		}
		struct dns_rr nsec = {.type = DNS_T_NSEC,
				      .rclass = rr[i].rclass,
				      .ttl = ttl,
				      .rdlen = (uint16_t)w.len,
				      .rdata = w.p};
		dns_name_copy(&nsec.owner, &rr[i].owner);
		rc = dns_rrlist_add(&add, &nsec);
		if (rc)
			goto out;
	}
	rc = move_all(zone, &add);
	if (rc)
		goto out;
	dnssec_rr_sort(zone->rr, zone->n);
out:
	free(names);
	free(deleg);
	free(types);
	ddns_wbuf_free(&w);
	dns_rrlist_free(&add);
	return rc;
}

int dnssec_zone_sign(struct dns_rrlist *zone, const struct dns_name *apex,
		     struct dnssec_key *const *keys, size_t nkeys,
		     uint32_t inception, uint32_t expiration, size_t *nsigs)
{
	*nsigs = 0;
	drop_type(zone, DNS_T_RRSIG);
	dnssec_rr_sort(zone->rr, zone->n);
	bool have_zsk = false;
	for (size_t i = 0; i < nkeys; i++)
		if (!(dnssec_key_flags(keys[i]) & DNSSEC_FLAG_SEP))
			have_zsk = true;

	struct dns_rrlist sigs;
	dns_rrlist_init(&sigs);
	const struct dns_rr *rr = zone->rr;
	size_t n = zone->n;
	int rc = 0;
	bool auth = false, deleg = false;
	for (size_t i = 0; i < n;) {
		if (i == 0 || !dns_name_equal(&rr[i].owner, &rr[i - 1].owner))
			auth = dnssec_name_authoritative(rr, n, apex,
							 &rr[i].owner, &deleg);
		size_t e = i + 1;
		while (e < n && rr[e].type == rr[i].type &&
		       rr[e].rclass == rr[i].rclass &&
		       dns_name_equal(&rr[e].owner, &rr[i].owner))
			e++;
		bool sign = auth && (!deleg || rr[i].type == DNS_T_DS ||
				     rr[i].type == DNS_T_NSEC);
		for (size_t k = 0; sign && k < nkeys; k++) {
			bool ksk = dnssec_key_flags(keys[k]) & DNSSEC_FLAG_SEP;
			if (rr[i].type != DNS_T_DNSKEY && have_zsk && ksk)
				continue;
			rc = dnssec_sign_rrset(keys[k], &rr[i], e - i, inception,
					       expiration, &sigs);
			if (rc)
				goto out;
			(*nsigs)++;
		}
		i = e;
	}
	rc = move_all(zone, &sigs);
	if (rc)
		goto out;
	dnssec_rr_sort(zone->rr, zone->n);
out:
	dns_rrlist_free(&sigs);
	return rc;
}
