/*
 * simdns.c - the storage experiment of the paper (cli/simdns.h).
 *
 * Records are real DDNS blocks (dns/block.h). Their owners are the names of
 * the list (an A RRset for each, AAAA and MX for a share), each signed by
 * its registered domain (signer name = zone, so quotas see real zones) or,
 * with verify on, by one root key that every node trusts. Query names are
 * drawn with Zipf popularity in the list's rank order, so the list's most
 * popular names are the workload's most popular too.
 *
 * All randomness comes from the simulator's world PRNG, so a seed replays a
 * run; wall-clock time is never read here.
 */
#include "cli/simdns.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns/block.h"
#include "dns/dhtval.h"
#include "dns/dnssec.h"
#include "dns/name.h"
#include "dns/rdata.h"

#include <ctype.h>
#include <uthash.h>
#include "overlay/rpc.h"

/* Virtual time 0 is this Unix time (2026-01-01T00:00:00Z): signatures
 * are dated against it, so runs do not depend on today's date. */
#define SIM_EPOCH 1767225600u
#define RECORD_TTL 3600u
#define WARMUP_GETS 5000u

struct record {
	uint32_t name;  /* index into the name list (or synthetic, see name_of) */
	uint16_t type;
	uint8_t key[DDNS_ID_LEN];
};

struct ctx {
	const struct simdns_params *p;
	struct simdns_result *r;
	struct simnet *net;
	struct wl_names gen;          /* generated names when none given */
	const struct wl_names *names;
	struct record *rec;
	size_t nrec;
	struct dnssec_key *root;      /* verify mode */
	struct dns_rrlist chain;      /* verify mode: the root DNSKEY RRset and its RRSIG */
	struct ddns_blockval *bv;
	struct conv *conv;
	struct ddns_rng *rng;
	char namebuf[300];
	/* trace replay: indices into p->trace of each workload's queries, and
	 * their keys */
	size_t *trace_ok, *trace_nx;
	size_t ntrace_ok, ntrace_nx;
	uint8_t (*trace_key)[DDNS_ID_LEN];
	size_t *trace_rec; /* record index of each trace query, or SIZE_MAX */
};

struct keyent {
	uint8_t key[DDNS_ID_LEN];
	size_t rec;
	UT_hash_handle hh;
};

/* Split the trace into the two workloads: a query whose key is a stored
 * record's is successful, any other unresolved. */
static int plan_trace(struct ctx *x)
{
	const struct wl_queries *t = x->p->trace;
	struct keyent *tab = NULL, *e, *tmp;
	int err = 0;
	x->trace_ok = calloc(t->n, sizeof(size_t));
	x->trace_nx = calloc(t->n, sizeof(size_t));
	x->trace_key = calloc(t->n, DDNS_ID_LEN);
	x->trace_rec = calloc(t->n, sizeof(size_t));
	struct keyent *ents = calloc(x->nrec ? x->nrec : 1, sizeof(*ents));
	if (!x->trace_ok || !x->trace_nx || !x->trace_key || !x->trace_rec || !ents) {
		free(ents);
		return -ENOMEM;
	}
	for (size_t i = 0; i < x->nrec; i++) {
		HASH_FIND(hh, tab, x->rec[i].key, DDNS_ID_LEN, e);
		if (e)
			continue;
		memcpy(ents[i].key, x->rec[i].key, DDNS_ID_LEN);
		ents[i].rec = i;
		HASH_ADD(hh, tab, key, DDNS_ID_LEN, &ents[i]);
	}
	for (size_t i = 0; i < t->n; i++) {
		char fq[310];
		struct dns_name dn;
		snprintf(fq, sizeof(fq), "%s.", t->q[i].name);
		if (dns_name_from_str(&dn, fq, NULL) != 0) {
			err = DDNS_EMALFORMED;
			break;
		}
		dns_block_key(&dn, t->q[i].type, x->trace_key[i]);
		HASH_FIND(hh, tab, x->trace_key[i], DDNS_ID_LEN, e);
		x->trace_rec[i] = e ? e->rec : SIZE_MAX;
		if (e)
			x->trace_ok[x->ntrace_ok++] = i;
		else
			x->trace_nx[x->ntrace_nx++] = i;
	}
	HASH_ITER(hh, tab, e, tmp) {
		HASH_DEL(tab, e);
	}
	free(ents);
	return err;
}

