/* Unit tests for dns/keyfile.c: BIND key files written and read back,
 * the RFC 6605 example key in BIND's format, and broken files. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns/dnssec.h"
#include "dns/keyfile.h"
#include "tests/unit/dnssec/util.h"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ddns-keyfile-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_file(const char *name, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void roundtrip(uint8_t alg, uint16_t flags)
{
	struct dns_name zone = tname("Example.COM.");
	struct dnssec_key *k, *r;
	ck_assert_int_eq(dnssec_key_generate(&zone, alg, flags, 1024, &k), 0);
	char base[DNSSEC_KEYFILE_PATH_MAX], want[DNSSEC_KEYFILE_PATH_MAX];
	ck_assert_int_eq(dnssec_keyfile_write(k, dir, 1700000000, base,
					      sizeof(base)),
			 0);
	snprintf(want, sizeof(want), "%s/Kexample.com.+%03u+%05u", dir, alg,
		 dnssec_key_tag(k));
	ck_assert_str_eq(base, want);
	/* .private is private. */
	char path[DNSSEC_KEYFILE_PATH_MAX + 16];
	struct stat st;
	snprintf(path, sizeof(path), "%s.private", base);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	/* Never overwritten. */
	ck_assert_int_eq(dnssec_keyfile_write(k, dir, 1700000000, NULL, 0),
			 -EEXIST);
	char err[512] = "";
	ck_assert_msg(dnssec_keyfile_read(path, true, &r, NULL, err,
					  sizeof(err)) == 0,
		      "%s", err);
	ck_assert(dnssec_key_has_private(r));
	ck_assert_uint_eq(dnssec_key_tag(r), dnssec_key_tag(k));
	ck_assert_uint_eq(dnssec_key_flags(r), flags);
	ck_assert(dns_name_equal(dnssec_key_owner(r), &zone));
	/* The key read back signs what the original verifies. */
	struct dns_rrlist l, sigs;
	dns_rrlist_init(&l);
	dns_rrlist_init(&sigs);
	tadd(&l, "www.example.com.", 60, DNS_T_A, "192.0.2.7");
	ck_assert_int_eq(dnssec_sign_rrset(r, l.rr, 1, 10, 20, &sigs), 0);
	ck_assert_int_eq(dnssec_verify_rrsig(k, l.rr, 1, sigs.rr, 15), 0);
	dnssec_key_free(r);
	/* Public half alone, named by the .key path or the bare base. */
	snprintf(path, sizeof(path), "%s.key", base);
	ck_assert_int_eq(dnssec_keyfile_read(path, false, &r, NULL, err,
					     sizeof(err)),
			 0);
	ck_assert(!dnssec_key_has_private(r));
	dnssec_key_free(r);
	ck_assert_int_eq(dnssec_keyfile_read(base, true, &r, NULL, err,
					     sizeof(err)),
			 0);
	dnssec_key_free(r);
	dns_rrlist_free(&l);
	dns_rrlist_free(&sigs);
	dnssec_key_free(k);
}

START_TEST(write_read_ecdsa) { roundtrip(13, 257); }
END_TEST

START_TEST(write_read_rsa) { roundtrip(8, 256); }
END_TEST

/* RFC 6605 §6.1 in the files dnssec-keygen would write. */
#define KEY6605                                                               \
	"; This is a key-signing key, keyid 55648, for example.net.\n"        \
	"example.net. 3600 IN DNSKEY 257 3 13 (\n"                            \
	"   GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb\n"                   \
	"   krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA== )\n"
#define PRIV6605                                                              \
	"Private-key-format: v1.2\n"                                          \
	"Algorithm: 13 (ECDSAP256SHA256)\n"                                   \
	"PrivateKey: GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n"

START_TEST(read_bind_format)
{
	write_file("Kexample.net.+013+55648.key", KEY6605);
	write_file("Kexample.net.+013+55648.private", PRIV6605);
	char path[256], err[512] = "";
	snprintf(path, sizeof(path), "%s/Kexample.net.+013+55648.private", dir);
	struct dnssec_key *k;
	uint32_t ttl;
	ck_assert_msg(dnssec_keyfile_read(path, true, &k, &ttl, err,
					  sizeof(err)) == 0,
		      "%s", err);
	ck_assert_uint_eq(dnssec_key_tag(k), 55648);
	ck_assert_uint_eq(ttl, 3600);
	ck_assert(dnssec_key_has_private(k));
	dnssec_key_free(k);
}
END_TEST

START_TEST(broken_files_fail_with_a_reason)
{
	char path[256], err[512];
	struct dnssec_key *k;
	snprintf(path, sizeof(path), "%s/Kmissing.+013+00001", dir);
	ck_assert_int_eq(dnssec_keyfile_read(path, true, &k, NULL, err,
					     sizeof(err)),
			 -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "Kmissing.+013+00001.key"));
	ck_assert_ptr_null(k);

	/* Private key of another key pair. */
	write_file("Kx.+013+55648.key", KEY6605);
	write_file("Kx.+013+55648.private",
		   "Private-key-format: v1.3\nAlgorithm: 13\n"
		   "PrivateKey: AU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ=\n");
	snprintf(path, sizeof(path), "%s/Kx.+013+55648", dir);
	ck_assert_int_eq(dnssec_keyfile_read(path, true, &k, NULL, err,
					     sizeof(err)),
			 DDNS_EMALFORMED);
	ck_assert_ptr_nonnull(strstr(err, "does not match"));
	/* ... but the public half alone is fine. */
	ck_assert_int_eq(dnssec_keyfile_read(path, false, &k, NULL, err,
					     sizeof(err)),
			 0);
	dnssec_key_free(k);

	/* Algorithm mismatch, missing field, garbage, wrong record type. */
	write_file("Kx.+013+55648.private",
		   "Private-key-format: v1.3\nAlgorithm: 8 (RSASHA256)\n");
	ck_assert_int_eq(dnssec_keyfile_read(path, true, &k, NULL, err,
					     sizeof(err)),
			 DDNS_EMALFORMED);
	ck_assert_ptr_nonnull(strstr(err, "algorithm"));
	write_file("Kx.+013+55648.private",
		   "Private-key-format: v1.3\nAlgorithm: 13\n");
	ck_assert_int_eq(dnssec_keyfile_read(path, true, &k, NULL, err,
					     sizeof(err)),
			 DDNS_EMALFORMED);
	ck_assert_ptr_nonnull(strstr(err, "missing PrivateKey"));
	write_file("Kx.+013+55648.private", "this is not a key file\n");
	ck_assert_int_eq(dnssec_keyfile_read(path, true, &k, NULL, err,
					     sizeof(err)),
			 DDNS_EMALFORMED);
	write_file("Kx.+013+55648.key", "x. 60 IN A 192.0.2.1\n");
	ck_assert_int_eq(dnssec_keyfile_read(path, false, &k, NULL, err,
					     sizeof(err)),
			 DDNS_EMALFORMED);
	ck_assert_ptr_nonnull(strstr(err, "DNSKEY"));
}
END_TEST

static Suite *keyfile_suite(void)
{
	Suite *s = suite_create("keyfile");
	TCase *tc = tcase_create("files");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, write_read_ecdsa);
	tcase_add_test(tc, write_read_rsa);
	tcase_add_test(tc, read_bind_format);
	tcase_add_test(tc, broken_files_fail_with_a_reason);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(keyfile_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
