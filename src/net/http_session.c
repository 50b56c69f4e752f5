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
 * drive() is called after every event and does all it can (level-triggered),
 * then sets the watchers from the state. Every function that may end the
 * session returns -1 after end() and the caller must not touch it again.
 *
 * TLS (a frontend with tls_cert, a server with tls): a TLS side has a struct
 * side_tls and reads and writes with tls_conn instead of recv/send. watchers()
 * still says whether a side is to be read or written; side_watch() turns that
 * into fd events with what OpenSSL asked for (a read may wait for EV_WRITE and
 * a write for EV_READ) and feeds a read event when OpenSSL holds decrypted
 * bytes already. Both watchers of a TLS side go to tls_event(). The client's
 * handshake comes first, under timeout_tls_handshake; a server's runs after its
 * TCP connect, under the connect timer, and its failure is a connect failure.
 * Before the FIN of a closing client connection goes our close_notify. A plain
 * side keeps its recv/send path: one pointer test per event more, nothing else.
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
 */
#include "config.h"

#include "net/http_session.h"
#include "net/buf_cache.h"
#include "net/http_pipe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "health/health_mailbox.h"
#include "http/http_chunked.h"
#include "http/http_parser.h"
#include "http/http_rewrite.h"
#include "http/http_upgrade.h"
#include "lb/lb.h"
#include "lb/lb_key.h"
#include "net/route.h"
#include "net/upstream_pool.h"
#include "net/worker.h"
#include "tls/tls_conn.h"
#include "tls/tls_ctx.h"
#include "util/log.h"

#define TRIES_MAX              32u
#define LINGER_S               1.0
#define RESP_HEADERS_MAX       101u /* as HAProxy (tune.http.maxhdr) */
#define LOG_TARGET_MAX         200u
#define DEFAULT_MAX_HEAD_BYTES (64u * 1024u)
#define ERRBUF_BYTES           512u
#define DOWN_COALESCE_MAX      1024u /* body bytes copied after a response head */

#define OWNER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

enum state {
    ST_HEAD = 0,
    ST_CONNECT,
    ST_PROXY,
    ST_TUNNEL,
    ST_CLOSE,
    ST_LINGER,
    ST_COUNT
};

/* The TLS state of one side, allocated only for a TLS side. `c` comes first: a
 * parked server connection is freed by the upstream pool with free(&t->c).
 * hs_ev, rd_ev and wr_ev are EV_READ or EV_WRITE: what the pending handshake,
 * read or write waits for. want_rd and want_wr: what watchers() last asked. */
struct side_tls {
    struct tls_conn c;
    bool handshaking;
    bool notified; /* our close_notify went out */
    bool want_rd, want_wr;
    uint8_t hs_ev, rd_ev, wr_ev;
    char version[16]; /* client side, for the access log */
    char sni[256];
};
_Static_assert(offsetof(struct side_tls, c) == 0, "the pool frees &t->c");

struct http_session {
    struct session base;
    struct worker *w;
    int cfd, sfd;
    struct side_tls *ctls, *stls; /* NULL: plain TCP on that side */
    ev_io crd, cwr, srd, swr;
    ev_timer ctimer, stimer;
    enum state state;
    ev_tstamp c_active, s_active; /* loop time of the last I/O per side */

    /* frontend settings, copied at start */
    char frontend[CONF_NAME_MAX];
    char pool[CONF_NAME_MAX];
    ev_tstamp timeout_client_s, timeout_request_s, timeout_keepalive_s;
    ev_tstamp timeout_tunnel_s;
    uint32_t max_keepalive_requests;
    struct http_limits req_limits;
    struct http_limits resp_limits;

    struct sockaddr_storage peer;
    char client_ip[INET6_ADDRSTRLEN];
    char client_text[INET6_ADDRSTRLEN + 8];

    struct http_pipe up;   /* client -> server */
    struct http_pipe down; /* server -> client */
    struct http_msg req;
    struct http_msg resp;
    struct http_header *req_hdrs;  /* [req_hdrs_cap], after up.in's bytes */
    uint32_t req_hdrs_cap;
    struct http_header *resp_hdrs; /* [RESP_HEADERS_MAX], in xbuf */
    /* down.in, down.head and resp_hdrs live in `xbuf`, taken when a response
     * can be read and given back when it is out: a standard one from the
     * worker's cache, or a large one (xbuf_large) when a head does not fit.
     * up.in (and req_hdrs after it) is taken when client bytes arrive and given
     * back when nothing is buffered and no head is being parsed. up.head is
     * `hbuf`, the rewritten request head, kept until the request ends. */
    char *xbuf;
    char *hbuf;
    bool xbuf_large;
    bool up_large;     /* up.in is the full-size buffer (not from the cache) */
    uint32_t up_full;  /* max_header_bytes + HTTP_SESSION_BODY_BUF_BYTES */
    char errbuf[ERRBUF_BYTES]; /* canned error responses */

    /* the request in progress */
    bool in_request; /* a head has been parsed and not yet logged */
    bool c_eof, s_eof;
    bool up_sent;        /* request head and body all sent to the server */
    bool resp_head_done; /* final response head parsed and queued */
    bool keep_alive;     /* the client connection is kept after this response */
    bool linger;         /* ST_CLOSE: read and drop for LINGER_S after our FIN */
    bool upgrade;        /* a WebSocket upgrade let through to the server */
    bool c_shut, s_shut; /* ST_TUNNEL: our FIN went to the client, the server */
    uint32_t requests;   /* requests served on this connection */
    uint16_t status;
    uint64_t bytes_out; /* bytes sent to the client for this request */
    uint64_t bytes_up;  /* bytes sent to the server for this request */
    ev_tstamp req_start, ttfb;
    char method[24];
    char target[LOG_TARGET_MAX + 1];
    uint64_t key_hash;
    bool has_key;

    /* server connection */
    bool connected;
    bool reused;                   /* the server connection came from the worker's pool */
    bool fresh_only;               /* a reused connection failed: connect afresh */
    bool send_failed;              /* a send to the server failed: never pooled */
    struct sockaddr_storage saddr; /* the server's address (pool key) */
    socklen_t saddr_len;
    uint32_t up_head_bytes; /* length of the rewritten head in up.head */
    struct route_counter *counter;
    struct route_counter *tried[TRIES_MAX];
    uint16_t retry_status; /* answer when a retry finds no other server (0: 503) */
    uint32_t tries, retries;
    ev_tstamp timeout_connect_s, timeout_server_s;
    char server[CONF_NAME_MAX];

};

static int drive(struct http_session *s);
static int connect_next(struct http_session *s);
static void on_server_read(struct ev_loop *loop, ev_io *io, int revents);
static bool retry_on_answer(struct http_session *s, unsigned status);
static int tunnel_start(struct http_session *s);
static void request_bufs_put(struct http_session *s);
static void client_buf_put(struct http_session *s, bool force);

/* ------------------------------------------------------------ helpers ---- */

static void addr_texts(struct http_session *s, const struct sockaddr_storage *ss)
{
    unsigned port = 0;
    snprintf(s->client_ip, sizeof(s->client_ip), "unknown");
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, s->client_ip, sizeof(s->client_ip));
        port = ntohs(a->sin_port);
        snprintf(s->client_text, sizeof(s->client_text), "%s:%u", s->client_ip, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, s->client_ip, sizeof(s->client_ip));
        port = ntohs(a->sin6_port);
        snprintf(s->client_text, sizeof(s->client_text), "[%s]:%u", s->client_ip, port);
    } else {
        snprintf(s->client_text, sizeof(s->client_text), "unix");
    }
}

