/*
 * http_session_timers: the two timers of an HTTP session (http_session.c): the
 * client's (head deadline, keep-alive idle, client idle, tunnel idle, linger,
 * close) and the server's (connect timeout, then server idle).
 *
 * Must not: end a session for waiting on the other side (a slow server is not
 * the client's idleness, nor a slow client the server's).
 */
#include "config.h"

#include "net/http_session_int.h"

#include "util/log.h"

/* Client timer: head deadline, keep-alive idle, client idle, linger, close. */
void http_session_on_client_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct http_session *s = OWNER(t, struct http_session, ctimer);
    ev_tstamp left;
    (void)loop;
    (void)revents;

    switch (s->state) {
    case ST_HEAD:
        if (s->w->draining && s->up.len == 0 && (s->ctls == NULL || !s->ctls->handshaking)) {
            http_session_end(s, "shutdown"); /* stopping, and no request came */
            return;
        }
        if (s->ctls != NULL && s->ctls->handshaking) {
            log_info("%s: TLS handshake with client %s failed: not done after %.0f ms",
                     s->frontend, s->client_text, s->ctimer.repeat * 1000.0);
            s->in_request = true; /* one access-log line for the connection */
            http_session_end(s, "tls_handshake_timeout");
            return;
        }
        if (s->up.len == 0 && s->requests > 0) {
            http_session_end(s, "keepalive_timeout");
            return;
        }
        http_session_send_error(s, 408, "request head timeout");
        return;
    case ST_CONNECT:
    case ST_PROXY:
        left = s->c_active + s->timeout_client_s - ev_now(s->w->loop);
        /* waiting on the server is not the client's idleness: for its answer to a
         * request sent whole, for more of a response of which the client has
         * every byte so far (its request sent whole too: else the server may be
         * waiting on the client), or for a 100 (Continue) it asked for, for up to
         * timeout_server (a server that waits for the body instead would
         * otherwise hold both sides forever, neither timer firing) */
        if (left > 0.001 || http_pipe_pending(&s->up) || s->state == ST_CONNECT ||
            (s->up_sent && !s->resp_head_done) ||
            (s->up_sent && s->resp_head_done && !s->down.done &&
             !http_pipe_pending(&s->down)) ||
            (s->req.expect_continue && !s->resp_head_done && !s->continue_sent &&
             ev_now(s->w->loop) - s->req_start < s->timeout_server_s)) {
            ctimer_set(s, left > 0.001 ? left : s->timeout_client_s);
            return;
        }
        http_session_end(s, "client_timeout");
        return;
    case ST_TUNNEL:
        /* bytes either way keep it open (c_active moves with both) */
        left = s->c_active + s->timeout_tunnel_s - ev_now(s->w->loop);
        if (left > 0.001) {
            ctimer_set(s, left);
            return;
        }
        http_session_end(s, "tunnel_timeout");
        return;
    case ST_CLOSE:
        http_session_end(s, "client_timeout");
        return;
    case ST_LINGER:
    case ST_COUNT:
        http_session_end(s, "closed");
        return;
    }
}

/* Server timer: connect timeout, then server idle (504 before a response). */
void http_session_on_server_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct http_session *s = OWNER(t, struct http_session, stimer);
    ev_tstamp left;
    (void)loop;
    (void)revents;

    if (s->state == ST_CONNECT && s->sq.queued) {
        http_session_queue_timeout(s);
        return;
    }
    if (s->state == ST_CONNECT && s->waiting) {
        http_session_connect_resume(s);
        return;
    }
    if (s->state == ST_CONNECT) {
        http_session_connect_failed(s, s->stls != NULL && s->stls->handshaking
                                           ? "TLS handshake timeout"
                                           : "connect timeout");
        return;
    }
    if (s->state != ST_PROXY)
        return;
    left = s->s_active + s->timeout_server_s - ev_now(s->w->loop);
    /* waiting on the client (a slow reader or uploader) is not the server's */
    if (left > 0.001 || http_pipe_pending(&s->down) ||
        (!s->up_sent && !http_pipe_pending(&s->up))) {
        s->stimer.repeat = left > 0.001 ? left : s->timeout_server_s;
        ev_timer_again(s->w->loop, &s->stimer);
        return;
    }
    report(s, HEALTH_REQ_TIMEOUT);
    if (!s->resp_head_done && s->bytes_out == 0) {
        if (s->retry_on_timeout && http_session_can_retry_other(s)) {
            http_session_retry_other(s, "timed out before responding", 504);
            return;
        }
        http_session_send_error(s, 504, "server timeout");
        return;
    }
    http_session_end(s, "server_timeout");
}
