/*
 * http_session: see http_session.h.
 *
 * States of a connection:
 *   ST_HEAD    reading and parsing a request head (timeout_http_request, or
 *              timeout_http_keepalive while nothing of the next one arrived);
 *   ST_CONNECT connecting to a server (timeout_connect per attempt, retries);
 *   ST_PROXY   request head and body flow up while the response flows down;
 *   ST_TUNNEL  after a 101 to a WebSocket upgrade: raw bytes both ways;
 *   ST_CLOSE   flushing the last bytes to the client (a response, an error);
 *   ST_LINGER  FIN sent; reading and dropping what the client still sends for
 *              a short bounded time so that our answer is not lost to a reset.
 *
 * Each direction is a `struct http_pipe` (http_pipe.h): an input buffer holding bytes
 * read from the source, of which in[pos, pos + ready) are validated body bytes to send,
 * and a head buffer sent before them. The pipe's framing (Content-Length,
 * chunked, until close) decides how many input bytes belong to the message;
 * bytes after the end of a request are the next pipelined request and stay.
 * Back-pressure: a source is read only while its pipe has room, so a slow
 * destination stops its source after one buffer.
 *
 * http_session_drive() is called after every event and does all it can
 * (level-triggered), then sets the watchers from the state. Every function that
 * may end the session returns -1 after http_session_end() and the caller must
 * not touch it again.
 *
 * TLS (a frontend with tls_cert, a server with tls): a TLS side has a struct
 * side_tls and reads and writes with tls_conn instead of recv/send.
 * http_session_watchers() still says whether a side is to be read or written;
 * side_watch() turns that into fd events with what OpenSSL asked for (a read
 * may wait for EV_WRITE and a write for EV_READ) and feeds a read event when
 * OpenSSL holds decrypted bytes already. Both watchers of a TLS side go to
 * http_session_tls_event() (http_session_tls.c). The client's handshake comes
 * first, under timeout_tls_handshake; a server's runs after its TCP connect,
 * under the connect timer, and its failure is a connect failure. Before the FIN
 * of a closing client connection goes our close_notify. A plain side keeps its
 * recv/send path: one pointer test per event more, nothing else.
 *
 * This file is the state machine and its per-request path (reading, heads,
 * proxying, driving, watchers), kept together so that the compiler inlines
 * within it. Elsewhere, each with what it must not do: the WebSocket tunnel
 * (Upgrade) in http_tunnel.c, buffers in http_session_bufs.c, connecting to a
 * server and parking its connection in http_session_connect.c, the client's
 * TLS handshake and a TLS side's events in http_session_tls.c, retries in
 * http_session_retry.c, the timers in http_session_timers.c, the balancing key
 * in http_session_key.c, the access log in http_session_log.c; what they share
 * in http_session_int.h.
 */
#include "config.h"

#include "net/http_session_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "health/health_mailbox.h"
#include "http/http_parser.h"
#include "http/http_rewrite.h"
#include "http/http_upgrade.h"
#include "net/route.h"
#include "net/tcp_acks.h"
#include "net/worker.h"
#include "tls/tls_conn.h"
#include "util/log.h"

/* ---------------------------------------------------------- lifecycle ---- */

void http_session_release_server(struct http_session *s)
{
    struct ev_loop *loop = s->w->loop;
    ev_io_stop(loop, &s->srd);
    ev_io_stop(loop, &s->swr);
    ev_timer_stop(loop, &s->stimer);
    if (s->stls != NULL) {
        tls_conn_free(&s->stls->c);
        free(s->stls);
        s->stls = NULL;
    }
    if (s->sfd >= 0) {
        close(s->sfd);
        s->sfd = -1;
    }
    if (s->waiter.group != NULL)
        upstream_pool_done(s->w->upstream, &s->waiter);
    s->waiting = false;
    http_session_queue_leave(s);
    if (s->counter != NULL) {
        atomic_fetch_sub_explicit(&s->counter->inflight, 1, memory_order_relaxed);
        s->w->batch.inflight--;
        s->counter = NULL;
        worker_queue_kick(s->w); /* a request may wait for this slot */
    }
    s->connected = false;
}

/* Ends the session (logging a request in progress with `how`) and frees it. */
void http_session_end(struct http_session *s, const char *how)
{
    struct worker *w = s->w;
    http_session_log_request(s, how);
    http_session_release_server(s);
    http_session_request_bufs_put(s);
    http_session_client_buf_put(s, true);
    ev_io_stop(w->loop, &s->crd);
    ev_io_stop(w->loop, &s->cwr);
    ev_timer_stop(w->loop, &s->ctimer);
    if (s->ctls != NULL) {
        /* one try at a close_notify (done already when closing normally) */
        if (!s->ctls->handshaking && !s->ctls->notified)
            tls_conn_shutdown(&s->ctls->c);
        tls_conn_free(&s->ctls->c);
        free(s->ctls);
    }
    close(s->cfd);
    worker_session_remove(w, &s->base);
    free(s);
}

/* Sends what is queued for the client, then FIN, then lingers (see top) when
 * `linger`. */
