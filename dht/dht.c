/*
 * dht.c - DHash-style put/get, replication, path caching and maintenance on
 * top of the overlay (see dht.h for the contract, docs/PROTOCOL.md for the
 * messages).
 *
 * Everything asynchronous (RPCs, validations, lookups, deferred callbacks)
 * goes through a struct dht_wait kept on d->waits, so dht_free can cancel
 * it: RPCs and timers are cancelled outright; validations and lookups,
 * whose completions we cannot cancel, are detached (w->d = NULL) and the
 * wait is freed when the late completion arrives. Each start function calls
 * its continuation exactly once, synchronously when it cannot start (then
 * with an error), so a caller returns right after starting.
 *
 * Roles: a node that believes it is responsible for a key (ovl_responsible)
 * is its primary and pushes it to the replica set; any other holder checks
 * now and then, with a lookup, where the block belongs and hands it over
 * (demoting its own copy to the cache) when it is no longer in the replica
 * set. Digests carry (key, version) only; blocks travel to nodes that lack
 * them.
 */
#include "dht/dht.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/ratelimit.h"
#include "dht/msg.h"
#include "dht/policy.h"
#include "dht/store.h"
#include "overlay/id.h"
#include "overlay/rpc.h"

#define MAX_SUSPECTS 64
#define PLACEMENT_MAX_PER_ROUND 512
#define GET_FALLBACK_MAX 3
#define REASON_LEN 160

typedef void (*wait_fn)(struct dht *d, void *ctx, int status, const void *data);

enum wait_kind { W_RPC, W_VAL, W_LOOKUP, W_TIMER };

struct dht_wait {
	struct dht *d; /* NULL once detached by dht_free */
	enum wait_kind kind;
	uint64_t handle;
	struct tr_timer *tm;
	wait_fn fn;
	void *ctx;
	struct dht_wait *prev, *next;
};

struct suspect {
	uint8_t id[DDNS_ID_LEN];
	uint64_t until_us;
};

struct dbatch {
	uint8_t id[DDNS_ID_LEN];
	struct ovl_node node;
	size_t n;
	struct dht_digest_ent ents[DHT_DIGEST_MAX];
	uint8_t handoff[DHT_DIGEST_MAX];
	UT_hash_handle hh;
};

struct dht {
	struct ovl *o;
	struct rpc *rpc;
	struct tr *tr;
	struct dht_params p;
	char *data_dir;
	dht_validate_cb v;
	void *varg;
	uint8_t wire, vnode;
	const struct dht_policy *pol;
	struct dht_store *store;
	struct dht_cache *cache;
	struct ddns_ratelimit *store_rl; /* p.store_peer_rate's buckets, NULL without */
	struct tr_timer *maint_timer, *change_timer;
	struct dht_wait *waits;
	struct acc_op *sync_wait;   /* stored, waiting for the group commit */
	unsigned sync_nwait;        /* how many */
	bool sync_armed;            /* its deferred call is scheduled */
	struct dbatch *batches;
	struct suspect suspects[MAX_SUSPECTS];
	size_t nsuspects;
	unsigned round;
	bool closing;
	struct dht_stats st;
};

void dht_params_default(struct dht_params *p)
{
	memset(p, 0, sizeof(*p));
	p->replicas = 6;
	p->cache_bytes = 8u << 20;
	p->max_block = DHT_MAX_BLOCK;
	p->maint_us = 30000000;
	p->change_delay_us = 2000000;
	p->placement_rounds = 4;
	p->cache_path_max = 8;
	p->rpc_retries = -1;
	p->map_size = (size_t)1 << 30;
	p->commit_delay_us = 5000;
	p->commit_max = 256;
	p->store_peer_sources = 10000;
}

uint64_t dht_zone_quota_here(struct dht *d)
{
	uint64_t q = d->p.zone_quota_bytes;
	if (d->p.zone_quota_net_bytes) {
		uint64_t n = ovl_size_estimate(d->o);
		double share = (double)DHT_NET_QUOTA_SLACK * (double)d->p.zone_quota_net_bytes *
			       d->p.replicas / (double)(n ? n : 1);
		uint64_t s = share > 1.8e19 ? UINT64_MAX : (uint64_t)share;
		if (s == 0)
			s = 1; /* 0 would mean no quota */
		if (q == 0 || s < q)
			q = s;
	}
	return q;
}

const char *dht_source_name(enum dht_source s)
{
	switch (s) {
	case DHT_SRC_LOCAL_STORE: return "local-store";
	case DHT_SRC_LOCAL_CACHE: return "local-cache";
	case DHT_SRC_PATH_CACHE: return "path-cache";
	case DHT_SRC_REPLICA: return "replica";
	default: return "none";
	}
}

struct ovl *dht_ovl(const struct dht *d) { return d->o; }

uint64_t dht_now_us(const struct dht *d) { return tr_now_us(d->tr); }

const char *dht_overlay_name(const struct dht *d) { return ovl_ops_name(ovl_ops_of(d->o)); }

static uint64_t now_us(struct dht *d) { return dht_now_us(d); }

static bool is_self(struct dht *d, const struct ovl_node *n)
{
	return ovl_id_eq(n->id, ovl_self(d->o)->id);
}

/* ---- waits ---------------------------------------------------------- */

static struct dht_wait *wait_new(struct dht *d, enum wait_kind kind, wait_fn fn, void *ctx)
{
	struct dht_wait *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->d = d;
	w->kind = kind;
	w->fn = fn;
	w->ctx = ctx;
	w->next = d->waits;
	if (d->waits)
		d->waits->prev = w;
	d->waits = w;
	return w;
}

static void wait_unlink(struct dht *d, struct dht_wait *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		d->waits = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
}

static void wait_fire(struct dht_wait *w, int status, const void *data)
{
	struct dht *d = w->d;
	if (d) {
		wait_unlink(d, w);
		w->fn(d, w->ctx, status, data);
	}
	free(w);
}

static void rpc_done(void *arg, int status, const struct rpc_msg *reply)
{
	wait_fire(arg, status, reply);
}

/*
 * A PUT is answered once the responsible node has validated the block and
 * its replicas have answered their STOREs, each of which may take a whole
 * RPC window; with the same window the PUT would give up while its
 * replicas are still being written. Two more retransmissions (with the
 * default backoff of 2, four times the window) outlast a STORE and the
 * validations around it; the responsible node's dedup table keeps a PUT
 * it is still working on, so a retransmission never starts it again.
 */
#define PUT_EXTRA_RETRIES 2

/* Send a request with extra_retries more retransmissions than the
 * configured ones; fn gets (status, const struct rpc_msg *reply). */
