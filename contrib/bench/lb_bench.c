/*
 * lb-bench: figures of the balancing algorithms (issue 4), printed as a table.
 *
 * For N servers (weight 1, named "srv<i>") and K keys ("/key/<i>", hashed with
 * lb_hash), each algorithm: max/mean and min/mean keys per server; the keys
 * remapped when one server (the middle one) goes down or is drained, split into
 * the necessary share (keys that were on it) and the collateral rest, and the
 * collateral when that server is instead deleted from the configuration; lookup time per
 * pick; table build time; and, for ring and maglev with bounded loads, the spill rate in
 * a closed-loop simulation with 10 requests in flight per server on average (each key is
 * picked with the current loads, then the oldest request finishes). Timings are CPU time
 * of the benchmark thread, the median of --runs runs. Keyless algorithms have no
 * key-to-server map: their rows show the spread of K consecutive picks (sequence / random
 * = i) and no remap figures.
 *
 *   lb-bench [--keys K] [--runs R] [--servers 3,10,100,1000] [--factor F]
 *            [--maglev-size M] [--ring-points P] [--algos ring,maglev,...]
 *
 * Must not: be used as a test (it asserts nothing); it only measures.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lb/lb.h"

#define MAX_N 8

static double now_ns(void)
{
    struct timespec ts;
    /* CPU time of this thread: the machine may be shared, and time spent
     * descheduled is not the balancer's */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct opts {
    uint64_t keys;
    int runs;
    uint32_t servers[MAX_N];
    int nservers;
    double factor;
    struct lb_params params;
    bool algo_on[LB_ALGO_COUNT];
};

static void *build_or_die(enum lb_algo a, const struct lb_server *s, size_t n,
                          const struct lb_params *p)
{
    char err[256] = "";
    void *t = lb_ops_get(a)->build(s, n, p, err, sizeof(err));
    if (t == NULL) {
        fprintf(stderr, "lb-bench: %s build failed: %s\n", lb_ops_get(a)->name, err);
        exit(1);
    }
    return t;
}

static bool keyed(enum lb_algo a)
{
    return a == LB_RING || a == LB_MAGLEV;
}

/* Picks key i for algorithm a: the key-to-server map of ring and maglev (no
 * loads); leastconn and random2 read `zero`, an all-idle load array, so that
 * they do their real work (a scan; two draws and a comparison). */
static int pick_plain(enum lb_algo a, const void *t, uint64_t i, uint64_t h,
                      const uint32_t *zero)
{
    struct lb_pick in;
    memset(&in, 0, sizeof(in));
    in.key_hash = h;
    in.has_key = true;
    in.sequence = i;
    in.random = h;
    if (a == LB_LEASTCONN || a == LB_RANDOM2)
        in.load = zero;
    return lb_ops_get(a)->pick(t, &in).server;
}

