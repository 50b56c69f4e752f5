/*
 * route: see route.h.
 */
#include "config.h"

#include "net/route.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define LOAD_STACK_MAX 4096 /* larger pools pick without load figures */

void route_counters_free(struct route_counters *reg)
{
    struct route_counter *c;
    while ((c = reg->head) != NULL) {
        reg->head = c->next;
        free((void *)atomic_load(&c->queue_ages));
        free(c);
    }
}

struct route_counter *route_counter_get(struct route_counters *reg, const char *pool,
                                        const char *server)
{
    char key[2 * CONF_NAME_MAX];
    struct route_counter *c;
    snprintf(key, sizeof(key), "%s/%s", pool, server);
    for (c = reg->head; c != NULL; c = c->next)
        if (strcmp(c->key, key) == 0)
            return c;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    atomic_init(&c->inflight, 0);
    atomic_init(&c->report_ok, 0);
    atomic_init(&c->fallbacks, 0);
    atomic_init(&c->queued, 0);
    atomic_init(&c->queue_ticket, 0);
    atomic_init(&c->queue_ages, NULL);
    memcpy(c->key, key, sizeof(key));
    c->next = reg->head;
    reg->head = c;
    return c;
}

static enum lb_algo algo_of(enum conf_balance b)
{
    switch (b) {
    case CONF_BALANCE_LEASTCONN:
        return LB_LEASTCONN;
    case CONF_BALANCE_RANDOM2:
        return LB_RANDOM2;
    case CONF_BALANCE_RING:
        return LB_RING;
    case CONF_BALANCE_MAGLEV:
        return LB_MAGLEV;
    case CONF_BALANCE_ROUNDROBIN:
    case CONF_BALANCE_COUNT:
        break;
    }
    return LB_ROUNDROBIN;
}

static const struct route_server_override *
find_override(const struct route_server_override *ov, size_t n, const char *pool,
              const char *server)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ov[i].pool, pool) == 0 && strcmp(ov[i].server, server) == 0)
            return &ov[i];
    return NULL;
}

static int pool_build(struct route_pool *rp, const struct conf_pool *cp,
                      const struct route_server_override *ov, size_t ov_count,
                      struct route_counters *reg, char *err, size_t errlen)
{
    struct lb_server *lbs = NULL;
    struct lb_params params;
    uint32_t points = cp->ring_points ? cp->ring_points : LB_RING_POINTS_DEFAULT;
    /* The ring places ring_points x weight points per server: it gets weights in
     * 1/div units with ring_points / div points per unit, the same table as
     * unscaled weights when every server is at full weight. */
    uint32_t div = ROUTE_WEIGHT_SCALE;
    int rc = -1;

