/*
 * dnssec.c - keys, RRSIG creation and verification, key tags and DS digests.
 *
 * Signatures follow RFC 4034 §3.1.8.1: the signed data is the RRSIG RDATA
 * without its signature field, then every RR of the set in canonical form
 * and order. Algorithm 13 signatures are r||s, 32 octets each (RFC 6605 §4);
 * algorithm 8 signatures are PKCS#1 v1.5 over SHA-256 (RFC 5702 §3).
 *
 * Keys live in mbedTLS. Algorithm 13 signatures are verified and made
 * through dns/p256.h (OpenSSL's libcrypto, about 20 times faster) when the
 * build has it; a key whose libcrypto twin cannot be built, or that was
 * told to (dnssec_key_use_mbedtls), uses mbedTLS throughout.
 */
#include "dns/dnssec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>

#include "common/buf.h"
#include "common/hash.h"
#include "dns/name.h"
#include "dns/p256.h"
#include "dns/rdata.h"

/*
 * Invariants: rdata/rdlen is the DNSKEY RDATA the key was built from (or
 * generated); for alg 13, ec.Q is the public point and ec.d is set iff priv;
 * for RSA algs, rsa holds N,E (and the private values iff priv). The
 * entropy source and DRBG are set up and seeded once, on the first need
 * (key generation or the first signature), so signing a zone seeds once per
 * key, not once per RRset, and a public key never touches them.
 */
struct dnssec_key {
	struct dns_name owner;
	uint16_t flags;
	uint8_t alg;
	uint16_t tag;
	uint8_t *rdata;
	size_t rdlen;
	bool priv;
	bool drbg_init;  /* entropy and drbg initialised (not yet seeded) */
	bool drbg_ready; /* seeded */
	mbedtls_ecdsa_context ec;
	mbedtls_rsa_context rsa;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	struct p256_key *fast; /* alg 13: the same key in libcrypto, or NULL */
	unsigned refs;         /* owners; dnssec_key_free drops one */
	bool mbedtls_only;     /* dnssec_key_use_mbedtls */
};

static bool alg_is_rsa(uint8_t alg)
{
	return alg == 5 || alg == 7 || alg == 8 || alg == 10;
}

/* Digest type used by each algorithm's signatures; MBEDTLS_MD_NONE when we
 * do not support the algorithm. */
static mbedtls_md_type_t alg_md(uint8_t alg)
{
	switch (alg) {
	case 5:
	case 7:
		return MBEDTLS_MD_SHA1;
	case 8:
	case 13:
		return MBEDTLS_MD_SHA256;
	case 10:
		return MBEDTLS_MD_SHA512;
	default:
		return MBEDTLS_MD_NONE;
	}
}

/* --- key tags and DS ---------------------------------------------------- */

uint16_t dnssec_keytag(const uint8_t *k, size_t len)
{
	/* RFC 4034 Appendix B.1: algorithm 1 uses the modulus' low octets. */
	if (len >= 4 && k[3] == 1) {
		if (len < 7)
			return 0;
		return ddns_get_u16(k + len - 3);
	}
	uint32_t ac = 0;
	for (size_t i = 0; i < len; i++)
		ac += (i & 1) ? k[i] : (uint32_t)k[i] << 8;
	ac += (ac >> 16) & 0xffff;
	return (uint16_t)(ac & 0xffff);
}

static int ds_digest(const struct dns_name *owner, const uint8_t *dnskey,
		     size_t len, uint8_t type, uint8_t *out, size_t *dlen)
{
	struct dns_name lc;
	dns_name_copy(&lc, owner);
	dns_name_to_lower(&lc);
	if (type == DNSSEC_DS_SHA256) {
		mbedtls_sha256_context c;
		mbedtls_sha256_init(&c);
		mbedtls_sha256_starts_ret(&c, 0);
		mbedtls_sha256_update_ret(&c, lc.data, lc.len);
		mbedtls_sha256_update_ret(&c, dnskey, len);
		mbedtls_sha256_finish_ret(&c, out);
		mbedtls_sha256_free(&c);
		*dlen = 32;
		return 0;
	}
	if (type == DNSSEC_DS_SHA1) {
		mbedtls_sha1_context c;
		mbedtls_sha1_init(&c);
		mbedtls_sha1_starts_ret(&c);
		mbedtls_sha1_update_ret(&c, lc.data, lc.len);
		mbedtls_sha1_update_ret(&c, dnskey, len);
		mbedtls_sha1_finish_ret(&c, out);
		mbedtls_sha1_free(&c);
		*dlen = 20;
		return 0;
	}
	return DDNS_EUNSUPPORTED;
}

int dnssec_ds_make(const struct dns_name *owner, const uint8_t *dnskey,
		   size_t dnskey_len, uint8_t digest_type, uint8_t *out,
		   size_t cap, size_t *outlen)
{
	uint8_t d[32];
	size_t dlen;
	if (dnskey_len < 4)
		return DDNS_EMALFORMED;
	int rc = ds_digest(owner, dnskey, dnskey_len, digest_type, d, &dlen);
	if (rc)
		return rc;
	if (cap < 4 + dlen)
		return DDNS_ETOOBIG;
	uint16_t tag = dnssec_keytag(dnskey, dnskey_len);
	ddns_put_u16(out, tag);
	out[2] = dnskey[3];
	out[3] = digest_type;
	memcpy(out + 4, d, dlen);
	*outlen = 4 + dlen;
	return 0;
}

