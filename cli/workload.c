#include "cli/workload.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/hash.h"
#include "dns/rdata.h"

static int names_push(struct wl_names *w, size_t *cap, const char *s, size_t len)
{
	if (w->n == *cap) {
		size_t nc = *cap ? 2 * *cap : 1024;
		char **nn = realloc(w->name, nc * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		w->name = nn;
		*cap = nc;
	}
	char *c = malloc(len + 1);
	if (!c)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++)
		c[i] = (char)tolower((unsigned char)s[i]);
	c[len] = '\0';
	w->name[w->n++] = c;
	return 0;
}

static bool valid_name(const char *s, size_t len)
{
	if (len == 0 || len > 253 || s[0] == '.' || s[len - 1] == '.')
		return false;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!(isalnum(ch) || ch == '-' || ch == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return memchr(s, '.', len) != NULL;
}

int wl_names_load(const char *path, size_t max, struct wl_names *out, size_t *line)
{
	memset(out, 0, sizeof(*out));
	FILE *fp = fopen(path, "r");
	if (!fp)
		return -errno;
	char buf[1024];
	size_t cap = 0, ln = 0;
	int err = 0;
	while (fgets(buf, sizeof(buf), fp) && (max == 0 || out->n < max)) {
		ln++;
		char *s = buf;
		char *comma = strchr(s, ',');
		if (comma)
			s = comma + 1;
		size_t len = strcspn(s, "\r\n");
		while (len && s[len - 1] == '.')
			len--;
		if (len == 0)
			continue;
		if (!valid_name(s, len)) {
			/* Real lists hold a few odd entries; skip them, but a file with
			 * no valid name at all is not a name list. */
			continue;
		}
		if ((err = names_push(out, &cap, s, len)) != 0)
			break;
	}
	fclose(fp);
	if (!err && out->n == 0) {
		err = DDNS_EMALFORMED;
		if (line)
			*line = ln;
	}
	if (err)
		wl_names_free(out);
	return err;
}

int wl_queries_load(const char *path, struct wl_queries *t, size_t *line)
{
	memset(t, 0, sizeof(*t));
	FILE *fp = fopen(path, "r");
	if (!fp)
		return -errno;
	char buf[1024];
	size_t cap = 0, ln = 0;
	int err = 0;
	while (fgets(buf, sizeof(buf), fp)) {
		ln++;
		char name[300], type[32] = "A";
		if (buf[0] == '#' || sscanf(buf, "%299s %31s", name, type) < 1)
			continue;
		size_t len = strlen(name);
		while (len && name[len - 1] == '.')
			name[--len] = '\0';
		uint16_t tc;
		if (len == 0 || dns_type_from_text(type, strlen(type), &tc) != 0) {
			err = DDNS_EMALFORMED;
			break;
		}
		if (t->n == cap) {
			cap = cap ? 2 * cap : 1024;
			struct wl_query *nq = realloc(t->q, cap * sizeof(*nq));
			if (!nq) {
				err = -ENOMEM;
				break;
			}
			t->q = nq;
		}
		for (size_t i = 0; i < len; i++)
			name[i] = (char)tolower((unsigned char)name[i]);
		if (!(t->q[t->n].name = strdup(name))) {
			err = -ENOMEM;
			break;
		}
		t->q[t->n++].type = tc;
	}
	fclose(fp);
	if (!err && t->n == 0)
		err = DDNS_EMALFORMED;
	if (err) {
		if (line)
			*line = ln;
		wl_queries_free(t);
	}
	return err;
}

void wl_queries_free(struct wl_queries *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->q[i].name);
	free(t->q);
	memset(t, 0, sizeof(*t));
}

int wl_names_generate(size_t n, uint64_t seed, struct wl_names *out)
{
	static const char *tlds[] = {"com", "com", "com", "com", "net", "org", "de", "uk", "jp", "ru", "br", "fr", "info", "cn", "nl"};
	struct ddns_rng rng;
	ddns_rng_seed(&rng, seed);
	memset(out, 0, sizeof(*out));
	size_t cap = 0;
	char buf[128];
	for (size_t i = 0; i < n; i++) {
		const char *tld = tlds[ddns_rng_below(&rng, sizeof(tlds) / sizeof(tlds[0]))];
		int len;
		if (strcmp(tld, "uk") == 0)
			len = snprintf(buf, sizeof(buf), "site%zu.co.uk", i);
		else
			len = snprintf(buf, sizeof(buf), "site%zu.%s", i, tld);
		int err = names_push(out, &cap, buf, (size_t)len);
		if (err) {
			wl_names_free(out);
			return err;
		}
	}
	return 0;
}

