/*
 * ddns_testbed.c - `ddns testbed`: a local DDNS network of real ddnsd
 * processes on loopback addresses, with keys, delegations, published zones,
 * a gateway, and a workload whose figures compare the overlays live
 * (docs/TESTBED.md).
 *
 * Steps: keys and zones (root key, one key per zone, DS RRsets signed by
 * the root) -> ddnsd k on 127.0.0.(k+2), each joining through a random
 * earlier node that runs its overlays -> wait until every overlay instance
 * has a full replica set and a routing table (STATUS over the client
 * protocol) -> publish through node 0 -> check one answer through the
 * gateway -> optional RTT check, workload and report -> serve until a
 * signal, --duration, or the end of the workload -> stop every process by
 * PID. The processes it starts are the only ones it signals.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/testbed.h"
#include "cli/testbed_conv.h"
#include "cli/testbed_latency.h"
#include "cli/workload.h"
#include "common/buf.h"
#include "common/err.h"
#include "overlay/overlay.h"
#include "overlay/udp.h"

extern char **environ;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) { stop_flag = sig; }

/* When the command started: progress lines carry the elapsed time. */
static uint64_t t_start_us;

/* A row of the comparison: an overlay by its wire id, or the gateway. */
static const char *tb_kind_name(int k)
{
	static const char *const dns[] = {"gateway", "conventional", "gateway_warm",
					  "conventional_warm"};
	return k >= TB_KIND_GW ? dns[k - TB_KIND_GW] : ovl_wire_name((uint8_t)k);
}

struct opts {
	unsigned nodes;
	unsigned ovl_mask;
	unsigned mix_pct[3]; /* chord only, kad16 only, both */
	bool mix;
	char *dns;
	char **zones;
	size_t nzones;
	char *names;
	unsigned records;
	char *workdir;
	bool keep;
	char *workload;
	unsigned long queries;
	unsigned concurrency;
	unsigned via; /* bit 0 nodes, bit 1 gateway */
	char *csv, *plot;
	bool json, once;
	double duration;
	char *latency_matrix;
	uint64_t latency_seed;
	bool netns;
	bool conventional;
	char *break_ds;
	unsigned replicas;
	uint64_t seed;
	char *ddnsd;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ddns testbed --nodes N [--overlay chord|kad16 ...]\n"
		"                    [--mix chord=P%%,kad16=P%%,both=P%%] [--dns ADDR:PORT]\n"
		"                    [--zone FILE ...] [--names FILE] [--records M]\n"
		"                    [--workdir DIR] [--keep] [--workload FILE|zipf:ALPHA]\n"
		"                    [--queries Q] [--concurrency C] [--via nodes|gateway|both]\n"
		"                    [--csv FILE] [--json] [--plot DIR] [--duration S] [--once]\n"
		"                    [--latency-matrix FILE] [--latency-seed S] [--netns]\n"
		"                    [--conventional] [--break-ds ZONE]\n"
		"                    [--replicas R] [--seed S] [--ddnsd PATH]\n"
		"\n"
		"Starts N ddnsd processes on 127.0.0.2, 127.0.0.3, ... (one data dir each),\n"
		"joins them, waits until the rings are stable, makes a root key and signs\n"
		"a delegation to every zone, publishes the zones, starts the DNS gateway on\n"
		"node 0 and prints dig and delv commands that work against it. Then runs\n"
		"the workload, or serves until Ctrl-C / SIGTERM / --duration. Every process\n"
		"it started is stopped by PID on the way out. See docs/TESTBED.md.\n"
		"\n"
		"  --nodes N             nodes, 1..%d\n"
		"  --overlay NAME        chord or kad16; repeat for both (default: both)\n"
		"  --mix SPEC            share of nodes per overlay set, e.g.\n"
		"                        chord=40%%,kad16=40%%,both=20%% (default: all run\n"
		"                        every --overlay); node 0 always runs both\n"
		"  --dns ADDR:PORT       gateway address (default 127.0.0.1, a free port)\n"
		"  --zone FILE           publish this master file (its own key, delegated\n"
		"                        from the root); repeatable. Default: demo zones\n"
		"  --names FILE          demo zones from real names (\"rank,domain\" CSV, e.g.\n"
		"                        top-100k.csv): one zone per TLD (default: generated)\n"
		"  --records M           names in the demo zones (default 200)\n"
		"  --workdir DIR         keys, zones, data dirs and logs (default: a new\n"
		"                        temporary dir, removed at exit unless --keep)\n"
		"  --workload W          FILE of \"name [type]\" lines, or zipf:ALPHA over the\n"
		"                        demo names; exits when done\n"
		"  --queries Q           queries of the workload (default 1000)\n"
		"  --concurrency C       queries in flight (default 16)\n"
		"  --via WHERE           nodes: each overlay directly (compare mode),\n"
		"                        gateway: DNS through the gateway, both (default)\n"
		"  --csv FILE            the comparison table as CSV\n"
		"  --json                one JSON object on stdout (tables go to stderr)\n"
		"  --plot DIR            PNG histograms of RPCs and hops (needs gnuplot)\n"
		"  --duration S          stop after S seconds whatever happens\n"
		"  --once                set up, check one answer, run a short workload\n"
		"                        (200 queries unless --queries), report, exit\n"
		"  --latency-matrix FILE RTT matrix in ms (e.g. PlanetLabData_1): every\n"
		"                        node gets a host; datagrams are held for the\n"
		"                        one-way delay; the RTTs are checked\n"
		"  --latency-seed S      placement of nodes on matrix hosts (default 1)\n"
		"  --netns               one network namespace per node on a bridge\n"
		"                        (198.18.0.0/16; needs root and iproute2)\n"
		"  --conventional        also serve the zones the conventional way (root,\n"
		"                        TLDs and registered domains signed, NSD on\n"
		"                        127.0.53-55.x:53 behind the same latency matrix,\n"
		"                        a validating Unbound on 127.0.52.1) and run the\n"
		"                        workload through it too, cold and then warm\n"
		"                        (needs nsd, unbound, bind9-utils and root)\n"
		"  --break-ds ZONE       after publishing, the root publishes a DS for\n"
		"                        another key of ZONE (a demo TLD zone); the report\n"
		"                        gives the rcode the gateway and, with\n"
		"                        --conventional, the resolver answer for it\n"
		"  --replicas R          ddnsd --replicas (default: ddnsd's)\n"
		"  --seed S              overlay mix, bootstraps and workload (default 1)\n"
		"  --ddnsd PATH          the daemon (default: beside this program)\n",
		TB_MAX_NODES);
}

/* --- small helpers --- */

uint64_t tb_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

bool tb_run_until(struct tb *t, bool (*cond)(void *), void *arg, uint64_t deadline_us)
{
	struct event *ev = evtimer_new(t->base, wake, NULL);
	bool ok = false;
	while (ev && !(ok = cond(arg))) {
		uint64_t now = tb_now_us();
		if (now >= deadline_us || *t->stop)
			break;
		/* Wake at least every 100 ms to re-check cond and the signals. */
		uint64_t left = deadline_us - now;
		if (left > 100000)
			left = 100000;
		struct timeval tv = {(time_t)(left / 1000000u), (suseconds_t)(left % 1000000u)};
		evtimer_add(ev, &tv);
		event_base_loop(t->base, EVLOOP_ONCE);
	}
	if (ev)
		event_free(ev);
	return ok;
}

void tb_progress(const struct tb *t, bool final, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (t->tty) {
		fprintf(stderr, "\r\033[K%s%s", line, final ? "\n" : "");
		fflush(stderr);
	} else if (final) {
		fprintf(stderr, "testbed: [%5.1f s] %s\n", (tb_now_us() - t_start_us) / 1e6, line);
	}
}

void tb_say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "testbed: [%5.1f s] ", (tb_now_us() - t_start_us) / 1e6);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

int tb_name_wire(const char *name, uint8_t out[256], size_t *len)
{
	size_t o = 0;
	const char *p = name;
	while (*p && !(p[0] == '.' && p[1] == '\0')) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63 || o + l + 2 > 255)
			return -EINVAL;
		out[o++] = (uint8_t)l;
		memcpy(out + o, p, l);
		o += l;
		p += l;
		if (*p == '.')
			p++;
	}
	out[o++] = 0;
	*len = o;
	return 0;
}

static int type_code(const char *s)
{
	static const struct {
		const char *n;
		int v;
	} t[] = {{"A", 1},    {"NS", 2},     {"CNAME", 5}, {"SOA", 6},   {"MX", 15},
		 {"TXT", 16}, {"AAAA", 28},  {"SRV", 33},  {"DS", 43},   {"DNSKEY", 48},
		 {"NSEC", 47}, {"RRSIG", 46}, {"PTR", 12},  {"CAA", 257}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcasecmp(s, t[i].n) == 0)
			return t[i].v;
	if (strncasecmp(s, "TYPE", 4) == 0 && s[4]) {
		char *end;
		long v = strtol(s + 4, &end, 10);
		if (!*end && v > 0 && v < 65536)
			return (int)v;
	}
	return -1;
}