    snprintf(rp->name, sizeof(rp->name), "%s", cp->name);
    rp->algo = algo_of(cp->balance);
    rp->ops = lb_ops_get(rp->algo);
    rp->hash_key = cp->hash_key;
    snprintf(rp->hash_key_name, sizeof(rp->hash_key_name), "%s", cp->hash_key_name);
    rp->retries = cp->retries;
    rp->retry_status_count = cp->retry_status_count;
    memcpy(rp->retry_status_lo, cp->retry_status_lo, sizeof(rp->retry_status_lo));
    memcpy(rp->retry_status_hi, cp->retry_status_hi, sizeof(rp->retry_status_hi));
    rp->timeout_connect_ms = cp->timeout_connect_ms;
    rp->timeout_server_ms = cp->timeout_server_ms;
    rp->timeout_server_idle_ms = cp->timeout_server_idle_ms;
    rp->timeout_queue_ms = cp->timeout_queue_ms;
    rp->retry_on_timeout = cp->retry_on_timeout;
    rp->needs_load = rp->algo == LB_LEASTCONN || rp->algo == LB_RANDOM2 ||
                     cp->balance_factor > 0;
    atomic_init(&rp->sequence, 0);
    if (rp->ops == NULL) {
        snprintf(err, errlen, "pool %s: balancing algorithm %s is not available",
                 cp->name, conf_balance_name(cp->balance));
        goto fail;
    }
    if (rp->algo == LB_RING)
        div = lb_gcd(points, ROUTE_WEIGHT_SCALE);
    rp->counter = route_counter_get(reg, cp->name, "");
    if (rp->counter == NULL) {
        snprintf(err, errlen, "pool %s: out of memory", cp->name);
        goto fail;
    }
    rp->server_count = cp->server_count;
    rp->servers = calloc(cp->server_count ? cp->server_count : 1, sizeof(*rp->servers));
    lbs = calloc(cp->server_count ? cp->server_count : 1, sizeof(*lbs));
    if (rp->servers == NULL || lbs == NULL) {
        snprintf(err, errlen, "pool %s: out of memory", cp->name);
        goto fail;
    }
    for (size_t i = 0; i < cp->server_count; i++) {
        const struct conf_server *cs = &cp->servers[i];
        struct route_server *s = &rp->servers[i];
        const struct route_server_override *o =
            find_override(ov, ov_count, cp->name, cs->name);
        snprintf(s->name, sizeof(s->name), "%s", cs->name);
        memcpy(&s->addr, &cs->addr.ss, sizeof(s->addr));
        s->addr_len = cs->addr.len;
        snprintf(s->addr_text, sizeof(s->addr_text), "%s", cs->addr.text);
        s->weight = cs->weight * ROUTE_WEIGHT_SCALE;
        s->state = ROUTE_SERVER_UP;
        if (o != NULL) {
            s->state = o->state;
            if (o->weight >= 0)
                s->weight = o->weight > UINT32_MAX ? UINT32_MAX : (uint32_t)o->weight;
        }
        s->max_conns = cs->max_conns;
        rp->has_max_conns |= cs->max_conns > 0;
        s->counter = route_counter_get(reg, cp->name, cs->name);
        if (s->counter == NULL) {
            snprintf(err, errlen, "pool %s: out of memory", cp->name);
            goto fail;
        }
        lbs[i].name = s->name;
        /* ceil, so that a ramping server keeps at least one unit */
        lbs[i].weight = (uint32_t)(((uint64_t)s->weight * div + ROUTE_WEIGHT_SCALE - 1) /
                                   ROUTE_WEIGHT_SCALE);
        lbs[i].usable = s->state == ROUTE_SERVER_UP;
        lbs[i].backup = cs->backup;
    }
    params.maglev_table_size = cp->maglev_table_size;
    params.ring_points = rp->algo == LB_RING ? points / div : cp->ring_points;
    params.balance_factor = cp->balance_factor;
    {
        char lberr[256] = "";
        bool primary = false, backup = false;
        rp->table = rp->ops->build(lbs, cp->server_count, &params, lberr, sizeof(lberr));
        if (rp->table == NULL) {
            snprintf(err, errlen, "pool %s: %s", cp->name, lberr);
            goto fail;
        }
        for (size_t i = 0; i < cp->server_count; i++) {
            primary |= lbs[i].usable && lbs[i].weight > 0 && !lbs[i].backup;
            backup |= lbs[i].usable && lbs[i].weight > 0 && lbs[i].backup;
        }
        if (primary && backup) {
            /* the backups as a table of their own: the primaries left out of
             * it (weight 0), not kept in it as down, so that consistent hashing
             * places keys as the main table does once every primary is down */
            for (size_t i = 0; i < cp->server_count; i++) {
                if (!lbs[i].backup)
                    lbs[i].weight = 0;
                lbs[i].backup = false;
            }
            rp->backup_table =
                rp->ops->build(lbs, cp->server_count, &params, lberr, sizeof(lberr));
            if (rp->backup_table == NULL) {
                snprintf(err, errlen, "pool %s: %s", cp->name, lberr);
                goto fail;
            }
        }
    }
    rc = 0;
fail:
    free(lbs);
    return rc;
}

