/*
 * route: the routing snapshot the workers read on every new connection.
 *
 * A struct route holds, per pool, its servers (address, name, weight, state) and
 * the balancer table built for them, and per frontend its mode, pool and timeouts.
 * It is built by one thread (route_build), published with ONE atomic pointer store
 * and never written afterwards, except for the round-robin sequence counters. The
 * old snapshot is freed through qsbr once no worker can still see it.
 *
 * The in-flight counters of the servers live outside the snapshots, in a
 * struct route_counters registry keyed by pool and server name, so a connection
 * opened under one snapshot is still counted after a swap, and leastconn or bounded
 * loads see every worker's connections.
 *
 * Must not: be written after publication; lock on the pick path.
 */
#ifndef RAFTLB_NET_ROUTE_H
#define RAFTLB_NET_ROUTE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "lb/lb.h"

struct tls_server;
struct tls_client;

/* The state of a server as the routing sees it (from health, admin, the cluster). */
enum route_server_state {
    ROUTE_SERVER_UP = 0,
    ROUTE_SERVER_DOWN,  /* failed health checks or ejected */
    ROUTE_SERVER_DRAIN, /* no new connections, existing ones finish */
    ROUTE_SERVER_MAINT, /* maintenance */
    ROUTE_SERVER_STATE_COUNT
};

/* Weights reach the balancers in 1/ROUTE_WEIGHT_SCALE units of a configured
 * weight, so that slow start can ramp a server of weight 1 in steps. */
#define ROUTE_WEIGHT_SCALE 16u

/* A stable per-server counter shared by all workers and all snapshots. The
 * registry also holds one counter per pool (server name ""), whose `fallbacks`
 * counts the picks that had no hash key and went round robin. */
struct route_counter {
    _Atomic uint32_t inflight;
    _Atomic uint32_t report_ok; /* nonzero: workers report successful requests too
                                   (passive checks are counting failures) */
    _Atomic uint64_t fallbacks; /* pool counters only */
    _Atomic uint32_t queued;    /* pool counters only: requests and connections
                                   waiting in the workers' queues (server_queue) */
    /* pool counters only: the last queue ticket given (server_queue stamps),
     * and, made by the first worker that queues for the pool, per worker the
     * ticket of its oldest waiter of the pool (0: none) */
    _Atomic uint64_t queue_ticket;
    _Atomic uint64_t *_Atomic queue_ages;
    void *health;               /* the health monitor's entry (main thread only) */
    struct route_counter *next; /* registry list (builder thread only) */
    char key[2 * CONF_NAME_MAX];
};

/* Registry of counters; owned and used by the building thread only. Counters are
 * kept until route_counters_free(), so a connection may always decrement its own. */
struct route_counters {
    struct route_counter *head;
};

void route_counters_free(struct route_counters *reg);

/* The counter of `server` of `pool` ("" for the pool's own), created when
 * missing; NULL when out of memory. Builder thread only. */
struct route_counter *route_counter_get(struct route_counters *reg, const char *pool,
                                        const char *server);

/* An override of what the configuration says about one server. */
struct route_server_override {
    const char *pool;
    const char *server;
    enum route_server_state state;
    int64_t weight; /* effective weight in 1/ROUTE_WEIGHT_SCALE units (slow start);
                       < 0: the configured weight */
};

struct route_server {
    char name[CONF_NAME_MAX];
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char addr_text[sizeof(((struct conf_addr *)0)->text)];
    uint32_t weight; /* effective, in 1/ROUTE_WEIGHT_SCALE units */
    enum route_server_state state;
    struct route_counter *counter; /* never NULL */
    uint32_t max_conns;            /* maxconn=N: picked only below N in flight; 0: no limit */
    /* TLS to this server (`tls` on its line), or NULL: borrowed from the runtime's
     * tls_set, valid as long as this snapshot (set by route_set_tls()) */
    struct tls_client *tls;
};

struct route_pool {
    char name[CONF_NAME_MAX];
    enum lb_algo algo;
    const struct lb_ops *ops;
    void *table;              /* ops->build() result, owned */
    /* the usable backups alone, when the table holds primaries: what a pick falls
     * back to when every primary is excluded (tried, full); NULL otherwise */
    void *backup_table;
    bool needs_load;          /* the algorithm reads in-flight counts */
    enum conf_hash_key hash_key;
    char hash_key_name[CONF_NAME_MAX]; /* header:NAME / cookie:NAME (http mode) */
    uint32_t retries;
    uint16_t retry_status_lo[8]; /* retry_on_status ranges (http mode) */
    uint16_t retry_status_hi[8];
    size_t retry_status_count;
    uint32_t timeout_connect_ms;
    uint32_t timeout_server_ms;
    uint32_t timeout_server_idle_ms; /* in the upstream pool (http mode) */
    uint32_t timeout_queue_ms;       /* a wait for a server below maxconn; 0: none */
    bool retry_on_timeout;           /* http: retry an idempotent request after timeout_server */
    struct route_server *servers;
    size_t server_count;
    struct route_counter *counter; /* the pool's own (hash fallbacks), never NULL */
    bool has_max_conns;            /* a server has maxconn */
    _Atomic uint64_t sequence; /* round-robin position, shared by all workers */
};

