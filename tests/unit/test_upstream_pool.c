/* Unit tests of net/upstream_pool: keys, LIFO reuse, bounds, idle watch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/conn_ramp.h"
#include "net/upstream_pool.h"
#include "tls/tls_conn.h"

#define PER_KEY 32u /* the tests' per-key bound (the session's is larger) */

static struct sockaddr_storage addr_a, addr_b;

static void addrs(void)
{
    struct sockaddr_in *a = (struct sockaddr_in *)&addr_a,
                       *b = (struct sockaddr_in *)&addr_b;
    memset(&addr_a, 0, sizeof(addr_a));
    memset(&addr_b, 0, sizeof(addr_b));
    a->sin_family = b->sin_family = AF_INET;
    a->sin_addr.s_addr = b->sin_addr.s_addr = htonl(0x7f000001);
    a->sin_port = htons(8001);
    b->sin_port = htons(8002);
}

/* One end of a socketpair (nonblocking); the peer end into *peer. */
static int pair(int *peer)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    *peer = sv[1];
    return sv[0];
}

static bool fd_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

static void test_upstream_pool_lifo_and_keys(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct upstream_pool *p = upstream_pool_new(loop, PER_KEY, 1024);
    struct upstream_key ka = {"app", "s1", &addr_a, sizeof(struct sockaddr_in), NULL};
    struct upstream_key kb = {"app", "s1", &addr_b, sizeof(struct sockaddr_in), NULL};
    struct upstream_key kc = {"other", "s1", &addr_a, sizeof(struct sockaddr_in), NULL};
    int peer1, peer2, fd1, fd2;
    (void)state;
    addrs();
    fd1 = pair(&peer1);
    fd2 = pair(&peer2);
    assert_int_equal(upstream_pool_put(p, &ka, fd1, NULL, 5.0), 0);
    assert_int_equal(upstream_pool_put(p, &ka, fd2, NULL, 5.0), 0);
    assert_int_equal(upstream_pool_count(p), 2);
    /* another address or another pool name never matches */
    assert_int_equal(upstream_pool_take(p, &kb, NULL), -1);
    assert_int_equal(upstream_pool_take(p, &kc, NULL), -1);
    /* most recently parked first */
    assert_int_equal(upstream_pool_take(p, &ka, NULL), fd2);
    assert_int_equal(upstream_pool_take(p, &ka, NULL), fd1);
    assert_int_equal(upstream_pool_take(p, &ka, NULL), -1);
    assert_int_equal(upstream_pool_count(p), 0);
    close(fd1);
    close(fd2);
    close(peer1);
    close(peer2);
    upstream_pool_free(p);
    ev_loop_destroy(loop);
}

static void test_upstream_pool_per_server_bound(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct upstream_pool *p = upstream_pool_new(loop, PER_KEY, 1024);
    struct upstream_key ka = {"app", "s1", &addr_a, sizeof(struct sockaddr_in), NULL};
    int fds[PER_KEY + 1], peers[PER_KEY + 1];
    (void)state;
    addrs();
    for (unsigned i = 0; i <= PER_KEY; i++) {
        fds[i] = pair(&peers[i]);
        assert_int_equal(upstream_pool_put(p, &ka, fds[i], NULL, 5.0), 0);
    }
    /* the oldest was closed to make room */
    assert_int_equal(upstream_pool_count(p), PER_KEY);
    assert_false(fd_open(fds[0]));
    upstream_pool_free(p); /* closes the rest */
    for (unsigned i = 1; i <= PER_KEY; i++)
        assert_false(fd_open(fds[i]));
    for (unsigned i = 0; i <= PER_KEY; i++)
        close(peers[i]);
    ev_loop_destroy(loop);
}

/* The worker-wide bound closes the oldest idle connection of any key, and each
 * key keeps its own most recent first. */