static void pool_free(struct route_pool *rp)
{
    if (rp->table != NULL && rp->ops != NULL)
        rp->ops->destroy(rp->table);
    if (rp->backup_table != NULL && rp->ops != NULL)
        rp->ops->destroy(rp->backup_table);
    free(rp->servers);
}

int route_build(const struct conf *conf, const struct route_server_override *overrides,
                size_t override_count, struct route_counters *reg, uint64_t generation,
                struct route **out, char *err, size_t errlen)
{
    struct route *r = calloc(1, sizeof(*r));
    *out = NULL;
    if (r == NULL)
        goto nomem;
    r->generation = generation;
    r->pools = calloc(conf->pool_count ? conf->pool_count : 1, sizeof(*r->pools));
    r->frontends =
        calloc(conf->frontend_count ? conf->frontend_count : 1, sizeof(*r->frontends));
    if (r->pools == NULL || r->frontends == NULL)
        goto nomem;
    for (size_t i = 0; i < conf->pool_count; i++) {
        if (pool_build(&r->pools[i], &conf->pools[i], overrides, override_count, reg,
                       err, errlen) != 0) {
            r->pool_count = i + 1;
            goto fail;
        }
    }
    r->pool_count = conf->pool_count;
    for (size_t i = 0; i < conf->frontend_count; i++) {
        const struct conf_frontend *cf = &conf->frontends[i];
        struct route_frontend *f = &r->frontends[i];
        snprintf(f->name, sizeof(f->name), "%s", cf->name);
        f->mode = cf->mode;
        f->timeout_client_ms = cf->timeout_client_ms;
        f->timeout_http_request_ms = cf->timeout_http_request_ms;
        f->timeout_http_keepalive_ms = cf->timeout_http_keepalive_ms;
        f->timeout_tunnel_ms = cf->timeout_tunnel_ms;
        f->max_keepalive_requests = cf->max_keepalive_requests;
        f->max_header_bytes = cf->max_header_bytes;
        f->max_headers = cf->max_headers;
        f->max_body_bytes = cf->max_body_bytes;
        f->timeout_tls_handshake_ms = cf->timeout_tls_handshake_ms;
        f->pool = route_find_pool(r, cf->pool_name);
        if (f->pool == NULL) {
            snprintf(err, errlen, "frontend %s: no pool named %s", cf->name,
                     cf->pool_name);
            goto fail;
        }
    }
    r->frontend_count = conf->frontend_count;
    *out = r;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory while building the routing table");
fail:
    route_free(r);
    return -1;
}

void route_free(struct route *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->pool_count; i++)
        pool_free(&r->pools[i]);
    free(r->pools);
    free(r->frontends);
    free(r);
}

void route_set_tls(struct route *r, void *arg,
                   struct tls_server *(*frontend)(void *arg, size_t i),
                   struct tls_client *(*server)(void *arg, size_t pool, size_t i))
{
    for (size_t i = 0; i < r->frontend_count; i++)
        r->frontends[i].tls = frontend(arg, i);
    for (size_t p = 0; p < r->pool_count; p++)
        for (size_t i = 0; i < r->pools[p].server_count; i++)
            r->pools[p].servers[i].tls = server(arg, p, i);
}

const struct route_frontend *route_find_frontend(const struct route *r, const char *name)
{
    for (size_t i = 0; i < r->frontend_count; i++)
        if (strcmp(r->frontends[i].name, name) == 0)
            return &r->frontends[i];
    return NULL;
}

struct route_pool *route_find_pool(const struct route *r, const char *name)
{
    for (size_t i = 0; i < r->pool_count; i++)
        if (strcmp(r->pools[i].name, name) == 0)
            return &r->pools[i];
    return NULL;
}

