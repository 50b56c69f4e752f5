/*
 * test_lb_maglev: the Maglev table: primes, slot balance (each server gets
 * floor or ceil of M/N slots), Envoy-style weights, a down server moves only its
 * own keys (spread out) and gets them back, a server deleted from the
 * configuration moves its keys and few others, placement
 * pinned against an independent implementation, order independence, exclusion,
 * fallback, errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lb/lb.h"
#include "lb/lb_maglev.h"
#include "lb/lb_maglev.c" /* to read the table's slots */
#include "test_lb_util.h"

#define KEYS 100000

static void slot_counts(const struct maglev_table *t, uint32_t *count, size_t n)
{
    memset(count, 0, n * sizeof(*count));
    for (uint32_t c = 0; c < t->m; c++)
        count[t->base.idx[t->slot[c]]]++;
}

static void test_lb_maglev_prime_check(void **state)
{
    (void)state;
    assert_true(lb_maglev_is_prime(2));
    assert_true(lb_maglev_is_prime(13));
    assert_true(lb_maglev_is_prime(65537));
    assert_true(lb_maglev_is_prime(LB_MAGLEV_TABLE_SIZE_MAX));
    assert_false(lb_maglev_is_prime(0));
    assert_false(lb_maglev_is_prime(1));
    assert_false(lb_maglev_is_prime(65536));
    assert_false(lb_maglev_is_prime(65535));
    assert_false(lb_maglev_is_prime(4294967295u));
}

static void test_lb_maglev_equal_weights_get_floor_or_ceil_slots(void **state)
{
    const size_t ns[] = {3, 10, 100, 1000};
    (void)state;
    for (size_t k = 0; k < 4; k++) {
        static struct lb_server s[1000];
        static uint32_t count[1000];
        size_t n = ns[k];
        struct maglev_table *t;
        tl_servers(s, n, 5);
        t = tl_build(LB_MAGLEV, s, n, NULL);
        slot_counts(t, count, n);
        for (size_t i = 0; i < n; i++) {
            assert_true(count[i] == 65537 / n || count[i] == 65537 / n + 1);
        }
        lb_maglev_ops.destroy(t);
    }
}

static void test_lb_maglev_weights_act_proportionally(void **state)
{
    /* Envoy's documented example: weights 1 and 2 give 21,846 and 43,691 slots */
    struct lb_server s[3];
    uint32_t count[3];
    struct maglev_table *t;
    (void)state;
    tl_servers(s, 2, 1);
    s[1].weight = 2;
    t = tl_build(LB_MAGLEV, s, 2, NULL);
    slot_counts(t, count, 2);
    assert_int_equal(count[0], 21846);
    assert_int_equal(count[1], 43691);
    lb_maglev_ops.destroy(t);

    tl_servers(s, 3, 10);
    s[1].weight = 20;
    s[2].weight = 70;
    t = tl_build(LB_MAGLEV, s, 3, NULL);
    slot_counts(t, count, 3);
    assert_true(count[0] >= 6553 && count[0] <= 6555);
    assert_true(count[1] >= 13106 && count[1] <= 13109);
    lb_maglev_ops.destroy(t);
}

static void test_lb_maglev_down_server_moves_only_its_keys_and_they_return(void **state)
{
    static int before[KEYS], after[KEYS], back[KEYS];
    struct lb_server s[100];
    int need = 0, got[100] = {0}, most = 0;
    struct maglev_table *t, *t0;
    (void)state;
    tl_servers(s, 100, 1);
    t0 = tl_build(LB_MAGLEV, s, 100, NULL);
    for (uint64_t k = 0; k < KEYS; k++)
        before[k] = tl_pick_key(LB_MAGLEV, t0, tl_key(k), NULL, NULL);

    s[42].usable = false; /* down or drained */
    t = tl_build(LB_MAGLEV, s, 100, NULL);
    for (uint64_t k = 0; k < KEYS; k++) {
        after[k] = tl_pick_key(LB_MAGLEV, t, tl_key(k), NULL, NULL);
        assert_int_not_equal(after[k], 42);
        if (before[k] == 42) {
            need++;
            got[after[k]]++;
        } else {
            assert_int_equal(after[k], before[k]); /* no collateral remap */
        }
    }
    lb_maglev_ops.destroy(t);
    /* its ~1,000 keys are spread over the others, not dumped on one */
    for (int i = 0; i < 100; i++)
        most = got[i] > most ? got[i] : most;
    print_message("maglev N=100, one down: %d keys moved, at most %d to one server\n",
                  need, most);
    assert_true(need > 500);
    assert_true(most < need / 10);

    s[42].usable = true;
    t = tl_build(LB_MAGLEV, s, 100, NULL);
    assert_memory_equal(t->slot, t0->slot, t->m * sizeof(t->slot[0]));
    for (uint64_t k = 0; k < KEYS; k++)
        back[k] = tl_pick_key(LB_MAGLEV, t, tl_key(k), NULL, NULL);
    assert_memory_equal(back, before, sizeof(before));
    lb_maglev_ops.destroy(t);
    lb_maglev_ops.destroy(t0);
}

