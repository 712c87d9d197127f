/* Unit tests for overlay/rpc.c over the real udp transport on loopback.
 *
 * Hand-built datagrams (the "raw" peer below) follow docs/PROTOCOL.md
 * independently of rpc.c, so a drift between the document and the code
 * fails here. The event loop is driven with EVLOOP_ONCE until a condition
 * or a deadline; nothing sleeps. (RPC over the simulator - loss, latency,
 * crashes, determinism - is tested with the simulator.) */
#include <arpa/inet.h>
#include <check.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "overlay/id.h"
#include "overlay/rpc.h"
#include "overlay/udp.h"

/* ---- loop driving ---- */

#include "tests/unit/overlay/evloop.h"

/* ---- endpoints ---- */

struct ep {
	struct tr *t;
	struct rpc *r;
};

static bool try_ep(struct event_base *base, const char *addr, const struct rpc_params *p,
		   struct ep *e)
{
	struct tr_addr a;
	int err;
	ck_assert_int_eq(tr_addr_parse(addr, 0, &a), 0);
	e->t = udp_tr_new(base, &a, NULL, &err);
	if (!e->t)
		return false;
	e->r = rpc_new(e->t, p);
	ck_assert_ptr_nonnull(e->r);
	return true;
}

static void ep_open(struct event_base *base, const char *addr, const struct rpc_params *p,
		    struct ep *e)
{
	ck_assert_msg(try_ep(base, addr, p, e), "cannot bind %s", addr);
}

static void ep_close(struct ep *e)
{
	rpc_free(e->r);
	tr_free(e->t);
}

static struct rpc_stats stats_of(struct ep *e)
{
	struct rpc_stats s;
	rpc_get_stats(e->r, &s);
	return s;
}

/* ---- a server: echoes the payload back with type + 1 ---- */

struct server {
	struct ep *e;
	unsigned handled;
	struct rpc_msg last; /* payload pointer not kept */
	bool defer;          /* answer later from a timer */
	struct rpc_reply_to later;
	uint8_t *later_payload;
	size_t later_len;
};

static void send_later(void *arg)
{
	struct server *s = arg;
	ck_assert_int_eq(rpc_reply_later(s->e->r, &s->later, 99, s->later_payload, s->later_len), 0);
	free(s->later_payload);
	s->later_payload = NULL;
}

static void echo_handler(void *arg, const struct rpc_msg *req)
{
	struct server *s = arg;
	s->handled++;
	s->last = *req;
	s->last.payload = NULL;
	if (s->defer) {
		rpc_reply_to_from(req, &s->later);
		s->later_payload = malloc(req->len ? req->len : 1);
		memcpy(s->later_payload, req->payload, req->len);
		s->later_len = req->len;
		ck_assert_ptr_nonnull(tr_timer_add(s->e->t, 5000, 0, send_later, s));
		return;
	}
	ck_assert_int_eq(rpc_reply(s->e->r, req, (uint8_t)(req->type + 1), req->payload, req->len),
			 0);
}

/* ---- a client call ---- */

struct result {
	bool returned; /* rpc_call has returned */
	bool done;
	bool inside;   /* the callback ran inside rpc_call */
	int status;
	struct rpc_msg reply;
	uint8_t *payload;
	size_t len;
	unsigned calls;
};

static void on_reply(void *arg, int status, const struct rpc_msg *reply)
{
	struct result *res = arg;
	res->calls++;
	res->inside = !res->returned;
	res->done = true;
	res->status = status;
	if (reply) {
		res->reply = *reply;
		res->payload = malloc(reply->len ? reply->len : 1);
		memcpy(res->payload, reply->payload, reply->len);
		res->len = reply->len;
		res->reply.payload = NULL;
	}
}

static bool result_done(void *arg) { return ((struct result *)arg)->done; }

static void call(struct ep *from, const struct tr_addr *to, uint8_t type, const void *payload,
		 size_t len, struct result *res, uint64_t *handle)
{
	struct rpc_call c = {.to = *to,
			     .overlay = RPC_OVL_KAD16,
			     .service = RPC_SVC_DHT,
			     .type = type,
			     .src_vnode = 3,
			     .dst_vnode = 0,
			     .payload = payload,
			     .len = len,
			     .timeout_us = 0,
			     .retries = -1};
	memset(res, 0, sizeof(*res));
	ck_assert_int_eq(rpc_call(from->r, &c, on_reply, res, handle), 0);
	res->returned = true;
}

