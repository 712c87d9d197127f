/*
 * ddns sim - run the real overlay and DHT code under the network simulator.
 *
 * Two experiments share the command:
 *  - lookups (the overlay alone): N nodes join one by one and stabilise,
 *    optionally a share of them crash, then random keys are looked up from
 *    random nodes and checked against an oracle (cli/simnet.h);
 *  - storage (any of --records, --queries, --unresolved, --slashdot, --out):
 *    the paper's evaluation, records put into the DHT and the three query
 *    workloads run against them, with the conventional-DNS reference on the
 *    same trace (cli/simdns.h); CSV files and gnuplot figures go to --out.
 * Several --overlay flags run the same experiment on each overlay, with the
 * same seed, and put them side by side.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmdopt.h"
#include "cli/commands.h"
#include "cli/simchurn.h"
#include "cli/simdns.h"
#include "cli/simnet.h"

#define MAX_OVERLAYS 4

struct simopts {
	double nodes, lookups, seed, loss, fail, lat_ms;
	double replicas, succ, k, alpha, parallel, vnodes;
	double join_gap_ms; /* < 0: the default for the size */
	double records, queries, unresolved, slashdot, zipf, conv_resolvers;
	bool storage, json, quiet, pns, no_cache, verify;
	bool replicas_set;
	/* churn and crash experiments */
	bool churn, crash, no_repair, records_set;
	double session_s, weibull_k, hours, lookup_rate, get_rate, republish_s, crash_one;
	struct sim_faults faults;
	const char *overlay[MAX_OVERLAYS];
	size_t noverlay;
	const char *matrix, *latdist, *names, *out, *trace;
};

static void sim_usage(FILE *fp)
{
	fprintf(fp,
		"usage: ddns sim --nodes N --overlay chord|kad16 [--overlay ...] [options]\n"
		"\n"
		"Run the real overlay and DHT code on N simulated nodes. Without storage\n"
		"flags: random-key lookups checked against an oracle. With any of\n"
		"--records/--queries/--unresolved/--slashdot/--out: the paper's evaluation.\n"
		"With --churn: nodes leaving and joining for hours under lookups and gets;\n"
		"with --crash: a share of nodes crashing at once, then one at a time.\n"
		"\n"
		"network:\n"
		"  --nodes N            number of nodes (default 1000)\n"
		"  --overlay NAME       chord or kad16 (default kad16); repeat to compare\n"
		"  --seed S             simulation seed (default 1); same seed, same run\n"
		"  --loss P             datagram loss probability 0..1 (default 0)\n"
		"  --dup P              probability a datagram is delivered twice (default 0)\n"
		"  --reorder P[:MS]     probability a datagram is held up to MS more (default\n"
		"                       100), so later ones overtake it (default 0)\n"
		"  --spike P:MS         probability a datagram waits MS more (default 0)\n"
		"  --fail FRACTION      crash this share of nodes (after the puts in a\n"
		"                       storage run), then let maintenance run (default 0;\n"
		"                       0.25 with --crash)\n"
		"  --latency-ms MS      constant one-way latency (lookup runs; default 10)\n"
		"  --latency-matrix F   measured RTT matrix in ms (e.g. PlanetLabData_1)\n"
		"  --latency-dist F     one-server RTTs in ms, one per line, for the paper's\n"
		"                       latency method (default: the matrix's entries)\n"
		"  --join-gap MS        simulated time between joins while the network is\n"
		"                       built (default 200; 200 s / N above 1,000 nodes)\n"
		"  --vnodes V           virtual nodes per node (default 1)\n"
		"  --succ-list N        chord successor list length (default 16)\n"
		"  --k K                kad16 bucket size (default 8)\n"
		"  --alpha A            kad16 lookup parallelism (default 3)\n"
		"  --pns                kad16 proximity neighbour selection\n"
		"lookups:\n"
		"  --lookups L          lookups of random keys (default 10000)\n"
		"storage (paper defaults shown):\n"
		"  --records M          DNS records (RRsets) to put (120000)\n"
		"  --queries Q          successful-query gets, Zipf popularity (260000)\n"
		"  --unresolved U       gets of names never inserted (220000)\n"
		"  --slashdot S         gets of one record (100000)\n"
		"  --zipf ALPHA         popularity exponent (0.91, the MIT trace's)\n"
		"  --trace FILE         replay 'name [type]' lines in order instead: queries\n"
		"                       of stored records are the successful workload, the\n"
		"                       rest the unresolved one\n"
		"  --names FILE         domain names, 'rank,domain' or one per line\n"
		"                       (default: generated names)\n"
		"  --replicas R         replicas per block (lookups: 6; storage: 1, as the\n"
		"                       paper ran with replication off)\n"
		"  --no-cache           no caching along lookup paths\n"
		"  --verify             check DNSSEC signatures on every node (slow;\n"
		"                       off by default in the simulator)\n"
		"  --conv-resolvers R   caching resolvers in the conventional-DNS reference\n"
		"                       (default 1: one site resolver, like the paper's trace)\n"
		"  --out DIR            write CSV files, summaries and PNG plots to DIR\n"
		"churn (with --churn; --records defaults to 10000, --replicas to 6):\n"
		"  --churn MEDIAN       nodes leave (crash) and fresh nodes join for --hours;\n"
		"                       sessions have this median (e.g. 3600, 60m, 1h)\n"
		"  --weibull K          Weibull sessions of shape K (default: exponential)\n"
		"  --hours H            simulated hours of churn (default 24)\n"
		"  --lookup-rate R      lookups of random keys per second (default 10)\n"
		"  --get-rate R         gets of random records per second (default 10)\n"
		"  --republish T        owners republish every record every T (default 1h,\n"
		"                       the records' TTL; 0: never)\n"
		"  --no-repair          no replica maintenance (to compare)\n"
		"crash (with --crash; --records 10000, --replicas 6 by default):\n"
		"  --crash              crash --fail of the nodes at once (default 0.25),\n"
		"                       resolve every record before and after repair, then\n"
		"                       crash --crash-one nodes one at a time with repair\n"
		"  --crash-one N        crashes one at a time after the mass crash (default 100)\n"
		"output:\n"
		"  --parallel P         operations in flight at once (default 64 for\n"
		"                       lookups, 256 for storage runs)\n"
		"  --json               print one JSON object per overlay\n"
		"  --quiet              no progress on stderr\n"
		"  -h, --help           this text\n");
}

