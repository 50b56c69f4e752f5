/*
 * test_lb_random2: weighted draws, the less loaded of two wins, determinism for
 * a given randomness, exclusion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lb/lb.h"
#include "test_lb_util.h"

static int r2(const void *t, uint64_t random, const uint32_t *load, const uint64_t *ex)
{
    struct lb_pick in;
    memset(&in, 0, sizeof(in));
    in.random = random;
    in.load = load;
    in.exclude = ex;
    return lb_ops_get(LB_RANDOM2)->pick(t, &in).server;
}

static void test_lb_random2_draws_follow_weights(void **state)
{
    struct lb_server s[3];
    int count[3] = {0};
    uint64_t rnd = 1;
    void *t;
    (void)state;
    tl_servers(s, 3, 1);
    s[1].weight = 3;
    s[2].weight = 6;
    t = tl_build(LB_RANDOM2, s, 3, NULL);
    for (int q = 0; q < 100000; q++)
        count[r2(t, tl_rand(&rnd), NULL, NULL)]++;
    assert_true(count[0] > 9000 && count[0] < 11000);
    assert_true(count[1] > 28500 && count[1] < 31500);
    assert_true(count[2] > 58000 && count[2] < 62000);
    lb_ops_get(LB_RANDOM2)->destroy(t);
}

static void test_lb_random2_less_loaded_of_two_wins(void **state)
{
    /* s0 is busy: it is chosen only when both draws land on it (1 in 4) */
    struct lb_server s[2];
    uint32_t load[2] = {100, 0};
    int busy = 0;
    uint64_t rnd = 7;
    void *t;
    (void)state;
    tl_servers(s, 2, 1);
    t = tl_build(LB_RANDOM2, s, 2, NULL);
    for (int q = 0; q < 40000; q++)
        busy += r2(t, tl_rand(&rnd), load, NULL) == 0;
    assert_true(busy > 9000 && busy < 11000);
    lb_ops_get(LB_RANDOM2)->destroy(t);
}

/* Idle servers (low concurrency) share by weight: 1:3 over idle servers is
 * about 25/75 %, not the heavier one winning every pair it is drawn in. */
static void test_lb_random2_idle_servers_share_by_weight(void **state)
{
    struct lb_server s[2];
    uint32_t load[2] = {0, 0};
    int light = 0;
    uint64_t rnd = 11;
    void *t;
    (void)state;
    tl_servers(s, 2, 1);
    s[1].weight = 3;
    t = tl_build(LB_RANDOM2, s, 2, NULL);
    for (int q = 0; q < 40000; q++)
        light += r2(t, tl_rand(&rnd), load, NULL) == 0;
    assert_true(light > 9000 && light < 11000);
    lb_ops_get(LB_RANDOM2)->destroy(t);
}

static void test_lb_random2_closed_loop_evens_out(void **state)
{
    struct lb_server s[8];
    uint32_t load[8] = {0};
    uint64_t rnd = 3;
    uint32_t mx = 0, mn = UINT32_MAX;
    void *t;
    (void)state;
    tl_servers(s, 8, 1);
    t = tl_build(LB_RANDOM2, s, 8, NULL);
    for (int q = 0; q < 8000; q++)
        load[r2(t, tl_rand(&rnd), load, NULL)]++;
    for (int i = 0; i < 8; i++) {
        mx = load[i] > mx ? load[i] : mx;
        mn = load[i] < mn ? load[i] : mn;
    }
    /* two choices keep the gap to a few requests (one choice: ~+-3 sigma = 90) */
    assert_true(mx - mn <= 8);
    lb_ops_get(LB_RANDOM2)->destroy(t);
}

static void test_lb_random2_same_randomness_same_pick(void **state)
{
    struct lb_server s[5];
    uint32_t load[5] = {1, 2, 3, 4, 5};
    void *t;
    (void)state;
    tl_servers(s, 5, 2);
    t = tl_build(LB_RANDOM2, s, 5, NULL);
    for (uint64_t q = 0; q < 1000; q++)
        assert_int_equal(r2(t, q * 0x9E3779B97F4A7C15ULL, load, NULL),
                         r2(t, q * 0x9E3779B97F4A7C15ULL, load, NULL));
    lb_ops_get(LB_RANDOM2)->destroy(t);
}

static void test_lb_random2_never_picks_excluded_or_unusable(void **state)
{
    struct lb_server s[4];
    uint32_t load[4] = {0};
    uint64_t ex = 1u << 1, rnd = 11;
    void *t;
    (void)state;
    tl_servers(s, 4, 1);
    s[3].usable = false;
    t = tl_build(LB_RANDOM2, s, 4, NULL);
    for (int q = 0; q < 5000; q++) {
        int x = r2(t, tl_rand(&rnd), (q & 1) ? load : NULL, &ex);
        assert_true(x == 0 || x == 2);
    }
    ex = 0x7;
    assert_int_equal(r2(t, 5, load, &ex), -1);
    lb_ops_get(LB_RANDOM2)->destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lb_random2_draws_follow_weights),
        cmocka_unit_test(test_lb_random2_less_loaded_of_two_wins),
        cmocka_unit_test(test_lb_random2_idle_servers_share_by_weight),
        cmocka_unit_test(test_lb_random2_closed_loop_evens_out),
        cmocka_unit_test(test_lb_random2_same_randomness_same_pick),
        cmocka_unit_test(test_lb_random2_never_picks_excluded_or_unusable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
