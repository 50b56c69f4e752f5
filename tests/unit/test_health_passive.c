/*
 * test_health_passive: ejection after consecutive failures, back-off doubling,
 * its cap and its decay, the max_ejected_percent cap, and return on time expiry
 * or on an active check pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "health/health_passive.h"

static const struct health_passive_params default_params = {
    .eject_after = 5,
    .eject_time_ms = 10000,
    .max_eject_time_ms = 0,
    .max_ejected_percent = 50,
    .decay_ms = 0,
};

static void init_hp(struct health_passive *hp, size_t n,
                    const struct health_passive_params *p)
{
    char err[128];
    assert_int_equal(health_passive_init(hp, n, p, err, sizeof(err)), 0);
}

/* Sends `k` failures of kind `o` to server `s` at `now`; returns the last rc. */
static int fail_n(struct health_passive *hp, uint64_t now, size_t s, int k,
                  enum health_req_outcome o, struct health_passive_change *c)
{
    int rc = 0;
    for (int i = 0; i < k; i++)
        rc = health_passive_observe(hp, now, s, o, c);
    return rc;
}

static void test_health_passive_ejects_after_consecutive_failures(void **state)
{
    struct health_passive hp;
    struct health_passive_change c;
    static const enum health_req_outcome kinds[] = {
        HEALTH_REQ_CONNECT_FAIL, HEALTH_REQ_RESET, HEALTH_REQ_TIMEOUT, HEALTH_REQ_5XX};

    for (size_t k = 0; k < 4; k++) {
        init_hp(&hp, 4, &default_params);
        assert_int_equal(fail_n(&hp, 100, 1, 4, kinds[k], &c), 0);
        assert_false(health_passive_is_ejected(&hp, 1));
        assert_int_equal(health_passive_observe(&hp, 100, 1, kinds[k], &c), 1);
        assert_true(health_passive_is_ejected(&hp, 1));
        assert_int_equal(c.server, 1);
        assert_int_equal(c.event, HEALTH_PASSIVE_EJECTED);
        assert_int_equal(c.failures, 5);
        assert_int_equal(c.last, kinds[k]);
        assert_int_equal(c.duration_ms, 10000);
        assert_int_equal(c.backoff, 1);
        assert_int_equal(hp.ejected_count, 1);
        assert_int_equal(health_passive_next_deadline_ms(&hp), 10100);
        health_passive_free(&hp);
    }
}

static void test_health_passive_success_resets_count(void **state)
{
    struct health_passive hp;
    init_hp(&hp, 2, &default_params);
    for (int round = 0; round < 10; round++) {
        assert_int_equal(fail_n(&hp, 1, 0, 4, HEALTH_REQ_5XX, NULL), 0);
        assert_int_equal(health_passive_observe(&hp, 1, 0, HEALTH_REQ_OK, NULL), 0);
    }
    assert_false(health_passive_is_ejected(&hp, 0));
    assert_int_equal(hp.servers[0].failures, 0);
    health_passive_free(&hp);
}

static void test_health_passive_returns_when_time_expires(void **state)
{
    struct health_passive hp;
    struct health_passive_change out[4];

    init_hp(&hp, 4, &default_params);
    fail_n(&hp, 1000, 2, 5, HEALTH_REQ_RESET, NULL);
    assert_int_equal(health_passive_tick(&hp, 10999, out, 4), 0);
    assert_true(health_passive_is_ejected(&hp, 2));
    assert_int_equal(health_passive_tick(&hp, 11000, out, 4), 1);
    assert_int_equal(out[0].server, 2);
    assert_int_equal(out[0].event, HEALTH_PASSIVE_RETURNED_TIME);
    assert_int_equal(out[0].at_ms, 11000);
    assert_false(health_passive_is_ejected(&hp, 2));
    assert_int_equal(hp.ejected_count, 0);
    assert_int_equal(hp.servers[2].failures, 0);
    assert_int_equal(health_passive_next_deadline_ms(&hp), UINT64_MAX);
    /* a fresh count: four more failures do not eject it again */
    assert_int_equal(fail_n(&hp, 11001, 2, 4, HEALTH_REQ_RESET, NULL), 0);
    health_passive_free(&hp);
}

static void test_health_passive_backoff_doubles_and_caps(void **state)
{
    struct health_passive_params p = default_params;
    struct health_passive hp;
    struct health_passive_change c, out[1];
    static const uint64_t want[] = {10000, 20000, 40000, 80000, 100000, 100000};
    uint64_t t = 0;

    p.max_eject_time_ms = 100000;
    p.decay_ms = 1000000; /* no decay within this test */
    init_hp(&hp, 2, &p);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(fail_n(&hp, t, 0, 5, HEALTH_REQ_CONNECT_FAIL, &c), 1);
        assert_int_equal(c.duration_ms, want[i]);
        assert_int_equal(c.backoff, i + 1);
        t += want[i];
        assert_int_equal(health_passive_tick(&hp, t, out, 1), 1);
    }
    assert_int_equal(hp.servers[0].ejections, 6);
    health_passive_free(&hp);
}

