/*
 * rpc.h - request/response messaging over a transport.
 *
 * One struct rpc per transport endpoint. It frames every node-to-node message
 * with a versioned binary header (docs/PROTOCOL.md), matches replies to
 * requests by a 64-bit random transaction id, retransmits with exponential
 * backoff (the only place in the system that retransmits: every overlay
 * takes its transmission, retransmission and timeout counts from here, so
 * they are exact and counted one way), accepts a reply only from the
 * address the request went to, and
 * splits messages larger than one datagram into fragments that it
 * reassembles (values up to 64 KiB travel this way, on udp and sim alike).
 *
 * Several protocol instances share one endpoint: each registers a handler
 * for (overlay id, service, virtual-node index), and every message carries
 * those three. The sender's id is never trusted: the RPC layer recomputes it
 * from the observed source address and the sender's vnode index
 * (ovl_id_of), so rpc_msg.sender_id is always genuine; a header whose
 * claimed id differs is dropped and counted (dropped_spoofed).
 *
 * Lives in overlay/ and reaches time, timers and randomness only through
 * the transport.
 */
#ifndef DDNS_OVERLAY_RPC_H
#define DDNS_OVERLAY_RPC_H

#include <stdbool.h>
#include <stdint.h>

#include "common/hash.h"
#include "overlay/transport.h"

/* Overlay ids carried in every message. */
#define RPC_OVL_NONE 0
#define RPC_OVL_CHORD 1
#define RPC_OVL_KAD16 2
/* Services: who inside a node handles the message. */
#define RPC_SVC_OVERLAY 0
#define RPC_SVC_DHT 1
/* Clients of a node (ddns publish/lookup): requests to vnode 0 of overlay RPC_OVL_NONE. */
#define RPC_SVC_CLIENT 2

/* Largest message payload the RPC layer carries (fragmented as needed). */
#define RPC_MAX_PAYLOAD (96 * 1024)

struct rpc;

/* A received request or reply. Everything is borrowed until the callback
 * that received it returns. */
struct rpc_msg {
	uint8_t overlay;
	uint8_t service;
	uint8_t type;
	uint8_t src_vnode;            /* sender's virtual-node index */
	uint8_t dst_vnode;            /* receiver's virtual-node index */
	uint64_t txid;
	uint8_t sender_id[DDNS_ID_LEN]; /* == ovl_id_of(&from, src_vnode), verified */
	struct tr_addr from;
	uint64_t rtt_us;              /* replies only: time since the last (re)transmission */
	const uint8_t *payload;
	size_t len;
};

struct rpc_params {
	uint64_t timeout_us;     /* first retransmission timeout (default 250 ms) */
	unsigned retries;        /* retransmissions before giving up (default 3) */
	unsigned backoff;        /* timeout multiplier per retry (default 2) */
	size_t max_reassembly;   /* bytes of partial messages held (default 4 MiB) */
	/* Requests accepted per second from one source address (its IP, any
	 * port), a token bucket with a burst of one second's worth; further
	 * new requests are dropped unanswered (a retransmission of an answered
	 * one is still answered from the reply cache). 0: no limit (default). */
	double rate_limit;
	size_t rate_limit_sources; /* sources tracked at most (default 10000) */
};

void rpc_params_default(struct rpc_params *p);

/* New RPC layer on transport t (borrowed: t must outlive it); it installs
 * itself as t's receiver. p may be NULL for defaults. NULL on ENOMEM. */
struct rpc *rpc_new(struct tr *t, const struct rpc_params *p);
/* Cancels every pending call without calling its callback. NULL is a no-op. */
void rpc_free(struct rpc *r);
struct tr *rpc_transport(struct rpc *r);
/* ovl_id_of(a, vnode), remembered for recent addresses (the same memo that
 * checks every sender's id): node references in answers name the same few
 * dozen neighbours again and again. Valid until the next call. */
const uint8_t *rpc_node_id(struct rpc *r, const struct tr_addr *a, uint8_t vnode);

/* Handler for requests addressed to (overlay, service, vnode). */
typedef void (*rpc_request_cb)(void *arg, const struct rpc_msg *req);
/* Returns 0, -EEXIST if taken, -ENOMEM. */
int rpc_register(struct rpc *r, uint8_t overlay, uint8_t service, uint8_t vnode,
		 rpc_request_cb cb, void *arg) DDNS_WUR;
void rpc_unregister(struct rpc *r, uint8_t overlay, uint8_t service, uint8_t vnode);

/* Reply to a request now (inside its handler). Returns 0 or an error. */
int rpc_reply(struct rpc *r, const struct rpc_msg *req, uint8_t type,
	      const void *payload, size_t len);

