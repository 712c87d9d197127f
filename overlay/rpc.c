/*
 * rpc.c - request/response messaging over a transport.
 *
 * The wire format is documented field by field in docs/PROTOCOL.md; the
 * constants below are the single source of truth for it. Everything here is
 * driven by the transport: datagrams arrive through rpc_on_recv, timers fire
 * through tr_timer_add, time and transaction ids come from tr_now_us and
 * tr_random. No clocks, no sockets, no globals (tests/check_purity.sh).
 *
 * Tables (uthash):
 *   handlers  (overlay, service, vnode)  -> request callback
 *   pending   txid                       -> outstanding call (owns a copy of
 *                                           the request for retransmission)
 *   done      (peer address, txid)       -> recently dispatched request, and
 *                                           the reply sent for it (dedup)
 *   reasm     (peer address, txid, dir)  -> partially received message
 * The done and reasm tables are kept in insertion order (uthash keeps it), so
 * their heads are always the oldest entries: pruning pops from the head.
 *
 * Re-entrancy: user callbacks may call rpc_call, rpc_cancel, rpc_reply*,
 * rpc_unregister and even rpc_free. rpc_free from inside a callback only
 * marks the instance dead; the memory goes when the outermost entry point
 * (receive or timer callback) unwinds (depth counter).
 */
#include "overlay/rpc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/ratelimit.h"
#include "overlay/id.h"

/* ---- wire format (docs/PROTOCOL.md, section 1) ----
 *
 *  0       2   3     4       5       6    7     8     9      10    12
 *  +-------+---+-----+-------+-------+----+-----+-----+------+-----+--------
 *  | magic |ver|flags|overlay|service|type|src_v|dst_v|family| port| ip (16)
 *  +-------+---+-----+-------+-------+----+-----+-----+------+-----+--------
 *  28            36                56          58          60          64
 *  +-------------+-----------------+-----------+-----------+-----------+----
 *  | txid (8)    | sender id (20)  | frag index| frag count| total len | ...
 *  +-------------+-----------------+-----------+-----------+-----------+----
 */
#define RPC_MAGIC 0xDD4Eu
#define RPC_VERSION 1
#define RPC_HDR_LEN 64
#define RPC_F_REPLY 0x01u
#define RPC_MAX_FRAGS 0xFFFFu

/* Offsets of the fields the sender patches per fragment. */
#define RPC_OFF_FRAG_INDEX 56

/* ---- bounds on the duplicate-request cache ---- */
#define RPC_DONE_MAX_ENTRIES 1024
#define RPC_DONE_MAX_BYTES (1024 * 1024)
#define RPC_DONE_MIN_TTL_US 2000000ull
#define RPC_WINDOW_CAP_US 60000000ull

/* Messages up to this size are framed on the stack. */
#define RPC_STACK_BUF 2048

struct rpc_hdr {
	uint8_t flags;
	uint8_t overlay, service, type;
	uint8_t src_vnode, dst_vnode;
	struct tr_addr sender; /* as claimed by the sender: informational */
	uint64_t txid;
	uint8_t sender_id[DDNS_ID_LEN];
	uint16_t frag_index, frag_count;
	uint32_t total;
};

/* Hash key naming one message of one peer. Built field by field from a
 * zeroed struct so padding never differs between equal keys. */
struct rpc_peer_key {
	uint64_t txid;
	struct tr_addr from;
	uint8_t reply;
};

struct rpc_handler {
	uint32_t key; /* overlay << 16 | service << 8 | vnode */
	rpc_request_cb cb;
	void *arg;
	UT_hash_handle hh;
};

/* An outstanding call. Invariant: in r->pending iff timer != NULL, except
 * transiently inside call_expired. */
struct rpc_pending {
	uint64_t txid; /* key; also the caller's handle */
	struct rpc *r;
	struct tr_addr to;
	uint8_t overlay, service, type, src_vnode, dst_vnode;
	unsigned retries_left;
	unsigned transmissions; /* sends so far, first included */
	uint64_t timeout_us; /* current timeout, multiplied on each retry */
	uint64_t sent_us;    /* last (re)transmission */
	struct tr_timer *timer;
	rpc_reply_cb cb;      /* exactly one of cb and ocb is set (or neither) */
	rpc_outcome_cb ocb;
	rpc_resend_cb on_resend;
	void *arg;
	size_t len;
	UT_hash_handle hh;
	uint8_t payload[];
};

/* A request we dispatched recently, and the reply we sent for it (if any
 * and if it fitted the byte budget). */
struct rpc_done {
	struct rpc_peer_key key;
	uint64_t at_us;
	bool answered;
	bool kept;      /* the reply below can be sent again */
	uint8_t type;
	struct rpc_reply_to rt;
	uint8_t *reply; /* NULL when not answered or not kept */
	size_t len;
	UT_hash_handle hh;
};

