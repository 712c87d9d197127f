/* Unit tests for dns/dnssec.c and dns/nsec.c: key tags, DS, RRSIG signing
 * and verification for algorithms 13 and 8, canonical form, validity
 * windows, the NSEC chain and whole-zone signing. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dnssec.h"
#include "dns/p256.h"
#include "tests/unit/dnssec/util.h"

/* RFC 6605 §6.1: the P-256 example key, its DS and a signed A record. */
#define R6605_DNSKEY                                                          \
	"257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edb"               \
	"krSqQpF64cYbcB7wNcP+e+MAnLr+Wi9xMWyQLc8NAA=="
#define R6605_DS                                                              \
	"55648 13 2 b4c8c1fe2e7477127b27115656ad6256f424625bf5c1"             \
	"e2770ce6d6e37df61d17"
#define R6605_RRSIG                                                           \
	"A 13 3 3600 20100909100439 20100812100439 55648 example.net. "       \
	"qx6wLYqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXA"                        \
	"yGmt+3SNruPFKG7tZoLBLlUzGGus7ZwmwWep666VCw=="
#define R6605_PRIV "GU6SnQ/Ou+xC5RumuIUIuJZteXT2z0O/ok1s38Et6mQ="

static uint32_t ttime(const char *s)
{
	uint32_t t;
	ck_assert_int_eq(dns_time_from_text(s, strlen(s), &t), 0);
	return t;
}

/* The RFC 6605 example as records: [0] DNSKEY, [1] DS, [2] A, [3] RRSIG. */
static void rfc6605(struct dns_rrlist *l, struct dnssec_key **key)
{
	dns_rrlist_init(l);
	tadd(l, "example.net.", 3600, DNS_T_DNSKEY, R6605_DNSKEY);
	tadd(l, "example.net.", 3600, DNS_T_DS, R6605_DS);
	tadd(l, "www.example.net.", 3600, DNS_T_A, "192.0.2.1");
	tadd(l, "www.example.net.", 3600, DNS_T_RRSIG, R6605_RRSIG);
	ck_assert_int_eq(dnssec_key_from_dnskey(&l->rr[0].owner, l->rr[0].rdata,
						l->rr[0].rdlen, key),
			 0);
}

START_TEST(keytag_and_ds_match_rfc6605)
{
	struct dns_rrlist l;
	struct dnssec_key *k;
	rfc6605(&l, &k);
	ck_assert_uint_eq(dnssec_keytag(l.rr[0].rdata, l.rr[0].rdlen), 55648);
	ck_assert_uint_eq(dnssec_key_tag(k), 55648);
	ck_assert_uint_eq(dnssec_key_flags(k), 257);
	uint8_t ds[64];
	size_t dslen;
	ck_assert_int_eq(dnssec_ds_make(&l.rr[0].owner, l.rr[0].rdata,
					l.rr[0].rdlen, DNSSEC_DS_SHA256, ds,
					sizeof(ds), &dslen),
			 0);
	ck_assert_uint_eq(dslen, l.rr[1].rdlen);
	ck_assert_mem_eq(ds, l.rr[1].rdata, dslen);
	/* The owner is hashed in canonical (lowercase) form. */
	struct dns_name upper = tname("EXAMPLE.Net.");
	ck_assert_int_eq(dnssec_ds_match(&upper, l.rr[0].rdata, l.rr[0].rdlen,
					 l.rr[1].rdata, l.rr[1].rdlen),
			 0);
	/* SHA-1 DS round trip, and a flipped digest bit is a mismatch. */
	ck_assert_int_eq(dnssec_ds_make(&l.rr[0].owner, l.rr[0].rdata,
					l.rr[0].rdlen, DNSSEC_DS_SHA1, ds,
					sizeof(ds), &dslen),
			 0);
	ck_assert_uint_eq(dslen, 24);
	ck_assert_uint_eq(ds[3], 1);
	ck_assert_int_eq(dnssec_ds_match(&l.rr[0].owner, l.rr[0].rdata,
					 l.rr[0].rdlen, ds, dslen),
			 0);
	ds[10] ^= 0x01;
	ck_assert_int_eq(dnssec_ds_match(&l.rr[0].owner, l.rr[0].rdata,
					 l.rr[0].rdlen, ds, dslen),
			 DDNS_EBADDS);
	ds[3] = 99;
	ck_assert_int_eq(dnssec_ds_match(&l.rr[0].owner, l.rr[0].rdata,
					 l.rr[0].rdlen, ds, dslen),
			 DDNS_EUNSUPPORTED);
	/* Wrong owner: same key under another name has another digest. */
	struct dns_name other = tname("example.org.");
	ck_assert_int_eq(dnssec_ds_match(&other, l.rr[0].rdata, l.rr[0].rdlen,
					 l.rr[1].rdata, l.rr[1].rdlen),
			 DDNS_EBADDS);
	dnssec_key_free(k);
	dns_rrlist_free(&l);
}
END_TEST

