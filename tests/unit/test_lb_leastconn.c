/*
 * test_lb_leastconn: fewest in-flight per unit of weight, rotation among equals,
 * exclusion, and round robin without loads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lb/lb.h"
#include "test_lb_util.h"

static int lc(const void *t, uint64_t seq, const uint32_t *load, const uint64_t *ex)
{
    struct lb_pick in;
    memset(&in, 0, sizeof(in));
    in.sequence = seq;
    in.load = load;
    in.exclude = ex;
    return lb_ops_get(LB_LEASTCONN)->pick(t, &in).server;
}

static void test_lb_leastconn_picks_the_least_loaded(void **state)
{
    struct lb_server s[3];
    uint32_t load[3] = {5, 1, 3};
    void *t;
    (void)state;
    tl_servers(s, 3, 1);
    t = tl_build(LB_LEASTCONN, s, 3, NULL);
    for (uint64_t q = 0; q < 9; q++)
        assert_int_equal(lc(t, q, load, NULL), 1);
    lb_ops_get(LB_LEASTCONN)->destroy(t);
}

static void test_lb_leastconn_weighs_load_by_weight(void **state)
{
    /* (4 + 1) / 3 < (2 + 1) / 1: the heavier server is relatively less loaded */
    struct lb_server s[2];
    uint32_t load[2] = {4, 2};
    void *t;
    (void)state;
    tl_servers(s, 2, 1);
    s[0].weight = 3;
    t = tl_build(LB_LEASTCONN, s, 2, NULL);
    assert_int_equal(lc(t, 0, load, NULL), 0);
    assert_int_equal(lc(t, 1, load, NULL), 0);
    load[0] = 9; /* 10 / 3 > 3 / 1 */
    assert_int_equal(lc(t, 0, load, NULL), 1);
    lb_ops_get(LB_LEASTCONN)->destroy(t);
}

static void test_lb_leastconn_equal_servers_share_in_rotation(void **state)
{
    struct lb_server s[4];
    uint32_t load[4] = {2, 2, 2, 2};
    void *t;
    (void)state;
    tl_servers(s, 4, 1);
    t = tl_build(LB_LEASTCONN, s, 4, NULL);
    for (uint64_t q = 0; q < 12; q++)
        assert_int_equal(lc(t, q, load, NULL), (int)(q % 4));
    lb_ops_get(LB_LEASTCONN)->destroy(t);
}

/* At low concurrency every server is often idle: the idle ones share by weight
 * (weighted round robin), not the heaviest taking everything. */
static void test_lb_leastconn_idle_servers_share_by_weight(void **state)
{
    struct lb_server s[2];
    uint32_t load[2] = {0, 0};
    int count[2] = {0, 0};
    void *t;
    (void)state;
    tl_servers(s, 2, 1);
    s[1].weight = 3;
    t = tl_build(LB_LEASTCONN, s, 2, NULL);
    for (uint64_t q = 0; q < 400; q++)
        count[lc(t, q, load, NULL)]++;
    assert_int_equal(count[0], 100);
    assert_int_equal(count[1], 300);
    /* a busy server is still passed over for an idle one, whatever the weights */
    load[1] = 1;
    for (uint64_t q = 0; q < 8; q++)
        assert_int_equal(lc(t, q, load, NULL), 0);
    lb_ops_get(LB_LEASTCONN)->destroy(t);
}

static void test_lb_leastconn_closed_loop_stays_balanced(void **state)
{
    /* every pick adds a request, every third pick finishes the oldest one */
    struct lb_server s[5];
    uint32_t load[5] = {0};
    int hist[3000];
    void *t;
    (void)state;
    tl_servers(s, 5, 1);
    s[4].weight = 2;
    t = tl_build(LB_LEASTCONN, s, 5, NULL);
    for (int q = 0; q < 3000; q++) {
        int x = lc(t, (uint64_t)q, load, NULL);
        load[x]++;
        hist[q] = x;
        if (q % 3 == 2)
            load[hist[q / 3]]--;
    }
    for (int i = 0; i < 4; i++) {
        /* load / weight stays level: s4 carries about twice the others */
        assert_true(load[i] + 1 >= load[4] / 2 && load[i] <= (load[4] + 2) / 2 + 1);
    }
    lb_ops_get(LB_LEASTCONN)->destroy(t);
}

static void test_lb_leastconn_exclusion_and_no_loads(void **state)
{
    struct lb_server s[3];
    uint32_t load[3] = {0, 9, 9};
    uint64_t ex = 1;
    void *t;
    (void)state;
    tl_servers(s, 3, 1);
    s[2].usable = false;
    t = tl_build(LB_LEASTCONN, s, 3, NULL);
    assert_int_equal(lc(t, 0, load, NULL), 0);
    assert_int_equal(lc(t, 0, load, &ex), 1); /* s2 is not usable */
    ex = 3;
    assert_int_equal(lc(t, 0, load, &ex), -1);
    /* without loads: round robin over the usable servers */
    for (uint64_t q = 0; q < 6; q++)
        assert_int_equal(lc(t, q, NULL, NULL), (int)(q % 2));
    lb_ops_get(LB_LEASTCONN)->destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lb_leastconn_picks_the_least_loaded),
        cmocka_unit_test(test_lb_leastconn_weighs_load_by_weight),
        cmocka_unit_test(test_lb_leastconn_equal_servers_share_in_rotation),
        cmocka_unit_test(test_lb_leastconn_idle_servers_share_by_weight),
        cmocka_unit_test(test_lb_leastconn_closed_loop_stays_balanced),
        cmocka_unit_test(test_lb_leastconn_exclusion_and_no_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