/* A message being reassembled. data holds total bytes, then a bitmap of
 * received fragments. */
struct rpc_reasm {
	struct rpc_peer_key key;
	struct rpc_hdr hdr; /* from the first fragment that arrived */
	uint64_t started_us;
	uint32_t chunk;
	uint16_t got;
	size_t size; /* bytes accounted against max_reassembly */
	UT_hash_handle hh;
	uint8_t data[];
};

#define RPC_ID_MEMO 64

/* ovl_id_of(addr, vnode), remembered. */
struct rpc_id_memo {
	bool ok;
	uint8_t vnode;
	struct tr_addr addr;
	uint8_t id[DDNS_ID_LEN];
};

struct rpc {
	struct tr *t;
	struct rpc_params p;
	uint64_t window_us; /* how long a peer may keep retransmitting */
	struct rpc_handler *handlers;
	struct rpc_pending *pending;
	struct rpc_done *done;
	size_t done_bytes;
	struct rpc_reasm *reasm;
	size_t reasm_bytes;
	struct tr_timer *reasm_timer;
	/* Our own id, and those of recent senders (direct-mapped by address):
	 * a SHA-1 per message sent or checked is avoidable, and most datagrams
	 * come from a few peers. */
	struct rpc_id_memo self_memo;
	struct rpc_id_memo id_memo[RPC_ID_MEMO];
	struct ddns_ratelimit *rl; /* p.rate_limit's buckets, NULL without */
	unsigned depth;
	bool dead;
	struct rpc_stats st;
};

static void rpc_destroy(struct rpc *r);
static void rpc_on_recv(void *arg, const struct tr_addr *from, const uint8_t *data, size_t len);

static void rpc_enter(struct rpc *r) { r->depth++; }

/* Leave an entry point; frees r if rpc_free was called meanwhile. r must not
 * be touched after this. */
static void rpc_leave(struct rpc *r)
{
	if (--r->depth == 0 && r->dead)
		rpc_destroy(r);
}

static size_t addr_iplen(const struct tr_addr *a) { return a->family == TR_AF_INET ? 4 : 16; }

/* Canonical copy of an address (zero padding and unused ip bytes). */
static void addr_norm(struct tr_addr *dst, const struct tr_addr *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->family = src->family;
	memcpy(dst->ip, src->ip, addr_iplen(src));
	dst->port = src->port;
}

static void peer_key(struct rpc_peer_key *k, const struct tr_addr *from, uint64_t txid,
		     bool reply)
{
	memset(k, 0, sizeof(*k));
	k->txid = txid;
	addr_norm(&k->from, from);
	k->reply = reply ? 1 : 0;
}

static uint32_t handler_key(uint8_t overlay, uint8_t service, uint8_t vnode)
{
	return (uint32_t)overlay << 16 | (uint32_t)service << 8 | vnode;
}

static const uint8_t *memo_id(struct rpc_id_memo *m, const struct tr_addr *a, uint8_t vnode)
{
	if (!m->ok || m->vnode != vnode || !tr_addr_eq(&m->addr, a)) {
		addr_norm(&m->addr, a);
		m->vnode = vnode;
		ovl_id_of(a, vnode, m->id);
		m->ok = true;
	}
	return m->id;
}

static const uint8_t *self_id(struct rpc *r, uint8_t vnode)
{
	return memo_id(&r->self_memo, tr_self(r->t), vnode);
}

/* ovl_id_of(from, vnode), remembered for the last address in its slot. */
static const uint8_t *sender_id(struct rpc *r, const struct tr_addr *from, uint8_t vnode)
{
	size_t n = addr_iplen(from);
	uint32_t h = (uint32_t)from->port * 2654435761u ^ vnode;
	for (size_t i = 0; i < n; i++)
		h = h * 31 + from->ip[i];
	return memo_id(&r->id_memo[h % RPC_ID_MEMO], from, vnode);
}

void rpc_params_default(struct rpc_params *p)
{
	p->timeout_us = 250000;
	p->retries = 3;
	p->backoff = 2;
	p->max_reassembly = 4u << 20;
	p->rate_limit = 0;
	p->rate_limit_sources = 10000;
}

/* Total time a sender with our parameters keeps retransmitting. */
static uint64_t retrans_window(const struct rpc_params *p)
{
	uint64_t w = 0, to = p->timeout_us;
	for (unsigned i = 0; i <= p->retries && w < RPC_WINDOW_CAP_US; i++) {
		w += to;
		to *= p->backoff;
	}
	return w < RPC_WINDOW_CAP_US ? w : RPC_WINDOW_CAP_US;
}

