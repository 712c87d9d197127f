/*
 * policy.h - the DHT's placement and caching policy: which nodes hold a
 * key's replicas, how a get looks for a block, and which nodes receive a
 * cached copy after a get. Internal to dht/ (dht.c asks; nothing else
 * decides placement), one small const table per overlay, so that later
 * policies (popularity-driven replication, DESIGN.md) replace a table
 * rather than edit the protocol code.
 *
 * A policy only chooses; it sends nothing, keeps no state and calls only
 * overlay.h queries on the instance it is given.
 */
#ifndef DDNS_DHT_POLICY_H
#define DDNS_DHT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dht/dht.h"

struct dht_policy {
	const char *name;
	/* This node's view of key's replica set (self first when responsible);
	 * at most max nodes written to out; returns how many. */
	size_t (*replica_set)(struct ovl *o, const uint8_t key[DHT_KEY_LEN], struct ovl_node *out,
			      size_t max);
	/* ovl_lookup_opts.spread for a get's lookup (0: the overlay's order). */
	unsigned get_spread;
	/* After a get's lookup on o: the nodes (at most max, never self nor
	 * res->value_from) that should receive a cached copy of the block,
	 * most useful first. from_store: no cached copy was met (the block
	 * came from a node storing it, found by the lookup or fetched). */
	size_t (*cache_targets)(struct ovl *o, const struct ovl_lookup_result *res, bool from_store,
				struct ovl_node *out, size_t max);
};

/* The policy for an overlay wire id (RPC_OVL_CHORD, RPC_OVL_KAD16); the
 * chord policy for any other. Never NULL. */
const struct dht_policy *dht_policy_for(uint8_t wire_id);

#endif
