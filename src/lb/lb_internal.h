/*
 * lb_internal: what the algorithm files share and nobody else sees: the active
 * server set every table is built on, the round-robin fallback, the bounded-load
 * test and the deterministic last-resort sweep.
 *
 * Must not: be included outside src/lb and its tests.
 */
#ifndef RAFTLB_LB_INTERNAL_H
#define RAFTLB_LB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb/lb.h"
#include "lb/lb_roundrobin.h"

/*
 * The servers a table may pick: the usable, non-backup servers of positive weight,
 * or, when there is none, the usable backups of positive weight. `idx` lists their
 * indexes into the caller's array, in index order (or in name order, with
 * LB_BASE_BY_NAME, so that hashing placements depend on names and not on the
 * order of the configuration). `weight` and `up` are parallel to `idx`.
 *
 * With LB_BASE_KEEP_DOWN the set also keeps the servers of the same tier that
 * are not usable, marked down in `up`: Maglev builds its table over them and
 * walks past them at pick time, so that a server going down or coming back
 * moves its own keys only.
 */
#define LB_BASE_BY_NAME   1u
#define LB_BASE_KEEP_DOWN 2u

struct lb_base {
    uint32_t count;      /* servers in idx[] (up or, with KEEP_DOWN, down) */
    uint32_t up_count;   /* of which up; 0: every pick answers -1 */
    uint32_t n;          /* size of the caller's server array */
    uint32_t *idx;       /* owned */
    uint32_t *weight;    /* owned */
    uint8_t *up;         /* owned; 1: usable */
    uint64_t weight_sum; /* sum of weight[] over the up servers */
    double factor;       /* bounded loads; 0: off */
    struct lb_rr rr;     /* round robin over the up servers (fallback) */
};

/* Validates the arguments and fills `b`. Returns 0, or -1 with a reason in err. */
int lb_base_init(struct lb_base *b, const struct lb_server *servers, size_t n,
                 const struct lb_params *params, unsigned flags, char *err,
                 size_t errlen);
void lb_base_fini(struct lb_base *b);

/* An lb_ops build/destroy pair for algorithms whose table is the base alone
 * (round robin, leastconn): allocates and fills a base with no flags; frees it. */
void *lb_base_new(const struct lb_server *servers, size_t n,
                  const struct lb_params *params, char *err, size_t errlen);
void lb_base_free(void *table);

static inline bool lb_excluded(const uint64_t *exclude, uint32_t server)
{
    return exclude != NULL && ((exclude[server >> 6] >> (server & 63)) & 1u) != 0;
}

/*
 * The bounded-load test of one pick (Mirrokni, Thorup, Zadimoghaddam, "Consistent
 * Hashing with Bounded Loads", SODA 2018), weighted: server i may take the request
 * when load[i] + 1 <= ceil(factor * (total + 1) * w_i / W), W the active weight
 * sum and total the in-flight requests of the active servers. With equal weights
 * this is the paper's ceil(c * m / n) with m counting the request being placed.
 * Since the caps add up to at least factor * (total + 1) > total for factor >= 1,
 * at least one server is always under its cap.
 */
struct lb_bound {
    bool on;
    const uint32_t *load;
    double scale; /* factor * (total + 1) / W */
};

void lb_bound_init(struct lb_bound *bd, const struct lb_base *b,
                   const struct lb_pick *in);

static inline bool lb_bound_ok(const struct lb_bound *bd, uint32_t server, uint32_t w)
{
    double cap;
    if (!bd->on)
        return true;
    cap = bd->scale * (double)w;
    /* load + 1 <= ceil(cap)  <=>  load < cap */
    return (double)bd->load[server] < cap;
}

/*
 * The last resort of a hashing walk that found nothing: the up servers in
 * table order from position `start`: the first that is not excluded and under its
 * cap, else the first not excluded (caps cannot all be met, e.g. when the caller's
 * load_total is wrong), else -1.
 */
int lb_base_sweep(const struct lb_base *b, uint32_t start, const struct lb_pick *in,
                  const struct lb_bound *bd);

/* Writes a formatted reason into err (when errlen > 0). */
void lb_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
