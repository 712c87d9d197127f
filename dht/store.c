/*
 * store.c - a node's stored blocks in memory, mirrored in LMDB, and the
 * bounded LRU cache.
 *
 * LMDB layout (one unnamed database):
 *   key "\0ddns-dht" (9 bytes)  -> "DDNSDHT" format(u32)   the magic record
 *   key 20-byte block key        -> fmt(1)=1 version(8) expire(8) zone_len(1)
 *                                   zone block
 * An environment with records but no magic record is foreign; a magic record
 * of another format is refused. Record keys of any other length are corrupt.
 * Writes use LMDB's default durability (fsync on commit), grouped: writes
 * staged by dht_store_stage go into one open write transaction, committed
 * (one fsync for all of them) by dht_store_sync. Until then they are in
 * memory only; a failed commit puts memory back to what LMDB holds.
 */
#include "dht/store.h"

#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "dht/msg.h"

#define MAGIC_KEY "\0ddns-dht"
#define MAGIC_KEY_LEN 9
#define MAGIC_VAL "DDNSDHT"
#define MAGIC_VAL_LEN 7
#define STORE_FORMAT 1u
#define REC_FMT 1

struct dht_store {
	struct dht_entry *by_key;
	struct dht_zone *zones;
	size_t count;
	uint64_t bytes;
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *wtxn;                   /* the open write transaction, or NULL */
	uint8_t (*staged)[DHT_KEY_LEN];  /* keys written in it (repeats allowed) */
	size_t nstaged, cstaged;
	int sync_err;                    /* a failure not yet reported by dht_store_sync */
};

static struct dht_zone *zone_get(struct dht_store *s, const uint8_t *zone, uint8_t zl, bool create)
{
	struct dht_zone *z = NULL;
	uint8_t k[1 + DHT_MAX_ZONE];
	memset(k, 0, sizeof(k));
	k[0] = zl;
	memcpy(k + 1, zone, zl);
	HASH_FIND(hh, s->zones, k, sizeof(k), z);
	if (z || !create)
		return z;
	z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	memcpy(z->zkey, k, sizeof(k));
	HASH_ADD(hh, s->zones, zkey, sizeof(z->zkey), z);
	return z;
}

static void zone_release(struct dht_store *s, struct dht_zone *z)
{
	if (z && z->blocks == 0) {
		HASH_DEL(s->zones, z);
		free(z);
	}
}

static void entry_unlink(struct dht_store *s, struct dht_entry *e)
{
	HASH_DEL(s->by_key, e);
	s->count--;
	s->bytes -= e->len;
	e->zone->blocks--;
	e->zone->bytes -= e->len;
	zone_release(s, e->zone);
	free(e->data);
	free(e);
}

/* Memory-only insert/replace. */
static int mem_put(struct dht_store *s, const uint8_t key[DHT_KEY_LEN],
		   const struct dht_block_meta *meta, const uint8_t *blk, size_t len)
{
	struct dht_zone *z = zone_get(s, meta->zone, meta->zone_len, true);
	if (!z)
		return -ENOMEM;
	uint8_t *data = malloc(DHT_VAL_HDR + len);
	if (!data) {
		zone_release(s, z);
		return -ENOMEM;
	}
	data[0] = DHT_WIRE_VERSION;
	data[1] = DHT_VSRC_STORE;
	if (len)
		memcpy(data + DHT_VAL_HDR, blk, len);
	struct dht_entry *e = dht_store_find(s, key);
	if (e) {
		e->zone->blocks--;
		e->zone->bytes -= e->len;
		s->bytes -= e->len;
		if (e->zone != z)
			zone_release(s, e->zone);
		free(e->data);
	} else {
		e = calloc(1, sizeof(*e));
		if (!e) {
			free(data);
			zone_release(s, z);
			return -ENOMEM;
		}
		memcpy(e->key, key, DHT_KEY_LEN);
		HASH_ADD(hh, s->by_key, key, DHT_KEY_LEN, e);
		s->count++;
	}
	e->data = data;
	e->len = (uint32_t)len;
	e->version = meta->version;
	e->expire_us = meta->expire_us;
	e->zone = z;
	z->blocks++;
	z->bytes += len;
	s->bytes += len;
	return 0;
}

static int lmdb_err(int rc)
{
	if (rc == ENOMEM)
		return -ENOMEM;
	if (rc == MDB_MAP_FULL || rc == ENOSPC)
		return -ENOSPC; /* the map (or the disk) is full: nothing was written */
	if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED ||
	    rc == MDB_PAGE_NOTFOUND || rc == MDB_BAD_TXN)
		return DDNS_ECORRUPT;
	return rc > 0 ? -rc : -EIO;
}