int dnssec_ds_match(const struct dns_name *owner, const uint8_t *dnskey,
		    size_t dnskey_len, const uint8_t *ds, size_t ds_len)
{
	uint8_t d[32];
	size_t dlen;
	if (dnskey_len < 4 || ds_len < 4)
		return DDNS_EMALFORMED;
	int rc = ds_digest(owner, dnskey, dnskey_len, ds[3], d, &dlen);
	if (rc)
		return rc;
	uint16_t tag = dnssec_keytag(dnskey, dnskey_len);
	if (ddns_get_u16(ds) != tag || ds[2] != dnskey[3] ||
	    ds_len != 4 + dlen || memcmp(ds + 4, d, dlen) != 0)
		return DDNS_EBADDS;
	return 0;
}

/* --- keys --------------------------------------------------------------- */

static struct dnssec_key *key_alloc(const struct dns_name *owner, uint8_t alg)
{
	struct dnssec_key *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	dns_name_copy(&k->owner, owner);
	k->alg = alg;
	k->refs = 1;
	mbedtls_ecdsa_init(&k->ec);
	mbedtls_rsa_init(&k->rsa, MBEDTLS_RSA_PKCS_V15, 0);
	return k;
}

struct dnssec_key *dnssec_key_ref(struct dnssec_key *k)
{
	k->refs++;
	return k;
}

void dnssec_key_free(struct dnssec_key *k)
{
	if (!k || --k->refs > 0)
		return;
	mbedtls_ecdsa_free(&k->ec);
	mbedtls_rsa_free(&k->rsa);
	if (k->drbg_init) {
		mbedtls_ctr_drbg_free(&k->drbg);
		mbedtls_entropy_free(&k->entropy);
	}
	p256_key_free(k->fast);
	free(k->rdata);
	free(k);
}

/* (Re)build k's libcrypto twin from its public point (k->rdata) and, when
 * it has one, its private scalar. Without it k simply uses mbedTLS. */
static void key_fast_load(struct dnssec_key *k)
{
	p256_key_free(k->fast);
	k->fast = NULL;
	if (k->alg != DNSSEC_ALG_ECDSAP256SHA256 || !p256_available() || k->rdlen != 4 + 64)
		return;
	uint8_t d[32];
	if (k->priv && mbedtls_mpi_write_binary(&k->ec.d, d, sizeof(d)))
		return;
	(void)p256_key_new(k->rdata + 4, k->priv ? d : NULL, &k->fast);
	memset(d, 0, sizeof(d));
}

void dnssec_key_use_mbedtls(struct dnssec_key *k, bool only) { k->mbedtls_only = only; }

bool dnssec_key_uses_libcrypto(const struct dnssec_key *k)
{
	return k->fast && !k->mbedtls_only;
}

static int key_drbg(struct dnssec_key *k)
{
	if (k->drbg_ready)
		return 0;
	/* Set up on the first need only: mbedtls_entropy_init fills a HAVEGE
	 * state (Debian's build has MBEDTLS_HAVEGE_C), which cost a validating
	 * node 40% of its CPU when every public key parsed did it. */
	if (!k->drbg_init) {
		mbedtls_entropy_init(&k->entropy);
		mbedtls_ctr_drbg_init(&k->drbg);
		k->drbg_init = true;
	}
	static const char pers[] = "ddns-dnssec";
	if (mbedtls_ctr_drbg_seed(&k->drbg, mbedtls_entropy_func, &k->entropy,
				  (const unsigned char *)pers, sizeof(pers) - 1))
		return -EIO;
	k->drbg_ready = true;
	return 0;
}

/* Parse the public key part of DNSKEY RDATA into k (alg already set). */
static int key_load_public(struct dnssec_key *k, const uint8_t *pk, size_t len)
{
	if (k->alg == DNSSEC_ALG_ECDSAP256SHA256) {
		uint8_t pt[65];
		if (len != 64)
			return DDNS_EMALFORMED;
		pt[0] = 0x04; /* uncompressed point, SEC 1 §2.3.3 */
		memcpy(pt + 1, pk, 64);
		if (mbedtls_ecp_group_load(&k->ec.grp, MBEDTLS_ECP_DP_SECP256R1) ||
		    mbedtls_ecp_point_read_binary(&k->ec.grp, &k->ec.Q, pt, 65) ||
		    mbedtls_ecp_check_pubkey(&k->ec.grp, &k->ec.Q))
			return DDNS_EMALFORMED;
		return 0;
	}
	if (alg_is_rsa(k->alg)) {
		/* RFC 3110 §2: exponent length (1 octet, or 0 then 2 octets),
		 * exponent, modulus. */
		struct ddns_rbuf r;
		ddns_rbuf_init(&r, pk, len);
		size_t elen = ddns_rbuf_u8(&r);
		if (elen == 0)
			elen = ddns_rbuf_u16(&r);
		const uint8_t *e = ddns_rbuf_take(&r, elen);
		size_t nlen = ddns_rbuf_left(&r);
		const uint8_t *n = ddns_rbuf_take(&r, nlen);
		if (r.err || elen == 0 || nlen < 64 || nlen > DNSSEC_SIG_MAX)
			return DDNS_EMALFORMED;
		if (mbedtls_rsa_import_raw(&k->rsa, n, nlen, NULL, 0, NULL, 0,
					   NULL, 0, e, elen) ||
		    mbedtls_rsa_complete(&k->rsa) ||
		    mbedtls_rsa_check_pubkey(&k->rsa))
			return DDNS_EMALFORMED;
		return 0;
	}
	return DDNS_EUNSUPPORTED;
}

