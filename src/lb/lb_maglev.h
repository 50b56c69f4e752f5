/*
 * lb_maglev: the Maglev lookup table (Eisenbud et al., "Maglev: A Fast and
 * Reliable Software Network Load Balancer", NSDI 2016, section 3.4), weighted as
 * Envoy's Maglev load balancer does it.
 *
 * Each server has a preference list, the permutation (offset + j * skip) mod M of
 * the M table slots, with offset = XXH64(name, seed A) mod M and
 * skip = XXH64(name, seed B) mod (M - 1) + 1 (M prime). Servers take turns claiming
 * their next free preferred slot until the table is full; a server of weight w
 * takes a turn in w of every w_max rounds, so slots are proportional to weight.
 * Servers take their turns in name order, so the table depends only on the set
 * of (name, weight) pairs and on M: identical on every instance.
 *
 * A key goes to slot key_hash mod M. The table is built over the servers of the
 * tier in use whether they are up or not; a server that is down or drained keeps
 * its slots and its keys walk on to the next slot whose server is up. So a server
 * going down moves its own keys only (spread over the others in proportion to
 * their slots) and gets them back when it returns, with no collateral remap; a
 * change of the server set or of a weight rebuilds the table, which moves, as
 * the paper measures, a few keys besides the necessary ones. Bounded loads and
 * retries walk the following slots the same way.
 *
 * Build cost: O(M log M) probes plus one check per server and round; the rounds
 * grow with max weight / mean weight (at most M * 256 checks with the
 * configuration's weights of 0..256). Lookup: one modulo, one load.
 *
 * Must not: allocate, lock or write the table in pick.
 */
#ifndef RAFTLB_LB_MAGLEV_H
#define RAFTLB_LB_MAGLEV_H

#include <stdbool.h>
#include <stdint.h>

#include "lb/lb.h"

/* true when m is prime (trial division; m <= LB_MAGLEV_TABLE_SIZE_MAX is quick). */
bool lb_maglev_is_prime(uint32_t m);

extern const struct lb_ops lb_maglev_ops;

#endif
