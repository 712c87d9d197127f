/*
 * policy.c - the per-overlay placement and caching policies (policy.h).
 *
 * Both: replicas are the overlay's replica set (chord: the owner and its
 * successors; kad16: the r XOR-closest nodes).
 *
 * chord (DHash): a get's lookup is sequential and stops at the key's
 * predecessor, which names the owner without holding the block; every
 * lookup for a key converges through the same few predecessors, so a
 * cached copy at the path nodes nearest the key (the last to answer)
 * absorbs the next lookups from every direction.
 *
 * kad16 (Kademlia): caching "at the closest node observed on the lookup
 * path that did not return the value", extended to every such node in
 * order of XOR distance to the key: a lookup for a popular key then finds
 * copies at nodes ever farther from it, so the load moves outward as the
 * key gets popular. It only works together with a get lookup that spreads
 * its requests (ovl_lookup_opts.spread): with kad16's default order every
 * originator's first requests go to its XOR-closest contacts, which are
 * the same handful of nodes next to the key however many copies are
 * cached one hop out. A spread of 2k covers the key's bucket and the
 * replacement cache of it, so the old nodes that long-lived buckets keep
 * (least-recently-seen eviction) are not favoured either.
 */
#include "dht/policy.h"

#include <string.h>

#include "overlay/id.h"

/* Cached copies a kad16 get gives to shortlist nodes beyond its path. */
#define KAD16_SHORTLIST_COPIES 2

static size_t overlay_replicas(struct ovl *o, const uint8_t key[DHT_KEY_LEN],
			       struct ovl_node *out, size_t max)
{
	return ovl_replica_set(o, key, out, max);
}

static bool skip(const struct ovl_node *n, const struct ovl_lookup_result *res,
		 const struct ovl_node *self)
{
	return ovl_id_eq(n->id, self->id) || (res->value_found && ovl_id_eq(n->id, res->value_from.id));
}

static bool listed(const struct ovl_node *n, const struct ovl_node *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (ovl_id_eq(n->id, v[i].id))
			return true;
	return false;
}

/* Path nodes, the last to answer (nearest the key in chord) first. */
static size_t chord_cache_targets(struct ovl *o, const struct ovl_lookup_result *res,
				  bool from_store, struct ovl_node *out, size_t max)
{
	(void)from_store;
	size_t n = 0;
	for (size_t i = res->path_len; i-- > 0 && n < max;)
		if (!skip(&res->path[i], res, ovl_self(o)))
			out[n++] = res->path[i];
	return n;
}

/* Insert c into out (n entries, XOR-sorted to key, capacity max). */
static void xor_insert(const uint8_t *key, struct ovl_node *out, size_t *n, size_t max,
		       const struct ovl_node *c)
{
	size_t pos = *n;
	while (pos > 0 && ovl_id_xor_closer(key, c->id, out[pos - 1].id))
		pos--;
	if (pos >= max)
		return;
	size_t end = *n < max ? *n : max - 1;
	memmove(out + pos + 1, out + pos, (end - pos) * sizeof(*out));
	out[pos] = *c;
	if (*n < max)
		(*n)++;
}

/* Path nodes that did not return the value, XOR-closest to the key first;
 * when no cached copy was met on the way, also the nearest two other
 * nodes of the lookup's shortlist (this node's contacts nearest the key,
 * from which its first request was drawn) outside the replica set: they
 * are first hops of other originators' lookups for the key. */
static size_t kad16_cache_targets(struct ovl *o, const struct ovl_lookup_result *res,
				  bool from_store, struct ovl_node *out, size_t max)
{
	const struct ovl_node *self = ovl_self(o);
	size_t n = 0;
	for (size_t i = 0; i < res->path_len; i++)
		if (!skip(&res->path[i], res, self) && !listed(&res->path[i], out, n))
			xor_insert(res->key, out, &n, max, &res->path[i]);
	if (!from_store || n >= max)
		return n;
	struct ovl_node near[2 * OVL_MAX_REPLICAS];
	size_t nn = ovl_replica_set(o, res->key, near, 2 * OVL_MAX_REPLICAS);
	size_t lim = n + KAD16_SHORTLIST_COPIES < max ? n + KAD16_SHORTLIST_COPIES : max;
	for (size_t i = 0; i < nn && n < lim; i++) { /* already XOR-sorted */
		const struct ovl_node *c = &near[i];
		if (!skip(c, res, self) && !listed(c, res->replicas, res->nreplicas) && !listed(c, out, n))
			out[n++] = *c;
	}
	return n;
}

static const struct dht_policy chord_policy = {
	.name = "dhash-path",
	.replica_set = overlay_replicas,
	.get_spread = 0,
	.cache_targets = chord_cache_targets,
};

static const struct dht_policy kad16_policy = {
	.name = "kademlia-spread",
	.replica_set = overlay_replicas,
	.get_spread = 32,
	.cache_targets = kad16_cache_targets,
};

const struct dht_policy *dht_policy_for(uint8_t wire_id)
{
	return wire_id == RPC_OVL_KAD16 ? &kad16_policy : &chord_policy;
}
