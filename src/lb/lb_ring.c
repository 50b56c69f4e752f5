/*
 * lb_ring: consistent hash ring (see lb_ring.h for the placement rule).
 *
 * Must not: do I/O, read a clock, use a per-process seed, or allocate in pick.
 */
#include <stdlib.h>
#include <string.h>

#include "lb/lb_internal.h"
#include "lb/lb_ring.h"

/* The ring is cut into 2^RING_M strata (equal slices, by the top RING_M bits of
 * a position); a server with fewer than 2^RING_M points uses fewer, coarser
 * strata: see point_pos(). Part of the placement rule. */
#define RING_M 10
/* wyrand's constants (Wang Yi, wyhash): the increment of the counter and the
 * mask of the multiplier. */
#define RING_WY_ADD 0xA0761D6478BD642Full
#define RING_WY_XOR 0xE7037ED1A0B428DBull
/* The bucket index has 2^bits buckets, bits in [16, 21], about four to eight
 * points per bucket. At least 16, so that the points of one bucket share their
 * top 16 bits and a point needs to keep only its low 16. */
#define RING_BITS_MIN 16
#define RING_BITS_MAX 21
#define RING_NONE     UINT32_MAX

/*
 * The points are grouped by bucket (the top `bits` bits of their position),
 * each bucket in no particular order: the build only groups, which is O(points)
 * without a comparison sort, and a lookup compares the few points of one
 * bucket without branching. A point is one word:
 *     (position & 0xFFFF) << 16 | owner
 * owner being the server's place in name order (< LB_SERVERS_MAX = 65535, so
 * a word is never RING_NONE). Within a bucket, comparing words compares
 * (position, owner): the ring order.
 */
struct ring_table {
    struct lb_base base; /* active servers in name order */
    uint32_t npoints;
    unsigned bits;
    uint32_t *pt;     /* npoints words, grouped by bucket, owned */
    uint32_t *bucket; /* 2^bits + 1: bucket[b] = index in pt of bucket b's
                         first point; bucket[2^bits] = npoints. In pt's block */
};

/* The top 32 bits of wyrand's output for counter value z: the 128-bit product
 * z * (z ^ RING_WY_XOR), its two halves xor-ed. One multiplication per point;
 * wyrand passes BigCrush and PractRand. */
#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 ring_u128;
#endif

static inline uint32_t wy_top32(uint64_t z)
{
    uint64_t y = z ^ RING_WY_XOR, hi, lo;
#ifdef __SIZEOF_INT128__
    ring_u128 p = (ring_u128)z * y;
    hi = (uint64_t)(p >> 64);
    lo = (uint64_t)p;
#else
    uint64_t zl = z & 0xFFFFFFFFu, zh = z >> 32, yl = y & 0xFFFFFFFFu, yh = y >> 32;
    uint64_t ll = zl * yl, lh = zl * yh, hl = zh * yl, hh = zh * yh;
    uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
    lo = z * y;
    hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
    return (uint32_t)((hi ^ lo) >> 32);
}

/* The low nbits (<= 32) bits of x in reverse order. */
static uint32_t bitrev(uint32_t x, unsigned nbits)
{
    x = (x >> 1 & 0x55555555u) | (x & 0x55555555u) << 1;
    x = (x >> 2 & 0x33333333u) | (x & 0x33333333u) << 2;
    x = (x >> 4 & 0x0F0F0F0Fu) | (x & 0x0F0F0F0Fu) << 4;
    x = (x >> 8 & 0x00FF00FFu) | (x & 0x00FF00FFu) << 8;
    x = x >> 16 | x << 16;
    return nbits == 0 ? 0 : x >> (32 - nbits);
}

/* log2 of the number of strata of a server with pk >= 1 points: that of the
 * largest power of two <= pk, at most RING_M. So the server has a point in
 * each of its strata, and no slice of the ring is left empty. */
static unsigned strata_bits(uint64_t pk)
{
    unsigned m = 0;
    while (m < RING_M && (2ull << m) <= pk)
        m++;
    return m;
}