void simdns_params_default(struct simdns_params *p)
{
	memset(p, 0, sizeof(*p));
	simnet_params_default(&p->net);
	p->nodes = 1000;
	p->records = 120000;
	p->queries = 260000;
	p->unresolved = 220000;
	p->slashdot = 100000;
	p->zipf = 0.91;
	p->parallel = 64;
	p->net.dht.replicas = 1;
	p->conv_resolvers = 1;
}

/* Record names past the end of the list get a host label in front, so any
 * record count can be built from any list. */
static const char *name_of(struct ctx *x, uint32_t idx)
{
	size_t n = x->names->n;
	if (idx < n)
		return x->names->name[idx];
	snprintf(x->namebuf, sizeof(x->namebuf), "host%u.%s", (unsigned)(idx / n),
		 x->names->name[idx % n]);
	return x->namebuf;
}

static uint64_t now_unix(struct dht *d)
{
	struct tr *t = rpc_transport(ovl_rpc(dht_ovl(d)));
	return SIM_EPOCH + tr_now_us(t) / 1000000u;
}

static uint64_t clock_of_sim(void *arg)
{
	struct ctx *x = arg;
	return SIM_EPOCH + sim_now_us(simnet_sim(x->net)) / 1000000u;
}

void simdns_validate_nocrypto(void *arg, struct dht *d, const uint8_t key[DHT_KEY_LEN],
			      const uint8_t *blk, size_t len, dht_validate_done_cb done,
			      void *done_arg)
{
	(void)arg;
	struct dns_block b;
	struct dht_block_meta m;
	struct dnssec_rrsig sig;
	uint8_t want[DDNS_ID_LEN];
	int err;
	dns_block_init(&b);
	memset(&m, 0, sizeof(m));
	if ((err = dns_block_decode(&b, blk, len)) != 0)
		goto out;
	dns_block_key(dns_block_set_owner(&b.data), dns_block_set_type(&b.data), want);
	if (memcmp(want, key, DDNS_ID_LEN) != 0 || b.data.sigs.n == 0) {
		err = DDNS_EBOGUS;
		goto out;
	}
	const struct dns_rr *s = &b.data.sigs.rr[0];
	if ((err = dnssec_rrsig_parse(s->rdata, s->rdlen, &sig)) != 0)
		goto out;
	uint64_t now = now_unix(d);
	if ((err = dnssec_check_window(sig.inception, sig.expiration, (uint32_t)now)) != 0)
		goto out;
	memcpy(m.zone, sig.signer.data, sig.signer.len);
	m.zone_len = sig.signer.len;
	m.version = sig.inception;
	uint64_t life = b.data.rrs.rr[0].ttl;
	if ((uint64_t)sig.expiration - now < life)
		life = (uint64_t)sig.expiration - now;
	m.expire_us = tr_now_us(rpc_transport(ovl_rpc(dht_ovl(d)))) + life * 1000000u;
out:
	dns_block_clear(&b);
	done(done_arg, err, err ? NULL : &m);
}

static int name_from(struct dns_name *n, const char *s)
{
	return dns_name_from_str(n, s, NULL) == 0 ? 0 : DDNS_EMALFORMED;
}

static unsigned label_count(const struct dns_name *n)
{
	unsigned c = 0;
	for (size_t i = 0; i < n->len && n->data[i]; i += (size_t)n->data[i] + 1)
		c++;
	return c;
}