static void w_rpc_r(struct dht *d, const struct ovl_node *to, uint8_t type,
		    const struct ddns_wbuf *pl, unsigned extra_retries, wait_fn fn, void *ctx)
{
	if (d->closing || pl->err) {
		fn(d, ctx, d->closing ? DDNS_ECANCELLED : -ENOMEM, NULL);
		return;
	}
	struct dht_wait *w = wait_new(d, W_RPC, fn, ctx);
	if (!w) {
		fn(d, ctx, -ENOMEM, NULL);
		return;
	}
	struct rpc_call c = {
		.to = to->addr,
		.overlay = d->wire,
		.service = RPC_SVC_DHT,
		.type = type,
		.src_vnode = d->vnode,
		.dst_vnode = to->vnode,
		.payload = pl->p,
		.len = pl->len,
		.timeout_us = d->p.rpc_timeout_us,
		.retries = d->p.rpc_retries,
	};
	if (extra_retries) {
		struct rpc_params rp;
		rpc_get_params(d->rpc, &rp);
		c.retries = (d->p.rpc_retries < 0 ? (int)rp.retries : d->p.rpc_retries) +
			    (int)extra_retries;
	}
	int err = rpc_call(d->rpc, &c, rpc_done, w, &w->handle);
	if (err) {
		wait_unlink(d, w);
		free(w);
		fn(d, ctx, err, NULL);
		return;
	}
	d->st.rpcs_sent++;
}

/* Send a request; fn gets (status, const struct rpc_msg *reply). */
static void w_rpc(struct dht *d, const struct ovl_node *to, uint8_t type, const struct ddns_wbuf *pl,
		  wait_fn fn, void *ctx)
{
	w_rpc_r(d, to, type, pl, 0, fn, ctx);
}

static void val_done(void *arg, int status, const struct dht_block_meta *meta)
{
	wait_fire(arg, status, status == 0 ? meta : NULL);
}

/* Validate through the hook; fn gets (status, const struct dht_block_meta *). */
static void w_validate(struct dht *d, const uint8_t *key, const uint8_t *blk, size_t len, wait_fn fn,
		       void *ctx)
{
	if (d->closing) {
		fn(d, ctx, DDNS_ECANCELLED, NULL);
		return;
	}
	if (len > d->p.max_block) {
		fn(d, ctx, DDNS_ETOOBIG, NULL);
		return;
	}
	struct dht_wait *w = wait_new(d, W_VAL, fn, ctx);
	if (!w) {
		fn(d, ctx, -ENOMEM, NULL);
		return;
	}
	d->v(d->varg, d, key, blk, len, val_done, w);
}

static void lookup_done(void *arg, const struct ovl_lookup_result *res)
{
	wait_fire(arg, res->status, res);
}

/* Overlay lookup; fn gets (status, const struct ovl_lookup_result *). */
static int w_lookup(struct dht *d, const uint8_t *key, const struct ovl_lookup_opts *opts, wait_fn fn,
		    void *ctx)
{
	if (d->closing)
		return DDNS_ECANCELLED;
	struct dht_wait *w = wait_new(d, W_LOOKUP, fn, ctx);
	if (!w)
		return -ENOMEM;
	int err = ovl_lookup(d->o, key, opts, lookup_done, w);
	if (err) {
		wait_unlink(d, w);
		free(w);
	}
	return err;
}

static void timer_done(void *arg)
{
	struct dht_wait *w = arg;
	w->tm = NULL; /* one-shot: freed by the transport */
	wait_fire(w, 0, NULL);
}

/* Run fn from the event loop (so public callbacks never run inside the call). */
static int w_defer_us(struct dht *d, uint64_t delay_us, wait_fn fn, void *ctx)
{
	if (d->closing)
		return DDNS_ECANCELLED;
	struct dht_wait *w = wait_new(d, W_TIMER, fn, ctx);
	if (!w)
		return -ENOMEM;
	w->tm = tr_timer_add(d->tr, delay_us, 0, timer_done, w);
	if (!w->tm) {
		wait_unlink(d, w);
		free(w);
		return -ENOMEM;
	}
	return 0;
}

static int w_defer(struct dht *d, wait_fn fn, void *ctx)
{
	return w_defer_us(d, 0, fn, ctx);
}

/* ---- suspects and replica sets ------------------------------------- */

static bool suspect(struct dht *d, const uint8_t *id)
{
	uint64_t now = now_us(d);
	for (size_t i = 0; i < d->nsuspects; i++)
		if (ovl_id_eq(d->suspects[i].id, id))
			return d->suspects[i].until_us > now;
	return false;
}

static void suspect_add(struct dht *d, const uint8_t *id)
{
	uint64_t now = now_us(d), hold = 3 * (d->p.maint_us ? d->p.maint_us : 10000000);
	size_t slot = d->nsuspects;
	for (size_t i = 0; i < d->nsuspects; i++) {
		if (ovl_id_eq(d->suspects[i].id, id) || d->suspects[i].until_us <= now) {
			slot = i;
			break;
		}
	}
	if (slot == MAX_SUSPECTS)
		slot = (size_t)(tr_random(d->tr) % MAX_SUSPECTS);
	else if (slot == d->nsuspects)
		d->nsuspects++;
	memcpy(d->suspects[slot].id, id, DDNS_ID_LEN);
	d->suspects[slot].until_us = now + hold;
}

/* This node's view of key's replica set, self first when it is in it,
 * suspects skipped, at most r nodes. */
static size_t replica_set(struct dht *d, const uint8_t *key, struct ovl_node *out)
{
	struct ovl_node all[OVL_MAX_REPLICAS];
	size_t n = d->pol->replica_set(d->o, key, all, OVL_MAX_REPLICAS), k = 0;
	for (size_t i = 0; i < n && k < d->p.replicas; i++)
		if (is_self(d, &all[i]) || !suspect(d, all[i].id))
			out[k++] = all[i];
	return k;
}

/* ---- accepting a block (primary, replica, cache) ------------------- */

enum acc_mode { ACC_PRIMARY, ACC_REPLICA, ACC_CACHE };

typedef void (*acc_done_fn)(struct dht *d, void *ctx, int status, unsigned copies, const char *reason);

struct acc_op {
	uint8_t key[DHT_KEY_LEN];
	uint8_t *blk;
	size_t len;
	enum acc_mode mode;
	acc_done_fn done;
	void *ctx;
	unsigned pending, copies;
	char reason[REASON_LEN];
	struct acc_op *sync_next; /* d->sync_wait */
};

static void acc_finish(struct dht *d, struct acc_op *a, int status)
{
	a->done(d, a->ctx, status, a->copies, a->reason);
	free(a->blk);
	free(a);
}

static void acc_replica_reply(struct dht *d, void *ctx, int status, const void *data)
{
	struct acc_op *a = ctx;
	const struct rpc_msg *m = data;
	struct dht_msg dm;
	if (status == 0 && m->type == DHT_MSG_STORE_R &&
	    dht_msg_decode(m->type, m->payload, m->len, &dm) == 0 && dm.status == 0)
		a->copies++;
	if (--a->pending == 0)
		acc_finish(d, a, 0);
}

