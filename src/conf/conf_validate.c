/*
 * conf_validate: the checks that need the whole file: references between sections,
 * required keys, pairs of keys that must agree, addresses bound twice. Runs after
 * every line has been read, so it also sees sections whose keys had errors; a check
 * on a key is skipped when the key was given (even with a bad value), so one mistake
 * gives one message.
 */
#define _POSIX_C_SOURCE 200809L

#include "conf/conf_internal.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf_addr.h"
#include "conf/conf_value.h"
#include "lb/lb.h"

static int line_of(const struct conf_keylines *k, enum conf_sect s, const char *key)
{
    int i = conf_key_index(s, key);

    return i < 0 ? 0 : k->line[i];
}

static uint16_t port_of(const struct conf_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

static bool is_any(const struct conf_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
}

/* Two listening addresses collide when they are equal, or share a port and one of
 * them is the any-address of the same family. */
static bool binds_collide(const struct conf_addr *a, const struct conf_addr *b)
{
    if (a->len == 0 || b->len == 0)
        return false;
    if (conf_addr_equal(a, b))
        return true;
    return a->ss.ss_family == b->ss.ss_family && port_of(a) == port_of(b) &&
           (is_any(a) || is_any(b));
}

struct bind_use {
    const struct conf_addr *addr;
    const char *what;
    const char *name;
    int line;
};

static void check_binds(struct conf_loader *L)
{
    struct conf *c = L->conf;
    struct bind_use uses[256];
    size_t n = 0;

    for (size_t i = 0; i < c->frontend_count; i++)
        for (size_t j = 0; j < c->frontends[i].bind_count && n < 256; j++)
            uses[n++] = (struct bind_use){&c->frontends[i].binds[j], "frontend",
                                          c->frontends[i].name, c->frontends[i].line};
    if (c->cluster.enabled && n < 256)
        uses[n++] =
            (struct bind_use){&c->cluster.bind, "[cluster]", "",
                              line_of(&L->cluster_keys, CONF_SECT_CLUSTER, "bind")};
    if (c->admin.enabled && n < 256)
        uses[n++] = (struct bind_use){&c->admin.bind, "[admin]", "",
                                      line_of(&L->admin_keys, CONF_SECT_ADMIN, "bind")};
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            if (uses[i].addr->len == 0 || !binds_collide(uses[i].addr, uses[j].addr))
                continue;
            if (uses[i].line == 0)
                continue;
            {
                char who[CONF_NAME_MAX + 16], other[CONF_NAME_MAX + 16];
                snprintf(who, sizeof(who), "%s%s%s", uses[i].what,
                         uses[i].name[0] ? " " : "", uses[i].name);
                snprintf(other, sizeof(other), "%s%s%s%s", uses[j].what,
                         uses[j].name[0] ? " '" : "", uses[j].name,
                         uses[j].name[0] ? "'" : "");
                conf_report(L, uses[i].line, "%s: bind %s is already used by %s", who,
                            uses[i].addr->text, other);
            }
            break;
        }
}

