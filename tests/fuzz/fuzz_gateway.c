/*
 * fuzz_gateway.c - libFuzzer target for the gateway's query path: a query
 * packet through gw_handle_packet, the lookups it starts in a DHT, and the
 * answer it writes.
 *
 * The world, built on the first input: a root key and a signed zone fuzz.
 * (SOA, NS, A, AAAA, MX, TXT, a CNAME chain and loop, a large TXT, NSEC),
 * its blocks with their chain put into a 6-node kad16 network under the
 * simulator whose nodes validate through the real DNSSEC hook
 * (dns/dhtval.h), the root's DNSKEY and DS blocks too, and a gateway on
 * node 0 that runs the chain check (gw_params.current). Its caches, like a
 * real gateway's, live across inputs.
 *
 * Input: byte 0 bit 0 picks the transport (UDP with a 1,232-octet limit, or
 * a stream); the rest is the query. The simulator runs until the answer
 * (at most 20 s of virtual time; each lookup step gives up sooner). Checked
 * beyond the sanitizers: an answer over UDP fits the limit, and every
 * answer parses as a DNS message with QR set.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/simnet.h"
#include "dht/dht.h"
#include "dns/block.h"
#include "dns/dhtval.h"
#include "dns/dnssec.h"
#include "dns/gateway.h"
#include "dns/msg.h"
#include "dns/name.h"
#include "dns/zonefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FG_T0 1700000000u /* the validators' Unix time, fixed: virtual time
			     grows with every input, signatures must not expire */
#define FG_UDP 1232

static struct simnet *net;
static struct ddns_blockval *bv;
static struct gw *gw;

static uint64_t fixed_clock(void *arg)
{
	(void)arg;
	return FG_T0;
}

static void need(bool ok)
{
	if (!ok)
		abort();
}

static void load(struct dns_rrlist *l, const char *text, const char *origin)
{
	struct dns_name o;
	char err[256];
	need(dns_name_from_str(&o, origin, NULL) == 0);
	need(dns_zone_load_string(text, &o, 3600, l, err, sizeof(err)) == 0);
}

static void sign(struct dns_rrlist *z, const char *apex, struct dnssec_key *k)
{
	struct dns_name a;
	size_t nsigs, klen;
	need(dns_name_from_str(&a, apex, NULL) == 0);
	const uint8_t *rd = dnssec_key_rdata(k, &klen);
	need(dns_rrlist_add_parts(z, &a, DNS_T_DNSKEY, DNS_C_IN, 3600, rd, klen) == 0);
	need(dnssec_nsec_chain(z, &a, 300) == 0);
	need(dnssec_zone_sign(z, &a, &k, 1, FG_T0 - 3600, FG_T0 + 30 * 86400, &nsigs) == 0);
}

struct done {
	bool done;
};

static bool is_done(void *arg) { return ((struct done *)arg)->done; }

static void put_cb(void *arg, const struct dht_put_result *r)
{
	(void)r;
	((struct done *)arg)->done = true;
}

static void put_all(const struct dns_blocklist *bl, bool only_links)
{
	for (size_t i = 0; i < bl->n; i++) {
		const struct dns_block_out *b = &bl->v[i];
		if (only_links && b->type != DNS_T_DS && b->type != DNS_T_DNSKEY)
			continue;
		struct done d = {false};
		need(dht_put(simnet_dht(net, i % simnet_size(net)), b->key, b->data, b->len, put_cb,
			     &d) == 0);
		need(sim_run_cond(simnet_sim(net), is_done, &d, 60ULL * 1000000));
	}
}

