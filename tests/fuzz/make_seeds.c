/*
 * make_seeds.c - writes the seed corpora of fuzz_block and fuzz_dht
 * (tests/fuzz/corpus/block, tests/fuzz/corpus/dht): the blocks of a small
 * signed zone (A, AAAA, MX, TXT, CNAME, SRV, NS, SOA, DNSKEY, NSEC, with
 * their chain, and its denial blocks) and one DHT message of every type around them; and the
 * corpus of fuzz_node (tests/fuzz/corpus/node): datagrams a small simulated
 * network of each overlay sends while those blocks are put and got, each
 * behind the selector byte of fuzz_node. Run once by hand when the formats
 * change:
 *   make tests/fuzz/make_seeds && tests/fuzz/make_seeds SRCDIR/tests/fuzz/corpus
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/simnet.h"
#include "common/buf.h"
#include "common/hash.h"
#include "dht/msg.h"
#include "dns/block.h"
#include "dns/dnssec.h"
#include "dns/msg.h"
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

/* ---- fuzz_node seeds: datagrams on the wire of a small network ---- */

struct tapper {
	const char *dir;
	uint8_t sel;
	unsigned kept, seen;
};

static void tap(void *arg, const struct tr *from, const struct tr_addr *to, const uint8_t *data,
		size_t len)
{
	struct tapper *t = arg;
	(void)from;
	(void)to;
	/* Every 7th datagram, at most 60: all message types without
	 * thousands of near-copies. */
	if (t->seen++ % 7 != 0 || t->kept >= 60 || len + 1 > 4096)
		return;
	uint8_t b[4097];
	b[0] = t->sel;
	memcpy(b + 1, data, len);
	put(t->dir, "node", b, len + 1);
	t->kept++;
}

static void accept_all(void *arg, struct dht *d, const uint8_t key[DHT_KEY_LEN],
		       const uint8_t *blk, size_t len, dht_validate_done_cb done, void *done_arg)
{
	(void)arg;
	(void)d;
	(void)key;
	(void)blk;
	struct dht_block_meta m;
	memset(&m, 0, sizeof(m));
	m.zone_len = 1;
	m.version = len;
	m.expire_us = UINT64_MAX / 4;
	done(done_arg, 0, &m);
}

static void put_done(void *arg, const struct dht_put_result *r)
{
	(void)arg;
	(void)r;
}

static void get_done(void *arg, const struct dht_get_result *r)
{
	(void)arg;
	(void)r;
}

static unsigned node_seeds(const char *dir, const struct dns_blocklist *bl)
{
	unsigned n = 0;
	for (uint8_t sel = 0; sel < 4; sel++) {
		struct simnet_params p;
		simnet_params_default(&p);
		p.ops = (sel & 1) ? &kad16_ops : &chord_ops;
		p.seed = 77;
		p.join_gap_us = 50000;
		p.settle_us = 10ULL * 1000000;
		p.validate = accept_all;
		struct simnet *sn = simnet_new(&p);
		if (!sn || simnet_grow(sn, 8) != 0)
			exit(1);
		struct tapper t = {dir, sel, 0, 0};
		sim_set_tap(simnet_sim(sn), tap, &t);
		for (size_t i = 0; i < bl->n; i++)
			if (dht_put(simnet_dht(sn, i % 8), bl->v[i].key, bl->v[i].data, bl->v[i].len,
				    put_done, NULL) != 0)
				exit(1);
		simnet_run(sn, 5ULL * 1000000);
		for (size_t i = 0; i < bl->n; i++)
			if (dht_get(simnet_dht(sn, (i + 3) % 8), bl->v[i].key, get_done, NULL) != 0)
				exit(1);
		simnet_run(sn, 90ULL * 1000000); /* gets, then a maintenance round */
		sim_set_tap(simnet_sim(sn), NULL, NULL);
		n += t.kept;
		simnet_free(sn);
	}
	return n;
}

/* ---- fuzz_gateway seeds: queries for fuzz_gateway's zone ---- */

static unsigned gateway_seeds(const char *dir)
{
	static const char *const names[] = {"www.fuzz.",  "alias2.fuzz.", "loop1.fuzz.",
					    "dangling.fuzz.", "big.fuzz.", "nope.fuzz.",
					    "fuzz.",      "txt.fuzz.",    "nope.example."};
	static const uint16_t types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_TXT, DNS_T_MX, DNS_T_SOA,
					 DNS_T_DNSKEY, DNS_T_DS, DNS_T_NSEC, 255};
	unsigned n = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (size_t j = 0; j < sizeof(types) / sizeof(types[0]); j++) {
			if ((i + j) % 3 != 0 && j != 0)
				continue; /* a sample, every name with A */
			struct dns_msgw mw;
			struct dns_question q;
			if (dns_name_from_str(&q.qname, names[i], NULL) != 0)
				exit(1);
			q.qtype = types[j];
			q.qclass = DNS_C_IN;
			if (dns_msgw_init(&mw, (uint16_t)(n + 1), DNS_F_RD, 512) != 0)
				exit(1);
			if ((i + j) % 2 == 0) {
				struct dns_edns e;
				memset(&e, 0, sizeof(e));
				e.present = true;
				e.udp_size = 1232;
				e.flags = (j % 2) ? DNS_EDNS_DO : 0;
				if (dns_msgw_edns(&mw, &e) != 0)
					exit(1);
			}
			if (dns_msgw_question(&mw, &q) != 0)
				exit(1);
			int len = dns_msgw_finish(&mw);
			if (len <= 0)
				exit(1);
			uint8_t b[600];
			b[0] = (uint8_t)(n % 2); /* UDP or stream */
			memcpy(b + 1, mw.w.p, (size_t)len);
			put(dir, "gateway", b, (size_t)len + 1);
			dns_msgw_free(&mw);
			n++;
		}
	/* The gateway's CH names. */
	static const char *const ch[] = {"stats.ddns.", "id.server.", "version.bind."};
	for (size_t i = 0; i < 3; i++) {
		struct dns_msgw mw;
		struct dns_question q;
		if (dns_name_from_str(&q.qname, ch[i], NULL) != 0)
			exit(1);
		q.qtype = DNS_T_TXT;
		q.qclass = DNS_C_CH;
		if (dns_msgw_init(&mw, 7, 0, 512) != 0 || dns_msgw_question(&mw, &q) != 0)
			exit(1);
		int len = dns_msgw_finish(&mw);
		if (len <= 0)
			exit(1);
		uint8_t b[600];
		b[0] = 0;
		memcpy(b + 1, mw.w.p, (size_t)len);
		put(dir, "gateway", b, (size_t)len + 1);
		dns_msgw_free(&mw);
		n++;
	}
	return n;
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
	    dns_block_build_zone(&z, NULL, true, &bl) != 0 ||
	    dns_block_build_denial(&z, NULL, true, &bl) != 0) /* version 2 blocks too */
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
	unsigned nn = node_seeds(dir, &bl), ng = gateway_seeds(dir);
	printf("%zu blocks and their DHT messages, %u node datagrams, %u gateway queries "
	       "written under %s\n",
	       bl.n, nn, ng, dir);
	ddns_wbuf_free(&w);
	dns_blocklist_free(&bl);
	dns_rrlist_free(&z);
	dnssec_key_free(k);
	return 0;
}
