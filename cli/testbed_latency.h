/*
 * testbed_latency.h - a node's place in a measured RTT matrix, for the
 * testbed's emulated wide-area delays (`ddns testbed --latency-matrix`,
 * `ddnsd --latency-matrix FILE --latency-host I`).
 *
 * Testbed node k listens on the loopback address whose low 24 bits are
 * k + 2 (127.0.0.2 is node 0, 127.0.0.3 node 1, ...): a peer's node index
 * comes from its address alone, so no node needs a map of the others. The
 * model is overlay/sim.h's matrix model (node index -> matrix host by a
 * seeded shuffle, one-way delay = RTT / 2), the same one `ddns sim` uses,
 * so a testbed and a simulation with the same file and seed place nodes
 * alike. Addresses outside 127/8 or below 127.0.0.2 (clients on 127.0.0.1)
 * get no delay; with --netns, 198.18.0.0/16 maps the same way. cli/ code:
 * it feeds udp_tr_set_delay (overlay/udp.h).
 */
#ifndef DDNS_CLI_TESTBED_LATENCY_H
#define DDNS_CLI_TESTBED_LATENCY_H

#include <stddef.h>
#include <stdint.h>

#include "overlay/transport.h"

struct tb_latency;

/* Node index of a testbed address (its low 24 bits minus 2), or -1 for
 * addresses that carry no delay. */
long tb_latency_index_of(const struct tr_addr *a);

/* The testbed address of node index k (port given). */
struct tr_addr tb_latency_addr_of(uint32_t k, uint16_t port);
/* With --netns, node k is 198.18.0.0 + k + 2 on a bridge (198.18.0.1 is the
 * host side); tb_latency_index_of maps those addresses alike. */
struct tr_addr tb_latency_netns_addr_of(uint32_t k, uint16_t port);

/* Load the matrix (values in ms) with placement seed `seed`, for the node
 * of index self. NULL on error with a one-line message in err. */
struct tb_latency *tb_latency_new(const char *path, uint64_t seed, uint32_t self, char *err,
				  size_t errlen);
void tb_latency_free(struct tb_latency *l);

/* One-way delay in microseconds from node src to node dst. */
uint64_t tb_latency_one_way(struct tb_latency *l, uint32_t src, uint32_t dst);
/* Matrix host node k sits on. */
size_t tb_latency_host_of(const struct tb_latency *l, uint32_t k);

/* udp_delay_cb: the delay from this node (arg: struct tb_latency) to `to`. */
uint64_t tb_latency_delay(void *arg, const struct tr_addr *to);

#endif