struct rpc *rpc_new(struct tr *t, const struct rpc_params *p)
{
	struct rpc *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->t = t;
	rpc_params_default(&r->p);
	if (p) {
		r->p = *p;
		if (!r->p.timeout_us)
			r->p.timeout_us = 250000;
		if (!r->p.backoff)
			r->p.backoff = 1;
		if (!r->p.max_reassembly)
			r->p.max_reassembly = 4u << 20;
	}
	if (r->p.rate_limit > 0 &&
	    !(r->rl = ddns_rl_new(r->p.rate_limit, r->p.rate_limit < 1 ? 1 : r->p.rate_limit,
				  r->p.rate_limit_sources ? r->p.rate_limit_sources : 1))) {
		free(r);
		return NULL;
	}
	r->window_us = retrans_window(&r->p);
	if (r->window_us < RPC_DONE_MIN_TTL_US)
		r->window_us = RPC_DONE_MIN_TTL_US;
	tr_set_recv(t, rpc_on_recv, r);
	return r;
}

struct tr *rpc_transport(struct rpc *r) { return r->t; }

const uint8_t *rpc_node_id(struct rpc *r, const struct tr_addr *a, uint8_t vnode)
{
	return sender_id(r, a, vnode);
}

static void done_del(struct rpc *r, struct rpc_done *d)
{
	HASH_DEL(r->done, d);
	r->done_bytes -= d->len;
	free(d->reply);
	free(d);
}

static void reasm_del(struct rpc *r, struct rpc_reasm *m)
{
	HASH_DEL(r->reasm, m);
	r->reasm_bytes -= m->size;
	free(m);
}

/* Frees everything; the instance must be out of every callback. */
static void rpc_destroy(struct rpc *r)
{
	struct rpc_pending *c, *ctmp;
	HASH_ITER(hh, r->pending, c, ctmp) {
		HASH_DEL(r->pending, c);
		tr_timer_cancel(r->t, c->timer);
		free(c);
	}
	struct rpc_handler *h, *htmp;
	HASH_ITER(hh, r->handlers, h, htmp) {
		HASH_DEL(r->handlers, h);
		free(h);
	}
	struct rpc_done *d, *dtmp;
	HASH_ITER(hh, r->done, d, dtmp)
		done_del(r, d);
	struct rpc_reasm *m, *mtmp;
	HASH_ITER(hh, r->reasm, m, mtmp)
		reasm_del(r, m);
	tr_timer_cancel(r->t, r->reasm_timer);
	ddns_rl_free(r->rl);
	free(r);
}

void rpc_free(struct rpc *r)
{
	if (!r || r->dead)
		return;
	if (r->t->recv_arg == r)
		tr_set_recv(r->t, NULL, NULL);
	if (r->depth > 0) {
		/* Inside one of our callbacks: stop every timer and callback now,
		 * release the memory when the entry point unwinds. */
		struct rpc_pending *c, *ctmp;
		HASH_ITER(hh, r->pending, c, ctmp) {
			HASH_DEL(r->pending, c);
			tr_timer_cancel(r->t, c->timer);
			free(c);
		}
		tr_timer_cancel(r->t, r->reasm_timer);
		r->reasm_timer = NULL;
		r->dead = true;
		return;
	}
	rpc_destroy(r);
}

int rpc_register(struct rpc *r, uint8_t overlay, uint8_t service, uint8_t vnode,
		 rpc_request_cb cb, void *arg)
{
	uint32_t key = handler_key(overlay, service, vnode);
	struct rpc_handler *h;
	HASH_FIND(hh, r->handlers, &key, sizeof(key), h);
	if (h)
		return -EEXIST;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->key = key;
	h->cb = cb;
	h->arg = arg;
	HASH_ADD(hh, r->handlers, key, sizeof(h->key), h);
	return 0;
}

void rpc_unregister(struct rpc *r, uint8_t overlay, uint8_t service, uint8_t vnode)
{
	uint32_t key = handler_key(overlay, service, vnode);
	struct rpc_handler *h;
	HASH_FIND(hh, r->handlers, &key, sizeof(key), h);
	if (h) {
		HASH_DEL(r->handlers, h);
		free(h);
	}
}

/* Fragment geometry for a message of len bytes: count fragments of chunk
 * bytes (the last one shorter), chunk = ceil(len / count). The receiver
 * recomputes chunk from (total, count), so fragments carry no offset.
 * Returns 0 or DDNS_ETOOBIG. */
static int frag_geometry(const struct rpc *r, size_t len, uint32_t *count, uint32_t *chunk)
{
	if (r->t->mtu <= RPC_HDR_LEN)
		return DDNS_ETOOBIG;
	size_t max = r->t->mtu - RPC_HDR_LEN;
	if (len <= max) {
		*count = 1;
		*chunk = (uint32_t)len;
		return 0;
	}
	size_t n = (len + max - 1) / max;
	if (n > RPC_MAX_FRAGS)
		return DDNS_ETOOBIG;
	*count = (uint32_t)n;
	*chunk = (uint32_t)((len + n - 1) / n); /* <= max, and (n-1)*chunk < len */
	return 0;
}

