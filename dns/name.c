/*
 * name.c - DNS names: presentation and wire forms, compression, ordering.
 *
 * Invariant: every struct dns_name produced here is valid uncompressed wire
 * form (see name.h), so the walkers below index labels without re-checking.
 */
#include "dns/name.h"
#include "common/buf.h"

#include <stdio.h>
#include <string.h>

static inline uint8_t lc(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

void dns_name_set_root(struct dns_name *n)
{
	n->len = 1;
	n->data[0] = 0;
}

void dns_name_copy(struct dns_name *dst, const struct dns_name *src)
{
	if (dst != src)
		memmove(dst->data, src->data, src->len), dst->len = src->len;
}

int dns_name_concat(struct dns_name *out, const uint8_t *prefix, size_t plen,
		    const struct dns_name *suffix)
{
	if (plen + suffix->len > DNS_NAME_MAX)
		return DDNS_ETOOBIG;
	uint8_t tmp[DNS_NAME_MAX];
	memcpy(tmp, prefix, plen);
	memcpy(tmp + plen, suffix->data, suffix->len);
	out->len = (uint8_t)(plen + suffix->len);
	memcpy(out->data, tmp, out->len);
	return 0;
}

int dns_name_from_text(struct dns_name *n, const char *s, size_t len,
		       const struct dns_name *origin)
{
	uint8_t buf[DNS_NAME_MAX + 1];
	size_t w = 0;

	if (len == 0)
		return DDNS_EMALFORMED;
	if (len == 1 && s[0] == '@') {
		if (!origin)
			return DDNS_EMALFORMED;
		dns_name_copy(n, origin);
		return 0;
	}
	if (len == 1 && s[0] == '.') {
		dns_name_set_root(n);
		return 0;
	}
	size_t i = 0;
	bool absolute = false;
	while (i < len) {
		/* One label: buf[w] is its length octet. */
		size_t lpos = w;
		if (w + 1 > DNS_NAME_MAX)
			return DDNS_EMALFORMED;
		buf[w++] = 0;
		size_t ll = 0;
		while (i < len && s[i] != '.') {
			uint8_t c;
			if (s[i] == '\\') {
				if (i + 1 >= len)
					return DDNS_EMALFORMED;
				if (s[i + 1] >= '0' && s[i + 1] <= '9') {
					if (len - i < 4)
						return DDNS_EMALFORMED;
					unsigned v = 0;
					for (int k = 1; k <= 3; k++) {
						char d = s[i + k];
						if (d < '0' || d > '9')
							return DDNS_EMALFORMED;
						v = v * 10 + (unsigned)(d - '0');
					}
					if (v > 255)
						return DDNS_EMALFORMED;
					c = (uint8_t)v;
					i += 4;
				} else {
					c = (uint8_t)s[i + 1];
					i += 2;
				}
			} else {
				c = (uint8_t)s[i++];
			}
			if (ll >= DNS_LABEL_MAX || w >= DNS_NAME_MAX)
				return DDNS_EMALFORMED;
			buf[w++] = c;
			ll++;
		}
		if (ll == 0)
			return DDNS_EMALFORMED; /* empty label: "a..b" or ".a" */
		buf[lpos] = (uint8_t)ll;
		if (i < len) { /* at a '.' */
			i++;
			if (i == len)
				absolute = true;
		}
	}
	if (absolute) {
		if (w + 1 > DNS_NAME_MAX)
			return DDNS_EMALFORMED;
		buf[w++] = 0;
		n->len = (uint8_t)w;
		memcpy(n->data, buf, w);
		return 0;
	}
	if (!origin)
		return DDNS_EMALFORMED;
	struct dns_name tmp;
	if (dns_name_concat(&tmp, buf, w, origin))
		return DDNS_EMALFORMED;
	dns_name_copy(n, &tmp);
	return 0;
}

int dns_name_from_str(struct dns_name *n, const char *s,
		      const struct dns_name *origin)
{
	return dns_name_from_text(n, s, strlen(s), origin);
}

/* Characters written as "\c" in presentation form. */
static bool needs_backslash(uint8_t c)
{
	return c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' ||
	       c == ';' || c == '@' || c == '$' || c == ' ';
}

int dns_name_to_text(const struct dns_name *n, struct ddns_wbuf *w)
{
	if (n->len <= 1)
		return ddns_wbuf_u8(w, '.') ? 0 : -ENOMEM;
	size_t i = 0;
	while (n->data[i]) {
		uint8_t ll = n->data[i++];
		for (uint8_t k = 0; k < ll; k++, i++) {
			uint8_t c = n->data[i];
			if (needs_backslash(c)) {
				uint8_t e[2] = {'\\', c};
				ddns_wbuf_put(w, e, 2);
			} else if (c < 0x21 || c > 0x7e) {
				char e[5];
				snprintf(e, sizeof(e), "\\%03u", c);
				ddns_wbuf_put(w, e, 4);
			} else {
				ddns_wbuf_u8(w, c);
			}
		}
		ddns_wbuf_u8(w, '.');
	}
	return w->err ? -ENOMEM : 0;
}

int dns_name_to_str(const struct dns_name *n, char *buf, size_t size)
{
	struct ddns_wbuf w;
	if (size == 0)
		return DDNS_ETOOBIG;
	ddns_wbuf_init_fixed(&w, buf, size - 1);
	if (dns_name_to_text(n, &w) != 0) {
		buf[0] = 0;
		return DDNS_ETOOBIG;
	}
	buf[w.len] = 0;
	return (int)w.len;
}

/*
 * RFC 1035 §4.1.4. A pointer must point strictly before the start of the
 * label sequence it was read from; since each jump goes strictly backwards,
 * loops are impossible, and the jump count is bounded anyway (a valid name
 * has at most 127 labels, so at most 127 useful jumps).
 */
int dns_name_from_wire(struct dns_name *n, const uint8_t *pkt, size_t pktlen,
		       size_t *off, bool allow_ptr)
{
	size_t pos = *off;
	size_t end = 0;      /* where the in-place name ends */
	bool jumped = false;
	size_t limit = pos;  /* pointers must target < limit */
	unsigned jumps = 0;
	size_t w = 0;

	for (;;) {
		if (pos >= pktlen)
			return DDNS_EMALFORMED;
		uint8_t c = pkt[pos];
		if ((c & 0xc0) == 0xc0) {
			if (!allow_ptr)
				return DDNS_EMALFORMED;
			if (pos + 1 >= pktlen)
				return DDNS_EMALFORMED;
			size_t target = ddns_get_u16(pkt + pos) & 0x3fffu;
			if (!jumped) {
				end = pos + 2;
				jumped = true;
			}
			if (++jumps > 127)
				return DDNS_ELOOP;
			/* Into the span already walked: a loop; beyond it:
			 * a forward pointer, never legitimate. */
			if (target >= limit)
				return target <= pos ? DDNS_ELOOP : DDNS_EMALFORMED;
			limit = target;
			pos = target;
			continue;
		}
		if (c & 0xc0)
			return DDNS_EMALFORMED; /* 0x40, 0x80: reserved/obsolete */
		if (c == 0) {
			if (w + 1 > DNS_NAME_MAX)
				return DDNS_EMALFORMED;
			n->data[w++] = 0;
			if (!jumped)
				end = pos + 1;
			break;
		}
		if (pos + 1 + c > pktlen)
			return DDNS_EMALFORMED;
		if (w + 1 + c + 1 > DNS_NAME_MAX)
			return DDNS_EMALFORMED;
		memcpy(n->data + w, pkt + pos, (size_t)c + 1);
		w += (size_t)c + 1;
		pos += (size_t)c + 1;
	}
	n->len = (uint8_t)w;
	*off = end;
	return 0;
}

void dns_ctable_init(struct dns_ctable *ct)
{
	ct->n = 0;
}

/* FNV-1a over the lowercased wire octets of a suffix. */
static uint32_t suffix_hash(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ lc(p[i])) * 16777619u;
	return h;
}

