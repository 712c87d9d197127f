/*
 * test_block.c - dns/block.c: the DDNS block codec, its key, and the zone
 * builder. Round trips, the builder's choice of blocks and carried chain,
 * and hostile encodings (truncation at every length, counts and lengths
 * beyond the data, wrong magic or version, rule violations, random bit
 * flips), each rejected with DDNS_EMALFORMED and never over-read (ASan).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/hash.h"
#include "dns/block.h"
#include "dns/dnssec.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/rr.h"

#define T0 1700000000u

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
	ck_assert_msg(dns_rdata_from_str(type, rdata, NULL, &w) == 0, "bad rdata %s", rdata);
	ck_assert_int_eq(dns_rrlist_add_parts(l, &o, type, DNS_C_IN, ttl, w.p, w.len), 0);
	ddns_wbuf_free(&w);
}

static void add_key(struct dns_rrlist *l, const struct dnssec_key *k, uint32_t ttl)
{
	size_t len;
	const uint8_t *rd = dnssec_key_rdata(k, &len);
	ck_assert_int_eq(dns_rrlist_add_parts(l, dnssec_key_owner(k), DNS_T_DNSKEY, DNS_C_IN, ttl,
					      rd, len),
			 0);
}

/* A signed example.org. zone (with an unsigned delegation and glue), and
 * the DS RRset for it signed by an org. key, in *chain. */
static void make_zone(struct dns_rrlist *zone, struct dns_rrlist *chain)
{
	struct dns_name apex = nm("example.org."), org = nm("org.");
	struct dnssec_key *k, *pk;
	ck_assert_int_eq(dnssec_key_generate(&apex, 13, DNSSEC_FLAGS_KSK, 0, &k), 0);
	ck_assert_int_eq(dnssec_key_generate(&org, 13, DNSSEC_FLAGS_KSK, 0, &pk), 0);
	dns_rrlist_init(zone);
	add_key(zone, k, 3600);
	add(zone, "example.org.", 300, DNS_T_A, "192.0.2.1");
	add(zone, "www.example.org.", 300, DNS_T_A, "192.0.2.2");
	add(zone, "www.example.org.", 300, DNS_T_A, "192.0.2.3");
	add(zone, "www.example.org.", 300, DNS_T_AAAA, "2001:db8::2");
	add(zone, "Example.ORG.", 300, DNS_T_MX, "10 mail.example.org.");
	add(zone, "txt.example.org.", 300, DNS_T_TXT, "\"hello\" \"world\"");
	add(zone, "sub.example.org.", 300, DNS_T_NS, "ns.sub.example.org.");
	add(zone, "ns.sub.example.org.", 300, DNS_T_A, "192.0.2.53");
	size_t nsigs = 0;
	struct dnssec_key *keys[1] = {k};
	ck_assert_int_eq(dnssec_zone_sign(zone, &apex, keys, 1, T0 - 3600, T0 + 86400, &nsigs), 0);
	ck_assert_uint_eq(nsigs, 6); /* DNSKEY, A x2, AAAA, MX, TXT */
	if (chain) {
		uint8_t ds[64];
		size_t dslen, len;
		const uint8_t *rd = dnssec_key_rdata(k, &len);
		ck_assert_int_eq(dnssec_ds_make(&apex, rd, len, DNSSEC_DS_SHA256, ds, sizeof(ds),
						&dslen),
				 0);
		dns_rrlist_init(chain);
		ck_assert_int_eq(
			dns_rrlist_add_parts(chain, &apex, DNS_T_DS, DNS_C_IN, 3600, ds, dslen), 0);
		ck_assert_int_eq(dnssec_sign_rrset(pk, chain->rr, 1, T0 - 3600, T0 + 86400, chain),
				 0);
	}
	dnssec_key_free(k);
	dnssec_key_free(pk);
}

static const struct dns_block_out *find_out(const struct dns_blocklist *l, const char *owner,
					    uint16_t type)
{
	struct dns_name o = nm(owner);
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].type == type && dns_name_equal(&l->v[i].owner, &o))
			return &l->v[i];
	return NULL;
}

