/*
 * http_tunnel: the WebSocket tunnel of an HTTP session (ST_TUNNEL, see
 * http_session.c), from the server's 101 until both ways are shut.
 *
 * Upgrade (http_upgrade.h): only a WebSocket handshake keeps its Upgrade, and it
 * always goes on a fresh server connection: a tunnel holds its connection for
 * as long as it lives, so one connect per tunnel costs little, and nothing a
 * pooled connection carried before can touch the tunnel. A 101 turns the
 * session into ST_TUNNEL: both pipes switch to until-close framing, so the bytes
 * that followed either head in the buffers go first, and back-pressure is the
 * pipes' as in ST_PROXY. A side's EOF becomes our FIN (close_notify first) to
 * the other side once its pipe is empty; the tunnel ends when both ways are
 * shut, on an error, or after timeout_tunnel without a byte either way.
 * Nothing is retried after the 101.
 *
 * Must not: retry, pool the server connection, or parse the bytes it relays.
 */
#include "config.h"

#include "net/http_session_int.h"

#include <sys/socket.h>

#include "http/http_rewrite.h"
#include "util/log.h"

/* The server answered 101 to a WebSocket upgrade: queues the rewritten 101 head
 * and turns both pipes into until-close relays (see top). */
int http_tunnel_start(struct http_session *s)
{
    struct http_response_forward fwd = {false, s->req.version_minor};
    struct http_pipe *d = &s->down;
    size_t out_len = 0;

    if (http_rewrite_response(&s->resp, d->in, &fwd, d->head, d->head_cap, &out_len) !=
            HTTP_OK &&
        (http_session_xbuf_grow(s) != 0 ||
         http_rewrite_response(&s->resp, d->in, &fwd, d->head, d->head_cap, &out_len) !=
             HTTP_OK))
        return http_session_send_error(s, 502, "response head too large");
    if (http_session_client_buf_get(s) != 0)
        return http_session_send_error(s, 503, "out of memory");
    s->status = 101;
    report(s, HEALTH_REQ_OK);
    s->resp_head_done = true;
    s->keep_alive = false;
    s->c_shut = s->s_shut = false;
    d->head_pos = 0;
    d->head_len = (uint32_t)out_len;
    d->pos = s->resp.head_bytes;
    d->ready = 0;
    d->body = s->up.body = HTTP_BODY_CLOSE;
    d->done = s->up.done = false;
    s->state = ST_TUNNEL;
    s->c_active = s->s_active = ev_now(s->w->loop);
    stimer_set(s, 0);
    ctimer_set(s, s->timeout_tunnel_s);
    return http_session_drive(s);
}

/* Our FIN to one side of the tunnel (close_notify first over TLS). Returns 1
 * when sent, 0 when TLS must wait for t->wr_ev. */
static int tunnel_shut(int fd, struct side_tls *t, bool *shut)
{
    if (t != NULL && !t->notified) {
        int st = tls_conn_shutdown(&t->c);
        if (st == TLS_CONN_WANT_READ || st == TLS_CONN_WANT_WRITE) {
            t->wr_ev = want_ev(st);
            return 0;
        }
        t->notified = true;
    }
    shutdown(fd, SHUT_WR); /* ENOTCONN after a reset: the read side will see it */
    *shut = true;
    return 1;
}

/* ST_TUNNEL: relays what both pipes hold; propagates each EOF once its pipe is
 * empty; ends the session when both ways are shut. */
int http_tunnel_drive(struct http_session *s)
{
    uint64_t up = s->bytes_up, out = s->bytes_out;
    int rc;

    http_pipe_frame(&s->up); /* until close: every byte is ready */
    rc = side_send(s->sfd, s->stls, &s->up, &s->bytes_up);
    if (rc < 0) {
        log_debug("%s: tunnel send to %s: %s", s->frontend, s->server,
                  side_error(s->stls));
        http_session_end(s, "server_error");
        return -1;
    }
    if (rc > 0 && s->c_eof && !s->s_shut)
        tunnel_shut(s->sfd, s->stls, &s->s_shut);

    http_pipe_frame(&s->down);
    rc = side_send(s->cfd, s->ctls, &s->down, &s->bytes_out);
    if (rc < 0) {
        http_session_end(s, "client_error");
        return -1;
    }
    if (rc > 0 && s->s_eof && !s->c_shut)
        tunnel_shut(s->cfd, s->ctls, &s->c_shut);

    if (s->bytes_up != up || s->bytes_out != out)
        s->c_active = ev_now(s->w->loop); /* timeout_tunnel counts from here */
    if (s->c_shut && s->s_shut) {
        http_session_end(s, "done");
        return -1;
    }
    return 0;
}