/* Frame and send one message, fragmenting as needed. Send errors are the
 * network's business (the caller retransmits or the peer does); the first
 * one is returned for logging. */
static int rpc_send_msg(struct rpc *r, const struct tr_addr *to, uint8_t flags,
			uint8_t overlay, uint8_t service, uint8_t type, uint8_t src_vnode,
			uint8_t dst_vnode, uint64_t txid, const uint8_t *payload, size_t len)
{
	uint32_t count, chunk;
	int err = frag_geometry(r, len, &count, &chunk);
	if (err)
		return err;
	uint8_t stackbuf[RPC_STACK_BUF];
	uint8_t *buf = stackbuf;
	size_t need = RPC_HDR_LEN + (size_t)chunk;
	if (need > sizeof(stackbuf)) {
		buf = malloc(need);
		if (!buf)
			return -ENOMEM;
	}
	const struct tr_addr *self = tr_self(r->t);
	ddns_put_u16(buf + 0, RPC_MAGIC);
	buf[2] = RPC_VERSION;
	buf[3] = flags;
	buf[4] = overlay;
	buf[5] = service;
	buf[6] = type;
	buf[7] = src_vnode;
	buf[8] = dst_vnode;
	buf[9] = self->family;
	ddns_put_u16(buf + 10, self->port);
	memset(buf + 12, 0, 16);
	memcpy(buf + 12, self->ip, addr_iplen(self));
	ddns_put_u64(buf + 28, txid);
	memcpy(buf + 36, self_id(r, src_vnode), DDNS_ID_LEN);
	ddns_put_u16(buf + RPC_OFF_FRAG_INDEX + 2, (uint16_t)count);
	ddns_put_u32(buf + 60, (uint32_t)len);
	int first_err = 0;
	for (uint32_t i = 0; i < count; i++) {
		size_t off = (size_t)i * chunk;
		size_t n = len - off < chunk ? len - off : chunk;
		ddns_put_u16(buf + RPC_OFF_FRAG_INDEX, (uint16_t)i);
		if (n)
			memcpy(buf + RPC_HDR_LEN, payload + off, n);
		err = tr_send(r->t, to, buf, RPC_HDR_LEN + n);
		if (err && !first_err)
			first_err = err;
		r->st.datagrams_out++;
		r->st.bytes_out += RPC_HDR_LEN + n;
	}
	if (buf != stackbuf)
		free(buf);
	return first_err;
}

/* ---- duplicate-request cache ---- */

/* An answered request is remembered for as long as its sender may keep
 * retransmitting; one still being worked on (a PUT waits for its
 * replicas, and its caller waits longer than for a plain request) for the
 * longest window any caller can have, so that a retransmission never
 * starts the work a second time. */
static bool done_expired(const struct rpc *r, const struct rpc_done *d, uint64_t now)
{
	return now - d->at_us > (d->answered ? r->window_us : RPC_WINDOW_CAP_US);
}

/* Drop expired entries from the head, and the oldest ones while over the
 * bounds (entries + room for `extra` bytes). */
static void done_prune(struct rpc *r, uint64_t now, size_t extra_entries, size_t extra_bytes)
{
	while (r->done && (done_expired(r, r->done, now) ||
			   HASH_COUNT(r->done) + extra_entries > RPC_DONE_MAX_ENTRIES ||
			   r->done_bytes + extra_bytes > RPC_DONE_MAX_BYTES))
		done_del(r, r->done);
}

static struct rpc_done *done_find(struct rpc *r, const struct tr_addr *from, uint64_t txid,
				  uint64_t now)
{
	struct rpc_peer_key k;
	struct rpc_done *d;
	peer_key(&k, from, txid, false);
	HASH_FIND(hh, r->done, &k, sizeof(k), d);
	if (d && done_expired(r, d, now)) {
		done_del(r, d);
		d = NULL;
	}
	return d;
}

/* Remember that a request was dispatched. Failure to allocate only costs
 * the dedup guarantee for this request. */
static void done_add(struct rpc *r, const struct tr_addr *from, uint64_t txid, uint64_t now)
{
	done_prune(r, now, 1, 0);
	struct rpc_done *d = calloc(1, sizeof(*d));
	if (!d)
		return;
	peer_key(&d->key, from, txid, false);
	d->at_us = now;
	HASH_ADD(hh, r->done, key, sizeof(d->key), d);
}

