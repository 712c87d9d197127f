/*
 * test_sim.c - the simulator transport (overlay/sim.c): virtual clock,
 * event order, timers, latency, loss, crash/restart, node removal, latency
 * models (including the real PlanetLab matrix when ../shared/data is
 * present) and replay determinism.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay/sim.h"

static struct tr_addr addr(uint32_t i) { return tr_addr_v4(0x0a000000u + i, 4000); }

static struct sim *mk_sim(uint64_t seed, double loss, struct sim_latency *lat)
{
	struct sim_params p;
	sim_params_default(&p);
	p.seed = seed;
	p.loss = loss;
	p.latency = lat;
	struct sim *s = sim_new(&p);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* ---- timers ------------------------------------------------------------ */

#define MAXLOG 64
struct tlog {
	struct tr *t;
	int id[MAXLOG];
	uint64_t at[MAXLOG];
	int n;
};

struct tctx {
	struct tlog *log;
	int id;
	/* optional actions inside the callback */
	struct tr_timer **self;    /* cancel own handle after `cancel_after` fires */
	int cancel_after;
	int fired;
	struct tr_timer **victim;  /* cancel this other timer */
};

static void tlog_cb(void *arg)
{
	struct tctx *c = arg;
	struct tlog *l = c->log;
	ck_assert_int_lt(l->n, MAXLOG);
	l->id[l->n] = c->id;
	l->at[l->n] = tr_now_us(l->t);
	l->n++;
	c->fired++;
	if (c->self && *c->self && c->fired >= c->cancel_after) {
		tr_timer_cancel(l->t, *c->self);
		*c->self = NULL;
	}
	if (c->victim && *c->victim) {
		tr_timer_cancel(l->t, *c->victim);
		*c->victim = NULL;
	}
}

START_TEST(timers_in_order)
{
	struct sim *s = mk_sim(1, 0, NULL);
	struct tr *t = sim_node_add(s, &(struct tr_addr){0});
	ck_assert_ptr_nonnull(t);
	struct tlog l = {.t = t};
	struct tctx c[6];
	uint64_t delays[6] = {30, 10, 20, 5, 5, 5};
	for (int i = 0; i < 6; i++) {
		c[i] = (struct tctx){.log = &l, .id = i};
		ck_assert_ptr_nonnull(tr_timer_add(t, delays[i], 0, tlog_cb, &c[i]));
	}
	struct sim_stats st;
	sim_get_stats(s, &st);
	ck_assert_uint_eq(st.queue_len, 6);
	ck_assert_uint_eq(sim_run_until(s, 19), 4);
	ck_assert_uint_eq(sim_now_us(s), 19);
	sim_run_until(s, 1000);
	ck_assert_uint_eq(sim_now_us(s), 1000);
	/* equal times keep the order of tr_timer_add */
	int want_id[6] = {3, 4, 5, 1, 2, 0};
	uint64_t want_at[6] = {5, 5, 5, 10, 20, 30};
	ck_assert_int_eq(l.n, 6);
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(l.id[i], want_id[i]);
		ck_assert_uint_eq(l.at[i], want_at[i]);
	}
	sim_get_stats(s, &st);
	ck_assert_uint_eq(st.timers_fired, 6);
	ck_assert_uint_eq(st.events, 6);
	ck_assert_uint_eq(st.queue_len, 0);
	ck_assert_uint_eq(st.queue_peak, 6);
	ck_assert(!sim_step(s));
	sim_free(s);
}
END_TEST

START_TEST(timers_periodic)
{
	struct sim *s = mk_sim(1, 0, NULL);
	struct tr *t = sim_node_add(s, &(struct tr_addr){0});
	struct tlog l = {.t = t};
	struct tctx c = {.log = &l, .id = 7};
	sim_run_until(s, 1000);
	struct tr_timer *tm = tr_timer_add(t, 50, 100, tlog_cb, &c);
	ck_assert_ptr_nonnull(tm);
	sim_run_until(s, 2000);
	ck_assert_int_eq(l.n, 10); /* 1050, 1150, ..., 1950 */
	for (int i = 0; i < 10; i++)
		ck_assert_uint_eq(l.at[i], 1050 + 100 * (uint64_t)i);
	tr_timer_cancel(t, tm);
	sim_run_until(s, 5000);
	ck_assert_int_eq(l.n, 10);
	struct sim_stats st;
	sim_get_stats(s, &st);
	ck_assert_uint_eq(st.queue_len, 0); /* cancel removed it at once */
	sim_free(s);
}
END_TEST

