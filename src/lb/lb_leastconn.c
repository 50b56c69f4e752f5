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
    uint64_t best_load = 0, best_w = 0;
    uint32_t start, k;

    if (b->count == 0)
        return r;
    if (in->load == NULL) {
        r.server = lb_rr_pick(&b->rr, in->sequence, in->exclude);
        return r;
    }
    start = (uint32_t)(in->sequence % b->count);
    for (k = 0; k < b->count; k++) {
        uint32_t pos = start + k < b->count ? start + k : start + k - b->count;
        uint32_t s = b->idx[pos];
        uint64_t l = (uint64_t)in->load[s] + 1, w = b->weight[pos];
        if (lb_excluded(in->exclude, s))
            continue;
        /* l / w < best_load / best_w, exactly: both products are below 2^64 */
        if (r.server < 0 || l * best_w < best_load * w) {
            r.server = (int)s;
            best_load = l;
            best_w = w;
        }
    }
    return r;
}

const struct lb_ops lb_leastconn_ops = {
    .name = "leastconn",
    .build = lb_base_new,
    .pick = lc_pick,
    .destroy = lb_base_free,
};
