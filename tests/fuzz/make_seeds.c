/*
 * make_seeds.c - writes the seed corpora of fuzz_block and fuzz_dht
 * (tests/fuzz/corpus/block, tests/fuzz/corpus/dht): the blocks of a small
 * signed zone (A, AAAA, MX, TXT, CNAME, SRV, NS, SOA, DNSKEY, NSEC, with
 * their chain) and one DHT message of every type around them. Run once by
 * hand when the formats change:
 *   make tests/fuzz/make_seeds && tests/fuzz/make_seeds SRCDIR/tests/fuzz/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/hash.h"
#include "dht/msg.h"
#include "dns/block.h"
#include "dns/dnssec.h"
#include "dns/zonefile.h"

static void put(const char *dir, const char *sub, const uint8_t *p, size_t len)
{
	uint8_t h[20];
	char path[4096], hex[41];
	ddns_sha1(p, len, h);
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, hex);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* A DHT seed: the type byte, then the payload. */
static void put_dht(const char *dir, uint8_t type, struct ddns_wbuf *w)
{
	uint8_t *b = malloc(w->len + 1);
	b[0] = type;
	memcpy(b + 1, w->p, w->len);
	put(dir, "dht", b, w->len + 1);
	free(b);
	ddns_wbuf_free(w);
	ddns_wbuf_init(w, 0);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";
	static const char zone[] =
		"@ SOA ns hostmaster 1 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.53\n"
		"www A 192.0.2.1\nwww A 192.0.2.2\nwww AAAA 2001:db8::1\n@ MX 10 mail\n"
		"mail A 192.0.2.25\nalias CNAME www\ntxt TXT \"hello\" \"world\"\n"
		"_sip._udp SRV 10 5 5060 www\n";
	struct dns_name apex;
	struct dns_rrlist z;
	struct dnssec_key *k;
	struct dns_blocklist bl;
	char err[256];
	dns_rrlist_init(&z);
	dns_blocklist_init(&bl);
	if (dns_name_from_str(&apex, "fuzz.example.", NULL) != 0 ||
	    dns_zone_load_string(zone, &apex, 3600, &z, err, sizeof(err)) != 0 ||
	    dnssec_key_generate(&apex, 13, 257, 0, &k) != 0)
		return 1;
	size_t klen, nsigs;
	const uint8_t *krd = dnssec_key_rdata(k, &klen);
	if (dns_rrlist_add_parts(&z, &apex, DNS_T_DNSKEY, DNS_C_IN, 3600, krd, klen) != 0 ||
	    dnssec_nsec_chain(&z, &apex, 300) != 0 ||
	    dnssec_zone_sign(&z, &apex, &k, 1, 1700000000u, 1900000000u, &nsigs) != 0 ||
	    dns_block_build_zone(&z, NULL, true, &bl) != 0)
		return 1;
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	for (size_t i = 0; i < bl.n; i++) {
		const struct dns_block_out *o = &bl.v[i];
		put(dir, "block", o->data, o->len);
		if (i % 4 == 0) {
			(void)dht_msg_put(&w, o->key, o->data, o->len);
			put_dht(dir, DHT_MSG_PUT, &w);
			(void)dht_msg_store(&w, o->key, DHT_KIND_REPLICA, o->data, o->len);
			put_dht(dir, DHT_MSG_STORE, &w);
			(void)dht_msg_fetch_r(&w, 0, DHT_VSRC_STORE, o->data, o->len);
			put_dht(dir, DHT_MSG_FETCH_R, &w);
		}
	}
	(void)dht_msg_put_r(&w, 0, 6, "");
	put_dht(dir, DHT_MSG_PUT_R, &w);
	(void)dht_msg_put_r(&w, -1002, 0, "validation failed: chain of trust broken");
	put_dht(dir, DHT_MSG_PUT_R, &w);
	(void)dht_msg_status(&w, 0);
	put_dht(dir, DHT_MSG_STORE_R, &w);
	(void)dht_msg_fetch(&w, bl.v[0].key);
	put_dht(dir, DHT_MSG_FETCH, &w);
	struct dht_digest_ent ents[3];
	uint16_t idx[3] = {0, 1, 2};
	uint8_t want[3] = {DHT_WANT_SEND, DHT_WANT_NEWER, DHT_WANT_SEND};
	for (int i = 0; i < 3; i++) {
		memcpy(ents[i].key, bl.v[i].key, DHT_KEY_LEN);
		ents[i].version = 1700000000u + (uint64_t)i;
	}
	(void)dht_msg_digest(&w, ents, 3);
	put_dht(dir, DHT_MSG_DIGEST, &w);
	(void)dht_msg_digest_r(&w, idx, want, 3);
	put_dht(dir, DHT_MSG_DIGEST_R, &w);
	printf("%zu blocks and their DHT messages written under %s\n", bl.n, dir);
	ddns_wbuf_free(&w);
	dns_blocklist_free(&bl);
	dns_rrlist_free(&z);
	dnssec_key_free(k);
	return 0;
}
