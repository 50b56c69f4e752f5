/* Unit tests of net/conn_ramp: whether a request that finds no idle server
 * connection opens one or waits, and how long it may wait (conn_ramp.h). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/conn_ramp.h"

#define CLOSE(a, b) assert_true((a) > (b) - 1e-9 && (a) < (b) + 1e-9)

/* Nothing measured: open, up to CONN_RAMP_OPENING_MAX unanswered. */
static void test_opens_until_the_bound_when_nothing_is_measured(void **state)
{
    struct conn_ramp r = {0};
    (void)state;
    r.waiting = 1000;
    for (r.opening = 0; r.opening < CONN_RAMP_OPENING_MAX; r.opening++)
        assert_true(conn_ramp_may_open(&r));
    assert_false(conn_ramp_may_open(&r));
    r.opening = UINT32_MAX;
    assert_false(conn_ramp_may_open(&r));
}

/* A server that closes each connection after its answer: nothing comes back
 * idle to wait for, so once most answered connections were closed (a moving
 * share over CONN_RAMP_CLOSE_SHARE: the sixth close in a row) a request opens
 * whatever is opening already, until connections come back idle again; a
 * keep-alive server that closes one connection in a thousand keeps its pacing. */
static void test_opens_while_answered_connections_close(void **state)
{
    struct conn_ramp r = {0};
    double t = 5.0;
    (void)state;
    r.waiting = 1000;
    r.opening = CONN_RAMP_OPENING_MAX;
    assert_false(conn_ramp_may_open(&r));
    for (int i = 0; i < 5; i++)
        assert_false(conn_ramp_closed(&r));
    assert_false(conn_ramp_may_open(&r));
    assert_true(conn_ramp_closed(&r)); /* told once, when it changes */
    assert_true(conn_ramp_may_open(&r));
    assert_false(conn_ramp_closed(&r));
    r.opening = 10 * CONN_RAMP_OPENING_MAX;
    assert_true(conn_ramp_may_open(&r));
    for (int i = 0; i < 3; i++, t += 0.001)
        conn_ramp_put(&r, t);
    assert_false(conn_ramp_may_open(&r));

    memset(&r, 0, sizeof(r));
    r.waiting = 1000;
    r.opening = CONN_RAMP_OPENING_MAX;
    for (int i = 0; i < 10000; i++, t += 0.0001) {
        if (i % 1000 == 999)
            assert_false(conn_ramp_closed(&r));
        else
            conn_ramp_put(&r, t);
        assert_false(conn_ramp_may_open(&r));
    }
}

/* A server that accepts slowly: connections come back idle every 0.1 ms while a
 * new one took 200 ms to answer, so 100 waiting requests wait for idle ones;
 * with 3,000 waiting (300 ms at that pace) a new connection is faster. */
static void test_waits_when_idle_connections_come_back_sooner(void **state)
{
    struct conn_ramp r = {0};
    double t = 10.0;
    (void)state;
    conn_ramp_answered(&r, 0.200);
    for (int i = 0; i < 50; i++, t += 0.0001)
        conn_ramp_put(&r, t);
    CLOSE(r.put_gap_s, 0.0001);
    r.waiting = 100;
    assert_false(conn_ramp_may_open(&r));
    r.waiting = 3000;
    assert_true(conn_ramp_may_open(&r));
    r.opening = CONN_RAMP_OPENING_MAX;
    assert_false(conn_ramp_may_open(&r));
}

/* A server that answers slowly (every request takes 100 ms, 10 connections):
 * one idle connection every 10 ms, new ones answered in 100 ms: with 9
 * requests in the queue (this one included) idle connections are sooner, with
 * 11 a new connection is. */
static void test_opens_when_the_queue_outgrows_the_connections(void **state)
{
    struct conn_ramp r = {0};
    double t = 10.0;
    (void)state;
    for (int i = 0; i < 8; i++)
        conn_ramp_answered(&r, 0.100);
    for (int i = 0; i < 50; i++, t += 0.010)
        conn_ramp_put(&r, t);
    r.waiting = 8;
    assert_false(conn_ramp_may_open(&r));
    r.waiting = 10;
    assert_true(conn_ramp_may_open(&r));
}

