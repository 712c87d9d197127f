/*
 * client.c - client messages of a ddnsd node (codecs) and the synchronous
 * client used by ddns publish/lookup/status.
 */
#include "cli/client.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "overlay/overlay_impl.h"
#include "overlay/rpc.h"
#include "overlay/udp.h"

/* ---- codecs ---------------------------------------------------------- */

static bool put_status(struct ddns_wbuf *w, int status)
{
	return ddns_wbuf_u32(w, (uint32_t)(int32_t)status);
}

static int get_status(struct ddns_rbuf *r)
{
	return (int)(int32_t)ddns_rbuf_u32(r);
}

static bool start(struct ddns_rbuf *r, const uint8_t *p, size_t len)
{
	ddns_rbuf_init(r, p, len);
	return ddns_rbuf_u8(r) == CLI_WIRE_VERSION && !r->err;
}

static int finish(const struct ddns_rbuf *r)
{
	return r->err || ddns_rbuf_left(r) != 0 ? DDNS_EMALFORMED : 0;
}

/*
 * STATUS_R: ver(1) uptime(4) dns_port(2) replicas(1) n(1), then per
 * instance: overlay(1) vnode(1) routing(4) neighbours(4) primary(4)
 * replica(4) cache(4) lookups(8) lookup_rpcs(8) lookup_hops(8) gets(8)
 * gets_ok(8) puts(8) puts_ok(8) forged(8).
 */
bool cli_msg_status_r(struct ddns_wbuf *w, const struct cli_status *st)
{
	size_t n = st->ninst > CLI_MAX_INST ? CLI_MAX_INST : st->ninst;
	ddns_wbuf_u8(w, CLI_WIRE_VERSION);
	ddns_wbuf_u32(w, st->uptime_s);
	ddns_wbuf_u16(w, st->dns_port);
	ddns_wbuf_u8(w, st->replicas);
	ddns_wbuf_u8(w, (uint8_t)n);
	for (size_t i = 0; i < n; i++) {
		const struct cli_inst *x = &st->inst[i];
		ddns_wbuf_u8(w, x->overlay);
		ddns_wbuf_u8(w, x->vnode);
		ddns_wbuf_u32(w, x->routing_size);
		ddns_wbuf_u32(w, x->neighbours);
		ddns_wbuf_u32(w, x->blocks_primary);
		ddns_wbuf_u32(w, x->blocks_replica);
		ddns_wbuf_u32(w, x->blocks_cache);
		ddns_wbuf_u64(w, x->lookups);
		ddns_wbuf_u64(w, x->lookup_rpcs);
		ddns_wbuf_u64(w, x->lookup_hops);
		ddns_wbuf_u64(w, x->gets);
		ddns_wbuf_u64(w, x->gets_ok);
		ddns_wbuf_u64(w, x->puts);
		ddns_wbuf_u64(w, x->puts_ok);
		ddns_wbuf_u64(w, x->forged_served);
	}
	ddns_wbuf_u8(w, (uint8_t)st->flags); /* appended last (a reply without it: JOINED) */
	return !w->err;
}

int cli_msg_status_r_decode(const uint8_t *p, size_t len, struct cli_status *out)
{
	struct ddns_rbuf r;
	memset(out, 0, sizeof(*out));
	if (!start(&r, p, len))
		return DDNS_EMALFORMED;
	out->uptime_s = ddns_rbuf_u32(&r);
	out->dns_port = ddns_rbuf_u16(&r);
	out->replicas = ddns_rbuf_u8(&r);
	out->ninst = ddns_rbuf_u8(&r);
	if (out->ninst > CLI_MAX_INST)
		return DDNS_EMALFORMED;
	for (size_t i = 0; i < out->ninst && !r.err; i++) {
		struct cli_inst *x = &out->inst[i];
		x->overlay = ddns_rbuf_u8(&r);
		x->vnode = ddns_rbuf_u8(&r);
		x->routing_size = ddns_rbuf_u32(&r);
		x->neighbours = ddns_rbuf_u32(&r);
		x->blocks_primary = ddns_rbuf_u32(&r);
		x->blocks_replica = ddns_rbuf_u32(&r);
		x->blocks_cache = ddns_rbuf_u32(&r);
		x->lookups = ddns_rbuf_u64(&r);
		x->lookup_rpcs = ddns_rbuf_u64(&r);
		x->lookup_hops = ddns_rbuf_u64(&r);
		x->gets = ddns_rbuf_u64(&r);
		x->gets_ok = ddns_rbuf_u64(&r);
		x->puts = ddns_rbuf_u64(&r);
		x->puts_ok = ddns_rbuf_u64(&r);
		x->forged_served = ddns_rbuf_u64(&r);
	}
	/* The flags byte came later: a node that sends none has joined. */
	out->flags = ddns_rbuf_left(&r) && !r.err ? ddns_rbuf_u8(&r) : CLI_ST_JOINED;
	return finish(&r);
}