static void check_frontend(struct conf_loader *L, size_t i)
{
    struct conf *c = L->conf;
    struct conf_frontend *f = &c->frontends[i];
    const struct conf_keylines *k = &L->fe_keys[i];
    int pool_line = line_of(k, CONF_SECT_FRONTEND, "pool");

    if (line_of(k, CONF_SECT_FRONTEND, "bind") == 0)
        conf_report(L, f->line, "frontend '%s' has no bind", f->name);
    if (pool_line == 0) {
        conf_report(L, f->line, "frontend '%s' has no pool", f->name);
    } else if (f->pool_name[0] != '\0') {
        const char *names[256];
        size_t n = 0;
        const struct conf_pool *p = conf_find_pool(c, f->pool_name);

        if (p != NULL) {
            f->pool = (size_t)(p - c->pools);
        } else {
            const char *near;
            for (size_t j = 0; j < c->pool_count && n < 256; j++)
                names[n++] = c->pools[j].name;
            near = conf_value_suggest(f->pool_name, names, n);
            if (near != NULL)
                conf_report(
                    L, pool_line,
                    "frontend '%s': pool '%s' is not defined (did you mean '%s'?)",
                    f->name, f->pool_name, near);
            else
                conf_report(L, pool_line, "frontend '%s': pool '%s' is not defined",
                            f->name, f->pool_name);
        }
    }
    for (size_t j = 0; j < f->cert_count; j++) {
        if (f->certs[j].key_file == NULL)
            conf_report(L, f->certs[j].line, "frontend '%s': tls_cert without a tls_key",
                        f->name);
        else if (f->certs[j].cert_file == NULL)
            conf_report(L, f->certs[j].line, "frontend '%s': tls_key without a tls_cert",
                        f->name);
    }
    if (f->mode == CONF_MODE_TCP) {
        static const char *const http_only[] = {
            "timeout_http_request", "timeout_http_keepalive", "max_keepalive_requests",
            "max_body_bytes",       "max_header_bytes",       "max_headers",
            "timeout_tunnel"};
        for (size_t j = 0; j < 7; j++) {
            int line = line_of(k, CONF_SECT_FRONTEND, http_only[j]);
            if (line != 0)
                conf_report(L, line, "frontend '%s': %s has no effect with mode = tcp",
                            f->name, http_only[j]);
        }
    }
    if (f->cert_count == 0) {
        static const char *const tls_only[] = {"tls_ciphers", "tls_min_version",
                                               "timeout_tls_handshake",
                                               "tls_session_cache"};
        for (size_t j = 0; j < 4; j++) {
            int line = line_of(k, CONF_SECT_FRONTEND, tls_only[j]);
            if (line != 0)
                conf_report(L, line, "frontend '%s': %s needs tls_cert and tls_key",
                            f->name, tls_only[j]);
        }
    }
}

/* Settles the hash key of pools that did not name one: the URI when every frontend
 * using the pool speaks HTTP, else the client address; and checks that a TCP
 * frontend does not use a pool that hashes on HTTP fields. */
static void check_hash_keys(struct conf_loader *L)
{
    struct conf *c = L->conf;

    for (size_t i = 0; i < c->frontend_count; i++) {
        struct conf_frontend *f = &c->frontends[i];
        const struct conf_pool *p = conf_find_pool(c, f->pool_name);
        size_t pi;

        if (p == NULL || f->mode != CONF_MODE_TCP)
            continue;
        pi = (size_t)(p - c->pools);
        if (line_of(&L->pool_keys[pi], CONF_SECT_POOL, "hash_key") == 0) {
            c->pools[pi].hash_key = CONF_HASH_SOURCE;
        } else if (p->hash_key != CONF_HASH_SOURCE) {
            conf_report(L, line_of(&L->fe_keys[i], CONF_SECT_FRONTEND, "pool"),
                        "frontend '%s' is mode tcp but pool '%s' hashes on %s (use "
                        "hash_key = source)",
                        f->name, p->name, conf_hash_key_name(p->hash_key));
        }
        if (line_of(&L->pool_keys[pi], CONF_SECT_POOL, "retry_on_status") != 0)
            conf_report(L, line_of(&L->fe_keys[i], CONF_SECT_FRONTEND, "pool"),
                        "frontend '%s' is mode tcp but pool '%s' sets retry_on_status "
                        "(HTTP answers only)",
                        f->name, p->name);
        if (line_of(&L->pool_keys[pi], CONF_SECT_POOL, "retry_on_timeout") != 0)
            conf_report(L, line_of(&L->fe_keys[i], CONF_SECT_FRONTEND, "pool"),
                        "frontend '%s' is mode tcp but pool '%s' sets retry_on_timeout "
                        "(HTTP requests only)",
                        f->name, p->name);
    }
}