static void test_lb_maglev_removed_server_moves_its_keys_and_few_others(void **state)
{
    /* a server deleted from the configuration: the table is rebuilt without
     * it, which moves its keys and, as the paper says, a few others */
    static int before[KEYS];
    struct lb_server s[100];
    int need = 0, collateral = 0;
    void *t;
    (void)state;
    tl_servers(s, 100, 1);
    t = tl_build(LB_MAGLEV, s, 100, NULL);
    for (uint64_t k = 0; k < KEYS; k++)
        before[k] = tl_pick_key(LB_MAGLEV, t, tl_key(k), NULL, NULL);
    lb_maglev_ops.destroy(t);
    s[42] = s[99]; /* s99 takes index 42: compare by name */
    t = tl_build(LB_MAGLEV, s, 99, NULL);
    for (uint64_t k = 0; k < KEYS; k++) {
        int now = tl_pick_key(LB_MAGLEV, t, tl_key(k), NULL, NULL);
        int was = before[k] == 99 ? 42 : before[k];
        if (before[k] == 42)
            need++;
        else if (now != was)
            collateral++;
    }
    lb_maglev_ops.destroy(t);
    print_message("maglev N=100 removal: necessary %.4f, collateral %.4f\n",
                  (double)need / KEYS, (double)collateral / KEYS);
    assert_true(need > 0);
    assert_true(collateral > 0 && collateral < KEYS / 50);
}

static void test_lb_maglev_known_placement_is_pinned(void **state)
{
    /* Computed by a separate Python implementation of XXH64 and of the
     * population loop (offset/skip seeds as in lb_maglev.c, turns in name order,
     * Envoy's weighted turns), so that every build of every instance agrees. */
    const uint16_t want13[13] = {0, 2, 1, 2, 1, 2, 1, 2, 1, 0, 2, 0, 2};
    const int want_keys[8] = {1, 2, 0, 0, 2, 3, 2, 3};
    struct lb_server s[5];
    struct lb_params p;
    struct maglev_table *t;
    (void)state;
    tl_servers(s, 3, 1);
    s[1].weight = 2;
    s[2].weight = 3;
    memset(&p, 0, sizeof(p));
    p.maglev_table_size = 13;
    t = tl_build(LB_MAGLEV, s, 3, &p);
    for (uint32_t c = 0; c < 13; c++)
        assert_int_equal(t->base.idx[t->slot[c]], want13[c]);
    lb_maglev_ops.destroy(t);

    tl_servers(s, 5, 1);
    t = tl_build(LB_MAGLEV, s, 5, NULL);
    for (uint64_t k = 0; k < 8; k++)
        assert_int_equal(tl_pick_key(LB_MAGLEV, t, tl_key(k), NULL, NULL), want_keys[k]);
    lb_maglev_ops.destroy(t);
}

static void test_lb_maglev_same_names_same_placement_in_any_order(void **state)
{
    struct lb_server s[7], r[7];
    void *t1, *t2;
    (void)state;
    tl_servers(s, 7, 3);
    for (int i = 0; i < 7; i++)
        r[i] = s[(i * 3) % 7];
    t1 = tl_build(LB_MAGLEV, s, 7, NULL);
    t2 = tl_build(LB_MAGLEV, r, 7, NULL);
    for (uint64_t k = 0; k < 20000; k++) {
        int a = tl_pick_key(LB_MAGLEV, t1, tl_key(k), NULL, NULL);
        int b = tl_pick_key(LB_MAGLEV, t2, tl_key(k), NULL, NULL);
        assert_string_equal(s[a].name, r[b].name);
    }
    lb_maglev_ops.destroy(t1);
    lb_maglev_ops.destroy(t2);
}

static void test_lb_maglev_exclusion_moves_only_excluded_keys(void **state)
{
    struct lb_server s[6];
    uint64_t ex = 1u << 2;
    void *t;
    (void)state;
    tl_servers(s, 6, 1);
    t = tl_build(LB_MAGLEV, s, 6, NULL);
    for (uint64_t k = 0; k < KEYS / 10; k++) {
        int plain = tl_pick_key(LB_MAGLEV, t, tl_key(k), NULL, NULL);
        int retry = tl_pick_key(LB_MAGLEV, t, tl_key(k), NULL, &ex);
        assert_int_not_equal(retry, 2);
        if (plain != 2)
            assert_int_equal(retry, plain);
        /* a retry of the same key always goes to the same place */
        assert_int_equal(tl_pick_key(LB_MAGLEV, t, tl_key(k), NULL, &ex), retry);
    }
    ex = 0x3F;
    assert_int_equal(tl_pick_key(LB_MAGLEV, t, tl_key(1), NULL, &ex), -1);
    lb_maglev_ops.destroy(t);
}