static long peak_rss_bytes(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return ru.ru_maxrss * 1024L;
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

/* A duration: seconds, or a number with s, m, h or d. */
static int parse_duration(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end), mul = 1;
	if (*end && !end[1]) {
		switch (*end) {
		case 's': mul = 1; end++; break;
		case 'm': mul = 60; end++; break;
		case 'h': mul = 3600; end++; break;
		case 'd': mul = 86400; end++; break;
		default: break;
		}
	}
	v *= mul;
	if (!*s || *end || !(v >= lo && v <= hi)) {
		fprintf(stderr, "ddns sim: %s wants a duration in [%g s, %g s] (e.g. 90, 30m, 1h), got '%s'\n",
			opt, lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* "P" or "P:MS" (ms_needed: the :MS part is required). */
static int parse_fault(const char *opt, const char *s, bool ms_needed, double *p, uint64_t *us)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	char *colon = strchr(buf, ':');
	double ms = 0;
	if (colon)
		*colon = '\0';
	if ((ms_needed && !colon) || parse_num(opt, buf, 0, 1, p) ||
	    (colon && parse_num(opt, colon + 1, 0, 1e6, &ms))) {
		if (ms_needed && !colon)
			fprintf(stderr, "ddns sim: %s wants P:MS, got '%s'\n", opt, s);
		return -1;
	}
	*us = (uint64_t)(ms * 1000);
	if (!colon && !ms_needed)
		*us = 100000; /* --reorder P: up to 100 ms */
	return 0;
}

static void json_faults(FILE *fp, const struct sim_faults *f, const struct sim *sim)
{
	struct sim_stats st;
	sim_get_stats(sim, &st);
	fprintf(fp,
		"\"faults\":{\"dup\":%g,\"reorder\":%g,\"reorder_ms\":%g,\"spike\":%g,"
		"\"spike_ms\":%g,\"datagrams_sent\":%llu,\"duplicated\":%llu,\"reordered\":%llu,"
		"\"spiked\":%llu,\"lost\":%llu}",
		f->dup, f->reorder, (double)f->reorder_us / 1000, f->spike,
		(double)f->spike_us / 1000, (unsigned long long)st.datagrams_sent,
		(unsigned long long)st.datagrams_duplicated,
		(unsigned long long)st.datagrams_reordered, (unsigned long long)st.datagrams_spiked,
		(unsigned long long)st.datagrams_lost);
}

static void json_dist(FILE *fp, const char *name, const struct ddns_dist *d, double scale)
{
	fprintf(fp, "\"%s\":{\"min\":%g,\"median\":%g,\"mean\":%.4f,\"p90\":%g,\"p99\":%g,\"max\":%g}",
		name, d->min * scale, d->median * scale, d->mean * scale, d->p90 * scale,
		d->p99 * scale, d->max * scale);
}

static void json_lat(FILE *fp, const char *name, const struct ddns_dist *d)
{
	fprintf(fp, "\"%s\":{\"median\":%.3f,\"mean\":%.3f,\"p90\":%.3f,\"p99\":%.3f}", name,
		d->median / 1000, d->mean / 1000, d->p90 / 1000, d->p99 / 1000);
}

static void print_row(FILE *fp, const char *name, const struct ddns_dist *d)
{
	fprintf(fp, "  %-22s %7g %8g %8.3f %7g %7g %7g\n", name, d->min, d->median, d->mean,
		d->p90, d->p99, d->max);
}

static void print_head(FILE *fp)
{
	fprintf(fp, "  %-22s %7s %8s %8s %7s %7s %7s\n", "", "min", "median", "mean", "p90", "p99",
		"max");
}

static struct sim_latency *make_latency(const struct simopts *o, bool storage, int *err)
{
	if (o->matrix)
		return sim_latency_matrix_load(o->matrix, 1000.0, (uint64_t)o->seed, err);
	if (!storage || o->lat_ms >= 0) {
		struct sim_latency *l = sim_latency_constant((uint64_t)((o->lat_ms < 0 ? 10 : o->lat_ms) * 1000));
		*err = l ? 0 : -ENOMEM;
		return l;
	}
	/* The storage experiment without a matrix: one-way delays drawn from a
	 * log-normal fitted to the paper's per-hop figures (median RTT 70 ms). */
	struct ddns_rng rng;
	ddns_rng_seed(&rng, (uint64_t)o->seed ^ 0x1a7e4c9ULL);
	uint64_t v[4096];
	for (size_t i = 0; i < 4096; i++) {
		double u1 = ddns_rng_double(&rng), u2 = ddns_rng_double(&rng);
		double z = sqrt(-2.0 * log(u1 > 0 ? u1 : 1e-12)) * cos(2 * M_PI * u2);
		v[i] = (uint64_t)(35000.0 * exp(0.7 * z));
	}
	struct sim_latency *l = sim_latency_samples(v, 4096);
	*err = l ? 0 : -ENOMEM;
	return l;
}

/* Nodes join one at a time, 200 ms apart (the paper-sized networks of
 * 1,000 nodes build in 200 simulated seconds). Larger networks keep that
 * 200 s window: at 200 ms apart, 100,000 nodes would take 20,000 simulated
 * seconds of everyone's maintenance before the first lookup. */
static double sim_join_gap_ms(const struct simopts *o)
{
	if (o->join_gap_ms >= 0)
		return o->join_gap_ms;
	return o->nodes > 1000 ? 200000.0 / o->nodes : 200.0;
}

/* The network flags every experiment shares. */
static void net_from_opts(const struct simopts *o, const char *overlay, struct sim_latency *lat,
			  struct simnet_params *net)
{
	net->ops = ovl_ops_by_name(overlay);
	net->seed = (uint64_t)o->seed;
	net->loss = o->loss;
	net->faults = o->faults;
	net->latency = lat;
	net->ovl.succ_list_len = (unsigned)o->succ;
	net->ovl.k = (unsigned)o->k;
	net->ovl.alpha = (unsigned)o->alpha;
	net->ovl.pns = o->pns;
	net->vnodes = (unsigned)o->vnodes;
	net->join_gap_us = (uint64_t)(sim_join_gap_ms(o) * 1000.0);
}

/* ---- lookups experiment ---- */

static int run_lookups(const struct simopts *o, const char *overlay)
{
	double t0 = cmd_now_s();
	int err = 0, rc = 1;
	struct sim_latency *lat = make_latency(o, false, &err);
	if (!lat) {
		fprintf(stderr, "ddns sim: cannot load latency model: %s\n", ddns_strerror(err));
		return 1;
	}
	struct simnet_params p;
	simnet_params_default(&p);
	net_from_opts(o, overlay, lat, &p);
	p.ovl.replicas = (unsigned)o->replicas;
	struct simnet *net = simnet_new(&p);
	struct simnet_report rep;
	simnet_report_init(&rep);
	if (!net) {
		fprintf(stderr, "ddns sim: out of memory\n");
		goto out;
	}
	if (!o->quiet)
		fprintf(stderr, "building %g %s nodes...\n", o->nodes, overlay);
	if ((err = simnet_grow(net, (size_t)o->nodes)) != 0) {
		fprintf(stderr, "ddns sim: building the network failed: %s\n", ddns_strerror(err));
		goto out;
	}
	size_t crashed = 0;
	if (o->fail > 0) {
		crashed = simnet_crash_fraction(net, o->fail);
		simnet_run(net, 2 * 60000000ULL); /* two periods of the slowest maintenance */
	}
	size_t done = 0, total = (size_t)o->lookups, step = total / 20 ? total / 20 : 1;
	while (done < total) {
		size_t batch = total - done < step ? total - done : step;
		if ((err = simnet_lookups(net, batch, (size_t)o->parallel, &rep)) != 0) {
			fprintf(stderr, "ddns sim: lookups failed: %s\n", ddns_strerror(err));
			goto out;
		}
		done += batch;
		if (!o->quiet)
			fprintf(stderr, "\r%zu/%zu lookups", done, total);
	}
	if (!o->quiet)
		fprintf(stderr, "\n");
	struct ddns_dist hops, rpcs, latd;
	ddns_samples_dist(&rep.hops, &hops);
	ddns_samples_dist(&rep.rpcs, &rpcs);
	ddns_samples_dist(&rep.latency_us, &latd);
	double correct = rep.lookups ? (double)rep.correct / (double)rep.lookups : 0;
	double sim_s = (double)sim_now_us(simnet_sim(net)) / 1e6;
	double wall_s = cmd_now_s() - t0;
	if (o->json) {
		printf("{\"nodes\":%zu,\"overlay\":\"%s\",\"lookups\":%zu,\"seed\":%llu,"
		       "\"loss\":%g,\"failed_nodes\":%zu,\"correct_fraction\":%.6f,"
		       "\"failed_lookups\":%zu,",
		       simnet_size(net), overlay, rep.lookups, (unsigned long long)o->seed, o->loss,
		       crashed, correct, rep.failed);
		json_dist(stdout, "hops", &hops, 1);
		printf(",");
		json_dist(stdout, "rpcs", &rpcs, 1);
		printf(",");
		json_lat(stdout, "latency_ms", &latd);
		printf(",");
		json_faults(stdout, &o->faults, simnet_sim(net));
		printf(",\"sim_seconds\":%.3f,\"wall_seconds\":%.3f,\"peak_rss_bytes\":%ld}\n", sim_s,
		       wall_s, peak_rss_bytes());
	} else {
		printf("overlay %s, %zu nodes (%zu crashed), %zu lookups, seed %llu\n", overlay,
		       simnet_size(net), crashed, rep.lookups, (unsigned long long)o->seed);
		printf("correct: %.4f%%   failed: %zu\n", 100 * correct, rep.failed);
		print_head(stdout);
		print_row(stdout, "hops", &hops);
		print_row(stdout, "rpcs", &rpcs);
		printf("latency ms: median %.1f, mean %.1f, p90 %.1f, p99 %.1f\n", latd.median / 1000,
		       latd.mean / 1000, latd.p90 / 1000, latd.p99 / 1000);
		printf("simulated %.1f s in %.2f s wall, peak RSS %.1f MiB\n", sim_s, wall_s,
		       (double)peak_rss_bytes() / 1048576.0);
	}
	rc = 0;
out:
	simnet_report_free(&rep);
	simnet_free(net);
	sim_latency_free(lat);
	return rc;
}

/* ---- storage experiment ---- */

static FILE *open_out(const char *dir, const char *base, const char *overlay, const char *ext)
{
	char path[4096];
	if (overlay)
		snprintf(path, sizeof(path), "%s/%s_%s.%s", dir, base, overlay, ext);
	else
		snprintf(path, sizeof(path), "%s/%s.%s", dir, base, ext);
	FILE *fp = fopen(path, "w");
	if (!fp)
		fprintf(stderr, "ddns sim: cannot write %s: %s\n", path, strerror(errno));
	return fp;
}

/* Per-lookup rows, written before the samples are sorted for summaries. */
static int write_lookups(const char *dir, const char *overlay, const char *name,
			 const struct simdns_workload *w)
{
	char base[64];
	snprintf(base, sizeof(base), "lookups_%s", name);
	FILE *fp = open_out(dir, base, overlay, "csv");
	if (!fp)
		return -1;
	fprintf(fp, "lookup,rpcs,hops,latency_ms,latency_ms_paper_method\n");
	for (size_t i = 0; i < w->rpcs.n; i++)
		fprintf(fp, "%zu,%g,%g,%.3f,%.3f\n", i, w->rpcs.v[i], w->hops.v[i],
			w->latency_us.v[i] / 1000, w->latency_paper_us.v[i] / 1000);
	fclose(fp);
	if (w->conv_rpcs.n) {
		snprintf(base, sizeof(base), "conventional_%s", name);
		if (!(fp = open_out(dir, base, overlay, "csv")))
			return -1;
		fprintf(fp, "query,rpcs,latency_ms,latency_ms_paper_method\n");
		for (size_t i = 0; i < w->conv_rpcs.n; i++)
			fprintf(fp, "%zu,%g,%.3f,%.3f\n", i, w->conv_rpcs.v[i],
				w->conv_latency_us.v[i] / 1000, w->conv_latency_paper_us.v[i] / 1000);
		fclose(fp);
	}
	return 0;
}

static int write_per_node(const char *dir, const char *overlay, const struct simdns_result *r)
{
	FILE *fp = open_out(dir, "records_per_node", overlay, "csv");
	if (!fp)
		return -1;
	fprintf(fp, "node,records\n");
	for (size_t i = 0; i < r->nodes; i++)
		fprintf(fp, "%zu,%g\n", i, r->blocks_per_node[i]);
	fclose(fp);
	if (!(fp = open_out(dir, "rpcs_served_per_node", overlay, "csv")))
		return -1;
	fprintf(fp, "node,successful,unresolved,slashdot,successful_per_lookup,"
		    "unresolved_per_lookup,slashdot_per_lookup\n");
	const struct simdns_workload *w[3] = {&r->successful, &r->unresolved, &r->slashdot};
	for (size_t i = 0; i < r->nodes; i++) {
		double v[3], per[3];
		for (int k = 0; k < 3; k++) {
			v[k] = w[k]->served_per_node ? w[k]->served_per_node[i] : 0;
			per[k] = w[k]->queries ? v[k] / (double)w[k]->queries : 0;
		}
		fprintf(fp, "%zu,%g,%g,%g,%.6g,%.6g,%.6g\n", i, v[0], v[1], v[2], per[0], per[1], per[2]);
	}
	fclose(fp);
	if (r->transfers_slashdot) {
		if (!(fp = open_out(dir, "slashdot_transfers_per_node", overlay, "csv")))
			return -1;
		fprintf(fp, "node,transfers\n");
		for (size_t i = 0; i < r->nodes; i++)
			fprintf(fp, "%zu,%g\n", i, r->transfers_slashdot[i]);
		fclose(fp);
	}
	return 0;
}

static void dist_of(const double *v, size_t n, struct ddns_dist *d)
{
	struct ddns_samples s;
	ddns_samples_init(&s);
	for (size_t i = 0; i < n; i++)
		if (ddns_samples_add(&s, v[i]) != 0)
			break;
	ddns_samples_dist(&s, d);
	ddns_samples_free(&s);
}

static void json_workload(FILE *fp, const char *name, struct simdns_workload *w, bool conv)
{
	struct ddns_dist rpcs, hops, lat, latp;
	ddns_samples_dist(&w->rpcs, &rpcs);
	ddns_samples_dist(&w->hops, &hops);
	ddns_samples_dist(&w->latency_us, &lat);
	ddns_samples_dist(&w->latency_paper_us, &latp);
	fprintf(fp, "\"%s\":{\"queries\":%zu,\"answered\":%zu,\"answered_locally_fraction\":%.6f,",
		name, w->queries, w->answered, w->queries ? (double)w->local / (double)w->queries : 0);
	if (w->after_warmup)
		fprintf(fp, "\"answered_locally_after_warmup_fraction\":%.6f,",
			(double)w->local_after_warmup / (double)w->after_warmup);
	json_dist(fp, "rpcs", &rpcs, 1);
	fputc(',', fp);
	json_dist(fp, "hops", &hops, 1);
	fputc(',', fp);
	json_lat(fp, "latency_ms", &lat);
	fputc(',', fp);
	json_lat(fp, "latency_ms_paper_method", &latp);
	if (conv) {
		struct ddns_dist cr, cl, clp;
		ddns_samples_dist(&w->conv_rpcs, &cr);
		ddns_samples_dist(&w->conv_latency_us, &cl);
		ddns_samples_dist(&w->conv_latency_paper_us, &clp);
		fprintf(fp, ",\"conventional\":{\"queries\":%zu,", w->conv_rpcs.n);
		json_dist(fp, "rpcs", &cr, 1);
		fputc(',', fp);
		json_lat(fp, "latency_ms", &cl);
		fputc(',', fp);
		json_lat(fp, "latency_ms_paper_method", &clp);
		fputc('}', fp);
	}
	fputc('}', fp);
}

static void text_workload(FILE *fp, const char *name, struct simdns_workload *w)
{
	struct ddns_dist rpcs, hops, lat, latp, cr, cl, clp;
	ddns_samples_dist(&w->rpcs, &rpcs);
	ddns_samples_dist(&w->hops, &hops);
	ddns_samples_dist(&w->latency_us, &lat);
	ddns_samples_dist(&w->latency_paper_us, &latp);
	fprintf(fp, "%s: %zu queries, %zu answered, %.2f%% answered at the originating node",
		name, w->queries, w->answered,
		w->queries ? 100.0 * (double)w->local / (double)w->queries : 0);
	if (w->after_warmup)
		fprintf(fp, " (%.2f%% after the first 5,000)",
			100.0 * (double)w->local_after_warmup / (double)w->after_warmup);
	fputc('\n', fp);
	print_head(fp);
	print_row(fp, "rpcs", &rpcs);
	print_row(fp, "hops", &hops);
	fprintf(fp, "  latency ms: median %.1f mean %.1f p90 %.1f p99 %.1f (paper method: median %.1f mean %.1f)\n",
		lat.median / 1000, lat.mean / 1000, lat.p90 / 1000, lat.p99 / 1000,
		latp.median / 1000, latp.mean / 1000);
	if (w->conv_rpcs.n) {
		ddns_samples_dist(&w->conv_rpcs, &cr);
		ddns_samples_dist(&w->conv_latency_us, &cl);
		ddns_samples_dist(&w->conv_latency_paper_us, &clp);
		fprintf(fp, "  conventional DNS: rpcs mean %.3f p90 %g max %g; latency ms median %.1f mean %.1f p90 %.1f (paper method: median %.1f)\n",
			cr.mean, cr.p90, cr.max, cl.median / 1000, cl.mean / 1000, cl.p90 / 1000,
			clp.median / 1000);
	}
}

static void summarize(FILE *fp, bool json, const char *overlay, const struct simopts *o,
		      struct simdns_result *r, double wall_s)
{
	struct ddns_dist bpn;
	dist_of(r->blocks_per_node, r->nodes, &bpn);
	struct ddns_dist tr = {0};
	if (r->transfers_slashdot)
		dist_of(r->transfers_slashdot, r->nodes, &tr);
	if (json) {
		/* The lookups experiment's fields keep their meaning: the
		 * successful workload's lookups. */
		struct ddns_dist hops, rpcs;
		struct ddns_samples hs = r->successful.hops, rs = r->successful.rpcs;
		ddns_samples_dist(&hs, &hops);
		ddns_samples_dist(&rs, &rpcs);
		fprintf(fp, "{\"nodes\":%zu,\"overlay\":\"%s\",\"seed\":%llu,\"lookups\":%zu,"
			    "\"correct_fraction\":%.6f,\"live_nodes\":%zu,\"failed_nodes\":%zu,"
			    "\"signatures_checked\":%s,\"replicas\":%zu,\"cache\":%s,",
			r->nodes, overlay, (unsigned long long)o->seed, r->successful.queries,
			r->successful.queries ? (double)r->successful.answered / (double)r->successful.queries : 0,
			r->live, r->crashed, r->verified ? "true" : "false", r->replicas,
			o->no_cache ? "false" : "true");
		json_dist(fp, "hops", &hops, 1);
		fputc(',', fp);
		json_dist(fp, "rpcs", &rpcs, 1);
		fprintf(fp, ",\"records\":%zu,\"puts_ok\":%zu,\"puts_failed\":%zu,", r->records,
			r->puts_ok, r->puts_failed);
		fprintf(fp, "\"records_per_node\":{\"median\":%g,\"mean\":%.3f,\"max\":%g,\"min\":%g},",
			bpn.median, bpn.mean, bpn.max, bpn.min);
		json_workload(fp, "successful", &r->successful, false);
		fputc(',', fp);
		json_workload(fp, "unresolved", &r->unresolved, false);
		fputc(',', fp);
		json_workload(fp, "slashdot", &r->slashdot, false);
		fprintf(fp, ",\"slashdot_transfers_per_node\":{\"median\":%g,\"mean\":%.3f,\"max\":%g}",
			tr.median, tr.mean, tr.max);
		fputs(",\"conventional\":{", fp);
		struct simdns_workload *cw[2] = {&r->successful, &r->unresolved};
		const char *cn[2] = {"successful", "unresolved"};
		for (int k = 0; k < 2; k++) {
			struct ddns_dist cr, cl, clp;
			ddns_samples_dist(&cw[k]->conv_rpcs, &cr);
			ddns_samples_dist(&cw[k]->conv_latency_us, &cl);
			ddns_samples_dist(&cw[k]->conv_latency_paper_us, &clp);
			fprintf(fp, "%s\"%s\":{\"queries\":%zu,", k ? "," : "", cn[k], cw[k]->conv_rpcs.n);
			json_dist(fp, "rpcs", &cr, 1);
			fputc(',', fp);
			json_lat(fp, "latency_ms", &cl);
			fputc(',', fp);
			json_lat(fp, "latency_ms_paper_method", &clp);
			fputc('}', fp);
		}
		fprintf(fp, "},\"rpcs_sent_total\":%llu,\"rpcs_served_total\":%llu,",
			(unsigned long long)r->rpcs_sent, (unsigned long long)r->rpcs_served);
		fprintf(fp, "\"sim_seconds\":%.3f,\"wall_seconds\":%.3f,\"peak_rss_bytes\":%ld}\n",
			r->sim_seconds, wall_s, peak_rss_bytes());
		return;
	}
	fprintf(fp, "== %s: %zu nodes (%zu crashed), %zu records, seed %llu, signatures %s, replicas %zu, caching %s ==\n",
		overlay, r->nodes, r->crashed, r->records, (unsigned long long)o->seed,
		r->verified ? "checked" : "NOT checked (simulator speed-up; --verify checks them)",
		r->replicas, o->no_cache ? "off" : "on");
	fprintf(fp, "puts: %zu ok, %zu failed; records per node: median %g mean %.1f max %g\n",
		r->puts_ok, r->puts_failed, bpn.median, bpn.mean, bpn.max);
	text_workload(fp, "successful", &r->successful);
	text_workload(fp, "unresolved", &r->unresolved);
	text_workload(fp, "slashdot", &r->slashdot);
	if (r->transfers_slashdot)
		fprintf(fp, "  slashdot transfers per node: median %g mean %.2f max %g (log2 N = %.1f)\n",
			tr.median, tr.mean, tr.max, log2((double)r->nodes));
	fprintf(fp, "RPCs sent %llu, served %llu; simulated %.1f s in %.1f s wall, peak RSS %.1f MiB\n",
		(unsigned long long)r->rpcs_sent, (unsigned long long)r->rpcs_served, r->sim_seconds,
		wall_s, (double)peak_rss_bytes() / 1048576.0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* An empirical CDF ("value,fraction"), at most ~2,000 points. v is sorted
 * in place. */
static int write_cdf(const char *dir, const char *name, const char *overlay, double *v, size_t n,
		     double scale)
{
	char base[96];
	snprintf(base, sizeof(base), "cdf_%s", name);
	FILE *fp = open_out(dir, base, overlay, "csv");
	if (!fp)
		return -1;
	qsort(v, n, sizeof(double), cmp_double);
	fprintf(fp, "value,fraction\n");
	size_t step = n > 2000 ? n / 2000 : 1;
	for (size_t i = 0; i < n; i++) {
		/* Keep the last point of every run of equal values: exact steps. */
		bool last_of_run = i + 1 == n || v[i + 1] != v[i];
		if (last_of_run || i % step == 0)
			fprintf(fp, "%.6g,%.6f\n", v[i] * scale, (double)(i + 1) / (double)n);
	}
	fclose(fp);
	return 0;
}

static int write_cdfs(const char *dir, const char *overlay, struct simdns_result *r)
{
	struct {
		const char *name;
		struct ddns_samples *s;
		double scale;
	} sets[] = {
		{"rpcs_successful", &r->successful.rpcs, 1},
		{"rpcs_unresolved", &r->unresolved.rpcs, 1},
		{"rpcs_slashdot", &r->slashdot.rpcs, 1},
		{"hops_successful", &r->successful.hops, 1},
		{"latency_ms_successful", &r->successful.latency_us, 1e-3},
		{"latency_ms_paper_successful", &r->successful.latency_paper_us, 1e-3},
		{"conventional_rpcs_successful", &r->successful.conv_rpcs, 1},
		{"conventional_latency_ms_successful", &r->successful.conv_latency_us, 1e-3},
		{"conventional_latency_ms_paper_successful", &r->successful.conv_latency_paper_us, 1e-3},
	};
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
		if (write_cdf(dir, sets[i].name, overlay, sets[i].s->v, sets[i].s->n, sets[i].scale))
			return -1;
	if (write_cdf(dir, "records_per_node", overlay, r->blocks_per_node, r->nodes, 1))
		return -1;
	struct simdns_workload *w[2] = {&r->successful, &r->unresolved};
	const char *wn[2] = {"load_successful", "load_unresolved"};
	for (int k = 0; k < 2; k++) {
		if (!w[k]->served_per_node || !w[k]->queries)
			continue;
		for (size_t i = 0; i < r->nodes; i++)
			w[k]->served_per_node[i] /= (double)w[k]->queries;
		if (write_cdf(dir, wn[k], overlay, w[k]->served_per_node, r->nodes, 1))
			return -1;
	}
	return 0;
}

static void write_plots(const struct simopts *o)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/plots.gp", o->out);
	FILE *fp = fopen(path, "w");
	if (!fp)
		return;
	fprintf(fp, "# The paper's figures, each overlay on the same axes (gnuplot %s)\n"
		    "set datafile separator ','\nset terminal pngcairo size 800,560 noenhanced\n"
		    "set key bottom right\nset grid\nset ylabel 'cumulative fraction'\nset yrange [0:1]\n",
		    path);
	struct {
		const char *png, *title, *xlabel, *cdf, *extra;
		bool logx;
	} figs[] = {
		{"fig1_storage_balance", "Records stored per node", "records", "records_per_node", NULL, false},
		{"fig2_load_successful", "RPCs served per node per lookup (successful queries)", "RPCs per lookup", "load_successful", NULL, false},
		{"fig2_load_unresolved", "RPCs served per node per lookup (unresolved queries)", "RPCs per lookup", "load_unresolved", NULL, false},
		{"fig3_rpcs_successful", "RPCs per lookup (successful queries)", "RPCs", "rpcs_successful", "conventional_rpcs_successful", false},
		{"fig3_rpcs_unresolved", "RPCs per lookup (unresolved queries)", "RPCs", "rpcs_unresolved", NULL, false},
		{"fig3_rpcs_slashdot", "RPCs per lookup (slashdot test)", "RPCs", "rpcs_slashdot", NULL, false},
		{"fig4_latency_successful", "Lookup latency (successful queries, measured)", "ms", "latency_ms_successful", "conventional_latency_ms_successful", true},
		{"fig5_latency_paper_method", "Lookup latency (the paper method)", "ms", "latency_ms_paper_successful", "conventional_latency_ms_paper_successful", true},
	};
	for (size_t f = 0; f < sizeof(figs) / sizeof(figs[0]); f++) {
		fprintf(fp, "\nset output '%s/%s.png'\nset title '%s'\nset xlabel '%s'\n%s\nplot ",
			o->out, figs[f].png, figs[f].title, figs[f].xlabel,
			figs[f].logx ? "set logscale x" : "unset logscale x");
		for (size_t i = 0; i < o->noverlay; i++)
			fprintf(fp, "%s'%s/cdf_%s_%s.csv' every ::1 using 1:2 with steps lw 2 title '%s'",
				i ? ", " : "", o->out, figs[f].cdf, o->overlay[i], o->overlay[i]);
		if (figs[f].extra)
			fprintf(fp, ", '%s/cdf_%s_%s.csv' every ::1 using 1:2 with steps lw 2 dt 2 title 'conventional DNS'",
				o->out, figs[f].extra, o->overlay[0]);
		fputc('\n', fp);
	}
	fclose(fp);
	if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
		fprintf(stderr, "ddns sim: gnuplot not installed; plot script left in %s\n", path);
		return;
	}
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "gnuplot '%s' 2>&1", path);
	if (system(cmd) != 0)
		fprintf(stderr, "ddns sim: gnuplot failed on %s\n", path);
}

static int run_storage(const struct simopts *o)
{
	int err = 0, rc = 1;
	struct wl_names names = {0};
	struct wl_queries trace = {0};
	struct wl_rttdist paper = {0};
	struct sim_latency *lat = NULL;
	FILE *sum_txt = NULL, *sum_json = NULL;
	if (o->names) {
		size_t line = 0;
		if ((err = wl_names_load(o->names, 0, &names, &line)) != 0) {
			fprintf(stderr, "ddns sim: cannot read names from %s: %s\n", o->names,
				ddns_strerror(err));
			return 1;
		}
	}
	if (o->trace) {
		size_t line = 0;
		if ((err = wl_queries_load(o->trace, &trace, &line)) != 0) {
			fprintf(stderr, "ddns sim: cannot read the trace %s: %s (line %zu)\n", o->trace,
				ddns_strerror(err), line);
			wl_names_free(&names);
			return 1;
		}
	}
	if (!(lat = make_latency(o, true, &err))) {
		fprintf(stderr, "ddns sim: cannot load latency model: %s\n", ddns_strerror(err));
		goto out;
	}
	err = o->latdist ? wl_rttdist_load(&paper, o->latdist)
			 : wl_rttdist_from_model(&paper, lat, 200000, (uint64_t)o->seed);
	if (err) {
		fprintf(stderr, "ddns sim: cannot build the paper-method latency distribution: %s\n",
			ddns_strerror(err));
		goto out;
	}
	if (o->out) {
		if (mkdir(o->out, 0755) != 0 && errno != EEXIST) {
			fprintf(stderr, "ddns sim: cannot create %s: %s\n", o->out, strerror(errno));
			goto out;
		}
		if (!(sum_txt = open_out(o->out, "summary", NULL, "txt")) ||
		    !(sum_json = open_out(o->out, "summary", NULL, "json")))
			goto out;
		fprintf(sum_json, "[\n");
	}
	for (size_t i = 0; i < o->noverlay; i++) {
		double t0 = cmd_now_s();
		struct simdns_params p;
		simdns_params_default(&p);
		net_from_opts(o, o->overlay[i], lat, &p.net);
		p.net.dht.replicas = o->replicas_set ? (unsigned)o->replicas : 1;
		p.net.ovl.replicas = p.net.dht.replicas > 6 ? p.net.dht.replicas : 6;
		if (o->no_cache)
			p.net.dht.cache_bytes = 0;
		p.nodes = (size_t)o->nodes;
		p.records = (size_t)o->records;
		p.queries = (size_t)o->queries;
		p.unresolved = (size_t)o->unresolved;
		p.slashdot = (size_t)o->slashdot;
		p.zipf = o->zipf;
		p.trace = o->trace ? &trace : NULL;
		p.names = o->names ? &names : NULL;
		p.verify = o->verify;
		p.fail = o->fail;
		p.parallel = (size_t)o->parallel;
		p.paper = &paper;
		p.conv_resolvers = (size_t)o->conv_resolvers;
		p.progress = o->quiet ? NULL : stderr;
		struct simdns_result r;
		err = simdns_run(&p, &r);
		if (err) {
			fprintf(stderr, "ddns sim: %s run failed: %s\n", o->overlay[i], ddns_strerror(err));
			simdns_result_free(&r);
			goto out;
		}
		double wall_s = cmd_now_s() - t0;
		if (o->out) {
			if (write_lookups(o->out, o->overlay[i], "successful", &r.successful) ||
			    write_lookups(o->out, o->overlay[i], "unresolved", &r.unresolved) ||
			    write_lookups(o->out, o->overlay[i], "slashdot", &r.slashdot) ||
			    write_per_node(o->out, o->overlay[i], &r)) {
				simdns_result_free(&r);
				goto out;
			}
		}
		summarize(stdout, o->json, o->overlay[i], o, &r, wall_s);
		if (o->out) {
			summarize(sum_txt, false, o->overlay[i], o, &r, wall_s);
			if (i)
				fprintf(sum_json, ",");
			summarize(sum_json, true, o->overlay[i], o, &r, wall_s);
			if (write_cdfs(o->out, o->overlay[i], &r)) {
				simdns_result_free(&r);
				goto out;
			}
		}
		simdns_result_free(&r);
	}
	if (o->out) {
		fprintf(sum_json, "]\n");
		fclose(sum_json);
		sum_json = NULL;
		write_plots(o);
	}
	rc = 0;
out:
	if (sum_txt)
		fclose(sum_txt);
	if (sum_json)
		fclose(sum_json);
	wl_names_free(&names);
	wl_queries_free(&trace);
	wl_rttdist_free(&paper);
	sim_latency_free(lat);
	return rc;
}

/* ---- churn and crash experiments ---- */

static int run_churn(const struct simopts *o)
{
	int err = 0;
	struct sim_latency *lat = make_latency(o, true, &err);
	if (!lat) {
		fprintf(stderr, "ddns sim: cannot load latency model: %s\n", ddns_strerror(err));
		return 1;
	}
	int rc = 0;
	for (size_t i = 0; i < o->noverlay && rc == 0; i++) {
		struct simchurn_params p;
		simchurn_params_default(&p);
		net_from_opts(o, o->overlay[i], lat, &p.net);
		p.net.dht.replicas = (unsigned)o->replicas;
		p.net.ovl.replicas = p.net.dht.replicas > 6 ? p.net.dht.replicas : 6;
		if (o->no_cache)
			p.net.dht.cache_bytes = 0;
		if (o->no_repair) {
			p.net.dht.maint_us = 0;
			p.net.dht.change_delay_us = 365ULL * 86400 * 1000000;
		}
		p.nodes = (size_t)o->nodes;
		p.records = (size_t)o->records;
		p.parallel = (size_t)o->parallel;
		p.session_median_s = o->session_s > 0 ? o->session_s : 3600;
		p.weibull_k = o->weibull_k;
		p.duration_s = o->hours * 3600;
		p.lookup_rate = o->lookup_rate;
		p.get_rate = o->get_rate;
		p.republish_s = o->republish_s;
		p.crash_fraction = o->fail;
		p.crash_one = (size_t)o->crash_one;
		p.progress = o->quiet ? NULL : stderr;
		if (o->crash) {
			struct simcrash_result r;
			err = simchurn_crash_run(&p, &r);
			if (!err)
				simcrash_print(stdout, o->json, o->overlay[i], &p, &r);
			simcrash_result_free(&r);
		} else {
			struct simchurn_result r;
			err = simchurn_run(&p, &r);
			if (!err)
				simchurn_print(stdout, o->json, o->overlay[i], &p, &r);
			simchurn_result_free(&r);
		}
		if (err) {
			fprintf(stderr, "ddns sim: %s %s run failed: %s\n", o->overlay[i],
				o->crash ? "crash" : "churn", ddns_strerror(err));
			rc = 1;
		}
		fflush(stdout);
	}
	sim_latency_free(lat);
	return rc;
}

int ddns_cmd_sim(int argc, char **argv)
{
	enum { O_NODES = 256, O_OVERLAY, O_LOOKUPS, O_SEED, O_LOSS, O_FAIL, O_LAT, O_JOINGAP, O_MATRIX,
	       O_LATDIST, O_REPLICAS, O_SUCC, O_K, O_ALPHA, O_PNS, O_PAR, O_JSON, O_QUIET,
	       O_RECORDS, O_QUERIES, O_UNRES, O_SLASH, O_ZIPF, O_NAMES, O_NOCACHE, O_VERIFY,
	       O_OUT, O_CONVRES, O_VNODES, O_TRACE, O_DUP, O_REORDER, O_SPIKE, O_CHURN, O_WEIBULL,
	       O_HOURS, O_LRATE, O_GRATE, O_REPUB, O_NOREPAIR, O_CRASH, O_CRASHONE };
	static const struct option opts[] = {
		{"nodes", required_argument, NULL, O_NODES},
		{"overlay", required_argument, NULL, O_OVERLAY},
		{"lookups", required_argument, NULL, O_LOOKUPS},
		{"seed", required_argument, NULL, O_SEED},
		{"loss", required_argument, NULL, O_LOSS},
		{"fail", required_argument, NULL, O_FAIL},
		{"dup", required_argument, NULL, O_DUP},
		{"reorder", required_argument, NULL, O_REORDER},
		{"spike", required_argument, NULL, O_SPIKE},
		{"latency-ms", required_argument, NULL, O_LAT},
		{"join-gap", required_argument, NULL, O_JOINGAP},
		{"latency-matrix", required_argument, NULL, O_MATRIX},
		{"latency-dist", required_argument, NULL, O_LATDIST},
		{"replicas", required_argument, NULL, O_REPLICAS},
		{"succ-list", required_argument, NULL, O_SUCC},
		{"k", required_argument, NULL, O_K},
		{"alpha", required_argument, NULL, O_ALPHA},
		{"pns", no_argument, NULL, O_PNS},
		{"parallel", required_argument, NULL, O_PAR},
		{"json", no_argument, NULL, O_JSON},
		{"quiet", no_argument, NULL, O_QUIET},
		{"records", required_argument, NULL, O_RECORDS},
		{"queries", required_argument, NULL, O_QUERIES},
		{"unresolved", required_argument, NULL, O_UNRES},
		{"slashdot", required_argument, NULL, O_SLASH},
		{"zipf", required_argument, NULL, O_ZIPF},
		{"names", required_argument, NULL, O_NAMES},
		{"no-cache", no_argument, NULL, O_NOCACHE},
		{"verify", no_argument, NULL, O_VERIFY},
		{"out", required_argument, NULL, O_OUT},
		{"conv-resolvers", required_argument, NULL, O_CONVRES},
		{"vnodes", required_argument, NULL, O_VNODES},
		{"trace", required_argument, NULL, O_TRACE},
		{"churn", required_argument, NULL, O_CHURN},
		{"weibull", required_argument, NULL, O_WEIBULL},
		{"hours", required_argument, NULL, O_HOURS},
		{"lookup-rate", required_argument, NULL, O_LRATE},
		{"get-rate", required_argument, NULL, O_GRATE},
		{"republish", required_argument, NULL, O_REPUB},
		{"no-repair", no_argument, NULL, O_NOREPAIR},
		{"crash", no_argument, NULL, O_CRASH},
		{"crash-one", required_argument, NULL, O_CRASHONE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct simopts o = {
		.nodes = 1000, .lookups = 10000, .seed = 1, .lat_ms = -1,
		.replicas = 6, .succ = 16, .k = 8, .alpha = 3, .parallel = 64, .join_gap_ms = -1,
		.records = 120000, .queries = 260000, .unresolved = 220000, .slashdot = 100000,
		.zipf = 0.91, .conv_resolvers = 1, .vnodes = 1,
		.hours = 24, .lookup_rate = 10, .get_rate = 10, .republish_s = 3600, .crash_one = 100,
	};
	bool fail_set = false;
	int c;
	bool parallel_set = false;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int bad = 0;
		switch (c) {
		case O_NODES: bad = parse_num("--nodes", optarg, 1, 1e6, &o.nodes); break;
		case O_OVERLAY:
			if (o.noverlay == MAX_OVERLAYS) {
				fprintf(stderr, "ddns sim: at most %d --overlay flags\n", MAX_OVERLAYS);
				return 2;
			}
			o.overlay[o.noverlay++] = optarg;
			break;
		case O_LOOKUPS: bad = parse_num("--lookups", optarg, 0, 1e9, &o.lookups); break;
		case O_SEED: bad = parse_num("--seed", optarg, 0, 9e15, &o.seed); break;
		case O_LOSS: bad = parse_num("--loss", optarg, 0, 0.99, &o.loss); break;
		case O_FAIL: bad = parse_num("--fail", optarg, 0, 0.99, &o.fail); fail_set = true; break;
		case O_DUP: bad = parse_num("--dup", optarg, 0, 1, &o.faults.dup); break;
		case O_REORDER:
			bad = parse_fault("--reorder", optarg, false, &o.faults.reorder,
					  &o.faults.reorder_us);
			break;
		case O_SPIKE:
			bad = parse_fault("--spike", optarg, true, &o.faults.spike, &o.faults.spike_us);
			break;
		case O_LAT: bad = parse_num("--latency-ms", optarg, 0, 1e5, &o.lat_ms); break;
		case O_JOINGAP: bad = parse_num("--join-gap", optarg, 0, 1e7, &o.join_gap_ms); break;
		case O_MATRIX: o.matrix = optarg; break;
		case O_LATDIST: o.latdist = optarg; o.storage = true; break;
		case O_REPLICAS:
			bad = parse_num("--replicas", optarg, 1, OVL_MAX_REPLICAS, &o.replicas);
			o.replicas_set = true;
			break;
		case O_SUCC: bad = parse_num("--succ-list", optarg, 1, 64, &o.succ); break;
		case O_K: bad = parse_num("--k", optarg, 1, 64, &o.k); break;
		case O_ALPHA: bad = parse_num("--alpha", optarg, 1, 16, &o.alpha); break;
		case O_PNS: o.pns = true; break;
		case O_PAR:
			bad = parse_num("--parallel", optarg, 1, 1e6, &o.parallel);
			parallel_set = true;
			break;
		case O_JSON: o.json = true; break;
		case O_QUIET: o.quiet = true; break;
		case O_RECORDS:
			bad = parse_num("--records", optarg, 0, 1e8, &o.records);
			o.storage = o.records_set = true;
			break;
		case O_QUERIES: bad = parse_num("--queries", optarg, 0, 1e9, &o.queries); o.storage = true; break;
		case O_UNRES: bad = parse_num("--unresolved", optarg, 0, 1e9, &o.unresolved); o.storage = true; break;
		case O_SLASH: bad = parse_num("--slashdot", optarg, 0, 1e9, &o.slashdot); o.storage = true; break;
		case O_ZIPF: bad = parse_num("--zipf", optarg, 0, 5, &o.zipf); o.storage = true; break;
		case O_NAMES: o.names = optarg; o.storage = true; break;
		case O_NOCACHE: o.no_cache = true; o.storage = true; break;
		case O_VERIFY: o.verify = true; o.storage = true; break;
		case O_OUT: o.out = optarg; o.storage = true; break;
		case O_TRACE: o.trace = optarg; o.storage = true; break;
		case O_VNODES: bad = parse_num("--vnodes", optarg, 1, 64, &o.vnodes); break;
		case O_CONVRES: bad = parse_num("--conv-resolvers", optarg, 1, 1e6, &o.conv_resolvers); o.storage = true; break;
		case O_CHURN: bad = parse_duration("--churn", optarg, 1, 1e8, &o.session_s); o.churn = true; break;
		case O_WEIBULL: bad = parse_num("--weibull", optarg, 0.05, 20, &o.weibull_k); break;
		case O_HOURS: bad = parse_num("--hours", optarg, 0.001, 1e4, &o.hours); break;
		case O_LRATE: bad = parse_num("--lookup-rate", optarg, 0, 1e5, &o.lookup_rate); break;
		case O_GRATE: bad = parse_num("--get-rate", optarg, 0, 1e5, &o.get_rate); break;
		case O_REPUB: bad = parse_duration("--republish", optarg, 0, 1e8, &o.republish_s); break;
		case O_NOREPAIR: o.no_repair = true; break;
		case O_CRASH: o.crash = true; break;
		case O_CRASHONE: bad = parse_num("--crash-one", optarg, 0, 1e6, &o.crash_one); break;
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
	if (o.noverlay == 0)
		o.overlay[o.noverlay++] = "kad16";
	for (size_t i = 0; i < o.noverlay; i++) {
		if (!ovl_ops_by_name(o.overlay[i])) {
			fprintf(stderr, "ddns sim: unknown overlay '%s' (chord or kad16)\n", o.overlay[i]);
			return 2;
		}
	}
	if (!isatty(STDERR_FILENO))
		o.quiet = true;
	if (o.churn && o.crash) {
		fprintf(stderr, "ddns sim: --churn and --crash are separate experiments; give one\n");
		return 2;
	}
	if (o.churn || o.crash) {
		if (!o.records_set)
			o.records = 10000;
		if (o.crash && !fail_set)
			o.fail = 0.25;
		return run_churn(&o);
	}
	/* Storage runs keep more gets in flight: the same workload in less
	 * simulated time, so less of the run is spent in periodic maintenance. */
	if (o.storage && !parallel_set)
		o.parallel = 256;
	if (o.storage)
		return run_storage(&o);
	for (size_t i = 0; i < o.noverlay; i++)
		if (run_lookups(&o, o.overlay[i]) != 0)
			return 1;
	return 0;
}
