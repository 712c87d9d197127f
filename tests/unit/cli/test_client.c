/*
 * test_client.c - the client message codecs of cli/client.c: round trips,
 * and every truncation or trailing byte rejected.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "overlay/overlay_impl.h" /* ovl_node_make */

/* Every proper prefix, and the message plus one byte, must be refused. */
#define CHECK_PREFIXES(w, decode_expr)                                            \
	do {                                                                      \
		for (size_t cut = 0; cut < (w).len; cut++) {                      \
			const uint8_t *P = (w).p;                                 \
			size_t L = cut;                                           \
			ck_assert_int_eq((decode_expr), DDNS_EMALFORMED);         \
		}                                                                 \
		uint8_t *big = malloc((w).len + 1);                               \
		memcpy(big, (w).p, (w).len);                                      \
		big[(w).len] = 0;                                                 \
		{                                                                 \
			const uint8_t *P = big;                                   \
			size_t L = (w).len + 1;                                   \
			ck_assert_int_eq((decode_expr), DDNS_EMALFORMED);         \
		}                                                                 \
		free(big);                                                        \
	} while (0)

START_TEST(status_roundtrip)
{
	struct cli_status in, out;
	memset(&in, 0, sizeof(in));
	in.uptime_s = 42;
	in.dns_port = 5353;
	in.replicas = 6;
	in.ninst = 2;
	in.inst[0] = (struct cli_inst){.overlay = RPC_OVL_KAD16, .routing_size = 11,
				       .neighbours = 7, .blocks_primary = 3, .lookups = 1ull << 40,
				       .forged_served = 9};
	in.inst[1] = (struct cli_inst){.overlay = RPC_OVL_CHORD, .vnode = 3, .lookup_rpcs = 77};
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	ck_assert(cli_msg_status_r(&w, &in));
	ck_assert_int_eq(cli_msg_status_r_decode(w.p, w.len, &out), 0);
	ck_assert_uint_eq(out.ninst, 2);
	ck_assert_uint_eq(out.dns_port, 5353);
	ck_assert_mem_eq(&out.inst[0], &in.inst[0], sizeof(in.inst[0]));
	ck_assert_mem_eq(&out.inst[1], &in.inst[1], sizeof(in.inst[1]));
	ck_assert_uint_eq(out.flags, 0);
	/* The flags byte round-trips; a reply without it (an older node)
	 * decodes with JOINED; any shorter prefix is malformed. */
	in.flags = CLI_ST_JOINED | CLI_ST_FOUNDER;
	ddns_wbuf_free(&w);
	ddns_wbuf_init(&w, 0);
	ck_assert(cli_msg_status_r(&w, &in));
	ck_assert_int_eq(cli_msg_status_r_decode(w.p, w.len, &out), 0);
	ck_assert_uint_eq(out.flags, CLI_ST_JOINED | CLI_ST_FOUNDER);
	ck_assert_int_eq(cli_msg_status_r_decode(w.p, w.len - 1, &out), 0);
	ck_assert_uint_eq(out.flags, CLI_ST_JOINED);
	ck_assert_uint_eq(out.ninst, 2);
	for (size_t cut = 0; cut + 1 < w.len; cut++)
		ck_assert_int_eq(cli_msg_status_r_decode(w.p, cut, &out), DDNS_EMALFORMED);
	ck_assert(ddns_wbuf_u8(&w, 0)); /* a byte after the flags */
	ck_assert_int_eq(cli_msg_status_r_decode(w.p, w.len, &out), DDNS_EMALFORMED);
	w.p[0] = 2; /* unknown version */
	ck_assert_int_eq(cli_msg_status_r_decode(w.p, w.len, &out), DDNS_EMALFORMED);
	ddns_wbuf_free(&w);
}
END_TEST

