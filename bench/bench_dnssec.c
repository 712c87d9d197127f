/*
 * bench_dnssec - signatures created and verified per second, algorithms 13
 * (ECDSA P-256) and 8 (RSA-2048), on a typical RRset (two A records).
 * Algorithm 13 is measured twice, side by side: through OpenSSL's
 * libcrypto (the default when the build has it) and through mbedTLS alone.
 * Usage: bench/bench_dnssec [seconds-per-measurement (default 2)]
 * Not a test: run from a build without sanitizers (see bench/Makefile.inc).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/dnssec.h"
#include "dns/name.h"
#include "dns/rdata.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run(uint8_t alg, unsigned bits, bool mbedtls_only, double secs)
{
	struct dns_name zone, owner;
	struct dnssec_key *k = NULL;
	struct dns_rrlist set, sigs;
	dns_rrlist_init(&set);
	dns_rrlist_init(&sigs);
	if (dns_name_from_str(&zone, "example.com.", NULL) ||
	    dns_name_from_str(&owner, "www.example.com.", NULL))
		return 1;
	double t0 = now_s();
	if (dnssec_key_generate(&zone, alg, 256, bits, &k)) {
		fprintf(stderr, "keygen failed\n");
		return 1;
	}
	double tk = now_s() - t0;
	dnssec_key_use_mbedtls(k, mbedtls_only);
	const char *addrs[] = {"192.0.2.1", "192.0.2.2"};
	for (int i = 0; i < 2; i++) {
		uint8_t a[4];
		struct ddns_wbuf w;
		ddns_wbuf_init_fixed(&w, a, sizeof(a));
		if (dns_rdata_from_str(DNS_T_A, addrs[i], NULL, &w))
			return 1;
		struct dns_rr rr = {.owner = owner, .type = DNS_T_A,
				    .rclass = DNS_C_IN, .ttl = 300, .rdlen = 4,
				    .rdata = a};
		if (dns_rrlist_add(&set, &rr))
			return 1;
	}
	/* Sign for secs seconds. */
	size_t n = 0;
	t0 = now_s();
	double el;
	do {
		for (int i = 0; i < 16; i++, n++) {
			dns_rrlist_clear(&sigs);
			if (dnssec_sign_rrset(k, set.rr, set.n, 1000, 2000, &sigs))
				return 1;
		}
		el = now_s() - t0;
	} while (el < secs);
	double sign_rate = (double)n / el;
	/* Verify the last signature for secs seconds. */
	n = 0;
	t0 = now_s();
	do {
		for (int i = 0; i < 16; i++, n++)
			if (dnssec_verify_rrsig(k, set.rr, set.n, &sigs.rr[0],
						1500))
				return 1;
		el = now_s() - t0;
	} while (el < secs);
	double verify_rate = (double)n / el;
	printf("alg %2u %-22s %-9s keygen %8.1f ms  sign %9.0f /s  verify %9.0f /s\n",
	       alg, alg == 13 ? "(ECDSA P-256/SHA-256)" : "(RSA-2048/SHA-256)",
	       dnssec_key_uses_libcrypto(k) ? "libcrypto" : "mbedTLS", tk * 1e3, sign_rate,
	       verify_rate);
	dnssec_key_free(k);
	dns_rrlist_free(&set);
	dns_rrlist_free(&sigs);
	return 0;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	if (secs <= 0)
		secs = 2.0;
	if (run(13, 0, false, secs) || run(13, 0, true, secs) || run(8, 2048, true, secs))
		return 1;
	return 0;
}
