/* Unit tests of net/http_pipe: room, compaction, coalescing a small body into
 * its head, and sending over a socketpair (one buffer or two). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/http_pipe.h"

static char in[64], head[32];

static void pipe_with(struct http_pipe *p, const char *h, const char *body)
{
    memset(p, 0, sizeof(*p));
    p->in = in;
    p->cap = sizeof(in);
    p->head = head;
    p->head_cap = sizeof(head);
    p->head_len = (uint32_t)strlen(h);
    memcpy(head, h, p->head_len);
    p->len = (uint32_t)strlen(body);
    memcpy(in, body, p->len);
    p->ready = p->len;
}

static void test_coalesce_small_body(void **state)
{
    struct http_pipe p;
    (void)state;
    pipe_with(&p, "HEAD\r\n", "body");
    http_pipe_coalesce(&p, 16);
    assert_int_equal(p.head_len, 10);
    assert_memory_equal(p.head, "HEAD\r\nbody", 10);
    assert_int_equal(p.ready, 0);
    assert_int_equal(p.pos, 4);
    assert_true(http_pipe_pending(&p));
}

static void test_coalesce_refuses(void **state)
{
    struct http_pipe p;
    (void)state;
    /* over `max` */
    pipe_with(&p, "HEAD\r\n", "0123456789");
    http_pipe_coalesce(&p, 9);
    assert_int_equal(p.head_len, 6);
    assert_int_equal(p.ready, 10);
    /* no room left in the head buffer (32 bytes) */
    pipe_with(&p, "0123456789012345678901234567", "body!");
    http_pipe_coalesce(&p, 1024);
    assert_int_equal(p.head_len, 28);
    assert_int_equal(p.ready, 5);
    /* no head queued: the body goes as it is */
    pipe_with(&p, "", "body");
    http_pipe_coalesce(&p, 1024);
    assert_int_equal(p.head_len, 0);
    assert_int_equal(p.ready, 4);
    /* bytes not framed yet (after ready) stay in `in` */
    pipe_with(&p, "H\r\n", "bodyNEXT");
    p.ready = 4;
    http_pipe_coalesce(&p, 1024);
    assert_int_equal(p.head_len, 7);
    assert_int_equal(p.pos, 4);
    assert_int_equal(p.len, 8);
    assert_memory_equal(p.in + p.pos, "NEXT", 4);
}

static void test_room_and_compact(void **state)
{
    struct http_pipe p;
    (void)state;
    pipe_with(&p, "", "abcdef");
    p.pos = 6;
    p.ready = 0;
    assert_int_equal(http_pipe_room(&p), sizeof(in)); /* empty: back to 0 */
    pipe_with(&p, "", "abcdef");
    p.pos = 2;
    p.ready = 0;
    http_pipe_compact(&p);
    assert_int_equal(p.pos, 0);
    assert_int_equal(p.len, 4);
    assert_memory_equal(p.in, "cdef", 4);
}

/* Everything queued arrives in order, head first, with one buffer or two. */
static void send_and_check(const char *h, const char *body, bool coalesce)
{
    struct http_pipe p;
    uint64_t bytes = 0;
    char got[128];
    int sv[2];
    ssize_t n;
    size_t want = strlen(h) + strlen(body);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    pipe_with(&p, h, body);
    if (coalesce)
        http_pipe_coalesce(&p, 1024);
    assert_int_equal(http_pipe_send(sv[0], &p, &bytes), 1);
    assert_int_equal(bytes, want);
    assert_false(http_pipe_pending(&p));
    n = recv(sv[1], got, sizeof(got), 0);
    assert_int_equal(n, (ssize_t)want);
    assert_memory_equal(got, h, strlen(h));
    assert_memory_equal(got + strlen(h), body, strlen(body));
    close(sv[0]);
    close(sv[1]);
}

static void test_send(void **state)
{
    (void)state;
    send_and_check("HTTP/1.1 200 OK\r\n\r\n", "hello", false); /* two buffers */
    send_and_check("HTTP/1.1 200 OK\r\n\r\n", "hello", true);  /* one */
    send_and_check("", "body only", false);
    send_and_check("HEAD ONLY\r\n\r\n", "", false);
}

/* A peer that stopped reading: the pipe keeps what did not fit and says so. */
static void test_send_partial(void **state)
{
    static char big[1 << 20];
    struct http_pipe p;
    uint64_t bytes = 0;
    int sv[2], rc;
    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    memset(&p, 0, sizeof(p));
    p.in = big;
    p.cap = p.len = p.ready = sizeof(big);
    rc = http_pipe_send(sv[0], &p, &bytes);
    assert_int_equal(rc, 0);
    assert_true(bytes > 0 && bytes < sizeof(big));
    assert_int_equal(p.pos, bytes);
    assert_int_equal(p.ready, sizeof(big) - bytes);
    close(sv[1]);
    assert_int_equal(http_pipe_send(sv[0], &p, &bytes), -1); /* EPIPE, no signal */
    close(sv[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coalesce_small_body),
        cmocka_unit_test(test_coalesce_refuses),
        cmocka_unit_test(test_room_and_compact),
        cmocka_unit_test(test_send),
        cmocka_unit_test(test_send_partial),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
