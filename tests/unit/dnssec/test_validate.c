/* Unit tests for dns/validate.c: a three-level chain ". -> test. -> a.test."
 * built and signed in memory, then broken in each of the ways a validator
 * must tell apart. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dnssec.h"
#include "dns/validate.h"
#include "tests/unit/dnssec/util.h"

#define T_INC 1000000u
#define T_EXP 2000000u
#define T_NOW 1500000u

static struct dnssec_key *kroot, *ktest, *ka, *kother;
static struct dns_rrlist world; /* all three zones, signed */

static void add_key(struct dns_rrlist *z, const struct dnssec_key *k)
{
	size_t len;
	const uint8_t *rd = dnssec_key_rdata(k, &len);
	struct dns_rr rr = {.owner = *dnssec_key_owner(k),
			    .type = DNS_T_DNSKEY,
			    .rclass = DNS_C_IN,
			    .ttl = 3600,
			    .rdlen = (uint16_t)len,
			    .rdata = (uint8_t *)rd};
	ck_assert_int_eq(dns_rrlist_add(z, &rr), 0);
}

static void add_ds(struct dns_rrlist *z, const struct dnssec_key *child)
{
	size_t len, dslen;
	uint8_t ds[64];
	const uint8_t *rd = dnssec_key_rdata(child, &len);
	ck_assert_int_eq(dnssec_ds_make(dnssec_key_owner(child), rd, len,
					DNSSEC_DS_SHA256, ds, sizeof(ds), &dslen),
			 0);
	struct dns_rr rr = {.owner = *dnssec_key_owner(child),
			    .type = DNS_T_DS,
			    .rclass = DNS_C_IN,
			    .ttl = 3600,
			    .rdlen = (uint16_t)dslen,
			    .rdata = ds};
	ck_assert_int_eq(dns_rrlist_add(z, &rr), 0);
}

static void sign_zone(struct dns_rrlist *z, struct dnssec_key *k)
{
	struct dns_name apex = *dnssec_key_owner(k);
	size_t n;
	ck_assert_int_eq(dnssec_nsec_chain(z, &apex, 300), 0);
	ck_assert_int_eq(dnssec_zone_sign(z, &apex, &k, 1, T_INC, T_EXP, &n), 0);
	for (size_t i = 0; i < z->n; i++)
		ck_assert_int_eq(dns_rrlist_add(&world, &z->rr[i]), 0);
}

static void setup(void)
{
	struct dns_name n;
	n = tname(".");
	ck_assert_int_eq(dnssec_key_generate(&n, 13, 257, 0, &kroot), 0);
	n = tname("test.");
	ck_assert_int_eq(dnssec_key_generate(&n, 13, 257, 0, &ktest), 0);
	n = tname("a.test.");
	ck_assert_int_eq(dnssec_key_generate(&n, 13, 257, 0, &ka), 0);
	n = tname("other.");
	ck_assert_int_eq(dnssec_key_generate(&n, 13, 257, 0, &kother), 0);
	dns_rrlist_init(&world);
	struct dns_rrlist z;

	dns_rrlist_init(&z);
	tadd(&z, ".", 86400, DNS_T_SOA, "ns.root. h.root. 1 1 1 1 300");
	tadd(&z, ".", 86400, DNS_T_NS, "ns.root.");
	tadd(&z, "test.", 86400, DNS_T_NS, "ns.test.");
	add_ds(&z, ktest);
	add_key(&z, kroot);
	sign_zone(&z, kroot);
	dns_rrlist_free(&z);

	dns_rrlist_init(&z);
	tadd(&z, "test.", 3600, DNS_T_SOA, "ns.test. h.test. 1 1 1 1 300");
	tadd(&z, "test.", 3600, DNS_T_NS, "ns.test.");
	tadd(&z, "a.test.", 3600, DNS_T_NS, "ns.a.test.");
	add_ds(&z, ka);
	add_key(&z, ktest);
	sign_zone(&z, ktest);
	dns_rrlist_free(&z);

	dns_rrlist_init(&z);
	tadd(&z, "a.test.", 300, DNS_T_SOA, "ns.a.test. h.a.test. 1 1 1 1 300");
	tadd(&z, "a.test.", 300, DNS_T_NS, "ns.a.test.");
	tadd(&z, "www.a.test.", 300, DNS_T_A, "192.0.2.1");
	tadd(&z, "www.a.test.", 300, DNS_T_A, "192.0.2.2");
	add_key(&z, ka);
	sign_zone(&z, ka);
	dns_rrlist_free(&z);
}

