/*
 * test_sim_rpc.c - the RPC layer (overlay/rpc.c) on the simulator: the
 * foundation's acceptance figures.
 *  (a) determinism: the same seed gives the same trace hash, another seed
 *      another one;
 *  (b) latency: a round trip is exactly the sum of the two one-way delays,
 *      as seen by rpc_msg.rtt_us and by the virtual clock;
 *  (c) loss: with 10% datagram loss, retransmission completes >= 99.9% of
 *      10,000 RPCs, and rpc_stats.timeouts counts exactly the failures;
 *  (d) crash: RPCs to a crashed node time out; after a restart they work.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/rpc.h"
#include "overlay/sim.h"

#define MAXN 100

struct net;

struct node {
	struct net *net;
	int i;
	struct tr *t;
	struct rpc *rpc;
};

struct net {
	struct sim *s;
	struct node n[MAXN];
	int count;
	struct rpc_params rp;
	/* outcomes of calls */
	uint64_t ok, failed, bad_payload;
	uint64_t target; /* run_calls: ok + failed to wait for */
};

/* Echo service: reply with the request's payload, type + 1. */
static void echo_cb(void *arg, const struct rpc_msg *req)
{
	struct node *nd = arg;
	ck_assert_int_eq(rpc_reply(nd->rpc, req, (uint8_t)(req->type + 1), req->payload, req->len), 0);
}

static void node_up(struct node *nd)
{
	nd->rpc = rpc_new(nd->t, &nd->net->rp);
	ck_assert_ptr_nonnull(nd->rpc);
	ck_assert_int_eq(rpc_register(nd->rpc, RPC_OVL_NONE, RPC_SVC_OVERLAY, 0, echo_cb, nd), 0);
}

static struct net *net_new(uint64_t seed, double loss, struct sim_latency *lat, int count,
			   const struct rpc_params *rp)
{
	struct net *net = calloc(1, sizeof(*net));
	ck_assert_ptr_nonnull(net);
	struct sim_params sp;
	sim_params_default(&sp);
	sp.seed = seed;
	sp.loss = loss;
	sp.latency = lat;
	net->s = sim_new(&sp);
	ck_assert_ptr_nonnull(net->s);
	if (rp)
		net->rp = *rp;
	else
		rpc_params_default(&net->rp);
	ck_assert_int_le(count, MAXN);
	net->count = count;
	for (int i = 0; i < count; i++) {
		struct node *nd = &net->n[i];
		struct tr_addr a = tr_addr_v4(0x0a000001u + (uint32_t)i, 7000);
		nd->net = net;
		nd->i = i;
		nd->t = sim_node_add(net->s, &a);
		ck_assert_ptr_nonnull(nd->t);
		node_up(nd);
	}
	return net;
}

static void net_free(struct net *net)
{
	for (int i = 0; i < net->count; i++)
		rpc_free(net->n[i].rpc);
	sim_free(net->s);
	free(net);
}

static void net_rpc_stats(struct net *net, struct rpc_stats *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (int i = 0; i < net->count; i++) {
		struct rpc_stats st;
		if (!net->n[i].rpc)
			continue;
		rpc_get_stats(net->n[i].rpc, &st);
		sum->calls += st.calls;
		sum->retransmits += st.retransmits;
		sum->timeouts += st.timeouts;
		sum->replies_ok += st.replies_ok;
		sum->requests_in += st.requests_in;
		sum->duplicates += st.duplicates;
	}
}

/* One call in flight: what was sent, and what came back. */
struct call {
	struct net *net;
	uint8_t payload[8];
	uint64_t started;
	int status;
	bool done;
	uint64_t rtt_us, finished;
};

static void call_cb(void *arg, int status, const struct rpc_msg *reply)
{
	struct call *c = arg;
	ck_assert(!c->done); /* exactly once */
	c->done = true;
	c->status = status;
	c->finished = sim_now_us(c->net->s);
	if (status == 0) {
		ck_assert_ptr_nonnull(reply);
		c->rtt_us = reply->rtt_us;
		if (reply->len != sizeof(c->payload) || memcmp(reply->payload, c->payload, reply->len) ||
		    reply->type != 6)
			c->net->bad_payload++;
		c->net->ok++;
	} else {
		ck_assert_int_eq(status, DDNS_ETIMEDOUT);
		ck_assert_ptr_null(reply);
		c->net->failed++;
	}
}

