/*
 * health_monitor: see health_monitor.h.
 */
#include "config.h"

#include "health/health_monitor.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "health/health_expect.h"
#include "health/health_fsm.h"
#include "health/health_passive.h"
#include "health/health_probe.h"
#include "health/health_probe_http.h"
#include "health/health_sched.h"
#include "tls/tls_ctx.h"
#include "util/log.h"

#define REQUEST_MAX 1024
#define TAKE_BATCH 256

struct hm_pool;

struct hm_server {
    struct health_monitor *hm;
    struct hm_pool *pool;
    size_t index;                   /* in its pool */
    size_t flat;                    /* in hm->servers, the scheduler's index */
    const struct conf_server *cs;
    struct sockaddr_storage check_addr;
    socklen_t check_len;
    bool checked;                   /* active checks run for it */
    struct health_fsm fsm;
    struct health_probe *probe;     /* in flight */
    bool ramping;                   /* slow start from back_ms */
    uint64_t back_ms;
    struct route_counter *counter;
    struct tls_client *tls; /* health = https: the probes' client context */
    char request[REQUEST_MAX];
    size_t request_len;
    /* what the routing was last told */
    enum health_unusable unusable;
    uint32_t weight;
};

struct hm_pool {
    const struct conf_pool *cp;
    struct hm_server *servers; /* into hm->servers */
    size_t count;
    struct health_expect expect;
    struct health_passive passive;
    bool passive_on;
    bool all_down;            /* as last logged */
    struct route_counter *counter;
    uint64_t fallbacks_logged;
};

