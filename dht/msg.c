/*
 * msg.c - encode and decode the DHT's node-to-node messages. Layouts are in
 * docs/PROTOCOL.md ("DHT messages"); each decoder insists on the exact
 * length so a message never carries unread bytes.
 */
#include "dht/msg.h"
#include "common/buf.h"

#include <string.h>

#define DIGEST_ENT_LEN (DHT_KEY_LEN + 8)
#define DIGEST_R_ENT_LEN 3

static bool hdr(struct ddns_wbuf *w) { return ddns_wbuf_u8(w, DHT_WIRE_VERSION); }

bool dht_msg_put(struct ddns_wbuf *w, const uint8_t key[DHT_KEY_LEN], const uint8_t *blk, size_t len)
{
	hdr(w);
	ddns_wbuf_put(w, key, DHT_KEY_LEN);
	ddns_wbuf_u32(w, (uint32_t)len);
	return ddns_wbuf_put(w, blk, len);
}

bool dht_msg_put_r(struct ddns_wbuf *w, int status, unsigned copies, const char *reason)
{
	size_t rl = reason ? strlen(reason) : 0;
	if (rl > 255)
		rl = 255;
	hdr(w);
	ddns_wbuf_u32(w, (uint32_t)status);
	ddns_wbuf_u8(w, (uint8_t)(copies > 255 ? 255 : copies));
	ddns_wbuf_u8(w, (uint8_t)rl);
	return ddns_wbuf_put(w, reason ? reason : "", rl);
}

bool dht_msg_store(struct ddns_wbuf *w, const uint8_t key[DHT_KEY_LEN], uint8_t kind,
		   const uint8_t *blk, size_t len)
{
	hdr(w);
	ddns_wbuf_put(w, key, DHT_KEY_LEN);
	ddns_wbuf_u8(w, kind);
	ddns_wbuf_u32(w, (uint32_t)len);
	return ddns_wbuf_put(w, blk, len);
}

bool dht_msg_status(struct ddns_wbuf *w, int status)
{
	hdr(w);
	return ddns_wbuf_u32(w, (uint32_t)status);
}

bool dht_msg_fetch(struct ddns_wbuf *w, const uint8_t key[DHT_KEY_LEN])
{
	hdr(w);
	return ddns_wbuf_put(w, key, DHT_KEY_LEN);
}

bool dht_msg_fetch_r(struct ddns_wbuf *w, int status, uint8_t src, const uint8_t *blk, size_t len)
{
	hdr(w);
	ddns_wbuf_u32(w, (uint32_t)status);
	ddns_wbuf_u8(w, src);
	ddns_wbuf_u32(w, (uint32_t)len);
	return ddns_wbuf_put(w, blk, len);
}

bool dht_msg_digest(struct ddns_wbuf *w, const struct dht_digest_ent *e, size_t n)
{
	hdr(w);
	ddns_wbuf_u16(w, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		ddns_wbuf_put(w, e[i].key, DHT_KEY_LEN);
		ddns_wbuf_u64(w, e[i].version);
	}
	return !w->err;
}

bool dht_msg_digest_r(struct ddns_wbuf *w, const uint16_t *idx, const uint8_t *want, size_t n)
{
	hdr(w);
	ddns_wbuf_u16(w, (uint16_t)n);
	for (size_t i = 0; i < n; i++) {
		ddns_wbuf_u16(w, idx[i]);
		ddns_wbuf_u8(w, want[i]);
	}
	return !w->err;
}

static const uint8_t *take_blob(struct ddns_rbuf *r, size_t *len)
{
	uint32_t n = ddns_rbuf_u32(r);
	if (n > DHT_MAX_BLOCK) {
		r->err = true;
		return NULL;
	}
	*len = n;
	return ddns_rbuf_take(r, n);
}

int dht_msg_decode(uint8_t type, const uint8_t *p, size_t len, struct dht_msg *m)
{
	struct ddns_rbuf r;
	memset(m, 0, sizeof(*m));
	m->type = type;
	ddns_rbuf_init(&r, p, len);
	if (ddns_rbuf_u8(&r) != DHT_WIRE_VERSION)
		return DDNS_EMALFORMED;
	switch (type) {
	case DHT_MSG_PUT:
		ddns_rbuf_copy(&r, m->key, DHT_KEY_LEN);
		m->blk = take_blob(&r, &m->len);
		break;
	case DHT_MSG_PUT_R:
		m->status = (int32_t)ddns_rbuf_u32(&r);
		m->kind = ddns_rbuf_u8(&r);
		m->reason_len = ddns_rbuf_u8(&r);
		m->reason = (const char *)ddns_rbuf_take(&r, m->reason_len);
		break;
	case DHT_MSG_STORE:
		ddns_rbuf_copy(&r, m->key, DHT_KEY_LEN);
		m->kind = ddns_rbuf_u8(&r);
		m->blk = take_blob(&r, &m->len);
		if (m->kind != DHT_KIND_REPLICA && m->kind != DHT_KIND_CACHE)
			return DDNS_EMALFORMED;
		break;
	case DHT_MSG_STORE_R:
		m->status = (int32_t)ddns_rbuf_u32(&r);
		break;
	case DHT_MSG_FETCH:
		ddns_rbuf_copy(&r, m->key, DHT_KEY_LEN);
		break;
	case DHT_MSG_FETCH_R:
		m->status = (int32_t)ddns_rbuf_u32(&r);
		m->kind = ddns_rbuf_u8(&r);
		m->blk = take_blob(&r, &m->len);
		break;
	case DHT_MSG_DIGEST:
	case DHT_MSG_DIGEST_R: {
		size_t el = type == DHT_MSG_DIGEST ? DIGEST_ENT_LEN : DIGEST_R_ENT_LEN;
		m->nents = ddns_rbuf_u16(&r);
		if (m->nents > DHT_DIGEST_MAX)
			return DDNS_EMALFORMED;
		m->ents = ddns_rbuf_take(&r, m->nents * el);
		break;
	}
	default:
		return DDNS_EMALFORMED;
	}
	if (r.err || ddns_rbuf_left(&r) != 0)
		return DDNS_EMALFORMED;
	return 0;
}

void dht_msg_digest_ent(const struct dht_msg *m, size_t i, struct dht_digest_ent *out)
{
	const uint8_t *e = m->ents + i * DIGEST_ENT_LEN;
	memcpy(out->key, e, DHT_KEY_LEN);
	out->version = ddns_get_u64(e + DHT_KEY_LEN);
}

void dht_msg_digest_r_ent(const struct dht_msg *m, size_t i, uint16_t *idx, uint8_t *want)
{
	const uint8_t *e = m->ents + i * DIGEST_R_ENT_LEN;
	*idx = ddns_get_u16(e);
	*want = e[2];
}

int dht_value_decode(const uint8_t *p, size_t len, uint8_t *src, const uint8_t **blk, size_t *blen)
{
	if (len < 2 || p[0] != DHT_WIRE_VERSION || (p[1] != DHT_VSRC_STORE && p[1] != DHT_VSRC_CACHE))
		return DDNS_EMALFORMED;
	if (len - 2 > DHT_MAX_BLOCK)
		return DDNS_EMALFORMED;
	*src = p[1];
	*blk = p + 2;
	*blen = len - 2;
	return 0;
}
