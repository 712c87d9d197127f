/*
 * validate.c - chain-of-trust validation (RFC 4035 §5).
 *
 * validate_set() checks an RRset against its RRSIGs using the key set of
 * the signer's zone; zone_keys() produces that key set: the zone's DNSKEY
 * RRset, trusted because one of its keys is an anchor or matches a DS (an
 * anchor, or the parent-side DS RRset, itself validated by validate_set
 * against the parent's keys), and self-signed by that key (RFC 4035 §5.2).
 * Recursion goes up one zone per step and is bounded by name depth; a zone
 * being computed is marked busy so a loop in the pool ends as ENOCHAIN.
 */
#include "dns/validate.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "dns/dnssec.h"
#include "dns/name.h"
#include "dns/rdata.h"

#define WHY_MAX 320

/* Validated key set of one zone (or why there is none). */
struct zcache {
	struct dns_name zone;
	int rc;
	bool busy;
	char why[WHY_MAX];
	struct dnssec_key **keys;
	size_t nkeys;
};

struct dnssec_validator {
	struct dns_rrlist anchors;
	struct dns_rrlist pool; /* sorted when `sorted` */
	bool sorted;
	uint32_t now;
	bool have_now;
	struct zcache *zc;
	size_t nzc, capzc;
	struct dnssec_keycache *kc; /* borrowed, or NULL */
};

void dnssec_validator_use_keycache(struct dnssec_validator *v, struct dnssec_keycache *kc)
{
	v->kc = kc;
}

static void zc_clear(struct dnssec_validator *v)
{
	for (size_t i = 0; i < v->nzc; i++) {
		for (size_t j = 0; j < v->zc[i].nkeys; j++)
			dnssec_key_free(v->zc[i].keys[j]);
		free(v->zc[i].keys);
	}
	v->nzc = 0;
}

struct dnssec_validator *dnssec_validator_new(void)
{
	struct dnssec_validator *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	dns_rrlist_init(&v->anchors);
	dns_rrlist_init(&v->pool);
	return v;
}

void dnssec_validator_free(struct dnssec_validator *v)
{
	if (!v)
		return;
	zc_clear(v);
	free(v->zc);
	dns_rrlist_free(&v->anchors);
	dns_rrlist_free(&v->pool);
	free(v);
}

int dnssec_validator_add_anchor(struct dnssec_validator *v,
				const struct dns_rr *rr)
{
	if (rr->type != DNS_T_DS && rr->type != DNS_T_DNSKEY)
		return -EINVAL;
	zc_clear(v);
	return dns_rrlist_add(&v->anchors, rr);
}

