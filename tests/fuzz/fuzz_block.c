/*
 * fuzz_block.c - libFuzzer target for the DDNS block decoder
 * (dns/block.h), the format every node decodes from its peers before it
 * validates or stores anything. Every block that decodes must encode again
 * (the decoder enforces the encoder's rules), and the encoding must decode
 * to a block that encodes to the same bytes (a canonical form).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "dns/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_block b, b2;
	dns_block_init(&b);
	dns_block_init(&b2);
	int rc = dns_block_decode(&b, data, size);
	if (rc == 0) {
		struct ddns_wbuf w1, w2;
		ddns_wbuf_init(&w1, 0);
		ddns_wbuf_init(&w2, 0);
		rc = dns_block_encode(&b, &w1);
		if (rc == -ENOMEM)
			goto out;
		if (rc != 0 || dns_block_decode(&b2, w1.p, w1.len) != 0 ||
		    dns_block_encode(&b2, &w2) != 0 || w1.len != w2.len ||
		    memcmp(w1.p, w2.p, w1.len) != 0)
			abort();
	out:
		ddns_wbuf_free(&w1);
		ddns_wbuf_free(&w2);
	}
	dns_block_clear(&b);
	dns_block_clear(&b2);
	return 0;
}
