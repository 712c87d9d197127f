/*
 * test_dhtval.c - dns/dhtval.c without a network (ddns_blockval_check):
 * metadata of a good block (zone, version, expiry), the verified key cache
 * (a carried chain warms it, a block without chain then validates, a flush
 * or the cached RRsets' expiry cools it), a bogus far-future RRSIG that
 * must not raise the version, and constructor errors.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "dns/block.h"
#include "dns/dhtval.h"
#include "dns/dnssec.h"
#include "dns/name.h"
#include "dns/rdata.h"

#define BASE 1700000000u
#define INC (BASE - 3600)
#define EXP (BASE + 600)

static uint64_t fake_now = BASE;
static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static struct dns_name nm(const char *s)
{
	struct dns_name n;
	ck_assert_int_eq(dns_name_from_str(&n, s, NULL), 0);
	return n;
}

static void add(struct dns_rrlist *l, const char *owner, uint32_t ttl, uint16_t type,
		const char *rdata)
{
	struct ddns_wbuf w;
	struct dns_name o = nm(owner);
	ddns_wbuf_init(&w, 65535);
	ck_assert_int_eq(dns_rdata_from_str(type, rdata, NULL, &w), 0);
	ck_assert_int_eq(dns_rrlist_add_parts(l, &o, type, DNS_C_IN, ttl, w.p, w.len), 0);
	ddns_wbuf_free(&w);
}

static struct dnssec_key *gen(const char *owner)
{
	struct dns_name o = nm(owner);
	struct dnssec_key *k;
	ck_assert_int_eq(dnssec_key_generate(&o, 13, DNSSEC_FLAGS_KSK, 0, &k), 0);
	return k;
}

static void add_key(struct dns_rrlist *l, const struct dnssec_key *k, uint32_t ttl)
{
	size_t len;
	const uint8_t *rd = dnssec_key_rdata(k, &len);
	ck_assert_int_eq(
		dns_rrlist_add_parts(l, dnssec_key_owner(k), DNS_T_DNSKEY, DNS_C_IN, ttl, rd, len), 0);
}

/* Root (anchor) and one child zone, "example.": signed zone lists. */
struct two {
	struct dnssec_key *kr, *ke;
	struct dns_rrlist root, ex, chain;
	struct dns_blocklist plain, carried;
};

static void two_init(struct two *t)
{
	t->kr = gen(".");
	t->ke = gen("example.");
	dns_rrlist_init(&t->root);
	dns_rrlist_init(&t->ex);
	dns_rrlist_init(&t->chain);
	add_key(&t->root, t->kr, 7200);
	uint8_t ds[64];
	size_t dslen, len;
	const uint8_t *rd = dnssec_key_rdata(t->ke, &len);
	struct dns_name ex = nm("example."), root = nm(".");
	ck_assert_int_eq(dnssec_ds_make(&ex, rd, len, 2, ds, sizeof(ds), &dslen), 0);
	ck_assert_int_eq(dns_rrlist_add_parts(&t->root, &ex, DNS_T_DS, DNS_C_IN, 7200, ds, dslen),
			 0);
	size_t n;
	ck_assert_int_eq(dnssec_zone_sign(&t->root, &root, &t->kr, 1, INC, EXP + 3600, &n), 0);
	add_key(&t->ex, t->ke, 7200);
	add(&t->ex, "www.example.", 300, DNS_T_A, "192.0.2.1");
	ck_assert_int_eq(dnssec_zone_sign(&t->ex, &ex, &t->ke, 1, INC, EXP, &n), 0);
	for (size_t i = 0; i < t->root.n; i++)
		ck_assert_int_eq(dns_rrlist_add(&t->chain, &t->root.rr[i]), 0);
	dns_blocklist_init(&t->plain);
	dns_blocklist_init(&t->carried);
	ck_assert_int_eq(dns_block_build_zone(&t->ex, NULL, false, &t->plain), 0);
	ck_assert_int_eq(dns_block_build_zone(&t->ex, &t->chain, true, &t->carried), 0);
}

