/*
 * test_rpc_frag.c - fragmentation and reassembly of the RPC layer
 * (overlay/rpc.c), run on the simulator so that virtual time makes expiry
 * instant and a small MTU makes messages of many fragments:
 *  - 64 KiB values cross a lossy network of 300-byte datagrams (hundreds of
 *    fragments each way), the handler running exactly once per request;
 *  - a partial message is forgotten after the retransmission window, and
 *    the RPC layer leaves no timer behind (the simulator goes idle).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/id.h"
#include "overlay/rpc.h"
#include "overlay/sim.h"

#define HDR 64

struct server {
	struct rpc *r;
	unsigned handled;
	uint64_t last_txid;
	size_t last_len;
};

static void echo(void *arg, const struct rpc_msg *req)
{
	struct server *s = arg;
	s->handled++;
	s->last_txid = req->txid;
	s->last_len = req->len;
	ck_assert_int_eq(rpc_reply(s->r, req, 2, req->payload, req->len), 0);
}

struct result {
	bool done;
	int status;
	size_t len;
	bool same;
	const uint8_t *want;
};

static void on_reply(void *arg, int status, const struct rpc_msg *m)
{
	struct result *res = arg;
	res->done = true;
	res->status = status;
	if (m) {
		res->len = m->len;
		res->same = memcmp(m->payload, res->want, m->len) == 0;
	}
}

static bool is_done(void *arg) { return ((struct result *)arg)->done; }

static struct sim *small_mtu_sim(uint64_t seed, double loss)
{
	struct sim_params sp;
	sim_params_default(&sp);
	sp.seed = seed;
	sp.loss = loss;
	sp.mtu = 300;
	struct sim *s = sim_new(&sp);
	ck_assert_ptr_nonnull(s);
	return s;
}

START_TEST(value_64k_crosses_lossy_small_mtu_network)
{
	uint8_t *value = malloc(65536);
	for (size_t i = 0; i < 65536; i++)
		value[i] = (uint8_t)(i ^ (i >> 8) ^ 0x5a);
	unsigned total_retrans = 0, total_dups = 0;
	for (uint64_t seed = 1; seed <= 10; seed++) {
		struct sim *s = small_mtu_sim(seed, 0.02);
		struct tr_addr aa = tr_addr_v4(0x0a000001u, 7000), ab = tr_addr_v4(0x0a000002u, 7000);
		struct tr *ta = sim_node_add(s, &aa), *tb = sim_node_add(s, &ab);
		struct rpc *ra = rpc_new(ta, NULL);
		struct server srv = {.r = rpc_new(tb, NULL)};
		ck_assert_int_eq(rpc_register(srv.r, RPC_OVL_KAD16, RPC_SVC_DHT, 0, echo, &srv), 0);
		struct rpc_call c = {.to = ab,
				     .overlay = RPC_OVL_KAD16,
				     .service = RPC_SVC_DHT,
				     .type = 1,
				     .payload = value,
				     .len = 65536,
				     .retries = 8};
		struct result res = {.want = value};
		ck_assert_int_eq(rpc_call(ra, &c, on_reply, &res, NULL), 0);
		ck_assert(sim_run_cond(s, is_done, &res, 120000000ull));
		ck_assert_msg(res.status == 0, "seed %llu: status %d", (unsigned long long)seed,
			      res.status);
		ck_assert_uint_eq(res.len, 65536);
		ck_assert(res.same);
		ck_assert_uint_eq(srv.handled, 1); /* retransmissions never re-run it */
		ck_assert_uint_eq(srv.last_len, 65536);
		struct rpc_stats sa, sb;
		rpc_get_stats(ra, &sa);
		rpc_get_stats(srv.r, &sb);
		/* 300-byte datagrams: 236 payload bytes each, 278 fragments */
		ck_assert_uint_ge(sa.datagrams_out, 278);
		ck_assert_uint_eq(sa.datagrams_out % 278, 0);
		ck_assert_uint_eq(sa.datagrams_out / 278, 1 + sa.retransmits);
		ck_assert_uint_eq(sb.dropped_malformed, 0);
		ck_assert_uint_eq(sb.requests_in, 1);
		total_retrans += (unsigned)sa.retransmits;
		total_dups += (unsigned)sb.duplicates;
		rpc_free(ra);
		rpc_free(srv.r);
		sim_free(s);
	}
	/* 2% loss of 278 fragments: a first try almost never gets through */
	ck_assert_uint_ge(total_retrans, 10);
	printf("value_64k: 10 runs, %u retransmissions, %u duplicates answered from cache\n",
	       total_retrans, total_dups);
	free(value);
}
END_TEST

/* A hand-built fragment (docs/PROTOCOL.md) sent from a bare sim node. */
static void send_frag(struct tr *from, const struct tr_addr *to, uint64_t txid, uint16_t index,
		      uint16_t count, uint32_t total, size_t len)
{
	uint8_t d[HDR + 100];
	memset(d, 0, sizeof(d));
	const struct tr_addr *me = tr_self(from);
	d[0] = 0xDD;
	d[1] = 0x4E;
	d[2] = 1;
	d[4] = RPC_OVL_CHORD;
	d[9] = me->family;
	d[10] = (uint8_t)(me->port >> 8);
	d[11] = (uint8_t)me->port;
	memcpy(d + 12, me->ip, 4);
	for (int i = 0; i < 8; i++)
		d[28 + i] = (uint8_t)(txid >> (56 - 8 * i));
	ovl_id_of(me, 0, d + 36);
	d[56] = (uint8_t)(index >> 8);
	d[57] = (uint8_t)index;
	d[58] = (uint8_t)(count >> 8);
	d[59] = (uint8_t)count;
	d[60] = (uint8_t)(total >> 24);
	d[61] = (uint8_t)(total >> 16);
	d[62] = (uint8_t)(total >> 8);
	d[63] = (uint8_t)total;
	memset(d + HDR, 'f', len);
	ck_assert_int_eq(tr_send(from, to, d, HDR + len), 0);
}

