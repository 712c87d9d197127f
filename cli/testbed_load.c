/*
 * testbed_load.c - the testbed's query engine (cli/testbed.h).
 *
 * Jobs are (query, row kind) pairs numbered query * TB_KINDS + kind, issued
 * in that order with at most `concurrency` in flight. A node job is a
 * CLI_GET to a random node that runs the overlay, asking for a lookup in
 * that overlay (compare mode: every overlay answers every query, so the
 * rows compare like for like); the reply carries the lookup's exact RPC
 * and hop counts and where the block came from. A gateway job is a DNS
 * query (with DO) over UDP to the gateway; its answer tells NOERROR and
 * the AD bit, and its latency is what a stub resolver sees.
 *
 * Invariant: inflight counts issued jobs whose callback has not run; a
 * gateway slot is busy exactly while its job is in flight.
 */
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/testbed.h"
#include "common/buf.h"
#include "common/err.h"
#include "overlay/overlay.h"

struct tb_dns_slot {
	bool busy;
	uint16_t id;
	uint64_t sent_us;
};

/* Node jobs in flight sit on l->jobs so a run stopped early frees them
 * (after rpc_free, which cancels their callbacks). */
struct node_job {
	struct tb *t;
	uint8_t kind;
	uint64_t sent_us;
	struct node_job *prev, *next;
};

static void job_unlink(struct tb_load *l, struct node_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		l->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
}

static void job_done(struct tb *t)
{
	t->load.inflight--;
	t->load.done_jobs++;
}

static void on_get_reply(void *arg, int status, const struct rpc_msg *reply)
{
	struct node_job *j = arg;
	struct tb *t = j->t;
	struct tb_row *row = &t->load.row[j->kind];
	struct cli_get_result r;
	int st = status;
	if (st == 0 && (reply->type != CLI_GET_R ||
			cli_msg_get_r_decode(reply->payload, reply->len, &r) != 0))
		st = DDNS_EMALFORMED;
	if (st == 0 && r.status == 0) {
		row->answered++;
		(void)ddns_samples_add(&row->rpcs, r.rpcs);
		(void)ddns_samples_add(&row->hops, r.hops);
		(void)ddns_samples_add(&row->latency_ms, (tb_now_us() - j->sent_us) / 1000.0);
		if (r.source == DHT_SRC_LOCAL_CACHE || r.source == DHT_SRC_PATH_CACHE)
			row->cache_hits++;
	} else {
		row->failed++;
	}
	job_unlink(&t->load, j);
	free(j);
	job_done(t);
}

static int node_job_issue(struct tb *t, const struct tb_query *q, uint8_t ovl)
{
	/* A random node that runs the overlay. */
	size_t cand = 0, pick;
	for (size_t i = 0; i < t->n; i++)
		if (t->nodes[i].ovl_mask & OVL_BIT(ovl))
			cand++;
	if (cand == 0)
		return -EINVAL;
	pick = (size_t)ddns_rng_below(&t->rng, cand);
	const struct tb_node *nd = NULL;
	for (size_t i = 0; i < t->n; i++)
		if ((t->nodes[i].ovl_mask & OVL_BIT(ovl)) && pick-- == 0) {
			nd = &t->nodes[i];
			break;
		}
	struct node_job *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->t = t;
	j->kind = ovl;
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	if (!cli_msg_get(&w, ovl, 0, q->wire, q->wire_len, q->type)) {
		ddns_wbuf_free(&w);
		free(j);
		return -ENOMEM;
	}
	struct rpc_call call = {.to = nd->addr,
				.overlay = RPC_OVL_NONE,
				.service = RPC_SVC_CLIENT,
				.type = CLI_GET,
				.payload = w.p,
				.len = w.len,
				.timeout_us = 2000000,
				.retries = 2};
	j->sent_us = tb_now_us();
	int e = rpc_call(t->rpc, &call, on_get_reply, j, NULL);
	ddns_wbuf_free(&w);
	if (e) {
		free(j);
		return e;
	}
	j->next = t->load.jobs;
	if (j->next)
		j->next->prev = j;
	t->load.jobs = j;
	t->load.row[ovl].queries++;
	t->load.inflight++;
	return 0;
}