START_TEST(timers_cancel_in_callbacks)
{
	struct sim *s = mk_sim(1, 0, NULL);
	struct tr *t = sim_node_add(s, &(struct tr_addr){0});
	struct tlog l = {.t = t};

	/* a periodic timer that cancels itself on its third firing */
	struct tr_timer *per = NULL;
	struct tctx cp = {.log = &l, .id = 1, .self = &per, .cancel_after = 3};
	per = tr_timer_add(t, 10, 10, tlog_cb, &cp);
	/* a one-shot that cancels itself inside its own callback */
	struct tr_timer *one = NULL;
	struct tctx co = {.log = &l, .id = 2, .self = &one, .cancel_after = 1};
	one = tr_timer_add(t, 15, 0, tlog_cb, &co);
	/* a one-shot at 16 that cancels a pending one at 17 */
	struct tr_timer *victim = NULL;
	struct tctx cv = {.log = &l, .id = 4};
	struct tctx ck = {.log = &l, .id = 3, .victim = &victim};
	ck_assert_ptr_nonnull(tr_timer_add(t, 16, 0, tlog_cb, &ck));
	victim = tr_timer_add(t, 17, 0, tlog_cb, &cv);
	/* two timers at the same time, the first cancels the second */
	struct tr_timer *same = NULL;
	struct tctx cs2 = {.log = &l, .id = 6};
	struct tctx cs1 = {.log = &l, .id = 5, .victim = &same};
	ck_assert_ptr_nonnull(tr_timer_add(t, 25, 0, tlog_cb, &cs1));
	same = tr_timer_add(t, 25, 0, tlog_cb, &cs2);
	ck_assert_ptr_nonnull(per);
	ck_assert_ptr_nonnull(one);
	ck_assert_ptr_nonnull(victim);
	ck_assert_ptr_nonnull(same);

	sim_run_until(s, 1000);
	int want_id[] = {1, 2, 3, 1, 5, 1};
	uint64_t want_at[] = {10, 15, 16, 20, 25, 30};
	ck_assert_int_eq(l.n, 6);
	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(l.id[i], want_id[i]);
		ck_assert_uint_eq(l.at[i], want_at[i]);
	}
	ck_assert_ptr_null(per);
	ck_assert_ptr_null(victim);
	ck_assert_ptr_null(same);
	struct sim_stats st;
	sim_get_stats(s, &st);
	ck_assert_uint_eq(st.queue_len, 0);
	sim_free(s);
}
END_TEST

/* A timer whose callback frees its own node, and one added with delay 0
 * from inside a callback (fires at the same time, after the current). */
struct selffree {
	struct tr *t;
	struct sim *s;
	int fired;
	uint64_t at0;
};

static void zero_cb(void *arg)
{
	struct selffree *f = arg;
	f->at0 = sim_now_us(f->s);
	f->fired++;
}

static void addzero_cb(void *arg)
{
	struct selffree *f = arg;
	ck_assert_ptr_nonnull(tr_timer_add(f->t, 0, 0, zero_cb, f));
}

static void freeself_cb(void *arg)
{
	struct selffree *f = arg;
	tr_free(f->t); /* also frees this (periodic) timer, after we return */
	f->t = NULL;
	f->fired++;
}

START_TEST(timers_zero_delay_and_free_inside)
{
	struct sim *s = mk_sim(1, 0, NULL);
	struct selffree f = {.s = s};
	f.t = sim_node_add(s, &(struct tr_addr){0});
	ck_assert_ptr_nonnull(tr_timer_add(f.t, 40, 0, addzero_cb, &f));
	sim_run_until(s, 100);
	ck_assert_int_eq(f.fired, 1);
	ck_assert_uint_eq(f.at0, 40);

	f.fired = 0;
	ck_assert_ptr_nonnull(tr_timer_add(f.t, 10, 10, freeself_cb, &f));
	/* a second pending timer of the same node must vanish too */
	ck_assert_ptr_nonnull(tr_timer_add(f.t, 500, 0, zero_cb, &f));
	sim_run_until(s, 1000);
	ck_assert_int_eq(f.fired, 1);
	struct sim_stats st;
	sim_get_stats(s, &st);
	ck_assert_uint_eq(st.nodes, 0);
	ck_assert_uint_eq(st.queue_len, 0);
	sim_free(s);
}
END_TEST

/* ---- datagrams ------------------------------------------------------- */

struct rx {
	struct sim *s;
	int n;
	uint64_t at[16];
	struct tr_addr from[16];
	uint8_t data[16][64];
	size_t len[16];
};

static void rx_cb(void *arg, const struct tr_addr *from, const uint8_t *data, size_t len)
{
	struct rx *r = arg;
	ck_assert_int_lt(r->n, 16);
	r->at[r->n] = sim_now_us(r->s);
	r->from[r->n] = *from;
	ck_assert_uint_le(len, 64);
	memcpy(r->data[r->n], data, len);
	r->len[r->n] = len;
	r->n++;
}

