/*
 * transport.h - the seam between protocol code and the world.
 *
 * Overlay and DHT code never touch sockets, clocks or random sources: they
 * send datagrams, receive them through one callback, set timers, read the
 * current time and draw random numbers only through a struct tr. Two backends
 * implement it: udp (libevent, real sockets; overlay/udp.h) and sim (a
 * deterministic discrete-event simulator; overlay/sim.h). The same chord,
 * kad16 and DHash code runs unchanged over both.
 *
 * A struct tr is one network endpoint (one address:port). Several protocol
 * instances share it through the RPC layer (overlay/rpc.h), which is the only
 * receiver a transport normally has.
 *
 * This header is the whole interface: backends fill a const struct tr_ops
 * and embed struct tr at the start of their own state; callers use the inline
 * wrappers below, never t->ops->f directly.
 */
#ifndef DDNS_OVERLAY_TRANSPORT_H
#define DDNS_OVERLAY_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* A node address: IPv4 or IPv6 plus port, as a plain value (copy freely). */
struct tr_addr {
	uint8_t family; /* TR_AF_INET or TR_AF_INET6 */
	uint8_t ip[16]; /* IPv4 in ip[0..3], the rest zero */
	uint16_t port;  /* host byte order */
};

#define TR_AF_INET 4
#define TR_AF_INET6 6
/* "[ffff:...:ffff]:65535" plus NUL */
#define TR_ADDRSTRLEN 64

/* Parse "1.2.3.4:53", "[::1]:53"; with default_port != 0 the port may be
 * omitted. Returns 0 or DDNS_EMALFORMED. */
int tr_addr_parse(const char *s, uint16_t default_port, struct tr_addr *out) DDNS_WUR;
/* Format as "1.2.3.4:53" or "[::1]:53"; returns out. */
char *tr_addr_str(const struct tr_addr *a, char out[TR_ADDRSTRLEN]);
bool tr_addr_eq(const struct tr_addr *a, const struct tr_addr *b);
/* Build an IPv4 address from a host-order u32 and a port. */
struct tr_addr tr_addr_v4(uint32_t ip, uint16_t port);

struct tr;
struct tr_timer;

/* A datagram arrived. data is borrowed until the callback returns. */
typedef void (*tr_recv_cb)(void *arg, const struct tr_addr *from,
			   const uint8_t *data, size_t len);
/* A timer fired. A one-shot timer is freed by the transport right after its
 * callback returns (do not cancel it afterwards); a periodic one stays until
 * tr_timer_cancel. */
typedef void (*tr_timer_cb)(void *arg);

struct tr_ops {
	const char *name;
	/* Queue one datagram to `to`. Returns 0 (sent or silently lost, as on a
	 * real network), -EMSGSIZE when len > tr->mtu, or a negative errno. */
	int (*send)(struct tr *t, const struct tr_addr *to, const uint8_t *data, size_t len);
	/* Monotonic time in microseconds (virtual time in the simulator). */
	uint64_t (*now_us)(struct tr *t);
	/* Call cb(arg) after delay_us, then every period_us if period_us > 0.
	 * Returns NULL on allocation failure. */
	struct tr_timer *(*timer_add)(struct tr *t, uint64_t delay_us, uint64_t period_us,
				      tr_timer_cb cb, void *arg);
	/* Cancel a pending timer; safe from inside any callback, including the
	 * timer's own. NULL is a no-op. */
	void (*timer_cancel)(struct tr *t, struct tr_timer *tm);
	/* 64 random bits. sim: deterministic from the run's seed; udp: from the
	 * kernel's random source. */
	uint64_t (*random)(struct tr *t);
	/* Release the endpoint and all its timers. */
	void (*free)(struct tr *t);
};

/* Common head of every transport endpoint. */
struct tr {
	const struct tr_ops *ops;
	struct tr_addr self;  /* this endpoint's address (as peers see it) */
	size_t mtu;           /* largest datagram send() accepts */
	tr_recv_cb recv;      /* set with tr_set_recv */
	void *recv_arg;
};

static inline void tr_set_recv(struct tr *t, tr_recv_cb cb, void *arg)
{
	t->recv = cb;
	t->recv_arg = arg;
}

static inline int tr_send(struct tr *t, const struct tr_addr *to, const uint8_t *data, size_t len)
{
	return t->ops->send(t, to, data, len);
}

static inline uint64_t tr_now_us(struct tr *t) { return t->ops->now_us(t); }

static inline struct tr_timer *tr_timer_add(struct tr *t, uint64_t delay_us, uint64_t period_us,
					    tr_timer_cb cb, void *arg)
{
	return t->ops->timer_add(t, delay_us, period_us, cb, arg);
}

static inline void tr_timer_cancel(struct tr *t, struct tr_timer *tm)
{
	if (tm)
		t->ops->timer_cancel(t, tm);
}

static inline uint64_t tr_random(struct tr *t) { return t->ops->random(t); }

/* Uniform in [0, n), n > 0, from tr_random. */
uint64_t tr_random_below(struct tr *t, uint64_t n);

static inline const struct tr_addr *tr_self(const struct tr *t) { return &t->self; }

static inline void tr_free(struct tr *t)
{
	if (t)
		t->ops->free(t);
}

#endif
