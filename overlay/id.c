#include "overlay/id.h"
#include "common/buf.h"

#include <string.h>

void ovl_id_of(const struct tr_addr *a, uint8_t vnode, uint8_t out[DDNS_ID_LEN])
{
	uint8_t buf[16 + 2 + 1];
	size_t n = a->family == TR_AF_INET ? 4 : 16;
	memcpy(buf, a->ip, n);
	ddns_put_u16(buf + n, a->port);
	buf[n + 2] = vnode;
	ddns_sha1(buf, n + 3, out);
}

bool ovl_id_in_oc(const uint8_t x[DDNS_ID_LEN], const uint8_t a[DDNS_ID_LEN],
		  const uint8_t b[DDNS_ID_LEN])
{
	int ab = ovl_id_cmp(a, b);
	if (ab == 0)
		return true;
	if (ab < 0)
		return ovl_id_cmp(x, a) > 0 && ovl_id_cmp(x, b) <= 0;
	return ovl_id_cmp(x, a) > 0 || ovl_id_cmp(x, b) <= 0;
}

bool ovl_id_in_oo(const uint8_t x[DDNS_ID_LEN], const uint8_t a[DDNS_ID_LEN],
		  const uint8_t b[DDNS_ID_LEN])
{
	int ab = ovl_id_cmp(a, b);
	if (ab == 0)
		return ovl_id_cmp(x, a) != 0;
	if (ab < 0)
		return ovl_id_cmp(x, a) > 0 && ovl_id_cmp(x, b) < 0;
	return ovl_id_cmp(x, a) > 0 || ovl_id_cmp(x, b) < 0;
}

void ovl_id_add_pow2(const uint8_t a[DDNS_ID_LEN], unsigned bit, uint8_t out[DDNS_ID_LEN])
{
	memcpy(out, a, DDNS_ID_LEN);
	if (bit >= OVL_ID_BITS)
		return;
	int byte = DDNS_ID_LEN - 1 - (int)(bit / 8);
	unsigned carry = 1u << (bit % 8);
	for (int i = byte; i >= 0 && carry; i--) {
		unsigned v = out[i] + carry;
		out[i] = (uint8_t)v;
		carry = v >> 8;
	}
}

static void put_w64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Three words (32 + 64 + 64 bits, least significant first) with borrow:
 * chord computes a ring distance for every finger it offers or compares. */
void ovl_id_sub(const uint8_t b[DDNS_ID_LEN], const uint8_t a[DDNS_ID_LEN],
		uint8_t out[DDNS_ID_LEN])
{
	uint32_t b2 = ovl_id_w32(b + 16), a2 = ovl_id_w32(a + 16);
	uint64_t b1 = ovl_id_w64(b + 8), a1 = ovl_id_w64(a + 8);
	uint64_t b0 = ovl_id_w64(b), a0 = ovl_id_w64(a);
	uint32_t r2 = b2 - a2;
	uint64_t borrow = b2 < a2;
	uint64_t r1 = b1 - a1 - borrow;
	borrow = b1 < a1 || (b1 == a1 && borrow);
	uint64_t r0 = b0 - a0 - borrow;
	put_w64(out, r0);
	put_w64(out + 8, r1);
	out[16] = (uint8_t)(r2 >> 24);
	out[17] = (uint8_t)(r2 >> 16);
	out[18] = (uint8_t)(r2 >> 8);
	out[19] = (uint8_t)r2;
}

void ovl_id_xor(const uint8_t a[DDNS_ID_LEN], const uint8_t b[DDNS_ID_LEN],
		uint8_t out[DDNS_ID_LEN])
{
	for (int i = 0; i < DDNS_ID_LEN; i++)
		out[i] = a[i] ^ b[i];
}

unsigned ovl_id_common_digits(const uint8_t a[DDNS_ID_LEN], const uint8_t b[DDNS_ID_LEN])
{
	for (unsigned i = 0; i < DDNS_ID_LEN; i++) {
		uint8_t x = a[i] ^ b[i];
		if (x)
			return 2 * i + ((x & 0xf0) ? 0 : 1);
	}
	return OVL_ID_DIGITS;
}

/* A word at a time: this comparison is the inner loop of every
 * closest-contact search (kad16 serves one per FIND_NODE). */
bool ovl_id_xor_closer(const uint8_t target[DDNS_ID_LEN], const uint8_t a[DDNS_ID_LEN],
		       const uint8_t b[DDNS_ID_LEN])
{
	for (int i = 0; i < 16; i += 8) {
		uint64_t t = ovl_id_w64(target + i);
		uint64_t da = ovl_id_w64(a + i) ^ t, db = ovl_id_w64(b + i) ^ t;
		if (da != db)
			return da < db;
	}
	uint32_t t = ovl_id_w32(target + 16);
	return (ovl_id_w32(a + 16) ^ t) < (ovl_id_w32(b + 16) ^ t);
}
