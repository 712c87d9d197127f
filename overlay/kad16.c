/*
 * kad16.c - the kad16 overlay backend: Kademlia's XOR metric with 4-bit
 * digits and 16-ary prefix routing (docs/PROTOCOL.md, "kad16 messages").
 *
 * Routing table: up to 40 rows x 16 columns of k-buckets. A contact sharing
 * r leading 4-bit digits with this node sits in row r, column = its digit r
 * (never our own digit r, so 15 columns are ever used per row). Each bucket
 * keeps up to k contacts ordered least-recently-seen first, plus a
 * replacement cache of up to k more. Contacts are learned only from
 * verified traffic: the sender of every request and reply (the RPC layer has
 * checked that the sender's id is SHA-1 of its address and vnode, and we
 * recompute it anyway). Node references in FIND_NODE answers only become
 * lookup candidates; they enter the table once they answer themselves, so a
 * reference to a node that does not exist never enters a routing table.
 *
 * Lookups are iterative with up to alpha requests in flight, over a
 * shortlist sorted by XOR distance to the key. Two termination rules:
 *  - user lookups ("fast"): done as soon as the closest candidate that has
 *    not failed has answered (the local node counts as answered from the
 *    start, so a key this node owns costs 0 RPCs). Only candidates closer than
 *    the closest answered node, and among the alpha closest live ones, are
 *    ever queried: farther ones cannot change the outcome unless a closer one
 *    fails, and then they are eligible again.
 *  - join lookups ("exhaustive"): the classic rule, done when the k closest
 *    live candidates have all answered, so the joining node is known by its
 *    k nearest nodes.
 *  - spread value lookups (ovl_lookup_opts.spread, used by the DHT for
 *    gets): the same termination, but one request at a time (a second only
 *    while the first is stalled, unanswered after one RPC timeout), to a
 *    random candidate among the `spread` closest unasked ones that share
 *    more leading digits with the key than the closest node that answered
 *    (the local node included) - one routing step - or that are among the
 *    r closest candidates (which hold the value). In prefix routing every
 *    contact of a bucket is an equally good next hop; picking the
 *    XOR-closest (as Kademlia does) sends every originator's first request
 *    for a key to the same handful of nodes next to it, whatever is cached
 *    elsewhere, while a random pick spreads the load of a popular key over
 *    every node of the key's subtree that holds a cached copy. The price:
 *    a cold key's get takes about half a hop more (the replicas are
 *    reached one step later) for half the RPCs.
 * Each request is one RPC call, retransmitted by the RPC layer (as chord's
 * are) under one transaction id, so a late answer to an early transmission
 * still counts; the result's retransmission and timeout counts are the RPC
 * layer's exact ones (rpc_call_counted; rpc_transmissions for requests
 * cancelled when the lookup ends), and a spread lookup hears of each
 * retransmission (rpc_call.on_resend) to stop waiting for a slow node.
 *
 * Hops: a request is given round 1 when the lookup starts it, and round h+1
 * when it is sent in reaction to the outcome (answer or timeout) of a round-h
 * request. result.hops is the largest round among requests whose outcome the
 * lookup waited for; requests cancelled at termination count as RPCs, not as
 * hops.
 *
 * Maintenance, all on transport timers with random jitter: bucket refresh
 * (a lookup of a random id in the range of each bucket with no lookup in the
 * last refresh period, which ends only when every node of that range, up to
 * k, has answered; full buckets heard from recently are exempt), a ping
 * of suspect contacts, the least-recently-seen contact of a full bucket
 * pinged before a newcomer may replace it, and with PNS the measurement of
 * round-trip times of candidates so each bucket keeps the lowest-RTT live
 * contacts it has seen.
 *
 * The near set: besides the buckets, every node keeps the near_cap
 * (max(2k, 2r), at most KAD_NEAR_MAX) live contacts XOR-closest to itself,
 * whatever the capacity of the buckets they fall in (Kademlia's "split the
 * bucket containing self", kept as a list). A k-bucket holds only k nodes
 * of a sibling subtree, so without it a node may miss some of the r nodes
 * closest to a key it owns when the key's own subtree holds fewer than r
 * nodes and the sibling more than k. The r closest to a key lie within the
 * smallest subtree around the owner that holds r nodes, plus its sibling, so
 * with the near set ovl_replica_set and ovl_responsible are exact as long as
 * that sibling holds fewer than near_cap nodes (by a wide margin at the
 * default sizes). The near set is kept fresh on its own, faster timer: a
 * contact not heard from in near_us (refresh_us / 6) is pinged, one whose
 * request times out is dropped at once (then the next-closest known contact
 * moves up and a near refresh runs), and every refresh_us a "near refresh"
 * lookup of our own id, exhaustive over near_cap nodes, learns newcomers
 * and makes them learn us.
 *
 * Calls only overlay/rpc.h, overlay/transport.h, overlay/id.h and common/.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "overlay/overlay_impl.h"

#define KAD_ROWS OVL_ID_DIGITS
#define KAD_COLS 16
#define KAD_MAX_K 32          /* largest bucket size accepted from params */
#define KAD_MAX_ALPHA 16
#define KAD_SHORT_MAX 96      /* lookup shortlist capacity */
#define KAD_MAX_FAILS 2       /* timeouts before a contact is dropped without replacement */
#define KAD_MAX_REFS 64       /* node references accepted in one answer */
#define KAD_MAX_PROBE 4096    /* probe bytes accepted in FIND_VALUE */
#define KAD_NEAR_MAX 64       /* near-set capacity bound (<= KAD_MAX_REFS) */

/* Message types (overlay RPC_OVL_KAD16, service RPC_SVC_OVERLAY). */
enum kad_type {
	KAD_PING = 1,       /* empty */
	KAD_PONG = 2,       /* empty */
	KAD_FIND_NODE = 3,  /* target(20) count(1) */
	KAD_NODES = 4,      /* n(1) node_ref * n */
	KAD_FIND_VALUE = 5, /* key(20) count(1) probe_len(2) probe */
	KAD_VALUE = 6,      /* value_len(4) value */
};

/* 64 bytes: the two flags sit in the node reference's tail padding (a
 * 100,000-node simulation holds some 8 million of these). */
struct kad_contact {
	struct ovl_node n;
	uint8_t fails;     /* consecutive timeouts; > 0 = suspect */
	bool pinging;
	uint64_t seen_us;  /* last time heard from (or learned) */
	uint64_t rtt_us;   /* smoothed RTT, 0 = never measured */
};

/* c[0..n) contacts, least recently seen first; c[k..k+nrep) the
 * replacement cache, oldest first. */
struct kad_bucket {
	unsigned n, nrep;
	uint64_t heard_us; /* last time any contact of the bucket was heard from */
	struct kad_contact c[];
};

enum kad_cstate { CS_NEW, CS_INFLIGHT, CS_ANSWERED, CS_FAILED };

struct kad_cand {
	struct ovl_node n;
	uint8_t st;
	bool self;
};

/* One lookup request in flight: one RPC call (the RPC layer retransmits). */
struct kad_req {
	struct kad_lookup *lk;
	struct ovl_node to;
	unsigned round;
	uint64_t handle;
	bool stalled;       /* spread lookups: first transmission unanswered */
	struct kad_req *next, *prev;
};

enum {
	LK_USER = 1,         /* report through ovl_lookup_done */
	LK_EXCLUDE_SELF = 2, /* the local node is not a candidate */
	LK_EXHAUSTIVE = 4,   /* wait for the k closest to answer */
	LK_JOIN = 8,         /* refresh far buckets when done */
	LK_WANT_VALUE = 16,
	LK_RANGE = 32,       /* refresh: every candidate in the bucket's range must answer */
	LK_NEAR = 64,        /* with LK_EXHAUSTIVE: the window is near_cap, not k */
};

struct kad_lookup {
	struct kad *kad;
	uint8_t key[DDNS_ID_LEN];
	unsigned flags;
	unsigned range_digits; /* LK_RANGE: in range = shares this many digits with key */
	uint8_t *probe;
	size_t probe_len;
	unsigned nrep;
	unsigned spread;       /* value requests one at a time, spread (ovl_lookup_opts) */
	unsigned stalled;      /* requests in flight marked stalled */
	struct kad_cand c[KAD_SHORT_MAX]; /* sorted by XOR distance to key */
	size_t nc;
	struct kad_req *reqs;
	unsigned inflight;
	unsigned rpcs, retransmits, timeouts, hops, answered;
	struct ovl_node path[OVL_MAX_PATH];
	size_t path_len;
	bool value_found;
	struct ovl_node value_from;
	uint8_t *value;
	size_t value_len;
	ovl_lookup_cb cb;
	void *arg;
	bool done, starting;
	int status;
	struct tr_timer *defer;
	struct kad_lookup *next, *prev;
};

