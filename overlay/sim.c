/*
 * sim.c - the deterministic discrete-event network simulator (see sim.h).
 *
 * Structure:
 *  - A binary min-heap of 24-byte entries (time, key, pointer) is the event
 *    queue. key = sequence number << 1 | kind, so entries compare by
 *    (time, sequence): equal times pop in the order they were pushed, which
 *    is what makes a run replay bit for bit. kind says whether the pointer
 *    is a datagram (struct sim_pkt) or a timer (struct tr_timer).
 *  - A datagram in flight is a small header plus a copy of the payload. It
 *    names its destination by node index, not pointer, so a node freed while
 *    datagrams are in flight to it leaves nothing dangling.
 *  - Datagrams and timers are made and dropped tens of millions of times in
 *    a large run, so spent ones wait on free lists (datagrams by size class)
 *    for reuse instead of going back to malloc; the lists are bounded.
 *  - A timer knows its heap slot (heap_idx), so tr_timer_cancel removes it
 *    from the queue at once (O(log n)) and frees it: cancelled timers never
 *    pile up in the queue.
 *  - Nodes live in an array indexed by node index (NULL once freed) and in a
 *    uthash table keyed by a normalised address, so lookup by address is
 *    O(1).
 *
 * Crash semantics (the choice sim.h leaves to us): when a node crashes, its
 * pending timers are taken off the queue but NOT freed - protocol code that
 * still holds a handle may cancel it afterwards (cli/simnet.c crashes a node
 * and then frees its overlay, which cancels its timers). Such "dormant"
 * timers never fire again, even after a restart; tr_timer_cancel frees them,
 * and so do tr_free and sim_free. Likewise timer_add on a crashed node
 * returns a real, dormant handle that never fires (never NULL unless out of
 * memory), so callers need no special case. A crashed node's sends are
 * silently dropped (not counted in the stats); datagrams that arrive at a
 * crashed node, at a freed node, or at an address with no node count as
 * datagrams_to_dead.
 *
 * This file is exempt from the purity rule (it may keep its own state), but
 * it still never reads the wall clock or the system's random source.
 */
#include "overlay/sim.h"
#include "common/buf.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

/* ---- event queue ---------------------------------------------------- */

enum { EV_PKT = 0, EV_TIMER = 1 };

struct sim_ev {
	uint64_t time;
	uint64_t key; /* seq << 1 | kind */
	void *p;
};

/* A datagram in flight. */
struct sim_pkt {
	struct tr_addr from;
	uint32_t src, dst; /* node indices */
	uint32_t len;
	uint8_t cls; /* size class (PKT_CLASSES: plain malloc) */
	uint8_t data[];
};

/* Payload capacity of each size class; bigger datagrams are malloc'd. */
static const uint32_t pkt_class_cap[] = {192, 640, 2048};
#define PKT_CLASSES (sizeof(pkt_class_cap) / sizeof(pkt_class_cap[0]))
/* Spent objects kept per free list. None under AddressSanitizer, so that a
 * use after free of a datagram or timer is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define POOL_MAX 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_MAX 0
#endif
#endif
#ifndef POOL_MAX
#define POOL_MAX 65536
#endif

/* Spent objects of one size, linked through their first bytes. */
struct freelist {
	void *head;
	size_t n;
};

enum tm_state {
	TM_QUEUED,  /* in the heap at heap_idx */
	TM_FIRING,  /* its callback is running */
	TM_DORMANT, /* owner node crashed: never fires, waits for cancel/free */
};

struct tr_timer {
	struct tr_timer *prev, *next; /* the owner node's list */
	tr_timer_cb cb;
	void *arg;
	uint64_t period_us;
	uint32_t heap_idx;
	uint32_t node;
	uint8_t state;
	bool cancelled; /* cancelled (or node freed) while firing */
	bool orphan;    /* owner node freed while firing: not on any list */
	bool crashed;   /* owner crashed while firing: go dormant afterwards */
};

/* ---- nodes and the world --------------------------------------------- */

#define ADDR_KEY_LEN 19 /* family, 16 address bytes, port (big-endian) */

