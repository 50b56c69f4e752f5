/*
 * tcp_session: see tcp_session.h.
 *
 * Life of a session: start() (reads what came with the connection) ->
 * connect_next() (pick a server, non-blocking connect, connect timer; up to one
 * buffer of client bytes is read meanwhile and held) -> on failure
 * connect_failed() tries the next server -> connected (the first send of held
 * bytes, or getsockopt when none are held, tells): both directions pump until
 * both are shut -> end() writes the access-log line and frees everything.
 * Every function that may end the session returns -1 after end() and the
 * caller must not touch the session again.
 *
 * TLS (a frontend with tls_cert, a server with tls): a side with TLS gets a
 * tls_conn and its two watchers call tls_event(), which redoes whatever waits on
 * that fd (handshake, read, write or close_notify) in the direction OpenSSL asked
 * for (a read may wait for EV_WRITE and a write for EV_READ). The client's
 * handshake runs first, under timeout_tls_handshake, and only then is a server
 * picked; a server's handshake runs after its TCP connect, under the same connect
 * timer. A side without TLS keeps the plain recv/send path and its watchers.
 */
#include "config.h"

#include "net/tcp_session.h"

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
#include "lb/lb.h"
#include "net/route.h"
#include "net/worker.h"
#include "tls/tls_conn.h"
#include "util/log.h"

#define TRIES_MAX 32u          /* connection attempts per session, at most */
#ifdef __SANITIZE_ADDRESS__
#define SESSION_CACHE_KEEP 0u  /* a session used after end() stays detectable */
#else
#define SESSION_CACHE_KEEP 64u /* free session blocks kept per worker */
#endif

#define OWNER(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

enum side {
    SIDE_CLIENT = 0,
    SIDE_SERVER,
    SIDE_COUNT
};

/* One direction: bytes read from `src` are written to the other side. */
struct dir {
    enum side src;
    char *buf;
    uint32_t pos, len; /* unsent bytes are buf[pos..len) */
    bool eof;          /* the source sent FIN */
    bool shut;         /* FIN passed on to the destination */
    uint64_t bytes;
};

/* The TLS state of one side. Each *_ev is 0, EV_READ or EV_WRITE: what the
 * pending operation of that kind waits for. */
struct tls_side {
    struct tls_conn c;
    bool handshaking;
    uint8_t hs_ev; /* handshake */
    uint8_t rd_ev; /* reading application data from this side */
    uint8_t wr_ev; /* writing to this side (data or close_notify) */
};

struct tcp_session {
    struct session base;
    struct worker *w;
    int fd[SIDE_COUNT];
    ev_io rd[SIDE_COUNT];
    ev_io wr[SIDE_COUNT];
    ev_timer idle[SIDE_COUNT];
    ev_tstamp idle_s[SIDE_COUNT];  /* idle timeouts; 0: none */
    ev_tstamp active[SIDE_COUNT];  /* loop time of the last transfer on a side */
    struct dir up;   /* client -> server */
    struct dir down; /* server -> client */
    bool connected;  /* to the server, TLS handshake included */
    bool tls_on[SIDE_COUNT];
    struct tls_side tls[SIDE_COUNT];
    struct route_counter *counter; /* in-flight counter held, or NULL */
    struct route_counter *tried[TRIES_MAX];
    uint32_t tries;
    uint32_t retries;
    ev_tstamp timeout_connect_s;
    ev_tstamp timeout_server_s;
    ev_tstamp timeout_client_s;
    uint64_t key_hash;
    bool has_key;
    const char *connect_error; /* why the last attempt failed */
    /* no server yet: in the worker's queue (every usable server of the pool at
     * its maxconn) until one frees up or timeout_queue passes */
    struct sq_waiter sq;
    ev_tstamp queued_since;
    ev_tstamp queue_s; /* time spent in the queue, for the access log */
    ev_tstamp start;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    char frontend[CONF_NAME_MAX];
    char pool[CONF_NAME_MAX];
    char server[CONF_NAME_MAX];
    char server_addr[sizeof(((struct conf_addr *)0)->text)];
    char tls_version[16]; /* client side, for the access log; "" when plain */
    char tls_sni[256];
    char tls_error[200];  /* why the server's handshake failed (connect_error) */
    char bufs[];
};

static int connect_next(struct tcp_session *s);
static void tls_event(struct tcp_session *s, enum side side, int revents);

static const char *side_name[SIDE_COUNT] = {"client", "server"};