static void acc_replicate(struct dht *d, struct acc_op *a)
{
	struct ovl_node set[OVL_MAX_REPLICAS];
	size_t n = replica_set(d, a->key, set);
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	dht_msg_store(&w, a->key, DHT_KIND_REPLICA, a->blk, a->len);
	a->copies = 1;
	a->pending = 1; /* guard while starting */
	for (size_t i = 0; i < n; i++) {
		if (is_self(d, &set[i]))
			continue;
		a->pending++;
		w_rpc(d, &set[i], DHT_MSG_STORE, &w, acc_replica_reply, a);
	}
	ddns_wbuf_free(&w);
	if (--a->pending == 0)
		acc_finish(d, a, 0);
}

static void count_refusal(struct dht *d, int status)
{
	if (status == DDNS_ESTALE)
		d->st.refused_stale++;
	else if (status == DDNS_EQUOTA)
		d->st.refused_quota++;
	else if (status == DDNS_EBOGUS || status == DDNS_EEXPIRED || status == DDNS_ENOTYET ||
		 status == DDNS_ENOCHAIN || status == DDNS_ENOKEY || status == DDNS_EBADDS ||
		 status == DDNS_EOUTOFZONE || status == DDNS_EMALFORMED)
		d->st.refused_bogus++;
	else
		d->st.refused_other++;
	if (status == -ENOSPC)
		d->st.refused_full++;
}

static void acc_store_failed(struct dht *d, struct acc_op *a, int err)
{
	snprintf(a->reason, sizeof(a->reason), "%s: %s",
		 err == -ENOSPC ? "store full" : "storage failed", ddns_strerror(err));
	count_refusal(d, err);
	acc_finish(d, a, err);
}

/* Stored durably: a primary pushes it to the replica set, the rest are done. */
static void acc_durable(struct dht *d, struct acc_op *a)
{
	if (a->mode == ACC_PRIMARY) {
		acc_replicate(d, a);
		return;
	}
	a->copies = 1;
	acc_finish(d, a, 0);
}

/* The group commit: one sync for every block stored since the last one,
 * then each goes on (or fails, all together, when the commit failed). At
 * dht_free (status DDNS_ECANCELLED) what was staged is still committed. */
static void acc_commit(struct dht *d, int status)
{
	struct acc_op *list = d->sync_wait;
	d->sync_wait = NULL;
	d->sync_nwait = 0;
	if (!list && !dht_store_unsynced(d->store))
		return; /* committed early, when commit_max writes waited */
	int err = dht_store_sync(d->store);
	d->st.store_syncs++;
	while (list) {
		struct acc_op *a = list;
		list = a->sync_next;
		d->st.store_synced++;
		if (status)
			acc_finish(d, a, status);
		else if (err)
			acc_store_failed(d, a, err);
		else
			acc_durable(d, a);
	}
}

static void acc_sync(struct dht *d, void *ctx, int status, const void *data)
{
	(void)ctx;
	(void)data;
	d->sync_armed = false;
	acc_commit(d, status);
}

static void acc_validated(struct dht *d, void *ctx, int status, const void *data)
{
	struct acc_op *a = ctx;
	const struct dht_block_meta *meta = data;
	if (status) {
		snprintf(a->reason, sizeof(a->reason), "validation failed: %s", ddns_strerror(status));
		if (status != DDNS_ECANCELLED)
			count_refusal(d, status);
		acc_finish(d, a, status);
		return;
	}
	if (a->mode == ACC_CACHE) {
		struct dht_entry *e = dht_store_find(d->store, a->key);
		int err = 0;
		if (!e && meta->expire_us > now_us(d))
			err = dht_cache_put(d->cache, a->key, meta->version, meta->expire_us, a->blk, a->len);
		acc_finish(d, a, err == DDNS_ETOOBIG ? 0 : err);
		return;
	}
	bool same;
	/* Quotas bind replicas as much as owners: a zone's share of this
	 * node's store is bounded whoever sent the block. */
	int err = dht_store_check(d->store, a->key, meta, a->blk, a->len, true,
				  dht_zone_quota_here(d), d->p.zone_quota_blocks, d->p.max_store_bytes,
				  &same, a->reason, sizeof(a->reason));
	if (err) {
		count_refusal(d, err);
		acc_finish(d, a, err);
		return;
	}
	if (!same) {
		err = dht_store_stage(d->store, a->key, meta, a->blk, a->len);
		if (err) {
			acc_store_failed(d, a, err);
			return;
		}
		dht_cache_del(d->cache, a->key);
	}
	struct dht_entry *e = dht_store_find(d->store, a->key);
	if (e) {
		e->primary = a->mode == ACC_PRIMARY;
		e->confirm_round = (uint16_t)d->round;
	}
	/* Acknowledged only once durable: the writes staged within
	 * commit_delay_us of the first share one commit (an identical copy
	 * may itself be uncommitted). */
	if (dht_store_unsynced(d->store)) {
		a->sync_next = d->sync_wait;
		d->sync_wait = a;
		d->sync_nwait++;
		if (!d->sync_armed) {
			d->sync_armed = w_defer_us(d, d->p.commit_delay_us, acc_sync, NULL) == 0;
			if (!d->sync_armed)
				acc_sync(d, NULL, 0, NULL);
		} else if (d->p.commit_max && d->sync_nwait >= d->p.commit_max) {
			acc_commit(d, 0); /* the armed call finds nothing left */
		}
		return;
	}
	acc_durable(d, a);
}

/* Validate blk and take it in as mode says; done(status, copies, reason). */
static void accept_block(struct dht *d, const uint8_t *key, const uint8_t *blk, size_t len,
			 enum acc_mode mode, acc_done_fn done, void *ctx)
{
	struct acc_op *a = calloc(1, sizeof(*a));
	uint8_t *copy = malloc(len ? len : 1);
	if (!a || !copy) {
		free(a);
		free(copy);
		done(d, ctx, -ENOMEM, 0, "out of memory");
		return;
	}
	memcpy(a->key, key, DHT_KEY_LEN);
	if (len)
		memcpy(copy, blk, len);
	a->blk = copy;
	a->len = len;
	a->mode = mode;
	a->done = done;
	a->ctx = ctx;
	w_validate(d, a->key, a->blk, a->len, acc_validated, a);
}

/* ---- serving requests ---------------------------------------------- */

struct srv_op {
	struct rpc_reply_to rt;
	uint8_t type;
};

static void srv_put_done(struct dht *d, void *ctx, int status, unsigned copies, const char *reason)
{
	struct srv_op *s = ctx;
	if (!d->closing) {
		struct ddns_wbuf w;
		ddns_wbuf_init(&w, 0);
		if (s->type == DHT_MSG_PUT)
			dht_msg_put_r(&w, status, status == 0 ? copies : 0, reason);
		else
			dht_msg_status(&w, status);
		if (!w.err)
			(void)rpc_reply_later(d->rpc, &s->rt, s->type + 1, w.p, w.len);
		ddns_wbuf_free(&w);
	}
	free(s);
}

