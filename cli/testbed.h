/*
 * testbed.h - internals shared by the files of `ddns testbed`:
 * cli/ddns_testbed.c (options, the steps in order, checks),
 * cli/testbed_zones.c (zones, keys, publishing), cli/testbed_nodes.c
 * (processes and nodes), cli/testbed_load.c (the query engine that drives
 * the gateway and the nodes), cli/testbed_report.c (table, CSV, JSON,
 * plots), cli/testbed_conv.c (the conventional stack).
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
#include <stdio.h>
#include <sys/types.h>

#include "cli/client.h"
#include "cli/workload.h"
#include "common/err.h"
#include "common/rng.h"
#include "common/stats.h"
#include "overlay/rpc.h"
#include "overlay/transport.h"

#define TB_MAX_NODES 250
/* Row kinds of the report: overlays by wire id, the gateway, the
 * conventional resolver (--conventional), and the second, warm pass of
 * those two. */
#define TB_KIND_GW 3
#define TB_KIND_CONV 4
#define TB_KIND_GW_WARM 5
#define TB_KIND_CONV_WARM 6
#define TB_KINDS 7
/* DNS targets of the query engine: the gateway and the resolver. */
#define TB_DNS_GW 0
#define TB_DNS_CONV 1
#define TB_DNS_TARGETS 2

struct event_base;
struct event;
struct tb_dns_slot;
struct node_job;

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

/* Figures of one report row. For DNS rows, rpcs are the upstream queries
 * the name servers saw for the lookup (conventional) and cache_hits the
 * answers that needed none. */
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

/* Plain DNS over UDP to one server, `concurrency` slots. */
struct tb_dns_target {
	struct tb *t;
	int target; /* TB_DNS_GW or TB_DNS_CONV */
	int fd;
	struct event *rev;
	struct tb_dns_slot *slots;
};