static bool dir_empty_of_store(const char *dir, bool *has_store)
{
	DIR *dd = opendir(dir);
	bool empty = true;
	*has_store = false;
	if (!dd)
		return true;
	struct dirent *de;
	while ((de = readdir(dd)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strcmp(de->d_name, "data.mdb") == 0)
			*has_store = true;
		else if (strcmp(de->d_name, "lock.mdb") != 0)
			empty = false;
	}
	closedir(dd);
	return empty;
}

/* Decode a block record; false when corrupt. blk points into v. */
static bool rec_decode(const MDB_val *k, const MDB_val *v, struct dht_block_meta *meta,
		       const uint8_t **blk, size_t *blen)
{
	struct ddns_rbuf r;
	memset(meta, 0, sizeof(*meta));
	ddns_rbuf_init(&r, v->mv_data, v->mv_size);
	uint8_t f = ddns_rbuf_u8(&r);
	meta->version = ddns_rbuf_u64(&r);
	meta->expire_us = ddns_rbuf_u64(&r);
	meta->zone_len = ddns_rbuf_u8(&r);
	ddns_rbuf_copy(&r, meta->zone, meta->zone_len);
	*blen = ddns_rbuf_left(&r);
	*blk = ddns_rbuf_take(&r, *blen);
	return k->mv_size == DHT_KEY_LEN && f == REC_FMT && !r.err && *blen <= DHT_MAX_BLOCK;
}

/* Write a block record in txn (an LMDB code). */
static int rec_write(struct dht_store *s, MDB_txn *txn, const uint8_t key[DHT_KEY_LEN],
		     const struct dht_block_meta *meta, const uint8_t *blk, size_t len)
{
	MDB_val k = {DHT_KEY_LEN, (void *)key}, v;
	v.mv_size = 1 + 8 + 8 + 1 + meta->zone_len + len;
	int rc = mdb_put(txn, s->dbi, &k, &v, MDB_RESERVE);
	if (rc)
		return rc;
	struct ddns_wbuf w;
	ddns_wbuf_init_fixed(&w, v.mv_data, v.mv_size);
	ddns_wbuf_u8(&w, REC_FMT);
	ddns_wbuf_u64(&w, meta->version);
	ddns_wbuf_u64(&w, meta->expire_us);
	ddns_wbuf_u8(&w, meta->zone_len);
	ddns_wbuf_put(&w, meta->zone, meta->zone_len);
	ddns_wbuf_put(&w, blk, len);
	return 0;
}

static int load_all(struct dht_store *s, char *why, size_t whylen)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc) {
		snprintf(why, whylen, "cannot begin transaction: %s", mdb_strerror(rc));
		return lmdb_err(rc);
	}
	int err = 0;
	rc = mdb_dbi_open(txn, NULL, 0, &s->dbi);
	if (rc) {
		snprintf(why, whylen, "cannot open database: %s", mdb_strerror(rc));
		err = lmdb_err(rc);
		goto out;
	}
	MDB_val k = {MAGIC_KEY_LEN, (void *)MAGIC_KEY}, v;
	rc = mdb_get(txn, s->dbi, &k, &v);
	if (rc == MDB_NOTFOUND) {
		MDB_stat st;
		if (mdb_stat(txn, s->dbi, &st) == 0 && st.ms_entries > 0) {
			snprintf(why, whylen, "LMDB environment holds %zu records but no DDNS DHT "
					      "magic record: not a DHT store",
				 (size_t)st.ms_entries);
			err = DDNS_ECORRUPT;
			goto out;
		}
		uint8_t mv[MAGIC_VAL_LEN + 4];
		memcpy(mv, MAGIC_VAL, MAGIC_VAL_LEN);
		ddns_put_u32(mv + MAGIC_VAL_LEN, STORE_FORMAT);
		v.mv_size = sizeof(mv);
		v.mv_data = mv;
		rc = mdb_put(txn, s->dbi, &k, &v, 0);
		if (rc == 0) {
			rc = mdb_txn_commit(txn);
			txn = NULL;
		}
		if (rc) {
			snprintf(why, whylen, "cannot write magic record: %s", mdb_strerror(rc));
			err = lmdb_err(rc);
		}
		goto out;
	} else if (rc) {
		snprintf(why, whylen, "cannot read magic record: %s", mdb_strerror(rc));
		err = lmdb_err(rc);
		goto out;
	}
	if (v.mv_size != MAGIC_VAL_LEN + 4 || memcmp(v.mv_data, MAGIC_VAL, MAGIC_VAL_LEN) != 0) {
		snprintf(why, whylen, "bad magic record: not a DDNS DHT store");
		err = DDNS_ECORRUPT;
		goto out;
	}
	const uint8_t *mp = v.mv_data;
	uint32_t fmt = ddns_get_u32(mp + MAGIC_VAL_LEN);
	if (fmt != STORE_FORMAT) {
		snprintf(why, whylen, "store format %u, this build reads format %u", fmt, STORE_FORMAT);
		err = DDNS_ECORRUPT;
		goto out;
	}
	rc = mdb_cursor_open(txn, s->dbi, &cur);
	if (rc) {
		err = lmdb_err(rc);
		goto out;
	}
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		if (k.mv_size == MAGIC_KEY_LEN && memcmp(k.mv_data, MAGIC_KEY, MAGIC_KEY_LEN) == 0)
			continue;
		struct dht_block_meta meta;
		const uint8_t *blk;
		size_t blen;
		if (!rec_decode(&k, &v, &meta, &blk, &blen)) {
			snprintf(why, whylen, "corrupt block record (key %zu bytes, value %zu bytes)",
				 (size_t)k.mv_size, (size_t)v.mv_size);
			err = DDNS_ECORRUPT;
			goto out;
		}
		err = mem_put(s, k.mv_data, &meta, blk, blen);
		if (err)
			goto out;
	}
	if (rc != MDB_NOTFOUND) {
		snprintf(why, whylen, "cannot read store: %s", mdb_strerror(rc));
		err = lmdb_err(rc);
	}
