/*
 * fuzz_dht.c - libFuzzer target for the DHT's node-to-node message decoder
 * (dht/msg.h): the first input byte picks the RPC type (1..8, and values
 * outside, which must be refused), the rest is the payload. Every payload
 * that decodes is encoded again from the decoded fields and must decode to
 * the same fields; DIGEST entries are read back one by one. A lookup value
 * (dht_value_decode) is tried on the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "dht/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reencode(const struct dht_msg *m, struct ddns_wbuf *w)
{
	switch (m->type) {
	case DHT_MSG_PUT:
		(void)dht_msg_put(w, m->key, m->blk, m->len);
		break;
	case DHT_MSG_STORE:
		(void)dht_msg_store(w, m->key, m->kind, m->blk, m->len);
		break;
	case DHT_MSG_STORE_R:
		(void)dht_msg_status(w, m->status);
		break;
	case DHT_MSG_FETCH:
		(void)dht_msg_fetch(w, m->key);
		break;
	case DHT_MSG_FETCH_R:
		(void)dht_msg_fetch_r(w, m->status, m->kind, m->blk, m->len);
		break;
	default:
		break; /* PUT_R (reason text) and the digests: checked field by field */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t type = data[0];
	const uint8_t *p = data + 1;
	size_t len = size - 1;
	struct dht_msg m, m2;
	memset(&m, 0, sizeof(m));
	if (dht_msg_decode(type, p, len, &m) == 0) {
		if (type < DHT_MSG_PUT || type > DHT_MSG_DIGEST_R)
			abort(); /* an unknown type must be refused */
		if (m.blk && (m.blk < p || m.blk + m.len > p + len))
			abort(); /* borrowed pointers stay inside the input */
		if (m.reason && (m.reason < (const char *)p ||
				 m.reason + m.reason_len > (const char *)p + len))
			abort();
		for (size_t i = 0; type == DHT_MSG_DIGEST && i < m.nents; i++) {
			struct dht_digest_ent e;
			dht_msg_digest_ent(&m, i, &e);
		}
		for (size_t i = 0; type == DHT_MSG_DIGEST_R && i < m.nents; i++) {
			uint16_t idx;
			uint8_t want;
			dht_msg_digest_r_ent(&m, i, &idx, &want);
		}
		struct ddns_wbuf w;
		ddns_wbuf_init(&w, 0);
		reencode(&m, &w);
		if (w.len) {
			memset(&m2, 0, sizeof(m2));
			if (w.err || dht_msg_decode(type, w.p, w.len, &m2) != 0 ||
			    m2.len != m.len || m2.status != m.status || m2.kind != m.kind ||
			    memcmp(m2.key, m.key, sizeof(m.key)) != 0 ||
			    (m.len && memcmp(m2.blk, m.blk, m.len) != 0))
				abort();
		}
		ddns_wbuf_free(&w);
	}
	uint8_t src;
	const uint8_t *blk;
	size_t blen;
	if (dht_value_decode(data, size, &src, &blk, &blen) == 0 &&
	    (blk < data || blk + blen > data + size))
		abort();
	return 0;
}
