/*
 * lb_leastconn: fewest in-flight requests relative to weight (see lb_leastconn.h).
 */
#include <stdlib.h>

#include "lb/lb_internal.h"
#include "lb/lb_leastconn.h"

static struct lb_result lc_pick(const void *table, const struct lb_pick *in)
{
    const struct lb_base *b = table;
    struct lb_result r = {.server = -1, .fallback = false, .spilled = false};
    uint64_t best_load = 0, best_w = 0, rr_load = 0, rr_w = 0;
    uint32_t start, k;
    int rr;

    if (b->count == 0)
        return r;
    if (in->load == NULL) {
        r.server = lb_rr_pick(&b->rr, in->sequence, in->exclude);
        return r;
    }
    /* the weighted round robin's choice, kept when it is among the least loaded */
    rr = lb_rr_pick(&b->rr, in->sequence, in->exclude);
    if (rr < 0)
        return r;
    start = (uint32_t)(in->sequence % b->count);
    for (k = 0; k < b->count; k++) {
        uint32_t pos = start + k < b->count ? start + k : start + k - b->count;
        uint32_t s = b->idx[pos];
        uint64_t l = in->load[s], w = b->weight[pos];
        if (lb_excluded(in->exclude, s))
            continue;
        if (s == (uint32_t)rr) {
            rr_load = l;
            rr_w = w;
        }
        /* l / w < best_load / best_w, exactly: both products are below 2^64 */
        if (r.server < 0 || l * best_w < best_load * w) {
            r.server = (int)s;
            best_load = l;
            best_w = w;
        }
    }
    if (rr_w > 0 && rr_load * best_w == best_load * rr_w)
        r.server = rr;
    return r;
}

const struct lb_ops lb_leastconn_ops = {
    .name = "leastconn",
    .build = lb_base_new,
    .pick = lc_pick,
    .destroy = lb_base_free,
};
