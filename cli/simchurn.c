/*
 * simchurn.c - churn and mass-failure experiments (cli/simchurn.h).
 *
 * The driver advances the simulator in ticks of TICK_US and, at each tick,
 * lets the sessions that ended depart, admits the joins that arrived, and
 * starts the lookups, gets and republishing puts that fell due (each an
 * exponential inter-arrival from the world PRNG, so arrivals are Poisson;
 * republishing walks the records in order, M per period). Availability is
 * checked by asking every live DHT instance what it stores (no traffic).
 */
#include "cli/simchurn.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "cli/simdns.h"
#include "cli/workload.h"
#include "dns/name.h"
#include "dns/rdata.h"

#define TICK_US 250000ULL
#define DRAIN_MAX_US (300ULL * 1000000)
#define ROUND_GAP_US (2ULL * 1000000)
#define REPAIR_MAX_US (300ULL * 1000000)
#define SCAN_MAX_US (3600ULL * 1000000)

struct rec {
	uint8_t key[DDNS_ID_LEN];
	uint8_t *blk;
	size_t len;
	bool acked;       /* its first put was acknowledged */
	bool lost;        /* had no live stored copy at some check */
	unsigned copies;  /* at the last count */
	UT_hash_handle hh;
};

struct member {
	size_t node;
	uint64_t end_us;
};

struct interval {
	size_t joins, departures, lookups, lookups_ok, gets, gets_ok;
	size_t available_min, full_min;
	struct ddns_samples lookup_lat, get_lat;
	double node_us;           /* live nodes x microseconds */
	uint64_t bytes0;
};

struct ctx {
	const struct simchurn_params *p;
	struct simnet *net;
	struct ddns_rng *rng;
	struct rec *rec, *by_key;
	size_t nrec;
	struct member *mem;
	size_t nmem, capmem;
	size_t outstanding;
	int err;
	struct simchurn_result *cr;
	struct simcrash_result *xr;
	struct interval iv;
	double mean_session_s;
};

void simchurn_params_default(struct simchurn_params *p)
{
	memset(p, 0, sizeof(*p));
	simnet_params_default(&p->net);
	p->nodes = 1000;
	p->records = 10000;
	p->parallel = 64;
	p->session_median_s = 3600;
	p->duration_s = 86400;
	p->lookup_rate = 10;
	p->get_rate = 10;
	p->republish_s = 3600;
	p->check_s = 30;
	p->sample_s = 3600;
	p->crash_fraction = 0.25;
	p->crash_one = 100;
}

static uint64_t now_us(struct ctx *x) { return sim_now_us(simnet_sim(x->net)); }

static void progress(struct ctx *x, const char *fmt, double a, double b)
{
	if (!x->p->progress)
		return;
	fprintf(x->p->progress, "[%8.0f s] ", (double)now_us(x) / 1e6);
	fprintf(x->p->progress, fmt, a, b);
	fputc('\n', x->p->progress);
}

/* An exponential draw of the given mean, in microseconds (at least 1). */
static uint64_t draw_exp_us(struct ctx *x, double mean_s)
{
	double u = ddns_rng_double(x->rng);
	double v = -log(1.0 - u) * mean_s * 1e6;
	return v < 1 ? 1 : (uint64_t)v;
}

/* A session length: exponential or Weibull(k) with the given median. */
static uint64_t draw_session_us(struct ctx *x)
{
	double m = x->p->session_median_s, k = x->p->weibull_k;
	if (k <= 0)
		return draw_exp_us(x, m / M_LN2);
	double scale = m / pow(M_LN2, 1.0 / k);
	double u = ddns_rng_double(x->rng);
	double v = scale * pow(-log(1.0 - u), 1.0 / k) * 1e6;
	return v < 1 ? 1 : (uint64_t)v;
}

static double mean_session_s(const struct simchurn_params *p)
{
	if (p->weibull_k <= 0)
		return p->session_median_s / M_LN2;
	double scale = p->session_median_s / pow(M_LN2, 1.0 / p->weibull_k);
	return scale * tgamma(1.0 + 1.0 / p->weibull_k);
}

static struct dht *dht_at(struct ctx *x, size_t node)
{
	unsigned v = simnet_vnodes(x->net);
	return simnet_dht_vnode(x->net, node, v > 1 ? (unsigned)ddns_rng_below(x->rng, v) : 0);
}