struct sim_node {
	struct tr tr; /* first: a struct tr * is a struct sim_node * */
	struct sim *sim;
	uint32_t index;
	bool alive;
	struct ddns_rng rng;
	struct tr_timer *timers; /* every timer owned by this node */
	uint8_t key[ADDR_KEY_LEN];
	UT_hash_handle hh;
};

struct sim {
	uint64_t now;
	uint64_t seq;
	uint64_t seed;
	double loss;
	struct sim_faults faults;
	size_t mtu;
	sim_tap_cb tap;
	void *tap_arg;
	struct sim_latency *latency;     /* borrowed, or own_latency */
	struct sim_latency *own_latency; /* the default model, ours to free */
	struct ddns_rng rng;             /* world PRNG: loss, latency draws, drivers */
	uint64_t trace;

	struct sim_ev *heap;
	size_t heap_len, heap_cap;

	struct freelist pkt_free[PKT_CLASSES]; /* datagrams by size class */
	struct freelist timer_free;

	struct sim_node **nodes; /* by index; NULL once freed */
	size_t nodes_len, nodes_cap;
	struct sim_node *by_addr; /* uthash head */
	size_t live_nodes;        /* not freed (crashed ones included) */

	struct sim_stats st;
};

static const struct tr_ops sim_tr_ops;

/* splitmix64's finaliser: a good 64-bit mixer. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void trace_add(struct sim *s, uint64_t v)
{
	s->trace = mix64(s->trace ^ v) + 0x9e3779b97f4a7c15ULL;
}

static void trace_bytes(struct sim *s, const uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		trace_add(s, w);
		p += 8;
		n -= 8;
	}
	uint64_t w = 0;
	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)p[i] << (8 * i);
	trace_add(s, w ^ ((uint64_t)n << 56));
}

static void addr_key(const struct tr_addr *a, uint8_t key[ADDR_KEY_LEN])
{
	memset(key, 0, ADDR_KEY_LEN);
	key[0] = a->family;
	memcpy(key + 1, a->ip, a->family == TR_AF_INET ? 4 : 16);
	ddns_put_u16(key + 17, a->port);
}

static struct sim_node *node_of(struct tr *t)
{
	assert(t->ops == &sim_tr_ops);
	return (struct sim_node *)t;
}

static const struct sim_node *node_of_c(const struct tr *t)
{
	assert(t->ops == &sim_tr_ops);
	return (const struct sim_node *)t;
}

/* ---- heap ------------------------------------------------------------ */

static inline bool ev_less(const struct sim_ev *a, const struct sim_ev *b)
{
	return a->time < b->time || (a->time == b->time && a->key < b->key);
}

/* Put e at slot i, keeping a timer's back-pointer right. */
static inline void heap_set(struct sim *s, size_t i, struct sim_ev e)
{
	s->heap[i] = e;
	if ((e.key & 1) == EV_TIMER)
		((struct tr_timer *)e.p)->heap_idx = (uint32_t)i;
}

static void heap_up(struct sim *s, size_t i)
{
	struct sim_ev e = s->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!ev_less(&e, &s->heap[parent]))
			break;
		heap_set(s, i, s->heap[parent]);
		i = parent;
	}
	heap_set(s, i, e);
}

static void heap_down(struct sim *s, size_t i)
{
	struct sim_ev e = s->heap[i];
	size_t n = s->heap_len;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && ev_less(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!ev_less(&s->heap[c], &e))
			break;
		heap_set(s, i, s->heap[c]);
		i = c;
	}
	heap_set(s, i, e);
}

