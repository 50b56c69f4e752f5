/*
 * health_combine: from everything known about a server to what a balancer needs
 * (struct lb_server: effective weight, usable, backup), and the pool-wide
 * consequence (is anything left to route to?). A pure core.
 *
 * A server is usable when its admin state is READY, the active check does not say
 * DOWN (UNKNOWN, before the first probe, counts as up: see health_fsm.h), and
 * passive checks have not ejected it. A drained server takes no new requests
 * (requests in flight finish); maintenance also stops its checks, which is the
 * caller's business. Its weight ramps up over `slowstart_ms` from the moment it
 * came back (lb_slowstart_weight, owned by src/lb): the caller passes that moment
 * for a DOWN -> UP verdict or the end of a passive ejection, never for the first
 * verdict after start-up (a proxy that starts must not throttle servers that were
 * serving all along; HAProxy does the same).
 *
 * Must not: read a clock, include ev.h, OpenSSL or socket headers.
 */
#ifndef RAFTLB_HEALTH_COMBINE_H
#define RAFTLB_HEALTH_COMBINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "health/health_fsm.h"
#include "lb/lb.h"

enum health_admin {
    HEALTH_ADMIN_READY = 0,
    HEALTH_ADMIN_DRAIN, /* no new requests; in-flight ones finish */
    HEALTH_ADMIN_MAINT, /* out of service, not checked */
    HEALTH_ADMIN_COUNT
};

/* What is known about one server. */
struct health_view {
    const char *name; /* copied to lb_server.name; not owned */
    uint32_t weight;  /* configured or admin-set weight */
    bool backup;
    enum health_admin admin;
    enum health_state active; /* HEALTH_UP for a server with check=off or health=none */
    bool ejected;             /* by passive checks */
    bool ramping;             /* came back at back_ms and slow start may apply:
                                 from health_fsm, recovered and change.at_ms;
                                 from health_passive, a RETURNED change's at_ms
                                 (the later of the two when both apply) */
    uint64_t back_ms;
    uint32_t slowstart_ms; /* 0: no ramp */
};

/* Why a server is not usable, for the admin API; HEALTH_UNUSABLE_NONE when it is. */
enum health_unusable {
    HEALTH_UNUSABLE_NONE = 0,
    HEALTH_UNUSABLE_MAINT,
    HEALTH_UNUSABLE_DRAIN,
    HEALTH_UNUSABLE_DOWN,
    HEALTH_UNUSABLE_EJECTED,
    HEALTH_UNUSABLE_COUNT
};

/*
 * Fills *out for server `v` at `now_ms` and returns why it is unusable
 * (HEALTH_UNUSABLE_NONE when usable). An unusable server gets weight 0; a usable
 * one its ramped weight. An admin state or active state outside its enumeration
 * is treated as MAINT / DOWN (never as usable).
 */
enum health_unusable health_combine(const struct health_view *v, uint64_t now_ms,
                                    struct lb_server *out);

/*
 * The time (> now_ms) at which health_combine() would give `v` a different weight,
 * so the caller can schedule the next rebuild; 0 when the weight will not change
 * with time alone.
 */
uint64_t health_combine_next_change_ms(const struct health_view *v, uint64_t now_ms);

struct health_pool_summary {
    size_t usable;        /* usable non-backup servers with weight > 0 */
    size_t usable_backup; /* usable backup servers with weight > 0 */
    bool all_down;        /* nothing at all to route to: answer 503 at once */
};

/* Counts what a pool of `n` servers (as built by health_combine) can route to. */
void health_pool_summarize(const struct lb_server *servers, size_t n,
                           struct health_pool_summary *out);

/* "ready", "drain", "maint" and "", "maint", "drain", "down", "ejected". */
const char *health_admin_name(enum health_admin a);
const char *health_unusable_name(enum health_unusable u);

#endif
