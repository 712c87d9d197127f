/*
 * test_kad16.c - the kad16 overlay (overlay/kad16.c) on the simulator.
 *
 *  - tiny exact scenarios on 4 nodes whose routing tables are complete, so
 *    every figure can be derived from the ids: with S the nodes closer to
 *    the key than the origin, a lookup sends min(|S|, alpha) requests in one
 *    round, the closest answers first (constant latency, FIFO at equal
 *    times) and ends the lookup: rpcs = min(|S|, alpha), hops = [S != {}],
 *    path = [owner], latency 20 ms; with the owner crashed, one request
 *    times out after 4 transmissions (3 retransmits) and the runner-up owns;
 *    with a value stored at the owner the lookup stops there; a local value
 *    costs 0 RPCs;
 *  - 100 nodes: every lookup correct, mean hops <= log16(100) + 1, and the
 *    local views (responsible, replica_set, change hook) agree with the
 *    oracle;
 *  - a rogue node that answers with references to nodes that do not exist
 *    (ids chosen close to the target), and hand-built datagrams claiming an
 *    honest node's id: no spoofed or fake id ever enters a routing table,
 *    and lookups stay correct;
 *  - ovl_free with lookups in flight cancels them (DDNS_ECANCELLED).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/simnet.h"
#include "common/buf.h"
#include "common/rng.h"
#include "overlay/id.h"
#include "overlay/overlay_impl.h" /* node references on the wire, for the rogue */
#include "overlay/rpc.h"

struct one {
	bool done;
	struct ovl_lookup_result res;
	uint8_t val[256];
};

static void one_cb(void *arg, const struct ovl_lookup_result *r)
{
	struct one *o = arg;
	ck_assert(!o->done);
	o->done = true;
	o->res = *r;
	if (r->value_found) {
		ck_assert_uint_le(r->value_len, sizeof(o->val));
		memcpy(o->val, r->value, r->value_len);
	}
	o->res.value = NULL;
}

static bool one_done(void *arg) { return ((struct one *)arg)->done; }

static void run_one(struct simnet *n, size_t from, const uint8_t key[DDNS_ID_LEN],
		    const struct ovl_lookup_opts *opts, struct one *out)
{
	memset(out, 0, sizeof(*out));
	ck_assert_int_eq(ovl_lookup(simnet_ovl(n, from), key, opts, one_cb, out), 0);
	ck_assert(!out->done); /* never inside ovl_lookup */
	ck_assert(sim_run_cond(simnet_sim(n), one_done, out, 600ULL * 1000000));
}

static void id_of(struct simnet *n, size_t i, uint8_t out[DDNS_ID_LEN])
{
	ovl_id_of(tr_self(simnet_tr(n, i)), 0, out);
}

/* Live nodes ordered by XOR distance to key (brute force). */
static size_t by_distance(struct simnet *n, const uint8_t key[DDNS_ID_LEN], size_t *out)
{
	size_t m = 0;
	for (size_t i = 0; i < simnet_size(n); i++) {
		if (!simnet_alive(n, i))
			continue;
		uint8_t id[DDNS_ID_LEN];
		id_of(n, i, id);
		size_t pos = m;
		while (pos > 0) {
			uint8_t other[DDNS_ID_LEN];
			id_of(n, out[pos - 1], other);
			if (!ovl_id_xor_closer(key, id, other))
				break;
			out[pos] = out[pos - 1];
			pos--;
		}
		out[pos] = i;
		m++;
	}
	return m;
}

static void random_key(struct ddns_rng *g, uint8_t key[DDNS_ID_LEN])
{
	for (size_t i = 0; i < DDNS_ID_LEN; i++)
		key[i] = (uint8_t)ddns_rng_next(g);
}

static struct simnet *tiny_net(unsigned alpha, uint64_t seed)
{
	struct simnet_params p;
	simnet_params_default(&p);
	p.ops = &kad16_ops;
	p.seed = seed;
	p.ovl.alpha = alpha;
	p.ovl.refresh_us = 3600ULL * 1000000; /* no maintenance during the exact checks */
	p.settle_us = 1000000;
	struct simnet *n = simnet_new(&p);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(simnet_grow(n, 4), 0);
	/* Four nodes: every table is complete after the joins. */
	for (size_t i = 0; i < 4; i++) {
		struct ovl_node nodes[8];
		ck_assert_uint_eq(ovl_routing_nodes(simnet_ovl(n, i), nodes, 8), 3);
	}
	return n;
}