START_TEST(partial_message_expires_and_no_timer_lingers)
{
	struct sim *s = small_mtu_sim(7, 0.0);
	struct tr_addr araw = tr_addr_v4(0x0a000001u, 7000), ab = tr_addr_v4(0x0a000002u, 7000);
	struct tr *raw = sim_node_add(s, &araw), *tb = sim_node_add(s, &ab);
	struct server srv = {.r = rpc_new(tb, NULL)}; /* default window: 3.75 s */
	ck_assert_int_eq(rpc_register(srv.r, RPC_OVL_CHORD, RPC_SVC_OVERLAY, 0, echo, &srv), 0);

	/* message 1: the second fragment comes 3 s after the first - in time */
	send_frag(raw, &ab, 1, 0, 2, 200, 100);
	sim_run_until(s, sim_now_us(s) + 3000000);
	ck_assert_uint_eq(srv.handled, 0);
	send_frag(raw, &ab, 1, 1, 2, 200, 100);
	sim_run_until(s, sim_now_us(s) + 100000);
	ck_assert_uint_eq(srv.handled, 1);
	ck_assert_uint_eq(srv.last_txid, 1);
	ck_assert_uint_eq(srv.last_len, 200);

	/* message 2: 5 s apart - the first fragment was forgotten */
	send_frag(raw, &ab, 2, 0, 2, 200, 100);
	sim_run_until(s, sim_now_us(s) + 5000000);
	send_frag(raw, &ab, 2, 1, 2, 200, 100);
	sim_run_until(s, sim_now_us(s) + 100000);
	ck_assert_uint_eq(srv.handled, 1);

	/* the lone second fragment is itself forgotten later, and then the
	 * RPC layer holds no timer: the simulator's queue drains */
	uint64_t guard = 0;
	while (sim_step(s))
		ck_assert_uint_lt(++guard, 1000);
	struct sim_stats st;
	sim_get_stats(s, &st);
	ck_assert_uint_eq(st.queue_len, 0);
	/* and message 2's first fragment, sent again, starts afresh */
	send_frag(raw, &ab, 2, 0, 2, 200, 100);
	send_frag(raw, &ab, 2, 1, 2, 200, 100);
	sim_run_until(s, sim_now_us(s) + 100000);
	ck_assert_uint_eq(srv.handled, 2);
	struct rpc_stats rs;
	rpc_get_stats(srv.r, &rs);
	ck_assert_uint_eq(rs.dropped_malformed, 0);
	ck_assert_uint_eq(rs.requests_in, 2);
	rpc_free(srv.r);
	sim_free(s);
}
END_TEST

START_TEST(mismatched_fragment_is_malformed)
{
	/* A fragment whose total disagrees with the partial message it joins */
	struct sim *s = small_mtu_sim(9, 0.0);
	struct tr_addr araw = tr_addr_v4(0x0a000001u, 7000), ab = tr_addr_v4(0x0a000002u, 7000);
	struct tr *raw = sim_node_add(s, &araw), *tb = sim_node_add(s, &ab);
	struct server srv = {.r = rpc_new(tb, NULL)};
	ck_assert_int_eq(rpc_register(srv.r, RPC_OVL_CHORD, RPC_SVC_OVERLAY, 0, echo, &srv), 0);
	send_frag(raw, &ab, 3, 0, 2, 200, 100);
	send_frag(raw, &ab, 3, 1, 2, 199, 99); /* valid alone, not with the first */
	sim_run_until(s, sim_now_us(s) + 100000);
	struct rpc_stats rs;
	rpc_get_stats(srv.r, &rs);
	ck_assert_uint_eq(rs.dropped_malformed, 1);
	ck_assert_uint_eq(srv.handled, 0);
	send_frag(raw, &ab, 3, 1, 2, 200, 100);
	sim_run_until(s, sim_now_us(s) + 100000);
	ck_assert_uint_eq(srv.handled, 1);
	rpc_free(srv.r);
	sim_free(s);
}
END_TEST

START_TEST(tiny_mtu_refuses_what_cannot_be_framed)
{
	struct sim_params sp;
	sim_params_default(&sp);
	sp.mtu = HDR; /* room for a header and no payload */
	struct sim *s = sim_new(&sp);
	struct tr_addr aa = tr_addr_v4(0x0a000001u, 7000);
	struct tr *ta = sim_node_add(s, &aa);
	struct rpc *r = rpc_new(ta, NULL);
	struct rpc_call c = {.to = aa, .payload = "x", .len = 1, .retries = -1};
	struct result res = {0};
	ck_assert_int_eq(rpc_call(r, &c, on_reply, &res, NULL), DDNS_ETOOBIG);
	rpc_free(r);
	sim_free(s);
}
END_TEST

static Suite *frag_suite(void)
{
	Suite *s = suite_create("rpc_frag");
	TCase *tc = tcase_create("sim");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, value_64k_crosses_lossy_small_mtu_network);
	tcase_add_test(tc, partial_message_expires_and_no_timer_lingers);
	tcase_add_test(tc, mismatched_fragment_is_malformed);
	tcase_add_test(tc, tiny_mtu_refuses_what_cannot_be_framed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(frag_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
