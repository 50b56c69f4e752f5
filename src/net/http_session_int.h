/*
 * http_session_int: what the files of the HTTP session share (http_session.c,
 * http_session_*.c, http_tunnel.c): the session's struct, its states and
 * constants, the tiny side I/O, timer and health helpers as static inline
 * functions (they sit on the per-request path), and the functions one file
 * calls in another.
 *
 * Must not: be included by anything but those files (it is not installed and
 * its names are not an interface), or grow code that is not tiny and shared.
 */
#ifndef RAFTLB_NET_HTTP_SESSION_INT_H
#define RAFTLB_NET_HTTP_SESSION_INT_H

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "health/health_mailbox.h"
#include "http/http_parser.h"
#include "net/http_pipe.h"
#include "net/http_session.h"
#include "net/route.h"
#include "net/upstream_pool.h"
#include "net/worker.h"
#include "tls/tls_conn.h"

#define TRIES_MAX              32u
#define LINGER_S               1.0
#define DRAIN_FIRST_REQUEST_S  1.0 /* stopping: a new TLS client's first request */
#define RESP_HEADERS_MAX       101u /* as HAProxy (tune.http.maxhdr) */
#define LOG_TARGET_MAX         200u
#define DEFAULT_MAX_HEAD_BYTES (64u * 1024u)
#define ERRBUF_BYTES           512u
#define DOWN_COALESCE_MAX      1024u /* body bytes copied after a response head */
#define BULK_AFTER_READ_BYTES  4096u /* a read this large that fills the server
                                        buffer moves it to a bulk one */

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
 * read or write waits for. want_rd and want_wr: what http_session_watchers()
 * last asked. */
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

    /* frontend settings, copied at start and again between requests after a
     * reload (frontend_apply, follow_reload in http_session.c) */
    uint64_t route_gen; /* of the snapshot they were copied from */
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
    ev_tstamp head_since; /* when the wait for this request's head began */
    bool continue_sent;   /* a 100 (Continue) went to the client for this request */
    ev_tstamp up_sent_at; /* when the request was whole at the server; 0: not yet */
    char method[24];
    char target[LOG_TARGET_MAX + 1];
    uint64_t key_hash;
    bool has_key;

    /* server connection */
    bool connected;
    bool reused;                   /* the server connection came from the worker's pool */
    bool fresh_only;               /* a reused connection failed: connect afresh */
    bool send_failed;              /* a send to the server failed: never pooled */
    bool s_quick;                  /* quick ACKs to the server for this response */
    struct sockaddr_storage saddr; /* the server's address (pool key) */
    socklen_t saddr_len;
    uint32_t up_head_bytes; /* length of the rewritten head in up.head */
    struct route_counter *counter;
    struct route_counter *tried[TRIES_MAX];
    uint16_t retry_status; /* answer when a retry finds no other server (0: 503) */
    uint32_t tries, retries;
    bool retry_on_timeout; /* the pool's, copied with its timeouts */
    ev_tstamp timeout_connect_s, timeout_server_s, timeout_server_idle_s;
    char server[CONF_NAME_MAX];
    struct upstream_waiter waiter; /* its place in the worker's upstream_pool */
    bool waiting;                  /* ST_CONNECT: for a connection, until wait_until */
    ev_tstamp wait_until;
    ev_tstamp wait_since;          /* when the request began to wait */
    /* ST_CONNECT, no server yet: in the worker's queue (every usable server of
     * the pool at its maxconn) until one frees up or timeout_queue passes */
    struct sq_waiter sq;
    bool picked;       /* this request had a server picked already (a re-pick
                          after a keep-alive race does not queue behind others) */
    ev_tstamp queued_since;
    ev_tstamp queue_s; /* this request's time in the queue (all its waits), for
                          the access log */

};

/* The rewritten request head is built in the worker's scratch buffer of
 * XBUF_STD_UP_HEAD bytes, or of max_header_bytes + 1 KiB when it does not fit. */
#define XBUF_STD_UP_HEAD   (2u * 1024u)

/* ------------------------------------------------------ inline helpers ---- */

static inline uint8_t want_ev(ssize_t st)
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

static inline const char *side_error(const struct side_tls *t)
{
    return t != NULL ? tls_conn_reason(&t->c) : strerror(errno);
}

/* The request-head deadline: timeout_http_request, else timeout_client. */
static inline ev_tstamp head_timeout(const struct http_session *s)
{
    return s->timeout_request_s > 0 ? s->timeout_request_s : s->timeout_client_s;
}