START_TEST(key_is_case_insensitive)
{
	uint8_t a[DNS_BLOCK_KEY_LEN], b[DNS_BLOCK_KEY_LEN], c[DNS_BLOCK_KEY_LEN];
	uint8_t want[DNS_BLOCK_KEY_LEN];
	struct dns_name n1 = nm("WWW.Example.ORG."), n2 = nm("www.example.org.");
	dns_block_key(&n1, DNS_T_A, a);
	dns_block_key(&n2, DNS_T_A, b);
	ck_assert_mem_eq(a, b, sizeof(a));
	dns_block_key(&n2, DNS_T_AAAA, c);
	ck_assert(memcmp(a, c, sizeof(a)) != 0);
	/* SHA-1 of the lowercased wire name followed by the type, big-endian. */
	static const uint8_t in[] = "\003www\007example\003org\000\000\034";
	ddns_sha1(in, sizeof(in) - 1, want);
	ck_assert_mem_eq(c, want, sizeof(want));
	/* The owner given is not modified. */
	ck_assert_int_eq(n1.data[1], 'W');
}
END_TEST

START_TEST(build_and_round_trip)
{
	struct dns_rrlist zone, chain;
	struct dns_blocklist bl;
	make_zone(&zone, &chain);
	dns_blocklist_init(&bl);
	ck_assert_int_eq(dns_block_build_zone(&zone, NULL, false, &bl), 0);
	/* One block per signed RRset; NS delegation and glue are unsigned. */
	ck_assert_uint_eq(bl.n, 6);
	ck_assert_ptr_null(find_out(&bl, "sub.example.org.", DNS_T_NS));
	ck_assert_ptr_null(find_out(&bl, "ns.sub.example.org.", DNS_T_A));
	const struct dns_block_out *o = find_out(&bl, "www.example.org.", DNS_T_A);
	ck_assert_ptr_nonnull(o);
	uint8_t k[DNS_BLOCK_KEY_LEN];
	struct dns_name www = nm("www.example.org.");
	dns_block_key(&www, DNS_T_A, k);
	ck_assert_mem_eq(o->key, k, sizeof(k));

	for (size_t i = 0; i < bl.n; i++) {
		struct dns_block b;
		struct ddns_wbuf w;
		dns_block_init(&b);
		ck_assert_int_eq(dns_block_decode(&b, bl.v[i].data, bl.v[i].len), 0);
		ck_assert_uint_eq(b.nchain, 0);
		ck_assert_uint_eq(dns_block_set_type(&b.data), bl.v[i].type);
		ck_assert(dns_name_equal(dns_block_set_owner(&b.data), &bl.v[i].owner));
		ck_assert_uint_ge(b.data.sigs.n, 1);
		for (size_t j = 0; j < b.data.sigs.n; j++) {
			ck_assert_uint_eq(b.data.sigs.rr[j].type, DNS_T_RRSIG);
			ck_assert_uint_eq(b.data.sigs.rr[j].ttl, b.data.rrs.rr[0].ttl);
		}
		/* The signature still verifies over the decoded records. */
		struct dnssec_key *key;
		size_t kl = 0;
		int ki = -1;
		for (size_t j = 0; j < zone.n; j++)
			if (zone.rr[j].type == DNS_T_DNSKEY)
				ki = (int)j;
		ck_assert_int_ge(ki, 0);
		kl = zone.rr[ki].rdlen;
		ck_assert_int_eq(dnssec_key_from_dnskey(&zone.rr[ki].owner, zone.rr[ki].rdata, kl,
							&key),
				 0);
		ck_assert_int_eq(dnssec_verify_rrsig(key, b.data.rrs.rr, b.data.rrs.n,
						     &b.data.sigs.rr[0], T0),
				 0);
		dnssec_key_free(key);
		/* encode(decode(x)) == x */
		ddns_wbuf_init(&w, 0);
		ck_assert_int_eq(dns_block_encode(&b, &w), 0);
		ck_assert_uint_eq(w.len, bl.v[i].len);
		ck_assert_mem_eq(w.p, bl.v[i].data, w.len);
		ddns_wbuf_free(&w);
		dns_block_clear(&b);
	}
	struct dns_block b;
	dns_block_init(&b);
	o = find_out(&bl, "www.example.org.", DNS_T_A);
	ck_assert_int_eq(dns_block_decode(&b, o->data, o->len), 0);
	ck_assert_uint_eq(b.data.rrs.n, 2);
	dns_block_clear(&b);
	/* Owner case is kept (signatures are over the canonical form). */
	o = find_out(&bl, "example.org.", DNS_T_MX);
	ck_assert_int_eq(dns_block_decode(&b, o->data, o->len), 0);
	ck_assert_int_eq(dns_block_set_owner(&b.data)->data[1], 'E');
	dns_block_clear(&b);
	dns_blocklist_free(&bl);

	/* With the chain: every block carries the zone's DNSKEY RRset and the
	 * parent's DS RRset, except the DNSKEY block (only the DS). */
	ck_assert_int_eq(dns_block_build_zone(&zone, &chain, true, &bl), 0);
	ck_assert_uint_eq(bl.n, 6);
	for (size_t i = 0; i < bl.n; i++) {
		dns_block_init(&b);
		ck_assert_int_eq(dns_block_decode(&b, bl.v[i].data, bl.v[i].len), 0);
		if (bl.v[i].type == DNS_T_DNSKEY) {
			ck_assert_uint_eq(b.nchain, 1);
			ck_assert_uint_eq(dns_block_set_type(&b.chain[0]), DNS_T_DS);
		} else {
			ck_assert_uint_eq(b.nchain, 2);
			ck_assert_uint_eq(dns_block_set_type(&b.chain[0]), DNS_T_DNSKEY);
			ck_assert_uint_eq(b.chain[0].sigs.n, 1);
			ck_assert_uint_eq(dns_block_set_type(&b.chain[1]), DNS_T_DS);
			ck_assert_uint_eq(b.chain[1].sigs.n, 1);
		}
		struct ddns_wbuf w;
		ddns_wbuf_init(&w, 0);
		ck_assert_int_eq(dns_block_encode(&b, &w), 0);
		ck_assert_mem_eq(w.p, bl.v[i].data, bl.v[i].len);
		ddns_wbuf_free(&w);
		dns_block_clear(&b);
	}
	dns_blocklist_free(&bl);

	/* Hand-built block: data set plus one chain set. */
	dns_block_init(&b);
	struct dns_name apex = nm("EXAMPLE.org.");
	ck_assert_int_eq(dns_block_set_data(&b, &zone, &apex, DNS_T_A), 0);
	ck_assert_int_eq(dns_block_set_data(&b, &zone, &apex, DNS_T_A), -EINVAL);
	ck_assert_int_eq(dns_block_add_chain(&b, &zone, &apex, DNS_T_DNSKEY), 0);
	ck_assert_int_eq(dns_block_add_chain(&b, &zone, &apex, DNS_T_DNSKEY), -EEXIST);
	ck_assert_int_eq(dns_block_add_chain(&b, &zone, &apex, DNS_T_A), -EINVAL);
	ck_assert_int_eq(dns_block_add_chain(&b, &zone, &apex, DNS_T_DS), DDNS_ENOTFOUND);
	ck_assert_int_eq(dns_block_add_chain(&b, &chain, &apex, DNS_T_DS), 0);
	ck_assert_uint_eq(b.nchain, 2);
	dns_block_clear(&b);
	struct dns_name none = nm("nowhere.example.org.");
	ck_assert_int_eq(dns_block_set_data(&b, &zone, &none, DNS_T_A), DDNS_ENOTFOUND);
	ck_assert_int_eq(dns_block_set_data(&b, &zone, &apex, DNS_T_RRSIG), -EINVAL);
	dns_block_clear(&b);
	dns_rrlist_free(&zone);
	dns_rrlist_free(&chain);
}
END_TEST

