/*
 * dht.h - the DHash-style block store: put/get of keyed blocks on top of an
 * overlay (chord or kad16), with replication, path caching, quotas and
 * persistence.
 *
 * A block is an opaque byte string stored under a 20-byte key. The DHT knows
 * nothing of DNS: whoever creates an instance gives it a validation hook
 * that checks a block (for DDNS: a DNSSEC-signed RRset and its chain) and
 * returns its metadata: the zone it belongs to (for quotas), its version (a
 * newer version replaces an older one, an older one is refused) and the
 * transport time after which cached copies must be dropped. Every node that
 * stores or caches a block, and every node that gets one, validates it
 * through the hook first.
 *
 * - put: routed to the node responsible for the key, which validates,
 *   checks version and quota, stores the block durably and copies it to the
 *   r-node replica set before answering; each replica validates and checks
 *   version and its own quota again (quotas are per node, see dht_params).
 * - get: one overlay lookup that asks each contacted node for the block and
 *   stops at the first copy (stored or cached); the block is validated, then
 *   cached at the originating node and at the nodes on the lookup path (which
 *   ones, and how the lookup orders its requests, is the per-overlay policy
 *   of dht/policy.h) until its expiry. Falls back to the replicas themselves
 *   when the lookup's copy is missing or bogus.
 * - maintenance: on a timer and whenever the overlay reports a change, each
 *   node makes sure every block it is responsible for has r copies, by
 *   exchanging key/version digests with the replica set (whole blocks only
 *   travel to nodes that lack them). A replica its owner has not listed in
 *   a digest lately looks its key up, and hands the block to the owner
 *   (keeping only a cached copy) when it is not in the replica set.
 * - persistence: with a data directory, stored (non-cache) blocks live in
 *   LMDB and survive kill -9; every write is committed synchronously before
 *   it is acknowledged. Caches are in memory, bounded by bytes (LRU).
 *
 * Node-to-node messages use service RPC_SVC_DHT of the overlay's wire id and
 * vnode (docs/PROTOCOL.md, "DHT messages"). This layer may call overlay/ and
 * common/ only; it reads time, sets timers and sends only through the
 * overlay's transport and RPC layer.
 */
#ifndef DDNS_DHT_DHT_H
#define DDNS_DHT_DHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/hash.h"
#include "overlay/overlay.h"

#define DHT_KEY_LEN DDNS_ID_LEN
/* Largest block the DHT stores. */
#define DHT_MAX_BLOCK (64 * 1024)
#define DHT_MAX_ZONE 255

struct dht;

/* What the validation hook says about a good block. */
struct dht_block_meta {
	uint8_t zone[DHT_MAX_ZONE]; /* opaque owner/zone id, for quotas */
	uint8_t zone_len;
	uint64_t version;           /* e.g. RRSIG inception: higher replaces lower */
	uint64_t expire_us;         /* transport time after which caches drop it */
};

/* Completion of a validation: status 0 and meta (borrowed for the call), or
 * an error (DDNS_EBOGUS, DDNS_EEXPIRED, DDNS_ENOCHAIN, ...; meta ignored). */
typedef void (*dht_validate_done_cb)(void *done_arg, int status, const struct dht_block_meta *meta);

/* The validation hook: check blk (len bytes) as the value of key, then call
 * done(done_arg, ...) exactly once, now or later (a DNSSEC validator may
 * first fetch missing DNSKEY/DS blocks with dht_get on d). key and blk are
 * borrowed until the hook returns: copy them to validate asynchronously. */
typedef void (*dht_validate_cb)(void *arg, struct dht *d, const uint8_t key[DHT_KEY_LEN],
				const uint8_t *blk, size_t len, dht_validate_done_cb done,
				void *done_arg);

