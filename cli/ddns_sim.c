/*
 * ddns sim - run the real overlay code under the network simulator and
 * report RPCs and hops per lookup.
 *
 * Builds N nodes (each joining through a random earlier node), lets them
 * stabilise, optionally crashes a fraction of them and lets maintenance run,
 * then runs lookups of random keys from random live nodes and checks each
 * against the oracle (cli/simnet.h).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "cli/simnet.h"

static void sim_usage(FILE *fp)
{
	fprintf(fp,
		"usage: ddns sim --nodes N --overlay chord|kad16 --lookups L [options]\n"
		"\n"
		"Run N overlay nodes under the deterministic network simulator and\n"
		"report the distribution of RPCs and hops per lookup.\n"
		"\n"
		"  --nodes N            number of nodes (default 1000)\n"
		"  --overlay NAME       chord or kad16 (default kad16)\n"
		"  --lookups L          lookups of random keys from random nodes (default 10000)\n"
		"  --seed S             simulation seed (default 1); same seed, same run\n"
		"  --loss P             datagram loss probability 0..1 (default 0)\n"
		"  --fail FRACTION      crash this share of nodes before the lookups,\n"
		"                       then let maintenance run (default 0)\n"
		"  --latency-ms MS      constant one-way latency (default 10)\n"
		"  --latency-matrix F   measured RTT matrix in ms (e.g. PlanetLabData_1)\n"
		"  --replicas R         replica set size (default 6)\n"
		"  --succ-list N        chord successor list length (default 16)\n"
		"  --k K                kad16 bucket size (default 8)\n"
		"  --alpha A            kad16 lookup parallelism (default 3)\n"
		"  --pns                kad16 proximity neighbour selection\n"
		"  --parallel P         lookups in flight at once (default 64)\n"
		"  --json               print one JSON object instead of a table\n"
		"  --quiet              no progress on stderr\n"
		"  -h, --help           this text\n");
}

static double wall_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static long peak_rss_bytes(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return ru.ru_maxrss * 1024L;
}

static void print_dist_json(const char *name, const struct ddns_dist *d)
{
	printf("\"%s\":{\"min\":%g,\"median\":%g,\"mean\":%.4f,\"p90\":%g,\"p99\":%g,\"max\":%g}",
	       name, d->min, d->median, d->mean, d->p90, d->p99, d->max);
}

static void print_dist_row(const char *name, const struct ddns_dist *d)
{
	printf("  %-8s %6g %8g %8.3f %6g %6g %6g\n", name, d->min, d->median, d->mean, d->p90,
	       d->p99, d->max);
}

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (!*s || *end || !(v >= lo && v <= hi)) {
		fprintf(stderr, "ddns sim: %s wants a number in [%g, %g], got '%s'\n", opt, lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

int ddns_cmd_sim(int argc, char **argv)
{
	enum { O_NODES = 256, O_OVERLAY, O_LOOKUPS, O_SEED, O_LOSS, O_FAIL, O_LAT, O_MATRIX,
	       O_REPLICAS, O_SUCC, O_K, O_ALPHA, O_PNS, O_PAR, O_JSON, O_QUIET };
	static const struct option opts[] = {
		{"nodes", required_argument, NULL, O_NODES},
		{"overlay", required_argument, NULL, O_OVERLAY},
		{"lookups", required_argument, NULL, O_LOOKUPS},
		{"seed", required_argument, NULL, O_SEED},
		{"loss", required_argument, NULL, O_LOSS},
		{"fail", required_argument, NULL, O_FAIL},
		{"latency-ms", required_argument, NULL, O_LAT},
		{"latency-matrix", required_argument, NULL, O_MATRIX},
		{"replicas", required_argument, NULL, O_REPLICAS},
		{"succ-list", required_argument, NULL, O_SUCC},
		{"k", required_argument, NULL, O_K},
		{"alpha", required_argument, NULL, O_ALPHA},
		{"pns", no_argument, NULL, O_PNS},
		{"parallel", required_argument, NULL, O_PAR},
		{"json", no_argument, NULL, O_JSON},
		{"quiet", no_argument, NULL, O_QUIET},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	double nodes = 1000, lookups = 10000, seed = 1, loss = 0, fail = 0, lat_ms = 10;
	double replicas = 6, succ = 16, k = 8, alpha = 3, parallel = 64;
	const char *overlay = "kad16", *matrix = NULL;
	bool json = false, quiet = false, pns = false;
	int c, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case O_NODES: bad = parse_num("--nodes", optarg, 1, 1e6, &nodes); break;
		case O_OVERLAY: overlay = optarg; break;
		case O_LOOKUPS: bad = parse_num("--lookups", optarg, 0, 1e9, &lookups); break;
		case O_SEED: bad = parse_num("--seed", optarg, 0, 1.8e19, &seed); break;
		case O_LOSS: bad = parse_num("--loss", optarg, 0, 0.99, &loss); break;
		case O_FAIL: bad = parse_num("--fail", optarg, 0, 0.99, &fail); break;
		case O_LAT: bad = parse_num("--latency-ms", optarg, 0, 1e5, &lat_ms); break;
		case O_MATRIX: matrix = optarg; break;
		case O_REPLICAS: bad = parse_num("--replicas", optarg, 1, OVL_MAX_REPLICAS, &replicas); break;
		case O_SUCC: bad = parse_num("--succ-list", optarg, 1, 64, &succ); break;
		case O_K: bad = parse_num("--k", optarg, 1, 64, &k); break;
		case O_ALPHA: bad = parse_num("--alpha", optarg, 1, 16, &alpha); break;
		case O_PNS: pns = true; break;
		case O_PAR: bad = parse_num("--parallel", optarg, 1, 1e6, &parallel); break;
		case O_JSON: json = true; break;
		case O_QUIET: quiet = true; break;
		case 'h': sim_usage(stdout); return 0;
		default: sim_usage(stderr); return 2;
		}
		if (bad)
			return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "ddns sim: unexpected argument '%s' (try --help)\n", argv[optind]);
		return 2;
	}
	const struct ovl_ops *ops = ovl_ops_by_name(overlay);
	if (!ops) {
		fprintf(stderr, "ddns sim: unknown overlay '%s' (chord or kad16)\n", overlay);
		return 2;
	}
	if (!isatty(STDERR_FILENO))
		quiet = true;

	double t0 = wall_now();
	struct sim_latency *lat = NULL;
	if (matrix) {
		int err = 0;
		lat = sim_latency_matrix_load(matrix, 1000.0, (uint64_t)seed, &err);
		if (!lat) {
			fprintf(stderr, "ddns sim: cannot load latency matrix %s: %s\n", matrix,
				ddns_strerror(err));
			return 1;
		}
	} else {
		lat = sim_latency_constant((uint64_t)(lat_ms * 1000));
		if (!lat) {
			fprintf(stderr, "ddns sim: out of memory\n");
			return 1;
		}
	}

	struct simnet_params p;
	simnet_params_default(&p);
	p.ops = ops;
	p.seed = (uint64_t)seed;
	p.loss = loss;
	p.latency = lat;
	p.ovl.replicas = (unsigned)replicas;
	p.ovl.succ_list_len = (unsigned)succ;
	p.ovl.k = (unsigned)k;
	p.ovl.alpha = (unsigned)alpha;
	p.ovl.pns = pns;
	struct simnet *net = simnet_new(&p);
	struct simnet_report rep;
	simnet_report_init(&rep);
	if (!net) {
		fprintf(stderr, "ddns sim: out of memory\n");
		goto out;
	}
	if (!quiet)
		fprintf(stderr, "building %g %s nodes...\n", nodes, overlay);
	int err = simnet_grow(net, (size_t)nodes);
	if (err) {
		fprintf(stderr, "ddns sim: building the network failed: %s\n", ddns_strerror(err));
		goto out;
	}
	size_t crashed = 0;
	if (fail > 0) {
		crashed = simnet_crash_fraction(net, fail);
		/* Two maintenance periods of the slower overlay timer. */
		simnet_run(net, 2 * 60000000ULL);
	}
	if (!quiet)
		fprintf(stderr, "running %g lookups...\n", lookups);
	size_t done = 0, total = (size_t)lookups, step = total / 20 ? total / 20 : 1;
	while (done < total) {
		size_t batch = total - done < step ? total - done : step;
		err = simnet_lookups(net, batch, (size_t)parallel, &rep);
		if (err) {
			fprintf(stderr, "ddns sim: lookups failed: %s\n", ddns_strerror(err));
			goto out;
		}
		done += batch;
		if (!quiet)
			fprintf(stderr, "\r%zu/%zu lookups", done, total);
	}
	if (!quiet)
		fprintf(stderr, "\n");

	struct ddns_dist hops, rpcs, latd;
	ddns_samples_dist(&rep.hops, &hops);
	ddns_samples_dist(&rep.rpcs, &rpcs);
	ddns_samples_dist(&rep.latency_us, &latd);
	double correct = rep.lookups ? (double)rep.correct / (double)rep.lookups : 0;
	double sim_s = (double)sim_now_us(simnet_sim(net)) / 1e6;
	double wall_s = wall_now() - t0;
	if (json) {
		printf("{\"nodes\":%zu,\"overlay\":\"%s\",\"lookups\":%zu,\"seed\":%llu,"
		       "\"loss\":%g,\"failed_nodes\":%zu,\"correct_fraction\":%.6f,"
		       "\"failed_lookups\":%zu,",
		       simnet_size(net), overlay, rep.lookups, (unsigned long long)seed, loss,
		       crashed, correct, rep.failed);
		print_dist_json("hops", &hops);
		printf(",");
		print_dist_json("rpcs", &rpcs);
		printf(",\"latency_ms\":{\"median\":%g,\"mean\":%.3f,\"p90\":%g,\"p99\":%g}",
		       latd.median / 1000, latd.mean / 1000, latd.p90 / 1000, latd.p99 / 1000);
		printf(",\"sim_seconds\":%.3f,\"wall_seconds\":%.3f,\"peak_rss_bytes\":%ld}\n", sim_s,
		       wall_s, peak_rss_bytes());
	} else {
		printf("overlay %s, %zu nodes (%zu crashed), %zu lookups, seed %llu\n", overlay,
		       simnet_size(net), crashed, rep.lookups, (unsigned long long)seed);
		printf("correct: %.4f%%   failed: %zu\n", 100 * correct, rep.failed);
		printf("  %-8s %6s %8s %8s %6s %6s %6s\n", "", "min", "median", "mean", "p90", "p99",
		       "max");
		print_dist_row("hops", &hops);
		print_dist_row("rpcs", &rpcs);
		printf("latency ms: median %.1f, mean %.1f, p90 %.1f, p99 %.1f\n", latd.median / 1000,
		       latd.mean / 1000, latd.p90 / 1000, latd.p99 / 1000);
		printf("simulated %.1f s in %.2f s wall, peak RSS %.1f MiB\n", sim_s, wall_s,
		       peak_rss_bytes() / 1048576.0);
	}
	rc = 0;
out:
	simnet_report_free(&rep);
	simnet_free(net);
	sim_latency_free(lat);
	return rc;
}
