/*
 * testbed_zones.c - the testbed's zones and keys (cli/testbed.h): the demo
 * zones (one per TLD of the names), a root key and one key per zone, the DS
 * sets signed by the root, publishing it all through the nodes, and
 * --break-ds (a DS for another key, published after the zone).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/testbed.h"
#include "cli/workload.h"
#include "common/err.h"

/* The key base name keygen printed, as a path under dir. */
static char *key_path(const char *dir, char *base)
{
	if (!base || base[0] == '/')
		return base;
	char *p = tb_path_join(dir, base);
	free(base);
	return p;
}

/* --- set-up: zones and keys --- */

/* Origin of a master file: $ORIGIN, else the owner of its SOA. */
static char *zone_origin(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char line[4096], *r = NULL;
	while (!r && fgets(line, sizeof(line), f)) {
		char a[300], b[64], c[64], d[64];
		int k = sscanf(line, "%299s %63s %63s %63s", a, b, c, d);
		if (k >= 2 && strcasecmp(a, "$ORIGIN") == 0)
			r = strdup(b);
		else if (k >= 2 && line[0] != ' ' && line[0] != '\t' && line[0] != ';' &&
			 (strcasecmp(b, "SOA") == 0 || (k >= 3 && strcasecmp(c, "SOA") == 0) ||
			  (k >= 4 && strcasecmp(d, "SOA") == 0)))
			r = strdup(a);
	}
	fclose(f);
	if (r && r[strlen(r) - 1] != '.') {
		char *t = malloc(strlen(r) + 2);
		if (t)
			sprintf(t, "%s.", r);
		free(r);
		r = t;
	}
	return r;
}

static int add_zone(struct setup *s, const char *name, const char *file)
{
	struct zone *z = realloc(s->zones, (s->nzones + 1) * sizeof(*z));
	if (!z)
		return -ENOMEM;
	s->zones = z;
	z[s->nzones] = (struct zone){strdup(name), strdup(file), NULL, NULL};
	s->nzones++;
	return 0;
}

/* The demo zones: one per TLD of the names, plus example.org's records. */
static int demo_zones(struct setup *s)
{
	const struct opts *o = s->o;
	int e;
	size_t line = 0;
	if (o->names) {
		e = wl_names_load(o->names, o->records * 2, &s->names, &line);
		if (e) {
			tb_say("--names %s: %s (line %zu)", o->names, ddns_strerror(e), line);
			return e;
		}
	} else {
		e = wl_names_generate(o->records, o->seed, &s->names);
		if (e)
			return e;
	}
	/* Keep `records` usable names (a dot, not under example.org). */
	size_t k = 0;
	for (size_t i = 0; i < s->names.n; i++) {
		const char *nm = s->names.name[i];
		size_t l = strlen(nm);
		bool ok = strchr(nm, '.') && l < 200 && k < o->records &&
			  !(l >= 11 && strcmp(nm + l - 11, "example.org") == 0);
		for (const char *c = nm; ok && *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
			      *c == '.'))
				ok = false;
		if (ok)
			s->names.name[k++] = s->names.name[i];
		else
			free(s->names.name[i]);
	}
	s->names.n = k;
	/* TLDs, in order of first appearance; "org" always (example.org). */
	char **tlds = NULL;
	size_t ntld = 0;
	char zone[256], tld[256];
	for (size_t i = 0; i <= s->names.n; i++) {
		if (i < s->names.n)
			wl_zone_of(s->names.name[i], zone, tld);
		else
			strcpy(tld, "org");
		size_t j;
		for (j = 0; j < ntld; j++)
			if (strcmp(tlds[j], tld) == 0)
				break;
		if (j < ntld)
			continue;
		char **nt = realloc(tlds, (ntld + 1) * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		tlds = nt;
		tlds[ntld++] = strdup(tld);
	}
	e = 0;
	for (size_t j = 0; j < ntld && !e; j++) {
		char fname[300];
		snprintf(fname, sizeof(fname), "zones/%s.zone", tlds[j]);
		char *path = tb_path_join(s->dir, fname);
		FILE *f = path ? fopen(path, "w") : NULL;
		if (!f) {
			e = -errno;
			free(path);
			break;
		}
		const char *t = tlds[j];
		fprintf(f, "$TTL 3600\n%s. SOA ns.%s. hostmaster.%s. 1 7200 3600 1209600 300\n", t,
			t, t);
		fprintf(f, "%s. NS ns.%s.\nns.%s. A 192.0.2.53\n", t, t, t);
		if (strcmp(t, "org") == 0)
			fprintf(f, "example.org. MX 10 mail.example.org.\n"
				   "www.example.org. A 192.0.2.1\n"
				   "www.example.org. A 192.0.2.2\n"
				   "www.example.org. AAAA 2001:db8::1\n"
				   "mail.example.org. A 192.0.2.25\n"
				   "alias.example.org. CNAME www.example.org.\n"
				   "txt.example.org. TXT \"v=ddns1 hello from the testbed\"\n"
				   "*.wild.example.org. A 192.0.2.42\n");
		for (size_t i = 0; i < s->names.n; i++) {
			wl_zone_of(s->names.name[i], zone, tld);
			if (strcmp(tld, t) == 0 && strcmp(s->names.name[i], t) != 0 &&
			    strcmp(s->names.name[i], "ns.") != 0)
				fprintf(f, "%s. A 198.51.%u.%u\n", s->names.name[i],
					(unsigned)(i / 250) % 256, (unsigned)(i % 250) + 1);
		}
		if (fclose(f) != 0)
			e = -errno;
		char zn[300];
		snprintf(zn, sizeof(zn), "%s.", t);
		if (!e)
			e = add_zone(s, zn, path);
		free(path);
	}
	for (size_t j = 0; j < ntld; j++)
		free(tlds[j]);
	free(tlds);
	snprintf(s->check_name, sizeof(s->check_name), "www.example.org");
	snprintf(s->check_type, sizeof(s->check_type), "A");
	return e;
}

