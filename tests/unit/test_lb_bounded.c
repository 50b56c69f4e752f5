/*
 * test_lb_bounded: consistent hashing with bounded loads on ring and maglev:
 * the cap is never exceeded, spills are deterministic and flagged, nothing
 * spills under the cap, caps follow weights, a ring spill goes where removal of
 * the overloaded server would send the key, and bad loads still give a server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <cmocka.h>

#include "lb/lb.h"
#include "test_lb_util.h"

static struct lb_result pick_full(enum lb_algo a, const void *t, uint64_t h,
                                  const uint32_t *load, uint64_t load_total,
                                  const uint64_t *exclude)
{
    struct lb_pick in;
    memset(&in, 0, sizeof(in));
    in.key_hash = h;
    in.has_key = true;
    in.load = load;
    in.load_total = load_total;
    in.exclude = exclude;
    return lb_ops_get(a)->pick(t, &in);
}

static const enum lb_algo hashing[2] = {LB_RING, LB_MAGLEV};

static void test_lb_bounded_cap_is_never_exceeded(void **state)
{
    (void)state;
    for (int a = 0; a < 2; a++) {
        struct lb_server s[10];
        struct lb_params p;
        uint32_t load[10] = {0};
        uint64_t total = 0, spills = 0;
        void *t, *plain;
        tl_servers(s, 10, 1);
        memset(&p, 0, sizeof(p));
        p.balance_factor = 1.25;
        t = tl_build(hashing[a], s, 10, &p);
        plain = tl_build(hashing[a], s, 10, NULL);
        for (uint64_t k = 0; k < 5000; k++) {
            /* only a few hot keys: without the cap they would pile up */
            uint64_t h = tl_key(k % 7);
            struct lb_result r = pick_full(hashing[a], t, h, load, total, NULL);
            uint64_t cap = (uint64_t)ceil(1.25 * (double)(total + 1) / 10.0);
            int first = tl_pick_key(hashing[a], plain, h, NULL, NULL);
            assert_true(r.server >= 0);
            assert_true(load[r.server] + 1 <= cap);
            assert_int_equal(r.spilled, r.server != first);
            spills += r.spilled;
            load[r.server]++;
            total++;
        }
        assert_true(spills > 0);
        lb_ops_get(hashing[a])->destroy(t);
        lb_ops_get(hashing[a])->destroy(plain);
    }
}

static void test_lb_bounded_same_loads_same_spill(void **state)
{
    (void)state;
    for (int a = 0; a < 2; a++) {
        static int first_run[3000];
        struct lb_server s[20];
        struct lb_params p;
        void *t;
        tl_servers(s, 20, 2);
        memset(&p, 0, sizeof(p));
        p.balance_factor = 1.1;
        t = tl_build(hashing[a], s, 20, &p);
        for (int run = 0; run < 2; run++) {
            uint32_t load[20] = {0};
            for (uint64_t k = 0; k < 3000; k++) {
                /* load_total 0: the balancer sums the loads itself */
                struct lb_result r =
                    pick_full(hashing[a], t, tl_key(k % 50), load, 0, NULL);
                if (run == 0)
                    first_run[k] = r.server;
                else
                    assert_int_equal(r.server, first_run[k]);
                load[r.server]++;
            }
        }
        lb_ops_get(hashing[a])->destroy(t);
    }
}

static void test_lb_bounded_no_spill_under_the_cap(void **state)
{
    (void)state;
    for (int a = 0; a < 2; a++) {
        struct lb_server s[8];
        struct lb_params p;
        uint32_t load[8] = {0};
        void *t;
        tl_servers(s, 8, 1);
        memset(&p, 0, sizeof(p));
        p.balance_factor = 1.5;
        t = tl_build(hashing[a], s, 8, &p);
        for (uint64_t k = 0; k < 2000; k++) {
            struct lb_result r = pick_full(hashing[a], t, tl_key(k), load, 0, NULL);
            assert_false(r.spilled);
            assert_int_equal(r.server, tl_pick_key(hashing[a], t, tl_key(k), NULL, NULL));
        }
        lb_ops_get(hashing[a])->destroy(t);
    }
}