static void roundtrip(const char *addr, size_t len)
{
	struct event_base *base = event_base_new();
	struct ep a, b;
	ep_open(base, addr, NULL, &a);
	ep_open(base, addr, NULL, &b);
	struct server srv = {.e = &b};
	ck_assert_int_eq(rpc_register(b.r, RPC_OVL_KAD16, RPC_SVC_DHT, 0, echo_handler, &srv), 0);
	uint8_t *payload = malloc(len + 1);
	for (size_t i = 0; i < len; i++)
		payload[i] = (uint8_t)(i * 131 + (i >> 8));
	struct result res;
	uint64_t handle = 0;
	call(&a, tr_self(b.t), 7, payload, len, &res, &handle);
	ck_assert_uint_ne(handle, 0);
	ck_assert(loop_until(base, result_done, &res, 5000));
	ck_assert(!res.inside);
	ck_assert_int_eq(res.status, 0);
	ck_assert_uint_eq(res.calls, 1);
	ck_assert_uint_eq(res.reply.type, 8);
	ck_assert_uint_eq(res.reply.overlay, RPC_OVL_KAD16);
	ck_assert_uint_eq(res.reply.service, RPC_SVC_DHT);
	ck_assert_uint_eq(res.reply.src_vnode, 0);
	ck_assert_uint_eq(res.reply.dst_vnode, 3);
	ck_assert_uint_eq(res.reply.txid, handle);
	ck_assert(tr_addr_eq(&res.reply.from, tr_self(b.t)));
	uint8_t id[DDNS_ID_LEN];
	ovl_id_of(tr_self(b.t), 0, id);
	ck_assert_mem_eq(res.reply.sender_id, id, DDNS_ID_LEN);
	ck_assert_uint_lt(res.reply.rtt_us, 5000000);
	ck_assert_uint_eq(res.len, len);
	if (len)
		ck_assert_mem_eq(res.payload, payload, len);
	/* what the server saw */
	ck_assert_uint_eq(srv.handled, 1);
	ck_assert_uint_eq(srv.last.src_vnode, 3);
	ck_assert_uint_eq(srv.last.len, len);
	ovl_id_of(tr_self(a.t), 3, id);
	ck_assert_mem_eq(srv.last.sender_id, id, DDNS_ID_LEN);
	ck_assert(tr_addr_eq(&srv.last.from, tr_self(a.t)));
	/* counters on both sides */
	struct rpc_stats sa = stats_of(&a), sb = stats_of(&b);
	size_t max = a.t->mtu - 64, frags = len <= max ? 1 : (len + max - 1) / max;
	ck_assert_uint_eq(sa.calls, 1);
	ck_assert_uint_eq(sa.replies_ok, 1);
	ck_assert_uint_eq(sa.retransmits, 0);
	ck_assert_uint_eq(sa.timeouts, 0);
	ck_assert_uint_eq(sa.datagrams_out, frags);
	ck_assert_uint_eq(sa.bytes_out, len + 64 * frags);
	ck_assert_uint_eq(sa.datagrams_in, frags);
	ck_assert_uint_eq(sb.requests_in, 1);
	ck_assert_uint_eq(sb.replies_out, 1);
	ck_assert_uint_eq(sb.datagrams_in, frags);
	ck_assert_uint_eq(sb.bytes_in, len + 64 * frags);
	ck_assert_uint_eq(sb.dropped_malformed + sb.dropped_spoofed + sb.dropped_unmatched +
				  sb.dropped_nohandler + sb.duplicates,
			  0);
	free(res.payload);
	free(payload);
	ep_close(&a);
	ep_close(&b);
	event_base_free(base);
}

static bool have_ipv6_loopback(void)
{
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in6 s6;
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	s6.sin6_addr = in6addr_loopback;
	bool ok = bind(fd, (struct sockaddr *)&s6, sizeof(s6)) == 0;
	close(fd);
	return ok;
}

START_TEST(roundtrip_ipv4) { roundtrip("127.0.0.1:0", 100); }
END_TEST

START_TEST(roundtrip_empty_payload) { roundtrip("127.0.0.1:0", 0); }
END_TEST

START_TEST(roundtrip_ipv6)
{
	if (!have_ipv6_loopback()) {
		printf("SKIP roundtrip_ipv6: the kernel has no IPv6 loopback (::1)\n");
		return;
	}
	roundtrip("[::1]:0", 1000);
}
END_TEST

START_TEST(roundtrip_64k_fragmented) { roundtrip("127.0.0.1:0", 65536); }
END_TEST

START_TEST(roundtrip_max_payload_ipv6)
{
	if (!have_ipv6_loopback()) {
		printf("SKIP roundtrip_max_payload_ipv6: no IPv6 loopback (::1)\n");
		return;
	}
	roundtrip("[::1]:0", RPC_MAX_PAYLOAD);
}
END_TEST

START_TEST(too_big_is_refused)
{
	struct event_base *base = event_base_new();
	struct ep a;
	ep_open(base, "127.0.0.1:0", NULL, &a);
	static uint8_t big[RPC_MAX_PAYLOAD + 1];
	struct rpc_call c = {.to = *tr_self(a.t), .payload = big, .len = sizeof(big), .retries = -1};
	uint64_t h = 42;
	struct result res = {0};
	ck_assert_int_eq(rpc_call(a.r, &c, on_reply, &res, &h), DDNS_ETOOBIG);
	ck_assert_uint_eq(h, 0);
	ck_assert_uint_eq(stats_of(&a).calls, 0);
	struct rpc_reply_to rt = {.to = *tr_self(a.t), .txid = 1};
	ck_assert_int_eq(rpc_reply_later(a.r, &rt, 1, big, sizeof(big)), DDNS_ETOOBIG);
	ep_close(&a);
	event_base_free(base);
}
END_TEST

START_TEST(reply_later_from_a_timer)
{
	struct event_base *base = event_base_new();
	struct ep a, b;
	ep_open(base, "127.0.0.1:0", NULL, &a);
	ep_open(base, "127.0.0.1:0", NULL, &b);
	struct server srv = {.e = &b, .defer = true};
	ck_assert_int_eq(rpc_register(b.r, RPC_OVL_KAD16, RPC_SVC_DHT, 0, echo_handler, &srv), 0);
	struct result res;
	call(&a, tr_self(b.t), 1, "abc", 3, &res, NULL);
	ck_assert(loop_until(base, result_done, &res, 5000));
	ck_assert_int_eq(res.status, 0);
	ck_assert_uint_eq(res.reply.type, 99);
	ck_assert_uint_eq(res.len, 3);
	ck_assert_mem_eq(res.payload, "abc", 3);
	ck_assert_uint_ge(res.reply.rtt_us, 5000); /* the server waited 5 ms */
	free(res.payload);
	ep_close(&a);
	ep_close(&b);
	event_base_free(base);
}
END_TEST

