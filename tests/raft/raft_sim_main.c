/*
 * raft-sim: runs the deterministic Raft simulator over many seeds and reports.
 *
 *   raft-sim --seeds N [--nodes 3|5] [--seed S]   N chaos runs from seed S
 *   raft-sim --seed S --nodes N                    replay one run
 *   raft-sim --failover N [--nodes 3|5] [--latency-us U]
 *   raft-sim --throughput MS [--nodes 3|5] [--latency-us U] [--window W]
 *
 * A violation prints the seed as "raft-sim --seed S --nodes N" and the exit
 * status is 1. The last line is always a one-line summary.
 */
#define _POSIX_C_SOURCE 200809L
#include "sim_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int usage(void)
{
    fprintf(
        stderr,
        "usage: raft-sim [--seeds N] [--seed S] [--nodes 3|5]\n"
        "       raft-sim --failover N [--nodes 3|5] [--latency-us U] [--seed S]\n"
        "       raft-sim --throughput MS [--nodes 3|5] [--latency-us U] [--window W]\n");
    return 2;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    uint64_t seeds = 1, seed = 1, nodes = 0, failover = 0, throughput_ms = 0;
    uint64_t latency_us = 500, window = 1024;
    bool seeds_given = false;

    for (int i = 1; i < argc; i += 2) { /* every option takes a value */
        uint64_t *dst = NULL;
        if (strcmp(argv[i], "--seeds") == 0) {
            dst = &seeds;
            seeds_given = true;
        } else if (strcmp(argv[i], "--seed") == 0)
            dst = &seed;
        else if (strcmp(argv[i], "--nodes") == 0)
            dst = &nodes;
        else if (strcmp(argv[i], "--failover") == 0)
            dst = &failover;
        else if (strcmp(argv[i], "--throughput") == 0)
            dst = &throughput_ms;
        else if (strcmp(argv[i], "--latency-us") == 0)
            dst = &latency_us;
        else if (strcmp(argv[i], "--window") == 0)
            dst = &window;
        else
            return usage();
        if (i + 1 >= argc || parse_u64(argv[i + 1], dst) != 0)
            return usage();
    }
    if (nodes != 0 && nodes != 3 && nodes != 5) {
        fprintf(stderr, "raft-sim: --nodes must be 3 or 5\n");
        return 2;
    }
    (void)seeds_given;
    double t0 = wall_s();

    if (failover > 0) {
        uint64_t *d = calloc(failover, sizeof(*d));
        uint64_t ok = 0, fails = 0;
        unsigned n = nodes ? (unsigned)nodes : 5;
        if (d == NULL)
            return 1;
        for (uint64_t i = 0; i < failover; i++) {
            char msg[600] = "";
            uint64_t us =
                sim_measure_failover(seed + i, n, (uint32_t)latency_us, msg, sizeof(msg));
            if (us == 0) {
                fails++;
                printf("failover seed %llu: no new leader%s%s\n",
                       (unsigned long long)(seed + i), msg[0] ? ": " : "", msg);
                continue;
            }
            d[ok++] = us;
        }
        qsort(d, ok, sizeof(*d), cmp_u64);
        if (ok > 0) {
            printf("failover: %llu kills, %u nodes, latency %llu us: "
                   "min %.1f ms, p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
                   (unsigned long long)ok, n, (unsigned long long)latency_us,
                   d[0] / 1000.0, d[ok / 2] / 1000.0, d[ok * 90 / 100] / 1000.0,
                   d[ok * 99 / 100] / 1000.0, d[ok - 1] / 1000.0);
            /* cumulative distribution in 50 ms buckets, like the paper's Figure 16 */
            for (uint64_t b = 50; b <= 1000; b += 50) {
                uint64_t c = 0;
                while (c < ok && d[c] <= b * 1000)
                    c++;
                printf("  <= %4llu ms: %6.2f%%\n", (unsigned long long)b, 100.0 * c / ok);
            }
        }
        free(d);
        printf("raft-sim: failover runs %llu, failures %llu, wall %.1f s\n",
               (unsigned long long)failover, (unsigned long long)fails, wall_s() - t0);
        return fails ? 1 : 0;
    }
    if (throughput_ms > 0) {
        unsigned n = nodes ? (unsigned)nodes : 3;
        uint64_t c =
            sim_measure_throughput(seed, n, throughput_ms, (uint32_t)latency_us, window);
        double wall = wall_s() - t0;
        printf(
            "raft-sim: throughput %u nodes, latency %llu us, window %llu: %llu entries "
            "committed in %llu simulated ms = %.0f entries/simulated s (wall %.2f s, "
            "%.0f entries/wall s)\n",
            n, (unsigned long long)latency_us, (unsigned long long)window,
            (unsigned long long)c, (unsigned long long)throughput_ms,
            c * 1000.0 / throughput_ms, wall, c / wall);
        return c > 0 ? 0 : 1;
    }

    struct sim_stats total;
    uint64_t violations = 0;
    memset(&total, 0, sizeof(total));
    for (uint64_t i = 0; i < seeds; i++) {
        uint64_t sd = seed + i;
        unsigned n = nodes ? (unsigned)nodes : (sd % 2 ? 3 : 5);
        char msg[600] = "";
        if (sim_run_seed(sd, n, &total, msg, sizeof(msg)) != 0) {
            violations++;
            printf("VIOLATION seed %llu (%u nodes): %s\n  replay: raft-sim --seed %llu "
                   "--nodes %u\n",
                   (unsigned long long)sd, n, msg, (unsigned long long)sd, n);
            fflush(stdout);
        }
    }
    printf("raft-sim: seeds %llu, violations %llu, elections %llu, commits %llu, "
           "crashes %llu, snapshots sent %llu, steps %llu, wall %.1f s\n",
           (unsigned long long)seeds, (unsigned long long)violations,
           (unsigned long long)total.elections, (unsigned long long)total.commits,
           (unsigned long long)total.crashes, (unsigned long long)total.snapshots_sent,
           (unsigned long long)total.steps, wall_s() - t0);
    return violations ? 1 : 0;
}