struct sender {
	struct tr *t;
	struct tr_addr to;
	uint8_t buf[32];
	size_t len;
	int rc;
};

static void send_cb(void *arg)
{
	struct sender *x = arg;
	x->rc = tr_send(x->t, &x->to, x->buf, x->len);
	memset(x->buf, 0xee, sizeof(x->buf)); /* the sim must have copied it */
}

START_TEST(latency_exact)
{
	struct sim_latency *lat = sim_latency_constant(1234);
	struct sim *s = mk_sim(3, 0, lat);
	struct tr *a = sim_node_add(s, &(struct tr_addr){.family = TR_AF_INET, .ip = {10, 0, 0, 1}, .port = 1});
	struct tr *b = sim_node_add(s, &(struct tr_addr){.family = TR_AF_INET, .ip = {10, 0, 0, 2}, .port = 1});
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(sim_node_index(a), 0);
	ck_assert_uint_eq(sim_node_index(b), 1);
	struct rx r = {.s = s};
	tr_set_recv(b, rx_cb, &r);
	struct sender x = {.t = a, .to = *tr_self(b), .len = 5, .buf = "hello"};
	ck_assert_ptr_nonnull(tr_timer_add(a, 5000, 0, send_cb, &x));
	sim_run_until(s, 6233);
	ck_assert_int_eq(r.n, 0);
	sim_run_until(s, 6234);
	ck_assert_int_eq(x.rc, 0);
	ck_assert_int_eq(r.n, 1);
	ck_assert_uint_eq(r.at[0], 5000 + 1234);
	ck_assert(tr_addr_eq(&r.from[0], tr_self(a)));
	ck_assert_uint_eq(r.len[0], 5);
	ck_assert(memcmp(r.data[0], "hello", 5) == 0);

	/* oversized datagrams are refused */
	uint8_t *big = calloc(1, a->mtu + 1);
	ck_assert_int_eq(tr_send(a, tr_self(b), big, a->mtu + 1), -EMSGSIZE);
	ck_assert_int_eq(tr_send(a, tr_self(b), big, 0), 0); /* empty is fine */
	free(big);
	sim_run_until(s, 10000);
	ck_assert_int_eq(r.n, 2);
	ck_assert_uint_eq(r.len[1], 0);

	/* a duplicate address is refused; the same address, differently
	 * spelled (junk in the unused IPv6 bytes of an IPv4 address) too */
	struct tr_addr dup = *tr_self(b);
	dup.ip[10] = 99;
	ck_assert_ptr_null(sim_node_add(s, &dup));

	struct sim_stats st;
	sim_get_stats(s, &st);
	ck_assert_uint_eq(st.datagrams_sent, 2);
	ck_assert_uint_eq(st.datagrams_delivered, 2);
	ck_assert_uint_eq(st.bytes_sent, 5);
	ck_assert_uint_eq(st.datagrams_lost, 0);
	ck_assert_uint_eq(st.nodes, 2);
	sim_free(s);
	sim_latency_free(lat);
}
END_TEST

START_TEST(default_latency_10ms)
{
	struct sim *s = sim_new(NULL);
	struct tr *a = sim_node_add(s, &(struct tr_addr){.family = TR_AF_INET6, .ip = {0xfd, [15] = 1}, .port = 7});
	struct tr *b = sim_node_add(s, &(struct tr_addr){.family = TR_AF_INET6, .ip = {0xfd, [15] = 2}, .port = 7});
	struct rx r = {.s = s};
	tr_set_recv(b, rx_cb, &r);
	ck_assert_int_eq(tr_send(a, tr_self(b), (const uint8_t *)"x", 1), 0);
	sim_run_until(s, 1000000);
	ck_assert_int_eq(r.n, 1);
	ck_assert_uint_eq(r.at[0], 10000);
	sim_free(s);
}
END_TEST

START_TEST(loss_rate)
{
	struct sim *s = mk_sim(42, 0.25, NULL);
	struct tr *a = sim_node_add(s, &(struct tr_addr){.family = TR_AF_INET, .ip = {1, 1, 1, 1}});
	struct tr *b = sim_node_add(s, &(struct tr_addr){.family = TR_AF_INET, .ip = {1, 1, 1, 2}});
	struct rx r = {.s = s};
	tr_set_recv(b, rx_cb, &r);
	for (int i = 0; i < 10000; i++)
		ck_assert_int_eq(tr_send(a, tr_self(b), (const uint8_t *)"", 0), 0);
	tr_set_recv(b, NULL, NULL);
	sim_run_until(s, 1000000);
	struct sim_stats st;
	sim_get_stats(s, &st);
	ck_assert_uint_eq(st.datagrams_sent, 10000);
	ck_assert_uint_eq(st.datagrams_lost + st.datagrams_delivered, 10000);
	/* 2500 expected; sd ~43 */
	ck_assert_uint_gt(st.datagrams_lost, 2300);
	ck_assert_uint_lt(st.datagrams_lost, 2700);
	sim_free(s);
}
END_TEST

