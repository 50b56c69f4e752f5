/*
 * health_fsm: the active-check verdict of one server (a pure core).
 *
 * The probe driver (sockets, libev, TLS) runs one probe at a time per server and
 * reports what it saw as a struct health_result; this module counts consecutive
 * results against `rise` and `fall`, decides UP or DOWN, says why in words fit for
 * the log, keeps what the admin API shows (last result, latency, counters, time of
 * the last change), and says when the next probe is due: sooner while a server is
 * changing state, with jitter taken from randomness the caller injects.
 *
 * Start-up: a server is HEALTH_UNKNOWN until its first probe completes, and UNKNOWN
 * counts as usable (see health_combine.h). The first probe decides at once: a pass
 * makes it UP, a failure makes it DOWN without waiting for `fall` failures. This is
 * HAProxy's "a server starts up, but the first failed check takes it down" and
 * NGINX's "up until proven down" combined: with healthy backends no request fails
 * or waits for `rise` probes at start-up (a pessimistic start would answer 503 for
 * rise * interval), and a backend that is dead at start-up receives traffic only
 * until its first probe, which is scheduled within the fast interval; connect
 * failures in that window are retried on another server by the proxy.
 *
 * Must not: read a clock, draw random numbers, allocate, include ev.h, OpenSSL or
 * socket headers. Time is milliseconds on any monotonic clock the caller chooses.
 */
#ifndef RAFTLB_HEALTH_FSM_H
#define RAFTLB_HEALTH_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum health_state {
    HEALTH_UNKNOWN = 0, /* no probe has completed yet; usable */
    HEALTH_UP,
    HEALTH_DOWN,
    HEALTH_STATE_COUNT
};

/* What one probe saw. Everything but HEALTH_OUTCOME_OK is a failure. */
enum health_outcome {
    HEALTH_OUTCOME_OK = 0,        /* connected (tcp) / expected status and body (http) */
    HEALTH_OUTCOME_REFUSED,       /* connection refused */
    HEALTH_OUTCOME_TIMEOUT,       /* no verdict within health_timeout */
    HEALTH_OUTCOME_RESET,         /* connection reset by the server */
    HEALTH_OUTCOME_CONNECT_ERROR, /* any other connect failure (unreachable, ...) */
    HEALTH_OUTCOME_CLOSED,        /* closed before a complete status line */
    HEALTH_OUTCOME_BAD_RESPONSE,  /* not an HTTP/1.x response */
    HEALTH_OUTCOME_BAD_STATUS,    /* status outside health_expect */
    HEALTH_OUTCOME_BODY_MISMATCH, /* health_body not found in the body */
    HEALTH_OUTCOME_TLS_ERROR,     /* TLS handshake or verification failed */
    HEALTH_OUTCOME_COUNT
};

struct health_result {
    enum health_outcome outcome;
    uint16_t status;     /* HTTP status seen, 0: none (tcp, or no status line) */
    uint32_t latency_ms; /* probe start to verdict */
};

struct health_fsm_params {
    uint32_t rise;             /* consecutive passes DOWN -> UP, >= 1 */
    uint32_t fall;             /* consecutive failures UP -> DOWN, >= 1 */
    uint32_t interval_ms;      /* between probes of a steady server, >= 1 */
    uint32_t fast_interval_ms; /* while changing state; 0: interval/4 (>= 1) */
    uint32_t jitter_percent;   /* each delay varies by +- this %, 0..50 */
};

/* A verdict change, as observe() reports it. */
struct health_fsm_change {
    enum health_state from;
    enum health_state to;
    uint32_t count;            /* consecutive results that decided it */
    struct health_result last; /* the result that completed the count */
    uint64_t at_ms;
};

/*
 * The state of one server. Every field is readable by the caller (the admin API
 * shows them); only the functions below write them.
 */
struct health_fsm {
    struct health_fsm_params params; /* as validated by init (fast interval resolved) */
    enum health_state state;
    uint32_t successes; /* consecutive passes (saturating) */
    uint32_t failures;  /* consecutive failures (saturating) */
    uint64_t checks;    /* probes observed */
    uint64_t checks_failed;
    bool has_last; /* last_* below are valid */
    struct health_result last;
    uint64_t last_check_ms;
    bool has_change;                 /* change below is valid */
    struct health_fsm_change change; /* the last verdict change, with its reason */
    uint64_t changes;                /* verdict changes so far */
    bool recovered; /* the last change was DOWN -> UP (slow start applies) */
};

/*
 * Validates `p` and sets `f` to HEALTH_UNKNOWN with zero counters.
 * Returns 0, or -EINVAL with a reason in `err` (f is then untouched).
 */
int health_fsm_init(struct health_fsm *f, const struct health_fsm_params *p, char *err,
                    size_t errlen);

/*
 * Counts one probe result at `now_ms`.
 * UNKNOWN: a pass -> UP, a failure -> DOWN (first probe decides, see above).
 * UP: `fall` consecutive failures -> DOWN. DOWN: `rise` consecutive passes -> UP.
 * A pass resets the failure count and a failure the pass count, so a flapping
 * server (pass, fail, pass, ...) keeps its verdict when rise and fall are >= 2.
 * Returns 1 when the verdict changed (and fills *change if not NULL), 0 when it
 * did not, -EINVAL for an outcome outside the enumeration (nothing counted).
 */
int health_fsm_observe(struct health_fsm *f, uint64_t now_ms,
                       const struct health_result *r, struct health_fsm_change *change);

/* True while the verdict may be about to change: no probe yet, an UP server that
 * has failed, or a DOWN server that has passed. */
bool health_fsm_transitioning(const struct health_fsm *f);

/*
 * When the next probe should start, given that the previous one ended (or the
 * server was added) at `now_ms` and 32 bits of fresh randomness in `random`.
 * The base delay is the fast interval while transitioning, else the interval.
 * Before the first probe the delay is random % base, which spreads the first
 * probes of many servers started together over one fast interval. Afterwards it
 * is base +- jitter_percent (uniform over the integers, at least 1 ms). The same
 * inputs always give the same answer.
 */
uint64_t health_fsm_next_probe_ms(const struct health_fsm *f, uint64_t now_ms,
                                  uint32_t random);

/* "UNKNOWN", "UP", "DOWN"; "?" outside the enumeration. */
const char *health_state_name(enum health_state s);

/* A short identifier for metrics and JSON: "ok", "refused", "timeout", ... */
const char *health_outcome_name(enum health_outcome o);

/*
 * Describes a result for a human into `buf` (always NUL-terminated when buflen >
 * 0): "connection refused", "timeout after 500 ms", "status 503", "status 200 in
 * 3 ms". Returns 0, or -ENOSPC when truncated.
 */
int health_result_format(const struct health_result *r, char *buf, size_t buflen);

/*
 * Describes a change for the log line "server POOL/NAME <this>", e.g.
 * "DOWN: 3 consecutive failures, last: connection refused" or
 * "UP: 2 consecutive passes, last: status 200 in 4 ms" or
 * "DOWN: first check failed: timeout after 500 ms".
 * Returns 0, or -ENOSPC when truncated (buf is still NUL-terminated).
 */
int health_fsm_change_format(const struct health_fsm_change *c, char *buf, size_t buflen);

#endif
