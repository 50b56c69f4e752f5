/*
 * lb_leastconn: the server with the fewest in-flight requests per unit of weight.
 *
 * Compares (load + 1) / weight, so that among idle servers the heavier one goes
 * first; ties go to the first in a rotation that starts at `sequence`, so equal
 * servers share the work instead of the first one taking it all. Without a load
 * array it is weighted round robin. O(servers) per pick, lock-free.
 *
 * Must not: allocate, lock or write the table in pick.
 */
#ifndef RAFTLB_LB_LEASTCONN_H
#define RAFTLB_LB_LEASTCONN_H

#include "lb/lb.h"

extern const struct lb_ops lb_leastconn_ops;

#endif
