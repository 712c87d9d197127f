/*
 * chord.c - the Chord overlay backend (b = 2): finger table, successor list,
 * predecessor, stabilize / notify / fix-fingers / check-predecessor, and
 * ITERATIVE lookups driven by the originator.
 *
 * Ring arithmetic is on 160-bit ids (overlay/id.h); a key belongs to its
 * successor, the first node at or after it clockwise. Messages are
 * documented in docs/PROTOCOL.md ("Chord messages"); all go through the RPC
 * layer under (RPC_OVL_CHORD, RPC_SVC_OVERLAY, vnode), which has already
 * checked that a sender's id matches its address. Node references inside
 * payloads are decoded with ovl_node_read_via, which recomputes the id from the
 * address, so no id is ever taken from the wire.
 *
 * Lookups (classic iterative Chord): the originator first answers from its
 * own state (0 RPCs: the key is its own or its successor's), otherwise it
 * keeps a pool of candidates preceding the key, sorted by clockwise distance
 * to the key, and asks the closest untried one, one at a time. A node asked
 * answers DONE with its successor list when the key lies in
 * (itself, successor] - it is the key's predecessor - or NEXT with its
 * fingers that most closely precede the key (so paths are Chord's
 * (1/2) log2 N; tests compare them hop for hop with a reference model).
 * NEXT also carries fallbacks that are asked only when no finger candidate
 * is left: successor-list nodes before the key, and the first ones past it
 * (a node past the key answers DONE for itself when it owns the key). A
 * candidate that times out is dropped from the routing state and the
 * lookup goes on with the next best one, so one dead hop never fails a
 * lookup. Every request is one RPC and one hop (strictly sequential).
 *
 * Maintenance runs on one-shot transport timers re-armed with +-10% jitter
 * drawn through tr_random, so large simulated rings do not fire in lockstep:
 * - stabilize (every stabilize_us): STAB to successor[0]; the successor
 *   treats it as notify and answers with its predecessor and successor list.
 *   A closer predecessor there becomes our successor (and is stabilised at
 *   once); a dead successor is dropped and the next one tried at once.
 * - check-predecessor (same period): PING the predecessor; clear it on
 *   timeout.
 * - fix-fingers (every fix_fingers_us): one internal lookup of the next
 *   finger start that is not already covered by the successor; the answer
 *   fills every finger whose start it covers.
 * Every node that talks to us directly (a request's verified sender, a
 * reply's responder) is offered to the finger table and successor list
 * ("learn"): it is alive, and it only ever replaces a worse entry.
 *
 * Invariants: self never appears in fingers or the successor list; the
 * successor list is sorted by clockwise distance from self and has no
 * duplicates; fdist[i] is the clockwise distance from self to finger[i]
 * when finger_ok[i].
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "overlay/overlay_impl.h"

#define CHORD_FINGERS OVL_ID_BITS
#define CHORD_MAX_SUCC 32
#define CHORD_NEXT_CANDS 6     /* finger candidates in a NEXT answer */
#define CHORD_BACKUPS 8        /* successor-list fallbacks in a NEXT answer */
#define CHORD_PREC_MAX 48      /* bound on one closest-preceding query */
#define CHORD_BEYOND 2         /* successor-list nodes past the key in a NEXT answer */
#define CHORD_POOL 64          /* candidates a lookup remembers */
#define CHORD_MAX_QUERIES 64   /* requests per lookup before giving up */
#define CHORD_STAB_CHAIN 8     /* immediate re-stabilisations per tick */
#define CHORD_MIN_MAINT_TIMEOUT 50000

/* Message types (requests odd, their replies even). */
enum {
	CHORD_FIND = 1,
	CHORD_FIND_R = 2,
	CHORD_STAB = 3,
	CHORD_STAB_R = 4,
	CHORD_PING = 5,
	CHORD_PING_R = 6,
	CHORD_LEAVE = 7,
	CHORD_LEAVE_R = 8,
};

enum { CHORD_ANS_NEXT = 0, CHORD_ANS_DONE = 1 };
enum { CHORD_LEAVE_TO_SUCC = 0, CHORD_LEAVE_TO_PRED = 1 };
#define CHORD_FIND_WANT_VALUE 0x01

struct chord;
struct chord_call;

typedef void (*chord_call_done)(struct chord *c, struct chord_call *call, int status,
				const struct rpc_msg *reply);

/* One pending RPC. Lives on c->calls until its reply or timeout arrives,
 * or until destroy cancels it. */
struct chord_call {
	struct chord_call *prev, *next;
	struct chord *c;
	uint64_t handle;
	unsigned retransmits; /* the RPC layer's exact count, set before done runs */
	struct ovl_node to;
	chord_call_done done;
	void *ctx;
	unsigned chain;
};

enum { CAND_NEW = 0, CAND_ASKED = 1, CAND_FAILED = 2 };

struct chord_cand {
	struct ovl_node n;
	uint8_t dist[DDNS_ID_LEN]; /* clockwise distance from n to the key */
	uint8_t state;
	/* 0: finger candidate (dist = key - n); 1: successor-list fallback
	 * before the key (same dist), asked when no 0 is left; 2: node at or
	 * past the key (dist = n - key), asked when nothing else is left */
	uint8_t tier;
};

struct chord_lookup;
typedef void (*chord_lookup_done)(struct chord *c, struct chord_lookup *l,
				  const struct ovl_lookup_result *res);

/* One lookup in progress (at most one request in flight). */
struct chord_lookup {
	struct chord_lookup *prev, *next;
	struct chord *c;
	uint8_t key[DDNS_ID_LEN];
	bool want_value;
	uint8_t *probe;
	size_t probe_len;
	size_t nrep;
	/* user lookups report through ovl_lookup_done; internal ones (join,
	 * fix-fingers) through idone and count as maintenance */
	bool internal;
	ovl_lookup_cb cb;
	void *arg;
	chord_lookup_done idone;
	unsigned finger;            /* fix-fingers: index looked up */
	struct chord_call *inflight;
	struct tr_timer *defer;     /* completion decided locally, run from the loop */
	uint8_t *local_value;       /* copy of the local hook's value (deferred) */
	struct ovl_lookup_result res;
	struct chord_cand pool[CHORD_POOL];
	size_t npool;
	/* every node asked so far: never asked twice, even once evicted */
	uint8_t asked[CHORD_MAX_QUERIES][DDNS_ID_LEN];
	unsigned nasked;
	/* smallest (key - responder) seen: candidates farther than a node that
	 * already answered are worth less than the fallbacks past the key */
	bool has_best;
	uint8_t best[DDNS_ID_LEN];
};

struct chord {
	struct ovl *o;
	size_t succ_max;
	bool started, left, dying;
	bool has_pred;
	struct ovl_node pred;
	struct ovl_node succ[CHORD_MAX_SUCC];
	size_t nsucc;
	struct ovl_node finger[CHORD_FINGERS];
	uint8_t fdist[CHORD_FINGERS][DDNS_ID_LEN];
	bool finger_ok[CHORD_FINGERS];
	/* Bit i: finger i is usable and the top of its run (finger i + 1 is
	 * unusable or another node), the fingers a lookup step considers
	 * (chord_preceding_from); recomputed after the fingers change. */
	uint64_t run_top[(CHORD_FINGERS + 63) / 64];
	bool runs_stale;
	unsigned next_finger;
	bool has_boot;
	struct tr_addr boot;
	/* in the ring: started alone, or a join lookup answered by ring
	 * members gave us our successors (see chord_in_ring) */
	bool joined;
	bool joining, stab_busy, ping_busy, fix_busy;
	struct tr_timer *stab_timer, *fix_timer;
	struct chord_call *calls;
	struct chord_lookup *lookups;
};

