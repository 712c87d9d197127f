/*
 * ddnsd - the DDNS node daemon: one UDP endpoint running one or more
 * overlays (kad16, chord) with a DHT each, an optional DNS gateway and an
 * optional Prometheus endpoint. See docs/ddnsd.8.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/node.h"
#include "cli/testbed_latency.h"
#include "common/log.h"
#include "config.h"
#include "overlay/udp.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ddnsd --listen ADDR:PORT [--overlay kad16|chord ...] [--join ADDR:PORT ...]\n"
		"             [--dns ADDR:PORT] [--trust-anchor FILE] [--data-dir DIR]\n"
		"             [--replicas N] [--vnodes N] [--gateway-mode default|compare]\n"
		"             [--servfail-ttl SECONDS] [--rate-limit QPS] [--rpc-rate-limit N]\n"
		"             [--store-rate-limit N] [--amp-factor F]\n"
		"             [--max-store SIZE] [--zone-quota SIZE] [--zone-quota-net SIZE]\n"
		"             [--commit-delay MS]\n"
		"             [--metrics ADDR:PORT] [--config FILE] [--log-level LEVEL]\n"
		"             [--log-file FILE] [--pid-file FILE]\n"
		"             [--latency-matrix FILE [--latency-host I] [--latency-seed S]]\n"
		"\n"
		"Runs one DDNS node: a UDP endpoint on the overlays given, a DHT on each,\n"
		"optionally a DNS gateway answering from the DHT.\n"
		"\n"
		"  --listen ADDR:PORT      UDP address of the node (required; a specific\n"
		"                          address, not a wildcard: peers derive the node\n"
		"                          id from it). Clients (ddns publish/lookup/status)\n"
		"                          talk to this address too.\n"
		"  --overlay NAME          kad16 or chord; repeat to run both on the same\n"
		"                          port (default: kad16). A put goes into each.\n"
		"  --join ADDR:PORT        bootstrap through this node (omit for the first\n"
		"                          node of a new network); repeat, up to 8 peers:\n"
		"                          the node joins through the first that answers\n"
		"                          and already knows another node, else through the\n"
		"                          ring's founder, else any that answered\n"
		"  --dns ADDR:PORT         run the DNS gateway there, UDP and TCP\n"
		"                          (default: no gateway)\n"
		"  --trust-anchor FILE     DS or DNSKEY records in master-file syntax (the\n"
		"                          .key file of 'ddns keygen' works as is); without\n"
		"                          it the node refuses every block\n"
		"  --data-dir DIR          keep stored blocks in LMDB under DIR, one store\n"
		"                          per overlay instance (DIR/kad16-0, ...); without\n"
		"                          it blocks live in memory only\n"
		"  --replicas N            copies of each block, 1..16 (default 6)\n"
		"  --zone-quota SIZE       bytes one zone may store on this node, its blocks\n"
		"                          and copies alike (default: no bound)\n"
		"  --zone-quota-net SIZE   bytes of distinct blocks one zone may keep in the\n"
		"                          whole DHT: this node stores its share, 2 x SIZE x\n"
		"                          replicas / its estimate of the ring's size\n"
		"                          (default: no bound)\n"
		"  --max-store SIZE        bound on the block bytes each overlay instance\n"
		"                          stores (suffix K, M, G; at least 64K): past it a\n"
		"                          put or replica copy is refused 'store full' and\n"
		"                          nothing stored changes (default: no bound but\n"
		"                          the store's 1 GiB map, which refuses the same way)\n"
		"  --commit-delay MS       with --data-dir: a stored copy is acknowledged\n"
		"                          once durable, and the commit (one fsync) waits\n"
		"                          up to MS ms for more copies to share it, 0..1000\n"
		"                          (default 5; 0: commit after each event-loop turn)\n"
		"  --vnodes N              virtual nodes per overlay, 1..16 (default 1)\n"
		"  --gateway-mode MODE     default: look up through kad16 (or the only\n"
		"                          overlay); compare: through every overlay, all\n"
		"                          counted in the statistics\n"
		"  --servfail-ttl S        gateway: answer a name whose lookup failed (bogus,\n"
		"                          unreachable) SERVFAIL from a cache for S seconds,\n"
		"                          0..3600 (default 30; 0: never cache)\n"
		"  --rate-limit QPS        gateway: answer at most QPS UDP queries per second\n"
		"                          per source address (IPv6: per /64) and drop the\n"
		"                          rest, so a spoofed source cannot turn the gateway\n"
		"                          on a victim; TCP is not limited (default 0: off)\n"
		"  --rpc-rate-limit N      node: accept at most N new requests per second\n"
		"                          from one peer address (any port), a burst of N;\n"
		"                          the rest are dropped, a retransmission of an\n"
		"                          answered one still answered (default 0: off)\n"
		"  --store-rate-limit N    node: store at most N copies per second from one\n"
		"                          peer address (puts, replicas, cached copies), a\n"
		"                          burst of 10 N; the rest refused before they are\n"
		"                          validated (default 0: off)\n"
		"  --amp-factor F          gateway: a UDP answer is at most F times its\n"
		"                          query's size (or the query plus 64 octets);\n"
		"                          a larger one is truncated (TC) and complete over\n"
		"                          TCP, 2..100 (default 0: only the EDNS size)\n"
		"  --metrics ADDR:PORT     serve Prometheus text at http://ADDR:PORT/metrics\n"
		"  --config FILE           read options from FILE: 'name value' lines with\n"
		"                          the long option names, '#' comments; the command\n"
		"                          line overrides the file\n"
		"  --log-level LEVEL       error, warn, info (default) or debug\n"
		"  --log-file FILE         append log lines to FILE (reopened on SIGHUP)\n"
		"                          instead of standard error\n"
		"  --pid-file FILE         write the process id to FILE (removed at exit)\n"
		"  --test-forge            FOR TESTS ONLY: serve altered copies of blocks in\n"
		"                          answer to lookups, to show that readers reject\n"
		"                          them and fall back to honest replicas\n"
		"  --latency-matrix FILE   FOR TESTBEDS: hold every outgoing datagram for the\n"
		"                          one-way delay of an RTT matrix (ms, e.g.\n"
		"                          PlanetLabData_1) between this node and the peer;\n"
		"                          a peer's place comes from its address (127.0.0.2\n"
		"                          is node 0, 127.0.0.3 node 1, ...; docs/TESTBED.md)\n"
		"  --latency-host I        this node's index (default: from --listen)\n"
		"  --latency-seed S        placement of node indices on matrix hosts (default 1)\n"
		"  -h, --help              this text\n"
		"  --version               print the version\n"
		"\n"
		"Signals: SIGTERM and SIGINT leave the rings, flush the stores and exit 0;\n"
		"SIGHUP reopens the log file.\n");
}

static const struct option long_opts[] = {
	{"listen", required_argument, NULL, 0},
	{"overlay", required_argument, NULL, 0},
	{"join", required_argument, NULL, 0},
	{"dns", required_argument, NULL, 0},
	{"trust-anchor", required_argument, NULL, 0},
	{"data-dir", required_argument, NULL, 0},
	{"replicas", required_argument, NULL, 0},
	{"vnodes", required_argument, NULL, 0},
	{"gateway-mode", required_argument, NULL, 0},
	{"servfail-ttl", required_argument, NULL, 0},
	{"rate-limit", required_argument, NULL, 0},
	{"rpc-rate-limit", required_argument, NULL, 0},
	{"store-rate-limit", required_argument, NULL, 0},
	{"amp-factor", required_argument, NULL, 0},
	{"max-store", required_argument, NULL, 0},
	{"commit-delay", required_argument, NULL, 0},
	{"zone-quota", required_argument, NULL, 0},
	{"zone-quota-net", required_argument, NULL, 0},
	{"metrics", required_argument, NULL, 0},
	{"config", required_argument, NULL, 0},
	{"log-level", required_argument, NULL, 0},
	{"log-file", required_argument, NULL, 0},
	{"pid-file", required_argument, NULL, 0},
	{"test-forge", no_argument, NULL, 0},
	{"latency-matrix", required_argument, NULL, 0},
	{"latency-host", required_argument, NULL, 0},
	{"latency-seed", required_argument, NULL, 0},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0}};

struct daemon_state {
	struct event_base *base;
	struct node *node;
	int exit_code;
};

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_state *s = arg;
	log_info("signal %d: leaving the ring%s and shutting down", (int)sig, "s");
	node_leave(s->node);
	event_base_loopexit(s->base, NULL);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	int e = ddns_log_reopen();
	if (e)
		log_err("SIGHUP: cannot reopen the log file: %s", strerror(-e));
	else
		log_info("SIGHUP: log file reopened");
}

static int write_pid(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	int rc = write(fd, buf, (size_t)len) == len ? 0 : -EIO;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

int main(int argc, char **argv)
{
	struct node_config cfg;
	struct daemon_state st = {.exit_code = 1};
	struct event *sig_term = NULL, *sig_int = NULL, *sig_hup = NULL;
	char err[1024];
	const char *config = NULL;
	bool pid_written = false;
	/* Emulated delays (testbed): handled here, not in the node config. */
	const char *lat_matrix = NULL;
	long lat_host = -1;
	unsigned long long lat_seed = 1;
	struct tb_latency *lat = NULL;
	int c, idx;

	node_config_init(&cfg);
	/* Pass 1: --help, --version, --config (the file comes first so the
	 * command line overrides it). */
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", long_opts, &idx)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == 'V') {
			printf("ddnsd %s\n", PACKAGE_VERSION);
			return 0;
		}
		if (c == 0 && strcmp(long_opts[idx].name, "config") == 0)
			config = optarg;
	}
	if (config && node_config_load(&cfg, config, err, sizeof(err)) != 0) {
		fprintf(stderr, "ddnsd: %s\n", err);
		goto out;
	}
	/* Pass 2: every option, in order. */
	opterr = 0;
	optind = 1;
	cfg.overlays_from_args = true;
	cfg.joins_from_args = true;
	while ((c = getopt_long(argc, argv, ":h", long_opts, &idx)) != -1) {
		if (c == '?') {
			if (optopt)
				fprintf(stderr, "ddnsd: unknown option '-%c' (try --help)\n", optopt);
			else
				fprintf(stderr, "ddnsd: unknown option '%s' (try --help)\n",
					argv[optind - 1]);
			st.exit_code = 2;
			goto out;
		}
		if (c == ':') {
			fprintf(stderr, "ddnsd: option '%s' needs a value\n", argv[optind - 1]);
			st.exit_code = 2;
			goto out;
		}
		if (c != 0 || strcmp(long_opts[idx].name, "config") == 0)
			continue;
		if (strncmp(long_opts[idx].name, "latency-", 8) == 0) {
			char *end;
			const char *nm = long_opts[idx].name + 8;
			if (strcmp(nm, "matrix") == 0) {
				lat_matrix = optarg;
				continue;
			}
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (!*optarg || *end || errno || optarg[0] == '-' ||
			    (strcmp(nm, "host") == 0 && v > 0xffffff)) {
				fprintf(stderr, "ddnsd: --%s needs a non-negative number\n",
					long_opts[idx].name);
				st.exit_code = 2;
				goto out;
			}
			if (strcmp(nm, "host") == 0)
				lat_host = (long)v;
			else
				lat_seed = v;
			continue;
		}
		if (node_config_set(&cfg, long_opts[idx].name, optarg, err, sizeof(err)) != 0) {
			fprintf(stderr, "ddnsd: %s\n", err);
			st.exit_code = 2;
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ddnsd: unexpected argument '%s' (try --help)\n", argv[optind]);
		st.exit_code = 2;
		goto out;
	}
	if (node_config_check(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "ddnsd: %s (try --help)\n", err);
		st.exit_code = 2;
		goto out;
	}

	ddns_log_set_level(cfg.log_level);
	if (cfg.log_file) {
		int e = ddns_log_set_file(cfg.log_file);
		if (e) {
			fprintf(stderr, "ddnsd: --log-file %s: %s\n", cfg.log_file, strerror(-e));
			goto out;
		}
	}
	if (lat_matrix) {
		if (lat_host < 0) {
			struct tr_addr la;
			if (tr_addr_parse(cfg.listen, 0, &la) == 0)
				lat_host = tb_latency_index_of(&la);
		}
		if (lat_host < 0) {
			fprintf(stderr, "ddnsd: --latency-matrix: give --latency-host (the listen "
					"address is not a testbed address)\n");
			st.exit_code = 2;
			goto out;
		}
		lat = tb_latency_new(lat_matrix, lat_seed, (uint32_t)lat_host, err, sizeof(err));
		if (!lat) {
			fprintf(stderr, "ddnsd: %s\n", err);
			st.exit_code = 2;
			goto out;
		}
		/* The node's endpoint delays from its first datagram on. */
		cfg.delay = tb_latency_delay;
		cfg.delay_arg = lat;
		log_info("latency matrix %s: this node is index %ld on matrix host %zu (seed %llu)",
			 lat_matrix, lat_host, tb_latency_host_of(lat, (uint32_t)lat_host), lat_seed);
	}
	signal(SIGPIPE, SIG_IGN);
	st.base = event_base_new();
	if (!st.base) {
		fprintf(stderr, "ddnsd: cannot create the event loop\n");
		goto out;
	}
	st.node = node_new(st.base, &cfg, err, sizeof(err));
	if (!st.node) {
		log_err("%s", err);
		if (cfg.log_file) /* the user is looking at the terminal */
			fprintf(stderr, "ddnsd: %s\n", err);
		goto out;
	}
	sig_term = evsignal_new(st.base, SIGTERM, on_stop, &st);
	sig_int = evsignal_new(st.base, SIGINT, on_stop, &st);
	sig_hup = evsignal_new(st.base, SIGHUP, on_hup, &st);
	if (!sig_term || !sig_int || !sig_hup || evsignal_add(sig_term, NULL) != 0 ||
	    evsignal_add(sig_int, NULL) != 0 || evsignal_add(sig_hup, NULL) != 0) {
		log_err("cannot install signal handlers");
		goto out;
	}
	if (cfg.pid_file) {
		int e = write_pid(cfg.pid_file);
		if (e) {
			log_err("--pid-file %s: %s", cfg.pid_file, strerror(-e));
			goto out;
		}
		pid_written = true;
	}
	event_base_dispatch(st.base);
	st.exit_code = 0;
	log_info("stopped");
out:
	node_free(st.node);
	tb_latency_free(lat);
	if (sig_term)
		event_free(sig_term);
	if (sig_int)
		event_free(sig_int);
	if (sig_hup)
		event_free(sig_hup);
	if (st.base)
		event_base_free(st.base);
	if (pid_written)
		unlink(cfg.pid_file);
	node_config_free(&cfg);
	ddns_log_set_file(NULL);
	return st.exit_code;
}
