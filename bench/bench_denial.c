/*
 * bench_denial.c - the denial blocks of a signed zone (docs/PROTOCOL.md,
 * "Denial blocks"): how many NSEC sets and bytes each class holds, the
 * largest block against the 64 KiB bound, the total. For the real root
 * zone:
 *   ddns keygen --zone . && ddns sign --key K... -o root.signed ROOTZONE
 *   bench/bench_denial root.signed .
 */
#include <stdio.h>
#include <stdlib.h>

#include "common/err.h"
#include "dns/block.h"
#include "dns/name.h"
#include "dns/zonefile.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: bench_denial SIGNED-ZONE-FILE ORIGIN\n");
		return 2;
	}
	struct dns_name origin;
	if (dns_name_from_str(&origin, argv[2], NULL) != 0) {
		fprintf(stderr, "bench_denial: bad origin '%s'\n", argv[2]);
		return 2;
	}
	struct dns_rrlist z;
	char err[256];
	dns_rrlist_init(&z);
	if (dns_zone_load_file(argv[1], &origin, 3600, &z, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_denial: %s\n", err);
		return 1;
	}
	struct dns_blocklist bl;
	dns_blocklist_init(&bl);
	int rc = dns_block_build_denial(&z, NULL, true, &bl);
	if (rc) {
		fprintf(stderr, "bench_denial: %s\n", ddns_strerror(rc));
		return 1;
	}
	size_t total = 0, max = 0, sets = 0;
	char maxc = 0;
	printf("class  NSEC sets  bytes\n");
	for (size_t i = 0; i < bl.n; i++) {
		struct dns_block b;
		dns_block_init(&b);
		if (dns_block_decode(&b, bl.v[i].data, bl.v[i].len) != 0)
			return 1;
		printf("%-5c  %9zu  %5zu\n", b.denial_class, b.nmore + 1, bl.v[i].len);
		total += bl.v[i].len;
		sets += b.nmore + 1;
		if (bl.v[i].len > max) {
			max = bl.v[i].len;
			maxc = b.denial_class;
		}
		dns_block_clear(&b);
	}
	printf("%zu blocks, %zu NSEC sets (with repeats), %zu bytes; largest: class %c, %zu bytes "
	       "(%.0f%% of the %u-byte bound)\n",
	       bl.n, sets, total, maxc, max, 100.0 * (double)max / DNS_BLOCK_MAX, DNS_BLOCK_MAX);
	dns_blocklist_free(&bl);
	dns_rrlist_free(&z);
	return 0;
}
