/*
 * test_lookup_loss.c - under 20% datagram loss, the RPCs and
 * retransmissions a lookup reports are exactly the datagrams the transport
 * sent for it, for the overlay named by LOSS_OVL ("chord" or "kad16").
 *
 * The network (48 nodes) is built without loss, then the simulator drops
 * 20% of all datagrams while 300 lookups of random keys run from random
 * nodes, 8 at a time. A tap on the simulated wire (sim_set_tap) sees every
 * datagram a node sends, before loss is drawn, and attributes a datagram to
 * a lookup when it is
 *   - a request (header flag bit 0 clear, docs/PROTOCOL.md section 1) of
 *     the overlay under test, service overlay, and a lookup message type
 *     (chord FIND; kad16 FIND_NODE or FIND_VALUE), in one fragment,
 *   - sent by the lookup's origin node,
 *   - for the lookup's key (the first 20 payload bytes of all three types).
 * Why this is exact: user lookups are the only senders of requests for
 * these random keys. Maintenance keeps running (chord stabilisation and
 * fix-fingers, kad16 pings, bucket and near-set refreshes, lookups of
 * random or finger ids), but it never asks for one of these keys (a
 * collision of 160-bit random ids is out of the question; the test also
 * checks that the keys are distinct), and replies are never counted. Every
 * lookup request fits one datagram (no probe), so one transmission of a
 * request is one datagram. So for each lookup, the datagrams the tap
 * attributes to it must equal its result's rpcs + retransmits, and no
 * datagram for its key may follow its completion (a retransmission of a
 * request the lookup had already given up would show here).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "cli/simnet.h"
#include "overlay/id.h"
#include "overlay/rpc.h"
#include "overlay/sim.h"

#ifndef LOSS_OVL
#define LOSS_OVL "kad16"
#endif

#define NODES 48
#define LOOKUPS 300
#define PARALLEL 8

/* Header layout (docs/PROTOCOL.md section 1). */
#define HDR_LEN 64
#define HDR_FLAGS 3
#define HDR_OVERLAY 4
#define HDR_SERVICE 5
#define HDR_TYPE 6
#define HDR_FRAG_COUNT 58
#define FLAG_REPLY 0x01u
/* Lookup request types (docs/PROTOCOL.md, chord and kad16 messages). */
#define CHORD_FIND 1
#define KAD_FIND_NODE 3
#define KAD_FIND_VALUE 5

struct lk {
	const struct tr *origin;
	uint8_t key[DDNS_ID_LEN];
	bool started, done;
	unsigned datagrams;       /* attributed by the tap, before completion */
	unsigned late;            /* attributed after completion: must stay 0 */
	struct ovl_lookup_result res;
};

struct run {
	uint8_t wire_id;
	struct lk lk[LOOKUPS];
	size_t started, done;
	uint64_t other_requests; /* lookup-type requests of other keys (maintenance) */
};

static bool is_lookup_type(uint8_t wire_id, uint8_t type)
{
	if (wire_id == RPC_OVL_CHORD)
		return type == CHORD_FIND;
	return type == KAD_FIND_NODE || type == KAD_FIND_VALUE;
}

static void tap(void *arg, const struct tr *from, const struct tr_addr *to, const uint8_t *d,
		size_t len)
{
	struct run *run = arg;
	(void)to;
	if (len < HDR_LEN + DDNS_ID_LEN || (d[HDR_FLAGS] & FLAG_REPLY) ||
	    d[HDR_OVERLAY] != run->wire_id || d[HDR_SERVICE] != RPC_SVC_OVERLAY ||
	    !is_lookup_type(run->wire_id, d[HDR_TYPE]))
		return;
	/* every lookup request is one fragment */
	ck_assert_uint_eq((unsigned)d[HDR_FRAG_COUNT] << 8 | d[HDR_FRAG_COUNT + 1], 1);
	const uint8_t *key = d + HDR_LEN;
	for (size_t i = 0; i < run->started; i++) {
		struct lk *l = &run->lk[i];
		if (l->origin != from || memcmp(l->key, key, DDNS_ID_LEN) != 0)
			continue;
		if (l->done)
			l->late++;
		else
			l->datagrams++;
		return;
	}
	run->other_requests++;
}

struct slot {
	struct run *run;
	size_t i;
};

static struct slot slots[LOOKUPS];