/* Encode the block of <name, type> into out and its key into key: signed
 * by root carrying chain when root is given, else with an empty RRSIG by
 * the name's zone. */
static int build_block(struct dnssec_key *root, const struct dns_rrlist *chain,
		       const char *name, uint16_t type, struct ddns_wbuf *out,
		       uint8_t key[DDNS_ID_LEN])
{
	char fq[300], zone[256], tld[256];
	struct dns_rrlist l;
	struct dns_block b;
	struct dns_rr rr;
	uint8_t rdata[300], h[DDNS_ID_LEN];
	int err;
	dns_rrlist_init(&l);
	dns_block_init(&b);
	memset(&rr, 0, sizeof(rr));
	snprintf(fq, sizeof(fq), "%s.", name);
	if ((err = name_from(&rr.owner, fq)) != 0)
		goto out;
	rr.type = type;
	rr.rclass = DNS_C_IN;
	rr.ttl = RECORD_TTL;
	rr.rdata = rdata;
	ddns_sha1(fq, strlen(fq), h);
	if (type == DNS_T_A) {
		memcpy(rdata, h, 4);
		rr.rdlen = 4;
	} else if (type == DNS_T_AAAA) {
		rdata[0] = 0x20;
		rdata[1] = 0x01;
		memcpy(rdata + 2, h, 14);
		rr.rdlen = 16;
	} else {
		struct dns_name mx;
		char mxs[310];
		snprintf(mxs, sizeof(mxs), "mail.%s", fq);
		if (name_from(&mx, mxs) != 0)
			snprintf(mxs, sizeof(mxs), "%s", fq), err = name_from(&mx, mxs);
		if (err)
			goto out;
		rdata[0] = 0;
		rdata[1] = 10;
		memcpy(rdata + 2, mx.data, mx.len);
		rr.rdlen = (uint16_t)(2 + mx.len);
	}
	if ((err = dns_rrlist_add(&l, &rr)) != 0)
		goto out;
	uint32_t inception = SIM_EPOCH - 3600, expiration = SIM_EPOCH + 30u * 86400u;
	if (root) {
		if ((err = dnssec_sign_rrset(root, l.rr, 1, inception, expiration, &l)) != 0)
			goto out;
	} else {
		/* A well-formed RRSIG by the name's zone with an empty signature. */
		struct dns_name signer;
		struct dns_rr sig;
		uint8_t sr[400];
		wl_zone_of(name, zone, tld);
		snprintf(fq, sizeof(fq), "%s.", zone);
		if ((err = name_from(&signer, fq)) != 0)
			goto out;
		struct ddns_wbuf w;
		ddns_wbuf_init_fixed(&w, sr, sizeof(sr));
		ddns_wbuf_u16(&w, type);
		ddns_wbuf_u8(&w, 13);
		ddns_wbuf_u8(&w, (uint8_t)label_count(&rr.owner));
		ddns_wbuf_u32(&w, RECORD_TTL);
		ddns_wbuf_u32(&w, expiration);
		ddns_wbuf_u32(&w, inception);
		ddns_wbuf_u16(&w, 0);
		ddns_wbuf_put(&w, signer.data, signer.len);
		uint8_t zero[64] = {0};
		ddns_wbuf_put(&w, zero, sizeof(zero));
		memset(&sig, 0, sizeof(sig));
		sig.owner = rr.owner;
		sig.type = DNS_T_RRSIG;
		sig.rclass = DNS_C_IN;
		sig.ttl = RECORD_TTL;
		sig.rdata = sr;
		sig.rdlen = (uint16_t)w.len;
		if (w.err || (err = dns_rrlist_add(&l, &sig)) != 0) {
			err = err ? err : DDNS_ETOOBIG;
			goto out;
		}
	}
	if ((err = dns_block_set_data(&b, &l, &rr.owner, type)) != 0)
		goto out;
	if (root) {
		/* Carry the signer's keys, as the paper suggests, so storing
		 * nodes need no key lookups. */
		struct dns_name rootname;
		dns_name_set_root(&rootname);
		if ((err = dns_block_add_chain(&b, chain, &rootname, DNS_T_DNSKEY)) != 0)
			goto out;
	}
	if ((err = dns_block_encode(&b, out)) != 0)
		goto out;
	dns_block_key(&rr.owner, type, key);
out:
	dns_block_clear(&b);
	dns_rrlist_free(&l);
	return err;
}

