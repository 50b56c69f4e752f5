/* Unit tests of net/upstream_pool: keys, LIFO reuse, bounds, idle watch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/upstream_pool.h"

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
    struct upstream_pool *p = upstream_pool_new(loop);
    struct upstream_key ka = {"app", "s1", &addr_a, sizeof(struct sockaddr_in)};
    struct upstream_key kb = {"app", "s1", &addr_b, sizeof(struct sockaddr_in)};
    struct upstream_key kc = {"other", "s1", &addr_a, sizeof(struct sockaddr_in)};
    int peer1, peer2, fd1, fd2;
    (void)state;
    addrs();
    fd1 = pair(&peer1);
    fd2 = pair(&peer2);
    assert_int_equal(upstream_pool_put(p, &ka, fd1, 5.0), 0);
    assert_int_equal(upstream_pool_put(p, &ka, fd2, 5.0), 0);
    assert_int_equal(upstream_pool_count(p), 2);
    /* another address or another pool name never matches */
    assert_int_equal(upstream_pool_take(p, &kb), -1);
    assert_int_equal(upstream_pool_take(p, &kc), -1);
    /* most recently parked first */
    assert_int_equal(upstream_pool_take(p, &ka), fd2);
    assert_int_equal(upstream_pool_take(p, &ka), fd1);
    assert_int_equal(upstream_pool_take(p, &ka), -1);
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
    struct upstream_pool *p = upstream_pool_new(loop);
    struct upstream_key ka = {"app", "s1", &addr_a, sizeof(struct sockaddr_in)};
    int fds[UPSTREAM_POOL_PER_SERVER_MAX + 1], peers[UPSTREAM_POOL_PER_SERVER_MAX + 1];
    (void)state;
    addrs();
    for (unsigned i = 0; i <= UPSTREAM_POOL_PER_SERVER_MAX; i++) {
        fds[i] = pair(&peers[i]);
        assert_int_equal(upstream_pool_put(p, &ka, fds[i], 5.0), 0);
    }
    /* the oldest was closed to make room */
    assert_int_equal(upstream_pool_count(p), UPSTREAM_POOL_PER_SERVER_MAX);
    assert_false(fd_open(fds[0]));
    upstream_pool_free(p); /* closes the rest */
    for (unsigned i = 1; i <= UPSTREAM_POOL_PER_SERVER_MAX; i++)
        assert_false(fd_open(fds[i]));
    for (unsigned i = 0; i <= UPSTREAM_POOL_PER_SERVER_MAX; i++)
        close(peers[i]);
    ev_loop_destroy(loop);
}

static void test_upstream_pool_readable_or_idle_closes(void **state)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct upstream_pool *p = upstream_pool_new(loop);
    struct upstream_key ka = {"app", "s1", &addr_a, sizeof(struct sockaddr_in)};
    struct upstream_key kb = {"app", "s1", &addr_b, sizeof(struct sockaddr_in)};
    int peer1, peer2, fd1, fd2;
    (void)state;
    addrs();
    fd1 = pair(&peer1);
    fd2 = pair(&peer2);
    assert_int_equal(upstream_pool_put(p, &ka, fd1, 5.0), 0);
    assert_int_equal(upstream_pool_put(p, &kb, fd2, 0.05), 0);
    close(peer1); /* EOF while idle */
    ev_run(loop, EVRUN_NOWAIT);
    assert_int_equal(upstream_pool_take(p, &ka), -1);
    assert_false(fd_open(fd1));
    /* idle timeout */
    for (int i = 0; i < 50 && upstream_pool_count(p) > 0; i++)
        ev_run(loop, EVRUN_ONCE);
    assert_int_equal(upstream_pool_count(p), 0);
    assert_false(fd_open(fd2));
    close(peer2);
    /* a non-positive idle time is refused, and the fd closed */
    fd1 = pair(&peer1);
    assert_int_equal(upstream_pool_put(p, &ka, fd1, 0), -1);
    assert_false(fd_open(fd1));
    close(peer1);
    upstream_pool_free(p);
    ev_loop_destroy(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upstream_pool_lifo_and_keys),
        cmocka_unit_test(test_upstream_pool_per_server_bound),
        cmocka_unit_test(test_upstream_pool_readable_or_idle_closes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
