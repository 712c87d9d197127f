/*
 * node.c - one ddnsd node: configuration, wiring of transport, RPC,
 * overlays, DHTs, validation hook, gateway, metrics and client service.
 */
#include "cli/node.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"
#include "dht/dht.h"
#include "dns/block.h"
#include "dns/dhtval.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/zonefile.h"
#include "overlay/overlay.h"
#include "overlay/overlay_impl.h" /* --test-forge wraps the DHT's value hook */
#include "overlay/rpc.h"
#include "overlay/udp.h"

/* A lookup value is [DHT wire version][source][block] (docs/PROTOCOL.md,
 * "DHT messages"); --test-forge alters the block behind this header. */
#define NODE_VAL_HDR 2

/* ---- configuration --------------------------------------------------- */

void node_config_init(struct node_config *c)
{
	memset(c, 0, sizeof(*c));
	c->replicas = 6;
	c->vnodes = 1;
	c->servfail_ttl = 30;
	c->commit_delay_ms = 5;
	c->gw_mode = GW_MODE_DEFAULT;
	c->log_level = DDNS_LOG_INFO;
}

/* Free the n strings of a list option (--overlay, --join). */
static void list_clear(char **v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free(v[i]);
	*n = 0;
}

void node_config_free(struct node_config *c)
{
	if (!c)
		return;
	list_clear(c->overlays, &c->noverlays);
	list_clear(c->join, &c->njoin);
	free(c->listen);
	free(c->dns);
	free(c->trust_anchor);
	free(c->data_dir);
	free(c->metrics);
	free(c->log_file);
	free(c->pid_file);
	memset(c, 0, sizeof(*c));
}

