/*
 * health_monitor: the health of every server of the running configuration,
 * kept by the main thread (the I/O edge that drives the pure health modules).
 *
 * It runs the active probes (health_probe, paced by health_sched, judged by
 * health_fsm), counts what the workers report about real requests
 * (health_mailbox into health_passive), applies each server's administrative
 * state (server option state=, later the admin API and the cluster) and slow
 * start, and turns all of it into routing overrides (health_combine). Whenever
 * what the balancers should see changes, it calls `changed`, and the runtime
 * rebuilds and publishes the routing snapshot with health_monitor_overrides().
 * Every change of a verdict is logged with its reason.
 *
 * On reload a new monitor is made from the new configuration and takes over
 * what the old one knew about each server that kept its pool, name and
 * address, so a reload neither forgets that a server is down nor throttles
 * healthy ones again.
 *
 * Must not: run on a worker thread, block, or publish routes itself.
 */
#ifndef RAFTLB_HEALTH_MONITOR_H
#define RAFTLB_HEALTH_MONITOR_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "health/health_combine.h"
#include "health/health_mailbox.h"
#include "net/route.h"

#define HEALTH_PROBES_MAX       64u /* probes in flight per instance */
#define HEALTH_JITTER_PERCENT   10u
#define HEALTH_FALLBACK_LOG_S   10.0 /* hash fallbacks are logged at most this often */

struct health_monitor;

typedef void (*health_monitor_changed_fn)(void *arg);

/*
 * Makes a monitor for `conf` (kept, must outlive the monitor) on `loop`, taking
 * the counters of `reg` for its servers, and what `old` (may be NULL) knew about
 * the same servers. Probes start at once. Returns NULL with a reason in err.
 */
struct health_monitor *health_monitor_new(struct ev_loop *loop, const struct conf *conf,
                                          struct route_counters *reg,
                                          const struct health_monitor *old,
                                          health_monitor_changed_fn changed, void *arg,
                                          char *err, size_t errlen);

/* Makes `hm` the one the workers' reports go to (call once it is in service;
 * until then, reports go to the monitor that claimed them before). */
void health_monitor_claim(struct health_monitor *hm);

/* Stops every probe and timer and frees the monitor. */
void health_monitor_free(struct health_monitor *hm);

/* The overrides to build the routing snapshot with, one per server (owned by the
 * monitor, valid until the next call into it). */
const struct route_server_override *health_monitor_overrides(struct health_monitor *hm,
                                                             size_t *count);

/* Counts what the workers posted (call from the mailbox's ev_async callback). */
void health_monitor_take(struct health_monitor *hm, struct health_mailbox *mb);

#endif