static void serve_fetch(struct dht *d, const struct rpc_msg *req, const struct dht_msg *m)
{
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	struct dht_entry *e = dht_store_find(d->store, m->key);
	struct dht_centry *c = e ? NULL : dht_cache_get(d->cache, m->key, now_us(d));
	if (e)
		dht_msg_fetch_r(&w, 0, DHT_VSRC_STORE, e->data + DHT_VAL_HDR, e->len);
	else if (c)
		dht_msg_fetch_r(&w, 0, DHT_VSRC_CACHE, c->data + DHT_VAL_HDR, c->len);
	else
		dht_msg_fetch_r(&w, DDNS_ENOTFOUND, 0, NULL, 0);
	if (e || c)
		d->st.transfers_served++;
	if (!w.err)
		(void)rpc_reply(d->rpc, req, DHT_MSG_FETCH_R, w.p, w.len);
	ddns_wbuf_free(&w);
}

static void serve_digest(struct dht *d, const struct rpc_msg *req, const struct dht_msg *m)
{
	uint16_t idx[DHT_DIGEST_MAX];
	uint8_t want[DHT_DIGEST_MAX];
	size_t k = 0;
	for (size_t i = 0; i < m->nents; i++) {
		struct dht_digest_ent de;
		dht_msg_digest_ent(m, i, &de);
		struct dht_entry *e = dht_store_find(d->store, de.key);
		if (e)
			e->confirm_round = (uint16_t)d->round; /* the sender counts on our copy */
		if (!e || e->version < de.version) {
			idx[k] = (uint16_t)i;
			want[k++] = DHT_WANT_SEND;
		} else if (e->version > de.version) {
			idx[k] = (uint16_t)i;
			want[k++] = DHT_WANT_NEWER;
		}
	}
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	dht_msg_digest_r(&w, idx, want, k);
	if (!w.err)
		(void)rpc_reply(d->rpc, req, DHT_MSG_DIGEST_R, w.p, w.len);
	ddns_wbuf_free(&w);
}

static void on_request(void *arg, const struct rpc_msg *req)
{
	struct dht *d = arg;
	struct dht_msg m;
	if (d->closing)
		return;
	if (dht_msg_decode(req->type, req->payload, req->len, &m) != 0) {
		d->st.dropped_malformed++;
		log_debug("dht: malformed message type %u (%zu bytes) dropped", req->type, req->len);
		return;
	}
	switch (req->type) {
	case DHT_MSG_PUT:
	case DHT_MSG_STORE: {
		struct srv_op *s = calloc(1, sizeof(*s));
		if (!s)
			return;
		rpc_reply_to_from(req, &s->rt);
		s->type = req->type;
		if (d->store_rl) {
			uint8_t src[17] = {0};
			src[0] = req->from.family;
			memcpy(src + 1, req->from.ip, req->from.family == TR_AF_INET ? 4 : 16);
			if (!ddns_rl_allow(d->store_rl, src, sizeof(src), now_us(d))) {
				d->st.refused_rate++;
				srv_put_done(d, s, DDNS_EREFUSED, 0, "over the per-peer store rate");
				return;
			}
		}
		enum acc_mode mode = ACC_PRIMARY;
		if (req->type == DHT_MSG_PUT) {
			d->st.served_put++;
		} else if (m.kind == DHT_KIND_CACHE) {
			d->st.served_cache++;
			mode = ACC_CACHE;
		} else {
			d->st.served_store++;
			mode = ACC_REPLICA;
		}
		accept_block(d, m.key, m.blk, m.len, mode, srv_put_done, s);
		return;
	}
	case DHT_MSG_FETCH:
		d->st.served_fetch++;
		serve_fetch(d, req, &m);
		return;
	case DHT_MSG_DIGEST:
		d->st.served_digest++;
		serve_digest(d, req, &m);
		return;
	default:
		d->st.dropped_malformed++; /* a reply type sent as a request */
		return;
	}
}

/* The overlay asks: do we hold key? Stored copies first, then the cache. */
static bool value_hook(void *arg, const uint8_t key[DDNS_ID_LEN], const uint8_t *probe,
		       size_t probe_len, const uint8_t **val, size_t *len)
{
	struct dht *d = arg;
	if (probe_len < DHT_PROBE_LEN || probe[0] != DHT_WIRE_VERSION)
		return false;
	struct dht_entry *e = dht_store_find(d->store, key);
	if (e) {
		*val = e->data;
		*len = DHT_VAL_HDR + e->len;
		d->st.transfers_served++;
		return true;
	}
	struct dht_centry *c = dht_cache_get(d->cache, key, now_us(d));
	if (c) {
		*val = c->data;
		*len = DHT_VAL_HDR + c->len;
		d->st.transfers_served++;
		d->st.cache_hits++;
		return true;
	}
	return false;
}

/* ---- put ------------------------------------------------------------ */

struct put_op {
	uint8_t key[DHT_KEY_LEN];
	uint8_t *blk;
	size_t len;
	dht_put_cb cb;
	void *arg;
	struct dht_put_result res;
	char reason[REASON_LEN];
};

static void put_finish(struct dht *d, struct put_op *p, int status)
{
	p->res.status = status;
	p->res.reason = p->reason;
	if (status == 0)
		d->st.puts_ok++;
	p->cb(p->arg, &p->res);
	free(p->blk);
	free(p);
}

static void put_local_done(struct dht *d, void *ctx, int status, unsigned copies, const char *reason)
{
	struct put_op *p = ctx;
	p->res.replicas_stored = status == 0 ? copies : 0;
	snprintf(p->reason, sizeof(p->reason), "%s", reason ? reason : "");
	put_finish(d, p, status);
}

static void put_reply(struct dht *d, void *ctx, int status, const void *data)
{
	struct put_op *p = ctx;
	const struct rpc_msg *m = data;
	struct dht_msg dm;
	if (status) {
		snprintf(p->reason, sizeof(p->reason), "no answer from the responsible node");
		put_finish(d, p, status);
		return;
	}
	if (m->type != DHT_MSG_PUT_R || dht_msg_decode(m->type, m->payload, m->len, &dm) != 0) {
		d->st.dropped_malformed++;
		snprintf(p->reason, sizeof(p->reason), "malformed answer");
		put_finish(d, p, DDNS_EMALFORMED);
		return;
	}
	size_t rl = dm.reason_len < sizeof(p->reason) - 1 ? dm.reason_len : sizeof(p->reason) - 1;
	memcpy(p->reason, dm.reason, rl);
	p->reason[rl] = 0;
	/* Only our own error codes cross the wire; anything else is a refusal. */
	int st = dm.status;
	if (st != 0 && st != -ENOMEM && st != -EIO && st != -ENOSPC &&
	    !(st < DDNS_ERR_BASE && st > DDNS_ERR_MIN))
		st = DDNS_EREFUSED;
	p->res.replicas_stored = st == 0 ? dm.kind : 0;
	put_finish(d, p, st);
}

