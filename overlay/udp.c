/*
 * udp.c - the real-network transport backend (overlay/udp.h).
 *
 * One non-blocking UDP socket per endpoint, read from a persistent libevent
 * read event; timers are libevent timer events. This file and overlay/sim.c
 * are the only places in overlay/ allowed to touch sockets, clocks and the
 * kernel's random source.
 *
 * Timer lifetime: every live timer sits on the endpoint's list (so tr_free
 * releases them all). While its callback runs a timer is marked `firing`;
 * a cancel then only marks it cancelled, and the dispatcher frees it after
 * the callback returns. A one-shot timer is always freed after its callback.
 *
 * Delay queue (udp_tr_set_delay): a binary min-heap of copied datagrams
 * keyed by (due time, sequence number), so the order is by due time and,
 * for equal due times, by send order. Invariant: while the heap is not
 * empty, dq_ev is armed for the head's due time (re-armed whenever a push
 * makes a new head and after every dispatch).
 */
#include "overlay/udp.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

/* Largest UDP payload over IPv4 (65535 - 20 - 8); IPv6 allows a little
 * more, but one figure for both keeps fragmentation identical. */
#define UDP_TR_MTU 65507
/* The receive buffer takes any datagram (64 KiB); larger ones are counted
 * as truncated and dropped. */
#define UDP_RECV_BUF 65536
/* Datagrams drained per read event, so one busy socket cannot starve the
 * loop's other events. */
#define UDP_DRAIN_MAX 64
/* Kernel socket buffers we ask for (best effort). */
#define UDP_SOCKBUF (1 << 20)
#define UDP_RAND_POOL 32

struct tr_timer {
	struct udp_tr *u;
	struct event *ev;
	tr_timer_cb cb;
	void *arg;
	uint64_t period_us;
	uint64_t due_us;  /* our clock: libevent's may be coarser (and fire early) */
	bool firing;
	bool cancelled;
	struct tr_timer *prev, *next;
};

struct udp_delayed {
	uint64_t due_us;
	uint64_t seq;
	struct tr_addr to;
	uint8_t *data;
	size_t len;
};

struct udp_tr {
	struct tr tr; /* must be first */
	struct event_base *base;
	int fd;
	struct event *rev;
	uint8_t *rbuf;
	struct tr_timer *timers;
	uint64_t pool[UDP_RAND_POOL];
	unsigned pool_left;
	struct udp_tr_stats st;
	udp_delay_cb delay_cb;
	void *delay_arg;
	struct udp_delayed *dq; /* min-heap by (due_us, seq) */
	size_t dq_len, dq_cap;
	uint64_t dq_seq;
	struct event *dq_ev;
};

static struct udp_tr *udp_of(struct tr *t) { return (struct udp_tr *)t; }

static void addr_to_sockaddr(const struct tr_addr *a, struct sockaddr_storage *ss,
			     socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == TR_AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(a->port);
		memcpy(&s4->sin_addr, a->ip, 4);
		*len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->ip, 16);
		*len = sizeof(*s6);
	}
}

static bool sockaddr_to_addr(const struct sockaddr_storage *ss, struct tr_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		a->family = TR_AF_INET;
		a->port = ntohs(s4->sin_port);
		memcpy(a->ip, &s4->sin_addr, 4);
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		a->family = TR_AF_INET6;
		a->port = ntohs(s6->sin6_port);
		memcpy(a->ip, &s6->sin6_addr, 16);
		return true;
	}
	return false;
}

/* The socket send proper (now, or when a delayed datagram falls due). */
static int udp_sendto(struct udp_tr *u, const struct tr_addr *to, const uint8_t *data,
		      size_t len)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	addr_to_sockaddr(to, &ss, &slen);
	ssize_t n;
	do
		n = sendto(u->fd, data, len, 0, (struct sockaddr *)&ss, slen);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		int e = errno;
		u->st.send_errors++;
		/* A full socket buffer or an ICMP error from an earlier send is
		 * what loss looks like on a real network. */
		if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == ECONNREFUSED)
			return 0;
		return -e;
	}
	u->st.datagrams_out++;
	u->st.bytes_out += (uint64_t)n;
	return 0;
}

