/*
 * test_lb_ring: the consistent hash ring: distribution, weights, no collateral
 * remap when a server leaves, keys come back when it returns, exclusion equals
 * removal, determinism independent of configuration order, fallback, errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lb/lb.h"
#include "test_lb_util.h"

#define KEYS 100000

static int assign[KEYS];

static void map_keys(const void *t, int *out)
{
    for (uint64_t k = 0; k < KEYS; k++)
        out[k] = tl_pick_key(LB_RING, t, tl_key(k), NULL, NULL);
}

static void test_lb_ring_spreads_keys_evenly(void **state)
{
    struct lb_server s[10];
    int count[10] = {0}, mx = 0, mn = KEYS;
    void *t;
    (void)state;
    tl_servers(s, 10, 1);
    t = tl_build(LB_RING, s, 10, NULL);
    map_keys(t, assign);
    for (int k = 0; k < KEYS; k++)
        count[assign[k]]++;
    for (int i = 0; i < 10; i++) {
        mx = count[i] > mx ? count[i] : mx;
        mn = count[i] < mn ? count[i] : mn;
    }
    /* 1280 points per server: arcs spread by about +-1/sqrt(1280) = 3% */
    print_message("ring N=10: max/mean %.3f min/mean %.3f\n", mx / (KEYS / 10.0),
                  mn / (KEYS / 10.0));
    assert_true(mx < 1.10 * KEYS / 10);
    assert_true(mn > 0.90 * KEYS / 10);
    lb_ops_get(LB_RING)->destroy(t);
}

static void test_lb_ring_weights_act_proportionally(void **state)
{
    struct lb_server s[3];
    int count[3] = {0};
    void *t;
    (void)state;
    tl_servers(s, 3, 1);
    s[1].weight = 2;
    s[2].weight = 3;
    t = tl_build(LB_RING, s, 3, NULL);
    map_keys(t, assign);
    for (int k = 0; k < KEYS; k++)
        count[assign[k]]++;
    for (int i = 0; i < 3; i++) {
        double share = (double)count[i] / KEYS, want = (i + 1) / 6.0;
        print_message("weight %d: share %.3f (want %.3f)\n", i + 1, share, want);
        assert_true(share > want * 0.92 && share < want * 1.08);
    }
    lb_ops_get(LB_RING)->destroy(t);
}

static void test_lb_ring_removal_moves_only_its_keys_and_return_restores(void **state)
{
    static int before[KEYS], after[KEYS], back[KEYS];
    struct lb_server s[20];
    int moved = 0;
    void *t;
    (void)state;
    tl_servers(s, 20, 3);
    t = tl_build(LB_RING, s, 20, NULL);
    map_keys(t, before);
    lb_ops_get(LB_RING)->destroy(t);

    s[7].usable = false; /* down or drained */
    t = tl_build(LB_RING, s, 20, NULL);
    map_keys(t, after);
    lb_ops_get(LB_RING)->destroy(t);
    for (int k = 0; k < KEYS; k++) {
        assert_int_not_equal(after[k], 7);
        if (before[k] != 7)
            assert_int_equal(after[k], before[k]); /* no collateral remap */
        else
            moved++;
    }
    assert_true(moved > 0);

    s[7].usable = true;
    t = tl_build(LB_RING, s, 20, NULL);
    map_keys(t, back);
    lb_ops_get(LB_RING)->destroy(t);
    assert_memory_equal(back, before, sizeof(before));
}

static void test_lb_ring_weight_change_moves_only_that_servers_keys(void **state)
{
    static int before[KEYS], after[KEYS];
    struct lb_server s[10];
    void *t;
    (void)state;
    tl_servers(s, 10, 4);
    t = tl_build(LB_RING, s, 10, NULL);
    map_keys(t, before);
    lb_ops_get(LB_RING)->destroy(t);
    s[2].weight = 2; /* e.g. slow start: fewer points for s2 only */
    t = tl_build(LB_RING, s, 10, NULL);
    map_keys(t, after);
    lb_ops_get(LB_RING)->destroy(t);
    for (int k = 0; k < KEYS; k++)
        if (before[k] != 2)
            assert_int_equal(after[k], before[k]);
}

static void test_lb_ring_exclusion_equals_removal(void **state)
{
    static int removed[KEYS];
    struct lb_server s[8];
    uint64_t ex = 1u << 5;
    void *t;
    (void)state;
    tl_servers(s, 8, 2);
    s[5].usable = false;
    t = tl_build(LB_RING, s, 8, NULL);
    map_keys(t, removed);
    lb_ops_get(LB_RING)->destroy(t);
    s[5].usable = true;
    t = tl_build(LB_RING, s, 8, NULL);
    for (uint64_t k = 0; k < KEYS; k++)
        assert_int_equal(tl_pick_key(LB_RING, t, tl_key(k), NULL, &ex), removed[k]);
    ex = 0xFF;
    assert_int_equal(tl_pick_key(LB_RING, t, tl_key(1), NULL, &ex), -1);
    lb_ops_get(LB_RING)->destroy(t);
}