static int make_block(struct ctx *x, const char *name, uint16_t type, struct ddns_wbuf *out,
		      uint8_t key[DDNS_ID_LEN])
{
	return build_block(x->root, &x->chain, name, type, out, key);
}

int simdns_block(const char *name, uint16_t type, struct ddns_wbuf *out, uint8_t key[DDNS_ID_LEN])
{
	return build_block(NULL, NULL, name, type, out, key);
}

/* A DHT instance of node i: one of its virtual nodes, at random. */
static struct dht *dht_of(struct ctx *x, size_t i)
{
	unsigned v = simnet_vnodes(x->net);
	return simnet_dht_vnode(x->net, i, v > 1 ? (unsigned)ddns_rng_below(x->rng, v) : 0);
}

/* The statistics of node i, summed over its virtual nodes; false when the
 * node is down. */
static bool node_stats(struct ctx *x, size_t i, struct dht_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	bool any = false;
	for (unsigned v = 0; v < simnet_vnodes(x->net); v++) {
		struct dht *d = simnet_dht_vnode(x->net, i, v);
		if (!d)
			continue;
		struct dht_stats st;
		dht_get_stats(d, &st);
		sum->blocks_primary += st.blocks_primary;
		sum->blocks_replica += st.blocks_replica;
		sum->transfers_served += st.transfers_served;
		any = true;
	}
	return any;
}

/* ---- puts ---- */

struct putrun {
	struct ctx *x;
	size_t next, total, outstanding;
	size_t base; /* first record index of this batch */
	int err;
};

static void put_next(struct putrun *pr);

static void put_done(void *arg, const struct dht_put_result *res)
{
	struct putrun *pr = arg;
	if (res->status == 0)
		pr->x->r->puts_ok++;
	else
		pr->x->r->puts_failed++;
	pr->outstanding--;
	put_next(pr);
}

static void put_next(struct putrun *pr)
{
	struct ctx *x = pr->x;
	while (pr->next < pr->total && pr->outstanding < x->p->parallel && !pr->err) {
		struct record *rc = &x->rec[pr->base + pr->next++];
		struct ddns_wbuf w;
		ddns_wbuf_init(&w, DHT_MAX_BLOCK);
		int err = make_block(x, name_of(x, rc->name), rc->type, &w, rc->key);
		if (!err) {
			struct dht *d = dht_of(x, simnet_random_live(x->net));
			err = dht_put(d, rc->key, w.p, w.len, put_done, pr);
		}
		ddns_wbuf_free(&w);
		if (err) {
			pr->err = err;
			return;
		}
		pr->outstanding++;
	}
}

static bool put_finished(void *arg)
{
	struct putrun *pr = arg;
	return pr->outstanding == 0 && (pr->next == pr->total || pr->err);
}

static int run_puts(struct ctx *x, size_t base, size_t count)
{
	struct putrun pr = {.x = x, .total = count, .base = base};
	put_next(&pr);
	while (!put_finished(&pr))
		if (!sim_run_cond(simnet_sim(x->net), put_finished, &pr, 3600ULL * 1000000ULL))
			return DDNS_ETIMEDOUT;
	return pr.err;
}

/* ---- gets ---- */

enum wk { WK_OK, WK_NX, WK_SLASH };

struct getrun {
	struct ctx *x;
	struct simdns_workload *w;
	enum wk kind;
	struct wl_zipf *zipf;
	size_t next, total, outstanding;
	int err;
};

