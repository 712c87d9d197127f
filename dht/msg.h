/*
 * msg.h - the DHT's node-to-node messages (docs/PROTOCOL.md, "DHT messages").
 * Internal to dht/.
 *
 * Every payload starts with one version byte (DHT_WIRE_VERSION); integers are
 * big-endian; statuses are the DDNS error codes as 32-bit two's complement.
 * Decoders read through common/buf.h and return DDNS_EMALFORMED on any
 * truncation, trailing garbage or unknown version; they borrow pointers into
 * the input buffer.
 */
#ifndef DDNS_DHT_MSG_H
#define DDNS_DHT_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "dht/dht.h"

#define DHT_WIRE_VERSION 1

/* RPC message types within RPC_SVC_DHT. */
enum dht_msg_type {
	DHT_MSG_PUT = 1,      /* client -> responsible node: key, block */
	DHT_MSG_PUT_R = 2,    /* status, copies stored, reason */
	DHT_MSG_STORE = 3,    /* node -> node: key, kind, block (replica or cache copy) */
	DHT_MSG_STORE_R = 4,  /* status */
	DHT_MSG_FETCH = 5,    /* key */
	DHT_MSG_FETCH_R = 6,  /* status, source, block */
	DHT_MSG_DIGEST = 7,   /* (key, version) list */
	DHT_MSG_DIGEST_R = 8  /* (index, want) list */
};

/* STORE kinds. */
#define DHT_KIND_REPLICA 0
#define DHT_KIND_CACHE 1
/* Source byte of a value (lookup value, FETCH_R). */
#define DHT_VSRC_STORE 1
#define DHT_VSRC_CACHE 2
/* DIGEST_R wants. */
#define DHT_WANT_SEND 1   /* the receiver lacks the block or holds an older version */
#define DHT_WANT_NEWER 2  /* the receiver holds a newer version: fetch it */

/* Entries per DIGEST message. */
#define DHT_DIGEST_MAX 1024
/* A lookup probe: [version][flags]. */
#define DHT_PROBE_LEN 2

struct dht_digest_ent {
	uint8_t key[DHT_KEY_LEN];
	uint64_t version;
};

struct dht_msg {
	uint8_t type;
	uint8_t key[DHT_KEY_LEN];
	int32_t status;
	uint8_t kind;        /* STORE kind, FETCH_R source, PUT_R copies */
	const uint8_t *blk;  /* PUT, STORE, FETCH_R */
	size_t len;
	const char *reason;  /* PUT_R, not NUL-terminated */
	size_t reason_len;
	const uint8_t *ents; /* DIGEST: 28-byte entries; DIGEST_R: 3-byte entries */
	size_t nents;
};

/* Encoders append to w (false on overflow/ENOMEM, w->err set). */
bool dht_msg_put(struct ddns_wbuf *w, const uint8_t key[DHT_KEY_LEN], const uint8_t *blk, size_t len);
bool dht_msg_put_r(struct ddns_wbuf *w, int status, unsigned copies, const char *reason);
bool dht_msg_store(struct ddns_wbuf *w, const uint8_t key[DHT_KEY_LEN], uint8_t kind,
		   const uint8_t *blk, size_t len);
bool dht_msg_status(struct ddns_wbuf *w, int status); /* STORE_R */
bool dht_msg_fetch(struct ddns_wbuf *w, const uint8_t key[DHT_KEY_LEN]);
bool dht_msg_fetch_r(struct ddns_wbuf *w, int status, uint8_t src, const uint8_t *blk, size_t len);
bool dht_msg_digest(struct ddns_wbuf *w, const struct dht_digest_ent *e, size_t n);
/* DIGEST_R entries: idx[i] with want[i]. */
bool dht_msg_digest_r(struct ddns_wbuf *w, const uint16_t *idx, const uint8_t *want, size_t n);

/* Decode a payload of the given RPC type. 0 or DDNS_EMALFORMED. */
int dht_msg_decode(uint8_t type, const uint8_t *p, size_t len, struct dht_msg *out) DDNS_WUR;
/* Entry i of a decoded DIGEST / DIGEST_R. */
void dht_msg_digest_ent(const struct dht_msg *m, size_t i, struct dht_digest_ent *out);
void dht_msg_digest_r_ent(const struct dht_msg *m, size_t i, uint16_t *idx, uint8_t *want);

/* A lookup value: [version][source][block]. 0 or DDNS_EMALFORMED. */
int dht_value_decode(const uint8_t *p, size_t len, uint8_t *src, const uint8_t **blk,
		     size_t *blen) DDNS_WUR;

#endif
