/*
 * p256.c - ECDSA P-256/SHA-256 through OpenSSL's libcrypto (see p256.h).
 *
 * A key holds the EVP_PKEY and one verification context and, for a key
 * with its private scalar, one signing context, each initialised once:
 * libcrypto's per-context setup (provider fetch, key checks) costs about
 * as much as the verification itself. The r||s <-> DER conversions are
 * written out here (SEC 1 §C.5: SEQUENCE of two INTEGERs), so that a
 * verification allocates nothing.
 */
#include "config.h"

#include "dns/p256.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#ifdef HAVE_LIBCRYPTO

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

struct p256_key {
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *vctx; /* EVP_PKEY_verify_init done */
	EVP_PKEY_CTX *sctx; /* EVP_PKEY_sign_init done; NULL without a private scalar */
};

bool p256_available(void) { return true; }

void p256_key_free(struct p256_key *k)
{
	if (!k)
		return;
	EVP_PKEY_CTX_free(k->vctx);
	EVP_PKEY_CTX_free(k->sctx);
	EVP_PKEY_free(k->pkey);
	free(k);
}

int p256_key_new(const uint8_t pub[64], const uint8_t *priv, struct p256_key **out)
{
	*out = NULL;
	struct p256_key *k = calloc(1, sizeof(*k));
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *fc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	OSSL_PARAM *params = NULL;
	BIGNUM *d = NULL;
	int rc = -ENOMEM;
	if (!k || !b || !fc)
		goto out;
	uint8_t pt[65];
	pt[0] = 0x04; /* uncompressed point, SEC 1 §2.3.3 */
	memcpy(pt + 1, pub, 64);
	if (!OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)))
		goto out;
	if (priv && (!(d = BN_bin2bn(priv, 32, NULL)) ||
		     !OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_PRIV_KEY, d)))
		goto out;
	if (!(params = OSSL_PARAM_BLD_to_param(b)))
		goto out;
	rc = DDNS_EMALFORMED;
	if (EVP_PKEY_fromdata_init(fc) <= 0 ||
	    EVP_PKEY_fromdata(fc, &k->pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
			      params) <= 0)
		goto out;
	rc = -ENOMEM;
	if (!(k->vctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) ||
	    EVP_PKEY_verify_init(k->vctx) <= 0)
		goto out;
	if (priv && (!(k->sctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)) ||
		     EVP_PKEY_sign_init(k->sctx) <= 0))
		goto out;
	*out = k;
	k = NULL;
	rc = 0;
out:
	BN_clear_free(d);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(fc);
	p256_key_free(k);
	return rc;
}

/* One DER INTEGER of a 32-octet unsigned big-endian value; returns its
 * length (at most 35). */
static size_t der_int(uint8_t *p, const uint8_t v[32])
{
	size_t i = 0;
	while (i < 31 && v[i] == 0)
		i++;
	size_t n = 32 - i;
	bool pad = v[i] & 0x80; /* keep it positive */
	p[0] = 0x02;
	p[1] = (uint8_t)(n + pad);
	if (pad)
		p[2] = 0;
	memcpy(p + 2 + pad, v + i, n);
	return 2 + pad + n;
}

/* Read one DER INTEGER into a 32-octet big-endian value; 0 when it does
 * not fit (or is not a positive INTEGER). */
static size_t der_int_read(const uint8_t *p, size_t len, uint8_t v[32])
{
	if (len < 3 || p[0] != 0x02 || p[1] == 0 || (size_t)p[1] + 2 > len || (p[2] & 0x80))
		return 0;
	size_t n = p[1];
	const uint8_t *q = p + 2;
	while (n > 1 && q[0] == 0) {
		q++;
		n--;
	}
	if (n > 32)
		return 0;
	memset(v, 0, 32 - n);
	memcpy(v + 32 - n, q, n);
	return (size_t)p[1] + 2;
}

int p256_verify(struct p256_key *k, const uint8_t hash[32], const uint8_t sig[64])
{
	uint8_t der[2 + 2 * 35];
	size_t n = der_int(der + 2, sig);
	n += der_int(der + 2 + n, sig + 32);
	der[0] = 0x30; /* SEQUENCE */
	der[1] = (uint8_t)n;
	return EVP_PKEY_verify(k->vctx, der, n + 2, hash, 32) == 1 ? 0 : DDNS_EBOGUS;
}

int p256_sign(struct p256_key *k, const uint8_t hash[32], uint8_t sig[64])
{
	if (!k->sctx)
		return DDNS_ENOKEY;
	uint8_t der[80];
	size_t dl = sizeof(der);
	if (EVP_PKEY_sign(k->sctx, der, &dl, hash, 32) <= 0 || dl < 8 || der[0] != 0x30 ||
	    (size_t)der[1] + 2 != dl)
		return -EIO;
	size_t a = der_int_read(der + 2, dl - 2, sig);
	if (!a || !der_int_read(der + 2 + a, dl - 2 - a, sig + 32))
		return -EIO;
	return 0;
}

#else /* !HAVE_LIBCRYPTO */

bool p256_available(void) { return false; }

int p256_key_new(const uint8_t pub[64], const uint8_t *priv, struct p256_key **out)
{
	(void)pub;
	(void)priv;
	*out = NULL;
	return DDNS_EUNSUPPORTED;
}

void p256_key_free(struct p256_key *k) { (void)k; }

int p256_verify(struct p256_key *k, const uint8_t hash[32], const uint8_t sig[64])
{
	(void)k;
	(void)hash;
	(void)sig;
	return DDNS_EUNSUPPORTED;
}

int p256_sign(struct p256_key *k, const uint8_t hash[32], uint8_t sig[64])
{
	(void)k;
	(void)hash;
	(void)sig;
	return DDNS_EUNSUPPORTED;
}

#endif
