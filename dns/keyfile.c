/*
 * keyfile.c - BIND key files (K<name>+<alg>+<tag>.key / .private).
 */
#include "dns/keyfile.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <mbedtls/base64.h>

#include "dns/name.h"
#include "dns/rdata.h"
#include "dns/zonefile.h"

#define KEYFILE_MAX (64 * 1024) /* no sane key file is larger */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Read a whole small file into a NUL-terminated malloc'd string. */
static int slurp(const char *path, char **out)
{
	*out = NULL;
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	char *buf = malloc(KEYFILE_MAX + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	size_t n = fread(buf, 1, KEYFILE_MAX + 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad || n > KEYFILE_MAX) {
		free(buf);
		return bad ? -EIO : DDNS_ETOOBIG;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

/* Strip a ".key"/".private" suffix: base receives the common stem. */
static int stem(const char *path, char *base, size_t size)
{
	size_t n = strlen(path);
	if (n >= 4 && strcmp(path + n - 4, ".key") == 0)
		n -= 4;
	else if (n >= 8 && strcmp(path + n - 8, ".private") == 0)
		n -= 8;
	if (n + 9 > size)
		return DDNS_ETOOBIG;
	memcpy(base, path, n);
	base[n] = '\0';
	return 0;
}

/* Parse the .key text: comments, then one DNSKEY record. */
static int parse_public(const char *file, const char *text,
			struct dnssec_key **out, uint32_t *ttl, char *err,
			size_t errlen)
{
	struct dns_rrlist l;
	dns_rrlist_init(&l);
	char perr[DNS_ZONE_ERR_MAX] = "";
	int rc = dns_zone_load_string(text, NULL, 0, &l, perr, sizeof(perr));
	if (rc) {
		seterr(err, errlen, "%s: %s", file, perr);
		rc = DDNS_EMALFORMED;
		goto out;
	}
	if (l.n != 1 || l.rr[0].type != DNS_T_DNSKEY) {
		seterr(err, errlen, "%s: expected exactly one DNSKEY record",
		       file);
		rc = DDNS_EMALFORMED;
		goto out;
	}
	rc = dnssec_key_from_dnskey(&l.rr[0].owner, l.rr[0].rdata,
				    l.rr[0].rdlen, out);
	if (rc) {
		seterr(err, errlen, "%s: %s", file,
		       rc == DDNS_EUNSUPPORTED ? "unsupported algorithm"
					       : "invalid public key");
		goto out;
	}
	if (ttl)
		*ttl = l.rr[0].ttl;
out:
	dns_rrlist_free(&l);
	return rc;
}

/* Field names of the .private file in BIND's order, per algorithm family. */
static const char *const rsa_fields[] = {
	"Modulus",  "PublicExponent", "PrivateExponent", "Prime1",
	"Prime2",   "Exponent1",      "Exponent2",       "Coefficient"};
static const char *const ec_fields[] = {"PrivateKey"};

static int parse_private(const char *file, char *text, struct dnssec_key *k,
			 char *err, size_t errlen)
{
	bool rsa = dnssec_key_alg(k) != DNSSEC_ALG_ECDSAP256SHA256;
	const char *const *names = rsa ? rsa_fields : ec_fields;
	size_t nf = rsa ? 8 : 1;
	struct dnssec_bin f[8] = {{0}};
	bool seen_fmt = false, seen_alg = false;
	int rc = DDNS_EMALFORMED;
	unsigned lineno = 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		size_t ll = strlen(line);
		while (ll && (line[ll - 1] == '\r' || line[ll - 1] == ' ' ||
			      line[ll - 1] == '\t'))
			line[--ll] = '\0';
		if (ll == 0)
			continue;
		char *colon = strchr(line, ':');
		if (!colon) {
			seterr(err, errlen, "%s: line %u: expected 'Field: value'",
			       file, lineno);
			goto out;
		}
		*colon = '\0';
		char *val = colon + 1;
		while (*val == ' ' || *val == '\t')
			val++;
		if (strcmp(line, "Private-key-format") == 0) {
			if (strncmp(val, "v1.", 3) != 0) {
				seterr(err, errlen,
				       "%s: unsupported Private-key-format '%s'",
				       file, val);
				rc = DDNS_EUNSUPPORTED;
				goto out;
			}
			seen_fmt = true;
			continue;
		}
		if (strcmp(line, "Algorithm") == 0) {
			if (atoi(val) != dnssec_key_alg(k)) {
				seterr(err, errlen,
				       "%s: algorithm %d does not match the .key file's %u",
				       file, atoi(val), dnssec_key_alg(k));
				goto out;
			}
			seen_alg = true;
			continue;
		}
		for (size_t i = 0; i < nf; i++) {
			if (strcmp(line, names[i]) != 0)
				continue;
			size_t vl = strlen(val), olen = 0;
			uint8_t *p = malloc(vl ? vl : 1);
			if (!p) {
				rc = -ENOMEM;
				goto out;
			}
			if (f[i].p || mbedtls_base64_decode(p, vl, &olen,
							    (const unsigned char *)val,
							    vl) ||
			    olen == 0) {
				free(p);
				seterr(err, errlen, "%s: line %u: bad or repeated %s",
				       file, lineno, names[i]);
				goto out;
			}
			f[i].p = p;
			f[i].len = olen;
		}
	}
	if (!seen_fmt || !seen_alg) {
		seterr(err, errlen, "%s: missing %s line", file,
		       seen_fmt ? "Algorithm" : "Private-key-format");
		goto out;
	}
	size_t need = rsa ? 5 : 1;
	for (size_t i = 0; i < need; i++) {
		if (!f[i].p) {
			seterr(err, errlen, "%s: missing %s", file, names[i]);
			goto out;
		}
	}
	rc = dnssec_key_set_private(k, f, need);
	if (rc)
		seterr(err, errlen,
		       "%s: private key is invalid or does not match the public key",
		       file);
out:
	dnssec_bin_free(f, 8);
	return rc;
}

int dnssec_keyfile_read(const char *path, bool want_private,
			struct dnssec_key **out, uint32_t *ttl, char *err,
			size_t errlen)
{
	char base[DNSSEC_KEYFILE_PATH_MAX], file[DNSSEC_KEYFILE_PATH_MAX + 16];
	char *text = NULL;
	struct dnssec_key *k = NULL;
	*out = NULL;
	if (ttl)
		*ttl = 0;
	int rc = stem(path, base, sizeof(base));
	if (rc) {
		seterr(err, errlen, "%s: path too long", path);
		return rc;
	}
	snprintf(file, sizeof(file), "%s.key", base);
	rc = slurp(file, &text);
	if (rc) {
		seterr(err, errlen, "%s: %s", file, ddns_strerror(rc));
		goto out;
	}
	rc = parse_public(file, text, &k, ttl, err, errlen);
	if (rc)
		goto out;
	if (want_private) {
		free(text);
		text = NULL;
		snprintf(file, sizeof(file), "%s.private", base);
		rc = slurp(file, &text);
		if (rc) {
			seterr(err, errlen, "%s: %s", file, ddns_strerror(rc));
			goto out;
		}
		rc = parse_private(file, text, k, err, errlen);
		if (rc)
			goto out;
	}
	*out = k;
	k = NULL;
out:
	free(text);
	dnssec_key_free(k);
	return rc;
}

int dnssec_keyfile_basename(const struct dnssec_key *k, char *buf, size_t size)
{
	struct dns_name lc;
	char name[DNS_NAME_STR_MAX];
	dns_name_copy(&lc, dnssec_key_owner(k));
	dns_name_to_lower(&lc);
	if (dns_name_to_str(&lc, name, sizeof(name)) < 0)
		return DDNS_ETOOBIG;
	int n = snprintf(buf, size, "K%s+%03u+%05u", name, dnssec_key_alg(k),
			 dnssec_key_tag(k));
	if (n < 0 || (size_t)n >= size)
		return DDNS_ETOOBIG;
	return n;
}

static const char *alg_name(uint8_t alg)
{
	switch (alg) {
	case 5:
		return "RSASHA1";
	case 7:
		return "NSEC3RSASHA1";
	case 8:
		return "RSASHA256";
	case 10:
		return "RSASHA512";
	case 13:
		return "ECDSAP256SHA256";
	default:
		return "UNKNOWN";
	}
}

/* Create path exclusively with mode and write len bytes of data. */
static int write_new(const char *path, int mode, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0)
		return -errno;
	const char *p = data;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			close(fd);
			unlink(path);
			return e;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd)) {
		int e = -errno;
		unlink(path);
		return e;
	}
	return 0;
}

