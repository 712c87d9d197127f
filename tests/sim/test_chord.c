/*
 * test_chord.c - the chord overlay (overlay/chord.c) under the simulator:
 * a tiny exact ring (this lookup, exactly these RPCs), a 1,000-node ring
 * built by joins one at a time, hop counts against (1/2) log2 N, mass
 * crash recovery, joins under load, loss, forged sender ids, virtual
 * nodes and polite leaves. Fixed seeds: every run replays the same.
 *
 * Figures measured are printed on stdout (see test_chord.log).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/simnet.h"
#include "common/rng.h"
#include "overlay/id.h"
#include "overlay/overlay.h"
#include "overlay/rpc.h"
#include "overlay/sim.h"

/* ---- helpers ------------------------------------------------------------ */

struct lk {
	bool done;
	int calls;
	struct ovl_lookup_result res;
	uint8_t val[256];
};

static void lk_cb(void *arg, const struct ovl_lookup_result *res)
{
	struct lk *l = arg;
	l->calls++;
	l->done = true;
	l->res = *res;
	if (res->value_found && res->value_len <= sizeof(l->val))
		memcpy(l->val, res->value, res->value_len);
	l->res.value = NULL;
}

static bool lk_done(void *arg) { return ((struct lk *)arg)->done; }

/* One lookup, run to completion on the simulator. */
static void lookup_sync(struct sim *s, struct ovl *o, const uint8_t key[DDNS_ID_LEN],
			const struct ovl_lookup_opts *opts, struct lk *l)
{
	memset(l, 0, sizeof(*l));
	ck_assert_int_eq(ovl_lookup(o, key, opts, lk_cb, l), 0);
	ck_assert(!l->done); /* never inside ovl_lookup */
	ck_assert(sim_run_cond(s, lk_done, l, 600ULL * 1000000));
	ck_assert_int_eq(l->calls, 1);
}

static struct simnet *mk_net(uint64_t seed, double loss)
{
	struct simnet_params p;
	simnet_params_default(&p);
	p.ops = &chord_ops;
	p.seed = seed;
	p.loss = loss;
	p.join_gap_us = 100000;
	p.settle_us = 30000000;
	struct simnet *n = simnet_new(&p);
	ck_assert_ptr_nonnull(n);
	return n;
}

static void report(const char *what, struct simnet_report *r)
{
	struct ddns_dist h, rp;
	ddns_samples_dist(&r->hops, &h);
	ddns_samples_dist(&r->rpcs, &rp);
	printf("%s: %zu lookups, %zu correct, %zu failed; hops mean %.3f median %.0f p99 %.0f "
	       "max %.0f; rpcs mean %.3f\n",
	       what, r->lookups, r->correct, r->failed, h.mean, h.median, h.p99, h.max, rp.mean);
	fflush(stdout);
}

static double mean_of(struct ddns_samples *s)
{
	struct ddns_dist d;
	ddns_samples_dist(s, &d);
	return d.mean;
}

/* ---- a reference model of classic iterative Chord -------------------- */

/* The ring as the oracle sees it: live ids sorted. */
struct ring {
	size_t n;
	uint8_t (*id)[DDNS_ID_LEN];
	size_t *node; /* simnet index of each position */
};

static void ring_build(struct simnet *net, struct ring *r)
{
	size_t total = simnet_size(net);
	r->id = calloc(total, DDNS_ID_LEN);
	r->node = calloc(total, sizeof(size_t));
	ck_assert(r->id && r->node);
	r->n = 0;
	for (size_t i = 0; i < total; i++) {
		if (!simnet_alive(net, i))
			continue;
		size_t j = r->n++;
		const uint8_t *id = ovl_self(simnet_ovl(net, i))->id;
		while (j > 0 && ovl_id_cmp(r->id[j - 1], id) > 0) {
			memcpy(r->id[j], r->id[j - 1], DDNS_ID_LEN);
			r->node[j] = r->node[j - 1];
			j--;
		}
		memcpy(r->id[j], id, DDNS_ID_LEN);
		r->node[j] = i;
	}
}

static void ring_free(struct ring *r)
{
	free(r->id);
	free(r->node);
}