START_TEST(put_roundtrip)
{
	uint8_t blk[300];
	for (size_t i = 0; i < sizeof(blk); i++)
		blk[i] = (uint8_t)i;
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	ck_assert(cli_msg_put(&w, 1u << RPC_OVL_KAD16, blk, sizeof(blk)));
	uint8_t mask;
	const uint8_t *b;
	size_t bl;
	ck_assert_int_eq(cli_msg_put_decode(w.p, w.len, &mask, &b, &bl), 0);
	ck_assert_uint_eq(mask, 1u << RPC_OVL_KAD16);
	ck_assert_uint_eq(bl, sizeof(blk));
	ck_assert_mem_eq(b, blk, sizeof(blk));
	CHECK_PREFIXES(w, cli_msg_put_decode(P, L, &mask, &b, &bl));
	ddns_wbuf_free(&w);

	struct cli_put_result r[2] = {
		{.overlay = RPC_OVL_KAD16, .status = 0, .replicas = 6, .rpcs = 9, .hops = 3},
		{.overlay = RPC_OVL_CHORD, .status = DDNS_EBOGUS, .reason = "validation failed"}};
	struct cli_put_result o[2];
	size_t n;
	ddns_wbuf_init(&w, 0);
	ck_assert(cli_msg_put_r(&w, r, 2));
	ck_assert_int_eq(cli_msg_put_r_decode(w.p, w.len, o, 2, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(o[1].status, DDNS_EBOGUS);
	ck_assert_str_eq(o[1].reason, "validation failed");
	ck_assert_uint_eq(o[0].replicas, 6);
	ck_assert_uint_eq(o[0].rpcs, 9);
	/* Fewer slots than results: still decodes, reports what fits. */
	ck_assert_int_eq(cli_msg_put_r_decode(w.p, w.len, o, 1, &n), 0);
	ck_assert_uint_eq(n, 1);
	CHECK_PREFIXES(w, cli_msg_put_r_decode(P, L, o, 2, &n));
	ddns_wbuf_free(&w);
}
END_TEST

START_TEST(get_roundtrip)
{
	static const uint8_t name[] = "\3www\7example\3org";
	struct ddns_wbuf w;
	ddns_wbuf_init(&w, 0);
	ck_assert(cli_msg_get(&w, RPC_OVL_CHORD, CLI_GET_LOCAL, name, sizeof(name), 28));
	uint8_t ovl, flags;
	const uint8_t *nm;
	size_t nl;
	uint16_t type;
	ck_assert_int_eq(cli_msg_get_decode(w.p, w.len, &ovl, &flags, &nm, &nl, &type), 0);
	ck_assert_uint_eq(ovl, RPC_OVL_CHORD);
	ck_assert_uint_eq(flags, CLI_GET_LOCAL);
	ck_assert_uint_eq(nl, sizeof(name));
	ck_assert_mem_eq(nm, name, sizeof(name));
	ck_assert_uint_eq(type, 28);
	CHECK_PREFIXES(w, cli_msg_get_decode(P, L, &ovl, &flags, &nm, &nl, &type));
	ddns_wbuf_free(&w);

	uint8_t blk[40];
	memset(blk, 0xab, sizeof(blk));
	struct cli_get_result in = {.status = 0, .overlay = RPC_OVL_KAD16, .rpcs = 4, .hops = 2,
				    .source = DHT_SRC_REPLICA, .version = 1700000000,
				    .block = blk, .len = sizeof(blk)};
	ovl_node_make(&in.from, &(struct tr_addr){.family = TR_AF_INET, .ip = {127, 0, 0, 5},
						  .port = 5300}, 0);
	struct cli_get_result out;
	ddns_wbuf_init(&w, 0);
	ck_assert(cli_msg_get_r(&w, &in));
	ck_assert_int_eq(cli_msg_get_r_decode(w.p, w.len, &out), 0);
	ck_assert_uint_eq(out.rpcs, 4);
	ck_assert_uint_eq(out.source, DHT_SRC_REPLICA);
	ck_assert(tr_addr_eq(&out.from.addr, &in.from.addr));
	ck_assert_mem_eq(out.from.id, in.from.id, DDNS_ID_LEN);
	ck_assert_uint_eq(out.version, 1700000000);
	ck_assert_uint_eq(out.len, sizeof(blk));
	ck_assert_mem_eq(out.block, blk, sizeof(blk));
	CHECK_PREFIXES(w, cli_msg_get_r_decode(P, L, &out));
	ddns_wbuf_free(&w);

	/* Not found: no node, no block. */
	struct cli_get_result nf = {.status = DDNS_ENOTFOUND, .overlay = RPC_OVL_KAD16};
	ddns_wbuf_init(&w, 0);
	ck_assert(cli_msg_get_r(&w, &nf));
	ck_assert_int_eq(cli_msg_get_r_decode(w.p, w.len, &out), 0);
	ck_assert_int_eq(out.status, DDNS_ENOTFOUND);
	ck_assert_ptr_null(out.block);
	ddns_wbuf_free(&w);
}
END_TEST

static Suite *client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("codecs");
	tcase_add_test(tc, status_roundtrip);
	tcase_add_test(tc, put_roundtrip);
	tcase_add_test(tc, get_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(client_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