out:
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	return err;
}

int dht_store_open(const char *dir, size_t map_size, struct dht_store **out, char *why, size_t whylen)
{
	int err = 0;
	*out = NULL;
	why[0] = 0;
	struct dht_store *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (dir) {
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			err = -errno;
			snprintf(why, whylen, "cannot create data dir %s: %s", dir, strerror(errno));
			goto out;
		}
		struct stat st;
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			err = -ENOTDIR;
			snprintf(why, whylen, "data dir %s is not a directory", dir);
			goto out;
		}
		bool has_store;
		if (!dir_empty_of_store(dir, &has_store) && !has_store) {
			err = DDNS_ECORRUPT;
			snprintf(why, whylen, "data dir %s is not empty and holds no DHT store "
					      "(refusing to mix with foreign files)", dir);
			goto out;
		}
		int rc = mdb_env_create(&s->env);
		if (rc == 0)
			rc = mdb_env_set_mapsize(s->env, map_size ? map_size : ((size_t)1 << 30));
		if (rc == 0)
			rc = mdb_env_open(s->env, dir, 0, 0600);
		if (rc) {
			err = lmdb_err(rc);
			snprintf(why, whylen, "cannot open LMDB store in %s: %s", dir, mdb_strerror(rc));
			goto out;
		}
		err = load_all(s, why, whylen);
		if (err)
			goto out;
	}
	*out = s;
	return 0;
out:
	dht_store_close(s);
	return err;
}

void dht_store_close(struct dht_store *s)
{
	if (!s)
		return;
	struct dht_entry *e, *tmp;
	HASH_ITER(hh, s->by_key, e, tmp)
	{
		HASH_DEL(s->by_key, e);
		free(e->data);
		free(e);
	}
	struct dht_zone *z, *zt;
	HASH_ITER(hh, s->zones, z, zt)
	{
		HASH_DEL(s->zones, z);
		free(z);
	}
	if (s->wtxn)
		(void)mdb_txn_commit(s->wtxn); /* what was staged, as at a sync */
	if (s->env)
		mdb_env_close(s->env);
	free(s->staged);
	free(s);
}

struct dht_entry *dht_store_find(struct dht_store *s, const uint8_t key[DHT_KEY_LEN])
{
	struct dht_entry *e = NULL;
	HASH_FIND(hh, s->by_key, key, DHT_KEY_LEN, e);
	return e;
}