static int start_close(struct http_session *s, bool linger)
{
    http_session_release_server(s);
    s->linger = linger;
    s->state = ST_CLOSE;
    s->c_active = ev_now(s->w->loop);
    ctimer_set(s, s->timeout_client_s > 0 ? s->timeout_client_s : 30.0);
    return http_session_drive(s);
}

/*
 * Answers the request with a canned error `status` and closes the connection.
 * Only valid while nothing of a response has been sent to the client.
 */
int http_session_send_error(struct http_session *s, unsigned status, const char *why)
{
    const char *reason = http_status_reason(status);
    struct http_pipe *d = &s->down;
    int n;
    if (reason == NULL)
        reason = "Error";
    log_debug("%s: %s: %u %s (%s)", s->frontend, s->client_text, status, reason, why);
    http_session_release_server(s);
    d->pos = d->len = d->ready = 0;
    d->done = true;
    d->head = s->errbuf;
    d->head_cap = sizeof(s->errbuf);
    /* a HEAD request gets the length of the body it would have had, no body */
    n = snprintf(d->head, d->head_cap,
                 "HTTP/1.1 %u %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                 "Cache-Control: no-store\r\nConnection: close\r\n\r\n%u %s\n",
                 status, reason, strlen(reason) + 5, status, reason);
    if (s->in_request && s->req.method == HTTP_METHOD_HEAD && n > 0)
        n -= (int)strlen(reason) + 5;
    d->head_pos = 0;
    d->head_len = n > 0 && (uint32_t)n < d->head_cap ? (uint32_t)n : 0;
    if (!s->in_request) /* no head parsed: nothing of an earlier request is logged */
        http_session_request_begin(s, s->head_since);
    s->status = (uint16_t)status;
    return start_close(s, true); /* the client may be sending still */
}

/* ------------------------------------------------------------ request ---- */

/*
 * A request head is complete in up.in[0, head_bytes): validate the body bytes
 * already buffered, rewrite the head for the server, pick and connect.
 */
void http_session_request_begin(struct http_session *s, ev_tstamp start)
{
    s->in_request = true;
    s->req_start = start;
    s->ttfb = 0;
    s->up_sent_at = 0;
    s->status = 0;
    s->bytes_out = 0;
    s->bytes_up = 0;
    s->tries = 0;
    s->retry_status = 0;
    s->server[0] = '\0';
    s->method[0] = '\0';
    s->target[0] = '\0';
    s->reused = false;
    s->continue_sent = false;
    s->queue_s = 0;
    s->picked = false;
}

static int request_ready(struct http_session *s)
{
    struct http_request_forward fwd;
    size_t out_len = 0;
    int status;

    http_session_request_begin(s, ev_now(s->w->loop));
    s->up_sent = false;
    s->resp_head_done = false;
    s->s_eof = false;
    s->fresh_only = false;
    s->send_failed = false;
    s->s_quick = false;
    http_session_copy_printable(s->method, sizeof(s->method),
                                s->up.in + s->req.method_name.off,
                                s->req.method_name.len);
    http_session_copy_printable(s->target, sizeof(s->target),
                                s->up.in + s->req.target.off, s->req.target.len);

    s->keep_alive =
        s->req.keep_alive && !s->w->draining &&
        (s->max_keepalive_requests == 0 || s->requests + 1 < s->max_keepalive_requests);

    http_session_request_key(s);
    memset(&fwd, 0, sizeof(fwd));
    fwd.client_addr = s->client_ip;
    fwd.proto = s->ctls != NULL ? "https" : "http";
    fwd.keep_alive = true; /* the server connection may go back to the pool */
    s->upgrade = !s->w->draining && http_upgrade_websocket(&s->req, s->up.in);
    fwd.allow_upgrade = s->upgrade;
    {
        /* into the scratch buffer, then a block of its own size */
        uint32_t cap = XBUF_STD_UP_HEAD;
        char *out = http_session_head_scratch(s, cap);
        int rc = HTTP_ERROR;
        if (out != NULL)
            rc = http_rewrite_request(&s->req, s->up.in, &fwd, out, cap, &out_len);
        if (out != NULL && rc != HTTP_OK) {
            cap = (s->req_limits.max_head_bytes + 1024u + 15u) & ~15u;
            out = http_session_head_scratch(s, cap);
            if (out != NULL)
                rc = http_rewrite_request(&s->req, s->up.in, &fwd, out, cap, &out_len);
        }
        if (out != NULL && rc != HTTP_OK)
            return http_session_send_error(s, 431, "rewritten head too large");
        free(s->hbuf);
        s->hbuf = out != NULL ? malloc(out_len) : NULL;
        if (s->hbuf == NULL)
            return http_session_send_error(s, 503, "out of memory");
        memcpy(s->hbuf, out, out_len);
        s->up.head = s->hbuf;
        s->up.head_cap = (uint32_t)out_len;
    }
    s->up.head_pos = 0;
    s->up.head_len = (uint32_t)out_len;
    s->up_head_bytes = (uint32_t)out_len;

    /* the head's bytes are no longer needed: the body starts at head_bytes */
    s->up.pos = s->req.head_bytes;
    http_pipe_body_start(&s->up, &s->req, s->req_limits.max_body_bytes, false);
    status = http_pipe_frame(&s->up);
    if (status != 0)
        return http_session_send_error(s, (unsigned)status, "bad request body");
    if (s->c_eof && !s->up.done)
        return http_session_send_error(s, 400, "client closed within the request body");
    if (!s->up.done)
        tcp_delay_acks(s->cfd, false); /* the body comes next, not an answer */
    /* a request without body bytes buffered needs its client buffer no more
     * (the head went to up.head): 1,000 connections that connect or wait
     * hold no buffer */
    http_session_client_buf_put(s, false);

    s->state = ST_CONNECT;
    s->c_active = ev_now(s->w->loop);
    ctimer_set(s, s->timeout_client_s);
    return http_session_connect_next(s);
}

