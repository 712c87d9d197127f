/*
 * simnet.c - N overlay nodes under the simulator, and the oracle that
 * checks their lookups.
 *
 * Node i sits at 10.a.b.c:4000 with a.b.c = i + 1 in base 256. Each node has
 * its own sim endpoint, RPC layer and overlay instance; crashing a node frees
 * its RPC layer and overlay instance without telling anyone (a crash, not a
 * leave) and leaves the endpoint crashed in the simulator.
 *
 * The oracle keeps the live nodes' ids sorted (rebuilt lazily after a
 * change): chord's successor(key) is a binary search, kad16's XOR-closest a
 * descent through the sorted ids bit by bit, O(160 log N) either way, so
 * checking a million lookups stays cheap.
 */
#include "cli/simnet.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/id.h"
#include "overlay/rpc.h"

/* A physical node: one endpoint and RPC layer, and one overlay instance
 * (and DHT) per virtual node. ovl/dht/id are vnode 0's. */
struct simnode {
	struct tr *tr;
	struct rpc *rpc;
	struct ovl *ovl;
	struct dht *dht;
	struct ovl **ovls;             /* [vnodes] */
	struct dht **dhts;             /* [vnodes] */
	uint8_t (*ids)[DDNS_ID_LEN];   /* [vnodes] */
	uint64_t served_before_crash, sent_before_crash;
	uint8_t id[DDNS_ID_LEN];
	bool alive;
};

struct simnet {
	struct simnet_params p;
	struct sim *sim;
	struct simnode *nodes;
	size_t n, cap;
	size_t live;
	size_t *sorted; /* live virtual nodes (node * vnodes + vnode) ordered by id */
	size_t nsorted;
	bool dirty;
	bool xor_metric;
};

void simnet_params_default(struct simnet_params *p)
{
	memset(p, 0, sizeof(*p));
	p->ops = &kad16_ops;
	ovl_params_default(&p->ovl);
	p->seed = 1;
	p->join_gap_us = 200000;
	p->vnodes = 1;
	p->settle_us = 60000000;
	dht_params_default(&p->dht);
}

struct simnet *simnet_new(const struct simnet_params *p)
{
	struct simnet *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->p = *p;
	if (n->p.vnodes == 0)
		n->p.vnodes = 1;
	struct sim_params sp;
	sim_params_default(&sp);
	sp.seed = p->seed;
	sp.loss = p->loss;
	sp.faults = p->faults;
	sp.latency = p->latency;
	n->sim = sim_new(&sp);
	if (!n->sim) {
		free(n);
		return NULL;
	}
	n->xor_metric = p->ops == &kad16_ops;
	return n;
}

void simnet_free(struct simnet *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		struct simnode *sn = &n->nodes[i];
		for (unsigned v = 0; v < n->p.vnodes; v++) {
			dht_free(sn->dhts[v]);
			ovl_free(sn->ovls[v]);
		}
		rpc_free(sn->rpc);
		free(sn->ovls);
		free(sn->dhts);
		free(sn->ids);
	}
	sim_free(n->sim); /* frees the endpoints */
	free(n->nodes);
	free(n->sorted);
	free(n);
}

static struct tr_addr node_addr(size_t i)
{
	uint32_t x = (uint32_t)i + 1;
	return tr_addr_v4((10u << 24) | (x & 0xffffff), 4000);
}

size_t simnet_random_live(struct simnet *n)
{
	/* The network is mostly live: rejection sampling terminates fast. */
	for (;;) {
		size_t i = (size_t)ddns_rng_below(sim_rng(n->sim), n->n);
		if (n->nodes[i].alive)
			return i;
	}
}

static void node_release(struct simnet *n, struct simnode *sn)
{
	for (unsigned v = 0; v < n->p.vnodes; v++) {
		dht_free(sn->dhts[v]);
		ovl_free(sn->ovls[v]);
		sn->dhts[v] = NULL;
		sn->ovls[v] = NULL;
	}
	rpc_free(sn->rpc);
	sn->rpc = NULL;
	sn->ovl = NULL;
	sn->dht = NULL;
}

