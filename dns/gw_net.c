/*
 * gw_net.c - the gateway's sockets: UDP and TCP on the same ADDR:PORT, on
 * a libevent base.
 *
 * UDP: each datagram is one query; the answer goes back to the sender from
 * the same socket. Reads are batched (at most UDP_BATCH per wake-up) so a
 * flood cannot starve the DHT's own events on the same loop. Where the
 * system has recvmmsg and sendmmsg (Linux), a wake-up reads the whole batch
 * in one call, and the answers made while it is handled (those from the
 * cache) leave together in one sendmmsg at its end: under load, two system
 * calls per batch instead of two per query. Answers that come later (from
 * the DHT), or are larger than an output slot, are sent on their own.
 *
 * TCP (RFC 7766): messages framed by a two-octet length (§8), several
 * queries per connection, answered in whatever order they complete (§6.2.1.1,
 * each answer carries its query's ID). Bounded: at most tcp_max_conns
 * connections (more are closed at once), at most tcp_max_pending unanswered
 * queries per connection (reading pauses beyond that, or while the output
 * buffer is over OUT_MAX because the client does not read), and a
 * connection with nothing pending is closed after tcp_idle_ms without a new
 * query (§6.2.3). A zero-length message is a protocol error and closes the
 * connection.
 *
 * Lifetime: a request (struct net_req) lives from a received query until its
 * answer callback; a TCP request points to its connection until either
 * ends. Closing a connection detaches its requests, so late answers are
 * simply discarded.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uthash.h>
#include <utlist.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/ratelimit.h"
#include "dns/gw_internal.h"
#include "dns/msg.h"

#define UDP_BATCH 64
#define OUT_MAX (256 * 1024)
#define UDP_RECV_MAX 65535
#define UDP_OUT_SLOT 4096 /* an answer queued for the batch's sendmmsg */

#if defined(HAVE_RECVMMSG) && defined(HAVE_SENDMMSG)
#define GW_MMSG 1
#endif

struct net_conn;

struct net_req {
	struct gw_net *net;          /* UDP: the sockets (NULL after gw_net_stop) */
	struct net_conn *c;          /* TCP: the connection, NULL once it closed */
	struct net_req *next, *prev; /* c->reqs */
	struct sockaddr_storage from;
	socklen_t fromlen;
};

struct net_conn {
	struct gw_net *net;
	struct bufferevent *bev;
	struct event *idle;
	struct net_req *reqs;
	unsigned pending;
	bool eof, paused;
	struct net_conn *next, *prev;
};

struct gw_net {
	struct gw *g;
	struct ddns_ratelimit *rl; /* the per-source limit, NULL without rate_limit */
	struct event_base *base;
	evutil_socket_t udp_fd;
	struct event *udp_ev;
	struct evconnlistener *lis;
	struct net_conn *conns;
	struct net_req *udp_reqs;    /* outstanding UDP requests */
	uint16_t port;
#ifdef GW_MMSG
	/* one batch: the datagrams read, and the answers queued for its end */
	uint8_t (*in)[UDP_RECV_MAX];   /* UDP_BATCH buffers (pages touched as used) */
	struct sockaddr_storage in_from[UDP_BATCH];
	struct iovec in_iov[UDP_BATCH];
	struct mmsghdr in_msg[UDP_BATCH];
	uint8_t (*out)[UDP_OUT_SLOT];  /* UDP_BATCH answers */
	struct sockaddr_storage out_to[UDP_BATCH];
	struct iovec out_iov[UDP_BATCH];
	struct mmsghdr out_msg[UDP_BATCH];
	unsigned nout;                 /* answers queued */
	bool batching;                 /* inside udp_read_cb: queue, do not send */
#else
	uint8_t buf[UDP_RECV_MAX];
#endif
};

/* ---- UDP ---------------------------------------------------------------- */

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* May this source have another answer now? (the per-source token bucket) */
static bool rl_allow(struct gw_net *n, const struct sockaddr_storage *ss)
{
	const struct gw_params *p = &n->g->p;
	if (p->rate_limit == 0 || !n->rl)
		return true;
	uint8_t key[9] = {0};
	key[0] = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET)
		memcpy(key + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else if (ss->ss_family == AF_INET6)
		memcpy(key + 1, &((const struct sockaddr_in6 *)ss)->sin6_addr, 8);
	bool ok = ddns_rl_allow(n->rl, key, sizeof(key), mono_us());
	n->g->st.rate_limit_sources = ddns_rl_sources(n->rl);
	return ok;
}

