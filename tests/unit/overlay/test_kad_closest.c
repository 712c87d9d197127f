/* White-box test of kad16's closest-contact search (kad_closest), which
 * answers every FIND_NODE and seeds every lookup. It visits the buckets
 * nearest the target first and skips any bucket that cannot improve a full
 * answer; this checks it against the definition: every usable contact
 * (bucket entries without timeouts, replacement-cache entries heard from
 * within the refresh period, the near set), without duplicates, sorted by
 * XOR distance, the first `max`. */
#include "overlay/kad16.c"

#include <check.h>
#include <stdlib.h>

#include "overlay/sim.h"

static uint64_t rnd = 0x2545f4914f6cdd1dULL;
static uint64_t next_rnd(void)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 7;
	rnd ^= rnd << 17;
	return rnd;
}

static bool usable_seen(const struct ovl_node *v, size_t n, const uint8_t *id)
{
	for (size_t i = 0; i < n; i++)
		if (ovl_id_eq(v[i].id, id))
			return true;
	return false;
}

/* The definition, by brute force. */
static size_t closest_by_definition(struct kad *k, const uint8_t *target, const uint8_t *skip,
				    struct ovl_node *out, size_t max)
{
	static struct ovl_node all[KAD_ROWS * KAD_COLS * 2 * KAD_MAX_K + KAD_NEAR_MAX];
	size_t n = 0;
	uint64_t now = kad_now(k);
	uint64_t fresh = now > k->refresh_us ? now - k->refresh_us : 0;
	for (unsigned r = 0; r < KAD_ROWS; r++)
		for (unsigned c = 0; c < KAD_COLS; c++) {
			struct kad_bucket *b = k->b[r][c];
			if (!b)
				continue;
			for (unsigned i = 0; i < b->n; i++)
				if (!b->c[i].fails)
					all[n++] = b->c[i].n;
			struct kad_contact *rc = kad_cache(k, b);
			for (unsigned i = 0; i < b->nrep; i++)
				if (!rc[i].fails && rc[i].seen_us >= fresh)
					all[n++] = rc[i].n;
		}
	for (unsigned i = 0; i < k->nnearc; i++)
		if (!k->nearc[i].fails)
			all[n++] = k->nearc[i].n;
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if ((skip && ovl_id_eq(all[i].id, skip)) || usable_seen(all, m, all[i].id))
			continue;
		all[m++] = all[i];
	}
	for (size_t i = 1; i < m; i++) /* insertion sort by XOR distance */
		for (size_t j = i; j > 0 && ovl_id_xor_closer(target, all[j].id, all[j - 1].id); j--) {
			struct ovl_node t = all[j];
			all[j] = all[j - 1];
			all[j - 1] = t;
		}
	size_t take = m < max ? m : max;
	memcpy(out, all, take * sizeof(*out));
	return take;
}

START_TEST(closest_contacts_match_the_definition)
{
	struct sim *s = sim_new(NULL);
	ck_assert_ptr_nonnull(s);
	struct tr_addr self = tr_addr_v4(0x0a000001, 4000);
	struct tr *t = sim_node_add(s, &self);
	struct rpc *r = rpc_new(t, NULL);
	struct ovl_params p;
	ovl_params_default(&p);
	struct ovl *o = ovl_new(&kad16_ops, r, &p);
	ck_assert_ptr_nonnull(o);
	struct kad *k = o->impl;

	/* 6,000 contacts learned in three waves a refresh period apart, so the
	 * replacement caches hold stale and fresh entries; some contacts time
	 * out (suspects are skipped). Learning sends pings into the void: the
	 * simulation runs between waves and they fail as they would. */
	uint32_t ip = 0x0b000000;
	for (int wave = 0; wave < 3; wave++) {
		for (int i = 0; i < 2000; i++) {
			struct ovl_node n;
			struct tr_addr a = tr_addr_v4(ip++, (uint16_t)(1000 + next_rnd() % 60000));
			ovl_node_make(&n, &a, 0);
			kad_learn(k, &n, 0);
			struct kad_contact *c = kad_contact_find(k, n.id);
			if (c && next_rnd() % 10 == 0)
				c->fails = 1;
		}
		sim_run_until(s, sim_now_us(s) + k->refresh_us / 2 + 1);
	}
	/* A near set as the neighbourhood refresh would fill it. */
	for (int i = 0; i < 1000; i++) {
		struct ovl_node n;
		struct tr_addr a = tr_addr_v4(ip++, 2000);
		ovl_node_make(&n, &a, 0);
		kad_near_offer(k, &n, kad_now(k), 0);
	}
	ck_assert_uint_gt(k->nnearc, 0);

	static const size_t maxes[] = {1, 3, 8, 20, KAD_MAX_K};
	for (int q = 0; q < 20000; q++) {
		uint8_t target[DDNS_ID_LEN];
		for (int i = 0; i < DDNS_ID_LEN; i++)
			target[i] = (uint8_t)next_rnd();
		/* Most targets share a prefix with us (row d is then deep). */
		unsigned share = (unsigned)(next_rnd() % 6);
		for (unsigned d = 0; d < share; d++)
			kad_id_set_digit(target, d, ovl_id_digit(o->self.id, d));
		if (q % 97 == 0)
			memcpy(target, o->self.id, DDNS_ID_LEN);
		size_t max = maxes[q % 5];
		struct ovl_node got[KAD_MAX_K], want[KAD_MAX_K];
		const uint8_t *skip = NULL;
		if (q % 3 == 0) {
			closest_by_definition(k, target, NULL, want, 1);
			skip = want[0].id;
		}
		size_t ng = kad_closest(k, target, skip, got, max);
		size_t nw = closest_by_definition(k, target, skip, want, max);
		ck_assert_uint_eq(ng, nw);
		for (size_t i = 0; i < nw; i++)
			ck_assert_msg(ovl_id_eq(got[i].id, want[i].id), "query %d, answer %zu of %zu",
				      q, i, nw);
	}
	ovl_free(o);
	rpc_free(r);
	tr_free(t);
	sim_free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kad_closest");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, closest_contacts_match_the_definition);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
