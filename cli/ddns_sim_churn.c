/*
 * ddns_sim_churn.c - the reports of `ddns sim --churn` and `ddns sim
 * --crash` (the experiments are cli/simchurn.c): a text table or one JSON
 * object per overlay.
 */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/simchurn.h"

static double share(size_t a, size_t b) { return b ? (double)a / (double)b : 0; }

static void json_ms(FILE *fp, const char *name, struct ddns_samples *s)
{
	struct ddns_dist d;
	ddns_samples_dist(s, &d);
	fprintf(fp, "\"%s\":{\"median\":%.3f,\"mean\":%.3f,\"p90\":%.3f,\"p99\":%.3f}", name,
		d.median / 1000, d.mean / 1000, d.p90 / 1000, d.p99 / 1000);
}

static void json_num(FILE *fp, const char *name, struct ddns_samples *s)
{
	struct ddns_dist d;
	ddns_samples_dist(s, &d);
	fprintf(fp, "\"%s\":{\"median\":%g,\"mean\":%.4f,\"p99\":%g,\"max\":%g}", name, d.median,
		d.mean, d.p99, d.max);
}

void simchurn_print(FILE *fp, bool json, const char *overlay, const struct simchurn_params *p,
		    struct simchurn_result *r)
{
	const char *dist = p->weibull_k > 0 ? "weibull" : "exponential";
	if (json) {
		fprintf(fp,
			"{\"experiment\":\"churn\",\"overlay\":\"%s\",\"nodes\":%zu,\"records\":%zu,"
			"\"replicas\":%u,\"repair\":%s,\"seed\":%llu,\"session\":{\"median_s\":%g,"
			"\"dist\":\"%s\",\"weibull_k\":%g},\"duration_s\":%g,\"republish_s\":%g,"
			"\"puts_ok\":%zu,\"puts_failed\":%zu,\"joins\":%zu,\"departures\":%zu,"
			"\"live_min\":%zu,\"live_max\":%zu,",
			overlay, r->nodes, r->records, p->net.dht.replicas,
			p->net.dht.maint_us ? "true" : "false", (unsigned long long)p->net.seed,
			p->session_median_s, dist, p->weibull_k, p->duration_s, p->republish_s,
			r->puts_ok, r->puts_failed, r->joins, r->departures, r->live_min, r->live_max);
		fprintf(fp,
			"\"lookups\":{\"rate\":%g,\"completed\":%zu,\"ok\":%zu,\"wrong\":%zu,"
			"\"failed\":%zu,\"cancelled\":%zu,\"success\":%.6f,",
			p->lookup_rate, r->lookups, r->lookups_ok, r->lookups_wrong, r->lookups_failed,
			r->lookups_cancelled, share(r->lookups_ok, r->lookups));
		json_num(fp, "rpcs", &r->lookup_rpcs);
		fprintf(fp, ",");
		json_ms(fp, "latency_ms", &r->lookup_latency_us);
		fprintf(fp,
			"},\"gets\":{\"rate\":%g,\"completed\":%zu,\"ok\":%zu,\"failed\":%zu,"
			"\"cancelled\":%zu,\"success\":%.6f,",
			p->get_rate, r->gets, r->gets_ok, r->gets_failed, r->gets_cancelled,
			share(r->gets_ok, r->gets));
		json_num(fp, "rpcs", &r->get_rpcs);
		fprintf(fp, ",");
		json_ms(fp, "latency_ms", &r->get_latency_us);
		fprintf(fp,
			"},\"republished\":%zu,\"republish_failed\":%zu,\"availability\":{\"check_s\":%g,"
			"\"checks\":%zu,\"records_lost\":%zu,\"lost_at_end\":%zu,\"available_min\":%zu,"
			"\"full_min\":%zu},\"bytes_per_node_s\":%.1f,\"samples\":[",
			r->republished, r->republish_failed, p->check_s, r->checks, r->records_lost,
			r->lost_at_end, r->available_min, r->full_min, r->bytes_per_node_s);
		for (size_t i = 0; i < r->nsamples; i++) {
			const struct simchurn_sample *s = &r->samples[i];
			fprintf(fp,
				"%s{\"t_s\":%.0f,\"live\":%zu,\"joins\":%zu,\"departures\":%zu,"
				"\"lookups\":%zu,\"lookups_ok\":%zu,\"lookup_ms_median\":%.3f,"
				"\"lookup_ms_p99\":%.3f,\"gets\":%zu,\"gets_ok\":%zu,\"get_ms_median\":%.3f,"
				"\"available_min\":%zu,\"full_min\":%zu,\"bytes_per_node_s\":%.1f}",
				i ? "," : "", s->t_s, s->live, s->joins, s->departures, s->lookups,
				s->lookups_ok, s->lookup_ms_median, s->lookup_ms_p99, s->gets, s->gets_ok,
				s->get_ms_median, s->available_min, s->full_min, s->bytes_per_node_s);
		}
		fprintf(fp, "],\"sim_seconds\":%.1f}\n", r->sim_seconds);
		return;
	}
	struct ddns_dist ll, gl;
	ddns_samples_dist(&r->lookup_latency_us, &ll);
	ddns_samples_dist(&r->get_latency_us, &gl);
	fprintf(fp,
		"== %s churn: %zu nodes, %s sessions (median %.0f s), %.1f h, r = %u, repair %s, "
		"seed %llu ==\n",
		overlay, r->nodes, dist, p->session_median_s, p->duration_s / 3600,
		p->net.dht.replicas, p->net.dht.maint_us ? "on" : "off",
		(unsigned long long)p->net.seed);
	fprintf(fp, "membership: %zu joins, %zu departures, live %zu..%zu\n", r->joins, r->departures,
		r->live_min, r->live_max);
	fprintf(fp,
		"lookups: %zu completed, %.4f%% correct (%zu wrong, %zu failed, %zu cancelled); "
		"latency ms median %.1f p99 %.1f\n",
		r->lookups, 100 * share(r->lookups_ok, r->lookups), r->lookups_wrong, r->lookups_failed,
		r->lookups_cancelled, ll.median / 1000, ll.p99 / 1000);
	fprintf(fp,
		"gets: %zu completed, %.4f%% answered (%zu failed, %zu cancelled); latency ms "
		"median %.1f p99 %.1f\n",
		r->gets, 100 * share(r->gets_ok, r->gets), r->gets_failed, r->gets_cancelled,
		gl.median / 1000, gl.p99 / 1000);
	fprintf(fp,
		"records: %zu put (%zu failed), %zu republished (%zu failed); %zu checks every %g s: "
		"%zu ever without a live copy, %zu at the end; at least %zu available and %zu on r "
		"nodes at every check\n",
		r->puts_ok, r->puts_failed, r->republished, r->republish_failed, r->checks, p->check_s,
		r->records_lost, r->lost_at_end, r->available_min, r->full_min);
	fprintf(fp, "bandwidth: %.0f bytes/s sent per live node (all traffic)\n", r->bytes_per_node_s);
	fprintf(fp, "  %7s %5s %5s %5s %9s %9s %9s %9s %9s\n", "hour", "live", "join", "leave",
		"lookup ok", "look ms", "get ok", "avail min", "B/s/node");
	for (size_t i = 0; i < r->nsamples; i++) {
		const struct simchurn_sample *s = &r->samples[i];
		fprintf(fp, "  %7.2f %5zu %5zu %5zu %8.3f%% %9.1f %8.3f%% %9zu %9.0f\n", s->t_s / 3600,
			s->live, s->joins, s->departures, 100 * share(s->lookups_ok, s->lookups),
			s->lookup_ms_median, 100 * share(s->gets_ok, s->gets), s->available_min,
			s->bytes_per_node_s);
	}
	fprintf(fp, "simulated %.0f s\n", r->sim_seconds);
}

