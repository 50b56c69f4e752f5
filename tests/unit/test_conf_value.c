/*
 * test_conf_value: the pure value parsers of the configuration (durations, sizes,
 * booleans, numbers, status ranges) and the spelling helpers. Links only
 * libraftlb_core.a.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "conf/conf_value.h"

static void test_conf_value_duration_units(void **state)
{
    static const struct {
        const char *in;
        uint32_t ms;
    } ok[] = {{"0", 0},        {"500ms", 500}, {"2s", 2000},   {"1m", 60000},
              {"1h", 3600000}, {"0ms", 0},     {"90s", 90000}, {"1193h", 4294800000u}};
    char err[256];
    uint32_t v;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(
            conf_value_duration(ok[i].in, 0, UINT32_MAX, &v, err, sizeof(err)), 0);
        assert_int_equal(v, ok[i].ms);
    }
}

static void test_conf_value_duration_rejects(void **state)
{
    static const struct {
        const char *in;
        const char *err;
    } bad[] = {
        {"30", "'30' has no unit (write 30ms or 30s)"},
        {"", "expected a duration such as 500ms, 2s, 1m or 1h, got nothing"},
        {"2 s", "expected a duration such as 500ms, 2s, 1m or 1h, got '2 s'"},
        {"1.5s", "expected a duration such as 500ms, 2s, 1m or 1h, got '1.5s'"},
        {"-1s", "expected a duration such as 500ms, 2s, 1m or 1h, got '-1s'"},
        {"5S", "expected a duration such as 500ms, 2s, 1m or 1h, got '5S'"},
        {"1194h", "expected a duration from 0ms to 4294967295ms, got '1194h'"},
        {"99999999999999999999999h", "expected a duration from 0ms to 4294967295ms, got "
                                     "'99999999999999999999999h'"},
    };
    char err[256];
    uint32_t v = 7;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            conf_value_duration(bad[i].in, 0, UINT32_MAX, &v, err, sizeof(err)), -1);
        assert_string_equal(err, bad[i].err);
    }
    assert_int_equal(v, 7);
    assert_int_equal(conf_value_duration("5ms", 10, 3600000, &v, err, sizeof(err)), -1);
    assert_string_equal(err, "expected a duration from 10ms to 1h, got '5ms'");
}

static void test_conf_value_sizes_are_1024_based(void **state)
{
    char err[256];
    uint64_t v;

    (void)state;
    assert_int_equal(conf_value_size("512", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
    assert_int_equal(v, 512);
    assert_int_equal(conf_value_size("16k", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
    assert_int_equal(v, 16384);
    assert_int_equal(conf_value_size("1M", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
    assert_int_equal(v, 1048576);
    assert_int_equal(conf_value_size("1g", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
    assert_int_equal(v, 1073741824);
    assert_int_equal(conf_value_size("1kb", 0, UINT64_MAX, &v, err, sizeof(err)), -1);
    assert_string_equal(err, "expected a size such as 512, 16k, 1m or 1g, got '1kb'");
    assert_int_equal(conf_value_size("k", 0, UINT64_MAX, &v, err, sizeof(err)), -1);
    assert_int_equal(conf_value_size("2m", 1024, 1048576, &v, err, sizeof(err)), -1);
    assert_string_equal(err, "expected a size from 1k to 1m, got '2m'");
}

static void test_conf_value_booleans(void **state)
{
    static const char *const yes[] = {"on", "yes", "true", "1", "ON", "Yes"};
    static const char *const no[] = {"off", "no", "false", "0", "OFF", "False"};
    char err[256];
    bool v;

    (void)state;
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(conf_value_bool(yes[i], &v, err, sizeof(err)), 0);
        assert_true(v);
        assert_int_equal(conf_value_bool(no[i], &v, err, sizeof(err)), 0);
        assert_false(v);
    }
    assert_int_equal(conf_value_bool("y", &v, err, sizeof(err)), -1);
    assert_string_equal(err, "expected on/off, yes/no, true/false or 1/0, got 'y'");
}

static void test_conf_value_numbers(void **state)
{
    char err[256];
    uint64_t u;
    double d;

    (void)state;
    assert_int_equal(conf_value_uint("1024", 0, 1024, &u, err, sizeof(err)), 0);
    assert_int_equal(u, 1024);
    assert_int_equal(conf_value_uint("1025", 0, 1024, &u, err, sizeof(err)), -1);
    assert_string_equal(err, "expected a whole number from 0 to 1024, got '1025'");
    assert_int_equal(conf_value_uint("+1", 0, 10, &u, err, sizeof(err)), -1);
    assert_int_equal(conf_value_uint("1 ", 0, 10, &u, err, sizeof(err)), -1);
    assert_int_equal(
        conf_value_uint("18446744073709551616", 0, UINT64_MAX - 1, &u, err, sizeof(err)),
        -1);
    assert_int_equal(conf_value_double("1.25", 0, 100, &d, err, sizeof(err)), 0);
    assert_true(d == 1.25);
    assert_int_equal(conf_value_double("3", 0, 100, &d, err, sizeof(err)), 0);
    assert_true(d == 3.0);
    assert_int_equal(conf_value_double("nan", 0, 100, &d, err, sizeof(err)), -1);
    assert_int_equal(conf_value_double("1.", 0, 100, &d, err, sizeof(err)), -1);
    assert_int_equal(conf_value_double("101", 0, 100, &d, err, sizeof(err)), -1);
    assert_string_equal(err, "expected a number from 0 to 100, got '101'");
}

static void test_conf_value_status_ranges(void **state)
{
    uint16_t lo[8], hi[8];
    size_t n;
    char err[256];

    (void)state;
    assert_int_equal(conf_value_status_ranges("200-399", lo, hi, 8, &n, err, sizeof(err)),
                     0);
    assert_int_equal(n, 1);
    assert_int_equal(lo[0], 200);
    assert_int_equal(hi[0], 399);
    assert_int_equal(
        conf_value_status_ranges("200,204, 300 - 399", lo, hi, 8, &n, err, sizeof(err)),
        0);
    assert_int_equal(n, 3);
    assert_int_equal(lo[1], 204);
    assert_int_equal(hi[1], 204);
    assert_int_equal(lo[2], 300);
    assert_int_equal(hi[2], 399);
    assert_int_equal(conf_value_status_ranges("200,", lo, hi, 8, &n, err, sizeof(err)),
                     -1);
    assert_string_equal(
        err, "expected status codes such as 200-399 or 200,204,300-399, got '200,'");
    assert_int_equal(conf_value_status_ranges("99", lo, hi, 8, &n, err, sizeof(err)), -1);
    assert_int_equal(conf_value_status_ranges("200-600", lo, hi, 8, &n, err, sizeof(err)),
                     -1);
    assert_int_equal(conf_value_status_ranges("200,201,202,203,204,205,206,207,208", lo,
                                              hi, 8, &n, err, sizeof(err)),
                     -1);
    assert_string_equal(
        err, "at most 8 status ranges, got '200,201,202,203,204,205,206,207,208'");
}

static void test_conf_value_edit_distance_and_suggest(void **state)
{
    static const char *const words[] = {"workers", "weight", "maglev", "ring"};

    (void)state;
    assert_int_equal(conf_value_edit_distance("", ""), 0);
    assert_int_equal(conf_value_edit_distance("kitten", "sitting"), 3);
    assert_int_equal(conf_value_edit_distance("wrokers", "workers"), 1);
    assert_int_equal(conf_value_edit_distance("ca", "abc"), 3);
    assert_int_equal(conf_value_edit_distance("abc", ""), 3);
    assert_string_equal(conf_value_suggest("wrokers", words, 4), "workers");
    assert_string_equal(conf_value_suggest("magelv", words, 4), "maglev");
    assert_string_equal(conf_value_suggest("rign", words, 4), "ring");
    assert_null(conf_value_suggest("ab", words, 4));
    assert_null(conf_value_suggest("1.1", (const char *const[]){"1.2", "1.3"}, 2));
    assert_null(conf_value_suggest("threads", words, 4));
}

static void test_conf_value_primes_and_names(void **state)
{
    char err[256];

    (void)state;
    assert_true(conf_value_is_prime(2));
    assert_true(conf_value_is_prime(65537));
    assert_true(conf_value_is_prime(16777213));
    assert_false(conf_value_is_prime(1));
    assert_false(conf_value_is_prime(65536));
    assert_false(conf_value_is_prime(65539 * 3));
    assert_int_equal(conf_value_name("web-1.a_b", 64, err, sizeof(err)), 0);
    assert_int_equal(conf_value_name("a b", 64, err, sizeof(err)), -1);
    assert_int_equal(conf_value_name("", 64, err, sizeof(err)), -1);
    assert_string_equal(err, "a name is missing");
    assert_int_equal(conf_value_name("abcd", 4, err, sizeof(err)), -1);
    assert_string_equal(err, "name 'abcd...' is longer than 3 characters");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conf_value_duration_units),
        cmocka_unit_test(test_conf_value_duration_rejects),
        cmocka_unit_test(test_conf_value_sizes_are_1024_based),
        cmocka_unit_test(test_conf_value_booleans),
        cmocka_unit_test(test_conf_value_numbers),
        cmocka_unit_test(test_conf_value_status_ranges),
        cmocka_unit_test(test_conf_value_edit_distance_and_suggest),
        cmocka_unit_test(test_conf_value_primes_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