START_TEST(verify_rfc6605_signature_and_failures)
{
	struct dns_rrlist l;
	struct dnssec_key *k;
	rfc6605(&l, &k);
	uint32_t now = ttime("20100820000000");
	ck_assert_int_eq(dnssec_verify_rrsig(k, &l.rr[2], 1, &l.rr[3], now), 0);
	/* Window, RFC 4034 §3.1.5. */
	ck_assert_int_eq(dnssec_verify_rrsig(k, &l.rr[2], 1, &l.rr[3],
					     ttime("20100909100440")),
			 DDNS_EEXPIRED);
	ck_assert_int_eq(dnssec_verify_rrsig(k, &l.rr[2], 1, &l.rr[3],
					     ttime("20100909100439")),
			 0);
	ck_assert_int_eq(dnssec_verify_rrsig(k, &l.rr[2], 1, &l.rr[3],
					     ttime("20100812100438")),
			 DDNS_ENOTYET);
	/* One flipped bit in the data. */
	l.rr[2].rdata[3] ^= 0x01;
	ck_assert_int_eq(dnssec_verify_rrsig(k, &l.rr[2], 1, &l.rr[3], now),
			 DDNS_EBOGUS);
	l.rr[2].rdata[3] ^= 0x01;
	/* One flipped bit in the signature. */
	l.rr[3].rdata[l.rr[3].rdlen - 5] ^= 0x40;
	ck_assert_int_eq(dnssec_verify_rrsig(k, &l.rr[2], 1, &l.rr[3], now),
			 DDNS_EBOGUS);
	l.rr[3].rdata[l.rr[3].rdlen - 5] ^= 0x40;
	/* Owner case does not matter (canonical form). */
	struct dns_rr up = l.rr[2];
	up.owner = tname("WWW.Example.NET.");
	struct dns_rr upsig = l.rr[3];
	upsig.owner = up.owner;
	ck_assert_int_eq(dnssec_verify_rrsig(k, &up, 1, &upsig, now), 0);
	/* Wrong key tag in the RRSIG. */
	l.rr[3].rdata[16] ^= 0x01;
	ck_assert_int_eq(dnssec_verify_rrsig(k, &l.rr[2], 1, &l.rr[3], now),
			 DDNS_ENOKEY);
	l.rr[3].rdata[16] ^= 0x01;
	/* An RRset outside the signer's zone. */
	struct dns_rr out = l.rr[2];
	out.owner = tname("www.example.org.");
	struct dns_rr outsig = l.rr[3];
	outsig.owner = out.owner;
	ck_assert_int_eq(dnssec_verify_rrsig(k, &out, 1, &outsig, now),
			 DDNS_EOUTOFZONE);
	/* The RRSIG covers A, not AAAA. */
	struct dns_rr aaaa = l.rr[2];
	aaaa.type = DNS_T_AAAA;
	ck_assert_int_eq(dnssec_verify_rrsig(k, &aaaa, 1, &l.rr[3], now),
			 DDNS_EMALFORMED);
	dnssec_key_free(k);
	dns_rrlist_free(&l);
}
END_TEST

START_TEST(private_key_must_match_public)
{
	struct dns_rrlist l;
	struct dnssec_key *k;
	rfc6605(&l, &k);
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	ck_assert_int_eq(dns_base64_decode(R6605_PRIV, strlen(R6605_PRIV), &w), 0);
	ck_assert_uint_eq(w.len, 32);
	struct dnssec_bin f = {w.p, w.len};
	w.p[31] ^= 1;
	ck_assert_int_eq(dnssec_key_set_private(k, &f, 1), DDNS_EMALFORMED);
	ck_assert(!dnssec_key_has_private(k));
	w.p[31] ^= 1;
	ck_assert_int_eq(dnssec_key_set_private(k, &f, 1), 0);
	ck_assert(dnssec_key_has_private(k));
	/* Sign the RFC's RRset anew (ECDSA is randomised) and verify. */
	struct dns_rrlist sigs;
	dns_rrlist_init(&sigs);
	uint32_t inc = ttime("20100812100439"), exp = ttime("20100909100439");
	ck_assert_int_eq(dnssec_sign_rrset(k, &l.rr[2], 1, inc, exp, &sigs), 0);
	ck_assert_uint_eq(sigs.n, 1);
	/* Everything but the signature equals the RFC's RRSIG. */
	ck_assert_uint_eq(sigs.rr[0].rdlen, l.rr[3].rdlen);
	ck_assert_mem_eq(sigs.rr[0].rdata, l.rr[3].rdata, l.rr[3].rdlen - 64);
	ck_assert_int_eq(dnssec_verify_rrsig(k, &l.rr[2], 1, &sigs.rr[0],
					     inc + 10),
			 0);
	struct dnssec_bin out[8];
	ck_assert_int_eq(dnssec_key_get_private(k, out, 8), 1);
	ck_assert_uint_eq(out[0].len, 32);
	ck_assert_mem_eq(out[0].p, w.p, 32);
	dnssec_bin_free(out, 1);
	dns_rrlist_free(&sigs);
	ddns_wbuf_free(&w);
	dnssec_key_free(k);
	dns_rrlist_free(&l);
}
END_TEST