/* ---- records ---- */

static int make_records(struct ctx *x)
{
	struct wl_names names;
	int err = wl_names_generate(x->p->records ? x->p->records : 1, x->p->net.seed, &names);
	if (err)
		return err;
	x->rec = calloc(x->p->records ? x->p->records : 1, sizeof(*x->rec));
	if (!x->rec) {
		wl_names_free(&names);
		return -ENOMEM;
	}
	for (size_t i = 0; i < x->p->records && !err; i++) {
		char name[300];
		struct ddns_wbuf w;
		snprintf(name, sizeof(name), "h%zu.%s", i, names.name[i]);
		ddns_wbuf_init(&w, DHT_MAX_BLOCK);
		struct rec *r = &x->rec[x->nrec];
		err = simdns_block(name, DNS_T_A, &w, r->key);
		if (!err && !(r->blk = malloc(w.len)))
			err = -ENOMEM;
		if (!err) {
			memcpy(r->blk, w.p, w.len);
			r->len = w.len;
			struct rec *dup;
			HASH_FIND(hh, x->by_key, r->key, DDNS_ID_LEN, dup);
			if (dup) {
				free(r->blk);
			} else {
				HASH_ADD(hh, x->by_key, key, DDNS_ID_LEN, r);
				x->nrec++;
			}
		}
		ddns_wbuf_free(&w);
	}
	wl_names_free(&names);
	return err;
}

static void count_one(void *arg, const uint8_t key[DHT_KEY_LEN], uint64_t version)
{
	struct ctx *x = arg;
	(void)version;
	struct rec *r;
	HASH_FIND(hh, x->by_key, key, DDNS_ID_LEN, r);
	if (r)
		r->copies++;
}

/* Call fn on every live DHT instance (every vnode of every live node). */
static void each_dht(struct ctx *x, void (*fn)(struct ctx *x, struct dht *d))
{
	size_t n = simnet_size(x->net);
	for (size_t i = 0; i < n; i++)
		for (unsigned v = 0; v < simnet_vnodes(x->net); v++) {
			struct dht *d = simnet_dht_vnode(x->net, i, v);
			if (d)
				fn(x, d);
		}
}

static void count_node(struct ctx *x, struct dht *d) { dht_stored_each(d, count_one, x); }
static void maintain_node(struct ctx *x, struct dht *d)
{
	(void)x;
	dht_maintain(d);
}

/* Count each record's stored copies on live nodes. Returns how many
 * acknowledged records have at least one, and in *full how many have r. */
static size_t count_copies(struct ctx *x, size_t *full)
{
	for (size_t i = 0; i < x->nrec; i++)
		x->rec[i].copies = 0;
	each_dht(x, count_node);
	size_t avail = 0, f = 0;
	unsigned r = x->p->net.dht.replicas;
	for (size_t i = 0; i < x->nrec; i++) {
		if (!x->rec[i].acked)
			continue;
		avail += x->rec[i].copies > 0;
		f += x->rec[i].copies >= r;
	}
	if (full)
		*full = f;
	return avail;
}

/* ---- operations ---- */

enum op_kind { OP_PUT, OP_REPUBLISH, OP_GET, OP_SCAN, OP_LOOKUP };

struct op {
	struct ctx *x;
	enum op_kind kind;
	struct rec *r;
	uint64_t started;
	size_t *answered; /* OP_SCAN: counter of answered gets */
};

static struct op *op_new(struct ctx *x, enum op_kind kind, struct rec *r)
{
	struct op *o = malloc(sizeof(*o));
	if (!o) {
		x->err = -ENOMEM;
		return NULL;
	}
	o->x = x;
	o->kind = kind;
	o->r = r;
	o->started = now_us(x);
	o->answered = NULL;
	return o;
}

static void sample_add(struct ctx *x, struct ddns_samples *s, double v)
{
	if (ddns_samples_add(s, v))
		x->err = -ENOMEM;
}

