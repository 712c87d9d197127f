/*
 * p256.h - ECDSA over P-256 with SHA-256 (DNSSEC algorithm 13) through
 * OpenSSL's libcrypto, when the build has it (configure --with-libcrypto,
 * the default when libcrypto 3 is installed).
 *
 * dns/dnssec.c keeps every key in mbedTLS and uses this module, when it is
 * available, for the two operations that dominate a node's and a signer's
 * time: verifying and making P-256 signatures. libcrypto's P-256 runs
 * about 20 times faster than mbedTLS 2.28's (docs/EVALUATION.md, "DNSSEC
 * speed"), and every block a node stores or a gateway serves costs one or
 * more verifications. Without libcrypto every function here fails with
 * DDNS_EUNSUPPORTED and dnssec.c uses mbedTLS alone.
 *
 * Signatures are DNSSEC's r||s, 32 octets each (RFC 6605 §4); the DER
 * form libcrypto speaks stays inside p256.c.
 */
#ifndef DDNS_DNS_P256_H
#define DDNS_DNS_P256_H

#include <stdbool.h>
#include <stdint.h>

struct p256_key;

/* Whether this build has the libcrypto path. */
bool p256_available(void);

/*
 * A key from the public point x||y (64 octets, as in DNSKEY RDATA) and,
 * for signing, the private scalar (32 octets, big-endian) or NULL. The
 * caller has checked that the point is on the curve and that the scalar
 * belongs to it (dnssec.c does, with mbedTLS). 0 or DDNS_EUNSUPPORTED,
 * DDNS_EMALFORMED, -ENOMEM.
 */
int p256_key_new(const uint8_t pub[64], const uint8_t *priv, struct p256_key **out);
void p256_key_free(struct p256_key *k);

/* 0 when sig is a valid signature of the SHA-256 digest hash under k,
 * DDNS_EBOGUS when it is not. */
int p256_verify(struct p256_key *k, const uint8_t hash[32], const uint8_t sig[64]);

/* Sign a SHA-256 digest with k's private scalar (fresh random nonce from
 * libcrypto's DRBG). 0, DDNS_ENOKEY (no private scalar) or -EIO. */
int p256_sign(struct p256_key *k, const uint8_t hash[32], uint8_t sig[64]);

#endif
