/* Unit tests for overlay/id.c: ids from addresses, ring and XOR arithmetic. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/id.h"

static void id_from_hex(const char *hex, uint8_t out[DDNS_ID_LEN])
{
	for (int i = 0; i < DDNS_ID_LEN; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

START_TEST(id_of_address_is_sha1_of_ip_port_vnode)
{
	struct tr_addr a = tr_addr_v4(0x7f000001, 53);
	uint8_t id[DDNS_ID_LEN], want[DDNS_ID_LEN], other[DDNS_ID_LEN];
	const uint8_t raw[] = {127, 0, 0, 1, 0, 53, 0};
	ovl_id_of(&a, 0, id);
	ddns_sha1(raw, sizeof(raw), want);
	ck_assert_mem_eq(id, want, DDNS_ID_LEN);
	ovl_id_of(&a, 1, other);
	ck_assert(!ovl_id_eq(id, other));
	a.port = 54;
	ovl_id_of(&a, 0, other);
	ck_assert(!ovl_id_eq(id, other));
}
END_TEST

START_TEST(ring_intervals)
{
	uint8_t a[DDNS_ID_LEN] = {0}, b[DDNS_ID_LEN] = {0}, x[DDNS_ID_LEN] = {0};
	a[0] = 0x10;
	b[0] = 0x80;
	x[0] = 0x40;
	ck_assert(ovl_id_in_oc(x, a, b));
	ck_assert(!ovl_id_in_oc(x, b, a)); /* wrapping interval excludes x */
	ck_assert(ovl_id_in_oc(b, a, b));  /* closed at b */
	ck_assert(!ovl_id_in_oo(b, a, b)); /* open at b */
	ck_assert(!ovl_id_in_oc(a, a, b)); /* open at a */
	x[0] = 0xf0;
	ck_assert(ovl_id_in_oc(x, b, a)); /* wraps past zero */
	ck_assert(ovl_id_in_oc(x, a, a)); /* whole ring */
	ck_assert(!ovl_id_in_oo(a, a, a));
}
END_TEST

START_TEST(add_pow2_and_sub_wrap)
{
	uint8_t a[DDNS_ID_LEN], r[DDNS_ID_LEN], d[DDNS_ID_LEN], want[DDNS_ID_LEN];
	memset(a, 0xff, sizeof(a));
	ovl_id_add_pow2(a, 0, r); /* 2^160 - 1 + 1 wraps to 0 */
	memset(want, 0, sizeof(want));
	ck_assert_mem_eq(r, want, DDNS_ID_LEN);
	memset(a, 0, sizeof(a));
	ovl_id_add_pow2(a, 159, r);
	ck_assert_uint_eq(r[0], 0x80);
	ovl_id_add_pow2(a, 8, r);
	ck_assert_uint_eq(r[18], 1);
	/* b - a with wrap: 0x00..01 - 0x00..02 = 2^160 - 1 */
	uint8_t one[DDNS_ID_LEN] = {0}, two[DDNS_ID_LEN] = {0};
	one[19] = 1;
	two[19] = 2;
	ovl_id_sub(one, two, d);
	memset(want, 0xff, sizeof(want));
	ck_assert_mem_eq(d, want, DDNS_ID_LEN);
	ovl_id_sub(two, one, d);
	ck_assert_mem_eq(d, one, DDNS_ID_LEN);
}
END_TEST

START_TEST(digits_and_xor)
{
	uint8_t a[DDNS_ID_LEN], b[DDNS_ID_LEN], t[DDNS_ID_LEN];
	id_from_hex("a5c3000000000000000000000000000000000000", a);
	id_from_hex("a5d3000000000000000000000000000000000000", b);
	ck_assert_uint_eq(ovl_id_digit(a, 0), 0xa);
	ck_assert_uint_eq(ovl_id_digit(a, 1), 0x5);
	ck_assert_uint_eq(ovl_id_digit(a, 3), 0x3);
	ck_assert_uint_eq(ovl_id_common_digits(a, b), 2);
	ck_assert_uint_eq(ovl_id_common_digits(a, a), OVL_ID_DIGITS);
	id_from_hex("a5c4000000000000000000000000000000000000", t);
	ck_assert(ovl_id_xor_closer(t, a, b));
	ck_assert(!ovl_id_xor_closer(t, b, a));
	ck_assert(!ovl_id_xor_closer(t, a, a));
}
END_TEST

/* The word-at-a-time comparisons and subtraction against byte-by-byte
 * definitions, on ids
 * that differ in each byte position (and in none). */
static int sign(int v) { return (v > 0) - (v < 0); }

static bool xor_closer_bytes(const uint8_t *t, const uint8_t *a, const uint8_t *b)
{
	for (int i = 0; i < DDNS_ID_LEN; i++)
		if ((a[i] ^ t[i]) != (b[i] ^ t[i]))
			return (a[i] ^ t[i]) < (b[i] ^ t[i]);
	return false;
}

static void sub_bytes(const uint8_t *b, const uint8_t *a, uint8_t *out)
{
	int borrow = 0;
	for (int i = DDNS_ID_LEN - 1; i >= 0; i--) {
		int v = (int)b[i] - (int)a[i] - borrow;
		borrow = v < 0;
		out[i] = (uint8_t)(v + (borrow ? 256 : 0));
	}
}

START_TEST(word_compares_match_byte_compares)
{
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (int round = 0; round < 20000; round++) {
		uint8_t a[DDNS_ID_LEN], b[DDNS_ID_LEN], t[DDNS_ID_LEN];
		for (int i = 0; i < DDNS_ID_LEN; i++) {
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
			a[i] = (uint8_t)(x >> 56);
			t[i] = (uint8_t)(x >> 40);
		}
		memcpy(b, a, DDNS_ID_LEN);
		int at = round % (DDNS_ID_LEN + 1); /* the first byte that differs */
		if (at < DDNS_ID_LEN) {
			b[at] ^= (uint8_t)(1u << (round % 8));
			for (int i = at + 1; i < DDNS_ID_LEN; i++)
				b[i] = (uint8_t)(x >> (i % 8 * 8));
		}
		ck_assert_int_eq(sign(ovl_id_cmp(a, b)), sign(memcmp(a, b, DDNS_ID_LEN)));
		ck_assert_int_eq(ovl_id_eq(a, b), memcmp(a, b, DDNS_ID_LEN) == 0);
		ck_assert_int_eq(ovl_id_xor_closer(t, a, b), xor_closer_bytes(t, a, b));
		ck_assert_int_eq(ovl_id_xor_closer(t, b, a), xor_closer_bytes(t, b, a));
		uint8_t d[DDNS_ID_LEN], e[DDNS_ID_LEN];
		ovl_id_sub(a, t, d);
		sub_bytes(a, t, e);
		ck_assert_mem_eq(d, e, DDNS_ID_LEN);
		ovl_id_sub(b, a, d);
		sub_bytes(b, a, e);
		ck_assert_mem_eq(d, e, DDNS_ID_LEN);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("id");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, id_of_address_is_sha1_of_ip_port_vnode);
	tcase_add_test(tc, ring_intervals);
	tcase_add_test(tc, add_pow2_and_sub_wrap);
	tcase_add_test(tc, digits_and_xor);
	tcase_add_test(tc, word_compares_match_byte_compares);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