static void put_done(void *arg, const struct dht_put_result *res)
{
	struct op *o = arg;
	struct ctx *x = o->x;
	if (o->kind == OP_PUT) {
		o->r->acked = res->status == 0;
		if (x->cr)
			res->status == 0 ? x->cr->puts_ok++ : x->cr->puts_failed++;
		if (x->xr && res->status == 0)
			x->xr->puts_ok++;
	} else if (res->status != DDNS_ECANCELLED) {
		x->cr->republished++;
		if (res->status != 0)
			x->cr->republish_failed++;
	}
	x->outstanding--;
	free(o);
}

static void start_put(struct ctx *x, struct rec *r, enum op_kind kind)
{
	struct op *o = op_new(x, kind, r);
	if (!o)
		return;
	if (dht_put(dht_at(x, simnet_random_live(x->net)), r->key, r->blk, r->len, put_done, o)) {
		free(o);
		x->err = -ENOMEM;
		return;
	}
	x->outstanding++;
}

static void get_done(void *arg, const struct dht_get_result *res)
{
	struct op *o = arg;
	struct ctx *x = o->x;
	double lat = (double)(now_us(x) - o->started);
	if (o->kind == OP_SCAN) {
		if (res->status == 0)
			(*o->answered)++;
		if (x->xr && o->answered == &x->xr->resolved_before) {
			sample_add(x, &x->xr->rpcs_before, res->rpcs);
			if (res->status == 0)
				sample_add(x, &x->xr->latency_before_us, lat);
		}
	} else if (res->status == DDNS_ECANCELLED) {
		x->cr->gets_cancelled++;
	} else {
		struct simchurn_result *r = x->cr;
		r->gets++;
		x->iv.gets++;
		if (res->status == 0) {
			r->gets_ok++;
			x->iv.gets_ok++;
			sample_add(x, &r->get_latency_us, lat);
			sample_add(x, &x->iv.get_lat, lat);
		} else {
			r->gets_failed++;
		}
		sample_add(x, &r->get_rpcs, res->rpcs);
	}
	x->outstanding--;
	free(o);
}

static void start_get(struct ctx *x, struct rec *r, enum op_kind kind, size_t *answered)
{
	struct op *o = op_new(x, kind, r);
	if (!o)
		return;
	o->answered = answered;
	if (dht_get(dht_at(x, simnet_random_live(x->net)), r->key, get_done, o)) {
		free(o);
		x->err = -ENOMEM;
		return;
	}
	x->outstanding++;
}

static void lookup_done(void *arg, const struct ovl_lookup_result *res)
{
	struct op *o = arg;
	struct ctx *x = o->x;
	struct simchurn_result *r = x->cr;
	if (res->status == DDNS_ECANCELLED) {
		r->lookups_cancelled++;
	} else {
		r->lookups++;
		x->iv.lookups++;
		uint8_t want[DDNS_ID_LEN];
		double lat = (double)(now_us(x) - o->started);
		if (res->status != 0) {
			r->lookups_failed++;
		} else if (simnet_oracle_id(x->net, res->key, want) &&
			   memcmp(res->owner.id, want, DDNS_ID_LEN) == 0) {
			r->lookups_ok++;
			x->iv.lookups_ok++;
			sample_add(x, &r->lookup_latency_us, lat);
			sample_add(x, &x->iv.lookup_lat, lat);
		} else {
			r->lookups_wrong++;
		}
		sample_add(x, &r->lookup_rpcs, res->rpcs);
	}
	x->outstanding--;
	free(o);
}

static void start_lookup(struct ctx *x)
{
	struct op *o = op_new(x, OP_LOOKUP, NULL);
	if (!o)
		return;
	uint8_t key[DDNS_ID_LEN];
	for (size_t i = 0; i < DDNS_ID_LEN; i += 8) {
		uint64_t v = ddns_rng_next(x->rng);
		memcpy(key + i, &v, DDNS_ID_LEN - i < 8 ? DDNS_ID_LEN - i : 8);
	}
	size_t node = simnet_random_live(x->net);
	unsigned nv = simnet_vnodes(x->net);
	struct ovl *ov = simnet_ovl_vnode(x->net, node, nv > 1 ? (unsigned)ddns_rng_below(x->rng, nv) : 0);
	if (ovl_lookup(ov, key, NULL, lookup_done, o) != 0) {
		free(o);
		x->err = -ENOMEM;
		return;
	}
	x->outstanding++;
}

