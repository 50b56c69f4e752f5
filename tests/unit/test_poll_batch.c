/* Unit tests of net/poll_batch: when a busy worker waits before polling, and how
 * long (poll_batch.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "net/poll_batch.h"

#define US 1e-6
#define CLOSE(a, b) assert_true((a) > (b) - 1e-9 && (a) < (b) + 1e-9)

/* A lone request is never delayed, however slow its server. */
static void test_no_wait_below_two_in_flight(void **state)
{
    struct poll_batch b = {0};
    (void)state;
    poll_batch_sample(&b, 0.050);
    CLOSE(poll_batch_wait(&b, 100 * US), 0.0);
    b.inflight = 1;
    CLOSE(poll_batch_wait(&b, 100 * US), 0.0);
    b.inflight = 2;
    CLOSE(poll_batch_wait(&b, 100 * US), 100 * US);
}

/* The wait is an eighth of the response time, up to the cap; cap 0 turns it off. */
static void test_wait_is_a_share_of_response_time_capped(void **state)
{
    struct poll_batch b = {.inflight = 50};
    (void)state;
    CLOSE(poll_batch_wait(&b, 100 * US), 0.0); /* nothing measured yet */
    poll_batch_sample(&b, 240 * US);
    CLOSE(poll_batch_wait(&b, 100 * US), 30 * US);
    CLOSE(poll_batch_wait(&b, 20 * US), 20 * US);
    CLOSE(poll_batch_wait(&b, 0.0), 0.0);
    poll_batch_sample(&b, 0.010);
    CLOSE(poll_batch_wait(&b, 100 * US), 100 * US);
}

/* The first sample is taken whole; later ones move the average by an eighth, so
 * that it follows a change within a few dozen requests. */
static void test_moving_average(void **state)
{
    struct poll_batch b = {.inflight = 4};
    int i;
    (void)state;
    poll_batch_sample(&b, 800 * US);
    CLOSE(b.response_s, 800 * US);
    poll_batch_sample(&b, 0.0);
    CLOSE(b.response_s, 700 * US);
    poll_batch_sample(&b, -5.0); /* a clock step back counts as 0 */
    CLOSE(b.response_s, 612.5 * US);
    for (i = 0; i < 60; i++)
        poll_batch_sample(&b, 40 * US);
    assert_true(b.response_s > 40 * US && b.response_s < 41 * US);
    assert_true(poll_batch_wait(&b, 100 * US) < 5.2 * US);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_wait_below_two_in_flight),
        cmocka_unit_test(test_wait_is_a_share_of_response_time_capped),
        cmocka_unit_test(test_moving_average),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
