/*
 * test_health_sched: due servers are handed out most overdue first, never twice
 * at once, never beyond max_in_flight; unscheduled servers are never handed out;
 * and a seeded random workload agrees with a brute-force model at every step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "health/health_sched.h"

static void init_sched(struct health_sched *s, size_t n, size_t max)
{
    char err[128];
    assert_int_equal(health_sched_init(s, n, max, err, sizeof(err)), 0);
}

static void test_health_sched_bounds_probes_in_flight(void **state)
{
    struct health_sched s;
    size_t got, seen[10] = {0};

    init_sched(&s, 10, 3);
    for (size_t i = 0; i < 10; i++)
        health_sched_set(&s, i, 100);
    assert_int_equal(health_sched_next_ms(&s), 100);
    assert_int_equal(health_sched_pop(&s, 99, &got), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(health_sched_pop(&s, 100, &got), 1);
        seen[got]++;
    }
    assert_int_equal(s.in_flight, 3);
    /* the bound holds although 7 more are due */
    assert_int_equal(health_sched_pop(&s, 1000, &got), 0);
    assert_int_equal(health_sched_next_ms(&s), HEALTH_SCHED_NEVER);
    /* ties break by index */
    assert_int_equal(seen[0] + seen[1] + seen[2], 3);
    assert_int_equal(health_sched_done(&s, 1, 2000), 0);
    assert_int_equal(health_sched_next_ms(&s), 100);
    assert_int_equal(health_sched_pop(&s, 1000, &got), 1);
    assert_int_equal(got, 3);
    health_sched_free(&s);
}

static void test_health_sched_most_overdue_first(void **state)
{
    struct health_sched s;
    size_t got;
    static const uint64_t due[5] = {500, 100, 300, 200, 400};
    static const size_t order[5] = {1, 3, 2, 4, 0};

    init_sched(&s, 5, 1);
    for (size_t i = 0; i < 5; i++)
        health_sched_set(&s, i, due[i]);
    for (size_t k = 0; k < 5; k++) {
        assert_int_equal(health_sched_pop(&s, 10000, &got), 1);
        assert_int_equal(got, order[k]);
        assert_int_equal(health_sched_pop(&s, 10000, &got), 0); /* one at a time */
        assert_int_equal(health_sched_done(&s, order[k], HEALTH_SCHED_NEVER), 0);
    }
    assert_int_equal(health_sched_pop(&s, UINT64_MAX - 1, &got), 0);
    assert_int_equal(health_sched_next_ms(&s), HEALTH_SCHED_NEVER);
    health_sched_free(&s);
}

static void test_health_sched_reschedule_and_never(void **state)
{
    struct health_sched s;
    size_t got;

    init_sched(&s, 3, 3);
    health_sched_set(&s, 0, 100);
    health_sched_set(&s, 1, 200);
    health_sched_set(&s, 2, 300);
    health_sched_set(&s, 0, HEALTH_SCHED_NEVER); /* maintenance */
    health_sched_set(&s, 2, 50);                 /* moved earlier */
    assert_int_equal(health_sched_next_ms(&s), 50);
    assert_int_equal(health_sched_pop(&s, 1000, &got), 1);
    assert_int_equal(got, 2);
    assert_int_equal(health_sched_pop(&s, 1000, &got), 1);
    assert_int_equal(got, 1);
    assert_int_equal(health_sched_pop(&s, 1000, &got), 0);
    /* set on a server in flight does not hand it out twice */
    assert_int_equal(health_sched_set(&s, 2, 10), 0);
    assert_int_equal(health_sched_pop(&s, 1000, &got), 0);
    assert_int_equal(health_sched_done(&s, 2, 1500), 0);
    assert_int_equal(health_sched_pop(&s, 1000, &got), 0);
    assert_int_equal(health_sched_next_ms(&s), 1500);
    health_sched_free(&s);
}