/* Check one lookup from `from` against the derivation in the header. */
static void check_exact(struct simnet *n, size_t from, const uint8_t key[DDNS_ID_LEN],
			unsigned alpha)
{
	size_t order[8];
	size_t m = by_distance(n, key, order);
	ck_assert_uint_eq(m, 4);
	size_t s = 0; /* |S| */
	while (order[s] != from)
		s++;
	struct one o;
	uint64_t t0 = sim_now_us(simnet_sim(n));
	run_one(n, from, key, NULL, &o);
	uint64_t took = sim_now_us(simnet_sim(n)) - t0;
	uint8_t want[DDNS_ID_LEN];
	id_of(n, order[0], want);
	ck_assert_int_eq(o.res.status, 0);
	ck_assert(ovl_id_eq(o.res.owner.id, want));
	ck_assert_uint_eq(o.res.rpcs, s < alpha ? s : alpha);
	ck_assert_uint_eq(o.res.hops, s > 0);
	ck_assert_uint_eq(o.res.timeouts, 0);
	ck_assert_uint_eq(o.res.retransmits, 0);
	ck_assert_uint_eq(o.res.path_len, s > 0);
	if (s)
		ck_assert(ovl_id_eq(o.res.path[0].id, want));
	ck_assert_uint_eq(took, s > 0 ? 20000 : 0);
	/* Replica set: all four, closest first (r = 6 > 4). */
	ck_assert_uint_eq(o.res.nreplicas, 4);
	for (size_t i = 0; i < 4; i++) {
		uint8_t id[DDNS_ID_LEN];
		id_of(n, order[i], id);
		ck_assert(ovl_id_eq(o.res.replicas[i].id, id));
	}
	ck_assert(ovl_responsible(simnet_ovl(n, from), key) == (s == 0));
}

START_TEST(tiny_exact)
{
	unsigned alpha = (unsigned)_i ? 1 : 3;
	struct simnet *n = tiny_net(alpha, 77);
	struct ddns_rng g;
	ddns_rng_seed(&g, 5);
	unsigned seen[4] = {0};
	for (size_t from = 0; from < 4; from++) {
		/* Each node's own id, and random keys. */
		for (size_t j = 0; j < 4; j++) {
			uint8_t key[DDNS_ID_LEN];
			id_of(n, j, key);
			check_exact(n, from, key, alpha);
		}
		for (int j = 0; j < 25; j++) {
			uint8_t key[DDNS_ID_LEN];
			random_key(&g, key);
			size_t order[8];
			by_distance(n, key, order);
			size_t s = 0;
			while (order[s] != from)
				s++;
			seen[s]++;
			check_exact(n, from, key, alpha);
		}
	}
	/* The keys exercised every case |S| = 0..3. */
	for (int s = 0; s < 4; s++)
		ck_assert_uint_gt(seen[s], 0);
	simnet_free(n);
}
END_TEST

START_TEST(tiny_crash_exact)
{
	struct simnet *n = tiny_net(3, 78);
	struct ddns_rng g;
	ddns_rng_seed(&g, 6);
	/* From the node farthest from the key, |S| = 3: the three others are
	 * all closer, and the closest of them has crashed. */
	uint8_t key[DDNS_ID_LEN];
	size_t order[8];
	random_key(&g, key);
	by_distance(n, key, order);
	size_t from = order[3];
	size_t owner = order[0];
	simnet_crash(n, owner);
	struct one o;
	uint64_t t0 = sim_now_us(simnet_sim(n));
	run_one(n, from, key, NULL, &o);
	uint64_t took = sim_now_us(simnet_sim(n)) - t0;
	uint8_t want[DDNS_ID_LEN], second[DDNS_ID_LEN];
	id_of(n, order[1], want);
	id_of(n, order[2], second);
	ck_assert_int_eq(o.res.status, 0);
	ck_assert(ovl_id_eq(o.res.owner.id, want));
	ck_assert_uint_eq(o.res.rpcs, 3);
	ck_assert_uint_eq(o.res.timeouts, 1);
	ck_assert_uint_eq(o.res.retransmits, 3); /* RPC default: 3 retries */
	ck_assert_uint_eq(o.res.hops, 1);
	ck_assert_uint_eq(o.res.path_len, 2);
	ck_assert(ovl_id_eq(o.res.path[0].id, want));
	ck_assert(ovl_id_eq(o.res.path[1].id, second));
	/* Deadline: 250 + 500 + 1000 + 2000 ms after the first transmission. */
	ck_assert_uint_eq(took, 3750000);
	ck_assert_uint_eq(o.res.nreplicas, 3);
	simnet_free(n);
}
END_TEST