static void test_lb_bounded_caps_follow_weights(void **state)
{
    /* weights 1 and 3, loads 3 and 3, factor 1.25: caps are
     * ceil(1.25 * 7 * 1/4) = 3 and ceil(1.25 * 7 * 3/4) = 7, so the light
     * server is full and every key goes to the heavy one; with equal weights
     * both caps would be 5 and the light server would still take keys. */
    (void)state;
    for (int a = 0; a < 2; a++) {
        struct lb_server s[2];
        struct lb_params p;
        uint32_t load[2] = {3, 3};
        int to_light = 0;
        void *t;
        tl_servers(s, 2, 1);
        s[1].weight = 3;
        memset(&p, 0, sizeof(p));
        p.balance_factor = 1.25;
        t = tl_build(hashing[a], s, 2, &p);
        for (uint64_t k = 0; k < 500; k++)
            assert_int_equal(pick_full(hashing[a], t, tl_key(k), load, 6, NULL).server,
                             1);
        lb_ops_get(hashing[a])->destroy(t);
        s[1].weight = 1;
        t = tl_build(hashing[a], s, 2, &p);
        for (uint64_t k = 0; k < 500; k++)
            to_light += pick_full(hashing[a], t, tl_key(k), load, 6, NULL).server == 0;
        assert_true(to_light > 100);
        lb_ops_get(hashing[a])->destroy(t);
    }
}

static void test_lb_bounded_ring_spill_goes_where_removal_would(void **state)
{
    struct lb_server s[10];
    struct lb_params p;
    uint32_t load[10] = {0};
    void *t, *without;
    (void)state;
    tl_servers(s, 10, 1);
    memset(&p, 0, sizeof(p));
    p.balance_factor = 1.25;
    t = tl_build(LB_RING, s, 10, &p);
    s[3].usable = false;
    without = tl_build(LB_RING, s, 10, NULL);
    load[3] = 100; /* cap ceil(1.25 * 101 / 10) = 13: only s3 is over it */
    for (uint64_t k = 0; k < 20000; k++) {
        struct lb_result r = pick_full(LB_RING, t, tl_key(k), load, 100, NULL);
        assert_int_equal(r.server, tl_pick_key(LB_RING, without, tl_key(k), NULL, NULL));
    }
    lb_ops_get(LB_RING)->destroy(t);
    lb_ops_get(LB_RING)->destroy(without);
}

static void test_lb_bounded_wrong_total_or_exclusion_still_answers(void **state)
{
    (void)state;
    for (int a = 0; a < 2; a++) {
        struct lb_server s[4];
        struct lb_params p;
        uint32_t load[4] = {50, 50, 50, 50};
        uint64_t ex = 0x7; /* s0, s1, s2 already tried */
        void *t;
        tl_servers(s, 4, 1);
        memset(&p, 0, sizeof(p));
        p.balance_factor = 1.25;
        t = tl_build(hashing[a], s, 4, &p);
        for (uint64_t k = 0; k < 200; k++) {
            /* a load_total far below the loads: no cap can be met */
            struct lb_result r = pick_full(hashing[a], t, tl_key(k), load, 1, NULL);
            assert_int_equal(r.server, tl_pick_key(hashing[a], t, tl_key(k), NULL, NULL));
            assert_false(r.spilled);
            r = pick_full(hashing[a], t, tl_key(k), load, 200, &ex);
            assert_int_equal(r.server, 3);
        }
        ex = 0xF;
        assert_int_equal(pick_full(hashing[a], t, tl_key(1), load, 200, &ex).server, -1);
        lb_ops_get(hashing[a])->destroy(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lb_bounded_cap_is_never_exceeded),
        cmocka_unit_test(test_lb_bounded_same_loads_same_spill),
        cmocka_unit_test(test_lb_bounded_no_spill_under_the_cap),
        cmocka_unit_test(test_lb_bounded_caps_follow_weights),
        cmocka_unit_test(test_lb_bounded_ring_spill_goes_where_removal_would),
        cmocka_unit_test(test_lb_bounded_wrong_total_or_exclusion_still_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
