/*
 * upstream_pool: a worker's idle keep-alive connections to backend servers
 * (mode = http), so a request can reuse one instead of connecting again.
 *
 * Keyed by pool name + server name + server address: a reload that changes a
 * server's address (or renames it) never gets the old connection back. Bounded
 * per key and per worker (upstream_pool_new's bounds; the session uses
 * UPSTREAM_POOL_PER_SERVER_MAX and UPSTREAM_POOL_MAX; the
 * oldest idle connection is closed to make room). Reuse is LIFO (the most
 * recently parked first: it is the least likely to have been closed by the
 * server). An idle connection is closed after its idle timeout, which the
 * caller chooses (http_session: min(pool timeout_server, 5 s)), and as soon as
 * its socket becomes readable: an idle server connection has nothing to say,
 * so readability means EOF, a reset or stray bytes, none of them reusable.
 *
 * A connection to a server with `tls` is parked with its tls_conn (handshake
 * done, nothing unread inside OpenSSL: the caller checks) and keyed also by the
 * SSL_CTX it was made from, so it is only reused for the same server and the same
 * TLS settings: the pooled SSL holds a reference on that SSL_CTX, so no other
 * context can take its address while the connection waits here. The pool frees
 * the tls_conn (tls_conn_free, then free()) before closing the fd.
 *
 * It also paces new connections (conn_ramp.h): per key, how many new ones the
 * worker opened that have not been answered yet, and the requests waiting, first
 * come first served, for an idle connection or for room to open one
 * (upstream_pool_get, upstream_pool_done).
 *
 * Single-threaded: a pool belongs to one worker and is used only from its loop
 * thread. Must not: decide whether a connection is reusable (the caller does,
 * from the response framing), or block.
 */
#ifndef RAFTLB_NET_UPSTREAM_POOL_H
#define RAFTLB_NET_UPSTREAM_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <ev.h>

/* The bounds the HTTP session uses: enough for every connection of a busy
 * worker to find an idle server connection (a low per-server bound made a
 * worker with 1,000 clients open and close a server connection per request). */
#define UPSTREAM_POOL_PER_SERVER_MAX 1024u
#define UPSTREAM_POOL_MAX            8192u

struct upstream_pool;

struct tls_conn;

/* Who a connection belongs to. Strings are NUL-terminated; addr holds
 * addr_len meaningful bytes; tls_ctx is the SSL_CTX of a TLS connection (NULL:
 * plain TCP), compared by address only. */
struct upstream_key {
    const char *pool;
    const char *server;
    const struct sockaddr_storage *addr;
    socklen_t addr_len;
    const void *tls_ctx;
};

/* Creates an empty pool on `loop` keeping at most `per_key_max` idle
 * connections per key and `max` in all. Returns NULL when out of memory. */
struct upstream_pool *upstream_pool_new(struct ev_loop *loop, size_t per_key_max,
                                        size_t max);

/* Closes every idle connection and frees the pool (NULL is fine). Must run on
 * the loop's thread while the loop still exists. */
void upstream_pool_free(struct upstream_pool *p);

/* Parks `fd` (connected, nonblocking, with nothing unread and no request in
 * flight) under `key`, closed after idle_s seconds; `tls` (NULL for plain TCP)
 * is its TLS state, the start of a malloc'd block (key->tls_ctx must then be
 * its SSL_CTX). Ownership of fd and tls passes to the pool in every case: on
 * failure (out of memory, bad key) they are freed and closed. Returns 0 when
 * parked, -1 when closed. */
int upstream_pool_put(struct upstream_pool *p, const struct upstream_key *key, int fd,
                      struct tls_conn *tls, ev_tstamp idle_s);

/* Takes the most recently parked connection for `key`; the caller owns the
 * returned fd and *tls (set to NULL for a plain connection; may be NULL when
 * key->tls_ctx is NULL). Returns -1 when there is none. */
int upstream_pool_take(struct upstream_pool *p, const struct upstream_key *key,
                       struct tls_conn **tls);

/* ev_io_set for a connection handed between the pool and a session: its fd
 * stayed open and registered with the same loop all along (some watcher of it
 * was active, or libev still holds its kernel registration), so it is not
 * marked as a new fd the way ev_io_set marks it. A new fd makes libev
 * register it with the kernel again at the next loop iteration: an
 * epoll_ctl(ADD) failing with EEXIST, one more system call per request. Only
 * for an fd that was never closed since a watcher of this loop last used it. */
static inline void upstream_io_set(ev_io *w, int fd, int events)
{
    ev_io_set(w, fd, events);
    w->events &= ~EV__IOFDSET;
}

/* A request that may wait for a connection of one key, embedded in the
 * caller's session. `wake` (set by the caller) is called, from
 * upstream_pool_put or upstream_pool_done, when it should call
 * upstream_pool_get again; it must not call back into the pool. The rest is
 * the pool's: zero it before first use. */
struct upstream_group;
struct upstream_waiter {
    struct upstream_waiter *prev, *next; /* the group's queue */
    struct upstream_group *group;        /* queued on, or counted as opening on */
    bool queued;                         /* in the group's queue */
    bool opening;                        /* counted as an unanswered new connection */
    bool woken;                          /* taken off the queue by a wake */
    ev_tstamp opened_at;                 /* when counted as opening */
    void (*wake)(struct upstream_waiter *w);
};

#define UPSTREAM_OPEN (-1) /* open a new connection (counted on the waiter) */
#define UPSTREAM_WAIT (-2) /* queued: wait for wake */

/* A connection for `key`: an idle one (its fd, *tls as upstream_pool_take),
 * or UPSTREAM_OPEN when the caller is to open one, or UPSTREAM_WAIT when it is
 * to wait (conn_ramp_may_open said no). Those already queued go first: while
 * others wait, a newcomer never takes an idle connection, and may only open
 * one. `force` (the caller has waited long enough): an idle connection if
 * there is one, else UPSTREAM_OPEN when conn_ramp_may_force (given the servers'
 * recent response time `response_s`; 0 when unknown, which it always accepts)
 * agrees, else UPSTREAM_WAIT at the head of the queue. A waiter counted as opening stays so until upstream_pool_done.
 * Out of memory: UPSTREAM_OPEN, not counted. */
int upstream_pool_get(struct upstream_pool *p, const struct upstream_key *key,
                      struct tls_conn **tls, struct upstream_waiter *w, bool force,
                      double response_s);

/* The waiter's new connection was answered, failed or is closed, or its
 * request no longer waits: takes it off the queue and the count (each only if
 * on it), and wakes the next waiter when there is room to open a connection.
 * Safe to call any number of times. */
void upstream_pool_done(struct upstream_pool *p, struct upstream_waiter *w);

/* A connection of `key` was answered and then closed instead of parked (the
 * server or the request said close): recorded for conn_ramp (conn_ramp_closed);
 * when that makes it a server that closes its connections, every request
 * queued for `key` is woken to open its own. */
void upstream_pool_closed(struct upstream_pool *p, const struct upstream_key *key);

/* The waiter's new connection was answered (its response head came):
 * recorded for conn_ramp, then as upstream_pool_done. */
void upstream_pool_answered(struct upstream_pool *p, struct upstream_waiter *w);

/* Idle connections held (all keys). */
size_t upstream_pool_count(const struct upstream_pool *p);

#endif
