/* Unit tests for common/: buffers, PRNG, distributions, error strings. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/hash.h"
#include "common/rng.h"
#include "common/stats.h"

START_TEST(rbuf_reads_in_bounds_and_fails_sticky)
{
	const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
	struct ddns_rbuf r;
	ddns_rbuf_init(&r, data, sizeof(data));
	ck_assert_uint_eq(ddns_rbuf_u8(&r), 0x01);
	ck_assert_uint_eq(ddns_rbuf_u16(&r), 0x0203);
	ck_assert_uint_eq(ddns_rbuf_u32(&r), 0x04050607);
	ck_assert(!r.err);
	ck_assert_uint_eq(ddns_rbuf_left(&r), 0);
	/* Past the end: zero, error flag, and it stays set. */
	ck_assert_uint_eq(ddns_rbuf_u8(&r), 0);
	ck_assert(r.err);
	ck_assert_ptr_null(ddns_rbuf_take(&r, 0));
}
END_TEST

START_TEST(rbuf_take_rejects_huge_lengths)
{
	const uint8_t data[4] = {0};
	struct ddns_rbuf r;
	ddns_rbuf_init(&r, data, sizeof(data));
	ck_assert_ptr_nonnull(ddns_rbuf_take(&r, 2));
	ck_assert_ptr_null(ddns_rbuf_take(&r, SIZE_MAX));
	ck_assert(r.err);
}
END_TEST

START_TEST(fixed_place_integers_are_big_endian_and_match_the_buffers)
{
	uint8_t b[8];
	ddns_put_u16(b, 0x1234);
	ck_assert_uint_eq(b[0], 0x12);
	ck_assert_uint_eq(b[1], 0x34);
	ck_assert_uint_eq(ddns_get_u16(b), 0x1234);
	ddns_put_u32(b, 0xdeadbeefu);
	ck_assert_uint_eq(b[0], 0xde);
	ck_assert_uint_eq(b[3], 0xef);
	ck_assert_uint_eq(ddns_get_u32(b), 0xdeadbeefu);
	ddns_put_u64(b, 0x0102030405060708ull);
	for (int i = 0; i < 8; i++)
		ck_assert_uint_eq(b[i], i + 1);
	ck_assert(ddns_get_u64(b) == 0x0102030405060708ull);
	/* the same bytes through the writer and the reader */
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	ck_assert(ddns_wbuf_u16(&w, 0xfffe) && ddns_wbuf_u32(&w, 0x80000001u) &&
		  ddns_wbuf_u64(&w, 0x0102030405060708ull));
	ck_assert_uint_eq(w.len, 14);
	ck_assert_uint_eq(ddns_get_u16(w.p), 0xfffe);
	ck_assert_uint_eq(ddns_get_u32(w.p + 2), 0x80000001u);
	ck_assert_mem_eq(w.p + 6, b, 8);
	ck_assert(ddns_wbuf_patch_u16(&w, 0, 0x0a0b));
	ck_assert_uint_eq(w.p[0], 0x0a);
	ck_assert_uint_eq(w.p[1], 0x0b);
	struct ddns_rbuf r;
	ddns_rbuf_init(&r, w.p, w.len);
	ck_assert_uint_eq(ddns_rbuf_u16(&r), 0x0a0b);
	ck_assert_uint_eq(ddns_rbuf_u32(&r), 0x80000001u);
	ck_assert(ddns_rbuf_u64(&r) == 0x0102030405060708ull);
	ck_assert(!r.err);
	ddns_wbuf_free(&w);
}
END_TEST

START_TEST(wbuf_grows_and_respects_max)
{
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 10);
	ck_assert(ddns_wbuf_u64(&w, 0x0102030405060708ULL));
	ck_assert(ddns_wbuf_u16(&w, 0xabcd));
	ck_assert_uint_eq(w.len, 10);
	ck_assert(!ddns_wbuf_u8(&w, 1));
	ck_assert(w.err);
	ck_assert_uint_eq(w.p[0], 1);
	ck_assert_uint_eq(w.p[9], 0xcd);
	ddns_wbuf_free(&w);

	uint8_t fixed[3];
	ddns_wbuf_init_fixed(&w, fixed, sizeof(fixed));
	ck_assert(ddns_wbuf_u16(&w, 0x1234));
	ck_assert(!ddns_wbuf_u16(&w, 0x5678));
	ck_assert(ddns_wbuf_patch_u16(&(struct ddns_wbuf){.p = fixed, .len = 2, .cap = 3, .fixed = true}, 0, 0x9999));
	ck_assert_uint_eq(fixed[0], 0x99);
	ddns_wbuf_free(&w); /* never frees a caller buffer */
}
END_TEST

