/*
 * client.h - the client protocol of a ddnsd node: what `ddns publish`,
 * `ddns lookup` and `ddns status` say to a running node, and the small
 * synchronous client those commands use.
 *
 * Messages travel over the node's RPC endpoint (overlay/rpc.h) as requests
 * to (RPC_OVL_NONE, RPC_SVC_CLIENT, vnode 0), so they get the RPC layer's
 * framing, retransmission, fragmentation (blocks up to 64 KiB) and
 * duplicate suppression for free. Every payload starts with one version byte
 * (CLI_WIRE_VERSION); integers are big-endian; statuses are DDNS error codes
 * as 32-bit two's complement. docs/PROTOCOL.md, "Client messages", fixes the
 * bytes. The encoders and decoders here are shared by the node (cli/node.c)
 * and the client; decoders read through common/buf.h, borrow pointers into
 * the input and return DDNS_EMALFORMED on truncation, trailing bytes or an
 * unknown version.
 *
 * The client side owns a private libevent base, one UDP endpoint bound to
 * the loopback (or any) address of the node's family on an ephemeral port,
 * and an RPC layer on it. It is a cli/ module: it may use every layer.
 */
#ifndef DDNS_CLI_CLIENT_H
#define DDNS_CLI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "dht/dht.h"
#include "overlay/overlay.h"

#define CLI_WIRE_VERSION 1
/* Overlay instances (overlay x vnode) one STATUS reply describes, at most. */
#define CLI_MAX_INST 64
/* Overlays one node runs, at most (chord and kad16). */
#define CLI_MAX_OVL 4
#define CLI_REASON_MAX 200

/* RPC message types within (RPC_OVL_NONE, RPC_SVC_CLIENT). */
enum cli_msg_type {
	CLI_STATUS = 1,   /* empty */
	CLI_STATUS_R = 2, /* node summary, one entry per overlay instance */
	CLI_PUT = 3,      /* overlay mask, block */
	CLI_PUT_R = 4,    /* one result per overlay */
	CLI_GET = 5,      /* overlay, flags, name, type */
	CLI_GET_R = 6     /* status, figures, block */
};

/* CLI_GET flags. */
#define CLI_GET_LOCAL 0x01 /* only look at this node's store and cache: no RPCs */

/* One overlay instance (one vnode of one overlay) of a node. */
struct cli_inst {
	uint8_t overlay;          /* RPC_OVL_CHORD, RPC_OVL_KAD16 */
	uint8_t vnode;
	uint32_t routing_size;    /* distinct nodes in routing state */
	uint32_t neighbours;      /* size of its own replica set (itself included) */
	uint32_t blocks_primary, blocks_replica, blocks_cache;
	uint64_t lookups, lookup_rpcs, lookup_hops;
	uint64_t gets, gets_ok, puts, puts_ok;
	uint64_t forged_served;   /* values altered by --test-forge */
};

/* cli_status.flags */
#define CLI_ST_JOINED 1  /* the node has joined its rings (or founded them) */
#define CLI_ST_FOUNDER 2 /* it founded them: started without --join */

struct cli_status {
	uint32_t flags;           /* CLI_ST_*; from a node that sends none: JOINED */
	uint32_t uptime_s;
	uint16_t dns_port;        /* gateway port, 0 when the gateway is off */
	uint8_t replicas;
	size_t ninst;
	struct cli_inst inst[CLI_MAX_INST];
};

/* The outcome of a put in one overlay. */
struct cli_put_result {
	uint8_t overlay;
	int status;               /* 0 or a DDNS code (dht_put_result.status) */
	unsigned replicas, rpcs, hops;
	char reason[CLI_REASON_MAX + 1];
};

struct cli_get_result {
	int status;               /* 0, DDNS_ENOTFOUND, DDNS_ETIMEDOUT, a validation error */
	uint8_t overlay;          /* overlay that answered */
	unsigned rpcs, hops;
	uint8_t source;           /* enum dht_source */
	struct ovl_node from;     /* node that served the block */
	uint64_t version;
	const uint8_t *block;     /* borrowed from the decoded message (or owned, see below) */
	size_t len;
};

/* --- Codecs (append to w: false and w->err on overflow or ENOMEM) --- */

