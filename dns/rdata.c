/*
 * rdata.c - per-type RDATA: presentation <-> wire, validation, canonical form.
 *
 * Each known type is described by a list of fields (struct field_desc); one
 * engine per direction walks that list, so adding a type is adding a line to
 * the table. Types without a description are opaque (RFC 3597).
 */
#include "dns/rdata.h"
#include "common/buf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum field_kind {
	F_END = 0,
	F_U8,
	F_U16,
	F_U32,
	F_TTL,      /* u32 accepting TTL units in text (SOA timers) */
	F_A,        /* 4 octets */
	F_AAAA,     /* 16 octets */
	F_NAME,     /* a domain name (flags in struct type_desc) */
	F_TYPE,     /* u16 type mnemonic (RRSIG type covered) */
	F_TIME,     /* u32 RRSIG time */
	F_STR,      /* one character-string (length-prefixed) */
	F_TXT,      /* one or more character-strings, to the end */
	F_CAA_VAL,  /* rest of RDATA as raw octets, shown as a quoted string */
	F_B64,      /* rest as base64 (may span tokens) */
	F_HEX,      /* rest as hex (may span tokens) */
	F_BITMAP    /* rest as NSEC type bitmap */
};

#define MAXF 10

struct type_desc {
	uint16_t type;
	const char *name;
	bool ptr_in;      /* RFC 3597 §4: decompress names on input */
	bool comp_out;    /* names may be compressed on output */
	bool canon_lower; /* RFC 4034 §6.2 / RFC 6840 §5.1 */
	enum field_kind f[MAXF];
};

/* Types with RDATA formats we know (opaque otherwise). */
static const struct type_desc types[] = {
	{DNS_T_A, "A", false, false, false, {F_A}},
	{DNS_T_NS, "NS", true, true, true, {F_NAME}},
	{DNS_T_CNAME, "CNAME", true, true, true, {F_NAME}},
	{DNS_T_SOA, "SOA", true, true, true,
	 {F_NAME, F_NAME, F_U32, F_TTL, F_TTL, F_TTL, F_TTL}},
	{DNS_T_PTR, "PTR", true, true, true, {F_NAME}},
	{DNS_T_MX, "MX", true, true, true, {F_U16, F_NAME}},
	{DNS_T_TXT, "TXT", false, false, false, {F_TXT}},
	{DNS_T_AAAA, "AAAA", false, false, false, {F_AAAA}},
	{DNS_T_SRV, "SRV", true, false, true, {F_U16, F_U16, F_U16, F_NAME}},
	{DNS_T_DS, "DS", false, false, false, {F_U16, F_U8, F_U8, F_HEX}},
	{DNS_T_RRSIG, "RRSIG", false, false, true,
	 {F_TYPE, F_U8, F_U8, F_U32, F_TIME, F_TIME, F_U16, F_NAME, F_B64}},
	{DNS_T_NSEC, "NSEC", false, false, false, {F_NAME, F_BITMAP}},
	{DNS_T_DNSKEY, "DNSKEY", false, false, false, {F_U16, F_U8, F_U8, F_B64}},
	{DNS_T_CAA, "CAA", false, false, false, {F_U8, F_STR, F_CAA_VAL}},
	{59, "CDS", false, false, false, {F_U16, F_U8, F_U8, F_HEX}},
	{60, "CDNSKEY", false, false, false, {F_U16, F_U8, F_U8, F_B64}},
	{63, "ZONEMD", false, false, false, {F_U32, F_U8, F_U8, F_HEX}},
};

static const struct type_desc *desc_of(uint16_t type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return &types[i];
	return NULL;
}

/* Mnemonics known for naming only (their RDATA is handled as opaque). */
static const struct {
	uint16_t v;
	const char *s;
} type_names[] = {
	{1, "A"}, {2, "NS"}, {3, "MD"}, {4, "MF"}, {5, "CNAME"}, {6, "SOA"},
	{7, "MB"}, {8, "MG"}, {9, "MR"}, {10, "NULL"}, {11, "WKS"}, {12, "PTR"},
	{13, "HINFO"}, {14, "MINFO"}, {15, "MX"}, {16, "TXT"}, {17, "RP"},
	{18, "AFSDB"}, {24, "SIG"}, {25, "KEY"}, {28, "AAAA"}, {29, "LOC"},
	{33, "SRV"}, {35, "NAPTR"}, {36, "KX"}, {37, "CERT"}, {39, "DNAME"},
	{41, "OPT"}, {42, "APL"}, {43, "DS"}, {44, "SSHFP"}, {45, "IPSECKEY"},
	{46, "RRSIG"}, {47, "NSEC"}, {48, "DNSKEY"}, {49, "DHCID"}, {50, "NSEC3"},
	{51, "NSEC3PARAM"}, {52, "TLSA"}, {53, "SMIMEA"}, {55, "HIP"},
	{59, "CDS"}, {60, "CDNSKEY"}, {61, "OPENPGPKEY"}, {62, "CSYNC"},
	{63, "ZONEMD"}, {64, "SVCB"}, {65, "HTTPS"}, {99, "SPF"}, {108, "EUI48"},
	{109, "EUI64"}, {249, "TKEY"}, {250, "TSIG"}, {251, "IXFR"}, {252, "AXFR"},
	{255, "ANY"}, {256, "URI"}, {257, "CAA"}, {32769, "DLV"},
};