static uint8_t stored_key[DDNS_ID_LEN];

static bool value_hook(void *arg, const uint8_t key[DDNS_ID_LEN], const uint8_t *probe,
		       size_t probe_len, const uint8_t **val, size_t *len)
{
	static const uint8_t v[] = "the value";
	size_t *asked = arg;
	(*asked)++;
	ck_assert_uint_eq(probe_len, 5);
	ck_assert_mem_eq(probe, "probe", 5);
	if (!ovl_id_eq(key, stored_key))
		return false;
	*val = v;
	*len = sizeof(v);
	return true;
}

START_TEST(tiny_value)
{
	struct simnet *n = tiny_net(3, 79);
	struct ddns_rng g;
	ddns_rng_seed(&g, 7);
	random_key(&g, stored_key);
	size_t order[8];
	by_distance(n, stored_key, order);
	size_t holder = order[0];
	size_t asked[4] = {0};
	for (size_t i = 0; i < 4; i++)
		ovl_set_value_hook(simnet_ovl(n, i), value_hook, &asked[i]);
	struct ovl_lookup_opts opts = {.probe = (const uint8_t *)"probe", .probe_len = 5,
				       .want_value = true};
	/* Only the owner holds it: */
	for (size_t i = 0; i < 4; i++)
		if (i != holder)
			ovl_set_value_hook(simnet_ovl(n, i), NULL, NULL);
	for (size_t r = 1; r < 4; r++) {
		size_t from = order[r];
		struct one o;
		run_one(n, from, stored_key, &opts, &o);
		ck_assert_int_eq(o.res.status, 0);
		ck_assert(o.res.value_found);
		ck_assert_uint_eq(o.res.value_len, 10);
		ck_assert_mem_eq(o.val, "the value", 10);
		uint8_t hid[DDNS_ID_LEN];
		id_of(n, holder, hid);
		ck_assert(ovl_id_eq(o.res.value_from.id, hid));
		ck_assert_uint_eq(o.res.rpcs, r < 3 ? r : 3);
		ck_assert_uint_eq(o.res.hops, 1);
	}
	ck_assert_uint_eq(asked[holder], 3);
	/* Locally: 0 RPCs, 0 hops. */
	struct one o;
	run_one(n, holder, stored_key, &opts, &o);
	ck_assert(o.res.value_found);
	ck_assert_uint_eq(o.res.rpcs, 0);
	ck_assert_uint_eq(o.res.hops, 0);
	ck_assert_mem_eq(o.val, "the value", 10);
	simnet_free(n);
}
END_TEST

static void count_cb(void *arg, const struct ovl_lookup_result *r)
{
	int *c = arg;
	ck_assert_int_eq(r->status, DDNS_ECANCELLED);
	(*c)++;
}

START_TEST(free_cancels)
{
	struct simnet *n = tiny_net(3, 80);
	struct ddns_rng g;
	ddns_rng_seed(&g, 8);
	int cancelled = 0;
	struct ovl *o = simnet_ovl(n, 0);
	for (int i = 0; i < 10; i++) {
		uint8_t key[DDNS_ID_LEN];
		random_key(&g, key);
		ck_assert_int_eq(ovl_lookup(o, key, NULL, count_cb, &cancelled), 0);
	}
	simnet_crash(n, 0); /* frees the instance with the lookups pending */
	ck_assert_int_eq(cancelled, 10);
	simnet_run(n, 10000000);
	ck_assert_int_eq(cancelled, 10);
	simnet_free(n);
}
END_TEST