struct health_monitor {
    struct ev_loop *loop;
    const struct conf *conf;
    struct hm_pool *pools;
    size_t pool_count;
    struct hm_server *servers;
    size_t server_count;
    struct health_sched sched;
    bool sched_on;
    ev_timer timer;
    ev_timer fallback_timer;
    health_monitor_changed_fn changed;
    void *arg;
    struct route_server_override *ov;
    uint64_t rng;
    uint64_t dropped_logged;
    bool claimed; /* in service (health_monitor_claim) */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t rnd32(struct health_monitor *hm)
{
    /* xorshift64*: jitter only, no need for more */
    hm->rng ^= hm->rng >> 12;
    hm->rng ^= hm->rng << 25;
    hm->rng ^= hm->rng >> 27;
    return (uint32_t)((hm->rng * 2685821657736338717ull) >> 32);
}

static enum health_admin admin_of(enum conf_server_state s)
{
    switch (s) {
    case CONF_SERVER_DRAIN:
        return HEALTH_ADMIN_DRAIN;
    case CONF_SERVER_MAINT:
        return HEALTH_ADMIN_MAINT;
    case CONF_SERVER_READY:
    case CONF_SERVER_STATE_COUNT:
        break;
    }
    return HEALTH_ADMIN_READY;
}

static void view_of(const struct hm_server *s, struct health_view *v)
{
    memset(v, 0, sizeof(*v));
    v->name = s->cs->name;
    v->weight = s->cs->weight * ROUTE_WEIGHT_SCALE;
    v->backup = s->cs->backup;
    v->admin = admin_of(s->cs->state);
    v->active = s->checked ? s->fsm.state : HEALTH_UP;
    v->ejected = s->pool->passive_on && health_passive_is_ejected(&s->pool->passive, s->index);
    v->ramping = s->ramping;
    v->back_ms = s->back_ms;
    v->slowstart_ms = s->cs->slowstart_ms;
}

static void arm(struct health_monitor *hm, uint64_t now);

/*
 * Recomputes what the balancers should see; tells the runtime when it differs
 * from what it was last told, and logs pools that lose or regain every server.
 */
static void evaluate(struct health_monitor *hm, uint64_t now, bool force)
{
    bool diff = force;
    for (size_t p = 0; p < hm->pool_count; p++) {
        struct hm_pool *hp = &hm->pools[p];
        size_t usable = 0;
        for (size_t i = 0; i < hp->count; i++) {
            struct hm_server *s = &hp->servers[i];
            struct health_view v;
            struct lb_server out;
            enum health_unusable u;
            view_of(s, &v);
            u = health_combine(&v, now, &out);
            if (u == HEALTH_UNUSABLE_NONE && out.weight > 0)
                usable++;
            if (u == HEALTH_UNUSABLE_NONE && s->ramping && out.weight == v.weight)
                s->ramping = false; /* ramp over */
            if (u != s->unusable || out.weight != s->weight)
                diff = true;
            s->unusable = u;
            s->weight = out.weight;
        }
        if ((usable == 0) != hp->all_down) {
            hp->all_down = usable == 0;
            if (hp->all_down)
                log_warn("pool %s: no server is usable; requests get 503 until one is",
                         hp->cp->name);
            else
                log_info("pool %s: %zu server%s usable again", hp->cp->name, usable,
                         usable == 1 ? "" : "s");
        }
    }
    if (diff && hm->changed != NULL)
        hm->changed(hm->arg);
}

static void log_passive(struct hm_server *s, const struct health_passive_change *c)
{
    char why[256];
    health_passive_change_format(c, why, sizeof(why));
    if (c->event == HEALTH_PASSIVE_EJECTED)
        log_warn("server %s/%s %s", s->pool->cp->name, s->cs->name, why);
    else if (s->checked && s->fsm.state == HEALTH_DOWN)
        log_info("server %s/%s %s (still DOWN by its active checks)", s->pool->cp->name,
                 s->cs->name, why);
    else
        log_info("server %s/%s %s", s->pool->cp->name, s->cs->name, why);
}

static void came_back(struct hm_server *s, uint64_t at_ms)
{
    if (s->cs->slowstart_ms == 0)
        return;
    if (!s->ramping || at_ms > s->back_ms)
        s->back_ms = at_ms;
    s->ramping = true;
}

static void start_probes(struct health_monitor *hm, uint64_t now);

static void probe_done(void *arg, const struct health_result *r)
{
    struct hm_server *s = arg;
    struct health_monitor *hm = s->hm;
    struct health_fsm_change ch;
    uint64_t now = now_ms();
    uint64_t next = HEALTH_SCHED_NEVER;

    s->probe = NULL;
    if (health_fsm_observe(&s->fsm, now, r, &ch) == 1) {
        char why[256];
        health_fsm_change_format(&ch, why, sizeof(why));
        if (ch.to == HEALTH_DOWN)
            log_warn("server %s/%s %s", s->pool->cp->name, s->cs->name, why);
        else
            log_info("server %s/%s %s", s->pool->cp->name, s->cs->name, why);
        if (s->fsm.recovered)
            came_back(s, ch.at_ms);
    }
    if (r->outcome == HEALTH_OUTCOME_OK && s->pool->passive_on) {
        struct health_passive_change pc;
        if (health_passive_active_pass(&s->pool->passive, now, s->index, &pc) == 1) {
            log_passive(s, &pc);
            came_back(s, pc.at_ms);
        }
    }
    if (s->checked) {
        /* A failure is paced from the probe's start: a probe that timed out does
         * not add its timeout to the interval. A pass is paced from its end: a
         * server that held several probes and answers them at once must not
         * count them as `rise` passes a millisecond apart. */
        uint64_t started = now > r->latency_ms ? now - r->latency_ms : now;
        next = health_fsm_next_probe_ms(
            &s->fsm, r->outcome == HEALTH_OUTCOME_OK ? now : started, rnd32(hm));
        if (next < now)
            next = now;
    }
    health_sched_done(&hm->sched, s->flat, next);
    evaluate(hm, now, false);
    start_probes(hm, now);
    arm(hm, now);
}

static void start_probes(struct health_monitor *hm, uint64_t now)
{
    size_t i;
    if (!hm->sched_on)
        return;
    while (health_sched_pop(&hm->sched, now, &i) == 1) {
        struct hm_server *s = &hm->servers[i];
        struct health_probe_spec spec;
        memset(&spec, 0, sizeof(spec));
        spec.addr = (const struct sockaddr *)&s->check_addr;
        spec.addr_len = s->check_len;
        spec.timeout_ms = s->pool->cp->health_timeout_ms;
        spec.http = s->pool->cp->health != CONF_HEALTH_TCP;
        spec.request = s->request;
        spec.request_len = s->request_len;
        spec.method = s->pool->cp->health_method;
        spec.expect = &s->pool->expect;
        spec.tls = s->tls;
        s->probe = health_probe_start(hm->loop, &spec, probe_done, s);
        if (s->probe == NULL) {
            log_error("server %s/%s: out of memory for a health check; retrying",
                      s->pool->cp->name, s->cs->name);
            health_sched_done(&hm->sched, i, now + s->pool->cp->health_interval_ms);
            return;
        }
    }
}

static void passive_tick(struct health_monitor *hm, uint64_t now)
{
    struct health_passive_change ch[32];
    for (size_t p = 0; p < hm->pool_count; p++) {
        struct hm_pool *hp = &hm->pools[p];
        size_t n;
        if (!hp->passive_on)
            continue;
        while ((n = health_passive_tick(&hp->passive, now, ch, 32)) > 0) {
            for (size_t k = 0; k < n; k++) {
                struct hm_server *s = &hp->servers[ch[k].server];
                log_passive(s, &ch[k]);
                came_back(s, ch[k].at_ms);
                atomic_store_explicit(&s->counter->report_ok, 0, memory_order_relaxed);
            }
            if (n < 32)
                break;
        }
    }
}

/* Sets the timer for the earliest of: a probe due, an ejection ending, a
 * slow-start step. */
static void arm(struct health_monitor *hm, uint64_t now)
{
    uint64_t next = hm->sched_on ? health_sched_next_ms(&hm->sched) : HEALTH_SCHED_NEVER;
    for (size_t p = 0; p < hm->pool_count; p++) {
        struct hm_pool *hp = &hm->pools[p];
        if (hp->passive_on) {
            uint64_t d = health_passive_next_deadline_ms(&hp->passive);
            if (d < next)
                next = d;
        }
        for (size_t i = 0; i < hp->count; i++) {
            struct hm_server *s = &hp->servers[i];
            struct health_view v;
            uint64_t c;
            if (!s->ramping)
                continue;
            view_of(s, &v);
            c = health_combine_next_change_ms(&v, now);
            if (c != 0 && c < next)
                next = c;
        }
    }
    ev_timer_stop(hm->loop, &hm->timer);
    if (next == HEALTH_SCHED_NEVER)
        return;
    ev_timer_set(&hm->timer, next > now ? (double)(next - now) / 1000.0 : 0.0, 0.);
    ev_timer_start(hm->loop, &hm->timer);
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct health_monitor *hm = t->data;
    uint64_t now = now_ms();
    (void)loop;
    (void)revents;
    passive_tick(hm, now);
    start_probes(hm, now);
    evaluate(hm, now, false);
    arm(hm, now);
}

static void log_fallbacks(struct health_monitor *hm)
{
    for (size_t p = 0; p < hm->pool_count; p++) {
        struct hm_pool *hp = &hm->pools[p];
        uint64_t n = atomic_load_explicit(&hp->counter->fallbacks, memory_order_relaxed);
        if (n != hp->fallbacks_logged) {
            log_info("pool %s: %llu requests without a %s key went round robin "
                     "(%llu since start)",
                     hp->cp->name, (unsigned long long)(n - hp->fallbacks_logged),
                     conf_hash_key_name(hp->cp->hash_key), (unsigned long long)n);
            hp->fallbacks_logged = n;
        }
    }
}

static void on_fallback_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    log_fallbacks(t->data);
}