/* ST_HEAD: parses what the client buffer holds. */
static int head_drive(struct http_session *s)
{
    int rc;
    if (s->up.len == 0) {
        if (s->c_eof) {
            http_session_end(s, "client_closed");
            return -1;
        }
        return 0;
    }
    rc = http_parse_request(&s->req, s->up.in, s->up.len, &s->req_limits);
    if (rc == HTTP_OK)
        return request_ready(s);
    if (rc == HTTP_ERROR)
        return http_session_send_error(s, s->req.status ? s->req.status : 400,
                          s->req.error ? s->req.error : "bad request");
    if (s->up.len >= s->up.cap) {
        if (http_session_client_buf_grow(s) == 0)
            return 0;
        return http_session_send_error(s, 431, "request head too large");
    }
    if (s->c_eof)
        return http_session_send_error(s, 400, "client closed within the request head");
    tcp_delay_acks(s->cfd, false); /* the rest of the head comes next */
    return 0;
}

/* ------------------------------------------------- frontend settings ---- */

/* Copies the settings of `fe` that requests follow. Only while no client buffer is
 * held: the request-head limits size the header array that lives after it. */
static void frontend_apply(struct http_session *s, const struct route_frontend *fe)
{
    uint32_t max_head = fe->max_header_bytes ? fe->max_header_bytes : DEFAULT_MAX_HEAD_BYTES;
    uint32_t max_headers = fe->max_headers ? fe->max_headers : HTTP_DEFAULT_MAX_HEADERS;

    memcpy(s->pool, fe->pool->name, sizeof(s->pool));
    s->timeout_client_s = fe->timeout_client_ms / 1000.0;
    s->timeout_request_s = fe->timeout_http_request_ms / 1000.0;
    s->timeout_keepalive_s = fe->timeout_http_keepalive_ms / 1000.0;
    s->timeout_tunnel_s = fe->timeout_tunnel_ms / 1000.0;
    s->max_keepalive_requests = fe->max_keepalive_requests;
    http_limits_default(&s->req_limits);
    s->req_limits.max_head_bytes = max_head;
    if (s->req_limits.max_request_line_bytes > max_head)
        s->req_limits.max_request_line_bytes = max_head;
    s->req_limits.max_headers = max_headers;
    s->req_limits.max_body_bytes = fe->max_body_bytes;
    s->req_hdrs_cap = max_headers;
    s->up_full = max_head + HTTP_SESSION_BODY_BUF_BYTES;
    if (s->up_full < HTTP_SESSION_CLIENT_BUF_BYTES)
        s->up_full = HTTP_SESSION_CLIENT_BUF_BYTES;
}

/*
 * Between requests, with no client buffer held: after a reload the connection
 * follows its frontend's new settings (pool, timeouts, limits), as a new one
 * would, and ends when the frontend is gone (HAProxy closes kept connections on
 * reload). Its TLS side stays as it was negotiated. Returns 0, or -1 when the
 * session ended.
 */
static int follow_reload(struct http_session *s)
{
    const struct route *r = worker_route(s->w);
    const struct route_frontend *fe;

    if (r->generation == s->route_gen || s->up.in != NULL)
        return 0;
    s->route_gen = r->generation;
    fe = route_find_frontend(r, s->frontend);
    if (fe == NULL || fe->mode != CONF_MODE_HTTP) {
        http_session_end(s, "frontend_removed");
        return -1;
    }
    frontend_apply(s, fe);
    return 0;
}

/* Prepares for the next request on a kept connection (pipelined bytes stay). */
static int next_request(struct http_session *s)
{
    s->requests++;
    s->state = ST_HEAD;
    http_pipe_compact(&s->up);
    s->up.head_pos = s->up.head_len = 0;
    s->down.pos = s->down.len = s->down.ready = 0;
    s->down.head_pos = s->down.head_len = 0;
    http_session_request_bufs_put(s);
    http_msg_init_request(&s->req, s->req_hdrs, s->req_hdrs_cap);
    if (s->up.len == 0)
        http_session_client_buf_put(s, false);
    if (follow_reload(s) != 0)
        return -1;
    s->c_active = ev_now(s->w->loop);
    s->head_since = s->c_active;
    ctimer_set(s, s->up.len > 0 || s->timeout_keepalive_s <= 0 ? head_timeout(s)
                                                               : s->timeout_keepalive_s);
    return http_session_drive(s);
}