static void check_pool(struct conf_loader *L, size_t i)
{
    struct conf_pool *p = &L->conf->pools[i];
    const struct conf_keylines *k = &L->pool_keys[i];
    int line;

    if (line_of(k, CONF_SECT_POOL, "server") == 0) {
        conf_report(L, p->line, "pool '%s' has no server", p->name);
    } else if (p->server_count > 0) {
        size_t backups = 0;
        for (size_t j = 0; j < p->server_count; j++)
            backups += p->servers[j].backup;
        uint64_t weights = 0;
        for (size_t j = 0; j < p->server_count; j++)
            weights += p->servers[j].weight;
        if (backups == p->server_count)
            conf_report(L, p->line, "pool '%s' has only backup servers", p->name);
        if (weights == 0)
            conf_report(L, p->line, "pool '%s': every server has weight 0", p->name);
    }
    if (p->balance != CONF_BALANCE_RING && p->balance != CONF_BALANCE_MAGLEV) {
        static const char *const hash_only[] = {"hash_key", "balance_factor",
                                                "maglev_table_size", "ring_points"};
        static const char *const needs[] = {"ring or maglev", "ring or maglev",
                                            "maglev", "ring"};
        for (size_t j = 0; j < 4; j++) {
            line = line_of(k, CONF_SECT_POOL, hash_only[j]);
            if (line != 0)
                conf_report(L, line, "pool '%s': %s needs balance = %s", p->name,
                            hash_only[j], needs[j]);
        }
    } else {
        const char *other =
            p->balance == CONF_BALANCE_RING ? "maglev_table_size" : "ring_points";
        line = line_of(k, CONF_SECT_POOL, other);
        if (line != 0)
            conf_report(L, line, "pool '%s': %s has no effect with balance = %s", p->name,
                        other, conf_balance_name(p->balance));
    }
    if (p->balance == CONF_BALANCE_MAGLEV && p->server_count > 0 &&
        p->maglev_table_size < 100 * p->server_count) {
        line = line_of(k, CONF_SECT_POOL, "maglev_table_size");
        conf_report(
            L, line ? line : p->line,
            "pool '%s': maglev_table_size %u is below 100 entries per server (%zu "
            "servers)",
            p->name, p->maglev_table_size, p->server_count);
    }
    if (p->balance == CONF_BALANCE_RING) {
        /* Every server may come back up at its full weight, so the ring must hold
         * the points of all of them at once or a later rebuild would fail. */
        uint64_t weights = 0;
        for (size_t j = 0; j < p->server_count; j++)
            weights += p->servers[j].weight;
        if (weights * p->ring_points > LB_RING_POINTS_TOTAL_MAX) {
            line = line_of(k, CONF_SECT_POOL, "ring_points");
            conf_report(L, line ? line : p->line,
                        "pool '%s': ring_points %u x total weight %llu is over %u "
                        "points; lower ring_points or the weights",
                        p->name, p->ring_points, (unsigned long long)weights,
                        LB_RING_POINTS_TOTAL_MAX);
        }
    }
    for (size_t j = 0; j < p->server_count; j++)
        if (p->servers[j].tls_options && !p->servers[j].tls &&
            p->health != CONF_HEALTH_HTTPS)
            conf_report(L, p->servers[j].line,
                        "server %s: verify, ca and sni need tls (or health = https)",
                        p->servers[j].name);
    if (p->health == CONF_HEALTH_NONE) {
        static const char *const active_only[] = {"health_interval", "health_fast_interval",
                                                  "health_timeout", "rise", "fall"};
        for (size_t j = 0; j < 5; j++) {
            line = line_of(k, CONF_SECT_POOL, active_only[j]);
            if (line != 0)
                conf_report(L, line, "pool '%s': %s needs health = tcp, http or https",
                            p->name, active_only[j]);
        }
    }
    if (p->health == CONF_HEALTH_NONE || p->health == CONF_HEALTH_TCP) {
        static const char *const http_only[] = {"health_method", "health_path",
                                                "health_host", "health_body",
                                                "health_expect"};
        for (size_t j = 0; j < 5; j++) {
            line = line_of(k, CONF_SECT_POOL, http_only[j]);
            if (line != 0)
                conf_report(L, line, "pool '%s': %s needs health = http or https",
                            p->name, http_only[j]);
        }
    } else if (p->health_body != NULL && p->health_method != NULL &&
               strcmp(p->health_method, "HEAD") == 0) {
        /* A response to HEAD has no body (RFC 9110 9.3.2): such a check never passes. */
        conf_report(L, line_of(k, CONF_SECT_POOL, "health_body"),
                    "pool '%s': health_body can never match with health_method = HEAD",
                    p->name);
    }
    line = line_of(k, CONF_SECT_POOL, "timeout_queue");
    if (line == 0) {
        p->timeout_queue_ms = p->timeout_connect_ms;
    } else {
        bool limited = false;
        for (size_t j = 0; j < p->server_count; j++)
            limited |= p->servers[j].max_conns > 0;
        if (!limited && p->timeout_queue_ms > 0)
            conf_report(L, line, "pool '%s': timeout_queue needs a server with maxconn",
                        p->name);
    }
    if (line_of(k, CONF_SECT_POOL, "health_fast_interval") == 0) {
        p->health_fast_interval_ms = p->health_interval_ms / 4;
        if (p->health_fast_interval_ms < 10)
            p->health_fast_interval_ms = 10;
    } else if (p->health_fast_interval_ms > p->health_interval_ms) {
        conf_report(L, line_of(k, CONF_SECT_POOL, "health_fast_interval"),
                    "pool '%s': health_fast_interval must not exceed health_interval",
                    p->name);
    }
    if (p->health != CONF_HEALTH_NONE && p->health_timeout_ms > p->health_interval_ms) {
        line = line_of(k, CONF_SECT_POOL, "health_timeout");
        if (line == 0)
            line = line_of(k, CONF_SECT_POOL, "health_interval");
        conf_report(L, line ? line : p->line,
                    "pool '%s': health_timeout must not exceed health_interval", p->name);
    }
}