static void lookup_cb(void *arg, const struct ovl_lookup_result *res)
{
	struct slot *s = arg;
	struct lk *l = &s->run->lk[s->i];
	ck_assert(!l->done);
	l->done = true;
	l->res = *res;
	l->res.value = NULL;
	s->run->done++;
}

static size_t done_before;

static bool one_more_done(void *arg) { return ((struct run *)arg)->done > done_before; }

static void run_overlay(const struct ovl_ops *ops, uint64_t seed)
{
	static struct run run;
	memset(&run, 0, sizeof(run));
	run.wire_id = ovl_ops_wire_id(ops);

	struct simnet_params p;
	simnet_params_default(&p);
	p.ops = ops;
	p.seed = seed;
	struct simnet *n = simnet_new(&p);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(simnet_grow(n, NODES), 0);
	struct sim *s = simnet_sim(n);
	struct sim_stats before;
	sim_get_stats(s, &before);

	sim_set_loss(s, 0.2);
	sim_set_tap(s, tap, &run);
	struct ddns_rng *rng = sim_rng(s);
	while (run.done < LOOKUPS) {
		while (run.started < LOOKUPS && run.started - run.done < PARALLEL) {
			size_t i = run.started;
			struct lk *l = &run.lk[i];
			size_t from = simnet_random_live(n);
			l->origin = simnet_tr(n, from);
			for (size_t b = 0; b < DDNS_ID_LEN; b++)
				l->key[b] = (uint8_t)ddns_rng_next(rng);
			for (size_t j = 0; j < i; j++)
				ck_assert(memcmp(run.lk[j].key, l->key, DDNS_ID_LEN) != 0);
			slots[i] = (struct slot){.run = &run, .i = i};
			l->started = true;
			run.started++;
			ck_assert_int_eq(ovl_lookup(simnet_ovl(n, from), l->key, NULL, lookup_cb,
						    &slots[i]),
					 0);
		}
		done_before = run.done;
		ck_assert(sim_run_cond(s, one_more_done, &run, 600ULL * 1000000));
	}
	/* Let every timer that could still retransmit fire (the longest
	 * retransmission window at the defaults is 3.75 s). */
	simnet_run(n, 10ULL * 1000000);
	sim_set_tap(s, NULL, NULL);

	uint64_t rpcs = 0, retransmits = 0, timeouts = 0, datagrams = 0;
	size_t ok = 0;
	for (size_t i = 0; i < LOOKUPS; i++) {
		struct lk *l = &run.lk[i];
		ck_assert(l->done);
		ck_assert(l->res.status == 0 || l->res.status == DDNS_ETIMEDOUT);
		ok += l->res.status == 0;
		ck_assert_msg(l->datagrams == l->res.rpcs + l->res.retransmits,
			      "lookup %zu: %u datagrams sent, result says %u RPCs + %u "
			      "retransmissions",
			      i, l->datagrams, l->res.rpcs, l->res.retransmits);
		ck_assert_uint_eq(l->late, 0);
		rpcs += l->res.rpcs;
		retransmits += l->res.retransmits;
		timeouts += l->res.timeouts;
		datagrams += l->datagrams;
	}
	struct sim_stats after;
	sim_get_stats(s, &after);
	printf("%s, %d nodes, 20%% loss: %d lookups (%zu ok): %llu RPCs + %llu retransmissions = "
	       "%llu lookup datagrams sent (%llu timeouts); %llu other lookup-type requests, "
	       "%llu datagrams lost\n",
	       ovl_ops_name(ops), NODES, LOOKUPS, ok, (unsigned long long)rpcs,
	       (unsigned long long)retransmits, (unsigned long long)datagrams,
	       (unsigned long long)timeouts, (unsigned long long)run.other_requests,
	       (unsigned long long)(after.datagrams_lost - before.datagrams_lost));
	ck_assert_uint_eq(rpcs + retransmits, datagrams);
	/* the loss was felt: retransmissions happened, and most lookups ended well */
	ck_assert_uint_gt(retransmits, 0);
	ck_assert_uint_gt(after.datagrams_lost, before.datagrams_lost);
	ck_assert_uint_ge(ok, LOOKUPS * 9 / 10);
	simnet_free(n);
}

START_TEST(loss_counts_exact)
{
	const struct ovl_ops *ops = ovl_ops_by_name(LOSS_OVL);
	ck_assert_ptr_nonnull(ops);
	run_overlay(ops, 1820);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lookup_loss_" LOSS_OVL);
	TCase *tc = tcase_create("loss");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, loss_counts_exact);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