/* ---- ring helpers ---- */

static bool id_eq(const uint8_t *a, const uint8_t *b) { return ovl_id_eq(a, b); }

/* Index of the most significant set bit of a 160-bit big-endian value,
 * or -1 when it is zero. */
static int chord_id_msb(const uint8_t d[DDNS_ID_LEN])
{
	for (int i = 0; i < DDNS_ID_LEN; i++) {
		if (d[i]) {
			int b = 7;
			while (!(d[i] & (1u << b)))
				b--;
			return (DDNS_ID_LEN - 1 - i) * 8 + b;
		}
	}
	return -1;
}

static void chord_dist_from_self(const struct chord *c, const uint8_t id[DDNS_ID_LEN],
			   uint8_t out[DDNS_ID_LEN])
{
	ovl_id_sub(id, c->o->self.id, out);
}

/* May this node answer for its range, (predecessor, self] and
 * (self, successor]? Only once its join went through (or it started the
 * network) and it knows a successor. Before that, whatever it has learnt
 * is a set of live nodes, not its ring neighbours: a joiner that learnt
 * only its bootstrap node would claim every key between itself and that
 * node, and joiners answering each other's join lookups that way (the
 * virtual nodes of one machine join at once, through one bootstrap node
 * that hands them out as fingers) build a second ring that stabilisation
 * never merges with the first. */
static bool chord_in_ring(const struct chord *c)
{
	return c->joined && (c->nsucc > 0 || !c->has_boot);
}

/* The node that follows self: successor[0], or self when alone. */
static const struct ovl_node *chord_succ0(const struct chord *c)
{
	return c->nsucc ? &c->succ[0] : &c->o->self;
}

static bool chord_succ_list_eq(const struct ovl_node *a, size_t na, const struct ovl_node *b,
			 size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!id_eq(a[i].id, b[i].id))
			return false;
	return true;
}

static uint64_t chord_jitter(struct chord *c, uint64_t period)
{
	if (period < 10)
		return period ? period : 1;
	return period - period / 10 + tr_random_below(c->o->tr, period / 5 + 1);
}

static uint64_t chord_maint_timeout(const struct chord *c)
{
	uint64_t t = c->o->p.stabilize_us / 8;
	return t < CHORD_MIN_MAINT_TIMEOUT ? CHORD_MIN_MAINT_TIMEOUT : t;
}

/* ---- routing state ---- */

/* Insert n into the successor list at its ring position. Returns true when
 * the list changed. */
static bool chord_succ_insert(struct chord *c, const struct ovl_node *n)
{
	if (id_eq(n->id, c->o->self.id))
		return false;
	size_t i;
	for (i = 0; i < c->nsucc; i++) {
		if (id_eq(c->succ[i].id, n->id))
			return false;
		if (ovl_id_in_oo(n->id, c->o->self.id, c->succ[i].id))
			break;
	}
	if (i >= c->succ_max)
		return false;
	size_t keep = c->nsucc < c->succ_max ? c->nsucc : c->succ_max - 1;
	memmove(&c->succ[i + 1], &c->succ[i], (keep - i) * sizeof(c->succ[0]));
	c->succ[i] = *n;
	c->nsucc = keep + 1;
	return true;
}

/* Offer a node known to be alive (it talked to us) to the fingers and the
 * successor list; it replaces only entries farther from their start. */
static void chord_learn(struct chord *c, const struct ovl_node *n)
{
	if (id_eq(n->id, c->o->self.id))
		return;
	uint8_t d[DDNS_ID_LEN];
	chord_dist_from_self(c, n->id, d);
	/* finger i's start is self + 2^i: n lies at or after it iff i <= msb(d) */
	for (int i = chord_id_msb(d); i >= 0; i--) {
		if (!c->finger_ok[i] || ovl_id_cmp(d, c->fdist[i]) < 0) {
			c->finger[i] = *n;
			memcpy(c->fdist[i], d, DDNS_ID_LEN);
			c->finger_ok[i] = true;
			c->runs_stale = true;
		}
	}
	if (chord_succ_insert(c, n))
		ovl_notify_change(c->o);
}

static void chord_set_finger(struct chord *c, unsigned i, const struct ovl_node *n)
{
	c->runs_stale = true;
	if (id_eq(n->id, c->o->self.id)) {
		c->finger_ok[i] = false;
		return;
	}
	c->finger[i] = *n;
	chord_dist_from_self(c, n->id, c->fdist[i]);
	c->finger_ok[i] = true;
}

/* A node did not answer: drop it from every table. */
static void chord_forget(struct chord *c, const uint8_t id[DDNS_ID_LEN])
{
	bool changed = false;
	for (unsigned i = 0; i < CHORD_FINGERS; i++)
		if (c->finger_ok[i] && id_eq(c->finger[i].id, id)) {
			c->finger_ok[i] = false;
			c->runs_stale = true;
		}
	for (size_t i = 0; i < c->nsucc; i++) {
		if (id_eq(c->succ[i].id, id)) {
			memmove(&c->succ[i], &c->succ[i + 1], (c->nsucc - i - 1) * sizeof(c->succ[0]));
			c->nsucc--;
			changed = true;
			break;
		}
	}
	if (c->has_pred && id_eq(c->pred.id, id)) {
		c->has_pred = false;
		changed = true;
	}
	if (changed)
		ovl_notify_change(c->o);
}

static void chord_runs_update(struct chord *c)
{
	memset(c->run_top, 0, sizeof(c->run_top));
	for (unsigned i = 0; i < CHORD_FINGERS; i++)
		if (c->finger_ok[i] &&
		    !(i + 1 < CHORD_FINGERS && c->finger_ok[i + 1] &&
		      id_eq(c->finger[i + 1].id, c->finger[i].id)))
			c->run_top[i / 64] |= 1ULL << (i % 64);
	c->runs_stale = false;
}

/* The next finger below `below` that tops its run, or -1. */
static int chord_next_run(const struct chord *c, int below)
{
	for (int i = below - 1; i >= 0;) {
		uint64_t w = c->run_top[i / 64] & (~0ULL >> (63 - i % 64));
		if (w)
			return i / 64 * 64 + 63 - __builtin_clzll(w);
		i = i / 64 * 64 - 1;
	}
	return -1;
}

/* Up to max known nodes in (self, key), closest preceding the key first:
 * the fingers (classic Chord; successor[0] is finger 0), or the whole
 * successor list as well when with_succ. */