/* --- gateway (plain DNS over UDP) --- */

static int dns_query_build(const struct tb_query *q, uint16_t id, uint8_t *out, size_t cap,
			   size_t *len)
{
	struct ddns_wbuf w;
	ddns_wbuf_init_fixed(&w, out, cap);
	ddns_wbuf_u16(&w, id);
	ddns_wbuf_u16(&w, 0x0100); /* RD */
	ddns_wbuf_u16(&w, 1);      /* QDCOUNT */
	ddns_wbuf_u16(&w, 0);
	ddns_wbuf_u16(&w, 0);
	ddns_wbuf_u16(&w, 1);      /* ARCOUNT: OPT */
	ddns_wbuf_put(&w, q->wire, q->wire_len);
	ddns_wbuf_u16(&w, q->type);
	ddns_wbuf_u16(&w, 1); /* IN */
	/* OPT (RFC 6891): root owner, 1232-octet payload, DO set. */
	ddns_wbuf_u8(&w, 0);
	ddns_wbuf_u16(&w, 41);
	ddns_wbuf_u16(&w, 1232);
	ddns_wbuf_u32(&w, 0x8000);
	ddns_wbuf_u16(&w, 0);
	*len = w.len;
	return w.err ? -ENOSPC : 0;
}

static void on_dns_read(evutil_socket_t fd, short what, void *arg)
{
	struct tb *t = arg;
	struct tb_load *l = &t->load;
	(void)what;
	for (int i = 0; i < 64; i++) {
		uint8_t buf[4096];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return;
		if (n < 12)
			continue;
		struct ddns_rbuf r;
		ddns_rbuf_init(&r, buf, (size_t)n);
		uint16_t id = ddns_rbuf_u16(&r), flags = ddns_rbuf_u16(&r);
		(void)ddns_rbuf_u16(&r);
		uint16_t an = ddns_rbuf_u16(&r);
		size_t s = id % l->concurrency;
		if (!l->slots[s].busy || l->slots[s].id != id || !(flags & 0x8000))
			continue; /* late, duplicate or not a response */
		l->slots[s].busy = false;
		struct tb_row *row = &l->row[TB_KIND_GW];
		unsigned rcode = flags & 0xf;
		/* TC: a stub would retry over TCP; the answer exists. */
		if (rcode == 0 && (an > 0 || (flags & 0x0200))) {
			row->answered++;
			if (flags & 0x0020)
				row->ad++;
			(void)ddns_samples_add(&row->latency_ms,
					       (tb_now_us() - l->slots[s].sent_us) / 1000.0);
		} else {
			row->failed++;
		}
		job_done(t);
	}
}

static int gw_job_issue(struct tb *t, const struct tb_query *q, size_t job)
{
	struct tb_load *l = &t->load;
	size_t s;
	for (s = 0; s < l->concurrency; s++)
		if (!l->slots[s].busy)
			break;
	if (s == l->concurrency)
		return -EAGAIN;
	/* The id picks the slot back (id % concurrency == s) and varies per job. */
	uint16_t id = (uint16_t)(s + l->concurrency * (job % (65536 / l->concurrency)));
	uint8_t pkt[512];
	size_t len;
	if (dns_query_build(q, id, pkt, sizeof(pkt), &len) != 0)
		return -EINVAL;
	l->slots[s] = (struct tb_dns_slot){.busy = true, .id = id, .sent_us = tb_now_us()};
	l->row[TB_KIND_GW].queries++;
	l->inflight++;
	if (send(l->fd, pkt, len, 0) < 0) {
		/* a full socket buffer is loss: the timeout sweep counts it */
	}
	return 0;
}

static void dns_sweep(struct tb *t)
{
	struct tb_load *l = &t->load;
	uint64_t now = tb_now_us();
	for (size_t s = 0; s < l->concurrency; s++)
		if (l->slots[s].busy && now - l->slots[s].sent_us > l->dns_timeout_us) {
			l->slots[s].busy = false;
			l->row[TB_KIND_GW].failed++;
			job_done(t);
		}
}