/* Sign an RRset given in one order and verify it given in another order,
 * with duplicates and different case in embedded names. */
static void roundtrip(uint8_t alg, unsigned bits)
{
	struct dns_name zone = tname("example.");
	struct dnssec_key *k;
	ck_assert_int_eq(dnssec_key_generate(&zone, alg, 256, bits, &k), 0);
	ck_assert(dnssec_key_has_private(k));
	ck_assert_uint_eq(dnssec_key_alg(k), alg);
	struct dns_rrlist a, b, sigs;
	dns_rrlist_init(&a);
	dns_rrlist_init(&b);
	dns_rrlist_init(&sigs);
	tadd(&a, "example.", 300, DNS_T_MX, "10 mail.example.");
	tadd(&a, "example.", 300, DNS_T_MX, "5 Backup.Example.");
	tadd(&a, "example.", 300, DNS_T_MX, "20 z.example.");
	tadd(&b, "example.", 300, DNS_T_MX, "20 z.example.");
	tadd(&b, "example.", 300, DNS_T_MX, "5 backup.example.");
	tadd(&b, "example.", 300, DNS_T_MX, "10 MAIL.example.");
	tadd(&b, "example.", 300, DNS_T_MX, "10 mail.example.");
	ck_assert_int_eq(dnssec_sign_rrset(k, a.rr, a.n, 1000, 2000, &sigs), 0);
	ck_assert_int_eq(dnssec_verify_rrsig(k, b.rr, b.n, &sigs.rr[0], 1500), 0);
	/* A changed RR is detected. */
	b.rr[0].rdata[1] = 21;
	ck_assert_int_eq(dnssec_verify_rrsig(k, b.rr, b.n, &sigs.rr[0], 1500),
			 DDNS_EBOGUS);
	/* Public-only copy of the key verifies too. */
	size_t len;
	const uint8_t *rd = dnssec_key_rdata(k, &len);
	struct dnssec_key *pub;
	ck_assert_int_eq(dnssec_key_from_dnskey(&zone, rd, len, &pub), 0);
	ck_assert(!dnssec_key_has_private(pub));
	ck_assert_uint_eq(dnssec_key_tag(pub), dnssec_key_tag(k));
	ck_assert_int_eq(dnssec_verify_rrsig(pub, a.rr, a.n, &sigs.rr[0], 1500),
			 0);
	struct dns_rrlist none;
	dns_rrlist_init(&none);
	ck_assert_int_eq(dnssec_sign_rrset(pub, a.rr, a.n, 1, 2, &none),
			 DDNS_ENOKEY);
	/* Private fields round trip through set_private. */
	struct dnssec_bin f[8];
	int nf = dnssec_key_get_private(k, f, 8);
	ck_assert_int_eq(nf, alg == 13 ? 1 : 8);
	ck_assert_int_eq(dnssec_key_set_private(pub, f, (size_t)nf), 0);
	ck_assert_int_eq(dnssec_sign_rrset(pub, a.rr, a.n, 1000, 2000, &sigs), 0);
	ck_assert_int_eq(dnssec_verify_rrsig(k, a.rr, a.n, &sigs.rr[1], 1500), 0);
	dnssec_bin_free(f, (size_t)nf);
	dnssec_key_free(pub);
	dnssec_key_free(k);
	dns_rrlist_free(&a);
	dns_rrlist_free(&b);
	dns_rrlist_free(&sigs);
}

START_TEST(sign_verify_ecdsa_p256) { roundtrip(13, 0); }
END_TEST

START_TEST(sign_verify_rsasha256) { roundtrip(8, 1024); }
END_TEST

/* The two P-256 paths (libcrypto when the build has it, mbedTLS) accept
 * each other's signatures and refuse the same forgeries: signatures whose
 * r or s has a leading zero octet or its top bit set (the DER edge cases of
 * dns/p256.c) included, and the RFC 6605 example through both. */
static bool p256_backends_both(void) { return p256_available(); }

static int verify_with(struct dnssec_key *k, bool mbedtls_only, const struct dns_rr *rrs, size_t n,
		       const struct dns_rr *sig, uint32_t now)
{
	dnssec_key_use_mbedtls(k, mbedtls_only);
	int rc = dnssec_verify_rrsig(k, rrs, n, sig, now);
	dnssec_key_use_mbedtls(k, false);
	return rc;
}