static size_t chord_preceding_from(struct chord *c, const uint8_t key[DDNS_ID_LEN],
			     struct ovl_node *out, size_t max, bool with_succ)
{
	uint8_t dist[CHORD_PREC_MAX][DDNS_ID_LEN];
	size_t n = 0;
	if (max > CHORD_PREC_MAX)
		max = CHORD_PREC_MAX;
	size_t nsucc = with_succ ? c->nsucc : (c->nsucc ? 1 : 0);
	if (c->runs_stale)
		chord_runs_update(c);
	/* The fingers from the farthest down, one per run of the same node,
	 * then the successors. */
	int fi = chord_next_run(c, CHORD_FINGERS);
	for (size_t k = 0; fi >= 0 || k < nsucc;) {
		const struct ovl_node *x;
		if (fi >= 0) {
			x = &c->finger[fi];
			fi = chord_next_run(c, fi);
		} else {
			x = &c->succ[k++];
		}
		if (!ovl_id_in_oo(x->id, c->o->self.id, key))
			continue;
		uint8_t d[DDNS_ID_LEN];
		ovl_id_sub(key, x->id, d);
		bool dup = false;
		size_t pos = n;
		for (size_t j = 0; j < n; j++) {
			if (id_eq(out[j].id, x->id)) {
				dup = true;
				break;
			}
			if (pos == n && ovl_id_cmp(d, dist[j]) < 0)
				pos = j;
		}
		if (dup || pos >= max)
			continue;
		size_t last = n < max ? n : max - 1;
		memmove(&out[pos + 1], &out[pos], (last - pos) * sizeof(out[0]));
		memmove(&dist[pos + 1], &dist[pos], (last - pos) * sizeof(dist[0]));
		out[pos] = *x;
		memcpy(dist[pos], d, DDNS_ID_LEN);
		n = last + 1;
	}
	return n;
}

/* Closest preceding nodes by the finger table; the successor list only
 * when no finger precedes the key (fingers lost to failures). Using the
 * whole list every time would shorten paths below Chord's (1/2) log2 N
 * at the price of comparability with the paper. */
static size_t chord_closest_preceding(struct chord *c, const uint8_t key[DDNS_ID_LEN],
				struct ovl_node *out, size_t max)
{
	size_t n = chord_preceding_from(c, key, out, max, false);
	return n ? n : chord_preceding_from(c, key, out, max, true);
}

/* Fallbacks for when every finger candidate is dead: successor-list nodes
 * in (self, key) not among the primary ones, closest to the key first. */
static size_t chord_backup_preceding(struct chord *c, const uint8_t key[DDNS_ID_LEN],
			       const struct ovl_node *prim, size_t nprim, struct ovl_node *out,
			       size_t max)
{
	struct ovl_node all[CHORD_PREC_MAX];
	size_t na = chord_preceding_from(c, key, all, CHORD_PREC_MAX, true), n = 0;
	for (size_t i = 0; i < na && n < max; i++) {
		bool dup = false;
		for (size_t j = 0; j < nprim && !dup; j++)
			dup = id_eq(all[i].id, prim[j].id);
		if (!dup)
			out[n++] = all[i];
	}
	return n;
}

/* Last resort: the first successor-list nodes at or past the key. When
 * every node between the asker and the key is dead, the owner is among
 * them, and it answers DONE for itself (key in (predecessor, self]). */
static size_t chord_beyond_key(struct chord *c, const uint8_t key[DDNS_ID_LEN], struct ovl_node *out,
			 size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < c->nsucc && n < max; i++)
		if (!ovl_id_in_oo(c->succ[i].id, c->o->self.id, key))
			out[n++] = c->succ[i];
	return n;
}

/* The successor list as a DONE answer: successors, then self when the list
 * is short (the ring wrapped), so replica sets on tiny rings stay whole. */
static size_t chord_done_list(struct chord *c, struct ovl_node *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < c->nsucc && n < max; i++)
		out[n++] = c->succ[i];
	if (n < max && c->nsucc < c->succ_max)
		out[n++] = c->o->self;
	return n;
}

/* ---- RPC plumbing ---- */

static void chord_call_reply_cb(void *arg, const struct rpc_outcome *out)
{
	struct chord_call *call = arg;
	int status = out->status;
	const struct rpc_msg *reply = out->reply;
	call->retransmits = out->retransmits;
	struct chord *c = call->c;
	if (call->prev)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	call->done(c, call, status, reply);
	free(call);
}

/* Send one request; done runs exactly once later unless destroy cancels.
 * Returns the call, or NULL when it could not be sent (done never runs). */
static struct chord_call *chord_send(struct chord *c, const struct ovl_node *to, uint8_t type,
				     const void *pl, size_t len, uint64_t timeout_us,
				     int retries, bool maint, chord_call_done done, void *ctx)
{
	struct chord_call *call = calloc(1, sizeof(*call));
	if (!call)
		return NULL;
	call->c = c;
	call->to = *to;
	call->done = done;
	call->ctx = ctx;
	struct rpc_call rc = {
		.to = to->addr,
		.overlay = RPC_OVL_CHORD,
		.service = RPC_SVC_OVERLAY,
		.type = type,
		.src_vnode = c->o->p.vnode,
		.dst_vnode = to->vnode,
		.payload = pl,
		.len = len,
		.timeout_us = timeout_us,
		.retries = retries,
	};
	if (rpc_call_counted(c->o->rpc, &rc, chord_call_reply_cb, call, &call->handle) != 0) {
		free(call);
		return NULL;
	}
	call->next = c->calls;
	if (c->calls)
		c->calls->prev = call;
	c->calls = call;
	if (maint)
		c->o->stats.maint_rpcs++;
	return call;
}

static struct chord_call *chord_maint_send(struct chord *c, const struct ovl_node *to, uint8_t type,
				     const void *pl, size_t len, chord_call_done done,
				     void *ctx)
{
	return chord_send(c, to, type, pl, len, chord_maint_timeout(c), 2, true, done, ctx);
}

static bool chord_write_nodes(struct ddns_wbuf *w, const struct ovl_node *n, size_t cnt)
{
	ddns_wbuf_u8(w, (uint8_t)cnt);
	for (size_t i = 0; i < cnt; i++)
		ovl_node_write(w, &n[i]);
	return !w->err;
}

static size_t chord_read_nodes(struct chord *c, struct ddns_rbuf *r, struct ovl_node *out,
			       size_t max)
{
	size_t cnt = ddns_rbuf_u8(r), n = 0;
	for (size_t i = 0; i < cnt && !r->err; i++) {
		struct ovl_node x;
		if (!ovl_node_read_via(c->o, r, &x))
			break;
		if (n < max)
			out[n++] = x;
	}
	return r->err ? 0 : n;
}

/* ---- lookups ---- */

static void chord_lookup_unlink(struct chord_lookup *l)
{
	struct chord *c = l->c;
	if (l->prev)
		l->prev->next = l->next;
	else
		c->lookups = l->next;
	if (l->next)
		l->next->prev = l->prev;
	l->prev = l->next = NULL;
}

static void chord_lookup_free(struct chord_lookup *l)
{
	free(l->probe);
	free(l->local_value);
	free(l);
}

/* Report and free. The lookup is unlinked first so its callback may start
 * new lookups. */
static void chord_lookup_finish(struct chord_lookup *l, int status)
{
	struct chord *c = l->c;
	chord_lookup_unlink(l);
	l->res.status = status;
	if (l->internal) {
		if (l->idone)
			l->idone(c, l, &l->res);
	} else {
		ovl_lookup_done(c->o, &l->res, l->cb, l->arg);
	}
	chord_lookup_free(l);
}

static void chord_lookup_defer_cb(void *arg)
{
	struct chord_lookup *l = arg;
	l->defer = NULL;
	chord_lookup_finish(l, l->res.status);
}

static int chord_cand_cmp(uint8_t ta, const uint8_t *da, uint8_t tb, const uint8_t *db)
{
	if (ta != tb)
		return ta < tb ? -1 : 1;
	return ovl_id_cmp(da, db);
}

/* Keep the pool sorted by (tier, dist): the next node to ask is the first
 * untried entry. When full, entries already asked make room first. */
