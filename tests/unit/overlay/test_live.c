/*
 * Live overlays: 16 nodes on 127.0.0.2..17, each one udp endpoint running
 * both chord and kad16 on one port in one event loop, joined one by one;
 * once every node's routing state agrees with the truth, 1,000 lookups of
 * random keys from random nodes (500 per overlay) all end at the right
 * node. Bounded: every wait polls a condition with a deadline.
 */
#include <check.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/rng.h"
#include "overlay/id.h"
#include "overlay/overlay.h"
#include "overlay/rpc.h"
#include "overlay/udp.h"

#define NODES 16
#define LOOKUPS_PER_OVERLAY 500

#include "tests/unit/overlay/evloop.h"

struct node {
	struct tr *t;
	struct rpc *r;
	struct ovl *o[2]; /* chord, kad16 */
};

struct world {
	struct event_base *base;
	struct node n[NODES];
	size_t count;
	struct ddns_rng rng;
	/* lookups */
	size_t outstanding, done, correct[2], failed[2];
};

static const struct ovl_ops *ops_of(int k) { return k == 0 ? &chord_ops : &kad16_ops; }

/* The node truly responsible for key among the first `count` nodes. */
static size_t truth(const struct world *w, int k, const uint8_t key[DDNS_ID_LEN])
{
	size_t best = 0;
	for (size_t i = 1; i < w->count; i++) {
		const uint8_t *a = ovl_self(w->n[i].o[k])->id, *b = ovl_self(w->n[best].o[k])->id;
		if (k == 1) {
			if (ovl_id_xor_closer(key, a, b))
				best = i;
		} else {
			uint8_t da[DDNS_ID_LEN], db[DDNS_ID_LEN];
			ovl_id_sub(a, key, da); /* clockwise distance key -> node */
			ovl_id_sub(b, key, db);
			if (memcmp(da, db, DDNS_ID_LEN) < 0)
				best = i;
		}
	}
	return best;
}

static void random_key(struct world *w, uint8_t key[DDNS_ID_LEN])
{
	for (int i = 0; i < DDNS_ID_LEN; i++)
		key[i] = (uint8_t)ddns_rng_next(&w->rng);
}

/* The node closest to node i after itself: chord's successor, kad16's
 * XOR-closest other node. */
static size_t next_of(const struct world *w, int k, size_t i)
{
	size_t best = SIZE_MAX;
	const uint8_t *me = ovl_self(w->n[i].o[k])->id;
	for (size_t j = 0; j < w->count; j++) {
		if (j == i)
			continue;
		const uint8_t *a = ovl_self(w->n[j].o[k])->id;
		if (best == SIZE_MAX) {
			best = j;
			continue;
		}
		const uint8_t *b = ovl_self(w->n[best].o[k])->id;
		if (k == 1) {
			if (ovl_id_xor_closer(me, a, b))
				best = j;
		} else {
			uint8_t da[DDNS_ID_LEN], db[DDNS_ID_LEN];
			ovl_id_sub(a, me, da);
			ovl_id_sub(b, me, db);
			if (memcmp(da, db, DDNS_ID_LEN) < 0)
				best = j;
		}
	}
	return best;
}

/* Stable: every node's replica set for its own id starts with itself and
 * then its true neighbour (chord: successor; kad16: XOR-closest), and for
 * 64 probe keys per overlay exactly the true owner believes it is
 * responsible. */
static bool stable(void *arg)
{
	struct world *w = arg;
	for (size_t i = 0; i < w->count; i++) {
		for (int k = 0; k < 2; k++) {
			struct ovl_node rs[4];
			const struct ovl_node *me = ovl_self(w->n[i].o[k]);
			size_t n = ovl_replica_set(w->n[i].o[k], me->id, rs, 4);
			if (n < 2 || !ovl_id_eq(rs[0].id, me->id) ||
			    !ovl_id_eq(rs[1].id, ovl_self(w->n[next_of(w, k, i)].o[k])->id))
				return false;
		}
	}
	struct ddns_rng saved = w->rng;
	struct ddns_rng probe;
	ddns_rng_seed(&probe, 99);
	w->rng = probe;
	bool ok = true;
	for (int p = 0; p < 64 && ok; p++) {
		uint8_t key[DDNS_ID_LEN];
		random_key(w, key);
		for (int k = 0; k < 2 && ok; k++) {
			size_t want = truth(w, k, key);
			for (size_t i = 0; i < w->count && ok; i++)
				if (ovl_responsible(w->n[i].o[k], key) != (i == want))
					ok = false;
		}
	}
	w->rng = saved;
	return ok;
}