int dht_store_check(struct dht_store *s, const uint8_t key[DHT_KEY_LEN],
		    const struct dht_block_meta *meta, const uint8_t *blk, size_t len,
		    bool check_quota, uint64_t quota_bytes, uint64_t quota_blocks,
		    uint64_t max_bytes, bool *same, char *reason, size_t reasonlen)
{
	struct dht_entry *e = dht_store_find(s, key);
	*same = false;
	if (reasonlen)
		reason[0] = 0;
	if (e) {
		if (meta->version < e->version) {
			snprintf(reason, reasonlen, "version %llu is older than stored version %llu",
				 (unsigned long long)meta->version, (unsigned long long)e->version);
			return DDNS_ESTALE;
		}
		if (meta->version == e->version) {
			if (e->len == len && memcmp(e->data + DHT_VAL_HDR, blk, len) == 0) {
				*same = true;
				return 0;
			}
			snprintf(reason, reasonlen, "version %llu already stored with other content",
				 (unsigned long long)meta->version);
			return DDNS_ESTALE;
		}
	}
	if (!check_quota)
		return 0;
	uint64_t total = s->bytes - (e ? e->len : 0);
	if (max_bytes && total + len > max_bytes) {
		snprintf(reason, reasonlen, "store full: %llu + %zu bytes, limit %llu",
			 (unsigned long long)total, len, (unsigned long long)max_bytes);
		return -ENOSPC;
	}
	struct dht_zone *z = zone_get(s, meta->zone, meta->zone_len, false);
	uint64_t blocks = z ? z->blocks : 0, bytes = z ? z->bytes : 0;
	if (e && e->zone == z) {
		blocks--;
		bytes -= e->len;
	}
	if (quota_blocks && blocks + 1 > quota_blocks) {
		snprintf(reason, reasonlen, "zone over quota: %llu blocks stored here, limit %llu",
			 (unsigned long long)blocks, (unsigned long long)quota_blocks);
		return DDNS_EQUOTA;
	}
	if (quota_bytes && bytes + len > quota_bytes) {
		snprintf(reason, reasonlen, "zone over quota: %llu + %zu bytes, limit %llu",
			 (unsigned long long)bytes, len, (unsigned long long)quota_bytes);
		return DDNS_EQUOTA;
	}
	return 0;
}

/* ---- grouped writes ---- */

/* Memory back to what LMDB holds for key (read in rt; NULL: nothing). */
static void restore_key(struct dht_store *s, MDB_txn *rt, const uint8_t key[DHT_KEY_LEN])
{
	MDB_val k = {DHT_KEY_LEN, (void *)key}, v;
	struct dht_block_meta meta;
	const uint8_t *blk;
	size_t blen;
	if (rt && mdb_get(rt, s->dbi, &k, &v) == 0 && rec_decode(&k, &v, &meta, &blk, &blen)) {
		(void)mem_put(s, key, &meta, blk, blen);
	} else {
		struct dht_entry *e = dht_store_find(s, key);
		if (e)
			entry_unlink(s, e);
	}
}

/* Memory back to what LMDB holds for every staged key (after the write
 * transaction was aborted or failed to commit). */
static void rollback(struct dht_store *s)
{
	MDB_txn *rt = NULL;
	if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &rt) != 0)
		rt = NULL;
	for (size_t i = 0; i < s->nstaged; i++)
		restore_key(s, rt, s->staged[i]);
	if (rt)
		mdb_txn_abort(rt);
	s->nstaged = 0;
}

/* Commit the open write transaction; on failure memory is rolled back. */
static int commit(struct dht_store *s)
{
	if (!s->wtxn)
		return 0;
	int rc = mdb_txn_commit(s->wtxn);
	s->wtxn = NULL;
	if (rc) {
		rollback(s);
		return lmdb_err(rc);
	}
	s->nstaged = 0;
	return 0;
}

/* Is key's committed record what memory holds (version, length, bytes)? */
static bool committed_same(struct dht_store *s, MDB_txn *rt, const uint8_t key[DHT_KEY_LEN])
{
	struct dht_entry *e = dht_store_find(s, key);
	MDB_val k = {DHT_KEY_LEN, (void *)key}, v;
	int rc = mdb_get(rt, s->dbi, &k, &v);
	if (rc == MDB_NOTFOUND)
		return !e;
	struct dht_block_meta meta;
	const uint8_t *blk;
	size_t blen;
	return rc == 0 && e && rec_decode(&k, &v, &meta, &blk, &blen) && meta.version == e->version &&
	       blen == e->len && memcmp(blk, e->data + DHT_VAL_HDR, blen) == 0;
}

/* The write transaction failed mid-way (LMDB then wants it aborted: the map
 * or the transaction is full, or memory ran out): abort it and write the
 * other staged changes again from memory, each in its own transaction as
 * an unstaged write would be, so that near a full map every one that fits
 * is kept. One that cannot be written is undone in memory too, and the
 * failure waits for dht_store_sync. */