static int set_str(char **dst, const char *v)
{
	char *s = strdup(v);
	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int bad(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A list option (--overlay, --join): n strings of at most max. */
struct str_list {
	char **v;
	size_t *n, max;
	bool *from_args; /* the next value replaces the file's list first */
	const char *what; /* "bootstrap peers": for the message */
};

/* Append value to l (the first value from the command line replaces the
 * configuration file's values); a repeat or one too many is an error. */
static int list_add(struct str_list l, const char *opt, const char *value, char *err,
		    size_t errlen)
{
	if (*l.from_args) {
		list_clear(l.v, l.n);
		*l.from_args = false;
	}
	for (size_t i = 0; i < *l.n; i++)
		if (strcmp(l.v[i], value) == 0)
			return bad(err, errlen, "--%s %s given twice", opt, value);
	if (*l.n >= l.max)
		return bad(err, errlen, "--%s: at most %zu %s", opt, l.max, l.what);
	l.v[*l.n] = strdup(value);
	if (!l.v[*l.n])
		return -ENOMEM;
	(*l.n)++;
	return 0;
}

/* "N", "NK", "NM" or "NG" (powers of 1024), 64 KiB .. 1 TiB. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || v > (1ULL << 40) >> shift)
		return -1;
	v <<= shift;
	if (v < (64ULL << 10))
		return -1;
	*out = v;
	return 0;
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	if (!s || !*s || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int check_addr(const char *opt, const char *v, bool port0_ok, char *err, size_t errlen)
{
	struct tr_addr a;
	if (tr_addr_parse(v, 0, &a) != 0 || (a.port == 0 && !port0_ok))
		return bad(err, errlen, "--%s: bad address '%s' (want ADDR:PORT, e.g. 127.0.0.2:5300)",
			   opt, v);
	return 0;
}

int node_config_set(struct node_config *c, const char *name, const char *value, char *err,
		    size_t errlen)
{
	static const char *const with_value[] = {
		"listen", "overlay", "join", "dns", "trust-anchor", "data-dir", "replicas",
		"vnodes", "gateway-mode", "servfail-ttl", "rate-limit", "amp-factor", "metrics", "log-level",
		"log-file", "pid-file", "max-store", "rpc-rate-limit", "store-rate-limit",
		"zone-quota", "zone-quota-net", "commit-delay"};
	bool needs = false, known = strcmp(name, "test-forge") == 0;
	for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++)
		if (strcmp(name, with_value[i]) == 0)
			needs = known = true;
	if (!known)
		return bad(err, errlen, "unknown option '%s'", name);
	if (needs && (!value || !*value))
		return bad(err, errlen, "--%s needs a value", name);
	if (!needs && value && *value && strcmp(value, "yes") != 0 && strcmp(value, "true") != 0 &&
	    strcmp(value, "1") != 0)
		return bad(err, errlen, "--%s takes no value (got '%s')", name, value);

	int rc = 0;
	if (strcmp(name, "listen") == 0) {
		if ((rc = check_addr(name, value, true, err, errlen)) == 0)
			rc = set_str(&c->listen, value);
	} else if (strcmp(name, "join") == 0) {
		if ((rc = check_addr(name, value, false, err, errlen)) == 0)
			rc = list_add((struct str_list){c->join, &c->njoin, NODE_MAX_JOIN,
							&c->joins_from_args, "bootstrap peers"},
				      name, value, err, errlen);
	} else if (strcmp(name, "dns") == 0) {
		if ((rc = check_addr(name, value, true, err, errlen)) == 0)
			rc = set_str(&c->dns, value);
	} else if (strcmp(name, "metrics") == 0) {
		if ((rc = check_addr(name, value, true, err, errlen)) == 0)
			rc = set_str(&c->metrics, value);
	} else if (strcmp(name, "overlay") == 0) {
		if (!ovl_ops_by_name(value))
			return bad(err, errlen, "--overlay: unknown overlay '%s' (want chord or kad16)",
				   value);
		rc = list_add((struct str_list){c->overlays, &c->noverlays, CLI_MAX_OVL,
						&c->overlays_from_args, "overlays"},
			      name, value, err, errlen);
	} else if (strcmp(name, "trust-anchor") == 0) {
		rc = set_str(&c->trust_anchor, value);
	} else if (strcmp(name, "data-dir") == 0) {
		rc = set_str(&c->data_dir, value);
	} else if (strcmp(name, "log-file") == 0) {
		rc = set_str(&c->log_file, value);
	} else if (strcmp(name, "pid-file") == 0) {
		rc = set_str(&c->pid_file, value);
	} else if (strcmp(name, "replicas") == 0) {
		if (parse_uint(value, 1, OVL_MAX_REPLICAS, &c->replicas) != 0)
			return bad(err, errlen, "--replicas: want a number from 1 to %d, got '%s'",
				   OVL_MAX_REPLICAS, value);
	} else if (strcmp(name, "servfail-ttl") == 0) {
		if (parse_uint(value, 0, 3600, &c->servfail_ttl) != 0)
			return bad(err, errlen,
				   "--servfail-ttl: want seconds from 0 to 3600, got '%s'", value);
	} else if (strcmp(name, "rate-limit") == 0) {
		if (parse_uint(value, 0, 1000000, &c->rate_limit) != 0)
			return bad(err, errlen,
				   "--rate-limit: want queries per second from 0 to 1000000, got '%s'",
				   value);
	} else if (strcmp(name, "rpc-rate-limit") == 0) {
		if (parse_uint(value, 0, 1000000, &c->rpc_rate_limit) != 0)
			return bad(err, errlen,
				   "--rpc-rate-limit: want requests per second from 0 to 1000000, got '%s'",
				   value);
	} else if (strcmp(name, "store-rate-limit") == 0) {
		if (parse_uint(value, 0, 1000000, &c->store_rate_limit) != 0)
			return bad(err, errlen,
				   "--store-rate-limit: want copies per second from 0 to 1000000, got '%s'",
				   value);
	} else if (strcmp(name, "amp-factor") == 0) {
		if (parse_uint(value, 0, 100, &c->amp_factor) != 0 || c->amp_factor == 1)
			return bad(err, errlen,
				   "--amp-factor: want 0 (off) or a factor from 2 to 100, got '%s'", value);
	} else if (strcmp(name, "commit-delay") == 0) {
		if (parse_uint(value, 0, 1000, &c->commit_delay_ms) != 0)
			return bad(err, errlen,
				   "--commit-delay: want milliseconds from 0 to 1000, got '%s'", value);
	} else if (strcmp(name, "max-store") == 0) {
		if (parse_size(value, &c->max_store) != 0)
			return bad(err, errlen,
				   "--max-store: want a size in bytes (suffix K, M or G) from 64K to "
				   "1024G, got '%s'",
				   value);
	} else if (strcmp(name, "zone-quota") == 0 || strcmp(name, "zone-quota-net") == 0) {
		bool net = name[10] == '-';
		if (parse_size(value, net ? &c->zone_quota_net : &c->zone_quota) != 0)
			return bad(err, errlen,
				   "--%s: want a size in bytes (suffix K, M or G) from 64K to 1024G, "
				   "got '%s'",
				   name, value);
	} else if (strcmp(name, "vnodes") == 0) {
		if (parse_uint(value, 1, NODE_MAX_VNODES, &c->vnodes) != 0)
			return bad(err, errlen, "--vnodes: want a number from 1 to %d, got '%s'",
				   NODE_MAX_VNODES, value);
	} else if (strcmp(name, "gateway-mode") == 0) {
		if (strcmp(value, "default") == 0)
			c->gw_mode = GW_MODE_DEFAULT;
		else if (strcmp(value, "compare") == 0)
			c->gw_mode = GW_MODE_COMPARE;
		else
			return bad(err, errlen, "--gateway-mode: want default or compare, got '%s'",
				   value);
	} else if (strcmp(name, "log-level") == 0) {
		if (ddns_log_level_parse(value, &c->log_level) != 0)
			return bad(err, errlen,
				   "--log-level: want error, warn, info or debug, got '%s'", value);
	} else if (strcmp(name, "test-forge") == 0) {
		c->test_forge = true;
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	return rc;
}

int node_config_load(struct node_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		snprintf(err, errlen, "cannot read config file %s: %s", path, strerror(e));
		return -e;
	}
	char line[4096];
	unsigned lineno = 0;
	int rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		size_t l = strlen(line);
		if (l == sizeof(line) - 1 && line[l - 1] != '\n') {
			rc = bad(err, errlen, "%s:%u: line too long", path, lineno);
			break;
		}
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			continue;
		char *name = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = 0;
		while (isspace((unsigned char)*p))
			p++;
		char *value = p;
		char *end = value + strlen(value);
		while (end > value && isspace((unsigned char)end[-1]))
			*--end = 0;
		if (strncmp(name, "--", 2) == 0)
			name += 2;
		if (strcmp(name, "config") == 0) {
			rc = bad(err, errlen, "%s:%u: 'config' cannot be nested", path, lineno);
			break;
		}
		char why[512];
		rc = node_config_set(c, name, *value ? value : NULL, why, sizeof(why));
		if (rc) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			break;
		}
	}
	fclose(f);
	return rc;
}

int node_config_check(const struct node_config *c, char *err, size_t errlen)
{
	if (!c->listen)
		return bad(err, errlen, "--listen ADDR:PORT is required");
	for (size_t i = 0; i < c->njoin; i++)
		if (strcmp(c->join[i], c->listen) == 0)
			return bad(err, errlen, "--join names this node's own address");
	return 0;
}

/* ---- the node -------------------------------------------------------- */

struct node;

/* One overlay instance: a vnode of one overlay, with its DHT. */
struct inst {
	struct node *n;
	const struct ovl_ops *ops;
	uint8_t wire;
	uint8_t vnode;
	struct ovl *o;
	struct dht *d;
	/* --test-forge: the DHT's own value hook, and the altered copy. */
	ovl_value_cb real_cb;
	void *real_arg;
	uint8_t *forged;
	uint64_t forged_served;
};

struct node {
	struct event_base *base;
	struct tr *tr;
	struct rpc *rpc;
	struct ddns_blockval *bv;
	bool have_anchor;
	struct inst *inst;
	size_t ninst;
	size_t prim[CLI_MAX_OVL]; /* index of vnode 0 of each overlay, default first */
	size_t nprim;
	struct gw *gw;
	struct evhttp *http;
	unsigned replicas;
	time_t started;
	bool leaving;
	bool closing;
	bool client_registered;
	/* Bootstrap: the --join peers, and the status probes sent to them
	 * when there are several (the first answer picks the peer). */
	struct tr_addr boot[NODE_MAX_JOIN];
	size_t nboot;
	struct node_probe {
		struct node *n;
		size_t idx;
		uint64_t handle;
		bool pending;
	} probe[NODE_MAX_JOIN];
	int probe_best;   /* the best peer that answered so far, -1: none */
	int probe_rank;   /* its rank (probe_rank_of) */
	bool joined;
};

/* Validation hook used when no trust anchor is configured: refuses all. */
static void refuse_all(void *arg, struct dht *d, const uint8_t key[DHT_KEY_LEN],
		       const uint8_t *blk, size_t len, dht_validate_done_cb done, void *done_arg)
{
	done(done_arg, DDNS_ENOCHAIN, NULL);
}

static int load_anchors(struct node *n, const char *path, char *err, size_t errlen)
{
	struct dns_rrlist l, a;
	char why[DNS_ZONE_ERR_MAX];
	dns_rrlist_init(&l);
	dns_rrlist_init(&a);
	int rc = dns_zone_load_file(path, NULL, 3600, &l, why, sizeof(why));
	if (rc) {
		snprintf(err, errlen, "--trust-anchor %s: %s", path,
			 why[0] ? why : ddns_strerror(rc));
		goto out;
	}
	for (size_t i = 0; i < l.n; i++)
		if ((l.rr[i].type == DNS_T_DS || l.rr[i].type == DNS_T_DNSKEY) &&
		    (rc = dns_rrlist_add(&a, &l.rr[i])) != 0)
			goto out;
	if (a.n == 0) {
		snprintf(err, errlen, "--trust-anchor %s: no DS or DNSKEY record in the file", path);
		rc = -EINVAL;
		goto out;
	}
	int e = 0;
	n->bv = ddns_blockval_new(a.rr, a.n, NULL, NULL, 0, &e);
	if (!n->bv) {
		snprintf(err, errlen, "--trust-anchor %s: %s", path, ddns_strerror(e));
		rc = e ? e : -ENOMEM;
		goto out;
	}
	n->have_anchor = true;
	log_info("trust anchor: %zu record(s) from %s", a.n, path);
out:
	dns_rrlist_free(&l);
	dns_rrlist_free(&a);
	return rc;
}

/* --test-forge: answer lookups with an altered copy of the block (an A,
 * AAAA or TXT datum with one bit flipped, otherwise the first RRSIG's last
 * signature octet), so every honest reader must find it bogus. */
static bool forge_value(void *arg, const uint8_t key[DDNS_ID_LEN], const uint8_t *probe,
			size_t probe_len, const uint8_t **val, size_t *len)
{
	struct inst *x = arg;
	const uint8_t *v;
	size_t vl;
	if (!x->real_cb || !x->real_cb(x->real_arg, key, probe, probe_len, &v, &vl))
		return false;
	*val = v;
	*len = vl;
	if (vl <= NODE_VAL_HDR)
		return true;
	struct dns_block b;
	struct ddns_wbuf w;
	dns_block_init(&b);
	ddns_wbuf_init(&w, 0);
	if (dns_block_decode(&b, v + NODE_VAL_HDR, vl - NODE_VAL_HDR) != 0)
		goto out;
	struct dns_rr *rr = &b.data.rrs.rr[0];
	if ((rr->type == DNS_T_A || rr->type == DNS_T_AAAA || rr->type == DNS_T_TXT) && rr->rdlen)
		rr->rdata[rr->rdlen - 1] ^= 1;
	else if (b.data.sigs.n && b.data.sigs.rr[0].rdlen)
		b.data.sigs.rr[0].rdata[b.data.sigs.rr[0].rdlen - 1] ^= 1;
	else
		goto out;
	ddns_wbuf_put(&w, v, NODE_VAL_HDR);
	if (dns_block_encode(&b, &w) != 0 || w.err)
		goto out;
	free(x->forged);
	x->forged = w.p; /* kept until the next call: the hook's borrow rule */
	w.p = NULL;
	*val = x->forged;
	*len = w.len;
	x->forged_served++;
	log_debug("test-forge: served an altered block (%s vnode %u)", x->ops->name, x->vnode);
out:
	ddns_wbuf_free(&w);
	dns_block_clear(&b);
	return true;
}

static struct inst *inst_for(struct node *n, uint8_t wire)
{
	for (size_t i = 0; i < n->nprim; i++)
		if (wire == 0 || n->inst[n->prim[i]].wire == wire)
			return &n->inst[n->prim[i]];
	return NULL;
}

void node_status(struct node *n, struct cli_status *out)
{
	memset(out, 0, sizeof(*out));
	time_t now = time(NULL);
	out->uptime_s = now > n->started ? (uint32_t)(now - n->started) : 0;
	out->dns_port = n->gw ? gw_port(n->gw) : 0;
	out->replicas = (uint8_t)n->replicas;
	out->flags = (n->joined ? CLI_ST_JOINED : 0) | (n->nboot == 0 ? CLI_ST_FOUNDER : 0);
	for (size_t i = 0; i < n->ninst && out->ninst < CLI_MAX_INST; i++) {
		struct inst *x = &n->inst[i];
		struct cli_inst *c = &out->inst[out->ninst++];
		struct ovl_stats os;
		struct dht_stats ds;
		struct ovl_node rs[OVL_MAX_REPLICAS];
		ovl_get_stats(x->o, &os);
		dht_get_stats(x->d, &ds);
		c->overlay = x->wire;
		c->vnode = x->vnode;
		c->routing_size = (uint32_t)os.routing_size;
		c->neighbours = (uint32_t)ovl_replica_set(x->o, ovl_self(x->o)->id, rs,
							  OVL_MAX_REPLICAS);
		c->blocks_primary = (uint32_t)ds.blocks_primary;
		c->blocks_replica = (uint32_t)ds.blocks_replica;
		c->blocks_cache = (uint32_t)ds.blocks_cache;
		c->lookups = os.lookups;
		c->lookup_rpcs = os.lookup_rpcs;
		c->lookup_hops = os.lookup_hops;
		c->gets = ds.gets;
		c->gets_ok = ds.gets_ok;
		c->puts = ds.puts;
		c->puts_ok = ds.puts_ok;
		c->forged_served = x->forged_served;
	}
}

/* ---- client service -------------------------------------------------- */

struct put_op;
struct put_slot {
	struct put_op *op;
	size_t idx;
};

struct put_op {
	struct node *n;
	struct rpc_reply_to rt;
	size_t nres, pending;
	struct cli_put_result res[CLI_MAX_OVL];
	struct put_slot slot[CLI_MAX_OVL];
	char what[DNS_NAME_MAX * 4 + 16];
};

struct get_op {
	struct node *n;
	struct rpc_reply_to rt;
	uint8_t overlay;
};

static void reply_later(struct node *n, const struct rpc_reply_to *rt, uint8_t type,
			const struct ddns_wbuf *w)
{
	if (n->closing || w->err)
		return;
	if (rpc_reply_later(n->rpc, rt, type, w->p, w->len) != 0)
		log_warn("client: could not send a reply");
}

static void put_done(void *arg, const struct dht_put_result *res)
{
	struct put_slot *s = arg;
	struct put_op *op = s->op;
	struct cli_put_result *r = &op->res[s->idx];
	r->status = res->status;
	r->replicas = res->replicas_stored;
	r->rpcs = res->rpcs;
	r->hops = res->hops;
	snprintf(r->reason, sizeof(r->reason), "%s", res->reason ? res->reason : "");
	if (res->status)
		log_info("put %s via %s: %s%s%s", op->what, ovl_wire_name(r->overlay),
			 ddns_strerror(res->status), r->reason[0] ? ": " : "", r->reason);
	else
		log_info("put %s via %s: stored, %u replicas, %u rpcs, %u hops", op->what,
			 ovl_wire_name(r->overlay), r->replicas, r->rpcs, r->hops);
	if (--op->pending)
		return;
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	cli_msg_put_r(&w, op->res, op->nres);
	reply_later(op->n, &op->rt, CLI_PUT_R, &w);
	ddns_wbuf_free(&w);
	free(op);
}

static void describe(char *out, size_t size, const struct dns_name *owner, uint16_t type)
{
	char name[DNS_NAME_MAX * 4 + 1], tb[DNS_MNEMONIC_MAX];
	if (dns_name_to_str(owner, name, sizeof(name)) < 0)
		snprintf(name, sizeof(name), "?");
	snprintf(out, size, "%s/%s", name, dns_type_to_str(type, tb));
}

static void client_put(struct node *n, const struct rpc_msg *req)
{
	uint8_t mask;
	const uint8_t *blk;
	size_t blen;
	struct cli_put_result bad1 = {.status = DDNS_EMALFORMED};
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	if (cli_msg_put_decode(req->payload, req->len, &mask, &blk, &blen) != 0) {
		snprintf(bad1.reason, sizeof(bad1.reason), "malformed client message");
		goto refuse;
	}
	struct dns_block b;
	dns_block_init(&b);
	int err = dns_block_decode(&b, blk, blen);
	if (err) {
		snprintf(bad1.reason, sizeof(bad1.reason), "not a DDNS block: %s",
			 ddns_strerror(err));
		bad1.status = err;
		goto refuse;
	}
	uint8_t key[DHT_KEY_LEN];
	struct dns_name at;
	uint16_t at_type;
	if (dns_block_locate(&b, &at, &at_type, key) != 0) {
		dns_block_clear(&b);
		snprintf(bad1.reason, sizeof(bad1.reason), "denial block of a zone too deep");
		goto refuse;
	}
	struct put_op *op = calloc(1, sizeof(*op));
	if (!op) {
		dns_block_clear(&b);
		bad1.status = -ENOMEM;
		snprintf(bad1.reason, sizeof(bad1.reason), "out of memory");
		goto refuse;
	}
	describe(op->what, sizeof(op->what), &at, at_type);
	dns_block_clear(&b);
	op->n = n;
	rpc_reply_to_from(req, &op->rt);
	for (size_t i = 0; i < n->nprim; i++) {
		struct inst *x = &n->inst[n->prim[i]];
		if (mask && !(mask & OVL_BIT(x->wire)))
			continue;
		op->res[op->nres].overlay = x->wire;
		op->slot[op->nres] = (struct put_slot){op, op->nres};
		op->nres++;
	}
	if (op->nres == 0) {
		free(op);
		bad1.status = -EINVAL;
		snprintf(bad1.reason, sizeof(bad1.reason), "this node runs none of those overlays");
		goto refuse;
	}
	/* Count every slot first: a dht_put that fails at once must not
	 * complete the op before the others are issued. */
	op->pending = op->nres + 1;
	for (size_t i = 0; i < op->nres; i++) {
		struct inst *x = inst_for(n, op->res[i].overlay);
		int e = dht_put(x->d, key, blk, blen, put_done, &op->slot[i]);
		if (e) {
			struct dht_put_result r = {.status = e, .reason = "refused by this node"};
			put_done(&op->slot[i], &r);
		}
	}
	if (--op->pending == 0) { /* every slot already done */
		cli_msg_put_r(&w, op->res, op->nres);
		reply_later(n, &op->rt, CLI_PUT_R, &w);
		free(op);
	}
	ddns_wbuf_free(&w);
	return;
refuse:
	cli_msg_put_r(&w, &bad1, 1);
	if (!w.err && rpc_reply(n->rpc, req, CLI_PUT_R, w.p, w.len) != 0)
		log_warn("client: could not send a reply");
	ddns_wbuf_free(&w);
}

static void get_done(void *arg, const struct dht_get_result *res)
{
	struct get_op *op = arg;
	struct cli_get_result r = {
		.status = res->status,
		.overlay = op->overlay,
		.rpcs = res->rpcs,
		.hops = res->hops,
		.source = (uint8_t)res->source,
		.from = res->from,
		.version = res->status == 0 ? res->meta.version : 0,
		.block = res->status == 0 ? res->block : NULL,
		.len = res->status == 0 ? res->len : 0,
	};
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	cli_msg_get_r(&w, &r);
	reply_later(op->n, &op->rt, CLI_GET_R, &w);
	ddns_wbuf_free(&w);
	free(op);
}

static void client_get(struct node *n, const struct rpc_msg *req)
{
	uint8_t overlay, flags;
	const uint8_t *name;
	size_t nlen;
	uint16_t type;
	struct cli_get_result r = {.status = DDNS_EMALFORMED};
	struct dns_name owner;
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	size_t off = 0;
	if (cli_msg_get_decode(req->payload, req->len, &overlay, &flags, &name, &nlen, &type) !=
		    0 ||
	    dns_name_from_wire(&owner, name, nlen, &off, false) != 0 || off != nlen)
		goto reply;
	struct inst *x = inst_for(n, overlay);
	if (!x) {
		r.status = -EINVAL;
		goto reply;
	}
	r.overlay = x->wire;
	uint8_t key[DHT_KEY_LEN];
	dns_block_key(&owner, type, key);
	if (flags & CLI_GET_LOCAL) {
		enum dht_source s = dht_local(x->d, key, &r.version);
		r.status = s == DHT_SRC_NONE ? DDNS_ENOTFOUND : 0;
		r.source = (uint8_t)s;
		r.from = *ovl_self(x->o);
		goto reply;
	}
	struct get_op *op = calloc(1, sizeof(*op));
	if (!op) {
		r.status = -ENOMEM;
		goto reply;
	}
	op->n = n;
	op->overlay = x->wire;
	rpc_reply_to_from(req, &op->rt);
	int err = dht_get(x->d, key, get_done, op);
	if (err) {
		free(op);
		r.status = err;
		goto reply;
	}
	ddns_wbuf_free(&w);
	return;
reply:
	cli_msg_get_r(&w, &r);
	if (!w.err && rpc_reply(n->rpc, req, CLI_GET_R, w.p, w.len) != 0)
		log_warn("client: could not send a reply");
	ddns_wbuf_free(&w);
}

static void client_request(void *arg, const struct rpc_msg *req)
{
	struct node *n = arg;
	if (n->leaving)
		return;
	switch (req->type) {
	case CLI_STATUS: {
		struct cli_status *st = malloc(sizeof(*st));
		struct ddns_wbuf w;
		ddns_wbuf_init(&w, 0);
		if (st) {
			node_status(n, st);
			if (cli_msg_status_r(&w, st) &&
			    rpc_reply(n->rpc, req, CLI_STATUS_R, w.p, w.len) != 0)
				log_warn("client: could not send a reply");
		}
		ddns_wbuf_free(&w);
		free(st);
		break;
	}
	case CLI_PUT:
		client_put(n, req);
		break;
	case CLI_GET:
		client_get(n, req);
		break;
	default:
		log_debug("client: unknown request type %u dropped", req->type);
		break;
	}
}

/* ---- metrics --------------------------------------------------------- */

struct metric {
	const char *name, *help, *type;
	size_t off; /* index into the value row below */
};

enum {
	M_ROUTING, M_NEIGH, M_LOOKUPS, M_LOOKUPS_OK, M_LOOKUPS_FAILED, M_LOOKUP_RPCS,
	M_LOOKUP_HOPS, M_MAINT_RPCS, M_SERVED, M_SPOOFED, M_PRIMARY, M_REPLICA, M_CACHE,
	M_BYTES, M_PUTS, M_PUTS_OK, M_GETS, M_GETS_OK, M_REFUSED, M_DHT_RPCS, M_FORGED, M_COUNT
};

static const struct metric metrics[] = {
	{"ddns_overlay_routing_size", "Distinct nodes in the routing state.", "gauge", M_ROUTING},
	{"ddns_overlay_neighbours", "Size of this instance's own replica set.", "gauge", M_NEIGH},
	{"ddns_overlay_lookups_total", "Overlay lookups started.", "counter", M_LOOKUPS},
	{"ddns_overlay_lookups_ok_total", "Overlay lookups that succeeded.", "counter",
	 M_LOOKUPS_OK},
	{"ddns_overlay_lookups_failed_total", "Overlay lookups that failed.", "counter",
	 M_LOOKUPS_FAILED},
	{"ddns_overlay_lookup_rpcs_total", "RPCs sent by completed lookups.", "counter",
	 M_LOOKUP_RPCS},
	{"ddns_overlay_lookup_hops_total", "Sequential hops of completed lookups.", "counter",
	 M_LOOKUP_HOPS},
	{"ddns_overlay_maintenance_rpcs_total", "Maintenance RPCs sent.", "counter", M_MAINT_RPCS},
	{"ddns_overlay_requests_served_total", "Overlay RPCs answered.", "counter", M_SERVED},
	{"ddns_overlay_spoofed_ignored_total", "Node references whose id did not match.",
	 "counter", M_SPOOFED},
	{"ddns_dht_blocks_primary", "Blocks stored that this node is responsible for.", "gauge",
	 M_PRIMARY},
	{"ddns_dht_blocks_replica", "Blocks stored as a replica.", "gauge", M_REPLICA},
	{"ddns_dht_blocks_cache", "Blocks cached.", "gauge", M_CACHE},
	{"ddns_dht_bytes_stored", "Block bytes stored.", "gauge", M_BYTES},
	{"ddns_dht_puts_total", "Puts issued here.", "counter", M_PUTS},
	{"ddns_dht_puts_ok_total", "Puts issued here that succeeded.", "counter", M_PUTS_OK},
	{"ddns_dht_gets_total", "Gets issued here.", "counter", M_GETS},
	{"ddns_dht_gets_ok_total", "Gets issued here that succeeded.", "counter", M_GETS_OK},
	{"ddns_dht_refused_total", "Blocks refused (bogus, stale, quota, other).", "counter",
	 M_REFUSED},
	{"ddns_dht_rpcs_total", "DHT RPCs sent.", "counter", M_DHT_RPCS},
	{"ddns_test_forged_served_total", "Altered values served (--test-forge only).", "counter",
	 M_FORGED},
};

static void inst_row(struct inst *x, uint64_t v[M_COUNT])
{
	struct ovl_stats os;
	struct dht_stats ds;
	struct ovl_node rs[OVL_MAX_REPLICAS];
	ovl_get_stats(x->o, &os);
	dht_get_stats(x->d, &ds);
	v[M_ROUTING] = os.routing_size;
	v[M_NEIGH] = ovl_replica_set(x->o, ovl_self(x->o)->id, rs, OVL_MAX_REPLICAS);
	v[M_LOOKUPS] = os.lookups;
	v[M_LOOKUPS_OK] = os.lookups_ok;
	v[M_LOOKUPS_FAILED] = os.lookups_failed;
	v[M_LOOKUP_RPCS] = os.lookup_rpcs;
	v[M_LOOKUP_HOPS] = os.lookup_hops;
	v[M_MAINT_RPCS] = os.maint_rpcs;
	v[M_SERVED] = os.requests_served;
	v[M_SPOOFED] = os.spoofed_ignored;
	v[M_PRIMARY] = ds.blocks_primary;
	v[M_REPLICA] = ds.blocks_replica;
	v[M_CACHE] = ds.blocks_cache;
	v[M_BYTES] = ds.bytes_stored;
	v[M_PUTS] = ds.puts;
	v[M_PUTS_OK] = ds.puts_ok;
	v[M_GETS] = ds.gets;
	v[M_GETS_OK] = ds.gets_ok;
	v[M_REFUSED] = ds.refused_bogus + ds.refused_stale + ds.refused_quota + ds.refused_other;
	v[M_DHT_RPCS] = ds.rpcs_sent;
	v[M_FORGED] = x->forged_served;
}

static void metrics_text(struct node *n, struct evbuffer *b)
{
	uint64_t(*rows)[M_COUNT] = calloc(n->ninst ? n->ninst : 1, sizeof(*rows));
	if (!rows)
		return;
	for (size_t i = 0; i < n->ninst; i++)
		inst_row(&n->inst[i], rows[i]);
	for (size_t m = 0; m < sizeof(metrics) / sizeof(metrics[0]); m++) {
		evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", metrics[m].name,
				    metrics[m].help, metrics[m].name, metrics[m].type);
		for (size_t i = 0; i < n->ninst; i++)
			evbuffer_add_printf(b, "%s{overlay=\"%s\",vnode=\"%u\"} %llu\n",
					    metrics[m].name, n->inst[i].ops->name,
					    n->inst[i].vnode,
					    (unsigned long long)rows[i][metrics[m].off]);
	}
	free(rows);
	struct rpc_stats rs;
	rpc_get_stats(n->rpc, &rs);
	const struct {
		const char *name;
		uint64_t v;
	} rpcm[] = {
		{"ddns_rpc_calls_total", rs.calls},
		{"ddns_rpc_retransmits_total", rs.retransmits},
		{"ddns_rpc_timeouts_total", rs.timeouts},
		{"ddns_rpc_requests_in_total", rs.requests_in},
		{"ddns_rpc_datagrams_in_total", rs.datagrams_in},
		{"ddns_rpc_datagrams_out_total", rs.datagrams_out},
		{"ddns_rpc_bytes_in_total", rs.bytes_in},
		{"ddns_rpc_bytes_out_total", rs.bytes_out},
		{"ddns_rpc_dropped_malformed_total", rs.dropped_malformed},
		{"ddns_rpc_dropped_spoofed_total", rs.dropped_spoofed},
		{"ddns_rpc_dropped_rate_total", rs.dropped_rate},
	};
	for (size_t i = 0; i < sizeof(rpcm) / sizeof(rpcm[0]); i++)
		evbuffer_add_printf(b, "# TYPE %s counter\n%s %llu\n", rpcm[i].name, rpcm[i].name,
				    (unsigned long long)rpcm[i].v);
	evbuffer_add_printf(b, "# TYPE ddns_node_uptime_seconds gauge\nddns_node_uptime_seconds %lld\n",
			    (long long)(time(NULL) - n->started));
	if (n->gw) {
		struct ddns_wbuf w;
		ddns_wbuf_init(&w, 0);
		if (gw_metrics_text(n->gw, &w) == 0 && !w.err)
			evbuffer_add(b, w.p, w.len);
		ddns_wbuf_free(&w);
	}
}

static void http_request(struct evhttp_request *req, void *arg)
{
	struct node *n = arg;
	const char *uri = evhttp_request_get_uri(req);
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	if (!uri || (strcmp(uri, "/metrics") != 0 && strncmp(uri, "/metrics?", 9) != 0 &&
		     strcmp(uri, "/") != 0)) {
		evhttp_send_error(req, HTTP_NOTFOUND, "Not Found (try /metrics)");
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
		return;
	}
	metrics_text(n, b);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

static int start_metrics(struct node *n, const char *spec, char *err, size_t errlen)
{
	struct tr_addr a;
	char host[INET6_ADDRSTRLEN];
	if (tr_addr_parse(spec, 0, &a) != 0)
		return bad(err, errlen, "--metrics: bad address '%s'", spec);
	inet_ntop(a.family == TR_AF_INET ? AF_INET : AF_INET6, a.ip, host, sizeof(host));
	n->http = evhttp_new(n->base);
	if (!n->http)
		return bad(err, errlen, "--metrics: cannot create the HTTP server");
	evhttp_set_gencb(n->http, http_request, n);
	evhttp_set_allowed_methods(n->http, EVHTTP_REQ_GET);
	if (!evhttp_bind_socket_with_handle(n->http, host, a.port))
		return bad(err, errlen, "--metrics: cannot listen on %s: %s", spec, strerror(errno));
	log_info("metrics: http://%s/metrics", spec);
	return 0;
}

/* ---- life cycle ------------------------------------------------------ */

static int make_dir(const char *path, char *err, size_t errlen)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	int e = errno;
	snprintf(err, errlen, "--data-dir: cannot create %s: %s", path, strerror(e));
	return -e;
}

static int start_inst(struct node *n, struct inst *x, const struct node_config *c, char *err,
		      size_t errlen)
{
	struct ovl_params op;
	ovl_params_default(&op);
	op.vnode = x->vnode;
	op.replicas = c->replicas;
	x->o = ovl_new(x->ops, n->rpc, &op);
	if (!x->o)
		return bad(err, errlen, "cannot create %s vnode %u", x->ops->name, x->vnode);
	struct dht_params dp;
	dht_params_default(&dp);
	dp.replicas = c->replicas;
	dp.store_peer_rate = c->store_rate_limit;
	dp.zone_quota_bytes = c->zone_quota;
	dp.zone_quota_net_bytes = c->zone_quota_net;
	dp.commit_delay_us = (uint64_t)c->commit_delay_ms * 1000;
	if (c->max_store) {
		dp.max_store_bytes = c->max_store;
		/* The map holds the blocks and LMDB's pages around them: the
		 * bound is reached before the map is. */
		uint64_t map = 2 * c->max_store + (64ULL << 20);
		if (map > dp.map_size)
			dp.map_size = (size_t)map;
	}
	char dir[4096];
	if (c->data_dir) {
		if (snprintf(dir, sizeof(dir), "%s/%s-%u", c->data_dir, x->ops->name, x->vnode) >=
		    (int)sizeof(dir))
			return bad(err, errlen, "--data-dir: path too long");
		dp.data_dir = dir;
	}
	int e = 0;
	x->d = dht_new(x->o, &dp, n->have_anchor ? ddns_blockval_validate : refuse_all, n->bv,
		       &e);
	if (!x->d) {
		if (c->data_dir)
			snprintf(err, errlen, "cannot open the store in %s: %s", dir,
				 ddns_strerror(e));
		else
			snprintf(err, errlen, "cannot create the DHT for %s: %s", x->ops->name,
				 ddns_strerror(e));
		return e ? e : -ENOMEM;
	}
	if (c->test_forge) {
		x->real_cb = x->o->value_cb;
		x->real_arg = x->o->value_arg;
		ovl_set_value_hook(x->o, forge_value, x);
	}
	return 0;
}

/* Join every instance: vnode 0 of each overlay through bootstrap (NULL: it
 * starts a new network), other vnodes through bootstrap or else through our
 * own vnode 0. */
static int join_all(struct node *n, const struct tr_addr *bootstrap)
{
	const struct tr_addr *self = tr_self(n->tr);
	n->joined = true;
	for (size_t i = 0; i < n->ninst; i++) {
		struct inst *x = &n->inst[i];
		const struct tr_addr *bp = bootstrap ? bootstrap : (x->vnode ? self : NULL);
		int e = ovl_join(x->o, bp);
		if (e) {
			log_err("%s vnode %u: join failed: %s", x->ops->name, x->vnode,
				  ddns_strerror(e));
			return e;
		}
	}
	if (bootstrap) {
		char a[TR_ADDRSTRLEN];
		log_info("joining through %s", tr_addr_str(bootstrap, a));
	}
	return 0;
}

static void cancel_probes(struct node *n)
{
	for (size_t i = 0; i < n->nboot; i++)
		if (n->probe[i].pending) {
			rpc_cancel(n->rpc, n->probe[i].handle);
			n->probe[i].pending = false;
		}
}

/* A status probe's outcome: the first peer that answers is the bootstrap;
 * when every probe went unanswered, join through the first peer listed
 * (the overlays keep retrying it until it comes up). */
/*
 * How good a bootstrap peer is, by its status (lower is better). A peer in
 * a ring (it knows another node in every overlay) is joined at once; a
 * peer still joining itself would hand out an empty table, and the ring's
 * members would learn of us only at their next refresh; two peers that
 * wait for each other would make a ring of their own. So among the rest: a
 * founder still alone (the first node of the ring), then a peer that has
 * started to join, then one that is still choosing its own peer.
 */
enum { PROBE_IN_RING, PROBE_FOUNDER, PROBE_JOINING, PROBE_WAITING };

static int probe_rank_of(const struct cli_status *st)
{
	bool in_ring = st->ninst > 0;
	for (size_t i = 0; in_ring && i < st->ninst; i++)
		in_ring = st->inst[i].routing_size > 0;
	if (in_ring)
		return PROBE_IN_RING;
	if (st->flags & CLI_ST_FOUNDER)
		return PROBE_FOUNDER;
	return st->flags & CLI_ST_JOINED ? PROBE_JOINING : PROBE_WAITING;
}

static void probe_reply(void *arg, int status, const struct rpc_msg *reply)
{
	struct node_probe *p = arg;
	struct node *n = p->n;
	char a[TR_ADDRSTRLEN];
	p->pending = false;
	if (n->joined || n->closing)
		return;
	if (status == 0) {
		struct cli_status st;
		int rank = reply->type == CLI_STATUS_R &&
				   cli_msg_status_r_decode(reply->payload, reply->len, &st) == 0
			       ? probe_rank_of(&st)
			       : PROBE_WAITING;
		if (rank == PROBE_IN_RING) {
			cancel_probes(n);
			(void)join_all(n, &n->boot[p->idx]);
			return;
		}
		if (n->probe_best < 0 || rank < n->probe_rank) {
			n->probe_best = (int)p->idx;
			n->probe_rank = rank;
		}
	} else {
		log_warn("--join %s: no answer", tr_addr_str(&n->boot[p->idx], a));
	}
	for (size_t i = 0; i < n->nboot; i++)
		if (n->probe[i].pending)
			return;
	if (n->probe_best >= 0) {
		/* Nobody in a ring answered: the best of the rest (a founder
		 * still alone before a peer that is joining itself). */
		(void)join_all(n, &n->boot[n->probe_best]);
		return;
	}
	log_warn("no --join peer answered: trying %s until it does",
		 tr_addr_str(&n->boot[0], a));
	(void)join_all(n, &n->boot[0]);
}

static int probe_boots(struct node *n, char *err, size_t errlen)
{
	uint8_t ver = CLI_WIRE_VERSION;
	n->probe_best = -1;
	for (size_t i = 0; i < n->nboot; i++) {
		struct rpc_call call = {.to = n->boot[i],
					.overlay = RPC_OVL_NONE,
					.service = RPC_SVC_CLIENT,
					.type = CLI_STATUS,
					.payload = &ver,
					.len = 1,
					.retries = -1};
		struct node_probe *p = &n->probe[i];
		*p = (struct node_probe){.n = n, .idx = i};
		if (rpc_call(n->rpc, &call, probe_reply, p, &p->handle) != 0)
			return bad(err, errlen, "out of memory");
		p->pending = true;
	}
	return 0;
}

struct node *node_new(struct event_base *base, const struct node_config *c, char *err,
		      size_t errlen)
{
	struct node *n = calloc(1, sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	n->base = base;
	n->replicas = c->replicas;
	n->started = time(NULL);
	if (node_config_check(c, err, errlen) != 0)
		goto fail;

	if (c->trust_anchor) {
		if (load_anchors(n, c->trust_anchor, err, errlen) != 0)
			goto fail;
	} else {
		log_warn("no --trust-anchor: this node refuses every block (routing only)");
	}

	struct tr_addr self;
	if (tr_addr_parse(c->listen, 0, &self) != 0) {
		snprintf(err, errlen, "--listen: bad address '%s'", c->listen);
		goto fail;
	}
	int e = 0;
	n->tr = udp_tr_new(base, &self,
			   &(struct udp_tr_opts){.delay = c->delay, .delay_arg = c->delay_arg}, &e);
	if (!n->tr) {
		snprintf(err, errlen, "--listen %s: %s", c->listen, ddns_strerror(e));
		goto fail;
	}
	self = *tr_self(n->tr);
	struct rpc_params rp;
	rpc_params_default(&rp);
	rp.rate_limit = c->rpc_rate_limit;
	n->rpc = rpc_new(n->tr, &rp);
	if (!n->rpc) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < c->njoin; i++) {
		struct tr_addr *b = &n->boot[n->nboot];
		if (tr_addr_parse(c->join[i], 0, b) != 0) {
			snprintf(err, errlen, "--join: bad address '%s'", c->join[i]);
			goto fail;
		}
		if (b->family != self.family) {
			snprintf(err, errlen, "--join %s: not of the --listen address family",
				 c->join[i]);
			goto fail;
		}
		n->nboot++;
	}
	if (c->data_dir && make_dir(c->data_dir, err, errlen) != 0)
		goto fail;

	/* Overlay order: kad16 first when it runs (the default overlay, and
	 * the gateway's overlays[0]), then the others as given. */
	const char *names[CLI_MAX_OVL];
	size_t nn = 0;
	if (c->noverlays == 0)
		names[nn++] = "kad16";
	for (size_t i = 0; i < c->noverlays; i++)
		if (strcmp(c->overlays[i], "kad16") == 0)
			names[nn++] = "kad16";
	for (size_t i = 0; i < c->noverlays; i++)
		if (strcmp(c->overlays[i], "kad16") != 0)
			names[nn++] = c->overlays[i];
	n->inst = calloc(nn * c->vnodes, sizeof(*n->inst));
	if (!n->inst) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < nn; i++) {
		for (unsigned v = 0; v < c->vnodes; v++) {
			struct inst *x = &n->inst[n->ninst];
			x->n = n;
			x->ops = ovl_ops_by_name(names[i]);
			x->wire = ovl_ops_wire_id(x->ops);
			x->vnode = (uint8_t)v;
			if (v == 0)
				n->prim[n->nprim++] = n->ninst;
			n->ninst++;
			if (start_inst(n, x, c, err, errlen) != 0)
				goto fail;
		}
	}
	/* One peer (or none): join now. Several: join through the first that
	 * answers a status probe. */
	if (n->nboot > 1) {
		if (probe_boots(n, err, errlen) != 0)
			goto fail;
	} else if (join_all(n, n->nboot ? &n->boot[0] : NULL) != 0) {
		snprintf(err, errlen, "cannot join the overlays");
		goto fail;
	}
	if (rpc_register(n->rpc, RPC_OVL_NONE, RPC_SVC_CLIENT, 0, client_request, n) != 0) {
		snprintf(err, errlen, "cannot register the client service");
		goto fail;
	}
	n->client_registered = true;

	if (c->dns) {
		struct gw_params gp;
		gw_params_default(&gp);
		gp.listen = c->dns;
		gp.mode = c->gw_mode;
		gp.servfail_ttl = c->servfail_ttl;
		gp.rate_limit = c->rate_limit;
		gp.amp_factor = c->amp_factor;
		gp.current = n->have_anchor ? n->bv : NULL;
		for (size_t i = 0; i < n->nprim && i < GW_MAX_OVERLAYS; i++) {
			struct inst *x = &n->inst[n->prim[i]];
			gp.overlays[gp.noverlays].name = x->ops->name;
			gp.overlays[gp.noverlays].dht = x->d;
			gp.noverlays++;
		}
		e = 0;
		n->gw = gw_new(base, &gp, &e);
		if (!n->gw) {
			snprintf(err, errlen, "--dns %s: %s", c->dns, ddns_strerror(e));
			goto fail;
		}
		log_info("gateway: DNS on %s (udp and tcp, port %u), mode %s", c->dns,
			 gw_port(n->gw), c->gw_mode == GW_MODE_COMPARE ? "compare" : "default");
	}
	if (c->metrics && start_metrics(n, c->metrics, err, errlen) != 0)
		goto fail;

	char a[TR_ADDRSTRLEN];
	log_info("node %s up: %zu overlay(s) (%s%s%s) x %u vnode(s), replicas %u, %s%s",
		 tr_addr_str(&self, a), nn, names[0], nn > 1 ? ", " : "", nn > 1 ? names[1] : "",
		 c->vnodes, c->replicas,
		 n->nboot == 0   ? "new network"
		 : n->nboot == 1 ? "joined through --join"
				 : "probing the --join peers",
		 c->test_forge ? " [TEST-FORGE]" : "");
	if (c->test_forge)
		log_warn("--test-forge: this node serves ALTERED lookup values (tests only)");
	return n;
fail:
	node_free(n);
	return NULL;
}

