/*
 * lb_leastconn: the server with the fewest in-flight requests per unit of weight.
 *
 * Compares load / weight. Among the least loaded, the server weighted round robin
 * would pick at `sequence` goes first, so that servers with as little work (idle
 * ones, at low concurrency) share it by weight; otherwise the first of them in a
 * rotation that starts at `sequence`. Without a load array it is weighted round
 * robin. O(servers) per pick, lock-free.
 *
 * Must not: allocate, lock or write the table in pick.
 */
#ifndef RAFTLB_LB_LEASTCONN_H
#define RAFTLB_LB_LEASTCONN_H

#include "lb/lb.h"

extern const struct lb_ops lb_leastconn_ops;

#endif
