/*
 * health_combine: effective weight and usability of a server from its admin
 * state, active verdict, passive ejection and slow start (see health_combine.h).
 */
#include "health/health_combine.h"

#include "lb/lb_slowstart.h"

static const char *const admin_names[HEALTH_ADMIN_COUNT] = {
    [HEALTH_ADMIN_READY] = "ready",
    [HEALTH_ADMIN_DRAIN] = "drain",
    [HEALTH_ADMIN_MAINT] = "maint",
};

static const char *const unusable_names[HEALTH_UNUSABLE_COUNT] = {
    [HEALTH_UNUSABLE_NONE] = "",           [HEALTH_UNUSABLE_MAINT] = "maint",
    [HEALTH_UNUSABLE_DRAIN] = "drain",     [HEALTH_UNUSABLE_DOWN] = "down",
    [HEALTH_UNUSABLE_EJECTED] = "ejected",
};

const char *health_admin_name(enum health_admin a)
{
    return (unsigned)a < HEALTH_ADMIN_COUNT ? admin_names[a] : "?";
}

const char *health_unusable_name(enum health_unusable u)
{
    return (unsigned)u < HEALTH_UNUSABLE_COUNT ? unusable_names[u] : "?";
}

static enum health_unusable why_unusable(const struct health_view *v)
{
    /* the operator's word first, then the checks */
    if (v->admin == HEALTH_ADMIN_DRAIN)
        return HEALTH_UNUSABLE_DRAIN;
    if (v->admin != HEALTH_ADMIN_READY)
        return HEALTH_UNUSABLE_MAINT;
    if (v->active != HEALTH_UNKNOWN && v->active != HEALTH_UP)
        return HEALTH_UNUSABLE_DOWN;
    if (v->ejected)
        return HEALTH_UNUSABLE_EJECTED;
    return HEALTH_UNUSABLE_NONE;
}

static uint64_t ramp_elapsed_ms(const struct health_view *v, uint64_t now_ms)
{
    return now_ms > v->back_ms ? now_ms - v->back_ms : 0;
}

enum health_unusable health_combine(const struct health_view *v, uint64_t now_ms,
                                    struct lb_server *out)
{
    enum health_unusable why = why_unusable(v);

    out->name = v->name;
    out->backup = v->backup;
    out->usable = why == HEALTH_UNUSABLE_NONE;
    if (!out->usable)
        out->weight = 0;
    else if (v->ramping)
        out->weight =
            lb_slowstart_weight(v->weight, ramp_elapsed_ms(v, now_ms), v->slowstart_ms);
    else
        out->weight = v->weight;
    return why;
}

uint64_t health_combine_next_change_ms(const struct health_view *v, uint64_t now_ms)
{
    uint64_t e;
    if (why_unusable(v) != HEALTH_UNUSABLE_NONE || !v->ramping)
        return 0;
    e = lb_slowstart_next_ms(v->weight, ramp_elapsed_ms(v, now_ms), v->slowstart_ms);
    return e == 0 ? 0 : v->back_ms + e;
}

void health_pool_summarize(const struct lb_server *servers, size_t n,
                           struct health_pool_summary *out)
{
    size_t i;
    out->usable = 0;
    out->usable_backup = 0;
    for (i = 0; i < n; i++) {
        if (!servers[i].usable || servers[i].weight == 0)
            continue;
        if (servers[i].backup)
            out->usable_backup++;
        else
            out->usable++;
    }
    out->all_down = out->usable == 0 && out->usable_backup == 0;
}