/* A call with `retries` retransmissions (-1: the RPC layer's default). */
static void start_call_r(struct net *net, int from, int to, struct call *c, int retries)
{
	memset(c, 0, sizeof(*c));
	c->net = net;
	uint64_t v = ddns_rng_next(sim_rng(net->s));
	memcpy(c->payload, &v, sizeof(v));
	c->started = sim_now_us(net->s);
	struct rpc_call rc = {
		.to = *tr_self(net->n[to].t),
		.overlay = RPC_OVL_NONE,
		.service = RPC_SVC_OVERLAY,
		.type = 5,
		.payload = c->payload,
		.len = sizeof(c->payload),
		.retries = retries,
	};
	ck_assert_int_eq(rpc_call(net->n[from].rpc, &rc, call_cb, c, NULL), 0);
	ck_assert(!c->done); /* never inside rpc_call */
}

static void start_call(struct net *net, int from, int to, struct call *c)
{
	start_call_r(net, from, to, c, -1);
}

static bool all_done(void *arg)
{
	struct net *net = arg;
	return net->ok + net->failed >= net->target;
}

/* Issue `count` calls between random distinct nodes, all at once, and run
 * until every one has finished. `calls` must hold count entries. */
static void run_calls(struct net *net, struct call *calls, size_t count)
{
	for (size_t k = 0; k < count; k++) {
		int a = (int)ddns_rng_below(sim_rng(net->s), (uint64_t)net->count);
		int b = (int)ddns_rng_below(sim_rng(net->s), (uint64_t)net->count - 1);
		if (b >= a)
			b++;
		start_call(net, a, b, &calls[k]);
	}
	net->target = net->ok + net->failed + count;
	ck_assert(sim_run_cond(net->s, all_done, net, 3600ull * 1000000));
}

/* (a) ---------------------------------------------------------------- */

static uint64_t det_run(uint64_t seed, uint64_t *ok)
{
	uint64_t samples[5] = {2000, 9000, 15000, 40000, 120000};
	struct sim_latency *lat = sim_latency_samples(samples, 5);
	struct net *net = net_new(seed, 0.05, lat, 30, NULL);
	struct call *calls = calloc(2000, sizeof(*calls));
	run_calls(net, calls, 1000);
	sim_run_until(net->s, sim_now_us(net->s) + 1000000);
	run_calls(net, calls + 1000, 1000);
	sim_run_until(net->s, sim_now_us(net->s) + 5000000);
	uint64_t h = sim_trace_hash(net->s);
	*ok = net->ok;
	ck_assert_uint_eq(net->bad_payload, 0);
	free(calls);
	net_free(net);
	sim_latency_free(lat);
	return h;
}

START_TEST(rpc_determinism)
{
	uint64_t ok1, ok2, ok3;
	uint64_t h1 = det_run(99, &ok1);
	uint64_t h2 = det_run(99, &ok2);
	uint64_t h3 = det_run(100, &ok3);
	ck_assert_uint_eq(h1, h2);
	ck_assert_uint_eq(ok1, ok2);
	ck_assert_uint_ne(h1, h3);
	ck_assert_uint_gt(ok1, 1900);
}
END_TEST

/* (b) ---------------------------------------------------------------- */

START_TEST(rpc_latency_constant)
{
	struct sim_latency *lat = sim_latency_constant(7321);
	struct net *net = net_new(1, 0, lat, 4, NULL);
	sim_run_until(net->s, 123456);
	struct call c[3];
	for (int k = 0; k < 3; k++) {
		start_call(net, k, k + 1, &c[k]);
		sim_run_until(net->s, sim_now_us(net->s) + 1000000);
		ck_assert(c[k].done);
		ck_assert_int_eq(c[k].status, 0);
		ck_assert_uint_eq(c[k].rtt_us, 2 * 7321);
		ck_assert_uint_eq(c[k].finished - c[k].started, 2 * 7321);
	}
	ck_assert_uint_eq(net->bad_payload, 0);
	net_free(net);
	sim_latency_free(lat);
}
END_TEST

/* An asymmetric matrix: RTT = one-way(a->b) + one-way(b->a). */
START_TEST(rpc_latency_matrix)
{
	char path[] = "/tmp/ddns_test_sim_rpc_XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	const char *m = "0 10 30\n20 0 50\n60 70 0\n"; /* ms */
	ck_assert_int_eq(write(fd, m, strlen(m)), (ssize_t)strlen(m));
	close(fd);
	int err;
	struct sim_latency *lat = sim_latency_matrix_load(path, 1000, 5, &err);
	unlink(path);
	ck_assert_ptr_nonnull(lat);
	struct net *net = net_new(1, 0, lat, 3, NULL);
	for (int a = 0; a < 3; a++)
		for (int b = 0; b < 3; b++) {
			if (a == b)
				continue;
			uint64_t ab = lat->one_way_us(lat->arg, (uint32_t)a, (uint32_t)b, NULL);
			uint64_t ba = lat->one_way_us(lat->arg, (uint32_t)b, (uint32_t)a, NULL);
			ck_assert_uint_ne(ab, ba);
			struct call c;
			start_call(net, a, b, &c);
			sim_run_until(net->s, sim_now_us(net->s) + 1000000);
			ck_assert(c.done);
			ck_assert_int_eq(c.status, 0);
			ck_assert_uint_eq(c.rtt_us, ab + ba);
			ck_assert_uint_eq(c.finished - c.started, ab + ba);
		}
	net_free(net);
	sim_latency_free(lat);
}
END_TEST