START_TEST(p256_libcrypto_and_mbedtls_agree)
{
	struct dns_rrlist l;
	struct dnssec_key *r6605;
	rfc6605(&l, &r6605);
	uint32_t then = ttime("20100820000000");
	ck_assert_int_eq(verify_with(r6605, true, &l.rr[2], 1, &l.rr[3], then), 0);
	ck_assert_int_eq(verify_with(r6605, false, &l.rr[2], 1, &l.rr[3], then), 0);
	if (!p256_backends_both()) {
		/* A build without libcrypto: every key takes mbedTLS. */
		ck_assert(!dnssec_key_uses_libcrypto(r6605));
		dnssec_key_free(r6605);
		dns_rrlist_free(&l);
		return;
	}
	ck_assert(dnssec_key_uses_libcrypto(r6605));
	dnssec_key_use_mbedtls(r6605, true);
	ck_assert(!dnssec_key_uses_libcrypto(r6605));
	dnssec_key_free(r6605);
	dns_rrlist_free(&l);

	struct dns_name zone = tname("example.");
	struct dnssec_key *k, *pub;
	ck_assert_int_eq(dnssec_key_generate(&zone, 13, 256, 0, &k), 0);
	size_t len;
	const uint8_t *rd = dnssec_key_rdata(k, &len);
	ck_assert_int_eq(dnssec_key_from_dnskey(&zone, rd, len, &pub), 0);
	ck_assert(dnssec_key_uses_libcrypto(k) && dnssec_key_uses_libcrypto(pub));
	struct dns_rrlist set, sigs;
	dns_rrlist_init(&set);
	dns_rrlist_init(&sigs);
	tadd(&set, "www.example.", 300, DNS_T_A, "192.0.2.1");
	unsigned zero_lead = 0, high_bit = 0, tries = 0;
	/* Signatures by libcrypto until both edge cases have been seen (a
	 * leading zero octet in r or s: 1 in 128 per signature; bounded). */
	while ((zero_lead < 2 || high_bit < 2 || tries < 64) && tries < 6000) {
		dns_rrlist_clear(&sigs);
		ck_assert_int_eq(dnssec_sign_rrset(k, set.rr, set.n, 1000, 2000, &sigs), 0);
		const uint8_t *sg = sigs.rr[0].rdata + sigs.rr[0].rdlen - 64;
		bool edge = sg[0] == 0 || sg[32] == 0;
		bool high = (sg[0] & 0x80) || (sg[32] & 0x80);
		if (edge || high || tries < 64) {
			ck_assert_int_eq(verify_with(pub, true, set.rr, set.n, &sigs.rr[0], 1500), 0);
			ck_assert_int_eq(verify_with(pub, false, set.rr, set.n, &sigs.rr[0], 1500), 0);
			sigs.rr[0].rdata[sigs.rr[0].rdlen - 1] ^= 0x01;
			ck_assert_int_eq(verify_with(pub, true, set.rr, set.n, &sigs.rr[0], 1500),
					 DDNS_EBOGUS);
			ck_assert_int_eq(verify_with(pub, false, set.rr, set.n, &sigs.rr[0], 1500),
					 DDNS_EBOGUS);
		}
		zero_lead += edge;
		high_bit += high;
		tries++;
	}
	ck_assert_uint_ge(zero_lead, 2);
	/* And mbedTLS's signatures verify through libcrypto. */
	dnssec_key_use_mbedtls(k, true);
	for (int i = 0; i < 16; i++) {
		dns_rrlist_clear(&sigs);
		ck_assert_int_eq(dnssec_sign_rrset(k, set.rr, set.n, 1000, 2000, &sigs), 0);
		ck_assert_int_eq(verify_with(pub, false, set.rr, set.n, &sigs.rr[0], 1500), 0);
		set.rr[0].rdata[3] ^= 0x01; /* the data changed: refused by both */
		ck_assert_int_eq(verify_with(pub, false, set.rr, set.n, &sigs.rr[0], 1500),
				 DDNS_EBOGUS);
		ck_assert_int_eq(verify_with(pub, true, set.rr, set.n, &sigs.rr[0], 1500),
				 DDNS_EBOGUS);
		set.rr[0].rdata[3] ^= 0x01;
	}
	/* A private key set from its fields signs through libcrypto too. */
	struct dnssec_bin f[8];
	int nf = dnssec_key_get_private(k, f, 8);
	ck_assert_int_eq(nf, 1);
	ck_assert_int_eq(dnssec_key_set_private(pub, f, 1), 0);
	ck_assert(dnssec_key_uses_libcrypto(pub));
	dns_rrlist_clear(&sigs);
	ck_assert_int_eq(dnssec_sign_rrset(pub, set.rr, set.n, 1000, 2000, &sigs), 0);
	ck_assert_int_eq(verify_with(k, true, set.rr, set.n, &sigs.rr[0], 1500), 0);
	dnssec_bin_free(f, 1);
	dnssec_key_free(pub);
	dnssec_key_free(k);
	dns_rrlist_free(&set);
	dns_rrlist_free(&sigs);
}
END_TEST

