/*
 * ddns publish - sign a zone (or take it already signed) and insert every
 * signed RRset into the DHT through a node, one block per RRset.
 *
 * Re-publishing is cheap: before putting, the stored copy of every block is
 * fetched (a GET per overlay the node runs); a block whose records, TTLs and
 * signing keys are unchanged, and whose stored signature is as new or still
 * has a good part of its validity left, is not put again. A changed RRset
 * replaces the stored one (its signature is newer: when the stored version
 * is not older than our inception, we re-sign one second after it).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/cmdopt.h"
#include "cli/commands.h"
#include "common/buf.h"
#include "overlay/overlay.h"
#include "dns/block.h"
#include "dns/dnssec.h"
#include "dns/keyfile.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/zonefile.h"

#define PUB_MAX_KEYS 16
#define PUB_MAX_FILES 64
#define PUB_WINDOW 128 /* requests in flight (default of --window) */
#define PUB_WINDOW_MAX 1024

static void publish_usage(FILE *f)
{
	fprintf(f,
		"usage: ddns publish --node ADDR:PORT [--key K.private ...] [--chain FILE ...]\n"
		"                    [--origin NAME] [--inception T] [--expiration T]\n"
		"                    [--overlay kad16|chord] [--no-chain] [--force] [--quiet]\n"
		"                    [--window N] [--timeout S] ZONEFILE...\n"
		"\n"
		"Inserts every signed RRset of the zone file(s) into the DHT through the\n"
		"node, one block per RRset. With --key, the RRsets of the key's zone are\n"
		"signed first (each key's DNSKEY is added at the apex when absent, and an\n"
		"NSEC chain is built when the zone has a SOA and no NSEC records); RRsets\n"
		"outside the key's zone must come signed. Without --key the input must be\n"
		"signed already (ddns sign, ddns delegate, dnssec-signzone output).\n"
		"Unchanged RRsets already stored are not put again.\n"
		"  --node ADDR:PORT  the node's --listen address\n"
		"  --key K           a key pair of the zone (K...+alg+tag); repeatable\n"
		"  --chain FILE      signed DNSKEY/DS RRsets every block carries towards\n"
		"                    the root (e.g. the parent's DS from ddns delegate)\n"
		"  --no-chain        blocks carry no DNSKEY/DS sets (nodes fetch them)\n"
		"  --origin NAME     origin for relative names (default: the key's zone)\n"
		"  --inception T     default now-3600 (YYYYMMDDHHMMSS, epoch, now+N)\n"
		"  --expiration T    default now+30 days\n"
		"  --overlay NAME    put into this overlay only (default: every overlay\n"
		"                    the node runs)\n"
		"  --force           put every block, even unchanged ones\n"
		"  --timeout S       per request (default 30)\n"
		"  --window N        requests in flight at once, 1-1024 (default 128)\n"
		"  --quiet           no progress bar, only the summary\n"
		"Exit status: 0 all published or unchanged, 1 something refused or\n"
		"failed, 2 usage or input errors.\n");
}

enum pub_state { PS_NEW = 0, PS_UNCHANGED, PS_INSERT, PS_REPLACE };

/* One block (RRset) through the publishing. */
struct pub;
struct pub_item {
	struct pub *pub;
	struct dns_block_out *blk;
	uint8_t need_mask;         /* overlays that need a put */
	bool stored_any;           /* some overlay had a copy */
	uint64_t stored_max_version;
	bool stale_risk;           /* changed, and stored version >= ours */
	unsigned checks_left;      /* overlays whose check has not answered */
	bool early;                /* put as soon as its check found nothing */
	bool done, refused;
	int status;                /* the refusing overlay's DDNS code */
	uint8_t status_ovl;        /* ... and that overlay */
	char reason[1024];
};

struct pub {
	struct ddns_client *cl;
	struct dns_blocklist blocks;
	struct pub_item *items;
	uint8_t ovl[CLI_MAX_OVL];
	size_t novl;
	uint32_t now;
	uint32_t validity; /* expiration - inception of our signatures */
	bool have_keys;
	bool progress;
	bool put_early;     /* the first pass: put what the check finds absent */
	size_t early_ok;    /* early puts stored (counted if a second pass runs) */
	size_t steps, steps_done;
	const char *phase;
	/* summary */
	size_t inserted, replaced, unchanged, refused, unsigned_skipped;
	unsigned rpcs, hops, puts;
};

