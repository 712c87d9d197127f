/*
 * bench_dht.c - benchmark of the DHT layer (dht/) on the simulator (not a
 * test): every node of an N-node simulated network runs the real overlay
 * and DHT code; B blocks are put from random nodes, then G gets of random
 * blocks run from random nodes.
 *
 * Prints, per overlay:
 *  - puts and gets per CPU second of the process (the figure that does not
 *    depend on other jobs sharing the machine) and per wall-clock second,
 *    with their mean RPCs and hops;
 *  - bytes of memory per stored block copy beyond the block's own bytes
 *    (the store's bookkeeping, dht_stats.overhead_bytes, and the growth of
 *    the resident set during the puts, which also counts the allocator's
 *    slack and the routing state learned meanwhile, both per copy);
 *  - storage balance: blocks each node is responsible for (the paper's
 *    Figure 1 measure: median and max over nodes) and all copies it stores
 *    with r replicas.
 * The validation hook only checks the block's framing, so the figures are
 * the DHT's and the overlay's, not DNSSEC's (bench_dnssec measures that).
 *
 *   bench/bench_dht [--overlay chord|kad16|both] [--nodes N] [--blocks B]
 *                   [--gets G] [--parallel P] [--seed X]
 * Defaults: both overlays, 1,000 nodes, 120,000 blocks, 100,000 gets,
 * 500 operations in flight. Build with `make bench` in a build configured
 * without sanitizers. Run one overlay per process for the resident-set
 * figure (memory freed by the first run is reused by the second).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/simnet.h"
#include "common/buf.h"
#include "common/hash.h"
#include "common/stats.h"
#include "dht/dht.h"

struct opts {
	const char *overlay;
	size_t nodes, blocks, gets, parallel;
	uint64_t seed;
};

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the process: the rate that does not depend on how many other
 * jobs share the machine. */
