/*
 * overlay.h - the one overlay interface: chord (b = 2) and kad16 (16-ary
 * Kademlia-style prefix routing) behind an ops table.
 *
 * An overlay instance is one virtual node of one overlay on one RPC endpoint.
 * It maps 160-bit keys to the node responsible (chord: successor(key);
 * kad16: the XOR-closest live node) and its r-node replica set, keeps its
 * routing state with periodic maintenance on transport timers, and reports
 * for every lookup the exact number of RPCs it sent and sequential hops it
 * took. It may call overlay/rpc.h, overlay/transport.h, overlay/id.h and
 * common/ only; it knows nothing of blocks or DNS: the layer above plugs in
 * through the value hook and the change callback.
 */
#ifndef DDNS_OVERLAY_OVERLAY_H
#define DDNS_OVERLAY_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/hash.h"
#include "overlay/rpc.h"
#include "overlay/transport.h"

#define OVL_MAX_REPLICAS 16
#define OVL_MAX_PATH 64

struct ovl;
struct ovl_ops;

/* A reference to a (virtual) node. id is always ovl_id_of(addr, vnode). */
struct ovl_node {
	uint8_t id[DDNS_ID_LEN];
	struct tr_addr addr;
	uint8_t vnode;
};

struct ovl_params {
	uint8_t vnode;              /* this instance's virtual-node index (0..255) */
	unsigned replicas;          /* r: size of replica sets (default 6, <= OVL_MAX_REPLICAS) */
	/* chord */
	unsigned succ_list_len;     /* successor list length (default 16) */
	uint64_t stabilize_us;      /* stabilize + check-predecessor period (default 1 s) */
	uint64_t fix_fingers_us;    /* fix-fingers period (default 1 s) */
	/* kad16 */
	unsigned k;                 /* bucket size (default 8) */
	unsigned alpha;             /* parallel RPCs per lookup (default 3) */
	uint64_t refresh_us;        /* bucket refresh period (default 60 s) */
	bool pns;                   /* proximity neighbour selection (default off) */
	/* both */
	uint64_t rpc_timeout_us;    /* per-RPC timeout for lookups (0: RPC default) */
	int rpc_retries;            /* retransmissions per lookup RPC (-1: RPC default) */
};

void ovl_params_default(struct ovl_params *p);

/*
 * The overlays this build knows. One table (overlay.c) maps each wire id
 * (RPC_OVL_CHORD, RPC_OVL_KAD16) to its backend, and the backend names it;
 * sets of overlays are masks with bit OVL_BIT(wire id). Every mapping in
 * the programs goes through these.
 */
#define OVL_BIT(wire) (1u << (wire))
#define OVL_MASK_ALL (OVL_BIT(RPC_OVL_CHORD) | OVL_BIT(RPC_OVL_KAD16))

/* The backend named "chord" or "kad16", or NULL. */
const struct ovl_ops *ovl_ops_by_name(const char *name);
/* The backend with wire id wire, or NULL. */
const struct ovl_ops *ovl_ops_by_wire(uint8_t wire);
const char *ovl_ops_name(const struct ovl_ops *ops);
/* The wire overlay id (RPC_OVL_CHORD, RPC_OVL_KAD16). */
uint8_t ovl_ops_wire_id(const struct ovl_ops *ops);
/* The name of the overlay with wire id wire; "?" for one this build does
 * not know (a newer peer's, or RPC_OVL_NONE). */
const char *ovl_wire_name(uint8_t wire);
extern const struct ovl_ops chord_ops;
extern const struct ovl_ops kad16_ops;

/* New instance of backend ops on RPC endpoint r (borrowed; must outlive the
 * instance). Registers its handler with r for (its overlay id,
 * RPC_SVC_OVERLAY, p->vnode). p NULL for defaults. NULL on error. */
struct ovl *ovl_new(const struct ovl_ops *ops, struct rpc *r, const struct ovl_params *p);
/* Stops timers, cancels lookups (their callbacks get DDNS_ECANCELLED),
 * unregisters. NULL is a no-op. Does not notify peers: call ovl_leave. */
void ovl_free(struct ovl *o);

/* Join through a node at bootstrap (vnode 0 there), or start a new network
 * alone when bootstrap is NULL. Returns 0 when the join started; the node is
 * usable for lookups at once and converges through maintenance. */
int ovl_join(struct ovl *o, const struct tr_addr *bootstrap) DDNS_WUR;
/* Leave politely: tell neighbours (chord: predecessor and successor) and
 * stop maintenance. */
void ovl_leave(struct ovl *o);

/* The value hook: asked by a remote lookup whether this node holds the
 * value for key. probe is the opaque request the looking-up layer attached.
 * Return true and set *val and *len (borrowed until the hook is next called or
 * control returns to the event loop) to stop the lookup here. */
typedef bool (*ovl_value_cb)(void *arg, const uint8_t key[DDNS_ID_LEN], const uint8_t *probe,
			     size_t probe_len, const uint8_t **val, size_t *len);