/* The parsed-key cache: a second get is the same key (owner case aside),
 * a malformed key is refused and not kept, the least recently used key
 * goes first, and a key handed out outlives its eviction (ASan would see a
 * use after free) until its last owner frees it. */
START_TEST(keycache_shares_and_evicts)
{
	struct dns_rrlist l;
	struct dnssec_key *ref;
	rfc6605(&l, &ref);
	struct dnssec_keycache *kc = dnssec_keycache_new(2);
	ck_assert_ptr_nonnull(kc);
	struct dnssec_key *a, *b, *c, *d;
	struct dns_name up = tname("EXAMPLE.net.");
	ck_assert_int_eq(dnssec_keycache_get(kc, &l.rr[0].owner, l.rr[0].rdata, l.rr[0].rdlen, &a), 0);
	ck_assert_int_eq(dnssec_keycache_get(kc, &up, l.rr[0].rdata, l.rr[0].rdlen, &b), 0);
	ck_assert_ptr_eq(a, b);
	uint64_t hits, misses;
	size_t n;
	dnssec_keycache_stats(kc, &hits, &misses, &n);
	ck_assert_uint_eq(hits, 1);
	ck_assert_uint_eq(misses, 1);
	ck_assert_uint_eq(n, 1);
	uint32_t now = ttime("20100820000000");
	ck_assert_int_eq(dnssec_verify_rrsig(b, &l.rr[2], 1, &l.rr[3], now), 0);
	/* A malformed key: the same error as dnssec_key_from_dnskey, not kept. */
	uint8_t bad[8] = {1, 1, 3, 13, 0, 0, 0, 0};
	ck_assert_int_eq(dnssec_keycache_get(kc, &up, bad, sizeof(bad), &c), DDNS_EMALFORMED);
	dnssec_keycache_stats(kc, &hits, &misses, &n);
	ck_assert_uint_eq(n, 1);
	/* Two other keys push the first one out (capacity 2). */
	struct dns_name z1 = tname("one.example."), z2 = tname("two.example.");
	struct dnssec_key *g1, *g2;
	ck_assert_int_eq(dnssec_key_generate(&z1, 13, 256, 0, &g1), 0);
	ck_assert_int_eq(dnssec_key_generate(&z2, 13, 256, 0, &g2), 0);
	size_t len1, len2;
	const uint8_t *r1 = dnssec_key_rdata(g1, &len1), *r2 = dnssec_key_rdata(g2, &len2);
	ck_assert_int_eq(dnssec_keycache_get(kc, &z1, r1, len1, &c), 0);
	ck_assert_int_eq(dnssec_keycache_get(kc, &z2, r2, len2, &d), 0);
	dnssec_keycache_stats(kc, &hits, &misses, &n);
	ck_assert_uint_eq(n, 2);
	/* a was evicted, but our references still verify. */
	ck_assert_int_eq(dnssec_verify_rrsig(a, &l.rr[2], 1, &l.rr[3], now), 0);
	struct dnssec_key *a2;
	ck_assert_int_eq(dnssec_keycache_get(kc, &l.rr[0].owner, l.rr[0].rdata, l.rr[0].rdlen, &a2), 0);
	ck_assert_ptr_ne(a2, a); /* parsed again */
	dnssec_keycache_stats(kc, &hits, &misses, &n);
	ck_assert_uint_eq(hits, 1);
	/* The same RDATA under another owner is another key. */
	struct dnssec_key *other;
	ck_assert_int_eq(dnssec_keycache_get(kc, &z1, l.rr[0].rdata, l.rr[0].rdlen, &other), 0);
	ck_assert_ptr_ne(other, a2);
	ck_assert_int_eq(dnssec_verify_rrsig(other, &l.rr[2], 1, &l.rr[3], now), DDNS_EOUTOFZONE);
	dnssec_keycache_free(kc);
	/* Freed after the cache: each owner its own reference. */
	dnssec_key_free(a);
	dnssec_key_free(b);
	dnssec_key_free(c);
	dnssec_key_free(d);
	dnssec_key_free(a2);
	dnssec_key_free(other);
	dnssec_key_free(g1);
	dnssec_key_free(g2);
	dnssec_key_free(ref);
	dns_rrlist_free(&l);
}
END_TEST

/* Remembered signatures: the second verification of the same signature is
 * a cache hit, but every other check still runs (the window, the key), a
 * changed RRset or signature is verified (and refused) afresh, and a
 * refused signature is never remembered. */