static void change_cb(void *arg, struct ovl *o)
{
	(void)o;
	(*(int *)arg)++;
}

START_TEST(hundred_nodes)
{
	struct simnet_params p;
	simnet_params_default(&p);
	p.ops = &kad16_ops;
	p.seed = 100;
	struct simnet *n = simnet_new(&p);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(simnet_grow(n, 100), 0);
	struct simnet_report r;
	simnet_report_init(&r);
	ck_assert_int_eq(simnet_lookups(n, 2000, 10, &r), 0);
	struct ddns_dist rpcs, hops;
	ddns_samples_dist(&r.rpcs, &rpcs);
	ddns_samples_dist(&r.hops, &hops);
	printf("kad16 N=100: %zu lookups, %zu correct; rpcs mean %.2f; hops mean %.2f max %.0f\n",
	       r.lookups, r.correct, rpcs.mean, hops.mean, hops.max);
	ck_assert_uint_eq(r.correct, 2000);
	ck_assert(hops.mean <= log(100.0) / log(16.0) + 1.0);
	simnet_report_free(&r);

	/* Local views agree with the oracle: responsibility exactly; the
	 * owner's replica set in nearly every case (a k-bucket keeps only k
	 * nodes of a sibling subtree, so a replica drawn from a crowded one
	 * can be missing until a lookup finds it). */
	simnet_run(n, 80000000); /* a refresh period after the last join */
	struct ddns_rng g;
	ddns_rng_seed(&g, 9);
	size_t exact_sets = 0;
	for (int j = 0; j < 200; j++) {
		uint8_t key[DDNS_ID_LEN];
		random_key(&g, key);
		size_t order[128];
		by_distance(n, key, order);
		ck_assert_uint_eq(order[0], simnet_oracle(n, key));
		for (size_t i = 0; i < 100; i++)
			ck_assert(ovl_responsible(simnet_ovl(n, i), key) == (i == order[0]));
		struct ovl_node rs[6];
		ck_assert_uint_eq(ovl_replica_set(simnet_ovl(n, order[0]), key, rs, 6), 6);
		bool same = true;
		for (size_t i = 0; i < 6; i++) {
			uint8_t id[DDNS_ID_LEN];
			id_of(n, order[i], id);
			same = same && ovl_id_eq(rs[i].id, id);
		}
		exact_sets += same;
	}
	printf("kad16 N=100: owner's replica set exact for %zu/200 keys\n", exact_sets);
	ck_assert_uint_ge(exact_sets, 194);
	/* The change hook fires when a node joins next to an existing one. */
	int changes[100] = {0};
	for (size_t i = 0; i < 100; i++)
		ovl_set_change_hook(simnet_ovl(n, i), change_cb, &changes[i]);
	ck_assert_int_eq(simnet_add(n), 0);
	simnet_run(n, 5000000);
	uint8_t nid[DDNS_ID_LEN];
	id_of(n, 100, nid);
	size_t order[128];
	by_distance(n, nid, order); /* order[0] is the newcomer itself */
	ck_assert_uint_eq(order[0], 100);
	int notified = 0;
	for (size_t i = 1; i <= 6; i++)
		notified += changes[order[i]] > 0;
	ck_assert_int_ge(notified, 5);
	struct ovl_stats st;
	ovl_get_stats(simnet_ovl(n, 0), &st);
	ck_assert_uint_gt(st.routing_size, 20);
	ck_assert_uint_gt(st.requests_served, 0);
	simnet_free(n);
}
END_TEST

/* ---- a rogue node ---- */

struct rogue {
	struct simnet *n;
	struct tr *t;
	struct rpc *rpc;
	uint32_t next_fake;
	unsigned answered;
	struct tr_addr fakes[4096];
	size_t nfakes;
};

/* A reference to a node that does not exist, whose (honestly computed) id
 * shares at least two digits with target so lookups want to ask it. */
