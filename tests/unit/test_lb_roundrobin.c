/*
 * test_lb_roundrobin: smooth weighted round robin: exact shares per period,
 * smoothness in every prefix, gcd reduction, unusable / zero-weight / backup
 * servers, deterministic skipping of excluded servers, errors; and lb_ops_get.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lb/lb.h"
#include "lb/lb_internal.h"
#include "lb/lb_roundrobin.h"

static const char *const names[] = {"a", "b", "c", "d", "e", "f", "g", "h",
                                    "i", "j", "k", "l", "m", "n", "o", "p"};

static void make(struct lb_server *s, size_t n, const uint32_t *w)
{
    for (size_t i = 0; i < n; i++) {
        s[i].name = names[i];
        s[i].weight = w[i];
        s[i].usable = true;
        s[i].backup = false;
    }
}

static int pick_seq(const struct lb_ops *ops, const void *t, uint64_t seq,
                    const uint64_t *exclude)
{
    struct lb_pick in;
    memset(&in, 0, sizeof(in));
    in.sequence = seq;
    in.exclude = exclude;
    return ops->pick(t, &in).server;
}

static void *build_ok(const struct lb_ops *ops, const struct lb_server *s, size_t n)
{
    char err[200] = "";
    void *t = ops->build(s, n, NULL, err, sizeof(err));
    if (t == NULL)
        fail_msg("build failed: %s", err);
    return t;
}

static void test_lb_ops_get_every_algorithm(void **state)
{
    static const char *const want[] = {"roundrobin", "leastconn", "random2", "ring",
                                       "maglev"};
    (void)state;
    for (int a = 0; a < LB_ALGO_COUNT; a++) {
        const struct lb_ops *ops = lb_ops_get((enum lb_algo)a);
        assert_non_null(ops);
        assert_string_equal(ops->name, want[a]);
        assert_non_null(ops->build);
        assert_non_null(ops->pick);
        assert_non_null(ops->destroy);
    }
    assert_null(lb_ops_get(LB_ALGO_COUNT));
}

static void test_lb_roundrobin_equal_weights_cycle_in_order(void **state)
{
    const struct lb_ops *ops = lb_ops_get(LB_ROUNDROBIN);
    const uint32_t w[3] = {7, 7, 7};
    struct lb_server s[3];
    void *t;
    (void)state;
    make(s, 3, w);
    t = build_ok(ops, s, 3);
    for (uint64_t q = 0; q < 30; q++)
        assert_int_equal(pick_seq(ops, t, q, NULL), (int)(q % 3));
    ops->destroy(t);
}

static void test_lb_roundrobin_weights_give_exact_shares_per_period(void **state)
{
    const struct lb_ops *ops = lb_ops_get(LB_ROUNDROBIN);
    const uint32_t w[4] = {50, 10, 10, 30}; /* gcd 10: period 5 + 1 + 1 + 3 */
    const struct lb_base *b;
    struct lb_server s[4];
    int count[4] = {0};
    void *t;
    (void)state;
    make(s, 4, w);
    t = build_ok(ops, s, 4);
    b = t;
    assert_int_equal(b->rr.len, 10);
    for (uint64_t q = 0; q < 10 * 1000; q++)
        count[pick_seq(ops, t, q, NULL)]++;
    assert_int_equal(count[0], 5000);
    assert_int_equal(count[1], 1000);
    assert_int_equal(count[2], 1000);
    assert_int_equal(count[3], 3000);
    ops->destroy(t);
}

/* In every prefix of t picks (over two periods), no server leads its fair share
 * t * w / W by more than one pick: no bursts as in plain weighted round robin. */
static void test_lb_roundrobin_is_smooth_in_every_prefix(void **state)
{
    const struct lb_ops *ops = lb_ops_get(LB_ROUNDROBIN);
    uint64_t rnd = 12345;
    (void)state;
    for (int trial = 0; trial < 200; trial++) {
        struct lb_server s[16];
        uint32_t w[16];
        uint64_t W = 0;
        double worst = 0;
        size_t n = 2 + (size_t)(trial % 15);
        int count[16] = {0};
        void *t;
        for (size_t i = 0; i < n; i++) {
            rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
            w[i] = 1 + (uint32_t)((rnd >> 33) % 20);
            W += w[i];
        }
        make(s, n, w);
        t = build_ok(ops, s, n);
        for (uint64_t q = 0; q < 2 * W; q++) {
            count[pick_seq(ops, t, q, NULL)]++;
            for (size_t i = 0; i < n; i++) {
                double dev = (double)count[i] - (double)(q + 1) * w[i] / (double)W;
                if (dev > worst)
                    worst = dev;
            }
        }
        if (worst > 1.0)
            fail_msg("trial %d: a server leads its share by %.3f", trial, worst);
        ops->destroy(t);
    }
}