static void two_free(struct two *t)
{
	dnssec_key_free(t->kr);
	dnssec_key_free(t->ke);
	dns_rrlist_free(&t->root);
	dns_rrlist_free(&t->ex);
	dns_rrlist_free(&t->chain);
	dns_blocklist_free(&t->plain);
	dns_blocklist_free(&t->carried);
}

static const struct dns_block_out *find(const struct dns_blocklist *l, uint16_t type)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].type == type)
			return &l->v[i];
	ck_abort_msg("no block of type %u", type);
	return NULL;
}

static struct ddns_blockval *bv_new(const struct two *t)
{
	int err = 0;
	const struct dns_rr *anchor = NULL;
	for (size_t i = 0; i < t->root.n; i++)
		if (t->root.rr[i].type == DNS_T_DNSKEY)
			anchor = &t->root.rr[i];
	struct ddns_blockval *bv = ddns_blockval_new(anchor, 1, fake_clock, NULL, 0, &err);
	ck_assert_ptr_nonnull(bv);
	return bv;
}

static int check(struct ddns_blockval *bv, const struct dns_block_out *o,
		 struct dht_block_meta *m)
{
	char why[320];
	return ddns_blockval_check(bv, o->key, o->data, o->len, 1000, m, why, sizeof(why));
}

START_TEST(meta_and_cache)
{
	struct two t;
	struct dht_block_meta m;
	fake_now = BASE;
	two_init(&t);
	struct ddns_blockval *bv = bv_new(&t);
	const struct dns_block_out *a = find(&t.plain, DNS_T_A), *ac = find(&t.carried, DNS_T_A);
	/* Cold cache, nothing carried: the DNSKEY link is missing. */
	ck_assert_int_eq(check(bv, a, &m), DDNS_ENOCHAIN);
	/* Carried: valid, and the metadata says zone, version, expiry
	 * (TTL 300 s is sooner than the signature's 600 s). */
	ck_assert_int_eq(check(bv, ac, &m), 0);
	ck_assert_uint_eq(m.version, INC);
	ck_assert_uint_eq(m.zone_len, 9);
	ck_assert_mem_eq(m.zone, "\007example", 9);
	ck_assert_uint_eq(m.expire_us, 1000 + 300ull * 1000000);
	/* The carried links are now cached: the plain block validates. */
	ck_assert_int_eq(check(bv, a, &m), 0);
	struct ddns_blockval_stats st;
	ddns_blockval_get_stats(bv, &st);
	ck_assert_uint_eq(st.cache_entries, 3); /* DNSKEY ., DS example., DNSKEY example. */
	ck_assert_uint_gt(st.cache_hits, 0);
	/* Near the end of the signature, its remaining life wins over TTL. */
	fake_now = EXP - 100;
	ck_assert_int_eq(check(bv, a, &m), 0);
	ck_assert_uint_eq(m.expire_us, 1000 + 100ull * 1000000);
	/* After expiry: the signature has expired... */
	fake_now = EXP + 1;
	ck_assert_int_eq(check(bv, ac, &m), DDNS_EEXPIRED);
	/* ... and so has the cached DNSKEY RRset of example. (its RRSIG
	 * expires at EXP too): the link is missing again. */
	ck_assert_int_eq(check(bv, a, &m), DDNS_ENOCHAIN);
	fake_now = BASE;
	ck_assert_int_eq(check(bv, ac, &m), 0);
	ck_assert_int_eq(check(bv, a, &m), 0);
	ddns_blockval_flush(bv);
	ck_assert_int_eq(check(bv, a, &m), DDNS_ENOCHAIN);
	/* The DNSKEY block alone: DS link missing. */
	ck_assert_int_eq(check(bv, find(&t.plain, DNS_T_DNSKEY), &m), DDNS_ENOCHAIN);
	ck_assert_int_eq(check(bv, find(&t.carried, DNS_T_DNSKEY), &m), 0);
	/* Key of another type: bogus. */
	uint8_t *copy = malloc(ac->len);
	memcpy(copy, ac->data, ac->len);
	ck_assert_int_eq(ddns_blockval_check(bv, find(&t.plain, DNS_T_DNSKEY)->key, copy, ac->len,
					     0, &m, NULL, 0),
			 DDNS_EBOGUS);
	/* Without a key: not checked. */
	ck_assert_int_eq(ddns_blockval_check(bv, NULL, copy, ac->len, 0, &m, NULL, 0), 0);
	free(copy);
	ddns_blockval_get_stats(bv, &st);
	ck_assert_uint_eq(st.validations, 13);
	ck_assert_uint_eq(st.accepted, 7);
	ck_assert_uint_eq(st.refused, 6);
	ddns_blockval_free(bv);
	two_free(&t);
}
END_TEST

