/*
 * test_health_expect: health_expect status ranges (with the 200-399 default) and
 * the body-substring matcher, binary bodies and edges included.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "health/health_expect.h"

static void test_health_expect_default_range_is_200_to_399(void **state)
{
    struct health_expect e = {.count = 0};
    assert_false(health_expect_status(&e, 199));
    assert_true(health_expect_status(&e, 200));
    assert_true(health_expect_status(&e, 302));
    assert_true(health_expect_status(&e, 399));
    assert_false(health_expect_status(&e, 400));
    assert_false(health_expect_status(&e, 503));
    assert_false(health_expect_status(&e, 0));
}

static void test_health_expect_several_ranges(void **state)
{
    /* "200,204,300-399" */
    struct health_expect e = {.lo = {200, 204, 300}, .hi = {200, 204, 399}, .count = 3};
    assert_true(health_expect_status(&e, 200));
    assert_false(health_expect_status(&e, 201));
    assert_false(health_expect_status(&e, 203));
    assert_true(health_expect_status(&e, 204));
    assert_false(health_expect_status(&e, 299));
    assert_true(health_expect_status(&e, 300));
    assert_true(health_expect_status(&e, 399));
    assert_false(health_expect_status(&e, 400));
}

static void test_health_expect_count_beyond_max_is_clamped(void **state)
{
    struct health_expect e;
    memset(&e, 0, sizeof(e));
    for (int i = 0; i < HEALTH_EXPECT_RANGES_MAX; i++) {
        e.lo[i] = (uint16_t)(100 + i);
        e.hi[i] = (uint16_t)(100 + i);
    }
    e.count = 1000;
    assert_true(health_expect_status(&e, 107));
    assert_false(health_expect_status(&e, 108));
    assert_false(health_expect_status(&e, 0));
}

static void test_health_expect_body_substring(void **state)
{
    const char body[] = "{\"status\":\"ok\",\"db\":\"up\"}";
    size_t n = sizeof(body) - 1;
    assert_true(health_body_contains(body, n, "\"db\":\"up\""));
    assert_true(health_body_contains(body, n, "{"));
    assert_true(health_body_contains(body, n, "}"));
    assert_true(health_body_contains(body, n, body));
    assert_false(health_body_contains(body, n, "\"db\":\"down\""));
    assert_false(health_body_contains(body, n - 1, "}")); /* length is respected */
    assert_false(health_body_contains(body, n, "{\"status\":\"ok\",\"db\":\"up\"}x"));
    assert_true(health_body_contains(body, n, NULL));
    assert_true(health_body_contains(body, n, ""));
    assert_true(health_body_contains(NULL, 0, ""));
    assert_false(health_body_contains(NULL, 0, "a"));
    assert_false(health_body_contains("", 0, "a"));
}

static void test_health_expect_body_binary_and_overlaps(void **state)
{
    const char bin[] = {'\0', 'a', '\0', 'a', 'a', 'b', '\0'};
    assert_true(health_body_contains(bin, sizeof(bin), "aab"));
    assert_true(health_body_contains(bin, sizeof(bin), "ab"));
    assert_false(health_body_contains(bin, sizeof(bin), "aaa"));
    /* a false start right before the match */
    assert_true(health_body_contains("aaaab", 5, "aab"));
    assert_true(health_body_contains("abababc", 7, "ababc"));
    assert_false(health_body_contains("abababc", 6, "ababc"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_expect_default_range_is_200_to_399),
        cmocka_unit_test(test_health_expect_several_ranges),
        cmocka_unit_test(test_health_expect_count_beyond_max_is_clamped),
        cmocka_unit_test(test_health_expect_body_substring),
        cmocka_unit_test(test_health_expect_body_binary_and_overlaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