static void chord_pool_add(struct chord_lookup *l, const struct ovl_node *n, uint8_t tier)
{
	if (id_eq(n->id, l->c->o->self.id))
		return;
	uint8_t d[DDNS_ID_LEN];
	if (tier == 2)
		ovl_id_sub(n->id, l->key, d);
	else
		ovl_id_sub(l->key, n->id, d);
	for (size_t i = 0; i < l->npool; i++) {
		if (!id_eq(l->pool[i].n.id, n->id))
			continue;
		/* a fallback that some node now offers as its finger becomes a
		 * finger candidate (same distance: both precede the key) */
		if (tier >= l->pool[i].tier || l->pool[i].state != CAND_NEW ||
		    l->pool[i].tier == 2)
			return;
		memmove(&l->pool[i], &l->pool[i + 1], (l->npool - i - 1) * sizeof(l->pool[0]));
		l->npool--;
		break;
	}
	for (unsigned i = 0; i < l->nasked; i++)
		if (id_eq(l->asked[i], n->id))
			return;
	if (l->npool == CHORD_POOL) {
		size_t victim = CHORD_POOL;
		for (size_t i = CHORD_POOL; i-- > 0;)
			if (l->pool[i].state != CAND_NEW) {
				victim = i;
				break;
			}
		if (victim == CHORD_POOL) {
			victim = CHORD_POOL - 1;
			if (chord_cand_cmp(tier, d, l->pool[victim].tier, l->pool[victim].dist) >= 0)
				return;
		}
		memmove(&l->pool[victim], &l->pool[victim + 1],
			(CHORD_POOL - victim - 1) * sizeof(l->pool[0]));
		l->npool--;
	}
	size_t pos = l->npool;
	for (size_t i = 0; i < l->npool; i++)
		if (chord_cand_cmp(tier, d, l->pool[i].tier, l->pool[i].dist) < 0) {
			pos = i;
			break;
		}
	memmove(&l->pool[pos + 1], &l->pool[pos], (l->npool - pos) * sizeof(l->pool[0]));
	l->pool[pos].n = *n;
	memcpy(l->pool[pos].dist, d, DDNS_ID_LEN);
	l->pool[pos].state = CAND_NEW;
	l->pool[pos].tier = tier;
	l->npool++;
}

static struct chord_cand *chord_pool_find(struct chord_lookup *l, const uint8_t id[DDNS_ID_LEN])
{
	for (size_t i = 0; i < l->npool; i++)
		if (id_eq(l->pool[i].n.id, id))
			return &l->pool[i];
	return NULL;
}

/* Fill owner and replicas from a successor list whose head owns the key. */
static void chord_lookup_set_owner(struct chord_lookup *l, const struct ovl_node *list, size_t n)
{
	l->res.owner = list[0];
	l->res.nreplicas = 0;
	for (size_t i = 0; i < n && l->res.nreplicas < l->nrep; i++) {
		bool dup = false;
		for (size_t j = 0; j < l->res.nreplicas; j++)
			if (id_eq(l->res.replicas[j].id, list[i].id))
				dup = true;
		if (!dup)
			l->res.replicas[l->res.nreplicas++] = list[i];
	}
}

/* Answer from local state alone: true when self or successor[0] owns key. */
static bool chord_local_resolve(struct chord *c, struct chord_lookup *l)
{
	struct ovl_node list[CHORD_MAX_SUCC + 1];
	size_t n;
	if (!chord_in_ring(c))
		return false; /* still joining: we know nothing */
	if (ovl_id_in_oc(l->key, c->o->self.id, chord_succ0(c)->id)) {
		n = chord_done_list(c, list, CHORD_MAX_SUCC + 1);
		if (n == 0) {
			list[0] = c->o->self;
			n = 1;
		}
		chord_lookup_set_owner(l, list, n);
		return true;
	}
	if (c->has_pred && ovl_id_in_oc(l->key, c->pred.id, c->o->self.id)) {
		list[0] = c->o->self;
		n = 1 + chord_done_list(c, list + 1, CHORD_MAX_SUCC);
		chord_lookup_set_owner(l, list, n);
		return true;
	}
	return false;
}

static void chord_lookup_step(struct chord_lookup *l);

static void chord_lookup_reply(struct chord *c, struct chord_call *call, int status,
			 const struct rpc_msg *reply)
{
	struct chord_lookup *l = call->ctx;
	l->inflight = NULL;
	struct chord_cand *cand = chord_pool_find(l, call->to.id);
	/* Lookups are sequential: this request's retransmissions, exactly as
	 * the RPC layer sent them, whatever became of it. */
	l->res.retransmits += call->retransmits;
	if (status != 0 || !reply || reply->type != CHORD_FIND_R) {
		l->res.timeouts++;
		if (cand)
			cand->state = CAND_FAILED;
		chord_forget(c, call->to.id);
		chord_lookup_step(l);
		return;
	}
	struct ovl_node from = call->to; /* the RPC layer matched the address */
	chord_learn(c, &from);
	if (l->res.path_len < OVL_MAX_PATH)
		l->res.path[l->res.path_len++] = from;

	struct ddns_rbuf r;
	ddns_rbuf_init(&r, reply->payload, reply->len);
	uint8_t kind = ddns_rbuf_u8(&r);
	struct ovl_node list[CHORD_MAX_SUCC], backup[CHORD_MAX_SUCC];
	size_t n = chord_read_nodes(c, &r, list, CHORD_MAX_SUCC);
	size_t nb = chord_read_nodes(c, &r, backup, CHORD_MAX_SUCC);
	uint8_t has_value = ddns_rbuf_u8(&r);
	const uint8_t *val = NULL;
	uint32_t vlen = 0;
	if (has_value) {
		vlen = ddns_rbuf_u32(&r);
		val = ddns_rbuf_take(&r, vlen);
	}
	if (r.err || kind > CHORD_ANS_DONE) {
		log_debug("chord: malformed FIND reply");
		chord_lookup_step(l);
		return;
	}
	bool done_ok = kind == CHORD_ANS_DONE && n > 0 &&
		       ovl_id_in_oc(l->key, from.id, list[0].id);
	if (kind == CHORD_ANS_DONE || n + nb > 0) {
		/* a node still joining answers an empty NEXT: it knows
		 * nothing, and must not push better candidates back */
		uint8_t dfrom[DDNS_ID_LEN];
		ovl_id_sub(l->key, from.id, dfrom);
		if (!l->has_best || ovl_id_cmp(dfrom, l->best) < 0) {
			memcpy(l->best, dfrom, DDNS_ID_LEN);
			l->has_best = true;
		}
	}
	if (has_value && l->want_value) {
		if (done_ok) {
			chord_lookup_set_owner(l, list, n);
		} else {
			l->res.owner = from;
			l->res.replicas[0] = from;
			l->res.nreplicas = 1;
		}
		l->res.value_found = true;
		l->res.value_from = from;
		l->res.value = val;
		l->res.value_len = vlen;
		chord_lookup_finish(l, 0);
		return;
	}
	if (done_ok) {
		chord_lookup_set_owner(l, list, n);
		chord_lookup_finish(l, 0);
		return;
	}
	if (kind == CHORD_ANS_NEXT) {
		/* only nodes strictly between the answerer and the key: every
		 * step makes progress and no answer can send us backwards */
		for (size_t i = 0; i < n; i++)
			if (ovl_id_in_oo(list[i].id, from.id, l->key))
				chord_pool_add(l, &list[i], 0);
		for (size_t i = 0; i < nb; i++) {
			if (ovl_id_in_oo(backup[i].id, from.id, l->key))
				chord_pool_add(l, &backup[i], 1);
			else if (!id_eq(backup[i].id, from.id))
				chord_pool_add(l, &backup[i], 2);
		}
	}
	chord_lookup_step(l);
}

