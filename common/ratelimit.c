/* ratelimit.c - per-source token buckets (common/ratelimit.h). */
#include "common/ratelimit.h"

#include <stdlib.h>
#include <string.h>

#include <uthash.h>

struct rl_entry {
	UT_hash_handle hh;
	uint8_t key[DDNS_RL_KEY_MAX]; /* zero-padded */
	double tokens;
	uint64_t at_us;
};

struct ddns_ratelimit {
	double rate, burst;
	size_t max, n;
	struct rl_entry *tab; /* uthash in insertion order: least recently seen first */
};

struct ddns_ratelimit *ddns_rl_new(double rate, double burst, size_t max_sources)
{
	if (!(rate > 0) || !(burst >= 1) || max_sources == 0)
		return NULL;
	struct ddns_ratelimit *rl = calloc(1, sizeof(*rl));
	if (rl) {
		rl->rate = rate;
		rl->burst = burst;
		rl->max = max_sources;
	}
	return rl;
}

void ddns_rl_free(struct ddns_ratelimit *rl)
{
	if (!rl)
		return;
	struct rl_entry *e, *tmp;
	HASH_ITER(hh, rl->tab, e, tmp) {
		HASH_DEL(rl->tab, e);
		free(e);
	}
	free(rl);
}

bool ddns_rl_allow(struct ddns_ratelimit *rl, const uint8_t *key, size_t len, uint64_t now_us)
{
	uint8_t k[DDNS_RL_KEY_MAX] = {0};
	memcpy(k, key, len < sizeof(k) ? len : sizeof(k));
	struct rl_entry *e;
	HASH_FIND(hh, rl->tab, k, sizeof(k), e);
	if (e) {
		HASH_DEL(rl->tab, e); /* re-added below: now the most recently seen */
		if (now_us > e->at_us)
			e->tokens += (double)(now_us - e->at_us) * rl->rate / 1e6;
		if (e->tokens > rl->burst)
			e->tokens = rl->burst;
	} else {
		while (rl->n >= rl->max && rl->tab) {
			struct rl_entry *old = rl->tab;
			HASH_DEL(rl->tab, old);
			free(old);
			rl->n--;
		}
		if (!(e = calloc(1, sizeof(*e))))
			return true;
		memcpy(e->key, k, sizeof(k));
		e->tokens = rl->burst;
		rl->n++;
	}
	e->at_us = now_us;
	HASH_ADD(hh, rl->tab, key, sizeof(e->key), e);
	if (e->tokens < 1.0)
		return false;
	e->tokens -= 1.0;
	return true;
}

size_t ddns_rl_sources(const struct ddns_ratelimit *rl) { return rl ? rl->n : 0; }