static bool idle(void *arg)
{
	struct ctx *x = arg;
	return x->outstanding == 0 || x->err;
}

static bool below_parallel(void *arg)
{
	struct ctx *x = arg;
	return x->outstanding < x->p->parallel || x->err;
}

/* Run until every operation in flight has ended (bounded: each ends by
 * itself through timeouts). */
static int drain(struct ctx *x, uint64_t max_us)
{
	if (!idle(x) && !sim_run_cond(simnet_sim(x->net), idle, x, max_us))
		return DDNS_ETIMEDOUT;
	return x->err;
}

/* Put every record once (owners publishing), parallel at a time. */
static int put_all(struct ctx *x)
{
	for (size_t i = 0; i < x->nrec && !x->err; i++) {
		if (!below_parallel(x) &&
		    !sim_run_cond(simnet_sim(x->net), below_parallel, x, SCAN_MAX_US))
			return DDNS_ETIMEDOUT;
		start_put(x, &x->rec[i], OP_PUT);
	}
	return drain(x, SCAN_MAX_US);
}

/* Get every acknowledged record once from a random live node. */
static int scan(struct ctx *x, size_t *answered)
{
	*answered = 0;
	for (size_t i = 0; i < x->nrec && !x->err; i++) {
		if (!x->rec[i].acked)
			continue;
		if (!below_parallel(x) &&
		    !sim_run_cond(simnet_sim(x->net), below_parallel, x, SCAN_MAX_US))
			return DDNS_ETIMEDOUT;
		start_get(x, &x->rec[i], OP_SCAN, answered);
	}
	return drain(x, SCAN_MAX_US);
}

static int setup(struct ctx *x, const struct simchurn_params *p, struct simnet_params *np,
		 struct simchurn_result *cr, struct simcrash_result *xr)
{
	memset(x, 0, sizeof(*x));
	x->p = p;
	x->cr = cr;
	x->xr = xr;
	*np = p->net;
	np->validate = simdns_validate_nocrypto;
	np->validate_arg = NULL;
	int err = make_records(x);
	if (err)
		return err;
	if (!(x->net = simnet_new(np)))
		return -ENOMEM;
	x->rng = sim_rng(simnet_sim(x->net));
	progress(x, "building %.0f nodes, %.0f records", (double)p->nodes, (double)x->nrec);
	if ((err = simnet_grow(x->net, p->nodes)) != 0)
		return err;
	return put_all(x);
}

static void teardown(struct ctx *x)
{
	simnet_free(x->net);
	struct rec *r, *tmp;
	HASH_ITER(hh, x->by_key, r, tmp) {
		HASH_DEL(x->by_key, r);
	}
	for (size_t i = 0; i < x->nrec; i++)
		free(x->rec[i].blk);
	free(x->rec);
	free(x->mem);
	ddns_samples_free(&x->iv.lookup_lat);
	ddns_samples_free(&x->iv.get_lat);
}

/* ---- churn ---- */