static void fake_near(struct rogue *g, const uint8_t target[DDNS_ID_LEN], struct ovl_node *out)
{
	for (;;) {
		uint32_t f = g->next_fake++;
		struct tr_addr a =
			tr_addr_v4((10u << 24) | (200u << 16) | (f & 0xffff), (uint16_t)(5000 + (f >> 16)));
		ovl_node_make(out, &a, 0);
		if (ovl_id_common_digits(out->id, target) >= 2) {
			if (g->nfakes < sizeof(g->fakes) / sizeof(g->fakes[0]))
				g->fakes[g->nfakes++] = a;
			return;
		}
	}
}

static void rogue_request(void *arg, const struct rpc_msg *req)
{
	struct rogue *g = arg;
	if (req->type == 1) { /* PING */
		ck_assert_int_eq(rpc_reply(g->rpc, req, 2, NULL, 0), 0);
		return;
	}
	if ((req->type != 3 && req->type != 5) || req->len < DDNS_ID_LEN)
		return;
	uint8_t buf[512];
	struct ddns_wbuf w;
	ddns_wbuf_init_fixed(&w, buf, sizeof(buf));
	ddns_wbuf_u8(&w, 8);
	for (int i = 0; i < 8; i++) {
		struct ovl_node f;
		if (i < 4) {
			fake_near(g, req->payload, &f);
		} else {
			/* a real node's address with a vnode it does not run */
			ovl_node_make(&f, tr_self(simnet_tr(g->n, (size_t)i * 7)), (uint8_t)(3 + i));
		}
		ck_assert(ovl_node_write(&w, &f));
	}
	ck_assert_int_eq(rpc_reply(g->rpc, req, 4, buf, w.len), 0);
	g->answered++;
}

static void ignore_reply(void *arg, int status, const struct rpc_msg *reply)
{
	(void)arg;
	(void)status;
	(void)reply;
}

/* A FIND_NODE datagram from the rogue's endpoint claiming victim's id. */
static void send_spoofed(struct rogue *g, const struct tr_addr *to, const uint8_t claimed[DDNS_ID_LEN],
			 const struct tr_addr *claimed_addr)
{
	uint8_t d[64 + 21];
	memset(d, 0, sizeof(d));
	d[0] = 0xDD;
	d[1] = 0x4E;
	d[2] = 1;
	d[4] = RPC_OVL_KAD16;
	d[5] = RPC_SVC_OVERLAY;
	d[6] = 3;
	d[9] = 4;
	d[10] = (uint8_t)(claimed_addr->port >> 8);
	d[11] = (uint8_t)claimed_addr->port;
	memcpy(d + 12, claimed_addr->ip, 4);
	for (int i = 0; i < 8; i++)
		d[28 + i] = (uint8_t)(0x5a + i);
	memcpy(d + 36, claimed, DDNS_ID_LEN);
	d[59] = 1; /* frag_count */
	d[63] = 21; /* total */
	memcpy(d + 64, claimed, DDNS_ID_LEN);
	d[84] = 8;
	ck_assert_int_eq(tr_send(g->t, to, d, sizeof(d)), 0);
}