struct getctx {
	struct getrun *gr;
	uint64_t started;
	size_t seq;
};

static double paper_latency(struct ctx *x, unsigned hops)
{
	double us = 0;
	if (!x->p->paper)
		return 0;
	for (unsigned i = 0; i < hops; i++)
		us += wl_rttdist_draw(x->p->paper, x->rng);
	return us;
}

static void get_next(struct getrun *gr);

static void get_done(void *arg, const struct dht_get_result *res)
{
	struct getctx *c = arg;
	struct getrun *gr = c->gr;
	struct ctx *x = gr->x;
	struct simdns_workload *w = gr->w;
	bool local = res->status == 0 &&
		     (res->source == DHT_SRC_LOCAL_STORE || res->source == DHT_SRC_LOCAL_CACHE);
	if (res->status == 0)
		w->answered++;
	if (local)
		w->local++;
	if (c->seq >= WARMUP_GETS) {
		w->after_warmup++;
		if (local)
			w->local_after_warmup++;
	}
	if ((unsigned)res->source < 5)
		w->by_source[res->source]++;
	if (ddns_samples_add(&w->rpcs, res->rpcs) || ddns_samples_add(&w->hops, res->hops) ||
	    ddns_samples_add(&w->latency_us, (double)(sim_now_us(simnet_sim(x->net)) - c->started)) ||
	    ddns_samples_add(&w->latency_paper_us, paper_latency(x, res->hops)))
		gr->err = -ENOMEM;
	free(c);
	gr->outstanding--;
	get_next(gr);
}

static void get_next(struct getrun *gr)
{
	struct ctx *x = gr->x;
	struct simdns_workload *w = gr->w;
	while (gr->next < gr->total && gr->outstanding < x->p->parallel && !gr->err) {
		size_t origin = simnet_random_live(x->net);
		uint8_t key[DDNS_ID_LEN];
		const char *name;
		bool exists = true;
		char nx[320];
		if (x->p->trace && gr->kind != WK_SLASH) {
			size_t ti = gr->kind == WK_OK ? x->trace_ok[gr->next] : x->trace_nx[gr->next];
			memcpy(key, x->trace_key[ti], DDNS_ID_LEN);
			name = x->p->trace->q[ti].name;
			exists = gr->kind == WK_OK;
		} else if (gr->kind == WK_OK) {
			const struct record *rc = &x->rec[wl_zipf_draw(gr->zipf, x->rng)];
			memcpy(key, rc->key, DDNS_ID_LEN);
			name = name_of(x, rc->name);
		} else if (gr->kind == WK_NX) {
			size_t k = wl_zipf_draw(gr->zipf, x->rng);
			snprintf(nx, sizeof(nx), "nx%zu-%s", k / x->names->n, x->names->name[k % x->names->n]);
			struct dns_name dn;
			char fq[330];
			snprintf(fq, sizeof(fq), "%s.", nx);
			if (name_from(&dn, fq) != 0) {
				gr->err = DDNS_EMALFORMED;
				return;
			}
			dns_block_key(&dn, DNS_T_A, key);
			name = nx;
			exists = false;
		} else {
			memcpy(key, x->rec[x->nrec - 1].key, DDNS_ID_LEN);
			name = NULL;
		}
		if (name) {
			uint64_t lat = 0;
			double now_s = (double)sim_now_us(simnet_sim(x->net)) / 1e6;
			unsigned rpcs = conv_query(x->conv, origin, name, exists, now_s, &lat);
			if (ddns_samples_add(&w->conv_rpcs, rpcs) ||
			    ddns_samples_add(&w->conv_latency_us, (double)lat) ||
			    ddns_samples_add(&w->conv_latency_paper_us, paper_latency(x, rpcs))) {
				gr->err = -ENOMEM;
				return;
			}
		}
		struct getctx *c = malloc(sizeof(*c));
		if (!c) {
			gr->err = -ENOMEM;
			return;
		}
		c->gr = gr;
		c->started = sim_now_us(simnet_sim(x->net));
		c->seq = gr->next++;
		w->queries++;
		if (dht_get(dht_of(x, origin), key, get_done, c) != 0) {
			free(c);
			gr->err = -ENOMEM;
			return;
		}
		gr->outstanding++;
	}
}