int dnssec_key_from_dnskey(const struct dns_name *owner, const uint8_t *rdata,
			   size_t len, struct dnssec_key **out)
{
	*out = NULL;
	if (len < 4 || rdata[2] != 3) /* protocol must be 3, RFC 4034 §2.1.2 */
		return DDNS_EMALFORMED;
	if (alg_md(rdata[3]) == MBEDTLS_MD_NONE)
		return DDNS_EUNSUPPORTED;
	struct dnssec_key *k = key_alloc(owner, rdata[3]);
	if (!k)
		return -ENOMEM;
	int rc = key_load_public(k, rdata + 4, len - 4);
	if (rc)
		goto out;
	k->rdata = malloc(len);
	if (!k->rdata) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(k->rdata, rdata, len);
	k->rdlen = len;
	k->flags = ddns_get_u16(rdata);
	k->tag = dnssec_keytag(rdata, len);
	key_fast_load(k);
	*out = k;
	k = NULL;
out:
	dnssec_key_free(k);
	return rc;
}

/* --- parsed public keys, cached ------------------------------------------ */

/* Invariant: every entry holds one reference to its key; the table's
 * insertion order is least recently used first. */
struct kc_entry {
	uint8_t id[32]; /* SHA-256 of the lowercased owner, then the RDATA */
	struct dnssec_key *key;
	UT_hash_handle hh;
};

/* A signature that verified: SHA-256 of the signed data's digest, the
 * signature and the key's RDATA. Same order invariant as kc_entry. */
struct kc_sig {
	uint8_t id[32];
	UT_hash_handle hh;
};

struct dnssec_keycache {
	struct kc_entry *by_id;
	size_t max;
	uint64_t hits, misses;
	struct kc_sig *sigs;
	size_t sig_max;
	uint64_t sig_hits;
	uint64_t sig_checks; /* verifications computed (the rest were hits) */
};

struct dnssec_keycache *dnssec_keycache_new(size_t max)
{
	struct dnssec_keycache *kc = calloc(1, sizeof(*kc));
	if (kc) {
		kc->max = max ? max : 1;
		kc->sig_max = 4 * kc->max;
	}
	return kc;
}

static void kc_del(struct dnssec_keycache *kc, struct kc_entry *e)
{
	HASH_DEL(kc->by_id, e);
	dnssec_key_free(e->key);
	free(e);
}

void dnssec_keycache_free(struct dnssec_keycache *kc)
{
	if (!kc)
		return;
	struct kc_entry *e, *tmp;
	HASH_ITER(hh, kc->by_id, e, tmp)
	{
		kc_del(kc, e);
	}
	struct kc_sig *g, *gt;
	HASH_ITER(hh, kc->sigs, g, gt)
	{
		HASH_DEL(kc->sigs, g);
		free(g);
	}
	free(kc);
}

int dnssec_keycache_get(struct dnssec_keycache *kc, const struct dns_name *owner,
			const uint8_t *rdata, size_t len, struct dnssec_key **out)
{
	if (!kc)
		return dnssec_key_from_dnskey(owner, rdata, len, out);
	struct dns_name low;
	dns_name_copy(&low, owner);
	dns_name_to_lower(&low);
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	ddns_wbuf_put(&w, low.data, low.len);
	ddns_wbuf_put(&w, rdata, len);
	if (w.err) {
		ddns_wbuf_free(&w);
		return dnssec_key_from_dnskey(owner, rdata, len, out);
	}
	uint8_t id[32];
	ddns_sha256(w.p, w.len, id);
	ddns_wbuf_free(&w);
	struct kc_entry *e;
	HASH_FIND(hh, kc->by_id, id, sizeof(id), e);
	if (e && e->key->rdlen == len && memcmp(e->key->rdata, rdata, len) == 0 &&
	    dns_name_equal(&e->key->owner, owner)) {
		HASH_DEL(kc->by_id, e); /* most recently used: to the tail */
		HASH_ADD(hh, kc->by_id, id, sizeof(e->id), e);
		kc->hits++;
		*out = dnssec_key_ref(e->key);
		return 0;
	}
	kc->misses++;
	int rc = dnssec_key_from_dnskey(owner, rdata, len, out);
	if (rc || e) /* a bad key is not cached; nor one whose id is taken */
		return rc;
	if (!(e = calloc(1, sizeof(*e))))
		return 0; /* uncached, still usable */
	memcpy(e->id, id, sizeof(id));
	e->key = dnssec_key_ref(*out);
	while (HASH_COUNT(kc->by_id) >= kc->max)
		kc_del(kc, kc->by_id);
	HASH_ADD(hh, kc->by_id, id, sizeof(e->id), e);
	return 0;
}

