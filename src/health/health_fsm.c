/*
 * health_fsm: consecutive-result counting, verdicts and probe scheduling of one
 * server (see health_fsm.h). Pure: no clock, no randomness of its own, no I/O.
 */
#include "health/health_fsm.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define JITTER_PERCENT_MAX 50u

static const char *const state_names[HEALTH_STATE_COUNT] = {
    [HEALTH_UNKNOWN] = "UNKNOWN",
    [HEALTH_UP] = "UP",
    [HEALTH_DOWN] = "DOWN",
};

static const char *const outcome_names[HEALTH_OUTCOME_COUNT] = {
    [HEALTH_OUTCOME_OK] = "ok",
    [HEALTH_OUTCOME_REFUSED] = "refused",
    [HEALTH_OUTCOME_TIMEOUT] = "timeout",
    [HEALTH_OUTCOME_RESET] = "reset",
    [HEALTH_OUTCOME_CONNECT_ERROR] = "connect_error",
    [HEALTH_OUTCOME_CLOSED] = "closed",
    [HEALTH_OUTCOME_BAD_RESPONSE] = "bad_response",
    [HEALTH_OUTCOME_BAD_STATUS] = "bad_status",
    [HEALTH_OUTCOME_BODY_MISMATCH] = "body_mismatch",
    [HEALTH_OUTCOME_TLS_ERROR] = "tls_error",
};

const char *health_state_name(enum health_state s)
{
    return (unsigned)s < HEALTH_STATE_COUNT ? state_names[s] : "?";
}

const char *health_outcome_name(enum health_outcome o)
{
    return (unsigned)o < HEALTH_OUTCOME_COUNT ? outcome_names[o] : "?";
}

int health_fsm_init(struct health_fsm *f, const struct health_fsm_params *p, char *err,
                    size_t errlen)
{
    struct health_fsm_params v = *p;
    const char *why = NULL;

    if (v.rise == 0)
        why = "rise must be at least 1";
    else if (v.fall == 0)
        why = "fall must be at least 1";
    else if (v.interval_ms == 0)
        why = "health_interval must be at least 1 ms";
    else if (v.fast_interval_ms > v.interval_ms)
        why = "the fast health interval must not exceed health_interval";
    else if (v.jitter_percent > JITTER_PERCENT_MAX)
        why = "health jitter must be between 0 and 50 percent";
    if (why != NULL) {
        if (errlen > 0)
            snprintf(err, errlen, "%s", why);
        return -EINVAL;
    }
    if (v.fast_interval_ms == 0)
        v.fast_interval_ms = v.interval_ms / 4 > 0 ? v.interval_ms / 4 : 1;
    memset(f, 0, sizeof(*f));
    f->params = v;
    f->state = HEALTH_UNKNOWN;
    return 0;
}

static uint32_t sat_inc(uint32_t n)
{
    return n == UINT32_MAX ? n : n + 1;
}

int health_fsm_observe(struct health_fsm *f, uint64_t now_ms,
                       const struct health_result *r, struct health_fsm_change *change)
{
    enum health_state to = f->state;
    uint32_t count = 0;
    bool ok;

    if ((unsigned)r->outcome >= HEALTH_OUTCOME_COUNT)
        return -EINVAL;
    ok = r->outcome == HEALTH_OUTCOME_OK;

    f->checks++;
    if (ok) {
        f->successes = sat_inc(f->successes);
        f->failures = 0;
    } else {
        f->checks_failed++;
        f->failures = sat_inc(f->failures);
        f->successes = 0;
    }
    f->has_last = true;
    f->last = *r;
    f->last_check_ms = now_ms;

    switch (f->state) {
    case HEALTH_UNKNOWN:
        to = ok ? HEALTH_UP : HEALTH_DOWN;
        count = 1;
        break;
    case HEALTH_UP:
        if (!ok && f->failures >= f->params.fall) {
            to = HEALTH_DOWN;
            count = f->failures;
        }
        break;
    case HEALTH_DOWN:
        if (ok && f->successes >= f->params.rise) {
            to = HEALTH_UP;
            count = f->successes;
        }
        break;
    default:
        assert(!"health_fsm: state outside the enumeration");
        return -EINVAL;
    }
    if (to == f->state)
        return 0;

    f->change.from = f->state;
    f->change.to = to;
    f->change.count = count;
    f->change.last = *r;
    f->change.at_ms = now_ms;
    f->has_change = true;
    f->changes++;
    f->recovered = f->state == HEALTH_DOWN && to == HEALTH_UP;
    f->state = to;
    if (change != NULL)
        *change = f->change;
    return 1;
}