struct lk {
	struct world *w;
	int k;
	uint8_t key[DDNS_ID_LEN];
};

static void lookup_done(void *arg, const struct ovl_lookup_result *res)
{
	struct lk *l = arg;
	struct world *w = l->w;
	if (res->status != 0)
		w->failed[l->k]++;
	else if (ovl_id_eq(res->owner.id, ovl_self(w->n[truth(w, l->k, l->key)].o[l->k])->id))
		w->correct[l->k]++;
	w->outstanding--;
	w->done++;
	free(l);
}

static bool lookups_done(void *arg)
{
	struct world *w = arg;
	return w->outstanding == 0;
}

START_TEST(sixteen_live_nodes_both_overlays_answer_correctly)
{
	struct world w;
	memset(&w, 0, sizeof(w));
	ddns_rng_seed(&w.rng, 2026);
	w.base = event_base_new();
	ck_assert_ptr_nonnull(w.base);
	struct ovl_params p;
	ovl_params_default(&p);
	p.stabilize_us = 100000;
	p.fix_fingers_us = 100000;
	p.refresh_us = 2000000;
	for (size_t i = 0; i < NODES; i++) {
		char a[32];
		snprintf(a, sizeof(a), "127.0.0.%zu:0", i + 2);
		struct tr_addr addr;
		ck_assert_int_eq(tr_addr_parse(a, 0, &addr), 0);
		int err = 0;
		struct node *n = &w.n[i];
		n->t = udp_tr_new(w.base, &addr, NULL, &err);
		ck_assert_msg(n->t != NULL, "bind %s: %s", a, ddns_strerror(err));
		n->r = rpc_new(n->t, NULL);
		ck_assert_ptr_nonnull(n->r);
		for (int k = 0; k < 2; k++) {
			n->o[k] = ovl_new(ops_of(k), n->r, &p);
			ck_assert_ptr_nonnull(n->o[k]);
			/* Join through a random earlier node (its vnode 0). */
			const struct tr_addr *boot = NULL;
			if (i > 0)
				boot = tr_self(w.n[ddns_rng_below(&w.rng, i)].t);
			ck_assert_int_eq(ovl_join(n->o[k], boot), 0);
		}
		w.count = i + 1;
	}
	/* Usually a few seconds; the bound is generous because under ASan on
	 * a loaded 2-core machine the timers run late (it once took > 30 s). */
	ck_assert_msg(loop_until(w.base, stable, &w, 90000),
		      "the rings did not become consistent within 90 s");

	for (int k = 0; k < 2; k++) {
		for (int q = 0; q < LOOKUPS_PER_OVERLAY; q++) {
			struct lk *l = malloc(sizeof(*l));
			l->w = &w;
			l->k = k;
			random_key(&w, l->key);
			struct ovl *o = w.n[ddns_rng_below(&w.rng, NODES)].o[k];
			ck_assert_int_eq(ovl_lookup(o, l->key, NULL, lookup_done, l), 0);
			w.outstanding++;
		}
	}
	ck_assert_msg(loop_until(w.base, lookups_done, &w, 60000), "lookups did not finish");
	ck_assert_uint_eq(w.done, 2 * LOOKUPS_PER_OVERLAY);
	for (int k = 0; k < 2; k++) {
		ck_assert_uint_eq(w.failed[k], 0);
		ck_assert_msg(w.correct[k] == LOOKUPS_PER_OVERLAY, "%s: %zu of %d correct",
			      ovl_ops_name(ops_of(k)), w.correct[k], LOOKUPS_PER_OVERLAY);
	}
	for (size_t i = 0; i < NODES; i++) {
		for (int k = 0; k < 2; k++)
			ovl_free(w.n[i].o[k]);
		rpc_free(w.n[i].r);
		tr_free(w.n[i].t);
	}
	event_base_free(w.base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("live");
	TCase *tc = tcase_create("loopback");
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, sixteen_live_nodes_both_overlays_answer_correctly);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