START_TEST(register_is_exclusive_and_unregister_drops)
{
	struct event_base *base = event_base_new();
	struct ep a, b;
	ep_open(base, "127.0.0.1:0", NULL, &a);
	ep_open(base, "127.0.0.1:0", NULL, &b);
	struct server srv = {.e = &b};
	ck_assert_int_eq(rpc_register(b.r, RPC_OVL_KAD16, RPC_SVC_DHT, 0, echo_handler, &srv), 0);
	ck_assert_int_eq(rpc_register(b.r, RPC_OVL_KAD16, RPC_SVC_DHT, 0, echo_handler, &srv),
			 -EEXIST);
	/* other overlay, service or vnode: separate slots */
	ck_assert_int_eq(rpc_register(b.r, RPC_OVL_CHORD, RPC_SVC_DHT, 0, echo_handler, &srv), 0);
	ck_assert_int_eq(rpc_register(b.r, RPC_OVL_KAD16, RPC_SVC_OVERLAY, 0, echo_handler, &srv),
			 0);
	ck_assert_int_eq(rpc_register(b.r, RPC_OVL_KAD16, RPC_SVC_DHT, 1, echo_handler, &srv), 0);
	rpc_unregister(b.r, RPC_OVL_KAD16, RPC_SVC_DHT, 0);
	rpc_unregister(b.r, RPC_OVL_KAD16, RPC_SVC_DHT, 0); /* twice: no-op */
	struct rpc_call c = {.to = *tr_self(b.t),
			     .overlay = RPC_OVL_KAD16,
			     .service = RPC_SVC_DHT,
			     .dst_vnode = 0,
			     .timeout_us = 20000,
			     .retries = 0};
	struct result res = {.returned = true};
	ck_assert_int_eq(rpc_call(a.r, &c, on_reply, &res, NULL), 0);
	ck_assert(loop_until(base, result_done, &res, 5000));
	ck_assert_int_eq(res.status, DDNS_ETIMEDOUT);
	ck_assert_uint_eq(srv.handled, 0);
	ck_assert_uint_eq(stats_of(&b).dropped_nohandler, 1);
	ck_assert_uint_eq(stats_of(&b).requests_in, 0);
	ep_close(&a);
	ep_close(&b);
	event_base_free(base);
}
END_TEST

/* ---- a hand-driven peer: builds datagrams from docs/PROTOCOL.md ---- */

#define HDR 64

struct raw {
	int fd;
	struct tr_addr addr;
	uint8_t in[70000];
	ssize_t in_len;
	unsigned received;
};

static void raw_open(struct raw *w, const char *addr)
{
	struct tr_addr a;
	ck_assert_int_eq(tr_addr_parse(addr, 0, &a), 0);
	w->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(w->fd, 0);
	struct sockaddr_in s4;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	memcpy(&s4.sin_addr, a.ip, 4);
	ck_assert_int_eq(bind(w->fd, (struct sockaddr *)&s4, sizeof(s4)), 0);
	socklen_t sl = sizeof(s4);
	ck_assert_int_eq(getsockname(w->fd, (struct sockaddr *)&s4, &sl), 0);
	w->addr = a;
	w->addr.port = ntohs(s4.sin_port);
	w->received = 0;
}

static void raw_send(struct raw *w, const struct tr_addr *to, const uint8_t *d, size_t len)
{
	struct sockaddr_in s4;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons(to->port);
	memcpy(&s4.sin_addr, to->ip, 4);
	ck_assert_int_eq(sendto(w->fd, d, len, 0, (struct sockaddr *)&s4, sizeof(s4)),
			 (ssize_t)len);
}

/* Condition: one more datagram arrived at the raw socket. */
static bool raw_got(void *arg)
{
	struct raw *w = arg;
	ssize_t n = recv(w->fd, w->in, sizeof(w->in), 0);
	if (n < 0)
		return false;
	w->in_len = n;
	w->received++;
	return true;
}

static void p16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void p32(uint8_t *p, uint32_t v)
{
	p16(p, (uint16_t)(v >> 16));
	p16(p + 2, (uint16_t)v);
}

static uint64_t g64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* A single-fragment message as the document describes it, claiming to come
 * from `claimed` (its id is computed from it) with vnode src_vnode. */
static size_t wire(uint8_t *b, const struct tr_addr *claimed, uint8_t flags, uint8_t type,
		   uint8_t src_vnode, uint8_t dst_vnode, uint64_t txid, const void *pl, size_t len)
{
	memset(b, 0, HDR);
	p16(b + 0, 0xDD4E);
	b[2] = 1;
	b[3] = flags;
	b[4] = RPC_OVL_CHORD;
	b[5] = RPC_SVC_OVERLAY;
	b[6] = type;
	b[7] = src_vnode;
	b[8] = dst_vnode;
	b[9] = claimed->family;
	p16(b + 10, claimed->port);
	memcpy(b + 12, claimed->ip, claimed->family == TR_AF_INET ? 4 : 16);
	for (int i = 0; i < 8; i++)
		b[28 + i] = (uint8_t)(txid >> (56 - 8 * i));
	ovl_id_of(claimed, src_vnode, b + 36);
	p16(b + 56, 0);
	p16(b + 58, 1);
	p32(b + 60, (uint32_t)len);
	memcpy(b + HDR, pl, len);
	return HDR + len;
}

struct counter_wait {
	struct ep *e;
	uint64_t want;
	size_t off; /* offset of a uint64_t field in struct rpc_stats */
};

static bool counter_reached(void *arg)
{
	struct counter_wait *w = arg;
	struct rpc_stats s = stats_of(w->e);
	uint64_t v;
	memcpy(&v, (uint8_t *)&s + w->off, sizeof(v));
	return v >= w->want;
}

