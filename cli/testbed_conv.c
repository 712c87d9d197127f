/*
 * testbed_conv.c - the conventional DNS stack beside the testbed
 * (cli/testbed_conv.h): zones, keys and signatures, NSD and Unbound
 * processes, and the delay relays in front of the name servers.
 *
 * Layout under <workdir>/conv/: keys/ (a key per registered domain),
 * zones/ (unsigned and .signed master files), nsd-{root,tld,sld}.conf,
 * unbound.conf, root.hints, root.anchor, and each process's log and pid
 * file. Addresses: relays 127.0.53.1 (root), 127.0.54.1-250 (TLDs),
 * 127.0.55.1-250 (registered domains), all port 53; NSD on 127.0.63.1-3
 * (free ports); the relays' upstream socket on 127.0.63.250; Unbound on
 * 127.0.52.1 (a free port), sending from 127.0.52.1.
 */
#include "cli/testbed_conv.h"

#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/testbed.h"
#include "cli/testbed_latency.h"
#include "cli/workload.h"
#include "common/buf.h"
#include "common/err.h"
#include "overlay/udp.h"

#define CONV_ADDRS 250 /* relay addresses per level below the root */
#define CONV_FRONTS (1 + 2 * CONV_ADDRS)
#define CONV_STALE_US 10000000ULL

enum { LV_ROOT, LV_TLD, LV_SLD, LV_N };
static const char *const lv_name[LV_N] = {"root", "tld", "sld"};

struct conv_front {
	struct tb_conv *c;
	struct tr *tr;
	uint8_t level;
	uint64_t delay_us; /* held for the resolver <-> server round trip */
};

struct conv_pending {
	bool busy;
	uint16_t front, orig_id;
	struct tr_addr client;
	uint64_t at_us;
};

/* A zone of the conventional hierarchy being written. */
struct czone {
	char name[256];  /* "bbc.co.uk." */
	char *text;      /* its records, master-file lines */
	size_t len, cap;
	char *key;       /* key base path */
	uint8_t level;
	unsigned addr;   /* low octet of its server's relay address */
};

struct tb_conv {
	struct conv_front front[CONV_FRONTS];
	size_t nfront;
	struct tr *up;
	struct tr_addr nsd[LV_N];
	pid_t nsd_pid[LV_N], unbound_pid;
	struct tr_addr resolver;
	tb_conv_upstream_cb cb;
	void *cb_arg;
	uint64_t upstream;
	size_t nzones;
	uint16_t next_id;
	struct conv_pending pend[65536];
	uint8_t scratch[65536];
};

/* A path from a format; a path that does not fit is cut (and then fails to
 * open, with a message naming it). */
