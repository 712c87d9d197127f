/*
 * simnet.h - a whole overlay network of N nodes under the simulator: build
 * it (nodes join one by one through random earlier nodes), let it
 * stabilise, crash or add nodes, run lookups of random keys from random
 * nodes and check each against an oracle that knows every live node.
 *
 * Used by `ddns sim` and by the simulation tests (tests/sim/), so the
 * figures the tool prints and the figures the tests assert come from the
 * same code. Wires overlay/ to the sim transport; it is driver code (cli/),
 * not protocol code.
 */
#ifndef DDNS_CLI_SIMNET_H
#define DDNS_CLI_SIMNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/stats.h"
#include "dht/dht.h"
#include "overlay/overlay.h"
#include "overlay/sim.h"

struct simnet;

struct simnet_params {
	const struct ovl_ops *ops;   /* chord_ops or kad16_ops */
	struct ovl_params ovl;       /* per-node overlay parameters */
	uint64_t seed;
	double loss;                 /* datagram loss probability */
	struct sim_faults faults;    /* duplication, reordering, delay spikes */
	struct sim_latency *latency; /* borrowed; NULL: constant 10 ms one way */
	uint64_t join_gap_us;        /* virtual time between joins (default 200 ms) */
	uint64_t settle_us;          /* stabilisation after building (default 60 s) */
	unsigned vnodes;             /* virtual nodes per node (default 1); each an
					overlay instance (and DHT) on the node's endpoint */
	/* With validate set, every node also runs a DHT instance (dht/dht.h)
	 * with these parameters and this validation hook. */
	dht_validate_cb validate;
	void *validate_arg;
	struct dht_params dht;
};

void simnet_params_default(struct simnet_params *p);
struct simnet *simnet_new(const struct simnet_params *p);
void simnet_free(struct simnet *n);

/* Add one node joining through a random live node; does not run the
 * simulator (interleave with simnet_run or simnet_lookups). 0 or error. */
int simnet_add(struct simnet *n) DDNS_WUR;
/* Add `count` nodes, each joining through a random live earlier node (the
 * first starts alone) join_gap_us apart, then let the network settle for
 * settle_us. Returns 0 or an error. */
int simnet_grow(struct simnet *n, size_t count) DDNS_WUR;
/* Run the simulator for dur_us of virtual time (maintenance runs). */
void simnet_run(struct simnet *n, uint64_t dur_us);

size_t simnet_size(const struct simnet *n);          /* nodes ever added */
size_t simnet_live(const struct simnet *n);          /* nodes not crashed */
struct ovl *simnet_ovl(struct simnet *n, size_t i);  /* NULL when crashed */
struct dht *simnet_dht(struct simnet *n, size_t i);  /* NULL when crashed or no DHT */
/* Virtual node v of node i (simnet_ovl and simnet_dht give vnode 0). */
unsigned simnet_vnodes(const struct simnet *n);
struct ovl *simnet_ovl_vnode(struct simnet *n, size_t i, unsigned v);
struct dht *simnet_dht_vnode(struct simnet *n, size_t i, unsigned v);
/* A random live node (the world PRNG draws it). */
size_t simnet_random_live(struct simnet *n);
/* Requests node i's RPC layer has received and dispatched so far, and
 * requests it has issued (first transmissions); frozen at a crash. */
uint64_t simnet_requests_served(struct simnet *n, size_t i);
uint64_t simnet_requests_sent(struct simnet *n, size_t i);
struct tr *simnet_tr(struct simnet *n, size_t i);
bool simnet_alive(const struct simnet *n, size_t i);
struct sim *simnet_sim(struct simnet *n);

/* Crash node i (its DHT and overlay instances are freed without notice). */
void simnet_crash(struct simnet *n, size_t i);
/* Crash round(frac * live) random live nodes at once. Returns how many. */
size_t simnet_crash_fraction(struct simnet *n, double frac);
/* The node truly responsible for key among live nodes: chord's
 * successor(key), kad16's XOR-closest. Returns its index. */
size_t simnet_oracle(const struct simnet *n, const uint8_t key[DDNS_ID_LEN]);
/* The id of the responsible virtual node; false when no node is live. */
bool simnet_oracle_id(const struct simnet *n, const uint8_t key[DDNS_ID_LEN],
		      uint8_t id[DDNS_ID_LEN]);

struct simnet_report {
	size_t lookups;
	size_t correct;      /* ended at the oracle's node */
	size_t failed;       /* status != 0 */
	struct ddns_samples rpcs, hops, latency_us;
};
void simnet_report_init(struct simnet_report *r);
void simnet_report_free(struct simnet_report *r);

/* Run `count` lookups of random keys from random live nodes, at most
 * `parallel` at once (1: one after another), checking each against the
 * oracle at the moment it completes. Appends to *r. Returns 0 or an error. */
int simnet_lookups(struct simnet *n, size_t count, size_t parallel,
		   struct simnet_report *r) DDNS_WUR;

#endif