/* The worker's free session blocks (session and both buffers). With a
 * connection per request, malloc and free of these 33 KiB blocks made glibc
 * give memory back to the kernel and fault it in again (madvise). */
static struct buf_cache *session_cache(struct worker *w)
{
    if (w->tcp_sessions.size == 0)
        buf_cache_init(&w->tcp_sessions,
                       sizeof(struct tcp_session) + 2 * TCP_SESSION_BUF_BYTES,
                       SESSION_CACHE_KEEP);
    return &w->tcp_sessions;
}

static void peer_text(const struct sockaddr_storage *ss, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
        port = ntohs(a->sin_port);
        snprintf(out, len, "%s:%u", ip, port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
        port = ntohs(a->sin6_port);
        snprintf(out, len, "[%s]:%u", ip, port);
    } else {
        snprintf(out, len, "unix");
    }
}

static void queue_leave(struct tcp_session *s)
{
    if (!s->sq.queued)
        return;
    worker_queue_leave(s->w, &s->sq);
    s->queue_s = ev_now(s->w->loop) - s->queued_since;
    ev_timer_stop(s->w->loop, &s->idle[SIDE_SERVER]);
}

static void release_server(struct tcp_session *s)
{
    queue_leave(s);
    ev_io_stop(s->w->loop, &s->rd[SIDE_SERVER]);
    ev_io_stop(s->w->loop, &s->wr[SIDE_SERVER]);
    ev_timer_stop(s->w->loop, &s->idle[SIDE_SERVER]);
    if (s->tls_on[SIDE_SERVER]) {
        tls_conn_free(&s->tls[SIDE_SERVER].c);
        memset(&s->tls[SIDE_SERVER], 0, sizeof(s->tls[SIDE_SERVER]));
        s->tls_on[SIDE_SERVER] = false;
    }
    if (s->fd[SIDE_SERVER] >= 0) {
        worker_close_later(s->w, s->fd[SIDE_SERVER]); /* a retry's socket may follow */
        s->fd[SIDE_SERVER] = -1;
    }
    if (s->counter != NULL) {
        atomic_fetch_sub_explicit(&s->counter->inflight, 1, memory_order_relaxed);
        s->counter = NULL;
        worker_queue_kick(s->w); /* a connection may wait for this slot */
    }
}

/* Ends the session with `how` (the access log's end=) and frees it. */
static void end(struct tcp_session *s, const char *how)
{
    struct worker *w = s->w;
    if (log_access_enabled()) {
        char client[INET6_ADDRSTRLEN + 8];
        double queue_ms =
            (s->sq.queued ? ev_now(w->loop) - s->queued_since : s->queue_s) * 1000.0;
        peer_text(&s->peer, client, sizeof(client));
        if (!s->tls_on[SIDE_CLIENT])
            log_access("tcp client=%s frontend=%s pool=%s server=%s addr=%s tries=%u "
                       "bytes_in=%llu bytes_out=%llu duration_ms=%.0f queue_ms=%.0f end=%s",
                       client, s->frontend, s->pool, s->server[0] ? s->server : "-",
                       s->server_addr[0] ? s->server_addr : "-", s->tries,
                       (unsigned long long)s->up.bytes, (unsigned long long)s->down.bytes,
                       (ev_now(w->loop) - s->start) * 1000.0, queue_ms, how);
        else
            log_access("tcp client=%s frontend=%s pool=%s server=%s addr=%s tries=%u "
                       "bytes_in=%llu bytes_out=%llu duration_ms=%.0f queue_ms=%.0f end=%s tls=%s "
                       "sni=%s",
                       client, s->frontend, s->pool, s->server[0] ? s->server : "-",
                       s->server_addr[0] ? s->server_addr : "-", s->tries,
                       (unsigned long long)s->up.bytes, (unsigned long long)s->down.bytes,
                       (ev_now(w->loop) - s->start) * 1000.0, queue_ms, how,
                       s->tls_version[0] ? s->tls_version : "-",
                       s->tls_sni[0] ? s->tls_sni : "-");
    }
    release_server(s);
    ev_io_stop(w->loop, &s->rd[SIDE_CLIENT]);
    ev_io_stop(w->loop, &s->wr[SIDE_CLIENT]);
    ev_timer_stop(w->loop, &s->idle[SIDE_CLIENT]);
    if (s->tls_on[SIDE_CLIENT])
        tls_conn_free(&s->tls[SIDE_CLIENT].c);
    worker_close_later(w, s->fd[SIDE_CLIENT]);
    worker_session_remove(w, &s->base);
    buf_cache_put(session_cache(w), s);
}

