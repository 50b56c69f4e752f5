/*
 * test_health_fsm: rise/fall counting, the first-probe rule, flapping, the fast
 * interval while transitioning, jitter bounds and determinism, and the reason
 * every outcome gives in the log line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "health/health_fsm.h"

static const struct health_fsm_params default_params = {
    .rise = 2,
    .fall = 3,
    .interval_ms = 1000,
    .fast_interval_ms = 250,
    .jitter_percent = 10,
};

static struct health_result ok_result(uint32_t latency_ms)
{
    struct health_result r = {
        .outcome = HEALTH_OUTCOME_OK, .status = 200, .latency_ms = latency_ms};
    return r;
}

static struct health_result fail_result(enum health_outcome o)
{
    struct health_result r = {.outcome = o, .status = 0, .latency_ms = 7};
    return r;
}

static void init_fsm(struct health_fsm *f, const struct health_fsm_params *p)
{
    char err[128];
    assert_int_equal(health_fsm_init(f, p, err, sizeof(err)), 0);
}

static int observe(struct health_fsm *f, uint64_t now, struct health_result r)
{
    return health_fsm_observe(f, now, &r, NULL);
}

/* Drives a fresh FSM to UP with one pass. */
static void make_up(struct health_fsm *f)
{
    init_fsm(f, &default_params);
    assert_int_equal(observe(f, 0, ok_result(1)), 1);
    assert_int_equal(f->state, HEALTH_UP);
}

static void test_health_fsm_starts_unknown_and_first_probe_decides(void **state)
{
    struct health_fsm f;
    struct health_fsm_change c;
    struct health_result r = fail_result(HEALTH_OUTCOME_REFUSED);

    init_fsm(&f, &default_params);
    assert_int_equal(f.state, HEALTH_UNKNOWN);
    assert_false(f.has_last);
    assert_false(f.has_change);

    /* one failure suffices from UNKNOWN, although fall is 3 */
    assert_int_equal(health_fsm_observe(&f, 100, &r, &c), 1);
    assert_int_equal(f.state, HEALTH_DOWN);
    assert_int_equal(c.from, HEALTH_UNKNOWN);
    assert_int_equal(c.to, HEALTH_DOWN);
    assert_int_equal(c.count, 1);
    assert_false(f.recovered);

    init_fsm(&f, &default_params);
    assert_int_equal(observe(&f, 100, ok_result(2)), 1);
    assert_int_equal(f.state, HEALTH_UP);
    /* the first UP after start-up is not a recovery: no slow start */
    assert_false(f.recovered);
}

static void test_health_fsm_fall_needs_consecutive_failures(void **state)
{
    struct health_fsm f;
    struct health_fsm_change c;
    struct health_result r = fail_result(HEALTH_OUTCOME_TIMEOUT);

    make_up(&f);
    assert_int_equal(observe(&f, 1000, r), 0);
    assert_int_equal(observe(&f, 2000, r), 0);
    assert_int_equal(f.state, HEALTH_UP);
    assert_int_equal(f.failures, 2);
    assert_int_equal(health_fsm_observe(&f, 3000, &r, &c), 1);
    assert_int_equal(f.state, HEALTH_DOWN);
    assert_int_equal(c.from, HEALTH_UP);
    assert_int_equal(c.count, 3);
    assert_int_equal(c.at_ms, 3000);
    assert_int_equal(c.last.outcome, HEALTH_OUTCOME_TIMEOUT);
    /* further failures change nothing */
    assert_int_equal(observe(&f, 4000, r), 0);
    assert_int_equal(f.failures, 4);
    assert_int_equal(f.changes, 2);
}

static void test_health_fsm_rise_needs_consecutive_passes(void **state)
{
    struct health_fsm f;
    struct health_fsm_change c;
    struct health_result r = ok_result(5);

    make_up(&f);
    for (int i = 0; i < 3; i++)
        observe(&f, 1000 + (uint64_t)i, fail_result(HEALTH_OUTCOME_REFUSED));
    assert_int_equal(f.state, HEALTH_DOWN);
    assert_int_equal(observe(&f, 5000, r), 0);
    assert_int_equal(f.state, HEALTH_DOWN);
    assert_int_equal(health_fsm_observe(&f, 6000, &r, &c), 1);
    assert_int_equal(f.state, HEALTH_UP);
    assert_int_equal(c.from, HEALTH_DOWN);
    assert_int_equal(c.count, 2);
    assert_true(f.recovered);
    assert_int_equal(f.failures, 0);
    assert_int_equal(f.successes, 2);
}