void dnssec_keycache_sig_stats(const struct dnssec_keycache *kc, uint64_t *hits,
			       uint64_t *computed, size_t *entries)
{
	*hits = kc->sig_hits;
	*computed = kc->sig_checks;
	*entries = HASH_COUNT(kc->sigs);
}

/* Was this signature verified before (true: moved to the tail)? */
static bool kc_sig_seen(struct dnssec_keycache *kc, const uint8_t id[32])
{
	struct kc_sig *g;
	HASH_FIND(hh, kc->sigs, id, 32, g);
	if (!g)
		return false;
	HASH_DEL(kc->sigs, g);
	HASH_ADD(hh, kc->sigs, id, sizeof(g->id), g);
	kc->sig_hits++;
	return true;
}

static void kc_sig_add(struct dnssec_keycache *kc, const uint8_t id[32])
{
	struct kc_sig *g = calloc(1, sizeof(*g));
	if (!g)
		return; /* only costs a verification next time */
	memcpy(g->id, id, 32);
	while (HASH_COUNT(kc->sigs) >= kc->sig_max) {
		struct kc_sig *old = kc->sigs;
		HASH_DEL(kc->sigs, old);
		free(old);
	}
	HASH_ADD(hh, kc->sigs, id, sizeof(g->id), g);
}

void dnssec_keycache_stats(const struct dnssec_keycache *kc, uint64_t *hits, uint64_t *misses,
			   size_t *entries)
{
	*hits = kc->hits;
	*misses = kc->misses;
	*entries = HASH_COUNT(kc->by_id);
}

static int mpi_bin(const mbedtls_mpi *x, struct dnssec_bin *b, size_t pad)
{
	size_t n = mbedtls_mpi_size(x);
	if (n < pad)
		n = pad;
	uint8_t *p = malloc(n ? n : 1);
	if (!p)
		return -ENOMEM;
	if (mbedtls_mpi_write_binary(x, p, n)) {
		free(p);
		return DDNS_EMALFORMED;
	}
	b->p = p;
	b->len = n;
	return 0;
}

/* Build k->rdata from the public half now in k->ec or k->rsa. */
static int key_make_rdata(struct dnssec_key *k)
{
	struct ddns_wbuf w;
	int rc = 0;
	ddns_wbuf_init(&w, 65535);
	ddns_wbuf_u16(&w, k->flags);
	ddns_wbuf_u8(&w, 3);
	ddns_wbuf_u8(&w, k->alg);
	if (k->alg == DNSSEC_ALG_ECDSAP256SHA256) {
		uint8_t pt[65];
		size_t olen = 0;
		if (mbedtls_ecp_point_write_binary(&k->ec.grp, &k->ec.Q,
						   MBEDTLS_ECP_PF_UNCOMPRESSED,
						   &olen, pt, sizeof(pt)) ||
		    olen != 65) {
			rc = DDNS_EMALFORMED;
			goto out;
		}
		ddns_wbuf_put(&w, pt + 1, 64);
	} else {
		struct dnssec_bin n = {0}, e = {0};
		mbedtls_mpi N, E;
		mbedtls_mpi_init(&N);
		mbedtls_mpi_init(&E);
		rc = mbedtls_rsa_export(&k->rsa, &N, NULL, NULL, NULL, &E)
			     ? DDNS_EMALFORMED
			     : 0;
		if (!rc)
			rc = mpi_bin(&N, &n, 0);
		if (!rc)
			rc = mpi_bin(&E, &e, 0);
		if (!rc) {
			if (e.len <= 255) {
				ddns_wbuf_u8(&w, (uint8_t)e.len);
			} else {
				ddns_wbuf_u8(&w, 0);
				ddns_wbuf_u16(&w, (uint16_t)e.len);
			}
			ddns_wbuf_put(&w, e.p, e.len);
			ddns_wbuf_put(&w, n.p, n.len);
		}
		free((void *)n.p);
		free((void *)e.p);
		mbedtls_mpi_free(&N);
		mbedtls_mpi_free(&E);
		if (rc)
			goto out;
	}
	if (w.err) {
		rc = -ENOMEM;
		goto out;
	}
	free(k->rdata);
	k->rdata = w.p;
	k->rdlen = w.len;
	w.p = NULL;
	k->tag = dnssec_keytag(k->rdata, k->rdlen);
out:
	ddns_wbuf_free(&w);
	return rc;
}

