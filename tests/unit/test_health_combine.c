/*
 * test_health_combine: the truth table of usability (admin state x active verdict
 * x passive ejection), slow-start weights at several times, the next rebuild
 * time, and the pool summary that tells the proxy to answer 503 at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "health/health_combine.h"

static struct health_view view(void)
{
    struct health_view v = {
        .name = "web1", .weight = 10, .admin = HEALTH_ADMIN_READY, .active = HEALTH_UP};
    return v;
}

static void test_health_combine_truth_table(void **state)
{
    static const enum health_admin admins[] = {HEALTH_ADMIN_READY, HEALTH_ADMIN_DRAIN,
                                               HEALTH_ADMIN_MAINT};
    static const enum health_state actives[] = {HEALTH_UNKNOWN, HEALTH_UP, HEALTH_DOWN};
    int usable_rows = 0;

    for (int a = 0; a < 3; a++)
        for (int s = 0; s < 3; s++)
            for (int e = 0; e < 2; e++)
                for (int b = 0; b < 2; b++) {
                    struct health_view v = view();
                    struct lb_server out;
                    enum health_unusable why, want;
                    v.admin = admins[a];
                    v.active = actives[s];
                    v.ejected = e;
                    v.backup = b;
                    if (v.admin == HEALTH_ADMIN_DRAIN)
                        want = HEALTH_UNUSABLE_DRAIN;
                    else if (v.admin == HEALTH_ADMIN_MAINT)
                        want = HEALTH_UNUSABLE_MAINT;
                    else if (v.active == HEALTH_DOWN)
                        want = HEALTH_UNUSABLE_DOWN;
                    else if (v.ejected)
                        want = HEALTH_UNUSABLE_EJECTED;
                    else
                        want = HEALTH_UNUSABLE_NONE;
                    memset(&out, 0xa5, sizeof(out));
                    why = health_combine(&v, 0, &out);
                    assert_int_equal(why, want);
                    assert_int_equal(out.usable, want == HEALTH_UNUSABLE_NONE);
                    assert_int_equal(out.weight, out.usable ? 10 : 0);
                    assert_int_equal(out.backup, b);
                    assert_ptr_equal(out.name, v.name);
                    usable_rows += out.usable;
                }
    /* READY x {UNKNOWN, UP} x not ejected x {primary, backup} */
    assert_int_equal(usable_rows, 4);
}

static void test_health_combine_out_of_range_is_never_usable(void **state)
{
    struct health_view v = view();
    struct lb_server out;
    v.admin = HEALTH_ADMIN_COUNT;
    assert_int_equal(health_combine(&v, 0, &out), HEALTH_UNUSABLE_MAINT);
    assert_false(out.usable);
    v = view();
    v.active = HEALTH_STATE_COUNT;
    assert_int_equal(health_combine(&v, 0, &out), HEALTH_UNUSABLE_DOWN);
    assert_false(out.usable);
    assert_string_equal(health_unusable_name(HEALTH_UNUSABLE_EJECTED), "ejected");
    assert_string_equal(health_admin_name(HEALTH_ADMIN_DRAIN), "drain");
    assert_string_equal(health_admin_name(HEALTH_ADMIN_COUNT), "?");
}

static void test_health_combine_slowstart_ramp_values(void **state)
{
    struct health_view v = view();
    struct lb_server out;
    static const struct {
        uint64_t t;
        uint32_t w;
    } ramp[] = {
        {1000, 1}, {1001, 1},  {1999, 1},   {2000, 1},   {2001, 2},    {6000, 5},
        {6001, 6}, {10000, 9}, {10999, 10}, {11000, 10}, {500000, 10},
    };

    v.ramping = true;
    v.back_ms = 1000;
    v.slowstart_ms = 10000;
    for (size_t i = 0; i < sizeof(ramp) / sizeof(ramp[0]); i++) {
        assert_int_equal(health_combine(&v, ramp[i].t, &out), HEALTH_UNUSABLE_NONE);
        assert_true(out.usable);
        assert_int_equal(out.weight, ramp[i].w);
    }
    /* a clock behind the ramp start is read as its start */
    assert_int_equal(health_combine(&v, 10, &out), HEALTH_UNUSABLE_NONE);
    assert_int_equal(out.weight, 1);
    /* not ramping, or no slow start: the full weight at once */
    v.ramping = false;
    health_combine(&v, 1001, &out);
    assert_int_equal(out.weight, 10);
    v.ramping = true;
    v.slowstart_ms = 0;
    health_combine(&v, 1001, &out);
    assert_int_equal(out.weight, 10);
    /* weight 0 stays 0 */
    v.slowstart_ms = 10000;
    v.weight = 0;
    health_combine(&v, 5000, &out);
    assert_int_equal(out.weight, 0);
}

static void test_health_combine_next_change_follows_ramp(void **state)
{
    struct health_view v = view();
    struct lb_server out;
    uint64_t t = 1000;
    uint32_t last = 0;
    int steps = 0;

    v.ramping = true;
    v.back_ms = 1000;
    v.slowstart_ms = 10000;
    /* walking the change times visits each weight 1..10 once */
    while (t != 0) {
        health_combine(&v, t, &out);
        assert_true(out.weight > last);
        last = out.weight;
        steps++;
        uint64_t next = health_combine_next_change_ms(&v, t);
        assert_true(next == 0 || next > t);
        if (next != 0) {
            health_combine(&v, next - 1, &out);
            assert_int_equal(out.weight, last); /* nothing changes before it */
        }
        t = next;
    }
    assert_int_equal(last, 10);
    assert_int_equal(steps, 10);
    /* unusable or steady servers need no timer */
    v.ejected = true;
    assert_int_equal(health_combine_next_change_ms(&v, 2000), 0);
    v.ejected = false;
    v.ramping = false;
    assert_int_equal(health_combine_next_change_ms(&v, 2000), 0);
}

static void test_health_combine_all_down_pool_reports_no_usable_server(void **state)
{
    struct lb_server s[4];
    struct health_pool_summary sum;
    struct health_view v = view();

    v.active = HEALTH_DOWN;
    for (int i = 0; i < 4; i++)
        health_combine(&v, 0, &s[i]);
    health_pool_summarize(s, 4, &sum);
    assert_int_equal(sum.usable, 0);
    assert_int_equal(sum.usable_backup, 0);
    assert_true(sum.all_down);

    /* a usable backup keeps the pool routable */
    struct health_view b = view();
    b.backup = true;
    health_combine(&b, 0, &s[3]);
    health_pool_summarize(s, 4, &sum);
    assert_int_equal(sum.usable, 0);
    assert_int_equal(sum.usable_backup, 1);
    assert_false(sum.all_down);

    /* usable but weight 0 counts as nothing to route to */
    struct health_view z = view();
    z.weight = 0;
    health_combine(&z, 0, &s[3]);
    health_pool_summarize(s, 4, &sum);
    assert_true(sum.all_down);

    /* a server before its first probe is routable */
    struct health_view u = view();
    u.active = HEALTH_UNKNOWN;
    health_combine(&u, 0, &s[0]);
    health_pool_summarize(s, 4, &sum);
    assert_int_equal(sum.usable, 1);
    assert_false(sum.all_down);

    health_pool_summarize(s, 0, &sum);
    assert_true(sum.all_down);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_combine_truth_table),
        cmocka_unit_test(test_health_combine_out_of_range_is_never_usable),
        cmocka_unit_test(test_health_combine_slowstart_ramp_values),
        cmocka_unit_test(test_health_combine_next_change_follows_ramp),
        cmocka_unit_test(test_health_combine_all_down_pool_reports_no_usable_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
