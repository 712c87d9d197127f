/*
 * gateway.h - the DNS gateway: answers ordinary DNS queries (dig, the system
 * resolver) from the DHT.
 *
 * A query for <name, type> becomes dht_get(SHA-1(lowercase owner wire ||
 * type)) on one or more DHT instances (one per overlay the node runs). The
 * DHTs validate every block through their hook (dns/dhtval.h: the DNSSEC
 * chain up to the trust anchor) and fall back to other replicas when a copy
 * is bogus, so a block the gateway receives is validated data; the gateway
 * maps the DHT's error codes to rcodes and RFC 8914 Extended DNS Errors
 * (gw_rcode_of), follows CNAME chains (at most GW_MAX_CNAME links, loops
 * stopped), shuffles the RRs of each answer, caches positive answers until
 * their TTL (or the signature's expiry) runs out and negative ones for a
 * bounded time, and coalesces identical outstanding lookups.
 *
 * Transports: UDP and TCP (RFC 7766 two-octet framing, pipelining, bounded
 * connections, idle timeouts) on the same ADDR:PORT, on a libevent base.
 * The same logic is reachable without sockets through gw_handle_packet(), so
 * tests run the gateway over the simulator.
 *
 * Protocol (docs/GATEWAY.md has the details):
 *  - EDNS0 (RFC 6891): the client's buffer size (at least 512, at most
 *    udp_max) bounds UDP answers; an answer that does not fit has TC set and
 *    is complete over TCP. EDNS version > 0 gets BADVERS.
 *  - AD is set when every RRset of the answer was validated and the client
 *    set AD or DO (RFC 6840 §5.8); RRSIGs are included when DO is set.
 *  - FORMERR for malformed queries (QDCOUNT != 1, bad EDNS, bad names);
 *    packets too short for a header, and responses (QR set), are dropped.
 *  - REFUSED for classes other than IN and CH and for opcodes other than
 *    QUERY; NOTIMP for meta query types (ANY, AXFR, IXFR, ...).
 *  - CH TXT: id.server. / hostname.bind. (identity), version.bind. /
 *    version.server., stats.ddns. (the statistics as TXT strings).
 *  - NXDOMAIN when neither the type nor a CNAME exists at the name and
 *    nothing else is known of the name (no cached RRset of another type, no
 *    NSEC block of the name); NODATA otherwise. Both carry the zone's SOA
 *    in the authority section when the DHT has it (TTL min(SOA MINIMUM,
 *    SOA TTL), RFC 2308), with its RRSIGs when DO is set.
 *  - SERVFAIL (with its EDE) is cached for servfail_ttl seconds.
 *
 * The gateway is a client of dht/ and of the DNS wire code (dns/msg.h); it
 * never talks to the overlay directly. Time for its caches is the first
 * DHT's transport time (so virtual time under the simulator).
 */
#ifndef DDNS_DNS_GATEWAY_H
#define DDNS_DNS_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "dht/dht.h"

struct event_base;
struct gw;

#define GW_MAX_OVERLAYS 4
#define GW_MAX_CNAME 8        /* CNAME links followed per answer */
#define GW_OVERLAY_NAME_MAX 16

enum gw_mode {
	GW_MODE_DEFAULT = 0, /* every lookup goes through overlays[0] only */
	GW_MODE_COMPARE = 1  /* every lookup goes through every overlay; the
				first validated result answers, all are counted */
};

/* One DHT the gateway may look up through. */
struct gw_overlay {
	const char *name;    /* overlay name for statistics ("kad16", "chord"); copied */
	struct dht *dht;     /* borrowed: must outlive the gateway */
};

struct ddns_blockval;

/* Octets a bounded UDP answer may exceed its query by (gw_params.amp_factor). */
#define GW_AMP_SLACK 64