struct route_frontend {
    char name[CONF_NAME_MAX];
    enum conf_mode mode;
    struct route_pool *pool;
    uint32_t timeout_client_ms;
    /* http mode only (see conf_frontend) */
    uint32_t timeout_http_request_ms;
    uint32_t timeout_http_keepalive_ms;
    uint32_t timeout_tunnel_ms;
    uint32_t max_keepalive_requests;
    uint32_t max_header_bytes;
    uint32_t max_headers;
    uint64_t max_body_bytes;
    /* TLS termination (tls_cert), or NULL: borrowed like route_server.tls */
    struct tls_server *tls;
    uint32_t timeout_tls_handshake_ms;
};

struct route {
    uint64_t generation; /* strictly increasing across publications */
    struct route_pool *pools;
    size_t pool_count;
    struct route_frontend *frontends;
    size_t frontend_count;
};

/*
 * Builds a snapshot from `conf`, with the server states and weights in
 * `overrides` (may be NULL) applied on top, taking counters from `reg` (created
 * when missing). Every server is UP unless overridden.
 * Returns 0 and a new snapshot in *out (free with route_free), or -1 with a
 * reason in err. Does not keep `conf` or `overrides`.
 */
int route_build(const struct conf *conf, const struct route_server_override *overrides,
                size_t override_count, struct route_counters *reg, uint64_t generation,
                struct route **out, char *err, size_t errlen);

void route_free(struct route *r);

/*
 * Before publication: attaches the TLS contexts of the set built from the same
 * conf as `r`. `frontend(arg, i)` and `server(arg, pool, i)` return the context of
 * conf->frontends[i] / conf->pools[pool].servers[i] (NULL: no TLS); route_build
 * keeps the conf's order. The caller must keep the set alive as long as `r`
 * (the runtime retires both through qsbr). The callbacks keep OpenSSL out of here.
 */
void route_set_tls(struct route *r, void *arg,
                   struct tls_server *(*frontend)(void *arg, size_t i),
                   struct tls_client *(*server)(void *arg, size_t pool, size_t i));

/* Lookups by name; NULL when absent. */
const struct route_frontend *route_find_frontend(const struct route *r, const char *name);
struct route_pool *route_find_pool(const struct route *r, const char *name);

/*
 * Picks a server of `pool` for a new connection. `exclude` is a bitmap of server
 * indexes not to pick (NULL: none); `key_hash`/`has_key` the balancing key;
 * `random` fresh randomness. When every usable primary server is excluded (tried
 * by this request already, or at its maxconn), a usable backup is picked. A
 * server with maxconn=N is left out while N requests
 * or connections are in flight to it (counted by all workers, so a burst may pass
 * N by up to one per other worker). Returns the server index, -1 (no usable
 * server) or ROUTE_PICK_FULL (the usable ones are all at their maxconn).
 * Never allocates or locks.
 */
#define ROUTE_PICK_FULL (-2)

/* Whether a pick from `pool` could find a usable server below its maxconn now
 * (one without maxconn always has room); reads the counters, picks nothing. */
bool route_pool_has_room(const struct route_pool *pool);

/* Whether requests of `pool` wait in some worker's queue (server_queue): a new
 * one then queues behind them instead of taking a slot that frees up. */
static inline bool route_pool_queued(const struct route_pool *pool)
{
    return atomic_load_explicit(&pool->counter->queued, memory_order_relaxed) > 0;
}
int route_pick(struct route_pool *pool, const uint64_t *exclude, uint64_t key_hash,
               bool has_key, uint64_t random);

/*
 * route_pick() leaving out the servers whose counters are in tried[0..ntried)
 * (the attempts of one request so far): < 0 when none is left. The exclusion
 * bitmap covers the first ROUTE_EXCLUDE_MAX servers of a pool.
 */
#define ROUTE_EXCLUDE_MAX 65536u
int route_pick_untried(struct route_pool *pool, struct route_counter *const *tried,
                       uint32_t ntried, uint64_t key_hash, bool has_key, uint64_t random);

/* True when `status` is one of the pool's retry_on_status codes. */
bool route_retry_status(const struct route_pool *pool, unsigned status);

/* The `hash_key = source` key of a client address: the hash of its IPv4 or
 * IPv6 address (not the port). Returns false, with *hash 0, for another family. */
struct sockaddr_storage;
bool route_source_key(const struct sockaddr_storage *ss, uint64_t *hash);

#endif