static uint64_t udp_now_us(struct tr *t);

static bool dq_less(const struct udp_delayed *a, const struct udp_delayed *b)
{
	return a->due_us < b->due_us || (a->due_us == b->due_us && a->seq < b->seq);
}

static void dq_swap(struct udp_delayed *a, struct udp_delayed *b)
{
	struct udp_delayed t = *a;
	*a = *b;
	*b = t;
}

static void dq_pop(struct udp_tr *u)
{
	u->dq[0] = u->dq[--u->dq_len];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < u->dq_len && dq_less(&u->dq[l], &u->dq[m]))
			m = l;
		if (r < u->dq_len && dq_less(&u->dq[r], &u->dq[m]))
			m = r;
		if (m == i)
			break;
		dq_swap(&u->dq[i], &u->dq[m]);
		i = m;
	}
	u->st.delay_queue_len = u->dq_len;
}

static void dq_arm(struct udp_tr *u)
{
	if (u->dq_len == 0) {
		evtimer_del(u->dq_ev);
		return;
	}
	uint64_t now = udp_now_us(&u->tr), due = u->dq[0].due_us;
	uint64_t wait = due > now ? due - now : 0;
	struct timeval tv = {.tv_sec = (time_t)(wait / 1000000u),
			     .tv_usec = (suseconds_t)(wait % 1000000u)};
	evtimer_add(u->dq_ev, &tv);
}

static void dq_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct udp_tr *u = arg;
	(void)fd;
	(void)what;
	uint64_t now = udp_now_us(&u->tr);
	while (u->dq_len && u->dq[0].due_us <= now) {
		struct udp_delayed d = u->dq[0];
		dq_pop(u);
		(void)udp_sendto(u, &d.to, d.data, d.len);
		free(d.data);
	}
	dq_arm(u);
}