static void test_lb_roundrobin_matches_nginx_smooth_sequence(void **state)
{
    /* the example documented in nginx's ngx_http_upstream_round_robin.c change
     * that introduced smooth weighted round robin: weights 5, 1, 1 give
     * a a b a c a a, not a a a a a b c */
    const struct lb_ops *ops = lb_ops_get(LB_ROUNDROBIN);
    const uint32_t w[3] = {5, 1, 1};
    const int want[7] = {0, 0, 1, 0, 2, 0, 0};
    struct lb_server s[3];
    void *t;
    (void)state;
    make(s, 3, w);
    t = build_ok(ops, s, 3);
    for (uint64_t q = 0; q < 21; q++)
        assert_int_equal(pick_seq(ops, t, q, NULL), want[q % 7]);
    ops->destroy(t);
}

/* nginx's algorithm itself, scanning every server each step, as the oracle. */
static void nginx_swrr(const uint32_t *w, size_t n, uint64_t steps, int *out)
{
    int64_t cur[16] = {0}, total = 0;
    for (size_t i = 0; i < n; i++)
        total += w[i];
    for (uint64_t q = 0; q < steps; q++) {
        size_t best = 0;
        for (size_t i = 0; i < n; i++) {
            cur[i] += w[i];
            if (cur[i] > cur[best])
                best = i;
        }
        cur[best] -= total;
        out[q] = (int)best;
    }
}

static void test_lb_roundrobin_equals_nginx_scan_on_random_weights(void **state)
{
    const struct lb_ops *ops = lb_ops_get(LB_ROUNDROBIN);
    static int want[16 * 40];
    uint64_t rnd = 99;
    (void)state;
    for (int trial = 0; trial < 300; trial++) {
        struct lb_server s[16];
        uint32_t w[16], g = 0;
        uint64_t W = 0;
        size_t n = 1 + (size_t)(trial % 16);
        void *t;
        for (size_t i = 0; i < n; i++) {
            rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
            w[i] = 1 + (uint32_t)((rnd >> 33) % (trial % 3 == 0 ? 3 : 40));
        }
        for (size_t i = 0; i < n; i++) {
            uint32_t a = g, b = w[i];
            while (b != 0) {
                uint32_t r = a % b;
                a = b;
                b = r;
            }
            g = a;
        }
        for (size_t i = 0; i < n; i++) {
            w[i] /= g; /* the oracle runs on reduced weights, as the table does */
            W += w[i];
        }
        make(s, n, w);
        t = build_ok(ops, s, n);
        nginx_swrr(w, n, W, want);
        for (uint64_t q = 0; q < W; q++)
            if (pick_seq(ops, t, q, NULL) != want[q])
                fail_msg("trial %d: step %llu differs from nginx's scan", trial,
                         (unsigned long long)q);
        ops->destroy(t);
    }
}

static void test_lb_roundrobin_never_picks_unusable_or_zero_weight(void **state)
{
    const struct lb_ops *ops = lb_ops_get(LB_ROUNDROBIN);
    const uint32_t w[4] = {1, 0, 1, 1};
    struct lb_server s[4];
    int count[4] = {0};
    void *t;
    (void)state;
    make(s, 4, w);
    s[2].usable = false;
    t = build_ok(ops, s, 4);
    for (uint64_t q = 0; q < 100; q++)
        count[pick_seq(ops, t, q, NULL)]++;
    assert_int_equal(count[0], 50);
    assert_int_equal(count[1], 0);
    assert_int_equal(count[2], 0);
    assert_int_equal(count[3], 50);
    ops->destroy(t);
}

static void test_lb_roundrobin_backup_only_without_primary(void **state)
{
    const struct lb_ops *ops = lb_ops_get(LB_ROUNDROBIN);
    const uint32_t w[3] = {1, 1, 1};
    struct lb_server s[3];
    void *t;
    (void)state;
    make(s, 3, w);
    s[2].backup = true;
    t = build_ok(ops, s, 3);
    for (uint64_t q = 0; q < 10; q++)
        assert_int_not_equal(pick_seq(ops, t, q, NULL), 2);
    ops->destroy(t);
    s[0].usable = false;
    s[1].usable = false;
    t = build_ok(ops, s, 3);
    for (uint64_t q = 0; q < 10; q++)
        assert_int_equal(pick_seq(ops, t, q, NULL), 2);
    ops->destroy(t);
}

