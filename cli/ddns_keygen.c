/*
 * ddns keygen - make a DNSSEC key pair in BIND's file format.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/commands.h"
#include "dns/dnssec.h"
#include "dns/keyfile.h"
#include "dns/name.h"
#include "cli/cmdopt.h"

static void keygen_usage(FILE *f)
{
	fprintf(f,
		"usage: ddns keygen --zone NAME [--algorithm 13|8] [--bits N]\n"
		"                   [--ksk|--zsk] [--dir DIR]\n"
		"\n"
		"Writes K<zone>+<alg>+<tag>.key and .private (BIND format) and\n"
		"prints the base name. By default the key is a combined signing\n"
		"key (flags 257, SEP); --zsk makes a zone-signing key (flags 256).\n"
		"  --zone NAME       the zone (owner of the DNSKEY)\n"
		"  --algorithm A     13 = ECDSA P-256/SHA-256 (default), 8 = RSA/SHA-256\n"
		"  --bits N          RSA modulus size, 1024..4096 (default 2048)\n"
		"  --ksk, --zsk      key-signing (257, default) or zone-signing (256)\n"
		"  --dir DIR         where to write the files, created when missing\n"
		"                    (default: .)\n");
}

int ddns_cmd_keygen(int argc, char **argv)
{
	const char *zone = NULL, *dir = NULL;
	long alg = 13, bits = 0;
	int ksk = 1;
	const struct cmd_opt opts[] = {
		CMD_O("zone", 'z', CMD_STR, &zone), CMD_RANGE("algorithm", 'a', &alg, 8, 13),
		CMD_RANGE("bits", 'b', &bits, 1024, 4096), CMD_FLAG("ksk", 0, CMD_INT, &ksk, 1),
		CMD_FLAG("zsk", 0, CMD_INT, &ksk, 0), CMD_O("dir", 'd', CMD_STR, &dir),
	};
	int pr = cmd_parse("keygen", argc, argv, opts, sizeof(opts) / sizeof(*opts), keygen_usage);
	if (pr)
		return cmd_parse_exit(pr);
	if (alg != 13 && alg != 8) {
		fprintf(stderr, "ddns keygen: unsupported algorithm '%ld' (use 13 or 8)\n", alg);
		return 2;
	}
	uint16_t flags = ksk ? DNSSEC_FLAGS_KSK : DNSSEC_FLAGS_ZSK;
	if (optind != argc) {
		fprintf(stderr, "ddns keygen: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	if (!zone) {
		fprintf(stderr, "ddns keygen: --zone NAME is required\n");
		return 2;
	}
	struct dns_name owner;
	if (dns_name_from_str(&owner, zone, NULL) != 0) {
		/* Accept "example.com" without the final dot. */
		struct dns_name root;
		dns_name_set_root(&root);
		if (dns_name_from_str(&owner, zone, &root) != 0) {
			fprintf(stderr, "ddns keygen: bad zone name '%s'\n",
				zone);
			return 2;
		}
	}
	dns_name_to_lower(&owner);
	/* A new --dir is made (private keys inside: owner only). */
	if (dir && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "ddns keygen: cannot create --dir %s: %s\n", dir, strerror(errno));
		return 1;
	}
	/* A tag already used in dir is a clash: make another key. */
	for (int attempt = 0; attempt < 8; attempt++) {
		struct dnssec_key *k;
		int rc = dnssec_key_generate(&owner, (uint8_t)alg, flags, bits,
					     &k);
		if (rc) {
			fprintf(stderr, "ddns keygen: cannot generate key: %s\n",
				ddns_strerror(rc));
			return 1;
		}
		char base[DNSSEC_KEYFILE_PATH_MAX];
		rc = dnssec_keyfile_write(k, dir, (uint32_t)time(NULL), NULL, 0);
		if (rc == 0) {
			int n = dnssec_keyfile_basename(k, base, sizeof(base));
			dnssec_key_free(k);
			if (n < 0) {
				fprintf(stderr, "ddns keygen: name too long\n");
				return 1;
			}
			printf("%s\n", base);
			return 0;
		}
		dnssec_key_free(k);
		if (rc != -EEXIST) {
			fprintf(stderr, "ddns keygen: cannot write key files in %s: %s\n",
				dir ? dir : ".", ddns_strerror(rc));
			return 1;
		}
	}
	fprintf(stderr, "ddns keygen: key tags keep clashing with files in %s\n",
		dir ? dir : ".");
	return 1;
}
