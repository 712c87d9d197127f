#include "common/buf.h"

#include <stdlib.h>

void ddns_wbuf_init(struct ddns_wbuf *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
}

void ddns_wbuf_init_fixed(struct ddns_wbuf *w, void *p, size_t cap)
{
	memset(w, 0, sizeof(*w));
	w->p = p;
	w->cap = cap;
	w->max = cap;
	w->fixed = true;
}

void ddns_wbuf_free(struct ddns_wbuf *w)
{
	if (!w->fixed)
		free(w->p);
	w->p = NULL;
	w->len = w->cap = 0;
}

bool ddns_wbuf_reserve(struct ddns_wbuf *w, size_t n)
{
	if (w->err)
		return false;
	if (n > SIZE_MAX - w->len || (w->max && w->len + n > w->max)) {
		w->err = true;
		return false;
	}
	if (w->len + n <= w->cap)
		return true;
	if (w->fixed) {
		w->err = true;
		return false;
	}
	size_t cap = w->cap ? w->cap : 64;
	while (cap < w->len + n)
		cap *= 2;
	uint8_t *p = realloc(w->p, cap);
	if (!p) {
		w->err = true;
		return false;
	}
	w->p = p;
	w->cap = cap;
	return true;
}

bool ddns_wbuf_put(struct ddns_wbuf *w, const void *src, size_t n)
{
	if (!ddns_wbuf_reserve(w, n))
		return false;
	if (n)
		memcpy(w->p + w->len, src, n);
	w->len += n;
	return true;
}

bool ddns_wbuf_u8(struct ddns_wbuf *w, uint8_t v) { return ddns_wbuf_put(w, &v, 1); }

bool ddns_wbuf_u16(struct ddns_wbuf *w, uint16_t v)
{
	uint8_t b[2];
	ddns_put_u16(b, v);
	return ddns_wbuf_put(w, b, 2);
}

bool ddns_wbuf_u32(struct ddns_wbuf *w, uint32_t v)
{
	uint8_t b[4];
	ddns_put_u32(b, v);
	return ddns_wbuf_put(w, b, 4);
}

bool ddns_wbuf_u64(struct ddns_wbuf *w, uint64_t v)
{
	return ddns_wbuf_u32(w, (uint32_t)(v >> 32)) && ddns_wbuf_u32(w, (uint32_t)v);
}

bool ddns_wbuf_patch_u16(struct ddns_wbuf *w, size_t at, uint16_t v)
{
	if (w->err || at + 2 > w->len) {
		w->err = true;
		return false;
	}
	ddns_put_u16(w->p + at, v);
	return true;
}