static void path_fmt(char *out, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void path_fmt(char *out, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(out, n, fmt, ap);
	va_end(ap);
	if (r < 0 && n)
		out[0] = 0;
}

/* ---- relays ------------------------------------------------------------- */

static uint64_t front_delay(void *arg, const struct tr_addr *to)
{
	(void)to;
	return ((const struct conv_front *)arg)->delay_us;
}

/* The question name of a query, lowercased, uncompressed. */
static bool qname_of(const uint8_t *p, size_t len, uint8_t out[256], size_t *olen)
{
	size_t i = 12, o = 0;
	while (i < len && o < 255) {
		uint8_t l = p[i];
		if (l == 0) {
			out[o++] = 0;
			*olen = o;
			return true;
		}
		if (l > 63 || i + 1 + l > len || o + 1 + l > 255)
			return false;
		out[o++] = l;
		for (uint8_t k = 0; k < l; k++) {
			uint8_t ch = p[i + 1 + k];
			out[o++] = (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch + 32) : ch;
		}
		i += 1 + (size_t)l;
	}
	return false;
}

static void front_recv(void *arg, const struct tr_addr *from, const uint8_t *data, size_t len)
{
	struct conv_front *f = arg;
	struct tb_conv *c = f->c;
	if (len < 12 || (data[2] & 0x80))
		return; /* not a query */
	uint8_t qn[256];
	size_t ql;
	if (qname_of(data, len, qn, &ql)) {
		c->upstream++;
		if (c->cb)
			c->cb(c->cb_arg, qn, ql);
	}
	uint64_t now = tb_now_us();
	uint16_t id = 0;
	bool found = false;
	for (unsigned n = 0; n < 65536 && !found; n++) {
		id = (uint16_t)(c->next_id + n);
		struct conv_pending *p = &c->pend[id];
		found = !p->busy || now - p->at_us > CONV_STALE_US;
	}
	if (!found)
		return; /* 65,536 in flight: drop, as a full server would */
	c->next_id = (uint16_t)(id + 1);
	c->pend[id] = (struct conv_pending){.busy = true,
					    .front = (uint16_t)(f - c->front),
					    .orig_id = ddns_get_u16(data),
					    .client = *from,
					    .at_us = now};
	memcpy(c->scratch, data, len);
	ddns_put_u16(c->scratch, id);
	(void)tr_send(c->up, &c->nsd[f->level], c->scratch, len);
}

static void up_recv(void *arg, const struct tr_addr *from, const uint8_t *data, size_t len)
{
	struct tb_conv *c = arg;
	(void)from;
	if (len < 12)
		return;
	struct conv_pending *p = &c->pend[ddns_get_u16(data)];
	if (!p->busy)
		return;
	p->busy = false;
	memcpy(c->scratch, data, len);
	ddns_put_u16(c->scratch, p->orig_id);
	(void)tr_send(c->front[p->front].tr, &p->client, c->scratch, len);
}

static int add_front(struct tb_conv *c, const struct tb_conv_cfg *cfg, uint8_t level,
		     uint32_t ip, char *err, size_t errlen)
{
	struct conv_front *f = &c->front[c->nfront];
	f->c = c;
	f->level = level;
	if (cfg->lat)
		f->delay_us = 2 * tb_latency_one_way(cfg->lat, cfg->resolver_idx,
						     cfg->first_server_idx + (uint32_t)c->nfront);
	struct tr_addr a = tr_addr_v4(ip, 53);
	int e = 0;
	f->tr = udp_tr_new(cfg->base, &a, &(struct udp_tr_opts){.delay = front_delay, .delay_arg = f},
			   &e);
	if (!f->tr) {
		char ab[TR_ADDRSTRLEN];
		snprintf(err, errlen, "cannot bind the name server address %s: %s%s",
			 tr_addr_str(&a, ab), ddns_strerror(e),
			 e == -EACCES ? " (port 53 needs root or CAP_NET_BIND_SERVICE)" : "");
		return e ? e : -ENOMEM;
	}
	tr_set_recv(f->tr, front_recv, f);
	c->nfront++;
	return 0;
}

/* ---- zones -------------------------------------------------------------- */

static int zappend(struct czone *z, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int zappend(struct czone *z, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(z->text ? z->text + z->len : NULL, z->text ? z->cap - z->len : 0,
				  fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if (z->text && z->len + (size_t)n < z->cap) {
			z->len += (size_t)n;
			return 0;
		}
		size_t cap = (z->cap ? z->cap * 2 : 4096) + (size_t)n + 1;
		char *t = realloc(z->text, cap);
		if (!t)
			return -ENOMEM;
		z->text = t;
		z->cap = cap;
	}
}

static int zappend_file(struct czone *z, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	char line[8192];
	int e = 0;
	while (!e && fgets(line, sizeof(line), f))
		e = zappend(z, "%s", line);
	fclose(f);
	return e;
}

/* Run argv to completion with stdout to out (NULL: the log). */
static int run(const struct tb_conv_cfg *cfg, char *const argv[], const char *out)
{
	pid_t pid = tb_spawn(argv, out ? out : cfg->log, cfg->log);
	if (pid < 0)
		return (int)pid;
	int rc = tb_wait_child(pid);
	return rc == 0 ? 0 : rc == -EINTR ? -EINTR : -EIO;
}

/* The DS record of a key (dnssec-dsfromkey, SHA-256) appended to parent. */
static int add_ds(const struct tb_conv_cfg *cfg, const char *cdir, struct czone *parent,
		  const char *key)
{
	char kf[4096], out[4096];
	snprintf(kf, sizeof(kf), "%s.key", key);
	snprintf(out, sizeof(out), "%s/ds.out", cdir);
	char *argv[] = {"dnssec-dsfromkey", "-2", kf, NULL};
	int e = run(cfg, argv, out);
	return e ? e : zappend_file(parent, out);
}

static int write_text(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	size_t w = fwrite(text, 1, len, f);
	int e = fclose(f);
	return w == len && e == 0 ? 0 : -EIO;
}

/* Write z (with its DNSKEY) to zones/<name>zone and sign it into
 * zones/<name>signed. */
static int sign_zone(const struct tb_conv_cfg *cfg, const char *cdir, struct czone *z)
{
	char kf[4096], in[4096], out[4096], origin[256];
	snprintf(kf, sizeof(kf), "%s.key", z->key);
	int e = zappend_file(z, kf);
	if (e)
		return e;
	const char *fname = strcmp(z->name, ".") == 0 ? "root." : z->name;
	path_fmt(in, sizeof(in), "%s/zones/%szone", cdir, fname);
	path_fmt(out, sizeof(out), "%s/zones/%ssigned", cdir, fname);
	if ((e = write_text(in, z->text, z->len)) != 0)
		return e;
	snprintf(origin, sizeof(origin), "%s", z->name);
	char zdir[4096];
	path_fmt(zdir, sizeof(zdir), "%s/zones", cdir);
	/* -d: its dsset- files go beside the zones, not into our cwd */
	char *argv[] = {"dnssec-signzone", "-z", "-d", zdir, "-o", origin, "-f", out, in,
			z->key, NULL};
	return run(cfg, argv, NULL);
}

static struct czone *zone_find(struct czone *zs, size_t n, const char *name)
{
	for (size_t i = n; i-- > 0;)
		if (strcasecmp(zs[i].name, name) == 0)
			return &zs[i];
	return NULL;
}

static int zone_new(struct czone **zs, size_t *n, size_t *cap, const char *name, uint8_t level)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct czone *t = realloc(*zs, nc * sizeof(*t));
		if (!t)
			return -ENOMEM;
		*zs = t;
		*cap = nc;
	}
	struct czone *z = &(*zs)[(*n)++];
	memset(z, 0, sizeof(*z));
	snprintf(z->name, sizeof(z->name), "%s", name);
	z->level = level;
	return 0;
}