/* delv's trust-anchors file from the root key's DNSKEY. */
static int write_anchors(struct setup *s)
{
	char *kp = malloc(strlen(s->root_key) + 8);
	if (!kp)
		return -ENOMEM;
	sprintf(kp, "%s.key", s->root_key);
	FILE *in = fopen(kp, "r");
	free(kp);
	if (!in)
		return -errno;
	char line[8192];
	int e = -EINVAL;
	while (fgets(line, sizeof(line), in)) {
		if (line[0] == ';')
			continue;
		char *tok[64];
		int n = 0;
		for (char *p = strtok(line, " \t\r\n"); p && n < 64; p = strtok(NULL, " \t\r\n"))
			tok[n++] = p;
		for (int i = 0; i + 4 < n; i++)
			if (strcmp(tok[i], "DNSKEY") == 0) {
				FILE *f = fopen(s->anchors, "w");
				if (!f) {
					e = -errno;
					break;
				}
				fprintf(f, "trust-anchors {\n\t%s static-key %s %s %s \"", tok[0],
					tok[i + 1], tok[i + 2], tok[i + 3]);
				for (int j = i + 4; j < n; j++)
					fputs(tok[j], f);
				fprintf(f, "\";\n};\n");
				e = fclose(f) == 0 ? 0 : -errno;
				break;
			}
		if (e != -EINVAL)
			break;
	}
	fclose(in);
	return e;
}