void ovl_set_value_hook(struct ovl *o, ovl_value_cb cb, void *arg);

/* The change hook: the node's key range (chord predecessor) or the set of
 * nodes nearest to it (successor list, closest contacts) changed. */
typedef void (*ovl_change_cb)(void *arg, struct ovl *o);
void ovl_set_change_hook(struct ovl *o, ovl_change_cb cb, void *arg);

struct ovl_lookup_opts {
	const uint8_t *probe;   /* with want_value: passed to each node's value hook */
	size_t probe_len;
	bool want_value;        /* stop at the first node whose hook returns a value */
	unsigned nreplicas;     /* replica set size wanted (0: params.replicas) */
	/* With want_value, spread > 0 asks a backend with parallel lookups
	 * (kad16) to send one value request at a time (another only when it
	 * stalls: unanswered after one RPC timeout), each to a random one of
	 * the `spread` closest unasked candidates that make a routing step
	 * (or are among the nreplicas closest), so the requests for a popular
	 * key spread over the nodes that cache it rather than all going to
	 * the few nodes next to it. 0: the backend's usual order. Backends
	 * whose lookups are sequential (chord) ignore it. */
	unsigned spread;
};

struct ovl_lookup_result {
	int status;             /* 0, DDNS_ETIMEDOUT (no live path), DDNS_ECANCELLED */
	uint8_t key[DDNS_ID_LEN];
	struct ovl_node owner;  /* the node responsible for key */
	struct ovl_node replicas[OVL_MAX_REPLICAS]; /* owner first */
	size_t nreplicas;
	unsigned rpcs;          /* requests this lookup sent (each counted once) */
	unsigned retransmits;   /* of which retransmitted, extra datagrams */
	unsigned timeouts;      /* requests that went unanswered */
	unsigned hops;          /* sequential rounds of RPCs */
	bool value_found;       /* a node's value hook answered (or the local one) */
	struct ovl_node value_from;
	const uint8_t *value;   /* borrowed until the callback returns */
	size_t value_len;
	struct ovl_node path[OVL_MAX_PATH]; /* nodes that answered, in order */
	size_t path_len;
};

typedef void (*ovl_lookup_cb)(void *arg, const struct ovl_lookup_result *res);

/* Find the node responsible for key (and, with opts->want_value, stop at
 * the first node holding the value; the local node's hook is asked first,
 * costing 0 RPCs). opts may be NULL. The callback runs exactly once, never
 * inside ovl_lookup. Returns 0 or -ENOMEM. */
int ovl_lookup(struct ovl *o, const uint8_t key[DDNS_ID_LEN], const struct ovl_lookup_opts *opts,
	       ovl_lookup_cb cb, void *arg) DDNS_WUR;

/* This node's own reference. */
const struct ovl_node *ovl_self(const struct ovl *o);
struct rpc *ovl_rpc(const struct ovl *o);
const struct ovl_ops *ovl_ops_of(const struct ovl *o);
/* Local belief: is this node responsible for key? */
bool ovl_responsible(struct ovl *o, const uint8_t key[DDNS_ID_LEN]);
/* Local belief: the replica set for a key this node is responsible for
 * (itself first, then chord successors / kad16 closest contacts). Writes at
 * most max nodes; returns how many. */
size_t ovl_replica_set(struct ovl *o, const uint8_t key[DDNS_ID_LEN], struct ovl_node *out,
		       size_t max);
/* Every node in the routing state (fingers, successors, predecessor,
 * buckets), without duplicates. For tests and diagnostics. */
size_t ovl_routing_nodes(struct ovl *o, struct ovl_node *out, size_t max);

/* Local estimate of the number of nodes in the overlay, from the density
 * of the identifiers nearest this node (>= 1). */
uint64_t ovl_size_estimate(struct ovl *o);

/* Estimate from m identifiers at distance at most dist (big-endian, the
 * top 64 bits of a 160-bit distance) from a point: m * 2^160 / dist. */
uint64_t ovl_density_estimate(unsigned m, const uint8_t dist[DDNS_ID_LEN]);

struct ovl_stats {
	uint64_t lookups, lookups_ok, lookups_failed;
	uint64_t lookup_rpcs, lookup_hops;       /* sums over completed lookups */
	uint64_t maint_rpcs;                      /* maintenance RPCs sent */
	uint64_t requests_served;                 /* overlay RPCs answered */
	uint64_t spoofed_ignored;                 /* references whose id did not match the address */
	uint64_t routing_size;                    /* distinct nodes in routing state */
	/* Bounds, whatever peers send: routing state (its capacity in node
	 * references), the candidates one lookup keeps, and the references
	 * one answer may add. */
	uint64_t routing_max;
	unsigned lookup_candidates_max, refs_per_answer_max;
};
void ovl_get_stats(struct ovl *o, struct ovl_stats *out);

#endif