START_TEST(spoof_and_rogue)
{
	struct simnet_params p;
	simnet_params_default(&p);
	p.ops = &kad16_ops;
	p.seed = 4242;
	p.settle_us = 10000000;
	struct simnet *n = simnet_new(&p);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(simnet_grow(n, 100), 0);

	struct rogue *g = calloc(1, sizeof(*g));
	ck_assert_ptr_nonnull(g);
	g->n = n;
	struct tr_addr ra = tr_addr_v4((10u << 24) | (99u << 16) | 1, 4000);
	g->t = sim_node_add(simnet_sim(n), &ra);
	ck_assert_ptr_nonnull(g->t);
	g->rpc = rpc_new(g->t, NULL);
	ck_assert_ptr_nonnull(g->rpc);
	ck_assert_int_eq(rpc_register(g->rpc, RPC_OVL_KAD16, RPC_SVC_OVERLAY, 0, rogue_request, g), 0);
	/* The rogue introduces itself (a genuine sender) to everyone, and
	 * sends everyone a FIND_NODE claiming node 0's id. */
	uint8_t victim[DDNS_ID_LEN];
	id_of(n, 0, victim);
	struct rpc_stats before_sum = {0};
	for (size_t i = 1; i < 100; i++) {
		struct rpc_call c = {.to = *tr_self(simnet_tr(n, i)), .overlay = RPC_OVL_KAD16,
				     .service = RPC_SVC_OVERLAY, .type = 1, .retries = -1};
		ck_assert_int_eq(rpc_call(g->rpc, &c, ignore_reply, NULL, NULL), 0);
		send_spoofed(g, tr_self(simnet_tr(n, i)), victim, tr_self(simnet_tr(n, 0)));
		struct rpc_stats st;
		rpc_get_stats(ovl_rpc(simnet_ovl(n, i)), &st);
		before_sum.dropped_spoofed += st.dropped_spoofed;
	}
	simnet_run(n, 2000000);
	uint64_t spoofed = 0;
	for (size_t i = 1; i < 100; i++) {
		struct rpc_stats st;
		rpc_get_stats(ovl_rpc(simnet_ovl(n, i)), &st);
		spoofed += st.dropped_spoofed;
	}
	ck_assert_uint_eq(spoofed - before_sum.dropped_spoofed, 99);

	/* Lookups end at the XOR-closest live node; the rogue is one too (it
	 * answers), so it may legitimately own a key. */
	uint8_t rid[DDNS_ID_LEN];
	ovl_id_of(&ra, 0, rid);
	struct ddns_rng kg;
	ddns_rng_seed(&kg, 10);
	size_t correct = 0, by_rogue = 0;
	for (int j = 0; j < 400; j++) {
		uint8_t key[DDNS_ID_LEN];
		random_key(&kg, key);
		size_t from = (size_t)ddns_rng_below(&kg, 100);
		struct one o;
		run_one(n, from, key, NULL, &o);
		ck_assert_int_eq(o.res.status, 0);
		uint8_t want[DDNS_ID_LEN];
		id_of(n, simnet_oracle(n, key), want);
		if (ovl_id_xor_closer(key, rid, want)) {
			memcpy(want, rid, DDNS_ID_LEN);
			by_rogue++;
		}
		correct += ovl_id_eq(o.res.owner.id, want);
	}
	printf("kad16 rogue: 400 lookups, %zu correct (%zu owned by the rogue), rogue answered %u, "
	       "%zu fake refs\n",
	       correct, by_rogue, g->answered, g->nfakes);
	ck_assert_uint_ge(g->answered, 10); /* the rogue was really asked */
	ck_assert_uint_eq(correct, 400);

	/* Every routing-table entry is a real node at vnode 0 (or the rogue's
	 * genuine address) with the id its address yields. */
	size_t rogue_known = 0;
	for (size_t i = 0; i < 100; i++) {
		struct ovl_node nodes[1024];
		size_t m = ovl_routing_nodes(simnet_ovl(n, i), nodes, 1024);
		for (size_t j = 0; j < m; j++) {
			uint8_t id[DDNS_ID_LEN];
			ovl_id_of(&nodes[j].addr, nodes[j].vnode, id);
			ck_assert(ovl_id_eq(id, nodes[j].id));
			ck_assert_uint_eq(nodes[j].vnode, 0);
			if (tr_addr_eq(&nodes[j].addr, &ra)) {
				rogue_known++;
				continue;
			}
			bool real = false;
			for (size_t k = 0; k < simnet_size(n) && !real; k++)
				real = tr_addr_eq(&nodes[j].addr, tr_self(simnet_tr(n, k)));
			ck_assert_msg(real, "node %zu holds a contact that does not exist", i);
		}
	}
	ck_assert_uint_gt(rogue_known, 0);
	rpc_free(g->rpc);
	free(g);
	simnet_free(n);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kad16");
	TCase *tc = tcase_create("exact");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, tiny_exact, 0, 2);
	tcase_add_test(tc, tiny_crash_exact);
	tcase_add_test(tc, tiny_value);
	tcase_add_test(tc, free_cancels);
	suite_add_tcase(s, tc);
	TCase *tm = tcase_create("hundred");
	tcase_set_timeout(tm, 300);
	tcase_add_test(tm, hundred_nodes);
	tcase_add_test(tm, spoof_and_rogue);
	suite_add_tcase(s, tm);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