static void test_lb_ring_same_names_same_placement_in_any_order(void **state)
{
    struct lb_server s[6], r[6];
    void *t1, *t2;
    (void)state;
    tl_servers(s, 6, 1);
    for (int i = 0; i < 6; i++)
        r[i] = s[5 - i];
    t1 = tl_build(LB_RING, s, 6, NULL);
    t2 = tl_build(LB_RING, r, 6, NULL);
    for (uint64_t k = 0; k < 20000; k++) {
        int a = tl_pick_key(LB_RING, t1, tl_key(k), NULL, NULL);
        int b = tl_pick_key(LB_RING, t2, tl_key(k), NULL, NULL);
        assert_string_equal(s[a].name, r[b].name);
    }
    lb_ops_get(LB_RING)->destroy(t1);
    lb_ops_get(LB_RING)->destroy(t2);
}

/* The owners of keys "/k/0".."/k/7" on servers s0..s<n-1> of the given weights. */
static void pinned(size_t n, const uint32_t *w, uint32_t points, const int *want)
{
    struct lb_server s[8];
    struct lb_params p;
    int got[8];
    void *t;
    tl_servers(s, n, 1);
    for (size_t i = 0; i < n; i++)
        s[i].weight = w[i];
    memset(&p, 0, sizeof(p));
    p.ring_points = points;
    t = tl_build(LB_RING, s, n, &p);
    for (uint64_t k = 0; k < 8; k++)
        got[k] = tl_pick_key(LB_RING, t, tl_key(k), NULL, NULL);
    print_message("pinned, %u points: %d %d %d %d %d %d %d %d\n", points, got[0], got[1],
                  got[2], got[3], got[4], got[5], got[6], got[7]);
    assert_memory_equal(got, want, 8 * sizeof(*want));
    lb_ops_get(LB_RING)->destroy(t);
}

static void test_lb_ring_known_placement_is_pinned(void **state)
{
    /* A tier of instances, old and new builds, must agree: pin a few placements
     * so that a change of hash, point rule or lookup shows up here. The
     * expected owners were computed outside this code base, by
     * tests/unit/lb_ring_ref.py (`python3 tests/unit/lb_ring_ref.py pinned`): a
     * Python implementation of XXH64 and of the placement rule of lb_ring.h
     * that generates every point, sorts them and bisects. */
    static const uint32_t ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    static const uint32_t mixed[6] = {1, 2, 3, 1, 1, 4};
    static const int want160[8] = {1, 2, 4, 0, 3, 3, 0, 3};
    static const int want100[8] = {5, 5, 1, 2, 3, 4, 5, 2};
    static const int want1[8] = {1, 2, 0, 1, 0, 2, 0, 0};
    (void)state;
    pinned(5, ones, 160, want160);  /* 128 strata, two points in some */
    pinned(6, mixed, 100, want100); /* 64 to 256 strata by weight */
    pinned(3, ones, 1, want1);      /* one point each, one stratum */
}

static void test_lb_ring_few_points_still_spread(void **state)
{
    /* 100 points per server (64 strata, some with two points of a server):
     * no slice of the ring may be left without points, or a few servers
     * would own the gaps. 1/sqrt(100): arcs spread by about +-10 %. */
    struct lb_server s[10];
    struct lb_params p;
    int count[10] = {0}, mx = 0, mn = KEYS;
    void *t;
    (void)state;
    tl_servers(s, 10, 1);
    memset(&p, 0, sizeof(p));
    p.ring_points = 100;
    t = tl_build(LB_RING, s, 10, &p);
    map_keys(t, assign);
    for (int k = 0; k < KEYS; k++)
        count[assign[k]]++;
    for (int i = 0; i < 10; i++) {
        mx = count[i] > mx ? count[i] : mx;
        mn = count[i] < mn ? count[i] : mn;
    }
    print_message("ring N=10, 100 points: max/mean %.3f min/mean %.3f\n",
                  mx / (KEYS / 10.0), mn / (KEYS / 10.0));
    assert_true(mx < 1.35 * KEYS / 10);
    assert_true(mn > 0.65 * KEYS / 10);
    lb_ops_get(LB_RING)->destroy(t);
}