/* Returns 0 or -ENOMEM. */
static int heap_push(struct sim *s, uint64_t time, int kind, void *p)
{
	if (s->heap_len == s->heap_cap) {
		size_t cap = s->heap_cap ? 2 * s->heap_cap : 1024;
		if (cap > UINT32_MAX)
			return -ENOMEM; /* heap_idx is 32 bits */
		struct sim_ev *h = realloc(s->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		s->heap = h;
		s->heap_cap = cap;
	}
	struct sim_ev e = {.time = time, .key = (s->seq++ << 1) | (uint64_t)kind, .p = p};
	s->heap[s->heap_len++] = e;
	heap_up(s, s->heap_len - 1);
	if (s->heap_len > s->st.queue_peak)
		s->st.queue_peak = s->heap_len;
	return 0;
}

/* Remove the entry at slot i. */
static void heap_remove(struct sim *s, size_t i)
{
	assert(i < s->heap_len);
	s->heap_len--;
	if (i == s->heap_len)
		return;
	struct sim_ev last = s->heap[s->heap_len];
	heap_set(s, i, last);
	if (i > 0 && ev_less(&last, &s->heap[(i - 1) / 2]))
		heap_up(s, i);
	else
		heap_down(s, i);
}

/* ---- free lists ------------------------------------------------------ */

static void *fl_pop(struct freelist *f)
{
	void *o = f->head;
	if (o) {
		memcpy(&f->head, o, sizeof(f->head));
		f->n--;
	}
	return o;
}

/* Keep o for reuse, or free it when the list is full. (n + 1 > POOL_MAX:
 * no always-true comparison when POOL_MAX is 0.) */
static void fl_push(struct freelist *f, void *o)
{
	if (f->n + 1 > POOL_MAX) {
		free(o);
		return;
	}
	memcpy(o, &f->head, sizeof(f->head));
	f->head = o;
	f->n++;
}

static void fl_clear(struct freelist *f)
{
	void *o;
	while ((o = fl_pop(f)))
		free(o);
}

static struct sim_pkt *pkt_new(struct sim *s, size_t len)
{
	unsigned c = 0;
	while (c < PKT_CLASSES && len > pkt_class_cap[c])
		c++;
	struct sim_pkt *p = c < PKT_CLASSES ? fl_pop(&s->pkt_free[c]) : NULL;
	if (!p && !(p = malloc(sizeof(*p) + (c < PKT_CLASSES ? pkt_class_cap[c] : len))))
		return NULL;
	p->cls = (uint8_t)c;
	return p;
}

static void pkt_drop(struct sim *s, struct sim_pkt *p)
{
	if (p->cls < PKT_CLASSES)
		fl_push(&s->pkt_free[p->cls], p);
	else
		free(p);
}

static struct tr_timer *timer_new(struct sim *s)
{
	struct tr_timer *tm = fl_pop(&s->timer_free);
	if (!tm)
		return calloc(1, sizeof(*tm));
	memset(tm, 0, sizeof(*tm));
	return tm;
}

static void timer_drop(struct sim *s, struct tr_timer *tm) { fl_push(&s->timer_free, tm); }

/* ---- timers ---------------------------------------------------------- */

static void timer_link(struct sim_node *n, struct tr_timer *tm)
{
	tm->prev = NULL;
	tm->next = n->timers;
	if (n->timers)
		n->timers->prev = tm;
	n->timers = tm;
}

static void timer_unlink(struct sim_node *n, struct tr_timer *tm)
{
	if (tm->prev)
		tm->prev->next = tm->next;
	else
		n->timers = tm->next;
	if (tm->next)
		tm->next->prev = tm->prev;
	tm->prev = tm->next = NULL;
}

static struct tr_timer *sim_timer_add(struct tr *t, uint64_t delay_us, uint64_t period_us,
				      tr_timer_cb cb, void *arg)
{
	struct sim_node *n = node_of(t);
	struct sim *s = n->sim;
	struct tr_timer *tm = timer_new(s);
	if (!tm)
		return NULL;
	tm->cb = cb;
	tm->arg = arg;
	tm->period_us = period_us;
	tm->node = n->index;
	if (!n->alive) {
		tm->state = TM_DORMANT; /* a crashed node's timers never fire */
	} else {
		uint64_t at = s->now + delay_us;
		if (at < s->now)
			at = UINT64_MAX; /* saturate: "never" */
		if (heap_push(s, at, EV_TIMER, tm) != 0) {
			timer_drop(s, tm);
			return NULL;
		}
		tm->state = TM_QUEUED;
	}
	timer_link(n, tm);
	return tm;
}

static void sim_timer_cancel(struct tr *t, struct tr_timer *tm)
{
	(void)t; /* the timer knows its owner */
	if (!tm)
		return;
	struct sim_node *n = node_of(t)->sim->nodes[tm->node];
	switch (tm->state) {
	case TM_FIRING:
		tm->cancelled = true; /* freed when its callback returns */
		return;
	case TM_QUEUED:
		heap_remove(n->sim, tm->heap_idx);
		break;
	case TM_DORMANT:
		break;
	}
	timer_unlink(n, tm);
	timer_drop(n->sim, tm);
}

/* Take every timer of n off the queue; free them when `free_all`, else keep
 * them dormant (crash). A timer whose callback is running is flagged and left
 * to the dispatcher. */
static void node_timers_stop(struct sim_node *n, bool free_all)
{
	struct sim *s = n->sim;
	struct tr_timer *tm = n->timers, *next;
	for (; tm; tm = next) {
		next = tm->next;
		if (tm->state == TM_QUEUED)
			heap_remove(s, tm->heap_idx);
		if (tm->state == TM_FIRING) {
			if (free_all) {
				tm->cancelled = true;
				tm->orphan = true;
				tm->prev = tm->next = NULL;
			} else {
				tm->crashed = true;
			}
			continue;
		}
		if (free_all)
			timer_drop(s, tm);
		else
			tm->state = TM_DORMANT;
	}
	if (free_all)
		n->timers = NULL;
}

/* ---- transport ops --------------------------------------------------- */

static int sim_send(struct tr *t, const struct tr_addr *to, const uint8_t *data, size_t len)
{
	struct sim_node *n = node_of(t);
	struct sim *s = n->sim;
	if (len > t->mtu)
		return -EMSGSIZE;
	if (!n->alive)
		return 0; /* a crashed node says nothing */
	s->st.datagrams_sent++;
	s->st.bytes_sent += len;
	if (s->tap)
		s->tap(s->tap_arg, t, to, data, len);

	uint8_t key[ADDR_KEY_LEN];
	struct sim_node *d;
	addr_key(to, key);
	HASH_FIND(hh, s->by_addr, key, ADDR_KEY_LEN, d);
	if (!d) {
		s->st.datagrams_to_dead++; /* nobody at that address */
		return 0;
	}
	if (s->loss > 0 && ddns_rng_double(&s->rng) < s->loss) {
		s->st.datagrams_lost++;
		return 0;
	}
	uint64_t delay = s->latency->one_way_us(s->latency->arg, n->index, d->index, &s->rng);
	const struct sim_faults *f = &s->faults;
	if (f->spike > 0 && ddns_rng_double(&s->rng) < f->spike) {
		delay += f->spike_us;
		s->st.datagrams_spiked++;
	}
	if (f->reorder > 0 && ddns_rng_double(&s->rng) < f->reorder) {
		delay += (uint64_t)(ddns_rng_double(&s->rng) * (double)f->reorder_us);
		s->st.datagrams_reordered++;
	}
	int copies = 1;
	uint64_t again = 0;
	if (f->dup > 0 && ddns_rng_double(&s->rng) < f->dup) {
		copies = 2;
		again = (uint64_t)(ddns_rng_double(&s->rng) * (double)delay);
		s->st.datagrams_duplicated++;
	}
	for (int c = 0; c < copies; c++) {
		struct sim_pkt *p = pkt_new(s, len);
		if (!p)
			return -ENOMEM;
		p->from = t->self;
		p->src = n->index;
		p->dst = d->index;
		p->len = (uint32_t)len;
		if (len)
			memcpy(p->data, data, len);
		uint64_t at = s->now + delay + (c ? again : 0);
		if (at < s->now)
			at = UINT64_MAX;
		if (heap_push(s, at, EV_PKT, p) != 0) {
			pkt_drop(s, p);
			return -ENOMEM;
		}
	}
	return 0;
}

static uint64_t sim_tr_now(struct tr *t) { return node_of(t)->sim->now; }

static uint64_t sim_tr_random(struct tr *t) { return ddns_rng_next(&node_of(t)->rng); }

static void sim_tr_free(struct tr *t)
{
	struct sim_node *n = node_of(t);
	struct sim *s = n->sim;
	node_timers_stop(n, true);
	HASH_DEL(s->by_addr, n);
	s->nodes[n->index] = NULL;
	s->live_nodes--;
	free(n);
}

static const struct tr_ops sim_tr_ops = {
	.name = "sim",
	.send = sim_send,
	.now_us = sim_tr_now,
	.timer_add = sim_timer_add,
	.timer_cancel = sim_timer_cancel,
	.random = sim_tr_random,
	.free = sim_tr_free,
};

/* ---- the world ------------------------------------------------------- */

void sim_params_default(struct sim_params *p)
{
	memset(p, 0, sizeof(*p));
	p->seed = 1;
	p->loss = 0;
	p->latency = NULL;
	p->mtu = 65507;
}

struct sim *sim_new(const struct sim_params *p)
{
	struct sim_params def;
	if (!p) {
		sim_params_default(&def);
		p = &def;
	}
	struct sim *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->seed = p->seed;
	s->loss = p->loss;
	sim_set_faults(s, &p->faults);
	s->mtu = p->mtu ? p->mtu : 65507;
	s->latency = p->latency;
	if (!s->latency) {
		s->own_latency = sim_latency_constant(10000);
		if (!s->own_latency) {
			free(s);
			return NULL;
		}
		s->latency = s->own_latency;
	}
	ddns_rng_seed(&s->rng, p->seed);
	s->trace = mix64(p->seed ^ 0x73696d7472616365ULL);
	return s;
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->heap_len; i++)
		if ((s->heap[i].key & 1) == EV_PKT)
			free(s->heap[i].p);
	s->heap_len = 0; /* timers are freed through their nodes */
	HASH_CLEAR(hh, s->by_addr); /* before the nodes that hold the table */
	for (size_t i = 0; i < s->nodes_len; i++) {
		struct sim_node *n = s->nodes[i];
		if (!n)
			continue;
		struct tr_timer *tm = n->timers, *next;
		for (; tm; tm = next) {
			next = tm->next;
			free(tm);
		}
		free(n);
	}
	for (size_t c = 0; c < PKT_CLASSES; c++)
		fl_clear(&s->pkt_free[c]);
	fl_clear(&s->timer_free);
	free(s->nodes);
	free(s->heap);
	sim_latency_free(s->own_latency);
	free(s);
}

