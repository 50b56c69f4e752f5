/*
 * qsbr: quiescent-state-based reclamation, so that readers (worker loops) can use
 * shared immutable objects without any lock or reference count.
 *
 * A reader is "online" while it handles one batch of events and "offline" while it
 * sleeps in the poller; it holds no shared pointer while offline nor across two
 * batches. A writer publishes a new object with one atomic pointer store and then
 * retires the old one; the old one is freed once every reader has been offline or
 * has come online again since the retirement.
 *
 * Must not: block readers. Readers only do two atomic stores per loop iteration.
 */
#ifndef RAFTLB_UTIL_QSBR_H
#define RAFTLB_UTIL_QSBR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct qsbr_reader {
    _Atomic uint64_t seen; /* epoch seen when coming online; 0 = offline */
    char pad[64 - sizeof(uint64_t)];
};

struct qsbr_retired;

struct qsbr {
    _Atomic uint64_t epoch; /* starts at 1 */
    struct qsbr_reader *readers;
    size_t reader_count;
    pthread_mutex_t lock; /* guards the retired list (writers only) */
    struct qsbr_retired *retired;
};

/* Prepares `readers` reader slots, all offline. Returns 0 or -1 (no memory). */
int qsbr_init(struct qsbr *q, size_t readers);

/* Reader `i` starts handling events / goes to sleep. */
void qsbr_online(struct qsbr *q, size_t i);
void qsbr_offline(struct qsbr *q, size_t i);

/*
 * Hands `p` over to be freed with `free_fn(p)` once no reader can see it. Call only
 * after `p` has been unpublished. If memory for the bookkeeping cannot be found, it
 * waits for the readers instead (bounded by their loop iterations). Returns 0.
 */
int qsbr_retire(struct qsbr *q, void *p, void (*free_fn)(void *));

/* Frees what is safe to free; returns how many objects still wait. */
size_t qsbr_reclaim(struct qsbr *q);

/* Frees everything retired; call only when no reader runs any more. */
void qsbr_fini(struct qsbr *q);

#endif