int dnssec_key_generate(const struct dns_name *owner, uint8_t alg,
			uint16_t flags, unsigned bits, struct dnssec_key **out)
{
	*out = NULL;
	if (alg != DNSSEC_ALG_ECDSAP256SHA256 && alg != DNSSEC_ALG_RSASHA256)
		return DDNS_EUNSUPPORTED;
	if (alg == DNSSEC_ALG_RSASHA256 && bits == 0)
		bits = 2048;
	if (alg == DNSSEC_ALG_RSASHA256 && (bits < 1024 || bits > 4096))
		return DDNS_EUNSUPPORTED;
	struct dnssec_key *k = key_alloc(owner, alg);
	if (!k)
		return -ENOMEM;
	k->flags = flags;
	int rc = key_drbg(k);
	if (rc)
		goto out;
	if (alg == DNSSEC_ALG_ECDSAP256SHA256) {
		if (mbedtls_ecdsa_genkey(&k->ec, MBEDTLS_ECP_DP_SECP256R1,
					 mbedtls_ctr_drbg_random, &k->drbg)) {
			rc = -EIO;
			goto out;
		}
	} else if (mbedtls_rsa_gen_key(&k->rsa, mbedtls_ctr_drbg_random,
				       &k->drbg, bits, 65537)) {
		rc = -EIO;
		goto out;
	}
	k->priv = true;
	rc = key_make_rdata(k);
	if (rc)
		goto out;
	key_fast_load(k);
	*out = k;
	k = NULL;
out:
	dnssec_key_free(k);
	return rc;
}

int dnssec_key_set_private(struct dnssec_key *k, const struct dnssec_bin *f,
			   size_t nf)
{
	int rc = DDNS_EMALFORMED;
	if (k->alg == DNSSEC_ALG_ECDSAP256SHA256) {
		mbedtls_ecp_point q;
		mbedtls_ecp_point_init(&q);
		if (nf < 1 || f[0].len != 32)
			goto ec_out;
		rc = key_drbg(k);
		if (rc)
			goto ec_out;
		rc = DDNS_EMALFORMED;
		/* Recompute Q = d*G and insist it is the published key. */
		if (mbedtls_mpi_read_binary(&k->ec.d, f[0].p, 32) ||
		    mbedtls_ecp_check_privkey(&k->ec.grp, &k->ec.d) ||
		    mbedtls_ecp_mul(&k->ec.grp, &q, &k->ec.d, &k->ec.grp.G,
				    mbedtls_ctr_drbg_random, &k->drbg) ||
		    mbedtls_ecp_point_cmp(&q, &k->ec.Q))
			goto ec_out;
		k->priv = true;
		key_fast_load(k);
		rc = 0;
	ec_out:
		mbedtls_ecp_point_free(&q);
		return rc;
	}
	if (alg_is_rsa(k->alg)) {
		mbedtls_rsa_context r;
		mbedtls_rsa_init(&r, MBEDTLS_RSA_PKCS_V15, 0);
		if (nf < 5)
			goto rsa_out;
		if (mbedtls_rsa_import_raw(&r, f[0].p, f[0].len, f[3].p,
					   f[3].len, f[4].p, f[4].len, f[2].p,
					   f[2].len, f[1].p, f[1].len) ||
		    mbedtls_rsa_complete(&r) || mbedtls_rsa_check_privkey(&r) ||
		    mbedtls_rsa_check_pub_priv(&k->rsa, &r))
			goto rsa_out;
		mbedtls_rsa_free(&k->rsa);
		mbedtls_rsa_init(&k->rsa, MBEDTLS_RSA_PKCS_V15, 0);
		if (mbedtls_rsa_copy(&k->rsa, &r)) {
			rc = -ENOMEM;
			goto rsa_out;
		}
		k->priv = true;
		rc = 0;
	rsa_out:
		mbedtls_rsa_free(&r);
		return rc;
	}
	return DDNS_EUNSUPPORTED;
}

void dnssec_bin_free(struct dnssec_bin *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free((void *)b[i].p);
		b[i].p = NULL;
		b[i].len = 0;
	}
}

int dnssec_key_get_private(const struct dnssec_key *k, struct dnssec_bin *out,
			   size_t max)
{
	if (!k->priv)
		return DDNS_ENOKEY;
	if (k->alg == DNSSEC_ALG_ECDSAP256SHA256) {
		if (max < 1)
			return -EINVAL;
		int rc = mpi_bin(&k->ec.d, &out[0], 32);
		return rc ? rc : 1;
	}
	if (max < 8)
		return -EINVAL;
	mbedtls_mpi v[8];
	for (int i = 0; i < 8; i++)
		mbedtls_mpi_init(&v[i]);
	int rc = 0, n = 0;
	/* BIND order: N, E, D, P, Q, DP, DQ, QP */
	if (mbedtls_rsa_export(&k->rsa, &v[0], &v[3], &v[4], &v[2], &v[1]) ||
	    mbedtls_rsa_export_crt(&k->rsa, &v[5], &v[6], &v[7]))
		rc = DDNS_EMALFORMED;
	for (; !rc && n < 8; n++)
		rc = mpi_bin(&v[n], &out[n], 0);
	for (int i = 0; i < 8; i++)
		mbedtls_mpi_free(&v[i]);
	if (rc) {
		dnssec_bin_free(out, (size_t)n);
		return rc;
	}
	return 8;
}

