/*
 * testbed_report.c - the testbed's comparison table, CSV, JSON and gnuplot
 * histograms (cli/testbed.h): one row per overlay, the gateway and, with
 * --conventional, the conventional resolver, cold and warm.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/testbed.h"
#include "cli/testbed_conv.h"
#include "common/stats.h"
#include "overlay/overlay.h"

extern char **environ;

const char *tb_kind_name(int k)
{
	static const char *const dns[] = {"gateway", "conventional", "gateway_warm",
					  "conventional_warm"};
	return k >= TB_KIND_GW ? dns[k - TB_KIND_GW] : ovl_wire_name((uint8_t)k);
}
/* --- report --- */

static void dist_of(struct ddns_samples *s, struct ddns_dist *d)
{
	memset(d, 0, sizeof(*d));
	if (s->n)
		ddns_samples_dist(s, d);
}

void tb_print_table(FILE *f, struct tb *t)
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

int tb_write_csv(const char *path, struct tb *t)
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

void tb_print_json(FILE *f, struct tb *t, struct setup *s, bool have_load, bool check_ok,
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

/* Histograms of RPCs and hops per lookup, one PNG per figure. */
int tb_plot(const char *dir, struct tb *t, const char *log)
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