/* The position of point r of a server whose name hashes to h, with 2^m
 * strata: in stratum bitrev_m(r mod 2^m), at the offset given by the top bits
 * of wyrand's output for counter h + (r + 1) * RING_WY_ADD. */
static uint32_t point_pos(uint64_t h, uint64_t r, unsigned m)
{
    uint32_t x = wy_top32(h + (r + 1) * RING_WY_ADD);
    if (m == 0)
        return x;
    return bitrev((uint32_t)r & ((1u << m) - 1), m) << (32 - m) | x >> m;
}

static void ring_destroy(void *table)
{
    struct ring_table *t = table;
    if (t == NULL)
        return;
    lb_base_fini(&t->base);
    free(t->pt); /* and the bucket index, in the same block */
    free(t);
}

/*
 * Fills t->pt and t->bucket, one stratum of 2^RING_M at a time. The points of
 * stratum s from the servers with at least 2^RING_M points (`full`, nf of them)
 * are their points r with r mod 2^RING_M = bitrev(s): generated right here,
 * without looking at the others. The few points of the other servers come
 * sorted by stratum in `few` (position << 32 | owner, fewat[s] .. fewat[s + 1]).
 * Each stratum's points go into tmp with a count per bucket, then are scattered
 * into their buckets at the end of pt. O(points), no sort, and the work of one
 * stratum stays in cache (1,250 points at N = 1,000 with the default points).
 * cnt: room for the 2^(bits - RING_M) buckets of a stratum; fh: for nf hashes.
 */
static void ring_fill(struct ring_table *t, const uint64_t *h, const uint64_t *pk,
                      const uint32_t *full, uint32_t nf, uint64_t *fh,
                      const uint64_t *few, const uint32_t *fewat, uint64_t *tmp,
                      uint32_t *cnt)
{
    const unsigned sub_shift = 32 - (t->bits - RING_M), shift = 32 - t->bits;
    const uint32_t nsub = 1u << (t->bits - RING_M);
    const uint64_t ahead = ((uint64_t)t->npoints >> RING_M) + 64;
    uint64_t pk_min = UINT64_MAX, pk_max = 0;
    uint32_t at = 0, s, f, i;

    for (f = 0; f < nf; f++) {
        fh[f] = h[full[f]]; /* side by side for the loop below */
        pk_min = pk[full[f]] < pk_min ? pk[full[f]] : pk_min;
        pk_max = pk[full[f]] > pk_max ? pk[full[f]] : pk_max;
    }
/* Point r of server k = full[f], whose counter is h[k] + add: the top 32 bits
 * x of wyrand's output give the position below the stratum's bits (x >> RING_M)
 * and, by their top bits, its bucket within the stratum. */
#define RING_EMIT()                                                                      \
    do {                                                                                 \
        uint32_t k = full[f], x = wy_top32(fh[f] + add), sub = x >> sub_shift;           \
        cnt[sub]++;                                                                      \
        tmp[n++] = (uint64_t)sub << 32 | (x >> RING_M & 0xFFFFu) << 16 | k;              \
    } while (0)
    for (s = 0; s < (1u << RING_M); s++) {
        uint32_t *bk = &t->bucket[(size_t)s * nsub];
        uint32_t n = 0;
        memset(cnt, 0, nsub * sizeof(*cnt));
        /* the stratum's stretch of pt, about npoints / 2^RING_M words, is
         * written in random order by the scatter below: fetch it meanwhile */
        for (uint64_t q = at; q < (uint64_t)at + ahead && q < t->npoints; q += 16)
            __builtin_prefetch(&t->pt[q], 1, 3);
        /* layer by layer: point r of every server that has one */
        for (uint64_t r = bitrev(s, RING_M); r < pk_max; r += 1u << RING_M) {
            const uint64_t add = (r + 1) * RING_WY_ADD;
            if (r < pk_min) {
                for (f = 0; f < nf; f++)
                    RING_EMIT();
            } else {
                for (f = 0; f < nf; f++)
                    if (r < pk[full[f]])
                        RING_EMIT();
            }
        }
        for (i = fewat[s]; i < fewat[s + 1]; i++) {
            uint32_t pos = (uint32_t)(few[i] >> 32), sub = (pos >> shift) & (nsub - 1);
            cnt[sub]++;
            tmp[n++] = (uint64_t)sub << 32 | (pos & 0xFFFFu) << 16 | (uint32_t)few[i];
        }
        for (i = 0; i < nsub; i++) {
            uint32_t c = cnt[i];
            bk[i] = cnt[i] = at;
            at += c;
        }
        for (i = 0; i < n; i++)
            t->pt[cnt[tmp[i] >> 32]++] = (uint32_t)tmp[i];
    }
#undef RING_EMIT
    t->bucket[(size_t)1 << t->bits] = at;
}

