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
 *
 * This file holds the options, the steps in order (ddns_cmd_testbed) and
 * the checks; the steps live by what they do: cli/testbed_zones.c (zones,
 * keys, publishing), cli/testbed_nodes.c (processes and nodes),
 * cli/testbed_load.c (the workload), cli/testbed_report.c (the table, CSV,
 * JSON and plots) and cli/testbed_conv.c (--conventional).
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
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
#include "cli/cmdopt.h"
#include "cli/testbed.h"
#include "cli/testbed_conv.h"
#include "cli/testbed_latency.h"
#include "cli/workload.h"
#include "dns/rdata.h"
#include "common/buf.h"
#include "common/err.h"
#include "overlay/overlay.h"
#include "overlay/udp.h"

extern char **environ;


static void on_signal(int sig) { tb_stop_flag = sig; }

/* When the command started: progress lines carry the elapsed time. */

/* A row of the comparison: an overlay by its wire id, or the gateway. */


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
		"                        --conventional, the resolver answer for its SOA\n"
		"                        (SERVFAIL on both: the gateway checks each block's\n"
		"                        DS links against the DHT's DS blocks)\n"
		"  --replicas R          ddnsd --replicas (default: ddnsd's)\n"
		"  --seed S              overlay mix, bootstraps and workload (default 1)\n"
		"  --ddnsd PATH          the daemon (default: beside this program)\n",
		TB_MAX_NODES);
}

/* --- small helpers --- */

/* --- the gateway check: one query, like dig +dnssec --- */

/* One query to a DNS server, like dig +dnssec (RD, EDNS0 with DO): the
 * answer's rcode, AD bit and answer count. 0, or -errno / -ETIMEDOUT when
 * nothing came back in `tries` tries 2 s apart. */
