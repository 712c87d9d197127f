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

void ovl_id_sub(const uint8_t b[DDNS_ID_LEN], const uint8_t a[DDNS_ID_LEN],
		uint8_t out[DDNS_ID_LEN])
{
	int borrow = 0;
	for (int i = DDNS_ID_LEN - 1; i >= 0; i--) {
		int v = (int)b[i] - (int)a[i] - borrow;
		borrow = v < 0;
		out[i] = (uint8_t)(v + (borrow ? 256 : 0));
	}
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

bool ovl_id_xor_closer(const uint8_t target[DDNS_ID_LEN], const uint8_t a[DDNS_ID_LEN],
		       const uint8_t b[DDNS_ID_LEN])
{
	for (int i = 0; i < DDNS_ID_LEN; i++) {
		uint8_t da = a[i] ^ target[i], db = b[i] ^ target[i];
		if (da != db)
			return da < db;
	}
	return false;
}