/* The reply for a dispatched request was sent: keep a copy for duplicates. */
static void done_answered(struct rpc *r, const struct rpc_reply_to *rt, uint8_t type,
			  const void *payload, size_t len)
{
	uint64_t now = tr_now_us(r->t);
	struct rpc_done *d = done_find(r, &rt->to, rt->txid, now);
	if (!d || d->answered)
		return;
	d->answered = true;
	bool keep = len <= RPC_DONE_MAX_BYTES / 4; /* else a duplicate is ignored */
	/* Make room first, with d out of the table so it survives; the window
	 * runs from the answer, and the tail stays the newest. */
	HASH_DEL(r->done, d);
	done_prune(r, now, 0, keep ? len : 0);
	d->at_us = now;
	HASH_ADD(hh, r->done, key, sizeof(d->key), d);
	if (!keep)
		return;
	d->type = type;
	d->rt = *rt;
	if (len) {
		d->reply = malloc(len);
		if (!d->reply)
			return;
		memcpy(d->reply, payload, len);
		d->len = len;
		r->done_bytes += len;
	}
	d->kept = true;
}

/* ---- replies ---- */

void rpc_reply_to_from(const struct rpc_msg *req, struct rpc_reply_to *out)
{
	memset(out, 0, sizeof(*out));
	addr_norm(&out->to, &req->from);
	out->txid = req->txid;
	out->overlay = req->overlay;
	out->service = req->service;
	out->src_vnode = req->dst_vnode;
	out->dst_vnode = req->src_vnode;
}

int rpc_reply_later(struct rpc *r, const struct rpc_reply_to *rt, uint8_t type,
		    const void *payload, size_t len)
{
	if (r->dead)
		return DDNS_ECANCELLED;
	if (len > RPC_MAX_PAYLOAD)
		return DDNS_ETOOBIG;
	if (len && !payload)
		return -EINVAL;
	int err = rpc_send_msg(r, &rt->to, RPC_F_REPLY, rt->overlay, rt->service, type,
			       rt->src_vnode, rt->dst_vnode, rt->txid, payload, len);
	if (err == DDNS_ETOOBIG || err == -ENOMEM)
		return err;
	r->st.replies_out++;
	done_answered(r, rt, type, payload, len);
	return 0;
}

int rpc_reply(struct rpc *r, const struct rpc_msg *req, uint8_t type, const void *payload,
	      size_t len)
{
	struct rpc_reply_to rt;
	rpc_reply_to_from(req, &rt);
	return rpc_reply_later(r, &rt, type, payload, len);
}

/* ---- calls ---- */

static void call_expired(void *arg);

static int call_transmit(struct rpc *r, struct rpc_pending *c)
{
	int err = rpc_send_msg(r, &c->to, 0, c->overlay, c->service, c->type, c->src_vnode,
			       c->dst_vnode, c->txid, c->payload, c->len);
	if (err) {
		char a[TR_ADDRSTRLEN];
		log_debug("rpc: send to %s failed: %s", tr_addr_str(&c->to, a), ddns_strerror(err));
	}
	c->transmissions++;
	c->sent_us = tr_now_us(r->t);
	c->timer = tr_timer_add(r->t, c->timeout_us, 0, call_expired, c);
	return c->timer ? 0 : -ENOMEM;
}

static void call_finish(struct rpc *r, struct rpc_pending *c, int status,
			const struct rpc_msg *reply)
{
	rpc_reply_cb cb = c->cb;
	rpc_outcome_cb ocb = c->ocb;
	void *arg = c->arg;
	struct rpc_outcome out = {
		.status = status,
		.reply = status == 0 ? reply : NULL,
		.transmissions = c->transmissions,
		.retransmits = c->transmissions ? c->transmissions - 1 : 0,
		.timed_out = status == DDNS_ETIMEDOUT,
	};
	HASH_DEL(r->pending, c);
	tr_timer_cancel(r->t, c->timer);
	free(c);
	if (cb)
		cb(arg, status, reply);
	else if (ocb)
		ocb(arg, &out);
}

static void call_expired(void *arg)
{
	struct rpc_pending *c = arg;
	struct rpc *r = c->r;
	c->timer = NULL; /* a one-shot timer is freed by the transport */
	rpc_enter(r);
	if (c->retries_left > 0) {
		c->retries_left--;
		uint64_t next = c->timeout_us * r->p.backoff;
		c->timeout_us = next < RPC_WINDOW_CAP_US ? next : RPC_WINDOW_CAP_US;
		r->st.retransmits++;
		if (call_transmit(r, c) == 0) {
			/* Last use of c: the callback may cancel it. */
			if (c->on_resend)
				c->on_resend(c->arg, c->transmissions);
			goto out;
		}
	}
	r->st.timeouts++;
	call_finish(r, c, DDNS_ETIMEDOUT, NULL);
out:
	rpc_leave(r);
}