struct dht_params {
	unsigned replicas;          /* r (default 6, <= OVL_MAX_REPLICAS) */
	size_t cache_bytes;         /* bound on cached block bytes (default 8 MiB; 0: no cache) */
	/* Per-node quotas: each node bounds what one zone (the hook's
	 * meta.zone) may store on it, counting primary and replica copies
	 * alike; the owner refuses a put (DDNS_EQUOTA) and a replica refuses a
	 * copy the same way, so a zone over quota on some replicas ends up
	 * with fewer than r copies rather than crowding those nodes. */
	uint64_t zone_quota_bytes;  /* per zone, stored on one node (0: unlimited) */
	uint64_t zone_quota_blocks; /* per zone, stored on one node (0: unlimited) */
	/* Per zone, across the network: the bytes of distinct blocks a zone
	 * may keep in the whole DHT (0: unlimited). Each node enforces its
	 * share, DHT_NET_QUOTA_SLACK x zone_quota_net_bytes x replicas / N,
	 * N its overlay's size estimate, with the per-node
	 * quota above when both are set; so the copies of a zone's blocks add
	 * up to at most about SLACK x replicas x this, however many puts it
	 * spreads over however many owners. */
	uint64_t zone_quota_net_bytes;
	size_t max_block;           /* largest block accepted (default DHT_MAX_BLOCK) */
	uint64_t max_store_bytes;   /* bound on the block bytes this node stores, primary and
				       replica (0: none but the LMDB map); a copy past it is
				       refused with -ENOSPC "store full" and nothing changes */
	uint64_t maint_us;          /* maintenance period (default 30 s; 0: only on change) */
	uint64_t change_delay_us;   /* maintenance this long after an overlay change (default 2 s) */
	unsigned placement_rounds;  /* re-check placement of non-owned blocks every n rounds (default 4) */
	unsigned cache_path_max;    /* path nodes that get a cached copy after a get (default 8) */
	uint64_t rpc_timeout_us;    /* per DHT RPC (0: RPC layer default) */
	int rpc_retries;            /* -1: RPC layer default */
	const char *data_dir;       /* LMDB environment directory (NULL: memory only); copied */
	size_t map_size;            /* LMDB map size (default 1 GiB) */
	/* Group commit (with data_dir): a stored copy is acknowledged after
	 * the commit (one fsync) that makes it durable; the commit waits up
	 * to commit_delay_us after the first write staged, so the writes
	 * arriving meanwhile share it (default 5 ms; 0: at the end of the
	 * event-loop turn), or until commit_max writes wait (default 256). */
	uint64_t commit_delay_us;
	unsigned commit_max;
	/* Copies (puts, replicas, cached copies) accepted per second from one
	 * peer address, a token bucket of store_peer_burst (0: ten seconds'
	 * worth); a copy over it is refused (DDNS_EREFUSED) before it is
	 * validated, so one peer cannot make this node store, or verify, more
	 * than that. 0: no limit (default). */
	double store_peer_rate;
	double store_peer_burst;
	size_t store_peer_sources; /* peers tracked at most (default 10000) */
};

void dht_params_default(struct dht_params *p);

/* Headroom of a node's share of zone_quota_net_bytes over its expected
 * share: consistent hashing gives some nodes more than the mean. */
#define DHT_NET_QUOTA_SLACK 2

/* The per-zone byte quota this node enforces now (0: none): the smaller of
 * zone_quota_bytes and its share of zone_quota_net_bytes. */
uint64_t dht_zone_quota_here(struct dht *d);

/* New DHT instance on overlay o (borrowed: o must outlive it). It registers
 * its RPC handler for (o's wire id, RPC_SVC_DHT, o's vnode), installs o's
 * value and change hooks, and starts its maintenance timer. v validates
 * every block (varg is passed back). p NULL for defaults. With p->data_dir,
 * opens (creating if needed) the LMDB store there and loads its blocks.
 * Returns NULL and sets *err: -ENOMEM, -EEXIST (handler taken), DDNS_ECORRUPT
 * (data dir corrupt, foreign, or of another format version), -errno (cannot
 * create or open the directory). */
struct dht *dht_new(struct ovl *o, const struct dht_params *p, dht_validate_cb v, void *varg,
		    int *err);
/* Stops timers, unregisters, closes the store. Pending put/get callbacks
 * run with DDNS_ECANCELLED before it returns. Free the DHT before its
 * overlay. NULL is a no-op. */
void dht_free(struct dht *d);
struct ovl *dht_ovl(const struct dht *d);
/* What layers above the DHT (the gateway, the validation hook) need of the
 * overlay underneath, so they never reach through it: the transport's
 * clock (microseconds, the simulator's virtual time under sim) and the
 * overlay's name ("chord", "kad16"). */
uint64_t dht_now_us(const struct dht *d);
const char *dht_overlay_name(const struct dht *d);

/* Where a get found its block. */
enum dht_source {
	DHT_SRC_NONE = 0,
	DHT_SRC_LOCAL_STORE,  /* this node stores it (primary or replica) */
	DHT_SRC_LOCAL_CACHE,  /* this node had a cached copy */
	DHT_SRC_PATH_CACHE,   /* a node on the lookup path had a cached copy */
	DHT_SRC_REPLICA       /* a node storing it (primary or replica) */
};
const char *dht_source_name(enum dht_source s);

struct dht_put_result {
	int status;              /* 0, DDNS_EBOGUS (and other hook errors), DDNS_ESTALE,
				    DDNS_EQUOTA, DDNS_ETOOBIG, DDNS_ETIMEDOUT, DDNS_EREFUSED,
				    DDNS_ECANCELLED, -ENOMEM, -EIO */
	const char *reason;      /* the storing node's explanation (borrowed), "" when none */
	unsigned replicas_stored;/* copies confirmed, the responsible node's included */
	unsigned rpcs;           /* RPCs this node sent (lookup + put) */
	unsigned hops;           /* sequential rounds (lookup + 1) */
	struct ovl_node node;    /* the node that took the put */
};
typedef void (*dht_put_cb)(void *arg, const struct dht_put_result *res);