struct tr *sim_node_add(struct sim *s, const struct tr_addr *addr)
{
	uint8_t key[ADDR_KEY_LEN];
	struct sim_node *n;
	addr_key(addr, key);
	HASH_FIND(hh, s->by_addr, key, ADDR_KEY_LEN, n);
	if (n)
		return NULL; /* duplicate address */
	if (s->nodes_len >= UINT32_MAX)
		return NULL;
	if (s->nodes_len == s->nodes_cap) {
		size_t cap = s->nodes_cap ? 2 * s->nodes_cap : 64;
		struct sim_node **v = realloc(s->nodes, cap * sizeof(*v));
		if (!v)
			return NULL;
		s->nodes = v;
		s->nodes_cap = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->tr.ops = &sim_tr_ops;
	n->tr.self = *addr;
	n->tr.mtu = s->mtu;
	n->sim = s;
	n->index = (uint32_t)s->nodes_len;
	n->alive = true;
	/* Each node's stream depends only on (seed, index): adding nodes or
	 * drawing on one node never shifts another node's randomness. */
	ddns_rng_seed(&n->rng, mix64(s->seed ^ mix64(0x6e6f6465ULL + n->index)));
	memcpy(n->key, key, ADDR_KEY_LEN);
	HASH_ADD(hh, s->by_addr, key, ADDR_KEY_LEN, n);
	s->nodes[s->nodes_len++] = n;
	s->live_nodes++;
	return &n->tr;
}

uint32_t sim_node_index(const struct tr *t) { return node_of_c(t)->index; }

void sim_node_crash(struct tr *t)
{
	struct sim_node *n = node_of(t);
	if (!n->alive)
		return;
	n->alive = false;
	node_timers_stop(n, false);
}

void sim_node_restart(struct tr *t) { node_of(t)->alive = true; }

bool sim_node_alive(const struct tr *t) { return node_of_c(t)->alive; }

uint64_t sim_now_us(const struct sim *s) { return s->now; }

struct ddns_rng *sim_rng(struct sim *s) { return &s->rng; }

uint64_t sim_trace_hash(const struct sim *s) { return s->trace; }

void sim_get_stats(const struct sim *s, struct sim_stats *out)
{
	*out = s->st;
	out->nodes = s->live_nodes;
	out->queue_len = s->heap_len;
}

static void run_pkt(struct sim *s, struct sim_pkt *p)
{
	struct sim_node *d = p->dst < s->nodes_len ? s->nodes[p->dst] : NULL;
	trace_add(s, ((uint64_t)p->src << 32) | p->dst);
	trace_bytes(s, p->data, p->len);
	if (!d || !d->alive) {
		s->st.datagrams_to_dead++;
	} else {
		s->st.datagrams_delivered++;
		/* d may be freed by the callback: do not touch it afterwards */
		if (d->tr.recv)
			d->tr.recv(d->tr.recv_arg, &p->from, p->data, p->len);
	}
	pkt_drop(s, p);
}

static void run_timer(struct sim *s, struct tr_timer *tm)
{
	trace_add(s, tm->node);
	tm->state = TM_FIRING;
	s->st.timers_fired++;
	tm->cb(tm->arg);
	/* The callback may have cancelled tm, crashed or freed its node. */
	if (tm->cancelled || tm->period_us == 0) {
		if (!tm->orphan)
			timer_unlink(s->nodes[tm->node], tm);
		timer_drop(s, tm);
		return;
	}
	if (tm->crashed) {
		tm->crashed = false;
		tm->state = TM_DORMANT;
		return;
	}
	uint64_t at = s->now + tm->period_us;
	if (at < s->now)
		at = UINT64_MAX;
	if (heap_push(s, at, EV_TIMER, tm) != 0) {
		/* XXX: out of memory re-arming a periodic timer: it goes
		 * dormant (never fires again) rather than vanish under a
		 * handle its owner still holds. */
		tm->state = TM_DORMANT;
		return;
	}
	tm->state = TM_QUEUED;
}

bool sim_step(struct sim *s)
{
	if (s->heap_len == 0)
		return false;
	struct sim_ev e = s->heap[0];
	heap_remove(s, 0);
	if (e.time > s->now)
		s->now = e.time;
	s->st.events++;
	trace_add(s, e.time);
	trace_add(s, e.key);
	if ((e.key & 1) == EV_PKT)
		run_pkt(s, e.p);
	else
		run_timer(s, e.p);
	return true;
}

uint64_t sim_run_until(struct sim *s, uint64_t until_us)
{
	uint64_t n = 0;
	while (s->heap_len > 0 && s->heap[0].time <= until_us) {
		sim_step(s);
		n++;
	}
	if (until_us > s->now)
		s->now = until_us;
	return n;
}

bool sim_run_cond(struct sim *s, bool (*cond)(void *arg), void *arg, uint64_t max_us)
{
	uint64_t deadline = s->now + max_us;
	if (deadline < s->now)
		deadline = UINT64_MAX;
	if (cond(arg))
		return true;
	while (s->heap_len > 0 && s->heap[0].time <= deadline) {
		sim_step(s);
		if (cond(arg))
			return true;
	}
	if (deadline > s->now)
		s->now = deadline;
	return false;
}

/* ---- latency models -------------------------------------------------- */

struct lat_const {
	struct sim_latency l;
	uint64_t us;
};

static uint64_t lat_const_one_way(void *arg, uint32_t src, uint32_t dst, struct ddns_rng *rng)
{
	(void)src;
	(void)dst;
	(void)rng;
	return ((struct lat_const *)arg)->us;
}

struct sim_latency *sim_latency_constant(uint64_t one_way_us)
{
	struct lat_const *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->us = one_way_us;
	c->l.one_way_us = lat_const_one_way;
	c->l.arg = c;
	c->l.name = "constant";
	return &c->l;
}

struct lat_samples {
	struct sim_latency l;
	size_t n;
	uint64_t v[];
};

static uint64_t lat_samples_one_way(void *arg, uint32_t src, uint32_t dst, struct ddns_rng *rng)
{
	(void)src;
	(void)dst;
	struct lat_samples *m = arg;
	return m->v[ddns_rng_below(rng, m->n)];
}

struct sim_latency *sim_latency_samples(const uint64_t *samples_us, size_t n)
{
	if (n == 0 || n > (SIZE_MAX - sizeof(struct lat_samples)) / sizeof(uint64_t))
		return NULL;
	struct lat_samples *m = calloc(1, sizeof(*m) + n * sizeof(uint64_t));
	if (!m)
		return NULL;
	m->n = n;
	memcpy(m->v, samples_us, n * sizeof(uint64_t));
	m->l.one_way_us = lat_samples_one_way;
	m->l.arg = m;
	m->l.name = "samples";
	return &m->l;
}

/* An RTT matrix: one-way delays in us, row-major hosts x hosts, with the
 * missing entries already replaced by the median. */
struct lat_matrix {
	struct sim_latency l;
	size_t hosts;
	uint32_t *perm;     /* node i sits on host perm[i % hosts] */
	uint32_t *one_way;  /* [src_host * hosts + dst_host] */
	uint32_t *same_host; /* delay between two distinct nodes on one host */
};

static uint64_t lat_matrix_one_way(void *arg, uint32_t src, uint32_t dst, struct ddns_rng *rng)
{
	(void)rng;
	struct lat_matrix *m = arg;
	if (src == dst)
		return 0; /* a node talking to itself */
	uint32_t hs = m->perm[src % m->hosts], hd = m->perm[dst % m->hosts];
	if (hs == hd)
		return m->same_host[hs];
	return m->one_way[(size_t)hs * m->hosts + hd];
}

static void lat_matrix_free(void *arg)
{
	struct lat_matrix *m = arg;
	free(m->perm);
	free(m->one_way);
	free(m->same_host);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Parse one whitespace-separated row into out[0..max); returns the number
 * of values, or -1 if a token is not a finite number or the row is longer
 * than max. Missing values (<= 0) come back as UINT32_MAX. */
static long parse_row(char *line, double unit_us, uint32_t *out, size_t max)
{
	size_t k = 0;
	char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p)
			break;
		char *end;
		double v = strtod(p, &end);
		if (end == p || !isfinite(v) ||
		    (*end && *end != ' ' && *end != '\t' && *end != '\r' && *end != '\n'))
			return -1;
		if (k >= max)
			return -1;
		if (v <= 0) {
			out[k++] = UINT32_MAX; /* missing */
		} else {
			double us = v * unit_us / 2.0;
			if (us >= (double)UINT32_MAX - 1)
				return -1;
			uint32_t u = (uint32_t)llround(us);
			out[k++] = u ? u : 1; /* a measured delay is never 0 */
		}
		p = end;
	}
	return (long)k;
}