static int gw_open(struct tb *t, const struct tr_addr *gw)
{
	struct tb_load *l = &t->load;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(gw->port)};
	memcpy(&sa.sin_addr, gw->ip, 4);
	l->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		return -errno;
	if (connect(l->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -errno;
	l->rev = event_new(t->base, l->fd, EV_READ | EV_PERSIST, on_dns_read, t);
	if (!l->rev || event_add(l->rev, NULL) != 0)
		return -ENOMEM;
	return 0;
}

/* Issue jobs while there is room. */
static void pump(struct tb *t)
{
	struct tb_load *l = &t->load;
	while (l->inflight < l->concurrency && l->next < l->nq * TB_KINDS) {
		size_t job = l->next;
		uint8_t kind = (uint8_t)(job % TB_KINDS);
		const struct tb_query *q = &l->q[job / TB_KINDS];
		if (!(l->kinds & (1u << kind))) {
			l->next++;
			continue;
		}
		int e = kind == TB_KIND_GW ? gw_job_issue(t, q, job) : node_job_issue(t, q, kind);
		if (e == -EAGAIN)
			return;
		l->next++;
		if (e) {
			l->row[kind].queries++;
			l->row[kind].failed++;
			l->done_jobs++;
		}
	}
}

static bool load_done(void *arg)
{
	struct tb *t = arg;
	struct tb_load *l = &t->load;
	if (l->rev)
		dns_sweep(t);
	pump(t);
	static const char spin[] = "|/-\\";
	uint64_t el = tb_now_us() - l->started_us;
	if (l->total_jobs)
		tb_progress(t, false, "%c workload: %zu/%zu answers, %.1f s",
			    spin[(el / 250000) % 4], l->done_jobs, l->total_jobs, el / 1e6);
	return l->done_jobs >= l->total_jobs;
}

int tb_load_run(struct tb *t, const struct tr_addr *gw, uint64_t deadline_us)
{
	struct tb_load *l = &t->load;
	l->fd = -1;
	if (l->concurrency == 0)
		l->concurrency = 16;
	if (l->concurrency > 1024)
		l->concurrency = 1024;
	l->dns_timeout_us = 5000000;
	for (int k = 0; k < TB_KINDS; k++) {
		ddns_samples_init(&l->row[k].rpcs);
		ddns_samples_init(&l->row[k].hops);
		ddns_samples_init(&l->row[k].latency_ms);
	}
	if (gw && (l->kinds & (1u << TB_KIND_GW))) {
		l->slots = calloc(l->concurrency, sizeof(*l->slots));
		if (!l->slots)
			return -ENOMEM;
		int e = gw_open(t, gw);
		if (e)
			return e;
	} else {
		l->kinds &= ~(1u << TB_KIND_GW);
	}
	l->total_jobs = 0;
	for (int k = 0; k < TB_KINDS; k++)
		if (l->kinds & (1u << k))
			l->total_jobs += l->nq;
	l->started_us = tb_now_us();
	bool ok = tb_run_until(t, load_done, t, deadline_us);
	tb_progress(t, true, "workload: %zu/%zu answers in %.1f s", l->done_jobs,
		    l->total_jobs, (tb_now_us() - l->started_us) / 1e6);
	return ok ? 0 : DDNS_ETIMEDOUT;
}

void tb_load_free(struct tb_load *l)
{
	while (l->jobs) {
		struct node_job *j = l->jobs;
		job_unlink(l, j);
		free(j);
	}
	for (int k = 0; k < TB_KINDS; k++) {
		ddns_samples_free(&l->row[k].rpcs);
		ddns_samples_free(&l->row[k].hops);
		ddns_samples_free(&l->row[k].latency_ms);
	}
	if (l->rev)
		event_free(l->rev);
	if (l->fd >= 0)
		close(l->fd);
	free(l->slots);
	free(l->q);
	memset(l, 0, sizeof(*l));
	l->fd = -1;
}