/* ---- crash, restart, free ------------------------------------------- */

static void count_cb(void *arg) { (*(int *)arg)++; }

START_TEST(crash_restart)
{
	struct sim *s = mk_sim(5, 0, NULL); /* 10 ms */
	struct tr *a = sim_node_add(s, &(struct tr_addr){.family = TR_AF_INET, .ip = {1, 0, 0, 1}});
	struct tr *b = sim_node_add(s, &(struct tr_addr){.family = TR_AF_INET, .ip = {1, 0, 0, 2}});
	struct rx ra = {.s = s}, rb = {.s = s};
	tr_set_recv(a, rx_cb, &ra);
	tr_set_recv(b, rx_cb, &rb);
	int fired = 0, fired2 = 0;
	struct tr_timer *per = tr_timer_add(b, 1000, 1000, count_cb, &fired);
	struct tr_timer *one = tr_timer_add(b, 50000, 0, count_cb, &fired);
	ck_assert_ptr_nonnull(per);
	ck_assert_ptr_nonnull(one);
	sim_run_until(s, 3500);
	ck_assert_int_eq(fired, 3);

	/* in flight when b crashes: lost at arrival */
	ck_assert_int_eq(tr_send(a, tr_self(b), (const uint8_t *)"1", 1), 0);
	sim_node_crash(b);
	ck_assert(!sim_node_alive(b));
	ck_assert(sim_node_alive(a));
	/* new timers on a crashed node: a real handle that never fires */
	struct tr_timer *dummy = tr_timer_add(b, 10, 0, count_cb, &fired2);
	ck_assert_ptr_nonnull(dummy);
	/* a crashed node sends nothing */
	ck_assert_int_eq(tr_send(b, tr_self(a), (const uint8_t *)"2", 1), 0);
	sim_run_until(s, 100000);
	ck_assert_int_eq(fired, 3);
	ck_assert_int_eq(fired2, 0);
	ck_assert_int_eq(rb.n, 0);
	ck_assert_int_eq(ra.n, 0);
	struct sim_stats st;
	sim_get_stats(s, &st);
	ck_assert_uint_eq(st.datagrams_to_dead, 1);
	ck_assert_uint_eq(st.datagrams_sent, 1);
	ck_assert_uint_eq(st.queue_len, 0);

	/* restart: receives and sends again; old timers stay discarded */
	sim_node_restart(b);
	ck_assert(sim_node_alive(b));
	ck_assert_int_eq(tr_send(a, tr_self(b), (const uint8_t *)"3", 1), 0);
	ck_assert_int_eq(tr_send(b, tr_self(a), (const uint8_t *)"4", 1), 0);
	ck_assert_ptr_nonnull(tr_timer_add(b, 5, 0, count_cb, &fired2));
	sim_run_until(s, 200000);
	ck_assert_int_eq(rb.n, 1);
	ck_assert_int_eq(rb.data[0][0], '3');
	ck_assert_int_eq(ra.n, 1);
	ck_assert_int_eq(ra.data[0][0], '4');
	ck_assert_int_eq(fired, 3);
	ck_assert_int_eq(fired2, 1);
	/* the holder of discarded handles may still cancel them (ASan checks) */
	tr_timer_cancel(b, per);
	tr_timer_cancel(b, one);
	tr_timer_cancel(b, dummy);
	sim_free(s);
}
END_TEST

static void crash_self_cb(void *arg)
{
	struct tr *t = arg;
	sim_node_crash(t);
}

START_TEST(crash_inside_own_timer)
{
	struct sim *s = mk_sim(5, 0, NULL);
	struct tr *a = sim_node_add(s, &(struct tr_addr){.family = TR_AF_INET, .ip = {1, 0, 0, 1}});
	struct tr_timer *per = tr_timer_add(a, 10, 10, crash_self_cb, a);
	int fired = 0;
	ck_assert_ptr_nonnull(tr_timer_add(a, 15, 0, count_cb, &fired));
	sim_run_until(s, 1000);
	struct sim_stats st;
	sim_get_stats(s, &st);
	ck_assert_uint_eq(st.timers_fired, 1);
	ck_assert_int_eq(fired, 0);
	sim_node_restart(a);
	sim_run_until(s, 2000);
	sim_get_stats(s, &st);
	ck_assert_uint_eq(st.timers_fired, 1);
	tr_timer_cancel(a, per);
	sim_free(s); /* the one-shot's dormant handle is freed here */
}
END_TEST