/* Moving averages: the first sample whole, then 1/8 of each (answer_s: 1/2 of
 * a slower one); negatives are 0. */
static void test_moving_averages(void **state)
{
    struct conn_ramp r = {0};
    (void)state;
    conn_ramp_put(&r, 5.0); /* the first put has no gap */
    CLOSE(r.put_gap_s, 0.0);
    conn_ramp_put(&r, 5.008);
    CLOSE(r.put_gap_s, 0.008);
    conn_ramp_put(&r, 5.024);
    CLOSE(r.put_gap_s, 0.008 + (0.016 - 0.008) / 8);
    conn_ramp_answered(&r, 0.080);
    CLOSE(r.answer_s, 0.080);
    conn_ramp_answered(&r, -1.0);
    CLOSE(r.answer_s, 0.080 - 0.080 / 8);
    conn_ramp_answered(&r, 0.270);
    CLOSE(r.answer_s, 0.070 + (0.270 - 0.070) / 2);
}

/* A few response times, within [1 ms, 100 ms]; nothing measured: the maximum
 * (a cold start waits for the first answers rather than opening at 1 ms). */
static void test_wait_follows_response_time_within_bounds(void **state)
{
    (void)state;
    CLOSE(conn_ramp_wait_s(0.0), CONN_RAMP_WAIT_MAX_S);
    CLOSE(conn_ramp_wait_s(-1.0), CONN_RAMP_WAIT_MAX_S);
    CLOSE(conn_ramp_wait_s(NAN), CONN_RAMP_WAIT_MAX_S);
    CLOSE(conn_ramp_wait_s(0.00001), CONN_RAMP_WAIT_MIN_S);
    CLOSE(conn_ramp_wait_s(0.001), 0.001 * CONN_RAMP_WAIT_SHARE);
    CLOSE(conn_ramp_wait_s(0.005), 0.005 * CONN_RAMP_WAIT_SHARE);
    CLOSE(conn_ramp_wait_s(2.0), CONN_RAMP_WAIT_MAX_S);
    CLOSE(conn_ramp_wait_s(INFINITY), CONN_RAMP_WAIT_MAX_S);
}

/* A request whose wait is over opens anyway, unless the server is seen to
 * accept slowly: new connections wait for answers far longer than requests
 * do, while connections keep coming back idle. */
static void test_force_unless_the_server_accepts_slowly(void **state)
{
    struct conn_ramp r = {0};
    double now = 10.0;
    (void)state;

    r.opening = CONN_RAMP_OPENING_MAX;
    assert_true(conn_ramp_may_force(&r, 0.002, now)); /* nothing answered yet */
    r.answer_s = 0.050;
    r.last_put = now - 0.001;
    r.put_gap_s = 0.0002;
    assert_true(conn_ramp_may_force(&r, 0.0, now)); /* no response time known */
    /* 50 ms to answer a new connection, 2 ms a request: refused */
    assert_false(conn_ramp_may_force(&r, 0.002, now));
    /* ... but not while fewer new connections than the bound are unanswered */
    r.opening = CONN_RAMP_OPENING_MAX - 1;
    assert_true(conn_ramp_may_force(&r, 0.002, now));
    r.opening = CONN_RAMP_OPENING_MAX;
    /* ... nor when nothing came back idle within the longest wait */
    assert_true(conn_ramp_may_force(&r, 0.002, now + CONN_RAMP_WAIT_MAX_S));
    /* a server that answers every request slowly (long polls) gets connections */
    assert_true(conn_ramp_may_force(&r, 0.050 / CONN_RAMP_FORCE_SHARE, now));
    assert_true(conn_ramp_may_force(&r, 0.040, now));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opens_until_the_bound_when_nothing_is_measured),
        cmocka_unit_test(test_opens_while_answered_connections_close),
        cmocka_unit_test(test_waits_when_idle_connections_come_back_sooner),
        cmocka_unit_test(test_opens_when_the_queue_outgrows_the_connections),
        cmocka_unit_test(test_moving_averages),
        cmocka_unit_test(test_wait_follows_response_time_within_bounds),
        cmocka_unit_test(test_force_unless_the_server_accepts_slowly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