static int dns_ask(const struct tr_addr *to, const char *name, const char *type, int tries,
		   unsigned *rcode, bool *ad, unsigned *ancount)
{
	struct tb_query q;
	if (tb_name_wire(name, q.wire, &q.wire_len) != 0 ||
	    dns_type_from_text(type, strlen(type), &q.type) != 0)
		return -EINVAL;
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
	for (int attempt = 0; attempt < tries && e && !tb_stop_flag; attempt++) {
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
	/* The file's queries, in order, repeated until Q are drawn. */
	struct wl_queries file;
	size_t line = 0;
	int e = wl_queries_load(o->workload, &file, &line);
	if (e == DDNS_EMALFORMED && line)
		tb_say("%s:%zu: bad query line", o->workload, line);
	else if (e == DDNS_EMALFORMED)
		tb_say("--workload %s: no queries in the file", o->workload);
	else if (e)
		tb_say("--workload %s: %s", o->workload, ddns_strerror(e));
	for (size_t i = 0; !e && i < q; i++) {
		if (i >= file.n) {
			l->q[i] = l->q[i % file.n];
			continue;
		}
		l->q[i].type = file.q[i].type;
		if (tb_name_wire(file.q[i].name, l->q[i].wire, &l->q[i].wire_len) != 0) {
			tb_say("%s: bad name '%s'", o->workload, file.q[i].name);
			e = -EINVAL;
		}
	}
	wl_queries_free(&file);
	l->nq = e ? 0 : q;
	return e;
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

static int opt_overlay(const char *cmd, const char *arg, void *dst)
{
	uint8_t wire;
	if (cmd_opt_overlay(cmd, arg, &wire))
		return 2;
	*(unsigned *)dst |= OVL_BIT(wire);
	return 0;
}

static int opt_mix(const char *cmd, const char *arg, void *dst)
{
	int e = parse_mix(arg, dst);
	if (e)
		fprintf(stderr, "ddns %s: --mix %s: %s (e.g. chord=40%%,kad16=40%%,both=20%%)\n", cmd,
			arg, e == -ERANGE ? "shares must add up to 100%" : "bad share");
	return e ? 2 : 0;
}

static int opt_zone(const char *cmd, const char *arg, void *dst)
{
	struct opts *o = dst;
	const char **z = realloc(o->zones, (o->nzones + 1) * sizeof(*z));
	if (!z) {
		fprintf(stderr, "ddns %s: out of memory\n", cmd);
		return 2;
	}
	o->zones = z;
	o->zones[o->nzones++] = arg;
	return 0;
}

static int opt_via(const char *cmd, const char *arg, void *dst)
{
	unsigned v = strcmp(arg, "nodes") == 0 ? 1 : strcmp(arg, "gateway") == 0 ? 2
						  : strcmp(arg, "both") == 0	    ? 3
										    : 0;
	if (!v) {
		fprintf(stderr, "ddns %s: --via nodes, gateway or both\n", cmd);
		return 2;
	}
	*(unsigned *)dst = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	const struct cmd_opt opts[] = {
		CMD_RANGE_K("nodes", CMD_UINT, &o->nodes, 1, TB_MAX_NODES),
		CMD_CALL_O("overlay", opt_overlay, &o->ovl_mask),
		CMD_CALL_O("mix", opt_mix, o),
		CMD_O("dns", 0, CMD_STR, &o->dns),
		CMD_CALL_O("zone", opt_zone, o),
		CMD_O("names", 0, CMD_STR, &o->names),
		CMD_RANGE_K("records", CMD_UINT, &o->records, 1, 100000),
		CMD_O("workdir", 0, CMD_STR, &o->workdir),
		CMD_FLAG("keep", 0, CMD_BOOL, &o->keep, 1),
		CMD_O("workload", 0, CMD_STR, &o->workload),
		CMD_RANGE_K("queries", CMD_ULONG, &o->queries, 1, 10000000),
		CMD_RANGE_K("concurrency", CMD_UINT, &o->concurrency, 1, 1024),
		CMD_CALL_O("via", opt_via, &o->via),
		CMD_O("csv", 0, CMD_STR, &o->csv),
		CMD_FLAG("json", 0, CMD_BOOL, &o->json, 1),
		CMD_O("plot", 0, CMD_STR, &o->plot),
		CMD_RANGE_K("duration", CMD_SECONDS, &o->duration, 0, 10000000),
		CMD_FLAG("once", 0, CMD_BOOL, &o->once, 1),
		CMD_O("latency-matrix", 0, CMD_STR, &o->latency_matrix),
		CMD_O("latency-seed", 0, CMD_U64, &o->latency_seed),
		CMD_FLAG("netns", 0, CMD_BOOL, &o->netns, 1),
		CMD_FLAG("conventional", 0, CMD_BOOL, &o->conventional, 1),
		CMD_O("break-ds", 0, CMD_STR, &o->break_ds),
		CMD_RANGE_K("replicas", CMD_UINT, &o->replicas, 1, 16),
		CMD_O("seed", 0, CMD_U64, &o->seed),
		CMD_O("ddnsd", 0, CMD_STR, &o->ddnsd),
	};
	o->records = 200;
	o->concurrency = 16;
	o->via = 3;
	o->latency_seed = 1;
	o->seed = 1;
	int r = cmd_parse("testbed", argc, argv, opts, sizeof(opts) / sizeof(*opts), usage);
	if (r)
		return r == 1 ? 1 : -1;
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
	tb_start_us = tb_now_us();
	memset(&o, 0, sizeof(o));
	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	int pr = parse_opts(argc, argv, &o);
	if (pr != 0) {
		free(o.zones);
		return pr > 0 ? 0 : 2;
	}
	s.o = &o;
	t.stop = &tb_stop_flag;
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
		if (tb_pick_gw_port(&gp) != 0)
			goto out;
		/* With --netns the gateway lives in node 0's namespace. */
		s.gw = s.netns ? tb_node_addr(&s, 0, gp) : tr_addr_v4(0x7f000001u, gp);
	}
	char ab[TR_ADDRSTRLEN];
	snprintf(s.gw_s, sizeof(s.gw_s), "%s", tr_addr_str(&s.gw, ab));

	if ((e = tb_keys_and_zones(&s)) != 0)
		goto out;

	/* Nodes. */
	t.nodes = calloc(t.n, sizeof(*t.nodes));
	t.base = event_base_new();
	if (s.netns) {
		t.netns_s = &s;
		if ((e = tb_netns_up(&s, t.n)) != 0) {
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
	if ((e = tb_pick_port(s.netns ? 0 : t.n, &s.port)) != 0) {
		tb_say("no UDP port free on every node address: %s", strerror(-e));
		goto out;
	}
	tb_plan_nodes(&t, &o);
	for (size_t k = 0; k < t.n; k++) {
		t.nodes[k].addr = tb_node_addr(&s, k, s.port);
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
	if (tb_start_all(&t, &s) != 0)
		goto out;
	if (tb_wait_stable(&t, &s, o.replicas, 60 + t.n) != 0)
		goto out;
	if ((e = tb_publish(&s, &t)) != 0)
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
		if ((e = tb_rtt_check(&t, &o, rtt, &nrtt)) != 0)
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
	if (o.break_ds && (e = tb_break_ds(&t, &s)) != 0)
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
		if (e && !tb_stop_flag && tb_now_us() < end_us)
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
			if (e && !tb_stop_flag && tb_now_us() < end_us)
				goto out;
		}
		have_load = true;
		tb_print_table(o.json ? stderr : stdout, &t);
		if (o.csv && (e = tb_write_csv(o.csv, &t)) != 0)
			tb_say("--csv %s: %s", o.csv, strerror(-e));
		if (o.plot && (e = tb_plot(o.plot, &t, s.log)) != 0)
			tb_say("--plot %s: %s", o.plot, strerror(-e));
	}
	if (o.json)
		tb_print_json(stdout, &t, &s, have_load, check_ok, rtt, nrtt);
	fflush(stdout);
	if (!o.workload && !o.once && !tb_stop_flag) {
		tb_say("serving; Ctrl-C or SIGTERM stops every node%s", o.duration > 0 ? " (or --duration)" : "");
		while (!tb_stop_flag && tb_now_us() < end_us) {
			if (tb_node_died(&t, &s))
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
	if (tb_stop_flag) {
		if (tb_stop_flag == SIGALRM)
			tb_say("--duration %g s reached: stopping", o.duration);
		else
			tb_say("signal %d: stopping", (int)tb_stop_flag);
		/* Serving ends with a signal (rc already 0), and a workload cut
		 * short by --duration has been reported; anything else failed. */
		if ((o.workload || o.once) && !(tb_stop_flag == SIGALRM && have_load))
			rc = 1;
	}
	if (s.conv) {
		tb_conv_stop(s.conv);
		s.conv = NULL;
		tb_say("stopped the conventional stack (NSD, Unbound)");
	}
	if (t.nodes) {
		tb_stop_nodes(&t);
		tb_say("stopped %zu node process%s", t.n, t.n == 1 ? "" : "es");
	}
	tb_netns_down(&s);
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
