/*
 * lb_slowstart: linear weight ramp of a recovered server (see lb_slowstart.h).
 * Integer arithmetic only, so every instance computes the same weights.
 */
#include "lb/lb_slowstart.h"

uint32_t lb_slowstart_weight(uint32_t weight, uint64_t elapsed_ms, uint32_t slowstart_ms)
{
    uint64_t w;
    if (weight == 0 || slowstart_ms == 0 || elapsed_ms >= slowstart_ms)
        return weight;
    /* weight < 2^32 and elapsed_ms < 2^32: the product fits in 64 bits */
    w = ((uint64_t)weight * elapsed_ms + slowstart_ms - 1) / slowstart_ms;
    return w == 0 ? 1 : (uint32_t)w;
}

uint64_t lb_slowstart_next_ms(uint32_t weight, uint64_t elapsed_ms, uint32_t slowstart_ms)
{
    uint32_t now = lb_slowstart_weight(weight, elapsed_ms, slowstart_ms);
    uint64_t e;
    if (now == weight)
        return 0;
    /* ceil(weight * e / S) > now  <=>  weight * e > now * S  <=>
     * e >= floor(now * S / weight) + 1 */
    e = (uint64_t)now * slowstart_ms / weight + 1;
    if (e <= elapsed_ms)
        e = elapsed_ms + 1;
    return e < slowstart_ms ? e : slowstart_ms;
}