void health_monitor_take(struct health_monitor *hm, struct health_mailbox *mb)
{
    struct health_mailbox_item items[TAKE_BATCH];
    uint64_t now = now_ms(), dropped = 0;
    bool any = false;
    size_t n;

    while ((n = health_mailbox_take(mb, items, TAKE_BATCH, &dropped)) > 0) {
        for (size_t k = 0; k < n; k++) {
            struct hm_server *s = items[k].counter->health;
            struct health_passive_change ch;
            if (s == NULL || !s->pool->passive_on)
                continue;
            if (health_passive_observe(&s->pool->passive, now, s->index, items[k].outcome,
                                       &ch) == 1) {
                log_passive(s, &ch);
                any = true;
            }
            atomic_store_explicit(&s->counter->report_ok,
                                  s->pool->passive.servers[s->index].failures > 0 &&
                                      !health_passive_is_ejected(&s->pool->passive,
                                                                 s->index),
                                  memory_order_relaxed);
        }
        if (n < TAKE_BATCH)
            break;
    }
    if (dropped != hm->dropped_logged) {
        log_warn("passive health checks: %llu request outcomes dropped (mailbox full)",
                 (unsigned long long)(dropped - hm->dropped_logged));
        hm->dropped_logged = dropped;
    }
    if (any) {
        evaluate(hm, now, false);
        arm(hm, now);
    }
}

