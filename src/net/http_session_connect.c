/*
 * http_session_connect: connecting an HTTP session to a server (ST_CONNECT, see
 * http_session.c): picking a server not tried yet, taking a kept connection from
 * the worker's upstream_pool or connecting afresh (or waiting for either, as
 * conn_ramp.h says), the server's TLS handshake,
 * and what a failed attempt does (the next server, or 503).
 *
 * Must not: send or read any byte of a request or response (that starts in
 * ST_PROXY, in http_session.c), or retry past retries and TRIES_MAX.
 */
#include "config.h"

#include "net/http_session_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/conn_ramp.h"
#include "net/tcp_acks.h"
#include "net/upstream_pool.h"
#include "tls/tls_ctx.h"
#include "util/log.h"

/* Whether the server connection may carry another request: the response was
 * framed to its end (never until-close) with nothing after it, the whole
 * request went up, and neither side asked to close. The response's version
 * decides (RFC 9112 §9.3, resp.keep_alive): an HTTP/1.0 request goes up with
 * "Connection: keep-alive" (http_rewrite.h), and an HTTP/1.1 answer without
 * "close" keeps the connection (Python's http.server does not repeat the
 * keep-alive; NGINX, Node.js and Go do), an HTTP/1.0 answer only with it. */
static bool server_reusable(const struct http_session *s)
{
    const struct http_pipe *d = &s->down;
    return s->connected && s->sfd >= 0 && !s->s_eof && !s->send_failed && s->up_sent &&
           s->up.done && s->resp_head_done && s->resp.keep_alive &&
           d->body != HTTP_BODY_CLOSE &&
           d->body != HTTP_BODY_TUNNEL && d->done && d->pos + d->ready == d->len &&
           !s->w->draining &&
           (s->stls == NULL || !SSL_has_pending(tls_conn_ssl(&s->stls->c)));
}

/* The worker's pool of idle server connections, made on first use (NULL when
 * out of memory). */
static struct upstream_pool *worker_pool(struct worker *w)
{
    if (w->upstream == NULL)
        w->upstream = upstream_pool_new(w->loop, UPSTREAM_POOL_PER_SERVER_MAX,
                                        UPSTREAM_POOL_MAX);
    return w->upstream;
}

/* The pool key of the session's server connection. */
static void server_key(const struct http_session *s, struct upstream_key *key)
{
    key->pool = s->pool;
    key->server = s->server;
    key->addr = &s->saddr;
    key->addr_len = s->saddr_len;
    key->tls_ctx = s->stls != NULL ? SSL_get_SSL_CTX(tls_conn_ssl(&s->stls->c)) : NULL;
}

/* After a complete response: parks the server connection in the worker's pool
 * when it is reusable (idle timeout: timeout_server_idle, at most
 * timeout_server), else tells the pool that this server's connection closed
 * after its answer (conn_ramp.h), then releases the rest. */
void http_session_release_server_after_response(struct http_session *s)
{
    struct upstream_key key;
    ev_tstamp idle_s = s->timeout_server_idle_s;

    if (s->connected && worker_pool(s->w) != NULL) {
        server_key(s, &key);
        if (server_reusable(s)) {
            if (s->timeout_server_s > 0 && s->timeout_server_s < idle_s)
                idle_s = s->timeout_server_s;
            ev_io_stop(s->w->loop, &s->srd);
            ev_io_stop(s->w->loop, &s->swr);
            upstream_pool_put(s->w->upstream, &key, s->sfd,
                              s->stls != NULL ? &s->stls->c : NULL, idle_s);
            s->sfd = -1;
            s->stls = NULL;
        } else if (s->resp_head_done && !s->upgrade) {
            upstream_pool_closed(s->w->upstream, &key);
        }
    }
    http_session_release_server(s);
}

static int acquire(struct http_session *s, const struct route_server *srv, bool force);

