/*
 * health_sched: which server to probe next, with a bound on probes in flight
 * (a pure core).
 *
 * Each server of a pool (or of the whole instance) has a due time, set by the
 * caller from health_fsm_next_probe_ms(). The probe driver asks for due servers
 * with health_sched_pop() whenever its timer fires or a probe ends; a server is
 * handed out at most once until health_sched_done(), and never more than
 * `max_in_flight` at a time, so a large pool cannot open thousands of sockets at
 * once. When the bound holds probes back, the most overdue go first (earliest
 * due time, then lowest index), so no server starves; their next due time counts
 * from when they really ended, so a saturated prober slows down evenly instead of
 * bursting.
 *
 * Cost: pop, done and set are O(log n) (an indexed binary heap); next_ms is O(1).
 * Must not: read a clock, include ev.h, OpenSSL or socket headers, allocate
 * outside init.
 */
#ifndef RAFTLB_HEALTH_SCHED_H
#define RAFTLB_HEALTH_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEALTH_SCHED_NEVER UINT64_MAX

struct health_sched {
    size_t server_count;
    size_t max_in_flight;
    size_t in_flight;
    uint64_t *due_ms; /* per server; HEALTH_SCHED_NEVER: not scheduled */
    bool *flying;     /* per server: handed out, not yet done */
    size_t *heap;     /* server indexes, min-heap on (due_ms, index) */
    size_t *pos;      /* per server: its place in heap, or SIZE_MAX */
    size_t heap_len;
};

/*
 * Prepares a scheduler for `server_count` (>= 1) servers, none scheduled, with at
 * most `max_in_flight` (>= 1) probes at once. Returns 0, -EINVAL or -ENOMEM with
 * a reason in `err`. Release with health_sched_free().
 */
int health_sched_init(struct health_sched *s, size_t server_count, size_t max_in_flight,
                      char *err, size_t errlen);

void health_sched_free(struct health_sched *s);

/*
 * Sets when `server` is next due (HEALTH_SCHED_NEVER: stop probing it, e.g. for
 * maintenance or check=off). A server in flight stays in flight: the time is
 * recorded, but its done() sets the time that counts, so the caller passes
 * HEALTH_SCHED_NEVER there for a server that left service meanwhile.
 * Returns 0, or -EINVAL for an index out of range.
 */
int health_sched_set(struct health_sched *s, size_t server, uint64_t due_ms);

/*
 * Hands out the most overdue server with due_ms <= now_ms, if fewer than
 * max_in_flight probes are running: stores it in *server, marks it in flight and
 * returns 1. Returns 0 when nothing is due or the bound is reached.
 */
int health_sched_pop(struct health_sched *s, uint64_t now_ms, size_t *server);

/*
 * The probe of `server` ended; it is next due at `next_due_ms` (or never). Returns
 * 0, or -EINVAL when the index is out of range or the server was not in flight.
 */
int health_sched_done(struct health_sched *s, size_t server, uint64_t next_due_ms);

/*
 * When the caller's timer should fire next: the earliest due time of a server not
 * in flight, or HEALTH_SCHED_NEVER when none is scheduled or when the in-flight
 * bound is reached (the next done() is then the moment to ask again).
 */
uint64_t health_sched_next_ms(const struct health_sched *s);

#endif