/* ---- progress -------------------------------------------------------- */

static void progress(struct pub *p, bool final)
{
	if (!p->progress || !p->steps)
		return;
	size_t width = 40, fill = p->steps_done * width / p->steps;
	char bar[64];
	for (size_t i = 0; i < width; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[width] = 0;
	fprintf(stderr, "\r%-10s [%s] %zu/%zu", p->phase, bar, p->steps_done, p->steps);
	if (final)
		fprintf(stderr, "\n");
	fflush(stderr);
}

/* ---- comparison with the stored block -------------------------------- */

/* Same records (canonical RDATA, TTL), and every signature of `fresh`
 * made by a key that also signed `stored`. */
static bool same_data(struct dns_block *stored, struct dns_block *fresh)
{
	struct dns_rrlist *a = &stored->data.rrs, *b = &fresh->data.rrs;
	if (a->n != b->n)
		return false;
	dns_rrlist_sort_canonical(a);
	dns_rrlist_sort_canonical(b);
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (dns_rr_canon_cmp(&a->rr[i], &b->rr[i]) != 0 || a->rr[i].ttl != b->rr[i].ttl)
			return false;
	for (size_t i = 0; i < fresh->data.sigs.n; i++) {
		struct dnssec_rrsig fs;
		bool found = false;
		if (dnssec_rrsig_parse(fresh->data.sigs.rr[i].rdata, fresh->data.sigs.rr[i].rdlen,
				       &fs) != 0)
			return false;
		for (size_t j = 0; j < stored->data.sigs.n && !found; j++) {
			struct dnssec_rrsig ss;
			found = dnssec_rrsig_parse(stored->data.sigs.rr[j].rdata,
						   stored->data.sigs.rr[j].rdlen, &ss) == 0 &&
				ss.key_tag == fs.key_tag && ss.alg == fs.alg;
		}
		if (!found)
			return false;
	}
	return true;
}

/* Latest inception and earliest expiration of a set's signatures. */
static void sig_window(const struct dns_block_set *s, uint32_t *inc, uint32_t *exp)
{
	*inc = 0;
	*exp = 0;
	for (size_t i = 0; i < s->sigs.n; i++) {
		const struct dns_rr *r = &s->sigs.rr[i];
		if (r->rdlen < 18)
			continue;
		uint32_t e = ddns_get_u32(r->rdata + 8), in = ddns_get_u32(r->rdata + 12);
		if (i == 0 || (int32_t)(in - *inc) > 0)
			*inc = in;
		if (i == 0 || (int32_t)(e - *exp) < 0)
			*exp = e;
	}
}

struct get_ctx {
	struct pub *p;
	struct pub_item *it;
	uint8_t overlay;
};

static void put_item(struct pub *p, struct pub_item *it);

/* Every overlay's check answered and found no copy anywhere: nothing can
 * refuse our signatures as a replay, so the put need not wait for the rest
 * of the zone's checks (they overlap; a first publish of a zone is nearly
 * all such puts). A changed RRset still waits: the checks of the whole zone
 * decide whether it must be signed again first. */
static void check_done(struct pub *p, struct pub_item *it)
{
	if (--it->checks_left || !p->put_early || !it->need_mask || it->stored_any)
		return;
	it->early = true;
	put_item(p, it);
}

static void on_get(void *arg, int status, const struct cli_get_result *res)
{
	struct get_ctx *g = arg;
	struct pub *p = g->p;
	struct pub_item *it = g->it;
	uint8_t bit = (uint8_t)OVL_BIT(g->overlay);
	p->steps_done++;
	progress(p, false);
	if (status != 0 || res->status != 0 || !res->block) {
		/* Nothing usable stored (or no answer): put it. */
		it->need_mask |= bit;
		free(g);
		check_done(p, it);
		return;
	}
	it->stored_any = true;
	if (res->version > it->stored_max_version)
		it->stored_max_version = res->version;
	struct dns_block stored, fresh;
	dns_block_init(&stored);
	dns_block_init(&fresh);
	bool unchanged = false;
	if (dns_block_decode(&stored, res->block, res->len) == 0 &&
	    dns_block_decode(&fresh, it->blk->data, it->blk->len) == 0) {
		uint32_t s_inc, s_exp, f_inc, f_exp;
		sig_window(&stored.data, &s_inc, &s_exp);
		sig_window(&fresh.data, &f_inc, &f_exp);
		if (same_data(&stored, &fresh)) {
			/* As new as ours, or (we sign) still valid for at least
			 * a quarter of our validity period. */
			if ((int32_t)(s_inc - f_inc) >= 0)
				unchanged = true;
			else if (p->have_keys && (int32_t)(s_exp - p->now) > 0 &&
				 (uint32_t)(s_exp - p->now) >= p->validity / 4)
				unchanged = true;
		} else if ((int32_t)(s_inc - f_inc) >= 0) {
			it->stale_risk = true;
		}
	}
	dns_block_clear(&stored);
	dns_block_clear(&fresh);
	if (!unchanged)
		it->need_mask |= bit;
	free(g);
	check_done(p, it);
}

static void on_put(void *arg, int status, const struct cli_put_result *res, size_t n)
{
	struct pub_item *it = arg;
	struct pub *p = it->pub;
	it->done = true;
	if (!it->early) { /* the checking bar counts checks only */
		p->steps_done++;
		progress(p, false);
	}
	if (status != 0) {
		it->refused = true;
		snprintf(it->reason, sizeof(it->reason), "no answer from the node: %s",
			 ddns_strerror(status));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (res[i].status == 0)
			continue;
		it->refused = true;
		it->status = res[i].status;
		it->status_ovl = res[i].overlay;
		/* The storing node's reason says it all when it gives one
		 * ("validation failed: chain of trust broken"). */
		snprintf(it->reason, sizeof(it->reason), "%s: %s",
			 ovl_wire_name(res[i].overlay),
			 res[i].reason[0] ? res[i].reason : ddns_strerror(res[i].status));
		break;
	}
	if (it->early && !it->refused)
		p->early_ok++;
}

static void put_item(struct pub *p, struct pub_item *it)
{
	int rc = ddns_client_put_async(p->cl, it->need_mask, it->blk->data, it->blk->len, on_put,
				       it);
	if (rc) {
		it->done = it->refused = true;
		snprintf(it->reason, sizeof(it->reason), "%s", ddns_strerror(rc));
		if (!it->early)
			p->steps_done++;
	}
}

/* ---- naming the missing link of a broken chain ------------------------ */

/* The signer of a signed set (its first RRSIG). false when unsigned. */
static bool set_signer(const struct dns_block_set *s, struct dns_name *signer)
{
	struct dnssec_rrsig sig;
	if (s->sigs.n == 0 ||
	    dnssec_rrsig_parse(s->sigs.rr[0].rdata, s->sigs.rr[0].rdlen, &sig) != 0)
		return false;
	*signer = sig.signer;
	return true;
}

/* The signed set (name, type) as a validating node could find it: carried
 * in the refused block, published in this run, or stored in the ring
 * (through the overlay that refused). Its signer goes to *signer. */
static bool find_link(struct pub *p, const struct dns_block *carried, uint8_t ovl,
		      const struct dns_name *name, uint16_t type, struct dns_name *signer)
{
	for (size_t i = 0; i < carried->nchain; i++) {
		const struct dns_block_set *s = &carried->chain[i];
		if (s->rrs.n && s->rrs.rr[0].type == type &&
		    dns_name_equal(dns_block_set_owner(s), name))
			return set_signer(s, signer);
	}
	for (size_t i = 0; i < p->blocks.n; i++) {
		const struct dns_block_out *b = &p->blocks.v[i];
		if (b->type != type || !dns_name_equal(&b->owner, name))
			continue;
		struct dns_block blk;
		dns_block_init(&blk);
		bool ok = dns_block_decode(&blk, b->data, b->len) == 0 &&
			  set_signer(&blk.data, signer);
		dns_block_clear(&blk);
		return ok;
	}
	struct cli_get_result res;
	if (ddns_client_get(p->cl, ovl, 0, name->data, name->len, type, &res) != 0)
		return false;
	bool ok = false;
	if (res.status == 0 && res.block) {
		struct dns_block blk;
		dns_block_init(&blk);
		ok = dns_block_decode(&blk, res.block, res.len) == 0 &&
		     set_signer(&blk.data, signer);
		dns_block_clear(&blk);
	}
	free((void *)res.block);
	return ok;
}

/*
 * A block refused because its chain of trust is broken: walk the chain
 * from the block's signer zone up to the root, as a validating node does
 * (DNSKEY of the zone, then the DS that the parent signed, then the
 * parent's DNSKEY...), and append the first link that is nowhere to be
 * found, with what to publish, to the item's reason.
 */
static void explain_chain(struct pub *p, struct pub_item *it)
{
	struct dns_block blk;
	struct dns_name zone, next;
	char zb[DNS_NAME_STR_MAX], hint[2 * DNS_NAME_STR_MAX + 256];
	dns_block_init(&blk);
	if (dns_block_decode(&blk, it->blk->data, it->blk->len) != 0 ||
	    !set_signer(&blk.data, &zone)) {
		dns_block_clear(&blk);
		return;
	}
	hint[0] = 0;
	for (unsigned depth = 0; depth < 128 && !hint[0]; depth++) {
		if (dns_name_to_str(&zone, zb, sizeof(zb)) < 0)
			break;
		bool root = dns_name_label_count(&zone) == 0;
		if (!find_link(p, &blk, it->status_ovl, &zone, DNS_T_DNSKEY, &next)) {
			if (root)
				snprintf(hint, sizeof(hint),
					 "no DNSKEY for . in the ring: publish the root zone first "
					 "(ddns publish --key K.+013+....private root.zone)");
			else
				snprintf(hint, sizeof(hint),
					 "no DNSKEY for %s in the ring: publish the zone %s with "
					 "its --key",
					 zb, zb);
			break;
		}
		if (root)
			break;
		if (!find_link(p, &blk, it->status_ovl, &zone, DNS_T_DS, &next)) {
			snprintf(hint, sizeof(hint),
				 "no DS for %s signed by the parent: publish the DS set that "
				 "'ddns delegate' makes (ddns publish ds.zone), or pass it "
				 "with --chain",
				 zb);
			break;
		}
		/* The DS is signed by the parent zone: a proper ancestor. */
		if (!dns_name_is_subdomain(&zone, &next) || dns_name_equal(&zone, &next))
			break;
		zone = next;
	}
	dns_block_clear(&blk);
	if (hint[0]) {
		size_t l = strlen(it->reason);
		snprintf(it->reason + l, sizeof(it->reason) - l, ": %s", hint);
	}
}

/* ---- signing ---------------------------------------------------------- */

struct signer {
	struct dnssec_key *keys[PUB_MAX_KEYS];
	uint32_t key_ttl[PUB_MAX_KEYS];
	size_t nkeys;
	struct dns_name apex;
};

static bool has_sig(const struct dns_rrlist *l, const struct dns_rr *rr)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct dns_rr *s = &l->rr[i];
		if (s->type == DNS_T_RRSIG && s->rdlen >= 2 &&
		    ddns_get_u16(s->rdata) == rr->type &&
		    dns_name_equal(&s->owner, &rr->owner))
			return true;
	}
	return false;
}