static void chord_lookup_step(struct chord_lookup *l)
{
	struct chord *c = l->c;
	for (;;) {
		/* the closest untried candidate before the key that is closer
		 * than every node which answered (fingers before successor-list
		 * fallbacks: the pool is sorted that way); else a node past the
		 * key; else anything left */
		struct chord_cand *next = NULL;
		for (size_t i = 0; i < l->npool && !next; i++)
			if (l->pool[i].state == CAND_NEW && l->pool[i].tier <= 1 &&
			    (!l->has_best || ovl_id_cmp(l->pool[i].dist, l->best) < 0))
				next = &l->pool[i];
		for (size_t i = 0; i < l->npool && !next; i++)
			if (l->pool[i].state == CAND_NEW && l->pool[i].tier == 2)
				next = &l->pool[i];
		for (size_t i = 0; i < l->npool && !next; i++)
			if (l->pool[i].state == CAND_NEW)
				next = &l->pool[i];
		if (!next || l->res.rpcs >= CHORD_MAX_QUERIES) {
			chord_lookup_finish(l, DDNS_ETIMEDOUT);
			return;
		}
		next->state = CAND_ASKED;
		if (l->nasked < CHORD_MAX_QUERIES)
			memcpy(l->asked[l->nasked++], next->n.id, DDNS_ID_LEN);
		struct ddns_wbuf w;
		ddns_wbuf_init(&w, 0);
		ddns_wbuf_put(&w, l->key, DDNS_ID_LEN);
		ddns_wbuf_u8(&w, l->want_value ? CHORD_FIND_WANT_VALUE : 0);
		ddns_wbuf_u16(&w, (uint16_t)l->probe_len);
		ddns_wbuf_put(&w, l->probe, l->probe_len);
		struct chord_call *call = NULL;
		if (!w.err)
			call = chord_send(c, &next->n, CHORD_FIND, w.p, w.len,
					  c->o->p.rpc_timeout_us, c->o->p.rpc_retries,
					  l->internal, chord_lookup_reply, l);
		ddns_wbuf_free(&w);
		if (!call) {
			next->state = CAND_FAILED;
			continue;
		}
		l->inflight = call;
		l->res.rpcs++;
		l->res.hops++;
		return;
	}
}

static struct chord_lookup *chord_lookup_new(struct chord *c, const uint8_t key[DDNS_ID_LEN],
				       bool internal)
{
	struct chord_lookup *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->c = c;
	l->internal = internal;
	memcpy(l->key, key, DDNS_ID_LEN);
	memcpy(l->res.key, key, DDNS_ID_LEN);
	l->nrep = c->o->p.replicas;
	l->next = c->lookups;
	if (c->lookups)
		c->lookups->prev = l;
	c->lookups = l;
	return l;
}

/* Seed the pool from local state (and the bootstrap node while joining)
 * and send the first request; or finish from the loop when local state
 * already answers. Returns 0 or -ENOMEM (the lookup is then gone). */
static int chord_lookup_start(struct chord_lookup *l, bool try_local)
{
	struct chord *c = l->c;
	if (try_local && chord_local_resolve(c, l)) {
		l->res.status = 0;
		goto defer;
	}
	struct ovl_node cands[CHORD_NEXT_CANDS * 2], backs[CHORD_MAX_SUCC];
	size_t n = chord_closest_preceding(c, l->key, cands, CHORD_NEXT_CANDS * 2);
	size_t nb = chord_backup_preceding(c, l->key, cands, n, backs, CHORD_MAX_SUCC);
	for (size_t i = 0; i < n; i++)
		chord_pool_add(l, &cands[i], 0);
	for (size_t i = 0; i < nb; i++)
		chord_pool_add(l, &backs[i], 1);
	nb = chord_beyond_key(c, l->key, backs, CHORD_BEYOND);
	for (size_t i = 0; i < nb; i++)
		chord_pool_add(l, &backs[i], 2);
	if (c->has_boot && !chord_in_ring(c)) {
		struct ovl_node b;
		ovl_node_make(&b, &c->boot, 0);
		chord_pool_add(l, &b, 0);
	}
	if (l->npool == 0 && c->nsucc == 0 && !c->has_boot) {
		/* alone: we own everything */
		l->res.owner = c->o->self;
		l->res.replicas[0] = c->o->self;
		l->res.nreplicas = 1;
		l->res.status = 0;
		goto defer;
	}
	chord_lookup_step(l);
	return 0;
defer:
	l->defer = tr_timer_add(c->o->tr, 0, 0, chord_lookup_defer_cb, l);
	if (!l->defer) {
		chord_lookup_unlink(l);
		chord_lookup_free(l);
		return -ENOMEM;
	}
	return 0;
}

static int chord_lookup(struct ovl *o, const uint8_t key[DDNS_ID_LEN],
			const struct ovl_lookup_opts *opts, ovl_lookup_cb cb, void *arg)
{
	struct chord *c = o->impl;
	if (c->dying)
		return DDNS_ECANCELLED;
	struct chord_lookup *l = chord_lookup_new(c, key, false);
	if (!l)
		return -ENOMEM;
	l->cb = cb;
	l->arg = arg;
	l->want_value = opts->want_value;
	if (opts->nreplicas)
		l->nrep = opts->nreplicas;
	if (l->nrep > OVL_MAX_REPLICAS)
		l->nrep = OVL_MAX_REPLICAS;
	if (opts->want_value && opts->probe_len) {
		if (opts->probe_len > UINT16_MAX)
			goto nomem;
		l->probe = malloc(opts->probe_len);
		if (!l->probe)
			goto nomem;
		memcpy(l->probe, opts->probe, opts->probe_len);
		l->probe_len = opts->probe_len;
	}
	if (opts->want_value) {
		const uint8_t *val;
		size_t len;
		if (ovl_local_value(o, key, opts->probe, opts->probe_len, &val, &len)) {
			l->local_value = malloc(len ? len : 1);
			if (!l->local_value)
				goto nomem;
			if (len)
				memcpy(l->local_value, val, len);
			if (!chord_local_resolve(c, l)) {
				l->res.owner = o->self;
				l->res.replicas[0] = o->self;
				l->res.nreplicas = 1;
			}
			l->res.value_found = true;
			l->res.value_from = o->self;
			l->res.value = l->local_value;
			l->res.value_len = len;
			l->res.status = 0;
			l->defer = tr_timer_add(o->tr, 0, 0, chord_lookup_defer_cb, l);
			if (!l->defer)
				goto nomem;
			return 0;
		}
	}
	return chord_lookup_start(l, true);
nomem:
	chord_lookup_unlink(l);
	chord_lookup_free(l);
	return -ENOMEM;
}

/* ---- request handlers (the serving side) ---- */