bool health_fsm_transitioning(const struct health_fsm *f)
{
    switch (f->state) {
    case HEALTH_UNKNOWN:
        return true;
    case HEALTH_UP:
        return f->failures > 0;
    case HEALTH_DOWN:
        return f->successes > 0;
    default:
        return false;
    }
}

uint64_t health_fsm_next_probe_ms(const struct health_fsm *f, uint64_t now_ms,
                                  uint32_t random)
{
    uint64_t base =
        health_fsm_transitioning(f) ? f->params.fast_interval_ms : f->params.interval_ms;
    uint64_t delay;

    if (f->checks == 0) {
        delay = random % base;
    } else {
        uint64_t span = base * f->params.jitter_percent / 100;
        /* uniform over [base - span, base + span]; span <= base / 2 */
        delay = base - span + (uint64_t)random % (2 * span + 1);
        if (delay == 0)
            delay = 1;
    }
    return now_ms > UINT64_MAX - delay ? UINT64_MAX : now_ms + delay;
}

static int put(char *buf, size_t buflen, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int put(char *buf, size_t buflen, size_t *off, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (*off >= buflen)
        return -ENOSPC;
    va_start(ap, fmt);
    n = vsnprintf(buf + *off, buflen - *off, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n >= buflen - *off) {
        *off = buflen;
        return -ENOSPC;
    }
    *off += (size_t)n;
    return 0;
}

static int format_result(const struct health_result *r, char *buf, size_t buflen,
                         size_t *off)
{
    switch (r->outcome) {
    case HEALTH_OUTCOME_OK:
        if (r->status != 0)
            return put(buf, buflen, off, "status %u in %u ms", (unsigned)r->status,
                       (unsigned)r->latency_ms);
        return put(buf, buflen, off, "connected in %u ms", (unsigned)r->latency_ms);
    case HEALTH_OUTCOME_REFUSED:
        return put(buf, buflen, off, "connection refused");
    case HEALTH_OUTCOME_TIMEOUT:
        return put(buf, buflen, off, "timeout after %u ms", (unsigned)r->latency_ms);
    case HEALTH_OUTCOME_RESET:
        return put(buf, buflen, off, "connection reset");
    case HEALTH_OUTCOME_CONNECT_ERROR:
        return put(buf, buflen, off, "connect failed");
    case HEALTH_OUTCOME_CLOSED:
        return put(buf, buflen, off, "connection closed before a response");
    case HEALTH_OUTCOME_BAD_RESPONSE:
        return put(buf, buflen, off, "invalid HTTP response");
    case HEALTH_OUTCOME_BAD_STATUS:
        return put(buf, buflen, off, "status %u", (unsigned)r->status);
    case HEALTH_OUTCOME_BODY_MISMATCH:
        return put(buf, buflen, off, "status %u, expected body text not found",
                   (unsigned)r->status);
    case HEALTH_OUTCOME_TLS_ERROR:
        return put(buf, buflen, off, "TLS handshake failed");
    default:
        return put(buf, buflen, off, "unknown outcome %d", (int)r->outcome);
    }
}

int health_result_format(const struct health_result *r, char *buf, size_t buflen)
{
    size_t off = 0;
    if (buflen == 0)
        return -ENOSPC;
    buf[0] = '\0';
    return format_result(r, buf, buflen, &off);
}

int health_fsm_change_format(const struct health_fsm_change *c, char *buf, size_t buflen)
{
    size_t off = 0;
    bool ok = c->last.outcome == HEALTH_OUTCOME_OK;
    int rc;

    if (buflen == 0)
        return -ENOSPC;
    buf[0] = '\0';
    rc = put(buf, buflen, &off, "%s: ", health_state_name(c->to));
    if (rc == 0 && c->from == HEALTH_UNKNOWN)
        rc = put(buf, buflen, &off, "first check %s: ", ok ? "passed" : "failed");
    else if (rc == 0)
        rc = put(buf, buflen, &off, "%u consecutive %s%s, last: ", (unsigned)c->count,
                 ok ? "pass" : "failure", c->count == 1 ? "" : (ok ? "es" : "s"));
    if (rc == 0)
        rc = format_result(&c->last, buf, buflen, &off);
    return rc;
}
