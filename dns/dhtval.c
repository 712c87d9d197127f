/*
 * dhtval.c - the DHT validation hook for DDNS blocks (see dhtval.h).
 *
 * One validation is a job: decode, check the key, then walk the chain of
 * trust from the data set's signer upwards (DNSKEY(zone), DS(zone), the
 * DS's signer, ...) until a trust point: a configured anchor zone with its
 * DNSKEY RRset at hand, or a DNSKEY or DS RRset in the verified key cache.
 * The first link that is neither carried by the block, nor fetched
 * earlier by this job, nor cached is fetched with dht_get; when every link
 * is at hand (or a fetch failed, or the budget is spent) the validator of
 * dns/validate.h gives the verdict, and its error code is the refusal's.
 *
 * Sets come from four places, chosen per <owner, type> by eff_set(): the
 * block's data set, its chain sets, sets fetched by this job, and the
 * cache. A cached set wins when the block has none or an identical one
 * (it is already verified, and it becomes a trust point, so a warm cache
 * costs two signature checks per block); a block set that differs from
 * the cached one wins (a key rollover must not be blocked by the cache; it
 * is then verified through the chain like any other).
 *
 * A current check (ddns_blockval_check_current, the gateway's before it
 * serves a block) is the same job with vctx.current set: block_set skips
 * carried DS sets, eff_set takes only confirmed DS sets from the cache and
 * makes a cached DNSKEY set a trust point only under a confirmed DS (else
 * VSRC_CACHE_POOL: the validator links it to the DS like a carried one).
 * A DS set is confirmed when it was cached as the data set of its own
 * block (stored here, or fetched by any job); cache_put keeps a confirmed
 * DS against a differing carried one and drops the zone's DNSKEY set when
 * a differing confirmed DS arrives.
 *
 * Termination: the walk only moves upwards (a DS's signer must be a proper
 * ancestor, the data set's signer must enclose its owner), each job
 * starts at most DDNS_BLOCKVAL_MAX_FETCH fetches, and fetched blocks are
 * validated by nested jobs that start strictly higher (a DNSKEY block's
 * job fetches the same zone's DS or above; a DS block's job the parent's
 * DNSKEY or above), so nesting is bounded by twice the name depth.
 * DDNS_BLOCKVAL_MAX_PENDING bounds the jobs waiting at once.
 */
#include "dns/dhtval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uthash.h>

#include "common/log.h"
#include "dns/block.h"
#include "dns/dnssec.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/validate.h"

/* Jobs waiting on fetches at once; beyond, links are not fetched. */
#define DDNS_BLOCKVAL_MAX_PENDING 256
/* Parsed DNSKEYs kept (dns/dnssec.h, dnssec_keycache): a few per zone. */
#define DDNS_BLOCKVAL_KEYS_MAX 4096
#define WHY_LEN 320

/* A verified DNSKEY or DS RRset. Invariant: in bv->cache (insertion order =
 * least recently used first) until removed by cache_del. */
struct vcache {
	uint8_t key[DNS_BLOCK_KEY_LEN]; /* dns_block_key(owner, type) */
	struct dns_block_set set;
	uint64_t expire; /* Unix seconds */
	bool confirmed;  /* a DS RRset that came as the block stored under its
			    own key (stored here or fetched), not as a copy
			    another block carried */
	UT_hash_handle hh;
};

struct vjob;

struct ddns_blockval {
	struct dns_rrlist anchors;
	ddns_unix_clock_cb clock;
	void *clock_arg;
	size_t cache_max;
	struct vcache *cache;
	struct dnssec_keycache *keys; /* parsed DNSKEYs, for every job */
	struct vjob *jobs; /* waiting on a fetch */
	struct ddns_blockval_stats st;
};

/* One validation waiting on fetches. */
struct vjob {
	struct ddns_blockval *bv; /* NULL once bv was freed under us */
	struct dht *d;
	struct dns_block blk;
	struct dns_block_set *fetched;
	size_t nfetched;
	unsigned fetches;
	struct dns_name want_owner; /* the link being fetched */
	uint16_t want_type;
	bool current;               /* ddns_blockval_check_current */
	unsigned rpcs, hops;        /* ... what its fetches cost */
	dht_validate_done_cb done;
	ddns_blockval_current_cb cdone;
	void *done_arg;
	struct vjob *prev, *next;
};