START_TEST(free_node_removes_it)
{
	struct sim *s = mk_sim(5, 0, NULL);
	struct tr *a = sim_node_add(s, &(struct tr_addr){.family = TR_AF_INET, .ip = {1, 0, 0, 1}});
	struct tr_addr baddr = {.family = TR_AF_INET, .ip = {1, 0, 0, 2}};
	struct tr *b = sim_node_add(s, &baddr);
	int fired = 0;
	ck_assert_ptr_nonnull(tr_timer_add(b, 100, 100, count_cb, &fired));
	ck_assert_int_eq(tr_send(a, &baddr, (const uint8_t *)"x", 1), 0); /* in flight */
	tr_free(b);
	ck_assert_int_eq(tr_send(a, &baddr, (const uint8_t *)"y", 1), 0); /* nobody there */
	sim_run_until(s, 100000);
	ck_assert_int_eq(fired, 0);
	struct sim_stats st;
	sim_get_stats(s, &st);
	ck_assert_uint_eq(st.nodes, 1);
	ck_assert_uint_eq(st.datagrams_to_dead, 2);
	ck_assert_uint_eq(st.datagrams_delivered, 0);
	/* the address is free again; the new node gets a new index */
	struct tr *b2 = sim_node_add(s, &baddr);
	ck_assert_ptr_nonnull(b2);
	ck_assert_uint_eq(sim_node_index(b2), 2);
	struct rx r = {.s = s};
	tr_set_recv(b2, rx_cb, &r);
	ck_assert_int_eq(tr_send(a, &baddr, (const uint8_t *)"z", 1), 0);
	/* pending events are freed by sim_free (ASan checks) */
	ck_assert_ptr_nonnull(tr_timer_add(b2, 100, 100, count_cb, &fired));
	sim_free(s);
	ck_assert_int_eq(r.n, 0);
}
END_TEST

/* 10,000 nodes: every datagram reaches exactly the node at its address. */
struct scale_node {
	uint32_t got_from;
	int n;
};

static void scale_rx(void *arg, const struct tr_addr *from, const uint8_t *data, size_t len)
{
	struct scale_node *sn = arg;
	uint32_t v;
	ck_assert_uint_eq(len, sizeof(v));
	memcpy(&v, data, sizeof(v));
	ck_assert_uint_eq(v, ((uint32_t)from->ip[2] << 8 | from->ip[3]) - 1);
	sn->got_from = v;
	sn->n++;
}

START_TEST(scale_10k_nodes)
{
	enum { N = 10000 };
	struct sim *s = mk_sim(8, 0, NULL);
	struct tr **t = calloc(N, sizeof(*t));
	struct scale_node *sn = calloc(N, sizeof(*sn));
	for (uint32_t i = 0; i < N; i++) {
		struct tr_addr a = tr_addr_v4(0x0a000000u + i + 1, 53);
		t[i] = sim_node_add(s, &a);
		ck_assert_ptr_nonnull(t[i]);
		tr_set_recv(t[i], scale_rx, &sn[i]);
	}
	/* i sends its index to (7919 * i + 1) mod N: a permutation */
	for (uint32_t i = 0; i < N; i++) {
		struct tr_addr to = tr_addr_v4(0x0a000000u + (7919u * i + 1) % N + 1, 53);
		ck_assert_int_eq(tr_send(t[i], &to, (const uint8_t *)&i, sizeof(i)), 0);
	}
	struct sim_stats st;
	sim_get_stats(s, &st);
	ck_assert_uint_eq(st.queue_len, N);
	ck_assert_uint_eq(st.nodes, N);
	sim_run_until(s, 1000000);
	for (uint32_t i = 0; i < N; i++) {
		uint32_t j = (7919u * i + 1) % N;
		ck_assert_int_eq(sn[j].n, 1);
		ck_assert_uint_eq(sn[j].got_from, i);
	}
	sim_get_stats(s, &st);
	ck_assert_uint_eq(st.datagrams_delivered, N);
	sim_free(s);
	free(t);
	free(sn);
}
END_TEST

/* ---- run control ---------------------------------------------------- */

static bool reached(void *arg) { return *(int *)arg >= 3; }