static bool ieq(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		char x = a[i], y = b[i];
		if (x >= 'a' && x <= 'z')
			x = (char)(x - 32);
		if (y >= 'a' && y <= 'z')
			y = (char)(y - 32);
		if (x != y)
			return false;
	}
	return true;
}

/* Parse a decimal number <= max from s[0..len). */
static int parse_uint(const char *s, size_t len, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	if (len == 0 || len > 20)
		return DDNS_EMALFORMED;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return DDNS_EMALFORMED;
		x = x * 10 + (uint64_t)(s[i] - '0');
		if (x > max)
			return DDNS_EMALFORMED;
	}
	*v = x;
	return 0;
}

int dns_type_from_text(const char *s, size_t len, uint16_t *type)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (ieq(s, len, type_names[i].s)) {
			*type = type_names[i].v;
			return 0;
		}
	if (len > 4 && ieq(s, 4, "TYPE")) {
		uint64_t v;
		if (parse_uint(s + 4, len - 4, 65535, &v) == 0) {
			*type = (uint16_t)v;
			return 0;
		}
	}
	return DDNS_EMALFORMED;
}

const char *dns_type_to_str(uint16_t type, char buf[DNS_MNEMONIC_MAX])
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].v == type)
			return type_names[i].s;
	snprintf(buf, DNS_MNEMONIC_MAX, "TYPE%u", (unsigned)type);
	return buf;
}

int dns_class_from_text(const char *s, size_t len, uint16_t *rclass)
{
	static const struct {
		uint16_t v;
		const char *s;
	} cl[] = {{1, "IN"}, {3, "CH"}, {4, "HS"}, {254, "NONE"}, {255, "ANY"}};
	for (size_t i = 0; i < sizeof(cl) / sizeof(cl[0]); i++)
		if (ieq(s, len, cl[i].s)) {
			*rclass = cl[i].v;
			return 0;
		}
	if (ieq(s, len, "CHAOS")) {
		*rclass = 3;
		return 0;
	}
	if (len > 5 && ieq(s, 5, "CLASS")) {
		uint64_t v;
		if (parse_uint(s + 5, len - 5, 65535, &v) == 0) {
			*rclass = (uint16_t)v;
			return 0;
		}
	}
	return DDNS_EMALFORMED;
}

const char *dns_class_to_str(uint16_t rclass, char buf[DNS_MNEMONIC_MAX])
{
	switch (rclass) {
	case 1: return "IN";
	case 3: return "CH";
	case 4: return "HS";
	case 254: return "NONE";
	case 255: return "ANY";
	default:
		snprintf(buf, DNS_MNEMONIC_MAX, "CLASS%u", (unsigned)rclass);
		return buf;
	}
}

/* ---- base64 / hex ------------------------------------------------------ */

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

int dns_base64_decode(const char *s, size_t len, struct ddns_wbuf *out)
{
	uint32_t acc = 0;
	int bits = 0, pad = 0;
	size_t nchars = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		nchars++;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = b64val(c);
		if (v < 0 || pad)
			return DDNS_EMALFORMED;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			ddns_wbuf_u8(out, (uint8_t)(acc >> bits));
		}
	}
	/* Complete quanta only; leftover bits must be zero padding. */
	if (nchars % 4 != 0 || pad > 2 || (acc & ((1u << bits) - 1)) != 0)
		return DDNS_EMALFORMED;
	if ((pad == 1 && bits != 2) || (pad == 2 && bits != 4) ||
	    (pad == 0 && bits != 0))
		return DDNS_EMALFORMED;
	return out->err ? -ENOMEM : 0;
}

int dns_base64_encode(const uint8_t *p, size_t len, struct ddns_wbuf *out)
{
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
		char q[4] = {al[v >> 18], al[(v >> 12) & 63], al[(v >> 6) & 63], al[v & 63]};
		ddns_wbuf_put(out, q, 4);
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		char q[4] = {al[v >> 18], al[(v >> 12) & 63], '=', '='};
		ddns_wbuf_put(out, q, 4);
	} else if (len - i == 2) {
		uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8);
		char q[4] = {al[v >> 18], al[(v >> 12) & 63], al[(v >> 6) & 63], '='};
		ddns_wbuf_put(out, q, 4);
	}
	return out->err ? -ENOMEM : 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int dns_hex_decode(const char *s, size_t len, struct ddns_wbuf *out)
{
	int hi = -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		int v = hexval(c);
		if (v < 0)
			return DDNS_EMALFORMED;
		if (hi < 0) {
			hi = v;
		} else {
			ddns_wbuf_u8(out, (uint8_t)(hi << 4 | v));
			hi = -1;
		}
	}
	if (hi >= 0)
		return DDNS_EMALFORMED;
	return out->err ? -ENOMEM : 0;
}