/* Position of successor(key). */
static size_t ring_succ(const struct ring *r, const uint8_t key[DDNS_ID_LEN])
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ovl_id_cmp(r->id[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo == r->n ? 0 : lo;
}

/* Classic Chord: fingers are successor(n + 2^k); the originator answers
 * locally for (pred, self] and (self, succ]; every node asked answers DONE
 * for (self, succ] and otherwise names its closest preceding finger.
 * Returns the RPCs; path[] gets the positions asked. */
static unsigned ring_ref_lookup(const struct ring *r, size_t from, const uint8_t key[DDNS_ID_LEN],
				size_t *path, size_t maxpath)
{
	size_t cur = from;
	unsigned rpcs = 0;
	if (ovl_id_in_oc(key, r->id[(cur + r->n - 1) % r->n], r->id[cur]))
		return 0;
	for (;;) {
		if (ovl_id_in_oc(key, r->id[cur], r->id[(cur + 1) % r->n]))
			return rpcs;
		size_t best = cur;
		for (unsigned k = 0; k < OVL_ID_BITS; k++) {
			uint8_t start[DDNS_ID_LEN];
			ovl_id_add_pow2(r->id[cur], k, start);
			size_t f = ring_succ(r, start);
			if (!ovl_id_in_oo(r->id[f], r->id[cur], key))
				continue;
			if (best == cur || ovl_id_in_oo(r->id[f], r->id[best], key))
				best = f;
		}
		ck_assert_uint_ne(best, cur);
		if (rpcs < maxpath)
			path[rpcs] = best;
		rpcs++;
		cur = best;
	}
}

/* ---- a 4-node ring: exact answers ------------------------------------- */

/* Index in ring order (by id) of each simnet node. */
static void ring_order(struct simnet *n, size_t cnt, size_t *order)
{
	for (size_t i = 0; i < cnt; i++)
		order[i] = i;
	for (size_t i = 0; i < cnt; i++)
		for (size_t j = i + 1; j < cnt; j++)
			if (ovl_id_cmp(ovl_self(simnet_ovl(n, order[j]))->id,
				       ovl_self(simnet_ovl(n, order[i]))->id) < 0) {
				size_t t = order[i];
				order[i] = order[j];
				order[j] = t;
			}
}

struct vhook {
	bool on;
	const char *val;
	int asked;
};

static bool vhook_cb(void *arg, const uint8_t key[DDNS_ID_LEN], const uint8_t *probe,
		     size_t probe_len, const uint8_t **val, size_t *len)
{
	struct vhook *h = arg;
	h->asked++;
	ck_assert_uint_eq(probe_len, 5);
	ck_assert_mem_eq(probe, "probe", 5);
	if (!h->on)
		return false;
	*val = (const uint8_t *)h->val;
	*len = strlen(h->val);
	return true;
}

START_TEST(test_four_ring_exact)
{
	struct simnet *n = mk_net(11, 0);
	ck_assert_int_eq(simnet_grow(n, 4), 0);
	struct sim *s = simnet_sim(n);
	size_t ord[4];
	ring_order(n, 4, ord);
	/* ring position -> node; pos(k) = (k mod 4) */
#define NODE(k) simnet_ovl(n, ord[((k) + 4) % 4])
#define ID(k) ovl_self(NODE(k))->id
	for (int i = 0; i < 4; i++) {
		/* everyone knows its range and its neighbours */
		ck_assert(ovl_responsible(NODE(i), ID(i)));
		ck_assert(!ovl_responsible(NODE(i), ID(i - 1)));
		struct ovl_node rs[8];
		ck_assert_uint_eq(ovl_replica_set(NODE(i), ID(i), rs, 8), 4);
		for (int k = 0; k < 4; k++)
			ck_assert(ovl_id_eq(rs[k].id, ID(i + k)));
		ck_assert_uint_eq(ovl_routing_nodes(NODE(i), rs, 8), 3);
	}
	struct ring ring;
	ring_build(n, &ring);
	for (int k = 0; k < 4; k++)
		ck_assert_uint_eq(ring.node[k], ord[k]);
	int n2 = 0; /* lookups that took two hops */
	for (int i = 0; i < 4; i++) {
		for (int j = 0; j < 4; j++) {
			struct lk l;
			struct ovl_lookup_opts opts = {.nreplicas = 4};
			/* the key one above j's predecessor: owned by j */
			uint8_t key[DDNS_ID_LEN];
			ovl_id_add_pow2(ID(j - 1), 0, key);
			lookup_sync(s, NODE(i), key, &opts, &l);
			ck_assert_int_eq(l.res.status, 0);
			ck_assert(ovl_id_eq(l.res.owner.id, ID(j)));
			ck_assert_uint_eq(l.res.nreplicas, 4);
			for (int k = 0; k < 4; k++)
				ck_assert(ovl_id_eq(l.res.replicas[k].id, ID(j + k)));
			/* own key or successor's: answered locally; otherwise
			 * the closest preceding finger (fingers are successor(
			 * self + 2^k): the 4 ids fix them), then on until j's
			 * predecessor answers DONE: what classic Chord does */
			size_t path[8];
			unsigned want = ring_ref_lookup(&ring, (size_t)i, key, path, 8);
			ck_assert_uint_le(want, 2);
			if (j == i || j == (i + 1) % 4)
				ck_assert_uint_eq(want, 0);
			else
				ck_assert_uint_ge(want, 1);
			ck_assert_uint_eq(l.res.rpcs, want);
			ck_assert_uint_eq(l.res.hops, want);
			ck_assert_uint_eq(l.res.timeouts, 0);
			ck_assert_uint_eq(l.res.retransmits, 0);
			ck_assert_uint_eq(l.res.path_len, want);
			for (unsigned k = 0; k < want; k++)
				ck_assert(ovl_id_eq(l.res.path[k].id, ring.id[path[k]]));
			if (want)
				ck_assert(ovl_id_eq(l.res.path[want - 1].id, ID(j - 1)));
			n2 += want == 2;
			ck_assert(!l.res.value_found);
		}
	}

	/* with this seed some node lacks a finger to its successor's successor */
	ck_assert_int_gt(n2, 0);
	ring_free(&ring);

	/* value hooks: node 0 looks up a key owned by node 2 */
	struct vhook h[4] = {{0}};
	for (int k = 0; k < 4; k++) {
		h[k].val = k == 1 ? "one" : "other";
		ovl_set_value_hook(NODE(k), vhook_cb, &h[k]);
	}
	uint8_t key[DDNS_ID_LEN];
	ovl_id_add_pow2(ID(1), 0, key);
	struct ovl_lookup_opts vo = {.probe = (const uint8_t *)"probe", .probe_len = 5,
				     .want_value = true};
	struct lk l;
	/* nobody has it: the path is node 1 (2's predecessor), 1 RPC */
	lookup_sync(s, NODE(0), key, &vo, &l);
	ck_assert(!l.res.value_found);
	ck_assert_uint_eq(l.res.rpcs, 1);
	ck_assert_int_eq(h[0].asked, 1);
	ck_assert_int_eq(h[1].asked, 1);
	ck_assert_int_eq(h[2].asked, 0); /* the owner itself is not on the path */
	/* node 1 has it: found there, still 1 RPC */
	h[1].on = true;
	lookup_sync(s, NODE(0), key, &vo, &l);
	ck_assert(l.res.value_found);
	ck_assert_uint_eq(l.res.rpcs, 1);
	ck_assert(ovl_id_eq(l.res.value_from.id, ID(1)));
	ck_assert_uint_eq(l.res.value_len, 3);
	ck_assert_mem_eq(l.val, "one", 3);
	ck_assert(ovl_id_eq(l.res.owner.id, ID(2)));
	/* the originator has it: 0 RPCs */
	h[0].on = true;
	lookup_sync(s, NODE(0), key, &vo, &l);
	ck_assert(l.res.value_found);
	ck_assert_uint_eq(l.res.rpcs, 0);
	ck_assert(ovl_id_eq(l.res.value_from.id, ID(0)));
	ck_assert_mem_eq(l.val, "other", 5);
#undef NODE
#undef ID
	simnet_free(n);
}
END_TEST

/* ---- 1,000 nodes joining one by one ----------------------------------- */

START_TEST(test_thousand_join_lookups)
{
	struct simnet *n = mk_net(1000, 0);
	ck_assert_int_eq(simnet_grow(n, 1000), 0);
	struct simnet_report r;
	simnet_report_init(&r);
	ck_assert_int_eq(simnet_lookups(n, 10000, 50, &r), 0);
	report("N=1000", &r);
	ck_assert_uint_eq(r.lookups, 10000);
	ck_assert_uint_eq(r.failed, 0);
	ck_assert_uint_eq(r.correct, 10000);
	double want = 0.5 * log2(1000.0), mean = mean_of(&r.hops);
	printf("N=1000: mean hops %.3f, (1/2)log2 N = %.3f\n", mean, want);
	ck_assert(mean >= 0.8 * want && mean <= 1.2 * want);
	simnet_report_free(&r);
	simnet_free(n);
}
END_TEST

START_TEST(test_hops_hundred)
{
	struct simnet *n = mk_net(100, 0);
	ck_assert_int_eq(simnet_grow(n, 100), 0);
	struct simnet_report r;
	simnet_report_init(&r);
	ck_assert_int_eq(simnet_lookups(n, 10000, 50, &r), 0);
	report("N=100", &r);
	ck_assert_uint_eq(r.correct, 10000);
	double want = 0.5 * log2(100.0), mean = mean_of(&r.hops);
	printf("N=100: mean hops %.3f, (1/2)log2 N = %.3f\n", mean, want);
	ck_assert(mean >= 0.8 * want && mean <= 1.2 * want);
	simnet_report_free(&r);

	/* converged fingers are exactly classic Chord's: every lookup asks
	 * the same nodes as the reference model */
	struct ring ring;
	ring_build(n, &ring);
	struct ddns_rng rng;
	ddns_rng_seed(&rng, 77);
	for (int t = 0; t < 1000; t++) {
		size_t from = (size_t)ddns_rng_below(&rng, ring.n);
		uint8_t key[DDNS_ID_LEN];
		for (int b = 0; b < DDNS_ID_LEN; b++)
			key[b] = (uint8_t)ddns_rng_next(&rng);
		size_t path[OVL_MAX_PATH];
		unsigned rpcs = ring_ref_lookup(&ring, from, key, path, OVL_MAX_PATH);
		struct lk l;
		lookup_sync(simnet_sim(n), simnet_ovl(n, ring.node[from]), key, NULL, &l);
		ck_assert_int_eq(l.res.status, 0);
		ck_assert_uint_eq(l.res.rpcs, rpcs);
		ck_assert_uint_eq(l.res.hops, rpcs);
		ck_assert_uint_eq(l.res.path_len, rpcs);
		for (unsigned k = 0; k < rpcs; k++)
			ck_assert(ovl_id_eq(l.res.path[k].id, ring.id[path[k]]));
		ck_assert(ovl_id_eq(l.res.owner.id, ring.id[ring_succ(&ring, key)]));
	}
	ring_free(&ring);
	simnet_free(n);
}
END_TEST

/* ---- failures, churn, loss --------------------------------------------- */

START_TEST(test_crash_fifth)
{
	struct simnet *n = mk_net(2020, 0);
	ck_assert_int_eq(simnet_grow(n, 1000), 0);
	ck_assert_uint_eq(simnet_crash_fraction(n, 0.2), 200);
	struct ovl_params dp;
	ovl_params_default(&dp);
	/* one maintenance period */
	simnet_run(n, dp.stabilize_us);
	struct simnet_report r;
	simnet_report_init(&r);
	ck_assert_int_eq(simnet_lookups(n, 10000, 50, &r), 0);
	report("crash 20%, after one period", &r);
	ck_assert_uint_eq(r.lookups, 10000);
	ck_assert_uint_ge(r.correct, 9950);
	simnet_report_free(&r);
	/* a second period: everything correct */
	simnet_run(n, dp.stabilize_us);
	simnet_report_init(&r);
	ck_assert_int_eq(simnet_lookups(n, 10000, 50, &r), 0);
	report("crash 20%, after a second period", &r);
	ck_assert_uint_eq(r.correct, 10000);
	simnet_report_free(&r);
	simnet_free(n);
}
END_TEST

START_TEST(test_joins_under_load)
{
	struct simnet *n = mk_net(3030, 0);
	ck_assert_int_eq(simnet_grow(n, 1000), 0);
	struct simnet_report r;
	simnet_report_init(&r);
	/* 100 joins, 100 ms apart, lookups running all the while */
	for (int k = 0; k < 100; k++) {
		ck_assert_int_eq(simnet_add(n), 0);
		uint64_t t0 = sim_now_us(simnet_sim(n));
		ck_assert_int_eq(simnet_lookups(n, 100, 20, &r), 0);
		uint64_t spent = sim_now_us(simnet_sim(n)) - t0;
		if (spent < 100000)
			simnet_run(n, 100000 - spent);
	}
	report("100 joins into 1000, during", &r);
	ck_assert_uint_eq(r.lookups, 10000);
	ck_assert_uint_ge(r.correct, 9900);
	simnet_report_free(&r);
	struct ovl_params dp;
	ovl_params_default(&dp);
	simnet_run(n, 5 * dp.stabilize_us);
	simnet_report_init(&r);
	ck_assert_int_eq(simnet_lookups(n, 10000, 50, &r), 0);
	report("100 joins into 1000, after", &r);
	ck_assert_uint_eq(r.correct, 10000);
	simnet_report_free(&r);
	simnet_free(n);
}
END_TEST

START_TEST(test_loss_five_percent)
{
	struct simnet *n = mk_net(4040, 0.05);
	ck_assert_int_eq(simnet_grow(n, 500), 0);
	struct simnet_report r;
	simnet_report_init(&r);
	ck_assert_int_eq(simnet_lookups(n, 10000, 50, &r), 0);
	report("5% loss, N=500", &r);
	ck_assert_uint_eq(r.lookups, 10000);
	ck_assert_uint_ge(r.lookups - r.failed, 9900);
	ck_assert_uint_ge(r.correct, 9900);
	simnet_report_free(&r);
	simnet_free(n);
}
END_TEST

static void count_change(void *arg, struct ovl *o)
{
	(void)o;
	(*(int *)arg)++;
}

START_TEST(test_leave_polite)
{
	struct simnet *n = mk_net(5050, 0);
	ck_assert_int_eq(simnet_grow(n, 100), 0);
	/* the neighbours of the first leaver hear of it through the change hook */
	struct ring ring;
	ring_build(n, &ring);
	size_t pos = 0;
	while (ring.node[pos] != 10)
		pos++;
	int changes[2] = {0, 0};
	ovl_set_change_hook(simnet_ovl(n, ring.node[(pos + 99) % 100]), count_change, &changes[0]);
	ovl_set_change_hook(simnet_ovl(n, ring.node[(pos + 1) % 100]), count_change, &changes[1]);
	ring_free(&ring);
	/* nine nodes leave; their neighbours repair at once, before any
	 * maintenance period has passed */
	for (size_t i = 10; i < 100; i += 10) {
		ovl_leave(simnet_ovl(n, i));
		simnet_run(n, 50000);
		simnet_crash(n, i); /* gone from the oracle (and the network) */
		if (i == 10) {
			ck_assert_int_gt(changes[0], 0); /* its successor list changed */
			ck_assert_int_gt(changes[1], 0); /* its predecessor changed */
		}
	}
	simnet_run(n, 50000);
	for (size_t i = 0; i < simnet_size(n); i++) {
		struct ovl *o = simnet_ovl(n, i);
		if (!o)
			continue;
		/* nobody's successor or predecessor is a node that left */
		uint8_t k[DDNS_ID_LEN];
		ovl_id_add_pow2(ovl_self(o)->id, 0, k);
		size_t want = simnet_oracle(n, k);
		struct ovl_node rs[2];
		ck_assert_uint_eq(ovl_replica_set(o, k, rs, 2), 2);
		ck_assert(ovl_id_eq(rs[1].id, ovl_self(simnet_ovl(n, want))->id));
		ck_assert(ovl_responsible(o, ovl_self(o)->id));
	}
	struct simnet_report r;
	simnet_report_init(&r);
	ck_assert_int_eq(simnet_lookups(n, 2000, 20, &r), 0);
	report("after 9 polite leaves", &r);
	ck_assert_uint_eq(r.correct, 2000);
	simnet_report_free(&r);
	simnet_free(n);
}
END_TEST

/* ---- forged sender ids -------------------------------------------------- */

/* Message types of docs/PROTOCOL.md "Chord messages". */
#define T_FIND 1
#define T_STAB 3
#define T_PING 5

/* A transport wrapped around a raw sim endpoint that, when forging,
 * rewrites its own node id wherever it appears in outgoing datagrams:
 * the RPC header then claims an id its address does not hash to. */
struct forge_tr {
	struct tr base;
	struct tr *inner;
	uint8_t genuine[DDNS_ID_LEN], forged[DDNS_ID_LEN];
	bool forge;
	unsigned replaced;
};

static int forge_send(struct tr *t, const struct tr_addr *to, const uint8_t *data, size_t len)
{
	struct forge_tr *f = (struct forge_tr *)t;
	uint8_t *buf = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(buf);
	memcpy(buf, data, len);
	for (size_t i = 0; f->forge && i + DDNS_ID_LEN <= len; i++)
		if (memcmp(buf + i, f->genuine, DDNS_ID_LEN) == 0) {
			memcpy(buf + i, f->forged, DDNS_ID_LEN);
			f->replaced++;
		}
	int err = tr_send(f->inner, to, buf, len);
	free(buf);
	return err;
}
static uint64_t forge_now(struct tr *t) { return tr_now_us(((struct forge_tr *)t)->inner); }
static struct tr_timer *forge_timer_add(struct tr *t, uint64_t d, uint64_t p, tr_timer_cb cb,
					void *arg)
{
	return tr_timer_add(((struct forge_tr *)t)->inner, d, p, cb, arg);
}
static void forge_timer_cancel(struct tr *t, struct tr_timer *tm)
{
	tr_timer_cancel(((struct forge_tr *)t)->inner, tm);
}
static uint64_t forge_random(struct tr *t) { return tr_random(((struct forge_tr *)t)->inner); }
static void forge_free(struct tr *t) { (void)t; }
static const struct tr_ops forge_ops = {"forge",	  forge_send,	 forge_now, forge_timer_add,
					forge_timer_cancel, forge_random, forge_free};

static void forge_recv(void *arg, const struct tr_addr *from, const uint8_t *d, size_t len)
{
	struct forge_tr *f = arg;
	if (f->base.recv)
		f->base.recv(f->base.recv_arg, from, d, len);
}

struct raw_calls {
	int pending, answered, timedout;
};

static void raw_cb(void *arg, int status, const struct rpc_msg *reply)
{
	struct raw_calls *rc = arg;
	rc->pending--;
	if (status == 0)
		rc->answered++;
	else
		rc->timedout++;
}

static bool raw_done(void *arg) { return ((struct raw_calls *)arg)->pending == 0; }

static void raw_send(struct rpc *r, const struct tr_addr *to, uint8_t type, const void *pl,
		     size_t len, struct raw_calls *rc)
{
	struct rpc_call c = {.to = *to, .overlay = RPC_OVL_CHORD, .service = RPC_SVC_OVERLAY,
			     .type = type, .payload = pl, .len = len, .timeout_us = 100000,
			     .retries = 0};
	ck_assert_int_eq(rpc_call(r, &c, raw_cb, rc, NULL), 0);
	rc->pending++;
}

/* Does any live node's routing state hold id? Also checks that every entry
 * is genuine (its id is the hash of its address). */
static int routing_holders(struct simnet *n, const uint8_t id[DDNS_ID_LEN])
{
	int holders = 0;
	for (size_t i = 0; i < simnet_size(n); i++) {
		struct ovl *o = simnet_ovl(n, i);
		if (!o)
			continue;
		struct ovl_node rn[256];
		size_t m = ovl_routing_nodes(o, rn, 256);
		bool has = false;
		for (size_t k = 0; k < m; k++) {
			uint8_t want[DDNS_ID_LEN];
			ovl_id_of(&rn[k].addr, rn[k].vnode, want);
			ck_assert(ovl_id_eq(want, rn[k].id));
			has |= ovl_id_eq(rn[k].id, id);
		}
		holders += has;
	}
	return holders;
}

START_TEST(test_spoofed_sender)
{
	struct simnet *n = mk_net(6060, 0);
	ck_assert_int_eq(simnet_grow(n, 16), 0);
	struct sim *s = simnet_sim(n);
	struct tr_addr raw_addr = tr_addr_v4(0x0ac80001u, 4000);   /* 10.200.0.1 */
	struct tr_addr ghost_addr = tr_addr_v4(0x0ac80002u, 4000); /* never in the net */
	struct forge_tr f;
	memset(&f, 0, sizeof(f));
	f.inner = sim_node_add(s, &raw_addr);
	ck_assert_ptr_nonnull(f.inner);
	f.base.ops = &forge_ops;
	f.base.self = f.inner->self;
	f.base.mtu = f.inner->mtu;
	tr_set_recv(f.inner, forge_recv, &f);
	ovl_id_of(&raw_addr, 0, f.genuine);
	ovl_id_of(&ghost_addr, 0, f.forged);
	struct rpc *r = rpc_new(&f.base, NULL);
	ck_assert_ptr_nonnull(r);

	uint8_t find[DDNS_ID_LEN + 3] = {0};
	memcpy(find, f.genuine, DDNS_ID_LEN);
	/* forged: every node gets a notify (STAB), a PING and a FIND */
	f.forge = true;
	struct raw_calls rc = {0};
	for (size_t i = 0; i < simnet_size(n); i++) {
		const struct tr_addr *to = tr_self(simnet_tr(n, i));
		raw_send(r, to, T_STAB, NULL, 0, &rc);
		raw_send(r, to, T_PING, NULL, 0, &rc);
		raw_send(r, to, T_FIND, find, sizeof(find), &rc);
	}
	ck_assert(sim_run_cond(s, raw_done, &rc, 10000000));
	ck_assert_uint_gt(f.replaced, 0);
	ck_assert_int_eq(rc.answered, 0);
	simnet_run(n, 5000000);
	uint64_t spoofed = 0;
	for (size_t i = 0; i < simnet_size(n); i++) {
		struct rpc_stats st;
		rpc_get_stats(ovl_rpc(simnet_ovl(n, i)), &st);
		spoofed += st.dropped_spoofed;
	}
	ck_assert_uint_eq(spoofed, 3 * simnet_size(n));
	ck_assert_int_eq(routing_holders(n, f.forged), 0);
	ck_assert_int_eq(routing_holders(n, f.genuine), 0);

	/* control: the same messages, honest, do put the sender in tables */
	f.forge = false;
	memset(&rc, 0, sizeof(rc));
	for (size_t i = 0; i < simnet_size(n); i++) {
		const struct tr_addr *to = tr_self(simnet_tr(n, i));
		raw_send(r, to, T_STAB, NULL, 0, &rc);
		raw_send(r, to, T_FIND, find, sizeof(find), &rc);
	}
	ck_assert(sim_run_cond(s, raw_done, &rc, 10000000));
	ck_assert_int_eq(rc.answered, (int)(2 * simnet_size(n)));
	ck_assert_int_gt(routing_holders(n, f.genuine), 0);
	ck_assert_int_eq(routing_holders(n, f.forged), 0);
	rpc_free(r);
	simnet_free(n);
}
END_TEST

/* ---- virtual nodes ------------------------------------------------------ */

#define VN_HOSTS 10
#define VN_PER 4

START_TEST(test_vnodes_one_endpoint)
{
	struct sim_params sp;
	sim_params_default(&sp);
	sp.seed = 7070;
	struct sim *s = sim_new(&sp);
	ck_assert_ptr_nonnull(s);
	struct rpc *rpcs[VN_HOSTS];
	struct ovl *o[VN_HOSTS * VN_PER];
	struct tr_addr boot = tr_addr_v4(0x0a010001u, 4000);
	for (int h = 0; h < VN_HOSTS; h++) {
		struct tr_addr a = tr_addr_v4(0x0a010001u + (uint32_t)h, 4000);
		struct tr *t = sim_node_add(s, &a);
		ck_assert_ptr_nonnull(t);
		rpcs[h] = rpc_new(t, NULL);
		ck_assert_ptr_nonnull(rpcs[h]);
		for (int v = 0; v < VN_PER; v++) {
			struct ovl_params p;
			ovl_params_default(&p);
			p.vnode = (uint8_t)v;
			struct ovl *x = ovl_new(&chord_ops, rpcs[h], &p);
			ck_assert_ptr_nonnull(x);
			ck_assert_uint_eq(ovl_self(x)->vnode, v);
			o[h * VN_PER + v] = x;
			ck_assert_int_eq(ovl_join(x, h == 0 && v == 0 ? NULL : &boot), 0);
			sim_run_until(s, sim_now_us(s) + 100000);
		}
	}
	/* one (overlay, vnode) per endpoint */
	struct ovl_params dup;
	ovl_params_default(&dup);
	dup.vnode = 1;
	ck_assert_ptr_null(ovl_new(&chord_ops, rpcs[3], &dup));
	sim_run_until(s, sim_now_us(s) + 30000000);

	/* the oracle: successor among all 40 virtual nodes */
	size_t total = VN_HOSTS * VN_PER;
	int vnode_refs = 0;
	for (size_t i = 0; i < total; i++) {
		struct ovl_node rn[64];
		size_t m = ovl_routing_nodes(o[i], rn, 64);
		for (size_t k = 0; k < m; k++)
			vnode_refs += rn[k].vnode != 0;
	}
	ck_assert_int_gt(vnode_refs, 0);
	struct ddns_rng rng;
	ddns_rng_seed(&rng, 3);
	for (int t = 0; t < 500; t++) {
		uint8_t key[DDNS_ID_LEN];
		for (int b = 0; b < DDNS_ID_LEN; b++)
			key[b] = (uint8_t)ddns_rng_next(&rng);
		size_t want = 0;
		for (size_t i = 1; i < total; i++) {
			uint8_t dw[DDNS_ID_LEN], di[DDNS_ID_LEN];
			ovl_id_sub(ovl_self(o[want])->id, key, dw);
			ovl_id_sub(ovl_self(o[i])->id, key, di);
			if (memcmp(di, dw, DDNS_ID_LEN) < 0)
				want = i;
		}
		struct lk l;
		lookup_sync(s, o[ddns_rng_below(&rng, total)], key, NULL, &l);
		ck_assert_int_eq(l.res.status, 0);
		ck_assert(ovl_id_eq(l.res.owner.id, ovl_self(o[want])->id));
		ck_assert_uint_eq(l.res.owner.vnode, ovl_self(o[want])->vnode);
		ck_assert(ovl_responsible(o[want], key));
	}
	for (size_t i = 0; i < total; i++)
		ovl_free(o[i]);
	for (int h = 0; h < VN_HOSTS; h++)
		rpc_free(rpcs[h]);
	sim_free(s);
}
END_TEST

/* ---- lifetime ----------------------------------------------------------- */

START_TEST(test_free_cancels_lookups)
{
	struct simnet *n = mk_net(8080, 0);
	ck_assert_int_eq(simnet_grow(n, 20), 0);
	struct ovl *o = simnet_ovl(n, 3);
	struct lk a, b;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	uint8_t k1[DDNS_ID_LEN], k2[DDNS_ID_LEN];
	memset(k1, 0x55, sizeof(k1));
	memcpy(k2, ovl_self(o)->id, DDNS_ID_LEN); /* own key: answered locally */
	ck_assert_int_eq(ovl_lookup(o, k1, NULL, lk_cb, &a), 0);
	ck_assert_int_eq(ovl_lookup(o, k2, NULL, lk_cb, &b), 0);
	ck_assert(!a.done && !b.done);
	simnet_crash(n, 3); /* frees the instance with both lookups pending */
	ck_assert_int_eq(a.calls, 1);
	ck_assert_int_eq(b.calls, 1);
	ck_assert_int_eq(a.res.status, DDNS_ECANCELLED);
	ck_assert_int_eq(b.res.status, DDNS_ECANCELLED);
	simnet_run(n, 5000000);
	ck_assert_int_eq(a.calls, 1);
	simnet_free(n);
}
END_TEST

/* ---- Test registration -------------------------------------------------- */

static Suite *chord_suite(void)
{
	Suite *s = suite_create("chord");
	TCase *tc = tcase_create("exact");
	tcase_add_test(tc, test_four_ring_exact);
	tcase_add_test(tc, test_spoofed_sender);
	tcase_add_test(tc, test_vnodes_one_endpoint);
	tcase_add_test(tc, test_free_cancels_lookups);
	suite_add_tcase(s, tc);
	tc = tcase_create("scale");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_hops_hundred);
	tcase_add_test(tc, test_thousand_join_lookups);
	suite_add_tcase(s, tc);
	tc = tcase_create("churn");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_crash_fifth);
	tcase_add_test(tc, test_joins_under_load);
	tcase_add_test(tc, test_loss_five_percent);
	tcase_add_test(tc, test_leave_polite);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(chord_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
