/*
 * testbed_nodes.c - the testbed's processes (cli/testbed.h): spawning and
 * reaping children, the nodes (ports, overlay plan, --netns namespaces,
 * start in join order, wait until the rings are stable, stop by PID), the
 * STATUS polls of the client protocol, and the RTT check of
 * --latency-matrix.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/testbed.h"
#include "cli/testbed_latency.h"
#include "common/buf.h"
#include "common/err.h"
#include "overlay/overlay.h"
#include "overlay/udp.h"

extern char **environ;

/* --- child processes --- */

/* Spawn argv with stdout to out_path (NULL: inherit) and stderr to
 * err_path (NULL: inherit). Returns the pid or -errno. */
pid_t tb_spawn(char *const argv[], const char *out_path, const char *err_path)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (out_path)
		posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | (strcmp(out_path, err_path ? err_path : "") == 0 ? O_APPEND : O_TRUNC),
						 0644);
	if (err_path)
		posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_APPEND,
						 0644);
	pid_t pid;
	int e = strchr(argv[0], '/') ? posix_spawn(&pid, argv[0], &fa, NULL, argv, environ)
				      : posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return e ? -e : pid;
}

/* Wait for pid; a stop request kills it (by its PID) and returns -EINTR.
 * Otherwise its exit status, or -1 when it died of a signal. */