static void test_upstream_pool_worker_bound(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct upstream_pool *p = upstream_pool_new(loop, 4, 6);
    struct upstream_key ka = {"app", "s1", &addr_a, sizeof(struct sockaddr_in), NULL};
    struct upstream_key kb = {"app", "s2", &addr_b, sizeof(struct sockaddr_in), NULL};
    int fa[4], pa[4], fb[3], pb[3];
    (void)state;
    addrs();
    for (unsigned i = 0; i < 4; i++) {
        fa[i] = pair(&pa[i]);
        assert_int_equal(upstream_pool_put(p, &ka, fa[i], NULL, 5.0), 0);
    }
    for (unsigned i = 0; i < 3; i++) {
        fb[i] = pair(&pb[i]);
        assert_int_equal(upstream_pool_put(p, &kb, fb[i], NULL, 5.0), 0);
    }
    /* 7 parked, bound 6: the oldest of all (fa[0]) went */
    assert_int_equal(upstream_pool_count(p), 6);
    assert_false(fd_open(fa[0]));
    assert_int_equal(upstream_pool_take(p, &kb, NULL), fb[2]);
    assert_int_equal(upstream_pool_take(p, &ka, NULL), fa[3]);
    assert_int_equal(upstream_pool_take(p, &ka, NULL), fa[2]);
    assert_int_equal(upstream_pool_take(p, &ka, NULL), fa[1]);
    assert_int_equal(upstream_pool_take(p, &ka, NULL), -1);
    assert_int_equal(upstream_pool_count(p), 2);
    close(fb[2]);
    for (unsigned i = 1; i < 4; i++)
        close(fa[i]);
    upstream_pool_free(p);
    for (unsigned i = 0; i < 2; i++)
        assert_false(fd_open(fb[i]));
    for (unsigned i = 0; i < 4; i++)
        close(pa[i]);
    for (unsigned i = 0; i < 3; i++)
        close(pb[i]);
    ev_loop_destroy(loop);
}

static void test_upstream_pool_readable_or_idle_closes(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct upstream_pool *p = upstream_pool_new(loop, PER_KEY, 1024);
    struct upstream_key ka = {"app", "s1", &addr_a, sizeof(struct sockaddr_in), NULL};
    struct upstream_key kb = {"app", "s1", &addr_b, sizeof(struct sockaddr_in), NULL};
    int peer1, peer2, fd1, fd2;
    (void)state;
    addrs();
    fd1 = pair(&peer1);
    fd2 = pair(&peer2);
    assert_int_equal(upstream_pool_put(p, &ka, fd1, NULL, 5.0), 0);
    assert_int_equal(upstream_pool_put(p, &kb, fd2, NULL, 0.05), 0);
    close(peer1); /* EOF while idle */
    ev_run(loop, EVRUN_NOWAIT);
    assert_int_equal(upstream_pool_take(p, &ka, NULL), -1);
    assert_false(fd_open(fd1));
    /* idle timeout */
    for (int i = 0; i < 50 && upstream_pool_count(p) > 0; i++)
        ev_run(loop, EVRUN_ONCE);
    assert_int_equal(upstream_pool_count(p), 0);
    assert_false(fd_open(fd2));
    close(peer2);
    /* a non-positive idle time is refused, and the fd closed */
    fd1 = pair(&peer1);
    assert_int_equal(upstream_pool_put(p, &ka, fd1, NULL, 0), -1);
    assert_false(fd_open(fd1));
    close(peer1);
    upstream_pool_free(p);
    ev_loop_destroy(loop);
}

/* A TLS connection comes back only under its own SSL_CTX, with its tls_conn;
 * a plain one never answers a TLS key nor the reverse; the pool frees the
 * tls_conn of what it drops (the sanitizer build would see a leak). */
