/*
 * conf: the loaded, validated configuration of one raftlb instance.
 *
 * conf_load() reads an INI file (inih), checks every section and key of the schema
 * in DESIGN.md, and either returns a complete struct conf or a list of every problem
 * found, each as "FILE:LINE: message". It never prints and never exits: main() and
 * the reload path decide what to do with the diagnostics.
 *
 * A struct conf is immutable once loaded. A reload builds a new one beside the old;
 * the runtime swaps them. Everything a conf owns is freed by conf_free().
 *
 * File paths (tls_cert, tls_key, ca=, token_file, secret_file, data_dir, on_leader,
 * on_follower, pid_file, log files) are kept as written when absolute, else joined
 * to the directory of the configuration file. The syntax and every key are shown
 * and explained in conf/raftlb.ini.
 */
#ifndef RAFTLB_CONF_H
#define RAFTLB_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONF_NAME_MAX 64 /* section, server and node names, including the NUL */

enum conf_log_level {
    CONF_LOG_ERROR = 0,
    CONF_LOG_WARN,
    CONF_LOG_INFO,
    CONF_LOG_DEBUG,
    CONF_LOG_COUNT
};

enum conf_mode {
    CONF_MODE_HTTP = 0,
    CONF_MODE_TCP,
    CONF_MODE_COUNT
};

enum conf_balance {
    CONF_BALANCE_ROUNDROBIN = 0,
    CONF_BALANCE_LEASTCONN,
    CONF_BALANCE_RANDOM2,
    CONF_BALANCE_RING,
    CONF_BALANCE_MAGLEV,
    CONF_BALANCE_COUNT
};

enum conf_hash_key {
    CONF_HASH_SOURCE = 0, /* client IP address */
    CONF_HASH_URI,        /* path and query */
    CONF_HASH_PATH,       /* path only */
    CONF_HASH_HEADER,     /* header:NAME, name in conf_pool.hash_key_name */
    CONF_HASH_COOKIE,     /* cookie:NAME, name in conf_pool.hash_key_name */
    CONF_HASH_COUNT
};

enum conf_health {
    CONF_HEALTH_NONE = 0,
    CONF_HEALTH_TCP,
    CONF_HEALTH_HTTP,
    CONF_HEALTH_HTTPS,
    CONF_HEALTH_COUNT
};

/* The administrative state of a server (server option state=). */
enum conf_server_state {
    CONF_SERVER_READY = 0, /* takes traffic when healthy (default) */
    CONF_SERVER_DRAIN,     /* no new requests; those in flight finish */
    CONF_SERVER_MAINT,     /* out of service and not checked */
    CONF_SERVER_STATE_COUNT
};

/* A resolved socket address, with the text it came from (for logs and errors). */
struct conf_addr {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[280]; /* as written: "127.0.0.1:9001", "[::1]:80", "web.local:80" */
    int line;       /* of a `bind =` (0 elsewhere), for errors found when opening it */
};

/* One `server = NAME ADDR k=v ...` line of a pool. */
struct conf_server {
    char name[CONF_NAME_MAX];
    struct conf_addr addr;
    uint32_t weight;        /* weight=N, 0..256, default 1 (0: never picked) */
    uint32_t slowstart_ms;  /* slowstart=DURATION, default 0 (off) */
    uint32_t max_conns;     /* maxconn=N, default 0 (unlimited) */
    bool backup;            /* backup: used only when no other server is usable */
    bool check;             /* check=on|off, default on */
    uint16_t check_port;    /* check_port=N, 0: the server's own port */
    bool tls;               /* tls: speak TLS to this server */
    bool tls_verify;        /* verify=on|off, default on when tls */
    char *tls_ca_file;      /* ca=FILE, NULL: the system default store */
    char *tls_sni;          /* sni=NAME, NULL: the host part of the address */
    enum conf_server_state state; /* state=ready|drain|maint, default ready */
    bool tls_options;       /* verify, ca or sni was given (they need tls or https
                               checks) */
    int line;               /* where it was defined */
};

struct conf_pool {
    char name[CONF_NAME_MAX];
    enum conf_balance balance;        /* default roundrobin */
    enum conf_hash_key hash_key;      /* default uri (http) / source (tcp) */
    char hash_key_name[CONF_NAME_MAX];/* for header:NAME and cookie:NAME */
    double balance_factor;            /* bounded loads, 0 = off; default 1.25 */
    uint32_t maglev_table_size;       /* a prime, default 65537 */
    uint32_t ring_points;             /* virtual nodes per unit of weight, default 1280 */
    uint32_t retries;                 /* default 2 */
    /* retry_on_status = "500,502-504" (default) or "none": http mode; an
     * idempotent request answered with one of these goes to another server when
     * retries are left, nothing reached the client and one is usable */
    uint16_t retry_status_lo[8];
    uint16_t retry_status_hi[8];
    size_t retry_status_count;
    /* http mode: an idempotent request whose server did not answer within
     * timeout_server goes to another server while retries are left and nothing
     * reached the client (NGINX's proxy_next_upstream timeout; HAProxy only
     * with retry-on response-timeout); default on */
    bool retry_on_timeout;
    uint32_t timeout_connect_ms;      /* default 2s */
    uint32_t timeout_server_ms;       /* default 30s */
    /* how long a request (http) or connection (tcp) may wait for a server
     * below its maxconn when every usable one is full; 0: 503 (or close) at
     * once; default timeout_connect (HAProxy's default), set by validation */
    uint32_t timeout_queue_ms;
    /* how long a kept server connection may wait idle in a worker's pool (http
     * mode); below the servers' own keep-alive timeout, so that a request never
     * meets a server closing its end (Node.js, uvicorn and Apache close after
     * 5 s); default 4s, and never more than timeout_server */
    uint32_t timeout_server_idle_ms;
    enum conf_health health;          /* default none */
    char *health_method;              /* default "GET" */
    char *health_path;                /* default "/" */
    char *health_host;                /* Host header of probes, NULL: server address */
    char *health_body;                /* expected body substring, NULL: any */
    /* health_expect = "200-399" or "200,204,300-399": up to 8 inclusive ranges;
     * default 200-399 */
    uint16_t health_expect_lo[8];
    uint16_t health_expect_hi[8];
    size_t health_expect_count;
    uint32_t health_interval_ms;      /* default 1s */
    uint32_t health_fast_interval_ms; /* while a server changes state; default
                                         interval/4, at least 10ms */
    uint32_t health_timeout_ms;       /* default 500ms */
    uint32_t rise;                    /* default 2 */
    uint32_t fall;                    /* default 3 */
    uint32_t eject_after;             /* passive: consecutive failures, 0 = off; default 5 */
    uint32_t eject_time_ms;           /* first ejection; doubles each time; default 10s */
    uint32_t max_ejected_percent;     /* default 50 */
    struct conf_server *servers;
    size_t server_count;
    int line;
};