static int connected(struct http_session *s)
{
    s->connected = true;
    s->state = ST_PROXY;
    http_msg_init_response(&s->resp, s->resp_hdrs, RESP_HEADERS_MAX, s->req.method,
                           s->upgrade);
    s->down.pos = s->down.len = s->down.ready = 0;
    s->down.head_pos = s->down.head_len = 0;
    s->down.done = false;
    stimer_set(s, s->timeout_server_s);
    return http_session_drive(s);
}

int http_session_connect_failed(struct http_session *s, const char *why)
{
    log_info("%s: connect to %s failed: %s", s->frontend, s->server, why);
    report(s, HEALTH_REQ_CONNECT_FAIL);
    http_session_release_server(s);
    if (s->tries <= s->retries && s->tries < TRIES_MAX)
        return http_session_connect_next(s);
    return http_session_send_error(s, 503, "no server could be reached");
}

/* One step of the server's TLS handshake (under the connect timer); its
 * failure is a connect failure. */
int http_session_server_handshake(struct http_session *s)
{
    struct side_tls *t = s->stls;
    char why[240];
    int st = tls_conn_handshake(&t->c);
    if (st == TLS_CONN_WANT_READ || st == TLS_CONN_WANT_WRITE) {
        t->hs_ev = want_ev(st);
        http_session_watchers(s);
        return 0;
    }
    t->handshaking = false;
    ev_io_stop(s->w->loop, &s->srd);
    ev_io_stop(s->w->loop, &s->swr);
    if (st == TLS_CONN_DONE) {
        t->rd_ev = EV_READ;
        t->wr_ev = EV_WRITE;
        return connected(s);
    }
    snprintf(why, sizeof(why), "TLS handshake: %s", tls_conn_reason(&t->c));
    return http_session_connect_failed(s, why);
}

/* The TCP connect to the server is done: relay, or start its TLS handshake. */
static int tcp_connected(struct http_session *s)
{
    if (s->stls == NULL)
        return connected(s);
    s->stls->handshaking = true;
    return http_session_server_handshake(s);
}