static void check_cluster(struct conf_loader *L)
{
    struct conf_cluster *c = &L->conf->cluster;
    const struct conf_keylines *k = &L->cluster_keys;
    static const char *const required[] = {"node_id", "bind", "peers", "data_dir",
                                           "secret_file"};
    int node_line = line_of(k, CONF_SECT_CLUSTER, "node_id");
    int hb_line = line_of(k, CONF_SECT_CLUSTER, "heartbeat_interval");
    int el_line = line_of(k, CONF_SECT_CLUSTER, "election_timeout");

    for (size_t i = 0; i < 5; i++)
        if (line_of(k, CONF_SECT_CLUSTER, required[i]) == 0)
            conf_report(L, c->line, "[cluster] needs %s", required[i]);
    if (node_line != 0 && c->node_id[0] != '\0' && c->peer_count > 0) {
        const struct conf_peer *self = NULL;
        for (size_t i = 0; i < c->peer_count; i++)
            if (strcmp(c->peers[i].id, c->node_id) == 0)
                self = &c->peers[i];
        if (self == NULL) {
            conf_report(L, node_line, "node_id '%s' is not among the peers", c->node_id);
        } else if (c->bind.len != 0 &&
                   (is_any(&c->bind) ? port_of(&c->bind) != port_of(&self->addr)
                                     : !conf_addr_equal(&c->bind, &self->addr))) {
            conf_report(L, line_of(k, CONF_SECT_CLUSTER, "bind"),
                        "[cluster] bind %s does not match %s's address %s in peers",
                        c->bind.text, c->node_id, self->addr.text);
        }
    }
    if (c->heartbeat_interval_ms >= c->election_timeout_ms) {
        int line = hb_line ? hb_line : el_line ? el_line : c->line;
        conf_report(L, line, "heartbeat_interval must be below election_timeout");
    }
}

static void check_admin(struct conf_loader *L)
{
    struct conf_admin *a = &L->conf->admin;

    if (line_of(&L->admin_keys, CONF_SECT_ADMIN, "bind") == 0)
        conf_report(L, a->line, "[admin] needs bind");
    if (line_of(&L->admin_keys, CONF_SECT_ADMIN, "token_file") == 0)
        conf_report(L, a->line,
                    "[admin] needs token_file (every change must be authorised)");
}

void conf_validate(struct conf_loader *L)
{
    struct conf *c = L->conf;

    if (c->frontend_count == 0)
        conf_report(L, 0, "no [frontend NAME] section");
    for (size_t i = 0; i < c->frontend_count; i++)
        check_frontend(L, i);
    check_hash_keys(L);
    for (size_t i = 0; i < c->pool_count; i++)
        check_pool(L, i);
    if (c->cluster.enabled)
        check_cluster(L);
    if (c->admin.enabled)
        check_admin(L);
    check_binds(L);
}