/* A minimal valid block: "a." A 1.2.3.4, no RRSIG, no chain. */
static const uint8_t tiny[] = {
	0xDB, 1, 0,                    /* magic, version, nchain */
	1, 'a', 0,                     /* owner */
	0, 1, 0, 1, 0, 0, 0x0e, 0x10,  /* type A, class IN, ttl 3600 */
	0, 1,                          /* nrr */
	0, 4, 1, 2, 3, 4,              /* rdlen, rdata */
	0                              /* nsig */
};

static int dec(const uint8_t *p, size_t len)
{
	struct dns_block b;
	dns_block_init(&b);
	int rc = dns_block_decode(&b, p, len);
	if (rc == 0) {
		ck_assert_uint_ge(b.data.rrs.n, 1);
	} else {
		ck_assert_uint_eq(b.data.rrs.n, 0); /* left empty on error */
		ck_assert_uint_eq(b.nchain, 0);
	}
	dns_block_clear(&b);
	return rc;
}

/* Decode a heap copy of exactly len bytes, so ASan sees any over-read. */
static int dec_heap(const uint8_t *p, size_t len)
{
	uint8_t *q = malloc(len ? len : 1);
	memcpy(q, p, len);
	int rc = dec(q, len);
	free(q);
	return rc;
}

START_TEST(hostile_tiny)
{
	uint8_t b[sizeof(tiny) + 8];
	ck_assert_int_eq(dec_heap(tiny, sizeof(tiny)), 0);
	/* Truncated at every length. */
	for (size_t n = 0; n < sizeof(tiny); n++)
		ck_assert_int_eq(dec_heap(tiny, n), DDNS_EMALFORMED);
	/* Trailing garbage. */
	memcpy(b, tiny, sizeof(tiny));
	b[sizeof(tiny)] = 0;
	ck_assert_int_eq(dec_heap(b, sizeof(tiny) + 1), DDNS_EMALFORMED);
#define MUT(off, val)                                                                  \
	do {                                                                           \
		memcpy(b, tiny, sizeof(tiny));                                         \
		b[off] = (val);                                                        \
		ck_assert_int_eq(dec_heap(b, sizeof(tiny)), DDNS_EMALFORMED);         \
	} while (0)
	MUT(0, 0xDC);               /* wrong magic */
	MUT(1, 2);                  /* unknown version */
	MUT(1, 0);
	MUT(2, 1);                  /* a chain set that is not there */
	MUT(2, DNS_BLOCK_CHAIN_MAX + 1);
	MUT(3, 0xC0);               /* compression pointer as owner */
	MUT(3, 64);                 /* label type 0x40 */
	MUT(3, 9);                  /* label longer than the data */
	MUT(7, 46);                 /* data set of type RRSIG */
	MUT(7, 41);                 /* OPT */
	MUT(7, 255);                /* ANY (query-only meta type) */
	MUT(15, 0);                 /* nrr = 0 */
	MUT(15, 2);                 /* nrr larger than the data */
	MUT(14, 0xff);              /* nrr = 65281 */
	MUT(16, 0xff);              /* rdlen = 65284: beyond the data */
	MUT(17, 5);                 /* rdlen 5 */
	MUT(17, 3);                 /* A with 3 octets */
	MUT(22, 1);                 /* one RRSIG that is not there */
	MUT(22, 0xff);              /* more RRSIGs than allowed */
#undef MUT
	/* Huge lengths right at the end of the buffer. */
	static const uint8_t huge[] = {0xDB, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0xff, 0xff,
				       0xff, 0xff};
	ck_assert_int_eq(dec_heap(huge, sizeof(huge)), DDNS_EMALFORMED);
	ck_assert_int_eq(dec_heap(huge, 3), DDNS_EMALFORMED);
	/* Larger than any block. */
	uint8_t *big = calloc(1, DNS_BLOCK_MAX + 1);
	memcpy(big, tiny, sizeof(tiny));
	ck_assert_int_eq(dec(big, DNS_BLOCK_MAX + 1), DDNS_EMALFORMED);
	free(big);
}
END_TEST