int tb_keys_and_zones(struct setup *s)
{
	const struct opts *o = s->o;
	char *zdir = tb_path_join(s->dir, "zones"), *kdir = tb_path_join(s->dir, "keys");
	char *out = tb_path_join(s->dir, "helper.out");
	int e = 0;
	if (!zdir || !kdir || !out) {
		e = -ENOMEM;
		goto out;
	}
	if ((mkdir(zdir, 0755) != 0 && errno != EEXIST) ||
	    (mkdir(kdir, 0755) != 0 && errno != EEXIST)) {
		e = -errno;
		tb_say("cannot make %s: %s", zdir, strerror(errno));
		goto out;
	}
	if (o->nzones) {
		for (size_t i = 0; i < o->nzones && !e; i++) {
			char *origin = zone_origin(o->zones[i]);
			if (!origin) {
				tb_say("--zone %s: no $ORIGIN or SOA found (or unreadable)", o->zones[i]);
				e = -EINVAL;
				break;
			}
			e = add_zone(s, origin, o->zones[i]);
			if (!e && !s->check_name[0]) {
				snprintf(s->check_name, sizeof(s->check_name), "%s", origin);
				snprintf(s->check_type, sizeof(s->check_type), "SOA");
			}
			free(origin);
		}
	} else {
		e = demo_zones(s);
	}
	if (e)
		goto out;
	tb_progress(&(struct tb){.tty = isatty(2), .stop = &tb_stop_flag}, true,
		    "keys: root and %zu zone%s", s->nzones, s->nzones == 1 ? "" : "s");
	const char *ka[] = {"keygen", "--zone", ".", "--dir", kdir, NULL};
	if ((e = tb_run_self(s->self, s->log, out, ka)) != 0)
		goto out;
	s->root_key = key_path(kdir, tb_read_first_line(out));
	if (!s->root_key) {
		e = -EIO;
		goto out;
	}
	if ((e = write_anchors(s)) != 0) {
		tb_say("cannot write %s: %s", s->anchors, ddns_strerror(e));
		goto out;
	}
	/* root.zone: SOA, NS and a delegation per zone; ds.zone: their DS sets. */
	char *root_zone = tb_path_join(s->dir, "zones/root.zone");
	char *ds_zone = tb_path_join(s->dir, "zones/ds.zone");
	char *one_ds = tb_path_join(s->dir, "zones/ds.one");
	char *root_private = malloc(strlen(s->root_key) + 10);
	FILE *rz = root_zone ? fopen(root_zone, "w") : NULL;
	FILE *dz = ds_zone ? fopen(ds_zone, "w") : NULL;
	if (!rz || !dz || !one_ds || !root_private) {
		e = -ENOMEM;
		goto zout;
	}
	sprintf(root_private, "%s.private", s->root_key);
	fprintf(rz, ".\t86400\tIN\tSOA\ta.root-servers.test. hostmaster.root.test. 1 1800 900 "
		    "604800 86400\n.\t86400\tIN\tNS\ta.root-servers.test.\n");
	for (size_t i = 0; i < s->nzones && !e && !tb_stop_flag; i++) {
		struct zone *z = &s->zones[i];
		const char *kz[] = {"keygen", "--zone", z->name, "--dir", kdir, NULL};
		if ((e = tb_run_self(s->self, s->log, out, kz)) != 0)
			break;
		z->key = key_path(kdir, tb_read_first_line(out));
		if (!z->key) {
			e = -EIO;
			break;
		}
		fprintf(rz, "%s\t86400\tIN\tNS\tns.%s\n", z->name, z->name);
		char *child = malloc(strlen(z->key) + 8);
		if (!child) {
			e = -ENOMEM;
			break;
		}
		sprintf(child, "%s.key", z->key);
		char dsname[64];
		snprintf(dsname, sizeof(dsname), "zones/ds-%u.zone", (unsigned)i);
		z->ds = tb_path_join(s->dir, dsname);
		const char *da[] = {"delegate", "--parent-key", root_private, "--child-key", child,
				    "-o", z->ds ? z->ds : one_ds, NULL};
		e = tb_run_self(s->self, s->log, NULL, da);
		free(child);
		if (e)
			break;
		/* ds.zone collects every DS set (published once); each zone's blocks
		 * carry only their own (a chain of every zone would not fit a block). */
		FILE *f = fopen(z->ds ? z->ds : one_ds, "r");
		char buf[8192];
		size_t n;
		while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, dz);
		if (f)
			fclose(f);
		tb_progress(&(struct tb){.tty = isatty(2), .stop = &tb_stop_flag}, false,
			    "keys: %zu/%zu zones delegated", i + 1, s->nzones);
	}
	if (tb_stop_flag && !e)
		e = -EINTR;
zout:
	if (rz && fclose(rz) != 0 && !e)
		e = -errno;
	if (dz && fclose(dz) != 0 && !e)
		e = -errno;
	free(root_zone);
	free(ds_zone);
	free(one_ds);
	free(root_private);