bool cli_msg_status_r(struct ddns_wbuf *w, const struct cli_status *st);
int cli_msg_status_r_decode(const uint8_t *p, size_t len, struct cli_status *out) DDNS_WUR;

/* mask: bit (1 << overlay wire id) per overlay wanted; 0 for every overlay. */
bool cli_msg_put(struct ddns_wbuf *w, uint8_t mask, const uint8_t *blk, size_t len);
int cli_msg_put_decode(const uint8_t *p, size_t len, uint8_t *mask, const uint8_t **blk,
		       size_t *blen) DDNS_WUR;
bool cli_msg_put_r(struct ddns_wbuf *w, const struct cli_put_result *res, size_t n);
/* Fills at most max results; *n receives how many. */
int cli_msg_put_r_decode(const uint8_t *p, size_t len, struct cli_put_result *out, size_t max,
			 size_t *n) DDNS_WUR;

/* name: uncompressed wire form (len bytes, <= 255). overlay 0: the node's default. */
bool cli_msg_get(struct ddns_wbuf *w, uint8_t overlay, uint8_t flags, const uint8_t *name,
		 size_t name_len, uint16_t type);
int cli_msg_get_decode(const uint8_t *p, size_t len, uint8_t *overlay, uint8_t *flags,
		       const uint8_t **name, size_t *name_len, uint16_t *type) DDNS_WUR;
bool cli_msg_get_r(struct ddns_wbuf *w, const struct cli_get_result *res);
/* out->block points into p. */
int cli_msg_get_r_decode(const uint8_t *p, size_t len, struct cli_get_result *out) DDNS_WUR;

/* --- The client --- */

struct ddns_client;

/* Connect (there is no connection: this binds a local endpoint) to the node
 * at addr ("127.0.0.2:5300", "[::1]:5300"). timeout_ms bounds each request
 * (retransmissions included; 0: 30 s). NULL on error with a one-line message
 * in err (errlen bytes). Free with ddns_client_free. */
struct ddns_client *ddns_client_new(const char *addr, unsigned timeout_ms, char *err,
				    size_t errlen);
void ddns_client_free(struct ddns_client *c);

/* Ask for the node's status. 0, DDNS_ETIMEDOUT (no answer), DDNS_EMALFORMED. */
int ddns_client_status(struct ddns_client *c, struct cli_status *out) DDNS_WUR;

/* Get one RRset's block. On 0 the request was answered: out->status says what
 * the node found; out->block is malloc'd (caller frees with free((void *)
 * out->block)) or NULL when none. Returns DDNS_ETIMEDOUT, DDNS_EMALFORMED,
 * -ENOMEM on transport failures. */
int ddns_client_get(struct ddns_client *c, uint8_t overlay, uint8_t flags,
		    const uint8_t *name, size_t name_len, uint16_t type,
		    struct cli_get_result *out) DDNS_WUR;

/* Asynchronous put: the callback runs from ddns_client_wait (results are
 * borrowed for the call); status is the transport outcome (0, DDNS_ETIMEDOUT,
 * DDNS_EMALFORMED), n the number of per-overlay results. blk is copied.
 * Returns 0, -ENOMEM, DDNS_ETOOBIG. */
typedef void (*ddns_client_put_cb)(void *arg, int status, const struct cli_put_result *res,
				   size_t n);
int ddns_client_put_async(struct ddns_client *c, uint8_t mask, const uint8_t *blk, size_t len,
			  ddns_client_put_cb cb, void *arg) DDNS_WUR;
/* Asynchronous get: the callback runs from ddns_client_wait with the
 * transport status (0, DDNS_ETIMEDOUT, DDNS_EMALFORMED) and, on 0, the
 * node's answer (res->block borrowed for the call). */
typedef void (*ddns_client_get_cb)(void *arg, int status, const struct cli_get_result *res);
int ddns_client_get_async(struct ddns_client *c, uint8_t overlay, uint8_t flags,
			  const uint8_t *name, size_t name_len, uint16_t type,
			  ddns_client_get_cb cb, void *arg) DDNS_WUR;

/* Requests issued and not yet answered. */
size_t ddns_client_pending(const struct ddns_client *c);
/* Run the loop until at most `left` requests are pending. */
void ddns_client_wait(struct ddns_client *c, size_t left);

#endif