static void put_lookup_done(struct dht *d, void *ctx, int status, const void *data)
{
	struct put_op *p = ctx;
	const struct ovl_lookup_result *res = data;
	if (status || !res) {
		snprintf(p->reason, sizeof(p->reason), "lookup failed");
		put_finish(d, p, status ? status : DDNS_ECANCELLED);
		return;
	}
	p->res.rpcs += res->rpcs;
	p->res.hops += res->hops;
	p->res.node = res->owner;
	if (is_self(d, &res->owner)) {
		accept_block(d, p->key, p->blk, p->len, ACC_PRIMARY, put_local_done, p);
		return;
	}
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	dht_msg_put(&w, p->key, p->blk, p->len);
	p->res.rpcs++;
	p->res.hops++;
	w_rpc_r(d, &res->owner, DHT_MSG_PUT, &w, PUT_EXTRA_RETRIES, put_reply, p);
	ddns_wbuf_free(&w);
}

int dht_put(struct dht *d, const uint8_t key[DHT_KEY_LEN], const uint8_t *blk, size_t len,
	    dht_put_cb cb, void *arg)
{
	if (len > d->p.max_block)
		return DDNS_ETOOBIG;
	struct put_op *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->blk = malloc(len ? len : 1);
	if (!p->blk) {
		free(p);
		return -ENOMEM;
	}
	memcpy(p->key, key, DHT_KEY_LEN);
	if (len)
		memcpy(p->blk, blk, len);
	p->len = len;
	p->cb = cb;
	p->arg = arg;
	struct ovl_lookup_opts opts = {.nreplicas = d->p.replicas};
	int err = w_lookup(d, key, &opts, put_lookup_done, p);
	if (err) {
		free(p->blk);
		free(p);
		return err;
	}
	d->st.puts++;
	return 0;
}

/* ---- get ------------------------------------------------------------ */

struct get_op {
	uint8_t key[DHT_KEY_LEN];
	dht_get_cb cb;
	void *arg;
	struct dht_get_result res;
	uint8_t *blk;
	size_t len;
	uint8_t vsrc;
	int last_err;
	struct ovl_node cand[OVL_MAX_REPLICAS]; /* fallback: replicas to fetch from */
	size_t ncand, next;
	unsigned fallbacks;
	struct ovl_node pathc[OVL_MAX_PATH]; /* nodes to give a cached copy */
	size_t npath;
};

static void get_finish(struct dht *d, struct get_op *g, int status)
{
	g->res.status = status;
	if (status == 0) {
		g->res.block = g->blk;
		g->res.len = g->len;
		d->st.gets_ok++;
		if (g->res.rpcs == 0)
			d->st.gets_local++;
	} else {
		g->res.block = NULL;
		g->res.len = 0;
	}
	g->cb(g->arg, &g->res);
	free(g->blk);
	free(g);
}

static void get_deferred(struct dht *d, void *ctx, int status, const void *data)
{
	get_finish(d, ctx, status);
}

static void get_try_next(struct dht *d, struct get_op *g);

static void cache_push_done(struct dht *d, void *ctx, int status, const void *data) {}

static void get_validated(struct dht *d, void *ctx, int status, const void *data)
{
	struct get_op *g = ctx;
	const struct dht_block_meta *meta = data;
	if (status) {
		if (status == DDNS_ECANCELLED) {
			get_finish(d, g, status);
			return;
		}
		g->last_err = status;
		get_try_next(d, g);
		return;
	}
	g->res.meta = *meta;
	g->res.source = g->vsrc == DHT_VSRC_CACHE ? DHT_SRC_PATH_CACHE : DHT_SRC_REPLICA;
	uint64_t now = now_us(d);
	if (meta->expire_us > now && !dht_store_find(d->store, g->key)) {
		if (d->p.cache_bytes)
			(void)dht_cache_put(d->cache, g->key, meta->version, meta->expire_us, g->blk, g->len);
		if (g->npath) {
			struct ddns_wbuf w;
			ddns_wbuf_init(&w, 0);
			dht_msg_store(&w, g->key, DHT_KIND_CACHE, g->blk, g->len);
			for (size_t i = 0; i < g->npath; i++)
				w_rpc(d, &g->pathc[i], DHT_MSG_STORE, &w, cache_push_done, NULL);
			ddns_wbuf_free(&w);
		}
	}
	get_finish(d, g, 0);
}

static void get_fetch_reply(struct dht *d, void *ctx, int status, const void *data)
{
	struct get_op *g = ctx;
	const struct rpc_msg *m = data;
	struct dht_msg dm;
	if (status == DDNS_ECANCELLED) {
		get_finish(d, g, status);
		return;
	}
	if (status) {
		g->last_err = g->last_err ? g->last_err : status;
		/* A replica that did not answer is likely gone (a crash not yet
		 * repaired): it does not use up the budget, which bounds the
		 * replicas that answered without the block. */
		if (status == DDNS_ETIMEDOUT && g->fallbacks)
			g->fallbacks--;
		get_try_next(d, g);
		return;
	}
	if (m->type != DHT_MSG_FETCH_R || dht_msg_decode(m->type, m->payload, m->len, &dm) != 0 ||
	    dm.status != 0) {
		get_try_next(d, g);
		return;
	}
	free(g->blk);
	g->blk = malloc(dm.len ? dm.len : 1);
	if (!g->blk) {
		get_finish(d, g, -ENOMEM);
		return;
	}
	memcpy(g->blk, dm.blk, dm.len);
	g->len = dm.len;
	g->vsrc = dm.kind == DHT_VSRC_CACHE ? DHT_VSRC_CACHE : DHT_VSRC_STORE;
	g->res.from = g->cand[g->next - 1];
	/* The lookup path had no copy (chord stops at the key's predecessor,
	 * which names the owner without holding the block): cache along it. */
	w_validate(d, g->key, g->blk, g->len, get_validated, g);
}

/* Ask the next replica directly (the lookup found no good copy). */
static void get_try_next(struct dht *d, struct get_op *g)
{
	while (g->next < g->ncand && g->fallbacks < GET_FALLBACK_MAX) {
		struct ovl_node *n = &g->cand[g->next++];
		if (is_self(d, n))
			continue;
		g->fallbacks++;
		g->res.rpcs++;
		g->res.hops++;
		struct ddns_wbuf w;
		ddns_wbuf_init(&w, 0);
		dht_msg_fetch(&w, g->key);
		w_rpc(d, n, DHT_MSG_FETCH, &w, get_fetch_reply, g);
		ddns_wbuf_free(&w);
		return;
	}
	get_finish(d, g, g->last_err ? g->last_err : DDNS_ENOTFOUND);
}

/* The order of the fallback fetches. The first goes to a random replica,
 * so a popular block that the lookup path does not hold (chord stops at
 * the predecessor) loads all r replicas evenly rather than the owner
 * alone. The others follow in the lookup's order, nearest the key first:
 * after crashes and before repair, the nearest live nodes are the ones
 * that held copies, while nodes further out that moved into the set do
 * not have the block yet. (The random pick is a Fisher-Yates shuffle's
 * first element, the draw the fetch order always used.) */