int simnet_add(struct simnet *n)
{
	if (n->n == n->cap) {
		size_t cap = n->cap ? 2 * n->cap : 64;
		struct simnode *nn = realloc(n->nodes, cap * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		n->nodes = nn;
		n->cap = cap;
	}
	unsigned V = n->p.vnodes;
	struct simnode *sn = &n->nodes[n->n];
	memset(sn, 0, sizeof(*sn));
	sn->ovls = calloc(V, sizeof(*sn->ovls));
	sn->dhts = calloc(V, sizeof(*sn->dhts));
	sn->ids = calloc(V, sizeof(*sn->ids));
	struct tr_addr a = node_addr(n->n);
	if (!sn->ovls || !sn->dhts || !sn->ids || !(sn->tr = sim_node_add(n->sim, &a))) {
		free(sn->ovls);
		free(sn->dhts);
		free(sn->ids);
		return -ENOMEM;
	}
	/* From here on the node is counted (freed by simnet_free) even if an
	 * instance below cannot be made. */
	n->n++;
	sn->rpc = rpc_new(sn->tr, NULL);
	if (!sn->rpc)
		return -ENOMEM;
	const struct tr_addr *boot = NULL;
	struct tr_addr ba;
	if (n->live > 0) {
		ba = *tr_self(n->nodes[simnet_random_live(n)].tr);
		boot = &ba;
	}
	int err = 0;
	for (unsigned v = 0; v < V && !err; v++) {
		struct ovl_params op = n->p.ovl;
		op.vnode = (uint8_t)v;
		sn->ovls[v] = ovl_new(n->p.ops, sn->rpc, &op);
		if (!sn->ovls[v]) {
			err = -ENOMEM;
			break;
		}
		memcpy(sn->ids[v], ovl_self(sn->ovls[v])->id, DDNS_ID_LEN);
		if (n->p.validate) {
			int derr = 0;
			sn->dhts[v] = dht_new(sn->ovls[v], &n->p.dht, n->p.validate, n->p.validate_arg, &derr);
			if (!sn->dhts[v]) {
				err = derr ? derr : -ENOMEM;
				break;
			}
		}
		/* The first vnode of the first node starts the network; every
		 * other vnode joins through a live node (or this node's vnode 0). */
		if (!boot && v > 0)
			boot = tr_self(sn->tr);
		err = ovl_join(sn->ovls[v], boot);
	}
	if (err) {
		node_release(n, sn);
		sim_node_crash(sn->tr);
		return err;
	}
	sn->ovl = sn->ovls[0];
	sn->dht = sn->dhts[0];
	memcpy(sn->id, sn->ids[0], DDNS_ID_LEN);
	sn->alive = true;
	n->live++;
	n->dirty = true;
	return 0;
}

int simnet_grow(struct simnet *n, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		int err = simnet_add(n);
		if (err)
			return err;
		simnet_run(n, n->p.join_gap_us);
	}
	simnet_run(n, n->p.settle_us);
	return 0;
}

void simnet_run(struct simnet *n, uint64_t dur_us)
{
	sim_run_until(n->sim, sim_now_us(n->sim) + dur_us);
}

size_t simnet_size(const struct simnet *n) { return n->n; }
size_t simnet_live(const struct simnet *n) { return n->live; }
struct ovl *simnet_ovl(struct simnet *n, size_t i) { return n->nodes[i].alive ? n->nodes[i].ovl : NULL; }
struct dht *simnet_dht(struct simnet *n, size_t i) { return n->nodes[i].alive ? n->nodes[i].dht : NULL; }
unsigned simnet_vnodes(const struct simnet *n) { return n->p.vnodes; }

struct ovl *simnet_ovl_vnode(struct simnet *n, size_t i, unsigned v)
{
	return n->nodes[i].alive && v < n->p.vnodes ? n->nodes[i].ovls[v] : NULL;
}

struct dht *simnet_dht_vnode(struct simnet *n, size_t i, unsigned v)
{
	return n->nodes[i].alive && v < n->p.vnodes ? n->nodes[i].dhts[v] : NULL;
}

uint64_t simnet_requests_sent(struct simnet *n, size_t i)
{
	if (!n->nodes[i].alive)
		return n->nodes[i].sent_before_crash;
	struct rpc_stats st;
	rpc_get_stats(n->nodes[i].rpc, &st);
	return st.calls;
}