static void test_health_fsm_flapping_keeps_verdict(void **state)
{
    struct health_fsm f;
    uint64_t t = 0;

    make_up(&f);
    /* fail, fail, pass repeated: never 3 failures in a row */
    for (int i = 0; i < 50; i++) {
        assert_int_equal(observe(&f, t += 1000, fail_result(HEALTH_OUTCOME_RESET)), 0);
        assert_int_equal(observe(&f, t += 1000, fail_result(HEALTH_OUTCOME_RESET)), 0);
        assert_int_equal(observe(&f, t += 1000, ok_result(1)), 0);
    }
    assert_int_equal(f.state, HEALTH_UP);
    assert_int_equal(f.changes, 1);

    /* and a DOWN server that passes once between failures stays DOWN */
    for (int i = 0; i < 3; i++)
        observe(&f, t += 1000, fail_result(HEALTH_OUTCOME_RESET));
    assert_int_equal(f.state, HEALTH_DOWN);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(observe(&f, t += 1000, ok_result(1)), 0);
        assert_int_equal(observe(&f, t += 1000, fail_result(HEALTH_OUTCOME_RESET)), 0);
    }
    assert_int_equal(f.state, HEALTH_DOWN);
    assert_int_equal(f.checks, 1 + 150 + 3 + 100);
    assert_int_equal(f.checks_failed, 100 + 3 + 50);
}

static void test_health_fsm_rise_and_fall_of_one(void **state)
{
    struct health_fsm_params p = default_params;
    struct health_fsm f;
    p.rise = 1;
    p.fall = 1;
    init_fsm(&f, &p);
    assert_int_equal(observe(&f, 1, ok_result(1)), 1);
    assert_int_equal(observe(&f, 2, fail_result(HEALTH_OUTCOME_REFUSED)), 1);
    assert_int_equal(observe(&f, 3, ok_result(1)), 1);
    assert_int_equal(f.state, HEALTH_UP);
    assert_int_equal(f.changes, 3);
}

static void test_health_fsm_keeps_last_result_for_admin(void **state)
{
    struct health_fsm f;
    struct health_result r = {
        .outcome = HEALTH_OUTCOME_BAD_STATUS, .status = 503, .latency_ms = 42};
    make_up(&f);
    observe(&f, 777, r);
    assert_true(f.has_last);
    assert_int_equal(f.last.outcome, HEALTH_OUTCOME_BAD_STATUS);
    assert_int_equal(f.last.status, 503);
    assert_int_equal(f.last.latency_ms, 42);
    assert_int_equal(f.last_check_ms, 777);
    assert_int_equal(f.failures, 1);
    assert_int_equal(f.successes, 0);
    /* the last change is still the start-up one */
    assert_int_equal(f.change.to, HEALTH_UP);
    assert_int_equal(f.change.at_ms, 0);
}

static void test_health_fsm_rejects_bad_input(void **state)
{
    struct health_fsm f;
    struct health_fsm_params p = default_params;
    struct health_result r = {.outcome = HEALTH_OUTCOME_COUNT};
    char err[128] = "";

    make_up(&f);
    assert_int_equal(health_fsm_observe(&f, 5, &r, NULL), -EINVAL);
    assert_int_equal(f.checks, 1);

    p.rise = 0;
    assert_int_equal(health_fsm_init(&f, &p, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "rise"));
    p = default_params;
    p.fall = 0;
    assert_int_equal(health_fsm_init(&f, &p, err, sizeof(err)), -EINVAL);
    p = default_params;
    p.interval_ms = 0;
    assert_int_equal(health_fsm_init(&f, &p, err, sizeof(err)), -EINVAL);
    p = default_params;
    p.fast_interval_ms = 2000;
    assert_int_equal(health_fsm_init(&f, &p, err, sizeof(err)), -EINVAL);
    p = default_params;
    p.jitter_percent = 51;
    assert_int_equal(health_fsm_init(&f, &p, err, sizeof(err)), -EINVAL);
    /* fast interval defaults to a quarter, at least 1 ms */
    p = default_params;
    p.fast_interval_ms = 0;
    init_fsm(&f, &p);
    assert_int_equal(f.params.fast_interval_ms, 250);
    p.interval_ms = 3;
    init_fsm(&f, &p);
    assert_int_equal(f.params.fast_interval_ms, 1);
}

