/*
 * lb_ring: consistent hash ring (see lb_ring.h).
 */
#include <stdlib.h>
#include <string.h>

#include "lb/lb_hash.h"
#include "lb/lb_internal.h"
#include "lb/lb_ring.h"

struct ring_table {
    struct lb_base base; /* active servers in name order */
    uint32_t npoints;
    uint64_t *hash;      /* sorted point positions, owned */
    uint16_t *owner;     /* active position owning each point, owned */
    unsigned bits;       /* prefix bits of the bucket index */
    uint32_t *bucket;    /* bucket[p] = first point whose top bits are >= p */
};

struct point {
    uint64_t hash;
    uint32_t owner;
};

static int point_cmp(const void *a, const void *b)
{
    const struct point *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    /* a 64-bit collision: the server first in name order comes first */
    return x->owner < y->owner ? -1 : x->owner > y->owner;
}

static void ring_destroy(void *table)
{
    struct ring_table *t = table;
    if (t == NULL)
        return;
    lb_base_fini(&t->base);
    free(t->hash);
    free(t->owner);
    free(t->bucket);
    free(t);
}

static void *ring_build(const struct lb_server *servers, size_t n,
                        const struct lb_params *params, char *err, size_t errlen)
{
    struct ring_table *t = calloc(1, sizeof(*t));
    struct point *pts = NULL;
    uint64_t per_weight = LB_RING_POINTS_DEFAULT, total = 0;
    uint32_t k, r, i, p;

    if (t == NULL) {
        lb_err(err, errlen, "out of memory");
        return NULL;
    }
    if (lb_base_init(&t->base, servers, n, params, true, err, errlen) != 0) {
        free(t);
        return NULL;
    }
    if (params != NULL && params->ring_points != 0)
        per_weight = params->ring_points;
    for (k = 0; k < t->base.count; k++)
        total += per_weight * t->base.weight[k];
    if (total > LB_RING_POINTS_TOTAL_MAX) {
        lb_err(err, errlen,
               "ring: %llu points (ring_points %llu x total weight %llu), at most %u",
               (unsigned long long)total, (unsigned long long)per_weight,
               (unsigned long long)t->base.weight_sum, LB_RING_POINTS_TOTAL_MAX);
        goto fail;
    }
    t->npoints = (uint32_t)total;
    for (t->bits = 1; t->bits < 24 && (2ull << t->bits) <= total; t->bits++)
        ;
    pts = malloc((total > 0 ? total : 1) * sizeof(*pts));
    t->hash = malloc((total > 0 ? total : 1) * sizeof(*t->hash));
    t->owner = malloc((total > 0 ? total : 1) * sizeof(*t->owner));
    t->bucket = malloc(((1ull << t->bits) + 1) * sizeof(*t->bucket));
    if (pts == NULL || t->hash == NULL || t->owner == NULL || t->bucket == NULL) {
        lb_err(err, errlen, "out of memory");
        goto fail;
    }
    i = 0;
    for (k = 0; k < t->base.count; k++) {
        const char *name = servers[t->base.idx[k]].name;
        size_t len = strlen(name);
        uint64_t pk = per_weight * t->base.weight[k];
        for (r = 0; r < pk; r++) {
            pts[i].hash = lb_hash_seeded(name, len, r);
            pts[i].owner = k;
            i++;
        }
    }
    qsort(pts, t->npoints, sizeof(*pts), point_cmp);
    for (i = 0; i < t->npoints; i++) {
        t->hash[i] = pts[i].hash;
        t->owner[i] = (uint16_t)pts[i].owner;
    }
    for (p = 0, i = 0; p <= (1u << t->bits); p++) {
        while (i < t->npoints && (t->hash[i] >> (64 - t->bits)) < p)
            i++;
        t->bucket[p] = i;
    }
    free(pts);
    return t;
fail:
    free(pts);
    ring_destroy(t);
    return NULL;
}

/* The first point at or after `key`, wrapping to point 0. npoints > 0. */
static uint32_t ring_find(const struct ring_table *t, uint64_t key)
{
    uint64_t b = key >> (64 - t->bits);
    uint32_t lo = t->bucket[b], hi = t->bucket[b + 1];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (t->hash[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == t->npoints ? 0 : lo;
}

static struct lb_result ring_pick(const void *table, const struct lb_pick *in)
{
    const struct ring_table *t = table;
    const struct lb_base *b = &t->base;
    struct lb_result r = {.server = -1, .fallback = false, .spilled = false};
    struct lb_bound bd;
    uint32_t p, j;
    int first = -1;

    if (b->count == 0)
        return r;
    if (!in->has_key) {
        r.fallback = true;
        r.server = lb_rr_pick(&b->rr, in->sequence, in->exclude);
        return r;
    }
    p = ring_find(t, in->key_hash);
    lb_bound_init(&bd, b, in);
    if (!bd.on && in->exclude == NULL) {
        r.server = (int)b->idx[t->owner[p]];
        return r;
    }
    for (j = 0; j < t->npoints; j++) {
        uint32_t pos = t->owner[p];
        uint32_t s = b->idx[pos];
        if (!lb_excluded(in->exclude, s)) {
            if (first < 0)
                first = (int)pos;
            if (lb_bound_ok(&bd, s, b->weight[pos])) {
                r.server = (int)s;
                r.spilled = (uint32_t)first != pos;
                return r;
            }
        }
        if (++p == t->npoints)
            p = 0;
    }
    if (first < 0)
        return r; /* every server is excluded */
    r.server = lb_base_sweep(b, (uint32_t)first, in, &bd);
    r.spilled = r.server != (int)b->idx[first];
    return r;
}

const struct lb_ops lb_ring_ops = {
    .name = "ring",
    .build = ring_build,
    .pick = ring_pick,
    .destroy = ring_destroy,
};