static uint64_t source_hash(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return lb_hash(&a->sin_addr, sizeof(a->sin_addr));
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        return lb_hash(&a->sin6_addr, sizeof(a->sin6_addr));
    }
    return 0;
}

static void copy_printable(char *out, size_t cap, const char *in, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        out[i] = (c > 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
    }
    out[n] = '\0';
}

/* ---------------------------------------------------------------- I/O ---- */

static uint8_t want_ev(ssize_t st)
{
    return st == TLS_CONN_WANT_READ ? EV_READ : EV_WRITE;
}

/* Reads from a side (t: its TLS state, NULL for plain TCP) into buf: > 0
 * bytes, 0 at the peer's end (FIN, or over TLS a close_notify or a bare EOF),
 * -1 when it would block (over TLS t->rd_ev says for what), -2 on an error
 * (errno, or tls_conn_reason). */
static inline ssize_t side_recv(int fd, struct side_tls *t, char *buf, size_t len)
{
    ssize_t n;
    if (t == NULL) {
        n = recv(fd, buf, len, 0);
        if (n >= 0)
            return n;
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -1 : -2;
    }
    n = tls_conn_read(&t->c, buf, len);
    if (n > 0 || n == TLS_CONN_CLOSED) {
        t->rd_ev = EV_READ;
        return n > 0 ? n : 0;
    }
    if (n == TLS_CONN_WANT_READ || n == TLS_CONN_WANT_WRITE) {
        t->rd_ev = want_ev(n);
        return -1;
    }
    errno = EPROTO;
    return -2;
}

/* http_pipe_send to a side, over TLS when t is not NULL (see http_pipe.h). */
static inline int side_send(int fd, struct side_tls *t, struct http_pipe *p,
                            uint64_t *bytes)
{
    int want = 0, rc;
    if (t == NULL)
        return http_pipe_send(fd, p, bytes);
    rc = http_pipe_send_tls(&t->c, p, bytes, &want);
    t->wr_ev = rc == 0 ? want_ev(want) : EV_WRITE;
    return rc;
}

static const char *side_error(const struct side_tls *t)
{
    return t != NULL ? tls_conn_reason(&t->c) : strerror(errno);
}

/* ---------------------------------------------------------- lifecycle ---- */

static void log_request(struct http_session *s, const char *how)
{
    ev_tstamp now = ev_now(s->w->loop);
    if (!s->in_request)
        return;
    s->in_request = false;
    if (!log_access_enabled())
        return;
    if (s->ctls == NULL)
        log_access("http client=%s frontend=%s method=%s target=\"%s\" status=%u "
                   "bytes_out=%llu bytes_up=%llu server=%s tries=%u retries=%u "
                   "ttfb_ms=%.0f duration_ms=%.0f reused=%d end=%s",
                   s->client_text, s->frontend, s->method[0] ? s->method : "-",
                   s->target[0] ? s->target : "-", s->status,
                   (unsigned long long)s->bytes_out, (unsigned long long)s->bytes_up,
                   s->server[0] ? s->server : "-",
                   s->tries, s->tries > 0 ? s->tries - 1 : 0,
                   s->ttfb > 0 ? (s->ttfb - s->req_start) * 1000.0 : -1.0,
                   (now - s->req_start) * 1000.0, s->reused ? 1 : 0, how);
    else
        log_access("http client=%s frontend=%s method=%s target=\"%s\" status=%u "
                   "bytes_out=%llu bytes_up=%llu server=%s tries=%u retries=%u "
                   "ttfb_ms=%.0f duration_ms=%.0f reused=%d end=%s tls=%s sni=%s",
                   s->client_text, s->frontend, s->method[0] ? s->method : "-",
                   s->target[0] ? s->target : "-", s->status,
                   (unsigned long long)s->bytes_out, (unsigned long long)s->bytes_up,
                   s->server[0] ? s->server : "-",
                   s->tries, s->tries > 0 ? s->tries - 1 : 0,
                   s->ttfb > 0 ? (s->ttfb - s->req_start) * 1000.0 : -1.0,
                   (now - s->req_start) * 1000.0, s->reused ? 1 : 0, how,
                   s->ctls->version[0] ? s->ctls->version : "-",
                   s->ctls->sni[0] ? s->ctls->sni : "-");
}

static void release_server(struct http_session *s)
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
    if (s->counter != NULL) {
        atomic_fetch_sub_explicit(&s->counter->inflight, 1, memory_order_relaxed);
        s->counter = NULL;
    }
    s->connected = false;
}

/* Whether the server connection may carry another request: the response was
 * framed to its end (never until-close) with nothing after it, the whole
 * request went up, and neither side asked to close. */
static bool server_reusable(const struct http_session *s)
{
    const struct http_pipe *d = &s->down;
    return s->connected && s->sfd >= 0 && !s->s_eof && !s->send_failed && s->up_sent &&
           s->up.done && s->resp_head_done && s->resp.keep_alive &&
           s->req.version_minor >= 1 && d->body != HTTP_BODY_CLOSE &&
           d->body != HTTP_BODY_TUNNEL && d->done && d->pos + d->ready == d->len &&
           !s->w->draining &&
           (s->stls == NULL || !SSL_has_pending(tls_conn_ssl(&s->stls->c)));
}

/* After a complete response: parks the server connection in the worker's pool
 * when it is reusable (idle timeout: min(timeout_server, 5 s)), then releases
 * the rest. */
static void release_server_after_response(struct http_session *s)
{
    struct upstream_key key;
    ev_tstamp idle_s = UPSTREAM_POOL_IDLE_MAX_S;

    if (server_reusable(s)) {
        if (s->w->upstream == NULL)
            s->w->upstream = upstream_pool_new(s->w->loop, UPSTREAM_POOL_PER_SERVER_MAX,
                                               UPSTREAM_POOL_MAX);
        if (s->w->upstream != NULL) {
            if (s->timeout_server_s > 0 && s->timeout_server_s < idle_s)
                idle_s = s->timeout_server_s;
            key.pool = s->pool;
            key.server = s->server;
            key.addr = &s->saddr;
            key.addr_len = s->saddr_len;
            key.tls_ctx = NULL;
            if (s->stls != NULL)
                key.tls_ctx = SSL_get_SSL_CTX(tls_conn_ssl(&s->stls->c));
            ev_io_stop(s->w->loop, &s->srd);
            ev_io_stop(s->w->loop, &s->swr);
            upstream_pool_put(s->w->upstream, &key, s->sfd,
                              s->stls != NULL ? &s->stls->c : NULL, idle_s);
            s->sfd = -1;
            s->stls = NULL;
        }
    }
    release_server(s);
}