static void hex_encode(const uint8_t *p, size_t len, struct ddns_wbuf *out)
{
	static const char hx[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		char q[2] = {hx[p[i] >> 4], hx[p[i] & 15]};
		ddns_wbuf_put(out, q, 2);
	}
}

/* ---- times ------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (civil calendar). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int dns_time_from_text(const char *s, size_t len, uint32_t *t)
{
	uint64_t v;
	if (len == 14) {
		unsigned f[6];
		static const int w[6] = {4, 2, 2, 2, 2, 2};
		size_t p = 0;
		for (int k = 0; k < 6; k++) {
			if (parse_uint(s + p, (size_t)w[k], 9999, &v))
				return DDNS_EMALFORMED;
			f[k] = (unsigned)v;
			p += (size_t)w[k];
		}
		if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 ||
		    f[4] > 59 || f[5] > 60 || f[0] < 1970)
			return DDNS_EMALFORMED;
		int64_t secs = days_from_civil(f[0], f[1], f[2]) * 86400 +
			       f[3] * 3600 + f[4] * 60 + f[5];
		/* RFC 4034 §3.1.5: serial arithmetic modulo 2^32. */
		*t = (uint32_t)(uint64_t)secs;
		return 0;
	}
	if (len > 10 || parse_uint(s, len, UINT32_MAX, &v))
		return DDNS_EMALFORMED;
	*t = (uint32_t)v;
	return 0;
}

char *dns_time_to_str(uint32_t t, char buf[15])
{
	int64_t z = t / 86400;
	unsigned secs = t % 86400;
	/* civil_from_days */
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	/* y is 1970..2106 and every field is in range; the mod keeps the
	 * compiler's width analysis honest. */
	snprintf(buf, 15, "%04u%02u%02u%02u%02u%02u", (unsigned)y % 10000u,
		 m % 100u, d % 100u, (secs / 3600) % 100u, (secs / 60) % 60u,
		 secs % 60u);
	return buf;
}

/* ---- TTL units (RFC-less but universal: BIND, NSD, Knot) ------------- */

int dns_ttl_from_text(const char *s, size_t len, uint32_t *out)
{
	uint64_t total = 0, cur = 0;
	bool digits = false, unit_seen = false;
	if (len == 0)
		return DDNS_EMALFORMED;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c >= '0' && c <= '9') {
			cur = cur * 10 + (uint64_t)(c - '0');
			if (cur > UINT32_MAX)
				return DDNS_EMALFORMED;
			digits = true;
			continue;
		}
		uint64_t mul;
		switch (c | 0x20) {
		case 'w': mul = 604800; break;
		case 'd': mul = 86400; break;
		case 'h': mul = 3600; break;
		case 'm': mul = 60; break;
		case 's': mul = 1; break;
		default: return DDNS_EMALFORMED;
		}
		if (!digits)
			return DDNS_EMALFORMED;
		total += cur * mul;
		if (total > UINT32_MAX)
			return DDNS_EMALFORMED;
		cur = 0;
		digits = false;
		unit_seen = true;
	}
	if (digits) {
		total += cur;
		if (total > UINT32_MAX)
			return DDNS_EMALFORMED;
	} else if (!unit_seen) {
		return DDNS_EMALFORMED;
	}
	*out = (uint32_t)total;
	return 0;
}

/* ---- NSEC type bitmaps (RFC 4034 §4.1.2) ------------------------------- */

static int cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
	return (x > y) - (x < y);
}

int dns_typebitmap_encode(const uint16_t *types_in, size_t n,
			  struct ddns_wbuf *out)
{
	if (n == 0)
		return 0;
	uint16_t *t = malloc(n * sizeof(*t));
	if (!t)
		return -ENOMEM;
	memcpy(t, types_in, n * sizeof(*t));
	qsort(t, n, sizeof(*t), cmp_u16);
	size_t i = 0;
	while (i < n) {
		uint8_t win = (uint8_t)(t[i] >> 8);
		uint8_t bm[32];
		memset(bm, 0, sizeof(bm));
		size_t maxb = 0;
		while (i < n && (t[i] >> 8) == win) {
			uint8_t lo = (uint8_t)t[i];
			bm[lo / 8] |= (uint8_t)(0x80 >> (lo % 8));
			if ((size_t)lo / 8 + 1 > maxb)
				maxb = (size_t)lo / 8 + 1;
			i++;
		}
		ddns_wbuf_u8(out, win);
		ddns_wbuf_u8(out, (uint8_t)maxb);
		ddns_wbuf_put(out, bm, maxb);
	}
	free(t);
	return out->err ? -ENOMEM : 0;
}

