/*
 * evloop.h - driving a libevent loop in tests: run until a condition holds
 * or a deadline passes, never sleeping. Shared by the udp, rpc and live
 * overlay tests.
 */
#ifndef DDNS_TESTS_EVLOOP_H
#define DDNS_TESTS_EVLOOP_H

#include <check.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline void evloop_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Run the loop until cond(arg) or max_ms elapse; true when cond held. cond
 * is evaluated once per iteration (it may consume input); NULL never
 * holds, so the loop runs for max_ms. A wake-up timer of at most 10 ms keeps
 * EVLOOP_ONCE from blocking past the deadline and re-checks conditions that
 * poll a socket. */
static inline bool loop_until(struct event_base *base, bool (*cond)(void *), void *arg,
			      unsigned max_ms)
{
	uint64_t deadline = mono_us() + (uint64_t)max_ms * 1000u;
	struct event *ev = evtimer_new(base, evloop_wake, NULL);
	ck_assert_ptr_nonnull(ev);
	bool ok = false;
	while (!(ok = cond && cond(arg))) {
		uint64_t now = mono_us();
		if (now >= deadline)
			break;
		uint64_t left = deadline - now;
		if (left > 10000)
			left = 10000;
		struct timeval tv = {0, (suseconds_t)left};
		evtimer_add(ev, &tv);
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(ev);
	return ok;
}

#endif