static void teardown(void)
{
	dnssec_key_free(kroot);
	dnssec_key_free(ktest);
	dnssec_key_free(ka);
	dnssec_key_free(kother);
	dns_rrlist_free(&world);
}

/* A validator anchored at the root key's DS, holding l. */
static struct dnssec_validator *mkval(const struct dns_rrlist *l, bool ds)
{
	struct dnssec_validator *v = dnssec_validator_new();
	ck_assert_ptr_nonnull(v);
	struct dns_rrlist a;
	dns_rrlist_init(&a);
	if (ds)
		add_ds(&a, kroot);
	else
		add_key(&a, kroot);
	ck_assert_int_eq(dnssec_validator_add_anchor(v, &a.rr[0]), 0);
	ck_assert_int_eq(dnssec_validator_add_rrs(v, l->rr, l->n), 0);
	dns_rrlist_free(&a);
	return v;
}

/* Copy of world without the records for which drop() is true. */
static void copy_world(struct dns_rrlist *out,
		       bool (*drop)(const struct dns_rr *))
{
	dns_rrlist_init(out);
	for (size_t i = 0; i < world.n; i++)
		if (!drop || !drop(&world.rr[i]))
			ck_assert_int_eq(dns_rrlist_add(out, &world.rr[i]), 0);
}

static int check(const struct dns_rrlist *l, const char *owner, uint16_t type,
		 uint32_t now, char *why, size_t whylen)
{
	struct dnssec_validator *v = mkval(l, true);
	struct dns_name n = tname(owner);
	int rc = dnssec_validate_rrset(v, &n, type, now, why, whylen);
	dnssec_validator_free(v);
	return rc;
}

START_TEST(chain_validates)
{
	char why[512] = "";
	for (int ds = 0; ds < 2; ds++) {
		struct dnssec_validator *v = mkval(&world, ds);
		struct dns_name n = tname("www.a.test.");
		ck_assert_msg(dnssec_validate_rrset(v, &n, DNS_T_A, T_NOW, why,
						    sizeof(why)) == 0,
			      "%s", why);
		n = tname("a.test.");
		ck_assert_int_eq(dnssec_validate_rrset(v, &n, DNS_T_DNSKEY,
						       T_NOW, why, sizeof(why)),
				 0);
		ck_assert_int_eq(dnssec_validate_rrset(v, &n, DNS_T_DS, T_NOW,
						       why, sizeof(why)),
				 0);
		struct dns_name w = tname("www.a.test.");
		ck_assert_int_eq(dnssec_validate_rrset(v, &w, DNS_T_NSEC, T_NOW,
						       why, sizeof(why)),
				 0);
		ck_assert_int_eq(dnssec_validate_rrset(v, &n, DNS_T_AAAA, T_NOW,
						       why, sizeof(why)),
				 DDNS_ENOTFOUND);
		dnssec_validator_free(v);
	}
}
END_TEST

START_TEST(flipped_bit_is_bogus)
{
	struct dns_rrlist l;
	copy_world(&l, NULL);
	int i = tfind(&l, "www.a.test.", DNS_T_A);
	l.rr[i].rdata[3] ^= 0x04;
	char why[512] = "";
	ck_assert_int_eq(check(&l, "www.a.test.", DNS_T_A, T_NOW, why,
			       sizeof(why)),
			 DDNS_EBOGUS);
	ck_assert_ptr_nonnull(strstr(why, "bogus"));
	dns_rrlist_free(&l);
}
END_TEST

