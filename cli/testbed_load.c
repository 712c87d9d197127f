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
 * the AD bit, and its latency is what a stub resolver sees. A
 * conventional job is the same query to the validating resolver of
 * --conventional; the upstream queries its name servers see are charged to
 * the lookups in flight (tb_load_upstream). The cold pass keeps a digest of
 * every DNS answer, so the two stacks' answers can be compared.
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
#include "dns/msg.h"
#include "overlay/overlay.h"

struct tb_dns_slot {
	bool busy;
	uint8_t kind;       /* the row it counts in */
	uint16_t id;
	uint32_t qi;        /* query index */
	unsigned upstream;  /* conventional: upstream queries charged to it */
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

/* --- DNS targets: the gateway and the conventional resolver --- */

static int dns_target_of(uint8_t kind)
{
	return kind == TB_KIND_CONV || kind == TB_KIND_CONV_WARM ? TB_DNS_CONV : TB_DNS_GW;
}

/* Order-independent digest of an answer: its rcode and the answer section's
 * RRs (type and RDATA; TTLs and signatures left out). Never 0. */
static uint64_t answer_digest(const uint8_t *pkt, size_t len)
{
	struct dns_msg m;
	dns_msg_init(&m);
	uint64_t d = 0;
	if (dns_msg_parse(&m, pkt, len) == 0) {
		d = 0x9e3779b97f4a7c15ull * (dns_msg_rcode(&m) + 1);
		for (size_t i = 0; i < m.sec[DNS_S_ANSWER].n; i++) {
			const struct dns_rr *rr = &m.sec[DNS_S_ANSWER].rr[i];
			if (rr->type == DNS_T_RRSIG)
				continue;
			uint64_t h = 1469598103934665603ull ^ rr->type;
			for (size_t k = 0; k < rr->rdlen; k++)
				h = (h ^ rr->rdata[k]) * 1099511628211ull;
			d += h * 2 + 1;
		}
	}
	dns_msg_clear(&m);
	return d ? d : 1;
}

static void dns_answered(struct tb *t, int target, struct tb_dns_slot *sl, const uint8_t *pkt,
			 size_t n, uint16_t flags, uint16_t an)
{
	struct tb_load *l = &t->load;
	struct tb_row *row = &l->row[sl->kind];
	unsigned rcode = flags & 0xf;
	bool cold = sl->kind == TB_KIND_GW || sl->kind == TB_KIND_CONV;
	if (cold && l->digest[target])
		l->digest[target][sl->qi] = answer_digest(pkt, n);
	/* TC: a stub would retry over TCP; the answer exists. */
	if (rcode == 0 && (an > 0 || (flags & 0x0200))) {
		row->answered++;
		if (flags & 0x0020)
			row->ad++;
		(void)ddns_samples_add(&row->latency_ms, (tb_now_us() - sl->sent_us) / 1000.0);
		if (target == TB_DNS_CONV) {
			(void)ddns_samples_add(&row->rpcs, sl->upstream);
			if (sl->upstream == 0)
				row->cache_hits++;
		}
	} else {
		row->failed++;
	}
}

static void on_dns_read(evutil_socket_t fd, short what, void *arg)
{
	struct tb_dns_target *x = arg;
	struct tb *t = x->t;
	struct tb_load *l = &t->load;
	(void)what;
	for (int i = 0; i < 64; i++) {
		uint8_t buf[4096];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return;
		if (n < 12)
			continue;
		uint16_t id = ddns_get_u16(buf), flags = ddns_get_u16(buf + 2);
		uint16_t an = ddns_get_u16(buf + 6);
		struct tb_dns_slot *sl = &l->dns[x->target].slots[id % l->concurrency];
		if (!sl->busy || sl->id != id || !(flags & 0x8000))
			continue; /* late, duplicate or not a response */
		sl->busy = false;
		dns_answered(t, x->target, sl, buf, (size_t)n, flags, an);
		job_done(t);
	}
}

static int dns_job_issue(struct tb *t, uint32_t qi, size_t job, uint8_t kind)
{
	struct tb_load *l = &t->load;
	struct tb_dns_target *d = &l->dns[dns_target_of(kind)];
	size_t s;
	for (s = 0; s < l->concurrency; s++)
		if (!d->slots[s].busy)
			break;
	if (s == l->concurrency)
		return -EAGAIN;
	/* The id picks the slot back (id % concurrency == s) and varies per job. */
	uint16_t id = (uint16_t)(s + l->concurrency * (job % (65536 / l->concurrency)));
	uint8_t pkt[512];
	size_t len;
	const struct tb_query *q = &l->q[qi];
	if (tb_dns_query(pkt, sizeof(pkt), id, 0x0100, q->wire, q->wire_len, q->type, 1, 1232,
			 &len) != 0)
		return -EINVAL;
	d->slots[s] = (struct tb_dns_slot){
		.busy = true, .kind = kind, .id = id, .qi = qi, .sent_us = tb_now_us()};
	l->row[kind].queries++;
	l->inflight++;
	if (send(d->fd, pkt, len, 0) < 0) {
		/* a full socket buffer is loss: the timeout sweep counts it */
	}
	return 0;
}

static void dns_sweep(struct tb *t)
{
	struct tb_load *l = &t->load;
	uint64_t now = tb_now_us();
	for (int d = 0; d < TB_DNS_TARGETS; d++)
		for (size_t s = 0; l->dns[d].slots && s < l->concurrency; s++) {
			struct tb_dns_slot *sl = &l->dns[d].slots[s];
			if (sl->busy && now - sl->sent_us > l->dns_timeout_us) {
				sl->busy = false;
				l->row[sl->kind].failed++;
				job_done(t);
			}
		}
}

/* Is the wire name n at or below the wire name anc? (lowercase, uncompressed) */
static bool name_under(const uint8_t *n, size_t nlen, const uint8_t *anc, size_t alen)
{
	for (size_t off = 0; off < nlen && n[off] != 0; off += (size_t)n[off] + 1) {
		if (nlen - off == alen) {
			bool eq = true;
			for (size_t k = 0; k < alen && eq; k++) {
				uint8_t c = n[off + k];
				c = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
				eq = c == anc[k];
			}
			if (eq)
				return true;
		}
	}
	return alen == 1; /* the root is above every name */
}

void tb_load_upstream(void *arg, const uint8_t *qname, size_t len)
{
	struct tb *t = arg;
	struct tb_load *l = &t->load;
	struct tb_dns_slot *best = NULL, *oldest = NULL;
	for (size_t s = 0; l->dns[TB_DNS_CONV].slots && s < l->concurrency; s++) {
		struct tb_dns_slot *sl = &l->dns[TB_DNS_CONV].slots[s];
		if (!sl->busy)
			continue;
		if (!oldest || sl->sent_us < oldest->sent_us)
			oldest = sl;
		const struct tb_query *q = &l->q[sl->qi];
		if (name_under(q->wire, q->wire_len, qname, len) &&
		    (!best || sl->sent_us < best->sent_us))
			best = sl;
	}
	if (!best)
		best = oldest;
	if (best)
		best->upstream++;
	else
		l->unattributed++;
}

void tb_load_compare(const struct tb_load *l, size_t *compared, size_t *same, size_t *first_diff)
{
	*compared = *same = 0;
	*first_diff = SIZE_MAX;
	if (!l->digest[TB_DNS_GW] || !l->digest[TB_DNS_CONV])
		return;
	for (size_t i = 0; i < l->nq; i++) {
		uint64_t a = l->digest[TB_DNS_GW][i], b = l->digest[TB_DNS_CONV][i];
		if (!a || !b)
			continue;
		(*compared)++;
		if (a == b)
			(*same)++;
		else if (*first_diff == SIZE_MAX)
			*first_diff = i;
	}
}

static int dns_open(struct tb *t, int target, const struct tr_addr *to)
{
	struct tb_load *l = &t->load;
	struct tb_dns_target *d = &l->dns[target];
	if (d->fd >= 0)
		return 0;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(to->port)};
	memcpy(&sa.sin_addr, to->ip, 4);
	d->slots = calloc(l->concurrency, sizeof(*d->slots));
	l->digest[target] = calloc(l->nq ? l->nq : 1, sizeof(uint64_t));
	if (!d->slots || !l->digest[target])
		return -ENOMEM;
	d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0)
		return -errno;
	if (connect(d->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -errno;
	d->t = t;
	d->target = target;
	d->rev = event_new(t->base, d->fd, EV_READ | EV_PERSIST, on_dns_read, d);
	if (!d->rev || event_add(d->rev, NULL) != 0)
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
		uint32_t qi = (uint32_t)(job / TB_KINDS);
		if (!(l->kinds & (1u << kind))) {
			l->next++;
			continue;
		}
		int e = kind >= TB_KIND_GW ? dns_job_issue(t, qi, job, kind)
					   : node_job_issue(t, &l->q[qi], kind);
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
	dns_sweep(t);
	pump(t);
	static const char spin[] = "|/-\\";
	uint64_t el = tb_now_us() - l->started_us;
	if (l->total_jobs)
		tb_progress(t, false, "%c workload: %zu/%zu answers, %.1f s",
			    spin[(el / 250000) % 4], l->done_jobs, l->total_jobs, el / 1e6);
	return l->done_jobs >= l->total_jobs;
}

int tb_load_run(struct tb *t, const struct tr_addr *gw, const struct tr_addr *conv,
		uint64_t deadline_us)
{
	struct tb_load *l = &t->load;
	if (!l->ready) {
		for (int d = 0; d < TB_DNS_TARGETS; d++)
			l->dns[d].fd = -1;
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
		l->ready = true;
	}
	const unsigned gw_bits = (1u << TB_KIND_GW) | (1u << TB_KIND_GW_WARM);
	const unsigned conv_bits = (1u << TB_KIND_CONV) | (1u << TB_KIND_CONV_WARM);
	int e;
	if (!gw)
		l->kinds &= ~gw_bits;
	else if ((l->kinds & gw_bits) && (e = dns_open(t, TB_DNS_GW, gw)) != 0)
		return e;
	if (!conv)
		l->kinds &= ~conv_bits;
	else if ((l->kinds & conv_bits) && (e = dns_open(t, TB_DNS_CONV, conv)) != 0)
		return e;
	l->kinds_all |= l->kinds;
	l->next = 0;
	l->done_jobs = 0;
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
	if (l->ready)
		for (int k = 0; k < TB_KINDS; k++) {
			ddns_samples_free(&l->row[k].rpcs);
			ddns_samples_free(&l->row[k].hops);
			ddns_samples_free(&l->row[k].latency_ms);
		}
	for (int d = 0; d < TB_DNS_TARGETS; d++) {
		if (l->dns[d].rev)
			event_free(l->dns[d].rev);
		if (l->ready && l->dns[d].fd >= 0)
			close(l->dns[d].fd);
		free(l->dns[d].slots);
		free(l->digest[d]);
	}
	free(l->q);
	memset(l, 0, sizeof(*l));
}
