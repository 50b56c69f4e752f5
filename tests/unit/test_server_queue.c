/* Unit tests of net/server_queue: the waiters behind full pools, oldest first
 * (server_queue.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/server_queue.h"

/* A pretend pool per name: how many free slots it has. A waiter takes one
 * when there is one, and records the order in which waiters tried. */
struct fake {
    struct sq_waiter w;
    int id;
    bool freed_on_leave; /* its memory goes when it leaves */
};

static struct server_queue *cur_q;
static int slots_a, slots_b;
static int tried[64], ntried;
static int served[64], nserved;

static int *slots_of(const char *pool)
{
    return strcmp(pool, "a") == 0 ? &slots_a : &slots_b;
}

static enum sq_try try_pick(struct sq_waiter *w)
{
    struct fake *f = (struct fake *)(void *)w;
    int *slots = slots_of(w->pool);
    tried[ntried++] = f->id;
    if (*slots == 0)
        return SQ_FULL;
    (*slots)--;
    served[nserved++] = f->id;
    server_queue_remove(cur_q, w);
    if (f->freed_on_leave)
        free(f);
    return SQ_LEFT;
}

static void reset(struct server_queue *q)
{
    memset(q, 0, sizeof(*q));
    cur_q = q;
    slots_a = slots_b = 0;
    ntried = nserved = 0;
}

static void add(struct server_queue *q, struct fake *f, int id, const char *pool)
{
    memset(f, 0, sizeof(*f));
    f->id = id;
    f->w.pool = pool;
    f->w.try_pick = try_pick;
    server_queue_push(q, &f->w);
}

/* Waiters are served oldest first, as many as there are slots. */
static void test_oldest_first(void **state)
{
    struct server_queue q;
    struct fake f[4];
    (void)state;
    reset(&q);
    for (int i = 0; i < 4; i++)
        add(&q, &f[i], i, "a");
    assert_int_equal(q.len, 4);
    slots_a = 2;
    assert_int_equal(server_queue_dispatch(&q), 2);
    assert_int_equal(nserved, 2);
    assert_int_equal(served[0], 0);
    assert_int_equal(served[1], 1);
    assert_int_equal(q.len, 2);
    assert_ptr_equal(q.head, &f[2].w);
    assert_false(f[0].w.queued);
    assert_true(f[2].w.queued);
}

/* Once a pool is found full, its younger waiters do not try (one pick per full
 * pool), while another pool's waiters still do. */
static void test_full_pool_tried_once(void **state)
{
    struct server_queue q;
    struct fake f[5];
    (void)state;
    reset(&q);
    add(&q, &f[0], 0, "a");
    add(&q, &f[1], 1, "b");
    add(&q, &f[2], 2, "a");
    add(&q, &f[3], 3, "b");
    add(&q, &f[4], 4, "a");
    slots_b = 1;
    assert_int_equal(server_queue_dispatch(&q), 1);
    /* a (full) tried once, b: 1 served, then 3 found full */
    assert_int_equal(ntried, 3);
    assert_int_equal(tried[0], 0);
    assert_int_equal(tried[1], 1);
    assert_int_equal(tried[2], 3);
    assert_int_equal(served[0], 1);
    assert_int_equal(q.len, 4);
    assert_true(f[3].w.queued);
    slots_b = 1;
    ntried = 0;
    assert_int_equal(server_queue_dispatch(&q), 1);
    assert_false(f[3].w.queued);
    assert_int_equal(q.len, 3);
    for (struct sq_waiter *w = q.head; w != NULL; w = w->next)
        assert_string_equal(w->pool, "a");
}

/* A waiter may free itself as it leaves; the walk goes on with the next. */
static void test_waiter_freed_on_leave(void **state)
{
    struct server_queue q;
    struct fake *f[3];
    (void)state;
    reset(&q);
    for (int i = 0; i < 3; i++) {
        f[i] = malloc(sizeof(**f));
        assert_non_null(f[i]);
        add(&q, f[i], i, "a");
        f[i]->freed_on_leave = true;
    }
    slots_a = 3;
    assert_int_equal(server_queue_dispatch(&q), 3);
    assert_int_equal(q.len, 0);
    assert_null(q.head);
    assert_null(q.tail);
}

/* Removal from the middle, the head and the tail keeps the links; removing a
 * waiter that is not queued does nothing. */
static void test_remove_anywhere(void **state)
{
    struct server_queue q;
    struct fake f[4];
    (void)state;
    reset(&q);
    for (int i = 0; i < 4; i++)
        add(&q, &f[i], i, "a");
    server_queue_remove(&q, &f[1].w);
    server_queue_remove(&q, &f[1].w);
    assert_int_equal(q.len, 3);
    server_queue_remove(&q, &f[0].w);
    server_queue_remove(&q, &f[3].w);
    assert_int_equal(q.len, 1);
    assert_ptr_equal(q.head, &f[2].w);
    assert_ptr_equal(q.tail, &f[2].w);
    assert_null(f[2].w.prev);
    assert_null(f[2].w.next);
    add(&q, &f[0], 0, "a");
    assert_ptr_equal(q.head->next, &f[0].w);
    assert_ptr_equal(q.tail, &f[0].w);
}

/* A dispatch from inside a pick (a session that frees a slot while it leaves)
 * does nothing: the outer walk goes on. */
static size_t nested_result = 99;
static enum sq_try try_nested(struct sq_waiter *w)
{
    nested_result = server_queue_dispatch(cur_q);
    server_queue_remove(cur_q, w);
    return SQ_LEFT;
}

static void test_no_nested_dispatch(void **state)
{
    struct server_queue q;
    struct fake f[2];
    (void)state;
    reset(&q);
    add(&q, &f[0], 0, "a");
    f[0].w.try_pick = try_nested;
    add(&q, &f[1], 1, "a");
    slots_a = 1;
    assert_int_equal(server_queue_dispatch(&q), 2);
    assert_int_equal(nested_result, 0);
    assert_int_equal(q.len, 0);
    assert_false(q.dispatching);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oldest_first),
        cmocka_unit_test(test_full_pool_tried_once),
        cmocka_unit_test(test_waiter_freed_on_leave),
        cmocka_unit_test(test_remove_anywhere),
        cmocka_unit_test(test_no_nested_dispatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
