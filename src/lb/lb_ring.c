/*
 * lb_ring: consistent hash ring (see lb_ring.h).
 */
#include <stdlib.h>
#include <string.h>

#include "lb/lb_hash.h"
#include "lb/lb_internal.h"
#include "lb/lb_ring.h"

/* A point and its owner side by side, in 8 bytes: a lookup touches one cache
 * line of a ring half the size of one with 64-bit positions. Positions keep the
 * top 32 bits of the point hash; a key goes to the first point whose position
 * is >= the top 32 bits of its hash. */
struct ring_point {
    uint32_t hash;
    uint32_t owner; /* active position */
};

struct ring_table {
    struct lb_base base; /* active servers in name order */
    uint32_t npoints;
    struct ring_point *pt; /* sorted by hash, owned */
    unsigned bits;         /* prefix bits of the bucket index */
    uint32_t *bucket;      /* bucket[p] = first point whose top bits are >= p */
};

/* Insertion sort of pt[lo, hi) by (hash, owner): a bucket holds about four
 * points on average. A 64-bit collision puts the server
 * first in name order first. */
static void bucket_sort(struct ring_point *pt, uint32_t lo, uint32_t hi)
{
    for (uint32_t i = lo + 1; i < hi; i++) {
        struct ring_point x = pt[i];
        uint32_t j = i;
        while (j > lo && (pt[j - 1].hash > x.hash ||
                          (pt[j - 1].hash == x.hash && pt[j - 1].owner > x.owner))) {
            pt[j] = pt[j - 1];
            j--;
        }
        pt[j] = x;
    }
}

static void ring_destroy(void *table)
{
    struct ring_table *t = table;
    if (t == NULL)
        return;
    lb_base_fini(&t->base);
    free(t->pt);
    free(t->bucket);
    free(t);
}

static void *ring_build(const struct lb_server *servers, size_t n,
                        const struct lb_params *params, char *err, size_t errlen)
{
    struct ring_table *t = calloc(1, sizeof(*t));
    uint64_t *pts = NULL;
    uint64_t per_weight = LB_RING_POINTS_DEFAULT, total = 0;
    uint32_t k, r, i, p;

    if (t == NULL) {
        lb_err(err, errlen, "out of memory");
        return NULL;
    }
    if (lb_base_init(&t->base, servers, n, params, LB_BASE_BY_NAME, err, errlen) != 0) {
        free(t);
        return NULL;
    }
    if (params != NULL && params->ring_points != 0)
        per_weight = params->ring_points;
    for (k = 0; k < t->base.count && total <= LB_RING_POINTS_TOTAL_MAX; k++)
        total += per_weight * t->base.weight[k]; /* each term < 2^64: no wrap */
    if (total > LB_RING_POINTS_TOTAL_MAX) {
        lb_err(err, errlen,
               "ring: ring_points %llu x total weight %llu is more than %u points",
               (unsigned long long)per_weight, (unsigned long long)t->base.weight_sum,
               LB_RING_POINTS_TOTAL_MAX);
        goto fail;
    }
    t->npoints = (uint32_t)total;
    /* about four points per bucket: 2^(bits + 2) <= total < 2^(bits + 3) */
    for (t->bits = 1; t->bits < 22 && (8ull << t->bits) <= total; t->bits++)
        ;
    pts = malloc((total > 0 ? total : 1) * sizeof(*pts));
    t->pt = malloc((total > 0 ? total : 1) * sizeof(*t->pt));
    t->bucket = calloc((1ull << t->bits) + 1, sizeof(*t->bucket));
    if (pts == NULL || t->pt == NULL || t->bucket == NULL) {
        lb_err(err, errlen, "out of memory");
        goto fail;
    }
    /* Points, then a counting sort on the top `bits` bits, which also gives the
     * bucket index, then the (tiny) buckets sorted in place: O(points). */
    i = 0;
    for (k = 0; k < t->base.count; k++) {
        const char *name = servers[t->base.idx[k]].name;
        size_t len = strlen(name);
        uint64_t pk = per_weight * t->base.weight[k];
        for (r = 0; r < pk; r++) {
            pts[i] = lb_hash_seeded(name, len, r);
            t->bucket[(pts[i] >> (64 - t->bits)) + 1]++;
            i++;
        }
    }
    for (p = 1; p <= (1u << t->bits); p++)
        t->bucket[p] += t->bucket[p - 1];
    i = 0;
    for (k = 0; k < t->base.count; k++) {
        uint64_t pk = per_weight * t->base.weight[k];
        for (r = 0; r < pk; r++, i++) {
            /* bucket[b] is the next free place in bucket b... */
            uint32_t *at = &t->bucket[pts[i] >> (64 - t->bits)];
            t->pt[*at].hash = (uint32_t)(pts[i] >> 32);
            t->pt[*at].owner = k;
            (*at)++;
        }
    }
    /* ...and ends as the end of bucket b, the start of b + 1: shift by one. */
    for (p = 1u << t->bits; p > 0; p--)
        t->bucket[p] = t->bucket[p - 1];
    t->bucket[0] = 0;
    for (p = 0; p < (1u << t->bits); p++)
        bucket_sort(t->pt, t->bucket[p], t->bucket[p + 1]);
    free(pts);
    return t;
fail:
    free(pts);
    ring_destroy(t);
    return NULL;
}

/* The first point at or after `key`, wrapping to point 0. npoints > 0. */
static uint32_t ring_find(const struct ring_table *t, uint64_t key_hash)
{
    uint32_t key = (uint32_t)(key_hash >> 32);
    uint32_t b = key >> (32 - t->bits);
    uint32_t lo = t->bucket[b], hi = t->bucket[b + 1];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (t->pt[mid].hash < key)
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
        r.server = (int)b->idx[t->pt[p].owner];
        return r;
    }
    for (j = 0; j < t->npoints; j++) {
        uint32_t pos = t->pt[p].owner;
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
