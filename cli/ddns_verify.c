/*
 * ddns verify - validate every signed RRset of some zone files from a trust
 * anchor, the files together holding the chain (parent zones with their DS
 * RRsets, child zones with their DNSKEY RRsets).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/commands.h"
#include "common/buf.h"
#include "dns/dnssec.h"
#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/validate.h"
#include "dns/zonefile.h"
#include "cli/cmdopt.h"

static void verify_usage(FILE *f)
{
	fprintf(f,
		"usage: ddns verify --trust-anchor FILE [--time T] [--quiet]\n"
		"                   ZONEFILE...\n"
		"\n"
		"Validates every signed RRset of the zone files against the trust\n"
		"anchor (DS or DNSKEY records in master-file syntax), building the\n"
		"chain from the DNSKEY and DS RRsets the files hold. Prints one line\n"
		"per failure with its reason; exits 0 only when all validate.\n"
		"  --trust-anchor FILE  DS and/or DNSKEY records\n"
		"  --time T             validation time: YYYYMMDDHHMMSS, epoch seconds\n"
		"                       or now+N/now-N (default: now)\n"
		"  --quiet              no summary line\n");
}

static int load(const char *path, struct dns_rrlist *l)
{
	char err[DNS_ZONE_ERR_MAX];
	err[0] = '\0';
	int rc = dns_zone_load_file(path, NULL, 3600, l, err, sizeof(err));
	if (rc) {
		if (err[0])
			fprintf(stderr, "ddns verify: %s\n", err);
		else
			fprintf(stderr, "ddns verify: %s: %s\n", path,
				ddns_strerror(rc));
	}
	return rc;
}

int ddns_cmd_verify(int argc, char **argv)
{
	const char *anchor = NULL, *time_s = NULL;
	bool quiet = false;
	const struct cmd_opt opts[] = {
		CMD_O("trust-anchor", 0, CMD_STR, &anchor), CMD_O("time", 0, CMD_STR, &time_s),
		CMD_FLAG("quiet", 'q', CMD_BOOL, &quiet, 1),
	};
	int pr = cmd_parse("verify", argc, argv, opts, sizeof(opts) / sizeof(*opts), verify_usage);
	if (pr)
		return cmd_parse_exit(pr);
	if (!anchor) {
		fprintf(stderr, "ddns verify: --trust-anchor FILE is required\n");
		return 2;
	}
	if (optind == argc) {
		fprintf(stderr, "ddns verify: at least one ZONEFILE expected\n");
		return 2;
	}
	uint32_t now = (uint32_t)time(NULL);
	if (time_s && dnssec_time_parse(time_s, now, &now)) {
		fprintf(stderr, "ddns verify: bad --time '%s'\n", time_s);
		return 2;
	}
	int nfiles = argc - optind, ret = 1;
	struct dns_rrlist ta, *files = calloc((size_t)nfiles, sizeof(*files));
	struct dnssec_validator *v = dnssec_validator_new();
	dns_rrlist_init(&ta);
	if (!files || !v) {
		fprintf(stderr, "ddns verify: out of memory\n");
		goto out;
	}
	for (int i = 0; i < nfiles; i++)
		dns_rrlist_init(&files[i]);
	if (load(anchor, &ta))
		goto out;
	size_t nanchors = 0;
	for (size_t i = 0; i < ta.n; i++) {
		if (ta.rr[i].type != DNS_T_DS && ta.rr[i].type != DNS_T_DNSKEY)
			continue;
		if (dnssec_validator_add_anchor(v, &ta.rr[i])) {
			fprintf(stderr, "ddns verify: out of memory\n");
			goto out;
		}
		nanchors++;
	}
	if (nanchors == 0) {
		fprintf(stderr, "ddns verify: %s: no DS or DNSKEY records\n",
			anchor);
		goto out;
	}
	for (int i = 0; i < nfiles; i++) {
		if (load(argv[optind + i], &files[i]))
			goto out;
		if (dnssec_validator_add_rrs(v, files[i].rr, files[i].n)) {
			fprintf(stderr, "ddns verify: out of memory\n");
			goto out;
		}
	}

	/* Each file's RRsets are validated with that file's RRSIGs, so the
	 * two NSEC RRsets at a zone cut (parent's, child's) stay apart. */
	size_t ok = 0, bad = 0;
	for (int fi = 0; fi < nfiles; fi++) {
		struct dns_rrlist *l = &files[fi];
		const char *fname = argv[optind + fi];
		dnssec_rr_sort(l->rr, l->n);
		for (size_t i = 0; i < l->n;) {
			/* One owner: [i, e); its RRSIGs: [s0, s1). */
			size_t e = i, s0 = 0, s1 = 0;
			while (e < l->n && dns_name_equal(&l->rr[e].owner,
							  &l->rr[i].owner)) {
				if (l->rr[e].type == DNS_T_RRSIG) {
					if (s1 == 0)
						s0 = e;
					s1 = e + 1;
				}
				e++;
			}
			for (size_t j = i; j < e;) {
				size_t k = j + 1;
				while (k < e && l->rr[k].type == l->rr[j].type)
					k++;
				bool signed_ = false;
				for (size_t s = s0; s < s1 && !signed_; s++)
					signed_ = l->rr[s].rdlen >= 2 &&
						  ddns_get_u16(l->rr[s].rdata) == l->rr[j].type;
				if (l->rr[j].type != DNS_T_RRSIG && signed_) {
					char why[512] = "";
					int rc = dnssec_validate(
						v, &l->rr[j], k - j, &l->rr[s0],
						s1 - s0, now, why, sizeof(why));
					if (rc == 0) {
						ok++;
					} else {
						bad++;
						printf("%s: %s [%s]\n", fname, why,
						       ddns_strerror(rc));
					}
				}
				j = k;
			}
			i = e;
		}
	}
	if (!quiet)
		fprintf(stderr, "ddns verify: %zu RRsets valid, %zu failed\n",
			ok, bad);
	if (ok + bad == 0)
		fprintf(stderr, "ddns verify: no signed RRsets found\n");
	ret = (bad == 0 && ok > 0) ? 0 : 1;
out:
	if (files)
		for (int i = 0; i < nfiles; i++)
			dns_rrlist_free(&files[i]);
	free(files);
	dns_rrlist_free(&ta);
	dnssec_validator_free(v);
	return ret;
}