uint16_t dnssec_key_tag(const struct dnssec_key *k) { return k->tag; }
uint8_t dnssec_key_alg(const struct dnssec_key *k) { return k->alg; }
uint16_t dnssec_key_flags(const struct dnssec_key *k) { return k->flags; }
bool dnssec_key_has_private(const struct dnssec_key *k) { return k->priv; }
const struct dns_name *dnssec_key_owner(const struct dnssec_key *k)
{
	return &k->owner;
}
const uint8_t *dnssec_key_rdata(const struct dnssec_key *k, size_t *len)
{
	*len = k->rdlen;
	return k->rdata;
}

/* --- RRSIG -------------------------------------------------------------- */

int dnssec_rrsig_parse(const uint8_t *rdata, size_t len,
		       struct dnssec_rrsig *out)
{
	struct ddns_rbuf r;
	ddns_rbuf_init(&r, rdata, len);
	out->type_covered = ddns_rbuf_u16(&r);
	out->alg = ddns_rbuf_u8(&r);
	out->labels = ddns_rbuf_u8(&r);
	out->orig_ttl = ddns_rbuf_u32(&r);
	out->expiration = ddns_rbuf_u32(&r);
	out->inception = ddns_rbuf_u32(&r);
	out->key_tag = ddns_rbuf_u16(&r);
	if (r.err)
		return DDNS_EMALFORMED;
	size_t off = r.off;
	if (dns_name_from_wire(&out->signer, rdata, len, &off, false))
		return DDNS_EMALFORMED;
	if (off >= len)
		return DDNS_EMALFORMED; /* an empty signature */
	out->sig = rdata + off;
	out->sig_len = len - off;
	return 0;
}

int dnssec_check_window(uint32_t inception, uint32_t expiration, uint32_t now)
{
	/* RFC 1982 serial comparison: a is after b when (int32)(a - b) > 0. */
	if ((int32_t)(now - expiration) > 0)
		return DDNS_EEXPIRED;
	if ((int32_t)(inception - now) > 0)
		return DDNS_ENOTYET;
	return 0;
}

int dnssec_time_parse(const char *s, uint32_t now, uint32_t *out)
{
	const char *p = s;
	if (strncmp(p, "now", 3) == 0) {
		p += 3;
		if (*p == '\0') {
			*out = now;
			return 0;
		}
	}
	if ((*p == '+' || *p == '-') && p[1] >= '0' && p[1] <= '9') {
		char *end;
		errno = 0;
		unsigned long long n = strtoull(p + 1, &end, 10);
		if (*end || errno || n > 0xffffffffull)
			return DDNS_EMALFORMED;
		*out = *p == '+' ? now + (uint32_t)n : now - (uint32_t)n;
		return 0;
	}
	if (p != s)
		return DDNS_EMALFORMED;
	return dns_time_from_text(s, strlen(s), out) ? DDNS_EMALFORMED : 0;
}

/* One RR of a set in canonical form, for sorting (RFC 4034 §6.3). */
struct canon_rd {
	uint8_t *p;
	size_t len;
};

static int canon_rd_cmp(const void *a, const void *b)
{
	const struct canon_rd *x = a, *y = b;
	size_t m = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, m);
	if (c)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

int dnssec_signed_data(const uint8_t *hdr, size_t hdr_len,
		       const struct dns_rr *rrs, size_t n, struct ddns_wbuf *w)
{
	if (n == 0 || hdr_len < 18)
		return DDNS_EMALFORMED;
	unsigned labels = hdr[3];
	uint32_t ttl = ddns_get_u32(hdr + 4);
	/* Owner as signed: lowercased; when the RRSIG has fewer labels than
	 * the owner, the wildcard it was expanded from (RFC 4035 §5.3.2). */
	struct dns_name owner;
	dns_name_copy(&owner, &rrs[0].owner);
	dns_name_to_lower(&owner);
	unsigned have = dns_name_label_count(&owner);
	if (labels > have)
		return DDNS_EMALFORMED;
	if (labels < have) {
		struct dns_name suf;
		static const uint8_t star[] = {1, '*'};
		if (dns_name_suffix(&owner, labels, &suf) ||
		    dns_name_concat(&owner, star, sizeof(star), &suf))
			return DDNS_EMALFORMED;
	}
	struct canon_rd *cr = calloc(n, sizeof(*cr));
	if (!cr)
		return -ENOMEM;
	int rc = 0;
	size_t i;
	for (i = 0; i < n; i++) {
		cr[i].len = rrs[i].rdlen;
		cr[i].p = malloc(rrs[i].rdlen ? rrs[i].rdlen : 1);
		if (!cr[i].p) {
			rc = -ENOMEM;
			goto out;
		}
		if (rrs[i].rdlen)
			memcpy(cr[i].p, rrs[i].rdata, rrs[i].rdlen);
		if (dns_rdata_canonicalize(rrs[0].type, cr[i].p, cr[i].len)) {
			rc = DDNS_EMALFORMED;
			goto out;
		}
	}
	qsort(cr, n, sizeof(*cr), canon_rd_cmp);
	ddns_wbuf_put(w, hdr, hdr_len);
	for (i = 0; i < n; i++) {
		if (i > 0 && canon_rd_cmp(&cr[i], &cr[i - 1]) == 0)
			continue; /* duplicates count once, RFC 4034 §6.3 */
		ddns_wbuf_put(w, owner.data, owner.len);
		ddns_wbuf_u16(w, rrs[0].type);
		ddns_wbuf_u16(w, rrs[0].rclass);
		ddns_wbuf_u32(w, ttl);
		ddns_wbuf_u16(w, (uint16_t)cr[i].len);
		ddns_wbuf_put(w, cr[i].p, cr[i].len);
	}
	if (w->err)
		rc = -ENOMEM;
out:
	for (size_t j = 0; j < n; j++)
		free(cr[j].p);
	free(cr);
	return rc;
}