static void fallback_order(struct dht *d, struct ovl_node *v, size_t n)
{
	if (n < 2)
		return;
	size_t idx[OVL_MAX_REPLICAS];
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)tr_random_below(d->tr, i);
		size_t t = idx[i - 1];
		idx[i - 1] = idx[j];
		idx[j] = t;
	}
	struct ovl_node first = v[idx[0]];
	memmove(&v[1], &v[0], idx[0] * sizeof(v[0]));
	v[0] = first;
}

static void get_lookup_done(struct dht *d, void *ctx, int status, const void *data)
{
	struct get_op *g = ctx;
	const struct ovl_lookup_result *res = data;
	if (status || !res) {
		get_finish(d, g, status ? status : DDNS_ECANCELLED);
		return;
	}
	g->res.rpcs += res->rpcs;
	g->res.hops += res->hops;
	g->ncand = res->nreplicas < OVL_MAX_REPLICAS ? res->nreplicas : OVL_MAX_REPLICAS;
	memcpy(g->cand, res->replicas, g->ncand * sizeof(g->cand[0]));
	/* Cache on the lookup path, where and in which order the policy says
	 * (also when the block comes from a fallback fetch: chord stops at the
	 * key's predecessor, which names the owner without holding it). */
	size_t maxc = d->p.cache_path_max < OVL_MAX_PATH ? d->p.cache_path_max : OVL_MAX_PATH;
	const uint8_t *blk;
	size_t blen;
	bool good = res->value_found &&
		    dht_value_decode(res->value, res->value_len, &g->vsrc, &blk, &blen) == 0;
	g->npath = d->pol->cache_targets(d->o, res, !good || g->vsrc == DHT_VSRC_STORE, g->pathc, maxc);
	if (!good) {
		if (res->value_found)
			d->st.dropped_malformed++;
		fallback_order(d, g->cand, g->ncand);
		get_try_next(d, g);
		return;
	}
	g->blk = malloc(blen ? blen : 1);
	if (!g->blk) {
		get_finish(d, g, -ENOMEM);
		return;
	}
	memcpy(g->blk, blk, blen);
	g->len = blen;
	g->res.from = res->value_from;
	/* A bogus copy must not stop us: the replicas are tried next. */
	for (size_t i = 0; i < g->ncand; i++)
		if (ovl_id_eq(g->cand[i].id, res->value_from.id) && g->vsrc == DHT_VSRC_STORE)
			g->cand[i] = g->cand[--g->ncand];
	fallback_order(d, g->cand, g->ncand);
	w_validate(d, g->key, g->blk, g->len, get_validated, g);
}

int dht_get(struct dht *d, const uint8_t key[DHT_KEY_LEN], dht_get_cb cb, void *arg)
{
	struct get_op *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	memcpy(g->key, key, DHT_KEY_LEN);
	g->cb = cb;
	g->arg = arg;
	g->res.from = *ovl_self(d->o);
	struct dht_entry *e = dht_store_find(d->store, key);
	struct dht_centry *c = e ? NULL : dht_cache_get(d->cache, key, now_us(d));
	int err;
	if (e || c) {
		const uint8_t *src = e ? e->data + DHT_VAL_HDR : c->data + DHT_VAL_HDR;
		g->len = e ? e->len : c->len;
		g->blk = malloc(g->len ? g->len : 1);
		if (!g->blk) {
			free(g);
			return -ENOMEM;
		}
		memcpy(g->blk, src, g->len);
		g->res.source = e ? DHT_SRC_LOCAL_STORE : DHT_SRC_LOCAL_CACHE;
		g->res.meta.version = e ? e->version : c->version;
		g->res.meta.expire_us = e ? e->expire_us : c->expire_us;
		if (e) {
			g->res.meta.zone_len = e->zone->zkey[0];
			memcpy(g->res.meta.zone, e->zone->zkey + 1, g->res.meta.zone_len);
		}
		err = w_defer(d, get_deferred, g);
	} else {
		uint8_t probe[DHT_PROBE_LEN] = {DHT_WIRE_VERSION, 0};
		struct ovl_lookup_opts opts = {
			.probe = probe, .probe_len = sizeof(probe), .want_value = true,
			.nreplicas = d->p.replicas, .spread = d->pol->get_spread};
		err = w_lookup(d, key, &opts, get_lookup_done, g);
	}
	if (err) {
		free(g->blk);
		free(g);
		return err;
	}
	d->st.gets++;
	return 0;
}

/* ---- maintenance ---------------------------------------------------- */

struct push_ctx {
	uint8_t key[DHT_KEY_LEN];
	bool handoff;
};

static void demote(struct dht *d, const uint8_t *key)
{
	struct dht_entry *e = dht_store_find(d->store, key);
	if (!e)
		return;
	if (d->p.cache_bytes && e->expire_us > now_us(d))
		(void)dht_cache_put(d->cache, key, e->version, e->expire_us, e->data + DHT_VAL_HDR, e->len);
	if (dht_store_del(d->store, key) == 0)
		d->st.maint_handoffs++;
}

static void push_reply(struct dht *d, void *ctx, int status, const void *data)
{
	struct push_ctx *pc = ctx;
	const struct rpc_msg *m = data;
	struct dht_msg dm;
	if (status == 0 && pc->handoff && m->type == DHT_MSG_STORE_R &&
	    dht_msg_decode(m->type, m->payload, m->len, &dm) == 0 && dm.status == 0)
		demote(d, pc->key);
	free(pc);
}

static void newer_accepted(struct dht *d, void *ctx, int status, unsigned copies, const char *reason)
{
}

static void newer_reply(struct dht *d, void *ctx, int status, const void *data)
{
	const struct rpc_msg *m = data;
	struct dht_msg dm;
	uint8_t *key = ctx;
	if (status == 0 && m->type == DHT_MSG_FETCH_R &&
	    dht_msg_decode(m->type, m->payload, m->len, &dm) == 0 && dm.status == 0 &&
	    dht_store_find(d->store, key))
		accept_block(d, key, dm.blk, dm.len, ACC_REPLICA, newer_accepted, NULL);
	free(key);
}

