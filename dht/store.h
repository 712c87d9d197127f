/*
 * store.h - one node's stored blocks (primary and replica) and its cache.
 * Internal to dht/: users of the DHT include dht/dht.h.
 *
 * The store keeps every block in a hash table in memory and, with a data
 * directory, mirrors it in LMDB: a write is committed (synchronously, LMDB's
 * default) before dht_store_put returns, so an acknowledged block survives
 * kill -9. Per-zone usage (blocks and bytes) is kept for quotas.
 *
 * The cache holds validated copies of other nodes' blocks until their expiry
 * time, bounded by total bytes with least-recently-used eviction.
 *
 * Both keep each block as [DHT_WIRE_VERSION][source][block bytes] so the
 * overlay value hook can hand out the encoded value without copying.
 */
#ifndef DDNS_DHT_STORE_H
#define DDNS_DHT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uthash.h>

#include "dht/dht.h"

/* Prefix bytes before the block in an entry's data (see dht/msg.h). */
#define DHT_VAL_HDR 2

struct dht_zone {
	uint8_t zkey[1 + DHT_MAX_ZONE]; /* length, then the id zero-padded: the hash key */
	uint64_t blocks, bytes;
	UT_hash_handle hh;
};

/* A stored block. Invariant: data[0..1] is the value header, the block is
 * data + DHT_VAL_HDR for len bytes; zone->blocks/bytes include it. */
struct dht_entry {
	uint8_t key[DHT_KEY_LEN];
	bool primary;          /* last judged responsible for it (statistics) */
	uint16_t confirm_round;/* dht.c's round (mod 2^16) when its owner last listed it to us */
	uint32_t len;
	uint64_t version;
	uint64_t expire_us;
	struct dht_zone *zone;
	uint8_t *data;
	UT_hash_handle hh;
};

struct dht_store;

/* Open a store; dir NULL for memory only. Creates dir if missing; refuses a
 * non-empty directory that holds no store. Returns 0, DDNS_ECORRUPT (with a
 * message in why), -errno. */
int dht_store_open(const char *dir, size_t map_size, struct dht_store **out, char *why,
		   size_t whylen) DDNS_WUR;
void dht_store_close(struct dht_store *s);

struct dht_entry *dht_store_find(struct dht_store *s, const uint8_t key[DHT_KEY_LEN]);
/* May blk with meta replace what is stored under key? 0, DDNS_ESTALE (older
 * version, or same version with other content; *same set when identical),
 * DDNS_EQUOTA (the zone's quota) or -ENOSPC "store full" (the store would
 * pass max_bytes; 0: no bound), both only with check_quota. reason gets a
 * short explanation. */
int dht_store_check(struct dht_store *s, const uint8_t key[DHT_KEY_LEN],
		    const struct dht_block_meta *meta, const uint8_t *blk, size_t len,
		    bool check_quota, uint64_t quota_bytes, uint64_t quota_blocks,
		    uint64_t max_bytes, bool *same, char *reason, size_t reasonlen) DDNS_WUR;
/* Insert or replace (no checks), staged: in memory at once, in LMDB's open
 * write transaction, durable only after dht_store_sync (so that the writes
 * staged close together share one commit). 0, -ENOMEM, -ENOSPC (the LMDB
 * map is full; the store is unchanged for key), -EIO. A memory-only store
 * has nothing to sync. */
int dht_store_stage(struct dht_store *s, const uint8_t key[DHT_KEY_LEN],
		    const struct dht_block_meta *meta, const uint8_t *blk, size_t len) DDNS_WUR;
/* Commit the staged writes (one fsync). 0 when every write staged since the
 * last sync is durable; otherwise the error (-ENOSPC when the disk is full,
 * -EIO), and the failed writes are undone in memory too. */
int dht_store_sync(struct dht_store *s) DDNS_WUR;
/* Are there staged writes (or a failure) dht_store_sync has to report? */
bool dht_store_unsynced(const struct dht_store *s);
/* Stage and sync at once: durable before it returns. Errors as above. */
int dht_store_put(struct dht_store *s, const uint8_t key[DHT_KEY_LEN],
		  const struct dht_block_meta *meta, const uint8_t *blk, size_t len) DDNS_WUR;
/* Remove a block (durably, committing what was staged with it). 0 or -EIO;
 * missing keys are fine. */
int dht_store_del(struct dht_store *s, const uint8_t key[DHT_KEY_LEN]) DDNS_WUR;
/* The hash table, for iteration (HASH_ITER); do not modify it. */
struct dht_entry *dht_store_all(struct dht_store *s);
size_t dht_store_count(const struct dht_store *s);
uint64_t dht_store_bytes(const struct dht_store *s);
/* Approximate heap bytes used beyond the blocks themselves. */
size_t dht_store_overhead(const struct dht_store *s);

/* ---- cache ---- */
struct dht_centry {
	uint8_t key[DHT_KEY_LEN];
	uint32_t len;
	uint64_t version;
	uint64_t expire_us;
	uint8_t *data;                  /* as struct dht_entry */
	struct dht_centry *prev, *next; /* LRU list, most recent first */
	UT_hash_handle hh;
};

struct dht_cache;

struct dht_cache *dht_cache_new(size_t max_bytes);
void dht_cache_free(struct dht_cache *c);
/* An unexpired copy (moved to the front), or NULL; expired copies are
 * dropped on the way. */
struct dht_centry *dht_cache_get(struct dht_cache *c, const uint8_t key[DHT_KEY_LEN], uint64_t now);
/* Insert or replace when version is not older. Evicts LRU copies to fit.
 * Returns 0, -ENOMEM, DDNS_ETOOBIG (larger than the whole cache). */
int dht_cache_put(struct dht_cache *c, const uint8_t key[DHT_KEY_LEN], uint64_t version,
		  uint64_t expire_us, const uint8_t *blk, size_t len);
void dht_cache_del(struct dht_cache *c, const uint8_t key[DHT_KEY_LEN]);
size_t dht_cache_count(const struct dht_cache *c);
uint64_t dht_cache_bytes(const struct dht_cache *c);
uint64_t dht_cache_evictions(const struct dht_cache *c);
uint64_t dht_cache_expired(const struct dht_cache *c);

#endif