void node_leave(struct node *n)
{
	if (!n || n->leaving)
		return;
	n->leaving = true;
	for (size_t i = 0; i < n->ninst; i++)
		if (n->inst[i].o)
			ovl_leave(n->inst[i].o);
}

void node_free(struct node *n)
{
	if (!n)
		return;
	n->closing = true;
	if (n->rpc)
		cancel_probes(n);
	if (n->http)
		evhttp_free(n->http);
	if (n->gw) {
		struct gw_stats st;
		gw_get_stats(n->gw, &st);
		log_info("gateway: %llu queries, %llu answered from cache, %llu SERVFAIL; "
			 "%llu chain checks (%llu not current), %llu RPCs for their DS fetches",
			 (unsigned long long)st.queries, (unsigned long long)st.answered_from_cache,
			 (unsigned long long)st.rcodes[2], (unsigned long long)st.current_checks,
			 (unsigned long long)st.current_failed, (unsigned long long)st.current_rpcs);
	}
	gw_free(n->gw);
	if (n->client_registered)
		rpc_unregister(n->rpc, RPC_OVL_NONE, RPC_SVC_CLIENT, 0);
	/* DHTs first (pending puts/gets complete with DDNS_ECANCELLED, stores
	 * are closed), then their overlays, then the shared validator. */
	for (size_t i = 0; i < n->ninst; i++)
		dht_free(n->inst[i].d);
	for (size_t i = 0; i < n->ninst; i++) {
		ovl_free(n->inst[i].o);
		free(n->inst[i].forged);
	}
	free(n->inst);
	ddns_blockval_free(n->bv);
	rpc_free(n->rpc);
	tr_free(n->tr);
	free(n);
}