char *tb_path_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

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
		if (stop_flag) {
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

/* The key base name keygen printed, as a path under dir. */
static char *key_path(const char *dir, char *base)
{
	if (!base || base[0] == '/')
		return base;
	char *p = tb_path_join(dir, base);
	free(base);
	return p;
}

static char *read_first_line(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char buf[PATH_MAX];
	char *r = NULL;
	if (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\r\n")] = 0;
		r = strdup(buf);
	}
	fclose(f);
	return r;
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

/* --- set-up: zones and keys --- */

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

/* Origin of a master file: $ORIGIN, else the owner of its SOA. */
static char *zone_origin(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char line[4096], *r = NULL;
	while (!r && fgets(line, sizeof(line), f)) {
		char a[300], b[64], c[64], d[64];
		int k = sscanf(line, "%299s %63s %63s %63s", a, b, c, d);
		if (k >= 2 && strcasecmp(a, "$ORIGIN") == 0)
			r = strdup(b);
		else if (k >= 2 && line[0] != ' ' && line[0] != '\t' && line[0] != ';' &&
			 (strcasecmp(b, "SOA") == 0 || (k >= 3 && strcasecmp(c, "SOA") == 0) ||
			  (k >= 4 && strcasecmp(d, "SOA") == 0)))
			r = strdup(a);
	}
	fclose(f);
	if (r && r[strlen(r) - 1] != '.') {
		char *t = malloc(strlen(r) + 2);
		if (t)
			sprintf(t, "%s.", r);
		free(r);
		r = t;
	}
	return r;
}

static int add_zone(struct setup *s, const char *name, const char *file)
{
	struct zone *z = realloc(s->zones, (s->nzones + 1) * sizeof(*z));
	if (!z)
		return -ENOMEM;
	s->zones = z;
	z[s->nzones] = (struct zone){strdup(name), strdup(file), NULL, NULL};
	s->nzones++;
	return 0;
}

/* The demo zones: one per TLD of the names, plus example.org's records. */
static int demo_zones(struct setup *s)
{
	const struct opts *o = s->o;
	int e;
	size_t line = 0;
	if (o->names) {
		e = wl_names_load(o->names, o->records * 2, &s->names, &line);
		if (e) {
			tb_say("--names %s: %s (line %zu)", o->names, ddns_strerror(e), line);
			return e;
		}
	} else {
		e = wl_names_generate(o->records, o->seed, &s->names);
		if (e)
			return e;
	}
	/* Keep `records` usable names (a dot, not under example.org). */
	size_t k = 0;
	for (size_t i = 0; i < s->names.n; i++) {
		const char *nm = s->names.name[i];
		size_t l = strlen(nm);
		bool ok = strchr(nm, '.') && l < 200 && k < o->records &&
			  !(l >= 11 && strcmp(nm + l - 11, "example.org") == 0);
		for (const char *c = nm; ok && *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
			      *c == '.'))
				ok = false;
		if (ok)
			s->names.name[k++] = s->names.name[i];
		else
			free(s->names.name[i]);
	}
	s->names.n = k;
	/* TLDs, in order of first appearance; "org" always (example.org). */
	char **tlds = NULL;
	size_t ntld = 0;
	char zone[256], tld[256];
	for (size_t i = 0; i <= s->names.n; i++) {
		if (i < s->names.n)
			wl_zone_of(s->names.name[i], zone, tld);
		else
			strcpy(tld, "org");
		size_t j;
		for (j = 0; j < ntld; j++)
			if (strcmp(tlds[j], tld) == 0)
				break;
		if (j < ntld)
			continue;
		char **nt = realloc(tlds, (ntld + 1) * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		tlds = nt;
		tlds[ntld++] = strdup(tld);
	}
	e = 0;
	for (size_t j = 0; j < ntld && !e; j++) {
		char fname[300];
		snprintf(fname, sizeof(fname), "zones/%s.zone", tlds[j]);
		char *path = tb_path_join(s->dir, fname);
		FILE *f = path ? fopen(path, "w") : NULL;
		if (!f) {
			e = -errno;
			free(path);
			break;
		}
		const char *t = tlds[j];
		fprintf(f, "$TTL 3600\n%s. SOA ns.%s. hostmaster.%s. 1 7200 3600 1209600 300\n", t,
			t, t);
		fprintf(f, "%s. NS ns.%s.\nns.%s. A 192.0.2.53\n", t, t, t);
		if (strcmp(t, "org") == 0)
			fprintf(f, "example.org. MX 10 mail.example.org.\n"
				   "www.example.org. A 192.0.2.1\n"
				   "www.example.org. A 192.0.2.2\n"
				   "www.example.org. AAAA 2001:db8::1\n"
				   "mail.example.org. A 192.0.2.25\n"
				   "alias.example.org. CNAME www.example.org.\n"
				   "txt.example.org. TXT \"v=ddns1 hello from the testbed\"\n");
		for (size_t i = 0; i < s->names.n; i++) {
			wl_zone_of(s->names.name[i], zone, tld);
			if (strcmp(tld, t) == 0 && strcmp(s->names.name[i], t) != 0 &&
			    strcmp(s->names.name[i], "ns.") != 0)
				fprintf(f, "%s. A 198.51.%u.%u\n", s->names.name[i],
					(unsigned)(i / 250) % 256, (unsigned)(i % 250) + 1);
		}
		if (fclose(f) != 0)
			e = -errno;
		char zn[300];
		snprintf(zn, sizeof(zn), "%s.", t);
		if (!e)
			e = add_zone(s, zn, path);
		free(path);
	}
	for (size_t j = 0; j < ntld; j++)
		free(tlds[j]);
	free(tlds);
	snprintf(s->check_name, sizeof(s->check_name), "www.example.org");
	snprintf(s->check_type, sizeof(s->check_type), "A");
	return e;
}

/* delv's trust-anchors file from the root key's DNSKEY. */
static int write_anchors(struct setup *s)
{
	char *kp = malloc(strlen(s->root_key) + 8);
	if (!kp)
		return -ENOMEM;
	sprintf(kp, "%s.key", s->root_key);
	FILE *in = fopen(kp, "r");
	free(kp);
	if (!in)
		return -errno;
	char line[8192];
	int e = -EINVAL;
	while (fgets(line, sizeof(line), in)) {
		if (line[0] == ';')
			continue;
		char *tok[64];
		int n = 0;
		for (char *p = strtok(line, " \t\r\n"); p && n < 64; p = strtok(NULL, " \t\r\n"))
			tok[n++] = p;
		for (int i = 0; i + 4 < n; i++)
			if (strcmp(tok[i], "DNSKEY") == 0) {
				FILE *f = fopen(s->anchors, "w");
				if (!f) {
					e = -errno;
					break;
				}
				fprintf(f, "trust-anchors {\n\t%s static-key %s %s %s \"", tok[0],
					tok[i + 1], tok[i + 2], tok[i + 3]);
				for (int j = i + 4; j < n; j++)
					fputs(tok[j], f);
				fprintf(f, "\";\n};\n");
				e = fclose(f) == 0 ? 0 : -errno;
				break;
			}
		if (e != -EINVAL)
			break;
	}
	fclose(in);
	return e;
}

static int keys_and_zones(struct setup *s)
{
	const struct opts *o = s->o;
	char *zdir = tb_path_join(s->dir, "zones"), *kdir = tb_path_join(s->dir, "keys");
	char *out = tb_path_join(s->dir, "helper.out");
	int e = 0;
	if (!zdir || !kdir || !out) {
		e = -ENOMEM;
		goto out;
	}
	if ((mkdir(zdir, 0755) != 0 && errno != EEXIST) ||
	    (mkdir(kdir, 0755) != 0 && errno != EEXIST)) {
		e = -errno;
		tb_say("cannot make %s: %s", zdir, strerror(errno));
		goto out;
	}
	if (o->nzones) {
		for (size_t i = 0; i < o->nzones && !e; i++) {
			char *origin = zone_origin(o->zones[i]);
			if (!origin) {
				tb_say("--zone %s: no $ORIGIN or SOA found (or unreadable)", o->zones[i]);
				e = -EINVAL;
				break;
			}
			e = add_zone(s, origin, o->zones[i]);
			if (!e && !s->check_name[0]) {
				snprintf(s->check_name, sizeof(s->check_name), "%s", origin);
				snprintf(s->check_type, sizeof(s->check_type), "SOA");
			}
			free(origin);
		}
	} else {
		e = demo_zones(s);
	}
	if (e)
		goto out;
	tb_progress(&(struct tb){.tty = isatty(2), .stop = &stop_flag}, true,
		    "keys: root and %zu zone%s", s->nzones, s->nzones == 1 ? "" : "s");
	const char *ka[] = {"keygen", "--zone", ".", "--dir", kdir, NULL};
	if ((e = tb_run_self(s->self, s->log, out, ka)) != 0)
		goto out;
	s->root_key = key_path(kdir, read_first_line(out));
	if (!s->root_key) {
		e = -EIO;
		goto out;
	}
	if ((e = write_anchors(s)) != 0) {
		tb_say("cannot write %s: %s", s->anchors, ddns_strerror(e));
		goto out;
	}
	/* root.zone: SOA, NS and a delegation per zone; ds.zone: their DS sets. */
	char *root_zone = tb_path_join(s->dir, "zones/root.zone");
	char *ds_zone = tb_path_join(s->dir, "zones/ds.zone");
	char *one_ds = tb_path_join(s->dir, "zones/ds.one");
	char *root_private = malloc(strlen(s->root_key) + 10);
	FILE *rz = root_zone ? fopen(root_zone, "w") : NULL;
	FILE *dz = ds_zone ? fopen(ds_zone, "w") : NULL;
	if (!rz || !dz || !one_ds || !root_private) {
		e = -ENOMEM;
		goto zout;
	}
	sprintf(root_private, "%s.private", s->root_key);
	fprintf(rz, ".\t86400\tIN\tSOA\ta.root-servers.test. hostmaster.root.test. 1 1800 900 "
		    "604800 86400\n.\t86400\tIN\tNS\ta.root-servers.test.\n");
	for (size_t i = 0; i < s->nzones && !e && !stop_flag; i++) {
		struct zone *z = &s->zones[i];
		const char *kz[] = {"keygen", "--zone", z->name, "--dir", kdir, NULL};
		if ((e = tb_run_self(s->self, s->log, out, kz)) != 0)
			break;
		z->key = key_path(kdir, read_first_line(out));
		if (!z->key) {
			e = -EIO;
			break;
		}
		fprintf(rz, "%s\t86400\tIN\tNS\tns.%s\n", z->name, z->name);
		char *child = malloc(strlen(z->key) + 8);
		if (!child) {
			e = -ENOMEM;
			break;
		}
		sprintf(child, "%s.key", z->key);
		char dsname[64];
		snprintf(dsname, sizeof(dsname), "zones/ds-%u.zone", (unsigned)i);
		z->ds = tb_path_join(s->dir, dsname);
		const char *da[] = {"delegate", "--parent-key", root_private, "--child-key", child,
				    "-o", z->ds ? z->ds : one_ds, NULL};
		e = tb_run_self(s->self, s->log, NULL, da);
		free(child);
		if (e)
			break;
		/* ds.zone collects every DS set (published once); each zone's blocks
		 * carry only their own (a chain of every zone would not fit a block). */
		FILE *f = fopen(z->ds ? z->ds : one_ds, "r");
		char buf[8192];
		size_t n;
		while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, dz);
		if (f)
			fclose(f);
		tb_progress(&(struct tb){.tty = isatty(2), .stop = &stop_flag}, false,
			    "keys: %zu/%zu zones delegated", i + 1, s->nzones);
	}
	if (stop_flag && !e)
		e = -EINTR;
zout:
	if (rz && fclose(rz) != 0 && !e)
		e = -errno;
	if (dz && fclose(dz) != 0 && !e)
		e = -errno;
	free(root_zone);
	free(ds_zone);
	free(one_ds);
	free(root_private);
out:
	free(zdir);
	free(kdir);
	free(out);
	return e;
}

static int publish(struct setup *s, const struct tb *t)
{
	/* The root and DS sets go through node 0; the zones are spread over
	 * the nodes that run every overlay (a put goes into each overlay the
	 * entry node runs), so no one node validates and routes every put. */
	const struct tb_node *via = &t->nodes[0];
	size_t nentry = 0;
	for (size_t k = 0; k < t->n; k++)
		nentry += t->nodes[k].ovl_mask == t->nodes[0].ovl_mask;
	char *root_zone = tb_path_join(s->dir, "zones/root.zone");
	char *ds_zone = tb_path_join(s->dir, "zones/ds.zone");
	char *root_private = malloc(strlen(s->root_key) + 10);
	int e = -ENOMEM;
	if (!root_zone || !ds_zone || !root_private)
		goto out;
	sprintf(root_private, "%s.private", s->root_key);
	const char *a1[] = {"publish", "--quiet", "--node", via->addr_s, "--key", root_private,
			    root_zone, NULL};
	if ((e = tb_run_self(s->self, s->log, NULL, a1)) != 0)
		goto out;
	const char *a2[] = {"publish", "--quiet", "--node", via->addr_s, ds_zone, NULL};
	if ((e = tb_run_self(s->self, s->log, NULL, a2)) != 0)
		goto out;
	/* The zones are independent once the root and the DS sets are in: up
	 * to PUB_PAR publishers at a time. A zone whose publish failed (a put
	 * timed out on a loaded machine) is published again: publish skips
	 * what is stored already, so a rerun puts only the rest. */
	enum { PUB_PAR = 4, PUB_TRIES = 4 };
	struct pubjob {
		pid_t pid;
		size_t zone;
		char *argv[16];
		char kp[PATH_MAX];
	} jobs[PUB_PAR];
	size_t nextz = 0, done = 0, running = 0;
	int *tries = calloc(s->nzones ? s->nzones : 1, sizeof(int));
	size_t *queue = calloc(s->nzones * PUB_TRIES + 1, sizeof(size_t));
	size_t qhead = 0, qtail = 0;
	if (!tries || !queue) {
		free(tries);
		free(queue);
		e = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->nzones; i++)
		queue[qtail++] = i;
	memset(jobs, 0, sizeof(jobs));
	(void)nextz;
	e = 0;
	while ((qhead < qtail || running) && !stop_flag && !e) {
		for (size_t j = 0; j < PUB_PAR && qhead < qtail; j++) {
			if (jobs[j].pid)
				continue;
			struct pubjob *pj = &jobs[j];
			struct zone *z = &s->zones[queue[qhead++]];
			pj->zone = (size_t)(z - s->zones);
			/* entry node: round robin by zone and attempt */
			size_t pick = (pj->zone + (size_t)tries[pj->zone] * 7) % nentry;
			const struct tb_node *entry = via;
			for (size_t k = 0; k < t->n; k++)
				if (t->nodes[k].ovl_mask == t->nodes[0].ovl_mask && pick-- == 0) {
					entry = &t->nodes[k];
					break;
				}
			snprintf(pj->kp, sizeof(pj->kp), "%s.private", z->key);
			char *a[] = {s->self,  "publish", "--quiet", "--node", (char *)entry->addr_s,
				     "--key",  pj->kp,    "--chain", z->ds,    "--origin",
				     z->name, z->file,    NULL};
			memcpy(pj->argv, a, sizeof(a));
			pid_t pid = tb_spawn(pj->argv, s->log, s->log);
			if (pid < 0) {
				e = (int)pid;
				break;
			}
			pj->pid = pid;
			running++;
		}
		/* Reap only our publishers (waitpid(-1) could take a node's exit). */
		int st = 0;
		pid_t r = 0;
		for (size_t j = 0; j < PUB_PAR && r <= 0; j++)
			if (jobs[j].pid)
				r = waitpid(jobs[j].pid, &st, WNOHANG);
		if (r <= 0) {
			struct timespec ts = {0, 20000000};
			nanosleep(&ts, NULL);
			continue;
		}
		for (size_t j = 0; j < PUB_PAR; j++) {
			if (jobs[j].pid != r)
				continue;
			jobs[j].pid = 0;
			running--;
			struct zone *z = &s->zones[jobs[j].zone];
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
				done++;
			} else if (WIFEXITED(st) && WEXITSTATUS(st) == 1 &&
				   ++tries[jobs[j].zone] < PUB_TRIES) {
				tb_say("publish %s: some puts failed; publishing the rest again "
				    "(attempt %d of %d)",
				    z->name, tries[jobs[j].zone] + 1, PUB_TRIES);
				queue[qtail++] = jobs[j].zone;
			} else {
				tb_say("publish %s failed; see %s", z->name, s->log);
				e = -EIO;
			}
		}
		tb_progress(t, false, "publish: %zu/%zu zones", done, s->nzones);
	}
	/* Stopped or failed: the publishers still running are ours to end. */
	for (size_t j = 0; j < PUB_PAR; j++)
		if (jobs[j].pid) {
			kill(jobs[j].pid, SIGTERM);
			(void)waitpid(jobs[j].pid, NULL, 0);
		}
	free(tries);
	free(queue);
	if (stop_flag && !e)
		e = -EINTR;
out:
	free(root_zone);
	free(ds_zone);
	free(root_private);
	return e;
}

