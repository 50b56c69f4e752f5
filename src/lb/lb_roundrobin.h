/*
 * lb_roundrobin: smooth weighted round robin, lock-free and allocation-free.
 *
 * The build precomputes one period of the weighted sequence (weights reduced by
 * their gcd, so a period is sum(w / g) picks) in which the picks of each server
 * are spread evenly; pick reads entry `sequence % length`. Workers share one
 * table and one counter, so the pool as a whole sees the smooth order.
 * Also the fallback of the hashing algorithms when a request has no key.
 *
 * Must not: allocate, lock or write the table in pick.
 */
#ifndef RAFTLB_LB_ROUNDROBIN_H
#define RAFTLB_LB_ROUNDROBIN_H

#include <stddef.h>
#include <stdint.h>

#include "lb/lb.h"

#define LB_RR_PERIOD_MAX (1u << 20) /* entries of one precomputed period */

struct lb_rr {
    uint32_t len;  /* entries in seq; 0: no server */
    uint16_t *seq; /* server indexes, owned */
};

/*
 * Builds the sequence of `count` servers (indexes `idx`, weights `weight` > 0).
 * Returns 0, or -1 with a reason in err (allocation, or weights whose reduced sum
 * exceeds LB_RR_PERIOD_MAX).
 */
int lb_rr_init(struct lb_rr *rr, const uint32_t *idx, const uint32_t *weight,
               uint32_t count, char *err, size_t errlen);
void lb_rr_fini(struct lb_rr *rr);

/* The server at position `sequence`, skipping excluded servers by walking forward
 * in the sequence (so a retry goes where the next request would have gone);
 * -1 when every server is excluded or there is none. */
int lb_rr_pick(const struct lb_rr *rr, uint64_t sequence, const uint64_t *exclude);

extern const struct lb_ops lb_roundrobin_ops;

#endif
