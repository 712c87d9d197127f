/*
 * zonefile.c - master-file parser and printer (RFC 1035 §5.1, RFC 2308 §4
 * for $TTL).
 *
 * Each input (the top file, each $INCLUDE) is read whole into memory and
 * becomes a frame on a stack; the lexer cuts one logical entry at a time
 * (a line, or several joined by parentheses) into struct dns_token that
 * point into the frame's buffer, so the buffer outlives the tokens.
 */
#include "dns/zonefile.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dns/rdata.h"

struct zframe {
	char *buf;
	size_t len, pos;
	char *name;              /* file name for errors and relative includes */
	unsigned line;
	struct dns_name origin;  /* $ORIGIN is scoped to its file (RFC 1035 §5.1) */
	bool has_origin;
};

struct dns_zparser {
	struct zframe stack[DNS_ZONE_INCLUDE_MAX + 1];
	int depth;                 /* index of the current frame, -1 when done */
	struct dns_name last_owner;
	bool has_owner;
	uint32_t dollar_ttl, last_ttl, default_ttl;
	bool has_dollar_ttl, has_last_ttl;
	uint16_t last_class;
	struct dns_token *tok;
	size_t ntok, tokcap;
	struct ddns_wbuf rd;
	int err;
	char errmsg[DNS_ZONE_ERR_MAX];
};

static int perr(struct dns_zparser *p, int code, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int perr(struct dns_zparser *p, int code, unsigned line, const char *fmt, ...)
{
	const char *file = p->depth >= 0 ? p->stack[p->depth].name : "?";
	int n = snprintf(p->errmsg, sizeof(p->errmsg), "%s:%u: ", file, line);
	if (n < 0 || (size_t)n >= sizeof(p->errmsg))
		n = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->errmsg + n, sizeof(p->errmsg) - (size_t)n, fmt, ap);
	va_end(ap);
	p->err = code;
	return code;
}

static int read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	size_t cap = 65536, n = 0;
	char *b = malloc(cap);
	int rc = 0;
	if (!b) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		if (n == cap) {
			/* XXX: a fixed bound (1 GiB) keeps "$INCLUDE /dev/zero"
			 * from eating all memory; real zones are far smaller. */
			if (cap >= ((size_t)1 << 30)) {
				rc = -EFBIG;
				goto out;
			}
			char *nb = realloc(b, cap * 2);
			if (!nb) {
				rc = -ENOMEM;
				goto out;
			}
			b = nb;
			cap *= 2;
		}
		size_t r = fread(b + n, 1, cap - n, f);
		n += r;
		if (r == 0) {
			if (ferror(f))
				rc = -EIO;
			break;
		}
	}
out:
	fclose(f);
	if (rc) {
		free(b);
		return rc;
	}
	*buf = b;
	*len = n;
	return 0;
}

static struct dns_zparser *parser_alloc(const struct dns_name *origin,
					uint32_t default_ttl)
{
	struct dns_zparser *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->depth = 0;
	p->default_ttl = default_ttl;
	p->last_class = DNS_C_IN;
	ddns_wbuf_init(&p->rd, 65535);
	if (origin) {
		dns_name_copy(&p->stack[0].origin, origin);
		p->stack[0].has_origin = true;
	}
	p->stack[0].line = 1;
	return p;
}

struct dns_zparser *dns_zparser_new_file(const char *path,
					 const struct dns_name *origin,
					 uint32_t default_ttl)
{
	struct dns_zparser *p = parser_alloc(origin, default_ttl);
	if (!p)
		return NULL;
	int rc = read_file(path, &p->stack[0].buf, &p->stack[0].len);
	p->stack[0].name = strdup(path);
	if (rc || !p->stack[0].name) {
		dns_zparser_free(p);
		errno = rc ? -rc : ENOMEM;
		return NULL;
	}
	return p;
}

struct dns_zparser *dns_zparser_new_string(const char *text, size_t len,
					   const char *name,
					   const struct dns_name *origin,
					   uint32_t default_ttl)
{
	struct dns_zparser *p = parser_alloc(origin, default_ttl);
	if (!p)
		return NULL;
	p->stack[0].buf = malloc(len ? len : 1);
	p->stack[0].name = strdup(name ? name : "<string>");
	if (!p->stack[0].buf || !p->stack[0].name) {
		dns_zparser_free(p);
		return NULL;
	}
	if (len)
		memcpy(p->stack[0].buf, text, len);
	p->stack[0].len = len;
	return p;
}