/* Hash the signed data with the algorithm's digest. */
static size_t alg_hash(uint8_t alg, const uint8_t *p, size_t len, uint8_t *out)
{
	if (alg_md(alg) == MBEDTLS_MD_SHA256) {
		ddns_sha256(p, len, out); /* libcrypto's when there: SHA instructions */
		return 32;
	}
	const mbedtls_md_info_t *mi = mbedtls_md_info_from_type(alg_md(alg));
	if (!mi || mbedtls_md(mi, p, len, out))
		return 0;
	return mbedtls_md_get_size(mi);
}

/* Build the RRSIG RDATA fixed part and signer for an RRset. */
static void rrsig_header(struct ddns_wbuf *w, const struct dnssec_key *key,
			 const struct dns_rr *rr, uint32_t inception,
			 uint32_t expiration)
{
	struct dns_name signer;
	dns_name_copy(&signer, &key->owner);
	dns_name_to_lower(&signer);
	ddns_wbuf_u16(w, rr->type);
	ddns_wbuf_u8(w, key->alg);
	ddns_wbuf_u8(w, (uint8_t)dns_name_rrsig_labels(&rr->owner));
	ddns_wbuf_u32(w, rr->ttl);
	ddns_wbuf_u32(w, expiration);
	ddns_wbuf_u32(w, inception);
	ddns_wbuf_u16(w, key->tag);
	ddns_wbuf_put(w, signer.data, signer.len);
}

int dnssec_sign_rrset(struct dnssec_key *key, const struct dns_rr *rrs,
		      size_t n, uint32_t inception, uint32_t expiration,
		      struct dns_rrlist *out)
{
	if (!key->priv)
		return DDNS_ENOKEY;
	if (n == 0)
		return DDNS_EMALFORMED;
	if (!dns_name_is_subdomain(&rrs[0].owner, &key->owner))
		return DDNS_EOUTOFZONE;
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	mbedtls_mpi r, s;
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	uint8_t hash[64];
	int rc = key_drbg(key);
	if (rc)
		goto out;
	rrsig_header(&w, key, &rrs[0], inception, expiration);
	if (w.err) {
		rc = -ENOMEM;
		goto out;
	}
	size_t hdr_len = w.len;
	/* The signed data starts with the header, so build it in place and
	 * cut back to the header before appending the signature. */
	uint8_t *hdr = malloc(hdr_len);
	if (!hdr) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(hdr, w.p, hdr_len);
	w.len = 0;
	rc = dnssec_signed_data(hdr, hdr_len, rrs, n, &w);
	free(hdr);
	if (rc)
		goto out;
	size_t hlen = alg_hash(key->alg, w.p, w.len, hash);
	if (!hlen) {
		rc = DDNS_EUNSUPPORTED;
		goto out;
	}
	w.len = hdr_len;
	if (key->alg == DNSSEC_ALG_ECDSAP256SHA256 && dnssec_key_uses_libcrypto(key) &&
	    hlen == 32) {
		uint8_t sig[64];
		if (p256_sign(key->fast, hash, sig)) {
			rc = -EIO;
			goto out;
		}
		ddns_wbuf_put(&w, sig, 64);
	} else if (key->alg == DNSSEC_ALG_ECDSAP256SHA256) {
		uint8_t sig[64];
		if (mbedtls_ecdsa_sign(&key->ec.grp, &r, &s, &key->ec.d, hash,
				       hlen, mbedtls_ctr_drbg_random,
				       &key->drbg) ||
		    mbedtls_mpi_write_binary(&r, sig, 32) ||
		    mbedtls_mpi_write_binary(&s, sig + 32, 32)) {
			rc = -EIO;
			goto out;
		}
		ddns_wbuf_put(&w, sig, 64);
	} else {
		size_t slen = mbedtls_rsa_get_len(&key->rsa);
		if (!ddns_wbuf_reserve(&w, slen) ||
		    mbedtls_rsa_pkcs1_sign(&key->rsa, mbedtls_ctr_drbg_random,
					   &key->drbg, MBEDTLS_RSA_PRIVATE,
					   alg_md(key->alg), (unsigned)hlen,
					   hash, w.p + w.len)) {
			rc = -EIO;
			goto out;
		}
		w.len += slen;
	}
	if (w.err || w.len > 65535) {
		rc = w.err ? -ENOMEM : DDNS_ETOOBIG;
		goto out;
	}
	struct dns_rr sigrr = rrs[0];
	sigrr.type = DNS_T_RRSIG;
	sigrr.rdlen = (uint16_t)w.len;
	sigrr.rdata = w.p;
	rc = dns_rrlist_add(out, &sigrr);
out:
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	ddns_wbuf_free(&w);
	return rc;
}