uint64_t simnet_requests_served(struct simnet *n, size_t i)
{
	if (!n->nodes[i].alive)
		return n->nodes[i].served_before_crash;
	struct rpc_stats st;
	rpc_get_stats(n->nodes[i].rpc, &st);
	return st.requests_in;
}
struct tr *simnet_tr(struct simnet *n, size_t i) { return n->nodes[i].tr; }
bool simnet_alive(const struct simnet *n, size_t i) { return n->nodes[i].alive; }
struct sim *simnet_sim(struct simnet *n) { return n->sim; }

void simnet_crash(struct simnet *n, size_t i)
{
	struct simnode *sn = &n->nodes[i];
	if (!sn->alive)
		return;
	sn->served_before_crash = simnet_requests_served(n, i);
	sn->sent_before_crash = simnet_requests_sent(n, i);
	sim_node_crash(sn->tr);
	node_release(n, sn);
	sn->alive = false;
	n->live--;
	n->dirty = true;
}

size_t simnet_crash_fraction(struct simnet *n, double frac)
{
	size_t want = (size_t)(frac * (double)n->live + 0.5);
	for (size_t k = 0; k < want; k++)
		simnet_crash(n, simnet_random_live(n));
	return want;
}

/* The id of virtual node slot s (node s / vnodes, vnode s % vnodes). */
static inline const uint8_t *slot_id(const struct simnet *n, size_t s)
{
	return n->nodes[s / n->p.vnodes].ids[s % n->p.vnodes];
}

static int cmp_by_id(const void *a, const void *b, void *arg)
{
	const struct simnet *n = arg;
	return memcmp(slot_id(n, *(const size_t *)a), slot_id(n, *(const size_t *)b), DDNS_ID_LEN);
}

static void rebuild_sorted(struct simnet *n)
{
	free(n->sorted);
	n->sorted = malloc((n->live ? n->live : 1) * n->p.vnodes * sizeof(size_t));
	n->nsorted = 0;
	if (!n->sorted)
		return;
	for (size_t i = 0; i < n->n; i++)
		if (n->nodes[i].alive)
			for (unsigned v = 0; v < n->p.vnodes; v++)
				n->sorted[n->nsorted++] = i * n->p.vnodes + v;
	qsort_r(n->sorted, n->nsorted, sizeof(size_t), cmp_by_id, n);
	n->dirty = false;
}

static inline unsigned id_bit(const uint8_t *id, unsigned b)
{
	return (id[b >> 3] >> (7 - (b & 7))) & 1u;
}

/* First position in sorted[lo, hi) whose id has bit b set, given that all
 * ids in the range share bits before b. */