/* What one validation sees. */
struct vctx {
	struct ddns_blockval *bv;
	const struct dns_block *blk;
	const struct dns_block_set *fetched;
	size_t nfetched;
	uint64_t now; /* Unix seconds */
	bool current; /* carried DS sets do not count (check_current) */
};

/* Where a set comes from: the block or this job's fetches, the cache as a
 * trust point, or the cache as an ordinary set the validator must still
 * link to a DS (check_current, a DNSKEY whose zone's DS is unconfirmed). */
enum vsrc { VSRC_NONE, VSRC_BLOCK, VSRC_CACHE, VSRC_CACHE_POOL };

static uint64_t system_clock(void *arg)
{
	(void)arg;
	return (uint64_t)time(NULL);
}

/* ---- the verified key cache ---- */

static void cache_del(struct ddns_blockval *bv, struct vcache *e)
{
	HASH_DEL(bv->cache, e);
	dns_block_set_clear(&e->set);
	free(e);
}

static struct vcache *cache_find(struct ddns_blockval *bv, const struct dns_name *owner,
				 uint16_t type, uint64_t now)
{
	uint8_t k[DNS_BLOCK_KEY_LEN];
	struct vcache *e;
	dns_block_key(owner, type, k);
	HASH_FIND(hh, bv->cache, k, sizeof(k), e);
	if (!e)
		return NULL;
	if (e->expire <= now) {
		cache_del(bv, e);
		return NULL;
	}
	/* Most recently used goes last; the entry itself does not move. */
	HASH_DEL(bv->cache, e);
	HASH_ADD(hh, bv->cache, key, sizeof(e->key), e);
	return e;
}

static int set_copy(struct dns_block_set *dst, const struct dns_block_set *src)
{
	for (size_t i = 0; i < src->rrs.n; i++)
		if (dns_rrlist_add(&dst->rrs, &src->rrs.rr[i]))
			return -ENOMEM;
	for (size_t i = 0; i < src->sigs.n; i++)
		if (dns_rrlist_add(&dst->sigs, &src->sigs.rr[i]))
			return -ENOMEM;
	return 0;
}

static bool set_same_data(const struct dns_block_set *a, const struct dns_block_set *b);

/*
 * Remember a verified set until expire, replacing the cached copy, with two
 * exceptions for DS sets: a carried copy (confirmed false) never replaces a
 * confirmed one that differs (an old block must not undo a parent's newer
 * DS), and a confirmed DS that differs from the cached one drops the
 * zone's cached DNSKEY set, which was trusted through the old DS.
 */
static void cache_put(struct ddns_blockval *bv, const struct dns_block_set *s, uint64_t expire,
		      uint64_t now, bool confirmed)
{
	uint8_t k[DNS_BLOCK_KEY_LEN];
	struct vcache *e;
	if (expire <= now)
		return;
	bool is_ds = dns_block_set_type(s) == DNS_T_DS;
	dns_block_key(dns_block_set_owner(s), dns_block_set_type(s), k);
	HASH_FIND(hh, bv->cache, k, sizeof(k), e);
	if (e) {
		bool same = set_same_data(&e->set, s);
		if (is_ds && e->confirmed && !confirmed && !same)
			return;
		if (is_ds && confirmed && !same) {
			uint8_t kk[DNS_BLOCK_KEY_LEN];
			struct vcache *dk;
			dns_block_key(dns_block_set_owner(s), DNS_T_DNSKEY, kk);
			HASH_FIND(hh, bv->cache, kk, sizeof(kk), dk);
			if (dk)
				cache_del(bv, dk);
		}
		confirmed = confirmed || (e->confirmed && same);
		cache_del(bv, e);
	}
	while (HASH_COUNT(bv->cache) >= bv->cache_max && bv->cache)
		cache_del(bv, bv->cache); /* the head is the least recently used */
	e = calloc(1, sizeof(*e));
	if (!e)
		return; /* a cache miss later, nothing worse */
	memcpy(e->key, k, sizeof(k));
	e->expire = expire;
	e->confirmed = is_ds && confirmed;
	if (set_copy(&e->set, s)) {
		dns_block_set_clear(&e->set);
		free(e);
		return;
	}
	HASH_ADD(hh, bv->cache, key, sizeof(e->key), e);
}