/* Waiting for the next request, nothing of it read (not in a TLS handshake). */
static bool idle_between_requests(const struct http_session *s)
{
    return s->state == ST_HEAD && s->requests > 0 && s->up.in == NULL &&
           (s->ctls == NULL || !s->ctls->handshaking);
}

/* A new routing snapshot: an idle kept connection follows a reload at once (its
 * keep-alive timeout included); requests in flight may move off a server now
 * down (http_session_retry.c). */
static void http_route_changed(struct session *base, const struct route *r)
{
    struct http_session *s = (struct http_session *)(void *)base;

    if (idle_between_requests(s)) {
        ev_tstamp left;
        if (follow_reload(s) != 0)
            return;
        left = s->c_active + s->timeout_keepalive_s - ev_now(s->w->loop);
        if (s->timeout_keepalive_s > 0)
            ctimer_set(s, left > 0.001 ? left : 0.001);
        return;
    }
    http_session_route_changed(base, r);
}

/* ----------------------------------------------------------- response ---- */

/* Parses response heads in down.in; queues their rewritten form. */
static int response_head(struct http_session *s)
{
    struct http_response_forward fwd;
    struct http_pipe *d = &s->down;
    size_t out_len = 0;
    int rc;

    while (!s->resp_head_done && d->head_pos == d->head_len) {
        if (d->len == 0) {
            if (s->s_eof) {
                if (http_session_can_retry_fresh(s))
                    return http_session_retry_fresh(s);
                report(s, HEALTH_REQ_RESET);
                if (http_session_can_retry_other(s))
                    return http_session_retry_other(s, "closed before responding", 502);
                return http_session_send_error(s, 502, "server closed before responding");
            }
            return 0;
        }
        rc = http_parse_response(&s->resp, d->in, d->len, &s->resp_limits);
        if (rc == HTTP_AGAIN) {
            if (d->len >= d->cap && http_session_xbuf_grow(s) == 0)
                return 0;
            if (d->len >= d->cap) {
                report(s, HEALTH_REQ_RESET);
                return http_session_send_error(s, 502, "response head too large");
            }
            if (s->s_eof) {
                report(s, HEALTH_REQ_RESET);
                if (http_session_can_retry_other(s))
                    return http_session_retry_other(s, "closed within the response head",
                                                    502);
                return http_session_send_error(s, 502,
                                               "server closed within the response head");
            }
            return 0;
        }
        if (rc != HTTP_OK) {
            report(s, HEALTH_REQ_RESET);
            return http_session_send_error(
                s, 502, s->resp.error ? s->resp.error : "bad response");
        }
        if (s->ttfb == 0) {
            s->ttfb = ev_now(s->w->loop);
            if (s->up_sent_at > 0) /* the server's own time, for poll_batch */
                poll_batch_sample(&s->w->batch, s->ttfb - s->up_sent_at);
        }
        if (s->waiter.opening) /* a new connection answered: room for another */
            upstream_pool_answered(s->w->upstream, &s->waiter);
        if (s->resp.interim) {
            /* a 1xx (100 Continue...): passed on to HTTP/1.1 clients only */
            if (s->req.version_minor >= 1) {
                memset(&fwd, 0, sizeof(fwd));
                fwd.keep_alive = true;
                fwd.client_minor = s->req.version_minor;
                if (http_rewrite_response(&s->resp, d->in, &fwd, d->head, d->head_cap,
                                          &out_len) != HTTP_OK &&
                    (http_session_xbuf_grow(s) != 0 ||
                     http_rewrite_response(&s->resp, d->in, &fwd, d->head, d->head_cap,
                                           &out_len) != HTTP_OK))
                    return http_session_send_error(s, 502,
                                                   "interim response head too large");
                d->head_pos = 0;
                d->head_len = (uint32_t)out_len;
                s->continue_sent |= s->resp.status_code == 100;
            }
            d->pos = s->resp.head_bytes;
            http_pipe_compact(d);
            http_msg_init_response(&s->resp, s->resp_hdrs, RESP_HEADERS_MAX,
                                   s->req.method, s->upgrade);
            continue;
        }
        if (s->resp.body == HTTP_BODY_TUNNEL && s->resp.status_code == 101 && s->upgrade)
            return http_tunnel_start(s);
        if (s->resp.body == HTTP_BODY_TUNNEL)
            return http_session_send_error(s, 502, "server switched protocols");
        if (http_session_retry_on_answer(s, s->resp.status_code)) {
            char why[32];
            report(s, HEALTH_REQ_5XX);
            snprintf(why, sizeof(why), "answered %u", s->resp.status_code);
            return http_session_retry_other(s, why, s->resp.status_code);
        }
        /* a response that arrives before the whole request went up ends the
         * connection afterwards: the rest of the request cannot be skipped */
        if (!s->up_sent || s->w->draining)
            s->keep_alive = false;
        memset(&fwd, 0, sizeof(fwd));
        fwd.keep_alive = s->keep_alive;
        fwd.client_minor = s->req.version_minor;
        if (http_rewrite_response(&s->resp, d->in, &fwd, d->head, d->head_cap,
                                  &out_len) != HTTP_OK &&
            (http_session_xbuf_grow(s) != 0 ||
             http_rewrite_response(&s->resp, d->in, &fwd, d->head, d->head_cap,
                                   &out_len) != HTTP_OK))
            return http_session_send_error(s, 502, "response head too large");
        if (s->resp.body == HTTP_BODY_CLOSE)
            s->keep_alive = false;
        s->status = s->resp.status_code;
        report(s, s->status >= 500 ? HEALTH_REQ_5XX : HEALTH_REQ_OK);
        d->head_pos = 0;
        d->head_len = (uint32_t)out_len;
        d->pos = s->resp.head_bytes;
        http_pipe_body_start(d, &s->resp, 0, true);
        s->resp_head_done = true;
    }
    return 0;
}