/* (c) ---------------------------------------------------------------- */

START_TEST(rpc_loss)
{
	/* A call succeeds per attempt with probability 0.9 * 0.9 = 0.81. With
	 * the default 3 retries it fails with probability 0.19^4 = 0.13%, just
	 * above the 0.1% budget, so this workload asks for 5 retries
	 * (0.19^6 = 0.005%). */
	struct rpc_params rp;
	rpc_params_default(&rp);
	rp.retries = 5;
	struct net *net = net_new(2024, 0.10, NULL, 100, &rp);
	struct call *calls = calloc(10000, sizeof(*calls));
	run_calls(net, calls, 10000);
	struct rpc_stats st;
	net_rpc_stats(net, &st);
	struct sim_stats ss;
	sim_get_stats(net->s, &ss);
	printf("rpc_loss: ok %llu failed %llu retransmits %llu duplicates %llu; "
	       "datagrams sent %llu lost %llu\n",
	       (unsigned long long)net->ok, (unsigned long long)net->failed,
	       (unsigned long long)st.retransmits, (unsigned long long)st.duplicates,
	       (unsigned long long)ss.datagrams_sent, (unsigned long long)ss.datagrams_lost);
	ck_assert_uint_eq(net->ok + net->failed, 10000);
	ck_assert_uint_ge(net->ok, 9990);
	ck_assert_uint_eq(st.calls, 10000);
	ck_assert_uint_eq(st.timeouts, net->failed);
	ck_assert_uint_eq(st.replies_ok, net->ok);
	ck_assert_uint_eq(net->bad_payload, 0);
	ck_assert_uint_gt(st.retransmits, 1000); /* loss really happened */
	ck_assert_uint_gt(st.duplicates, 0);     /* lost replies were re-sent */
	/* the loss rate is the one asked for */
	double rate = (double)ss.datagrams_lost / (double)ss.datagrams_sent;
	ck_assert_double_gt(rate, 0.09);
	ck_assert_double_lt(rate, 0.11);
	free(calls);
	net_free(net);
}
END_TEST

/* The same figure with a loss so high that calls do fail: timeouts must
 * still equal the failures exactly. */
START_TEST(rpc_heavy_loss_timeouts_counted)
{
	struct net *net = net_new(7, 0.5, NULL, 20, NULL);
	struct call *calls = calloc(2000, sizeof(*calls));
	run_calls(net, calls, 2000);
	struct rpc_stats st;
	net_rpc_stats(net, &st);
	ck_assert_uint_eq(net->ok + net->failed, 2000);
	ck_assert_uint_gt(net->failed, 100);
	ck_assert_uint_gt(net->ok, 100);
	ck_assert_uint_eq(st.timeouts, net->failed);
	ck_assert_uint_eq(st.replies_ok, net->ok);
	free(calls);
	net_free(net);
}
END_TEST

/* (d) ---------------------------------------------------------------- */

START_TEST(rpc_crash_restart)
{
	struct net *net = net_new(3, 0, NULL, 2, NULL); /* 10 ms one way */
	struct node *b = &net->n[1];
	struct call c;

	start_call(net, 0, 1, &c);
	sim_run_until(net->s, sim_now_us(net->s) + 1000000);
	ck_assert_int_eq(c.status, 0);
	ck_assert_uint_eq(c.rtt_us, 20000);

	/* crash b: its RPC state goes with it (as simnet does) */
	sim_node_crash(b->t);
	rpc_free(b->rpc);
	b->rpc = NULL;
	start_call(net, 0, 1, &c);
	sim_run_until(net->s, sim_now_us(net->s) + 60000000);
	ck_assert(c.done);
	ck_assert_int_eq(c.status, DDNS_ETIMEDOUT);
	/* 250 + 500 + 1000 + 2000 ms: the default schedule, all unanswered */
	ck_assert_uint_eq(c.finished - c.started, 3750000);
	struct rpc_stats st;
	rpc_get_stats(net->n[0].rpc, &st);
	ck_assert_uint_eq(st.timeouts, 1);
	ck_assert_uint_eq(st.retransmits, 3);
	struct sim_stats ss;
	sim_get_stats(net->s, &ss);
	ck_assert_uint_eq(ss.datagrams_to_dead, 4);

	/* restart with fresh protocol state: calls succeed again */
	sim_node_restart(b->t);
	node_up(b);
	start_call(net, 0, 1, &c);
	sim_run_until(net->s, sim_now_us(net->s) + 1000000);
	ck_assert(c.done);
	ck_assert_int_eq(c.status, 0);
	ck_assert_uint_eq(c.rtt_us, 20000);
	ck_assert_uint_eq(c.finished - c.started, 20000);

	/* a crash and restart while a call is retransmitting: the call
	 * completes on the first retransmission after the restart */
	sim_node_crash(b->t);
	rpc_free(b->rpc);
	b->rpc = NULL;
	start_call(net, 0, 1, &c);
	sim_run_until(net->s, sim_now_us(net->s) + 200000); /* first try lost */
	ck_assert(!c.done);
	sim_node_restart(b->t);
	node_up(b);
	sim_run_until(net->s, sim_now_us(net->s) + 10000000);
	ck_assert(c.done);
	ck_assert_int_eq(c.status, 0);
	ck_assert_uint_eq(c.finished - c.started, 250000 + 20000);
	ck_assert_uint_eq(c.rtt_us, 20000); /* measured from the retransmission */
	net_free(net);
}
END_TEST

