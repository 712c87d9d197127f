#include "config.h"

#include "common/hash.h"

#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>

#ifdef HAVE_LIBCRYPTO
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>

/* One-shot digests through libcrypto when it is there: it uses the CPU's
 * SHA instructions, 3-5 times mbedTLS's speed on the short inputs of ids
 * and signed RRsets (a large part of a replica's time while a zone is
 * published). The algorithms are fetched once; a context per call costs
 * less than a fetch. mbedTLS answers when libcrypto cannot. */
static EVP_MD *md_sha1, *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

static void md_fetch(void)
{
	md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static bool evp_digest(bool sha256, const void *data, size_t len, uint8_t *out)
{
	(void)pthread_once(&md_once, md_fetch);
	EVP_MD *md = sha256 ? md_sha256 : md_sha1;
	if (!md)
		return false;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n = 0;
	bool ok = c && EVP_DigestInit_ex2(c, md, NULL) == 1 && EVP_DigestUpdate(c, data, len) == 1 &&
		  EVP_DigestFinal_ex(c, out, &n) == 1 && n == (sha256 ? 32u : (unsigned)DDNS_ID_LEN);
	EVP_MD_CTX_free(c);
	return ok;
}
#endif

_Static_assert(sizeof(mbedtls_sha1_context) <= sizeof(((struct ddns_sha1 *)0)->ctx),
	       "ddns_sha1 too small for mbedtls_sha1_context");

void ddns_sha1(const void *data, size_t len, uint8_t out[DDNS_ID_LEN])
{
#ifdef HAVE_LIBCRYPTO
	if (evp_digest(false, data, len, out))
		return;
#endif
	mbedtls_sha1_ret(data, len, out);
}

void ddns_sha1_init(struct ddns_sha1 *h)
{
	mbedtls_sha1_context *c = (mbedtls_sha1_context *)(void *)h->ctx;
	mbedtls_sha1_init(c);
	mbedtls_sha1_starts_ret(c);
}

void ddns_sha1_update(struct ddns_sha1 *h, const void *data, size_t len)
{
	mbedtls_sha1_update_ret((mbedtls_sha1_context *)(void *)h->ctx, data, len);
}

void ddns_sha1_final(struct ddns_sha1 *h, uint8_t out[DDNS_ID_LEN])
{
	mbedtls_sha1_context *c = (mbedtls_sha1_context *)(void *)h->ctx;
	mbedtls_sha1_finish_ret(c, out);
	mbedtls_sha1_free(c);
}

void ddns_sha256(const void *data, size_t len, uint8_t out[32])
{
#ifdef HAVE_LIBCRYPTO
	if (evp_digest(true, data, len, out))
		return;
#endif
	mbedtls_sha256_ret(data, len, out, 0);
}

char *ddns_id_hex(const uint8_t id[DDNS_ID_LEN], char out[2 * DDNS_ID_LEN + 1])
{
	static const char hx[] = "0123456789abcdef";
	for (int i = 0; i < DDNS_ID_LEN; i++) {
		out[2 * i] = hx[id[i] >> 4];
		out[2 * i + 1] = hx[id[i] & 15];
	}
	out[2 * DDNS_ID_LEN] = '\0';
	return out;
}