START_TEST(rng_is_deterministic_and_uniformish)
{
	struct ddns_rng a, b;
	ddns_rng_seed(&a, 42);
	ddns_rng_seed(&b, 42);
	for (int i = 0; i < 1000; i++)
		ck_assert_uint_eq(ddns_rng_next(&a), ddns_rng_next(&b));
	ddns_rng_seed(&b, 43);
	ck_assert_uint_ne(ddns_rng_next(&a), ddns_rng_next(&b));
	unsigned counts[10] = {0};
	for (int i = 0; i < 100000; i++)
		counts[ddns_rng_below(&a, 10)]++;
	for (int i = 0; i < 10; i++)
		ck_assert(counts[i] > 9000 && counts[i] < 11000);
	for (int i = 0; i < 1000; i++) {
		double d = ddns_rng_double(&a);
		ck_assert(d >= 0.0 && d < 1.0);
	}
}
END_TEST

START_TEST(distribution_summary)
{
	struct ddns_samples s;
	struct ddns_dist d;
	ddns_samples_init(&s);
	ddns_samples_dist(&s, &d);
	ck_assert_uint_eq(d.n, 0);
	for (int i = 100; i >= 1; i--)
		ck_assert_int_eq(ddns_samples_add(&s, i), 0);
	ddns_samples_dist(&s, &d);
	ck_assert_uint_eq(d.n, 100);
	ck_assert_double_eq(d.min, 1);
	ck_assert_double_eq(d.max, 100);
	ck_assert_double_eq(d.median, 50);
	ck_assert_double_eq(d.p90, 90);
	ck_assert_double_eq(d.p99, 99);
	ck_assert_double_eq_tol(d.mean, 50.5, 1e-9);
	ddns_samples_free(&s);
}
END_TEST

START_TEST(sha1_known_answer)
{
	uint8_t out[DDNS_ID_LEN];
	char hex[41];
	ddns_sha1("abc", 3, out);
	ck_assert_str_eq(ddns_id_hex(out, hex), "a9993e364706816aba3e25717850c26c9cd0d89d");
	struct ddns_sha1 h;
	ddns_sha1_init(&h);
	ddns_sha1_update(&h, "a", 1);
	ddns_sha1_update(&h, "bc", 2);
	uint8_t out2[DDNS_ID_LEN];
	ddns_sha1_final(&h, out2);
	ck_assert_mem_eq(out, out2, DDNS_ID_LEN);
}
END_TEST

START_TEST(sha256_known_answers_and_streaming_agree)
{
	static const struct {
		const char *in;
		const char *hex;
	} kat[] = {
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	static const char hx[] = "0123456789abcdef";
	for (size_t k = 0; k < sizeof(kat) / sizeof(kat[0]); k++) {
		uint8_t out[32];
		char hex[65];
		ddns_sha256(kat[k].in, strlen(kat[k].in), out);
		for (int i = 0; i < 32; i++) {
			hex[2 * i] = hx[out[i] >> 4];
			hex[2 * i + 1] = hx[out[i] & 15];
		}
		hex[64] = 0;
		ck_assert_str_eq(hex, kat[k].hex);
	}
	/* One-shot SHA-1 (libcrypto's when built with it) against the
	 * streaming one (always mbedTLS), over lengths around block edges. */
	uint8_t buf[300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(buf); len += 7) {
		uint8_t a[DDNS_ID_LEN], b[DDNS_ID_LEN];
		ddns_sha1(buf, len, a);
		struct ddns_sha1 h;
		ddns_sha1_init(&h);
		ddns_sha1_update(&h, buf, len / 2);
		ddns_sha1_update(&h, buf + len / 2, len - len / 2);
		ddns_sha1_final(&h, b);
		ck_assert_mem_eq(a, b, DDNS_ID_LEN);
	}
}
END_TEST

START_TEST(error_strings)
{
	ck_assert_str_eq(ddns_strerror(0), "success");
	ck_assert_str_eq(ddns_strerror(DDNS_EQUOTA), "zone over quota");
	ck_assert_str_eq(ddns_strerror(-ENOMEM), strerror(ENOMEM));
	for (int e = DDNS_ERR_BASE - 1; e > DDNS_ERR_MIN; e--)
		ck_assert_str_ne(ddns_strerror(e), "unknown error");
}
END_TEST

static Suite *common_suite(void)
{
	Suite *s = suite_create("common");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, rbuf_reads_in_bounds_and_fails_sticky);
	tcase_add_test(tc, sha256_known_answers_and_streaming_agree);
	tcase_add_test(tc, rbuf_take_rejects_huge_lengths);
	tcase_add_test(tc, wbuf_grows_and_respects_max);
	tcase_add_test(tc, fixed_place_integers_are_big_endian_and_match_the_buffers);
	tcase_add_test(tc, rng_is_deterministic_and_uniformish);
	tcase_add_test(tc, distribution_summary);
	tcase_add_test(tc, sha1_known_answer);
	tcase_add_test(tc, error_strings);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(common_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
