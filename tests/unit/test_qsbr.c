/*
 * Unit tests of util/qsbr: an object retired while a reader is online is kept
 * until that reader goes offline or comes online again; offline readers never
 * hold anything back; fini frees what is left. Plus a two-thread stress run in
 * which a reader dereferences the published pointer while a writer swaps it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "util/qsbr.h"

static int freed;

static void count_free(void *p)
{
    (void)p;
    freed++;
}

static void test_qsbr_offline_readers_do_not_delay(void **state)
{
    struct qsbr q;
    int obj;
    (void)state;
    freed = 0;
    assert_int_equal(qsbr_init(&q, 2), 0);
    qsbr_retire(&q, &obj, count_free);
    assert_int_equal(qsbr_reclaim(&q), 0);
    assert_int_equal(freed, 1);
    qsbr_fini(&q);
}

static void test_qsbr_online_reader_delays_until_it_moves_on(void **state)
{
    struct qsbr q;
    int obj;
    (void)state;
    freed = 0;
    assert_int_equal(qsbr_init(&q, 2), 0);
    qsbr_online(&q, 0);
    qsbr_retire(&q, &obj, count_free);
    assert_int_equal(qsbr_reclaim(&q), 1);
    assert_int_equal(freed, 0);
    qsbr_online(&q, 1); /* another reader coming online does not matter */
    assert_int_equal(qsbr_reclaim(&q), 1);
    qsbr_online(&q, 0); /* reader 0 starts a new iteration: it saw the swap */
    assert_int_equal(qsbr_reclaim(&q), 0);
    assert_int_equal(freed, 1);

    qsbr_retire(&q, &obj, count_free);
    assert_int_equal(qsbr_reclaim(&q), 1); /* both readers online before it */
    qsbr_offline(&q, 0);
    assert_int_equal(qsbr_reclaim(&q), 1);
    qsbr_offline(&q, 1);
    assert_int_equal(qsbr_reclaim(&q), 0);
    assert_int_equal(freed, 2);
    qsbr_fini(&q);
}

static void test_qsbr_fini_frees_pending(void **state)
{
    struct qsbr q;
    int a, b;
    (void)state;
    freed = 0;
    assert_int_equal(qsbr_init(&q, 1), 0);
    qsbr_online(&q, 0);
    qsbr_retire(&q, &a, count_free);
    qsbr_retire(&q, &b, count_free);
    assert_int_equal(qsbr_reclaim(&q), 2);
    qsbr_fini(&q);
    assert_int_equal(freed, 2);
}

/* Stress: a reader checks that every object it sees is still intact. */
struct obj {
    uint64_t magic;
    uint64_t serial;
};

#define MAGIC 0x5afe5afe5afe5afeULL
#define SWAPS 20000

static struct qsbr sq;
static _Atomic(struct obj *) current;
static atomic_bool stop;
static atomic_int bad;

static void obj_free(void *p)
{
    struct obj *o = p;
    o->magic = 0; /* a reader seeing this read freed memory */
    free(o);
}

static void *reader(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        qsbr_online(&sq, 0);
        for (int i = 0; i < 100; i++) {
            struct obj *o = atomic_load(&current);
            if (o->magic != MAGIC)
                atomic_fetch_add(&bad, 1);
        }
        qsbr_offline(&sq, 0);
    }
    return NULL;
}

static void test_qsbr_concurrent_swaps_never_free_a_visible_object(void **state)
{
    pthread_t t;
    (void)state;
    assert_int_equal(qsbr_init(&sq, 1), 0);
    struct obj *first = malloc(sizeof(*first));
    assert_non_null(first);
    first->magic = MAGIC;
    first->serial = 0;
    atomic_store(&current, first);
    assert_int_equal(pthread_create(&t, NULL, reader, NULL), 0);
    for (uint64_t i = 1; i <= SWAPS; i++) {
        struct obj *o = malloc(sizeof(*o));
        assert_non_null(o);
        o->magic = MAGIC;
        o->serial = i;
        struct obj *old = atomic_exchange(&current, o);
        qsbr_retire(&sq, old, obj_free);
        if (i % 64 == 0)
            qsbr_reclaim(&sq);
    }
    atomic_store(&stop, true);
    pthread_join(t, NULL);
    assert_int_equal(qsbr_reclaim(&sq), 0);
    qsbr_fini(&sq);
    assert_int_equal(atomic_load(&bad), 0);
    free(atomic_load(&current));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qsbr_offline_readers_do_not_delay),
        cmocka_unit_test(test_qsbr_online_reader_delays_until_it_moves_on),
        cmocka_unit_test(test_qsbr_fini_frees_pending),
        cmocka_unit_test(test_qsbr_concurrent_swaps_never_free_a_visible_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