/* Ends the session (logging a request in progress with `how`) and frees it. */
static void end(struct http_session *s, const char *how)
{
    struct worker *w = s->w;
    log_request(s, how);
    release_server(s);
    request_bufs_put(s);
    client_buf_put(s, true);
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

/* The request-head deadline: timeout_http_request, else timeout_client. */
static ev_tstamp head_timeout(const struct http_session *s)
{
    return s->timeout_request_s > 0 ? s->timeout_request_s : s->timeout_client_s;
}

static void ctimer_set(struct http_session *s, ev_tstamp after_s)
{
    s->ctimer.repeat = after_s > 0 ? after_s : 0;
    if (after_s > 0)
        ev_timer_again(s->w->loop, &s->ctimer);
    else
        ev_timer_stop(s->w->loop, &s->ctimer);
}

static void stimer_set(struct http_session *s, ev_tstamp after_s)
{
    s->s_active = ev_now(s->w->loop);
    s->stimer.repeat = after_s > 0 ? after_s : 0;
    if (after_s > 0)
        ev_timer_again(s->w->loop, &s->stimer);
    else
        ev_timer_stop(s->w->loop, &s->stimer);
}

/* Sends what is queued for the client, then FIN, then lingers (see top) when
 * `linger`. */
static int start_close(struct http_session *s, bool linger)
{
    release_server(s);
    s->linger = linger;
    s->state = ST_CLOSE;
    s->c_active = ev_now(s->w->loop);
    ctimer_set(s, s->timeout_client_s > 0 ? s->timeout_client_s : 30.0);
    return drive(s);
}

/*
 * Answers the request with a canned error `status` and closes the connection.
 * Only valid while nothing of a response has been sent to the client.
 */
static int send_error(struct http_session *s, unsigned status, const char *why)
{
    const char *reason = http_status_reason(status);
    struct http_pipe *d = &s->down;
    int n;
    if (reason == NULL)
        reason = "Error";
    log_debug("%s: %s: %u %s (%s)", s->frontend, s->client_text, status, reason, why);
    release_server(s);
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
    if (!s->in_request) {
        s->in_request = true;
        s->req_start = ev_now(s->w->loop);
    }
    s->status = (uint16_t)status;
    return start_close(s, true); /* the client may be sending still */
}

/* ------------------------------------------------------------ request ---- */

/* The rewritten request head is built in the worker's scratch buffer of
 * XBUF_STD_UP_HEAD bytes, or of max_header_bytes + 1 KiB when it does not fit. */
#define XBUF_STD_UP_HEAD   (2u * 1024u)
/* The layouts of xbuf: down.in, down.head, then resp_hdrs. */
#define XBUF_STD_DOWN      HTTP_SESSION_SERVER_BUF_BYTES
#define XBUF_STD_DOWN_HEAD (2u * 1024u)
#define XBUF_HDRS_BYTES    (RESP_HEADERS_MAX * sizeof(struct http_header))
#define XBUF_STD_BYTES     (XBUF_STD_DOWN + XBUF_STD_DOWN_HEAD + XBUF_HDRS_BYTES)
#define CLIENT_STD_HDRS    HTTP_DEFAULT_MAX_HEADERS
#define CLIENT_STD_BYTES \
    (HTTP_SESSION_CLIENT_BUF_BYTES + CLIENT_STD_HDRS * sizeof(struct http_header))
#define BUF_CACHE_KEEP     64u /* free buffers of each kind kept per worker */
_Static_assert(HTTP_SESSION_CLIENT_BUF_BYTES % 16 == 0, "header array alignment");

static struct buf_cache *xbuf_cache(struct worker *w)
{
    if (w->xbufs.size == 0)
        buf_cache_init(&w->xbufs, XBUF_STD_BYTES, BUF_CACHE_KEEP);
    return &w->xbufs;
}

static struct buf_cache *client_cache(struct worker *w)
{
    if (w->client_bufs.size == 0)
        buf_cache_init(&w->client_bufs, CLIENT_STD_BYTES, BUF_CACHE_KEEP);
    return &w->client_bufs;
}

/* Points down.in, down.head and resp_hdrs into `x`, laid out with the given
 * capacities. */
static void xbuf_layout(struct http_session *s, char *x, uint32_t down, uint32_t down_head)
{
    s->xbuf = x;
    s->down.in = x;
    s->down.cap = down;
    s->down.head = s->down.in + down;
    s->down.head_cap = down_head;
    s->resp_hdrs = (struct http_header *)(void *)(s->down.head + down_head);
    s->resp.headers = s->resp_hdrs;
}

/* The server-side block, before the first read of a response. Returns 0 or -1
 * (no memory). */
static int response_bufs_get(struct http_session *s)
{
    char *x;
    if (s->xbuf != NULL)
        return 0;
    x = buf_cache_get(xbuf_cache(s->w));
    if (x == NULL)
        return -1;
    s->xbuf_large = false;
    xbuf_layout(s, x, XBUF_STD_DOWN, XBUF_STD_DOWN_HEAD);
    return 0;
}

/* Moves to the large layout (a response head did not fit the standard one),
 * keeping what is queued and buffered. Returns 0, or -1 (out of memory, or
 * large already). */
static int xbuf_grow(struct http_session *s)
{
    uint32_t down_head = HTTP_SESSION_MAX_RESPONSE_HEAD_BYTES + 1024;
    uint32_t down = HTTP_SESSION_MAX_RESPONSE_HEAD_BYTES + XBUF_STD_DOWN;
    char *old = s->xbuf, *x;
    struct http_pipe d = s->down;
    struct http_header *oh = s->resp_hdrs;

    if (s->xbuf_large || old == NULL)
        return -1;
    x = malloc((size_t)down + down_head + XBUF_HDRS_BYTES);
    if (x == NULL)
        return -1;
    xbuf_layout(s, x, down, down_head);
    memcpy(s->down.in, d.in, d.len);
    if (d.head != s->errbuf)
        memcpy(s->down.head, d.head, d.head_len);
    else
        s->down.head = d.head; /* a canned error is queued: it stays there */
    memcpy(s->resp_hdrs, oh, XBUF_HDRS_BYTES);
    s->xbuf_large = true;
    buf_cache_put(xbuf_cache(s->w), old);
    return 0;
}

/* Gives back the server-side block (nothing of a response may be buffered or
 * queued in it any more). */
static void response_bufs_put(struct http_session *s)
{
    if (s->xbuf == NULL)
        return;
    if (s->xbuf_large)
        free(s->xbuf);
    else
        buf_cache_put(xbuf_cache(s->w), s->xbuf);
    s->xbuf = NULL;
    s->xbuf_large = false;
    if (s->down.head != s->errbuf) {
        s->down.head = NULL;
        s->down.head_cap = 0;
    }
    s->down.in = NULL;
    s->down.cap = 0;
    s->resp_hdrs = NULL;
    s->resp.headers = NULL;
}

/* Frees what a request in flight holds: its rewritten head and the server-side
 * block. */
static void request_bufs_put(struct http_session *s)
{
    response_bufs_put(s);
    free(s->hbuf);
    s->hbuf = NULL;
    s->up.head = NULL;
    s->up.head_cap = 0;
}

/* The worker's scratch buffer for rewriting request heads, at least `need`
 * bytes. Returns it, or NULL (no memory). */
static char *head_scratch(struct http_session *s, uint32_t need)
{
    struct worker *w = s->w;
    if (w->head_scratch_cap < need) {
        char *p = realloc(w->head_scratch, need);
        if (p == NULL)
            return NULL;
        w->head_scratch = p;
        w->head_scratch_cap = need;
    }
    return w->head_scratch;
}

/* Points req_hdrs after the bytes of a client buffer of `bytes`. */
static void client_hdrs_at(struct http_session *s, char *buf, uint32_t bytes)
{
    s->req_hdrs = (struct http_header *)(void *)(buf + bytes);
    s->req.headers = s->req_hdrs;
}

/* A client buffer to read into (the standard size first), with the request-head
 * array after it. Returns 0 or -1. */
static int client_buf_get(struct http_session *s)
{
    if (s->up.in != NULL)
        return 0;
    if (s->req_hdrs_cap == CLIENT_STD_HDRS)
        s->up.in = buf_cache_get(client_cache(s->w));
    else
        s->up.in = malloc(HTTP_SESSION_CLIENT_BUF_BYTES +
                          (size_t)s->req_hdrs_cap * sizeof(struct http_header));
    if (s->up.in == NULL)
        return -1;
    s->up.cap = HTTP_SESSION_CLIENT_BUF_BYTES;
    s->up_large = false;
    client_hdrs_at(s, s->up.in, HTTP_SESSION_CLIENT_BUF_BYTES);
    return 0;
}

static void client_buf_free(struct http_session *s, char *buf, bool large)
{
    if (large || s->req_hdrs_cap != CLIENT_STD_HDRS)
        free(buf);
    else
        buf_cache_put(client_cache(s->w), buf);
}

/* A request head filled the standard client buffer: moves to the full size
 * (max_header_bytes + body room) so the parser's limits decide. The header
 * array moves along (a head is being parsed). Returns 0 or -1. */
static int client_buf_grow(struct http_session *s)
{
    size_t hdr_bytes = (size_t)s->req_hdrs_cap * sizeof(struct http_header);
    uint32_t full = (s->up_full + 15u) & ~15u;
    char *p;
    if (s->up_large || s->up.cap >= s->up_full)
        return -1;
    p = malloc(full + hdr_bytes);
    if (p == NULL)
        return -1;
    memcpy(p, s->up.in, s->up.len);
    memcpy(p + full, s->req_hdrs, hdr_bytes);
    client_buf_free(s, s->up.in, false);
    s->up.in = p;
    s->up.cap = s->up_full;
    s->up_large = true;
    client_hdrs_at(s, p, full);
    return 0;
}

/* Gives the client buffer back when nothing is in it (with `force`, always).
 * Never while a head is being parsed: the header array goes with it. */
static void client_buf_put(struct http_session *s, bool force)
{
    if (s->up.in == NULL || (!force && s->up.len != s->up.pos))
        return;
    client_buf_free(s, s->up.in, s->up_large);
    s->up.in = NULL;
    s->up.cap = s->up.len = s->up.pos = s->up.ready = 0;
    s->up_large = false;
    s->req_hdrs = NULL;
    s->req.headers = NULL;
}

static const struct http_header *find_header(const struct http_session *s,
                                             const char *name)
{
    size_t nl = strlen(name);
    for (uint32_t i = 0; i < s->req.nheaders; i++) {
        const struct http_header *h = &s->req.headers[i];
        if (h->name.len == nl && strncasecmp(s->up.in + h->name.off, name, nl) == 0)
            return h;
    }
    return NULL;
}

/* The balancing key of the parsed request (the pool's hash_key). */
static void request_key(struct http_session *s)
{
    struct route_pool *pool = route_find_pool(worker_route(s->w), s->pool);
    const char *buf = s->up.in;
    const char *t = buf + s->req.target.off;
    size_t tl = s->req.target.len;
    s->has_key = false;
    if (pool == NULL)
        return;
    switch (pool->hash_key) {
    case CONF_HASH_SOURCE:
        s->key_hash = source_hash(&s->peer);
        s->has_key = s->peer.ss_family == AF_INET || s->peer.ss_family == AF_INET6;
        break;
    case CONF_HASH_URI:
        s->key_hash = lb_hash(t, lb_key_uri_len(t, tl));
        s->has_key = true;
        break;
    case CONF_HASH_PATH:
        s->key_hash = lb_hash(t, lb_key_path_len(t, tl));
        s->has_key = true;
        break;
    case CONF_HASH_HEADER: {
        const struct http_header *h = find_header(s, pool->hash_key_name);
        if (h != NULL) {
            s->key_hash = lb_hash(buf + h->value.off, h->value.len);
            s->has_key = true;
        }
        break;
    }
    case CONF_HASH_COOKIE:
        for (uint32_t i = 0; i < s->req.nheaders && !s->has_key; i++) {
            const struct http_header *h = &s->req.headers[i];
            const char *v;
            size_t vl;
            if (h->name.len != 6 || strncasecmp(buf + h->name.off, "cookie", 6) != 0)
                continue;
            if (lb_key_cookie(buf + h->value.off, h->value.len, pool->hash_key_name,
                              strlen(pool->hash_key_name), &v, &vl) == 0) {
                s->key_hash = lb_hash(v, vl);
                s->has_key = true;
            }
        }
        break;
    case CONF_HASH_COUNT:
        break;
    }
}

/*
 * A request head is complete in up.in[0, head_bytes): validate the body bytes
 * already buffered, rewrite the head for the server, pick and connect.
 */
static int request_ready(struct http_session *s)
{
    struct http_request_forward fwd;
    size_t out_len = 0;
    int status;

    s->in_request = true;
    s->req_start = ev_now(s->w->loop);
    s->ttfb = 0;
    s->status = 0;
    s->bytes_out = 0;
    s->bytes_up = 0;
    s->tries = 0;
    s->retry_status = 0;
    s->server[0] = '\0';
    s->up_sent = false;
    s->resp_head_done = false;
    s->s_eof = false;
    s->reused = false;
    s->fresh_only = false;
    s->send_failed = false;
    copy_printable(s->method, sizeof(s->method), s->up.in + s->req.method_name.off,
                   s->req.method_name.len);
    copy_printable(s->target, sizeof(s->target), s->up.in + s->req.target.off,
                   s->req.target.len);

    s->keep_alive =
        s->req.keep_alive && !s->w->draining &&
        (s->max_keepalive_requests == 0 || s->requests + 1 < s->max_keepalive_requests);

    request_key(s);
    memset(&fwd, 0, sizeof(fwd));
    fwd.client_addr = s->client_ip;
    fwd.proto = s->ctls != NULL ? "https" : "http";
    fwd.keep_alive = true; /* the server connection may go back to the pool */
    s->upgrade = !s->w->draining && http_upgrade_websocket(&s->req, s->up.in);
    fwd.allow_upgrade = s->upgrade;
    {
        /* into the scratch buffer, then a block of its own size */
        uint32_t cap = XBUF_STD_UP_HEAD;
        char *out = head_scratch(s, cap);
        int rc = HTTP_ERROR;
        if (out != NULL)
            rc = http_rewrite_request(&s->req, s->up.in, &fwd, out, cap, &out_len);
        if (out != NULL && rc != HTTP_OK) {
            cap = (s->req_limits.max_head_bytes + 1024u + 15u) & ~15u;
            out = head_scratch(s, cap);
            if (out != NULL)
                rc = http_rewrite_request(&s->req, s->up.in, &fwd, out, cap, &out_len);
        }
        if (out != NULL && rc != HTTP_OK)
            return send_error(s, 431, "rewritten head too large");
        free(s->hbuf);
        s->hbuf = out != NULL ? malloc(out_len) : NULL;
        if (s->hbuf == NULL)
            return send_error(s, 503, "out of memory");
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
        return send_error(s, (unsigned)status, "bad request body");
    if (s->c_eof && !s->up.done)
        return send_error(s, 400, "client closed within the request body");
    /* a request without body bytes buffered needs its client buffer no more
     * (the head went to up.head): 1,000 connections that connect or wait
     * hold no buffer */
    client_buf_put(s, false);

    s->state = ST_CONNECT;
    s->c_active = ev_now(s->w->loop);
    ctimer_set(s, s->timeout_client_s);
    return connect_next(s);
}

/* ST_HEAD: parses what the client buffer holds. */
static int head_drive(struct http_session *s)
{
    int rc;
    if (s->up.len == 0) {
        if (s->c_eof) {
            end(s, "client_closed");
            return -1;
        }
        return 0;
    }
    rc = http_parse_request(&s->req, s->up.in, s->up.len, &s->req_limits);
    if (rc == HTTP_OK)
        return request_ready(s);
    if (rc == HTTP_ERROR)
        return send_error(s, s->req.status ? s->req.status : 400,
                          s->req.error ? s->req.error : "bad request");
    if (s->up.len >= s->up.cap) {
        if (client_buf_grow(s) == 0)
            return 0;
        return send_error(s, 431, "request head too large");
    }
    if (s->c_eof)
        return send_error(s, 400, "client closed within the request head");
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
    request_bufs_put(s);
    http_msg_init_request(&s->req, s->req_hdrs, s->req_hdrs_cap);
    if (s->up.len == 0)
        client_buf_put(s, false);
    s->c_active = ev_now(s->w->loop);
    ctimer_set(s, s->up.len > 0 || s->timeout_keepalive_s <= 0 ? head_timeout(s)
                                                               : s->timeout_keepalive_s);
    return drive(s);
}

/* ----------------------------------------------------------- response ---- */

static bool method_idempotent(enum http_method m)
{
    return m == HTTP_METHOD_GET || m == HTTP_METHOD_HEAD || m == HTTP_METHOD_PUT ||
           m == HTTP_METHOD_DELETE || m == HTTP_METHOD_OPTIONS || m == HTTP_METHOD_TRACE;
}

/* A reused connection failed before any response byte (the server closed it
 * while we were sending: the keep-alive race). The request may go again on a
 * fresh connection only if no byte of its body went up, and, unless it is
 * idempotent, only if its head did not go up completely either: a
 * non-idempotent request is never replayed once sent. */
static bool can_retry_fresh(const struct http_session *s)
{
    if (!s->reused || s->ttfb != 0 || s->down.len != 0 || s->resp_head_done)
        return false;
    if (s->bytes_up > s->up_head_bytes)
        return false; /* body bytes went up: they are gone from the buffer */
    return method_idempotent(s->req.method) || s->bytes_up < s->up_head_bytes;
}

/* Tells passive health checks what happened to the request on this server. */
static void report(struct http_session *s, enum health_req_outcome o)
{
    health_mailbox_post(s->w->shared->health, s->counter, o);
}

/* The server failed this request before sending any byte of a response head
 * (closed, reset, timed out). An idempotent request goes to another server when
 * retries are left and no byte of its body went up: nothing reached the client,
 * and the server cannot have half-applied an idempotent request in a way a second
 * attempt would change. */
static bool can_retry_other(const struct http_session *s)
{
    if (s->resp_head_done || s->bytes_out != 0 || !method_idempotent(s->req.method))
        return false;
    if (s->bytes_up > s->up_head_bytes)
        return false;
    return s->tries <= s->retries && s->tries < TRIES_MAX;
}

/* Puts the request back at its start for another connection. */
static void rewind_request(struct http_session *s)
{
    release_server(s);
    s->reused = false;
    s->s_eof = false;
    s->up_sent = false;
    s->up.head_pos = 0;
    s->up.head_len = s->up_head_bytes; /* the head is still in up.head */
    s->bytes_up = 0;
    s->ttfb = 0;
    s->down.pos = s->down.len = s->down.ready = 0;
}

static int retry_other(struct http_session *s, const char *why, unsigned status)
{
    log_info("%s: %s %s; retrying %s on another server", s->frontend, s->server, why,
             http_method_name(s->req.method));
    rewind_request(s);
    s->fresh_only = false;
    s->retry_status = (uint16_t)status;
    return connect_next(s);
}

static int retry_fresh(struct http_session *s)
{
    log_debug("%s: reused connection to %s failed before a response; retrying on a "
              "fresh one",
              s->frontend, s->server);
    rewind_request(s);
    s->tries--; /* the same server may be picked again */
    s->fresh_only = true;
    return connect_next(s);
}

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
                if (can_retry_fresh(s))
                    return retry_fresh(s);
                report(s, HEALTH_REQ_RESET);
                if (can_retry_other(s))
                    return retry_other(s, "closed before responding", 502);
                return send_error(s, 502, "server closed before responding");
            }
            return 0;
        }
        rc = http_parse_response(&s->resp, d->in, d->len, &s->resp_limits);
        if (rc == HTTP_AGAIN) {
            if (d->len >= d->cap && xbuf_grow(s) == 0)
                return 0;
            if (d->len >= d->cap) {
                report(s, HEALTH_REQ_RESET);
                return send_error(s, 502, "response head too large");
            }
            if (s->s_eof) {
                report(s, HEALTH_REQ_RESET);
                if (can_retry_other(s))
                    return retry_other(s, "closed within the response head", 502);
                return send_error(s, 502, "server closed within the response head");
            }
            return 0;
        }
        if (rc != HTTP_OK) {
            report(s, HEALTH_REQ_RESET);
            return send_error(s, 502, s->resp.error ? s->resp.error : "bad response");
        }
        if (s->ttfb == 0)
            s->ttfb = ev_now(s->w->loop);
        if (s->resp.interim) {
            /* a 1xx (100 Continue...): passed on to HTTP/1.1 clients only */
            if (s->req.version_minor >= 1) {
                memset(&fwd, 0, sizeof(fwd));
                fwd.keep_alive = true;
                fwd.client_minor = s->req.version_minor;
                if (http_rewrite_response(&s->resp, d->in, &fwd, d->head, d->head_cap,
                                          &out_len) != HTTP_OK &&
                    (xbuf_grow(s) != 0 ||
                     http_rewrite_response(&s->resp, d->in, &fwd, d->head, d->head_cap,
                                           &out_len) != HTTP_OK))
                    return send_error(s, 502, "interim response head too large");
                d->head_pos = 0;
                d->head_len = (uint32_t)out_len;
            }
            d->pos = s->resp.head_bytes;
            http_pipe_compact(d);
            http_msg_init_response(&s->resp, s->resp_hdrs, RESP_HEADERS_MAX,
                                   s->req.method, s->upgrade);
            continue;
        }
        if (s->resp.body == HTTP_BODY_TUNNEL && s->resp.status_code == 101 && s->upgrade)
            return tunnel_start(s);
        if (s->resp.body == HTTP_BODY_TUNNEL)
            return send_error(s, 502, "server switched protocols");
        if (retry_on_answer(s, s->resp.status_code)) {
            char why[32];
            report(s, HEALTH_REQ_5XX);
            snprintf(why, sizeof(why), "answered %u", s->resp.status_code);
            return retry_other(s, why, s->resp.status_code);
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
            (xbuf_grow(s) != 0 ||
             http_rewrite_response(&s->resp, d->in, &fwd, d->head, d->head_cap,
                                   &out_len) != HTTP_OK))
            return send_error(s, 502, "response head too large");
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

