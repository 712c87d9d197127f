/*
 * testbed.h - internals shared by the files of `ddns testbed`
 * (cli/ddns_testbed.c: set-up, processes and reporting; cli/testbed_load.c:
 * the query engine that drives the gateway and the nodes).
 *
 * One event base, one UDP endpoint on 127.0.0.1 with an RPC layer speaking
 * the node client protocol (cli/client.h), and one plain UDP socket for DNS
 * queries to the gateway. cli/ code: it may use clocks, sockets, signals.
 */
#ifndef DDNS_CLI_TESTBED_H
#define DDNS_CLI_TESTBED_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli/client.h"
#include "common/rng.h"
#include "common/stats.h"
#include "overlay/rpc.h"
#include "overlay/transport.h"

#define TB_MAX_NODES 250
/* Row kinds of the report: overlays by wire id, then the gateway. */
#define TB_KIND_GW 3
#define TB_KINDS 4

struct event_base;
struct event;
struct tb_dns_slot;
struct node_job;
struct setup;

struct tb_node {
	uint32_t idx;
	struct tr_addr addr;
	char addr_s[64];  /* "127.0.0.2:PORT" */
	unsigned ovl_mask; /* 1 << RPC_OVL_CHORD | 1 << RPC_OVL_KAD16 */
	int join;          /* index of the bootstrap node, -1: the first */
	pid_t pid;
	bool up;           /* answered a STATUS */
	struct cli_status st;
	bool st_ok;
};

/* Figures of one report row. */
struct tb_row {
	uint64_t queries, answered, failed, cache_hits, ad;
	struct ddns_samples rpcs, hops, latency_ms;
};

/* A query of the workload: a name in wire form and a type. */
struct tb_query {
	uint8_t wire[256];
	size_t wire_len;
	uint16_t type;
};

struct tb_load {
	struct tb_query *q;
	size_t nq;
	unsigned concurrency;
	unsigned kinds;   /* bit per row kind to drive */
	size_t next;      /* next job index (query * TB_KINDS + kind) */
	size_t inflight;
	size_t done_jobs, total_jobs;
	struct tb_row row[TB_KINDS];
	/* gateway DNS */
	int fd;
	struct event *rev;
	struct tr_addr gw;
	struct tb_dns_slot *slots;
	uint64_t dns_timeout_us;
	uint64_t started_us;
	struct node_job *jobs; /* node jobs in flight (testbed_load.c) */
};

struct tb {
	struct event_base *base;
	struct tr *tr;
	struct rpc *rpc;
	struct ddns_rng rng;
	struct tb_node *nodes;
	size_t n;
	volatile sig_atomic_t *stop;
	bool tty;
	struct tb_load load;
	struct setup *netns_s; /* --netns: the set-up that made the namespaces */
};

/* Monotonic microseconds. */
uint64_t tb_now_us(void);
/* Run the loop until cond(arg) holds, the deadline (absolute, tb_now_us)
 * passes or a stop is requested. True when cond held. */
bool tb_run_until(struct tb *t, bool (*cond)(void *), void *arg, uint64_t deadline_us);
/* Progress: a status line on a terminal, plain lines otherwise. */
void tb_progress(const struct tb *t, bool final, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Name text ("www.example.org") to uncompressed wire form. 0 or -EINVAL. */
int tb_name_wire(const char *name, uint8_t out[256], size_t *len);

/* The query engine (cli/testbed_load.c). Prepare with the gateway address
 * (NULL: nodes only); run drives every job to an answer or a timeout. */
int tb_load_run(struct tb *t, const struct tr_addr *gw, uint64_t deadline_us);
void tb_load_free(struct tb_load *l);

#endif