START_TEST(expired_and_not_yet_valid)
{
	char why[512] = "";
	ck_assert_int_eq(check(&world, "www.a.test.", DNS_T_A, T_EXP + 1, why,
			       sizeof(why)),
			 DDNS_EEXPIRED);
	ck_assert_ptr_nonnull(strstr(why, "expired"));
	ck_assert_int_eq(check(&world, "www.a.test.", DNS_T_A, T_INC - 1, why,
			       sizeof(why)),
			 DDNS_ENOTYET);
	/* Only the leaf's signature expired: re-sign it with an old window. */
	struct dns_rrlist l;
	copy_world(&l, NULL);
	int a = tfind(&l, "www.a.test.", DNS_T_A);
	int s = tfind_sig(&l, "www.a.test.", DNS_T_A);
	struct dns_rrlist sig;
	dns_rrlist_init(&sig);
	ck_assert_int_eq(dnssec_sign_rrset(ka, &l.rr[a], 2, T_INC, T_NOW - 10,
					   &sig),
			 0);
	free(l.rr[s].rdata);
	l.rr[s].rdata = sig.rr[0].rdata;
	l.rr[s].rdlen = sig.rr[0].rdlen;
	sig.n = 0; /* moved */
	ck_assert_int_eq(check(&l, "www.a.test.", DNS_T_A, T_NOW, why,
			       sizeof(why)),
			 DDNS_EEXPIRED);
	ck_assert_int_eq(check(&l, "a.test.", DNS_T_SOA, T_NOW, why,
			       sizeof(why)),
			 0);
	dns_rrlist_free(&sig);
	dns_rrlist_free(&l);
}
END_TEST

START_TEST(wrong_key_tag_has_no_key)
{
	struct dns_rrlist l;
	copy_world(&l, NULL);
	int s = tfind_sig(&l, "www.a.test.", DNS_T_A);
	l.rr[s].rdata[16] ^= 0x80;
	char why[512] = "";
	ck_assert_int_eq(check(&l, "www.a.test.", DNS_T_A, T_NOW, why,
			       sizeof(why)),
			 DDNS_ENOKEY);
	ck_assert_ptr_nonnull(strstr(why, "no key with tag"));
	dns_rrlist_free(&l);
}
END_TEST

START_TEST(ds_mismatch)
{
	/* The DS for a.test. names another key (correctly signed by test.). */
	struct dns_rrlist l;
	copy_world(&l, NULL);
	int d = tfind(&l, "a.test.", DNS_T_DS);
	int s = tfind_sig(&l, "a.test.", DNS_T_DS);
	l.rr[d].rdata[10] ^= 0x01;
	struct dns_rrlist sig;
	dns_rrlist_init(&sig);
	ck_assert_int_eq(dnssec_sign_rrset(ktest, &l.rr[d], 1, T_INC, T_EXP,
					   &sig),
			 0);
	free(l.rr[s].rdata);
	l.rr[s].rdata = sig.rr[0].rdata;
	l.rr[s].rdlen = sig.rr[0].rdlen;
	sig.n = 0;
	char why[512] = "";
	ck_assert_int_eq(check(&l, "a.test.", DNS_T_DS, T_NOW, why, sizeof(why)),
			 0);
	ck_assert_int_eq(check(&l, "www.a.test.", DNS_T_A, T_NOW, why,
			       sizeof(why)),
			 DDNS_EBADDS);
	ck_assert_ptr_nonnull(strstr(why, "DS mismatch"));
	dns_rrlist_free(&sig);
	dns_rrlist_free(&l);
}
END_TEST

static bool is_test_zone_link(const struct dns_rr *rr)
{
	struct dns_name t = tname("test.");
	if (!dns_name_equal(&rr->owner, &t))
		return false;
	uint16_t type = rr->type == DNS_T_RRSIG
				? (uint16_t)((rr->rdata[0] << 8) | rr->rdata[1])
				: rr->type;
	return type == DNS_T_DS || type == DNS_T_DNSKEY;
}

START_TEST(chain_missing_a_level)
{
	/* test.'s DS and DNSKEY are gone: a.test. cannot be reached. */
	struct dns_rrlist l;
	copy_world(&l, is_test_zone_link);
	char why[512] = "";
	ck_assert_int_eq(check(&l, "www.a.test.", DNS_T_A, T_NOW, why,
			       sizeof(why)),
			 DDNS_ENOCHAIN);
	ck_assert_ptr_nonnull(strstr(why, "missing link"));
	dns_rrlist_free(&l);
}
END_TEST

static bool is_a_test_ds(const struct dns_rr *rr)
{
	struct dns_name t = tname("a.test.");
	return dns_name_equal(&rr->owner, &t) &&
	       (rr->type == DNS_T_DS ||
		(rr->type == DNS_T_RRSIG &&
		 ((rr->rdata[0] << 8) | rr->rdata[1]) == DNS_T_DS));
}