static int member_add(struct ctx *x, size_t node)
{
	if (x->nmem == x->capmem) {
		size_t cap = x->capmem ? 2 * x->capmem : 1024;
		struct member *m = realloc(x->mem, cap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		x->mem = m;
		x->capmem = cap;
	}
	x->mem[x->nmem].node = node;
	x->mem[x->nmem].end_us = now_us(x) + draw_session_us(x);
	x->nmem++;
	return 0;
}

/* Check availability now: update the lost flags and the minima. */
static void check(struct ctx *x)
{
	size_t full = 0, avail = count_copies(x, &full);
	struct simchurn_result *r = x->cr;
	r->checks++;
	size_t lost_now = 0;
	for (size_t i = 0; i < x->nrec; i++) {
		struct rec *rc = &x->rec[i];
		if (rc->acked && rc->copies == 0) {
			lost_now++;
			if (!rc->lost)
				r->records_lost++;
			rc->lost = true;
		}
	}
	r->lost_at_end = lost_now;
	if (avail < r->available_min)
		r->available_min = avail;
	if (full < r->full_min)
		r->full_min = full;
	if (avail < x->iv.available_min)
		x->iv.available_min = avail;
	if (full < x->iv.full_min)
		x->iv.full_min = full;
}

static void interval_reset(struct ctx *x)
{
	struct sim_stats st;
	sim_get_stats(simnet_sim(x->net), &st);
	ddns_samples_free(&x->iv.lookup_lat);
	ddns_samples_free(&x->iv.get_lat);
	memset(&x->iv, 0, sizeof(x->iv));
	ddns_samples_init(&x->iv.lookup_lat);
	ddns_samples_init(&x->iv.get_lat);
	x->iv.available_min = x->iv.full_min = SIZE_MAX;
	x->iv.bytes0 = st.bytes_sent;
}

static int interval_close(struct ctx *x, double t_s)
{
	struct simchurn_result *r = x->cr;
	struct simchurn_sample *s = realloc(r->samples, (r->nsamples + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	r->samples = s;
	s = &s[r->nsamples++];
	memset(s, 0, sizeof(*s));
	struct sim_stats st;
	sim_get_stats(simnet_sim(x->net), &st);
	struct ddns_dist ld, gd;
	ddns_samples_dist(&x->iv.lookup_lat, &ld);
	ddns_samples_dist(&x->iv.get_lat, &gd);
	s->t_s = t_s;
	s->live = simnet_live(x->net);
	s->joins = x->iv.joins;
	s->departures = x->iv.departures;
	s->lookups = x->iv.lookups;
	s->lookups_ok = x->iv.lookups_ok;
	s->gets = x->iv.gets;
	s->gets_ok = x->iv.gets_ok;
	s->lookup_ms_median = ld.median / 1000;
	s->lookup_ms_p99 = ld.p99 / 1000;
	s->get_ms_median = gd.median / 1000;
	s->available_min = x->iv.available_min == SIZE_MAX ? 0 : x->iv.available_min;
	s->full_min = x->iv.full_min == SIZE_MAX ? 0 : x->iv.full_min;
	s->bytes_per_node_s = x->iv.node_us > 0 ? (double)(st.bytes_sent - x->iv.bytes0) / (x->iv.node_us / 1e6) : 0;
	if (x->p->progress)
		fprintf(x->p->progress,
			"[%6.2f h] live %zu, +%zu -%zu; lookups %zu/%zu ok; gets %zu/%zu ok; "
			"records available >= %zu, on r nodes >= %zu; %.0f B/s per node\n",
			t_s / 3600, s->live, s->joins, s->departures, s->lookups_ok, s->lookups,
			s->gets_ok, s->gets, s->available_min, s->full_min, s->bytes_per_node_s);
	interval_reset(x);
	return 0;
}

static int churn_loop(struct ctx *x)
{
	const struct simchurn_params *p = x->p;
	struct simchurn_result *r = x->cr;
	uint64_t t0 = now_us(x), end = t0 + (uint64_t)(p->duration_s * 1e6);
	double mean_join_s = x->mean_session_s / (double)p->nodes;
	uint64_t next_join = t0 + draw_exp_us(x, mean_join_s);
	uint64_t next_lookup = p->lookup_rate > 0 ? t0 + draw_exp_us(x, 1 / p->lookup_rate) : UINT64_MAX;
	uint64_t next_get = p->get_rate > 0 ? t0 + draw_exp_us(x, 1 / p->get_rate) : UINT64_MAX;
	uint64_t rep_gap = p->republish_s > 0 && x->nrec ? (uint64_t)(p->republish_s * 1e6 / (double)x->nrec) : 0;
	uint64_t next_rep = rep_gap ? t0 + rep_gap : UINT64_MAX;
	size_t rep_idx = 0;
	uint64_t check_us = (uint64_t)(p->check_s * 1e6), sample_us = (uint64_t)(p->sample_s * 1e6);
	uint64_t next_check = t0 + check_us, next_sample = t0 + sample_us;
	struct sim_stats st0, st1;
	sim_get_stats(simnet_sim(x->net), &st0);
	double node_us_total = 0;
	r->live_min = r->live_max = simnet_live(x->net);
	interval_reset(x);
	for (uint64_t now = t0; now < end && !x->err; now = now_us(x)) {
		/* departures: a crash, no one is told */
		for (size_t i = 0; i < x->nmem;) {
			if (x->mem[i].end_us > now || simnet_live(x->net) <= 1) {
				i++;
				continue;
			}
			simnet_crash(x->net, x->mem[i].node);
			x->mem[i] = x->mem[--x->nmem];
			r->departures++;
			x->iv.departures++;
		}
		while (next_join <= now && !x->err) {
			int err = simnet_add(x->net);
			if (!err)
				err = member_add(x, simnet_size(x->net) - 1);
			if (err)
				return err;
			r->joins++;
			x->iv.joins++;
			next_join += draw_exp_us(x, mean_join_s);
		}
		size_t live = simnet_live(x->net);
		if (live < r->live_min)
			r->live_min = live;
		if (live > r->live_max)
			r->live_max = live;
		for (; next_lookup <= now && !x->err; next_lookup += draw_exp_us(x, 1 / p->lookup_rate))
			start_lookup(x);
		for (; next_get <= now && !x->err; next_get += draw_exp_us(x, 1 / p->get_rate)) {
			/* a random acknowledged record (records are nearly all acknowledged) */
			struct rec *rc = &x->rec[ddns_rng_below(x->rng, x->nrec)];
			if (rc->acked)
				start_get(x, rc, OP_GET, NULL);
		}
		for (; next_rep <= now && !x->err; next_rep += rep_gap) {
			start_put(x, &x->rec[rep_idx], OP_REPUBLISH);
			rep_idx = (rep_idx + 1) % x->nrec;
		}
		if (now >= next_check) {
			check(x);
			next_check += check_us;
		}
		if (now >= next_sample) {
			int err = interval_close(x, (double)(now - t0) / 1e6);
			if (err)
				return err;
			next_sample += sample_us;
		}
		uint64_t step = end - now < TICK_US ? end - now : TICK_US;
		simnet_run(x->net, step);
		x->iv.node_us += (double)live * (double)step;
		node_us_total += (double)live * (double)step;
	}
	if (x->err)
		return x->err;
	int err = drain(x, DRAIN_MAX_US);
	if (err)
		return err;
	check(x);
	if (x->iv.lookups || x->iv.gets || x->iv.joins || x->iv.departures)
		if ((err = interval_close(x, p->duration_s)) != 0)
			return err;
	sim_get_stats(simnet_sim(x->net), &st1);
	r->bytes_per_node_s = node_us_total > 0 ? (double)(st1.bytes_sent - st0.bytes_sent) / (node_us_total / 1e6) : 0;
	return 0;
}

int simchurn_run(const struct simchurn_params *p, struct simchurn_result *r)
{
	memset(r, 0, sizeof(*r));
	ddns_samples_init(&r->lookup_rpcs);
	ddns_samples_init(&r->lookup_latency_us);
	ddns_samples_init(&r->get_rpcs);
	ddns_samples_init(&r->get_latency_us);
	r->available_min = r->full_min = SIZE_MAX;
	if (p->nodes < 2 || p->records == 0 || !(p->session_median_s > 0) || !(p->duration_s > 0) ||
	    !(p->check_s > 0) || !(p->sample_s > 0) || p->parallel == 0)
		return -EINVAL;
	struct ctx x;
	struct simnet_params np;
	int err = setup(&x, p, &np, r, NULL);
	r->nodes = p->nodes;
	r->records = x.nrec;
	if (!err) {
		x.mean_session_s = mean_session_s(p);
		for (size_t i = 0; i < simnet_size(x.net) && !err; i++)
			if (simnet_alive(x.net, i))
				err = member_add(&x, i);
	}
	if (!err) {
		progress(&x, "churn: median session %.0f s for %.0f s", p->session_median_s, p->duration_s);
		err = churn_loop(&x);
	}
	if (x.net)
		r->sim_seconds = (double)now_us(&x) / 1e6;
	if (r->available_min == SIZE_MAX)
		r->available_min = 0;
	if (r->full_min == SIZE_MAX)
		r->full_min = 0;
	teardown(&x);
	return err;
}

void simchurn_result_free(struct simchurn_result *r)
{
	ddns_samples_free(&r->lookup_rpcs);
	ddns_samples_free(&r->lookup_latency_us);
	ddns_samples_free(&r->get_rpcs);
	ddns_samples_free(&r->get_latency_us);
	free(r->samples);
	memset(r, 0, sizeof(*r));
}

/* ---- crash ---- */

/* Records kept (had a copy) whose copies are not yet r. */
static size_t misplaced(struct ctx *x, const bool *kept)
{
	count_copies(x, NULL);
	size_t bad = 0;
	for (size_t i = 0; i < x->nrec; i++)
		if (kept[i] && x->rec[i].copies < x->p->net.dht.replicas)
			bad++;
	return bad;
}

/* Repair rounds on every live node, ROUND_GAP_US apart, until every kept
 * record is on r live nodes (or REPAIR_MAX_US). Returns the time taken. */
static double repair(struct ctx *x, const bool *kept)
{
	uint64_t t0 = now_us(x);
	do {
		each_dht(x, maintain_node);
		simnet_run(x->net, ROUND_GAP_US);
	} while (misplaced(x, kept) && now_us(x) - t0 < REPAIR_MAX_US);
	return (double)(now_us(x) - t0) / 1e6;
}

int simchurn_crash_run(const struct simchurn_params *p, struct simcrash_result *r)
{
	memset(r, 0, sizeof(*r));
	ddns_samples_init(&r->rpcs_before);
	ddns_samples_init(&r->latency_before_us);
	if (p->nodes < 2 || p->records == 0 || !(p->crash_fraction >= 0 && p->crash_fraction < 1) ||
	    p->parallel == 0)
		return -EINVAL;
	struct simchurn_params q = *p;
	/* Repair only when the experiment says so: no timer, and the change
	 * trigger pushed out of the run. */
	q.net.dht.maint_us = 0;
	q.net.dht.change_delay_us = 365ULL * 86400 * 1000000;
	struct ctx x;
	struct simnet_params np;
	bool *kept = NULL;
	/* progress() and the repair loop read x.p: the adjusted parameters */
	int err = setup(&x, &q, &np, NULL, r);
	r->nodes = p->nodes;
	r->records = x.nrec;
	if (!err && !(kept = calloc(x.nrec ? x.nrec : 1, sizeof(bool))))
		err = -ENOMEM;
	if (!err) {
		r->crashed = simnet_crash_fraction(x.net, p->crash_fraction);
		count_copies(&x, NULL);
		for (size_t i = 0; i < x.nrec; i++) {
			kept[i] = x.rec[i].acked && x.rec[i].copies > 0;
			r->kept += kept[i];
		}
		progress(&x, "crashed %.0f nodes at once; %.0f records kept a copy", (double)r->crashed,
			 (double)r->kept);
		err = scan(&x, &r->resolved_before);
	}
	if (!err) {
		progress(&x, "before repair: %.0f of %.0f records resolved", (double)r->resolved_before,
			 (double)r->puts_ok);
		r->repair_s = repair(&x, kept);
		r->full_after = x.nrec - misplaced(&x, kept);
		for (size_t i = 0; i < x.nrec; i++)
			r->full_after -= !kept[i];
		err = scan(&x, &r->resolved_after);
	}
	if (!err) {
		progress(&x, "after %.0f s of repair: %.0f records resolved", r->repair_s,
			 (double)r->resolved_after);
		double sum = 0;
		for (size_t k = 0; k < p->crash_one && simnet_live(x.net) > 1; k++) {
			simnet_crash(x.net, simnet_random_live(x.net));
			r->one_crashes++;
			double t = repair(&x, kept);
			sum += t;
			if (t > r->one_repair_s_max)
				r->one_repair_s_max = t;
		}
		r->one_repair_s_mean = r->one_crashes ? sum / (double)r->one_crashes : 0;
		count_copies(&x, NULL);
		for (size_t i = 0; i < x.nrec; i++)
			r->one_lost += kept[i] && x.rec[i].copies == 0;
		err = scan(&x, &r->one_resolved);
		progress(&x, "%.0f crashes one at a time: %.0f kept records lost", (double)r->one_crashes,
			 (double)r->one_lost);
	}
	if (x.net)
		r->sim_seconds = (double)now_us(&x) / 1e6;
	free(kept);
	teardown(&x);
	return err;
}

void simcrash_result_free(struct simcrash_result *r)
{
	ddns_samples_free(&r->rpcs_before);
	ddns_samples_free(&r->latency_before_us);
	memset(r, 0, sizeof(*r));
}