START_TEST(keycache_remembers_only_good_signatures)
{
	struct dns_rrlist l;
	struct dnssec_key *k;
	rfc6605(&l, &k);
	struct dnssec_keycache *kc = dnssec_keycache_new(4);
	uint32_t now = ttime("20100820000000");
	uint64_t hits, computed;
	size_t n;
	ck_assert_int_eq(dnssec_keycache_verify(kc, k, &l.rr[2], 1, &l.rr[3], now), 0);
	dnssec_keycache_sig_stats(kc, &hits, &computed, &n);
	ck_assert_uint_eq(hits, 0);
	ck_assert_uint_eq(computed, 1);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(dnssec_keycache_verify(kc, k, &l.rr[2], 1, &l.rr[3], now), 0);
	dnssec_keycache_sig_stats(kc, &hits, &computed, &n);
	ck_assert_uint_eq(hits, 1);
	/* The window is checked before the cache. */
	ck_assert_int_eq(dnssec_keycache_verify(kc, k, &l.rr[2], 1, &l.rr[3],
						ttime("20100909100440")),
			 DDNS_EEXPIRED);
	/* Changed data, changed signature: refused, and not remembered. */
	l.rr[2].rdata[3] ^= 0x01;
	ck_assert_int_eq(dnssec_keycache_verify(kc, k, &l.rr[2], 1, &l.rr[3], now), DDNS_EBOGUS);
	ck_assert_int_eq(dnssec_keycache_verify(kc, k, &l.rr[2], 1, &l.rr[3], now), DDNS_EBOGUS);
	l.rr[2].rdata[3] ^= 0x01;
	l.rr[3].rdata[l.rr[3].rdlen - 5] ^= 0x40;
	ck_assert_int_eq(dnssec_keycache_verify(kc, k, &l.rr[2], 1, &l.rr[3], now), DDNS_EBOGUS);
	l.rr[3].rdata[l.rr[3].rdlen - 5] ^= 0x40;
	dnssec_keycache_sig_stats(kc, &hits, &computed, &n);
	ck_assert_uint_eq(hits, 1);
	ck_assert_uint_eq(computed, 4); /* the first, and the three refused */
	ck_assert_uint_eq(n, 1);
	/* Another key with the same tag and algorithm does not inherit it. */
	struct dnssec_key *g;
	ck_assert_int_eq(dnssec_key_generate(&l.rr[0].owner, 13, 257, 0, &g), 0);
	ck_assert_int_eq(dnssec_keycache_verify(kc, g, &l.rr[2], 1, &l.rr[3], now) == 0, 0);
	dnssec_key_free(g);
	dnssec_keycache_free(kc);
	dnssec_key_free(k);
	dns_rrlist_free(&l);
}
END_TEST

START_TEST(wildcard_expansion_verifies)
{
	struct dns_name zone = tname("example.");
	struct dnssec_key *k;
	ck_assert_int_eq(dnssec_key_generate(&zone, 13, 256, 0, &k), 0);
	struct dns_rrlist w, sigs;
	dns_rrlist_init(&w);
	dns_rrlist_init(&sigs);
	tadd(&w, "*.example.", 60, DNS_T_TXT, "\"hello\"");
	ck_assert_int_eq(dnssec_sign_rrset(k, w.rr, 1, 10, 20, &sigs), 0);
	struct dnssec_rrsig rs;
	ck_assert_int_eq(dnssec_rrsig_parse(sigs.rr[0].rdata, sigs.rr[0].rdlen,
					    &rs),
			 0);
	ck_assert_uint_eq(rs.labels, 1); /* '*' is not counted */
	struct dns_rr exp = w.rr[0], expsig = sigs.rr[0];
	exp.owner = expsig.owner = tname("a.b.example.");
	ck_assert_int_eq(dnssec_verify_rrsig(k, &exp, 1, &expsig, 15), 0);
	dnssec_key_free(k);
	dns_rrlist_free(&w);
	dns_rrlist_free(&sigs);
}
END_TEST

START_TEST(window_uses_serial_arithmetic)
{
	ck_assert_int_eq(dnssec_check_window(100, 200, 150), 0);
	ck_assert_int_eq(dnssec_check_window(100, 200, 201), DDNS_EEXPIRED);
	ck_assert_int_eq(dnssec_check_window(100, 200, 99), DDNS_ENOTYET);
	/* Across the 2^32 wrap (RFC 1982). */
	ck_assert_int_eq(dnssec_check_window(0xffffff00u, 0x100, 0x10), 0);
	ck_assert_int_eq(dnssec_check_window(0xffffff00u, 0x100, 0x200),
			 DDNS_EEXPIRED);
	ck_assert_int_eq(dnssec_check_window(0xffffff00u, 0x100, 0xfffffe00u),
			 DDNS_ENOTYET);
}
END_TEST