/* PUT: ver(1) mask(1) len(4) block. */
bool cli_msg_put(struct ddns_wbuf *w, uint8_t mask, const uint8_t *blk, size_t len)
{
	ddns_wbuf_u8(w, CLI_WIRE_VERSION);
	ddns_wbuf_u8(w, mask);
	ddns_wbuf_u32(w, (uint32_t)len);
	ddns_wbuf_put(w, blk, len);
	return !w->err;
}

int cli_msg_put_decode(const uint8_t *p, size_t len, uint8_t *mask, const uint8_t **blk,
		       size_t *blen)
{
	struct ddns_rbuf r;
	if (!start(&r, p, len))
		return DDNS_EMALFORMED;
	*mask = ddns_rbuf_u8(&r);
	*blen = ddns_rbuf_u32(&r);
	*blk = ddns_rbuf_take(&r, *blen);
	return finish(&r);
}

/* PUT_R: ver(1) n(1), then per overlay: overlay(1) status(4) replicas(1)
 * rpcs(4) hops(4) reason_len(1) reason. */
bool cli_msg_put_r(struct ddns_wbuf *w, const struct cli_put_result *res, size_t n)
{
	ddns_wbuf_u8(w, CLI_WIRE_VERSION);
	ddns_wbuf_u8(w, (uint8_t)n);
	for (size_t i = 0; i < n; i++) {
		size_t rl = strnlen(res[i].reason, CLI_REASON_MAX);
		ddns_wbuf_u8(w, res[i].overlay);
		put_status(w, res[i].status);
		ddns_wbuf_u8(w, (uint8_t)(res[i].replicas > 255 ? 255 : res[i].replicas));
		ddns_wbuf_u32(w, res[i].rpcs);
		ddns_wbuf_u32(w, res[i].hops);
		ddns_wbuf_u8(w, (uint8_t)rl);
		ddns_wbuf_put(w, res[i].reason, rl);
	}
	return !w->err;
}

int cli_msg_put_r_decode(const uint8_t *p, size_t len, struct cli_put_result *out, size_t max,
			 size_t *n)
{
	struct ddns_rbuf r;
	*n = 0;
	if (!start(&r, p, len))
		return DDNS_EMALFORMED;
	size_t cnt = ddns_rbuf_u8(&r);
	for (size_t i = 0; i < cnt && !r.err; i++) {
		struct cli_put_result tmp, *x = i < max ? &out[i] : &tmp;
		memset(x, 0, sizeof(*x));
		x->overlay = ddns_rbuf_u8(&r);
		x->status = get_status(&r);
		x->replicas = ddns_rbuf_u8(&r);
		x->rpcs = ddns_rbuf_u32(&r);
		x->hops = ddns_rbuf_u32(&r);
		size_t rl = ddns_rbuf_u8(&r);
		if (rl > CLI_REASON_MAX)
			return DDNS_EMALFORMED;
		ddns_rbuf_copy(&r, x->reason, rl);
		x->reason[rl] = 0;
	}
	*n = cnt < max ? cnt : max;
	return finish(&r);
}