static double cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident set in bytes (VmRSS), 0 if unknown. */
static unsigned long long vm_rss(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long kb = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/* Block: zone_len(1) zone version(8) expire_us(8) name(4) payload; its key
 * is SHA-1 of the 4-byte name. */
#define ZONE "bench."
#define PAYLOAD 120

static size_t make_block(uint8_t *out, uint32_t name)
{
	struct ddns_wbuf w;
	ddns_wbuf_init_fixed(&w, out, 64 + PAYLOAD);
	ddns_wbuf_u8(&w, (uint8_t)strlen(ZONE));
	ddns_wbuf_put(&w, ZONE, strlen(ZONE));
	ddns_wbuf_u64(&w, 1);
	ddns_wbuf_u64(&w, UINT64_MAX / 2);
	ddns_wbuf_u32(&w, name);
	for (size_t i = 0; i < PAYLOAD; i++)
		ddns_wbuf_u8(&w, (uint8_t)(name + i));
	return w.len;
}

static void block_key(uint32_t name, uint8_t key[DHT_KEY_LEN])
{
	uint8_t b[4] = {(uint8_t)(name >> 24), (uint8_t)(name >> 16), (uint8_t)(name >> 8),
			(uint8_t)name};
	ddns_sha1(b, sizeof(b), key);
}

static void validate(void *arg, struct dht *d, const uint8_t key[DHT_KEY_LEN], const uint8_t *blk,
		     size_t len, dht_validate_done_cb done, void *done_arg)
{
	(void)arg;
	(void)d;
	(void)key;
	struct ddns_rbuf r;
	struct dht_block_meta m;
	memset(&m, 0, sizeof(m));
	ddns_rbuf_init(&r, blk, len);
	m.zone_len = ddns_rbuf_u8(&r);
	ddns_rbuf_copy(&r, m.zone, m.zone_len);
	m.version = ddns_rbuf_u64(&r);
	m.expire_us = ddns_rbuf_u64(&r);
	if (r.err) {
		done(done_arg, DDNS_EMALFORMED, NULL);
		return;
	}
	done(done_arg, 0, &m);
}

struct batch {
	size_t outstanding, ok, failed;
	struct ddns_samples rpcs, hops;
};

static bool batch_low(void *arg)
{
	struct batch *b = arg;
	return b->outstanding == 0;
}

static void put_cb(void *arg, const struct dht_put_result *res)
{
	struct batch *b = arg;
	b->outstanding--;
	if (res->status == 0)
		b->ok++;
	else
		b->failed++;
	(void)ddns_samples_add(&b->rpcs, res->rpcs);
	(void)ddns_samples_add(&b->hops, res->hops);
}

static void get_cb(void *arg, const struct dht_get_result *res)
{
	struct batch *b = arg;
	b->outstanding--;
	if (res->status == 0)
		b->ok++;
	else
		b->failed++;
	(void)ddns_samples_add(&b->rpcs, res->rpcs);
	(void)ddns_samples_add(&b->hops, res->hops);
}

/* Keep at most parallel operations in flight: step the simulator until
 * fewer than that are outstanding. */
static void throttle(struct simnet *n, struct batch *b, size_t parallel)
{
	while (b->outstanding >= parallel)
		if (!sim_step(simnet_sim(n)))
			break;
}

static void drain(struct simnet *n, struct batch *b)
{
	while (b->outstanding)
		if (!sim_run_cond(simnet_sim(n), batch_low, b, 3600ULL * 1000000))
			break;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int run(const struct opts *o, const char *name)
{
	struct simnet_params sp;
	simnet_params_default(&sp);
	sp.ops = ovl_ops_by_name(name);
	sp.seed = o->seed;
	sp.join_gap_us = 50000;
	sp.settle_us = 30000000;
	sp.validate = validate;
	sp.dht.maint_us = 0; /* no periodic maintenance: the puts place every copy */
	struct simnet *n = simnet_new(&sp);
	if (!n || simnet_grow(n, o->nodes) != 0) {
		fprintf(stderr, "bench_dht: cannot build the %s network\n", name);
		simnet_free(n);
		return 1;
	}
	struct ddns_rng *rng = sim_rng(simnet_sim(n));
	uint8_t blk[64 + PAYLOAD], key[DHT_KEY_LEN];

	unsigned long long mem0 = vm_rss();
	struct batch pb;
	memset(&pb, 0, sizeof(pb));
	ddns_samples_init(&pb.rpcs);
	ddns_samples_init(&pb.hops);
	size_t blen = 0;
	double t0 = wall(), c0 = cpu();
	for (uint32_t i = 0; i < o->blocks; i++) {
		blen = make_block(blk, i);
		block_key(i, key);
		struct dht *d = simnet_dht(n, simnet_random_live(n));
		if (dht_put(d, key, blk, blen, put_cb, &pb) == 0)
			pb.outstanding++;
		else
			pb.failed++;
		throttle(n, &pb, o->parallel);
	}
	drain(n, &pb);
	double tput = wall() - t0, cput = cpu() - c0;
	unsigned long long mem1 = vm_rss();

	uint64_t *own = calloc(o->nodes, sizeof(uint64_t)), *all = calloc(o->nodes, sizeof(uint64_t));
	uint64_t overhead = 0, copies = 0;
	for (size_t i = 0; i < o->nodes; i++) {
		struct dht_stats st;
		dht_get_stats(simnet_dht(n, i), &st);
		own[i] = st.blocks_primary;
		all[i] = st.blocks_primary + st.blocks_replica;
		overhead += st.overhead_bytes;
		copies += all[i];
	}
	qsort(own, o->nodes, sizeof(uint64_t), cmp_u64);
	qsort(all, o->nodes, sizeof(uint64_t), cmp_u64);

	struct batch gb;
	memset(&gb, 0, sizeof(gb));
	ddns_samples_init(&gb.rpcs);
	ddns_samples_init(&gb.hops);
	t0 = wall();
	c0 = cpu();
	for (size_t i = 0; i < o->gets; i++) {
		block_key((uint32_t)ddns_rng_below(rng, o->blocks), key);
		struct dht *d = simnet_dht(n, simnet_random_live(n));
		if (dht_get(d, key, get_cb, &gb) == 0)
			gb.outstanding++;
		else
			gb.failed++;
		throttle(n, &gb, o->parallel);
	}
	drain(n, &gb);
	double tget = wall() - t0, cget = cpu() - c0;

	struct ddns_dist pr, ph, gr, gh;
	ddns_samples_dist(&pb.rpcs, &pr);
	ddns_samples_dist(&pb.hops, &ph);
	ddns_samples_dist(&gb.rpcs, &gr);
	ddns_samples_dist(&gb.hops, &gh);
	printf("%s: %zu nodes, %zu blocks of %zu bytes, r = 6\n", name, o->nodes, o->blocks, blen);
	printf("  puts: %zu ok, %zu failed, %.0f puts per CPU second (%.0f per wall second), "
	       "RPCs mean %.2f, hops mean %.2f\n",
	       pb.ok, pb.failed, (double)o->blocks / cput, (double)o->blocks / tput, pr.mean, ph.mean);
	printf("  gets: %zu ok, %zu failed, %.0f gets per CPU second (%.0f per wall second), "
	       "RPCs mean %.2f, hops mean %.2f\n",
	       gb.ok, gb.failed, (double)o->gets / cget, (double)o->gets / tget, gr.mean, gh.mean);
	printf("  memory per stored copy beyond its %zu bytes: store bookkeeping %.0f bytes; "
	       "resident set growth %.0f bytes per copy (%llu copies)\n",
	       blen, copies ? (double)overhead / (double)copies : 0.0,
	       copies && mem1 > mem0 ? (double)(mem1 - mem0) / (double)copies - (double)blen : 0.0,
	       (unsigned long long)copies);
	printf("  storage balance: blocks owned per node median %llu, max %llu, min %llu; "
	       "copies stored per node median %llu, max %llu, min %llu\n",
	       (unsigned long long)own[o->nodes / 2], (unsigned long long)own[o->nodes - 1],
	       (unsigned long long)own[0], (unsigned long long)all[o->nodes / 2],
	       (unsigned long long)all[o->nodes - 1], (unsigned long long)all[0]);
	free(own);
	free(all);
	ddns_samples_free(&pb.rpcs);
	ddns_samples_free(&pb.hops);
	ddns_samples_free(&gb.rpcs);
	ddns_samples_free(&gb.hops);
	simnet_free(n);
	return pb.failed || gb.failed ? 1 : 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: bench_dht [--overlay chord|kad16|both] [--nodes N] [--blocks B] "
			"[--gets G] [--parallel P] [--seed X]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct opts o = {.overlay = "both", .nodes = 1000, .blocks = 120000, .gets = 100000,
			 .parallel = 500, .seed = 1};
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			return usage();
		const char *a = argv[i], *v = argv[++i];
		char *end = NULL;
		unsigned long long x = strtoull(v, &end, 10);
		bool num = end && *end == 0 && *v;
		if (strcmp(a, "--overlay") == 0)
			o.overlay = v;
		else if (strcmp(a, "--nodes") == 0 && num && x >= 2)
			o.nodes = x;
		else if (strcmp(a, "--blocks") == 0 && num && x >= 1 && x <= UINT32_MAX)
			o.blocks = x;
		else if (strcmp(a, "--gets") == 0 && num)
			o.gets = x;
		else if (strcmp(a, "--parallel") == 0 && num && x >= 1)
			o.parallel = x;
		else if (strcmp(a, "--seed") == 0 && num)
			o.seed = x;
		else
			return usage();
	}
	int rc = 0;
	if (strcmp(o.overlay, "both") == 0 || strcmp(o.overlay, "chord") == 0)
		rc |= run(&o, "chord");
	if (strcmp(o.overlay, "both") == 0 || strcmp(o.overlay, "kad16") == 0)
		rc |= run(&o, "kad16");
	if (strcmp(o.overlay, "both") != 0 && strcmp(o.overlay, "chord") != 0 &&
	    strcmp(o.overlay, "kad16") != 0)
		return usage();
	return rc;
}