out:
	free(zdir);
	free(kdir);
	free(out);
	return e;
}

int tb_publish(struct setup *s, const struct tb *t)
{
	/* The root and DS sets go through node 0; the zones are spread over
	 * the nodes that run every overlay (a put goes into each overlay the
	 * entry node runs), so no one node validates and routes every put. */
	const struct tb_node *via = &t->nodes[0];
	size_t nentry = 0;
	for (size_t k = 0; k < t->n; k++)
		nentry += t->nodes[k].ovl_mask == t->nodes[0].ovl_mask;
	char *root_zone = tb_path_join(s->dir, "zones/root.zone");
	char *ds_zone = tb_path_join(s->dir, "zones/ds.zone");
	char *root_private = malloc(strlen(s->root_key) + 10);
	int e = -ENOMEM;
	if (!root_zone || !ds_zone || !root_private)
		goto out;
	sprintf(root_private, "%s.private", s->root_key);
	const char *a1[] = {"publish", "--quiet", "--node", via->addr_s, "--key", root_private,
			    root_zone, NULL};
	if ((e = tb_run_self(s->self, s->log, NULL, a1)) != 0)
		goto out;
	const char *a2[] = {"publish", "--quiet", "--node", via->addr_s, ds_zone, NULL};
	if ((e = tb_run_self(s->self, s->log, NULL, a2)) != 0)
		goto out;
	/* The zones are independent once the root and the DS sets are in: up
	 * to PUB_PAR publishers at a time. A zone whose publish failed (a put
	 * timed out on a loaded machine) is published again: publish skips
	 * what is stored already, so a rerun puts only the rest. */
	enum { PUB_PAR = 4, PUB_TRIES = 4 };
	struct pubjob {
		pid_t pid;
		size_t zone;
		char *argv[16];
		char kp[PATH_MAX];
	} jobs[PUB_PAR];
	size_t nextz = 0, done = 0, running = 0;
	int *tries = calloc(s->nzones ? s->nzones : 1, sizeof(int));
	size_t *queue = calloc(s->nzones * PUB_TRIES + 1, sizeof(size_t));
	size_t qhead = 0, qtail = 0;
	if (!tries || !queue) {
		free(tries);
		free(queue);
		e = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->nzones; i++)
		queue[qtail++] = i;
	memset(jobs, 0, sizeof(jobs));
	(void)nextz;
	e = 0;
	while ((qhead < qtail || running) && !tb_stop_flag && !e) {
		for (size_t j = 0; j < PUB_PAR && qhead < qtail; j++) {
			if (jobs[j].pid)
				continue;
			struct pubjob *pj = &jobs[j];
			struct zone *z = &s->zones[queue[qhead++]];
			pj->zone = (size_t)(z - s->zones);
			/* entry node: round robin by zone and attempt */
			size_t pick = (pj->zone + (size_t)tries[pj->zone] * 7) % nentry;
			const struct tb_node *entry = via;
			for (size_t k = 0; k < t->n; k++)
				if (t->nodes[k].ovl_mask == t->nodes[0].ovl_mask && pick-- == 0) {
					entry = &t->nodes[k];
					break;
				}
			snprintf(pj->kp, sizeof(pj->kp), "%s.private", z->key);
			char *a[] = {s->self,  "publish", "--quiet", "--node", (char *)entry->addr_s,
				     "--key",  pj->kp,    "--chain", z->ds,    "--origin",
				     z->name, z->file,    NULL};
			memcpy(pj->argv, a, sizeof(a));
			pid_t pid = tb_spawn(pj->argv, s->log, s->log);
			if (pid < 0) {
				e = (int)pid;
				break;
			}
			pj->pid = pid;
			running++;
		}
		/* Reap only our publishers (waitpid(-1) could take a node's exit). */
		int st = 0;
		pid_t r = 0;
		for (size_t j = 0; j < PUB_PAR && r <= 0; j++)
			if (jobs[j].pid)
				r = waitpid(jobs[j].pid, &st, WNOHANG);
		if (r <= 0) {
			struct timespec ts = {0, 20000000};
			nanosleep(&ts, NULL);
			continue;
		}
		for (size_t j = 0; j < PUB_PAR; j++) {
			if (jobs[j].pid != r)
				continue;
			jobs[j].pid = 0;
			running--;
			struct zone *z = &s->zones[jobs[j].zone];
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
				done++;
			} else if (WIFEXITED(st) && WEXITSTATUS(st) == 1 &&
				   ++tries[jobs[j].zone] < PUB_TRIES) {
				tb_say("publish %s: some puts failed; publishing the rest again "
				    "(attempt %d of %d)",
				    z->name, tries[jobs[j].zone] + 1, PUB_TRIES);
				queue[qtail++] = jobs[j].zone;
			} else {
				tb_say("publish %s failed; see %s", z->name, s->log);
				e = -EIO;
			}
		}
		tb_progress(t, false, "publish: %zu/%zu zones", done, s->nzones);
	}
	/* Stopped or failed: the publishers still running are ours to end. */
	for (size_t j = 0; j < PUB_PAR; j++)
		if (jobs[j].pid) {
			kill(jobs[j].pid, SIGTERM);
			(void)waitpid(jobs[j].pid, NULL, 0);
		}
	free(tries);
	free(queue);
	if (tb_stop_flag && !e)
		e = -EINTR;