/* Queue a copy of the datagram for delay_us. 0 or -ENOMEM. */
static int dq_push(struct udp_tr *u, const struct tr_addr *to, const uint8_t *data, size_t len,
		   uint64_t delay_us)
{
	if (!u->dq_ev) {
		u->dq_ev = evtimer_new(u->base, dq_on_timer, u);
		if (!u->dq_ev)
			return -ENOMEM;
	}
	if (u->dq_len == u->dq_cap) {
		size_t cap = u->dq_cap ? 2 * u->dq_cap : 64;
		struct udp_delayed *q = realloc(u->dq, cap * sizeof(*q));
		if (!q)
			return -ENOMEM;
		u->dq = q;
		u->dq_cap = cap;
	}
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, data, len);
	size_t i = u->dq_len++;
	u->dq[i] = (struct udp_delayed){.due_us = udp_now_us(&u->tr) + delay_us,
					.seq = u->dq_seq++, .to = *to, .data = copy, .len = len};
	while (i > 0 && dq_less(&u->dq[i], &u->dq[(i - 1) / 2])) {
		dq_swap(&u->dq[i], &u->dq[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	u->st.delayed++;
	u->st.delay_queue_len = u->dq_len;
	if (u->dq_len > u->st.delay_queue_peak)
		u->st.delay_queue_peak = u->dq_len;
	if (i == 0)
		dq_arm(u); /* a new head: the timer follows it */
	return 0;
}

static int udp_send(struct tr *t, const struct tr_addr *to, const uint8_t *data, size_t len)
{
	struct udp_tr *u = udp_of(t);
	if (len > t->mtu)
		return -EMSGSIZE;
	if (to->family != t->self.family) {
		u->st.send_errors++;
		return -EAFNOSUPPORT;
	}
	uint64_t delay = u->delay_cb ? u->delay_cb(u->delay_arg, to) : 0;
	if (delay)
		return dq_push(u, to, data, len, delay);
	return udp_sendto(u, to, data, len);
}

static void udp_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct udp_tr *u = arg;
	(void)what;
	for (int i = 0; i < UDP_DRAIN_MAX; i++) {
		struct sockaddr_storage ss;
		socklen_t slen = sizeof(ss);
		/* MSG_TRUNC: the return value is the datagram's real length. */
		ssize_t n = recvfrom(fd, u->rbuf, UDP_RECV_BUF, MSG_TRUNC, (struct sockaddr *)&ss,
				     &slen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* EAGAIN: drained; anything else (ICMP errors surfacing
			 * as ECONNREFUSED) is not data either. */
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			continue;
		}
		if ((size_t)n > UDP_RECV_BUF) {
			u->st.recv_truncated++;
			continue;
		}
		struct tr_addr from;
		if (!sockaddr_to_addr(&ss, &from))
			continue;
		u->st.datagrams_in++;
		u->st.bytes_in += (uint64_t)n;
		if (u->tr.recv)
			u->tr.recv(u->tr.recv_arg, &from, u->rbuf, (size_t)n);
	}
}

static uint64_t udp_now_us(struct tr *t)
{
	struct timespec ts;
	(void)t;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static struct timeval tv_of(uint64_t us)
{
	struct timeval tv;
	tv.tv_sec = (time_t)(us / 1000000u);
	tv.tv_usec = (suseconds_t)(us % 1000000u);
	return tv;
}

static void timer_unlink_free(struct tr_timer *tm)
{
	struct udp_tr *u = tm->u;
	if (tm->prev)
		tm->prev->next = tm->next;
	else
		u->timers = tm->next;
	if (tm->next)
		tm->next->prev = tm->prev;
	event_free(tm->ev);
	free(tm);
}

static void udp_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct tr_timer *tm = arg;
	(void)fd;
	(void)what;
	/* libevent may read a coarse monotonic clock and wake us a few
	 * milliseconds early; a timer never fires before its delay. */
	uint64_t now = udp_now_us(&tm->u->tr);
	if (now < tm->due_us) {
		struct timeval tv = tv_of(tm->due_us - now);
		evtimer_add(tm->ev, &tv);
		return;
	}
	tm->firing = true;
	if (tm->period_us) {
		/* Re-arm before the callback so its period does not drift by
		 * the callback's own run time; a cancel inside deletes it. */
		tm->due_us += tm->period_us;
		if (tm->due_us < now)
			tm->due_us = now + tm->period_us;
		struct timeval tv = tv_of(tm->due_us - now);
		evtimer_add(tm->ev, &tv);
	}
	tm->cb(tm->arg);
	tm->firing = false;
	if (!tm->period_us || tm->cancelled)
		timer_unlink_free(tm);
}

static struct tr_timer *udp_timer_add(struct tr *t, uint64_t delay_us, uint64_t period_us,
				      tr_timer_cb cb, void *arg)
{
	struct udp_tr *u = udp_of(t);
	struct tr_timer *tm = calloc(1, sizeof(*tm));
	if (!tm)
		return NULL;
	tm->ev = evtimer_new(u->base, udp_on_timer, tm);
	if (!tm->ev) {
		free(tm);
		return NULL;
	}
	tm->u = u;
	tm->cb = cb;
	tm->arg = arg;
	tm->period_us = period_us;
	tm->due_us = udp_now_us(t) + delay_us;
	struct timeval tv = tv_of(delay_us);
	if (evtimer_add(tm->ev, &tv) != 0) {
		event_free(tm->ev);
		free(tm);
		return NULL;
	}
	tm->next = u->timers;
	if (u->timers)
		u->timers->prev = tm;
	u->timers = tm;
	return tm;
}

static void udp_timer_cancel(struct tr *t, struct tr_timer *tm)
{
	(void)t;
	if (!tm)
		return;
	if (tm->firing) {
		/* Inside its own callback: stop it, free it on the way out. */
		tm->cancelled = true;
		evtimer_del(tm->ev);
		return;
	}
	timer_unlink_free(tm);
}

static uint64_t udp_random(struct tr *t)
{
	struct udp_tr *u = udp_of(t);
	if (u->pool_left == 0) {
		uint8_t *p = (uint8_t *)u->pool;
		size_t got = 0;
		while (got < sizeof(u->pool)) {
			ssize_t n = getrandom(p + got, sizeof(u->pool) - got, 0);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				/* getrandom only fails this way on kernels
				 * without it; nothing sane to fall back to. */
				log_err("udp: getrandom failed: %s", strerror(errno));
				abort();
			}
			got += (size_t)n;
		}
		u->pool_left = UDP_RAND_POOL;
	}
	uint64_t v = u->pool[--u->pool_left];
	u->pool[u->pool_left] = 0; /* used randomness does not linger */
	return v;
}

