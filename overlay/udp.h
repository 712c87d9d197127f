/*
 * udp.h - the real-network transport backend: libevent and non-blocking UDP
 * sockets, IPv4 and IPv6.
 *
 * One endpoint is one socket bound to one address (an IPv6 socket is
 * IPV6_V6ONLY, so v4 and v6 endpoints may share a port number). Datagrams of
 * up to 64 KiB are received whole; a read event drains a bounded number of
 * them so one busy socket cannot starve the loop. mtu is 65507 (the IPv4
 * UDP maximum) for both families. now_us is CLOCK_MONOTONIC; random draws
 * from getrandom() through a small pool. Sending to an address of the
 * other family fails with -EAFNOSUPPORT; a full socket buffer counts as a
 * lost datagram (send returns 0, send_errors is bumped).
 *
 * Bind a specific address rather than a wildcard: peers derive this node's
 * id from the source address they observe (overlay/rpc.h), and tr->self is
 * what this node claims.
 *
 * Lifetime: tr_free releases the socket and every timer; it must not be
 * called from inside one of this endpoint's own callbacks (receive or
 * timer). The event base must outlive the endpoint.
 */
#ifndef DDNS_OVERLAY_UDP_H
#define DDNS_OVERLAY_UDP_H

#include "overlay/transport.h"

struct event_base;

struct udp_tr_opts;

/* Bind a UDP socket to addr (port 0 picks a free port; tr->self then holds
 * the real one) on base (borrowed), with the options in opts (NULL: the
 * defaults, no delay). NULL and *err on failure: -ENOMEM, -EAFNOSUPPORT
 * (bad family), or the socket's -errno (-EADDRINUSE, -EADDRNOTAVAIL, ...).
 * err may be NULL. */
struct tr *udp_tr_new(struct event_base *base, const struct tr_addr *addr,
		      const struct udp_tr_opts *opts, int *err);

struct udp_tr_stats {
	uint64_t datagrams_in, datagrams_out;
	uint64_t bytes_in, bytes_out;
	uint64_t send_errors;
	uint64_t recv_truncated;  /* datagrams larger than the receive buffer */
	/* Appended: the delay queue (udp_tr_set_delay). */
	uint64_t delayed;         /* datagrams that went through the delay queue */
	uint64_t delay_queue_len, delay_queue_peak; /* held now, most ever held */
};
/* Counters of an endpoint made by udp_tr_new (t must be one). */
void udp_tr_get_stats(const struct tr *t, struct udp_tr_stats *out);

/* --- Emulated delay (append-only addition, for `ddns testbed --latency-matrix`) ---
 *
 * A delay function gives the one-way delay, in microseconds, to add to a
 * datagram sent to `to` (0: send at once). With one set, udp_send copies
 * each delayed datagram into a delay queue ordered by due time (a binary
 * heap; equal due times keep their send order) and one libevent timer
 * sends the queue's head when it falls due, so a pair's datagrams leave in
 * order and the queue costs O(log n) per datagram. The send itself happens
 * later: its errors are counted (send_errors), as loss would be. tr_free
 * drops what is still queued. */
typedef uint64_t (*udp_delay_cb)(void *arg, const struct tr_addr *to);

/* Options of one endpoint, handed to udp_tr_new (zero: the defaults). */
struct udp_tr_opts {
	/* Delay every send from the first one by delay(delay_arg, to) (arg
	 * borrowed: it must outlive the endpoint). NULL: send at once. */
	udp_delay_cb delay;
	void *delay_arg;
};

/* Delay t's later sends by cb(arg, to) (arg borrowed: it must outlive t or
 * the next call); cb NULL turns delays off (datagrams already queued still
 * leave at their due time). t must come from udp_tr_new. */
void udp_tr_set_delay(struct tr *t, udp_delay_cb cb, void *arg);

#endif