/* Validate a bitmap: ascending windows, lengths 1..32, no trailing zero. */
static bool bitmap_valid(const uint8_t *p, size_t len)
{
	size_t i = 0;
	int last = -1;
	while (i < len) {
		if (len - i < 2)
			return false;
		uint8_t win = p[i], bl = p[i + 1];
		if ((int)win <= last || bl < 1 || bl > 32 || len - i - 2 < bl)
			return false;
		if (p[i + 1 + bl] == 0)
			return false;
		last = win;
		i += 2 + (size_t)bl;
	}
	return true;
}

bool dns_typebitmap_has(const uint8_t *bm, size_t len, uint16_t type)
{
	size_t i = 0;
	while (i + 2 <= len) {
		uint8_t win = bm[i], bl = bm[i + 1];
		if (i + 2 + bl > len)
			return false;
		if (win == (type >> 8)) {
			uint8_t lo = (uint8_t)type;
			if ((size_t)lo / 8 >= bl)
				return false;
			return (bm[i + 2 + lo / 8] & (0x80 >> (lo % 8))) != 0;
		}
		i += 2 + (size_t)bl;
	}
	return false;
}

static void bitmap_to_text(const uint8_t *p, size_t len, struct ddns_wbuf *w)
{
	size_t i = 0;
	bool first = true;
	char tb[DNS_MNEMONIC_MAX];
	while (i + 2 <= len) {
		uint8_t win = p[i], bl = p[i + 1];
		for (size_t b = 0; b < bl; b++)
			for (int bit = 0; bit < 8; bit++)
				if (p[i + 2 + b] & (0x80 >> bit)) {
					uint16_t t = (uint16_t)(win << 8 | (b * 8 + (size_t)bit));
					const char *s = dns_type_to_str(t, tb);
					if (!first)
						ddns_wbuf_u8(w, ' ');
					ddns_wbuf_put(w, s, strlen(s));
					first = false;
				}
		i += 2 + (size_t)bl;
	}
}

/* ---- wire walking ------------------------------------------------------ */

/*
 * Walk RDATA at pkt[off..off+rdlen) by the description of type. With out,
 * append the uncompressed form. ptr_ok: pointers allowed for this type's
 * names (input from a message). lower: lowercase names in the output (for
 * canonical form). Returns 0 or an error.
 */
static int walk_wire(const struct type_desc *d, const uint8_t *pkt,
		     size_t pktlen, size_t off, size_t rdlen, bool ptr_ok,
		     struct ddns_wbuf *out)
{
	if (off > pktlen || rdlen > pktlen - off)
		return DDNS_EMALFORMED;
	size_t end = off + rdlen;
	size_t p = off;
	for (int k = 0; k < MAXF && d->f[k] != F_END; k++) {
		size_t need = 0;
		switch (d->f[k]) {
		case F_U8: need = 1; break;
		case F_U16: case F_TYPE: need = 2; break;
		case F_U32: case F_TTL: case F_TIME: case F_A: need = 4; break;
		case F_AAAA: need = 16; break;
		case F_NAME: {
			struct dns_name n;
			size_t q = p;
			/* Only data before `end` may hold the name itself;
			 * pointers may reach anywhere earlier in the message. */
			int rc = dns_name_from_wire(&n, pkt, end, &q, ptr_ok);
			if (rc)
				return rc;
			if (out)
				ddns_wbuf_put(out, n.data, n.len);
			p = q;
			continue;
		}
		case F_STR:
			if (p >= end)
				return DDNS_EMALFORMED;
			need = (size_t)pkt[p] + 1;
			if (d->type == DNS_T_CAA) {
				/* RFC 8659 §4.1: tag is 1+ ASCII letters/digits. */
				if (pkt[p] == 0 || need > end - p)
					return DDNS_EMALFORMED;
				for (size_t i = 1; i < need; i++) {
					uint8_t c = pkt[p + i];
					if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
					      (c >= '0' && c <= '9')))
						return DDNS_EMALFORMED;
				}
			}
			break;
		case F_TXT: {
			if (p >= end)
				return DDNS_EMALFORMED; /* at least one string */
			size_t q = p;
			while (q < end) {
				size_t l = (size_t)pkt[q] + 1;
				if (l > end - q)
					return DDNS_EMALFORMED;
				q += l;
			}
			need = end - p;
			break;
		}
		case F_BITMAP:
			if (!bitmap_valid(pkt + p, end - p))
				return DDNS_EMALFORMED;
			need = end - p;
			break;
		case F_CAA_VAL: case F_B64: case F_HEX:
			need = end - p;
			break;
		case F_END:
			break;
		}
		if (need > end - p)
			return DDNS_EMALFORMED;
		if (out)
			ddns_wbuf_put(out, pkt + p, need);
		p += need;
	}
	if (p != end)
		return DDNS_EMALFORMED; /* RDLENGTH lies */
	if (out && out->err)
		return out->max ? DDNS_ETOOBIG : -ENOMEM;
	return 0;
}

