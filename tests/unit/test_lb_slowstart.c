/*
 * test_lb_slowstart: the linear weight ramp of a recovered server, and the time
 * of its next step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lb/lb_slowstart.h"

static void test_lb_slowstart_ramps_linearly_from_one(void **state)
{
    (void)state;
    assert_int_equal(lb_slowstart_weight(100, 0, 10000), 1);
    assert_int_equal(lb_slowstart_weight(100, 1, 10000), 1);
    assert_int_equal(lb_slowstart_weight(100, 2500, 10000), 25);
    assert_int_equal(lb_slowstart_weight(100, 5001, 10000), 51); /* ceil */
    assert_int_equal(lb_slowstart_weight(100, 9999, 10000), 100);
    assert_int_equal(lb_slowstart_weight(100, 10000, 10000), 100);
    assert_int_equal(lb_slowstart_weight(100, 99999999, 10000), 100);
}

static void test_lb_slowstart_off_or_zero_weight_is_unchanged(void **state)
{
    (void)state;
    assert_int_equal(lb_slowstart_weight(7, 0, 0), 7);
    assert_int_equal(lb_slowstart_weight(0, 10, 1000), 0);
    assert_int_equal(lb_slowstart_weight(UINT32_MAX, 1, 2), UINT32_MAX / 2 + 1);
}

static void test_lb_slowstart_is_monotonic_and_next_step_is_exact(void **state)
{
    const uint32_t weights[] = {1, 3, 10, 256};
    (void)state;
    for (size_t k = 0; k < 4; k++) {
        uint32_t w = weights[k], prev = 0;
        for (uint64_t e = 0; e <= 3000; e++) {
            uint32_t now = lb_slowstart_weight(w, e, 3000);
            uint64_t next = lb_slowstart_next_ms(w, e, 3000);
            assert_true(now >= prev && now >= 1 && now <= w);
            prev = now;
            if (now == w) {
                assert_true(next == 0);
                continue;
            }
            /* the weight is constant until `next` and larger at `next` */
            assert_true(next > e && next <= 3000);
            assert_int_equal(lb_slowstart_weight(w, next - 1, 3000), now);
            assert_true(lb_slowstart_weight(w, next, 3000) > now);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lb_slowstart_ramps_linearly_from_one),
        cmocka_unit_test(test_lb_slowstart_off_or_zero_weight_is_unchanged),
        cmocka_unit_test(test_lb_slowstart_is_monotonic_and_next_step_is_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