out:
	free(root_zone);
	free(ds_zone);
	free(root_private);
	return e;
}

/*
 * --break-ds ZONE: a key rollover gone wrong. The zone stays signed with its
 * key, but the root publishes (newer) a DS set that names another key
 * (conventional_up gives the same DS to the conventional root). A resolver
 * then finds no DNSKEY matching the DS: SERVFAIL. The DDNS blocks already
 * stored carry the chain they were signed under (their own DS RRset, signed
 * by the root), which storing nodes accept, but the gateway checks each
 * block's DS links against the DS blocks in the DHT before serving it
 * (ddns_blockval_check_current): SERVFAIL too. The JSON reports both.
 */
int tb_break_ds(struct tb *t, struct setup *s)
{
	const struct opts *o = s->o;
	char want[300];
	snprintf(want, sizeof(want), "%s%s", o->break_ds,
		 o->break_ds[strlen(o->break_ds) - 1] == '.' ? "" : ".");
	struct zone *z = NULL;
	for (size_t i = 0; i < s->nzones && !z; i++)
		if (strcasecmp(s->zones[i].name, want) == 0)
			z = &s->zones[i];
	if (!z) {
		tb_say("--break-ds %s: not one of the testbed's zones", o->break_ds);
		return -EINVAL;
	}
	char *kdir = tb_path_join(s->dir, "keys-decoy"), *out = tb_path_join(s->dir, "helper.out");
	char *dsf = tb_path_join(s->dir, "zones/ds-broken.zone");
	char rootp[PATH_MAX], child[PATH_MAX];
	int e = -ENOMEM;
	if (!kdir || !out || !dsf)
		goto out;
	if (mkdir(kdir, 0700) != 0 && errno != EEXIST) {
		e = -errno;
		goto out;
	}
	const char *ka[] = {"keygen", "--zone", z->name, "--dir", kdir, NULL};
	if ((e = tb_run_self(s->self, s->log, out, ka)) != 0)
		goto out;
	s->decoy_key = key_path(kdir, tb_read_first_line(out));
	if (!s->decoy_key) {
		e = -EIO;
		goto out;
	}
	s->broken = z;
	snprintf(rootp, sizeof(rootp), "%s.private", s->root_key);
	snprintf(child, sizeof(child), "%s.key", s->decoy_key);
	const char *da[] = {"delegate", "--parent-key", rootp, "--child-key", child, "-o", dsf,
			    NULL};
	if ((e = tb_run_self(s->self, s->log, NULL, da)) != 0)
		goto out;
	const char *pa[] = {"publish", "--quiet", "--node", t->nodes[0].addr_s, dsf, NULL};
	if ((e = tb_run_self(s->self, s->log, NULL, pa)) != 0)
		goto out;
	tb_say("--break-ds %s: the root now publishes a DS for another key", z->name);
out:
	free(kdir);
	free(out);
	free(dsf);
	return e;
}

