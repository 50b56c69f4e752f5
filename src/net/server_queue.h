/*
 * server_queue: one worker's requests (HTTP) and connections (TCP) that wait
 * because every usable server of their pool is at its maxconn, oldest first, as
 * HAProxy queues them (bounded by the pool's timeout_queue). When a server
 * slot may have come free, the worker asks the waiters to pick again, oldest
 * first (server_queue_dispatch), so that no request passes an older one of its
 * pool. Across workers (worker.c): the pool counter's `queued` makes a new
 * request of any worker queue while some wait, and the `defer` hook keeps a
 * worker from taking a slot while another worker holds an older waiter of the
 * pool (it wakes that worker instead).
 *
 * Must not: own its waiters (their sessions do and time them out), do I/O, or
 * hold routing pointers: a waiter names its pool, and the snapshot may change
 * while it waits.
 */
#ifndef RAFTLB_NET_SERVER_QUEUE_H
#define RAFTLB_NET_SERVER_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct route_counter;

/* What a waiter's pick did: SQ_FULL, its pool is still full and it waits on;
 * SQ_LEFT, it left the queue (it has a server, or its session answered or
 * ended; its memory may be gone). */
enum sq_try { SQ_FULL, SQ_LEFT };

struct sq_waiter {
    struct sq_waiter *prev, *next;
    const char *pool; /* the pool's name, owned by the waiter's session */
    /* the pool's counter (route.h), whose `queued` counts the waiters of every
     * worker: while any wait, a new request of the pool queues behind them */
    struct route_counter *pool_counter;
    uint64_t stamp; /* its ticket: the pool's waiters in arrival order, any worker */
    bool queued;
    /* picks again; on SQ_LEFT it has removed itself (server_queue_remove). It
     * may remove no other waiter. */
    enum sq_try (*try_pick)(struct sq_waiter *w);
};

struct server_queue {
    struct sq_waiter *head, *tail;
    size_t len;
    bool dispatching;
    /* optional: true when `w`, the oldest waiter of its pool in this queue,
     * must leave a free slot to an older waiter elsewhere; its pool then
     * counts as full for this dispatch */
    bool (*defer)(struct server_queue *q, const struct sq_waiter *w);
};

/* Appends `w` (not queued) at the tail. */
void server_queue_push(struct server_queue *q, struct sq_waiter *w);
/* Takes `w` out of the queue; nothing when it is not queued. */
void server_queue_remove(struct server_queue *q, struct sq_waiter *w);
/* The first waiter of w's pool after `w` in the queue (the next oldest), or NULL. */
struct sq_waiter *server_queue_next_of_pool(const struct sq_waiter *w);
/* Lets the waiters pick again, oldest first; once one of a pool is still full,
 * the younger ones of that pool wait on without trying. Returns how many left.
 * A call from inside a try_pick does nothing (returns 0). */
size_t server_queue_dispatch(struct server_queue *q);

#endif
