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
	static const struct option opts[] = {
		{"zone", required_argument, NULL, 'z'},
		{"algorithm", required_argument, NULL, 'a'},
		{"bits", required_argument, NULL, 'b'},
		{"ksk", no_argument, NULL, 'K'},
		{"zsk", no_argument, NULL, 'Z'},
		{"dir", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *zone = NULL, *dir = NULL;
	int alg = 13;
	unsigned bits = 0;
	uint16_t flags = DNSSEC_FLAGS_KSK;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "z:a:b:d:h", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'z':
			zone = optarg;
			break;
		case 'a':
			alg = (int)strtol(optarg, &end, 10);
			if (*end || (alg != 13 && alg != 8)) {
				fprintf(stderr,
					"ddns keygen: unsupported algorithm '%s' (use 13 or 8)\n",
					optarg);
				return 2;
			}
			break;
		case 'b':
			bits = (unsigned)strtoul(optarg, &end, 10);
			if (*end || bits < 1024 || bits > 4096) {
				fprintf(stderr,
					"ddns keygen: --bits must be 1024..4096\n");
				return 2;
			}
			break;
		case 'K':
			flags = DNSSEC_FLAGS_KSK;
			break;
		case 'Z':
			flags = DNSSEC_FLAGS_ZSK;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			keygen_usage(stdout);
			return 0;
		default:
			keygen_usage(stderr);
			return 2;
		}
	}
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