/*
 * Split the testbed's TLD zones into TLD and registered-domain zones: a
 * record whose owner lies in a registered domain goes to that domain's
 * zone; the TLD keeps its apex, and gets a delegation (NS, glue, DS) per
 * registered domain. Then the root: a delegation (NS, glue, DS) per TLD.
 */
static int build_zones(const struct tb_conv_cfg *cfg, const char *cdir, struct czone **out,
		       size_t *nout)
{
	struct czone *zs = NULL;
	size_t n = 0, cap = 0, nsld = 0;
	char kdir[4096], tmp[4096];
	path_fmt(kdir, sizeof(kdir), "%s/keys", cdir);
	path_fmt(tmp, sizeof(tmp), "%s/keygen.out", cdir);
	int e = zone_new(&zs, &n, &cap, ".", LV_ROOT);
	if (e)
		goto fail;
	zs[0].key = strdup(cfg->root_key);
	zappend(&zs[0], "$TTL 86400\n%s\n.\t86400\tIN\tNS\ta.root-servers.test.\n"
			"a.root-servers.test.\t86400\tIN\tA\t127.0.53.1\n",
		cfg->root_soa);
	for (size_t i = 0; i < cfg->nzones && !e; i++) {
		const struct tb_conv_zone *tz = &cfg->zones[i];
		size_t ti = n;
		if ((e = zone_new(&zs, &n, &cap, tz->name, LV_TLD)) != 0)
			break;
		struct czone *t = &zs[ti];
		t->key = strdup(tz->key);
		t->addr = (unsigned)(i % CONV_ADDRS) + 1;
		zappend(t, "$TTL 3600\n");
		FILE *f = fopen(tz->file, "r");
		if (!f) {
			e = -errno;
			break;
		}
		char line[8192], owner[300], ns_owner[300];
		snprintf(ns_owner, sizeof(ns_owner), "ns.%s", tz->name);
		while (!e && fgets(line, sizeof(line), f)) {
			if (line[0] == '$' || line[0] == ';' || line[0] == '\n' ||
			    sscanf(line, "%299s", owner) != 1)
				continue;
			char type[64] = "";
			sscanf(line, "%*s %63s", type);
			bool apex = strcasecmp(owner, tz->name) == 0;
			if ((apex && strcasecmp(type, "NS") == 0) || strcasecmp(owner, ns_owner) == 0)
				continue; /* rewritten below, on conventional addresses */
			char zn[256], tld[256], reg[300];
			size_t ol = strlen(owner);
			if (ol && owner[ol - 1] == '.')
				owner[ol - 1] = 0;
			wl_zone_of(owner, zn, tld);
			snprintf(reg, sizeof(reg), "%s.", zn);
			if (apex || strcasecmp(reg, tz->name) == 0) {
				e = zappend(&zs[ti], "%s", line);
				continue;
			}
			struct czone *s = zone_find(zs, n, reg);
			if (!s) {
				if ((e = zone_new(&zs, &n, &cap, reg, LV_SLD)) != 0)
					break;
				s = &zs[n - 1];
				s->addr = (unsigned)(nsld++ % CONV_ADDRS) + 1;
				zappend(s, "$TTL 3600\n%s\tSOA\tns.%s hostmaster.%s 1 7200 3600 1209600 300\n"
					   "%s\tNS\tns.%s\nns.%s\tA\t127.0.55.%u\n",
					reg, reg, reg, reg, reg, reg, s->addr);
			}
			e = zappend(s, "%s", line);
		}
		fclose(f);
		t = &zs[ti];
		zappend(t, "%s\tNS\tns.%s\nns.%s\tA\t127.0.54.%u\n", t->name, t->name, t->name,
			t->addr);
		zappend(&zs[0], "%s\t86400\tIN\tNS\tns.%s\nns.%s\t86400\tIN\tA\t127.0.54.%u\n",
			t->name, t->name, t->name, t->addr);
		if (!e)
			e = add_ds(cfg, cdir, &zs[0], tz->ds_key ? tz->ds_key : tz->key);
	}
	/* Keys for the registered domains, their delegations in the TLDs. */
	for (size_t i = 0; i < n && !e; i++) {
		struct czone *s = &zs[i];
		if (s->level != LV_SLD)
			continue;
		const char *args[] = {"keygen", "--zone", s->name, "--dir", kdir, NULL};
		if ((e = tb_run_self(cfg->self, cfg->log, tmp, args)) != 0)
			break;
		char *base = tb_read_first_line(tmp);
		if (!base) {
			e = -EIO;
			break;
		}
		s->key = base[0] == '/' ? base : tb_path_join(kdir, base);
		if (s->key != base)
			free(base);
		char zn[256], tld[256], tn[300];
		char nm[256];
		snprintf(nm, sizeof(nm), "%.*s", (int)strlen(s->name) - 1, s->name);
		wl_zone_of(nm, zn, tld);
		snprintf(tn, sizeof(tn), "%s.", tld);
		struct czone *t = zone_find(zs, n, tn);
		if (!t) {
			e = -EINVAL;
			break;
		}
		zappend(t, "%s\tNS\tns.%s\nns.%s\tA\t127.0.55.%u\n", s->name, s->name, s->name,
			s->addr);
		e = add_ds(cfg, cdir, t, s->key);
	}
	for (size_t i = 0; i < n && !e; i++)
		e = sign_zone(cfg, cdir, &zs[i]);
	*out = zs;
	*nout = n;
	return e;
fail:
	*out = zs;
	*nout = n;
	return e;
}