static void chord_serve_find(struct chord *c, const struct rpc_msg *req, const struct ovl_node *from)
{
	struct ddns_rbuf r;
	ddns_rbuf_init(&r, req->payload, req->len);
	uint8_t key[DDNS_ID_LEN];
	ddns_rbuf_copy(&r, key, DDNS_ID_LEN);
	uint8_t flags = ddns_rbuf_u8(&r);
	uint16_t plen = ddns_rbuf_u16(&r);
	const uint8_t *probe = ddns_rbuf_take(&r, plen);
	if (r.err) {
		log_debug("chord: malformed FIND");
		return;
	}
	struct ovl_node list[CHORD_MAX_SUCC + 1], backs[CHORD_BACKUPS + CHORD_BEYOND];
	size_t n, nb = 0;
	uint8_t kind;
	if (!chord_in_ring(c)) {
		/* joining (or cut off): we know no ring neighbour, and
		 * claiming a range would mislead the asker; say nothing */
		kind = CHORD_ANS_NEXT;
		n = 0;
	} else if (ovl_id_in_oc(key, c->o->self.id, chord_succ0(c)->id)) {
		kind = CHORD_ANS_DONE;
		n = chord_done_list(c, list, CHORD_MAX_SUCC + 1);
		if (n == 0) {
			list[0] = c->o->self;
			n = 1;
		}
	} else if (c->has_pred && ovl_id_in_oc(key, c->pred.id, c->o->self.id)) {
		/* asked as a last resort past the key: we own it */
		kind = CHORD_ANS_DONE;
		list[0] = c->o->self;
		n = 1 + chord_done_list(c, list + 1, CHORD_MAX_SUCC);
	} else {
		kind = CHORD_ANS_NEXT;
		n = chord_closest_preceding(c, key, list, CHORD_NEXT_CANDS);
		nb = chord_backup_preceding(c, key, list, n, backs, CHORD_BACKUPS);
		nb += chord_beyond_key(c, key, backs + nb, CHORD_BEYOND);
	}
	const uint8_t *val = NULL;
	size_t vlen = 0;
	bool has_value = (flags & CHORD_FIND_WANT_VALUE) &&
			 ovl_local_value(c->o, key, probe, plen, &val, &vlen);
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, RPC_MAX_PAYLOAD);
	ddns_wbuf_u8(&w, kind);
	chord_write_nodes(&w, list, n);
	chord_write_nodes(&w, backs, nb);
	ddns_wbuf_u8(&w, has_value ? 1 : 0);
	if (has_value) {
		ddns_wbuf_u32(&w, (uint32_t)vlen);
		ddns_wbuf_put(&w, val, vlen);
	}
	if (!w.err && rpc_reply(c->o->rpc, req, CHORD_FIND_R, w.p, w.len) == 0)
		c->o->stats.requests_served++;
	ddns_wbuf_free(&w);
	chord_learn(c, from);
}

/* STAB is Chord's notify (the sender believes it is our predecessor) and
 * get-predecessor in one: the reply carries our predecessor after the
 * notify was taken into account, and our successor list. */
static void chord_serve_stab(struct chord *c, const struct rpc_msg *req, const struct ovl_node *from)
{
	if (!c->has_pred || ovl_id_in_oo(from->id, c->pred.id, c->o->self.id)) {
		if (!c->has_pred || !id_eq(c->pred.id, from->id)) {
			c->pred = *from;
			c->has_pred = true;
			ovl_notify_change(c->o);
		}
	}
	chord_learn(c, from);
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, RPC_MAX_PAYLOAD);
	ddns_wbuf_u8(&w, c->has_pred ? 1 : 0);
	if (c->has_pred)
		ovl_node_write(&w, &c->pred);
	chord_write_nodes(&w, c->succ, c->nsucc);
	if (!w.err && rpc_reply(c->o->rpc, req, CHORD_STAB_R, w.p, w.len) == 0)
		c->o->stats.requests_served++;
	ddns_wbuf_free(&w);
}

static void chord_stabilize_start(struct chord *c, unsigned chain);

static void chord_serve_leave(struct chord *c, const struct rpc_msg *req, const struct ovl_node *from)
{
	struct ddns_rbuf r;
	ddns_rbuf_init(&r, req->payload, req->len);
	uint8_t role = ddns_rbuf_u8(&r);
	struct ovl_node list[CHORD_MAX_SUCC];
	size_t n = 0;
	struct ovl_node pred;
	bool has_pred = false;
	if (role == CHORD_LEAVE_TO_SUCC) {
		has_pred = ddns_rbuf_u8(&r) != 0;
		if (has_pred)
			ovl_node_read_via(c->o, &r, &pred);
	} else {
		n = chord_read_nodes(c, &r, list, CHORD_MAX_SUCC);
	}
	if (r.err || role > CHORD_LEAVE_TO_PRED) {
		log_debug("chord: malformed LEAVE");
		return;
	}
	if (rpc_reply(c->o->rpc, req, CHORD_LEAVE_R, NULL, 0) == 0)
		c->o->stats.requests_served++;
	bool was_pred = c->has_pred && id_eq(c->pred.id, from->id);
	bool was_succ = c->nsucc && id_eq(c->succ[0].id, from->id);
	chord_forget(c, from->id);
	if (role == CHORD_LEAVE_TO_SUCC && was_pred && has_pred &&
	    !id_eq(pred.id, c->o->self.id) && !id_eq(pred.id, from->id)) {
		/* the leaver's predecessor is ours now; it will notify us */
		c->pred = pred;
		c->has_pred = true;
		ovl_notify_change(c->o);
	}
	if (role == CHORD_LEAVE_TO_PRED && was_succ) {
		bool changed = false;
		for (size_t i = 0; i < n; i++)
			if (!id_eq(list[i].id, from->id))
				changed |= chord_succ_insert(c, &list[i]);
		if (changed)
			ovl_notify_change(c->o);
		if (!c->stab_busy && c->started && !c->left)
			chord_stabilize_start(c, 0);
	}
}

static void chord_request(void *arg, const struct rpc_msg *req)
{
	struct chord *c = arg;
	if (c->left || c->dying)
		return;
	/* req->sender_id is verified by the RPC layer (it matches req->from) */
	struct ovl_node from;
	ovl_node_sender(&from, req);
	switch (req->type) {
	case CHORD_FIND:
		chord_serve_find(c, req, &from);
		break;
	case CHORD_STAB:
		chord_serve_stab(c, req, &from);
		break;
	case CHORD_PING:
		if (rpc_reply(c->o->rpc, req, CHORD_PING_R, NULL, 0) == 0)
			c->o->stats.requests_served++;
		chord_learn(c, &from);
		break;
	case CHORD_LEAVE:
		chord_serve_leave(c, req, &from);
		break;
	default:
		log_debug("chord: unknown request type %u", req->type);
		break;
	}
}

/* ---- maintenance ---- */