void wl_names_free(struct wl_names *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->name[i]);
	free(w->name);
	memset(w, 0, sizeof(*w));
}

int wl_zipf_init(struct wl_zipf *z, size_t n, double alpha)
{
	z->n = n;
	z->cdf = malloc((n ? n : 1) * sizeof(double));
	if (!z->cdf)
		return -ENOMEM;
	double sum = 0;
	for (size_t k = 0; k < n; k++) {
		sum += 1.0 / pow((double)(k + 1), alpha);
		z->cdf[k] = sum;
	}
	for (size_t k = 0; k < n; k++)
		z->cdf[k] /= sum;
	return 0;
}

size_t wl_zipf_draw(const struct wl_zipf *z, struct ddns_rng *rng)
{
	double u = ddns_rng_double(rng);
	size_t lo = 0, hi = z->n - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void wl_zipf_free(struct wl_zipf *z)
{
	free(z->cdf);
	z->cdf = NULL;
	z->n = 0;
}

/* Second-level labels under which country-code TLDs register names. */
static bool is_public_second_level(const char *label, size_t len, const char *tld)
{
	static const char *sl[] = {"co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "go", "gob", "nic"};
	if (strlen(tld) != 2)
		return false;
	for (size_t i = 0; i < sizeof(sl) / sizeof(sl[0]); i++)
		if (strlen(sl[i]) == len && strncmp(sl[i], label, len) == 0)
			return true;
	return false;
}

void wl_zone_of(const char *name, char *zone, char *tld)
{
	size_t len = strlen(name);
	const char *last = strrchr(name, '.');
	const char *t = last ? last + 1 : name;
	snprintf(tld, 256, "%s", t);
	if (!last) {
		snprintf(zone, 256, "%s", name);
		return;
	}
	/* Start of the second-to-last label. */
	const char *p = last;
	while (p > name && p[-1] != '.')
		p--;
	if (is_public_second_level(p, (size_t)(last - p), t) && p > name) {
		const char *q = p - 1;
		while (q > name && q[-1] != '.')
			q--;
		p = q;
	}
	snprintf(zone, 256, "%.*s", (int)(name + len - p), p);
}

/* --- conventional DNS --------------------------------------------------- */

struct conv_entry {
	char *key;        /* "z:zone", "a:name", "n:name" */
	double expires_s;
	UT_hash_handle hh;
};

struct conv {
	struct conv_params p;
	struct conv_entry **cache; /* one table per resolver */
	struct ddns_rng rng;
};

void conv_params_default(struct conv_params *p)
{
	memset(p, 0, sizeof(*p));
	p->resolvers = 1;
	p->seed = 1;
	p->tld_ttl_s = 172800;
	p->zone_ttl_s = 86400;
	p->answer_ttl_s = 3600;
	p->negative_ttl_s = 900;
}

struct conv *conv_new(const struct conv_params *p)
{
	struct conv *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->p = *p;
	c->cache = calloc(p->resolvers ? p->resolvers : 1, sizeof(*c->cache));
	if (!c->cache) {
		free(c);
		return NULL;
	}
	ddns_rng_seed(&c->rng, p->seed ^ 0xc0417e5ULL);
	return c;
}

void conv_free(struct conv *c)
{
	if (!c)
		return;
	for (size_t r = 0; r < c->p.resolvers; r++) {
		struct conv_entry *e, *tmp;
		HASH_ITER(hh, c->cache[r], e, tmp) {
			HASH_DEL(c->cache[r], e);
			free(e->key);
			free(e);
		}
	}
	free(c->cache);
	free(c);
}

static bool cache_has(struct conv *c, size_t r, const char *key, double now_s)
{
	struct conv_entry *e;
	HASH_FIND_STR(c->cache[r], key, e);
	return e && e->expires_s > now_s;
}

static void cache_put(struct conv *c, size_t r, const char *key, double expires_s)
{
	struct conv_entry *e;
	HASH_FIND_STR(c->cache[r], key, e);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return;
		e->key = strdup(key);
		if (!e->key) {
			free(e);
			return;
		}
		HASH_ADD_KEYPTR(hh, c->cache[r], e->key, strlen(e->key), e);
	}
	e->expires_s = expires_s;
}

/* The pseudo-node index of the server of a zone (past the resolvers). */
static uint32_t server_of(const struct conv *c, const char *zone, unsigned instance)
{
	uint8_t h[DDNS_ID_LEN];
	char buf[300];
	snprintf(buf, sizeof(buf), "%s#%u", zone, instance);
	ddns_sha1(buf, strlen(buf), h);
	uint32_t v = ddns_get_u32(h);
	return (uint32_t)c->p.resolvers + (v % 100000u);
}

static uint64_t rtt(struct conv *c, size_t r, uint32_t server)
{
	struct sim_latency *l = c->p.latency;
	if (!l)
		return 0;
	return l->one_way_us(l->arg, (uint32_t)r, server, &c->rng) +
	       l->one_way_us(l->arg, server, (uint32_t)r, &c->rng);
}

unsigned conv_query(struct conv *c, size_t r, const char *name, bool exists, double now_s,
		    uint64_t *latency_us)
{
	char zone[256], tld[256], key[300];
	unsigned rpcs = 0;
	uint64_t lat = 0;
	r %= c->p.resolvers;
	snprintf(key, sizeof(key), "%c:%s", exists ? 'a' : 'n', name);
	if (cache_has(c, r, key, now_s)) {
		*latency_us = 0;
		return 0;
	}
	wl_zone_of(name, zone, tld);
	char zkey[300], tkey[300];
	snprintf(zkey, sizeof(zkey), "z:%s", zone);
	snprintf(tkey, sizeof(tkey), "z:%s", tld);
	/* Walk down from the deepest cached referral. A name that does not
	 * exist is answered NXDOMAIN by the TLD when its registered domain
	 * is unknown (the unresolved workload's names are never registered). */
	if (!cache_has(c, r, zkey, now_s) || !exists) {
		if (!cache_has(c, r, tkey, now_s)) {
			rpcs++;
			lat += rtt(c, r, server_of(c, ".", (unsigned)ddns_rng_below(&c->rng, 13)));
			cache_put(c, r, tkey, now_s + c->p.tld_ttl_s);
		}
		rpcs++;
		lat += rtt(c, r, server_of(c, tld, 0));
		if (exists)
			cache_put(c, r, zkey, now_s + c->p.zone_ttl_s);
	}
	if (exists) {
		rpcs++;
		lat += rtt(c, r, server_of(c, zone, 0));
		cache_put(c, r, key, now_s + c->p.answer_ttl_s);
	} else {
		cache_put(c, r, key, now_s + c->p.negative_ttl_s);
	}
	*latency_us = lat;
	return rpcs;
}

/* --- the paper's latency method ------------------------------------------ */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int keep_middle(struct wl_rttdist *d, double *v, size_t n)
{
	if (n == 0) {
		free(v);
		return DDNS_EMALFORMED;
	}
	qsort(v, n, sizeof(double), cmp_d);
	size_t lo = (size_t)(0.025 * (double)n), hi = n - lo;
	d->n = hi - lo;
	d->v = malloc(d->n * sizeof(double));
	if (!d->v) {
		free(v);
		return -ENOMEM;
	}
	memcpy(d->v, v + lo, d->n * sizeof(double));
	free(v);
	return 0;
}

int wl_rttdist_from_model(struct wl_rttdist *d, struct sim_latency *lat, size_t pairs,
			  uint64_t seed)
{
	struct ddns_rng rng;
	ddns_rng_seed(&rng, seed ^ 0x7a7e11c3ULL);
	double *v = malloc(pairs * sizeof(double));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < pairs; i++) {
		uint32_t a = (uint32_t)ddns_rng_below(&rng, 100000), b = (uint32_t)ddns_rng_below(&rng, 100000);
		if (a == b)
			continue;
		v[n++] = (double)(lat->one_way_us(lat->arg, a, b, &rng) +
				  lat->one_way_us(lat->arg, b, a, &rng));
	}
	return keep_middle(d, v, n);
}

int wl_rttdist_load(struct wl_rttdist *d, const char *path)
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		return -errno;
	size_t n = 0, cap = 1024;
	double *v = malloc(cap * sizeof(double));
	double x;
	int err = 0;
	while (v && fscanf(fp, "%lf", &x) == 1) {
		if (n == cap) {
			double *nv = realloc(v, 2 * cap * sizeof(double));
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
			cap *= 2;
		}
		if (x > 0)
			v[n++] = x * 1000.0;
	}
	if (!v)
		err = -ENOMEM;
	else if (!feof(fp))
		err = err ? err : DDNS_EMALFORMED;
	fclose(fp);
	if (err) {
		free(v);
		return err;
	}
	return keep_middle(d, v, n);
}

double wl_rttdist_draw(const struct wl_rttdist *d, struct ddns_rng *rng)
{
	return d->v[ddns_rng_below(rng, d->n)];
}

void wl_rttdist_free(struct wl_rttdist *d)
{
	free(d->v);
	d->v = NULL;
	d->n = 0;
}
