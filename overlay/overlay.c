#include "overlay/overlay_impl.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

void ovl_params_default(struct ovl_params *p)
{
	memset(p, 0, sizeof(*p));
	p->replicas = 6;
	p->succ_list_len = 16;
	p->stabilize_us = 1000000;
	p->fix_fingers_us = 1000000;
	p->k = 8;
	p->alpha = 3;
	p->refresh_us = 60000000;
	p->rpc_retries = -1;
}

/* The one table of overlays, by wire id. */
static const struct ovl_ops *const ovl_by_wire[] = {
	[RPC_OVL_CHORD] = &chord_ops,
	[RPC_OVL_KAD16] = &kad16_ops,
};
#define OVL_WIRE_END (sizeof(ovl_by_wire) / sizeof(ovl_by_wire[0]))

const struct ovl_ops *ovl_ops_by_wire(uint8_t wire)
{
	return wire < OVL_WIRE_END ? ovl_by_wire[wire] : NULL;
}

const struct ovl_ops *ovl_ops_by_name(const char *name)
{
	for (size_t w = 0; w < OVL_WIRE_END; w++)
		if (ovl_by_wire[w] && strcmp(ovl_by_wire[w]->name, name) == 0)
			return ovl_by_wire[w];
	return NULL;
}

const char *ovl_wire_name(uint8_t wire)
{
	const struct ovl_ops *ops = ovl_ops_by_wire(wire);
	return ops ? ops->name : "?";
}

const char *ovl_ops_name(const struct ovl_ops *ops) { return ops->name; }
uint8_t ovl_ops_wire_id(const struct ovl_ops *ops) { return ops->wire_id; }

struct ovl *ovl_new(const struct ovl_ops *ops, struct rpc *r, const struct ovl_params *p)
{
	struct ovl *o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->ops = ops;
	o->rpc = r;
	o->tr = rpc_transport(r);
	if (p)
		o->p = *p;
	else
		ovl_params_default(&o->p);
	if (o->p.replicas == 0)
		o->p.replicas = 1;
	if (o->p.replicas > OVL_MAX_REPLICAS)
		o->p.replicas = OVL_MAX_REPLICAS;
	ovl_node_make(&o->self, tr_self(o->tr), o->p.vnode);
	if (ops->create(o) != 0) {
		free(o);
		return NULL;
	}
	return o;
}

void ovl_free(struct ovl *o)
{
	if (!o)
		return;
	o->ops->destroy(o);
	free(o);
}

int ovl_join(struct ovl *o, const struct tr_addr *bootstrap) { return o->ops->join(o, bootstrap); }

void ovl_leave(struct ovl *o)
{
	if (o->ops->leave)
		o->ops->leave(o);
}

void ovl_set_value_hook(struct ovl *o, ovl_value_cb cb, void *arg)
{
	o->value_cb = cb;
	o->value_arg = arg;
}

void ovl_set_change_hook(struct ovl *o, ovl_change_cb cb, void *arg)
{
	o->change_cb = cb;
	o->change_arg = arg;
}

int ovl_lookup(struct ovl *o, const uint8_t key[DDNS_ID_LEN], const struct ovl_lookup_opts *opts,
	       ovl_lookup_cb cb, void *arg)
{
	struct ovl_lookup_opts def = {0};
	o->stats.lookups++;
	return o->ops->lookup(o, key, opts ? opts : &def, cb, arg);
}

const struct ovl_node *ovl_self(const struct ovl *o) { return &o->self; }
struct rpc *ovl_rpc(const struct ovl *o) { return o->rpc; }
const struct ovl_ops *ovl_ops_of(const struct ovl *o) { return o->ops; }

bool ovl_responsible(struct ovl *o, const uint8_t key[DDNS_ID_LEN])
{
	return o->ops->responsible(o, key);
}

size_t ovl_replica_set(struct ovl *o, const uint8_t key[DDNS_ID_LEN], struct ovl_node *out,
		       size_t max)
{
	return o->ops->replica_set(o, key, out, max);
}

size_t ovl_routing_nodes(struct ovl *o, struct ovl_node *out, size_t max)
{
	return o->ops->routing_nodes(o, out, max);
}