static void test_health_sched_rejects_bad_input(void **state)
{
    struct health_sched s;
    char err[128] = "";
    assert_int_equal(health_sched_init(&s, 0, 1, err, sizeof(err)), -EINVAL);
    assert_int_equal(health_sched_init(&s, 4, 0, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "in flight"));
    init_sched(&s, 4, 2);
    assert_int_equal(health_sched_set(&s, 4, 1), -EINVAL);
    assert_int_equal(health_sched_done(&s, 4, 1), -EINVAL);
    assert_int_equal(health_sched_done(&s, 0, 1), -EINVAL); /* not in flight */
    assert_int_equal(s.in_flight, 0);
    health_sched_free(&s);
}

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Brute force: the most overdue server not in flight, or -1. */
static long model_pick(const uint64_t *due, const int *fly, size_t n, uint64_t now)
{
    long best = -1;
    for (size_t i = 0; i < n; i++)
        if (!fly[i] && due[i] != HEALTH_SCHED_NEVER && due[i] <= now &&
            (best < 0 || due[i] < due[best]))
            best = (long)i;
    return best;
}

static void test_health_sched_matches_model_under_random_workload(void **state)
{
    enum { N = 64, MAX = 5, STEPS = 20000 };
    for (uint64_t seed = 1; seed <= 5; seed++) {
        struct health_sched s;
        uint64_t due[N], x = seed * 0x9e3779b97f4a7c15ULL, now = 0;
        int fly[N] = {0};
        size_t inflight = 0, got;

        init_sched(&s, N, MAX);
        for (size_t i = 0; i < N; i++) {
            due[i] = rnd(&x) % 1000;
            health_sched_set(&s, i, due[i]);
        }
        for (int step = 0; step < STEPS; step++) {
            uint64_t r = rnd(&x);
            size_t i = (size_t)(r >> 8) % N;
            switch (r % 4) {
            case 0: { /* the clock moves */
                now += r % 50;
                break;
            }
            case 1: { /* pop */
                long want = inflight < MAX ? model_pick(due, fly, N, now) : -1;
                int rc = health_sched_pop(&s, now, &got);
                if (want < 0) {
                    assert_int_equal(rc, 0);
                } else {
                    if (rc != 1 || got != (size_t)want)
                        fail_msg("seed %llu step %d: want %ld got rc %d server %zu",
                                 (unsigned long long)seed, step, want, rc, got);
                    fly[got] = 1;
                    inflight++;
                }
                break;
            }
            case 2: { /* done */
                uint64_t next =
                    (r >> 40) % 7 == 0 ? HEALTH_SCHED_NEVER : now + (r >> 20) % 1000;
                int rc = health_sched_done(&s, i, next);
                assert_int_equal(rc, fly[i] ? 0 : -EINVAL);
                if (fly[i]) {
                    fly[i] = 0;
                    inflight--;
                    due[i] = next;
                }
                break;
            }
            default: { /* set */
                if (!fly[i]) {
                    due[i] =
                        (r >> 40) % 5 == 0 ? HEALTH_SCHED_NEVER : now + (r >> 20) % 1000;
                    health_sched_set(&s, i, due[i]);
                }
                break;
            }
            }
            assert_int_equal(s.in_flight, inflight);
            assert_true(s.in_flight <= MAX);
            {
                uint64_t want_next = HEALTH_SCHED_NEVER;
                if (inflight < MAX)
                    for (size_t k = 0; k < N; k++)
                        if (!fly[k] && due[k] < want_next)
                            want_next = due[k];
                assert_int_equal(health_sched_next_ms(&s), want_next);
            }
        }
        health_sched_free(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_sched_bounds_probes_in_flight),
        cmocka_unit_test(test_health_sched_most_overdue_first),
        cmocka_unit_test(test_health_sched_reschedule_and_never),
        cmocka_unit_test(test_health_sched_rejects_bad_input),
        cmocka_unit_test(test_health_sched_matches_model_under_random_workload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
