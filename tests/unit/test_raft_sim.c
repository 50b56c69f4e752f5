/*
 * test_raft_sim: the seed sweep of the Raft simulator. Runs RAFT_SIM_SEEDS seeds
 * (default 2000) on 3 nodes and as many on 5 nodes, each with crashes, torn and
 * failed writes, partitions, loss, duplication, reordering, membership changes
 * and transfers, every invariant checked after every step, then a liveness check
 * after healing. A failure names the seed to replay with raft-sim.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../raft/sim_run.h"

static uint64_t seeds_to_run(void)
{
    const char *v = getenv("RAFT_SIM_SEEDS");
    if (v != NULL && *v != '\0') {
        unsigned long long n = strtoull(v, NULL, 10);
        if (n > 0)
            return n;
    }
    return 2000;
}

static void sweep(unsigned nodes)
{
    struct sim_stats total;
    uint64_t n = seeds_to_run(), violations = 0;
    memset(&total, 0, sizeof(total));
    for (uint64_t seed = 1; seed <= n; seed++) {
        char msg[600] = "";
        if (sim_run_seed(seed, nodes, &total, msg, sizeof(msg)) != 0) {
            violations++;
            print_error("VIOLATION: %s\n  replay: raft-sim --seed %llu --nodes %u\n", msg,
                        (unsigned long long)seed, nodes);
        }
    }
    print_message("%u nodes: seeds %llu, violations %llu, elections %llu, commits %llu, "
                  "crashes %llu\n",
                  nodes, (unsigned long long)n, (unsigned long long)violations,
                  (unsigned long long)total.elections, (unsigned long long)total.commits,
                  (unsigned long long)total.crashes);
    assert_int_equal(violations, 0);
    assert_true(total.elections >= n);
    assert_true(total.commits > 0);
}

static void test_raft_sim_seeds_3_nodes(void **state)
{
    (void)state;
    sweep(3);
}

static void test_raft_sim_seeds_5_nodes(void **state)
{
    (void)state;
    sweep(5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raft_sim_seeds_3_nodes),
        cmocka_unit_test(test_raft_sim_seeds_5_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