int dns_rdata_from_wire(uint16_t type, const uint8_t *pkt, size_t pktlen,
			size_t off, uint16_t rdlen, struct ddns_wbuf *out)
{
	const struct type_desc *d = desc_of(type);
	if (off > pktlen || rdlen > pktlen - off)
		return DDNS_EMALFORMED;
	if (!d) {
		if (!ddns_wbuf_put(out, pkt + off, rdlen))
			return out->max ? DDNS_ETOOBIG : -ENOMEM;
		return 0;
	}
	size_t before = out->len;
	int rc = walk_wire(d, pkt, pktlen, off, rdlen, d->ptr_in, out);
	if (rc == 0 && out->len - before > 65535)
		rc = DDNS_ETOOBIG;
	return rc;
}

int dns_rdata_check(uint16_t type, const uint8_t *rdata, size_t rdlen)
{
	const struct type_desc *d = desc_of(type);
	if (rdlen > 65535)
		return DDNS_EMALFORMED;
	if (!d)
		return 0;
	if (rdlen == 0 && !rdata)
		return walk_wire(d, (const uint8_t *)"", 0, 0, 0, false, NULL);
	return walk_wire(d, rdata, rdlen, 0, rdlen, false, NULL);
}

int dns_rdata_to_wire(uint16_t type, const uint8_t *rdata, size_t rdlen,
		      struct ddns_wbuf *w, struct dns_ctable *ct)
{
	const struct type_desc *d = desc_of(type);
	if (!d || !ct || !d->comp_out)
		return ddns_wbuf_put(w, rdata, rdlen) ? 0 : DDNS_ETOOBIG;
	/* Stored RDATA is valid: walk fields, compressing the names. */
	size_t p = 0;
	for (int k = 0; k < MAXF && d->f[k] != F_END; k++) {
		size_t need = 0;
		switch (d->f[k]) {
		case F_NAME: {
			struct dns_name n;
			size_t q = p;
			if (dns_name_from_wire(&n, rdata, rdlen, &q, false))
				return DDNS_EMALFORMED;
			if (dns_name_to_wire(&n, w, ct))
				return DDNS_ETOOBIG;
			p = q;
			continue;
		}
		case F_U16: need = 2; break;
		case F_U32: case F_TTL: need = 4; break;
		default: need = rdlen - p; break; /* not used by comp_out types */
		}
		if (need > rdlen - p)
			return DDNS_EMALFORMED;
		if (!ddns_wbuf_put(w, rdata + p, need))
			return DDNS_ETOOBIG;
		p += need;
	}
	return p == rdlen ? 0 : DDNS_EMALFORMED;
}

bool dns_type_has_canon_names(uint16_t type)
{
	const struct type_desc *d = desc_of(type);
	return d && d->canon_lower;
}

int dns_rdata_canonicalize(uint16_t type, uint8_t *rdata, size_t rdlen)
{
	const struct type_desc *d = desc_of(type);
	if (!d)
		return 0;
	if (!d->canon_lower)
		return dns_rdata_check(type, rdata, rdlen);
	size_t p = 0;
	for (int k = 0; k < MAXF && d->f[k] != F_END; k++) {
		size_t need;
		switch (d->f[k]) {
		case F_NAME: {
			struct dns_name n;
			size_t q = p;
			if (dns_name_from_wire(&n, rdata, rdlen, &q, false))
				return DDNS_EMALFORMED;
			dns_name_to_lower(&n);
			memcpy(rdata + p, n.data, n.len);
			p = q;
			continue;
		}
		case F_U8: need = 1; break;
		case F_U16: case F_TYPE: need = 2; break;
		case F_U32: case F_TTL: case F_TIME: need = 4; break;
		default: need = rdlen - p; break; /* trailing opaque fields */
		}
		if (need > rdlen - p)
			return DDNS_EMALFORMED;
		p += need;
	}
	return p == rdlen ? 0 : DDNS_EMALFORMED;
}

