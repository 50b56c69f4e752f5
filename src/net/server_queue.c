/*
 * server_queue: see server_queue.h.
 */
#include "config.h"

#include "net/server_queue.h"

#include <string.h>

/* pools remembered as full during one dispatch; past this many, the waiters of
 * further full pools each try (a pick more, the order still kept) */
#define FULL_POOLS_MAX 16u

void server_queue_push(struct server_queue *q, struct sq_waiter *w)
{
    w->next = NULL;
    w->prev = q->tail;
    if (q->tail != NULL)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
    w->queued = true;
    q->len++;
}

void server_queue_remove(struct server_queue *q, struct sq_waiter *w)
{
    if (!w->queued)
        return;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    w->prev = w->next = NULL;
    w->queued = false;
    q->len--;
}

struct sq_waiter *server_queue_next_of_pool(const struct sq_waiter *w)
{
    for (struct sq_waiter *n = w->next; n != NULL; n = n->next)
        if (strcmp(n->pool, w->pool) == 0)
            return n;
    return NULL;
}

static bool is_full(const char *const *full, size_t n, const char *pool)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(full[i], pool) == 0)
            return true;
    return false;
}

size_t server_queue_dispatch(struct server_queue *q)
{
    const char *full[FULL_POOLS_MAX];
    size_t nfull = 0, left = 0;
    struct sq_waiter *w, *next;

    if (q->dispatching)
        return 0;
    q->dispatching = true;
    for (w = q->head; w != NULL; w = next) {
        /* read before the pick: a waiter that leaves may be freed with it */
        next = w->next;
        if (is_full(full, nfull, w->pool))
            continue;
        if ((q->defer != NULL && q->defer(q, w)) || w->try_pick(w) == SQ_FULL) {
            /* w stays queued, so its pool name outlives this dispatch */
            if (nfull < FULL_POOLS_MAX)
                full[nfull++] = w->pool;
        } else {
            left++;
        }
    }
    q->dispatching = false;
    return left;
}