/* Records activity on `side`. The idle timers are not moved on every transfer
 * (libev's "be smart about timeouts", technique 3): when one fires, it is
 * re-armed with ev_timer_again for the time left since the last activity. */
static void touch(struct tcp_session *s, enum side side)
{
    s->active[side] = ev_now(s->w->loop);
}

/* Starts (or restarts) the idle timer of `side` for `timeout_s` seconds. */
static void idle_start(struct tcp_session *s, enum side side, ev_tstamp timeout_s)
{
    s->idle_s[side] = timeout_s;
    s->active[side] = ev_now(s->w->loop);
    s->idle[side].repeat = timeout_s;
    if (timeout_s > 0)
        ev_timer_again(s->w->loop, &s->idle[side]);
    else
        ev_timer_stop(s->w->loop, &s->idle[side]);
}

/* True when `side` has really been idle for its timeout; else re-arms the timer. */
static bool idle_expired(struct tcp_session *s, enum side side)
{
    ev_tstamp left = s->active[side] + s->idle_s[side] - ev_now(s->w->loop);
    if (left > 0.001) {
        s->idle[side].repeat = left;
        ev_timer_again(s->w->loop, &s->idle[side]);
        return false;
    }
    return true;
}

static const char *error_end(enum side side, int e)
{
    (void)e;
    return side == SIDE_CLIENT ? "client_error" : "server_error";
}

/* Arms the watchers of TLS side `side` for what its pending operations wait for. */
static void tls_arm(struct tcp_session *s, enum side side)
{
    const struct tls_side *t = &s->tls[side];
    unsigned ev = (unsigned)t->hs_ev | t->rd_ev | t->wr_ev;
    if (ev & EV_READ)
        ev_io_start(s->w->loop, &s->rd[side]);
    else
        ev_io_stop(s->w->loop, &s->rd[side]);
    if (ev & EV_WRITE)
        ev_io_start(s->w->loop, &s->wr[side]);
    else
        ev_io_stop(s->w->loop, &s->wr[side]);
}

/* Whether to read from `side` (plain: its read watcher, nothing else). On a TLS
 * side a read already waiting for EV_WRITE keeps waiting for it, and bytes
 * OpenSSL holds already are read on the next loop iteration (no fd event would
 * come for them). */
static void src_wait(struct tcp_session *s, enum side side, bool on)
{
    struct tls_side *t;
    if (!s->tls_on[side]) {
        if (on)
            ev_io_start(s->w->loop, &s->rd[side]);
        else
            ev_io_stop(s->w->loop, &s->rd[side]);
        return;
    }
    t = &s->tls[side];
    if (!on)
        t->rd_ev = 0;
    else if (t->rd_ev == 0)
        t->rd_ev = EV_READ;
    tls_arm(s, side);
    if (on && t->rd_ev == EV_READ && tls_conn_pending(&t->c))
        ev_feed_event(s->w->loop, &s->rd[side], EV_READ);
}

/* Whether to write to `side` (plain: its write watcher). */
static void dst_wait(struct tcp_session *s, enum side side, bool on)
{
    struct tls_side *t;
    if (!s->tls_on[side]) {
        if (on)
            ev_io_start(s->w->loop, &s->wr[side]);
        else
            ev_io_stop(s->w->loop, &s->wr[side]);
        return;
    }
    t = &s->tls[side];
    if (!on)
        t->wr_ev = 0;
    else if (t->wr_ev == 0)
        t->wr_ev = EV_WRITE;
    tls_arm(s, side);
}

static uint8_t want_ev(ssize_t st)
{
    return st == TLS_CONN_WANT_READ ? EV_READ : EV_WRITE;
}

