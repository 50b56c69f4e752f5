/*
 * sim_run: seeded end-to-end runs of the simulator (see sim_run.h).
 */
#include "sim_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sim_run_seed(uint64_t seed, unsigned nodes, struct sim_stats *total, char *msg,
                 size_t msglen)
{
    struct sim_options o;
    struct sim s;
    int rc = 0;

    sim_options_default(&o, seed, nodes);
    /* Vary the environment with the seed. */
    uint64_t x = seed * 0x2545F4914F6CDD1Dull + 7;
    o.loss_ppm = (uint32_t)((x >> 8) % 50000);              /* up to 5% */
    o.dup_ppm = (uint32_t)((x >> 24) % 20000);              /* up to 2% */
    o.latency_max_us = 700 + (uint32_t)((x >> 40) % 20000); /* jitter up to 20 ms */
    o.delay_ppm = (uint32_t)((x >> 48) % 10000);            /* up to 1% held back long */
    o.n_learners = (x >> 4) % 4 == 0 ? 1 : 0;
    o.max_batch_entries = (x >> 12) % 2 ? 1 + (uint32_t)((x >> 16) % 4) : 16;
    o.max_inflight_msgs = 1 + (uint32_t)((x >> 20) % 16);
    o.chaos = true;
    o.propose_interval_ms = 20;
    if (sim_init(&s, &o) != 0) {
        snprintf(msg, msglen, "init: %s", s.violation);
        sim_free(&s);
        return 1;
    }
    sim_run_for(&s, 4000);
    if (!s.violated) {
        /* Heal everything and check that the cluster makes progress again and
         * still holds every committed entry. */
        s.o.chaos = false;
        sim_heal(&s);
        for (unsigned i = 0; i < s.n; i++) {
            s.nodes[i].fail_next_write = false;
            if (s.nodes[i].raft == NULL)
                sim_restart(&s, i + 1);
        }
        s.o.loss_ppm = 0;
        s.o.delay_ppm = 0;
        uint64_t l = sim_wait_leader(&s, 5000, true);
        uint64_t before = sim_inv_committed_index(s.inv);
        uint64_t idx = 0;
        if (!s.violated && l == 0)
            sim_violation(&s, "liveness: no leader 5 s after healing");
        /* A leader refuses proposals during a transfer (until it times out). */
        for (int tries = 0; !s.violated && l != 0; tries++) {
            if (sim_propose(&s, l, &idx) == 0)
                break;
            if (tries == 100) {
                sim_violation(&s, "liveness: leader %llu refuses proposals",
                              (unsigned long long)l);
                break;
            }
            sim_run_for(&s, 20);
            l = sim_wait_leader(&s, 5000, true);
        }
        uint64_t end = s.now_us + 5000000;
        while (!s.violated && sim_inv_committed_index(s.inv) < idx && s.now_us < end)
            sim_run_for(&s, 10);
        if (!s.violated && sim_inv_committed_index(s.inv) < idx)
            sim_violation(&s, "liveness: index %llu not committed 5 s after healing",
                          (unsigned long long)idx);
        if (!s.violated && sim_max_commit(&s) < before)
            sim_violation(&s, "committed entries lost: cluster commit %llu < %llu",
                          (unsigned long long)sim_max_commit(&s),
                          (unsigned long long)before);
    }
    if (s.violated) {
        snprintf(msg, msglen, "%s", s.violation);
        if (getenv("RAFT_SIM_DUMP") != NULL)
            sim_dump(&s, stdout);
        rc = 1;
    }
    total->elections += s.stats.elections;
    total->commits += s.stats.commits;
    total->steps += s.stats.steps;
    total->messages += s.stats.messages;
    total->crashes += s.stats.crashes;
    total->snapshots_sent += s.stats.snapshots_sent;
    sim_free(&s);
    return rc;
}

uint64_t sim_measure_failover(uint64_t seed, unsigned nodes, uint32_t latency_us,
                              char *msg, size_t msglen)
{
    struct sim_options o;
    struct sim s;
    uint64_t result = 0;

    sim_options_default(&o, seed, nodes);
    o.latency_min_us = o.latency_max_us = latency_us;
    o.disk_min_us = 100;
    o.disk_max_us = 500;
    o.propose_interval_ms = 10;
    if (sim_init(&s, &o) != 0)
        goto out;
    uint64_t l = sim_wait_leader(&s, 10000, true);
    if (l == 0)
        goto out;
    /* a random moment of steady state */
    sim_run_for(&s, 200 + sim_rand_range(&s, 0, 1000));
    l = sim_leader(&s);
    if (l == 0 || s.violated)
        goto out;
    uint64_t t0 = s.now_us;
    sim_crash(&s, l, false);
    uint64_t end = s.now_us + 10000000;
    while (!s.violated && s.now_us < end) {
        uint64_t nl = sim_leader(&s);
        if (nl != 0 && nl != l) {
            result = s.now_us - t0;
            break;
        }
        sim_run_for(&s, 1);
    }
out:
    if (s.violated)
        snprintf(msg, msglen, "%s", s.violation);
    sim_free(&s);
    return s.violated ? 0 : result;
}

uint64_t sim_measure_throughput(uint64_t seed, unsigned nodes, uint64_t ms,
                                uint32_t latency_us, uint64_t window)
{
    struct sim_options o;
    struct sim s;
    uint64_t committed = 0;

    sim_options_default(&o, seed, nodes);
    o.latency_min_us = o.latency_max_us = latency_us;
    o.snapshot_threshold = 4096;
    o.snapshot_trailing = 512;
    o.max_inflight_msgs = 64;
    if (sim_init(&s, &o) != 0)
        goto out;
    uint64_t l = sim_wait_leader(&s, 10000, true);
    if (l == 0)
        goto out;
    uint64_t start = sim_node(&s, l)->raft ? raft_commit_index(sim_node(&s, l)->raft) : 0;
    uint64_t end = s.now_us + ms * 1000;
    while (!s.violated && s.now_us < end && sim_leader(&s) == l) {
        /* keep `window` uncommitted entries outstanding, checked every 100 us */
        struct raft *r = sim_node(&s, l)->raft;
        while (raft_last_index(r) - raft_commit_index(r) < window)
            sim_propose(&s, l, NULL);
        sim_run_until(&s, s.now_us + 100);
    }
    if (!s.violated && sim_node(&s, l)->raft != NULL)
        committed = raft_commit_index(sim_node(&s, l)->raft) - start;
out:
    sim_free(&s);
    return committed;
}