/* GET: ver(1) overlay(1) flags(1) name_len(1) name type(2). */
bool cli_msg_get(struct ddns_wbuf *w, uint8_t overlay, uint8_t flags, const uint8_t *name,
		 size_t name_len, uint16_t type)
{
	ddns_wbuf_u8(w, CLI_WIRE_VERSION);
	ddns_wbuf_u8(w, overlay);
	ddns_wbuf_u8(w, flags);
	ddns_wbuf_u8(w, (uint8_t)name_len);
	ddns_wbuf_put(w, name, name_len);
	ddns_wbuf_u16(w, type);
	return !w->err && name_len <= 255;
}

int cli_msg_get_decode(const uint8_t *p, size_t len, uint8_t *overlay, uint8_t *flags,
		       const uint8_t **name, size_t *name_len, uint16_t *type)
{
	struct ddns_rbuf r;
	if (!start(&r, p, len))
		return DDNS_EMALFORMED;
	*overlay = ddns_rbuf_u8(&r);
	*flags = ddns_rbuf_u8(&r);
	*name_len = ddns_rbuf_u8(&r);
	*name = ddns_rbuf_take(&r, *name_len);
	*type = ddns_rbuf_u16(&r);
	return finish(&r);
}

/* GET_R: ver(1) status(4) overlay(1) rpcs(4) hops(4) source(1) node_ref
 * version(8) len(4) block. */
bool cli_msg_get_r(struct ddns_wbuf *w, const struct cli_get_result *res)
{
	ddns_wbuf_u8(w, CLI_WIRE_VERSION);
	put_status(w, res->status);
	ddns_wbuf_u8(w, res->overlay);
	ddns_wbuf_u32(w, res->rpcs);
	ddns_wbuf_u32(w, res->hops);
	ddns_wbuf_u8(w, res->source);
	if (res->from.addr.family == TR_AF_INET || res->from.addr.family == TR_AF_INET6) {
		ovl_node_write(w, &res->from);
	} else {
		/* No node: an IPv4 0.0.0.0:0 reference. */
		struct ovl_node none;
		ovl_node_make(&none, &(struct tr_addr){.family = TR_AF_INET}, 0);
		ovl_node_write(w, &none);
	}
	ddns_wbuf_u64(w, res->version);
	ddns_wbuf_u32(w, (uint32_t)res->len);
	ddns_wbuf_put(w, res->block, res->len);
	return !w->err;
}

int cli_msg_get_r_decode(const uint8_t *p, size_t len, struct cli_get_result *out)
{
	struct ddns_rbuf r;
	memset(out, 0, sizeof(*out));
	if (!start(&r, p, len))
		return DDNS_EMALFORMED;
	out->status = get_status(&r);
	out->overlay = ddns_rbuf_u8(&r);
	out->rpcs = ddns_rbuf_u32(&r);
	out->hops = ddns_rbuf_u32(&r);
	out->source = ddns_rbuf_u8(&r);
	if (!ovl_node_read(&r, &out->from))
		return DDNS_EMALFORMED;
	out->version = ddns_rbuf_u64(&r);
	out->len = ddns_rbuf_u32(&r);
	out->block = ddns_rbuf_take(&r, out->len);
	if (!out->len)
		out->block = NULL;
	return finish(&r);
}

/* ---- the client ------------------------------------------------------ */

struct ddns_client {
	struct event_base *base;
	struct tr *tr;
	struct rpc *rpc;
	struct tr_addr node;
	uint64_t timeout_us;
	int retries;
	size_t pending;
};