/*
 * Does the name written at message offset `at` equal the suffix p[0..len)?
 * The message was written by us but may hold pointers; follow them with the
 * same backward-only rule.
 */
static bool suffix_matches(const uint8_t *msg, size_t msglen, size_t at,
			   const uint8_t *p, size_t len)
{
	struct dns_name tmp;
	size_t off = at;
	if (dns_name_from_wire(&tmp, msg, msglen, &off, true) != 0)
		return false;
	if (tmp.len != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (lc(tmp.data[i]) != lc(p[i]))
			return false;
	return true;
}

int dns_name_to_wire(const struct dns_name *n, struct ddns_wbuf *w,
		     struct dns_ctable *ct)
{
	if (!ct)
		return ddns_wbuf_put(w, n->data, n->len) ? 0 : DDNS_ETOOBIG;

	/* Label offsets within n. */
	size_t loff[128];
	size_t nl = 0;
	for (size_t i = 0; n->data[i]; i += (size_t)n->data[i] + 1)
		loff[nl++] = i;

	/* Longest suffix already present: try from the full name down. */
	size_t hit = nl;           /* label index where the pointer goes */
	uint16_t ptr = 0;
	uint32_t hashes[128];
	for (size_t k = 0; k < nl; k++) {
		const uint8_t *p = n->data + loff[k];
		size_t plen = n->len - loff[k];
		hashes[k] = suffix_hash(p, plen);
		if (hit != nl)
			continue;
		for (size_t e = 0; e < ct->n; e++) {
			if (ct->e[e].hash == hashes[k] &&
			    suffix_matches(w->p, w->len, ct->e[e].off, p, plen)) {
				hit = k;
				ptr = ct->e[e].off;
				break;
			}
		}
	}
	size_t start = w->len;
	/* Literal labels before the hit, remembering new suffixes. */
	for (size_t k = 0; k < hit; k++) {
		size_t at = start + loff[k];
		if (at < 0x4000 && ct->n < DNS_CTABLE_MAX) {
			ct->e[ct->n].hash = hashes[k];
			ct->e[ct->n].off = (uint16_t)at;
			ct->n++;
		}
	}
	size_t litlen = hit < nl ? loff[hit] : n->len;
	if (!ddns_wbuf_put(w, n->data, litlen))
		return DDNS_ETOOBIG;
	if (hit < nl && !ddns_wbuf_u16(w, (uint16_t)(0xc000 | ptr)))
		return DDNS_ETOOBIG;
	return 0;
}

bool dns_name_equal(const struct dns_name *a, const struct dns_name *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++)
		if (lc(a->data[i]) != lc(b->data[i]))
			return false;
	return true;
}