static void test_upstream_pool_tls_keys(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct upstream_pool *p = upstream_pool_new(loop, PER_KEY, 1024);
    int ctx_x, ctx_y; /* stand-ins for two SSL_CTX addresses */
    struct upstream_key plain = {"app", "s1", &addr_a, sizeof(struct sockaddr_in), NULL};
    struct upstream_key kx = {"app", "s1", &addr_a, sizeof(struct sockaddr_in), &ctx_x};
    struct upstream_key ky = {"app", "s1", &addr_a, sizeof(struct sockaddr_in), &ctx_y};
    struct tls_conn *t1 = calloc(1, sizeof(*t1)), *t2 = calloc(1, sizeof(*t2)), *got;
    int peer1, peer2, peer3, fd1, fd2, fd3;
    (void)state;
    addrs();
    assert_non_null(t1);
    assert_non_null(t2);
    fd1 = pair(&peer1);
    fd2 = pair(&peer2);
    fd3 = pair(&peer3);
    assert_int_equal(upstream_pool_put(p, &kx, fd1, t1, 5.0), 0);
    assert_int_equal(upstream_pool_put(p, &plain, fd2, NULL, 5.0), 0);
    got = (struct tls_conn *)(void *)&ctx_y;
    assert_int_equal(upstream_pool_take(p, &ky, &got), -1);
    assert_int_equal(upstream_pool_take(p, &plain, &got), fd2);
    assert_null(got);
    assert_int_equal(upstream_pool_take(p, &plain, &got), -1);
    assert_int_equal(upstream_pool_take(p, &kx, &got), fd1);
    assert_ptr_equal(got, t1);
    assert_int_equal(upstream_pool_count(p), 0);
    /* parked again, then dropped by the pool: fd closed, tls_conn freed */
    assert_int_equal(upstream_pool_put(p, &kx, fd1, t1, 5.0), 0);
    assert_int_equal(upstream_pool_put(p, &ky, fd3, t2, 5.0), 0);
    close(peer1); /* EOF while idle */
    ev_run(loop, EVRUN_NOWAIT);
    assert_int_equal(upstream_pool_take(p, &kx, &got), -1);
    assert_false(fd_open(fd1));
    assert_int_equal(upstream_pool_count(p), 1);
    upstream_pool_free(p);
    assert_false(fd_open(fd3));
    close(fd2);
    close(peer2);
    close(peer3);
    ev_loop_destroy(loop);
}

/* conn_ramp in the pool: at most CONN_RAMP_OPENING_MAX new connections
 * unanswered per key, then requests queue first come first served; a
 * connection parked wakes the first, an answer makes room for the next; a
 * woken waiter that leaves passes its turn on; `force` never waits. */
static struct upstream_waiter *woke[8];
static size_t nwoke;

static void on_wake(struct upstream_waiter *w)
{
    assert_true(nwoke < 8);
    woke[nwoke++] = w;
}

