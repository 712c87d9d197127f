/*
 * rr.c - record lists, RRset grouping and canonical ordering (RFC 4034 §6).
 *
 * Invariant of struct dns_rrlist: rr[0..n) are live, each rdata is a heap
 * block owned by the list (NULL when rdlen is 0), cap >= n.
 */
#include "dns/rr.h"

#include <stdlib.h>
#include <string.h>

#include "dns/name.h"
#include "dns/rdata.h"

void dns_rrlist_init(struct dns_rrlist *l)
{
	l->rr = NULL;
	l->n = 0;
	l->cap = 0;
}

void dns_rrlist_clear(struct dns_rrlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->rr[i].rdata);
	l->n = 0;
}

void dns_rrlist_free(struct dns_rrlist *l)
{
	if (!l)
		return;
	dns_rrlist_clear(l);
	free(l->rr);
	dns_rrlist_init(l);
}

int dns_rrlist_add_parts(struct dns_rrlist *l, const struct dns_name *owner,
			 uint16_t type, uint16_t rclass, uint32_t ttl,
			 const uint8_t *rdata, size_t rdlen)
{
	if (rdlen > 65535)
		return DDNS_ETOOBIG;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct dns_rr *nr = realloc(l->rr, cap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		l->rr = nr;
		l->cap = cap;
	}
	uint8_t *copy = NULL;
	if (rdlen) {
		copy = malloc(rdlen);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, rdata, rdlen);
	}
	struct dns_rr *r = &l->rr[l->n++];
	dns_name_copy(&r->owner, owner);
	r->type = type;
	r->rclass = rclass;
	r->ttl = ttl;
	r->rdlen = (uint16_t)rdlen;
	r->rdata = copy;
	return 0;
}

int dns_rrlist_add(struct dns_rrlist *l, const struct dns_rr *rr)
{
	return dns_rrlist_add_parts(l, &rr->owner, rr->type, rr->rclass, rr->ttl,
				    rr->rdata, rr->rdlen);
}

int dns_rr_canonicalize(struct dns_rr *rr)
{
	dns_name_to_lower(&rr->owner);
	return dns_rdata_canonicalize(rr->type, rr->rdata, rr->rdlen);
}

bool dns_rr_same_rrset(const struct dns_rr *a, const struct dns_rr *b)
{
	return a->type == b->type && a->rclass == b->rclass &&
	       dns_name_equal(&a->owner, &b->owner);
}

int dns_rr_canon_cmp(const struct dns_rr *a, const struct dns_rr *b)
{
	int c = dns_name_canon_cmp(&a->owner, &b->owner);
	if (c)
		return c;
	if (a->rclass != b->rclass)
		return a->rclass < b->rclass ? -1 : 1;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return dns_rdata_canon_cmp(a->type, a->rdata, a->rdlen, b->rdata, b->rdlen);
}

static int rr_qsort_cmp(const void *x, const void *y)
{
	return dns_rr_canon_cmp(x, y);
}

void dns_rrlist_sort_canonical(struct dns_rrlist *l)
{
	if (l->n < 2)
		return;
	qsort(l->rr, l->n, sizeof(l->rr[0]), rr_qsort_cmp);
	/* RFC 4034 §6.3: duplicate RRs (equal canonical form) are dropped. */
	size_t w = 1;
	for (size_t i = 1; i < l->n; i++) {
		if (dns_rr_canon_cmp(&l->rr[w - 1], &l->rr[i]) == 0) {
			free(l->rr[i].rdata);
			continue;
		}
		l->rr[w++] = l->rr[i];
	}
	l->n = w;
}

size_t dns_rrset_end(const struct dns_rrlist *l, size_t start)
{
	size_t j = start + 1;
	while (j < l->n && dns_rr_same_rrset(&l->rr[start], &l->rr[j]))
		j++;
	return j;
}
