/*
 * health_mailbox: see health_mailbox.h.
 */
#include "config.h"

#include "health/health_mailbox.h"

#include <string.h>

int health_mailbox_init(struct health_mailbox *mb, struct ev_loop *loop,
                        void (*cb)(struct ev_loop *, ev_async *, int), void *arg)
{
    memset(mb, 0, sizeof(*mb));
    if (pthread_mutex_init(&mb->lock, NULL) != 0)
        return -1;
    mb->loop = loop;
    ev_async_init(&mb->async, cb);
    mb->async.data = arg;
    ev_async_start(loop, &mb->async);
    return 0;
}

void health_mailbox_fini(struct health_mailbox *mb)
{
    ev_async_stop(mb->loop, &mb->async);
    pthread_mutex_destroy(&mb->lock);
}

void health_mailbox_post_slow(struct health_mailbox *mb, struct route_counter *c,
                              enum health_req_outcome o)
{
    bool wake = false;
    pthread_mutex_lock(&mb->lock);
    if (mb->len == HEALTH_MAILBOX_CAP) {
        mb->dropped++;
    } else {
        struct health_mailbox_item *it = &mb->items[(mb->head + mb->len) % HEALTH_MAILBOX_CAP];
        it->counter = c;
        it->outcome = o;
        wake = mb->len++ == 0;
    }
    pthread_mutex_unlock(&mb->lock);
    if (wake)
        ev_async_send(mb->loop, &mb->async);
}

size_t health_mailbox_take(struct health_mailbox *mb, struct health_mailbox_item *out,
                           size_t cap, uint64_t *dropped)
{
    size_t n = 0;
    pthread_mutex_lock(&mb->lock);
    while (n < cap && mb->len > 0) {
        out[n++] = mb->items[mb->head];
        mb->head = (mb->head + 1) % HEALTH_MAILBOX_CAP;
        mb->len--;
    }
    if (dropped != NULL)
        *dropped = mb->dropped;
    pthread_mutex_unlock(&mb->lock);
    return n;
}