/* (e) the per-source request limit: a burst of rate_limit new requests
 * per source, refilled at rate_limit per second; other sources unaffected;
 * the table of sources bounded. */
START_TEST(rpc_rate_limit_per_source)
{
	struct rpc_params rp;
	rpc_params_default(&rp);
	rp.rate_limit = 10;
	rp.rate_limit_sources = 2;
	struct net *net = net_new(5, 0, NULL, 4, &rp);
	struct call c[60];
	/* 30 at once from node 0: the burst of 10 is answered, 20 dropped */
	for (int i = 0; i < 30; i++)
		start_call_r(net, 0, 3, &c[i], 0);
	/* 5 from node 1 at the same time: all answered */
	for (int i = 30; i < 35; i++)
		start_call_r(net, 1, 3, &c[i], 0);
	net->target = 35;
	ck_assert(sim_run_cond(net->s, all_done, net, 60ull * 1000000));
	ck_assert_uint_eq(net->ok, 15);
	ck_assert_uint_eq(net->failed, 20);
	for (int i = 30; i < 35; i++)
		ck_assert_int_eq(c[i].status, 0);
	struct rpc_stats st;
	rpc_get_stats(net->n[3].rpc, &st);
	ck_assert_uint_eq(st.dropped_rate, 20);
	ck_assert_uint_eq(st.requests_in, 15);
	ck_assert_uint_eq(st.rate_sources, 2);
	/* Half a second later node 0 has 5 tokens again (10 per second). */
	sim_run_until(net->s, c[0].started + 500000);
	uint64_t ok0 = net->ok;
	for (int i = 35; i < 45; i++)
		start_call_r(net, 0, 3, &c[i], 0);
	net->target = net->ok + net->failed + 10;
	ck_assert(sim_run_cond(net->s, all_done, net, 60ull * 1000000));
	ck_assert_uint_ge(net->ok - ok0, 4);
	ck_assert_uint_le(net->ok - ok0, 6);
	/* A third source evicts the least recently seen: still 2 tracked. */
	start_call_r(net, 2, 3, &c[45], 0);
	net->target = net->ok + net->failed + 1;
	ck_assert(sim_run_cond(net->s, all_done, net, 60ull * 1000000));
	ck_assert_int_eq(c[45].status, 0);
	rpc_get_stats(net->n[3].rpc, &st);
	ck_assert_uint_eq(st.rate_sources, 2);
	/* Without a limit nothing is dropped. */
	struct net *free_net = net_new(5, 0, NULL, 2, NULL);
	for (int i = 0; i < 30; i++)
		start_call_r(free_net, 0, 1, &c[i], 0);
	free_net->target = 30;
	ck_assert(sim_run_cond(free_net->s, all_done, free_net, 60ull * 1000000));
	ck_assert_uint_eq(free_net->ok, 30);
	net_free(free_net);
	net_free(net);
}
END_TEST

static Suite *sim_rpc_suite(void)
{
	Suite *s = suite_create("sim_rpc");
	TCase *tc = tcase_create("acceptance");
	tcase_add_test(tc, rpc_determinism);
	tcase_add_test(tc, rpc_latency_constant);
	tcase_add_test(tc, rpc_latency_matrix);
	tcase_add_test(tc, rpc_loss);
	tcase_add_test(tc, rpc_heavy_loss_timeouts_counted);
	tcase_add_test(tc, rpc_crash_restart);
	tcase_add_test(tc, rpc_rate_limit_per_source);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sim_rpc_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