static void restage(struct dht_store *s)
{
	mdb_txn_abort(s->wtxn);
	s->wtxn = NULL;
	for (size_t i = 0; i < s->nstaged; i++) {
		const uint8_t *key = s->staged[i];
		MDB_txn *t = NULL;
		int rc = mdb_txn_begin(s->env, NULL, 0, &t);
		if (rc == 0 && committed_same(s, t, key)) {
			mdb_txn_abort(t);
			continue;
		}
		struct dht_entry *e = dht_store_find(s, key);
		if (rc == 0 && e) {
			struct dht_block_meta meta;
			memset(&meta, 0, sizeof(meta));
			meta.version = e->version;
			meta.expire_us = e->expire_us;
			meta.zone_len = e->zone->zkey[0];
			memcpy(meta.zone, e->zone->zkey + 1, meta.zone_len);
			rc = rec_write(s, t, key, &meta, e->data + DHT_VAL_HDR, e->len);
		} else if (rc == 0) {
			MDB_val k = {DHT_KEY_LEN, (void *)key};
			rc = mdb_del(t, s->dbi, &k, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		}
		if (rc == 0) {
			rc = mdb_txn_commit(t);
			t = NULL;
		}
		if (t)
			mdb_txn_abort(t);
		if (rc) {
			MDB_txn *rt = NULL;
			if (mdb_txn_begin(s->env, NULL, MDB_RDONLY, &rt) != 0)
				rt = NULL;
			restore_key(s, rt, key);
			if (rt)
				mdb_txn_abort(rt);
			s->sync_err = lmdb_err(rc);
		}
	}
	s->nstaged = 0;
}

/* The open write transaction (begun when none is), the key noted in it. */
static int stage_begin(struct dht_store *s, const uint8_t key[DHT_KEY_LEN])
{
	if (s->nstaged == s->cstaged) {
		size_t c = s->cstaged ? 2 * s->cstaged : 64;
		void *p = realloc(s->staged, c * sizeof(*s->staged));
		if (!p)
			return -ENOMEM;
		s->staged = p;
		s->cstaged = c;
	}
	if (!s->wtxn) {
		int rc = mdb_txn_begin(s->env, NULL, 0, &s->wtxn);
		if (rc) {
			s->wtxn = NULL;
			return lmdb_err(rc);
		}
	}
	memcpy(s->staged[s->nstaged++], key, DHT_KEY_LEN);
	return 0;
}

int dht_store_stage(struct dht_store *s, const uint8_t key[DHT_KEY_LEN],
		    const struct dht_block_meta *meta, const uint8_t *blk, size_t len)
{
	if (!s->env)
		return mem_put(s, key, meta, blk, len);
	int err = stage_begin(s, key);
	if (err)
		return err;
	int rc = rec_write(s, s->wtxn, key, meta, blk, len);
	if (rc == 0 && (err = mem_put(s, key, meta, blk, len)) == 0)
		return 0;
	/* Not taken: LMDB has it in a transaction it wants aborted (map or
	 * transaction full), or memory could not take it. The key stays
	 * noted: rewriting from memory puts back what it held. */
	restage(s);
	return err ? err : lmdb_err(rc == MDB_TXN_FULL ? MDB_MAP_FULL : rc);
}

int dht_store_sync(struct dht_store *s)
{
	int rc = commit(s);
	if (rc == 0)
		rc = s->sync_err;
	s->sync_err = 0;
	return rc;
}

bool dht_store_unsynced(const struct dht_store *s)
{
	return s->wtxn != NULL || s->sync_err != 0;
}

int dht_store_put(struct dht_store *s, const uint8_t key[DHT_KEY_LEN],
		  const struct dht_block_meta *meta, const uint8_t *blk, size_t len)
{
	int rc = dht_store_stage(s, key, meta, blk, len);
	if (rc)
		return rc;
	if ((rc = commit(s)) != 0)
		s->sync_err = rc; /* for those waiting on other staged writes */
	return rc;
}

int dht_store_del(struct dht_store *s, const uint8_t key[DHT_KEY_LEN])
{
	struct dht_entry *e = dht_store_find(s, key);
	if (!e)
		return 0;
	if (s->env) {
		int rc = stage_begin(s, key);
		if (rc)
			return rc;
		MDB_val k = {DHT_KEY_LEN, (void *)key};
		rc = mdb_del(s->wtxn, s->dbi, &k, NULL);
		if (rc && rc != MDB_NOTFOUND) {
			restage(s);
			return lmdb_err(rc);
		}
		entry_unlink(s, e);
		/* Committed at once, with whatever else was staged. */
		if ((rc = commit(s)) != 0) {
			s->sync_err = rc;
			return rc;
		}
		return 0;
	}
	entry_unlink(s, e);
	return 0;
}

struct dht_entry *dht_store_all(struct dht_store *s) { return s->by_key; }
size_t dht_store_count(const struct dht_store *s) { return s->count; }
uint64_t dht_store_bytes(const struct dht_store *s) { return s->bytes; }

size_t dht_store_overhead(const struct dht_store *s)
{
	/* Entry, value header, hash-table share (handle + bucket), and the
	 * malloc header of the two allocations. */
	size_t per = sizeof(struct dht_entry) + DHT_VAL_HDR + 16 + 2 * 16;
	return s->count * per + HASH_COUNT(s->zones) * sizeof(struct dht_zone);
}

/* ---- cache ---- */

struct dht_cache {
	struct dht_centry *by_key;
	struct dht_centry *head, *tail; /* most recent first */
	size_t count;
	uint64_t bytes, max_bytes;
	uint64_t evictions, expired;
};

struct dht_cache *dht_cache_new(size_t max_bytes)
{
	struct dht_cache *c = calloc(1, sizeof(*c));
	if (c)
		c->max_bytes = max_bytes;
	return c;
}

static void lru_unlink(struct dht_cache *c, struct dht_centry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push_front(struct dht_cache *c, struct dht_centry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

static void centry_drop(struct dht_cache *c, struct dht_centry *e)
{
	lru_unlink(c, e);
	HASH_DEL(c->by_key, e);
	c->count--;
	c->bytes -= e->len;
	free(e->data);
	free(e);
}

void dht_cache_free(struct dht_cache *c)
{
	if (!c)
		return;
	while (c->head)
		centry_drop(c, c->head);
	free(c);
}

struct dht_centry *dht_cache_get(struct dht_cache *c, const uint8_t key[DHT_KEY_LEN], uint64_t now)
{
	struct dht_centry *e = NULL;
	HASH_FIND(hh, c->by_key, key, DHT_KEY_LEN, e);
	if (!e)
		return NULL;
	if (now >= e->expire_us) {
		c->expired++;
		centry_drop(c, e);
		return NULL;
	}
	lru_unlink(c, e);
	lru_push_front(c, e);
	return e;
}

int dht_cache_put(struct dht_cache *c, const uint8_t key[DHT_KEY_LEN], uint64_t version,
		  uint64_t expire_us, const uint8_t *blk, size_t len)
{
	if (len > c->max_bytes)
		return DDNS_ETOOBIG;
	struct dht_centry *e = NULL;
	HASH_FIND(hh, c->by_key, key, DHT_KEY_LEN, e);
	if (e && e->version > version)
		return 0;
	if (e)
		centry_drop(c, e);
	while (c->tail && c->bytes + len > c->max_bytes) {
		c->evictions++;
		centry_drop(c, c->tail);
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->data = malloc(DHT_VAL_HDR + len);
	if (!e->data) {
		free(e);
		return -ENOMEM;
	}
	e->data[0] = DHT_WIRE_VERSION;
	e->data[1] = DHT_VSRC_CACHE;
	if (len)
		memcpy(e->data + DHT_VAL_HDR, blk, len);
	memcpy(e->key, key, DHT_KEY_LEN);
	e->len = (uint32_t)len;
	e->version = version;
	e->expire_us = expire_us;
	HASH_ADD(hh, c->by_key, key, DHT_KEY_LEN, e);
	lru_push_front(c, e);
	c->count++;
	c->bytes += len;
	return 0;
}

void dht_cache_del(struct dht_cache *c, const uint8_t key[DHT_KEY_LEN])
{
	struct dht_centry *e = NULL;
	HASH_FIND(hh, c->by_key, key, DHT_KEY_LEN, e);
	if (e)
		centry_drop(c, e);
}

size_t dht_cache_count(const struct dht_cache *c) { return c->count; }
uint64_t dht_cache_bytes(const struct dht_cache *c) { return c->bytes; }
uint64_t dht_cache_evictions(const struct dht_cache *c) { return c->evictions; }
uint64_t dht_cache_expired(const struct dht_cache *c) { return c->expired; }