static void test_lb_ring_only_points_times_weight_counts(void **state)
{
    /* The runtime hands the ring weights in 1/16 units and ring_points / 16
     * points per unit (route.c): points depend on ring_points x weight only,
     * so at full weight the table is the one of whole weights. */
    static int whole[KEYS];
    struct lb_server s[12];
    struct lb_params p;
    void *t;
    (void)state;
    tl_servers(s, 12, 1);
    s[4].weight = 2;
    memset(&p, 0, sizeof(p));
    p.ring_points = 1280;
    t = tl_build(LB_RING, s, 12, &p);
    map_keys(t, whole);
    lb_ops_get(LB_RING)->destroy(t);
    for (int i = 0; i < 12; i++)
        s[i].weight *= 16;
    p.ring_points = 80;
    t = tl_build(LB_RING, s, 12, &p);
    map_keys(t, assign);
    lb_ops_get(LB_RING)->destroy(t);
    assert_memory_equal(assign, whole, sizeof(whole));

    /* s7 ramping at 5/16: 400 points, in 256 strata instead of 1,024, so
     * placed anew; keys move to or from s7 only */
    s[7].weight = 5;
    t = tl_build(LB_RING, s, 12, &p);
    map_keys(t, assign);
    lb_ops_get(LB_RING)->destroy(t);
    for (int k = 0; k < KEYS; k++)
        if (whole[k] != 7 && assign[k] != 7)
            assert_int_equal(assign[k], whole[k]);
}

static void test_lb_ring_lookup_and_walk_agree_at_bucket_edges(void **state)
{
    /* The plain lookup (smallest point >= key in the key's bucket, else the
     * next non-empty bucket's smallest) and the walk used by retries and
     * bounded loads (an empty exclusion set) must find the same point, for
     * keys at every bucket edge, just below it and inside the bucket, and at
     * the top of the ring, where both wrap. 540,160 points: 2^17 buckets. */
    struct lb_server s[20];
    uint64_t none[1] = {0};
    void *t;
    (void)state;
    tl_servers(s, 20, 21);
    s[3].weight = 23;
    t = tl_build(LB_RING, s, 20, NULL);
    for (uint64_t g = 0; g < (1u << 17); g++) {
        uint64_t edge = g << 47;
        uint64_t keys[3] = {edge, edge - 1, edge | ((g * 0x9E3779B97F4A7C15ull) >> 17)};
        for (int i = 0; i < 3; i++)
            assert_int_equal(tl_pick_key(LB_RING, t, keys[i], NULL, NULL),
                             tl_pick_key(LB_RING, t, keys[i], NULL, none));
    }
    assert_int_equal(tl_pick_key(LB_RING, t, UINT64_MAX, NULL, NULL),
                     tl_pick_key(LB_RING, t, 0, NULL, NULL));
    lb_ops_get(LB_RING)->destroy(t);
}

static void test_lb_ring_no_key_falls_back_to_round_robin(void **state)
{
    struct lb_server s[3];
    struct lb_pick in;
    void *t;
    (void)state;
    tl_servers(s, 3, 1);
    t = tl_build(LB_RING, s, 3, NULL);
    memset(&in, 0, sizeof(in));
    for (uint64_t q = 0; q < 6; q++) {
        struct lb_result r;
        in.sequence = q;
        r = lb_ops_get(LB_RING)->pick(t, &in);
        assert_true(r.fallback);
        assert_int_equal(r.server, (int)(q % 3));
    }
    lb_ops_get(LB_RING)->destroy(t);
}

static void test_lb_ring_rejects_bad_input(void **state)
{
    struct lb_server s[3];
    struct lb_params p;
    char err[256] = "";
    (void)state;
    tl_servers(s, 3, 1);
    s[2].name = s[0].name;
    assert_null(lb_ops_get(LB_RING)->build(s, 3, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "two servers are named"));
    tl_servers(s, 3, 1u << 20);
    memset(&p, 0, sizeof(p));
    assert_null(lb_ops_get(LB_RING)->build(s, 3, &p, err, sizeof(err)));
    assert_non_null(strstr(err, "points"));
}

static void test_lb_ring_empty_gives_minus_one(void **state)
{
    struct lb_server s[2];
    void *t;
    (void)state;
    tl_servers(s, 2, 1);
    s[0].usable = s[1].usable = false;
    t = tl_build(LB_RING, s, 2, NULL);
    assert_int_equal(tl_pick_key(LB_RING, t, 42, NULL, NULL), -1);
    lb_ops_get(LB_RING)->destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lb_ring_spreads_keys_evenly),
        cmocka_unit_test(test_lb_ring_weights_act_proportionally),
        cmocka_unit_test(test_lb_ring_removal_moves_only_its_keys_and_return_restores),
        cmocka_unit_test(test_lb_ring_weight_change_moves_only_that_servers_keys),
        cmocka_unit_test(test_lb_ring_exclusion_equals_removal),
        cmocka_unit_test(test_lb_ring_same_names_same_placement_in_any_order),
        cmocka_unit_test(test_lb_ring_known_placement_is_pinned),
        cmocka_unit_test(test_lb_ring_few_points_still_spread),
        cmocka_unit_test(test_lb_ring_only_points_times_weight_counts),
        cmocka_unit_test(test_lb_ring_lookup_and_walk_agree_at_bucket_edges),
        cmocka_unit_test(test_lb_ring_no_key_falls_back_to_round_robin),
        cmocka_unit_test(test_lb_ring_rejects_bad_input),
        cmocka_unit_test(test_lb_ring_empty_gives_minus_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
