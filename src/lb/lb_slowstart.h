/*
 * lb_slowstart: the effective weight of a server that has just come back.
 *
 * A recovered server starts light and ramps linearly to its configured weight over
 * `slowstart_ms`, so a cold cache or JIT is not flooded (HAProxy's and NGINX
 * Plus's slow_start). Pure: the caller passes the time since the server became
 * usable and rebuilds the table when the result changes.
 *
 * Must not: read a clock.
 */
#ifndef RAFTLB_LB_SLOWSTART_H
#define RAFTLB_LB_SLOWSTART_H

#include <stdint.h>

/*
 * ceil(weight * elapsed_ms / slowstart_ms), at least 1, while elapsed_ms <
 * slowstart_ms; `weight` once the ramp is over, when slowstart_ms is 0, or when
 * weight is 0 (a server of weight 0 stays unpicked).
 */
uint32_t lb_slowstart_weight(uint32_t weight, uint64_t elapsed_ms, uint32_t slowstart_ms);

/*
 * The smallest elapsed time (ms) after `elapsed_ms` at which lb_slowstart_weight()
 * gives a larger value, so the caller can schedule the next rebuild; 0 when the
 * ramp is over (the weight will not change any more).
 */
uint64_t lb_slowstart_next_ms(uint32_t weight, uint64_t elapsed_ms,
                              uint32_t slowstart_ms);

#endif