static void test_health_fsm_transitional_fast_interval(void **state)
{
    struct health_fsm_params p = default_params;
    struct health_fsm f;
    p.jitter_percent = 0;
    init_fsm(&f, &p);

    assert_true(health_fsm_transitioning(&f)); /* UNKNOWN */
    observe(&f, 0, ok_result(1));
    assert_false(health_fsm_transitioning(&f));
    assert_int_equal(health_fsm_next_probe_ms(&f, 10000, 12345), 11000);

    observe(&f, 1, fail_result(HEALTH_OUTCOME_REFUSED)); /* UP, going down */
    assert_true(health_fsm_transitioning(&f));
    assert_int_equal(health_fsm_next_probe_ms(&f, 10000, 12345), 10250);
    observe(&f, 2, fail_result(HEALTH_OUTCOME_REFUSED));
    observe(&f, 3, fail_result(HEALTH_OUTCOME_REFUSED)); /* DOWN, steady */
    assert_int_equal(f.state, HEALTH_DOWN);
    assert_false(health_fsm_transitioning(&f));
    assert_int_equal(health_fsm_next_probe_ms(&f, 10000, 12345), 11000);

    observe(&f, 4, ok_result(1)); /* DOWN, going up */
    assert_true(health_fsm_transitioning(&f));
    assert_int_equal(health_fsm_next_probe_ms(&f, 10000, 12345), 10250);
    observe(&f, 5, ok_result(1)); /* UP, steady */
    assert_false(health_fsm_transitioning(&f));
    assert_int_equal(health_fsm_next_probe_ms(&f, 10000, 0), 11000);
}

static void test_health_fsm_jitter_bounds_and_determinism(void **state)
{
    struct health_fsm f;
    uint64_t min = UINT64_MAX, max = 0;
    uint32_t x = 2463534242u; /* xorshift32: a fixed, seeded sequence */

    make_up(&f);
    for (int i = 0; i < 20000; i++) {
        uint64_t t;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        t = health_fsm_next_probe_ms(&f, 5000, x);
        assert_int_equal(t, health_fsm_next_probe_ms(&f, 5000, x));
        assert_true(t >= 5000 + 900 && t <= 5000 + 1100);
        if (t < min)
            min = t;
        if (t > max)
            max = t;
    }
    /* the whole +-10% range is reached */
    assert_int_equal(min, 5900);
    assert_int_equal(max, 6100);
    /* extremes of the random input */
    assert_int_equal(health_fsm_next_probe_ms(&f, 0, 0), 900);
    assert_int_equal(health_fsm_next_probe_ms(&f, 0, 200), 1100);
    assert_int_equal(health_fsm_next_probe_ms(&f, 0, 201), 900);
}

static void test_health_fsm_first_probe_spread_over_fast_interval(void **state)
{
    struct health_fsm f;
    int hits[250] = {0};

    init_fsm(&f, &default_params);
    for (uint32_t r = 0; r < 2500; r++) {
        uint64_t t = health_fsm_next_probe_ms(&f, 100, r * 2654435761u);
        assert_true(t >= 100 && t < 350);
        hits[t - 100]++;
    }
    /* 2500 servers started together do not probe in the same millisecond */
    for (int i = 0; i < 250; i++)
        assert_true(hits[i] < 50);
}

static void test_health_fsm_jitter_never_zero_delay(void **state)
{
    struct health_fsm_params p = {.rise = 1,
                                  .fall = 1,
                                  .interval_ms = 1,
                                  .fast_interval_ms = 1,
                                  .jitter_percent = 50};
    struct health_fsm f;
    init_fsm(&f, &p);
    observe(&f, 0, ok_result(0));
    for (uint32_t r = 0; r < 10; r++)
        assert_int_equal(health_fsm_next_probe_ms(&f, 10, r), 11);
    assert_int_equal(health_fsm_next_probe_ms(&f, UINT64_MAX - 0, 0), UINT64_MAX);
}

struct reason_case {
    struct health_result r;
    const char *want;
};