/* A signed zone under example.org. with n pseudo-random owners (some
 * deeper, some with digits, '-' or '_'), its NSEC chain, signed. */
static void make_nsec_zone(struct dns_rrlist *zone, unsigned n, uint32_t seed)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789-_";
	struct dns_name apex = nm("example.org.");
	struct dnssec_key *k;
	ck_assert_int_eq(dnssec_key_generate(&apex, 13, DNSSEC_FLAGS_KSK, 0, &k), 0);
	dns_rrlist_init(zone);
	add_key(zone, k, 3600);
	add(zone, "example.org.", 3600, DNS_T_SOA, "ns.example.org. h.example.org. 1 2 3 4 300");
	add(zone, "*.example.org.", 300, DNS_T_TXT, "\"wild\"");
	uint32_t x = seed;
	for (unsigned i = 0; i < n; i++) {
		char name[64];
		size_t len = 0;
		x = x * 1103515245u + 12345u;
		unsigned l = 1 + (x >> 16) % 8;
		for (unsigned j = 0; j < l; j++) {
			x = x * 1103515245u + 12345u;
			name[len++] = al[(x >> 16) % (sizeof(al) - 1)];
		}
		if (name[0] == '-')
			name[0] = 'q';
		x = x * 1103515245u + 12345u;
		len += (size_t)snprintf(name + len, sizeof(name) - len, "%s.example.org.",
					(x >> 16) % 4 == 0 ? ".deep" : "");
		add(zone, name, 300, DNS_T_A, "192.0.2.1");
	}
	dns_rrlist_sort_canonical(zone); /* drops repeated names */
	ck_assert_int_eq(dnssec_nsec_chain(zone, &apex, 300), 0);
	size_t nsigs;
	struct dnssec_key *keys[1] = {k};
	ck_assert_int_eq(dnssec_zone_sign(zone, &apex, keys, 1, T0 - 3600, T0 + 86400, &nsigs), 0);
	dnssec_key_free(k);
}