/* ST_CONNECT: the connect completed or failed. */
int http_session_connect_check(struct http_session *s)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (getsockopt(s->sfd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
        soerr = errno;
    if (soerr == 0)
        return tcp_connected(s);
    if (soerr != EINPROGRESS && soerr != EINTR)
        return http_session_connect_failed(s, strerror(soerr));
    return 0;
}

/* Starts the request's attempt on server `idx` of `pool`. */
static int connect_to(struct http_session *s, const struct route_pool *pool, int idx)
{
    const struct route_server *srv = &pool->servers[idx];
    memcpy(s->server, srv->name, sizeof(s->server));
    s->counter = srv->counter;
    atomic_fetch_add_explicit(&s->counter->inflight, 1, memory_order_relaxed);
    s->w->batch.inflight++;
    s->tried[s->tries++] = srv->counter;
    s->picked = true;
    s->state = ST_CONNECT;
    s->send_failed = false;
    return acquire(s, srv, false);
}

void http_session_queue_leave(struct http_session *s)
{
    if (!s->sq.queued)
        return;
    worker_queue_leave(s->w, &s->sq);
    s->queue_s += ev_now(s->w->loop) - s->queued_since;
    ev_timer_stop(s->w->loop, &s->stimer);
}

/* The worker's queue asks a waiting request to pick again. */
static enum sq_try on_queue_try(struct sq_waiter *q)
{
    struct http_session *s = OWNER(q, struct http_session, sq);
    struct route_pool *pool = route_find_pool(worker_route(s->w), s->pool);
    int idx = pool != NULL ? pick_untried(s, pool) : -1;
    if (idx == ROUTE_PICK_FULL)
        return SQ_FULL;
    http_session_queue_leave(s);
    if (pool == NULL)
        http_session_send_error(s, 503, "pool gone");
    else if (idx < 0)
        http_session_send_error(s, 503, "no usable server");
    else if (connect_to(s, pool, idx) == 0)
        http_session_watchers(s);
    return SQ_LEFT;
}

/* Every usable server of the pool is at its maxconn (or older requests of the
 * pool wait already): the request waits in the worker's queue, oldest first,
 * for up to timeout_queue. */
static int queue_wait(struct http_session *s, const struct route_pool *pool)
{
    s->state = ST_CONNECT;
    s->sq.pool = s->pool;
    s->sq.pool_counter = pool->counter;
    s->sq.try_pick = on_queue_try;
    s->queued_since = ev_now(s->w->loop);
    worker_queue_push(s->w, &s->sq);
    stimer_set(s, pool->timeout_queue_ms / 1000.0);
    return 0;
}

/* Server timer while queued: no server came free in time. */
int http_session_queue_timeout(struct http_session *s)
{
    http_session_queue_leave(s);
    return http_session_send_error(s, 503, "queue timeout: every usable server stayed at its maxconn");
}

/* Picks a server not tried yet for this request and starts connecting. */
int http_session_connect_next(struct http_session *s)
{
    struct route_pool *pool = route_find_pool(worker_route(s->w), s->pool);
    int idx;

    if (pool == NULL)
        return http_session_send_error(s, 503, "pool gone");
    if (s->tries == 0) {
        s->retries = pool->retries;
        s->timeout_connect_s = pool->timeout_connect_ms / 1000.0;
        s->timeout_server_s = pool->timeout_server_ms / 1000.0;
        s->timeout_server_idle_s = pool->timeout_server_idle_ms / 1000.0;
        s->retry_on_timeout = pool->retry_on_timeout;
        /* no request passes an older one waiting for the same pool (a re-pick
         * of one that had its turn does not queue again behind them) */
        if (!s->picked && pool->timeout_queue_ms > 0 && route_pool_queued(pool))
            return queue_wait(s, pool);
    }
    idx = pick_untried(s, pool);
    if (idx < 0) {
        if (s->tries == 0 && idx == ROUTE_PICK_FULL && pool->timeout_queue_ms > 0)
            return queue_wait(s, pool);
        if (s->tries == 0)
            return http_session_send_error(s, 503,
                                           idx == ROUTE_PICK_FULL
                                               ? "every usable server is at its maxconn"
                                               : "no usable server");
        if (s->retry_status != 0)
            return http_session_send_error(s, s->retry_status,
                                           "no other server to retry on");
        return http_session_send_error(s, 503, "no server could be reached");
    }
    return connect_to(s, pool, idx);
}

/* The waiter's wake (upstream_pool): the server timer's callback runs, later in
 * this loop iteration, and tries again (http_session_connect_resume). */
static void on_pool_wake(struct upstream_waiter *wt)
{
    struct http_session *s = OWNER(wt, struct http_session, waiter);
    ev_feed_event(s->w->loop, &s->stimer, EV_TIMER);
}

/* Server timer or wake while waiting for a connection: try again, and open one
 * anyway once the wait is over. */
int http_session_connect_resume(struct http_session *s)
{
    struct route_pool *pool = route_find_pool(worker_route(s->w), s->pool);
    for (size_t i = 0; pool != NULL && i < pool->server_count; i++)
        if (pool->servers[i].counter == s->counter)
            return acquire(s, &pool->servers[i],
                           ev_now(s->w->loop) >= s->wait_until - 1e-4);
    /* a reload removed the server before the request reached it: not an attempt
     * (nor a failure of the server), so the request is picked again, even with
     * retries = 0 */
    log_info("%s: server %s left the pool while a request waited for it; picking again",
             s->frontend, s->server);
    http_session_release_server(s);
    s->tries--;
    return http_session_connect_next(s);
}

/* A connection to srv for the request: an idle one from the worker's pool, or a
 * new one, or none yet (conn_ramp.h: the request waits, at most until
 * wait_until, under the server timer). `force`: open one now if none is idle. */
static int acquire(struct http_session *s, const struct route_server *srv, bool force)
{
    int fd, one = 1;

    memcpy(&s->saddr, &srv->addr, sizeof(s->saddr));
    s->saddr_len = srv->addr_len;
    if (!s->fresh_only && !s->upgrade) {
        struct tls_conn *tc = NULL;
        struct upstream_key key = {s->pool, s->server, &s->saddr, s->saddr_len,
                                   srv->tls != NULL ? tls_client_ctx(srv->tls) : NULL};
        s->waiter.wake = on_pool_wake;
        ev_tstamp now = ev_now(s->w->loop);
        double response_s = s->w->batch.response_s;
        /* one that has waited CONN_RAMP_WAIT_TOTAL_MAX_S in all is not refused
         * again: no response time (0) to compare with */
        if (s->waiting && now >= s->wait_since + CONN_RAMP_WAIT_TOTAL_MAX_S - 1e-4)
            response_s = 0.0;
        /* no pool (out of memory): upstream_pool_get says open */
        fd = upstream_pool_get(worker_pool(s->w), &key, &tc, &s->waiter, force,
                               response_s);
        if (fd == UPSTREAM_WAIT) {
            if (!s->waiting) {
                s->waiting = true;
                s->wait_since = now;
                s->wait_until = now + conn_ramp_wait_s(response_s);
            } else if (force) { /* refused: one more period, within the total */
                s->wait_until = now + conn_ramp_wait_s(response_s);
                if (s->wait_until > s->wait_since + CONN_RAMP_WAIT_TOTAL_MAX_S)
                    s->wait_until = s->wait_since + CONN_RAMP_WAIT_TOTAL_MAX_S;
            }
            stimer_set(s, s->wait_until - now > 1e-4 ? s->wait_until - now : 1e-4);
            return 0;
        }
        s->waiting = false;
        if (fd >= 0) {
            s->sfd = fd;
            s->reused = true;
            if (tc != NULL) {
                s->stls = (struct side_tls *)(void *)tc;
                s->stls->handshaking = false;
                s->stls->rd_ev = EV_READ;
                s->stls->wr_ev = EV_WRITE;
            }
            ev_init(&s->swr, http_session_on_server_write);
            ev_init(&s->srd, http_session_on_server_read);
            upstream_io_set(&s->swr, fd, EV_WRITE);
            upstream_io_set(&s->srd, fd, EV_READ);
            return connected(s);
        }
    }
    s->reused = false;
    fd = socket(srv->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return http_session_connect_failed(s, strerror(errno));
    s->sfd = fd;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* the request (or the ClientHello) follows the handshake at once and
     * carries its last ACK */
    tcp_delay_acks(fd, true);
    if (srv->tls != NULL) {
        /* now: the snapshot (and srv->tls) may be gone by the time we connect */
        char why[200];
        struct side_tls *t = calloc(1, sizeof(*t));
        if (t == NULL)
            return http_session_connect_failed(s, "out of memory for TLS");
        if (tls_conn_start_client(&t->c, srv->tls, fd, why, sizeof(why)) != 0) {
            free(t);
            return http_session_connect_failed(s, why);
        }
        t->rd_ev = EV_READ;
        t->wr_ev = EV_WRITE;
        s->stls = t;
    }
    ev_io_init(&s->swr, http_session_on_server_write, fd, EV_WRITE);
    ev_io_init(&s->srd, http_session_on_server_read, fd, EV_READ);
    if (connect(fd, (const struct sockaddr *)&srv->addr, srv->addr_len) == 0) {
        if (s->stls != NULL)
            stimer_set(s, s->timeout_connect_s); /* the handshake's deadline */
        return tcp_connected(s);
    }
    if (errno != EINPROGRESS)
        return http_session_connect_failed(s, strerror(errno));
    stimer_set(s, s->timeout_connect_s);
    http_session_watchers(s);
    return 0;
}
