/*
 * rng.h - a small deterministic PRNG (xoshiro256**, seeded by splitmix64).
 *
 * Not cryptographic. The simulator gives each node one seeded from the run's
 * seed, so a seed replays a run bit for bit. Protocol code gets randomness
 * only through its transport (tr_random), never from here directly.
 */
#ifndef DDNS_COMMON_RNG_H
#define DDNS_COMMON_RNG_H

#include <stdint.h>

struct ddns_rng {
	uint64_t s[4];
};

void ddns_rng_seed(struct ddns_rng *r, uint64_t seed);
uint64_t ddns_rng_next(struct ddns_rng *r);
/* Uniform in [0, n) without modulo bias; n > 0. */
uint64_t ddns_rng_below(struct ddns_rng *r, uint64_t n);
/* Uniform in [0, 1). */
double ddns_rng_double(struct ddns_rng *r);

#endif
