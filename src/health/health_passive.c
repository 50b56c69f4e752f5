/*
 * health_passive: consecutive-failure ejection with exponential back-off and a
 * pool-wide cap (see health_passive.h). Pure; allocates only in init.
 */
#include "health/health_passive.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EJECT_TIME_DEFAULT_MS 300000u /* Envoy's max_ejection_time default */

static const char *const req_outcome_names[HEALTH_REQ_COUNT] = {
    [HEALTH_REQ_OK] = "ok",       [HEALTH_REQ_CONNECT_FAIL] = "connect_fail",
    [HEALTH_REQ_RESET] = "reset", [HEALTH_REQ_TIMEOUT] = "timeout",
    [HEALTH_REQ_5XX] = "5xx",
};

const char *health_req_outcome_name(enum health_req_outcome o)
{
    return (unsigned)o < HEALTH_REQ_COUNT ? req_outcome_names[o] : "?";
}

int health_passive_init(struct health_passive *hp, size_t server_count,
                        const struct health_passive_params *p, char *err, size_t errlen)
{
    struct health_passive_params v = *p;
    const char *why = NULL;
    int rc = -EINVAL;

    memset(hp, 0, sizeof(*hp));
    if (server_count == 0)
        why = "a pool needs at least one server";
    else if (v.eject_after > 0 && v.eject_time_ms == 0)
        why = "eject_time must be at least 1 ms";
    else if (v.max_ejected_percent > 100)
        why = "max_ejected_percent must be between 0 and 100";
    else if (v.max_eject_time_ms != 0 && v.max_eject_time_ms < v.eject_time_ms)
        why = "the maximum ejection time must not be below eject_time";
    if (why != NULL)
        goto fail;

    if (v.max_eject_time_ms == 0)
        v.max_eject_time_ms = v.eject_time_ms > MAX_EJECT_TIME_DEFAULT_MS
                                  ? v.eject_time_ms
                                  : MAX_EJECT_TIME_DEFAULT_MS;
    if (v.decay_ms == 0)
        v.decay_ms = v.eject_time_ms > 0 ? v.eject_time_ms : 1;

    hp->servers = calloc(server_count, sizeof(*hp->servers));
    if (hp->servers == NULL) {
        why = "out of memory";
        rc = -ENOMEM;
        goto fail;
    }
    hp->params = v;
    hp->server_count = server_count;
    /* computed in 64 bits: server_count * 100 cannot overflow for a real pool */
    hp->max_ejected = (size_t)((uint64_t)server_count * v.max_ejected_percent / 100);
    return 0;

fail:
    if (errlen > 0)
        snprintf(err, errlen, "%s", why);
    return rc;
}

void health_passive_free(struct health_passive *hp)
{
    free(hp->servers);
    memset(hp, 0, sizeof(*hp));
}

/* eject_time * 2^(n-1), capped at max_eject_time. */
static uint64_t eject_duration_ms(const struct health_passive_params *p, uint32_t n)
{
    uint64_t d = p->eject_time_ms;
    uint32_t i;
    for (i = 1; i < n && d < p->max_eject_time_ms; i++)
        d *= 2;
    return d < p->max_eject_time_ms ? d : p->max_eject_time_ms;
}

static void bring_back(struct health_passive *hp, size_t i, uint64_t now_ms,
                       enum health_passive_event ev, struct health_passive_change *change)
{
    struct health_passive_server *s = &hp->servers[i];
    s->ejected = false;
    s->failures = 0;
    s->back_at_ms = now_ms;
    hp->ejected_count--;
    if (change != NULL) {
        memset(change, 0, sizeof(*change));
        change->server = i;
        change->event = ev;
        change->at_ms = now_ms;
    }
}

int health_passive_observe(struct health_passive *hp, uint64_t now_ms, size_t server,
                           enum health_req_outcome outcome,
                           struct health_passive_change *change)
{
    struct health_passive_server *s;
    uint64_t steps;

