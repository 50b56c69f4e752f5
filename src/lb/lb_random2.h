/*
 * lb_random2: the power of two random choices (Mitzenmacher), weighted.
 *
 * Draws two servers with probability proportional to weight from the caller's
 * `random` (and a value mixed from it), and takes the one with fewer in-flight
 * requests per unit of weight; without a load array, the first draw. An excluded
 * draw moves to the next active server. O(log servers) per pick, lock-free; the
 * randomness is an input, so the core stays deterministic under test.
 *
 * Must not: allocate, lock, write the table or draw randomness itself in pick.
 */
#ifndef RAFTLB_LB_RANDOM2_H
#define RAFTLB_LB_RANDOM2_H

#include "lb/lb.h"

extern const struct lb_ops lb_random2_ops;

#endif