static void test_upstream_pool_ramp_queue(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct upstream_pool *p = upstream_pool_new(loop, PER_KEY, 1024);
    struct upstream_key ka = {"app", "s1", &addr_a, sizeof(struct sockaddr_in), NULL};
    struct upstream_key kb = {"app", "s2", &addr_b, sizeof(struct sockaddr_in), NULL};
    struct upstream_waiter open[CONN_RAMP_OPENING_MAX], w1, w2, w3, wb, wf;
    int peer, fd;
    (void)state;
    addrs();
    memset(open, 0, sizeof(open));
    memset(&w1, 0, sizeof(w1));
    w1.wake = on_wake;
    w3 = w2 = wb = wf = w1;
    for (unsigned i = 0; i < CONN_RAMP_OPENING_MAX; i++) {
        open[i].wake = on_wake;
        assert_int_equal(upstream_pool_get(p, &ka, NULL, &open[i], false, 0.001),
                         UPSTREAM_OPEN);
        assert_true(open[i].opening);
    }
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &w1, false, 0.001), UPSTREAM_WAIT);
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &w2, false, 0.001), UPSTREAM_WAIT);
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &w3, false, 0.001), UPSTREAM_WAIT);
    assert_true(w1.queued && w2.queued && w3.queued);
    /* another key has its own count */
    assert_int_equal(upstream_pool_get(p, &kb, NULL, &wb, false, 0.001), UPSTREAM_OPEN);
    /* force: opens past the bound */
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &wf, true, 0.001), UPSTREAM_OPEN);
    upstream_pool_done(p, &wf);
    assert_int_equal(nwoke, 0); /* still at the bound: nobody woken */

    /* a connection parked wakes the first waiter, which gets it */
    fd = pair(&peer);
    assert_int_equal(upstream_pool_put(p, &ka, fd, NULL, 5.0), 0);
    assert_int_equal(nwoke, 1);
    assert_ptr_equal(woke[0], &w1);
    assert_false(w1.queued);
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &w1, false, 0.001), fd);
    close(fd);
    close(peer);

    /* an answer makes room: the next waiter is woken and opens */
    upstream_pool_answered(p, &open[0]);
    assert_false(open[0].opening);
    assert_int_equal(nwoke, 2);
    assert_ptr_equal(woke[1], &w2);
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &w2, false, 0.001), UPSTREAM_OPEN);

    /* room again, but w3, woken, leaves: its turn goes on (nobody is left) */
    upstream_pool_done(p, &open[1]);
    assert_int_equal(nwoke, 3);
    assert_ptr_equal(woke[2], &w3);
    upstream_pool_done(p, &w3);
    assert_int_equal(nwoke, 3);
    assert_null(w3.group);

    /* a queued waiter that leaves is simply gone; done twice is harmless */
    memset(&w3, 0, sizeof(w3));
    w3.wake = on_wake;
    for (unsigned i = 2; i < CONN_RAMP_OPENING_MAX; i++)
        assert_true(open[i].opening);
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &w1, false, 0.001), UPSTREAM_OPEN);
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &w3, false, 0.001), UPSTREAM_WAIT);
    upstream_pool_done(p, &w3);
    upstream_pool_done(p, &w3);
    assert_false(w3.queued);
    upstream_pool_done(p, &open[2]);
    assert_int_equal(nwoke, 3);

    for (unsigned i = 3; i < CONN_RAMP_OPENING_MAX; i++)
        upstream_pool_done(p, &open[i]);
    upstream_pool_done(p, &w1);
    upstream_pool_done(p, &w2);
    upstream_pool_done(p, &wb);
    upstream_pool_free(p);
    ev_loop_destroy(loop);
}

/* A forced open into a server seen to accept slowly (new connections answered
 * far slower than requests, while connections come back idle) is refused: the
 * waiter goes back to the head of the queue. Without a response time (0, what
 * a request that waited long enough in all passes) it opens. */
static void test_upstream_pool_refused_force(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct upstream_pool *p = upstream_pool_new(loop, PER_KEY, 1024);
    struct upstream_key ka = {"app", "s1", &addr_a, sizeof(struct sockaddr_in), NULL};
    struct upstream_waiter open[CONN_RAMP_OPENING_MAX + 1], w1, wf;
    int peer, fd;
    (void)state;
    addrs();
    memset(open, 0, sizeof(open));
    memset(&w1, 0, sizeof(w1));
    w1.wake = on_wake;
    wf = w1;
    nwoke = 0;
    for (unsigned i = 0; i < CONN_RAMP_OPENING_MAX; i++) {
        open[i].wake = on_wake;
        assert_int_equal(upstream_pool_get(p, &ka, NULL, &open[i], false, 0.001),
                         UPSTREAM_OPEN);
    }
    nanosleep(&(struct timespec){0, 30000000}, NULL); /* answered 30 ms later */
    ev_now_update(loop);
    upstream_pool_answered(p, &open[0]);
    open[CONN_RAMP_OPENING_MAX].wake = on_wake;
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &open[CONN_RAMP_OPENING_MAX], false,
                                       0.001),
                     UPSTREAM_OPEN); /* at the bound again */
    /* a connection comes back idle and is taken: the queue moves */
    fd = pair(&peer);
    assert_int_equal(upstream_pool_put(p, &ka, fd, NULL, 5.0), 0);
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &w1, false, 0.001), fd);
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &w1, false, 0.001), UPSTREAM_WAIT);
    /* 30 ms to answer, 1 ms per request: a forced open is refused, at the head */
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &wf, true, 0.001), UPSTREAM_WAIT);
    assert_true(wf.queued);
    assert_false(wf.opening);
    /* a slow server (10 ms per request) gets its connection */
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &wf, true, 0.010), UPSTREAM_OPEN);
    assert_true(wf.opening);
    upstream_pool_done(p, &wf);
    /* refused again, then no response time to compare with: opens */
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &wf, true, 0.001), UPSTREAM_WAIT);
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &wf, true, 0.0), UPSTREAM_OPEN);
    close(fd);
    close(peer);
    upstream_pool_done(p, &wf);
    upstream_pool_done(p, &w1);
    for (unsigned i = 1; i <= CONN_RAMP_OPENING_MAX; i++)
        upstream_pool_done(p, &open[i]);
    upstream_pool_free(p);
    ev_loop_destroy(loop);
}