static void zones_free(struct czone *zs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(zs[i].text);
		free(zs[i].key);
	}
	free(zs);
}

/* ---- processes ---------------------------------------------------------- */

/* A free UDP port on ip (the kernel's pick; closed again at once). */
static int free_port(uint32_t ip, uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(ip)};
	socklen_t sl = sizeof(sa);
	int e = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
			getsockname(fd, (struct sockaddr *)&sa, &sl) == 0
		? 0
		: -errno;
	close(fd);
	*port = ntohs(sa.sin_port);
	return e;
}

/* Ask addr for <name, type, class> until it answers (any rcode) or
 * timeout_ms pass. */
static bool probe(const struct tr_addr *addr, const char *name, uint16_t type, uint16_t qclass,
		  unsigned timeout_ms)
{
	uint8_t q[300], wire[256];
	size_t wl, ql;
	if (tb_name_wire(name, wire, &wl) != 0 ||
	    tb_dns_query(q, sizeof(q), 0x4242, 0, wire, wl, type, qclass, 0, &ql) != 0)
		return false;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(addr->port)};
	memcpy(&sa.sin_addr, addr->ip, 4);
	struct timeval tv = {0, 200000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	bool ok = false;
	uint64_t end = tb_now_us() + (uint64_t)timeout_ms * 1000;
	while (!ok && tb_now_us() < end) {
		if (sendto(fd, q, ql, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			break;
		uint8_t r[4096];
		ssize_t n = recv(fd, r, sizeof(r), 0);
		ok = n >= 12 && r[0] == 0x42 && r[1] == 0x42 && (r[2] & 0x80);
	}
	close(fd);
	return ok;
}

static int start_nsd(struct tb_conv *c, const struct tb_conv_cfg *cfg, const char *cdir,
		     const struct czone *zs, size_t n, uint8_t level, char *err, size_t errlen)
{
	uint32_t ip = 0x7f003f01u + level; /* 127.0.63.1 + level */
	uint16_t port;
	int e = free_port(ip, &port);
	if (e) {
		snprintf(err, errlen, "no free port for NSD on 127.0.63.%u: %s", 1 + level,
			 strerror(-e));
		return e;
	}
	c->nsd[level] = tr_addr_v4(ip, port);
	char path[4096];
	path_fmt(path, sizeof(path), "%s/nsd-%s.conf", cdir, lv_name[level]);
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f,
		"# written by ddns testbed --conventional: loopback only\n"
		"server:\n\tip-address: 127.0.63.%u@%u\n\tport: %u\n\tdo-ip4: yes\n\tdo-ip6: no\n"
		"\tusername: \"\"\n\tchroot: \"\"\n\tzonesdir: \"%s/zones\"\n"
		"\tpidfile: \"%s/nsd-%s.pid\"\n\tlogfile: \"%s/nsd-%s.log\"\n\tdatabase: \"\"\n"
		"\txfrdfile: \"%s/nsd-%s.xfrd\"\n\tzonelistfile: \"%s/nsd-%s.zonelist\"\n"
		"\tserver-count: 1\n\tverbosity: 1\n\thide-version: yes\n"
		"\tipv4-edns-size: 4096\n\ttcp-count: 16\n\treuseport: no\n"
		"remote-control:\n\tcontrol-enable: no\n",
		1 + level, port, port, cdir, cdir, lv_name[level], cdir, lv_name[level], cdir,
		lv_name[level], cdir, lv_name[level]);
	const char *first = NULL;
	for (size_t i = 0; i < n; i++)
		if (zs[i].level == level) {
			const char *fname = strcmp(zs[i].name, ".") == 0 ? "root." : zs[i].name;
			fprintf(f, "zone:\n\tname: \"%s\"\n\tzonefile: \"%ssigned\"\n", zs[i].name,
				fname);
			if (!first)
				first = zs[i].name;
		}
	if (fclose(f) != 0)
		return -EIO;
	if (!first)
		return 0; /* nothing at this level */
	char *argv[] = {"nsd", "-d", "-c", path, NULL};
	pid_t pid = tb_spawn(argv, cfg->log, cfg->log);
	if (pid < 0) {
		snprintf(err, errlen, "cannot start nsd: %s", strerror((int)-pid));
		return (int)pid;
	}
	c->nsd_pid[level] = pid;
	if (!probe(&c->nsd[level], first, 6, 1, 15000)) {
		snprintf(err, errlen, "nsd (%s zones, %s) did not answer within 15 s; see %s",
			 lv_name[level], path, cfg->log);
		return -ETIMEDOUT;
	}
	return 0;
}

static int start_unbound(struct tb_conv *c, const struct tb_conv_cfg *cfg, const char *cdir,
			 char *err, size_t errlen)
{
	uint32_t ip = 0x7f003401u; /* 127.0.52.1 */
	uint16_t port;
	int e = free_port(ip, &port);
	if (e) {
		snprintf(err, errlen, "no free port for Unbound on 127.0.52.1: %s", strerror(-e));
		return e;
	}
	c->resolver = tr_addr_v4(ip, port);
	char path[4096], hints[4096], anchor[4096], kf[4096];
	path_fmt(hints, sizeof(hints), "%s/root.hints", cdir);
	path_fmt(anchor, sizeof(anchor), "%s/root.anchor", cdir);
	snprintf(kf, sizeof(kf), "%s.key", cfg->root_key);
	struct czone a = {0};
	if ((e = zappend_file(&a, kf)) == 0)
		e = write_text(anchor, a.text, a.len);
	free(a.text);
	if (e)
		return e;
	static const char h[] = ".\t3600000\tNS\ta.root-servers.test.\n"
				"a.root-servers.test.\t3600000\tA\t127.0.53.1\n";
	if ((e = write_text(hints, h, sizeof(h) - 1)) != 0)
		return e;
	path_fmt(path, sizeof(path), "%s/unbound.conf", cdir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f,
		"# written by ddns testbed --conventional: loopback only; the only root\n"
		"# hint is the loopback root, the only trust anchor the testbed's root key\n"
		"server:\n\tinterface: 127.0.52.1@%u\n\tport: %u\n\toutgoing-interface: 127.0.52.1\n"
		"\tdo-ip4: yes\n\tdo-ip6: no\n\tdo-udp: yes\n\tdo-tcp: yes\n"
		"\tusername: \"\"\n\tchroot: \"\"\n\tdirectory: \"%s\"\n"
		"\tpidfile: \"%s/unbound.pid\"\n\tlogfile: \"%s/unbound.log\"\n\tuse-syslog: no\n"
		"\tverbosity: 1\n\tnum-threads: 1\n\tso-reuseport: no\n"
		"\taccess-control: 127.0.0.0/8 allow\n\tdo-not-query-localhost: no\n"
		"\troot-hints: \"%s\"\n\ttrust-anchor-file: \"%s\"\n"
		"\tmodule-config: \"validator iterator\"\n"
		"\tedns-buffer-size: 4096\n\tmax-udp-size: 4096\n"
		"\tprefetch: no\n\tminimal-responses: yes\n\tval-log-level: 2\n"
		"\tstatistics-interval: 0\n"
		"remote-control:\n\tcontrol-enable: no\n",
		port, port, cdir, cdir, cdir, hints, anchor);
	if (fclose(f) != 0)
		return -EIO;
	char *argv[] = {"unbound", "-d", "-c", path, NULL};
	pid_t pid = tb_spawn(argv, cfg->log, cfg->log);
	if (pid < 0) {
		snprintf(err, errlen, "cannot start unbound: %s", strerror((int)-pid));
		return (int)pid;
	}
	c->unbound_pid = pid;
	/* Answered locally: the caches stay cold. */
	if (!probe(&c->resolver, "version.server", 16, 3, 15000)) {
		snprintf(err, errlen, "unbound (%s) did not answer within 15 s; see %s/unbound.log",
			 path, cdir);
		return -ETIMEDOUT;
	}
	return 0;
}

/* ---- the whole stack ---------------------------------------------------- */

struct tb_conv *tb_conv_start(const struct tb_conv_cfg *cfg, char *err, size_t errlen)
{
	static const char *const tools[] = {"nsd", "unbound", "dnssec-signzone",
					    "dnssec-dsfromkey"};
	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		if (!tb_on_path(tools[i])) {
			snprintf(err, errlen, "--conventional needs %s (Debian: nsd, unbound, "
					      "bind9-utils)",
				 tools[i]);
			return NULL;
		}
	struct tb_conv *c = calloc(1, sizeof(*c));
	char cdir[4096], sub[4096];
	struct czone *zs = NULL;
	size_t nz = 0;
	int e;
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(cdir, sizeof(cdir), "%s/conv", cfg->dir);
	for (int i = 0; i < 3; i++) {
		path_fmt(sub, sizeof(sub), "%s%s", cdir, i == 0 ? "" : i == 1 ? "/keys" : "/zones");
		if (mkdir(sub, 0755) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot make %s: %s", sub, strerror(errno));
			goto fail;
		}
	}
	/* Relays first: without port 53 there is nothing to build for. */
	if ((e = add_front(c, cfg, LV_ROOT, 0x7f003501u, err, errlen)) != 0)
		goto fail;
	size_t ntld = cfg->nzones < CONV_ADDRS ? cfg->nzones : CONV_ADDRS;
	for (size_t i = 0; i < ntld; i++)
		if ((e = add_front(c, cfg, LV_TLD, 0x7f003601u + (uint32_t)i, err, errlen)) != 0)
			goto fail;
	e = build_zones(cfg, cdir, &zs, &nz);
	if (e) {
		snprintf(err, errlen, "conventional zones: %s (see %s)", ddns_strerror(e), cfg->log);
		goto fail;
	}
	size_t nsld = 0;
	for (size_t i = 0; i < nz; i++)
		nsld += zs[i].level == LV_SLD;
	for (size_t i = 0; i < nsld && i < CONV_ADDRS; i++)
		if ((e = add_front(c, cfg, LV_SLD, 0x7f003701u + (uint32_t)i, err, errlen)) != 0)
			goto fail;
	c->nzones = nz;
	struct tr_addr ua = tr_addr_v4(0x7f003ffau, 0); /* 127.0.63.250 */
	c->up = udp_tr_new(cfg->base, &ua, NULL, &e);
	if (!c->up) {
		snprintf(err, errlen, "cannot bind 127.0.63.250: %s", ddns_strerror(e));
		goto fail;
	}
	tr_set_recv(c->up, up_recv, c);
	for (uint8_t lv = 0; lv < LV_N; lv++)
		if (start_nsd(c, cfg, cdir, zs, nz, lv, err, errlen) != 0)
			goto fail;
	if (start_unbound(c, cfg, cdir, err, errlen) != 0)
		goto fail;
	zones_free(zs, nz);
	return c;
fail:
	zones_free(zs, nz);
	tb_conv_stop(c);
	return NULL;
}

void tb_conv_stop(struct tb_conv *c)
{
	if (!c)
		return;
	tb_stop_pid(&c->unbound_pid);
	for (int lv = 0; lv < LV_N; lv++)
		tb_stop_pid(&c->nsd_pid[lv]);
	for (size_t i = 0; i < c->nfront; i++)
		tr_free(c->front[i].tr);
	if (c->up)
		tr_free(c->up);
	free(c);
}

const struct tr_addr *tb_conv_resolver(const struct tb_conv *c) { return &c->resolver; }

void tb_conv_set_upstream_cb(struct tb_conv *c, tb_conv_upstream_cb cb, void *arg)
{
	c->cb = cb;
	c->cb_arg = arg;
}

uint64_t tb_conv_upstream(const struct tb_conv *c) { return c->upstream; }
size_t tb_conv_zones(const struct tb_conv *c) { return c->nzones; }

size_t tb_conv_pids(const struct tb_conv *c, long *pids, size_t max)
{
	size_t n = 0;
	for (int lv = 0; lv < LV_N && n < max; lv++)
		if (c->nsd_pid[lv] > 0)
			pids[n++] = c->nsd_pid[lv];
	if (c->unbound_pid > 0 && n < max)
		pids[n++] = c->unbound_pid;
	return n;
}