static int call_start(struct rpc *r, const struct rpc_call *c, rpc_reply_cb cb,
		      rpc_outcome_cb ocb, void *arg, uint64_t *handle)
{
	if (handle)
		*handle = 0;
	if (r->dead)
		return DDNS_ECANCELLED;
	if (c->len > RPC_MAX_PAYLOAD)
		return DDNS_ETOOBIG;
	if (c->len && !c->payload)
		return -EINVAL;
	uint32_t count, chunk;
	if (frag_geometry(r, c->len, &count, &chunk))
		return DDNS_ETOOBIG;
	struct rpc_pending *p = malloc(sizeof(*p) + c->len);
	if (!p)
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	p->r = r;
	addr_norm(&p->to, &c->to);
	p->overlay = c->overlay;
	p->service = c->service;
	p->type = c->type;
	p->src_vnode = c->src_vnode;
	p->dst_vnode = c->dst_vnode;
	p->retries_left = c->retries < 0 ? r->p.retries : (unsigned)c->retries;
	p->timeout_us = c->timeout_us ? c->timeout_us : r->p.timeout_us;
	p->cb = cb;
	p->ocb = ocb;
	p->on_resend = c->on_resend;
	p->arg = arg;
	p->len = c->len;
	if (c->len)
		memcpy(p->payload, c->payload, c->len);
	/* 0 is never a txid, so 0 is never a valid handle. */
	struct rpc_pending *dup;
	do {
		p->txid = tr_random(r->t);
		HASH_FIND(hh, r->pending, &p->txid, sizeof(p->txid), dup);
	} while (p->txid == 0 || dup);
	HASH_ADD(hh, r->pending, txid, sizeof(p->txid), p);
	if (call_transmit(r, p) != 0) {
		HASH_DEL(r->pending, p);
		free(p);
		return -ENOMEM;
	}
	r->st.calls++;
	if (handle)
		*handle = p->txid;
	return 0;
}

int rpc_call(struct rpc *r, const struct rpc_call *c, rpc_reply_cb cb, void *arg,
	     uint64_t *handle)
{
	return call_start(r, c, cb, NULL, arg, handle);
}

int rpc_call_counted(struct rpc *r, const struct rpc_call *c, rpc_outcome_cb cb, void *arg,
		     uint64_t *handle)
{
	return call_start(r, c, NULL, cb, arg, handle);
}

unsigned rpc_transmissions(const struct rpc *r, uint64_t handle)
{
	struct rpc_pending *c;
	if (!r || !handle)
		return 0;
	HASH_FIND(hh, r->pending, &handle, sizeof(handle), c);
	return c ? c->transmissions : 0;
}

void rpc_cancel(struct rpc *r, uint64_t handle)
{
	struct rpc_pending *c;
	if (!r || !handle)
		return;
	HASH_FIND(hh, r->pending, &handle, sizeof(handle), c);
	if (!c)
		return;
	HASH_DEL(r->pending, c);
	tr_timer_cancel(r->t, c->timer);
	free(c);
}

void rpc_get_params(const struct rpc *r, struct rpc_params *out) { *out = r->p; }

void rpc_get_stats(const struct rpc *r, struct rpc_stats *out)
{
	*out = r->st;
	out->rate_sources = ddns_rl_sources(r->rl);
}

/* ---- receiving ---- */

/* Parse and validate a header (docs/PROTOCOL.md, "Validation"). On success
 * payload and plen are this datagram's fragment bytes. */