#define WAIT_COUNTER(base, ep, field, n)                                                   \
	do {                                                                               \
		struct counter_wait cw_ = {(ep), (n), offsetof(struct rpc_stats, field)};   \
		ck_assert_msg(loop_until((base), counter_reached, &cw_, 3000),             \
			      #field " did not reach %llu", (unsigned long long)(n));       \
	} while (0)

static void chord_server(struct event_base *base, struct ep *b, struct server *srv)
{
	ep_open(base, "127.0.0.1:0", NULL, b);
	memset(srv, 0, sizeof(*srv));
	srv->e = b;
	ck_assert_int_eq(rpc_register(b->r, RPC_OVL_CHORD, RPC_SVC_OVERLAY, 2, echo_handler, srv),
			 0);
}

START_TEST(hand_built_request_is_answered)
{
	/* The document is right: a request built from it is dispatched, and
	 * the reply parses by it too. */
	struct event_base *base = event_base_new();
	struct ep b;
	struct server srv;
	chord_server(base, &b, &srv);
	struct raw w;
	raw_open(&w, "127.0.0.1:0");
	uint8_t d[200];
	size_t n = wire(d, &w.addr, 0, 5, 9, 2, 0x0102030405060708ull, "ping", 4);
	raw_send(&w, tr_self(b.t), d, n);
	ck_assert(loop_until(base, raw_got, &w, 3000));
	ck_assert_uint_eq(srv.handled, 1);
	ck_assert_uint_eq(srv.last.txid, 0x0102030405060708ull);
	ck_assert_uint_eq(srv.last.src_vnode, 9);
	ck_assert_uint_eq(srv.last.dst_vnode, 2);
	ck_assert_int_eq(w.in_len, HDR + 4);
	ck_assert_uint_eq(w.in[0], 0xDD);
	ck_assert_uint_eq(w.in[1], 0x4E);
	ck_assert_uint_eq(w.in[2], 1);
	ck_assert_uint_eq(w.in[3], 1);  /* reply */
	ck_assert_uint_eq(w.in[6], 6);  /* type + 1 */
	ck_assert_uint_eq(w.in[7], 2);  /* from vnode 2 */
	ck_assert_uint_eq(w.in[8], 9);  /* to vnode 9 */
	ck_assert_uint_eq(w.in[9], TR_AF_INET);
	ck_assert_uint_eq((w.in[10] << 8) | w.in[11], tr_self(b.t)->port);
	ck_assert_mem_eq(w.in + 12, tr_self(b.t)->ip, 4);
	ck_assert_uint_eq(g64(w.in + 28), 0x0102030405060708ull);
	uint8_t id[DDNS_ID_LEN];
	ovl_id_of(tr_self(b.t), 2, id);
	ck_assert_mem_eq(w.in + 36, id, DDNS_ID_LEN);
	ck_assert_uint_eq((w.in[56] << 8) | w.in[57], 0);
	ck_assert_uint_eq((w.in[58] << 8) | w.in[59], 1);
	ck_assert_uint_eq(w.in[63], 4);
	ck_assert_mem_eq(w.in + HDR, "ping", 4);
	close(w.fd);
	ep_close(&b);
	event_base_free(base);
}
END_TEST

START_TEST(malformed_datagrams_are_counted_and_dropped)
{
	struct event_base *base = event_base_new();
	struct ep a, b;
	struct server srv;
	chord_server(base, &b, &srv);
	ep_open(base, "127.0.0.1:0", NULL, &a);
	struct raw w;
	raw_open(&w, "127.0.0.1:0");
	uint8_t good[HDR + 16], d[HDR + 64];
	size_t gn = wire(good, &w.addr, 0, 5, 0, 2, 77, "0123456789abcdef", 16);
	uint64_t k = 0;

	/* 1. truncated header */
	raw_send(&w, tr_self(b.t), good, HDR - 1);
	WAIT_COUNTER(base, &b, dropped_malformed, ++k);
	/* 2. empty datagram */
	raw_send(&w, tr_self(b.t), good, 0);
	WAIT_COUNTER(base, &b, dropped_malformed, ++k);
	/* 3. wrong magic */
	memcpy(d, good, gn);
	d[0] ^= 0xff;
	raw_send(&w, tr_self(b.t), d, gn);
	WAIT_COUNTER(base, &b, dropped_malformed, ++k);
	/* 4. wrong version */
	memcpy(d, good, gn);
	d[2] = 2;
	raw_send(&w, tr_self(b.t), d, gn);
	WAIT_COUNTER(base, &b, dropped_malformed, ++k);
	/* 5. total length larger than the datagram holds */
	memcpy(d, good, gn);
	p32(d + 60, 17);
	raw_send(&w, tr_self(b.t), d, gn);
	WAIT_COUNTER(base, &b, dropped_malformed, ++k);
	/* 6. trailing bytes beyond the total length */
	memcpy(d, good, gn);
	p32(d + 60, 15);
	raw_send(&w, tr_self(b.t), d, gn);
	WAIT_COUNTER(base, &b, dropped_malformed, ++k);
	/* 7. fragment index >= count */
	memcpy(d, good, gn);
	p16(d + 56, 1);
	raw_send(&w, tr_self(b.t), d, gn);
	WAIT_COUNTER(base, &b, dropped_malformed, ++k);
	/* 8. fragment count zero */
	memcpy(d, good, gn);
	p16(d + 58, 0);
	raw_send(&w, tr_self(b.t), d, gn);
	WAIT_COUNTER(base, &b, dropped_malformed, ++k);
	/* 9. total beyond RPC_MAX_PAYLOAD */
	memcpy(d, good, gn);
	p16(d + 58, 2);
	p32(d + 60, RPC_MAX_PAYLOAD + 1);
	raw_send(&w, tr_self(b.t), d, gn);
	WAIT_COUNTER(base, &b, dropped_malformed, ++k);
	/* 10. fragment length inconsistent with (total, count): a 2-fragment
	 * message of 100 bytes has 50-byte fragments, not 16 */
	memcpy(d, good, gn);
	p16(d + 58, 2);
	p32(d + 60, 100);
	raw_send(&w, tr_self(b.t), d, gn);
	WAIT_COUNTER(base, &b, dropped_malformed, ++k);
	/* 11. a count the geometry cannot yield (an empty last fragment):
	 * total 16 in 17 fragments */
	memcpy(d, good, gn);
	p16(d + 58, 17);
	raw_send(&w, tr_self(b.t), d, HDR + 1);
	WAIT_COUNTER(base, &b, dropped_malformed, ++k);
	/* 12. unknown address family in the sender field */
	memcpy(d, good, gn);
	d[9] = 5;
	raw_send(&w, tr_self(b.t), d, gn);
	WAIT_COUNTER(base, &b, dropped_malformed, ++k);

	struct rpc_stats st = stats_of(&b);
	ck_assert_uint_eq(st.dropped_malformed, 12);
	ck_assert_uint_eq(st.datagrams_in, 12);
	ck_assert_uint_eq(st.requests_in, 0);
	ck_assert_uint_eq(srv.handled, 0);

	/* still alive: a proper request from a proper endpoint is answered */
	struct rpc_call c = {.to = *tr_self(b.t),
			     .overlay = RPC_OVL_CHORD,
			     .service = RPC_SVC_OVERLAY,
			     .type = 1,
			     .dst_vnode = 2,
			     .payload = "x",
			     .len = 1,
			     .retries = -1};
	struct result res = {.returned = true};
	ck_assert_int_eq(rpc_call(a.r, &c, on_reply, &res, NULL), 0);
	ck_assert(loop_until(base, result_done, &res, 3000));
	ck_assert_int_eq(res.status, 0);
	ck_assert_uint_eq(srv.handled, 1);
	/* and so is the raw peer's good datagram */
	raw_send(&w, tr_self(b.t), good, gn);
	ck_assert(loop_until(base, raw_got, &w, 3000));
	ck_assert_uint_eq(srv.handled, 2);
	free(res.payload);
	close(w.fd);
	ep_close(&a);
	ep_close(&b);
	event_base_free(base);
}
END_TEST

START_TEST(spoofed_sender_id_is_dropped)
{
	struct event_base *base = event_base_new();
	struct ep b;
	struct server srv;
	chord_server(base, &b, &srv);
	struct raw w;
	raw_open(&w, "127.0.0.1:0");
	uint8_t d[HDR + 8];
	/* claims to be another node (other port) */
	struct tr_addr other = w.addr;
	other.port = (uint16_t)(w.addr.port ^ 1);
	size_t n = wire(d, &other, 0, 5, 0, 2, 1234, "spoof", 5);
	raw_send(&w, tr_self(b.t), d, n);
	WAIT_COUNTER(base, &b, dropped_spoofed, 1);
	/* right address, wrong vnode in the id */
	n = wire(d, &w.addr, 0, 5, 0, 2, 1235, "spoof", 5);
	d[7] = 1; /* src_vnode 1, id computed for vnode 0 */
	raw_send(&w, tr_self(b.t), d, n);
	WAIT_COUNTER(base, &b, dropped_spoofed, 2);
	ck_assert_uint_eq(srv.handled, 0);
	ck_assert_uint_eq(stats_of(&b).requests_in, 0);
	ck_assert(!raw_got(&w)); /* no answer */
	/* the genuine one passes */
	n = wire(d, &w.addr, 0, 5, 1, 2, 1236, "true", 4);
	raw_send(&w, tr_self(b.t), d, n);
	ck_assert(loop_until(base, raw_got, &w, 3000));
	ck_assert_uint_eq(srv.handled, 1);
	ck_assert_uint_eq(srv.last.src_vnode, 1);
	close(w.fd);
	ep_close(&b);
	event_base_free(base);
}
END_TEST

START_TEST(reply_from_wrong_address_is_dropped)
{
	struct event_base *base = event_base_new();
	struct ep a;
	ep_open(base, "127.0.0.1:0", NULL, &a);
	struct raw asked, other;
	raw_open(&asked, "127.0.0.1:0");
	raw_open(&other, "127.0.0.1:0");
	struct result res;
	uint64_t handle;
	call(&a, &asked.addr, 4, "q", 1, &res, &handle);
	ck_assert(loop_until(base, raw_got, &asked, 3000));
	uint64_t txid = g64(asked.in + 28);
	ck_assert_uint_eq(txid, handle);
	uint8_t d[HDR + 8];
	/* a genuine (not spoofed) reply with the right txid, wrong sender */
	size_t n = wire(d, &other.addr, 1, 5, 0, 3, txid, "evil", 4);
	d[4] = RPC_OVL_KAD16;
	d[5] = RPC_SVC_DHT;
	raw_send(&other, tr_self(a.t), d, n);
	WAIT_COUNTER(base, &a, dropped_unmatched, 1);
	ck_assert(!res.done);
	/* a reply for a txid nobody asked */
	n = wire(d, &asked.addr, 1, 5, 0, 3, txid ^ 1, "late", 4);
	raw_send(&asked, tr_self(a.t), d, n);
	WAIT_COUNTER(base, &a, dropped_unmatched, 2);
	ck_assert(!res.done);
	/* the right one */
	n = wire(d, &asked.addr, 1, 5, 0, 3, txid, "good", 4);
	raw_send(&asked, tr_self(a.t), d, n);
	ck_assert(loop_until(base, result_done, &res, 3000));
	ck_assert_int_eq(res.status, 0);
	ck_assert_uint_eq(res.len, 4);
	ck_assert_mem_eq(res.payload, "good", 4);
	ck_assert_uint_eq(stats_of(&a).replies_ok, 1);
	/* a second copy of the reply finds nothing pending */
	raw_send(&asked, tr_self(a.t), d, n);
	WAIT_COUNTER(base, &a, dropped_unmatched, 3);
	ck_assert_uint_eq(res.calls, 1);
	free(res.payload);
	close(asked.fd);
	close(other.fd);
	ep_close(&a);
	event_base_free(base);
}
END_TEST

START_TEST(silent_peer_times_out_after_retries)
{
	struct event_base *base = event_base_new();
	struct rpc_params p;
	rpc_params_default(&p);
	p.timeout_us = 20000;
	p.retries = 2;
	p.backoff = 2;
	struct ep a;
	ep_open(base, "127.0.0.1:0", &p, &a);
	struct raw silent;
	raw_open(&silent, "127.0.0.1:0");
	struct result res;
	uint64_t handle;
	uint64_t t0 = mono_us();
	call(&a, &silent.addr, 4, "hello?", 6, &res, &handle);
	ck_assert(loop_until(base, result_done, &res, 5000));
	uint64_t elapsed = mono_us() - t0;
	ck_assert(!res.inside);
	ck_assert_int_eq(res.status, DDNS_ETIMEDOUT);
	ck_assert_uint_eq(res.calls, 1);
	/* 20 + 40 + 80 ms */
	ck_assert_uint_ge(elapsed, 135000); /* libevent rounds to ms */
	struct rpc_stats st = stats_of(&a);
	ck_assert_uint_eq(st.calls, 1);
	ck_assert_uint_eq(st.retransmits, 2);
	ck_assert_uint_eq(st.timeouts, 1);
	ck_assert_uint_eq(st.replies_ok, 0);
	ck_assert_uint_eq(st.datagrams_out, 3);
	/* the peer saw three copies of the same request */
	for (int i = 0; i < 3; i++) {
		ck_assert(raw_got(&silent));
		ck_assert_uint_eq(g64(silent.in + 28), handle);
		ck_assert_int_eq(silent.in_len, HDR + 6);
	}
	ck_assert(!raw_got(&silent));
	/* cancelling a finished call is harmless */
	rpc_cancel(a.r, handle);
	close(silent.fd);
	ep_close(&a);
	event_base_free(base);
}
END_TEST

START_TEST(per_call_timeout_and_no_retry)
{
	struct event_base *base = event_base_new();
	struct ep a;
	ep_open(base, "127.0.0.1:0", NULL, &a); /* default 250 ms x 3 retries */
	struct raw silent;
	raw_open(&silent, "127.0.0.1:0");
	struct rpc_call c = {.to = silent.addr, .timeout_us = 10000, .retries = 0};
	struct result res = {.returned = true};
	uint64_t t0 = mono_us();
	ck_assert_int_eq(rpc_call(a.r, &c, on_reply, &res, NULL), 0);
	ck_assert(loop_until(base, result_done, &res, 3000));
	ck_assert_int_eq(res.status, DDNS_ETIMEDOUT);
	ck_assert_uint_lt(mono_us() - t0, 240000); /* well before the default */
	ck_assert_uint_eq(stats_of(&a).retransmits, 0);
	ck_assert_uint_eq(stats_of(&a).datagrams_out, 1);
	close(silent.fd);
	ep_close(&a);
	event_base_free(base);
}
END_TEST

START_TEST(cancel_suppresses_the_callback)
{
	struct event_base *base = event_base_new();
	struct ep a;
	ep_open(base, "127.0.0.1:0", NULL, &a);
	struct raw peer;
	raw_open(&peer, "127.0.0.1:0");
	struct rpc_call c = {.to = peer.addr, .type = 1, .timeout_us = 10000, .retries = 1};
	struct result r1 = {.returned = true}, r2 = {.returned = true};
	uint64_t h1, h2;
	ck_assert_int_eq(rpc_call(a.r, &c, on_reply, &r1, &h1), 0);
	ck_assert_int_eq(rpc_call(a.r, &c, on_reply, &r2, &h2), 0);
	ck_assert_uint_ne(h1, h2);
	rpc_cancel(a.r, h1);
	rpc_cancel(a.r, 0);         /* never a handle */
	rpc_cancel(a.r, h1 ^ h2);   /* unknown: ignored */
	/* the other call still times out on schedule; the cancelled one is silent */
	ck_assert(loop_until(base, result_done, &r2, 3000));
	ck_assert_int_eq(r2.status, DDNS_ETIMEDOUT);
	/* a reply to the cancelled call arrives: unmatched, no callback */
	uint8_t d[HDR];
	size_t n = wire(d, &peer.addr, 1, 2, 0, 0, h1, "", 0);
	d[4] = 0;
	raw_send(&peer, tr_self(a.t), d, n);
	WAIT_COUNTER(base, &a, dropped_unmatched, 1);
	loop_until(base, NULL, NULL, 50);
	ck_assert_uint_eq(r1.calls, 0);
	struct rpc_stats st = stats_of(&a);
	ck_assert_uint_eq(st.calls, 2);
	ck_assert_uint_eq(st.timeouts, 1);
	ck_assert_uint_eq(st.retransmits, 1); /* only the live call retried */
	close(peer.fd);
	ep_close(&a);
	event_base_free(base);
}
END_TEST

START_TEST(free_with_pending_calls_runs_no_callback)
{
	struct event_base *base = event_base_new();
	struct ep a;
	ep_open(base, "127.0.0.1:0", NULL, &a);
	struct raw peer;
	raw_open(&peer, "127.0.0.1:0");
	struct result res[5];
	for (int i = 0; i < 5; i++)
		call(&a, &peer.addr, 1, "x", 1, &res[i], NULL);
	rpc_free(a.r);
	a.r = NULL;
	loop_until(base, NULL, NULL, 300); /* past the first timeout */
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(res[i].calls, 0);
	close(peer.fd);
	tr_free(a.t);
	event_base_free(base);
}
END_TEST

START_TEST(duplicate_request_is_answered_from_cache)
{
	struct event_base *base = event_base_new();
	struct ep b;
	struct server srv;
	chord_server(base, &b, &srv);
	struct raw w;
	raw_open(&w, "127.0.0.1:0");
	uint8_t d[HDR + 8];
	size_t n = wire(d, &w.addr, 0, 5, 0, 2, 4242, "once", 4);
	raw_send(&w, tr_self(b.t), d, n);
	ck_assert(loop_until(base, raw_got, &w, 3000));
	uint8_t first[HDR + 4];
	ck_assert_int_eq(w.in_len, HDR + 4);
	memcpy(first, w.in, sizeof(first));
	/* the same request again (a retransmission whose reply was lost) */
	raw_send(&w, tr_self(b.t), d, n);
	ck_assert(loop_until(base, raw_got, &w, 3000));
	ck_assert_int_eq(w.in_len, HDR + 4);
	ck_assert_mem_eq(w.in, first, sizeof(first));
	ck_assert_uint_eq(srv.handled, 1);
	struct rpc_stats st = stats_of(&b);
	ck_assert_uint_eq(st.duplicates, 1);
	ck_assert_uint_eq(st.requests_in, 1);
	ck_assert_uint_eq(st.replies_out, 1);
	/* the same txid from another peer is a different request */
	struct raw w2;
	raw_open(&w2, "127.0.0.1:0");
	n = wire(d, &w2.addr, 0, 5, 0, 2, 4242, "once", 4);
	raw_send(&w2, tr_self(b.t), d, n);
	ck_assert(loop_until(base, raw_got, &w2, 3000));
	ck_assert_uint_eq(srv.handled, 2);
	close(w.fd);
	close(w2.fd);
	ep_close(&b);
	event_base_free(base);
}
END_TEST

START_TEST(duplicate_of_unanswered_request_does_not_rerun_handler)
{
	/* The handler answers later; a retransmission meanwhile is dropped
	 * (counted), and the late answer is what a further copy receives. */
	struct event_base *base = event_base_new();
	struct ep b;
	struct server srv;
	chord_server(base, &b, &srv);
	srv.defer = true;
	struct raw w;
	raw_open(&w, "127.0.0.1:0");
	uint8_t d[HDR + 8];
	size_t n = wire(d, &w.addr, 0, 5, 0, 2, 99, "slow", 4);
	raw_send(&w, tr_self(b.t), d, n);
	raw_send(&w, tr_self(b.t), d, n);
	ck_assert(loop_until(base, raw_got, &w, 3000)); /* the deferred reply */
	ck_assert_uint_eq(w.in[6], 99);
	ck_assert_uint_eq(srv.handled, 1);
	ck_assert_uint_eq(stats_of(&b).duplicates, 1);
	raw_send(&w, tr_self(b.t), d, n);
	ck_assert(loop_until(base, raw_got, &w, 3000));
	ck_assert_uint_eq(w.in[6], 99);
	ck_assert_mem_eq(w.in + HDR, "slow", 4);
	ck_assert_uint_eq(srv.handled, 1);
	ck_assert_uint_eq(stats_of(&b).duplicates, 2);
	close(w.fd);
	ep_close(&b);
	event_base_free(base);
}
END_TEST

START_TEST(fragments_out_of_order_and_duplicated_reassemble)
{
	/* Hand-built 3-fragment request of 10 bytes (chunks 4, 4, 2), sent
	 * as 2, 0, 0 (again), 1. */
	struct event_base *base = event_base_new();
	struct ep b;
	struct server srv;
	chord_server(base, &b, &srv);
	struct raw w;
	raw_open(&w, "127.0.0.1:0");
	const char *msg = "0123456789";
	uint8_t f[3][HDR + 4];
	size_t fl[3];
	for (int i = 0; i < 3; i++) {
		size_t off = (size_t)i * 4, len = i < 2 ? 4 : 2;
		wire(f[i], &w.addr, 0, 5, 0, 2, 555, msg + off, len);
		p16(f[i] + 56, (uint16_t)i);
		p16(f[i] + 58, 3);
		p32(f[i] + 60, 10);
		fl[i] = HDR + len;
	}
	raw_send(&w, tr_self(b.t), f[2], fl[2]);
	raw_send(&w, tr_self(b.t), f[0], fl[0]);
	raw_send(&w, tr_self(b.t), f[0], fl[0]);
	WAIT_COUNTER(base, &b, datagrams_in, 3);
	ck_assert_uint_eq(srv.handled, 0);
	raw_send(&w, tr_self(b.t), f[1], fl[1]);
	ck_assert(loop_until(base, raw_got, &w, 3000));
	ck_assert_uint_eq(srv.handled, 1);
	ck_assert_uint_eq(srv.last.len, 10);
	ck_assert_int_eq(w.in_len, HDR + 10);
	ck_assert_mem_eq(w.in + HDR, msg, 10);
	ck_assert_uint_eq(stats_of(&b).dropped_malformed, 0);
	close(w.fd);
	ep_close(&b);
	event_base_free(base);
}
END_TEST

START_TEST(reassembly_memory_is_bounded)
{
	/* With max_reassembly just above one 40 KB message, a second partial
	 * message evicts the first; the complete second one still arrives. */
	struct event_base *base = event_base_new();
	struct rpc_params p;
	rpc_params_default(&p);
	p.max_reassembly = 50000;
	struct ep b;
	ep_open(base, "127.0.0.1:0", &p, &b);
	struct server srv = {.e = &b};
	ck_assert_int_eq(rpc_register(b.r, RPC_OVL_CHORD, RPC_SVC_OVERLAY, 2, echo_handler, &srv),
			 0);
	struct raw w;
	raw_open(&w, "127.0.0.1:0");
	static uint8_t frag[HDR + 20000];
	memset(frag + HDR, 'z', 20000);
	/* message 1: fragment 0 of 2 (40000 bytes) */
	wire(frag, &w.addr, 0, 5, 0, 2, 1, frag + HDR, 0);
	p16(frag + 58, 2);
	p32(frag + 60, 40000);
	raw_send(&w, tr_self(b.t), frag, sizeof(frag));
	/* message 2: both fragments */
	wire(frag, &w.addr, 0, 5, 0, 2, 2, frag + HDR, 0);
	p16(frag + 58, 2);
	p32(frag + 60, 40000);
	raw_send(&w, tr_self(b.t), frag, sizeof(frag));
	p16(frag + 56, 1);
	raw_send(&w, tr_self(b.t), frag, sizeof(frag));
	WAIT_COUNTER(base, &b, requests_in, 1);
	ck_assert_uint_eq(srv.last.txid, 2);
	/* message 1's second fragment now starts a fresh partial: nothing */
	wire(frag, &w.addr, 0, 5, 0, 2, 1, frag + HDR, 0);
	p16(frag + 56, 1);
	p16(frag + 58, 2);
	p32(frag + 60, 40000);
	raw_send(&w, tr_self(b.t), frag, sizeof(frag));
	WAIT_COUNTER(base, &b, datagrams_in, 4);
	ck_assert_uint_eq(srv.handled, 1);
	/* a message larger than the whole budget is refused outright */
	wire(frag, &w.addr, 0, 5, 0, 2, 3, frag + HDR, 0);
	p16(frag + 58, 3);
	p32(frag + 60, 60000);
	raw_send(&w, tr_self(b.t), frag, sizeof(frag));
	WAIT_COUNTER(base, &b, dropped_malformed, 1);
	close(w.fd);
	ep_close(&b);
	event_base_free(base);
}
END_TEST

/* rpc_free from inside callbacks: the instance goes away when the callback
 * returns, with no use after free (ASan) and no further callbacks. */
struct self_destruct {
	struct ep *e;
	unsigned n;
};

static void free_in_handler(void *arg, const struct rpc_msg *req)
{
	struct self_destruct *s = arg;
	s->n++;
	ck_assert_int_eq(rpc_reply(s->e->r, req, 1, "bye", 3), 0);
	rpc_free(s->e->r);
	s->e->r = NULL;
}

static void free_in_reply(void *arg, int status, const struct rpc_msg *reply)
{
	struct self_destruct *s = arg;
	(void)reply;
	ck_assert_int_eq(status, 0);
	s->n++;
	rpc_free(s->e->r);
	s->e->r = NULL;
}

static bool both_done(void *arg)
{
	struct self_destruct *s = arg;
	return s[0].n == 1 && s[1].n == 1;
}

START_TEST(free_inside_callbacks_is_deferred)
{
	struct event_base *base = event_base_new();
	struct ep a, b;
	ep_open(base, "127.0.0.1:0", NULL, &a);
	ep_open(base, "127.0.0.1:0", NULL, &b);
	struct self_destruct s[2] = {{&b, 0}, {&a, 0}};
	ck_assert_int_eq(rpc_register(b.r, 1, 0, 0, free_in_handler, &s[0]), 0);
	struct rpc_call c = {.to = *tr_self(b.t), .overlay = 1, .retries = -1};
	ck_assert_int_eq(rpc_call(a.r, &c, free_in_reply, &s[1], NULL), 0);
	/* a second call whose callback must never run after the free */
	struct result res = {.returned = true};
	ck_assert_int_eq(rpc_call(a.r, &c, on_reply, &res, NULL), 0);
	ck_assert(loop_until(base, both_done, s, 3000));
	ck_assert_ptr_null(a.r);
	ck_assert_ptr_null(b.r);
	loop_until(base, NULL, NULL, 50);
	/* b answered only the first request before going away */
	ck_assert_uint_eq(res.calls, 0);
	free(res.payload);
	tr_free(a.t);
	tr_free(b.t);
	event_base_free(base);
}
END_TEST

/* Many calls in flight at once, in both directions: each reply reaches the
 * call it answers (payloads carry the call's number). */
struct many {
	unsigned done, bad;
};

struct one_call {
	struct many *m;
	uint32_t n;
};

static void many_reply(void *arg, int status, const struct rpc_msg *reply)
{
	struct one_call *c = arg;
	c->m->done++;
	uint32_t got = 0;
	if (status == 0 && reply->len == 4)
		got = (uint32_t)reply->payload[0] << 24 | (uint32_t)reply->payload[1] << 16 |
		      (uint32_t)reply->payload[2] << 8 | reply->payload[3];
	if (status != 0 || reply->len != 4 || got != c->n)
		c->m->bad++;
}

struct many_goal {
	struct many *m;
	unsigned want;
};

static bool many_done(void *arg)
{
	struct many_goal *g = arg;
	return g->m->done >= g->want;
}

START_TEST(many_concurrent_calls_match_their_replies)
{
	enum { N = 400 };
	struct event_base *base = event_base_new();
	struct ep a, b;
	ep_open(base, "127.0.0.1:0", NULL, &a);
	ep_open(base, "127.0.0.1:0", NULL, &b);
	struct server sa = {.e = &a}, sb = {.e = &b};
	ck_assert_int_eq(rpc_register(a.r, RPC_OVL_KAD16, RPC_SVC_DHT, 0, echo_handler, &sa), 0);
	ck_assert_int_eq(rpc_register(b.r, RPC_OVL_KAD16, RPC_SVC_DHT, 0, echo_handler, &sb), 0);
	struct many m = {0};
	struct one_call *calls = calloc(2 * N, sizeof(*calls));
	for (uint32_t i = 0; i < 2 * N; i++) {
		struct ep *from = i % 2 ? &a : &b, *to = i % 2 ? &b : &a;
		uint8_t pl[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
		calls[i].m = &m;
		calls[i].n = i;
		struct rpc_call c = {.to = *tr_self(to->t),
				     .overlay = RPC_OVL_KAD16,
				     .service = RPC_SVC_DHT,
				     .payload = pl,
				     .len = 4,
				     .retries = -1};
		ck_assert_int_eq(rpc_call(from->r, &c, many_reply, &calls[i], NULL), 0);
	}
	struct many_goal g = {&m, 2 * N};
	ck_assert(loop_until(base, many_done, &g, 10000));
	ck_assert_uint_eq(m.done, 2 * N);
	ck_assert_uint_eq(m.bad, 0);
	ck_assert_uint_eq(sa.handled, N);
	ck_assert_uint_eq(sb.handled, N);
	struct rpc_stats st = stats_of(&a);
	ck_assert_uint_eq(st.calls, N);
	ck_assert_uint_eq(st.replies_ok, N);
	ck_assert_uint_eq(st.requests_in, N);
	free(calls);
	ep_close(&a);
	ep_close(&b);
	event_base_free(base);
}
END_TEST

static Suite *rpc_suite(void)
{
	Suite *s = suite_create("rpc");
	TCase *tc = tcase_create("roundtrip");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, roundtrip_ipv4);
	tcase_add_test(tc, roundtrip_empty_payload);
	tcase_add_test(tc, roundtrip_ipv6);
	tcase_add_test(tc, roundtrip_64k_fragmented);
	tcase_add_test(tc, roundtrip_max_payload_ipv6);
	tcase_add_test(tc, too_big_is_refused);
	tcase_add_test(tc, reply_later_from_a_timer);
	tcase_add_test(tc, register_is_exclusive_and_unregister_drops);
	tcase_add_test(tc, many_concurrent_calls_match_their_replies);
	suite_add_tcase(s, tc);
	tc = tcase_create("wire");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, hand_built_request_is_answered);
	tcase_add_test(tc, malformed_datagrams_are_counted_and_dropped);
	tcase_add_test(tc, spoofed_sender_id_is_dropped);
	tcase_add_test(tc, reply_from_wrong_address_is_dropped);
	tcase_add_test(tc, fragments_out_of_order_and_duplicated_reassemble);
	tcase_add_test(tc, reassembly_memory_is_bounded);
	suite_add_tcase(s, tc);
	tc = tcase_create("lifecycle");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, silent_peer_times_out_after_retries);
	tcase_add_test(tc, per_call_timeout_and_no_retry);
	tcase_add_test(tc, cancel_suppresses_the_callback);
	tcase_add_test(tc, free_with_pending_calls_runs_no_callback);
	tcase_add_test(tc, duplicate_request_is_answered_from_cache);
	tcase_add_test(tc, duplicate_of_unanswered_request_does_not_rerun_handler);
	tcase_add_test(tc, free_inside_callbacks_is_deferred);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(rpc_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