int dns_rdata_canon_cmp(uint16_t type, const uint8_t *a, size_t alen,
			const uint8_t *b, size_t blen)
{
	const uint8_t *pa = a, *pb = b;
	uint8_t *ca = NULL, *cb = NULL;
	if (dns_type_has_canon_names(type)) {
		ca = malloc(alen ? alen : 1);
		cb = malloc(blen ? blen : 1);
		if (ca && cb) {
			if (alen)
				memcpy(ca, a, alen);
			if (blen)
				memcpy(cb, b, blen);
			/* Invalid RDATA compares as stored (best effort). */
			if (dns_rdata_canonicalize(type, ca, alen) == 0)
				pa = ca;
			if (dns_rdata_canonicalize(type, cb, blen) == 0)
				pb = cb;
		}
	}
	size_t m = alen < blen ? alen : blen;
	int r = m ? memcmp(pa, pb, m) : 0;
	if (r == 0)
		r = (alen > blen) - (alen < blen);
	free(ca);
	free(cb);
	return r < 0 ? -1 : r > 0;
}

/* ---- presentation output ----------------------------------------------- */

/* Quoted character-string: '"' and '\\' escaped, non-printables \DDD. */
static void quoted_to_text(const uint8_t *p, size_t len, struct ddns_wbuf *w)
{
	ddns_wbuf_u8(w, '"');
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		if (c == '"' || c == '\\') {
			uint8_t e[2] = {'\\', c};
			ddns_wbuf_put(w, e, 2);
		} else if (c < 0x20 || c > 0x7e) {
			char e[5];
			snprintf(e, sizeof(e), "\\%03u", c);
			ddns_wbuf_put(w, e, 4);
		} else {
			ddns_wbuf_u8(w, c);
		}
	}
	ddns_wbuf_u8(w, '"');
}

static void put_str(struct ddns_wbuf *w, const char *s)
{
	ddns_wbuf_put(w, s, strlen(s));
}

static void generic_to_text(const uint8_t *rdata, size_t rdlen,
			    struct ddns_wbuf *w)
{
	char b[32];
	snprintf(b, sizeof(b), "\\# %zu", rdlen);
	put_str(w, b);
	if (rdlen) {
		ddns_wbuf_u8(w, ' ');
		hex_encode(rdata, rdlen, w);
	}
}

int dns_rdata_to_text(uint16_t type, const uint8_t *rdata, size_t rdlen,
		      struct ddns_wbuf *w)
{
	const struct type_desc *d = desc_of(type);
	if (!d) {
		generic_to_text(rdata, rdlen, w);
		return w->err ? -ENOMEM : 0;
	}
	if (dns_rdata_check(type, rdata, rdlen))
		return DDNS_EMALFORMED;
	size_t p = 0;
	char b[64];
	for (int k = 0; k < MAXF && d->f[k] != F_END; k++) {
		if (k > 0)
			ddns_wbuf_u8(w, ' ');
		switch (d->f[k]) {
		case F_U8:
			snprintf(b, sizeof(b), "%u", rdata[p]);
			put_str(w, b);
			p += 1;
			break;
		case F_U16:
			snprintf(b, sizeof(b), "%u", (unsigned)ddns_get_u16(rdata + p));
			put_str(w, b);
			p += 2;
			break;
		case F_TYPE: {
			char tb[DNS_MNEMONIC_MAX];
			put_str(w, dns_type_to_str(ddns_get_u16(rdata + p), tb));
			p += 2;
			break;
		}
		case F_U32: case F_TTL:
			snprintf(b, sizeof(b), "%lu", (unsigned long)ddns_get_u32(rdata + p));
			put_str(w, b);
			p += 4;
			break;
		case F_TIME: {
			char tb[15];
			put_str(w, dns_time_to_str(ddns_get_u32(rdata + p), tb));
			p += 4;
			break;
		}
		case F_A:
			inet_ntop(AF_INET, rdata + p, b, sizeof(b));
			put_str(w, b);
			p += 4;
			break;
		case F_AAAA:
			inet_ntop(AF_INET6, rdata + p, b, sizeof(b));
			put_str(w, b);
			p += 16;
			break;
		case F_NAME: {
			struct dns_name n;
			size_t q = p;
			if (dns_name_from_wire(&n, rdata, rdlen, &q, false))
				return DDNS_EMALFORMED;
			if (dns_name_to_text(&n, w))
				return -ENOMEM;
			p = q;
			break;
		}
		case F_STR:
			if (d->type == DNS_T_CAA) /* tag: bare word */
				ddns_wbuf_put(w, rdata + p + 1, rdata[p]);
			else
				quoted_to_text(rdata + p + 1, rdata[p], w);
			p += (size_t)rdata[p] + 1;
			break;
		case F_TXT: {
			bool first = true;
			while (p < rdlen) {
				if (!first)
					ddns_wbuf_u8(w, ' ');
				quoted_to_text(rdata + p + 1, rdata[p], w);
				p += (size_t)rdata[p] + 1;
				first = false;
			}
			break;
		}
		case F_CAA_VAL:
			quoted_to_text(rdata + p, rdlen - p, w);
			p = rdlen;
			break;
		case F_B64:
			if (dns_base64_encode(rdata + p, rdlen - p, w))
				return -ENOMEM;
			p = rdlen;
			break;
		case F_HEX:
			hex_encode(rdata + p, rdlen - p, w);
			p = rdlen;
			break;
		case F_BITMAP:
			bitmap_to_text(rdata + p, rdlen - p, w);
			p = rdlen;
			break;
		case F_END:
			break;
		}
	}
	/* Drop a separator left by an empty trailing field. */
	if (w->len && w->p[w->len - 1] == ' ')
		w->len--;
	return w->err ? -ENOMEM : 0;
}

