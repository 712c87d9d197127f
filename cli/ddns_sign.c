/*
 * ddns sign - sign a zone: NSEC chain plus an RRSIG on every authoritative
 * RRset, written as a master file (like dnssec-signzone and ldns-signzone).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "common/buf.h"
#include "dns/dnssec.h"
#include "dns/keyfile.h"
#include "dns/name.h"
#include "dns/zonefile.h"
#include "cli/cmdopt.h"

#define SIGN_MAX_KEYS 16

static void sign_usage(FILE *f)
{
	fprintf(f,
		"usage: ddns sign --key K.private [--key ...] [--origin NAME]\n"
		"                 [--inception T] [--expiration T] [-o OUT] ZONEFILE\n"
		"\n"
		"Signs every authoritative RRset of ZONEFILE (DNSKEY included; each\n"
		"key's DNSKEY is added at the apex when absent), builds the NSEC\n"
		"chain and writes the signed zone to OUT (default ZONEFILE.signed).\n"
		"With a KSK (flags 257) and a ZSK (256), the KSK signs only the\n"
		"DNSKEY RRset. Times: YYYYMMDDHHMMSS, epoch seconds, or now+N/now-N.\n"
		"  --key K           a key pair (K...+alg+tag, .key or .private)\n"
		"  --origin NAME     origin for relative names (default: the key's zone)\n"
		"  --inception T     default now-3600\n"
		"  --expiration T    default now+30 days\n"
		"  -o, --output OUT  output file ('-' for standard output)\n");
}

struct sign_state {
	struct dnssec_key *keys[SIGN_MAX_KEYS];
	uint32_t key_ttl[SIGN_MAX_KEYS];
	size_t nkeys;
	struct dns_rrlist zone;
	char *tmp;
};

static void sign_state_free(struct sign_state *st)
{
	for (size_t i = 0; i < st->nkeys; i++)
		dnssec_key_free(st->keys[i]);
	dns_rrlist_free(&st->zone);
	if (st->tmp) {
		unlink(st->tmp);
		free(st->tmp);
	}
}

/* Add each key's DNSKEY at the apex unless the zone has it already. */
static int add_dnskeys(struct sign_state *st, const struct dns_name *apex,
		       uint32_t soa_ttl)
{
	uint32_t ttl = 0;
	bool have_ttl = false;
	for (size_t i = 0; i < st->zone.n; i++)
		if (st->zone.rr[i].type == DNS_T_DNSKEY &&
		    dns_name_equal(&st->zone.rr[i].owner, apex)) {
			ttl = st->zone.rr[i].ttl;
			have_ttl = true;
			break;
		}
	for (size_t k = 0; k < st->nkeys && !have_ttl; k++)
		if (st->key_ttl[k]) {
			ttl = st->key_ttl[k];
			have_ttl = true;
		}
	if (!have_ttl)
		ttl = soa_ttl;
	for (size_t k = 0; k < st->nkeys; k++) {
		size_t len;
		const uint8_t *rd = dnssec_key_rdata(st->keys[k], &len);
		bool found = false;
		for (size_t i = 0; i < st->zone.n && !found; i++) {
			const struct dns_rr *rr = &st->zone.rr[i];
			found = rr->type == DNS_T_DNSKEY && rr->rdlen == len &&
				dns_name_equal(&rr->owner, apex) &&
				memcmp(rr->rdata, rd, len) == 0;
		}
		if (found)
			continue;
		struct dns_rr rr = {.type = DNS_T_DNSKEY,
				    .rclass = DNS_C_IN,
				    .ttl = ttl,
				    .rdlen = (uint16_t)len,
				    .rdata = (uint8_t *)rd};
		dns_name_copy(&rr.owner, apex);
		int rc = dns_rrlist_add(&st->zone, &rr);
		if (rc)
			return rc;
	}
	return 0;
}

