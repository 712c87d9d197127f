/*
 * zonefile.h - master (zone) files, RFC 1035 §5 as BIND, NSD and Knot read
 * them: parser and printer.
 *
 * Parser: $ORIGIN, $TTL, $INCLUDE (path relative to the including file,
 * nesting bounded by DNS_ZONE_INCLUDE_MAX), relative names and "@", omitted
 * owner (previous owner), omitted TTL ($TTL, else the previous TTL, else the
 * caller's default) and class (previous class, else IN), TTL units
 * ("1h2m"), parentheses across lines, ";" comments, quoted strings with
 * escapes, and the presentation formats of dns/rdata.h. Records come out one
 * at a time (streaming) or all into a struct dns_rrlist. Errors are
 * "file:line: message" strings naming what was expected.
 *
 * Printer: one RR per line, absolute owner, TTL, class, type, RDATA, fields
 * separated by tabs, so that parse -> print -> parse is the identity.
 *
 * Grouping records into RRsets and the RFC 4034 §6 canonical ordering live
 * in dns/rr.h (dns_rrlist_sort_canonical, dns_rrset_end). Depends on
 * dns/rdata.h, dns/name.h, common/.
 */
#ifndef DDNS_DNS_ZONEFILE_H
#define DDNS_DNS_ZONEFILE_H

#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/err.h"
#include "dns/name.h"
#include "dns/rr.h"

#define DNS_ZONE_INCLUDE_MAX 8 /* nesting depth of $INCLUDE */
#define DNS_ZONE_ERR_MAX 512   /* size of the error message buffer */

/* Streaming parser over one file (and its includes) or a string. Opaque. */
struct dns_zparser;

/*
 * Open path for parsing. origin: initial $ORIGIN (NULL: none until a
 * $ORIGIN line; relative names before that are errors). default_ttl: used
 * when neither $TTL nor an earlier TTL applies.
 * Returns the parser or NULL (-ENOMEM, or the file cannot be opened: errno
 * is set). Free with dns_zparser_free().
 */
struct dns_zparser *dns_zparser_new_file(const char *path,
					 const struct dns_name *origin,
					 uint32_t default_ttl);

/*
 * Parse text[0..len) (copied). name is used in error messages ("<string>"
 * if NULL); $INCLUDE paths are relative to the current directory.
 * Returns the parser or NULL (out of memory).
 */
struct dns_zparser *dns_zparser_new_string(const char *text, size_t len,
					   const char *name,
					   const struct dns_name *origin,
					   uint32_t default_ttl);

void dns_zparser_free(struct dns_zparser *p);

/*
 * Next record. On 1, *rr is filled; rr->rdata is borrowed from the parser
 * and valid until the next call or dns_zparser_free (copy it, e.g. with
 * dns_rrlist_add, to keep it).
 * Returns 1 (record); 0 (end of input); DDNS_EMALFORMED (syntax error: see
 * dns_zparser_error); DDNS_ETOOBIG (RDATA too long, $INCLUDE too deep);
 * -ENOENT and other -errno ($INCLUDE file cannot be read); -ENOMEM.
 * After an error the parser stays in error.
 */
int dns_zparser_next(struct dns_zparser *p, struct dns_rr *rr) DDNS_WUR;

/* The last error as "file:line: message", or "" if none. Borrowed. */
const char *dns_zparser_error(const struct dns_zparser *p);

/* The current $ORIGIN (NULL if none yet). Borrowed. */
const struct dns_name *dns_zparser_origin(const struct dns_zparser *p);

/*
 * Whole-file convenience: append every record of path to out.
 * err (may be NULL) receives the error message (errlen bytes).
 * Returns 0 or the dns_zparser_next() error; -errno if path cannot be
 * opened. On error out keeps the records read so far.
 */
int dns_zone_load_file(const char *path, const struct dns_name *origin,
		       uint32_t default_ttl, struct dns_rrlist *out, char *err,
		       size_t errlen) DDNS_WUR;

/* Same for a NUL-terminated string. */
int dns_zone_load_string(const char *text, const struct dns_name *origin,
			 uint32_t default_ttl, struct dns_rrlist *out, char *err,
			 size_t errlen) DDNS_WUR;

/*
 * Append one RR in master-file form to w, without a newline:
 * "owner.\tTTL\tCLASS\tTYPE\tRDATA". Returns 0; DDNS_EMALFORMED (rdata
 * invalid for its type); -ENOMEM.
 */
int dns_rr_to_text(const struct dns_rr *rr, struct ddns_wbuf *w) DDNS_WUR;

/* Same as a malloc'd NUL-terminated string (caller frees), NULL on error. */
char *dns_rr_to_str(const struct dns_rr *rr);

/* Print one RR and a newline to f. Returns 0, DDNS_EMALFORMED or -EIO. */
int dns_rr_print(FILE *f, const struct dns_rr *rr) DDNS_WUR;

/* Print every record of l, one per line. Returns 0 or the first error. */
int dns_zone_print(FILE *f, const struct dns_rrlist *l) DDNS_WUR;

/*
 * Parse a single RR in master-file form (one logical record; parentheses
 * allowed; no $-directives), e.g. "example. 3600 IN A 192.0.2.1", and add
 * it to out. Relative names use origin. Returns 0 or DDNS_EMALFORMED...
 */
int dns_rr_from_str(const char *text, const struct dns_name *origin,
		    uint32_t default_ttl, struct dns_rrlist *out) DDNS_WUR;

#endif