static void test_health_passive_backoff_decays_after_healthy_period(void **state)
{
    struct health_passive hp;
    struct health_passive_change c, out[1];
    uint64_t t = 0;

    init_hp(&hp, 2, &default_params); /* decay_ms defaults to eject_time: 10 s */
    fail_n(&hp, t, 0, 5, HEALTH_REQ_5XX, &c);
    t += 10000;
    health_passive_tick(&hp, t, out, 1);
    fail_n(&hp, t, 0, 5, HEALTH_REQ_5XX, &c);
    assert_int_equal(c.duration_ms, 20000); /* failed again at once: doubled */
    t += 20000;
    health_passive_tick(&hp, t, out, 1);
    fail_n(&hp, t + 9999, 0, 5, HEALTH_REQ_5XX, &c);
    assert_int_equal(c.duration_ms, 40000); /* less than one decay period back */
    t += 9999 + 40000;
    health_passive_tick(&hp, t, out, 1);
    /* 2 full decay periods back: n goes 3 -> 1, then this ejection makes it 2 */
    fail_n(&hp, t + 20000, 0, 5, HEALTH_REQ_5XX, &c);
    assert_int_equal(c.backoff, 2);
    assert_int_equal(c.duration_ms, 20000);
    t += 20000 + 20000;
    health_passive_tick(&hp, t, out, 1);
    /* a long healthy period forgets everything */
    fail_n(&hp, t + 3600000, 0, 5, HEALTH_REQ_5XX, &c);
    assert_int_equal(c.backoff, 1);
    assert_int_equal(c.duration_ms, 10000);
    health_passive_free(&hp);
}

static void test_health_passive_max_ejected_percent_caps_pool(void **state)
{
    struct health_passive hp;
    struct health_passive_change out[4];

    /* 3 of 4 servers failing, cap 50%: only 2 ejected */
    init_hp(&hp, 4, &default_params);
    assert_int_equal(hp.max_ejected, 2);
    assert_int_equal(fail_n(&hp, 0, 0, 5, HEALTH_REQ_5XX, NULL), 1);
    assert_int_equal(fail_n(&hp, 0, 1, 5, HEALTH_REQ_5XX, NULL), 1);
    assert_int_equal(fail_n(&hp, 0, 2, 50, HEALTH_REQ_5XX, NULL), 0);
    assert_int_equal(hp.ejected_count, 2);
    assert_false(health_passive_is_ejected(&hp, 2));
    assert_false(health_passive_is_ejected(&hp, 3));

    /* once one returns, the waiting server's next failure ejects it */
    assert_int_equal(health_passive_tick(&hp, 10000, out, 4), 2);
    assert_int_equal(health_passive_observe(&hp, 10000, 2, HEALTH_REQ_5XX, NULL), 1);
    assert_int_equal(hp.ejected_count, 1);
    health_passive_free(&hp);

    /* a lone server is never ejected below 100%; at 100% it is */
    init_hp(&hp, 1, &default_params);
    assert_int_equal(fail_n(&hp, 0, 0, 100, HEALTH_REQ_5XX, NULL), 0);
    health_passive_free(&hp);
    struct health_passive_params p = default_params;
    p.max_ejected_percent = 100;
    init_hp(&hp, 1, &p);
    assert_int_equal(fail_n(&hp, 0, 0, 5, HEALTH_REQ_5XX, NULL), 1);
    health_passive_free(&hp);
    /* 0% ejects nothing */
    p.max_ejected_percent = 0;
    init_hp(&hp, 10, &p);
    assert_int_equal(fail_n(&hp, 0, 0, 50, HEALTH_REQ_5XX, NULL), 0);
    health_passive_free(&hp);
}

static void test_health_passive_active_pass_returns_server(void **state)
{
    struct health_passive hp;
    struct health_passive_change c;

    init_hp(&hp, 4, &default_params);
    assert_int_equal(health_passive_active_pass(&hp, 50, 3, &c), 0);
    fail_n(&hp, 100, 3, 5, HEALTH_REQ_TIMEOUT, NULL);
    assert_true(health_passive_is_ejected(&hp, 3));
    assert_int_equal(health_passive_active_pass(&hp, 2000, 3, &c), 1);
    assert_int_equal(c.server, 3);
    assert_int_equal(c.event, HEALTH_PASSIVE_RETURNED_ACTIVE);
    assert_int_equal(c.at_ms, 2000);
    assert_false(health_passive_is_ejected(&hp, 3));
    assert_int_equal(hp.ejected_count, 0);
    /* nothing left for the timer */
    assert_int_equal(health_passive_tick(&hp, 100000, &c, 1), 0);
    assert_int_equal(health_passive_active_pass(&hp, 50, 4, &c), -EINVAL);
    health_passive_free(&hp);
}

static void test_health_passive_ejected_server_outcomes_do_not_extend(void **state)
{
    struct health_passive hp;
    init_hp(&hp, 2, &default_params);
    fail_n(&hp, 0, 0, 5, HEALTH_REQ_5XX, NULL);
    /* late answers of requests in flight */
    assert_int_equal(fail_n(&hp, 5000, 0, 20, HEALTH_REQ_RESET, NULL), 0);
    assert_int_equal(health_passive_observe(&hp, 5000, 0, HEALTH_REQ_OK, NULL), 0);
    assert_int_equal(hp.servers[0].eject_until_ms, 10000);
    assert_int_equal(hp.servers[0].last_failure, HEALTH_REQ_RESET);
    assert_int_equal(hp.servers[0].ejections, 1);
    health_passive_free(&hp);
}