/* Writes what `d` holds to its destination; passes FIN on once it is empty. */
static int dir_flush(struct tcp_session *s, struct dir *d)
{
    enum side src = d->src;
    enum side dst = src == SIDE_CLIENT ? SIDE_SERVER : SIDE_CLIENT;
    struct dir *other = d == &s->up ? &s->down : &s->up;
    bool wrote = false;

    if (!s->connected) {
        /* the client spoke first: hold its bytes until the server is connected.
         * A plain client's read watcher stays on: a client that waits for its
         * answer gives no event meanwhile, where stopping the watcher and
         * starting it again makes libev re-add the fd (epoll_ctl failing with
         * EEXIST); on_client_read stops it if the client sends more. */
        if (s->tls_on[src])
            src_wait(s, src, false);
        return 0;
    }

    while (d->pos < d->len) {
        ssize_t n;
        if (s->tls_on[dst]) {
            n = tls_conn_write(&s->tls[dst].c, d->buf + d->pos, d->len - d->pos);
            if (n > 0) {
                d->pos += (uint32_t)n;
                wrote = true;
                continue;
            }
            if (n == TLS_CONN_WANT_READ || n == TLS_CONN_WANT_WRITE) {
                s->tls[dst].wr_ev = want_ev(n);
                break;
            }
            log_debug("%s: TLS write to %s: %s", s->frontend, side_name[dst],
                      tls_conn_reason(&s->tls[dst].c));
            end(s, error_end(dst, 0));
            return -1;
        }
        n = send(s->fd[dst], d->buf + d->pos, d->len - d->pos, MSG_NOSIGNAL);
        if (n > 0) {
            d->pos += (uint32_t)n;
            wrote = true;
            continue;
        }
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        log_debug("%s: send to %s: %s", s->frontend, side_name[dst], strerror(errno));
        end(s, error_end(dst, errno));
        return -1;
    }
    if (wrote)
        touch(s, dst);
    if (d->pos < d->len) {
        /* back-pressure: stop reading until the destination takes the rest */
        src_wait(s, src, false);
        dst_wait(s, dst, true);
        return 0;
    }
    d->pos = d->len = 0;
    if (!d->eof) {
        dst_wait(s, dst, false);
        src_wait(s, src, true);
        return 0;
    }
    if (!d->shut) {
        if (s->tls_on[dst]) {
            /* a close_notify first; shutdown() then ends the TCP stream too */
            int st = tls_conn_shutdown(&s->tls[dst].c);
            if (st == TLS_CONN_WANT_READ || st == TLS_CONN_WANT_WRITE) {
                s->tls[dst].wr_ev = want_ev(st);
                dst_wait(s, dst, true);
                return 0;
            }
        }
        dst_wait(s, dst, false);
        d->shut = true;
        /* ENOTCONN after a reset is fine: the other direction will see it.
         * With the other direction shut too, the session ends here and the
         * close() in end() sends the FIN: the destination's EOF was read, so
         * nothing unread can turn that close into a reset (one system call
         * fewer per connection). */
        if (!other->shut)
            shutdown(s->fd[dst], SHUT_WR);
    }
    if (other->shut) {
        end(s, "done");
        return -1;
    }
    return 0;
}

/* One read from a TLS side: a close_notify or a bare EOF is the side's FIN. */
static int dir_read_tls(struct tcp_session *s, struct dir *d)
{
    enum side src = d->src;
    struct tls_side *t = &s->tls[src];
    ssize_t n = tls_conn_read(&t->c, d->buf, TCP_SESSION_BUF_BYTES);
    if (n > 0) {
        d->len = (uint32_t)n;
        d->pos = 0;
        d->bytes += (uint64_t)n;
        t->rd_ev = EV_READ;
        touch(s, src);
        return dir_flush(s, d);
    }
    if (n == TLS_CONN_WANT_READ || n == TLS_CONN_WANT_WRITE) {
        t->rd_ev = want_ev(n);
        tls_arm(s, src);
        return 0;
    }
    if (n == TLS_CONN_CLOSED) {
        if (!tls_conn_clean_close(&t->c))
            log_debug("%s: %s closed without close_notify", s->frontend, side_name[src]);
        d->eof = true;
        t->rd_ev = 0;
        tls_arm(s, src);
        return dir_flush(s, d);
    }
    log_debug("%s: TLS read from %s: %s", s->frontend, side_name[src],
              tls_conn_reason(&t->c));
    end(s, error_end(src, 0));
    return -1;
}

