/*
 * lb_maglev: Maglev lookup table with Envoy-style weights (see lb_maglev.h).
 */
#include <stdlib.h>
#include <string.h>

#include "lb/lb_hash.h"
#include "lb/lb_internal.h"
#include "lb/lb_maglev.h"

/* The two seeds of the preference lists ("maglevof" and "maglevsk" in ASCII). */
#define SEED_OFFSET 0x6d61676c65766f66ULL
#define SEED_SKIP   0x6d61676c6576736bULL
#define EMPTY       0xFFFFu

struct maglev_table {
    struct lb_base base; /* active servers in name order */
    uint32_t m;          /* table size, prime */
    uint16_t *slot;      /* active position owning each slot, owned */
};

struct builder {
    uint32_t next; /* this server's next preferred slot */
    uint32_t skip;
    uint64_t target; /* Envoy's target weight, scaled by w_max */
};

bool lb_maglev_is_prime(uint32_t m)
{
    uint32_t d;
    if (m < 2)
        return false;
    if (m % 2 == 0)
        return m == 2;
    for (d = 3; (uint64_t)d * d <= m; d += 2)
        if (m % d == 0)
            return false;
    return true;
}

static void maglev_destroy(void *table)
{
    struct maglev_table *t = table;
    if (t == NULL)
        return;
    lb_base_fini(&t->base);
    free(t->slot);
    free(t);
}

static void *maglev_build(const struct lb_server *servers, size_t n,
                          const struct lb_params *params, char *err, size_t errlen)
{
    struct maglev_table *t = calloc(1, sizeof(*t));
    struct builder *bl = NULL;
    uint32_t m = LB_MAGLEV_TABLE_SIZE_DEFAULT, k, filled, wmax = 0;
    uint64_t it;

    if (t == NULL) {
        lb_err(err, errlen, "out of memory");
        return NULL;
    }
    if (lb_base_init(&t->base, servers, n, params, LB_BASE_BY_NAME | LB_BASE_KEEP_DOWN,
                     err, errlen) != 0) {
        free(t);
        return NULL;
    }
    if (params != NULL && params->maglev_table_size != 0)
        m = params->maglev_table_size;
    if (m < 3 || m > LB_MAGLEV_TABLE_SIZE_MAX || !lb_maglev_is_prime(m)) {
        lb_err(err, errlen, "maglev_table_size %u: must be a prime in [3, %u]", m,
               LB_MAGLEV_TABLE_SIZE_MAX);
        goto fail;
    }
    if (t->base.count > m) {
        lb_err(err, errlen, "maglev_table_size %u is smaller than the %u servers", m,
               t->base.count);
        goto fail;
    }
    t->m = m;
    t->slot = malloc((size_t)m * sizeof(*t->slot));
    bl = malloc((t->base.count > 0 ? t->base.count : 1) * sizeof(*bl));
    if (t->slot == NULL || bl == NULL) {
        lb_err(err, errlen, "out of memory");
        goto fail;
    }
    memset(t->slot, 0xFF, (size_t)m * sizeof(*t->slot));
    if (t->base.count == 0)
        goto done;
    for (k = 0; k < t->base.count; k++) {
        const char *name = servers[t->base.idx[k]].name;
        size_t len = strlen(name);
        bl[k].next = (uint32_t)(lb_hash_seeded(name, len, SEED_OFFSET) % m);
        bl[k].skip = (uint32_t)(lb_hash_seeded(name, len, SEED_SKIP) % (m - 1)) + 1;
        bl[k].target = 0;
        if (t->base.weight[k] > wmax)
            wmax = t->base.weight[k];
    }
    /* Population (paper, Pseudocode 1), a turn skipped while the server is ahead
     * of its weight: in round `it` it plays when it * w >= target, then target
     * grows by w_max (Envoy's MaglevTable, with weights normalised by w_max). */
    filled = 0;
    for (it = 0; filled < m; it++) {
        for (k = 0; k < t->base.count && filled < m; k++) {
            struct builder *e = &bl[k];
            uint32_t c;
            if (it * t->base.weight[k] < e->target)
                continue;
            e->target += wmax;
            c = e->next;
            while (t->slot[c] != EMPTY) {
                c += e->skip;
                if (c >= m)
                    c -= m;
            }
            t->slot[c] = (uint16_t)k;
            c += e->skip;
            if (c >= m)
                c -= m;
            e->next = c;
            filled++;
        }
    }
done:
    free(bl);
    return t;
fail:
    free(bl);
    maglev_destroy(t);
    return NULL;
}

static struct lb_result maglev_pick(const void *table, const struct lb_pick *in)
{
    const struct maglev_table *t = table;
    const struct lb_base *b = &t->base;
    struct lb_result r = {.server = -1, .fallback = false, .spilled = false};
    struct lb_bound bd;
    uint32_t c, j;
    int first = -1;

    if (b->up_count == 0)
        return r;
    if (!in->has_key) {
        r.fallback = true;
        r.server = lb_rr_pick(&b->rr, in->sequence, in->exclude);
        return r;
    }
    c = (uint32_t)(in->key_hash % t->m);
    lb_bound_init(&bd, b, in);
    if (!bd.on && in->exclude == NULL && b->up[t->slot[c]]) {
        r.server = (int)b->idx[t->slot[c]];
        return r;
    }
    /* Down servers keep their slots; their keys walk on to the next slot whose
     * server is up, the same walk as retries and spills. */
    for (j = 0; j < t->m; j++) {
        uint32_t pos = t->slot[c];
        uint32_t s = b->idx[pos];
        if (b->up[pos] && !lb_excluded(in->exclude, s)) {
            if (first < 0)
                first = (int)pos;
            if (lb_bound_ok(&bd, s, b->weight[pos])) {
                r.server = (int)s;
                r.spilled = (uint32_t)first != pos;
                return r;
            }
        }
        if (++c == t->m)
            c = 0;
    }
    if (first < 0)
        return r; /* every server is excluded */
    r.server = lb_base_sweep(b, (uint32_t)first, in, &bd);
    r.spilled = r.server != (int)b->idx[first];
    return r;
}

const struct lb_ops lb_maglev_ops = {
    .name = "maglev",
    .build = maglev_build,
    .pick = maglev_pick,
    .destroy = maglev_destroy,
};
