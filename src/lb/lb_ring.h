/*
 * lb_ring: a consistent hash ring with ketama-style virtual nodes.
 *
 * Server s of weight w owns ring_points * w points; point r (r = 0, 1, ...) sits at
 * XXH64(name of s, seed r). A key goes to the first point at or after its hash,
 * wrapping at the top. Points depend on a server's own name and weight only, so
 * taking a server out of the table removes only its points: its keys move to
 * their next points and no other key moves (no collateral remap), and when it
 * returns they come back. Lookup is a binary search inside one bucket of a
 * prefix index (the top bits of the hash), so it costs a few cache lines.
 *
 * Bounded loads and retries walk on along the ring from the key's point, so the
 * same key always spills to the same server.
 *
 * Must not: allocate, lock or write the table in pick.
 */
#ifndef RAFTLB_LB_RING_H
#define RAFTLB_LB_RING_H

#include "lb/lb.h"

extern const struct lb_ops lb_ring_ops;

#endif