static bool blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return false;
	return true;
}

struct sim_latency *sim_latency_matrix_load(const char *path, double unit_us, uint64_t seed,
					    int *err)
{
	struct lat_matrix *m = NULL;
	struct sim_latency *ret = NULL;
	char *line = NULL;
	size_t cap = 0;
	uint32_t *row = NULL, *sorted = NULL;
	size_t rows = 0, n = 0;
	int e = DDNS_EMALFORMED;
	FILE *f = NULL;

	if (!(unit_us > 0) || !isfinite(unit_us))
		goto out;
	f = fopen(path, "r");
	if (!f) {
		e = -errno;
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		e = -ENOMEM;
		goto out;
	}
	ssize_t got;
	while ((got = getline(&line, &cap, f)) >= 0) {
		if (blank(line))
			continue;
		if (n == 0) {
			/* The first row fixes the size: count its tokens. */
			size_t toks = 0;
			bool in = false;
			for (const char *q = line; *q; q++) {
				bool ws = *q == ' ' || *q == '\t' || *q == '\r' || *q == '\n';
				if (!ws && !in)
					toks++;
				in = !ws;
			}
			n = toks;
			if (n == 0 || n > 65535)
				goto out;
			m->one_way = malloc(n * n * sizeof(uint32_t));
			row = malloc((n + 1) * sizeof(uint32_t));
			if (!m->one_way || !row) {
				e = -ENOMEM;
				goto out;
			}
		}
		if (rows >= n)
			goto out; /* more rows than columns */
		if (parse_row(line, unit_us, row, n) != (long)n)
			goto out;
		memcpy(m->one_way + rows * n, row, n * sizeof(uint32_t));
		rows++;
	}
	if (ferror(f)) {
		e = -EIO;
		goto out;
	}
	if (n == 0 || rows != n)
		goto out;

	/* Median of the measured off-diagonal entries replaces the missing. */
	sorted = malloc(n * n * sizeof(uint32_t));
	m->same_host = malloc(n * sizeof(uint32_t));
	m->perm = malloc(n * sizeof(uint32_t));
	if (!sorted || !m->same_host || !m->perm) {
		e = -ENOMEM;
		goto out;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if (i != j && m->one_way[i * n + j] != UINT32_MAX)
				sorted[k++] = m->one_way[i * n + j];
	if (k == 0)
		goto out; /* nothing measured */
	qsort(sorted, k, sizeof(uint32_t), cmp_u32);
	uint32_t median = sorted[(k - 1) / 2]; /* lower median: an entry */
	for (size_t i = 0; i < n; i++) {
		uint32_t best = UINT32_MAX;
		for (size_t j = 0; j < n; j++) {
			uint32_t *v = &m->one_way[i * n + j];
			if (i == j)
				continue;
			if (*v == UINT32_MAX)
				*v = median;
			if (*v < best)
				best = *v;
		}
		/* Two nodes sharing a host (more nodes than hosts) are as far
		 * apart as the host's nearest measured neighbour: "the same
		 * site", never zero. */
		m->same_host[i] = best == UINT32_MAX ? median : best;
		m->one_way[i * n + i] = 0;
	}

	/* Seeded shuffle of hosts (Fisher-Yates). */
	struct ddns_rng r;
	ddns_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++)
		m->perm[i] = (uint32_t)i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)ddns_rng_below(&r, i + 1);
		uint32_t t = m->perm[i];
		m->perm[i] = m->perm[j];
		m->perm[j] = t;
	}
	m->hosts = n;
	m->l.one_way_us = lat_matrix_one_way;
	m->l.free = lat_matrix_free;
	m->l.arg = m;
	m->l.name = "matrix";
	ret = &m->l;
	m = NULL;
	e = 0;