static bool get_finished(void *arg)
{
	struct getrun *gr = arg;
	return gr->outstanding == 0 && (gr->next == gr->total || gr->err);
}

static int run_gets(struct ctx *x, struct simdns_workload *w, enum wk kind, size_t total,
		    struct wl_zipf *zipf)
{
	size_t n = simnet_size(x->net);
	double *before = calloc(n, sizeof(double));
	if (!before)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		before[i] = (double)simnet_requests_served(x->net, i);
	struct getrun gr = {.x = x, .w = w, .kind = kind, .zipf = zipf, .total = total};
	int err = 0;
	get_next(&gr);
	while (!get_finished(&gr)) {
		if (!sim_run_cond(simnet_sim(x->net), get_finished, &gr, 3600ULL * 1000000ULL)) {
			err = DDNS_ETIMEDOUT;
			break;
		}
	}
	if (!err)
		err = gr.err;
	w->served_per_node = before;
	for (size_t i = 0; i < n; i++)
		before[i] = (double)simnet_requests_served(x->net, i) - before[i];
	return err;
}

static void workload_init(struct simdns_workload *w)
{
	memset(w, 0, sizeof(*w));
	ddns_samples_init(&w->rpcs);
	ddns_samples_init(&w->hops);
	ddns_samples_init(&w->latency_us);
	ddns_samples_init(&w->latency_paper_us);
	ddns_samples_init(&w->conv_rpcs);
	ddns_samples_init(&w->conv_latency_us);
	ddns_samples_init(&w->conv_latency_paper_us);
}

static void workload_free(struct simdns_workload *w)
{
	ddns_samples_free(&w->rpcs);
	ddns_samples_free(&w->hops);
	ddns_samples_free(&w->latency_us);
	ddns_samples_free(&w->latency_paper_us);
	ddns_samples_free(&w->conv_rpcs);
	ddns_samples_free(&w->conv_latency_us);
	ddns_samples_free(&w->conv_latency_paper_us);
	free(w->served_per_node);
	memset(w, 0, sizeof(*w));
}

void simdns_result_free(struct simdns_result *r)
{
	workload_free(&r->successful);
	workload_free(&r->unresolved);
	workload_free(&r->slashdot);
	free(r->blocks_per_node);
	free(r->transfers_slashdot);
	memset(r, 0, sizeof(*r));
}

static void progress(struct ctx *x, const char *what)
{
	if (x->p->progress)
		fprintf(x->p->progress, "[sim %8.1f s] %s\n",
			(double)sim_now_us(simnet_sim(x->net)) / 1e6, what);
}

/* Build the record list: an A RRset per name; AAAA for ~15%, MX for ~5%. */
static int plan_records(struct ctx *x, size_t want)
{
	x->rec = calloc(want + 1, sizeof(*x->rec));
	if (!x->rec)
		return -ENOMEM;
	size_t n = 0;
	for (uint32_t i = 0; n < want; i++) {
		x->rec[n].name = i;
		x->rec[n++].type = DNS_T_A;
		double u = ddns_rng_double(x->rng);
		if (n < want && u < 0.15) {
			x->rec[n].name = i;
			x->rec[n++].type = DNS_T_AAAA;
		}
		if (n < want && u < 0.05) {
			x->rec[n].name = i;
			x->rec[n++].type = DNS_T_MX;
		}
	}
	x->nrec = n;
	return 0;
}

