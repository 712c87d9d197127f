/*
 * overlay_impl.h - what a backend (chord.c, kad16.c) sees of the generic
 * overlay layer. Not for users of the overlay: they include overlay.h.
 *
 * The generic layer (overlay.c) owns struct ovl: parameters, self, hooks and
 * the lookup statistics, so the counting happens in one place
 * (ovl_lookup_done). A backend keeps its state behind o->impl.
 */
#ifndef DDNS_OVERLAY_IMPL_H
#define DDNS_OVERLAY_IMPL_H

#include "common/buf.h"
#include "overlay/id.h"
#include "overlay/overlay.h"

struct ovl {
	const struct ovl_ops *ops;
	void *impl;
	struct rpc *rpc;
	struct tr *tr;
	struct ovl_params p;
	struct ovl_node self;
	ovl_value_cb value_cb;
	void *value_arg;
	ovl_change_cb change_cb;
	void *change_arg;
	struct ovl_stats stats;
};

struct ovl_ops {
	const char *name;
	uint8_t wire_id;
	/* Allocate backend state into o->impl and register RPC handlers. 0 or error. */
	int (*create)(struct ovl *o);
	/* Free o->impl: cancel timers and pending lookups (callbacks get DDNS_ECANCELLED). */
	void (*destroy)(struct ovl *o);
	int (*join)(struct ovl *o, const struct tr_addr *bootstrap);
	void (*leave)(struct ovl *o);
	int (*lookup)(struct ovl *o, const uint8_t key[DDNS_ID_LEN],
		      const struct ovl_lookup_opts *opts, ovl_lookup_cb cb, void *arg);
	bool (*responsible)(struct ovl *o, const uint8_t key[DDNS_ID_LEN]);
	size_t (*replica_set)(struct ovl *o, const uint8_t key[DDNS_ID_LEN], struct ovl_node *out,
			      size_t max);
	size_t (*routing_nodes)(struct ovl *o, struct ovl_node *out, size_t max);
	/* The bounds of what peers can make it hold (struct ovl_stats). */
	void (*limits)(struct ovl *o, struct ovl_stats *out);
	/* ovl_size_estimate */
	uint64_t (*size_estimate)(struct ovl *o);
};

/* Build a node reference from an address and vnode (computes the id). */
void ovl_node_make(struct ovl_node *n, const struct tr_addr *a, uint8_t vnode);
/* The sender of a request (its id already checked by the RPC layer). */
void ovl_node_sender(struct ovl_node *n, const struct rpc_msg *req);
/* Ask the local value hook (if any). */
bool ovl_local_value(struct ovl *o, const uint8_t key[DDNS_ID_LEN], const uint8_t *probe,
		     size_t probe_len, const uint8_t **val, size_t *len);
/* Tell the layer above the range/replica set changed. */
void ovl_notify_change(struct ovl *o);
/* Every backend reports a finished lookup through here: updates the
 * statistics, then calls cb. */
void ovl_lookup_done(struct ovl *o, const struct ovl_lookup_result *res, ovl_lookup_cb cb,
		     void *arg);

/* Encode/decode a node reference on the wire: family(1) ip(4|16) port(2)
 * vnode(1). The id is recomputed on decode, never read from the wire. */
bool ovl_node_write(struct ddns_wbuf *w, const struct ovl_node *n);
bool ovl_node_read(struct ddns_rbuf *r, struct ovl_node *n);
/* The same, the id through o's RPC memo (rpc_node_id). */
bool ovl_node_read_via(struct ovl *o, struct ddns_rbuf *r, struct ovl_node *n);

#endif