/* The points of the servers with fewer than 2^RING_M points, sorted by
 * stratum of 2^RING_M into few[] (position << 32 | owner), stratum s being
 * few[fewat[s] .. fewat[s + 1]): a count, then the points generated again
 * into place (they are few: no scratch array). */
static void ring_few(const struct ring_table *t, const uint64_t *h, const uint64_t *pk,
                     uint64_t *few, uint32_t *fewat)
{
    uint32_t k, s;
    memset(fewat, 0, ((1u << RING_M) + 1) * sizeof(*fewat));
    for (k = 0; k < t->base.count; k++) {
        unsigned m = strata_bits(pk[k]);
        for (uint64_t r = 0; m < RING_M && r < pk[k]; r++)
            fewat[(point_pos(h[k], r, m) >> (32 - RING_M)) + 1]++;
    }
    for (s = 1; s <= (1u << RING_M); s++)
        fewat[s] += fewat[s - 1];
    for (k = 0; k < t->base.count; k++) {
        unsigned m = strata_bits(pk[k]);
        for (uint64_t r = 0; m < RING_M && r < pk[k]; r++) {
            uint32_t pos = point_pos(h[k], r, m);
            few[fewat[pos >> (32 - RING_M)]++] = (uint64_t)pos << 32 | k;
        }
    }
    /* fewat[s] is now the end of stratum s, the start of s + 1: shift by one */
    for (s = 1u << RING_M; s > 0; s--)
        fewat[s] = fewat[s - 1];
    fewat[0] = 0;
}

static void *ring_build(const struct lb_server *servers, size_t n,
                        const struct lb_params *params, char *err, size_t errlen)
{
    struct ring_table *t = calloc(1, sizeof(*t));
    uint64_t *h, *pk, *fh, *few, *tmp, *scratch = NULL;
    uint32_t *full, *cnt, *fewat;
    uint64_t per_weight = LB_RING_POINTS_DEFAULT, total = 0, nfew = 0, nfull = 0;
    size_t count, ntmp, nsub, nb;
    uint32_t k, nf = 0;

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
    count = t->base.count;
    for (k = 0; k < count && total <= LB_RING_POINTS_TOTAL_MAX; k++) {
        uint64_t pk_k = per_weight * t->base.weight[k]; /* < 2^64: no wrap */
        total += pk_k;
        if (pk_k >> RING_M != 0)
            nfull += pk_k;
        else
            nfew += pk_k;
    }
    if (total > LB_RING_POINTS_TOTAL_MAX) {
        lb_err(err, errlen,
               "ring: ring_points %llu x total weight %llu is more than %u points",
               (unsigned long long)per_weight, (unsigned long long)t->base.weight_sum,
               LB_RING_POINTS_TOTAL_MAX);
        goto fail;
    }
    t->npoints = (uint32_t)total;
    for (t->bits = RING_BITS_MIN; t->bits < RING_BITS_MAX && (8ull << t->bits) <= total;
         t->bits++)
        ;
    nb = (size_t)1 << t->bits;
    nsub = nb >> RING_M;
    /* a stratum holds at most ceil(pk / 2^RING_M) points of each full server,
     * and at most all the few */
    ntmp = (size_t)(nfull >> RING_M) + count + (size_t)nfew + 1;
    /* one block for the table (points, then the bucket index), one for the
     * build's scratch arrays: fewer allocations to make and to give back */
    t->pt = malloc((total + 1 + nb + 1) * sizeof(*t->pt));
    scratch = malloc((3 * (count + 1) + nfew + 1 + ntmp) * sizeof(uint64_t) +
                     (count + 1 + nsub + (1u << RING_M) + 1) * sizeof(uint32_t));
    if (t->pt == NULL || scratch == NULL) {
        lb_err(err, errlen, "out of memory");
        goto fail;
    }
    t->bucket = t->pt + total + 1;
    h = scratch;
    pk = h + count + 1;
    fh = pk + count + 1;
    few = fh + count + 1;
    tmp = few + nfew + 1;
    full = (uint32_t *)(tmp + ntmp);
    cnt = full + count + 1;
    fewat = cnt + nsub;
    for (k = 0; k < count; k++) {
        const char *name = servers[t->base.idx[k]].name;
        h[k] = lb_hash(name, strlen(name));
        pk[k] = per_weight * t->base.weight[k];
        if (pk[k] >> RING_M != 0)
            full[nf++] = k;
    }
    ring_few(t, h, pk, few, fewat);
    ring_fill(t, h, pk, full, nf, fh, few, fewat, tmp, cnt);
    free(scratch);
    return t;
fail:
    free(scratch);
    ring_destroy(t);
    return NULL;
}

