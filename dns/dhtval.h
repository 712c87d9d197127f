/*
 * dhtval.h - the DHT validation hook for DDNS blocks (dns/block.h): the glue
 * that lets the DNS-agnostic block store (dht/dht.h) accept only RRsets
 * whose DNSSEC chain leads to the configured trust anchor.
 *
 * For each block the hook decodes it, checks that the DHT key is the one
 * of its data set's owner and type, and validates the data set with
 * dns/validate.h, using the chain sets the block carries and the DNSKEY and
 * DS RRsets this node has already verified (the "verified key cache";
 * a verified DNSKEY RRset becomes a trust point, so a warm cache costs two
 * signature checks per block). A link that is neither carried nor cached
 * is fetched from the DHT (dht_get of key(zone, DNSKEY) or key(zone, DS));
 * the DHT validates that block through this same hook, which caches it,
 * and the walk goes on, at most DDNS_BLOCKVAL_MAX_FETCH fetches per
 * validation. The hook then reports the block's metadata:
 *   zone      the RRSIG signer name, lowercased wire form (quota unit)
 *   version   the latest inception among the RRSIGs covering the data set
 *   expire_us transport now + min(RRset TTL, latest RRSIG expiration - now)
 * or the validator's own error code (DDNS_EBOGUS, DDNS_EEXPIRED,
 * DDNS_ENOTYET, DDNS_ENOKEY, DDNS_EBADDS, DDNS_ENOCHAIN, DDNS_EOUTOFZONE,
 * DDNS_EMALFORMED, DDNS_EUNSUPPORTED), so the refusal says why.
 *
 * Wall-clock time (for signature windows) comes from a callback, so the
 * simulator passes virtual time plus a base epoch; transport time (for
 * expire_us) comes from the DHT's overlay transport. This module is part
 * of libgateway: it may call dht/, dns/ and common/.
 */
#ifndef DDNS_DNS_DHTVAL_H
#define DDNS_DNS_DHTVAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "dht/dht.h"
#include "dns/rr.h"

/* DNSKEY/DS fetches one validation may start. */
#define DDNS_BLOCKVAL_MAX_FETCH 10
/* Default bound on verified RRsets kept (least recently used dropped). */
#define DDNS_BLOCKVAL_CACHE_MAX 1024

/* Current time in seconds since the Unix epoch. */
typedef uint64_t (*ddns_unix_clock_cb)(void *arg);

struct ddns_blockval;

/*
 * New validator state for one node (one per DHT instance is the natural
 * use; several DHTs of one process may share one). anchors[0..n) are the
 * trust anchors, DS or DNSKEY records (copied). clock(clock_arg) gives Unix
 * seconds; NULL means the system clock (time()). cache_max bounds the
 * verified key cache in RRsets (0: DDNS_BLOCKVAL_CACHE_MAX).
 * Returns NULL on -ENOMEM or when an anchor is neither DS nor DNSKEY (or
 * n is 0): *err (may be NULL) says which (-ENOMEM, -EINVAL).
 */
struct ddns_blockval *ddns_blockval_new(const struct dns_rr *anchors, size_t n,
					ddns_unix_clock_cb clock, void *clock_arg,
					size_t cache_max, int *err);

/*
 * Free bv. Free every DHT using it first (dht_free cancels the fetches a
 * pending validation waits on, which completes it). NULL is a no-op.
 */
void ddns_blockval_free(struct ddns_blockval *bv);

/*
 * The hook: a dht_validate_cb. Pass it to dht_new with the ddns_blockval as
 * its argument. It calls done exactly once, synchronously when every link
 * is carried or cached, else after its fetches complete; DDNS_ECANCELLED
 * when the DHT is being freed meanwhile.
 */
void ddns_blockval_validate(void *bv, struct dht *d, const uint8_t key[DHT_KEY_LEN],
			    const uint8_t *blk, size_t len, dht_validate_done_cb done,
			    void *done_arg);

/*
 * Validate a block without a DHT (no fetches: links must be carried or
 * cached). key may be NULL to skip the key check; now_us is the transport
 * time used for meta->expire_us; why (may be NULL) receives a one-line
 * reason on failure. Returns 0 with *meta filled, or an error as above.
 */
int ddns_blockval_check(struct ddns_blockval *bv, const uint8_t *key, const uint8_t *blk,
			size_t len, uint64_t now_us, struct dht_block_meta *meta, char *why,
			size_t whylen) DDNS_WUR;

/*
 * Before a block is served: is its chain current? The hook accepts a DS set
 * a block carries as a link (it was signed by the parent, and carrying it
 * saves a lookup), so a block keeps validating after the parent publishes
 * another DS (a rollover gone wrong, a delegation withdrawn) until its
 * signatures expire. A current check validates blk as the hook does, except
 * that every DS link must be the DHT's own DS block: taken from the cache
 * when it came as the block stored under key(zone, DS) (stored here, or
 * fetched), else fetched now; a cached DNSKEY set is a trust point only
 * when its zone's DS is confirmed so (or it is an anchor's). A confirmed
 * DS that differs from the cached one drops that zone's cached DNSKEY set.
 * So a parent's new DS takes effect at a gateway within the old DS's TTL,
 * as at a conventional resolver, and costs a zone one DS get per TTL.
 * done(done_arg, status, rpcs, hops) is called exactly once (now, when
 * every link is cached); rpcs and hops are what the fetches cost.
 */
typedef void (*ddns_blockval_current_cb)(void *done_arg, int status, unsigned rpcs,
					 unsigned hops);
void ddns_blockval_check_current(struct ddns_blockval *bv, struct dht *d,
				 const uint8_t key[DHT_KEY_LEN], const uint8_t *blk, size_t len,
				 ddns_blockval_current_cb done, void *done_arg);

/* Drop every cached RRset (key rollover, tests). */
void ddns_blockval_flush(struct ddns_blockval *bv);

struct ddns_blockval_stats {
	uint64_t validations;   /* hook calls */
	uint64_t accepted;
	uint64_t refused;       /* any error, cancellations included */
	uint64_t fetches;       /* DNSKEY/DS blocks fetched from the DHT */
	uint64_t fetch_failed;  /* ... that did not come back valid */
	uint64_t cache_hits;    /* links taken from the verified key cache */
	uint64_t cache_entries; /* now */
	uint64_t pending;       /* validations waiting on fetches, now */
	uint64_t current_checks; /* ddns_blockval_check_current calls */
	uint64_t current_failed; /* ... whose chain was not current (or bogus) */
	uint64_t sig_computed;   /* signatures verified by arithmetic */
	uint64_t sig_cache_hits; /* ... found verified before (dnssec_keycache) */
	uint64_t keys_parsed;    /* DNSKEYs parsed */
	uint64_t key_cache_hits; /* ... taken parsed from the cache */
};
void ddns_blockval_get_stats(const struct ddns_blockval *bv, struct ddns_blockval_stats *out);

#endif
