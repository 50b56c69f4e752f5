/*
 * poll_batch: see poll_batch.h.
 */
#include "config.h"

#include "net/poll_batch.h"

void poll_batch_sample(struct poll_batch *b, double response_s)
{
    if (response_s < 0)
        response_s = 0;
    if (b->response_s <= 0)
        b->response_s = response_s; /* the first sample, whole */
    else
        b->response_s += (response_s - b->response_s) / 8.0;
}

double poll_batch_wait(const struct poll_batch *b, double cap_s)
{
    double wait;
    if (cap_s <= 0 || b->inflight < POLL_BATCH_MIN_INFLIGHT)
        return 0.0;
    wait = b->response_s / POLL_BATCH_RESPONSE_SHARE;
    return wait < cap_s ? wait : cap_s;
}