/* Offsets of each label of n; returns the count (root excluded). */
static size_t label_offsets(const struct dns_name *n, uint8_t off[128])
{
	size_t k = 0;
	for (size_t i = 0; n->data[i]; i += (size_t)n->data[i] + 1)
		off[k++] = (uint8_t)i;
	return k;
}

int dns_name_canon_cmp(const struct dns_name *a, const struct dns_name *b)
{
	uint8_t ao[128], bo[128];
	size_t an = label_offsets(a, ao), bn = label_offsets(b, bo);
	while (an > 0 && bn > 0) {
		an--, bn--;
		const uint8_t *la = a->data + ao[an], *lb = b->data + bo[bn];
		size_t m = la[0] < lb[0] ? la[0] : lb[0];
		for (size_t i = 1; i <= m; i++) {
			uint8_t ca = lc(la[i]), cb = lc(lb[i]);
			if (ca != cb)
				return ca < cb ? -1 : 1;
		}
		if (la[0] != lb[0])
			return la[0] < lb[0] ? -1 : 1;
	}
	if (an == bn)
		return 0;
	return an < bn ? -1 : 1;
}

void dns_name_to_lower(struct dns_name *n)
{
	for (size_t i = 0; n->data[i]; i += (size_t)n->data[i] + 1)
		for (size_t k = 1; k <= n->data[i]; k++)
			n->data[i + k] = lc(n->data[i + k]);
}

unsigned dns_name_label_count(const struct dns_name *n)
{
	unsigned c = 0;
	for (size_t i = 0; n->data[i]; i += (size_t)n->data[i] + 1)
		c++;
	return c;
}

bool dns_name_is_wildcard(const struct dns_name *n)
{
	return n->len >= 3 && n->data[0] == 1 && n->data[1] == '*';
}

unsigned dns_name_rrsig_labels(const struct dns_name *n)
{
	unsigned c = dns_name_label_count(n);
	return dns_name_is_wildcard(n) ? c - 1 : c;
}

bool dns_name_is_subdomain(const struct dns_name *n,
			   const struct dns_name *parent)
{
	if (n->len < parent->len)
		return false;
	/* Walk n's labels until the remaining suffix has parent's length. */
	size_t i = 0;
	while (n->len - i > parent->len)
		i += (size_t)n->data[i] + 1;
	if (n->len - i != parent->len)
		return false;
	for (size_t k = 0; k < parent->len; k++)
		if (lc(n->data[i + k]) != lc(parent->data[k]))
			return false;
	return true;
}

int dns_name_parent(const struct dns_name *n, struct dns_name *out)
{
	if (n->len <= 1)
		return DDNS_ENOTFOUND;
	size_t skip = (size_t)n->data[0] + 1;
	uint8_t len = (uint8_t)(n->len - skip);
	memmove(out->data, n->data + skip, len);
	out->len = len;
	return 0;
}

int dns_name_suffix(const struct dns_name *n, unsigned labels,
		    struct dns_name *out)
{
	unsigned total = dns_name_label_count(n);
	if (labels > total)
		return -EINVAL;
	size_t i = 0;
	for (unsigned k = 0; k < total - labels; k++)
		i += (size_t)n->data[i] + 1;
	uint8_t len = (uint8_t)(n->len - i);
	memmove(out->data, n->data + i, len);
	out->len = len;
	return 0;
}