int dnssec_validator_add_rrs(struct dnssec_validator *v,
			     const struct dns_rr *rr, size_t n)
{
	zc_clear(v);
	v->sorted = false;
	for (size_t i = 0; i < n; i++) {
		int rc = dns_rrlist_add(&v->pool, &rr[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static void why_set(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t len, const char *fmt, ...)
{
	if (!why || !len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
}

/* Pool records <owner, type>: [*lo, *hi). */
static void pool_range(struct dnssec_validator *v, const struct dns_name *owner,
		       uint16_t type, size_t *lo, size_t *hi)
{
	const struct dns_rr *rr = v->pool.rr;
	size_t a = 0, b = v->pool.n;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		int c = dns_name_canon_cmp(&rr[m].owner, owner);
		if (c < 0 || (c == 0 && rr[m].type < type))
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	while (a < v->pool.n && rr[a].type == type &&
	       dns_name_canon_cmp(&rr[a].owner, owner) == 0)
		a++;
	*hi = a;
}

static bool pool_has(struct dnssec_validator *v, const struct dns_name *owner,
		     uint16_t type)
{
	size_t lo, hi;
	pool_range(v, owner, type, &lo, &hi);
	return hi > lo;
}

static uint16_t covered(const struct dns_rr *sig)
{
	return sig->rdlen >= 2 ? ddns_get_u16(sig->rdata) : 0;
}

/* Presentation form of a name for messages. */
static const char *nstr(const struct dns_name *n, char *buf, size_t len)
{
	if (dns_name_to_str(n, buf, len) < 0)
		snprintf(buf, len, "?");
	return buf;
}

static const char *tstr(uint16_t type, char buf[DNS_MNEMONIC_MAX])
{
	return dns_type_to_str(type, buf);
}

static int zone_keys(struct dnssec_validator *v, const struct dns_name *zone,
		     unsigned depth, struct zcache **out);

/*
 * Is there a zone (DNSKEY or DS in the pool, or an anchor) at a name X with
 * signer < X < owner, or X == owner when upto_owner? Sets *cut to it.
 */
static bool cut_between(struct dnssec_validator *v,
			const struct dns_name *signer,
			const struct dns_name *owner, bool upto_owner,
			struct dns_name *cut)
{
	struct dns_name x;
	dns_name_copy(&x, owner);
	if (!upto_owner && dns_name_parent(&x, &x))
		return false;
	while (dns_name_label_count(&x) > dns_name_label_count(signer)) {
		if (pool_has(v, &x, DNS_T_DNSKEY) || pool_has(v, &x, DNS_T_DS)) {
			dns_name_copy(cut, &x);
			return true;
		}
		for (size_t i = 0; i < v->anchors.n; i++)
			if (dns_name_equal(&v->anchors.rr[i].owner, &x)) {
				dns_name_copy(cut, &x);
				return true;
			}
		if (dns_name_parent(&x, &x))
			break;
	}
	return false;
}

/* Rank of an error when several RRSIGs fail: the most telling wins. */
static int err_rank(int rc)
{
	switch (rc) {
	case DDNS_EBOGUS:
		return 9;
	case DDNS_EEXPIRED:
	case DDNS_ENOTYET:
		return 8;
	case DDNS_EBADDS:
		return 7;
	case DDNS_ENOCHAIN:
		return 6;
	case DDNS_EOUTOFZONE:
		return 5;
	case DDNS_ENOKEY:
		return 4;
	case DDNS_EMALFORMED:
		return 3;
	default:
		return 1;
	}
}

/*
 * Validate rrs[0..n) with the RRSIGs sigs[0..ns) (already filtered to the
 * covered type) at v->now. When entry (non-NULL) is given, only those keys
 * may sign (the DNSKEY RRset's self-signature); otherwise the signer's
 * validated zone keys are used.
 */
static int validate_set(struct dnssec_validator *v, const struct dns_rr *rrs,
			size_t n, const struct dns_rr *const *sigs, size_t ns,
			struct dnssec_key *const *entry, size_t nentry,
			unsigned depth, char *why, size_t whylen)
{
	char nb[DNS_NAME_STR_MAX], sb[DNS_NAME_STR_MAX], tb[DNS_MNEMONIC_MAX];
	const struct dns_name *owner = &rrs[0].owner;
	uint16_t type = rrs[0].type;
	const char *ts = tstr(type, tb);
	nstr(owner, nb, sizeof(nb));
	if (ns == 0) {
		why_set(why, whylen, "%s %s: no RRSIG (missing link)", nb, ts);
		return DDNS_ENOCHAIN;
	}
	int best = 0;
	char bwhy[WHY_MAX] = "";
	for (size_t i = 0; i < ns; i++) {
		char w[WHY_MAX] = "";
		int rc;
		struct dnssec_rrsig rs;
		if (dnssec_rrsig_parse(sigs[i]->rdata, sigs[i]->rdlen, &rs)) {
			rc = DDNS_EMALFORMED;
			why_set(w, sizeof(w), "%s %s: malformed RRSIG", nb, ts);
			goto next;
		}
		nstr(&rs.signer, sb, sizeof(sb));
		bool parent_side = type == DNS_T_DS || type == DNS_T_NSEC;
		struct dns_name cut;
		if (!dns_name_is_subdomain(owner, &rs.signer) ||
		    (type == DNS_T_DS && dns_name_equal(owner, &rs.signer))) {
			rc = DDNS_EOUTOFZONE;
			why_set(w, sizeof(w),
				"%s %s: name outside signer %s's zone", nb, ts,
				sb);
			goto next;
		}
		if (!entry && cut_between(v, &rs.signer, owner,
					  !parent_side, &cut)) {
			char cb[DNS_NAME_STR_MAX];
			nstr(&cut, cb, sizeof(cb));
			if (type == DNS_T_DS) {
				rc = DDNS_ENOCHAIN;
				why_set(w, sizeof(w),
					"%s DS: chain skips zone %s (signed by %s)",
					nb, cb, sb);
			} else {
				rc = DDNS_EOUTOFZONE;
				why_set(w, sizeof(w),
					"%s %s: signer %s is not authoritative below zone cut %s",
					nb, ts, sb, cb);
			}
			goto next;
		}
		struct dnssec_key *const *keys = entry;
		size_t nkeys = nentry;
		if (!keys) {
			struct zcache *z;
			rc = zone_keys(v, &rs.signer, depth + 1, &z);
			if (rc) {
				snprintf(w, sizeof(w), "%s", z ? z->why : "?");
				goto next;
			}
			keys = z->keys;
			nkeys = z->nkeys;
		}
		rc = DDNS_ENOKEY;
		why_set(w, sizeof(w),
			"%s %s: no key with tag %u algorithm %u in %s DNSKEY",
			nb, ts, rs.key_tag, rs.alg, sb);
		for (size_t k = 0; k < nkeys; k++) {
			if (dnssec_key_tag(keys[k]) != rs.key_tag ||
			    dnssec_key_alg(keys[k]) != rs.alg)
				continue;
			int r = dnssec_keycache_verify(v->kc, keys[k], rrs, n, sigs[i], v->now);
			if (r == 0)
				return 0;
			if (err_rank(r) >= err_rank(rc) || rc == DDNS_ENOKEY) {
				char t1[15], t2[15];
				rc = r;
				switch (r) {
				case DDNS_EEXPIRED:
					why_set(w, sizeof(w),
						"%s %s: RRSIG by %s/%u expired at %s",
						nb, ts, sb, rs.key_tag,
						dns_time_to_str(rs.expiration, t1));
					break;
				case DDNS_ENOTYET:
					why_set(w, sizeof(w),
						"%s %s: RRSIG by %s/%u not valid before %s",
						nb, ts, sb, rs.key_tag,
						dns_time_to_str(rs.inception, t2));
					break;
				case DDNS_EBOGUS:
					why_set(w, sizeof(w),
						"%s %s: bogus signature by %s/%u",
						nb, ts, sb, rs.key_tag);
					break;
				default:
					why_set(w, sizeof(w),
						"%s %s: RRSIG by %s/%u: %s", nb,
						ts, sb, rs.key_tag,
						ddns_strerror(r));
				}
			}
		}
	next:
		if (!best || err_rank(rc) > err_rank(best)) {
			best = rc;
			snprintf(bwhy, sizeof(bwhy), "%s", w);
		}
	}
	why_set(why, whylen, "%s", bwhy);
	return best;
}

/* RRSIGs in the pool at owner covering type, as pointers (malloc'd). */
static int pool_sigs(struct dnssec_validator *v, const struct dns_name *owner,
		     uint16_t type, const struct dns_rr ***out, size_t *n)
{
	size_t lo, hi;
	pool_range(v, owner, DNS_T_RRSIG, &lo, &hi);
	*n = 0;
	*out = malloc((hi - lo + 1) * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = lo; i < hi; i++)
		if (covered(&v->pool.rr[i]) == type)
			(*out)[(*n)++] = &v->pool.rr[i];
	return 0;
}

static struct zcache *zc_find(struct dnssec_validator *v,
			      const struct dns_name *zone)
{
	for (size_t i = 0; i < v->nzc; i++)
		if (dns_name_equal(&v->zc[i].zone, zone))
			return &v->zc[i];
	return NULL;
}

/*
 * Compute (or fetch from the cache) the validated DNSKEYs of zone.
 * *out is the cache entry (its why says what failed); NULL only on -ENOMEM.
 */
static int zone_keys(struct dnssec_validator *v, const struct dns_name *zone,
		     unsigned depth, struct zcache **out)
{
	char zb[DNS_NAME_STR_MAX];
	*out = NULL;
	struct zcache *z = zc_find(v, zone);
	if (z) {
		*out = z;
		if (z->busy) {
			/* A loop: this zone's chain leads back to itself. */
			return DDNS_ENOCHAIN;
		}
		return z->rc;
	}
	if (v->nzc == v->capzc) {
		size_t cap = v->capzc ? 2 * v->capzc : 16;
		struct zcache *p = realloc(v->zc, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		v->zc = p;
		v->capzc = cap;
	}
	size_t zi = v->nzc++;
	z = &v->zc[zi];
	memset(z, 0, sizeof(*z));
	dns_name_copy(&z->zone, zone);
	z->busy = true;
	nstr(zone, zb, sizeof(zb));

	int rc = 0;
	size_t klo, khi, nsig = 0, nentry = 0, nds = 0, nall = 0;
	size_t owned_entries = 0;
	const struct dns_rr **sigs = NULL;
	const struct dns_rr **ds = NULL;
	struct dnssec_key **all = NULL, **entry = NULL;
	char w[WHY_MAX] = "";

	if (depth > 2 * DNS_NAME_MAX) {
		rc = DDNS_ENOCHAIN;
		why_set(w, sizeof(w), "%s: chain too long", zb);
		goto out;
	}
	pool_range(v, zone, DNS_T_DNSKEY, &klo, &khi);
	if (khi == klo) {
		rc = DDNS_ENOCHAIN;
		why_set(w, sizeof(w), "%s: no DNSKEY RRset (missing link)", zb);
		goto out;
	}
	all = calloc(khi - klo, sizeof(*all));
	entry = calloc(khi - klo + v->anchors.n, sizeof(*entry));
	ds = calloc(v->anchors.n + 1, sizeof(*ds));
	if (!all || !entry || !ds) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = klo; i < khi; i++) {
		struct dnssec_key *k;
		if (dnssec_keycache_get(v->kc, zone, v->pool.rr[i].rdata, v->pool.rr[i].rdlen,
					&k) == 0)
			all[nall++] = k;
	}

	/* Entry points: anchors for this zone, else the parent's DS. */
	bool anchored = false;
	for (size_t a = 0; a < v->anchors.n; a++) {
		const struct dns_rr *ar = &v->anchors.rr[a];
		if (!dns_name_equal(&ar->owner, zone))
			continue;
		anchored = true;
		if (ar->type == DNS_T_DS) {
			ds[nds++] = ar;
		} else {
			struct dnssec_key *k;
			if (dnssec_keycache_get(v->kc, zone, ar->rdata, ar->rdlen, &k) == 0)
				entry[nentry++] = k; /* owned by entry[] */
		}
	}
	/* entry[] may hold keys we own (from DNSKEY anchors, before this
	 * point) and borrowed pointers into all[] (from DS matches below). */
	owned_entries = nentry;
	const struct dns_rr **pds = NULL;
	size_t npds = 0;
	if (!anchored) {
		size_t dlo, dhi;
		pool_range(v, zone, DNS_T_DS, &dlo, &dhi);
		if (dhi == dlo) {
			rc = DDNS_ENOCHAIN;
			why_set(w, sizeof(w),
				"%s: no DS RRset and no trust anchor (missing link)",
				zb);
			goto out;
		}
		const struct dns_rr **dsig = NULL;
		size_t ndsig = 0;
		rc = pool_sigs(v, zone, DNS_T_DS, &dsig, &ndsig);
		if (rc)
			goto out;
		rc = validate_set(v, &v->pool.rr[dlo], dhi - dlo, dsig, ndsig,
				  NULL, 0, depth, w, sizeof(w));
		free(dsig);
		if (rc)
			goto out;
		pds = calloc(dhi - dlo, sizeof(*pds));
		if (!pds) {
			rc = -ENOMEM;
			goto out;
		}
		for (size_t i = dlo; i < dhi; i++)
			pds[npds++] = &v->pool.rr[i];
	}
	const struct dns_rr **dsl = anchored ? ds : pds;
	size_t ndsl = anchored ? nds : npds;
	if (ndsl) {
		for (size_t k = 0; k < nall; k++) {
			size_t len;
			const uint8_t *rd = dnssec_key_rdata(all[k], &len);
			for (size_t d = 0; d < ndsl; d++)
				if (dnssec_ds_match(zone, rd, len, dsl[d]->rdata,
						    dsl[d]->rdlen) == 0) {
					entry[nentry++] = all[k];
					break;
				}
		}
		if (nentry == owned_entries) {
			rc = DDNS_EBADDS;
			why_set(w, sizeof(w),
				"%s: no DNSKEY matches the DS RRset (DS mismatch)",
				zb);
			free(pds);
			goto out;
		}
	}
	free(pds);
	rc = pool_sigs(v, zone, DNS_T_DNSKEY, &sigs, &nsig);
	if (rc)
		goto out;
	rc = validate_set(v, &v->pool.rr[klo], khi - klo, sigs, nsig, entry,
			  nentry, depth, w, sizeof(w));
	if (rc)
		goto out;
	/* Trusted: every zone key of the RRset. */
	z = &v->zc[zi]; /* the cache array may have moved */
	z->keys = all;
	all = NULL;
	z->nkeys = nall;
	nall = 0;
out:
	z = &v->zc[zi];
	for (size_t i = 0; i < owned_entries; i++)
		dnssec_key_free(entry[i]);
	if (all)
		for (size_t i = 0; i < nall; i++)
			dnssec_key_free(all[i]);
	free(all);
	free(entry);
	free(ds);
	free(sigs);
	z->busy = false;
	z->rc = rc;
	snprintf(z->why, sizeof(z->why), "%s", w);
	*out = z;
	return rc;
}

static void prepare(struct dnssec_validator *v, uint32_t now)
{
	if (!v->sorted) {
		dnssec_rr_sort(v->pool.rr, v->pool.n);
		v->sorted = true;
	}
	if (!v->have_now || v->now != now) {
		zc_clear(v);
		v->now = now;
		v->have_now = true;
	}
}

int dnssec_validate(struct dnssec_validator *v, const struct dns_rr *rrs,
		    size_t n, const struct dns_rr *sigs, size_t nsigs,
		    uint32_t now, char *why, size_t whylen)
{
	if (n == 0)
		return DDNS_ENOTFOUND;
	prepare(v, now);
	const struct dns_rr **sp = malloc((nsigs + 1) * sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	size_t ns = 0;
	for (size_t i = 0; i < nsigs; i++)
		if (sigs[i].type == DNS_T_RRSIG && covered(&sigs[i]) == rrs[0].type &&
		    dns_name_equal(&sigs[i].owner, &rrs[0].owner))
			sp[ns++] = &sigs[i];
	int rc;
	if (rrs[0].type == DNS_T_DNSKEY && ns > 0) {
		/* A DNSKEY RRset is valid when its zone's keys are. */
		struct zcache *z;
		rc = zone_keys(v, &rrs[0].owner, 0, &z);
		if (rc == 0) {
			/* ... and the given RRset is that one: verify the
			 * given signatures with the validated keys. */
			rc = validate_set(v, rrs, n, sp, ns, z->keys, z->nkeys,
					  0, why, whylen);
		} else if (z) {
			why_set(why, whylen, "%s", z->why);
		}
	} else {
		rc = validate_set(v, rrs, n, sp, ns, NULL, 0, 0, why, whylen);
	}
	free(sp);
	return rc;
}

int dnssec_validate_rrset(struct dnssec_validator *v,
			  const struct dns_name *owner, uint16_t type,
			  uint32_t now, char *why, size_t whylen)
{
	prepare(v, now);
	size_t lo, hi, ns = 0;
	pool_range(v, owner, type, &lo, &hi);
	if (hi == lo) {
		char nb[DNS_NAME_STR_MAX], tb[DNS_MNEMONIC_MAX];
		why_set(why, whylen, "%s %s: no such RRset",
			nstr(owner, nb, sizeof(nb)), tstr(type, tb));
		return DDNS_ENOTFOUND;
	}
	const struct dns_rr **sp = NULL;
	int rc = pool_sigs(v, owner, type, &sp, &ns);
	if (rc)
		return rc;
	if (type == DNS_T_DNSKEY && ns > 0) {
		struct zcache *z;
		rc = zone_keys(v, owner, 0, &z);
		if (rc && z)
			why_set(why, whylen, "%s", z->why);
	} else {
		rc = validate_set(v, &v->pool.rr[lo], hi - lo, sp, ns, NULL, 0,
				  0, why, whylen);
	}
	free(sp);
	return rc;
}
