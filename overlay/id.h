/*
 * id.h - 160-bit identifiers of nodes and keys.
 *
 * A node's id is SHA-1(ip || port || vnode) (ip 4 or 16 bytes, port
 * big-endian 16 bits, vnode one byte), so anyone can check a claimed id
 * against the address it came from. Ids compare as big-endian unsigned
 * integers on a ring of 2^160 (chord) or by XOR distance (kad16).
 */
#ifndef DDNS_OVERLAY_ID_H
#define DDNS_OVERLAY_ID_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "common/hash.h"
#include "overlay/transport.h"

#define OVL_ID_BITS 160
#define OVL_ID_DIGITS 40 /* 4-bit digits */

void ovl_id_of(const struct tr_addr *a, uint8_t vnode, uint8_t out[DDNS_ID_LEN]);
/* Inline: the overlays compare ids in every routing-table scan, and a call
 * per comparison was a tenth of a simulation's time. */
static inline int ovl_id_cmp(const uint8_t a[DDNS_ID_LEN], const uint8_t b[DDNS_ID_LEN])
{
	return memcmp(a, b, DDNS_ID_LEN);
}
static inline bool ovl_id_eq(const uint8_t a[DDNS_ID_LEN], const uint8_t b[DDNS_ID_LEN])
{
	return memcmp(a, b, DDNS_ID_LEN) == 0;
}
/* x in the ring interval (a, b]; (a, a] is the whole ring. */
bool ovl_id_in_oc(const uint8_t x[DDNS_ID_LEN], const uint8_t a[DDNS_ID_LEN],
		  const uint8_t b[DDNS_ID_LEN]);
/* x in the open ring interval (a, b); (a, a) is the ring less a. */
bool ovl_id_in_oo(const uint8_t x[DDNS_ID_LEN], const uint8_t a[DDNS_ID_LEN],
		  const uint8_t b[DDNS_ID_LEN]);
/* out = a + 2^bit mod 2^160 (bit 0 is the least significant). */
void ovl_id_add_pow2(const uint8_t a[DDNS_ID_LEN], unsigned bit, uint8_t out[DDNS_ID_LEN]);
/* out = (b - a) mod 2^160: clockwise distance from a to b. */
void ovl_id_sub(const uint8_t b[DDNS_ID_LEN], const uint8_t a[DDNS_ID_LEN],
		uint8_t out[DDNS_ID_LEN]);
void ovl_id_xor(const uint8_t a[DDNS_ID_LEN], const uint8_t b[DDNS_ID_LEN],
		uint8_t out[DDNS_ID_LEN]);
/* 4-bit digit i, 0 the most significant. */
static inline unsigned ovl_id_digit(const uint8_t id[DDNS_ID_LEN], unsigned i)
{
	return (i & 1) ? (id[i >> 1] & 15u) : (id[i >> 1] >> 4);
}
/* Number of leading 4-bit digits a and b share (0..40). */
unsigned ovl_id_common_digits(const uint8_t a[DDNS_ID_LEN], const uint8_t b[DDNS_ID_LEN]);
/* Is a closer to target than b by XOR distance? (strict) */
bool ovl_id_xor_closer(const uint8_t target[DDNS_ID_LEN], const uint8_t a[DDNS_ID_LEN],
		       const uint8_t b[DDNS_ID_LEN]);

#endif
