/*
 * conn_ramp: see conn_ramp.h.
 */
#include "config.h"

#include "net/conn_ramp.h"

#define EWMA_SHARE 8.0 /* moving averages: each sample counts for 1/8 */
#define EWMA_RISE  2.0 /* answer_s: a slower sample counts for 1/2 */

static void ewma(double *avg, double sample, double rise_share)
{
    if (sample < 0)
        sample = 0;
    if (*avg <= 0)
        *avg = sample; /* the first sample, whole */
    else
        *avg += (sample - *avg) / (sample > *avg ? rise_share : EWMA_SHARE);
}

void conn_ramp_put(struct conn_ramp *r, double now)
{
    r->close_share -= r->close_share / EWMA_SHARE;
    if (r->last_put > 0)
        ewma(&r->put_gap_s, now - r->last_put, EWMA_SHARE);
    r->last_put = now;
}

bool conn_ramp_closed(struct conn_ramp *r)
{
    bool was = r->close_share > CONN_RAMP_CLOSE_SHARE;
    r->close_share += (1.0 - r->close_share) / EWMA_SHARE;
    return !was && r->close_share > CONN_RAMP_CLOSE_SHARE;
}

void conn_ramp_answered(struct conn_ramp *r, double took_s)
{
    ewma(&r->answer_s, took_s, EWMA_RISE);
}

bool conn_ramp_may_open(const struct conn_ramp *r)
{
    if (r->close_share > CONN_RAMP_CLOSE_SHARE)
        return true; /* none comes back idle: nothing to wait for */
    if (r->opening >= CONN_RAMP_OPENING_MAX)
        return false;
    if (r->answer_s <= 0 || r->put_gap_s <= 0)
        return true; /* nothing to compare yet */
    return (double)(r->waiting + 1u) * r->put_gap_s >= r->answer_s;
}

bool conn_ramp_may_force(const struct conn_ramp *r, double response_s, double now)
{
    if (r->opening < CONN_RAMP_OPENING_MAX || r->answer_s <= 0 || !(response_s > 0))
        return true;
    if (r->last_put <= 0 || now - r->last_put >= CONN_RAMP_WAIT_MAX_S)
        return true; /* nothing comes back idle: only a new connection helps */
    return r->answer_s <= response_s * CONN_RAMP_FORCE_SHARE;
}

double conn_ramp_wait_s(double response_s)
{
    double wait = response_s * CONN_RAMP_WAIT_SHARE;
    if (!(response_s > 0)) /* also NaN */
        return CONN_RAMP_WAIT_MAX_S;
    if (!(wait >= CONN_RAMP_WAIT_MIN_S)) /* also NaN */
        return CONN_RAMP_WAIT_MIN_S;
    return wait < CONN_RAMP_WAIT_MAX_S ? wait : CONN_RAMP_WAIT_MAX_S;
}