/* The connection closes once the response went out. */
static bool closes_after(const struct http_session *s)
{
    return !s->keep_alive || s->w->draining;
}

/* The response went out completely. */
static int response_done(struct http_session *s)
{
    http_session_log_request(s, "done");
    http_session_release_server_after_response(s);
    /* Closing after a whole request with nothing after it: nothing unread can
     * make our close a reset that destroys the answer, so no lingering (as
     * NGINX); a client that sent more, or the rest of a request the server did
     * not wait for, gets the lingering close. */
    if (closes_after(s))
        return start_close(s,
                           !(s->up.done && s->up.pos == s->up.len && s->up.ready == 0));
    return next_request(s);
}

/* ------------------------------------------------------------- driving --- */

/* Starts or stops the watchers of one side for reading (r) and writing (w).
 * A TLS side waits for what OpenSSL asked (the handshake's wish while it runs),
 * and gets a read event now when OpenSSL holds decrypted bytes already (no fd
 * event would come for them). */
static void side_watch(struct ev_loop *loop, ev_io *rd, ev_io *wr, struct side_tls *t,
                       bool r, bool w)
{
    bool feed = false;
    if (t != NULL) {
        unsigned ev;
        t->want_rd = r;
        t->want_wr = w;
        if (t->handshaking) {
            ev = t->hs_ev;
        } else {
            ev = (r ? t->rd_ev : 0u) | (w ? t->wr_ev : 0u);
            feed = r && t->rd_ev == EV_READ && tls_conn_pending(&t->c);
        }
        r = (ev & EV_READ) != 0;
        w = (ev & EV_WRITE) != 0;
    }
    if (r)
        ev_io_start(loop, rd);
    else
        ev_io_stop(loop, rd);
    if (w)
        ev_io_start(loop, wr);
    else
        ev_io_stop(loop, wr);
    if (feed)
        ev_feed_event(loop, rd, EV_READ);
}

/* ST_CONNECT, ST_PROXY: whether to read the client. Also once its request is
 * whole, on a kept connection: pipelined bytes are kept for later, and a
 * watcher left on costs nothing while the client is quiet, where stopping and
 * starting it costs a system call per request (libev re-adds a stopped fd).
 * Not after a whole request on a connection that closes after the answer: a
 * client whose request came with its connection then never gets its fd into
 * the poller at all. */
static bool client_readable(struct http_session *s)
{
    if (s->c_eof || (s->up.done && !s->keep_alive))
        return false;
    return s->up.in == NULL || http_pipe_room(&s->up) > 0;
}

void http_session_watchers(struct http_session *s)
{
    struct ev_loop *loop = s->w->loop;
    bool crd = false, cwr = false, srd = false, swr = false;

    switch (s->state) {
    case ST_HEAD:
        crd = !s->c_eof && (s->up.in == NULL || s->up.len < s->up.cap);
        break;
    case ST_CONNECT:
        swr = true; /* connect completion */
        crd = client_readable(s);
        break;
    case ST_PROXY:
        crd = client_readable(s);
        swr = http_pipe_pending(&s->up);
        cwr = http_pipe_pending(&s->down);
        srd = !s->s_eof && (s->down.in == NULL || http_pipe_room(&s->down) > 0);
        break;
    case ST_TUNNEL:
        /* up.in goes back to the cache whenever a read finds nothing */
        crd = !s->c_eof && (s->up.in == NULL || http_pipe_room(&s->up) > 0);
        srd = !s->s_eof && http_pipe_room(&s->down) > 0;
        swr = http_pipe_pending(&s->up) || (s->c_eof && !s->s_shut);
        cwr = http_pipe_pending(&s->down) || (s->s_eof && !s->c_shut);
        break;
    case ST_CLOSE:
        cwr = true;
        break;
    case ST_LINGER:
        crd = true;
        break;
    case ST_COUNT:
        break;
    }
    side_watch(loop, &s->crd, &s->cwr, s->ctls, crd, cwr);
    if (s->sfd >= 0)
        side_watch(loop, &s->srd, &s->swr, s->stls, srd, swr);
}

