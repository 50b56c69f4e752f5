/*
 * health_mailbox: how workers tell the main thread what happened to the requests
 * they sent (passive health checks), without slowing the request path.
 *
 * A worker posts (server counter, outcome) pairs; the main thread drains them
 * when woken through an ev_async. A success is posted only while the server's
 * counter has report_ok set (the monitor sets it while passive checks count
 * failures for that server), so a healthy tier pays one relaxed atomic load per
 * request. Failures are always posted. When the ring is full, outcomes are
 * dropped and counted: passive checks are advisory, never a reason to block.
 *
 * Must not: block a worker for longer than a short critical section, allocate
 * after init, or read anything from a counter but its atomics.
 */
#ifndef RAFTLB_HEALTH_MAILBOX_H
#define RAFTLB_HEALTH_MAILBOX_H

#include <ev.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "health/health_passive.h"
#include "net/route.h"

#define HEALTH_MAILBOX_CAP 4096u

struct health_mailbox_item {
    struct route_counter *counter;
    enum health_req_outcome outcome;
};

struct health_mailbox {
    pthread_mutex_t lock;
    struct ev_loop *loop; /* the main loop, woken through `async` */
    ev_async async;
    struct health_mailbox_item items[HEALTH_MAILBOX_CAP];
    size_t head, len;
    uint64_t dropped;
};

/* Prepares `mb` for the main loop `loop`; `cb` runs there (with async.data =
 * `arg`) after posts. Returns 0 or -1. The caller starts nothing else. */
int health_mailbox_init(struct health_mailbox *mb, struct ev_loop *loop,
                        void (*cb)(struct ev_loop *, ev_async *, int), void *arg);
void health_mailbox_fini(struct health_mailbox *mb);

/* The out-of-line half of health_mailbox_post(). */
void health_mailbox_post_slow(struct health_mailbox *mb, struct route_counter *c,
                              enum health_req_outcome o);

/* Any thread. Posts one outcome (see above for when a success is posted). */
static inline void health_mailbox_post(struct health_mailbox *mb, struct route_counter *c,
                                       enum health_req_outcome o)
{
    if (mb == NULL || c == NULL)
        return;
    if (o == HEALTH_REQ_OK && atomic_load_explicit(&c->report_ok, memory_order_relaxed) == 0)
        return;
    health_mailbox_post_slow(mb, c, o);
}

/* Main thread: moves up to `cap` items into `out`, oldest first; returns how
 * many. *dropped (if not NULL) gets the outcomes lost so far. */
size_t health_mailbox_take(struct health_mailbox *mb, struct health_mailbox_item *out,
                           size_t cap, uint64_t *dropped);

#endif
