/*
 * lb_leastconn: fewest in-flight requests relative to weight (see lb_leastconn.h).
 */
#include <stdlib.h>

#include "lb/lb_internal.h"
#include "lb/lb_leastconn.h"

static void *lc_build(const struct lb_server *servers, size_t n,
                      const struct lb_params *params, char *err, size_t errlen)
{
    struct lb_base *b = malloc(sizeof(*b));
    if (b == NULL) {
        lb_err(err, errlen, "out of memory");
        return NULL;
    }
    if (lb_base_init(b, servers, n, params, 0, err, errlen) != 0) {
        free(b);
        return NULL;
    }
    return b;
}

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

static void lc_destroy(void *table)
{
    struct lb_base *b = table;
    if (b == NULL)
        return;
    lb_base_fini(b);
    free(b);
}

const struct lb_ops lb_leastconn_ops = {
    .name = "leastconn",
    .build = lc_build,
    .pick = lc_pick,
    .destroy = lc_destroy,
};