static void run_one(const struct opts *o, enum lb_algo a, uint32_t n,
                    const uint64_t *keys, int *map, int *map2, char names[][16])
{
    const struct lb_ops *ops = lb_ops_get(a);
    struct lb_server *s = calloc(n, sizeof(*s));
    uint64_t *count = calloc(n, sizeof(*count));
    uint32_t *zero = calloc(n, sizeof(*zero));
    double build_ms[16], look_ns[16], blook_ns[16];
    uint64_t sink = 0, moved_need = 0, moved_coll = 0, mx = 0, mn = UINT64_MAX;
    uint64_t spills = 0, over_cap = 0, deleted_coll = 0;
    double spill_rate = -1, bmax = -1, tmax = -1, tmin = -1;
    uint32_t removed = n / 2;
    void *t = NULL;
    int r;

    if (s == NULL || count == NULL || zero == NULL) {
        fprintf(stderr, "lb-bench: out of memory\n");
        exit(1);
    }
    for (uint32_t i = 0; i < n; i++) {
        s[i].name = names[i];
        s[i].weight = 1;
        s[i].usable = true;
    }
    for (r = 0; r < o->runs; r++) {
        double t0 = now_ns();
        t = build_or_die(a, s, n, &o->params);
        build_ms[r] = (now_ns() - t0) / 1e6;
        if (r + 1 < o->runs)
            ops->destroy(t);
    }
    for (r = 0; r < o->runs; r++) {
        double t0 = now_ns();
        for (uint64_t i = 0; i < o->keys; i++)
            sink += (uint64_t)pick_plain(a, t, i, keys[i], zero);
        look_ns[r] = (now_ns() - t0) / (double)o->keys;
    }
    for (uint64_t i = 0; i < o->keys; i++) {
        map[i] = pick_plain(a, t, i, keys[i], zero);
        count[map[i]]++;
    }
    if (keyed(a)) {
        /* The table's own balance, free of key-sampling noise: the share of the
         * hash space each server owns. Ring: 2^24 evenly spaced hashes g << 40
         * (arcs). Maglev: hashes 0 .. k*M - 1, each slot exactly k times. */
        uint64_t *share = calloc(n, sizeof(*share)), smx = 0, smn = UINT64_MAX;
        uint64_t m = o->params.maglev_table_size ? o->params.maglev_table_size
                                                 : LB_MAGLEV_TABLE_SIZE_DEFAULT;
        const uint64_t grid = a == LB_MAGLEV ? ((1ull << 24) / m + 1) * m : 1ull << 24;
        if (share == NULL) {
            fprintf(stderr, "lb-bench: out of memory\n");
            exit(1);
        }
        for (uint64_t g = 0; g < grid; g++) {
            uint64_t h = a == LB_MAGLEV ? g : g << 40;
            share[pick_plain(a, t, g, h, zero)]++;
        }
        for (uint32_t i = 0; i < n; i++) {
            smx = share[i] > smx ? share[i] : smx;
            smn = share[i] < smn ? share[i] : smn;
        }
        tmax = (double)smx * n / (double)grid;
        tmin = (double)smn * n / (double)grid;
        free(share);
    }
    for (uint32_t i = 0; i < n; i++) {
        mx = count[i] > mx ? count[i] : mx;
        mn = count[i] < mn ? count[i] : mn;
    }
    if (keyed(a)) {
        void *t2;
        s[removed].usable = false;
        t2 = build_or_die(a, s, n, &o->params);
        s[removed].usable = true;
        for (uint64_t i = 0; i < o->keys; i++) {
            map2[i] = pick_plain(a, t2, i, keys[i], zero);
            if (map2[i] != map[i]) {
                if (map[i] == (int)removed)
                    moved_need++;
                else
                    moved_coll++;
            }
        }
        ops->destroy(t2);
        /* the same server deleted from the configuration: a table of n - 1 */
        memmove(&s[removed], &s[removed + 1], (n - removed - 1) * sizeof(*s));
        t2 = build_or_die(a, s, n - 1, &o->params);
        for (uint64_t i = 0; i < o->keys; i++) {
            int now = pick_plain(a, t2, i, keys[i], zero);
            now = now >= (int)removed ? now + 1 : now; /* back to old indexes */
            if (map[i] != (int)removed && now != map[i])
                deleted_coll++;
        }
        ops->destroy(t2);
        memmove(&s[removed + 1], &s[removed], (n - removed - 1) * sizeof(*s));
        s[removed].name = names[removed];
        s[removed].weight = 1;
        s[removed].usable = true;
    }
    if (keyed(a) && o->factor > 0) {
        struct lb_params p = o->params;
        uint32_t *load = calloc(n, sizeof(*load));
        uint64_t window = 10ull * n, inflight = 0, peak = 0;
        int *ring = calloc(window, sizeof(*ring));
        void *tb;
        if (load == NULL || ring == NULL) {
            fprintf(stderr, "lb-bench: out of memory\n");
            exit(1);
        }
        p.balance_factor = o->factor;
        tb = build_or_die(a, s, n, &p);
        for (r = 0; r < o->runs; r++) {
            double t0;
            memset(load, 0, n * sizeof(*load));
            inflight = 0;
            spills = 0;
            over_cap = 0;
            peak = 0;
            t0 = now_ns();
            for (uint64_t i = 0; i < o->keys; i++) {
                struct lb_pick in;
                struct lb_result res;
                uint64_t slot = i % window, cap;
                if (i >= window) { /* the oldest request finishes */
                    load[ring[slot]]--;
                    inflight--;
                }
                memset(&in, 0, sizeof(in));
                in.key_hash = keys[i];
                in.has_key = true;
                in.load = load;
                in.load_total = inflight;
                res = ops->pick(tb, &in);
                cap = (uint64_t)(o->factor * (double)(inflight + 1) / n + 0.999999999);
                if (load[res.server] + 1 > cap)
                    over_cap++;
                spills += res.spilled;
                load[res.server]++;
                inflight++;
                ring[slot] = res.server;
                if (load[res.server] > peak)
                    peak = load[res.server];
            }
            blook_ns[r] = (now_ns() - t0) / (double)o->keys;
        }
        spill_rate = (double)spills / (double)o->keys;
        bmax = (double)peak / ((double)window / n);
        ops->destroy(tb);
        free(load);
        free(ring);
    }
    printf("| %-10s | %5u | %7.4f | %7.4f |", ops->name, n,
           (double)mx * n / (double)o->keys, (double)mn * n / (double)o->keys);
    if (keyed(a))
        printf(" %7.4f | %7.4f |", tmax, tmin);
    else
        printf(" %7s | %7s |", "-", "-");
    if (keyed(a))
        printf(" %7.4f | %7.4f | %8.5f | %8.5f |",
               (double)(moved_need + moved_coll) / o->keys, (double)moved_need / o->keys,
               (double)moved_coll / o->keys, (double)deleted_coll / o->keys);
    else
        printf(" %7s | %7s | %8s | %8s |", "-", "-", "-", "-");
    printf(" %7.1f | %8.3f |", median(look_ns, o->runs), median(build_ms, o->runs));
    if (spill_rate >= 0)
        printf(" %6.2f%% | %5.3f | %5llu | %6.1f |\n", 100 * spill_rate, bmax,
               (unsigned long long)over_cap, median(blook_ns, o->runs));
    else
        printf(" %7s | %5s | %5s | %6s |\n", "-", "-", "-", "-");
    fflush(stdout);
    if (sink == 42)
        fputc(' ', stderr); /* keeps the timed picks from being optimised away */
    ops->destroy(t);
    free(s);
    free(count);
    free(zero);
}