void dns_zparser_free(struct dns_zparser *p)
{
	if (!p)
		return;
	for (int i = 0; i <= DNS_ZONE_INCLUDE_MAX; i++) {
		free(p->stack[i].buf);
		free(p->stack[i].name);
	}
	free(p->tok);
	ddns_wbuf_free(&p->rd);
	free(p);
}

const char *dns_zparser_error(const struct dns_zparser *p)
{
	return p->errmsg;
}

const struct dns_name *dns_zparser_origin(const struct dns_zparser *p)
{
	int d = p->depth >= 0 ? p->depth : 0;
	return p->stack[d].has_origin ? &p->stack[d].origin : NULL;
}

static int push_tok(struct dns_zparser *p, const char *s, size_t len, bool q)
{
	if (p->ntok == p->tokcap) {
		size_t cap = p->tokcap ? 2 * p->tokcap : 32;
		struct dns_token *nt = realloc(p->tok, cap * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		p->tok = nt;
		p->tokcap = cap;
	}
	p->tok[p->ntok].s = s;
	p->tok[p->ntok].len = len;
	p->tok[p->ntok].quoted = q;
	p->ntok++;
	return 0;
}

/*
 * Cut the next non-empty entry of frame f into p->tok. *leading_ws tells
 * whether it began with blank space (owner omitted); *line is where it
 * began. Returns 1 (entry), 0 (end of this frame), or an error.
 */
static int next_entry(struct dns_zparser *p, struct zframe *f, bool *leading_ws,
		      unsigned *line)
{
	int paren = 0;
	unsigned paren_line = 0;
	p->ntok = 0;
	bool at_bol = true;

	for (;;) {
		if (at_bol) {
			*line = f->line;
			*leading_ws = f->pos < f->len &&
				      (f->buf[f->pos] == ' ' || f->buf[f->pos] == '\t');
			at_bol = false;
		}
		if (f->pos >= f->len) {
			if (paren)
				return perr(p, DDNS_EMALFORMED, paren_line,
					    "expected ')' before end of file");
			return p->ntok ? 1 : 0;
		}
		char c = f->buf[f->pos];
		if (c == '\n') {
			f->pos++;
			f->line++;
			if (paren)
				continue;
			if (p->ntok)
				return 1;
			at_bol = true; /* blank or comment-only line */
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			f->pos++;
			continue;
		}
		if (c == ';') {
			while (f->pos < f->len && f->buf[f->pos] != '\n')
				f->pos++;
			continue;
		}
		if (c == '(') {
			if (paren++ == 0)
				paren_line = f->line;
			f->pos++;
			continue;
		}
		if (c == ')') {
			if (!paren)
				return perr(p, DDNS_EMALFORMED, f->line,
					    "unexpected ')' without '('");
			paren--;
			f->pos++;
			continue;
		}
		int rc;
		if (c == '"') {
			size_t st = ++f->pos;
			unsigned l0 = f->line;
			while (f->pos < f->len && f->buf[f->pos] != '"') {
				if (f->buf[f->pos] == '\\' && f->pos + 1 < f->len) {
					if (f->buf[f->pos + 1] == '\n')
						f->line++;
					f->pos += 2;
					continue;
				}
				if (f->buf[f->pos] == '\n')
					f->line++;
				f->pos++;
			}
			if (f->pos >= f->len)
				return perr(p, DDNS_EMALFORMED, l0,
					    "expected closing '\"' of a quoted string");
			rc = push_tok(p, f->buf + st, f->pos - st, true);
			f->pos++;
		} else {
			size_t st = f->pos;
			while (f->pos < f->len) {
				char d = f->buf[f->pos];
				if (d == '\\' && f->pos + 1 < f->len) {
					f->pos += 2;
					continue;
				}
				if (d == ' ' || d == '\t' || d == '\r' || d == '\n' ||
				    d == ';' || d == '(' || d == ')' || d == '"')
					break;
				f->pos++;
			}
			rc = push_tok(p, f->buf + st, f->pos - st, false);
		}
		if (rc)
			return perr(p, rc, f->line, "out of memory");
	}
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Show a token in an error message (bounded). */
#define TOKFMT "'%.*s'"
#define TOKARG(t) (int)((t)->len > 64 ? 64 : (t)->len), (t)->s

static int do_include(struct dns_zparser *p, struct zframe *f, unsigned line)
{
	if (p->ntok < 2 || p->ntok > 3)
		return perr(p, DDNS_EMALFORMED, line,
			    "expected '$INCLUDE file [origin]'");
	if (p->depth >= DNS_ZONE_INCLUDE_MAX)
		return perr(p, DDNS_ETOOBIG, line,
			    "$INCLUDE nested deeper than %d", DNS_ZONE_INCLUDE_MAX);
	struct dns_name org;
	bool has_org = f->has_origin;
	if (has_org)
		dns_name_copy(&org, &f->origin);
	if (p->ntok == 3) {
		if (dns_name_from_text(&org, p->tok[2].s, p->tok[2].len,
				       f->has_origin ? &f->origin : NULL))
			return perr(p, DDNS_EMALFORMED, line,
				    "expected an origin name, got " TOKFMT,
				    TOKARG(&p->tok[2]));
		has_org = true;
	}
	/* Path relative to the including file's directory. */
	char *path;
	const struct dns_token *t = &p->tok[1];
	const char *slash = strrchr(f->name, '/');
	size_t dirlen = (t->len && t->s[0] == '/') || !slash
				? 0 : (size_t)(slash - f->name) + 1;
	path = malloc(dirlen + t->len + 1);
	if (!path)
		return perr(p, -ENOMEM, line, "out of memory");
	memcpy(path, f->name, dirlen);
	memcpy(path + dirlen, t->s, t->len);
	path[dirlen + t->len] = 0;

	struct zframe *nf = &p->stack[p->depth + 1];
	free(nf->buf);
	free(nf->name);
	memset(nf, 0, sizeof(*nf));
	int rc = read_file(path, &nf->buf, &nf->len);
	if (rc) {
		perr(p, rc, line, "cannot read $INCLUDE file %s: %s", path,
		     strerror(-rc));
		free(path);
		return rc;
	}
	nf->name = path;
	nf->line = 1;
	nf->has_origin = has_org;
	if (has_org)
		dns_name_copy(&nf->origin, &org);
	p->depth++;
	return 0;
}

static bool ieq_tok(const struct dns_token *t, const char *word)
{
	size_t n = strlen(word);
	if (t->quoted || t->len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t->s[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 32);
		if (c != word[i])
			return false;
	}
	return true;
}

static int do_directive(struct dns_zparser *p, struct zframe *f, unsigned line)
{
	const struct dns_token *t = &p->tok[0];
	if (ieq_tok(t, "$ORIGIN")) {
		if (p->ntok != 2 ||
		    dns_name_from_text(&f->origin, p->tok[1].s, p->tok[1].len,
				       f->has_origin ? &f->origin : NULL))
			return perr(p, DDNS_EMALFORMED, line,
				    "expected '$ORIGIN name' with an absolute name");
		f->has_origin = true;
		return 0;
	}
	if (ieq_tok(t, "$TTL")) {
		if (p->ntok != 2 ||
		    dns_ttl_from_text(p->tok[1].s, p->tok[1].len, &p->dollar_ttl))
			return perr(p, DDNS_EMALFORMED, line,
				    "expected '$TTL ttl' (seconds or units like 1h30m)");
		p->has_dollar_ttl = true;
		return 0;
	}
	if (ieq_tok(t, "$INCLUDE"))
		return do_include(p, f, line);
	return perr(p, DDNS_EMALFORMED, line,
		    "expected $ORIGIN, $TTL or $INCLUDE, got " TOKFMT, TOKARG(t));
}

static int do_record(struct dns_zparser *p, struct zframe *f, bool leading_ws,
		     unsigned line, struct dns_rr *rr)
{
	size_t i = 0;
	const struct dns_name *origin = f->has_origin ? &f->origin : NULL;
	if (!leading_ws) {
		const struct dns_token *t = &p->tok[0];
		if (dns_name_from_text(&p->last_owner, t->s, t->len, origin)) {
			p->has_owner = false;
			return perr(p, DDNS_EMALFORMED, line,
				    "expected an owner name, got " TOKFMT "%s", TOKARG(t),
				    origin ? "" : " (relative name and no $ORIGIN)");
		}
		p->has_owner = true;
		i = 1;
	} else if (!p->has_owner) {
		return perr(p, DDNS_EMALFORMED, line,
			    "expected an owner name (no previous owner to repeat)");
	}
	bool has_ttl = false, has_class = false;
	uint32_t ttl = 0;
	uint16_t rclass = p->last_class;
	for (int k = 0; k < 2 && i < p->ntok; k++) {
		const struct dns_token *t = &p->tok[i];
		if (!has_ttl && !t->quoted && t->len && is_digit(t->s[0])) {
			if (dns_ttl_from_text(t->s, t->len, &ttl))
				return perr(p, DDNS_EMALFORMED, line,
					    "expected a TTL, got " TOKFMT, TOKARG(t));
			has_ttl = true;
			i++;
		} else if (!has_class && !t->quoted &&
			   dns_class_from_text(t->s, t->len, &rclass) == 0) {
			has_class = true;
			i++;
		} else {
			break;
		}
	}
	if (i >= p->ntok)
		return perr(p, DDNS_EMALFORMED, line, "expected a type after %s",
			    i ? "the owner, TTL and class" : "the owner");
	uint16_t type;
	const struct dns_token *tt = &p->tok[i];
	if (tt->quoted || dns_type_from_text(tt->s, tt->len, &type))
		return perr(p, DDNS_EMALFORMED, line,
			    "expected a TTL, class or type, got " TOKFMT, TOKARG(tt));
	if (type == DNS_T_OPT || type == DNS_T_ANY || type == 251 || type == 252)
		return perr(p, DDNS_EMALFORMED, line,
			    "type " TOKFMT " is not allowed in a zone file", TOKARG(tt));
	i++;
	p->rd.len = 0;
	p->rd.err = false;
	int rc = dns_rdata_from_tokens(type, p->tok + i, p->ntok - i, origin, &p->rd);
	if (rc) {
		char tb[DNS_MNEMONIC_MAX];
		return perr(p, rc == -ENOMEM ? -ENOMEM : rc, line,
			    "expected valid %s RDATA%s", dns_type_to_str(type, tb),
			    rc == DDNS_ETOOBIG ? " (longer than 65535 octets)" : "");
	}
	if (!has_ttl) {
		if (p->has_dollar_ttl)
			ttl = p->dollar_ttl;
		else if (p->has_last_ttl)
			ttl = p->last_ttl;
		else
			ttl = p->default_ttl;
	} else {
		p->last_ttl = ttl;
		p->has_last_ttl = true;
	}
	p->last_class = rclass;
	dns_name_copy(&rr->owner, &p->last_owner);
	rr->type = type;
	rr->rclass = rclass;
	rr->ttl = ttl;
	rr->rdlen = (uint16_t)p->rd.len;
	rr->rdata = p->rd.p;
	return 1;
}

int dns_zparser_next(struct dns_zparser *p, struct dns_rr *rr)
{
	if (p->err)
		return p->err;
	while (p->depth >= 0) {
		struct zframe *f = &p->stack[p->depth];
		bool lws;
		unsigned line;
		int rc = next_entry(p, f, &lws, &line);
		if (rc < 0)
			return rc;
		if (rc == 0) {
			/* End of this file: back to the includer. */
			if (p->depth == 0) {
				p->depth = -1;
				break;
			}
			p->depth--;
			continue;
		}
		if (!lws && p->tok[0].len && p->tok[0].s[0] == '$' && !p->tok[0].quoted) {
			if ((rc = do_directive(p, f, line)))
				return rc;
			continue;
		}
		return do_record(p, f, lws, line, rr);
	}
	return 0;
}

static int load(struct dns_zparser *p, struct dns_rrlist *out, char *err,
		size_t errlen)
{
	struct dns_rr rr;
	int rc;
	while ((rc = dns_zparser_next(p, &rr)) == 1) {
		if ((rc = dns_rrlist_add(out, &rr))) {
			perr(p, rc, 0, "out of memory");
			break;
		}
	}
	if (rc && err && errlen)
		snprintf(err, errlen, "%s", p->errmsg);
	return rc;
}

int dns_zone_load_file(const char *path, const struct dns_name *origin,
		       uint32_t default_ttl, struct dns_rrlist *out, char *err,
		       size_t errlen)
{
	struct dns_zparser *p = dns_zparser_new_file(path, origin, default_ttl);
	if (!p) {
		int rc = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc ? rc : -ENOMEM;
	}
	int rc = load(p, out, err, errlen);
	dns_zparser_free(p);
	return rc;
}

int dns_zone_load_string(const char *text, const struct dns_name *origin,
			 uint32_t default_ttl, struct dns_rrlist *out, char *err,
			 size_t errlen)
{
	struct dns_zparser *p =
		dns_zparser_new_string(text, strlen(text), NULL, origin, default_ttl);
	if (!p)
		return -ENOMEM;
	int rc = load(p, out, err, errlen);
	dns_zparser_free(p);
	return rc;
}

int dns_rr_from_str(const char *text, const struct dns_name *origin,
		    uint32_t default_ttl, struct dns_rrlist *out)
{
	struct dns_zparser *p =
		dns_zparser_new_string(text, strlen(text), NULL, origin, default_ttl);
	struct dns_rr rr;
	int rc;
	if (!p)
		return -ENOMEM;
	bool lws;
	unsigned line;
	rc = next_entry(p, &p->stack[0], &lws, &line);
	if (rc == 1) {
		if (p->tok[0].s[0] == '$') {
			rc = DDNS_EMALFORMED;
		} else {
			rc = do_record(p, &p->stack[0], lws, line, &rr);
			if (rc == 1)
				rc = dns_rrlist_add(out, &rr);
		}
	} else if (rc == 0) {
		rc = DDNS_EMALFORMED;
	}
	/* Exactly one record. */
	if (rc == 0 && next_entry(p, &p->stack[0], &lws, &line) != 0) {
		free(out->rr[out->n - 1].rdata);
		out->n--;
		rc = DDNS_EMALFORMED;
	}
	dns_zparser_free(p);
	return rc;
}

/* ---- printer ----------------------------------------------------------- */

int dns_rr_to_text(const struct dns_rr *rr, struct ddns_wbuf *w)
{
	char b[32], tb[DNS_MNEMONIC_MAX], cb[DNS_MNEMONIC_MAX];
	size_t start = w->len;
	if (dns_name_to_text(&rr->owner, w))
		return -ENOMEM;
	snprintf(b, sizeof(b), "\t%lu\t", (unsigned long)rr->ttl);
	ddns_wbuf_put(w, b, strlen(b));
	const char *c = dns_class_to_str(rr->rclass, cb);
	ddns_wbuf_put(w, c, strlen(c));
	ddns_wbuf_u8(w, '\t');
	const char *t = dns_type_to_str(rr->type, tb);
	ddns_wbuf_put(w, t, strlen(t));
	ddns_wbuf_u8(w, '\t');
	int rc = dns_rdata_to_text(rr->type, rr->rdata, rr->rdlen, w);
	if (rc) {
		if (!w->err)
			w->len = start;
		return rc;
	}
	return w->err ? -ENOMEM : 0;
}

char *dns_rr_to_str(const struct dns_rr *rr)
{
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	if (dns_rr_to_text(rr, &w) || !ddns_wbuf_u8(&w, 0)) {
		ddns_wbuf_free(&w);
		return NULL;
	}
	return (char *)w.p; /* heap-backed: the caller frees */
}

int dns_rr_print(FILE *f, const struct dns_rr *rr)
{
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	int rc = dns_rr_to_text(rr, &w);
	if (rc == 0 && (!ddns_wbuf_u8(&w, '\n')))
		rc = -ENOMEM;
	if (rc == 0 && fwrite(w.p, 1, w.len, f) != w.len)
		rc = -EIO;
	ddns_wbuf_free(&w);
	return rc;
}

int dns_zone_print(FILE *f, const struct dns_rrlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		int rc = dns_rr_print(f, &l->rr[i]);
		if (rc)
			return rc;
	}
	return 0;
}
