/*
 * sim_run: one complete randomised simulation run from a seed (chaos, then heal
 * and a liveness check), and the failover and throughput measurements. Shared by
 * raft-sim and the seed sweep in make check.
 */
#ifndef RAFTLB_TESTS_SIM_RUN_H
#define RAFTLB_TESTS_SIM_RUN_H

#include "sim.h"

/* Runs seed `seed` on `nodes` voters. Returns 0, or 1 on a violation (described
 * in msg). Adds its counters to *total. */
int sim_run_seed(uint64_t seed, unsigned nodes, struct sim_stats *total, char *msg,
                 size_t msglen);

/* Kills the leader once at a random moment of a steady cluster and returns the
 * simulated time in microseconds until a new leader is elected (0 on failure). */
uint64_t sim_measure_failover(uint64_t seed, unsigned nodes, uint32_t latency_us,
                              char *msg, size_t msglen);

/* A client keeps `window` proposals (16-byte payloads) outstanding at the leader
 * for `ms` simulated ms; returns the number of entries committed. */
uint64_t sim_measure_throughput(uint64_t seed, unsigned nodes, uint64_t ms,
                                uint32_t latency_us, uint64_t window);

#endif
