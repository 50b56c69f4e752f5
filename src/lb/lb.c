/*
 * lb: the registry of algorithms and what their tables share (the active server
 * set, bounded loads, the last-resort sweep). Pure: no I/O, no clock, no seed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb/lb.h"
#include "lb/lb_internal.h"
#include "lb/lb_leastconn.h"
#include "lb/lb_maglev.h"
#include "lb/lb_random2.h"
#include "lb/lb_ring.h"
#include "lb/lb_roundrobin.h"

const struct lb_ops *lb_ops_get(enum lb_algo algo)
{
    switch (algo) {
    case LB_ROUNDROBIN:
        return &lb_roundrobin_ops;
    case LB_LEASTCONN:
        return &lb_leastconn_ops;
    case LB_RANDOM2:
        return &lb_random2_ops;
    case LB_RING:
        return &lb_ring_ops;
    case LB_MAGLEV:
        return &lb_maglev_ops;
    case LB_ALGO_COUNT:
        break;
    }
    return NULL;
}

void lb_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* qsort has no context argument: sort (name, index) pairs instead. */
struct named {
    const char *name;
    uint32_t idx;
};

static int named_cmp(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    return strcmp(x->name, y->name);
}

int lb_base_init(struct lb_base *b, const struct lb_server *servers, size_t n,
                 const struct lb_params *params, unsigned flags, char *err, size_t errlen)
{
    struct named *sorted = NULL;
    uint32_t *up_idx = NULL, *up_weight = NULL;
    bool any_primary = false, keep_down = (flags & LB_BASE_KEEP_DOWN) != 0;
    uint32_t i, k, u;

    memset(b, 0, sizeof(*b));
    if (n > LB_SERVERS_MAX) {
        lb_err(err, errlen, "%zu servers: at most %u per pool", n, LB_SERVERS_MAX);
        goto fail;
    }
    if (n > 0 && servers == NULL) {
        lb_err(err, errlen, "no server array");
        goto fail;
    }
    if (params != NULL) {
        double f = params->balance_factor;
        if (!(f == 0.0 || (f >= 1.0 && f <= 1000.0))) {
            lb_err(err, errlen, "balance_factor %g: must be 0 (off) or in [1, 1000]", f);
            goto fail;
        }
        b->factor = f;
    }
    b->n = (uint32_t)n;
    for (i = 0; i < n; i++) {
        if (servers[i].name == NULL) {
            lb_err(err, errlen, "server %u has no name", i);
            goto fail;
        }
        if (servers[i].usable && servers[i].weight > 0 && !servers[i].backup)
            any_primary = true;
    }
    b->idx = calloc(n > 0 ? n : 1, sizeof(*b->idx));
    b->weight = calloc(n > 0 ? n : 1, sizeof(*b->weight));
    b->up = calloc(n > 0 ? n : 1, sizeof(*b->up));
    up_idx = calloc(n > 0 ? n : 1, sizeof(*up_idx));
    up_weight = calloc(n > 0 ? n : 1, sizeof(*up_weight));
    if (b->idx == NULL || b->weight == NULL || b->up == NULL || up_idx == NULL ||
        up_weight == NULL) {
        lb_err(err, errlen, "out of memory");
        goto fail;
    }
    for (i = 0; i < n; i++) {
        const struct lb_server *s = &servers[i];
        if ((s->usable || keep_down) && s->weight > 0 && s->backup != any_primary)
            b->idx[b->count++] = i;
    }
    if ((flags & LB_BASE_BY_NAME) && b->count > 0) {
        sorted = malloc(b->count * sizeof(*sorted));
        if (sorted == NULL) {
            lb_err(err, errlen, "out of memory");
            goto fail;
        }
        for (k = 0; k < b->count; k++) {
            sorted[k].name = servers[b->idx[k]].name;
            sorted[k].idx = b->idx[k];
        }
        qsort(sorted, b->count, sizeof(*sorted), named_cmp);
        for (k = 0; k < b->count; k++) {
            if (k > 0 && strcmp(sorted[k - 1].name, sorted[k].name) == 0) {
                lb_err(err, errlen, "two servers are named '%s'", sorted[k].name);
                goto fail;
            }
            b->idx[k] = sorted[k].idx;
        }
    }
    for (k = 0, u = 0; k < b->count; k++) {
        b->weight[k] = servers[b->idx[k]].weight;
        b->up[k] = servers[b->idx[k]].usable;
        if (b->up[k]) {
            b->weight_sum += b->weight[k];
            up_idx[u] = b->idx[k];
            up_weight[u] = b->weight[k];
            u++;
        }
    }
    b->up_count = u;
    if (lb_rr_init(&b->rr, up_idx, up_weight, u, err, errlen) != 0)
        goto fail;
    free(sorted);
    free(up_idx);
    free(up_weight);
    return 0;
fail:
    free(sorted);
    free(up_idx);
    free(up_weight);
    lb_base_fini(b);
    return -1;
}

void lb_base_fini(struct lb_base *b)
{
    lb_rr_fini(&b->rr);
    free(b->idx);
    free(b->weight);
    free(b->up);
    b->idx = NULL;
    b->weight = NULL;
    b->up = NULL;
    b->count = 0;
    b->up_count = 0;
}

void lb_bound_init(struct lb_bound *bd, const struct lb_base *b, const struct lb_pick *in)
{
    uint64_t total = in->load_total;
    uint32_t k;

    bd->on = b->factor > 0.0 && in->load != NULL && b->up_count > 0;
    bd->load = in->load;
    bd->scale = 0.0;
    if (!bd->on)
        return;
    if (total == 0)
        for (k = 0; k < b->count; k++)
            if (b->up[k])
                total += in->load[b->idx[k]];
    bd->scale = b->factor * ((double)total + 1.0) / (double)b->weight_sum;
}

int lb_base_sweep(const struct lb_base *b, uint32_t start, const struct lb_pick *in,
                  const struct lb_bound *bd)
{
    int first_free = -1;
    uint32_t k, pos;

    for (k = 0; k < b->count; k++) {
        pos = (start + k) % b->count;
        if (!b->up[pos] || lb_excluded(in->exclude, b->idx[pos]))
            continue;
        if (lb_bound_ok(bd, b->idx[pos], b->weight[pos]))
            return (int)b->idx[pos];
        if (first_free < 0)
            first_free = (int)b->idx[pos];
    }
    return first_free;
}

void *lb_base_new(const struct lb_server *servers, size_t n,
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

void lb_base_free(void *table)
{
    struct lb_base *b = table;
    if (b == NULL)
        return;
    lb_base_fini(b);
    free(b);
}

uint32_t lb_gcd(uint32_t a, uint32_t b)
{
    while (b != 0) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}