int simdns_run(const struct simdns_params *p, struct simdns_result *r)
{
	struct ctx x = {.p = p, .r = r};
	dns_rrlist_init(&x.chain);
	struct wl_zipf zok = {0}, znx = {0};
	struct simnet_params np = p->net;
	char msg[200];
	int err = 0;
	memset(r, 0, sizeof(*r));
	workload_init(&r->successful);
	workload_init(&r->unresolved);
	workload_init(&r->slashdot);
	r->verified = p->verify;
	r->replicas = np.dht.replicas;
	if (p->names) {
		x.names = p->names;
	} else {
		if ((err = wl_names_generate(p->records ? p->records : 1000, p->net.seed, &x.gen)) != 0)
			goto out;
		x.names = &x.gen;
	}
	if (p->verify) {
		struct dns_name root;
		dns_name_set_root(&root);
		if ((err = dnssec_key_generate(&root, 13, 257, 0, &x.root)) != 0)
			goto out;
		struct dns_rr anchor;
		memset(&anchor, 0, sizeof(anchor));
		anchor.owner = root;
		anchor.type = DNS_T_DNSKEY;
		anchor.rclass = DNS_C_IN;
		anchor.ttl = 86400;
		size_t klen;
		anchor.rdata = (uint8_t *)dnssec_key_rdata(x.root, &klen);
		anchor.rdlen = (uint16_t)klen;
		if ((err = dns_rrlist_add(&x.chain, &anchor)) != 0 ||
		    (err = dnssec_sign_rrset(x.root, x.chain.rr, 1, SIM_EPOCH - 3600,
					     SIM_EPOCH + 30u * 86400u, &x.chain)) != 0)
			goto out;
		x.bv = ddns_blockval_new(&anchor, 1, clock_of_sim, &x, 0, &err);
		if (!x.bv)
			goto out;
		np.validate = ddns_blockval_validate;
		np.validate_arg = x.bv;
	} else {
		np.validate = simdns_validate_nocrypto;
		np.validate_arg = NULL;
	}
	x.net = simnet_new(&np);
	if (!x.net) {
		err = -ENOMEM;
		goto out;
	}
	x.rng = sim_rng(simnet_sim(x.net));
	struct conv_params cp;
	conv_params_default(&cp);
	cp.resolvers = p->conv_resolvers ? p->conv_resolvers : 1;
	cp.latency = np.latency;
	cp.seed = np.seed;
	cp.answer_ttl_s = RECORD_TTL;
	if (!(x.conv = conv_new(&cp))) {
		err = -ENOMEM;
		goto out;
	}

	snprintf(msg, sizeof(msg), "building %zu %s nodes", p->nodes, ovl_ops_name(np.ops));
	progress(&x, msg);
	if ((err = simnet_grow(x.net, p->nodes)) != 0)
		goto out;
	r->nodes = simnet_size(x.net);

	if ((err = plan_records(&x, p->records)) != 0)
		goto out;
	r->records = x.nrec;
	snprintf(msg, sizeof(msg), "putting %zu records from random nodes", x.nrec);
	progress(&x, msg);
	if (x.nrec && (err = run_puts(&x, 0, x.nrec)) != 0)
		goto out;
	if (p->fail > 0) {
		r->crashed = simnet_crash_fraction(x.net, p->fail);
		snprintf(msg, sizeof(msg), "crashed %zu nodes; maintenance runs", r->crashed);
		progress(&x, msg);
		simnet_run(x.net, 4 * (np.dht.maint_us ? np.dht.maint_us : 30000000ULL));
	}
	r->live = simnet_live(x.net);
	r->blocks_per_node = calloc(r->nodes, sizeof(double));
	if (!r->blocks_per_node) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < r->nodes; i++) {
		struct dht_stats st;
		if (node_stats(&x, i, &st))
			r->blocks_per_node[i] = (double)(st.blocks_primary + st.blocks_replica);
	}

	if (p->trace) {
		if ((err = plan_trace(&x)) != 0)
			goto out;
		snprintf(msg, sizeof(msg), "trace: %zu queries of stored records, %zu of names never stored",
			 x.ntrace_ok, x.ntrace_nx);
		progress(&x, msg);
		if ((x.ntrace_ok && (err = run_gets(&x, &r->successful, WK_OK, x.ntrace_ok, NULL)) != 0) ||
		    (x.ntrace_nx && (err = run_gets(&x, &r->unresolved, WK_NX, x.ntrace_nx, NULL)) != 0))
			goto out;
	}
	if (!p->trace && p->queries && x.nrec) {
		snprintf(msg, sizeof(msg), "successful workload: %zu gets, zipf %.2f", p->queries, p->zipf);
		progress(&x, msg);
		if ((err = wl_zipf_init(&zok, x.nrec, p->zipf)) != 0 ||
		    (err = run_gets(&x, &r->successful, WK_OK, p->queries, &zok)) != 0)
			goto out;
	}
	if (!p->trace && p->unresolved) {
		snprintf(msg, sizeof(msg), "unresolved workload: %zu gets of names never inserted", p->unresolved);
		progress(&x, msg);
		if ((err = wl_zipf_init(&znx, x.names->n, p->zipf)) != 0 ||
		    (err = run_gets(&x, &r->unresolved, WK_NX, p->unresolved, &znx)) != 0)
			goto out;
	}
	if (p->slashdot) {
		snprintf(msg, sizeof(msg), "slashdot: one record fetched %zu times", p->slashdot);
		progress(&x, msg);
		/* One extra record, inserted now and then fetched over and over. */
		struct record *rc = &x.rec[x.nrec];
		rc->name = (uint32_t)(x.names->n * 1000 + 7);
		rc->type = DNS_T_A;
		x.nrec++;
		size_t ok = r->puts_ok, failed = r->puts_failed;
		if ((err = run_puts(&x, x.nrec - 1, 1)) != 0)
			goto out;
		if (r->puts_ok != ok + 1) {
			err = r->puts_failed > failed ? DDNS_EREFUSED : DDNS_ETIMEDOUT;
			goto out;
		}
		/* The slashdot record is not one of the workload's records. */
		r->puts_ok = ok;
		size_t n = simnet_size(x.net);
		r->transfers_slashdot = calloc(n, sizeof(double));
		if (!r->transfers_slashdot) {
			err = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			struct dht_stats st;
			if (node_stats(&x, i, &st))
				r->transfers_slashdot[i] = -(double)st.transfers_served;
		}
		if ((err = run_gets(&x, &r->slashdot, WK_SLASH, p->slashdot, NULL)) != 0)
			goto out;
		for (size_t i = 0; i < n; i++) {
			struct dht_stats st;
			if (node_stats(&x, i, &st))
				r->transfers_slashdot[i] += (double)st.transfers_served;
			else
				r->transfers_slashdot[i] = 0;
		}
	}
	/* Let requests still in flight (path-cache copies after the last get)
	 * arrive before counting, so sent and served describe the same RPCs. */
	simnet_run(x.net, 10000000ULL);
	for (size_t i = 0; i < r->nodes; i++) {
		r->rpcs_sent += simnet_requests_sent(x.net, i);
		r->rpcs_served += simnet_requests_served(x.net, i);
	}
	progress(&x, "done");
out:
	r->sim_seconds = x.net ? (double)sim_now_us(simnet_sim(x.net)) / 1e6 : 0;
	simnet_free(x.net);
	ddns_blockval_free(x.bv);
	dnssec_key_free(x.root);
	dns_rrlist_free(&x.chain);
	conv_free(x.conv);
	wl_zipf_free(&zok);
	wl_zipf_free(&znx);
	wl_names_free(&x.gen);
	free(x.rec);
	free(x.trace_ok);
	free(x.trace_nx);
	free(x.trace_key);
	free(x.trace_rec);
	return err;
}