/* What an asynchronous reply needs; copy it out of the request. */
struct rpc_reply_to {
	struct tr_addr to;
	uint64_t txid;
	uint8_t overlay, service;
	uint8_t src_vnode; /* ours: the request's dst_vnode */
	uint8_t dst_vnode; /* theirs: the request's src_vnode */
};
void rpc_reply_to_from(const struct rpc_msg *req, struct rpc_reply_to *out);
int rpc_reply_later(struct rpc *r, const struct rpc_reply_to *rt, uint8_t type,
		    const void *payload, size_t len);

/* Outcome of a call: status 0 and the reply, or DDNS_ETIMEDOUT and NULL
 * after all retransmissions went unanswered. Called exactly once per
 * successful rpc_call unless the call is cancelled. */
typedef void (*rpc_reply_cb)(void *arg, int status, const struct rpc_msg *reply);

/* Called right after each retransmission of a call went out (transmission
 * is 2 for the first retransmission, 3 for the next...), with the call's
 * arg: per-attempt timing for callers that react to a slow peer before the
 * call times out. It may rpc_cancel the call (or any other). */
typedef void (*rpc_resend_cb)(void *arg, unsigned transmission);

struct rpc_call {
	struct tr_addr to;
	uint8_t overlay, service, type;
	uint8_t src_vnode, dst_vnode;
	const void *payload;  /* copied by rpc_call */
	size_t len;
	uint64_t timeout_us;  /* 0: the layer's default */
	int retries;          /* -1: the layer's default; 0: send once */
	rpc_resend_cb on_resend; /* optional (NULL) */
};

/* Send a request. *handle (may be NULL) identifies it for rpc_cancel.
 * Returns 0, -ENOMEM, DDNS_ETOOBIG. The callback never runs inside rpc_call. */
int rpc_call(struct rpc *r, const struct rpc_call *c, rpc_reply_cb cb, void *arg,
	     uint64_t *handle) DDNS_WUR;

/* The exact record of a completed call. A transmission is one send of the
 * whole request (as many datagrams as it has fragments: one for every
 * request under one MTU). A reply to any transmission completes the call
 * (they share the transaction id). */
struct rpc_outcome {
	int status;                  /* 0 or DDNS_ETIMEDOUT */
	const struct rpc_msg *reply; /* status 0: the reply (borrowed); else NULL */
	unsigned transmissions;      /* >= 1: the first one and every retransmission */
	unsigned retransmits;        /* transmissions - 1 */
	bool timed_out;              /* status == DDNS_ETIMEDOUT: every transmission unanswered */
};
typedef void (*rpc_outcome_cb)(void *arg, const struct rpc_outcome *out);

/* rpc_call, reporting the call's outcome with its exact transmission
 * counts. Same returns and guarantees as rpc_call. */
int rpc_call_counted(struct rpc *r, const struct rpc_call *c, rpc_outcome_cb cb, void *arg,
		     uint64_t *handle) DDNS_WUR;
/* Transmissions so far of a pending call (0 for an unknown handle): what a
 * caller about to rpc_cancel a call reads to count what it cost. */
unsigned rpc_transmissions(const struct rpc *r, uint64_t handle);
/* Forget a pending call; its callback will not run. Unknown handles ignored. */
void rpc_cancel(struct rpc *r, uint64_t handle);

struct rpc_stats {
	uint64_t calls;            /* requests issued (first transmissions) */
	uint64_t retransmits;
	uint64_t timeouts;         /* calls that ended in DDNS_ETIMEDOUT */
	uint64_t replies_ok;       /* calls answered */
	uint64_t requests_in;      /* requests received and dispatched */
	uint64_t replies_out;
	uint64_t datagrams_out, datagrams_in;
	uint64_t bytes_out, bytes_in;
	uint64_t dropped_malformed;  /* bad magic/version/length/truncated */
	uint64_t dropped_spoofed;    /* claimed id != id of source address */
	uint64_t dropped_unmatched;  /* reply with no pending call, or from the wrong address */
	uint64_t dropped_nohandler;  /* request for an unregistered (overlay, service, vnode) */
	uint64_t duplicates;         /* retransmitted requests answered again */
	uint64_t dropped_rate;       /* requests over a source's rate_limit */
	uint64_t rate_sources;       /* sources the rate limit tracks now */
};
void rpc_get_stats(const struct rpc *r, struct rpc_stats *out);
/* The parameters r runs with (defaults filled in). */
void rpc_get_params(const struct rpc *r, struct rpc_params *out);

#endif