START_TEST(rrsig_parse_rejects_garbage)
{
	struct dnssec_rrsig rs;
	uint8_t short_rd[10] = {0};
	ck_assert_int_eq(dnssec_rrsig_parse(short_rd, sizeof(short_rd), &rs),
			 DDNS_EMALFORMED);
	uint8_t nosig[19] = {0}; /* header + root signer, no signature */
	ck_assert_int_eq(dnssec_rrsig_parse(nosig, sizeof(nosig), &rs),
			 DDNS_EMALFORMED);
	uint8_t badname[22] = {0};
	badname[18] = 63; /* label runs past the end */
	ck_assert_int_eq(dnssec_rrsig_parse(badname, sizeof(badname), &rs),
			 DDNS_EMALFORMED);
	uint8_t junk[20] = {0};
	struct dnssec_key *k;
	struct dns_name n = tname("x.");
	ck_assert_int_eq(dnssec_key_from_dnskey(&n, junk, 3, &k),
			 DDNS_EMALFORMED);
	junk[2] = 3;
	junk[3] = 13; /* 16 bytes is no P-256 key */
	ck_assert_int_eq(dnssec_key_from_dnskey(&n, junk, sizeof(junk), &k),
			 DDNS_EMALFORMED);
	junk[3] = 200;
	ck_assert_int_eq(dnssec_key_from_dnskey(&n, junk, sizeof(junk), &k),
			 DDNS_EUNSUPPORTED);
}
END_TEST

/* A zone with a signed delegation (sub, with DS), an unsigned one (ins,
 * with glue) and ordinary data. */
static void small_zone(struct dns_rrlist *z)
{
	dns_rrlist_init(z);
	tadd(z, "example.", 3600, DNS_T_SOA,
	     "ns.example. admin.example. 1 7200 3600 1209600 300");
	tadd(z, "example.", 3600, DNS_T_NS, "ns.example.");
	tadd(z, "ns.example.", 3600, DNS_T_A, "192.0.2.53");
	tadd(z, "www.example.", 3600, DNS_T_A, "192.0.2.80");
	tadd(z, "www.example.", 3600, DNS_T_A, "192.0.2.80"); /* duplicate */
	tadd(z, "sub.example.", 3600, DNS_T_NS, "ns.sub.example.");
	tadd(z, "sub.example.", 3600, DNS_T_DS,
	     "55648 13 2 b4c8c1fe2e7477127b27115656ad6256f424625bf5c1"
	     "e2770ce6d6e37df61d17");
	tadd(z, "ns.sub.example.", 3600, DNS_T_A, "192.0.2.54");
	tadd(z, "ins.example.", 3600, DNS_T_NS, "ns.ins.example.");
	tadd(z, "ns.ins.example.", 3600, DNS_T_A, "192.0.2.55");
	tadd(z, "old.example.", 3600, DNS_T_NSEC, "zzz.example. A");
}

START_TEST(nsec_chain_skips_glue_and_marks_delegations)
{
	struct dns_rrlist z;
	small_zone(&z);
	struct dns_name apex = tname("example.");
	ck_assert_int_eq(dnssec_nsec_chain(&z, &apex, 300), 0);
	/* Old NSEC gone (and with it the name old.example.); duplicate A
	 * dropped. Chain: example. ins. ns. sub. www. (canonical order). */
	const char *order[] = {"example.", "ins.example.", "ns.example.",
			       "sub.example.", "www.example."};
	size_t nn = 0;
	for (size_t i = 0; i < z.n; i++) {
		if (z.rr[i].type != DNS_T_NSEC)
			continue;
		struct dns_name want = tname(order[nn]);
		ck_assert(dns_name_equal(&z.rr[i].owner, &want));
		ck_assert_uint_eq(z.rr[i].ttl, 300);
		struct dns_name next;
		size_t off = 0;
		ck_assert_int_eq(dns_name_from_wire(&next, z.rr[i].rdata,
						    z.rr[i].rdlen, &off, false),
				 0);
		struct dns_name wnext = tname(order[(nn + 1) % 5]);
		ck_assert(dns_name_equal(&next, &wnext));
		const uint8_t *bm = z.rr[i].rdata + off;
		size_t bl = z.rr[i].rdlen - off;
		ck_assert(dns_typebitmap_has(bm, bl, DNS_T_RRSIG));
		ck_assert(dns_typebitmap_has(bm, bl, DNS_T_NSEC));
		if (nn == 3) { /* sub: NS DS only */
			ck_assert(dns_typebitmap_has(bm, bl, DNS_T_NS));
			ck_assert(dns_typebitmap_has(bm, bl, DNS_T_DS));
			ck_assert(!dns_typebitmap_has(bm, bl, DNS_T_A));
		}
		if (nn == 0) {
			ck_assert(dns_typebitmap_has(bm, bl, DNS_T_SOA));
			ck_assert(!dns_typebitmap_has(bm, bl, DNS_T_DS));
		}
		nn++;
	}
	ck_assert_uint_eq(nn, 5);
	struct dns_name wn = tname("www.example.");
	int www = 0;
	for (size_t i = 0; i < z.n; i++)
		www += z.rr[i].type == DNS_T_A && dns_name_equal(&z.rr[i].owner, &wn);
	ck_assert_int_eq(www, 1);
	ck_assert_int_eq(tfind(&z, "old.example.", DNS_T_NSEC), -1);
	/* Out-of-zone data is refused. */
	tadd(&z, "example.org.", 60, DNS_T_A, "192.0.2.1");
	ck_assert_int_eq(dnssec_nsec_chain(&z, &apex, 300), DDNS_EOUTOFZONE);
	dns_rrlist_free(&z);
}
END_TEST