struct gw_params {
	/* "127.0.0.1:5353", "[::1]:53", "127.0.0.1:0" (any free port, see
	 * gw_port); UDP and TCP on the same address. NULL: no sockets (use
	 * gw_handle_packet). Copied. */
	const char *listen;
	struct gw_overlay overlays[GW_MAX_OVERLAYS]; /* [0] is the default (kad16 when run) */
	size_t noverlays;                            /* 1..GW_MAX_OVERLAYS */
	enum gw_mode mode;
	size_t cache_entries;     /* positive RRset cache entries (default 10000; 0: no cache) */
	size_t neg_cache_entries; /* negative cache entries (default 10000; 0: none) */
	uint32_t neg_ttl;         /* seconds a negative answer is cached and its TTL (default 60) */
	uint32_t max_ttl;         /* cap on cached and answered TTLs (default 86400) */
	uint16_t udp_max;         /* largest UDP answer, and our EDNS size (default 4096, >= 512) */
	unsigned tcp_max_conns;   /* open TCP connections at once (default 64) */
	unsigned tcp_idle_ms;     /* close an idle TCP connection after (default 10000) */
	unsigned tcp_max_pending; /* unanswered queries per TCP connection (default 32) */
	size_t max_pending;       /* unanswered queries overall beyond which a new query that needs
				     a DHT lookup gets SERVFAIL "overloaded" (cached answers and
				     the later steps of queries under way go on; default 10000) */
	bool nsec_lookup;         /* consult the name's NSEC block before NXDOMAIN (default true) */
	unsigned rate_limit;      /* UDP queries per second answered per source (an IPv4
				     address, an IPv6 /64), a token bucket of one second's
				     worth; over it the query is dropped, so a spoofed
				     source cannot make the gateway flood its victim
				     (default 0: no limit; TCP is not limited) */
	size_t rate_limit_entries; /* sources tracked at once, oldest forgotten first
				      (default 10000) */
	unsigned amp_factor;      /* a UDP answer is at most this many times the size of its
				     query (or the query's size plus GW_AMP_SLACK octets when
				     that is more: room for a truncated answer and its EDNS
				     options); a larger one is truncated (TC) and complete only
				     over TCP, so a spoofed query cannot be amplified more
				     (0: only the EDNS size bounds it, the default; else >= 2) */
	uint32_t servfail_ttl;    /* seconds a failed lookup (bogus, unreachable) is held and
				     answered SERVFAIL with its EDE from the cache (RFC 9520;
				     default 30; 0: never); bounded by neg_cache_entries */
	const char *identity;     /* id.server answer (copied); NULL: the host name */
	struct ddns_blockval *current; /* before a fetched block is served, check that its
				     chain is current (ddns_blockval_check_current: every DS
				     link is the parent's DS block in the DHT, not a copy the
				     block carries), its fetches counted as the query's RPCs;
				     a block that fails is answered SERVFAIL. Borrowed.
				     NULL: no check (default) */
};

void gw_params_default(struct gw_params *p);

/*
 * New gateway. base: the event loop for sockets and TCP timers (may be NULL
 * when p->listen is NULL). Returns NULL and sets *err: -EINVAL (no overlays,
 * too many, bad listen address, base NULL with listen set), -ENOMEM,
 * -errno from socket/bind/listen (-EADDRINUSE ...).
 */
struct gw *gw_new(struct event_base *base, const struct gw_params *p, int *err);

/*
 * Close the sockets and free the gateway. Queries still waiting for the DHT
 * are abandoned: their answer callbacks run with pkt NULL (dropped) before
 * this returns; the DHT lookups complete later and are discarded (the DHTs
 * may be freed before or after the gateway). Not from inside an answer
 * callback. NULL is a no-op.
 */
void gw_free(struct gw *g);

/* The bound port (host order): useful after listening on port 0. 0 when the
 * gateway has no sockets. */
uint16_t gw_port(const struct gw *g);

/*
 * The answer to one query: pkt (len bytes) is borrowed until the callback
 * returns; pkt NULL (len 0) means the query was dropped (garbage, a
 * response, or the gateway was freed first).
 */
typedef void (*gw_answer_cb)(void *arg, const uint8_t *pkt, size_t len);

/*
 * Answer the query pkt[0..len) (copied as needed). max_udp: 0 when the
 * query came over a stream (TCP: answers up to 65535 octets), otherwise the
 * largest UDP answer the transport allows (the client's EDNS size is capped
 * by it and by p->udp_max). cb runs exactly once, possibly before this
 * function returns (cache hits, errors, CH queries) or later from the DHT's
 * callbacks. Returns 0, or -ENOMEM (cb not called).
 */