static void digest_reply(struct dht *d, void *ctx, int status, const void *data)
{
	struct dbatch *b = ctx;
	const struct rpc_msg *m = data;
	struct dht_msg dm;
	if (status) {
		if (status == DDNS_ETIMEDOUT)
			suspect_add(d, b->node.id);
		free(b);
		return;
	}
	if (m->type != DHT_MSG_DIGEST_R || dht_msg_decode(m->type, m->payload, m->len, &dm) != 0) {
		d->st.dropped_malformed++;
		free(b);
		return;
	}
	uint8_t wanted[DHT_DIGEST_MAX];
	memset(wanted, 0, sizeof(wanted));
	for (size_t i = 0; i < dm.nents; i++) {
		uint16_t idx;
		uint8_t want;
		dht_msg_digest_r_ent(&dm, i, &idx, &want);
		if (idx >= b->n)
			continue;
		wanted[idx] = want;
	}
	for (size_t i = 0; i < b->n; i++) {
		const uint8_t *key = b->ents[i].key;
		struct dht_entry *e = dht_store_find(d->store, key);
		if (!e)
			continue;
		if (wanted[i] == DHT_WANT_SEND) {
			struct push_ctx *pc = malloc(sizeof(*pc));
			if (!pc)
				continue;
			memcpy(pc->key, key, DHT_KEY_LEN);
			pc->handoff = b->handoff[i];
			struct ddns_wbuf w;
			ddns_wbuf_init(&w, 0);
			dht_msg_store(&w, key, DHT_KIND_REPLICA, e->data + DHT_VAL_HDR, e->len);
			d->st.maint_blocks_pushed++;
			w_rpc(d, &b->node, DHT_MSG_STORE, &w, push_reply, pc);
			ddns_wbuf_free(&w);
		} else if (wanted[i] == DHT_WANT_NEWER) {
			uint8_t *kc = malloc(DHT_KEY_LEN);
			if (!kc)
				continue;
			memcpy(kc, key, DHT_KEY_LEN);
			struct ddns_wbuf w;
			ddns_wbuf_init(&w, 0);
			dht_msg_fetch(&w, key);
			w_rpc(d, &b->node, DHT_MSG_FETCH, &w, newer_reply, kc);
			ddns_wbuf_free(&w);
		} else if (b->handoff[i]) {
			demote(d, key); /* the owner holds it (or newer) already */
		}
	}
	free(b);
}

static void batch_send(struct dht *d, struct dbatch *b)
{
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	dht_msg_digest(&w, b->ents, b->n);
	d->st.maint_digest_rpcs++;
	w_rpc(d, &b->node, DHT_MSG_DIGEST, &w, digest_reply, b);
	ddns_wbuf_free(&w);
}

static void batch_add(struct dht *d, const struct ovl_node *to, const struct dht_entry *e, bool handoff)
{
	struct dbatch *b = NULL;
	HASH_FIND(hh, d->batches, to->id, DDNS_ID_LEN, b);
	if (!b) {
		b = malloc(sizeof(*b));
		if (!b)
			return;
		memcpy(b->id, to->id, DDNS_ID_LEN);
		b->node = *to;
		b->n = 0;
		HASH_ADD(hh, d->batches, id, DDNS_ID_LEN, b);
	}
	memcpy(b->ents[b->n].key, e->key, DHT_KEY_LEN);
	b->ents[b->n].version = e->version;
	b->handoff[b->n] = handoff;
	if (++b->n == DHT_DIGEST_MAX) {
		HASH_DEL(d->batches, b);
		batch_send(d, b);
	}
}

static void batches_flush(struct dht *d)
{
	struct dbatch *b, *tmp;
	HASH_ITER(hh, d->batches, b, tmp)
	{
		HASH_DEL(d->batches, b);
		batch_send(d, b);
	}
}

/* Did the block's owner list it to us in a digest (or push it) during the
 * last two maintenance rounds? */
static bool confirmed(struct dht *d, const struct dht_entry *e)
{
	return (uint16_t)((uint16_t)d->round - e->confirm_round) <= 2;
}

static void placement_done(struct dht *d, void *ctx, int status, const void *data)
{
	uint8_t *key = ctx;
	const struct ovl_lookup_result *res = data;
	struct dht_entry *e = status == 0 && res ? dht_store_find(d->store, key) : NULL;
	if (e) {
		/* The replica set as the lookup found it, with this node merged
		 * in: chord lists us when we are a successor of the owner; kad16
		 * lookups never return their originator, so we rank ourselves by
		 * XOR distance. */
		struct ovl_node set[OVL_MAX_REPLICAS + 1];
		size_t n = 0;
		bool in_set = false, xor_metric = d->wire == RPC_OVL_KAD16;
		const struct ovl_node *self = ovl_self(d->o);
		for (size_t i = 0; i < res->nreplicas && n < d->p.replicas; i++) {
			if (xor_metric && !in_set && ovl_id_xor_closer(key, self->id, res->replicas[i].id)) {
				set[n++] = *self;
				in_set = true;
				if (n == d->p.replicas)
					break;
			}
			if (is_self(d, &res->replicas[i]))
				in_set = true;
			set[n++] = res->replicas[i];
		}
		if (xor_metric && !in_set && n < d->p.replicas) {
			set[n++] = *self;
			in_set = true;
		}
		if (n > 0 && is_self(d, &set[0])) {
			/* We are the owner after all (our routing state lags): act as primary. */
			e->primary = true;
			for (size_t i = 1; i < n; i++)
				batch_add(d, &set[i], e, false);
		} else if (n > 0) {
			/* The owner's own digests are the authority on its replica
			 * set: a copy it listed to us lately stays, whatever this
			 * lookup (which may still list dead or unverified nodes)
			 * says. */
			batch_add(d, &set[0], e, !in_set && !confirmed(d, e));
		}
		batches_flush(d);
	}
	free(key);
}

void dht_maintain(struct dht *d)
{
	if (d->closing)
		return;
	d->round++;
	d->st.maint_rounds++;
	unsigned pr = d->p.placement_rounds ? d->p.placement_rounds : 1;
	size_t placements = 0;
	struct dht_entry *e, *tmp;
	HASH_ITER(hh, dht_store_all(d->store), e, tmp)
	{
		if (ovl_responsible(d->o, e->key)) {
			/* Owner: digest to the replica set; copies travel only to
			 * those that lack the block. No lookup: an owner's lookup of
			 * its own key starts and ends at its own routing state. */
			e->primary = true;
			struct ovl_node set[OVL_MAX_REPLICAS];
			size_t n = replica_set(d, e->key, set);
			for (size_t i = 0; i < n; i++)
				if (!is_self(d, &set[i]))
					batch_add(d, &set[i], e, false);
			continue;
		}
		e->primary = false;
		/* A replica its owner listed lately is where it belongs. Any
		 * other copy (its owner died, or we left the set, or the owner
		 * does not know us yet) is placed by a lookup, spread over
		 * placement_rounds rounds. */
		if (confirmed(d, e))
			continue;
		if ((d->round + e->key[DHT_KEY_LEN - 1]) % pr != 0 || placements >= PLACEMENT_MAX_PER_ROUND)
			continue;
		uint8_t *kc = malloc(DHT_KEY_LEN);
		if (!kc)
			continue;
		memcpy(kc, e->key, DHT_KEY_LEN);
		struct ovl_lookup_opts opts = {.nreplicas = d->p.replicas};
		if (w_lookup(d, kc, &opts, placement_done, kc) != 0)
			free(kc);
		else
			placements++;
	}
	batches_flush(d);
}

static void maint_tick(void *arg) { dht_maintain(arg); }