START_TEST(zone_sign_signs_authoritative_rrsets_only)
{
	struct dns_rrlist z;
	small_zone(&z);
	struct dns_name apex = tname("example.");
	struct dnssec_key *ksk, *zsk;
	ck_assert_int_eq(dnssec_key_generate(&apex, 13, 257, 0, &ksk), 0);
	ck_assert_int_eq(dnssec_key_generate(&apex, 13, 256, 0, &zsk), 0);
	size_t len;
	const uint8_t *rd = dnssec_key_rdata(ksk, &len);
	struct dns_rr dk = {.owner = apex, .type = DNS_T_DNSKEY, .rclass = 1,
			    .ttl = 3600, .rdlen = (uint16_t)len,
			    .rdata = (uint8_t *)rd};
	ck_assert_int_eq(dns_rrlist_add(&z, &dk), 0);
	rd = dnssec_key_rdata(zsk, &len);
	dk.rdata = (uint8_t *)rd;
	dk.rdlen = (uint16_t)len;
	ck_assert_int_eq(dns_rrlist_add(&z, &dk), 0);
	ck_assert_int_eq(dnssec_nsec_chain(&z, &apex, 300), 0);
	struct dnssec_key *keys[] = {ksk, zsk};
	size_t nsigs;
	ck_assert_int_eq(dnssec_zone_sign(&z, &apex, keys, 2, 100, 10000,
					  &nsigs),
			 0);
	/* example.: SOA NS DNSKEY(x2) NSEC; ns: A NSEC; www: A NSEC;
	 * sub: DS NSEC; ins: NSEC.  = 5 + 2 + 2 + 2 + 1 = 12 */
	ck_assert_uint_eq(nsigs, 12);
	ck_assert_int_ge(tfind_sig(&z, "sub.example.", DNS_T_DS), 0);
	ck_assert_int_lt(tfind_sig(&z, "sub.example.", DNS_T_NS), 0);
	ck_assert_int_lt(tfind_sig(&z, "ns.sub.example.", DNS_T_A), 0);
	ck_assert_int_lt(tfind_sig(&z, "ns.ins.example.", DNS_T_A), 0);
	ck_assert_int_ge(tfind_sig(&z, "ins.example.", DNS_T_NSEC), 0);
	/* www's A is signed by the ZSK, the DNSKEY RRset by both. */
	int i = tfind_sig(&z, "www.example.", DNS_T_A);
	ck_assert_int_ge(i, 0);
	struct dnssec_rrsig rs;
	ck_assert_int_eq(dnssec_rrsig_parse(z.rr[i].rdata, z.rr[i].rdlen, &rs),
			 0);
	ck_assert_uint_eq(rs.key_tag, dnssec_key_tag(zsk));
	int a = tfind(&z, "www.example.", DNS_T_A);
	ck_assert_int_eq(dnssec_verify_rrsig(zsk, &z.rr[a], 1, &z.rr[i], 500),
			 0);
	/* Signing again replaces, not adds. */
	ck_assert_int_eq(dnssec_zone_sign(&z, &apex, keys, 2, 100, 10000,
					  &nsigs),
			 0);
	size_t nrrsig = 0;
	for (size_t j = 0; j < z.n; j++)
		nrrsig += z.rr[j].type == DNS_T_RRSIG;
	ck_assert_uint_eq(nrrsig, 12);
	dnssec_key_free(ksk);
	dnssec_key_free(zsk);
	dns_rrlist_free(&z);
}
END_TEST

static Suite *dnssec_suite(void)
{
	Suite *s = suite_create("dnssec");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, keytag_and_ds_match_rfc6605);
	tcase_add_test(tc, verify_rfc6605_signature_and_failures);
	tcase_add_test(tc, private_key_must_match_public);
	tcase_add_test(tc, sign_verify_ecdsa_p256);
	tcase_add_test(tc, sign_verify_rsasha256);
	tcase_add_test(tc, p256_libcrypto_and_mbedtls_agree);
	tcase_add_test(tc, keycache_shares_and_evicts);
	tcase_add_test(tc, keycache_remembers_only_good_signatures);
	tcase_add_test(tc, wildcard_expansion_verifies);
	tcase_add_test(tc, window_uses_serial_arithmetic);
	tcase_add_test(tc, rrsig_parse_rejects_garbage);
	tcase_add_test(tc, nsec_chain_skips_glue_and_marks_delegations);
	tcase_add_test(tc, zone_sign_signs_authoritative_rrsets_only);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(dnssec_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
