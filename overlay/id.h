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
/* Ids as big-endian words: bytes [0, 8), [8, 16) and [16, 20). */
static inline uint64_t ovl_id_w64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#elif !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
	v = (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
	    (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
	    (uint64_t)p[6] << 8 | p[7];
#endif
	return v;
}
static inline uint32_t ovl_id_w32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
/* Inline and a word at a time: the overlays compare ids in every
 * routing-table scan, and a call to memcmp per comparison was a sixth of a
 * chord simulation's time. Same sign as memcmp. */
static inline int ovl_id_cmp(const uint8_t a[DDNS_ID_LEN], const uint8_t b[DDNS_ID_LEN])
{
	_Static_assert(DDNS_ID_LEN == 20, "two words and a half");
	for (int i = 0; i < 16; i += 8) {
		uint64_t x = ovl_id_w64(a + i), y = ovl_id_w64(b + i);
		if (x != y)
			return x < y ? -1 : 1;
	}
	uint32_t x = ovl_id_w32(a + 16), y = ovl_id_w32(b + 16);
	return x < y ? -1 : x > y;
}
static inline bool ovl_id_eq(const uint8_t a[DDNS_ID_LEN], const uint8_t b[DDNS_ID_LEN])
{
	uint64_t a0, a1, b0, b1;
	uint32_t a2, b2;
	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&a2, a + 16, 4);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + 8, 8);
	memcpy(&b2, b + 16, 4);
	return ((a0 ^ b0) | (a1 ^ b1) | (uint64_t)(a2 ^ b2)) == 0;
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
