#include "common/err.h"

#include <string.h>

const char *ddns_strerror(int err)
{
	switch (err) {
	case DDNS_OK: return "success";
	case DDNS_EMALFORMED: return "malformed input";
	case DDNS_ENOTFOUND: return "not found";
	case DDNS_EBOGUS: return "signature does not verify";
	case DDNS_ESTALE: return "older than the stored version (replay)";
	case DDNS_EQUOTA: return "zone over quota";
	case DDNS_ETIMEDOUT: return "timed out";
	case DDNS_ETOOBIG: return "too big";
	case DDNS_EEXPIRED: return "signature expired";
	case DDNS_ENOTYET: return "signature not yet valid";
	case DDNS_ENOKEY: return "no matching key";
	case DDNS_ENOCHAIN: return "chain of trust broken";
	case DDNS_EBADDS: return "DS does not match DNSKEY";
	case DDNS_EOUTOFZONE: return "name outside the signer's zone";
	case DDNS_EUNSUPPORTED: return "unsupported";
	case DDNS_ESPOOF: return "peer id does not match its address";
	case DDNS_ECORRUPT: return "stored data corrupt or foreign";
	case DDNS_ECANCELLED: return "cancelled";
	case DDNS_EREFUSED: return "refused by peer";
	case DDNS_ELOOP: return "loop detected";
	default:
		if (err < 0 && err > DDNS_ERR_BASE)
			return strerror(-err);
		return "unknown error";
	}
}