/* The NSEC at a delegation point is the parent's, but <name, NSEC> is the
 * child's apex NSEC: the parent publishes it in its denial blocks only, so
 * the two zones never overwrite each other's block. Every other NSEC set
 * (the apex's included) is a block of its own. */
START_TEST(delegation_nsec_only_in_denial_blocks)
{
	struct dns_name apex = nm("example.org."), sub = nm("sub.example.org.");
	struct dnssec_key *k;
	ck_assert_int_eq(dnssec_key_generate(&apex, 13, DNSSEC_FLAGS_KSK, 0, &k), 0);
	struct dns_rrlist zone;
	dns_rrlist_init(&zone);
	add_key(&zone, k, 3600);
	add(&zone, "example.org.", 3600, DNS_T_SOA, "ns.example.org. h.example.org. 1 2 3 4 300");
	add(&zone, "example.org.", 3600, DNS_T_NS, "ns.example.org.");
	add(&zone, "a.example.org.", 300, DNS_T_A, "192.0.2.1");
	add(&zone, "sub.example.org.", 300, DNS_T_NS, "ns.sub.example.org.");
	add(&zone, "ns.sub.example.org.", 300, DNS_T_A, "192.0.2.53");
	add(&zone, "z.example.org.", 300, DNS_T_A, "192.0.2.2");
	dns_rrlist_sort_canonical(&zone);
	ck_assert_int_eq(dnssec_nsec_chain(&zone, &apex, 300), 0);
	size_t nsigs;
	struct dnssec_key *keys[1] = {k};
	ck_assert_int_eq(dnssec_zone_sign(&zone, &apex, keys, 1, T0 - 3600, T0 + 86400, &nsigs), 0);
	struct dns_blocklist bl;
	dns_blocklist_init(&bl);
	ck_assert_int_eq(dns_block_build_zone(&zone, NULL, false, &bl), 0);
	ck_assert_ptr_null(find_out(&bl, "sub.example.org.", DNS_T_NSEC));
	ck_assert_ptr_nonnull(find_out(&bl, "example.org.", DNS_T_NSEC));
	ck_assert_ptr_nonnull(find_out(&bl, "a.example.org.", DNS_T_NSEC));
	ck_assert_ptr_nonnull(find_out(&bl, "z.example.org.", DNS_T_NSEC));
	/* The denial block of class 's' still holds the delegation's NSEC. */
	struct dns_blocklist dl;
	dns_blocklist_init(&dl);
	ck_assert_int_eq(dns_block_build_denial(&zone, NULL, false, &dl), 0);
	bool found = false;
	for (size_t i = 0; i < dl.n && !found; i++) {
		struct dns_block b;
		dns_block_init(&b);
		ck_assert_int_eq(dns_block_decode(&b, dl.v[i].data, dl.v[i].len), 0);
		if (b.denial_class == 's')
			for (size_t j = 0; j < b.nmore + 1 && !found; j++) {
				const struct dns_block_set *set = j ? &b.more[j - 1] : &b.data;
				found = set->rrs.n && dns_name_equal(&set->rrs.rr[0].owner, &sub);
			}
		dns_block_clear(&b);
	}
	ck_assert_msg(found, "the delegation's NSEC is in no denial block");
	dns_blocklist_free(&bl);
	dns_blocklist_free(&dl);
	dns_rrlist_free(&zone);
	dnssec_key_free(k);
}
END_TEST