START_TEST(run_cond_and_step)
{
	struct sim *s = mk_sim(5, 0, NULL);
	struct tr *a = sim_node_add(s, &(struct tr_addr){.family = TR_AF_INET, .ip = {1, 0, 0, 1}});
	int fired = 0;
	struct tr_timer *per = tr_timer_add(a, 100, 100, count_cb, &fired);
	ck_assert(sim_run_cond(s, reached, &fired, 1000));
	ck_assert_uint_eq(sim_now_us(s), 300);
	ck_assert(sim_run_cond(s, reached, &fired, 1000)); /* already true */
	ck_assert_uint_eq(sim_now_us(s), 300);
	ck_assert(sim_step(s));
	ck_assert_int_eq(fired, 4);
	ck_assert_uint_eq(sim_now_us(s), 400);
	tr_timer_cancel(a, per);
	fired = -100;
	ck_assert(!sim_run_cond(s, reached, &fired, 5000));
	ck_assert_uint_eq(sim_now_us(s), 5400);
	ck_assert(!sim_step(s));
	sim_free(s);
}
END_TEST

/* ---- randomness ----------------------------------------------------- */

START_TEST(node_random_streams)
{
	struct sim *s1 = mk_sim(77, 0, NULL), *s2 = mk_sim(77, 0, NULL);
	struct tr *a1 = sim_node_add(s1, &(struct tr_addr){.family = TR_AF_INET, .ip = {1, 0, 0, 1}});
	struct tr *b1 = sim_node_add(s1, &(struct tr_addr){.family = TR_AF_INET, .ip = {1, 0, 0, 2}});
	struct tr *a2 = sim_node_add(s2, &(struct tr_addr){.family = TR_AF_INET, .ip = {9, 0, 0, 1}});
	struct tr *b2 = sim_node_add(s2, &(struct tr_addr){.family = TR_AF_INET, .ip = {9, 0, 0, 2}});
	/* node streams depend on (seed, index) only, not on draws elsewhere */
	for (int i = 0; i < 10; i++)
		(void)tr_random(a2);
	(void)ddns_rng_next(sim_rng(s2));
	uint64_t x1 = tr_random(b1), x2 = tr_random(b2);
	ck_assert_uint_eq(x1, x2);
	ck_assert_uint_ne(tr_random(a1), tr_random(b1));
	struct sim *s3 = mk_sim(78, 0, NULL);
	sim_node_add(s3, &(struct tr_addr){.family = TR_AF_INET, .ip = {1, 0, 0, 1}});
	struct tr *b3 = sim_node_add(s3, &(struct tr_addr){.family = TR_AF_INET, .ip = {1, 0, 0, 2}});
	ck_assert_uint_ne(tr_random(b3), x1);
	sim_free(s1);
	sim_free(s2);
	sim_free(s3);
}
END_TEST

/* ---- latency models ------------------------------------------------- */

START_TEST(samples_model)
{
	uint64_t v[3] = {100, 200, 300};
	struct sim_latency *l = sim_latency_samples(v, 3);
	ck_assert_ptr_nonnull(l);
	ck_assert_ptr_null(sim_latency_samples(v, 0));
	ck_assert_uint_eq(sim_latency_matrix_hosts(l), 0);
	v[0] = 999; /* copied */
	struct ddns_rng r;
	ddns_rng_seed(&r, 1);
	int seen[3] = {0};
	for (int i = 0; i < 300; i++) {
		uint64_t d = l->one_way_us(l->arg, 0, 1, &r);
		ck_assert(d == 100 || d == 200 || d == 300);
		seen[d / 100 - 1]++;
	}
	ck_assert_int_gt(seen[0], 0);
	ck_assert_int_gt(seen[1], 0);
	ck_assert_int_gt(seen[2], 0);
	sim_latency_free(l);
	sim_latency_free(NULL);
}
END_TEST