static int hdr_parse(const uint8_t *data, size_t len, struct rpc_hdr *h,
		     const uint8_t **payload, size_t *plen)
{
	struct ddns_rbuf b;
	ddns_rbuf_init(&b, data, len);
	uint16_t magic = ddns_rbuf_u16(&b);
	uint8_t version = ddns_rbuf_u8(&b);
	h->flags = ddns_rbuf_u8(&b);
	h->overlay = ddns_rbuf_u8(&b);
	h->service = ddns_rbuf_u8(&b);
	h->type = ddns_rbuf_u8(&b);
	h->src_vnode = ddns_rbuf_u8(&b);
	h->dst_vnode = ddns_rbuf_u8(&b);
	memset(&h->sender, 0, sizeof(h->sender));
	h->sender.family = ddns_rbuf_u8(&b);
	h->sender.port = ddns_rbuf_u16(&b);
	ddns_rbuf_copy(&b, h->sender.ip, 16);
	h->txid = ddns_rbuf_u64(&b);
	ddns_rbuf_copy(&b, h->sender_id, DDNS_ID_LEN);
	h->frag_index = ddns_rbuf_u16(&b);
	h->frag_count = ddns_rbuf_u16(&b);
	h->total = ddns_rbuf_u32(&b);
	if (b.err || magic != RPC_MAGIC || version != RPC_VERSION)
		return DDNS_EMALFORMED;
	if (h->sender.family != TR_AF_INET && h->sender.family != TR_AF_INET6)
		return DDNS_EMALFORMED;
	if (h->total > RPC_MAX_PAYLOAD)
		return DDNS_EMALFORMED;
	if (h->frag_count == 0 || h->frag_index >= h->frag_count)
		return DDNS_EMALFORMED;
	size_t left = ddns_rbuf_left(&b);
	if (h->frag_count == 1) {
		if (h->total != left)
			return DDNS_EMALFORMED;
	} else {
		uint32_t chunk = (h->total + h->frag_count - 1u) / h->frag_count;
		uint64_t off = (uint64_t)h->frag_index * chunk;
		/* the count must be the one the geometry yields: no empty tail */
		if (h->total == 0 || (uint64_t)(h->frag_count - 1u) * chunk >= h->total)
			return DDNS_EMALFORMED;
		uint64_t want = h->total - off < chunk ? h->total - off : chunk;
		if (left != want)
			return DDNS_EMALFORMED;
	}
	*payload = ddns_rbuf_take(&b, left);
	*plen = left;
	return 0;
}

static void dispatch_reply(struct rpc *r, const struct rpc_hdr *h, const struct tr_addr *from,
			   const uint8_t *payload, size_t len)
{
	struct rpc_pending *c;
	HASH_FIND(hh, r->pending, &h->txid, sizeof(h->txid), c);
	if (!c || !tr_addr_eq(from, &c->to)) {
		r->st.dropped_unmatched++;
		return;
	}
	struct rpc_msg m;
	m.overlay = h->overlay;
	m.service = h->service;
	m.type = h->type;
	m.src_vnode = h->src_vnode;
	m.dst_vnode = h->dst_vnode;
	m.txid = h->txid;
	memcpy(m.sender_id, h->sender_id, DDNS_ID_LEN);
	addr_norm(&m.from, from);
	m.rtt_us = tr_now_us(r->t) - c->sent_us;
	m.payload = payload;
	m.len = len;
	r->st.replies_ok++;
	call_finish(r, c, 0, &m);
}

static void resend_cached(struct rpc *r, const struct rpc_done *d)
{
	if (!d->kept)
		return;
	rpc_send_msg(r, &d->rt.to, RPC_F_REPLY, d->rt.overlay, d->rt.service, d->type,
		     d->rt.src_vnode, d->rt.dst_vnode, d->rt.txid, d->reply, d->len);
}

static void dispatch_request(struct rpc *r, const struct rpc_hdr *h, const struct tr_addr *from,
			     const uint8_t *payload, size_t len)
{
	uint64_t now = tr_now_us(r->t);
	struct rpc_done *d = done_find(r, from, h->txid, now);
	if (d) {
		r->st.duplicates++;
		resend_cached(r, d);
		return;
	}
	uint32_t key = handler_key(h->overlay, h->service, h->dst_vnode);
	struct rpc_handler *hd;
	HASH_FIND(hh, r->handlers, &key, sizeof(key), hd);
	if (!hd) {
		r->st.dropped_nohandler++;
		return;
	}
	if (r->rl) {
		struct tr_addr na;
		uint8_t src[17];
		addr_norm(&na, from);
		src[0] = na.family;
		memcpy(src + 1, na.ip, 16);
		if (!ddns_rl_allow(r->rl, src, sizeof(src), now)) {
			r->st.dropped_rate++;
			return;
		}
	}
	done_add(r, from, h->txid, now);
	struct rpc_msg m;
	m.overlay = h->overlay;
	m.service = h->service;
	m.type = h->type;
	m.src_vnode = h->src_vnode;
	m.dst_vnode = h->dst_vnode;
	m.txid = h->txid;
	memcpy(m.sender_id, h->sender_id, DDNS_ID_LEN);
	addr_norm(&m.from, from);
	m.rtt_us = 0;
	m.payload = payload;
	m.len = len;
	r->st.requests_in++;
	hd->cb(hd->arg, &m);
}

static void reasm_expire(void *arg);

static uint64_t reasm_ttl(const struct rpc *r) { return r->window_us; }

static void reasm_arm(struct rpc *r)
{
	if (r->reasm_timer || !r->reasm || r->dead)
		return;
	uint64_t now = tr_now_us(r->t);
	uint64_t due = r->reasm->started_us + reasm_ttl(r);
	r->reasm_timer = tr_timer_add(r->t, due > now ? due - now : 1, 0, reasm_expire, r);
}