static int parse(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    o->keys = 1000000;
    o->runs = 3;
    o->factor = 1.25;
    o->nservers = 4;
    o->servers[0] = 3;
    o->servers[1] = 10;
    o->servers[2] = 100;
    o->servers[3] = 1000;
    for (int a = 0; a < LB_ALGO_COUNT; a++)
        o->algo_on[a] = true;
    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            fprintf(stderr, "lb-bench: %s needs a value\n", argv[i]);
            return -1;
        }
        if (strcmp(argv[i], "--keys") == 0) {
            o->keys = strtoull(v, NULL, 10);
        } else if (strcmp(argv[i], "--runs") == 0) {
            o->runs = atoi(v);
        } else if (strcmp(argv[i], "--factor") == 0) {
            o->factor = atof(v);
        } else if (strcmp(argv[i], "--maglev-size") == 0) {
            o->params.maglev_table_size = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(argv[i], "--ring-points") == 0) {
            o->params.ring_points = (uint32_t)strtoul(v, NULL, 10);
        } else if (strcmp(argv[i], "--servers") == 0) {
            char dup[256], *save = NULL, *tok;
            snprintf(dup, sizeof(dup), "%s", v);
            o->nservers = 0;
            for (tok = strtok_r(dup, ",", &save); tok && o->nservers < MAX_N;
                 tok = strtok_r(NULL, ",", &save))
                o->servers[o->nservers++] = (uint32_t)strtoul(tok, NULL, 10);
        } else if (strcmp(argv[i], "--algos") == 0) {
            for (int a = 0; a < LB_ALGO_COUNT; a++)
                o->algo_on[a] = strstr(v, lb_ops_get((enum lb_algo)a)->name) != NULL;
        } else {
            fprintf(stderr, "lb-bench: unknown option %s\n", argv[i]);
            return -1;
        }
    }
    if (o->keys == 0 || o->runs < 1 || o->runs > 16 || o->nservers == 0) {
        fprintf(stderr, "lb-bench: need --keys >= 1, --runs in 1..16, --servers\n");
        return -1;
    }
    for (int k = 0; k < o->nservers; k++)
        if (o->servers[k] < 2 || o->servers[k] > 10000) {
            fprintf(stderr, "lb-bench: server counts must be in 2..10000\n");
            return -1;
        }
    return 0;
}

int main(int argc, char **argv)
{
    static char names[10000][16];
    struct opts o;
    uint64_t *keys;
    int *map, *map2;

    if (parse(argc, argv, &o) != 0)
        return 2;
    keys = malloc(o.keys * sizeof(*keys));
    map = malloc(o.keys * sizeof(*map));
    map2 = malloc(o.keys * sizeof(*map2));
    if (keys == NULL || map == NULL || map2 == NULL) {
        fprintf(stderr, "lb-bench: out of memory\n");
        return 1;
    }
    for (uint64_t i = 0; i < o.keys; i++) {
        char buf[32];
        int len = snprintf(buf, sizeof(buf), "/key/%llu", (unsigned long long)i);
        keys[i] = lb_hash(buf, (size_t)len);
    }
    for (int i = 0; i < 10000; i++)
        snprintf(names[i], sizeof(names[i]), "srv%d", i);
    printf("keys %llu, median of %d runs, maglev M %u, ring points/weight %u, "
           "balance_factor %.2f (10 in flight per server)\n\n",
           (unsigned long long)o.keys, o.runs,
           o.params.maglev_table_size ? o.params.maglev_table_size
                                      : LB_MAGLEV_TABLE_SIZE_DEFAULT,
           o.params.ring_points ? o.params.ring_points : LB_RING_POINTS_DEFAULT,
           o.factor);
    printf("| algorithm  |     N | max/mean | min/mean | table max | table min | remap | "
           "1/N part | collateral "
           "| coll. deleted | ns/pick | build ms | spill | bmax/mean | >cap | ns/pick "
           "bounded |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|--"
           "-:|\n");
    for (int k = 0; k < o.nservers; k++)
        for (int a = 0; a < LB_ALGO_COUNT; a++)
            if (o.algo_on[a])
                run_one(&o, (enum lb_algo)a, o.servers[k], keys, map, map2, names);
    free(keys);
    free(map);
    free(map2);
    return 0;
}