void ddns_blockval_flush(struct ddns_blockval *bv)
{
	while (bv->cache)
		cache_del(bv, bv->cache);
}

/* ---- choosing sets ---- */

static bool set_is(const struct dns_block_set *s, const struct dns_name *owner, uint16_t type)
{
	return s->rrs.n && dns_block_set_type(s) == type &&
	       dns_name_equal(dns_block_set_owner(s), owner);
}

/* Same owner, type and RDATA multiset (signatures may differ). */
static bool set_same_data(const struct dns_block_set *a, const struct dns_block_set *b)
{
	if (a->rrs.n != b->rrs.n || !set_is(b, dns_block_set_owner(a), dns_block_set_type(a)))
		return false;
	for (size_t i = 0; i < a->rrs.n; i++) {
		bool found = false;
		for (size_t j = 0; j < b->rrs.n && !found; j++)
			found = dns_rdata_canon_cmp(a->rrs.rr[i].type, a->rrs.rr[i].rdata,
						    a->rrs.rr[i].rdlen, b->rrs.rr[j].rdata,
						    b->rrs.rr[j].rdlen) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* The block's (or this job's fetched) set <owner, type>, or NULL. A
 * current check ignores the DS sets the block carries. */
static const struct dns_block_set *block_set(const struct vctx *c, const struct dns_name *owner,
					     uint16_t type)
{
	if (set_is(&c->blk->data, owner, type))
		return &c->blk->data;
	for (size_t i = 0; i < c->blk->nchain && !(c->current && type == DNS_T_DS); i++)
		if (set_is(&c->blk->chain[i], owner, type))
			return &c->blk->chain[i];
	for (size_t i = 0; i < c->nfetched; i++)
		if (set_is(&c->fetched[i], owner, type))
			return &c->fetched[i];
	return NULL;
}

static bool is_anchor_zone(const struct ddns_blockval *bv, const struct dns_name *zone)
{
	for (size_t i = 0; i < bv->anchors.n; i++)
		if (dns_name_equal(&bv->anchors.rr[i].owner, zone))
			return true;
	return false;
}

/*
 * The set of <owner, type> this validation uses, and where it is from. In
 * a current check only a confirmed DS is taken from the cache, and a cached
 * DNSKEY set is a trust point only when its zone is an anchor or its DS is
 * confirmed; otherwise it is validated through the DS like a carried one.
 */
static const struct dns_block_set *eff_set(struct vctx *c, const struct dns_name *owner,
					   uint16_t type, enum vsrc *src)
{
	const struct dns_block_set *b = block_set(c, owner, type);
	struct vcache *e = cache_find(c->bv, owner, type, c->now);
	if (e && c->current && type == DNS_T_DS && !e->confirmed)
		e = NULL;
	if (e && (!b || set_same_data(b, &e->set))) {
		*src = VSRC_CACHE;
		if (c->current && type == DNS_T_DNSKEY && !is_anchor_zone(c->bv, owner)) {
			struct vcache *ds = cache_find(c->bv, owner, DNS_T_DS, c->now);
			if (!ds || !ds->confirmed) {
				if (b) {
					*src = VSRC_BLOCK;
					return b;
				}
				*src = VSRC_CACHE_POOL;
			}
		}
		return &e->set;
	}
	*src = b ? VSRC_BLOCK : VSRC_NONE;
	return b;
}

/* Signer of the first RRSIG of s that parses and whose signer encloses
 * (strictly, when strict) the owner. */
static bool set_signer(const struct dns_block_set *s, bool strict, struct dns_name *signer)
{
	for (size_t i = 0; i < s->sigs.n; i++) {
		struct dnssec_rrsig rs;
		if (dnssec_rrsig_parse(s->sigs.rr[i].rdata, s->sigs.rr[i].rdlen, &rs))
			continue;
		if (!dns_name_is_subdomain(dns_block_set_owner(s), &rs.signer))
			continue;
		if (strict && dns_name_equal(dns_block_set_owner(s), &rs.signer))
			continue;
		dns_name_copy(signer, &rs.signer);
		return true;
	}
	return false;
}

/*
 * The first link of the chain that is missing: true with *owner and *type set,
 * false when the walk reached a trust point or cannot go on (the validator
 * then says why).
 */
static bool find_missing(struct vctx *c, struct dns_name *owner, uint16_t *type)
{
	const struct dns_block_set *data = &c->blk->data;
	uint16_t dtype = dns_block_set_type(data);
	struct dns_name zone;
	enum vsrc src;
	/* A DNSKEY RRset is signed by its own zone, a DS RRset by the parent. */
	if (!set_signer(data, dtype == DNS_T_DS, &zone))
		return false;
	if (dtype == DNS_T_DNSKEY && !dns_name_equal(&zone, dns_block_set_owner(data)))
		return false;
	for (unsigned step = 0; step <= DNS_NAME_MAX; step++) {
		const struct dns_block_set *dk = eff_set(c, &zone, DNS_T_DNSKEY, &src);
		if (!dk) {
			dns_name_copy(owner, &zone);
			*type = DNS_T_DNSKEY;
			return true;
		}
		if (src == VSRC_CACHE || is_anchor_zone(c->bv, &zone))
			return false;
		const struct dns_block_set *ds = eff_set(c, &zone, DNS_T_DS, &src);
		if (!ds) {
			dns_name_copy(owner, &zone);
			*type = DNS_T_DS;
			return true;
		}
		if (src == VSRC_CACHE)
			return false;
		struct dns_name up;
		if (!set_signer(ds, true, &up))
			return false;
		zone = up;
	}
	return false;
}

/* ---- the verdict ---- */

static int pool_add_set(struct dnssec_validator *v, const struct dns_block_set *s)
{
	int rc = dnssec_validator_add_rrs(v, s->rrs.rr, s->rrs.n);
	if (rc == 0 && s->sigs.n)
		rc = dnssec_validator_add_rrs(v, s->sigs.rr, s->sigs.n);
	return rc;
}

/* A cached set is a trust point: its records become anchors; a DNSKEY
 * RRset must also sit in the pool, where its self-signature is checked. */
static int use_cached(struct dnssec_validator *v, const struct dns_block_set *s)
{
	int rc = 0;
	if (dns_block_set_type(s) == DNS_T_DNSKEY)
		rc = pool_add_set(v, s);
	for (size_t i = 0; rc == 0 && i < s->rrs.n; i++)
		rc = dnssec_validator_add_anchor(v, &s->rrs.rr[i]);
	return rc;
}

/* Seconds a set validated at now stays good: min(TTL, expiration - now)
 * over the RRSIGs that verify (ok[i]). */
static uint64_t set_life(const struct dns_block_set *s, const bool *ok, uint32_t now)
{
	uint64_t ttl = UINT32_MAX, sig = 0;
	for (size_t i = 0; i < s->rrs.n; i++)
		if (s->rrs.rr[i].ttl < ttl)
			ttl = s->rrs.rr[i].ttl;
	for (size_t i = 0; i < s->sigs.n; i++) {
		struct dnssec_rrsig rs;
		if ((ok && !ok[i]) || dnssec_rrsig_parse(s->sigs.rr[i].rdata, s->sigs.rr[i].rdlen, &rs))
			continue;
		int32_t left = (int32_t)(rs.expiration - now); /* RFC 1982 */
		if (left > 0 && (uint64_t)left > sig)
			sig = (uint64_t)left;
	}
	return ttl < sig ? ttl : sig;
}

static int validate_ctx(struct vctx *c, uint64_t now_us, struct dht_block_meta *meta, char *why,
			size_t whylen)
{
	const struct dns_block_set *data = &c->blk->data;
	uint32_t now = (uint32_t)c->now;
	bool *ok = NULL;
	enum vsrc src;
	int rc = -ENOMEM;
	struct dnssec_validator *v = dnssec_validator_new();
	if (!v)
		goto out;
	dnssec_validator_use_keycache(v, c->bv->keys);
	for (size_t i = 0; i < c->bv->anchors.n; i++)
		if ((rc = dnssec_validator_add_anchor(v, &c->bv->anchors.rr[i])) != 0)
			goto out;
	/* Sets the block carries (and this job fetched) that are in use. */
	rc = 0;
	for (size_t i = 0; rc == 0 && i <= c->blk->nchain + c->nfetched; i++) {
		const struct dns_block_set *s =
			i == 0 ? data
			: i <= c->blk->nchain ? &c->blk->chain[i - 1]
					      : &c->fetched[i - 1 - c->blk->nchain];
		if (i == 0 && dns_block_set_type(s) != DNS_T_DNSKEY)
			continue; /* validated from the arguments, not the pool */
		if (eff_set(c, dns_block_set_owner(s), dns_block_set_type(s), &src) == s)
			rc = pool_add_set(v, s);
	}
	/* Cached links at the owner and every ancestor. */
	struct dns_name x;
	dns_name_copy(&x, dns_block_set_owner(data));
	for (;;) {
		static const uint16_t types[2] = {DNS_T_DNSKEY, DNS_T_DS};
		for (int t = 0; rc == 0 && t < 2; t++) {
			const struct dns_block_set *s = eff_set(c, &x, types[t], &src);
			if (s && src == VSRC_CACHE) {
				c->bv->st.cache_hits++;
				rc = use_cached(v, s);
			} else if (s && src == VSRC_CACHE_POOL) {
				rc = pool_add_set(v, s);
			}
		}
		if (rc || dns_name_parent(&x, &x) != 0)
			break;
	}
	if (rc)
		goto out;
	rc = dnssec_validate(v, data->rrs.rr, data->rrs.n, data->sigs.rr, data->sigs.n, now, why,
			     whylen);
	if (rc)
		goto out;

	/* Which RRSIGs verify: only those may set the version, or a valid
	 * block padded with a bogus far-future RRSIG would lock out every
	 * later version. */
	ok = calloc(data->sigs.n, sizeof(*ok));
	if (!ok) {
		rc = -ENOMEM;
		goto out;
	}
	if (data->sigs.n == 1)
		ok[0] = true;
	else
		for (size_t i = 0; i < data->sigs.n; i++)
			ok[i] = dnssec_validate(v, data->rrs.rr, data->rrs.n, &data->sigs.rr[i], 1,
						now, NULL, 0) == 0;
	memset(meta, 0, sizeof(*meta));
	bool have = false;
	for (size_t i = 0; i < data->sigs.n; i++) {
		struct dnssec_rrsig rs;
		if (!ok[i] || dnssec_rrsig_parse(data->sigs.rr[i].rdata, data->sigs.rr[i].rdlen, &rs))
			continue;
		if (!have || rs.inception > meta->version) {
			have = true;
			meta->version = rs.inception;
			dns_name_to_lower(&rs.signer);
			memcpy(meta->zone, rs.signer.data, rs.signer.len);
			meta->zone_len = rs.signer.len;
		}
	}
	if (!have) { /* cannot happen: dnssec_validate found one */
		rc = DDNS_EBOGUS;
		goto out;
	}
	uint64_t life = set_life(data, ok, now);
	/* A denial block's other NSEC sets: each must verify; the block is as
	 * new as its oldest set and good while all of them are. */
	for (size_t m = 0; m < c->blk->nmore; m++) {
		const struct dns_block_set *s = &c->blk->more[m];
		uint32_t sv = 0;
		bool sok = false;
		for (size_t i = 0; i < s->sigs.n; i++) {
			struct dnssec_rrsig rs;
			if (dnssec_rrsig_parse(s->sigs.rr[i].rdata, s->sigs.rr[i].rdlen, &rs) ||
			    (sok && rs.inception <= sv))
				continue;
			if (dnssec_validate(v, s->rrs.rr, s->rrs.n, &s->sigs.rr[i], 1, now, NULL, 0) ==
			    0) {
				sv = rs.inception;
				sok = true;
			}
		}
		if (!sok) {
			snprintf(why, whylen, "NSEC %zu of the denial block does not verify", m + 2);
			rc = DDNS_EBOGUS;
			goto out;
		}
		if (sv < meta->version)
			meta->version = sv;
		uint64_t l = set_life(s, NULL, now);
		if (l < life)
			life = l;
	}
	meta->expire_us = now_us + life * 1000000u;

	/* Remember what is now verified: the data set if it is a link, and
	 * each carried or fetched link that validates on its own. */
	uint16_t dtype = dns_block_set_type(data);
	if (dtype == DNS_T_DNSKEY || dtype == DNS_T_DS)
		cache_put(c->bv, data, c->now + life, c->now, true);
	for (size_t i = 0; i < c->blk->nchain + c->nfetched; i++) {
		const struct dns_block_set *s = i < c->blk->nchain
							? &c->blk->chain[i]
							: &c->fetched[i - c->blk->nchain];
		if (eff_set(c, dns_block_set_owner(s), dns_block_set_type(s), &src) != s)
			continue; /* already cached, or shadowed */
		if (dnssec_validate(v, s->rrs.rr, s->rrs.n, s->sigs.rr, s->sigs.n, now, NULL, 0) == 0)
			cache_put(c->bv, s, c->now + set_life(s, NULL, now), c->now, false);
	}
out:
	free(ok);
	dnssec_validator_free(v);
	return rc;
}

/* Decode and check the key. */
static int job_decode(struct dns_block *b, const uint8_t *key, const uint8_t *blk, size_t len,
		      char *why, size_t whylen)
{
	int rc = dns_block_decode(b, blk, len);
	if (rc) {
		snprintf(why, whylen, "block does not decode");
		return rc;
	}
	if (b->denial) {
		/* every NSEC set signed by the zone the block names, so one chain
		 * walk (from the first set) serves them all */
		for (size_t i = 0; i <= b->nmore; i++) {
			struct dns_name signer;
			if (!set_signer(i ? &b->more[i - 1] : &b->data, false, &signer) ||
			    !dns_name_equal(&signer, &b->zone)) {
				snprintf(why, whylen, "denial block holds an NSEC of another zone");
				return DDNS_EBOGUS;
			}
		}
		if (!dns_denial_complete(b)) {
			snprintf(why, whylen, "denial block does not cover its class");
			return DDNS_EBOGUS;
		}
	}
	if (key) {
		uint8_t k[DNS_BLOCK_KEY_LEN];
		struct dns_name loc;
		uint16_t lt;
		if (dns_block_locate(b, &loc, &lt, k) != 0) {
			snprintf(why, whylen, "denial block of a zone too deep to locate");
			return DDNS_EMALFORMED;
		}
		if (memcmp(k, key, sizeof(k)) != 0) {
			snprintf(why, whylen, "block stored under another name or type's key");
			return DDNS_EBOGUS;
		}
	}
	return 0;
}

static void count(struct ddns_blockval *bv, int rc)
{
	if (rc == 0)
		bv->st.accepted++;
	else
		bv->st.refused++;
}

int ddns_blockval_check(struct ddns_blockval *bv, const uint8_t *key, const uint8_t *blk,
			size_t len, uint64_t now_us, struct dht_block_meta *meta, char *why,
			size_t whylen)
{
	struct dns_block b;
	char w[WHY_LEN] = "";
	dns_block_init(&b);
	bv->st.validations++;
	int rc = job_decode(&b, key, blk, len, w, sizeof(w));
	if (rc == 0) {
		struct vctx c = {.bv = bv, .blk = &b, .now = bv->clock(bv->clock_arg)};
		rc = validate_ctx(&c, now_us, meta, w, sizeof(w));
	}
	if (why && whylen)
		snprintf(why, whylen, "%s", w);
	count(bv, rc);
	dns_block_clear(&b);
	return rc;
}

/* ---- asynchronous jobs ---- */

static void job_unlink(struct vjob *j)
{
	struct ddns_blockval *bv = j->bv;
	if (!bv)
		return;
	if (j->prev)
		j->prev->next = j->next;
	else
		bv->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	j->prev = j->next = NULL;
	bv->st.pending--;
}

static void job_free(struct vjob *j)
{
	dns_block_clear(&j->blk);
	for (size_t i = 0; i < j->nfetched; i++)
		dns_block_set_clear(&j->fetched[i]);
	free(j->fetched);
	free(j);
}

/* Give the verdict and free the job (which must not be linked). */
static void job_finish(struct vjob *j, int rc)
{
	struct dht_block_meta meta;
	char why[WHY_LEN] = "";
	struct ddns_blockval *bv = j->bv;
	if (!bv)
		rc = DDNS_ECANCELLED;
	if (rc == 0) {
		struct vctx c = {.bv = bv,
				 .blk = &j->blk,
				 .fetched = j->fetched,
				 .nfetched = j->nfetched,
				 .now = bv->clock(bv->clock_arg),
				 .current = j->current};
		uint64_t now_us = dht_now_us(j->d);
		rc = validate_ctx(&c, now_us, &meta, why, sizeof(why));
	}
	if (bv)
		count(bv, rc);
	if (rc && rc != DDNS_ECANCELLED)
		log_debug("dhtval: block %s: %s (%s)", j->current ? "not current" : "refused",
			  ddns_strerror(rc), why);
	if (j->current) {
		if (bv && rc && rc != DDNS_ECANCELLED)
			bv->st.current_failed++;
		j->cdone(j->done_arg, rc, j->rpcs, j->hops);
	} else {
		j->done(j->done_arg, rc, rc == 0 ? &meta : NULL);
	}
	job_free(j);
}

static void job_step(struct vjob *j);

static void fetch_done(void *arg, const struct dht_get_result *res)
{
	struct vjob *j = arg;
	job_unlink(j);
	if (!j->bv || res->status == DDNS_ECANCELLED) {
		job_finish(j, DDNS_ECANCELLED);
		return;
	}
	struct ddns_blockval *bv = j->bv;
	struct dns_block b;
	dns_block_init(&b);
	bool got = false;
	j->rpcs += res->rpcs;
	j->hops += res->hops;
	if (res->status == 0 && dns_block_decode(&b, res->block, res->len) == 0 &&
	    set_is(&b.data, &j->want_owner, j->want_type)) {
		struct dns_block_set *f = realloc(j->fetched, (j->nfetched + 1) * sizeof(*f));
		if (f) {
			j->fetched = f;
			/* The set changes hands: b's data set is emptied. */
			f[j->nfetched++] = b.data;
			memset(&b.data, 0, sizeof(b.data));
			got = true;
		}
	}
	dns_block_clear(&b);
	if (!got) {
		bv->st.fetch_failed++;
		job_finish(j, 0); /* the validator names the missing link */
		return;
	}
	job_step(j);
}

/* Fetch the next missing link, or finish. */
static void job_step(struct vjob *j)
{
	struct ddns_blockval *bv = j->bv;
	struct vctx c = {.bv = bv,
			 .blk = &j->blk,
			 .fetched = j->fetched,
			 .nfetched = j->nfetched,
			 .now = bv->clock(bv->clock_arg),
			 .current = j->current};
	uint8_t k[DHT_KEY_LEN];
	if (!j->d || j->fetches >= DDNS_BLOCKVAL_MAX_FETCH ||
	    bv->st.pending >= DDNS_BLOCKVAL_MAX_PENDING ||
	    !find_missing(&c, &j->want_owner, &j->want_type)) {
		job_finish(j, 0);
		return;
	}
	dns_block_key(&j->want_owner, j->want_type, k);
	j->fetches++;
	bv->st.fetches++;
	/* Linked first: the callback never runs inside dht_get. */
	j->next = bv->jobs;
	if (bv->jobs)
		bv->jobs->prev = j;
	bv->jobs = j;
	bv->st.pending++;
	if (dht_get(j->d, k, fetch_done, j) != 0) {
		job_unlink(j);
		bv->st.fetch_failed++;
		job_finish(j, 0);
	}
}

/* Start a job: validate (done) or check_current (cdone). */
static void job_start(struct ddns_blockval *bv, struct dht *d, const uint8_t *key,
		      const uint8_t *blk, size_t len, bool current, dht_validate_done_cb done,
		      ddns_blockval_current_cb cdone, void *done_arg)
{
	char why[WHY_LEN] = "";
	bv->st.validations++;
	if (current)
		bv->st.current_checks++;
	struct vjob *j = calloc(1, sizeof(*j));
	int rc = -ENOMEM;
	if (j) {
		j->bv = bv;
		j->d = d;
		j->current = current;
		j->done = done;
		j->cdone = cdone;
		j->done_arg = done_arg;
		dns_block_init(&j->blk);
		rc = job_decode(&j->blk, key, blk, len, why, sizeof(why));
		if (rc == 0) {
			job_step(j);
			return;
		}
		log_debug("dhtval: block refused: %s (%s)", ddns_strerror(rc), why);
		job_free(j);
	}
	bv->st.refused++;
	if (current)
		cdone(done_arg, rc, 0, 0);
	else
		done(done_arg, rc, NULL);
}

void ddns_blockval_validate(void *arg, struct dht *d, const uint8_t key[DHT_KEY_LEN],
			    const uint8_t *blk, size_t len, dht_validate_done_cb done,
			    void *done_arg)
{
	job_start(arg, d, key, blk, len, false, done, NULL, done_arg);
}

void ddns_blockval_check_current(struct ddns_blockval *bv, struct dht *d,
				 const uint8_t key[DHT_KEY_LEN], const uint8_t *blk, size_t len,
				 ddns_blockval_current_cb done, void *done_arg)
{
	job_start(bv, d, key, blk, len, true, NULL, done, done_arg);
}

/* ---- life cycle ---- */

struct ddns_blockval *ddns_blockval_new(const struct dns_rr *anchors, size_t n,
					ddns_unix_clock_cb clock, void *clock_arg,
					size_t cache_max, int *err)
{
	int e = -ENOMEM;
	struct ddns_blockval *bv = calloc(1, sizeof(*bv));
	if (!bv)
		goto fail;
	dns_rrlist_init(&bv->anchors);
	bv->clock = clock ? clock : system_clock;
	bv->clock_arg = clock_arg;
	bv->cache_max = cache_max ? cache_max : DDNS_BLOCKVAL_CACHE_MAX;
	if (!(bv->keys = dnssec_keycache_new(DDNS_BLOCKVAL_KEYS_MAX)))
		goto fail;
	if (n == 0) {
		e = -EINVAL;
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if (anchors[i].type != DNS_T_DS && anchors[i].type != DNS_T_DNSKEY) {
			e = -EINVAL;
			goto fail;
		}
		if (dns_rrlist_add(&bv->anchors, &anchors[i]))
			goto fail;
	}
	return bv;
fail:
	ddns_blockval_free(bv);
	if (err)
		*err = e;
	return NULL;
}

void ddns_blockval_free(struct ddns_blockval *bv)
{
	if (!bv)
		return;
	/* Jobs still waiting (their DHT outlives us): they finish with
	 * DDNS_ECANCELLED when their fetch completes. */
	while (bv->jobs) {
		struct vjob *j = bv->jobs;
		job_unlink(j);
		j->bv = NULL;
	}
	ddns_blockval_flush(bv);
	dnssec_keycache_free(bv->keys);
	dns_rrlist_free(&bv->anchors);
	free(bv);
}

void ddns_blockval_get_stats(const struct ddns_blockval *bv, struct ddns_blockval_stats *out)
{
	*out = bv->st;
	out->cache_entries = HASH_COUNT(bv->cache);
	size_t n;
	dnssec_keycache_sig_stats(bv->keys, &out->sig_cache_hits, &out->sig_computed, &n);
	dnssec_keycache_stats(bv->keys, &out->key_cache_hits, &out->keys_parsed, &n);
	out->keys_parsed += out->key_cache_hits; /* misses + hits */
}
