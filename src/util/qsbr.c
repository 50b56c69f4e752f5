/*
 * qsbr: see qsbr.h. Memory ordering: the writer's pointer store, its epoch increment
 * and its scan of the readers, and a reader's "seen" store and its later pointer
 * loads, are all sequentially consistent. So a reader whose "seen" is at least the
 * retirement epoch, or that the scan found offline, loads only the new pointer.
 */
#include "config.h"

#include "util/qsbr.h"

#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>

struct qsbr_retired {
    struct qsbr_retired *next;
    void *p;
    void (*free_fn)(void *);
    uint64_t epoch;
};

int qsbr_init(struct qsbr *q, size_t readers)
{
    atomic_init(&q->epoch, 1);
    q->reader_count = readers;
    q->retired = NULL;
    q->readers = calloc(readers ? readers : 1, sizeof(*q->readers));
    if (q->readers == NULL)
        return -1;
    for (size_t i = 0; i < readers; i++)
        atomic_init(&q->readers[i].seen, 0);
    if (pthread_mutex_init(&q->lock, NULL) != 0) {
        free(q->readers);
        q->readers = NULL;
        return -1;
    }
    return 0;
}

void qsbr_online(struct qsbr *q, size_t i)
{
    atomic_store(&q->readers[i].seen, atomic_load(&q->epoch));
}

void qsbr_offline(struct qsbr *q, size_t i)
{
    atomic_store(&q->readers[i].seen, 0);
}

static bool safe(struct qsbr *q, uint64_t epoch)
{
    for (size_t i = 0; i < q->reader_count; i++) {
        uint64_t s = atomic_load(&q->readers[i].seen);
        if (s != 0 && s < epoch)
            return false;
    }
    return true;
}

int qsbr_retire(struct qsbr *q, void *p, void (*free_fn)(void *))
{
    uint64_t epoch = atomic_fetch_add(&q->epoch, 1) + 1;
    struct qsbr_retired *r = malloc(sizeof(*r));
    if (r == NULL) {
        while (!safe(q, epoch))
            sched_yield();
        free_fn(p);
        return 0;
    }
    r->p = p;
    r->free_fn = free_fn;
    r->epoch = epoch;
    pthread_mutex_lock(&q->lock);
    r->next = q->retired;
    q->retired = r;
    pthread_mutex_unlock(&q->lock);
    return 0;
}

size_t qsbr_reclaim(struct qsbr *q)
{
    struct qsbr_retired **pp, *r, *done = NULL;
    size_t left = 0;

    pthread_mutex_lock(&q->lock);
    pp = &q->retired;
    while ((r = *pp) != NULL) {
        if (safe(q, r->epoch)) {
            *pp = r->next;
            r->next = done;
            done = r;
        } else {
            pp = &r->next;
            left++;
        }
    }
    pthread_mutex_unlock(&q->lock);
    while ((r = done) != NULL) {
        done = r->next;
        r->free_fn(r->p);
        free(r);
    }
    return left;
}

void qsbr_fini(struct qsbr *q)
{
    struct qsbr_retired *r;
    pthread_mutex_lock(&q->lock);
    while ((r = q->retired) != NULL) {
        q->retired = r->next;
        r->free_fn(r->p);
        free(r);
    }
    pthread_mutex_unlock(&q->lock);
    pthread_mutex_destroy(&q->lock);
    free(q->readers);
    q->readers = NULL;
}
