/*
 * sim.h - the deterministic discrete-event network simulator (transport
 * backend "sim").
 *
 * One struct sim is a whole network in one process: a virtual clock, a
 * priority queue of events (datagram deliveries and timer expiries), per-pair
 * one-way latency from a pluggable model, a packet-loss probability, and node
 * crash/restart. Each node is a struct tr endpoint (overlay/transport.h), so
 * protocol code runs on it unchanged. Given the same seed and the same calls,
 * a run replays bit for bit: events at equal times are ordered by a sequence
 * number, and all randomness comes from PRNGs seeded from the run's seed.
 *
 * Nothing here reads the wall clock.
 */
#ifndef DDNS_OVERLAY_SIM_H
#define DDNS_OVERLAY_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/rng.h"
#include "overlay/transport.h"

struct sim;

/* A latency model: one-way delay in microseconds from node index src to
 * node index dst (indices in order of sim_node_add). rng is the simulator's
 * (deterministic) for models that draw. */
struct sim_latency {
	uint64_t (*one_way_us)(void *arg, uint32_t src, uint32_t dst, struct ddns_rng *rng);
	void (*free)(void *arg);
	void *arg;
	const char *name;
};

/* Every pair: the same delay. */
struct sim_latency *sim_latency_constant(uint64_t one_way_us);
/* Each datagram draws from an empirical distribution of one-way delays
 * (samples in microseconds, copied). */
struct sim_latency *sim_latency_samples(const uint64_t *samples_us, size_t n);
/* A measured RTT matrix file (whitespace-separated square matrix, e.g.
 * ../shared/data/PlanetLabData_1, values in ms when unit_us = 1000, in s
 * when 1e6). Node i sits on host perm[i % hosts] where perm is a seeded
 * shuffle; one-way delay = RTT/2; missing (zero/negative) off-diagonal
 * entries fall back to the matrix median. NULL and *err set on failure
 * (-errno, DDNS_EMALFORMED). */
struct sim_latency *sim_latency_matrix_load(const char *path, double unit_us, uint64_t seed,
					    int *err);
/* Host count of a matrix model (0 for other models). */
size_t sim_latency_matrix_hosts(const struct sim_latency *l);
void sim_latency_free(struct sim_latency *l);

/* Faults the network injects besides loss, each drawn per datagram from
 * the world PRNG only when its probability is above 0 (so a run without
 * them draws the same numbers as before they existed). */
struct sim_faults {
	double dup;          /* probability a datagram is delivered twice; the copy
				arrives up to one more one-way delay later */
	double reorder;      /* probability a datagram is held an extra uniform
				0..reorder_us, so later ones overtake it */
	uint64_t reorder_us; /* (default 100 ms when reorder > 0 and this is 0) */
	double spike;        /* probability a datagram waits an extra spike_us */
	uint64_t spike_us;
};

struct sim_params {
	uint64_t seed;
	double loss;                 /* probability each datagram is dropped */
	struct sim_faults faults;
	struct sim_latency *latency; /* borrowed; NULL: constant 10 ms */
	size_t mtu;                  /* default 65507 */
};

void sim_params_default(struct sim_params *p);
struct sim *sim_new(const struct sim_params *p);
/* Frees every node endpoint still in the network and pending events. */
void sim_free(struct sim *s);

/* Add a node at addr (must be unique). The endpoint belongs to the sim;
 * tr_free on it removes the node. NULL on ENOMEM or duplicate address. */
struct tr *sim_node_add(struct sim *s, const struct tr_addr *addr);
/* Index of a node (0-based, order of addition), for latency models. */
uint32_t sim_node_index(const struct tr *t);
/* Crash: the node stops receiving and sending, its pending timers are
 * discarded and new ones are ignored, datagrams to it are lost. */
void sim_node_crash(struct tr *t);
/* Restart a crashed node: it receives again. Its protocol state is whatever
 * the caller leaves on it (recreate instances for a clean restart). */
void sim_node_restart(struct tr *t);
bool sim_node_alive(const struct tr *t);

uint64_t sim_now_us(const struct sim *s);
/* Run events up to and including virtual time until_us; the clock ends at
 * until_us. Returns the number of events processed. */
uint64_t sim_run_until(struct sim *s, uint64_t until_us);
/* Run until cond(arg) is true (checked after every event) or the clock
 * passes now + max_us. Returns true when cond became true. */
bool sim_run_cond(struct sim *s, bool (*cond)(void *arg), void *arg, uint64_t max_us);
/* Process one event; false when the queue is empty. */
bool sim_step(struct sim *s);
/* The world's own PRNG, for drivers choosing nodes, keys, workloads. */
struct ddns_rng *sim_rng(struct sim *s);

/* A running hash of every event processed (time, kind, endpoints, bytes):
 * equal hashes mean equal traces. */
uint64_t sim_trace_hash(const struct sim *s);

struct sim_stats {
	uint64_t events;
	uint64_t datagrams_sent, datagrams_delivered, datagrams_lost, datagrams_to_dead;
	uint64_t datagrams_duplicated, datagrams_reordered, datagrams_spiked; /* sim_faults */
	uint64_t bytes_sent;
	uint64_t timers_fired;
	size_t nodes;
	size_t queue_len, queue_peak;
};
void sim_get_stats(const struct sim *s, struct sim_stats *out);

/* --- Additions (append-only) --------------------------------------------
 * Semantics fixed by the implementation (overlay/sim.c):
 *  - Crash: a crashed node's pending timers leave the queue but stay
 *    allocated as dormant handles that never fire (not even after a
 *    restart); tr_timer_cancel on them is still valid and frees them, and
 *    tr_free/sim_free free the rest. tr_timer_add on a crashed node returns
 *    such a dormant handle (NULL only on ENOMEM). Sends from a crashed node
 *    are dropped silently and not counted.
 *  - datagrams_to_dead counts datagrams sent to an address with no node and
 *    datagrams arriving at a crashed or freed node.
 *  - Latency model src == dst (a node sending to itself) is 0 for the
 *    matrix model; two distinct nodes placed on the same matrix host get
 *    that host's smallest one-way delay to any other host.
 *  - sim_latency_free releases models made by the constructors above (it
 *    calls l->free(l->arg), then free(l)).
 */

/* Matrix host that node index `node` sits on (0 <= host < hosts), or
 * SIZE_MAX when l is not a matrix model. */
size_t sim_latency_matrix_host_of(const struct sim_latency *l, uint32_t node);

/* Change the loss probability from now on (e.g. a network built without
 * loss, then measured under loss). */
void sim_set_loss(struct sim *s, double loss);
/* The same for the other faults (a copy of *f is kept). */
void sim_set_faults(struct sim *s, const struct sim_faults *f);

/* A tap on the wire: called for every datagram a live node sends (the
 * ones sim_stats.datagrams_sent counts), before loss is drawn, with the
 * sending endpoint and the bytes (borrowed for the call). For tests that
 * count what the transport actually sent. NULL removes it. The tap must
 * not send or run the simulator. */
typedef void (*sim_tap_cb)(void *arg, const struct tr *from, const struct tr_addr *to,
			   const uint8_t *data, size_t len);
void sim_set_tap(struct sim *s, sim_tap_cb cb, void *arg);

#endif