static void chord_stab_reply(struct chord *c, struct chord_call *call, int status,
		       const struct rpc_msg *reply)
{
	c->stab_busy = false;
	if (c->left)
		return;
	if (status != 0 || !reply || reply->type != CHORD_STAB_R) {
		/* successor dead: drop it and stabilise with the next at once */
		chord_forget(c, call->to.id);
		if (c->nsucc && call->chain < CHORD_STAB_CHAIN)
			chord_stabilize_start(c, call->chain + 1);
		return;
	}
	struct ovl_node from = call->to; /* the RPC layer matched the address */
	struct ddns_rbuf r;
	ddns_rbuf_init(&r, reply->payload, reply->len);
	struct ovl_node x;
	bool has_x = ddns_rbuf_u8(&r) != 0;
	if (has_x)
		ovl_node_read_via(c->o, &r, &x);
	struct ovl_node list[CHORD_MAX_SUCC];
	size_t n = chord_read_nodes(c, &r, list, CHORD_MAX_SUCC);
	if (r.err) {
		log_debug("chord: malformed STAB reply");
		return;
	}
	struct ovl_node old[CHORD_MAX_SUCC];
	size_t nold = c->nsucc;
	memcpy(old, c->succ, nold * sizeof(old[0]));

	/* our list becomes: the successor, then its successors up to self */
	struct ovl_node nl[CHORD_MAX_SUCC];
	size_t nn = 0;
	nl[nn++] = from;
	for (size_t i = 0; i < n && nn < c->succ_max; i++) {
		if (id_eq(list[i].id, c->o->self.id))
			break;
		if (!ovl_id_in_oo(list[i].id, from.id, c->o->self.id))
			continue;
		bool dup = false;
		for (size_t j = 0; j < nn; j++)
			if (id_eq(nl[j].id, list[i].id))
				dup = true;
		if (!dup)
			nl[nn++] = list[i];
	}
	memcpy(c->succ, nl, nn * sizeof(nl[0]));
	c->nsucc = nn;
	/* live nodes learnt while the request was out may sit before it */
	for (size_t i = 0; i < nold; i++)
		if (ovl_id_in_oo(old[i].id, c->o->self.id, from.id))
			chord_succ_insert(c, &old[i]);
	chord_learn(c, &from);
	bool moved = false;
	if (has_x && ovl_id_in_oo(x.id, c->o->self.id, from.id)) {
		/* a node joined between us and our successor */
		moved = chord_succ_insert(c, &x);
	}
	if (!chord_succ_list_eq(old, nold, c->succ, c->nsucc))
		ovl_notify_change(c->o);
	if (moved && call->chain < CHORD_STAB_CHAIN)
		chord_stabilize_start(c, call->chain + 1);
}

static void chord_stabilize_start(struct chord *c, unsigned chain)
{
	if (c->nsucc == 0)
		return;
	struct chord_call *call = chord_maint_send(c, &c->succ[0], CHORD_STAB, NULL, 0, chord_stab_reply, NULL);
	if (call) {
		call->chain = chain;
		c->stab_busy = true;
	}
}

static void chord_ping_reply(struct chord *c, struct chord_call *call, int status,
		       const struct rpc_msg *reply)
{
	c->ping_busy = false;
	if (status != 0 || !reply) {
		if (c->has_pred && id_eq(c->pred.id, call->to.id)) {
			c->has_pred = false;
			ovl_notify_change(c->o);
		}
		chord_forget(c, call->to.id);
	}
}

static void chord_join_start(struct chord *c);

static void chord_stab_tick(void *arg)
{
	struct chord *c = arg;
	c->stab_timer = NULL;
	if (c->left || c->dying)
		return;
	if (c->nsucc == 0 && c->has_pred && c->joined) {
		/* two-node ring bootstrap: our predecessor is our successor
		 * (not for a joiner: its predecessor may be another joiner) */
		chord_succ_insert(c, &c->pred);
		ovl_notify_change(c->o);
	}
	if (c->has_boot && !chord_in_ring(c) && !c->joining)
		chord_join_start(c);
	if (!c->stab_busy)
		chord_stabilize_start(c, 0);
	if (c->has_pred && !c->ping_busy) {
		if (chord_maint_send(c, &c->pred, CHORD_PING, NULL, 0, chord_ping_reply, NULL))
			c->ping_busy = true;
	}
	c->stab_timer = tr_timer_add(c->o->tr, chord_jitter(c, c->o->p.stabilize_us), 0, chord_stab_tick, c);
}

static void chord_fix_done(struct chord *c, struct chord_lookup *l, const struct ovl_lookup_result *res)
{
	c->fix_busy = false;
	unsigned i = l->finger;
	if (res->status != 0) {
		c->next_finger = (i + 1) % CHORD_FINGERS;
		return;
	}
	if (id_eq(res->owner.id, c->o->self.id)) {
		c->finger_ok[i] = false;
		c->runs_stale = true;
		c->next_finger = (i + 1) % CHORD_FINGERS;
		return;
	}
	uint8_t d[DDNS_ID_LEN];
	chord_dist_from_self(c, res->owner.id, d);
	int top = chord_id_msb(d);
	unsigned j = i;
	/* every finger whose start lies in (self, owner] has this owner */
	for (; j < CHORD_FINGERS && (int)j <= top; j++)
		chord_set_finger(c, j, &res->owner);
	if (j == i) {
		/* owner precedes the start (stale answer): keep it once */
		chord_set_finger(c, i, &res->owner);
		j = i + 1;
	}
	c->next_finger = j % CHORD_FINGERS;
}

static void chord_fix_tick(void *arg)
{
	struct chord *c = arg;
	c->fix_timer = NULL;
	if (c->left || c->dying)
		return;
	if (!c->fix_busy && c->nsucc > 0) {
		uint8_t d[DDNS_ID_LEN];
		chord_dist_from_self(c, c->succ[0].id, d);
		int top = chord_id_msb(d);
		unsigned i = c->next_finger;
		/* fingers whose start is in (self, successor] are the successor */
		if ((int)i <= top) {
			for (; (int)i <= top && i < CHORD_FINGERS; i++)
				chord_set_finger(c, i, &c->succ[0]);
		}
		c->next_finger = i % CHORD_FINGERS;
		if (i < CHORD_FINGERS) {
			uint8_t start[DDNS_ID_LEN];
			ovl_id_add_pow2(c->o->self.id, i, start);
			struct chord_lookup *l = chord_lookup_new(c, start, true);
			if (l) {
				l->idone = chord_fix_done;
				l->finger = i;
				l->nrep = 1;
				c->fix_busy = true;
				if (chord_lookup_start(l, true) != 0)
					c->fix_busy = false;
			}
		}
	}
	c->fix_timer = tr_timer_add(c->o->tr, chord_jitter(c, c->o->p.fix_fingers_us), 0, chord_fix_tick, c);
}

static void chord_join_done(struct chord *c, struct chord_lookup *l, const struct ovl_lookup_result *res)
{
	c->joining = false;
	if (res->status != 0 || c->left || c->dying)
		return; /* retried from the next stabilize tick */
	bool changed = false, found = false;
	for (size_t i = 0; i < res->nreplicas; i++) {
		changed |= chord_succ_insert(c, &res->replicas[i]);
		found |= !id_eq(res->replicas[i].id, c->o->self.id);
	}
	for (size_t i = 0; i < res->path_len; i++)
		chord_learn(c, &res->path[i]);
	/* only ring members answer DONE (chord_in_ring), so the successors the
	 * lookup found are ring nodes: from now on we answer for our range */
	if (found && c->nsucc > 0)
		c->joined = true;
	if (changed)
		ovl_notify_change(c->o);
	if (!c->stab_busy)
		chord_stabilize_start(c, 0);
}

static void chord_join_start(struct chord *c)
{
	struct chord_lookup *l = chord_lookup_new(c, c->o->self.id, true);
	if (!l)
		return;
	l->idone = chord_join_done;
	l->nrep = c->succ_max < OVL_MAX_REPLICAS ? c->succ_max : OVL_MAX_REPLICAS;
	c->joining = true;
	if (chord_lookup_start(l, false) != 0)
		c->joining = false;
}

