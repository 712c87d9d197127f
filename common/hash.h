/*
 * hash.h - SHA-1 and SHA-256 (libcrypto's when built with it, else mbedTLS;
 * the streaming SHA-1 always mbedTLS) and 160-bit id helpers.
 *
 * Ids of nodes and keys in the overlay and DHT are 160-bit SHA-1 values,
 * compared as big-endian unsigned integers.
 */
#ifndef DDNS_COMMON_HASH_H
#define DDNS_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define DDNS_ID_LEN 20

struct ddns_sha1 {
	unsigned char ctx[128]; /* opaque mbedtls_sha1_context storage */
};

void ddns_sha1(const void *data, size_t len, uint8_t out[DDNS_ID_LEN]);
void ddns_sha1_init(struct ddns_sha1 *h);
void ddns_sha1_update(struct ddns_sha1 *h, const void *data, size_t len);
void ddns_sha1_final(struct ddns_sha1 *h, uint8_t out[DDNS_ID_LEN]);
void ddns_sha256(const void *data, size_t len, uint8_t out[32]);

/* Lowercase hex of an id into out (41 bytes incl. NUL); returns out. */
char *ddns_id_hex(const uint8_t id[DDNS_ID_LEN], char out[2 * DDNS_ID_LEN + 1]);

#endif
