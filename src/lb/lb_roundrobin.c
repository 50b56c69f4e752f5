/*
 * lb_roundrobin: smooth weighted round robin from a precomputed period.
 *
 * The period is exactly the sequence of nginx's smooth weighted round robin
 * (ngx_http_upstream_get_peer: every step, each server's current weight grows by
 * its weight, the largest current weight wins, ties to the lowest index, and the
 * winner's current weight drops by the total): for weights 5, 1, 1 it is
 * a a b a c a a. In one period of W = sum(w / g) picks each server appears
 * exactly w / g times, spread out rather than in runs.
 *
 * nginx scans every server per step, O(n W) per period. At step t a server's
 * current weight is t * w - W * c (c: its picks so far), so among servers of equal
 * weight the one with fewer picks, then the lower index, is ahead: they take
 * their turns in index order. The build therefore keeps one cursor per distinct
 * weight and scans only those: O(G W) for G distinct weights, O(n) when all
 * weights are equal.
 */
#include <stdlib.h>
#include <string.h>

#include "lb/lb_internal.h"
#include "lb/lb_roundrobin.h"

/* The servers of one reduced weight, in index order, and whose turn is next. */
struct group {
    uint32_t w;
    uint32_t first; /* into the members array */
    uint32_t size;
    uint32_t next;  /* member whose turn it is */
    uint64_t round; /* picks of every member before `next` is c + 1, others c */
};

struct member {
    uint32_t w;
    uint32_t pos; /* position in the active set, which is in index order */
};

static int member_cmp(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    if (x->w != y->w)
        return x->w < y->w ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

int lb_rr_init(struct lb_rr *rr, const uint32_t *idx, const uint32_t *weight,
               uint32_t count, char *err, size_t errlen)
{
    struct member *mem = NULL;
    struct group *grp = NULL;
    uint64_t period = 0, t;
    uint32_t g = 0, k, ngroups = 0;

    memset(rr, 0, sizeof(*rr));
    if (count == 0)
        return 0;
    for (k = 0; k < count; k++)
        g = lb_gcd(g, weight[k]);
    for (k = 0; k < count; k++)
        period += weight[k] / g;
    if (period > LB_RR_PERIOD_MAX) {
        lb_err(err, errlen,
               "round robin: the weights divided by their gcd (%u) add up to %llu, "
               "more than %u",
               g, (unsigned long long)period, LB_RR_PERIOD_MAX);
        goto fail;
    }
    mem = malloc(count * sizeof(*mem));
    grp = malloc(count * sizeof(*grp));
    rr->seq = malloc(period * sizeof(*rr->seq));
    if (mem == NULL || grp == NULL || rr->seq == NULL) {
        lb_err(err, errlen, "out of memory");
        goto fail;
    }
    for (k = 0; k < count; k++) {
        mem[k].w = weight[k] / g;
        mem[k].pos = k;
    }
    qsort(mem, count, sizeof(*mem), member_cmp);
    for (k = 0; k < count; k++) {
        if (k == 0 || mem[k].w != mem[k - 1].w) {
            grp[ngroups].w = mem[k].w;
            grp[ngroups].first = k;
            grp[ngroups].size = 0;
            grp[ngroups].next = 0;
            grp[ngroups].round = 0;
            ngroups++;
        }
        grp[ngroups - 1].size++;
    }
    /* Step t (from 1): a group's leader has current weight t * w - W * round;
     * the largest wins, ties to the lower index, as in nginx's scan. Values stay
     * within (-W, W * 2) and W <= 2^20, so int64 is exact. */
    for (t = 1; t <= period; t++) {
        struct group *best = NULL;
        int64_t best_cw = 0;
        uint32_t best_pos = 0;
        for (k = 0; k < ngroups; k++) {
            struct group *gr = &grp[k];
            int64_t cw = (int64_t)(t * gr->w) - (int64_t)(period * gr->round);
            uint32_t pos = mem[gr->first + gr->next].pos;
            if (best == NULL || cw > best_cw || (cw == best_cw && pos < best_pos)) {
                best = gr;
                best_cw = cw;
                best_pos = pos;
            }
        }
        rr->seq[t - 1] = (uint16_t)idx[best_pos];
        if (++best->next == best->size) {
            best->next = 0;
            best->round++;
        }
    }
    rr->len = (uint32_t)period;
    free(mem);
    free(grp);
    return 0;
fail:
    free(mem);
    free(grp);
    lb_rr_fini(rr);
    return -1;
}

void lb_rr_fini(struct lb_rr *rr)
{
    free(rr->seq);
    rr->seq = NULL;
    rr->len = 0;
}

int lb_rr_pick(const struct lb_rr *rr, uint64_t sequence, const uint64_t *exclude)
{
    uint32_t pos, j;

    if (rr->len == 0)
        return -1;
    pos = (uint32_t)(sequence % rr->len);
    if (exclude == NULL)
        return rr->seq[pos];
    for (j = 0; j < rr->len; j++) {
        uint16_t s = rr->seq[pos];
        if (!lb_excluded(exclude, s))
            return s;
        if (++pos == rr->len)
            pos = 0;
    }
    return -1;
}

/* ---- the algorithm: the round-robin table is the common base itself ---- */

static struct lb_result rr_pick(const void *table, const struct lb_pick *in)
{
    const struct lb_base *b = table;
    struct lb_result r = {.server = -1, .fallback = false, .spilled = false};
    r.server = lb_rr_pick(&b->rr, in->sequence, in->exclude);
    return r;
}

const struct lb_ops lb_roundrobin_ops = {
    .name = "roundrobin",
    .build = lb_base_new,
    .pick = rr_pick,
    .destroy = lb_base_free,
};
