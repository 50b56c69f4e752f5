/*
 * health_passive: outlier detection from real traffic, per pool (a pure core).
 *
 * The proxy reports the outcome of every request it sent to a server. A server
 * whose last `eject_after` requests in a row failed (connect failure, reset,
 * timeout or a 5xx answer) is ejected: not picked for eject_time * 2^(n-1), where n
 * counts its recent ejections, capped at max_eject_time. At most
 * floor(servers * max_ejected_percent / 100) servers of the pool are ejected at
 * once, so a pool-wide failure (a bad deploy, a dependency down) never empties
 * the pool by passive means alone; a server that reaches the threshold while the
 * cap is full is ejected by its next failure after room frees up. An ejected
 * server comes back when its time runs out (tick) or when an active check passes
 * (health_passive_active_pass); either way its failure count restarts at zero.
 *
 * Back-off decay: n drops by one for every full `decay_ms` the server spends not
 * ejected since it last came back, so a server that stays well long enough is
 * ejected for eject_time again the next time, and one that fails again soon after
 * coming back is ejected twice as long as the last time. The decay is computed
 * when the next ejection happens; nothing needs a timer for it.
 *
 * Must not: read a clock, include ev.h, OpenSSL or socket headers, allocate
 * outside init.
 */
#ifndef RAFTLB_HEALTH_PASSIVE_H
#define RAFTLB_HEALTH_PASSIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What happened to one request sent to a server. */
enum health_req_outcome {
    HEALTH_REQ_OK = 0,       /* any answer below 500, or a clean TCP session */
    HEALTH_REQ_CONNECT_FAIL, /* refused, unreachable, connect timeout */
    HEALTH_REQ_RESET,        /* reset or closed before a complete response */
    HEALTH_REQ_TIMEOUT,      /* timeout_server expired */
    HEALTH_REQ_5XX,          /* the server answered 5xx */
    HEALTH_REQ_COUNT
};

struct health_passive_params {
    uint32_t eject_after;       /* consecutive failures; 0: passive checks off */
    uint32_t eject_time_ms;     /* first ejection, >= 1 when eject_after > 0 */
    uint32_t max_eject_time_ms; /* cap of the doubling; 0: 300 s or eject_time if more */
    uint32_t max_ejected_percent; /* 0..100 */
    uint32_t decay_ms; /* one step of back-off forgiven per this; 0: eject_time */
};

struct health_passive_server {
    uint32_t failures; /* consecutive failed requests (saturating) */
    uint32_t backoff;  /* n: ejections counted for the back-off */
    bool ejected;
    uint64_t ejected_at_ms;
    uint64_t eject_until_ms;              /* valid while ejected */
    uint64_t back_at_ms;                  /* when it last came back (decay reference) */
    uint64_t ejections;                   /* total, for the admin API */
    enum health_req_outcome last_failure; /* valid when failures > 0 */
};

struct health_passive {
    struct health_passive_params params; /* as resolved by init */
    struct health_passive_server *servers;
    size_t server_count;
    size_t ejected_count;
    size_t max_ejected; /* floor(count * percent / 100) */
};

enum health_passive_event {
    HEALTH_PASSIVE_EJECTED = 0,
    HEALTH_PASSIVE_RETURNED_TIME,   /* eject time ran out */
    HEALTH_PASSIVE_RETURNED_ACTIVE, /* an active check passed */
    HEALTH_PASSIVE_EVENT_COUNT
};

/* One change to report (log line, admin API, routing rebuild). */
struct health_passive_change {
    size_t server;
    enum health_passive_event event;
    uint64_t at_ms;
    uint32_t failures;            /* EJECTED: the consecutive failures */
    enum health_req_outcome last; /* EJECTED: the last of them */
    uint64_t duration_ms;         /* EJECTED: how long it is out for */
    uint32_t backoff;             /* EJECTED: n of eject_time * 2^(n-1) */
};

/*
 * Validates `p` and allocates state for `server_count` servers (>= 1), none
 * ejected. Returns 0, -EINVAL (bad parameter) or -ENOMEM, with a reason in `err`.
 * The caller releases it with health_passive_free().
 */
int health_passive_init(struct health_passive *hp, size_t server_count,
                        const struct health_passive_params *p, char *err, size_t errlen);

void health_passive_free(struct health_passive *hp);

/*
 * Counts the outcome of one request to `server` at `now_ms`. A success resets
 * the server's failure count; a failure may eject it (subject to the cap).
 * Outcomes for an ejected server (requests already in flight) are counted only
 * as the last failure seen and never extend the ejection.
 * Returns 1 when the server was ejected (and fills *change if not NULL), 0 when
 * nothing changed, -EINVAL for a server index or outcome out of range.
 */
int health_passive_observe(struct health_passive *hp, uint64_t now_ms, size_t server,
                           enum health_req_outcome outcome,
                           struct health_passive_change *change);

/*
 * Brings back every server whose ejection ended by `now_ms`, writing at most `cap`
 * changes to `out` in server order. Servers beyond `cap` stay ejected until the
 * next call. Returns the number written.
 */
size_t health_passive_tick(struct health_passive *hp, uint64_t now_ms,
                           struct health_passive_change *out, size_t cap);

/*
 * An active check of `server` passed at `now_ms`: an ejected server comes back
 * at once. Returns 1 when it came back (and fills *change), 0 when it was not
 * ejected, -EINVAL for an index out of range.
 */
int health_passive_active_pass(struct health_passive *hp, uint64_t now_ms, size_t server,
                               struct health_passive_change *change);

/* True when `server` (in range) is ejected. */
bool health_passive_is_ejected(const struct health_passive *hp, size_t server);

/* The earliest time an ejection ends, for the caller's timer; UINT64_MAX: none. */
uint64_t health_passive_next_deadline_ms(const struct health_passive *hp);

/*
 * Describes a change for the log line "server POOL/NAME <this>":
 * "EJECTED for 20000 ms (ejection 2 in a row): 5 consecutive failed requests,
 * last: 5xx", "BACK: ejection time over", "BACK: active check passed".
 * Returns 0, or -ENOSPC when truncated (buf is still NUL-terminated).
 */
int health_passive_change_format(const struct health_passive_change *c, char *buf,
                                 size_t buflen);

/* "ok", "connect_fail", "reset", "timeout", "5xx"; "?" outside the enumeration. */
const char *health_req_outcome_name(enum health_req_outcome o);

#endif