uint64_t ovl_size_estimate(struct ovl *o) { return o->ops->size_estimate(o); }

uint64_t ovl_density_estimate(unsigned m, const uint8_t dist[DDNS_ID_LEN])
{
	uint64_t top = 0;
	for (int i = 0; i < 8; i++)
		top = top << 8 | dist[i];
	if (m == 0)
		return 1;
	if (top == 0) /* closer than 2^96: more nodes than we can count */
		return UINT64_MAX;
	/* m * 2^64 / top, in floating point: only the order matters */
	double n = (double)m * 18446744073709551616.0 / (double)top;
	return n < 1 ? 1 : n >= 1.8e19 ? UINT64_MAX : (uint64_t)n;
}

void ovl_get_stats(struct ovl *o, struct ovl_stats *out)
{
	*out = o->stats;
	struct ovl_node tmp[512];
	out->routing_size = o->ops->routing_nodes(o, tmp, sizeof(tmp) / sizeof(tmp[0]));
	o->ops->limits(o, out);
}

void ovl_node_make(struct ovl_node *n, const struct tr_addr *a, uint8_t vnode)
{
	n->addr = *a;
	n->vnode = vnode;
	ovl_id_of(a, vnode, n->id);
}

bool ovl_local_value(struct ovl *o, const uint8_t key[DDNS_ID_LEN], const uint8_t *probe,
		     size_t probe_len, const uint8_t **val, size_t *len)
{
	if (!o->value_cb)
		return false;
	return o->value_cb(o->value_arg, key, probe, probe_len, val, len);
}

void ovl_notify_change(struct ovl *o)
{
	if (o->change_cb)
		o->change_cb(o->change_arg, o);
}

void ovl_lookup_done(struct ovl *o, const struct ovl_lookup_result *res, ovl_lookup_cb cb,
		     void *arg)
{
	if (res->status == 0) {
		o->stats.lookups_ok++;
		o->stats.lookup_rpcs += res->rpcs;
		o->stats.lookup_hops += res->hops;
	} else {
		o->stats.lookups_failed++;
	}
	if (cb)
		cb(arg, res);
}

bool ovl_node_write(struct ddns_wbuf *w, const struct ovl_node *n)
{
	size_t iplen = n->addr.family == TR_AF_INET ? 4 : 16;
	ddns_wbuf_u8(w, n->addr.family);
	ddns_wbuf_put(w, n->addr.ip, iplen);
	ddns_wbuf_u16(w, n->addr.port);
	return ddns_wbuf_u8(w, n->vnode);
}

void ovl_node_sender(struct ovl_node *n, const struct rpc_msg *req)
{
	n->addr = req->from;
	n->vnode = req->src_vnode;
	memcpy(n->id, req->sender_id, DDNS_ID_LEN);
}

/* The address and vnode of a node reference; false (r->err) if malformed. */
static bool node_ref_read(struct ddns_rbuf *r, struct tr_addr *a, uint8_t *vnode)
{
	memset(a, 0, sizeof(*a));
	a->family = ddns_rbuf_u8(r);
	if (a->family != TR_AF_INET && a->family != TR_AF_INET6) {
		r->err = true;
		return false;
	}
	if (!ddns_rbuf_copy(r, a->ip, a->family == TR_AF_INET ? 4 : 16))
		return false;
	a->port = ddns_rbuf_u16(r);
	*vnode = ddns_rbuf_u8(r);
	return !r->err;
}

bool ovl_node_read_via(struct ovl *o, struct ddns_rbuf *r, struct ovl_node *n)
{
	struct tr_addr a;
	uint8_t vnode;
	if (!node_ref_read(r, &a, &vnode))
		return false;
	n->addr = a;
	n->vnode = vnode;
	memcpy(n->id, rpc_node_id(o->rpc, &a, vnode), DDNS_ID_LEN);
	return true;
}

bool ovl_node_read(struct ddns_rbuf *r, struct ovl_node *n)
{
	struct tr_addr a;
	uint8_t vnode;
	if (!node_ref_read(r, &a, &vnode))
		return false;
	ovl_node_make(n, &a, vnode);
	return true;
}