static void test_health_fsm_every_outcome_gives_its_reason(void **state)
{
    static const struct reason_case cases[] = {
        {{HEALTH_OUTCOME_REFUSED, 0, 1},
         "DOWN: 3 consecutive failures, last: connection refused"},
        {{HEALTH_OUTCOME_TIMEOUT, 0, 500},
         "DOWN: 3 consecutive failures, last: timeout after 500 ms"},
        {{HEALTH_OUTCOME_RESET, 0, 1},
         "DOWN: 3 consecutive failures, last: connection reset"},
        {{HEALTH_OUTCOME_CONNECT_ERROR, 0, 1},
         "DOWN: 3 consecutive failures, last: connect failed"},
        {{HEALTH_OUTCOME_CLOSED, 0, 1},
         "DOWN: 3 consecutive failures, last: connection closed before a response"},
        {{HEALTH_OUTCOME_BAD_RESPONSE, 0, 1},
         "DOWN: 3 consecutive failures, last: invalid HTTP response"},
        {{HEALTH_OUTCOME_BAD_STATUS, 503, 3},
         "DOWN: 3 consecutive failures, last: status 503"},
        {{HEALTH_OUTCOME_BODY_MISMATCH, 200, 3},
         "DOWN: 3 consecutive failures, last: status 200, expected body text not found"},
        {{HEALTH_OUTCOME_TLS_ERROR, 0, 9},
         "DOWN: 3 consecutive failures, last: TLS handshake failed"},
    };
    char buf[160];
    int seen[HEALTH_OUTCOME_COUNT] = {0};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct health_fsm f;
        struct health_fsm_change c;
        make_up(&f);
        observe(&f, 1, cases[i].r);
        observe(&f, 2, cases[i].r);
        assert_int_equal(health_fsm_observe(&f, 3, &cases[i].r, &c), 1);
        assert_int_equal(health_fsm_change_format(&c, buf, sizeof(buf)), 0);
        assert_string_equal(buf, cases[i].want);
        seen[cases[i].r.outcome] = 1;
        assert_string_not_equal(health_outcome_name(cases[i].r.outcome), "?");
    }
    /* every failure outcome of the enumeration is covered above */
    for (int o = 1; o < HEALTH_OUTCOME_COUNT; o++)
        assert_int_equal(seen[o], 1);
}

static void test_health_fsm_up_and_first_check_reasons(void **state)
{
    struct health_fsm f;
    struct health_fsm_change c;
    struct health_result tcp_ok = {HEALTH_OUTCOME_OK, 0, 2};
    struct health_result http_ok = {HEALTH_OUTCOME_OK, 204, 4};
    struct health_result to = {HEALTH_OUTCOME_TIMEOUT, 0, 500};
    char buf[128];

    init_fsm(&f, &default_params);
    health_fsm_observe(&f, 1, &to, &c);
    health_fsm_change_format(&c, buf, sizeof(buf));
    assert_string_equal(buf, "DOWN: first check failed: timeout after 500 ms");
    observe(&f, 2, tcp_ok);
    health_fsm_observe(&f, 3, &http_ok, &c);
    health_fsm_change_format(&c, buf, sizeof(buf));
    assert_string_equal(buf, "UP: 2 consecutive passes, last: status 204 in 4 ms");

    init_fsm(&f, &default_params);
    health_fsm_observe(&f, 1, &tcp_ok, &c);
    health_fsm_change_format(&c, buf, sizeof(buf));
    assert_string_equal(buf, "UP: first check passed: connected in 2 ms");

    /* rise = 1 gives the singular */
    struct health_fsm_params p = default_params;
    p.rise = 1;
    init_fsm(&f, &p);
    observe(&f, 1, to);
    health_fsm_observe(&f, 2, &http_ok, &c);
    health_fsm_change_format(&c, buf, sizeof(buf));
    assert_string_equal(buf, "UP: 1 consecutive pass, last: status 204 in 4 ms");
}

static void test_health_fsm_format_truncates_safely(void **state)
{
    struct health_fsm_change c = {.from = HEALTH_UP,
                                  .to = HEALTH_DOWN,
                                  .count = 3,
                                  .last = {HEALTH_OUTCOME_REFUSED, 0, 1}};
    char buf[12];
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(health_fsm_change_format(&c, buf, sizeof(buf)), -ENOSPC);
    assert_int_equal(strlen(buf), sizeof(buf) - 1);
    assert_int_equal(health_result_format(&c.last, buf, 5), -ENOSPC);
    assert_string_equal(buf, "conn");
    assert_int_equal(health_result_format(&c.last, buf, 0), -ENOSPC);
    assert_string_equal(health_state_name(HEALTH_STATE_COUNT), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_fsm_starts_unknown_and_first_probe_decides),
        cmocka_unit_test(test_health_fsm_fall_needs_consecutive_failures),
        cmocka_unit_test(test_health_fsm_rise_needs_consecutive_passes),
        cmocka_unit_test(test_health_fsm_flapping_keeps_verdict),
        cmocka_unit_test(test_health_fsm_rise_and_fall_of_one),
        cmocka_unit_test(test_health_fsm_keeps_last_result_for_admin),
        cmocka_unit_test(test_health_fsm_rejects_bad_input),
        cmocka_unit_test(test_health_fsm_transitional_fast_interval),
        cmocka_unit_test(test_health_fsm_jitter_bounds_and_determinism),
        cmocka_unit_test(test_health_fsm_first_probe_spread_over_fast_interval),
        cmocka_unit_test(test_health_fsm_jitter_never_zero_delay),
        cmocka_unit_test(test_health_fsm_every_outcome_gives_its_reason),
        cmocka_unit_test(test_health_fsm_up_and_first_check_reasons),
        cmocka_unit_test(test_health_fsm_format_truncates_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