/* Add each key's DNSKEY at the apex unless present. */
static int add_dnskeys(struct dns_rrlist *zone, const struct signer *sg, uint32_t dflt_ttl)
{
	uint32_t ttl = dflt_ttl;
	for (size_t k = 0; k < sg->nkeys; k++)
		if (sg->key_ttl[k]) {
			ttl = sg->key_ttl[k];
			break;
		}
	for (size_t i = 0; i < zone->n; i++)
		if (zone->rr[i].type == DNS_T_DNSKEY && dns_name_equal(&zone->rr[i].owner, &sg->apex))
			ttl = zone->rr[i].ttl;
	for (size_t k = 0; k < sg->nkeys; k++) {
		size_t len;
		const uint8_t *rd = dnssec_key_rdata(sg->keys[k], &len);
		bool found = false;
		for (size_t i = 0; i < zone->n && !found; i++)
			found = zone->rr[i].type == DNS_T_DNSKEY && zone->rr[i].rdlen == len &&
				dns_name_equal(&zone->rr[i].owner, &sg->apex) &&
				memcmp(zone->rr[i].rdata, rd, len) == 0;
		if (found)
			continue;
		int rc = dns_rrlist_add_parts(zone, &sg->apex, DNS_T_DNSKEY, DNS_C_IN, ttl, rd, len);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Turn the input into signed records: records of the key's zone are signed
 * (NSEC chain added when there is a SOA and no NSEC), the rest is kept as
 * it is (it must carry its own RRSIGs). Result in out.
 */
static int sign_input(const struct dns_rrlist *in, struct signer *sg, uint32_t inc,
		      uint32_t exp, struct dns_rrlist *out, char *err, size_t errlen)
{
	struct dns_rrlist zone;
	dns_rrlist_init(&zone);
	int rc = 0;
	bool have_soa = false, have_nsec = false;
	uint32_t nsec_ttl = 3600, soa_ttl = 3600;
	for (size_t i = 0; i < in->n; i++) {
		const struct dns_rr *rr = &in->rr[i];
		bool inzone = sg->nkeys && dns_name_is_subdomain(&rr->owner, &sg->apex);
		if (!inzone) {
			if ((rc = dns_rrlist_add(out, rr)) != 0)
				goto out;
			continue;
		}
		if (rr->type == DNS_T_RRSIG)
			continue; /* re-signed below */
		if (rr->type == DNS_T_SOA && dns_name_equal(&rr->owner, &sg->apex)) {
			have_soa = true;
			soa_ttl = rr->ttl;
			uint32_t minimum = rr->rdlen >= 4 ? ddns_get_u32(rr->rdata + rr->rdlen - 4) : soa_ttl;
			nsec_ttl = minimum < soa_ttl ? minimum : soa_ttl;
		}
		if (rr->type == DNS_T_NSEC)
			have_nsec = true;
		if ((rc = dns_rrlist_add(&zone, rr)) != 0)
			goto out;
	}
	if (sg->nkeys) {
		if ((rc = add_dnskeys(&zone, sg, soa_ttl)) != 0)
			goto out;
		if (have_soa && !have_nsec &&
		    (rc = dnssec_nsec_chain(&zone, &sg->apex, nsec_ttl)) != 0) {
			snprintf(err, errlen, "cannot build the NSEC chain: %s", ddns_strerror(rc));
			goto out;
		}
		size_t nsigs = 0;
		rc = dnssec_zone_sign(&zone, &sg->apex, sg->keys, sg->nkeys, inc, exp, &nsigs);
		if (rc) {
			snprintf(err, errlen, "signing failed: %s", ddns_strerror(rc));
			goto out;
		}
		for (size_t i = 0; i < zone.n; i++)
			if ((rc = dns_rrlist_add(out, &zone.rr[i])) != 0)
				goto out;
	}
out:
	dns_rrlist_free(&zone);
	return rc;
}

/* RRsets (other than RRSIG) of l without any covering RRSIG in l. */
static size_t count_unsigned(struct dns_rrlist *l)
{
	struct dns_rrlist copy;
	size_t n = 0;
	dns_rrlist_init(&copy);
	for (size_t i = 0; i < l->n; i++)
		if (dns_rrlist_add(&copy, &l->rr[i]) != 0)
			break;
	dns_rrlist_sort_canonical(&copy);
	/* sorted: an owner's RRSIGs are among its own records */
	for (size_t g = 0, ge; g < copy.n; g = ge) {
		for (ge = g + 1; ge < copy.n && dns_name_equal(&copy.rr[ge].owner, &copy.rr[g].owner);
		     ge++)
			;
		const struct dns_rrlist group = {copy.rr + g, ge - g, ge - g};
		for (size_t i = g, j; i < ge; i = j) {
			j = dns_rrset_end(&copy, i);
			if (copy.rr[i].type != DNS_T_RRSIG && !has_sig(&group, &copy.rr[i]))
				n++;
		}
	}
	dns_rrlist_free(&copy);
	return n;
}

/* ---- main ------------------------------------------------------------ */

static int load_files(const char *const *files, size_t n, const struct dns_name *origin,
		      struct dns_rrlist *out, const char *what)
{
	char err[DNS_ZONE_ERR_MAX];
	for (size_t i = 0; i < n; i++) {
		err[0] = 0;
		int rc = dns_zone_load_file(files[i], origin, 3600, out, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "ddns publish: %s%s: %s\n", what, err[0] ? "" : files[i],
				err[0] ? err : ddns_strerror(rc));
			return rc;
		}
	}
	return 0;
}

int ddns_cmd_publish(int argc, char **argv)
{
	const char *node = NULL, *origin_s = NULL, *inc_s = NULL, *exp_s = NULL;
	const char *keyfiles[PUB_MAX_KEYS], *chainfiles[PUB_MAX_FILES];
	struct cmd_strs keys = {keyfiles, 0, PUB_MAX_KEYS};
	struct cmd_strs chains = {chainfiles, 0, PUB_MAX_FILES};
	bool carry = true, force = false, quiet = false;
	uint8_t only = 0;
	double timeout = 30;
	unsigned window = PUB_WINDOW;
	int ret = 2;
	const struct cmd_opt opts[] = {
		CMD_O("node", 0, CMD_STR, &node), CMD_O("key", 0, CMD_STRS, &keys),
		CMD_O("chain", 0, CMD_STRS, &chains), CMD_FLAG("no-chain", 0, CMD_BOOL, &carry, 0),
		CMD_O("origin", 0, CMD_STR, &origin_s), CMD_O("inception", 0, CMD_STR, &inc_s),
		CMD_O("expiration", 0, CMD_STR, &exp_s), CMD_O("overlay", 0, CMD_OVERLAY, &only),
		CMD_FLAG("force", 0, CMD_BOOL, &force, 1), CMD_O("timeout", 0, CMD_TIMEOUT, &timeout),
		CMD_FLAG("quiet", 0, CMD_BOOL, &quiet, 1),
		CMD_RANGE_K("window", CMD_UINT, &window, 1, PUB_WINDOW_MAX),
	};
	int pr = cmd_parse("publish", argc, argv, opts, sizeof(opts) / sizeof(*opts), publish_usage);
	if (pr)
		return cmd_parse_exit(pr);
	size_t nkf = keys.n, ncf = chains.n;
	if (cmd_need_node("publish", node))
		return 2;
	if (optind >= argc) {
		fprintf(stderr, "ddns publish: no ZONEFILE given\n");
		return 2;
	}

	struct pub p;
	struct signer sg;
	struct dns_rrlist input, signed_rrs, chain;
	memset(&p, 0, sizeof(p));
	memset(&sg, 0, sizeof(sg));
	dns_rrlist_init(&input);
	dns_rrlist_init(&signed_rrs);
	dns_rrlist_init(&chain);
	dns_blocklist_init(&p.blocks);
	char err[DNS_ZONE_ERR_MAX + DNSSEC_KEYFILE_PATH_MAX];

	p.now = (uint32_t)time(NULL);
	uint32_t inc = p.now - 3600, exp = p.now + 30 * 86400;
	if (inc_s && dnssec_time_parse(inc_s, p.now, &inc)) {
		fprintf(stderr, "ddns publish: bad --inception '%s'\n", inc_s);
		goto out;
	}
	if (exp_s && dnssec_time_parse(exp_s, p.now, &exp)) {
		fprintf(stderr, "ddns publish: bad --expiration '%s'\n", exp_s);
		goto out;
	}
	if ((int32_t)(exp - inc) <= 0) {
		fprintf(stderr, "ddns publish: expiration is not after inception\n");
		goto out;
	}
	p.validity = exp - inc;
	for (size_t i = 0; i < nkf; i++) {
		int rc = dnssec_keyfile_read(keyfiles[i], true, &sg.keys[i], &sg.key_ttl[i], err,
					     sizeof(err));
		if (rc) {
			fprintf(stderr, "ddns publish: %s\n", err);
			goto out;
		}
		sg.nkeys++;
		if (i == 0) {
			dns_name_copy(&sg.apex, dnssec_key_owner(sg.keys[0]));
		} else if (!dns_name_equal(dnssec_key_owner(sg.keys[i]), &sg.apex)) {
			fprintf(stderr, "ddns publish: keys %s and %s belong to different zones\n",
				keyfiles[0], keyfiles[i]);
			goto out;
		}
	}
	p.have_keys = sg.nkeys > 0;
	struct dns_name origin, *originp = NULL;
	if (origin_s) {
		if (dns_name_from_str(&origin, origin_s, NULL) != 0) {
			fprintf(stderr, "ddns publish: bad --origin '%s'\n", origin_s);
			goto out;
		}
		originp = &origin;
	} else if (sg.nkeys) {
		dns_name_copy(&origin, &sg.apex);
		originp = &origin;
	}
	if (load_files((const char *const *)argv + optind, (size_t)(argc - optind), originp,
		       &input, "") != 0 ||
	    load_files(chainfiles, ncf, originp, &chain, "--chain ") != 0)
		goto out;
	if (input.n == 0) {
		fprintf(stderr, "ddns publish: the zone file holds no records\n");
		goto out;
	}

	/* Talk to the node first: a typo in --node should not cost a signing. */
	p.cl = cmd_connect("publish", node, (unsigned)(timeout * 1000));
	if (!p.cl)
		goto out;
	struct cli_status *st = calloc(1, sizeof(*st));
	int rc = st ? ddns_client_status(p.cl, st) : -ENOMEM;
	if (rc) {
		fprintf(stderr, "ddns publish: node %s: %s\n", node, ddns_strerror(rc));
		free(st);
		ret = 1;
		goto out;
	}
	for (size_t i = 0; i < st->ninst; i++) {
		if (st->inst[i].vnode != 0 || (only && st->inst[i].overlay != only))
			continue;
		if (p.novl < CLI_MAX_OVL)
			p.ovl[p.novl++] = st->inst[i].overlay;
	}
	free(st);
	if (p.novl == 0) {
		fprintf(stderr, "ddns publish: node %s runs no %s overlay\n", node,
			only ? "such" : "");
		ret = 1;
		goto out;
	}
	uint8_t all_mask = 0;
	for (size_t i = 0; i < p.novl; i++)
		all_mask |= (uint8_t)OVL_BIT(p.ovl[i]);

	double t_start = cmd_now_s(), t_check = 0, t_put;
	size_t early_inserted = 0;
	for (int pass = 0; pass < 2; pass++) {
		dns_rrlist_clear(&signed_rrs);
		dns_blocklist_free(&p.blocks);
		dns_blocklist_init(&p.blocks);
		free(p.items);
		p.items = NULL;
		err[0] = 0;
		rc = sign_input(&input, &sg, inc, exp, &signed_rrs, err, sizeof(err));
		if (rc) {
			fprintf(stderr, "ddns publish: %s\n", err[0] ? err : ddns_strerror(rc));
			goto out;
		}
		if (pass == 0)
			p.unsigned_skipped = count_unsigned(&signed_rrs);
		rc = dns_block_build_zone(&signed_rrs, ncf ? &chain : NULL, carry, &p.blocks);
		if (rc) {
			fprintf(stderr, "ddns publish: cannot build blocks: %s\n",
				ddns_strerror(rc));
			goto out;
		}
		/* The NSEC chain by class of name, so that a gateway proves a
		 * name missing with one get (dns/block.h, "Denial blocks"). */
		rc = dns_block_build_denial(&signed_rrs, ncf ? &chain : NULL, carry, &p.blocks);
		if (rc == DDNS_ETOOBIG && pass == 0)
			fprintf(stderr, "ddns publish: warning: zone too large for denial blocks "
					"(a class over %u KiB): names it lacks are denied "
					"without proof\n", DNS_BLOCK_MAX / 1024);
		else if (rc && rc != DDNS_ETOOBIG && rc != DDNS_EMALFORMED) {
			fprintf(stderr, "ddns publish: cannot build denial blocks: %s\n",
				ddns_strerror(rc));
			goto out;
		}
		if (p.blocks.n == 0) {
			fprintf(stderr, "ddns publish: nothing signed to publish%s\n",
				sg.nkeys ? "" : " (no RRSIGs in the input: give --key)");
			goto out;
		}
		p.items = calloc(p.blocks.n, sizeof(*p.items));
		if (!p.items) {
			fprintf(stderr, "ddns publish: out of memory\n");
			goto out;
		}
		for (size_t i = 0; i < p.blocks.n; i++) {
			p.items[i].blk = &p.blocks.v[i];
			p.items[i].pub = &p;
			p.items[i].checks_left = (unsigned)p.novl;
		}
		if (force) {
			for (size_t i = 0; i < p.blocks.n; i++)
				p.items[i].need_mask = all_mask;
			break;
		}
		/* Phase 1: what is stored already? */
		double t0 = cmd_now_s();
		p.progress = !quiet && isatty(2);
		p.phase = "checking";
		p.steps = p.blocks.n * p.novl;
		p.steps_done = 0;
		p.put_early = pass == 0;
		p.early_ok = 0;
		for (size_t i = 0; i < p.blocks.n; i++) {
			for (size_t o = 0; o < p.novl; o++) {
				struct get_ctx *g = malloc(sizeof(*g));
				if (!g) {
					fprintf(stderr, "ddns publish: out of memory\n");
					goto out;
				}
				*g = (struct get_ctx){&p, &p.items[i], p.ovl[o]};
				ddns_client_wait(p.cl, window - 1);
				rc = ddns_client_get_async(p.cl, p.ovl[o], 0,
							   p.blocks.v[i].owner.data,
							   p.blocks.v[i].owner.len, p.blocks.v[i].type,
							   on_get, g);
				if (rc) {
					free(g);
					p.items[i].need_mask |= (uint8_t)OVL_BIT(p.ovl[o]);
					check_done(&p, &p.items[i]);
				}
			}
		}
		ddns_client_wait(p.cl, 0);
		progress(&p, true);
		t_check += cmd_now_s() - t0;
		/* A changed RRset whose stored signature is not older than
		 * ours would be refused as a replay: sign again, later. */
		uint64_t maxv = 0;
		size_t nstale = 0;
		for (size_t i = 0; i < p.blocks.n; i++)
			if (p.items[i].stale_risk && p.items[i].need_mask) {
				nstale++;
				if (p.items[i].stored_max_version > maxv)
					maxv = p.items[i].stored_max_version;
			}
		if (pass == 0 && sg.nkeys && maxv && !inc_s && maxv + 1 <= p.now) {
			if (!quiet)
				fprintf(stderr, "ddns publish: %zu changed RRsets have stored "
						"signatures as new as ours: signing again with "
						"inception %llu\n",
					nstale, (unsigned long long)maxv + 1);
			/* The puts already made (of RRsets nothing was stored
			 * for) stay: the second pass finds them stored and
			 * unchanged, and the summary counts them inserted. */
			early_inserted = p.early_ok;
			inc = (uint32_t)maxv + 1;
			continue;
		}
		break;
	}

	/* Phase 2: put what changed. */
	t_put = cmd_now_s();
	p.phase = "publishing";
	p.steps = 0;
	p.steps_done = 0;
	for (size_t i = 0; i < p.blocks.n; i++)
		if (p.items[i].need_mask && !p.items[i].early)
			p.steps++;
	for (size_t i = 0; i < p.blocks.n; i++) {
		struct pub_item *it = &p.items[i];
		if (!it->need_mask) {
			p.unchanged++;
			continue;
		}
		if (it->early)
			continue; /* put while the checks ran */
		ddns_client_wait(p.cl, window - 1);
		put_item(&p, it);
	}
	ddns_client_wait(p.cl, 0);
	t_put = cmd_now_s() - t_put;
	if (p.steps) {
		p.steps_done = p.steps;
		progress(&p, true);
	}
	for (size_t i = 0; i < p.blocks.n; i++) {
		struct pub_item *it = &p.items[i];
		if (!it->need_mask)
			continue;
		if (it->refused) {
			char nb[DNS_NAME_STR_MAX], tb[DNS_MNEMONIC_MAX];
			if (it->status == DDNS_ENOCHAIN)
				explain_chain(&p, it);
			if (dns_name_to_str(&it->blk->owner, nb, sizeof(nb)) < 0)
				snprintf(nb, sizeof(nb), "?");
			fprintf(stderr, "refused: %s %s: %s\n", nb, dns_type_to_str(it->blk->type, tb),
				it->reason);
			p.refused++;
		} else if (it->stored_any) {
			p.replaced++;
		} else {
			p.inserted++;
		}
	}
	if (early_inserted > p.unchanged)
		early_inserted = p.unchanged;
	p.unchanged -= early_inserted;
	p.inserted += early_inserted;
	printf("%zu RRsets: %zu inserted, %zu replaced, %zu unchanged, %zu refused", p.blocks.n,
	       p.inserted, p.replaced, p.unchanged, p.refused);
	if (p.unsigned_skipped)
		printf(" (%zu unsigned RRsets skipped: delegation NS, glue%s)", p.unsigned_skipped,
		       sg.nkeys ? "" : ", or unsigned input");
	double t_all = cmd_now_s() - t_start;
	printf("; %.2f s (signing %.2f, checking %.2f, storing %.2f)\n", t_all,
	       t_all - t_check - t_put, t_check, t_put);
	ret = p.refused ? 1 : 0;
out:
	for (size_t i = 0; i < sg.nkeys; i++)
		dnssec_key_free(sg.keys[i]);
	free(p.items);
	dns_blocklist_free(&p.blocks);
	dns_rrlist_free(&input);
	dns_rrlist_free(&signed_rrs);
	dns_rrlist_free(&chain);
	ddns_client_free(p.cl);
	return ret;
}
