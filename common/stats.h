/*
 * stats.h - distributions of per-lookup figures (RPCs, hops, latency).
 *
 * A sample vector that grows, and its summary: min, median, mean, p90, p99,
 * max. Used by ddns sim, the testbed and the gateway's statistics. Percentiles
 * are nearest-rank on the sorted samples.
 */
#ifndef DDNS_COMMON_STATS_H
#define DDNS_COMMON_STATS_H

#include <stddef.h>

struct ddns_samples {
	double *v;
	size_t n;
	size_t cap;
};

struct ddns_dist {
	size_t n;
	double min, median, mean, p90, p99, max;
};

void ddns_samples_init(struct ddns_samples *s);
void ddns_samples_free(struct ddns_samples *s);
/* Returns 0 or -ENOMEM. */
int ddns_samples_add(struct ddns_samples *s, double v);
/* Summarise (sorts s->v in place). All fields 0 when s is empty. */
void ddns_samples_dist(struct ddns_samples *s, struct ddns_dist *out);
/* Nearest-rank percentile q in [0,100] of sorted values. */
double ddns_percentile_sorted(const double *sorted, size_t n, double q);

#endif