static void chord_start_timers(struct chord *c)
{
	struct ovl *o = c->o;
	if (!c->stab_timer)
		c->stab_timer = tr_timer_add(o->tr, tr_random_below(o->tr, o->p.stabilize_us + 1),
					     0, chord_stab_tick, c);
	if (!c->fix_timer)
		c->fix_timer = tr_timer_add(o->tr, tr_random_below(o->tr, o->p.fix_fingers_us + 1),
					    0, chord_fix_tick, c);
}

/* ---- ops ---- */

static int chord_create(struct ovl *o)
{
	struct chord *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->o = o;
	c->succ_max = o->p.succ_list_len ? o->p.succ_list_len : 16;
	if (c->succ_max > CHORD_MAX_SUCC)
		c->succ_max = CHORD_MAX_SUCC;
	if (o->p.stabilize_us == 0)
		o->p.stabilize_us = 1000000;
	if (o->p.fix_fingers_us == 0)
		o->p.fix_fingers_us = 1000000;
	int err = rpc_register(o->rpc, RPC_OVL_CHORD, RPC_SVC_OVERLAY, o->p.vnode, chord_request, c);
	if (err != 0) {
		free(c);
		return err;
	}
	o->impl = c;
	return 0;
}

static void chord_destroy(struct ovl *o)
{
	struct chord *c = o->impl;
	if (!c)
		return;
	c->dying = true;
	while (c->calls) {
		struct chord_call *call = c->calls;
		c->calls = call->next;
		rpc_cancel(o->rpc, call->handle);
		free(call);
	}
	tr_timer_cancel(o->tr, c->stab_timer);
	tr_timer_cancel(o->tr, c->fix_timer);
	rpc_unregister(o->rpc, RPC_OVL_CHORD, RPC_SVC_OVERLAY, o->p.vnode);
	while (c->lookups) {
		struct chord_lookup *l = c->lookups;
		tr_timer_cancel(o->tr, l->defer);
		l->defer = NULL;
		l->res.value_found = false;
		l->res.value = NULL;
		l->res.value_len = 0;
		chord_lookup_finish(l, DDNS_ECANCELLED);
	}
	free(c);
	o->impl = NULL;
}

static int chord_join(struct ovl *o, const struct tr_addr *bootstrap)
{
	struct chord *c = o->impl;
	if (c->started && !c->left)
		return -EALREADY;
	c->started = true;
	c->left = false;
	c->joined = true;
	if (bootstrap && !(tr_addr_eq(bootstrap, &o->self.addr) && o->p.vnode == 0)) {
		c->has_boot = true;
		c->boot = *bootstrap;
		c->joined = false;
		chord_join_start(c);
	}
	chord_start_timers(c);
	if (!c->stab_timer || !c->fix_timer)
		return -ENOMEM;
	return 0;
}

static void chord_leave_reply(struct chord *c, struct chord_call *call, int status,
			const struct rpc_msg *reply)
{
}

static void chord_leave(struct ovl *o)
{
	struct chord *c = o->impl;
	if (c->left)
		return;
	struct ddns_wbuf w;
	if (c->nsucc) {
		ddns_wbuf_init(&w, RPC_MAX_PAYLOAD);
		ddns_wbuf_u8(&w, CHORD_LEAVE_TO_SUCC);
		ddns_wbuf_u8(&w, c->has_pred ? 1 : 0);
		if (c->has_pred)
			ovl_node_write(&w, &c->pred);
		if (!w.err)
			(void)chord_maint_send(c, &c->succ[0], CHORD_LEAVE, w.p, w.len, chord_leave_reply, NULL);
		ddns_wbuf_free(&w);
	}
	if (c->has_pred && !(c->nsucc && id_eq(c->pred.id, c->succ[0].id))) {
		ddns_wbuf_init(&w, RPC_MAX_PAYLOAD);
		ddns_wbuf_u8(&w, CHORD_LEAVE_TO_PRED);
		chord_write_nodes(&w, c->succ, c->nsucc);
		if (!w.err)
			(void)chord_maint_send(c, &c->pred, CHORD_LEAVE, w.p, w.len, chord_leave_reply, NULL);
		ddns_wbuf_free(&w);
	}
	c->left = true;
	tr_timer_cancel(o->tr, c->stab_timer);
	tr_timer_cancel(o->tr, c->fix_timer);
	c->stab_timer = c->fix_timer = NULL;
}

static bool chord_responsible(struct ovl *o, const uint8_t key[DDNS_ID_LEN])
{
	struct chord *c = o->impl;
	if (!chord_in_ring(c))
		return false; /* a joiner owns nothing yet */
	if (c->has_pred)
		return ovl_id_in_oc(key, c->pred.id, o->self.id);
	/* no predecessor known: the closest known node before us stands in */
	struct ovl_node x[1];
	if (chord_closest_preceding(c, o->self.id, x, 1) == 0)
		return !c->has_boot; /* alone owns everything; a joiner owns nothing yet */
	return ovl_id_in_oc(key, x[0].id, o->self.id);
}

static size_t chord_replica_set(struct ovl *o, const uint8_t key[DDNS_ID_LEN],
				struct ovl_node *out, size_t max)
{
	struct chord *c = o->impl;
	size_t n = 0;
	if (max == 0)
		return 0;
	out[n++] = o->self;
	for (size_t i = 0; i < c->nsucc && n < max; i++)
		out[n++] = c->succ[i];
	return n;
}

static size_t chord_add_unique(struct ovl_node *out, size_t n, size_t max, const struct ovl_node *x)
{
	if (n >= max)
		return n;
	for (size_t i = 0; i < n; i++)
		if (id_eq(out[i].id, x->id))
			return n;
	out[n] = *x;
	return n + 1;
}

static void chord_limits(struct ovl *o, struct ovl_stats *out)
{
	const struct chord *c = o->impl;
	out->routing_max = CHORD_FINGERS + c->succ_max + 1; /* fingers, successors, predecessor */
	out->lookup_candidates_max = CHORD_POOL;
	out->refs_per_answer_max = CHORD_MAX_SUCC;
}

/* n successors span about n / N of the ring. */
static uint64_t chord_size_estimate(struct ovl *o)
{
	const struct chord *c = o->impl;
	if (c->nsucc == 0)
		return 1;
	uint8_t d[DDNS_ID_LEN];
	ovl_id_sub(c->succ[c->nsucc - 1].id, o->self.id, d);
	return ovl_density_estimate((unsigned)c->nsucc, d);
}

static size_t chord_routing_nodes(struct ovl *o, struct ovl_node *out, size_t max)
{
	struct chord *c = o->impl;
	size_t n = 0;
	if (c->has_pred)
		n = chord_add_unique(out, n, max, &c->pred);
	for (size_t i = 0; i < c->nsucc; i++)
		n = chord_add_unique(out, n, max, &c->succ[i]);
	for (unsigned i = 0; i < CHORD_FINGERS; i++)
		if (c->finger_ok[i])
			n = chord_add_unique(out, n, max, &c->finger[i]);
	return n;
}

const struct ovl_ops chord_ops = {
	.name = "chord",
	.wire_id = RPC_OVL_CHORD,
	.create = chord_create,
	.destroy = chord_destroy,
	.join = chord_join,
	.leave = chord_leave,
	.lookup = chord_lookup,
	.responsible = chord_responsible,
	.replica_set = chord_replica_set,
	.routing_nodes = chord_routing_nodes,
	.limits = chord_limits,
	.size_estimate = chord_size_estimate,
};
