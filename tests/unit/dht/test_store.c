/*
 * test_store.c - dht/store.c: LMDB persistence (blocks survive reopening, as
 * after kill -9, since every put is committed before it returns), grouped
 * commits of staged writes (and a map that fills mid-group), corrupt
 * and foreign data directories refused with DDNS_ECORRUPT, version and quota
 * checks, the LRU cache bounded by bytes with expiry; and dht/msg.c codecs.
 */
#include <check.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dht/msg.h"
#include <lmdb.h>

#include "dht/store.h"

static char tmpl[64];

static const char *tmpdir(void)
{
	snprintf(tmpl, sizeof(tmpl), "/tmp/ddns-dht-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	return tmpl;
}

static void rmtree(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void meta_of(struct dht_block_meta *m, const char *zone, uint64_t version)
{
	memset(m, 0, sizeof(*m));
	m->zone_len = (uint8_t)strlen(zone);
	memcpy(m->zone, zone, m->zone_len);
	m->version = version;
	m->expire_us = 1000;
}

/* The key of block number i of the map-filling tests. */
static void num_key(uint8_t key[DHT_KEY_LEN], int i)
{
	memset(key, 0, DHT_KEY_LEN);
	memcpy(key, &i, sizeof(i));
}

/* Blocks 0, 1, ... of 3,000 bytes each (zone "z.", version 1), put or
 * staged until the store refuses one; returns how many it took and the
 * refusal in *rc. */
static int fill_map(struct dht_store *s, bool staged, int *rc)
{
	static uint8_t blk[3000];
	struct dht_block_meta m;
	uint8_t key[DHT_KEY_LEN];
	int n = 0;
	*rc = 0;
	for (; n < 1000; n++) {
		num_key(key, n);
		memset(blk, 'a' + n % 26, sizeof(blk));
		meta_of(&m, "z.", 1);
		*rc = staged ? dht_store_stage(s, key, &m, blk, sizeof(blk))
			     : dht_store_put(s, key, &m, blk, sizeof(blk));
		if (*rc)
			break;
	}
	return n;
}

START_TEST(persist_reopen)
{
	const char *dir = tmpdir();
	char sub[128], why[256];
	snprintf(sub, sizeof(sub), "%s/store", dir);
	struct dht_store *s;
	ck_assert_int_eq(dht_store_open(sub, 0, &s, why, sizeof(why)), 0);
	uint8_t key[DHT_KEY_LEN];
	struct dht_block_meta m;
	for (int i = 0; i < 100; i++) {
		memset(key, i, sizeof(key));
		meta_of(&m, i % 2 ? "a." : "b.", (uint64_t)i + 7);
		char blk[64];
		int n = snprintf(blk, sizeof(blk), "block %d", i);
		ck_assert_int_eq(dht_store_put(s, key, &m, (uint8_t *)blk, (size_t)n), 0);
	}
	memset(key, 5, sizeof(key));
	ck_assert_int_eq(dht_store_del(s, key), 0);
	dht_store_close(s); /* an unclean exit loses nothing either: commits are synchronous */
	ck_assert_int_eq(dht_store_open(sub, 0, &s, why, sizeof(why)), 0);
	ck_assert_uint_eq(dht_store_count(s), 99);
	memset(key, 42, sizeof(key));
	struct dht_entry *e = dht_store_find(s, key);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->version, 49);
	ck_assert_uint_eq(e->len, 8);
	ck_assert_mem_eq(e->data + DHT_VAL_HDR, "block 42", 8);
	ck_assert_uint_eq(e->zone->blocks, 50); /* "b." holds the 50 even ones */
	memset(key, 5, sizeof(key));
	ck_assert_ptr_null(dht_store_find(s, key));
	dht_store_close(s);
	rmtree(dir);
}
END_TEST

/* A full LMDB map: the put that does not fit is refused with -ENOSPC, the
 * store is unchanged by it, stays usable (a delete, then a put that fits),
 * and every put acknowledged before is there after a reopen. */
START_TEST(map_full)
{
	const char *dir = tmpdir();
	char sub[128], why[256];
	snprintf(sub, sizeof(sub), "%s/store", dir);
	struct dht_store *s;
	const size_t map = 256 * 1024;
	ck_assert_int_eq(dht_store_open(sub, map, &s, why, sizeof(why)), 0);
	static uint8_t blk[3000];
	struct dht_block_meta m;
	uint8_t key[DHT_KEY_LEN];
	int rc, n = fill_map(s, false, &rc);
	meta_of(&m, "z.", 1);
	ck_assert_int_eq(rc, -ENOSPC);
	ck_assert_int_gt(n, 10);
	ck_assert_uint_eq(dht_store_count(s), (size_t)n);
	num_key(key, n);
	ck_assert_ptr_null(dht_store_find(s, key));
	/* Still usable: room made by a delete takes a new block. */
	int gone = 0;
	num_key(key, gone);
	ck_assert_int_eq(dht_store_del(s, key), 0);
	num_key(key, n);
	ck_assert_int_eq(dht_store_put(s, key, &m, blk, 100), 0);
	dht_store_close(s);
	ck_assert_int_eq(dht_store_open(sub, map, &s, why, sizeof(why)), 0);
	ck_assert_uint_eq(dht_store_count(s), (size_t)n);
	for (int i = 1; i < n; i++) {
		num_key(key, i);
		struct dht_entry *e = dht_store_find(s, key);
		ck_assert_ptr_nonnull(e);
		ck_assert_uint_eq(e->len, sizeof(blk));
		ck_assert_uint_eq(e->data[DHT_VAL_HDR + 100], (uint8_t)('a' + i % 26));
	}
	dht_store_close(s);
	rmtree(dir);
}
END_TEST

/* Grouped writes: blocks staged into one open transaction are in memory at
 * once and durable after dht_store_sync. When the map fills mid-group, the
 * block that does not fit is refused (-ENOSPC, the store unchanged for it)
 * and LMDB's aborted
 * transaction is written again from memory, so every block staged before
 * the refusal is there after the sync and a reopen. */
START_TEST(staged_group_commit)
{
	const char *dir = tmpdir();
	char sub[128], why[256];
	snprintf(sub, sizeof(sub), "%s/store", dir);
	struct dht_store *s;
	const size_t map = 256 * 1024;
	ck_assert_int_eq(dht_store_open(sub, map, &s, why, sizeof(why)), 0);
	static uint8_t blk[3000];
	struct dht_block_meta m;
	uint8_t key[DHT_KEY_LEN], k0[DHT_KEY_LEN];
	memset(k0, 0xee, sizeof(k0));
	meta_of(&m, "z.", 1);
	ck_assert_int_eq(dht_store_put(s, k0, &m, (const uint8_t *)"old", 3), 0);
	ck_assert(!dht_store_unsynced(s));
	meta_of(&m, "z.", 2);
	ck_assert_int_eq(dht_store_stage(s, k0, &m, (const uint8_t *)"new!", 4), 0);
	ck_assert(dht_store_unsynced(s));
	ck_assert_uint_eq(dht_store_find(s, k0)->version, 2);
	int rc, n = fill_map(s, true, &rc);
	ck_assert_int_eq(rc, -ENOSPC);
	ck_assert_int_gt(n, 10);
	/* Written again one by one, a few of the group may no longer fit:
	 * those are undone in memory, and the sync reports it. */
	size_t kept = dht_store_count(s);
	ck_assert_uint_ge(kept, 10);
	ck_assert_uint_le(kept, (size_t)n + 1);
	bool have[1000] = {false};
	for (int i = 0; i < n; i++) {
		num_key(key, i);
		have[i] = dht_store_find(s, key) != NULL;
	}
	num_key(key, n);
	ck_assert_ptr_null(dht_store_find(s, key));
	struct dht_entry *e = dht_store_find(s, k0);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->version, 2);
	ck_assert(dht_store_unsynced(s) == (kept < (size_t)n + 1)); /* the undone ones wait for the sync */
	rc = dht_store_sync(s);
	if (kept == (size_t)n + 1)
		ck_assert_int_eq(rc, 0);
	else
		ck_assert_int_eq(rc, -ENOSPC);
	ck_assert(!dht_store_unsynced(s));
	ck_assert_int_eq(dht_store_sync(s), 0); /* nothing more to commit */
	dht_store_close(s);
	ck_assert_int_eq(dht_store_open(sub, map, &s, why, sizeof(why)), 0);
	ck_assert_uint_eq(dht_store_count(s), kept);
	e = dht_store_find(s, k0);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->version, 2);
	ck_assert_mem_eq(e->data + DHT_VAL_HDR, "new!", 4);
	for (int i = 0; i < n; i++) {
		num_key(key, i);
		e = dht_store_find(s, key);
		ck_assert(have[i] == (e != NULL));
		if (!e)
			continue;
		ck_assert_uint_eq(e->len, sizeof(blk));
		ck_assert_uint_eq(e->data[DHT_VAL_HDR + 100], (uint8_t)('a' + i % 26));
	}
	num_key(key, n);
	ck_assert_ptr_null(dht_store_find(s, key));
	/* A delete commits what was staged with it. */
	meta_of(&m, "z.", 4);
	ck_assert_int_eq(dht_store_stage(s, k0, &m, (const uint8_t *)"four", 4), 0);
	int first = 0;
	while (!have[first])
		first++;
	num_key(key, first);
	ck_assert_int_eq(dht_store_del(s, key), 0);
	ck_assert(!dht_store_unsynced(s));
	dht_store_close(s);
	ck_assert_int_eq(dht_store_open(sub, map, &s, why, sizeof(why)), 0);
	ck_assert_uint_eq(dht_store_count(s), kept - 1);
	ck_assert_uint_eq(dht_store_find(s, k0)->version, 4);
	dht_store_close(s);
	rmtree(dir);
}
END_TEST