/* ---- presentation input ------------------------------------------------ */

/* Resolve escapes of a character-string token into out (<= 255 octets
 * unless unlimited). Returns the length or an error. */
static int unescape(const struct dns_token *t, uint8_t *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < t->len;) {
		uint8_t c;
		if (t->s[i] == '\\') {
			if (i + 1 >= t->len)
				return DDNS_EMALFORMED;
			if (t->s[i + 1] >= '0' && t->s[i + 1] <= '9') {
				uint64_t v;
				if (t->len - i < 4 || parse_uint(t->s + i + 1, 3, 255, &v))
					return DDNS_EMALFORMED;
				c = (uint8_t)v;
				i += 4;
			} else {
				c = (uint8_t)t->s[i + 1];
				i += 2;
			}
		} else {
			c = (uint8_t)t->s[i++];
		}
		if (n >= max)
			return DDNS_ETOOBIG;
		out[n++] = c;
	}
	return (int)n;
}

static int generic_from_tokens(const struct dns_token *tok, size_t ntok,
			       struct ddns_wbuf *out)
{
	uint64_t len;
	if (ntok < 2 || parse_uint(tok[1].s, tok[1].len, 65535, &len))
		return DDNS_EMALFORMED;
	size_t before = out->len;
	for (size_t i = 2; i < ntok; i++) {
		int rc = dns_hex_decode(tok[i].s, tok[i].len, out);
		if (rc)
			return rc;
	}
	if (out->len - before != len)
		return DDNS_EMALFORMED;
	return 0;
}

int dns_rdata_from_tokens(uint16_t type, const struct dns_token *tok,
			  size_t ntok, const struct dns_name *origin,
			  struct ddns_wbuf *out)
{
	const struct type_desc *d = desc_of(type);
	size_t before = out->len;
	int rc = 0;