static void reasm_expire(void *arg)
{
	struct rpc *r = arg;
	r->reasm_timer = NULL;
	uint64_t now = tr_now_us(r->t);
	while (r->reasm && now - r->reasm->started_us >= reasm_ttl(r))
		reasm_del(r, r->reasm);
	reasm_arm(r);
}

/* Add one fragment. Returns the entry when the message is complete (the
 * caller dispatches and deletes it), NULL otherwise. */
static struct rpc_reasm *reasm_add(struct rpc *r, const struct rpc_hdr *h,
				   const struct tr_addr *from, const uint8_t *frag, size_t flen)
{
	struct rpc_peer_key k;
	struct rpc_reasm *m;
	peer_key(&k, from, h->txid, h->flags & RPC_F_REPLY);
	HASH_FIND(hh, r->reasm, &k, sizeof(k), m);
	if (m) {
		if (m->hdr.total != h->total || m->hdr.frag_count != h->frag_count ||
		    m->hdr.type != h->type || m->hdr.overlay != h->overlay ||
		    m->hdr.service != h->service || m->hdr.src_vnode != h->src_vnode ||
		    m->hdr.dst_vnode != h->dst_vnode) {
			r->st.dropped_malformed++;
			return NULL;
		}
	} else {
		size_t bitmap = ((size_t)h->frag_count + 7) / 8;
		size_t size = sizeof(*m) + h->total + bitmap;
		if (size > r->p.max_reassembly) {
			r->st.dropped_malformed++;
			return NULL;
		}
		/* Oldest partial messages make room for new ones. */
		while (r->reasm && r->reasm_bytes + size > r->p.max_reassembly)
			reasm_del(r, r->reasm);
		m = calloc(1, size);
		if (!m)
			return NULL;
		m->key = k;
		m->hdr = *h;
		m->started_us = tr_now_us(r->t);
		m->chunk = (h->total + h->frag_count - 1u) / h->frag_count;
		m->size = size;
		HASH_ADD(hh, r->reasm, key, sizeof(m->key), m);
		r->reasm_bytes += size;
		reasm_arm(r);
	}
	uint8_t *bits = m->data + m->hdr.total;
	unsigned i = h->frag_index;
	if (bits[i / 8] & (1u << (i % 8)))
		return NULL; /* duplicate fragment (a retransmission) */
	bits[i / 8] |= (uint8_t)(1u << (i % 8));
	memcpy(m->data + (size_t)i * m->chunk, frag, flen);
	if (++m->got < m->hdr.frag_count)
		return NULL;
	return m;
}

static void rpc_on_recv(void *arg, const struct tr_addr *from, const uint8_t *data, size_t len)
{
	struct rpc *r = arg;
	struct rpc_hdr h;
	const uint8_t *payload = NULL;
	size_t plen = 0;
	char a[TR_ADDRSTRLEN];

	rpc_enter(r);
	r->st.datagrams_in++;
	r->st.bytes_in += len;
	if (hdr_parse(data, len, &h, &payload, &plen) != 0) {
		r->st.dropped_malformed++;
		log_debug("rpc: malformed datagram (%zu bytes) from %s", len, tr_addr_str(from, a));
		goto out;
	}
	if (memcmp(sender_id(r, from, h.src_vnode), h.sender_id, DDNS_ID_LEN) != 0) {
		r->st.dropped_spoofed++;
		log_debug("rpc: spoofed sender id from %s", tr_addr_str(from, a));
		goto out;
	}
	bool reply = h.flags & RPC_F_REPLY;
	if (h.frag_count == 1) {
		if (reply)
			dispatch_reply(r, &h, from, payload, plen);
		else
			dispatch_request(r, &h, from, payload, plen);
		goto out;
	}
	/* Fragments. Refuse to buffer what would be dropped anyway. */
	if (reply) {
		struct rpc_pending *c;
		HASH_FIND(hh, r->pending, &h.txid, sizeof(h.txid), c);
		if (!c || !tr_addr_eq(from, &c->to)) {
			r->st.dropped_unmatched++;
			goto out;
		}
	} else {
		struct rpc_done *d = done_find(r, from, h.txid, tr_now_us(r->t));
		if (d) {
			/* A retransmission of an answered request: answer once
			 * per retransmission, on its first fragment. */
			if (h.frag_index == 0) {
				r->st.duplicates++;
				resend_cached(r, d);
			}
			goto out;
		}
	}
	struct rpc_reasm *m = reasm_add(r, &h, from, payload, plen);
	if (!m)
		goto out;
	HASH_DEL(r->reasm, m);
	r->reasm_bytes -= m->size;
	if (reply)
		dispatch_reply(r, &m->hdr, from, m->data, m->hdr.total);
	else
		dispatch_request(r, &m->hdr, from, m->data, m->hdr.total);
	free(m);
out:
	rpc_leave(r);
}
