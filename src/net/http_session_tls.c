/*
 * http_session_tls: the TLS events of an HTTP session (http_session.c, see its
 * top): the client's handshake, and readiness on the fd of a TLS side turned
 * into the handshake step, the read or the writes that wait for it.
 *
 * Must not: read or write application bytes itself (that is the reads and
 * http_session_drive() in http_session.c), or run the server's handshake
 * outside ST_CONNECT.
 */
#include "config.h"

#include "net/http_session_int.h"

#include <stdio.h>

#include "util/log.h"

/* The client's handshake is done or failed. */
int http_session_client_handshake(struct http_session *s)
{
    struct side_tls *t = s->ctls;
    const char *sni;
    int st = tls_conn_handshake(&t->c);
    if (st == TLS_CONN_WANT_READ || st == TLS_CONN_WANT_WRITE) {
        t->hs_ev = want_ev(st);
        http_session_watchers(s);
        return 0;
    }
    t->handshaking = false;
    if (st != TLS_CONN_DONE) {
        log_info("%s: TLS handshake with client %s failed: %s", s->frontend,
                 s->client_text, tls_conn_reason(&t->c));
        s->in_request = true; /* one access-log line for the connection */
        http_session_end(s, "tls_handshake_failed");
        return -1;
    }
    snprintf(t->version, sizeof(t->version), "%s", tls_conn_version(&t->c));
    sni = tls_conn_sni(&t->c);
    if (sni != NULL)
        snprintf(t->sni, sizeof(t->sni), "%s", sni);
    t->rd_ev = EV_READ;
    t->wr_ev = EV_WRITE;
    s->c_active = ev_now(s->w->loop);
    ctimer_set(s, head_timeout(s));
    if (http_session_drive(s) != 0)
        return -1;
    /* stopping: a client sends its first request with or right after its last
     * handshake flight. Read what came; with nothing yet, it has a moment
     * (DRAIN_FIRST_REQUEST_S) instead of timeout_http_request, then the
     * connection is closed as http_stop closes one without TLS. */
    if (s->w->draining && s->state == ST_HEAD && s->up.in == NULL) {
        if (http_session_client_read(s) < 0)
            return -1;
        if (s->state == ST_HEAD && s->up.len == 0)
            ctimer_set(s, head_timeout(s) < DRAIN_FIRST_REQUEST_S ? head_timeout(s)
                                                                  : DRAIN_FIRST_REQUEST_S);
    }
    return 0;
}

/* Readiness on the fd of a TLS side: redo the handshake, or the read and the
 * writes that wait for these events. */
void http_session_tls_event(struct http_session *s, bool client, int revents)
{
    struct side_tls *t = client ? s->ctls : s->stls;
    if (!client && s->state == ST_CONNECT) {
        if (!t->handshaking)
            http_session_connect_check(s);
        else if (t->hs_ev & revents)
            http_session_server_handshake(s);
        return;
    }
    if (t->handshaking) {
        if (t->hs_ev & revents)
            http_session_client_handshake(s);
        return;
    }
    if (t->want_rd && (t->rd_ev & revents)) {
        int rc = client ? http_session_client_read(s) : http_session_server_read(s);
        if (rc != 0)
            return; /* ended, or http_session_drive() did the writes too */
    }
    if (t->want_wr && (t->wr_ev & revents))
        http_session_drive(s);
}