START_TEST(denial_blocks_prove_every_class)
{
	struct dns_rrlist zone;
	struct dns_blocklist bl;
	struct dns_name apex = nm("example.org.");
	make_nsec_zone(&zone, 300, 7);
	dns_blocklist_init(&bl);
	ck_assert_int_eq(dns_block_build_denial(&zone, NULL, false, &bl), 0);
	ck_assert_uint_eq(bl.n, DNS_DENIAL_CLASSES);
	struct dns_block b[DNS_DENIAL_CLASSES];
	for (size_t i = 0; i < bl.n; i++) {
		dns_block_init(&b[i]);
		ck_assert_int_eq(dns_block_decode(&b[i], bl.v[i].data, bl.v[i].len), 0);
		ck_assert(b[i].denial);
		ck_assert(dns_name_equal(&b[i].zone, &apex));
		ck_assert(dns_denial_complete(&b[i]));
		struct dns_name loc, at;
		uint16_t t;
		uint8_t k[DNS_BLOCK_KEY_LEN];
		ck_assert_int_eq(dns_denial_locator(&apex, b[i].denial_class, &loc), 0);
		ck_assert(dns_name_equal(&loc, &bl.v[i].owner));
		ck_assert_uint_eq(bl.v[i].type, DNS_DENIAL_TYPE);
		ck_assert_int_eq(dns_block_locate(&b[i], &at, &t, k), 0);
		ck_assert_mem_eq(k, bl.v[i].key, sizeof(k));
		/* round trip */
		struct ddns_wbuf w;
		ddns_wbuf_init(&w, DNS_BLOCK_MAX);
		ck_assert_int_eq(dns_block_encode(&b[i], &w), 0);
		ck_assert_uint_eq(w.len, bl.v[i].len);
		ck_assert_mem_eq(w.p, bl.v[i].data, w.len);
		ddns_wbuf_free(&w);
	}
	/* Any name below the apex, present or not: its class's block holds
	 * the NSEC that matches or covers it and the one for the wildcard at
	 * its closest encloser. */
	uint32_t x = 99;
	for (int q = 0; q < 2000; q++) {
		char name[64];
		x = x * 1103515245u + 12345u;
		unsigned c = (x >> 16) % 256;
		if (c == 0 || c == '.' || c == '\\' || c <= ' ' || c >= 127)
			c = 'm';
		x = x * 1103515245u + 12345u;
		snprintf(name, sizeof(name), "%c%u%s.example.org.", (char)c, (x >> 16) % 1000,
			 q % 3 == 0 ? ".x" : "");
		struct dns_name qn;
		if (dns_name_from_str(&qn, name, NULL) != 0)
			continue;
		char cls = dns_denial_class(&apex, &qn);
		ck_assert(cls);
		const struct dns_block *blk = NULL;
		for (size_t i = 0; i < bl.n; i++)
			if (b[i].denial_class == cls)
				blk = &b[i];
		ck_assert_ptr_nonnull(blk);
		struct dns_rrlist all;
		dns_rrlist_init(&all);
		ck_assert_int_eq(dns_rrlist_add(&all, &blk->data.rrs.rr[0]), 0);
		for (size_t i = 0; i < blk->nmore; i++)
			ck_assert_int_eq(dns_rrlist_add(&all, &blk->more[i].rrs.rr[0]), 0);
		bool match;
		const struct dns_rr *cv = dns_nsec_find(all.rr, all.n, &qn, &match);
		ck_assert_msg(cv != NULL, "no NSEC for %s in class %c", name, cls);
		if (!match) {
			struct dns_name ce, wild;
			uint8_t star[2] = {1, '*'};
			ck_assert_int_eq(dns_nsec_closest_encloser(cv, &qn, &ce), 0);
			ck_assert_int_eq(dns_name_concat(&wild, star, 2, &ce), 0);
			bool wm;
			ck_assert_msg(dns_nsec_find(all.rr, all.n, &wild, &wm) != NULL,
				      "no wildcard NSEC for %s", name);
		}
		dns_rrlist_free(&all);
	}
	/* A trimmed block is not complete. */
	struct dns_block t = b[0];
	t.nmore = 0;
	ck_assert(!dns_denial_complete(&t) || b[0].nmore == 0);
	for (size_t i = 0; i < bl.n; i++)
		dns_block_clear(&b[i]);
	dns_blocklist_free(&bl);
	dns_rrlist_free(&zone);
}
END_TEST