static void udp_answer(void *arg, const uint8_t *pkt, size_t len)
{
	struct net_req *r = arg;
	struct gw_net *n = r->net;
	if (n) {
		DL_DELETE(n->udp_reqs, r);
#ifdef GW_MMSG
		if (pkt && n->batching && len <= UDP_OUT_SLOT && n->nout < UDP_BATCH) {
			unsigned i = n->nout++;
			memcpy(n->out[i], pkt, len);
			memcpy(&n->out_to[i], &r->from, r->fromlen);
			n->out_iov[i] = (struct iovec){.iov_base = n->out[i], .iov_len = len};
			n->out_msg[i] = (struct mmsghdr){
				.msg_hdr = {.msg_name = &n->out_to[i],
					    .msg_namelen = r->fromlen,
					    .msg_iov = &n->out_iov[i],
					    .msg_iovlen = 1}};
			pkt = NULL;
		}
#endif
		if (pkt &&
		    sendto(n->udp_fd, pkt, len, 0, (struct sockaddr *)&r->from, r->fromlen) < 0)
			log_debug("gw: udp sendto: %s", strerror(errno));
	}
	free(r);
}

/* One datagram read: the rate limit, then the gateway. */
static void udp_query(struct gw_net *n, const uint8_t *pkt, size_t len,
		      const struct sockaddr_storage *from, socklen_t fromlen)
{
	if (!rl_allow(n, from)) {
		n->g->st.rate_limited++;
		return;
	}
	struct net_req *r = calloc(1, sizeof(*r));
	if (!r)
		return;
	memcpy(&r->from, from, fromlen);
	r->fromlen = fromlen;
	r->net = n;
	DL_APPEND(n->udp_reqs, r);
	/* The largest UDP payload over IPv4/IPv6 is 65507/65527; the
	 * client's EDNS size and udp_max bound it further. */
	if (gw_handle_packet(n->g, pkt, len, 65507, udp_answer, r) != 0) {
		DL_DELETE(n->udp_reqs, r);
		free(r);
	}
}

#ifdef GW_MMSG
/* Send the batch's queued answers; a datagram the kernel refuses is logged
 * and skipped, as sendto's failures are. */
static void udp_flush(struct gw_net *n)
{
	unsigned done = 0;
	while (done < n->nout) {
		int k = sendmmsg(n->udp_fd, n->out_msg + done, n->nout - done, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			log_debug("gw: udp sendmmsg: %s", strerror(errno));
			k = 1; /* the first one failed: skip it */
		}
		done += (unsigned)k;
	}
	n->nout = 0;
}

static void udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_net *n = arg;
	(void)what;
	for (unsigned i = 0; i < UDP_BATCH; i++)
		n->in_msg[i].msg_hdr.msg_namelen = sizeof(n->in_from[i]); /* the kernel's to set */
	int got = recvmmsg(fd, n->in_msg, UDP_BATCH, MSG_DONTWAIT, NULL);
	if (got < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			log_debug("gw: udp recvmmsg: %s", strerror(errno));
		return;
	}
	n->batching = true;
	for (int i = 0; i < got; i++)
		udp_query(n, n->in[i], n->in_msg[i].msg_len, &n->in_from[i],
			  n->in_msg[i].msg_hdr.msg_namelen);
	n->batching = false;
	udp_flush(n);
}
#else
static void udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct gw_net *n = arg;
	(void)what;
	for (int i = 0; i < UDP_BATCH; i++) {
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t len = recvfrom(fd, n->buf, sizeof(n->buf), 0, (struct sockaddr *)&from,
				       &fromlen);
		if (len < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_debug("gw: udp recvfrom: %s", strerror(errno));
			return;
		}
		udp_query(n, n->buf, (size_t)len, &from, fromlen);
	}
}
#endif

/* ---- TCP ---------------------------------------------------------------- */

static void conn_close(struct net_conn *c)
{
	struct gw_net *n = c->net;
	struct net_req *r, *tmp;
	DL_FOREACH_SAFE(c->reqs, r, tmp)
	{
		DL_DELETE(c->reqs, r);
		r->c = NULL;
	}
	bufferevent_free(c->bev);
	event_free(c->idle);
	DL_DELETE(n->conns, c);
	n->g->st.tcp_conns_open--;
	free(c);
}

static void conn_arm_idle(struct net_conn *c)
{
	unsigned ms = c->net->g->p.tcp_idle_ms;
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	evtimer_add(c->idle, &tv);
}

/* Close when the client is done (EOF) and everything was answered and
 * written. Returns true when c was closed. */
static bool conn_maybe_finish(struct net_conn *c)
{
	if (c->eof && c->pending == 0 && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_close(c);
		return true;
	}
	return false;
}