static void change_tick(void *arg)
{
	struct dht *d = arg;
	d->change_timer = NULL; /* one-shot */
	dht_maintain(d);
}

static void on_change(void *arg, struct ovl *o)
{
	struct dht *d = arg;
	if (d->closing || d->change_timer)
		return;
	d->change_timer = tr_timer_add(d->tr, d->p.change_delay_us, 0, change_tick, d);
}

/* ---- life cycle ----------------------------------------------------- */

struct dht *dht_new(struct ovl *o, const struct dht_params *p, dht_validate_cb v, void *varg, int *err)
{
	int e = -ENOMEM;
	struct dht *d = calloc(1, sizeof(*d));
	if (!d)
		goto fail;
	d->o = o;
	d->rpc = ovl_rpc(o);
	d->tr = rpc_transport(d->rpc);
	if (p)
		d->p = *p;
	else
		dht_params_default(&d->p);
	if (d->p.replicas == 0)
		d->p.replicas = 6;
	if (d->p.replicas > OVL_MAX_REPLICAS)
		d->p.replicas = OVL_MAX_REPLICAS;
	if (d->p.max_block == 0 || d->p.max_block > DHT_MAX_BLOCK)
		d->p.max_block = DHT_MAX_BLOCK;
	if (d->p.data_dir) {
		d->data_dir = strdup(d->p.data_dir);
		if (!d->data_dir)
			goto fail;
		d->p.data_dir = d->data_dir;
	}
	d->v = v;
	d->varg = varg;
	d->wire = ovl_ops_wire_id(ovl_ops_of(o));
	d->pol = dht_policy_for(d->wire);
	d->vnode = ovl_self(o)->vnode;
	char why[256];
	e = dht_store_open(d->data_dir, d->p.map_size, &d->store, why, sizeof(why));
	if (e) {
		log_err("dht: %s", why);
		goto fail;
	}
	d->cache = dht_cache_new(d->p.cache_bytes);
	if (!d->cache) {
		e = -ENOMEM;
		goto fail;
	}
	if (d->p.store_peer_rate > 0) {
		double burst = d->p.store_peer_burst > 0 ? d->p.store_peer_burst
							 : 10 * d->p.store_peer_rate;
		d->store_rl = ddns_rl_new(d->p.store_peer_rate, burst < 1 ? 1 : burst,
					  d->p.store_peer_sources ? d->p.store_peer_sources : 1);
		if (!d->store_rl) {
			e = -ENOMEM;
			goto fail;
		}
	}
	e = rpc_register(d->rpc, d->wire, RPC_SVC_DHT, d->vnode, on_request, d);
	if (e)
		goto fail;
	if (d->p.maint_us) {
		uint64_t first = d->p.maint_us / 2 + tr_random_below(d->tr, d->p.maint_us / 2 + 1);
		d->maint_timer = tr_timer_add(d->tr, first, d->p.maint_us, maint_tick, d);
		if (!d->maint_timer) {
			rpc_unregister(d->rpc, d->wire, RPC_SVC_DHT, d->vnode);
			e = -ENOMEM;
			goto fail;
		}
	}
	ovl_set_value_hook(o, value_hook, d);
	ovl_set_change_hook(o, on_change, d);
	if (err)
		*err = 0;
	return d;
fail:
	if (d) {
		dht_cache_free(d->cache);
		dht_store_close(d->store);
		ddns_rl_free(d->store_rl);
		free(d->data_dir);
		free(d);
	}
	if (err)
		*err = e;
	return NULL;
}

void dht_free(struct dht *d)
{
	if (!d)
		return;
	d->closing = true;
	ovl_set_value_hook(d->o, NULL, NULL);
	ovl_set_change_hook(d->o, NULL, NULL);
	rpc_unregister(d->rpc, d->wire, RPC_SVC_DHT, d->vnode);
	tr_timer_cancel(d->tr, d->maint_timer);
	tr_timer_cancel(d->tr, d->change_timer);
	while (d->waits) {
		struct dht_wait *w = d->waits;
		wait_unlink(d, w);
		if (w->kind == W_RPC)
			rpc_cancel(d->rpc, w->handle);
		else if (w->kind == W_TIMER)
			tr_timer_cancel(d->tr, w->tm);
		w->fn(d, w->ctx, DDNS_ECANCELLED, NULL);
		if (w->kind == W_VAL || w->kind == W_LOOKUP)
			w->d = NULL; /* freed when the late completion arrives */
		else
			free(w);
	}
	struct dbatch *b, *tmp;
	HASH_ITER(hh, d->batches, b, tmp)
	{
		HASH_DEL(d->batches, b);
		free(b);
	}
	dht_cache_free(d->cache);
	dht_store_close(d->store);
	ddns_rl_free(d->store_rl);
	free(d->data_dir);
	free(d);
}

enum dht_source dht_local(struct dht *d, const uint8_t key[DHT_KEY_LEN], uint64_t *version)
{
	struct dht_entry *e = dht_store_find(d->store, key);
	if (e) {
		if (version)
			*version = e->version;
		return DHT_SRC_LOCAL_STORE;
	}
	struct dht_centry *c = dht_cache_get(d->cache, key, now_us(d));
	if (c) {
		if (version)
			*version = c->version;
		return DHT_SRC_LOCAL_CACHE;
	}
	return DHT_SRC_NONE;
}

void dht_stored_each(struct dht *d, dht_stored_cb fn, void *arg)
{
	struct dht_entry *e, *tmp;
	HASH_ITER(hh, dht_store_all(d->store), e, tmp)
	{
		fn(arg, e->key, e->version);
	}
}

void dht_get_params(const struct dht *d, struct dht_params *out) { *out = d->p; }

void dht_get_peer_limits(struct dht *d, struct dht_peer_limits *out)
{
	struct ovl_stats os;
	struct rpc_params rp;
	ovl_get_stats(d->o, &os);
	rpc_get_params(ovl_rpc(d->o), &rp);
	out->routing_max = os.routing_max;
	out->lookup_candidates_max = os.lookup_candidates_max;
	out->refs_per_answer_max = os.refs_per_answer_max;
	out->rpc_rate_limit = rp.rate_limit;
	out->rpc_rate_sources = rp.rate_limit_sources;
}

void dht_get_stats(struct dht *d, struct dht_stats *out)
{
	*out = d->st;
	out->blocks_primary = out->blocks_replica = 0;
	struct dht_entry *e, *tmp;
	HASH_ITER(hh, dht_store_all(d->store), e, tmp)
	{
		if (ovl_responsible(d->o, e->key))
			out->blocks_primary++;
		else
			out->blocks_replica++;
	}
	out->blocks_cache = dht_cache_count(d->cache);
	out->bytes_stored = dht_store_bytes(d->store);
	out->bytes_cache = dht_cache_bytes(d->cache);
	out->cache_evictions = dht_cache_evictions(d->cache);
	out->cache_expired = dht_cache_expired(d->cache);
	out->overhead_bytes = dht_store_overhead(d->store);
}