/* ST_PROXY, down: parses response heads, relays the response. */
static int response_drive(struct http_session *s)
{
    int rc, status;
    bool interim;

    for (;;) {
        if (response_head(s) != 0)
            return -1;
        if (s->state != ST_PROXY)
            return 0;
        /* a 1xx head is queued (response_head stops at each) */
        interim = !s->resp_head_done && http_pipe_pending(&s->down);
        if (s->resp_head_done) {
            status = http_pipe_frame(&s->down);
            if (status != 0) {
                log_info("%s: bad response body from %s: %s", s->frontend, s->server,
                         s->down.ch.error ? s->down.ch.error : "?");
                /* nothing reached the client yet (a bad chunk line in the
                 * head's own read): it gets a 502, not an empty reply */
                if (s->bytes_out == 0)
                    return http_session_send_error(s, 502, "bad response body");
                http_session_end(s, "server_error");
                return -1;
            }
            if (s->s_eof && !s->down.done && s->down.pos + s->down.ready == s->down.len) {
                if (s->down.body == HTTP_BODY_CLOSE) {
                    s->down.done = true;
                } else if (!http_pipe_pending(&s->down)) {
                    http_session_end(s, "server_closed");
                    return -1;
                }
            }
        }
        if (!s->s_quick && s->connected && !s->s_eof && (s->ttfb > 0 || s->down.len > 0) &&
            !(s->resp_head_done && s->down.done)) {
            /* part of the response came, the rest is to come: acknowledge at once,
             * or a server using Nagle's algorithm holds the rest back until our
             * delayed ACK (40 ms and more). Once per response: the socket stays
             * in quick-ACK mode until the next request goes out */
            tcp_delay_acks(s->sfd, false);
            s->s_quick = true;
        }
        {
            uint64_t before = s->bytes_out;
            /* a small body leaves with its head: one write, one TLS record */
            http_pipe_coalesce(&s->down, DOWN_COALESCE_MAX);
            /* the last bytes of a response after which we close take the FIN
             * along (response_done closes at once) */
            s->down.fin_follows = s->ctls == NULL && s->resp_head_done && closes_after(s);
            rc = side_send(s->cfd, s->ctls, &s->down, &s->bytes_out);
            s->down.fin_follows = false;
            if (s->bytes_out != before)
                s->c_active = ev_now(s->w->loop);
        }
        if (rc < 0) {
            http_session_end(s, "client_error");
            return -1;
        }
        if (s->resp_head_done && s->down.done && !http_pipe_pending(&s->down))
            return response_done(s);
        /* a 1xx went out whole and more of the answer came in the same read
         * (103 then 200 in one segment): no read event will come for those
         * bytes, so on to the next head now */
        if (!interim || http_pipe_pending(&s->down) || s->down.len == 0)
            return 0;
    }
}

static int proxy_drive(struct http_session *s)
{
    int rc, status;

    /* up: the request */
    if (!s->up_sent) {
        status = http_pipe_frame(&s->up);
        if (status != 0) {
            if (!s->resp_head_done && s->bytes_out == 0)
                return http_session_send_error(s, (unsigned)status, "bad request body");
            http_session_end(s, "client_error");
            return -1;
        }
        uint64_t before = s->bytes_up;
        rc = side_send(s->sfd, s->stls, &s->up, &s->bytes_up);
        if (s->bytes_up != before)
            s->s_active = ev_now(s->w->loop);
        if (rc < 0) {
            log_debug("%s: send to %s: %s", s->frontend, s->server, side_error(s->stls));
            s->send_failed = true;
            if (http_session_can_retry_fresh(s))
                return http_session_retry_fresh(s);
            if (!s->resp_head_done) {
                /* the server may have answered before it stopped reading */
                s->up_sent = true;
                s->up.done = true;
                s->up.ready = 0;
                s->up.head_pos = s->up.head_len = 0; /* nothing left to write */
                s->keep_alive = false;
            } else {
                http_session_end(s, "server_error");
                return -1;
            }
        } else if (rc > 0) {
            if (s->up.done) {
                s->up_sent = true;
                s->up_sent_at = ev_now(s->w->loop);
                /* nothing more to read from the client until the answer is
                 * out: its buffer goes back to the cache meanwhile */
                http_session_client_buf_put(s, false);
            } else if (s->c_eof) {
                if (!s->resp_head_done && s->bytes_out == 0)
                    return http_session_send_error(
                        s, 400, "client closed within the request body");
                http_session_end(s, "client_closed");
                return -1;
            }
        }
    }

    return response_drive(s);
}

int http_session_drive(struct http_session *s)
{
    int rc = 0;
    switch (s->state) {
    case ST_HEAD:
        rc = head_drive(s);
        break;
    case ST_CONNECT:
        break;
    case ST_PROXY:
        rc = proxy_drive(s);
        break;
    case ST_TUNNEL:
        rc = http_tunnel_drive(s);
        break;
    case ST_CLOSE:
        s->down.fin_follows = s->ctls == NULL; /* closed or shut down below */
        rc = side_send(s->cfd, s->ctls, &s->down, &s->bytes_out);
        s->down.fin_follows = false;
        if (rc < 0) {
            http_session_end(s, "client_error");
            return -1;
        }
        if (rc > 0 && s->ctls != NULL && !s->ctls->notified) {
            /* our close_notify goes before the FIN */
            int st = tls_conn_shutdown(&s->ctls->c);
            if (st == TLS_CONN_WANT_READ || st == TLS_CONN_WANT_WRITE) {
                s->ctls->wr_ev = want_ev(st);
                rc = 0;
            } else {
                s->ctls->notified = true;
            }
        }
        if (rc > 0) {
            bool linger = s->linger && !s->c_eof;
            http_session_log_request(s, s->status >= 400 ? "error" : "done");
            /* the FIN, with the bytes fin_follows held back for it, goes out
             * before close(): if the client has sent more meanwhile, close()
             * resets the connection and drops whatever is still unsent */
            if (linger || s->ctls == NULL)
                shutdown(s->cfd, SHUT_WR);
            if (!linger) {
                http_session_end(s, "closed");
                return -1;
            }
            s->state = ST_LINGER;
            ctimer_set(s, LINGER_S);
        }
        rc = 0;
        break;
    case ST_LINGER:
    case ST_COUNT:
        break;
    }
    if (rc != 0)
        return -1;
    http_session_watchers(s);
    return 0;
}

