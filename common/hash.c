#include "common/hash.h"

#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>

_Static_assert(sizeof(mbedtls_sha1_context) <= sizeof(((struct ddns_sha1 *)0)->ctx),
	       "ddns_sha1 too small for mbedtls_sha1_context");

void ddns_sha1(const void *data, size_t len, uint8_t out[DDNS_ID_LEN])
{
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