out:
	if (f)
		fclose(f);
	free(line);
	free(row);
	free(sorted);
	if (m) {
		lat_matrix_free(m);
		free(m);
	}
	if (err)
		*err = e;
	return ret;
}

size_t sim_latency_matrix_hosts(const struct sim_latency *l)
{
	if (!l || l->one_way_us != lat_matrix_one_way)
		return 0;
	return ((const struct lat_matrix *)l->arg)->hosts;
}

size_t sim_latency_matrix_host_of(const struct sim_latency *l, uint32_t node)
{
	if (!l || l->one_way_us != lat_matrix_one_way)
		return SIZE_MAX;
	const struct lat_matrix *m = l->arg;
	return m->perm[node % m->hosts];
}

void sim_latency_free(struct sim_latency *l)
{
	if (!l)
		return;
	if (l->free)
		l->free(l->arg);
	free(l); /* every model here starts with its struct sim_latency */
}

void sim_set_loss(struct sim *s, double loss) { s->loss = loss; }

void sim_set_faults(struct sim *s, const struct sim_faults *f)
{
	s->faults = *f;
	if (s->faults.reorder > 0 && s->faults.reorder_us == 0)
		s->faults.reorder_us = 100000;
}

void sim_set_tap(struct sim *s, sim_tap_cb cb, void *arg)
{
	s->tap = cb;
	s->tap_arg = arg;
}