/* ----------------------------------------------------------- callbacks --- */

/* Reads what the client sent (ST_LINGER: drops it). Returns -1 when the
 * session ended, 1 after http_session_drive(), 0 when nothing could be read. */
int http_session_client_read(struct http_session *s)
{
    struct http_pipe *p = &s->up;
    ssize_t n;

    if (s->state == ST_LINGER) {
        char junk[4096];
        n = side_recv(s->cfd, s->ctls, junk, sizeof(junk));
        if (n == 0 || n == -2) {
            http_session_end(s, "closed");
            return -1;
        }
        if (s->ctls != NULL)
            http_session_watchers(s);
        return 0;
    }
    if (p->in == NULL && http_session_client_buf_get(s) != 0) {
        log_error("%s: %s: out of memory for a request", s->frontend, s->client_text);
        http_session_end(s, "client_error");
        return -1;
    }
    if (http_pipe_room(p) == 0) {
        http_session_watchers(s);
        return 0;
    }
    n = side_recv(s->cfd, s->ctls, p->in + p->len, p->cap - p->len);
    if (n > 0) {
        /* a request body (or a tunnel's stream) that fills the buffer in one
         * read is a large one: the full-size buffer for the rest of it (as for
         * responses) */
        bool bulk = (s->state == ST_CONNECT || s->state == ST_PROXY ||
                     s->state == ST_TUNNEL) &&
                    !p->done && (uint32_t)n == p->cap - p->len &&
                    n >= BULK_AFTER_READ_BYTES;
        if (s->state == ST_HEAD && p->len == 0 && s->requests > 0)
            ctimer_set(s, head_timeout(s)); /* first byte of the next head */
        p->len += (uint32_t)n;
        s->c_active = ev_now(s->w->loop);
        if (bulk)
            (void)http_session_client_buf_grow(s);
    } else if (n == 0) {
        s->c_eof = true;
    } else if (n == -1) {
        http_session_client_buf_put(s, false); /* nothing came: no buffer held for it */
        if (s->ctls != NULL)
            http_session_watchers(s); /* OpenSSL may wait for the other direction now */
        return 0;
    } else {
        if (s->ctls != NULL)
            log_debug("%s: %s: TLS read: %s", s->frontend, s->client_text,
                      tls_conn_reason(&s->ctls->c));
        http_session_end(s, "client_error");
        return -1;
    }
    return http_session_drive(s) == 0 ? 1 : -1;
}

/* Reads what the server sent. Returns like http_session_client_read. */
int http_session_server_read(struct http_session *s)
{
    struct http_pipe *p = &s->down;
    ssize_t n;

    if (p->in == NULL && http_session_response_bufs_get(s) != 0) {
        log_error("%s: out of memory for a response from %s", s->frontend, s->server);
        if (!s->resp_head_done && s->bytes_out == 0)
            return http_session_send_error(s, 502, "out of memory") == 0 ? 1 : -1;
        http_session_end(s, "server_error");
        return -1;
    }
    if (http_pipe_room(p) == 0) {
        http_session_watchers(s);
        return 0;
    }
    n = side_recv(s->sfd, s->stls, p->in + p->len, p->cap - p->len);
    if (n > 0) {
        /* a body that fills the buffer in one read is a large one: a bigger
         * buffer for the rest of it (or the same one when that fails) */
        bool bulk = s->resp_head_done && (uint32_t)n == p->cap - p->len &&
                    n >= BULK_AFTER_READ_BYTES;
        p->len += (uint32_t)n;
        s->s_active = ev_now(s->w->loop);
        if (bulk)
            (void)http_session_xbuf_bulk(s);
    } else if (n == 0) {
        s->s_eof = true;
    } else if (n == -1) {
        if (s->stls != NULL)
            http_session_watchers(s);
        return 0;
    } else {
        log_debug("%s: recv from %s: %s", s->frontend, s->server, side_error(s->stls));
        if (s->resp_head_done) {
            http_session_end(s, "server_error");
            return -1;
        }
        s->s_eof = true; /* a reset before the head: 502 below */
        p->len = 0;
    }
    return http_session_drive(s) == 0 ? 1 : -1;
}

static void on_client_read(struct ev_loop *loop, ev_io *io, int revents)
{
    struct http_session *s = OWNER(io, struct http_session, crd);
    (void)loop;
    (void)revents;
    if (s->ctls != NULL)
        http_session_tls_event(s, true, EV_READ);
    else
        http_session_client_read(s);
}