static void build(void)
{
	static const char zone[] =
		"@ SOA ns hostmaster 1 7200 3600 1209600 300\n@ NS ns\nns A 192.0.2.53\n"
		"www A 192.0.2.1\nwww A 192.0.2.2\nwww AAAA 2001:db8::1\n@ MX 10 mail\n"
		"mail A 192.0.2.25\nalias CNAME www\nalias2 CNAME alias\nloop1 CNAME loop2\n"
		"loop2 CNAME loop1\ndangling CNAME nowhere\ntxt TXT \"hello\" \"world\"\n";
	struct dns_rrlist z, root;
	struct dnssec_key *zk, *rk;
	struct dns_name apex, rn;
	dns_rrlist_init(&z);
	dns_rrlist_init(&root);
	need(dns_name_from_str(&apex, "fuzz.", NULL) == 0);
	need(dns_name_from_str(&rn, ".", NULL) == 0);
	need(dnssec_key_generate(&apex, 13, 257, 0, &zk) == 0);
	need(dnssec_key_generate(&rn, 13, 257, 0, &rk) == 0);
	load(&z, zone, "fuzz.");
	/* A TXT RRset larger than a UDP answer: truncation. */
	char big[300];
	for (int i = 0; i < 20; i++) {
		memset(big, 'a' + i, sizeof(big));
		big[0] = '"';
		snprintf(big + 240, sizeof(big) - 240, "\"\n");
		char line[320];
		snprintf(line, sizeof(line), "big TXT %s", big);
		load(&z, line, "fuzz.");
	}
	sign(&z, "fuzz.", zk);

	load(&root, "@ SOA a.root. host.root. 1 7200 3600 1209600 300\n@ NS a.root.\n"
		    "fuzz. NS ns.fuzz.\n",
	     ".");
	size_t klen, dslen;
	const uint8_t *krd = dnssec_key_rdata(zk, &klen);
	uint8_t ds[64];
	need(dnssec_ds_make(&apex, krd, klen, DNSSEC_DS_SHA256, ds, sizeof(ds), &dslen) == 0);
	need(dns_rrlist_add_parts(&root, &apex, DNS_T_DS, DNS_C_IN, 3600, ds, dslen) == 0);
	sign(&root, ".", rk);

	struct dns_rr anchor;
	memset(&anchor, 0, sizeof(anchor));
	anchor.owner = rn;
	anchor.type = DNS_T_DNSKEY;
	anchor.rclass = DNS_C_IN;
	anchor.ttl = 3600;
	size_t alen;
	anchor.rdata = (uint8_t *)dnssec_key_rdata(rk, &alen);
	anchor.rdlen = (uint16_t)alen;
	int err;
	bv = ddns_blockval_new(&anchor, 1, fixed_clock, NULL, 0, &err);
	need(bv != NULL);

	struct simnet_params p;
	simnet_params_default(&p);
	p.ops = &kad16_ops;
	p.seed = 4242;
	p.join_gap_us = 50000;
	p.settle_us = 10ULL * 1000000;
	p.validate = ddns_blockval_validate;
	p.validate_arg = bv;
	net = simnet_new(&p);
	need(net && simnet_grow(net, 6) == 0);

	struct dns_blocklist zb, rb;
	dns_blocklist_init(&zb);
	dns_blocklist_init(&rb);
	need(dns_block_build_zone(&root, NULL, false, &rb) == 0);
	need(dns_block_build_zone(&z, &root, true, &zb) == 0);
	put_all(&rb, true);
	put_all(&zb, false);
	dns_blocklist_free(&zb);
	dns_blocklist_free(&rb);
	dns_rrlist_free(&z);
	dns_rrlist_free(&root);
	dnssec_key_free(zk);
	dnssec_key_free(rk);

	struct gw_params gp;
	gw_params_default(&gp);
	gp.overlays[0].name = "kad16";
	gp.overlays[0].dht = simnet_dht(net, 0);
	gp.noverlays = 1;
	gp.identity = "fuzz";
	gp.current = bv;
	gw = gw_new(NULL, &gp, &err);
	need(gw != NULL);
}

struct answer {
	bool done;
	size_t max_udp;
};

static void answered(void *arg, const uint8_t *pkt, size_t len)
{
	struct answer *a = arg;
	a->done = true;
	if (!pkt)
		return; /* dropped: garbage or a response */
	if (a->max_udp && len > a->max_udp)
		abort();
	struct dns_msg m;
	dns_msg_init(&m);
	if (dns_msg_parse(&m, pkt, len) != 0 || !(m.flags & DNS_F_QR))
		abort();
	dns_msg_clear(&m);
}

static bool answer_done(void *arg) { return ((struct answer *)arg)->done; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!gw)
		build();
	struct answer a = {false, (data[0] & 1) ? 0 : FG_UDP};
	need(gw_handle_packet(gw, data + 1, size - 1, a.max_udp, answered, &a) == 0);
	if (!a.done)
		need(sim_run_cond(simnet_sim(net), answer_done, &a, 20ULL * 1000000));
	return 0;
}