	if (ntok >= 1 && !tok[0].quoted && tok[0].len == 2 &&
	    tok[0].s[0] == '\\' && tok[0].s[1] == '#') {
		rc = generic_from_tokens(tok, ntok, out);
		goto out;
	}
	if (!d) {
		rc = DDNS_EMALFORMED; /* unknown types only in \# form */
		goto out;
	}
	size_t i = 0;
	for (int k = 0; k < MAXF && d->f[k] != F_END; k++) {
		enum field_kind f = d->f[k];
		bool rest = f == F_TXT || f == F_B64 || f == F_HEX || f == F_BITMAP;
		if (!rest && i >= ntok) {
			rc = DDNS_EMALFORMED;
			goto out;
		}
		const struct dns_token *t = &tok[i];
		uint64_t v;
		switch (f) {
		case F_U8: case F_U16: case F_U32: {
			uint64_t max = f == F_U8 ? 255 : f == F_U16 ? 65535 : UINT32_MAX;
			if ((rc = parse_uint(t->s, t->len, max, &v)))
				goto out;
			if (f == F_U8)
				ddns_wbuf_u8(out, (uint8_t)v);
			else if (f == F_U16)
				ddns_wbuf_u16(out, (uint16_t)v);
			else
				ddns_wbuf_u32(out, (uint32_t)v);
			i++;
			break;
		}
		case F_TTL: {
			uint32_t x;
			if ((rc = dns_ttl_from_text(t->s, t->len, &x)))
				goto out;
			ddns_wbuf_u32(out, x);
			i++;
			break;
		}
		case F_TIME: {
			uint32_t x;
			if ((rc = dns_time_from_text(t->s, t->len, &x)))
				goto out;
			ddns_wbuf_u32(out, x);
			i++;
			break;
		}
		case F_TYPE: {
			uint16_t x;
			if ((rc = dns_type_from_text(t->s, t->len, &x)))
				goto out;
			ddns_wbuf_u16(out, x);
			i++;
			break;
		}
		case F_A: case F_AAAA: {
			char b[64];
			uint8_t a[16];
			if (t->len >= sizeof(b)) {
				rc = DDNS_EMALFORMED;
				goto out;
			}
			memcpy(b, t->s, t->len);
			b[t->len] = 0;
			if (inet_pton(f == F_A ? AF_INET : AF_INET6, b, a) != 1) {
				rc = DDNS_EMALFORMED;
				goto out;
			}
			ddns_wbuf_put(out, a, f == F_A ? 4 : 16);
			i++;
			break;
		}
		case F_NAME: {
			struct dns_name n;
			if ((rc = dns_name_from_text(&n, t->s, t->len, origin)))
				goto out;
			ddns_wbuf_put(out, n.data, n.len);
			i++;
			break;
		}
		case F_STR: {
			uint8_t b[256];
			int l = unescape(t, b + 1, 255);
			if (l < 0 || (d->type == DNS_T_CAA && l == 0)) {
				rc = DDNS_EMALFORMED;
				goto out;
			}
			b[0] = (uint8_t)l;
			ddns_wbuf_put(out, b, (size_t)l + 1);
			i++;
			break;
		}
		case F_CAA_VAL: {
			uint8_t *b = malloc(65536);
			if (!b) {
				rc = -ENOMEM;
				goto out;
			}
			int l = unescape(t, b, 65535);
			if (l >= 0)
				ddns_wbuf_put(out, b, (size_t)l);
			free(b);
			if (l < 0) {
				rc = DDNS_EMALFORMED;
				goto out;
			}
			i++;
			break;
		}
		case F_TXT:
			if (i >= ntok) {
				rc = DDNS_EMALFORMED;
				goto out;
			}
			for (; i < ntok; i++) {
				uint8_t b[256];
				int l = unescape(&tok[i], b + 1, 255);
				if (l < 0) {
					rc = DDNS_EMALFORMED;
					goto out;
				}
				b[0] = (uint8_t)l;
				ddns_wbuf_put(out, b, (size_t)l + 1);
			}
			break;
		case F_B64: case F_HEX: {
			/* Concatenate the remaining tokens (BIND splits keys). */
			for (; i < ntok; i++) {
				rc = f == F_B64 ? dns_base64_decode(tok[i].s, tok[i].len, out)
						: dns_hex_decode(tok[i].s, tok[i].len, out);
				if (rc)
					goto out;
			}
			break;
		}
		case F_BITMAP: {
			size_t nt = ntok - i;
			uint16_t *tl = malloc((nt ? nt : 1) * sizeof(*tl));
			if (!tl) {
				rc = -ENOMEM;
				goto out;
			}
			for (size_t k2 = 0; k2 < nt; k2++, i++)
				if (dns_type_from_text(tok[i].s, tok[i].len, &tl[k2])) {
					free(tl);
					rc = DDNS_EMALFORMED;
					goto out;
				}
			rc = dns_typebitmap_encode(tl, nt, out);
			free(tl);
			if (rc)
				goto out;
			break;
		}
		case F_END:
			break;
		}
	}
	if (i != ntok) {
		rc = DDNS_EMALFORMED; /* extra tokens */
		goto out;
	}
out:
	if (rc == 0 && out->err)
		rc = -ENOMEM;
	if (rc == 0 && out->len - before > 65535)
		rc = DDNS_ETOOBIG;
	/* Whatever the input form, the result must be valid for the type
	 * (RFC 3597 input of a known type, CAA tag characters, ...). */
	if (rc == 0 && d &&
	    dns_rdata_check(type, out->p ? out->p + before : NULL, out->len - before))
		rc = DDNS_EMALFORMED;
	if (rc != 0 && !out->err)
		out->len = before;
	return rc;
}

/* Split one line into tokens: whitespace-separated, "quoted strings",
 * backslash escapes kept raw. */
static int tokenize_line(const char *s, struct dns_token **toks, size_t *n)
{
	size_t cap = 16, k = 0;
	struct dns_token *t = malloc(cap * sizeof(*t));
	if (!t)
		return -ENOMEM;
	size_t i = 0, len = strlen(s);
	while (i < len) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++;
			continue;
		}
		if (k == cap) {
			struct dns_token *nt = realloc(t, 2 * cap * sizeof(*t));
			if (!nt) {
				free(t);
				return -ENOMEM;
			}
			t = nt;
			cap *= 2;
		}
		bool q = s[i] == '"';
		size_t st = q ? i + 1 : i, j = st;
		while (j < len) {
			if (s[j] == '\\' && j + 1 < len) {
				j += 2;
				continue;
			}
			if (q ? s[j] == '"' : (s[j] == ' ' || s[j] == '\t' ||
					       s[j] == '\n' || s[j] == '\r'))
				break;
			j++;
		}
		if (q && j >= len) {
			free(t);
			return DDNS_EMALFORMED;
		}
		t[k].s = s + st;
		t[k].len = j - st;
		t[k].quoted = q;
		k++;
		i = q ? j + 1 : j;
	}
	*toks = t;
	*n = k;
	return 0;
}

int dns_rdata_from_str(uint16_t type, const char *text,
		       const struct dns_name *origin, struct ddns_wbuf *out)
{
	struct dns_token *t = NULL;
	size_t n = 0;
	int rc = tokenize_line(text, &t, &n);
	if (rc)
		return rc;
	rc = dns_rdata_from_tokens(type, t, n, origin, out);
	free(t);
	return rc;
}