/* One `tls_cert =` / `tls_key =` pair of a frontend: the n-th tls_cert goes with the
 * n-th tls_key. `line` is where the first of the two was written. */
struct conf_tls_cert {
    char *cert_file;
    char *key_file;
    int line;
};

struct conf_frontend {
    char name[CONF_NAME_MAX];
    struct conf_addr *binds;
    size_t bind_count;
    enum conf_mode mode;               /* default http */
    char pool_name[CONF_NAME_MAX];
    size_t pool;                       /* index into conf.pools, set by validation */
    struct conf_tls_cert *certs;       /* empty: plain TCP/HTTP */
    size_t cert_count;
    char *tls_ciphers;                 /* NULL: the built-in modern list */
    char *tls_min_version;             /* "1.2" (default) or "1.3" */
    uint32_t timeout_client_ms;        /* idle client, default 30s */
    uint32_t timeout_http_request_ms;  /* whole request head, default 10s */
    uint32_t timeout_http_keepalive_ms;/* between requests, default 5s */
    uint32_t timeout_tunnel_ms;        /* idle WebSocket tunnel, default 1h */
    uint32_t timeout_tls_handshake_ms; /* default 10s */
    uint32_t tls_session_cache;        /* TLS 1.2 sessions kept by ID, 0: none; 20000 */
    uint32_t max_keepalive_requests;   /* per client connection, default 1000 */
    uint64_t max_body_bytes;           /* 0: unlimited (default) */
    uint32_t max_header_bytes;         /* whole request head, default 64k */
    uint32_t max_headers;              /* header count, default 100 */
    int line;
};

struct conf_peer {
    char id[CONF_NAME_MAX];
    struct conf_addr addr;
};

struct conf_cluster {
    bool enabled;                      /* a [cluster] section is present */
    char node_id[CONF_NAME_MAX];
    struct conf_addr bind;
    struct conf_peer *peers;           /* includes this node; from all `peers =` lines */
    size_t peer_count;
    char *data_dir;
    char *secret_file;
    uint32_t heartbeat_interval_ms;    /* default 50ms */
    uint32_t election_timeout_ms;      /* default 300ms, randomised in [t, 2t) */
    char *vip;                         /* "192.0.2.10/24 dev eth0", NULL: none */
    char *on_leader;                   /* hook scripts, NULL: none */
    char *on_follower;
    int line;
};

struct conf_admin {
    bool enabled;                      /* an [admin] section is present */
    struct conf_addr bind;
    char *token_file;
    int line;
};

struct conf_global {
    uint32_t workers;                  /* 0 = one per CPU (resolved at start-up) */
    uint32_t max_connections;          /* default 100000, per instance */
    uint32_t poll_batch_us;            /* most a busy worker waits to batch events (poll_batch.h), default 100 */
    enum conf_log_level log_level;     /* default info */
    char *error_log;                   /* "stderr" (default), "syslog" or a path */
    char *access_log;                  /* "stderr" (default), "syslog", a path, "off" */
    uint32_t grace_ms;                 /* SIGTERM drain grace period, default 30s */
    char *pid_file;                    /* NULL: none */
};

struct conf {
    char *path;                        /* the file it was loaded from */
    struct conf_global global;
    struct conf_frontend *frontends;
    size_t frontend_count;
    struct conf_pool *pools;
    size_t pool_count;
    struct conf_cluster cluster;
    struct conf_admin admin;
};

/* The problems found while loading, each "FILE:LINE: message" (or "FILE: message"
 * when no line applies, e.g. the file cannot be read), in file order. */
struct conf_diag {
    char **msgs;
    size_t count;
};

/*
 * Loads and validates the configuration in `path`.
 * On success returns 0 and stores a new configuration in *out (the caller owns it
 * and frees it with conf_free()); `diag` is then empty.
 * On failure returns -1, *out is NULL, and `diag` holds at least one message.
 * `diag` must be zeroed by the caller and released with conf_diag_free().
 */
int conf_load(const char *path, struct conf **out, struct conf_diag *diag);

void conf_free(struct conf *conf);
void conf_diag_free(struct conf_diag *diag);

/* Lookups by name; NULL when absent. */
const struct conf_pool *conf_find_pool(const struct conf *conf, const char *name);

/* Printable names of the enumerations, for logs and the admin API. */
const char *conf_balance_name(enum conf_balance b);
const char *conf_mode_name(enum conf_mode m);
const char *conf_health_name(enum conf_health h);
const char *conf_log_level_name(enum conf_log_level l);
const char *conf_hash_key_name(enum conf_hash_key k);
const char *conf_server_state_name(enum conf_server_state s);

#endif