static void tcp_answer(void *arg, const uint8_t *pkt, size_t len)
{
	struct net_req *r = arg;
	struct net_conn *c = r->c;
	if (c) {
		DL_DELETE(c->reqs, r);
		c->pending--;
		if (pkt) {
			uint8_t hdr[2];
			ddns_put_u16(hdr, (uint16_t)len);
			bufferevent_write(c->bev, hdr, 2);
			bufferevent_write(c->bev, pkt, len);
		}
		if (c->paused && !c->eof) {
			/* Input may already hold queries: have the read callback
			 * run again from the loop, not from inside this answer. */
			c->paused = false;
			bufferevent_trigger(c->bev, EV_READ,
					    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
		}
		if (c->pending == 0)
			conn_arm_idle(c);
	}
	free(r);
}

static void tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct net_conn *c = arg;
	struct gw *g = c->net->g;
	struct evbuffer *in = bufferevent_get_input(bev);
	for (;;) {
		uint8_t hdr[2];
		if (c->pending >= g->p.tcp_max_pending ||
		    evbuffer_get_length(bufferevent_get_output(bev)) > OUT_MAX) {
			c->paused = true;
			return;
		}
		if (evbuffer_copyout(in, hdr, 2) < 2)
			break;
		size_t len = ddns_get_u16(hdr);
		if (len == 0) {
			conn_close(c);
			return;
		}
		if (evbuffer_get_length(in) < 2 + len)
			break;
		uint8_t *msg = malloc(len);
		struct net_req *r = calloc(1, sizeof(*r));
		if (!msg || !r) {
			free(msg);
			free(r);
			conn_close(c);
			return;
		}
		evbuffer_drain(in, 2);
		evbuffer_remove(in, msg, len);
		r->c = c;
		DL_APPEND(c->reqs, r);
		c->pending++;
		evtimer_del(c->idle);
		if (gw_handle_packet(g, msg, len, 0, tcp_answer, r) != 0) {
			DL_DELETE(c->reqs, r);
			c->pending--;
			free(r);
		}
		free(msg);
	}
	if (c->pending == 0)
		conn_arm_idle(c);
}

static void tcp_write_cb(struct bufferevent *bev, void *arg)
{
	struct net_conn *c = arg;
	if (conn_maybe_finish(c))
		return;
	if (c->paused && c->pending < c->net->g->p.tcp_max_pending) {
		c->paused = false;
		tcp_read_cb(bev, c);
	}
}

static void tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct net_conn *c = arg;
	(void)bev;
	if (what & BEV_EVENT_ERROR) {
		conn_close(c);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		c->eof = true;
		bufferevent_disable(c->bev, EV_READ);
		conn_maybe_finish(c);
	}
}

static void tcp_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct net_conn *c = arg;
	(void)fd;
	(void)what;
	if (c->pending == 0)
		conn_close(c);
}