/* A server that closes its connections after answering (HTTP/1.0): once that
 * is what most answered connections do (conn_ramp_closed), the requests queued
 * for it are all woken, and they and later ones open at once, past
 * CONN_RAMP_OPENING_MAX (none would come back idle to wait for). Connections
 * parked again bring the bound back. */
static void test_upstream_pool_closing_server(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct upstream_pool *p = upstream_pool_new(loop, PER_KEY, 1024);
    struct upstream_key ka = {"app", "s1", &addr_a, sizeof(struct sockaddr_in), NULL};
    struct upstream_waiter open[CONN_RAMP_OPENING_MAX], w[5];
    size_t woke0;
    int peer[3], fd[3];
    (void)state;
    addrs();
    memset(open, 0, sizeof(open));
    memset(w, 0, sizeof(w));
    for (unsigned i = 0; i < CONN_RAMP_OPENING_MAX; i++) {
        open[i].wake = on_wake;
        assert_int_equal(upstream_pool_get(p, &ka, NULL, &open[i], false, 0.001),
                         UPSTREAM_OPEN);
    }
    for (int i = 0; i < 5; i++)
        w[i].wake = on_wake;
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &w[0], false, 0.001), UPSTREAM_WAIT);
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &w[1], false, 0.001), UPSTREAM_WAIT);

    woke0 = nwoke;
    for (int i = 0; i < 5; i++) /* not yet most of them */
        upstream_pool_closed(p, &ka);
    assert_int_equal(nwoke, woke0);
    assert_true(w[0].queued && w[1].queued);
    upstream_pool_closed(p, &ka);
    assert_int_equal(nwoke, woke0 + 2);
    assert_ptr_equal(woke[woke0], &w[0]);
    assert_ptr_equal(woke[woke0 + 1], &w[1]);
    assert_false(w[0].queued || w[1].queued);
    for (int i = 0; i < 3; i++) /* 8 opening already: 9, 10, 11 */
        assert_int_equal(upstream_pool_get(p, &ka, NULL, &w[i], false, 0.001),
                         UPSTREAM_OPEN);

    /* connections come back idle: the bound holds again */
    for (int i = 0; i < 3; i++) {
        fd[i] = pair(&peer[i]);
        assert_int_equal(upstream_pool_put(p, &ka, fd[i], NULL, 5.0), 0);
    }
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &w[3], false, 0.001), fd[2]);
    assert_int_equal(upstream_pool_take(p, &ka, NULL), fd[1]);
    assert_int_equal(upstream_pool_take(p, &ka, NULL), fd[0]);
    assert_int_equal(upstream_pool_get(p, &ka, NULL, &w[4], false, 0.001), UPSTREAM_WAIT);
    for (int i = 0; i < 3; i++) {
        close(fd[i]);
        close(peer[i]);
    }

    for (unsigned i = 0; i < CONN_RAMP_OPENING_MAX; i++)
        upstream_pool_done(p, &open[i]);
    for (int i = 0; i < 5; i++)
        upstream_pool_done(p, &w[i]);
    upstream_pool_free(p);
    ev_loop_destroy(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_pool_lifo_and_keys),
        cmocka_unit_test(test_upstream_pool_per_server_bound),
        cmocka_unit_test(test_upstream_pool_worker_bound),
        cmocka_unit_test(test_upstream_pool_readable_or_idle_closes),
        cmocka_unit_test(test_upstream_pool_tls_keys),
        cmocka_unit_test(test_upstream_pool_ramp_queue),
        cmocka_unit_test(test_upstream_pool_refused_force),
        cmocka_unit_test(test_upstream_pool_closing_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