static void test_health_passive_tick_respects_capacity(void **state)
{
    struct health_passive_params p = default_params;
    struct health_passive hp;
    struct health_passive_change out[2];

    p.max_ejected_percent = 100;
    init_hp(&hp, 5, &p);
    for (size_t s = 0; s < 5; s++)
        fail_n(&hp, s, s, 5, HEALTH_REQ_5XX, NULL);
    assert_int_equal(hp.ejected_count, 5);
    assert_int_equal(health_passive_next_deadline_ms(&hp), 10000);
    assert_int_equal(health_passive_tick(&hp, 20000, out, 2), 2);
    assert_int_equal(out[0].server, 0);
    assert_int_equal(out[1].server, 1);
    assert_int_equal(health_passive_tick(&hp, 20000, out, 2), 2);
    assert_int_equal(health_passive_tick(&hp, 20000, out, 2), 1);
    assert_int_equal(out[0].server, 4);
    assert_int_equal(hp.ejected_count, 0);
    health_passive_free(&hp);
}

static void test_health_passive_off_and_bad_input(void **state)
{
    struct health_passive_params p = default_params;
    struct health_passive hp;
    char err[128] = "";

    p.eject_after = 0;
    init_hp(&hp, 3, &p);
    assert_int_equal(fail_n(&hp, 0, 0, 1000, HEALTH_REQ_5XX, NULL), 0);
    assert_int_equal(health_passive_observe(&hp, 0, 3, HEALTH_REQ_5XX, NULL), -EINVAL);
    assert_int_equal(health_passive_observe(&hp, 0, 0, HEALTH_REQ_COUNT, NULL), -EINVAL);
    assert_false(health_passive_is_ejected(&hp, 99));
    health_passive_free(&hp);

    assert_int_equal(health_passive_init(&hp, 0, &default_params, err, sizeof(err)),
                     -EINVAL);
    p = default_params;
    p.eject_time_ms = 0;
    assert_int_equal(health_passive_init(&hp, 2, &p, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "eject_time"));
    p = default_params;
    p.max_ejected_percent = 101;
    assert_int_equal(health_passive_init(&hp, 2, &p, err, sizeof(err)), -EINVAL);
    p = default_params;
    p.max_eject_time_ms = 5000;
    assert_int_equal(health_passive_init(&hp, 2, &p, err, sizeof(err)), -EINVAL);
    assert_string_equal(health_req_outcome_name(HEALTH_REQ_5XX), "5xx");
    assert_string_equal(health_req_outcome_name(HEALTH_REQ_COUNT), "?");
}

static void test_health_passive_changes_give_their_reason(void **state)
{
    struct health_passive hp;
    struct health_passive_change c, out[1];
    char buf[160];

    init_hp(&hp, 2, &default_params);
    fail_n(&hp, 0, 0, 5, HEALTH_REQ_5XX, &c);
    assert_int_equal(health_passive_change_format(&c, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "EJECTED for 10000 ms (ejection 1 in a row): 5 consecutive "
                             "failed requests, last: 5xx");
    health_passive_tick(&hp, 10000, out, 1);
    assert_int_equal(health_passive_change_format(&out[0], buf, sizeof(buf)), 0);
    assert_string_equal(buf, "BACK: ejection time over");
    fail_n(&hp, 10000, 0, 4, HEALTH_REQ_5XX, NULL);
    fail_n(&hp, 10000, 0, 1, HEALTH_REQ_CONNECT_FAIL, &c);
    assert_int_equal(health_passive_change_format(&c, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "EJECTED for 20000 ms (ejection 2 in a row): 5 consecutive "
                             "failed requests, last: connect_fail");
    health_passive_active_pass(&hp, 10500, 0, &c);
    assert_int_equal(health_passive_change_format(&c, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "BACK: active check passed");
    assert_int_equal(health_passive_change_format(&c, buf, 5), -ENOSPC);
    assert_string_equal(buf, "BACK");
    health_passive_free(&hp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_passive_ejects_after_consecutive_failures),
        cmocka_unit_test(test_health_passive_success_resets_count),
        cmocka_unit_test(test_health_passive_returns_when_time_expires),
        cmocka_unit_test(test_health_passive_backoff_doubles_and_caps),
        cmocka_unit_test(test_health_passive_backoff_decays_after_healthy_period),
        cmocka_unit_test(test_health_passive_max_ejected_percent_caps_pool),
        cmocka_unit_test(test_health_passive_active_pass_returns_server),
        cmocka_unit_test(test_health_passive_ejected_server_outcomes_do_not_extend),
        cmocka_unit_test(test_health_passive_tick_respects_capacity),
        cmocka_unit_test(test_health_passive_off_and_bad_input),
        cmocka_unit_test(test_health_passive_changes_give_their_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
