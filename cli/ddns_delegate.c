/*
 * ddns delegate - the parent's half of a delegation: the DS RRset for a
 * child's key, signed by the parent's key, in master-file form.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "dns/dnssec.h"
#include "dns/keyfile.h"
#include "dns/name.h"
#include "dns/zonefile.h"
#include "cli/cmdopt.h"

static void delegate_usage(FILE *f)
{
	fprintf(f,
		"usage: ddns delegate --parent-key K.private --child-key K.key\n"
		"                     [--digest 2|1|both] [--ttl N] [--inception T]\n"
		"                     [--expiration T] [-o OUT]\n"
		"\n"
		"Prints the DS RRset for the child's key and its RRSIG made with the\n"
		"parent's key, ready to add to the parent zone or to publish.\n"
		"  --parent-key K    the parent zone's key pair (private part needed)\n"
		"  --child-key K     the child's key (its .key file is enough)\n"
		"  --digest D        2 = SHA-256 (default), 1 = SHA-1, both\n"
		"  --ttl N           TTL of the DS RRset (default: the child key's, else 86400)\n"
		"  --inception T     default now-3600 (YYYYMMDDHHMMSS, epoch, now+N)\n"
		"  --expiration T    default now+30 days\n"
		"  -o, --output OUT  write to OUT instead of standard output\n");
}

int ddns_cmd_delegate(int argc, char **argv)
{
	const char *pk = NULL, *ck = NULL, *out = NULL, *inc_s = NULL, *exp_s = NULL,
		   *digest = "2";
	long ttl = -1;
	int ret = 1;
	const struct cmd_opt opts[] = {
		CMD_O("parent-key", 0, CMD_STR, &pk), CMD_O("child-key", 0, CMD_STR, &ck),
		CMD_O("digest", 0, CMD_STR, &digest), CMD_RANGE("ttl", 0, &ttl, 0, 0x7fffffffL),
		CMD_O("inception", 0, CMD_STR, &inc_s), CMD_O("expiration", 0, CMD_STR, &exp_s),
		CMD_O("output", 'o', CMD_STR, &out),
	};
	int pr = cmd_parse("delegate", argc, argv, opts, sizeof(opts) / sizeof(*opts),
			  delegate_usage);
	if (pr)
		return cmd_parse_exit(pr);
	if (!pk || !ck) {
		fprintf(stderr, "ddns delegate: --parent-key and --child-key are required\n");
		return 2;
	}
	if (optind != argc) {
		fprintf(stderr, "ddns delegate: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	bool sha1 = false, sha256 = false;
	if (strcmp(digest, "2") == 0)
		sha256 = true;
	else if (strcmp(digest, "1") == 0)
		sha1 = true;
	else if (strcmp(digest, "both") == 0)
		sha1 = sha256 = true;
	else {
		fprintf(stderr, "ddns delegate: bad --digest '%s' (2, 1 or both)\n",
			digest);
		return 2;
	}
	uint32_t now = (uint32_t)time(NULL), inc = now - 3600,
		 exp = now + 30 * 86400;
	if ((inc_s && dnssec_time_parse(inc_s, now, &inc)) ||
	    (exp_s && dnssec_time_parse(exp_s, now, &exp))) {
		fprintf(stderr, "ddns delegate: bad --inception or --expiration\n");
		return 2;
	}

	struct dnssec_key *parent = NULL, *child = NULL;
	struct dns_rrlist set, sigs;
	dns_rrlist_init(&set);
	dns_rrlist_init(&sigs);
	FILE *f = NULL;
	char err[DNSSEC_KEYFILE_PATH_MAX + 256];
	uint32_t child_ttl = 0;
	int rc = dnssec_keyfile_read(pk, true, &parent, NULL, err, sizeof(err));
	if (!rc)
		rc = dnssec_keyfile_read(ck, false, &child, &child_ttl, err,
					 sizeof(err));
	if (rc) {
		fprintf(stderr, "ddns delegate: %s\n", err);
		goto out;
	}
	const struct dns_name *cz = dnssec_key_owner(child);
	const struct dns_name *pz = dnssec_key_owner(parent);
	char cn[DNS_NAME_STR_MAX], pn[DNS_NAME_STR_MAX];
	if (dns_name_to_str(cz, cn, sizeof(cn)) < 0 ||
	    dns_name_to_str(pz, pn, sizeof(pn)) < 0)
		goto out;
	if (!dns_name_is_subdomain(cz, pz) || dns_name_equal(cz, pz)) {
		fprintf(stderr, "ddns delegate: child zone %s is not below parent zone %s\n",
			cn, pn);
		goto out;
	}
	if (!(dnssec_key_flags(child) & DNSSEC_FLAG_ZONE)) {
		fprintf(stderr, "ddns delegate: %s is not a zone key\n", ck);
		goto out;
	}
	size_t klen;
	const uint8_t *kr = dnssec_key_rdata(child, &klen);
	uint8_t types[2] = {DNSSEC_DS_SHA256, DNSSEC_DS_SHA1};
	bool want[2] = {sha256, sha1};
	for (int i = 0; i < 2; i++) {
		if (!want[i])
			continue;
		uint8_t ds[64];
		size_t dslen;
		rc = dnssec_ds_make(cz, kr, klen, types[i], ds, sizeof(ds), &dslen);
		if (rc)
			goto fail;
		struct dns_rr rr = {.type = DNS_T_DS,
				    .rclass = DNS_C_IN,
				    .ttl = ttl >= 0 ? (uint32_t)ttl
					   : child_ttl ? child_ttl : 86400,
				    .rdlen = (uint16_t)dslen,
				    .rdata = ds};
		dns_name_copy(&rr.owner, cz);
		rc = dns_rrlist_add(&set, &rr);
		if (rc)
			goto fail;
	}
	rc = dnssec_sign_rrset(parent, set.rr, set.n, inc, exp, &sigs);
	if (rc)
		goto fail;
	f = out ? fopen(out, "w") : stdout;
	if (!f) {
		fprintf(stderr, "ddns delegate: cannot write %s: %s\n", out,
			strerror(errno));
		goto out;
	}
	rc = dns_zone_print(f, &set);
	if (!rc)
		rc = dns_zone_print(f, &sigs);
	if (f != stdout && fclose(f) != 0 && !rc)
		rc = -EIO;
	f = NULL;
	if (rc)
		goto fail;
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "ddns delegate: %s\n", ddns_strerror(rc));
out:
	dnssec_key_free(parent);
	dnssec_key_free(child);
	dns_rrlist_free(&set);
	dns_rrlist_free(&sigs);
	return ret;
}