static int dir_read(struct tcp_session *s, struct dir *d)
{
    enum side src = d->src;
    ssize_t n;
    if (s->tls_on[src])
        return dir_read_tls(s, d);
    n = recv(s->fd[src], d->buf, TCP_SESSION_BUF_BYTES, 0);
    if (n > 0) {
        d->len = (uint32_t)n;
        d->pos = 0;
        d->bytes += (uint64_t)n;
        touch(s, src);
        return dir_flush(s, d);
    }
    if (n == 0) {
        d->eof = true;
        ev_io_stop(s->w->loop, &s->rd[src]);
        return dir_flush(s, d);
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return 0;
    log_debug("%s: recv from %s: %s", s->frontend, side_name[src], strerror(errno));
    end(s, error_end(src, errno));
    return -1;
}

static void on_client_read(struct ev_loop *loop, ev_io *io, int revents)
{
    struct tcp_session *s = OWNER(io, struct tcp_session, rd[SIDE_CLIENT]);
    (void)revents;
    if (!s->connected && (s->up.len > 0 || s->up.eof)) {
        /* more from a client whose first bytes are held: wait for the server */
        ev_io_stop(loop, io);
        return;
    }
    dir_read(s, &s->up);
}

static void on_server_read(struct ev_loop *loop, ev_io *io, int revents)
{
    struct tcp_session *s = OWNER(io, struct tcp_session, rd[SIDE_SERVER]);
    (void)loop;
    (void)revents;
    dir_read(s, &s->down);
}

static void on_client_write(struct ev_loop *loop, ev_io *io, int revents)
{
    struct tcp_session *s = OWNER(io, struct tcp_session, wr[SIDE_CLIENT]);
    (void)loop;
    (void)revents;
    dir_flush(s, &s->down);
}

/* The server is reachable (TLS handshake done, if any): relay both ways. */
static int relay_start(struct tcp_session *s)
{
    s->connected = true;
    health_mailbox_post(s->w->shared->health, s->counter, HEALTH_REQ_OK);
    idle_start(s, SIDE_SERVER, s->timeout_server_s);
    src_wait(s, SIDE_SERVER, true);
    /* what the client sent while we were connecting goes out now */
    if (s->up.len > 0 || s->up.eof)
        return dir_flush(s, &s->up);
    src_wait(s, SIDE_CLIENT, true);
    return 0;
}

static void on_tls_server_rd(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    tls_event(OWNER(io, struct tcp_session, rd[SIDE_SERVER]), SIDE_SERVER, revents);
}

static void on_tls_server_wr(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    tls_event(OWNER(io, struct tcp_session, wr[SIDE_SERVER]), SIDE_SERVER, revents);
}

static int handshake_step(struct tcp_session *s, enum side side);

/* The TCP connection to the server is up. */
static int connected(struct tcp_session *s)
{
    struct ev_loop *loop = s->w->loop;
    ev_io_stop(loop, &s->wr[SIDE_SERVER]);
    if (s->tls_on[SIDE_SERVER]) {
        /* the handshake runs under the connect timer (connect() may not have
         * armed it when it succeeded at once) */
        ev_io_init(&s->rd[SIDE_SERVER], on_tls_server_rd, s->fd[SIDE_SERVER], EV_READ);
        ev_io_init(&s->wr[SIDE_SERVER], on_tls_server_wr, s->fd[SIDE_SERVER], EV_WRITE);
        if (!ev_is_active(&s->idle[SIDE_SERVER]))
            idle_start(s, SIDE_SERVER, s->timeout_connect_s);
        s->tls[SIDE_SERVER].handshaking = true;
        return handshake_step(s, SIDE_SERVER);
    }
    ev_io_init(&s->rd[SIDE_SERVER], on_server_read, s->fd[SIDE_SERVER], EV_READ);
    return relay_start(s);
}

/* The attempt on the current server failed: try the next one, or give up. */
static int connect_failed(struct tcp_session *s, const char *why)
{
    log_info("%s: connect to %s (%s) failed: %s", s->frontend, s->server, s->server_addr,
             why);
    s->connect_error = why;
    health_mailbox_post(s->w->shared->health, s->counter, HEALTH_REQ_CONNECT_FAIL);
    release_server(s);
    if (s->tries <= s->retries && s->tries < TRIES_MAX)
        return connect_next(s);
    end(s, "connect_failed");
    return -1;
}

/* The client's handshake is done: note what it chose, then find a server. */
static int client_tls_ready(struct tcp_session *s)
{
    const struct tls_conn *c = &s->tls[SIDE_CLIENT].c;
    const char *sni = tls_conn_sni(c);
    snprintf(s->tls_version, sizeof(s->tls_version), "%s", tls_conn_version(c));
    if (sni != NULL)
        snprintf(s->tls_sni, sizeof(s->tls_sni), "%s", sni);
    idle_start(s, SIDE_CLIENT, s->timeout_client_s);
    return connect_next(s);
}

/* One step of `side`'s handshake; on success goes on to the next stage. */
static int handshake_step(struct tcp_session *s, enum side side)
{
    struct tls_side *t = &s->tls[side];
    int st = tls_conn_handshake(&t->c);
    if (st == TLS_CONN_WANT_READ || st == TLS_CONN_WANT_WRITE) {
        t->hs_ev = want_ev(st);
        tls_arm(s, side);
        return 0;
    }
    t->handshaking = false;
    t->hs_ev = 0;
    tls_arm(s, side);
    if (st == TLS_CONN_DONE)
        return side == SIDE_CLIENT ? client_tls_ready(s) : relay_start(s);
    if (side == SIDE_CLIENT) {
        char client[INET6_ADDRSTRLEN + 8];
        peer_text(&s->peer, client, sizeof(client));
        log_info("%s: TLS handshake with client %s failed: %s", s->frontend, client,
                 tls_conn_reason(&t->c));
        end(s, "tls_handshake_failed");
        return -1;
    }
    snprintf(s->tls_error, sizeof(s->tls_error), "TLS handshake: %s",
             tls_conn_reason(&t->c));
    return connect_failed(s, s->tls_error);
}

/* Readiness on a TLS side: redo what waits for it. */
static void tls_event(struct tcp_session *s, enum side side, int revents)
{
    struct tls_side *t = &s->tls[side];
    struct dir *in = side == SIDE_CLIENT ? &s->up : &s->down;
    struct dir *out = side == SIDE_CLIENT ? &s->down : &s->up;
    if (t->handshaking) {
        if (t->hs_ev & revents)
            handshake_step(s, side);
        return;
    }
    if ((t->wr_ev & revents) && dir_flush(s, out) != 0)
        return;
    if (t->rd_ev & revents)
        dir_read(s, in);
}

static void on_tls_client_rd(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    tls_event(OWNER(io, struct tcp_session, rd[SIDE_CLIENT]), SIDE_CLIENT, revents);
}

static void on_tls_client_wr(struct ev_loop *loop, ev_io *io, int revents)
{
    (void)loop;
    tls_event(OWNER(io, struct tcp_session, wr[SIDE_CLIENT]), SIDE_CLIENT, revents);
}

static void on_server_write(struct ev_loop *loop, ev_io *io, int revents)
{
    struct tcp_session *s = OWNER(io, struct tcp_session, wr[SIDE_SERVER]);
    (void)loop;
    (void)revents;
    if (!s->connected) {
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        if (!s->tls_on[SIDE_SERVER] && s->up.pos < s->up.len) {
            /* the client spoke first: the first send tells how the connect
             * went, as getsockopt(SO_ERROR) would, one system call fewer */
            ssize_t n = send(s->fd[SIDE_SERVER], s->up.buf + s->up.pos,
                             s->up.len - s->up.pos, MSG_NOSIGNAL);
            if (n >= 0) {
                s->up.pos += (uint32_t)n;
                connected(s);
                return;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return; /* still connecting */
            /* send reports the socket's pending error (refused, reset,
             * unreachable...) and clears it, as SO_ERROR would */
            if (errno != EPIPE) {
                connect_failed(s, strerror(errno));
                return;
            }
            /* no pending error, yet not writable: where SO_ERROR said 0, and
             * the relay then failed (end=server_error, no retry) */
            connected(s);
            return;
        }
        if (getsockopt(s->fd[SIDE_SERVER], SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
            soerr = errno;
        if (soerr == 0) {
            connected(s);
            return;
        }
        if (soerr == EINPROGRESS || soerr == EINTR)
            return;
        connect_failed(s, strerror(soerr));
        return;
    }
    dir_flush(s, &s->up);
}

static void on_client_idle(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct tcp_session *s = OWNER(t, struct tcp_session, idle[SIDE_CLIENT]);
    (void)loop;
    (void)revents;
    if (s->tls[SIDE_CLIENT].handshaking) {
        char client[INET6_ADDRSTRLEN + 8];
        peer_text(&s->peer, client, sizeof(client));
        log_info("%s: TLS handshake with client %s failed: not done after %.0f ms",
                 s->frontend, client, s->idle_s[SIDE_CLIENT] * 1000.0);
        end(s, "tls_handshake_timeout");
    } else if (s->sq.queued) {
        /* waiting for a server is not the client's idleness */
        idle_start(s, SIDE_CLIENT, s->timeout_client_s);
    } else if (idle_expired(s, SIDE_CLIENT)) {
        end(s, "client_timeout");
    }
}

static void on_server_idle(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct tcp_session *s = OWNER(t, struct tcp_session, idle[SIDE_SERVER]);
    (void)loop;
    (void)revents;
    if (s->sq.queued) {
        queue_leave(s);
        end(s, "queue_timeout");
    } else if (!s->connected)
        connect_failed(s, s->tls[SIDE_SERVER].handshaking ? "TLS handshake timeout"
                                                          : "connect timeout");
    else if (idle_expired(s, SIDE_SERVER))
        end(s, "server_timeout");
}

static int connect_to(struct tcp_session *s, const struct route_pool *pool, int idx);

/* The worker's queue asks a waiting connection to pick again. */
static enum sq_try on_queue_try(struct sq_waiter *q)
{
    struct tcp_session *s = OWNER(q, struct tcp_session, sq);
    struct route_pool *pool = route_find_pool(worker_route(s->w), s->pool);
    int idx = pool != NULL ? route_pick_untried(pool, s->tried, s->tries, s->key_hash,
                                                s->has_key, worker_random(s->w))
                           : -1;
    if (idx == ROUTE_PICK_FULL)
        return SQ_FULL;
    queue_leave(s);
    if (idx < 0) {
        end(s, "no_server");
        return SQ_LEFT;
    }
    /* the client's idleness counts from here, not from the queue's last re-arm */
    idle_start(s, SIDE_CLIENT, s->timeout_client_s);
    connect_to(s, pool, idx);
    return SQ_LEFT;
}

/* Every usable server of the pool is at its maxconn (or older connections of
 * the pool wait already): wait in the worker's queue, oldest first, for up to
 * timeout_queue, reading the client meanwhile (one buffer at most). */
static int queue_wait(struct tcp_session *s, const struct route_pool *pool)
{
    s->sq.pool = s->pool;
    s->sq.pool_counter = pool->counter;
    s->sq.try_pick = on_queue_try;
    s->queued_since = ev_now(s->w->loop);
    worker_queue_push(s->w, &s->sq);
    idle_start(s, SIDE_SERVER, pool->timeout_queue_ms / 1000.0);
    if (s->up.len == 0 && !s->up.eof)
        src_wait(s, SIDE_CLIENT, true);
    return 0;
}

/* Picks a server not tried yet and starts connecting to it. */
static int connect_next(struct tcp_session *s)
{
    struct route *r = worker_route(s->w);
    struct route_pool *pool = route_find_pool(r, s->pool);
    int idx;

    if (pool == NULL) {
        end(s, "no_server");
        return -1;
    }
    if (s->tries == 0) {
        s->retries = pool->retries;
        s->timeout_connect_s = pool->timeout_connect_ms / 1000.0;
        s->timeout_server_s = pool->timeout_server_ms / 1000.0;
        /* no connection passes an older one waiting for the same pool */
        if (pool->timeout_queue_ms > 0 && route_pool_queued(pool))
            return queue_wait(s, pool);
    }
    idx = route_pick_untried(pool, s->tried, s->tries, s->key_hash, s->has_key,
                             worker_random(s->w));
    if (idx == ROUTE_PICK_FULL && s->tries == 0 && pool->timeout_queue_ms > 0)
        return queue_wait(s, pool);
    if (idx < 0) {
        end(s, s->tries == 0 ? "no_server" : "connect_failed");
        return -1;
    }
    return connect_to(s, pool, idx);
}

/* Starts connecting to server `idx` of `pool`. */
static int connect_to(struct tcp_session *s, const struct route_pool *pool, int idx)
{
    struct ev_loop *loop = s->w->loop;
    const struct route_server *srv = &pool->servers[idx];
    int fd, one = 1;

    memcpy(s->server, srv->name, sizeof(s->server));
    memcpy(s->server_addr, srv->addr_text, sizeof(s->server_addr));
    s->counter = srv->counter;
    atomic_fetch_add_explicit(&s->counter->inflight, 1, memory_order_relaxed);
    s->tried[s->tries++] = srv->counter;

    fd = socket(srv->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return connect_failed(s, strerror(errno));
    s->fd[SIDE_SERVER] = fd;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (srv->tls != NULL) {
        /* now: the snapshot (and srv->tls) may be gone by the time we connect */
        if (tls_conn_start_client(&s->tls[SIDE_SERVER].c, srv->tls, fd, s->tls_error,
                                  sizeof(s->tls_error)) != 0)
            return connect_failed(s, s->tls_error);
        s->tls_on[SIDE_SERVER] = true;
    }
    ev_io_init(&s->wr[SIDE_SERVER], on_server_write, fd, EV_WRITE);
    if (connect(fd, (const struct sockaddr *)&srv->addr, srv->addr_len) == 0)
        return connected(s);
    if (errno != EINPROGRESS)
        return connect_failed(s, strerror(errno));
    ev_io_start(loop, &s->wr[SIDE_SERVER]);
    idle_start(s, SIDE_SERVER, s->timeout_connect_s);
    /* read the client meanwhile (one buffer at most), saving a loop iteration */
    if (s->up.len == 0 && !s->up.eof)
        src_wait(s, SIDE_CLIENT, true);
    return 0;
}

static int tcp_start(struct worker *w, int fd, const struct sockaddr_storage *peer,
                     socklen_t peer_len, const struct route *r,
                     const struct route_frontend *fe)
{
    struct tcp_session *s = buf_cache_get(session_cache(w));
    (void)r;

    if (s == NULL) {
        log_error("%s: out of memory for a new connection", fe->name);
        close(fd);
        atomic_fetch_sub_explicit(&w->shared->conns, 1, memory_order_relaxed);
        return -1;
    }
    memset(s, 0, sizeof(*s));
    s->w = w;
    s->fd[SIDE_CLIENT] = fd;
    s->fd[SIDE_SERVER] = -1;
    s->up.src = SIDE_CLIENT;
    s->up.buf = s->bufs;
    s->down.src = SIDE_SERVER;
    s->down.buf = s->bufs + TCP_SESSION_BUF_BYTES;
    s->start = ev_now(w->loop);
    memcpy(&s->peer, peer, peer_len <= sizeof(s->peer) ? peer_len : sizeof(s->peer));
    s->peer_len = peer_len;
    memcpy(s->frontend, fe->name, sizeof(s->frontend));
    memcpy(s->pool, fe->pool->name, sizeof(s->pool));
    if (fe->pool->hash_key == CONF_HASH_SOURCE) {
        s->has_key = route_source_key(peer, &s->key_hash);
    }
    /* TCP_NODELAY is inherited from the listening socket (listen_open) */
    ev_io_init(&s->rd[SIDE_CLIENT], on_client_read, fd, EV_READ);
    ev_io_init(&s->wr[SIDE_CLIENT], on_client_write, fd, EV_WRITE);
    ev_io_init(&s->rd[SIDE_SERVER], on_server_read, -1, EV_READ);
    ev_io_init(&s->wr[SIDE_SERVER], on_server_write, -1, EV_WRITE);
    ev_init(&s->idle[SIDE_CLIENT], on_client_idle);
    ev_init(&s->idle[SIDE_SERVER], on_server_idle);
    worker_session_add(w, &s->base, &tcp_session_ops);
    s->timeout_client_s = fe->timeout_client_ms / 1000.0;
    if (fe->tls != NULL) {
        char why[200];
        if (tls_conn_start_server(&s->tls[SIDE_CLIENT].c, fe->tls, fd, why,
                                  sizeof(why)) != 0) {
            log_error("%s: %s", fe->name, why);
            end(s, "tls_error");
            return -1;
        }
        s->tls_on[SIDE_CLIENT] = true;
        s->tls[SIDE_CLIENT].handshaking = true;
        ev_io_init(&s->rd[SIDE_CLIENT], on_tls_client_rd, fd, EV_READ);
        ev_io_init(&s->wr[SIDE_CLIENT], on_tls_client_wr, fd, EV_WRITE);
        idle_start(s, SIDE_CLIENT, fe->timeout_tls_handshake_ms / 1000.0);
        return handshake_step(s, SIDE_CLIENT) == 0 ? 0 : -1;
    }
    idle_start(s, SIDE_CLIENT, s->timeout_client_s);
    /* the client's first bytes often come with its connection: read them now,
     * so that the connect's completion sends them at once (no getsockopt) and
     * the client's fd is polled only once they are out; when none came, the
     * client is read while connecting (see connect_next) */
    if (dir_read(s, &s->up) != 0)
        return -1;
    return connect_next(s) == 0 ? 0 : -1;
}

static void tcp_abort(struct session *base, const char *reason)
{
    end((struct tcp_session *)(void *)base, reason);
}

const struct session_ops tcp_session_ops = {
    .name = "tcp",
    .start = tcp_start,
    .abort = tcp_abort,
};