START_TEST(bogus_sig_does_not_raise_version)
{
	struct two t;
	struct dht_block_meta m;
	fake_now = BASE;
	two_init(&t);
	struct ddns_blockval *bv = bv_new(&t);
	const struct dns_block_out *ac = find(&t.carried, DNS_T_A);
	struct dns_block b;
	dns_block_init(&b);
	ck_assert_int_eq(dns_block_decode(&b, ac->data, ac->len), 0);
	/* A second RRSIG: inception far later, signature garbage. */
	ck_assert_int_eq(dns_rrlist_add(&b.data.sigs, &b.data.sigs.rr[0]), 0);
	struct dns_rr *s2 = &b.data.sigs.rr[1];
	uint32_t far = BASE - 10;
	s2->rdata[12] = (uint8_t)(far >> 24);
	s2->rdata[13] = (uint8_t)(far >> 16);
	s2->rdata[14] = (uint8_t)(far >> 8);
	s2->rdata[15] = (uint8_t)far;
	s2->rdata[s2->rdlen - 1] ^= 0x55;
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	ck_assert_int_eq(dns_block_encode(&b, &w), 0);
	ck_assert_int_eq(ddns_blockval_check(bv, ac->key, w.p, w.len, 0, &m, NULL, 0), 0);
	ck_assert_uint_eq(m.version, INC);
	/* With only the bogus one: refused. */
	struct dns_rrlist only;
	dns_rrlist_init(&only);
	ck_assert_int_eq(dns_rrlist_add(&only, s2), 0);
	dns_rrlist_free(&b.data.sigs);
	b.data.sigs = only;
	w.len = 0;
	ck_assert_int_eq(dns_block_encode(&b, &w), 0);
	ck_assert_int_eq(ddns_blockval_check(bv, ac->key, w.p, w.len, 0, &m, NULL, 0),
			 DDNS_EBOGUS);
	ddns_wbuf_free(&w);
	dns_block_clear(&b);
	ddns_blockval_free(bv);
	two_free(&t);
}
END_TEST

START_TEST(constructor)
{
	int err = 0;
	struct dns_rrlist l;
	dns_rrlist_init(&l);
	add(&l, "example.", 60, DNS_T_A, "192.0.2.1");
	ck_assert_ptr_null(ddns_blockval_new(l.rr, 1, NULL, NULL, 0, &err));
	ck_assert_int_eq(err, -EINVAL);
	err = 0;
	ck_assert_ptr_null(ddns_blockval_new(NULL, 0, NULL, NULL, 0, &err));
	ck_assert_int_eq(err, -EINVAL);
	ddns_blockval_free(NULL);
	dns_rrlist_free(&l);
}
END_TEST

static Suite *dhtval_suite(void)
{
	Suite *s = suite_create("dns_dhtval");
	TCase *tc = tcase_create("dhtval");
	tcase_add_test(tc, meta_and_cache);
	tcase_add_test(tc, bogus_sig_does_not_raise_version);
	tcase_add_test(tc, constructor);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dhtval_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