static void udp_free(struct tr *t)
{
	struct udp_tr *u = udp_of(t);
	while (u->timers)
		timer_unlink_free(u->timers);
	for (size_t i = 0; i < u->dq_len; i++)
		free(u->dq[i].data);
	free(u->dq);
	if (u->dq_ev)
		event_free(u->dq_ev);
	if (u->rev)
		event_free(u->rev);
	if (u->fd >= 0)
		close(u->fd);
	free(u->rbuf);
	free(u);
}

static const struct tr_ops udp_ops = {
	.name = "udp",
	.send = udp_send,
	.now_us = udp_now_us,
	.timer_add = udp_timer_add,
	.timer_cancel = udp_timer_cancel,
	.random = udp_random,
	.free = udp_free,
};

struct tr *udp_tr_new(struct event_base *base, const struct tr_addr *addr,
		      const struct udp_tr_opts *opts, int *err)
{
	int e = 0;
	struct udp_tr *u = calloc(1, sizeof(*u));
	if (!u) {
		e = -ENOMEM;
		goto fail;
	}
	u->fd = -1;
	u->base = base;
	u->tr.ops = &udp_ops;
	u->tr.mtu = UDP_TR_MTU;
	if (opts) {
		u->delay_cb = opts->delay;
		u->delay_arg = opts->delay_arg;
	}
	if (addr->family != TR_AF_INET && addr->family != TR_AF_INET6) {
		e = -EAFNOSUPPORT;
		goto fail;
	}
	u->rbuf = malloc(UDP_RECV_BUF);
	if (!u->rbuf) {
		e = -ENOMEM;
		goto fail;
	}
	int af = addr->family == TR_AF_INET ? AF_INET : AF_INET6;
	u->fd = socket(af, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0) {
		e = -errno;
		goto fail;
	}
	if (af == AF_INET6) {
		int one = 1;
		if (setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
			e = -errno;
			goto fail;
		}
	}
	int sz = UDP_SOCKBUF;
	(void)setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	(void)setsockopt(u->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	struct sockaddr_storage ss;
	socklen_t slen;
	addr_to_sockaddr(addr, &ss, &slen);
	if (bind(u->fd, (struct sockaddr *)&ss, slen) != 0) {
		e = -errno;
		goto fail;
	}
	slen = sizeof(ss);
	if (getsockname(u->fd, (struct sockaddr *)&ss, &slen) != 0 ||
	    !sockaddr_to_addr(&ss, &u->tr.self)) {
		e = errno ? -errno : -EINVAL;
		goto fail;
	}
	u->rev = event_new(base, u->fd, EV_READ | EV_PERSIST, udp_on_read, u);
	if (!u->rev || event_add(u->rev, NULL) != 0) {
		e = -ENOMEM;
		goto fail;
	}
	if (err)
		*err = 0;
	return &u->tr;
fail:
	if (err)
		*err = e;
	if (u)
		udp_free(&u->tr);
	return NULL;
}

void udp_tr_get_stats(const struct tr *t, struct udp_tr_stats *out)
{
	*out = ((const struct udp_tr *)t)->st;
}

void udp_tr_set_delay(struct tr *t, udp_delay_cb cb, void *arg)
{
	struct udp_tr *u = udp_of(t);
	u->delay_cb = cb;
	u->delay_arg = arg;
}
