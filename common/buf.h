/*
 * buf.h - bounds-checked byte reader and growable writer.
 *
 * Every wire format DDNS parses (node-to-node messages, DNS messages, blocks)
 * is read through struct ddns_rbuf: a read past the end never touches memory,
 * it sets a sticky error flag and returns zeros, so a parser checks once at the
 * end ("if (r.err) return DDNS_EMALFORMED"). Writers use struct ddns_wbuf,
 * which grows on the heap (or writes into a fixed caller buffer) and also
 * fails sticky. Integers are big-endian (network order).
 */
#ifndef DDNS_COMMON_BUF_H
#define DDNS_COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Big-endian integers at a fixed place (a header field, a count to patch):
 * the caller has checked that the bytes are there. Every reader and writer
 * of an integer in the code base goes through these or the buffers below.
 */
static inline uint16_t ddns_get_u16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t ddns_get_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t ddns_get_u64(const uint8_t *p)
{
	return ((uint64_t)ddns_get_u32(p) << 32) | ddns_get_u32(p + 4);
}

static inline void ddns_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void ddns_put_u32(uint8_t *p, uint32_t v)
{
	ddns_put_u16(p, (uint16_t)(v >> 16));
	ddns_put_u16(p + 2, (uint16_t)v);
}

static inline void ddns_put_u64(uint8_t *p, uint64_t v)
{
	ddns_put_u32(p, (uint32_t)(v >> 32));
	ddns_put_u32(p + 4, (uint32_t)v);
}

struct ddns_rbuf {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool err;
};

static inline void ddns_rbuf_init(struct ddns_rbuf *r, const void *p, size_t len)
{
	r->p = (const uint8_t *)p;
	r->len = len;
	r->off = 0;
	r->err = false;
}

static inline size_t ddns_rbuf_left(const struct ddns_rbuf *r)
{
	return r->err ? 0 : r->len - r->off;
}

/* Pointer to the next n bytes (borrowed from the buffer), or NULL with err set. */
static inline const uint8_t *ddns_rbuf_take(struct ddns_rbuf *r, size_t n)
{
	if (r->err || n > r->len - r->off) {
		r->err = true;
		return NULL;
	}
	const uint8_t *q = r->p + r->off;
	r->off += n;
	return q;
}

static inline bool ddns_rbuf_copy(struct ddns_rbuf *r, void *dst, size_t n)
{
	const uint8_t *q = ddns_rbuf_take(r, n);
	if (!q)
		return false;
	if (n)
		memcpy(dst, q, n);
	return true;
}

static inline uint8_t ddns_rbuf_u8(struct ddns_rbuf *r)
{
	const uint8_t *q = ddns_rbuf_take(r, 1);
	return q ? q[0] : 0;
}

static inline uint16_t ddns_rbuf_u16(struct ddns_rbuf *r)
{
	const uint8_t *q = ddns_rbuf_take(r, 2);
	return q ? ddns_get_u16(q) : 0;
}

static inline uint32_t ddns_rbuf_u32(struct ddns_rbuf *r)
{
	const uint8_t *q = ddns_rbuf_take(r, 4);
	return q ? ddns_get_u32(q) : 0;
}

static inline uint64_t ddns_rbuf_u64(struct ddns_rbuf *r)
{
	uint64_t hi = ddns_rbuf_u32(r);
	return (hi << 32) | ddns_rbuf_u32(r);
}

struct ddns_wbuf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t max;   /* hard limit on len (0: none) */
	bool fixed;   /* p is the caller's; never realloc'd or freed */
	bool err;
};

/* Heap-backed writer; max 0 means unbounded. Free with ddns_wbuf_free(). */
void ddns_wbuf_init(struct ddns_wbuf *w, size_t max);
/* Writer into a caller buffer of cap bytes; never allocates. */
void ddns_wbuf_init_fixed(struct ddns_wbuf *w, void *p, size_t cap);
void ddns_wbuf_free(struct ddns_wbuf *w);
/* Make room for n more bytes; false (and err set) when impossible. */
bool ddns_wbuf_reserve(struct ddns_wbuf *w, size_t n);
bool ddns_wbuf_put(struct ddns_wbuf *w, const void *src, size_t n);
bool ddns_wbuf_u8(struct ddns_wbuf *w, uint8_t v);
bool ddns_wbuf_u16(struct ddns_wbuf *w, uint16_t v);
bool ddns_wbuf_u32(struct ddns_wbuf *w, uint32_t v);
bool ddns_wbuf_u64(struct ddns_wbuf *w, uint64_t v);
/* Overwrite a big-endian u16 at an earlier offset (length back-patching). */
bool ddns_wbuf_patch_u16(struct ddns_wbuf *w, size_t at, uint16_t v);

#endif