static void test_lb_maglev_no_key_falls_back_to_round_robin(void **state)
{
    struct lb_server s[4];
    struct lb_pick in;
    void *t;
    (void)state;
    tl_servers(s, 4, 1);
    t = tl_build(LB_MAGLEV, s, 4, NULL);
    memset(&in, 0, sizeof(in));
    for (uint64_t q = 0; q < 8; q++) {
        struct lb_result r;
        in.sequence = q;
        r = lb_maglev_ops.pick(t, &in);
        assert_true(r.fallback);
        assert_false(r.spilled);
        assert_int_equal(r.server, (int)(q % 4));
    }
    lb_maglev_ops.destroy(t);
}

static void test_lb_maglev_rejects_bad_table_sizes(void **state)
{
    struct lb_server s[20];
    struct lb_params p;
    char err[256] = "";
    (void)state;
    tl_servers(s, 20, 1);
    memset(&p, 0, sizeof(p));
    p.maglev_table_size = 65536;
    assert_null(lb_maglev_ops.build(s, 20, &p, err, sizeof(err)));
    assert_non_null(strstr(err, "prime"));
    p.maglev_table_size = 17; /* prime, but fewer slots than servers */
    assert_null(lb_maglev_ops.build(s, 20, &p, err, sizeof(err)));
    assert_non_null(strstr(err, "smaller than"));
    p.maglev_table_size = 4294967291u; /* prime, too large */
    assert_null(lb_maglev_ops.build(s, 20, &p, err, sizeof(err)));
    assert_non_null(strstr(err, "prime in"));
}

static void test_lb_maglev_empty_gives_minus_one(void **state)
{
    struct lb_server s[2];
    void *t;
    (void)state;
    tl_servers(s, 2, 0); /* weight 0: never picked */
    t = tl_build(LB_MAGLEV, s, 2, NULL);
    assert_int_equal(tl_pick_key(LB_MAGLEV, t, 7, NULL, NULL), -1);
    lb_maglev_ops.destroy(t);
    tl_servers(s, 2, 1);
    s[0].usable = s[1].usable = false; /* both down: in the table, never picked */
    t = tl_build(LB_MAGLEV, s, 2, NULL);
    assert_int_equal(tl_pick_key(LB_MAGLEV, t, 7, NULL, NULL), -1);
    lb_maglev_ops.destroy(t);
}

static void test_lb_maglev_down_server_is_never_picked_by_any_path(void **state)
{
    struct lb_server s[5];
    struct lb_params p;
    uint32_t load[5] = {3, 0, 0, 0, 0};
    uint64_t ex = 1u << 1;
    void *t;
    (void)state;
    tl_servers(s, 5, 1);
    s[3].usable = false;
    memset(&p, 0, sizeof(p));
    p.balance_factor = 1.25;
    t = tl_build(LB_MAGLEV, s, 5, &p);
    for (uint64_t k = 0; k < 5000; k++) {
        struct lb_pick in;
        memset(&in, 0, sizeof(in));
        in.key_hash = tl_key(k);
        in.has_key = (k % 3) != 0; /* some without key: round robin */
        in.sequence = k;
        in.load = (k % 2) ? load : NULL;
        in.exclude = (k % 5) ? NULL : &ex;
        assert_int_not_equal(lb_maglev_ops.pick(t, &in).server, 3);
    }
    lb_maglev_ops.destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lb_maglev_prime_check),
        cmocka_unit_test(test_lb_maglev_equal_weights_get_floor_or_ceil_slots),
        cmocka_unit_test(test_lb_maglev_weights_act_proportionally),
        cmocka_unit_test(test_lb_maglev_down_server_moves_only_its_keys_and_they_return),
        cmocka_unit_test(test_lb_maglev_removed_server_moves_its_keys_and_few_others),
        cmocka_unit_test(test_lb_maglev_known_placement_is_pinned),
        cmocka_unit_test(test_lb_maglev_same_names_same_placement_in_any_order),
        cmocka_unit_test(test_lb_maglev_exclusion_moves_only_excluded_keys),
        cmocka_unit_test(test_lb_maglev_no_key_falls_back_to_round_robin),
        cmocka_unit_test(test_lb_maglev_rejects_bad_table_sizes),
        cmocka_unit_test(test_lb_maglev_empty_gives_minus_one),
        cmocka_unit_test(test_lb_maglev_down_server_is_never_picked_by_any_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
