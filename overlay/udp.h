/*
 * udp.h - the real-network transport backend: libevent and non-blocking UDP
 * sockets, IPv4 and IPv6.
 */
#ifndef DDNS_OVERLAY_UDP_H
#define DDNS_OVERLAY_UDP_H

#include "overlay/transport.h"

struct event_base;

/* Bind a UDP socket to addr (port 0 picks a free port; tr->self then holds
 * the real one) on base (borrowed). NULL and *err (-errno) on failure. */
struct tr *udp_tr_new(struct event_base *base, const struct tr_addr *addr, int *err);

struct udp_tr_stats {
	uint64_t datagrams_in, datagrams_out;
	uint64_t bytes_in, bytes_out;
	uint64_t send_errors;
	uint64_t recv_truncated;  /* datagrams larger than the receive buffer */
};
void udp_tr_get_stats(const struct tr *t, struct udp_tr_stats *out);

#endif
