/*
 * test_policy.c - dht/policy.c: which policy each overlay gets, and where
 * cached copies go after a get: chord (DHash) on the path nodes, the last
 * to answer first; kad16 (Kademlia) on the path nodes in order of XOR
 * distance to the key, plus shortlist nodes outside the replica set when
 * no cached copy was met. Never self, never the node that returned the
 * value, at most max.
 */
#include <check.h>
#include <string.h>

#include "cli/simnet.h"
#include "dht/policy.h"
#include "overlay/id.h"
#include "overlay/rpc.h"

/* A node whose id is all b except the first byte x (XOR distance to a key
 * of all zero bytes is ordered by x). */
static struct ovl_node node(uint8_t x)
{
	struct ovl_node n;
	memset(&n, 0, sizeof(n));
	memset(n.id, 0x11, sizeof(n.id));
	n.id[0] = x;
	return n;
}

static struct simnet *one_node(const struct ovl_ops *ops)
{
	struct simnet_params p;
	simnet_params_default(&p);
	p.ops = ops;
	p.settle_us = 1000000;
	struct simnet *n = simnet_new(&p);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(simnet_grow(n, 1), 0);
	return n;
}

START_TEST(policy_per_overlay)
{
	const struct dht_policy *c = dht_policy_for(RPC_OVL_CHORD);
	const struct dht_policy *k = dht_policy_for(RPC_OVL_KAD16);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(k);
	ck_assert_ptr_ne(c, k);
	ck_assert_uint_eq(c->get_spread, 0); /* chord lookups are sequential already */
	ck_assert_uint_gt(k->get_spread, 0);
	ck_assert_ptr_eq(dht_policy_for(250), c);
}
END_TEST

START_TEST(chord_caches_on_path_nearest_first)
{
	struct simnet *n = one_node(&chord_ops);
	struct ovl *o = simnet_ovl(n, 0);
	struct ovl_lookup_result res;
	memset(&res, 0, sizeof(res));
	res.path[0] = node(0x50);
	res.path[1] = *ovl_self(o);
	res.path[2] = node(0x30);
	res.path[3] = node(0x20);
	res.path[4] = node(0x40);
	res.path_len = 5;
	res.value_found = true;
	res.value_from = node(0x20);
	struct ovl_node out[8];
	size_t m = dht_policy_for(RPC_OVL_CHORD)->cache_targets(o, &res, false, out, 8);
	ck_assert_uint_eq(m, 3);
	ck_assert_uint_eq(out[0].id[0], 0x40);
	ck_assert_uint_eq(out[1].id[0], 0x30);
	ck_assert_uint_eq(out[2].id[0], 0x50);
	ck_assert_uint_eq(dht_policy_for(RPC_OVL_CHORD)->cache_targets(o, &res, false, out, 2), 2);
	simnet_free(n);
}
END_TEST

START_TEST(kad16_caches_by_xor_distance)
{
	struct simnet *n = one_node(&kad16_ops);
	struct ovl *o = simnet_ovl(n, 0);
	struct ovl_lookup_result res;
	memset(&res, 0, sizeof(res)); /* key: all zero */
	res.path[0] = node(0x70);
	res.path[1] = node(0x10);
	res.path[2] = *ovl_self(o);
	res.path[3] = node(0x40);
	res.path[4] = node(0x08);
	res.path[5] = node(0x40); /* twice: one copy */
	res.path_len = 6;
	res.value_found = true;
	res.value_from = node(0x08);
	struct ovl_node out[8];
	const struct dht_policy *k = dht_policy_for(RPC_OVL_KAD16);
	size_t m = k->cache_targets(o, &res, true, out, 8);
	/* Alone in its network, the node's shortlist adds nobody. */
	ck_assert_uint_eq(m, 3);
	ck_assert_uint_eq(out[0].id[0], 0x10);
	ck_assert_uint_eq(out[1].id[0], 0x40);
	ck_assert_uint_eq(out[2].id[0], 0x70);
	m = k->cache_targets(o, &res, false, out, 2);
	ck_assert_uint_eq(m, 2);
	ck_assert_uint_eq(out[0].id[0], 0x10);
	ck_assert_uint_eq(out[1].id[0], 0x40);
	simnet_free(n);
}
END_TEST

START_TEST(kad16_shortlist_copies_when_uncached)
{
	/* 12 nodes: from_store adds at most two of the node's contacts nearest
	 * the key, none of them in the lookup's replica set. */
	struct simnet_params p;
	simnet_params_default(&p);
	p.ops = &kad16_ops;
	p.settle_us = 5000000;
	struct simnet *n = simnet_new(&p);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(simnet_grow(n, 12), 0);
	struct ovl *o = simnet_ovl(n, 0);
	struct ovl_lookup_result res;
	memset(&res, 0, sizeof(res));
	struct ovl_node near[OVL_MAX_REPLICAS];
	size_t nn = ovl_replica_set(o, res.key, near, OVL_MAX_REPLICAS);
	ck_assert_uint_ge(nn, 6);
	res.replicas[0] = near[1];
	res.replicas[1] = near[2];
	res.nreplicas = 2;
	struct ovl_node out[8];
	const struct dht_policy *k = dht_policy_for(RPC_OVL_KAD16);
	ck_assert_uint_eq(k->cache_targets(o, &res, false, out, 8), 0);
	size_t m = k->cache_targets(o, &res, true, out, 8);
	ck_assert_uint_eq(m, 2);
	ck_assert(ovl_id_eq(out[0].id, near[3].id));
	ck_assert(ovl_id_eq(out[1].id, near[4].id));
	simnet_free(n);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dht-policy");
	TCase *tc = tcase_create("policy");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, policy_per_overlay);
	tcase_add_test(tc, chord_caches_on_path_nearest_first);
	tcase_add_test(tc, kad16_caches_by_xor_distance);
	tcase_add_test(tc, kad16_shortlist_copies_when_uncached);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