static bool wb_str(struct ddns_wbuf *w, const char *s)
{
	return ddns_wbuf_put(w, s, strlen(s));
}

int dnssec_keyfile_write(const struct dnssec_key *k, const char *dir,
			 uint32_t created, char *base, size_t baselen)
{
	char name[DNSSEC_KEYFILE_PATH_MAX], path[DNSSEC_KEYFILE_PATH_MAX];
	char owner[DNS_NAME_STR_MAX], ts[15], line[DNS_NAME_STR_MAX + 256];
	struct ddns_wbuf pub, priv;
	struct dnssec_bin f[8] = {{0}};
	int nf = 0;
	ddns_wbuf_init(&pub, 0);
	ddns_wbuf_init(&priv, 0);
	int rc = dnssec_keyfile_basename(k, name, sizeof(name));
	if (rc < 0)
		goto out;
	if (dir && *dir)
		rc = snprintf(path, sizeof(path), "%s/%s", dir, name);
	else
		rc = snprintf(path, sizeof(path), "%s", name);
	if (rc < 0 || (size_t)rc + 9 >= sizeof(path)) {
		rc = DDNS_ETOOBIG;
		goto out;
	}
	size_t plen = (size_t)rc;
	if (dns_name_to_str(dnssec_key_owner(k), owner, sizeof(owner)) < 0) {
		rc = DDNS_ETOOBIG;
		goto out;
	}
	dns_time_to_str(created, ts);
	uint16_t flags = dnssec_key_flags(k);

	/* .key */
	snprintf(line, sizeof(line),
		 "; This is a %s key, keyid %u, for %s\n; Created: %s\n"
		 "; Publish: %s\n; Activate: %s\n",
		 (flags & DNSSEC_FLAG_SEP) ? "key-signing" : "zone-signing",
		 dnssec_key_tag(k), owner, ts, ts, ts);
	wb_str(&pub, line);
	size_t rdlen;
	const uint8_t *rd = dnssec_key_rdata(k, &rdlen);
	if (dns_name_to_text(dnssec_key_owner(k), &pub)) {
		rc = -ENOMEM;
		goto out;
	}
	wb_str(&pub, " IN DNSKEY ");
	rc = dns_rdata_to_text(DNS_T_DNSKEY, rd, rdlen, &pub);
	if (rc)
		goto out;
	wb_str(&pub, "\n");

	/* .private */
	if (dnssec_key_has_private(k)) {
		nf = dnssec_key_get_private(k, f, 8);
		if (nf < 0) {
			rc = nf;
			nf = 0;
			goto out;
		}
		snprintf(line, sizeof(line),
			 "Private-key-format: v1.3\nAlgorithm: %u (%s)\n",
			 dnssec_key_alg(k), alg_name(dnssec_key_alg(k)));
		wb_str(&priv, line);
		const char *const *names = nf == 1 ? ec_fields : rsa_fields;
		for (int i = 0; i < nf; i++) {
			size_t olen = 0;
			size_t cap = 4 * ((f[i].len + 2) / 3) + 1;
			wb_str(&priv, names[i]);
			wb_str(&priv, ": ");
			if (!ddns_wbuf_reserve(&priv, cap) ||
			    mbedtls_base64_encode(priv.p + priv.len, cap, &olen,
						  f[i].p, f[i].len)) {
				rc = -ENOMEM;
				goto out;
			}
			priv.len += olen;
			wb_str(&priv, "\n");
		}
		snprintf(line, sizeof(line),
			 "Created: %s\nPublish: %s\nActivate: %s\n", ts, ts, ts);
		wb_str(&priv, line);
	}
	if (pub.err || priv.err) {
		rc = -ENOMEM;
		goto out;
	}
	if (dnssec_key_has_private(k)) {
		memcpy(path + plen, ".private", 9);
		rc = write_new(path, 0600, priv.p, priv.len);
		if (rc)
			goto out;
	}
	memcpy(path + plen, ".key", 5);
	rc = write_new(path, 0644, pub.p, pub.len);
	if (rc) {
		if (dnssec_key_has_private(k)) {
			memcpy(path + plen, ".private", 9);
			unlink(path);
		}
		goto out;
	}
	path[plen] = '\0';
	if (base && baselen) {
		if (plen >= baselen) {
			rc = DDNS_ETOOBIG;
			goto out;
		}
		memcpy(base, path, plen + 1);
	}
	rc = 0;
out:
	if (priv.p)
		memset(priv.p, 0, priv.cap); /* do not leave key bytes behind */
	ddns_wbuf_free(&pub);
	ddns_wbuf_free(&priv);
	for (int i = 0; i < nf; i++)
		if (f[i].p)
			memset((void *)f[i].p, 0, f[i].len);
	dnssec_bin_free(f, (size_t)(nf > 0 ? nf : 0));
	return rc;
}