void simcrash_print(FILE *fp, bool json, const char *overlay, const struct simchurn_params *p,
		    struct simcrash_result *r)
{
	if (json) {
		fprintf(fp,
			"{\"experiment\":\"crash\",\"overlay\":\"%s\",\"nodes\":%zu,\"records\":%zu,"
			"\"replicas\":%u,\"seed\":%llu,\"puts_ok\":%zu,\"crash_fraction\":%g,"
			"\"crashed\":%zu,\"kept\":%zu,\"resolved_before_repair\":%zu,"
			"\"resolved_before_share\":%.6f,",
			overlay, r->nodes, r->records, p->net.dht.replicas,
			(unsigned long long)p->net.seed, r->puts_ok, p->crash_fraction, r->crashed,
			r->kept, r->resolved_before, share(r->resolved_before, r->puts_ok));
		json_num(fp, "rpcs_before_repair", &r->rpcs_before);
		fprintf(fp, ",");
		json_ms(fp, "latency_ms_before_repair", &r->latency_before_us);
		fprintf(fp,
			",\"repair_s\":%.1f,\"full_after_repair\":%zu,\"resolved_after_repair\":%zu,"
			"\"resolved_after_share\":%.6f,\"one_at_a_time\":{\"crashes\":%zu,\"lost\":%zu,"
			"\"resolved\":%zu,\"repair_s_mean\":%.2f,\"repair_s_max\":%.1f},"
			"\"sim_seconds\":%.1f}\n",
			r->repair_s, r->full_after, r->resolved_after,
			share(r->resolved_after, r->puts_ok), r->one_crashes, r->one_lost, r->one_resolved,
			r->one_repair_s_mean, r->one_repair_s_max, r->sim_seconds);
		return;
	}
	struct ddns_dist rp, lt;
	ddns_samples_dist(&r->rpcs_before, &rp);
	ddns_samples_dist(&r->latency_before_us, &lt);
	fprintf(fp, "== %s crash: %zu nodes, %zu records put, r = %u, seed %llu ==\n", overlay,
		r->nodes, r->puts_ok, p->net.dht.replicas, (unsigned long long)p->net.seed);
	fprintf(fp, "%zu nodes (%.0f%%) crashed at once: %zu records kept a live copy\n", r->crashed,
		100 * p->crash_fraction, r->kept);
	fprintf(fp,
		"before repair: %zu of %zu resolved (%.4f%%); rpcs mean %.2f p99 %g; latency ms "
		"median %.1f p99 %.1f\n",
		r->resolved_before, r->puts_ok, 100 * share(r->resolved_before, r->puts_ok), rp.mean,
		rp.p99, lt.median / 1000, lt.p99 / 1000);
	fprintf(fp, "after %.0f s of repair: %zu on r nodes, %zu of %zu resolved (%.4f%%)\n",
		r->repair_s, r->full_after, r->resolved_after, r->puts_ok,
		100 * share(r->resolved_after, r->puts_ok));
	fprintf(fp,
		"then %zu crashes one at a time with repair after each (mean %.1f s, worst %.0f s): "
		"%zu records lost, %zu of %zu resolved\n",
		r->one_crashes, r->one_repair_s_mean, r->one_repair_s_max, r->one_lost, r->one_resolved,
		r->puts_ok);
	fprintf(fp, "simulated %.0f s\n", r->sim_seconds);
}