/* The old monitor's entry for the same server (pool, name and address), or NULL. */
static const struct hm_server *old_server(const struct health_monitor *old,
                                          const struct conf_pool *cp,
                                          const struct conf_server *cs)
{
    if (old == NULL)
        return NULL;
    for (size_t p = 0; p < old->pool_count; p++) {
        const struct hm_pool *op = &old->pools[p];
        if (strcmp(op->cp->name, cp->name) != 0)
            continue;
        for (size_t i = 0; i < op->count; i++) {
            const struct conf_server *o = op->servers[i].cs;
            if (strcmp(o->name, cs->name) == 0 && o->addr.len == cs->addr.len &&
                memcmp(&o->addr.ss, &cs->addr.ss, cs->addr.len) == 0)
                return &op->servers[i];
        }
    }
    return NULL;
}

static int pool_init(struct health_monitor *hm, struct hm_pool *hp,
                     const struct conf_pool *cp, struct route_counters *reg, char *err,
                     size_t errlen)
{
    struct health_passive_params pp;
    char why[256];
    hp->cp = cp;
    hp->expect.count = cp->health_expect_count;
    for (size_t k = 0; k < cp->health_expect_count && k < HEALTH_EXPECT_RANGES_MAX; k++) {
        hp->expect.lo[k] = cp->health_expect_lo[k];
        hp->expect.hi[k] = cp->health_expect_hi[k];
    }
    hp->expect.body = cp->health_body;
    hp->counter = route_counter_get(reg, cp->name, "");
    if (hp->counter == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    hp->fallbacks_logged = atomic_load(&hp->counter->fallbacks);
    memset(&pp, 0, sizeof(pp));
    pp.eject_after = cp->eject_after;
    pp.eject_time_ms = cp->eject_time_ms;
    pp.max_ejected_percent = cp->max_ejected_percent;
    hp->passive_on = cp->eject_after > 0;
    if (hp->passive_on &&
        health_passive_init(&hp->passive, hp->count, &pp, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "%s:%d: pool %s: passive checks: %s", hm->conf->path,
                 cp->line, cp->name, why);
        hp->passive_on = false;
        return -1;
    }
    return 0;
}

static void tls_report(void *arg, const char *msg)
{
    char *err = arg;
    if (err[0] == '\0')
        snprintf(err, 512, "%s", msg);
}

static int server_init(struct health_monitor *hm, struct hm_server *s,
                       struct route_counters *reg, const struct hm_server *old,
                       uint64_t now, char *err, size_t errlen)
{
    const struct conf_pool *cp = s->pool->cp;
    const struct conf_server *cs = s->cs;
    struct health_fsm_params fp;
    char why[256];

    s->hm = hm;
    s->counter = route_counter_get(reg, cp->name, cs->name);
    if (s->counter == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(&s->check_addr, &cs->addr.ss, sizeof(s->check_addr));
    s->check_len = cs->addr.len;
    if (cs->check_port != 0) {
        if (s->check_addr.ss_family == AF_INET)
            ((struct sockaddr_in *)&s->check_addr)->sin_port = htons(cs->check_port);
        else if (s->check_addr.ss_family == AF_INET6)
            ((struct sockaddr_in6 *)&s->check_addr)->sin6_port = htons(cs->check_port);
    }
    s->checked = cp->health != CONF_HEALTH_NONE && cs->check &&
                 cs->state != CONF_SERVER_MAINT;
    memset(&fp, 0, sizeof(fp));
    fp.rise = cp->rise;
    fp.fall = cp->fall;
    fp.interval_ms = cp->health_interval_ms;
    fp.fast_interval_ms = cp->health_fast_interval_ms;
    fp.jitter_percent = HEALTH_JITTER_PERCENT;
    if (health_fsm_init(&s->fsm, &fp, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "%s:%d: pool %s: health checks: %s", hm->conf->path,
                 cp->line, cp->name, why);
        return -1;
    }
    if (cp->health == CONF_HEALTH_HTTP || cp->health == CONF_HEALTH_HTTPS) {
        const char *host = cp->health_host ? cp->health_host : cs->addr.text;
        if (health_http_request(cp->health_method, cp->health_path, host, s->request,
                                sizeof(s->request), &s->request_len, why,
                                sizeof(why)) != 0) {
            snprintf(err, errlen, "%s:%d: server %s: health check request: %s",
                     hm->conf->path, cs->line, cs->name, why);
            return -1;
        }
    }
    if (cp->health == CONF_HEALTH_HTTPS && s->checked) {
        /* probes speak TLS with the server's own settings (verify, ca, sni) */
        struct conf_server with_tls = *cs;
        char msg[512] = "";
        with_tls.tls = true;
        if (tls_client_new(cp, &with_tls, hm->conf->path, tls_report, msg, &s->tls) != 0) {
            snprintf(err, errlen, "%s", msg[0] ? msg : "cannot set up TLS for checks");
            return -1;
        }
    }
    if (old != NULL) {
        /* keep what is known: the verdict and its counters, ramp, ejection */
        struct health_fsm_params keep = s->fsm.params;
        if (old->checked && s->checked) {
            s->fsm = old->fsm;
            s->fsm.params = keep;
        }
        s->ramping = old->ramping;
        s->back_ms = old->back_ms;
        if (old->pool->passive_on && s->pool->passive_on) {
            s->pool->passive.servers[s->index] = old->pool->passive.servers[old->index];
            if (s->pool->passive.servers[s->index].ejected)
                s->pool->passive.ejected_count++;
        }
    }
    s->unusable = HEALTH_UNUSABLE_COUNT; /* never told yet */
    if (s->checked)
        health_sched_set(&hm->sched, s->flat,
                         health_fsm_next_probe_ms(&s->fsm, now, rnd32(hm)));
    return 0;
}

struct health_monitor *health_monitor_new(struct ev_loop *loop, const struct conf *conf,
                                          struct route_counters *reg,
                                          const struct health_monitor *old,
                                          health_monitor_changed_fn changed, void *arg,
                                          char *err, size_t errlen)
{
    struct health_monitor *hm = calloc(1, sizeof(*hm));
    uint64_t now = now_ms();
    size_t flat = 0;
    char why[256];

    if (hm == NULL)
        goto nomem;
    hm->loop = loop;
    hm->conf = conf;
    hm->rng = now * 0x9e3779b97f4a7c15ull + (uint64_t)(uintptr_t)hm;
    if (hm->rng == 0)
        hm->rng = 1;
    ev_init(&hm->timer, on_timer);
    hm->timer.data = hm;
    ev_timer_init(&hm->fallback_timer, on_fallback_timer, HEALTH_FALLBACK_LOG_S,
                  HEALTH_FALLBACK_LOG_S);
    hm->fallback_timer.data = hm;
    for (size_t p = 0; p < conf->pool_count; p++)
        hm->server_count += conf->pools[p].server_count;
    hm->pool_count = conf->pool_count;
    hm->pools = calloc(conf->pool_count ? conf->pool_count : 1, sizeof(*hm->pools));
    hm->servers = calloc(hm->server_count ? hm->server_count : 1, sizeof(*hm->servers));
    hm->ov = calloc(hm->server_count ? hm->server_count : 1, sizeof(*hm->ov));
    if (hm->pools == NULL || hm->servers == NULL || hm->ov == NULL)
        goto nomem;
    if (hm->server_count > 0) {
        if (health_sched_init(&hm->sched, hm->server_count, HEALTH_PROBES_MAX, why,
                              sizeof(why)) != 0) {
            snprintf(err, errlen, "health checks: %s", why);
            goto fail;
        }
        hm->sched_on = true;
    }
    for (size_t p = 0; p < conf->pool_count; p++) {
        struct hm_pool *hp = &hm->pools[p];
        hp->servers = &hm->servers[flat];
        hp->count = conf->pools[p].server_count;
        if (pool_init(hm, hp, &conf->pools[p], reg, err, errlen) != 0)
            goto fail;
        for (size_t i = 0; i < hp->count; i++, flat++) {
            struct hm_server *s = &hp->servers[i];
            s->pool = hp;
            s->index = i;
            s->flat = flat;
            s->cs = &conf->pools[p].servers[i];
            if (server_init(hm, s, reg, old_server(old, hp->cp, s->cs), now, err,
                            errlen) != 0)
                goto fail;
        }
    }
    evaluate(hm, now, false);
    hm->changed = changed; /* from now on: the first overrides are read by the caller */
    hm->arg = arg;
    start_probes(hm, now);
    arm(hm, now);
    ev_timer_start(loop, &hm->fallback_timer);
    return hm;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    health_monitor_free(hm);
    return NULL;
}

void health_monitor_free(struct health_monitor *hm)
{
    if (hm == NULL)
        return;
    ev_timer_stop(hm->loop, &hm->timer);
    ev_timer_stop(hm->loop, &hm->fallback_timer);
    if (hm->claimed) /* in service: say what the last period saw */
        log_fallbacks(hm);
    for (size_t i = 0; hm->servers != NULL && i < hm->server_count; i++) {
        struct hm_server *s = &hm->servers[i];
        health_probe_cancel(s->probe);
        if (s->tls != NULL)
            tls_client_free(s->tls);
        if (s->counter != NULL && s->counter->health == s)
            s->counter->health = NULL;
    }
    for (size_t p = 0; hm->pools != NULL && p < hm->pool_count; p++)
        if (hm->pools[p].passive_on)
            health_passive_free(&hm->pools[p].passive);
    if (hm->sched_on)
        health_sched_free(&hm->sched);
    free(hm->ov);
    free(hm->servers);
    free(hm->pools);
    free(hm);
}

void health_monitor_claim(struct health_monitor *hm)
{
    hm->claimed = true;
    for (size_t i = 0; i < hm->server_count; i++) {
        struct hm_server *s = &hm->servers[i];
        s->counter->health = s;
        atomic_store(&s->counter->report_ok, 0);
    }
}

const struct route_server_override *health_monitor_overrides(struct health_monitor *hm,
                                                             size_t *count)
{
    for (size_t i = 0; i < hm->server_count; i++) {
        const struct hm_server *s = &hm->servers[i];
        struct route_server_override *o = &hm->ov[i];
        o->pool = s->pool->cp->name;
        o->server = s->cs->name;
        o->weight = s->weight;
        switch (s->unusable) {
        case HEALTH_UNUSABLE_NONE:
            o->state = ROUTE_SERVER_UP;
            break;
        case HEALTH_UNUSABLE_DRAIN:
            o->state = ROUTE_SERVER_DRAIN;
            o->weight = -1;
            break;
        case HEALTH_UNUSABLE_MAINT:
            o->state = ROUTE_SERVER_MAINT;
            o->weight = -1;
            break;
        default:
            o->state = ROUTE_SERVER_DOWN;
            o->weight = -1;
            break;
        }
    }
    *count = hm->server_count;
    return hm->ov;
}