static int verify_rrsig(struct dnssec_keycache *kc, const struct dnssec_key *key,
			const struct dns_rr *rrs, size_t n, const struct dns_rr *sigrr, uint32_t now);

int dnssec_verify_rrsig(const struct dnssec_key *key, const struct dns_rr *rrs,
			size_t n, const struct dns_rr *sigrr, uint32_t now)
{
	return verify_rrsig(NULL, key, rrs, n, sigrr, now);
}

int dnssec_keycache_verify(struct dnssec_keycache *kc, const struct dnssec_key *key,
			   const struct dns_rr *rrs, size_t n, const struct dns_rr *sigrr,
			   uint32_t now)
{
	return verify_rrsig(kc, key, rrs, n, sigrr, now);
}

/* Every check of dnssec_verify_rrsig runs each time; with kc, only the
 * signature arithmetic is skipped for a signature that verified before. */
static int verify_rrsig(struct dnssec_keycache *kc, const struct dnssec_key *key,
			const struct dns_rr *rrs, size_t n, const struct dns_rr *sigrr, uint32_t now)
{
	struct dnssec_rrsig sig;
	if (n == 0 || sigrr->type != DNS_T_RRSIG ||
	    dnssec_rrsig_parse(sigrr->rdata, sigrr->rdlen, &sig) ||
	    sig.type_covered != rrs[0].type || sigrr->rclass != rrs[0].rclass ||
	    !dns_name_equal(&sigrr->owner, &rrs[0].owner))
		return DDNS_EMALFORMED;
	/* RFC 4035 §5.3.1: signer is the key's owner and encloses the RRset. */
	if (!dns_name_is_subdomain(&rrs[0].owner, &sig.signer) ||
	    !dns_name_equal(&sig.signer, &key->owner))
		return DDNS_EOUTOFZONE;
	if (sig.key_tag != key->tag || sig.alg != key->alg ||
	    !(key->flags & DNSSEC_FLAG_ZONE))
		return DDNS_ENOKEY;
	if (sig.labels > dns_name_rrsig_labels(&rrs[0].owner))
		return DDNS_EMALFORMED;
	int rc = dnssec_check_window(sig.inception, sig.expiration, now);
	if (rc)
		return rc;
	if (alg_md(sig.alg) == MBEDTLS_MD_NONE)
		return DDNS_EUNSUPPORTED;

	struct ddns_wbuf w;
	uint8_t hash[64];
	mbedtls_mpi r, s;
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	ddns_wbuf_init(&w, 0);
	size_t hdr_len = sigrr->rdlen - sig.sig_len;
	rc = dnssec_signed_data(sigrr->rdata, hdr_len, rrs, n, &w);
	if (rc)
		goto out;
	size_t hlen = alg_hash(sig.alg, w.p, w.len, hash);
	if (!hlen) {
		rc = DDNS_EUNSUPPORTED;
		goto out;
	}
	uint8_t sig_id[32];
	if (kc) {
		w.len = 0; /* the signed data is hashed: reuse the buffer */
		ddns_wbuf_put(&w, hash, hlen);
		ddns_wbuf_put(&w, sig.sig, sig.sig_len);
		ddns_wbuf_put(&w, key->rdata, key->rdlen);
		if (w.err) {
			kc = NULL;
		} else {
			ddns_sha256(w.p, w.len, sig_id);
			if (kc_sig_seen(kc, sig_id)) {
				rc = 0;
				goto out;
			}
			kc->sig_checks++;
		}
	}
	/* mbedTLS takes non-const contexts for verification (it may cache
	 * precomputed points in the group); the key is ours on the heap. */
	struct dnssec_key *mk = (struct dnssec_key *)key;
	rc = DDNS_EBOGUS;
	if (key->alg == DNSSEC_ALG_ECDSAP256SHA256 && dnssec_key_uses_libcrypto(key) &&
	    hlen == 32) {
		if (sig.sig_len != 64 || p256_verify(key->fast, hash, sig.sig))
			goto out;
	} else if (key->alg == DNSSEC_ALG_ECDSAP256SHA256) {
		if (sig.sig_len != 64 ||
		    mbedtls_mpi_read_binary(&r, sig.sig, 32) ||
		    mbedtls_mpi_read_binary(&s, sig.sig + 32, 32) ||
		    mbedtls_ecdsa_verify(&mk->ec.grp, hash, hlen, &mk->ec.Q, &r,
					 &s))
			goto out;
	} else {
		if (sig.sig_len != mbedtls_rsa_get_len(&key->rsa) ||
		    mbedtls_rsa_pkcs1_verify(&mk->rsa, NULL, NULL,
					     MBEDTLS_RSA_PUBLIC,
					     alg_md(key->alg), (unsigned)hlen,
					     hash, sig.sig))
			goto out;
	}
	rc = 0;
	if (kc)
		kc_sig_add(kc, sig_id);
out:
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	ddns_wbuf_free(&w);
	return rc;
}
