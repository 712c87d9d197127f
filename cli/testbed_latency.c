/*
 * testbed_latency.c - a testbed node's place in an RTT matrix
 * (cli/testbed_latency.h).
 */
#include "cli/testbed_latency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/rng.h"
#include "overlay/sim.h"

struct tb_latency {
	struct sim_latency *model;
	uint32_t self;
	/* The matrix model does not draw; the rng only satisfies the interface. */
	struct ddns_rng rng;
};

long tb_latency_index_of(const struct tr_addr *a)
{
	if (a->family != TR_AF_INET)
		return -1;
	long v;
	if (a->ip[0] == 127)
		v = (long)(ddns_get_u32(a->ip) & 0xffffffu);
	else if (a->ip[0] == 198 && a->ip[1] == 18) /* --netns: 198.18.0.0/16 */
		v = (long)ddns_get_u16(a->ip + 2);
	else
		return -1;
	return v >= 2 ? v - 2 : -1;
}

struct tr_addr tb_latency_addr_of(uint32_t k, uint16_t port)
{
	uint32_t v = k + 2;
	return tr_addr_v4((127u << 24) | (v & 0xffffffu), port);
}

struct tb_latency *tb_latency_new(const char *path, uint64_t seed, uint32_t self, char *err,
				  size_t errlen)
{
	struct tb_latency *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	int e = 0;
	l->model = sim_latency_matrix_load(path, 1000.0, seed, &e);
	if (!l->model) {
		snprintf(err, errlen, "--latency-matrix %s: %s", path, ddns_strerror(e));
		free(l);
		return NULL;
	}
	l->self = self;
	ddns_rng_seed(&l->rng, seed);
	return l;
}

void tb_latency_free(struct tb_latency *l)
{
	if (!l)
		return;
	sim_latency_free(l->model);
	free(l);
}

uint64_t tb_latency_one_way(struct tb_latency *l, uint32_t src, uint32_t dst)
{
	return l->model->one_way_us(l->model->arg, src, dst, &l->rng);
}

size_t tb_latency_host_of(const struct tb_latency *l, uint32_t k)
{
	return sim_latency_matrix_host_of(l->model, k);
}

uint64_t tb_latency_delay(void *arg, const struct tr_addr *to)
{
	struct tb_latency *l = arg;
	long k = tb_latency_index_of(to);
	if (k < 0 || (uint32_t)k == l->self)
		return 0;
	return tb_latency_one_way(l, l->self, (uint32_t)k);
}

struct tr_addr tb_latency_netns_addr_of(uint32_t k, uint16_t port)
{
	uint32_t v = k + 2;
	return tr_addr_v4((198u << 24) | (18u << 16) | (v & 0xffffu), port);
}