/* The local address the kernel picks to reach `to` (port 0). */
static int route_source(const struct tr_addr *to, struct tr_addr *out)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof(ss));
	if (to->family == TR_AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(to->port);
		memcpy(&s4->sin_addr, to->ip, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(to->port);
		memcpy(&s6->sin6_addr, to->ip, 16);
		sl = sizeof(*s6);
	}
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &(socklen_t){sizeof(ss)}) != 0)
		rc = -errno;
	close(fd);
	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	out->family = to->family;
	if (to->family == TR_AF_INET)
		memcpy(out->ip, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	else
		memcpy(out->ip, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	return 0;
}

struct ddns_client *ddns_client_new(const char *addr, unsigned timeout_ms, char *err,
				    size_t errlen)
{
	struct ddns_client *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (tr_addr_parse(addr, 0, &c->node) != 0 || c->node.port == 0) {
		snprintf(err, errlen, "bad node address '%s' (want ADDR:PORT)", addr);
		goto fail;
	}
	c->base = event_base_new();
	if (!c->base) {
		snprintf(err, errlen, "cannot create an event loop");
		goto fail;
	}
	/* Bind a specific address (udp.h: peers derive our id from the
	 * source address they observe, so no wildcard): the one the kernel
	 * would send from to reach the node, found with a connected probe. */
	struct tr_addr local;
	if (route_source(&c->node, &local) != 0) {
		char a[TR_ADDRSTRLEN];
		snprintf(err, errlen, "no route to node %s", tr_addr_str(&c->node, a));
		goto fail;
	}
	int e = 0;
	c->tr = udp_tr_new(c->base, &local, NULL, &e);
	if (!c->tr) {
		char a[TR_ADDRSTRLEN];
		snprintf(err, errlen, "cannot bind a client socket on %s: %s",
			 tr_addr_str(&local, a), ddns_strerror(e));
		goto fail;
	}
	struct rpc_params rp;
	rpc_params_default(&rp);
	c->rpc = rpc_new(c->tr, &rp);
	if (!c->rpc) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* First timeout 500 ms, doubling: 0.5+1+2+4+8+... until the budget. */
	uint64_t budget = (uint64_t)(timeout_ms ? timeout_ms : 30000) * 1000;
	c->timeout_us = 500000;
	uint64_t sum = c->timeout_us, t = c->timeout_us;
	c->retries = 0;
	while (sum + 2 * t <= budget && c->retries < 10) {
		t *= 2;
		sum += t;
		c->retries++;
	}
	if (budget < c->timeout_us)
		c->timeout_us = budget;
	return c;
fail:
	ddns_client_free(c);
	return NULL;
}

void ddns_client_free(struct ddns_client *c)
{
	if (!c)
		return;
	rpc_free(c->rpc);
	tr_free(c->tr);
	if (c->base)
		event_base_free(c->base);
	free(c);
}

struct call_ctx {
	struct ddns_client *c;
	bool done;
	int status;
	uint8_t type;
	uint8_t *payload;
	size_t len;
	/* async put */
	ddns_client_put_cb put_cb;
	void *put_arg;
	/* async get */
	ddns_client_get_cb get_cb;
	void *get_arg;
};

static void deliver_put(struct call_ctx *x)
{
	struct cli_put_result res[CLI_MAX_OVL];
	size_t n = 0;
	int st = x->status;
	if (st == 0 && (x->type != CLI_PUT_R ||
			cli_msg_put_r_decode(x->payload, x->len, res, CLI_MAX_OVL, &n) != 0))
		st = DDNS_EMALFORMED;
	x->put_cb(x->put_arg, st, res, st ? 0 : n);
}

static void on_reply(void *arg, int status, const struct rpc_msg *reply)
{
	struct call_ctx *x = arg;
	x->c->pending--;
	x->done = true;
	x->status = status;
	if (status == 0 && reply) {
		x->type = reply->type;
		x->payload = malloc(reply->len ? reply->len : 1);
		if (!x->payload)
			x->status = -ENOMEM;
		else if (reply->len)
			memcpy(x->payload, reply->payload, reply->len);
		x->len = reply->len;
	}
	if (x->put_cb || x->get_cb) {
		if (x->put_cb) {
			deliver_put(x);
		} else {
			struct cli_get_result r;
			int st = x->status;
			if (st == 0 && (x->type != CLI_GET_R ||
					cli_msg_get_r_decode(x->payload, x->len, &r) != 0))
				st = DDNS_EMALFORMED;
			x->get_cb(x->get_arg, st, st ? NULL : &r);
		}
		free(x->payload);
		free(x);
	}
}

static int issue(struct ddns_client *c, uint8_t type, const struct ddns_wbuf *w,
		 struct call_ctx *x)
{
	struct rpc_call call = {
		.to = c->node,
		.overlay = RPC_OVL_NONE,
		.service = RPC_SVC_CLIENT,
		.type = type,
		.src_vnode = 0,
		.dst_vnode = 0,
		.payload = w->p,
		.len = w->len,
		.timeout_us = c->timeout_us,
		.retries = c->retries,
	};
	if (w->err)
		return -ENOMEM;
	x->c = c;
	int err = rpc_call(c->rpc, &call, on_reply, x, NULL);
	if (err == 0)
		c->pending++;
	return err;
}

/* Issue a request and run the loop until its reply. */
static int call_sync(struct ddns_client *c, uint8_t type, const struct ddns_wbuf *w,
		     struct call_ctx *x)
{
	memset(x, 0, sizeof(*x));
	int err = issue(c, type, w, x);
	if (err)
		return err;
	while (!x->done)
		event_base_loop(c->base, EVLOOP_ONCE);
	return x->status;
}

int ddns_client_status(struct ddns_client *c, struct cli_status *out)
{
	struct ddns_wbuf w;
	struct call_ctx x;
	ddns_wbuf_init(&w, 0);
	ddns_wbuf_u8(&w, CLI_WIRE_VERSION);
	int err = call_sync(c, CLI_STATUS, &w, &x);
	ddns_wbuf_free(&w);
	if (err == 0)
		err = x.type == CLI_STATUS_R ? cli_msg_status_r_decode(x.payload, x.len, out)
					     : DDNS_EMALFORMED;
	free(x.payload);
	return err;
}

int ddns_client_get(struct ddns_client *c, uint8_t overlay, uint8_t flags,
		    const uint8_t *name, size_t name_len, uint16_t type,
		    struct cli_get_result *out)
{
	struct ddns_wbuf w;
	struct call_ctx x;
	memset(out, 0, sizeof(*out));
	ddns_wbuf_init(&w, 0);
	if (!cli_msg_get(&w, overlay, flags, name, name_len, type)) {
		ddns_wbuf_free(&w);
		return DDNS_EMALFORMED;
	}
	int err = call_sync(c, CLI_GET, &w, &x);
	ddns_wbuf_free(&w);
	if (err == 0)
		err = x.type == CLI_GET_R ? cli_msg_get_r_decode(x.payload, x.len, out)
					  : DDNS_EMALFORMED;
	if (err == 0 && out->block) {
		uint8_t *copy = malloc(out->len);
		if (!copy)
			err = -ENOMEM;
		else
			memcpy(copy, out->block, out->len);
		out->block = copy;
	}
	if (err)
		memset(out, 0, sizeof(*out));
	free(x.payload);
	return err;
}

int ddns_client_put_async(struct ddns_client *c, uint8_t mask, const uint8_t *blk, size_t len,
			  ddns_client_put_cb cb, void *arg)
{
	if (len > DHT_MAX_BLOCK)
		return DDNS_ETOOBIG;
	struct call_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->put_cb = cb;
	x->put_arg = arg;
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	cli_msg_put(&w, mask, blk, len);
	int err = issue(c, CLI_PUT, &w, x);
	ddns_wbuf_free(&w);
	if (err)
		free(x);
	return err;
}

int ddns_client_get_async(struct ddns_client *c, uint8_t overlay, uint8_t flags,
			  const uint8_t *name, size_t name_len, uint16_t type,
			  ddns_client_get_cb cb, void *arg)
{
	struct call_ctx *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->get_cb = cb;
	x->get_arg = arg;
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	int err = cli_msg_get(&w, overlay, flags, name, name_len, type) ? issue(c, CLI_GET, &w, x)
									: DDNS_EMALFORMED;
	ddns_wbuf_free(&w);
	if (err)
		free(x);
	return err;
}

size_t ddns_client_pending(const struct ddns_client *c)
{
	return c->pending;
}

void ddns_client_wait(struct ddns_client *c, size_t left)
{
	while (c->pending > left)
		event_base_loop(c->base, EVLOOP_ONCE);
}