static void on_client_write(struct ev_loop *loop, ev_io *io, int revents)
{
    struct http_session *s = OWNER(io, struct http_session, cwr);
    (void)loop;
    (void)revents;
    if (s->ctls != NULL)
        http_session_tls_event(s, true, EV_WRITE);
    else
        http_session_drive(s);
}

void http_session_on_server_read(struct ev_loop *loop, ev_io *io, int revents)
{
    struct http_session *s = OWNER(io, struct http_session, srd);
    (void)loop;
    (void)revents;
    if (s->stls != NULL)
        http_session_tls_event(s, false, EV_READ);
    else
        http_session_server_read(s);
}

void http_session_on_server_write(struct ev_loop *loop, ev_io *io, int revents)
{
    struct http_session *s = OWNER(io, struct http_session, swr);
    (void)loop;
    (void)revents;
    if (s->stls != NULL)
        http_session_tls_event(s, false, EV_WRITE);
    else if (s->state == ST_CONNECT)
        http_session_connect_check(s);
    else
        http_session_drive(s);
}

/* -------------------------------------------------------------- start ---- */

static int http_start(struct worker *w, int fd, const struct sockaddr_storage *peer,
                      socklen_t peer_len, const struct route *r,
                      const struct route_frontend *fe)
{
    struct http_session *s = malloc(sizeof(*s));

    if (s == NULL) {
        log_error("%s: out of memory for a new connection", fe->name);
        close(fd);
        atomic_fetch_sub_explicit(&w->shared->conns, 1, memory_order_relaxed);
        return -1;
    }
    memset(s, 0, sizeof(*s));
    s->w = w;
    s->cfd = fd;
    s->sfd = -1;
    memcpy(&s->peer, peer, peer_len <= sizeof(s->peer) ? peer_len : sizeof(s->peer));
    http_session_addr_texts(s, &s->peer);
    memcpy(s->frontend, fe->name, sizeof(s->frontend));
    s->route_gen = r->generation;
    frontend_apply(s, fe); /* s->up.in is NULL: req_hdrs come with the client buffer */
    http_limits_default(&s->resp_limits);
    s->resp_limits.max_head_bytes = HTTP_SESSION_MAX_RESPONSE_HEAD_BYTES;
    s->resp_limits.max_headers = RESP_HEADERS_MAX;

    /* TCP_NODELAY is inherited from the listening socket (listen_open) */
    ev_io_init(&s->crd, on_client_read, fd, EV_READ);
    ev_io_init(&s->cwr, on_client_write, fd, EV_WRITE);
    ev_io_init(&s->srd, http_session_on_server_read, -1, EV_READ);
    ev_io_init(&s->swr, http_session_on_server_write, -1, EV_WRITE);
    ev_init(&s->ctimer, http_session_on_client_timer);
    ev_init(&s->stimer, http_session_on_server_timer);
    worker_session_add(w, &s->base, &http_session_ops);

    s->state = ST_HEAD;
    http_msg_init_request(&s->req, s->req_hdrs, s->req_hdrs_cap);
    s->c_active = ev_now(w->loop);
    s->head_since = s->c_active;
    if (fe->tls != NULL) {
        char why[200];
        struct side_tls *t = calloc(1, sizeof(*t));
        if (t == NULL ||
            tls_conn_start_server(&t->c, fe->tls, fd, why, sizeof(why)) != 0) {
            log_error("%s: %s", fe->name, t == NULL ? "out of memory for TLS" : why);
            free(t);
            http_session_end(s, "tls_error");
            return -1;
        }
        t->handshaking = true;
        t->hs_ev = EV_READ;
        s->ctls = t;
        s->req_start = s->c_active; /* for a failed handshake's access-log line */
        ctimer_set(s, fe->timeout_tls_handshake_ms / 1000.0);
        return http_session_client_handshake(s) == 0 ? 0 : -1;
    }
    ctimer_set(s, head_timeout(s));
    /* the request often came with the connection: read it now, and poll the
     * fd only when it has not */
    switch (http_session_client_read(s)) {
    case -1:
        return -1;
    case 0:
        return http_session_drive(s) == 0 ? 0 : -1;
    default:
        return 0;
    }
}

static void http_abort(struct session *base, const char *reason)
{
    http_session_end((struct http_session *)(void *)base, reason);
}

/* Stopping: a connection that waits for a request of which nothing came yet
 * (a kept one, or a new one that has not sent a byte: HAProxy and NGINX close
 * both at a graceful stop) is closed now; one with part of a head keeps its
 * time, and a request in flight is answered with Connection: close
 * (w->draining). A TLS handshake still running is looked at again when it ends
 * (http_session_tls.c). */
static void http_stop(struct session *base)
{
    struct http_session *s = (struct http_session *)(void *)base;
    if (s->state == ST_HEAD && s->up.in == NULL && (s->ctls == NULL || !s->ctls->handshaking))
        http_session_end(s, "shutdown");
}

const struct session_ops http_session_ops = {
    .name = "http",
    .start = http_start,
    .abort = http_abort,
    .route_changed = http_route_changed,
    .stop = http_stop,
};