int ddns_cmd_sign(int argc, char **argv)
{
	struct sign_state st = {0};
	const char *out = NULL, *origin_s = NULL, *inc_s = NULL, *exp_s = NULL;
	const char *keyfiles[SIGN_MAX_KEYS];
	struct cmd_strs keys = {keyfiles, 0, SIGN_MAX_KEYS};
	int ret = 1;
	const struct cmd_opt opts[] = {
		CMD_O("key", 'k', CMD_STRS, &keys), CMD_O("origin", 0, CMD_STR, &origin_s),
		CMD_O("inception", 0, CMD_STR, &inc_s), CMD_O("expiration", 0, CMD_STR, &exp_s),
		CMD_O("output", 'o', CMD_STR, &out),
	};
	int pr = cmd_parse("sign", argc, argv, opts, sizeof(opts) / sizeof(*opts), sign_usage);
	if (pr)
		return cmd_parse_exit(pr);
	dns_rrlist_init(&st.zone);
	size_t nkf = keys.n;
	if (nkf == 0) {
		fprintf(stderr, "ddns sign: at least one --key is required\n");
		return 2;
	}
	if (argc - optind != 1) {
		fprintf(stderr, "ddns sign: exactly one ZONEFILE expected\n");
		return 2;
	}
	const char *zonefile = argv[optind];
	uint32_t now = (uint32_t)time(NULL), inc = now - 3600,
		 exp = now + 30 * 86400;
	if (inc_s && dnssec_time_parse(inc_s, now, &inc)) {
		fprintf(stderr, "ddns sign: bad --inception '%s'\n", inc_s);
		return 2;
	}
	if (exp_s && dnssec_time_parse(exp_s, now, &exp)) {
		fprintf(stderr, "ddns sign: bad --expiration '%s'\n", exp_s);
		return 2;
	}
	if ((int32_t)(exp - inc) <= 0) {
		fprintf(stderr, "ddns sign: expiration is not after inception\n");
		return 2;
	}

	char err[DNS_ZONE_ERR_MAX + DNSSEC_KEYFILE_PATH_MAX];
	for (size_t i = 0; i < nkf; i++) {
		int rc = dnssec_keyfile_read(keyfiles[i], true, &st.keys[i],
					     &st.key_ttl[i], err, sizeof(err));
		if (rc) {
			fprintf(stderr, "ddns sign: %s\n", err);
			goto out;
		}
		st.nkeys++;
	}
	const struct dns_name *apex = dnssec_key_owner(st.keys[0]);
	for (size_t i = 1; i < st.nkeys; i++)
		if (!dns_name_equal(dnssec_key_owner(st.keys[i]), apex)) {
			fprintf(stderr, "ddns sign: keys %s and %s belong to different zones\n",
				keyfiles[0], keyfiles[i]);
			goto out;
		}
	struct dns_name origin;
	dns_name_copy(&origin, apex);
	if (origin_s && dns_name_from_str(&origin, origin_s, NULL)) {
		fprintf(stderr, "ddns sign: bad --origin '%s'\n", origin_s);
		goto out;
	}
	int rc = dns_zone_load_file(zonefile, &origin, 3600, &st.zone, err,
				    sizeof(err));
	if (rc) {
		if (rc < 0 && rc > DDNS_ERR_BASE && !err[0])
			fprintf(stderr, "ddns sign: %s: %s\n", zonefile,
				ddns_strerror(rc));
		else
			fprintf(stderr, "ddns sign: %s\n", err);
		goto out;
	}
	/* The apex is where the SOA is; it must be the keys' zone. */
	const struct dns_rr *soa = NULL;
	for (size_t i = 0; i < st.zone.n; i++)
		if (st.zone.rr[i].type == DNS_T_SOA) {
			/* AXFR output repeats the SOA at the end: same one. */
			if (soa && (soa->rdlen != st.zone.rr[i].rdlen ||
				    memcmp(soa->rdata, st.zone.rr[i].rdata,
					   soa->rdlen) != 0 ||
				    !dns_name_equal(&soa->owner,
						    &st.zone.rr[i].owner))) {
				fprintf(stderr, "ddns sign: %s: more than one SOA\n",
					zonefile);
				goto out;
			}
			soa = &st.zone.rr[i];
		}
	char nb[DNS_NAME_STR_MAX];
	if (!soa || !dns_name_equal(&soa->owner, apex)) {
		if (dns_name_to_str(apex, nb, sizeof(nb)) < 0)
			nb[0] = '\0';
		fprintf(stderr, "ddns sign: %s: no SOA at the key's zone %s\n",
			zonefile, nb);
		goto out;
	}
	/* NSEC TTL: the smaller of the SOA TTL and MINIMUM (RFC 9077). */
	uint32_t soa_ttl = soa->ttl, minimum = soa_ttl;
	if (soa->rdlen >= 4) {
		const uint8_t *m = soa->rdata + soa->rdlen - 4;
		minimum = ddns_get_u32(m);
	}
	uint32_t nsec_ttl = minimum < soa_ttl ? minimum : soa_ttl;
	struct dns_name apex_copy;
	dns_name_copy(&apex_copy, apex);
	rc = add_dnskeys(&st, &apex_copy, soa_ttl);
	if (!rc)
		rc = dnssec_nsec_chain(&st.zone, &apex_copy, nsec_ttl);
	if (rc == DDNS_EOUTOFZONE) {
		fprintf(stderr, "ddns sign: %s: records outside the zone %s\n",
			zonefile,
			dns_name_to_str(&apex_copy, nb, sizeof(nb)) > 0 ? nb : "?");
		goto out;
	}
	size_t nsigs = 0;
	if (!rc)
		rc = dnssec_zone_sign(&st.zone, &apex_copy, st.keys, st.nkeys,
				      inc, exp, &nsigs);
	if (rc) {
		fprintf(stderr, "ddns sign: %s: signing failed: %s\n", zonefile,
			ddns_strerror(rc));
		goto out;
	}

	/* Write to a temporary file and rename: never a half-written zone. */
	char defout[DNSSEC_KEYFILE_PATH_MAX];
	if (!out) {
		snprintf(defout, sizeof(defout), "%s.signed", zonefile);
		out = defout;
	}
	FILE *f = stdout;
	if (strcmp(out, "-") != 0) {
		size_t len = strlen(out) + 16;
		st.tmp = malloc(len);
		if (!st.tmp) {
			fprintf(stderr, "ddns sign: out of memory\n");
			goto out;
		}
		snprintf(st.tmp, len, "%s.tmpXXXXXX", out);
		int fd = mkstemp(st.tmp);
		if (fd >= 0)
			(void)!fchmod(fd, 0644); /* a zone is not a secret */
		if (fd < 0 || !(f = fdopen(fd, "w"))) {
			fprintf(stderr, "ddns sign: cannot create %s: %s\n",
				st.tmp, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
	}
	rc = dns_zone_print(f, &st.zone);
	if (f != stdout) {
		if (fclose(f) != 0 && !rc)
			rc = -EIO;
	} else if (fflush(f) != 0 && !rc) {
		rc = -EIO;
	}
	if (rc) {
		fprintf(stderr, "ddns sign: cannot write %s: %s\n", out,
			ddns_strerror(rc));
		goto out;
	}
	if (st.tmp) {
		if (rename(st.tmp, out) != 0) {
			fprintf(stderr, "ddns sign: cannot rename to %s: %s\n",
				out, strerror(errno));
			goto out;
		}
		free(st.tmp);
		st.tmp = NULL;
	}
	fprintf(stderr, "ddns sign: %zu records, %zu signatures -> %s\n",
		st.zone.n, nsigs, out);
	ret = 0;
out:
	sign_state_free(&st);
	return ret;
}