struct kad_ping {
	struct kad *kad;
	struct ovl_node to;
	uint64_t handle;
	struct kad_ping *next, *prev;
};

struct kad {
	struct ovl *o;
	struct tr *tr;
	struct rpc *rpc;
	unsigned k, alpha;
	uint64_t refresh_us, ping_age_us;
	struct kad_bucket *b[KAD_ROWS][KAD_COLS];
	unsigned rows; /* rows [rows, KAD_ROWS) have no bucket (never freed) */
	uint64_t lookup_us[KAD_ROWS][KAD_COLS]; /* last lookup into each bucket's range */
	struct kad_lookup *lookups;
	struct kad_ping *pings;
	struct tr_timer *tick;
	bool registered, have_boot, left;
	struct tr_addr boot;
	uint8_t near[OVL_MAX_REPLICAS][DDNS_ID_LEN]; /* the r closest live contacts */
	unsigned nnear;
	/* The near set: live contacts closest to self, sorted by XOR distance
	 * to self, closest first; no duplicates, never self. */
	struct kad_contact nearc[KAD_NEAR_MAX];
	unsigned nnearc, near_cap;
	uint64_t near_us, near_refresh_us; /* ping age; last near refresh */
	struct tr_timer *near_tick, *near_kick;
};

/* ------------------------------------------------------------------ */
/* Small helpers */

static uint64_t kad_now(struct kad *k) { return tr_now_us(k->tr); }

static void kad_id_set_digit(uint8_t id[DDNS_ID_LEN], unsigned i, unsigned v)
{
	if (i & 1)
		id[i >> 1] = (uint8_t)((id[i >> 1] & 0xF0u) | (v & 15u));
	else
		id[i >> 1] = (uint8_t)((id[i >> 1] & 0x0Fu) | ((v & 15u) << 4));
}

/* Row and column of id in our table; false for our own id. */
static bool kad_slot(struct kad *k, const uint8_t id[DDNS_ID_LEN], unsigned *row, unsigned *col)
{
	unsigned r = ovl_id_common_digits(k->o->self.id, id);
	if (r >= KAD_ROWS)
		return false;
	*row = r;
	*col = ovl_id_digit(id, r);
	return true;
}

static struct kad_bucket *kad_bucket_get(struct kad *k, unsigned row, unsigned col, bool create)
{
	if (!k->b[row][col] && create) {
		struct kad_bucket *b =
			calloc(1, sizeof(*b) + 2 * (size_t)k->k * sizeof(struct kad_contact));
		if (!b)
			return NULL;
		k->b[row][col] = b;
		if (row >= k->rows)
			k->rows = row + 1;
	}
	return k->b[row][col];
}

static struct kad_contact *kad_cache(struct kad *k, struct kad_bucket *b) { return b->c + k->k; }

static int kad_find(const struct kad_contact *c, unsigned n, const uint8_t id[DDNS_ID_LEN])
{
	for (unsigned i = 0; i < n; i++)
		if (ovl_id_eq(c[i].n.id, id))
			return (int)i;
	return -1;
}

static void kad_remove_at(struct kad_contact *c, unsigned *n, unsigned i)
{
	memmove(c + i, c + i + 1, (*n - i - 1) * sizeof(*c));
	(*n)--;
}

static struct kad_contact *kad_contact_find(struct kad *k, const uint8_t id[DDNS_ID_LEN])
{
	unsigned row, col;
	if (!kad_slot(k, id, &row, &col) || !k->b[row][col])
		return NULL;
	struct kad_bucket *b = k->b[row][col];
	int i = kad_find(b->c, b->n, id);
	return i < 0 ? NULL : &b->c[i];
}

/* Insert n into sorted array a (size *len, capacity cap) by distance to
 * target; drops the farthest when full; ignores a node already there (the
 * same contact may sit in a bucket and in the near set). */
static void kad_sorted_add(struct ovl_node *a, size_t *len, size_t cap,
			   const uint8_t target[DDNS_ID_LEN], const struct ovl_node *n)
{
	size_t pos = *len;
	while (pos > 0 && ovl_id_xor_closer(target, n->id, a[pos - 1].id))
		pos--;
	if (pos >= cap || (pos > 0 && ovl_id_eq(a[pos - 1].id, n->id)))
		return;
	size_t end = *len < cap ? *len : cap - 1;
	memmove(a + pos + 1, a + pos, (end - pos) * sizeof(*a));
	a[pos] = *n;
	if (*len < cap)
		(*len)++;
}

static void kad_closest_scan(const struct kad_contact *c, unsigned n, uint64_t fresh_after,
			     const uint8_t target[DDNS_ID_LEN], const uint8_t *skip,
			     struct ovl_node *out, size_t *len, size_t max)
{
	for (unsigned i = 0; i < n; i++) {
		if (c[i].fails || c[i].seen_us < fresh_after)
			continue;
		if (skip && ovl_id_eq(c[i].n.id, skip))
			continue;
		if (*len == max && !ovl_id_xor_closer(target, c[i].n.id, out[*len - 1].id))
			continue;
		kad_sorted_add(out, len, max, target, &c[i].n);
	}
}

/* True when no id in bucket (row, col) can be closer to target than `than`.
 * Every id there shares digits [0, row) with self and has digit col at row,
 * so its XOR distance to target starts with those digits XOR target's and
 * may be anything after: that prefix followed by zeros is a lower bound. */
static bool kad_bucket_beyond(const struct kad *k, unsigned row, unsigned col,
			      const uint8_t target[DDNS_ID_LEN], const uint8_t than[DDNS_ID_LEN])
{
	for (unsigned i = 0; i <= row; i++) {
		unsigned t = ovl_id_digit(target, i);
		unsigned lo = (i < row ? ovl_id_digit(k->o->self.id, i) : col) ^ t;
		unsigned th = ovl_id_digit(than, i) ^ t;
		if (lo != th)
			return lo > th;
	}
	return false; /* the rest is free: something there may be closer */
}

static void kad_closest_bucket(struct kad *k, unsigned r, unsigned c, uint64_t fresh,
			       const uint8_t target[DDNS_ID_LEN], const uint8_t *skip,
			       struct ovl_node *out, size_t *n, size_t max)
{
	struct kad_bucket *b = k->b[r][c];
	if (!b || (*n == max && kad_bucket_beyond(k, r, c, target, out[max - 1].id)))
		return;
	kad_closest_scan(b->c, b->n, 0, target, skip, out, n, max);
	kad_closest_scan(kad_cache(k, b), b->nrep, fresh, target, skip, out, n, max);
}

/* The (at most) max live contacts closest to target, closest first,
 * excluding id `skip` (may be NULL). Replacement-cache entries heard from
 * within the last refresh period count too: a full bucket far from us may
 * hold fewer nodes than the ones nearest some key (replica sets, FIND_NODE
 * answers), and they are verified senders like any contact.
 *
 * This runs for every FIND_NODE served, so it visits the buckets nearest
 * target first (the near set, target's own bucket, then the deeper rows)
 * and skips a bucket once the answer is full and nothing in the bucket's
 * range can beat its farthest entry. The answer is the same as scanning
 * every contact: only buckets that cannot change it are skipped. */