/* The smallest word >= want in bucket b, or RING_NONE; branch-free but for
 * the loop. */
static inline uint32_t bucket_min(const struct ring_table *t, uint32_t b, uint32_t want)
{
    uint32_t best = RING_NONE, hi = t->bucket[b + 1];
    for (uint32_t i = t->bucket[b]; i < hi; i++) {
        uint32_t w = t->pt[i];
        best = w >= want && w < best ? w : best;
    }
    return best;
}

/* The smallest (word << 32 | index) >= from in bucket b, or UINT64_MAX. */
static uint64_t bucket_first(const struct ring_table *t, uint32_t b, uint64_t from)
{
    uint64_t best = UINT64_MAX;
    for (uint32_t i = t->bucket[b]; i < t->bucket[b + 1]; i++) {
        uint64_t c = (uint64_t)t->pt[i] << 32 | i;
        best = c >= from && c < best ? c : best;
    }
    return best;
}

/* The first point at or after `from` (word << 32 | index) in ring order (by
 * position, then owner, then index), from bucket *b on, wrapping at the top;
 * updates *b. npoints > 0. */
static uint64_t ring_next(const struct ring_table *t, uint32_t *b, uint64_t from)
{
    uint64_t c = bucket_first(t, *b, from);
    while (c == UINT64_MAX) {
        *b = (*b + 1) & ((1u << t->bits) - 1);
        c = bucket_first(t, *b, 0);
    }
    return c;
}

static struct lb_result ring_pick(const void *table, const struct lb_pick *in)
{
    const struct ring_table *t = table;
    const struct lb_base *b = &t->base;
    struct lb_result r = {.server = -1, .fallback = false, .spilled = false};
    struct lb_bound bd;
    uint32_t key, bk, want, j;
    uint64_t c;
    int first = -1;

    if (b->count == 0)
        return r;
    if (!in->has_key) {
        r.fallback = true;
        r.server = lb_rr_pick(&b->rr, in->sequence, in->exclude);
        return r;
    }
    key = (uint32_t)(in->key_hash >> 32);
    bk = key >> (32 - t->bits);
    want = key << 16; /* the position's low 16 bits, owner 0 */
    lb_bound_init(&bd, b, in);
    if (!bd.on && in->exclude == NULL) {
        /* the smallest word >= want in the key's bucket, else the smallest of
         * the next non-empty bucket (the points that follow in pt) */
        uint32_t w = bucket_min(t, bk, want);
        while (w == RING_NONE) {
            bk = (bk + 1) & ((1u << t->bits) - 1);
            w = bucket_min(t, bk, 0);
        }
        r.server = (int)b->idx[w & 0xFFFFu];
        return r;
    }
    c = ring_next(t, &bk, (uint64_t)want << 32);
    for (j = 0; j < t->npoints; j++) {
        uint32_t pos = (uint32_t)(c >> 32) & 0xFFFFu;
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
        c = ring_next(t, &bk, c + 1);
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