int route_pick(struct route_pool *pool, const uint64_t *exclude, uint64_t key_hash,
               bool has_key, uint64_t random)
{
    uint32_t load[LOAD_STACK_MAX];
    uint64_t full[ROUTE_EXCLUDE_MAX / 64];
    bool any_full = false;
    struct lb_pick in;
    struct lb_result res;

    memset(&in, 0, sizeof(in));
    in.key_hash = key_hash;
    in.has_key = has_key;
    in.random = random;
    in.sequence = atomic_fetch_add_explicit(&pool->sequence, 1, memory_order_relaxed);
    in.exclude = exclude;
    if (pool->has_max_conns) {
        size_t n = pool->server_count < ROUTE_EXCLUDE_MAX ? pool->server_count
                                                          : ROUTE_EXCLUDE_MAX;
        size_t words = (n + 63) / 64;
        if (exclude != NULL)
            memcpy(full, exclude, words * sizeof(full[0]));
        else
            memset(full, 0, words * sizeof(full[0]));
        for (size_t i = 0; i < n; i++) {
            const struct route_server *s = &pool->servers[i];
            if (s->max_conns > 0 &&
                atomic_load_explicit(&s->counter->inflight, memory_order_relaxed) >=
                    s->max_conns &&
                !(full[i >> 6] & (1ull << (i & 63)))) {
                full[i >> 6] |= 1ull << (i & 63);
                any_full |= s->state == ROUTE_SERVER_UP;
            }
        }
        in.exclude = full;
    }
    if (pool->needs_load && pool->server_count <= LOAD_STACK_MAX) {
        for (size_t i = 0; i < pool->server_count; i++)
            load[i] = atomic_load_explicit(&pool->servers[i].counter->inflight,
                                           memory_order_relaxed);
        in.load = load;
    }
    res = pool->ops->pick(pool->table, &in);
    if (res.server < 0 && pool->backup_table != NULL)
        res = pool->ops->pick(pool->backup_table, &in);
    if (res.fallback)
        atomic_fetch_add_explicit(&pool->counter->fallbacks, 1, memory_order_relaxed);
    if (res.server < 0 || (size_t)res.server >= pool->server_count)
        return any_full ? ROUTE_PICK_FULL : -1;
    return res.server;
}

bool route_pool_has_room(const struct route_pool *pool)
{
    for (size_t i = 0; i < pool->server_count; i++) {
        const struct route_server *s = &pool->servers[i];
        if (s->state != ROUTE_SERVER_UP || s->weight == 0)
            continue;
        if (s->max_conns == 0 ||
            atomic_load_explicit(&s->counter->inflight, memory_order_relaxed) < s->max_conns)
            return true;
    }
    return false;
}

int route_pick_untried(struct route_pool *pool, struct route_counter *const *tried,
                       uint32_t ntried, uint64_t key_hash, bool has_key, uint64_t random)
{
    uint64_t exclude[ROUTE_EXCLUDE_MAX / 64];
    size_t n = pool->server_count < ROUTE_EXCLUDE_MAX ? pool->server_count
                                                      : ROUTE_EXCLUDE_MAX;
    if (ntried == 0)
        return route_pick(pool, NULL, key_hash, has_key, random);
    memset(exclude, 0, (n + 63) / 64 * sizeof(exclude[0]));
    for (size_t i = 0; i < n; i++)
        for (uint32_t t = 0; t < ntried; t++)
            if (tried[t] == pool->servers[i].counter) {
                exclude[i >> 6] |= 1ull << (i & 63);
                break;
            }
    return route_pick(pool, exclude, key_hash, has_key, random);
}

bool route_retry_status(const struct route_pool *pool, unsigned status)
{
    for (size_t i = 0; i < pool->retry_status_count && i < 8; i++)
        if (status >= pool->retry_status_lo[i] && status <= pool->retry_status_hi[i])
            return true;
    return false;
}

bool route_source_key(const struct sockaddr_storage *ss, uint64_t *hash)
{
    *hash = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        *hash = lb_hash(&a->sin_addr, sizeof(a->sin_addr));
        return true;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        *hash = lb_hash(&a->sin6_addr, sizeof(a->sin6_addr));
        return true;
    }
    return false;
}
