/* Unit tests for the overlay table (overlay/overlay.h): wire id <-> name <->
 * ops <-> mask bit, the one mapping every program uses. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/overlay.h"
#include "overlay/rpc.h"

START_TEST(each_backend_round_trips_through_wire_id_and_name)
{
	const char *names[] = {"chord", "kad16"};
	const uint8_t wires[] = {RPC_OVL_CHORD, RPC_OVL_KAD16};
	for (size_t i = 0; i < 2; i++) {
		const struct ovl_ops *ops = ovl_ops_by_name(names[i]);
		ck_assert_ptr_nonnull(ops);
		ck_assert_uint_eq(ovl_ops_wire_id(ops), wires[i]);
		ck_assert_ptr_eq(ovl_ops_by_wire(wires[i]), ops);
		ck_assert_str_eq(ovl_wire_name(wires[i]), names[i]);
		ck_assert_str_eq(ovl_ops_name(ops), names[i]);
	}
	ck_assert_ptr_eq(ovl_ops_by_name("chord"), &chord_ops);
	ck_assert_ptr_eq(ovl_ops_by_name("kad16"), &kad16_ops);
}
END_TEST

START_TEST(unknown_wire_ids_and_names_are_refused)
{
	ck_assert_ptr_null(ovl_ops_by_wire(RPC_OVL_NONE));
	ck_assert_ptr_null(ovl_ops_by_wire(3));
	ck_assert_ptr_null(ovl_ops_by_wire(255));
	ck_assert_str_eq(ovl_wire_name(RPC_OVL_NONE), "?");
	ck_assert_str_eq(ovl_wire_name(200), "?");
	ck_assert_ptr_null(ovl_ops_by_name("pastry"));
	ck_assert_ptr_null(ovl_ops_by_name(""));
}
END_TEST

START_TEST(mask_bits_are_distinct_and_all_covers_both)
{
	ck_assert_uint_eq(OVL_BIT(RPC_OVL_CHORD) & OVL_BIT(RPC_OVL_KAD16), 0);
	ck_assert_uint_eq(OVL_MASK_ALL, OVL_BIT(RPC_OVL_CHORD) | OVL_BIT(RPC_OVL_KAD16));
	/* the masks fit the uint8_t fields the CLI keeps them in */
	ck_assert_uint_lt(OVL_MASK_ALL, 256);
}
END_TEST

static Suite *table_suite(void)
{
	Suite *s = suite_create("overlay_table");
	TCase *tc = tcase_create("table");
	tcase_add_test(tc, each_backend_round_trips_through_wire_id_and_name);
	tcase_add_test(tc, unknown_wire_ids_and_names_are_refused);
	tcase_add_test(tc, mask_bits_are_distinct_and_all_covers_both);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(table_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