int tb_wait_child(pid_t pid)
{
	int st;
	for (;;) {
		pid_t r = waitpid(pid, &st, 0);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (tb_stop_flag) {
			kill(pid, SIGTERM);
			(void)waitpid(pid, &st, 0);
			return -EINTR;
		}
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Run one of our own subcommands to completion. stdout to out (or the
 * log), stderr to the log. 0 on exit status 0. */
int tb_run_self(const char *self, const char *log, const char *out, const char *const *args)
{
	char *argv[64];
	size_t n = 0;
	argv[n++] = (char *)self;
	for (; *args && n < 63; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	pid_t pid = tb_spawn(argv, out ? out : log, log);
	if (pid < 0)
		return (int)pid;
	int rc = tb_wait_child(pid);
	if (rc != 0) {
		tb_say("'%s %s' failed (%s); see %s", self, argv[1],
		    rc == -EINTR ? "interrupted" : "non-zero exit", log);
		return rc == -EINTR ? -EINTR : -EIO;
	}
	return 0;
}

/* --- the client protocol: STATUS --- */

struct status_call {
	struct tb *t;
	size_t idx;
	bool done;
	uint64_t sent_us, rtt_us;
};

static void on_status(void *arg, int status, const struct rpc_msg *reply)
{
	struct status_call *c = arg;
	struct tb_node *nd = &c->t->nodes[c->idx];
	c->done = true;
	nd->st_ok = false;
	if (status == 0 && reply->type == CLI_STATUS_R &&
	    cli_msg_status_r_decode(reply->payload, reply->len, &nd->st) == 0) {
		nd->st_ok = true;
		nd->up = true;
		c->rtt_us = tb_now_us() - c->sent_us;
	}
}

static int status_issue(struct tb *t, struct rpc *via, size_t idx, struct status_call *c,
			uint64_t timeout_us, int retries)
{
	uint8_t ver = CLI_WIRE_VERSION;
	memset(c, 0, sizeof(*c));
	c->t = t;
	c->idx = idx;
	struct rpc_call call = {.to = t->nodes[idx].addr,
				.overlay = RPC_OVL_NONE,
				.service = RPC_SVC_CLIENT,
				.type = CLI_STATUS,
				.payload = &ver,
				.len = 1,
				.timeout_us = timeout_us,
				.retries = retries};
	c->sent_us = tb_now_us();
	return rpc_call(via, &call, on_status, c, NULL);
}

struct poll_all {
	struct status_call *calls;
	size_t n;
};

static bool all_done(void *arg)
{
	struct poll_all *p = arg;
	for (size_t i = 0; i < p->n; i++)
		if (!p->calls[i].done)
			return false;
	return true;
}

/* STATUS from nodes [0, n) in parallel. */
static int poll_status(struct tb *t, size_t n)
{
	struct status_call *calls = calloc(n, sizeof(*calls));
	if (!calls)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (status_issue(t, t->rpc, i, &calls[i], 300000, 1) != 0)
			calls[i].done = true;
	struct poll_all p = {calls, n};
	bool ok = tb_run_until(t, all_done, &p, tb_now_us() + 3000000);
	if (!ok) {
		/* stopped: the calls must not outlive their contexts */
		rpc_free(t->rpc);
		t->rpc = rpc_new(t->tr, NULL);
	}
	free(calls);
	return ok ? 0 : -EINTR;
}

/* --- nodes --- */

/* A UDP port free on every node address and on 127.0.0.1. */
int tb_pick_port(size_t n, uint16_t *port)
{
	/* n == 0 (--netns): the namespaces are empty; 127.0.0.1 is checked only. */
	for (int attempt = 0; attempt < 200; attempt++) {
		uint16_t p = (uint16_t)(20000 + ((unsigned)rand() % 40000));
		bool ok = true;
		for (size_t i = 0; i <= n && ok; i++) {
			struct tr_addr a = i == n ? tr_addr_v4(0x7f000001u, p)
						  : tb_latency_addr_of((uint32_t)i, p);
			struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(p)};
			memcpy(&sa.sin_addr, a.ip, 4);
			int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
			if (fd < 0)
				return -errno;
			ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
			close(fd);
		}
		if (ok) {
			*port = p;
			return 0;
		}
	}
	return -EADDRINUSE;
}

int tb_pick_gw_port(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001u)};
	socklen_t l = sizeof(sa);
	if (fd < 0)
		return -errno;
	/* A free UDP port; the gateway's TCP listener on it is checked by ddnsd. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &l) != 0) {
		close(fd);
		return -errno;
	}
	*port = ntohs(sa.sin_port);
	close(fd);
	return 0;
}

/* Overlay sets per node from --mix, and bootstrap choices. */
void tb_plan_nodes(struct tb *t, const struct opts *o)
{
	for (size_t k = 0; k < t->n; k++) {
		struct tb_node *nd = &t->nodes[k];
		nd->idx = (uint32_t)k;
		nd->ovl_mask = o->ovl_mask;
		if (o->mix && k > 0) {
			unsigned r = (unsigned)ddns_rng_below(&t->rng, 100);
			nd->ovl_mask = r < o->mix_pct[0]		      ? OVL_BIT(RPC_OVL_CHORD)
				       : r < o->mix_pct[0] + o->mix_pct[1] ? OVL_BIT(RPC_OVL_KAD16)
									    : OVL_MASK_ALL;
		}
		if (o->mix && k == 0)
			nd->ovl_mask = OVL_MASK_ALL;
		/* Bootstrap: a random earlier node running every overlay this one runs. */
		nd->join = -1;
		size_t cand = 0;
		for (size_t j = 0; j < k; j++)
			if ((t->nodes[j].ovl_mask & nd->ovl_mask) == nd->ovl_mask)
				cand++;
		if (cand) {
			size_t pick = (size_t)ddns_rng_below(&t->rng, cand);
			for (size_t j = 0; j < k; j++)
				if ((t->nodes[j].ovl_mask & nd->ovl_mask) == nd->ovl_mask &&
				    pick-- == 0) {
					nd->join = (int)j;
					break;
				}
		}
	}
}

struct tr_addr tb_node_addr(const struct setup *s, size_t k, uint16_t port)
{
	return s->netns ? tb_latency_netns_addr_of((uint32_t)k, port)
			: tb_latency_addr_of((uint32_t)k, port);
}

/* --- --netns: one namespace per node on a bridge --- */

/* Run `ip` with the words of cmd (printf-style). 0 on success. */
static int ip_cmd(struct setup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int ip_cmd(struct setup *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	char *argv[32];
	size_t n = 0;
	argv[n++] = "ip";
	for (char *save = NULL, *w = strtok_r(line, " ", &save); w && n < 31;
	     w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	argv[n] = NULL;
	pid_t pid = tb_spawn(argv, s->log, s->log);
	if (pid < 0)
		return (int)pid;
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

void tb_netns_down(struct setup *s)
{
	for (size_t k = 0; k < s->ns_made; k++)
		(void)ip_cmd(s, "netns del %s-%zu", s->nsbase, k);
	if (s->bridge_made)
		(void)ip_cmd(s, "link del %s", s->nsbase);
	s->ns_made = 0;
	s->bridge_made = false;
}

/* A bridge with 198.18.0.1/16 on the host side; node k in namespace
 * <base>-k with eth0 = 198.18.0.(k+2)/16, a veth into the bridge. */
int tb_netns_up(struct setup *s, size_t n)
{
	snprintf(s->nsbase, sizeof(s->nsbase), "ddtb%ld", (long)getpid() % 10000000);
	if (ip_cmd(s, "link add %s type bridge", s->nsbase) != 0)
		return -EIO;
	s->bridge_made = true;
	if (ip_cmd(s, "addr add 198.18.0.1/16 dev %s", s->nsbase) != 0 ||
	    ip_cmd(s, "link set %s up", s->nsbase) != 0)
		return -EIO;
	for (size_t k = 0; k < n && !tb_stop_flag; k++) {
		char ns[48], veth[32];
		snprintf(ns, sizeof(ns), "%s-%u", s->nsbase, (unsigned)k);
		/* interface names: 15 characters at most */
		snprintf(veth, sizeof(veth), "v%u-%u", (unsigned)(getpid() % 10000000),
			 (unsigned)k);
		if (ip_cmd(s, "netns add %s", ns) != 0)
			return -EIO;
		s->ns_made = k + 1;
		struct tr_addr a = tb_node_addr(s, k, 0);
		if (ip_cmd(s, "link add %s type veth peer name eth0 netns %s", veth, ns) != 0 ||
		    ip_cmd(s, "link set %s master %s up", veth, s->nsbase) != 0 ||
		    ip_cmd(s, "-n %s addr add %u.%u.%u.%u/16 dev eth0", ns, a.ip[0], a.ip[1],
			   a.ip[2], a.ip[3]) != 0 ||
		    ip_cmd(s, "-n %s link set eth0 up", ns) != 0 ||
		    ip_cmd(s, "-n %s link set lo up", ns) != 0)
			return -EIO;
		struct tb t = {.tty = isatty(2), .stop = &tb_stop_flag};
		tb_progress(&t, false, "netns: %zu/%zu namespaces", k + 1, n);
	}
	return tb_stop_flag ? -EINTR : 0;
}

static int start_node(struct tb *t, struct setup *s, size_t k)
{
	const struct opts *o = s->o;
	struct tb_node *nd = &t->nodes[k];
	char d[PATH_MAX], lf[PATH_MAX], ef[PATH_MAX], anchor[PATH_MAX], host[24], reps[24],
		seed[32];
	snprintf(d, sizeof(d), "%s/node%zu", s->dir, k);
	if (mkdir(d, 0755) != 0 && errno != EEXIST)
		return -errno;
	snprintf(lf, sizeof(lf), "%s/node%zu/log", s->dir, k);
	snprintf(ef, sizeof(ef), "%s/node%zu/stderr", s->dir, k);
	snprintf(d, sizeof(d), "%s/node%zu/data", s->dir, k);
	snprintf(anchor, sizeof(anchor), "%s.key", s->root_key);
	char *argv[48];
	char ns[48];
	size_t n = 0;
	if (s->netns) {
		/* ip netns exec execs the daemon: the PID stays the daemon's. */
		snprintf(ns, sizeof(ns), "%s-%u", s->nsbase, (unsigned)k);
		argv[n++] = "ip";
		argv[n++] = "netns";
		argv[n++] = "exec";
		argv[n++] = ns;
	}
	argv[n++] = s->ddnsd;
	argv[n++] = "--listen";
	argv[n++] = nd->addr_s;
	for (int ov = RPC_OVL_CHORD; ov <= RPC_OVL_KAD16; ov++)
		if (nd->ovl_mask & OVL_BIT(ov)) {
			argv[n++] = "--overlay";
			argv[n++] = (char *)ovl_wire_name((uint8_t)ov);
		}
	if (nd->join >= 0) {
		argv[n++] = "--join";
		argv[n++] = t->nodes[nd->join].addr_s;
	}
	argv[n++] = "--trust-anchor";
	argv[n++] = anchor;
	argv[n++] = "--data-dir";
	argv[n++] = d;
	argv[n++] = "--log-file";
	argv[n++] = lf;
	if (o->replicas) {
		snprintf(reps, sizeof(reps), "%u", o->replicas);
		argv[n++] = "--replicas";
		argv[n++] = reps;
	}
	if (k == 0) {
		argv[n++] = "--dns";
		argv[n++] = s->gw_s;
		if ((nd->ovl_mask & OVL_MASK_ALL) == OVL_MASK_ALL) {
			argv[n++] = "--gateway-mode";
			argv[n++] = "compare";
		}
	}
	if (o->latency_matrix) {
		snprintf(host, sizeof(host), "%zu", k);
		snprintf(seed, sizeof(seed), "%llu", (unsigned long long)o->latency_seed);
		argv[n++] = "--latency-matrix";
		argv[n++] = (char *)o->latency_matrix; /* exec does not write it */
		argv[n++] = "--latency-host";
		argv[n++] = host;
		argv[n++] = "--latency-seed";
		argv[n++] = seed;
	}
	argv[n] = NULL;
	pid_t pid = tb_spawn(argv, ef, ef);
	if (pid < 0)
		return (int)pid;
	nd->pid = pid;
	char *pf = tb_path_join(s->dir, "pids");
	FILE *f = pf ? fopen(pf, "a") : NULL;
	if (f) {
		fprintf(f, "%ld\n", (long)pid);
		fclose(f);
	}
	free(pf);
	return 0;
}

/* A node process that exited is reported (and reaped). */
bool tb_node_died(struct tb *t, struct setup *s)
{
	for (size_t k = 0; k < t->n; k++) {
		int st;
		if (t->nodes[k].pid > 0 && waitpid(t->nodes[k].pid, &st, WNOHANG) == t->nodes[k].pid) {
			tb_say("node %zu (%s, pid %ld) exited (%s %d); see %s/node%zu/", k,
			    t->nodes[k].addr_s, (long)t->nodes[k].pid,
			    WIFEXITED(st) ? "status" : "signal",
			    WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st), s->dir, k);
			t->nodes[k].pid = 0;
			return true;
		}
	}
	return false;
}

/* Node k is in: it answers STATUS and, unless it is the first node, every
 * overlay instance of it knows another node (its join went through). */
static bool node_joined(const struct tb_node *nd)
{
	if (!nd->st_ok)
		return false;
	for (size_t i = 0; nd->idx > 0 && i < nd->st.ninst; i++)
		if (nd->st.inst[i].routing_size == 0)
			return false;
	return true;
}

void tb_stop_pid(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	uint64_t deadline = tb_now_us() + 5000000;
	for (;;) {
		pid_t r = waitpid(*pid, NULL, WNOHANG);
		if (r == *pid || (r < 0 && errno == ECHILD))
			break;
		if (tb_now_us() > deadline) {
			kill(*pid, SIGKILL);
			(void)waitpid(*pid, NULL, 0);
			break;
		}
		struct timespec ts = {0, 20000000};
		nanosleep(&ts, NULL);
	}
	*pid = 0;
}

int tb_start_all(struct tb *t, struct setup *s)
{
	/* Node k starts once its bootstrap has joined: it joins a live member.
	 * A join that did not go through (a node alone in its own ring, which
	 * a lossy or slow start can leave) is retried with a fresh process. */
	for (size_t k = 0; k < t->n && !tb_stop_flag; k++) {
		struct tb_node *nd = &t->nodes[k];
		bool in = false;
		for (int attempt = 0; attempt < 3 && !in && !tb_stop_flag; attempt++) {
			if (attempt) {
				tb_say("node %zu (%s) did not join (attempt %d); restarting it", k,
				    nd->addr_s, attempt);
				tb_stop_pid(&nd->pid);
			}
			int e = start_node(t, s, k);
			if (e) {
				tb_say("cannot start %s: %s", s->ddnsd, strerror(-e));
				return e;
			}
			nd->st_ok = false;
			uint64_t deadline = tb_now_us() + 15000000;
			while (!(in = node_joined(nd)) && !tb_stop_flag && tb_now_us() < deadline) {
				if (tb_node_died(t, s)) {
					tb_say("node %zu (%s) exited at start; see %s/node%zu/", k,
					    nd->addr_s, s->dir, k);
					return -ECHILD;
				}
				struct status_call c;
				if (status_issue(t, t->rpc, k, &c, 100000, 0) != 0)
					return -ENOMEM;
				struct poll_all p = {&c, 1};
				if (!tb_run_until(t, all_done, &p, tb_now_us() + 1000000)) {
					rpc_free(t->rpc);
					t->rpc = rpc_new(t->tr, NULL);
				}
				if (!node_joined(nd)) {
					/* Poll interval only: STATUS decides. */
					struct timespec ts = {0, 50000000};
					nanosleep(&ts, NULL);
				}
			}
		}
		if (!in && !tb_stop_flag) {
			tb_say("node %zu (%s) did not join; see %s/node%zu/", k, nd->addr_s, s->dir, k);
			return -ETIMEDOUT;
		}
		tb_progress(t, false, "nodes: %zu/%zu started", k + 1, t->n);
	}
	if (tb_stop_flag)
		return -EINTR;
	tb_progress(t, true, "nodes: %zu started on %s .. %s", t->n, t->nodes[0].addr_s,
		    t->nodes[t->n - 1].addr_s);
	return 0;
}

/* Stable: every overlay instance of every node has a full replica set and
 * routing state of at least min(members - 1, 6) nodes, twice in a row. */
int tb_wait_stable(struct tb *t, struct setup *s, unsigned replicas, double limit_s)
{
	size_t members[3] = {0};
	for (size_t k = 0; k < t->n; k++)
		for (int ov = RPC_OVL_CHORD; ov <= RPC_OVL_KAD16; ov++)
			if (t->nodes[k].ovl_mask & OVL_BIT(ov))
				members[ov]++;
	uint64_t start = tb_now_us(), deadline = start + (uint64_t)(limit_s * 1e6);
	int good = 0;
	while (!tb_stop_flag) {
		int e = poll_status(t, t->n);
		if (e)
			return e;
		if (tb_node_died(t, s))
			return -ECHILD;
		size_t ready = 0, total = 0;
		for (size_t k = 0; k < t->n; k++) {
			const struct tb_node *nd = &t->nodes[k];
			if (!nd->st_ok) {
				total++;
				continue;
			}
			for (size_t i = 0; i < nd->st.ninst; i++) {
				const struct cli_inst *in = &nd->st.inst[i];
				size_t m = in->overlay <= 2 ? members[in->overlay] : 1;
				size_t want_r = m - 1 < 6 ? m - 1 : 6;
				unsigned reps = replicas ? replicas : (nd->st.replicas ? nd->st.replicas : 6);
				size_t want_n = m < reps ? m : reps;
				total++;
				if (in->routing_size >= want_r && in->neighbours >= want_n)
					ready++;
			}
		}
		tb_progress(t, false, "rings: %zu/%zu overlay instances stable, %.1f s", ready, total,
			    (tb_now_us() - start) / 1e6);
		good = ready == total ? good + 1 : 0;
		if (good >= 2) {
			tb_progress(t, true, "rings: stable (%zu instances) after %.1f s", total,
				    (tb_now_us() - start) / 1e6);
			return 0;
		}
		if (tb_now_us() > deadline) {
			tb_progress(t, true, "rings: only %zu/%zu instances stable after %.0f s", ready,
				    total, limit_s);
			for (size_t k = 0; k < t->n; k++) {
				const struct tb_node *nd = &t->nodes[k];
				if (!nd->st_ok)
					tb_say("  node %zu (%s): no STATUS answer", k, nd->addr_s);
				for (size_t i = 0; nd->st_ok && i < nd->st.ninst; i++)
					tb_say("  node %zu (%s) %s: knows %u nodes, replica set %u", k,
					    nd->addr_s,
					    ovl_wire_name(nd->st.inst[i].overlay),
					    nd->st.inst[i].routing_size, nd->st.inst[i].neighbours);
			}
			return -ETIMEDOUT;
		}
		/* Poll interval only: the STATUS figures decide. */
		struct timespec ts = {0, 300000000};
		nanosleep(&ts, NULL);
	}
	return -EINTR;
}

void tb_stop_nodes(struct tb *t)
{
	for (size_t k = 0; k < t->n; k++)
		if (t->nodes[k].pid > 0)
			kill(t->nodes[k].pid, SIGTERM);
	uint64_t deadline = tb_now_us() + 10000000;
	for (size_t k = 0; k < t->n; k++) {
		pid_t pid = t->nodes[k].pid;
		if (pid <= 0)
			continue;
		for (;;) {
			pid_t r = waitpid(pid, NULL, WNOHANG);
			if (r == pid || (r < 0 && errno == ECHILD))
				break;
			if (tb_now_us() > deadline) {
				kill(pid, SIGKILL);
				(void)waitpid(pid, NULL, 0);
				break;
			}
			struct timespec ts = {0, 20000000};
			nanosleep(&ts, NULL);
		}
		t->nodes[k].pid = 0;
	}
}

/* --- RTT check under --latency-matrix --- */


/* A probe endpoint placed in the matrix as node index n (the address after
 * the last node) pings each node with STATUS: the request waits in the
 * probe's delay queue, the reply in the node's, so the round trip is the
 * sum of the two one-way delays. The best of three counts. */
int tb_rtt_check(struct tb *t, const struct opts *o, struct rtt_row *rows, size_t *nrows)
{
	char err[256];
	struct tb_latency *lat = tb_latency_new(o->latency_matrix, o->latency_seed,
						(uint32_t)t->n, err, sizeof(err));
	if (!lat) {
		tb_say("%s", err);
		return -EINVAL;
	}
	struct tr_addr pa = tb_latency_addr_of((uint32_t)t->n, 0);
	int e = 0;
	struct tr *ptr = NULL;
	struct rpc *prpc = NULL;
	if (t->netns_s) {
		/* The probe's place on the bridge: one more host-side address. */
		pa = tb_latency_netns_addr_of((uint32_t)t->n, 0);
		if (ip_cmd(t->netns_s, "addr add %u.%u.%u.%u/16 dev %s", pa.ip[0], pa.ip[1], pa.ip[2],
			   pa.ip[3], t->netns_s->nsbase) != 0) {
			tb_say("cannot add the probe address to the bridge");
			e = -EIO;
			goto out;
		}
	}
	ptr = udp_tr_new(t->base, &pa, NULL, &e);
	prpc = ptr ? rpc_new(ptr, NULL) : NULL;
	if (!prpc) {
		char pb[TR_ADDRSTRLEN];
		tb_say("probe endpoint on %s: %s", tr_addr_str(&pa, pb), strerror(-e));
		e = e ? e : -ENOMEM;
		goto out;
	}
	udp_tr_set_delay(ptr, tb_latency_delay, lat);
	/* All nodes at once, five rounds; the best round trip per node counts
	 * (the minimum filters out scheduling delays on a loaded machine). */
	size_t m = t->n < 16 ? t->n : 16;
	struct status_call c[16];
	double best[16];
	for (size_t k = 0; k < m; k++)
		best[k] = -1;
	for (int round = 0; round < 5 && !tb_stop_flag; round++) {
		for (size_t k = 0; k < m; k++)
			if (status_issue(t, prpc, k, &c[k], 3000000, 0) != 0)
				c[k].done = true;
		struct poll_all p = {c, m};
		if (!tb_run_until(t, all_done, &p, tb_now_us() + 5000000)) {
			e = -EINTR;
			goto out;
		}
		for (size_t k = 0; k < m; k++)
			if (c[k].rtt_us && (best[k] < 0 || c[k].rtt_us / 1000.0 < best[k]))
				best[k] = c[k].rtt_us / 1000.0;
	}
	for (size_t k = 0; k < m; k++) {
		rows[k].node = (uint32_t)k;
		rows[k].expected_ms = (tb_latency_one_way(lat, (uint32_t)t->n, (uint32_t)k) +
				       tb_latency_one_way(lat, (uint32_t)k, (uint32_t)t->n)) /
				      1000.0;
		rows[k].measured_ms = best[k];
	}
	*nrows = m;
out:
	rpc_free(prpc);
	if (ptr)
		tr_free(ptr);
	tb_latency_free(lat);
	return e;
}