START_TEST(denial_hostile)
{
	struct dns_rrlist zone;
	struct dns_blocklist bl;
	make_nsec_zone(&zone, 40, 3);
	dns_blocklist_init(&bl);
	ck_assert_int_eq(dns_block_build_denial(&zone, NULL, false, &bl), 0);
	/* Every truncation and every single flipped bit of a denial block:
	 * decoded or refused, never over-read (ASan). */
	const struct dns_block_out *o = &bl.v[12];
	uint8_t *p = malloc(o->len);
	ck_assert_ptr_nonnull(p);
	for (size_t len = 0; len < o->len; len++) {
		struct dns_block b;
		dns_block_init(&b);
		memcpy(p, o->data, len);
		ck_assert_int_eq(dns_block_decode(&b, p, len), DDNS_EMALFORMED);
	}
	for (size_t i = 0; i < o->len * 8; i += 3) {
		struct dns_block b;
		dns_block_init(&b);
		memcpy(p, o->data, o->len);
		p[i / 8] ^= (uint8_t)(1u << (i % 8));
		int rc = dns_block_decode(&b, p, o->len);
		ck_assert(rc == 0 || rc == DDNS_EMALFORMED);
		dns_block_clear(&b);
	}
	/* A bad class octet. */
	memcpy(p, o->data, o->len);
	p[3] = 'A';
	struct dns_block b;
	dns_block_init(&b);
	ck_assert_int_eq(dns_block_decode(&b, p, o->len), DDNS_EMALFORMED);
	free(p);
	dns_blocklist_free(&bl);
	dns_rrlist_free(&zone);
}
END_TEST