/* --- nodes --- */

/* A UDP port free on every node address and on 127.0.0.1. */
static int pick_port(size_t n, uint16_t *port)
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

static int pick_gw_port(uint16_t *port)
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
static void plan_nodes(struct tb *t, const struct opts *o)
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

static struct tr_addr node_addr(const struct setup *s, size_t k, uint16_t port)
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

static void netns_down(struct setup *s)
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
static int netns_up(struct setup *s, size_t n)
{
	snprintf(s->nsbase, sizeof(s->nsbase), "ddtb%ld", (long)getpid() % 10000000);
	if (ip_cmd(s, "link add %s type bridge", s->nsbase) != 0)
		return -EIO;
	s->bridge_made = true;
	if (ip_cmd(s, "addr add 198.18.0.1/16 dev %s", s->nsbase) != 0 ||
	    ip_cmd(s, "link set %s up", s->nsbase) != 0)
		return -EIO;
	for (size_t k = 0; k < n && !stop_flag; k++) {
		char ns[48], veth[32];
		snprintf(ns, sizeof(ns), "%s-%u", s->nsbase, (unsigned)k);
		/* interface names: 15 characters at most */
		snprintf(veth, sizeof(veth), "v%u-%u", (unsigned)(getpid() % 10000000),
			 (unsigned)k);
		if (ip_cmd(s, "netns add %s", ns) != 0)
			return -EIO;
		s->ns_made = k + 1;
		struct tr_addr a = node_addr(s, k, 0);
		if (ip_cmd(s, "link add %s type veth peer name eth0 netns %s", veth, ns) != 0 ||
		    ip_cmd(s, "link set %s master %s up", veth, s->nsbase) != 0 ||
		    ip_cmd(s, "-n %s addr add %u.%u.%u.%u/16 dev eth0", ns, a.ip[0], a.ip[1],
			   a.ip[2], a.ip[3]) != 0 ||
		    ip_cmd(s, "-n %s link set eth0 up", ns) != 0 ||
		    ip_cmd(s, "-n %s link set lo up", ns) != 0)
			return -EIO;
		struct tb t = {.tty = isatty(2), .stop = &stop_flag};
		tb_progress(&t, false, "netns: %zu/%zu namespaces", k + 1, n);
	}
	return stop_flag ? -EINTR : 0;
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
		argv[n++] = o->latency_matrix;
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
static bool node_died(struct tb *t, struct setup *s)
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

static void stop_one(struct tb_node *nd)
{
	if (nd->pid <= 0)
		return;
	kill(nd->pid, SIGTERM);
	uint64_t deadline = tb_now_us() + 5000000;
	while (waitpid(nd->pid, NULL, WNOHANG) == 0) {
		if (tb_now_us() > deadline) {
			kill(nd->pid, SIGKILL);
			(void)waitpid(nd->pid, NULL, 0);
			break;
		}
		struct timespec ts = {0, 20000000};
		nanosleep(&ts, NULL);
	}
	nd->pid = 0;
}

static int start_all(struct tb *t, struct setup *s)
{
	/* Node k starts once its bootstrap has joined: it joins a live member.
	 * A join that did not go through (a node alone in its own ring, which
	 * a lossy or slow start can leave) is retried with a fresh process. */
	for (size_t k = 0; k < t->n && !stop_flag; k++) {
		struct tb_node *nd = &t->nodes[k];
		bool in = false;
		for (int attempt = 0; attempt < 3 && !in && !stop_flag; attempt++) {
			if (attempt) {
				tb_say("node %zu (%s) did not join (attempt %d); restarting it", k,
				    nd->addr_s, attempt);
				stop_one(nd);
			}
			int e = start_node(t, s, k);
			if (e) {
				tb_say("cannot start %s: %s", s->ddnsd, strerror(-e));
				return e;
			}
			nd->st_ok = false;
			uint64_t deadline = tb_now_us() + 15000000;
			while (!(in = node_joined(nd)) && !stop_flag && tb_now_us() < deadline) {
				if (node_died(t, s)) {
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
		if (!in && !stop_flag) {
			tb_say("node %zu (%s) did not join; see %s/node%zu/", k, nd->addr_s, s->dir, k);
			return -ETIMEDOUT;
		}
		tb_progress(t, false, "nodes: %zu/%zu started", k + 1, t->n);
	}
	if (stop_flag)
		return -EINTR;
	tb_progress(t, true, "nodes: %zu started on %s .. %s", t->n, t->nodes[0].addr_s,
		    t->nodes[t->n - 1].addr_s);
	return 0;
}

/* Stable: every overlay instance of every node has a full replica set and
 * routing state of at least min(members - 1, 6) nodes, twice in a row. */
static int wait_stable(struct tb *t, struct setup *s, unsigned replicas, double limit_s)
{
	size_t members[3] = {0};
	for (size_t k = 0; k < t->n; k++)
		for (int ov = RPC_OVL_CHORD; ov <= RPC_OVL_KAD16; ov++)
			if (t->nodes[k].ovl_mask & OVL_BIT(ov))
				members[ov]++;
	uint64_t start = tb_now_us(), deadline = start + (uint64_t)(limit_s * 1e6);
	int good = 0;
	while (!stop_flag) {
		int e = poll_status(t, t->n);
		if (e)
			return e;
		if (node_died(t, s))
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

static void stop_nodes(struct tb *t)
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

/* --- the gateway check: one query, like dig +dnssec --- */

/* One query to a DNS server, like dig +dnssec (RD, EDNS0 with DO): the
 * answer's rcode, AD bit and answer count. 0, or -errno / -ETIMEDOUT when
 * nothing came back in `tries` tries 2 s apart. */
static int dns_ask(const struct tr_addr *to, const char *name, const char *type, int tries,
		   unsigned *rcode, bool *ad, unsigned *ancount)
{
	struct tb_query q;
	int tc = type_code(type);
	if (tb_name_wire(name, q.wire, &q.wire_len) != 0 || tc < 0)
		return -EINVAL;
	q.type = (uint16_t)tc;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(to->port)};
	memcpy(&sa.sin_addr, to->ip, 4);
	struct timeval tv = {2, 0};
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int e = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : -errno;
	uint8_t pkt[512], ans[4096];
	size_t plen = 0;
	if (!e)
		e = tb_dns_query(pkt, sizeof(pkt), 0x5a5a, 0x0100, q.wire, q.wire_len, q.type, 1,
				 4096, &plen);
	if (e) {
		close(fd);
		return e;
	}
	e = -ETIMEDOUT;
	for (int attempt = 0; attempt < tries && e && !stop_flag; attempt++) {
		if (send(fd, pkt, plen, 0) < 0)
			continue;
		ssize_t n;
		while ((n = recv(fd, ans, sizeof(ans), 0)) >= 12) {
			if (ans[0] != 0x5a || ans[1] != 0x5a)
				continue;
			*rcode = ans[3] & 0xf;
			*ad = ans[3] & 0x20;
			*ancount = ddns_get_u16(ans + 6);
			e = 0;
			break;
		}
	}
	close(fd);
	return e;
}

/* The check answer through the gateway: NOERROR with answers. */
static int gateway_check(struct setup *s, bool *ad, unsigned *ancount)
{
	unsigned rcode = 0;
	int e = dns_ask(&s->gw, s->check_name, s->check_type, 5, &rcode, ad, ancount);
	if (e == 0 && (rcode != 0 || *ancount == 0)) {
		tb_say("gateway answered %s %s with rcode %u, %u answers", s->check_name,
		       s->check_type, rcode, *ancount);
		e = DDNS_ENOTFOUND;
	}
	return e;
}

/*
 * --break-ds ZONE: a key rollover gone wrong. The zone stays signed with its
 * key, but the root publishes (newer) a DS set that names another key
 * (conventional_up gives the same DS to the conventional root). A resolver
 * then finds no DNSKEY matching the DS: SERVFAIL. The DDNS blocks already
 * stored carry the chain they were signed under (their own DS RRset, signed
 * by the root), so the gateway keeps answering from them until the zone is
 * published again or their signatures expire; the JSON reports both rcodes.
 */
static int break_ds(struct tb *t, struct setup *s)
{
	const struct opts *o = s->o;
	char want[300];
	snprintf(want, sizeof(want), "%s%s", o->break_ds,
		 o->break_ds[strlen(o->break_ds) - 1] == '.' ? "" : ".");
	struct zone *z = NULL;
	for (size_t i = 0; i < s->nzones && !z; i++)
		if (strcasecmp(s->zones[i].name, want) == 0)
			z = &s->zones[i];
	if (!z) {
		tb_say("--break-ds %s: not one of the testbed's zones", o->break_ds);
		return -EINVAL;
	}
	char *kdir = tb_path_join(s->dir, "keys-decoy"), *out = tb_path_join(s->dir, "helper.out");
	char *dsf = tb_path_join(s->dir, "zones/ds-broken.zone");
	char rootp[PATH_MAX], child[PATH_MAX];
	int e = -ENOMEM;
	if (!kdir || !out || !dsf)
		goto out;
	if (mkdir(kdir, 0700) != 0 && errno != EEXIST) {
		e = -errno;
		goto out;
	}
	const char *ka[] = {"keygen", "--zone", z->name, "--dir", kdir, NULL};
	if ((e = tb_run_self(s->self, s->log, out, ka)) != 0)
		goto out;
	s->decoy_key = key_path(kdir, read_first_line(out));
	if (!s->decoy_key) {
		e = -EIO;
		goto out;
	}
	s->broken = z;
	snprintf(rootp, sizeof(rootp), "%s.private", s->root_key);
	snprintf(child, sizeof(child), "%s.key", s->decoy_key);
	const char *da[] = {"delegate", "--parent-key", rootp, "--child-key", child, "-o", dsf,
			    NULL};
	if ((e = tb_run_self(s->self, s->log, NULL, da)) != 0)
		goto out;
	const char *pa[] = {"publish", "--quiet", "--node", t->nodes[0].addr_s, dsf, NULL};
	if ((e = tb_run_self(s->self, s->log, NULL, pa)) != 0)
		goto out;
	tb_say("--break-ds %s: the root now publishes a DS for another key", z->name);
out:
	free(kdir);
	free(out);
	free(dsf);
	return e;
}

/* The broken zone's SOA through the gateway and the resolver. */
static void broken_check(struct setup *s)
{
	bool ad;
	unsigned an;
	s->broken_rcode[0] = s->broken_rcode[1] = -1;
	/* A validating resolver retries a bogus chain for a while: 30 s. */
	if (dns_ask(&s->gw, s->broken->name, "SOA", 15, &s->broken_rcode_u[0], &ad, &an) == 0)
		s->broken_rcode[0] = (int)s->broken_rcode_u[0];
	if (s->conv &&
	    dns_ask(tb_conv_resolver(s->conv), s->broken->name, "SOA", 15, &s->broken_rcode_u[1],
		    &ad, &an) == 0)
		s->broken_rcode[1] = (int)s->broken_rcode_u[1];
	tb_say("--break-ds %s: SOA answered rcode %d by the gateway, %d by the conventional "
	       "resolver (2 is SERVFAIL)",
	       s->broken->name, s->broken_rcode[0], s->broken_rcode[1]);
}


/* --- RTT check under --latency-matrix --- */

struct rtt_row {
	uint32_t node;
	double expected_ms, measured_ms;
};

/* A probe endpoint placed in the matrix as node index n (the address after
 * the last node) pings each node with STATUS: the request waits in the
 * probe's delay queue, the reply in the node's, so the round trip is the
 * sum of the two one-way delays. The best of three counts. */
static int rtt_check(struct tb *t, const struct opts *o, struct rtt_row *rows, size_t *nrows)
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
	for (int round = 0; round < 5 && !stop_flag; round++) {
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

/* --- workload --- */

static int load_queries(struct tb *t, struct setup *s, const struct opts *o)
{
	struct tb_load *l = &t->load;
	size_t q = o->queries;
	l->q = calloc(q ? q : 1, sizeof(*l->q));
	if (!l->q)
		return -ENOMEM;
	if (strncmp(o->workload, "zipf:", 5) == 0) {
		char *end;
		double alpha = strtod(o->workload + 5, &end);
		if (*end || !(alpha >= 0) || alpha > 10) {
			tb_say("--workload %s: ALPHA must be a number in 0..10", o->workload);
			return -EINVAL;
		}
		if (s->names.n == 0) {
			tb_say("--workload zipf needs the demo zones (omit --zone) or a FILE workload");
			return -EINVAL;
		}
		struct wl_zipf z;
		if (wl_zipf_init(&z, s->names.n, alpha) != 0)
			return -ENOMEM;
		for (size_t i = 0; i < q; i++) {
			size_t r = wl_zipf_draw(&z, &t->rng);
			if (tb_name_wire(s->names.name[r], l->q[i].wire, &l->q[i].wire_len) != 0)
				(void)tb_name_wire("www.example.org", l->q[i].wire, &l->q[i].wire_len);
			l->q[i].type = 1;
		}
		wl_zipf_free(&z);
		l->nq = q;
		return 0;
	}
	FILE *f = fopen(o->workload, "r");
	if (!f) {
		tb_say("--workload %s: %s", o->workload, strerror(errno));
		return -errno;
	}
	/* The file's queries, in order, repeated until Q are drawn. */
	char line[1024];
	size_t lines = 0, lineno = 0;
	struct tb_query *uniq = NULL;
	int e = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char name[300], type[32] = "A";
		if (line[0] == '#' || sscanf(line, "%299s %31s", name, type) < 1)
			continue;
		struct tb_query *nu = realloc(uniq, (lines + 1) * sizeof(*nu));
		if (!nu) {
			e = -ENOMEM;
			break;
		}
		uniq = nu;
		int tc = type_code(type);
		if (tb_name_wire(name, uniq[lines].wire, &uniq[lines].wire_len) != 0 || tc < 0) {
			tb_say("%s:%zu: bad query '%s %s'", o->workload, lineno, name, type);
			e = -EINVAL;
			break;
		}
		uniq[lines++].type = (uint16_t)tc;
	}
	fclose(f);
	if (!e && lines == 0) {
		tb_say("--workload %s: no queries in the file", o->workload);
		e = -EINVAL;
	}
	for (size_t i = 0; !e && i < q; i++)
		l->q[i] = uniq[i % lines];
	free(uniq);
	l->nq = e ? 0 : q;
	return e;
}

/* --- report --- */

static void dist_of(struct ddns_samples *s, struct ddns_dist *d)
{
	memset(d, 0, sizeof(*d));
	if (s->n)
		ddns_samples_dist(s, d);
}

static void print_table(FILE *f, struct tb *t)
{
	fprintf(f, "\n%-17s %7s %8s %6s | %-27s | %-27s | %-20s | %5s\n", "overlay", "queries",
		"answered", "failed", "RPCs min/med/mean/p90/p99", "hops min/med/mean/p90/p99",
		"latency ms med/p90/p99", "cache");
	for (int k = 1; k < TB_KINDS; k++) {
		struct tb_row *r = &t->load.row[k];
		if (!(t->load.kinds_all & (1u << k)))
			continue;
		struct ddns_dist rp, hp, lt;
		dist_of(&r->rpcs, &rp);
		dist_of(&r->hops, &hp);
		dist_of(&r->latency_ms, &lt);
		char rs[64] = "-", hs[64] = "-", cs[16] = "-";
		bool conv = k == TB_KIND_CONV || k == TB_KIND_CONV_WARM;
		if (k < TB_KIND_GW || conv) {
			snprintf(rs, sizeof(rs), "%.0f/%.0f/%.2f/%.0f/%.0f", rp.min, rp.median, rp.mean,
				 rp.p90, rp.p99);
			snprintf(cs, sizeof(cs), "%.0f%%",
				 r->answered ? 100.0 * r->cache_hits / r->answered : 0.0);
		}
		if (k < TB_KIND_GW)
			snprintf(hs, sizeof(hs), "%.0f/%.0f/%.2f/%.0f/%.0f", hp.min, hp.median, hp.mean,
				 hp.p90, hp.p99);
		char ls[64];
		snprintf(ls, sizeof(ls), "%.1f/%.1f/%.1f", lt.median, lt.p90, lt.p99);
		fprintf(f, "%-17s %7llu %8llu %6llu | %-27s | %-27s | %-20s | %5s\n", tb_kind_name(k),
			(unsigned long long)r->queries, (unsigned long long)r->answered,
			(unsigned long long)r->failed, rs, hs, ls, cs);
	}
	for (int k = TB_KIND_GW; k < TB_KINDS; k++)
		if (t->load.kinds_all & (1u << k)) {
			struct tb_row *r = &t->load.row[k];
			fprintf(f, "(%s: %llu of %llu answers carried AD)\n", tb_kind_name(k),
				(unsigned long long)r->ad, (unsigned long long)r->answered);
		}
	if (t->load.kinds_all & (1u << TB_KIND_CONV)) {
		size_t cmp, same, diff;
		tb_load_compare(&t->load, &cmp, &same, &diff);
		fprintf(f, "(conventional RPCs: upstream queries its name servers received, %llu "
			   "of them charged to no lookup; cold pass: %zu of %zu answers the same as "
			   "the gateway's)\n",
			(unsigned long long)t->load.unattributed, same, cmp);
	}
}

static int write_csv(const char *path, struct tb *t)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "overlay,queries,answered,failed,cache_hits,rpcs_min,rpcs_median,rpcs_mean,"
		   "rpcs_p90,rpcs_p99,rpcs_max,hops_min,hops_median,hops_mean,hops_p90,hops_p99,"
		   "hops_max,latency_ms_median,latency_ms_p90,latency_ms_p99\n");
	for (int k = 1; k < TB_KINDS; k++) {
		struct tb_row *r = &t->load.row[k];
		if (!(t->load.kinds_all & (1u << k)))
			continue;
		struct ddns_dist rp, hp, lt;
		dist_of(&r->rpcs, &rp);
		dist_of(&r->hops, &hp);
		dist_of(&r->latency_ms, &lt);
		fprintf(f, "%s,%llu,%llu,%llu,%llu,%g,%g,%.4f,%g,%g,%g,%g,%g,%.4f,%g,%g,%g,%.3f,%.3f,%.3f\n",
			tb_kind_name(k), (unsigned long long)r->queries, (unsigned long long)r->answered,
			(unsigned long long)r->failed, (unsigned long long)r->cache_hits, rp.min,
			rp.median, rp.mean, rp.p90, rp.p99, rp.max, hp.min, hp.median, hp.mean, hp.p90,
			hp.p99, hp.max, lt.median, lt.p90, lt.p99);
	}
	return fclose(f) == 0 ? 0 : -errno;
}

static void json_dist(FILE *f, const char *name, struct ddns_dist *d)
{
	fprintf(f, "\"%s\":{\"min\":%g,\"median\":%g,\"mean\":%.4f,\"p90\":%g,\"p99\":%g,\"max\":%g}",
		name, d->min, d->median, d->mean, d->p90, d->p99, d->max);
}

static void print_json(FILE *f, struct tb *t, struct setup *s, bool have_load, bool check_ok,
		       const struct rtt_row *rtt, size_t nrtt)
{
	fprintf(f, "{\"nodes\":%zu,\"dns\":\"%s\",\"workdir\":\"%s\",\"check\":%s", t->n, s->gw_s,
		s->dir, check_ok ? "true" : "false");
	fprintf(f, ",\"pids\":[");
	for (size_t k = 0; k < t->n; k++)
		fprintf(f, "%s%ld", k ? "," : "", (long)t->nodes[k].pid);
	fprintf(f, "]");
	if (have_load) {
		fprintf(f, ",\"overlays\":{");
		bool first = true;
		for (int k = 1; k < TB_KINDS; k++) {
			struct tb_row *r = &t->load.row[k];
			if (!(t->load.kinds_all & (1u << k)))
				continue;
			struct ddns_dist rp, hp, lt;
			dist_of(&r->rpcs, &rp);
			dist_of(&r->hops, &hp);
			dist_of(&r->latency_ms, &lt);
			fprintf(f, "%s\"%s\":{\"queries\":%llu,\"answered\":%llu,\"failed\":%llu,"
				   "\"cache_hits\":%llu,",
				first ? "" : ",", tb_kind_name(k), (unsigned long long)r->queries,
				(unsigned long long)r->answered, (unsigned long long)r->failed,
				(unsigned long long)r->cache_hits);
			if (k >= TB_KIND_GW)
				fprintf(f, "\"ad\":%llu,", (unsigned long long)r->ad);
			json_dist(f, "rpcs", &rp);
			fputc(',', f);
			json_dist(f, "hops", &hp);
			fprintf(f, ",\"latency_ms\":{\"median\":%.3f,\"p90\":%.3f,\"p99\":%.3f}}",
				lt.median, lt.p90, lt.p99);
			first = false;
		}
		fprintf(f, "}");
	}
	if (s->broken)
		fprintf(f, ",\"broken_ds\":{\"zone\":\"%s\",\"gateway_rcode\":%d,"
			   "\"conventional_rcode\":%d}",
			s->broken->name, s->broken_rcode[0], s->broken_rcode[1]);
	if (s->conv) {
		long pids[4];
		size_t np = tb_conv_pids(s->conv, pids, 4);
		fprintf(f, ",\"conventional_stack\":{\"zones\":%zu,\"resolver\":\"127.0.52.1:%u\","
			   "\"upstream_cold\":%llu,\"upstream_warm\":%llu,\"unattributed\":%llu,"
			   "\"pids\":[",
			tb_conv_zones(s->conv), tb_conv_resolver(s->conv)->port,
			(unsigned long long)s->conv_upstream[0], (unsigned long long)s->conv_upstream[1],
			(unsigned long long)t->load.unattributed);
		for (size_t i = 0; i < np; i++)
			fprintf(f, "%s%ld", i ? "," : "", pids[i]);
		size_t cmp, same, diff;
		tb_load_compare(&t->load, &cmp, &same, &diff);
		fprintf(f, "],\"answers_compared\":%zu,\"answers_same\":%zu}", cmp, same);
	}
	if (nrtt) {
		fprintf(f, ",\"rtt_check\":[");
		for (size_t i = 0; i < nrtt; i++)
			fprintf(f, "%s{\"node\":%u,\"expected_ms\":%.3f,\"measured_ms\":%.3f}",
				i ? "," : "", rtt[i].node, rtt[i].expected_ms, rtt[i].measured_ms);
		fprintf(f, "]");
	}
	fprintf(f, "}\n");
}

bool tb_on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];
	while (path && *path) {
		const char *c = strchr(path, ':');
		size_t l = c ? (size_t)(c - path) : strlen(path);
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)l, path, prog);
		if (access(buf, X_OK) == 0)
			return true;
		path = c ? c + 1 : NULL;
	}
	return false;
}

