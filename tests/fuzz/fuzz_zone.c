/*
 * fuzz_zone.c - libFuzzer target for the master-file parser.
 *
 * Every record that parses must print, and its printed form must parse back
 * to the same record (parse -> print -> parse identity). Inputs that use
 * $INCLUDE are skipped: they would read arbitrary files of the fuzzing host.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/zonefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has_include(const uint8_t *d, size_t n)
{
	static const char k[] = "$include";
	for (size_t i = 0; i + 8 <= n; i++)
		if (strncasecmp((const char *)d + i, k, 8) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536 || has_include(data, size))
		return 0;
	struct dns_name origin;
	if (dns_name_from_str(&origin, "fuzz.example.", NULL) != 0)
		abort();
	struct dns_zparser *p =
		dns_zparser_new_string((const char *)data, size, "fuzz", &origin, 3600);
	if (!p)
		return 0;
	struct dns_rr rr;
	struct dns_rrlist back;
	dns_rrlist_init(&back);
	for (int n = 0; n < 1000 && dns_zparser_next(p, &rr) == 1; n++) {
		char *s = dns_rr_to_str(&rr);
		if (!s)
			abort();
		dns_rrlist_clear(&back);
		if (dns_rr_from_str(s, NULL, 0, &back) != 0 || back.n != 1 ||
		    dns_rr_canon_cmp(&rr, &back.rr[0]) != 0 || back.rr[0].ttl != rr.ttl)
			abort();
		free(s);
	}
	dns_rrlist_free(&back);
	dns_zparser_free(p);
	return 0;
}