int gw_handle_packet(struct gw *g, const uint8_t *pkt, size_t len, size_t max_udp,
		     gw_answer_cb cb, void *arg) DDNS_WUR;

/*
 * The rcode and RFC 8914 Extended DNS Error code for a DHT get status:
 * 0 -> NOERROR; DDNS_ENOTFOUND -> NXDOMAIN (no EDE); DDNS_EBOGUS,
 * DDNS_EOUTOFZONE, DDNS_EMALFORMED -> SERVFAIL/6 (DNSSEC Bogus);
 * DDNS_EEXPIRED -> 7 (Signature Expired); DDNS_ENOTYET -> 8 (Signature Not
 * Yet Valid); DDNS_ENOKEY, DDNS_EBADDS -> 9 (DNSKEY Missing);
 * DDNS_ENOCHAIN -> 10 (RRSIGs Missing); DDNS_EUNSUPPORTED -> 1 (Unsupported
 * DNSKEY Algorithm); DDNS_ETIMEDOUT -> 22 (No Reachable Authority);
 * DDNS_ECANCELLED -> 23 (Network Error); anything else -> SERVFAIL/0
 * (Other). *ede is set to -1 when no EDE option is sent.
 */
int gw_rcode_of(int status, int *ede);

/* A distribution of small integers (RPCs or hops per lookup). */
struct gw_dist {
	uint64_t n;
	double mean;
	unsigned median, p90, max;
};

struct gw_overlay_stats {
	char name[GW_OVERLAY_NAME_MAX];
	uint64_t lookups;        /* dht_get calls issued */
	uint64_t found, notfound, failed; /* their outcomes (failed: any other error) */
	uint64_t first;          /* compare mode: lookups this overlay answered first */
	struct gw_dist rpcs, hops; /* over completed lookups */
	struct dht_stats dht;    /* dht_get_stats of its DHT, now */
};

struct gw_stats {
	uint64_t queries;        /* parsed queries, all classes (stats queries included) */
	uint64_t queries_udp, queries_tcp;
	uint64_t queries_in, queries_ch;
	uint64_t dropped;        /* garbage, responses (no answer sent) */
	uint64_t overload;       /* SERVFAIL because max_pending queries were waiting */
	uint64_t rcodes[6];      /* answers by rcode 0..5 (NOERROR .. REFUSED) */
	uint64_t badvers;
	uint64_t truncated;      /* UDP answers sent with TC */
	uint64_t ad;             /* answers with AD */
	uint64_t cache_hits, cache_misses;         /* positive RRset cache, per lookup step */
	uint64_t neg_hits;                         /* negative cache hits */
	uint64_t servfail_hits;  /* lookup steps answered from the failure cache */
	uint64_t rate_limited;   /* UDP queries dropped by the per-source limit */
	uint64_t rate_limit_sources; /* sources tracked now */
	uint64_t neg_with_soa;   /* negative answers that carried their zone's SOA */
	uint64_t denial_proofs;  /* missing names proven from a denial block */
	uint64_t denial_from_cache; /* ... with the block already cached (RFC 8198) */
	uint64_t wildcard_answers; /* answers synthesised from a wildcard */
	uint64_t answered_from_cache;              /* IN queries that touched no DHT */
	uint64_t coalesced;      /* lookup steps that joined an outstanding identical one */
	uint64_t current_checks, current_failed; /* chain currency checks, and failed ones */
	uint64_t current_rpcs;   /* RPCs of their DS fetches */
	uint64_t cname_followed, cname_loops;
	uint64_t cache_entries, neg_cache_entries; /* now */
	uint64_t servfail_cache_entries;           /* now */
	uint64_t tcp_conns, tcp_conns_refused, tcp_conns_open;
	uint64_t pending;        /* queries waiting for the DHT now */
	size_t noverlays;
	struct gw_overlay_stats ovl[GW_MAX_OVERLAYS];
};

/* Fill out with the current statistics (asks every DHT). */
void gw_get_stats(struct gw *g, struct gw_stats *out);

/*
 * Append the statistics in the Prometheus text exposition format (metric
 * families ddns_gateway_*, one label overlay="..." per overlay) to out.
 * Returns 0 or -ENOMEM.
 */
int gw_metrics_text(struct gw *g, struct ddns_wbuf *out) DDNS_WUR;

#endif