/* Histograms of RPCs and hops per lookup, one PNG per figure. */
static int plot(const char *dir, struct tb *t, const char *log)
{
	if (!tb_on_path("gnuplot")) {
		tb_say("--plot: gnuplot is not installed; no figures written");
		return 0;
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return -errno;
	const char *fig[2] = {"rpcs", "hops"};
	char dat[PATH_MAX], gp[PATH_MAX], png[PATH_MAX];
	snprintf(gp, sizeof(gp), "%s/histograms.gp", dir);
	FILE *g = fopen(gp, "w");
	if (!g)
		return -errno;
	for (int fi = 0; fi < 2; fi++) {
		snprintf(dat, sizeof(dat), "%s/%s.dat", dir, fig[fi]);
		FILE *f = fopen(dat, "w");
		if (!f) {
			fclose(g);
			return -errno;
		}
		/* value, then the share of lookups per row: the overlays, and for
		 * RPCs the conventional resolver's upstream queries (cold, warm) */
		int kk[4], nk = 0;
		for (int k = 1; k < TB_KINDS; k++)
			if (k <= 2 || (fi == 0 && (k == TB_KIND_CONV || k == TB_KIND_CONV_WARM) &&
				       (t->load.kinds_all & (1u << k))))
				kk[nk++] = k;
		fprintf(f, "# %s per lookup: value", fig[fi]);
		for (int j = 0; j < nk; j++)
			fprintf(f, " %s", tb_kind_name(kk[j]));
		fprintf(f, " (fraction of answered lookups)\n");
		unsigned maxv = 0;
		for (int j = 0; j < nk; j++) {
			int k = kk[j];
			struct ddns_samples *sm = fi ? &t->load.row[k].hops : &t->load.row[k].rpcs;
			for (size_t i = 0; i < sm->n; i++)
				if (sm->v[i] > maxv)
					maxv = (unsigned)sm->v[i];
		}
		for (unsigned v = 0; v <= maxv; v++) {
			fprintf(f, "%u", v);
			for (int j = 0; j < nk; j++) {
				int k = kk[j];
				struct ddns_samples *sm = fi ? &t->load.row[k].hops : &t->load.row[k].rpcs;
				size_t c = 0;
				for (size_t i = 0; i < sm->n; i++)
					c += (unsigned)sm->v[i] == v;
				fprintf(f, " %.5f", sm->n ? (double)c / sm->n : 0.0);
			}
			fprintf(f, "\n");
		}
		fclose(f);
		snprintf(png, sizeof(png), "%s/%s.png", dir, fig[fi]);
		fprintf(g,
			"set terminal png size 800,500 noenhanced\nset output '%s'\n"
			"set title 'ddns testbed: %s per lookup'\nset xlabel '%s'\n"
			"set ylabel 'fraction of lookups'\nset style data histogram\n"
			"set style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
			"plot '%s' using 2:xtic(1) title '%s'",
			png, fig[fi], fi ? "hops" : "RPCs (conventional: upstream queries)", dat,
			tb_kind_name(kk[0]));
		for (int j = 1; j < nk; j++)
			fprintf(g, ", '' using %d title '%s'", j + 2, tb_kind_name(kk[j]));
		fprintf(g, "\n");
	}
	fclose(g);
	char *argv[] = {"gnuplot", gp, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	pid_t pid;
	int e = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e)
		return -e;
	int rc = tb_wait_child(pid);
	if (rc != 0) {
		tb_say("gnuplot failed; see %s", log);
		return -EIO;
	}
	tb_say("figures: %s/rpcs.png, %s/hops.png", dir, dir);
	return 0;
}

/* --- options --- */

static int parse_mix(const char *spec, struct opts *o)
{
	char *copy = strdup(spec), *save = NULL;
	unsigned seen = 0, sum = 0;
	int e = 0;
	if (!copy)
		return -ENOMEM;
	memset(o->mix_pct, 0, sizeof(o->mix_pct));
	for (char *p = strtok_r(copy, ",", &save); p && !e; p = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(p, '=');
		char *end;
		if (!eq) {
			e = -EINVAL;
			break;
		}
		*eq = 0;
		unsigned long v = strtoul(eq + 1, &end, 10);
		if (end == eq + 1 || (*end && strcmp(end, "%") != 0) || v > 100) {
			e = -EINVAL;
			break;
		}
		int i = strcmp(p, "chord") == 0 ? 0 : strcmp(p, "kad16") == 0 ? 1
						 : strcmp(p, "both") == 0  ? 2
									   : -1;
		if (i < 0 || (seen & (1u << i))) {
			e = -EINVAL;
			break;
		}
		seen |= 1u << i;
		o->mix_pct[i] = (unsigned)v;
		sum += (unsigned)v;
	}
	free(copy);
	if (!e && sum != 100)
		e = -ERANGE;
	o->mix = true;
	return e;
}

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-')
		return false;
	*out = v;
	return true;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_NODES = 256, O_OVERLAY, O_MIX, O_DNS, O_ZONE, O_NAMES, O_RECORDS, O_WORKDIR,
	       O_KEEP, O_WORKLOAD, O_QUERIES, O_CONC, O_VIA, O_CSV, O_JSON, O_PLOT, O_DURATION,
	       O_ONCE, O_MATRIX, O_LSEED, O_NETNS, O_REPLICAS, O_SEED, O_DDNSD, O_CONV,
	       O_BREAK_DS, O_HELP };
	static const struct option lo[] = {
		{"nodes", required_argument, NULL, O_NODES},
		{"overlay", required_argument, NULL, O_OVERLAY},
		{"mix", required_argument, NULL, O_MIX},
		{"dns", required_argument, NULL, O_DNS},
		{"zone", required_argument, NULL, O_ZONE},
		{"names", required_argument, NULL, O_NAMES},
		{"records", required_argument, NULL, O_RECORDS},
		{"workdir", required_argument, NULL, O_WORKDIR},
		{"keep", no_argument, NULL, O_KEEP},
		{"workload", required_argument, NULL, O_WORKLOAD},
		{"queries", required_argument, NULL, O_QUERIES},
		{"concurrency", required_argument, NULL, O_CONC},
		{"via", required_argument, NULL, O_VIA},
		{"csv", required_argument, NULL, O_CSV},
		{"json", no_argument, NULL, O_JSON},
		{"plot", required_argument, NULL, O_PLOT},
		{"duration", required_argument, NULL, O_DURATION},
		{"once", no_argument, NULL, O_ONCE},
		{"latency-matrix", required_argument, NULL, O_MATRIX},
		{"latency-seed", required_argument, NULL, O_LSEED},
		{"netns", no_argument, NULL, O_NETNS},
		{"conventional", no_argument, NULL, O_CONV},
		{"break-ds", required_argument, NULL, O_BREAK_DS},
		{"replicas", required_argument, NULL, O_REPLICAS},
		{"seed", required_argument, NULL, O_SEED},
		{"ddnsd", required_argument, NULL, O_DDNSD},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0}};
	int c;
	uint64_t v;
	char *end;
	opterr = 0;
	optind = 1;
	o->records = 200;
	o->concurrency = 16;
	o->via = 3;
	o->latency_seed = 1;
	o->seed = 1;
	while ((c = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
		switch (c) {
		case 'h':
		case O_HELP:
			usage(stdout);
			return 1;
		case O_NODES:
			if (!parse_u64(optarg, &v) || v < 1 || v > TB_MAX_NODES) {
				fprintf(stderr, "ddns testbed: --nodes must be 1..%d\n", TB_MAX_NODES);
				return -1;
			}
			o->nodes = (unsigned)v;
			break;
		case O_OVERLAY:
			if (!ovl_ops_by_name(optarg)) {
				fprintf(stderr, "ddns testbed: unknown overlay '%s' (chord, kad16)\n",
					optarg);
				return -1;
			}
			o->ovl_mask |= OVL_BIT(ovl_ops_wire_id(ovl_ops_by_name(optarg)));
			break;
		case O_MIX: {
			int e = parse_mix(optarg, o);
			if (e) {
				fprintf(stderr,
					"ddns testbed: --mix %s: %s (e.g. chord=40%%,kad16=40%%,both=20%%)\n",
					optarg, e == -ERANGE ? "shares must add up to 100%" : "bad share");
				return -1;
			}
			break;
		}
		case O_DNS:
			o->dns = optarg;
			break;
		case O_ZONE: {
			char **z = realloc(o->zones, (o->nzones + 1) * sizeof(*z));
			if (!z)
				return -1;
			o->zones = z;
			o->zones[o->nzones++] = optarg;
			break;
		}
		case O_NAMES:
			o->names = optarg;
			break;
		case O_RECORDS:
			if (!parse_u64(optarg, &v) || v < 1 || v > 100000) {
				fprintf(stderr, "ddns testbed: --records must be 1..100000\n");
				return -1;
			}
			o->records = (unsigned)v;
			break;
		case O_WORKDIR:
			o->workdir = optarg;
			break;
		case O_KEEP:
			o->keep = true;
			break;
		case O_WORKLOAD:
			o->workload = optarg;
			break;
		case O_QUERIES:
			if (!parse_u64(optarg, &v) || v < 1 || v > 10000000) {
				fprintf(stderr, "ddns testbed: --queries must be 1..10000000\n");
				return -1;
			}
			o->queries = (unsigned long)v;
			break;
		case O_CONC:
			if (!parse_u64(optarg, &v) || v < 1 || v > 1024) {
				fprintf(stderr, "ddns testbed: --concurrency must be 1..1024\n");
				return -1;
			}
			o->concurrency = (unsigned)v;
			break;
		case O_VIA:
			o->via = strcmp(optarg, "nodes") == 0	? 1
				 : strcmp(optarg, "gateway") == 0 ? 2
				 : strcmp(optarg, "both") == 0	? 3
								: 0;
			if (!o->via) {
				fprintf(stderr, "ddns testbed: --via nodes, gateway or both\n");
				return -1;
			}
			break;
		case O_CSV:
			o->csv = optarg;
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_PLOT:
			o->plot = optarg;
			break;
		case O_DURATION:
			o->duration = strtod(optarg, &end);
			if (*end || !(o->duration > 0) || o->duration > 1e7) {
				fprintf(stderr, "ddns testbed: --duration must be a positive number of "
						"seconds\n");
				return -1;
			}
			break;
		case O_ONCE:
			o->once = true;
			break;
		case O_MATRIX:
			o->latency_matrix = optarg;
			break;
		case O_LSEED:
			if (!parse_u64(optarg, &o->latency_seed)) {
				fprintf(stderr, "ddns testbed: --latency-seed must be a number\n");
				return -1;
			}
			break;
		case O_NETNS:
			o->netns = true;
			break;
		case O_CONV:
			o->conventional = true;
			break;
		case O_BREAK_DS:
			o->break_ds = optarg;
			break;
		case O_REPLICAS:
			if (!parse_u64(optarg, &v) || v < 1 || v > 16) {
				fprintf(stderr, "ddns testbed: --replicas must be 1..16\n");
				return -1;
			}
			o->replicas = (unsigned)v;
			break;
		case O_SEED:
			if (!parse_u64(optarg, &o->seed)) {
				fprintf(stderr, "ddns testbed: --seed must be a number\n");
				return -1;
			}
			break;
		case O_DDNSD:
			o->ddnsd = optarg;
			break;
		case ':':
			fprintf(stderr, "ddns testbed: option '%s' needs a value\n", argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "ddns testbed: unknown option '%s' (try --help)\n",
				argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ddns testbed: unexpected argument '%s' (try --help)\n", argv[optind]);
		return -1;
	}
	if (!o->nodes) {
		fprintf(stderr, "ddns testbed: --nodes N is required (try --help)\n");
		return -1;
	}
	if (!o->ovl_mask)
		o->ovl_mask = OVL_MASK_ALL;
	if (o->mix && o->ovl_mask != OVL_MASK_ALL) {
		fprintf(stderr, "ddns testbed: --mix needs both overlays\n");
		return -1;
	}
	if (o->conventional && (o->nzones || o->netns)) {
		fprintf(stderr, "ddns testbed: --conventional builds its hierarchy from the demo "
				"zones, on loopback: not with --zone or --netns\n");
		return -1;
	}
	if (o->names && o->nzones) {
		fprintf(stderr, "ddns testbed: --names makes demo zones; it does not go with --zone\n");
		return -1;
	}
	/* Input files are checked before anything is started. */
	for (size_t i = 0; i < o->nzones; i++)
		if (access(o->zones[i], R_OK) != 0) {
			fprintf(stderr, "ddns testbed: --zone %s: %s\n", o->zones[i], strerror(errno));
			return -1;
		}
	const char *files[] = {o->names, o->latency_matrix,
			       o->workload && strncmp(o->workload, "zipf:", 5) != 0 ? o->workload
										  : NULL};
	const char *fopt[] = {"--names", "--latency-matrix", "--workload"};
	for (size_t i = 0; i < 3; i++)
		if (files[i] && access(files[i], R_OK) != 0) {
			fprintf(stderr, "ddns testbed: %s %s: %s\n", fopt[i], files[i], strerror(errno));
			return -1;
		}
	if (o->once && !o->workload && (o->names || !o->nzones))
		o->workload = "zipf:0.9";
	if (o->workload && !o->queries)
		o->queries = o->once ? 200 : 1000;
	return 0;
}

/* The directory this program lives in, for ddnsd beside it. */
static char *self_path(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	return strdup(buf);
}

static int rm_rf(const char *dir)
{
	/* Our own tree of plain files and directories: nftw would do, but a
	 * child "rm -rf" on a path we created ourselves is simplest. */
	char *argv[] = {"/bin/rm", "-rf", "--", (char *)dir, NULL};
	pid_t pid = tb_spawn(argv, NULL, NULL);
	if (pid < 0)
		return (int)pid;
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}

/* --netns: can this process make network namespaces? */
static bool netns_possible(char *why, size_t len)
{
	pid_t pid = fork();
	if (pid == 0) {
		extern int unshare(int);
		_exit(unshare(0x40000000 /* CLONE_NEWNET */) == 0 ? 0 : errno);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
		snprintf(why, len, "cannot test (fork failed)");
		return false;
	}
	if (WEXITSTATUS(st)) {
		snprintf(why, len, "unshare(CLONE_NEWNET): %s", strerror(WEXITSTATUS(st)));
		return false;
	}
	return true;
}

/* --conventional: the same zones as NSD + Unbound (cli/testbed_conv.h), the
 * resolver on node 0's matrix host (where the gateway is). */
static int conventional_up(struct tb *t, struct setup *s)
{
	const struct opts *o = s->o;
	struct tb_conv_zone *cz = calloc(s->nzones ? s->nzones : 1, sizeof(*cz));
	char err[512];
	struct tb_latency *lat = NULL;
	int e = 0;
	if (!cz)
		return -ENOMEM;
	for (size_t i = 0; i < s->nzones; i++)
		cz[i] = (struct tb_conv_zone){s->zones[i].name, s->zones[i].file, s->zones[i].key,
					      &s->zones[i] == s->broken ? s->decoy_key : NULL};
	if (o->latency_matrix &&
	    !(lat = tb_latency_new(o->latency_matrix, o->latency_seed, 0, err, sizeof(err)))) {
		tb_say("%s", err);
		free(cz);
		return -EINVAL;
	}
	struct tb_conv_cfg cfg = {
		.base = t->base,
		.dir = s->dir,
		.self = s->self,
		.log = s->log,
		.root_key = s->root_key,
		.root_soa = ".\t86400\tIN\tSOA\ta.root-servers.test. hostmaster.root.test. 1 1800 "
			    "900 604800 86400",
		.zones = cz,
		.nzones = s->nzones,
		.lat = lat,
		.resolver_idx = 0,
		.first_server_idx = (uint32_t)t->n,
	};
	tb_progress(t, true, "conventional: signing the hierarchy (dnssec-signzone), starting "
			     "NSD and Unbound");
	s->conv = tb_conv_start(&cfg, err, sizeof(err));
	if (!s->conv) {
		tb_say("--conventional: %s", err);
		e = -EIO;
	} else {
		tb_conv_set_upstream_cb(s->conv, tb_load_upstream, t);
		/* Beside the nodes' PIDs, for whoever cleans up after a crash. */
		long pids[4];
		size_t np = tb_conv_pids(s->conv, pids, 4);
		char *pf = tb_path_join(s->dir, "pids");
		FILE *f = pf ? fopen(pf, "a") : NULL;
		for (size_t i = 0; f && i < np; i++)
			fprintf(f, "%ld\n", pids[i]);
		if (f)
			fclose(f);
		free(pf);
		tb_say("conventional: %zu zones on NSD behind relays on 127.0.53-55.x:53%s, "
		       "validating Unbound on 127.0.52.1:%u",
		       tb_conv_zones(s->conv), lat ? " (matrix delays)" : "",
		       tb_conv_resolver(s->conv)->port);
	}
	tb_latency_free(lat); /* the relays keep only their delays */
	free(cz);
	return e;
}

int ddns_cmd_testbed(int argc, char **argv)
{
	struct opts o;
	struct setup s;
	struct tb t;
	struct rtt_row rtt[16];
	size_t nrtt = 0;
	int rc = 1, e;
	bool check_ok = false, have_load = false;
	t_start_us = tb_now_us();
	memset(&o, 0, sizeof(o));
	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	int pr = parse_opts(argc, argv, &o);
	if (pr != 0) {
		free(o.zones);
		return pr > 0 ? 0 : 2;
	}
	s.o = &o;
	t.stop = &stop_flag;
	t.tty = isatty(2);
	t.n = o.nodes;
	ddns_rng_seed(&t.rng, o.seed);
	srand((unsigned)(getpid() ^ time(NULL)));

	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* --duration bounds the whole run, set-up included: SIGALRM stops it
	 * like a signal from the user would. */
	sigaction(SIGALRM, &sa, NULL);
	if (o.duration > 0) {
		struct itimerval it = {.it_value = {(time_t)o.duration,
						   (suseconds_t)((o.duration - (time_t)o.duration) * 1e6)}};
		setitimer(ITIMER_REAL, &it, NULL);
	}
	signal(SIGPIPE, SIG_IGN);

	if (o.netns) {
		char why[200];
		if (!netns_possible(why, sizeof(why)))
			tb_say("--netns: this machine does not allow network namespaces (%s); the "
			    "nodes run on loopback addresses in one namespace instead",
			    why);
		else if (!tb_on_path("ip"))
			tb_say("--netns: the 'ip' tool (iproute2) is missing; the nodes run on "
			    "loopback addresses in one namespace instead");
		else
			s.netns = true;
	}

	/* Paths and the work directory. */
	s.self = self_path();
	if (o.ddnsd)
		s.ddnsd = strdup(o.ddnsd);
	else if (s.self) {
		char *slash = strrchr(s.self, '/');
		size_t l = slash ? (size_t)(slash - s.self) : 0;
		s.ddnsd = malloc(l + 8);
		if (s.ddnsd)
			sprintf(s.ddnsd, "%.*s/ddnsd", (int)l, s.self);
	}
	if (!s.self || !s.ddnsd || access(s.ddnsd, X_OK) != 0) {
		tb_say("cannot find ddnsd (%s); build it or pass --ddnsd PATH",
		    s.ddnsd ? s.ddnsd : "?");
		goto out;
	}
	if (o.workdir) {
		if (mkdir(o.workdir, 0755) != 0 && errno != EEXIST) {
			tb_say("--workdir %s: %s", o.workdir, strerror(errno));
			goto out;
		}
		s.dir = realpath(o.workdir, NULL);
	} else {
		const char *tmp = getenv("TMPDIR");
		char tpl[PATH_MAX];
		snprintf(tpl, sizeof(tpl), "%s/ddns-testbed.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (mkdtemp(tpl)) {
			s.dir = strdup(tpl);
			s.made_dir = true;
		}
	}
	if (!s.dir) {
		tb_say("cannot make a work directory: %s", strerror(errno));
		goto out;
	}
	s.log = tb_path_join(s.dir, "testbed.log");
	s.anchors = tb_path_join(s.dir, "anchors.conf");
	if (!s.log || !s.anchors)
		goto out;
	tb_say("work directory %s", s.dir);

	/* Gateway address. */
	if (o.dns) {
		if (tr_addr_parse(o.dns, 53, &s.gw) != 0 || s.gw.family != TR_AF_INET) {
			tb_say("--dns %s: need an IPv4 ADDR:PORT", o.dns);
			goto out;
		}
	} else {
		uint16_t gp = 0;
		if (pick_gw_port(&gp) != 0)
			goto out;
		/* With --netns the gateway lives in node 0's namespace. */
		s.gw = s.netns ? node_addr(&s, 0, gp) : tr_addr_v4(0x7f000001u, gp);
	}
	char ab[TR_ADDRSTRLEN];
	snprintf(s.gw_s, sizeof(s.gw_s), "%s", tr_addr_str(&s.gw, ab));

	if ((e = keys_and_zones(&s)) != 0)
		goto out;

	/* Nodes. */
	t.nodes = calloc(t.n, sizeof(*t.nodes));
	t.base = event_base_new();
	if (s.netns) {
		t.netns_s = &s;
		if ((e = netns_up(&s, t.n)) != 0) {
			tb_say("--netns: cannot build the namespaces and the bridge (%s); see %s",
			    ddns_strerror(e), s.log);
			goto out;
		}
		tb_say("--netns: %zu namespaces %s-0.. on bridge %s (198.18.0.1/16)", t.n, s.nsbase,
		    s.nsbase);
	}
	struct tr_addr local = s.netns ? tr_addr_v4(0x0afa0001u, 0) : tr_addr_v4(0x7f000001u, 0);
	t.tr = t.base ? udp_tr_new(t.base, &local, NULL, &e) : NULL;
	t.rpc = t.tr ? rpc_new(t.tr, NULL) : NULL;
	if (!t.nodes || !t.rpc) {
		tb_say("cannot set up the client endpoint");
		goto out;
	}
	if ((e = pick_port(s.netns ? 0 : t.n, &s.port)) != 0) {
		tb_say("no UDP port free on every node address: %s", strerror(-e));
		goto out;
	}
	plan_nodes(&t, &o);
	for (size_t k = 0; k < t.n; k++) {
		t.nodes[k].addr = node_addr(&s, k, s.port);
		tr_addr_str(&t.nodes[k].addr, t.nodes[k].addr_s);
	}
	{
		size_t cnt[3] = {0};
		for (size_t k = 0; k < t.n; k++)
			cnt[t.nodes[k].ovl_mask == OVL_BIT(RPC_OVL_CHORD)   ? 0
			    : t.nodes[k].ovl_mask == OVL_BIT(RPC_OVL_KAD16) ? 1
									     : 2]++;
		tb_say("%zu nodes on port %u: %zu chord only, %zu kad16 only, %zu running %s", t.n,
		    s.port, cnt[0], cnt[1], cnt[2],
		    o.ovl_mask == OVL_MASK_ALL ? "both"
					       : ovl_wire_name(o.ovl_mask == OVL_BIT(RPC_OVL_CHORD) ? RPC_OVL_CHORD
												    : RPC_OVL_KAD16));
	}
	if (start_all(&t, &s) != 0)
		goto out;
	if (wait_stable(&t, &s, o.replicas, 60 + t.n) != 0)
		goto out;
	if ((e = publish(&s, &t)) != 0)
		goto out;
	tb_progress(&t, true, "publish: %zu zone%s and the root published", s.nzones,
		    s.nzones == 1 ? "" : "s");

	bool ad = false;
	unsigned an = 0;
	e = gateway_check(&s, &ad, &an);
	check_ok = e == 0;
	if (check_ok)
		tb_say("gateway %s answers %s %s: NOERROR, %u answer%s%s", s.gw_s, s.check_name,
		    s.check_type, an, an == 1 ? "" : "s", ad ? ", AD" : "");
	else
		tb_say("gateway %s did not answer %s %s (%s)", s.gw_s, s.check_name, s.check_type,
		    ddns_strerror(e));
	char host[64];
	snprintf(host, sizeof(host), "%s", s.gw_s);
	char *colon = strrchr(host, ':');
	if (colon)
		*colon = 0;
	FILE *cmds = o.json ? stderr : stdout;
	fprintf(cmds, "\nThe testbed is up (%zu nodes, gateway on %s). Try:\n", t.n, s.gw_s);
	fprintf(cmds, "  dig @%s -p %u %s %s +dnssec\n", host, s.gw.port, s.check_name,
		s.check_type);
	fprintf(cmds, "  delv @%s -p %u -a %s +root=. %s %s\n", host, s.gw.port, s.anchors,
		s.check_name, s.check_type);
	fprintf(cmds, "  dig @%s -p %u stats.ddns CH TXT\n\n", host, s.gw.port);
	fflush(cmds);
	if (!check_ok)
		goto out;
	if (o.once && tb_on_path("dig")) {
		/* The real thing, for the eyes: dig against the gateway. */
		char port[16];
		snprintf(port, sizeof(port), "%u", s.gw.port);
		char at[80];
		snprintf(at, sizeof(at), "@%s", host);
		char *dargv[] = {"dig", at, "-p", port, s.check_name, s.check_type, "+dnssec",
				 "+time=5", "+tries=2", "+nocmd", "+nostats", NULL};
		fprintf(cmds, "$ dig %s -p %s %s %s +dnssec\n", at, port, s.check_name,
			s.check_type);
		fflush(cmds);
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		if (o.json)
			posix_spawn_file_actions_adddup2(&fa, 2, 1);
		pid_t dpid;
		if (posix_spawnp(&dpid, "dig", &fa, NULL, dargv, environ) == 0 &&
		    tb_wait_child(dpid) != 0)
			tb_say("dig failed");
		posix_spawn_file_actions_destroy(&fa);
	}

	uint64_t end_us = o.duration > 0 ? tb_now_us() + (uint64_t)(o.duration * 1e6) : UINT64_MAX;
	if (o.latency_matrix) {
		if ((e = rtt_check(&t, &o, rtt, &nrtt)) != 0)
			goto out;
		FILE *f = o.json ? stderr : stdout;
		fprintf(f, "RTT check (probe placed as node %zu; expected = sum of the matrix "
			   "one-way delays):\n",
			t.n);
		for (size_t i = 0; i < nrtt; i++)
			fprintf(f, "  node %-3u %-18s expected %8.2f ms  measured %8.2f ms  (%+.1f%%)\n",
				rtt[i].node, t.nodes[rtt[i].node].addr_s, rtt[i].expected_ms,
				rtt[i].measured_ms,
				rtt[i].expected_ms > 0
					? 100.0 * (rtt[i].measured_ms - rtt[i].expected_ms) / rtt[i].expected_ms
					: 0.0);
	}
	if (o.break_ds && (e = break_ds(&t, &s)) != 0)
		goto out;
	if (o.conventional && (e = conventional_up(&t, &s)) != 0)
		goto out;
	if (s.broken)
		broken_check(&s);
	if (o.workload) {
		if ((e = load_queries(&t, &s, &o)) != 0)
			goto out;
		t.load.concurrency = o.concurrency;
		t.load.kinds = 0;
		if (o.via & 1)
			for (int ov = RPC_OVL_CHORD; ov <= RPC_OVL_KAD16; ov++)
				if (o.ovl_mask & OVL_BIT(ov))
					t.load.kinds |= OVL_BIT(ov);
		if (o.via & 2)
			t.load.kinds |= 1u << TB_KIND_GW;
		if (s.conv)
			t.load.kinds |= 1u << TB_KIND_CONV;
		tb_say("workload %s: %zu queries, %u in flight, via %s%s", o.workload, t.load.nq,
		       t.load.concurrency,
		       o.via == 1 ? "nodes" : o.via == 2 ? "gateway" : "nodes and gateway",
		       s.conv ? ", and the conventional resolver" : "");
		const struct tr_addr *cv = s.conv ? tb_conv_resolver(s.conv) : NULL;
		e = tb_load_run(&t, &s.gw, cv, end_us);
		if (e && !stop_flag && tb_now_us() < end_us)
			goto out;
		if (s.conv && !e) {
			/* The same workload again: warm caches on both sides. */
			s.conv_upstream[0] = tb_conv_upstream(s.conv);
			t.load.kinds = 1u << TB_KIND_CONV_WARM;
			if (o.via & 2)
				t.load.kinds |= 1u << TB_KIND_GW_WARM;
			tb_say("workload, second pass (warm caches): gateway and conventional");
			e = tb_load_run(&t, &s.gw, cv, end_us);
			s.conv_upstream[1] = tb_conv_upstream(s.conv) - s.conv_upstream[0];
			if (e && !stop_flag && tb_now_us() < end_us)
				goto out;
		}
		have_load = true;
		print_table(o.json ? stderr : stdout, &t);
		if (o.csv && (e = write_csv(o.csv, &t)) != 0)
			tb_say("--csv %s: %s", o.csv, strerror(-e));
		if (o.plot && (e = plot(o.plot, &t, s.log)) != 0)
			tb_say("--plot %s: %s", o.plot, strerror(-e));
	}
	if (o.json)
		print_json(stdout, &t, &s, have_load, check_ok, rtt, nrtt);
	fflush(stdout);
	if (!o.workload && !o.once && !stop_flag) {
		tb_say("serving; Ctrl-C or SIGTERM stops every node%s", o.duration > 0 ? " (or --duration)" : "");
		while (!stop_flag && tb_now_us() < end_us) {
			if (node_died(&t, &s))
				tb_say("a node exited; the testbed keeps serving with the others");
			struct timespec ts = {0, 200000000};
			nanosleep(&ts, NULL);
		}
	}
	rc = 0;
	if (have_load)
		for (int k = 1; k < TB_KINDS; k++)
			if ((t.load.kinds_all & (1u << k)) && t.load.row[k].answered == 0)
				rc = 1;
out:
	if (stop_flag) {
		if (stop_flag == SIGALRM)
			tb_say("--duration %g s reached: stopping", o.duration);
		else
			tb_say("signal %d: stopping", (int)stop_flag);
		/* Serving ends with a signal (rc already 0), and a workload cut
		 * short by --duration has been reported; anything else failed. */
		if ((o.workload || o.once) && !(stop_flag == SIGALRM && have_load))
			rc = 1;
	}
	if (s.conv) {
		tb_conv_stop(s.conv);
		s.conv = NULL;
		tb_say("stopped the conventional stack (NSD, Unbound)");
	}
	if (t.nodes) {
		stop_nodes(&t);
		tb_say("stopped %zu node process%s", t.n, t.n == 1 ? "" : "es");
	}
	netns_down(&s);
	rpc_free(t.rpc);
	tb_load_free(&t.load);
	if (t.tr)
		tr_free(t.tr);
	if (t.base)
		event_base_free(t.base);
	if (s.dir && s.made_dir && !o.keep && rc == 0)
		rm_rf(s.dir);
	else if (s.dir && s.made_dir)
		tb_say("work directory kept: %s", s.dir);
	for (size_t i = 0; i < s.nzones; i++) {
		free(s.zones[i].name);
		free(s.zones[i].file);
		free(s.zones[i].key);
		free(s.zones[i].ds);
	}
	free(s.zones);
	wl_names_free(&s.names);
	free(s.root_key);
	free(s.decoy_key);
	free(s.anchors);
	free(s.log);
	free(s.dir);
	free(s.self);
	free(s.ddnsd);
	free(t.nodes);
	free(o.zones);
	return rc;
}