static size_t kad_closest(struct kad *k, const uint8_t target[DDNS_ID_LEN],
			  const uint8_t *skip, struct ovl_node *out, size_t max)
{
	size_t n = 0;
	if (max == 0)
		return 0;
	uint64_t now = kad_now(k);
	uint64_t fresh = now > k->refresh_us ? now - k->refresh_us : 0;
	kad_closest_scan(k->nearc, k->nnearc, 0, target, skip, out, &n, max);
	unsigned d = ovl_id_common_digits(k->o->self.id, target), dc = KAD_COLS;
	if (d < KAD_ROWS) {
		dc = ovl_id_digit(target, d);
		kad_closest_bucket(k, d, dc, fresh, target, skip, out, &n, max);
	}
	for (unsigned r = k->rows; r-- > 0;) {
		/* Ids in row r share exactly min(r, d) digits with target (row
		 * d's column dc aside); once the farthest answer shares more,
		 * the row cannot help, nor can any row above a shallower one. */
		unsigned shared = r < d ? r : d;
		if (n == max && ovl_id_common_digits(out[max - 1].id, target) > shared) {
			if (r < d)
				break;
			continue;
		}
		for (unsigned c = 0; c < KAD_COLS; c++)
			if (r != d || c != dc)
				kad_closest_bucket(k, r, c, fresh, target, skip, out, &n, max);
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Neighbour-change detection */

/* Recompute the r closest live contacts to self; notify the layer above
 * when the set changed. The near set holds the closest contacts known; the
 * buckets are scanned too (deeper rows hold strictly closer contacts, so
 * the scan stops at the first row that completes the set). */
static void kad_near_update(struct kad *k)
{
	struct ovl *o = k->o;
	unsigned r = o->p.replicas;
	struct ovl_node best[OVL_MAX_REPLICAS];
	size_t n = 0;
	for (unsigned i = 0; i < k->nnearc && n < r; i++)
		if (!k->nearc[i].fails)
			kad_sorted_add(best, &n, r, o->self.id, &k->nearc[i].n);
	for (int row = KAD_ROWS - 1; row >= 0 && n < r; row--)
		for (unsigned c = 0; c < KAD_COLS; c++) {
			struct kad_bucket *b = k->b[row][c];
			if (!b)
				continue;
			for (unsigned i = 0; i < b->n; i++)
				if (!b->c[i].fails)
					kad_sorted_add(best, &n, r, o->self.id, &b->c[i].n);
		}
	bool same = n == k->nnear;
	for (size_t i = 0; same && i < n; i++)
		same = ovl_id_eq(best[i].id, k->near[i]);
	if (same)
		return;
	for (size_t i = 0; i < n; i++)
		memcpy(k->near[i], best[i].id, DDNS_ID_LEN);
	k->nnear = (unsigned)n;
	ovl_notify_change(o);
}

/* ------------------------------------------------------------------ */
/* The near set */

static int kad_near_find(struct kad *k, const uint8_t id[DDNS_ID_LEN])
{
	return kad_find(k->nearc, k->nnearc, id);
}

/* Offer a verified contact (heard from now) to the near set: kept when it is
 * among the near_cap closest to self. Returns true when the set changed. */
static bool kad_near_offer(struct kad *k, const struct ovl_node *n, uint64_t seen_us,
			   uint64_t rtt_us)
{
	const uint8_t *self = k->o->self.id;
	int i = kad_near_find(k, n->id);
	if (i >= 0) {
		struct kad_contact *c = &k->nearc[i];
		if (seen_us > c->seen_us)
			c->seen_us = seen_us;
		c->fails = 0;
		if (rtt_us)
			c->rtt_us = c->rtt_us ? (7 * c->rtt_us + rtt_us) / 8 : rtt_us;
		return false;
	}
	unsigned pos = k->nnearc;
	while (pos > 0 && ovl_id_xor_closer(self, n->id, k->nearc[pos - 1].n.id))
		pos--;
	if (pos >= k->near_cap)
		return false;
	unsigned end = k->nnearc < k->near_cap ? k->nnearc : k->near_cap - 1;
	memmove(k->nearc + pos + 1, k->nearc + pos, (end - pos) * sizeof(k->nearc[0]));
	k->nearc[pos] = (struct kad_contact){.n = *n, .seen_us = seen_us, .rtt_us = rtt_us};
	if (k->nnearc < k->near_cap)
		k->nnearc++;
	return true;
}

static void kad_near_kick_cb(void *arg);

/* A near contact failed: drop it, let the next-closest known contacts move
 * up, and look our neighbourhood up again soon (a contact farther than
 * near_cap may have been forgotten by the buckets). */
static void kad_near_drop(struct kad *k, const uint8_t id[DDNS_ID_LEN])
{
	int i = kad_near_find(k, id);
	if (i < 0)
		return;
	unsigned n = k->nnearc;
	kad_remove_at(k->nearc, &n, (unsigned)i);
	k->nnearc = n;
	for (unsigned r = 0; r < KAD_ROWS; r++)
		for (unsigned c = 0; c < KAD_COLS; c++) {
			struct kad_bucket *b = k->b[r][c];
			for (unsigned j = 0; b && j < b->n; j++)
				if (!b->c[j].fails && !ovl_id_eq(b->c[j].n.id, id))
					(void)kad_near_offer(k, &b->c[j].n, b->c[j].seen_us, b->c[j].rtt_us);
		}
	if (!k->near_kick && !k->left)
		k->near_kick = tr_timer_add(k->tr, 0, 0, kad_near_kick_cb, k);
}

/* ------------------------------------------------------------------ */
/* Pings (liveness checks and RTT probes; the RPC layer retransmits) */

static void kad_ping_cb(void *arg, int status, const struct rpc_msg *reply);
static void kad_learn(struct kad *k, const struct ovl_node *n, uint64_t rtt_us);
static void kad_contact_failed(struct kad *k, const struct ovl_node *n);

static bool kad_ping_pending(struct kad *k, const uint8_t id[DDNS_ID_LEN])
{
	for (struct kad_ping *p = k->pings; p; p = p->next)
		if (ovl_id_eq(p->to.id, id))
			return true;
	return false;
}

static void kad_ping(struct kad *k, const struct ovl_node *n)
{
	if (k->left || kad_ping_pending(k, n->id))
		return;
	struct kad_ping *p = calloc(1, sizeof(*p));
	if (!p)
		return;
	p->kad = k;
	p->to = *n;
	struct rpc_call c = {
		.to = n->addr,
		.overlay = RPC_OVL_KAD16,
		.service = RPC_SVC_OVERLAY,
		.type = KAD_PING,
		.src_vnode = k->o->p.vnode,
		.dst_vnode = n->vnode,
		.payload = NULL,
		.len = 0,
		.timeout_us = k->o->p.rpc_timeout_us,
		.retries = k->o->p.rpc_retries,
	};
	if (rpc_call(k->rpc, &c, kad_ping_cb, p, &p->handle) != 0) {
		free(p);
		return;
	}
	k->o->stats.maint_rpcs++;
	struct kad_contact *ct = kad_contact_find(k, n->id);
	if (ct)
		ct->pinging = true;
	p->next = k->pings;
	if (k->pings)
		k->pings->prev = p;
	k->pings = p;
}

static void kad_ping_cb(void *arg, int status, const struct rpc_msg *reply)
{
	struct kad_ping *p = arg;
	struct kad *k = p->kad;
	if (p->prev)
		p->prev->next = p->next;
	else
		k->pings = p->next;
	if (p->next)
		p->next->prev = p->prev;
	struct ovl_node to = p->to;
	free(p);
	struct kad_contact *ct = kad_contact_find(k, to.id);
	if (ct)
		ct->pinging = false;
	if (status == 0 && reply)
		kad_learn(k, &to, reply->rtt_us ? reply->rtt_us : 1);
	else
		kad_contact_failed(k, &to);
}

/* ------------------------------------------------------------------ */
/* The routing table */

/* Put a node in the replacement cache of b (most recent last). */
static void kad_cache_add(struct kad *k, struct kad_bucket *b, const struct ovl_node *n,
			  uint64_t rtt_us)
{
	struct kad_contact *rc = kad_cache(k, b);
	int i = kad_find(rc, b->nrep, n->id);
	struct kad_contact e = {.n = *n, .seen_us = kad_now(k), .rtt_us = rtt_us};
	if (i >= 0) {
		if (!rtt_us)
			e.rtt_us = rc[i].rtt_us;
		kad_remove_at(rc, &b->nrep, (unsigned)i);
	} else if (b->nrep == k->k) {
		/* Full: the oldest goes; with PNS the slowest measured one, so
		 * near candidates stay available. */
		unsigned victim = 0;
		if (k->o->p.pns)
			for (unsigned j = 0; j < b->nrep; j++)
				if (rc[j].rtt_us > rc[victim].rtt_us)
					victim = j;
		if (k->o->p.pns && e.rtt_us && rc[victim].rtt_us && e.rtt_us >= rc[victim].rtt_us)
			return; /* slower than everything cached */
		kad_remove_at(rc, &b->nrep, victim);
	}
	rc[b->nrep++] = e;
}

/* Take the best replacement out of b's cache into *out: with PNS the
 * lowest measured RTT, otherwise the most recently seen. */
static bool kad_cache_take(struct kad *k, struct kad_bucket *b, struct kad_contact *out)
{
	if (b->nrep == 0)
		return false;
	struct kad_contact *rc = kad_cache(k, b);
	unsigned pick = b->nrep - 1;
	if (k->o->p.pns)
		for (unsigned i = 0; i < b->nrep; i++)
			if (rc[i].rtt_us &&
			    (!rc[pick].rtt_us || rc[i].rtt_us < rc[pick].rtt_us))
				pick = i;
	*out = rc[pick];
	out->fails = 0;
	out->pinging = false;
	kad_remove_at(rc, &b->nrep, pick);
	return true;
}

/* We heard from n directly (a verified request or reply); rtt_us > 0 when
 * this was an answer to our request. Implements bucket insertion, LRS
 * ping-before-evict and PNS. */
static void kad_learn(struct kad *k, const struct ovl_node *n, uint64_t rtt_us)
{
	unsigned row, col;
	if (!kad_slot(k, n->id, &row, &col))
		return;
	uint64_t now = kad_now(k);
	if (kad_near_offer(k, n, now, rtt_us))
		kad_near_update(k);
	struct kad_bucket *b = kad_bucket_get(k, row, col, true);
	if (!b)
		return;
	b->heard_us = now;
	int i = kad_find(b->c, b->n, n->id);
	if (i >= 0) {
		struct kad_contact e = b->c[i];
		bool was_suspect = e.fails > 0;
		e.seen_us = now;
		e.fails = 0;
		if (rtt_us)
			e.rtt_us = e.rtt_us ? (7 * e.rtt_us + rtt_us) / 8 : rtt_us;
		kad_remove_at(b->c, &b->n, (unsigned)i);
		b->c[b->n++] = e;
		if (was_suspect)
			kad_near_update(k);
		return;
	}
	struct kad_contact e = {.n = *n, .seen_us = now, .rtt_us = rtt_us};
	struct kad_contact *rc = kad_cache(k, b);
	int ci = kad_find(rc, b->nrep, n->id);
	if (ci >= 0) {
		if (!e.rtt_us)
			e.rtt_us = rc[ci].rtt_us;
		kad_remove_at(rc, &b->nrep, (unsigned)ci);
	}
	if (b->n < k->k) {
		b->c[b->n++] = e;
		kad_near_update(k);
		return;
	}
	/* Full. A suspect contact gives way at once. */
	int worst = -1;
	for (unsigned j = 0; j < b->n; j++)
		if (b->c[j].fails && (worst < 0 || b->c[j].fails > b->c[worst].fails))
			worst = (int)j;
	if (worst >= 0) {
		kad_remove_at(b->c, &b->n, (unsigned)worst);
		b->c[b->n++] = e;
		kad_near_update(k);
		return;
	}
	if (k->o->p.pns && e.rtt_us) {
		/* Proximity neighbour selection: replace the slowest measured
		 * contact when the newcomer is clearly faster (10% margin
		 * against flapping on noise). */
		int slow = -1;
		for (unsigned j = 0; j < b->n; j++)
			if (b->c[j].rtt_us && (slow < 0 || b->c[j].rtt_us > b->c[slow].rtt_us))
				slow = (int)j;
		if (slow >= 0 && e.rtt_us * 10 < b->c[slow].rtt_us * 9) {
			struct kad_contact old = b->c[slow];
			kad_remove_at(b->c, &b->n, (unsigned)slow);
			b->c[b->n++] = e;
			kad_cache_add(k, b, &old.n, old.rtt_us);
			kad_near_update(k);
			return;
		}
	}
	kad_cache_add(k, b, n, e.rtt_us);
	/* Classic Kademlia: the least-recently-seen contact keeps its place
	 * unless it fails a ping; then the freshest cache entry replaces it. */
	struct kad_contact *lrs = &b->c[0];
	if (!lrs->pinging && now - lrs->seen_us > k->ping_age_us)
		kad_ping(k, &lrs->n);
	else if (k->o->p.pns && !e.rtt_us)
		kad_ping(k, n); /* measure the newcomer's RTT */
}

/* A request to n went unanswered after every retransmission. */
static void kad_contact_failed(struct kad *k, const struct ovl_node *n)
{
	unsigned row, col;
	if (kad_near_find(k, n->id) >= 0) {
		kad_near_drop(k, n->id);
		kad_near_update(k);
	}
	if (!kad_slot(k, n->id, &row, &col) || !k->b[row][col])
		return;
	struct kad_bucket *b = k->b[row][col];
	int i = kad_find(b->c, b->n, n->id);
	if (i < 0) {
		struct kad_contact *rc = kad_cache(k, b);
		int ci = kad_find(rc, b->nrep, n->id);
		if (ci >= 0)
			kad_remove_at(rc, &b->nrep, (unsigned)ci);
		return;
	}
	struct kad_contact repl;
	b->c[i].fails++;
	if (kad_cache_take(k, b, &repl)) {
		kad_remove_at(b->c, &b->n, (unsigned)i);
		b->c[b->n++] = repl;
	} else if (b->c[i].fails >= KAD_MAX_FAILS) {
		kad_remove_at(b->c, &b->n, (unsigned)i);
	}
	kad_near_update(k);
}

static bool kad_has_live(struct kad *k)
{
	for (unsigned i = 0; i < k->nnearc; i++)
		if (!k->nearc[i].fails)
			return true;
	for (unsigned r = 0; r < KAD_ROWS; r++)
		for (unsigned c = 0; c < KAD_COLS; c++) {
			struct kad_bucket *b = k->b[r][c];
			for (unsigned i = 0; b && i < b->n; i++)
				if (!b->c[i].fails)
					return true;
		}
	return false;
}

/* The deepest row holding a live contact (the closest neighbour's), or -1. */
static int kad_deepest_row(struct kad *k)
{
	for (int r = KAD_ROWS - 1; r >= 0; r--)
		for (unsigned c = 0; c < KAD_COLS; c++) {
			struct kad_bucket *b = k->b[r][c];
			for (unsigned i = 0; b && i < b->n; i++)
				if (!b->c[i].fails)
					return r;
		}
	return -1;
}

/* ------------------------------------------------------------------ */
/* Lookups */

static void kad_lk_step(struct kad_lookup *lk, unsigned round);
static void kad_refresh_bucket(struct kad *k, unsigned row, unsigned col);
static void kad_near_refresh(struct kad *k);

static void kad_lk_free(struct kad_lookup *lk)
{
	free(lk->probe);
	free(lk->value);
	free(lk);
}

static void kad_req_unlink(struct kad_lookup *lk, struct kad_req *rq)
{
	if (rq->prev)
		rq->prev->next = rq->next;
	else
		lk->reqs = rq->next;
	if (rq->next)
		rq->next->prev = rq->prev;
}

/* Cancel a request still in flight; the retransmissions it already cost
 * are the lookup's (the RPC layer's count). */
static void kad_req_cancel(struct kad *k, struct kad_req *rq)
{
	unsigned sent = rpc_transmissions(k->rpc, rq->handle);
	if (sent > 1)
		rq->lk->retransmits += sent - 1;
	rpc_cancel(k->rpc, rq->handle);
	rq->handle = 0;
}

static void kad_lk_unlink(struct kad_lookup *lk)
{
	struct kad *k = lk->kad;
	if (lk->prev)
		lk->prev->next = lk->next;
	else if (k->lookups == lk)
		k->lookups = lk->next;
	if (lk->next)
		lk->next->prev = lk->prev;
	lk->next = lk->prev = NULL;
}

/* Report and free. Nothing of lk or its kad may be touched afterwards by
 * the caller: a user callback may free the whole overlay instance. */
static void kad_lk_report(struct kad_lookup *lk)
{
	struct kad *k = lk->kad;
	struct ovl *o = k->o;
	struct ovl_lookup_result *res = calloc(1, sizeof(*res));
	if (!res) {
		kad_lk_free(lk);
		return;
	}
	res->status = lk->status;
	memcpy(res->key, lk->key, DDNS_ID_LEN);
	for (size_t i = 0; i < lk->nc && res->nreplicas < lk->nrep; i++)
		if (lk->c[i].st != CS_FAILED)
			res->replicas[res->nreplicas++] = lk->c[i].n;
	res->owner = res->nreplicas ? res->replicas[0] : o->self;
	res->rpcs = lk->rpcs;
	res->retransmits = lk->retransmits;
	res->timeouts = lk->timeouts;
	res->hops = lk->hops;
	res->value_found = lk->value_found;
	res->value_from = lk->value_from;
	res->value = lk->value;
	res->value_len = lk->value_len;
	memcpy(res->path, lk->path, lk->path_len * sizeof(lk->path[0]));
	res->path_len = lk->path_len;
	ovl_lookup_cb cb = lk->cb;
	void *arg = lk->arg;
	uint8_t *value = lk->value;
	lk->value = NULL;
	kad_lk_free(lk);
	ovl_lookup_done(o, res, cb, arg);
	free(value);
	free(res);
}

/* A finished, unlinked lookup: report a user lookup; after a join lookup,
 * refresh every bucket farther than the closest neighbour that is not
 * already full (Kademlia's join). */
static void kad_lk_complete(struct kad_lookup *lk)
{
	struct kad *k = lk->kad;
	if (lk->flags & LK_USER) {
		kad_lk_report(lk);
		return;
	}
	bool join = (lk->flags & LK_JOIN) && lk->status != DDNS_ECANCELLED;
	kad_lk_free(lk);
	if (!join || k->left)
		return;
	kad_near_refresh(k);
	int deepest = kad_deepest_row(k);
	for (int r = 0; r <= deepest; r++)
		for (unsigned c = 0; c < KAD_COLS; c++) {
			if (c == ovl_id_digit(k->o->self.id, (unsigned)r))
				continue;
			struct kad_bucket *b = k->b[r][c];
			if (!b || b->n < k->k)
				kad_refresh_bucket(k, (unsigned)r, c);
		}
}

static void kad_lk_defer_cb(void *arg)
{
	struct kad_lookup *lk = arg;
	lk->defer = NULL;
	kad_lk_unlink(lk);
	kad_lk_complete(lk);
}

/* End the lookup: cancel what is in flight, then complete it (deferred to a
 * 0-delay timer while the lookup is still being started, so the callback
 * never runs inside ovl_lookup). */
static void kad_lk_finish(struct kad_lookup *lk, int status)
{
	struct kad *k = lk->kad;
	if (lk->done)
		return;
	lk->done = true;
	lk->status = status;
	while (lk->reqs) {
		struct kad_req *rq = lk->reqs;
		kad_req_cancel(k, rq);
		kad_req_unlink(lk, rq);
		free(rq);
	}
	lk->inflight = 0;
	lk->stalled = 0;
	if (lk->starting) {
		lk->defer = tr_timer_add(k->tr, 0, 0, kad_lk_defer_cb, lk);
		if (lk->defer)
			return;
	}
	kad_lk_unlink(lk);
	kad_lk_complete(lk);
}

static int kad_cand_find(struct kad_lookup *lk, const uint8_t id[DDNS_ID_LEN])
{
	for (size_t i = 0; i < lk->nc; i++)
		if (ovl_id_eq(lk->c[i].n.id, id))
			return (int)i;
	return -1;
}

/* Add a candidate in distance order (no duplicates). When the shortlist is
 * full the farthest entry that is not in flight is dropped. */
static void kad_cand_add(struct kad_lookup *lk, const struct ovl_node *n, uint8_t st, bool self)
{
	if (kad_cand_find(lk, n->id) >= 0)
		return;
	size_t pos = lk->nc;
	while (pos > 0 && ovl_id_xor_closer(lk->key, n->id, lk->c[pos - 1].n.id))
		pos--;
	if (lk->nc == KAD_SHORT_MAX) {
		if (pos == KAD_SHORT_MAX)
			return;
		lk->nc--; /* the farthest goes; its request, if any, is still tracked */
	}
	memmove(lk->c + pos + 1, lk->c + pos, (lk->nc - pos) * sizeof(lk->c[0]));
	lk->c[pos].n = *n;
	lk->c[pos].st = st;
	lk->c[pos].self = self;
	lk->nc++;
}

static void kad_req_done(void *arg, const struct rpc_outcome *out);
static void kad_req_resent(void *arg, unsigned transmission);

/* How many nodes an exhaustive lookup waits for, and how many references
 * every lookup asks for and accepts per answer. */
static unsigned kad_lk_window(const struct kad_lookup *lk)
{
	return (lk->flags & LK_NEAR) ? lk->kad->near_cap : lk->kad->k;
}

/* Frame rq's FIND_NODE or FIND_VALUE and hand it to the RPC layer. */
static bool kad_req_send(struct kad_lookup *lk, struct kad_req *rq)
{
	struct kad *k = lk->kad;
	uint8_t buf[DDNS_ID_LEN + 1 + 2 + KAD_MAX_PROBE];
	struct ddns_wbuf w;
	ddns_wbuf_init_fixed(&w, buf, sizeof(buf));
	ddns_wbuf_put(&w, lk->key, DDNS_ID_LEN);
	ddns_wbuf_u8(&w, (uint8_t)kad_lk_window(lk));
	uint8_t type = KAD_FIND_NODE;
	if (lk->flags & LK_WANT_VALUE) {
		type = KAD_FIND_VALUE;
		ddns_wbuf_u16(&w, (uint16_t)lk->probe_len);
		ddns_wbuf_put(&w, lk->probe, lk->probe_len);
	}
	if (w.err)
		return false;
	struct rpc_call c = {
		.to = rq->to.addr,
		.overlay = RPC_OVL_KAD16,
		.service = RPC_SVC_OVERLAY,
		.type = type,
		.src_vnode = k->o->p.vnode,
		.dst_vnode = rq->to.vnode,
		.payload = buf,
		.len = w.len,
		.timeout_us = k->o->p.rpc_timeout_us,
		.retries = k->o->p.rpc_retries,
		.on_resend = kad_req_resent,
	};
	if (rpc_call_counted(k->rpc, &c, kad_req_done, rq, &rq->handle) != 0)
		return false;
	if (!(lk->flags & LK_USER))
		k->o->stats.maint_rpcs++;
	return true;
}

/* The RPC layer retransmitted rq: its node is slow. A spread lookup does
 * not wait for it: the next request goes out now (rq may be cancelled and
 * freed by the step). */
static void kad_req_resent(void *arg, unsigned transmission)
{
	struct kad_req *rq = arg;
	struct kad_lookup *lk = rq->lk;
	(void)transmission;
	if (lk->spread && !rq->stalled) {
		rq->stalled = true;
		lk->stalled++;
		kad_lk_step(lk, rq->round + 1);
	}
}

/* Send a lookup request to candidate c (its state becomes in flight). */
static void kad_lk_send(struct kad_lookup *lk, struct kad_cand *c, unsigned round)
{
	struct kad_req *rq = calloc(1, sizeof(*rq));
	if (!rq) {
		c->st = CS_FAILED;
		return;
	}
	rq->lk = lk;
	rq->to = c->n;
	rq->round = round;
	if (!kad_req_send(lk, rq)) {
		free(rq);
		c->st = CS_FAILED;
		return;
	}
	c->st = CS_INFLIGHT;
	lk->rpcs++;
	lk->inflight++;
	rq->next = lk->reqs;
	if (lk->reqs)
		lk->reqs->prev = rq;
	lk->reqs = rq;
}

/* A spread lookup's next request (see the file comment): none while a
 * request in flight is not stalled; otherwise a random pick among the
 * first `spread` live unasked candidates from `best` (closer than the
 * closest node that answered) that share more leading digits with the key
 * than that node does, i.e. that make a routing step, or are among the
 * nrep closest (the replica set as far as we know it: they hold the value,
 * or soon a cached copy). */
static void kad_lk_spread(struct kad_lookup *lk, size_t best, unsigned round)
{
	struct kad *k = lk->kad;
	if (lk->inflight > lk->stalled || lk->inflight >= k->alpha)
		return;
	unsigned need = 0;
	for (size_t i = best; i < lk->nc; i++)
		if (lk->c[i].st == CS_ANSWERED) {
			need = ovl_id_common_digits(lk->c[i].n.id, lk->key) + 1;
			break;
		}
	size_t pick[KAD_SHORT_MAX], np = 0, first = lk->nc;
	unsigned live = 0;
	for (size_t i = best; i < lk->nc && live < lk->spread; i++) {
		if (lk->c[i].st == CS_FAILED)
			continue;
		if (lk->c[i].st == CS_ANSWERED)
			break;
		live++;
		if (lk->c[i].st != CS_NEW)
			continue;
		if (first == lk->nc)
			first = i;
		if (live <= lk->nrep || ovl_id_common_digits(lk->c[i].n.id, lk->key) >= need)
			pick[np++] = i;
	}
	if (np > 0)
		first = pick[np > 1 ? (size_t)tr_random_below(k->tr, np) : 0];
	if (first < lk->nc)
		kad_lk_send(lk, &lk->c[first], round);
}

/* Exhaustive and range lookups: the window is the k closest live
 * candidates; with LK_RANGE it ends at (and includes) the first one outside
 * the bucket's range, whose answer would reveal any in-range node it knows.
 * Finishes the lookup when the whole window has answered (true), otherwise
 * asks the window's unasked candidates. */
static bool kad_lk_step_window(struct kad_lookup *lk, unsigned round)
{
	struct kad *k = lk->kad;
	unsigned live = 0, window = kad_lk_window(lk);
	bool all_answered = true;
	size_t end = 0;
	for (size_t i = 0; i < lk->nc && live < window; i++) {
		end = i + 1;
		if (lk->c[i].st == CS_FAILED)
			continue;
		live++;
		if (lk->c[i].st != CS_ANSWERED)
			all_answered = false;
		if ((lk->flags & LK_RANGE) &&
		    ovl_id_common_digits(lk->c[i].n.id, lk->key) < lk->range_digits)
			break;
	}
	if (all_answered) {
		kad_lk_finish(lk, live ? 0 : DDNS_ETIMEDOUT);
		return true;
	}
	for (size_t i = 0; i < end && lk->inflight < k->alpha; i++)
		if (lk->c[i].st == CS_NEW)
			kad_lk_send(lk, &lk->c[i], round);
	return false;
}

/* User lookups: finished once the closest candidate that has not failed
 * has answered (true); otherwise ask the alpha closest live unasked ones
 * closer than the closest answer (or one spread pick). */
static bool kad_lk_step_fast(struct kad_lookup *lk, unsigned round)
{
	struct kad *k = lk->kad;
	size_t best = 0;
	while (best < lk->nc && lk->c[best].st == CS_FAILED)
		best++;
	if (best < lk->nc && lk->c[best].st == CS_ANSWERED) {
		kad_lk_finish(lk, 0);
		return true;
	}
	if (lk->spread) {
		kad_lk_spread(lk, best, round);
		return false;
	}
	unsigned live = 0;
	for (size_t i = best; i < lk->nc && lk->inflight < k->alpha; i++) {
		if (lk->c[i].st == CS_FAILED)
			continue;
		if (lk->c[i].st == CS_ANSWERED || ++live > k->alpha)
			break;
		if (lk->c[i].st == CS_NEW)
			kad_lk_send(lk, &lk->c[i], round);
	}
	return false;
}

/* Nothing in flight and nothing left worth asking: if every request failed
 * and the table holds no live contact, there is no live path; otherwise
 * the best surviving candidate stands. */
static void kad_lk_settle(struct kad_lookup *lk)
{
	bool isolated = lk->rpcs > 0 && lk->answered == 0 && !kad_has_live(lk->kad);
	size_t best = 0;
	while (best < lk->nc && lk->c[best].st == CS_FAILED)
		best++;
	kad_lk_finish(lk, isolated || best == lk->nc ? DDNS_ETIMEDOUT : 0);
}

/* Decide: finish, or send requests of the given round. */
static void kad_lk_step(struct kad_lookup *lk, unsigned round)
{
	if (lk->done)
		return;
	bool finished = (lk->flags & (LK_EXHAUSTIVE | LK_RANGE)) ? kad_lk_step_window(lk, round)
								 : kad_lk_step_fast(lk, round);
	if (!finished && lk->inflight == 0)
		kad_lk_settle(lk);
}

/* Parse an answer to FIND_NODE / FIND_VALUE. Returns false if malformed. */
static bool kad_lk_absorb(struct kad_lookup *lk, const struct rpc_msg *m)
{
	struct kad *k = lk->kad;
	struct ddns_rbuf r;
	ddns_rbuf_init(&r, m->payload, m->len);
	if (m->type == KAD_VALUE) {
		if (!(lk->flags & LK_WANT_VALUE))
			return false;
		uint32_t vlen = ddns_rbuf_u32(&r);
		const uint8_t *v = ddns_rbuf_take(&r, vlen);
		if (!v || ddns_rbuf_left(&r) != 0)
			return false;
		lk->value = malloc(vlen ? vlen : 1);
		if (!lk->value)
			return false;
		memcpy(lk->value, v, vlen);
		lk->value_len = vlen;
		lk->value_found = true;
		return true;
	}
	if (m->type != KAD_NODES)
		return false;
	unsigned n = ddns_rbuf_u8(&r);
	if (r.err || n > KAD_MAX_REFS)
		return false;
	for (unsigned i = 0; i < n; i++) {
		struct ovl_node nd;
		if (!ovl_node_read_via(lk->kad->o, &r, &nd))
			return false;
		if (i >= kad_lk_window(lk))
			continue; /* more than we asked for: ignore the rest */
		if (ovl_id_eq(nd.id, k->o->self.id))
			continue;
		kad_cand_add(lk, &nd, CS_NEW, false);
	}
	return ddns_rbuf_left(&r) == 0;
}

/* A request went unanswered after every retransmission. */
static void kad_req_failed(struct kad_lookup *lk, const struct ovl_node *to, unsigned round)
{
	int ci = kad_cand_find(lk, to->id);
	lk->timeouts++;
	if (ci >= 0)
		lk->c[ci].st = CS_FAILED;
	kad_contact_failed(lk->kad, to);
	kad_lk_step(lk, round + 1);
}

/* A request was answered: learn the node, take its references or value. */
static void kad_req_answered(struct kad_lookup *lk, const struct ovl_node *from, unsigned round,
			     const struct rpc_msg *reply)
{
	int ci = kad_cand_find(lk, from->id);
	lk->answered++;
	if (lk->path_len < OVL_MAX_PATH)
		lk->path[lk->path_len++] = *from;
	if (ci >= 0)
		lk->c[ci].st = CS_ANSWERED;
	kad_learn(lk->kad, from, reply->rtt_us ? reply->rtt_us : 1);
	/* A malformed answer still proves the node alive; it just teaches
	 * us nothing (input from the network is never an assertion). */
	(void)kad_lk_absorb(lk, reply);
	if (lk->value_found) {
		lk->value_from = *from;
		kad_lk_finish(lk, 0);
		return;
	}
	kad_lk_step(lk, round + 1);
}

/* The RPC layer's outcome of a lookup request: count it, forget the
 * request, then the answer or the failure moves the lookup on. */
static void kad_req_done(void *arg, const struct rpc_outcome *out)
{
	struct kad_req *rq = arg;
	struct kad_lookup *lk = rq->lk;
	unsigned round = rq->round;
	struct ovl_node to = rq->to;
	lk->retransmits += out->retransmits;
	lk->stalled -= rq->stalled;
	kad_req_unlink(lk, rq);
	free(rq);
	lk->inflight--;
	if (round > lk->hops)
		lk->hops = round;
	if (out->status != 0 || !out->reply)
		kad_req_failed(lk, &to, round);
	else
		kad_req_answered(lk, &to, round, out->reply);
}

static void kad_touch_range(struct kad *k, const uint8_t key[DDNS_ID_LEN])
{
	unsigned row, col;
	if (kad_slot(k, key, &row, &col))
		k->lookup_us[row][col] = kad_now(k);
}

static struct kad_lookup *kad_lk_new(struct kad *k, const uint8_t key[DDNS_ID_LEN],
				     unsigned flags)
{
	struct kad_lookup *lk = calloc(1, sizeof(*lk));
	if (!lk)
		return NULL;
	lk->kad = k;
	memcpy(lk->key, key, DDNS_ID_LEN);
	lk->flags = flags;
	lk->nrep = k->o->p.replicas;
	return lk;
}

/* Seed the shortlist and start. */
static void kad_lk_start(struct kad_lookup *lk)
{
	struct kad *k = lk->kad;
	struct ovl_node seed[KAD_SHORT_MAX];
	size_t want = lk->spread > k->k ? lk->spread : k->k;
	size_t n = kad_closest(k, lk->key, NULL, seed, want < KAD_SHORT_MAX ? want : KAD_SHORT_MAX);
	for (size_t i = 0; i < n; i++)
		kad_cand_add(lk, &seed[i], CS_NEW, false);
	if (!(lk->flags & LK_EXCLUDE_SELF))
		kad_cand_add(lk, &k->o->self, CS_ANSWERED, true);
	kad_touch_range(k, lk->key);
	lk->next = k->lookups;
	if (k->lookups)
		k->lookups->prev = lk;
	k->lookups = lk;
	lk->starting = true;
	if (lk->value_found)
		kad_lk_finish(lk, 0);
	else
		kad_lk_step(lk, 1);
	lk->starting = false;
}

static void kad_maint_lookup(struct kad *k, const uint8_t key[DDNS_ID_LEN], unsigned flags)
{
	struct kad_lookup *lk = kad_lk_new(k, key, flags);
	if (lk)
		kad_lk_start(lk);
}

static void kad_refresh_bucket(struct kad *k, unsigned row, unsigned col)
{
	uint8_t id[DDNS_ID_LEN];
	for (unsigned i = 0; i < DDNS_ID_LEN; i += 8) {
		uint64_t v = tr_random(k->tr);
		for (unsigned j = 0; j < 8 && i + j < DDNS_ID_LEN; j++)
			id[i + j] = (uint8_t)(v >> (8 * j));
	}
	for (unsigned d = 0; d < row; d++)
		kad_id_set_digit(id, d, ovl_id_digit(k->o->self.id, d));
	kad_id_set_digit(id, row, col);
	struct kad_lookup *lk = kad_lk_new(k, id, LK_EXCLUDE_SELF | LK_RANGE);
	if (!lk)
		return;
	lk->range_digits = row + 1;
	kad_lk_start(lk);
}

/* Look our own neighbourhood up: every one of the near_cap closest live
 * nodes answers (and so learns us), and we learn each of them. */
static void kad_near_refresh(struct kad *k)
{
	if (k->left)
		return;
	k->near_refresh_us = kad_now(k);
	kad_maint_lookup(k, k->o->self.id, LK_EXCLUDE_SELF | LK_EXHAUSTIVE | LK_NEAR);
}

static void kad_near_kick_cb(void *arg)
{
	struct kad *k = arg;
	k->near_kick = NULL;
	kad_near_refresh(k);
}

static uint64_t kad_jitter(struct kad *k, uint64_t period);

/* Near-set liveness: ping every near contact not heard from in near_us
 * (a failed ping drops it, see kad_contact_failed); a near refresh every
 * refresh period. */
static void kad_near_tick_cb(void *arg)
{
	struct kad *k = arg;
	k->near_tick = NULL;
	if (k->left)
		return;
	uint64_t now = kad_now(k);
	struct ovl_node todo[KAD_NEAR_MAX];
	size_t nt = 0;
	for (unsigned i = 0; i < k->nnearc; i++)
		if (now - k->nearc[i].seen_us >= k->near_us)
			todo[nt++] = k->nearc[i].n;
	for (size_t i = 0; i < nt; i++)
		kad_ping(k, &todo[i]);
	if (now - k->near_refresh_us >= k->refresh_us)
		kad_near_refresh(k);
	k->near_tick = tr_timer_add(k->tr, kad_jitter(k, k->near_us), 0, kad_near_tick_cb, k);
}

/* ------------------------------------------------------------------ */
/* Serving requests */

static void kad_reply_nodes(struct kad *k, const struct rpc_msg *req,
			    const uint8_t target[DDNS_ID_LEN], unsigned count)
{
	struct ovl_node best[KAD_MAX_K];
	if (count > KAD_MAX_K)
		count = KAD_MAX_K;
	size_t n = kad_closest(k, target, req->sender_id, best, count);
	uint8_t buf[1 + KAD_MAX_K * 24];
	struct ddns_wbuf w;
	ddns_wbuf_init_fixed(&w, buf, sizeof(buf));
	ddns_wbuf_u8(&w, (uint8_t)n);
	for (size_t i = 0; i < n; i++)
		ovl_node_write(&w, &best[i]);
	if (!w.err)
		(void)rpc_reply(k->rpc, req, KAD_NODES, buf, w.len);
}

static void kad_on_request(void *arg, const struct rpc_msg *req)
{
	struct kad *k = arg;
	struct ovl *o = k->o;
	struct ovl_node sender;
	ovl_node_sender(&sender, req);
	struct ddns_rbuf r;
	ddns_rbuf_init(&r, req->payload, req->len);
	switch (req->type) {
	case KAD_PING:
		(void)rpc_reply(k->rpc, req, KAD_PONG, NULL, 0);
		break;
	case KAD_FIND_NODE: {
		uint8_t target[DDNS_ID_LEN];
		ddns_rbuf_copy(&r, target, DDNS_ID_LEN);
		unsigned count = ddns_rbuf_u8(&r);
		if (r.err || ddns_rbuf_left(&r) != 0)
			return; /* malformed: drop */
		kad_reply_nodes(k, req, target, count);
		break;
	}
	case KAD_FIND_VALUE: {
		uint8_t key[DDNS_ID_LEN];
		ddns_rbuf_copy(&r, key, DDNS_ID_LEN);
		unsigned count = ddns_rbuf_u8(&r);
		unsigned plen = ddns_rbuf_u16(&r);
		const uint8_t *probe = ddns_rbuf_take(&r, plen);
		if (r.err || ddns_rbuf_left(&r) != 0)
			return;
		const uint8_t *val = NULL;
		size_t vlen = 0;
		bool sent = false;
		if (ovl_local_value(o, key, probe, plen, &val, &vlen) &&
		    vlen <= RPC_MAX_PAYLOAD - 64) {
			uint8_t *buf = malloc(4 + vlen);
			if (buf) {
				ddns_put_u32(buf, (uint32_t)vlen);
				if (vlen)
					memcpy(buf + 4, val, vlen);
				sent = rpc_reply(k->rpc, req, KAD_VALUE, buf, 4 + vlen) == 0;
				free(buf);
			}
		}
		if (!sent)
			kad_reply_nodes(k, req, key, count);
		break;
	}
	default:
		return; /* unknown request: no answer, no learning */
	}
	o->stats.requests_served++;
	kad_learn(k, &sender, 0);
}

/* ------------------------------------------------------------------ */
/* Maintenance */

static uint64_t kad_jitter(struct kad *k, uint64_t period)
{
	/* Uniform in [3/4, 5/4) of the period, so nodes do not tick in step. */
	if (period < 4)
		return period ? period : 1;
	return period - period / 4 + tr_random_below(k->tr, period / 2);
}

static void kad_tick(void *arg)
{
	struct kad *k = arg;
	k->tick = NULL;
	if (k->left)
		return;
	uint64_t now = kad_now(k);
	int deepest = kad_deepest_row(k);
	if (deepest < 0 && k->have_boot) {
		/* Lost everyone (or never got in): join again. */
		struct ovl_node bn;
		ovl_node_make(&bn, &k->boot, 0);
		kad_learn(k, &bn, 0);
		struct kad_contact *c = kad_contact_find(k, bn.id);
		if (c)
			c->fails = 0;
		kad_maint_lookup(k, k->o->self.id, LK_EXCLUDE_SELF | LK_EXHAUSTIVE | LK_JOIN);
	}
	for (int r = 0; r <= deepest; r++)
		for (unsigned c = 0; c < KAD_COLS; c++) {
			if (c == ovl_id_digit(k->o->self.id, (unsigned)r))
				continue;
			struct kad_bucket *b = k->b[r][c];
			if (now - k->lookup_us[r][c] < k->refresh_us)
				continue;
			/* Liveness by use: a full bucket we heard from lately
			 * needs nothing. A bucket with room is explored again:
			 * a newcomer in its range need not have contacted us. */
			if (b && b->n == k->k && now - b->heard_us < k->refresh_us)
				continue;
			kad_refresh_bucket(k, (unsigned)r, c);
		}
	/* Suspects get a ping; with PNS, unmeasured contacts and cache
	 * entries of full buckets get one too. */
	for (unsigned r = 0; r < KAD_ROWS; r++)
		for (unsigned c = 0; c < KAD_COLS; c++) {
			struct kad_bucket *b = k->b[r][c];
			if (!b)
				continue;
			struct ovl_node todo[2 * KAD_MAX_K];
			size_t nt = 0;
			for (unsigned i = 0; i < b->n; i++)
				if ((b->c[i].fails || (k->o->p.pns && !b->c[i].rtt_us)) &&
				    !b->c[i].pinging)
					todo[nt++] = b->c[i].n;
			if (k->o->p.pns && b->n == k->k) {
				struct kad_contact *rc = kad_cache(k, b);
				for (unsigned i = 0; i < b->nrep; i++)
					if (!rc[i].rtt_us)
						todo[nt++] = rc[i].n;
			}
			for (size_t i = 0; i < nt; i++)
				kad_ping(k, &todo[i]);
		}
	k->tick = tr_timer_add(k->tr, kad_jitter(k, k->refresh_us), 0, kad_tick, k);
}

/* ------------------------------------------------------------------ */
/* Backend operations */

static int kad_create(struct ovl *o)
{
	struct kad *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->o = o;
	k->tr = o->tr;
	k->rpc = o->rpc;
	k->k = o->p.k ? o->p.k : 8;
	if (k->k > KAD_MAX_K)
		k->k = KAD_MAX_K;
	k->alpha = o->p.alpha ? o->p.alpha : 3;
	if (k->alpha > KAD_MAX_ALPHA)
		k->alpha = KAD_MAX_ALPHA;
	k->refresh_us = o->p.refresh_us ? o->p.refresh_us : 60000000;
	k->ping_age_us = k->refresh_us / 2;
	k->near_us = k->refresh_us / 6 ? k->refresh_us / 6 : 1;
	unsigned r2 = 2 * (o->p.replicas ? o->p.replicas : 6);
	k->near_cap = 2 * k->k > r2 ? 2 * k->k : r2;
	if (k->near_cap > KAD_NEAR_MAX)
		k->near_cap = KAD_NEAR_MAX;
	uint64_t now = tr_now_us(k->tr);
	for (unsigned r = 0; r < KAD_ROWS; r++)
		for (unsigned c = 0; c < KAD_COLS; c++)
			k->lookup_us[r][c] = now;
	int err = rpc_register(o->rpc, RPC_OVL_KAD16, RPC_SVC_OVERLAY, o->p.vnode, kad_on_request, k);
	if (err) {
		free(k);
		return err;
	}
	k->registered = true;
	o->impl = k;
	return 0;
}

static void kad_stop(struct kad *k)
{
	tr_timer_cancel(k->tr, k->tick);
	k->tick = NULL;
	tr_timer_cancel(k->tr, k->near_tick);
	tr_timer_cancel(k->tr, k->near_kick);
	k->near_tick = k->near_kick = NULL;
	while (k->pings) {
		struct kad_ping *p = k->pings;
		k->pings = p->next;
		rpc_cancel(k->rpc, p->handle);
		free(p);
	}
}

static void kad_destroy(struct ovl *o)
{
	struct kad *k = o->impl;
	if (!k)
		return;
	k->left = true;
	kad_stop(k);
	if (k->registered)
		rpc_unregister(o->rpc, RPC_OVL_KAD16, RPC_SVC_OVERLAY, o->p.vnode);
	while (k->lookups) {
		struct kad_lookup *lk = k->lookups;
		tr_timer_cancel(k->tr, lk->defer);
		lk->defer = NULL;
		lk->starting = false;
		if (!lk->done) {
			kad_lk_finish(lk, DDNS_ECANCELLED);
		} else {
			lk->status = DDNS_ECANCELLED;
			kad_lk_unlink(lk);
			kad_lk_complete(lk);
		}
	}
	for (unsigned r = 0; r < KAD_ROWS; r++)
		for (unsigned c = 0; c < KAD_COLS; c++)
			free(k->b[r][c]);
	free(k);
	o->impl = NULL;
}

static int kad_join(struct ovl *o, const struct tr_addr *bootstrap)
{
	struct kad *k = o->impl;
	k->left = false;
	if (bootstrap) {
		k->boot = *bootstrap;
		k->have_boot = true;
		struct ovl_node bn;
		ovl_node_make(&bn, bootstrap, 0);
		if (!ovl_id_eq(bn.id, o->self.id)) {
			kad_learn(k, &bn, 0);
			kad_maint_lookup(k, o->self.id, LK_EXCLUDE_SELF | LK_EXHAUSTIVE | LK_JOIN);
		}
	}
	if (!k->tick)
		k->tick = tr_timer_add(k->tr, kad_jitter(k, k->refresh_us), 0, kad_tick, k);
	if (!k->near_tick) {
		k->near_refresh_us = kad_now(k);
		k->near_tick = tr_timer_add(k->tr, kad_jitter(k, k->near_us), 0, kad_near_tick_cb, k);
	}
	return k->tick && k->near_tick ? 0 : -ENOMEM;
}

static void kad_leave(struct ovl *o)
{
	struct kad *k = o->impl;
	k->left = true;
	kad_stop(k);
}

static int kad_lookup(struct ovl *o, const uint8_t key[DDNS_ID_LEN],
		      const struct ovl_lookup_opts *opts, ovl_lookup_cb cb, void *arg)
{
	struct kad *k = o->impl;
	unsigned flags = LK_USER | (opts->want_value ? LK_WANT_VALUE : 0);
	struct kad_lookup *lk = kad_lk_new(k, key, flags);
	if (!lk)
		return -ENOMEM;
	lk->cb = cb;
	lk->arg = arg;
	if (opts->nreplicas)
		lk->nrep = opts->nreplicas > OVL_MAX_REPLICAS ? OVL_MAX_REPLICAS : opts->nreplicas;
	if (opts->want_value && opts->spread)
		lk->spread = opts->spread < KAD_SHORT_MAX / 2 ? opts->spread : KAD_SHORT_MAX / 2;
	if (opts->want_value) {
		if (opts->probe_len > KAD_MAX_PROBE) {
			kad_lk_free(lk);
			return DDNS_ETOOBIG;
		}
		if (opts->probe_len) {
			lk->probe = malloc(opts->probe_len);
			if (!lk->probe) {
				kad_lk_free(lk);
				return -ENOMEM;
			}
			memcpy(lk->probe, opts->probe, opts->probe_len);
			lk->probe_len = opts->probe_len;
		}
		const uint8_t *val;
		size_t vlen;
		if (ovl_local_value(o, key, lk->probe, lk->probe_len, &val, &vlen)) {
			/* The hook's buffer only lives until we return to the
			 * event loop, and the report is deferred: copy. */
			lk->value = malloc(vlen ? vlen : 1);
			if (!lk->value) {
				kad_lk_free(lk);
				return -ENOMEM;
			}
			if (vlen)
				memcpy(lk->value, val, vlen);
			lk->value_len = vlen;
			lk->value_found = true;
			lk->value_from = o->self;
		}
	}
	kad_lk_start(lk);
	return 0;
}

static bool kad_responsible(struct ovl *o, const uint8_t key[DDNS_ID_LEN])
{
	struct kad *k = o->impl;
	/* A contact closer to key than self shares at least as many leading
	 * digits with self as key does, so only those rows need a look. */
	for (unsigned i = 0; i < k->nnearc; i++)
		if (!k->nearc[i].fails && ovl_id_xor_closer(key, k->nearc[i].n.id, o->self.id))
			return false;
	unsigned d = ovl_id_common_digits(o->self.id, key);
	for (unsigned r = d; r < KAD_ROWS; r++)
		for (unsigned c = 0; c < KAD_COLS; c++) {
			struct kad_bucket *b = k->b[r][c];
			for (unsigned i = 0; b && i < b->n; i++)
				if (!b->c[i].fails && ovl_id_xor_closer(key, b->c[i].n.id, o->self.id))
					return false;
		}
	return true;
}

static size_t kad_replica_set(struct ovl *o, const uint8_t key[DDNS_ID_LEN], struct ovl_node *out,
			      size_t max)
{
	struct kad *k = o->impl;
	/* Exact while the near set covers the key's neighbourhood (see the
	 * file comment): every contact closer to key than the r-th is in the
	 * near set or a bucket. */
	if (max == 0)
		return 0;
	out[0] = o->self;
	return 1 + kad_closest(k, key, o->self.id, out + 1, max - 1);
}

static void kad_limits(struct ovl *o, struct ovl_stats *out)
{
	const struct kad *k = o->impl;
	/* each bucket: k contacts and k replacements */
	out->routing_max = (uint64_t)KAD_ROWS * KAD_COLS * 2 * k->k + KAD_NEAR_MAX;
	out->lookup_candidates_max = KAD_SHORT_MAX;
	out->refs_per_answer_max = KAD_MAX_REFS;
}

/* The near set holds the contacts closest to self: the farthest of m of
 * them lies at about m / N of the ring (itself counted, m + 1 nodes). */
static uint64_t kad_size_estimate(struct ovl *o)
{
	const struct kad *k = o->impl;
	if (k->nnearc == 0)
		return 1;
	uint8_t d[DDNS_ID_LEN];
	ovl_id_xor(k->nearc[k->nnearc - 1].n.id, o->self.id, d);
	return ovl_density_estimate(k->nnearc, d);
}

static size_t kad_routing_nodes(struct ovl *o, struct ovl_node *out, size_t max)
{
	struct kad *k = o->impl;
	size_t n = 0;
	for (unsigned r = 0; r < KAD_ROWS; r++)
		for (unsigned c = 0; c < KAD_COLS; c++) {
			struct kad_bucket *b = k->b[r][c];
			for (unsigned i = 0; b && i < b->n && n < max; i++)
				out[n++] = b->c[i].n;
		}
	for (unsigned i = 0; i < k->nnearc && n < max; i++) {
		bool dup = false;
		for (size_t j = 0; j < n && !dup; j++)
			dup = ovl_id_eq(out[j].id, k->nearc[i].n.id);
		if (!dup)
			out[n++] = k->nearc[i].n;
	}
	return n;
}

const struct ovl_ops kad16_ops = {
	.name = "kad16",
	.wire_id = RPC_OVL_KAD16,
	.create = kad_create,
	.destroy = kad_destroy,
	.join = kad_join,
	.leave = kad_leave,
	.lookup = kad_lookup,
	.responsible = kad_responsible,
	.replica_set = kad_replica_set,
	.routing_nodes = kad_routing_nodes,
	.limits = kad_limits,
	.size_estimate = kad_size_estimate,
};