/* The response went out completely. */
static int response_done(struct http_session *s)
{
    log_request(s, "done");
    release_server_after_response(s);
    /* Closing after a whole request with nothing after it: nothing unread can
     * make our close a reset that destroys the answer, so no lingering (as
     * NGINX); a client that sent more, or the rest of a request the server did
     * not wait for, gets the lingering close. */
    if (!s->keep_alive || s->w->draining)
        return start_close(s, !(s->up.done && s->up.pos == s->up.len && s->up.ready == 0));
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

static void watchers(struct http_session *s)
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

static int proxy_drive(struct http_session *s)
{
    int rc, status;

    /* up: the request */
    if (!s->up_sent) {
        status = http_pipe_frame(&s->up);
        if (status != 0) {
            if (!s->resp_head_done && s->bytes_out == 0)
                return send_error(s, (unsigned)status, "bad request body");
            end(s, "client_error");
            return -1;
        }
        uint64_t before = s->bytes_up;
        rc = side_send(s->sfd, s->stls, &s->up, &s->bytes_up);
        if (s->bytes_up != before)
            s->s_active = ev_now(s->w->loop);
        if (rc < 0) {
            log_debug("%s: send to %s: %s", s->frontend, s->server, side_error(s->stls));
            s->send_failed = true;
            if (can_retry_fresh(s))
                return retry_fresh(s);
            if (!s->resp_head_done) {
                /* the server may have answered before it stopped reading */
                s->up_sent = true;
                s->up.done = true;
                s->up.ready = 0;
                s->up.head_pos = s->up.head_len = 0; /* nothing left to write */
                s->keep_alive = false;
            } else {
                end(s, "server_error");
                return -1;
            }
        } else if (rc > 0) {
            if (s->up.done) {
                s->up_sent = true;
                /* nothing more to read from the client until the answer is
                 * out: its buffer goes back to the cache meanwhile */
                client_buf_put(s, false);
            } else if (s->c_eof) {
                if (!s->resp_head_done && s->bytes_out == 0)
                    return send_error(s, 400, "client closed within the request body");
                end(s, "client_closed");
                return -1;
            }
        }
    }

    /* down: the response */
    if (response_head(s) != 0)
        return -1;
    if (s->state != ST_PROXY)
        return 0;
    if (s->resp_head_done) {
        status = http_pipe_frame(&s->down);
        if (status != 0) {
            log_info("%s: bad response body from %s: %s", s->frontend, s->server,
                     s->down.ch.error ? s->down.ch.error : "?");
            end(s, "server_error");
            return -1;
        }
        if (s->s_eof && !s->down.done && s->down.pos + s->down.ready == s->down.len) {
            if (s->down.body == HTTP_BODY_CLOSE) {
                s->down.done = true;
            } else if (!http_pipe_pending(&s->down)) {
                end(s, "server_closed");
                return -1;
            }
        }
    }
    {
        uint64_t before = s->bytes_out;
        /* a small body leaves with its head: one write, one TLS record */
        http_pipe_coalesce(&s->down, DOWN_COALESCE_MAX);
        rc = side_send(s->cfd, s->ctls, &s->down, &s->bytes_out);
        if (s->bytes_out != before)
            s->c_active = ev_now(s->w->loop);
    }
    if (rc < 0) {
        end(s, "client_error");
        return -1;
    }
    if (s->resp_head_done && s->down.done && !http_pipe_pending(&s->down))
        return response_done(s);
    return 0;
}

/* ------------------------------------------------------------- tunnel --- */

/* The server answered 101 to a WebSocket upgrade: queues the rewritten 101 head
 * and turns both pipes into until-close relays (see top). */
static int tunnel_start(struct http_session *s)
{
    struct http_response_forward fwd = {false, s->req.version_minor};
    struct http_pipe *d = &s->down;
    size_t out_len = 0;

    if (http_rewrite_response(&s->resp, d->in, &fwd, d->head, d->head_cap, &out_len) !=
            HTTP_OK &&
        (xbuf_grow(s) != 0 || http_rewrite_response(&s->resp, d->in, &fwd, d->head,
                                                    d->head_cap, &out_len) != HTTP_OK))
        return send_error(s, 502, "response head too large");
    if (client_buf_get(s) != 0)
        return send_error(s, 503, "out of memory");
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
    return drive(s);
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
static int tunnel_drive(struct http_session *s)
{
    uint64_t up = s->bytes_up, out = s->bytes_out;
    int rc;

    http_pipe_frame(&s->up); /* until close: every byte is ready */
    rc = side_send(s->sfd, s->stls, &s->up, &s->bytes_up);
    if (rc < 0) {
        log_debug("%s: tunnel send to %s: %s", s->frontend, s->server,
                  side_error(s->stls));
        end(s, "server_error");
        return -1;
    }
    if (rc > 0 && s->c_eof && !s->s_shut)
        tunnel_shut(s->sfd, s->stls, &s->s_shut);

    http_pipe_frame(&s->down);
    rc = side_send(s->cfd, s->ctls, &s->down, &s->bytes_out);
    if (rc < 0) {
        end(s, "client_error");
        return -1;
    }
    if (rc > 0 && s->s_eof && !s->c_shut)
        tunnel_shut(s->cfd, s->ctls, &s->c_shut);

    if (s->bytes_up != up || s->bytes_out != out)
        s->c_active = ev_now(s->w->loop); /* timeout_tunnel counts from here */
    if (s->c_shut && s->s_shut) {
        end(s, "done");
        return -1;
    }
    return 0;
}

static int drive(struct http_session *s)
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
        rc = tunnel_drive(s);
        break;
    case ST_CLOSE:
        rc = side_send(s->cfd, s->ctls, &s->down, &s->bytes_out);
        if (rc < 0) {
            end(s, "client_error");
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
            log_request(s, s->status >= 400 ? "error" : "done");
            if (!s->linger || s->c_eof) {
                end(s, "closed");
                return -1;
            }
            shutdown(s->cfd, SHUT_WR);
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
    watchers(s);
    return 0;
}

/* ----------------------------------------------------------- callbacks --- */

/* Reads what the client sent (ST_LINGER: drops it). Returns -1 when the
 * session ended, 1 after drive(), 0 when nothing could be read. */
static int client_read(struct http_session *s)
{
    struct http_pipe *p = &s->up;
    ssize_t n;

    if (s->state == ST_LINGER) {
        char junk[4096];
        n = side_recv(s->cfd, s->ctls, junk, sizeof(junk));
        if (n == 0 || n == -2) {
            end(s, "closed");
            return -1;
        }
        if (s->ctls != NULL)
            watchers(s);
        return 0;
    }
    if (p->in == NULL && client_buf_get(s) != 0) {
        log_error("%s: %s: out of memory for a request", s->frontend, s->client_text);
        end(s, "client_error");
        return -1;
    }
    if (http_pipe_room(p) == 0) {
        watchers(s);
        return 0;
    }
    n = side_recv(s->cfd, s->ctls, p->in + p->len, p->cap - p->len);
    if (n > 0) {
        if (s->state == ST_HEAD && p->len == 0 && s->requests > 0)
            ctimer_set(s, head_timeout(s)); /* first byte of the next head */
        p->len += (uint32_t)n;
        s->c_active = ev_now(s->w->loop);
    } else if (n == 0) {
        s->c_eof = true;
    } else if (n == -1) {
        client_buf_put(s, false); /* nothing came: no buffer held for it */
        if (s->ctls != NULL)
            watchers(s); /* OpenSSL may wait for the other direction now */
        return 0;
    } else {
        if (s->ctls != NULL)
            log_debug("%s: %s: TLS read: %s", s->frontend, s->client_text,
                      tls_conn_reason(&s->ctls->c));
        end(s, "client_error");
        return -1;
    }
    return drive(s) == 0 ? 1 : -1;
}

/* Reads what the server sent. Returns like client_read. */
static int server_read(struct http_session *s)
{
    struct http_pipe *p = &s->down;
    ssize_t n;

    if (p->in == NULL && response_bufs_get(s) != 0) {
        log_error("%s: out of memory for a response from %s", s->frontend, s->server);
        if (!s->resp_head_done && s->bytes_out == 0)
            return send_error(s, 502, "out of memory") == 0 ? 1 : -1;
        end(s, "server_error");
        return -1;
    }
    if (http_pipe_room(p) == 0) {
        watchers(s);
        return 0;
    }
    n = side_recv(s->sfd, s->stls, p->in + p->len, p->cap - p->len);
    if (n > 0) {
        p->len += (uint32_t)n;
        s->s_active = ev_now(s->w->loop);
    } else if (n == 0) {
        s->s_eof = true;
    } else if (n == -1) {
        if (s->stls != NULL)
            watchers(s);
        return 0;
    } else {
        log_debug("%s: recv from %s: %s", s->frontend, s->server, side_error(s->stls));
        if (s->resp_head_done) {
            end(s, "server_error");
            return -1;
        }
        s->s_eof = true; /* a reset before the head: 502 below */
        p->len = 0;
    }
    return drive(s) == 0 ? 1 : -1;
}

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
    return drive(s);
}

static int connect_failed(struct http_session *s, const char *why)
{
    log_info("%s: connect to %s failed: %s", s->frontend, s->server, why);
    report(s, HEALTH_REQ_CONNECT_FAIL);
    release_server(s);
    if (s->tries <= s->retries && s->tries < TRIES_MAX)
        return connect_next(s);
    return send_error(s, 503, "no server could be reached");
}

/* One step of the server's TLS handshake (under the connect timer); its
 * failure is a connect failure. */
static int server_handshake(struct http_session *s)
{
    struct side_tls *t = s->stls;
    char why[240];
    int st = tls_conn_handshake(&t->c);
    if (st == TLS_CONN_WANT_READ || st == TLS_CONN_WANT_WRITE) {
        t->hs_ev = want_ev(st);
        watchers(s);
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
    return connect_failed(s, why);
}

/* The TCP connect to the server is done: relay, or start its TLS handshake. */
static int tcp_connected(struct http_session *s)
{
    if (s->stls == NULL)
        return connected(s);
    s->stls->handshaking = true;
    return server_handshake(s);
}

/* ST_CONNECT: the connect completed or failed. */
static int connect_check(struct http_session *s)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (getsockopt(s->sfd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
        soerr = errno;
    if (soerr == 0)
        return tcp_connected(s);
    if (soerr != EINPROGRESS && soerr != EINTR)
        return connect_failed(s, strerror(soerr));
    return 0;
}

/* The client's handshake is done or failed. */
static int client_handshake(struct http_session *s)
{
    struct side_tls *t = s->ctls;
    const char *sni;
    int st = tls_conn_handshake(&t->c);
    if (st == TLS_CONN_WANT_READ || st == TLS_CONN_WANT_WRITE) {
        t->hs_ev = want_ev(st);
        watchers(s);
        return 0;
    }
    t->handshaking = false;
    if (st != TLS_CONN_DONE) {
        log_info("%s: TLS handshake with client %s failed: %s", s->frontend,
                 s->client_text, tls_conn_reason(&t->c));
        s->in_request = true; /* one access-log line for the connection */
        end(s, "tls_handshake_failed");
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
    return drive(s);
}

/* Readiness on the fd of a TLS side: redo the handshake, or the read and the
 * writes that wait for these events. */
static void tls_event(struct http_session *s, bool client, int revents)
{
    struct side_tls *t = client ? s->ctls : s->stls;
    if (!client && s->state == ST_CONNECT) {
        if (!t->handshaking)
            connect_check(s);
        else if (t->hs_ev & revents)
            server_handshake(s);
        return;
    }
    if (t->handshaking) {
        if (t->hs_ev & revents)
            client_handshake(s);
        return;
    }
    if (t->want_rd && (t->rd_ev & revents)) {
        int rc = client ? client_read(s) : server_read(s);
        if (rc != 0)
            return; /* ended, or drive() did the writes too */
    }
    if (t->want_wr && (t->wr_ev & revents))
        drive(s);
}

static void on_client_read(struct ev_loop *loop, ev_io *io, int revents)
{
    struct http_session *s = OWNER(io, struct http_session, crd);
    (void)loop;
    (void)revents;
    if (s->ctls != NULL)
        tls_event(s, true, EV_READ);
    else
        client_read(s);
}

static void on_client_write(struct ev_loop *loop, ev_io *io, int revents)
{
    struct http_session *s = OWNER(io, struct http_session, cwr);
    (void)loop;
    (void)revents;
    if (s->ctls != NULL)
        tls_event(s, true, EV_WRITE);
    else
        drive(s);
}

static void on_server_read(struct ev_loop *loop, ev_io *io, int revents)
{
    struct http_session *s = OWNER(io, struct http_session, srd);
    (void)loop;
    (void)revents;
    if (s->stls != NULL)
        tls_event(s, false, EV_READ);
    else
        server_read(s);
}

static void on_server_write(struct ev_loop *loop, ev_io *io, int revents)
{
    struct http_session *s = OWNER(io, struct http_session, swr);
    (void)loop;
    (void)revents;
    if (s->stls != NULL)
        tls_event(s, false, EV_WRITE);
    else if (s->state == ST_CONNECT)
        connect_check(s);
    else
        drive(s);
}

/* Client timer: head deadline, keep-alive idle, client idle, linger, close. */
static void on_client_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct http_session *s = OWNER(t, struct http_session, ctimer);
    ev_tstamp left;
    (void)loop;
    (void)revents;

    switch (s->state) {
    case ST_HEAD:
        if (s->ctls != NULL && s->ctls->handshaking) {
            log_info("%s: TLS handshake with client %s failed: not done after %.0f ms",
                     s->frontend, s->client_text, s->ctimer.repeat * 1000.0);
            s->in_request = true; /* one access-log line for the connection */
            end(s, "tls_handshake_timeout");
            return;
        }
        if (s->up.len == 0 && s->requests > 0) {
            end(s, "keepalive_timeout");
            return;
        }
        send_error(s, 408, "request head timeout");
        return;
    case ST_CONNECT:
    case ST_PROXY:
        left = s->c_active + s->timeout_client_s - ev_now(s->w->loop);
        /* waiting on the server is not the client's idleness */
        if (left > 0.001 || http_pipe_pending(&s->up) || s->state == ST_CONNECT ||
            (s->up_sent && !s->resp_head_done)) {
            ctimer_set(s, left > 0.001 ? left : s->timeout_client_s);
            return;
        }
        end(s, "client_timeout");
        return;
    case ST_TUNNEL:
        /* bytes either way keep it open (c_active moves with both) */
        left = s->c_active + s->timeout_tunnel_s - ev_now(s->w->loop);
        if (left > 0.001) {
            ctimer_set(s, left);
            return;
        }
        end(s, "tunnel_timeout");
        return;
    case ST_CLOSE:
        end(s, "client_timeout");
        return;
    case ST_LINGER:
    case ST_COUNT:
        end(s, "closed");
        return;
    }
}

/* Server timer: connect timeout, then server idle (504 before a response). */
static void on_server_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct http_session *s = OWNER(t, struct http_session, stimer);
    ev_tstamp left;
    (void)loop;
    (void)revents;

    if (s->state == ST_CONNECT) {
        connect_failed(s, s->stls != NULL && s->stls->handshaking ? "TLS handshake timeout"
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
        if (can_retry_other(s)) {
            retry_other(s, "timed out before responding", 504);
            return;
        }
        send_error(s, 504, "server timeout");
        return;
    }
    end(s, "server_timeout");
}

/* ------------------------------------------------------------ connect ---- */

/* Picks a server of `pool` not tried yet for this request; -1 when none. */
static int pick_untried(struct http_session *s, struct route_pool *pool)
{
    return route_pick_untried(pool, s->tried, s->tries, s->key_hash, s->has_key,
                              worker_random(s->w));
}

/* A final response head with `status` arrived and nothing of it went to the
 * client yet: whether to drop it and retry the request elsewhere
 * (retry_on_status, idempotent, retries left, another server usable). */
static bool retry_on_answer(struct http_session *s, unsigned status)
{
    struct route_pool *pool;
    if (status < 500 || !can_retry_other(s))
        return false;
    pool = route_find_pool(worker_route(s->w), s->pool);
    return pool != NULL && route_retry_status(pool, status) && pick_untried(s, pool) >= 0;
}

/* Picks a server not tried yet for this request and starts connecting. */
static int connect_next(struct http_session *s)
{
    struct route_pool *pool = route_find_pool(worker_route(s->w), s->pool);
    const struct route_server *srv;
    int idx, fd, one = 1;

    if (pool == NULL)
        return send_error(s, 503, "pool gone");
    if (s->tries == 0) {
        s->retries = pool->retries;
        s->timeout_connect_s = pool->timeout_connect_ms / 1000.0;
        s->timeout_server_s = pool->timeout_server_ms / 1000.0;
    }
    idx = pick_untried(s, pool);
    if (idx < 0) {
        if (s->tries == 0)
            return send_error(s, 503, "no usable server");
        if (s->retry_status != 0)
            return send_error(s, s->retry_status, "no other server to retry on");
        return send_error(s, 503, "no server could be reached");
    }
    srv = &pool->servers[idx];
    memcpy(s->server, srv->name, sizeof(s->server));
    s->counter = srv->counter;
    atomic_fetch_add_explicit(&s->counter->inflight, 1, memory_order_relaxed);
    s->tried[s->tries++] = srv->counter;
    s->state = ST_CONNECT;
    memcpy(&s->saddr, &srv->addr, sizeof(s->saddr));
    s->saddr_len = srv->addr_len;
    s->send_failed = false;

    if (!s->fresh_only && !s->upgrade && s->w->upstream != NULL) {
        struct tls_conn *tc = NULL;
        struct upstream_key key = {s->pool, s->server, &s->saddr, s->saddr_len,
                                   srv->tls != NULL ? tls_client_ctx(srv->tls) : NULL};
        fd = upstream_pool_take(s->w->upstream, &key, &tc);
        if (fd >= 0) {
            s->sfd = fd;
            s->reused = true;
            if (tc != NULL) {
                s->stls = (struct side_tls *)(void *)tc;
                s->stls->handshaking = false;
                s->stls->rd_ev = EV_READ;
                s->stls->wr_ev = EV_WRITE;
            }
            ev_init(&s->swr, on_server_write);
            ev_init(&s->srd, on_server_read);
            upstream_io_set(&s->swr, fd, EV_WRITE);
            upstream_io_set(&s->srd, fd, EV_READ);
            return connected(s);
        }
    }
    s->reused = false;
    fd = socket(srv->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return connect_failed(s, strerror(errno));
    s->sfd = fd;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (srv->tls != NULL) {
        /* now: the snapshot (and srv->tls) may be gone by the time we connect */
        char why[200];
        struct side_tls *t = calloc(1, sizeof(*t));
        if (t == NULL)
            return connect_failed(s, "out of memory for TLS");
        if (tls_conn_start_client(&t->c, srv->tls, fd, why, sizeof(why)) != 0) {
            free(t);
            return connect_failed(s, why);
        }
        t->rd_ev = EV_READ;
        t->wr_ev = EV_WRITE;
        s->stls = t;
    }
    ev_io_init(&s->swr, on_server_write, fd, EV_WRITE);
    ev_io_init(&s->srd, on_server_read, fd, EV_READ);
    if (connect(fd, (const struct sockaddr *)&srv->addr, srv->addr_len) == 0) {
        if (s->stls != NULL)
            stimer_set(s, s->timeout_connect_s); /* the handshake's deadline */
        return tcp_connected(s);
    }
    if (errno != EINPROGRESS)
        return connect_failed(s, strerror(errno));
    stimer_set(s, s->timeout_connect_s);
    watchers(s);
    return 0;
}

/* -------------------------------------------------------------- start ---- */

static int http_start(struct worker *w, int fd, const struct sockaddr_storage *peer,
                      socklen_t peer_len, const struct route *r,
                      const struct route_frontend *fe)
{
    uint32_t max_head =
        fe->max_header_bytes ? fe->max_header_bytes : DEFAULT_MAX_HEAD_BYTES;
    uint32_t max_headers = fe->max_headers ? fe->max_headers : HTTP_DEFAULT_MAX_HEADERS;
    struct http_session *s = malloc(sizeof(*s));
    int one = 1;
    (void)r;

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
    addr_texts(s, &s->peer);
    memcpy(s->frontend, fe->name, sizeof(s->frontend));
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
    http_limits_default(&s->resp_limits);
    s->resp_limits.max_head_bytes = HTTP_SESSION_MAX_RESPONSE_HEAD_BYTES;
    s->resp_limits.max_headers = RESP_HEADERS_MAX;

    s->req_hdrs = NULL; /* with the client buffer */
    s->req_hdrs_cap = max_headers;
    s->up_full = max_head + HTTP_SESSION_BODY_BUF_BYTES;
    if (s->up_full < HTTP_SESSION_CLIENT_BUF_BYTES)
        s->up_full = HTTP_SESSION_CLIENT_BUF_BYTES;

    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ev_io_init(&s->crd, on_client_read, fd, EV_READ);
    ev_io_init(&s->cwr, on_client_write, fd, EV_WRITE);
    ev_io_init(&s->srd, on_server_read, -1, EV_READ);
    ev_io_init(&s->swr, on_server_write, -1, EV_WRITE);
    ev_init(&s->ctimer, on_client_timer);
    ev_init(&s->stimer, on_server_timer);
    worker_session_add(w, &s->base, &http_session_ops);

    s->state = ST_HEAD;
    http_msg_init_request(&s->req, s->req_hdrs, s->req_hdrs_cap);
    s->c_active = ev_now(w->loop);
    if (fe->tls != NULL) {
        char why[200];
        struct side_tls *t = calloc(1, sizeof(*t));
        if (t == NULL || tls_conn_start_server(&t->c, fe->tls, fd, why, sizeof(why)) != 0) {
            log_error("%s: %s", fe->name, t == NULL ? "out of memory for TLS" : why);
            free(t);
            end(s, "tls_error");
            return -1;
        }
        t->handshaking = true;
        t->hs_ev = EV_READ;
        s->ctls = t;
        s->req_start = s->c_active; /* for a failed handshake's access-log line */
        ctimer_set(s, fe->timeout_tls_handshake_ms / 1000.0);
        return client_handshake(s) == 0 ? 0 : -1;
    }
    ctimer_set(s, head_timeout(s));
    /* the request often came with the connection: read it now, and poll the
     * fd only when it has not */
    switch (client_read(s)) {
    case -1:
        return -1;
    case 0:
        return drive(s) == 0 ? 0 : -1;
    default:
        return 0;
    }
}

static void http_abort(struct session *base, const char *reason)
{
    end((struct http_session *)(void *)base, reason);
}

/* The server this request waits on (connecting, or for the first byte of the
 * answer) is down in the new snapshot `r`: move the request now rather than
 * wait for timeout_connect or timeout_server, when that is safe (see
 * can_retry_other; a connect in progress may always move). */
static void http_route_changed(struct session *base, const struct route *r)
{
    struct http_session *s = (struct http_session *)(void *)base;
    const struct route_pool *pool;
    bool down = false;

    if (s->counter == NULL || (s->state != ST_CONNECT && s->state != ST_PROXY) ||
        s->resp_head_done || s->down.len != 0 || s->bytes_out != 0)
        return;
    pool = route_find_pool(r, s->pool);
    if (pool == NULL)
        return;
    for (size_t i = 0; i < pool->server_count; i++)
        if (pool->servers[i].counter == s->counter) {
            down = pool->servers[i].state == ROUTE_SERVER_DOWN;
            break;
        }
    if (!down)
        return;
    if (s->state == ST_CONNECT) {
        connect_failed(s, "server marked down");
        return;
    }
    if (can_retry_other(s))
        retry_other(s, "marked down while the request waited", 504);
}

const struct session_ops http_session_ops = {
    .name = "http",
    .start = http_start,
    .abort = http_abort,
    .route_changed = http_route_changed,
};