struct tb_load {
	struct tb_query *q;
	size_t nq;
	unsigned concurrency;
	unsigned kinds;     /* bit per row kind to drive in this pass */
	unsigned kinds_all; /* every kind driven so far (the report's rows) */
	size_t next;        /* next job index (query * TB_KINDS + kind) */
	size_t inflight;
	size_t done_jobs, total_jobs;
	struct tb_row row[TB_KINDS];
	struct tb_dns_target dns[TB_DNS_TARGETS];
	/* Answer digests of the cold pass (0: no answer), per query. */
	uint64_t *digest[TB_DNS_TARGETS];
	uint64_t unattributed; /* upstream queries no lookup in flight explains */
	bool ready;            /* samples and sockets set up */
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

/* ---- the command's state, shared by its files ---- */

/* Set by the signal handler: the run stops (cli/ddns_testbed.c). */
extern volatile sig_atomic_t tb_stop_flag;
/* When the run started (tb_now_us), for the messages' time stamps. */
extern uint64_t tb_start_us;

struct opts {
	unsigned nodes;
	unsigned ovl_mask;
	unsigned mix_pct[3]; /* chord only, kad16 only, both */
	bool mix;
	const char *dns;
	const char **zones;
	size_t nzones;
	const char *names;
	unsigned records;
	const char *workdir;
	bool keep;
	const char *workload;
	unsigned long queries;
	unsigned concurrency;
	unsigned via; /* bit 0 nodes, bit 1 gateway */
	const char *csv, *plot;
	bool json, once;
	double duration;
	const char *latency_matrix;
	uint64_t latency_seed;
	bool netns;
	bool conventional;
	const char *break_ds;
	unsigned replicas;
	uint64_t seed;
	const char *ddnsd;
};

struct zone {
	char *name;  /* "org." or "." */
	char *file;
	char *key;   /* base path of the key pair */
	char *ds;    /* its signed DS RRset: the chain its blocks carry */
};

struct setup {
	const struct opts *o;
	char *dir;
	bool made_dir;
	char *self, *ddnsd;
	char *log; /* helper log */
	char *root_key;
	char *anchors;
	struct zone *zones;
	size_t nzones;
	struct wl_names names; /* demo names (queried by zipf) */
	char check_name[300];
	char check_type[16];
	uint16_t port;
	struct tr_addr gw;
	char gw_s[64];
	bool netns;        /* nodes in namespaces on a bridge (--netns) */
	char nsbase[24];   /* "ddtb<pid>": bridge name and namespace prefix */
	size_t ns_made;    /* namespaces created so far */
	bool bridge_made;
	struct tb_conv *conv; /* --conventional */
	struct zone *broken;  /* --break-ds: the zone, and the key its new DS names */
	char *decoy_key;
	int broken_rcode[2];  /* its SOA: gateway, resolver (-1: no answer) */
	unsigned broken_rcode_u[2];
	uint64_t conv_upstream[2]; /* upstream queries of the cold and the warm pass */
};

struct rtt_row {
	uint32_t node;
	double expected_ms, measured_ms;
};

/* Zones and keys (cli/testbed_zones.c): the demo zones or --zone files, the
 * root key, a key and a DS set per zone; then publishing the root, the DS
 * sets and the zones through the nodes; --break-ds. 0 or an error (said). */
int tb_keys_and_zones(struct setup *s) DDNS_WUR;
int tb_publish(struct setup *s, const struct tb *t) DDNS_WUR;
int tb_break_ds(struct tb *t, struct setup *s) DDNS_WUR;

/* Processes (cli/testbed_nodes.c). */
int tb_pick_port(size_t n, uint16_t *port) DDNS_WUR;
int tb_pick_gw_port(uint16_t *port) DDNS_WUR;
void tb_plan_nodes(struct tb *t, const struct opts *o);
struct tr_addr tb_node_addr(const struct setup *s, size_t k, uint16_t port);
int tb_netns_up(struct setup *s, size_t n) DDNS_WUR;
void tb_netns_down(struct setup *s);
int tb_start_all(struct tb *t, struct setup *s) DDNS_WUR;
int tb_wait_stable(struct tb *t, struct setup *s, unsigned replicas, double limit_s) DDNS_WUR;
bool tb_node_died(struct tb *t, struct setup *s);
void tb_stop_nodes(struct tb *t);
int tb_rtt_check(struct tb *t, const struct opts *o, struct rtt_row *rows, size_t *nrows) DDNS_WUR;

/* The report (cli/testbed_report.c). */
const char *tb_kind_name(int k);
void tb_print_table(FILE *f, struct tb *t);
int tb_write_csv(const char *path, struct tb *t);
void tb_print_json(FILE *f, struct tb *t, struct setup *s, bool have_load, bool check_ok,
		   const struct rtt_row *rtt, size_t nrtt);
int tb_plot(const char *dir, struct tb *t, const char *log);

/* Monotonic microseconds. */
uint64_t tb_now_us(void);
/* Run the loop until cond(arg) holds, the deadline (absolute, tb_now_us)
 * passes or a stop is requested. True when cond held. */
bool tb_run_until(struct tb *t, bool (*cond)(void *), void *arg, uint64_t deadline_us);
/* Progress: a status line on a terminal, plain lines otherwise. */
void tb_progress(const struct tb *t, bool final, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A line on standard error, with the time since the start. */
void tb_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* dir/name, malloc'd (NULL: out of memory). */
char *tb_path_join(const char *dir, const char *name);
/* Is prog an executable on $PATH? */
bool tb_on_path(const char *prog);
/* Spawn argv with stdout to out_path (NULL: inherit) and stderr to err_path
 * (NULL: inherit). Returns the pid or -errno. */
pid_t tb_spawn(char *const argv[], const char *out_path, const char *err_path);
/* Wait for pid; a stop request kills it (by its PID) and returns -EINTR.
 * Otherwise its exit status, or -1 when it died of a signal. */
int tb_wait_child(pid_t pid);
/* Stop a child by its PID: SIGTERM, SIGKILL after 5 s; *pid becomes 0 (a
 * pid <= 0 is left alone). */
void tb_stop_pid(pid_t *pid);
/* The first line of a file, without its newline (malloc'd; NULL: none). */
char *tb_read_first_line(const char *path);
/* Run one of our own subcommands (self: this program) to completion; stdout
 * to out (or the log), stderr to the log. 0 on exit status 0. */
int tb_run_self(const char *self, const char *log, const char *out, const char *const *args);

/* A DNS query into out (cap bytes): id, flags (0x0100: RD), one question
 * <qname (wire), type, qclass>, and with edns_size > 0 an OPT record of that
 * payload size with DO set. 0 with *len, or -ENOSPC. */
int tb_dns_query(uint8_t *out, size_t cap, uint16_t id, uint16_t flags, const uint8_t *qname,
		 size_t qlen, uint16_t type, uint16_t qclass, uint16_t edns_size, size_t *len);

/* Name text ("www.example.org") to uncompressed wire form. 0 or -EINVAL. */
int tb_name_wire(const char *name, uint8_t out[256], size_t *len);

/* The query engine (cli/testbed_load.c): one pass drives every job of
 * l->kinds to an answer or a timeout; call again with other kinds for
 * another pass over the same queries. gw, conv: the DNS targets (NULL when
 * the pass has none). */
int tb_load_run(struct tb *t, const struct tr_addr *gw, const struct tr_addr *conv,
		uint64_t deadline_us);
void tb_load_free(struct tb_load *l);
/* An upstream query of the conventional resolver (tb_conv_upstream_cb):
 * charged to the oldest conventional lookup in flight whose name is at or
 * below qname, else to the oldest in flight, else counted unattributed. */
void tb_load_upstream(void *arg, const uint8_t *qname, size_t len);
/* Queries the gateway and the resolver both answered in the cold pass
 * (compared), and those whose answers (rcode and answer RRsets without
 * signatures) are the same. *first_diff: a query index that differs, or
 * SIZE_MAX. */
void tb_load_compare(const struct tb_load *l, size_t *compared, size_t *same,
		     size_t *first_diff);

#endif