/* Store blk (len bytes, copied) under key. The callback runs exactly once,
 * never inside dht_put. Returns 0, DDNS_ETOOBIG (also reported nowhere else)
 * or -ENOMEM. */
int dht_put(struct dht *d, const uint8_t key[DHT_KEY_LEN], const uint8_t *blk, size_t len,
	    dht_put_cb cb, void *arg) DDNS_WUR;

struct dht_get_result {
	int status;              /* 0, DDNS_ENOTFOUND, DDNS_ETIMEDOUT, a hook error for the
				    last copy seen (DDNS_EBOGUS...), DDNS_ECANCELLED */
	const uint8_t *block;    /* validated block, borrowed until the callback returns */
	size_t len;
	struct dht_block_meta meta;
	unsigned rpcs;           /* RPCs sent (lookup + fallback fetches) */
	unsigned hops;           /* sequential rounds */
	enum dht_source source;
	struct ovl_node from;    /* node that served it (self for local sources) */
};
typedef void (*dht_get_cb)(void *arg, const struct dht_get_result *res);

/* Fetch and validate the block stored under key. The callback runs exactly
 * once, never inside dht_get. Returns 0 or -ENOMEM. */
int dht_get(struct dht *d, const uint8_t key[DHT_KEY_LEN], dht_get_cb cb, void *arg) DDNS_WUR;

/* Run one maintenance round now (it also runs on its timer). */
void dht_maintain(struct dht *d);

/* What this node holds for key, without any network traffic: DHT_SRC_LOCAL_STORE,
 * DHT_SRC_LOCAL_CACHE (an unexpired cached copy) or DHT_SRC_NONE. *version is set
 * when found (may be NULL). For tests and diagnostics. */
enum dht_source dht_local(struct dht *d, const uint8_t key[DHT_KEY_LEN], uint64_t *version);

/* Call fn(arg, key, version) for every block this node stores (primary or
 * replica, not cached copies), in no particular order, without network
 * traffic. fn must not call into d. For tests, diagnostics and benchmarks. */
typedef void (*dht_stored_cb)(void *arg, const uint8_t key[DHT_KEY_LEN], uint64_t version);
void dht_stored_each(struct dht *d, dht_stored_cb fn, void *arg);

struct dht_stats {
	uint64_t blocks_primary, blocks_replica, blocks_cache; /* now */
	uint64_t bytes_stored, bytes_cache;                    /* block bytes, now */
	uint64_t puts, puts_ok, gets, gets_ok;                 /* issued here */
	uint64_t gets_local;          /* answered without leaving this node */
	uint64_t served_put, served_store, served_fetch, served_digest, served_cache;
	uint64_t transfers_served;    /* block copies sent: lookup values and fetches */
	uint64_t cache_hits;          /* value requests answered from this node's cache */
	uint64_t refused_bogus, refused_stale, refused_quota, refused_other;
	uint64_t refused_full;        /* -ENOSPC: max_store_bytes or a full map (in refused_other too) */
	uint64_t maint_rounds, maint_digest_rpcs, maint_blocks_pushed, maint_handoffs;
	uint64_t cache_evictions, cache_expired;
	uint64_t rpcs_sent;
	uint64_t overhead_bytes;      /* store memory beyond the stored blocks' own bytes */
	uint64_t dropped_malformed;   /* node-to-node messages that did not parse */
	uint64_t refused_rate;        /* copies over a peer's store_peer_rate */
	uint64_t store_syncs;         /* group commits of the persistent store */
	uint64_t store_synced;        /* copies acknowledged through them */
};
void dht_get_stats(struct dht *d, struct dht_stats *out);
/* The parameters this instance runs with (its bounds, for reports such as
 * the gateway's stats.ddns); data_dir is borrowed from d. */
void dht_get_params(const struct dht *d, struct dht_params *out);
/* The bounds the overlay and RPC layers under this DHT put on what a peer
 * can make the node hold or do, for the same reports: the layers above
 * read them here rather than reaching past the DHT. */
struct dht_peer_limits {
	uint64_t routing_max;            /* routing-table entries at most */
	unsigned lookup_candidates_max;  /* candidates one lookup keeps */
	unsigned refs_per_answer_max;    /* node references taken per answer */
	double rpc_rate_limit;           /* requests/s per source (0: off) */
	size_t rpc_rate_sources;         /* sources the RPC limiter tracks */
};
void dht_get_peer_limits(struct dht *d, struct dht_peer_limits *out);

#endif