static char *write_tmp(const char *text)
{
	char *path = strdup("/tmp/ddns_test_sim_XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	size_t n = strlen(text);
	ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
	close(fd);
	return path;
}

START_TEST(matrix_small)
{
	/* RTTs in ms, not symmetric; the 0 at (1,2) is missing. Measured
	 * one-way delays are 5, 10, 5, 20, 20.25 ms; their (lower) median,
	 * 10 ms, stands in for the missing entry. */
	char *p = write_tmp("0\t10\t20\n"
			    "10 0 0\n"
			    "  40\t40.5 0 \n\n");
	int err = 1;
	struct sim_latency *l = sim_latency_matrix_load(p, 1000, 9, &err);
	ck_assert_int_eq(err, 0);
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(sim_latency_matrix_hosts(l), 3);
	uint64_t want[3][3] = {{0, 5000, 10000}, {5000, 0, 10000}, {20000, 20250, 0}};
	/* nodes 0..2 cover the three hosts once (a permutation) */
	int seen[3] = {0};
	for (uint32_t i = 0; i < 3; i++) {
		size_t h = sim_latency_matrix_host_of(l, i);
		ck_assert_uint_lt(h, 3);
		seen[h]++;
		ck_assert_uint_eq(sim_latency_matrix_host_of(l, i + 3), h);
	}
	ck_assert(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
	for (uint32_t i = 0; i < 6; i++)
		for (uint32_t j = 0; j < 6; j++) {
			size_t hi = sim_latency_matrix_host_of(l, i);
			size_t hj = sim_latency_matrix_host_of(l, j);
			uint64_t d = l->one_way_us(l->arg, i, j, NULL);
			if (i == j)
				ck_assert_uint_eq(d, 0);
			else if (hi == hj) /* host's nearest neighbour */
				ck_assert_uint_eq(d, hi == 2 ? 20000 : 5000);
			else
				ck_assert_uint_eq(d, want[hi][hj]);
		}
	/* the same seed places nodes the same way; delays reach the sim */
	struct sim_latency *l2 = sim_latency_matrix_load(p, 1000, 9, &err);
	for (uint32_t i = 0; i < 3; i++)
		ck_assert_uint_eq(sim_latency_matrix_host_of(l2, i), sim_latency_matrix_host_of(l, i));
	struct sim *s = mk_sim(1, 0, l2);
	struct tr *a = sim_node_add(s, &(struct tr_addr){.family = TR_AF_INET, .ip = {1, 0, 0, 1}});
	struct tr *b = sim_node_add(s, &(struct tr_addr){.family = TR_AF_INET, .ip = {1, 0, 0, 2}});
	struct rx r = {.s = s};
	tr_set_recv(b, rx_cb, &r);
	ck_assert_int_eq(tr_send(a, tr_self(b), (const uint8_t *)"q", 1), 0);
	sim_run_until(s, 1000000);
	ck_assert_int_eq(r.n, 1);
	ck_assert_uint_eq(r.at[0], want[sim_latency_matrix_host_of(l, 0)][sim_latency_matrix_host_of(l, 1)]);
	sim_free(s);
	sim_latency_free(l2);
	sim_latency_free(l);
	unlink(p);
	free(p);
}
END_TEST

START_TEST(matrix_malformed)
{
	const char *bad[] = {
		"",                        /* empty */
		"0 1\n1 0\n1 0\n",         /* more rows than columns */
		"0 1 2\n1 0 2\n",          /* fewer rows */
		"0 1\n1 0 3\n",            /* ragged */
		"0 x\n1 0\n",              /* not a number */
		"0 1ms\n1 0\n",            /* trailing junk */
		"0 nan\n1 0\n",            /* not finite */
		"0 0\n0 0\n",              /* nothing measured */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *p = write_tmp(bad[i]);
		int err = 0;
		struct sim_latency *l = sim_latency_matrix_load(p, 1000, 1, &err);
		ck_assert_msg(l == NULL, "case %zu accepted", i);
		ck_assert_int_eq(err, DDNS_EMALFORMED);
		unlink(p);
		free(p);
	}
	int err = 0;
	ck_assert_ptr_null(sim_latency_matrix_load("/nonexistent/matrix", 1000, 1, &err));
	ck_assert_int_eq(err, -ENOENT);
}
END_TEST

START_TEST(matrix_planetlab)
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	snprintf(path, sizeof(path), "%s/../shared/data/PlanetLabData_1", top ? top : "..");
	FILE *f = fopen(path, "r");
	if (!f) {
		printf("SKIP matrix_planetlab: %s not found (shared data absent)\n", path);
		return;
	}
	int err = 1;
	struct sim_latency *l = sim_latency_matrix_load(path, 1000, 2024, &err);
	ck_assert_int_eq(err, 0);
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(sim_latency_matrix_hosts(l), 490);
	/* Reparse rows independently and compare a sample of entries. */
	static double m[490][490];
	for (int i = 0; i < 490; i++)
		for (int j = 0; j < 490; j++)
			ck_assert_int_eq(fscanf(f, "%lf", &m[i][j]), 1);
	fclose(f);
	size_t checked = 0;
	for (uint32_t i = 0; i < 490; i += 7)
		for (uint32_t j = 0; j < 490; j += 3) {
			size_t hi = sim_latency_matrix_host_of(l, i), hj = sim_latency_matrix_host_of(l, j);
			if (i == j || m[hi][hj] <= 0)
				continue;
			double want = m[hi][hj] * 1000.0 / 2.0;
			double got = (double)l->one_way_us(l->arg, i, j, NULL);
			ck_assert_double_le(got - want, 0.5);
			ck_assert_double_ge(got - want, -0.5);
			checked++;
		}
	ck_assert_uint_gt(checked, 4000);
	/* 10,000 nodes on 490 hosts: every delay sane (the maximum RTT is
	 * 2984.1 ms) */
	for (uint32_t i = 0; i < 10000; i += 97)
		for (uint32_t j = 0; j < 10000; j += 89)
			ck_assert_uint_le(l->one_way_us(l->arg, i, j, NULL), 1492050 + 1);
	sim_latency_free(l);
}
END_TEST

/* ---- determinism ---------------------------------------------------- */

#define DN 50
struct dnet {
	struct sim *s;
	struct tr *t[DN];
	uint64_t rx;
};

struct dnode {
	struct dnet *net;
	int i;
};

static void d_recv(void *arg, const struct tr_addr *from, const uint8_t *data, size_t len)
{
	struct dnode *d = arg;
	d->net->rx += len + from->ip[3];
	/* answer some datagrams, so the trace depends on deliveries */
	if (len > 0 && (data[0] & 3) == 0) {
		uint8_t b[4] = {(uint8_t)(data[0] + 1), 1, 2, 3};
		(void)tr_send(d->net->t[d->i], from, b, sizeof(b));
	}
}

static void d_tick(void *arg)
{
	struct dnode *d = arg;
	struct tr *t = d->net->t[d->i];
	uint64_t to = tr_random_below(t, DN);
	uint8_t b[16];
	size_t len = 1 + (size_t)tr_random_below(t, sizeof(b));
	for (size_t k = 0; k < len; k++)
		b[k] = (uint8_t)tr_random(t);
	(void)tr_send(t, tr_self(d->net->t[to]), b, len);
}

static uint64_t det_run(uint64_t seed, struct sim_stats *st)
{
	uint64_t samples[4] = {1000, 5000, 20000, 80000};
	struct sim_latency *lat = sim_latency_samples(samples, 4);
	struct dnet net = {.s = mk_sim(seed, 0.1, lat)};
	struct dnode nodes[DN];
	for (int i = 0; i < DN; i++) {
		struct tr_addr a = addr((uint32_t)i);
		net.t[i] = sim_node_add(net.s, &a);
		nodes[i] = (struct dnode){.net = &net, .i = i};
		tr_set_recv(net.t[i], d_recv, &nodes[i]);
		uint64_t per = 10000 + tr_random_below(net.t[i], 50000);
		ck_assert_ptr_nonnull(tr_timer_add(net.t[i], per, per, d_tick, &nodes[i]));
	}
	sim_run_until(net.s, 1000000);
	/* the driver crashes and restarts by the world PRNG */
	for (int k = 0; k < 5; k++)
		sim_node_crash(net.t[ddns_rng_below(sim_rng(net.s), DN)]);
	sim_run_until(net.s, 2000000);
	for (int i = 0; i < DN; i++)
		sim_node_restart(net.t[i]);
	sim_run_until(net.s, 3000000);
	sim_get_stats(net.s, st);
	uint64_t h = sim_trace_hash(net.s);
	sim_free(net.s);
	sim_latency_free(lat);
	return h;
}

START_TEST(determinism)
{
	struct sim_stats a, b, c;
	uint64_t h1 = det_run(1234, &a);
	uint64_t h2 = det_run(1234, &b);
	uint64_t h3 = det_run(1235, &c);
	ck_assert_uint_eq(h1, h2);
	ck_assert(memcmp(&a, &b, sizeof(a)) == 0);
	ck_assert_uint_ne(h1, h3);
	ck_assert_uint_gt(a.datagrams_delivered, 1000);
	ck_assert_uint_gt(a.datagrams_lost, 100);
	ck_assert_uint_gt(a.datagrams_to_dead, 0);
}
END_TEST

static Suite *sim_suite(void)
{
	Suite *s = suite_create("sim");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, timers_in_order);
	tcase_add_test(tc, timers_periodic);
	tcase_add_test(tc, timers_cancel_in_callbacks);
	tcase_add_test(tc, timers_zero_delay_and_free_inside);
	tcase_add_test(tc, latency_exact);
	tcase_add_test(tc, default_latency_10ms);
	tcase_add_test(tc, loss_rate);
	tcase_add_test(tc, crash_restart);
	tcase_add_test(tc, crash_inside_own_timer);
	tcase_add_test(tc, free_node_removes_it);
	tcase_add_test(tc, scale_10k_nodes);
	tcase_add_test(tc, run_cond_and_step);
	tcase_add_test(tc, node_random_streams);
	tcase_add_test(tc, samples_model);
	tcase_add_test(tc, matrix_small);
	tcase_add_test(tc, matrix_malformed);
	tcase_add_test(tc, matrix_planetlab);
	tcase_add_test(tc, determinism);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sim_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
