/*
 * bench_sim.c - micro-benchmark of the simulator transport (not a test).
 *
 * Phase 1 (RPC): N nodes, each with an RPC layer and an echo service; every
 * node calls a random other node on a periodic timer (period drawn per node
 * in [0.5, 1.5) s of virtual time) for the given virtual duration. Latency
 * comes from a measured RTT matrix when one is given, else 10 ms one way.
 * Phase 2 (burst): every node sends `burst` raw datagrams at once, so the
 * queue holds N * burst events, then the queue drains.
 *
 * Prints events per wall-clock second, the peak queue length, and bytes per
 * node (peak resident set VmHWM from /proc/self/status, divided by N) after
 * each phase. Build with `make bench`; run without sanitizers for figures.
 *
 *   bench/bench_sim [--nodes N] [--seconds S] [--burst K] [--seed X]
 *                   [--matrix FILE]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "overlay/rpc.h"
#include "overlay/sim.h"

struct bnode {
	struct tr *t;
	struct rpc *rpc;
	struct tr_timer *tick;
	struct bench *b;
	uint32_t i;
};

struct bench {
	struct sim *s;
	struct bnode *n;
	uint32_t count;
	uint64_t ok, failed;
};

static double wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Peak resident set in bytes (VmHWM), 0 if unknown. */
static unsigned long long vm_hwm(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long kb = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

static void echo_cb(void *arg, const struct rpc_msg *req)
{
	struct bnode *nd = arg;
	(void)rpc_reply(nd->rpc, req, 2, req->payload, req->len);
}

static void reply_cb(void *arg, int status, const struct rpc_msg *reply)
{
	struct bench *b = arg;
	(void)reply;
	if (status == 0)
		b->ok++;
	else
		b->failed++;
}

static void tick_cb(void *arg)
{
	struct bnode *nd = arg;
	struct bench *b = nd->b;
	uint32_t to = (uint32_t)tr_random_below(nd->t, b->count - 1);
	if (to >= nd->i)
		to++;
	uint8_t payload[32];
	for (size_t k = 0; k < sizeof(payload); k++)
		payload[k] = (uint8_t)k;
	struct rpc_call c = {
		.to = *tr_self(b->n[to].t),
		.overlay = RPC_OVL_NONE,
		.service = RPC_SVC_OVERLAY,
		.type = 1,
		.payload = payload,
		.len = sizeof(payload),
		.retries = -1,
	};
	if (rpc_call(nd->rpc, &c, reply_cb, b, NULL) != 0)
		b->failed++;
}

static void report(const char *phase, struct bench *b, uint64_t events, double secs)
{
	struct sim_stats st;
	sim_get_stats(b->s, &st);
	unsigned long long hwm = vm_hwm();
	printf("%-5s events %llu in %.2f s wall: %.0f events/s; queue peak %zu; "
	       "VmHWM %.1f MiB = %llu bytes/node\n",
	       phase, (unsigned long long)events, secs, secs > 0 ? (double)events / secs : 0.0,
	       st.queue_peak, (double)hwm / 1048576.0, hwm / b->count);
}

int main(int argc, char **argv)
{
	uint32_t nodes = 10000;
	uint64_t seconds = 60, burst = 100, seed = 1;
	const char *matrix = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help")) {
			printf("usage: %s [--nodes N] [--seconds S] [--burst K] [--seed X] "
			       "[--matrix FILE]\n",
			       argv[0]);
			return 0;
		}
		if (!v) {
			fprintf(stderr, "bench_sim: %s needs a value (or unknown option)\n", a);
			return 2;
		}
		if (!strcmp(a, "--nodes"))
			nodes = (uint32_t)strtoul(v, NULL, 10);
		else if (!strcmp(a, "--seconds"))
			seconds = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--burst"))
			burst = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--seed"))
			seed = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--matrix"))
			matrix = v;
		else {
			fprintf(stderr, "bench_sim: unknown option %s\n", a);
			return 2;
		}
		i++;
	}
	if (nodes < 2) {
		fprintf(stderr, "bench_sim: --nodes must be at least 2\n");
		return 2;
	}

	struct sim_latency *lat = NULL;
	if (matrix) {
		int err;
		lat = sim_latency_matrix_load(matrix, 1000, seed, &err);
		if (!lat) {
			fprintf(stderr, "bench_sim: %s: %s\n", matrix, ddns_strerror(err));
			return 1;
		}
	}
	struct sim_params sp;
	sim_params_default(&sp);
	sp.seed = seed;
	sp.latency = lat;
	struct bench b = {.count = nodes};
	b.s = sim_new(&sp);
	b.n = calloc(nodes, sizeof(*b.n));
	if (!b.s || !b.n) {
		fprintf(stderr, "bench_sim: out of memory\n");
		return 1;
	}
	for (uint32_t i = 0; i < nodes; i++) {
		struct tr_addr a = tr_addr_v4(0x0a000000u + i, 4000);
		struct bnode *nd = &b.n[i];
		nd->b = &b;
		nd->i = i;
		nd->t = sim_node_add(b.s, &a);
		nd->rpc = nd->t ? rpc_new(nd->t, NULL) : NULL;
		if (!nd->rpc ||
		    rpc_register(nd->rpc, RPC_OVL_NONE, RPC_SVC_OVERLAY, 0, echo_cb, nd) != 0) {
			fprintf(stderr, "bench_sim: node %u: setup failed\n", i);
			return 1;
		}
		uint64_t period = 500000 + tr_random_below(nd->t, 1000000);
		nd->tick = tr_timer_add(nd->t, tr_random_below(nd->t, period), period, tick_cb, nd);
		if (!nd->tick) {
			fprintf(stderr, "bench_sim: out of memory\n");
			return 1;
		}
	}
	printf("bench_sim: %u nodes, %llu s virtual, latency %s, seed %llu\n", nodes,
	       (unsigned long long)seconds, lat ? matrix : "constant 10 ms",
	       (unsigned long long)seed);

	double t0 = wall();
	uint64_t ev = sim_run_until(b.s, seconds * 1000000);
	double t1 = wall();
	report("rpc", &b, ev, t1 - t0);
	printf("      rpcs ok %llu, failed %llu, sim time %.1f s\n", (unsigned long long)b.ok,
	       (unsigned long long)b.failed, (double)sim_now_us(b.s) / 1e6);

	/* Phase 2: stop the RPC traffic, then a burst of raw datagrams. */
	for (uint32_t i = 0; i < nodes; i++) {
		tr_timer_cancel(b.n[i].t, b.n[i].tick);
		rpc_free(b.n[i].rpc);
		b.n[i].rpc = NULL;
		tr_set_recv(b.n[i].t, NULL, NULL);
	}
	sim_run_until(b.s, sim_now_us(b.s) + 120000000); /* drain */
	uint8_t payload[64] = {0};
	t0 = wall();
	for (uint32_t i = 0; i < nodes; i++)
		for (uint64_t k = 0; k < burst; k++) {
			uint32_t to = (uint32_t)ddns_rng_below(sim_rng(b.s), nodes);
			if (tr_send(b.n[i].t, tr_self(b.n[to].t), payload, sizeof(payload)) != 0) {
				fprintf(stderr, "bench_sim: send failed\n");
				return 1;
			}
		}
	struct sim_stats st;
	sim_get_stats(b.s, &st);
	size_t queued = st.queue_len;
	ev = sim_run_until(b.s, sim_now_us(b.s) + 120000000);
	t1 = wall();
	report("burst", &b, ev, t1 - t0);
	printf("      %zu datagrams queued at once (%llu per node, %zu-byte payloads)\n", queued,
	       (unsigned long long)burst, sizeof(payload));
	printf("trace hash %016llx\n", (unsigned long long)sim_trace_hash(b.s));

	sim_free(b.s);
	free(b.n);
	sim_latency_free(lat);
	return 0;
}