START_TEST(chain_skipping_a_level)
{
	/* The root signs a DS for a.test. directly, bypassing test. */
	struct dns_rrlist l, sig;
	copy_world(&l, is_a_test_ds);
	dns_rrlist_init(&sig);
	add_ds(&sig, ka);
	ck_assert_int_eq(dnssec_sign_rrset(kroot, &sig.rr[0], 1, T_INC, T_EXP,
					   &sig),
			 0);
	ck_assert_int_eq(dns_rrlist_add(&l, &sig.rr[0]), 0);
	ck_assert_int_eq(dns_rrlist_add(&l, &sig.rr[1]), 0);
	char why[512] = "";
	ck_assert_int_eq(check(&l, "www.a.test.", DNS_T_A, T_NOW, why,
			       sizeof(why)),
			 DDNS_ENOCHAIN);
	ck_assert_ptr_nonnull(strstr(why, "skips zone test."));
	dns_rrlist_free(&sig);
	dns_rrlist_free(&l);
}
END_TEST

START_TEST(signer_outside_zone)
{
	/* www.a.test. A signed by test.'s key: a.test. is a cut between. */
	struct dns_rrlist l, sig;
	copy_world(&l, NULL);
	dns_rrlist_init(&sig);
	int a = tfind(&l, "www.a.test.", DNS_T_A);
	int s = tfind_sig(&l, "www.a.test.", DNS_T_A);
	ck_assert_int_eq(dnssec_sign_rrset(ktest, &l.rr[a], 2, T_INC, T_EXP,
					   &sig),
			 0);
	free(l.rr[s].rdata);
	l.rr[s].rdata = sig.rr[0].rdata;
	l.rr[s].rdlen = sig.rr[0].rdlen;
	sig.n = 0;
	char why[512] = "";
	ck_assert_int_eq(check(&l, "www.a.test.", DNS_T_A, T_NOW, why,
			       sizeof(why)),
			 DDNS_EOUTOFZONE);
	/* A key of an unrelated zone cannot sign it at all. */
	ck_assert_int_eq(dnssec_sign_rrset(kother, &l.rr[a], 2, T_INC, T_EXP,
					   &sig),
			 DDNS_EOUTOFZONE);
	dns_rrlist_free(&sig);
	dns_rrlist_free(&l);
}
END_TEST

START_TEST(explicit_rrset_and_unsigned)
{
	/* dnssec_validate: RRset and RRSIGs given by the caller (a DHT
	 * block), links from the pool. */
	struct dnssec_validator *v = mkval(&world, true);
	int a = tfind(&world, "www.a.test.", DNS_T_A);
	int s = tfind_sig(&world, "www.a.test.", DNS_T_A);
	char why[512] = "";
	ck_assert_int_eq(dnssec_validate(v, &world.rr[a], 2, &world.rr[s], 1,
					 T_NOW, why, sizeof(why)),
			 0);
	ck_assert_int_eq(dnssec_validate(v, &world.rr[a], 2, NULL, 0, T_NOW,
					 why, sizeof(why)),
			 DDNS_ENOCHAIN);
	/* Only one of the two A records: the signature no longer matches. */
	ck_assert_int_eq(dnssec_validate(v, &world.rr[a], 1, &world.rr[s], 1,
					 T_NOW, why, sizeof(why)),
			 DDNS_EBOGUS);
	dnssec_validator_free(v);
	/* No anchor at all. */
	v = dnssec_validator_new();
	ck_assert_int_eq(dnssec_validator_add_rrs(v, world.rr, world.n), 0);
	ck_assert_int_eq(dnssec_validate(v, &world.rr[a], 2, &world.rr[s], 1,
					 T_NOW, why, sizeof(why)),
			 DDNS_ENOCHAIN);
	ck_assert_int_eq(dnssec_validator_add_anchor(v, &world.rr[a]), -EINVAL);
	dnssec_validator_free(v);
}
END_TEST

static Suite *validate_suite(void)
{
	Suite *s = suite_create("validate");
	TCase *tc = tcase_create("chain");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, chain_validates);
	tcase_add_test(tc, flipped_bit_is_bogus);
	tcase_add_test(tc, expired_and_not_yet_valid);
	tcase_add_test(tc, wrong_key_tag_has_no_key);
	tcase_add_test(tc, ds_mismatch);
	tcase_add_test(tc, chain_missing_a_level);
	tcase_add_test(tc, chain_skipping_a_level);
	tcase_add_test(tc, signer_outside_zone);
	tcase_add_test(tc, explicit_rrset_and_unsigned);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(validate_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