static inline void ctimer_set(struct http_session *s, ev_tstamp after_s)
{
    s->ctimer.repeat = after_s > 0 ? after_s : 0;
    if (after_s > 0)
        ev_timer_again(s->w->loop, &s->ctimer);
    else
        ev_timer_stop(s->w->loop, &s->ctimer);
}

static inline void stimer_set(struct http_session *s, ev_tstamp after_s)
{
    s->s_active = ev_now(s->w->loop);
    s->stimer.repeat = after_s > 0 ? after_s : 0;
    if (after_s > 0)
        ev_timer_again(s->w->loop, &s->stimer);
    else
        ev_timer_stop(s->w->loop, &s->stimer);
}

/* Tells passive health checks what happened to the request on this server. */
static inline void report(struct http_session *s, enum health_req_outcome o)
{
    health_mailbox_post(s->w->shared->health, s->counter, o);
}

/* Picks a server of `pool` not tried yet for this request; -1 when none. */
static inline int pick_untried(struct http_session *s, struct route_pool *pool)
{
    return route_pick_untried(pool, s->tried, s->tries, s->key_hash, s->has_key,
                              worker_random(s->w));
}

/* ---------------------------------------------- across the files ---- */

/* http_session.c: the state machine. http_session_end() frees the session; the
 * int functions return -1 when the session ended (the caller must not touch it
 * again), else 0. */
void http_session_end(struct http_session *s, const char *how);
void http_session_release_server(struct http_session *s);
/* Takes a queued request out of the worker's queue (nothing when not queued). */
void http_session_queue_leave(struct http_session *s);
int http_session_send_error(struct http_session *s, unsigned status, const char *why);
int http_session_drive(struct http_session *s);
void http_session_watchers(struct http_session *s);
int http_session_client_read(struct http_session *s);
int http_session_server_read(struct http_session *s);
void http_session_on_server_read(struct ev_loop *loop, ev_io *io, int revents);
void http_session_on_server_write(struct ev_loop *loop, ev_io *io, int revents);

/* http_session_bufs.c: the buffers (contracts there). */
int http_session_response_bufs_get(struct http_session *s);
int http_session_xbuf_grow(struct http_session *s);
/* Moves the server-side block to a bulk one (a large body is coming), keeping
 * what it holds; 0, or -1 (out of memory, or moved already: go on as is). */
int http_session_xbuf_bulk(struct http_session *s);
void http_session_request_bufs_put(struct http_session *s);
char *http_session_head_scratch(struct http_session *s, uint32_t need);
int http_session_client_buf_get(struct http_session *s);
int http_session_client_buf_grow(struct http_session *s);
void http_session_client_buf_put(struct http_session *s, bool force);

/* http_session_connect.c: connecting to a server, and parking its connection
 * in the worker's pool after a response (contracts there). */
void http_session_release_server_after_response(struct http_session *s);
int http_session_connect_next(struct http_session *s);
int http_session_connect_failed(struct http_session *s, const char *why);
int http_session_connect_resume(struct http_session *s);
int http_session_queue_timeout(struct http_session *s);
int http_session_server_handshake(struct http_session *s);
int http_session_connect_check(struct http_session *s);

/* http_session_key.c: the balancing key of a parsed request. */
void http_session_request_key(struct http_session *s);

/* http_session_retry.c: retrying a request (contracts there). */
bool http_session_can_retry_fresh(const struct http_session *s);
bool http_session_can_retry_other(const struct http_session *s);
int http_session_retry_other(struct http_session *s, const char *why, unsigned status);
int http_session_retry_fresh(struct http_session *s);
bool http_session_retry_on_answer(struct http_session *s, unsigned status);
/* A new request for the access log and retries: its fields start empty, timed
 * from `start`. */
void http_session_request_begin(struct http_session *s, ev_tstamp start);
void http_session_route_changed(struct session *base, const struct route *r);

/* http_session_timers.c: the timer callbacks. */
void http_session_on_client_timer(struct ev_loop *loop, ev_timer *t, int revents);
void http_session_on_server_timer(struct ev_loop *loop, ev_timer *t, int revents);

/* http_session_log.c: the access log. */
void http_session_addr_texts(struct http_session *s, const struct sockaddr_storage *ss);
void http_session_copy_printable(char *out, size_t cap, const char *in, size_t len);
void http_session_log_request(struct http_session *s, const char *how);

/* http_session_tls.c: a TLS side's events (contracts there). */
int http_session_client_handshake(struct http_session *s);
void http_session_tls_event(struct http_session *s, bool client, int revents);

/* http_tunnel.c: the WebSocket tunnel (contracts there). */
int http_tunnel_start(struct http_session *s);
int http_tunnel_drive(struct http_session *s);

#endif
