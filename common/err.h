/*
 * err.h - the one error space of DDNS.
 *
 * 0 is success; negative errno values (-ENOMEM, -EINVAL, ...) are used where a
 * system error is the truth; the project's own codes sit below DDNS_ERR_BASE.
 * Every layer returns these; the gateway maps them to DNS rcodes. This module
 * depends on nothing.
 */
#ifndef DDNS_COMMON_ERR_H
#define DDNS_COMMON_ERR_H

#include <errno.h>

#define DDNS_WUR __attribute__((warn_unused_result))

enum ddns_err {
	DDNS_OK = 0,
	DDNS_ERR_BASE = -1000,
	DDNS_EMALFORMED = -1001,  /* input does not parse (wire, file, message) */
	DDNS_ENOTFOUND = -1002,   /* no such key, name, record */
	DDNS_EBOGUS = -1003,      /* signature does not verify */
	DDNS_ESTALE = -1004,      /* older version than the one stored (replay) */
	DDNS_EQUOTA = -1005,      /* zone over its storage quota */
	DDNS_ETIMEDOUT = -1006,   /* RPC or lookup timed out */
	DDNS_ETOOBIG = -1007,     /* value or message larger than allowed */
	DDNS_EEXPIRED = -1008,    /* signature validity window has passed */
	DDNS_ENOTYET = -1009,     /* signature validity window not yet begun */
	DDNS_ENOKEY = -1010,      /* no key with that tag/algorithm */
	DDNS_ENOCHAIN = -1011,    /* chain of trust incomplete or broken */
	DDNS_EBADDS = -1012,      /* DS digest does not match the DNSKEY */
	DDNS_EOUTOFZONE = -1013,  /* name outside the signer's zone */
	DDNS_EUNSUPPORTED = -1014,/* algorithm, type or version not supported */
	DDNS_ESPOOF = -1015,      /* peer id does not match its address */
	DDNS_ECORRUPT = -1016,    /* stored data corrupt or foreign */
	DDNS_ECANCELLED = -1017,  /* operation cancelled (shutdown, leave) */
	DDNS_EREFUSED = -1018,    /* peer refused the request */
	DDNS_ELOOP = -1019,       /* compression or CNAME loop */
	DDNS_ERR_MIN = -1020
};

/* Human-readable text for any code returned by DDNS functions (never NULL). */
const char *ddns_strerror(int err);

#endif
