#include "common/stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void ddns_samples_init(struct ddns_samples *s) { memset(s, 0, sizeof(*s)); }

void ddns_samples_free(struct ddns_samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

int ddns_samples_add(struct ddns_samples *s, double v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		double *nv = realloc(s->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double ddns_percentile_sorted(const double *sorted, size_t n, double q)
{
	if (n == 0)
		return 0;
	size_t rank = (size_t)ceil(q / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

void ddns_samples_dist(struct ddns_samples *s, struct ddns_dist *out)
{
	memset(out, 0, sizeof(*out));
	out->n = s->n;
	if (s->n == 0)
		return;
	qsort(s->v, s->n, sizeof(double), cmp_double);
	double sum = 0;
	for (size_t i = 0; i < s->n; i++)
		sum += s->v[i];
	out->min = s->v[0];
	out->max = s->v[s->n - 1];
	out->mean = sum / (double)s->n;
	out->median = ddns_percentile_sorted(s->v, s->n, 50);
	out->p90 = ddns_percentile_sorted(s->v, s->n, 90);
	out->p99 = ddns_percentile_sorted(s->v, s->n, 99);
}
