/*
 * lb_ring: a consistent hash ring with ketama-style virtual nodes.
 *
 * Placement rule (positions are 32-bit; tests/unit/lb_ring_ref.py models it):
 * server s of weight w owns pk = ring_points * w points. With h = XXH64(name
 * of s, seed 0), point r (r = 0 .. pk - 1) draws x = the top 32 bits of
 * wyrand's output for counter z = h + (r + 1) * 0xA0761D6478BD642F, i.e. of
 * the 128-bit product z * (z ^ 0xE7037ED1A0B428DB), high half xor low half.
 * The server cuts the ring into 2^m strata, m = log2 of the largest power of
 * two <= pk, at most 10, and point r goes into stratum bitrev_m(r mod 2^m), at
 * position (stratum << (32 - m)) | (x >> m): a point in each of its strata,
 * spread like a van der Corput sequence. A key goes to the first point whose
 * position is >= the top 32 bits of its hash (ties: the server first in name
 * order), wrapping at the top.
 *
 * Points depend on a server's own name and point count only (so ring_points
 * 80 x weight 16 is ring_points 1280 x weight 1), so taking a server out of
 * the table removes only its points: its keys move to their next points and
 * no other key moves (no collateral remap), and when it returns they come
 * back. A change of weight moves keys to or from that server only; from 1,024
 * points on, more weight adds points and takes none away (below, crossing a
 * power of two places the server's points anew, in more strata).
 *
 * Build: O(points) with no sort, one stratum at a time in cache (about 3 ms
 * for 1.28 M points). Lookup: the top bits of the key select a bucket of
 * about four to eight points, compared without branches; none >= the key
 * takes the next bucket's smallest point.
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