static size_t split_at_bit(const struct simnet *n, size_t lo, size_t hi, unsigned b)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (id_bit(slot_id(n, n->sorted[mid]), b))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The live virtual-node slot responsible for key, or SIZE_MAX. */
static size_t oracle_slot(const struct simnet *cn, const uint8_t key[DDNS_ID_LEN])
{
	struct simnet *n = (struct simnet *)cn; /* the sorted cache is not observable state */
	if (n->dirty)
		rebuild_sorted(n);
	if (n->nsorted == 0)
		return SIZE_MAX;
	if (!n->xor_metric) {
		/* successor(key): the first id >= key, wrapping to the smallest. */
		size_t lo = 0, hi = n->nsorted;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (memcmp(slot_id(n, n->sorted[mid]), key, DDNS_ID_LEN) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		return n->sorted[lo == n->nsorted ? 0 : lo];
	}
	/* XOR-closest: follow the key's bits while some live id agrees. */
	size_t lo = 0, hi = n->nsorted;
	for (unsigned b = 0; b < OVL_ID_BITS && hi - lo > 1; b++) {
		size_t s = split_at_bit(n, lo, hi, b);
		if (id_bit(key, b)) {
			if (s < hi)
				lo = s;
			else
				hi = s;
		} else {
			if (s > lo)
				hi = s;
			else
				lo = s;
		}
	}
	return n->sorted[lo];
}

size_t simnet_oracle(const struct simnet *n, const uint8_t key[DDNS_ID_LEN])
{
	size_t s = oracle_slot(n, key);
	return s == SIZE_MAX ? SIZE_MAX : s / n->p.vnodes;
}

bool simnet_oracle_id(const struct simnet *n, const uint8_t key[DDNS_ID_LEN],
		      uint8_t id[DDNS_ID_LEN])
{
	size_t s = oracle_slot(n, key);
	if (s == SIZE_MAX)
		return false;
	memcpy(id, slot_id(n, s), DDNS_ID_LEN);
	return true;
}

void simnet_report_init(struct simnet_report *r)
{
	memset(r, 0, sizeof(*r));
	ddns_samples_init(&r->rpcs);
	ddns_samples_init(&r->hops);
	ddns_samples_init(&r->latency_us);
}

void simnet_report_free(struct simnet_report *r)
{
	ddns_samples_free(&r->rpcs);
	ddns_samples_free(&r->hops);
	ddns_samples_free(&r->latency_us);
}

struct lookup_run {
	struct simnet *n;
	struct simnet_report *r;
	size_t to_start, outstanding;
	int err;
};

struct lookup_ctx {
	struct lookup_run *run;
	uint64_t started;
};

static void start_lookup(struct lookup_run *run);

static void lookup_done(void *arg, const struct ovl_lookup_result *res)
{
	struct lookup_ctx *c = arg;
	struct lookup_run *run = c->run;
	struct simnet *n = run->n;
	struct simnet_report *r = run->r;
	r->lookups++;
	if (res->status != 0) {
		r->failed++;
	} else {
		uint8_t want[DDNS_ID_LEN];
		if (simnet_oracle_id(n, res->key, want) && memcmp(res->owner.id, want, DDNS_ID_LEN) == 0)
			r->correct++;
		if (ddns_samples_add(&r->rpcs, res->rpcs) || ddns_samples_add(&r->hops, res->hops) ||
		    ddns_samples_add(&r->latency_us, (double)(sim_now_us(n->sim) - c->started)))
			run->err = -ENOMEM;
	}
	free(c);
	run->outstanding--;
	if (run->to_start > 0)
		start_lookup(run);
}

static void start_lookup(struct lookup_run *run)
{
	struct simnet *n = run->n;
	while (run->to_start > 0) {
		run->to_start--;
		struct lookup_ctx *c = malloc(sizeof(*c));
		if (!c) {
			run->err = -ENOMEM;
			return;
		}
		c->run = run;
		c->started = sim_now_us(n->sim);
		uint8_t key[DDNS_ID_LEN];
		for (size_t i = 0; i < DDNS_ID_LEN; i += 8) {
			uint64_t v = ddns_rng_next(sim_rng(n->sim));
			memcpy(key + i, &v, DDNS_ID_LEN - i < 8 ? DDNS_ID_LEN - i : 8);
		}
		struct simnode *sn = &n->nodes[simnet_random_live(n)];
		struct ovl *o = sn->ovls[ddns_rng_below(sim_rng(n->sim), n->p.vnodes)];
		if (ovl_lookup(o, key, NULL, lookup_done, c) != 0) {
			free(c);
			run->err = -ENOMEM;
			return;
		}
		run->outstanding++;
		return;
	}
}

static bool run_finished(void *arg)
{
	struct lookup_run *run = arg;
	return run->outstanding == 0 && (run->to_start == 0 || run->err);
}

int simnet_lookups(struct simnet *n, size_t count, size_t parallel, struct simnet_report *r)
{
	if (n->live == 0)
		return -EINVAL;
	struct lookup_run run = {.n = n, .r = r, .to_start = count};
	if (parallel == 0)
		parallel = 1;
	for (size_t i = 0; i < parallel && run.to_start > 0 && !run.err; i++)
		start_lookup(&run);
	/* A lookup ends by itself through timeouts, so this is bounded; the
	 * generous time limit only guards against a protocol bug. */
	while (!run_finished(&run)) {
		if (!sim_run_cond(n->sim, run_finished, &run, 3600ULL * 1000000ULL))
			return DDNS_ETIMEDOUT;
	}
	return run.err;
}