START_TEST(hostile_rules)
{
	struct dns_rrlist zone, chain;
	struct dns_blocklist bl;
	make_zone(&zone, &chain);
	dns_blocklist_init(&bl);
	ck_assert_int_eq(dns_block_build_zone(&zone, &chain, true, &bl), 0);
	const struct dns_block_out *o = find_out(&bl, "www.example.org.", DNS_T_A);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(dec_heap(o->data, o->len), 0);
	for (size_t n = 0; n < o->len; n++)
		ck_assert_int_eq(dec_heap(o->data, n), DDNS_EMALFORMED);

	/* Rule violations the encoder refuses, and the decoder too. */
	struct dns_block b;
	struct ddns_wbuf w;
	struct dns_name www = nm("www.example.org."), apex = nm("example.org.");
	dns_block_init(&b);
	ddns_wbuf_init(&w, 0);
	ck_assert_int_eq(dns_block_encode(&b, &w), DDNS_EMALFORMED); /* empty */
	ck_assert_int_eq(dns_block_set_data(&b, &zone, &www, DNS_T_A), 0);
	ck_assert_int_eq(dns_block_add_chain(&b, &zone, &apex, DNS_T_DNSKEY), 0);
	/* A chain set of type A, smuggled in. */
	b.chain[0].rrs.rr[0].type = DNS_T_A;
	ck_assert_int_eq(dns_block_encode(&b, &w), DDNS_EMALFORMED);
	b.chain[0].rrs.rr[0].type = DNS_T_DNSKEY;
	/* Records of two owners in one set. */
	b.data.rrs.rr[1].owner = apex;
	ck_assert_int_eq(dns_block_encode(&b, &w), DDNS_EMALFORMED);
	b.data.rrs.rr[1].owner = www;
	/* An RRSIG covering another type. */
	b.data.sigs.rr[0].rdata[1] = DNS_T_AAAA;
	ck_assert_int_eq(dns_block_encode(&b, &w), DDNS_EMALFORMED);
	b.data.sigs.rr[0].rdata[1] = DNS_T_A;
	ck_assert_uint_eq(w.len, 0); /* nothing written on refusal */
	ck_assert_int_eq(dns_block_encode(&b, &w), 0);
	size_t off_chain_type = 3 + www.len + 10 + 2 * (2 + 4) + 1;
	for (size_t i = 0; i < b.data.sigs.n; i++)
		off_chain_type += 2 + b.data.sigs.rr[i].rdlen;
	off_chain_type += apex.len; /* the chain set's type follows its owner */
	ck_assert_uint_eq(w.p[off_chain_type + 1], DNS_T_DNSKEY);
	uint8_t *m = malloc(w.len);
	/* Decoder side: chain set of type A; of class CH; RRSIG of another type. */
	memcpy(m, w.p, w.len);
	m[off_chain_type + 1] = DNS_T_A;
	ck_assert_int_eq(dec_heap(m, w.len), DDNS_EMALFORMED);
	memcpy(m, w.p, w.len);
	m[off_chain_type + 3] = DNS_C_CH;
	ck_assert_int_eq(dec_heap(m, w.len), DDNS_EMALFORMED);
	memcpy(m, w.p, w.len);
	m[3 + www.len + 10 + 2 * (2 + 4) + 1 + 2 + 1] = DNS_T_AAAA; /* type covered */
	ck_assert_int_eq(dec_heap(m, w.len), DDNS_EMALFORMED);
	free(m);
	/* The same chain set twice: the encoder refuses, and so does the
	 * decoder when the set's bytes are repeated. */
	struct dns_block_set two[2] = {b.chain[0], b.chain[0]};
	struct dns_block_set *saved = b.chain;
	b.chain = two;
	b.nchain = 2;
	struct ddns_wbuf w2;
	ddns_wbuf_init(&w2, 0);
	ck_assert_int_eq(dns_block_encode(&b, &w2), DDNS_EMALFORMED);
	b.chain = saved;
	b.nchain = 1;
	size_t cstart = off_chain_type - apex.len;
	size_t clen = w.len - cstart;
	m = malloc(w.len + clen);
	memcpy(m, w.p, w.len);
	memcpy(m + w.len, w.p + cstart, clen);
	m[2] = 2;
	ck_assert_int_eq(dec_heap(m, w.len + clen), DDNS_EMALFORMED);
	m[2] = 1; /* and with the count unchanged, trailing bytes */
	ck_assert_int_eq(dec_heap(m, w.len + clen), DDNS_EMALFORMED);
	ck_assert_int_eq(dec_heap(m, w.len), 0);
	free(m);
	ddns_wbuf_free(&w2);
	/* Random bit flips: decode or refuse, never crash or over-read. */
	unsigned ok = 0;
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 3000; i++) {
		m = malloc(o->len);
		memcpy(m, o->data, o->len);
		for (int f = 0; f < 1 + i % 3; f++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			m[(x >> 8) % o->len] ^= (uint8_t)(1u << (x % 8));
		}
		int rc = dec_heap(m, o->len);
		ck_assert(rc == 0 || rc == DDNS_EMALFORMED);
		ok += rc == 0;
		free(m);
	}
	ck_assert_uint_gt(ok, 0); /* flips in RDATA or signatures still decode */
	ck_assert_uint_lt(ok, 3000);
	ddns_wbuf_free(&w);
	dns_block_clear(&b);

	/* Too big: 300 TXT records of 255 octets. */
	struct dns_rrlist big;
	dns_rrlist_init(&big);
	uint8_t txt[256];
	memset(txt, 'x', sizeof(txt));
	for (int i = 0; i < 300; i++) {
		txt[0] = 255;
		txt[1] = (uint8_t)i;
		txt[2] = (uint8_t)(i >> 8);
		ck_assert_int_eq(dns_rrlist_add_parts(&big, &www, DNS_T_TXT, DNS_C_IN, 60, txt, 256),
				 0);
	}
	dns_block_init(&b);
	ck_assert_int_eq(dns_block_set_data(&b, &big, &www, DNS_T_TXT), 0);
	ddns_wbuf_init(&w, 0);
	ck_assert_int_eq(dns_block_encode(&b, &w), DDNS_ETOOBIG);
	ddns_wbuf_free(&w);
	dns_block_clear(&b);
	dns_rrlist_free(&big);
	dns_blocklist_free(&bl);
	dns_rrlist_free(&zone);
	dns_rrlist_free(&chain);
}
END_TEST

static Suite *block_suite(void)
{
	Suite *s = suite_create("dns_block");
	TCase *tc = tcase_create("block");
	tcase_add_test(tc, key_is_case_insensitive);
	tcase_add_test(tc, build_and_round_trip);
	tcase_add_test(tc, hostile_tiny);
	tcase_add_test(tc, hostile_rules);
	tcase_add_test(tc, delegation_nsec_only_in_denial_blocks);
	tcase_add_test(tc, denial_blocks_prove_every_class);
	tcase_add_test(tc, denial_hostile);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(block_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
