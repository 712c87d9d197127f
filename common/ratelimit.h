/*
 * ratelimit.h - per-source token buckets, in a table of bounded size: the
 * one mechanism behind the gateway's response rate limit and the node's
 * request rate limit.
 *
 * Each source (an opaque key of at most DDNS_RL_KEY_MAX octets, e.g. an
 * address family and address) has a bucket of `burst` tokens refilled at
 * `rate` per second; a request spends one token and is refused when none is
 * left. At most `max_sources` buckets are kept: a new source evicts the one
 * seen least recently, so an outsider cannot grow the table. Time comes
 * from the caller (microseconds), so the simulator stays deterministic.
 */
#ifndef DDNS_COMMON_RATELIMIT_H
#define DDNS_COMMON_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DDNS_RL_KEY_MAX 17

struct ddns_ratelimit;

/* rate > 0 per second, burst >= 1 tokens, max_sources >= 1. NULL on
 * -ENOMEM or bad arguments. */
struct ddns_ratelimit *ddns_rl_new(double rate, double burst, size_t max_sources);
void ddns_rl_free(struct ddns_ratelimit *rl);

/* May the source key[0..len) (len <= DDNS_RL_KEY_MAX) have one more now?
 * Spends a token when it may. Out of memory lets the request through. */
bool ddns_rl_allow(struct ddns_ratelimit *rl, const uint8_t *key, size_t len, uint64_t now_us);

/* Sources tracked now (<= max_sources). */
size_t ddns_rl_sources(const struct ddns_ratelimit *rl);

#endif