    if (server >= hp->server_count || (unsigned)outcome >= HEALTH_REQ_COUNT)
        return -EINVAL;
    s = &hp->servers[server];
    if (outcome == HEALTH_REQ_OK) {
        if (!s->ejected)
            s->failures = 0;
        return 0;
    }
    s->last_failure = outcome;
    if (s->ejected)
        return 0;
    if (s->failures < UINT32_MAX)
        s->failures++;
    if (hp->params.eject_after == 0 || s->failures < hp->params.eject_after)
        return 0;
    if (hp->ejected_count >= hp->max_ejected)
        return 0; /* the cap is full: it stays in, and tries again on its next failure */

    /* decay: one step of back-off forgiven per full decay period spent back */
    if (s->backoff > 0 && now_ms > s->back_at_ms) {
        steps = (now_ms - s->back_at_ms) / hp->params.decay_ms;
        s->backoff = steps >= s->backoff ? 0 : s->backoff - (uint32_t)steps;
    }
    if (s->backoff < UINT32_MAX)
        s->backoff++;
    s->ejected = true;
    s->ejected_at_ms = now_ms;
    s->eject_until_ms = now_ms + eject_duration_ms(&hp->params, s->backoff);
    s->ejections++;
    hp->ejected_count++;
    if (change != NULL) {
        change->server = server;
        change->event = HEALTH_PASSIVE_EJECTED;
        change->at_ms = now_ms;
        change->failures = s->failures;
        change->last = outcome;
        change->duration_ms = s->eject_until_ms - now_ms;
        change->backoff = s->backoff;
    }
    return 1;
}

size_t health_passive_tick(struct health_passive *hp, uint64_t now_ms,
                           struct health_passive_change *out, size_t cap)
{
    size_t i, n = 0;
    for (i = 0; i < hp->server_count && n < cap && hp->ejected_count > 0; i++) {
        struct health_passive_server *s = &hp->servers[i];
        if (s->ejected && s->eject_until_ms <= now_ms)
            bring_back(hp, i, now_ms, HEALTH_PASSIVE_RETURNED_TIME, &out[n++]);
    }
    return n;
}

int health_passive_active_pass(struct health_passive *hp, uint64_t now_ms, size_t server,
                               struct health_passive_change *change)
{
    if (server >= hp->server_count)
        return -EINVAL;
    if (!hp->servers[server].ejected)
        return 0;
    bring_back(hp, server, now_ms, HEALTH_PASSIVE_RETURNED_ACTIVE, change);
    return 1;
}

bool health_passive_is_ejected(const struct health_passive *hp, size_t server)
{
    return server < hp->server_count && hp->servers[server].ejected;
}

uint64_t health_passive_next_deadline_ms(const struct health_passive *hp)
{
    uint64_t t = UINT64_MAX;
    size_t i;
    for (i = 0; i < hp->server_count && hp->ejected_count > 0; i++)
        if (hp->servers[i].ejected && hp->servers[i].eject_until_ms < t)
            t = hp->servers[i].eject_until_ms;
    return t;
}

int health_passive_change_format(const struct health_passive_change *c, char *buf,
                                 size_t buflen)
{
    int n;
    if (buflen == 0)
        return -ENOSPC;
    switch (c->event) {
    case HEALTH_PASSIVE_EJECTED:
        n = snprintf(buf, buflen,
                     "EJECTED for %llu ms (ejection %u in a row): %u consecutive failed "
                     "requests, last: %s",
                     (unsigned long long)c->duration_ms, (unsigned)c->backoff,
                     (unsigned)c->failures, health_req_outcome_name(c->last));
        break;
    case HEALTH_PASSIVE_RETURNED_TIME:
        n = snprintf(buf, buflen, "BACK: ejection time over");
        break;
    case HEALTH_PASSIVE_RETURNED_ACTIVE:
        n = snprintf(buf, buflen, "BACK: active check passed");
        break;
    default:
        n = snprintf(buf, buflen, "unknown passive event %d", (int)c->event);
        break;
    }
    return n < 0 || (size_t)n >= buflen ? -ENOSPC : 0;
}