START_TEST(corrupt_and_foreign)
{
	const char *dir = tmpdir();
	char path[160], why[256];
	struct dht_store *s;
	/* A data.mdb that is not LMDB. */
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	FILE *f = fopen(path, "w");
	for (int i = 0; i < 1000; i++)
		fputs("garbage garbage garbage ", f);
	fclose(f);
	ck_assert_int_eq(dht_store_open(dir, 0, &s, why, sizeof(why)), DDNS_ECORRUPT);
	ck_assert_ptr_null(s);
	ck_assert_msg(strlen(why) > 0, "no explanation");
	rmtree(dir);
	/* A non-empty directory that holds no store. */
	dir = tmpdir();
	snprintf(path, sizeof(path), "%s/notes.txt", dir);
	f = fopen(path, "w");
	fputs("mine\n", f);
	fclose(f);
	ck_assert_int_eq(dht_store_open(dir, 0, &s, why, sizeof(why)), DDNS_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(why, "not empty"));
	rmtree(dir);
	/* Someone else's LMDB environment (records, no magic). */
	dir = tmpdir();
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_open(env, dir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	MDB_val k = {3, "foo"}, v = {3, "bar"};
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	ck_assert_int_eq(dht_store_open(dir, 0, &s, why, sizeof(why)), DDNS_ECORRUPT);
	ck_assert_ptr_nonnull(strstr(why, "magic"));
	rmtree(dir);
}
END_TEST

START_TEST(version_and_quota)
{
	struct dht_store *s;
	char why[256], reason[160];
	ck_assert_int_eq(dht_store_open(NULL, 0, &s, why, sizeof(why)), 0);
	uint8_t key[DHT_KEY_LEN] = {1}, key2[DHT_KEY_LEN] = {2};
	struct dht_block_meta m;
	bool same;
	meta_of(&m, "z.", 10);
	ck_assert_int_eq(dht_store_check(s, key, &m, (uint8_t *)"abc", 3, true, 0, 1, 0, &same, reason, sizeof(reason)), 0);
	ck_assert_int_eq(dht_store_put(s, key, &m, (uint8_t *)"abc", 3), 0);
	ck_assert_int_eq(dht_store_check(s, key, &m, (uint8_t *)"abc", 3, true, 0, 1, 0, &same, reason, sizeof(reason)), 0);
	ck_assert(same);
	ck_assert_int_eq(dht_store_check(s, key, &m, (uint8_t *)"abd", 3, true, 0, 1, 0, &same, reason, sizeof(reason)), DDNS_ESTALE);
	meta_of(&m, "z.", 9);
	ck_assert_int_eq(dht_store_check(s, key, &m, (uint8_t *)"old", 3, true, 0, 1, 0, &same, reason, sizeof(reason)), DDNS_ESTALE);
	meta_of(&m, "z.", 11); /* replacing does not count twice against the quota */
	ck_assert_int_eq(dht_store_check(s, key, &m, (uint8_t *)"new", 3, true, 0, 1, 0, &same, reason, sizeof(reason)), 0);
	ck_assert_int_eq(dht_store_check(s, key2, &m, (uint8_t *)"new", 3, true, 0, 1, 0, &same, reason, sizeof(reason)), DDNS_EQUOTA);
	ck_assert_ptr_nonnull(strstr(reason, "quota"));
	ck_assert_int_eq(dht_store_check(s, key2, &m, (uint8_t *)"new", 3, true, 5, 0, 0, &same, reason, sizeof(reason)), DDNS_EQUOTA);
	meta_of(&m, "other.", 1);
	ck_assert_int_eq(dht_store_check(s, key2, &m, (uint8_t *)"new", 3, true, 5, 1, 0, &same, reason, sizeof(reason)), 0);
	dht_store_close(s);
}
END_TEST

START_TEST(cache_lru_and_expiry)
{
	struct dht_cache *c = dht_cache_new(1000);
	uint8_t key[DHT_KEY_LEN];
	uint8_t blk[300];
	memset(blk, 7, sizeof(blk));
	for (int i = 0; i < 3; i++) {
		memset(key, i, sizeof(key));
		dht_cache_put(c, key, 1, 100, blk, sizeof(blk));
	}
	memset(key, 0, sizeof(key));
	ck_assert_ptr_nonnull(dht_cache_get(c, key, 10)); /* 0 becomes most recent */
	memset(key, 3, sizeof(key));
	dht_cache_put(c, key, 1, 100, blk, sizeof(blk)); /* evicts 1, the least recent */
	ck_assert_uint_le(dht_cache_bytes(c), 1000);
	ck_assert_uint_eq(dht_cache_evictions(c), 1);
	memset(key, 1, sizeof(key));
	ck_assert_ptr_null(dht_cache_get(c, key, 10));
	memset(key, 0, sizeof(key));
	ck_assert_ptr_nonnull(dht_cache_get(c, key, 10));
	ck_assert_ptr_null(dht_cache_get(c, key, 100)); /* expired */
	ck_assert_uint_eq(dht_cache_expired(c), 1);
	ck_assert_int_eq(dht_cache_put(c, key, 1, 100, blk, 0), 0);
	uint8_t big[2000] = {0};
	ck_assert_int_eq(dht_cache_put(c, key, 1, 100, big, sizeof(big)), DDNS_ETOOBIG);
	dht_cache_free(c);
	dht_cache_free(NULL);
}
END_TEST

START_TEST(msg_codecs)
{
	struct ddns_wbuf w;
	struct dht_msg m;
	uint8_t key[DHT_KEY_LEN] = {9, 8, 7};
	ddns_wbuf_init(&w, 0);
	ck_assert(dht_msg_store(&w, key, DHT_KIND_CACHE, (uint8_t *)"hello", 5));
	ck_assert_int_eq(dht_msg_decode(DHT_MSG_STORE, w.p, w.len, &m), 0);
	ck_assert_mem_eq(m.key, key, DHT_KEY_LEN);
	ck_assert_uint_eq(m.kind, DHT_KIND_CACHE);
	ck_assert_uint_eq(m.len, 5);
	ck_assert_mem_eq(m.blk, "hello", 5);
	/* Every truncation and one extra byte are malformed. */
	for (size_t n = 0; n < w.len; n++)
		ck_assert_int_eq(dht_msg_decode(DHT_MSG_STORE, w.p, n, &m), DDNS_EMALFORMED);
	ddns_wbuf_u8(&w, 0);
	ck_assert_int_eq(dht_msg_decode(DHT_MSG_STORE, w.p, w.len, &m), DDNS_EMALFORMED);
	w.p[0] = 2; /* unknown version */
	ck_assert_int_eq(dht_msg_decode(DHT_MSG_STORE, w.p, w.len - 1, &m), DDNS_EMALFORMED);
	ddns_wbuf_free(&w);

	ddns_wbuf_init(&w, 0);
	ck_assert(dht_msg_put_r(&w, DDNS_EQUOTA, 0, "zone over quota"));
	ck_assert_int_eq(dht_msg_decode(DHT_MSG_PUT_R, w.p, w.len, &m), 0);
	ck_assert_int_eq(m.status, DDNS_EQUOTA);
	ck_assert_uint_eq(m.reason_len, 15);
	ddns_wbuf_free(&w);

	struct dht_digest_ent e[3];
	for (int i = 0; i < 3; i++) {
		memset(e[i].key, i + 1, DHT_KEY_LEN);
		e[i].version = 0x0102030405060708ULL + (uint64_t)i;
	}
	ddns_wbuf_init(&w, 0);
	ck_assert(dht_msg_digest(&w, e, 3));
	ck_assert_int_eq(dht_msg_decode(DHT_MSG_DIGEST, w.p, w.len, &m), 0);
	ck_assert_uint_eq(m.nents, 3);
	struct dht_digest_ent got;
	dht_msg_digest_ent(&m, 2, &got);
	ck_assert_mem_eq(got.key, e[2].key, DHT_KEY_LEN);
	ck_assert(got.version == e[2].version);
	ddns_wbuf_free(&w);

	uint16_t idx[2] = {0, 2};
	uint8_t want[2] = {DHT_WANT_SEND, DHT_WANT_NEWER};
	ddns_wbuf_init(&w, 0);
	ck_assert(dht_msg_digest_r(&w, idx, want, 2));
	ck_assert_int_eq(dht_msg_decode(DHT_MSG_DIGEST_R, w.p, w.len, &m), 0);
	uint16_t gi;
	uint8_t gw;
	dht_msg_digest_r_ent(&m, 1, &gi, &gw);
	ck_assert_uint_eq(gi, 2);
	ck_assert_uint_eq(gw, DHT_WANT_NEWER);
	ddns_wbuf_free(&w);

	uint8_t val[4] = {DHT_WIRE_VERSION, DHT_VSRC_CACHE, 'x', 'y'}, src;
	const uint8_t *b;
	size_t bl;
	ck_assert_int_eq(dht_value_decode(val, 4, &src, &b, &bl), 0);
	ck_assert_uint_eq(bl, 2);
	val[1] = 9;
	ck_assert_int_eq(dht_value_decode(val, 4, &src, &b, &bl), DDNS_EMALFORMED);
	ck_assert_int_eq(dht_msg_decode(99, val, 4, &m), DDNS_EMALFORMED);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dht-store");
	TCase *tc = tcase_create("store");
	tcase_add_test(tc, persist_reopen);
	tcase_add_test(tc, map_full);
	tcase_add_test(tc, staged_group_commit);
	tcase_add_test(tc, corrupt_and_foreign);
	tcase_add_test(tc, version_and_quota);
	tcase_add_test(tc, cache_lru_and_expiry);
	tcase_add_test(tc, msg_codecs);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