static void tcp_accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
			  int salen, void *arg)
{
	struct gw_net *n = arg;
	struct net_conn *c = NULL;
	(void)lis;
	(void)sa;
	(void)salen;
	if (n->g->st.tcp_conns_open >= n->g->p.tcp_max_conns) {
		n->g->st.tcp_conns_refused++;
		evutil_closesocket(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	c->net = n;
	c->bev = bufferevent_socket_new(n->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev)
		goto fail;
	fd = -1;
	c->idle = evtimer_new(n->base, tcp_idle_cb, c);
	if (!c->idle)
		goto fail;
	bufferevent_setcb(c->bev, tcp_read_cb, tcp_write_cb, tcp_event_cb, c);
	/* At most one whole message and its length in the input at a time. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 2 * (DNS_MSG_MAX + 2));
	if (bufferevent_enable(c->bev, EV_READ) != 0)
		goto fail;
	DL_APPEND(n->conns, c);
	n->g->st.tcp_conns_open++;
	n->g->st.tcp_conns++;
	conn_arm_idle(c);
	return;
fail:
	if (fd >= 0)
		evutil_closesocket(fd);
	if (c) {
		if (c->bev)
			bufferevent_free(c->bev);
		if (c->idle)
			event_free(c->idle);
		free(c);
	}
}

/* ---- start and stop ----------------------------------------------------- */

static int set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		return -EINVAL;
	return 0;
}

static uint16_t get_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* Bind UDP then TCP to the same address and port (with port 0, the kernel's
 * UDP choice, retried when that port is taken for TCP). */
static int bind_both(struct gw_net *n, struct sockaddr_storage *ss, socklen_t sl)
{
	bool any = get_port(ss) == 0;
	int rc = -EADDRINUSE;
	for (int attempt = 0; attempt < (any ? 16 : 1); attempt++) {
		if (any)
			set_port(ss, 0);
		evutil_socket_t fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (bind(fd, (struct sockaddr *)ss, sl) != 0) {
			rc = -errno;
			close(fd);
			return rc;
		}
		struct sockaddr_storage got;
		socklen_t gl = sizeof(got);
		if (getsockname(fd, (struct sockaddr *)&got, &gl) != 0) {
			rc = -errno;
			close(fd);
			return rc;
		}
		set_port(ss, get_port(&got));
		n->lis = evconnlistener_new_bind(n->base, tcp_accept_cb, n,
						 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
							 LEV_OPT_REUSEABLE,
						 128, (struct sockaddr *)ss, (int)sl);
		if (!n->lis) {
			rc = errno ? -errno : -EADDRINUSE;
			close(fd);
			if (rc != -EADDRINUSE)
				return rc;
			continue;
		}
		n->udp_fd = fd;
		n->port = get_port(&got);
		return 0;
	}
	return rc;
}

/* "A.B.C.D:PORT" or "[V6]:PORT", port 0..65535 (0: any free port; libevent's
 * own parser refuses 0). */
static int parse_addr(const char *s, struct sockaddr_storage *ss, int *sl)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	char *end;
	if (!colon || (size_t)(colon - s) >= sizeof(host) || colon[1] == 0)
		return -EINVAL;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (*end || errno || port > 65535)
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[') {
		size_t hl = strlen(host);
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		if (hl < 3 || host[hl - 1] != ']')
			return -EINVAL;
		host[hl - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			return -EINVAL;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*sl = sizeof(*a6);
		return 0;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
		return -EINVAL;
	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	*sl = sizeof(*a4);
	return 0;
}

static int gw_net_start(struct gw *g, struct event_base *base, const char *listen)
{
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	int rc;
	struct gw_net *n;
	if (parse_addr(listen, &ss, &sl) != 0)
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->g = g;
	n->base = base;
	n->udp_fd = -1;
	g->net = n;
#ifdef GW_MMSG
	if (!(n->in = malloc(UDP_BATCH * sizeof(*n->in))) ||
	    !(n->out = malloc(UDP_BATCH * sizeof(*n->out))))
		return -ENOMEM; /* gw_free -> gw_net_stop cleans up */
	for (unsigned i = 0; i < UDP_BATCH; i++) {
		n->in_iov[i] = (struct iovec){.iov_base = n->in[i], .iov_len = UDP_RECV_MAX};
		n->in_msg[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &n->in_from[i],
							    .msg_iov = &n->in_iov[i],
							    .msg_iovlen = 1}};
	}
#endif
	/* tokens refill at rate_limit per second, a burst of one second's worth */
	if (g->p.rate_limit &&
	    !(n->rl = ddns_rl_new(g->p.rate_limit, g->p.rate_limit,
				  g->p.rate_limit_entries ? g->p.rate_limit_entries : 1)))
		return -ENOMEM;
	if ((rc = bind_both(n, &ss, (socklen_t)sl)))
		return rc; /* gw_free -> gw_net_stop cleans up */
	n->udp_ev = event_new(base, n->udp_fd, EV_READ | EV_PERSIST, udp_read_cb, n);
	if (!n->udp_ev || event_add(n->udp_ev, NULL) != 0)
		return -ENOMEM;
	log_info("gw: listening on %s (udp and tcp port %u)", listen, (unsigned)n->port);
	return 0;
}

static void gw_net_stop(struct gw *g)
{
	struct gw_net *n = g->net;
	struct net_req *r, *tmp;
	if (!n)
		return;
	if (n->udp_ev)
		event_free(n->udp_ev);
	if (n->udp_fd >= 0)
		close(n->udp_fd);
	if (n->lis)
		evconnlistener_free(n->lis);
	while (n->conns)
		conn_close(n->conns);
	DL_FOREACH_SAFE(n->udp_reqs, r, tmp)
	{
		DL_DELETE(n->udp_reqs, r);
		r->net = NULL;
	}
	ddns_rl_free(n->rl);
	g->st.rate_limit_sources = 0;
#ifdef GW_MMSG
	free(n->in);
	free(n->out);
#endif
	free(n);
	g->net = NULL;
}

static uint16_t gw_net_port(const struct gw *g)
{
	return g->net ? g->net->port : 0;
}

/* ---- the public constructor: the core, then its sockets ---------------- */

struct gw *gw_new(struct event_base *base, const struct gw_params *p, int *err)
{
	int rc = -EINVAL;
	struct gw *g = NULL;
	if (p && p->listen && !base)
		goto out;
	if (!(g = gw_core_new(p, &rc)))
		goto out;
	if (p->listen) {
		rc = -ENOMEM;
		if (!(g->listen = strdup(p->listen)) ||
		    (rc = gw_net_start(g, base, p->listen)) != 0) {
			gw_free(g);
			g = NULL;
			goto out;
		}
	}
	rc = 0;
out:
	if (err)
		*err = rc;
	return g;
}

void gw_free(struct gw *g)
{
	if (!g)
		return;
	gw_net_stop(g); /* no new queries */
	gw_core_free(g);
}

uint16_t gw_port(const struct gw *g)
{
	return g ? gw_net_port(g) : 0;
}
