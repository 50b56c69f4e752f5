/*
 * lb_random2: two weighted random choices, the less loaded wins (see lb_random2.h).
 */
#include <stdlib.h>

#include "lb/lb_hash.h"
#include "lb/lb_internal.h"
#include "lb/lb_random2.h"

struct r2_table {
    struct lb_base base;
    uint64_t *cum; /* cum[k] = weight[0] + ... + weight[k], owned */
};

static void r2_destroy(void *table)
{
    struct r2_table *t = table;
    if (t == NULL)
        return;
    lb_base_fini(&t->base);
    free(t->cum);
    free(t);
}

static void *r2_build(const struct lb_server *servers, size_t n,
                      const struct lb_params *params, char *err, size_t errlen)
{
    struct r2_table *t = calloc(1, sizeof(*t));
    uint64_t sum = 0;
    uint32_t k;

    if (t == NULL) {
        lb_err(err, errlen, "out of memory");
        return NULL;
    }
    if (lb_base_init(&t->base, servers, n, params, 0, err, errlen) != 0) {
        free(t);
        return NULL;
    }
    t->cum = malloc((t->base.count > 0 ? t->base.count : 1) * sizeof(*t->cum));
    if (t->cum == NULL) {
        lb_err(err, errlen, "out of memory");
        r2_destroy(t);
        return NULL;
    }
    for (k = 0; k < t->base.count; k++) {
        sum += t->base.weight[k];
        t->cum[k] = sum;
    }
    return t;
}

/* The active position drawn by `r`: the first k with cum[k] > r mod W. The modulo
 * bias is below W / 2^64, negligible for any weight sum a pool can have. */
static uint32_t draw(const struct r2_table *t, uint64_t r)
{
    uint64_t x = r % t->base.weight_sum;
    uint32_t lo = 0, hi = t->base.count - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (t->cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* The first active position from `pos` on whose server is not excluded; -1: none. */
static int next_free(const struct lb_base *b, uint32_t pos, const uint64_t *exclude)
{
    uint32_t k;
    for (k = 0; k < b->count; k++) {
        uint32_t p = (pos + k) % b->count;
        if (!lb_excluded(exclude, b->idx[p]))
            return (int)p;
    }
    return -1;
}

static struct lb_result r2_pick(const void *table, const struct lb_pick *in)
{
    const struct r2_table *t = table;
    const struct lb_base *b = &t->base;
    struct lb_result r = {.server = -1, .fallback = false, .spilled = false};
    int a, c;
    uint64_t la, lc;

    if (b->count == 0)
        return r;
    a = next_free(b, draw(t, in->random), in->exclude);
    if (a < 0)
        return r;
    r.server = (int)b->idx[a];
    if (in->load == NULL)
        return r;
    c = next_free(b, draw(t, lb_hash_mix64(in->random ^ 0x9E3779B97F4A7C15ULL)),
                  in->exclude);
    /* load / weight, compared exactly; ties keep the first draw, so that idle
     * servers (low concurrency) share by weight, as the draws do */
    la = (uint64_t)in->load[b->idx[a]] * b->weight[c];
    lc = (uint64_t)in->load[b->idx[c]] * b->weight[a];
    if (lc < la)
        r.server = (int)b->idx[c];
    return r;
}

const struct lb_ops lb_random2_ops = {
    .name = "random2",
    .build = r2_build,
    .pick = r2_pick,
    .destroy = r2_destroy,
};