static void test_lb_roundrobin_exclude_walks_forward(void **state)
{
    const struct lb_ops *ops = lb_ops_get(LB_ROUNDROBIN);
    const uint32_t w[3] = {1, 1, 1};
    struct lb_server s[3];
    uint64_t ex = (1u << 1);
    void *t;
    (void)state;
    make(s, 3, w);
    t = build_ok(ops, s, 3);
    /* position 1 holds server 1, excluded: the walk takes position 2 */
    assert_int_equal(pick_seq(ops, t, 1, &ex), 2);
    assert_int_equal(pick_seq(ops, t, 1, &ex), 2);
    assert_int_equal(pick_seq(ops, t, 0, &ex), 0);
    ex = 7;
    assert_int_equal(pick_seq(ops, t, 5, &ex), -1);
    ops->destroy(t);
}

static void test_lb_roundrobin_no_usable_server_gives_minus_one(void **state)
{
    const struct lb_ops *ops = lb_ops_get(LB_ROUNDROBIN);
    const uint32_t w[2] = {1, 1};
    struct lb_server s[2];
    void *t;
    (void)state;
    make(s, 2, w);
    s[0].usable = s[1].usable = false;
    t = build_ok(ops, s, 2);
    assert_int_equal(pick_seq(ops, t, 0, NULL), -1);
    ops->destroy(t);
    t = build_ok(ops, NULL, 0);
    assert_int_equal(pick_seq(ops, t, 3, NULL), -1);
    ops->destroy(t);
}

static void test_lb_roundrobin_rejects_bad_input(void **state)
{
    const struct lb_ops *ops = lb_ops_get(LB_ROUNDROBIN);
    const uint32_t w[2] = {1u << 21, 1}; /* coprime: the period would be 2^21 + 1 */
    struct lb_server s[2];
    struct lb_params p;
    char err[200] = "";
    (void)state;
    make(s, 2, w);
    assert_null(ops->build(s, 2, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "add up to"));
    s[0].weight = 1;
    memset(&p, 0, sizeof(p));
    p.balance_factor = 0.5;
    assert_null(ops->build(s, 2, &p, err, sizeof(err)));
    assert_non_null(strstr(err, "balance_factor"));
    s[1].name = NULL;
    assert_null(ops->build(s, 2, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "no name"));
    assert_null(ops->build(NULL, 2, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "no server array"));
    assert_null(ops->build(s, LB_SERVERS_MAX + 1, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "at most"));
    /* every algorithm validates the same way */
    for (int a = 0; a < LB_ALGO_COUNT; a++) {
        assert_null(lb_ops_get((enum lb_algo)a)->build(s, 2, &p, err, sizeof(err)));
        assert_non_null(strstr(err, "balance_factor"));
    }
}

static void test_lb_roundrobin_same_input_same_table(void **state)
{
    const struct lb_ops *ops = lb_ops_get(LB_ROUNDROBIN);
    const uint32_t w[5] = {3, 9, 4, 4, 1};
    struct lb_server s[5];
    const struct lb_base *x, *y;
    void *t1, *t2;
    (void)state;
    make(s, 5, w);
    t1 = build_ok(ops, s, 5);
    t2 = build_ok(ops, s, 5);
    x = t1;
    y = t2;
    assert_int_equal(x->rr.len, 21);
    assert_int_equal(x->rr.len, y->rr.len);
    assert_memory_equal(x->rr.seq, y->rr.seq, x->rr.len * sizeof(x->rr.seq[0]));
    ops->destroy(t1);
    ops->destroy(t2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lb_ops_get_every_algorithm),
        cmocka_unit_test(test_lb_roundrobin_equal_weights_cycle_in_order),
        cmocka_unit_test(test_lb_roundrobin_weights_give_exact_shares_per_period),
        cmocka_unit_test(test_lb_roundrobin_is_smooth_in_every_prefix),
        cmocka_unit_test(test_lb_roundrobin_matches_nginx_smooth_sequence),
        cmocka_unit_test(test_lb_roundrobin_equals_nginx_scan_on_random_weights),
        cmocka_unit_test(test_lb_roundrobin_never_picks_unusable_or_zero_weight),
        cmocka_unit_test(test_lb_roundrobin_backup_only_without_primary),
        cmocka_unit_test(test_lb_roundrobin_exclude_walks_forward),
        cmocka_unit_test(test_lb_roundrobin_no_usable_server_gives_minus_one),
        cmocka_unit_test(test_lb_roundrobin_rejects_bad_input),
        cmocka_unit_test(test_lb_roundrobin_same_input_same_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
